"""What a comparison of two sets of records found: the verdict, the first difference of each cell, the spread."""

from __future__ import annotations

from dataclasses import dataclass, field

from .agreement import DIVERGED, IDENTICAL, WITHIN_TOLERANCE


@dataclass(frozen=True)
class Spread:
    """How far apart one cell's records lie: every number walked, none stopping the walk.

    `measurable` is False when something other than a finite number differs (a
    name, a shape, an integer, a NaN, an array stored only by fingerprint): no
    tolerance accepts that, and `not_a_number_change` says where it is.
    """

    max_abs: float = 0.0
    max_rel: float = 0.0
    numbers_differing: int = 0
    measurable: bool = True
    not_a_number_change: str | None = None


@dataclass(frozen=True)
class TrainingDivergence:
    """Where a cell's training first parts: the first epoch whose weights differ, and the first whose metrics do.

    Epochs count from 1, as Keras prints them. Metrics are compared by their
    bits here, whatever the tolerance: this says where training parts, not
    whether the parting matters.
    """

    #: Which captured `fit` of the cell, from 1.
    history: int
    #: Both sides fingerprinted the weights per epoch (ledgers from before that don't).
    weights_recorded: bool
    #: The epoch after which the weights first differ; 0 when they differ before the first; None when they never do.
    weights_first_differ_after: int | None
    metric: str | None = None
    metric_first_differs_at: int | None = None


@dataclass(frozen=True)
class Difference:
    """Where one cell's records first part, and the two values there."""

    cell_key: str
    cell_id: str | None
    cell_number: int | None
    source_first_line: str
    where: str
    baseline: str
    new: str
    source_changed: bool = False
    #: The spread of all this cell's numbers, for the tolerance that would accept them.
    spread: Spread | None = None
    #: Where its training first parts, when a captured `fit` differs.
    training: TrainingDivergence | None = None


@dataclass
class Comparison:
    """The outcome of comparing a baseline's records with a new run's."""

    baseline_label: str
    new_label: str
    cells_compared: int = 0
    numbers_compared: int = 0
    #: Numbers that differ in their bits but lie within the tolerance.
    inexact_matches: int = 0
    max_abs_difference: float = 0.0
    max_rel_difference: float = 0.0
    differences: list[Difference] = field(default_factory=list)
    environment_changes: list[tuple[str, str, str]] = field(default_factory=list)
    environment_compared: bool = False
    #: (baseline's, new run's) Keras backends when they differ: then no number is expected to match.
    backend_change: tuple[str, str] | None = None
    #: Cells recorded on both sides whose records hold nothing to compare (not counted in `cells_compared`).
    cells_with_nothing_recorded: int = 0
    #: Each cell's own outcome, by record key: IDENTICAL, WITHIN_TOLERANCE, DIVERGED or NOTHING_RECORDED.
    cell_verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        if self.differences:
            return DIVERGED
        return WITHIN_TOLERANCE if self.inexact_matches else IDENTICAL

    @property
    def first_difference(self) -> Difference | None:
        return self.differences[0] if self.differences else None

    @property
    def spread(self) -> Spread | None:
        """The spread over every cell that differs, or None when none does."""
        spreads = [difference.spread for difference in self.differences]
        if not spreads or any(spread is None for spread in spreads):
            return None
        return merge_spreads([spread for spread in spreads if spread is not None])


def worst_comparison(comparisons: list[Comparison]) -> Comparison | None:
    """The comparison a notebook's verdict comes from: the first that diverged, else within tolerance."""
    for verdict in (DIVERGED, WITHIN_TOLERANCE):
        for comparison in comparisons:
            if comparison.verdict == verdict:
                return comparison
    return comparisons[0] if comparisons else None


def backend_change_text(comparison: Comparison) -> str:
    """One line for a comparison across Keras backends, said before any number."""
    assert comparison.backend_change is not None
    recorded, verified = comparison.backend_change
    return (
        f"{comparison.baseline_label} was recorded on the {recorded} backend, {comparison.new_label} ran on {verified}"
    )


def difference_text(comparison: Comparison, difference: Difference) -> str:
    """Where a cell's records part and the two values there, as the report says it; across backends, that alone."""
    if comparison.backend_change is not None:
        return backend_change_text(comparison)
    baseline, new = comparison.baseline_label, comparison.new_label
    return f"{difference.where}: {baseline} {difference.baseline} vs {new} {difference.new}"


def merge_spreads(spreads: list[Spread]) -> Spread:
    """One spread covering several: the largest differences, the first change no tolerance accepts."""
    unmeasurable = next((spread for spread in spreads if not spread.measurable), None)
    return Spread(
        max_abs=max((spread.max_abs for spread in spreads), default=0.0),
        max_rel=max((spread.max_rel for spread in spreads), default=0.0),
        numbers_differing=sum(spread.numbers_differing for spread in spreads),
        measurable=unmeasurable is None,
        not_a_number_change=unmeasurable.not_a_number_change if unmeasurable else None,
    )
