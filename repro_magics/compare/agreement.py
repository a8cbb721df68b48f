"""The tolerance rule: when two recorded numbers agree, bit for bit or within rtol and atol."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

IDENTICAL = "identical"


WITHIN_TOLERANCE = "within tolerance"


DIVERGED = "diverged"


#: A cell whose records hold no value and no training history: there was nothing to compare.
NOTHING_RECORDED = "nothing recorded"


@dataclass(frozen=True)
class Tolerance:
    """`new` matches `baseline` when |new - baseline| <= atol + rtol * |baseline|; NaN matches NaN."""

    rtol: float = 0.0
    atol: float = 0.0

    @property
    def bitwise(self) -> bool:
        return self.rtol == 0 and self.atol == 0


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


def elements_agreement(baseline: np.ndarray, new: np.ndarray, tolerance: Tolerance) -> tuple[np.ndarray, np.ndarray]:
    """`float_agreement` for each element of two float arrays of one shape: (identical, within tolerance) masks."""
    # Equal bits (NaN with NaN), else within atol + rtol * |baseline|.
    same = ((baseline == new) & (np.signbit(baseline) == np.signbit(new))) | (np.isnan(baseline) & np.isnan(new))
    finite = np.isfinite(baseline) & np.isfinite(new)
    close = np.zeros_like(same)
    if not tolerance.bitwise:
        close = ~same & finite & (np.abs(new - baseline) <= tolerance.atol + tolerance.rtol * np.abs(baseline))
    return same, close


def first_parting(baseline: list[Any], new: list[Any], tolerance: Tolerance) -> int | None:
    """The first position where two per-epoch value lists part under `tolerance` (None when they never do)."""
    for position, (b, n) in enumerate(zip(baseline, new, strict=False)):
        if isinstance(b, dict) or isinstance(n, dict):
            if b != n:
                return position
        elif float_agreement(b, n, tolerance) == DIVERGED:
            return position
    return None if len(baseline) == len(new) else min(len(baseline), len(new))
