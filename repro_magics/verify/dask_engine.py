"""`--executor dask://HOST:PORT`: each notebook a task on a `dask.distributed` worker, one kernel per task.

The task gets the notebook and its ledger as data (and, with
`--ship-folder`, the notebook's folder packed), runs it in a kernel on the
worker, and returns the `NotebookVerification` with the ledger it decided on
unwritten; this client writes ledgers and reports. A task whose worker dies
is run once more on another worker; a second death reports the notebook as
failed to run. Progress comes back as Dask events on a topic of this run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import tempfile
import threading
import uuid
import zipfile
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import nbformat

from ..exceptions import EngineError, RunStopped
from ..ledger.store import LEDGER_SUFFIX, Ledger
from ..notebooks import code_cells
from .executor import EngineSettings, NotebookExecutor
from .runner import KernelPool, NotebookRun, RunFailure
from .verification import NotebookVerification, VerifyInput, VerifyOptions, verify_notebook, write_ledger

#: The most a task carries of a notebook's folder with --ship-folder; past it the folder belongs on a shared filesystem.
SHIP_LIMIT_BYTES = 64 * 1024 * 1024
#: Left out of a shipped folder: version control, caches, checkpoints, ledgers (the ledger travels as data).
_NOT_SHIPPED_FOLDERS = {".git", "__pycache__", ".ipynb_checkpoints", ".venv", "node_modules"}
#: How many times a task may start: once, and once more after its worker died.
MOST_STARTS = 2
CONNECT_SECONDS = 10


def make_executor(address: str, settings: EngineSettings) -> DaskExecutor:
    return DaskExecutor(address, settings)


def environment_key(address: str) -> str | None:
    """The key of the environment the workers' kernels run in; None when the workers differ (nothing is skipped)."""
    client = _connect(address if "://" in address else f"tcp://{address}")
    try:
        keys = set(client.run(worker_kernel_environment_key).values())
    finally:
        client.close()
    return keys.pop() if len(keys) == 1 else None


def _connect(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise EngineError('--executor dask:// needs Dask: pip install "repro-magics[dask]"') from None
    try:
        return Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise EngineError(
            f"--executor: no Dask scheduler answered at {address} within {CONNECT_SECONDS} s ({error})"
        ) from None


class ShipError(EngineError):
    """--ship-folder: a folder past the size limit."""


def pack_folder(notebook: Path, limit: int = SHIP_LIMIT_BYTES) -> bytes:
    """The notebook's folder (recursively, without caches and ledgers) as a zip; `ShipError` past `limit` bytes."""
    folder = notebook.absolute().parent
    files: list[Path] = []
    total = 0
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in _NOT_SHIPPED_FOLDERS)
        for name in sorted(names):
            if ".repro." in name or name.endswith(LEDGER_SUFFIX):
                continue
            path = Path(root) / name
            if not path.is_file():
                continue
            files.append(path)
            total += path.stat().st_size
            if total > limit:
                raise ShipError(
                    f"--ship-folder: the folder of {notebook} ({folder}) holds more than the "
                    f"{limit / 2**20:g} MiB a task may carry; put it on a filesystem the workers share "
                    "and drop --ship-folder"
                )
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_STORED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    return packed.getvalue()


