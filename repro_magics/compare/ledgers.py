"""Compare two sets of records cell by cell, epoch by epoch, metric by metric."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ledger.store import Ledger, record_key

IDENTICAL = "identical"
WITHIN_TOLERANCE = "within tolerance"
DIVERGED = "diverged"


@dataclass(frozen=True)
class Tolerance:
    """`new` matches `baseline` when |new - baseline| <= atol + rtol * |baseline|; NaN matches NaN."""

    rtol: float = 0.0
    atol: float = 0.0

    @property
    def bitwise(self) -> bool:
        return self.rtol == 0 and self.atol == 0


@dataclass(frozen=True)
class Spread:
    """How far apart one cell's records lie: every number walked, none stopping the walk.

    `measurable` is False when something other than a finite number differs (a
    name, a shape, an integer, a NaN, an array stored only by fingerprint): no
    tolerance accepts that, and `not_a_number_change` says where it is.
    """

    max_abs: float = 0.0
    max_rel: float = 0.0
    numbers_differing: int = 0
    measurable: bool = True
    not_a_number_change: str | None = None


@dataclass(frozen=True)
class TrainingDivergence:
    """Where a cell's training first parts: the first epoch whose weights differ, and the first whose metrics do.

    Epochs count from 1, as Keras prints them. Metrics are compared by their
    bits here, whatever the tolerance: this says where training parts, not
    whether the parting matters.
    """

    #: Which captured `fit` of the cell, from 1.
    history: int
    #: Both sides fingerprinted the weights per epoch (ledgers from before that don't).
    weights_recorded: bool
    #: The epoch after which the weights first differ; 0 when they differ before the first; None when they never do.
    weights_first_differ_after: int | None
    metric: str | None = None
    metric_first_differs_at: int | None = None


@dataclass(frozen=True)
class Difference:
    """Where one cell's records first part, and the two values there."""

    cell_key: str
    cell_id: str | None
    cell_number: int | None
    source_first_line: str
    where: str
    baseline: str
    new: str
    source_changed: bool = False
    #: The spread of all this cell's numbers, for the tolerance that would accept them.
    spread: Spread | None = None
    #: Where its training first parts, when a captured `fit` differs.
    training: TrainingDivergence | None = None


@dataclass
class Comparison:
    """The outcome of comparing a baseline's records with a new run's."""

    baseline_label: str
    new_label: str
    cells_compared: int = 0
    numbers_compared: int = 0
    #: Numbers that differ in their bits but lie within the tolerance.
    inexact_matches: int = 0
    max_abs_difference: float = 0.0
    max_rel_difference: float = 0.0
    differences: list[Difference] = field(default_factory=list)
    environment_changes: list[tuple[str, str, str]] = field(default_factory=list)
    environment_compared: bool = False

    @property
    def verdict(self) -> str:
        if self.differences:
            return DIVERGED
        return WITHIN_TOLERANCE if self.inexact_matches else IDENTICAL

    @property
    def first_difference(self) -> Difference | None:
        return self.differences[0] if self.differences else None

    @property
    def spread(self) -> Spread | None:
        """The spread over every cell that differs, or None when none does."""
        spreads = [difference.spread for difference in self.differences]
        if not spreads or any(spread is None for spread in spreads):
            return None
        return merge_spreads([spread for spread in spreads if spread is not None])


def merge_spreads(spreads: list[Spread]) -> Spread:
    """One spread covering several: the largest differences, the first change no tolerance accepts."""
    unmeasurable = next((spread for spread in spreads if not spread.measurable), None)
    return Spread(
        max_abs=max((spread.max_abs for spread in spreads), default=0.0),
        max_rel=max((spread.max_rel for spread in spreads), default=0.0),
        numbers_differing=sum(spread.numbers_differing for spread in spreads),
        measurable=unmeasurable is None,
        not_a_number_change=unmeasurable.not_a_number_change if unmeasurable else None,
    )


class _Parted(Exception):
    """Raised inside the walk over two records at the first place they part."""

    def __init__(self, where: str, baseline: Any, new: Any) -> None:
        super().__init__(where)
        self.where, self.baseline, self.new = where, baseline, new


def _show(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict) and "type" in value:
        return _show_encoded(value)
    return str(value)


def _show_encoded(encoded: dict[str, Any]) -> str:
    kind = encoded.get("type")
    if kind in {"int", "float", "bool", "str", "complex"}:
        return repr(encoded.get("value"))
    if kind == "array":
        return f"array {encoded.get('dtype')} {tuple(encoded.get('shape', ()))}"
    if kind == "unsupported":
        return f"a {encoded.get('python_type')} (not recorded)"
    return str(kind)


