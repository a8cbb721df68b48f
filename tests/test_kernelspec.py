"""The "Python 3 (reproducible)" kernel spec: shipped, installable, and starting as promised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import write_notebook
from nbclient import NotebookClient

from repro_magics.cli.command import module_main
from repro_magics.kernel.spec import KERNEL_NAME, kernel_spec_dict

REPO = Path(__file__).resolve().parents[1]


def test_the_shipped_kernel_json_is_the_one_the_code_describes() -> None:
    shipped = REPO / "jupyter-config" / "kernels" / KERNEL_NAME / "kernel.json"
    assert json.loads(shipped.read_text()) == kernel_spec_dict()
    assert kernel_spec_dict()["env"] == {"PYTHONHASHSEED": "0"}


def test_install_kernel_writes_a_spec_for_this_python(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert module_main(["install-kernel", "--prefix", str(tmp_path)]) == 0
    spec = json.loads((tmp_path / "share/jupyter/kernels" / KERNEL_NAME / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert "installed 'Python 3 (reproducible)'" in capsys.readouterr().out


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )


@pytest.mark.kernel
def test_when_installed_then_jupyter_lists_it_and_its_kernel_starts_reproducible_and_load_ext_is_silent(
    tmp_path: Path,
) -> None:
    assert module_main(["install-kernel", "--prefix", str(tmp_path)]) == 0
    environment = {**os.environ, "JUPYTER_PATH": str(tmp_path / "share/jupyter")}
    environment.pop("PYTHONHASHSEED", None)
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    assert KERNEL_NAME in json.loads(listing.stdout)["kernelspecs"]

    notebook_path = write_notebook(
        tmp_path / "k.ipynb",
        "%load_ext repro_magics",
        "import sys\nprint('hash_randomization', sys.flags.hash_randomization)",
        "%%reproducible seed=3\nprint('magic ran')",
    )
    notebook = nbformat.read(str(notebook_path), as_version=4)
    os.environ["JUPYTER_PATH"] = environment["JUPYTER_PATH"]
    try:
        NotebookClient(
            notebook, kernel_name=KERNEL_NAME, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
        ).execute(env=environment)
    finally:
        del os.environ["JUPYTER_PATH"]
    text = outputs_text(notebook)
    assert "hash_randomization 0" in text
    assert "magic ran" in text
    assert "PYTHONHASHSEED unset" not in text
    # The notebook loads the extension the kernel already loaded, as the README shows.
    assert "already loaded" not in text
    assert notebook.cells[0].outputs == []


@pytest.mark.kernel
def test_when_a_plain_kernel_has_hash_randomization_then_the_warning_comes_once(tmp_path: Path) -> None:
    notebook_path = write_notebook(
        tmp_path / "plain.ipynb",
        "%load_ext repro_magics",
        "%%reproducible seed=1\nx = 1",
        "%%reproducible seed=1\nx = 2",
    )
    notebook = nbformat.read(str(notebook_path), as_version=4)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONHASHSEED"}
    NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=environment)
    text = outputs_text(notebook)
    assert text.count("PYTHONHASHSEED unset") == 1
    assert "install-kernel" in text
