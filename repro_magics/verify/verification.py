"""Restart-and-verify: fresh runs of a notebook compared with its ledger and with each other."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..compare.agreement import DIVERGED, IDENTICAL, WITHIN_TOLERANCE, Tolerance
from ..compare.ledgers import compare_ledgers
from ..compare.records import values_checked
from ..compare.results import Comparison
from ..ledger.store import Ledger, ledger_path_for
from ..notebooks import CodeCell, code_cell_positions, code_cells, read_notebook
from .causes import LikelyCause
from .changed import kernel_environment_key
from .divergence_origin import WhereRunsPart, ranked_causes, where_runs_part
from .options import VerifyOptions, backend_environment
from .runner import KernelPool, KernelStarted, NotebookRun, Progress, run_notebook
from .state_origin import CellState
from .verdicts import CellOutcome, cell_outcomes

#: Exit statuses of `repro-verify`, part of its interface.
EXIT_REPRODUCED = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_FAILED_TO_RUN = 3
EXIT_NOT_WRITTEN = 4
EXIT_NOTHING_RECORDED = 5

NOTHING_RECORDED = "nothing recorded"

SAVED = "saved"
UPDATED = "updated"
UNCHANGED = "unchanged"
NOT_SAVED = "not saved"
NOTHING_TO_SAVE = "nothing to save"
NOT_WRITTEN = "not written"


def overall_exit_status(statuses: set[int]) -> int:
    """The worst news first: a failed run, a difference, nothing checked (when required), a file not written."""
    precedence = (EXIT_FAILED_TO_RUN, EXIT_DIFFERENT, EXIT_NOTHING_RECORDED, EXIT_NOT_WRITTEN)
    return next((status for status in precedence if status in statuses), EXIT_REPRODUCED)


@dataclass
class NotebookVerification:
    """Everything `repro-verify` learned about one notebook."""

    notebook: Path
    ledger_path: Path
    had_ledger: bool
    runs: list[NotebookRun] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    ledger_action: str = UNCHANGED
    #: No run and no ledger held a single number: nothing was checked.
    nothing_recorded: bool = False
    require_records: bool = False
    #: Why the ledger could not be written (`ledger_action` is then NOT_WRITTEN).
    ledger_error: str | None = None
    #: The ledger the runs were compared with, if there was one.
    baseline: Ledger | None = None
    #: The notebook's code cells as verified, for reports that list them.
    code_cells: list[CodeCell] = field(default_factory=list)
    #: Cells compared with the tolerances `--calibrate` stored in the ledger (none when --rtol/--atol are given).
    calibrated_cells: int = 0
    #: The key of the environment the kernels ran in, and what the runs read in the notebook's folder (`--changed`).
    environment_key: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    listings: dict[str, str] = field(default_factory=dict)
    #: The ledger decided on, not yet written (`write_ledger` writes it): a cluster worker decides, the client writes.
    pending_ledger: Ledger | None = None
    #: Lint findings that may explain each differing cell (by cell number), from the notebook as it was run.
    likely_causes: dict[int, list[LikelyCause]] = field(default_factory=dict)
    #: Where the runs of the comparison the verdict comes from first parted (only when they differ).
    where_runs_part: WhereRunsPart | None = None
    #: The tolerance asked for (`--rtol`, `--atol`).
    tolerance: Tolerance = field(default_factory=Tolerance)

    @cached_property
    def cell_verdicts(self) -> list[CellOutcome]:
        """Each code cell's verdict, computed once for every report and the JupyterLab badges."""
        return cell_outcomes(self)

    @property
    def failure(self) -> Any:
        return next((run.failure for run in self.runs if run.failure), None)

    @property
    def verdict(self) -> str:
        if self.failure:
            return "failed to run"
        if self.nothing_recorded:
            return NOTHING_RECORDED
        verdicts = {comparison.verdict for comparison in self.comparisons}
        for verdict in (DIVERGED, WITHIN_TOLERANCE):
            if verdict in verdicts:
                return verdict
        return IDENTICAL if self.comparisons else "recorded"

    @property
    def exit_status(self) -> int:
        if self.failure:
            return EXIT_FAILED_TO_RUN
        if self.verdict == DIVERGED and self.ledger_action != UPDATED:
            return EXIT_DIFFERENT
        if self.nothing_recorded and self.require_records:
            return EXIT_NOTHING_RECORDED
        if self.ledger_action == NOT_WRITTEN:
            return EXIT_NOT_WRITTEN
        return EXIT_REPRODUCED

    @property
    def records_count(self) -> int:
        return len(self.runs[-1].records.records) if self.runs else 0


