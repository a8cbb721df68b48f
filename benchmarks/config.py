"""Sizes and repetition counts for a full run and for `--smoke`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    smoke: bool
    #: Trivial cells timed per variant (magic, hand-written reset, none), interleaved.
    magic_cells: int
    #: Cells profiled to see where the magic's time goes.
    magic_profiled_cells: int
    #: Rounds of (repro-verify, jupyter execute, nbconvert), each command once a round.
    verify_rounds: int
    #: Untimed runs of each command before the timed rounds.
    verify_warmups: int
    #: Runs of each of the four training combinations, interleaved.
    training_repeats: int
    #: Timed epochs per run, after one untimed epoch that traces the graphs.
    training_epochs: int
    #: How many copies of the 1,797 digits make one epoch.
    training_copies: int
    ledger_records: int
    ledger_repeats: int
    #: Ledger sizes (records) at which the magic's per-cell write is timed; the first is the reference.
    ledger_sweep: tuple[int, ...]
    #: Cells added to each ledger of the sweep, interleaved.
    ledger_sweep_cells: int
    #: Width of each of the square Dense layers of the fingerprinted model.
    model_width: int
    model_layers: int
    fingerprint_repeats: int
    #: Trials of two processes writing one ledger at once, and cells each process runs a trial.
    writer_trials: int
    writer_cells: int
    #: The HTML report: notebooks, recorded cells in each, and timed pages.
    html_notebooks: int
    html_cells: int
    html_repeats: int
    #: Rounds of the team-scale commands (first verification vs jupyter execute; -j 2 vs -j 1), interleaved.
    team_rounds: int
    #: Rounds of the cluster-scale commands (--executor dask:// vs -j 2; --changed vs a full run), interleaved.
    cluster_rounds: int


FULL = Config(
    smoke=False,
    magic_cells=300,
    magic_profiled_cells=200,
    verify_rounds=9,
    verify_warmups=1,
    training_repeats=9,
    training_epochs=2,
    training_copies=2,
    ledger_records=10_000,
    ledger_repeats=5,
    ledger_sweep=(0, 1_000, 10_000, 50_000),
    ledger_sweep_cells=200,
    model_width=5000,  # 4 x (5000 x 5000 + 5000) = 100.02M parameters, 400 MB float32
    model_layers=4,
    fingerprint_repeats=5,
    writer_trials=20,
    writer_cells=40,
    html_notebooks=100,
    html_cells=50,
    html_repeats=5,
    team_rounds=3,
    cluster_rounds=3,
)

SMOKE = Config(
    smoke=True,
    magic_cells=20,
    magic_profiled_cells=20,
    verify_rounds=1,
    verify_warmups=0,
    training_repeats=1,
    training_epochs=1,
    training_copies=1,
    ledger_records=1_000,
    ledger_repeats=1,
    ledger_sweep=(0, 1_000),
    ledger_sweep_cells=20,
    model_width=500,  # 4 x (500 x 500 + 500) = 1.0M parameters
    model_layers=4,
    fingerprint_repeats=1,
    writer_trials=1,
    writer_cells=10,
    html_notebooks=10,
    html_cells=50,
    html_repeats=1,
    team_rounds=1,
    cluster_rounds=1,
)
