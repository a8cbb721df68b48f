"""What was fixed when this process started, which no cell can change later."""

from __future__ import annotations

import os
import sys
from functools import lru_cache

#: Variables read once at process or library start that change the numbers.
#: Only these are ever recorded: the environment as a whole holds secrets.
STARTUP_VARIABLES = (
    "PYTHONHASHSEED",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_XLA_FLAGS",
    "TF_GPU_ALLOCATOR",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "CUBLAS_WORKSPACE_CONFIG",
    "KERAS_BACKEND",
    "REPRO_MAGICS_SEED",
)

HASH_SEED_FIX = (
    "start the kernel from the 'Python 3 (reproducible)' kernel "
    "(python -m repro_magics install-kernel --sys-prefix), "
    "or start Jupyter with PYTHONHASHSEED=0 set"
)


@lru_cache(maxsize=1)
def startup_environment() -> dict[str, str] | None:
    """The process's environment as it was at start (Linux); None where unknown.

    `os.environ` is no guide: users edit it in a cell, which changes nothing
    for settings that were read at start.
    """
    try:
        with open(f"/proc/{os.getpid()}/environ", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    pairs = (entry.split(b"=", 1) for entry in raw.split(b"\0") if b"=" in entry)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


def startup_values() -> dict[str, str | None]:
    """The start-up value of each of `STARTUP_VARIABLES` (None: unset)."""
    environment = startup_environment()
    if environment is None:
        environment = dict(os.environ)
    return {name: environment.get(name) for name in STARTUP_VARIABLES}


def hash_seed_fixed() -> bool | None:
    """Whether `str` hashing was seeded at start; None when that cannot be told."""
    if not sys.flags.hash_randomization:
        return True
    environment = startup_environment()
    if environment is None:
        return None
    value = environment.get("PYTHONHASHSEED", "random")
    return value.isdigit()


def hash_seed_warning() -> str | None:
    """One line for a kernel whose string hashing changes from start to start."""
    fixed = hash_seed_fixed()
    if fixed is not False:
        return None
    return (
        "repro_magics: this kernel started with PYTHONHASHSEED unset, so the order "
        "of sets of strings changes from kernel to kernel (setting it in a cell has "
        f"no effect); to fix it, {HASH_SEED_FIX}."
    )
