"""The page: a `string.Template` skeleton with inline CSS, filled with escaped text and inline SVG.

Every piece of text from a notebook, a ledger or an error passes through
`html.escape`; only the SVG that `plots` made is inserted as markup.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from string import Template

from ...compare.agreement import DIVERGED, IDENTICAL, WITHIN_TOLERANCE
from ...verify.verdicts import CellOutcome, CellVerdict
from ...verify.verification import NOTHING_RECORDED
from ...words import agreeing, counted
from .gather import RECORDED, ArrayComparison, ElementCounts, NotebookSection, TrainingCurves

#: The page's `generator`: what tells an earlier report, which `--html` may replace, from any other file.
GENERATOR = "repro-verify"

_PAGE = Template("""\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="$generator">
<title>$title</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 1.5rem 2rem;
       color: #1d1d1f; max-width: 1200px; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 0; } h3 { font-size: 1rem; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .85rem; }
pre.command { background: #f2f2f4; padding: .4rem .6rem; border-radius: 4px; white-space: pre-wrap; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f6f8; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-weight: 600; font-size: .8rem;
         color: #fff; background: #777; white-space: nowrap; }
.badge.verdict-diverged { background: #c62828; } .badge.verdict-failed-to-run { background: #6a1b9a; }
.badge.verdict-identical { background: #2e7d32; } .badge.verdict-within-tolerance { background: #ef6c00; }
.badge.verdict-recorded { background: #1565c0; }
.badge.verdict-not-recorded, .badge.verdict-not-run { background: #9e9e9e; }
.badge.verdict-nothing-recorded { background: #795548; }
.badge.verdict-skipped { background: #607d8b; } .badge.verdict-not-verified { background: #9e9e9e; }
tr.verdict-skipped td, tr.verdict-not-verified td { color: #555; }
section.notebook { border-left: 6px solid #999; padding: .6rem 1rem; margin: 1.2rem 0; background: #fcfcfd; }
section.verdict-diverged { border-color: #c62828; } section.verdict-identical { border-color: #2e7d32; }
section.verdict-failed-to-run { border-color: #6a1b9a; } section.verdict-within-tolerance { border-color: #ef6c00; }
tr.cell-diverged td { background: #fdecea; } tr.cell-failed-to-run td { background: #f3e5f5; }
tr.first-difference td { background: #f8c9c4; font-weight: 600; }
.badge.origin { background: #4e342e; } tr.origin:not(.first-difference) td { background: #efebe9; font-weight: 600; }
tr.first-difference td:first-child::before { content: "\\25B6\\00a0"; color: #c62828; }
tr.cell-not-run td, tr.cell-not-recorded td { color: #888; }
tr.changed td { background: #fff3cd; font-weight: 600; }
.failure { background: #f3e5f5; border: 1px solid #6a1b9a; padding: .4rem .7rem; border-radius: 4px; }
figure { margin: .5rem 0 1rem; } figcaption { font-size: .85rem; color: #444; margin-bottom: .2rem; }
figure svg { max-width: 100%; height: auto; }
.note { color: #666; font-size: .85rem; }
details > summary { cursor: pointer; color: #444; }
</style>
</head>
<body>
<h1>$title</h1>
<p>$overall</p>
<pre class="command">$command</pre>
<table class="summary">
<thead><tr><th>notebook</th><th>verdict</th><th>runs</th><th>time</th><th>cells compared</th>
<th>numbers compared</th></tr></thead>
<tbody>
$summary_rows
</tbody>
</table>
$notebooks
<p class="note">$footer</p>
</body>
</html>
""")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def verdict_class(verdict: str) -> str:
    return "verdict-" + "-".join(verdict.split())


def _badge(verdict: str) -> str:
    return f'<span class="badge {verdict_class(verdict)}">{_e(verdict)}</span>'


def _table(headers: Iterable[str], rows: Iterable[str], css: str) -> str:
    head = "".join(f"<th>{_e(header)}</th>" for header in headers)
    return f'<table class="{css}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def _summary_row(number: int, section: NotebookSection) -> str:
    return (
        f'<tr class="{verdict_class(section.verdict)}"><td><a href="#notebook-{number}">{_e(section.path)}</a></td>'
        f"<td>{_badge(section.verdict)}</td><td class=number>{section.runs}</td>"
        f"<td class=number>{section.seconds:.1f} s</td><td class=number>{section.cells_compared}</td>"
        f"<td class=number>{section.numbers_compared}</td></tr>"
    )


def unverified_row(path: str, badge: str, words: str) -> str:
    """A summary row for a notebook on the command line that did not run: `--changed` skipped it, or
    `--fail-fast` stopped before it."""
    return (
        f'<tr class="{verdict_class(badge)}"><td>{_e(path)}</td><td>{_badge(badge)}</td>'
        f"<td colspan=4>{_e(words)}</td></tr>"
    )


def _cell_row(row: CellOutcome) -> str:
    verdict = row.verdict.value
    classes = [f"cell-{'-'.join(verdict.split())}"] + (["first-difference"] if row.is_first_difference else [])
    classes += ["origin"] if row.origin else []
    origin_badge = (
        ' <span class="badge origin" title="the states of the runs first differ after this cell">origin</span>'
    )
    number = "" if row.number is None else str(row.number)
    # The table's last column is the first difference: a diverged cell's, or the failure of a failed one.
    difference = row.detail if row.verdict in {CellVerdict.DIVERGED, CellVerdict.FAILED} else ""
    if row.origin and not difference:
        # A plain origin cell shows what differs after it; a recorded one already shows its values.
        difference = row.origin.removeprefix("origin: ")
    return (
        f'<tr class="{" ".join(classes)}" data-cell-id="{_e(row.cell_id or "")}"><td class=number>{number}</td>'
        f'<td class="mono">{_e(row.cell_id or "")}</td><td class="mono">{_e(row.first_line)}</td>'
        f"<td>{_badge(verdict)}{origin_badge if row.origin else ''}</td>"
        f'<td class="mono">{_e(difference)}</td></tr>'
    )


def _curves_figure(curves: TrainingCurves, svg: str) -> str:
    epoch = "" if curves.first_differing_epoch is None else str(curves.first_differing_epoch)
    caption = f"{_e(curves.title)}: {_badge(curves.verdict)}"
    if curves.first_differing_epoch is not None:
        caption += f" first differing epoch: <strong>{curves.first_differing_epoch}</strong>"
    return (
        f'<figure class="curves {verdict_class(curves.verdict)}" data-first-differing-epoch="{epoch}">'
        f"<figcaption>{caption}</figcaption>{svg}</figure>"
    )


def _curves(section: NotebookSection, curve_svg: Callable[[TrainingCurves], str | None]) -> list[str]:
    parts, undrawn = [], []
    for curves in section.curves:
        svg = curve_svg(curves)
        if svg is None:
            undrawn.append(f"{curves.title} ({curves.verdict})")
        else:
            parts.append(_curves_figure(curves, svg))
    if undrawn:
        parts.append(f'<p class="note undrawn">Not drawn ({len(undrawn)}): {_e("; ".join(undrawn))}.</p>')
    return parts


def array_verdict(array: ArrayComparison) -> str:
    if any(c.different or c.by_fingerprint_different for c in array.counts):
        return DIVERGED
    return WITHIN_TOLERANCE if any(c.within_tolerance for c in array.counts) else IDENTICAL


#: Above this many arrays in a notebook, those whose runs agree bit for bit share one row of the table.
_ARRAYS_LISTED = 12


def _counts_cells(label: str, counts: list[ElementCounts]) -> str:
    total = ElementCounts(label)
    for c in counts:
        total.equal += c.equal
        total.within_tolerance += c.within_tolerance
        total.different += c.different
        total.by_fingerprint_equal += c.by_fingerprint_equal
        total.by_fingerprint_different += c.by_fingerprint_different
    return (
        f"<td class=number>{total.equal}</td><td class=number>{total.within_tolerance}</td>"
        f"<td class=number>{total.different}</td>"
        f"<td class=number>{total.by_fingerprint_equal} equal, {total.by_fingerprint_different} different</td>"
    )


def _arrays(section: NotebookSection, array_svg: Callable[[ArrayComparison], str | None]) -> list[str]:
    listed = section.arrays
    collapsed: list[ArrayComparison] = []
    if len(section.arrays) > _ARRAYS_LISTED:
        listed = [array for array in section.arrays if array_verdict(array) != IDENTICAL]
        collapsed = [array for array in section.arrays if array_verdict(array) == IDENTICAL]
    rows = []
    for array in listed:
        verdict = array_verdict(array)
        for counts in array.counts:
            rows.append(
                f'<tr class="array-{"-".join(verdict.split())}" data-array="{_e(array.title)}">'
                f'<td class="mono">{_e(array.title)}</td><td>{_e(counts.label)} vs {_e(array.reference)}</td>'
                f"{_counts_cells(counts.label, [counts])}<td>{_badge(verdict)}</td></tr>"
            )
    if collapsed:
        more = counted(len(collapsed), "more array or model", "more arrays and models")
        rows.append(
            f'<tr class="array-identical"><td>{more}, bit for bit the same</td>'
            f"<td>every run vs {_e(collapsed[0].reference)}</td>"
            f"{_counts_cells('', [c for array in collapsed for c in array.counts])}<td>{_badge(IDENTICAL)}</td></tr>"
        )
    headers = ("recorded", "compared", "equal elements", "within tolerance", "different", "by fingerprint", "verdict")
    parts = [_table(headers, rows, "arrays")]
    for array in listed:
        svg = array_svg(array)
        if svg is not None:
            parts.append(
                f'<figure class="differences"><figcaption>{_e(array.title)}: how far the elements moved</figcaption>'
                f"{svg}</figure>"
            )
    return parts


def _environment(section: NotebookSection) -> str:
    if not section.environment:
        return ""
    rows = [
        f'<tr class="{"changed" if row.changed else "same"}"><td class="mono">{_e(row.name)}</td>'
        + "".join(f'<td class="mono">{_e(value)}</td>' for value in row.values)
        + "</tr>"
        for row in section.environment
    ]
    changed = sum(row.changed for row in section.environment)
    summary = (
        f"{counted(changed, 'entry', 'entries')} {agreeing(changed, 'differs', 'differ')}"
        if changed
        else "the same on every side"
    )
    table = _table(("environment", *section.environment_labels), rows, "environment")
    opened = " open" if changed else ""
    return f"<details{opened}><summary>Environment: {_e(summary)}</summary>{table}</details>"


def notebook_html(
    number: int,
    section: NotebookSection,
    curve_svg: Callable[[TrainingCurves], str | None],
    array_svg: Callable[[ArrayComparison], str | None],
) -> str:
    parts = [
        f'<section class="notebook {verdict_class(section.verdict)}" id="notebook-{number}" '
        f'data-verdict="{_e(section.verdict)}">',
        f"<h2>{_e(section.path)} {_badge(section.verdict)}</h2>",
        '<pre class="command">' + _e("\n".join(section.lines)) + "</pre>",
    ]
    if section.failure:
        parts.append(f'<p class="failure">{_e(section.failure)}</p>')
    parts.append("<h3>Code cells</h3>")
    parts.append(
        _table(
            ("cell", "id", "first line", "verdict", "first difference"),
            (_cell_row(row) for row in section.cells),
            "cells",
        )
    )
    if section.curves:
        parts.append(f"<h3>Training curves ({_e(', '.join(section.sides))})</h3>")
        parts += _curves(section, curve_svg)
    if section.arrays:
        parts.append("<h3>Arrays and weights</h3>")
        parts += _arrays(section, array_svg)
    parts.append(_environment(section))
    parts.append("</section>")
    return "\n".join(part for part in parts if part)


def page_html(
    *,
    title: str,
    overall: str,
    command: str,
    sections: list[NotebookSection],
    notebooks: list[str],
    footer: str,
    unverified_rows: Iterable[str] = (),
) -> str:
    return _PAGE.substitute(
        generator=GENERATOR,
        title=_e(title),
        overall=overall,
        command=_e(command),
        summary_rows="\n".join(
            [_summary_row(number, section) for number, section in enumerate(sections, start=1)] + list(unverified_rows)
        ),
        notebooks="\n".join(notebooks),
        footer=_e(footer),
    )


def overall_text(exit_status: int, sections: list[NotebookSection], skipped: int = 0, not_verified: int = 0) -> str:
    """The line under the title: the worst verdict, the exit status, and how many notebooks got which verdict."""
    counts: dict[str, int] = {}
    for section in sections:
        counts[section.verdict] = counts.get(section.verdict, 0) + 1
    parts = [f"{count} {_e(verdict)}" for verdict, count in counts.items()]
    parts += [f"{skipped} skipped (unchanged)"] if skipped else []
    parts += [f"{not_verified} not verified (stopped by --fail-fast)"] if not_verified else []
    order = (CellVerdict.FAILED.value, DIVERGED, WITHIN_TOLERANCE, NOTHING_RECORDED, RECORDED, IDENTICAL)
    # A page on which nothing ran claims no verdict: its badge says why nothing ran.
    nothing_ran = "skipped" if skipped else "not verified"
    worst = next((verdict for verdict in order if verdict in counts), next(iter(counts), nothing_ran))
    total = counted(len(sections) + skipped + not_verified, "notebook")
    listed = "".join(f", {part}" for part in parts)
    return f"{_badge(worst)} exit status <strong>{exit_status}</strong>: {total}{listed}"
