"""Which files a request may touch: each one, symbolic links followed, inside the server's root.

Through the server a notebook's ledger, journal and lock are read and written
only where they resolve inside the root, and only when they are regular files
(a FIFO would block the server's event loop). The command line has no root and
writes through a symbolically linked ledger on purpose; this is the server's rule.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..ledger.journal import journal_path_for, lock_path_for
from ..ledger.store import ledger_path_for


class Refused(Exception):
    """A request the server answers with a 4xx status and one sentence that quotes no file."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: Longer names and values are cut in messages: a sentence, not a copy of the request.
_SHOWN_CHARACTERS = 40


def shown(text: str) -> str:
    """`text` as a message shows it: printable, and cut after 40 characters when it is much longer."""
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= _SHOWN_CHARACTERS + 20 else text[:_SHOWN_CHARACTERS] + "…"


def root_relative(root: Path, path: Path) -> str:
    """`path` (resolved, inside the root) as the file browser names it: relative to the root, with `/`."""
    return Path(os.path.relpath(path, _real_root(root))).as_posix()


def resolved_notebook(root: Path, name: str) -> Path:
    """The file `name` names, relative to the root, with every symbolic link followed.

    Looks only at the name and the links: `Refused` (400) for a name no file
    can have or that is not `.ipynb`, (403) for one that leads outside the root.
    """
    if not name:
        raise Refused(400, "the path is empty; name a notebook, such as folder/notebook.ipynb")
    if "\x00" in name or not _encodable(name):
        raise Refused(400, "the path holds a character that no file name can hold")
    real = Path(os.path.realpath(Path(root) / name))
    if not real.is_relative_to(_real_root(root)):
        raise Refused(
            403, f"{shown(name)} is outside the server's root directory; only notebooks inside it are verified"
        )
    if real.suffix != ".ipynb":
        raise Refused(400, f"{shown(name)} is not a notebook (.ipynb)")
    return real


def checked_notebook(root: Path, name: str) -> Path:
    """The notebook's file, once it and each file beside it that verifying reads or writes passed.

    The notebook must be a regular file; its ledger, the ledger's journal and
    lock must resolve inside the root and be regular files or not exist yet.
    Raises `Refused` saying which file is wrong and how.
    """
    notebook = resolved_notebook(root, name)
    status = _status(notebook, shown(name), loop_status=404)
    if status is None:
        raise Refused(404, f"{shown(name)} does not exist")
    if stat.S_ISDIR(status.st_mode):
        raise Refused(400, f"{shown(name)} is a folder, not a notebook")
    if not stat.S_ISREG(status.st_mode):
        raise Refused(400, f"{shown(name)} is not a regular file")
    check_ledger_files(root, notebook, name)
    return notebook


def check_ledger_files(root: Path, notebook: Path, name: str) -> None:
    """Raise `Refused` unless the ledger, journal and lock of `notebook` (resolved) resolve inside the root and
    are regular files or do not exist yet.

    A job calls it again just before it writes: a verification takes
    minutes, in which a file beside the notebook can become a link.
    """
    real_root = _real_root(root)
    ledger = ledger_path_for(notebook)
    for kind, path in (("ledger", ledger), ("journal", journal_path_for(ledger)), ("lock", lock_path_for(ledger))):
        described = f"the {kind} {shown(os.path.relpath(path, real_root))} of {shown(name)}"
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(real_root):
            raise Refused(
                403,
                f"{described} links to a file outside the server's root directory; "
                "the server reads and writes only files inside it",
            )
        status = _status(real, described, loop_status=400)
        if status is not None and not stat.S_ISREG(status.st_mode):
            raise Refused(400, f"{described} is not a regular file")


def _real_root(root: Path) -> Path:
    return Path(os.path.realpath(root))


def _encodable(name: str) -> bool:
    try:
        os.fsencode(name)
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
        return False
    return True


def _status(path: Path, described: str, *, loop_status: int) -> os.stat_result | None:
    """`os.stat` through links; None for a file that does not exist, `Refused` for one that can't be looked at."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise Refused(loop_status, f"{described} is a symbolic link that leads round in a loop") from None
        if error.errno == errno.ENAMETOOLONG:
            raise Refused(400, f"{described} is too long for a file name on this server") from None
        if error.errno in (errno.EACCES, errno.EPERM):
            raise Refused(403, f"{described} may not be read by the server") from None
        raise Refused(400, f"{described} cannot be read: {error.strerror}") from None
