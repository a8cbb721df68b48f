from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from repro_magics.cli.command import main


@pytest.fixture(scope="session")
def shell() -> Any:
    """One in-process IPython shell for the session; TensorFlow is imported once."""
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


@pytest.fixture
def ipython(shell: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The shell with the extension freshly loaded and its ledger in a temporary folder."""
    monkeypatch.setenv("REPRO_MAGICS_LEDGER", str(tmp_path / "ledger.repro.json"))
    monkeypatch.delenv("REPRO_MAGICS_NOTEBOOK", raising=False)
    shell.run_line_magic("load_ext", "repro_magics")
    yield shell
    shell.run_line_magic("unload_ext", "repro_magics")


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


@pytest.fixture(autouse=True)
def _no_inherited_repro_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REPRO_MAGICS_SEED",):
        if name in os.environ:
            monkeypatch.delenv(name)


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


@pytest.fixture
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Dask scheduler and two nanny-managed workers, separate processes on 127.0.0.1; stopped by process id."""
    from dask_cluster import start_cluster

    cluster = start_cluster(tmp_path_factory.mktemp("dask-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()
