"""The per-cell state fingerprints a ledger keeps: optional, validated, kept when the magic adds records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from helpers import ledger_data

from repro_magics.exceptions import LedgerError
from repro_magics.ledger.schema import ledger_schema
from repro_magics.ledger.store import Ledger

STATES = [
    {
        "cell_id": "c0",
        "source": "0123456789abcdef",
        "names": {"order": ["int64 array, 10 elements", "89abcdef01234567"], "ds": ["tf.data.Dataset", None]},
        "generators": {"NumPy's global generator": ["NumPy RandomState", "0011223344556677"]},
        "seconds": 0.0012,
    }
]


def test_when_a_ledger_has_no_states_then_it_loads_as_before_and_writes_no_states_field(tmp_path: Path) -> None:
    path = tmp_path / "old.repro.json"
    path.write_text(json.dumps(ledger_data()))
    ledger = Ledger.load(path)
    assert ledger.states == []
    assert "states" not in ledger.to_json()


def test_when_a_ledger_keeps_states_then_they_survive_saving_loading_and_a_new_record(tmp_path: Path) -> None:
    data = {**ledger_data(), "states": STATES}
    jsonschema.Draft7Validator(ledger_schema()).validate(data)
    path = tmp_path / "nb.repro.json"
    Ledger.from_json(data).save(path)
    loaded = Ledger.load(path)
    assert loaded.states == STATES
    record = copy.deepcopy(data["records"][0])
    record["cell_id"] = "c9"
    assert loaded.with_record(record, {"python": "3.11"}).states == STATES
    assert loaded.with_entries([(record, {"python": "3.11"})]).states == STATES


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"cell_id": "c0", "names": {}}, "states[0] lacks 'generators'"),
        ({**STATES[0], "names": {"x": ["int"]}}, 'states[0].names.x is ["int"]; expected at least 2 items'),
        ({**STATES[0], "names": {"x": ["int", 5]}}, "states[0].names.x[1] is 5"),
    ],
)
def test_when_a_state_is_malformed_then_loading_names_the_field(tmp_path: Path, state: dict, message: str) -> None:  # type: ignore[type-arg]
    path = tmp_path / "bad.repro.json"
    path.write_text(json.dumps({**ledger_data(), "states": [state]}))
    with pytest.raises(LedgerError) as raised:
        Ledger.load(path)
    assert message in str(raised.value)
