"""What the kernel and its libraries are set to: string hashing, the extension, cuDNN (RM111, RM112, RM117)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..cells import Cell
from ..defuse import Facts
from ..names import assigned_names, is_constant, method_name
from ..registry import TRAP, Finding, at, python_cells, rule

_STRING_METHODS = {
    "split",
    "lower",
    "upper",
    "strip",
    "title",
    "replace",
    "listdir",
    "glob",
    "iterdir",
    "keys",
    "decode",
}
_ORDERING_CALLS = {
    "list",
    "tuple",
    "enumerate",
    "zip",
    "iter",
    "next",
    "array",
    "asarray",
    "join",
    "fromkeys",
    "Series",
    "constant",
    "StringLookup",
}


def _is_string_set(node: ast.AST, string_sets: set[str], string_lists: frozenset[str] = frozenset()) -> bool:
    if isinstance(node, ast.Set):
        return any(isinstance(e, ast.Constant) and isinstance(e.value, str | bytes) for e in node.elts)
    if isinstance(node, ast.Name):
        return node.id in string_sets
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd | ast.Sub):
        return _is_string_set(node.left, string_sets) or _is_string_set(node.right, string_sets)
    if isinstance(node, ast.SetComp):
        return _mentions_strings(node, string_sets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset"):
        return any(_mentions_strings(arg, string_sets | string_lists) for arg in node.args)
    if (
        isinstance(node, ast.Call)
        and method_name(node) in ("union", "intersection", "difference")
        and isinstance(node.func, ast.Attribute)
    ):
        return _is_string_set(node.func.value, string_sets)
    return False


def _mentions_strings(node: ast.AST, string_sets: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            return True
        if isinstance(child, ast.JoinedStr):
            return True
        if isinstance(child, ast.Call) and (
            method_name(child) in _STRING_METHODS or (isinstance(child.func, ast.Name) and child.func.id == "str")
        ):
            return True
        if isinstance(child, ast.Name) and child.id in string_sets:
            return True
    return False


@rule("RM111", "string-set-order", TRAP, "iterating a set of strings into an ordered result")
def string_set_order(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds a set of strings (a set literal of strings; `set()` of
    split, lowered or listed names, or of a list of strings such as
    `words = text.split()`; a name bound to one) iterated into something
    ordered: a `for` loop, a comprehension, `enumerate`, `list`, `zip`, `join`,
    `np.array`, unpacking with `*`. Sorting it first (`sorted(s)`) is the fix, and
    membership tests and `len` are fine.

    **Why is this bad?** The order of a set of strings depends on the string hash,
    which Python randomises per process unless `PYTHONHASHSEED` is fixed when the
    kernel starts: label ids, vocabularies and column orders change from kernel to
    kernel.

    ```python
    species = {"cat", "dog", "bird"}
    label_ids = {name: index for index, name in enumerate(species)}
    ```

    **Use instead:**

    ```python
    label_ids = {name: index for index, name in enumerate(sorted(species))}
    ```
    """
    string_sets: set[str] = set()
    #: Names bound to a list of strings (`words = text.split()`): a set made of one is a set of strings.
    string_lists: set[str] = set()
    for cell in python_cells(facts):
        parents = facts.parents(cell)
        for node in facts.executed(cell):
            sources: list[ast.AST] = []
            if isinstance(node, ast.For | ast.comprehension):
                sources = [node.iter]
            elif isinstance(node, ast.Starred) and not isinstance(parents.get(node), ast.Set):
                sources = [node.value]
            elif isinstance(node, ast.Call):
                callee = node.func.id if isinstance(node.func, ast.Name) else method_name(node)
                if callee in _ORDERING_CALLS and not _inside_sorted(node, parents):
                    sources = list(node.args)
            for source in sources:
                if _is_string_set(source, string_sets, frozenset(string_lists)) and not (
                    isinstance(node, ast.comprehension) and isinstance(parents.get(node), ast.SetComp)
                ):
                    yield at(
                        cell,
                        source,
                        "RM111",
                        f"iterating the set {ast.unparse(source)!s:.40} gives an order that changes with "
                        "PYTHONHASHSEED from kernel to kernel; "
                        "iterate sorted(...) instead",
                    )
            if isinstance(node, ast.Assign):
                for name in assigned_names(node):
                    if _is_string_set(node.value, string_sets, frozenset(string_lists)):
                        string_sets.add(name)
                    else:
                        string_sets.discard(name)
                    if _is_string_list(node.value):
                        string_lists.add(name)
                    else:
                        string_lists.discard(name)


def _is_string_list(node: ast.AST) -> bool:
    """A list of strings: a literal of strings, or what `str.split()` / `splitlines()` / `readlines()` return."""
    if isinstance(node, ast.List | ast.Tuple):
        return bool(node.elts) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return isinstance(node, ast.Call) and method_name(node) in ("split", "splitlines", "readlines")


def _inside_sorted(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id in ("sorted", "set", "frozenset", "len")
    )


def _loads_extension(facts: Facts, cell: Cell) -> bool:
    if any(m.name in ("load_ext", "reload_ext") and "repro_magics" in m.arguments.split() for m in cell.line_magics):
        return True
    if cell.tree is None:
        return False
    for call in facts.calls(cell):
        arguments = [arg.value for arg in call.args if isinstance(arg, ast.Constant)]
        if method_name(call) == "run_line_magic" and "repro_magics" in " ".join(map(str, arguments)):
            return True
        if (facts.resolve(call.func) or "").endswith("repro_magics.load_ipython_extension"):
            return True
    return False


@rule("RM112", "extension-not-loaded", TRAP, "%%reproducible before %load_ext repro_magics")
def extension_not_loaded(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Reports the first `%%reproducible` cell when no earlier cell
    runs `%load_ext repro_magics` and the notebook's kernel is not the
    reproducible one (kernel spec name `repro-python3`).

    **Why is this bad?** Run from the top in a fresh kernel, the cell fails with
    "Cell magic `%%reproducible` not found".

    **Use instead:** `%load_ext repro_magics` in the first cell, or the
    "Python 3 (reproducible)" kernel.
    """
    if facts.notebook.kernel_name == "repro-python3":
        return
    loaded = False
    for cell in facts.notebook.cells:
        if cell.reproducible and not loaded:
            yield at(
                cell,
                None,
                "RM112",
                "%%reproducible before %load_ext repro_magics: run from the top, this cell fails with 'Cell magic "
                "not found'; "
                "add %load_ext repro_magics to an earlier cell",
            )
            return
        loaded = loaded or _loads_extension(facts, cell)


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
