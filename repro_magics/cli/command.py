"""`repro-verify` and `python -m repro_magics`: parse, call the plain functions, print, exit."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .._version import __version__
from ..compare.agreement import Tolerance
from ..exceptions import EngineError, KernelNotFound, LedgerError, NotebookError, ReportPathError, UsageFailure
from ..report.files import ReportPaths, check_report_paths, report_writers
from ..report.text import format_verification, printable
from ..verify.changed import note_verification, unchanged_notebooks
from ..verify.executor import EngineSettings
from ..verify.options import VerifyOptions
from ..verify.parallel import executor_address, kernels_environment_key, verify_notebooks
from ..verify.verification import (
    EXIT_DIFFERENT,
    EXIT_FAILED_TO_RUN,
    EXIT_REPRODUCED,
    NotebookVerification,
    VerifyInput,
    overall_exit_status,
    read_input,
)
from ..words import agreeing, counted
from .ledger_check import check_ledgers
from .modes import run_calibrate, run_trace
from .parser import EPILOG, PROG, Parser, add_verify_arguments, parse_arguments, verify_parser
from .progress import ProgressLine
from .signals import guarded

__all__ = ["main", "module_main", "run_verify", "verify_parser"]


def _report_paths(arguments: argparse.Namespace) -> ReportPaths:
    return ReportPaths(arguments.json, arguments.markdown, arguments.html, arguments.force_json)


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
        check_report_paths(_report_paths(arguments), inputs)
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
        return check_ledgers(inputs, out)
    if arguments.calibrate:
        return run_calibrate(arguments, inputs, out, err)
    if arguments.trace:
        return run_trace(arguments, inputs, out, err)
    tolerance = Tolerance(rtol=arguments.rtol, atol=arguments.atol)
    options = VerifyOptions(
        runs=arguments.runs,
        update=arguments.update,
        baseline=arguments.baseline,
        tolerance=tolerance,
        timeout=arguments.timeout or None,
        kernel_name=arguments.kernel,
        require_records=arguments.require_records,
        backend=arguments.backend,
        fingerprints=arguments.state_fingerprints,
        isolate=arguments.isolate,
    )
    progress = ProgressLine(err, arguments.quiet, arguments.verbose)
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
        progress.finished(result.notebook, result.runs)
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
    paths = _report_paths(arguments)
    for write in report_writers(paths, results, tolerance, not_verified, command, heading, skipped):
        status = write(status, err)
    return status


def _engine_address(arguments: argparse.Namespace) -> str | None:
    # -j N asks for this machine's kernels, over $DASK_SCHEDULER_ADDRESS.
    return executor_address(arguments.executor) if arguments.jobs == 1 else None


def _unchanged_notebooks(inputs: list[VerifyInput], arguments: argparse.Namespace) -> dict[Path, str]:
    try:
        return unchanged_notebooks(inputs, kernels_environment_key(_engine_address(arguments)))
    except EngineError as error:
        raise UsageFailure(str(error)) from None


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
        f"{differ} {agreeing(differ, 'differs', 'differ')}, {failed} failed to run"
    )
    if skipped:
        summary += f", {skipped} skipped (unchanged)"
    if unchecked:
        summary += f", {unchecked} recorded nothing"
    if not_written:
        summary += f"; {counted(not_written, 'ledger')} could not be written"
    return summary


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`repro-verify`: returns the exit status (see `EPILOG`)."""
    out, err = out or sys.stdout, err or sys.stderr
    return guarded(PROG, err, lambda: run_verify(parse_arguments(verify_parser(), argv), out, err))


def module_main(argv: Sequence[str] | None = None) -> int:
    """`python -m repro_magics verify ...` and `python -m repro_magics install-kernel`."""
    parser = Parser(prog="python -m repro_magics", description="repro_magics commands.")
    parser.add_argument("--version", action="version", version=f"repro-magics {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    verify = commands.add_parser(
        "verify",
        help="re-run notebooks and compare with their ledgers (same as repro-verify)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_verify_arguments(verify)
    install = commands.add_parser("install-kernel", help="install the 'Python 3 (reproducible)' kernel")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="for the current user")
    where.add_argument("--sys-prefix", action="store_true", help=f"into this environment ({sys.prefix})")
    where.add_argument("--prefix", metavar="PATH", help="into PATH/share/jupyter/kernels")

    def command() -> int:
        arguments = parse_arguments(parser, argv)
        if arguments.command == "verify":
            return run_verify(arguments, sys.stdout, sys.stderr)
        return _install_kernel(arguments)

    return guarded(parser.prog, sys.stderr, command)


def _install_kernel(arguments: argparse.Namespace) -> int:
    from ..kernel.spec import DISPLAY_NAME, install_kernel_spec

    prefix = sys.prefix if arguments.sys_prefix else arguments.prefix
    try:
        folder = install_kernel_spec(user=arguments.user or prefix is None, prefix=prefix)
    except OSError as error:
        raise UsageFailure(f"cannot install the kernel: {error.strerror or error}") from None
    print(printable(f"installed {DISPLAY_NAME!r} in {folder}"))
    return EXIT_REPRODUCED
