"""Helpers the tests share: real notebooks on disk, `repro-verify` in process, ledgers to load.

Fixtures stay in conftest.py; these are plain functions and constants, imported
by name (`from helpers import write_notebook`), as pytest's guide asks: a test
module never imports from a conftest.py.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from repro_magics.cli import main

#: Headless Chromium as the UI tests run it: no sandbox (root), and none of its
#: background connections, which this machine's closed network refuses.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def write_notebook(path: Path, *sources: str, markdown_first: bool = False) -> Path:
    """A real notebook on disk with one code cell per source (and a markdown cell first, if asked)."""
    cells = [new_markdown_cell("# A test notebook")] if markdown_first else []
    cells += [new_code_cell(source) for source in sources]
    notebook = new_notebook(cells=cells)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"c{index}"
    nbformat.write(notebook, str(path))
    return path


def run_cli(*argv: str) -> tuple[int, str, str]:
    """`repro-verify ARGV` in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def ledger_data(**values: Any) -> dict[str, Any]:
    """A valid ledger, as JSON data, with one record: a 2-epoch history and the given values (encoded)."""
    from types import SimpleNamespace

    from repro_magics.kernel.recording import CellRecord
    from repro_magics.ledger.store import Ledger
    from repro_magics.ledger.values import encode_history, encode_value

    history = SimpleNamespace(epoch=[0, 1], history={"loss": [0.5, 0.25], "accuracy": [0.5, 0.75]})
    record = CellRecord(
        cell_id="c0",
        seed=1,
        cell_number=1,
        source_first_line="%%reproducible seed=1 record=x",
        source_hash="0123456789abcdef",
        histories=[encode_history(history)],
        values={name: encode_value(value) for name, value in (values or {"x": 1.5}).items()},
    )
    return Ledger().with_record(record.to_json(), {"python": "3.11"}).to_json()


#: Ledgers that parse, and are ledgers, but hold the wrong type somewhere inside; and what loading says.
WRONG_INNER_TYPES = {
    "a metric value that is text": (
        lambda data: data["records"][0]["histories"][0]["metrics"].update(loss=["abc"]),
        'records[0].histories[0].metrics.loss[0] is "abc"; expected a float64 (a number, or one of "NaN", '
        '"Infinity", "-Infinity", "-0.0"), or a recorded value for a metric that is an array',
    ),
    "an empty record": (
        lambda data: data.update(records=[{}]),
        "records[0] lacks 'cell_id', 'cell_number', 'seed', 'source_first_line', 'source_hash', 'histories', "
        "'values' and 'environment'",
    ),
    "values that are null": (
        lambda data: data["records"][0].update(values=None),
        "records[0].values is null; expected an object",
    ),
}