@dataclass(frozen=True)
class VerifyInput:
    """A notebook and its baseline, read and checked before anything runs."""

    path: Path
    notebook: Any
    ledger_path: Path
    ledger: Ledger | None


def read_input(notebook_path: Path, baseline: Path | None) -> VerifyInput:
    """Read the notebook and the ledger in use (None when there is none yet).

    Raises `NotebookError` for a file that isn't a notebook, `LedgerError`
    for a ledger that exists but can't be read, and for an explicit
    `--baseline` that does not exist.
    """
    notebook = read_notebook(notebook_path)
    path = baseline or ledger_path_for(notebook_path)
    ledger = None if baseline is None and not path.exists() else Ledger.load(path)
    return VerifyInput(notebook_path, notebook, path, ledger)


def verify_notebook(
    given: VerifyInput,
    options: VerifyOptions,
    *,
    progress: Progress | None = None,
    on_run_start: Any = None,
    on_kernel_start: KernelStarted | None = None,
    pool: KernelPool | None = None,
    write: bool = True,
) -> NotebookVerification:
    """Run the notebook in fresh kernels and compare the records; write the ledger as allowed.

    With a ledger: `options.runs` runs (1 by default), each compared with
    it; the ledger is replaced only with `options.update`. Without one: two
    runs by default, compared with each other, and the first one's records
    are saved when they agree.

    With a `pool` of more than one kernel the runs go side by side, each in
    a thread of its own that calls `on_run_start` and then `progress`; the
    first failed run is reported, as when they run one after the other.
    `RunStopped` passes through when the pool is stopped.

    With `write=False` the ledger decided on is left in `pending_ledger`
    for `write_ledger`, so that one process, the client, writes every ledger.
    """
    notebook_path, notebook, ledger_path, ledger = given.path, given.notebook, given.ledger_path, given.ledger
    positions = code_cell_positions(notebook.cells)
    result = NotebookVerification(
        notebook_path,
        ledger_path,
        had_ledger=ledger is not None,
        require_records=options.require_records,
        baseline=ledger,
        code_cells=code_cells(notebook.cells),
        tolerance=options.tolerance,
    )
    runs = options.runs or (1 if ledger is not None else 2)
    cell_tolerances = calibrated_tolerances(ledger) if ledger is not None and options.tolerance.bitwise else {}
    result.calibrated_cells = len(cell_tolerances)

    def fresh_run(number: int) -> NotebookRun:
        if on_run_start is not None:
            on_run_start(number, runs)
        run = pool.run if pool is not None else run_notebook
        return run(
            notebook_path,
            notebook=notebook,
            kernel_name=options.kernel_name,
            timeout=options.timeout,
            progress=progress,
            on_kernel_start=on_kernel_start,
            environment=backend_environment(options, ledger),
            fingerprints=options.fingerprints,
            isolate=options.isolate,
        )

    if pool is not None and pool.size > 1 and runs > 1:
        with ThreadPoolExecutor(max_workers=runs, thread_name_prefix="repro-verify run") as side_by_side:
            finished = list(side_by_side.map(fresh_run, range(1, runs + 1)))
    else:
        finished = []
    for number in range(1, runs + 1):
        run = finished[number - 1] if finished else fresh_run(number)
        result.runs.append(run)
        if run.failure:
            return result
        label = f"run {number}"
        if ledger is not None:
            result.comparisons.append(
                compare_ledgers(
                    ledger,
                    run.records,
                    options.tolerance,
                    baseline_label="ledger",
                    new_label=label,
                    positions=positions,
                    cell_tolerances=cell_tolerances,
                )
            )
        if number > 1:
            result.comparisons.append(
                compare_ledgers(
                    result.runs[0].records,
                    run.records,
                    options.tolerance,
                    baseline_label="run 1",
                    new_label=label,
                    positions=positions,
                    cell_tolerances=cell_tolerances,
                )
            )

    result.environment_key = kernel_environment_key()
    for run in result.runs:
        result.inputs.update(run.inputs)
        result.listings.update(run.listings)
    if options.fingerprints:
        result.where_runs_part = _where_runs_part(result)
    parted = result.where_runs_part
    origin_cell = parted.origin.cell_number if parted and parted.origin else None
    differing = {d.cell_number for c in result.comparisons for d in c.differences if d.cell_number is not None}
    for number in sorted(differing):
        causes = ranked_causes(notebook_path, number, origin_cell)
        if causes is not None:
            result.likely_causes[number] = causes
    runs_agree = all(
        comparison.verdict != DIVERGED for comparison in result.comparisons if comparison.baseline_label != "ledger"
    )
    result.nothing_recorded = result.verdict != DIVERGED and not any(
        values_checked(records) for records in [*(run.records for run in result.runs), *([ledger] if ledger else [])]
    )
    if result.nothing_recorded:
        # An empty ledger would turn the next verification into a comparison of nothing with nothing.
        result.ledger_action = NOTHING_TO_SAVE
    elif ledger is None or options.update:
        if not runs_agree:
            result.ledger_action = NOT_SAVED
        elif ledger is None:
            first = result.runs[0]
            _decide(result, Ledger(first.records.records, first.records.environments, states=_states(first)), SAVED)
        else:
            latest = result.runs[-1].records
            states = _states(result.runs[-1])
            _decide(result, Ledger(latest.records, latest.environments, ledger.tolerances, states), UPDATED)
    if write:
        write_ledger(result)
    return result


