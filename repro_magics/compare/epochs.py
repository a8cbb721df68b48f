"""Say where training first parted: after which epoch the weights differ, at which epoch a metric does."""

from __future__ import annotations

from .results import TrainingDivergence


def _weights_text(training: TrainingDivergence) -> str:
    if not training.weights_recorded:
        return "the weights per epoch are not in the ledger (it predates them; --update records them)"
    if training.weights_first_differ_after == 0:
        return "the weights already differ before the first epoch (the model was built or loaded differently)"
    if training.weights_first_differ_after is None:
        return "the weights agree after every epoch"
    return f"weights first differ after epoch {training.weights_first_differ_after}"


def _metric_text(training: TrainingDivergence) -> str:
    if training.metric is None:
        return "the metrics agree in every epoch"
    return f"'{training.metric}' first differs at epoch {training.metric_first_differs_at}"


def training_line(training: TrainingDivergence) -> str:
    """`training: weights first differ after epoch 2; 'loss' first differs at epoch 3`."""
    which = f" (fit {training.history} of the cell)" if training.history > 1 else ""
    line = f"training{which}: {_weights_text(training)}; {_metric_text(training)}"
    if training.weights_recorded and training.weights_first_differ_after is None and training.metric is not None:
        line += " (training reproduced; the metric is computed differently: other data, or a metric with state)"
    return line
