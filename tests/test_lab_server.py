"""The server extension against a real Jupyter server (pytest-jupyter) with real kernels."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from helpers import ledger_data, run_cli, write_notebook
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

API = "repro-magics"
NOTEBOOK = "work/shifted.ipynb"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"repro_magics.jupyter": True}}}


def _write_shifted_notebook(folder: Path) -> Path:
    """Two recorded cells; the second adds the number in offset.txt, so changing the file changes its value."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "offset.txt").write_text("0")
    return write_notebook(
        folder / "shifted.ipynb",
        "import numpy as np\nfrom pathlib import Path",
        "%%reproducible seed=3 record=x\nx = np.random.rand(4)",
        "%%reproducible seed=4 record=shifted\nshifted = np.random.rand(3) + float(Path('offset.txt').read_text())",
        "import time\ntime.sleep(1)",
    )


@pytest.fixture(scope="module")
def ledgered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook with a ledger made by `repro-verify --runs 1`, once for this module."""
    folder = tmp_path_factory.mktemp("ledgered") / "work"
    notebook = _write_shifted_notebook(folder)
    status, _, err = run_cli(str(notebook), "--runs", "1", "-q")
    assert status == 0, err
    return folder


def _kernels_of_this_process() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if child.is_running() and "ipykernel_launcher" in " ".join(child.cmdline())
    ]


async def _post(jp_fetch: Any, **body: Any) -> dict[str, Any]:
    response = await jp_fetch(API, "verifications", method="POST", body=json.dumps(body))
    assert response.code == 202
    return json.loads(response.body)


async def _get(jp_fetch: Any, job_id: str) -> dict[str, Any]:
    return json.loads((await jp_fetch(API, "verifications", job_id)).body)


async def _wait(jp_fetch: Any, job_id: str, until: Any, timeout: float = 180) -> tuple[dict[str, Any], list[Any]]:
    """Poll the job until `until(job)`; returns the job and every progress seen on the way."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        job = await _get(jp_fetch, job_id)
        seen.append((job["progress"], job["elapsed"]))
        if until(job):
            return job, seen
        await asyncio.sleep(0.2)
    raise AssertionError(f"the verification did not get there in {timeout} s: {job}")


def _failure_status(error: HTTPClientError) -> tuple[int, str]:
    assert error.response is not None
    return error.code, json.loads(error.response.body)["message"]


def _without_timings(report: dict[str, Any]) -> dict[str, Any]:
    for notebook in report["notebooks"]:
        for run in notebook["runs"]:
            run.pop("seconds")
    return report


@pytest.mark.kernel
async def test_when_a_value_moved_then_the_job_reports_progress_and_the_clis_lines_json_and_cell_verdicts(
    jp_fetch: Any, jp_root_dir: Path, ledgered: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ledgered, jp_root_dir / "work")
    (jp_root_dir / "work" / "offset.txt").write_text("0.5")

    started = await _post(jp_fetch, path=NOTEBOOK)
    assert started["state"] == "running" and started["notebook"] == NOTEBOOK
    job, seen = await _wait(jp_fetch, started["id"], lambda job: job["state"] != "running")

    assert job["state"] == "done", job["message"]
    progress = [p for p, _ in seen if p and p["cell"]]
    assert {(p["run"], p["runs"], p["cells"]) for p in progress} == {(1, 1, 4)}
    assert 4 in {p["cell"] for p in progress}
    assert progress[-1]["source"] == "import time"
    assert job["elapsed"] > 0
    assert job["exit_status"] == 1 and job["verdict"] == "diverged"
    assert job["cells"]["c1"]["verdict"] == "identical"
    assert job["cells"]["c2"]["verdict"] == "diverged"
    values = re.fullmatch(r"value 'shifted', element \[0\]: ledger (\S+) vs run 1 (\S+)", job["cells"]["c2"]["detail"])
    assert values is not None and float(values[2]) - float(values[1]) == pytest.approx(0.5)
    assert {job["cells"][cell]["verdict"] for cell in ("c0", "c3")} == {"not recorded"}
    assert job["stale"] == {}

    # The server names the notebook as `repro-verify` run in its root does: relative to the root.
    monkeypatch.chdir(jp_root_dir)
    # The CLI runs its kernels on an event loop of its own, so not on this test's running one.
    status, out, _ = await asyncio.to_thread(run_cli, NOTEBOOK, "-q", "--json", str(tmp_path / "cli.json"))
    assert status == job["exit_status"]
    assert [re.sub(r"in \d+\.\d s", "in T s", line) for line in job["lines"]] == [
        re.sub(r"in \d+\.\d s", "in T s", line) for line in out.splitlines()
    ]
    assert _without_timings(job["report"]) == _without_timings(json.loads((tmp_path / "cli.json").read_text()))


