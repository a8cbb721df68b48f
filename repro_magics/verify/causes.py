"""Likely causes of a divergence: the lint's findings in the cell that diverged and in the cells it draws on.

The cells it draws on, and the order (traps before advice), come from the lint
(`repro_magics.lint.causes`): its def-use follows names through the bodies of
the functions the diverged cell calls.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import NotebookError
from ..lint import Finding, read_notebook
from ..lint.causes import likely_causes as lint_causes
from ..lint.cells import Notebook
from ..lint.check import is_suppressed, lint, notebook_ignores
from ..lint.defuse import Facts
from ..lint.output import docs_anchor

# A cell that diverged recorded something, and repro-verify's kernel loads the
# extension itself: "records nothing" and "extension not loaded" explain no divergence.
_NOT_CAUSES = {"RM112", "RM113"}


@dataclass(frozen=True)
class LikelyCause:
    """A lint finding, and how its cell relates to the cell that diverged."""

    finding: Finding
    #: Empty for the diverged cell itself; else the names it uses that this finding's cell made.
    made_here: tuple[str, ...]
    #: The notebook or the line asks the lint to ignore it; a verification lists it all the same.
    suppressed: bool

    def text(self) -> str:
        where = f"cell {self.finding.cell}, line {self.finding.line}"
        if self.made_here:
            names = ", ".join(repr(name) for name in self.made_here)
            where += f" (it made {names}, which the diverged cell uses)"
        ignored = " [ignored in the notebook]" if self.suppressed else ""
        return f"{where}: {self.finding.code} {self.finding.message} (see {docs_anchor(self.finding.code)}){ignored}"

    def to_json(self) -> dict[str, Any]:
        return {
            "cell": self.finding.cell,
            "line": self.finding.line,
            "column": self.finding.column,
            "code": self.finding.code,
            "message": self.finding.message,
            "docs": docs_anchor(self.finding.code),
            "made": list(self.made_here),
            "suppressed": self.suppressed,
        }


def _lint(notebook: Notebook) -> tuple[Notebook, list[Finding], Facts]:
    facts = Facts(notebook)
    return notebook, lint(notebook, honour_suppressions=False, select=["ALL"], facts=facts), facts


@functools.lru_cache(maxsize=4)
def _linted(path: Path, _version: tuple[int, int]) -> tuple[Notebook, list[Finding], Facts] | None:
    """A notebook read from disk and linted once, however many of its cells differ."""
    try:
        return _lint(read_notebook(path))
    except NotebookError:
        return None


def _causes(linted: tuple[Notebook, list[Finding], Facts], cell_number: int) -> list[LikelyCause]:
    notebook, findings, facts = linted
    ignored = notebook_ignores(notebook)
    return [
        LikelyCause(cause.finding, cause.made_here, is_suppressed(notebook, cause.finding, ignored))
        for cause in lint_causes(facts, cell_number, findings)
        if cause.finding.code not in _NOT_CAUSES
    ]


def likely_causes(notebook_path: Path, cell_number: int | None) -> list[LikelyCause] | None:
    """The findings that may explain why cell `cell_number` diverged; None when the notebook can't be read."""
    if cell_number is None:
        return []
    try:
        status = notebook_path.stat()
    except OSError:
        return None
    linted = _linted(notebook_path, (status.st_mtime_ns, status.st_size))
    return None if linted is None else _causes(linted, cell_number)
