"""Stopping a run's kernel and closing its event loop, after an interruption or at the end of a run."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from nbclient import NotebookClient


def kill_kernel_process(client: NotebookClient) -> None:
    kernel = getattr(getattr(client.km, "provisioner", None), "process", None)
    if kernel is not None and kernel.poll() is None:
        kernel.kill()
        kernel.wait()


def stop_kernel(client: NotebookClient, loop: asyncio.AbstractEventLoop, patience: float = 10.0) -> None:
    """Kill the kernel of an interrupted run, then clean up after it: channels, connection file.

    Killed first: a task waiting for a kernel that is still starting would
    otherwise wait out its time limit. The clean-up runs in a thread, given
    `patience` seconds: closing zmq channels of a half-started client can
    block for good, and with the kernel dead it must not hold the program.
    """
    kill_kernel_process(client)
    client.shutdown_kernel = "immediate"
    cleaner = threading.Thread(target=_clean_up, args=(client, loop), name="repro-verify clean-up", daemon=True)
    cleaner.start()
    cleaner.join(patience)


def _clean_up(client: NotebookClient, loop: asyncio.AbstractEventLoop) -> None:
    with contextlib.suppress(Exception):
        _cancel_tasks(loop)
        if client.km is not None:
            # Interrupted before nbclient's own clean-up took charge, while
            # the kernel started.
            loop.run_until_complete(client._async_cleanup_kernel())
        close_loop(loop)


def _cancel_tasks(loop: asyncio.AbstractEventLoop, patience: float = 10.0) -> None:
    """Cancel what is left on the loop and give it `patience` seconds to clean up."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=patience))
    for task in pending:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: what it raised while cancelled is no news


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    if loop.is_closed() or loop.is_running():  # running: an interrupted run's clean-up still has it
        return
    _cancel_tasks(loop)
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
