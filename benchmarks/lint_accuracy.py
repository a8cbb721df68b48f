"""Precision and recall of repro-lint, per rule and per half of the labelled corpus.

    python -m benchmarks.lint_accuracy [--details]

Two measurements:

1. **Pairs** (the notebooks of tests/lint_corpus whose metadata has a
   `lint_corpus` label): trap notebooks and their fixed twins adapted from the
   Keras examples, the TensorFlow tutorials and the JAX and PyTorch guides. Each
   label gives a verdict (`trap`: a fresh run records other numbers;
   `varies-unrecorded`: a fresh run gives other numbers that nothing records;
   `reproducible`), the cells that cause it with the rule meant to find them, and
   the half it belongs to (`development` or `held-out`, from the first byte of
   the SHA-256 of the pair's name, fixed before the rules were changed;
   `after-rules`; `blind`, the notebooks in tests/lint_corpus/blind). The lint
   runs as a user runs it: default rule selection, suppressions honoured.
2. **Findings** (tests/lint_corpus/labels.json): the older corpus and the
   example notebooks, labelled one finding per (code cell, rule code) for the
   rules RM101 to RM113 that existed then, with every rule selected and
   suppressions not applied. Later rules are left out of this table: nobody
   labelled their findings in these notebooks.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from repro_magics.lint import RULES, lint, read_notebook

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "lint_corpus"
LABELS = CORPUS / "labels.json"
BLIND = CORPUS / "blind"
#: "after-rules": notebooks written once the rules were final, measured once and not used to change them.
#: "blind": tests/lint_corpus/blind, written from the Keras examples and TensorFlow tutorials by someone who
#: had not read the rules, labelled and committed before the lint ran on them.
HALVES = ("development", "held-out", "after-rules", "blind")
#: The last rule code that existed when labels.json was written.
LABELLED_UP_TO = "RM113"

Key = tuple[str, int, str]
Labels = dict[str, list[dict[str, object]]]


def _every_rule(notebook_path: Path) -> list[tuple[int, str]]:
    notebook = read_notebook(notebook_path)
    try:
        findings = lint(notebook, honour_suppressions=False, select=["ALL"])  # type: ignore[call-arg]
    except TypeError:  # a lint without rule selection (before issue 17): every rule is on
        findings = lint(notebook, honour_suppressions=False)
    return [(finding.cell, finding.code) for finding in findings]


def _default_rules(notebook_path: Path) -> list[tuple[int, str]]:
    return [(finding.cell, finding.code) for finding in lint(read_notebook(notebook_path))]


def read_labels() -> tuple[Labels, set[str]]:
    """The findings labelled in each notebook of labels.json, and which of them were held out then."""
    content = json.loads(LABELS.read_text(encoding="utf-8"))
    return content["notebooks"], set(content.get("held_out", []))


def read_pairs() -> dict[str, dict[str, object]]:
    """The `lint_corpus` label of each notebook in the pairs corpus, by path relative to the repository."""
    pairs: dict[str, dict[str, object]] = {}
    for path in [*sorted(CORPUS.glob("*.ipynb")), *sorted(BLIND.glob("*.ipynb"))]:
        label = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("lint_corpus")
        if isinstance(label, dict):
            pairs[str(path.relative_to(ROOT))] = label
    return pairs


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "n/a"


def table(expected: set[Key], found: set[Key], codes: Iterable[str] | None = None) -> str:
    true_positives = Counter(code for _, _, code in expected & found)
    false_positives = Counter(code for _, _, code in found - expected)
    false_negatives = Counter(code for _, _, code in expected - found)
    lines = [
        "| rule | labelled | found | true pos. | false pos. | missed | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    all_codes = sorted(set(codes or [rule.code for rule in RULES]) | {code for _, _, code in expected | found})
    for code in [*all_codes, "all"]:
        if code == "all":
            tp, fp, fn = sum(true_positives.values()), sum(false_positives.values()), sum(false_negatives.values())
        else:
            tp, fp, fn = true_positives[code], false_positives[code], false_negatives[code]
        if code != "all" and tp + fp + fn == 0:
            continue
        precision, recall = _percent(tp, tp + fp), _percent(tp, tp + fn)
        lines.append(f"| {code} | {tp + fn} | {tp + fp} | {tp} | {fp} | {fn} | {precision} | {recall} |")
    return "\n".join(lines)


def measure_pairs(pairs: dict[str, dict[str, object]], half: str, details: bool) -> None:
    names = [name for name, label in pairs.items() if label["half"] == half]
    expected: set[Key] = set()
    found: set[Key] = set()
    traps_at_cause = traps = reproducible_clean = reproducible = varies_flagged = varies = 0
    for name in names:
        label = pairs[name]
        causes = {(int(str(c["cell"])), str(c["code"])) for c in label["causes"]}  # type: ignore[attr-defined]
        findings = set(_default_rules(ROOT / name))
        expected |= {(name, cell, code) for cell, code in causes}
        found |= {(name, cell, code) for cell, code in findings}
        cells_found = {cell for cell, _ in findings}
        if label["verdict"] == "trap":
            traps += 1
            traps_at_cause += all(cell in cells_found for cell, _ in causes)
        elif label["verdict"] == "varies-unrecorded":
            varies += 1
            varies_flagged += bool(findings)
        else:
            reproducible += 1
            reproducible_clean += not findings
        if details:
            for cell, code in sorted(findings - causes):
                print(f"  false positive: {name} cell {cell} {code}")
            for cell, code in sorted(causes - findings):
                print(f"  missed: {name} cell {cell} {code}")
    if not names:
        return
    print(f"\n{half}: {len(names)} notebooks (default rules, as `repro-lint` runs)")
    print(f"- traps found at the cell that causes them: {traps_at_cause} of {traps}")
    print(f"- reproducible notebooks passing (exit 0): {reproducible_clean} of {reproducible}")
    print(f"- notebooks whose unrecorded results vary, flagged (exit 1): {varies_flagged} of {varies}")
    print(table(expected, found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--details",
        nargs="?",
        const="all",
        choices=("all", *HALVES),
        help="list each false positive and missed finding (of one half only, if named)",
    )
    arguments = parser.parse_args()
    pairs = read_pairs()
    for half in HALVES:
        measure_pairs(pairs, half, arguments.details in ("all", half))
    labels, _ = read_labels()
    expected: set[Key] = set()
    found: set[Key] = set()
    for name, items in labels.items():
        expected |= {(name, int(str(item["cell"])), str(item["code"])) for item in items}
        found |= {(name, cell, code) for cell, code in _every_rule(ROOT / name) if code <= LABELLED_UP_TO}
    print(f"\nFindings corpus (labels.json): {len(labels)} notebooks, every rule selected, suppressions not applied")
    print(table(expected, found, [rule.code for rule in RULES if rule.code <= LABELLED_UP_TO]))
    if arguments.details == "all":
        for key in sorted(found - expected):
            print("  false positive:", *key)
        for key in sorted(expected - found):
            print("  missed:", *key)


if __name__ == "__main__":
    main()
