"""2. `repro-verify --runs 1 -q` against `jupyter execute` and `jupyter nbconvert --execute`."""

from __future__ import annotations

import functools
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from repro_magics.kernel.notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR

from .config import Config
from .notebook import write_notebook
from .results import Goal, Row, Section
from .timing import interleaved, median, paired_ratio, ratio

VERIFY, EXECUTE, NBCONVERT = "repro-verify --runs 1 -q", "jupyter execute", "jupyter nbconvert --execute"
TIMEOUT_S = 600


def _tool(name: str) -> str:
    """A console script of the Python running the benchmarks."""
    return str(Path(sys.executable).parent / name)


def _commands(notebook: Path, folder: Path) -> dict[str, list[str]]:
    jupyter = _tool("jupyter")
    return {
        VERIFY: [_tool("repro-verify"), "--runs", "1", "-q", str(notebook)],
        EXECUTE: [jupyter, "execute", str(notebook)],
        NBCONVERT: [
            jupyter,
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output",
            "executed",
            "--output-dir",
            str(folder / "out"),
            str(notebook),
        ],
    }


def _children_cpu_seconds() -> float:
    """User + system CPU time of every finished child process (and the kernels they reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], folder: Path, environment: dict[str, str], cpu: list[float] | None = None) -> None:
    """Run `command`; append the CPU seconds it and its kernel used to `cpu`."""
    before = _children_cpu_seconds()
    completed = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=TIMEOUT_S)
    if cpu is not None:
        cpu.append(_children_cpu_seconds() - before)
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(command[:2])} exited {completed.returncode}: {' | '.join(tail)}")


def run_benchmark(config: Config) -> Section:
    section = Section("2 verify overhead")
    environment = {k: v for k, v in os.environ.items() if k not in (LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR)}
    with tempfile.TemporaryDirectory(prefix="repro-bench-verify-") as scratch:
        folder = Path(scratch)
        notebook = write_notebook(folder / "small.ipynb")
        commands = _commands(notebook, folder)
        # Without a ledger repro-verify saves this run's records; every timed run then compares once.
        _run(commands[VERIFY], folder, environment)
        if not (folder / "small.repro.json").exists():
            raise RuntimeError("repro-verify saved no ledger for the benchmark notebook")
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        cases = {
            name: functools.partial(_run, command, folder, environment, cpu[name]) for name, command in commands.items()
        }
        interleaved(cases, config.verify_warmups)
        for values in cpu.values():
            values.clear()
        samples = interleaved(cases, config.verify_rounds)
    verify, execute, nbconvert = samples[VERIFY], samples[EXECUTE], samples[NBCONVERT]
    section.rows += [
        Row(f"{VERIFY} / {EXECUTE}", ratio(verify, execute), "x", Goal("<=", 1.05)),
        Row(f"{VERIFY} / {EXECUTE}, per-round ratios, median", paired_ratio(verify, execute), "x"),
        Row(f"{VERIFY} / {EXECUTE}, CPU time (less noisy)", ratio(cpu[VERIFY], cpu[EXECUTE]), "x"),
        Row(f"{VERIFY} / {NBCONVERT}", ratio(verify, nbconvert), "x"),
        Row(f"{VERIFY}, median", median(verify), "s"),
        Row(f"{EXECUTE}, median", median(execute), "s"),
        Row(f"{NBCONVERT}, median", median(nbconvert), "s"),
        Row(f"{VERIFY}, CPU time, median", median(cpu[VERIFY]), "s"),
        Row(f"{EXECUTE}, CPU time, median", median(cpu[EXECUTE]), "s"),
    ]
    section.details = {
        "rounds": config.verify_rounds,
        "seconds": samples,
        "cpu_seconds": cpu,
    }
    return section
