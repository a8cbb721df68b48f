"""`repro-verify --trace`: two fresh traced runs, and the first training step where they part.

Each captured `fit` of a `%%reproducible` cell is traced step by step (see
`repro_magics.kernel.tracing`): a fingerprint of the batch the step was fed and of
every weight after it. For each cell whose records differ between the two
runs, the traces are walked in step order: the first step whose inputs
differ points at the data pipeline (an unseeded shuffle, a random
augmentation, a parallel map); if every input agrees, the first step after
which a weight differs, and the first such weight, point at an operation
(a non-deterministic kernel, or something that changed the weights between
steps).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compare.agreement import DIVERGED
from ..compare.ledgers import compare_ledgers
from ..compare.measure import training_divergence
from ..compare.records import pair_records
from ..compare.results import Comparison
from ..kernel.tracing import TRACE_ENV_VAR, read_traces
from ..notebooks import code_cell_positions
from ..words import counted
from .options import VerifyOptions, backend_environment
from .runner import NotebookRun, Progress, RunFailure, run_notebook
from .verification import VerifyInput

DATA_PIPELINE = "data pipeline"
OP_LEVEL = "op-level"

NOT_COVERED = (
    "not covered: the inputs of training outside fit (custom tf.GradientTape loops, train_on_batch: "
    "traced by the weights after each optimizer update only), steps compiled with jit_compile=True or by an "
    "earlier fit of the same model (traced by their weights only), and a divergence from the ledger that two "
    "fresh runs do not repeat"
)


@dataclass(frozen=True)
class FitParting:
    """Where one `fit` of a cell first parts between the two traced runs."""

    fit: int
    steps: int
    cause: str | None
    epoch: int | None = None
    batch: int | None = None
    variable: str | None = None
    #: Some steps were traced by their weights alone (their inputs were not fingerprinted).
    inputs_traced: bool = True


@dataclass(frozen=True)
class LoopParting:
    """Where the optimizer updates outside `fit` (a custom training loop) first part; step None: they agree."""

    steps: int
    step: int | None = None
    variable: str | None = None
    #: The runs made a different number of updates (baseline, new).
    step_counts: tuple[int, int] | None = None


@dataclass
class CellTrace:
    cell_number: int | None
    cell_id: str
    source_first_line: str
    fits: list[FitParting] = field(default_factory=list)
    loop: LoopParting | None = None
    #: The cell's traces are missing or its fits don't pair (a different number of fits or of steps).
    unpaired: str | None = None


@dataclass
class TraceResult:
    notebook: Path
    seconds: float = 0.0
    runs: list[NotebookRun] = field(default_factory=list)
    comparison: Comparison | None = None
    cells: list[CellTrace] = field(default_factory=list)

    @property
    def failure(self) -> RunFailure | None:
        return next((run.failure for run in self.runs if run.failure), None)


def first_parting(number: int, baseline: dict[str, Any], new: dict[str, Any]) -> FitParting:
    """The first step of one fit at which the two runs' inputs, or else weights, differ."""
    b_steps, n_steps = baseline.get("steps", []), new.get("steps", [])
    inputs_traced = all(step.get("inputs") is not None for step in b_steps + n_steps)
    variables = baseline.get("variables", [])
    for b_step, n_step in zip(b_steps, n_steps, strict=False):
        where = {"epoch": b_step["epoch"], "batch": b_step["batch"]}
        if None not in (b_step.get("inputs"), n_step.get("inputs")) and b_step["inputs"] != n_step["inputs"]:
            return FitParting(number, len(b_steps), DATA_PIPELINE, **where, inputs_traced=inputs_traced)
        for index, (b_weight, n_weight) in enumerate(zip(b_step["weights"], n_step["weights"], strict=False)):
            if b_weight != n_weight:
                variable = variables[index] if index < len(variables) else f"weight {index + 1}"
                return FitParting(
                    number, len(b_steps), OP_LEVEL, **where, variable=variable, inputs_traced=inputs_traced
                )
    return FitParting(number, len(b_steps), None, inputs_traced=inputs_traced)


