"""`repro-verify --html` refused before any kernel starts: one sentence and exit status 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import run_cli
from html_pages import write_case


def test_when_matplotlib_is_missing_then_html_is_refused_with_exit_2_before_any_kernel_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = write_case(tmp_path, "failing")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` meets when it isn't installed
    status, out, err = run_cli(str(notebook), "--html", str(tmp_path / "report.html"))
    assert status == 2
    assert err == (
        "repro-verify: error: the HTML report draws its plots with matplotlib, which is not installed; "
        'install it with pip install "repro-magics[report]"\n'
    )
    assert out == "" and not (tmp_path / "report.html").exists()


def test_when_the_html_folder_does_not_exist_then_exit_2_naming_it(tmp_path: Path) -> None:
    notebook = write_case(tmp_path, "failing")
    status, _, err = run_cli(str(notebook), "--html", str(tmp_path / "missing" / "report.html"))
    assert status == 2
    assert f"the folder for --html, {tmp_path / 'missing'}, does not exist" in err
