"""The notebook's folder before and after each fresh run, and the files one run leaves for the next.

A run that writes `ckpt/` and a later run that restores from it are not two
runs of the same notebook: the second started from the first's results. The
snapshots say which files a run created or changed; a source scan of the
cells says which cells name them.
"""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import xxhash

#: Files up to this size are hashed; larger ones are compared by size and modification time.
HASHED_UP_TO = 1 << 20
#: At most this many bytes are hashed per snapshot; past it, files are compared by size and time alone.
HASHED_IN_ALL = 256 << 20
#: A folder with more files than this is snapshot in part (the first ones in sorted order).
MAX_FILES = 20_000

# Tools' folders, and the ledger's own files, which verification never writes there.
_SKIPPED_FOLDERS = frozenset({".git", "__pycache__", ".ipynb_checkpoints", ".virtual_documents", ".mypy_cache"})
_SKIPPED_SUFFIXES = (".repro.json", ".repro.journal.jsonl", ".repro.lock")


@dataclass(frozen=True)
class FileState:
    size: int
    modified_ns: int
    #: xxh3-64 of the contents, for files up to `HASHED_UP_TO` bytes.
    digest: str | None


@dataclass(frozen=True)
class FolderSnapshot:
    """The files under a folder, by path relative to it (with `/`), and whether there were more than were looked at."""

    files: Mapping[str, FileState]
    partial: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "files": {path: [state.size, state.modified_ns, state.digest] for path, state in self.files.items()},
            "partial": self.partial,
        }


def file_hash(path: Path) -> str | None:
    """xxh3-128 of a file's bytes; None when it cannot be read. `--changed` keeps these in the ledger."""
    hasher = xxhash.xxh3_128()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
    except OSError:
        return None
    return hasher.hexdigest()


def snapshot_folder(folder: Path, *, max_files: int = MAX_FILES) -> FolderSnapshot:
    """Names, sizes, modification times and (for small files) content hashes of the files under `folder`.

    Symbolic links are not followed: what they point to is not the notebook's folder.
    """
    files: dict[str, FileState] = {}
    partial = False
    hash_budget = HASHED_IN_ALL
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in _SKIPPED_FOLDERS)
        for name in sorted(names):
            if name.endswith(_SKIPPED_SUFFIXES):
                continue
            if len(files) >= max_files:
                partial = True
                break
            path = Path(root) / name
            try:
                status = path.lstat()
            except OSError:
                continue
            if not path.is_file() or path.is_symlink():
                continue
            digest = None
            if status.st_size <= min(HASHED_UP_TO, hash_budget):
                digest = file_hash(path)
                hash_budget -= status.st_size
            relative = path.relative_to(folder).as_posix()
            files[relative] = FileState(status.st_size, status.st_mtime_ns, digest)
        if partial:
            break
    return FolderSnapshot(files, partial)


def isolated_copy(notebook: Path, scratch: Path) -> Path:
    """A copy of the notebook's folder in `scratch` (links copied as links); the notebook's path in the copy."""
    copy_root = scratch / "folder"

    def skipped(folder: str, names: list[str]) -> set[str]:
        # The scratch folder itself, when the notebook sits in the temporary folder's root.
        return {name for name in names if (Path(folder) / name).absolute() == scratch} | {".git", ".ipynb_checkpoints"}

    shutil.copytree(notebook.parent, copy_root, symlinks=True, ignore=skipped)
    return copy_root / notebook.name


def files_written(before: FolderSnapshot, after: FolderSnapshot) -> list[str]:
    """Files that are new in `after` or whose size, time or contents changed since `before`."""
    return sorted(path for path, state in after.files.items() if before.files.get(path) != state)


@dataclass(frozen=True)
class CarriedFiles:
    """Files that run `run` found when it started, as run `from_run` had left them after writing them."""

    run: int
    from_run: int
    files: tuple[str, ...]

    def places(self) -> list[str]:
        """Where the files are: their top folders (`ckpt/`), or the file itself when it sits beside the notebook."""
        found: list[str] = []
        for path in self.files:
            parts = PurePosixPath(path).parts
            place = parts[0] + "/" if len(parts) > 1 else parts[0]
            if place not in found:
                found.append(place)
        return found


def carried_over(snapshots: Sequence[tuple[FolderSnapshot, FolderSnapshot]]) -> list[CarriedFiles]:
    """For each run after the first, the files it started with that an earlier run wrote (the latest writer).

    `snapshots[i]` is (before, after) of run i + 1, runs in the order they started.
    """
    carried = []
    for index in range(1, len(snapshots)):
        started_with = snapshots[index][0]
        by_run: dict[int, list[str]] = {}
        for path, state in started_with.files.items():
            for earlier in range(index - 1, -1, -1):
                before, after = snapshots[earlier]
                if path in files_written(before, after) and after.files.get(path) == state:
                    by_run.setdefault(earlier + 1, []).append(path)
                    break
        carried += [CarriedFiles(index + 1, run, tuple(sorted(paths))) for run, paths in sorted(by_run.items())]
    return carried


def _string_constants(source: str) -> list[str]:
    """A cell's string literals (f-string parts, a cell magic's body included); none if it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    if source.lstrip().startswith("%%"):
        return _string_constants(source.lstrip().partition("\n")[2])
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return []
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _normal(text: str) -> str:
    text = text.strip().replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text.rstrip("/")


def mentions(source: str, place: str) -> bool:
    """Whether a cell's string literals name `place` (`ckpt/` or `data.npy`), or a file under it."""
    wanted = _normal(place)
    return any(text == wanted or text.startswith(wanted + "/") for text in map(_normal, _string_constants(source)))


def cells_naming(cells: Iterable[tuple[int, str]], place: str) -> list[int]:
    """The numbers of the cells, given as (number, source), whose string literals name `place`."""
    return [number for number, source in cells if mentions(source, place)]


def carried_files_line(carried: CarriedFiles, cells: Sequence[tuple[int, str]], before_cell: int | None = None) -> str:
    """`run 2 started with 3 files run 1 wrote in ckpt/; cell 15 uses ckpt/`.

    Of the cells that name a place, the last one at or before `before_cell`
    (where the runs part) is named, else the first.
    """
    count = len(carried.files)
    places = carried.places()
    where = ", ".join(places)
    text = f"run {carried.run} started with {count} file{'s' if count != 1 else ''} run {carried.from_run} wrote"
    text += f" in {where}" if all(place.endswith("/") for place in places) else f": {where}"
    for place in places:
        naming = cells_naming(cells, place)
        if not naming:
            continue
        earlier = [number for number in naming if before_cell is None or number <= before_cell]
        cell = earlier[-1] if earlier else naming[0]
        return f"{text}; cell {cell} uses {place}"
    return text
