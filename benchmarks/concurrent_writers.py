"""4c. Two kernels, one ledger: records kept when two processes run `%%reproducible` cells at once.

Each writer is a real Python process with an IPython `InteractiveShell` and
the extension loaded, running `cells` cells with distinct cell ids against the
same ledger path; both start their cells together. Also a script:

    python -m benchmarks.concurrent_writers --trials 20 --cells 40
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from repro_magics.kernel.notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR
from repro_magics.ledger.store import Ledger

from .config import Config
from .results import Goal, Row, Section

WRITERS = 2


def _writer(ledger: Path, writer: int, cells: int, start: Path) -> int:
    """One process's part: load the extension, wait for the start file, run the cells."""
    from IPython.core.interactiveshell import InteractiveShell

    os.environ[LEDGER_ENV_VAR] = str(ledger)
    os.environ.pop(NOTEBOOK_ENV_VAR, None)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "repro_magics")
    shell.run_cell("%%reproducible seed=0\nimport tensorflow", store_history=False, cell_id=f"w{writer}-warm-up")
    (start.parent / f"ready-{writer}").touch()
    while not start.exists():
        time.sleep(0.01)
    failed = 0
    for number in range(cells):
        source = f"%%reproducible seed={number} record=x\nx = {number}\n"
        failed += not shell.run_cell(source, store_history=False, cell_id=f"w{writer}-c{number}").success
    return 1 if failed else 0


def run_trial(folder: Path, cells: int) -> int:
    """Run the writers once against a new ledger in `folder`; the number of their cells' records kept."""
    ledger, start = folder / "shared.repro.json", folder / "start"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.concurrent_writers", "--writer", str(writer), "--cells", str(cells)],
            env={**os.environ, "REPRO_BENCH_LEDGER": str(ledger), "REPRO_BENCH_START": str(start)},
            cwd=Path(__file__).parents[1],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for writer in range(WRITERS)
    ]
    while not all((folder / f"ready-{writer}").exists() for writer in range(WRITERS)):
        if any(process.poll() is not None for process in processes):
            break
        time.sleep(0.01)
    start.touch()
    for process in processes:
        _, err = process.communicate(timeout=600)
        if process.returncode:
            raise RuntimeError(f"a writer failed (exit status {process.returncode}): {err.strip()[-2000:]}")
    records = Ledger.load(ledger).records
    return sum(1 for record in records if "-c" in str(record.get("cell_id")))


def run_trials(trials: int, cells: int) -> list[int]:
    kept = []
    for _ in range(trials):
        with tempfile.TemporaryDirectory(prefix="repro-bench-writers-") as folder:
            kept.append(run_trial(Path(folder), cells))
    return kept


def run_benchmark(config: Config) -> Section:
    section = Section("4c concurrent writers")
    kept = run_trials(config.writer_trials, config.writer_cells)
    expected = WRITERS * config.writer_cells
    section.rows += [
        Row(
            f"records lost, {config.writer_trials} trials of {WRITERS} x {config.writer_cells} cells",
            expected * len(kept) - sum(kept),
            "records",
            Goal("<=", 0),
        ),
    ]
    section.details = {"records_kept_per_trial": kept, "records_per_trial": expected}
    return section


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.concurrent_writers", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--cells", type=int, default=40, help="cells per writer")
    parser.add_argument("--writer", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.writer is not None:
        ledger, start = Path(os.environ["REPRO_BENCH_LEDGER"]), Path(os.environ["REPRO_BENCH_START"])
        return _writer(ledger, arguments.writer, arguments.cells, start)
    kept = run_trials(arguments.trials, arguments.cells)
    expected = WRITERS * arguments.cells
    for number, count in enumerate(kept, start=1):
        print(f"trial {number}: kept {count} of {expected} records")
    total = expected * len(kept)
    print(f"{len(kept)} trials: kept {sum(kept)} of {total} records, lost {total - sum(kept)}")
    return 0 if sum(kept) == total else 1


if __name__ == "__main__":
    sys.exit(main())
