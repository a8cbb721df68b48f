"""Interleaved repetition and medians: both sides of a ratio see the same noise."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SelfTimed:
    """A case that leaves its set-up out of the clock: `measure` returns the seconds it timed."""

    measure: Callable[[], float]


#: A case: a callable timed whole (its result is ignored), or a `SelfTimed`.
Case = Callable[[], object] | SelfTimed


def interleaved(cases: Mapping[str, Case], rounds: int) -> dict[str, list[float]]:
    """Run every case once per round, rotating which goes first; seconds per case."""
    names = list(cases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            case = cases[name]
            if isinstance(case, SelfTimed):
                samples[name].append(case.measure())
                continue
            started = time.perf_counter()
            case()
            samples[name].append(time.perf_counter() - started)
    return samples


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median of `numerator` over median of `denominator`."""
    return median(numerator) / median(denominator)


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median of the per-round ratios: robust when the machine's speed drifts between rounds."""
    return median([n / d for n, d in zip(numerator, denominator, strict=True)])


def paired_quartiles(numerator: Sequence[float], denominator: Sequence[float]) -> tuple[float, float]:
    """First and third quartiles of the per-round ratios: how much the noise moves them."""
    ratios = [n / d for n, d in zip(numerator, denominator, strict=True)]
    if len(ratios) < 2:
        return ratios[0], ratios[0]
    first, _, third = statistics.quantiles(ratios, n=4)
    return first, third
