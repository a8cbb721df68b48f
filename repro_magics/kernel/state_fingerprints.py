"""Inside a verification kernel: a fingerprint of the user's namespace and of the global generators after every cell.

Only when `repro-verify` starts the kernel with `REPRO_MAGICS_STATE` naming a
file: then each code cell, plain or `%%reproducible`, appends one JSON line
there. Two fresh runs' lines, compared cell by cell, show the first cell
after which their states part (see `state_origin`).

What is looked at is bounded, and nothing of the user's runs: no `__len__`,
`__iter__` or property of a class this module does not know, no dataset is
iterated, no framework is imported (one the notebook has not imported holds no
state). What cannot be fingerprinted is named, with `None` for its digest.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

import numpy as np
import xxhash

from ..ledger.values import weight_values

STATE_ENV_VAR = "REPRO_MAGICS_STATE"

#: Lists, tuples and dicts are looked into this deep, and at most this many items of each.
MAX_DEPTH = 3
MAX_ITEMS = 1_000

_NOT_STATE = (ModuleType, FunctionType, BuiltinFunctionType, MethodType, type)


@dataclass(frozen=True)
class Fingerprint:
    """What a value is, in a few words (`int64 array, 3601 elements`), and its xxh3-64 digest; None when it has none."""

    kind: str
    digest: str | None

    def to_json(self) -> list[Any]:
        return [self.kind, self.digest]


def _digest(*parts: bytes | memoryview) -> str:
    hasher = xxhash.xxh3_64()
    for part in parts:
        hasher.update(part)
    return hasher.hexdigest()


def _array(array: np.ndarray, what: str = "array") -> Fingerprint:
    kind = f"{array.dtype} {what}, {array.size} element{'s' if array.size != 1 else ''}"
    if array.dtype.hasobject:
        return Fingerprint(kind, None)
    flat = np.ascontiguousarray(array).reshape(-1)
    # A byte view of the buffer: `tobytes()` would copy a gigabyte to hash it.
    return Fingerprint(kind, _digest(f"{flat.dtype.str}{array.shape}".encode(), flat.view(np.uint8).data))


def _module_of(value: Any) -> str:
    return type(value).__module__.split(".", 1)[0]


def _variables(variables: list[Any], kind: str) -> Fingerprint:
    hasher = xxhash.xxh3_64()
    for variable in variables:
        values = np.ascontiguousarray(weight_values(variable))
        name = getattr(variable, "path", None) or getattr(variable, "name", "")
        hasher.update(f"{name}|{values.dtype.str}|{values.shape}|".encode())
        hasher.update(values.reshape(-1).view(np.uint8).data)
    return Fingerprint(kind, hasher.hexdigest())


def _framework_value(value: Any) -> Fingerprint | None:
    """Tensors, variables, models, optimizers and generators of the frameworks the notebook imported."""
    module = _module_of(value)
    keras = sys.modules.get("keras")
    if keras is not None and module in ("keras", "tf_keras"):
        import inspect

        # The base classes' own properties: a user's subclass may override them.
        if isinstance(value, keras.layers.Layer):
            weights = inspect.getattr_static(keras.layers.Layer, "weights").__get__(value)
            return _variables(list(weights), f"Keras {type(value).__name__}, {len(weights)} weights")
        if isinstance(value, keras.optimizers.Optimizer):
            variables = inspect.getattr_static(keras.optimizers.Optimizer, "variables").__get__(value)
            return _variables(list(variables), f"Keras {type(value).__name__} optimizer, {len(variables)} variables")
        if isinstance(value, keras.random.SeedGenerator):
            return _variables([value.state], "Keras SeedGenerator")
        if isinstance(value, keras.callbacks.History):
            return fingerprint_value(value.history, "Keras History")
        if isinstance(value, keras.Variable):
            return _array(weight_values(value), "Keras variable")
    tf = sys.modules.get("tensorflow")
    if tf is not None and module == "tensorflow":
        if isinstance(value, tf.random.Generator):
            return _variables([value.state], "TensorFlow Generator")
        if isinstance(value, tf.Variable):
            return _array(weight_values(value), "TensorFlow variable")
        if isinstance(value, tf.Tensor) and hasattr(value, "numpy"):  # eager only: a graph tensor has no values
            return _array(np.asarray(value.numpy()), "tensor")
        if isinstance(value, tf.data.Dataset):
            return Fingerprint("tf.data.Dataset (never iterated here)", None)
    jax = sys.modules.get("jax")
    if jax is not None and module in ("jax", "jaxlib") and isinstance(value, jax.Array):
        return _array(np.asarray(value), "JAX array")
    torch = sys.modules.get("torch")
    if torch is not None and module == "torch" and isinstance(value, torch.Tensor):
        return _array(value.detach().cpu().numpy(), "torch tensor")
    pandas = sys.modules.get("pandas")
    if pandas is not None and module == "pandas" and isinstance(value, (pandas.DataFrame, pandas.Series)):
        hashed = pandas.util.hash_pandas_object(value, index=True).to_numpy()
        return Fingerprint(f"pandas {type(value).__name__}, {len(hashed)} rows", _digest(hashed.data))
    return None


def fingerprint_value(value: Any, kind: str | None = None, depth: int = 0) -> Fingerprint:
    """The fingerprint of one value; `kind` overrides the words that describe it."""
    kind_of = type(value)
    if value is None or kind_of in (bool, int, float, complex):
        return Fingerprint(kind or kind_of.__name__, _digest(f"{kind_of.__name__}:{value!r}".encode()))
    if kind_of is str:
        return Fingerprint(kind or f"str, {len(value)} characters", _digest(value.encode("utf-8", "surrogatepass")))
    if kind_of in (bytes, bytearray):
        return Fingerprint(kind or f"{kind_of.__name__}, {len(value)} bytes", _digest(bytes(value)))
    if isinstance(value, np.memmap):
        # Reading it would read its file, which may be far larger than memory.
        return Fingerprint(f"{value.dtype} memory-mapped array, {value.size} elements (its file is not read)", None)
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, np.generic):
        return _array(np.asarray(value), "scalar")
    if isinstance(value, np.random.Generator):
        return Fingerprint("NumPy Generator", _digest(repr(value.bit_generator.state).encode()))
    if isinstance(value, np.random.RandomState):
        return _numpy_legacy(value)
    if isinstance(value, random.Random):
        return Fingerprint("random.Random", _digest(repr(value.getstate()).encode()))
    # Exact types only: a subclass of list or dict may run the user's code when iterated.
    if kind_of in (list, tuple, dict):
        return _container(value, kind, depth)
    try:
        found = _framework_value(value)
    except Exception as error:  # a framework object in a state we did not foresee
        return Fingerprint(f"{_type_name(value)} (unreadable: {type(error).__name__})", None)
    if found is not None:
        return Fingerprint(kind or found.kind, found.digest)
    return Fingerprint(kind or _type_name(value), None)


def _container(value: list[Any] | tuple[Any, ...] | dict[Any, Any], kind: str | None, depth: int) -> Fingerprint:
    count = len(value)
    words = kind or f"{type(value).__name__} of {count} item{'s' if count != 1 else ''}"
    if depth >= MAX_DEPTH or count > MAX_ITEMS:
        return Fingerprint(f"{words} (too {'deep' if depth >= MAX_DEPTH else 'long'} to fingerprint)", None)
    hasher = xxhash.xxh3_64(type(value).__name__.encode())
    missing = 0
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        key_print = fingerprint_value(key, depth=MAX_DEPTH) if isinstance(value, dict) else None
        inner = fingerprint_value(item, depth=depth + 1)
        if inner.digest is None or (key_print is not None and key_print.digest is None):
            missing += 1
        hasher.update(f"{key_print.digest if key_print else key}|{inner.kind}|{inner.digest}|".encode())
    if missing == count and count:
        return Fingerprint(words, None)
    return Fingerprint(words + (f", {missing} not fingerprinted" if missing else ""), hasher.hexdigest())


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _numpy_legacy(state: Any) -> Fingerprint:
    name, keys, position, has_gauss, gauss = state.get_state()
    return Fingerprint(
        "NumPy RandomState",
        _digest(np.ascontiguousarray(keys).data, f"{name}|{position}|{has_gauss}|{gauss!r}".encode()),
    )


def global_generators() -> dict[str, Fingerprint]:
    """The global generators a cell may draw from unseen, where they exist; none is created to look at it."""
    found = {
        "Python's random": Fingerprint("generator", _digest(repr(random.getstate()).encode())),
        "NumPy's global generator": _numpy_legacy(np.random.mtrand._rand),
    }
    stateful = sys.modules.get("tensorflow.python.ops.stateful_random_ops")
    generator = getattr(stateful, "global_generator", None)
    if generator is not None:
        found["TensorFlow's global generator"] = _variables([generator.state], "generator")
    context_module = sys.modules.get("tensorflow.python.eager.context")
    if context_module is not None:
        # The global seed and the counter that gives each unseeded op its seed.
        context = context_module.context()
        op_seeds = getattr(context, "_rng", None)
        counter = repr(op_seeds.getstate()) if isinstance(op_seeds, random.Random) else "none"
        found["TensorFlow's op seeds"] = Fingerprint("seed", _digest(f"{context._seed!r}|{counter}".encode()))
    keras_state = sys.modules.get("keras.src.backend.common.global_state")
    if keras_state is not None:
        seed_generator = keras_state.get_global_attribute("global_seed_generator")
        if seed_generator is not None:
            found["Keras' global SeedGenerator"] = _variables([seed_generator.state], "generator")
    torch = sys.modules.get("torch")
    if torch is not None:
        found["PyTorch's global generator"] = Fingerprint(
            "generator", _digest(torch.random.get_rng_state().numpy().data)
        )
    return found


def namespace_fingerprints(
    namespace: dict[str, Any], hidden: set[str] | frozenset[str] = frozenset()
) -> dict[str, Fingerprint]:
    """Each user variable's fingerprint; modules, functions, classes and `_`-names are code or IPython's, not state."""
    found = {}
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in hidden or isinstance(value, _NOT_STATE):
            continue
        found[name] = fingerprint_value(value)
    return dict(sorted(found.items()))


class StateRecorder:
    """The `post_run_cell` hook: one JSON line per cell in `path`."""

    def __init__(self, shell: Any, path: Path) -> None:
        self.shell = shell
        self.path = path
        # `%%reproducible` runs its body as a cell of its own; only the outer cell counts.
        self._depth = 0

    def before_cell(self, info: Any) -> None:
        self._depth += 1

    def after_cell(self, result: Any) -> None:
        self._depth = max(self._depth - 1, 0)
        if self._depth:
            return
        started = time.perf_counter()
        hidden = set(getattr(self.shell, "user_ns_hidden", {}))
        try:
            names = namespace_fingerprints(self.shell.user_ns, hidden)
            generators = global_generators()
        except Exception as error:  # never the notebook's problem: this cell's state is just unknown
            names, generators = {}, {"(fingerprinting failed)": Fingerprint(type(error).__name__, None)}
        info = getattr(result, "info", None)
        entry = {
            "cell_id": getattr(info, "cell_id", None),
            # States are comparable only between runs of the same source.
            "source": _digest(str(getattr(info, "raw_cell", "")).encode("utf-8", "surrogatepass")),
            "succeeded": bool(getattr(result, "success", True)),
            "names": {name: print_.to_json() for name, print_ in names.items()},
            "generators": {name: print_.to_json() for name, print_ in generators.items()},
            "seconds": round(time.perf_counter() - started, 6),
        }
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")


def install_state_recorder(shell: Any) -> StateRecorder | None:
    """Fingerprint the state after every cell, when this kernel was started for a verification that asks for it."""
    destination = os.environ.get(STATE_ENV_VAR)
    if not destination:
        return None
    recorder = StateRecorder(shell, Path(destination))
    shell.events.register("pre_run_cell", recorder.before_cell)
    shell.events.register("post_run_cell", recorder.after_cell)
    return recorder
