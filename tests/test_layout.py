"""The package's layout: layers that import only downwards, no cycle, short modules, one vocabulary of verdicts.

Read from the source with `ast`, without importing anything: a newcomer's
map of the package (docs/layout.md says the same in words) that cannot drift.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from repro_magics.verify.verdicts import CellVerdict

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "repro_magics"

#: Each part of the package and its layer: a module may import its own layer and those below, never one above.
LAYERS = {
    "_version": 0,
    "exceptions": 0,
    "regular_files": 0,
    "words": 0,
    "notebooks": 1,
    "plotting": 1,
    "ledger": 2,
    "compare": 3,
    "kernel": 4,  # runs inside the kernel; below the host side, which starts kernels and knows their spec
    "lint": 5,  # a library: verify asks it for likely causes
    "verify": 6,
    "report": 7,
    # The front doors: thin, and nothing imports them.
    "cli": 8,
    "jupyter": 8,
    "pytest_plugin": 8,
    "kernel_extension": 8,
    "__init__": 8,
    "__main__": 8,
}
#: The most lines a module of the package may have: past that it usually holds two concerns.
MAX_LINES = 400


@cache
def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in PACKAGE.rglob("*.py")
        if "labextension" not in path.parts
    }


def _part(module: str) -> str:
    """The layer key of a module: its subpackage, or its own name at the top of the package."""
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(module: str, path: Path) -> set[str]:
    """The package modules `module` imports, anywhere in it (functions too), resolved to full names."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            if target.split(".")[0] != "repro_magics":
                continue
            # `from . import x` imports the module x when there is one.
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in _modules() else target)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "repro_magics"}
    return found - {module}


def _graph() -> dict[str, set[str]]:
    return {module: _imports(module, path) for module, path in _modules().items()}


def test_when_the_package_is_read_then_every_part_has_a_layer() -> None:
    assert {_part(module) for module in _modules()} == set(LAYERS)


def test_when_the_package_is_read_then_no_module_imports_a_layer_above_its_own() -> None:
    upward = [
        f"{module} (layer {LAYERS[_part(module)]}) imports {target} (layer {LAYERS[_part(target)]})"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if LAYERS[_part(target)] > LAYERS[_part(module)]
    ]
    assert upward == []


def test_when_the_package_is_read_then_its_imports_have_no_cycle() -> None:
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph.get(module, ())):
            cycle = visit(target, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    cycles = [cycle for module in sorted(graph) if (cycle := visit(module, []))]
    assert cycles == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_when_a_module_is_read_then_it_is_short_enough_to_hold_one_concern(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_when_the_labextension_is_read_then_its_cell_verdicts_are_the_python_enums_values() -> None:
    source = (ROOT / "labextension" / "src" / "verdicts.ts").read_text(encoding="utf-8")
    enum = re.search(r"export enum CellVerdict \{(.*?)\}", source, re.S)
    assert enum is not None
    values = re.findall(r"=\s*'([^']*)'", enum.group(1))
    assert values == [verdict.value for verdict in CellVerdict]


def test_when_kernels_are_started_then_they_load_the_extension_by_the_name_installed_kernel_specs_use() -> None:
    import repro_magics.kernel_extension
    from repro_magics.kernel.spec import KERNEL_EXT_ARGUMENT

    assert (
        KERNEL_EXT_ARGUMENT
        == f"--ext={repro_magics.kernel_extension.__name__}"
        == "--ext=repro_magics.kernel_extension"
    )
