"""1. The cost of `%%reproducible` on a trivial cell, against the hand-written minimal reset.

TensorFlow in this process; JAX in a child process (`python -m
benchmarks.magic_overhead jax CELLS`), where Keras' backend is chosen at
import and TensorFlow is made unimportable, as in an install of
`repro-magics[jax]`.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from importlib.util import find_spec
from typing import Any

from .config import Config
from .results import Goal, Row, Section
from .shell import determinism_off, determinism_on, reproducible_shell, run
from .timing import SelfTimed, interleaved, median, ratio

MAGIC = "%%reproducible seed=1\npass\n"
HAND_WRITTEN = """\
keras.backend.clear_session(free_memory=False)
keras.utils.set_random_seed(1)
tf.random.set_global_generator(tf.random.Generator.from_seed(1))
tf.config.experimental.enable_op_determinism()
pass
"""
NO_RESET = "pass\n"
#: What a JAX user writes by hand: Keras' one call (it seeds Python, NumPy and Keras; JAX has no global state).
HAND_WRITTEN_JAX = "keras.utils.set_random_seed(1)\npass\n"
#: Cells in a batch: a notebook of identical reproducible cells, timed as a whole.
BATCH = 20
#: A cell magic that runs nothing, not even its body: what IPython alone charges any cell magic, the floor
#: under `%%reproducible`.
EMPTY_CELL_MAGIC = "%%do_nothing\npass\n"
#: Resets timed back to back, to time the resets alone, out of any cell.
RESETS = 200

#: Where the magic's time may go: (label, end of the file name, function name); the first four go in the table.
PROFILE_TARGETS = (
    ("reset_randomness", "seeding.py", "reset_randomness"),
    ("  tf.random.Generator.from_seed", "stateful_random_ops.py", "from_seed"),
    ("ledger update (_save)", "magics.py", "_save"),
    ("cell body (inner run_cell)", "magics.py", "_run_body"),
    ("  keras clear_session", "global_state.py", "clear_session"),
    ("  ledger save (JSON + write)", "ledger/store.py", "save"),
    ("  of which os.fsync", "~", "<built-in method posix.fsync>"),
    ("  ledger load", "ledger/store.py", "load"),
    ("  notebook lookup (find_notebook_path)", "notebook_context.py", "find_notebook_path"),
    ("op determinism on/off", "determinism.py", "op_determinism"),
)


def _timed_cell(shell: Any, source: str, deterministic: bool | None = False) -> float:
    """Seconds `source` takes as the second of two such cells in a row, the first untimed.

    The first cell leaves the kernel as a notebook of such cells has it (the
    magic resets the global generator it set in place, which it cannot when
    a hand-written reset set another in between). `deterministic`: op
    determinism off (as in a new kernel) or already on before the timed cell;
    None leaves it alone (JAX).
    """
    run(shell, source)
    if deterministic is True:
        determinism_on()
    elif deterministic is False:
        determinism_off()
    started = time.perf_counter()
    run(shell, source)
    return time.perf_counter() - started


def _timed_batch(shell: Any, source: str) -> float:
    """Seconds `BATCH` runs of `source` take, one after the other, as cells of one notebook."""
    started = time.perf_counter()
    for _ in range(BATCH):
        run(shell, source)
    return time.perf_counter() - started


def _do_nothing(_line: str, _cell: str) -> None:
    return None


def _timed_resets(reset: Any) -> float:
    """Seconds one `reset()` takes, the mean of `RESETS` back to back."""
    started = time.perf_counter()
    for _ in range(RESETS):
        reset()
    return (time.perf_counter() - started) / RESETS


def _magic_reset() -> None:
    from repro_magics.kernel.backends import reproducible_setup

    with reproducible_setup(1):
        pass


def _jax_samples(cells: int, batches: int) -> dict[str, list[float]]:
    """The magic against `keras.utils.set_random_seed` in a JAX kernel, single cells and batches, interleaved;
    the floor any cell magic pays; and the two resets alone, out of any cell."""
    import keras

    from .shell import reproducible_shell

    with reproducible_shell(imports="import keras") as shell:
        shell.register_magic_function(_do_nothing, "cell", "do_nothing")
        single = {
            "magic": SelfTimed(lambda: _timed_cell(shell, MAGIC, None)),
            "hand-written": SelfTimed(lambda: _timed_cell(shell, HAND_WRITTEN_JAX, None)),
            "empty cell magic": SelfTimed(lambda: _timed_cell(shell, EMPTY_CELL_MAGIC, None)),
        }
        batch = {
            "magic x20": SelfTimed(lambda: _timed_batch(shell, MAGIC)),
            "hand-written x20": SelfTimed(lambda: _timed_batch(shell, HAND_WRITTEN_JAX)),
        }
        resets = {
            "magic's reset": SelfTimed(lambda: _timed_resets(_magic_reset)),
            "set_random_seed": SelfTimed(lambda: _timed_resets(lambda: keras.utils.set_random_seed(1))),
        }
        interleaved(single, 5)
        interleaved(resets, 2)
        return {
            **interleaved(single, cells),
            **interleaved(batch, batches),
            **interleaved(resets, max(1, cells // 10)),
        }


def _run_jax_child(cells: int, batches: int) -> dict[str, list[float]]:
    environment = {**os.environ, "KERAS_BACKEND": "jax"}
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.magic_overhead", "jax", str(cells), str(batches)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the JAX benchmark failed: {completed.stderr.strip().splitlines()[-1:]}")
    samples: dict[str, list[float]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return samples


def _profile(shell: Any, cells: int) -> dict[str, float]:
    """Share (%) of the magic's own time spent in each of `PROFILE_TARGETS`."""
    profiler = cProfile.Profile()
    for _ in range(cells):
        determinism_off()
        profiler.enable()
        run(shell, MAGIC)
        profiler.disable()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def cumulative(file_end: str, function: str) -> float:
        return sum(v[3] for (file, _, name), v in stats.items() if file.endswith(file_end) and name == function)

    total = cumulative("magics.py", "reproducible")
    return {label: 100 * cumulative(file_end, name) / total for label, file_end, name in PROFILE_TARGETS}


