"""Put every random number source a Keras/TensorFlow kernel has back to a seed."""

from __future__ import annotations

import os
from typing import Any

from ..exceptions import SeedError

#: The largest seed plus one: NumPy's legacy seeding takes 32-bit unsigned integers.
SEED_LIMIT = 2**32
SEED_ENV_VAR = "REPRO_MAGICS_SEED"
_BUILTIN_DEFAULT_SEED = 0

# Entries of Keras' global state that hold randomness or auto-naming; everything
# else in it is a user setting (dtype policy, logging, distribution...) that
# `clear_session` would wipe and that we put back.
_KERAS_STATE_TO_RESET = frozenset({"object_name_uids", "global_seed_generator", "global_random_seed"})


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
    """Reset Python, NumPy, TensorFlow and Keras randomness and layer names to `seed`.

    The order matters: `clear_session` erases the seed `set_random_seed`
    stores, so it runs first; the user's Keras settings survive it.
    """
    import keras
    import tensorflow as tf

    settings = _keras_settings()
    keras.backend.clear_session(free_memory=False)
    _restore_keras_settings(settings)
    # Seeds `random`, NumPy's legacy state, TF's global seed and op counter,
    # and drops Keras' global SeedGenerator so it is rebuilt from the seed.
    keras.utils.set_random_seed(seed)
    tf.random.set_global_generator(tf.random.Generator.from_seed(seed))


def _keras_global_state() -> Any | None:
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - private module moved in a newer Keras
        return None
    return global_state


def _keras_settings() -> dict[str, Any]:
    global_state = _keras_global_state()
    if global_state is None:  # pragma: no cover
        import keras

        return {"dtype_policy": keras.config.dtype_policy()}
    return {
        name: value
        for name, value in vars(global_state.GLOBAL_STATE_TRACKER).items()
        if name not in _KERAS_STATE_TO_RESET
    }


def _restore_keras_settings(settings: dict[str, Any]) -> None:
    global_state = _keras_global_state()
    if global_state is None:  # pragma: no cover
        import keras

        keras.config.set_dtype_policy(settings["dtype_policy"])
        return
    for name, value in settings.items():
        global_state.set_global_attribute(name, value)
