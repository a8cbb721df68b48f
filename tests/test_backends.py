"""`%%reproducible` and `repro-verify` on Keras' JAX and PyTorch backends, in real kernels on the CPU.

On each backend, a notebook with a trap of that backend diverges and its
fixed twin reproduces bitwise. The PyTorch tests carry the `torch` marker:
PyTorch's wheel is large, and CI may leave them out (`-m "not torch"`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli, write_notebook

from repro_magics.ledger.store import Ledger

pytestmark = pytest.mark.kernel

DIGITS = """\
import sys
import numpy as np
import keras
from sklearn.datasets import load_digits

digits = load_digits()
features = (digits.data[:512] / 16.0).astype("float32")
labels = digits.target[:512].astype("int64")
"""

MODEL = """\
model = keras.Sequential([
    keras.Input((64,)),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
"""

#: JAX's trap: a key made from the clock. Its fixed twin: a key made from a number.
JAX_KEY_FROM_THE_CLOCK = "import time\nkey = jax.random.PRNGKey(time.time_ns() % 2**32)"
JAX_KEY_FROM_A_NUMBER = "key = jax.random.PRNGKey(0)"

JAX_CELL = (
    """\
%%reproducible seed=812 record=noise_sum,backend,tensorflow_imported,xla_determinism
import os
import jax
{key}
noise = np.asarray(jax.random.normal(key, features.shape)) * 0.05
"""
    + MODEL
    + """\
history = model.fit(features + noise, labels, epochs=2, batch_size=64, verbose=0)
noise_sum = float(noise.sum())
backend = keras.backend.backend()
tensorflow_imported = "tensorflow" in sys.modules
xla_determinism = "--xla_gpu_deterministic_ops=true" in os.environ.get("XLA_FLAGS", "")
"""
)

#: PyTorch's trap: a DataLoader's shuffling generator seeded from the OS. Its fixed twin: PyTorch's
#: default generator, which the magic resets.
TORCH_GENERATOR_FROM_THE_OS = "shuffling = torch.Generator()\nshuffling.seed()"
TORCH_DEFAULT_GENERATOR = "shuffling = None"

TORCH_CELL = (
    """\
%%reproducible seed=812 record=first_labels,backend,deterministic_inside
import torch
from torch.utils.data import DataLoader, TensorDataset
{generator}
loader = DataLoader(
    TensorDataset(torch.from_numpy(features), torch.from_numpy(labels)),
    batch_size=64, shuffle=True, generator=shuffling,
)
first_labels = next(iter(loader))[1][:8].tolist()
"""
    + MODEL
    + """\
history = model.fit(loader, epochs=2, verbose=0)
backend = keras.backend.backend()
deterministic_inside = torch.are_deterministic_algorithms_enabled()
"""
)

TORCH_AFTER = "deterministic_after = torch.are_deterministic_algorithms_enabled()"
RECORD_AFTER = "%%reproducible seed=1 record=deterministic_after\npass"


NO_TENSORFLOW_SCRIPT = '''\
import sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "repro_magics")
cell = """%%reproducible seed=812 record=model
import keras
import numpy as np
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dropout(0.5)])
model.compile("adam", "mse")
history = model.fit(np.ones((32, 4)), np.ones((32, 3)), epochs=2, verbose=0)
"""
assert shell.run_cell(cell).success
shell.run_line_magic("repro_status", "")
print("tensorflow imported:", "tensorflow" in sys.modules, shell.user_ns["keras"].backend.backend())
'''


@pytest.mark.parametrize("backend", ["jax", pytest.param("torch", marks=pytest.mark.torch)])
def test_when_the_backend_is_not_tensorflow_then_the_extension_and_a_cell_leave_tensorflow_unimported(
    tmp_path: Path, backend: str
) -> None:
    _skip_without(backend)
    output = _run_in_a_shell_process(NO_TENSORFLOW_SCRIPT, backend, tmp_path)
    assert output.splitlines()[-1] == f"tensorflow imported: False {backend}"
    assert _backends(tmp_path / "cells.repro.json") == {backend}


LATE_TENSORFLOW_SCRIPT = '''\
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "repro_magics")
cell = """%%reproducible seed=812
import tensorflow as tf
from tensorflow.python.framework import config
inside = config.is_op_determinism_enabled()
order = [int(x) for x in tf.data.Dataset.range(20).shuffle(20)]
draws = tf.random.uniform([3]).numpy().tolist()
"""
results = []
for _ in range(2):
    assert shell.run_cell(cell).success
    results.append((shell.user_ns["order"], shell.user_ns["draws"]))
after = shell.user_ns["config"].is_op_determinism_enabled()
print(shell.user_ns["inside"], after, results[0] == results[1])
'''


def test_when_a_jax_cell_imports_tensorflow_then_tensorflow_is_seeded_and_deterministic_in_that_cell(
    tmp_path: Path,
) -> None:
    _skip_without("jax")
    output = _run_in_a_shell_process(LATE_TENSORFLOW_SCRIPT, "jax", tmp_path)
    inside, after, same = output.split()[-3:]
    assert (inside, after, same) == ("True", "False", "True")


TORCH_BESIDE_TENSORFLOW_SCRIPT = """\
import sys
from IPython.core.interactiveshell import InteractiveShell
import tensorflow
import torch

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "repro_magics")
cell = "%%reproducible seed=1\\nimport torch\\n"
cell += "inside = torch.are_deterministic_algorithms_enabled()\\ndraws = torch.randn(3).tolist()"
assert shell.run_cell(cell).success
first = shell.user_ns["draws"]
assert shell.run_cell(cell).success
print(shell.user_ns["inside"], torch.are_deterministic_algorithms_enabled(), first == shell.user_ns["draws"],
      "torch._inductor" in sys.modules)
