"""TensorFlow rules for `dot_general` and `conv_general_dilated`.

`dot_general` becomes transposes, reshapes and one `tf.linalg.matmul`
(batched over the batch dimensions), which every TF runtime has.
`conv_general_dilated` is brought to channels-last (`N, spatial..., C` with
an `spatial..., I, O` kernel, the layout TF's CPU kernels take) and run by
`tf.nn.convolution`, with `"VALID"` or `"SAME"` padding where the padding is
one of those (so grappler can fuse the bias and activation into it), else
padded explicitly (negative padding crops; `lhs_dilation`, the transposed
convolution of gradients, becomes interior padding). Grouped convolutions run one
convolution per group, so they work on every device and differentiate.

Example:
  >>> import jax
  >>> eqn = jax.make_jaxpr(jnp.matmul)(np.ones((2, 3)), np.ones((3, 4))).eqns[0]
  >>> ctx = type("Ctx", (), {"eqn": eqn, "out_avals": [eqn.outvars[0].aval]})()
  >>> RULES["dot_general"](ctx, tf.ones((2, 3)), tf.ones((3, 4)),
  ...                      **eqn.params).shape
  TensorShape([2, 4])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import tensorflow as tf

from interop.tensorflow.common import in_shape, out_dtype, pad, padding_name, transpose


def _dot_general(ctx, lhs, rhs, *, dimension_numbers, **params):
    del params
    (lc, rc), (lb, rb) = dimension_numbers
    dtype = out_dtype(ctx)
    lhs, rhs = tf.cast(lhs, dtype), tf.cast(rhs, dtype)
    lshape, rshape = in_shape(ctx, 0), in_shape(ctx, 1)
    lf = [d for d in range(len(lshape)) if d not in (*lc, *lb)]
    rf = [d for d in range(len(rshape)) if d not in (*rc, *rb)]
    batch = [lshape[d] for d in lb]
    m, n = [lshape[d] for d in lf], [rshape[d] for d in rf]
    k = math.prod(lshape[d] for d in lc)
    a = tf.reshape(transpose(lhs, [*lb, *lf, *lc]), [*batch, math.prod(m), k])
    b = tf.reshape(transpose(rhs, [*rb, *rc, *rf]), [*batch, k, math.prod(n)])
    return tf.reshape(tf.linalg.matmul(a, b), [*batch, *m, *n])


def _dilate_kernel(w: tf.Tensor, dilation) -> tf.Tensor:
    """Spreads the kernel's spatial taps `dilation` apart with zeros."""
    config = [(0, 0, d - 1) for d in dilation] + [(0, 0, 0)] * 2
    return pad(w, 0, config)


def _conv(x, w, strides, dilation, groups: int, padding="VALID") -> tf.Tensor:
    """A channels-last convolution of `groups` feature groups."""
    if any(d > 1 for d in dilation) and any(s > 1 for s in strides):
        w, dilation = _dilate_kernel(w, dilation), [1] * len(dilation)
    if groups == 1:
        return tf.nn.convolution(x, w, strides, padding, dilations=dilation)
    xs, ws = tf.split(x, groups, axis=-1), tf.split(w, groups, axis=-1)
    return tf.concat(
        [
            tf.nn.convolution(a, b, strides, padding, dilations=dilation)
            for a, b in zip(xs, ws)
        ],
        axis=-1,
    )


def _conv_general_dilated(
    ctx,
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    **params,
):
    del params
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    dtype = out_dtype(ctx)
    x = transpose(tf.cast(lhs, dtype), [lhs_spec[0], *lhs_spec[2:], lhs_spec[1]])
    w = transpose(tf.cast(rhs, dtype), [*rhs_spec[2:], rhs_spec[1], rhs_spec[0]])
    strides, dilation = list(window_strides), list(rhs_dilation)
    name = None
    if all(d == 1 for d in lhs_dilation):  # padded by the op itself if it can
        sizes, window = x.shape[1:-1], w.shape[:-2]
        name = padding_name(padding, sizes, window, strides, dilation)
    if name is None:
        edges = [(lo, hi, d - 1) for (lo, hi), d in zip(padding, lhs_dilation)]
        x = pad(x, 0, [(0, 0, 0), *edges, (0, 0, 0)])
        name = "VALID"
    if len(strides) == 1:  # TF's CPU kernels are 2-D: add a unit spatial axis
        x, w = tf.expand_dims(x, 1), tf.expand_dims(w, 0)
        strides, dilation = [1, *strides], [1, *dilation]
    if batch_group_count > 1:
        xs = tf.split(x, batch_group_count, axis=0)
        ws = tf.split(w, batch_group_count, axis=-1)
        y = tf.concat(
            [
                _conv(a, b, strides, dilation, feature_group_count, name)
                for a, b in zip(xs, ws)
            ],
            axis=-1,
        )
    else:
        y = _conv(x, w, strides, dilation, feature_group_count, name)
    if len(window_strides) == 1:
        y = tf.squeeze(y, 1)
    order = [out_spec[0], *out_spec[2:], out_spec[1]]
    return transpose(y, np.argsort(order))


RULES: dict[str, Any] = {
    "dot_general": _dot_general,
    "conv_general_dilated": _conv_general_dilated,
}
