"""Attention layers: MultiHeadAttention.

Shapes: B batch (any number of leading axes), Q query steps, V value steps,
H heads, K key_dim, E value_dim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from nn import initializers
from nn.layers.base import Layer, check_positive_int, set_fields
from nn.registry import register
from stateless import ops, random
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
        penalize all four projections.
      kernel_constraint, bias_constraint: names or `Constraint`s; they
        constrain all four projections after each update in fit.

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
    kernel_initializer: Any = "glorot_uniform"
    bias_initializer: Any = "zeros"
    kernel_regularizer: Any = None
    bias_regularizer: Any = None
    kernel_constraint: Any = None
    bias_constraint: Any = None

    def __post_init__(self):
        super().__post_init__()
        value_dim = self.key_dim if self.value_dim is None else self.value_dim
        check_positive_int(
            self, num_heads=self.num_heads, key_dim=self.key_dim, value_dim=value_dim
        )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(
                "MultiHeadAttention: dropout must be in [0, 1), "
                f"received {self.dropout!r}."
            )
        output_shape = self.output_shape
        if isinstance(output_shape, list | tuple):
            output_shape = tuple(output_shape)
        set_fields(self, value_dim=value_dim, output_shape=output_shape)

    def init(self, key, query, value, key_input=None):
        """Creates the four projections for inputs like `query`, `value`, `key`.

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
        kernel_init = initializers.get(self.kernel_initializer)
        bias_init = initializers.get(self.bias_initializer)
        params = {}
        for k, (name, (kernel_shape, bias_shape)) in zip(
            random.split(key, len(shapes)), shapes.items()
        ):
            k_kernel, k_bias = random.split(k)
            params[name] = {"kernel": kernel_init(k_kernel, kernel_shape)}
            if self.use_bias:
                params[name]["bias"] = bias_init(k_bias, bias_shape)
        return {"params": params, "state": {}}

    def apply(
        self,
        variables,
        query,
        value,
        key=None,
        *,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=False,
        rng=None,
    ):
        """Attends from `query` to `value` (keyed by `key`).

        Args:
          variables: from `init`.
          query: `(B, Q, dim)`.
          value: `(B, V, dim)`.
          key: `(B, V, dim)`; defaults to `value`.
          attention_mask: boolean, broadcastable to `(B, Q, V)`; True attends.
          use_causal_mask: whether query step `i` attends only to value steps
            `<= i` (combined with `attention_mask`).
          return_attention_scores: whether to return the probabilities too.
          training: whether to apply dropout (then `rng` is required).
          rng: the key for dropout.

        Returns:
          `(outputs, state)`: outputs are `(B, Q, *output_shape)`, or with
          `return_attention_scores` a pair of that and the attention
          probabilities `(B, H, Q, V)` (before dropout; rows with nothing to
          attend to are all zeros).

        Raises:
          ShapeError: an input or the mask does not match the parameters.
          ValueError: `training=True` with `dropout > 0` and no `rng`.
        """
        p = variables["params"]
        key = value if key is None else key
        batch = self._check_inputs(p, query, value, key)
        q_BxQxHxK = self._project(p["query"], query) / math.sqrt(self.key_dim)
        k_BxVxHxK = self._project(p["key"], key)
        v_BxVxHxE = self._project(p["value"], value)
        scores_BxHxQxV = ops.einsum("...qhk,...vhk->...hqv", q_BxQxHxK, k_BxVxHxK)
        mask = self._mask(attention_mask, use_causal_mask, batch, query, value)
        if mask is None:
            probs = ops.softmax(scores_BxHxQxV)
        else:
            mask = ops.expand_dims(mask, -3)  # the same mask for every head
            lowest = jax.numpy.finfo(scores_BxHxQxV.dtype).min
            probs = ops.softmax(ops.where(mask, scores_BxHxQxV, lowest))
            probs = ops.where(mask, probs, 0.0)
        dropped = self._dropout(probs, training, rng)
        o_BxQxHxE = ops.einsum("...hqv,...vhe->...qhe", dropped, v_BxVxHxE)
        w = p["attention_output"]
        heads_x_value = w["kernel"].shape[:2]
        kernel = ops.reshape(w["kernel"], (*heads_x_value, -1))
        y = ops.einsum("...qhe,heo->...qo", o_BxQxHxE, kernel)
        y = ops.reshape(y, (*y.shape[:-1], *w["kernel"].shape[2:]))
        if self.use_bias:
            y = y + w["bias"]
        return ((y, probs) if return_attention_scores else y), variables["state"]

    def _project(self, p, x):
        y = ops.einsum("...td,dhk->...thk", x, p["kernel"])
        return y + p["bias"] if self.use_bias else y

    def _check_inputs(self, p, query, value, key) -> tuple[int, ...]:
        """Checks the inputs against the kernels; returns the batch axes."""
        check_shape(self, "query", query, (..., None, p["query"]["kernel"].shape[0]))
        batch = tuple(query.shape[:-2])
        check_shape(self, "value", value, (*batch, None, p["value"]["kernel"].shape[0]))
        check_shape(
            self,
            "key",
            key,
            (*batch, value.shape[-2], p["key"]["kernel"].shape[0]),
            hint="key and value need the same batch and time axes.",
        )
        return batch

    def _mask(self, attention_mask, use_causal_mask, batch, query, value):
        """The boolean mask `(B, Q, V)` (broadcastable), or None to attend to all."""
        full = (*batch, query.shape[-2], value.shape[-2])
        mask = attention_mask
        if mask is not None:
            if not _broadcasts_to(tuple(mask.shape), full):
                raise ShapeError(
                    f"{owner_name(self)}, argument 'attention_mask': expected a "
                    f"shape broadcastable to (B, Q, V) = {full}, received "
                    f"{tuple(mask.shape)}. Hint: True marks the value steps each "
                    "query step may attend to."
                )
            mask = ops.cast(mask, "bool")
        if use_causal_mask:
            causal = ops.tril(ops.ones(full[-2:], "bool"))
            mask = causal if mask is None else ops.logical_and(mask, causal)
        return mask

    def _dropout(self, probs, training, rng):
        if not training or self.dropout == 0.0:
            return probs
        if rng is None:
            raise ValueError(
                f"MultiHeadAttention {self.default_name!r} has dropout="
                f"{self.dropout} and needs rng= when training=True. Hint: "
                "layer.apply(variables, q, v, training=True, rng=sl.random.key(0))."
            )
        return random.dropout(probs, self.dropout, seed=rng)
