"""The rules, one module per theme; importing this package registers each of them in `registry.RULES`.

A rule is a function decorated with `@rule(code, name, category, summary)`:
its code, category and summary are written once there, its messages once in
its body, and its docstring is its documentation (rendered into docs/rules.md
by `python -m repro_magics.lint.docs --write`), as ruff documents each rule
next to its code.
"""

from __future__ import annotations

from . import advice, environment, files, order, pipelines, recorded, seeds, workers

__all__ = ["advice", "environment", "files", "order", "pipelines", "recorded", "seeds", "workers"]