def first_loop_parting(baseline: list[dict[str, Any]], new: list[dict[str, Any]]) -> LoopParting:
    """The first optimizer update outside `fit` after which a weight differs between the two runs."""
    b_steps = [step for loop in baseline for step in loop["steps"]]
    n_steps = [step for loop in new for step in loop["steps"]]
    for b_step, n_step in zip(b_steps, n_steps, strict=False):
        for index, (b_weight, n_weight) in enumerate(zip(b_step["weights"], n_step["weights"], strict=False)):
            if b_weight != n_weight:
                names = b_step.get("variables", [])
                variable = names[index] if index < len(names) else f"weight {index + 1}"
                return LoopParting(len(b_steps), b_step["step"], variable)
    counts = None if len(b_steps) == len(n_steps) else (len(b_steps), len(n_steps))
    return LoopParting(len(b_steps), step_counts=counts)


def trace_notebook(given: VerifyInput, options: VerifyOptions, progress: Progress | None = None,
                   on_run_start: Any = None) -> TraceResult:  # fmt: skip
    """Run the notebook twice with tracing on and find, for each cell that differs, the first step that does."""
    result = TraceResult(given.path)
    started = time.perf_counter()
    positions = code_cell_positions(given.notebook.cells)
    with tempfile.TemporaryDirectory(prefix="repro-trace-") as scratch:
        folders = [Path(scratch) / "run-1", Path(scratch) / "run-2"]
        for number, folder in enumerate(folders, start=1):
            folder.mkdir()
            if on_run_start is not None:
                on_run_start(number, len(folders))
            run = run_notebook(
                given.path, notebook=given.notebook, kernel_name=options.kernel_name, timeout=options.timeout,
                progress=progress,
                environment={**backend_environment(options, given.ledger), TRACE_ENV_VAR: str(folder)},
                fingerprints=False,
            )  # fmt: skip
            result.runs.append(run)
            if run.failure:
                result.seconds = time.perf_counter() - started
                return result
        traces = [read_traces(folder) for folder in folders]
    comparison = compare_ledgers(
        result.runs[0].records, result.runs[1].records, baseline_label="run 1", new_label="run 2", positions=positions
    )
    result.comparison = comparison
    for cell_number, cell_id, first_line in _cells_to_trace(result, comparison, positions):
        cell = CellTrace(cell_number, cell_id, first_line)
        result.cells.append(cell)
        b_trace, n_trace = (trace.get(cell_id) for trace in traces)
        if b_trace is None or n_trace is None:
            cell.unpaired = "no trace: the cell has no cell id, or did not run in both runs"
            continue
        b_fits, n_fits = b_trace["fits"], n_trace["fits"]
        if b_trace["loops"] or n_trace["loops"]:
            cell.loop = first_loop_parting(b_trace["loops"], n_trace["loops"])
        if len(b_fits) != len(n_fits):
            cell.unpaired = f"the runs trained a different number of times ({len(b_fits)} vs {len(n_fits)} fits)"
        elif b_fits:
            pairs = enumerate(zip(b_fits, n_fits, strict=True), start=1)
            cell.fits = [first_parting(number, b, n) for number, (b, n) in pairs]
        elif cell.loop is None:
            cell.unpaired = "the cell ran no Keras fit and no optimizer update: it trained nothing that is traced"
    result.seconds = time.perf_counter() - started
    return result


