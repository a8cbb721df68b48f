"""Each code cell's verdict, from the same verification `repro-verify` reports on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..compare.ledgers import IDENTICAL, Comparison, Tolerance, compare_ledgers
from ..kernel.notebook_context import notebook_cell_source_hash
from ..ledger.store import Ledger
from ..report.text import difference_text
from ..verify.verification import NotebookVerification

REPRODUCED = "reproduced"
WITHIN_TOLERANCE = "within tolerance"
DIVERGED = "diverged"
FAILED = "failed"
NOT_RUN = "not run"
NOT_RECORDED = "not recorded"
RECORDED = "recorded"


def _code_cells(notebook: Any) -> list[Mapping[str, Any]]:
    return [cell for cell in notebook.cells if cell.get("cell_type") == "code"]


def _records_by_cell(ledger: Ledger) -> dict[str, dict[str, Any]]:
    return {str(record["cell_id"]): record for record in ledger.records if record.get("cell_id") is not None}


def stale_cells(notebook: Any, ledger: Ledger | None) -> dict[str, str]:
    """Cells whose source changed since the ledger recorded them, with the line the ledger has.

    Nothing runs: the saved source is hashed as the magic hashes it.
    """
    if ledger is None:
        return {}
    recorded = _records_by_cell(ledger)
    stale = {}
    for cell in _code_cells(notebook):
        record = recorded.get(str(cell.get("id")))
        if record is None:
            continue
        if notebook_cell_source_hash(str(cell.get("source", ""))) != record.get("source_hash"):
            stale[str(cell["id"])] = (
                f"the source changed since the ledger recorded this cell "
                f"(the ledger has: {record.get('source_first_line', '')})"
            )
    return stale


def _sides(result: NotebookVerification, ledger: Ledger | None) -> dict[str, Ledger]:
    sides = {f"run {number}": run.records for number, run in enumerate(result.runs, start=1)}
    return {**sides, "ledger": ledger} if ledger is not None else sides


def _bitwise(comparison: Comparison, cell_id: str, sides: dict[str, Ledger]) -> bool:
    """Whether this cell's two records in `comparison` agree bit for bit."""
    pair = []
    for label in (comparison.baseline_label, comparison.new_label):
        record = _records_by_cell(sides[label]).get(cell_id)
        if record is None:
            return True
        pair.append(Ledger([record], sides[label].environments))
    return compare_ledgers(pair[0], pair[1], Tolerance()).verdict == IDENTICAL


def cell_verdicts(
    notebook: Any, ledger: Ledger | None, result: NotebookVerification, tolerance: Tolerance
) -> dict[str, dict[str, str]]:
    """{cell id: {"verdict": ..., "detail": ...}} for each code cell of the verified notebook.

    `ledger` is the baseline the verification read (None when there was
    none). A diverged cell's detail is its first difference in the words of
    the report; a failed cell's is the failure's one-line summary.
    """
    cells = _code_cells(notebook)
    failure = result.failure
    if failure is not None:
        verdicts: dict[str, dict[str, str]] = {}
        reached = False
        for cell in cells:
            cell_id = str(cell.get("id"))
            if cell_id == failure.cell_id:
                verdicts[cell_id] = {"verdict": FAILED, "detail": failure.summary}
                reached = True
            elif reached:
                verdicts[cell_id] = {"verdict": NOT_RUN, "detail": "not run: an earlier cell failed"}
        return verdicts

    first_differences: dict[str, str] = {}
    for comparison in result.comparisons:
        for difference in comparison.differences:
            if difference.cell_id is not None:
                first_differences.setdefault(str(difference.cell_id), difference_text(comparison, difference))
    recorded = _records_by_cell(result.runs[-1].records) if result.runs else {}
    sides = _sides(result, ledger)
    verdicts = {}
    for cell in cells:
        cell_id = str(cell.get("id"))
        if cell_id in first_differences:
            verdicts[cell_id] = {"verdict": DIVERGED, "detail": first_differences[cell_id]}
        elif cell_id not in recorded:
            verdicts[cell_id] = {"verdict": NOT_RECORDED, "detail": "this cell recorded nothing to compare"}
        elif not result.comparisons:
            verdicts[cell_id] = {"verdict": RECORDED, "detail": "recorded; nothing to compare with yet"}
        elif tolerance.bitwise or all(_bitwise(c, cell_id, sides) for c in result.comparisons):
            against = ", ".join(f"{c.new_label} vs {c.baseline_label}" for c in result.comparisons)
            verdicts[cell_id] = {"verdict": REPRODUCED, "detail": f"identical, bitwise ({against})"}
        else:
            verdicts[cell_id] = {
                "verdict": WITHIN_TOLERANCE,
                "detail": f"equal within rtol {tolerance.rtol:g}, atol {tolerance.atol:g}, not bitwise",
            }
    return verdicts
