"""Where fresh runs part, end to end: trap notebooks and their fixed twins, real kernels, `repro-verify`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import run_cli, write_notebook
from origin_corpus import FILES, HELPER_FUNCTION, PLAIN_CELL, THREAD, TRAPS, Trap

pytestmark = pytest.mark.kernel


def notebooks(folder: Path, traps: tuple[Trap, ...], *, fixed: bool) -> list[Path]:
    paths = []
    for trap in traps:
        own = folder / trap.name.replace(" ", "-")
        own.mkdir()
        paths.append(write_notebook(own / "notebook.ipynb", *(trap.fixed if fixed else trap.trap)))
    return paths


def report(path: Path) -> list[dict[str, Any]]:
    notebooks: list[dict[str, Any]] = json.loads(path.read_text())["notebooks"]
    return notebooks


def first_cause_named(entry: dict[str, Any]) -> int | None:
    """The cell the report names first as the cause: the quoted finding's, else the origin's."""
    origin = (entry["where_runs_part"] or {}).get("origin")
    if origin is None:
        return None
    finding = origin["finding"]
    return int(finding.split(",")[0].removeprefix("cell ")) if finding else origin["cell"]


def test_when_the_cause_is_in_a_plain_cell_a_helper_or_a_thread_then_the_origin_names_that_cell_and_what_differs(
    tmp_path: Path,
) -> None:
    traps = (PLAIN_CELL, HELPER_FUNCTION, THREAD)
    paths = notebooks(tmp_path, traps, fixed=False)
    html = tmp_path / "report.html"
    status, out, _ = run_cli(
        *map(str, paths), "-q", "-j", "2", "--json", str(tmp_path / "report.json"), "--html", str(html)
    )
    assert status == 1, out
    entries = report(tmp_path / "report.json")
    for trap, path, entry in zip(traps, paths, entries, strict=True):
        assert entry["notebook"] == str(path)
        assert entry["where_runs_part"] is not None, (trap.name, out, entry)
        origin = entry["where_runs_part"]["origin"]
        assert (origin["cell"], origin["recorded"]) == (trap.origin_cell, False), trap.name
        assert tuple(name["name"] for name in origin["names"]) == trap.origin_names, trap.name
        assert first_cause_named(entry) == trap.cause_cell, trap.name
        assert f"origin: the runs first differ after cell {trap.origin_cell} (not recorded): " in out
    rows = re.findall(r'<tr class="([^"]*)" data-cell-id="(c\d)">(.*?)</tr>', html.read_text())
    origin_rows = [(classes, cell_id, row) for classes, cell_id, row in rows if "origin" in classes.split()]
    assert [(classes, cell_id) for classes, cell_id, _ in origin_rows] == [
        ("cell-not-recorded origin", "c2"),
        ("cell-not-recorded origin", "c2"),
        ("cell-not-recorded origin", "c1"),
    ]
    assert "the runs first differ after cell 3 (not recorded): &#x27;order&#x27;" in origin_rows[0][2]
    assert (
        "origin: the runs first differ after cell 3 (not recorded): 'order' (int64 array, 10 elements); "
        "cell 2, line 2 (it made 'shuffled', which cell 3 uses): np.random.default_rng() without a seed" in out
    )


def test_when_the_fixed_twins_run_then_each_reproduces_with_no_origin_line(tmp_path: Path) -> None:
    paths = notebooks(tmp_path, TRAPS, fixed=True)
    status, out, _ = run_cli(*map(str, paths), "-q", "-j", "2", "--json", str(tmp_path / "report.json"))
    assert status == 0, out
    assert "origin" not in out
    assert [entry["where_runs_part"] for entry in report(tmp_path / "report.json")] == [None] * len(TRAPS)


def test_when_run_2_restores_the_checkpoint_run_1_wrote_then_both_are_named_and_isolate_makes_it_reproduce(
    tmp_path: Path,
) -> None:
    (path,) = notebooks(tmp_path, (FILES,), fixed=False)
    status, out, _ = run_cli(str(path), "-q")
    assert status == 1, out
    assert "    origin: the runs first differ after cell 2 (not recorded): 'values' (float64 array, 10 elements)" in out
    assert "    run 2 started with 1 file run 1 wrote in ckpt/; cell 2 uses ckpt/" in out

    shutil.rmtree(path.parent / "ckpt")
    status, out, _ = run_cli(str(path), "-q", "--isolate")
    assert status == 0, out
    assert "identical across the fresh runs" in out
    assert not (path.parent / "ckpt").exists(), "an isolated run writes into its own copy of the folder"
    ledger = json.loads((path.parent / "notebook.repro.json").read_text())
    assert [state["cell_id"] for state in ledger["states"]] == ["c0", "c1", "c2", "c3", "c4"]

    # A checkpoint left from an earlier session: the run against the ledger parts where it is read.
    (path.parent / "ckpt").mkdir()
    np.save(path.parent / "ckpt" / "values.npy", np.ones(10))
    status, out, _ = run_cli(str(path), "-q")
    assert status == 1, out
    assert "DIVERGED, run 1 vs ledger" in out
    assert "    origin: the runs first differ after cell 2 (not recorded): 'values' (float64 array, 10 elements)" in out
