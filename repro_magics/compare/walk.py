"""Walk two encoded records side by side, stopping where they part: the core of every comparison."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..words import counted
from .agreement import DIVERGED, IDENTICAL, Tolerance, float_agreement
from .results import Comparison


class Parted(Exception):
    """Raised inside the walk over two records at the first place they part."""

    def __init__(self, where: str, baseline: Any, new: Any) -> None:
        super().__init__(where)
        self.where, self.baseline, self.new = where, baseline, new


def show_value(value: Any) -> str:
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


class Walker:
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
            raise Parted(where, b, n)
        absolute = abs(n - b)
        relative = absolute / abs(b) if b else math.inf
        self.comparison.inexact_matches += 1
        self.comparison.max_abs_difference = max(self.comparison.max_abs_difference, absolute)
        self.comparison.max_rel_difference = max(self.comparison.max_rel_difference, relative)

    def exact(self, baseline: Any, new: Any, where: str) -> None:
        if baseline != new:
            raise Parted(where, baseline, new)

    def history(self, baseline: dict[str, Any], new: dict[str, Any], where: str) -> None:
        if baseline.get("epochs") != new.get("epochs"):
            raise Parted(f"{where}, epochs", _epochs_text(baseline.get("epochs")), _epochs_text(new.get("epochs")))
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
                        raise Parted(here, show_value(b_value), show_value(n_value))
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
            raise Parted(
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
            raise Parted(where, _show_encoded(baseline), _show_encoded(new))
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
            raise Parted(f"{where}, {noun}s", ", ".join(missing) or "-", ", ".join(added) or "-")
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


def _epochs_text(epochs: Any) -> str:
    """Keras' 0-based `History.epoch` as Keras prints epochs, from 1: `3 epochs (1-3)`."""
    if not isinstance(epochs, list) or not all(isinstance(epoch, int) for epoch in epochs):
        return str(epochs)
    shown = [epoch + 1 for epoch in epochs]
    if not shown:
        return "no epochs"
    if len(shown) == 1:
        return f"1 epoch ({shown[0]})"
    if shown == list(range(shown[0], shown[-1] + 1)):
        return f"{counted(len(shown), 'epoch')} ({shown[0]}-{shown[-1]})"
    return f"{counted(len(shown), 'epoch')} {shown}"


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
