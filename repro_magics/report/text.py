"""Say what `repro-verify` found: lines for people, JSON for machines."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict
from typing import Any

from ..compare.agreement import DIVERGED, WITHIN_TOLERANCE, Tolerance
from ..compare.epochs import training_line
from ..compare.results import Comparison, Difference, backend_change_text, difference_text, worst_comparison
from ..compare.tolerance import advice_json, advice_lines
from ..ledger.values import json_float
from ..notebooks import cell_label
from ..verify.causes import LikelyCause
from ..verify.verdicts import CellVerdict, count
from ..verify.verification import NOT_SAVED, NOT_WRITTEN, SAVED, UNCHANGED, UPDATED, NotebookVerification
from ..words import agreeing, counted

REPORT_FORMAT = "repro-magics-report"
_MAX_OTHER_CELLS_SHOWN = 5
_ESCAPED_CATEGORIES = {"Cc", "Zl", "Zp"}
# Controls that reorder what a terminal shows (the "Trojan source" characters).
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
NO_LIKELY_CAUSE = (
    "likely cause: no lint rule applies to this cell or to the cells that made what it uses; "
    "repro-verify --trace finds the first batch that differs, and docs/limits.md lists causes the code does not show"
)


def printable(text: str) -> str:
    """`text` with control characters shown as escapes (`\\x1b`), for a terminal or a log.

    Cell sources, error messages and file names reach the human output; raw,
    an escape sequence in them could retitle the terminal, clear it or hide a
    line. JSON output keeps the exact text.
    """
    if text.isprintable():  # no control characters: the common case, without a pass per character
        return text
    return "".join(_escaped(character) for character in text)


def _escaped(character: str) -> str:
    if character in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[character]
    if character in _BIDI_CONTROLS or unicodedata.category(character) in _ESCAPED_CATEGORIES:
        code = ord(character)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return character


def _tolerance_text(tolerance: Tolerance) -> str:
    return "bitwise" if tolerance.bitwise else f"rtol {tolerance.rtol:g}, atol {tolerance.atol:g}"


def _causes(result: NotebookVerification, difference: Difference) -> list[LikelyCause] | None:
    """The likely causes the verification found for this cell ([] for a cell no longer in the notebook)."""
    if difference.cell_number is None:
        return []
    return result.likely_causes.get(difference.cell_number)


def _cause_lines(result: NotebookVerification, first: Difference) -> list[str]:
    causes = _causes(result, first)
    if causes is None:
        return []
    if not causes:
        return [f"    {NO_LIKELY_CAUSE}"]
    return ["    likely causes (repro-lint findings):", *(f"      {cause.text()}" for cause in causes)]


def _difference_lines(comparison: Comparison, first: Difference, result: NotebookVerification) -> list[str]:
    lines = [f"    {difference_text(comparison, first)}"]
    if first.training is not None:
        lines.append(f"    {training_line(first.training)}")
    if first.source_changed:
        lines.append("    (this cell's source changed since the baseline was recorded)")
    spread = comparison.spread
    if spread is not None:
        lines.extend(f"    {line}" for line in advice_lines(spread))
    lines.extend(_cause_lines(result, first))
    others = comparison.differences[1:]
    if others:
        shown = ", ".join(cell_label(d.cell_number, d.cell_id) for d in others[:_MAX_OTHER_CELLS_SHOWN])
        more = f" and {len(others) - _MAX_OTHER_CELLS_SHOWN} more" if len(others) > _MAX_OTHER_CELLS_SHOWN else ""
        lines.append(f"    later cells that differ too: {shown}{more}")
    if comparison.environment_changes:
        changes = "; ".join(f"{name} {old} vs {new}" for name, old, new in comparison.environment_changes)
        lines.append(f"    environment differs: {changes}")
    elif comparison.environment_compared:
        lines.append("    environment: the same")
    else:
        lines.append("    environment: not compared (one side recorded nothing)")
    return lines


def _ledger_line(result: NotebookVerification) -> str | None:
    if result.ledger_action == NOT_WRITTEN:
        return f"  ledger not written: {result.ledger_error}"
    if result.ledger_action == SAVED:
        return f"  ledger saved: {result.ledger_path} ({counted(result.records_count, 'cell record')})"
    if result.ledger_action == UPDATED:
        return f"  ledger updated: {result.ledger_path}"
    if result.ledger_action == NOT_SAVED:
        return "  ledger not saved: the fresh runs differ from each other, so no result is stable enough to keep"
    if result.ledger_action == UNCHANGED and result.verdict == DIVERGED:
        return f"  ledger unchanged: {result.ledger_path} (if the new results are right, rerun with --update)"
    return None


def format_verification(result: NotebookVerification, tolerance: Tolerance) -> list[str]:
    """The report for one notebook, a line per item, control characters escaped."""
    return [printable(line) for line in _verification_lines(result, tolerance)]


def _verification_lines(result: NotebookVerification, tolerance: Tolerance) -> list[str]:
    name = str(result.notebook)
    seconds = sum(run.seconds for run in result.runs)
    run_text = f"{counted(len(result.runs), 'fresh run')} in {seconds:.1f} s"
    failure = result.failure
    if failure is not None:
        if failure.place is not None:
            where, line = failure.place, ""
        elif failure.cell_id is None:
            where, line = "the start, before the first cell", ""
        else:
            where = cell_label(failure.cell_number, failure.cell_id)
            line = f": {failure.source_first_line}" if failure.source_first_line else ""
        return [
            f"{name}: FAILED to run, in run {len(result.runs)}, {'' if failure.place else 'at '}{where}{line}",
            f"    {failure.summary}",
        ]
    comparison = worst_comparison(result.comparisons)
    if result.nothing_recorded:
        consequence = (
            "with --require-records this is a failure (exit status 5)"
            if result.require_records
            else "this passes (exit status 0); --require-records makes it a failure"
        )
        return [
            f"{name}: NOTHING CHECKED: no %%reproducible cell recorded a value to compare ({run_text})",
            "    to check results, run the cells that matter with %%reproducible seed=N (fit histories are recorded)"
            " and name other values with record=NAME",
            f"    {consequence}",
            "  ledger not saved: it would hold nothing to compare with",
        ]
    if comparison is None:
        lines = [f"{name}: recorded {counted(result.records_count, 'cell')} ({run_text}; nothing to compare with yet)"]
    elif comparison.verdict == DIVERGED and comparison.backend_change is not None:
        changed = len(comparison.differences)
        lines = [
            f"{name}: DIVERGED: {backend_change_text(comparison)}",
            f"    {counted(changed, 'cell')} {agreeing(changed, 'differs', 'differ')}; no number is expected to match"
            " across backends (verify on the recorded one, or rerun with --update to record this one)",
        ]
    elif comparison.verdict == DIVERGED:
        first = comparison.differences[0]
        parted = result.where_runs_part
        lines = [
            f"{name}: DIVERGED, {comparison.new_label} vs {comparison.baseline_label}, "
            f"first at {cell_label(first.cell_number, first.cell_id)}: {first.source_first_line}",
            *(f"    {line}" for line in (parted.lines() if parted else [])),
            *_difference_lines(comparison, first, result),
        ]
    else:
        compared = f"{counted(comparison.cells_compared, 'cell')}, {counted(comparison.numbers_compared, 'number')}"
        nothing = count(result.cell_verdicts, CellVerdict.NOTHING_RECORDED)
        if nothing:
            compared += f"; {counted(nothing, 'cell')} with nothing recorded"
        against = "to the ledger" if result.had_ledger else "across the fresh runs"
        if result.had_ledger and len(result.runs) > 1:
            against += " and across the fresh runs"
        if comparison.verdict == WITHIN_TOLERANCE:
            used = (
                f"tolerances calibrated for {counted(result.calibrated_cells, 'cell')}"
                if result.calibrated_cells
                else _tolerance_text(tolerance)
            )
            lines = [
                f"{name}: within tolerance {against} ({used}; {compared}; {run_text})",
                f"    largest differences: {comparison.max_abs_difference:.3g} absolute, "
                f"{comparison.max_rel_difference:.3g} relative",
            ]
        else:
            lines = [f"{name}: identical {against}, bitwise ({compared}; {run_text})"]
    ledger_line = _ledger_line(result)
    return lines + ([ledger_line] if ledger_line else [])


def _difference_json(result: NotebookVerification, difference: Difference) -> dict[str, Any]:
    data = asdict(difference)
    data["spread"] = advice_json(difference.spread) if difference.spread is not None else None
    causes = _causes(result, difference)
    data["likely_causes"] = None if causes is None else [cause.to_json() for cause in causes]
    return data


def _comparison_json(result: NotebookVerification, comparison: Comparison) -> dict[str, Any]:
    return {
        "baseline": comparison.baseline_label,
        "new": comparison.new_label,
        "verdict": comparison.verdict,
        "cells_compared": comparison.cells_compared,
        "numbers_compared": comparison.numbers_compared,
        "max_abs_difference": json_float(comparison.max_abs_difference),
        "max_rel_difference": json_float(comparison.max_rel_difference),
        "differences": [_difference_json(result, d) for d in comparison.differences],
        "spread": advice_json(comparison.spread) if comparison.spread is not None else None,
        "backend_change": (
            None
            if comparison.backend_change is None
            else {"baseline": comparison.backend_change[0], "new": comparison.backend_change[1]}
        ),
        "cells_with_nothing_recorded": comparison.cells_with_nothing_recorded,
        "environment_compared": comparison.environment_compared,
        "environment_changes": [
            {"name": name, "baseline": old, "new": new} for name, old, new in comparison.environment_changes
        ],
    }


def verification_json(result: NotebookVerification) -> dict[str, Any]:
    parted = result.where_runs_part
    return {
        "notebook": str(result.notebook),
        "ledger": str(result.ledger_path),
        "verdict": result.verdict,
        "exit_status": result.exit_status,
        "ledger_action": result.ledger_action,
        "ledger_error": result.ledger_error,
        "runs": [
            {
                "seconds": round(run.seconds, 3),
                "cells_run": run.cells_run,
                "failure": asdict(run.failure) if run.failure else None,
            }
            for run in result.runs
        ],
        "comparisons": [_comparison_json(result, c) for c in result.comparisons],
        "cells": [outcome.to_json() for outcome in result.cell_verdicts],
        "where_runs_part": parted.to_json() if parted else None,
    }


def report_json(results: list[NotebookVerification], exit_status: int, tolerance: Tolerance) -> dict[str, Any]:
    return {
        "format": REPORT_FORMAT,
        "version": 1,
        "exit_status": exit_status,
        "tolerance": {"rtol": tolerance.rtol, "atol": tolerance.atol},
        "notebooks": [verification_json(result) for result in results],
    }
