"""The `%%reproducible` line: `seed=812 record=a,b` and `--seed 812 --record a,b` alike."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ..exceptions import ArgumentError, SeedError
from .seeding import parse_seed

OPTIONS = ("seed", "record")


@dataclass(frozen=True)
class CellOptions:
    seed: int | None
    record: tuple[str, ...]


def _parse_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if not name.isidentifier():
            raise ArgumentError(f"record= takes variable names separated by commas; {name!r} is not a name")
    return names


def parse_cell_line(line: str) -> CellOptions:
    """Parse the arguments of `%%reproducible`, raising `ArgumentError` for anything off."""
    try:
        tokens = shlex.split(line)
    except ValueError as error:
        raise ArgumentError(f"cannot read the options: {error}") from None
    given: dict[str, str] = {}
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token.startswith("--"):
            key, equals, value = token[2:].partition("=")
            if not equals:
                position += 1
                if position == len(tokens):
                    raise ArgumentError(f"--{key} needs a value")
                value = tokens[position]
        elif "=" in token:
            key, _, value = token.partition("=")
        else:
            raise ArgumentError(f"unexpected {token!r}; options are seed=N and record=NAME[,NAME...]")
        if key not in OPTIONS:
            raise ArgumentError(f"unknown option {key!r}; options are seed=N and record=NAME[,NAME...]")
        if key in given:
            raise ArgumentError(f"{key} is given twice")
        given[key] = value
        position += 1
    try:
        seed = parse_seed(given["seed"]) if "seed" in given else None
    except SeedError as error:
        raise ArgumentError(str(error)) from None
    return CellOptions(seed=seed, record=_parse_names(given.get("record", "")))
