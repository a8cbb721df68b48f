"""What a rule is: a code, a category, a one-line summary, its documentation and its check, written once.

Each rule is a function decorated with `@rule(...)` in a module of `rules/`;
its docstring is its documentation (rendered into docs/rules.md by
`python -m repro_magics.lint.docs`). Also the helpers every rule uses.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cells import Cell
    from .defuse import Facts

DOCS_PAGE = "docs/rules.md"
#: A fresh run of the notebook, top to bottom, can give other numbers (or fail): on by default, exit status 1.
TRAP = "trap"
#: Good practice that does not change what a fresh run gives: off unless selected.
ADVICE = "advice"


@dataclass(frozen=True, order=True)
class Finding:
    cell: int
    line: int
    column: int
    code: str
    message: str


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    category: str
    summary: str
    check: Callable[[Facts], Iterator[Finding]]

    @property
    def docs(self) -> str:
        """The rule's documentation (Markdown), from its check's docstring."""
        return inspect.cleandoc(self.check.__doc__ or "")


RULES: list[Rule] = []


def rule(code: str, name: str, category: str, summary: str) -> Callable[[Callable[[Facts], Iterator[Finding]]], Rule]:
    """Register a rule's check under its code; the check's docstring documents it."""

    def register(check: Callable[[Facts], Iterator[Finding]]) -> Rule:
        registered = Rule(code, name, category, summary, check)
        RULES.append(registered)
        return registered

    return register


def python_cells(facts: Facts) -> Iterator[Cell]:
    """The cells read as Python (not those of another language or with a syntax error)."""
    return (cell for cell in facts.notebook.cells if cell.tree is not None)


def statements(cell: Cell) -> list[ast.stmt]:
    """A cell's top-level statements (none when it is not read as Python)."""
    return cell.tree.body if cell.tree is not None else []


def at(cell: Cell, node: ast.AST | None, code: str, message: str) -> Finding:
    """A finding at a node of a cell, or at the cell's first line."""
    if node is None:
        return Finding(cell.number, 1, 1, code, message)
    return Finding(cell.number, getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1, code, message)
