"""`repro-verify` and `python -m repro_magics`: parse, call the plain functions, print, exit."""

from __future__ import annotations

import argparse
import json
import math
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from . import __version__
from .compare import Tolerance
from .ledger import LEDGER_SUFFIX, LedgerError, atomic_write_text, to_json_text
from .report import REPORT_FORMAT, format_verification, printable, report_json
from .runner import KernelNotFound, NotebookError
from .verify import (
    EXIT_DIFFERENT,
    EXIT_FAILED_TO_RUN,
    EXIT_NOT_WRITTEN,
    EXIT_NOTHING_RECORDED,
    EXIT_REPRODUCED,
    EXIT_USAGE,
    NotebookVerification,
    VerifyInput,
    VerifyOptions,
    read_input,
    verify_notebook,
)

EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

EPILOG = """\
exit status:
  0    every notebook reproduced (identical, or within --rtol/--atol)
  1    some recorded results differ
  2    bad usage or unreadable input (missing file, not a notebook, corrupt
       ledger, a --json path that would overwrite something); nothing ran
  3    a notebook failed to run (a cell raised, the kernel died, a timeout)
  4    every notebook reproduced, but a ledger or the --json report could not
       be written (the report says which)
  5    with --require-records: a notebook recorded no value to compare, so
       nothing was checked
  130  interrupted (SIGINT, Ctrl-C); the notebook in progress was left as it was
  143  terminated (SIGTERM); the notebook in progress was left as it was
with several notebooks: 3 if any failed to run, else 1 if any differ, else 5
if any checked nothing under --require-records, else 4 if a file could not be
written, else 0.
"""


PROG = "repro-verify"


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


def _at_least_two(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text!r} must be 2 or more: a spread needs two runs")
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
        "--html",
        type=Path,
        metavar="PATH",
        help='also write a self-contained HTML report with plots here (needs "repro-magics[report]")',
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
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
        text = printable(f"{self.prefix}: cell {number}/{total} {source_line[:60]}")
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
    if arguments.force_json and arguments.json is None:
        raise UsageFailure("--force-json goes with --json PATH")
    try:
        inputs = [read_input(notebook, arguments.baseline) for notebook in arguments.notebooks]
    except (NotebookError, LedgerError) as error:
        raise UsageFailure(str(error)) from None
    if arguments.json is not None:
        _check_report_path(
            "--json",
            arguments.json,
            inputs,
            is_earlier_report=_is_json_report,
            force_option="--force-json",
            forced=arguments.force_json,
        )
    if arguments.html is not None:
        _check_html(arguments, inputs)
    return inputs


def _check_report_path(
    option: str,
    path: Path,
    inputs: list[VerifyInput],
    *,
    is_earlier_report: Callable[[Path], bool],
    force_option: str | None = None,
    forced: bool = False,
) -> None:
    """Refuse a report path whose file the user would lose: a notebook, a ledger, anything not an earlier report.

    `force_option` names the option that lets an existing file be replaced anyway, if there is
    one; `forced` says it was given.
    """
    target = path.resolve()
    names = {path.name.lower(), target.name.lower()}
    if not path.parent.is_dir():
        raise UsageFailure(f"the folder for {option}, {path.parent}, does not exist")
    if target in {given.path.resolve() for given in inputs}:
        raise UsageFailure(f"{option} {path} is one of the notebooks to verify; give the report a file of its own")
    if any(name.endswith(".ipynb") for name in names):
        raise UsageFailure(
            f"{option} {path} is a notebook; give the report a file of its own "
            f"(a shell pattern right after {option} puts a notebook there)"
        )
    if target in {given.ledger_path.resolve() for given in inputs} or any(n.endswith(LEDGER_SUFFIX) for n in names):
        raise UsageFailure(f"{option} {path} is a ledger; give the report a file of its own")
    if path.is_dir():
        raise UsageFailure(f"{option} {path} is a folder; give a file name for the report")
    if path.exists() and not path.is_file():
        raise UsageFailure(f"{option} {path} is not a regular file; give a file name for the report")
    if path.is_file() and not forced and not is_earlier_report(path):
        remedy = f"pass {force_option} to replace it" if force_option else "remove it or pick another name"
        raise UsageFailure(f"{option} {path} exists and is not a repro-verify report; {remedy}")


