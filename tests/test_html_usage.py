"""`repro-verify --html` refused before any kernel starts: one sentence and exit status 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import run_cli
from html_pages import write_case

from repro_magics.compare.agreement import Tolerance
from repro_magics.report.html import html_report, is_html_report


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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "other.ipynb",
            "is a notebook; give the report a file of its own "
            "(a shell pattern right after --html puts a notebook there)",
        ),
        ("old.repro.json", "is a ledger; give the report a file of its own"),
        ("notes.txt", "exists and is not a repro-verify report; remove it or pick another name"),
        ("folder", "is a folder; give a file name for the report"),
    ],
)
def test_when_html_would_replace_a_file_of_the_users_then_exit_2_and_the_file_is_kept(
    tmp_path: Path, name: str, expected: str
) -> None:
    notebook = write_case(tmp_path, "failing")
    target = tmp_path / name
    if name == "folder":
        target.mkdir()
    else:
        target.write_text("the user's own words")
    status, out, err = run_cli(str(notebook), "--html", str(target))
    assert status == 2 and out == ""
    assert err == f"repro-verify: error: --html {target} {expected}\n"
    assert target.is_dir() if name == "folder" else target.read_text() == "the user's own words"


def test_when_html_names_an_earlier_report_then_it_is_recognised_as_one_to_replace(tmp_path: Path) -> None:
    earlier = tmp_path / "report.html"
    earlier.write_text(html_report([], 0, Tolerance(), "repro-verify"))
    assert is_html_report(earlier)
    (tmp_path / "page.html").write_text("<!DOCTYPE html><title>mine</title>")
    assert not is_html_report(tmp_path / "page.html")
