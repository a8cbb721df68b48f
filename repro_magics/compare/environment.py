"""The environments two sets of records were made in: flattened to dotted names, and what differs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


def _flatten(mapping: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in sorted(mapping.items()):
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def flat_environment(environment: dict[str, Any]) -> dict[str, Any]:
    """An environment's facts by dotted name (`packages.keras`), sorted."""
    return dict(_flatten(environment))


def backend_of(environment: dict[str, Any]) -> str | None:
    """The Keras backend an environment fingerprint names; None for an empty one.

    Ledgers written before the backend was recorded ran on TensorFlow, the only backend then.
    """
    backend = environment.get("backend")
    if isinstance(backend, dict) and backend.get("name"):
        return str(backend["name"])
    return "tensorflow" if environment else None


def environment_changes(baseline: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, baseline value, new value) for each environment fact that differs."""
    b_flat, n_flat = flat_environment(baseline), flat_environment(new)
    return [
        (name, str(b_flat.get(name, "unset")), str(n_flat.get(name, "unset")))
        for name in sorted(set(b_flat) | set(n_flat))
        if b_flat.get(name) != n_flat.get(name)
    ]


@dataclass
class EnvironmentRow:
    name: str
    values: list[str]
    changed: bool


def environment_table(environments: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[EnvironmentRow]]:
    """(labels, a row per fact) for environments given as (label, environment); a row is changed where they differ."""
    shown = [(label, flat_environment(environment)) for label, environment in environments]
    if not shown:
        return [], []
    names = sorted({name for _, flat in shown for name in flat})
    rows = []
    for name in names:
        values = [str(flat.get(name, "unset")) for _, flat in shown]
        rows.append(EnvironmentRow(name, values, changed=len(set(values)) > 1))
    return [label for label, _ in shown], rows