def _is_json_report(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == REPORT_FORMAT


def _check_html(arguments: argparse.Namespace, inputs: list[VerifyInput]) -> None:
    from .html_report import PlottingMissing, is_html_report, require_matplotlib

    _check_report_path("--html", arguments.html, inputs, is_earlier_report=is_html_report)
    try:
        require_matplotlib()
    except PlottingMissing as error:
        raise UsageFailure(str(error)) from None


def _write_report(noun: str, path: Path, write: Callable[[], None], status: int, err: TextIO) -> int:
    """Write a report after the verdicts are out; a failure is one line and exit status 4, never a lost verdict."""
    try:
        write()
    except OSError as error:
        # The error may name a temporary file beside the report; the user knows the report.
        err.write(printable(f"{PROG}: could not write the {noun} {path}: {error.strerror or error}") + "\n")
        return _overall_status({status, EXIT_NOT_WRITTEN})
    return status


def _write_html(
    arguments: argparse.Namespace, results: list[NotebookVerification], status: int, tolerance: Tolerance, err: TextIO
) -> int:
    from .html_report import write_html_report

    command = shlex.join([*arguments.prog.split(), *arguments.argv])
    return _write_report(
        "HTML report",
        arguments.html,
        lambda: write_html_report(arguments.html, results, status, tolerance, command),
        status,
        err,
    )


def run_verify(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inputs = _check_inputs(arguments)
    if arguments.calibrate:
        return _run_calibrate(arguments, inputs, out, err)
    if arguments.trace:
        return _run_trace(arguments, inputs, out, err)
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
        progress.clear()
        results.append(result)
        out.write("\n".join(format_verification(result, tolerance)) + "\n")
        out.flush()
    status = _overall_status({result.exit_status for result in results})
    if len(results) > 1:
        out.write(printable(_summary(results)) + "\n")
        out.flush()
    if arguments.json is not None:
        json_report = to_json_text(report_json(results, status, tolerance))
        status = _write_report(
            "JSON report", arguments.json, lambda: atomic_write_text(arguments.json, json_report), status, err
        )
    if arguments.html is not None:
        status = _write_html(arguments, results, status, tolerance, err)
    return status


def _run_trace(arguments: argparse.Namespace, inputs: list[VerifyInput], out: TextIO, err: TextIO) -> int:
    from .diagnosis.trace import trace_lines, trace_notebook

    for flag, given in (("--runs", arguments.runs), ("--json", arguments.json), ("--baseline", arguments.baseline)):
        if given is not None:
            raise UsageFailure(f"--trace runs each notebook twice and writes no report; drop {flag}")
    if arguments.update:
        raise UsageFailure("--trace leaves the ledger alone; drop --update")
    options = VerifyOptions(timeout=arguments.timeout or None, kernel_name=arguments.kernel)
    progress = _ProgressLine(err, arguments.quiet)
    statuses = set()
    for given in inputs:
        try:
            result = trace_notebook(
                given,
                options,
                progress.cell,
                lambda number, runs, path=given.path: progress.start_run(path, number, runs),
            )
        except KernelNotFound as error:
            raise UsageFailure(str(error)) from None
        progress.clear()
        if result.failure is not None:
            statuses.add(EXIT_FAILED_TO_RUN)
        elif result.cells:
            statuses.add(EXIT_DIFFERENT)
        out.write("\n".join(printable(line) for line in trace_lines(result)) + "\n")
        out.flush()
    return _overall_status(statuses)


def _run_calibrate(arguments: argparse.Namespace, inputs: list[VerifyInput], out: TextIO, err: TextIO) -> int:
    from .diagnosis.calibrate import calibrate_notebook, calibrated_ledger, calibration_lines

    for flag, given in (("--runs", arguments.runs), ("--json", arguments.json), ("--baseline", arguments.baseline)):
        if given is not None:
            raise UsageFailure(f"--calibrate runs the notebook --calibrate times and writes no report; drop {flag}")
    if arguments.rtol or arguments.atol:
        raise UsageFailure("--calibrate measures the tolerance; drop --rtol and --atol")
    options = VerifyOptions(timeout=arguments.timeout or None, kernel_name=arguments.kernel)
    progress = _ProgressLine(err, arguments.quiet)
    statuses = set()
    for given in inputs:
        try:
            calibration = calibrate_notebook(
                given,
                arguments.calibrate,
                options,
                progress.cell,
                lambda number, runs, path=given.path: progress.start_run(path, number, runs),
            )
        except KernelNotFound as error:
            raise UsageFailure(str(error)) from None
        progress.clear()
        lines = calibration_lines(calibration)
        if calibration.failure is not None:
            statuses.add(EXIT_FAILED_TO_RUN)
        elif not arguments.update:
            lines.append(f"  ledger unchanged: rerun with --update to store these tolerances in {given.ledger_path}")
        else:
            ledger = calibrated_ledger(calibration)
            try:
                ledger.save(given.ledger_path)
            except OSError as error:
                statuses.add(EXIT_NOT_WRITTEN)
                lines.append(f"  ledger not written: could not write {given.ledger_path}: {error.strerror or error}")
            else:
                stored = len(ledger.tolerances)
                lines.append(
                    f"  ledger saved: {given.ledger_path} (run 1's records, tolerances for "
                    f"{stored} {'cell' if stored == 1 else 'cells'}; later runs without --rtol/--atol use them)"
                )
        out.write("\n".join(printable(line) for line in lines) + "\n")
        out.flush()
    return _overall_status(statuses)


def _overall_status(statuses: set[int]) -> int:
    """The worst news first: a failed run, a difference, nothing checked (when required), a file not written."""
    precedence = (EXIT_FAILED_TO_RUN, EXIT_DIFFERENT, EXIT_NOTHING_RECORDED, EXIT_NOT_WRITTEN)
    return next((status for status in precedence if status in statuses), EXIT_REPRODUCED)


def _summary(results: list[NotebookVerification]) -> str:
    failed = sum(r.exit_status == EXIT_FAILED_TO_RUN for r in results)
    differ = sum(r.exit_status == EXIT_DIFFERENT for r in results)
    unchecked = sum(r.nothing_recorded and not r.failure for r in results)
    not_written = sum(r.ledger_error is not None for r in results)
    summary = (
        f"{len(results)} notebooks: {len(results) - failed - differ - unchecked} reproduced, "
        f"{differ} differ, {failed} failed to run"
    )
    if unchecked:
        summary += f", {unchecked} recorded nothing"
    if not_written:
        summary += f"; {not_written} {'ledger' if not_written == 1 else 'ledgers'} could not be written"
    return summary


class _Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM. A KeyboardInterrupt, which asyncio passes straight out of nbclient's loop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_stop_the_run() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `_Stopped`; the runner stops the kernel as it passes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if stopping:  # a second signal while the kernel is being stopped
            return
        stopping.append(signum)
        raise _Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _guarded(prog: str, err: TextIO, command: Callable[[], int]) -> int:
    """Run a command; bad usage becomes one line and exit status 2, SIGINT 130, SIGTERM 143."""
    try:
        with _signals_stop_the_run():
            return command()
    except UsageFailure as error:
        err.write(printable(f"{prog}: error: {error}") + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt as error:
        terminated = getattr(error, "signum", signal.SIGINT) == signal.SIGTERM
        word = "terminated" if terminated else "interrupted"
        err.write(f"{prog}: {word}; the notebook in progress, if any, was left as it was\n")
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`repro-verify`: returns the exit status (see `EPILOG`)."""
    out, err = out or sys.stdout, err or sys.stderr
    return _guarded(PROG, err, lambda: run_verify(_parse(verify_parser(), argv), out, err))


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
    print(printable(f"installed {DISPLAY_NAME!r} in {folder}"))
    return EXIT_REPRODUCED
