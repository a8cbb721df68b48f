"""Records made where the front end sends no cell id (`jupyter execute`, nbclient scripts), and
notebooks that record nothing: real kernels, real files, then `repro-verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import run_cli, write_notebook
from nbclient import NotebookClient

from repro_magics.ledger.store import Ledger

pytestmark = pytest.mark.kernel

TRAINING_LOOP = "%%reproducible seed=1 record=log\nfor step in range(3):\n    log.append(float(np.random.rand()))"


def jupyter_execute(notebook: Path) -> None:
    """`jupyter execute` with the shipped kernel, as a user runs it: it sends no cell ids."""
    subprocess.run(
        [sys.executable, "-m", "jupyter", "execute", "--kernel_name=repro-python3", notebook.name],
        cwd=notebook.parent,
        check=True,
        capture_output=True,
    )


def records(ledger: Path) -> list[dict]:
    """The records a ledger holds, its journal folded in."""
    return Ledger.load(ledger).records


def test_when_jupyter_execute_runs_two_cells_with_one_source_then_both_are_kept_and_verify_agrees(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "loop.ipynb", "import numpy as np\nlog = []", TRAINING_LOOP, TRAINING_LOOP)
    jupyter_execute(notebook)
    kept = records(tmp_path / "loop.repro.json")
    assert [(r["cell_id"], r["cell_number"]) for r in kept] == [("c1", 2), ("c2", 3)]
    assert [len(r["values"]["log"]["items"]) for r in kept] == [3, 6]

    status, out, _ = run_cli(str(notebook), "--quiet")
    assert status == 0, out
    assert out.startswith(f"{notebook}: identical to the ledger, bitwise (2 cells, 9 numbers;")


def test_when_no_notebook_can_be_found_then_records_go_to_a_kernel_file_and_pair_as_a_baseline(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "loop.ipynb", "import numpy as np\nlog = []", TRAINING_LOOP, TRAINING_LOOP)
    for _ in range(2):  # two kernels in one folder, started by a script that names no notebook
        NotebookClient(
            nbformat.read(str(notebook), as_version=4),
            kernel_name="repro-python3",
            resources={"metadata": {"path": str(tmp_path)}},
        ).execute()
    files = sorted(tmp_path.glob("untitled-*.repro.json"))
    assert len(files) == 2, "each kernel keeps its records apart"
    assert not (tmp_path / "untitled.repro.json").exists() and not (tmp_path / "loop.repro.json").exists()
    kept = records(files[0])
    assert [(r["cell_id"], r["occurrence"]) for r in kept] == [(None, 1), (None, 2)]

    status, out, _ = run_cli(str(notebook), "--quiet", "--baseline", str(files[0]))
    assert status == 0, out
    assert "identical to the ledger, bitwise (2 cells, 9 numbers;" in out
    assert "environment" not in out and "no longer in the notebook" not in out


@pytest.mark.parametrize(
    "sources",
    [("x = 1", "print(x)"), ("import numpy as np", "%%reproducible seed=3\ny = np.random.rand()")],
    ids=["no magic", "a magic cell that records no number"],
)
def test_when_a_notebook_records_nothing_then_it_says_nothing_was_checked_and_writes_no_ledger(
    tmp_path: Path, sources: tuple[str, ...]
) -> None:
    notebook = write_notebook(tmp_path / "plain.ipynb", *sources)
    status, out, _ = run_cli(str(notebook), "--quiet")
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(
        f"{notebook}: NOTHING CHECKED: no %%reproducible cell recorded a value to compare (2 fresh runs"
    )
    assert "--require-records makes it a failure" in out
    assert lines[-1] == "  ledger not saved: it would hold nothing to compare with"
    assert not (tmp_path / "plain.repro.json").exists()

    report = tmp_path / "report.json"
    status, out, _ = run_cli(str(notebook), "--quiet", "--require-records", "--runs", "1", "--json", str(report))
    assert status == 5, out
    assert "with --require-records this is a failure (exit status 5)" in out
    written = json.loads(report.read_text())
    assert (written["exit_status"], written["notebooks"][0]["verdict"]) == (5, "nothing recorded")
