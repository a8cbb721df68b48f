"""The extension as the reproducible kernel loads it at start (`--ext=repro_magics.kernel_extension`).

It is loaded under its own name so that IPython does not count `repro_magics`
as loaded: a notebook's own `%load_ext repro_magics` then calls the (idempotent)
loader instead of printing "The repro_magics extension is already loaded".
"""

from __future__ import annotations

from . import load_ipython_extension
from .kernel.spec import KERNEL_EXT_ARGUMENT

__all__ = ["KERNEL_EXT_ARGUMENT", "load_ipython_extension"]
