"""`repro-verify --html PATH`: one self-contained page for a whole invocation.

The page opens from disk or as a CI artifact with no network: its styles are
inline, its plots are static SVG drawn by matplotlib (the `report` extra),
and it names no outside address.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ...compare.agreement import DIVERGED, WITHIN_TOLERANCE, Tolerance
from ...exceptions import PlotNotDrawn, PlottingMissing
from ...ledger.store import atomic_write_text
from ...plotting import INSTALL_HINT, require_matplotlib
from ...verify.verification import NotebookVerification
from ...words import agreeing, counted
from .gather import ArrayComparison, NotebookSection, TrainingCurves, notebook_section
from .plots import curves_svg, differences_svg
from .render import GENERATOR, notebook_html, overall_text, page_html, unverified_row

__all__ = [
    "INSTALL_HINT",
    "PlotNotDrawn",
    "PlottingMissing",
    "html_report",
    "is_html_report",
    "require_matplotlib",
    "write_html_report",
]

#: Figures drawn per page, at most. Each costs tens of milliseconds, so a page for a hundred notebooks
#: draws the curves and histograms that show a difference first, and identical curves while room is left.
MAX_FIGURES = 20


def _choose_drawn(sections: list[NotebookSection]) -> set[int]:
    """The ids of the curves and arrays to draw, differences first, then in page order."""
    differing: list[TrainingCurves | ArrayComparison] = []
    agreeing: list[TrainingCurves | ArrayComparison] = []
    for section in sections:
        for curves in section.curves:
            parted = curves.verdict in {DIVERGED, WITHIN_TOLERANCE}
            (differing if parted else agreeing).append(curves)
        # An array whose runs agree bit for bit has no difference to draw.
        differing += [array for array in section.arrays if array.any_different and array.differences]
    return {id(item) for item in (differing + agreeing)[:MAX_FIGURES]}


def html_report(
    results: list[NotebookVerification],
    exit_status: int,
    tolerance: Tolerance,
    command: str,
    *,
    skipped: Mapping[Path, str] | None = None,
    not_verified: Sequence[Path] = (),
) -> str:
    """The page for `results`, as text; the notebooks `--changed` skipped (path -> time of the verification
    that holds) and those `--fail-fast` stopped before get a row of the summary each.

    Raises `PlottingMissing` without matplotlib, and `PlotNotDrawn` for a figure matplotlib fails to draw.
    """
    require_matplotlib()
    sections = [notebook_section(result, tolerance) for result in results]
    drawn = _choose_drawn(sections)
    not_drawn = 0

    def curve_svg(curves: TrainingCurves) -> str | None:
        nonlocal not_drawn
        if id(curves) in drawn:
            return _drawn(f"the curves of {curves.title}", lambda: curves_svg(curves))
        not_drawn += 1
        return None

    def array_svg(array: ArrayComparison) -> str | None:
        if id(array) not in drawn:
            return None
        return _drawn(f"the differences of {array.title}", lambda: differences_svg(array))

    notebooks = [notebook_html(number, section, curve_svg, array_svg) for number, section in enumerate(sections, 1)]
    footer = f"Written by repro-verify at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}."
    if not_drawn:
        footer += (
            f" {counted(not_drawn, 'training history', 'training histories')} "
            f"{agreeing(not_drawn, 'was', 'were')} not drawn: a page draws at most {MAX_FIGURES} figures, "
            "those that show a difference first; their verdicts are in the tables."
        )
    skipped = skipped or {}
    unverified = [unverified_row(str(path), "not verified", "stopped by --fail-fast") for path in not_verified]
    unverified += [unverified_row(str(path), "skipped", f"unchanged since {at}") for path, at in skipped.items()]
    return page_html(
        title="repro-verify report",
        overall=overall_text(exit_status, sections, len(skipped), len(not_verified)),
        command=command,
        sections=sections,
        notebooks=notebooks,
        footer=footer,
        unverified_rows=unverified,
    )


def _drawn(what: str, draw: Callable[[], str]) -> str:
    try:
        # matplotlib warns as it fails (an overflowing axis range); the one line about the report says it all.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return draw()
    except Exception as error:  # matplotlib raises many unrelated types (ValueError, OverflowError, ...)
        raise PlotNotDrawn(f"matplotlib could not draw {what}: {error}") from None


def write_html_report(
    path: Path, results: list[NotebookVerification], exit_status: int, tolerance: Tolerance, command: str
) -> None:
    """Write the page to `path` atomically. Raises `PlottingMissing`, `PlotNotDrawn` or `OSError`."""
    atomic_write_text(path, html_report(results, exit_status, tolerance, command))


def is_html_report(path: Path) -> bool:
    """Whether `path` holds a page this module wrote, which `--html` may replace."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(2048)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">' in head
