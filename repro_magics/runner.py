"""Run a notebook top to bottom in a fresh kernel and collect what its cells recorded."""

from __future__ import annotations

import atexit
import copy
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import default

from .kernelspec import KERNEL_NAME, START_ENVIRONMENT, kernel_spec_dict
from .ledger import Ledger, LedgerError
from .notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR, first_line

#: Called before each code cell runs: (cell number from 1, code cells in all, cell id, first line).
Progress = Callable[[int, int, str, str], None]
#: Called once the fresh kernel is up, with its process id (for a caller that may need to stop it).
KernelStarted = Callable[[int], None]


class NotebookError(Exception):
    """A notebook file that cannot be read as a notebook; the message is one sentence."""


class KernelNotFound(Exception):
    """`--kernel NAME` names no installed kernel."""


@dataclass(frozen=True)
class RunFailure:
    """Why a run stopped: which cell, and what happened, in a line or two."""

    cell_number: int | None
    cell_id: str | None
    source_first_line: str
    summary: str


@dataclass
class NotebookRun:
    """What one fresh-kernel run of a notebook produced."""

    notebook: Path
    records: Ledger
    failure: RunFailure | None
    seconds: float
    cells_run: int


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


def read_notebook(path: Path) -> Any:
    """Read a notebook, or raise `NotebookError` saying why it isn't one."""
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise NotebookError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise NotebookError(f"{path} is a folder, not a notebook") from None
    except (OSError, UnicodeDecodeError) as error:
        raise NotebookError(f"{path} cannot be read: {error}") from None
    except Exception:  # nbformat raises several unrelated types for non-notebooks
        raise NotebookError(f"{path} is not a Jupyter notebook (.ipynb JSON)") from None
    if not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path} is not a Jupyter notebook (.ipynb JSON)")
    # Notebooks older than format 4.5 have no cell ids; give them stable ones
    # here (the file on disk is never written).
    for index, cell in enumerate(notebook.cells):
        cell.setdefault("id", f"cell-{index}")
    return notebook


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
) -> NotebookRun:
    """Execute a copy of the notebook in a fresh kernel and return its records.

    The kernel starts with `PYTHONHASHSEED` fixed and the extension loaded,
    and is told the id of each cell it runs, as JupyterLab does. The notebook
    file is never written. Failures come back in `NotebookRun.failure`.
    """
    path = Path(path).resolve()
    working_copy = copy.deepcopy(notebook if notebook is not None else read_notebook(path))
    code_cells = _code_cells(working_copy)
    numbers = {id(cell): number for number, cell in enumerate(code_cells, start=1)}
    current: dict[str, Any] = {}

    with tempfile.TemporaryDirectory(prefix="repro-verify-") as scratch:
        ledger_path = Path(scratch) / "records.repro.json"
        client = NotebookClient(
            working_copy,
            kernel_name=kernel_name or KERNEL_NAME,
            kernel_manager_class=_KernelManager,
            timeout=timeout if timeout else None,
            extra_arguments=[] if kernel_name is None else ["--ext=repro_magics"],
            resources={"metadata": {"path": str(path.parent)}},
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
        environment = {
            **os.environ,
            **START_ENVIRONMENT,
            LEDGER_ENV_VAR: str(ledger_path),
            NOTEBOOK_ENV_VAR: str(path),
        }
        kernel_log_path = Path(scratch) / "kernel.log"
        started = time.perf_counter()
        failure = None
        # The kernel's own chatter (TensorFlow's start-up lines, ipykernel's
        # warnings) goes to a log; its last line explains a kernel that died.
        with kernel_log_path.open("wb") as kernel_log:
            try:
                client.execute(env=environment, stdout=kernel_log, stderr=kernel_log)
            except NoSuchKernel:
                raise KernelNotFound(f"no Jupyter kernel named {kernel_name!r} is installed") from None
            except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError) as error:
                failure = _describe_failure(
                    error, current.get("cell"), numbers, timeout, _last_error_line(kernel_log_path)
                )
            except OSError as error:
                failure = RunFailure(None, None, "", f"the kernel could not start: {error.strerror or error}")
            finally:
                # nbclient leaves its clean-up registered when the kernel fails
                # to start, and it then fails at interpreter exit.
                atexit.unregister(client._cleanup_kernel)
        seconds = time.perf_counter() - started
        try:
            records = Ledger.load(ledger_path) if ledger_path.exists() else Ledger()
        except LedgerError as error:
            records = Ledger()
            failure = failure or RunFailure(None, None, "", f"the kernel left unreadable records: {error}")
    cells_run = numbers.get(id(current.get("cell")), 0)
    return NotebookRun(path, records, failure, seconds, cells_run)


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
