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

from .ledger_schema import InvalidLedger, validate_ledger
from .values import FINGERPRINT_ALGORITHM

FORMAT_NAME = "repro-magics-ledger"
FORMAT_VERSION = 1
LEDGER_SUFFIX = ".repro.json"


class LedgerError(Exception):
    """A ledger that cannot be read: missing, not JSON, or not a ledger."""


def ledger_path_for(notebook: Path) -> Path:
    """`analysis.ipynb` -> `analysis.repro.json`, beside it."""
    return notebook.with_name(notebook.stem + LEDGER_SUFFIX)


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Replace `path` with `text` so that readers see the old file or the new, never half.

    `durable` also flushes the data to disk before the rename, which guards
    against a machine crash; a killed process can't leave half a file either way.
    """
    path = Path(path)
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
    """What identifies a record's cell: its id, or its source where the front end sent no id."""
    cell_id = record.get("cell_id")
    return f"id:{cell_id}" if cell_id is not None else f"source:{record.get('source_hash')}"


def _record_order(record: dict[str, Any]) -> tuple[bool, int, str]:
    number = record.get("cell_number")
    return (number is None, number or 0, str(record.get("cell_id")))


@dataclass
class Ledger:
    """Records of one notebook's `%%reproducible` cells, one per cell."""

    records: list[dict[str, Any]] = field(default_factory=list)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_record(self, record: dict[str, Any], environment: dict[str, Any], key: str | None = None) -> Ledger:
        """A copy with `record` added, replacing the earlier record of the same cell.

        `key` is `environment_key(environment)`, for callers that keep it.
        """
        key = key or environment_key(environment)
        kept = [r for r in self.records if record_key(r) != record_key(record)]
        records = sorted([*kept, {**record, "environment": key}], key=_record_order)
        used = {r.get("environment") for r in records}
        environments = {k: v for k, v in {**self.environments, key: environment}.items() if k in used}
        return Ledger(records, environments)

    def environment_of(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.environments.get(str(record.get("environment")), {})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "fingerprint_algorithm": FINGERPRINT_ALGORITHM,
            "environments": self.environments,
            "records": sorted(self.records, key=_record_order),
        }

    def save(self, path: Path, *, durable: bool = True) -> None:
        atomic_write_text(path, to_json_text(self.to_json()), durable=durable)

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
        return cls(data["records"], data["environments"])

    @classmethod
    def load(cls, path: Path) -> Ledger:
        """Read a ledger; `LedgerError` says in one sentence why it can't be."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LedgerError(f"ledger {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as error:
            raise LedgerError(f"ledger {path} cannot be read: {error}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise LedgerError(
                f"ledger {path} is corrupt: not valid JSON at line {error.lineno}, column {error.colno}"
            ) from None
        return cls.from_json(data, origin=f"ledger {path}")