def _where_runs_part(result: NotebookVerification) -> WhereRunsPart | None:
    """For the first comparison that diverged: the origin, from the states of its two sides."""
    comparison = next((c for c in result.comparisons if c.verdict == DIVERGED), None)
    if comparison is None:
        return None
    number = _run_number(comparison.new_label)
    if number is None:
        return None
    if comparison.baseline_label == "ledger":
        baseline_states = [CellState.from_json(state) for state in result.baseline.states] if result.baseline else []
    else:
        baseline_number = _run_number(comparison.baseline_label)
        baseline_states = result.runs[baseline_number - 1].states if baseline_number else []
    return where_runs_part(
        result.notebook, result.code_cells, baseline_states, result.runs[number - 1].states, result.runs, number
    )


def _states(run: NotebookRun) -> list[dict[str, Any]]:
    """The run's states as the ledger keeps them: without their timings, which would change the file on every update."""
    return [{key: value for key, value in state.to_json().items() if key != "seconds"} for state in run.states]


def _run_number(label: str) -> int | None:
    """`run 2` -> 2; the comparison's labels are how it names its sides."""
    prefix, _, number = label.partition(" ")
    return int(number) if prefix == "run" and number.isdigit() else None


def calibrated_tolerances(ledger: Ledger) -> dict[str, Tolerance]:
    """The per-cell tolerances `--calibrate` stored in a ledger, by record key."""
    return {
        key: Tolerance(rtol=float(stored["rtol"]), atol=float(stored["atol"]))
        for key, stored in ledger.tolerances.items()
    }


def _decide(result: NotebookVerification, records: Ledger, action: str) -> None:
    result.pending_ledger = records
    result.ledger_action = action


def write_ledger(result: NotebookVerification) -> None:
    """Write the ledger decided on, if any; a failure is kept on the result, so the verdict stands and the next
    notebook runs."""
    records, result.pending_ledger = result.pending_ledger, None
    if records is None:
        return
    try:
        records.save(result.ledger_path)
    except OSError as error:
        # The error may name a temporary file beside the ledger; the user knows the ledger.
        result.ledger_action = NOT_WRITTEN
        result.ledger_error = f"could not write {result.ledger_path}: {error.strerror or error}"