def float_agreement(baseline: Any, new: Any, tolerance: Tolerance) -> str:
    """IDENTICAL, WITHIN_TOLERANCE or DIVERGED: how two encoded floats compare under `tolerance`."""
    # Encoded floats are equal exactly when their bits are.
    if baseline == new:
        return IDENTICAL
    b, n = float(baseline), float(new)
    if tolerance.bitwise:
        return DIVERGED
    if math.isnan(b) or math.isnan(n) or math.isinf(b) or math.isinf(n):
        return IDENTICAL if (math.isnan(b) and math.isnan(n)) or b == n else DIVERGED
    return WITHIN_TOLERANCE if abs(n - b) <= tolerance.atol + tolerance.rtol * abs(b) else DIVERGED


class _Walker:
    """Walks two encoded records side by side, counting and measuring the numbers it meets."""

    def __init__(self, tolerance: Tolerance, comparison: Comparison) -> None:
        self.tolerance = tolerance
        self.comparison = comparison

    def floats(self, baseline: Any, new: Any, where: str) -> None:
        agreement = float_agreement(baseline, new, self.tolerance)
        if agreement == IDENTICAL:
            return
        b, n = float(baseline), float(new)
        if agreement == DIVERGED:
            raise _Parted(where, b, n)
        absolute = abs(n - b)
        relative = absolute / abs(b) if b else math.inf
        self.comparison.inexact_matches += 1
        self.comparison.max_abs_difference = max(self.comparison.max_abs_difference, absolute)
        self.comparison.max_rel_difference = max(self.comparison.max_rel_difference, relative)

    def exact(self, baseline: Any, new: Any, where: str) -> None:
        if baseline != new:
            raise _Parted(where, baseline, new)

    def history(self, baseline: dict[str, Any], new: dict[str, Any], where: str) -> None:
        if baseline.get("epochs") != new.get("epochs"):
            raise _Parted(f"{where}, epochs", _epochs_text(baseline.get("epochs")), _epochs_text(new.get("epochs")))
        b_metrics, n_metrics = baseline.get("metrics", {}), new.get("metrics", {})
        self.exact(sorted(b_metrics), sorted(n_metrics), f"{where}, metric names")
        epochs = baseline.get("epochs") or list(range(max(map(len, b_metrics.values()), default=0)))
        # Epoch first, then metric: the earliest point in training where they part.
        for position, epoch in enumerate(epochs):
            for metric in sorted(b_metrics):
                b_values, n_values = b_metrics[metric], n_metrics[metric]
                here = f"{where}, metric '{metric}', epoch {epoch + 1}"
                if position >= len(b_values) or position >= len(n_values):
                    self.exact(len(b_values), len(n_values), f"{where}, metric '{metric}', number of epochs")
                    continue
                b_value, n_value = b_values[position], n_values[position]
                if isinstance(b_value, dict) or isinstance(n_value, dict):
                    if not (isinstance(b_value, dict) and isinstance(n_value, dict)):
                        raise _Parted(here, _show(b_value), _show(n_value))
                    self.encoded(b_value, n_value, here)
                else:
                    self.floats(b_value, n_value, here)

    def array(self, baseline: dict[str, Any], new: dict[str, Any], where: str) -> None:
        self.exact(baseline.get("dtype"), new.get("dtype"), f"{where}, dtype")
        self.exact(baseline.get("shape"), new.get("shape"), f"{where}, shape")
        if baseline.get("fingerprint") == new.get("fingerprint") and "values" not in baseline:
            return
        b_values, n_values = baseline.get("values"), new.get("values")
        if b_values is None or n_values is None:
            raise _Parted(
                f"{where} (too large to store, compared by fingerprint)",
                _summary(baseline),
                _summary(new),
            )
        shape = tuple(baseline.get("shape") or ())
        dtype = str(baseline.get("dtype", ""))
        for index, (b, n) in enumerate(zip(b_values, n_values, strict=False)):
            element = np.unravel_index(index, shape) if shape else ()
            here = f"{where}, element {list(map(int, element))}"
            if dtype.startswith("complex"):
                self.complex(b, n, here)
            elif dtype.startswith(("float", "bfloat")):
                self.floats(b, n, here)
            else:
                self.exact(b, n, here)

    def complex(self, baseline: list[Any], new: list[Any], where: str) -> None:
        self.floats(baseline[0], new[0], f"{where} (real part)")
        self.floats(baseline[1], new[1], f"{where} (imaginary part)")

    def encoded(self, baseline: dict[str, Any], new: dict[str, Any], where: str) -> None:
        if baseline == new:
            return
        kind = baseline.get("type")
        if kind != new.get("type"):
            raise _Parted(where, _show_encoded(baseline), _show_encoded(new))
        if kind == "float":
            self.floats(baseline["value"], new["value"], where)
        elif kind == "complex":
            self.complex(baseline["value"], new["value"], where)
        elif kind == "array":
            self.array(baseline, new, where)
        elif kind == "history":
            self.history(baseline, new, where)
        elif kind == "list":
            b_items, n_items = baseline["items"], new["items"]
            self.exact(len(b_items), len(n_items), f"{where}, length")
            for index, (b, n) in enumerate(zip(b_items, n_items, strict=True)):
                self.encoded(b, n, f"{where}[{index}]")
        elif kind == "dict":
            self._mapping(baseline["items"], new["items"], where, "key", lambda key: f"{where}[{key!r}]")
        elif kind == "model":
            self.exact(baseline.get("class"), new.get("class"), f"{where}, class")
            self._mapping(baseline["weights"], new["weights"], where, "weight", lambda key: f"{where}, weight '{key}'")
        else:
            self.exact(_show_encoded(baseline), _show_encoded(new), where)

    def _mapping(self, baseline: dict[str, Any], new: dict[str, Any], where: str, noun: str, label: Any) -> None:
        missing = sorted(set(baseline) - set(new))
        added = sorted(set(new) - set(baseline))
        if missing or added:
            raise _Parted(f"{where}, {noun}s", ", ".join(missing) or "-", ", ".join(added) or "-")
        for key in sorted(baseline):
            self.encoded(baseline[key], new[key], label(key))

    def record(self, baseline: dict[str, Any], new: dict[str, Any]) -> None:
        self.exact(baseline.get("seed"), new.get("seed"), "seed")
        b_histories, n_histories = baseline.get("histories", []), new.get("histories", [])
        self.exact(len(b_histories), len(n_histories), "number of training histories")
        for number, (b, n) in enumerate(zip(b_histories, n_histories, strict=True), start=1):
            self.comparison.numbers_compared += _count_numbers(b)
            self.history(b, n, f"history {number}")
        b_values, n_values = baseline.get("values", {}), new.get("values", {})
        self.exact(sorted(b_values), sorted(n_values), "recorded names")
        for name in sorted(b_values):
            self.comparison.numbers_compared += _count_numbers(b_values[name])
            self.encoded(b_values[name], n_values[name], f"value '{name}'")


