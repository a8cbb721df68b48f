"""Each code cell's verdict in one verification: computed here once, shown by every surface.

The terminal, the JSON and Markdown reports, the HTML page and the JupyterLab
badges all read these; none of them judges a cell itself. The verdicts'
values are part of the JSON report and of the server's answers, and
`labextension/src/verdicts.ts` mirrors them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Protocol

from ..compare.agreement import NOTHING_RECORDED, WITHIN_TOLERANCE, Tolerance
from ..compare.records import record_checks
from ..compare.results import Comparison, Difference, difference_text, worst_comparison
from ..ledger.store import Ledger, record_key
from ..notebooks import CodeCell


class NotebookVerification(Protocol):
    """What the verdicts are read from (`verification.NotebookVerification`, which computes them)."""

    code_cells: list[CodeCell]
    runs: list[Any]
    comparisons: list[Comparison]
    baseline: Ledger | None
    tolerance: Tolerance
    calibrated_cells: int

    #: Where the runs first parted (`divergence_origin.WhereRunsPart`), when they differ.
    where_runs_part: Any

    @property
    def failure(self) -> Any: ...


class CellVerdict(str, Enum):
    """What one verification says of one code cell."""

    IDENTICAL = "identical"
    WITHIN_TOLERANCE = "within tolerance"
    DIVERGED = "diverged"
    #: A `%%reproducible` cell whose record holds no value and no training history: nothing was compared.
    NOTHING_RECORDED = "nothing recorded"
    #: Recorded, with nothing to compare it with yet (a first run, or a run that failed later).
    RECORDED = "recorded"
    #: No record: a plain code cell.
    NOT_RECORDED = "not recorded"
    FAILED = "failed to run"
    NOT_RUN = "not run"


@dataclass(frozen=True)
class CellOutcome:
    """One cell's verdict, with the sentence that explains it (a first difference, a failure, what was compared)."""

    number: int | None
    cell_id: str | None
    first_line: str
    verdict: CellVerdict
    detail: str
    #: The cell the notebook's verdict names: where the runs first part.
    is_first_difference: bool = False
    #: Only on the cell after which the runs' states first differ (plain or recorded): the report's origin lines.
    origin: str | None = None

    def to_json(self) -> dict[str, Any]:
        found = {
            "cell_number": self.number,
            "cell_id": self.cell_id,
            "source_first_line": self.first_line,
            "verdict": self.verdict.value,
            "detail": self.detail,
        }
        return {**found, "origin": self.origin} if self.origin else found


_FirstDifferences = dict[str, tuple[Comparison, Difference]]


def _first_differences(comparisons: list[Comparison]) -> _FirstDifferences:
    """Each cell's first difference (by record key), from the first comparison that found one."""
    found: _FirstDifferences = {}
    for comparison in comparisons:
        for difference in comparison.differences:
            found.setdefault(difference.cell_key, (comparison, difference))
    return found


def _records(result: NotebookVerification) -> list[dict[str, Any]]:
    """Every record of the verification, newest first: the runs, last to first, then the ledger."""
    sides = [run.records for run in reversed(result.runs)] + ([result.baseline] if result.baseline else [])
    return [record for side in sides for record in side.records]


