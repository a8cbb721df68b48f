"""Turn the values a cell produced into exact, JSON-safe records.

Floats are stored exactly: a JSON number written by `repr` reads back as the
same float64 (float32 widens exactly). NaN and the infinities, which strict
JSON has no numbers for, are stored as the strings "NaN", "Infinity" and
"-Infinity", and negative zero as "-0.0"; `float()` reads all of these back.
So two encoded values are equal exactly when their bits are (NaN payloads
aside). Complex numbers are [real, imaginary] pairs.

A record never holds a memory address: text that would (an object array of
plain objects, a dict keyed by them) is recorded as "unsupported" with its
type, since an address changes from run to run.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import xxhash

from ..exceptions import UnrecordableValue
from .schema import integer_digits_limit

#: Arrays up to this many elements are stored whole, so they can be compared
#: with a tolerance; larger ones keep only their fingerprint and a summary.
MAX_STORED_ELEMENTS = 10_000

FINGERPRINT_ALGORITHM = "xxh3_128"

#: Lists, tuples and dicts nested deeper than this are not recorded: deeper
#: JSON would overflow the stack of the JSON writer, the schema check and the
#: comparison.
MAX_DEPTH = 100

# What CPython's default repr prints for an object's id: `<Point object at 0x7f3b2c1d5e10>`.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")

# dtypes NumPy doesn't know as numbers: ml_dtypes' bfloat16, float8_*, int4..., which TensorFlow uses.
_EXTENSION_FLOAT_PREFIXES = ("bfloat", "float")
_EXTENSION_INT_PREFIXES = ("int", "uint")


def holds_address(text: str) -> bool:
    """Whether `text` holds what looks like a memory address, which differs from run to run."""
    return _ADDRESS.search(text) is not None


def type_name(value: Any) -> str:
    """`module.QualifiedName` of the value's type, as records name it."""
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _readable_integer(value: int) -> bool:
    """Whether Python converts `value` to and from text, as JSON needs, under its digit limit."""
    try:
        str(value)
    except ValueError:
        return False
    return True


def unsupported(value: Any, reason: str | None = None) -> dict[str, Any]:
    """The record of a value kept by its type alone, with why when there is more to say than its type."""
    record = {"type": "unsupported", "python_type": type_name(value)}
    if reason:
        record["reason"] = reason
    return record


def json_float(value: Any) -> float | str:
    """`value` as a strict-JSON value that `float()` turns back into it."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 and math.copysign(1.0, value) < 0:
        # Kept apart from 0.0, so that equal JSON means equal bits.
        return "-0.0"
    return value


def fingerprint(array: np.ndarray) -> str:
    """A hash of an array's dtype, shape and bytes: equal only if bitwise equal."""
    flat = np.ascontiguousarray(array).reshape(-1)
    hasher = xxhash.xxh3_128(f"{flat.dtype.str}{array.shape}".encode())
    if flat.dtype.hasobject:
        hasher.update(repr(flat.tolist()).encode())
    else:
        # A byte view of the array's own buffer; `tobytes()` would copy it first.
        hasher.update(flat.view(np.uint8).data)
    return hasher.hexdigest()


def _float_values(flat: np.ndarray) -> list[Any]:
    """`json_float` of each element; NumPy finds the rare elements that need it."""
    special = ~np.isfinite(flat) | ((flat == 0) & np.signbit(flat))
    values: list[Any] = flat.tolist()
    for index in np.flatnonzero(special).tolist():
        values[index] = json_float(values[index])
    return values


def _exact_text(value: Any) -> str:
    """An extended-precision float (float128) as the shortest text that reads back as it; float64 can't hold it."""
    special = json_float(value)
    return special if isinstance(special, str) else np.format_float_scientific(value, unique=True)


