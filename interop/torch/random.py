"""torch rules for JAX's random primitives, bit-exact with JAX's default
threefry2x32 implementation (partitionable mode, JAX's default).

A typed key array `key<fry>[*batch]` is its raw data, an int64 tensor
`(*batch, 2)` of uint32 values; `random_wrap` and `random_unwrap` are
identities. Threefry runs in wrapping int32 tensor ops (in Python ints for a
few hashes, e.g. a `fold_in`), so the lowered Dropout masks and initializers
equal JAX's draw for draw.

Example:
  >>> import jax, numpy as np, torch
  >>> key, counts = np.uint32([0, 42]), np.arange(40, dtype=np.uint32)
  >>> k1, k2 = (torch.tensor(int(k)) for k in key)
  >>> x = torch.tensor(counts.astype(np.int64)).reshape(2, 20)
  >>> mine = torch.cat(threefry2x32(k1, k2, x[0], x[1])).numpy()
  >>> from jax.extend.random import threefry_2x32
  >>> bool((mine == np.asarray(threefry_2x32(key, counts))).all())
  True
"""

from __future__ import annotations

import math

import numpy as np
import torch

from interop.torch.dtypes import torch_dtype

_M = 0xFFFFFFFF
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA
_ON_HOST = 16  # up to this many hashes, Python ints beat launching ~140 ops


def _hash(k1: int, k2: int, x1: int, x2: int) -> tuple[int, int]:
    """Threefry-2x32 of one count pair, in Python ints."""
    keys = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1, x2 = (x1 + k1) & _M, (x2 + k2) & _M
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = (x1 + x2) & _M
            x2 = (((x2 << r) & _M) | (x2 >> (32 - r))) ^ x1
        x1 = (x1 + keys[(i + 1) % 3]) & _M
        x2 = (x2 + keys[(i + 2) % 3] + i + 1) & _M
    return x1, x2


def _hash_tensors(k1, k2, x1, x2):
    """Threefry-2x32 elementwise, in int32 ops (wrapping like uint32; the
    right shift masked to act logically), in place on fresh tensors."""
    k1, k2, x1, x2 = (t.to(torch.int32) for t in (k1, k2, x1, x2))
    keys = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1, x2 = x1 + k1, x2 + k2
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1.add_(x2)
            x2 = ((x2 >> (32 - r)) & ((1 << r) - 1)).bitwise_or_(x2 << r)
            x2.bitwise_xor_(x1)
        x1.add_(keys[(i + 1) % 3])
        x2.add_(keys[(i + 2) % 3]).add_(i + 1)
    return x1.to(torch.int64) & _M, x2.to(torch.int64) & _M


def threefry_pairs(k1, k2, x1, x2):
    """The Threefry-2x32 hash (20 rounds) of counts `(x1, x2)` under key
    `(k1, k2)` (int64 tensors of uint32 values, broadcast together), as one
    tensor `(*shape, 2)` of the two output words."""
    shape = torch.broadcast_shapes(k1.shape, k2.shape, x1.shape, x2.shape)
    if math.prod(shape) > _ON_HOST:
        args = (t.expand(shape) for t in (k1, k2, x1, x2))
        return torch.stack(_hash_tensors(*args), -1)
    words = [t.expand(shape).reshape(-1).tolist() for t in (k1, k2, x1, x2)]
    hashed = [_hash(*four) for four in zip(*words)]
    out = torch.tensor(hashed, dtype=torch.int64, device=k1.device)
    return out.reshape(*shape, 2)


def threefry2x32(k1, k2, x1, x2):
    """`threefry_pairs` as its two words."""
    pairs = threefry_pairs(k1, k2, x1, x2)
    return pairs[..., 0], pairs[..., 1]


def _counts(shape, device):
    """JAX's `iota_2x32_shape`: high and low words of each flat position."""
    flat = torch.arange(math.prod(shape), dtype=torch.int64, device=device)
    flat = flat.reshape(shape)
    return flat >> 32, flat & _M


def _key_words(keys, extra_dims):
    """The two key words, shaped to broadcast over `extra_dims` new axes."""
    shape = (*keys.shape[:-1], *(1,) * extra_dims)
    return keys[..., 0].reshape(shape), keys[..., 1].reshape(shape)


def _random_bits(ctx, keys, *, bit_width, shape, **_):
    shape = tuple(shape)
    k1, k2 = _key_words(keys, len(shape))
    bits1, bits2 = threefry2x32(k1, k2, *_counts(shape, keys.device))
    if bit_width == 64:
        return (bits1 << 32) | bits2
    out = bits1 ^ bits2
    if bit_width == 32:
        return out
    out = out & ((1 << bit_width) - 1)
    return out.to(torch_dtype(ctx.eqn.outvars[0].aval.dtype))


def _random_split(ctx, keys, *, shape, **_):
    shape = tuple(shape)
    k1, k2 = _key_words(keys, len(shape))
    return threefry_pairs(k1, k2, *_counts(shape, keys.device))


def _random_fold_in(ctx, keys, msgs, **_):
    data = msgs.to(torch.int64) & _M  # the uint32 view of the message
    return threefry_pairs(keys[..., 0], keys[..., 1], torch.zeros_like(data), data)


def _random_seed(ctx, seeds, **_):
    seeds = seeds.to(torch.int64)
    wide = np.dtype(ctx.eqn.invars[0].aval.dtype).itemsize == 8
    high = (seeds >> 32) & _M if wide else torch.zeros_like(seeds)
    return torch.stack([high, seeds & _M], -1)


def _threefry_rule(ctx, k1, k2, x1, x2, **_):
    return list(threefry2x32(k1, k2, x1, x2))


def _identity(ctx, x, **_):
    return x


RULES = {
    "random_bits": _random_bits,
    "random_split": _random_split,
    "random_fold_in": _random_fold_in,
    "random_seed": _random_seed,
    "random_wrap": _identity,
    "random_unwrap": _identity,
    "random_clone": _identity,
    "threefry2x32": _threefry_rule,
}
