"""Comparing records: verdicts, tolerances, and naming the first place they part."""

from __future__ import annotations

import math
from typing import Any

from repro_magics.compare.agreement import DIVERGED, IDENTICAL, NOTHING_RECORDED, WITHIN_TOLERANCE, Tolerance
from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.ledger.store import Ledger
from repro_magics.ledger.values import encode_value

ENVIRONMENT = {"packages": {"tensorflow": "2.21.0"}, "python": "3.11.7"}


def history(loss: list[float], accuracy: list[float]) -> dict[str, Any]:
    return {"type": "history", "epochs": list(range(len(loss))), "metrics": {"accuracy": accuracy, "loss": loss}}


def ledger(*records: dict[str, Any], environment: dict[str, Any] = ENVIRONMENT) -> Ledger:
    result = Ledger()
    for record in records:
        result = result.with_record(record, environment)
    return result


def cell(cell_id: str, number: int, **fields: Any) -> dict[str, Any]:
    return {
        "cell_id": cell_id,
        "cell_number": number,
        "seed": 1,
        "source_first_line": f"line {number}",
        "histories": [],
        "values": {},
        **fields,
    }


def test_when_records_are_equal_then_identical_and_numbers_are_counted() -> None:
    baseline = ledger(cell("a", 1, histories=[history([0.5, 0.4], [0.6, 0.7])]))
    comparison = compare_ledgers(baseline, ledger(*baseline.records))
    assert comparison.verdict == IDENTICAL
    assert comparison.cells_compared == 1
    assert comparison.numbers_compared == 4


def test_when_a_value_differs_by_1e_12_then_diverged_by_default_and_within_tolerance_with_atol() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1.0)}))
    new = ledger(cell("a", 1, values={"x": encode_value(1.0 + 1e-12)}))
    strict = compare_ledgers(baseline, new)
    assert strict.verdict == DIVERGED
    assert strict.first_difference is not None
    assert strict.first_difference.where == "value 'x'"
    assert strict.first_difference.baseline == "1.0"
    assert strict.first_difference.new == repr(1.0 + 1e-12)
    loose = compare_ledgers(baseline, new, Tolerance(atol=1e-9))
    assert loose.verdict == WITHIN_TOLERANCE
    assert math.isclose(loose.max_abs_difference, 1e-12, rel_tol=1e-3)


def test_when_relative_tolerance_is_given_then_it_scales_with_the_baseline() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1000.0)}))
    new = ledger(cell("a", 1, values={"x": encode_value(1000.001)}))
    assert compare_ledgers(baseline, new, Tolerance(rtol=1e-6)).verdict == WITHIN_TOLERANCE
    assert compare_ledgers(baseline, new, Tolerance(rtol=1e-7)).verdict == DIVERGED


def test_when_both_are_nan_then_they_match_and_nan_against_a_number_does_not() -> None:
    nan = ledger(cell("a", 1, values={"x": encode_value(math.nan)}))
    assert compare_ledgers(nan, ledger(*nan.records)).verdict == IDENTICAL
    one = ledger(cell("a", 1, values={"x": encode_value(1.0)}))
    assert compare_ledgers(nan, one, Tolerance(atol=1e9)).verdict == DIVERGED


def test_when_training_parts_then_the_earliest_epoch_and_its_metric_are_named() -> None:
    baseline = ledger(cell("a", 1, histories=[history([0.5, 0.4, 0.3], [0.1, 0.2, 0.3])]))
    new = ledger(cell("a", 1, histories=[history([0.5, 0.4, 0.31], [0.1, 0.25, 0.3])]))
    difference = compare_ledgers(baseline, new).first_difference
    assert difference is not None
    assert difference.where == "history 1, metric 'accuracy', epoch 2"
    assert (difference.baseline, difference.new) == ("0.2", "0.25")


def test_when_several_cells_differ_then_the_first_in_notebook_order_leads_and_others_are_listed() -> None:
    baseline = ledger(*(cell(c, n, values={"v": encode_value(float(n))}) for c, n in [("z", 3), ("y", 2), ("x", 1)]))
    new = ledger(
        cell("x", 1, values={"v": encode_value(1.0)}),
        cell("y", 2, values={"v": encode_value(9.0)}),
        cell("z", 3, values={"v": encode_value(9.0)}),
    )
    comparison = compare_ledgers(baseline, new)
    assert [d.cell_number for d in comparison.differences] == [2, 3]
    assert comparison.first_difference is not None and comparison.first_difference.cell_id == "y"


