"""6. Beyond one machine: `--executor dask://` with 2 workers against `-j 2`, and `--changed` after one change."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from repro_magics.kernel.notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR

from .config import Config
from .notebook import write_notebook
from .results import Goal, Row, Section
from .team_scale import _run
from .timing import SelfTimed, interleaved, median, paired_ratio, ratio
from .verify_overhead import _tool

LOCAL, DASK = "-j 2", "--executor dask:// (2 workers)"
FULL_J1, CHANGED = "-j 1", "--changed -j 1 after a one-notebook change"
NOOP_TASKS = 200


def _noop() -> None:
    return None


def _task_overhead(client: object, tasks: int) -> float:
    """Seconds a task costs the engine itself: submit, schedule, run nothing, return, one after another."""
    started = time.perf_counter()
    for _ in range(tasks):
        client.submit(_noop, pure=False).result()  # type: ignore[attr-defined]
    return (time.perf_counter() - started) / tasks


def run_benchmark(config: Config) -> Section:
    from distributed import Client, LocalCluster

    section = Section("6 cluster scale")
    environment = {k: v for k, v in os.environ.items() if k not in (LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR)}
    verify = _tool("repro-verify")
    count = 2 if config.smoke else 8
    load_before = os.getloadavg()
    # Two one-thread workers in processes of their own (nannies), on 127.0.0.1 only.
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        ) as cluster,
        Client(cluster) as client,
        tempfile.TemporaryDirectory(prefix="repro-bench-cluster-") as scratch,
    ):
        address = cluster.scheduler_address.removeprefix("tcp://")
        folder = Path(scratch)
        notebooks = [str(write_notebook(folder / f"n{index}.ipynb")) for index in range(count)]
        # Ledgers first, and the --changed notes, untimed.
        _run([verify, "-q", "-j", "2", "--runs", "1", "--changed", *notebooks], folder, environment)
        edits = iter(range(10_000))

        def changed_after_one_edit() -> float:
            # A comment in a code cell of one notebook: its code hash changes, its records do not.
            edited = nbformat.read(notebooks[0], as_version=4)
            edited.cells[0].source = f"# edit {next(edits)}\n%load_ext repro_magics"
            nbformat.write(edited, notebooks[0])
            started = time.perf_counter()
            _run([verify, "-q", "--changed", *notebooks], folder, environment)
            return time.perf_counter() - started

        samples = interleaved(
            {
                LOCAL: lambda: _run([verify, "-q", "-j", "2", *notebooks], folder, environment),
                DASK: lambda: _run([verify, "-q", "--executor", f"dask://{address}", *notebooks], folder, environment),
                FULL_J1: lambda: _run([verify, "-q", *notebooks], folder, environment),
                CHANGED: SelfTimed(changed_after_one_edit),
            },
            config.cluster_rounds,
        )
        overheads = [_task_overhead(client, NOOP_TASKS if not config.smoke else 20) for _ in range(3)]
    per_notebook = median(samples[FULL_J1]) / count
    overhead = statistics.median(overheads)
    section.rows += [
        Row(f"{count} notebooks, {DASK} / {LOCAL}", ratio(samples[DASK], samples[LOCAL]), "x", Goal("<=", 1.15)),
        Row(
            f"{count} notebooks, {DASK} / {LOCAL}, per-round ratios, median",
            paired_ratio(samples[DASK], samples[LOCAL]),
            "x",
        ),
        Row(f"{CHANGED} / full {FULL_J1} of {count}", ratio(samples[CHANGED], samples[FULL_J1]), "x", Goal("<=", 0.2)),
        Row(f"{CHANGED} / full {LOCAL} of {count}", ratio(samples[CHANGED], samples[LOCAL]), "x"),
        Row(f"{count} notebooks {LOCAL}, median", median(samples[LOCAL]), "s"),
        Row(f"{count} notebooks {DASK}, median", median(samples[DASK]), "s"),
        Row(f"{count} notebooks {FULL_J1}, median", median(samples[FULL_J1]), "s"),
        Row(f"{CHANGED}, median", median(samples[CHANGED]), "s"),
        Row(f"one notebook, one kernel ({FULL_J1} median / {count})", per_notebook, "s"),
        Row("Dask per-task overhead (empty task, round trip), median", overhead, "s"),
    ]
    section.details = {
        "rounds": config.cluster_rounds,
        "notebooks": count,
        "seconds": samples,
        "task_overhead_seconds": overheads,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    return section
