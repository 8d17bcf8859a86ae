"""Attention layers: MultiHeadAttention.

Shapes: B batch (any number of leading axes), Q query steps, V value steps,
H heads, K key_dim, E value_dim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nn.layers import attention_math
from nn.layers.base import Layer, check_positive_int, set_fields
from nn.layers.core import layer_key
from nn.registry import register
from stateless import ops
from stateless.errors import ShapeError, check_shape, owner_name


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


@register()
@dataclass(frozen=True)
class MultiHeadAttention(Layer):
    """Multi-head scaled dot-product attention, as `keras.layers.MultiHeadAttention`.

    Each head projects the query, key and value (`query`, `key`, `value`
    params), attends with `softmax(q k^T / sqrt(key_dim))`, and the heads are
    combined by the `attention_output` projection. Kernels have Keras's einsum
    shapes: query and key `(dim, num_heads, key_dim)`, value
    `(dim, num_heads, value_dim)`, output `(num_heads, value_dim, *output_shape)`.

    `init` takes the same positional inputs as `apply`: `init(key, query,
    value[, key_input])`. So in a functional model pass a key tensor
    positionally, `mha(q, v, k)`, not as `key=k`.

    Args:
      num_heads: the number of heads.
      key_dim: the size of each head's query and key.
      value_dim: the size of each head's value; defaults to `key_dim`.
      dropout: the drop rate on attention probabilities while training.
      use_bias: whether the projections add biases.
      output_shape: the output's last axis (an int, or a tuple of trailing
        axes); defaults to the query's last axis.
      kernel_initializer, bias_initializer: names or `Initializer`s.
      kernel_regularizer, bias_regularizer: names or `L1L2`, or None; they
        penalize every projection.
      kernel_constraint, bias_constraint: names or `Constraint`s; they
        constrain every projection after each update in fit.
      sliding_window: None, or a positive int: each query step attends only
        to value steps less than this far away (a symmetric band; with
        `use_causal_mask`, the causal window of Mistral and its kin).
      use_gate: whether the heads' outputs are multiplied by a sigmoid gate
        projected from the query (a fifth projection, `gate`, of the value
        projection's shape) before the output projection.
      flash_attention: None (JAX picks the fused kernel), True, or False
        (XLA's); True refuses dropout and returning scores.
      seed: folded into the key dropout draws from.

    Example:
      >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
      >>> q, v = jnp.ones((2, 3, 8)), jnp.ones((2, 5, 6))
      >>> variables = layer.init(sl.random.key(0), q, v)
      >>> jax.tree.map(jnp.shape, variables["params"]["attention_output"])
      {'bias': (8,), 'kernel': (2, 4, 8)}
      >>> (y, scores), _ = layer.apply(variables, q, v, return_attention_scores=True)
      >>> y.shape, scores.shape
      ((2, 3, 8), (2, 2, 3, 5))
    """

    num_heads: int
    key_dim: int
    value_dim: int | None = None
    dropout: float = 0.0
    use_bias: bool = True
    output_shape: int | tuple[int, ...] | None = None
    attention_axes: int | tuple[int, ...] | None = None
    sliding_window: int | None = None
    flash_attention: bool | None = None
    kernel_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    bias_regularizer: Any = None
    kernel_constraint: Any = None
    bias_constraint: Any = None
    use_gate: bool = False
    seed: int | None = None

    supports_masking = True  # the output carries the query's mask

    def __post_init__(self):
        super().__post_init__()
        value_dim = self.key_dim if self.value_dim is None else self.value_dim
        check_positive_int(
            self, num_heads=self.num_heads, key_dim=self.key_dim, value_dim=value_dim
        )
        attention_math.check_dropout(self)
        attention_math.check_window(self)
        output_shape, axes = self.output_shape, self.attention_axes
        if isinstance(output_shape, list | tuple):
            output_shape = tuple(output_shape)
        if axes is not None:
            axes = (axes,) if isinstance(axes, int) else tuple(axes)
        set_fields(
            self, value_dim=value_dim, output_shape=output_shape, attention_axes=axes
        )

    def init(self, key, query, value, key_input=None):
        """Creates the projections for inputs like `query`, `value`, `key`.

        Args:
          key: the PRNG key.
          query, value: arrays or `jax.ShapeDtypeStruct`s, `(B, Q, dim)` and
            `(B, V, dim)`.
          key_input: the key tensor (apply's `key=`); defaults to `value`.
        """
        key_input = value if key_input is None else key_input
        heads, key_dim, value_dim = self.num_heads, self.key_dim, self.value_dim
        if self.output_shape is None:
            out = (query.shape[-1],)
        elif isinstance(self.output_shape, int):
            out = (self.output_shape,)
        else:
            out = self.output_shape
        shapes = {
            "query": ((query.shape[-1], heads, key_dim), (heads, key_dim)),
            "key": ((key_input.shape[-1], heads, key_dim), (heads, key_dim)),
            "value": ((value.shape[-1], heads, value_dim), (heads, value_dim)),
            "attention_output": ((heads, value_dim, *out), out),
        }
        if self.use_gate:
            shapes["gate"] = ((query.shape[-1], heads, value_dim), (heads, value_dim))
        return {"params": attention_math.projections(self, key, shapes), "state": {}}

    def apply(
        self,
        variables,
        query,
        value,
        key=None,
        *,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=False,
        rng=None,
    ):
        """Attends from `query` to `value` (keyed by `key`).

        Args:
          variables: from `init`.
          query: `(B, Q, dim)`, or `(B, *axes, dim)`.
          value: `(B, V, dim)`, or `(B, *axes, dim)`.
          key: like `value`; defaults to `value`.
          query_mask, value_mask, key_mask: `(B, Q)` / `(B, V)`, True where
            a step counts (a model hands in its inputs' masks here).
          attention_mask: boolean, broadcastable to `(B, Q, V)`; True attends.
          use_causal_mask: whether query step `i` attends only to value steps
            `<= i` (combined with the other masks).
          return_attention_scores: whether to return the probabilities too.
          training: whether to apply dropout (then `rng` is required).
          rng: the key for dropout.

        Returns:
          `(outputs, state)`: outputs are `(B, Q, *output_shape)`, or with
          `return_attention_scores` a pair of that and the attention
          probabilities `(B, H, Q, V)` (before dropout; rows with nothing to
          attend to are all zeros). With `attention_axes`, the axes not
          attended over are batch axes: probabilities `(B, *others, H,
          *query axes, *value axes)`.

        Raises:
          ShapeError: an input or the mask does not match the parameters.
          ValueError: `training=True` with `dropout > 0` and no `rng`.
        """
        p = variables["params"]
        key = value if key is None else key
        self._check_inputs(p, query, value, key)
        attention_math.check_scores(self, return_attention_scores)
        axes = self._axes(len(query.shape))
        steps = (query.shape[axes[-1]], value.shape[axes[-1]])
        causal = steps if use_causal_mask else None
        window = None if self.sliding_window is None else (*steps, self.sliding_window)
        if attention_mask is not None:
            self._check_mask(attention_mask, query, value, axes)
        mask = attention_math.attention_mask(
            query_mask, value_mask, key_mask, attention_mask, causal, window
        )
        dropout_key = None
        if training and self.dropout > 0.0:
            dropout_key = layer_key(self, rng, self.seed)
        out, probs = self._attention(
            self._project(p["query"], query),
            self._project(p["key"], key),
            self._project(p["value"], value),
            mask,
            axes,
            fused=len(query.shape) == 3
            and self.dropout == 0.0
            and not return_attention_scores,
            dropout_key=dropout_key,
        )
        out = attention_math.gated(self, p, query, out)
        w = p["attention_output"]
        heads_x_value = w["kernel"].shape[:2]
        kernel = ops.reshape(w["kernel"], (*heads_x_value, -1))
        y = ops.einsum("...he,heo->...o", out, kernel)
        y = ops.reshape(y, (*y.shape[:-1], *w["kernel"].shape[2:]))
        if self.use_bias:
            y = y + w["bias"]
        return ((y, probs) if return_attention_scores else y), variables["state"]

    def _axes(self, rank: int) -> tuple[int, ...]:
        """The attended axes of rank-`rank` inputs, positive (Keras's default:
        every axis between the batch and the features)."""
        if self.attention_axes is None:
            return tuple(range(1, rank - 1))
        axes = tuple(a % rank for a in self.attention_axes)
        if any(a in (0, rank - 1) for a in axes):
            raise ValueError(
                f"MultiHeadAttention {self.default_name!r}: attention_axes "
                f"{self.attention_axes} must leave out the batch and feature axes "
                f"of rank-{rank} inputs."
            )
        return axes

    def _attention(self, q, k, v, mask, axes, *, fused, dropout_key):
        """`attend` over `axes` of the projected `(B, *dims, H, K)` inputs:
        the other axes are batch axes, the attended ones flattened into one."""
        rank = len(q.shape) - 1  # the inputs' rank
        others = [a for a in range(1, rank - 1) if a not in axes]
        order = [0, *others, *axes, rank - 1, rank]
        q, k, v = (ops.transpose(t, order) for t in (q, k, v))
        lead = q.shape[: 1 + len(others)]
        q_steps, v_steps = q.shape[len(lead) : -2], k.shape[len(lead) : -2]

        def flat(t, steps):
            return ops.reshape(t, (-1, math.prod(steps), *t.shape[-2:]))

        if mask is not None:
            full = (*lead, *q_steps, *v_steps)
            mask = ops.broadcast_to(mask, full) if len(axes) > 1 or others else mask
            if len(axes) > 1 or others:
                mask = ops.reshape(mask, (-1, math.prod(q_steps), math.prod(v_steps)))
        implementation = "xla" if self.flash_attention is False else None
        out, probs = attention_math.attend(
            flat(q, q_steps),
            flat(k, v_steps),
            flat(v, v_steps),
            attention_math.heads_mask(mask),
            scale=1.0 / math.sqrt(self.key_dim),
            fused=fused,
            implementation=implementation,
            dropout=self.dropout,
            dropout_key=dropout_key,
        )
        out = ops.reshape(out, (*lead, *q_steps, *out.shape[-2:]))
        out = ops.transpose(out, list(np.argsort(order)))
        if probs is not None:
            heads = probs.shape[1]
            probs = ops.reshape(probs, (*lead, heads, *q_steps, *v_steps))
        return out, probs

    def _project(self, p, x):
        y = ops.einsum("...d,dhk->...hk", x, p["kernel"])
        return y + p["bias"] if self.use_bias else y

    def _check_inputs(self, p, query, value, key) -> None:
        """Checks the inputs against the kernels and each other."""
        rank = len(query.shape)
        dims = (None,) * (rank - 2)
        check_shape(self, "query", query, (None, *dims, p["query"]["kernel"].shape[0]))
        check_shape(
            self, "value", value, (query.shape[0], *dims, p["value"]["kernel"].shape[0])
        )
        check_shape(
            self,
            "key",
            key,
            (*value.shape[:-1], p["key"]["kernel"].shape[0]),
            hint="key and value need the same batch and time axes.",
        )

    def _check_mask(self, mask, query, value, axes) -> None:
        middle = range(1, len(query.shape) - 1)
        others = [query.shape[a] for a in middle if a not in axes]
        full = (
            query.shape[0],
            *others,
            *(query.shape[a] for a in axes),
            *(value.shape[a] for a in axes),
        )
        if not _broadcasts_to(tuple(mask.shape), full):
            raise ShapeError(
                f"{owner_name(self)}, argument 'attention_mask': expected a "
                f"shape broadcastable to (B, Q, V) = {full}, received "
                f"{tuple(mask.shape)}. Hint: True marks the value steps each "
                "query step may attend to."
            )
