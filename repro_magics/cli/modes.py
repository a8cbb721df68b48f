"""`--trace` and `--calibrate`: the two modes that run notebooks for a diagnosis instead of a verdict."""

from __future__ import annotations

import argparse
from typing import TextIO

from ..exceptions import KernelNotFound, UsageFailure
from ..report.text import printable
from ..verify.options import VerifyOptions
from ..verify.verification import EXIT_DIFFERENT, EXIT_FAILED_TO_RUN, EXIT_NOT_WRITTEN, VerifyInput, overall_exit_status
from ..words import counted
from .progress import ProgressLine


def _ignored(arguments: argparse.Namespace) -> list[str]:
    """The flags given that a diagnosis would ignore: it writes no report and runs one kernel at a time."""
    given = {
        "--runs": arguments.runs is not None,
        "--json": arguments.json is not None,
        "--markdown": arguments.markdown is not None,
        "--html": arguments.html is not None,
        "--baseline": arguments.baseline is not None,
        "-j": arguments.jobs != 1,
        "--executor": arguments.executor is not None,
    }
    return [flag for flag, present in given.items() if present]


def run_trace(arguments: argparse.Namespace, inputs: list[VerifyInput], out: TextIO, err: TextIO) -> int:
    from ..verify.trace import trace_lines, trace_notebook

    for flag in _ignored(arguments):
        raise UsageFailure(f"--trace runs each notebook twice and writes no report; drop {flag}")
    if arguments.update:
        raise UsageFailure("--trace leaves the ledger alone; drop --update")
    options = VerifyOptions(timeout=arguments.timeout or None, kernel_name=arguments.kernel, backend=arguments.backend)
    progress = ProgressLine(err, arguments.quiet, arguments.verbose)
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
        progress.finished(given.path, result.runs)
        if result.failure is not None:
            statuses.add(EXIT_FAILED_TO_RUN)
        elif result.cells:
            statuses.add(EXIT_DIFFERENT)
        out.write("\n".join(printable(line) for line in trace_lines(result)) + "\n")
        out.flush()
    return overall_exit_status(statuses)


def run_calibrate(arguments: argparse.Namespace, inputs: list[VerifyInput], out: TextIO, err: TextIO) -> int:
    from ..verify.calibrate import calibrate_notebook, calibrated_ledger, calibration_lines

    for flag in _ignored(arguments):
        raise UsageFailure(f"--calibrate runs the notebook --calibrate times and writes no report; drop {flag}")
    if arguments.rtol or arguments.atol:
        raise UsageFailure("--calibrate measures the tolerance; drop --rtol and --atol")
    options = VerifyOptions(timeout=arguments.timeout or None, kernel_name=arguments.kernel, backend=arguments.backend)
    progress = ProgressLine(err, arguments.quiet, arguments.verbose)
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
        progress.finished(given.path, calibration.runs)
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
                    f"{counted(stored, 'cell')}; later runs without --rtol/--atol use them)"
                )
        out.write("\n".join(printable(line) for line in lines) + "\n")
        out.flush()
    return overall_exit_status(statuses)
