"""A reproducible cell's set-up on every backend: Keras' backend, and TensorFlow and PyTorch wherever they appear.

A JAX or PyTorch notebook never pays for importing TensorFlow: a library is
reset and made deterministic when it is already imported, or at the moment
the cell itself imports it (a notebook's first cell usually does), through a
one-shot import hook that lives only as long as the cell.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

from .determinism import op_determinism, torch_determinism
from .seeding import reset_randomness, reset_tensorflow, reset_torch

#: The libraries with random state or determinism switches of their own, beyond Keras'.
LIBRARIES = ("tensorflow", "torch")


def keras_backend() -> str:
    """The Keras backend of this process ("tensorflow", "jax", "torch"...); imports Keras, and with it the backend."""
    import keras

    return str(keras.backend.backend())


@contextlib.contextmanager
def reproducible_setup(seed: int) -> Iterator[str]:
    """Reset everything to `seed` and run the block deterministic; yields the Keras backend's name.

    Determinism is put back as it was afterwards, also when the block raises.
    """
    backend = keras_backend()
    with contextlib.ExitStack() as scope:

        def deterministic(name: str, module: ModuleType) -> None:
            scope.enter_context(op_determinism() if name == "tensorflow" else torch_determinism(module))

        def imported_late(name: str, module: ModuleType) -> None:
            deterministic(name, module)
            (reset_tensorflow if name == "tensorflow" else reset_torch)(module, seed)

        absent = [name for name in LIBRARIES if sys.modules.get(name) is None]
        for name in LIBRARIES:
            if name not in absent:
                deterministic(name, sys.modules[name])
        reset_randomness(seed)
        scope.enter_context(_on_first_import(absent, imported_late))
        yield backend


@contextlib.contextmanager
def _on_first_import(names: Sequence[str], then: Callable[[str, ModuleType], None]) -> Iterator[None]:
    """Call `then(name, module)` right after the block first imports one of `names`."""
    if not names:
        yield
        return
    finder = _ImportWatcher(set(names), then)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)


class _ImportWatcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it asks the other finders, and wraps the loader of a watched module."""

    def __init__(self, names: set[str], then: Callable[[str, ModuleType], None]) -> None:
        self._names = names
        self._then = then
        self._asking = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self._names or self._asking:
            return None
        self._asking = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._asking = False
        loader = spec.loader if spec is not None else None
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return spec
        self._names.discard(fullname)
        load = loader.exec_module
        then = self._then

        def exec_module(module: ModuleType) -> None:
            load(module)
            then(fullname, module)

        # Finders make a loader per spec, so this changes no other import.
        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec
