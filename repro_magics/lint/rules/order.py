"""Rules that follow the execution order: draws before any reset, loaders shuffling before one (RM114, RM116)."""

from __future__ import annotations

from collections.abc import Iterator

from ..defuse import Facts
from ..generators import FAMILY_WORDS, RESET_HINT
from ..loaders import loaders_iterated_before_reset
from ..names import is_constant, keyword
from ..order import Order, order_of, plain_statements
from ..registry import TRAP, Finding, at, rule


def _first_reset_words(order: Order, family: str, cell: int) -> str:
    first = order.first_reset.get(family)
    if first is None:
        return "nothing in the notebook resets it"
    if first == cell:
        return "it is reset later in this cell"
    return f"it is first reset in cell {first}"


@rule("RM114", "random-before-reset", TRAP, "a draw, or an object with its own random state, before any reset")
def random_before_reset(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Follows the cells in the order a fresh kernel runs them,
    and knows, statement by statement, which global generators have been reset
    yet: a `%%reproducible` cell resets them all when it starts;
    `keras.utils.set_random_seed(s)` resets Python's, NumPy's, TensorFlow's (and
    PyTorch's under the torch backend); `random.seed(s)`, `np.random.seed(s)`,
    `tf.random.set_seed(s)` and `torch.manual_seed(s)` reset one each, also
    through a function of yours that calls them. It reports, in a cell that runs
    before the generator it uses is first reset:

    - a draw: `random.*`, `np.random.*` (`permutation`, `shuffle`, `rand`...),
      `tf.random.*` (but the stateless ones), `tf.image.random_*`, `torch.randn`/`rand*`/`randint`/`randperm`,
      `train_test_split` without `random_state`, `Dataset.shuffle()` without a
      seed, `image_dataset_from_directory`/`timeseries_dataset_from_array`
      shuffling without `seed=`, `make_csv_dataset` without `shuffle_seed=`,
      `Dataset.list_files`/`sample_from_datasets` without `seed=`, any
      library function called with `shuffle=True` and nothing that seeds it
      (`keras.utils.split_dataset`: reset once Python's, NumPy's and TensorFlow's
      generators all are), scikit-learn's `make_*` data generators and pandas'
      `sample(n=...)`/`sample(frac=...)` without `random_state`, and
      `Dataset.map(f)` where `f` calls an unseeded TensorFlow random op (the op's
      seed is fixed when `map` traces `f`);
    - an object that takes its random state when it is made: a Keras layer with
      initializers (`Dense`, `Conv2D`...), a `Dropout` or random augmentation
      layer, a model built from them (`keras.Sequential`, a functional or
      subclassed model, `keras.applications`), a `torch.nn` module with weights,
      a scikit-learn splitter or estimator that shuffles without `random_state`,
      a `keras.random.SeedGenerator()` without a seed, an instance of a notebook
      class whose `__init__` draws (a `tf.Module` that makes
      `tf.Variable(tf.random.normal(...))`), or a call of such an instance whose
      `__call__` draws (a module that makes its variables on its first call).

    A draw given its own seed (`tf.random.normal(shape, seed=1)`,
    `torch.randn(2, generator=g)`, `keras.random.normal(shape, seed=1)`,
    `keras.layers.RandomFlip("horizontal", seed=1)`) is left alone.

    **Why is this bad?** In a fresh kernel the global generators start from fresh
    entropy. What is drawn before the first reset (a split of the data, a model's
    initial weights, the seed of a `Dropout` layer) differs on every run, and the
    cells after the reset inherit it: `repro-verify` sees other numbers. After a
    reset, a plain cell draws from a seeded state and is reproducible top to
    bottom.

    ```python
    indices = np.random.permutation(len(x))  # cell 2: before any reset
    ```

    ```python
    %%reproducible seed=1337 record=history
    history = model.fit(x[indices], y[indices], epochs=3)
    ```

    **Use instead:** move it below a reset (into the `%%reproducible` cell, or
    after `keras.utils.set_random_seed`), or give it a seed of its own:

    ```python
    indices = np.random.default_rng(1337).permutation(len(x))
    ```
    """
    order = order_of(facts)
    for cell, statement in plain_statements(facts):
        reset = order.reset_before[id(statement)]
        reported: set[str] = set()
        for draw in order.draws_in(statement):
            if draw.family in reset or draw.family in reported:
                continue
            reported.add(draw.family)
            yield at(
                cell,
                draw.node,
                "RM114",
                f"{draw.what} draws from {FAMILY_WORDS[draw.family]} before any reset "
                f"({_first_reset_words(order, draw.family, cell.number)}), so a fresh run gets other numbers; "
                f"move it below {RESET_HINT[draw.family]}, or give it a seed",
            )


@rule("RM116", "dataloader-shuffle-unseeded", TRAP, "DataLoader(shuffle=True) without generator= before a torch reset")
def dataloader_shuffle_unseeded(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds a PyTorch `DataLoader(..., shuffle=True)` without
    `generator=` that is iterated (a `for` loop, `iter`, `next`, a list) in a cell
    that runs before PyTorch's default generator is first reset
    (`torch.manual_seed`, or a `%%reproducible` cell).

    **Why is this bad?** Each time it is iterated, the loader's `RandomSampler`
    draws a seed for the epoch's order from PyTorch's default generator. Before a
    reset that generator starts from fresh entropy, so the batches come in
    another order on every run.

    ```python
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    images, labels = next(iter(loader))
    ```

    **Use instead:** give the loader its own seeded generator:

    ```python
    loader = DataLoader(dataset, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    ```
    """
    shuffling = loaders_iterated_before_reset(facts, lambda call: is_constant(keyword(call, "shuffle"), True))
    for where, call, name, iterated in shuffling:
        yield at(
            where,
            call,
            "RM116",
            f"'{name}' shuffles with PyTorch's default generator and is iterated {iterated} before any "
            "torch reset: the order of its batches differs on every run; pass "
            "generator=torch.Generator().manual_seed(seed)",
        )
