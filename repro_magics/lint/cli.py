"""`repro-lint`: parse, lint each notebook, print the findings, exit 0 clean / 1 findings / 2 bad input."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .._version import __version__
from ..exceptions import NotebookError, SelectionError, UsageFailure
from .cells import read_notebook
from .check import lint
from .output import format_json, format_text
from .registry import Finding
from .selection import merge, read_settings

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

EPILOG = """\
exit status:
  0  no findings
  1  findings (printed one a line: PATH:cell N:LINE:COLUMN: CODE message)
  2  bad usage or unreadable input (missing file, not a regular file, not a notebook)

by default only the traps run (a fresh run of the notebook can give other numbers);
advice (RM106 re-run idempotence, RM107, RM108, RM109, RM113) runs when selected,
e.g. --extend-select RM106 or --select ALL; the same keys ('select',
'extend-select') go in pyproject.toml under [tool.repro-lint].
cells that cannot be analysed (not Python, nested too deeply) are named on
standard error; the other cells are checked.

suppress a finding with '# repro: ignore[RM101]' at the end of its line, or for a
whole notebook with metadata {"repro_magics": {"lint": {"ignore": ["RM101"]}}}.
rules: docs/rules.md
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageFailure(f"{message} (see {self.prog} --help)")


def _codes(text: str) -> list[str]:
    return [code.strip() for code in text.split(",") if code.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="repro-lint",
        description="Find reproducibility traps in Jupyter notebooks by reading them (nothing is run).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="notebooks (.ipynb), or folders to search")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument(
        "--select",
        type=_codes,
        metavar="CODES",
        help="comma-separated rule codes or prefixes to run instead of the default (the traps); ALL for every rule",
    )
    parser.add_argument(
        "--extend-select",
        type=_codes,
        default=[],
        metavar="CODES",
        help="comma-separated rule codes or prefixes to run as well, e.g. RM106,RM113",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def notebook_paths(paths: Sequence[Path]) -> list[Path]:
    """The notebooks named, with folders searched for `*.ipynb` (leaving out checkpoints)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if not inside:
                raise UsageFailure(f"{path}: no notebooks (.ipynb) in this folder")
            found.extend(inside)
        else:
            found.append(path)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    try:
        arguments = build_parser().parse_args(argv)
        codes = merge(read_settings(Path.cwd()), arguments.select, arguments.extend_select)
        notebooks = [read_notebook(path) for path in notebook_paths(arguments.paths)]
    except (UsageFailure, NotebookError, SelectionError) as error:
        print(f"repro-lint: {error}", file=sys.stderr)
        return EXIT_USAGE
    results: list[tuple[Path, list[Finding]]] = []
    for notebook in notebooks:
        results.append((notebook.path, lint(notebook, codes=codes)))
        for cell in notebook.cells:
            if cell.not_checked is not None:
                print(
                    f"repro-lint: {notebook.path}:cell {cell.number}: not checked: {cell.not_checked}", file=sys.stderr
                )
    if arguments.format == "json":
        print(format_json(results))
    else:
        sys.stdout.write("".join(format_text(path, findings) for path, findings in results))
    return EXIT_FINDINGS if any(findings for _, findings in results) else EXIT_CLEAN
