"""The torch `Backend` of `interop.lower`: one rule per JAX primitive.

The rules live by theme: `_torch_elementwise` (arithmetic, math, logic,
shifts, conversions), `_torch_shape` (broadcast, reshape, slices, padding),
`_torch_reduce` (reductions, cumulative ops, sort, `dot_general`),
`_torch_window` (convolutions, pooling and their gradients),
`_torch_indexing` (gather, scatter), `_torch_structural` (`jit`, custom
derivatives, `cond`, `while`, `scan`) and `_torch_random` (threefry, bit-exact
with JAX). This module joins them and says how values cross the boundary:
unsigned 16/32-bit tensors are computed in int64 (see `_torch_dtypes`),
constants are placed on the device of the first input tensor. The hottest
rules are specialized to each equation once, and a convolution or matmul
joined with the bias added to it (`_torch_fast`).

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

from interop import (
    _torch_elementwise,
    _torch_fast,
    _torch_indexing,
    _torch_random,
    _torch_reduce,
    _torch_shape,
    _torch_structural,
    _torch_window,
)
from interop._torch_dtypes import adopt, numpy_dtype, release, to_tensor
from interop.lowering import Backend

RULES = {
    **_torch_elementwise.RULES,
    **_torch_shape.RULES,
    **_torch_reduce.RULES,
    **_torch_window.RULES,
    **_torch_indexing.RULES,
    **_torch_structural.RULES,
    **_torch_random.RULES,
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
    specialize=_torch_fast.SPECIALIZE,
    fuse=_torch_fast.fuse,
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
