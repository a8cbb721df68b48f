"""`python -m benchmarks [--smoke] [--json PATH] [--only NAME ...]`: run, print the table, write JSON."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from . import (
    cluster_scale,
    concurrent_writers,
    determinism_cost,
    epoch_fingerprints,
    fingerprint_speed,
    html_report_speed,
    ledger_scale,
    machine,
    magic_overhead,
    state_cost,
    team_scale,
    verify_overhead,
)
from .config import FULL, SMOKE, Config
from .results import Section, format_table, write_json

DEFAULT_JSON = Path(__file__).parent / "results" / "latest.json"

#: In the order they run: the ones without TensorFlow first, the subprocess ones last.
BENCHMARKS: dict[str, Callable[[Config], Section]] = {
    "ledger": ledger_scale.run_benchmark,
    "fingerprint": fingerprint_speed.run_benchmark,
    "state": state_cost.run_benchmark,
    "state-verify": state_cost.run_verification_benchmark,
    "state-share": state_cost.run_share_benchmark,
    "html": html_report_speed.run_benchmark,
    "determinism": determinism_cost.run_benchmark,
    "epoch-fingerprints": epoch_fingerprints.run_benchmark,
    "magic": magic_overhead.run_benchmark,
    "verify": verify_overhead.run_benchmark,
    "writers": concurrent_writers.run_benchmark,
    "team": team_scale.run_benchmark,
    "cluster": cluster_scale.run_benchmark,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small sizes, one repetition (about a minute; for CI)")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help="where to write the results (default: benchmarks/results/latest.json)",
    )
    parser.add_argument(
        "--only", nargs="+", choices=list(BENCHMARKS), metavar="NAME", help=f"run only these: {', '.join(BENCHMARKS)}"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    config = SMOKE if arguments.smoke else FULL
    sections: list[Section] = []
    started = time.perf_counter()
    for name, benchmark in BENCHMARKS.items():
        if arguments.only and name not in arguments.only:
            continue
        print(f"running {name}...", file=sys.stderr, flush=True)
        try:
            sections.append(benchmark(config))
        except Exception as error:  # one broken benchmark must not hide the others
            traceback.print_exc()
            sections.append(Section(name, error=f"{type(error).__name__}: {error}"))
    mode = "smoke" if config.smoke else "full"
    print(f"\nrepro_magics benchmarks ({mode}, {time.perf_counter() - started:.0f} s)\n")
    print(format_table(sorted(sections, key=lambda section: section.name)))
    write_json(arguments.json, machine.describe(), mode, sections)
    print(f"\nresults written to {arguments.json}")
    return 1 if any(section.error for section in sections) else 0
