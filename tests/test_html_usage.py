"""`repro-verify --html` refused before any kernel starts: one sentence and exit status 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers import run_cli, write_notebook
from html_pages import Elements, write_case

from repro_magics.compare.agreement import Tolerance
from repro_magics.report.html import html_report, is_html_report


def test_when_matplotlib_is_missing_then_html_is_refused_with_exit_2_before_any_kernel_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = write_case(tmp_path, "failing")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what `import matplotlib` meets when it isn't installed
    status, out, err = run_cli(str(notebook), "--html", str(tmp_path / "report.html"))
    assert status == 2
    assert err == (
        "repro-verify: error: the HTML report draws its plots with matplotlib, which is not installed; "
        'install it with pip install "repro-magics[report]"\n'
    )
    assert out == "" and not (tmp_path / "report.html").exists()


def test_when_the_html_folder_does_not_exist_then_exit_2_naming_it(tmp_path: Path) -> None:
    notebook = write_case(tmp_path, "failing")
    status, _, err = run_cli(str(notebook), "--html", str(tmp_path / "missing" / "report.html"))
    assert status == 2
    assert f"the folder for --html, {tmp_path / 'missing'}, does not exist" in err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "other.ipynb",
            "is a notebook; give the report a file of its own "
            "(a shell pattern right after --html puts a notebook there)",
        ),
        ("old.repro.json", "is a ledger; give the report a file of its own"),
        ("notes.txt", "exists and is not a repro-verify report; remove it or pick another name"),
        ("folder", "is a folder; give a file name for the report"),
    ],
)
def test_when_html_would_replace_a_file_of_the_users_then_exit_2_and_the_file_is_kept(
    tmp_path: Path, name: str, expected: str
) -> None:
    notebook = write_case(tmp_path, "failing")
    target = tmp_path / name
    if name == "folder":
        target.mkdir()
    else:
        target.write_text("the user's own words")
    status, out, err = run_cli(str(notebook), "--html", str(target))
    assert status == 2 and out == ""
    assert err == f"repro-verify: error: --html {target} {expected}\n"
    assert target.is_dir() if name == "folder" else target.read_text() == "the user's own words"


def test_when_html_names_an_earlier_report_then_it_is_recognised_as_one_to_replace(tmp_path: Path) -> None:
    earlier = tmp_path / "report.html"
    earlier.write_text(html_report([], 0, Tolerance(), "repro-verify"))
    assert is_html_report(earlier)
    (tmp_path / "page.html").write_text("<!DOCTYPE html><title>mine</title>")
    assert not is_html_report(tmp_path / "page.html")


MATHTEXT_METRIC = r"""%%reproducible seed=5 record=model
import numpy as np
import keras

features = np.linspace(-1, 1, 64, dtype="float32").reshape(16, 4)
labels = (features.sum(axis=1) > 0).astype("float32")


class Alert(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs["$\\alertx$"] = 0.5 * epoch


model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
model.compile("sgd", "binary_crossentropy")
history = model.fit(features, labels, epochs=2, verbose=0, callbacks=[Alert()])
"""


@pytest.mark.kernel
def test_when_a_metric_name_is_mathtext_and_a_notebook_fails_then_the_page_is_written_and_the_exit_status_is_3(
    tmp_path: Path,
) -> None:
    mathtext = write_notebook(tmp_path / "mathtext.ipynb", MATHTEXT_METRIC)
    failing = write_case(tmp_path, "failing")
    page = tmp_path / "report.html"
    status, out, err = run_cli(str(mathtext), str(failing), "--quiet", "--html", str(page))
    assert status == 3, out + err
    assert f"{mathtext}: identical across the fresh runs" in out and f"{failing}: FAILED to run" in out
    assert err == "", err
    figures = Elements(page.read_text(encoding="utf-8")).having("figure", "curves")
    assert any("$\\alertx$" in figure.text for figure in figures)
