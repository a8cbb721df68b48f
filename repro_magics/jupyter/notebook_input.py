"""The notebook and its ledger as the server reads them: paths checked first, errors that quote no file."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..exceptions import LedgerError, NotebookError
from ..ledger.journal import journal_path_for
from ..ledger.store import ledger_path_for
from ..verify.verification import VerifyInput, read_input
from .paths import Refused, checked_notebook, shown

#: The parts of a `LedgerError` that hold only positions, never the file's content.
_CONTENT_FREE_REASONS = (
    (
        re.compile(r"is corrupt: not valid JSON at line (\d+), column (\d+)$"),
        "it is not valid JSON at line {}, column {}",
    ),
    (re.compile(r"is corrupt: line (\d+) is not a record$"), "line {} is not a record"),
    (re.compile(r"nested too deeply"), "its values are nested too deeply to read"),
)


def read_notebook_input(root: Path, name: str) -> VerifyInput:
    """What `repro-verify` reads for the notebook `name` (relative to `root`); `Refused` says why not."""
    notebook = checked_notebook(root, name)
    try:
        return read_input(notebook, None)
    except NotebookError:
        # Its words may hold a piece of the file (a byte that is not UTF-8).
        raise Refused(400, f"{shown(name)} is not a Jupyter notebook (.ipynb JSON)") from None
    except (LedgerError, ValueError, RecursionError) as error:
        # A ValueError: a number in the ledger with more digits than Python converts.
        ledger = ledger_path_for(notebook)
        file = journal_path_for(ledger) if str(error).startswith("journal ") else ledger
        message = _ledger_error_message(str(error), name, os.path.relpath(file, os.path.realpath(root)))
        raise Refused(400, message) from None


def _ledger_error_message(error: str, name: str, file: str) -> str:
    """The `LedgerError` in words that name the file and the reason, without the value it found.

    The command line's message quotes the field's value, which is right for
    the ledger's owner in a terminal; through the server it may be anything
    the file holds, so only positions pass, and `--check-ledger` says more.
    """
    kind = "journal" if error.startswith("journal ") else "ledger"
    reason = "it is corrupt or not a repro_magics ledger"
    for pattern, words in _CONTENT_FREE_REASONS:
        found = pattern.search(error)
        if found:
            reason = words.format(*found.groups())
            break
    return (
        f"the {kind} {shown(file)} of {shown(name)} cannot be read: {reason} "
        f"(repro-verify --check-ledger {shown(name)} says more)"
    )
