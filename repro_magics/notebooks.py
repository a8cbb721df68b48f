"""Reading a notebook file, and what its code cells are: the one reader every part of the package uses.

It sits at the bottom of the layers: the kernel, the ledger checks, the
verifier and the server all read notebooks through it, and a file that is not
a notebook is a `NotebookError` with one sentence wherever it is met.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import nbformat

from .exceptions import NotebookError, NotebookProblem, NotRegularFile
from .regular_files import read_regular_text

MAGIC_PREFIX = "%%reproducible"


def _read_text(path: Path) -> str:
    try:
        return read_regular_text(path)
    except FileNotFoundError as error:
        raise NotebookError(f"{path} does not exist", NotebookProblem.MISSING, error) from None
    except IsADirectoryError as error:
        raise NotebookError(f"{path} is a folder, not a notebook", NotebookProblem.FOLDER, error) from None
    except NotRegularFile as error:
        raise NotebookError(
            f"{path} is not a regular file (a FIFO, a device or a socket), not a notebook",
            NotebookProblem.NOT_REGULAR,
            error,
        ) from None
    except UnicodeDecodeError as error:
        raise NotebookError(f"{path} cannot be read: {error}", NotebookProblem.NOT_UTF8, error) from None
    except OSError as error:
        raise NotebookError(f"{path} cannot be read: {error}", NotebookProblem.UNREADABLE, error) from None


def _not_a_notebook(
    path: Path, problem: NotebookProblem = NotebookProblem.NOT_A_NOTEBOOK, reason: BaseException | None = None
) -> NotebookError:
    return NotebookError(f"{path} is not a Jupyter notebook (.ipynb JSON)", problem, reason)


def read_notebook(path: Path) -> Any:
    """The notebook at `path` as an nbformat (version 4) node, or raise `NotebookError` saying why it isn't one.

    Cells without an id (a notebook saved in a format older than 4.5) get
    `cell-0`, `cell-1`, ... by position; the file on disk is never written.
    """
    text = _read_text(path)
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception:  # nbformat raises several unrelated types for non-notebooks
        raise _not_a_notebook(path) from None
    if not isinstance(notebook.get("cells"), list):
        raise _not_a_notebook(path)
    for index, cell in enumerate(notebook.cells):
        cell.setdefault("id", f"cell-{index}")
    return notebook


def read_notebook_json(path: Path) -> dict[str, Any]:
    """The notebook's JSON as saved (a dict with a list of `cells`), or raise `NotebookError` saying why it isn't one.

    For readers that need neither nbformat's validation nor its time: the
    kernel, which reads the notebook it serves each time it is saved, and
    repro-lint, which reads what it is given however it was written.
    """
    text = _read_text(path)
    try:
        content = json.loads(text)
    except RecursionError as error:
        raise _not_a_notebook(path, NotebookProblem.TOO_DEEP, error) from None
    except ValueError as error:
        raise _not_a_notebook(path, NotebookProblem.NOT_JSON, error) from None
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise _not_a_notebook(path)
    return content


def read_cells(path: Path) -> list[Any]:
    """The notebook's cells as saved (plain JSON, ids only where the file has them), or raise `NotebookError`."""
    cells: list[Any] = read_notebook_json(path)["cells"]
    return cells


def cell_text(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (a saved notebook may hold it as a list of lines); anything else reads as ""."""
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, stripped."""
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def cell_label(number: int | None, cell_id: str | None) -> str:
    """How every report names a code cell: `cell 3 (id ab12)`, or a cell no longer in the notebook."""
    label = f"cell {number}" if number is not None else "a cell no longer in the notebook"
    return f"{label} (id {cell_id})" if cell_id else label


class CodeCell(NamedTuple):
    """A code cell of a notebook: its number among code cells (from 1), id, first line and source."""

    number: int
    cell_id: str | None
    first_line: str
    source: str


def code_cells(cells: list[Any]) -> list[CodeCell]:
    """The code cells of a notebook's `cells`, in order."""
    found: list[CodeCell] = []
    for cell in cells:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        text = cell_text(cell)
        found.append(CodeCell(len(found) + 1, str(cell["id"]) if "id" in cell else None, first_line(text), text))
    return found


def code_cell_positions(cells: list[Any]) -> dict[str, tuple[int, str]]:
    """Map each code cell's id to (its number among code cells from 1, its first source line)."""
    return {cell.cell_id: (cell.number, cell.first_line) for cell in code_cells(cells) if cell.cell_id is not None}


@cache
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def magic_line_and_body(source: str) -> tuple[str, str] | None:
    """The (line, body) IPython passes to `%%reproducible` for a cell's source; None for any other cell.

    IPython's own input transformer does the splitting, so that spacing and
    line endings come out as they do when the cell runs.
    """
    if not source.lstrip().startswith(MAGIC_PREFIX):  # most cells; spares IPython's transformer
        return None
    try:
        code = ast.parse(_transformer().transform_cell(source))
    except (SyntaxError, ValueError):
        return None
    if len(code.body) != 1 or not isinstance(code.body[0], ast.Expr):
        return None
    call = code.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return None
    arguments = [argument.value for argument in call.args if isinstance(argument, ast.Constant)]
    if call.func.attr != "run_cell_magic" or len(arguments) != 3 or arguments[0] != MAGIC_PREFIX[2:]:
        return None
    return str(arguments[1]), str(arguments[2])
