"""The tolerance rule: when two recorded numbers agree, bit for bit or within rtol and atol."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

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
