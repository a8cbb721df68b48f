"""Finding the notebook a kernel serves, where its ledger goes, and where a cell sits."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_notebook

from repro_magics.notebook_context import CellLocator, find_notebook_path, ledger_destination


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REPRO_MAGICS_NOTEBOOK", "REPRO_MAGICS_LEDGER", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_when_jupyterlab_names_the_session_then_the_ledger_goes_beside_the_notebook(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", "x = 1")
    assert ledger_destination({"__session__": str(notebook)}) == (tmp_path / "analysis.repro.json", True)


def test_when_the_session_path_is_relative_to_the_server_root_then_the_kernel_folder_is_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", "x = 1")
    monkeypatch.chdir(tmp_path)
    assert find_notebook_path({"__session__": "projects/deep/analysis.ipynb"}) == notebook.resolve()


def test_when_vs_code_names_the_file_then_it_is_used(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "v.ipynb", "x = 1")
    assert find_notebook_path({"__vsc_ipynb_file__": str(notebook)}) == notebook.resolve()


def test_when_no_notebook_is_known_then_the_ledger_goes_to_the_working_folder_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert ledger_destination({"__session__": "a console"}) == (tmp_path / "untitled.repro.json", False)


def test_cells_are_numbered_among_code_cells_from_one(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "\n\nfirst = 1", "second = 2", markdown_first=True)
    locator = CellLocator()
    assert locator.locate(notebook, "c1") == (1, "first = 1")
    assert locator.locate(notebook, "c2") == (2, "second = 2")
    assert locator.locate(notebook, "c0") == (None, None)
    assert locator.locate(None, "c1") == (None, None)


def test_when_the_notebook_is_a_symlink_then_its_ledger_goes_beside_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "project").mkdir()
    write_notebook(tmp_path / "real" / "n.ipynb", "x = 1")
    link = tmp_path / "project" / "n.ipynb"
    link.symlink_to(tmp_path / "real" / "n.ipynb")
    assert ledger_destination({"__session__": str(link)}) == (tmp_path / "project" / "n.repro.json", True)
    monkeypatch.chdir(tmp_path / "project")
    assert find_notebook_path({"__session__": "n.ipynb"}) == link
