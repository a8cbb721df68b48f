"""`repro-lint` as users and tools run it: output lines, exit statuses, suppressions, no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_notebook

from repro_magics.lint import lint_path
from repro_magics.lint.cli import main

ROOT = Path(__file__).resolve().parent.parent
UNSEEDED = "import numpy as np\n\nrng = np.random.default_rng()"


def run_lint(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_when_a_notebook_has_a_trap_then_one_line_names_place_code_and_docs_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", "print(1)", UNSEEDED, markdown_first=True)
    status, out, err = run_lint(str(path), capsys=capsys)
    assert status == 1
    assert out == (
        f"{path}:cell 2:3:7: RM101 np.random.default_rng() without a seed draws fresh entropy on every run;"
        " pass a seed (see docs/rules.md#RM101)\n"
    )
    assert err == ""


def test_when_a_notebook_is_clean_then_nothing_is_printed_and_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np\nrng = np.random.default_rng(5)")
    assert run_lint(str(path), capsys=capsys) == (0, "", "")


def test_when_json_is_asked_then_each_finding_is_an_object_tools_can_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", UNSEEDED)
    status, out, _ = run_lint("--format", "json", str(path), capsys=capsys)
    assert status == 1
    [finding] = json.loads(out)
    assert finding == {
        "path": str(path),
        "cell": 1,
        "line": 3,
        "column": 7,
        "code": "RM101",
        "message": "np.random.default_rng() without a seed draws fresh entropy on every run; pass a seed",
        "docs": "docs/rules.md#RM101",
    }


def test_when_a_clean_notebook_is_asked_for_json_then_it_is_an_empty_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", "x = 1")
    assert run_lint("--format", "json", str(path), capsys=capsys) == (0, "[]\n", "")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.ipynb", None, "missing.ipynb: no such file"),
        ("text.ipynb", "not json", "text.ipynb: is not a notebook (not valid JSON at line 1, column 1)"),
        ("list.ipynb", "[1, 2]", "list.ipynb: is not a notebook (no list of cells)"),
    ],
)
def test_when_the_input_is_not_a_notebook_then_one_sentence_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    status, out, err = run_lint(str(path), capsys=capsys)
    assert (status, out) == (2, "")
    assert err == f"repro-lint: {tmp_path}/{message}\n"


def test_when_a_folder_has_no_notebooks_then_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_lint(str(tmp_path), capsys=capsys)
    assert status == 2
    assert err == f"repro-lint: {tmp_path}: no notebooks (.ipynb) in this folder\n"


def test_when_an_option_is_unknown_then_exit_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_lint("--format", "xml", "nb.ipynb", capsys=capsys)
    assert status == 2
    assert "argument --format: invalid choice: 'xml'" in err
    assert err.count("\n") == 1


def test_when_a_folder_is_given_then_its_notebooks_are_linted_but_not_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_notebook(tmp_path / "a.ipynb", UNSEEDED)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb", UNSEEDED)
    status, out, _ = run_lint(str(tmp_path), capsys=capsys)
    assert status == 1
    assert out.startswith(f"{tmp_path / 'a.ipynb'}:cell 1:3:7: RM101")
    assert out.count("\n") == 1


def test_when_a_line_says_repro_ignore_then_that_code_on_that_line_is_not_reported(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "nb.ipynb",
        "import numpy as np\n"
        "a = np.random.default_rng()  # repro: ignore[RM101]\n"
        "b = np.random.default_rng()  # repro: ignore[RM107]\n"
        "c = np.random.default_rng()  # repro: ignore",
    )
    assert [(f.code, f.line) for f in lint_path(path)] == [("RM101", 3)]
    assert len(lint_path(path, honour_suppressions=False)) == 3


def test_when_a_finding_is_on_a_magic_line_then_the_comment_goes_on_the_next_line(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "nb.ipynb", "%load_ext repro_magics", "%%reproducible seed=1\n# repro: ignore[RM113]\nprint(1)"
    )
    assert lint_path(path, select=["RM113"]) == []
    assert [f.code for f in lint_path(path, honour_suppressions=False, select=["RM113"])] == ["RM113"]


def test_when_the_notebook_metadata_ignores_a_code_then_it_is_not_reported_anywhere(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", UNSEEDED, "import random\nr = random.Random()")
    content = json.loads(path.read_text())
    content["metadata"]["repro_magics"] = {"lint": {"ignore": ["RM101"]}}
    path.write_text(json.dumps(content))
    assert lint_path(path) == []


def test_the_example_notebooks_pass_and_report_exactly_their_labelled_traps_when_nothing_is_suppressed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_lint(str(ROOT / "notebooks"), capsys=capsys) == (0, "", "")
    labels = json.loads((ROOT / "tests" / "lint_corpus" / "labels.json").read_text())["notebooks"]
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        expected = {(item["cell"], item["code"]) for item in labels[f"notebooks/{notebook.name}"]}
        found = {(f.cell, f.code) for f in lint_path(notebook, honour_suppressions=False, select=["ALL"])}
        assert found == expected, notebook.name


def test_when_a_300_cell_notebook_is_linted_then_neither_tensorflow_nor_keras_nor_ipython_is_imported(
    tmp_path: Path,
) -> None:
    sources = [
        "%load_ext repro_magics\nimport tensorflow as tf\nimport keras",
        "%%reproducible seed=1 record=model\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\nmodel.compile('adam', 'mse')\n"
        "history = model.fit(tf.ones((8, 4)), tf.ones(8), epochs=1, verbose=0)",
        "!ls\n%matplotlib inline\nds = tf.data.Dataset.range(9).shuffle(9).map(tf.square, num_parallel_calls=4)\n"
        "model.fit(ds, epochs=1)",
    ]
    path = write_notebook(tmp_path / "long.ipynb", *(sources * 100))
    program = (
        "import sys\n"
        "from repro_magics.lint.cli import main\n"
        f"status = main([{str(path)!r}, '--select', 'ALL'])\n"
        "heavy = ('tensorflow', 'keras', 'IPython', 'ipykernel', 'jupyter_client')\n"
        "heavy = sorted(name for name in heavy if name in sys.modules)\n"
        "print('imported:', heavy, 'status:', status, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stderr == "imported: [] status: 1\n"
    assert result.stdout.count(" RM107 ") == 100


def test_the_pre_commit_hook_runs_the_repro_lint_console_script_on_notebooks() -> None:
    hook = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: repro-lint\n" in hook
    assert "  entry: repro-lint\n" in hook
    assert "  types: [jupyter]\n" in hook
    assert 'repro-lint = "repro_magics.lint.cli:main"\n' in (ROOT / "pyproject.toml").read_text()
