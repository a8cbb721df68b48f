"""The kernel's per-cell state fingerprints, in an in-process IPython shell, with real NumPy, TensorFlow and Keras."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from repro_magics.kernel.state_fingerprints import (
    MAX_DEPTH,
    STATE_ENV_VAR,
    fingerprint_value,
    global_generators,
    namespace_fingerprints,
)


def test_when_two_arrays_differ_in_one_bit_then_their_digests_differ_and_equal_ones_match() -> None:
    first = np.arange(3601, dtype=np.int64)
    second = first.copy()
    second[-1] ^= 1
    assert fingerprint_value(first) == fingerprint_value(first.copy())
    assert fingerprint_value(first).digest != fingerprint_value(second).digest
    assert fingerprint_value(first).kind == "int64 array, 3601 elements"


def test_when_values_are_plain_then_each_kind_is_named_and_fingerprinted() -> None:
    for value, kind in [
        (3, "int"),
        (0.1, "float"),
        (None, "NoneType"),
        ("abc", "str, 3 characters"),
        (b"ab", "bytes, 2 bytes"),
    ]:
        found = fingerprint_value(value)
        assert (found.kind, found.digest is not None) == (kind, True)
    assert fingerprint_value(1).digest != fingerprint_value(True).digest
    assert fingerprint_value(0.0).digest != fingerprint_value(-0.0).digest


def test_when_a_list_holds_an_unknown_object_then_the_list_says_so_and_the_object_alone_has_no_digest() -> None:
    class Unknown:
        def __iter__(self) -> Any:
            raise AssertionError("user code must not run")

        def __len__(self) -> int:
            raise AssertionError("user code must not run")

    found = fingerprint_value([1, Unknown(), np.zeros(2)])
    assert found.kind == "list of 3 items, 1 not fingerprinted"
    assert found.digest is not None
    assert fingerprint_value(Unknown()).digest is None
    assert fingerprint_value([1, Unknown()]).digest != fingerprint_value([2, Unknown()]).digest


def test_when_a_subclass_of_dict_is_met_then_it_is_not_iterated() -> None:
    class Loud(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            raise AssertionError("user code must not run")

    assert fingerprint_value(Loud(a=1)).digest is None


def test_when_an_array_maps_a_file_then_the_file_is_not_read(tmp_path: Path) -> None:
    mapped = np.memmap(tmp_path / "big.bin", dtype=np.float32, mode="w+", shape=(1000,))
    assert fingerprint_value(mapped) == type(fingerprint_value(mapped))(
        "float32 memory-mapped array, 1000 elements (its file is not read)", None
    )


def test_when_containers_nest_deeper_than_the_bound_then_the_deepest_is_named_not_hashed() -> None:
    nested: Any = 1
    for _ in range(MAX_DEPTH + 1):
        nested = [nested]
    assert fingerprint_value(nested).digest is None
    assert fingerprint_value([nested[0], 2]).kind == "list of 2 items, 1 not fingerprinted"
    assert fingerprint_value([[[1]]]).digest is not None


def test_when_the_namespace_holds_modules_functions_and_private_names_then_only_values_are_kept() -> None:
    namespace = {"np": np, "f": len, "g": lambda: 0, "_hidden": 1, "In": [], "x": 2, "Point": int}
    assert list(namespace_fingerprints(namespace, hidden={"In"})) == ["x"]


def test_when_python_and_numpy_draw_then_their_global_generators_change() -> None:
    before = global_generators()
    random.random()
    middle = global_generators()
    np.random.permutation(3)
    after = global_generators()
    assert before["Python's random"] != middle["Python's random"]
    assert middle["NumPy's global generator"] == before["NumPy's global generator"]
    assert after["NumPy's global generator"] != middle["NumPy's global generator"]


def test_when_no_framework_is_imported_then_looking_imports_none() -> None:
    code = (
        "import sys, numpy as np;"
        "from repro_magics.kernel.state_fingerprints import global_generators, fingerprint_value;"
        "global_generators(); fingerprint_value([np.zeros(3), 'a']);"
        "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_when_keras_objects_are_met_then_weights_optimizer_variables_and_generators_are_fingerprinted() -> None:
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam()
    model.compile(optimizer=optimizer, loss="mse")
    before = fingerprint_value(model)
    assert before.kind == "Keras Sequential, 2 weights"
    model.layers[0].kernel.assign_add(tf.ones((4, 2)))
    assert fingerprint_value(model).digest != before.digest
    assert fingerprint_value(optimizer).kind.startswith("Keras Adam optimizer")
    assert fingerprint_value(tf.constant([1.0, 2.0])).kind == "float32 tensor, 2 elements"
    assert fingerprint_value(tf.Variable([1, 2])).kind == "int32 TensorFlow variable, 2 elements"
    dataset = tf.data.Dataset.range(3).map(lambda x: tf.py_function(lambda: 1 / 0, [], tf.float32))
    assert fingerprint_value(dataset) == type(fingerprint_value(dataset))("tf.data.Dataset (never iterated here)", None)


def test_when_tensorflow_and_keras_generators_draw_then_the_global_generator_entries_change() -> None:
    import keras
    import tensorflow as tf

    tf.random.set_seed(1)
    tf.random.set_global_generator(tf.random.Generator.from_seed(1))
    keras.random.normal((1,))
    before = global_generators()
    tf.random.get_global_generator().normal((2,))
    keras.random.normal((1,))
    tf.random.normal((1,))
    after = global_generators()
    for name in ("TensorFlow's global generator", "Keras' global SeedGenerator", "TensorFlow's op seeds"):
        assert before[name] != after[name], name


def test_when_the_kernel_is_a_verification_one_then_each_cell_appends_its_state(
    shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = tmp_path / "state.jsonl"
    monkeypatch.setenv(STATE_ENV_VAR, str(destination))
    monkeypatch.setenv("REPRO_MAGICS_LEDGER", str(tmp_path / "ledger.repro.json"))
    shell.run_line_magic("load_ext", "repro_magics")
    try:
        shell.run_cell("import numpy as np\nidx = np.random.permutation(10)")
        shell.run_cell("total = int(idx.sum())")
        shell.run_cell("%%reproducible seed=1 record=inner\ninner = 2")
    finally:
        shell.run_line_magic("unload_ext", "repro_magics")
    shell.run_cell("after_unload = 1")
    lines = [json.loads(line) for line in destination.read_text().splitlines()]
    assert len(lines) == 3, "one line per cell, none for the body %%reproducible runs as a cell of its own"
    assert lines[2]["names"]["inner"] == ["int", fingerprint_value(2).digest]
    assert lines[0]["names"]["idx"][0] == "int64 array, 10 elements"
    assert lines[1]["names"]["total"] == ["int", fingerprint_value(45).digest]
    assert "NumPy's global generator" in lines[0]["generators"]


def test_when_the_kernel_is_not_a_verification_one_then_nothing_is_hooked(
    shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(STATE_ENV_VAR, raising=False)
    monkeypatch.setenv("REPRO_MAGICS_LEDGER", str(tmp_path / "ledger.repro.json"))
    hooks_before = list(shell.events.callbacks["post_run_cell"])
    shell.run_line_magic("load_ext", "repro_magics")
    try:
        assert shell.events.callbacks["post_run_cell"] == hooks_before
    finally:
        shell.run_line_magic("unload_ext", "repro_magics")
