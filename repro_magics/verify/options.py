"""The options of a verification, and the checks of their values that every front door shares.

`repro-verify`'s flags, the pytest plugin's options and ini values, and the
JupyterLab server's request body all reach `VerifyOptions` through these
parsers, so a bad value gets the same sentence wherever it is given.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..compare.agreement import Tolerance
from ..compare.environment import backend_of
from ..exceptions import ArgumentError
from ..ledger.store import Ledger

#: The Keras backends `--backend` accepts.
KERAS_BACKENDS = ("tensorflow", "jax", "torch")


def parse_non_negative_float(text: str) -> float:
    """A tolerance or a timeout: a finite number of 0 or more, or `ArgumentError` saying why not."""
    try:
        value = float(text)
    except ValueError:
        raise ArgumentError(f"{text!r} is not a number") from None
    if not is_non_negative(value):
        raise ArgumentError(f"{text!r} must be a finite number of 0 or more")
    return value


def is_non_negative(value: float) -> bool:
    """The rule for a tolerance or a timeout, whoever gives it: a finite number of 0 or more."""
    return math.isfinite(value) and value >= 0


def non_negative_number(value: object) -> float:
    """A tolerance given as a number (JSON, an ini file), or `ArgumentError`; True and False are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentError(f"{value!r} is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the largest float, such as 10**400
        raise ArgumentError("the number is too large") from None
    if not is_non_negative(number):
        raise ArgumentError(f"{value!r} must be a finite number of 0 or more")
    return number


def is_run_count(value: object, most: int | None = None) -> bool:
    """The rule for a number of fresh runs, whoever gives it: a whole number of 1 or more (and at most `most`).

    True and False are not numbers, although Python counts them as ints.
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1 and (most is None or value <= most)


def parse_count(text: str) -> int:
    """A count on the command line (`--runs`, `-j`): a whole number of 1 or more, or `ArgumentError` saying why not."""
    try:
        value = int(text)
    except ValueError:
        raise ArgumentError(f"{text!r} is not a whole number") from None
    if not is_run_count(value):
        raise ArgumentError(f"{text!r} must be 1 or more")
    return value


def run_count(value: object, most: int, show: Callable[[str], str] = str) -> int:
    """A number of runs given as a value (a JSON request), capped at `most` by the caller's policy, or
    `ArgumentError`; `show` shortens the value's repr for the sentence."""
    if not is_run_count(value, most):
        raise ArgumentError(f"runs must be a whole number from 1 to {most}, got {show(repr(value))}")
    assert isinstance(value, int)
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
    #: The Keras backend to run on (`--backend`), over the ledger's and `KERAS_BACKEND`.
    backend: str | None = None
    #: Fingerprint each kernel's state after every cell, to find where runs that differ first parted.
    fingerprints: bool = True
    #: Run each fresh run in its own temporary copy of the notebook's folder.
    isolate: bool = False


def chosen_backend(
    options: VerifyOptions, ledger: Ledger | None, environment: Mapping[str, str] = os.environ
) -> tuple[str | None, str]:
    """The Keras backend to run a notebook on, and what chose it.

    `--backend` first (the user asked for it), then the backend the ledger
    was recorded on (so that a verification compares like with like), then
    `KERAS_BACKEND` of this process; else None: Keras' own default.
    """
    if options.backend:
        return options.backend, "--backend"
    recorded = backend_of(ledger.environment_of(ledger.records[0])) if ledger is not None and ledger.records else None
    if recorded:
        return recorded, "the ledger"
    if environment.get("KERAS_BACKEND"):
        return environment["KERAS_BACKEND"], "KERAS_BACKEND"
    return None, "Keras' default"


def backend_environment(options: VerifyOptions, ledger: Ledger | None) -> dict[str, str]:
    """The kernel's `KERAS_BACKEND`, as `chosen_backend` says; nothing for Keras' default."""
    backend, _ = chosen_backend(options, ledger)
    return {} if backend is None else {"KERAS_BACKEND": backend}
