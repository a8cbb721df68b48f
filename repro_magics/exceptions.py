"""Every error of repro_magics that a user may see, in one place; each message is one sentence.

The modules that raise them import them from here; so do the front doors
(the command line, the magics, the server, the pytest plugin) that turn them
into an exit status, a `UsageError` or a 4xx.
"""

from __future__ import annotations

from enum import Enum


class ArgumentError(ValueError):
    """A `%%reproducible` line that can't be understood; the message is one sentence."""


class SeedError(ValueError):
    """A seed that is not a whole number in [0, 2**32)."""


class LedgerError(Exception):
    """A ledger that cannot be read: missing, not JSON, or not a ledger."""


class InvalidLedger(ValueError):
    """A ledger whose structure is off; the message names the field and what it should be."""


class JournalError(ValueError):
    """A journal line that is not a record; the message names the line."""


class UnrecordableValue(ValueError):
    """A value that can't be recorded faithfully; the message says why, in a few words."""


class NotebookProblem(Enum):
    """What kept a file from being read as a notebook."""

    MISSING = "missing"
    FOLDER = "folder"
    NOT_REGULAR = "not a regular file"
    NOT_UTF8 = "not UTF-8"
    UNREADABLE = "unreadable"
    NOT_JSON = "not JSON"
    TOO_DEEP = "nested too deeply"
    NOT_A_NOTEBOOK = "not a notebook"


class NotebookError(Exception):
    """A notebook file that cannot be read as a notebook; the message is one sentence.

    `problem` says what was wrong and `reason` is the error beneath it (an
    `OSError`, a `JSONDecodeError`), for a front door that words the sentence
    in its own voice: repro-lint says `PATH: reason`, as flake8 does.
    """

    def __init__(self, message: str, problem: NotebookProblem | None = None, reason: BaseException | None = None):
        super().__init__(message)
        self.problem = problem
        self.reason = reason


class KernelNotFound(Exception):
    """`--kernel NAME` names no installed kernel."""


class RunStopped(Exception):
    """A run that `KernelPool.stop` ended (or kept from starting); its kernel is gone."""


class ShardError(ValueError):
    """A `--shard` value that is not K/N with 1 <= K <= N; the message is one sentence."""


class ReportPathError(ValueError):
    """A report path that would lose a file of the user's; the message is one sentence."""


class PlottingMissing(Exception):
    """matplotlib is not installed; the message says how to get it."""


class UsageFailure(Exception):
    """Bad usage or input: reported in one sentence with exit status 2."""


class SelectionError(ValueError):
    """A repro-lint selector that names no rule, or a configuration that cannot be read; one sentence."""


class PlotNotDrawn(Exception):
    """matplotlib failed to draw a figure (values it cannot lay out); the message names the figure and says why."""


class EngineError(Exception):
    """An engine of `--executor` that cannot be used (unknown, not installed, unreachable, a folder too large to
    ship); the message is one sentence."""


class NotRegularFile(OSError):
    """The path names a FIFO, a device or a socket; the message says so in a few words."""
