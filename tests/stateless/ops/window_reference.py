"""Direct-loop references for convolution and pooling, written for clarity only.

Each walks every output position and every kernel (or window) position in
plain NumPy, in float64, on channels-last arrays.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def same_pads(size: int, window: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same" padding for one axis: the extra pixel goes at the end."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _pads(sizes, windows, strides, padding):
    if padding == "valid":
        return [(0, 0)] * len(sizes)
    return [same_pads(n, k, s) for n, k, s in zip(sizes, windows, strides)]


def _out_size(size, window, stride, pads):
    return (size + sum(pads) - window) // stride + 1


def conv(x, kernel, strides, padding, dilation):
    """x: (N, *spatial, C); kernel: (*k, C // groups, O)."""
    rank = kernel.ndim - 2
    x, kernel = x.astype(np.float64), kernel.astype(np.float64)
    reach = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:rank], dilation)]
    pads = _pads(x.shape[1:-1], reach, strides, padding)
    xp = np.pad(x, [(0, 0), *pads, (0, 0)])
    out_spatial = [
        _out_size(n, r, s, p) for n, r, s, p in zip(x.shape[1:-1], reach, strides, pads)
    ]
    group_in, out_channels = kernel.shape[-2:]
    groups = x.shape[-1] // group_in
    group_out = out_channels // groups
    out = np.zeros((x.shape[0], *out_spatial, out_channels))
    for o in itertools.product(*map(range, out_spatial)):
        for k in itertools.product(*map(range, kernel.shape[:rank])):
            at = tuple(i * s + j * d for i, j, s, d in zip(o, k, strides, dilation))
            pixel = xp[(slice(None), *at)]  # (N, C)
            for g in range(groups):
                cin = slice(g * group_in, (g + 1) * group_in)
                cout = slice(g * group_out, (g + 1) * group_out)
                out[(slice(None), *o, cout)] += pixel[:, cin] @ kernel[k][:, cout]
    return out


def pool(x, window, strides, padding, kind):
    """Max or average pooling of x: (N, *spatial, C); padding never counts."""
    x = x.astype(np.float64)
    pads = _pads(x.shape[1:-1], window, strides, padding)
    out_spatial = [
        _out_size(n, w, s, p)
        for n, w, s, p in zip(x.shape[1:-1], window, strides, pads)
    ]
    out = np.zeros((x.shape[0], *out_spatial, x.shape[-1]))
    for o in itertools.product(*map(range, out_spatial)):
        cells = []
        for i, w, s, (low, _), n in zip(o, window, strides, pads, x.shape[1:-1]):
            start = i * s - low
            cells.append(slice(max(start, 0), min(start + w, n)))
        patch = x[(slice(None), *cells, slice(None))]
        axes = tuple(range(1, 1 + len(window)))
        out[(slice(None), *o)] = patch.max(axes) if kind == "max" else patch.mean(axes)
    return out