class DaskExecutor(NotebookExecutor):
    def __init__(self, address: str, settings: EngineSettings) -> None:
        self.settings = settings
        self.address = address if "://" in address else f"tcp://{address}"
        self.client = _connect(self.address)
        self.run_id = uuid.uuid4().hex[:12]
        self.topic = f"repro-verify-{self.run_id}"
        self._lock = threading.Lock()
        self._closed = False
        self._futures: dict[str, tuple[VerifyInput, Future[NotebookVerification], Any]] = {}
        self._starts: dict[str, list[str]] = {}
        self.client.subscribe_topic(self.topic, self._on_event)

    def submit(self, given: VerifyInput) -> Future[NotebookVerification]:
        packed = pack_folder(given.path) if self.settings.ship_folder else None
        key = f"repro-verify-{given.path.name}-{self.run_id}-{len(self._futures)}"
        sent = dataclasses.replace(given, path=given.path.absolute(), ledger_path=given.ledger_path.absolute())
        folder = self.client.scatter(packed, hash=False) if packed is not None else None
        promise: Future[NotebookVerification] = Future()
        with self._lock:
            task = self.client.submit(
                verify_on_worker,
                sent,
                self.settings.options,
                self.topic,
                self.run_id,
                key,
                folder,
                key=key,
                pure=False,
            )
            self._futures[key] = (given, promise, task)
        task.add_done_callback(lambda finished: self._finished(key, finished))
        return promise

    def _finished(self, key: str, task: Any) -> None:
        from distributed import KilledWorker

        given, promise, _ = self._futures[key]
        if promise.done():
            return
        if task.status == "finished":
            result: NotebookVerification = task.result()
            result.notebook, result.ledger_path = given.path, given.ledger_path
            for run in result.runs:
                run.notebook = given.path
            write_ledger(result)
            _settle(promise, result)
            return
        if task.status == "cancelled":
            _settle(promise, error=RunStopped())
            return
        error = task.exception()
        if isinstance(error, RunStopped):
            _settle(promise, error=RunStopped())
        elif isinstance(error, KilledWorker):
            _settle(promise, self._died(given, key))
        else:
            summary = f"the task failed on the cluster: {type(error).__name__}: {error}"
            _settle(promise, _failed(given, summary))

    def _died(self, given: VerifyInput, key: str) -> NotebookVerification:
        workers = self._starts.get(key) or []
        where = f" ({', '.join(workers)})" if workers else ""
        return _failed(given, f"the worker running it died, and again on a second worker{where}; not retried again")

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        message = event[1]
        key = str(message.get("key"))
        if key not in self._futures:
            return
        given, promise, task = self._futures[key]
        if message.get("kind") == "start":
            self._starts.setdefault(key, []).append(str(message.get("worker")))
            # The scheduler retries a task whose worker died as often as its
            # allowed-failures setting says (3 by default); once is enough here.
            if len(self._starts[key]) > MOST_STARTS and not promise.done():
                self.client.cancel([task], force=True)
                _settle(promise, self._died(given, key))
        elif message.get("kind") == "cell":
            self.settings.progress.cell_of(
                given.path,
                int(message["run"]),
                int(message["runs"]),
                int(message["number"]),
                int(message["total"]),
                str(message["line"]),
            )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        tasks = [task for _, _, task in self._futures.values()]
        if cancel_futures:
            # Stop the kernels first: cancelling a running Dask task does not stop its thread.
            with contextlib.suppress(Exception):
                self.client.run(stop_run, self.run_id, on_error="ignore")
            with contextlib.suppress(Exception):
                self.client.cancel(tasks, force=True)
            for _, promise, _ in self._futures.values():
                promise.cancel()
        with contextlib.suppress(Exception):
            self.client.unsubscribe_topic(self.topic)
        self.client.close()


def _settle(
    promise: Future[NotebookVerification],
    result: NotebookVerification | None = None,
    error: BaseException | None = None,
) -> None:
    with contextlib.suppress(Exception):  # cancelled meanwhile: the caller has stopped waiting for it
        if error is not None:
            promise.set_exception(error)
        else:
            promise.set_result(result)  # type: ignore[arg-type]


def _failed(given: VerifyInput, summary: str) -> NotebookVerification:
    """A notebook that did not run to the end on the cluster: failed to run, never reproduced."""
    run = NotebookRun(given.path, Ledger(), RunFailure(None, None, "", summary, place="on the cluster"), 0.0, 0)
    return NotebookVerification(
        given.path,
        given.ledger_path,
        had_ledger=given.ledger is not None,
        runs=[run],
        baseline=given.ledger,
        code_cells=code_cells(given.notebook.cells),
    )


