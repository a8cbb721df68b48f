"""`repro-verify` end to end: real notebooks on disk, real kernels, real TensorFlow."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cells import TRAINING
from helpers import run_cli, write_notebook

from repro_magics.ledger.store import Ledger

pytestmark = pytest.mark.kernel


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(notebook: Path, *options: str) -> tuple[int, str, str]:
    before = digest(notebook)
    result = run_cli(str(notebook), "--quiet", *options)
    assert digest(notebook) == before, "verification must never modify the notebook"
    return result


def test_when_a_training_notebook_is_reproducible_then_0_and_0_again_against_the_saved_ledger(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "train.ipynb",
        "import numpy as np",
        f"%%reproducible seed=812 record=layer_names,model\n{TRAINING}",
        markdown_first=True,
    )
    status, out, _ = verify(notebook, "--json", str(tmp_path / "first.json"))
    assert status == 0, out
    assert "identical across the fresh runs, bitwise" in out
    assert "ledger saved" in out
    ledger = json.loads((tmp_path / "train.repro.json").read_text())
    (record,) = ledger["records"]
    assert (record["cell_id"], record["cell_number"]) == ("c2", 2)
    assert record["histories"][0]["epochs"] == [0, 1]
    assert ledger["environments"][record["environment"]]["startup_variables"]["PYTHONHASHSEED"] == "0"
    ledger_bytes = digest(tmp_path / "train.repro.json")

    status, out, _ = verify(notebook, "--json", str(tmp_path / "second.json"))
    assert status == 0, out
    assert "identical to the ledger, bitwise" in out
    assert digest(tmp_path / "train.repro.json") == ledger_bytes
    report = json.loads((tmp_path / "second.json").read_text())
    assert report["exit_status"] == 0
    assert report["notebooks"][0]["comparisons"][0]["verdict"] == "identical"


def test_when_a_recorded_cell_uses_an_unseeded_default_rng_then_1_naming_that_cell_only(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "rng.ipynb",
        "%%reproducible seed=1 record=a\nimport numpy as np\na = np.random.rand(3)",
        "%%reproducible seed=2 record=b\nb = np.random.default_rng().normal(size=3)",
        "%%reproducible seed=3 record=c\nc = np.random.rand(2)",
    )
    status, out, _ = verify(notebook)
    assert status == 1, out
    assert "DIVERGED, run 2 vs run 1, first at cell 2 (id c1): %%reproducible seed=2 record=b" in out
    assert "value 'b', element [0]: run 1 " in out
    assert "cell 1 " not in out and "cell 3" not in out
    assert "ledger not saved" in out
    assert not (tmp_path / "rng.repro.json").exists()


def test_when_a_value_moves_by_1e_12_then_1_by_default_and_0_with_atol(tmp_path: Path) -> None:
    counter = tmp_path / "runs.txt"
    counter.write_text("0")
    notebook = write_notebook(
        tmp_path / "drift.ipynb",
        "from pathlib import Path\n"
        f"run = int(Path({str(counter)!r}).read_text())\n"
        f"Path({str(counter)!r}).write_text(str(run + 1))",
        "%%reproducible seed=5 record=x\nx = 1.0 + run * 1e-12",
    )
    assert verify(notebook, "--runs", "1")[0] == 0
    status, out, _ = verify(notebook)
    assert status == 1, out
    assert "value 'x': ledger 1.0 vs run 1 1.000000000001" in out
    status, out, _ = verify(notebook, "--atol", "1e-9")
    assert status == 0, out
    assert "within tolerance to the ledger (rtol 0, atol 1e-09" in out
    assert "largest differences: 2e-12 absolute" in out


def test_when_the_ledger_is_edited_by_hand_then_1_showing_the_edited_value(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "%%reproducible seed=9 record=total\ntotal = 0.25 + 0.5")
    assert verify(notebook, "--runs", "1")[0] == 0
    ledger_path = tmp_path / "n.repro.json"
    ledger = json.loads(ledger_path.read_text())
    ledger["records"][0]["values"]["total"]["value"] = 0.7501
    ledger_path.write_text(json.dumps(ledger))
    edited = digest(ledger_path)
    status, out, _ = verify(notebook)
    assert status == 1, out
    assert "value 'total': ledger 0.7501 vs run 1 0.75" in out
    assert "ledger unchanged" in out and digest(ledger_path) == edited
    status, out, _ = verify(notebook, "--update")
    assert status == 0, out
    assert "ledger updated" in out
    assert json.loads(ledger_path.read_text())["records"][0]["values"]["total"]["value"] == 0.75


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 / 0", "ZeroDivisionError: division by zero"),
        ("import os\nos._exit(1)", "the kernel died"),
        ("import time\ntime.sleep(30)", "timed out after 2 seconds"),
    ],
)
def test_when_a_cell_fails_then_3_naming_the_cell_and_the_error(tmp_path: Path, source: str, expected: str) -> None:
    notebook = write_notebook(tmp_path / "fails.ipynb", "x = 1", source, "y = 2")
    status, out, _ = verify(notebook, "--timeout", "2")
    assert status == 3, out
    assert f"FAILED to run, in run 1, at cell 2 (id c1): {source.splitlines()[0]}" in out
    assert expected in out
    assert "Traceback" not in out
    assert not (tmp_path / "fails.repro.json").exists()


def test_when_a_baseline_is_given_then_it_is_compared_and_updated_in_place_of_the_notebooks_ledger(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(tmp_path / "n.ipynb", "%%reproducible seed=4 record=v\nv = 0.5 * 3")
    baseline = tmp_path / "elsewhere.repro.json"
    assert verify(notebook, "--runs", "1")[0] == 0
    (tmp_path / "n.repro.json").rename(baseline)
    ledger = json.loads(baseline.read_text())
    ledger["records"][0]["values"]["v"]["value"] = 1.25
    baseline.write_text(json.dumps(ledger))
    status, out, _ = verify(notebook, "--baseline", str(baseline))
    assert status == 1 and "value 'v': ledger 1.25 vs run 1 1.5" in out
    status, out, _ = verify(notebook, "--baseline", str(baseline), "--update")
    assert status == 0 and f"ledger updated: {baseline}" in out
    assert json.loads(baseline.read_text())["records"][0]["values"]["v"]["value"] == 1.5
    assert not (tmp_path / "n.repro.json").exists()


def test_when_several_notebooks_are_verified_then_failing_to_run_outranks_differing(tmp_path: Path) -> None:
    good = write_notebook(tmp_path / "good.ipynb", "%%reproducible seed=1 record=a\na = 1.0")
    noisy = write_notebook(
        tmp_path / "noisy.ipynb",
        "%%reproducible seed=1 record=b\nimport numpy as np\nb = np.random.default_rng().random()",
    )
    broken = write_notebook(tmp_path / "broken.ipynb", "raise ValueError('first line\\nsecond line\\nthird line')")
    status, out, _ = run_cli(str(good), str(noisy), "--quiet")
    assert status == 1, out
    assert out.endswith("2 notebooks: 1 reproduced, 1 differs, 0 failed to run\n")
    status, out, _ = run_cli(str(good), str(noisy), str(broken), "--quiet", "--runs", "1")
    assert status == 3, out
    failure = out[out.index("broken.ipynb: FAILED") :].splitlines()
    assert failure[1:] == ["    ValueError: first line", "3 notebooks: 2 reproduced, 0 differ, 1 failed to run"]


def test_when_the_kernel_cannot_start_then_3_saying_so_before_the_first_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "share" / "jupyter" / "kernels" / "broken"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(tmp_path / "no-python"), "-f", "{connection_file}"],
                "display_name": "x",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share" / "jupyter"))
    notebook = write_notebook(tmp_path / "n.ipynb", "x = 1")
    status, out, _ = verify(notebook, "--kernel", "broken")
    assert status == 3, out
    assert "FAILED to run, in run 1, at the start, before the first cell" in out
    assert "the kernel could not start: No such file or directory" in out


def test_when_a_recorded_value_prints_with_a_memory_address_then_fresh_runs_agree_and_the_record_names_its_type(
    tmp_path: Path,
) -> None:
    notebook = write_notebook(
        tmp_path / "objects.ipynb",
        "import numpy as np\nclass Point:\n    pass",
        "%%reproducible seed=1 record=points,by_point,count\n"
        "points = np.array([Point(), Point()], dtype=object)\n"
        "by_point = {Point(): 1}\n"
        "count = len(points)",
    )
    status, out, _ = verify(notebook)
    assert status == 0, out
    (record,) = Ledger.load(tmp_path / "objects.repro.json").records
    assert record["values"]["points"] == {
        "type": "unsupported",
        "python_type": "numpy.ndarray",
        "reason": "its elements (__main__.Point) print with a memory address",
    }
    assert record["values"]["by_point"]["python_type"] == "builtins.dict"
    assert "0x" not in (tmp_path / "objects.repro.json").read_text()
