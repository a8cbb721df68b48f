"""Reproducible Keras notebooks on TensorFlow, JAX and PyTorch: `%%reproducible` cells and `repro-verify`.

Load it in a notebook with `%load_ext repro_magics`.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]

_MAGIC_NAMES = {"cell": ("reproducible",), "line": ("repro_seed",)}


def load_ipython_extension(ipython: Any) -> None:
    """Register `%%reproducible` and `%repro_seed` (called by `%load_ext repro_magics`).

    Loading sets the variables that JAX and PyTorch's cuBLAS read only once
    (`XLA_FLAGS`, `CUBLAS_WORKSPACE_CONFIG`) where they can still take
    effect. Loading again is a no-op that keeps the kernel's state (its default seed):
    the reproducible kernel loads the extension at start, and notebooks that
    follow the README load it once more.
    """
    from .kernel.determinism import prepare_process
    from .kernel.input_reads import watch_reads
    from .kernel.magics import ReproducibleMagics

    watch_reads()
    if ReproducibleMagics.__name__ in ipython.magics_manager.registry:
        return
    prepare_process()
    magics = ReproducibleMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("pre_run_cell", magics.remember_cell_id)
    from .kernel.state_fingerprints import install_state_recorder

    # Kept on the magics, so that unloading finds the hook to remove.
    magics.state_recorder = install_state_recorder(ipython)  # type: ignore[attr-defined]


def unload_ipython_extension(ipython: Any) -> None:
    """Remove everything `load_ipython_extension` installed."""
    from .kernel.magics import ReproducibleMagics

    manager = ipython.magics_manager
    instance = manager.registry.pop(ReproducibleMagics.__name__, None)
    for kind, names in _MAGIC_NAMES.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    if instance is not None:
        ipython.events.unregister("pre_run_cell", instance.remember_cell_id)
        recorder = getattr(instance, "state_recorder", None)
        if recorder is not None:
            ipython.events.unregister("pre_run_cell", recorder.before_cell)
            ipython.events.unregister("post_run_cell", recorder.after_cell)