# On the worker.


def undo_nanny_environment(worker: Any) -> None:
    """Give this worker's kernels the thread settings the worker was started with, not the nanny's.

    A Dask nanny sets OMP_NUM_THREADS, MKL_NUM_THREADS and OPENBLAS_NUM_THREADS
    to 1 for its worker (`distributed.nanny.pre-spawn-environ`); a kernel that
    inherited them would compute with other thread counts than under `-j`,
    and its ledger would name another environment. The values the nanny
    itself started with are read from its /proc entry (Linux); elsewhere the
    worker's are kept. The worker's own libraries are loaded already, so
    changing its environment now changes only what its kernels inherit.
    """
    import dask

    if not worker.nanny:  # started with --no-nanny: nothing was imposed
        return
    imposed = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    try:
        raw = Path(f"/proc/{os.getppid()}/environ").read_bytes()
    except OSError:
        return
    nanny = dict(entry.split(b"=", 1) for entry in raw.split(b"\0") if b"=" in entry)
    for name in imposed:
        started = nanny.get(name.encode())
        if started is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = started.decode(errors="surrogateescape")


def worker_kernel_environment_key(dask_worker: Any) -> str:
    """Run by `Client.run`, which passes the worker as `dask_worker`."""
    from .changed import kernel_environment_key

    undo_nanny_environment(dask_worker)
    return kernel_environment_key()


_pools_lock = threading.Lock()
_running: dict[str, set[KernelPool]] = {}
_stopped_runs: set[str] = set()


def stop_run(run_id: str) -> int:
    """On a worker: stop the kernels of `run_id`'s tasks and keep its later tasks from starting one."""
    with _pools_lock:
        _stopped_runs.add(run_id)
        pools = list(_running.get(run_id, ()))
    for pool in pools:
        pool.stop()
    return len(pools)


def verify_on_worker(
    given: VerifyInput, options: VerifyOptions, topic: str, run_id: str, key: str, packed: bytes | None
) -> NotebookVerification:
    """The task: verify one notebook in one kernel here; return the verification, its ledger unwritten."""
    from distributed import get_worker

    worker = get_worker()

    def event(**message: Any) -> None:
        worker.log_event(topic, {"key": key, **message})

    event(kind="start", worker=worker.address)
    undo_nanny_environment(worker)
    pool = KernelPool(1)
    with _pools_lock:
        if run_id in _stopped_runs:
            raise RunStopped()
        _running.setdefault(run_id, set()).add(pool)
    current = {"run": 1, "runs": 1}

    def on_run_start(number: int, runs: int) -> None:
        current.update(run=number, runs=runs)

    def progress(number: int, total: int, cell_id: str, line: str) -> None:
        event(kind="cell", number=number, total=total, line=line[:60], **current)

    try:
        with tempfile.TemporaryDirectory(prefix="repro-verify-task-") as scratch:
            here = dataclasses.replace(given, path=_place_notebook(given, packed, Path(scratch)))
            result = verify_notebook(
                here, options, progress=progress, on_run_start=on_run_start, pool=pool, write=False
            )
    finally:
        with _pools_lock:
            _running.get(run_id, set()).discard(pool)
    return result


def _place_notebook(given: VerifyInput, packed: bytes | None, scratch: Path) -> Path:
    """Where the notebook runs on this worker: its shipped folder, its own folder on a shared filesystem, or
    a scratch folder holding the notebook alone."""
    if packed is not None:
        folder = scratch / given.path.parent.name
        with zipfile.ZipFile(io.BytesIO(packed)) as archive:
            archive.extractall(folder)
        return folder / given.path.name
    if given.path.is_file():
        return given.path
    path = scratch / given.path.name
    nbformat.write(given.notebook, str(path))
    return path
