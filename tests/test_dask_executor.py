"""`--executor dask://`: notebooks verified on a real Dask cluster (scheduler and workers on 127.0.0.1)."""

from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psutil
import pytest
from conftest import run_cli, write_notebook
from dask_cluster import LoopbackCluster
from test_verify_faults import REPRO_VERIFY, processes_marked

pytestmark = pytest.mark.kernel


def recorded(value: str, *, before: str = "") -> str:
    return f"%%reproducible seed=1 record=x\n{before}x = {value}"


def without_times(text: str) -> str:
    return re.sub(r"\d+(\.\d+)? s\b", "N s", text)


def four_notebooks(folder: Path) -> list[Path]:
    """Two that reproduce, one whose ledger says otherwise (it diverges), one that fails to run."""
    first = write_notebook(folder / "a_first.ipynb", recorded("1.5"))
    diverging = write_notebook(folder / "b_diverging.ipynb", recorded("2.5"))
    failing = write_notebook(folder / "c_failing.ipynb", recorded("1.0"), "raise ValueError('boom')")
    second = write_notebook(folder / "d_second.ipynb", recorded("[1, 2, 3]"))
    return [first, diverging, failing, second]


def test_when_the_cluster_starts_then_it_listens_on_loopback_only(dask_cluster: LoopbackCluster) -> None:
    assert dask_cluster.address.startswith("tcp://127.0.0.1:")
    assert dask_cluster.listening_addresses() == {"127.0.0.1"}


def test_when_four_notebooks_go_through_the_cluster_then_verdicts_reports_and_status_match_j_2(
    tmp_path: Path, dask_cluster: LoopbackCluster
) -> None:
    outcomes = {}
    for name, engine in (("local", ["-j", "2"]), ("dask", ["--executor", f"dask://{dask_cluster.address[6:]}"])):
        folder = tmp_path / name
        folder.mkdir()
        notebooks = four_notebooks(folder)
        assert run_cli("-q", str(notebooks[1]))[0] == 0  # records 2.5 in its ledger
        write_notebook(notebooks[1], recorded("3.5"))
        status, out, err = run_cli(*engine, "--json", str(folder / "report.json"), *map(str, notebooks))
        ledgers = sorted(path.name for path in folder.glob("*.repro.json"))
        report = json.loads((folder / "report.json").read_text())
        outcomes[name] = (status, without_times(out.replace(str(folder), "FOLDER")), ledgers, report, err)
    local, dask = outcomes["local"], outcomes["dask"]
    assert dask[0] == local[0] == 3, dask[1] + dask[4]
    assert dask[1] == local[1]
    assert dask[2] == local[2] == ["a_first.repro.json", "b_diverging.repro.json", "d_second.repro.json"]
    verdicts = [[(n["verdict"], n["exit_status"]) for n in o[3]["notebooks"]] for o in (local, dask)]
    assert verdicts[0] == verdicts[1]
    # Progress came back from the workers, a line per cell, naming the notebook and the run.
    assert "b_diverging.ipynb run 1/1: cell 1/1 %%reproducible seed=1 record=x" in dask[4]
