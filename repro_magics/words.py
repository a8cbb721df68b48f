"""Counted phrases in every report (text, Markdown, HTML): `1 cell`, `2 cells`, `1 number differs`.

One home for the rule, so that no surface writes `1 notebook(s)` or `1 number differ`.
It imports nothing of the package: the kernel side and the host side may both use it.
"""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """The count and its noun in the number it takes: `1 cell`, `0 cells`, `2 entries` (give irregular plurals)."""
    return f"{count} {agreeing(count, noun, plural if plural is not None else noun + 's')}"


def agreeing(count: int, one: str, other: str) -> str:
    """The form of a word that goes with `count`: `one` for exactly 1 (`differs`), else `other` (`differ`)."""
    return one if count == 1 else other
