"""This machine's kernels (`-j N`): a thread per notebook, each driving its kernels, at most N kernels at once."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from .executor import EngineSettings, NotebookExecutor
from .runner import KernelPool
from .verification import NotebookVerification, VerifyInput, verify_notebook


class LocalExecutor(NotebookExecutor):
    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self.pool = KernelPool(settings.jobs)
        # Threads, not processes: each drives its kernel through its own event
        # loop and mostly waits on it; the kernels do the work, in processes.
        self._threads = ThreadPoolExecutor(max_workers=settings.jobs, thread_name_prefix="repro-verify notebook")

    def submit(self, given: VerifyInput) -> Future[NotebookVerification]:
        return self._threads.submit(self._verify, given)

    def _verify(self, given: VerifyInput) -> NotebookVerification:
        progress = self.settings.progress
        return verify_notebook(
            given,
            self.settings.options,
            progress=progress.cell,
            on_run_start=lambda number, runs: progress.start_run(given.path, number, runs),
            pool=self.pool,
        )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            self.pool.stop()
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)
