"""Which notebook this kernel runs, where its ledger goes, and where a cell sits in it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .ledger import ledger_path_for

#: Set by `repro-verify` in the kernels it starts.
NOTEBOOK_ENV_VAR = "REPRO_MAGICS_NOTEBOOK"
LEDGER_ENV_VAR = "REPRO_MAGICS_LEDGER"
FALLBACK_LEDGER_NAME = "untitled.repro.json"


def find_notebook_path(user_namespace: Mapping[str, Any]) -> Path | None:
    """The notebook this kernel serves, from what the front end left behind.

    `repro-verify` says so in an environment variable; JupyterLab and
    Notebook 7 put `__session__` (from `JPY_SESSION_NAME`) into the user
    namespace; VS Code puts `__vsc_ipynb_file__` there.
    """
    candidates = [
        os.environ.get(NOTEBOOK_ENV_VAR),
        user_namespace.get("__vsc_ipynb_file__"),
        user_namespace.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
    ]
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.endswith(".ipynb"):
            continue
        path = Path(candidate)
        # Jupyter Server may give a path relative to its root, while the
        # kernel runs in the notebook's own folder. A symlinked notebook keeps
        # the link's path: its ledger goes beside the link, where
        # `repro-verify` looks for it and where the kernel runs.
        for option in (path, Path.cwd() / path, Path.cwd() / path.name):
            if option.is_file():
                return option.absolute()
    return None


def ledger_destination(user_namespace: Mapping[str, Any]) -> tuple[Path, bool]:
    """Where this kernel's records go, and whether that is beside its notebook."""
    explicit = os.environ.get(LEDGER_ENV_VAR)
    if explicit:
        return Path(explicit), True
    notebook = find_notebook_path(user_namespace)
    if notebook is not None:
        return ledger_path_for(notebook), True
    return Path.cwd() / FALLBACK_LEDGER_NAME, False


class CellLocator:
    """Finds a cell's position in a notebook file by its id; rereads only when the file changes."""

    def __init__(self) -> None:
        self._cached: tuple[Path, float, dict[str, tuple[int, str]]] | None = None

    def locate(self, notebook: Path | None, cell_id: str | None) -> tuple[int | None, str | None]:
        """(code cell number counting from 1, first source line), or Nones."""
        if notebook is None or cell_id is None:
            return None, None
        positions = self._positions(notebook)
        return positions.get(cell_id, (None, None))

    def _positions(self, notebook: Path) -> dict[str, tuple[int, str]]:
        try:
            modified = notebook.stat().st_mtime
        except OSError:
            return {}
        if self._cached and self._cached[0] == notebook and self._cached[1] == modified:
            return self._cached[2]
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            return {}
        positions = code_cell_positions(cells)
        self._cached = (notebook, modified, positions)
        return positions


def code_cell_positions(cells: list[Any]) -> dict[str, tuple[int, str]]:
    """Map each code cell's id to (its number among code cells from 1, its first source line)."""
    positions: dict[str, tuple[int, str]] = {}
    number = 0
    for cell in cells:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        number += 1
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if "id" in cell:
            positions[str(cell["id"])] = (number, first_line(text))
    return positions


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, stripped."""
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""
