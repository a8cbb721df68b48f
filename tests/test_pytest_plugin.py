"""`pytest --repro-verify`: real pytest runs in subprocesses, real kernels."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from helpers import run_cli, write_notebook

from repro_magics import pytest_plugin
from repro_magics.ledger.store import Ledger
from repro_magics.verify.shard import parse_shard

PLUGIN = "repro_magics.pytest_plugin"
ROOT = Path(__file__).parent.parent


def plugin_arguments() -> list[str]:
    """`-p` the plugin unless it is installed, as in CI (this checkout may run from an older install)."""
    installed = any(point.value == PLUGIN for point in entry_points(group="pytest11"))
    return [] if installed else ["-p", PLUGIN]


def run_pytest(folder: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    (folder / "pytest.ini").exists() or (folder / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugin_arguments(), *arguments],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def test_when_installed_then_the_pytest11_entry_point_names_the_plugin_module() -> None:
    # Read as text: tomllib is Python 3.11+, and the project supports 3.10.
    project = (ROOT / "pyproject.toml").read_text()
    assert f'[project.entry-points.pytest11]\nrepro_magics = "{PLUGIN}"\n' in project
    assert callable(pytest_plugin.pytest_addoption) and callable(pytest_plugin.pytest_collect_file)


def test_when_the_flag_is_not_given_then_no_notebook_is_collected_and_no_kernel_runs(tmp_path: Path) -> None:
    write_notebook(tmp_path / "a.ipynb", "raise ValueError('would fail if run')")
    completed = run_pytest(tmp_path, "-q")
    assert completed.returncode == 5, completed.stdout  # pytest: no tests collected
    assert "no tests ran" in completed.stdout


def test_when_an_option_is_bad_then_pytest_says_so_in_one_sentence(tmp_path: Path) -> None:
    write_notebook(tmp_path / "a.ipynb", "x = 1")
    completed = run_pytest(tmp_path, "--repro-verify", "--repro-rtol", "abc")
    assert completed.returncode == 4, completed.stdout + completed.stderr  # pytest: usage error
    assert "ERROR: --repro-rtol 'abc' is not a number" in completed.stderr
    assert "Traceback" not in completed.stderr
    completed = run_pytest(tmp_path, "--repro-verify", "--repro-shard", "3/2")
    assert completed.returncode == 4
    assert "--repro-shard '3/2': K must be from 1 to N" in completed.stderr


def test_when_sharded_in_pyproject_style_ini_then_it_collects_the_share_repro_verify_picks(tmp_path: Path) -> None:
    names = [f"nb{index:02d}.ipynb" for index in range(12)]
    for name in names:
        write_notebook(tmp_path / name, "x = 1")
    (tmp_path / "pytest.ini").write_text("[pytest]\nrepro_verify = true\nrepro_shard = 2/3\n")
    completed = run_pytest(tmp_path, "--collect-only", "-q")
    collected = sorted(line.split("::")[0] for line in completed.stdout.splitlines() if "::" in line)
    expected = sorted(str(path) for path in parse_shard("2/3").select([Path(name) for name in names]))
    assert collected == expected and 0 < len(collected) < len(names), completed.stdout
    assert f"{len(names) - len(expected)} deselected" in completed.stdout


@pytest.mark.kernel
def test_when_pytest_verifies_notebooks_then_verdicts_match_the_cli_with_its_report_as_the_text(
    tmp_path: Path,
) -> None:
    good = write_notebook(tmp_path / "a_good.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    assert run_cli(str(good), "--runs", "1", "-q")[0] == 0  # records the ledger
    diverged = write_notebook(tmp_path / "b_diverged.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    data = Ledger.load(tmp_path / "a_good.repro.json").to_json()
    data["records"][0]["values"]["x"]["value"] = 2.5
    Ledger.from_json(data).save(tmp_path / "b_diverged.repro.json")
    write_notebook(tmp_path / "c_broken.ipynb", "x = 1", "raise ValueError('boom')")
    write_notebook(tmp_path / "d_plain.ipynb", "x = 1")

    completed = run_pytest(tmp_path, "--repro-verify", "-rA", "--junitxml", "report.xml")
    out = completed.stdout
    assert completed.returncode == 1, out
    assert "2 passed" in out and "1 failed" in out and "1 error" in out, out
    assert "PASSED a_good.ipynb::a_good.ipynb" in out and "PASSED d_plain.ipynb::d_plain.ipynb" in out
    assert "FAILED b_diverged.ipynb::b_diverged.ipynb" in out and "ERROR c_broken.ipynb::c_broken.ipynb" in out
    assert "a_good.ipynb: identical to the ledger, bitwise (1 cell, 1 number" in out
    assert "d_plain.ipynb: NOTHING CHECKED: no %%reproducible cell recorded a value to compare" in out
    assert "c_broken.ipynb: FAILED to run, in run 1, at cell 2 (id c1): raise ValueError('boom')" in out
    assert "ValueError: boom" in out
    # The failure's text is the report, the same lines as repro-verify's, not the plugin's traceback.
    status, cli_out, _ = run_cli(str(diverged), "-q")
    assert status == 1
    cli_lines = [line.replace(str(tmp_path) + os.sep, "") for line in cli_out.splitlines()]
    assert cli_lines[0].startswith("b_diverged.ipynb: DIVERGED, run 1 vs ledger, first at cell 1 (id c0)")
    assert "\n".join(cli_lines) in out, out
    assert "Traceback" not in out and "pytest_plugin.py" not in out
    junit = ElementTree.parse(tmp_path / "report.xml").getroot()
    cases = {case.get("name"): case for case in junit.iter("testcase")}
    failure = cases["b_diverged.ipynb"].find("failure")
    assert failure is not None and cli_lines[1].strip() in (failure.text or "")
    error = cases["c_broken.ipynb"].find("error")
    assert error is not None and "ValueError: boom" in (error.text or "")
    passed = cases["a_good.ipynb"].find("properties/property[@name='repro-verify']")
    assert passed is not None and "identical to the ledger" in (passed.get("value") or "")


@pytest.mark.kernel
def test_when_run_under_xdist_then_lf_x_and_k_select_notebooks_as_for_any_test(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    for name in ("a_diverged", "b_good"):
        write_notebook(tmp_path / f"{name}.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    assert run_cli(str(tmp_path / "b_good.ipynb"), "--runs", "1", "-q")[0] == 0
    data = Ledger.load(tmp_path / "b_good.repro.json").to_json()
    data["records"][0]["values"]["x"]["value"] = 2.5
    Ledger.from_json(data).save(tmp_path / "a_diverged.repro.json")

    parallel = run_pytest(tmp_path, "--repro-verify", "-n", "2", "-q")
    assert parallel.returncode == 1 and "1 failed, 1 passed" in parallel.stdout, parallel.stdout
    assert "a_diverged.ipynb: DIVERGED" in parallel.stdout and "Traceback" not in parallel.stdout
    last_failed = run_pytest(tmp_path, "--repro-verify", "--lf", "-q")
    # --lf does not even collect a file with no failure last time.
    assert "1 failed in" in last_failed.stdout and "b_good" not in last_failed.stdout, last_failed.stdout
    stop_first = run_pytest(tmp_path, "--repro-verify", "-x", "-q")
    assert "1 failed" in stop_first.stdout and "passed" not in stop_first.stdout, stop_first.stdout
    chosen = run_pytest(tmp_path, "--repro-verify", "-k", "good", "-q")
    assert chosen.returncode == 0 and "1 passed, 1 deselected" in chosen.stdout, chosen.stdout


@pytest.mark.kernel
def test_when_a_tolerance_is_set_in_the_ini_file_then_it_applies_the_command_line_wins_and_update_replaces(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    assert run_cli(str(notebook), "--runs", "1", "-q")[0] == 0
    ledger = tmp_path / "n.repro.json"
    data = Ledger.load(ledger).to_json()
    data["records"][0]["values"]["x"]["value"] = 1.5 + 1e-12
    Ledger.from_json(data).save(ledger)
    (tmp_path / "pytest.ini").write_text("[pytest]\nrepro_verify = true\nrepro_atol = 1e-9\n")

    within = run_pytest(tmp_path, "-rP")
    assert within.returncode == 0, within.stdout
    assert "n.ipynb: within tolerance to the ledger (rtol 0, atol 1e-09; 1 cell, 1 number" in within.stdout
    bitwise = run_pytest(tmp_path, "--repro-atol", "0", "-q")
    assert bitwise.returncode == 1 and "value 'x': ledger 1.500000000001 vs run 1 1.5" in bitwise.stdout, bitwise.stdout
    updated = run_pytest(tmp_path, "--repro-atol", "0", "--repro-update", "-q")
    assert updated.returncode == 0 and "1 passed" in updated.stdout, updated.stdout
    assert Ledger.load(ledger).to_json()["records"][0]["values"]["x"]["value"] == 1.5


def test_when_a_file_is_not_a_notebook_then_its_error_is_said_once_without_a_chained_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.ipynb").write_text("just some words")
    completed = run_pytest(tmp_path, "--repro-verify", "-q")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    # Once in the error's report; pytest's own short summary (-ra) may repeat it on its ERROR line.
    report = completed.stdout.split("short test summary info")[0]
    assert report.count("bad.ipynb is not a Jupyter notebook (.ipynb JSON)\n") == 1, completed.stdout
    assert "During handling of the above exception" not in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
