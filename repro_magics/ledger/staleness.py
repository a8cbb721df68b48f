"""Is a ledger record still the record of its cell? One answer for `--check-ledger`, `%repro_status` and the badges.

A record keeps a hash of the cell's source as the magic received it (its
line and body). A notebook's saved source is put through IPython's own input
transformation and hashed the same way, so no surface needs a kernel, and
all of them compare the same two strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import xxhash

from ..notebooks import CodeCell, magic_line_and_body

CURRENT = "current"
STALE = "stale"
NOT_IN_NOTEBOOK = "not in the notebook"


def source_hash(line: str, body: str) -> str:
    """What a record keeps of its cell's source: a hash of the magic's line and the cell body."""
    return xxhash.xxh3_64_hexdigest(f"{line}\n{body}".encode())


@lru_cache(maxsize=4096)  # a notebook's cells are hashed by each surface that checks it
def notebook_cell_source_hash(source: str) -> str | None:
    """The `source_hash` a `%%reproducible` cell with this notebook source records; None for any other cell."""
    parts = magic_line_and_body(source)
    return None if parts is None else source_hash(*parts)


@dataclass(frozen=True)
class RecordState:
    """One ledger record, the code cell it belongs to (if any is left), and whether it still describes that cell."""

    record: dict[str, Any]
    cell: CodeCell | None
    #: `CURRENT`, `STALE` (the cell's source changed, or it is no longer `%%reproducible`) or `NOT_IN_NOTEBOOK`.
    state: str
    #: The hash the cell's saved source gives now; None when it is not (or no longer) a `%%reproducible` cell.
    cell_hash: str | None = None


def record_states(cells: list[CodeCell], records: list[dict[str, Any]]) -> list[RecordState]:
    """Each record, in ledger order, checked against the notebook's code cells as saved.

    A record with a cell id belongs to the code cell of that id. One without
    (a kernel that was not told ids) belongs to a cell whose source gives its
    hash, and is current if there is one.
    """
    hashes = {cell: notebook_cell_source_hash(cell.source) for cell in cells}
    by_id = {cell.cell_id: cell for cell in reversed(cells) if cell.cell_id is not None}
    states = []
    for record in records:
        recorded, cell_id = record.get("source_hash"), record.get("cell_id")
        if cell_id is not None:
            cell = by_id.get(str(cell_id))
            if cell is None:
                states.append(RecordState(record, None, NOT_IN_NOTEBOOK))
            else:
                now = hashes[cell]
                states.append(RecordState(record, cell, CURRENT if now == recorded else STALE, now))
            continue
        same = next((cell for cell in cells if hashes[cell] == recorded), None)
        states.append(RecordState(record, same, CURRENT if same else NOT_IN_NOTEBOOK, hashes[same] if same else None))
    return states


def stale_cells(cells: list[CodeCell], records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{cell id: its record} for each code cell whose saved source is not the one its record was made from."""
    return {
        str(state.cell.cell_id): state.record
        for state in record_states(cells, records)
        if state.state == STALE and state.cell is not None
    }
