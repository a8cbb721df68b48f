"""The progress of the runs on stderr: a line per cell on a log, one rewritten line on a terminal."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TextIO

from ..report.text import printable


class ProgressLine:
    """One line per cell on a log; on a terminal, one rewritten line showing every run in progress.

    Runs side by side call it from their own threads: each thread's run is
    named by what `start_run` was last told in that thread.
    """

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream, self.quiet = stream, quiet
        self.interactive = stream.isatty()
        self._this_thread = threading.local()
        self._lock = threading.Lock()
        self._running: dict[str, str] = {}

    def start_run(self, notebook: Path, number: int, runs: int) -> None:
        self._this_thread.prefix = f"{notebook} run {number}/{runs}"

    def cell(self, number: int, total: int, cell_id: str, source_line: str) -> None:
        if self.quiet:
            return
        prefix = getattr(self._this_thread, "prefix", "")
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

    def finished(self, notebook: Path) -> None:
        """Forget the notebook's runs; clear the line so that its report starts on a line of its own."""
        if not self.interactive or self.quiet:
            return
        with self._lock:
            for prefix in [p for p in self._running if p.startswith(f"{notebook} run ")]:
                del self._running[prefix]
            self.stream.write("\r\033[K")
            self.stream.flush()

    def redraw(self) -> None:
        if self.interactive and not self.quiet and self._running:
            with self._lock:
                self._draw()
                self.stream.flush()
