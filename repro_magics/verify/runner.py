"""Run a notebook top to bottom in a fresh kernel and collect what its cells recorded."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import default

from ..exceptions import KernelNotFound, LedgerError, RunStopped
from ..kernel.input_reads import READS_LOG_ENV_VAR
from ..kernel.notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR
from ..kernel.spec import KERNEL_EXT_ARGUMENT, KERNEL_NAME, START_ENVIRONMENT, kernel_spec_dict
from ..kernel.state_fingerprints import STATE_ENV_VAR
from ..ledger.store import Ledger
from ..notebooks import first_line, read_notebook
from .changed import summarize_reads
from .folder_snapshot import FolderSnapshot, isolated_copy, snapshot_folder
from .kernel_stop import close_loop, kill_kernel_process, stop_kernel
from .state_origin import CellState, read_states

#: Called before each code cell runs: (cell number from 1, code cells in all, cell id, first line).
Progress = Callable[[int, int, str, str], None]
#: Called once the fresh kernel is up, with its process id (for a caller that may need to stop it).
KernelStarted = Callable[[int], None]


@dataclass(frozen=True)
class RunFailure:
    """Why a run stopped: which cell, and what happened, in a line or two."""

    cell_number: int | None
    cell_id: str | None
    source_first_line: str
    summary: str
    #: Where it stopped, when no cell can be named (a cluster worker that died mid-task).
    place: str | None = None


@dataclass
class NotebookRun:
    """What one fresh-kernel run of a notebook produced."""

    notebook: Path
    records: Ledger
    failure: RunFailure | None
    seconds: float
    cells_run: int
    #: The kernel's fingerprints of its state after each code cell, in the order they ran.
    states: list[CellState] = field(default_factory=list)
    #: The notebook's folder before and after the run (of its own copy, with `isolate`).
    folder_before: FolderSnapshot | None = None
    folder_after: FolderSnapshot | None = None
    #: Files the run read inside the notebook's folder, by relative path -> hash (see `changed.summarize_reads`).
    inputs: dict[str, str] = field(default_factory=dict)
    #: Folders it listed there -> hash of their names.
    listings: dict[str, str] = field(default_factory=dict)


class _BundledKernelSpecs(KernelSpecManager):
    """Installed kernel specs, plus the reproducible one for the running Python."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == KERNEL_NAME:
            return KernelSpec(resource_dir="", **kernel_spec_dict())
        return super().get_kernel_spec(kernel_name)


class _KernelManager(AsyncKernelManager):
    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self) -> KernelSpecManager:
        return _BundledKernelSpecs(data_dir=self.data_dir)

    # A private method (jupyter_client 8): the one that forks the
    # kernel. Should it be renamed, signals are simply not held.
    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        with _signals_held():
            await super()._async_launch_kernel(kernel_cmd, **kw)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while the kernel process starts, and deliver them after.

    A signal between the kernel's fork and jupyter_client noting its process
    would leave a kernel that nothing knows how to stop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])


class _SignalFreeLoop(asyncio.SelectorEventLoop):
    """An event loop that leaves signals to the program running it.

    nbclient hooks SIGINT and SIGTERM to shut the kernel down, which turns a
    Ctrl-C into a failed cell, and on the way out puts back the default
    handlers, which let a later SIGTERM kill the program mid-write. It
    ignores a loop that refuses signal handlers, as outside the main thread.
    """

    # Any, not the stub's TypeVarTuple signature, which Python 3.10 cannot spell.
    def add_signal_handler(self, sig: int, callback: Any, *args: Any) -> None:  # type: ignore[override]
        raise RuntimeError("the program running the notebook handles signals")

    def remove_signal_handler(self, sig: int) -> bool:
        raise RuntimeError("the program running the notebook handles signals")


def _code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.get("cell_type") == "code"]


