"""`repro-verify` on bad input: one sentence, exit status 2, nothing touched. No kernel starts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import run_cli, write_notebook

from repro_magics.cli import module_main


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_usage_error(argv: list[str], message: str) -> None:
    status, out, err = run_cli(*argv)
    assert status == 2
    assert out == ""
    assert err.startswith("repro-verify: error: ")
    assert message in err
    assert err.count("\n") == 1, "one line, no traceback"


def test_when_the_notebook_is_missing_then_exit_2(tmp_path: Path) -> None:
    assert_usage_error([str(tmp_path / "nope.ipynb")], f"{tmp_path / 'nope.ipynb'} does not exist")


def test_when_the_file_is_not_a_notebook_then_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "notes.ipynb"
    path.write_text("just some words")
    assert_usage_error([str(path)], "is not a Jupyter notebook")
    folder = tmp_path / "folder.ipynb"
    folder.mkdir()
    assert_usage_error([str(folder)], "is a folder, not a notebook")


def test_when_the_ledger_is_corrupt_then_exit_2_and_it_is_left_as_it_was(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    ledger = tmp_path / "n.repro.json"
    ledger.write_text('{"format": "repro-magics-ledger", "records": [')
    before = digest(ledger), digest(notebook)
    assert_usage_error([str(notebook)], f"ledger {ledger} is corrupt: not valid JSON")
    assert (digest(ledger), digest(notebook)) == before


def test_when_the_explicit_baseline_is_missing_then_exit_2(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    assert_usage_error([str(notebook), "--baseline", str(tmp_path / "b.json")], "does not exist")


def test_when_a_baseline_is_given_for_two_notebooks_then_exit_2(tmp_path: Path) -> None:
    a, b = write_notebook(tmp_path / "a.ipynb", "1"), write_notebook(tmp_path / "b.ipynb", "2")
    assert_usage_error([str(a), str(b), "--baseline", str(tmp_path / "x.json")], "--baseline compares one notebook")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rtol", "-1"], "'-1' must be a finite number of 0 or more"),
        (["--atol", "abc"], "'abc' is not a number"),
        (["--runs", "0"], "'0' must be 1 or more"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--kernel", "no-such-kernel-here"], "no Jupyter kernel named 'no-such-kernel-here' is installed"),
    ],
)
def test_when_an_option_is_bad_then_exit_2_with_the_reason(tmp_path: Path, argv: list[str], message: str) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    assert_usage_error([str(notebook), *argv], message)


def test_when_no_notebook_is_given_then_exit_2() -> None:
    assert_usage_error([], "the following arguments are required: NOTEBOOK")


def test_the_module_entry_point_reports_usage_errors_the_same_way(capsys: pytest.CaptureFixture[str]) -> None:
    assert module_main(["verify", "/nonexistent/x.ipynb"]) == 2
    assert capsys.readouterr().err == "python -m repro_magics: error: /nonexistent/x.ipynb does not exist\n"


def test_when_the_json_folder_is_missing_then_exit_2_before_any_run(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    assert_usage_error([str(notebook), "--json", str(tmp_path / "no" / "r.json")], "the folder for --json")
    assert not (tmp_path / "n.repro.json").exists()
