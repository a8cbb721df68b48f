"""`repro-lint`: reproducibility traps in a notebook, found by reading it, before anything runs.

Nothing here imports TensorFlow, Keras or IPython: the cells are parsed as text.
"""

from __future__ import annotations

from .cells import NotebookReadError, read_notebook
from .check import lint, lint_path
from .rules import RULES, Finding

__all__ = ["RULES", "Finding", "NotebookReadError", "lint", "lint_path", "read_notebook"]
