"""Data loading in worker threads or processes, and whether the items they load are drawn at random."""

from __future__ import annotations

import ast

from .defuse import Facts
from .order import order_of

_STATEFUL_PREFIXES = ("tensorflow.random.", "tensorflow.image.random_", "keras.random.", "keras.layers.Random")


def class_items_draw(facts: Facts, name: str) -> bool:
    """Whether a notebook class's `__getitem__` (or a method of its own that it calls) draws random numbers."""
    node = facts.class_nodes.get(name)
    if node is None:
        return False
    methods = {item.name: item for item in node.body if isinstance(item, ast.FunctionDef)}
    if "__getitem__" not in methods:
        return False
    order = order_of(facts)
    seen: set[str] = set()
    pending = ["__getitem__"]
    while pending:
        method = pending.pop()
        if method in seen or method not in methods:
            continue
        seen.add(method)
        for child in ast.walk(methods[method]):
            if not isinstance(child, ast.Call):
                continue
            if order.call_draws(child) or (facts.resolve(child.func) or "").startswith(_STATEFUL_PREFIXES):
                return True
            if facts.resolve(child.func) == "tensorflow.nn.dropout" or _training_true(child):
                return True
            func = child.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
                pending.append(func.attr)
    return False


def _training_true(call: ast.Call) -> bool:
    return any(item.arg == "training" and isinstance(item.value, ast.Constant) and item.value.value is True
               for item in call.keywords)  # fmt: skip


def instances_of_drawing_classes(facts: Facts) -> dict[str, str]:
    """Top-level names bound to an instance of a notebook class whose items draw: {name: class}."""
    found: dict[str, str] = {}
    for cell in facts.notebook.cells:
        for node in facts.executed(cell):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func
                if isinstance(func, ast.Name) and class_items_draw(facts, func.id):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            found[target.id] = func.id
    return found
