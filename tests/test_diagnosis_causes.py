"""Likely causes and where training parts, read from a notebook and two records, without a kernel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from helpers import write_notebook

from repro_magics.compare.epochs import training_line
from repro_magics.compare.measure import training_divergence
from repro_magics.verify.causes import likely_causes

A, B, C = "a" * 32, "b" * 32, "c" * 32


def test_when_a_cell_calls_a_function_and_uses_a_dataset_from_other_cells_then_their_findings_are_causes(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "n.ipynb",
        "import numpy as np\nimport tensorflow as tf\ndef noisy(x):\n    return x + np.random.default_rng().normal()",
        "ds = tf.data.Dataset.range(8).shuffle(8).map(lambda x: x, num_parallel_calls=4, deterministic=False)",
        "unrelated = np.random.RandomState()  # repro: ignore[RM101]",
        "%%reproducible seed=1 record=total\ntotal = noisy(sum(ds.as_numpy_iterator()))",
    )
    causes = likely_causes(notebook, 4)
    assert causes is not None
    found = [(cause.finding.cell, cause.finding.code, cause.made_here, cause.suppressed) for cause in causes]
    assert (1, "RM101", ("noisy",), False) in found
    assert (2, "RM114", ("ds",), False) in found  # an unseeded shuffle before any reset
    assert all(cell != 3 for cell, *_ in found), "cell 3 made nothing cell 4 uses"
    assert all(code not in ("RM112", "RM113") for _, code, *_ in found)
    text = next(cause.text() for cause in causes if cause.finding.code == "RM114")
    assert text.startswith("cell 2, line 1 (it made 'ds', which the diverged cell uses): RM114 ")


def test_when_a_finding_is_suppressed_then_it_is_still_listed_and_marked(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "n.ipynb",
        "%%reproducible seed=1 record=x\nimport numpy as np\nx = np.random.default_rng().normal()  # repro: ignore",
    )
    (cause,) = likely_causes(notebook, 1) or []
    assert cause.suppressed and cause.text().endswith("[ignored in the notebook]")


def test_when_the_notebook_is_gone_then_no_causes_can_be_read(tmp_path: Path) -> None:
    assert likely_causes(tmp_path / "gone.ipynb", 1) is None


def record(initial: str, after: list[str], loss: list[float]) -> dict[str, Any]:
    history = {
        "type": "history",
        "epochs": list(range(len(loss))),
        "metrics": {"loss": loss},
        "initial_weight_fingerprint": initial,
        "weight_fingerprints": after,
    }
    return {"histories": [history], "values": {}}


def test_when_the_initial_weights_differ_then_training_parts_before_the_first_epoch() -> None:
    training = training_divergence(record(A, [B, C], [0.5, 0.4]), record(B, [B, C], [0.5, 0.4]))
    assert training is not None and training.weights_first_differ_after == 0
    assert training_line(training) == (
        "training: the weights already differ before the first epoch (the model was built or loaded differently); "
        "the metrics agree in every epoch"
    )


def test_when_weights_agree_but_the_loss_differs_then_the_metric_is_blamed() -> None:
    training = training_divergence(record(A, [B, C], [0.5, 0.4]), record(A, [B, C], [0.5, 0.41]))
    assert training is not None
    assert training_line(training) == (
        "training: the weights agree after every epoch; 'loss' first differs at epoch 2 "
        "(training reproduced; the metric is computed differently: other data, or a metric with state)"
    )


def test_when_nothing_in_training_differs_then_there_is_no_training_line() -> None:
    assert training_divergence(record(A, [B, C], [0.5, 0.4]), record(A, [B, C], [0.5, 0.4])) is None
