"""The report files `repro-verify` writes (`--json`, `--markdown`, `--html`): which paths it may take, and writing them.

A report is written after the verdicts are printed. Its path is checked before
any kernel starts, so that no file of the user's (a notebook, a ledger, any
file that is not an earlier report) is ever replaced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..compare.agreement import Tolerance
from ..exceptions import ReportPathError
from ..ledger.journal import JOURNAL_SUFFIX, LOCK_SUFFIX, journal_path_for, lock_path_for
from ..ledger.store import LEDGER_SUFFIX, atomic_write_text, to_json_text
from ..verify.verification import EXIT_NOT_WRITTEN, NotebookVerification, VerifyInput, overall_exit_status
from .markdown import MARKDOWN_MARKER, markdown_report
from .text import REPORT_FORMAT, printable, report_json

#: `NB.repro.journal.jsonl` and `.NB.repro.lock`, in lower case as the names are compared.
_JOURNAL_SUFFIX = (LEDGER_SUFFIX.removesuffix(".json") + JOURNAL_SUFFIX).lower()
_LOCK_SUFFIX = (LEDGER_SUFFIX.removesuffix(".json") + LOCK_SUFFIX).lower()
#: A report writer: takes the exit status so far and where to say a failure, returns the exit status after.
ReportWriter = Callable[[int, TextIO], int]


@dataclass(frozen=True)
class ReportPaths:
    """The reports asked for (`--json`, `--markdown`, `--html`), and whether an existing JSON file may be replaced."""

    json: Path | None = None
    markdown: Path | None = None
    html: Path | None = None
    force_json: bool = False


def check_report_paths(arguments: ReportPaths, inputs: list[VerifyInput]) -> None:
    """Refuse, before anything runs, each report path whose file the user would lose, or that another report takes."""
    outputs = [
        (option, path)
        for option, path in (("--json", arguments.json), ("--markdown", arguments.markdown), ("--html", arguments.html))
        if path is not None
    ]
    for index, (option, path) in enumerate(outputs):
        for earlier_option, earlier in outputs[:index]:
            if path.resolve() == earlier.resolve():
                raise ReportPathError(
                    f"{option} and {earlier_option} name the same file; give each report a file of its own"
                )
    if arguments.json is not None:
        check_report_path(
            "--json",
            arguments.json,
            inputs,
            is_earlier_report=is_json_report,
            force_option="--force-json",
            forced=arguments.force_json,
        )
    if arguments.markdown is not None:
        check_report_path("--markdown", arguments.markdown, inputs, is_earlier_report=is_markdown_report)
    if arguments.html is not None:
        from ..exceptions import PlottingMissing
        from .html import is_html_report, require_matplotlib

        check_report_path("--html", arguments.html, inputs, is_earlier_report=is_html_report)
        try:
            require_matplotlib()
        except PlottingMissing as error:
            raise ReportPathError(str(error)) from None


def check_report_path(
    option: str,
    path: Path,
    inputs: list[VerifyInput],
    *,
    is_earlier_report: Callable[[Path], bool],
    force_option: str | None = None,
    forced: bool = False,
) -> None:
    """Refuse a report path whose file the user would lose: a notebook, a ledger, anything not an earlier report.

    `force_option` names the option that lets an existing file be replaced anyway, if there is
    one; `forced` says it was given.
    """
    target = path.resolve()
    names = {path.name.lower(), target.name.lower()}
    if not path.parent.is_dir():
        raise ReportPathError(f"the folder for {option}, {path.parent}, does not exist")
    if target in {given.path.resolve() for given in inputs}:
        raise ReportPathError(f"{option} {path} is one of the notebooks to verify; give the report a file of its own")
    if any(name.endswith(".ipynb") for name in names):
        raise ReportPathError(
            f"{option} {path} is a notebook; give the report a file of its own "
            f"(a shell pattern right after {option} puts a notebook there)"
        )
    if target in {given.ledger_path.resolve() for given in inputs} or any(n.endswith(LEDGER_SUFFIX) for n in names):
        raise ReportPathError(f"{option} {path} is a ledger; give the report a file of its own")
    # Refused whether or not they exist yet: a journal or a lock appears the moment a writer needs it.
    journals = {journal_path_for(given.ledger_path) for given in inputs}
    if target in journals or any(name.endswith(_JOURNAL_SUFFIX) for name in names):
        raise ReportPathError(f"{option} {path} is a ledger's journal; give the report a file of its own")
    locks = {lock_path_for(given.ledger_path) for given in inputs}
    if target in locks or any(name.startswith(".") and name.endswith(_LOCK_SUFFIX) for name in names):
        raise ReportPathError(
            f"{option} {path} is a ledger's lock, which another writer may hold; give the report a file of its own"
        )
    if path.is_dir():
        raise ReportPathError(f"{option} {path} is a folder; give a file name for the report")
    if path.exists() and not path.is_file():
        raise ReportPathError(f"{option} {path} is not a regular file; give a file name for the report")
    if path.is_file() and not forced and not is_earlier_report(path):
        remedy = f"pass {force_option} to replace it" if force_option else "remove it or pick another name"
        raise ReportPathError(f"{option} {path} exists and is not a repro-verify report; {remedy}")


def is_json_report(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == REPORT_FORMAT


def is_markdown_report(path: Path) -> bool:
    """An empty file (as CI's `$GITHUB_STEP_SUMMARY` starts) or one an earlier `--markdown` wrote."""
    try:
        with path.open(encoding="utf-8") as file:
            first = file.readline()
    except (OSError, ValueError):
        return False
    return first == "" or first.rstrip("\n") == MARKDOWN_MARKER


def report_writers(
    arguments: ReportPaths,
    results: list[NotebookVerification],
    tolerance: Tolerance,
    not_verified: list[Path],
    command: str,
    heading: str,
    skipped: Mapping[Path, str] | None = None,
) -> Iterator[ReportWriter]:
    """One writer for each report the command line asks for, in the order JSON, Markdown, HTML.

    `skipped`: the notebooks --changed skipped, with the time of the verification that still holds;
    `not_verified`: those --fail-fast stopped before. Every report lists both.
    """
    if arguments.json is not None:
        path = arguments.json
        yield _writer(
            "JSON report",
            path,
            lambda status: atomic_write_text(path, _json_text(results, status, tolerance, skipped, not_verified)),
        )
    if arguments.markdown is not None:
        markdown = arguments.markdown
        yield _writer(
            "Markdown report",
            markdown,
            lambda status: atomic_write_text(
                markdown,
                markdown_report(results, status, heading=heading, not_verified=not_verified, skipped=skipped),
            ),
        )
    if arguments.html is not None:
        from ..exceptions import PlotNotDrawn
        from .html import html_report

        html = arguments.html
        yield _writer(
            "HTML report",
            html,
            lambda status: atomic_write_text(
                html, html_report(results, status, tolerance, command, skipped=skipped, not_verified=not_verified)
            ),
            failures=(PlotNotDrawn,),
        )


def _json_text(
    results: list[NotebookVerification],
    status: int,
    tolerance: Tolerance,
    skipped: Mapping[Path, str] | None,
    not_verified: list[Path],
) -> str:
    report = report_json(results, status, tolerance)
    if not_verified:
        report["not_verified"] = [{"notebook": str(path), "reason": "stopped by --fail-fast"} for path in not_verified]
    if skipped:
        report["skipped"] = [{"notebook": str(path), "unchanged_since": since} for path, since in skipped.items()]
    return to_json_text(report)


def _writer(
    noun: str, path: Path, write: Callable[[int], None], failures: tuple[type[Exception], ...] = ()
) -> ReportWriter:
    """`write` wrapped so that an `OSError`, or one of `failures`, is a report not written: one line, exit status 4
    unless a worse one stands. The verdicts are printed already and stay as they are."""

    caught: tuple[type[Exception], ...] = (OSError, *failures)

    def write_report(status: int, err: TextIO) -> int:
        try:
            write(status)
        except caught as error:
            # An OSError may name a temporary file beside the report; the user knows the report.
            reason = (error.strerror if isinstance(error, OSError) else None) or error
            err.write(printable(f"repro-verify: could not write the {noun} {path}: {reason}") + "\n")
            return overall_exit_status({status, EXIT_NOT_WRITTEN})
        return status

    return write_report
