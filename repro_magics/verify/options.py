"""The options of a verification, and the checks of their values that every front door shares.

`repro-verify`'s flags, the pytest plugin's options and ini values, and the
JupyterLab server's request body all reach `VerifyOptions` through these
parsers, so a bad value gets the same sentence wherever it is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..compare.agreement import Tolerance
from ..exceptions import ArgumentError


def parse_non_negative_float(text: str) -> float:
    """A tolerance or a timeout: a finite number of 0 or more, or `ArgumentError` saying why not."""
    try:
        value = float(text)
    except ValueError:
        raise ArgumentError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ArgumentError(f"{text!r} must be a finite number of 0 or more")
    return value


@dataclass
class VerifyOptions:
    runs: int | None = None
    update: bool = False
    baseline: Path | None = None
    tolerance: Tolerance = field(default_factory=Tolerance)
    timeout: float | None = 600
    kernel_name: str | None = None
    #: Treat a notebook whose cells recorded no value to compare as a failure (exit status 5).
    require_records: bool = False