class _Measurer(_Walker):
    """Walks two records to the end, measuring every finite number that differs instead of stopping there."""

    def __init__(self) -> None:
        super().__init__(Tolerance(), Comparison("", ""))
        self.max_abs = self.max_rel = 0.0
        self.numbers_differing = 0

    def floats(self, baseline: Any, new: Any, where: str) -> None:
        if baseline == new:
            return
        b, n = float(baseline), float(new)
        if not (math.isfinite(b) and math.isfinite(n)):
            if (math.isnan(b) and math.isnan(n)) or b == n:
                return
            raise _Parted(where, b, n)
        absolute = abs(n - b)
        self.numbers_differing += 1
        self.max_abs = max(self.max_abs, absolute)
        self.max_rel = max(self.max_rel, absolute / abs(b) if b else (math.inf if absolute else 0.0))


def measure(baseline: dict[str, Any], new: dict[str, Any]) -> Spread:
    """The spread between two records of one cell (see `Spread`)."""
    measurer = _Measurer()
    try:
        measurer.record(baseline, new)
    except _Parted as parted:
        return Spread(
            measurer.max_abs,
            measurer.max_rel,
            measurer.numbers_differing,
            measurable=False,
            not_a_number_change=f"{parted.where}: {_show(parted.baseline)} vs {_show(parted.new)}",
        )
    return Spread(measurer.max_abs, measurer.max_rel, measurer.numbers_differing)


