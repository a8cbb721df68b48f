"""Which records belong to the same cell, and how much a ledger holds that a comparison checks."""

from __future__ import annotations

from typing import Any

from ..ledger.store import Ledger, record_key


def values_checked(ledger: Ledger) -> int:
    """How many training histories and recorded values a ledger holds that a comparison checks.

    A value recorded as `missing` or `unsupported` is compared by its type
    alone, and the seed is the one written on the cell: neither checks a result.
    """
    return sum(record_checks(record) for record in ledger.records)


def record_checks(record: dict[str, Any]) -> int:
    """How many training histories and recorded values of one record a comparison checks (see `values_checked`)."""
    unchecked = {"missing", "unsupported"}
    return len(record.get("histories", [])) + sum(
        value.get("type") not in unchecked for value in record.get("values", {}).values()
    )


Pair = tuple[dict[str, Any] | None, dict[str, Any] | None]


def pair_records(baseline: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Pair]:
    """Match records of the same cell: by cell id, else by identical source.

    Front ends that send no cell id (an IPython console, nbconvert,
    papermill) key their records by source, so a ledger they wrote still
    pairs with `repro-verify`'s records, which carry ids.
    """
    unmatched_new = {record_key(record): record for record in new}
    pairs: list[Pair] = []
    unmatched_baseline = []
    for record in baseline:
        partner = unmatched_new.pop(record_key(record), None)
        if partner is None:
            unmatched_baseline.append(record)
        else:
            pairs.append((record, partner))
    by_source: dict[Any, list[str]] = {}
    for key, record in unmatched_new.items():
        by_source.setdefault(record.get("source_hash"), []).append(key)
    # Records of cells that share a source pair in the order they ran.
    for record in sorted(unmatched_baseline, key=lambda r: r.get("occurrence") or 1):
        keys = by_source.get(record.get("source_hash")) if record.get("source_hash") else None
        pairs.append((record, unmatched_new.pop(keys.pop(0)) if keys else None))
    pairs.extend((None, record) for record in unmatched_new.values())
    return pairs
