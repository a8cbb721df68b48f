"""Data loading in worker threads or processes, and whether the items they load are drawn at random."""

from __future__ import annotations

import ast

from .defuse import Facts
from .order import order_of

_STATEFUL_PREFIXES = ("tensorflow.random.", "tensorflow.image.random_", "keras.random.", "keras.layers.Random")
#: Constructors of generators that keep their state in the object: shared by the workers when the object is.
_GENERATOR_MAKERS = (
    "numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.Generator", "random.Random",
    "tensorflow.random.Generator", "torch.Generator",
)  # fmt: skip


def _makes_generator(facts: Facts, node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (facts.resolve(node.func) or "").startswith(_GENERATOR_MAKERS)


def _generator_attributes(facts: Facts, node: ast.ClassDef) -> set[str]:
    """Attributes of `self` that a class's methods bind to a generator (`self.rng = np.random.default_rng(0)`)."""
    found: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Assign) and _makes_generator(facts, child.value):
            found.update(
                target.attr
                for target in child.targets
                if isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            )
    return found


def _draws_from_shared_generator(
    call: ast.Call, shared_attributes: set[str], shared_names: set[str], local_names: set[str]
) -> bool:
    """`self.rng.normal(...)` or `rng.normal(...)` with a generator made once, outside the call: every worker
    thread draws from the one object, in whatever order they run."""
    if not isinstance(call.func, ast.Attribute):
        return False
    receiver = call.func.value
    if isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) and receiver.value.id == "self":
        return receiver.attr in shared_attributes
    return isinstance(receiver, ast.Name) and receiver.id in shared_names and receiver.id not in local_names


def class_items_draw(facts: Facts, name: str) -> bool:
    """Whether a notebook class's `__getitem__` (or a method of its own that it calls) draws random numbers."""
    node = facts.class_nodes.get(name)
    if node is None:
        return False
    methods = {item.name: item for item in node.body if isinstance(item, ast.FunctionDef)}
    if "__getitem__" not in methods:
        return False
    order = order_of(facts)
    shared_attributes = _generator_attributes(facts, node)
    seen: set[str] = set()
    pending = ["__getitem__"]
    while pending:
        method = pending.pop()
        if method in seen or method not in methods:
            continue
        seen.add(method)
        local_names = {
            target.id
            for child in ast.walk(methods[method])
            if isinstance(child, ast.Assign)
            for target in child.targets
            if isinstance(target, ast.Name)
        }
        for child in ast.walk(methods[method]):
            if not isinstance(child, ast.Call):
                continue
            if order.call_draws(child) or (facts.resolve(child.func) or "").startswith(_STATEFUL_PREFIXES):
                return True
            if _draws_from_shared_generator(child, shared_attributes, order.own_generators, local_names):
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
