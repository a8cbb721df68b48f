"""`repro-verify --html`: reports of real runs (reproducing, diverging, failing), read as a browser reads them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import CHROMIUM_FLAGS, run_cli
from html_pages import CASES, OUTSIDE_ADDRESS, Elements, verify_case, write_case

from repro_magics.compare.agreement import Tolerance
from repro_magics.report.html import html_report, write_html_report
from repro_magics.verify.verification import NotebookVerification

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NotebookVerification]:
    folder = tmp_path_factory.mktemp("html-cases")
    return {case: verify_case(folder, case) for case in CASES}


@pytest.fixture(scope="module")
def pages(verified: dict[str, NotebookVerification], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("html-pages")
    written = {}
    for case, result in verified.items():
        written[case] = folder / f"{case}.html"
        write_html_report(written[case], [result], result.exit_status, Tolerance(), f"repro-verify {case}.ipynb")
    return written


def elements(path: Path) -> Elements:
    return Elements(path.read_text(encoding="utf-8"))


def test_when_a_run_diverges_at_one_cell_then_that_row_alone_is_marked_with_the_cli_difference_text(
    verified: dict[str, NotebookVerification], pages: dict[str, Path]
) -> None:
    page = elements(pages["diverging"])
    marked = page.having("tr", "first-difference")
    assert [row.attributes["data-cell-id"] for row in marked] == ["c3"]
    assert [row.attributes["data-cell-id"] for row in page.having("tr", "cell-diverged")] == ["c3"]
    difference = verified["diverging"].comparisons[0].differences[0]
    expected = f"{difference.where}: run 1 {difference.baseline} vs run 2 {difference.new}"
    assert expected in marked[0].text
    assert [row.attributes["data-cell-id"] for row in page.having("tr", "cell-identical")] == ["c2", "c4"]
    (section,) = page.having("section", "notebook")
    assert section.attributes["data-verdict"] == "diverged"
    assert "DIVERGED, run 2 vs run 1, first at cell 3 (id c3)" in section.text


def test_when_training_curves_part_at_epoch_3_then_their_figure_marks_epoch_3_and_the_others_none(
    verified: dict[str, NotebookVerification], pages: dict[str, Path]
) -> None:
    where = verified["diverging"].comparisons[0].differences[0].where
    assert re.search(r"history 1, metric '\w+', epoch 3$", where), where
    figures = elements(pages["diverging"]).having("figure", "curves")
    assert [figure.attributes["data-first-differing-epoch"] for figure in figures] == ["", "3"]
    assert "cell 3 (id c3), history 1" in figures[1].text and "first differing epoch: 3" in figures[1].text
    svg = pages["diverging"].read_text(encoding="utf-8").split('data-first-differing-epoch="3"')[1]
    assert "first difference at epoch 3" in svg.split("</figure>")[0]


def test_when_weights_differ_then_the_model_row_counts_every_element_as_different(pages: dict[str, Path]) -> None:
    page = elements(pages["diverging"])
    (model,) = page.having("tr", data_array="cell 3 (id c3), model 'model' (4 weights)")
    assert "array-diverged" in model.attributes["class"]
    # 4 x 8 + 8 + 8 x 1 + 1 weights of the two Dense layers, each different after the learning rates part.
    assert re.search(r"run 2 vs run 1\s*0\s*0\s*49\s*0 equal, 0 different", model.text), model.text
    (value,) = page.having("tr", data_array="cell 4 (id c4), value 'c'")
    assert "array-identical" in value.attributes["class"]
    (histogram,) = page.having("figure", "differences")
    assert "cell 3 (id c3), model 'model'" in histogram.text and "49 elements differ" in histogram.text


def test_when_a_notebook_reproduces_then_nothing_is_marked_and_every_recorded_cell_is_identical(
    pages: dict[str, Path],
) -> None:
    page = elements(pages["reproducing"])
    assert not page.having("tr", "first-difference") and not page.having("tr", "cell-diverged")
    assert [row.attributes["data-cell-id"] for row in page.having("tr", "cell-identical")] == ["c2"]
    (figure,) = page.having("figure", "curves")
    assert figure.attributes["data-first-differing-epoch"] == ""
    assert "identical" in figure.text
    (section,) = page.having("section", "notebook")
    assert "identical across the fresh runs, bitwise" in section.text


def test_when_a_cell_fails_then_its_row_says_why_and_the_cells_after_it_did_not_run(pages: dict[str, Path]) -> None:
    page = elements(pages["failing"])
    (failed,) = page.having("tr", "cell-failed-to-run")
    assert failed.attributes["data-cell-id"] == "c1"
    assert "ZeroDivisionError: division by zero" in failed.text
    assert [row.attributes["data-cell-id"] for row in page.having("tr", "cell-not-run")] == ["c2"]
    (reason,) = page.having("p", "failure")
    assert reason.text == "run 1 failed at cell 2 (id c1): ZeroDivisionError: division by zero"


@pytest.mark.parametrize("case", CASES)
def test_when_a_report_is_written_then_it_names_no_outside_address_and_loads_nothing(
    pages: dict[str, Path], case: str
) -> None:
    text = pages[case].read_text(encoding="utf-8")
    assert OUTSIDE_ADDRESS.search(text) is None, OUTSIDE_ADDRESS.search(text)
    page = Elements(text)
    assert not page.having("script") and not page.having("link") and not page.having("img")
    assert len(text.encode()) < 5_000_000


def test_when_several_notebooks_are_verified_then_one_page_holds_them_all_in_order(
    verified: dict[str, NotebookVerification],
) -> None:
    results = [verified[case] for case in CASES]
    page = Elements(html_report(results, 3, Tolerance(), "repro-verify a b c"))
    sections = page.having("section", "notebook")
    assert [s.attributes["data-verdict"] for s in sections] == ["identical", "diverged", "failed to run"]
    summary_rows = page.having("table", "summary")[0].text
    assert summary_rows.index("reproducing.ipynb") < summary_rows.index("diverging.ipynb")
    assert "exit status 3" in page.having("p")[0].text


def test_when_verify_is_given_html_then_it_writes_the_page_with_the_command_and_the_exit_status(
    tmp_path: Path,
) -> None:
    notebook = write_case(tmp_path, "failing")
    status, out, err = run_cli(str(notebook), "--quiet", "--html", str(tmp_path / "report.html"))
    assert status == 3, out + err
    page = elements(tmp_path / "report.html")
    assert page.having("pre", "command")[0].text == f"repro-verify {notebook} --quiet --html {tmp_path / 'report.html'}"
    assert "exit status 3" in page.having("p")[0].text
    assert out.splitlines()[0] in page.having("section", "notebook")[0].text


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(page: Path, picture: Path) -> np.ndarray:
    """What headless Chromium shows of `page` in a 1280 x 2000 window, as RGB values from 0 to 255."""
    browser = _browser()
    assert browser is not None
    with tempfile.TemporaryDirectory(prefix="repro-chromium-") as profile:
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={picture}",
                "--window-size=1280,2000",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    from matplotlib.image import imread

    return np.rint(imread(picture)[..., :3] * 255).astype(int)


def pixels_near(image: np.ndarray, colour: str) -> int:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - rgb).max(axis=-1) <= 6).sum())


FIRST_DIFFERENCE_ROW = "#f8c9c4"
DIVERGED_RED = "#c62828"
FAILED_PURPLE = "#6a1b9a"


@pytest.mark.ui
@pytest.mark.skipif(_browser() is None, reason="no chromium binary on PATH (apt-get install chromium)")
def test_when_a_browser_shows_the_reports_then_the_divergence_alone_is_painted_red(
    pages: dict[str, Path], tmp_path: Path
) -> None:
    images = {case: screenshot(pages[case], tmp_path / f"html-report-{case}.png") for case in CASES}
    # The marked row spans the table: some 1,100 x 25 pixels of its colour, and red badges and lines besides.
    assert pixels_near(images["diverging"], FIRST_DIFFERENCE_ROW) > 20_000
    assert pixels_near(images["diverging"], DIVERGED_RED) > 2_000
    assert pixels_near(images["reproducing"], FIRST_DIFFERENCE_ROW) == 0
    assert pixels_near(images["reproducing"], DIVERGED_RED) == 0
    assert pixels_near(images["failing"], FAILED_PURPLE) > 1_000
    keep = os.environ.get("REPRO_MAGICS_SCREENSHOTS")
    if keep:
        # How the pictures in docs/ are made: REPRO_MAGICS_SCREENSHOTS=docs/images pytest -m ui
        shutil.copy(tmp_path / "html-report-diverging.png", Path(keep) / "html-report-diverging.png")
