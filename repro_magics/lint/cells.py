"""A notebook's code cells as Python syntax trees, with IPython's syntax blanked out in place.

The file is read by the package's one reader (`repro_magics.notebooks`); only
the words of its errors are repro-lint's own.

Magics and shell escapes are replaced by `pass` of the same indentation rather
than transformed by IPython, so that every line and column of the tree is the
line and column the user sees in the cell (and importing IPython's transformer
would cost half a second).
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import ArgumentError, NotebookError, NotebookProblem
from ..kernel.arguments import CellOptions, parse_cell_line
from ..notebooks import code_cells, read_notebook_json

# Line magics whose argument is a Python statement: the statement is kept.
_MAGICS_RUNNING_PYTHON = ("time", "timeit", "prun")
# Cell magics whose body is Python.
_CELL_MAGICS_RUNNING_PYTHON = ("reproducible", "time", "timeit", "capture", "prun")
_ASSIGNED_ESCAPE = re.compile(r"^(\s*[\w.,\s()\[\]]+?\s*=\s*)([!%].*)$")


@dataclass(frozen=True)
class LineMagic:
    line: int
    name: str
    arguments: str


@dataclass
class Cell:
    """One code cell; `number` counts code cells from 1, as `repro-verify` does."""

    number: int
    source: str
    #: The cell's Python, or None when it is not Python (another cell magic, a syntax error).
    tree: ast.Module | None
    #: The `%%` magic on the first line (`reproducible`, `bash`...), or None.
    cell_magic: str | None = None
    cell_magic_line: str = ""
    line_magics: list[LineMagic] = field(default_factory=list)
    #: The options of a `%%reproducible` cell (record=, seed=); None when they can't be read.
    options: CellOptions | None = None
    #: Why a cell meant to be Python was not analysed (a syntax error, nesting too deep), else None.
    not_checked: str | None = None

    @property
    def reproducible(self) -> bool:
        return self.cell_magic == "reproducible"

    @property
    def lines(self) -> list[str]:
        return self.source.splitlines()


@dataclass
class Notebook:
    path: Path
    cells: list[Cell]
    metadata: Mapping[str, Any]

    @property
    def kernel_name(self) -> str:
        spec = self.metadata.get("kernelspec")
        return str(spec.get("name", "")) if isinstance(spec, Mapping) else ""


def _blank_ipython_syntax(lines: list[str]) -> tuple[list[str], list[LineMagic]]:
    """Replace magic and shell lines with Python of the same line count; return the magics found."""
    python: list[str] = []
    magics: list[LineMagic] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("%") and not stripped.startswith("%%"):
            name, _, arguments = stripped[1:].partition(" ")
            magics.append(LineMagic(number, name, arguments.strip()))
            if name in _MAGICS_RUNNING_PYTHON and arguments.strip():
                # Keep the statement at its own columns: blank the magic's name instead.
                python.append(indent + " " * (len(name) + 2) + arguments)
            else:
                python.append(indent + "pass")
        elif stripped.startswith("!"):
            python.append(indent + "pass")
        elif (
            ("!" in line or "%" in line) and (assigned := _ASSIGNED_ESCAPE.match(line)) and not stripped.startswith("#")
        ):
            escape = assigned.group(2)
            if escape.startswith("%"):
                name, _, arguments = escape[1:].partition(" ")
                magics.append(LineMagic(number, name, arguments.strip()))
            python.append(assigned.group(1) + "None")
        elif stripped.endswith("?") and not stripped.startswith("#"):
            python.append(line.rstrip("?"))
        else:
            python.append(line)
    return python, magics


#: Deeper syntax trees are not analysed: the rules (and `ast.unparse`) recurse, and no real cell nests this deep.
MAX_DEPTH = 200


def _depth_exceeds(tree: ast.AST, limit: int) -> bool:
    pending = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return False


def _parse(text: str) -> tuple[ast.Module | None, str | None]:
    """The cell's syntax tree, or None and the reason it could not be had."""
    # Compiling warns about the user's code (invalid escape sequences...) on stderr: not ours to say.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(text)
        except SyntaxError as error:
            return None, f"it is not valid Python (line {error.lineno}: {error.msg})"
        except ValueError as error:
            return None, f"it is not valid Python ({error})"
        except (RecursionError, MemoryError):
            return None, "it is nested too deeply to parse"
    if _depth_exceeds(tree, MAX_DEPTH):
        return None, f"it is nested too deeply to analyse (more than {MAX_DEPTH} levels)"
    return tree, None


def read_cell(number: int, source: str) -> Cell:
    """Parse one code cell's source."""
    lines = source.splitlines()
    cell_magic: str | None = None
    magic_line = ""
    body = lines
    if lines and lines[0].startswith("%%"):
        cell_magic, _, magic_line = lines[0][2:].partition(" ")
        # Keep line numbers: the magic's own line becomes a blank line.
        body = ["", *lines[1:]]
    python, line_magics = _blank_ipython_syntax(body)
    runs_python = cell_magic is None or cell_magic in _CELL_MAGICS_RUNNING_PYTHON
    tree, not_checked = _parse("\n".join(python)) if runs_python else (None, None)
    cell = Cell(number, source, tree, cell_magic, magic_line.strip(), line_magics, not_checked=not_checked)
    if cell.reproducible:
        try:
            cell.options = parse_cell_line(cell.cell_magic_line)
        except ArgumentError:
            cell.options = None
    return cell


#: How repro-lint words a file it cannot read, flake8's way: `PATH: reason`.
_LINT_WORDS = {
    NotebookProblem.MISSING: "no such file",
    NotebookProblem.FOLDER: "is a directory, not a notebook",
    NotebookProblem.NOT_REGULAR: "is not a regular file (a FIFO, socket or device), so it is not read",
    NotebookProblem.NOT_UTF8: "is not a notebook (not UTF-8 text)",
    NotebookProblem.TOO_DEEP: "is not a notebook (its JSON is nested too deeply to read)",
    NotebookProblem.NOT_A_NOTEBOOK: "is not a notebook (no list of cells)",
}


def _in_lint_words(path: Path, error: NotebookError) -> str:
    reason = error.reason
    if error.problem is NotebookProblem.NOT_JSON:
        where = f" at line {reason.lineno}, column {reason.colno}" if isinstance(reason, json.JSONDecodeError) else ""
        return f"{path}: is not a notebook (not valid JSON{where})"
    if error.problem in _LINT_WORDS:
        return f"{path}: {_LINT_WORDS[error.problem]}"
    strerror = reason.strerror if isinstance(reason, OSError) else None
    return f"{path}: cannot be read ({strerror or reason or error})"


def read_notebook(path: Path) -> Notebook:
    """Read a notebook's code cells, raising `NotebookError` with one sentence (in repro-lint's words) for bad input."""
    try:
        content = read_notebook_json(path)
    except NotebookError as error:
        raise NotebookError(_in_lint_words(path, error), error.problem, error.reason) from None
    cells = [read_cell(cell.number, cell.source) for cell in code_cells(content["cells"])]
    metadata = content.get("metadata")
    return Notebook(path, cells, metadata if isinstance(metadata, Mapping) else {})
