"""Counted phrases: one thing is said in the singular, in the text, Markdown and HTML reports alike."""

from __future__ import annotations

import re

import numpy as np
import pytest
from html_pages import Elements, one_cell_record, verified_against_ledger

from repro_magics.compare.ledgers import Tolerance
from repro_magics.report.html import html_report
from repro_magics.report.markdown import markdown_report
from repro_magics.report.text import format_verification
from repro_magics.verify.verification import NotebookVerification
from repro_magics.words import agreeing, counted

BASELINE = one_cell_record({"loss": [1.0]}, 1.0)
#: A count of one with a plural noun after it, or a noun that leaves its number open.
WRONG_NUMBER = re.compile(
    r"\b1 (?:cells|numbers|notebooks|entries|elements|runs|fresh runs|records|weights|epochs|steps|ledgers)\b"
    r"|\b1 \w+ differ\b|\w\(s\)"
)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 cells differ"), (1, "1 cell differs"), (2, "2 cells differ")],
)
def test_when_things_are_counted_then_one_takes_the_singular_and_any_other_count_the_plural(
    count: int, expected: str
) -> None:
    assert f"{counted(count, 'cell')} {agreeing(count, 'differs', 'differ')}" == expected


def test_when_a_noun_has_an_irregular_plural_then_that_plural_is_used() -> None:
    assert [counted(n, "entry", "entries") for n in (1, 2)] == ["1 entry", "2 entries"]


def _three_reports(result: NotebookVerification) -> tuple[str, str, str]:
    text = "\n".join(format_verification(result, Tolerance()))
    markdown = markdown_report([result], result.exit_status)
    page = Elements(html_report([result], result.exit_status, Tolerance(), "repro-verify one.ipynb"))
    (body,) = page.having("body")
    return text, markdown, " ".join(body.text.split())


def test_when_one_number_of_one_cell_differs_then_every_report_says_it_in_the_singular() -> None:
    fresh = one_cell_record({"loss": [1.0]}, 1.0 + 2**-20)
    result = verified_against_ledger("one.ipynb", BASELINE, fresh, python=("3.11.7", "3.11.8"))
    text, markdown, page = _three_reports(result)

    assert "(1 number differs)" in text, text
    assert "(1 number differs)" in page
    assert ": 1 notebook, 1 diverged" in page
    assert "Environment: 1 entry differs" in page
    assert "(1 element differs)" in page  # the legend of the histogram of how far the elements moved
    for report in (text, markdown, page):
        assert WRONG_NUMBER.search(report) is None, WRONG_NUMBER.search(report)


def test_when_one_cell_is_identical_then_the_verdict_counts_one_cell_and_one_fresh_run() -> None:
    result = verified_against_ledger("one.ipynb", BASELINE, one_cell_record({"loss": [1.0]}, 1.0))
    text, markdown, page = _three_reports(result)

    assert text == "one.ipynb: identical to the ledger, bitwise (1 cell, 2 numbers; 1 fresh run in 1.0 s)"
    assert ": 1 notebook, 1 identical" in page
    for report in (text, markdown, page):
        assert WRONG_NUMBER.search(report) is None, WRONG_NUMBER.search(report)


def test_when_float32_noise_is_one_rounding_step_then_the_advice_says_one_step_and_one_number() -> None:
    from repro_magics.compare.ledgers import Spread
    from repro_magics.compare.tolerance import advice_lines

    step = float(np.finfo(np.float32).eps)
    lines = advice_lines(Spread(max_abs=step, max_rel=step, numbers_differing=1))
    assert "(1 number differs)" in lines[0]
    assert "at most 1 float32 rounding step, relative" in lines[1]
    assert WRONG_NUMBER.search("\n".join(lines)) is None
