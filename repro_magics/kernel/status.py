"""`%repro_status`: a notebook's ledger as a table, each record checked against the cell's current source."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import NotebookError
from ..ledger.staleness import CURRENT, NOT_IN_NOTEBOOK, STALE, RecordState, record_states
from ..ledger.store import Ledger
from ..notebooks import CodeCell, code_cells, read_notebook
from ..words import counted

__all__ = ["CURRENT", "NOT_IN_NOTEBOOK", "STALE", "UNCHECKED", "ledger_status", "status_html", "status_text"]

UNCHECKED = "not checked"


@dataclass
class CellStatus:
    """One record of the ledger, and whether the cell it came from still has the source it had."""

    number: int | None
    cell_id: str | None
    first_line: str
    seed: Any
    recorded_at: str
    environment: str
    state: str
    #: Each recorded training history: metric name -> value per epoch.
    histories: list[dict[str, list[float]]] = field(default_factory=list)


@dataclass
class LedgerStatus:
    ledger: Path
    notebook: Path | None
    exists: bool
    cells: list[CellStatus] = field(default_factory=list)


def _read_code_cells(notebook: Path | None) -> list[CodeCell] | None:
    if notebook is None:
        return None
    try:
        return code_cells(read_notebook(notebook).cells)
    except NotebookError:
        return None


def _curves(record: dict[str, Any]) -> list[dict[str, list[float]]]:
    found = []
    for history in record.get("histories", []):
        metrics = history.get("metrics", {}) if history.get("type") == "history" else {}
        drawn = {
            name: [float(value) for value in values]
            for name, values in metrics.items()
            if values and not any(isinstance(value, dict) for value in values)
        }
        if drawn:
            found.append(drawn)
    return found


def ledger_status(ledger_path: Path, notebook: Path | None) -> LedgerStatus:
    """The ledger's records in notebook order, each marked current, stale or gone.

    The notebook is read as last saved. Raises `LedgerError` for a ledger
    that exists but cannot be read.
    """
    exists = ledger_path.exists()
    status = LedgerStatus(ledger_path, notebook, exists)
    if not exists:
        return status
    ledger = Ledger.load(ledger_path)
    cells = _read_code_cells(notebook)
    if cells is None:
        states = [RecordState(record, None, UNCHECKED) for record in ledger.records]
    else:
        states = record_states(cells, ledger.records)
    for record, cell, state in ((state.record, state.cell, state.state) for state in states):
        status.cells.append(
            CellStatus(
                number=cell.number if cell else record.get("cell_number"),
                cell_id=record.get("cell_id") or (cell.cell_id if cell else None),
                first_line=str(record.get("source_first_line", "")),
                seed=record.get("seed"),
                recorded_at=str(record.get("recorded_at") or "unknown"),
                environment=str(record.get("environment", ""))[:12],
                state=state,
                histories=_curves(record),
            )
        )
    status.cells.sort(key=lambda cell: (cell.number is None, cell.number or 0))
    return status


def _heading(status: LedgerStatus) -> str:
    if not status.exists:
        return f"no ledger yet: {status.ledger} does not exist (run a %%reproducible cell to start it)"
    where = f" for {status.notebook.name}" if status.notebook else " (no notebook found for this kernel)"
    return f"ledger {status.ledger}{where}: {counted(len(status.cells), 'recorded cell')}"


def _training_text(histories: list[dict[str, list[float]]]) -> str:
    parts = []
    for history in histories:
        name = "loss" if "loss" in history else sorted(history)[0]
        values = history[name]
        parts.append(f"{len(values)} epochs, {name} {values[0]:.4g} -> {values[-1]:.4g}")
    return "; ".join(parts)


def status_text(status: LedgerStatus) -> str:
    """A plain-text table, for terminal IPython."""
    lines = [_heading(status)]
    if not status.cells:
        return lines[0]
    header = ("cell", "id", "seed", "recorded (UTC)", "environment", "state", "training", "first line")
    rows = [
        (
            "" if cell.number is None else str(cell.number),
            cell.cell_id or "",
            str(cell.seed),
            cell.recorded_at,
            cell.environment,
            cell.state.upper() if cell.state == STALE else cell.state,
            _training_text(cell.histories),
            cell.first_line,
        )
        for cell in status.cells
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _sparklines(histories: list[dict[str, list[float]]]) -> str:
    from ..plotting import sparkline_svg

    return "".join(
        sparkline_svg(history)
        for history in histories
        if all(not math.isnan(value) for values in history.values() for value in values)
    )


def status_html(status: LedgerStatus, *, curves: bool) -> str:
    """An HTML table for notebooks; with `curves`, a small matplotlib picture of each training history."""
    e = html.escape
    if not status.cells:
        return f"<p>{e(_heading(status))}</p>"
    rows = []
    for cell in status.cells:
        style = ' style="background:#fdecea;font-weight:600"' if cell.state == STALE else ""
        training = _sparklines(cell.histories) if curves and cell.histories else e(_training_text(cell.histories))
        rows.append(
            f'<tr class="{e(cell.state.replace(" ", "-"))}"{style}>'
            f"<td>{'' if cell.number is None else cell.number}</td><td><code>{e(cell.cell_id or '')}</code></td>"
            f"<td>{e(str(cell.seed))}</td><td>{e(cell.recorded_at)}</td><td><code>{e(cell.environment)}</code></td>"
            f"<td>{e(cell.state)}</td><td>{training}</td><td><code>{e(cell.first_line)}</code></td></tr>"
        )
    head = "".join(
        f"<th>{name}</th>"
        for name in ("cell", "id", "seed", "recorded (UTC)", "environment", "state", "training", "first line")
    )
    note = "" if curves else '<p>Training curves need matplotlib: pip install "repro-magics[report]".</p>'
    return (
        f'<div class="repro-status"><p>{e(_heading(status))}</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}</div>"
    )
