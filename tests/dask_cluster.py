"""A real Dask cluster on loopback for tests: `dask scheduler` and `dask worker` processes.

Each piece is a separate process, started here and stopped by its process id
(its children too: a nanny's worker, a worker's kernels). Everything listens
on 127.0.0.1 and nothing else: no dashboard, an explicit `--listen-address`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

DASK_COMMAND = str(Path(sys.executable).with_name("dask"))

#: A task whose worker dies is retried once on another worker, then fails with KilledWorker.
SCHEDULER_ENVIRONMENT = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}


@dataclass
class LoopbackCluster:
    """Process ids and the scheduler's address; `stop` ends them all."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def processes(self) -> list[psutil.Process]:
        """Every live process of the cluster: scheduler, nannies, workers, and the kernels they started."""
        found: list[psutil.Process] = []
        for started in [self.scheduler, *self.workers]:
            try:
                top = psutil.Process(started.pid)
                found += [top, *top.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return found

    def listening_addresses(self) -> set[str]:
        """The IP addresses the cluster's processes listen on."""
        addresses = set()
        for process in self.processes():
            try:
                connections = process.net_connections(kind="inet")
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            addresses |= {c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN}
        return addresses

    def stop(self) -> None:
        for started in [*self.workers, self.scheduler]:
            stop_process_tree(started.pid)
            started.wait(timeout=30)


def stop_process_tree(pid: int, patience: float = 10.0) -> None:
    """SIGTERM the process and its descendants, by id; SIGKILL what is left after `patience` seconds."""
    try:
        top = psutil.Process(pid)
        tree = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(tree, timeout=patience)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(alive, timeout=patience)


def _wait_for(condition: object, what: str, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not happen within {timeout:g} s; log:\n{log.read_text(errors='replace')[-3000:]}")


def start_cluster(folder: Path, workers: int = 2, nanny: bool = True) -> LoopbackCluster:
    """Start a scheduler and `workers` single-threaded workers on 127.0.0.1; return once all are connected."""
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    environment = {**os.environ, **SCHEDULER_ENVIRONMENT, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler_log = folder / "scheduler.log"
    with scheduler_log.open("wb") as log:
        scheduler = subprocess.Popen(
            [
                DASK_COMMAND,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
    cluster = LoopbackCluster(address="", scheduler=scheduler, logs=[scheduler_log])
    try:
        _wait_for(scheduler_file.exists, "the scheduler writing its address", scheduler_log)
        _wait_for(lambda: _read_address(scheduler_file) is not None, "the scheduler file", scheduler_log)
        cluster.address = str(_read_address(scheduler_file))
        for number in range(workers):
            worker_log = folder / f"worker-{number}.log"
            cluster.logs.append(worker_log)
            with worker_log.open("wb") as log:
                cluster.workers.append(
                    subprocess.Popen(
                        [
                            DASK_COMMAND,
                            "worker",
                            cluster.address,
                            # A port of its own: with port 0 a worker advertises port 0 itself.
                            "--listen-address",
                            f"tcp://127.0.0.1:{free_loopback_port()}",
                            "--nanny" if nanny else "--no-nanny",
                            *(["--nanny-port", "0"] if nanny else []),
                            "--dashboard-address",
                            "127.0.0.1:0",
                            "--nthreads",
                            "1",
                            "--name",
                            f"worker-{number}",
                            "--local-directory",
                            str(folder / f"worker-{number}"),
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env=environment,
                        start_new_session=True,
                    )
                )
        _wait_for(
            lambda: scheduler_log.read_text(errors="replace").count("Register worker") >= workers,
            f"{workers} workers registering",
            scheduler_log,
        )
    except BaseException:
        cluster.stop()
        raise
    return cluster


def free_loopback_port() -> int:
    """A port free on 127.0.0.1 now (the kernel picks it; a race with another program is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read_address(scheduler_file: Path) -> str | None:
    try:
        return str(json.loads(scheduler_file.read_text())["address"])
    except (OSError, ValueError, KeyError):
        return None