def _parts_of_the_root(root: Path) -> set[str]:
    """The root's absolute path, as given and resolved, and each of its folders' names that could only come from it."""
    paths = {str(root), os.path.realpath(root)}
    return paths | {part for path in paths for part in Path(path).parts if len(part) > 4 and part != "root"}


@pytest.mark.kernel
async def test_when_a_notebook_in_a_folder_is_verified_then_its_report_names_it_relative_to_the_root_only(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    folder = jp_root_dir / "projects" / "digits"
    _write_shifted_notebook(folder)
    name = "projects/digits/shifted.ipynb"

    started = await _post(jp_fetch, path=name)
    job, _ = await _wait(jp_fetch, started["id"], lambda job: job["state"] != "running")

    assert job["state"] == "done", job["message"]
    assert job["lines"][0].startswith(f"{name}: identical across the fresh runs, bitwise (2 cells")
    assert "  ledger saved: projects/digits/shifted.repro.json (2 cell records)" in job["lines"]
    [report] = job["report"]["notebooks"]
    assert (report["notebook"], report["ledger"]) == (name, "projects/digits/shifted.repro.json")
    sent = json.dumps(job)
    assert [part for part in _parts_of_the_root(jp_root_dir) if part in sent] == []


@pytest.mark.kernel
async def test_when_a_value_moves_within_the_tolerance_asked_for_then_that_cell_alone_is_within_tolerance(
    jp_fetch: Any, jp_root_dir: Path, ledgered: Path
) -> None:
    shutil.copytree(ledgered, jp_root_dir / "work")
    (jp_root_dir / "work" / "offset.txt").write_text("1e-12")

    started = await _post(jp_fetch, path=NOTEBOOK, atol=1e-9)
    job, _ = await _wait(jp_fetch, started["id"], lambda job: job["state"] != "running")

    assert (job["exit_status"], job["verdict"]) == (0, "within tolerance")
    assert job["cells"]["c1"] == {"verdict": "identical", "detail": "identical, bitwise (run 1 vs ledger)"}
    assert job["cells"]["c2"] == {
        "verdict": "within tolerance",
        "detail": "equal within rtol 0, atol 1e-09, not bitwise",
    }
    assert job["lines"][0].endswith(
        "shifted.ipynb: within tolerance to the ledger (rtol 0, atol 1e-09; 2 cells, 7 numbers; 1 fresh run in "
        + job["lines"][0].rsplit(" in ", 1)[1]
    )


@pytest.mark.kernel
async def test_when_a_cell_raises_then_it_is_failed_with_the_one_line_reason_and_later_cells_not_run(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "fails.ipynb",
        "%%reproducible seed=1 record=x\nx = 1.5",
        "ratio = 1 / 0",
        "print(x)",
    )

    started = await _post(jp_fetch, path="fails.ipynb")
    job, _ = await _wait(jp_fetch, started["id"], lambda job: job["state"] != "running")

    assert (job["state"], job["exit_status"], job["verdict"]) == ("done", 3, "failed to run")
    assert job["cells"] == {
        "c0": {"verdict": "recorded", "detail": "recorded; not compared, since the run failed"},
        "c1": {"verdict": "failed to run", "detail": "ZeroDivisionError: division by zero"},
        "c2": {"verdict": "not run", "detail": "not run: an earlier cell failed"},
    }
    assert job["lines"][1] == "    ZeroDivisionError: division by zero"
    assert not (jp_root_dir / "fails.repro.json").exists()


@pytest.mark.kernel
async def test_when_a_recorded_cell_is_edited_then_it_alone_is_stale_without_running_anything(
    jp_fetch: Any, jp_root_dir: Path, ledgered: Path
) -> None:
    shutil.copytree(ledgered, jp_root_dir / "work")
    unchanged = json.loads((await jp_fetch(API, "stale", params={"path": NOTEBOOK})).body)
    notebook_path = jp_root_dir / NOTEBOOK
    notebook = json.loads(notebook_path.read_text())
    notebook["cells"][2]["source"] = "%%reproducible seed=4 record=shifted\nshifted = np.random.rand(3) * 2"
    notebook_path.write_text(json.dumps(notebook))

    edited = json.loads((await jp_fetch(API, "stale", params={"path": NOTEBOOK})).body)

    assert unchanged == {"stale": {}}
    assert list(edited["stale"]) == ["c2"]
    assert "the ledger has: %%reproducible seed=4 record=shifted" in edited["stale"]["c2"]
    assert not _kernels_of_this_process()


def _slow_notebook(root: Path) -> None:
    write_notebook(
        root / "slow.ipynb",
        "%%reproducible seed=1 record=x\nx = 1.5",
        "import time\ntime.sleep(120)",
    )


async def _wait_for_the_sleeping_cell(jp_fetch: Any, job_id: str) -> None:
    await _wait(jp_fetch, job_id, lambda job: job["progress"] and job["progress"]["cell"] == 2, timeout=120)


@pytest.mark.kernel
async def test_when_cancelled_mid_cell_then_its_kernel_is_gone_at_once_and_no_ledger_is_written(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    _slow_notebook(jp_root_dir)
    job = await _post(jp_fetch, path="slow.ipynb")
    await _wait_for_the_sleeping_cell(jp_fetch, job["id"])
    kernels = _kernels_of_this_process()
    assert len(kernels) == 1

    cancelled_at = time.monotonic()
    response = await jp_fetch(API, "verifications", job["id"], method="DELETE")
    assert response.code == 202
    job, _ = await _wait(jp_fetch, job["id"], lambda job: job["state"] != "running", timeout=30)

    assert job["state"] == "cancelled"
    assert time.monotonic() - cancelled_at < 10
    assert job["message"] == "cancelled; the verification's kernel was stopped and no ledger was written"
    assert not kernels[0].is_running() or kernels[0].status() == psutil.STATUS_ZOMBIE
    assert not _kernels_of_this_process()
    assert not (jp_root_dir / "slow.repro.json").exists()


@pytest.mark.kernel
async def test_when_the_ledger_becomes_a_link_out_of_the_root_during_a_job_then_nothing_is_written_through_it(
    jp_fetch: Any, jp_root_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write_notebook(jp_root_dir / "swap.ipynb", "%%reproducible seed=1 record=x\nx = 1.5", "import time\ntime.sleep(2)")
    job = await _post(jp_fetch, path="swap.ipynb")
    await _wait_for_the_sleeping_cell(jp_fetch, job["id"])
    (jp_root_dir / "swap.repro.json").symlink_to(outside / "private.json")

    job, _ = await _wait(jp_fetch, job["id"], lambda job: job["state"] != "running")

    assert job["state"] == "done", job["message"]
    assert job["lines"][-1] == (
        "  ledger not written: the ledger swap.repro.json of swap.ipynb links to a file outside the server's root "
        "directory; the server reads and writes only files inside it"
    )
    assert job["exit_status"] == 4
    assert list(outside.iterdir()) == []
    assert (jp_root_dir / "swap.repro.json").is_symlink()


@pytest.mark.kernel
async def test_when_a_notebook_is_already_being_verified_then_a_second_request_is_refused_with_409(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    _slow_notebook(jp_root_dir)
    first = await _post(jp_fetch, path="slow.ipynb")

    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(API, "verifications", method="POST", body=json.dumps({"path": "slow.ipynb"}))
    latest = json.loads((await jp_fetch(API, "verifications", params={"path": "slow.ipynb"})).body)
    await jp_fetch(API, "verifications", first["id"], method="DELETE")
    await _wait(jp_fetch, first["id"], lambda job: job["state"] != "running", timeout=60)

    status, message = _failure_status(refused.value)
    assert status == 409
    assert message.startswith("slow.ipynb is already being verified (started ")
    assert message.endswith("wait for it to finish or cancel it")
    assert json.loads(refused.value.response.body)["job"]["id"] == first["id"] == latest["id"]


@pytest.mark.kernel
async def test_when_the_server_stops_then_running_verifications_stop_and_leave_no_kernel(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    _slow_notebook(jp_root_dir)
    job = await _post(jp_fetch, path="slow.ipynb")
    await _wait_for_the_sleeping_cell(jp_fetch, job["id"])
    assert len(_kernels_of_this_process()) == 1

    await jp_serverapp.extension_manager.stop_all_extensions()

    assert (await _get(jp_fetch, job["id"]))["state"] == "cancelled"
    assert not _kernels_of_this_process()


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("../outside.ipynb", 403, "../outside.ipynb is outside the server's root directory"),
        ("work/../../outside.ipynb", 403, "work/../../outside.ipynb is outside the server's root directory"),
        ("/etc/outside.ipynb", 403, "/etc/outside.ipynb is outside the server's root directory"),
        ("link/outside.ipynb", 403, "link/outside.ipynb is outside the server's root directory"),
        ("notes.txt", 400, "notes.txt is not a notebook (.ipynb)"),
        ("missing.ipynb", 404, "does not exist"),
    ],
)
async def test_when_a_path_is_outside_the_root_or_not_a_notebook_then_4xx_and_nothing_runs(
    jp_fetch: Any, jp_root_dir: Path, tmp_path: Path, path: str, status: int, message: str
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_notebook(outside / "outside.ipynb", "x = 1")
    write_notebook(jp_root_dir.parent / "outside.ipynb", "x = 1")
    (jp_root_dir / "link").symlink_to(outside)
    (jp_root_dir / "work").mkdir()
    (jp_root_dir / "notes.txt").write_text("not a notebook")

    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(API, "verifications", method="POST", body=json.dumps({"path": path}))
    with pytest.raises(HTTPClientError) as refused_stale:
        await jp_fetch(API, "stale", params={"path": path})

    for error in (refused.value, refused_stale.value):
        code, said = _failure_status(error)
        assert code == status
        assert message in said
    assert not _kernels_of_this_process()


@pytest.mark.parametrize("runs", [-1, 0, 1, 2, 99, 100, 101, 10**6])
def test_when_runs_is_checked_then_the_server_applies_the_command_lines_rule_under_its_own_cap(runs: int) -> None:
    from repro_magics.exceptions import ArgumentError
    from repro_magics.jupyter.options import MAX_RUNS, verify_options
    from repro_magics.jupyter.paths import Refused
    from repro_magics.verify.options import parse_count

    try:
        command_line_accepts = parse_count(str(runs)) == runs
    except ArgumentError:
        command_line_accepts = False
    try:
        server_accepts = verify_options({"path": "a.ipynb", "runs": runs}).runs == runs
    except Refused as refused:
        assert str(refused) == f"runs must be a whole number from 1 to {MAX_RUNS}, got {runs}"
        server_accepts = False
    assert server_accepts == (command_line_accepts and runs <= MAX_RUNS)
    assert command_line_accepts == (runs >= 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"path": "a.ipynb", "rtol": -1}, "rtol must be a finite number of 0 or more, got -1"),
        ({"path": "a.ipynb", "runs": 0}, "runs must be a whole number from 1 to 100, got 0"),
        ({"path": "a.ipynb", "update": "yes"}, "update must be true or false, got 'yes'"),
        (
            {"path": "a.ipynb", "baseline": "x"},
            "unknown option 'baseline'; the options are rtol, atol, runs and update",
        ),
        ({"notebook": "a.ipynb"}, 'say which notebook to verify: {"path": "folder/notebook.ipynb"}'),
    ],
)
async def test_when_an_option_is_wrong_then_400_saying_which(jp_fetch: Any, body: dict[str, Any], message: str) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(API, "verifications", method="POST", body=json.dumps(body))
    assert _failure_status(refused.value) == (400, message)


@pytest.mark.parametrize(
    ("method", "parts", "body"),
    [
        ("POST", ("verifications",), json.dumps({"path": "a.ipynb"})),
        ("GET", ("verifications",), None),
        ("GET", ("verifications", "0" * 32), None),
        ("DELETE", ("verifications", "0" * 32), None),
        ("GET", ("stale",), None),
    ],
)
async def test_when_a_request_has_no_valid_token_then_403_and_nothing_runs(
    jp_fetch: Any, jp_root_dir: Path, method: str, parts: tuple[str, ...], body: str | None
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "%%reproducible seed=1 record=x\nx = 1")
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(
            API, *parts, method=method, body=body, params={"path": "a.ipynb"}, headers={"Authorization": "token wrong"}
        )
    assert refused.value.code == 403
    assert not _kernels_of_this_process()


@pytest.mark.kernel
@pytest.mark.parametrize("other_name", ["./slow.ipynb", "sub/../slow.ipynb", "alias.ipynb"])
async def test_when_the_notebook_being_verified_is_named_another_way_then_that_request_is_refused_with_409_too(
    jp_fetch: Any, jp_root_dir: Path, other_name: str
) -> None:
    _slow_notebook(jp_root_dir)
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / "alias.ipynb").symlink_to("slow.ipynb")
    first = await _post(jp_fetch, path="slow.ipynb")

    try:
        with pytest.raises(HTTPClientError) as refused:
            await jp_fetch(API, "verifications", method="POST", body=json.dumps({"path": other_name, "update": True}))
        latest = json.loads((await jp_fetch(API, "verifications", params={"path": other_name})).body)
    finally:
        await jp_fetch(API, "verifications", first["id"], method="DELETE")
        await _wait(jp_fetch, first["id"], lambda job: job["state"] != "running", timeout=60)

    status, message = _failure_status(refused.value)
    assert status == 409
    assert message.startswith("slow.ipynb is already being verified (started ")
    assert json.loads(refused.value.response.body)["job"]["id"] == first["id"] == latest["id"]


