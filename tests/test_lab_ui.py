"""End to end in a real browser: JupyterLab 4 and Notebook 7 on 127.0.0.1, headless Chromium.

The server is `jupyter lab` with this package's server extension and
prebuilt frontend, as `pip install` sets them up; Playwright drives the
system's Chromium (`/usr/bin/chromium`, Debian's `chromium` package).
Screenshots go to tests/ui-artifacts/; docs/lab.md shows some of them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from helpers import CHROMIUM_FLAGS
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from repro_magics.kernel_extension import KERNEL_EXT_ARGUMENT

pytestmark = [pytest.mark.ui, pytest.mark.kernel]

REPOSITORY = Path(__file__).resolve().parent.parent
BUILT_FRONTEND = REPOSITORY / "repro_magics" / "labextension"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPOSITORY / "tests" / "ui-artifacts"
VERIFICATION_TIMEOUT_MS = 300_000

sync_api = pytest.importorskip("playwright.sync_api", reason="the UI tests need playwright (the test extra)")
if not CHROMIUM.exists():
    pytest.skip("the UI tests need Chromium at /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)
if (
    not (BUILT_FRONTEND / "package.json").exists()
    and not (Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "repro-magics").exists()
):
    pytest.skip("the frontend is not built (pip install -e . builds it)", allow_module_level=True)


def _notebook(path: Path, title: str, *sources: str) -> None:
    notebook = new_notebook(cells=[new_markdown_cell(title), *(new_code_cell(source) for source in sources)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"c{index}"
    nbformat.write(notebook, str(path))


def _write_notebooks(root: Path) -> None:
    _notebook(
        root / "reproduces.ipynb",
        "# Reproduces: every random draw comes from a seeded generator",
        "import numpy as np",
        "%%reproducible seed=812 record=weights\nweights = np.random.normal(size=(8, 8))",
        "%%reproducible seed=813 record=noise\nnoise = np.random.default_rng(813).normal(size=16)",
        "print(weights.sum() + noise.sum())",
    )
    _notebook(
        root / "augment.ipynb",
        "# Augment: one cell draws from a generator seeded by the operating system",
        "import numpy as np",
        "%%reproducible seed=812 record=noise\n"
        "noise = np.random.normal(size=(4, 4))  # NumPy's global generator: the magic resets it",
        "%%reproducible seed=812 record=jittered\n"
        "rng = np.random.default_rng()  # a new generator seeded by the OS: nothing resets it\n"
        "jittered = noise + rng.normal(scale=0.01, size=noise.shape)",
        "print(jittered.mean())",
    )
    _notebook(
        root / "slow.ipynb",
        "# Slow: a long cell to cancel",
        "%%reproducible seed=1 record=x\nx = 1.5",
        "import time\ntime.sleep(300)",
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _installed_here() -> bool:
    return (Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "repro-magics").exists()


class Lab:
    """A `jupyter lab` server in a subprocess, serving JupyterLab and Notebook 7."""

    def __init__(self, folder: Path) -> None:
        # The side panel names the notebook relative to the server's root; a root named like a user's project
        # (rather than pytest's deep temporary folder) keeps the rest of the screenshots in docs/ plain too,
        # and a folder name of its own lets a test check that the browser is never sent the root's path.
        self._short = Path(tempfile.mkdtemp(prefix="lab-"))
        self.root = self._short / "projects" / "digits"
        self.root.mkdir(parents=True)
        _write_notebooks(self.root)
        self.port, self.token = _free_port(), uuid.uuid4().hex
        environment = {**os.environ, "JUPYTER_CONFIG_DIR": str(folder / "config"), "HOME": str(folder / "home")}
        settings = folder / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        # No news or update toasts over the notebook.
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        if not _installed_here():
            # A checkout that was not pip-installed: lay the files out as the wheel installs them.
            share = folder / "share" / "jupyter" / "labextensions"
            shutil.copytree(BUILT_FRONTEND, share / "repro-magics")
            config = folder / "etc" / "jupyter" / "jupyter_server_config.d"
            config.mkdir(parents=True)
            shutil.copy(REPOSITORY / "jupyter-config" / "server-config" / "repro_magics.json", config)
            environment["JUPYTER_PATH"] = str(folder / "share" / "jupyter")
            environment["JUPYTER_CONFIG_PATH"] = str(folder / "etc" / "jupyter")
        self.log = (folder / "lab.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                f"--IdentityProvider.token={self.token}",
                "--allow-root",
                f"--ServerApp.root_dir={self.root}",
                f"--LabApp.user_settings_dir={folder / 'settings'}",
                f"--LabApp.workspaces_dir={folder / 'workspaces'}",
            ],
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                self.api("status")
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not start; see {folder / 'lab.log'}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def api(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(f"api/{path}"), timeout=10) as response:
            return json.loads(response.read())

    def verification_kernels(self) -> list[psutil.Process]:
        """Kernels that verifications started (the reproducible kernel loads the extension on start)."""
        return [
            child
            for child in psutil.Process(self.process.pid).children(recursive=True)
            if child.is_running() and child.status() != psutil.STATUS_ZOMBIE and KERNEL_EXT_ARGUMENT in child.cmdline()
        ]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self._short, ignore_errors=True)


# pytest-jupyter (loaded by test_lab_server.py) gives every test an event loop
# that it closes afterwards; here Playwright's own loop is still running then.
# These tests start no in-process server, so they need neither fixture.
@pytest.fixture
def jp_asyncio_loop() -> None:
    return None


@pytest.fixture
def jp_server_cleanup() -> None:
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"))
    context.close()


def _open(page: Any, lab: Lab, path: str) -> Any:
    # `reset`: a fresh JupyterLab workspace, without the tabs an earlier test left open.
    page.goto(lab.url(path).replace("?", "?reset&"))
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    sync_api.expect(panel.locator(".jp-ReproVerifyButton")).to_be_visible(timeout=120_000)
    sync_api.expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=60_000)
    notebook = path.rsplit("/", 1)[-1]
    deadline = time.monotonic() + 120
    while not any(
        session["path"] == notebook and session["kernel"]["execution_state"] == "idle"
        for session in lab.api("sessions")
    ):
        assert time.monotonic() < deadline, f"the user's kernel for {notebook} did not start"
        time.sleep(0.5)
    return panel


def _verify_the_saved_version(page: Any, notebook: Path) -> None:
    """Answer the unsaved-changes question without saving.

    JupyterLab writes the kernel's `language_info` into a notebook that has
    none as soon as its kernel starts, so a freshly opened test notebook has
    unsaved changes.
    """
    saved = notebook.read_bytes()
    dialog = page.locator(".jp-Dialog")
    sync_api.expect(dialog).to_contain_text("Save before verifying?")
    dialog.get_by_role("button", name="Verify the saved version").click()
    sync_api.expect(dialog).to_have_count(0)
    assert notebook.read_bytes() == saved


def _wait_for_the_verdict(panel: Any) -> str:
    # Found wherever it is: a narrow toolbar moves its last items into its "..." menu.
    status = panel.page.locator(".jp-ReproStatus")
    sync_api.expect(status).to_have_text(
        re.compile(r"^(✓|✗|≈|Cancelled|Failed|recorded)"), timeout=VERIFICATION_TIMEOUT_MS
    )
    return str(status.text_content())


def _badges(panel: Any) -> dict[int, dict[str, str]]:
    """{code cell number from 1: {"verdict", "title"}} for each badge shown."""
    shown = {}
    for number, cell in enumerate(panel.locator(".jp-CodeCell").all(), start=1):
        badge = cell.locator(":scope > .jp-ReproBadge")
        if badge.count():
            shown[number] = {"verdict": badge.get_attribute("data-verdict"), "title": badge.get_attribute("title")}
    return shown


def _run_command(page: Any, label: str) -> None:
    """Run a command from JupyterLab's command palette."""
    page.locator(".lm-MenuBar-itemLabel", has_text="View").click()
    page.locator(".lm-Menu-itemLabel", has_text="Activate Command Palette").click()
    page.locator(".lm-CommandPalette-input").fill(label)
    page.locator(".lm-CommandPalette-item").filter(has=page.get_by_text(label, exact=True)).click()


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_when_a_reproducing_notebook_with_unsaved_edits_is_verified_in_jupyterlab_then_it_asks_to_save_and_each_recorded_cell_says_bitwise(  # noqa: E501
    page: Any, lab: Lab
) -> None:
    panel = _open(page, lab, "lab/tree/reproduces.ipynb")
    user_kernels = {kernel["id"] for kernel in lab.api("kernels")}
    panel.locator(".jp-CodeCell .cm-content").last.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("  # edited")

    panel.locator(".jp-ReproVerifyButton").click()
    dialog = page.locator(".jp-Dialog")
    sync_api.expect(dialog).to_contain_text("Save before verifying?")
    dialog.get_by_role("button", name="Save and verify").click()
    verdict = _wait_for_the_verdict(panel)

    assert verdict.startswith("✓ reproduced")
    saved = nbformat.read(str(lab.root / "reproduces.ipynb"), as_version=4)
    assert saved.cells[-1].source.endswith("  # edited")
    badges = _badges(panel)
    assert {number: badge["verdict"] for number, badge in badges.items()} == {
        1: "not recorded",
        2: "identical",
        3: "identical",
        4: "not recorded",
    }
    assert badges[2]["title"] == "identical, bitwise (run 2 vs run 1)"
    report = page.locator(".jp-ReproReport")
    sync_api.expect(report).to_be_visible()
    lines = report.locator(".jp-ReproReport-lines").text_content() or ""
    assert re.match(
        r"reproduces\.ipynb: identical across the fresh runs, bitwise \(2 cells, 80 numbers; 2 fresh runs", lines
    )
    assert "  ledger saved: reproduces.repro.json (2 cell records)" in lines
    assert '"exit_status": 0' in (report.locator(".jp-ReproReport-json pre").text_content() or "")
    assert {kernel["id"] for kernel in lab.api("kernels")} == user_kernels
    _screenshot(page, "lab-reproduces")

    # Edit a recorded cell and save: it is marked stale, and nothing runs.
    recorded_cell = panel.locator(".jp-CodeCell").nth(1)
    recorded_cell.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" * 2")
    page.keyboard.press("Control+s")
    stale = recorded_cell.locator(":scope > .jp-ReproBadge")
    sync_api.expect(stale).to_have_attribute("data-verdict", "stale", timeout=30_000)
    assert "the ledger has: %%reproducible seed=812 record=weights" in (stale.get_attribute("title") or "")
    assert not lab.verification_kernels()

    # The new numbers are right: verify with --update, from the options dialog.
    ledger = lab.root / "reproduces.repro.json"
    before = ledger.read_text()
    _run_command(page, "Restart & verify with options…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input[name=update]").check()
    dialog.get_by_role("button", name="Verify").click()
    sync_api.expect(page.locator(".jp-ReproStatus")).to_have_text(re.compile("^Verifying"))
    verdict = _wait_for_the_verdict(panel)

    assert verdict.startswith("✗ diverged")
    assert _badges(panel)[2]["verdict"] == "diverged"
    assert "ledger updated: " in (page.locator(".jp-ReproReport-lines").text_content() or "")
    assert '"ledger_action": "updated"' in (page.locator(".jp-ReproReport-json pre").text_content() or "")
    assert ledger.read_text() != before


