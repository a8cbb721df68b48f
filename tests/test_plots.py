"""The report's plots as SVG, without a browser: markers on short curves, tick labels that are the values.

What Chromium makes of them (every marker visible, no label cut off) is checked in test_html_report.py.
"""

from __future__ import annotations

import re

import pytest

from repro_magics.report.html.gather import Curve, TrainingCurves
from repro_magics.report.html.plots import FEW_EPOCHS, curves_svg

pytest.importorskip("matplotlib", reason="the plots need matplotlib (the report extra)")

REFERENCE_FILL, FIRST_RUN_FILL = "fill: #222222", "fill: #1f77b4"


def _curves(reference: list[float], run: list[float], first_differing_epoch: int | None) -> TrainingCurves:
    verdict = "identical" if first_differing_epoch is None else "diverged"
    epochs = list(range(1, len(reference) + 1))
    metrics = {"loss": [Curve("run 1", reference), Curve("run 2", run)]}
    return TrainingCurves("cell 1 (id a)", 1, epochs, metrics, first_differing_epoch, verdict)


def _data_markers(svg: str) -> list[str]:
    """The style of each marker drawn in the plot (not in its legend)."""
    plot = svg.split('<g id="legend_1">')[0]
    return re.findall(r'<use [^>]*style="([^"]*fill: #[0-9a-f]{6}[^"]*)"', plot)


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text [^>]*>([^<]*)</text>", svg)


@pytest.mark.parametrize("first_differing_epoch", [None, 1])
def test_when_a_history_has_one_epoch_then_each_run_is_drawn_as_a_marker(first_differing_epoch: int | None) -> None:
    run = [0.6931] if first_differing_epoch is None else [0.7012]
    markers = _data_markers(curves_svg(_curves([0.6931], run, first_differing_epoch)))
    assert [style.split(";")[0] for style in markers] == [REFERENCE_FILL, FIRST_RUN_FILL]


def test_when_a_history_has_many_epochs_then_its_curves_are_lines_without_markers() -> None:
    values = [1 / epoch for epoch in range(1, FEW_EPOCHS + 2)]
    assert _data_markers(curves_svg(_curves(values, values, None))) == []


def test_when_values_differ_by_a_millionth_then_the_ticks_are_the_values_without_an_offset() -> None:
    svg = curves_svg(_curves([2.532012, 2.53201, 2.532008], [2.532012, 2.532011, 2.532009], 2))
    texts = _texts(svg)
    ticks = [text for text in texts if re.fullmatch(r"2\.53\d+", text)]
    assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), texts
    assert not [text for text in texts if re.search(r"1e|\+|\u00d7", text)], texts
