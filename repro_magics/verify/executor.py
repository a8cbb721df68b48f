"""The interface every engine implements, shaped like `concurrent.futures.Executor` (see `parallel.py`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Protocol

from .options import VerifyOptions
from .verification import NotebookVerification, VerifyInput


class ProgressSink(Protocol):
    """Where an engine reports progress: which run of which notebook, then each cell as it starts."""

    def start_run(self, notebook: Path, number: int, runs: int) -> None: ...

    def cell(self, number: int, total: int, cell_id: str, source_line: str) -> None: ...

    def cell_of(self, notebook: Path, run: int, runs: int, number: int, total: int, line: str) -> None: ...


class EngineSettings:
    """What every engine is given: how to verify, where to report progress, how many kernels."""

    def __init__(
        self, options: VerifyOptions, progress: ProgressSink, jobs: int = 1, ship_folder: bool = False
    ) -> None:
        self.options, self.progress, self.jobs, self.ship_folder = options, progress, jobs, ship_folder


class NotebookExecutor(ABC):
    """Verifies notebooks somewhere; the caller alone writes ledgers and reports (see `write_ledger`)."""

    @abstractmethod
    def submit(self, given: VerifyInput) -> Future[NotebookVerification]:
        """Start verifying `given`; the future ends with its verification, or `RunStopped` once stopped."""

    @abstractmethod
    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Release the engine; `cancel_futures` also stops every queued and running verification and its kernel."""

    def __enter__(self) -> NotebookExecutor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.shutdown(wait=True, cancel_futures=error is not None)
