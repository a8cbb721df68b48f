"""`repro-verify`, the command line (its entry point is `repro_magics.cli:main`)."""

from __future__ import annotations

from .command import main, module_main

__all__ = ["main", "module_main"]
