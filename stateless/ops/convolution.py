"""Convolutions over 1, 2 or 3 spatial axes, on `lax.conv_general_dilated`.

Layouts follow Keras: inputs are `(batch, *spatial, channels)` by default or
`(batch, channels, *spatial)` with `data_format="channels_first"`; kernels are
always `(*spatial, in_channels / groups, out_channels)`. Groups are read from
the shapes, as Keras does: `groups = input channels / kernel in_channels`.
`padding="same"` pads as TensorFlow does (the extra pixel, if any, at the end).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
from jax import lax

from stateless.errors import ShapeError
from stateless.ops._window import lax_padding, spatial_rank
from stateless.window_args import spatial_tuple

_SPATIAL = "DHW"


def _dimension_numbers(rank: int, data_format: str) -> tuple[str, str, str]:
    spatial = _SPATIAL[-rank:]
    io = f"N{spatial}C" if data_format == "channels_last" else f"NC{spatial}"
    return io, f"{spatial}IO", io


def conv(
    inputs: Any,
    kernel: Any,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    data_format: str = "channels_last",
    dilation_rate: int | Sequence[int] = 1,
) -> Any:
    """An N-D convolution (cross-correlation, as in every DL framework).

    Args:
      inputs: `(batch, *spatial, in_channels)`, or channels first.
      kernel: `(*spatial_k, in_channels // groups, out_channels)`.
      strides: the step per spatial axis (an int is repeated).
      padding: `"valid"` (no padding) or `"same"` (output size
        `ceil(size / stride)`).
      data_format: `"channels_last"` or `"channels_first"`.
      dilation_rate: the kernel dilation per spatial axis.

    Returns:
      `(batch, *spatial_out, out_channels)`, or channels first; the dtype is
      JAX's promotion of the two argument dtypes.

    Raises:
      ShapeError: the ranks disagree, or the input channels are not a multiple
        of the kernel's, or the output channels not a multiple of the groups.

    Example:
      >>> x = jnp.ones((2, 28, 28, 1))
      >>> conv(x, jnp.ones((3, 3, 1, 32))).shape
      (2, 26, 26, 32)
      >>> conv(x, jnp.ones((3, 3, 1, 8)), strides=2, padding="same").shape
      (2, 14, 14, 8)
    """
    padding = lax_padding("conv", padding, data_format)
    rank = spatial_rank("conv", kernel, "kernel")
    if len(inputs.shape) != rank + 2:
        raise ShapeError(
            f"conv: inputs of shape {tuple(inputs.shape)} do not fit a kernel of "
            f"shape {tuple(kernel.shape)}: a {rank}-D kernel needs inputs of rank "
            f"{rank + 2}."
        )
    channels = inputs.shape[-1 if data_format == "channels_last" else 1]
    kernel_in, kernel_out = kernel.shape[-2:]
    groups = channels // kernel_in if kernel_in else 0
    if not groups or channels % kernel_in or kernel_out % groups:
        raise ShapeError(
            f"conv: inputs of shape {tuple(inputs.shape)} have {channels} channels "
            f"({data_format}), which a kernel of shape {tuple(kernel.shape)} cannot "
            f"take: input channels must be a multiple of the kernel's {kernel_in}, "
            "and output channels a multiple of the groups that gives."
        )
    if inputs.dtype != kernel.dtype:  # lax wants one dtype; promote as jnp would
        dtype = jnp.result_type(inputs, kernel)
        inputs, kernel = inputs.astype(dtype), kernel.astype(dtype)
    return lax.conv_general_dilated(
        inputs,
        kernel,
        window_strides=spatial_tuple("conv", "strides", strides, rank),
        padding=padding,
        rhs_dilation=spatial_tuple("conv", "dilation_rate", dilation_rate, rank),
        dimension_numbers=_dimension_numbers(rank, data_format),
        feature_group_count=groups,
    )


def depthwise_conv(
    inputs: Any,
    kernel: Any,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    data_format: str = "channels_last",
    dilation_rate: int | Sequence[int] = 1,
) -> Any:
    """A depthwise convolution: each input channel convolved with its own filters.

    Args:
      inputs: `(batch, *spatial, channels)`, or channels first.
      kernel: `(*spatial_k, channels, multiplier)`; the output has
        `channels * multiplier` channels, grouped by input channel.
      strides, padding, data_format, dilation_rate: as in `conv`.

    Raises:
      ShapeError: the kernel's channels differ from the input's.

    Example:
      >>> depthwise_conv(jnp.ones((2, 8, 8, 3)), jnp.ones((3, 3, 3, 2))).shape
      (2, 6, 6, 6)
    """
    lax_padding("depthwise_conv", padding, data_format)
    rank = spatial_rank("depthwise_conv", kernel, "kernel")
    channels, multiplier = kernel.shape[-2:]
    axis = -1 if data_format == "channels_last" else 1
    if len(inputs.shape) != rank + 2 or inputs.shape[axis] != channels:
        raise ShapeError(
            f"depthwise_conv: inputs of shape {tuple(inputs.shape)} ({data_format}) "
            f"do not fit a kernel of shape {tuple(kernel.shape)}: expected rank "
            f"{rank + 2} with {channels} channels."
        )
    grouped = jnp.reshape(kernel, (*kernel.shape[:-2], 1, channels * multiplier))
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


def _transpose_pads(
    size: int, stride: int, padding: str, output_padding: int | None
) -> tuple[int, int]:
    """The padding of the stride-dilated input, before and after, that gives a
    transposed convolution Keras's output length for a dilated kernel of
    `size`: `input * stride` for "same", `input * stride + max(size - stride,
    0)` for "valid", or `(input - 1) * stride + size - 2 * (size // 2 if same
    else 0) + output_padding` when `output_padding` is given."""
    if padding == "VALID":
        extra = max(size, stride) - size if output_padding is None else output_padding
        return size - 1, size - 1 + extra
    if output_padding is None:
        total = stride + size - 2
    else:
        total = size + size % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, size - 1)
    return before, total - before


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
    data_format: str = "channels_last",
    dilation_rate: int | Sequence[int] = 1,
) -> Any:
    """A transposed convolution (the gradient of `conv` with respect to its
    input), with Keras's output sizes.

    Args:
      inputs: `(batch, *spatial, in_channels)`, or channels first.
      kernel: `(*spatial_k, out_channels, in_channels)`, Keras's layout.
      strides: the upsampling step per spatial axis.
      padding: `"valid"` (each output `input * stride + max(kernel - stride,
        0)`) or `"same"` (each output `input * stride`).
      output_padding: extra size per spatial axis (each less than its stride),
        or None for the sizes above.
      data_format: `"channels_last"` or `"channels_first"`.
      dilation_rate: the kernel dilation per spatial axis.

    Raises:
      ShapeError: the ranks disagree, or the input channels differ from the
        kernel's.

    Example:
      >>> conv_transpose(jnp.ones((2, 7, 7, 4)), jnp.ones((3, 3, 8, 4)), 2).shape
      (2, 15, 15, 8)
      >>> conv_transpose(jnp.ones((2, 7, 4)), jnp.ones((3, 8, 4)), 2, "same").shape
      (2, 14, 8)
    """
    lax_pad = lax_padding("conv_transpose", padding, data_format)
    rank = spatial_rank("conv_transpose", kernel, "kernel")
    channels = inputs.shape[-1 if data_format == "channels_last" else 1]
    if len(inputs.shape) != rank + 2 or channels != kernel.shape[-1]:
        raise ShapeError(
            f"conv_transpose: inputs of shape {tuple(inputs.shape)} ({data_format}) "
            f"do not fit a kernel of shape {tuple(kernel.shape)}: expected rank "
            f"{rank + 2} with {kernel.shape[-1]} channels."
        )
    strides = spatial_tuple("conv_transpose", "strides", strides, rank)
    dilation = spatial_tuple("conv_transpose", "dilation_rate", dilation_rate, rank)
    extras = (None,) * rank
    if output_padding is not None:
        extras = (
            (output_padding,) * rank
            if isinstance(output_padding, int)
            else tuple(output_padding)
        )
    sizes = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:rank], dilation)]
    pads = [
        _transpose_pads(size, stride, lax_pad, extra)
        for size, stride, extra in zip(sizes, strides, extras)
    ]
    if inputs.dtype != kernel.dtype:
        dtype = jnp.result_type(inputs, kernel)
        inputs, kernel = inputs.astype(dtype), kernel.astype(dtype)
    return lax.conv_transpose(
        inputs,
        kernel,
        strides,
        pads,
        rhs_dilation=dilation,
        dimension_numbers=_dimension_numbers(rank, data_format),
        transpose_kernel=True,
    )