def _record_of(cell: CodeCell, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    for record in records:
        if cell.cell_id is not None and record.get("cell_id") == cell.cell_id:
            return record
        if cell.cell_id is None and record.get("cell_id") is None and record.get("cell_number") == cell.number:
            return record
    return None


def _compared(result: NotebookVerification, key: str) -> CellOutcome | None:
    """IDENTICAL, WITHIN_TOLERANCE or NOTHING_RECORDED from the comparisons that met this cell (None if none did)."""
    met = [comparison for comparison in result.comparisons if key in comparison.cell_verdicts]
    if not met:
        return None
    verdicts = {comparison.cell_verdicts[key] for comparison in met}
    if verdicts == {NOTHING_RECORDED}:
        return _outcome(
            CellVerdict.NOTHING_RECORDED,
            "this cell recorded no value and no training history, so nothing was compared "
            "(name values with record=NAME; fit histories are recorded)",
        )
    if WITHIN_TOLERANCE in verdicts:
        tolerance = result.tolerance
        used = (
            "the tolerance --calibrate stored for it"
            if result.calibrated_cells and tolerance.bitwise
            else f"rtol {tolerance.rtol:g}, atol {tolerance.atol:g}"
        )
        return _outcome(CellVerdict.WITHIN_TOLERANCE, f"equal within {used}, not bitwise")
    against = ", ".join(f"{comparison.new_label} vs {comparison.baseline_label}" for comparison in met)
    return _outcome(CellVerdict.IDENTICAL, f"identical, bitwise ({against})")


def _outcome(verdict: CellVerdict, detail: str) -> CellOutcome:
    """A verdict not yet placed on a cell (`_placed` gives it the cell)."""
    return CellOutcome(None, None, "", verdict, detail)


def _placed(outcome: CellOutcome, cell: CodeCell) -> CellOutcome:
    return CellOutcome(cell.number, cell.cell_id, cell.first_line, outcome.verdict, outcome.detail)


def _uncompared(result: NotebookVerification, record: dict[str, Any] | None) -> CellOutcome:
    if record is None:
        return _outcome(CellVerdict.NOT_RECORDED, "this cell recorded nothing to compare")
    if not record_checks(record):
        return _outcome(
            CellVerdict.NOTHING_RECORDED,
            "this cell recorded no value and no training history, so there is nothing to compare "
            "(name values with record=NAME; fit histories are recorded)",
        )
    if result.failure is not None:
        return _outcome(CellVerdict.RECORDED, "recorded; not compared, since the run failed")
    return _outcome(CellVerdict.RECORDED, "recorded; nothing to compare with yet")


def cell_outcomes(result: NotebookVerification) -> list[CellOutcome]:
    """The verdict of each code cell in notebook order, then of each cell that differs but is no longer there."""
    failure = result.failure
    differences = _first_differences(result.comparisons)
    worst = worst_comparison(result.comparisons)
    headline = worst.first_difference if worst is not None else None
    records = _records(result)
    outcomes = []
    for cell in result.code_cells:
        if failure is not None and (failure.cell_number is None or cell.number >= failure.cell_number):
            if cell.number == failure.cell_number:
                outcomes.append(_placed(_outcome(CellVerdict.FAILED, failure.summary), cell))
            else:
                why = "an earlier cell failed" if failure.cell_number is not None else "the kernel failed at the start"
                outcomes.append(_placed(_outcome(CellVerdict.NOT_RUN, f"not run: {why}"), cell))
            continue
        record = _record_of(cell, records)
        key = record_key(record) if record is not None else None
        found = differences.pop(key, None) if key is not None else None
        if found is not None:
            comparison, difference = found
            outcomes.append(
                CellOutcome(
                    cell.number,
                    cell.cell_id,
                    cell.first_line,
                    CellVerdict.DIVERGED,
                    difference_text(comparison, difference),
                    difference is headline,
                )
            )
            continue
        compared = _compared(result, key) if key is not None else None
        outcomes.append(_placed(compared or _uncompared(result, record), cell))
    for comparison, difference in differences.values():
        outcomes.append(
            CellOutcome(
                difference.cell_number,
                difference.cell_id,
                difference.source_first_line,
                CellVerdict.DIVERGED,
                difference_text(comparison, difference),
                difference is headline,
            )
        )
    return _with_origin(result, outcomes)


def _with_origin(result: NotebookVerification, outcomes: list[CellOutcome]) -> list[CellOutcome]:
    """The origin cell's outcome carries the origin lines, whatever its verdict."""
    parted = result.where_runs_part
    origin = parted.origin if parted is not None else None
    if origin is None:
        return outcomes
    return [
        replace(outcome, origin="\n".join(parted.lines()))
        if (outcome.cell_id, outcome.number) == (origin.cell_id, origin.cell_number)
        else outcome
        for outcome in outcomes
    ]


def count(outcomes: list[CellOutcome], verdict: CellVerdict) -> int:
    return sum(outcome.verdict is verdict for outcome in outcomes)
