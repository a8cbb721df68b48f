"""Why a notebook diverged, end to end: real notebooks, real kernels, real TensorFlow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli, write_notebook

pytestmark = pytest.mark.kernel


def counter_cell(counter: Path) -> str:
    """A cell that sets `run` to how many runs came before it, across kernels."""
    counter.write_text("0")
    return (
        "from pathlib import Path\n"
        f"run = int(Path({str(counter)!r}).read_text())\n"
        f"Path({str(counter)!r}).write_text(str(run + 1))"
    )


def test_when_a_value_moves_by_one_float32_ulp_then_the_report_names_the_rtol_that_passes_and_it_does(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "ulp.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=5 record=loss\n"
        "import numpy as np\n"
        "loss = np.float32(0.6931472)\n"
        "loss = np.nextafter(loss, np.float32(1)) if run else loss",
    )
    assert run_cli(str(notebook), "--quiet", "--runs", "1")[0] == 0
    status, out, _ = run_cli(str(notebook), "--quiet", "--json", str(tmp_path / "report.json"))
    assert status == 1, out
    match = re.search(
        r"largest differences: 5\.96e-08 absolute, 8\.6e-08 relative \(1 number differ\); "
        r"would pass with --rtol (\S+) or --atol (\S+)\n",
        out,
    )
    assert match, out
    assert "this looks like float-order noise: at most 1 float32 rounding step, relative" in out
    spread = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]["comparisons"][0]["spread"]
    assert spread["looks_like"] == "float-order noise"
    assert spread["would_pass_with"] == {"rtol": float(match.group(1)), "atol": float(match.group(2))}
    status, out, _ = run_cli(str(notebook), "--quiet", "--rtol", match.group(1))
    assert status == 0, out
    assert "within tolerance to the ledger" in out


def test_when_a_value_changes_by_a_tenth_then_the_report_calls_it_a_real_change(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "real.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=5 record=accuracy\naccuracy = 0.9 if run else 0.8",
    )
    assert run_cli(str(notebook), "--quiet", "--runs", "1")[0] == 0
    status, out, _ = run_cli(str(notebook), "--quiet")
    assert status == 1, out
    assert "would pass with --rtol 0.13 or --atol 0.1" in out
    assert "this looks like a real change: up to 0.12 relative: far more than float rounding makes" in out