def test_when_a_cell_draws_from_an_unseeded_generator_then_exactly_that_cell_is_diverged_with_both_values_in_its_tooltip(  # noqa: E501
    page: Any, lab: Lab
) -> None:
    panel = _open(page, lab, "lab/tree/augment.ipynb")

    _run_command(page, "Restart & verify")
    _verify_the_saved_version(page, lab.root / "augment.ipynb")
    verdict = _wait_for_the_verdict(panel)

    assert verdict.startswith("✗ diverged")
    badges = _badges(panel)
    assert {number: badge["verdict"] for number, badge in badges.items()} == {
        1: "not recorded",
        2: "identical",
        3: "diverged",
        4: "not recorded",
    }
    # The cell also draws the first state the runs disagree on, so its badge says where they part first.
    origin, difference = badges[3]["title"].split("\n")
    assert origin.startswith("origin: the runs first differ after cell 3 (recorded): 'jittered'")
    values = re.fullmatch(r"value 'jittered', element \[0, 0\]: run 1 (\S+) vs run 2 (\S+)", difference)
    assert values is not None and float(values[1]) != float(values[2])
    lines = page.locator(".jp-ReproReport-lines").text_content() or ""
    # Named as the file browser names it, relative to the server's root: nothing of the server's own path.
    assert lines.startswith(
        "augment.ipynb: DIVERGED, run 2 vs run 1, first at cell 3 (id c3): %%reproducible seed=812 record=jittered"
    )
    assert "  ledger not saved: " in lines
    shown = [lines, page.locator(".jp-ReproReport-title").text_content() or ""]
    shown += [badge["title"] for badge in badges.values()]
    assert [text for text in shown if lab.root.parent.parent.name in text] == []
    assert f"    {origin}" in lines and f"    {difference}" in lines
    panel.locator(".jp-CodeCell").nth(2).locator(":scope > .jp-ReproBadge").click()
    sync_api.expect(panel.locator(".jp-ReproDetail:visible")).to_have_text(badges[3]["title"])
    _screenshot(page, "lab-diverged")
    assert not lab.verification_kernels()


