"""What the HTML report shows, gathered from `repro-verify`'s results: plain data, no markup.

Cell verdicts come from `verify/verdicts.py` and every rule (tolerance,
where curves part, what differs in the environment) from `compare/`, so the
page says what the terminal says; this module gathers the numbers behind them
(every run's curves, element counts, environments) that the terminal has no
room for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...compare.agreement import DIVERGED, IDENTICAL, WITHIN_TOLERANCE, Tolerance, elements_agreement, first_parting
from ...compare.environment import EnvironmentRow, environment_table
from ...compare.records import pair_records
from ...compare.results import worst_comparison
from ...ledger.store import Ledger, record_key
from ...notebooks import cell_label
from ...verify.verdicts import CellOutcome, CellVerdict
from ...verify.verification import NotebookVerification
from ...words import counted
from ..text import format_verification

RECORDED = CellVerdict.RECORDED.value


@dataclass(frozen=True)
class Side:
    """One set of records shown: the ledger or a fresh run."""

    label: str
    records: Ledger


@dataclass
class Curve:
    label: str
    values: list[float]


@dataclass
class TrainingCurves:
    """One recorded training history: each metric's values per epoch, for each side."""

    cell: str
    history_number: int
    epochs: list[int]
    metrics: dict[str, list[Curve]]
    #: The first epoch (counted from 1, as Keras prints it) where a run parts from the reference.
    first_differing_epoch: int | None
    verdict: str

    @property
    def title(self) -> str:
        return f"{self.cell}, history {self.history_number}"


@dataclass
class ElementCounts:
    label: str
    equal: int = 0
    within_tolerance: int = 0
    different: int = 0
    #: Weights or arrays too large to store, compared by fingerprint alone.
    by_fingerprint_equal: int = 0
    by_fingerprint_different: int = 0


@dataclass
class ArrayComparison:
    """A recorded array or model: element counts and the differences of each run from the reference."""

    cell: str
    name: str
    reference: str
    counts: list[ElementCounts]
    #: (side label, new - reference for each compared float element that is finite on both sides).
    differences: list[tuple[str, np.ndarray]]

    @property
    def title(self) -> str:
        return f"{self.cell}, {self.name}"

    @property
    def any_different(self) -> bool:
        return any(c.different or c.within_tolerance or c.by_fingerprint_different for c in self.counts)


@dataclass
class NotebookSection:
    path: str
    verdict: str
    exit_status: int
    #: What `repro-verify` printed for this notebook, line by line.
    lines: list[str]
    seconds: float
    runs: int
    cells_compared: int
    numbers_compared: int
    sides: list[str]
    cells: list[CellOutcome] = field(default_factory=list)
    curves: list[TrainingCurves] = field(default_factory=list)
    arrays: list[ArrayComparison] = field(default_factory=list)
    environment_labels: list[str] = field(default_factory=list)
    environment: list[EnvironmentRow] = field(default_factory=list)
    failure: str | None = None


def _sides(result: NotebookVerification) -> list[Side]:
    sides = [Side("ledger", result.baseline)] if result.baseline is not None else []
    return sides + [Side(f"run {number}", run.records) for number, run in enumerate(result.runs, start=1)]


def _partners(reference: Side, others: list[Side]) -> dict[str, list[tuple[Side, dict[str, Any] | None]]]:
    """For each record of the reference (by its key), the record of the same cell on each other side."""
    partners: dict[str, list[tuple[Side, dict[str, Any] | None]]] = {
        record_key(record): [] for record in reference.records.records
    }
    for side in others:
        for ref_record, record in pair_records(reference.records.records, side.records.records):
            if ref_record is not None:
                partners[record_key(ref_record)].append((side, record))
    return partners


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _curves(
    cell: str, reference: Side, record: dict[str, Any], partners: list[tuple[Side, Any]], tolerance: Tolerance
) -> list[TrainingCurves]:
    found = []
    for number, history in enumerate(record.get("histories", []), start=1):
        if history.get("type") != "history":
            continue
        epochs = [int(epoch) + 1 for epoch in history.get("epochs", [])]
        metrics: dict[str, list[Curve]] = {}
        parting: list[int] = []
        identical = True
        for metric, values in sorted(history.get("metrics", {}).items()):
            if any(isinstance(value, dict) for value in values):
                continue  # a per-class metric: an array per epoch, compared but not drawn
            curves = [Curve(reference.label, [_float(v) for v in values])]
            for side, partner in partners:
                histories = (partner or {}).get("histories", [])
                other = histories[number - 1] if len(histories) >= number else None
                other_values = (other or {}).get("metrics", {}).get(metric)
                if other_values is None:
                    continue
                curves.append(Curve(side.label, [_float(v) for v in other_values]))
                identical = identical and other_values == values
                position = first_parting(values, other_values, tolerance)
                if position is not None:
                    parting.append(position)
            metrics[metric] = curves
        if not metrics:
            continue
        first = min(parting) if parting else None
        shown_epochs = epochs or list(range(1, max(len(c[0].values) for c in metrics.values()) + 1))
        first_epoch = None
        if first is not None:
            first_epoch = shown_epochs[first] if first < len(shown_epochs) else first + 1
        verdict = DIVERGED if first is not None else (IDENTICAL if identical else WITHIN_TOLERANCE)
        if len(metrics[next(iter(metrics))]) == 1:
            verdict = RECORDED
        found.append(TrainingCurves(cell, number, shown_epochs, metrics, first_epoch, verdict))
    return found