def _cells_to_trace(
    result: TraceResult, comparison: Comparison, positions: dict[str, tuple[int, str]]
) -> list[tuple[int | None, str, str]]:
    """The cells whose records differ, and those whose weights after some epoch differ though the records agree."""
    cells = {str(d.cell_id): (d.cell_number, str(d.cell_id), d.source_first_line) for d in comparison.differences}
    for baseline, new in pair_records(result.runs[0].records.records, result.runs[1].records.records):
        if baseline is None or new is None or str(baseline.get("cell_id")) in cells:
            continue
        if training_divergence(baseline, new) is not None:
            cell_id = str(baseline.get("cell_id"))
            number, line = positions.get(cell_id, (baseline.get("cell_number"), baseline.get("source_first_line", "")))
            cells[cell_id] = (number, cell_id, str(line))
    return sorted(cells.values(), key=lambda cell: (cell[0] is None, cell[0] or 0))


def _fit_line(parting: FitParting) -> str:
    at = f"epoch {parting.epoch}, batch {parting.batch}"
    if parting.cause == DATA_PIPELINE:
        line = (
            f"fit {parting.fit}: the inputs first differ at {at}: a data-pipeline cause "
            "(an unseeded or reshuffled shuffle, a random augmentation or map)"
        )
    elif parting.cause == OP_LEVEL:
        agree = "the inputs agree up to it" if parting.inputs_traced else "the inputs were not traced"
        line = (
            f"fit {parting.fit}: {agree}; the weights first differ after {at}, first in '{parting.variable}': "
            "an op-level cause (a non-deterministic op, or something that changed the weights between steps)"
        )
    else:
        steps = counted(parting.steps, "step")
        line = f"fit {parting.fit}: inputs and weights agree in every step ({steps}): training reproduced"
    if not parting.inputs_traced and parting.cause != OP_LEVEL:
        line += " (the inputs were not traced: a step compiled with XLA or by an earlier fit)"
    return line


def _loop_line(loop: LoopParting) -> str:
    if loop.step is not None:
        return (
            f"training loop outside fit: the weights first differ after optimizer update {loop.step}, first in "
            f"'{loop.variable}' (a loop's inputs are not traced: the data or an op may have caused it)"
        )
    if loop.step_counts is not None:
        return (
            f"training loop outside fit: the runs made {loop.step_counts[0]} and {loop.step_counts[1]} optimizer "
            "updates, with the same weights after each they share"
        )
    updates = counted(loop.steps, "update")
    return f"training loop outside fit: the weights agree after every optimizer update ({updates})"


def trace_lines(result: TraceResult) -> list[str]:
    failure = result.failure
    if failure is not None:
        where = f"cell {failure.cell_number}" if failure.cell_number is not None else "the start"
        return [
            f"{result.notebook}: FAILED to run, in traced run {len(result.runs)}, at {where}",
            f"    {failure.summary}",
        ]
    comparison = result.comparison
    lines = [f"{result.notebook}: traced 2 fresh runs in {result.seconds:.1f} s"]
    if not result.cells:
        lines.append(
            "    the two traced runs agree: nothing to trace (a divergence from the ledger alone, such as one from "
            "another machine or library version, does not repeat between two runs here)"
        )
    elif comparison is not None and comparison.verdict != DIVERGED:
        lines.append("    the records agree, but the weights after some epoch differ:")
    for cell in result.cells:
        label = f"cell {cell.cell_number}" if cell.cell_number is not None else "a cell no longer in the notebook"
        lines.append(f"  {label} (id {cell.cell_id}): {cell.source_first_line}")
        if cell.unpaired:
            lines.append(f"    {cell.unpaired}")
        lines.extend(f"    {_fit_line(parting)}" for parting in cell.fits)
        if cell.loop is not None:
            lines.append(f"    {_loop_line(cell.loop)}")
        agree = all(parting.cause is None for parting in cell.fits) and (cell.loop is None or cell.loop.step is None)
        if (cell.fits or cell.loop) and agree and not (cell.loop and cell.loop.step_counts):
            lines.append("    the difference arises after training: in evaluation, prediction or a recorded value")
    lines.append(f"  {NOT_COVERED}")
    return lines
