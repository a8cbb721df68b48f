"""The progress of the runs on stderr: a line per cell on a log, one rewritten line on a terminal."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ..report.text import printable
from ..verify.runner import NotebookRun
from ..words import counted


class ProgressLine:
    """Progress on stderr: live on a terminal, a few lines in a log.

    On a terminal, one rewritten line shows every run in progress. Elsewhere
    (a CI log, a file) a line per run is written once its notebook is done,
    with the run's time, so that a log of many notebooks stays short; with
    `verbose`, a line per cell is written as well, as the cells start.

    Runs side by side call it from their own threads: each thread's run is
    named by what `start_run` was last told in that thread.
    """

    def __init__(self, stream: TextIO, quiet: bool, verbose: bool = False) -> None:
        self.stream, self.quiet, self.verbose = stream, quiet, verbose
        self.interactive = stream.isatty()
        self._this_thread = threading.local()
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}
        self._runs_planned: dict[Path, int] = {}

    def start_run(self, notebook: Path, number: int, runs: int) -> None:
        self._this_thread.prefix = f"{notebook} run {number}/{runs}"
        with self._lock:
            self._runs_planned[notebook] = runs

    def cell(self, number: int, total: int, cell_id: str, source_line: str) -> None:
        self._show(getattr(self._this_thread, "prefix", ""), number, total, source_line)

    def cell_of(self, notebook: Path, run: int, runs: int, number: int, total: int, source_line: str) -> None:
        """A cell of a run elsewhere (a cluster's worker), named by its notebook and run."""
        self._show(f"{notebook} run {run}/{runs}", number, total, source_line)

    def _show(self, prefix: str, number: int, total: int, source_line: str) -> None:
        if self.quiet or not (self.interactive or self.verbose):
            return
        with self._lock:
            if self.interactive:
                self._running[prefix] = f"{prefix}: cell {number}/{total}"
                if len(self._running) == 1:
                    self._running[prefix] += f" {source_line[:60]}"
                self._draw()
            else:
                self.stream.write(printable(f"{prefix}: cell {number}/{total} {source_line[:60]}") + "\n")
            self.stream.flush()

    def _draw(self) -> None:
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r\033[K" + printable(" | ".join(self._running.values()))[:width])

    def finished(self, notebook: Path, runs: Sequence[NotebookRun]) -> None:
        """The notebook's runs are over: on a terminal, clear the line for its report; in a log, a line per run."""
        if self.quiet:
            return
        with self._lock:
            planned = self._runs_planned.pop(notebook, len(runs))
            if self.interactive:
                for prefix in [p for p in self._running if p.startswith(f"{notebook} run ")]:
                    del self._running[prefix]
                self.stream.write("\r\033[K")
            else:
                for number, run in enumerate(runs, start=1):
                    self.stream.write(printable(_run_line(notebook, number, planned, run)) + "\n")
            self.stream.flush()

    def redraw(self) -> None:
        if self.interactive and not self.quiet and self._running:
            with self._lock:
                self._draw()
                self.stream.flush()


def _run_line(notebook: Path, number: int, planned: int, run: NotebookRun) -> str:
    how = "failed" if run.failure is not None else "finished"
    return f"{notebook} run {number}/{planned} {how}: {counted(run.cells_run, 'cell')} in {run.seconds:.1f} s"
