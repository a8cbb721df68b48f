"""Static SVG pictures from matplotlib, to inline in a page: no script, no font, no address outside it.

Figures are made with `matplotlib.figure.Figure`, never `pyplot`, so that
drawing changes no backend or global state of the process (a notebook
kernel's own plots stay as they were).
"""

from __future__ import annotations

import io
import itertools
import math
import re
from typing import Any

import numpy as np

from ...exceptions import PlottingMissing
from ...words import agreeing, counted
from .gather import ArrayComparison, TrainingCurves

INSTALL_HINT = 'pip install "repro-magics[report]"'

#: The reference (ledger, or run 1) is drawn thick and grey; each run in its own colour, dashed, on top.
#: Red is kept for the parting, so that it stands out.
_REFERENCE_STYLE = {"color": "#222222", "linewidth": 3.0, "alpha": 0.45}
_RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
#: A curve of this many epochs or fewer gets a marker at each epoch: a single point draws no line at all,
#: and on a short curve the markers show where the epochs are. The reference's wide disc stays visible
#: around a run's smaller marker when the two coincide.
FEW_EPOCHS = 12
_REFERENCE_MARKER = {"marker": "o", "markersize": 9, "zorder": 3}
_RUN_MARKERS = ("s", "^", "D", "v", "P", "X")
_PARTED = "#d62728"
#: matplotlib types its settings by name; these are plain settings, so `Any`.
_RC: Any = {
    # Text stays text: smaller than glyph outlines, and the page's own sans-serif font draws it.
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    # Labels are the user's text (metric names, from any callback): "$...$" is drawn as it is, never as
    # mathtext, which would fail on a name matplotlib cannot parse, or draw another name than the one recorded.
    "text.parse_math": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_salt = itertools.count()


def require_matplotlib() -> None:
    """Raise `PlottingMissing` (one sentence) unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlottingMissing(
            f"the HTML report draws its plots with matplotlib, which is not installed; install it with {INSTALL_HINT}"
        ) from None


def _svg(figure: Any) -> str:
    import matplotlib

    buffer = io.StringIO()
    # A salt of our own makes the ids of clip paths and markers unique among the figures of one page.
    settings: Any = {**_RC, "svg.hashsalt": f"repro-{next(_salt)}"}
    with matplotlib.rc_context(settings):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    # Inline SVG needs neither the XML prologue nor namespace declarations, which name outside addresses.
    text = text[text.index("<svg") :]
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text, count=2)


def _figure(width: float, height: float) -> Any:
    import matplotlib
    from matplotlib.figure import Figure

    # No layout engine: it draws each figure a second time to measure it, twice the cost of a page's
    # figures; `_fit_margins` measures the one thing that varies, the y tick labels, without drawing.
    # 72 dots per inch, as the SVG is drawn: the y ticks, which depend on the axes' height in dots, are
    # then the same when `_fit_margins` measures them as when the figure is saved.
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), dpi=72)


#: Room from a y tick label to the next thing on its left, in points, besides the label: the tick and
#: its pad (3.5 + 3.5), and a margin for a reader whose sans-serif font is wider than DejaVu Sans,
#: the font matplotlib measures with.
_TICK_ROOM = 12.0
#: Room on the right of the last panel, in points, for half a last x tick label.
_RIGHT_ROOM = 10.0


def _widest_y_label(axes: Any, size: float) -> float:
    """The width, in points, of the widest y tick label that drawing `axes` will show (measured, not drawn)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    # As matplotlib draws them: labels formatted from every location, shown where inside the limits.
    low, high = sorted(axes.get_ylim())
    locations = list(axes.yaxis.get_major_locator()())
    labels = axes.yaxis.get_major_formatter().format_ticks(locations)
    font = FontProperties(size=size)
    shown = [label for location, label in zip(locations, labels, strict=True) if low <= location <= high]
    return max((text_to_path.get_text_width_height_descent(label, font, ismath=False)[0] for label in shown), default=0)


def _fit_margins(
    figure: Any, columns: int, *, top: float, bottom: float, label_size: float, y_label: float = 0.0
) -> None:
    """Margins that hold the y tick labels whole: left of the first column and between columns.

    `top` and `bottom` are set first, since the axes' height decides the y ticks; `y_label` is the
    room, in points, that an axis label beside the ticks takes.
    """
    figure.subplots_adjust(top=top, bottom=bottom, hspace=0.6)
    shown = [axes for axes in figure.axes if axes.get_visible()]
    room = max(_widest_y_label(axes, label_size) for axes in shown) + _TICK_ROOM + y_label
    width = figure.get_figwidth() * 72
    left, right = room / width, 1 - _RIGHT_ROOM / width
    gap = room + _RIGHT_ROOM
    axes_width = ((right - left) * width - (columns - 1) * gap) / columns
    figure.subplots_adjust(left=left, right=right, wspace=gap / axes_width)


def _plain_values(axis: Any) -> None:
    """Tick labels that are the values themselves: no offset (`1e-5+2.532`) and no `1e-5` multiplier.

    matplotlib's formatter still chooses as many decimals as tell the ticks apart.
    """
    from matplotlib.ticker import ScalarFormatter

    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)


