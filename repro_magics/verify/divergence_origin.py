"""Where two runs that differ first parted, and the files one run left for the next: what the report says of it.

`state_origin` finds the cell from the kernels' fingerprints; this adds the
lint's finding at that cell, ranks the likely causes by it, and names the
files an earlier run wrote that a later one started with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..notebooks import CodeCell
from .causes import LikelyCause, likely_causes
from .folder_snapshot import CarriedFiles, carried_files_line, carried_over, cells_naming
from .runner import NotebookRun
from .state_origin import (
    MAX_NAMES_SHOWN,
    CellState,
    Origin,
    comparable_prefix,
    find_origin,
    quoted_finding,
    rank_by_origin,
)


@dataclass(frozen=True)
class WhereRunsPart:
    """The origin of a divergence, if the fingerprints show one, and the files a run started with."""

    origin: Origin | None
    #: `run 2 started with 3 files run 1 wrote in ckpt/; cell 2 uses ckpt/`, one per earlier run.
    carried_files: tuple[str, ...] = field(default=())
    #: With no origin: the cells whose states were compared, and the names there that have no fingerprint.
    cells_compared: int = 0
    not_fingerprinted: tuple[tuple[str, str], ...] = field(default=())

    def lines(self) -> list[str]:
        if self.origin is not None:
            return [self.origin.line(), *self.carried_files]
        if not self.cells_compared:
            return list(self.carried_files)
        text = f"origin: not found: the fingerprinted state agrees after each of {self.cells_compared} cells"
        if self.not_fingerprinted:
            shown = ", ".join(f"{name!r} ({kind})" for name, kind in self.not_fingerprinted[:MAX_NAMES_SHOWN])
            more = len(self.not_fingerprinted) - MAX_NAMES_SHOWN
            text += f"; not fingerprinted: {shown}" + (f" and {more} more" if more > 0 else "")
        return [text, *self.carried_files]

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin.to_json() if self.origin else None,
            "carried_files": list(self.carried_files),
            "cells_compared": self.cells_compared,
            "not_fingerprinted": [{"name": name, "kind": kind} for name, kind in self.not_fingerprinted],
        }


def where_runs_part(
    notebook: Path,
    cells: Sequence[CodeCell],
    baseline_states: Sequence[CellState],
    new_states: Sequence[CellState],
    runs: Sequence[NotebookRun],
    new_run: int | None,
) -> WhereRunsPart:
    """The origin between two sets of states, and the files run `new_run` (from 1) started with from earlier runs."""
    origin = find_origin(baseline_states, new_states, cells)
    if origin is not None and origin.cell_number is not None:
        causes = likely_causes(notebook, origin.cell_number) or []
        finding = quoted_finding(causes, origin.cell_number)
        if finding:
            origin = Origin(
                origin.cell_number,
                origin.cell_id,
                origin.recorded,
                origin.names,
                origin.generators,
                finding,
                origin.clock_names,
            )
    carried = tuple(_carried_lines(cells, runs, new_run, origin))
    if origin is not None:
        return WhereRunsPart(origin, carried)
    compared = comparable_prefix(baseline_states, new_states)
    last = compared[-1] if compared else None
    unseen = tuple((name, kind) for name, (kind, digest) in (last.names.items() if last else []) if digest is None)
    return WhereRunsPart(None, carried, len(compared), unseen)


def _carried_lines(
    cells: Sequence[CodeCell], runs: Sequence[NotebookRun], new_run: int | None, origin: Origin | None
) -> list[str]:
    """Only the files that a cell at or before the origin names: other files a run writes explain nothing."""
    snapshots = [(run.folder_before, run.folder_after) for run in runs]
    if new_run is None or any(before is None or after is None for before, after in snapshots):
        return []
    complete = [(before, after) for before, after in snapshots if before is not None and after is not None]
    sources = [(cell.number, cell.source) for cell in cells]
    last_cell = origin.cell_number if origin and origin.cell_number is not None else None
    lines = []
    for carried in carried_over(complete):
        if carried.run == new_run and _named_by_then(carried, sources, last_cell):
            lines.append(carried_files_line(carried, sources, last_cell))
    return lines


def _named_by_then(carried: CarriedFiles, sources: list[tuple[int, str]], last_cell: int | None) -> bool:
    return any(
        number <= last_cell if last_cell is not None else True
        for place in carried.places()
        for number in cells_naming(sources, place)
    )


def ranked_causes(notebook: Path, diverged_cell: int | None, origin_cell: int | None) -> list[LikelyCause] | None:
    """The lint's likely causes for the diverged cell and for the origin cell, those at or before the origin first."""
    causes = likely_causes(notebook, diverged_cell)
    if causes is None or origin_cell is None or origin_cell == diverged_cell:
        return causes if origin_cell is None else rank_by_origin(causes or [], origin_cell)
    # A finding listed for both cells keeps the diverged cell's entry: it says what that cell uses from it.
    for_diverged = {cause.finding for cause in causes}
    at_origin = [cause for cause in likely_causes(notebook, origin_cell) or [] if cause.finding not in for_diverged]
    return rank_by_origin([*at_origin, *causes], origin_cell)
