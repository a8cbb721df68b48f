"""Verifying several notebooks, one after another or `jobs` kernels at a time, with --fail-fast."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol

from ..exceptions import RunStopped
from .options import VerifyOptions
from .runner import KernelPool
from .verification import EXIT_DIFFERENT, EXIT_FAILED_TO_RUN, NotebookVerification, VerifyInput, verify_notebook


class RunProgress(Protocol):
    """What the runs report their progress to (the command line's progress line)."""

    def start_run(self, notebook: Path, number: int, runs: int) -> None: ...

    def cell(self, number: int, total: int, cell_id: str, source_line: str) -> None: ...


def is_bad_news(result: NotebookVerification) -> bool:
    return result.exit_status in (EXIT_DIFFERENT, EXIT_FAILED_TO_RUN)


def verify_each(
    inputs: list[VerifyInput],
    options: VerifyOptions,
    jobs: int,
    fail_fast: bool,
    progress: RunProgress,
    show: Callable[[NotebookVerification], None],
) -> tuple[list[NotebookVerification], list[Path]]:
    """Verify the notebooks, `jobs` kernels at a time; `show` each result in the order given.

    Returns the results and, after --fail-fast stopped, the notebooks not verified.
    """

    def verify(given: VerifyInput, pool: KernelPool | None) -> NotebookVerification:
        return verify_notebook(
            given,
            options,
            progress=progress.cell,
            on_run_start=lambda number, runs: progress.start_run(given.path, number, runs),
            pool=pool,
        )

    results: list[NotebookVerification] = []
    if jobs == 1:
        for index, given in enumerate(inputs):
            results.append(verify(given, None))
            show(results[-1])
            if fail_fast and is_bad_news(results[-1]):
                return results, [given.path for given in inputs[index + 1 :]]
        return results, []
    return verify_side_by_side(inputs, jobs, fail_fast, verify, show)


def verify_side_by_side(
    inputs: list[VerifyInput],
    jobs: int,
    fail_fast: bool,
    verify: Callable[[VerifyInput, KernelPool | None], NotebookVerification],
    show: Callable[[NotebookVerification], None],
) -> tuple[list[NotebookVerification], list[Path]]:
    pool = KernelPool(jobs)
    done: dict[int, NotebookVerification] = {}
    stopped: set[int] = set()
    shown = 0
    # Threads, not processes: each drives its kernel through its own event
    # loop and mostly waits on it; the kernels do the work, in processes.
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="repro-verify notebook")
    try:
        futures: dict[Future[NotebookVerification], int] = {
            executor.submit(verify, given, pool): index for index, given in enumerate(inputs)
        }
        pending = set(futures)
        while pending:
            # A timeout, so that the main thread keeps taking signals.
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                index = futures[future]
                if future.cancelled() or isinstance(future.exception(), RunStopped):
                    stopped.add(index)
                    continue
                done[index] = future.result()
                if fail_fast and is_bad_news(done[index]) and not pool.stopped:
                    pool.stop()
                    for other in pending:
                        other.cancel()
            while shown < len(inputs) and (shown in done or shown in stopped):
                if shown in done:
                    show(done[shown])
                shown += 1
    except BaseException:
        pool.stop()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    results = [done[index] for index in sorted(done)]
    return results, [inputs[index].path for index in sorted(stopped)]
