"""`repro-verify --trace`, inside the kernel: fingerprints of each batch fed to a `fit` and of the weights after it.

Only when the kernel was started with `REPRO_MAGICS_TRACE` naming a folder:
then each `%%reproducible` cell writes `CELL_ID.json` there, one entry per
captured `fit`, one item per training step. It is slow on purpose: a
fingerprint of every weight after every step.

The weights after each step are traced on every backend. What each step was
fed is traced on TensorFlow only (inside its compiled step); training loops
outside `fit`, on TensorFlow and PyTorch.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from ..ledger.values import fingerprint, variable_fingerprints, weight_values
from .environment import keras_backend_name

TRACE_ENV_VAR = "REPRO_MAGICS_TRACE"


def trace_folder() -> Path | None:
    folder = os.environ.get(TRACE_ENV_VAR)
    return Path(folder) if folder else None


def _inputs_fingerprint(*tensors: Any) -> str:
    """One xxh3-128 over tensors' dtypes, shapes and bytes."""
    hasher = xxhash.xxh3_128()
    for tensor in tensors:
        values = weight_values(tensor)
        hasher.update(f"{values.dtype.str}|{values.shape}|".encode())
        hasher.update(repr(values.tolist()).encode() if values.dtype.hasobject else values.tobytes())
    return hasher.hexdigest()


