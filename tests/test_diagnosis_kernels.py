"""Why a notebook diverged, end to end: real notebooks, real kernels, real TensorFlow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import run_cli, write_notebook

pytestmark = pytest.mark.kernel


def counter_cell(counter: Path) -> str:
    """A cell that sets `run` to how many runs came before it, across kernels."""
    counter.write_text("0")
    return (
        "from pathlib import Path\n"
        f"run = int(Path({str(counter)!r}).read_text())\n"
        f"Path({str(counter)!r}).write_text(str(run + 1))"
    )


def test_when_a_value_moves_by_one_float32_ulp_then_the_report_names_the_rtol_that_passes_and_it_does(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "ulp.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=5 record=loss\n"
        "import numpy as np\n"
        "loss = np.float32(0.6931472)\n"
        "loss = np.nextafter(loss, np.float32(1)) if run else loss",
    )
    assert run_cli(str(notebook), "--quiet", "--runs", "1")[0] == 0
    status, out, _ = run_cli(str(notebook), "--quiet", "--json", str(tmp_path / "report.json"))
    assert status == 1, out
    match = re.search(
        r"largest differences: 5\.96e-08 absolute, 8\.6e-08 relative \(1 number differs\); "
        r"would pass with --rtol (\S+) or --atol (\S+)\n",
        out,
    )
    assert match, out
    assert "this looks like float-order noise: at most 1 float32 rounding step, relative" in out
    spread = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]["comparisons"][0]["spread"]
    assert spread["looks_like"] == "float-order noise"
    assert spread["would_pass_with"] == {"rtol": float(match.group(1)), "atol": float(match.group(2))}
    status, out, _ = run_cli(str(notebook), "--quiet", "--rtol", match.group(1))
    assert status == 0, out
    assert "within tolerance to the ledger" in out


def test_when_a_value_changes_by_a_tenth_then_the_report_calls_it_a_real_change(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "real.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=5 record=accuracy\naccuracy = 0.9 if run else 0.8",
    )
    assert run_cli(str(notebook), "--quiet", "--runs", "1")[0] == 0
    status, out, _ = run_cli(str(notebook), "--quiet")
    assert status == 1, out
    assert "would pass with --rtol 0.13 or --atol 0.1" in out
    assert "this looks like a real change: up to 0.12 relative: far more than float rounding makes" in out


def test_when_a_cell_diverges_on_a_generator_made_in_another_cell_then_both_cells_findings_are_likely_causes(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "shared_rng.ipynb",
        "import numpy as np\nrng = np.random.default_rng()",
        "%%reproducible seed=1 record=x\nx = rng.normal(size=3)",
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--json", str(tmp_path / "report.json"))
    assert status == 1, out
    assert "DIVERGED, run 2 vs run 1, first at cell 2 (id c1)" in out
    assert "    likely causes (repro-lint findings):\n" in out
    assert (
        "      cell 1, line 2 (it made 'rng', which the diverged cell uses): RM101 np.random.default_rng() without "
        "a seed draws fresh entropy on every run; pass a seed (see docs/rules.md#RM101)\n"
    ) in out
    assert "      cell 2, line 2: RM106 'rng' is a random generator made in cell 1;" in out
    (difference,) = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]["comparisons"][0]["differences"]
    assert [(cause["cell"], cause["code"], cause["made"]) for cause in difference["likely_causes"]] == [
        (1, "RM101", ["rng"]),
        (2, "RM106", []),
    ]


def test_when_no_lint_rule_explains_a_divergence_then_the_report_says_so(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "drift.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=5 record=x\nx = 1.0 + run * 1e-12",
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--json", str(tmp_path / "report.json"))
    assert status == 1, out
    assert "    likely cause: no lint rule applies to this cell or to the cells that made what it uses;" in out
    (difference,) = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]["comparisons"][0]["differences"]
    assert difference["likely_causes"] == []


def nudged_training_cell(epochs: int = 4) -> str:
    """A fit whose callback moves one weight by 1e-3 at the end of epoch 2, from the second run on."""
    return f"""\
%%reproducible seed=3
import numpy as np
import keras

features = np.linspace(-1, 1, 256, dtype="float32").reshape(64, 4)
labels = (features.sum(axis=1) > 0).astype("float32")

