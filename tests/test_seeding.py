"""The reset itself, in this process, with real TensorFlow: the global generator's in-place reset."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from repro_magics.kernel.seeding import reset_randomness


def _bits(tensor: tf.Tensor) -> bytes:
    return np.asarray(tensor).tobytes()


def test_when_the_global_generator_is_reset_in_place_then_it_draws_the_bits_of_a_new_one() -> None:
    reset_randomness(812)
    generator = tf.random.get_global_generator()
    first = _bits(generator.normal([1000]))
    generator.uniform([77])
    reset_randomness(812)
    assert tf.random.get_global_generator() is generator, "reset in place, not replaced"
    again = _bits(generator.normal([1000]))
    fresh = _bits(tf.random.Generator.from_seed(812).normal([1000]))
    assert first == again == fresh


def test_when_another_seed_follows_then_the_in_place_reset_draws_that_seeds_bits() -> None:
    reset_randomness(812)
    reset_randomness(813)
    drawn = _bits(tf.random.get_global_generator().normal([100]))
    assert drawn == _bits(tf.random.Generator.from_seed(813).normal([100]))
    assert drawn != _bits(tf.random.Generator.from_seed(812).normal([100]))


def test_when_the_user_set_a_global_generator_then_the_reset_replaces_it_and_leaves_theirs_alone() -> None:
    reset_randomness(812)
    theirs = tf.random.Generator.from_seed(5)
    tf.random.set_global_generator(theirs)
    theirs_next = _bits(tf.random.Generator.from_seed(5).normal([10]))
    reset_randomness(812)
    assert tf.random.get_global_generator() is not theirs
    ours = tf.random.get_global_generator()
    assert _bits(ours.normal([10])) == _bits(tf.random.Generator.from_seed(812).normal([10]))
    assert _bits(theirs.normal([10])) == theirs_next


def test_when_a_tf_function_captured_the_global_generator_then_the_reset_reaches_it() -> None:
    reset_randomness(812)

    @tf.function
    def draw() -> tf.Tensor:
        return tf.random.get_global_generator().normal([10])

    first = _bits(draw())
    reset_randomness(812)
    assert _bits(draw()) == first