def _element_values(array: np.ndarray) -> list[Any]:
    """Each element as a JSON value that keeps all of its bits (in row-major order)."""
    flat = array.reshape(-1)
    dtype = array.dtype
    if dtype.kind == "V" and dtype.fields is None and dtype.name.startswith(_EXTENSION_FLOAT_PREFIXES):
        flat, dtype = flat.astype(np.float64), np.dtype(np.float64)  # widening is exact
    elif dtype.kind == "V" and dtype.fields is None and dtype.name.startswith(_EXTENSION_INT_PREFIXES):
        flat, dtype = flat.astype(np.int64), np.dtype(np.int64)
    if dtype.kind in "biu":
        return flat.tolist()
    if dtype.kind in "mM":
        # A count of the dtype's unit (NaT is the smallest int64); tolist() would give Python objects.
        return flat.astype(np.int64).tolist()
    if dtype.kind == "f":
        return _float_values(flat) if dtype.itemsize <= 8 else [_exact_text(x) for x in flat]
    if dtype.kind == "c":
        if dtype.itemsize <= 16:
            return [[json_float(z.real), json_float(z.imag)] for z in flat.tolist()]
        return [[_exact_text(z.real), _exact_text(z.imag)] for z in flat]
    return [str(x) for x in flat.tolist()]


def encode_array(array: np.ndarray, *, summarize: bool = True) -> dict[str, Any]:
    """Dtype, shape, fingerprint, and the elements when there are few enough.

    A larger array gets a min/max/mean summary (for the report) when
    `summarize`; model weights skip it, since it costs several times the hash.
    """
    record: dict[str, Any] = {
        "type": "array",
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "fingerprint": fingerprint(array),
    }
    if array.size <= MAX_STORED_ELEMENTS:
        record["values"] = _element_values(array)
    elif summarize and array.dtype.kind in "biuf" and array.size:
        # Integers (and booleans) keep their own type: a float would read `263.0` and lose bits past 2**53.
        extreme = json_float if array.dtype.kind == "f" else int
        record["summary"] = {
            "min": extreme(np.min(array)),
            "max": extreme(np.max(array)),
            "mean": json_float(np.mean(array, dtype=np.float64)),
        }
    return record


def _address_in_elements(array: np.ndarray) -> str | None:
    """The type of the first element of an object array whose text holds an address, if any."""
    for element in array.reshape(-1).tolist():
        if not isinstance(element, str) and (holds_address(repr(element)) or holds_address(str(element))):
            return type_name(element)
    return None


def _as_numpy(value: Any) -> np.ndarray | None:
    """A NumPy view of a NumPy array or of a TF, JAX, PyTorch or Keras array or tensor, else None."""
    if isinstance(value, np.ndarray):
        return value
    module = type(value).__module__
    try:
        if module.startswith(("jax", "jaxlib")) and hasattr(value, "__array__"):
            return np.asarray(value)
        if module.startswith("torch") and hasattr(value, "detach"):
            return np.asarray(value.detach().cpu().numpy())
        if module.startswith(("tensorflow", "keras")) and hasattr(value, "numpy"):
            return np.asarray(value.numpy())
    except (TypeError, ValueError, AttributeError, RuntimeError):
        return None
    return None


def _is_keras_layer(value: Any) -> bool:
    try:
        import keras
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, keras.layers.Layer)


def weight_values(variable: Any) -> np.ndarray:
    """A Keras variable's or a backend tensor's values as NumPy, without a copy where possible.

    TensorFlow is used only when it is imported: a JAX or PyTorch kernel never pays for importing it.
    """
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        try:
            return np.asarray(tf.convert_to_tensor(variable))
        except (TypeError, ValueError):
            pass
    for candidate in (getattr(variable, "value", None), variable):  # a Keras variable's tensor, or a tensor
        values = _as_numpy(candidate)
        if values is not None:
            return values
    return np.asarray(variable.numpy())


def variable_fingerprints(model: Any) -> list[tuple[str, str]]:
    """(path, fingerprint) of each weight of a model, in the model's order."""
    return [
        (getattr(variable, "path", None) or variable.name, fingerprint(weight_values(variable)))
        for variable in model.weights
    ]


