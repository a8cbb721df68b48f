"""5. Team scale: a first verification against `jupyter execute`, `-j 2` against `-j 1`, `--check-ledger`."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from repro_magics.kernel.notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR
from repro_magics.ledger.check import check_ledger
from repro_magics.verify.verification import read_input

from .config import Config
from .notebook import write_notebook
from .results import Goal, Row, Section
from .timing import SelfTimed, interleaved, median, paired_ratio, ratio
from .verify_overhead import TIMEOUT_S, _tool

EXAMPLES = Path(__file__).parent.parent / "notebooks"
FIRST_J2, FIRST_J1 = "repro-verify -j 2 (no ledger)", "repro-verify -j 1 (no ledger)"
EXECUTE, EXECUTE_TWICE = "jupyter execute", "2 x jupyter execute side by side"
FLEET_J2, FLEET_J1 = "-j 2", "-j 1"


def _run(command: list[str], folder: Path, environment: dict[str, str]) -> None:
    completed = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=TIMEOUT_S)
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(command[:3])} exited {completed.returncode}: {' | '.join(tail)}")


def _first_verification(command: list[str], notebook: Path, environment: dict[str, str]) -> SelfTimed:
    """A verification with no ledger yet: the one written by the last round is removed off the clock."""

    def measure() -> float:
        notebook.with_suffix(".repro.json").unlink(missing_ok=True)
        started = time.perf_counter()
        _run(command, notebook.parent, environment)
        return time.perf_counter() - started

    return SelfTimed(measure)


def _side_by_side(command: list[str], folder: Path, environment: dict[str, str]) -> None:
    with ThreadPoolExecutor(2) as both:
        list(both.map(lambda _: _run(command, folder, environment), range(2)))


def run_benchmark(config: Config) -> Section:
    section = Section("5 team scale")
    environment = {k: v for k, v in os.environ.items() if k not in (LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR)}
    verify, jupyter = _tool("repro-verify"), _tool("jupyter")
    with tempfile.TemporaryDirectory(prefix="repro-bench-team-") as scratch:
        folder = Path(scratch)
        notebook = write_notebook(folder / "small.ipynb")
        execute = [jupyter, "execute", str(notebook)]
        first = interleaved(
            {
                FIRST_J2: _first_verification([verify, "-q", "-j", "2", str(notebook)], notebook, environment),
                FIRST_J1: _first_verification([verify, "-q", str(notebook)], notebook, environment),
                EXECUTE: lambda: _run(execute, folder, environment),
                EXECUTE_TWICE: lambda: _side_by_side(execute, folder, environment),
            },
            config.team_rounds,
        )

        # The four example notebooks with their ledgers (made untimed), one run each, as CI checks them;
        # smoke mode uses two copies of the small notebook instead.
        fleet_folder = folder / "fleet"
        fleet_folder.mkdir()
        sources = sorted(EXAMPLES.glob("*.ipynb")) if not config.smoke else [notebook, notebook]
        fleet = [shutil.copy(source, fleet_folder / f"{index}-{source.name}") for index, source in enumerate(sources)]
        fleet_paths = [str(path) for path in fleet]
        _run([verify, "-q", "-j", "2", *fleet_paths], fleet_folder, environment)
        fleet_samples = interleaved(
            {
                name: (lambda jobs=jobs: _run([verify, "-q", "-j", jobs, *fleet_paths], fleet_folder, environment))
                for name, jobs in ((FLEET_J2, "2"), (FLEET_J1, "1"))
            },
            config.team_rounds,
        )

        checked: list[float] = []
        for path in fleet:
            given = read_input(Path(path), None)
            started = time.perf_counter()
            check_ledger(given.path, given.notebook, given.ledger)
            checked.append(time.perf_counter() - started)
        started = time.perf_counter()
        _run([verify, "--check-ledger", *fleet_paths], fleet_folder, environment)
        check_command = time.perf_counter() - started

    section.rows += [
        Row(f"{FIRST_J2} / {EXECUTE}", ratio(first[FIRST_J2], first[EXECUTE]), "x", Goal("<=", 1.5)),
        Row(f"{FIRST_J2} / {EXECUTE}, per-round ratios, median", paired_ratio(first[FIRST_J2], first[EXECUTE]), "x"),
        Row(f"{FIRST_J1} / {EXECUTE}", ratio(first[FIRST_J1], first[EXECUTE]), "x"),
        Row(f"{EXECUTE_TWICE} / {EXECUTE}", ratio(first[EXECUTE_TWICE], first[EXECUTE]), "x"),
        Row(
            f"{len(fleet)} notebooks, {FLEET_J2} / {FLEET_J1}",
            ratio(fleet_samples[FLEET_J2], fleet_samples[FLEET_J1]),
            "x",
            Goal("<=", 0.7),
        ),
        Row(f"{FIRST_J2}, median", median(first[FIRST_J2]), "s"),
        Row(f"{EXECUTE}, median", median(first[EXECUTE]), "s"),
        Row(f"{len(fleet)} notebooks {FLEET_J1}, median", median(fleet_samples[FLEET_J1]), "s"),
        Row("--check-ledger per notebook, in process, median", median(checked), "s", Goal("<=", 0.1)),
        Row(f"repro-verify --check-ledger of {len(fleet)} notebooks, whole command", check_command, "s"),
    ]
    section.details = {
        "rounds": config.team_rounds,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "first_verification_seconds": first,
        "fleet": [Path(path).name for path in fleet],
        "fleet_seconds": fleet_samples,
        "check_ledger_seconds": checked,
    }
    return section
