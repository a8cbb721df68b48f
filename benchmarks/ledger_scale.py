"""4a. A ledger of many records: save, load, and compare, against plain `json` and `==` on the same data."""

from __future__ import annotations

import copy
import itertools
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from repro_magics.compare.agreement import DIVERGED, IDENTICAL
from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.kernel.environment import environment_fingerprint
from repro_magics.ledger.store import Ledger, LedgerAppender, environment_key
from repro_magics.ledger.values import encode_array, encode_history, encode_value

from .config import Config
from .results import Goal, Row, Section
from .timing import interleaved, median, ratio


class _History:
    """What `encode_history` reads from a Keras `History`."""

    def __init__(self, epochs: int, metrics: dict[str, list[float]]) -> None:
        self.epoch, self.history = list(range(epochs)), metrics


def _record(number: int, generator: random.Random, environment: str) -> dict[str, Any]:
    """A realistic record: one fit of 5 epochs with 2 metrics, and two recorded values."""
    loss = [generator.uniform(0.1, 2.0) for _ in range(5)]
    accuracy = [generator.uniform(0.5, 1.0) for _ in range(5)]
    weights = np.asarray([generator.gauss(0, 1) for _ in range(8)], dtype="float32")
    return {
        "cell_id": f"cell-{number:05d}",
        "cell_number": number,
        "execution_count": number,
        "seed": number % 7,
        "source_first_line": f"%%reproducible seed={number % 7} record=test_loss,weights",
        "source_hash": f"{generator.getrandbits(64):016x}",
        "histories": [encode_history(_History(5, {"accuracy": accuracy, "loss": loss}))],
        "values": {"test_loss": encode_value(generator.uniform(0.1, 1.0)), "weights": encode_array(weights)},
        "environment": environment,
    }


def build_ledger(records: int) -> Ledger:
    environment = dict(environment_fingerprint())
    key = environment_key(environment)
    generator = random.Random(0)
    return Ledger([_record(number, generator, key) for number in range(1, records + 1)], {key: environment})


def _changed_copy(ledger: Ledger) -> Ledger:
    changed = copy.deepcopy(ledger)
    metrics = changed.records[len(changed.records) // 2]["histories"][0]["metrics"]
    metrics["loss"][4] = float(np.nextafter(metrics["loss"][4], np.inf))  # one ulp: the smallest change
    return changed


def _sweep(config: Config, folder: Path) -> dict[int, list[float]]:
    """Seconds of the magic's ledger write per cell, new cells added to ledgers of each size in the sweep."""
    environment = dict(environment_fingerprint())
    key = environment_key(environment)
    generator = random.Random(2)
    appenders = {}
    for size in config.ledger_sweep:
        path = folder / f"sweep-{size}.repro.json"
        if size:
            build_ledger(size).save(path)
        appenders[size] = LedgerAppender(path)
    added = itertools.count(10**6)

    def add(size: int) -> None:
        number = next(added)
        appenders[size].add(_record(number, generator, key), environment, key)

    cases = {str(size): (lambda size=size: add(size)) for size in config.ledger_sweep}
    samples = interleaved(cases, config.ledger_sweep_cells)
    return {int(size): seconds for size, seconds in samples.items()}


def run_benchmark(config: Config) -> Section:
    section = Section("4a ledger scale")
    ledger = build_ledger(config.ledger_records)
    with tempfile.TemporaryDirectory(prefix="repro-bench-ledger-") as scratch:
        path, plain = Path(scratch) / "big.repro.json", Path(scratch) / "plain.json"
        ledger.save(path)
        baseline, same, changed = Ledger.load(path), Ledger.load(path), _changed_copy(Ledger.load(path))
        verdicts = (compare_ledgers(baseline, same).verdict, compare_ledgers(baseline, changed))
        if verdicts[0] != IDENTICAL or verdicts[1].verdict != DIVERGED or len(verdicts[1].differences) != 1:
            raise RuntimeError(f"unexpected comparison results: {verdicts[0]}, {verdicts[1].differences}")
        data = ledger.to_json()
        cases = {
            "save": lambda: ledger.save(path),
            "json.dumps + write": lambda: plain.write_text(json.dumps(data), encoding="utf-8"),
            "load": lambda: Ledger.load(path),
            "json.loads": lambda: json.loads(plain.read_text(encoding="utf-8")),
            "compare, identical": lambda: compare_ledgers(baseline, same),
            "compare, one value changed": lambda: compare_ledgers(baseline, changed),
            "== on the records": lambda: baseline.records == changed.records,
        }
        samples = interleaved(cases, config.ledger_repeats)
        size = path.stat().st_size
        sweep = _sweep(config, Path(scratch))
    count = f"{config.ledger_records:,} records"
    changed_s = samples["compare, one value changed"]
    section.rows += [
        Row(f"compare {count}, identical", median(samples["compare, identical"]), "s", Goal("<", 1.0)),
        Row(f"compare {count}, one value changed", median(changed_s), "s", Goal("<", 1.0)),
        Row("compare (changed) / == on the records", ratio(changed_s, samples["== on the records"]), "x"),
        Row(f"load {count}", median(samples["load"]), "s"),
        Row("load / json.loads", ratio(samples["load"], samples["json.loads"]), "x"),
        Row(f"save {count}", median(samples["save"]), "s"),
        Row("save / json.dumps + write", ratio(samples["save"], samples["json.dumps + write"]), "x"),
    ]
    empty = sweep[config.ledger_sweep[0]]
    for records, seconds in sweep.items():
        section.rows.append(Row(f"magic's ledger write per cell at {records:,} records", 1e3 * median(seconds), "ms"))
    for records, seconds in list(sweep.items())[1:]:
        section.rows.append(
            Row(f"ledger write at {records:,} / at {config.ledger_sweep[0]:,} records", ratio(seconds, empty), "x")
        )
    section.details = {
        "records": config.ledger_records,
        "file_bytes": size,
        "seconds": samples,
        "sweep_seconds_per_cell": sweep,
    }
    return section
