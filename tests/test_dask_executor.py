"""`--executor dask://`: notebooks verified on a real Dask cluster (scheduler and workers on 127.0.0.1)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from dask_cluster import LoopbackCluster
from helpers import run_cli, write_notebook
from test_verify_faults import REPRO_VERIFY

pytestmark = pytest.mark.kernel


def recorded(value: str, *, before: str = "") -> str:
    return f"%%reproducible seed=1 record=x\n{before}x = {value}"


def without_times(text: str) -> str:
    return re.sub(r"\d+(\.\d+)? s\b", "N s", text)


def four_notebooks(folder: Path) -> list[Path]:
    """Two that reproduce, one whose ledger says otherwise (it diverges), one that fails to run."""
    first = write_notebook(folder / "a_first.ipynb", recorded("1.5"))
    diverging = write_notebook(folder / "b_diverging.ipynb", recorded("2.5"))
    failing = write_notebook(folder / "c_failing.ipynb", recorded("1.0"), "raise ValueError('boom')")
    second = write_notebook(folder / "d_second.ipynb", recorded("[1, 2, 3]"))
    return [first, diverging, failing, second]


def test_when_the_cluster_starts_then_it_listens_on_loopback_only(dask_cluster: LoopbackCluster) -> None:
    assert dask_cluster.address.startswith("tcp://127.0.0.1:")
    assert dask_cluster.listening_addresses() == {"127.0.0.1"}


def test_when_four_notebooks_go_through_the_cluster_then_verdicts_reports_and_status_match_j_2(
    tmp_path: Path, dask_cluster: LoopbackCluster
) -> None:
    outcomes = {}
    for name, engine in (("local", ["-j", "2"]), ("dask", ["--executor", f"dask://{dask_cluster.address[6:]}"])):
        folder = tmp_path / name
        folder.mkdir()
        notebooks = four_notebooks(folder)
        assert run_cli("-q", str(notebooks[1]))[0] == 0  # records 2.5 in its ledger
        write_notebook(notebooks[1], recorded("3.5"))
        status, out, err = run_cli(*engine, "--json", str(folder / "report.json"), *map(str, notebooks))
        ledgers = sorted(path.name for path in folder.glob("*.repro.json"))
        report = json.loads((folder / "report.json").read_text())
        outcomes[name] = (status, without_times(out.replace(str(folder), "FOLDER")), ledgers, report, err)
    local, dask = outcomes["local"], outcomes["dask"]
    assert dask[0] == local[0] == 3, dask[1] + dask[4]
    assert dask[1] == local[1]
    assert dask[2] == local[2] == ["a_first.repro.json", "b_diverging.repro.json", "d_second.repro.json"]
    verdicts = [[(n["verdict"], n["exit_status"]) for n in o[3]["notebooks"]] for o in (local, dask)]
    assert verdicts[0] == verdicts[1]
    # Progress: a line per run in a log, as with -j.
    assert "b_diverging.ipynb run 1/1 finished: 1 cell in " in dask[4]


def kernel_log_cell(log: Path, sleep_while_attempt_at_most: int) -> str:
    """A recorded cell that writes its kernel's pid to `log`, and sleeps long on the first attempts."""
    return (
        "%%reproducible seed=1 record=x\n"
        "import os, time, pathlib\n"
        f"log = pathlib.Path({str(log)!r})\n"
        "with log.open('a') as handle:\n"
        "    handle.write(f'{os.getpid()}\\n')\n"
        f"if len(log.read_text().split()) <= {sleep_while_attempt_at_most}:\n"
        "    time.sleep(300)\n"
        "x = 1.5"
    )


def kernel_pids(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def wait_until(condition: object, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.3)
    raise AssertionError("waited in vain")


def verify_in_background(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*REPRO_VERIFY, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def scheduler_task_count(address: str) -> int:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        return int(client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)))


@pytest.mark.parametrize(
    ("kills", "status"), [(1, 0), (2, 3)], ids=["retried-on-another-worker", "killed-twice-failed"]
)
def test_when_a_worker_dies_mid_task_then_the_task_runs_once_more_elsewhere_and_a_second_death_is_a_failure(
    tmp_path: Path, dask_cluster: LoopbackCluster, kills: int, status: int
) -> None:
    log = tmp_path / "kernels.log"
    notebook = write_notebook(tmp_path / "slow.ipynb", kernel_log_cell(log, kills))
    verifying = verify_in_background("--executor", f"dask://{dask_cluster.address[6:]}", "--runs", "1", str(notebook))
    killed_workers = []
    for attempt in range(1, kills + 1):
        wait_until(lambda attempt=attempt: len(kernel_pids(log)) >= attempt)
        worker = psutil.Process(kernel_pids(log)[-1]).parent()
        assert worker is not None and "spawn_main" in " ".join(worker.cmdline())  # the nanny's worker process
        killed_workers.append(worker.pid)
        worker.kill()
    out, err = verifying.communicate(timeout=400)
    assert verifying.returncode == status, out + err
    if kills == 1:
        assert out.startswith(f"{notebook}: recorded"), out
        assert len(kernel_pids(log)) == 2
    else:
        lines = out.splitlines()
        assert lines[0] == f"{notebook}: FAILED to run, in run 1, on the cluster", out
        assert lines[1].startswith("    the worker running it died, and again on a second worker ("), out
        assert not (tmp_path / "slow.repro.json").exists()
    # The kernels of the dead workers went with them (ipykernel watches its parent).
    wait_until(lambda: not any(pid in psutil.pids() for pid in kernel_pids(log)), timeout=60)


