"""The ledger: a notebook's recorded results, as a strict, stable, diffable JSON file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xxhash

from ..exceptions import InvalidLedger, LedgerError
from ..regular_files import NotRegularFile, read_regular_text
from .journal import (
    JournalError,
    LedgerLock,
    append_entry,
    journal_path_for,
    link_target,
    read_entries,
)
from .schema import parse_json, validate_ledger
from .values import FINGERPRINT_ALGORITHM

FORMAT_NAME = "repro-magics-ledger"
FORMAT_VERSION = 1
LEDGER_SUFFIX = ".repro.json"
#: The magic folds the journal into the ledger once it is larger than the ledger and than this.
FOLD_MINIMUM_BYTES = 64 * 1024
#: How often a reader retries when a writer replaces the ledger while it reads.
_READ_ATTEMPTS = 5


def ledger_path_for(notebook: Path) -> Path:
    """`analysis.ipynb` -> `analysis.repro.json`, beside it."""
    return notebook.with_name(notebook.stem + LEDGER_SUFFIX)


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Replace `path` with `text` so that readers see the old file or the new, never half.

    `durable` also flushes the data to disk before the rename, which guards
    against a machine crash; a killed process can't leave half a file either way.
    A symbolic link is written through, as editors do: its target is replaced,
    atomically, in the target's folder, and the link stays a link.
    """
    path = link_target(Path(path))
    mode = _mode_for(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _mode_for(path: Path) -> int:
    """The existing file's permissions, or those the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # Reading it from /proc avoids setting it, which races with other threads.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0)
    os.umask(umask)
    return umask


def to_json_text(data: Any) -> str:
    """Strict JSON (no NaN literals), sorted keys, one element a line: diffs well in git."""
    return json.dumps(data, sort_keys=True, indent=1, allow_nan=False, ensure_ascii=False) + "\n"


def environment_key(environment: dict[str, Any]) -> str:
    return xxhash.xxh3_64_hexdigest(to_json_text(environment).encode())


def record_key(record: dict[str, Any]) -> str:
    """What identifies a record's cell: its id, or, where the front end sent no id, its source
    and how many times that source had run, so that two cells with one source stay apart."""
    cell_id = record.get("cell_id")
    if cell_id is not None:
        return f"id:{cell_id}"
    occurrence = record.get("occurrence") or 1
    return f"source:{record.get('source_hash')}" + (f"#{occurrence}" if occurrence > 1 else "")


def _record_order(record: dict[str, Any]) -> tuple[bool, int, str, int]:
    number = record.get("cell_number")
    return (number is None, number or 0, str(record.get("cell_id")), record.get("occurrence") or 1)


@dataclass
class Ledger:
    """Records of one notebook's `%%reproducible` cells, one per cell."""

    records: list[dict[str, Any]] = field(default_factory=list)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Tolerances measured by `repro-verify --calibrate`, by record key: {"rtol", "atol", "runs"}.
    tolerances: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The kernel's state fingerprints after each code cell, from the run `repro-verify` saved (see `state_origin`).
    states: list[dict[str, Any]] = field(default_factory=list)
    #: What the last verification that reproduced depended on (`repro-verify --changed`); None: never stamped.
    #: Not carried into a ledger whose records change.
    verified: dict[str, Any] | None = None

    def with_record(self, record: dict[str, Any], environment: dict[str, Any], key: str | None = None) -> Ledger:
        """A copy with `record` added, replacing the earlier record of the same cell.

        `key` is `environment_key(environment)`, for callers that keep it.
        """
        key = key or environment_key(environment)
        kept = [r for r in self.records if record_key(r) != record_key(record)]
        records = sorted([*kept, {**record, "environment": key}], key=_record_order)
        used = {r.get("environment") for r in records}
        environments = {k: v for k, v in {**self.environments, key: environment}.items() if k in used}
        return Ledger(records, environments, self.tolerances, self.states)

    def environment_of(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.environments.get(str(record.get("environment")), {})

    def to_json(self) -> dict[str, Any]:
        calibrated = {"tolerances": self.tolerances} if self.tolerances else {}
        stamped = {"verified": self.verified} if self.verified else {}
        states = {"states": self.states} if self.states else {}
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "fingerprint_algorithm": FINGERPRINT_ALGORITHM,
            "environments": self.environments,
            "records": sorted(self.records, key=_record_order),
            **calibrated,
            **stamped,
            **states,
        }

    def with_entries(self, entries: list[tuple[dict[str, Any], dict[str, Any]]]) -> Ledger:
        """A copy with journal entries folded in, in order: the latest record of a cell wins."""
        if not entries:
            return self
        by_cell = {record_key(record): record for record in self.records}
        environments = dict(self.environments)
        for record, environment in entries:
            environments[str(record.get("environment"))] = environment
            by_cell[record_key(record)] = record
        records = sorted(by_cell.values(), key=_record_order)
        used = {record.get("environment") for record in records}
        kept = {key: value for key, value in environments.items() if key in used}
        return Ledger(records, kept, self.tolerances, self.states)

    def save(self, path: Path, *, durable: bool = True) -> None:
        """Replace the ledger at `path`, and its journal, with these records.

        Holds the ledger's lock, so that no record a kernel appends meanwhile
        is lost; raises `LockTimeout` (an `OSError`) when another writer
        keeps it too long.
        """
        with LedgerLock(path):
            self._replace(path, durable=durable)

    def _replace(self, path: Path, *, durable: bool, journal: Path | None = None) -> None:
        # The ledger first, then the journal's removal: a reader in between
        # sees each record twice, which folds to the same ledger.
        atomic_write_text(path, to_json_text(self.to_json()), durable=durable)
        (journal or journal_path_for(path)).unlink(missing_ok=True)

    @classmethod
    def from_json(cls, data: Any, origin: str = "ledger") -> Ledger:
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise LedgerError(f"{origin} is not a repro_magics ledger")
        if data.get("version") != FORMAT_VERSION:
            raise LedgerError(
                f"{origin} has ledger format version {data.get('version')!r}; "
                f"this repro_magics reads version {FORMAT_VERSION}"
            )
        try:
            validate_ledger(data)
        except InvalidLedger as error:
            raise LedgerError(f"{origin} is corrupt: {error}") from None
        return cls(
            data["records"],
            data["environments"],
            data.get("tolerances") or {},
            data.get("states") or [],
            data.get("verified"),
        )

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """Read a ledger and fold in its journal; `LedgerError` says in one sentence why it can't be.

        Takes no lock, so that reading leaves nothing behind: when a writer
        replaces the ledger while it is read, it is read again.
        """
        journal = journal_path_for(path)
        for _ in range(_READ_ATTEMPTS):
            before = _identity(path)
            ledger = _read_ledger_file(path) if before is not None or not journal.exists() else Ledger()
            try:
                entries = read_entries(journal)
            except JournalError as error:
                raise LedgerError(str(error)) from None
            except NotRegularFile:
                raise LedgerError(f"journal {journal} is not a regular file") from None
            except (OSError, UnicodeDecodeError) as error:
                raise LedgerError(f"journal {journal} cannot be read: {error}") from None
            if _identity(path) == before:
                break
        _validate_entries(journal, entries)
        return ledger.with_entries(entries)


def _validate_entries(journal: Path, entries: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Hold the journal's records to the ledger's schema, as if they were a ledger of their own."""
    if not entries:
        return
    as_ledger = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "fingerprint_algorithm": FINGERPRINT_ALGORITHM,
        "environments": {str(record.get("environment")): environment for record, environment in entries},
        "records": [record for record, _ in entries],
    }
    Ledger.from_json(as_ledger, origin=f"journal {journal}")


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    """What changes when a ledger is replaced or rewritten; None when there is none."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def _read_ledger_file(path: Path) -> Ledger:
    """The ledger file alone, without its journal."""
    try:
        text = read_regular_text(Path(path))
    except FileNotFoundError:
        raise LedgerError(f"ledger {path} does not exist") from None
    except NotRegularFile:
        raise LedgerError(f"ledger {path} is not a regular file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LedgerError(f"ledger {path} cannot be read: {error}") from None
    try:
        data = parse_json(text)
    except InvalidLedger as error:
        raise LedgerError(f"ledger {path} is corrupt: {error}") from None
    except json.JSONDecodeError as error:
        raise LedgerError(
            f"ledger {path} is corrupt: not valid JSON at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise LedgerError(f"ledger {path} is corrupt: its values are nested too deeply to read") from None
    return Ledger.from_json(data, origin=f"ledger {path}")


class LedgerAppender:
    """How `%%reproducible` adds records: append to the journal, fold it in when it outgrows the ledger.

    A cell's cost does not grow with the ledger: the ledger is read only
    when it changed since this appender last read it (to leave a corrupt one
    alone), and rewritten only when the journal has grown past its size, so
    each byte appended is rewritten a bounded number of times.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._journal = journal_path_for(path)
        self._lock = LedgerLock(path)
        self._checked: tuple[int, int, int, int] | None = None

    def add(self, record: dict[str, Any], environment: dict[str, Any], key: str | None = None) -> None:
        """Add `record` (replacing the cell's earlier one) under the ledger's lock.

        Raises `LockTimeout` when another writer keeps the lock too long,
        `LedgerError` for a ledger or journal that can't be read (then nothing
        is written), and `OSError` when writing fails.
        """
        key = key or environment_key(environment)
        with self._lock:
            ledger = _identity(self.path)
            if ledger is not None and ledger != self._checked:
                _read_ledger_file(self.path)
                self._checked = ledger
            journal_size = append_entry(self._journal, {**record, "environment": key}, environment)
            if ledger is None or journal_size > max(ledger[2], FOLD_MINIMUM_BYTES):
                Ledger.load(self.path)._replace(self.path, durable=True, journal=self._journal)
                self._checked = _identity(self.path)
