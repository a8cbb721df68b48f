"""`--markdown PATH`: one table row per notebook, for a CI job summary (GitHub's `$GITHUB_STEP_SUMMARY`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..compare.agreement import DIVERGED
from ..compare.results import Comparison, Difference, backend_change_text
from ..notebooks import cell_label
from ..verify.verdicts import CellVerdict, count
from ..verify.verification import EXIT_REPRODUCED, NotebookVerification
from ..words import counted
from .text import printable

#: The first line of every Markdown report: how `--markdown` knows a file it may replace.
MARKDOWN_MARKER = "<!-- repro-verify report -->"

_MAX_CELL_TEXT = 160


def _table_text(text: str) -> str:
    """Text that stays inside one table cell: one line, pipes and HTML escaped, not too long."""
    text = " ".join(printable(text).split())
    if len(text) > _MAX_CELL_TEXT:
        text = text[: _MAX_CELL_TEXT - 3] + "..."
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _code(text: str) -> str:
    escaped = _table_text(text)
    return f"<code>{escaped}</code>" if escaped else ""


def _first_difference(result: NotebookVerification) -> str:
    failure = result.failure
    if failure is not None:
        if failure.place is not None:
            return f"{failure.place}: {_table_text(failure.summary)}"
        if failure.cell_id is None:
            return f"before the first cell: {_table_text(failure.summary)}"
        return f"{cell_label(failure.cell_number, failure.cell_id)} {_code(failure.source_first_line)}: " + _table_text(
            failure.summary
        )
    diverged: Comparison | None = next((c for c in result.comparisons if c.verdict == DIVERGED), None)
    if diverged is None:
        return ""
    if diverged.backend_change is not None:
        return _table_text(backend_change_text(diverged))
    first: Difference = diverged.differences[0]
    return (
        f"{cell_label(first.cell_number, first.cell_id)} {_code(first.source_first_line)}: {_table_text(first.where)}: "
        f"{_table_text(diverged.baseline_label)} {_code(first.baseline)} vs "
        f"{_table_text(diverged.new_label)} {_code(first.new)}"
    )


def _verdict(result: NotebookVerification) -> str:
    words = result.verdict
    nothing = count(result.cell_verdicts, CellVerdict.NOTHING_RECORDED)
    if nothing and not result.nothing_recorded:
        words += f" ({counted(nothing, 'cell')} with nothing recorded)"
    return words if result.exit_status == EXIT_REPRODUCED else f"**{words}**"


def markdown_report(
    results: Sequence[NotebookVerification],
    exit_status: int,
    *,
    heading: str = "repro-verify",
    not_verified: Sequence[Path] = (),
    skipped: Mapping[Path, str] | None = None,
) -> str:
    """The Markdown summary: a heading with the exit status, then one row per notebook verified, then those
    stopped by --fail-fast and those --changed skipped (`skipped`: path -> time of the verification that holds)."""
    lines = [
        MARKDOWN_MARKER,
        f"### {_table_text(heading)}: exit status {exit_status}",
        "",
        "| notebook | verdict | kernel time | first difference |",
        "| --- | --- | ---: | --- |",
    ]
    for result in results:
        seconds = sum(run.seconds for run in result.runs)
        lines.append(
            f"| {_code(str(result.notebook))} | {_verdict(result)} | {seconds:.1f} s | {_first_difference(result)} |"
        )
    for path in not_verified:
        lines.append(f"| {_code(str(path))} | not verified (stopped) | | |")
    for path, since in (skipped or {}).items():
        lines.append(f"| {_code(str(path))} | skipped: unchanged since {_table_text(since)} | | |")
    if not results and not not_verified and not skipped:
        lines.append("| (no notebook) | | | |")
    return "\n".join(lines) + "\n"
