"""Benchmarks for repro_magics: `python -m benchmarks [--smoke] [--json PATH]` from the repository root.

Every figure is a ratio against an alternative measured in the same process
and interleaved with it (or seconds next to such a ratio), the median of
repeated runs, so that a shared, noisy machine shifts both sides alike.
"""
