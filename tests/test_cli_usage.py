"""`repro-verify` on bad input: one sentence, exit status 2, nothing touched. No kernel starts."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import pytest
from helpers import run_cli, write_notebook

from repro_magics.cli.command import module_main
from repro_magics.ledger.store import Ledger
from repro_magics.report.text import printable


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
        (["--force-json"], "--force-json goes with --json PATH"),
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


def test_when_a_shell_glob_puts_a_notebook_after_json_then_exit_2_and_it_is_untouched(tmp_path: Path) -> None:
    first = write_notebook(tmp_path / "a.ipynb", "x = 1")
    second = write_notebook(tmp_path / "b.ipynb", "y = 2")
    before = digest(first)
    assert_usage_error(["--json", str(first), str(second)], f"--json {first} is a notebook")
    assert digest(first) == before
    assert not (tmp_path / "b.repro.json").exists()


def test_when_json_names_a_notebook_being_verified_then_exit_2(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "a.ipynb", "x = 1")
    link = tmp_path / "report.json"
    link.symlink_to(notebook)
    before = digest(notebook)
    assert_usage_error([str(notebook), "--json", str(link)], "is one of the notebooks to verify")
    assert digest(notebook) == before


@pytest.mark.parametrize("name", ["n.repro.json", "other.repro.json", "baseline.json"])
def test_when_json_names_a_ledger_then_exit_2_and_the_ledger_is_untouched(tmp_path: Path, name: str) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    baseline = tmp_path / "baseline.json"
    for ledger in (tmp_path / "n.repro.json", baseline):
        Ledger().save(ledger)
    before = digest(tmp_path / "n.repro.json"), digest(baseline)
    argv = [str(notebook), "--json", str(tmp_path / name)]
    assert_usage_error(argv + (["--baseline", str(baseline)] if name == "baseline.json" else []), "is a ledger")
    assert (digest(tmp_path / "n.repro.json"), digest(baseline)) == before


def test_when_json_names_a_folder_then_exit_2(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    (tmp_path / "reports").mkdir()
    assert_usage_error([str(notebook), "--json", str(tmp_path / "reports")], "is a folder")


def test_when_json_names_a_file_that_is_not_a_report_then_exit_2_naming_force_json(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    notes = tmp_path / "notes.json"
    notes.write_text('{"my": "notes"}')
    assert_usage_error([str(notebook), "--json", str(notes)], "is not a repro-verify report; pass --force-json")
    assert notes.read_text() == '{"my": "notes"}'
    assert not (tmp_path / "n.repro.json").exists()


def test_when_json_names_a_device_then_exit_2_even_with_force_json(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    assert_usage_error([str(notebook), "--json", "/dev/null", "--force-json"], "--json /dev/null is not a regular file")


def test_when_a_message_holds_terminal_escapes_then_they_are_shown_escaped(tmp_path: Path) -> None:
    name = tmp_path / "\x1b]0;TITLE\x07\x1b[31mred.ipynb"
    status, out, err = run_cli(str(name))
    assert status == 2 and out == ""
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b]0;TITLE\\x07\\x1b[31mred.ipynb does not exist" in err


def test_printable_escapes_control_characters_and_nothing_else() -> None:
    assert printable("a\x1b[0mb\x07c\x9bd\re\tf\u202eg\u2028") == "a\\x1b[0mb\\x07c\\x9bd\\re\\tf\\u202eg\\u2028"
    assert printable("plain text, ümlauts, 日本語, a\\path") == "plain text, ümlauts, 日本語, a\\path"


def test_when_help_is_asked_then_every_exit_status_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("--help")
    epilog = capsys.readouterr().out.split("exit status:")[1]
    statuses = [line.split()[0] for line in epilog.splitlines() if line[:3].strip().isdigit()]
    assert statuses == ["0", "1", "2", "3", "4", "5", "130", "143"]


def test_when_no_scratch_folder_can_be_made_then_3_naming_the_folder_and_the_next_notebook_is_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = write_notebook(tmp_path / "a.ipynb", "x = 1"), write_notebook(tmp_path / "b.ipynb", "y = 2")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    status, out, err = run_cli(str(first), str(second), "--quiet")
    assert status == 3, err
    assert f"{first}: FAILED to run, in run 1, at the start, before the first cell" in out
    assert f"    could not make a scratch folder in {not_a_folder}: Not a directory" in out
    assert out.endswith("2 notebooks: 0 reproduced, 0 differ, 2 failed to run\n")


@pytest.mark.parametrize(
    ("first", "second"), [("--json", "--html"), ("--markdown", "--html"), ("--json", "--markdown")]
)
def test_when_two_reports_name_the_same_file_then_exit_2_and_it_is_untouched(
    tmp_path: Path, first: str, second: str
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    report = tmp_path / "report.out"
    link = tmp_path / "link.out"
    link.symlink_to(report)
    assert_usage_error(
        [str(notebook), first, str(report), second, str(link)],
        f"{second} and {first} name the same file; give each report a file of its own",
    )
    assert not report.exists()


@pytest.mark.parametrize("option", ["--json", "--markdown", "--html"])
@pytest.mark.parametrize("state", ["absent", "empty"])
def test_when_a_report_names_the_ledgers_journal_then_exit_2_whether_or_not_it_exists(
    tmp_path: Path, option: str, state: str
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    journal = tmp_path / "n.repro.journal.jsonl"
    if state != "absent":
        Ledger().save(tmp_path / "n.repro.json")
        journal.write_text("")
    before = journal.read_bytes() if journal.exists() else None
    assert_usage_error([str(notebook), option, str(journal)], f"{option} {journal} is a ledger's journal")
    assert (journal.read_bytes() if journal.exists() else None) == before


@pytest.mark.parametrize("option", ["--json", "--markdown", "--html"])
@pytest.mark.parametrize("name", [".n.repro.lock", ".other.repro.lock"])
def test_when_a_report_names_a_ledgers_lock_then_exit_2_and_the_lock_keeps_its_inode(
    tmp_path: Path, option: str, name: str
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    Ledger().save(tmp_path / "n.repro.json")
    lock = tmp_path / name
    lock.touch()
    inode = lock.stat().st_ino
    assert_usage_error([str(notebook), option, str(lock)], f"{option} {lock} is a ledger's lock")
    assert lock.stat().st_ino == inode


def test_when_the_notebook_is_a_fifo_then_check_ledger_exits_2_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "f.ipynb"
    os.mkfifo(fifo)
    assert_usage_error(["--check-ledger", str(fifo)], f"{fifo} is not a regular file")
    assert_usage_error([str(fifo)], f"{fifo} is not a regular file")


@pytest.mark.parametrize("mode", [["--trace"], ["--calibrate", "2"]], ids=["trace", "calibrate"])
@pytest.mark.parametrize("flag", [["--markdown", "r.md"], ["--html", "r.html"], ["-j", "2"]], ids=["md", "html", "j"])
def test_when_trace_or_calibrate_is_given_a_report_or_jobs_then_2_and_one_sentence_naming_the_flag(
    tmp_path: Path, mode: list[str], flag: list[str]
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    value = str(tmp_path / flag[1]) if flag[1].startswith("r.") else flag[1]

    status, out, err = run_cli(str(notebook), *mode, flag[0], value)

    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"repro-verify: error: {mode[0]} ")
    assert err.rstrip().endswith(f"drop {flag[0]}")
    assert not (tmp_path / "r.md").exists() and not (tmp_path / "r.html").exists()
