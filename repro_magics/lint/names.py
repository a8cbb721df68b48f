"""What a name in a notebook refers to: imports and aliases resolved to full dotted names."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

# Aliases so common that a notebook using them without importing (say, in a
# cell that was deleted) still means these modules.
_CONVENTIONAL = {"np": "numpy", "tf": "tensorflow", "tfds": "tensorflow_datasets"}
# Spellings of the same API, normalised so the rules name each thing once.
_PREFIXES = (
    ("tensorflow.keras.", "keras."),
    ("tensorflow.python.keras.", "keras."),
    ("keras.src.", "keras."),
    ("tensorflow.compat.v2.", "tensorflow."),
    ("tensorflow.random.experimental.Generator", "tensorflow.random.Generator"),
    ("numpy.random.mtrand.", "numpy.random."),
)


class Imports:
    """Aliases bound by every import in the notebook (notebooks re-import freely; later ones win)."""

    def __init__(self, nodes: Iterable[ast.AST]) -> None:
        self.aliases: dict[str, str] = dict(_CONVENTIONAL)
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def resolve(self, node: ast.AST) -> str | None:
        """`np.random.default_rng` -> `numpy.random.default_rng`; None for anything not a dotted name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(self.aliases.get(node.id, node.id))
        return normalise(".".join(reversed(parts)))


def normalise(name: str) -> str:
    for prefix, replacement in _PREFIXES:
        if name.startswith(prefix):
            name = replacement + name[len(prefix) :]
    return name


def root_name(node: ast.AST) -> str | None:
    """The variable a chain of attributes, calls and subscripts starts from: `ds` in `ds.take(1).batch(2)`."""
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute | ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == name:
            return item.value
    return None


def is_constant(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def method_name(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def executed_nodes(statements: list[ast.stmt]) -> list[ast.AST]:
    """Every node the statements run when executed, leaving out function and class bodies."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(reversed(statements))
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            # Decorators and defaults run; bodies do not.
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                pending.extend(reversed(node.decorator_list))
            continue
        pending.extend(reversed(list(ast.iter_child_nodes(node))))
    return found


def calls_in(node: ast.AST) -> Iterator[ast.Call]:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            yield child


def names_in(node: ast.AST) -> set[str]:
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


def is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def jit_compile_true(calls: Iterable[ast.Call]) -> list[ast.keyword]:
    return [item for call in calls for item in call.keywords if item.arg == "jit_compile" and is_true(item.value)]


_ITERATING_CALLS = {"iter", "list", "tuple", "next", "enumerate", "zip", "sorted"}
_CONSUMING_METHODS = {"fit", "evaluate", "predict", "train_on_batch", "fit_generator"}


def iterated_names(node: ast.AST) -> set[str]:
    """Names whose values `node` iterates: `for x in ds`, `list(ds.take(3))`, `model.fit(ds)`..."""
    sources: list[ast.AST] = []
    for child in ast.walk(node):
        if isinstance(child, ast.For | ast.AsyncFor | ast.comprehension):
            sources.append(child.iter)
        elif isinstance(child, ast.Call):
            if isinstance(child.func, ast.Name) and child.func.id in _ITERATING_CALLS:
                sources.extend(child.args)
            elif method_name(child) in _CONSUMING_METHODS:
                sources.extend(child.args[:1])
                sources.extend(item.value for item in child.keywords if item.arg in ("x", "validation_data"))
            elif method_name(child) in ("as_numpy_iterator", "get_next", "get_single_element", "reduce"):
                sources.append(child)
    return {name for source in sources if (name := root_name(source)) is not None}


def assigned_names(node: ast.AST) -> list[str]:
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    names: list[str] = []
    for target in targets:
        names.extend(child.id for child in ast.walk(target) if isinstance(child, ast.Name))
    return names