def test_when_an_array_element_differs_then_its_index_is_named() -> None:
    import numpy as np

    values = np.zeros((2, 3), dtype=np.float32)
    changed = values.copy()
    changed[1, 2] = 0.5
    baseline = ledger(cell("a", 1, values={"w": encode_value(values)}))
    difference = compare_ledgers(baseline, ledger(cell("a", 1, values={"w": encode_value(changed)}))).first_difference
    assert difference is not None and difference.where == "value 'w', element [1, 2]"


def test_when_a_cell_recorded_nothing_in_the_new_run_then_that_is_a_difference() -> None:
    baseline = ledger(cell("a", 1), cell("b", 2))
    difference = compare_ledgers(baseline, ledger(cell("a", 1))).first_difference
    assert difference is not None and difference.cell_id == "b" and difference.where == "record"


def test_when_the_environment_changed_then_the_changed_facts_are_listed() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1.0)}))
    new = ledger(
        cell("a", 1, values={"x": encode_value(2.0)}),
        environment={"packages": {"tensorflow": "2.20.0"}, "python": "3.11.7"},
    )
    assert compare_ledgers(baseline, new).environment_changes == [("packages.tensorflow", "2.21.0", "2.20.0")]


def test_when_positions_come_from_the_notebook_then_they_win_over_the_recorded_ones() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1.0)}))
    new = ledger(cell("a", 1, values={"x": encode_value(2.0)}))
    difference = compare_ledgers(baseline, new, positions={"a": (4, "x = 2")}).first_difference
    assert difference is not None and (difference.cell_number, difference.source_first_line) == (4, "x = 2")


def test_every_number_compared_is_counted_once_whatever_its_kind() -> None:
    import numpy as np

    values = {
        "i": encode_value(3),
        "f": encode_value(0.5),
        "l": encode_value([1, 2.5, True]),
        "a": encode_value(np.arange(4.0)),
    }
    baseline = ledger(cell("a", 1, histories=[history([0.5, 0.4], [0.6, 0.7])], values=values))
    new = ledger(cell("a", 1, histories=[history([0.5, 0.4], [0.6, 0.7])], values={**values, "f": encode_value(0.25)}))
    assert compare_ledgers(baseline, ledger(*baseline.records)).numbers_compared == 4 + 1 + 1 + 3 + 4
    # A cell's walk stops where it parts: the history, then 'a', then 'f' (sorted names).
    assert compare_ledgers(baseline, new).numbers_compared == 4 + 4 + 1


def test_when_zeros_differ_in_sign_then_bitwise_sees_it_and_a_tolerance_accepts_it() -> None:
    baseline = ledger(cell("a", 1, values={"z": encode_value(0.0)}))
    new = ledger(cell("a", 1, values={"z": encode_value(-0.0)}))
    assert compare_ledgers(baseline, new).verdict == DIVERGED
    assert compare_ledgers(baseline, new, Tolerance(atol=1e-30)).verdict == WITHIN_TOLERANCE


def test_when_complex_values_differ_then_the_part_is_named() -> None:
    import numpy as np

    baseline = ledger(cell("a", 1, values={"c": encode_value(np.array([1 + 2j, 3 - 1j]))}))
    new = ledger(cell("a", 1, values={"c": encode_value(np.array([1 + 2j, 3 - 1.5j]))}))
    difference = compare_ledgers(baseline, new).first_difference
    assert difference is not None
    assert difference.where == "value 'c', element [1] (imaginary part)"
    assert (difference.baseline, difference.new) == ("-1.0", "-1.5")


def test_when_the_baseline_came_from_a_front_end_without_cell_ids_then_records_pair_by_source() -> None:
    baseline = ledger({**cell("x", 1, values={"v": encode_value(1.0)}), "cell_id": None, "source_hash": "h1"})
    new = ledger({**cell("c7", 3, values={"v": encode_value(2.0)}), "source_hash": "h1"})
    comparison = compare_ledgers(baseline, new, positions={"c7": (3, "v = 2")})
    assert comparison.cells_compared == 1
    difference = comparison.first_difference
    assert difference is not None
    assert (difference.cell_id, difference.cell_number, difference.where) == ("c7", 3, "value 'v'")


