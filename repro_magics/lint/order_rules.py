"""Rules that follow the notebook's execution order: draws before any reset, loaders drawing before one."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .defuse import Facts, iterated_names
from .names import is_constant, keyword
from .order import FAMILY_WORDS, RESET_HINT, TORCH, Order, order_of, plain_statements
from .registry import TRAP, Finding, at, rule


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


def _is_dataloader(facts: Facts, call: ast.Call) -> bool:
    name = facts.resolve(call.func) or ""
    return name.endswith("DataLoader") and (name.startswith("torch") or name == "DataLoader")


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
    yield from _loaders_iterated_before_reset(facts, "RM116")


def _unseeded_loaders(facts: Facts, order: Order, code: str) -> dict[str, tuple[int, ast.Call]]:
    """Loaders bound at top level that draw from PyTorch's default generator when iterated (by name)."""
    loaders: dict[str, tuple[int, ast.Call]] = {}
    for cell in facts.notebook.cells:
        if cell.tree is None:
            continue
        for statement in cell.tree.body:
            if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Call):
                continue
            call = statement.value
            if not _is_dataloader(facts, call) or keyword(call, "generator") is not None:
                continue
            if code == "RM116" and not is_constant(keyword(call, "shuffle"), True):
                continue
            if code == "RM110" and not random_workers(facts, order, call):
                continue
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    loaders[target.id] = (cell.number, call)
    return loaders


def random_workers(facts: Facts, order: Order, call: ast.Call) -> bool:
    """A DataLoader with worker processes over a dataset whose items are drawn at random."""
    workers = keyword(call, "num_workers")
    if workers is None or (
        isinstance(workers, ast.Constant) and not (isinstance(workers.value, int) and workers.value > 0)
    ):
        return False
    dataset = call.args[0] if call.args else keyword(call, "dataset")
    return dataset is not None and dataset_draws(facts, order, dataset)


def dataset_draws(facts: Facts, order: Order, node: ast.AST, seen: frozenset[str] = frozenset()) -> bool:
    """Whether a dataset expression draws: an instance of a notebook class whose items draw, a random
    torchvision transform (`transforms.RandomCrop`...), also through the top-level names it is built from."""
    from .workers import class_items_draw

    for child in ast.walk(node):
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and class_items_draw(facts, child.func.id):
            return True
        if isinstance(child, ast.Call) and "transforms.Random" in (facts.resolve(child.func) or ""):
            return True
        if isinstance(child, ast.Name) and child.id not in seen:
            for value in _assigned_values(facts).get(child.id, []):
                if dataset_draws(facts, order, value, seen | {child.id}):
                    return True
    return False


def _assigned_values(facts: Facts) -> dict[str, list[ast.expr]]:
    """Every value a top-level name is assigned, in any cell (computed once)."""
    cached = facts.derived.get("assigned_values")
    if isinstance(cached, dict):
        return cached
    values: dict[str, list[ast.expr]] = {}
    for cell in facts.notebook.cells:
        for node in facts.executed(cell):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        values.setdefault(target.id, []).append(node.value)
    facts.derived["assigned_values"] = values
    return values


def _loaders_iterated_before_reset(facts: Facts, code: str) -> Iterator[Finding]:
    order = order_of(facts)
    loaders = _unseeded_loaders(facts, order, code)
    if not loaders:
        return
    reported: set[str] = set()
    for cell, statement in plain_statements(facts):
        if TORCH in order.reset_before[id(statement)]:
            continue
        for name in sorted(iterated_names(statement) & loaders.keys() - reported):
            made_cell, call = loaders[name]
            if made_cell > cell.number:
                continue
            reported.add(name)
            where = facts.notebook.cells[made_cell - 1]
            iterated = "in this cell" if made_cell == cell.number else f"in cell {cell.number}"
            if code == "RM116":
                message = (
                    f"'{name}' shuffles with PyTorch's default generator and is iterated {iterated} before any "
                    "torch reset: the order of its batches differs on every run; pass "
                    "generator=torch.Generator().manual_seed(seed)"
                )
            else:
                message = (
                    f"'{name}' runs worker processes over a dataset that draws random numbers, and is iterated "
                    f"{iterated} before any torch reset: each worker seeds itself from PyTorch's unseeded default "
                    "generator, so every run draws other numbers; pass generator=torch.Generator().manual_seed(seed) "
                    "(and a worker_init_fn that seeds other libraries)"
                )
            yield at(where, call, code, message)


def loaders_with_random_workers(facts: Facts) -> Iterator[Finding]:
    """RM110's PyTorch half: worker processes drawing from seeds taken from an unseeded generator."""
    yield from _loaders_iterated_before_reset(facts, "RM110")


@rule("RM117", "cudnn-benchmark", TRAP, "torch.backends.cudnn.benchmark = True")
def cudnn_benchmark(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds `torch.backends.cudnn.benchmark = True`.

    **Why is this bad?** cuDNN then times several algorithms for each
    convolution on the first batches and keeps the fastest, which can change
    from run to run with the load on the GPU; different algorithms give
    different bits. (On a CPU it changes nothing.)

    ```python
    torch.backends.cudnn.benchmark = True
    ```

    **Use instead:**

    ```python
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True)
    ```
    """
    for cell in facts.notebook.cells:
        for node in facts.nodes(cell):
            if isinstance(node, ast.Assign) and is_constant(node.value, True):
                for target in node.targets:
                    if facts.resolve(target) == "torch.backends.cudnn.benchmark":
                        yield at(
                            cell,
                            target,
                            "RM117",
                            "torch.backends.cudnn.benchmark = True lets cuDNN pick convolution algorithms by timing "
                            "them, which can differ from run to run on a GPU and give other bits; set it to False",
                        )
