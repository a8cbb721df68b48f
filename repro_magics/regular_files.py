"""Reading a file the user named only when it is a regular file: a FIFO or a device would block, or never end."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .exceptions import NotRegularFile


def read_regular_text(path: Path) -> str:
    """The text (UTF-8) of `path`, or `NotRegularFile` when it is not a regular file.

    Opened without blocking, then checked on the open file, so that a FIFO is
    refused at once and a file swapped in between the check and the read is
    still the one checked. Raises `OSError` and `UnicodeDecodeError` as `open()` does.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(descriptor, True)
        handle = os.fdopen(descriptor, "r", encoding="utf-8")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        return handle.read()