SECRET = "s3cret-api-token-7f3a"


def _server_trouble(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What the server logged as an error or with a traceback."""
    return [
        record.getMessage()[:300]
        for record in caplog.records
        if record.exc_info or record.levelno >= logging.ERROR or "Traceback" in record.getMessage()
    ]


async def _refused(jp_fetch: Any, request: str, path: str, **options: Any) -> tuple[int, str, str]:
    """Ask about `path` (`request` is "verify", "stale" or "latest"); the refusal's status, message and whole body."""
    with pytest.raises(HTTPClientError) as refused:
        if request == "verify":
            await jp_fetch(API, "verifications", method="POST", body=json.dumps({"path": path, **options}))
        elif request == "stale":
            await jp_fetch(API, "stale", params={"path": path})
        else:
            await jp_fetch(API, "verifications", params={"path": path})
    assert refused.value.response is not None
    status, message = _failure_status(refused.value)
    return status, message, refused.value.response.body.decode()


def _one_sentence(message: str) -> bool:
    return "\n" not in message and len(message) < 300 and "Traceback" not in message


def _fingerprint(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in sorted(folder.iterdir())}


def _a_ledger_holding_a_secret() -> str:
    """A ledger in form, whose records are not records but something private, as in issue 16."""
    data = ledger_data()
    data["records"] = {"api_token": SECRET}
    return json.dumps(data)


@pytest.fixture
def outside(tmp_path: Path, jp_root_dir: Path) -> Path:
    """A folder beside the server's root, not in it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    assert not folder.resolve().is_relative_to(jp_root_dir.resolve())
    return folder


@pytest.mark.parametrize(
    ("which", "link", "target_text", "request_", "options"),
    [
        ("ledger", "r.repro.json", _a_ledger_holding_a_secret(), "stale", {}),
        ("ledger", "r.repro.json", _a_ledger_holding_a_secret(), "verify", {}),
        ("ledger", "r.repro.json", json.dumps(ledger_data()), "verify", {"update": True}),
        ("ledger", "r.repro.json", None, "verify", {}),
        ("journal", "r.repro.journal.jsonl", SECRET + "\n", "stale", {}),
        ("journal", "r.repro.journal.jsonl", SECRET + "\n", "verify", {}),
        ("lock", ".r.repro.lock", SECRET, "verify", {"update": True}),
    ],
    ids=[
        "stale, ledger linked out",
        "verify, ledger linked out",
        "verify --update, ledger linked out",
        "verify, ledger linked to a file that is not there yet",
        "stale, journal linked out",
        "verify, journal linked out",
        "verify --update, lock linked out",
    ],
)
async def test_when_a_ledger_file_links_outside_the_root_then_403_quoting_none_of_it_and_nothing_written_there(
    jp_fetch: Any,
    jp_root_dir: Path,
    outside: Path,
    caplog: pytest.LogCaptureFixture,
    which: str,
    link: str,
    target_text: str | None,
    request_: str,
    options: dict[str, Any],
) -> None:
    write_notebook(jp_root_dir / "r.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    if which != "ledger":
        (jp_root_dir / "r.repro.json").write_text(json.dumps(ledger_data()))
    target = outside / "private.txt"
    if target_text is not None:
        target.write_text(target_text)
    (jp_root_dir / link).symlink_to(target)
    before = _fingerprint(outside)

    status, message, body = await _refused(jp_fetch, request_, "r.ipynb", **options)

    assert status == 403
    assert message == (
        f"the {which} {link} of r.ipynb links to a file outside the server's root directory; "
        "the server reads and writes only files inside it"
    )
    assert SECRET not in body
    assert _fingerprint(outside) == before
    assert not _kernels_of_this_process()
    assert not _server_trouble(caplog)


@pytest.mark.parametrize(
    ("file", "text", "reason"),
    [
        ("r.repro.json", _a_ledger_holding_a_secret(), "it is corrupt or not a repro_magics ledger"),
        (
            "r.repro.json",
            json.dumps({**ledger_data(), "version": SECRET}),
            "it is corrupt or not a repro_magics ledger",
        ),
        ("r.repro.json", "\udcff" + SECRET, "it is corrupt or not a repro_magics ledger"),
        (
            "r.repro.json",
            json.dumps(ledger_data(x=1.5)).replace("1.5", "1" * 5000),
            "it is corrupt or not a repro_magics ledger",
        ),
        ("r.repro.json", '{"format": "repro-magics-ledger",\n "' + SECRET, "it is not valid JSON at line 2, column 2"),
        ("r.repro.journal.jsonl", '{"record": "' + SECRET + '"}\n', "line 1 is not a record"),
    ],
    ids=[
        "a record that is not one",
        "a version that is not one",
        "not UTF-8",
        "a 5000-digit number",
        "not JSON",
        "a journal line",
    ],
)
async def test_when_the_ledger_is_corrupt_then_400_names_the_file_and_quotes_none_of_it(
    jp_fetch: Any, jp_root_dir: Path, caplog: pytest.LogCaptureFixture, file: str, text: str, reason: str
) -> None:
    write_notebook(jp_root_dir / "r.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    if file != "r.repro.json":
        (jp_root_dir / "r.repro.json").write_text(json.dumps(ledger_data()))
    (jp_root_dir / file).write_bytes(text.encode("utf-8", "surrogateescape"))
    named = "ledger r.repro.json" if file == "r.repro.json" else "journal r.repro.journal.jsonl"

    for request_ in ("stale", "verify"):
        status, message, body = await _refused(jp_fetch, request_, "r.ipynb")
        assert status == 400
        assert (
            message
            == f"the {named} of r.ipynb cannot be read: {reason} (repro-verify --check-ledger r.ipynb says more)"
        )
        assert SECRET not in body
    assert not _kernels_of_this_process()
    assert not _server_trouble(caplog)


LONG_NAME = "a" * 4994 + ".ipynb"


@pytest.mark.parametrize(
    ("path", "requests", "status", "message"),
    [
        (LONG_NAME, ("verify", "stale"), 400, f"{LONG_NAME[:40]}… is too long for a file name on this server"),
        (LONG_NAME, ("latest",), 404, f"{LONG_NAME[:40]}… has not been verified since the server started"),
        ("loop.ipynb", ("verify", "stale"), 404, "loop.ipynb is a symbolic link that leads round in a loop"),
        ("a\x00.ipynb", ("verify",), 400, "the path holds a character that no file name can hold"),
        ("\ud800.ipynb", ("verify",), 400, "the path holds a character that no file name can hold"),
        ("folder.ipynb", ("verify", "stale"), 400, "folder.ipynb is a folder, not a notebook"),
        ("", ("verify", "stale", "latest"), 400, "the path is empty; name a notebook, such as folder/notebook.ipynb"),
    ],
    ids=[
        "5000 characters",
        "5000 characters, latest",
        "a symbolic link loop",
        "a NUL",
        "a lone surrogate",
        "a folder",
        "empty",
    ],
)
async def test_when_a_path_names_no_readable_notebook_then_4xx_in_one_sentence_and_no_traceback_in_the_log(
    jp_fetch: Any,
    jp_root_dir: Path,
    caplog: pytest.LogCaptureFixture,
    path: str,
    requests: tuple[str, ...],
    status: int,
    message: str,
) -> None:
    (jp_root_dir / "loop.ipynb").symlink_to("loop.ipynb")
    (jp_root_dir / "folder.ipynb").mkdir()

    for request_ in requests:
        said = await _refused(jp_fetch, request_, path)
        assert said[:2] == (status, message), request_
    assert not _kernels_of_this_process()
    assert not _server_trouble(caplog)


@contextlib.contextmanager
def _unblocking(*fifos: Path) -> Iterator[list[str]]:
    """Whoever opens one of `fifos` to read gets an empty file at once, instead of waiting forever.

    Yields the names of the fifos someone opened, so that a server that opens
    one fails the test rather than hanging it (and the test with it).
    """
    opened: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            for fifo in fifos:
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError as error:
                    assert error.errno == errno.ENXIO  # nobody is reading it
                else:
                    opened.append(fifo.name)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield opened
    finally:
        done.set()
        watcher.join()


@pytest.mark.parametrize(
    ("fifo", "message"),
    [
        ("pipe.ipynb", "pipe.ipynb is not a regular file"),
        ("r.repro.json", "the ledger r.repro.json of r.ipynb is not a regular file"),
        ("r.repro.journal.jsonl", "the journal r.repro.journal.jsonl of r.ipynb is not a regular file"),
    ],
)
async def test_when_a_file_to_read_is_a_fifo_then_400_at_once_and_nothing_waits_on_it(
    jp_fetch: Any, jp_root_dir: Path, caplog: pytest.LogCaptureFixture, fifo: str, message: str
) -> None:
    write_notebook(jp_root_dir / "r.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    if fifo == "r.repro.journal.jsonl":
        (jp_root_dir / "r.repro.json").write_text(json.dumps(ledger_data()))
    os.mkfifo(jp_root_dir / fifo)
    notebook = "pipe.ipynb" if fifo == "pipe.ipynb" else "r.ipynb"

    with _unblocking(jp_root_dir / fifo) as opened:
        answers = [(await _refused(jp_fetch, request_, notebook))[:2] for request_ in ("verify", "stale")]

    assert answers == [(400, message)] * 2
    assert opened == []
    assert not _kernels_of_this_process()
    assert not _server_trouble(caplog)


BIG = "1" + "0" * 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"path": "a.ipynb", "rtol": ' + BIG + "}", f"rtol must be a finite number of 0 or more, got {BIG[:40]}…"),
        ('{"path": "a.ipynb", "atol": 1e999}', "atol must be a finite number of 0 or more, got inf"),
        ('{"path": "a.ipynb", "atol": NaN}', "atol must be a finite number of 0 or more, got nan"),
        ('{"path": "a.ipynb", "rtol": -Infinity}', "rtol must be a finite number of 0 or more, got -inf"),
        ('{"path": "a.ipynb", "rtol": "0.1"}', "rtol must be a finite number of 0 or more, got '0.1'"),
        ('{"path": "a.ipynb", "runs": ' + BIG + "}", f"runs must be a whole number from 1 to 100, got {BIG[:40]}…"),
        ('{"path": "a.ipynb", "runs": 101}', "runs must be a whole number from 1 to 100, got 101"),
        ('{"path": "a.ipynb", "runs": 2.0}', "runs must be a whole number from 1 to 100, got 2.0"),
        ('{"path": "a.ipynb", "runs": true}', "runs must be a whole number from 1 to 100, got True"),
        ('{"path": "a.ipynb", "update": ' + BIG + "}", f"update must be true or false, got {BIG[:40]}…"),
        (
            '{"path": "a.ipynb", "' + "x" * 5000 + '": 1}',
            f"unknown option '{'x' * 39}…; the options are rtol, atol, runs and update",
        ),
        ('{"path": "a.ipynb", "runs": 1' + "0" * 5000 + "}", "the request body holds a number too long to read"),
        ("[" * 100_000 + "]" * 100_000, "the request body is nested too deeply to read"),
        (b'{"path": "\xff.ipynb"}', "the request body is not UTF-8 text"),
        ('{"path": "a.ipynb"', "the request body is not JSON"),
        ('["a.ipynb"]', 'say which notebook to verify: {"path": "folder/notebook.ipynb"}'),
    ],
    ids=[
        "rtol 10**400",
        "atol 1e999",
        "atol NaN",
        "rtol -Infinity",
        "rtol text",
        "runs 10**400",
        "runs 101",
        "runs 2.0",
        "runs true",
        "update 10**400",
        "an option named with 5000 characters",
        "a 5000-digit number",
        "nested 100,000 deep",
        "not UTF-8",
        "not JSON",
        "not an object",
    ],
)
async def test_when_the_request_body_is_unreadable_or_out_of_range_then_400_in_one_sentence_and_no_traceback(
    jp_fetch: Any, jp_root_dir: Path, caplog: pytest.LogCaptureFixture, body: str | bytes, message: str
) -> None:
    write_notebook(jp_root_dir / "a.ipynb", "%%reproducible seed=1 record=x\nx = 1.5")
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(API, "verifications", method="POST", body=body)

    assert _failure_status(refused.value) == (400, message)
    assert _one_sentence(message)
    assert not _kernels_of_this_process()
    assert not _server_trouble(caplog)


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        ("stale", {}, "Missing argument path"),
        ("verifications", {}, "Missing argument path"),
        ("stale", {"path": b"\xff.ipynb"}, "Invalid unicode in path: b'\\xff.ipynb'"),
        ("verifications", {"path": b"\xff.ipynb"}, "Invalid unicode in path: b'\\xff.ipynb'"),
    ],
)
async def test_when_the_path_argument_is_missing_or_not_utf8_then_400_and_no_traceback_in_the_log(
    jp_fetch: Any, caplog: pytest.LogCaptureFixture, url: str, params: dict[str, bytes], message: str
) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch(API, url, params=params)
    assert _failure_status(refused.value) == (400, message)
    assert not _server_trouble(caplog)


def _listed(module: str) -> str:
    """`jupyter server extension list` / `jupyter labextension list`, run by this Python."""
    done = subprocess.run(
        [sys.executable, "-m", module, "list"], capture_output=True, text=True, timeout=120, check=True
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


@pytest.mark.skipif(
    not (Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "repro-magics").exists(),
    reason="the package is not installed in this environment (pip install -e . installs it)",
)
def test_when_installed_then_jupyter_lists_the_server_and_lab_extensions_enabled() -> None:
    server = _listed("jupyter_server.extension.serverextension")
    lab = _listed("jupyterlab.labextensions")

    assert re.search(
        r"repro_magics\.jupyter enabled\s+- Validating repro_magics\.jupyter\.\.\.\s+repro_magics\.jupyter \S+ OK",
        server,
    )
    assert re.search(r"repro-magics v\S+ enabled OK \(python, repro-magics\)", lab)
