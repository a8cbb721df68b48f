"""Determinism on an NVIDIA GPU, on each Keras backend that can use one here: the promise of docs/backends.md.

A model built to meet a GPU's run-to-run differences: an embedding with few
rows (thousands of updates summed into each row, in whatever order the GPU
adds them) and a convolution whose algorithm cuDNN or XLA picks. Two kinds
of test:

- under `%%reproducible`, `repro-verify` finds two fresh runs on the GPU
  identical, weights after every epoch included;
- the same training without the switches the magic and the extension set
  (TensorFlow's op determinism, XLA's flag, PyTorch's deterministic
  algorithms) changes its bits from run to run. This one is the proof that
  the first is not vacuous on this GPU: were the GPU deterministic without
  the switches, the first would pass with or without repro_magics.

And where JAX started on the GPU before the extension could set XLA's flag,
the first reproducible cell says so, once.

Runs only where `nvidia-smi` lists a GPU (`-m gpu`); CI has none, so it skips there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
from helpers import run_cli, write_notebook

from repro_magics.kernel.determinism import CUBLAS_WORKSPACE_VARIABLE, JAX_TOO_LATE, XLA_FLAGS_VARIABLE
from repro_magics.ledger.store import Ledger


def _gpu_listed() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return listed.returncode == 0 and "GPU" in listed.stdout


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.kernel,
    pytest.mark.skipif(not _gpu_listed(), reason="no NVIDIA GPU here (nvidia-smi lists none)"),
]

BACKENDS = ["jax", "torch", "tensorflow"]

TRAINING = """\
import numpy as np
import keras

generator = np.random.default_rng(0)
tokens = generator.integers(0, 16, size=(4096, 256)).astype("int32")
labels = (tokens[:, :8].sum(axis=1) % 2).astype("int32")
model = keras.Sequential([
    keras.Input((256,), dtype="int32"),
    keras.layers.Embedding(16, 32),
    keras.layers.Conv1D(32, 5, activation="relu"),
    keras.layers.GlobalAveragePooling1D(),
    keras.layers.Dropout(0.1),
    keras.layers.Dense(2, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(tokens, labels, epochs=3, batch_size=512, verbose=0)
"""

#: Where the weights live, as each backend names its GPU.
DEVICE_OF_THE_WEIGHTS = {
    "jax": "device = str(next(iter(model.weights[0].value.devices())).platform)",
    "torch": "device = model.weights[0].value.device.type",
    "tensorflow": "device = 'gpu' if 'GPU' in model.weights[0].value.device else 'cpu'",
}
ON_THE_GPU = {"jax": "gpu", "torch": "cuda", "tensorflow": "gpu"}

WITHOUT_SWITCHES = (
    "import hashlib, keras\nkeras.utils.set_random_seed(812)\n"
    + TRAINING
    + "print(hashlib.sha256(b''.join(w.numpy().tobytes() for w in model.weights)).hexdigest())\n"
)


def _skip_without(backend: str) -> None:
    if find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")


@pytest.mark.parametrize("backend", BACKENDS)
def test_when_a_notebook_trains_on_the_gpu_under_the_magic_then_two_fresh_runs_are_identical_bitwise(
    backend: str, tmp_path: Path
) -> None:
    _skip_without(backend)
    cell = f"%%reproducible seed=812 record=device\n{TRAINING}{DEVICE_OF_THE_WEIGHTS[backend]}\n"
    notebook = write_notebook(tmp_path / f"gpu-{backend}.ipynb", "%load_ext repro_magics", cell)
    status, out, err = run_cli(str(notebook), "--backend", backend)
    assert status == 0, out + err
    assert "identical across the fresh runs, bitwise" in out
    (record,) = [record for record in Ledger.load(tmp_path / f"gpu-{backend}.repro.json").records if record["values"]]
    assert record["values"]["device"]["value"] == ON_THE_GPU[backend], "the model trained on the GPU"
    assert len(record["histories"][0]["epochs"]) == 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_when_the_same_training_runs_without_the_switches_then_the_gpu_changes_its_bits(
    backend: str, tmp_path: Path
) -> None:
    _skip_without(backend)
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in (XLA_FLAGS_VARIABLE, CUBLAS_WORKSPACE_VARIABLE, "TF_DETERMINISTIC_OPS")
    }
    environment["KERAS_BACKEND"] = backend
    digests = {
        subprocess.run(
            [sys.executable, "-c", WITHOUT_SWITCHES], env=environment, capture_output=True, text=True, check=True
        ).stdout.split()[-1]
        for _ in range(3)
    }
    assert len(digests) > 1, f"three runs on {backend} without the switches gave the same weights"


#: JAX starts on the GPU before the extension can put XLA's flag in place; then a reproducible cell runs twice.
JAX_STARTED_FIRST = """\
import jax.numpy
jax.numpy.ones(3).block_until_ready()
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "repro_magics")
for _ in range(2):
    assert shell.run_cell("%%reproducible seed=1\\nimport jax.numpy\\nx = float(jax.numpy.ones(3).sum())").success
"""


def test_when_jax_started_on_the_gpu_before_the_extension_then_the_first_cell_says_so_once(tmp_path: Path) -> None:
    _skip_without("jax")
    environment = {name: value for name, value in os.environ.items() if name != XLA_FLAGS_VARIABLE}
    environment |= {"KERAS_BACKEND": "jax", "REPRO_MAGICS_LEDGER": str(tmp_path / "cells.repro.json")}
    completed = subprocess.run(
        [sys.executable, "-c", JAX_STARTED_FIRST], env=environment, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    said = [line for line in completed.stderr.splitlines() if line.startswith("repro_magics: JAX started")]
    assert said == [JAX_TOO_LATE.format(platform="GPU")]
