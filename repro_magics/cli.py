"""`repro-verify` and `python -m repro_magics`: parse, call the plain functions, print, exit."""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from . import __version__
from .compare import Tolerance
from .ledger import LEDGER_SUFFIX, LedgerError, atomic_write_text, to_json_text
from .report import format_verification, report_json
from .runner import KernelNotFound, NotebookError
from .verify import (
    EXIT_DIFFERENT,
    EXIT_FAILED_TO_RUN,
    EXIT_NOTHING_RECORDED,
    EXIT_REPRODUCED,
    EXIT_USAGE,
    NotebookVerification,
    VerifyInput,
    VerifyOptions,
    read_input,
    verify_notebook,
)

EXIT_INTERRUPTED = 130

EPILOG = """\
exit status:
  0  every notebook reproduced (identical, or within --rtol/--atol)
  1  some recorded results differ
  2  bad usage or unreadable input (missing file, not a notebook, corrupt ledger)
  3  a notebook failed to run (a cell raised, the kernel died, a timeout)
  5  with --require-records: a notebook recorded no number, so nothing was checked
"""


class UsageFailure(Exception):
    """Bad usage or input: reported in one sentence with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageFailure(f"{message} (see {self.prog} --help)")


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of 0 or more")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _add_verify_arguments(parser: argparse.ArgumentParser) -> None:
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
        "--require-records",
        action="store_true",
        help="fail (exit status 5) for a notebook whose %%%%reproducible cells recorded no number",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write a machine-readable report here")
    parser.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help='also write a self-contained HTML report with plots here (needs "repro-magics[report]")',
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def verify_parser(prog: str = "repro-verify") -> argparse.ArgumentParser:
    parser = _Parser(
        prog=prog,
        description="Re-run notebooks in fresh kernels and compare what their %%reproducible cells "
        "recorded with the saved ledger (NOTEBOOK.repro.json).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"repro-magics {__version__}")
    _add_verify_arguments(parser)
    return parser


class _ProgressLine:
    """One line per cell on a log, one rewritten line on a terminal."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream, self.quiet = stream, quiet
        self.interactive = stream.isatty()
        self.prefix = ""

    def start_run(self, notebook: Path, number: int, runs: int) -> None:
        self.prefix = f"{notebook} run {number}/{runs}"

    def cell(self, number: int, total: int, cell_id: str, source_line: str) -> None:
        if self.quiet:
            return
        text = f"{self.prefix}: cell {number}/{total} {source_line[:60]}"
        if self.interactive:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.interactive and not self.quiet:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _check_inputs(arguments: argparse.Namespace) -> list[VerifyInput]:
    if arguments.baseline is not None and len(arguments.notebooks) > 1:
        raise UsageFailure("--baseline compares one notebook; give it one notebook")
    if arguments.kernel:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        try:
            KernelSpecManager().get_kernel_spec(arguments.kernel)
        except NoSuchKernel:
            raise UsageFailure(f"no Jupyter kernel named {arguments.kernel!r} is installed") from None
    if arguments.json is not None and not arguments.json.parent.is_dir():
        raise UsageFailure(f"the folder for --json, {arguments.json.parent}, does not exist")
    _check_html(arguments)
    try:
        return [read_input(notebook, arguments.baseline) for notebook in arguments.notebooks]
    except (NotebookError, LedgerError) as error:
        raise UsageFailure(str(error)) from None


def _check_html(arguments: argparse.Namespace) -> None:
    if arguments.html is None:
        return
    from .html_report import PlottingMissing, is_html_report, require_matplotlib

    path = arguments.html
    if not path.parent.is_dir():
        raise UsageFailure(f"the folder for --html, {path.parent}, does not exist")
    # Never lose a file of the user's: only an earlier page is replaced.
    if path.is_dir():
        raise UsageFailure(f"--html {path} is a folder; give a file name for the report")
    if path.name.lower().endswith((".ipynb", LEDGER_SUFFIX)):
        raise UsageFailure(f"--html {path} is a notebook or a ledger; give the report a file of its own")
    if path.exists() and not is_html_report(path):
        raise UsageFailure(
            f"--html {path} exists and is not a repro-verify HTML report; remove it or pick another name"
        )
    try:
        require_matplotlib()
    except PlottingMissing as error:
        raise UsageFailure(str(error)) from None


def _write_html(
    arguments: argparse.Namespace, results: list[NotebookVerification], status: int, tolerance: Tolerance
) -> None:
    from .html_report import write_html_report

    command = shlex.join([*arguments.prog.split(), *arguments.argv])
    try:
        write_html_report(arguments.html, results, status, tolerance, command)
    except OSError as error:
        raise UsageFailure(f"could not write the report {arguments.html}: {error.strerror or error}") from None


