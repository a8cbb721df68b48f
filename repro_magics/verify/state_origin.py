"""Where two fresh runs first part: the first cell, plain or `%%reproducible`, after which their states differ.

The kernel fingerprints its namespace and the global generators after every
cell (`state_fingerprints`); this compares two runs' fingerprints cell by
cell. Nothing here imports a framework or starts a kernel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..notebooks import CodeCell, magic_line_and_body

#: At most this many differing names are spelled out in the origin line.
MAX_NAMES_SHOWN = 3

# Scalars under these names hold the clock: they differ in every run and part nothing that matters.
_CLOCK_NAMES = re.compile(
    r"(^|_)(t\d*|time|times|timer|start|started|end|ended|stop|elapsed|duration|seconds|secs|ms|tic|toc|now"
    r"|stamp|timestamp|clock|took|runtime|wall)(_|$)",
    re.IGNORECASE,
)
_SCALAR_KINDS = ("int", "float", "str")


@dataclass(frozen=True)
class CellState:
    """The fingerprints the kernel took after one cell: {name: (kind, digest or None)}."""

    cell_id: str | None
    names: dict[str, tuple[str, str | None]]
    generators: dict[str, tuple[str, str | None]]
    seconds: float = 0.0
    #: xxh3-64 of the cell's source as it ran.
    source: str | None = None

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> CellState:
        def pairs(items: Any) -> dict[str, tuple[str, str | None]]:
            return {str(name): (str(kind), digest) for name, (kind, digest) in dict(items or {}).items()}

        cell_id = entry.get("cell_id")
        return cls(
            None if cell_id is None else str(cell_id),
            pairs(entry.get("names")),
            pairs(entry.get("generators")),
            float(entry.get("seconds", 0.0)),
            None if entry.get("source") is None else str(entry.get("source")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "cell_id": self.cell_id,
            "names": {name: list(value) for name, value in self.names.items()},
            "generators": {name: list(value) for name, value in self.generators.items()},
            "seconds": self.seconds,
            "source": self.source,
        }


def read_states(path: Path) -> list[CellState]:
    """The states a kernel wrote, one per cell; a line cut short by a dying kernel ends the list."""
    states = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            states.append(CellState.from_json(json.loads(line)))
        except (ValueError, TypeError, AttributeError):
            break
    return states


@dataclass(frozen=True)
class Origin:
    """The first cell after which two runs' states differ, and what differs there."""

    cell_number: int | None
    cell_id: str | None
    recorded: bool
    #: (name, kind in the first run, or in the second where the first has none).
    names: tuple[tuple[str, str], ...]
    generators: tuple[str, ...]
    #: The lint's finding quoted for this cell (`cell 8, line 1: ...`), if any.
    finding: str | None = None
    #: Names whose fingerprints differ but that hold the clock, left out of the search.
    clock_names: tuple[str, ...] = field(default=())

    def line(self) -> str:
        where = f"cell {self.cell_number}" if self.cell_number is not None else f"the cell with id {self.cell_id}"
        what = [f"{name!r} ({kind})" for name, kind in self.names[:MAX_NAMES_SHOWN]]
        if len(self.names) > MAX_NAMES_SHOWN:
            what.append(f"{len(self.names) - MAX_NAMES_SHOWN} more")
        what += list(self.generators)
        text = f"origin: the runs first differ after {where} ({'recorded' if self.recorded else 'not recorded'})"
        text += ": " + ", ".join(what)
        return text + (f"; {self.finding}" if self.finding else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "cell": self.cell_number,
            "cell_id": self.cell_id,
            "recorded": self.recorded,
            "names": [{"name": name, "kind": kind} for name, kind in self.names],
            "generators": list(self.generators),
            "finding": self.finding,
            "clock_names": list(self.clock_names),
        }


def _holds_the_clock(name: str, kind: str) -> bool:
    return kind.startswith(_SCALAR_KINDS) and _CLOCK_NAMES.search(name) is not None


