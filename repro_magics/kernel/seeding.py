"""Put every random number source a Keras kernel has back to a seed, on each backend."""

from __future__ import annotations

import os
import random
import sys
from typing import Any

import numpy as np

from ..exceptions import SeedError

#: The largest seed plus one: NumPy's legacy seeding takes 32-bit unsigned integers.
SEED_LIMIT = 2**32
SEED_ENV_VAR = "REPRO_MAGICS_SEED"
_BUILTIN_DEFAULT_SEED = 0

#: The entry of Keras' global state that counts automatic names (`dense`, `dense_1`...).
_LAYER_NAME_COUNTERS = "object_name_uids"


def parse_seed(text: str | int) -> int:
    """Return `text` as a seed, or raise `SeedError` with a one-line reason.

    Only the ASCII digits 0-9 are accepted: `int()` would also take a sign,
    underscores and digits of other scripts, which the docs don't promise.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        digits = str(text).strip()
        if not (digits.isascii() and digits.isdigit()):
            raise SeedError(
                f"seed must be a whole number from 0 to {SEED_LIMIT - 1}, "
                f"written with the digits 0-9 only, got {text!r}"
            )
        value = int(digits)
    if not 0 <= value < SEED_LIMIT:
        raise SeedError(f"seed must be from 0 to {SEED_LIMIT - 1}, got {value}")
    return value


def default_seed_from_environment() -> int:
    """The seed in `REPRO_MAGICS_SEED`, else 0."""
    text = os.environ.get(SEED_ENV_VAR)
    if text is None:
        return _BUILTIN_DEFAULT_SEED
    try:
        return parse_seed(text)
    except SeedError as error:
        raise SeedError(f"{SEED_ENV_VAR}: {error}") from None


def reset_randomness(seed: int) -> None:
    """Reset Python, NumPy, Keras and the backend's randomness and Keras' layer names to `seed`.

    Keras: its global `SeedGenerator` (rebuilt from Python's `random` on
    first use), the seed `keras.utils.get_random_seed` returns and the
    automatic layer names; its other settings (dtype policy...) are kept.
    Backends: TensorFlow's global seed, op-seed counter and global
    `Generator`, and PyTorch's generators (CPU and CUDA), each only when it
    is already imported: importing TensorFlow for a JAX notebook would cost
    seconds and seed nothing it uses. JAX keeps no global random state.
    """
    import keras

    if not _reset_keras_state(seed):  # pragma: no cover - Keras' private modules moved
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        reset_tensorflow(tensorflow, seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        reset_torch(torch, seed)


def reset_tensorflow(tf: Any, seed: int) -> None:
    """TensorFlow's global seed, op-seed counter and global `Generator`."""
    tf.random.set_seed(seed)  # also clears TF's kernel cache, where stateful random ops keep their state
    _TENSORFLOW_GENERATOR.reset(tf, seed)


def reset_torch(torch: Any, seed: int) -> None:
    """PyTorch's default generators: the CPU's and every CUDA device's."""
    torch.manual_seed(seed)


def _reset_keras_state(seed: int) -> bool:
    """What `clear_session` + `set_random_seed` do to Keras' own state, and nothing else.

    `clear_session` would also drop the user's settings, reset TensorFlow's
    graph and kernel cache and PyTorch's compiled functions, and
    `set_random_seed` imports TensorFlow whatever the backend: slower, and
    not needed for the numbers. False where Keras' private modules moved.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:  # pragma: no cover
        return False
    global_state.set_global_attribute(_LAYER_NAME_COUNTERS, None)  # rebuilt empty on the next name
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)  # rebuilt from `random` on first use
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    return True


class _TensorFlowGlobalGenerator:
    """`tf.random`'s global `Generator`, put back to a seed.

    Making a new generator is most of the cost of a reset (a variable and a
    dozen ops), so the one this module set is reset in place, from a state
    computed once per seed: the same bits as a new one. A generator set by
    anyone else is replaced.
    """

    _MAX_STATES = 64

    def __init__(self) -> None:
        self._generator: Any = None
        #: Generator states by (seed, algorithm): computing one takes a dozen eager ops.
        self._states: dict[tuple[int, int], Any] = {}

    def reset(self, tf: Any, seed: int) -> None:
        if self._generator is None or _current_global_generator() is not self._generator:
            self._generator = tf.random.Generator.from_seed(seed)
            tf.random.set_global_generator(self._generator)
            return
        key = (seed, int(self._generator.algorithm))
        state = self._states.get(key)
        if state is None:
            if len(self._states) >= self._MAX_STATES:
                self._states.clear()
            state = self._states[key] = tf.random.create_rng_state(seed, self._generator.algorithm)
        self._generator.reset(state)


def _current_global_generator() -> Any:
    """TF's global generator without creating one (the public getter would); None where unknown."""
    try:
        from tensorflow.python.ops import stateful_random_ops
    except ImportError:  # pragma: no cover - private module moved
        return None
    return getattr(stateful_random_ops, "global_generator", None)


_TENSORFLOW_GENERATOR = _TensorFlowGlobalGenerator()
