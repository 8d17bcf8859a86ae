"""The torch `Backend` of `interop.lower`: one rule per JAX primitive.

The rules live by theme: `elementwise` (arithmetic, math, logic,
shifts, conversions), `shape` (broadcast, reshape, slices, padding),
`reduce` (reductions, cumulative ops, sort, `dot_general`),
`window` (convolutions, pooling and their gradients),
`indexing` (gather, scatter), `structural` (`jit`, custom
derivatives, `cond`, `while`, `scan`) and `random` (threefry, bit-exact
with JAX). This module joins them and says how values cross the boundary:
unsigned 16/32-bit tensors are computed in int64 (see `dtypes`),
constants are placed on the device of the first input tensor. The hottest
rules are specialized to each equation once, and a convolution or matmul
joined with the bias added to it (`fast`).

Everything here is made of differentiable torch ops, so the lowered forward
graph trains with torch autograd.

Example:
  >>> import torch, interop
  >>> f = interop.lower(lambda x: jnp.tanh(x @ x.T).sum(), np.ones((2, 3), "float32"),
  ...                   backend="torch")
  >>> round(float(f(torch.ones(2, 3))), 4)
  3.9802
"""

from __future__ import annotations

from typing import Any

import torch

from interop.lowering import Backend
from interop.torch import (
    elementwise,
    fast,
    indexing,
    random,
    reduce,
    shape,
    structural,
    window,
)
from interop.torch.dtypes import adopt, numpy_dtype, release, to_tensor

RULES = {
    **elementwise.RULES,
    **shape.RULES,
    **reduce.RULES,
    **window.RULES,
    **indexing.RULES,
    **structural.RULES,
    **random.RULES,
}


def _signature(tensor: torch.Tensor) -> tuple[tuple[int, ...], Any]:
    return tuple(tensor.shape), numpy_dtype(tensor.dtype)


def _is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def _device_of(tensor: torch.Tensor) -> torch.device:
    return tensor.device


def _fast_key(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.shape, value.dtype, value.device
    return None


BACKEND = Backend(
    name="torch",
    rules=RULES,
    constant=to_tensor,
    signature=_signature,
    is_tensor=_is_tensor,
    device_of=_device_of,
    adopt=adopt,
    release=release,
    cache_constants=True,
    specialize=fast.SPECIALIZE,
    fuse=fast.fuse,
    fast_key=_fast_key,
    inline={
        "jit": "jaxpr",
        "pjit": "jaxpr",
        "closed_call": "call_jaxpr",
        "core_call": "call_jaxpr",
        "custom_jvp_call": "call_jaxpr",  # JAX's own rules (see needs_rule)
        "custom_vjp_call": "call_jaxpr",
        "remat2": "jaxpr",
        "checkpoint": "jaxpr",
    },
)
