"""`repro-verify --html`: reports of real runs (reproducing, diverging, failing), read as a browser reads them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import CHROMIUM_FLAGS, run_cli
from html_pages import (
    CASES,
    OUTSIDE_ADDRESS,
    Elements,
    one_cell_record,
    verified_against_ledger,
    verify_case,
    write_case,
)

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
        write_html_report(written[case], [result], result.exit_status, Tolerance(), f"repro-verify {result.notebook}")
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
    assert [s.attributes["data-verdict"] for s in sections] == ["identical", "diverged", "failed to run", "diverged"]
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


# What Chromium lays out, read through Playwright: where each marker and each piece of text of a plot lands.

#: For each curves figure: for each panel (matplotlib's axes), its title, its frame, the markers drawn in
#: it (not the legend's) with their fill colour, and every text of the figure; boxes in page pixels.
_PLOT_LAYOUT = """
figure => {
  const box = element => { const r = element.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height}; };
  const svg = figure.querySelector("svg");
  const panels = [...svg.querySelectorAll("g[id^='axes_']")].map(axes => ({
    title: [...axes.querySelectorAll("text")]
      .filter(t => !t.closest("g[id^='legend_'], g[id^='xtick_'], g[id^='ytick_']") && t.textContent !== "epoch")
      .map(t => t.textContent).join(" | "),
    frame: box(axes.querySelector("g[id^='patch_'] path")),
    markers: [...axes.querySelectorAll("use")]
      .filter(use => !use.closest("g[id^='legend_']") && /fill: #/.test(use.getAttribute("style") || ""))
      .map(use => ({fill: use.getAttribute("style").match(/fill: (#[0-9a-f]{6})/)[1], ...box(use)})),
    ticks: [...axes.querySelectorAll("g[id^='ytick_'] text")].map(t => t.textContent),
  }));
  const texts = [...svg.querySelectorAll("text")].map(t => ({text: t.textContent, ...box(t)}));
  return {svg: box(svg), panels, texts};
}
"""
REFERENCE_GREY, FIRST_RUN_BLUE = "#222222", "#1f77b4"


@pytest.fixture(scope="module")
def close_values_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of two notebooks: a lone loss near 2.65 (a narrow figure), and a val_loss moving by 1e-6 near 2.532."""
    results = [
        verified_against_ledger(
            "narrow.ipynb", one_cell_record({"loss": [2.65, 2.61, 2.58]}), one_cell_record({"loss": [2.65, 2.61, 2.57]})
        ),
        verified_against_ledger(
            "close.ipynb",
            one_cell_record({"loss": [2.65, 2.61, 2.58], "val_loss": [2.532012, 2.53201, 2.532008]}),
            one_cell_record({"loss": [2.65, 2.61, 2.58], "val_loss": [2.532012, 2.532011, 2.532009]}),
        ),
    ]
    path = tmp_path_factory.mktemp("html-close") / "close.html"
    write_html_report(path, results, 1, Tolerance(), "repro-verify narrow.ipynb close.ipynb")
    return path


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    """A page of headless Chromium, driven by Playwright, 1280 pixels wide."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (the test extra)")
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser, args=CHROMIUM_FLAGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        yield page
        chromium.close()


# pytest-jupyter, when test_lab_server.py is collected too, gives every test an event loop that it closes
# afterwards, while Playwright's own loop still runs; these tests start no server and need neither fixture.
@pytest.fixture
def jp_asyncio_loop() -> None:
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    return None


def _plot_layouts(browser_page: Any, path: Path) -> list[dict[str, Any]]:
    browser_page.goto(path.as_uri())
    return [figure.evaluate(_PLOT_LAYOUT) for figure in browser_page.locator("figure.curves").all()]


def _inside(inner: dict[str, float], outer: dict[str, float], slack: float = 0.5) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["top"] >= outer["top"] - slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


@pytest.mark.ui
def test_when_a_fit_has_one_epoch_then_the_browser_shows_a_marker_for_each_run_in_every_panel(
    pages: dict[str, Path], browser_page: Any, tmp_path: Path
) -> None:
    figures = _plot_layouts(browser_page, pages["one-epoch"])

    captions = [figure.text_content() for figure in browser_page.locator("figure.curves").all()]
    assert [caption.split(":")[0] for caption in captions] == ["cell 2 (id c2), history 1", "cell 3 (id c3), history 1"]
    assert "identical" in captions[0] and "first differing epoch: 1" in captions[1]
    for figure in figures:
        assert [panel["title"] for panel in figure["panels"]] == ["accuracy", "loss"]
        for panel in figure["panels"]:
            colours = [marker["fill"] for marker in panel["markers"]]
            assert colours == [REFERENCE_GREY, FIRST_RUN_BLUE], panel
            for marker in panel["markers"]:
                assert marker["width"] >= 4 and marker["height"] >= 4, marker
                assert _inside(marker, panel["frame"]), (marker, panel["frame"])
    # Where the runs part, their markers are apart: the difference can be seen.
    (loss,) = [panel for panel in figures[1]["panels"] if panel["title"] == "loss"]
    reference, run = loss["markers"]
    assert abs((reference["top"] + reference["bottom"]) - (run["top"] + run["bottom"])) / 2 > 10
    # And the pixels say the same: run 2's blue is painted in both figures.
    for number, figure in enumerate(browser_page.locator("figure.curves").all()):
        figure.screenshot(path=str(tmp_path / f"figure-{number}.png"))
        from matplotlib.image import imread

        image = np.rint(imread(tmp_path / f"figure-{number}.png")[..., :3] * 255).astype(int)
        assert pixels_near(image, FIRST_RUN_BLUE) > 30, number
    browser_page.screenshot(path=str(tmp_path / "html-report-one-epoch.png"), full_page=True)
    keep = os.environ.get("REPRO_MAGICS_SCREENSHOTS")
    if keep:
        shutil.copy(tmp_path / "html-report-one-epoch.png", Path(keep) / "html-report-one-epoch.png")


@pytest.mark.ui
def test_when_the_browser_draws_the_plots_then_no_text_is_cut_off_and_ticks_show_plain_values(
    pages: dict[str, Path], close_values_page: Path, browser_page: Any
) -> None:
    for path in [*pages.values(), close_values_page]:
        for figure in _plot_layouts(browser_page, path):
            for text in figure["texts"]:
                assert _inside(text, figure["svg"]), (path.name, text, figure["svg"])
    narrow, figure = _plot_layouts(browser_page, close_values_page)
    (loss,) = narrow["panels"]
    assert loss["title"] == "loss" and all(re.fullmatch(r"2\.\d+", tick) for tick in loss["ticks"]), loss
    ticks = {panel["title"]: panel["ticks"] for panel in figure["panels"]}
    # Values a millionth apart: each tick is the value itself, distinct, with no offset or multiplier to decode.
    values = [float(tick) for tick in ticks["val_loss"]]
    assert len(set(values)) == len(values) >= 3, ticks
    assert all(2.532005 <= value <= 2.532015 for value in values), ticks
    assert not [text for text in figure["texts"] if re.search(r"1e|\u00d7|\+", text["text"])], figure["texts"]


@pytest.mark.ui
def test_when_changed_skipped_a_notebook_and_fail_fast_stopped_one_then_the_browser_shows_a_row_for_each(
    browser_page: Any, tmp_path: Path
) -> None:
    ran = verified_against_ledger(
        "ran.ipynb", one_cell_record({"loss": [0.5, 0.25]}), one_cell_record({"loss": [0.5, 0.25]})
    )
    path = tmp_path / "report.html"
    page = html_report(
        [ran],
        3,
        Tolerance(),
        "repro-verify --changed --fail-fast ran.ipynb later.ipynb same.ipynb",
        skipped={Path("same.ipynb"): "2026-12-01 10:42 UTC"},
        not_verified=[Path("later.ipynb")],
    )
    path.write_text(page, encoding="utf-8")
    browser_page.goto(path.as_uri())

    rows = [row.split("\t") for row in browser_page.locator("table.summary tbody tr").all_inner_texts()]
    assert [row[:2] for row in rows] == [
        ["ran.ipynb", "identical"],
        ["later.ipynb", "not verified"],
        ["same.ipynb", "skipped"],
    ]
    assert rows[1][2:] == ["stopped by --fail-fast"] and rows[2][2:] == ["unchanged since 2026-12-01 10:42 UTC"]
    first_line = browser_page.locator("body > p").first.inner_text()
    assert first_line.endswith(
        "3 notebooks, 1 identical, 1 skipped (unchanged), 1 not verified (stopped by --fail-fast)"
    )
    assert browser_page.locator("table.summary .badge.verdict-skipped").is_visible()
    browser_page.screenshot(path=str(tmp_path / "html-report-skipped.png"), full_page=True)
    keep = os.environ.get("REPRO_MAGICS_SCREENSHOTS")
    if keep:
        shutil.copy(tmp_path / "html-report-skipped.png", Path(keep) / "html-report-skipped.png")
