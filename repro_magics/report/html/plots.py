"""Static SVG pictures from matplotlib, to inline in a page: no script, no font, no address outside it.

Figures are made with `matplotlib.figure.Figure`, never `pyplot`, so that
drawing changes no backend or global state of the process (a notebook
kernel's own plots stay as they were).
"""

from __future__ import annotations

import math

import numpy as np

from ...plotting import PARTED, RC, REFERENCE_STYLE, RUN_COLOURS, figure_svg, new_figure
from .gather import ArrayComparison, TrainingCurves


def curves_svg(curves: TrainingCurves) -> str:
    """Every metric of one history, one panel each: the reference and each run overlaid, the parting marked."""
    import matplotlib

    metrics = list(curves.metrics.items())
    columns = min(len(metrics), 3)
    rows = math.ceil(len(metrics) / columns)
    figure = new_figure(3.4 * columns, 2.3 * rows)
    with matplotlib.rc_context(RC):
        grid = figure.subplots(rows, columns, squeeze=False)
        for axes, (metric, lines) in zip(grid.flat, metrics, strict=False):
            for number, line in enumerate(lines):
                epochs = curves.epochs[: len(line.values)]
                if number == 0:
                    axes.plot(epochs, line.values, label=line.label, **REFERENCE_STYLE)
                else:
                    colour = RUN_COLOURS[(number - 1) % len(RUN_COLOURS)]
                    axes.plot(epochs, line.values, label=line.label, color=colour, linewidth=1.4, linestyle="--")
            if curves.first_differing_epoch is not None:
                axes.axvspan(curves.first_differing_epoch - 0.5, curves.epochs[-1] + 0.5, color=PARTED, alpha=0.08)
                axes.axvline(curves.first_differing_epoch, color=PARTED, linewidth=1.2)
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
                f"first difference at epoch {curves.first_differing_epoch}", color=PARTED, fontweight="bold"
            )
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
                axes.hist(
                    np.log10(nonzero),
                    bins=40,
                    alpha=0.6,
                    color=RUN_COLOURS[number % len(RUN_COLOURS)],
                    label=f"{label} - {array.reference} ({nonzero.size} elements differ)",
                )
        axes.set_xlabel("log10 |difference| per element")
        axes.set_ylabel("elements")
        axes.legend(frameon=False, fontsize=8)
        figure.subplots_adjust(left=0.12, right=0.97, bottom=0.22, top=0.95)
    return figure_svg(figure)
