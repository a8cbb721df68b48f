"""State carried from one fresh run to the next through files the notebook writes and then reads back: RM115."""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterator

from ..defuse import Facts
from ..names import keyword, method_name
from ..registry import TRAP, Finding, at, rule

#: Calls that write a file or folder, and which argument is the path (position, keyword).
_WRITERS = {
    "keras.callbacks.ModelCheckpoint": (0, "filepath"),
    "tensorflow.train.CheckpointManager": (1, "directory"),
    "numpy.save": (0, "file"),
    "numpy.savez": (0, "file"),
    "torch.save": (1, "f"),
}
_WRITING_METHODS = {"save": (0, "filepath"), "save_weights": (0, "filepath"), "to_csv": (0, "path_or_buf")}
#: Calls that list a folder or pick its newest checkpoint: what they find depends on earlier runs.
_LISTINGS = {
    "os.listdir": (0, "path"),
    "os.scandir": (0, "path"),
    "glob.glob": (0, "pathname"),
    "glob.iglob": (0, "pathname"),
    "tensorflow.train.latest_checkpoint": (0, "checkpoint_dir"),
}
_REMOVERS = {"shutil.rmtree"}
#: Writers that write nothing when made, only when training runs (`fit`) or they are asked to (`save`).
_DEFERRED_WRITERS = {"keras.callbacks.ModelCheckpoint", "tensorflow.train.CheckpointManager"}

#: Where a top-level node runs in a fresh kernel: (cell number, index of its top-level statement).
Position = tuple[int, int]
#: Checks whether a file is already there: what follows depends on an earlier run.
_EXISTENCE_CHECKS = {"os.path.exists": (0, "path"), "os.path.isfile": (0, "path"), "os.path.isdir": (0, "s")}


def _argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return keyword(call, name)


