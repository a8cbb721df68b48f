"""The ledger's journal and lock: records appended beside the ledger, one JSON line each, under a file lock.

`NB.repro.json` stays a sorted, diffable file; the magic appends each new
record to `NB.repro.journal.jsonl` instead of rewriting it, so that a cell's
cost does not grow with the ledger. Every writer holds `.NB.repro.lock`
(hidden) while it appends, folds or replaces.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import filelock

from ..exceptions import InvalidLedger, JournalError
from ..regular_files import read_regular_text
from .schema import parse_json

JOURNAL_SUFFIX = ".journal.jsonl"
LOCK_SUFFIX = ".lock"
#: How long a writer waits for another one before giving up (a fold of a 65 MB ledger takes a few seconds).
LOCK_TIMEOUT_SECONDS = 30.0

LockTimeout = filelock.Timeout


def link_target(path: Path) -> Path:
    """The file `path` names, through symbolic links: writes go there, and a ledger's journal and lock sit beside it."""
    return Path(os.path.realpath(path))


def _stem(ledger: Path) -> str:
    return ledger.name.removesuffix(".json")


def journal_path_for(ledger: Path) -> Path:
    """`NB.repro.json` -> `NB.repro.journal.jsonl`, beside the file the ledger path names."""
    real = link_target(ledger)
    return real.with_name(_stem(real) + JOURNAL_SUFFIX)


def lock_path_for(ledger: Path) -> Path:
    """`NB.repro.json` -> `.NB.repro.lock`: hidden, as a file browser has nothing to show of it.

    It is left in place after use: removing a lock file that another writer
    has opened and waits on would let two writers in at once.
    """
    real = link_target(ledger)
    return real.with_name(f".{_stem(real)}{LOCK_SUFFIX}")


class LedgerLock:
    """The lock every writer of a ledger and its journal holds: `with LedgerLock(path):`.

    Entering raises `LockTimeout` after `LOCK_TIMEOUT_SECONDS`, and
    `FileNotFoundError` when the ledger's folder does not exist (filelock
    would create it; a ledger goes only where there is a folder). One object
    can be entered again and again.
    """

    def __init__(self, ledger: Path) -> None:
        self.path = lock_path_for(ledger)
        self._lock = filelock.FileLock(self.path)

    def __enter__(self) -> None:
        if not self.path.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(self.path.parent))
        # A short poll: a writer holds the lock for about a millisecond, except while it folds.
        self._lock.acquire(timeout=LOCK_TIMEOUT_SECONDS, poll_interval=0.005)

    def __exit__(self, *_exception: object) -> None:
        self._lock.release()


def append_entry(journal: Path, record: dict[str, Any], environment: dict[str, Any]) -> int:
    """Append one line holding `record` and its environment; returns the journal's size after it.

    Call with the ledger's lock held. A write that fails part way (a full
    disk) is cut back off, so the journal never holds half a line.
    """
    # ASCII only: a raw U+2028, U+2029 or NEL inside a string would split the line for a reader that
    # splits at every line boundary Python knows (older versions of this module did).
    line = json.dumps(
        {"record": record, "environment": environment}, allow_nan=False, ensure_ascii=True, separators=(",", ":")
    )
    data = (line + "\n").encode("utf-8")
    descriptor = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(descriptor).st_size
        try:
            written = 0
            while written < len(data):
                written += os.write(descriptor, data[written:])
        except OSError:
            os.ftruncate(descriptor, size)
            raise
        return size + len(data)
    finally:
        os.close(descriptor)


def read_entries(journal: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (record, environment) pairs of a journal, oldest first; [] when there is none.

    Raises `JournalError` naming the first line that is not a record, and
    `OSError` for a journal that cannot be read.
    """
    try:
        text = read_regular_text(journal)
    except FileNotFoundError:
        return []
    entries = []
    # "\n" only: journals written before lines were ASCII hold U+2028, U+2029 and NEL raw inside strings.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        try:
            entry = parse_json(line)
        except InvalidLedger as error:
            raise JournalError(f"journal {journal} is corrupt: line {number}: {error}") from None
        except (ValueError, RecursionError):
            entry = None
        record = entry.get("record") if isinstance(entry, dict) else None
        environment = entry.get("environment") if isinstance(entry, dict) else None
        if not isinstance(record, dict) or not isinstance(environment, dict):
            raise JournalError(f"journal {journal} is corrupt: line {number} is not a record")
        entries.append((record, environment))
    return entries
