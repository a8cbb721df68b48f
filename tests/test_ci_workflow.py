"""The GitHub Actions workflow in docs/ and the pre-commit hooks: parsed, and checked for what they rely on.

No JSON Schema for GitHub workflows ships in an installed package here (and
tests download nothing), so the workflow's structure is checked key by key:
the keys GitHub needs and the ones this workflow's behaviour rests on.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from repro_magics.cli.command import verify_parser

ROOT = Path(__file__).parent.parent
WORKFLOW = ROOT / "docs" / "ci" / "repro-verify.yml"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


#: What GitHub puts in place of the expressions, for the first of four shards.
EXPRESSIONS = {"${{ matrix.shard }}": "1", "${{ strategy.job-total }}": "4"}


def repro_verify_commands(script: str) -> list[list[str]]:
    """Each `repro-verify ...` command of a shell step, continuation lines joined, expressions filled in."""
    joined = script.replace("\\\n", " ")
    for expression, value in EXPRESSIONS.items():
        joined = joined.replace(expression, value)
    return [shlex.split(line.strip()) for line in joined.splitlines() if line.strip().startswith("repro-verify ")]


def test_when_the_workflow_is_parsed_then_it_has_the_keys_github_needs() -> None:
    workflow = load(WORKFLOW)
    assert workflow["name"] == "repro-verify"
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert set(workflow[True]) == {"push", "pull_request"}
    for name, job in workflow["jobs"].items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name)
        assert job["runs-on"] == "ubuntu-latest"
        for step in job["steps"]:
            assert set(step) <= {"name", "if", "uses", "with", "run", "env"}
            assert ("uses" in step) != ("run" in step), step


def test_when_the_matrix_runs_then_each_shard_verifies_its_share_and_reports_in_the_step_summary() -> None:
    job = load(WORKFLOW)["jobs"]["verify"]
    shards = job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1)) and job["strategy"]["fail-fast"] is False
    uses = [step.get("uses", "") for step in job["steps"]]
    assert [use.split("@")[0] for use in uses if use][:3] == [
        "actions/checkout",
        "actions/setup-python",
        "actions/cache",
    ]
    cache = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "~/.cache/pip"
    commands = [command for step in job["steps"] if "run" in step for command in repro_verify_commands(step["run"])]
    assert len(commands) == 1
    arguments = verify_parser().parse_args(commands[0][1:])
    assert arguments.markdown == Path("repro-summary.md") and arguments.jobs >= 1
    assert str(arguments.shard) == "1/4"
    assert "--shard ${{ matrix.shard }}/${{ strategy.job-total }}" in WORKFLOW.read_text()
    summary = next(step for step in job["steps"] if "GITHUB_STEP_SUMMARY" in step.get("run", ""))
    assert summary["if"] == "always()" and 'cat repro-summary.md >> "$GITHUB_STEP_SUMMARY"' in summary["run"]


def test_when_the_ledger_check_job_runs_then_it_starts_no_kernel() -> None:
    job = load(WORKFLOW)["jobs"]["check-ledgers"]
    commands = [command for step in job["steps"] if "run" in step for command in repro_verify_commands(step["run"])]
    assert len(commands) == 1 and verify_parser().parse_args(commands[0][1:]).check_ledger


def test_when_pre_commit_runs_the_hooks_then_each_entry_is_an_existing_command() -> None:
    hooks = {hook["id"]: hook for hook in load(ROOT / ".pre-commit-hooks.yaml")}
    hook = hooks["repro-verify-check-ledger"]
    assert hook["types"] == ["jupyter"] and hook["language"] == "python"
    program, *options = shlex.split(hook["entry"])
    assert program == "repro-verify"
    assert verify_parser().parse_args([*options, "a.ipynb"]).check_ledger
