"""Traps run by default, advice when selected (command line or pyproject.toml); docs/rules.md made from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import write_notebook

from repro_magics.lint import ADVICE, RULES, TRAP
from repro_magics.lint.cli import main
from repro_magics.lint.docs import DOCS_FILE, rules_markdown

LOAD = "%load_ext repro_magics\nimport numpy as np\nimport keras"
BUILT = (
    "%%reproducible seed=1 record=n\n"
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5), keras.layers.Dense(1)])\n"
    'model.compile("adam", "mse")\nn = model.count_params()'
)
TRAINED = "%%reproducible seed=1 record=history\nhistory = model.fit(np.ones((8, 4)), np.ones(8), epochs=1)"
RECORDS_NOTHING = "%%reproducible seed=1\nprint(1)"


def run_lint(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def codes(out: str) -> list[str]:
    return [line.split(" ")[2] for line in out.splitlines()]


@pytest.fixture
def advice_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebook that reproduces top to bottom, with advice to give (RM106 on cell 3, RM113 on cell 4)."""
    monkeypatch.chdir(tmp_path)
    return write_notebook(tmp_path / "nb.ipynb", LOAD, BUILT, TRAINED, RECORDS_NOTHING)


def test_when_a_model_is_built_in_one_magic_cell_and_trained_in_the_next_then_exit_0_by_default(
    advice_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_lint(str(advice_only), capsys=capsys) == (0, "", "")


def test_when_advice_is_extended_into_the_selection_then_it_is_reported_and_exit_1(
    advice_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_lint(str(advice_only), "--extend-select", "RM106,RM113", capsys=capsys)
    assert (status, codes(out)) == (1, ["RM106", "RM113"])
    assert "re-running this cell alone continues from where the last run left it" in out


def test_when_one_code_is_selected_then_only_that_rule_runs(
    advice_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_lint(str(advice_only), "--select", "RM113", capsys=capsys)
    assert (status, codes(out)) == (1, ["RM113"])


def test_when_pyproject_selects_advice_then_it_runs_and_the_command_line_replaces_or_extends_it(
    advice_only: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (advice_only.parent / "pyproject.toml").write_text('[tool.repro-lint]\nextend-select = ["RM113"]\n')
    assert codes(run_lint(str(advice_only), capsys=capsys)[1]) == ["RM113"]
    assert codes(run_lint(str(advice_only), "--extend-select", "RM106", capsys=capsys)[1]) == ["RM106", "RM113"]
    (advice_only.parent / "pyproject.toml").write_text('[tool.repro-lint]\nselect = ["RM106"]\n')
    assert codes(run_lint(str(advice_only), capsys=capsys)[1]) == ["RM106"]
    assert codes(run_lint(str(advice_only), "--select", "RM113", capsys=capsys)[1]) == ["RM113"]


def test_when_pyproject_is_above_the_working_folder_then_it_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.repro-lint]\nselect = ["ALL"]\n')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    path = write_notebook(tmp_path / "sub" / "nb.ipynb", LOAD, RECORDS_NOTHING)
    assert codes(run_lint(str(path), capsys=capsys)[1]) == ["RM113"]


@pytest.mark.parametrize(
    ("pyproject", "argv", "message"),
    [
        ("", ["--select", "RM999"], "repro-lint: 'RM999' is not a rule code or a prefix of one (see docs/rules.md)\n"),
        (
            "",
            ["--extend-select", "E501"],
            "repro-lint: 'E501' is not a rule code or a prefix of one (see docs/rules.md)\n",
        ),
        ('[tool.repro-lint]\nselect = "RM106"\n', [], "pyproject.toml: [tool.repro-lint] select must be a list"),
        ("[tool.repro-lint]\nignore = []\n", [], "pyproject.toml: [tool.repro-lint] has unknown keys: ignore\n"),
        ("[tool.repro-lint\n", [], "pyproject.toml: cannot be read as TOML ("),
    ],
    ids=["unknown-code", "other-linter-code", "not-a-list", "unknown-key", "bad-toml"],
)
def test_when_the_selection_is_wrong_then_one_sentence_and_exit_2(
    advice_only: Path, capsys: pytest.CaptureFixture[str], pyproject: str, argv: list[str], message: str
) -> None:
    if pyproject:
        (advice_only.parent / "pyproject.toml").write_text(pyproject)
    status, out, err = run_lint(str(advice_only), *argv, capsys=capsys)
    assert (status, out) == (2, "")
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_every_rule_is_a_trap_or_advice_and_the_advice_is_what_issue_17_names() -> None:
    assert {rule.category for rule in RULES} == {TRAP, ADVICE}
    assert sorted(rule.code for rule in RULES if rule.category == ADVICE) == [
        "RM106",
        "RM107",
        "RM108",
        "RM109",
        "RM113",
    ]


def test_docs_rules_md_holds_exactly_the_rules_generated_from_the_code() -> None:
    text = DOCS_FILE.read_text(encoding="utf-8")
    assert rules_markdown() in text, "run: python -m repro_magics.lint.docs --write"
    table = re.findall(r"^\| \[(RM\d+)\]\(#RM\d+\) \| ([\w-]+) \| (trap|advice) \|", text, re.M)
    assert table == [(rule.code, rule.name, rule.category) for rule in RULES]
    sections = re.findall(r"^### (RM\d+): ([\w-]+) \{#RM\d+\}\n\n\*\*Category:\*\* (trap|advice)", text, re.M)
    assert sections == [(rule.code, rule.name, rule.category) for rule in RULES]
    for rule in RULES:
        assert "**What it does.**" in rule.docs and "**Why is this bad?**" in rule.docs, rule.code
