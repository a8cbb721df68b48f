"""How the ledger is written: the journal, the lock, symbolic links; real files and real processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli, write_notebook

from repro_magics.exceptions import LedgerError
from repro_magics.ledger import journal
from repro_magics.ledger.store import FOLD_MINIMUM_BYTES, Ledger, LedgerAppender

REPOSITORY = Path(__file__).parents[1]
ENVIRONMENT = {"python": "3.11", "packages": {"keras": "3.15"}}


def record(cell: str, number: int, seed: int = 0, padding: int = 0) -> dict[str, Any]:
    return {
        "cell_id": cell,
        "cell_number": number,
        "seed": seed,
        "source_first_line": f"%%reproducible seed={seed}",
        "source_hash": f"{number:016x}",
        "histories": [],
        "values": {"pad": {"type": "str", "value": "x" * padding}},
    }


def identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_ino, status.st_mtime_ns


def test_when_cells_are_added_then_the_ledger_is_not_rewritten_until_the_journal_outgrows_it(tmp_path: Path) -> None:
    path = tmp_path / "n.repro.json"
    Ledger(
        [{**record(f"old{n}", n + 1, padding=1000), "environment": "e"} for n in range(100)], {"e": ENVIRONMENT}
    ).save(path)
    before, size = identity(path), path.stat().st_size
    assert size > FOLD_MINIMUM_BYTES
    appender = LedgerAppender(path)
    appender.add(record("new0", 200, padding=1000), ENVIRONMENT)
    appender.add(record("old5", 6, seed=9, padding=1000), ENVIRONMENT)
    assert identity(path) == before, "a cell appends; it does not rewrite the ledger"
    loaded = Ledger.load(path)
    assert len(loaded.records) == 101
    assert next(r for r in loaded.records if r["cell_id"] == "old5")["seed"] == 9, "the journal's later record wins"

    added, journal_size = 2, 0
    while journal.journal_path_for(path).exists():
        journal_size = journal.journal_path_for(path).stat().st_size
        appender.add(record(f"new{added}", 200 + added, padding=1000), ENVIRONMENT)
        added += 1
    assert size - 1200 < journal_size <= size, "folded when the journal passed the ledger's size, not before"
    on_disk = json.loads(path.read_text())
    assert len(on_disk["records"]) == 100 + added - 1, "every new record, old5 replaced"
    assert [r["cell_number"] for r in on_disk["records"]] == sorted(r["cell_number"] for r in on_disk["records"])
    assert Ledger.load(path) == Ledger.from_json(on_disk)


def test_when_a_ledger_is_saved_then_its_journal_is_replaced_too(tmp_path: Path) -> None:
    path = tmp_path / "n.repro.json"
    appender = LedgerAppender(path)
    appender.add(record("a", 1), ENVIRONMENT)
    appender.add(record("b", 2), ENVIRONMENT)
    assert journal.journal_path_for(path).exists()
    Ledger().with_record(record("c", 3), ENVIRONMENT).save(path)
    assert not journal.journal_path_for(path).exists()
    assert [r["cell_id"] for r in Ledger.load(path).records] == ["c"]


def test_when_the_ledger_is_corrupt_then_adding_leaves_it_and_writes_no_journal(tmp_path: Path) -> None:
    path = tmp_path / "n.repro.json"
    path.write_text("{half a file")
    with pytest.raises(LedgerError, match="is corrupt: not valid JSON at line 1"):
        LedgerAppender(path).add(record("a", 1), ENVIRONMENT)
    assert path.read_text() == "{half a file"
    assert not journal.journal_path_for(path).exists()


def test_when_a_journal_line_is_not_a_record_then_loading_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "n.repro.json"
    Ledger().save(path)
    journal.journal_path_for(path).write_text('{"record": {}, "environment": {}}\n[1, 2]\n')
    with pytest.raises(LedgerError, match=r"n\.repro\.journal\.jsonl is corrupt: line 2 is not a record"):
        Ledger.load(path)


def test_when_the_ledger_is_a_symlink_then_saving_writes_through_to_its_target(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    target, link = shared / "real.repro.json", tmp_path / "n.repro.json"
    Ledger().with_record(record("a", 1), ENVIRONMENT).save(target)
    link.symlink_to(Path("shared") / "real.repro.json")
    Ledger().with_record(record("b", 2), ENVIRONMENT).save(link)
    assert link.is_symlink(), "the link is still a link"
    assert [r["cell_id"] for r in Ledger.load(target).records] == ["b"], "its target holds the new ledger"
    LedgerAppender(link).add(record("c", 3), ENVIRONMENT)
    assert link.is_symlink()
    assert [r["cell_id"] for r in Ledger.load(link).records] == ["b", "c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.repro.json", "shared"], "nothing written beside the link"


def test_when_another_process_holds_the_lock_then_the_cell_succeeds_and_one_line_says_so(
    ipython: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.repro.json"
    lock = journal.lock_path_for(ledger)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import filelock, time\nwith filelock.FileLock({str(lock)!r}):\n print(1, flush=True)\n time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
        monkeypatch.setattr(journal, "LOCK_TIMEOUT_SECONDS", 0.5)
        assert ipython.run_cell("%%reproducible seed=1 record=x\nx = 41 + 1").success
        assert ipython.user_ns["x"] == 42
    finally:
        holder.kill()
        holder.wait()
    lines = [line for line in capsys.readouterr().err.splitlines() if "record was not saved" in line]
    assert lines == [f"repro_magics: another process held {lock} for 0.5 s; this cell's record was not saved."]
    assert not ledger.exists()


@pytest.mark.kernel
def test_when_two_processes_run_cells_on_one_ledger_at_once_then_no_record_is_lost() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.concurrent_writers", "--trials", "2", "--cells", "40"],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.stdout.splitlines()[-1] == "2 trials: kept 160 of 160 records, lost 0", completed.stderr[-2000:]
    assert completed.returncode == 0


@pytest.mark.kernel
def test_when_update_writes_a_ledger_that_is_a_symlink_then_the_link_stays_and_its_target_is_replaced(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "%%reproducible seed=9 record=total\ntotal = 0.25 + 0.5")
    assert run_cli(str(notebook), "--quiet", "--runs", "1")[0] == 0
    (tmp_path / "shared").mkdir()
    target, link = tmp_path / "shared" / "kept.repro.json", tmp_path / "n.repro.json"
    edited = json.loads(link.read_text())
    edited["records"][0]["values"]["total"]["value"] = 0.7501
    target.write_text(json.dumps(edited))
    link.unlink()
    link.symlink_to(Path("shared") / "kept.repro.json")

    status, out, _ = run_cli(str(notebook), "--quiet", "--update")
    assert status == 0, out
    assert "ledger updated" in out
    assert link.is_symlink() and os.readlink(link) == str(Path("shared") / "kept.repro.json")
    assert json.loads(target.read_text())["records"][0]["values"]["total"]["value"] == 0.75
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "no temporary file left"


LINE_BREAKS_BUT_NOT_NEWLINES = ["\u2028", "\u2029", "\x85"]


@pytest.mark.parametrize("separator", LINE_BREAKS_BUT_NOT_NEWLINES, ids=["U+2028", "U+2029", "NEL"])
def test_when_a_recorded_string_holds_a_unicode_line_break_then_the_journal_keeps_every_record(
    tmp_path: Path, separator: str
) -> None:
    path = tmp_path / "n.repro.json"
    Ledger().save(path)
    appender = LedgerAppender(path)
    first = record("a", 1)
    first["values"] = {"s": {"type": "str", "value": f"a{separator}b"}}
    appender.add(first, ENVIRONMENT)
    appender.add(record("b", 2), ENVIRONMENT)
    text = journal.journal_path_for(path).read_text(encoding="utf-8")
    assert separator not in text and text.count("\n") == 2, "one line per record"
    loaded = Ledger.load(path)
    assert [r["cell_id"] for r in loaded.records] == ["a", "b"]
    assert loaded.records[0]["values"]["s"]["value"] == f"a{separator}b"


def test_when_an_existing_journal_holds_unicode_line_breaks_raw_then_its_records_are_read(tmp_path: Path) -> None:
    path = tmp_path / "n.repro.json"
    Ledger().save(path)
    lines = []
    for number, separator in enumerate(LINE_BREAKS_BUT_NOT_NEWLINES, start=1):
        entry = record(f"c{number}", number)
        entry["values"] = {"s": {"type": "str", "value": f"a{separator}b"}}
        entry["environment"] = "e"
        # As journals were written before: raw characters, not escapes.
        lines.append(json.dumps({"record": entry, "environment": ENVIRONMENT}, ensure_ascii=False) + "\n")
    journal.journal_path_for(path).write_text("".join(lines), encoding="utf-8")
    loaded = Ledger.load(path)
    assert [r["values"]["s"]["value"] for r in loaded.records] == [f"a{s}b" for s in LINE_BREAKS_BUT_NOT_NEWLINES]


@pytest.mark.kernel
def test_when_a_recorded_cell_holds_a_unicode_line_separator_then_verify_sees_both_records(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "n.ipynb",
        '%%reproducible seed=1 record=s\ns = "a\\u2028b"',
        "%%reproducible seed=2 record=t\nt = 5",
    )
    status, out, err = run_cli(str(notebook), "--quiet")
    assert status == 0, out + err
    assert "NOTHING CHECKED" not in out
    assert "bitwise (2 cells, " in out and "(2 cell records)" in out, out
    ledger = Ledger.load(tmp_path / "n.repro.json")
    assert [sorted(r["values"]) for r in ledger.records] == [["s"], ["t"]]
    assert ledger.records[0]["values"]["s"]["value"] == "a\u2028b"
    status, out, err = run_cli(str(notebook), "--quiet")
    assert status == 0 and "NOTHING CHECKED" not in out, out + err


@pytest.mark.parametrize("where", ["ledger", "journal"])
def test_when_a_ledger_holds_an_integer_of_5000_digits_then_it_is_corrupt_naming_the_file_and_the_field(
    tmp_path: Path, where: str
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "%%reproducible seed=1 record=x\nx = 1")
    path = tmp_path / "n.repro.json"
    entry = record("c0", 1)
    entry["values"] = {"x": {"type": "int", "value": 7}}
    if where == "ledger":
        Ledger().with_record(entry, ENVIRONMENT).save(path)
        path.write_text(path.read_text().replace('"value": 7', '"value": ' + "7" * 5000))
        field, file = "records[0].values.x.value", f"ledger {path}"
    else:
        Ledger().save(path)
        LedgerAppender(path).add(entry, ENVIRONMENT)
        journal_file = journal.journal_path_for(path)
        journal_file.write_text(journal_file.read_text().replace('"value":7', '"value":' + "7" * 5000))
        field, file = "record.values.x.value", f"journal {journal_file}"
    sentence = f"{file} is corrupt: {'line 1: ' if where == 'journal' else ''}{field} is a whole number of 5000 digits"
    with pytest.raises(LedgerError, match=re.escape(sentence)):
        Ledger.load(path)
    for argv in ([str(notebook)], ["--check-ledger", str(notebook)]):
        status, out, err = run_cli(*argv)
        assert status == 2 and out == ""
        assert err.startswith(f"repro-verify: error: {sentence}") and err.count("\n") == 1, err


@pytest.mark.parametrize("which", ["notebook", "ledger", "journal"])
def test_when_an_input_is_a_fifo_then_exit_2_at_once_saying_it_is_not_a_regular_file(
    tmp_path: Path, which: str
) -> None:
    notebook = tmp_path / "f.ipynb"
    if which != "notebook":
        write_notebook(notebook, "x = 1")
    fifo = {
        "notebook": notebook,
        "ledger": tmp_path / "f.repro.json",
        "journal": tmp_path / "f.repro.journal.jsonl",
    }[which]
    if which == "journal":
        Ledger().save(tmp_path / "f.repro.json")
    os.mkfifo(fifo)
    for argv in ([str(notebook)], ["--check-ledger", str(notebook)]):
        status, out, err = run_cli(*argv)
        assert status == 2 and out == ""
        assert f"{fifo} is not a regular file" in err and err.count("\n") == 1, err
