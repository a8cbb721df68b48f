"""`--changed`: what a verification depended on, stamped in the ledger, and whether it still holds.

A stamp (the ledger's `verified` field) holds when the notebook was last
verified, a hash of its code cells, the key of the environment its kernel
ran in, a hash of each file the run read inside the notebook's folder, and a
hash of each folder listing the run took there. A notebook whose stamp still
matches all of these is skipped; one without a stamp is always verified.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any, Protocol

import xxhash

from ..exceptions import LedgerError
from ..kernel.environment import environment_fingerprint
from ..kernel.spec import START_ENVIRONMENT
from ..kernel.startup import STARTUP_VARIABLES
from ..ledger.journal import LedgerLock
from ..ledger.store import Ledger, environment_key
from ..notebooks import cell_text
from .folder_snapshot import file_hash


class _Verified(Protocol):
    """What `note_verification` reads of a `NotebookVerification` (a Protocol: verification imports this module)."""

    @property
    def exit_status(self) -> int: ...

    nothing_recorded: bool
    environment_key: str | None
    ledger_path: Path
    inputs: dict[str, str]
    listings: dict[str, str]


#: Files a folder listing leaves out: the ledger's own files, which verification writes.
_LEDGER_MARK = ".repro."


def kernel_environment_key() -> str:
    """The key of the environment a kernel started from this process runs in: versions, platform, hardware,
    and the start-up variables it inherits (PYTHONHASHSEED fixed, as the runner fixes it)."""
    facts = {name: value for name, value in environment_fingerprint().items() if name != "startup_variables"}
    inherited = {**os.environ, **START_ENVIRONMENT}
    facts["startup_variables"] = {name: inherited.get(name) for name in STARTUP_VARIABLES}
    return environment_key(facts)


def code_hash(notebook: Any) -> str:
    """One hash of the notebook's code cells, their sources in order."""
    sources = [cell_text(cell) for cell in notebook.cells if cell.get("cell_type") == "code"]
    return xxhash.xxh3_64_hexdigest(json.dumps(sources, ensure_ascii=False).encode())


def listing_hash(folder: Path) -> str | None:
    """A hash of a folder's entry names, without ledgers; None when it cannot be listed."""
    try:
        names = sorted(name for name in os.listdir(folder) if _LEDGER_MARK not in name)
    except OSError:
        return None
    return xxhash.xxh3_64_hexdigest("\n".join(names).encode("utf-8", "surrogateescape"))


def summarize_reads(log: Path, notebook: Path) -> tuple[dict[str, str], dict[str, str]]:
    """From the kernel's read log: (files read, by path relative to the notebook's folder -> hash; folders
    listed -> hash).

    A file the run wrote before it read it is its own output, not an input; the
    notebook itself (which the magic reads for its cells) is covered by the code hash.
    """
    folder = notebook.absolute().parent
    written = {str(notebook.absolute())}
    try:
        lines = log.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return {}, {}
    inputs: dict[str, str] = {}
    listings: dict[str, str] = {}
    for line in lines:
        kind, _, path = line.partition("\t")
        if kind == "write":
            written.add(path)
            continue
        try:
            relative = Path(path).relative_to(folder).as_posix()
        except ValueError:
            continue
        if kind == "read" and path not in written and _LEDGER_MARK not in Path(path).name:
            digest = file_hash(Path(path))
            if digest is not None:
                inputs[relative] = digest
        elif kind == "list":
            digest = listing_hash(Path(path))
            if digest is not None:
                listings[relative] = digest
    return inputs, listings


def stamp(notebook: Any, environment: str, inputs: dict[str, str], listings: dict[str, str]) -> dict[str, Any]:
    """The ledger's `verified` field for a verification that ran now."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return {
        "at": now.isoformat().replace("+00:00", "Z"),
        "code": code_hash(notebook),
        "environment": environment,
        "inputs": dict(sorted(inputs.items())),
        "listings": dict(sorted(listings.items())),
    }


def unchanged_since(notebook_path: Path, notebook: Any, ledger: Ledger | None, environment: str | None) -> str | None:
    """When the notebook was last verified, if nothing it depends on changed since; else None."""
    verified = ledger.verified if ledger is not None else None
    if not verified or environment is None:
        return None
    if verified.get("code") != code_hash(notebook) or verified.get("environment") != environment:
        return None
    folder = notebook_path.absolute().parent
    for relative, digest in verified.get("inputs", {}).items():
        if file_hash(folder / relative) != digest:
            return None
    for relative, digest in verified.get("listings", {}).items():
        if listing_hash(folder / relative) != digest:
            return None
    return str(verified["at"])


def unchanged_notebooks(inputs: list[Any], environment: str | None) -> dict[Path, str]:
    """--changed: of the `VerifyInput`s, those to skip, with the time (shown) of the verification that holds."""
    skipped = {}
    for given in inputs:
        since = unchanged_since(given.path, given.notebook, given.ledger, environment)
        if since is not None:
            skipped[given.path] = shown_time(since)
    return skipped


def shown_time(at: str) -> str:
    """`2026-12-01T10:42:07Z` -> `2026-12-01 10:42 UTC`."""
    return at[:16].replace("T", " ") + " UTC"


def stamp_ledger(ledger_path: Path, verified: dict[str, Any]) -> None:
    """Write `verified` into the ledger at `ledger_path`, its records untouched; raises `OSError`."""
    with LedgerLock(ledger_path):
        try:
            ledger = Ledger.load(ledger_path)
        except LedgerError as error:
            raise OSError(str(error)) from None
        ledger.verified = verified
        ledger._replace(ledger_path, durable=True)


def note_verification(result: _Verified, notebook: Any) -> str | None:
    """Stamp the ledger of a verification that reproduced (`--changed`); the reason, when it could not be."""
    if result.exit_status != 0 or result.nothing_recorded or result.environment_key is None:
        return None
    if not result.ledger_path.exists():
        return None
    try:
        stamp_ledger(result.ledger_path, stamp(notebook, result.environment_key, result.inputs, result.listings))
    except OSError as error:
        return f"could not note the verification in {result.ledger_path}: {error}"
    return None
