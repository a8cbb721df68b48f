"""The ledger's JSON Schema: it describes what is recorded, and a ledger that breaks it is refused with its field."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import ml_dtypes
import numpy as np
import pytest
from helpers import WRONG_INNER_TYPES, ledger_data, run_cli, write_notebook

from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.exceptions import LedgerError
from repro_magics.ledger.schema import ledger_schema, validate_ledger
from repro_magics.ledger.store import Ledger
from repro_magics.ledger.values import MAX_DEPTH, MAX_STORED_ELEMENTS

ROOT = Path(__file__).resolve().parent.parent


class Plain:
    """A plain object: recorded by its type alone."""


def every_kind() -> dict[str, Any]:
    import keras

    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    history = keras.callbacks.History()
    history.epoch, history.history = [0], {"loss": [0.5], "per class": [np.array([0.1, 0.2])]}
    loop: list[Any] = [1]
    loop.append(loop)
    return {
        "none": None,
        "flag": True,
        "count": np.int64(3),
        "floats": [0.1, math.nan, math.inf, -math.inf, -0.0, np.float32(1.5)],
        "z": 1 - 2j,
        "name": "x",
        "arrays": {
            "f32": np.arange(4, dtype=np.float32).reshape(2, 2),
            "f16": np.array([np.nan, -0.0], dtype=np.float16),
            "c128": np.array([1j, -0.0 + np.inf * 1j]),
            "i8": np.array([-1, 2], dtype=np.int8),
            "u64": np.array([2**64 - 1], dtype=np.uint64),
            "bool": np.array([True, False]),
            "text": np.array(["a", "bc"]),
            "bytes": np.array([b"a"]),
            "objects": np.array(["a", 1], dtype=object),
            "when": np.array(["2020-01-01", "NaT"], dtype="datetime64[ms]"),
            "bf16": np.array([1.5], dtype=ml_dtypes.bfloat16),
            "f8": np.array([0.5], dtype=ml_dtypes.float8_e4m3fn),
            "i4": np.array([-3], dtype=ml_dtypes.int4),
            "f128": np.array([1 / 3, math.nan], dtype=np.longdouble),
            "c256": np.array([1 / 3 + 1j], dtype=np.clongdouble),
            "big": np.zeros(MAX_STORED_ELEMENTS + 1),
            "big ints": np.zeros(MAX_STORED_ELEMENTS + 1, dtype=np.int32),
            "empty": np.zeros((0, 3)),
            "scalar tensor-like": np.array("text"),
        },
        "tuple": (1, "a"),
        "keys": {1: "one", "1": "one as text"},
        "model": layer,
        "history": history,
        "plain": Plain(),
        "addresses": np.array([Plain()], dtype=object),
        "loop": loop,
    }


def kinds_in(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["type"]} if isinstance(node.get("type"), str) else set()
        return found.union(*(kinds_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(kinds_in(item) for item in node))
    return set()


def test_when_values_of_every_kind_are_recorded_then_the_ledger_matches_the_schema_and_uses_each_kind_it_lists() -> (
    None
):
    data = json.loads(json.dumps(ledger_data(**every_kind()), allow_nan=False))
    data["records"][0]["values"]["absent"] = {"type": "missing"}
    data["records"][0]["histories"].append({"type": "unsupported", "python_type": "keras.callbacks.History"})
    validate_ledger(data)
    jsonschema.Draft7Validator(ledger_schema()).validate(data)
    assert kinds_in(data["records"]) >= set(ledger_schema()["definitions"]["value"]["properties"]["type"]["enum"])


def test_the_schema_is_draft_7_and_the_copy_published_in_docs_is_the_packaged_one() -> None:
    jsonschema.Draft7Validator.check_schema(ledger_schema())
    packaged = (ROOT / "repro_magics" / "ledger" / "ledger.schema.json").read_bytes()
    assert (ROOT / "docs" / "ledger.schema.json").read_bytes() == packaged


def mutated(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    data = copy.deepcopy(ledger_data())
    change(data)
    return data


def value_of(encoded: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda data: data["records"][0]["values"].update(x=encoded)


ARRAY = {"type": "array", "dtype": "float32", "shape": [2], "fingerprint": "0" * 32, "values": [1.0, 2.0]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        *WRONG_INNER_TYPES.values(),
        (lambda data: data.update(environments=[]), "environments is []; expected an object"),
        (value_of({"type": "wat"}), 'records[0].values.x.type is "wat"; expected one of "none", "bool", "int"'),
        (value_of({"type": "int", "value": 1.5}), "records[0].values.x.value is 1.5; expected a whole number"),
        (value_of({"type": "float", "value": "nan"}), 'records[0].values.x.value is "nan"; expected a float64'),
        (
            value_of({"type": "str", "value": "a", "extra": 1}),
            "records[0].values.x has fields it should not have: 'extra'",
        ),
        (
            value_of({"type": "complex", "value": [1.0]}),
            "records[0].values.x.value is [1.0]; expected at least 2 items",
        ),
        (value_of({**ARRAY, "values": [1.0, None]}), "records[0].values.x.values[1] is null; expected a float64"),
        (
            value_of({**ARRAY, "dtype": "int64", "values": [1, 2.5]}),
            "records[0].values.x.values[1] is 2.5; expected a whole number",
        ),
        (value_of({**ARRAY, "values": [1.0]}), "records[0].values.x.values holds 1 elements; expected 2, to fill"),
        (value_of({**ARRAY, "fingerprint": "f"}), 'records[0].values.x.fingerprint is "f"; expected an xxh3-128 hash'),
        (value_of({"type": "list", "items": [{"type": "int"}]}), "records[0].values.x.items[0] lacks 'value'"),
        (lambda data: data["records"][0].update(seed=-1), "records[0].seed is -1; expected at least 0"),
        (lambda data: data["records"][0].update(histories=[{}]), "records[0].histories[0] lacks 'type', 'epochs'"),
    ],
)
def test_when_a_ledger_holds_a_wrong_type_inside_then_loading_names_the_field_and_what_was_expected(
    change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    with pytest.raises(LedgerError) as raised:
        Ledger.from_json(mutated(change), origin="ledger n.repro.json")
    assert str(raised.value).startswith(f"ledger n.repro.json is corrupt: {message}")
    assert "\n" not in str(raised.value)


def test_when_a_value_is_as_deep_as_recording_allows_then_its_ledger_is_read_and_compared(tmp_path: Path) -> None:
    deep: list[Any] = []
    for _ in range(MAX_DEPTH - 1):
        deep = [deep]
    path = tmp_path / "deep.repro.json"
    Ledger.from_json(ledger_data(deep=deep)).save(path)
    ledger = Ledger.load(path)
    assert compare_ledgers(ledger, Ledger.load(path)).verdict == "identical"


def test_when_a_ledger_is_nested_deeper_than_python_can_follow_then_loading_says_so() -> None:
    value: dict[str, Any] = {"type": "none"}
    for _ in range(5000):
        value = {"type": "list", "items": [value]}
    with pytest.raises(LedgerError, match=r"^ledger is corrupt: its values are nested too deeply to read$"):
        Ledger.from_json(mutated(value_of(value)))


def test_when_unknown_fields_are_outside_recorded_values_then_the_ledger_is_still_read() -> None:
    data = mutated(lambda data: data["records"][0].update(execution_count=3))
    data["written_by"] = "a later repro_magics"
    assert Ledger.from_json(data).records[0]["execution_count"] == 3


def write_broken_ledger(path: Path, change: Callable[[dict[str, Any]], Any]) -> bytes:
    path.write_text(json.dumps(mutated(change), indent=1))
    return path.read_bytes()


@pytest.mark.parametrize(("change", "message"), WRONG_INNER_TYPES.values(), ids=WRONG_INNER_TYPES.keys())
def test_when_the_ledger_holds_a_wrong_type_inside_then_repro_verify_exits_2_naming_it_before_any_kernel_starts(
    tmp_path: Path, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    ran = tmp_path / "ran.txt"
    notebook = write_notebook(tmp_path / "n.ipynb", f"from pathlib import Path\nPath({str(ran)!r}).write_text('ran')")
    ledger = tmp_path / "n.repro.json"
    before = write_broken_ledger(ledger, change), notebook.read_bytes()
    status, out, err = run_cli(str(notebook), "--update")
    assert (status, out) == (2, "")
    assert err == f"repro-verify: error: ledger {ledger} is corrupt: {message}\n"
    assert not ran.exists(), "no kernel ran the notebook"
    assert (ledger.read_bytes(), notebook.read_bytes()) == before


@pytest.mark.parametrize(("change", "message"), WRONG_INNER_TYPES.values(), ids=WRONG_INNER_TYPES.keys())
def test_when_the_ledger_holds_a_wrong_type_inside_then_the_cell_runs_its_record_is_not_saved_and_one_line_says_why(
    ipython: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[dict[str, Any]], Any],
    message: str,
) -> None:
    ledger = tmp_path / "ledger.repro.json"
    before = write_broken_ledger(ledger, change)
    assert ipython.run_cell("%%reproducible seed=1 record=y\ny = 2").success
    assert ipython.user_ns["y"] == 2
    assert ledger.read_bytes() == before
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "repro_magics: ledger" in line] == [
        f"repro_magics: ledger {ledger} is corrupt: {message}; this cell's record was not saved, "
        "and the file was left as it is."
    ]


def test_when_the_journal_beside_a_ledger_holds_a_wrong_type_then_loading_names_the_journal_and_the_field(
    tmp_path: Path,
) -> None:
    ledger_path = tmp_path / "n.repro.json"
    data = ledger_data()
    ledger_path.write_text(json.dumps(data))
    (record,) = data["records"]
    broken = {**record, "values": None}
    journal = tmp_path / "n.repro.journal.jsonl"
    journal.write_text(json.dumps({"record": broken, "environment": {"python": "3.11"}}) + "\n")
    with pytest.raises(LedgerError) as raised:
        Ledger.load(ledger_path)
    assert str(raised.value) == f"journal {journal} is corrupt: records[0].values is null; expected an object"


def test_when_the_ledger_file_is_nested_too_deeply_for_json_then_loading_says_so_in_one_sentence(
    tmp_path: Path,
) -> None:
    ledger_path = tmp_path / "deep.repro.json"
    ledger_path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LedgerError) as raised:
        Ledger.load(ledger_path)
    assert str(raised.value) == f"ledger {ledger_path} is corrupt: its values are nested too deeply to read"