@pytest.mark.parametrize(
    ("signum", "status", "word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_when_a_signal_arrives_mid_run_then_its_status_and_no_kernel_or_task_is_left_on_the_cluster(
    tmp_path: Path, dask_cluster: LoopbackCluster, signum: int, status: int, word: str
) -> None:
    log = tmp_path / "kernels.log"
    notebooks = [write_notebook(tmp_path / f"n{n}.ipynb", kernel_log_cell(log, 99)) for n in range(4)]
    verifying = verify_in_background("--executor", f"dask://{dask_cluster.address[6:]}", *map(str, notebooks))
    wait_until(lambda: len(kernel_pids(log)) >= 2)
    assert scheduler_task_count(dask_cluster.address) >= 4
    verifying.send_signal(signum)
    out, err = verifying.communicate(timeout=120)
    assert verifying.returncode == status, out + err
    assert f"repro-verify: {word}" in err
    assert not any(pid in psutil.pids() and psutil.Process(pid).status() != "zombie" for pid in kernel_pids(log))
    wait_until(lambda: scheduler_task_count(dask_cluster.address) == 0, timeout=30)
    assert not list(tmp_path.glob("*.repro.json"))


def test_when_ship_folder_then_the_task_runs_in_a_copy_of_the_folder_on_the_worker(
    tmp_path: Path, dask_cluster: LoopbackCluster
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "data.csv").write_text("1.5")
    where = tmp_path / "where.log"
    notebook = write_notebook(
        folder / "reads.ipynb",
        "%%reproducible seed=1 record=x\n"
        f"import os\nopen({str(where)!r}, 'a').write(os.getcwd() + '\\n')\n"
        "x = float(open('data.csv').read())",
    )
    address = f"dask://{dask_cluster.address[6:]}"
    status, out, err = run_cli("--executor", address, "--ship-folder", "--runs", "1", "--changed", str(notebook))
    assert status == 0, out + err
    assert out.startswith(f"{notebook}: recorded"), out
    ran_in = Path(where.read_text().split()[0])
    assert ran_in.name == "project" and ran_in != folder  # a copy, unpacked on the worker
    assert not ran_in.exists()  # and cleaned up after the task
    # The inputs the worker saw are noted with the client's ledger, which the client alone wrote.
    ledger = json.loads((folder / "reads.repro.json").read_text())
    assert list(ledger["verified"]["inputs"]) == ["data.csv"]
    status, out, err = run_cli("--executor", address, "--ship-folder", "--changed", str(notebook))
    assert status == 0, out + err
    assert out.startswith(f"{notebook}: skipped: unchanged since its verification at "), out


def test_when_the_shipped_folder_is_too_large_then_2_and_one_sentence(
    tmp_path: Path, dask_cluster: LoopbackCluster
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    with (tmp_path / "big.bin").open("wb") as big:
        big.truncate(65 * 1024 * 1024)  # sparse: the size counts, the disk is spared
    status, out, err = run_cli("--executor", f"dask://{dask_cluster.address[6:]}", "--ship-folder", str(notebook))
    assert status == 2, out + err
    assert err == (
        f"repro-verify: error: --ship-folder: the folder of {notebook} ({tmp_path}) holds more than the 64 MiB a "
        "task may carry; put it on a filesystem the workers share and drop --ship-folder\n"
    )


def test_when_no_scheduler_answers_then_2_and_one_sentence(tmp_path: Path) -> None:
    from dask_cluster import free_loopback_port

    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    port = free_loopback_port()
    status, out, err = run_cli("--executor", f"dask://127.0.0.1:{port}", str(notebook))
    assert status == 2, out + err
    assert err.startswith(f"repro-verify: error: --executor: no Dask scheduler answered at tcp://127.0.0.1:{port} ")
    assert err.count("\n") == 1


def test_when_fail_fast_on_the_cluster_then_3_the_rest_not_verified_and_no_kernel_left(
    tmp_path: Path, dask_cluster: LoopbackCluster
) -> None:
    log = tmp_path / "kernels.log"
    broken = write_notebook(tmp_path / "a_broken.ipynb", "raise ValueError('boom')")
    slow = write_notebook(tmp_path / "b_slow.ipynb", kernel_log_cell(log, 99))
    others = [write_notebook(tmp_path / f"c_other{n}.ipynb", kernel_log_cell(log, 99)) for n in range(2)]
    verifying = verify_in_background(
        "--executor",
        f"dask://{dask_cluster.address[6:]}",
        "--fail-fast",
        "--runs",
        "1",
        "-q",
        *map(str, (broken, slow, *others)),
    )
    out, err = verifying.communicate(timeout=400)
    assert verifying.returncode == 3, out + err
    lines = out.splitlines()
    assert lines[0] == f"{broken}: FAILED to run, in run 1, at cell 1 (id c0): raise ValueError('boom')"
    assert lines[2] == f"stopped by --fail-fast: 3 not verified: {slow}, {others[0]}, {others[1]}"
    assert not any(pid in psutil.pids() and psutil.Process(pid).status() != "zombie" for pid in kernel_pids(log))
    wait_until(lambda: scheduler_task_count(dask_cluster.address) == 0, timeout=30)