def run_verify(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inputs = _check_inputs(arguments)
    tolerance = Tolerance(rtol=arguments.rtol, atol=arguments.atol)
    options = VerifyOptions(
        runs=arguments.runs,
        update=arguments.update,
        baseline=arguments.baseline,
        tolerance=tolerance,
        timeout=arguments.timeout or None,
        kernel_name=arguments.kernel,
        require_records=arguments.require_records,
    )
    progress = _ProgressLine(err, arguments.quiet)
    results: list[NotebookVerification] = []
    for given in inputs:
        try:
            result = verify_notebook(
                given,
                options,
                progress=progress.cell,
                on_run_start=lambda number, runs, path=given.path: progress.start_run(path, number, runs),
            )
        except KernelNotFound as error:
            raise UsageFailure(str(error)) from None
        except OSError as error:
            raise UsageFailure(f"could not write {error.filename or 'a file'}: {error.strerror or error}") from None
        progress.clear()
        results.append(result)
        out.write("\n".join(format_verification(result, tolerance)) + "\n")
        out.flush()
    statuses = {result.exit_status for result in results}
    status = next(
        (s for s in (EXIT_FAILED_TO_RUN, EXIT_DIFFERENT, EXIT_NOTHING_RECORDED) if s in statuses), EXIT_REPRODUCED
    )
    if len(results) > 1:
        failed = sum(r.exit_status == EXIT_FAILED_TO_RUN for r in results)
        differ = sum(r.exit_status == EXIT_DIFFERENT for r in results)
        unchecked = sum(r.nothing_recorded and not r.failure for r in results)
        out.write(
            f"{len(results)} notebooks: {len(results) - failed - differ - unchecked} reproduced, "
            f"{differ} differ, {failed} failed to run" + (f", {unchecked} recorded nothing" if unchecked else "") + "\n"
        )
    if arguments.json is not None:
        try:
            atomic_write_text(arguments.json, to_json_text(report_json(results, status, tolerance)))
        except OSError as error:
            raise UsageFailure(f"could not write the report {arguments.json}: {error.strerror or error}") from None
    if arguments.html is not None:
        _write_html(arguments, results, status, tolerance)
    return status


def _guarded(prog: str, err: TextIO, command: Callable[[], int]) -> int:
    """Run a command; bad usage becomes one line and exit status 2, Ctrl-C exit status 130."""
    try:
        return command()
    except UsageFailure as error:
        err.write(f"{prog}: error: {error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write(f"{prog}: interrupted; the notebook in progress, if any, was left as it was\n")
        return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`repro-verify`: returns the exit status (see `EPILOG`)."""
    out, err = out or sys.stdout, err or sys.stderr
    return _guarded("repro-verify", err, lambda: run_verify(_parse(verify_parser(), argv), out, err))


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments, with the command line kept for reports that show it."""
    argv = list(sys.argv[1:] if argv is None else argv)
    arguments = parser.parse_args(argv)
    arguments.prog, arguments.argv = parser.prog, argv
    return arguments


def module_main(argv: Sequence[str] | None = None) -> int:
    """`python -m repro_magics verify ...` and `python -m repro_magics install-kernel`."""
    parser = _Parser(prog="python -m repro_magics", description="repro_magics commands.")
    parser.add_argument("--version", action="version", version=f"repro-magics {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    verify = commands.add_parser(
        "verify",
        help="re-run notebooks and compare with their ledgers (same as repro-verify)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_verify_arguments(verify)
    install = commands.add_parser("install-kernel", help="install the 'Python 3 (reproducible)' kernel")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for the current user")
    where.add_argument("--sys-prefix", action="store_true", help=f"into this environment ({sys.prefix})")
    where.add_argument("--prefix", metavar="PATH", help="into PATH/share/jupyter/kernels")

    def command() -> int:
        arguments = _parse(parser, argv)
        if arguments.command == "verify":
            return run_verify(arguments, sys.stdout, sys.stderr)
        return _install_kernel(arguments)

    return _guarded(parser.prog, sys.stderr, command)


def _install_kernel(arguments: argparse.Namespace) -> int:
    from .kernelspec import DISPLAY_NAME, install_kernel_spec

    prefix = sys.prefix if arguments.sys_prefix else arguments.prefix
    try:
        folder = install_kernel_spec(user=arguments.user or prefix is None, prefix=prefix)
    except OSError as error:
        raise UsageFailure(f"cannot install the kernel: {error.strerror or error}") from None
    print(f"installed {DISPLAY_NAME!r} in {folder}")
    return EXIT_REPRODUCED
