"""`%repro_status`: the ledger in the notebook, with stale cells marked, in a real in-process IPython shell."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import write_notebook
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from repro_magics.ledger.store import Ledger

FIT = """\
import numpy as np
import keras

features = np.linspace(-1, 1, 64, dtype="float32").reshape(32, 2)
labels = (features.sum(axis=1) > 0).astype("float32")
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile("sgd", "binary_crossentropy")
history = model.fit(features, labels, epochs=3, verbose=0)"""

VALUE = "%%reproducible   seed=5  record=x\nx = 1.5\n"


def status(ipython: Any) -> dict[str, str]:
    with capture_output() as captured:
        ipython.run_line_magic("repro_status", "")
    (output,) = captured.outputs
    return output.data


def rows(html: str) -> dict[str, str]:
    """Each table row's HTML, by the cell id in its second column."""
    found = {}
    for row in html.split("<tr")[2:]:
        cell_id = row.split("<code>")[1].split("</code>")[0]
        found[cell_id] = row
    return found


def _records() -> list[dict[str, Any]]:
    return Ledger.load(Path(os.environ["REPRO_MAGICS_LEDGER"])).records


def test_when_a_cell_changed_since_its_record_then_status_marks_it_stale_and_the_other_current(
    ipython: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fit = f"%%reproducible seed=3\n{FIT}"
    notebook = write_notebook(tmp_path / "status.ipynb", VALUE, fit)
    monkeypatch.setenv("REPRO_MAGICS_NOTEBOOK", str(notebook))
    assert ipython.run_cell(VALUE).success and ipython.run_cell(fit).success

    data = json.loads(notebook.read_text())
    data["cells"][0]["source"] = VALUE.replace("1.5", "2.5")
    notebook.write_text(json.dumps(data))
    shown = status(ipython)

    html, text = shown["text/html"], shown["text/plain"]
    by_id = rows(html)
    assert set(by_id) == {"c0", "c1"}
    assert "<td>stale</td>" in by_id["c0"] and "<td>5</td>" in by_id["c0"]
    assert "<td>current</td>" in by_id["c1"] and "<td>3</td>" in by_id["c1"]
    assert "<svg" in by_id["c1"] and "<svg" not in by_id["c0"], "a small training curve for the fit only"
    assert "http://" not in html and "<script" not in html
    lines = text.splitlines()
    assert lines[0] == f"ledger {tmp_path / 'ledger.repro.json'} for status.ipynb: 2 recorded cells"
    assert lines[1].split() == [
        "cell",
        "id",
        "seed",
        "recorded",
        "(UTC)",
        "environment",
        "state",
        "training",
        "first",
        "line",
    ]
    assert lines[2].split()[:3] == ["1", "c0", "5"] and " STALE " in lines[2]
    assert lines[3].split()[:3] == ["2", "c1", "3"] and " current " in lines[3] and "3 epochs, loss" in lines[3]
    recorded = _records()[0]["recorded_at"]
    assert recorded in lines[2] and recorded.endswith("Z")


def test_when_there_is_no_ledger_yet_then_status_says_so_in_one_line(ipython: Any, tmp_path: Path) -> None:
    shown = status(ipython)
    assert shown["text/plain"] == (
        f"no ledger yet: {tmp_path / 'ledger.repro.json'} does not exist (run a %%reproducible cell to start it)"
    )


def test_when_status_is_given_arguments_then_usage_error(ipython: Any) -> None:
    with pytest.raises(UsageError, match="%repro_status takes no arguments"):
        ipython.run_line_magic("repro_status", "all")
