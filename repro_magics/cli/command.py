"""`repro-verify` and `python -m repro_magics`: parse, call the plain functions, print, exit."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO

from .._version import __version__
from ..compare.agreement import Tolerance
from ..exceptions import (
    ArgumentError,
    EngineError,
    KernelNotFound,
    LedgerError,
    NotebookError,
    ReportPathError,
    ShardError,
    UsageFailure,
)
from ..ledger.check import LedgerCheck, check_ledger
from ..report.files import check_report_paths, report_writers
from ..report.text import format_verification, printable
from ..verify.changed import note_verification, unchanged_notebooks
from ..verify.executor import EngineSettings
from ..verify.options import VerifyOptions, parse_non_negative_float
from ..verify.parallel import DASK_ADDRESS_VARIABLE, executor_address, kernels_environment_key, verify_notebooks
from ..verify.shard import Shard, parse_shard
from ..verify.verification import (
    EXIT_DIFFERENT,
    EXIT_FAILED_TO_RUN,
    EXIT_NOT_WRITTEN,
    EXIT_REPRODUCED,
    EXIT_USAGE,
    NotebookVerification,
    VerifyInput,
    overall_exit_status,
    read_input,
)

EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageFailure(f"{message} (see {self.prog} --help)")


def _non_negative_float(text: str) -> float:
    try:
        return parse_non_negative_float(text)
    except ArgumentError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    """One line per cell on a log; on a terminal, one rewritten line showing every run in progress.

    Runs side by side call it from their own threads: each thread's run is
    named by what `start_run` was last told in that thread.
    """

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream, self.quiet = stream, quiet
        self.interactive = stream.isatty()
        self._this_thread = threading.local()
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}

    def start_run(self, notebook: Path, number: int, runs: int) -> None:
        self._this_thread.prefix = f"{notebook} run {number}/{runs}"

    def cell(self, number: int, total: int, cell_id: str, source_line: str) -> None:
        self._show(getattr(self._this_thread, "prefix", ""), number, total, source_line)

    def cell_of(self, notebook: Path, run: int, runs: int, number: int, total: int, source_line: str) -> None:
        """A cell of a run elsewhere (a cluster's worker), named by its notebook and run."""
        self._show(f"{notebook} run {run}/{runs}", number, total, source_line)

    def _show(self, prefix: str, number: int, total: int, source_line: str) -> None:
        if self.quiet:
            return
        with self._lock:
            if self.interactive:
                self._running[prefix] = f"{prefix}: cell {number}/{total}"
                if len(self._running) == 1:
                    self._running[prefix] += f" {source_line[:60]}"
                self._draw()
            else:
                self.stream.write(printable(f"{prefix}: cell {number}/{total} {source_line[:60]}") + "\n")
            self.stream.flush()

    def _draw(self) -> None:
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r\033[K" + printable(" | ".join(self._running.values()))[:width])

    def finished(self, notebook: Path) -> None:
        """Forget the notebook's runs; clear the line so that its report starts on a line of its own."""
        if not self.interactive or self.quiet:
            return
        with self._lock:
            for prefix in [p for p in self._running if p.startswith(f"{notebook} run ")]:
                del self._running[prefix]
            self.stream.write("\r\033[K")
            self.stream.flush()

    def redraw(self) -> None:
        if self.interactive and not self.quiet and self._running:
            with self._lock:
                self._draw()
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
    if arguments.ship_folder and (executor_address(arguments.executor) is None or arguments.jobs != 1):
        raise UsageFailure("--ship-folder goes with --executor (or $DASK_SCHEDULER_ADDRESS)")
    if arguments.executor is not None and arguments.jobs != 1:
        raise UsageFailure("--executor runs one kernel per task on the cluster's workers; drop -j")
    if arguments.changed and arguments.baseline is not None:
        raise UsageFailure("--changed notes verifications in the notebook's own ledger; drop --baseline")
    if arguments.changed and (arguments.trace or arguments.calibrate):
        raise UsageFailure("--changed goes with verification, not with --trace or --calibrate")
    if arguments.force_json and arguments.json is None:
        raise UsageFailure("--force-json goes with --json PATH")
    if arguments.check_ledger:
        writes_nothing = (
            ("--update", arguments.update),
            ("--runs", arguments.runs is not None),
            ("--json", arguments.json is not None),
            ("--markdown", arguments.markdown is not None),
            ("--html", arguments.html is not None),
            ("--trace", arguments.trace),
            ("--calibrate", arguments.calibrate is not None),
            ("--executor", arguments.executor is not None),
            ("--changed", arguments.changed),
        )
        for option, given in writes_nothing:
            if given:
                raise UsageFailure(f"--check-ledger runs nothing; {option} does not go with it")
    try:
        inputs = [read_input(notebook, arguments.baseline) for notebook in arguments.notebooks]
    except (NotebookError, LedgerError) as error:
        raise UsageFailure(str(error)) from None
    try:
        check_report_paths(arguments, inputs)
    except ReportPathError as error:
        raise UsageFailure(str(error)) from None
    return inputs


def run_verify(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    given = arguments.notebooks
    if arguments.shard is not None:
        arguments.notebooks = arguments.shard.select(given)
    inputs = _check_inputs(arguments)
    if not inputs:
        given_text = "the notebook given" if len(given) == 1 else f"the {len(given)} notebooks given"
        out.write(f"shard {arguments.shard} holds none of {given_text}; nothing to verify\n")
    if arguments.check_ledger:
        return _check_ledgers(inputs, out)
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
    skipped = _unchanged_notebooks(inputs, arguments) if arguments.changed else {}
    to_verify = [given for given in inputs if given.path not in skipped]
    waiting = [given.path for given in inputs]  # output in argument order, skipped ones included

    def show_skipped(until: Path | None) -> None:
        while waiting and waiting[0] != until:
            path = waiting.pop(0)
            if path in skipped:
                out.write(printable(f"{path}: skipped: unchanged since its verification at {skipped[path]}") + "\n")
        if waiting:
            waiting.pop(0)

    def show(result: NotebookVerification) -> None:
        progress.finished(result.notebook)
        show_skipped(result.notebook)
        out.write("\n".join(format_verification(result, tolerance)) + "\n")
        if arguments.changed:
            _stamp(result, inputs, err)
        out.flush()
        progress.redraw()

    try:
        settings = EngineSettings(options, progress, jobs=arguments.jobs, ship_folder=arguments.ship_folder)
        address = _engine_address(arguments)
        results, not_verified = verify_notebooks(to_verify, settings, address, arguments.fail_fast, show)
    except (KernelNotFound, EngineError) as error:
        raise UsageFailure(str(error)) from None
    if not not_verified:
        show_skipped(None)
    status = overall_exit_status({result.exit_status for result in results})
    if not_verified:
        names = ", ".join(str(path) for path in not_verified)
        out.write(printable(f"stopped by --fail-fast: {len(not_verified)} not verified: {names}") + "\n")
    if len(results) + len(skipped) > 1:
        out.write(printable(_summary(results, len(skipped))) + "\n")
    out.flush()
    command = shlex.join([*arguments.prog.split(), *arguments.argv])
    heading = PROG if arguments.shard is None else f"{PROG}, shard {arguments.shard}"
    for write in report_writers(arguments, results, tolerance, not_verified, command, heading, skipped):
        status = write(status, err)
    return status


def _run_trace(arguments: argparse.Namespace, inputs: list[VerifyInput], out: TextIO, err: TextIO) -> int:
    from ..verify.trace import trace_lines, trace_notebook

    for flag, given in (
        ("--runs", arguments.runs),
        ("--json", arguments.json),
        ("--baseline", arguments.baseline),
        ("--executor", arguments.executor),
    ):
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
        progress.finished(given.path)
        if result.failure is not None:
            statuses.add(EXIT_FAILED_TO_RUN)
        elif result.cells:
            statuses.add(EXIT_DIFFERENT)
        out.write("\n".join(printable(line) for line in trace_lines(result)) + "\n")
        out.flush()
    return overall_exit_status(statuses)


def _run_calibrate(arguments: argparse.Namespace, inputs: list[VerifyInput], out: TextIO, err: TextIO) -> int:
    from ..verify.calibrate import calibrate_notebook, calibrated_ledger, calibration_lines

    for flag, given in (
        ("--runs", arguments.runs),
        ("--json", arguments.json),
        ("--baseline", arguments.baseline),
        ("--executor", arguments.executor),
    ):
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
        progress.finished(given.path)
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
    return overall_exit_status(statuses)


def _check_ledgers(inputs: list[VerifyInput], out: TextIO) -> int:
    checks = [check_ledger(given.path, given.notebook, given.ledger, given.ledger_path) for given in inputs]
    for check in checks:
        out.write("\n".join(printable(line) for line in _ledger_check_lines(check)) + "\n")
    stale = sum(not check.ok for check in checks)
    if len(checks) > 1:
        out.write(f"{len(checks)} notebooks: {len(checks) - stale} up to date, {stale} stale or without a ledger\n")
    return EXIT_DIFFERENT if stale else EXIT_REPRODUCED


def _ledger_check_lines(check: LedgerCheck) -> list[str]:
    if check.ok:
        if not check.reproducible_cells:
            return [f"{check.notebook}: no %%reproducible cell, no ledger needed"]
        cells = "cell" if check.reproducible_cells == 1 else "cells"
        return [f"{check.notebook}: ledger up to date ({check.reproducible_cells} %%reproducible {cells})"]
    verb = "STALE LEDGER" if check.has_ledger else "NO LEDGER"
    hint = f"rerun {PROG} --update {check.notebook}" if check.has_ledger else f"run {PROG} {check.notebook}"
    return [f"{check.notebook}: {verb}", *(f"    {problem}" for problem in check.problems), f"    to fix: {hint}"]


def _unchanged_notebooks(inputs: list[VerifyInput], arguments: argparse.Namespace) -> dict[Path, str]:
    try:
        return unchanged_notebooks(inputs, kernels_environment_key(_engine_address(arguments)))
    except EngineError as error:
        raise UsageFailure(str(error)) from None


def _engine_address(arguments: argparse.Namespace) -> str | None:
    # -j N asks for this machine's kernels, over $DASK_SCHEDULER_ADDRESS.
    return executor_address(arguments.executor) if arguments.jobs == 1 else None


def _stamp(result: NotebookVerification, inputs: list[VerifyInput], err: TextIO) -> None:
    notebook = next(given.notebook for given in inputs if given.path == result.notebook)
    problem = note_verification(result, notebook)
    if problem is not None:
        err.write(printable(f"{PROG}: {problem}") + "\n")


def _summary(results: list[NotebookVerification], skipped: int = 0) -> str:
    failed = sum(r.exit_status == EXIT_FAILED_TO_RUN for r in results)
    differ = sum(r.exit_status == EXIT_DIFFERENT for r in results)
    unchecked = sum(r.nothing_recorded and not r.failure for r in results)
    not_written = sum(r.ledger_error is not None for r in results)
    summary = (
        f"{len(results) + skipped} notebooks: {len(results) - failed - differ - unchecked} reproduced, "
        f"{differ} differ, {failed} failed to run"
    )
    if skipped:
        summary += f", {skipped} skipped (unchanged)"
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
        err.write(f"{prog}: {word}; the notebooks in progress, if any, were left as they were\n")
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
    if getattr(arguments, "command", None) == "verify":
        arguments.prog = f"{parser.prog} verify"
        arguments.argv = argv[1:]
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
    from ..kernel.spec import DISPLAY_NAME, install_kernel_spec

    prefix = sys.prefix if arguments.sys_prefix else arguments.prefix
    try:
        folder = install_kernel_spec(user=arguments.user or prefix is None, prefix=prefix)
    except OSError as error:
        raise UsageFailure(f"cannot install the kernel: {error.strerror or error}") from None
    print(printable(f"installed {DISPLAY_NAME!r} in {folder}"))
    return EXIT_REPRODUCED
