"""Which rules run: traps by default; ruff-style `select` / `extend-select` from the command line or pyproject.toml."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import SelectionError
from . import rules  # noqa: F401  (importing the package registers every rule)
from .registry import RULES, TRAP

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

RULES.sort(key=lambda registered: registered.code)
ALL_CODES = frozenset(registered.code for registered in RULES)
DEFAULT_CODES = frozenset(registered.code for registered in RULES if registered.category == TRAP)
CONFIG_TABLE = "repro-lint"


def _codes_for(selector: str) -> frozenset[str]:
    selector = selector.strip()
    if selector.upper() == "ALL":
        return ALL_CODES
    matched = frozenset(code for code in ALL_CODES if code.startswith(selector.upper()))
    if not selector or not matched:
        raise SelectionError(f"'{selector}' is not a rule code or a prefix of one (see docs/rules.md)")
    return matched


def selected_codes(select: Iterable[str] | None = None, extend_select: Iterable[str] = ()) -> frozenset[str]:
    """The rule codes to run: `select` (default: every trap) plus `extend_select`."""
    codes = DEFAULT_CODES if select is None else frozenset().union(*(_codes_for(s) for s in select))
    return codes.union(*(_codes_for(s) for s in extend_select))


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    #: The pyproject.toml they came from, if any.
    source: Path | None = None


def _selectors(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SelectionError(f'{path}: [tool.{CONFIG_TABLE}] {key} must be a list of rule codes, like ["RM106"]')
    return tuple(value)


def read_settings(start: Path) -> Settings:
    """`[tool.repro-lint]` of the nearest pyproject.toml at or above `start` that has one."""
    for folder in [start, *start.parents]:
        path = folder / "pyproject.toml"
        if not path.is_file():
            continue
        try:
            content = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise SelectionError(f"{path}: cannot be read as TOML ({error})") from None
        table = content.get("tool", {}).get(CONFIG_TABLE)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise SelectionError(f"{path}: [tool.{CONFIG_TABLE}] must be a table")
        unknown = sorted(set(table) - {"select", "extend-select", "extend_select"})
        if unknown:
            raise SelectionError(f"{path}: [tool.{CONFIG_TABLE}] has unknown keys: {', '.join(unknown)}")
        select = _selectors(table["select"], "select", path) if "select" in table else None
        extend = table.get("extend-select", table.get("extend_select", []))
        settings = Settings(select, _selectors(extend, "extend-select", path), path)
        selected_codes(settings.select, settings.extend_select)  # every selector must name a rule
        return settings
    return Settings()


def merge(settings: Settings, select: Sequence[str] | None, extend_select: Sequence[str]) -> frozenset[str]:
    """The command line's `--select` replaces the file's; `--extend-select` adds to both."""
    chosen = select if select is not None else settings.select
    return selected_codes(chosen, (*settings.extend_select, *extend_select))
