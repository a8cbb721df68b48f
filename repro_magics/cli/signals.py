"""SIGINT and SIGTERM stop the run (its kernels with it); bad usage is one line and exit status 2."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

from ..exceptions import UsageFailure
from ..report.text import printable
from ..verify.verification import EXIT_USAGE

EXIT_INTERRUPTED = 128 + signal.SIGINT


EXIT_TERMINATED = 128 + signal.SIGTERM


class _Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM. A KeyboardInterrupt, which asyncio passes straight out of nbclient's loop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_stop_the_run() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into `_Stopped`; the runner stops the kernel as it passes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if stopping:  # a second signal while the kernel is being stopped
            return
        stopping.append(signum)
        raise _Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def guarded(prog: str, err: TextIO, command: Callable[[], int]) -> int:
    """Run a command; bad usage becomes one line and exit status 2, SIGINT 130, SIGTERM 143."""
    try:
        with _signals_stop_the_run():
            return command()
    except UsageFailure as error:
        err.write(printable(f"{prog}: error: {error}") + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt as error:
        terminated = getattr(error, "signum", signal.SIGINT) == signal.SIGTERM
        word = "terminated" if terminated else "interrupted"
        err.write(f"{prog}: {word}; the notebooks in progress, if any, were left as they were\n")
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
