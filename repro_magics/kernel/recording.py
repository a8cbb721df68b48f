"""Collect what a `%%reproducible` cell produced: its training histories and named values."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ledger.values import (
    UnrecordableValue,
    encode_history,
    encode_value,
    holds_address,
    unsupported,
    weights_fingerprint,
)

MISSING = {"type": "missing"}


CELL_MAGIC = "%%reproducible"


@dataclass
class CellRecord:
    """Everything recorded for one run of one cell."""

    cell_id: str | None
    seed: int
    cell_number: int | None = None
    source_first_line: str = ""
    source_hash: str = ""
    histories: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: For a cell run without an id: how many times this source has run in the kernel (see `record_key`).
    occurrence: int | None = None
    #: When the cell finished running, in UTC (ISO 8601, to the second); shown by `%repro_status`, never compared.
    recorded_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        identity = {} if self.occurrence is None else {"occurrence": self.occurrence}
        when = {} if self.recorded_at is None else {"recorded_at": self.recorded_at}
        return {
            **identity,
            **when,
            "cell_id": self.cell_id,
            "cell_number": self.cell_number,
            "seed": self.seed,
            "source_first_line": self.source_first_line,
            "source_hash": self.source_hash,
            "histories": self.histories,
            "values": self.values,
        }


#: Where a `History` keeps the fingerprints of its model's weights after each epoch, while it trains.
_FINGERPRINTS_ATTRIBUTE = "_repro_weight_fingerprints"


@contextlib.contextmanager
def capturing_histories(into: list[dict[str, Any]]) -> Iterator[None]:
    """Append every Keras `History` whose training ends inside the block to `into`.

    `fit` hands its `History` callback `on_train_begin`, `on_epoch_end` after
    each epoch and `on_train_end` when training finishes, whatever model
    class or custom training step is in use, so those hooks are wrapped for
    the duration of the block and restored after. Before training and after
    each epoch the model's weights are fingerprinted, so that a comparison
    can say after which epoch they first differ; Keras runs `History` after
    the user's callbacks, so the fingerprint sees what they did to the weights.
    """
    from keras.callbacks import History

    hooks = ("on_train_begin", "on_epoch_end", "on_train_end")
    originals = {name: History.__dict__.get(name) for name in hooks}
    inherited_train_begin, inherited_epoch_end = History.on_train_begin, History.on_epoch_end
    inherited_train_end = History.on_train_end

    def on_train_begin(self: Any, logs: Any = None) -> None:
        inherited_train_begin(self, logs)
        self.__dict__[_FINGERPRINTS_ATTRIBUTE] = [_weights_fingerprint(self.model)]

    def on_epoch_end(self: Any, epoch: int, logs: Any = None) -> None:
        inherited_epoch_end(self, epoch, logs)
        self.__dict__.setdefault(_FINGERPRINTS_ATTRIBUTE, [None]).append(_weights_fingerprint(self.model))

    def on_train_end(self: Any, logs: Any = None) -> None:
        # Recording must never break training: a history that can't be
        # encoded is recorded as such, and the cell goes on.
        try:
            encoded = encode_history(self)
            fingerprints = self.__dict__.pop(_FINGERPRINTS_ATTRIBUTE, None)
            if fingerprints is not None and len(fingerprints) == len(encoded["epochs"]) + 1:
                encoded["initial_weight_fingerprint"] = fingerprints[0]
                encoded["weight_fingerprints"] = fingerprints[1:]
            into.append(encoded)
        except Exception as error:
            reason = _reason(error)
            into.append(unsupported(self, reason))
            print(
                f"repro_magics: could not record a training history ({reason}); it is recorded as unsupported.",
                file=sys.stderr,
            )
        inherited_train_end(self, logs)

    History.on_train_begin = on_train_begin
    History.on_epoch_end = on_epoch_end
    History.on_train_end = on_train_end
    try:
        yield
    finally:
        for name, original in originals.items():
            if original is None:
                delattr(History, name)
            else:
                setattr(History, name, original)


def _weights_fingerprint(model: Any) -> str | None:
    """The model's weights' fingerprint, or None for a model whose weights can't be read."""
    try:
        return weights_fingerprint(model)
    except Exception:
        return None


def record_named_values(namespace: Mapping[str, Any], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Encode each named variable of `namespace`; a missing name is recorded as missing.

    Recording never fails the cell: a value that can't be encoded, for
    whatever reason, is recorded as unsupported with that reason, and one
    line on stderr says so.
    """
    values: dict[str, dict[str, Any]] = {}
    for name in names:
        if name not in namespace:
            values[name] = dict(MISSING)
            continue
        value = namespace[name]
        try:
            values[name] = encode_value(value)
        except Exception as error:
            reason = _reason(error)
            values[name] = unsupported(value, reason)
            print(
                f"repro_magics: could not record {name!r} ({reason}); it is recorded as unsupported.", file=sys.stderr
            )
    return values


def _reason(error: Exception) -> str:
    """Why encoding failed, in one line without memory addresses, so that runs agree on it."""
    if isinstance(error, UnrecordableValue):
        return str(error)
    try:
        text = " ".join(str(error).split())
    except Exception:  # an exception whose message itself fails must not fail the cell either
        text = ""
    if holds_address(text):
        text = ""
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
