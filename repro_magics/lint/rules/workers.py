"""Data loading in worker threads or processes that draw at random, or results taken as they finish: RM110."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..defuse import Facts
from ..loaders import loaders_iterated_before_reset, random_workers
from ..names import is_constant, keyword, method_name
from ..order import order_of
from ..registry import TRAP, Finding, at, python_cells, rule
from ..workers import class_items_draw, instances_of_drawing_classes


def _positive_or_unknown(node: ast.AST, above: int) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool) and node.value > above
    return not (isinstance(node, ast.UnaryOp))


@rule("RM110", "random-draws-in-workers", TRAP, "random draws in data-loading workers, or results taken as they finish")
def random_draws_in_workers(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds data loading in several threads or processes where
    what is loaded is drawn at random:

    - a Keras `PyDataset` made or trained with `workers=` above 1 (or not a
      literal) or `use_multiprocessing=True`, whose `__getitem__` (or a method it
      calls) draws random numbers (`np.random.*`, `random.*`, `tf.random.*`,
      `keras.random.*`, a random layer, a call with `training=True`, or a
      generator made once and shared by the workers: `self.rng.normal(...)` after
      `self.rng = np.random.default_rng(0)`, or a notebook-level `rng`);
    - a PyTorch `DataLoader` with `num_workers` above 0 over a dataset that draws
      (a class of yours whose `__getitem__` draws, a `transforms.Random*`), without
      `generator=`, iterated before any torch reset;
    - `concurrent.futures.as_completed()` and `Pool.imap_unordered()`.

    A `PyDataset` whose `__getitem__` draws nothing is left alone: Keras'
    `OrderedEnqueuer` hands the batches to `fit` in index order, whatever the
    order the threads finish in.

    **Why is this bad?** The worker threads call `__getitem__` at the same time
    and draw from one shared global generator in whatever order the threads are
    scheduled, so the same seed gives each batch other numbers on each run
    (worker processes each draw from a copy of the parent's state, in the order
    the pool hands them indices). PyTorch's workers seed themselves from a base
    seed drawn from the default generator; before any reset that is fresh
    entropy. Results collected as they complete come in a different order on
    each run. See [Limits](limits.md#keras-random-calls-in-worker-threads).

    ```python
    class Noisy(keras.utils.PyDataset):
        def __getitem__(self, idx):
            batch = self.x[idx * 64 : (idx + 1) * 64]
            return batch + np.random.normal(0, 0.05, batch.shape), self.y[idx * 64 : (idx + 1) * 64]


    model.fit(Noisy(x, y, workers=4), epochs=10)
    ```

    **Use instead:** draw from a generator keyed by the batch index (or use one
    worker):

    ```python
    rng = np.random.default_rng(idx)
    return batch + rng.normal(0, 0.05, batch.shape), labels
    ```
    """
    drawing = instances_of_drawing_classes(facts)
    for cell in python_cells(facts):
        for call in facts.calls(cell):
            items = _drawing_items(facts, call, drawing)
            for item in call.keywords:
                parallel = (item.arg == "workers" and _positive_or_unknown(item.value, 1)) or (
                    item.arg == "use_multiprocessing" and is_constant(item.value, True)
                )
                if parallel and items is not None:
                    yield at(
                        cell,
                        item.value,
                        "RM110",
                        f"{item.arg}={ast.unparse(item.value)}: {items}.__getitem__ draws random numbers, and the "
                        "workers draw from the shared generator in whatever order they run (Keras keeps the batches' "
                        "order, not the draws'); draw from a generator keyed by the batch index, e.g. "
                        "np.random.default_rng(idx), or use workers=1",
                    )
            name = facts.resolve(call.func) or ""
            if name.endswith("as_completed") or method_name(call) == "imap_unordered":
                yield at(
                    cell,
                    call,
                    "RM110",
                    f"{ast.unparse(call.func)}() yields results in the order the workers finish, which changes "
                    "from run to run; "
                    "collect them in submission order",
                )
    # PyTorch's worker processes seed themselves from the default generator: unseeded before a torch reset.
    order = order_of(facts)
    drawing_loaders = loaders_iterated_before_reset(facts, lambda call: random_workers(facts, order, call))
    for where, call, name, iterated in drawing_loaders:
        yield at(
            where,
            call,
            "RM110",
            f"'{name}' runs worker processes over a dataset that draws random numbers, and is iterated "
            f"{iterated} before any torch reset: each worker seeds itself from PyTorch's unseeded default "
            "generator, so every run draws other numbers; pass generator=torch.Generator().manual_seed(seed) "
            "(and a worker_init_fn that seeds other libraries)",
        )


def _drawing_items(facts: Facts, call: ast.Call, drawing: dict[str, str]) -> str | None:
    """The notebook class whose drawing `__getitem__` this call makes or trains on, if any."""
    if isinstance(call.func, ast.Name) and class_items_draw(facts, call.func.id):
        return call.func.id
    if method_name(call) in ("fit", "evaluate", "predict", "fit_generator"):
        source = call.args[0] if call.args else keyword(call, "x")
        if isinstance(source, ast.Name) and source.id in drawing:
            return drawing[source.id]
        if isinstance(source, ast.Call) and method_name(source) in (
            "flow",
            "flow_from_directory",
            "flow_from_dataframe",
        ):
            # ImageDataGenerator's random transforms draw from NumPy's global generator in each worker thread.
            return f"{ast.unparse(source.func)}(...)"
    return None
