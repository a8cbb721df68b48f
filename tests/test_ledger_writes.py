"""How the ledger is written: the journal, the lock, symbolic links; real files and real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, write_notebook

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
