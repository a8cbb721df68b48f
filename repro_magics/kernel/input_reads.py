"""In the kernel: note the files a verification run reads inside the notebook's folder (for `--changed`).

A Python audit hook sees every `open` (builtins, `io`, `os.open`, and the
libraries built on them: NumPy, pandas, pickle) and every folder listing
(`os.listdir`, `os.scandir`, `glob`). Each first read, write or listing of a
path inside the folder is appended to a log the runner names in
`READS_LOG_ENV_VAR`; the runner hashes what was read once the run is over.
Reads by compiled code that bypasses Python (TensorFlow's own file readers)
are not seen; see docs/scale.md.
"""

from __future__ import annotations

import os
import sys
import threading
from types import FrameType
from typing import Any

#: Set by the runner to the log the hook appends to; without it nothing is watched.
READS_LOG_ENV_VAR = "REPRO_MAGICS_READS_LOG"

_installed = False
_inside = threading.local()


def watch_reads() -> None:
    """Install the hook once, when the runner asked for it (an audit hook cannot be removed)."""
    global _installed
    log = os.environ.get(READS_LOG_ENV_VAR)
    notebook = os.environ.get("REPRO_MAGICS_NOTEBOOK")
    if _installed or not log or not notebook:
        return
    _installed = True
    sys.addaudithook(_ReadWatcher(os.path.dirname(os.path.abspath(notebook)), log))


class _ReadWatcher:
    def __init__(self, folder: str, log: str) -> None:
        self.folder = os.path.join(folder, "")
        self.log = log
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, event: str, arguments: tuple[Any, ...]) -> None:
        if getattr(_inside, "active", False):
            return
        if event == "open":
            kind = _open_kind(arguments)
        elif event in ("os.listdir", "os.scandir", "glob.glob") and not _by_the_import_system():
            kind = "list"
        else:
            return
        if kind is None or not arguments or not isinstance(arguments[0], (str, bytes, os.PathLike)):
            return
        _inside.active = True
        try:
            path = os.path.abspath(os.fsdecode(arguments[0]))
            if kind == "list" and event == "glob.glob":
                path = os.path.dirname(path.split("*", 1)[0].split("?", 1)[0].split("[", 1)[0] + "x")
            if not (path + os.sep).startswith(self.folder) or (kind, path) in self.seen:
                return
            self.seen.add((kind, path))
            with open(self.log, "a", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(f"{kind}\t{path}\n")
        except (OSError, ValueError):
            pass
        finally:
            _inside.active = False


def _by_the_import_system() -> bool:
    """Whether Python's import machinery lists the folder, not the notebook's code.

    Importing a module lists each folder on `sys.path` (the notebook's is one),
    and `importlib.metadata` (behind many libraries' version checks) and
    `importlib.resources` list them too; a listing by them is no input.
    """
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<frozen importlib") or _IMPORT_MACHINERY in name or name.endswith(_PACKAGE_SCANNERS):
            return True
        frame = frame.f_back
    return False


_IMPORT_MACHINERY = os.path.join(os.path.dirname(os.__file__), "importlib", "")
_PACKAGE_SCANNERS = ("pkgutil.py", os.path.join("pkg_resources", "__init__.py"))


def _open_kind(arguments: tuple[Any, ...]) -> str | None:
    """ "read" or "write" for an `open` event's (path, mode, flags); None for a descriptor."""
    if len(arguments) < 3:
        return None
    mode, flags = arguments[1], arguments[2]
    if isinstance(mode, str):
        return "read" if "r" in mode else "write"
    if isinstance(flags, int):
        if flags & (os.O_TRUNC | os.O_CREAT) or flags & os.O_ACCMODE == os.O_WRONLY:
            return "write"
        return "read"
    return None
