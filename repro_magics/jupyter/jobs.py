"""Verifications running on the server: one at a time per notebook, each in a thread, cancellable."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import posixpath
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import KernelNotFound
from ..ledger.staleness import STALE, record_states
from ..notebooks import code_cells
from ..report.text import format_verification, report_json
from ..verify.options import VerifyOptions
from ..verify.verification import NOT_WRITTEN, NotebookVerification, VerifyInput, verify_notebook, write_ledger
from .paths import Refused, check_ledger_files, root_relative, shown

RUNNING = "running"
DONE = "done"
CANCELLED = "cancelled"
ERROR = "error"

_log = logging.getLogger(__name__)


def stale_cells(given: VerifyInput) -> dict[str, str]:
    """{cell id: why} for each cell whose saved source changed since its ledger record, as `%repro_status` finds."""
    if given.ledger is None:
        return {}
    return {
        str(state.cell.cell_id): (
            "the source changed since the ledger recorded this cell "
            f"(the ledger has: {state.record.get('source_first_line', '')})"
        )
        for state in record_states(code_cells(given.notebook.cells), given.ledger.records)
        if state.state == STALE and state.cell is not None and state.cell.cell_id is not None
    }


def cell_badges(result: NotebookVerification) -> dict[str, dict[str, str]]:
    """{cell id: {"verdict", "detail"}, and "origin" on the origin cell} for each code cell: what every report shows."""
    return {
        outcome.cell_id: {
            "verdict": outcome.verdict.value,
            "detail": outcome.detail,
            # Only the cell after which the runs' states first differ, plain or recorded.
            **({"origin": outcome.origin} if outcome.origin else {}),
        }
        for outcome in result.cell_verdicts
        if outcome.cell_id is not None and outcome.number is not None
    }


def as_the_browser_names_it(result: NotebookVerification, notebook: str, ledger: str) -> NotebookVerification:
    """The result with its notebook and ledger named relative to the server's root, as the file browser does.

    The server verifies the resolved file, so its reports would otherwise show
    the absolute path: a path the user never typed, and the server's layout
    sent to the browser. Every report reads the names from the result.
    """
    error = result.ledger_error
    if error is not None:
        error = error.replace(str(result.ledger_path), ledger)
    return dataclasses.replace(result, notebook=Path(notebook), ledger_path=Path(ledger), ledger_error=error)


class AlreadyRunning(Exception):
    """A verification of this notebook is in progress; it carries that job."""

    def __init__(self, job: VerificationJob) -> None:
        super().__init__(
            f"{shown(job.notebook)} is already being verified (started {time.time() - job.started:.0f} s ago); "
            "wait for it to finish or cancel it"
        )
        self.job = job


class _Cancelled(Exception):
    """Raised inside the verification thread, between cells, once the user cancelled."""


def _kill_kernel(pid: int) -> None:
    # Kernels start in a session of their own (jupyter_client's launcher), so
    # a kernel leads its process group: killing the group also stops what the
    # kernel started, and a pid that leads no group is no kernel of ours.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)


@dataclass
class VerificationJob:
    """One verification of one notebook, as the browser follows it."""

    notebook: str
    given: VerifyInput
    options: VerifyOptions
    #: The server's root: the reports name files relative to it.
    root: Path
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.time)
    state: str = RUNNING
    finished: float | None = None
    progress: dict[str, Any] | None = None
    message: str | None = None
    outcome: dict[str, Any] | None = None
    kernels: set[int] = field(default_factory=set)
    stale: dict[str, str] = field(init=False)
    _cancelled: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.stale = stale_cells(self.given)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"repro-verify {self.notebook}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop now: the running kernel is killed, so a long cell does not finish first."""
        self._cancelled.set()
        with self._lock:
            kernels = list(self.kernels)
        for pid in kernels:
            _kill_kernel(pid)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state != RUNNING

    def _on_run_start(self, number: int, runs: int) -> None:
        with self._lock:
            self.kernels.clear()  # the last run's kernel was shut down when that run ended
            self.progress = {"run": number, "runs": runs, "cell": 0, "cells": 0, "cell_id": None, "source": ""}

    def _on_cell(self, number: int, total: int, cell_id: str, source_line: str) -> None:
        if self._cancelled.is_set():
            raise _Cancelled
        with self._lock:
            if self.progress is not None:
                self.progress.update(cell=number, cells=total, cell_id=cell_id, source=source_line)

    def _on_kernel_start(self, pid: int) -> None:
        with self._lock:
            self.kernels.add(pid)
        if self._cancelled.is_set():
            _kill_kernel(pid)

    def _run(self) -> None:
        try:
            result = verify_notebook(
                self.given,
                self.options,
                progress=self._on_cell,
                on_run_start=self._on_run_start,
                on_kernel_start=self._on_kernel_start,
                write=False,
            )
            self._write_ledger(result)
        except _Cancelled:
            self._finish(CANCELLED, "cancelled; the verification's kernel was stopped and no ledger was written")
            return
        except KernelNotFound as error:
            self._finish(ERROR, str(error))
            return
        except OSError as error:
            file = root_relative(self.root, Path(error.filename)) if error.filename else "a file"
            self._finish(ERROR, f"could not write {file}: {error.strerror or error}")
            return
        except Exception as error:  # the browser gets a sentence; the server log keeps the traceback
            _log.exception("repro_magics: verifying %s failed", self.notebook)
            # Its words may quote anything the notebook or the ledger holds.
            self._finish(
                ERROR,
                f"the verification stopped with an internal error ({type(error).__name__}); the server log has it",
            )
            return
        if self._cancelled.is_set() and result.failure is not None:
            self._finish(CANCELLED, "cancelled; the verification's kernel was stopped and no ledger was written")
            return
        tolerance = self.options.tolerance
        result = as_the_browser_names_it(
            result, posixpath.normpath(self.notebook), root_relative(self.root, self.given.ledger_path)
        )
        outcome = {
            "exit_status": result.exit_status,
            "verdict": result.verdict,
            "lines": format_verification(result, tolerance),
            "report": report_json([result], result.exit_status, tolerance),
            "cells": cell_badges(result),
        }
        with self._lock:
            self.outcome = outcome
        self._finish(DONE, None)

    def _write_ledger(self, result: NotebookVerification) -> None:
        """Write the ledger decided on, once its files are checked again as they are now, not as they were when
        the request came: one that became a link out of the root meanwhile is not written through."""
        if result.pending_ledger is None:
            return
        try:
            check_ledger_files(self.root, self.given.path, self.notebook)
        except Refused as refused:
            result.pending_ledger, result.ledger_action = None, NOT_WRITTEN
            result.ledger_error = refused.message
            return
        write_ledger(result)

    def _finish(self, state: str, message: str | None) -> None:
        with self._lock:
            self.message = message
            self.finished = time.time()
            self.kernels.clear()
            self.state = state

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            end = self.finished or time.time()
            return {
                "id": self.id,
                "notebook": self.notebook,
                "state": self.state,
                "started": self.started,
                "elapsed": round(end - self.started, 1),
                "progress": dict(self.progress) if self.progress else None,
                "message": self.message,
                "stale": self.stale,
                "options": {
                    "rtol": self.options.tolerance.rtol,
                    "atol": self.options.tolerance.atol,
                    "runs": self.options.runs,
                    "update": self.options.update,
                },
                **(self.outcome or dict.fromkeys(("exit_status", "verdict", "lines", "report", "cells"))),
            }


