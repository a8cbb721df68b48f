"""For the report tests: notebooks verified in real kernels, results built in the process, a parser of pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from cells import TRAINING
from helpers import write_notebook

from repro_magics.compare.agreement import Tolerance
from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.ledger.store import Ledger
from repro_magics.notebooks import CodeCell
from repro_magics.verify.options import VerifyOptions
from repro_magics.verify.runner import NotebookRun
from repro_magics.verify.verification import NotebookVerification, read_input, verify_notebook

# Seeded training whose learning rate, after epoch 2, is nudged by an unseeded
# `default_rng`: the runs agree for two epochs and part at the third.
PARTING_AT_EPOCH_3 = """\
import numpy as np
import keras

features = np.linspace(-1, 1, 512, dtype="float32").reshape(128, 4)
labels = (features.sum(axis=1) > 0).astype("float32")


class Jitter(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            jitter = np.random.default_rng().uniform(0.5, 2.0)
            self.model.optimizer.learning_rate.assign(0.01 * jitter)


model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(8, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy", metrics=["accuracy"])
history = model.fit(features, labels, epochs=6, batch_size=16, verbose=0, callbacks=[Jitter()])
"""

# A fit of one epoch, as in quick notebooks: each curve is a single point. The
# second fit's learning rate comes from an unseeded generator, so the runs part
# at epoch 1.
ONE_EPOCH_SETUP = """\
import numpy as np
import keras

features = np.linspace(-1, 1, 512, dtype="float32").reshape(128, 4)
labels = (features.sum(axis=1) > 0).astype("float32")


def fit_once(learning_rate):
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=["accuracy"])
    return model.fit(features, labels, epochs=1, batch_size=16, verbose=0)
"""

CASES = ("reproducing", "diverging", "failing", "one-epoch")


def write_case(folder: Path, case: str) -> Path:
    if case == "reproducing":
        return write_notebook(
            folder / "reproducing.ipynb",
            "import numpy as np",
            f"%%reproducible seed=812 record=layer_names,model\n{TRAINING}",
            markdown_first=True,
        )
    if case == "diverging":
        return write_notebook(
            folder / "diverging.ipynb",
            "import numpy as np",
            f"%%reproducible seed=812 record=layer_names\n{TRAINING}",
            f"%%reproducible seed=7 record=model\n{PARTING_AT_EPOCH_3}",
            "%%reproducible seed=3 record=c\nc = np.random.rand(2)",
            markdown_first=True,
        )
    if case == "one-epoch":
        return write_notebook(
            folder / "quick-fit.ipynb",
            ONE_EPOCH_SETUP,
            "%%reproducible seed=812\nhistory = fit_once(0.01)",
            "%%reproducible seed=813\nhistory = fit_once(0.01 * np.random.default_rng().uniform(0.5, 2.0))",
            markdown_first=True,
        )
    return write_notebook(
        folder / "failing.ipynb",
        "%%reproducible seed=1 record=a\nimport numpy as np\na = np.random.rand(3)",
        "ratio = 1 / 0",
        "b = 2",
    )


def verify_case(folder: Path, case: str) -> NotebookVerification:
    """Verify as a user does, in the notebook's folder (`repro-verify diverging.ipynb`).

    The report then names `diverging.ipynb`, not the test's temporary folder,
    and the screenshots kept in docs/ read like a user's session.
    """
    notebook = write_case(folder, case)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        return verify_notebook(read_input(Path(notebook.name), None), VerifyOptions(tolerance=Tolerance()))


def one_cell_record(metrics: dict[str, list[float]], weight: float = 1.0) -> dict[str, Any]:
    """A ledger record of cell 1 (id a): one training history and a one-element array `w`."""
    epochs = list(range(len(next(iter(metrics.values())))))
    return {
        "cell_id": "a",
        "cell_number": 1,
        "seed": 1,
        "source_first_line": "%%reproducible seed=1 record=w",
        "source_hash": "0000000000000001",
        "histories": [{"type": "history", "epochs": epochs, "metrics": metrics}],
        "values": {"w": {"type": "array", "dtype": "float64", "shape": [1], "values": [weight]}},
        "environment": "e1",
    }


def verified_against_ledger(
    name: str, baseline: dict[str, Any], fresh: dict[str, Any], python: tuple[str, str] = ("3.11.7", "3.11.7")
) -> NotebookVerification:
    """A notebook of one recorded cell, verified once against its ledger, built without a kernel."""
    ledger = Ledger([baseline], {"e1": {"python": python[0]}})
    run = Ledger([fresh], {"e1": {"python": python[1]}})
    result = NotebookVerification(Path(name), Path(name).with_suffix(".repro.json"), had_ledger=True, baseline=ledger)
    result.code_cells = [CodeCell(1, "a", baseline["source_first_line"], "")]
    result.runs.append(NotebookRun(Path(name), run, None, 1.0, 1))
    result.comparisons.append(compare_ledgers(ledger, run, Tolerance(), new_label="run 1"))
    return result


@dataclass
class Element:
    tag: str
    attributes: dict[str, str]
    text: str = ""
    parent: Element | None = None


class Elements(HTMLParser):
    """Every element of a page with its attributes and the text inside it, as a browser parses it."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[Element] = []
        self._open: list[Element] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(
            tag, {name: value or "" for name, value in attrs}, parent=self._open[-1] if self._open else None
        )
        self.found.append(element)
        if tag not in {"meta", "br", "img", "input", "link", "path", "use", "rect", "line", "circle", "stop"}:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def cells(self, row: Element) -> list[str]:
        """The text of each cell of a table row."""
        return [element.text for element in self.found if element.tag == "td" and element.parent is row]

    def having(self, tag: str, css_class: str | None = None, **attributes: str) -> list[Element]:
        return [
            element
            for element in self.found
            if element.tag == tag
            and (css_class is None or css_class in element.attributes.get("class", "").split())
            and all(element.attributes.get(name.replace("_", "-")) == value for name, value in attributes.items())
        ]


#: A reference to anything outside the page: an address, a protocol-relative link, a CSS url() not to `#id`.
OUTSIDE_ADDRESS = re.compile(
    r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|https?://|url\(\s*["']?\s*(?!#)|@import""", re.I
)
