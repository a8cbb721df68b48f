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


def test_when_a_cell_diverges_on_a_generator_made_in_another_cell_then_both_cells_findings_are_likely_causes(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "shared_rng.ipynb",
        "import numpy as np\nrng = np.random.default_rng()",
        "%%reproducible seed=1 record=x\nx = rng.normal(size=3)",
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--json", str(tmp_path / "report.json"))
    assert status == 1, out
    assert "DIVERGED, run 2 vs run 1, first at cell 2 (id c1)" in out
    assert "    likely causes (repro-lint findings):\n" in out
    assert (
        "      cell 1, line 2 (it made 'rng', which the diverged cell uses): RM101 np.random.default_rng() without "
        "a seed draws fresh entropy on every run; pass a seed (see docs/rules.md#RM101)\n"
    ) in out
    assert "      cell 2, line 2: RM106 'rng' is a random generator made in cell 1;" in out
    (difference,) = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]["comparisons"][0]["differences"]
    assert [(cause["cell"], cause["code"], cause["made"]) for cause in difference["likely_causes"]] == [
        (1, "RM101", ["rng"]),
        (2, "RM106", []),
    ]


def test_when_no_lint_rule_explains_a_divergence_then_the_report_says_so(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "drift.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=5 record=x\nx = 1.0 + run * 1e-12",
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--json", str(tmp_path / "report.json"))
    assert status == 1, out
    assert "    likely cause: no lint rule applies to this cell or to the cells that made what it uses;" in out
    (difference,) = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]["comparisons"][0]["differences"]
    assert difference["likely_causes"] == []
