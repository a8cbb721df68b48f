"""Finding the notebook a kernel serves, where its ledger goes, and where a cell sits."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_notebook

from repro_magics.kernel.notebook_context import CellLocator, find_notebook_path, magic_cell_source


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REPRO_MAGICS_NOTEBOOK", "REPRO_MAGICS_LEDGER", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_when_jupyterlab_names_the_session_then_the_ledger_goes_beside_the_notebook(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", "x = 1")
    locator = CellLocator()
    found = locator.notebook({"__session__": str(notebook)})
    assert locator.ledger_destination(found) == (tmp_path / "analysis.repro.json", True)


def test_when_the_session_path_is_relative_to_the_server_root_then_the_kernel_folder_is_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = write_notebook(tmp_path / "analysis.ipynb", "x = 1")
    monkeypatch.chdir(tmp_path)
    assert find_notebook_path({"__session__": "projects/deep/analysis.ipynb"}) == notebook.resolve()


def test_when_vs_code_names_the_file_then_it_is_used(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "v.ipynb", "x = 1")
    assert find_notebook_path({"__vsc_ipynb_file__": str(notebook)}) == notebook.resolve()


def test_when_no_notebook_is_known_then_each_kernel_gets_a_file_of_its_own_in_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first, second = CellLocator(), CellLocator()
    path, beside_notebook = first.ledger_destination(first.notebook({"__session__": "a console"}, "x = 1"))
    assert not beside_notebook
    assert path.parent == tmp_path
    assert path.name.startswith("untitled-") and path.name.endswith(".repro.json")
    assert first.ledger_destination(None) == (path, False), "one kernel keeps one file"
    assert first.ledger_destination(None)[0] != Path("untitled.repro.json")
    assert second.ledger_destination(None)[0].name.startswith("untitled-")


def test_cells_are_numbered_among_code_cells_from_one(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "\n\nfirst = 1", "second = 2", markdown_first=True)
    locator = CellLocator()
    assert locator.place(notebook, "c1", "", 1) == ("c1", 1, "first = 1")
    assert locator.place(notebook, "c2", "", 1)[1:] == (2, "second = 2")
    assert locator.place(notebook, "c0", "", 1)[1:] == (None, None)
    assert locator.place(None, "c1", "", 1)[1:] == (None, None)


def test_when_no_id_is_sent_then_cells_sharing_a_source_are_found_in_the_order_they_run(tmp_path: Path) -> None:
    body = "for step in range(3):\n    log.append(step)"
    notebook = write_notebook(
        tmp_path / "twice.ipynb",
        "log = []",
        f"%%reproducible  seed=1 record=log\n{body}\n",
        f"%%reproducible seed=1 record=log\n{body}",
    )
    source = magic_cell_source("seed=1 record=log", body + "\n")
    locator = CellLocator()
    assert locator.place(notebook, None, source, 1)[:2] == ("c1", 2)
    assert locator.place(notebook, None, source, 2)[:2] == ("c2", 3)
    assert locator.place(notebook, None, magic_cell_source("seed=2", body), 1)[:2] == (None, None)


def test_when_the_notebook_is_a_symlink_then_its_ledger_goes_beside_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "project").mkdir()
    write_notebook(tmp_path / "real" / "n.ipynb", "x = 1")
    link = tmp_path / "project" / "n.ipynb"
    link.symlink_to(tmp_path / "real" / "n.ipynb")
    locator = CellLocator()
    assert locator.ledger_destination(locator.notebook({"__session__": str(link)})) == (
        tmp_path / "project" / "n.repro.json",
        True,
    )
    monkeypatch.chdir(tmp_path / "project")
    assert find_notebook_path({"__session__": "n.ipynb"}) == link
