"""Values read from the clock or fresh entropy that a `%%reproducible` cell records: RM103."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..cells import Cell
from ..defuse import Facts
from ..names import assigned_names, method_name
from ..registry import TRAP, Finding, at, python_cells, rule
from .seeds import SEEDING_CALLS

_MUTATING_METHODS = {"append", "extend", "update", "insert", "add", "setdefault"}


def _self_attribute(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _entropy_attributes(facts: Facts) -> dict[str, tuple[int, dict[str, ast.AST]]]:
    """For each notebook class, the attributes its methods fill from the clock or fresh entropy (a callback
    keeping `self.times.append(time.time() - self.start)`), and the class's cell: {class: (cell, {attr: call})}."""
    found: dict[str, tuple[int, dict[str, ast.AST]]] = {}
    for cell in facts.notebook.cells:
        for node in cell.tree.body if cell.tree is not None else []:
            if not isinstance(node, ast.ClassDef) or facts.entropy_call(node) is None:
                continue
            attributes: dict[str, ast.AST] = {}
            for _ in range(2):  # an attribute computed from another one filled in an earlier method
                for child in ast.walk(node):
                    targets: list[str | None] = []
                    values: list[ast.AST] = []
                    if isinstance(child, ast.Assign | ast.AugAssign) and child.value is not None:
                        targets = [
                            _self_attribute(t) for t in getattr(child, "targets", [getattr(child, "target", None)])
                        ]
                        values = [child.value]
                    elif isinstance(child, ast.Call) and method_name(child) in _MUTATING_METHODS:
                        targets = [_self_attribute(child.func.value)] if isinstance(child.func, ast.Attribute) else []
                        values = [*child.args, *(k.value for k in child.keywords)]
                    for value in values:
                        origin = facts.entropy_call(value) or next(
                            (attributes[a] for n in ast.walk(value) if (a := _self_attribute(n)) in attributes), None
                        )
                        if origin is not None:
                            attributes.update({target: origin for target in targets if target is not None})
            if attributes:
                found[node.name] = (cell.number, attributes)
    return found


@rule("RM103", "entropy-recorded", TRAP, "the clock, a uuid, os.urandom or secrets feeding a recorded value")
def entropy_recorded(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Follows values read from the clock (`time.time()`,
    `datetime.now()`...), `uuid.uuid1/uuid4()`, `os.urandom()`, `os.getpid()` and
    `secrets` through assignments and `append`/`update` calls, also into the
    attributes of an object of a notebook class (a callback that keeps
    `self.times.append(time.time() - self.start)`), and reports a
    `%%reproducible` cell whose `record=` names one of them.

    **Why is this bad?** The recorded value differs on every run, so
    `repro-verify` reports the notebook as diverged although the model is
    reproducible.

    ```python
    %%reproducible seed=1 record=results
    started = time.time()
    history = model.fit(x, y, epochs=3, verbose=0)
    results = {"val_accuracy": history.history["val_accuracy"][-1], "seconds": time.time() - started}
    ```

    **Use instead:** record what the cell computes, and print or log the rest.

    ```python
    %%reproducible seed=1 record=results
    started = time.time()
    history = model.fit(x, y, epochs=3, verbose=0)
    results = {"val_accuracy": history.history["val_accuracy"][-1]}
    print(f"{time.time() - started:.1f} s")
    ```
    """
    # name -> (cell number, node) where a value read from the clock or fresh entropy came in
    tainted: dict[str, tuple[int, ast.AST]] = {}
    recording = any(
        cell.reproducible and cell.options is not None and cell.options.record for cell in python_cells(facts)
    )
    classes = _entropy_attributes(facts) if recording else {}
    # name -> the class with entropy-filled attributes it is an instance of
    instances: dict[str, str] = {}
    for cell in python_cells(facts):
        for node in facts.executed(cell):
            value = getattr(node, "value", None)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                made = node.value.func.id if isinstance(node.value.func, ast.Name) else None
                for target in node.targets:
                    if isinstance(target, ast.Name) and made in classes:
                        instances[target.id] = made
                    elif isinstance(target, ast.Name):
                        instances.pop(target.id, None)
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and value is not None:
                origin = _taint_origin(facts, value, tainted, cell)
                if origin is None and instances:
                    origin = _instance_origin(value, instances, classes)
                for name in assigned_names(node):
                    if origin is not None:
                        tainted[name] = origin
                    elif isinstance(node, ast.Assign):
                        tainted.pop(name, None)
            elif isinstance(node, ast.Call) and method_name(node) in _MUTATING_METHODS:
                receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
                if isinstance(receiver, ast.Name):
                    for argument in [*node.args, *(k.value for k in node.keywords)]:
                        origin = _taint_origin(facts, argument, tainted, cell)
                        if origin is not None:
                            tainted[receiver.id] = origin
        if cell.reproducible and cell.options is not None:
            for name in cell.options.record:
                if name in tainted:
                    origin_cell, entropy = tainted[name]
                    where = (
                        ""
                        if origin_cell == cell.number
                        else f" (in cell {origin_cell}, line {getattr(entropy, 'lineno', 1)})"
                    )
                    yield at(
                        cell,
                        entropy if origin_cell == cell.number else None,
                        "RM103",
                        f"recorded value '{name}' comes from {ast.unparse(entropy)}{where}, which differs on every "
                        "run; "
                        "record what does not depend on the clock or fresh entropy",
                    )


def _instance_origin(
    value: ast.AST, instances: dict[str, str], classes: dict[str, tuple[int, dict[str, ast.AST]]]
) -> tuple[int, ast.AST] | None:
    """`callback.times`, where `callback` is an instance of a class that fills `times` from the clock."""
    for node in ast.walk(value):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in instances:
            cell, attributes = classes[instances[node.value.id]]
            if node.attr in attributes:
                return cell, attributes[node.attr]
    return None


#: Keyword arguments that name where to write or log, not values a result is computed from.
_NOT_DATA_KEYWORDS = {"callbacks", "log_dir", "filepath", "name", "path", "directory", "logdir"}


def _taint_origin(
    facts: Facts, value: ast.AST, tainted: dict[str, tuple[int, ast.AST]], cell: Cell
) -> tuple[int, ast.AST] | None:
    """Where the clock or fresh entropy reaches `value`; not through a seed (RM101's) nor a log folder's name."""
    pending: list[ast.AST] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Call):
            if (facts.resolve(node.func) or "") in SEEDING_CALLS:
                continue
            if facts.entropy_call(node) is node:
                return cell.number, node
            pending.append(node.func)
            pending.extend(node.args)
            pending.extend(item.value for item in node.keywords if item.arg not in _NOT_DATA_KEYWORDS)
            continue
        if isinstance(node, ast.Name) and node.id in tainted:
            return tainted[node.id]
        pending.extend(ast.iter_child_nodes(node))
    return None
