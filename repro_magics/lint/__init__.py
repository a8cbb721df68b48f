"""`repro-lint`: reproducibility traps in a notebook, found by reading it, before anything runs.

Nothing here imports TensorFlow, Keras or IPython: the cells are parsed as text.
"""

from __future__ import annotations

from ..exceptions import NotebookError, SelectionError
from .cells import read_notebook
from .check import lint, lint_path
from .registry import ADVICE, RULES, TRAP, Finding, Rule
from .selection import selected_codes

__all__ = [
    "ADVICE",
    "RULES",
    "TRAP",
    "Finding",
    "NotebookError",
    "Rule",
    "SelectionError",
    "lint",
    "lint_path",
    "read_notebook",
    "selected_codes",
]