def _differing(
    first: dict[str, tuple[str, str | None]], second: dict[str, tuple[str, str | None]]
) -> list[tuple[str, str]]:
    """Names whose fingerprints differ, or that only one side has; two missing digests compare nothing."""
    found = []
    for name in sorted(first.keys() | second.keys()):
        one, other = first.get(name), second.get(name)
        if one is not None and other is not None and one[1] is None and other[1] is None:
            continue
        if one != other:
            found.append((name, (one or other or ("", None))[0]))
    return found


def comparable_prefix(first: Sequence[CellState], second: Sequence[CellState]) -> list[CellState]:
    """`first`'s states up to where the two runs ran other cells (or other sources)."""
    prefix = []
    for one, other in zip(first, second, strict=False):
        if one.cell_id != other.cell_id or one.source != other.source:
            break
        prefix.append(one)
    return prefix


def find_origin(first: Sequence[CellState], second: Sequence[CellState], cells: Sequence[CodeCell]) -> Origin | None:
    """The first cell after which the two runs' states differ.

    None if they never do, or if they ran other cells (or other sources)
    before they did: a state stored in a ledger may be from an older notebook.
    """
    by_id = {cell.cell_id: cell for cell in cells if cell.cell_id is not None}
    clock: list[str] = []
    # Generators are seeded from the OS at start, so they differ in any two runs until a cell seeds them:
    # a generator parts the runs only once it was the same in both.
    seeded: set[str] = set()
    for one, other in zip(first, second, strict=False):  # a run that failed stopped early
        if one.cell_id != other.cell_id or one.source != other.source:
            return None
        names = []
        for name, kind in _differing(one.names, other.names):
            if _holds_the_clock(name, kind):
                if name not in clock:
                    clock.append(name)
            else:
                names.append((name, kind))
        differing = {name for name, _ in _differing(one.generators, other.generators)}
        generators = sorted(differing & seeded)
        seeded |= (one.generators.keys() & other.generators.keys()) - differing
        if names or generators:
            cell = by_id.get(one.cell_id) if one.cell_id is not None else None
            return Origin(
                cell.number if cell else None,
                one.cell_id,
                cell is not None and magic_line_and_body(cell.source) is not None,
                tuple(names),
                tuple(generators),
                clock_names=tuple(clock),
            )
    return None


class _Finding(Protocol):
    @property
    def cell(self) -> int: ...

    @property
    def line(self) -> int: ...

    @property
    def message(self) -> str: ...


class _Cause(Protocol):
    @property
    def finding(self) -> _Finding: ...

    @property
    def made_here(self) -> tuple[str, ...]: ...


Cause = TypeVar("Cause", bound=_Cause)


def rank_by_origin(causes: Sequence[Cause], origin_cell: int | None) -> list[Cause]:
    """The causes at the origin cell first, then those before it (nearest first), then the rest, each kept in order."""
    if origin_cell is None:
        return list(causes)

    def rank(cause: Cause) -> tuple[int, int]:
        cell = cause.finding.cell
        if cell == origin_cell:
            return (0, 0)
        return (1, origin_cell - cell) if cell < origin_cell else (2, cell)

    return sorted(causes, key=rank)


def quoted_finding(causes: Sequence[_Cause], origin_cell: int | None) -> str | None:
    """`cell 8, line 1: MESSAGE`: the lint's first finding at the origin cell, else in a cell that made what it uses.

    `causes` are the lint's likely causes for the origin cell: its own
    findings and those of the cells it draws on (a helper it calls).
    """
    ranked = rank_by_origin(causes, origin_cell)
    if not ranked:
        return None
    cause = ranked[0]
    where = f"cell {cause.finding.cell}, line {cause.finding.line}"
    if cause.made_here:
        names = ", ".join(repr(name) for name in cause.made_here)
        where += f" (it made {names}, which cell {origin_cell} uses)"
    return f"{where}: {cause.finding.message}"
