"""4f-4h. The per-cell state fingerprint of a verification kernel.

A namespace holding 1 GiB of arrays, against raw xxh3 over the same bytes; and
`repro-verify` on the example notebooks with and without fingerprinting,
interleaved.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import xxhash

from repro_magics.kernel.notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR
from repro_magics.kernel.state_fingerprints import global_generators, namespace_fingerprints

from .config import Config
from .results import Goal, Row, Section
from .timing import interleaved, median, paired_quartiles, paired_ratio, ratio

#: Eight float32 arrays of 128 MiB: 1 GiB, as a notebook's training data might hold.
_ARRAYS, _ELEMENTS = 8, 32 * 1024 * 1024


def _namespace(arrays: int, elements: int) -> dict[str, object]:
    generator = np.random.default_rng(0)
    namespace: dict[str, object] = {
        f"x{index}": generator.random(elements, dtype=np.float32) for index in range(arrays)
    }
    # What else a notebook keeps: scalars, strings, a small list, a dict of settings.
    namespace.update(
        epochs=10,
        learning_rate=1e-3,
        name="digits",
        sizes=[64, 32, 10],
        config={"batch": 32, "seed": 812},
    )
    return namespace


def run_benchmark(config: Config) -> Section:
    section = Section("4f state fingerprint per cell")
    arrays, elements = (1, 1024 * 1024) if config.smoke else (_ARRAYS, _ELEMENTS)
    namespace = _namespace(arrays, elements)
    buffers = [value for value in namespace.values() if isinstance(value, np.ndarray)]
    size = sum(array.nbytes for array in buffers)
    cases = {
        "namespace_fingerprints + global_generators": lambda: (namespace_fingerprints(namespace), global_generators()),
        "raw xxh3_64 over the arrays": lambda: [xxhash.xxh3_64(array.data).digest() for array in buffers],
        "global_generators alone": global_generators,
    }
    interleaved(cases, 1)  # warm-up: page in every buffer once
    samples = interleaved(cases, config.fingerprint_repeats)
    whole = median(samples["namespace_fingerprints + global_generators"])
    section.rows += [
        Row(f"per-cell fingerprint, {size / 2**30:.2f} GiB of arrays", whole, "s"),
        Row("per-cell fingerprint throughput", size / whole / 1e9, "GB/s"),
        Row(
            "per-cell fingerprint / raw xxh3_64 on the same bytes",
            ratio(samples["namespace_fingerprints + global_generators"], samples["raw xxh3_64 over the arrays"]),
            "x",
            Goal("<=", 1.2),
        ),
        Row(
            "global generators alone (Python, NumPy; frameworks if imported)",
            median(samples["global_generators alone"]) * 1e3,
            "ms",
        ),
    ]
    section.details = {"bytes": size, "seconds": samples}
    return section


EXAMPLES = Path(__file__).resolve().parent.parent / "notebooks"
WITH, WITHOUT = "repro-verify --runs 1", "repro-verify --runs 1 --no-state-fingerprints"
#: Rounds of (with, without) on every example notebook; a round is about 4 minutes on 2 shared cores.
_ROUNDS = {False: 3, True: 1}


def _verify(command: list[str], folder: Path, environment: dict[str, str]) -> None:
    completed = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=1200)
    if completed.returncode not in (0, 1):  # an example may diverge on purpose; failing to run is no figure
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(command[:3])} exited {completed.returncode}: {' | '.join(tail)}")


def run_verification_benchmark(config: Config) -> Section:
    section = Section("4g verification with state fingerprints")
    environment = {k: v for k, v in os.environ.items() if k not in (LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR)}
    verify = str(Path(sys.executable).parent / "repro-verify")
    with tempfile.TemporaryDirectory(prefix="repro-bench-state-") as scratch:
        folder = Path(scratch)
        notebooks = []
        for example in sorted(EXAMPLES.glob("*.ipynb")):
            notebooks.append(str(shutil.copy(example, folder / example.name)))
        commands = {
            WITH: [verify, "--runs", "1", "-q", *notebooks],
            WITHOUT: [verify, "--runs", "1", "-q", "--no-state-fingerprints", *notebooks],
        }
        _verify(commands[WITHOUT], folder, environment)  # saves the ledgers; each timed run then compares once
        cases = {name: functools.partial(_verify, command, folder, environment) for name, command in commands.items()}
        samples = interleaved(cases, _ROUNDS[config.smoke])
    low, high = paired_quartiles(samples[WITH], samples[WITHOUT])
    section.rows += [
        Row(
            f"{WITH} / {WITHOUT}, {len(notebooks)} example notebooks",
            ratio(samples[WITH], samples[WITHOUT]),
            "x",
            Goal("<=", 1.05),
        ),
        Row("the same, per-round ratios, median", paired_ratio(samples[WITH], samples[WITHOUT]), "x"),
        Row("the same, per-round ratios, first quartile", low, "x"),
        Row("the same, per-round ratios, third quartile", high, "x"),
        Row(f"{WITH}, median", median(samples[WITH]), "s"),
        Row(f"{WITHOUT}, median", median(samples[WITHOUT]), "s"),
    ]
    section.details = {"rounds": _ROUNDS[config.smoke], "seconds": samples}
    return section


def run_share_benchmark(config: Config) -> Section:
    """What the kernels themselves timed: the seconds spent fingerprinting, as a share of each run.

    Far less noisy on a shared machine than the difference of two whole
    verifications: both figures come from the same run.
    """
    from repro_magics.verify.folder_snapshot import snapshot_folder
    from repro_magics.verify.runner import run_notebook

    section = Section("4h state fingerprints' share of a run")
    runs = 1 if config.smoke else 2
    fingerprinting: list[float] = []
    whole: list[float] = []
    with tempfile.TemporaryDirectory(prefix="repro-bench-share-") as scratch:
        folder = Path(scratch)
        for example in sorted(EXAMPLES.glob("*.ipynb")):
            notebook = Path(shutil.copy(example, folder / example.name))
            for _ in range(runs):
                run = run_notebook(notebook)
                if run.failure is not None:
                    raise RuntimeError(f"{example.name} failed to run: {run.failure.summary}")
                spent = sum(state.seconds for state in run.states)
                fingerprinting.append(spent)
                whole.append(run.seconds)
                section.rows.append(
                    Row(
                        f"{example.name}: {len(run.states)} cells, fingerprinting / run", 100 * spent / run.seconds, "%"
                    )
                )
        snapshot = interleaved({"snapshot": lambda: snapshot_folder(folder)}, 5)["snapshot"]
    section.rows += [
        Row("all example runs: fingerprinting / run", 100 * sum(fingerprinting) / sum(whole), "%", Goal("<=", 5.0)),
        Row("folder snapshot (taken twice per run), the examples' folder", median(snapshot) * 1e3, "ms"),
    ]
    section.details = {"fingerprint_seconds": fingerprinting, "run_seconds": whole, "snapshot_seconds": snapshot}
    return section
