"""`repro-verify --calibrate N`: how far N fresh runs spread, per cell and metric, and the tolerance that covers it.

Where bitwise reproduction is impossible (GPUs with non-deterministic
kernels, say), the spread of repeated runs is the evidence for a tolerance,
as NBTest derives its assertion bounds from repeated runs. Here the spread is
measured against the first run, cell by cell, and the tolerance suggested is
the smallest that accepts every run, rounded up: it can be stored in the
ledger, and later verifications use it for that cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compare.measure import measure_parts
from ..compare.records import pair_records
from ..compare.results import Spread, merge_spreads
from ..compare.tolerance import REAL_CHANGE, advise, round_up
from ..ledger.store import Ledger, record_key
from ..notebooks import code_cell_positions
from .options import VerifyOptions, backend_environment
from .runner import NotebookRun, Progress, RunFailure, run_notebook
from .verification import VerifyInput


@dataclass
class CellCalibration:
    key: str
    cell_number: int | None
    source_first_line: str
    #: Spread of each metric and value across the runs, against run 1.
    parts: dict[str, Spread] = field(default_factory=dict)

    @property
    def spread(self) -> Spread:
        return merge_spreads(list(self.parts.values()))

    @property
    def tolerance(self) -> dict[str, float] | None:
        """The rtol and atol that accept every run (either alone suffices); None when no tolerance can."""
        spread = self.spread
        if not spread.measurable:
            return None
        return {"rtol": round_up(spread.max_rel), "atol": round_up(spread.max_abs)}


@dataclass
class Calibration:
    notebook: Path
    runs: list[NotebookRun] = field(default_factory=list)
    cells: list[CellCalibration] = field(default_factory=list)

    @property
    def failure(self) -> RunFailure | None:
        return next((run.failure for run in self.runs if run.failure), None)

    def tolerances(self) -> dict[str, dict[str, Any]]:
        """What `--update` stores in the ledger: a tolerance for each cell whose runs differ but can be accepted.

        A cell whose runs agree bitwise needs none; a cell whose runs differ in
        something other than numbers gets none, since none would accept it.
        """
        stored = {}
        for cell in self.cells:
            tolerance = cell.tolerance
            if tolerance is not None and cell.spread.numbers_differing:
                # Only rtol is stored as measured; atol 0 keeps a baseline of 0 exact unless it moved.
                rtol = tolerance["rtol"] if cell.spread.max_rel != float("inf") else 0.0
                atol = tolerance["atol"] if rtol == 0.0 else 0.0
                stored[cell.key] = {"rtol": rtol, "atol": atol, "runs": len(self.runs)}
        return stored


def calibrate_notebook(given: VerifyInput, runs: int, options: VerifyOptions, progress: Progress | None = None,
                       on_run_start: Any = None) -> Calibration:  # fmt: skip
    """Run the notebook `runs` times in fresh kernels and measure each cell's spread against run 1."""
    calibration = Calibration(given.path)
    positions = code_cell_positions(given.notebook.cells)
    for number in range(1, runs + 1):
        if on_run_start is not None:
            on_run_start(number, runs)
        run = run_notebook(
            given.path, notebook=given.notebook, kernel_name=options.kernel_name, timeout=options.timeout,
            progress=progress,
            fingerprints=False,  # the spread needs no origin
            environment=backend_environment(options, given.ledger),
        )  # fmt: skip
        calibration.runs.append(run)
        if run.failure:
            return calibration
    first = calibration.runs[0].records.records
    cells: dict[str, CellCalibration] = {}
    for run in calibration.runs[1:]:
        for baseline, new in pair_records(first, run.records.records):
            if baseline is None or new is None:
                continue
            key = record_key(baseline)
            position = positions.get(str(baseline.get("cell_id")))
            cell = cells.setdefault(
                key,
                CellCalibration(
                    key,
                    position[0] if position else baseline.get("cell_number"),
                    position[1] if position else str(baseline.get("source_first_line", "")),
                ),
            )
            for label, spread in measure_parts(baseline, new).items():
                cell.parts[label] = merge_spreads([spread, *([cell.parts[label]] if label in cell.parts else [])])
    calibration.cells = sorted(cells.values(), key=lambda cell: (cell.cell_number is None, cell.cell_number or 0))
    return calibration


def calibrated_ledger(calibration: Calibration) -> Ledger:
    """Run 1's records with the calibrated tolerances: what `--calibrate N --update` saves."""
    records = calibration.runs[0].records
    return Ledger(records.records, records.environments, calibration.tolerances())


def _part_text(label: str, spread: Spread) -> str:
    if not spread.measurable:
        return f"{label}: differs in more than numbers ({spread.not_a_number_change})"
    if not spread.numbers_differing:
        return f"{label}: identical in every run"
    return f"{label}: up to {spread.max_abs:.3g} absolute, {spread.max_rel:.3g} relative"


def calibration_lines(calibration: Calibration) -> list[str]:
    """The report of a calibration: per cell, per metric and value, the spread and the tolerance suggested."""
    runs = len(calibration.runs)
    seconds = sum(run.seconds for run in calibration.runs)
    failure = calibration.failure
    if failure is not None:
        where = f"cell {failure.cell_number}" if failure.cell_number is not None else "the start"
        return [f"{calibration.notebook}: FAILED to run, in run {runs}, at {where}", f"    {failure.summary}"]
    lines = [f"{calibration.notebook}: calibrated over {runs} fresh runs in {seconds:.1f} s, each against run 1"]
    if not calibration.cells:
        lines.append("    no cell recorded a number in two runs: nothing to calibrate")
    for cell in calibration.cells:
        lines.append(f"  cell {cell.cell_number}: {cell.source_first_line}")
        lines.extend(f"    {_part_text(label, spread)}" for label, spread in cell.parts.items())
        tolerance, spread = cell.tolerance, cell.spread
        if tolerance is None:
            lines.append("    no tolerance accepts this cell's runs: it does not reproduce, whatever the tolerance")
        elif not spread.numbers_differing:
            lines.append("    bitwise: no tolerance needed")
        else:
            lines.append(f"    suggested: --rtol {tolerance['rtol']:.2g} (or --atol {tolerance['atol']:.2g})")
            advice = advise(spread)
            if advice.kind == REAL_CHANGE:
                lines.append(
                    f"    but this looks like a real change ({advice.explanation}): find its cause "
                    "rather than accept it (repro-lint, --trace)"
                )
    return lines
