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
from .gather import ArrayComparison, TrainingCurves

INSTALL_HINT = 'pip install "repro-magics[report]"'

#: The reference (ledger, or run 1) is drawn thick and grey; each run in its own colour, dashed, on top.
#: Red is kept for the parting, so that it stands out.
_REFERENCE_STYLE = {"color": "#222222", "linewidth": 3.0, "alpha": 0.45}
_RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
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

    # Fixed margins rather than a layout engine: laying out costs a second drawing of each figure.
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height))


def curves_svg(curves: TrainingCurves) -> str:
    """Every metric of one history, one panel each: the reference and each run overlaid, the parting marked."""
    import matplotlib

    metrics = list(curves.metrics.items())
    columns = min(len(metrics), 3)
    rows = math.ceil(len(metrics) / columns)
    figure = _figure(3.4 * columns, 2.3 * rows)
    with matplotlib.rc_context(_RC):
        grid = figure.subplots(rows, columns, squeeze=False)
        for axes, (metric, lines) in zip(grid.flat, metrics, strict=False):
            for number, line in enumerate(lines):
                epochs = curves.epochs[: len(line.values)]
                if number == 0:
                    axes.plot(epochs, line.values, label=line.label, **_REFERENCE_STYLE)
                else:
                    colour = _RUN_COLOURS[(number - 1) % len(_RUN_COLOURS)]
                    axes.plot(epochs, line.values, label=line.label, color=colour, linewidth=1.4, linestyle="--")
            if curves.first_differing_epoch is not None:
                axes.axvspan(curves.first_differing_epoch - 0.5, curves.epochs[-1] + 0.5, color=_PARTED, alpha=0.08)
                axes.axvline(curves.first_differing_epoch, color=_PARTED, linewidth=1.2)
            axes.set_title(metric, loc="left", fontweight="bold")
            axes.set_xlabel("epoch")
            if len(curves.epochs) <= 12:
                axes.set_xticks(curves.epochs)
        for axes in list(grid.flat)[len(metrics) :]:
            axes.set_visible(False)
        top = 1 - (0.55 if curves.first_differing_epoch is not None else 0.3) / (2.3 * rows)
        figure.subplots_adjust(left=0.1, right=0.97, bottom=0.5 / (2.3 * rows), top=top, wspace=0.3, hspace=0.6)
        grid.flat[0].legend(frameon=False, fontsize=8)
        if curves.first_differing_epoch is not None:
            figure.suptitle(
                f"first difference at epoch {curves.first_differing_epoch}", color=_PARTED, fontweight="bold"
            )
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
                axes.hist(
                    np.log10(nonzero),
                    bins=40,
                    alpha=0.6,
                    color=_RUN_COLOURS[number % len(_RUN_COLOURS)],
                    label=f"{label} - {array.reference} ({nonzero.size} elements differ)",
                )
        axes.set_xlabel("log10 |difference| per element")
        axes.set_ylabel("elements")
        axes.legend(frameon=False, fontsize=8)
        figure.subplots_adjust(left=0.12, right=0.97, bottom=0.22, top=0.95)
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
        axes.legend(frameon=False, fontsize=6, loc="best")
        figure.subplots_adjust(left=0.15, right=0.98, bottom=0.2, top=0.95)
    return _svg(figure)
