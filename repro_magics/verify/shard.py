"""`--shard K/N`: the K-th of N disjoint shares of the notebooks, the same on every machine."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..exceptions import ShardError

_SHARD = re.compile(r"(\d+)/(\d+)")

P = TypeVar("P", bound=Path)


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, path: Path) -> bool:
        return shard_of(path, self.count) == self.index

    def select(self, paths: Sequence[P]) -> list[P]:
        """The paths of this share, in the order given."""
        return [path for path in paths if self.holds(path)]


def parse_shard(text: str) -> Shard:
    match = _SHARD.fullmatch(text.strip())
    if not match:
        raise ShardError(f"{text!r} is not K/N (for example 2/4)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"{text!r}: K must be from 1 to N, and N 1 or more")
    return Shard(index, count)


def shard_of(path: Path, count: int) -> int:
    """The share (1 to `count`) a notebook belongs to.

    A hash of the path as written, in POSIX form and normalised: the same on
    every machine and operating system that checks out the repository in
    the same layout, and a notebook's share does not depend on which other
    notebooks there are, so adding one moves no other.
    """
    key = posixpath.normpath(Path(path).as_posix()).encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % count + 1
