from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


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


@pytest.fixture(autouse=True)
def _no_inherited_repro_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REPRO_MAGICS_SEED",):
        if name in os.environ:
            monkeypatch.delenv(name)


@pytest.fixture
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Dask scheduler and two nanny-managed workers, separate processes on 127.0.0.1; stopped by process id."""
    from dask_cluster import start_cluster

    cluster = start_cluster(tmp_path_factory.mktemp("dask-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()
