"""`repro-verify --check-ledger`: stale or missing ledgers, found without a kernel (for a pre-commit hook)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..notebooks import cell_label, code_cells
from ..words import counted
from .staleness import STALE, notebook_cell_source_hash, record_states
from .store import Ledger, ledger_path_for


@dataclass
class LedgerCheck:
    """What one notebook's ledger says about its `%%reproducible` cells."""

    notebook: Path
    ledger_path: Path
    reproducible_cells: int = 0
    has_ledger: bool = False
    #: One line per problem: a cell changed since it was recorded, a cell never recorded, a record of no cell.
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_ledger(
    notebook_path: Path, notebook: Any, ledger: Ledger | None, ledger_path: Path | None = None
) -> LedgerCheck:
    """Compare each `%%reproducible` cell's source with what its ledger record was made from."""
    check = LedgerCheck(notebook_path, ledger_path or ledger_path_for(notebook_path), has_ledger=ledger is not None)
    records = ledger.records if ledger else []
    cells = code_cells(notebook.cells)
    states = record_states(cells, records)
    state_by_id = {str(state.record["cell_id"]): state for state in states if state.record.get("cell_id")}
    recorded_hashes = {record.get("source_hash") for record in records}
    cell_ids: set[str] = set()
    reproducible_ids: set[str] = set()
    for cell in cells:
        if cell.cell_id:
            cell_ids.add(cell.cell_id)
        source_hash = notebook_cell_source_hash(cell.source)
        if source_hash is None:
            continue
        check.reproducible_cells += 1
        if cell.cell_id:
            reproducible_ids.add(cell.cell_id)
        if ledger is None:
            continue
        where = f"{cell_label(cell.number, cell.cell_id)}: {cell.first_line}"
        state = state_by_id.get(cell.cell_id or "")
        if state is not None:
            if state.state == STALE:
                check.problems.append(f"{where}: changed since its ledger record was made")
        elif source_hash not in recorded_hashes:
            check.problems.append(f"{where}: not in the ledger (never recorded)")
    if ledger is None and check.reproducible_cells:
        check.problems.append(
            f"no ledger ({check.ledger_path.name}) for {counted(check.reproducible_cells, '%%reproducible cell')}"
        )
    for state in states:
        cell_id = state.record.get("cell_id")
        if cell_id and cell_id not in reproducible_ids:
            gone = "no longer in the notebook" if cell_id not in cell_ids else "no longer %%reproducible"
            check.problems.append(f"a record of a cell {gone} (id {cell_id}): {state.record.get('source_first_line')}")
    return check
