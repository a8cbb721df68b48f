"""Findings as text, one a line as flake8 and ruff print them, or as JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .registry import DOCS_PAGE, Finding


def docs_anchor(code: str) -> str:
    return f"{DOCS_PAGE}#{code}"


def format_text(path: Path, findings: Sequence[Finding]) -> str:
    """`nb.ipynb:cell 4:3:9: RM101 message (see docs/rules.md#RM101)` lines."""
    return "".join(
        f"{path}:cell {f.cell}:{f.line}:{f.column}: {f.code} {f.message} (see {docs_anchor(f.code)})\n"
        for f in findings
    )


def format_json(results: Sequence[tuple[Path, Sequence[Finding]]]) -> str:
    return json.dumps(
        [
            {
                "path": str(path),
                "cell": f.cell,
                "line": f.line,
                "column": f.column,
                "code": f.code,
                "message": f.message,
                "docs": docs_anchor(f.code),
            }
            for path, findings in results
            for f in findings
        ],
        indent=2,
    )
