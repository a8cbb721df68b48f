"""Encoding results exactly, and the ledger file that holds them."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from repro_magics.exceptions import LedgerError, UnrecordableValue
from repro_magics.kernel.recording import CellRecord, record_named_values
from repro_magics.ledger.store import Ledger, ledger_path_for
from repro_magics.ledger.values import MAX_DEPTH, MAX_STORED_ELEMENTS, encode_value, fingerprint


def roundtrip(value: object) -> dict:
    return json.loads(json.dumps(encode_value(value), allow_nan=False))


def test_when_floats_are_encoded_then_they_read_back_bit_for_bit() -> None:
    values = np.random.default_rng(0).standard_normal(100).astype(np.float32)
    stored = roundtrip(values)["values"]
    assert np.array_equal(np.array(stored, dtype=np.float64).astype(np.float32), values)
    assert roundtrip(0.1 + 0.2)["value"] == 0.1 + 0.2


def test_when_values_are_nan_or_infinite_then_strict_json_keeps_them() -> None:
    stored = roundtrip([math.nan, math.inf, -math.inf, np.float32("nan")])
    decoded = [float(item["value"]) for item in stored["items"]]
    assert math.isnan(decoded[0]) and decoded[1] == math.inf and decoded[2] == -math.inf and math.isnan(decoded[3])
    assert stored["items"][0] == {"type": "float", "value": "NaN"}


def test_when_an_array_is_large_then_only_its_fingerprint_and_summary_are_kept() -> None:
    stored = encode_value(np.arange(MAX_STORED_ELEMENTS + 1, dtype=np.float64))
    assert "values" not in stored
    assert stored["summary"] == {"min": 0.0, "max": float(MAX_STORED_ELEMENTS), "mean": MAX_STORED_ELEMENTS / 2}


def test_when_a_large_array_holds_integers_then_its_summary_and_report_show_integers() -> None:
    baseline = encode_value(np.arange(MAX_STORED_ELEMENTS + 1, dtype=np.int64))
    assert baseline["summary"] == {"min": 0, "max": MAX_STORED_ELEMENTS, "mean": MAX_STORED_ELEMENTS / 2}
    assert all(type(baseline["summary"][key]) is int for key in ("min", "max"))


def test_when_arrays_differ_in_one_bit_or_shape_then_fingerprints_differ() -> None:
    base = np.arange(12, dtype=np.float32)
    flipped = base.copy()
    flipped.view(np.uint32)[5] ^= 1
    assert fingerprint(base) == fingerprint(base.copy())
    assert fingerprint(base) != fingerprint(flipped)
    assert fingerprint(base) != fingerprint(base.reshape(3, 4))
    assert fingerprint(base.reshape(3, 4).T) == fingerprint(np.ascontiguousarray(base.reshape(3, 4).T))


def test_when_values_are_nested_then_each_kind_is_tagged() -> None:
    stored = roundtrip({"n": 3, "ok": True, "name": "x", "none": None, "pair": (1.5, np.int64(2))})
    assert stored["items"]["n"] == {"type": "int", "value": 3}
    assert stored["items"]["ok"] == {"type": "bool", "value": True}
    assert stored["items"]["none"] == {"type": "none"}
    assert stored["items"]["pair"]["items"][1] == {"type": "int", "value": 2}
    assert roundtrip(object())["type"] == "unsupported"


def test_when_a_record_is_added_for_the_same_cell_then_it_replaces_the_old_one(tmp_path: Path) -> None:
    environment = {"python": "3.11"}
    ledger = Ledger().with_record({"cell_id": "a", "cell_number": 2, "seed": 1}, environment)
    ledger = ledger.with_record({"cell_id": "b", "cell_number": 1, "seed": 1}, environment)
    ledger = ledger.with_record({"cell_id": "a", "cell_number": 2, "seed": 5}, environment)
    assert [(r["cell_id"], r["seed"]) for r in ledger.records] == [("b", 1), ("a", 5)]
    assert len(ledger.environments) == 1


def test_when_a_ledger_is_saved_then_it_is_strict_sorted_json_and_reads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "n.repro.json"
    record = CellRecord(cell_id="a", seed=1, source_hash="0123456789abcdef", values={"x": encode_value(math.nan)})
    ledger = Ledger().with_record(record.to_json(), {"z": 1, "a": 2})
    ledger.save(path)
    text = path.read_text()
    assert "NaN" in text and "NaN," not in text.replace('"NaN"', "")
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-strict JSON constant {name}"))
    assert Ledger.load(path) == ledger
    ledger.save(path)
    assert path.read_text() == text
    assert sorted(os.listdir(tmp_path)) == [".n.repro.lock", "n.repro.json"], "no temporary file is left"


def test_ledger_path_is_beside_the_notebook() -> None:
    assert ledger_path_for(Path("/w/analysis.ipynb")) == Path("/w/analysis.repro.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is corrupt: not valid JSON at line 1, column 2"),
        ("[1, 2]", "is not a repro_magics ledger"),
        ('{"format": "repro-magics-ledger", "version": 99}', "has ledger format version 99"),
        (
            '{"format": "repro-magics-ledger", "version": 1, "fingerprint_algorithm": "xxh3_128", '
            '"records": 3, "environments": {}}',
            "is corrupt: records is 3; expected a list$",
        ),
    ],
)
def test_when_a_ledger_is_corrupt_then_loading_says_why_in_one_sentence(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.repro.json"
    path.write_text(content)
    with pytest.raises(LedgerError, match=message):
        Ledger.load(path)


def test_when_complex_and_negative_zero_are_encoded_then_they_read_back_exactly() -> None:
    stored = roundtrip({"c": 1.5 - 2j, "z": -0.0, "a": np.array([0.0, -0.0])})
    assert stored["items"]["c"] == {"type": "complex", "value": [1.5, -2.0]}
    assert stored["items"]["z"] == {"type": "float", "value": "-0.0"}
    assert math.copysign(1.0, float(stored["items"]["z"]["value"])) == -1.0
    assert stored["items"]["a"]["values"] == [0.0, "-0.0"]


def test_when_a_ledger_is_saved_then_it_has_the_permissions_of_a_normal_new_file(tmp_path: Path) -> None:
    path = tmp_path / "n.repro.json"
    previous = os.umask(0o022)
    try:
        Ledger().save(path)
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o664)
        Ledger().save(path)
        assert path.stat().st_mode & 0o777 == 0o664, "an existing file keeps its mode"
    finally:
        os.umask(previous)


class Point:
    """A plain object: its repr holds its memory address."""


def test_when_an_object_array_holds_plain_objects_then_it_is_unsupported_with_its_type_and_no_address() -> None:
    stored = roundtrip(np.array([Point(), Point()], dtype=object))
    assert stored == {
        "type": "unsupported",
        "python_type": "numpy.ndarray",
        "reason": f"its elements ({__name__}.Point) print with a memory address",
    }
    assert "0x" not in json.dumps(stored)


def test_when_a_dict_is_keyed_by_plain_objects_then_it_is_unsupported_with_its_type() -> None:
    stored = roundtrip({Point(): 1})
    assert stored["type"] == "unsupported" and stored["python_type"] == "builtins.dict"
    assert "0x" not in json.dumps(stored)


def test_when_an_object_array_holds_text_and_numbers_then_its_elements_are_recorded() -> None:
    stored = roundtrip(np.array(["a", 1, (2, "b")], dtype=object))
    assert stored["type"] == "array" and stored["values"] == ["a", "1", "(2, 'b')"]


@pytest.mark.parametrize(
    ("array", "values"),
    [
        (np.array([1, -2], dtype="timedelta64[s]"), [1, -2]),
        (np.array(["1970-01-02", "NaT"], dtype="datetime64[D]"), [1, -(2**63)]),
        (np.array([1.5, -0.0, np.nan], dtype=ml_dtypes.bfloat16), [1.5, "-0.0", "NaN"]),
        (np.array([3, -4], dtype=ml_dtypes.int4), [3, -4]),
    ],
    ids=["timedelta", "datetime", "bfloat16", "int4"],
)
def test_when_an_array_has_a_dtype_json_lacks_then_its_elements_are_stored_exactly_as_json(
    array: np.ndarray, values: list
) -> None:
    assert roundtrip(array)["values"] == values


@pytest.mark.skipif(np.finfo(np.longdouble).nmant <= 52, reason="long double is float64 here")
def test_when_an_array_is_extended_precision_then_its_elements_are_text_that_reads_back_exactly() -> None:
    array = np.array([1, np.inf, -0.0], dtype=np.longdouble) / 3
    stored = roundtrip(array)["values"]
    assert stored[1:] == ["Infinity", "-0.0"]
    assert np.longdouble(stored[0]) == array[0] and np.longdouble(stored[0]) != np.longdouble(float(stored[0]))
    pair = roundtrip(np.array([1 + 2j], dtype=np.clongdouble) / 3)["values"][0]
    assert [np.longdouble(part) for part in pair] == [np.longdouble(1) / 3, np.longdouble(2) / 3]


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def test_when_a_value_is_nested_5000_deep_then_recording_marks_it_and_says_why_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorded = record_named_values({"deep": nested(5000), "x": 1}, ["deep", "x"])
    assert recorded == {
        "deep": {
            "type": "unsupported",
            "python_type": "builtins.list",
            "reason": f"lists, tuples or dicts nested more than {MAX_DEPTH} deep",
        },
        "x": {"type": "int", "value": 1},
    }
    err = capsys.readouterr().err
    assert err == (
        f"repro_magics: could not record 'deep' (lists, tuples or dicts nested more than {MAX_DEPTH} deep); "
        "it is recorded as unsupported.\n"
    )
    assert roundtrip(nested(MAX_DEPTH - 1))["type"] == "list", f"{MAX_DEPTH} lists, one in the other, are recorded"
    with pytest.raises(UnrecordableValue):
        encode_value(nested(MAX_DEPTH))


class BrokenMapping(dict):
    def items(self):  # type: ignore[override]
        raise RuntimeError(f"cannot list the items of {object()!r}")


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message either")


class WorseMapping(dict):
    def items(self):  # type: ignore[override]
        raise Unprintable


def test_when_encoding_a_value_raises_then_it_is_recorded_as_unsupported_without_an_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorded = record_named_values({"broken": BrokenMapping(a=1), "worse": WorseMapping()}, ["broken", "worse"])
    assert recorded["broken"] == {
        "type": "unsupported",
        "python_type": f"{__name__}.BrokenMapping",
        "reason": "RuntimeError",
    }
    assert recorded["worse"]["reason"] == "Unprintable"
    assert capsys.readouterr().err.count("\n") == 2


def test_when_an_integer_has_more_digits_than_python_reads_then_it_is_recorded_as_unsupported_saying_why() -> None:
    encoded = encode_value({"big": 10**5000, "small": 10**100})
    assert encoded["items"]["big"] == {
        "type": "unsupported",
        "python_type": "builtins.int",
        "reason": "a whole number of more than 4300 digits, which no ledger reader converts",
    }
    assert encoded["items"]["small"] == {"type": "int", "value": 10**100}
    json.dumps(encoded)  # what the journal writes; it raised ValueError for the whole number
