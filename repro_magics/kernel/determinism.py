"""TensorFlow op determinism, switched on for a block and back to what it was."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator


def is_op_determinism_enabled() -> bool | None:
    """Whether TF op determinism is on; None when this TensorFlow cannot say."""
    try:
        from tensorflow.python.framework import config
    except ImportError:  # pragma: no cover - private module moved
        return None
    probe = getattr(config, "is_op_determinism_enabled", None)
    return None if probe is None else bool(probe())


def _disable_op_determinism() -> bool:
    try:
        from tensorflow.python.framework import config
    except ImportError:  # pragma: no cover
        return False
    disable = getattr(config, "disable_op_determinism", None)
    if disable is None:  # pragma: no cover
        return False
    disable()
    return True


@contextlib.contextmanager
def op_determinism() -> Iterator[None]:
    """Run the block with `tf.config.experimental.enable_op_determinism()` on.

    Afterwards determinism is off again if it was off before, also when the
    block raises or is interrupted. Turning it off is only possible through a
    private TensorFlow function; where that is gone, it stays on and a warning
    says so.
    """
    import tensorflow as tf

    was_enabled = is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        restored = was_enabled is True or (was_enabled is False and _disable_op_determinism())
        if not restored:  # pragma: no cover - only where TF's private functions moved
            warnings.warn(
                "repro_magics could not turn TensorFlow op determinism off again; "
                "it stays on for the rest of this kernel.",
                stacklevel=3,
            )