"""


@pytest.mark.torch
def test_when_a_tensorflow_kernel_uses_torch_then_cells_are_deterministic_without_loading_torchs_compiler(
    tmp_path: Path,
) -> None:
    _skip_without("torch")
    output = _run_in_a_shell_process(TORCH_BESIDE_TENSORFLOW_SCRIPT, "tensorflow", tmp_path)
    assert output.split()[-4:] == ["True", "False", "True", "False"]


def _skip_without(library: str) -> None:
    # Not importorskip: importing PyTorch into the test process would bring it into every
    # in-process %%reproducible cell of the tests that follow.
    if find_spec(library) is None:
        pytest.skip(f"{library} is not installed")


def _run_in_a_shell_process(script: str, backend: str, tmp_path: Path) -> str:
    """Run `script` in a new Python process on `backend`, its ledger in `tmp_path`; its output, once it exits 0."""
    environment = {**os.environ, "KERAS_BACKEND": backend, "REPRO_MAGICS_LEDGER": str(tmp_path / "cells.repro.json")}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def _values(ledger: Path) -> dict[str, Any]:
    """The recorded values of every cell of a ledger, by name."""
    values: dict[str, Any] = {}
    for record in Ledger.load(ledger).records:
        for name, value in record["values"].items():
            values[name] = value.get("value")
    return values


def _backends(ledger: Path) -> set[str]:
    loaded = Ledger.load(ledger)
    return {loaded.environment_of(record)["backend"]["name"] for record in loaded.records}


def test_when_a_jax_notebook_keys_from_a_number_then_it_reproduces_bitwise_without_importing_tensorflow(
    tmp_path: Path,
) -> None:
    _skip_without("jax")
    notebook = write_notebook(tmp_path / "jax.ipynb", DIGITS, JAX_CELL.format(key=JAX_KEY_FROM_A_NUMBER))
    status, out, err = run_cli(str(notebook), "--backend", "jax")
    assert status == 0, out + err
    assert "identical across the fresh runs, bitwise" in out
    ledger = tmp_path / "jax.repro.json"
    values = _values(ledger)
    assert values["backend"] == "jax"
    assert values["tensorflow_imported"] is False
    assert values["xla_determinism"] is True, "the extension set XLA's flag when the kernel started"
    assert _backends(ledger) == {"jax"}
    # Without --backend, the ledger's backend is the one run.
    status, out, err = run_cli(str(notebook))
    assert status == 0, out + err
    assert "identical to the ledger, bitwise" in out


def test_when_a_jax_ledger_is_verified_on_tensorflow_then_1_saying_so_first_in_one_line(tmp_path: Path) -> None:
    _skip_without("jax")
    notebook = write_notebook(tmp_path / "jax.ipynb", DIGITS, JAX_CELL.format(key=JAX_KEY_FROM_A_NUMBER))
    assert run_cli(str(notebook), "--backend", "jax", "--runs", "1")[0] == 0
    status, out, err = run_cli(str(notebook), "--backend", "tensorflow")
    assert status == 1, out + err
    first_line = out.splitlines()[0]
    assert first_line == f"{notebook}: DIVERGED: ledger was recorded on the jax backend, run 1 ran on tensorflow"
    assert "noise_sum" not in out, "no stream of number differences"


def test_when_a_jax_notebook_keys_from_the_clock_then_1_naming_the_cell(tmp_path: Path) -> None:
    _skip_without("jax")
    notebook = write_notebook(tmp_path / "jax.ipynb", DIGITS, JAX_CELL.format(key=JAX_KEY_FROM_THE_CLOCK))
    status, out, err = run_cli(str(notebook), "--backend", "jax")
    assert status == 1, out + err
    assert "DIVERGED, run 2 vs run 1, first at cell 2" in out


@pytest.mark.torch
def test_when_a_torch_notebook_shuffles_with_the_default_generator_then_it_reproduces_bitwise_deterministically(
    tmp_path: Path,
) -> None:
    _skip_without("torch")
    notebook = write_notebook(
        tmp_path / "torch.ipynb",
        DIGITS,
        TORCH_CELL.format(generator=TORCH_DEFAULT_GENERATOR),
        TORCH_AFTER,
        RECORD_AFTER,
    )
    status, out, err = run_cli(str(notebook), "--backend", "torch")
    assert status == 0, out + err
    assert "identical across the fresh runs, bitwise" in out
    ledger = tmp_path / "torch.repro.json"
    values = _values(ledger)
    assert values["backend"] == "torch"
    assert values["deterministic_inside"] is True
    assert values["deterministic_after"] is False, "determinism is put back as it was after the cell"
    assert _backends(ledger) == {"torch"}


@pytest.mark.torch
def test_when_a_torch_notebook_seeds_its_shuffling_from_the_os_then_1_naming_the_cell(tmp_path: Path) -> None:
    _skip_without("torch")
    notebook = write_notebook(
        tmp_path / "torch.ipynb", DIGITS, TORCH_CELL.format(generator=TORCH_GENERATOR_FROM_THE_OS)
    )
    status, out, err = run_cli(str(notebook), "--backend", "torch")
    assert status == 1, out + err
    assert "DIVERGED, run 2 vs run 1, first at cell 2" in out


def test_when_a_jax_trap_is_traced_then_the_first_step_whose_weights_differ_is_named(tmp_path: Path) -> None:
    _skip_without("jax")
    notebook = write_notebook(tmp_path / "jax.ipynb", DIGITS, JAX_CELL.format(key=JAX_KEY_FROM_THE_CLOCK))
    status, out, err = run_cli(str(notebook), "--trace", "--backend", "jax")
    assert status == 1, out + err
    assert "fit 1: the inputs were not traced; the weights first differ after epoch 1, batch 1" in out


@pytest.mark.torch
def test_when_a_torch_trap_is_traced_then_the_first_step_whose_weights_differ_is_named(tmp_path: Path) -> None:
    _skip_without("torch")
    notebook = write_notebook(
        tmp_path / "torch.ipynb", DIGITS, TORCH_CELL.format(generator=TORCH_GENERATOR_FROM_THE_OS)
    )
    status, out, err = run_cli(str(notebook), "--trace", "--backend", "torch")
    assert status == 1, out + err
    assert "fit 1: the inputs were not traced; the weights first differ after epoch 1, batch 1" in out
