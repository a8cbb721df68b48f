"""`%%reproducible` in an in-process IPython shell, with real TensorFlow and Keras."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cells import OTHER_RANDOM_WORK, TRAINING
from IPython.core.error import UsageError

from repro_magics.kernel.determinism import is_op_determinism_enabled
from repro_magics.ledger.store import Ledger


def run_reproducible(ipython: Any, line: str, body: str) -> Any:
    result = ipython.run_cell(f"%%reproducible {line}\n{body}")
    return result


def training_outcome(ipython: Any) -> tuple[Any, list[str], list[bytes]]:
    namespace = ipython.user_ns
    return (
        namespace["history"].history,
        namespace["layer_names"],
        [weight.tobytes() for weight in namespace["model"].get_weights()],
    )


def test_when_training_cell_runs_three_times_with_random_work_between_then_history_weights_and_names_are_bitwise_equal(
    ipython: Any,
) -> None:
    outcomes = []
    for _ in range(3):
        assert run_reproducible(ipython, "seed=812", TRAINING).success
        outcomes.append(training_outcome(ipython))
        assert ipython.run_cell(OTHER_RANDOM_WORK).success
    assert outcomes[0][1] == ["dense", "dropout", "dense_1"]
    assert outcomes[1] == outcomes[0]
    assert outcomes[2] == outcomes[0]


def test_when_the_shared_training_cell_runs_then_it_warns_nothing(
    ipython: Any, recwarn: pytest.WarningsRecorder
) -> None:
    assert run_reproducible(ipython, "seed=812", TRAINING).success
    assert [str(warning.message) for warning in recwarn if issubclass(warning.category, UserWarning)] == []


def test_when_the_seed_differs_then_the_history_differs(ipython: Any) -> None:
    run_reproducible(ipython, "seed=1", TRAINING)
    first = training_outcome(ipython)
    run_reproducible(ipython, "seed=2", TRAINING)
    second = training_outcome(ipython)
    assert second[0] != first[0], "the history"
    assert second[2] != first[2], "the weights"


def test_when_seed_is_written_either_way_then_the_results_are_the_same(ipython: Any) -> None:
    body = "import numpy as np, tensorflow as tf\nvalue = (np.random.rand(), float(tf.random.normal([])))"
    run_reproducible(ipython, "seed=812", body)
    keyword_form = ipython.user_ns["value"]
    run_reproducible(ipython, "--seed 812", body)
    assert ipython.user_ns["value"] == keyword_form


def test_when_every_source_is_drawn_then_each_repeats_after_the_reset(ipython: Any) -> None:
    body = (
        "import random, numpy as np, tensorflow as tf, keras\n"
        "draws = (random.random(), np.random.rand(), float(tf.random.uniform([])),\n"
        "         float(tf.random.get_global_generator().normal([])), float(keras.random.normal([])),\n"
        "         keras.layers.Dense(1).name)"
    )
    run_reproducible(ipython, "seed=7", body)
    first = ipython.user_ns["draws"]
    ipython.run_cell(OTHER_RANDOM_WORK)
    run_reproducible(ipython, "seed=7", body)
    assert ipython.user_ns["draws"] == first
    assert first[-1] == "dense"


def test_when_a_mixed_precision_policy_is_set_before_then_it_is_still_set_after(ipython: Any) -> None:
    import keras

    keras.config.set_dtype_policy("mixed_float16")
    try:
        run_reproducible(ipython, "seed=1", "import keras\ninside = keras.config.dtype_policy().name")
        assert ipython.user_ns["inside"] == "mixed_float16"
        assert keras.config.dtype_policy().name == "mixed_float16"
    finally:
        keras.config.set_dtype_policy("float32")


def test_when_determinism_was_off_then_it_is_off_after_the_cell_and_after_a_failing_cell(ipython: Any) -> None:
    assert is_op_determinism_enabled() is False
    run_reproducible(
        ipython,
        "seed=1",
        "from repro_magics.kernel.determinism import is_op_determinism_enabled\ninside = is_op_determinism_enabled()",
    )
    assert ipython.user_ns["inside"] is True
    assert is_op_determinism_enabled() is False
    run_reproducible(ipython, "seed=1", "raise KeyboardInterrupt")
    assert is_op_determinism_enabled() is False


def test_when_determinism_was_on_then_it_stays_on(ipython: Any) -> None:
    import tensorflow as tf
    from tensorflow.python.framework import config

    tf.config.experimental.enable_op_determinism()
    try:
        run_reproducible(ipython, "seed=1", "pass")
        assert is_op_determinism_enabled() is True
    finally:
        config.disable_op_determinism()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("seed=abc", "seed must be a whole number from 0 to 4294967295, written with the digits 0-9 only, got 'abc'"),
        ("seed=-1", "seed must be a whole number from 0 to 4294967295, written with the digits 0-9 only, got '-1'"),
        ("seed=+5", "seed must be a whole number from 0 to 4294967295, written with the digits 0-9 only, got '+5'"),
        ("seed=4294967296", "seed must be from 0 to 4294967295, got 4294967296"),
        ("speed=3", "unknown option 'speed'; options are seed=N and record=NAME[,NAME...]"),
        ("--colour red", "unknown option 'colour'; options are seed=N and record=NAME[,NAME...]"),
        ("seed=1 seed=2", "seed is given twice"),
        ("record=a,2b", "record= takes variable names separated by commas; '2b' is not a name"),
    ],
)
def test_when_the_line_is_bad_then_a_one_line_usage_error_names_it_and_nothing_runs_or_resets(
    ipython: Any, line: str, message: str
) -> None:
    random.seed(99)
    np.random.seed(99)
    python_state, numpy_state = random.getstate(), np.random.get_state()[1].copy()
    ipython.user_ns.pop("ran", None)
    with pytest.raises(UsageError, match="^" + __import__("re").escape(message) + "$"):
        ipython.run_cell_magic("reproducible", line, "ran = True")
    assert "ran" not in ipython.user_ns
    assert random.getstate() == python_state
    assert (np.random.get_state()[1] == numpy_state).all()


def test_when_the_cell_raises_then_its_own_exception_propagates_with_one_traceback(
    ipython: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_reproducible(ipython, "seed=1", "x = 1\n1 / 0")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    shown = capsys.readouterr().out
    assert shown.count("ZeroDivisionError") == 2  # the header line and the final line of one traceback
    assert "1 / 0" in shown


def test_when_no_seed_is_written_then_the_kernel_default_is_used_and_named(
    ipython: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "import numpy as np\nvalue = np.random.rand()"
    ipython.run_line_magic("repro_seed", "812")
    run_reproducible(ipython, "", body)
    assert "repro_magics: seed 812 (this kernel's default" in capsys.readouterr().out
    default_value = ipython.user_ns["value"]
    run_reproducible(ipython, "seed=812", body)
    assert ipython.user_ns["value"] == default_value
    assert "seed 812" not in capsys.readouterr().out


@pytest.mark.parametrize("text", ["x", "1_000", "\u0663", "seed=+5"])
def test_when_repro_seed_is_bad_then_usage_error_and_the_default_is_unchanged(
    ipython: Any, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ipython.run_line_magic("repro_seed", "12")
    with pytest.raises(UsageError, match="written with the digits 0-9 only, got '"):
        ipython.run_line_magic("repro_seed", text)
    ipython.run_line_magic("repro_seed", "")
    assert capsys.readouterr().out == "repro_magics: the default seed is 12\n"


def test_when_the_seed_comes_from_the_environment_then_it_is_the_default(
    shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REPRO_MAGICS_SEED", "31")
    monkeypatch.setenv("REPRO_MAGICS_LEDGER", str(tmp_path / "l.repro.json"))
    shell.run_line_magic("load_ext", "repro_magics")
    try:
        shell.run_line_magic("repro_seed", "")
        assert "the default seed is 31" in capsys.readouterr().out
    finally:
        shell.run_line_magic("unload_ext", "repro_magics")


def test_when_a_cell_trains_then_its_history_and_named_values_are_in_the_ledger(ipython: Any, tmp_path: Path) -> None:
    run_reproducible(ipython, "seed=812 record=layer_names,model,nothing_here", TRAINING)
    ledger = json.loads((tmp_path / "ledger.repro.json").read_text())
    (record,) = ledger["records"]
    (history,) = record["histories"]
    assert history["epochs"] == [0, 1]
    assert history["metrics"]["loss"] == [float(v) for v in ipython.user_ns["history"].history["loss"]]
    assert record["seed"] == 812
    assert record["values"]["layer_names"]["items"][0] == {"type": "str", "value": "dense"}
    assert sorted(record["values"]["model"]["weights"]) == [
        "sequential/dense/bias",
        "sequential/dense/kernel",
        "sequential/dense_1/bias",
        "sequential/dense_1/kernel",
    ]
    assert record["values"]["nothing_here"] == {"type": "missing"}
    environment = ledger["environments"][record["environment"]]
    assert environment["packages"]["keras"] == __import__("keras").__version__
    assert "PYTHONHASHSEED" in environment["startup_variables"]
    assert "PATH" not in json.dumps(environment["startup_variables"])


def test_when_the_extension_is_unloaded_then_its_magics_and_hooks_are_gone(shell: Any) -> None:
    shell.run_line_magic("load_ext", "repro_magics")
    shell.run_line_magic("unload_ext", "repro_magics")
    assert "reproducible" not in shell.magics_manager.magics["cell"]
    assert "repro_seed" not in shell.magics_manager.magics["line"]
    assert not [h for h in shell.events.callbacks["pre_run_cell"] if "repro_magics" in getattr(h, "__module__", "")]


def test_when_the_ledger_is_corrupt_then_the_cell_runs_and_the_file_is_left_as_it_was(
    ipython: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "ledger.repro.json"
    ledger.write_text("{half a file")
    assert run_reproducible(ipython, "seed=1 record=x", "x = 1").success
    assert ipython.user_ns["x"] == 1
    assert ledger.read_text() == "{half a file"
    assert "this cell's record was not saved, and the file was left as it is" in capsys.readouterr().err


def test_when_no_notebook_is_known_then_the_cell_says_where_records_go_once(
    ipython: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REPRO_MAGICS_LEDGER")
    monkeypatch.chdir(tmp_path)
    run_reproducible(ipython, "seed=1", "pass")
    run_reproducible(ipython, "seed=1", "pass")
    err = capsys.readouterr().err
    (ledger,) = tmp_path.glob("untitled-*.repro.json")
    assert err.count(f"no notebook found for this kernel; records go to {ledger}, a file of this kernel's own") == 1
    assert len(Ledger.load(ledger).records) == 2, "a second run of one source without an id is kept"


def test_when_the_cell_is_done_then_the_history_hooks_are_the_original_again(ipython: Any) -> None:
    from keras.callbacks import History

    hooks = ("on_train_begin", "on_epoch_end", "on_train_end")
    before = {name: History.__dict__.get(name) for name in hooks}
    run_reproducible(ipython, "seed=1", TRAINING)
    run_reproducible(ipython, "seed=1", "raise ValueError('stop')")
    assert {name: History.__dict__.get(name) for name in hooks} == before


def test_when_a_fit_is_captured_then_the_weights_are_fingerprinted_before_it_and_after_each_epoch(
    ipython: Any, tmp_path: Path
) -> None:
    from repro_magics.ledger.values import weights_fingerprint

    assert run_reproducible(ipython, "seed=1", TRAINING).success
    (record,) = json.loads((tmp_path / "ledger.repro.json").read_text())["records"]
    (history,) = record["histories"]
    assert len(history["weight_fingerprints"]) == len(history["epochs"]) == 2
    assert history["weight_fingerprints"][-1] == weights_fingerprint(ipython.user_ns["model"])
    assert history["initial_weight_fingerprint"] not in history["weight_fingerprints"]


def test_when_a_metric_is_an_array_per_class_then_training_works_and_each_epoch_is_recorded(
    ipython: Any, tmp_path: Path
) -> None:
    body = (
        "import numpy as np, keras\n"
        "x = np.random.rand(64, 4).astype('float32')\n"
        "y = keras.utils.to_categorical(np.random.randint(0, 3, 64), 3)\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation='softmax')])\n"
        "m.compile('adam', 'categorical_crossentropy', metrics=[keras.metrics.F1Score(average=None)])\n"
        "h = m.fit(x, y, epochs=2, verbose=0)"
    )
    assert run_reproducible(ipython, "seed=1", body).success
    (record,) = json.loads((tmp_path / "ledger.repro.json").read_text())["records"]
    per_class = record["histories"][0]["metrics"]["f1_score"]
    assert [epoch["shape"] for epoch in per_class] == [[3], [3]]


def test_when_the_cell_awaits_at_top_level_then_a_usage_error_says_so_before_anything_runs(ipython: Any) -> None:
    ipython.user_ns.pop("ran", None)
    with pytest.raises(UsageError, match="can't run top-level await"):
        ipython.run_cell_magic("reproducible", "seed=1", "import asyncio\nran = True\nawait asyncio.sleep(0)")
    assert "ran" not in ipython.user_ns


def test_when_a_recorded_list_contains_itself_then_it_is_recorded_as_unsupported(ipython: Any, tmp_path: Path) -> None:
    assert run_reproducible(ipython, "seed=1 record=loop", "loop = [1]\nloop.append(loop)").success
    (record,) = json.loads((tmp_path / "ledger.repro.json").read_text())["records"]
    assert record["values"]["loop"]["items"][1]["type"] == "unsupported"


def test_when_the_ledger_folder_is_missing_then_the_cell_still_succeeds_and_one_line_says_why(
    ipython: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REPRO_MAGICS_LEDGER", str(tmp_path / "gone" / "l.repro.json"))
    assert run_reproducible(ipython, "seed=1", "x = 1").success
    err = capsys.readouterr().err
    assert "could not write" in err and "this cell's record was not saved" in err


def test_when_cells_without_ids_differ_only_in_seed_then_both_records_are_kept(ipython: Any, tmp_path: Path) -> None:
    run_reproducible(ipython, "seed=1 record=x", "import numpy as np\nx = np.random.rand()")
    run_reproducible(ipython, "seed=2 record=x", "import numpy as np\nx = np.random.rand()")
    records = Ledger.load(tmp_path / "ledger.repro.json").records
    assert sorted(record["seed"] for record in records) == [1, 2]


def test_when_a_recorded_value_is_nested_5000_deep_then_the_cell_succeeds_and_the_record_says_why(
    ipython: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "deep = []\nfor _ in range(5000):\n    deep = [deep]\nafter = True"
    assert run_reproducible(ipython, "seed=1 record=deep,after", body).success
    (record,) = json.loads((tmp_path / "ledger.repro.json").read_text())["records"]
    assert record["values"]["deep"]["type"] == "unsupported"
    assert record["values"]["deep"]["reason"].startswith("lists, tuples or dicts nested more than")
    assert record["values"]["after"] == {"type": "bool", "value": True}
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "'deep'" in line] == [
        "repro_magics: could not record 'deep' (lists, tuples or dicts nested more than 100 deep); "
        "it is recorded as unsupported."
    ]
