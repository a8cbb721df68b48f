"""Lint one notebook: run every rule, then drop what the notebook or a line says to ignore."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from .cells import Notebook, read_notebook
from .defuse import Facts
from .registry import RULES, Finding
from .selection import selected_codes

_LINE_IGNORE = re.compile(r"#\s*repro:\s*ignore(?:\[([A-Z0-9,\s]+)\])?")


def notebook_ignores(notebook: Notebook) -> set[str]:
    """Codes listed in `metadata.repro_magics.lint.ignore`."""
    settings = notebook.metadata.get("repro_magics")
    lint = settings.get("lint") if isinstance(settings, Mapping) else None
    codes = lint.get("ignore") if isinstance(lint, Mapping) else None
    return {str(code) for code in codes} if isinstance(codes, list) else set()


def _line_ignores(line: str) -> set[str] | None:
    """Codes a `# repro: ignore[...]` comment names (all codes for a bare one), or None without one."""
    match = _LINE_IGNORE.search(line)
    if match is None:
        return None
    if match.group(1) is None:
        return {"*"}
    return {code.strip() for code in match.group(1).split(",") if code.strip()}


def is_suppressed(notebook: Notebook, finding: Finding, ignored: set[str]) -> bool:
    if finding.code in ignored:
        return True
    lines = notebook.cells[finding.cell - 1].lines
    candidates = [finding.line]
    # A `%%` magic line cannot carry a comment: its suppression goes on the next line.
    if finding.line == 1 and lines and lines[0].startswith("%%"):
        candidates.append(2)
    for number in candidates:
        if number <= len(lines):
            codes = _line_ignores(lines[number - 1])
            if codes is not None and ("*" in codes or finding.code in codes):
                return True
    return False


def lint(
    notebook: Notebook,
    honour_suppressions: bool = True,
    select: Sequence[str] | None = None,
    extend_select: Sequence[str] = (),
    codes: Collection[str] | None = None,
    facts: Facts | None = None,
) -> list[Finding]:
    """The findings of the selected rules in a notebook (default: the traps), in cell, line, column order.

    `select`/`extend_select` take rule codes, prefixes or `ALL`, as on the command line;
    `codes`, when given, is the resolved set and wins over both.
    """
    chosen = codes if codes is not None else selected_codes(select, extend_select)
    facts = facts if facts is not None else Facts(notebook)
    findings = sorted({finding for rule in RULES if rule.code in chosen for finding in rule.check(facts)})
    if not honour_suppressions:
        return findings
    ignored = notebook_ignores(notebook)
    return [finding for finding in findings if not is_suppressed(notebook, finding, ignored)]


def lint_path(
    path: Path, honour_suppressions: bool = True, select: Sequence[str] | None = None, extend_select: Sequence[str] = ()
) -> list[Finding]:
    """Read and lint a notebook file (raises `NotebookError` for bad input)."""
    return lint(read_notebook(path), honour_suppressions, select, extend_select)
