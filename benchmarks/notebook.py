"""The small notebook the verify benchmark runs: a few `%%reproducible` cells and a tiny Keras fit."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

CELLS = (
    # The plain jupyter commands run the notebook too, so it loads the extension itself.
    "%load_ext repro_magics",
    """\
%%reproducible seed=1
import numpy as np
import keras
import tensorflow as tf

features = np.random.rand(512, 8).astype("float32")
labels = (features.sum(axis=1) > 4).astype("float32")""",
    """\
%%reproducible seed=2 record=weights_sum
model = keras.Sequential([
    keras.Input((8,)),
    keras.layers.Dense(16, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
history = model.fit(features, labels, epochs=3, batch_size=32, verbose=0)
weights_sum = sum(float(weight.numpy().sum()) for weight in model.weights)""",
    """\
%%reproducible seed=3 record=evaluation
evaluation = model.evaluate(features, labels, verbose=0)""",
)


def write_notebook(path: Path) -> Path:
    notebook = new_notebook(
        cells=[new_code_cell(source) for source in CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"bench-{number}"
    nbformat.write(notebook, str(path))
    return path
