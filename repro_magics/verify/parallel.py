"""Where notebooks are verified: engines behind one interface shaped like `concurrent.futures`.

An engine takes a notebook (`submit`) and gives back a `Future` of its
`NotebookVerification`; `shutdown(cancel_futures=True)` stops what is queued
and what is running, kernels included (the interface is in `executor.py`).
`verify_all` is the one loop over them: results in the order given,
`--fail-fast`, signals. An engine is one module with a `NotebookExecutor`
subclass and an entry in `ENGINES`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path

from ..exceptions import EngineError, RunStopped
from .executor import EngineSettings, NotebookExecutor
from .verification import EXIT_DIFFERENT, EXIT_FAILED_TO_RUN, NotebookVerification, VerifyInput, verify_notebook

#: The variable Dask's own tools read for a scheduler's address.
DASK_ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"

#: `--executor SCHEME://ADDRESS` -> the module that runs it: `make_executor(address, settings)`, and
#: `environment_key(address)` for --changed.
ENGINES = {"dask": "repro_magics.verify.dask_engine"}


def executor_address(given: str | None) -> str | None:
    """`--executor`, or else $DASK_SCHEDULER_ADDRESS as a dask:// address; None: this machine's kernels."""
    if given:
        return given
    from_environment = os.environ.get(DASK_ADDRESS_VARIABLE, "").strip()
    if from_environment:
        return "dask://" + from_environment.split("://", 1)[-1]
    return None


def open_executor(address: str | None, settings: EngineSettings) -> NotebookExecutor:
    """The engine named by `address` (`SCHEME://HOST:PORT`), or this machine's kernels for None."""
    if address is None:
        from .local_engine import LocalExecutor

        return LocalExecutor(settings)
    scheme, separator, rest = address.partition("://")
    if not separator or not rest:
        raise EngineError(f"--executor {address!r} is not SCHEME://HOST:PORT (for example dask://10.0.0.5:8786)")
    if scheme not in ENGINES:
        known = ", ".join(f"{name}://" for name in sorted(ENGINES))
        raise EngineError(f"--executor {address!r}: no engine is called {scheme!r} (known: {known})")
    module = importlib.import_module(ENGINES[scheme])
    make: Callable[[str, EngineSettings], NotebookExecutor] = module.make_executor
    return make(rest, settings)


def kernels_environment_key(address: str | None) -> str | None:
    """The environment key of the kernels an engine would start (`--changed`); None when its workers differ."""
    if address is None:
        from .changed import kernel_environment_key

        return kernel_environment_key()
    scheme, _, rest = address.partition("://")
    if scheme not in ENGINES:
        raise EngineError(f"--executor {address!r}: no engine is called {scheme!r}")
    module = importlib.import_module(ENGINES[scheme])
    key: str | None = module.environment_key(rest)
    return key


def is_bad_news(result: NotebookVerification) -> bool:
    return result.exit_status in (EXIT_DIFFERENT, EXIT_FAILED_TO_RUN)


def verify_notebooks(
    inputs: list[VerifyInput],
    settings: EngineSettings,
    address: str | None,
    fail_fast: bool,
    show: Callable[[NotebookVerification], None],
) -> tuple[list[NotebookVerification], list[Path]]:
    """Verify the notebooks one after the other in this thread (one kernel, no engine), or on the engine of
    `address` (None with `settings.jobs` > 1: this machine's kernels side by side); see `verify_all`.

    Raises `EngineError` for an engine that cannot be used.
    """
    if address is not None or settings.jobs > 1:
        return verify_all(inputs, open_executor(address, settings), fail_fast, show)
    results: list[NotebookVerification] = []
    progress = settings.progress
    for index, given in enumerate(inputs):
        results.append(
            verify_notebook(
                given,
                settings.options,
                progress=progress.cell,
                on_run_start=lambda number, runs, path=given.path: progress.start_run(path, number, runs),
            )
        )
        show(results[-1])
        if fail_fast and is_bad_news(results[-1]):
            return results, [given.path for given in inputs[index + 1 :]]
    return results, []


def verify_all(
    inputs: list[VerifyInput],
    executor: NotebookExecutor,
    fail_fast: bool,
    show: Callable[[NotebookVerification], None],
) -> tuple[list[NotebookVerification], list[Path]]:
    """Verify the notebooks on `executor`; `show` each result in the order given.

    Returns the results and, after --fail-fast stopped the rest, the notebooks not verified.
    """
    done: dict[int, NotebookVerification] = {}
    stopped: set[int] = set()
    shown = 0
    stopping = False
    with executor:
        futures = {executor.submit(given): index for index, given in enumerate(inputs)}
        pending = set(futures)
        while pending:
            # A timeout, so that the main thread keeps taking signals.
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            # A future cancelled before it ran (a queue drained by shutdown) never counts as done for `wait`.
            cancelled = {future for future in pending if future.cancelled()}
            finished, pending = finished | cancelled, pending - cancelled
            for future in finished:
                index = futures[future]
                if future.cancelled() or isinstance(future.exception(), RunStopped):
                    stopped.add(index)
                    continue
                done[index] = future.result()
                if fail_fast and is_bad_news(done[index]) and not stopping:
                    stopping = True
                    for other in pending:
                        other.cancel()
                    executor.shutdown(wait=False, cancel_futures=True)
            while shown < len(inputs) and (shown in done or shown in stopped):
                if shown in done:
                    show(done[shown])
                shown += 1
    results = [done[index] for index in sorted(done)]
    return results, [inputs[index].path for index in sorted(stopped)]
