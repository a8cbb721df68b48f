"""The HTML report built from results in the process: a ledger baseline, a tolerance, escaping, many notebooks."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from html_pages import OUTSIDE_ADDRESS, Elements

from repro_magics.compare.agreement import Tolerance
from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.ledger.store import Ledger
from repro_magics.ledger.values import encode_array, encode_value
from repro_magics.notebooks import CodeCell
from repro_magics.report.files import ReportPaths, report_writers
from repro_magics.report.html import MAX_FIGURES, html_report
from repro_magics.report.markdown import markdown_report
from repro_magics.report.text import format_verification, report_json
from repro_magics.verify.runner import NotebookRun

ENVIRONMENT = {"python": "3.11.7", "packages": {"keras": "3.15.1"}}


def record(cell_id: str, number: int, loss: list[float], weights: list[float], line: str = "") -> dict[str, Any]:
    return {
        "cell_id": cell_id,
        "cell_number": number,
        "seed": 1,
        "source_first_line": line or f"%%reproducible seed=1 record=w  # {cell_id}",
        "source_hash": f"{number:016x}",
        "histories": [{"type": "history", "epochs": list(range(len(loss))), "metrics": {"loss": loss}}],
        "values": {"w": encode_array(np.asarray(weights, dtype="float64")), "n": encode_value(3)},
        "environment": "e1",
    }


def verification(name: str, baseline: Ledger, fresh: Ledger, tolerance: Tolerance) -> Any:
    from repro_magics.verify.verification import NotebookVerification

    result = NotebookVerification(Path(name), Path(name).with_suffix(".repro.json"), had_ledger=True, baseline=baseline)
    result.code_cells = [CodeCell(r["cell_number"], r["cell_id"], r["source_first_line"], "") for r in baseline.records]
    result.runs.append(NotebookRun(Path(name), fresh, None, 1.0, len(fresh.records)))
    result.comparisons.append(compare_ledgers(baseline, fresh, tolerance, new_label="run 1"))
    return result


def ledger(*records: dict[str, Any], environment: dict[str, Any] = ENVIRONMENT) -> Ledger:
    return Ledger(list(records), {"e1": environment})


def test_when_a_run_is_within_tolerance_of_the_ledger_then_cell_curve_and_elements_say_within_tolerance() -> None:
    baseline = ledger(record("a", 1, [1.0, 0.5, 0.25], [1.0, 2.0, 3.0]))
    fresh = ledger(record("a", 1, [1.0, 0.5, 0.25 + 1e-12], [1.0, 2.0 + 1e-12, 3.0]))
    tolerance = Tolerance(atol=1e-9)
    page = Elements(html_report([verification("t.ipynb", baseline, fresh, tolerance)], 0, tolerance, "repro-verify"))
    (row,) = page.having("tr", data_cell_id="a")
    assert "cell-within-tolerance" in row.attributes["class"].split()
    (figure,) = page.having("figure", "curves")
    assert figure.attributes["data-first-differing-epoch"] == "" and "within tolerance" in figure.text
    (array,) = page.having("tr", data_array="cell 1 (id a), value 'w'")
    assert "ledger" in array.text and "array-within-tolerance" in array.attributes["class"]
    assert page.cells(array)[1:6] == ["run 1 vs ledger", "2", "1", "0", "0 equal, 0 different"]


def test_when_the_environment_changed_then_its_row_is_highlighted_and_the_table_open() -> None:
    baseline = ledger(record("a", 1, [1.0], [1.0]))
    fresh = ledger(record("a", 1, [2.0], [1.0]), environment={**ENVIRONMENT, "packages": {"keras": "3.16.0"}})
    page = Elements(html_report([verification("e.ipynb", baseline, fresh, Tolerance())], 1, Tolerance(), "x"))
    (changed,) = page.having("tr", "changed")
    assert page.cells(changed) == ["packages.keras", "3.15.1", "3.16.0"]
    assert [page.cells(row) for row in page.having("tr", "same")] == [["python", "3.11.7", "3.11.7"]]
    (details,) = page.having("details")
    assert "open" in details.attributes and "1 entry differs" in details.text


def test_when_text_from_a_notebook_holds_markup_then_the_page_shows_it_as_text() -> None:
    line = '%%reproducible seed=1  # <script>alert("x")</script> <a href="https://example.org">'
    baseline = ledger(record("a", 1, [1.0], [1.0], line))
    fresh = ledger(record("a", 1, [2.0], [1.0], line))
    text = html_report([verification("<b>odd</b>.ipynb", baseline, fresh, Tolerance())], 1, Tolerance(), "x")
    page = Elements(text)
    assert not page.having("script") and not page.having("a", href="https://example.org") and not page.having("b")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    (row,) = page.having("tr", data_cell_id="a")
    assert line in row.text


def test_when_many_notebooks_diverge_then_the_page_draws_the_cap_and_names_every_curve_not_drawn() -> None:
    results = []
    for number in range(MAX_FIGURES + 5):
        baseline = ledger(record("a", 1, [1.0, 0.5], [1.0]))
        fresh = copy.deepcopy(baseline)
        fresh.records[0]["histories"][0]["metrics"]["loss"][1] = 0.75
        results.append(verification(f"n{number}.ipynb", baseline, fresh, Tolerance()))
    text = html_report(results, 1, Tolerance(), "x")
    page = Elements(text)
    assert len(page.having("figure", "curves")) == MAX_FIGURES
    assert len(page.having("svg")) == MAX_FIGURES
    undrawn = page.having("p", "undrawn")
    assert [p.text for p in undrawn] == ["Not drawn (1): cell 1 (id a), history 1 (diverged)."] * 5
    assert "5 training histories were not drawn" in page.having("p", "note")[-1].text
    assert OUTSIDE_ADDRESS.search(text) is None


def with_metric(name: str, values: list[float]) -> Ledger:
    data = record("a", 1, values, [1.0])
    data["histories"][0]["metrics"] = {name: values}
    return ledger(data)


def test_when_a_metric_name_is_matplotlib_mathtext_then_it_is_drawn_as_the_text_recorded() -> None:
    baseline, fresh = with_metric("$\\alertx$", [1.0, 0.5]), with_metric("$\\alertx$", [1.0, 0.75])
    text = html_report([verification("m.ipynb", baseline, fresh, Tolerance())], 1, Tolerance(), "x")
    (figure,) = Elements(text).having("figure", "curves")
    assert "$\\alertx$" in figure.text


@pytest.mark.parametrize(("verdicts", "after"), [(0, 4), (1, 1), (3, 3)])
def test_when_a_plot_cannot_be_drawn_then_the_html_report_is_not_written_and_the_verdicts_stand(
    tmp_path: Path, verdicts: int, after: int
) -> None:
    # Values at the ends of float64: matplotlib's axis range overflows and it cannot place the ticks.
    baseline = with_metric("loss", [1.7e308, -1.7e308])
    fresh = with_metric("loss", [1.7e308, -1.7e308])
    results = [verification("huge.ipynb", baseline, fresh, Tolerance())]
    page = tmp_path / "report.html"
    (write,) = report_writers(
        ReportPaths(html=page), results, Tolerance(), [], "repro-verify --html report.html", "repro-verify"
    )
    err = io.StringIO()
    assert write(verdicts, err) == after
    message = err.getvalue()
    assert message.startswith(f"repro-verify: could not write the HTML report {page}: matplotlib could not draw ")
    assert "cell 1 (id a), history 1" in message and message.count("\n") == 1, message
    assert not page.exists() and list(tmp_path.iterdir()) == []


def test_when_a_cell_records_nothing_comparable_then_page_json_markdown_and_terminal_say_nothing_recorded() -> None:
    nothing = {**record("b", 2, [], []), "histories": [], "values": {}}
    baseline = ledger(record("a", 1, [1.0, 0.5], [1.0, 2.0]), nothing)
    result = verification("n.ipynb", baseline, ledger(*baseline.records), Tolerance())

    page = Elements(html_report([result], 0, Tolerance(), "repro-verify"))
    cells = report_json([result], 0, Tolerance())["notebooks"][0]["cells"]
    (row,) = page.having("tr", data_cell_id="b")

    assert "cell-nothing-recorded" in row.attributes["class"].split()
    assert {cell["cell_id"]: cell["verdict"] for cell in cells} == {"a": "identical", "b": "nothing recorded"}
    assert "(1 cell with nothing recorded)" in markdown_report([result], 0)
    assert "bitwise (1 cell, 5 numbers; 1 cell with nothing recorded;" in format_verification(result, Tolerance())[0]


def test_when_changed_skipped_some_and_fail_fast_stopped_others_then_every_report_names_each_of_them(
    tmp_path: Path,
) -> None:
    baseline = ledger(record("a", 1, [1.0, 0.5], [1.0, 2.0]))
    ran = verification("ran.ipynb", baseline, ledger(*baseline.records), Tolerance())
    skipped = {Path("same.ipynb"): "2026-12-01 10:42 UTC"}
    stopped = [Path("later.ipynb")]
    paths = ReportPaths(json=tmp_path / "r.json", markdown=tmp_path / "r.md", html=tmp_path / "r.html")
    for write in report_writers(paths, [ran], Tolerance(), stopped, "repro-verify", "repro-verify", skipped):
        assert write(3, io.StringIO()) == 3

    report = json.loads(paths.json.read_text())
    assert report["skipped"] == [{"notebook": "same.ipynb", "unchanged_since": "2026-12-01 10:42 UTC"}]
    assert report["not_verified"] == [{"notebook": "later.ipynb", "reason": "stopped by --fail-fast"}]
    markdown = paths.markdown.read_text()
    assert "| <code>later.ipynb</code> | not verified (stopped) | | |" in markdown
    assert "| <code>same.ipynb</code> | skipped: unchanged since 2026-12-01 10:42 UTC | | |" in markdown
    page = Elements(paths.html.read_text())
    (summary,) = page.having("table", "summary")
    body_rows = [row for row in page.found if row.tag == "tr" and row.parent and row.parent.tag == "tbody"]
    rows = [page.cells(row) for row in body_rows if row.parent.parent is summary]  # type: ignore[union-attr]
    assert [row[:2] for row in rows] == [
        ["ran.ipynb", "identical"],
        ["later.ipynb", "not verified"],
        ["same.ipynb", "skipped"],
    ]
    assert rows[1:] == [
        ["later.ipynb", "not verified", "stopped by --fail-fast"],
        ["same.ipynb", "skipped", "unchanged since 2026-12-01 10:42 UTC"],
    ]
    (overall,) = [element for element in page.found if element.tag == "p" and "exit status" in element.text]
    assert overall.text.endswith(
        "exit status 3: 3 notebooks, 1 identical, 1 skipped (unchanged), 1 not verified (stopped by --fail-fast)"
    )


def test_when_changed_skipped_every_notebook_then_the_page_claims_no_verdict() -> None:
    page = Elements(html_report([], 0, Tolerance(), "repro-verify --changed", skipped={Path("a.ipynb"): "then"}))
    (overall,) = [element for element in page.found if element.tag == "p" and "exit status" in element.text]
    assert overall.text == "skipped exit status 0: 1 notebook, 1 skipped (unchanged)"
    assert not page.having("span", "verdict-identical")