def weights_fingerprint(model: Any) -> str:
    """One xxh3-128 over every weight of a model, path, dtype, shape and bytes: equal only if all are bitwise."""
    hasher = xxhash.xxh3_128()
    for variable in model.weights:
        values = np.ascontiguousarray(weight_values(variable))
        name = getattr(variable, "path", None) or variable.name
        hasher.update(f"{name}|{values.dtype.str}|{values.shape}|".encode())
        hasher.update(values.reshape(-1).view(np.uint8).data)
    return hasher.hexdigest()


def encode_model(model: Any) -> dict[str, Any]:
    """A Keras model or layer: one fingerprinted record per weight, by path."""
    weights = {}
    for variable in model.weights:
        name = getattr(variable, "path", None) or variable.name
        weights[name] = encode_array(weight_values(variable), summarize=False)
    return {"type": "model", "class": type(model).__name__, "weights": weights}


def encode_value(value: Any, _containers: tuple[int, ...] = ()) -> dict[str, Any]:
    """A JSON-safe record of `value` that `compare` can match element by element.

    Handles numbers, strings, None, NumPy/TF/Keras arrays and tensors, lists,
    tuples and dicts of these, Keras models and layers, and Keras `History`
    objects. Anything else is recorded by its type alone, and so is anything
    whose text holds a memory address. Raises `UnrecordableValue` for
    containers nested more than `MAX_DEPTH` deep.
    """
    if value is None:
        return {"type": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"type": "bool", "value": bool(value)}
    if isinstance(value, int) and not _readable_integer(value):
        limit = integer_digits_limit()
        return unsupported(value, f"a whole number of more than {limit} digits, which no ledger reader converts")
    if isinstance(value, (int, np.integer)):
        return {"type": "int", "value": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"type": "float", "value": json_float(value)}
    if isinstance(value, (complex, np.complexfloating)):
        return {"type": "complex", "value": [json_float(value.real), json_float(value.imag)]}
    if isinstance(value, str):
        return {"type": "str", "value": value}
    if _is_keras_layer(value):
        return encode_model(value)
    if type(value).__name__ == "History" and isinstance(getattr(value, "history", None), dict):
        return encode_history(value)
    array = _as_numpy(value)
    if array is not None:
        if array.ndim == 0 and np.issubdtype(array.dtype, np.number):
            return encode_value(array.item())
        if array.dtype.hasobject and (element_type := _address_in_elements(array)):
            return unsupported(value, f"its elements ({element_type}) print with a memory address")
        return encode_array(array)
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in _containers:
            return unsupported(value, "a container that contains itself")
        if len(_containers) >= MAX_DEPTH:
            raise UnrecordableValue(f"lists, tuples or dicts nested more than {MAX_DEPTH} deep")
        inside = (*_containers, id(value))
        if isinstance(value, Mapping):
            items = list(value.items())
            for key, _ in items:
                if not isinstance(key, str) and holds_address(repr(key)):
                    return unsupported(value, f"its keys ({type_name(key)}) print with a memory address")
            return {"type": "dict", "items": {_key(key): encode_value(item, inside) for key, item in items}}
        return {"type": "list", "items": [encode_value(item, inside) for item in value]}
    return unsupported(value)


def _key(key: Any) -> str:
    # Keys become strings in JSON; keep 1 and "1" apart.
    return key if isinstance(key, str) else f"{key!r} ({type(key).__name__})"


def _epoch_value(value: Any) -> Any:
    """A metric's value for one epoch: a float, or an encoded array for per-class metrics."""
    if np.ndim(value) == 0:
        return json_float(value)
    return encode_value(value)


def encode_history(history: Any) -> dict[str, Any]:
    """A Keras `History`: its epochs and every metric's value per epoch."""
    return {
        "type": "history",
        "epochs": [int(epoch) for epoch in getattr(history, "epoch", [])],
        "metrics": {
            str(name): [_epoch_value(value) for value in values] for name, values in sorted(history.history.items())
        },
    }