def run_benchmark(config: Config) -> Section:
    section = Section("1 magic overhead")
    with reproducible_shell() as shell:
        cases = {
            "magic": SelfTimed(lambda: _timed_cell(shell, MAGIC)),
            "hand-written": SelfTimed(lambda: _timed_cell(shell, HAND_WRITTEN)),
            "no reset": SelfTimed(lambda: _timed_cell(shell, NO_RESET)),
            # What a user who writes the reset by hand has: determinism stays on between cells.
            "magic, determinism on": SelfTimed(lambda: _timed_cell(shell, MAGIC, deterministic=True)),
            "hand-written, determinism on": SelfTimed(lambda: _timed_cell(shell, HAND_WRITTEN, deterministic=True)),
        }
        interleaved(cases, 5)  # warm-up
        samples = interleaved(cases, config.magic_cells)
        # Batches with determinism on throughout, as in a notebook of reproducible cells.
        determinism_on()
        batches = {
            "magic x20, determinism on": SelfTimed(lambda: _timed_batch(shell, MAGIC)),
            "hand-written x20, determinism on": SelfTimed(lambda: _timed_batch(shell, HAND_WRITTEN)),
        }
        samples |= interleaved(batches, max(1, config.magic_cells // BATCH))
        shares = _profile(shell, config.magic_profiled_cells)
    # Without JAX installed (an install without the [jax] extra) the JAX rows are left out.
    jax = _run_jax_child(config.magic_cells, max(1, config.magic_cells // BATCH)) if find_spec("jax") else None
    magic, hand, bare = samples["magic"], samples["hand-written"], samples["no reset"]
    magic_on, hand_on = samples["magic, determinism on"], samples["hand-written, determinism on"]
    magic_batch, hand_batch = samples["magic x20, determinism on"], samples["hand-written x20, determinism on"]
    section.rows += [
        Row("%%reproducible / hand-written reset", ratio(magic, hand), "x", Goal("<=", 1.2)),
        Row("same, determinism already on", ratio(magic_on, hand_on), "x", Goal("<=", 0.8)),
        Row("same, batches of 20 cells, determinism on", ratio(magic_batch, hand_batch), "x", Goal("<=", 0.8)),
        Row("%%reproducible / no reset", ratio(magic, bare), "x"),
        Row("%%reproducible cell, median", 1e3 * median(magic), "ms"),
        Row("hand-written reset cell, median", 1e3 * median(hand), "ms"),
        Row("%%reproducible cell, determinism on, median", 1e3 * median(magic_on), "ms"),
        Row("hand-written reset cell, determinism on, median", 1e3 * median(hand_on), "ms"),
        Row("plain cell, median", 1e3 * median(bare), "ms"),
    ]
    if jax is not None:
        section.rows[3:3] = [
            Row(
                "JAX: %%reproducible / keras.utils.set_random_seed",
                ratio(jax["magic"], jax["hand-written"]),
                "x",
                Goal("<=", 0.8),
            ),
            Row(
                "JAX: same, batches of 20 cells",
                ratio(jax["magic x20"], jax["hand-written x20"]),
                "x",
                Goal("<=", 0.8),
            ),
            Row(
                "JAX: an empty cell magic (runs nothing) / keras.utils.set_random_seed, the floor of any cell magic",
                ratio(jax["empty cell magic"], jax["hand-written"]),
                "x",
            ),
            Row(
                "JAX: the magic's reset alone / keras.utils.set_random_seed alone, out of any cell",
                ratio(jax["magic's reset"], jax["set_random_seed"]),
                "x",
            ),
            Row("JAX: %%reproducible cell, median", 1e3 * median(jax["magic"]), "ms"),
            Row("JAX: keras.utils.set_random_seed cell, median", 1e3 * median(jax["hand-written"]), "ms"),
            Row("JAX: empty cell magic cell, median", 1e3 * median(jax["empty cell magic"]), "ms"),
            Row("JAX: the magic's reset alone, median", 1e3 * median(jax["magic's reset"]), "ms"),
            Row("JAX: keras.utils.set_random_seed alone, median", 1e3 * median(jax["set_random_seed"]), "ms"),
        ]
    section.rows += [Row(f"profile share: {label.strip()}", shares[label], "%") for label, _, _ in PROFILE_TARGETS[:4]]
    section.details = {
        "cells_per_variant": config.magic_cells,
        "seconds": samples,
        "jax_seconds": jax,
        "profile_share_percent": shares,
    }
    return section


if __name__ == "__main__":
    # The JAX child: python -m benchmarks.magic_overhead jax CELLS BATCHES; prints its samples as JSON.
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # as in an install without TensorFlow
    print(json.dumps(_jax_samples(int(sys.argv[2]), int(sys.argv[3]))))
