"""`repro-verify -j N`, --fail-fast, --markdown and --check-ledger with real kernels; signals with -j."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from helpers import run_cli, write_notebook
from test_verify_faults import REPRO_VERIFY, is_running, processes_marked

from repro_magics.notebooks import read_notebook

pytestmark = pytest.mark.kernel


def timed_cell(log: Path, seconds: float) -> str:
    """A recorded cell that notes when it ran in `log`, a line per run: start, end, kernel pid."""
    return (
        "%%reproducible seed=1 record=x\n"
        "import os, time\n"
        "start = time.time()\n"
        f"time.sleep({seconds})\n"
        f"open({str(log)!r}, 'a').write(f'{{start}} {{time.time()}} {{os.getpid()}}\\n')\n"
        "x = 1.5"
    )


def intervals(log: Path) -> list[tuple[float, float]]:
    return [(float(start), float(end)) for start, end, _ in (line.split() for line in log.read_text().splitlines())]


def overlap(first: tuple[float, float], second: tuple[float, float]) -> bool:
    return first[0] < second[1] and second[0] < first[1]


def test_when_j_2_then_notebooks_and_the_runs_of_a_first_verification_go_side_by_side_reported_in_order(
    tmp_path: Path,
) -> None:
    slow = write_notebook(tmp_path / "slow.ipynb", timed_cell(tmp_path / "slow.log", 10))
    fast = write_notebook(tmp_path / "fast.ipynb", timed_cell(tmp_path / "fast.log", 3))
    status, out, err = run_cli("-j", "4", str(slow), str(fast))
    assert status == 0, out + err
    lines = out.splitlines()
    # The slow notebook was given first and finishes last: it is still reported first.
    assert lines[0].startswith(f"{slow}: identical across the fresh runs, bitwise (1 cell, 1 number; 2 fresh runs")
    assert lines[2].startswith(f"{fast}: identical across the fresh runs, bitwise")
    assert lines[4] == "2 notebooks: 2 reproduced, 0 differ, 0 failed to run"
    slow_runs, fast_runs = intervals(tmp_path / "slow.log"), intervals(tmp_path / "fast.log")
    assert len(slow_runs) == len(fast_runs) == 2
    assert overlap(*slow_runs) and overlap(*fast_runs), (slow_runs, fast_runs)
    assert overlap(slow_runs[0], fast_runs[0]) or overlap(slow_runs[0], fast_runs[1])
    # On a log, a line per run names the notebook and the run, in the order the notebooks are reported.
    assert [line.split(" finished: ")[0] for line in err.splitlines()] == [
        f"{notebook} run {run}/2" for notebook in (slow, fast) for run in (1, 2)
    ]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_when_fail_fast_and_a_notebook_fails_then_3_the_rest_not_verified_and_no_kernel_left(
    tmp_path: Path, jobs: str
) -> None:
    broken = write_notebook(tmp_path / "a_broken.ipynb", "raise ValueError('boom')")
    slow = write_notebook(tmp_path / "b_slow.ipynb", "import time\ntime.sleep(300)")
    other = write_notebook(tmp_path / "c_other.ipynb", "x = 1")
    marker = uuid.uuid4().hex
    started = time.monotonic()
    completed = subprocess.run(
        [
            *REPRO_VERIFY,
            "-j",
            jobs,
            "--fail-fast",
            "--runs",
            "1",
            "-q",
            "--markdown",
            str(tmp_path / "summary.md"),
            *map(str, (broken, slow, other)),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "REPRO_TEST_MARKER": marker},
    )
    assert completed.returncode == 3, completed.stdout + completed.stderr
    assert time.monotonic() - started < 120  # the 300-second cell was stopped, not waited for
    lines = completed.stdout.splitlines()
    assert lines[0] == f"{broken}: FAILED to run, in run 1, at cell 1 (id c0): raise ValueError('boom')"
    assert lines[2] == f"stopped by --fail-fast: 2 not verified: {slow}, {other}"
    assert processes_marked(f"REPRO_TEST_MARKER={marker}") == set()
    summary = (tmp_path / "summary.md").read_text()
    assert "### repro-verify: exit status 3" in summary
    assert f"| <code>{broken}</code> | **failed to run** |" in summary
    assert f"| <code>{slow}</code> | not verified (stopped) | | |" in summary


@pytest.mark.parametrize(
    ("signum", "status", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_when_a_signal_arrives_with_kernels_side_by_side_then_every_kernel_stops_and_no_ledger_is_written(
    tmp_path: Path, signum: int, status: int, word: str
) -> None:
    notebooks = [
        write_notebook(
            tmp_path / f"slow{index}.ipynb",
            f"import os, time\nopen({str(tmp_path / f'kernel{index}.pid')!r}, 'w').write(str(os.getpid()))\n"
            "time.sleep(300)",
        )
        for index in range(3)
    ]
    marker = uuid.uuid4().hex
    process = subprocess.Popen(
        [*REPRO_VERIFY, "-j", "3", "--runs", "1", "--quiet", *map(str, notebooks)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "REPRO_TEST_MARKER": marker},
    )
    pid_files = [tmp_path / f"kernel{index}.pid" for index in range(3)]
    try:
        deadline = time.monotonic() + 180
        while not all(path.exists() and path.read_text() for path in pid_files):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the three kernels did not all start: {process.communicate()}")
            time.sleep(0.1)
        kernels = [int(path.read_text()) for path in pid_files]
        assert all(is_running(pid) for pid in kernels)
        os.killpg(process.pid, signum)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == status, err
    assert out == ""
    assert err.startswith(f"repro-verify: {word}") and err.count("\n") == 1, err
    assert not any(is_running(pid) for pid in kernels)
    assert processes_marked(f"REPRO_TEST_MARKER={marker}") == set()
    assert not list(tmp_path.glob("*.repro.json"))


def test_when_cells_change_after_recording_then_check_ledger_finds_them_without_a_kernel(tmp_path: Path) -> None:
    # Spacing IPython's magic parsing treats specially: the check must hash what the magic hashed.
    notebook = write_notebook(
        tmp_path / "n.ipynb", "%%reproducible  seed=1   record=x \nx = 1.5\n\n", "%%reproducible seed=2\ny = 2"
    )
    status, out, err = run_cli(str(notebook), "--runs", "1", "-q")
    assert status == 0, out + err
    status, out, _ = run_cli("--check-ledger", str(notebook))
    assert (status, out) == (0, f"{notebook}: ledger up to date (2 %%reproducible cells)\n")

    edited = read_notebook(notebook)
    edited.cells[1].source = "%%reproducible seed=2\ny = 3"
    edited.cells.append(nbformat.v4.new_code_cell("%%reproducible seed=3\nz = 1", id="c9"))
    nbformat.write(edited, str(notebook))
    started = time.perf_counter()
    status, out, _ = run_cli("--check-ledger", str(notebook))
    assert time.perf_counter() - started < 5  # no kernel: nowhere near a kernel's start-up
    assert status == 1
    assert out.splitlines() == [
        f"{notebook}: STALE LEDGER",
        "    cell 2 (id c1): %%reproducible seed=2: changed since its ledger record was made",
        "    cell 3 (id c9): %%reproducible seed=3: not in the ledger (never recorded)",
        f"    to fix: rerun repro-verify --update {notebook}",
    ]


def test_when_j_2_on_a_terminal_then_one_rewritten_line_shows_both_notebooks_in_progress(tmp_path: Path) -> None:
    import pty

    first = write_notebook(tmp_path / "first.ipynb", "import time\ntime.sleep(4)", "x = 1")
    second = write_notebook(tmp_path / "second.ipynb", "import time\ntime.sleep(4)", "y = 1")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*REPRO_VERIFY, "-j", "2", "--runs", "1", str(first), str(second)],
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed as the process exited
            break
        if not chunk:
            break
        shown += chunk
    out, _ = process.communicate(timeout=120)
    os.close(controller)
    assert process.returncode == 0, out
    lines = shown.decode().split("\r\x1b[K")
    both = [line for line in lines if f"{first} run 1/1: cell" in line and f"{second} run 1/1: cell" in line]
    assert both, lines
    assert " | " in both[0]
