"""Which notebook this kernel runs, where its ledger goes, and where a cell sits in it."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from ..exceptions import NotebookError
from ..ledger.store import ledger_path_for
from ..notebooks import MAGIC_PREFIX, cell_text, read_cells

#: Set by `repro-verify` in the kernels it starts.
NOTEBOOK_ENV_VAR = "REPRO_MAGICS_NOTEBOOK"
LEDGER_ENV_VAR = "REPRO_MAGICS_LEDGER"


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


@lru_cache(maxsize=1)
def notebooks_named_by_launcher() -> tuple[Path, ...]:
    """The `.ipynb` files on the command line of the process that started this kernel.

    `jupyter execute nb.ipynb`, `jupyter nbconvert --execute nb.ipynb` and
    `papermill in.ipynb out.ipynb` tell the kernel nothing about the notebook,
    but they start it themselves (ipykernel gets their pid as
    `JPY_PARENT_PID`), and their own arguments name it. Linux only: elsewhere
    there is no `/proc` to read, and this finds nothing.
    """
    parent = os.environ.get("JPY_PARENT_PID") or str(os.getppid())
    try:
        arguments = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
        folder = Path(os.readlink(f"/proc/{parent}/cwd"))
    except (OSError, ValueError):
        return ()
    found = []
    for raw in arguments:
        argument = raw.decode(errors="replace")
        if argument.endswith(".ipynb") and (folder / argument).is_file():
            found.append(Path(os.path.normpath(folder / argument)))
    return tuple(found)


class CellPlace(NamedTuple):
    """Where a cell sits in its notebook: its id (as sent, or found by its source), number and first line."""

    cell_id: str | None
    cell_number: int | None
    first_line: str | None


class CellLocator:
    """Finds the notebook a kernel serves and the cells in it; rereads a notebook only when it changes."""

    def __init__(self) -> None:
        self._cached: dict[Path, tuple[float, list[tuple[str | None, str]]]] = {}
        self._fallback: Path | None = None

    def notebook(self, user_namespace: Mapping[str, Any], cell_source: str | None = None) -> Path | None:
        """The notebook this kernel serves, or None.

        Front ends that say which notebook they run win. Failing that, a
        notebook named on the launcher's command line counts if it holds a
        code cell with `cell_source` (canonical, see `magic_cell_source`), so a kernel never takes another
        notebook's file for its own.
        """
        found = find_notebook_path(user_namespace)
        if found is not None or cell_source is None:
            return found
        for launched in notebooks_named_by_launcher():
            if any(source == cell_source for _, source in self._code_cells(launched)):
                return launched
        return None

    def ledger_destination(self, notebook: Path | None) -> tuple[Path, bool]:
        """Where this kernel's records go, and whether that is beside its notebook.

        With no notebook to be found, a file of this kernel's own in its
        working folder, so that two notebooks run from one folder never mix
        their records.
        """
        explicit = os.environ.get(LEDGER_ENV_VAR)
        if explicit:
            return Path(explicit), True
        if notebook is not None:
            return ledger_path_for(notebook), True
        if self._fallback is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self._fallback = Path.cwd() / f"untitled-{stamp}-{os.getpid()}.repro.json"
        return self._fallback, False

    def place(self, notebook: Path | None, cell_id: str | None, cell_source: str, occurrence: int) -> CellPlace:
        """Where the cell that ran sits in `notebook`.

        With an id, the code cell of that id. Without one, the code cells
        whose source is exactly the one that ran; where several share it,
        the `occurrence`-th of them (the order a top-to-bottom run meets them).
        """
        if notebook is None:
            return CellPlace(cell_id, None, None)
        cells = self._code_cells(notebook)
        numbered = [(number, known_id, source) for number, (known_id, source) in enumerate(cells, start=1)]
        if cell_id is not None:
            matches = [entry for entry in numbered if entry[1] == cell_id]
        else:
            same_source = [entry for entry in numbered if entry[2] == cell_source]
            matches = [same_source[(occurrence - 1) % len(same_source)]] if same_source else []
        if not matches:
            return CellPlace(cell_id, None, None)
        number, found_id, source = matches[0]
        return CellPlace(cell_id if cell_id is not None else found_id, number, source.split("\n", 1)[0])

    def _code_cells(self, notebook: Path) -> list[tuple[str | None, str]]:
        """(id, source) of each code cell, in order; [] for a file that can't be read."""
        try:
            modified = notebook.stat().st_mtime
        except OSError:
            return []
        cached = self._cached.get(notebook)
        if cached and cached[0] == modified:
            return cached[1]
        try:
            cells = read_cells(notebook)
        except NotebookError:
            return []
        code = [
            (str(cell["id"]) if "id" in cell else None, canonical_source(cell_text(cell)))
            for cell in cells
            if isinstance(cell, Mapping) and cell.get("cell_type") == "code"
        ]
        self._cached[notebook] = (modified, code)
        return code


def canonical_source(source: str) -> str:
    """A cell's source with the spacing IPython's cell-magic parsing loses made uniform."""
    lines = [line.rstrip() for line in source.strip("\n").splitlines()]
    if lines:
        lines[0] = " ".join(lines[0].split())
    return "\n".join(lines).rstrip()


def magic_cell_source(line: str, body: str) -> str:
    """The canonical source of the `%%reproducible` cell IPython called the magic for."""
    return canonical_source(f"{MAGIC_PREFIX} {line}\n{body}")
