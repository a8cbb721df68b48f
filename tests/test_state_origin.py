"""The origin of a divergence from two runs' per-cell state fingerprints (no kernel)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from repro_magics.lint import Finding
from repro_magics.notebooks import CodeCell
from repro_magics.verify.state_origin import CellState, find_origin, quoted_finding, rank_by_origin, read_states

CELLS = [
    CodeCell(1, "a", "import numpy as np", "import numpy as np"),
    CodeCell(2, "b", "start = time.time()", "start = time.time()"),
    CodeCell(3, "c", "idx = np.random.permutation(3601)", "idx = np.random.permutation(3601)"),
    CodeCell(4, "d", "%%reproducible seed=1", "%%reproducible seed=1\nx = idx.sum()"),
]
NUMPY = "NumPy's global generator"


def state(cell_id: str, generator: str = "g0", **names: tuple[str, str | None]) -> CellState:
    return CellState(cell_id, dict(names), {NUMPY: ("NumPy RandomState", generator)})


def test_when_a_plain_cell_draws_an_array_differently_then_it_is_the_origin_with_its_name_and_kind() -> None:
    first = [state("a", "g0"), state("b", "g0"), state("c", "g1", idx=("int64 array, 3601 elements", "1"))]
    second = [state("a", "g0"), state("b", "g0"), state("c", "g2", idx=("int64 array, 3601 elements", "2"))]
    origin = find_origin(first, second, CELLS)
    assert origin is not None
    assert origin.line() == (
        "origin: the runs first differ after cell 3 (not recorded): 'idx' (int64 array, 3601 elements), " + NUMPY
    )


def test_when_generators_differ_from_the_start_then_they_part_nothing_until_seeded_alike() -> None:
    unseeded = [state("a", "x1"), state("b", "x2")]
    other = [state("a", "y1"), state("b", "y2")]
    assert find_origin(unseeded, other, CELLS) is None
    first = [state("a", "x1"), state("b", "s"), state("c", "s1")]
    second = [state("a", "y1"), state("b", "s"), state("c", "s2")]
    origin = find_origin(first, second, CELLS)
    assert origin is not None and (origin.cell_number, origin.names, origin.generators) == (3, (), (NUMPY,))


def test_when_only_a_clock_reading_differs_earlier_then_it_is_set_aside() -> None:
    first = [state("a"), state("b", start=("float", "1")), state("c", start=("float", "1"), idx=("i", "1"))]
    second = [state("a"), state("b", start=("float", "2")), state("c", start=("float", "2"), idx=("i", "2"))]
    origin = find_origin(first, second, CELLS)
    assert origin is not None
    assert (origin.cell_number, origin.names, origin.clock_names) == (3, (("idx", "i"),), ("start",))


def test_when_the_states_never_differ_then_there_is_no_origin() -> None:
    same = [state("a", x=("int", "1")), state("b", ds=("tf.data.Dataset (never iterated here)", None))]
    assert find_origin(same, list(same), CELLS) is None


def test_when_objects_that_cannot_be_fingerprinted_are_on_both_sides_then_they_part_nothing() -> None:
    first = [state("a", ds=("tf.data.Dataset", None))]
    second = [state("a", ds=("tf.data.Dataset", None))]
    assert find_origin(first, second, CELLS) is None


def test_when_a_name_exists_in_one_run_only_then_it_differs() -> None:
    origin = find_origin([state("a", only=("int", "1"))], [state("a")], CELLS)
    assert origin is not None and origin.names == (("only", "int"),)


def test_when_the_origin_is_a_reproducible_cell_then_it_says_recorded() -> None:
    first = [state("a"), state("d", x=("int", "1"))]
    second = [state("a"), state("d", x=("int", "2"))]
    origin = find_origin(first, second, CELLS)
    assert origin is not None and "after cell 4 (recorded)" in origin.line()


def test_when_the_runs_ran_other_cells_or_another_source_then_no_origin_is_claimed() -> None:
    assert find_origin([state("a", x=("int", "1"))], [state("b", x=("int", "2"))], CELLS) is None
    edited = CellState("a", {"x": ("int", "2")}, {}, source="new")
    assert find_origin([CellState("a", {"x": ("int", "1")}, {}, source="old")], [edited], CELLS) is None


def test_when_a_kernel_died_mid_line_then_the_states_read_stop_before_it(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    path.write_text(json.dumps(state("a", x=("int", "1")).to_json()) + "\n" + '{"cell_id": "b", "na')
    assert read_states(path) == [state("a", x=("int", "1"))]
    assert read_states(tmp_path / "missing.jsonl") == []


@dataclass(frozen=True)
class Cause:
    finding: Finding
    made_here: tuple[str, ...] = ()


def test_when_causes_are_ranked_by_the_origin_then_its_own_come_first_then_the_nearest_earlier_then_later() -> None:
    causes = [Cause(Finding(cell, 1, 1, "RM101", f"m{cell}")) for cell in (11, 2, 8, 5)]
    assert [cause.finding.cell for cause in rank_by_origin(causes, 8)] == [8, 5, 2, 11]
    assert rank_by_origin(causes, None) == causes


def test_when_the_origin_cell_has_a_finding_then_it_is_quoted_else_the_helper_that_made_what_it_uses() -> None:
    own = Cause(Finding(8, 1, 1, "RM101", "np.random.permutation draws from NumPy's global generator"))
    helper = Cause(Finding(3, 2, 5, "RM101", "np.random.rand draws from NumPy's global generator"), ("make_data",))
    assert (
        quoted_finding([helper, own], 8) == "cell 8, line 1: np.random.permutation draws from NumPy's global generator"
    )
    assert quoted_finding([helper], 8) == (
        "cell 3, line 2 (it made 'make_data', which cell 8 uses): np.random.rand draws from NumPy's global generator"
    )
    assert quoted_finding([], 8) is None


def test_when_runs_differ_but_no_fingerprint_shows_it_then_the_line_says_so_and_names_what_was_not_fingerprinted(
    tmp_path: Path,
) -> None:
    from repro_magics.verify.divergence_origin import where_runs_part

    dataset = ("tf.data.Dataset (never iterated here)", None)
    states = [state("a", x=("int", "1")), state("b", x=("int", "1"), ds=dataset)]
    parted = where_runs_part(tmp_path / "nb.ipynb", CELLS, states, list(states), [], 2)
    assert parted.origin is None
    assert parted.lines() == [
        "origin: not found: the fingerprinted state agrees after each of 2 cells; "
        "not fingerprinted: 'ds' (tf.data.Dataset (never iterated here))"
    ]
    assert parted.to_json()["not_fingerprinted"] == [{"name": "ds", "kind": dataset[0]}]
    assert where_runs_part(tmp_path / "nb.ipynb", CELLS, [], [], [], 2).lines() == []
