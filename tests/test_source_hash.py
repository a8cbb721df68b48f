"""The source hash the server computes from a saved cell is the one the magic records when the cell runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from repro_magics.ledger.staleness import notebook_cell_source_hash
from repro_magics.ledger.store import Ledger


@pytest.mark.parametrize(
    "source",
    [
        "%%reproducible seed=1 record=x\nx = 1",
        "%%reproducible seed=1 record=x\nx = 1\n",
        "%%reproducible seed=1 record=x\n\nx = 1\n\n",
        "\n\n%%reproducible seed=2   record=x,y\nx = 1\ny = [x] * 3",
        "%%reproducible\nx = 1",
        "%%reproducible --seed 5\r\nx = 1.5\r\n",
    ],
)
def test_when_a_cell_runs_then_the_recorded_hash_is_the_one_computed_from_its_notebook_source(
    ipython: Any, tmp_path: Path, source: str
) -> None:
    assert ipython.run_cell(source).success

    record = Ledger.load(tmp_path / "ledger.repro.json").records[-1]
    assert record["source_hash"] == notebook_cell_source_hash(source)


@pytest.mark.parametrize(
    "source",
    [
        "x = 1",
        "%%time\nx = 1",
        "%%reproducibles\nx = 1",
        "# %%reproducible\nx = 1",
        "%%capture\n%%reproducible\nx = 1",
        "",
    ],
)
def test_when_a_cell_is_not_a_reproducible_cell_then_it_has_no_source_hash(source: str) -> None:
    assert notebook_cell_source_hash(source) is None


def test_when_one_character_of_the_body_changes_then_the_hash_changes() -> None:
    assert notebook_cell_source_hash("%%reproducible seed=1 record=x\nx = 1") != notebook_cell_source_hash(
        "%%reproducible seed=1 record=x\nx = 2"
    )
