"""Snapshots of a notebook's folder, and the files one fresh run leaves for the next."""

from __future__ import annotations

import os
from pathlib import Path

from repro_magics.verify.folder_snapshot import (
    CarriedFiles,
    carried_files_line,
    carried_over,
    cells_naming,
    files_written,
    snapshot_folder,
)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_when_a_run_creates_and_changes_files_then_exactly_those_are_written(tmp_path: Path) -> None:
    write(tmp_path / "data.csv", "a")
    write(tmp_path / "kept.txt", "same")
    write(tmp_path / "analysis.repro.json", "{}")
    write(tmp_path / ".ipynb_checkpoints" / "x.ipynb", "{}")
    before = snapshot_folder(tmp_path)
    assert sorted(before.files) == ["data.csv", "kept.txt"]
    write(tmp_path / "data.csv", "b")
    os.utime(tmp_path / "data.csv", ns=(1, before.files["data.csv"].modified_ns))  # same time, new contents
    write(tmp_path / "ckpt" / "weights.h5", "w")
    after = snapshot_folder(tmp_path)
    assert files_written(before, after) == ["ckpt/weights.h5", "data.csv"]


def test_when_a_folder_has_more_files_than_the_bound_then_the_snapshot_says_it_is_partial(tmp_path: Path) -> None:
    for index in range(5):
        write(tmp_path / f"f{index}", "x")
    snapshot = snapshot_folder(tmp_path, max_files=3)
    assert (len(snapshot.files), snapshot.partial) == (3, True)
    assert snapshot_folder(tmp_path).partial is False


def test_when_a_symlink_points_outside_then_it_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret", "s")
    folder = tmp_path / "notebook"
    folder.mkdir()
    (folder / "link").symlink_to(outside / "secret")
    (folder / "linked-folder").symlink_to(outside)
    assert dict(snapshot_folder(folder).files) == {}


def test_when_run_2_restores_the_checkpoint_run_1_wrote_then_the_files_are_carried_from_run_1(tmp_path: Path) -> None:
    start = snapshot_folder(tmp_path)
    for name in ("a.index", "a.data", "checkpoint"):
        write(tmp_path / "ckpt" / name, "1")
    after_first = snapshot_folder(tmp_path)
    write(tmp_path / "ckpt" / "a.data", "22")
    after_second = snapshot_folder(tmp_path)
    carried = carried_over([(start, after_first), (after_first, after_second)])
    assert carried == [CarriedFiles(2, 1, ("ckpt/a.data", "ckpt/a.index", "ckpt/checkpoint"))]


def test_when_runs_write_nothing_then_nothing_is_carried(tmp_path: Path) -> None:
    write(tmp_path / "input.csv", "1")
    first = snapshot_folder(tmp_path)
    assert carried_over([(first, first), (first, first), (first, first)]) == []


def test_when_a_third_run_starts_then_files_come_from_their_latest_writer(tmp_path: Path) -> None:
    start = snapshot_folder(tmp_path)
    write(tmp_path / "log.txt", "1")
    write(tmp_path / "ckpt" / "w", "1")
    after_1 = snapshot_folder(tmp_path)
    write(tmp_path / "log.txt", "12")
    after_2 = snapshot_folder(tmp_path)
    carried = carried_over([(start, after_1), (after_1, after_2), (after_2, after_2)])
    assert carried == [
        CarriedFiles(2, 1, ("ckpt/w", "log.txt")),
        CarriedFiles(3, 1, ("ckpt/w",)),
        CarriedFiles(3, 2, ("log.txt",)),
    ]


def test_when_cells_name_a_folder_in_strings_then_the_scan_finds_them_and_not_other_words() -> None:
    cells = [
        (1, "import os\nCKPT = './ckpt/'"),
        (2, "model.load_weights(os.path.join('ckpt', 'a.weights.h5'))"),
        (3, "print('ckpts are elsewhere')  # ckpt"),
        (4, "%%reproducible\nmodel.save(f'ckpt/{name}.keras')"),
        (5, "x = ("),
    ]
    assert cells_naming(cells, "ckpt/") == [1, 2, 4]


def test_when_run_2_started_with_checkpoint_files_then_the_line_names_the_folder_and_the_cell_at_the_origin() -> None:
    carried = CarriedFiles(2, 1, ("ckpt/a.data", "ckpt/a.index", "ckpt/checkpoint"))
    cells = [(3, "restore('ckpt')"), (15, "save('ckpt/a')")]
    line = carried_files_line(carried, cells, before_cell=8)
    assert line == "run 2 started with 3 files run 1 wrote in ckpt/; cell 3 uses ckpt/"
    assert carried_files_line(carried, cells[1:], before_cell=8).endswith("; cell 15 uses ckpt/")
    single = CarriedFiles(3, 2, ("cache.npy",))
    assert carried_files_line(single, []) == "run 3 started with 1 file run 2 wrote: cache.npy"
