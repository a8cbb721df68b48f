"""The smallest `--rtol` / `--atol` that would accept a divergence, and whether it looks like noise."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..ledger.values import json_float
from ..words import agreeing, counted
from .results import Spread

#: float32's unit roundoff step (machine epsilon): the arithmetic Keras trains in.
FLOAT32_EPSILON = 2.0**-23
#: Up to this many float32 steps, relative: what adding the same numbers in another order gives.
NOISE_STEPS = 64
#: Up to this relative size a difference may still be noise grown over many training steps.
UNCLEAR_RELATIVE = 1e-3

NOISE = "float-order noise"
UNCLEAR = "noise or a small real change"
REAL_CHANGE = "a real change"


def round_up(value: float, digits: int = 2) -> float:
    """`value` rounded up to `digits` significant digits, so that it still covers `value` when printed."""
    if value <= 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(value)) - (digits - 1)
    rounded = float(f"{math.ceil(value / 10.0**exponent) * 10.0**exponent:.{digits}g}")
    while rounded < value:  # a power of ten that float division nudged down
        rounded = float(f"{rounded + 10.0**exponent:.{digits}g}")
    return rounded


@dataclass(frozen=True)
class Advice:
    """What a divergence's spread says: the tolerance that would accept it, and what kind of change it is."""

    kind: str
    #: The smallest --rtol (with --atol 0) that accepts every number; None when none can (a baseline of 0).
    rtol: float | None
    #: The smallest --atol (with --rtol 0) that accepts every number.
    atol: float | None
    explanation: str


def advise(spread: Spread) -> Advice:
    if not spread.measurable:
        return Advice(
            REAL_CHANGE,
            None,
            None,
            f"not only numbers differ ({spread.not_a_number_change}), and no tolerance accepts that",
        )
    atol = round_up(spread.max_abs) if spread.max_abs > 0 else 5e-324
    rtol = round_up(spread.max_rel) if math.isfinite(spread.max_rel) and spread.max_rel > 0 else None
    if spread.max_rel <= NOISE_STEPS * FLOAT32_EPSILON:
        steps = max(1, math.ceil(spread.max_rel / FLOAT32_EPSILON))
        return Advice(
            NOISE,
            rtol,
            atol,
            f"at most {counted(steps, 'float32 rounding step')}, relative: "
            "the size that adding the same numbers in another order gives",
        )
    if spread.max_rel <= UNCLEAR_RELATIVE:
        return Advice(
            UNCLEAR,
            rtol,
            atol,
            f"up to {spread.max_rel:.2g} relative: more than a few float32 rounding steps; noise grown over "
            "many training steps looks like this, and so does a small real change",
        )
    relative = "a baseline of 0 moved" if rtol is None else f"up to {spread.max_rel:.2g} relative"
    return Advice(REAL_CHANGE, rtol, atol, f"{relative}: far more than float rounding makes")


def _tolerance_options(advice: Advice) -> str:
    options = [f"--rtol {advice.rtol:.2g}"] if advice.rtol is not None else []
    if advice.atol is not None:
        options.append(f"--atol {advice.atol:.2g}")
    return " or ".join(options)


def advice_lines(spread: Spread) -> list[str]:
    """Two report lines: the largest differences with the options that accept them, and the kind of change."""
    advice = advise(spread)
    lines = []
    if spread.numbers_differing:
        measured = (
            f"largest differences: {spread.max_abs:.3g} absolute, {spread.max_rel:.3g} relative "
            f"({counted(spread.numbers_differing, 'number')} {agreeing(spread.numbers_differing, 'differs', 'differ')})"
        )
        options = _tolerance_options(advice)
        lines.append(f"{measured}; would pass with {options}" if options else measured)
    lines.append(f"this looks like {advice.kind}: {advice.explanation}")
    return lines


def advice_json(spread: Spread) -> dict[str, Any]:
    advice = advise(spread)
    return {
        "max_abs_difference": json_float(spread.max_abs),
        "max_rel_difference": json_float(spread.max_rel),
        "numbers_differing": spread.numbers_differing,
        "only_numbers_differ": spread.measurable,
        "not_a_number_change": spread.not_a_number_change,
        "would_pass_with": None if advice.atol is None else {"rtol": advice.rtol, "atol": advice.atol},
        "looks_like": advice.kind,
        "explanation": advice.explanation,
    }
