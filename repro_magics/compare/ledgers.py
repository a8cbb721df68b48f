"""Compare two sets of records cell by cell, epoch by epoch, metric by metric."""

from __future__ import annotations

from ..ledger.store import Ledger, record_key
from .agreement import DIVERGED, IDENTICAL, NOTHING_RECORDED, WITHIN_TOLERANCE, Tolerance
from .environment import backend_of, environment_changes
from .measure import measure, training_divergence
from .records import Pair, pair_records, record_checks
from .results import Comparison, Difference, Spread
from .walk import Parted, Walker, show_value


def _in(label: str) -> str:
    return "the ledger" if label == "ledger" else label


def compare_ledgers(
    baseline: Ledger,
    new: Ledger,
    tolerance: Tolerance = Tolerance(),
    *,
    baseline_label: str = "ledger",
    new_label: str = "new run",
    positions: dict[str, tuple[int, str]] | None = None,
    cell_tolerances: dict[str, Tolerance] | None = None,
) -> Comparison:
    """Compare `new` with `baseline`, cell by cell in notebook order.

    `positions` maps cell ids to (code cell number, first source line) in
    the notebook as it is now; records carry their own where it is missing.
    `cell_tolerances` (by record key) replace `tolerance` for their cells.
    """
    positions = positions or {}
    comparison = Comparison(baseline_label, new_label)
    walker = Walker(tolerance, comparison)

    def place(pair: Pair) -> tuple[int | None, str]:
        for record in (pair[1], pair[0]):
            if record is not None and str(record.get("cell_id")) in positions:
                return positions[str(record.get("cell_id"))]
        record = pair[0] or pair[1]
        assert record is not None
        return record.get("cell_number"), str(record.get("source_first_line", ""))

    def order(pair: Pair) -> tuple[bool, int]:
        number, _ = place(pair)
        return (number is None, number or 0)

    if baseline.records and new.records:
        backends = (
            backend_of(baseline.environment_of(baseline.records[0])),
            backend_of(new.environment_of(new.records[0])),
        )
        if None not in backends and backends[0] != backends[1]:
            comparison.backend_change = (str(backends[0]), str(backends[1]))
    environment_checked = False
    for b_record, n_record in sorted(pair_records(baseline.records, new.records), key=order):
        any_record = n_record or b_record
        assert any_record is not None
        number, line = place((b_record, n_record))
        try:
            if b_record is None:
                raise Parted("record", f"none (not in {_in(baseline_label)})", "recorded")
            if n_record is None:
                raise Parted("record", "recorded", f"none (the cell recorded nothing in {_in(new_label)})")
            walker.tolerance = (cell_tolerances or {}).get(record_key(b_record), tolerance)
            inexact_before = comparison.inexact_matches
            walker.record(b_record, n_record)
            if not record_checks(b_record) and not record_checks(n_record):
                comparison.cells_with_nothing_recorded += 1
                comparison.cell_verdicts[record_key(any_record)] = NOTHING_RECORDED
            else:
                comparison.cells_compared += 1
                inexact = comparison.inexact_matches > inexact_before
                comparison.cell_verdicts[record_key(any_record)] = WITHIN_TOLERANCE if inexact else IDENTICAL
        except Parted as parted:
            if b_record is not None and n_record is not None:
                comparison.cells_compared += 1
            comparison.cell_verdicts[record_key(any_record)] = DIVERGED
            changed = bool(b_record and n_record and b_record.get("source_hash") != n_record.get("source_hash"))
            comparison.differences.append(
                Difference(
                    cell_key=record_key(any_record),
                    cell_id=any_record.get("cell_id"),
                    cell_number=number,
                    source_first_line=line,
                    where=parted.where,
                    baseline=show_value(parted.baseline),
                    new=show_value(parted.new),
                    source_changed=changed,
                    spread=(
                        measure(b_record, n_record)
                        if b_record is not None and n_record is not None
                        else Spread(measurable=False, not_a_number_change=f"a record is {show_value(parted.new)}")
                    ),
                    training=(
                        training_divergence(b_record, n_record)
                        if b_record is not None and n_record is not None
                        else None
                    ),
                )
            )
            if not environment_checked and b_record is not None and n_record is not None:
                environment_checked = comparison.environment_compared = True
                comparison.environment_changes = environment_changes(
                    baseline.environment_of(b_record), new.environment_of(n_record)
                )
    if comparison.differences and not environment_checked and baseline.records and new.records:
        # No cell recorded on both sides: compare the runs' environments as a whole.
        comparison.environment_compared = True
        comparison.environment_changes = environment_changes(
            baseline.environment_of(baseline.records[0]), new.environment_of(new.records[0])
        )
    return comparison