def _first_metric_difference(baseline: dict[str, Any], new: dict[str, Any]) -> tuple[int | None, str | None]:
    b_metrics, n_metrics = baseline.get("metrics") or {}, new.get("metrics") or {}
    epochs = baseline.get("epochs") or []
    for position, epoch in enumerate(epochs):
        for metric in sorted(set(b_metrics) | set(n_metrics)):
            b_values, n_values = b_metrics.get(metric) or [], n_metrics.get(metric) or []
            b_value = b_values[position] if position < len(b_values) else None
            n_value = n_values[position] if position < len(n_values) else None
            if b_value != n_value:  # encoded floats are equal exactly when their bits are
                return int(epoch) + 1, metric
    return None, None


def _first_weights_difference(baseline: dict[str, Any], new: dict[str, Any]) -> int | None:
    def known_and_different(b: Any, n: Any) -> bool:
        return b is not None and n is not None and b != n

    if known_and_different(baseline.get("initial_weight_fingerprint"), new.get("initial_weight_fingerprint")):
        return 0
    epochs = baseline.get("epochs") or []
    pairs = zip(baseline["weight_fingerprints"], new["weight_fingerprints"], strict=False)
    for epoch, (b, n) in zip(epochs, pairs, strict=False):
        if known_and_different(b, n):
            return int(epoch) + 1
    return None


def training_divergence(baseline: dict[str, Any], new: dict[str, Any]) -> TrainingDivergence | None:
    """Where the first captured `fit` that differs between two records of a cell parts; None if none differs."""
    pairs = zip(baseline.get("histories") or [], new.get("histories") or [], strict=False)
    for number, (b_history, n_history) in enumerate(pairs, start=1):
        if not all(isinstance(h, dict) and h.get("type") == "history" for h in (b_history, n_history)):
            continue
        if b_history.get("epochs") != n_history.get("epochs"):
            continue
        metric_epoch, metric = _first_metric_difference(b_history, n_history)
        recorded = all("weight_fingerprints" in history for history in (b_history, n_history))
        weights_epoch = _first_weights_difference(b_history, n_history) if recorded else None
        if metric_epoch is not None or weights_epoch is not None:
            return TrainingDivergence(number, recorded, weights_epoch, metric, metric_epoch)
    return None


def measure_parts(baseline: dict[str, Any], new: dict[str, Any]) -> dict[str, Spread]:
    """The spread of each metric of each captured `fit` and of each recorded value of two records of a cell."""
    pairs: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    histories = zip(baseline.get("histories") or [], new.get("histories") or [], strict=False)
    for number, (b_history, n_history) in enumerate(histories, start=1):
        for metric in sorted(set(b_history.get("metrics") or {}) | set(n_history.get("metrics") or {})):
            pairs[f"history {number}, metric '{metric}'"] = (
                {**b_history, "metrics": {metric: (b_history.get("metrics") or {}).get(metric, [])}},
                {**n_history, "metrics": {metric: (n_history.get("metrics") or {}).get(metric, [])}},
            )
    b_values, n_values = baseline.get("values") or {}, new.get("values") or {}
    for name in sorted(set(b_values) | set(n_values)):
        pairs[f"value '{name}'"] = (b_values.get(name) or {}, n_values.get(name) or {})
    parts: dict[str, Spread] = {}
    for label, (b_part, n_part) in pairs.items():
        measurer = _Measurer()
        try:
            measurer.encoded(b_part, n_part, label)
        except _Parted as parted:
            change = f"{parted.where}: {_show(parted.baseline)} vs {_show(parted.new)}"
            parts[label] = Spread(measurer.max_abs, measurer.max_rel, measurer.numbers_differing, False, change)
        else:
            parts[label] = Spread(measurer.max_abs, measurer.max_rel, measurer.numbers_differing)
    return parts


def _epochs_text(epochs: Any) -> str:
    """Keras' 0-based `History.epoch` as Keras prints epochs, from 1: `3 epochs (1-3)`."""
    if not isinstance(epochs, list) or not all(isinstance(epoch, int) for epoch in epochs):
        return str(epochs)
    shown = [epoch + 1 for epoch in epochs]
    if not shown:
        return "no epochs"
    noun = "epoch" if len(shown) == 1 else "epochs"
    if shown == list(range(shown[0], shown[-1] + 1)):
        return f"{len(shown)} {noun} ({shown[0]}-{shown[-1]})" if len(shown) > 1 else f"1 epoch ({shown[0]})"
    return f"{len(shown)} {noun} {shown}"


def _summary(encoded: dict[str, Any]) -> str:
    summary = encoded.get("summary") or {}
    integral = not str(encoded.get("dtype", "")).startswith(("float", "bfloat", "complex"))

    def shown(key: str) -> str:
        value = summary[key]
        # Ledgers written before integer summaries were stored as integers hold `263.0` for 263.
        if integral and key != "mean" and isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    parts = [f"{key} {shown(key)}" for key in ("min", "max", "mean") if key in summary]
    return f"fingerprint {str(encoded.get('fingerprint'))[:12]}" + (f" ({', '.join(parts)})" if parts else "")