class VerificationJobs:
    """The server's verifications: at most one running per notebook file; the last one of each is kept.

    They are keyed on the notebook's resolved file, not on the name a request
    gave, so that `nb.ipynb`, `./nb.ipynb` and a link to it are one notebook,
    with one writer of its ledger.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, VerificationJob] = {}
        self._latest: dict[Path, VerificationJob] = {}
        self._lock = threading.Lock()

    def start(self, notebook: str, given: VerifyInput, options: VerifyOptions, root: Path) -> VerificationJob:
        """Start verifying `given.path` (named `notebook` by the request, relative to `root`).

        Raises `AlreadyRunning` while that file is being verified.
        """
        with self._lock:
            latest = self._latest.get(given.path)
            if latest is not None and latest.state == RUNNING:
                raise AlreadyRunning(latest)
            job = VerificationJob(notebook, given, options, root)
            self._jobs[job.id] = job
            if latest is not None:
                self._jobs.pop(latest.id, None)
            self._latest[given.path] = job
        job.start()
        return job

    def get(self, job_id: str) -> VerificationJob | None:
        return self._jobs.get(job_id)

    def latest(self, notebook_file: Path) -> VerificationJob | None:
        """The last verification of the notebook at this resolved path."""
        return self._latest.get(notebook_file)

    def running(self) -> list[VerificationJob]:
        with self._lock:
            return [job for job in self._jobs.values() if job.state == RUNNING]

    def stop_all(self, timeout: float = 10) -> None:
        """Cancel every running verification and wait for its kernel to be gone (server shutdown)."""
        running = self.running()
        for job in running:
            job.cancel()
        deadline = time.monotonic() + timeout
        for job in running:
            job.wait(max(0.0, deadline - time.monotonic()))
