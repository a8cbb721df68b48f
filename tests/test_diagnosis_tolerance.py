"""The tolerance a divergence would have needed, and what kind of change it looks like."""

from __future__ import annotations

import numpy as np
import pytest
from test_compare import cell, history, ledger

from repro_magics.compare.agreement import DIVERGED, WITHIN_TOLERANCE, Tolerance
from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.compare.tolerance import NOISE, REAL_CHANGE, UNCLEAR, advice_lines, advise, round_up
from repro_magics.ledger.values import encode_value


@pytest.mark.parametrize("value", [4.2e-7, 1e-7, 3.0000001e-12, 0.999, 1.0, 123456.0, 9.99e-5])
def test_when_a_difference_is_rounded_for_the_report_then_the_printed_number_still_covers_it(value: float) -> None:
    rounded = round_up(value)
    assert float(f"{rounded:.2g}") >= value
    assert rounded <= value * 1.11


def test_when_float32_losses_differ_by_an_ulp_then_the_advice_is_noise_and_its_rtol_accepts_every_number() -> None:
    losses = np.array([0.6931472, 0.5123, 0.4012], dtype=np.float32)
    nudged = np.nextafter(losses, np.float32(1.0))
    baseline = ledger(cell("a", 1, histories=[history([float(v) for v in losses], [0.5, 0.6, 0.7])]))
    new = ledger(cell("a", 1, histories=[history([float(v) for v in nudged], [0.5, 0.6, 0.7])]))
    comparison = compare_ledgers(baseline, new)
    assert comparison.verdict == DIVERGED
    spread = comparison.spread
    assert spread is not None and spread.numbers_differing == 3
    advice = advise(spread)
    assert advice.kind == NOISE
    assert advice.rtol is not None and advice.atol is not None
    assert compare_ledgers(baseline, new, Tolerance(rtol=advice.rtol)).verdict == WITHIN_TOLERANCE
    assert compare_ledgers(baseline, new, Tolerance(atol=advice.atol)).verdict == WITHIN_TOLERANCE
    assert compare_ledgers(baseline, new, Tolerance(rtol=advice.rtol / 2)).verdict == DIVERGED
    first, second = advice_lines(spread)
    assert first.endswith(f"would pass with --rtol {advice.rtol:.2g} or --atol {advice.atol:.2g}")
    assert "(3 numbers differ)" in first
    assert second.startswith("this looks like float-order noise: at most 1 float32 rounding step")


def test_when_a_later_number_differs_more_than_the_first_then_the_advice_covers_the_largest() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1.0), "y": encode_value(2.0)}))
    new = ledger(cell("a", 1, values={"x": encode_value(1.0 + 1e-9), "y": encode_value(2.5)}))
    comparison = compare_ledgers(baseline, new)
    assert comparison.first_difference is not None and comparison.first_difference.where == "value 'x'"
    spread = comparison.spread
    assert spread is not None and spread.max_abs == 0.5 and spread.max_rel == 0.25
    advice = advise(spread)
    assert (advice.kind, advice.rtol, advice.atol) == (REAL_CHANGE, 0.25, 0.5)
    assert compare_ledgers(baseline, new, Tolerance(rtol=advice.rtol)).verdict == WITHIN_TOLERANCE


def test_when_a_difference_is_a_few_parts_in_ten_thousand_then_noise_and_real_change_are_both_named() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1.0)}))
    new = ledger(cell("a", 1, values={"x": encode_value(1.0002)}))
    spread = compare_ledgers(baseline, new).spread
    assert spread is not None
    advice = advise(spread)
    assert advice.kind == UNCLEAR
    assert "noise grown over many training steps looks like this, and so does a small real change" in advice.explanation


def test_when_a_shape_differs_then_no_tolerance_is_offered_and_the_change_is_named() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(np.zeros(3))}))
    new = ledger(cell("a", 1, values={"x": encode_value(np.zeros(4))}))
    spread = compare_ledgers(baseline, new).spread
    assert spread is not None and not spread.measurable
    lines = advice_lines(spread)
    assert lines == [
        "this looks like a real change: not only numbers differ (value 'x', shape: [3] vs [4]), "
        "and no tolerance accepts that"
    ]


def test_when_a_baseline_is_zero_then_only_atol_is_offered() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(0.0)}))
    new = ledger(cell("a", 1, values={"x": encode_value(1e-8)}))
    spread = compare_ledgers(baseline, new).spread
    assert spread is not None
    advice = advise(spread)
    assert advice.rtol is None and advice.atol == 1e-8
    assert advice_lines(spread)[0].endswith("would pass with --atol 1e-08")
