"""Progress lines of `repro-verify` in a log (output not a terminal): a line per run, a line per cell with -v."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import run_cli, write_notebook
from test_verify_faults import REPRO_VERIFY

THREE_CELLS = ("import numpy as np", "%%reproducible seed=1 record=x\nx = np.random.rand(2)", "y = x * 2")


def _verify_in_a_log(*argv: str) -> subprocess.CompletedProcess[str]:
    """`repro-verify ARGV` with stdout and stderr to pipes, as a CI runner collects them."""
    return subprocess.run([*REPRO_VERIFY, *argv], capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.kernel
def test_when_the_output_is_not_a_terminal_then_each_notebook_run_gets_one_line_with_its_time(tmp_path: Path) -> None:
    first = write_notebook(tmp_path / "first.ipynb", *THREE_CELLS)
    second = write_notebook(tmp_path / "second.ipynb", *THREE_CELLS)

    completed = _verify_in_a_log(str(first), str(second))

    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stderr.splitlines()
    expected = [
        rf"{re.escape(str(notebook))} run {run}/2 finished: 3 cells in \d+\.\d s"
        for notebook in (first, second)
        for run in (1, 2)
    ]
    assert len(lines) == len(expected), completed.stderr
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)
    assert completed.stdout.startswith(f"{first}: identical across the fresh runs, bitwise")


@pytest.mark.kernel
def test_when_verbose_and_not_a_terminal_then_each_cell_of_each_run_gets_a_line_too(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "cells.ipynb", *THREE_CELLS)

    completed = _verify_in_a_log("-v", str(notebook))

    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stderr.splitlines()
    cells = [f"{notebook} run {run}/2: cell {cell}/3" for run in (1, 2) for cell in (1, 2, 3)]
    assert [line[: len(cell)] for line, cell in zip(lines[:6], cells, strict=True)] == cells
    assert lines[1] == f"{notebook} run 1/2: cell 2/3 %%reproducible seed=1 record=x"
    assert [re.sub(r"\d+\.\d s$", "T s", line) for line in lines[6:]] == [
        f"{notebook} run 1/2 finished: 3 cells in T s",
        f"{notebook} run 2/2 finished: 3 cells in T s",
    ]


def test_when_quiet_and_verbose_are_both_given_then_it_is_a_usage_error(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    status, out, err = run_cli("-q", "-v", str(notebook))
    assert status == 2 and out == ""
    assert err == (
        "repro-verify: error: argument -v/--verbose: not allowed with argument -q/--quiet (see repro-verify --help)\n"
    )
