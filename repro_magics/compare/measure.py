"""How far two records lie apart (every number, not just the first that differs), and where training parts."""

from __future__ import annotations

import math
from typing import Any

from .agreement import Tolerance
from .results import Comparison, Spread, TrainingDivergence
from .walk import Parted, Walker, show_value


class _Measurer(Walker):
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
            raise Parted(where, b, n)
        absolute = abs(n - b)
        self.numbers_differing += 1
        self.max_abs = max(self.max_abs, absolute)
        self.max_rel = max(self.max_rel, absolute / abs(b) if b else (math.inf if absolute else 0.0))


def measure(baseline: dict[str, Any], new: dict[str, Any]) -> Spread:
    """The spread between two records of one cell (see `Spread`)."""
    measurer = _Measurer()
    try:
        measurer.record(baseline, new)
    except Parted as parted:
        return Spread(
            measurer.max_abs,
            measurer.max_rel,
            measurer.numbers_differing,
            measurable=False,
            not_a_number_change=f"{parted.where}: {show_value(parted.baseline)} vs {show_value(parted.new)}",
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
        except Parted as parted:
            change = f"{parted.where}: {show_value(parted.baseline)} vs {show_value(parted.new)}"
            parts[label] = Spread(measurer.max_abs, measurer.max_rel, measurer.numbers_differing, False, change)
        else:
            parts[label] = Spread(measurer.max_abs, measurer.max_rel, measurer.numbers_differing)
    return parts
