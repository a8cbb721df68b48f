"""--shard, --markdown, --check-ledger and -j: what needs no kernel (shares, Markdown text, usage errors)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import nbformat
import pytest
from helpers import ledger_data, run_cli, write_notebook

from repro_magics.compare.agreement import DIVERGED
from repro_magics.compare.results import Comparison, Difference
from repro_magics.exceptions import ShardError
from repro_magics.notebooks import read_notebook
from repro_magics.report.markdown import MARKDOWN_MARKER, markdown_report
from repro_magics.verify.runner import NotebookRun, RunFailure
from repro_magics.verify.shard import parse_shard, shard_of
from repro_magics.verify.verification import NotebookVerification


def fleet(count: int, seed: int = 7) -> list[Path]:
    """Paths as a repository of notebooks has them: folders, dashes, unicode, a few deep ones."""
    generator = random.Random(seed)
    folders = ["notebooks", "experiments/vision", "experiments/nlp/ablations", "docs/examples", "ünïcode"]
    return [
        Path(generator.choice(folders)) / f"nb-{index:04d}-{generator.random():.6f}.ipynb" for index in range(count)
    ]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_when_n_shards_are_taken_then_they_are_disjoint_and_cover_every_notebook(count: int) -> None:
    notebooks = fleet(500)
    shares = [parse_shard(f"{index}/{count}").select(notebooks) for index in range(1, count + 1)]
    assert sum(len(share) for share in shares) == len(notebooks)
    assert sorted(path for share in shares for path in share) == sorted(notebooks)
    if count > 1:
        # Balanced on average: every share gets a part, none more than twice its due.
        assert all(0 < len(share) < 2 * len(notebooks) / count for share in shares)


def test_when_a_notebook_is_added_or_removed_then_no_other_notebook_changes_shard() -> None:
    notebooks = fleet(300)
    before = {path: shard_of(path, 4) for path in notebooks}
    added = {path: shard_of(path, 4) for path in [*notebooks, Path("notebooks/new.ipynb")]}
    removed = {path: shard_of(path, 4) for path in notebooks[1:]}
    assert all(added[path] == share for path, share in before.items())
    assert all(before[path] == share for path, share in removed.items())


def test_when_paths_are_spelled_differently_then_the_share_is_the_same_and_fixed_across_machines() -> None:
    # A fixed value: the hash is sha256 of the path, not Python's hash(), which changes with PYTHONHASHSEED.
    assert shard_of(Path("notebooks/01-keras-reproducibility-recipe.ipynb"), 4) == 1
    assert shard_of(Path("./notebooks//a/../01-keras-reproducibility-recipe.ipynb"), 4) == 1
    assert [shard_of(Path(f"nb{index}.ipynb"), 3) for index in range(6)] == [
        shard_of(Path(f"./nb{index}.ipynb"), 3) for index in range(6)
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [("1", "is not K/N"), ("0/3", "K must be from 1 to N"), ("4/3", "K must be from 1 to N"), ("a/b", "is not K/N")],
)
def test_when_a_shard_is_bad_then_exit_2_naming_it(tmp_path: Path, text: str, message: str) -> None:
    notebook = write_notebook(tmp_path / "a.ipynb", "x = 1")
    with pytest.raises(ShardError):
        parse_shard(text)
    status, out, err = run_cli(str(notebook), "--shard", text)
    assert status == 2 and out == ""
    assert err.startswith("repro-verify: error: argument --shard: ") and message in err, err


def test_when_a_shard_holds_no_notebook_then_0_saying_so_and_nothing_runs(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "a.ipynb", "raise ValueError('would fail if run')")
    other = next(f"{k}/2" for k in (1, 2) if not parse_shard(f"{k}/2").holds(notebook))
    status, out, err = run_cli(str(notebook), "--shard", other, "--markdown", str(tmp_path / "summary.md"))
    assert status == 0, err
    assert out == f"shard {other} holds none of the notebook given; nothing to verify\n"
    assert "| (no notebook) |" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-j", "0"], "argument -j/--jobs: '0' must be 1 or more"),
        (["-j", "many"], "argument -j/--jobs: 'many' is not a whole number"),
        (["--check-ledger", "--update"], "--check-ledger runs nothing; --update does not go with it"),
        (["--check-ledger", "--runs", "2"], "--check-ledger runs nothing; --runs does not go with it"),
        (["--check-ledger", "--markdown", "s.md"], "--check-ledger runs nothing; --markdown does not go with it"),
    ],
)
def test_when_a_team_option_is_bad_then_exit_2_with_the_reason(tmp_path: Path, argv: list[str], message: str) -> None:
    notebook = write_notebook(tmp_path / "a.ipynb", "x = 1")
    status, out, err = run_cli(str(notebook), *argv)
    assert (status, out) == (2, "")
    help_hint = " (see repro-verify --help)" if message.startswith("argument") else ""
    assert err == f"repro-verify: error: {message}{help_hint}\n"


def test_when_markdown_names_a_notebook_a_ledger_or_another_file_then_exit_2_and_it_is_untouched(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "a.ipynb", "x = 1")
    other = tmp_path / "notes.md"
    other.write_text("my notes\n")
    for target, words in [
        (notebook, "is one of the notebooks to verify"),
        (tmp_path / "b.repro.json", "is a ledger"),
        (other, "exists and is not a repro-verify report; remove it or pick another name"),
    ]:
        status, _, err = run_cli(str(notebook), "--markdown", str(target))
        assert status == 2 and words in err, err
    assert other.read_text() == "my notes\n"
    status, _, err = run_cli(str(notebook), "--markdown", str(tmp_path / "r"), "--json", str(tmp_path / "r"))
    assert status == 2 and "--markdown and --json name the same file" in err
    # Also when this job's shard holds no notebook: the file may be another shard's notebook.
    other_shard = next(f"{k}/2" for k in (1, 2) if not parse_shard(f"{k}/2").holds(notebook))
    status, _, err = run_cli(str(notebook), "--shard", other_shard, "--markdown", str(tmp_path / "b.ipynb"))
    assert status == 2 and "is a notebook" in err


def _verification(tmp_path: Path, **kwargs: object) -> NotebookVerification:
    result = NotebookVerification(tmp_path / "n|b.ipynb", tmp_path / "n|b.repro.json", had_ledger=True)
    for name, value in kwargs.items():
        setattr(result, name, value)
    return result


def test_when_markdown_is_written_then_a_row_per_notebook_with_verdict_time_and_first_difference(
    tmp_path: Path,
) -> None:
    from repro_magics.ledger.store import Ledger

    comparison = Comparison("ledger", "run 1")
    comparison.differences.append(
        Difference("c3", "c3", 3, "%%reproducible seed=1 | tee", "history 'loss' epoch 2", "0.5", "0.25<b>")
    )
    assert comparison.verdict == DIVERGED
    diverged = _verification(tmp_path, runs=[NotebookRun(tmp_path, Ledger(), None, 12.34, 4)], comparisons=[comparison])
    failed = _verification(
        tmp_path,
        runs=[NotebookRun(tmp_path, Ledger(), RunFailure(2, "c1", "raise ValueError", "ValueError: a\nb"), 1.0, 2)],
    )
    text = markdown_report([diverged, failed], 3, heading="repro-verify, shard 1/2", not_verified=[Path("z.ipynb")])
    lines = text.splitlines()
    assert lines[0] == MARKDOWN_MARKER
    assert lines[1] == "### repro-verify, shard 1/2: exit status 3"
    assert lines[3] == "| notebook | verdict | kernel time | first difference |"
    assert lines[5] == (
        f"| <code>{tmp_path}/n\\|b.ipynb</code> | **diverged** | 12.3 s | cell 3 (id c3) "
        "<code>%%reproducible seed=1 \\| tee</code>: history 'loss' epoch 2: ledger <code>0.5</code> vs "
        "run 1 <code>0.25&lt;b&gt;</code> |"
    )
    assert lines[6] == (
        f"| <code>{tmp_path}/n\\|b.ipynb</code> | **failed to run** | 1.0 s | cell 2 (id c1) "
        "<code>raise ValueError</code>: ValueError: a\\nb |"
    )
    assert lines[7] == "| <code>z.ipynb</code> | not verified (stopped) | | |"
    assert all(line.count("|") - line.count("\\|") == 5 for line in lines[3:])


def test_when_check_ledger_meets_a_notebook_without_reproducible_cells_then_0_and_no_ledger_needed(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "plain.ipynb", "x = 1")
    status, out, _ = run_cli("--check-ledger", str(notebook))
    assert (status, out) == (0, f"{notebook}: no %%reproducible cell, no ledger needed\n")


def test_when_check_ledger_meets_a_reproducible_cell_and_no_ledger_then_1_saying_so(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "%%reproducible seed=1 record=x\nx = 1")
    status, out, _ = run_cli("--check-ledger", str(notebook))
    assert status == 1
    assert out.splitlines() == [
        f"{notebook}: NO LEDGER",
        "    no ledger (n.repro.json) for 1 %%reproducible cell",
        f"    to fix: run repro-verify {notebook}",
    ]


def test_when_check_ledger_meets_a_record_of_a_removed_or_plain_cell_then_1_naming_it(tmp_path: Path) -> None:
    (tmp_path / "n.repro.json").write_text(json.dumps(ledger_data()))  # a record of cell c0
    plain = write_notebook(tmp_path / "n.ipynb", "x = 1")  # cell c0, no longer %%reproducible
    status, out, _ = run_cli("--check-ledger", str(plain))
    assert status == 1
    assert "    a record of a cell no longer %%reproducible (id c0): %%reproducible seed=1 record=x\n" in out
    write_notebook(tmp_path / "n.ipynb", "# c0 is gone", "y = 2")
    notebook = read_notebook(tmp_path / "n.ipynb")
    notebook.cells.pop(0)
    nbformat.write(notebook, str(tmp_path / "n.ipynb"))
    status, out, _ = run_cli("--check-ledger", str(plain))
    assert status == 1
    assert "    a record of a cell no longer in the notebook (id c0): %%reproducible seed=1 record=x\n" in out


def test_when_j_is_auto_then_one_kernel_per_core_this_process_may_use() -> None:
    from repro_magics.cli.command import verify_parser

    cores = len(os.sched_getaffinity(0))
    assert verify_parser().parse_args(["-j", "auto", "a.ipynb"]).jobs == cores
    assert verify_parser().parse_args(["a.ipynb"]).jobs == 1
