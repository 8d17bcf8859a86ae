"""TensorFlow rules for JAX's random primitives: Threefry-2x32, exactly.

A key is carried as its `uint32[..., 2]` data; `random_wrap`/`random_unwrap`
are identities. `random_bits`, `random_split` and `random_fold_in` compute
JAX's own Threefry-2x32 hash (20 rounds, `jax_threefry_partitionable`
counters: the 64-bit iota of the output shape) with TF's `uint32` add, xor
and shifts, so a lowered dropout or initializer draws the very numbers JAX
draws from the same key.

Example:
  >>> key = jax.random.PRNGKey(0)
  >>> ours = RULES["random_split"](None, tf.constant(key), shape=(3,))
  >>> bool(np.all(ours.numpy() == jax.random.split(key, 3)))
  True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from interop.tensorflow.common import size

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _u32(value: int) -> tf.Tensor:
    return tf.constant(np.uint32(value))


def _rotate_left(x: tf.Tensor, d: int) -> tf.Tensor:
    return tf.bitwise.bitwise_or(
        tf.bitwise.left_shift(x, _u32(d)), tf.bitwise.right_shift(x, _u32(32 - d))
    )


def _threefry2x32(k1, k2, x1, x2) -> tuple[tf.Tensor, tf.Tensor]:
    """JAX's `threefry2x32` hash of counters `(x1, x2)` under key `(k1, k2)`."""
    ks = [
        k1,
        k2,
        tf.bitwise.bitwise_xor(tf.bitwise.bitwise_xor(k1, k2), _u32(0x1BD11BDA)),
    ]
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for block in range(5):
        for r in _ROTATIONS[block % 2]:
            x1 = x1 + x2
            x2 = tf.bitwise.bitwise_xor(x1, _rotate_left(x2, r))
        x1 = x1 + ks[(block + 1) % 3]
        x2 = x2 + ks[(block + 2) % 3] + _u32(block + 1)
    return x1, x2


def _counters(shape) -> tuple[tf.Tensor, tf.Tensor]:
    """The high and low words of a 64-bit iota shaped `shape`."""
    count = tf.reshape(tf.range(size(shape), dtype=tf.int64), shape)
    high = tf.cast(tf.bitwise.right_shift(count, 32), tf.uint32)
    low = tf.cast(tf.bitwise.bitwise_and(count, 0xFFFFFFFF), tf.uint32)
    return high, low


def _key_words(keys: tf.Tensor, rank: int) -> tuple[tf.Tensor, tf.Tensor]:
    """The two words of each key, with `rank` unit axes added to broadcast."""
    batch = [int(s) for s in keys.shape[:-1]]
    k1, k2 = keys[..., 0], keys[..., 1]
    sizes = [*batch, *[1] * rank]
    return tf.reshape(k1, sizes), tf.reshape(k2, sizes)


def _hash_iota(keys: tf.Tensor, shape) -> tuple[tf.Tensor, tf.Tensor]:
    shape = [int(s) for s in shape]
    k1, k2 = _key_words(keys, len(shape))
    return _threefry2x32(k1, k2, *_counters(shape))


def _random_bits(ctx, keys, *, bit_width, shape):
    del ctx
    bits1, bits2 = _hash_iota(keys, shape)
    if bit_width == 64:
        high = tf.bitwise.left_shift(
            tf.cast(bits1, tf.uint64), tf.constant(np.uint64(32))
        )
        return tf.bitwise.bitwise_or(high, tf.cast(bits2, tf.uint64))
    bits = tf.bitwise.bitwise_xor(bits1, bits2)
    return bits if bit_width == 32 else tf.cast(bits, tf.as_dtype(f"uint{bit_width}"))


def _random_split(ctx, keys, *, shape):
    del ctx
    return tf.stack(_hash_iota(keys, shape), axis=-1)


def _random_fold_in(ctx, keys, msgs):
    del ctx
    k1, k2 = keys[..., 0], keys[..., 1]
    data = tf.cast(msgs, tf.uint32)
    return tf.stack(_threefry2x32(k1, k2, tf.zeros_like(data), data), axis=-1)


def _random_seed(ctx, seeds, *, impl):
    """The key of an integer seed: its 64 bits as two words (high is 0 for
    narrower seeds), as `jax.random.key` makes it."""
    del ctx, impl
    wide = tf.cast(seeds, tf.int64)
    low = tf.cast(tf.bitwise.bitwise_and(wide, 0xFFFFFFFF), tf.uint32)
    high = tf.zeros_like(low)
    if seeds.dtype.size == 8:
        high = tf.bitwise.bitwise_and(tf.bitwise.right_shift(wide, 32), 0xFFFFFFFF)
        high = tf.cast(high, tf.uint32)
    return tf.stack([high, low], axis=-1)


def _threefry2x32_rule(ctx, k1, k2, x1, x2):
    shape = [int(s) for s in ctx.out_avals[0].shape]
    return list(_threefry2x32(*(tf.broadcast_to(v, shape) for v in (k1, k2, x1, x2))))


def _identity(ctx, x, **params):
    del ctx, params
    return x


RULES: dict[str, Any] = {
    "random_wrap": _identity,
    "random_unwrap": _identity,
    "random_clone": _identity,
    "random_seed": _random_seed,
    "random_bits": _random_bits,
    "random_split": _random_split,
    "random_fold_in": _random_fold_in,
    "threefry2x32": _threefry2x32_rule,
}