class _Fit:
    """The trace of one `fit`: what each step was fed, and the weights after it."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.pending_inputs: list[str] = []
        self.variables: list[str] = []


def _variable_name(variable: Any) -> str:
    return str(getattr(variable, "path", None) or variable.name)


def _fingerprints(*tensors: Any) -> list[str]:
    return [_inputs_fingerprint(tensor) for tensor in tensors]


@contextlib.contextmanager
def tracing_loops(into: list[dict[str, Any]], in_fit: list[Any]) -> Iterator[None]:
    """Trace every optimizer update outside `fit` (a custom `tf.GradientTape` loop): the weights after each.

    The update's variables are read by a `tf.py_function` placed after it, so
    that inside a `tf.function` it runs at every step, not once when traced.
    Nothing says what batch the step was fed: a loop's trace has weights only.
    """
    from keras.optimizers import Optimizer

    # TensorFlow compiles the loop's step into a graph, where only a `tf.py_function` sees values;
    # PyTorch runs it eagerly; JAX's loops update weights inside `jit`, out of reach.
    tf = sys.modules.get("tensorflow") if keras_backend_name() == "tensorflow" else None
    if tf is None and keras_backend_name() != "torch":
        yield
        return
    steps: list[dict[str, Any]] = []
    original = Optimizer.__dict__.get("apply")
    inherited = Optimizer.apply

    def apply(self: Any, grads: Any, trainable_variables: Any = None) -> Any:
        result = inherited(self, grads, trainable_variables)
        if in_fit:
            return result
        variables = list(trainable_variables if trainable_variables is not None else self._trainable_variables)
        names = [_variable_name(variable) for variable in variables]

        def record(*values: Any) -> None:
            steps.append({"step": len(steps) + 1, "variables": names, "weights": _fingerprints(*values)})

        if tf is None:
            record(*variables)
        else:
            tf.py_function(record, [tf.convert_to_tensor(variable) for variable in variables], [])
        return result

    Optimizer.apply = apply
    try:
        yield
    finally:
        if original is None:
            del Optimizer.apply
        else:
            Optimizer.apply = original
        if steps:
            into.append({"steps": steps})


@contextlib.contextmanager
def tracing_fits(into: list[dict[str, Any]], loops: list[dict[str, Any]] | None = None) -> Iterator[None]:
    """Trace every Keras `fit` that runs inside the block; append each fit's trace to `into`.

    The input batch is fingerprinted inside the compiled step with a
    `tf.py_function`, so it is exactly what the step received, after every
    shuffle, map and augmentation of the pipeline. That needs the step to be
    compiled while tracing is on, and not by XLA: a model with
    `jit_compile=True`, or whose step an earlier `fit` already compiled,
    is traced by its weights alone.
    """
    from keras.callbacks import History

    # On TensorFlow, where the backend compiles its training step (a private
    # module of Keras 3); without it, and on other backends, steps are traced
    # by their weights alone.
    TensorFlowTrainer: Any = None
    tf: Any = sys.modules.get("tensorflow") if keras_backend_name() == "tensorflow" else None
    if tf is not None:
        try:
            from keras.src.backend.tensorflow import trainer
        except ImportError:  # pragma: no cover
            pass
        else:
            TensorFlowTrainer = trainer.TensorFlowTrainer

    current: list[_Fit] = []

    def record_inputs(*tensors: Any) -> None:
        if current:
            current[-1].pending_inputs.append(_inputs_fingerprint(*tensors))

    original_make = TensorFlowTrainer.make_train_function if TensorFlowTrainer is not None else None

    def make_train_function(self: Any, force: bool = False) -> Any:
        if (self.train_function is None or force) and not self.jit_compile:
            step = self.train_step
            if not getattr(step, "_repro_traced", False):

                def traced_step(data: Any, step: Any = step) -> Any:
                    tensors = [tensor for tensor in tf.nest.flatten(data) if tensor is not None]
                    tf.py_function(record_inputs, tensors, [])
                    return step(data)

                traced_step._repro_traced = True  # type: ignore[attr-defined]
                self.train_step = traced_step
        assert original_make is not None
        return original_make(self, force)

    hooks = ("on_train_begin", "on_train_batch_end", "on_train_end")
    originals = {name: History.__dict__.get(name) for name in hooks}
    inherited = {name: getattr(History, name) for name in hooks}

    def on_train_begin(self: Any, logs: Any = None) -> None:
        inherited["on_train_begin"](self, logs)
        current.append(_Fit())

    def on_train_batch_end(self: Any, batch: int, logs: Any = None) -> None:
        inherited["on_train_batch_end"](self, batch, logs)
        if not current:
            return
        fit = current[-1]
        weights = _step_weights(self.model)
        fit.variables = [name for name, _ in weights]
        inputs, fit.pending_inputs = fit.pending_inputs, []
        fit.steps.append(
            {
                "epoch": len(getattr(self, "epoch", [])) + 1,
                "batch": int(batch) + 1,
                "inputs": inputs[-1] if len(inputs) == 1 else None,
                "weights": [value for _, value in weights],
            }
        )

    def on_train_end(self: Any, logs: Any = None) -> None:
        if current:
            fit = current.pop()
            into.append({"variables": fit.variables, "steps": fit.steps})
        inherited["on_train_end"](self, logs)

    if TensorFlowTrainer is not None:
        TensorFlowTrainer.make_train_function = make_train_function
    History.on_train_begin, History.on_train_batch_end = on_train_begin, on_train_batch_end
    History.on_train_end = on_train_end
    try:
        with (
            tracing_loops(loops, current) if loops is not None else contextlib.nullcontext(),
            _batch_callbacks_in_step(),
        ):
            yield
    finally:
        if TensorFlowTrainer is not None:
            TensorFlowTrainer.make_train_function = original_make
        for name, original in originals.items():
            if original is None:
                delattr(History, name)
            else:
                setattr(History, name, original)


@contextlib.contextmanager
def _batch_callbacks_in_step() -> Iterator[None]:
    """Run batch-end callbacks in the training thread, between steps.

    On JAX (and PyTorch), Keras hands them to a thread pool when the user's
    callbacks allow it, and `History`'s batch hook does not count; the next
    step would then give away the weights the hook is reading. Keras 3's
    private `CallbackList`; where it moved, nothing changes.
    """
    try:
        from keras.src.callbacks.callback_list import CallbackList
    except ImportError:  # pragma: no cover
        yield
        return
    original = CallbackList.__dict__.get("_configure_async_dispatch")
    if original is None:  # pragma: no cover
        yield
        return

    def configure(self: Any, callbacks: Any) -> None:
        original(self, callbacks)
        self._async_train = False

    CallbackList._configure_async_dispatch = configure
    try:
        yield
    finally:
        CallbackList._configure_async_dispatch = original


def _step_weights(model: Any) -> list[tuple[str, str]]:
    """(path, fingerprint) of each weight after a training step.

    JAX's trainer keeps the weights out of the model inside an epoch, in
    `_jax_state` (private, Keras 3); they are read from there, as the step
    left them. Syncing them into the model instead would hand the next step
    buffers that JAX has already given away.
    """
    state = getattr(model, "_jax_state", None)
    if not state or getattr(model, "_jax_state_synced", True):
        return variable_fingerprints(model)
    current = {}
    for variables, key in ((model.trainable_variables, "trainable_variables"),
                           (model.non_trainable_variables, "non_trainable_variables")):  # fmt: skip
        for variable, value in zip(variables, state.get(key) or [], strict=False):
            current[id(variable)] = value
    return [
        (
            str(getattr(variable, "path", None) or variable.name),
            fingerprint(np.array(current[id(variable)]) if id(variable) in current else weight_values(variable)),
        )
        for variable in model.weights
    ]


def write_trace(folder: Path, cell_id: str | None, fits: list[dict[str, Any]], loops: list[dict[str, Any]]) -> None:
    """One file per cell run; a cell without an id is not traced (nothing would pair it across runs)."""
    if cell_id is None:
        return
    name = xxhash.xxh3_64_hexdigest(cell_id.encode()) + ".json"
    (folder / name).write_text(json.dumps({"cell_id": cell_id, "fits": fits, "loops": loops}), encoding="utf-8")


def read_traces(folder: Path) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The traces a run left, by cell id: {"fits": [...], "loops": [...]}."""
    traces = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        traces[str(data["cell_id"])] = {"fits": data["fits"], "loops": data.get("loops", [])}
    return traces
