"""PyTorch `DataLoader`s that draw from the default generator when iterated, and where that happens before a reset."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from .cells import Cell
from .defuse import Facts
from .generators import TORCH
from .names import iterated_names, keyword
from .order import Order, order_of, plain_statements
from .workers import class_items_draw


def _is_dataloader(facts: Facts, call: ast.Call) -> bool:
    name = facts.resolve(call.func) or ""
    return name.endswith("DataLoader") and (name.startswith("torch") or name == "DataLoader")


def _unseeded_loaders(facts: Facts, wanted: Callable[[ast.Call], bool]) -> dict[str, tuple[int, ast.Call]]:
    """Loaders bound at top level, without `generator=`, that `wanted` picks (by name)."""
    loaders: dict[str, tuple[int, ast.Call]] = {}
    for cell in facts.notebook.cells:
        if cell.tree is None:
            continue
        for statement in cell.tree.body:
            if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Call):
                continue
            call = statement.value
            if not _is_dataloader(facts, call) or keyword(call, "generator") is not None or not wanted(call):
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


def loaders_iterated_before_reset(
    facts: Facts, wanted: Callable[[ast.Call], bool]
) -> Iterator[tuple[Cell, ast.Call, str, str]]:
    """Loaders that `wanted` picks, iterated before any torch reset: (the cell that makes it, the call that
    makes it, its name, where it is iterated in words), once per loader."""
    order = order_of(facts)
    loaders = _unseeded_loaders(facts, wanted)
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
            iterated = "in this cell" if made_cell == cell.number else f"in cell {cell.number}"
            yield facts.notebook.cells[made_cell - 1], call, name, iterated