class Nudge(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if run and epoch == 1:
            kernel = self.model.layers[0].kernel
            value = kernel.numpy()
            value[0, 0] += 1e-3
            kernel.assign(value)

model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(4, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile("sgd", "binary_crossentropy")
history = model.fit(features, labels, epochs={epochs}, batch_size=16, verbose=0, callbacks=[Nudge()])"""


def test_when_a_weight_moves_after_epoch_2_then_the_report_says_weights_differ_after_2_and_loss_at_3(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "nudge.ipynb", counter_cell(tmp_path / "runs.txt"), nudged_training_cell())
    assert run_cli(str(notebook), "--quiet", "--runs", "1")[0] == 0
    ledger_path = tmp_path / "nudge.repro.json"
    (history,) = json.loads(ledger_path.read_text())["records"][0]["histories"]
    assert len(history["weight_fingerprints"]) == 4
    assert len(set(history["weight_fingerprints"]) | {history["initial_weight_fingerprint"]}) == 5

    status, out, _ = run_cli(str(notebook), "--quiet", "--json", str(tmp_path / "report.json"))
    assert status == 1, out
    assert "    history 1, metric 'loss', epoch 3: ledger " in out
    assert "    training: weights first differ after epoch 2; 'loss' first differs at epoch 3\n" in out
    (difference,) = json.loads((tmp_path / "report.json").read_text())["notebooks"][0]["comparisons"][0]["differences"]
    assert difference["training"] == {
        "history": 1,
        "weights_recorded": True,
        "weights_first_differ_after": 2,
        "metric": "loss",
        "metric_first_differs_at": 3,
    }


def test_when_the_ledger_predates_weight_fingerprints_then_it_loads_and_the_report_says_they_are_missing(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "old.ipynb", counter_cell(tmp_path / "runs.txt"), nudged_training_cell())
    assert run_cli(str(notebook), "--quiet", "--runs", "1")[0] == 0
    ledger_path = tmp_path / "old.repro.json"
    ledger = json.loads(ledger_path.read_text())
    for history in ledger["records"][0]["histories"]:
        del history["weight_fingerprints"], history["initial_weight_fingerprint"]
    ledger_path.write_text(json.dumps(ledger))
    status, out, _ = run_cli(str(notebook), "--quiet")
    assert status == 1, out
    assert (
        "    training: the weights per epoch are not in the ledger (it predates them; --update records them); "
        "'loss' first differs at epoch 3\n"
    ) in out


def test_when_calibrated_over_3_runs_then_each_metric_spread_is_shown_and_the_stored_tolerance_passes_later_runs(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "calibrate.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=1 record=loss,count\nloss = 0.5 * (1 + (run % 2) * 1e-6)\ncount = 3",
        "%%reproducible seed=2 record=label\nlabel = 'same'",
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--calibrate", "3")
    assert status == 0, out
    assert "calibrated over 3 fresh runs in" in out
    assert "  cell 2: %%reproducible seed=1 record=loss,count\n" in out
    assert "    value 'count': identical in every run\n" in out
    assert "    value 'loss': up to 5e-07 absolute, 1e-06 relative\n" in out
    assert "    suggested: --rtol 1e-06 (or --atol 5e-07)\n" in out
    assert "  cell 3: %%reproducible seed=2 record=label\n    value 'label': identical in every run\n" in out
    assert "    bitwise: no tolerance needed\n" in out
    assert "ledger unchanged: rerun with --update" in out
    assert not (tmp_path / "calibrate.repro.json").exists()

    status, out, _ = run_cli(str(notebook), "--quiet", "--calibrate", "2", "--update")
    assert status == 0, out
    assert "ledger saved:" in out and "tolerances for 1 cell;" in out
    tolerances = json.loads((tmp_path / "calibrate.repro.json").read_text())["tolerances"]
    assert tolerances == {"id:c1": {"rtol": 1e-06, "atol": 0.0, "runs": 2}}

    status, out, _ = run_cli(str(notebook), "--quiet", "--runs", "2")
    assert status == 0, out
    assert "within tolerance to the ledger and across the fresh runs (tolerances calibrated for 1 cell;" in out


def test_when_calibrate_is_given_1_then_2_saying_a_spread_needs_two_runs(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "one.ipynb", "x = 1")
    status, _, err = run_cli(str(notebook), "--calibrate", "1")
    assert status == 2
    assert "'1' must be 2 or more: a spread needs two runs" in err


TRACED_FIT = """\
model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(4, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile("sgd", "binary_crossentropy")
history = model.fit(data, epochs=3, verbose=0, callbacks=callbacks)"""


def test_when_an_unseeded_shuffle_feeds_the_fit_then_trace_names_the_first_batch_whose_inputs_differ(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "pipeline.ipynb",
        "import numpy as np\nimport keras\nimport tensorflow as tf\n"
        "features = np.linspace(-1, 1, 256, dtype='float32').reshape(64, 4)\n"
        "labels = (features.sum(axis=1) > 0).astype('float32')",
        "%%reproducible seed=3\n"
        "order = np.random.default_rng().permutation(64)\n"
        "data = tf.data.Dataset.from_tensor_slices((features[order], labels[order])).batch(16)\n"
        "callbacks = []\n" + TRACED_FIT,
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--trace")
    assert status == 1, out
    assert re.search(r"pipeline\.ipynb: traced 2 fresh runs in \d+\.\d s\n", out), out
    assert "  cell 2 (id c1): %%reproducible seed=3\n" in out
    assert (
        "    fit 1: the inputs first differ at epoch 1, batch 1: a data-pipeline cause "
        "(an unseeded or reshuffled shuffle, a random augmentation or map)\n"
    ) in out
    assert "  not covered: the inputs of training outside fit (custom tf.GradientTape loops" in out
    assert not (tmp_path / "pipeline.repro.json").exists()


def test_when_a_weight_moves_mid_epoch_with_the_same_inputs_then_trace_names_the_batch_and_the_variable(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "op.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=3\n"
        "import numpy as np\nimport keras\nimport tensorflow as tf\n"
        "features = np.linspace(-1, 1, 256, dtype='float32').reshape(64, 4)\n"
        "labels = (features.sum(axis=1) > 0).astype('float32')\n"
        "data = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(64).batch(16)\n"
        "class Nudge(keras.callbacks.Callback):\n"
        "    epoch = 0\n"
        "    def on_epoch_begin(self, epoch, logs=None):\n"
        "        self.epoch = epoch\n"
        "    def on_train_batch_end(self, batch, logs=None):\n"
        "        if run and (self.epoch, batch) == (1, 2):\n"
        "            bias = self.model.layers[1].bias\n"
        "            bias.assign(bias + 1e-3)\n"
        "callbacks = [Nudge()]\n" + TRACED_FIT,
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--trace")
    assert status == 1, out
    assert "  cell 2 (id c1): %%reproducible seed=3\n" in out
    assert (
        "    fit 1: the inputs agree up to it; the weights first differ after epoch 2, batch 3, first in "
        "'sequential/dense_1/bias': an op-level cause (a non-deterministic op, or something that changed the "
        "weights between steps)\n"
    ) in out


def test_when_the_diverged_cell_trains_no_fit_then_trace_says_so_and_when_runs_agree_then_0(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "nofit.ipynb",
        "%%reproducible seed=1 record=x\nimport numpy as np\nx = np.random.default_rng().normal(size=2)",
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--trace")
    assert status == 1, out
    assert "  cell 1 (id c0): %%reproducible seed=1 record=x\n" in out
    assert "    the cell ran no Keras fit and no optimizer update: it trained nothing that is traced\n" in out

    agreeing = write_notebook(tmp_path / "same.ipynb", "%%reproducible seed=1 record=x\nx = 2.5")
    status, out, _ = run_cli(str(agreeing), "--quiet", "--trace")
    assert status == 0, out
    assert "    the two traced runs agree: nothing to trace" in out


def test_when_trace_is_given_with_update_then_2_and_nothing_runs(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    status, out, err = run_cli(str(notebook), "--trace", "--update")
    assert (status, out) == (2, "")
    assert "--trace leaves the ledger alone; drop --update" in err


def test_when_a_custom_gradient_tape_loop_parts_then_trace_names_the_optimizer_update_and_the_variable(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "loop.ipynb",
        counter_cell(tmp_path / "runs.txt"),
        "%%reproducible seed=3 record=final_loss\n"
        "import numpy as np\nimport keras\nimport tensorflow as tf\n"
        "features = np.linspace(-1, 1, 192, dtype='float32').reshape(48, 4)\n"
        "labels = (features.sum(axis=1) > 0).astype('float32')[:, None]\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation='sigmoid')])\n"
        "optimizer = keras.optimizers.SGD(0.1)\n"
        "@tf.function\n"
        "def train_step(x, y):\n"
        "    with tf.GradientTape() as tape:\n"
        "        loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, model(x)))\n"
        "    grads = tape.gradient(loss, model.trainable_variables)\n"
        "    optimizer.apply_gradients(zip(grads, model.trainable_variables))\n"
        "    return loss\n"
        "for step in range(6):\n"
        "    x, y = features[step * 8:(step + 1) * 8], labels[step * 8:(step + 1) * 8]\n"
        "    if run and step == 3:\n"
        "        x = x + 1e-3\n"
        "    loss = train_step(x, y)\n"
        "final_loss = float(loss)",
    )
    status, out, _ = run_cli(str(notebook), "--quiet", "--trace")
    assert status == 1, out
    assert (
        "    training loop outside fit: the weights first differ after optimizer update 4, first in "
        "'sequential/dense/kernel' (a loop's inputs are not traced: the data or an op may have caused it)\n"
    ) in out