def _float_elements(encoded: dict[str, Any]) -> np.ndarray | None:
    dtype = str(encoded.get("dtype", ""))
    values = encoded.get("values")
    if values is None or not dtype.startswith(("float", "bfloat")):
        return None
    return np.array([float(value) for value in values], dtype=np.float64)


def _count_array(
    reference: dict[str, Any], new: dict[str, Any], tolerance: Tolerance, counts: ElementCounts, into: list[np.ndarray]
) -> None:
    if reference.get("shape") != new.get("shape") or reference.get("dtype") != new.get("dtype"):
        counts.different += max(len(reference.get("values") or [None]), 1)
        return
    b, n = _float_elements(reference), _float_elements(new)
    if b is not None and n is not None and b.shape == n.shape:
        same, close = elements_agreement(b, n, tolerance)
        finite = np.isfinite(b) & np.isfinite(n)
        counts.equal += int(same.sum())
        counts.within_tolerance += int(close.sum())
        counts.different += int(b.size - same.sum() - close.sum())
        into.append((n - b)[finite])
        return
    b_values, n_values = reference.get("values"), new.get("values")
    if b_values is not None and n_values is not None and len(b_values) == len(n_values):
        equal = sum(x == y for x, y in zip(b_values, n_values, strict=True))
        counts.equal += equal
        counts.different += len(b_values) - equal
    elif reference.get("fingerprint") == new.get("fingerprint"):
        counts.by_fingerprint_equal += 1
    else:
        counts.by_fingerprint_different += 1


def _arrays(
    cell: str, reference: Side, record: dict[str, Any], partners: list[tuple[Side, Any]], tolerance: Tolerance
) -> list[ArrayComparison]:
    found = []
    for name, encoded in sorted(record.get("values", {}).items()):
        kind = encoded.get("type")
        if kind not in {"array", "model"}:
            continue
        label = (
            f"value '{name}'"
            if kind == "array"
            else f"model '{name}' ({counted(len(encoded.get('weights', {})), 'weight')})"
        )
        all_counts, all_differences = [], []
        for side, partner in partners:
            other = (partner or {}).get("values", {}).get(name)
            if not isinstance(other, dict) or other.get("type") != kind:
                continue
            counts = ElementCounts(side.label)
            differences: list[np.ndarray] = []
            if kind == "array":
                _count_array(encoded, other, tolerance, counts, differences)
            else:
                weights, other_weights = encoded.get("weights", {}), other.get("weights", {})
                for path in sorted(weights):
                    if path in other_weights:
                        _count_array(weights[path], other_weights[path], tolerance, counts, differences)
                    else:
                        counts.by_fingerprint_different += 1
            all_counts.append(counts)
            if differences:
                all_differences.append((side.label, np.concatenate(differences)))
        if all_counts:
            found.append(ArrayComparison(cell, label, reference.label, all_counts, all_differences))
    return found


def notebook_section(result: NotebookVerification, tolerance: Tolerance) -> NotebookSection:
    sides = _sides(result)
    worst = worst_comparison(result.comparisons)
    section = NotebookSection(
        path=str(result.notebook),
        verdict=result.verdict,
        exit_status=result.exit_status,
        lines=format_verification(result, tolerance),
        seconds=sum(run.seconds for run in result.runs),
        runs=len(result.runs),
        cells_compared=worst.cells_compared if worst else 0,
        numbers_compared=worst.numbers_compared if worst else 0,
        sides=[side.label for side in sides],
    )
    failure = result.failure
    if failure is not None:
        where = "the start" if failure.cell_id is None else cell_label(failure.cell_number, failure.cell_id)
        where = failure.place or f"at {where}"
        section.failure = f"run {len(result.runs)} failed {where}: {failure.summary}"
    if sides:
        reference, others = sides[0], sides[1:]
        partners = _partners(reference, others)
        positions: dict[Any, int] = {cell.cell_id: cell.number for cell in result.code_cells if cell.cell_id}
        for record in reference.records.records:
            cell_id = record.get("cell_id")
            number = positions.get(cell_id, record.get("cell_number"))
            cell = cell_label(number, cell_id)
            mine = partners[record_key(record)]
            section.curves += _curves(cell, reference, record, mine, tolerance)
            section.arrays += _arrays(cell, reference, record, mine, tolerance)
        section.environment_labels, section.environment = environment_table(
            [
                (side.label, side.records.environment_of(side.records.records[0]))
                for side in sides
                if side.records.records
            ]
        )
    section.cells = result.cell_verdicts
    return section