def test_when_cancel_is_clicked_mid_run_then_it_stops_at_once_and_no_verification_kernel_is_left(
    page: Any, lab: Lab
) -> None:
    panel = _open(page, lab, "lab/tree/slow.ipynb")

    panel.locator(".jp-ReproVerifyButton").click()
    _verify_the_saved_version(page, lab.root / "slow.ipynb")
    status = panel.locator(".jp-ReproStatus")
    sync_api.expect(status).to_have_text(re.compile(r"^Verifying run 1/2 · cell 2/2 · \d+ s$"), timeout=120_000)
    sync_api.expect(panel.locator(".jp-ReproCancelButton")).to_be_visible()
    _screenshot(page, "lab-progress")
    assert len(lab.verification_kernels()) == 1
    panel.locator(".jp-ReproCancelButton").click()
    cancelled_at = time.monotonic()

    sync_api.expect(status).to_have_text("Cancelled", timeout=30_000)
    assert time.monotonic() - cancelled_at < 10
    sync_api.expect(page.locator(".jp-ReproReport-message")).to_have_text(
        "cancelled; the verification's kernel was stopped and no ledger was written"
    )
    assert not lab.verification_kernels()
    assert not (lab.root / "slow.repro.json").exists()


def test_when_verified_in_notebook_7_then_the_diverged_cell_is_marked_there_too(page: Any, lab: Lab) -> None:
    panel = _open(page, lab, "notebooks/augment.ipynb")

    panel.locator(".jp-ReproVerifyButton").click()
    _verify_the_saved_version(page, lab.root / "augment.ipynb")
    verdict = _wait_for_the_verdict(panel)

    assert verdict.startswith("✗ diverged")
    badges = _badges(panel)
    assert [number for number, badge in badges.items() if badge["verdict"] == "diverged"] == [3]
    assert badges[2]["verdict"] == "identical"
    assert re.fullmatch(
        r"origin: the runs first differ after cell 3 .*\nvalue 'jittered', element \[0, 0\]: run 1 \S+ vs run 2 \S+",
        badges[3]["title"],
    )
    _screenshot(page, "notebook7-diverged")
    assert not lab.verification_kernels()
