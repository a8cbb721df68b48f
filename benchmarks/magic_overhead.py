"""1. The cost of `%%reproducible` on a trivial cell, against the hand-written minimal reset."""

from __future__ import annotations

import cProfile
import pstats
import time
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


def _timed_cell(shell: Any, source: str, deterministic: bool = False) -> float:
    """Seconds `source` takes in a kernel where op determinism is off (as in a new kernel) or already on."""
    if deterministic:
        determinism_on()
    else:
        determinism_off()
    started = time.perf_counter()
    run(shell, source)
    return time.perf_counter() - started


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
        shares = _profile(shell, config.magic_profiled_cells)
    magic, hand, bare = samples["magic"], samples["hand-written"], samples["no reset"]
    magic_on, hand_on = samples["magic, determinism on"], samples["hand-written, determinism on"]
    section.rows += [
        Row("%%reproducible / hand-written reset", ratio(magic, hand), "x", Goal("<=", 1.2)),
        Row("same, determinism already on", ratio(magic_on, hand_on), "x", Goal("<=", 1.15)),
        Row("%%reproducible / no reset", ratio(magic, bare), "x"),
        Row("%%reproducible cell, median", 1e3 * median(magic), "ms"),
        Row("hand-written reset cell, median", 1e3 * median(hand), "ms"),
        Row("%%reproducible cell, determinism on, median", 1e3 * median(magic_on), "ms"),
        Row("hand-written reset cell, determinism on, median", 1e3 * median(hand_on), "ms"),
        Row("plain cell, median", 1e3 * median(bare), "ms"),
    ]
    section.rows += [Row(f"profile share: {label.strip()}", shares[label], "%") for label, _, _ in PROFILE_TARGETS[:4]]
    section.details = {"cells_per_variant": config.magic_cells, "seconds": samples, "profile_share_percent": shares}
    return section
