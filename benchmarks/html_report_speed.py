"""4d. `repro-verify --html` for 100 notebooks of 50 recorded cells, against the JSON report of the same results."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

from repro_magics.compare.agreement import Tolerance
from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.ledger.store import Ledger
from repro_magics.notebooks import CodeCell
from repro_magics.report.html import html_report
from repro_magics.report.text import report_json
from repro_magics.verify.runner import NotebookRun
from repro_magics.verify.verification import NotebookVerification

from .config import Config
from .ledger_scale import build_ledger
from .results import Goal, Row, Section
from .timing import interleaved, median, ratio

#: One notebook in this many diverges, at one cell's third epoch: what a report of a nightly CI run looks like.
DIVERGING_EVERY = 20


def _verification(number: int, baseline: Ledger, cells: int) -> NotebookVerification:
    """A notebook verified against its ledger: one fresh run, identical or parting at one cell."""
    fresh = copy.deepcopy(baseline)
    if number % DIVERGING_EVERY == 0:
        record = fresh.records[random.Random(number).randrange(cells)]
        loss = record["histories"][0]["metrics"]["loss"]
        loss[2:] = [value * 1.01 for value in loss[2:]]
        weights = record["values"]["weights"]["values"]
        record["values"]["weights"]["values"] = [value + 1e-3 for value in weights]
    notebook = Path(f"notebook-{number:03d}.ipynb")
    result = NotebookVerification(
        notebook,
        notebook.with_suffix(".repro.json"),
        had_ledger=True,
        baseline=baseline,
        code_cells=[
            CodeCell(record["cell_number"], record["cell_id"], record["source_first_line"], "")
            for record in baseline.records
        ],
    )
    result.runs.append(NotebookRun(notebook, fresh, None, 12.5, cells))
    result.comparisons.append(compare_ledgers(baseline, fresh, new_label="run 1"))
    return result


def run_benchmark(config: Config) -> Section:
    section = Section("4d html report")
    baseline = build_ledger(config.html_cells)
    results = [_verification(number, baseline, config.html_cells) for number in range(1, config.html_notebooks + 1)]
    tolerance = Tolerance()
    status = 1
    sizes = []

    def html() -> None:
        sizes.append(len(html_report(results, status, tolerance, "repro-verify notebook-*.ipynb --html report.html")))

    def as_json() -> None:
        json.dumps(report_json(results, status, tolerance), indent=1)

    html()  # the first page imports matplotlib and warms its font cache
    samples = interleaved({"html": html, "json": as_json}, config.html_repeats)
    count = f"{config.html_notebooks} notebooks x {config.html_cells} cells"
    section.rows += [
        # The goal is for the full size; smoke mode's smaller page only shows that the benchmark runs.
        Row(f"HTML report, {count}", median(samples["html"]), "s", None if config.smoke else Goal("<=", 2.0)),
        Row("HTML report / JSON report of the same results", ratio(samples["html"], samples["json"]), "x"),
        Row("HTML report size", sizes[-1] / 1e6, "MB"),
    ]
    section.details = {
        "notebooks": config.html_notebooks,
        "cells_per_notebook": config.html_cells,
        "diverging_notebooks": sum(result.verdict == "diverged" for result in results),
        "page_bytes": sizes[-1],
        "seconds": samples,
    }
    return section
