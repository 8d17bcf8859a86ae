"""JAX dtypes as torch dtypes, and the representation torch rules compute in.

torch has few ops for `uint16`/`uint32`/`uint64`, so the rules keep those
values in `int64` tensors (0 <= v < 2**bits) and mask after arithmetic that
may leave the range; `adopt` and `release` convert at the lowered function's
boundary. Every other dtype is torch's own.

Example:
  >>> torch_dtype(np.dtype("uint32")), torch_dtype(np.dtype("float32"))
  (torch.int64, torch.float32)
"""

from __future__ import annotations

import functools
from typing import Any

import jax.numpy as jnp
import numpy as np
import torch

_NATIVE = {
    np.dtype(np.float16): torch.float16,
    np.dtype(jnp.bfloat16): torch.bfloat16,
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
    np.dtype(np.int8): torch.int8,
    np.dtype(np.int16): torch.int16,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.uint8): torch.uint8,
    np.dtype(np.bool_): torch.bool,
}
# Unsigned types kept in int64, with the mask that keeps them in range (uint64
# wraps like int64, so it needs none).
MASKS = {
    np.dtype(np.uint16): 0xFFFF,
    np.dtype(np.uint32): 0xFFFFFFFF,
}
_WIDE = {np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64)}
_TORCH_UNSIGNED = {
    torch.uint16: np.dtype(np.uint16),
    torch.uint32: np.dtype(np.uint32),
    torch.uint64: np.dtype(np.uint64),
}
_TO_NUMPY = {t: n for n, t in _NATIVE.items()} | _TORCH_UNSIGNED
_SAME_WIDTH_SIGNED = {2: torch.int16, 4: torch.int32, 8: torch.int64}


@functools.lru_cache(maxsize=64)
def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype that holds values of JAX dtype `dtype` in the rules."""
    dtype = np.dtype(dtype)
    if dtype in _WIDE:
        return torch.int64
    if dtype.name == "float0":
        return torch.bool
    try:
        return _NATIVE[dtype]
    except KeyError:
        raise TypeError(f"lower on torch: no torch dtype for {dtype}.") from None


def numpy_dtype(dtype: torch.dtype) -> np.dtype:
    """The NumPy dtype of a caller's torch tensor (`torch.uint32` -> uint32)."""
    try:
        return _TO_NUMPY[dtype]
    except KeyError:
        raise TypeError(f"lower on torch: unsupported tensor dtype {dtype}.") from None


def is_wide(dtype: Any) -> bool:
    """Whether `dtype` is an unsigned type the rules keep in int64."""
    return np.dtype(dtype) in _WIDE


def bits(dtype: Any) -> int:
    return np.dtype(dtype).itemsize * 8


def same_width_signed(dtype: Any) -> torch.dtype:
    """The signed torch type as wide as `dtype` (bitcasts go through it)."""
    dtype = np.dtype(dtype)
    if dtype in _WIDE:
        return _SAME_WIDTH_SIGNED[dtype.itemsize]
    return torch_dtype(dtype)


def to_tensor(array: np.ndarray, device: Any = None) -> torch.Tensor:
    """A NumPy array (any JAX dtype) as the tensor a caller would hold:
    `uint32` as `torch.uint32`, bfloat16 as `torch.bfloat16`."""
    array = np.asarray(array)
    if array.dtype == np.dtype(jnp.bfloat16):
        raw = torch.tensor(array.view(np.int16), device=device)
        return raw.view(torch.bfloat16)
    if array.dtype.name == "float0":
        array = np.zeros(array.shape, np.bool_)
    return torch.tensor(array, device=device)


def adopt(tensor: torch.Tensor) -> torch.Tensor:
    """A caller's tensor in the rules' representation (unsigned -> int64)."""
    if tensor.dtype in _TORCH_UNSIGNED:
        return tensor.to(torch.int64)
    return tensor


def release(tensor: torch.Tensor, dtype: Any) -> torch.Tensor:
    """A rules' tensor of JAX dtype `dtype` back as the caller's: unsigned
    types as torch's own, broadcast views made contiguous."""
    dtype = np.dtype(dtype)
    if dtype in _WIDE:
        return tensor.to(getattr(torch, dtype.name))
    return tensor.contiguous()
