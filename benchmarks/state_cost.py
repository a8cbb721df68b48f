"""4c. The per-cell state fingerprint of a verification kernel: a namespace holding 1 GB of arrays, against raw xxh3."""

from __future__ import annotations

import numpy as np
import xxhash

from repro_magics.state_fingerprints import global_generators, namespace_fingerprints

from .config import Config
from .results import Goal, Row, Section
from .timing import interleaved, median, ratio

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
    section = Section("4c state fingerprint per cell")
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
