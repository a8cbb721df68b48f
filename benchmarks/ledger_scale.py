"""4a. A ledger of many records: save, load, and compare, against plain `json` and `==` on the same data."""

from __future__ import annotations

import copy
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from repro_magics.compare import DIVERGED, IDENTICAL, compare_ledgers
from repro_magics.environment import environment_fingerprint
from repro_magics.ledger import Ledger, environment_key
from repro_magics.values import encode_array, encode_history, encode_value

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


def _cell_update(path: Path, record: dict[str, Any], environment: dict[str, Any], key: str) -> None:
    """What `%%reproducible` does with the ledger after each cell: load, add its record, save (not fsynced)."""
    Ledger.load(path).with_record(record, environment, key).save(path, durable=False)


def run_benchmark(config: Config) -> Section:
    section = Section("4a ledger scale")
    ledger = build_ledger(config.ledger_records)
    with tempfile.TemporaryDirectory(prefix="repro-bench-ledger-") as scratch:
        path, plain = Path(scratch) / "big.repro.json", Path(scratch) / "plain.json"
        cell_path = Path(scratch) / "cell.repro.json"
        ledger.save(path)
        ledger.save(cell_path)
        baseline, same, changed = Ledger.load(path), Ledger.load(path), _changed_copy(Ledger.load(path))
        verdicts = (compare_ledgers(baseline, same).verdict, compare_ledgers(baseline, changed))
        if verdicts[0] != IDENTICAL or verdicts[1].verdict != DIVERGED or len(verdicts[1].differences) != 1:
            raise RuntimeError(f"unexpected comparison results: {verdicts[0]}, {verdicts[1].differences}")
        data = ledger.to_json()
        environment = dict(environment_fingerprint())
        key = environment_key(environment)
        extra = _record(config.ledger_records + 1, random.Random(1), key)
        cases = {
            "save": lambda: ledger.save(path),
            "json.dumps + write": lambda: plain.write_text(json.dumps(data), encoding="utf-8"),
            "load": lambda: Ledger.load(path),
            "json.loads": lambda: json.loads(plain.read_text(encoding="utf-8")),
            "compare, identical": lambda: compare_ledgers(baseline, same),
            "compare, one value changed": lambda: compare_ledgers(baseline, changed),
            "== on the records": lambda: baseline.records == changed.records,
            "load, add one record, save (each cell)": lambda: _cell_update(cell_path, extra, environment, key),
        }
        samples = interleaved(cases, config.ledger_repeats)
        size = path.stat().st_size
    count = f"{config.ledger_records:,} records"
    changed_s, each_cell_s = samples["compare, one value changed"], samples["load, add one record, save (each cell)"]
    section.rows += [
        Row(f"compare {count}, identical", median(samples["compare, identical"]), "s", Goal("<", 1.0)),
        Row(f"compare {count}, one value changed", median(changed_s), "s", Goal("<", 1.0)),
        Row("compare (changed) / == on the records", ratio(changed_s, samples["== on the records"]), "x"),
        Row(f"load {count}", median(samples["load"]), "s"),
        Row("load / json.loads", ratio(samples["load"], samples["json.loads"]), "x"),
        Row(f"save {count}", median(samples["save"]), "s"),
        Row("save / json.dumps + write", ratio(samples["save"], samples["json.dumps + write"]), "x"),
        Row(f"magic's ledger update per cell at {count}", median(each_cell_s), "s"),
    ]
    section.details = {"records": config.ledger_records, "file_bytes": size, "seconds": samples}
    return section
