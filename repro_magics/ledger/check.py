"""`repro-verify --check-ledger`: stale or missing ledgers, found without a kernel (for a pre-commit hook)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import xxhash

from ..kernel.notebook_context import MAGIC_PREFIX, cell_text, first_line
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


@cache
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def magic_source_hash(source: str) -> str | None:
    """The `source_hash` the magic records for a `%%reproducible` cell with this source (None for other cells).

    The magic hashes the line and the body IPython hands it, so the cell is
    put through IPython's own input transformation, not a copy of its rules.
    """
    if not source.lstrip().startswith(MAGIC_PREFIX):
        return None
    try:
        call = ast.parse(_transformer().transform_cell(source)).body[0]
        assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
        name, line, body = (ast.literal_eval(argument) for argument in call.value.args)
    except (SyntaxError, ValueError, AssertionError, IndexError, TypeError):
        return None
    if name != MAGIC_PREFIX[2:]:
        return None
    return xxhash.xxh3_64_hexdigest(f"{line}\n{body}".encode())


def _cell(number: int, cell_id: str | None) -> str:
    return f"cell {number} (id {cell_id})" if cell_id else f"cell {number}"


def check_ledger(
    notebook_path: Path, notebook: Any, ledger: Ledger | None, ledger_path: Path | None = None
) -> LedgerCheck:
    """Compare each `%%reproducible` cell's source with what its ledger record was made from."""
    check = LedgerCheck(notebook_path, ledger_path or ledger_path_for(notebook_path), has_ledger=ledger is not None)
    recorded_by_id = {r.get("cell_id"): r for r in (ledger.records if ledger else []) if r.get("cell_id")}
    recorded_hashes = {r.get("source_hash") for r in (ledger.records if ledger else [])}
    cell_ids: set[str] = set()
    reproducible_ids: set[str] = set()
    number = 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        cell_id = cell.get("id")
        if cell_id:
            cell_ids.add(str(cell_id))
        source = cell_text(cell)
        source_hash = magic_source_hash(source)
        if source_hash is None:
            continue
        check.reproducible_cells += 1
        if cell_id:
            reproducible_ids.add(str(cell_id))
        if ledger is None:
            continue
        where = f"{_cell(number, cell_id)}: {first_line(source)}"
        record = recorded_by_id.get(cell_id)
        if record is not None:
            if record.get("source_hash") != source_hash:
                check.problems.append(f"{where}: changed since its ledger record was made")
        elif source_hash not in recorded_hashes:
            check.problems.append(f"{where}: not in the ledger (never recorded)")
    if ledger is None and check.reproducible_cells:
        check.problems.append(
            f"no ledger ({check.ledger_path.name}) for {check.reproducible_cells} %%reproducible "
            f"{'cell' if check.reproducible_cells == 1 else 'cells'}"
        )
    for record in ledger.records if ledger else []:
        cell_id = record.get("cell_id")
        if cell_id and cell_id not in reproducible_ids:
            gone = "no longer in the notebook" if cell_id not in cell_ids else "no longer %%reproducible"
            check.problems.append(f"a record of a cell {gone} (id {cell_id}): {record.get('source_first_line')}")
    return check
