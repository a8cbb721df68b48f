"""`--changed`: a verification's inputs noted in the ledger, and notebooks skipped while none of them changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ledger_data, run_cli, write_notebook

from repro_magics.ledger.store import Ledger
from repro_magics.notebooks import read_notebook
from repro_magics.verify.changed import code_hash, kernel_environment_key, stamp, unchanged_since

READS_DATA = "%%reproducible seed=1 record=x\nx = float(open('data.csv').read())"


def test_when_a_ledger_predates_changed_then_it_loads_and_its_notebook_is_never_skipped(tmp_path: Path) -> None:
    notebook_path = write_notebook(tmp_path / "old.ipynb", "x = 1")
    ledger_path = tmp_path / "old.repro.json"
    ledger_path.write_text(json.dumps(ledger_data(x=1.5)))
    ledger = Ledger.load(ledger_path)
    assert ledger.verified is None
    assert unchanged_since(notebook_path, read_notebook(notebook_path), ledger, kernel_environment_key()) is None


def test_when_a_stamp_is_saved_then_the_schema_accepts_it_and_any_change_it_names_undoes_the_skip(
    tmp_path: Path,
) -> None:
    notebook_path = write_notebook(tmp_path / "n.ipynb", READS_DATA)
    (tmp_path / "data.csv").write_text("1.5")
    notebook = read_notebook(notebook_path)
    ledger_path = tmp_path / "n.repro.json"
    ledger_path.write_text(json.dumps(ledger_data(x=1.5)))
    ledger = Ledger.load(ledger_path)
    from repro_magics.verify.changed import file_hash, listing_hash

    ledger.verified = stamp(
        notebook, "env-a", {"data.csv": str(file_hash(tmp_path / "data.csv"))}, {".": str(listing_hash(tmp_path))}
    )
    ledger.save(ledger_path)
    reloaded = Ledger.load(ledger_path)  # validated against the schema on the way in
    assert reloaded.verified == ledger.verified
    assert unchanged_since(notebook_path, notebook, reloaded, "env-a") == reloaded.verified["at"]
    assert unchanged_since(notebook_path, notebook, reloaded, "env-b") is None
    (tmp_path / "other.txt").write_text("a new file in a folder the run listed")
    assert unchanged_since(notebook_path, notebook, reloaded, "env-a") is None
    (tmp_path / "other.txt").unlink()
    (tmp_path / "data.csv").write_text("2.5")
    assert unchanged_since(notebook_path, notebook, reloaded, "env-a") is None
    (tmp_path / "data.csv").write_text("1.5")
    notebook.cells[0].source += "\n# a comment"
    assert code_hash(notebook) != reloaded.verified["code"]
    assert unchanged_since(notebook_path, notebook, reloaded, "env-a") is None


def test_when_a_stamp_is_malformed_then_the_ledger_is_refused_naming_the_field(tmp_path: Path) -> None:
    data = {**ledger_data(x=1.5), "verified": {"at": "yesterday", "code": "0" * 16, "environment": "e"}}
    (tmp_path / "n.repro.json").write_text(json.dumps(data))
    status, _, err = run_cli("--changed", str(write_notebook(tmp_path / "n.ipynb", "x = 1")))
    assert status == 2
    assert "verified lacks 'inputs' and 'listings'" in err


def test_when_the_kernel_side_hook_watches_then_reads_listings_and_own_outputs_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("1,2")
    (tmp_path / "sub").mkdir()
    script = (
        "import os, sys, glob, importlib.metadata\n"
        "from repro_magics.kernel.input_reads import watch_reads\n"
        "watch_reads()\n"
        "sys.path.insert(0, '')\n"
        "import numpy, json  # the import system lists the folder on sys.path: no input\n"
        "importlib.metadata.version('numpy')  # so does importlib.metadata\n"
        "open('data.csv').read()\n"
        "numpy.savetxt('out.txt', [1.0]); numpy.loadtxt('out.txt')\n"
        "glob.glob('sub/*.csv')\n"
        "open(os.path.join(os.path.expanduser('~'), '.outside-the-folder'), 'a').close()\n"
    )
    log = tmp_path.parent / f"{tmp_path.name}-reads.log"
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        check=True,
        env={**os.environ, "REPRO_MAGICS_READS_LOG": str(log), "REPRO_MAGICS_NOTEBOOK": str(tmp_path / "n.ipynb")},
    )
    assert log.read_text().splitlines() == [
        f"read\t{tmp_path / 'data.csv'}",
        f"write\t{tmp_path / 'out.txt'}",
        f"read\t{tmp_path / 'out.txt'}",
        f"list\t{tmp_path / 'sub'}",
    ]
    from repro_magics.verify.changed import summarize_reads

    inputs, listings = summarize_reads(log, tmp_path / "n.ipynb")
    assert list(inputs) == ["data.csv"]  # out.txt is the run's own output
    assert list(listings) == ["sub"]


@pytest.mark.kernel
def test_when_one_cell_or_one_input_changes_then_changed_verifies_only_the_notebooks_that_depend_on_it(
    tmp_path: Path,
) -> None:
    (tmp_path / "data.csv").write_text("1.5")
    notebooks = [
        write_notebook(tmp_path / "a_reads.ipynb", READS_DATA),
        write_notebook(tmp_path / "b_plain.ipynb", "%%reproducible seed=1 record=x\nx = 2.5"),
        write_notebook(tmp_path / "c_reads.ipynb", "y = 2", READS_DATA),
        write_notebook(tmp_path / "d_plain.ipynb", "%%reproducible seed=1 record=x\nx = [1, 2]"),
    ]
    names = list(map(str, notebooks))
    status, out, err = run_cli("--changed", "-q", "-j", "2", "--runs", "1", *names)
    assert status == 0, out + err
    assert "skipped" not in out  # no ledger held a note yet
    verified = json.loads((tmp_path / "a_reads.repro.json").read_text())["verified"]
    assert list(verified["inputs"]) == ["data.csv"]

    report, summary = tmp_path / "report.json", tmp_path / "summary.md"
    status, out, err = run_cli("--changed", "-q", "-j", "2", "--json", str(report), "--markdown", str(summary), *names)
    assert status == 0, out + err
    assert [entry["notebook"] for entry in json.loads(report.read_text())["skipped"]] == names
    assert f"| <code>{names[3]}</code> | skipped: unchanged since " in summary.read_text()
    skipped = [line for line in out.splitlines() if ": skipped: unchanged since its verification at " in line]
    assert [line.split(":")[0] for line in skipped] == names
    assert out.splitlines()[-1] == "4 notebooks: 0 reproduced, 0 differ, 0 failed to run, 4 skipped (unchanged)"

    write_notebook(notebooks[1], "# a new first cell", "%%reproducible seed=1 record=x\nx = 2.5")
    status, out, err = run_cli("--changed", "-q", "-j", "2", *names)
    assert status == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith(f"{notebooks[0]}: skipped: unchanged since its verification at ")
    assert lines[1].startswith(f"{notebooks[1]}: identical to the ledger")
    assert [line.split(":")[0] for line in lines if ": skipped: " in line] == [names[0], names[2], names[3]]
    assert lines[-1] == "4 notebooks: 1 reproduced, 0 differ, 0 failed to run, 3 skipped (unchanged)"

    (tmp_path / "data.csv").write_text("1.5\n")  # same number, different bytes
    status, out, err = run_cli("--changed", "-q", "-j", "2", *names)
    assert status == 0, out + err
    assert [line.split(":")[0] for line in out.splitlines() if ": skipped: " in line] == [names[1], names[3]]
    assert f"{notebooks[0]}: identical to the ledger" in out and f"{notebooks[2]}: identical to the ledger" in out


def test_when_the_pytest_plugin_is_given_repro_changed_then_a_noted_unchanged_notebook_is_a_skipped_test(
    tmp_path: Path,
) -> None:
    from test_pytest_plugin import run_pytest

    (tmp_path / "data.csv").write_text("1.5")
    notebook_path = write_notebook(tmp_path / "noted.ipynb", READS_DATA)
    unnoted = write_notebook(tmp_path / "unnoted.ipynb", "raise ValueError('runs: its ledger holds no note')")
    for path in (notebook_path, unnoted):
        path.with_suffix("").with_suffix(".repro.json").write_text(json.dumps(ledger_data(x=1.5)))
    ledger_path = tmp_path / "noted.repro.json"
    ledger = Ledger.load(ledger_path)
    from repro_magics.verify.changed import file_hash

    inputs = {"data.csv": str(file_hash(tmp_path / "data.csv"))}
    ledger.verified = stamp(read_notebook(notebook_path), kernel_environment_key(), inputs, {})
    ledger.save(ledger_path)
    completed = run_pytest(tmp_path, "--repro-verify", "--repro-changed", "-rs", "noted.ipynb", "unnoted.ipynb")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "noted.ipynb: skipped: unchanged since its verification at " in completed.stdout
    # The notebook without a note ran (and failed to run: an error of its set-up, as the plugin reports it).
    assert "ValueError: runs: its ledger holds no note" in completed.stdout
    assert "1 skipped, 1 error" in completed.stdout


def test_when_changed_meets_a_shard_then_the_share_is_chosen_first_and_its_unchanged_notebooks_skipped(
    tmp_path: Path,
) -> None:
    from repro_magics.verify.changed import file_hash
    from repro_magics.verify.shard import shard_of

    (tmp_path / "data.csv").write_text("1.5")
    notebook_path = write_notebook(tmp_path / "noted.ipynb", READS_DATA)
    ledger_path = tmp_path / "noted.repro.json"
    ledger_path.write_text(json.dumps(ledger_data(x=1.5)))
    ledger = Ledger.load(ledger_path)
    inputs = {"data.csv": str(file_hash(tmp_path / "data.csv"))}
    ledger.verified = stamp(read_notebook(notebook_path), kernel_environment_key(), inputs, {})
    ledger.save(ledger_path)
    share = shard_of(notebook_path, 2)
    status, out, err = run_cli("--changed", "--shard", f"{share}/2", str(notebook_path))
    assert status == 0, out + err
    assert out.startswith(f"{notebook_path}: skipped: unchanged since its verification at ")
    status, out, err = run_cli("--changed", "--shard", f"{3 - share}/2", str(notebook_path))
    assert (status, out) == (0, f"shard {3 - share}/2 holds none of the notebook given; nothing to verify\n")
