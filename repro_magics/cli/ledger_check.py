"""`--check-ledger`'s lines: stale or missing ledgers, found without a kernel."""

from __future__ import annotations

from typing import TextIO

from ..ledger.check import LedgerCheck, check_ledger
from ..report.text import printable
from ..verify.verification import EXIT_DIFFERENT, EXIT_REPRODUCED, VerifyInput
from ..words import counted
from .parser import PROG


def check_ledgers(inputs: list[VerifyInput], out: TextIO) -> int:
    checks = [check_ledger(given.path, given.notebook, given.ledger, given.ledger_path) for given in inputs]
    for check in checks:
        out.write("\n".join(printable(line) for line in _ledger_check_lines(check)) + "\n")
    stale = sum(not check.ok for check in checks)
    if len(checks) > 1:
        out.write(f"{len(checks)} notebooks: {len(checks) - stale} up to date, {stale} stale or without a ledger\n")
    return EXIT_DIFFERENT if stale else EXIT_REPRODUCED


def _ledger_check_lines(check: LedgerCheck) -> list[str]:
    if check.ok:
        if not check.reproducible_cells:
            return [f"{check.notebook}: no %%reproducible cell, no ledger needed"]
        cells = counted(check.reproducible_cells, "%%reproducible cell")
        return [f"{check.notebook}: ledger up to date ({cells})"]
    verb = "STALE LEDGER" if check.has_ledger else "NO LEDGER"
    hint = f"rerun {PROG} --update {check.notebook}" if check.has_ledger else f"run {PROG} {check.notebook}"
    return [f"{check.notebook}: {verb}", *(f"    {problem}" for problem in check.problems), f"    to fix: {hint}"]
