"""`repro-verify`'s command line: its flags, their values checked as they are parsed, and its help."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .._version import __version__
from ..exceptions import ArgumentError, ShardError, UsageFailure
from ..verify.options import KERAS_BACKENDS, parse_count, parse_non_negative_float
from ..verify.parallel import DASK_ADDRESS_VARIABLE
from ..verify.shard import Shard, parse_shard

EPILOG = """\
exit status:
  0    every notebook reproduced (identical, or within --rtol/--atol)
  1    some recorded results differ
  2    bad usage or unreadable input (missing file, not a regular file, not a
       notebook, corrupt ledger, a report path that would overwrite something
       or that another report takes); nothing ran
  3    a notebook failed to run (a cell raised, the kernel died, a timeout)
  4    every notebook reproduced, but a ledger or a report (--json, --markdown,
       --html) could not be written (the output says which)
  5    with --require-records: a notebook recorded no value to compare, so
       nothing was checked
  130  interrupted (SIGINT, Ctrl-C); the notebooks in progress were left as they
       were and every kernel was stopped
  143  terminated (SIGTERM); likewise
with several notebooks: 3 if any failed to run, else 1 if any differ, else 5
if any checked nothing under --require-records, else 4 if a file could not be
written, else 0.
with --check-ledger (no kernel runs): 0 every ledger matches its notebook's
%%reproducible cells, 1 some ledger is stale or missing, 2 bad usage.
"""


PROG = "repro-verify"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageFailure(f"{message} (see {self.prog} --help)")


def _non_negative_float(text: str) -> float:
    try:
        return parse_non_negative_float(text)
    except ArgumentError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive_int(text: str) -> int:
    try:
        return parse_count(text)
    except ArgumentError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _at_least_two(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text!r} must be 2 or more: a spread needs two runs")
    return value


def _jobs(text: str) -> int:
    if text == "auto":
        return _cores()
    return _positive_int(text)


def _cores() -> int:
    """The cores this process may use (a container's or a CI runner's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _shard(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ShardError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK", help="notebooks (.ipynb) to verify")
    parser.add_argument(
        "--runs",
        type=_positive_int,
        metavar="N",
        help="fresh runs per notebook (default: 1 with a ledger, 2 without)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="after showing differences, replace the ledger with this run's records",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="compare with this ledger instead of NOTEBOOK.repro.json (one notebook only)",
    )
    parser.add_argument(
        "--rtol", type=_non_negative_float, default=0.0, metavar="X", help="relative tolerance (default 0: bitwise)"
    )
    parser.add_argument(
        "--atol", type=_non_negative_float, default=0.0, metavar="X", help="absolute tolerance (default 0: bitwise)"
    )
    parser.add_argument(
        "--timeout",
        type=_non_negative_float,
        default=600.0,
        metavar="SECONDS",
        help="limit for each cell (default 600; 0: none)",
    )
    parser.add_argument(
        "--kernel",
        metavar="NAME",
        help="an installed kernel spec to run (default: the reproducible kernel of this Python)",
    )
    parser.add_argument(
        "--backend",
        choices=KERAS_BACKENDS,
        help="the Keras backend to run on (default: the one the ledger was recorded on, else KERAS_BACKEND, "
        "else Keras' default)",
    )
    parser.add_argument(
        "--require-records",
        action="store_true",
        help="fail (exit status 5) for a notebook whose %%%%reproducible cells recorded no value to compare",
    )
    parser.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="also write a machine-readable report here; an existing file is replaced only if it is an "
        "earlier report (never a notebook, a ledger or a folder)",
    )
    parser.add_argument(
        "--force-json",
        action="store_true",
        help="let --json replace an existing file that is not an earlier report",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="also write a Markdown table, a row per notebook (for $GITHUB_STEP_SUMMARY); an existing file is "
        "replaced only if it is empty or an earlier report",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="kernels at once: notebooks, and the fresh runs of a first verification, side by side "
        "(default 1; auto: one per core)",
    )
    parser.add_argument(
        "--executor",
        metavar="SCHEME://HOST:PORT",
        help="verify each notebook as a task on a cluster, one kernel per task: dask://HOST:PORT for a "
        f"dask.distributed scheduler (default: ${DASK_ADDRESS_VARIABLE} if set, else kernels on this machine; "
        'needs "repro-magics[dask]")',
    )
    parser.add_argument(
        "--ship-folder",
        action="store_true",
        help="with --executor: send each notebook's folder with its task (up to 64 MiB), for workers that do "
        "not share this machine's filesystem",
    )
    parser.add_argument(
        "--changed",
        action="store_true",
        help="skip a notebook whose code cells, environment and input files (those its last run read in its "
        "folder) are unchanged since the verification noted in its ledger; note each verification that "
        "reproduced there (a ledger without such a note is always verified)",
    )
    parser.add_argument(
        "--fail-fast", action="store_true", help="stop at the first notebook that differs or fails to run"
    )
    parser.add_argument(
        "--shard",
        type=_shard,
        metavar="K/N",
        help="verify only the K-th of N disjoint shares of the notebooks (by a hash of each path, "
        "the same on every machine), for a CI matrix of N jobs",
    )
    parser.add_argument(
        "--check-ledger",
        action="store_true",
        help="run nothing: report notebooks whose %%%%reproducible cells changed since their ledger was "
        "recorded, or that have such cells and no ledger (for a pre-commit hook)",
    )
    parser.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help='also write a self-contained HTML report with plots here (needs "repro-magics[report]")',
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    talk.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="when the output is not a terminal (a CI log), a progress line per cell, not only one per run",
    )
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="run each fresh run in its own temporary copy of the notebook's folder, so that no run sees the files "
        "another wrote (a checkpoint, a cache); costs a copy of the folder per run",
    )
    parser.add_argument(
        "--no-state-fingerprints",
        dest="state_fingerprints",
        action="store_false",
        help="do not fingerprint each kernel's variables after every cell; runs that differ then get no origin line",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="run each notebook twice with every training step of its captured fits fingerprinted (slow), and "
        "name, for each cell that differs, the first batch whose inputs or weights differ",
    )
    parser.add_argument(
        "--calibrate",
        type=_at_least_two,
        metavar="N",
        help="run each notebook N times (2 or more), report how far each cell's metrics and values spread, and "
        "suggest tolerances; with --update, store them in the ledger, where later runs without --rtol/--atol use them",
    )


def verify_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = Parser(
        prog=prog,
        description="Re-run notebooks in fresh kernels and compare what their %%reproducible cells "
        "recorded with the saved ledger (NOTEBOOK.repro.json).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"repro-magics {__version__}")
    add_verify_arguments(parser)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments, with the command line kept for reports that show it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parser.parse_args(argv)
    arguments.prog, arguments.argv = parser.prog, argv
    if getattr(arguments, "command", None) == "verify":
        arguments.prog = f"{parser.prog} verify"
        arguments.argv = argv[1:]
    return arguments
