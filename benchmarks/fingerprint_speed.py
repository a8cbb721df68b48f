"""4b. `encode_model` on a large Keras model, against raw xxh3_128 over the same bytes."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import xxhash

from repro_magics.ledger.values import encode_model, fingerprint

from .config import Config
from .results import Goal, Row, Section
from .timing import interleaved, median, ratio


def _model(width: int, layers: int) -> Any:
    import keras

    return keras.Sequential([keras.Input((width,))] + [keras.layers.Dense(width) for _ in range(layers)])


def _measure(config: Config) -> tuple[dict[str, list[float]], int, int]:
    """Seconds per case, bytes and parameters of a fresh model of the configured size."""
    model = _model(config.model_width, config.model_layers)
    arrays = [np.asarray(variable.numpy()) for variable in model.weights]  # the same bytes, already in NumPy
    cases = {
        "encode_model": lambda: encode_model(model),
        "raw xxh3_128": lambda: [xxhash.xxh3_128(array.data).digest() for array in arrays],
        # encode_model's hashing alone, on the same NumPy arrays: what reading
        # the weights and storing the small ones add is the rest.
        "fingerprint on NumPy arrays": lambda: [fingerprint(array) for array in arrays],
    }
    interleaved(cases, 1)  # warm-up: page in every buffer once
    samples = interleaved(cases, config.fingerprint_repeats)
    return samples, sum(array.nbytes for array in arrays), sum(array.size for array in arrays)


def run_benchmark(config: Config) -> Section:
    import keras

    section = Section("4b model fingerprint")
    samples, size, parameters = _measure(config)
    keras.backend.clear_session()
    gc.collect()

    encode, raw = median(samples["encode_model"]), median(samples["raw xxh3_128"])
    hashing = median(samples["fingerprint on NumPy arrays"])
    section.rows += [
        Row(
            "encode_model / raw xxh3_128 throughput",
            ratio(samples["raw xxh3_128"], samples["encode_model"]),
            "x",
            Goal(">=", 0.8),
        ),
        Row(f"encode_model, {parameters / 1e6:.1f}M parameters", size / encode / 1e9, "GB/s"),
        Row("raw xxh3_128 on the same bytes", size / raw / 1e9, "GB/s"),
        Row("share of encode_model: hashing (values.fingerprint)", 100 * hashing / encode, "%"),
        Row("share of encode_model: reading weights, storing small ones", 100 * (encode - hashing) / encode, "%"),
    ]
    section.details = {"parameters": parameters, "bytes": size, "seconds": samples}
    return section
