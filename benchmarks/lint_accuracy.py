"""Precision and recall of repro-lint per rule, against labelled notebooks.

    python -m benchmarks.lint_accuracy [--details]

The labels (tests/lint_corpus/labels.json) name the findings expected in each
notebook, one per (code cell, rule code), written by reading the cells. A
finding counts once per (notebook, cell, code); suppressions are not applied, so
the project's own notebooks, which ignore the traps they show on purpose, are
measured too.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from repro_magics.lint import RULES, lint, read_notebook

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "lint_corpus" / "labels.json"

Key = tuple[str, int, str]


Labels = dict[str, list[dict[str, object]]]


def read_labels() -> tuple[Labels, set[str]]:
    """The labels of each notebook, and which notebooks are held out (labelled after the rules last changed)."""
    content = json.loads(LABELS.read_text(encoding="utf-8"))
    return content["notebooks"], set(content.get("held_out", []))


def expected_and_found(labels: Labels) -> tuple[set[Key], set[Key]]:
    expected: set[Key] = set()
    found: set[Key] = set()
    for name, items in labels.items():
        expected |= {(name, int(str(item["cell"])), str(item["code"])) for item in items}
        findings = lint(read_notebook(ROOT / name), honour_suppressions=False)
        found |= {(name, finding.cell, finding.code) for finding in findings}
    return expected, found


def table(expected: set[Key], found: set[Key]) -> str:
    true_positives = Counter(code for _, _, code in expected & found)
    false_positives = Counter(code for _, _, code in found - expected)
    false_negatives = Counter(code for _, _, code in expected - found)
    lines = [
        "| rule | labelled | found | true pos. | false pos. | missed | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def percent(part: int, whole: int) -> str:
        return f"{100 * part / whole:.0f} %" if whole else "n/a"

    for code in [rule.code for rule in RULES] + ["all"]:
        if code == "all":
            tp, fp, fn = sum(true_positives.values()), sum(false_positives.values()), sum(false_negatives.values())
        else:
            tp, fp, fn = true_positives[code], false_positives[code], false_negatives[code]
        lines.append(
            f"| {code} | {tp + fn} | {tp + fp} | {tp} | {fp} | {fn} | {percent(tp, tp + fp)} | {percent(tp, tp + fn)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="list each false positive and missed finding")
    arguments = parser.parse_args()
    labels, held_out = read_labels()
    expected, found = expected_and_found(labels)
    print(f"All {len(labels)} notebooks, {len(expected)} labelled findings:")
    print(table(expected, found))
    held_expected = {key for key in expected if key[0] in held_out}
    held_found = {key for key in found if key[0] in held_out}
    print(f"\nHeld out ({len(held_out)} notebooks written and labelled after the rules last changed):")
    print(table(held_expected, held_found).splitlines()[-1].replace("| all |", "| held out |"))
    if arguments.details:
        for key in sorted(found - expected):
            print("false positive:", *key)
        for key in sorted(expected - found):
            print("missed:", *key)


if __name__ == "__main__":
    main()
