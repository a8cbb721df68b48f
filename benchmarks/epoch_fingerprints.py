"""3c. What fingerprinting the weights after every epoch adds to a `fit` the size of notebooks/01's."""

from __future__ import annotations

import contextlib
import functools
import time
from typing import Any

import numpy as np

from repro_magics.kernel import recording
from repro_magics.kernel.determinism import op_determinism
from repro_magics.kernel.recording import capturing_histories
from repro_magics.kernel.seeding import reset_randomness
from repro_magics.ledger.values import weights_fingerprint

from .config import Config
from .results import Goal, Row, Section
from .timing import SelfTimed, interleaved, median, paired_quartiles, paired_ratio

SEED = 812
EPOCHS = 8  # notebooks/01: 1,400 digits, batches of 64, 8 epochs
BATCH = 64
TRAIN_SAMPLES = 1400
FINGERPRINT_CALLS = 200


def _data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., np.newaxis]
    order = np.random.default_rng(0).permutation(len(images))[:TRAIN_SAMPLES]
    return images[order], digits.target.astype("int32")[order]


def _dataset(images: np.ndarray, labels: np.ndarray) -> Any:
    import tensorflow as tf

    def add_noise(image_batch: Any, label_batch: Any) -> Any:
        return image_batch + tf.random.normal(tf.shape(image_batch), stddev=0.05), label_batch

    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(images))
        .batch(BATCH)
        .map(add_noise, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _model() -> Any:
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dropout(0.25),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    return model


@contextlib.contextmanager
def _timing_fingerprints(seconds: list[float]) -> Any:
    """Time every fingerprint the recording takes, where it takes it: inside a real fit."""

    def timed(model: Any) -> str:
        started = time.perf_counter()
        try:
            return weights_fingerprint(model)
        finally:
            seconds.append(time.perf_counter() - started)

    recording.weights_fingerprint = timed  # type: ignore[attr-defined]
    try:
        yield
    finally:
        recording.weights_fingerprint = weights_fingerprint  # type: ignore[attr-defined]


def _fit_seconds(images: np.ndarray, labels: np.ndarray, fingerprinted: bool, in_fingerprints: list[float]) -> float:
    """One fit from fresh seeds under op determinism, as the magic runs it; the fit alone is timed.

    With `fingerprinted`, the share of that fit spent fingerprinting is appended to `in_fingerprints`.
    """
    with op_determinism():
        reset_randomness(SEED)
        model, data = _model(), _dataset(images, labels)
        spent: list[float] = []
        capture = capturing_histories([]) if fingerprinted else contextlib.nullcontext()
        with _timing_fingerprints(spent), capture:
            started = time.perf_counter()
            model.fit(data, epochs=EPOCHS, verbose=0)
            seconds = time.perf_counter() - started
        if fingerprinted:
            assert len(spent) == EPOCHS + 1, spent
            in_fingerprints.append(sum(spent) / seconds)
        return seconds


def _fingerprint_seconds() -> float:
    """Median seconds of one `weights_fingerprint` of the notebook's model, trained weights in place."""
    model = _model()
    model.build((None, 8, 8, 1))
    weights_fingerprint(model)
    samples = []
    for _ in range(FINGERPRINT_CALLS):
        started = time.perf_counter()
        weights_fingerprint(model)
        samples.append(time.perf_counter() - started)
    return median(samples)


def run_benchmark(config: Config) -> Section:
    section = Section("3c per-epoch weight fingerprints")
    images, labels = _data()
    shares: list[float] = []
    cases = {
        "fit": SelfTimed(functools.partial(_fit_seconds, images, labels, False, shares)),
        "fit, captured, weights fingerprinted per epoch": SelfTimed(
            functools.partial(_fit_seconds, images, labels, True, shares)
        ),
    }
    interleaved(cases, 1)  # warm-up: TensorFlow's first traces
    shares.clear()
    samples = interleaved(cases, config.training_repeats)
    plain, fingerprinted = samples["fit"], samples["fit, captured, weights fingerprinted per epoch"]
    one_fingerprint = _fingerprint_seconds()
    per_fit = one_fingerprint * (EPOCHS + 1)  # before training, then after each epoch
    section.rows += [
        Row(f"fit of notebooks/01's size ({EPOCHS} epochs, {TRAIN_SAMPLES} digits)", median(plain), "s"),
        Row("one weights_fingerprint of its model", one_fingerprint * 1000, "ms"),
        Row("time in fingerprints / captured fit, timed inside it", 100 * median(shares), "%", Goal("<=", 2.0)),
        Row("same, from one fingerprint's time x 9 / plain fit", 100 * per_fit / median(plain), "%"),
        # Whole fits vary by more than 2 % from one to the next on a shared machine; this row shows it.
        Row("captured fit / plain fit, per-round median", paired_ratio(fingerprinted, plain), "x"),
    ]
    section.details = {
        "epochs": EPOCHS,
        "fit_seconds": samples,
        "fingerprint_seconds": one_fingerprint,
        "share_in_fingerprints": shares,
        "per_round_ratio_quartiles": paired_quartiles(fingerprinted, plain),
    }
    return section
