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
    """A matplotlib figure of this size (inches), drawn with the shared settings."""
    import matplotlib
    from matplotlib.figure import Figure

    # Fixed margins rather than a layout engine: laying out costs a second drawing of each figure.
    with matplotlib.rc_context(RC):
        return Figure(figsize=(width, height))


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
        axes.legend(frameon=False, fontsize=6, loc="best")
        figure.subplots_adjust(left=0.15, right=0.98, bottom=0.2, top=0.95)
    return figure_svg(figure)
