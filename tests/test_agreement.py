"""Every surface gives one answer: the verdict of each cell, and whether a cell is stale.

One real run is read by the terminal, the JSON report, the HTML page and the
JupyterLab server's badge data, and they must name the same verdict for each
cell; `--check-ledger`, `%repro_status` and the server's stale badges must
name the same stale cells.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli, write_notebook
from IPython.utils.capture import capture_output

pytest_plugins = ["pytest_jupyter.jupyter_server"]

API = "repro-magics"

REPRODUCES = "%%reproducible seed=1 record=x\nimport numpy as np\nx = np.random.rand(3)"
SHIFTED = "%%reproducible seed=2 record=y\nfrom pathlib import Path\ny = float(Path('offset.txt').read_text())"
NOTHING = "%%reproducible seed=3\nz = 1"
PLAIN = "print('plain')"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"repro_magics.jupyter": True}}}


def _html_verdicts(page: str) -> dict[str, str]:
    """{cell id: verdict} from the HTML page's table of code cells (its rows' `cell-<verdict>` classes)."""
    rows = re.findall(r'<tr class="cell-([a-z-]+)[^"]*" data-cell-id="([^"]*)">', page)
    return {cell_id: verdict.replace("-", " ") for verdict, cell_id in rows}


def _json_verdicts(report: dict[str, Any]) -> dict[str, str]:
    (notebook,) = report["notebooks"]
    return {cell["cell_id"]: cell["verdict"] for cell in notebook["cells"]}


async def _server_job(jp_fetch: Any, path: str) -> dict[str, Any]:
    response = await jp_fetch(API, "verifications", method="POST", body=json.dumps({"path": path}))
    job = json.loads(response.body)
    for _ in range(900):
        job = json.loads((await jp_fetch(API, "verifications", job["id"])).body)
        if job["state"] != "running":
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"the server's verification did not end: {job}")


@pytest.mark.kernel
async def test_when_one_run_has_identical_diverged_and_nothing_recorded_cells_then_every_surface_agrees_cell_by_cell(
    jp_fetch: Any, jp_root_dir: Path, tmp_path: Path
) -> None:
    (jp_root_dir / "offset.txt").write_text("0")
    notebook = write_notebook(jp_root_dir / "mixed.ipynb", PLAIN, REPRODUCES, SHIFTED, NOTHING)
    status, out, err = await asyncio.to_thread(run_cli, str(notebook), "--runs", "1", "-q")
    assert status == 0, out + err

    # Nothing moved: the terminal's count of cells agrees with the per-cell verdicts of the JSON.
    same_json = tmp_path / "same.json"
    status, out, _ = await asyncio.to_thread(run_cli, str(notebook), "-q", "--json", str(same_json))
    assert status == 0
    assert _json_verdicts(json.loads(same_json.read_text())) == {
        "c0": "not recorded",
        "c1": "identical",
        "c2": "identical",
        "c3": "nothing recorded",
    }
    assert re.search(r"identical to the ledger, bitwise \(2 cells, 4 numbers; 1 cell with nothing recorded;", out), out

    # The second value moves: each surface names the same verdict for each cell.
    (jp_root_dir / "offset.txt").write_text("0.5")
    report_json, page = tmp_path / "r.json", tmp_path / "r.html"
    status, out, _ = await asyncio.to_thread(
        run_cli, str(notebook), "-q", "--json", str(report_json), "--html", str(page)
    )
    job = await _server_job(jp_fetch, "mixed.ipynb")

    expected = {"c0": "not recorded", "c1": "identical", "c2": "diverged", "c3": "nothing recorded"}
    report = json.loads(report_json.read_text())
    assert status == job["exit_status"] == 1
    assert _json_verdicts(report) == expected
    assert _html_verdicts(page.read_text()) == expected
    assert {cell_id: cell["verdict"] for cell_id, cell in job["cells"].items()} == expected
    assert _json_verdicts(job["report"]) == expected
    # The terminal names the diverged cell and no other.
    assert "DIVERGED, run 1 vs ledger, first at cell 3 (id c2)" in out
    assert "later cells that differ too" not in out
    (comparison,) = report["notebooks"][0]["comparisons"]
    assert (comparison["cells_compared"], comparison["cells_with_nothing_recorded"]) == (2, 1)


async def test_when_a_recorded_cell_is_edited_then_check_ledger_repro_status_and_the_stale_badges_agree(
    jp_fetch: Any, jp_root_dir: Path, ipython: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, edited = "%%reproducible seed=5 record=a\na = 1.5", "%%reproducible seed=6 record=b\nb = 2.5"
    notebook = write_notebook(jp_root_dir / "edited.ipynb", kept, edited, PLAIN)
    monkeypatch.setenv("REPRO_MAGICS_NOTEBOOK", str(notebook))
    monkeypatch.setenv("REPRO_MAGICS_LEDGER", str(jp_root_dir / "edited.repro.json"))
    assert ipython.run_cell(kept).success and ipython.run_cell(edited).success
    data = json.loads(notebook.read_text())
    data["cells"][1]["source"] = edited.replace("2.5", "3.5")
    notebook.write_text(json.dumps(data))

    status, out, _ = run_cli("--check-ledger", str(notebook))
    with capture_output() as captured:
        ipython.run_line_magic("repro_status", "")
    (shown,) = captured.outputs
    badges = json.loads((await jp_fetch(API, "stale", params={"path": "edited.ipynb"})).body)["stale"]

    stale_by_check = set(re.findall(r"\(id (c\d)\): .*changed since its ledger record was made", out))
    stale_by_status = {
        line.split()[1] for line in shown.data["text/plain"].splitlines()[2:] if " STALE " in f" {line} "
    }
    assert status == 1
    assert stale_by_check == stale_by_status == set(badges) == {"c1"}