def _folder(node: ast.AST | None, constants: dict[str, str]) -> str | None:
    """The first folder of a path expression built from a literal (`"./ckpt/" + name` -> `ckpt`), else None."""
    if node is None:
        return None
    text: str | None = None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.Name):
        text = constants.get(node.id)
    elif isinstance(node, ast.BinOp):
        return _folder(node.left, constants)
    elif isinstance(node, ast.JoinedStr) and node.values:
        return _folder(node.values[0], constants)
    elif isinstance(node, ast.Call) and node.args:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in ("join", "Path", "PurePath", "str", "format", "abspath"):
            return _folder(node.args[0] if name != "format" else node.func.value, constants)  # type: ignore[attr-defined]
    if not text:
        return None
    parts = [part for part in text.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or text.startswith(("/tmp", "~")) or "*" in parts[0] or "{" in parts[0]:
        return None
    return parts[0]


def _path_text(node: ast.AST | None, constants: dict[str, str], texts: dict[str, str]) -> str | None:
    """The whole path of a literal or a name bound to one (`"model.keras"`), normalised, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.Name) and node.id in texts:
        text = texts[node.id]
    else:
        return None
    return "/".join(part for part in text.replace("\\", "/").split("/") if part not in ("", "."))


def _constants(facts: Facts) -> dict[str, str]:
    """Top-level names bound to a string literal (or a path built from one), in any cell."""
    constants: dict[str, str] = {}
    for cell in facts.notebook.cells:
        for node in facts.executed(cell):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                folder = _folder(node.value, constants)
                if folder is not None:
                    constants[node.targets[0].id] = folder
                else:
                    constants.pop(node.targets[0].id, None)
    return constants


def _string_constants(facts: Facts) -> dict[str, str]:
    """Top-level names bound to a string literal, in any cell."""
    texts: dict[str, str] = {}
    for cell in facts.notebook.cells:
        for node in facts.executed(cell):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    texts[node.targets[0].id] = node.value.value
                else:
                    texts.pop(node.targets[0].id, None)
    return texts


def _positions(facts: Facts, wanted: set[int]) -> dict[int, Position]:
    """The position of each wanted node that a fresh run executes at top level, by id (not in function bodies)."""
    positions: dict[int, Position] = {}
    for cell in facts.notebook.cells:
        if cell.tree is None:
            continue
        for index, statement in enumerate(cell.tree.body):
            for node in facts.statement_executed(statement):
                if id(node) in wanted:
                    positions[id(node)] = (cell.number, index)
    return positions


def _runs_deferred_writers(call: ast.Call) -> bool:
    """`model.fit(..., callbacks=...)` (not a scaler's `fit(x)`) or `manager.save()`."""
    method = method_name(call)
    return (method == "fit" and keyword(call, "callbacks") is not None) or method == "save"


def _first_run_after(runs: list[Position], start: Position) -> Position | None:
    """The first of `runs` at or after `start`: when a deferred writer made at `start` writes."""
    index = bisect.bisect_left(runs, start)
    return runs[index] if index < len(runs) else None


@rule("RM115", "state-carried-in-files", TRAP, "reading back files from a folder the notebook itself writes")
def state_carried_in_files(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds a notebook that writes checkpoints or other files
    into a folder with a fixed name (`ModelCheckpoint(filepath=...)`,
    `tf.train.CheckpointManager(ckpt, directory)`, `model.save`, `np.save`...)
    and also looks into that folder for what is there: `os.listdir`, `glob`,
    `os.scandir`, `tf.train.latest_checkpoint`, `manager.latest_checkpoint`; or
    that checks whether a file it saves is already there (`os.path.exists(path)`
    before `load_model(path)`, a model cached in a file). A folder the notebook
    deletes first (`shutil.rmtree`) is left alone, and so is a look that comes,
    in execution order, after top-level code of the same run has written there
    (the tutorial's "train with `ModelCheckpoint`, then load the newest
    checkpoint" finds this run's own files; a `ModelCheckpoint` writes when a
    `fit(..., callbacks=...)` at or after it runs).

    **Why is this bad?** The first fresh run finds the folder empty and starts
    from scratch; the second finds the first run's files, restores "the newest
    checkpoint", and continues from there. The promise of `repro-verify` (a fresh
    kernel, top to bottom, gives the same numbers) does not hold for a notebook
    that reads what its previous run left behind.

    ```python
    checkpoint_dir = "./ckpt"
    checkpoints = [checkpoint_dir + "/" + name for name in os.listdir(checkpoint_dir)]
    if checkpoints:
        model = keras.models.load_model(max(checkpoints, key=os.path.getctime))
    ```

    **Use instead:** write them to a folder made for this run:

    ```python
    checkpoint_dir = tempfile.mkdtemp(prefix="ckpt-")
    ```
    """
    constants = _constants(facts)
    texts = _string_constants(facts)
    files_written: dict[str, tuple[int, str]] = {}
    written: dict[str, tuple[int, str]] = {}
    removed: set[str] = set()
    managers: dict[str, str] = {}
    reads: list[tuple[int, ast.AST, str, str]] = []
    exists: list[tuple[int, ast.AST, str, str]] = []
    #: Writes seen, to be placed in execution order only if something looks into what they wrote.
    writes: list[tuple[dict[str, Position], str, ast.AST, bool]] = []
    #: Calls that make deferred writers write: `fit(..., callbacks=...)`, `manager.save()`.
    write_runs: list[ast.Call] = []
    folder_done: dict[str, Position] = {}
    file_done: dict[str, Position] = {}

    def done(table: dict[str, Position], key: str, node: ast.AST, deferred: bool) -> None:
        writes.append((table, key, node, deferred))

    for cell in facts.notebook.cells:
        for node in facts.nodes(cell):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and facts.resolve(node.value.func) == "tensorflow.train.CheckpointManager"
            ):
                folder = _folder(_argument(node.value, 1, "directory"), constants)
                for target in node.targets:
                    if isinstance(target, ast.Name) and folder is not None:
                        managers[target.id] = folder
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "latest_checkpoint"
                and isinstance(node.value, ast.Name)
                and node.value.id in managers
            ):
                reads.append((cell.number, node, managers[node.value.id], f"{node.value.id}.latest_checkpoint"))
            if not isinstance(node, ast.Call):
                continue
            if _runs_deferred_writers(node):
                write_runs.append(node)
            name = facts.resolve(node.func) or ""
            if name in _WRITERS:
                folder = _folder(_argument(node, *_WRITERS[name]), constants)
                if folder is not None:
                    written.setdefault(folder, (cell.number, name.rsplit(".", 1)[-1]))
                    done(folder_done, folder, node, name in _DEFERRED_WRITERS)
            elif method_name(node) in _WRITING_METHODS:
                path_node = _argument(node, *_WRITING_METHODS[method_name(node) or ""])
                file = _path_text(path_node, constants, texts)
                if file:
                    files_written.setdefault(file, (cell.number, str(method_name(node))))
                    done(file_done, file, node, False)
                folder = _folder(path_node, constants)
                if folder is not None and "/" in ast.unparse(node.args[0] if node.args else node):
                    written.setdefault(folder, (cell.number, str(method_name(node))))
                    done(folder_done, folder, node, False)
            elif name in _EXISTENCE_CHECKS:
                file = _path_text(_argument(node, *_EXISTENCE_CHECKS[name]), constants, texts)
                if file:
                    exists.append((cell.number, node, file, name))
            elif name in _LISTINGS:
                folder = _folder(_argument(node, *_LISTINGS[name]), constants)
                if folder is not None:
                    reads.append((cell.number, node, folder, name))
            elif name in _REMOVERS and node.args:
                folder = _folder(node.args[0], constants)
                if folder is not None:
                    removed.add(folder)
    positions: dict[int, Position] = {}
    if any(file in files_written for _, _, file, _ in exists) or any(folder in written for _, _, folder, _ in reads):
        wanted = {id(node) for node in write_runs} | {id(node) for _, _, node, _ in writes}
        wanted |= {id(node) for _, node, _, _ in [*reads, *exists]}
        positions = _positions(facts, wanted)
        runs = sorted(positions[id(node)] for node in write_runs if id(node) in positions)
        for table, key, node, deferred in writes:
            position = positions.get(id(node))
            if position is not None and deferred:
                position = _first_run_after(runs, position)
            if position is not None and (key not in table or position < table[key]):
                table[key] = position

    def seen_before(table: dict[str, Position], key: str, node: ast.AST) -> bool:
        """Whether this run wrote it before the node reads it (then what is read is this run's own)."""
        position = positions.get(id(node))
        return position is not None and key in table and table[key] < position

    for cell_number, node, file, checker in exists:
        if seen_before(file_done, file, node):
            continue
        if file in files_written and file.split("/")[0] not in removed:
            writer_cell, writer = files_written[file]
            yield at(
                facts.notebook.cells[cell_number - 1],
                node,
                "RM115",
                f"{checker}('{file}') looks for a file this notebook writes ({writer} in cell {writer_cell}): a second "
                "fresh run finds the first run's file and takes the other branch; write it to a folder made for the "
                "run (tempfile.mkdtemp()), or delete it first",
            )
    for cell_number, node, folder, reader in reads:
        if seen_before(folder_done, folder, node):
            continue
        if folder in written and folder not in removed:
            writer_cell, writer = written[folder]
            yield at(
                facts.notebook.cells[cell_number - 1],
                node,
                "RM115",
                f"{reader} reads the folder '{folder}', which this notebook writes ({writer} in cell {writer_cell}): "
                "a second fresh run finds the first run's files and starts from them; write them to a folder made "
                "for the run (tempfile.mkdtemp()), or delete the folder first",
            )