def run_notebook(
    path: Path,
    *,
    notebook: Any | None = None,
    kernel_name: str | None = None,
    timeout: float | None = 600,
    progress: Progress | None = None,
    on_kernel_start: KernelStarted | None = None,
    environment: dict[str, str] | None = None,
    pool: KernelPool | None = None,
    fingerprints: bool = True,
    isolate: bool = False,
) -> NotebookRun:
    """Execute a copy of the notebook in a fresh kernel and return its records.

    The kernel starts with `PYTHONHASHSEED` fixed and the extension loaded,
    and is told the id of each cell it runs, as JupyterLab does. The notebook
    file is never written. Failures come back in `NotebookRun.failure`.
    Cells run in the folder of `path` as given, as in `jupyter execute`: for
    a symlinked notebook, the link's folder.

    An interruption (`KeyboardInterrupt`, or any exception a signal handler
    raises) stops the kernel before it is passed on. `environment` adds
    variables to the kernel's. `pool.stop()`, from any thread, stops it too
    and makes this raise `RunStopped`.
    With `fingerprints`, the kernel fingerprints its state after every cell and the
    folder is listed before and after; with `isolate`, the run works in a copy of the folder.
    """
    path = Path(path).absolute()
    working_copy = copy.deepcopy(notebook if notebook is not None else read_notebook(path))
    code_cells = _code_cells(working_copy)
    numbers = {id(cell): number for number, cell in enumerate(code_cells, start=1)}
    current: dict[str, Any] = {}

    try:
        scratch_folder = tempfile.TemporaryDirectory(prefix="repro-verify-")
    except OSError as error:
        summary = f"could not make a scratch folder in {tempfile.gettempdir()}: {error.strerror or error}"
        return NotebookRun(path, Ledger(), RunFailure(None, None, "", summary), 0.0, 0)
    with scratch_folder as scratch:
        ledger_path = Path(scratch) / "records.repro.json"
        reads_log = Path(scratch) / "reads.log"
        state_path = Path(scratch) / "state.jsonl"
        try:
            notebook_path = isolated_copy(path, Path(scratch)) if isolate else path
        except OSError as error:
            summary = f"could not copy {path.parent} to isolate the run: {_first_line(str(error))}"
            return NotebookRun(path, Ledger(), RunFailure(None, None, "", summary), 0.0, 0)
        client = NotebookClient(
            working_copy,
            kernel_name=kernel_name or KERNEL_NAME,
            kernel_manager_class=_KernelManager,
            timeout=timeout if timeout else None,
            extra_arguments=[] if kernel_name is None else [KERNEL_EXT_ARGUMENT],
            resources={"metadata": {"path": str(notebook_path.parent)}},
        )

        def before_cell(cell: Any, cell_index: int) -> None:
            current["cell"] = cell
            # nbclient sends no cell id; ipykernel hands `cellId` from the
            # request's metadata to IPython, as it does for JupyterLab.
            assert client.kc is not None
            client.kc.session.metadata["cellId"] = cell.get("id")
            if progress is not None:
                progress(numbers[id(cell)], len(code_cells), str(cell.get("id")), first_line(cell.source))

        client.on_cell_execute = before_cell
        if on_kernel_start is not None:

            def kernel_started(**_: Any) -> None:
                pid = getattr(client.km and client.km.provisioner, "pid", None)
                if isinstance(pid, int):
                    on_kernel_start(pid)

            client.on_notebook_start = kernel_started
        # XLA's and cuBLAS's determinism variables are set by the extension, which the kernel loads at start
        # (before any cell), as a notebook's own kernel does: the start-up environment stays the same in both.
        kernel_environment = {
            **{name: value for name, value in os.environ.items() if name != STATE_ENV_VAR},
            **(environment or {}),
            **START_ENVIRONMENT,
            LEDGER_ENV_VAR: str(ledger_path),
            NOTEBOOK_ENV_VAR: str(notebook_path),
            READS_LOG_ENV_VAR: str(reads_log),
            **({STATE_ENV_VAR: str(state_path)} if fingerprints else {}),
        }
        folder_before = snapshot_folder(notebook_path.parent) if fingerprints and not isolate else None
        kernel_log_path = Path(scratch) / "kernel.log"
        started = time.perf_counter()
        failure = None
        # The kernel's own chatter (TensorFlow's start-up lines, ipykernel's
        # warnings) goes to a log; its last line explains a kernel that died.
        with kernel_log_path.open("wb") as kernel_log:
            loop = _SignalFreeLoop()
            execution = loop.create_task(
                client.async_execute(env=kernel_environment, stdout=kernel_log, stderr=kernel_log)
            )
            try:
                if pool is not None:
                    pool._watch(client, loop, execution)
                loop.run_until_complete(execution)
            except NoSuchKernel:
                raise KernelNotFound(f"no Jupyter kernel named {kernel_name!r} is installed") from None
            except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as error:
                failure = _describe_failure(
                    error, current.get("cell"), numbers, timeout, _last_error_line(kernel_log_path)
                )
            except OSError as error:
                failure = RunFailure(None, None, "", f"the kernel could not start: {error.strerror or error}")
            except BaseException:
                stop_kernel(client, loop)
                if pool is not None and pool.stopped:
                    raise RunStopped() from None
                raise
            finally:
                if pool is not None:
                    pool._forget(execution)
                close_loop(loop)
                # nbclient leaves its clean-up registered when the kernel fails
                # to start, and it then fails at interpreter exit.
                atexit.unregister(client._cleanup_kernel)
        seconds = time.perf_counter() - started
        folder_after = snapshot_folder(notebook_path.parent) if folder_before is not None else None
        if pool is not None and pool.stopped:
            # Stopped as the run ended by itself: a half-finished run is no result.
            raise RunStopped()
        try:
            records = Ledger.load(ledger_path) if ledger_path.exists() else Ledger()
        except LedgerError as error:
            records = Ledger()
            failure = failure or RunFailure(None, None, "", f"the kernel left unreadable records: {error}")
        states = read_states(state_path)
        inputs, listings = summarize_reads(reads_log, notebook_path)
    cells_run = numbers.get(id(current.get("cell")), 0)
    return NotebookRun(
        path, records, failure, seconds, cells_run, states, folder_before, folder_after, inputs, listings
    )


