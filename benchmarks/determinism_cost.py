"""3. Training throughput of a small conv net with and without op determinism, stateful vs stateless map."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from repro_magics.kernel.determinism import is_op_determinism_enabled, op_determinism
from repro_magics.kernel.seeding import reset_randomness

from .config import Config
from .results import Row, Section
from .shell import determinism_off
from .timing import Case, SelfTimed, interleaved, median, paired_quartiles, paired_ratio, ratio

SEED = 1
BATCH = 64
COMBINATIONS = (
    ("stateful", False),
    ("stateful", True),
    ("stateless", False),
    ("stateless", True),
)


def _digits(copies: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    return np.concatenate([images] * copies), np.concatenate([digits.target.astype("int32")] * copies)


def _dataset(images: np.ndarray, labels: np.ndarray, random_map: str) -> Any:
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(len(images))
    if random_map == "stateful":
        data = data.map(
            lambda x, y: (x + tf.random.normal(tf.shape(x), stddev=0.05), y), num_parallel_calls=tf.data.AUTOTUNE
        )
    else:
        # A seed of its own per element: (run seed, position in the epoch).
        def noisy(index: Any, pair: Any) -> Any:
            x, y = pair
            seed = tf.stack([tf.constant(SEED, tf.int64), index])
            return x + tf.random.stateless_normal(tf.shape(x), seed=seed, stddev=0.05), y

        data = data.enumerate().map(noisy, num_parallel_calls=tf.data.AUTOTUNE)
    return data.batch(BATCH).prefetch(tf.data.AUTOTUNE)


def _model() -> Any:
    import keras

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _epoch_clock(seconds: list[float]) -> Any:
    """A Keras callback that appends each epoch's wall time to `seconds`."""
    import keras

    class EpochClock(keras.callbacks.Callback):
        started = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seconds.append(time.perf_counter() - self.started)

    return EpochClock()


@contextlib.contextmanager
def _determinism(enabled: bool) -> Iterator[None]:
    if enabled:
        with op_determinism():
            yield
        return
    determinism_off()
    yield


def _seconds_per_sample(
    images: np.ndarray, labels: np.ndarray, random_map: str, deterministic: bool, epochs: int
) -> float:
    """One run from fresh seeds: an untimed first epoch (tracing), then `epochs` timed ones."""
    with _determinism(deterministic):
        assert is_op_determinism_enabled() is deterministic
        reset_randomness(SEED)
        seconds: list[float] = []
        _model().fit(
            _dataset(images, labels, random_map),
            epochs=1 + epochs,
            shuffle=False,
            verbose=0,
            callbacks=[_epoch_clock(seconds)],
        )
    return sum(seconds[1:]) / (epochs * len(images))


def _name(random_map: str, deterministic: bool) -> str:
    return f"{random_map} map, determinism {'on' if deterministic else 'off'}"


#: (label, the case whose time is the numerator, the denominator): throughput of the second over the first.
THROUGHPUT_RATIOS = (
    ("stateful map: determinism on / off", _name("stateful", False), _name("stateful", True)),
    ("stateless map: determinism on / off", _name("stateless", False), _name("stateless", True)),
    ("determinism on: stateless / stateful map", _name("stateful", True), _name("stateless", True)),
    ("stateless + determinism / stateful without", _name("stateful", False), _name("stateless", True)),
)


def run_benchmark(config: Config) -> Section:
    section = Section("3 determinism cost")
    images, labels = _digits(config.training_copies)
    cases: dict[str, Case] = {}
    for random_map, on in COMBINATIONS:
        run = functools.partial(_seconds_per_sample, images, labels, random_map, on, config.training_epochs)
        cases[_name(random_map, on)] = SelfTimed(run)
    samples = interleaved(cases, config.training_repeats)
    section.rows += [Row(f"{name}, samples/s", 1 / median(samples[name]), "samples/s") for name in cases]
    quartiles = {}
    for label, numerator, denominator in THROUGHPUT_RATIOS:
        first, second = samples[numerator], samples[denominator]
        section.rows.append(Row(f"throughput {label}", ratio(first, second), "x"))
        section.rows.append(Row("  same, per-round ratios, median", paired_ratio(first, second), "x"))
        quartiles[label] = paired_quartiles(first, second)
    section.details = {
        "samples_per_epoch": len(images),
        "timed_epochs_per_run": config.training_epochs,
        "seconds_per_sample": samples,
        "per_round_ratio_quartiles": quartiles,
    }
    return section
