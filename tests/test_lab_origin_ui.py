"""In JupyterLab, in headless Chromium: the origin badge on the plain cell where the fresh runs first part.

The server and the browser are those of test_lab_ui.py; the frontend is this
checkout's build (repro_magics/labextension), put ahead of an installed one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from origin_corpus import PLAIN_CELL
from test_lab_ui import (  # noqa: F401 - fixtures
    BUILT_FRONTEND,
    Lab,
    _notebook,
    _open,
    _run_command,
    _screenshot,
    _verify_the_saved_version,
    _wait_for_the_verdict,
    browser,
    jp_asyncio_loop,
    jp_server_cleanup,
    page,
    sync_api,
)

pytestmark = [pytest.mark.ui, pytest.mark.kernel]

if not (BUILT_FRONTEND / "package.json").exists():
    pytest.skip("this checkout's frontend is not built (jlpm build in labextension/)", allow_module_level=True)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("lab-origin")
    frontend = folder / "frontend" / "share" / "jupyter"
    shutil.copytree(BUILT_FRONTEND, frontend / "labextensions" / "repro-magics")
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(frontend)
    try:
        server = Lab(folder)
    finally:
        if previous is None:
            del os.environ["JUPYTER_PATH"]
        else:
            os.environ["JUPYTER_PATH"] = previous
    yield server
    server.stop()


def _origin_badges(panel: Any) -> dict[int, str]:
    """{code cell number from 1: the badge's title} for each badge marked as the origin."""
    marked = {}
    for number, cell in enumerate(panel.locator(".jp-CodeCell").all(), start=1):
        badge = cell.locator(":scope > .jp-ReproBadge[data-origin=true]")
        if badge.count():
            marked[number] = str(badge.get_attribute("title"))
    return marked


def test_when_the_runs_part_in_a_plain_cell_then_that_cell_alone_gets_the_origin_badge_with_the_report_words(
    page: Any,  # noqa: F811 - the fixture imported above
    lab: Lab,
) -> None:
    _notebook(lab.root / "origin.ipynb", "# A plain cell draws unseeded", *PLAIN_CELL.trap)
    panel = _open(page, lab, "lab/tree/origin.ipynb")

    _run_command(page, "Restart & verify")
    _verify_the_saved_version(page, lab.root / "origin.ipynb")
    verdict = _wait_for_the_verdict(panel)

    assert verdict.startswith("✗ diverged")
    marked = _origin_badges(panel)
    assert list(marked) == [3]
    assert marked[3].startswith("origin: the runs first differ after cell 3 (not recorded): 'order' (int64 array")
    badge = panel.locator(".jp-CodeCell").nth(2).locator(":scope > .jp-ReproBadge")
    sync_api.expect(badge).to_have_text("not recorded · origin")
    lines = page.locator(".jp-ReproReport-lines").text_content() or ""
    assert "origin: the runs first differ after cell 3 (not recorded)" in lines
    _screenshot(page, "lab-origin")
    assert not lab.verification_kernels()