def _count_numbers(encoded: Any) -> int:
    if isinstance(encoded, dict):
        kind = encoded.get("type")
        if kind in {"float", "int", "bool", "complex"}:
            return 1
        if kind == "array":
            return len(encoded.get("values") or [None])
        if kind == "history":
            return sum(len(values) for values in encoded.get("metrics", {}).values())
        return sum(_count_numbers(item) for item in encoded.values() if isinstance(item, (dict, list)))
    if isinstance(encoded, list):
        return sum(_count_numbers(item) for item in encoded)
    return 0


def values_checked(ledger: Ledger) -> int:
    """How many training histories and recorded values a ledger holds that a comparison checks.

    A value recorded as `missing` or `unsupported` is compared by its type
    alone, and the seed is the one written on the cell: neither checks a result.
    """
    unchecked = {"missing", "unsupported"}
    return sum(
        len(record.get("histories", []))
        + sum(value.get("type") not in unchecked for value in record.get("values", {}).values())
        for record in ledger.records
    )


def _flatten(mapping: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in sorted(mapping.items()):
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def flat_environment(environment: dict[str, Any]) -> dict[str, Any]:
    """An environment's facts by dotted name (`packages.keras`), sorted."""
    return dict(_flatten(environment))


def environment_changes(baseline: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, baseline value, new value) for each environment fact that differs."""
    b_flat, n_flat = flat_environment(baseline), flat_environment(new)
    return [
        (name, str(b_flat.get(name, "unset")), str(n_flat.get(name, "unset")))
        for name in sorted(set(b_flat) | set(n_flat))
        if b_flat.get(name) != n_flat.get(name)
    ]


Pair = tuple[dict[str, Any] | None, dict[str, Any] | None]


def pair_records(baseline: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Pair]:
    """Match records of the same cell: by cell id, else by identical source.

    Front ends that send no cell id (an IPython console, nbconvert,
    papermill) key their records by source, so a ledger they wrote still
    pairs with `repro-verify`'s records, which carry ids.
    """
    unmatched_new = {record_key(record): record for record in new}
    pairs: list[Pair] = []
    unmatched_baseline = []
    for record in baseline:
        partner = unmatched_new.pop(record_key(record), None)
        if partner is None:
            unmatched_baseline.append(record)
        else:
            pairs.append((record, partner))
    by_source: dict[Any, list[str]] = {}
    for key, record in unmatched_new.items():
        by_source.setdefault(record.get("source_hash"), []).append(key)
    # Records of cells that share a source pair in the order they ran.
    for record in sorted(unmatched_baseline, key=lambda r: r.get("occurrence") or 1):
        keys = by_source.get(record.get("source_hash")) if record.get("source_hash") else None
        pairs.append((record, unmatched_new.pop(keys.pop(0)) if keys else None))
    pairs.extend((None, record) for record in unmatched_new.values())
    return pairs


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
    walker = _Walker(tolerance, comparison)

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

    environment_checked = False
    for b_record, n_record in sorted(pair_records(baseline.records, new.records), key=order):
        any_record = n_record or b_record
        assert any_record is not None
        number, line = place((b_record, n_record))
        try:
            if b_record is None:
                raise _Parted("record", f"none (not in {_in(baseline_label)})", "recorded")
            if n_record is None:
                raise _Parted("record", "recorded", f"none (the cell recorded nothing in {_in(new_label)})")
            comparison.cells_compared += 1
            walker.tolerance = (cell_tolerances or {}).get(record_key(b_record), tolerance)
            walker.record(b_record, n_record)
        except _Parted as parted:
            changed = bool(b_record and n_record and b_record.get("source_hash") != n_record.get("source_hash"))
            comparison.differences.append(
                Difference(
                    cell_key=record_key(any_record),
                    cell_id=any_record.get("cell_id"),
                    cell_number=number,
                    source_first_line=line,
                    where=parted.where,
                    baseline=_show(parted.baseline),
                    new=_show(parted.new),
                    source_changed=changed,
                    spread=(
                        measure(b_record, n_record)
                        if b_record is not None and n_record is not None
                        else Spread(measurable=False, not_a_number_change=f"a record is {_show(parted.new)}")
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
