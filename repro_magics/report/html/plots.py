"""Static SVG pictures from matplotlib, to inline in a page: no script, no font, no address outside it.

Figures are made with `matplotlib.figure.Figure`, never `pyplot`, so that
drawing changes no backend or global state of the process (a notebook
kernel's own plots stay as they were).
"""

from __future__ import annotations

import math

import numpy as np

from ...plotting import PARTED, RC, REFERENCE_STYLE, RUN_COLOURS, figure_svg, fit_margins, new_figure, plain_values
from ...words import agreeing, counted
from .gather import ArrayComparison, TrainingCurves

#: A curve of this many epochs or fewer gets a marker at each epoch: a single point draws no line at all,
#: and on a short curve the markers show where the epochs are. The reference's wide disc stays visible
#: around a run's smaller marker when the two coincide.
FEW_EPOCHS = 12
_REFERENCE_MARKER = {"marker": "o", "markersize": 9, "zorder": 3}
_RUN_MARKERS = ("s", "^", "D", "v", "P", "X")


def curves_svg(curves: TrainingCurves) -> str:
    """Every metric of one history, one panel each: the reference and each run overlaid, the parting marked."""
    import matplotlib

    metrics = list(curves.metrics.items())
    columns = min(len(metrics), 3)
    rows = math.ceil(len(metrics) / columns)
    figure = new_figure(3.4 * columns, 2.3 * rows)
    few = len(curves.epochs) <= FEW_EPOCHS
    with matplotlib.rc_context(RC):
        grid = figure.subplots(rows, columns, squeeze=False)
        for axes, (metric, lines) in zip(grid.flat, metrics, strict=False):
            for number, line in enumerate(lines):
                epochs = curves.epochs[: len(line.values)]
                if number == 0:
                    markers = _REFERENCE_MARKER if few else {}
                    axes.plot(epochs, line.values, label=line.label, **REFERENCE_STYLE, **markers)
                else:
                    colour = RUN_COLOURS[(number - 1) % len(RUN_COLOURS)]
                    marker = _RUN_MARKERS[(number - 1) % len(_RUN_MARKERS)]
                    markers = {"marker": marker, "markersize": 5, "zorder": 4} if few else {}
                    axes.plot(
                        epochs, line.values, label=line.label, color=colour, linewidth=1.4, linestyle="--", **markers
                    )
            if curves.first_differing_epoch is not None:
                axes.axvspan(curves.first_differing_epoch - 0.5, curves.epochs[-1] + 0.5, color=PARTED, alpha=0.08)
                axes.axvline(curves.first_differing_epoch, color=PARTED, linewidth=1.2)
            axes.set_title(metric, loc="left", fontweight="bold")
            axes.set_xlabel("epoch")
            plain_values(axes.yaxis)
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
                f"first difference at epoch {curves.first_differing_epoch}", color=PARTED, fontweight="bold"
            )
        top = 1 - (0.55 if curves.first_differing_epoch is not None else 0.3) / (2.3 * rows)
        fit_margins(figure, columns, top=top, bottom=0.5 / (2.3 * rows), label_size=RC["font.size"])
    return figure_svg(figure)


def differences_svg(array: ArrayComparison) -> str:
    """A histogram of log10 |run - reference| over the elements that differ, one colour per run."""
    import matplotlib

    figure = new_figure(5.0, 2.2)
    with matplotlib.rc_context(RC):
        axes = figure.subplots()
        for number, (label, differences) in enumerate(array.differences):
            nonzero = np.abs(differences[differences != 0])
            if nonzero.size:
                differing = f"{counted(nonzero.size, 'element')} {agreeing(nonzero.size, 'differs', 'differ')}"
                axes.hist(
                    np.log10(nonzero),
                    bins=40,
                    alpha=0.6,
                    color=RUN_COLOURS[number % len(RUN_COLOURS)],
                    label=f"{label} - {array.reference} ({differing})",
                )
        axes.set_xlabel("log10 |difference| per element")
        axes.set_ylabel("elements")
        plain_values(axes.xaxis)
        axes.legend(frameon=False, fontsize=8)
        # The rotated "elements" beside the ticks: a line of text and matplotlib's label pad of 4 points.
        fit_margins(figure, 1, top=0.95, bottom=0.22, label_size=RC["font.size"], y_label=1.2 * RC["font.size"] + 4)
    return figure_svg(figure)