def test_relative_tolerance_is_measured_against_the_baseline_and_the_bound_is_inclusive() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1.0)}))
    doubled = ledger(cell("a", 1, values={"x": encode_value(2.0)}))
    assert compare_ledgers(baseline, doubled, Tolerance(rtol=0.5)).verdict == DIVERGED
    half_more = ledger(cell("a", 1, values={"x": encode_value(1.5)}))
    assert compare_ledgers(baseline, half_more, Tolerance(atol=0.5)).verdict == WITHIN_TOLERANCE


def test_when_integers_differ_then_no_tolerance_hides_it() -> None:
    import numpy as np

    baseline = ledger(cell("a", 1, values={"n": encode_value(np.array([1, 2])), "i": encode_value(3)}))
    new = ledger(cell("a", 1, values={"n": encode_value(np.array([1, 3])), "i": encode_value(3)}))
    difference = compare_ledgers(baseline, new, Tolerance(rtol=1, atol=10)).first_difference
    assert difference is not None and difference.where == "value 'n', element [1]"


def test_when_no_cell_recorded_on_both_sides_then_the_environments_are_still_compared() -> None:
    baseline = ledger(cell("a", 1))
    new = ledger(cell("b", 2), environment={"packages": {"tensorflow": "2.15.0"}, "python": "3.11.7"})
    comparison = compare_ledgers(baseline, new)
    assert comparison.environment_compared
    assert comparison.environment_changes == [("packages.tensorflow", "2.21.0", "2.15.0")]


def test_when_the_number_of_epochs_differs_then_epochs_are_counted_from_one_as_keras_prints_them() -> None:
    baseline = ledger(cell("a", 1, histories=[history([0.5] * 6, [0.1] * 6)]))
    new = ledger(cell("a", 1, histories=[history([0.5] * 8, [0.1] * 8)]))
    difference = compare_ledgers(baseline, new, baseline_label="run 1", new_label="run 2").first_difference
    assert difference is not None
    assert (difference.where, difference.baseline, difference.new) == (
        "history 1, epochs",
        "6 epochs (1-6)",
        "8 epochs (1-8)",
    )
    resumed = ledger(cell("a", 1, histories=[{**history([0.5, 0.4], [0.1, 0.2]), "epochs": [2, 4]}]))
    difference = compare_ledgers(baseline, resumed).first_difference
    assert difference is not None and difference.new == "2 epochs [3, 5]"


def test_when_large_integer_arrays_differ_then_their_summaries_read_as_integers() -> None:
    import numpy as np

    values = np.arange(20_000, dtype=np.int32)
    baseline = ledger(cell("a", 1, values={"counts": encode_value(values)}))
    new = ledger(cell("a", 1, values={"counts": encode_value(values * 2)}))
    difference = compare_ledgers(baseline, new).first_difference
    assert difference is not None
    assert "min 0, max 19999, mean 9999.5" in difference.baseline
    assert "min 0, max 39998, mean 19999.0" in difference.new
    old_style = {**baseline.records[0]["values"]["counts"], "summary": {"min": 0.0, "max": 263.0, "mean": 1.5}}
    difference = compare_ledgers(ledger(cell("a", 1, values={"counts": old_style})), new).first_difference
    assert difference is not None and "min 0, max 263, mean 1.5" in difference.baseline


def test_when_cells_without_ids_share_a_source_then_they_pair_in_the_order_they_ran() -> None:
    def no_id(occurrence: int, value: float) -> dict[str, Any]:
        record = {**cell("x", 0, values={"v": encode_value(value)}), "cell_id": None, "source_hash": "h"}
        return {**record, "cell_number": None, "occurrence": occurrence}

    baseline = ledger(no_id(2, 2.0), no_id(1, 1.0))
    assert len(baseline.records) == 2, "the second run of a source does not replace the first"
    new = ledger(
        {**cell("c1", 1, values={"v": encode_value(1.0)}), "source_hash": "h"},
        {**cell("c2", 2, values={"v": encode_value(2.0)}), "source_hash": "h"},
    )
    comparison = compare_ledgers(baseline, new)
    assert (comparison.verdict, comparison.cells_compared) == (IDENTICAL, 2)


def test_when_a_cell_records_nothing_comparable_then_it_is_counted_apart_as_nothing_recorded() -> None:
    baseline = ledger(cell("a", 1, values={"x": encode_value(1.5)}), cell("b", 2))

    comparison = compare_ledgers(baseline, ledger(*baseline.records))

    assert (comparison.verdict, comparison.cells_compared, comparison.cells_with_nothing_recorded) == (IDENTICAL, 1, 1)
    assert comparison.cell_verdicts == {"id:a": IDENTICAL, "id:b": NOTHING_RECORDED}
