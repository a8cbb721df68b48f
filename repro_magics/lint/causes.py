"""Likely causes of a cell's divergence, for `repro-verify`'s report: traps first, then advice.

A cell's causes are the findings in that cell and in the cells it draws on:
the cells that last bound a name it uses before it runs, followed through the
bodies of the notebook functions it calls (a generator made in cell 7, used in
a `train_step` defined in cell 9 and called in cell 11, makes cell 7 one of
cell 11's causes), and upstream through the names those cells used in turn.
Imported modules are not followed: they carry no random state of the notebook's.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from .cells import Cell
from .defuse import Facts
from .registry import RULES, TRAP, Finding

_CATEGORY = {rule.code: rule.category for rule in RULES}


@dataclass(frozen=True)
class Cause:
    finding: Finding
    category: str
    #: Empty for the diverged cell itself; else the names it draws on that the finding's cell bound.
    made_here: tuple[str, ...]


def _bound_names(facts: Facts, cell: Cell) -> set[str]:
    """Names a cell binds at top level when it runs, leaving out imports."""
    names: set[str] = set()
    if cell.tree is None:
        return names
    for statement in cell.tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
    for node in facts.executed(cell):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _function_globals(facts: Facts, name: str, seen: set[str]) -> set[str]:
    """Names a notebook function's body loads without binding them itself, through the functions it calls."""
    if name in seen or name not in facts.functions:
        return set()
    seen.add(name)
    function = facts.functions[name].node
    local = {arg.arg for arg in ast.walk(function.args) if isinstance(arg, ast.arg)}
    loads: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else local).add(node.id)
    used = loads - local
    for called in sorted(used & facts.functions.keys()):
        used |= _function_globals(facts, called, seen)
    return used


def _used_names(facts: Facts, cell: Cell) -> set[str]:
    used = {node.id for node in facts.nodes(cell) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    seen: set[str] = set()
    for called in sorted(used & facts.functions.keys()):
        used |= _function_globals(facts, called, seen)
    return used


def cells_drawn_on(facts: Facts, cell_number: int) -> dict[int, list[str]]:
    """Earlier cells whose bindings cell `cell_number` draws on, directly or upstream: {cell: [names]}."""
    cells = facts.notebook.cells
    if not 1 <= cell_number <= len(cells) or cells[cell_number - 1].tree is None:
        return {}
    bound_by = [_bound_names(facts, cell) for cell in cells]
    makers: dict[int, set[str]] = {}
    pending = [(cell_number, _used_names(facts, cells[cell_number - 1]))]
    visited = {cell_number}
    while pending:
        user, names = pending.pop()
        for name in sorted(names):
            writer = next((n for n in range(user - 1, 0, -1) if name in bound_by[n - 1]), None)
            if writer is None:
                continue
            if user == cell_number:
                makers.setdefault(writer, set()).add(name)
            else:
                makers.setdefault(writer, set())
            if writer not in visited:
                visited.add(writer)
                pending.append((writer, _used_names(facts, cells[writer - 1])))
    return {cell: sorted(names) for cell, names in sorted(makers.items())}


def likely_causes(facts: Facts, cell_number: int, findings: Sequence[Finding]) -> list[Cause]:
    """The findings that may explain why cell `cell_number` diverged: traps first, then advice, each by cell."""
    makers = cells_drawn_on(facts, cell_number)
    causes = [
        Cause(finding, _CATEGORY.get(finding.code, TRAP), tuple(makers.get(finding.cell, ())))
        for finding in findings
        if finding.cell == cell_number or finding.cell in makers
    ]
    return sorted(causes, key=lambda cause: (cause.category != TRAP, cause.finding))
