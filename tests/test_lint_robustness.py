"""Hostile input to repro-lint: deep nesting, huge expressions, bad JSON, FIFOs. One sentence, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_notebook

from repro_magics.lint import lint_path

UNSEEDED = "import numpy as np\nrng = np.random.default_rng()"


def run_lint_process(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m repro_magics.lint ARGV` as a user runs it; a hang fails the test instead of blocking it."""
    return subprocess.run(
        [sys.executable, "-m", "repro_magics.lint", *argv], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_when_the_notebook_json_is_nested_100000_deep_then_one_sentence_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "deep.ipynb").write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = run_lint_process("deep.ipynb", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "repro-lint: deep.ipynb: is not a notebook (its JSON is nested too deeply to read)\n"


@pytest.mark.parametrize(
    "huge",
    [
        "total = " + " + ".join(["1"] * 20_000),
        "value = model" + ".layer" * 30_000,
        "value = make" + "()" * 30_000,
        "value = frame" + ".pipe(f)" * 30_000,
    ],
    ids=["20000-term-sum", "30000-attribute-chain", "30000-call-chain", "30000-method-chain"],
)
def test_when_a_cell_is_too_deep_to_parse_then_it_is_named_and_the_other_cells_are_checked(
    tmp_path: Path, huge: str
) -> None:
    write_notebook(tmp_path / "nb.ipynb", huge, UNSEEDED)
    result = run_lint_process("nb.ipynb", "--select", "ALL", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("nb.ipynb:cell 2:2:7: RM101 ")
    assert result.stderr == "repro-lint: nb.ipynb:cell 1: not checked: it is nested too deeply to parse\n"


def test_when_a_cell_parses_but_nests_deeper_than_the_rules_analyse_then_it_is_named(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb.ipynb", "x = " + " + ".join(["np.random.rand()"] * 400), UNSEEDED)
    result = run_lint_process("nb.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert [line.split(" ")[0] for line in result.stdout.splitlines()] == ["nb.ipynb:cell"]
    assert "cell 1: not checked: it is nested too deeply to analyse (more than 200 levels)" in result.stderr


def test_when_a_cell_nests_just_under_the_limit_then_every_rule_analyses_it(tmp_path: Path) -> None:
    deep = "import numpy as np\nx = " + " + ".join(["np.random.rand()"] * 190)
    findings = lint_path(write_notebook(tmp_path / "nb.ipynb", deep), select=["ALL"])
    assert [(f.cell, f.code) for f in findings] == [(1, "RM114")]


def test_when_a_cell_is_not_python_then_it_is_named_with_the_line_and_the_others_are_checked(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb.ipynb", "def broken(:\n    pass", UNSEEDED)
    result = run_lint_process("nb.ipynb", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("nb.ipynb:cell 2:")
    assert result.stderr.startswith("repro-lint: nb.ipynb:cell 1: not checked: it is not valid Python (line 1: ")


def test_when_the_notebook_is_not_json_then_the_sentence_says_where_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text('{"cells": [}')
    result = run_lint_process("bad.ipynb", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "repro-lint: bad.ipynb: is not a notebook (not valid JSON at line 1, column 12)\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_when_the_notebook_is_a_fifo_then_it_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f.ipynb")
    result = run_lint_process("f.ipynb", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "repro-lint: f.ipynb: is not a regular file (a FIFO, socket or device), so it is not read\n"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_when_a_folder_holds_a_fifo_named_like_a_notebook_then_it_is_refused_too(tmp_path: Path) -> None:
    write_notebook(tmp_path / "a.ipynb", "print(1)")
    os.mkfifo(tmp_path / "b.ipynb")
    result = run_lint_process(".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "repro-lint: b.ipynb: is not a regular file (a FIFO, socket or device), so it is not read\n"


def test_when_a_cell_source_is_not_text_then_it_reads_as_empty_and_nothing_fails(tmp_path: Path) -> None:
    content = {
        "cells": [
            {"cell_type": "code", "source": [[[["nested"]]]], "metadata": {}, "outputs": []},
            {"cell_type": "code", "source": UNSEEDED, "metadata": {}, "outputs": []},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "nb.ipynb").write_text(json.dumps(content))
    assert [(f.cell, f.code) for f in lint_path(tmp_path / "nb.ipynb")] == [(2, "RM101")]
