"""`repro-verify` under faults and misuse: signals, writes that fail, symlinks, hostile text. Real kernels."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import run_cli, write_notebook

from repro_magics.ledger.store import Ledger

pytestmark = pytest.mark.kernel

# What the `repro-verify` console script runs, whether or not the script is installed.
REPRO_VERIFY = [sys.executable, "-c", "import sys; from repro_magics.cli import main; sys.exit(main())"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_running(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def processes_marked(marker: str) -> set[int]:
    """Live processes whose environment holds `marker`: repro-verify and every kernel it started."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and marker.encode() in (entry / "environ").read_bytes()
                and is_running(int(entry.name))
            ):
                found.add(int(entry.name))
        except OSError:
            pass
    return found


def children_of(pid: int) -> set[int]:
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children |= {int(child) for child in (task / "children").read_text().split()}
    return children


@pytest.mark.parametrize(
    ("signum", "status", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
@pytest.mark.parametrize("had_ledger", [True, False], ids=["with-ledger", "without-ledger"])
def test_when_a_signal_arrives_mid_cell_then_its_status_one_line_no_kernel_left_and_no_ledger_written(
    tmp_path: Path, signum: int, status: int, word: str, had_ledger: bool
) -> None:
    pid_file = tmp_path / "kernel.pid"
    notebook = write_notebook(
        tmp_path / "slow.ipynb",
        f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(300)",
    )
    ledger = tmp_path / "slow.repro.json"
    if had_ledger:
        Ledger().save(ledger)
    before = digest(ledger) if had_ledger else None
    files_before = sorted(os.listdir(tmp_path))
    marker = uuid.uuid4().hex
    # A session of its own, as a terminal's foreground job: a Ctrl-C reaches the whole group.
    process = subprocess.Popen(
        [*REPRO_VERIFY, str(notebook), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "REPRO_TEST_MARKER": marker},
    )
    try:
        deadline = time.monotonic() + 120
        while not (pid_file.exists() and pid_file.read_text()):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.1)
        kernel_pid = int(pid_file.read_text())
        assert kernel_pid in children_of(process.pid)
        assert {process.pid, kernel_pid} <= processes_marked(f"REPRO_TEST_MARKER={marker}")
        time.sleep(0.5)
        os.killpg(process.pid, signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, err
    assert out == ""
    assert err.startswith(f"repro-verify: {word}") and err.count("\n") == 1, err
    assert not is_running(kernel_pid)
    assert processes_marked(f"REPRO_TEST_MARKER={marker}") == set()
    if had_ledger:
        assert digest(ledger) == before
    else:
        assert not ledger.exists()
    assert sorted(os.listdir(tmp_path)) == sorted([*files_before, "kernel.pid"])


def test_when_a_ledger_cannot_be_written_then_the_verdict_shows_the_others_run_and_exit_4(tmp_path: Path) -> None:
    # The cell puts a folder where the ledger goes: the write fails after the run, whoever runs it.
    blocked = write_notebook(
        tmp_path / "blocked.ipynb",
        "%%reproducible seed=1 record=made\nimport os\nos.makedirs('blocked.repro.json', exist_ok=True)\nmade = 1",
    )
    fine = write_notebook(tmp_path / "fine.ipynb", "%%reproducible seed=1 record=x\nx = 2.5")
    report = tmp_path / "report.json"
    status, out, err = run_cli(str(blocked), str(fine), "--quiet", "--runs", "1", "--json", str(report))
    assert status == 4, out + err
    lines = out.splitlines()
    assert lines[0].startswith(f"{blocked}: recorded 1 cell")
    assert lines[1] == f"  ledger not written: could not write {tmp_path / 'blocked.repro.json'}: Is a directory"
    assert lines[2].startswith(f"{fine}: recorded 1 cell")
    assert lines[-1] == "2 notebooks: 2 reproduced, 0 differ, 0 failed to run; 1 ledger could not be written"
    assert ".tmp" not in out + err
    assert (tmp_path / "fine.repro.json").is_file()
    written = json.loads(report.read_text())
    assert written["exit_status"] == 4
    assert [n["ledger_action"] for n in written["notebooks"]] == ["not written", "saved"]
    assert [n["exit_status"] for n in written["notebooks"]] == [4, 0]
    assert written["notebooks"][0]["ledger_error"] == (
        f"could not write {tmp_path / 'blocked.repro.json'}: Is a directory"
    )
    assert written["notebooks"][1]["ledger_error"] is None


def test_when_a_divergence_and_a_failed_write_meet_then_the_divergence_wins_with_1(tmp_path: Path) -> None:
    blocked = write_notebook(
        tmp_path / "blocked.ipynb",
        "%%reproducible seed=1 record=made\nimport os\nos.makedirs('blocked.repro.json', exist_ok=True)\nmade = 1",
    )
    noisy = write_notebook(
        tmp_path / "noisy.ipynb",
        "%%reproducible seed=1 record=b\nimport numpy as np\nb = np.random.default_rng().random()",
    )
    status, out, _ = run_cli(str(blocked), str(noisy), "--quiet")
    assert status == 1, out
    assert "ledger not written" in out and "DIVERGED" in out


def test_when_the_json_report_cannot_be_written_then_the_verdict_stands_and_exit_4(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    # The cell replaces the report's folder with a file while the notebook runs.
    notebook = write_notebook(
        tmp_path / "n.ipynb",
        f"import shutil\nshutil.rmtree({str(folder)!r})\nopen({str(folder)!r}, 'w').close()",
        "%%reproducible seed=1 record=x\nx = 1.5",
    )
    status, out, err = run_cli(str(notebook), "--quiet", "--runs", "1", "--json", str(folder / "report.json"))
    assert status == 4, out + err
    assert out.startswith(f"{notebook}: recorded 1 cell")
    assert err == f"repro-verify: could not write the JSON report {folder / 'report.json'}: Not a directory\n"
    assert (tmp_path / "n.repro.json").is_file()


def test_when_json_names_an_old_report_it_is_replaced_and_another_file_only_with_force_json(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    report = tmp_path / "report.json"
    assert run_cli(str(notebook), "--quiet", "--runs", "1", "--json", str(report))[0] == 0
    first = report.read_text()
    assert json.loads(first)["format"] == "repro-magics-report"
    assert run_cli(str(notebook), "--quiet", "--runs", "1", "--json", str(report))[0] == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    assert run_cli(str(notebook), "--quiet", "--json", str(notes), "--force-json")[0] == 0
    assert json.loads(notes.read_text())["format"] == "repro-magics-report"


def test_when_the_notebook_is_a_symlink_then_it_runs_in_the_links_folder_with_the_ledger_beside_the_link(
    tmp_path: Path,
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "project").mkdir()
    write_notebook(
        tmp_path / "real" / "n.ipynb",
        "%%reproducible seed=1 record=text,folder\nimport os\ntext = open('data.txt').read()\n"
        "folder = os.path.basename(os.getcwd())",
    )
    (tmp_path / "project" / "data.txt").write_text("next to the link")
    link = tmp_path / "project" / "n.ipynb"
    link.symlink_to(tmp_path / "real" / "n.ipynb")
    status, out, _ = run_cli(str(link), "--quiet", "--runs", "1")
    assert status == 0, out
    (record,) = Ledger.load(tmp_path / "project" / "n.repro.json").records
    values = record["values"]
    assert (values["text"]["value"], values["folder"]["value"]) == ("next to the link", "project")
    assert record["cell_number"] == 1
    assert not (tmp_path / "real" / "n.repro.json").exists()


def test_when_cells_and_errors_hold_terminal_escapes_then_people_see_them_escaped_and_json_keeps_them(
    tmp_path: Path,
) -> None:
    first_line = "# \x1b]0;PWNED\x07\x1b[2J title"
    notebook = write_notebook(tmp_path / "n.ipynb", f"{first_line}\nraise ValueError('\\x1b[31mred')")
    report = tmp_path / "report.json"
    # -v: the progress lines name each cell even when stderr is not a terminal.
    status, out, err = run_cli(str(notebook), "-v", "--json", str(report))
    assert status == 3, out
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text
        assert "# \\x1b]0;PWNED\\x07\\x1b[2J title" in text
    assert "ValueError: \\x1b[31mred" in out
    failure = json.loads(report.read_text())["notebooks"][0]["runs"][0]["failure"]
    assert failure["source_first_line"] == first_line
    assert failure["summary"] == "ValueError: \x1b[31mred"


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.3, 0.6])
def test_when_sigterm_arrives_while_the_kernel_starts_then_143_and_no_kernel_left(tmp_path: Path, delay: float) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "%%reproducible seed=1 record=x\nx = 1")
    marker = uuid.uuid4().hex
    process = subprocess.Popen(
        [*REPRO_VERIFY, str(notebook), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # faulthandler: a hang below is shown with the stack it hung in.
        env={**os.environ, "REPRO_TEST_MARKER": marker, "PYTHONFAULTHANDLER": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        # The kernel is the second process with the marker, from its fork on;
        # at delay 0 the signal lands while it is being launched.
        while len(processes_marked(f"REPRO_TEST_MARKER={marker}")) < 2:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.02)
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            left = processes_marked(f"REPRO_TEST_MARKER={marker}")
            process.send_signal(signal.SIGABRT)
            out, err = process.communicate()
            pytest.fail(f"repro-verify hung after SIGTERM; processes left {left}; {err}")
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, err
    assert out == "" and err.count("\n") == 1 and err.startswith("repro-verify: terminated"), err
    assert processes_marked(f"REPRO_TEST_MARKER={marker}") == set()
    assert os.listdir(tmp_path) == ["n.ipynb"]
