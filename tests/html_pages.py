"""Three notebooks, verified once per test session, and the HTML reports of them: shared by the report tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from cells import TRAINING
from conftest import write_notebook

from repro_magics.compare.agreement import Tolerance
from repro_magics.verify.options import VerifyOptions
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

CASES = ("reproducing", "diverging", "failing")


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
    return write_notebook(
        folder / "failing.ipynb",
        "%%reproducible seed=1 record=a\nimport numpy as np\na = np.random.rand(3)",
        "ratio = 1 / 0",
        "b = 2",
    )


def verify_case(folder: Path, case: str) -> NotebookVerification:
    notebook = write_case(folder, case)
    return verify_notebook(read_input(notebook, None), VerifyOptions(tolerance=Tolerance()))


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
