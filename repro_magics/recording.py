"""Collect what a `%%reproducible` cell produced: its training histories and named values."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import xxhash

from .values import encode_history, encode_value

MISSING = {"type": "missing"}


CELL_MAGIC = "%%reproducible"


def source_hash(line: str, body: str) -> str:
    """What a record keeps of its cell's source: a hash of the magic's line and the cell body."""
    return xxhash.xxh3_64_hexdigest(f"{line}\n{body}".encode())


def notebook_cell_source_hash(source: str) -> str | None:
    """The `source_hash` a `%%reproducible` cell with this notebook source records; None for other cells.

    It splits the source as IPython's transformer does before calling the magic:
    leading blank lines dropped, a final newline added, the magic's name cut
    from the first line.
    """
    lines = source.splitlines(keepends=True)
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not lines[0].startswith(CELL_MAGIC):
        return None
    name, _, line = lines[0][2:].rstrip().partition(" ")
    if name != CELL_MAGIC[2:]:
        return None
    body = "".join(lines[1:])
    return source_hash(line, body if body.endswith("\n") or not body else body + "\n")


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

    def to_json(self) -> dict[str, Any]:
        return {
            "cell_id": self.cell_id,
            "cell_number": self.cell_number,
            "seed": self.seed,
            "source_first_line": self.source_first_line,
            "source_hash": self.source_hash,
            "histories": self.histories,
            "values": self.values,
        }


@contextlib.contextmanager
def capturing_histories(into: list[dict[str, Any]]) -> Iterator[None]:
    """Append every Keras `History` whose training ends inside the block to `into`.

    `fit` hands its `History` callback `on_train_end` when training finishes,
    whatever model class or custom training step is in use, so that hook is
    wrapped for the duration of the block and restored after.
    """
    from keras.callbacks import History

    original = History.__dict__.get("on_train_end")
    inherited = History.on_train_end

    def on_train_end(self: Any, logs: Any = None) -> None:
        # Recording must never break training: a history that can't be
        # encoded is recorded as such, and the cell goes on.
        try:
            into.append(encode_history(self))
        except Exception as error:
            into.append({"type": "unsupported", "python_type": f"a history ({type(error).__name__}: {error})"})
            print(f"repro_magics: could not record a training history: {error}", file=sys.stderr)
        inherited(self, logs)

    History.on_train_end = on_train_end
    try:
        yield
    finally:
        if original is None:
            del History.on_train_end
        else:
            History.on_train_end = original


def record_named_values(namespace: Mapping[str, Any], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Encode each named variable of `namespace`; a missing name is recorded as missing."""
    return {name: encode_value(namespace[name]) if name in namespace else dict(MISSING) for name in names}