def curves_svg(curves: TrainingCurves) -> str:
    """Every metric of one history, one panel each: the reference and each run overlaid, the parting marked."""
    import matplotlib

    metrics = list(curves.metrics.items())
    columns = min(len(metrics), 3)
    rows = math.ceil(len(metrics) / columns)
    figure = _figure(3.4 * columns, 2.3 * rows)
    few = len(curves.epochs) <= FEW_EPOCHS
    with matplotlib.rc_context(_RC):
        grid = figure.subplots(rows, columns, squeeze=False)
        for axes, (metric, lines) in zip(grid.flat, metrics, strict=False):
            for number, line in enumerate(lines):
                epochs = curves.epochs[: len(line.values)]
                if number == 0:
                    markers = _REFERENCE_MARKER if few else {}
                    axes.plot(epochs, line.values, label=line.label, **_REFERENCE_STYLE, **markers)
                else:
                    colour = _RUN_COLOURS[(number - 1) % len(_RUN_COLOURS)]
                    marker = _RUN_MARKERS[(number - 1) % len(_RUN_MARKERS)]
                    markers = {"marker": marker, "markersize": 5, "zorder": 4} if few else {}
                    axes.plot(
                        epochs, line.values, label=line.label, color=colour, linewidth=1.4, linestyle="--", **markers
                    )
            if curves.first_differing_epoch is not None:
                axes.axvspan(curves.first_differing_epoch - 0.5, curves.epochs[-1] + 0.5, color=_PARTED, alpha=0.08)
                axes.axvline(curves.first_differing_epoch, color=_PARTED, linewidth=1.2)
            axes.set_title(metric, loc="left", fontweight="bold")
            axes.set_xlabel("epoch")
            _plain_values(axes.yaxis)
            if few:
                axes.set_xticks(curves.epochs)
                # Room on every side, so that no marker is cut in half by the edge of the axes.
                axes.set_xlim(curves.epochs[0] - 0.5, curves.epochs[-1] + 0.5)
                axes.margins(y=0.15)
        for axes in list(grid.flat)[len(metrics) :]:
            axes.set_visible(False)
        grid.flat[0].legend(frameon=False, fontsize=8)
        if curves.first_differing_epoch is not None:
            figure.suptitle(
                f"first difference at epoch {curves.first_differing_epoch}", color=_PARTED, fontweight="bold"
            )
        top = 1 - (0.55 if curves.first_differing_epoch is not None else 0.3) / (2.3 * rows)
        _fit_margins(figure, columns, top=top, bottom=0.5 / (2.3 * rows), label_size=_RC["font.size"])
    return _svg(figure)


def differences_svg(array: ArrayComparison) -> str:
    """A histogram of log10 |run - reference| over the elements that differ, one colour per run."""
    import matplotlib

    figure = _figure(5.0, 2.2)
    with matplotlib.rc_context(_RC):
        axes = figure.subplots()
        for number, (label, differences) in enumerate(array.differences):
            nonzero = np.abs(differences[differences != 0])
            if nonzero.size:
                differing = f"{counted(nonzero.size, 'element')} {agreeing(nonzero.size, 'differs', 'differ')}"
                axes.hist(
                    np.log10(nonzero),
                    bins=40,
                    alpha=0.6,
                    color=_RUN_COLOURS[number % len(_RUN_COLOURS)],
                    label=f"{label} - {array.reference} ({differing})",
                )
        axes.set_xlabel("log10 |difference| per element")
        axes.set_ylabel("elements")
        _plain_values(axes.xaxis)
        axes.legend(frameon=False, fontsize=8)
        # The rotated "elements" beside the ticks: a line of text and matplotlib's label pad of 4 points.
        _fit_margins(figure, 1, top=0.95, bottom=0.22, label_size=_RC["font.size"], y_label=1.2 * _RC["font.size"] + 4)
    return _svg(figure)


def sparkline_svg(metrics: dict[str, list[float]]) -> str:
    """A small picture of one history: each metric's curve, for the ledger view in a notebook."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    figure = _figure(2.4, 0.9)
    small: Any = {**_RC, "font.size": 7}
    with matplotlib.rc_context(small):
        axes = figure.subplots()
        for number, (metric, values) in enumerate(sorted(metrics.items())):
            epochs = list(range(1, len(values) + 1))
            axes.plot(epochs, values, color=_RUN_COLOURS[number % len(_RUN_COLOURS)], linewidth=1.2, label=metric)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(labelsize=6, length=2)
        _plain_values(axes.yaxis)
        axes.legend(frameon=False, fontsize=6, loc="best")
        _fit_margins(figure, 1, top=0.95, bottom=0.2, label_size=6)
    return _svg(figure)