class KernelPool:
    """At most `size` kernels at once, from any threads, and a switch that stops them all.

    Each thread's run has its own event loop; `stop` kills every kernel the
    pool started and cancels the runs on their loops, so the threads running
    them raise `RunStopped` after their clean-up, and runs not yet started
    raise it at once.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.stopped = False
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._running: dict[asyncio.Task[Any], tuple[NotebookClient, asyncio.AbstractEventLoop]] = {}

    def run(self, path: Path, **options: Any) -> NotebookRun:
        """`run_notebook(path, **options)` once a kernel slot is free; `RunStopped` after `stop`."""
        while not self._slots.acquire(timeout=0.1):
            if self.stopped:
                raise RunStopped()
        try:
            if self.stopped:
                raise RunStopped()
            return run_notebook(path, pool=self, **options)
        finally:
            self._slots.release()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            running = list(self._running.items())
        for execution, (client, loop) in running:
            client.shutdown_kernel = "immediate"
            kill_kernel_process(client)
            with contextlib.suppress(RuntimeError):  # the loop closed as the run ended
                loop.call_soon_threadsafe(execution.cancel)

    def _watch(self, client: NotebookClient, loop: asyncio.AbstractEventLoop, execution: asyncio.Task[Any]) -> None:
        with self._lock:
            if self.stopped:
                raise RunStopped()
            self._running[execution] = (client, loop)

    def _forget(self, execution: asyncio.Task[Any]) -> None:
        with self._lock:
            self._running.pop(execution, None)


def _last_error_line(path: Path) -> str:
    """The kernel log's last line that reports an error; its start-up chatter explains nothing."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    markers = ("Error", "error:", "Fatal", "Traceback", "Segmentation", "Killed", "Aborted")
    return next((line.strip() for line in reversed(lines) if any(m in line for m in markers)), "")


def _first_line(text: str, limit: int = 300) -> str:
    """A message's first non-blank line, cut to `limit` characters: a report line, not a page."""
    line = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _describe_failure(
    error: Exception, cell: Any | None, numbers: dict[int, int], timeout: float | None, kernel_said: str
) -> RunFailure:
    if isinstance(error, CellExecutionError):
        summary = f"{error.ename}: {_first_line(error.evalue)}" if error.ename else _first_line(str(error))
    elif isinstance(error, CellTimeoutError):
        summary = f"timed out after {timeout:g} seconds (set --timeout)"
    elif isinstance(error, DeadKernelError):
        summary = "the kernel died (it exited or crashed)"
        summary += f"; its last words: {kernel_said}" if kernel_said else ""
    else:
        summary = f"the kernel failed: {error}"
        summary += f"; its last words: {kernel_said}" if kernel_said else ""
    if cell is None:
        return RunFailure(None, None, "", summary)
    return RunFailure(numbers.get(id(cell)), cell.get("id"), first_line(cell.source), summary)
