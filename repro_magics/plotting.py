"""Static SVG pictures from matplotlib, to inline in a page or a notebook: no script, no font, no outside address.

The drawing conventions shared by the HTML report (`report/html/plots.py`)
and `%repro_status`'s small training curves. Figures are made with
`matplotlib.figure.Figure`, never `pyplot`, so that drawing changes no backend
or global state of the process (a notebook kernel's own plots stay as they
were).
"""

from __future__ import annotations

import io
import itertools
import re
from typing import Any

from .exceptions import PlottingMissing

INSTALL_HINT = 'pip install "repro-magics[report]"'

#: The reference (ledger, or run 1) is drawn thick and grey; each run in its own colour, dashed, on top.
#: Red is kept for the parting, so that it stands out.
REFERENCE_STYLE = {"color": "#222222", "linewidth": 3.0, "alpha": 0.45}
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")
PARTED = "#d62728"
#: matplotlib types its settings by name; these are plain settings, so `Any`.
RC: Any = {
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


def figure_svg(figure: Any) -> str:
    """The figure as inline SVG text."""
    import matplotlib

    buffer = io.StringIO()
    # A salt of our own makes the ids of clip paths and markers unique among the figures of one page.
    settings: Any = {**RC, "svg.hashsalt": f"repro-{next(_salt)}"}
    with matplotlib.rc_context(settings):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    # Inline SVG needs neither the XML prologue nor namespace declarations, which name outside addresses.
    text = text[text.index("<svg") :]
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text, count=2)


def new_figure(width: float, height: float) -> Any:
    """A matplotlib figure of this size (inches), drawn with the shared settings; give it `fit_margins`."""
    import matplotlib
    from matplotlib.figure import Figure

    # No layout engine: it draws each figure a second time to measure it, twice the cost of a page's
    # figures; `fit_margins` measures the one thing that varies, the y tick labels, without drawing.
    # 72 dots per inch, as the SVG is drawn: the y ticks, which depend on the axes' height in dots, are
    # then the same when `fit_margins` measures them as when the figure is saved.
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height), dpi=72)


def plain_values(axis: Any) -> None:
    """Tick labels that are the values themselves: no offset (`1e-5+2.532`) and no `1e-5` multiplier.

    matplotlib's formatter still chooses as many decimals as tell the ticks apart.
    """
    from matplotlib.ticker import ScalarFormatter

    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)


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


def fit_margins(
    figure: Any, columns: int, *, top: float, bottom: float, label_size: float, y_label: float = 0.0
) -> None:
    """Margins that hold the y tick labels whole: left of the first column and between columns.

    Call it once everything is drawn. `top` and `bottom` are set first, since the axes' height decides
    the y ticks; `y_label` is the room, in points, that an axis label beside the ticks takes.
    """
    figure.subplots_adjust(top=top, bottom=bottom, hspace=0.6)
    shown = [axes for axes in figure.axes if axes.get_visible()]
    room = max(_widest_y_label(axes, label_size) for axes in shown) + _TICK_ROOM + y_label
    width = figure.get_figwidth() * 72
    left, right = room / width, 1 - _RIGHT_ROOM / width
    gap = room + _RIGHT_ROOM
    axes_width = ((right - left) * width - (columns - 1) * gap) / columns
    figure.subplots_adjust(left=left, right=right, wspace=gap / axes_width)


def sparkline_svg(metrics: dict[str, list[float]]) -> str:
    """A small picture of one history: each metric's curve, for the ledger view in a notebook."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    figure = new_figure(2.4, 0.9)
    small: Any = {**RC, "font.size": 7}
    with matplotlib.rc_context(small):
        axes = figure.subplots()
        for number, (metric, values) in enumerate(sorted(metrics.items())):
            epochs = list(range(1, len(values) + 1))
            axes.plot(epochs, values, color=RUN_COLOURS[number % len(RUN_COLOURS)], linewidth=1.2, label=metric)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(labelsize=6, length=2)
        plain_values(axes.yaxis)
        axes.legend(frameon=False, fontsize=6, loc="best")
        fit_margins(figure, 1, top=0.95, bottom=0.2, label_size=6)
    return figure_svg(figure)
