"""Rows of results, the printed table, and the JSON file."""

from __future__ import annotations

import json
import operator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_OPERATORS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge}
_FORMATS = {
    "x": "{:.3f}x",
    "ms": "{:.3f} ms",
    "s": "{:.3f} s",
    "GB/s": "{:.2f} GB/s",
    "samples/s": "{:,.0f} /s",
    "%": "{:.1f} %",
}


@dataclass(frozen=True)
class Goal:
    op: str
    target: float

    def met(self, value: float) -> bool:
        return bool(_OPERATORS[self.op](value, self.target))

    def __str__(self) -> str:
        return f"{self.op} {self.target:g}"


@dataclass(frozen=True)
class Row:
    measure: str
    value: float
    unit: str
    goal: Goal | None = None

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.value)

    def shown(self) -> str:
        return _FORMATS.get(self.unit, "{:.4g} " + self.unit).format(self.value)


@dataclass
class Section:
    """One benchmark's rows, plus its raw samples and notes for the JSON file."""

    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def format_table(sections: list[Section]) -> str:
    header = ("benchmark", "measure", "value", "goal", "status")
    lines: list[tuple[str, str, str, str, str]] = [header]
    for section in sections:
        if section.error:
            lines.append((section.name, "FAILED", section.error, "", ""))
        for row in section.rows:
            status = "" if row.met is None else ("met" if row.met else "MISSED")
            lines.append((section.name, row.measure, row.shown(), str(row.goal or ""), status))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    rendered = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def section_json(section: Section) -> dict[str, Any]:
    rows = [{**asdict(row), "goal": str(row.goal) if row.goal else None, "met": row.met} for row in section.rows]
    return {"name": section.name, "error": section.error, "rows": rows, "details": section.details}


def write_json(path: Path, machine: dict[str, Any], mode: str, sections: list[Section]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"mode": mode, "machine": machine, "sections": [section_json(s) for s in sections]}
    path.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
