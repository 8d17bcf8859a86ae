"""GroupQueryAttention: attention where groups of query heads share one key
and value head, as `keras.layers.GroupQueryAttention`.

Shapes: B batch, Q query steps, V value steps, Hq query heads, Hkv key and
value heads, K head_dim.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nn.layers import attention_math
from nn.layers.base import Layer, check_positive_int
from nn.layers.core import layer_key
from nn.registry import register
from stateless import ops
from stateless.errors import check_shape


@register()
@dataclass(frozen=True)
class GroupQueryAttention(Layer):
    """Grouped-query attention: `num_query_heads` query heads, each group of
    `num_query_heads // num_key_value_heads` sharing a key and value head.

    Kernels have Keras's shapes: query `(dim, Hq, K)`, key and value
    `(dim, Hkv, K)`, output `(Hq, K, dim)` (the query's last axis).

    Args:
      head_dim: the size of each head.
      num_query_heads, num_key_value_heads: the heads; the first a
        multiple of the second.
      dropout: the drop rate on attention probabilities while training.
      use_bias: whether the projections add biases.
      sliding_window, use_gate: as for `MultiHeadAttention` (the gate has
        the query projection's shape).
      flash_attention: None (JAX picks the fused kernel), True, or False
        (XLA's); True refuses dropout and returning scores.
      kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: of every
        projection.
      seed: folded into the key dropout draws from.

    Example:
      >>> layer = GroupQueryAttention(head_dim=4, num_query_heads=4,
      ...                             num_key_value_heads=2)
      >>> q, v = jnp.ones((2, 3, 8)), jnp.ones((2, 5, 8))
      >>> variables = layer.init(sl.random.key(0), q, v)
      >>> variables["params"]["key"]["kernel"].shape
      (8, 2, 4)
      >>> layer.apply(variables, q, v)[0].shape
      (2, 3, 8)
    """

    head_dim: int
    num_query_heads: int
    num_key_value_heads: int
    dropout: float = 0.0
    use_bias: bool = True
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
        check_positive_int(
            self,
            head_dim=self.head_dim,
            num_query_heads=self.num_query_heads,
            num_key_value_heads=self.num_key_value_heads,
        )
        if self.num_query_heads % self.num_key_value_heads:
            raise ValueError(
                f"GroupQueryAttention: num_query_heads ({self.num_query_heads}) "
                f"must be a multiple of num_key_value_heads "
                f"({self.num_key_value_heads})."
            )
        attention_math.check_dropout(self)
        attention_math.check_window(self)

    def init(self, key, query, value, key_input=None):
        key_input = value if key_input is None else key_input
        dim, k = query.shape[-1], self.head_dim
        hq, hkv = self.num_query_heads, self.num_key_value_heads
        shapes = {
            "query": ((dim, hq, k), (hq, k)),
            "key": ((key_input.shape[-1], hkv, k), (hkv, k)),
            "value": ((value.shape[-1], hkv, k), (hkv, k)),
            "output": ((hq, k, dim), (dim,)),
        }
        if self.use_gate:
            shapes["gate"] = ((dim, hq, k), (hq, k))
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
        """Attends from `query` `(B, Q, dim)` to `value` `(B, V, dim)`
        (keyed by `key`, default `value`), with the masks of
        `MultiHeadAttention.apply`; returns `(outputs (B, Q, dim), state)`,
        or the outputs paired with the probabilities `(B, Hq, Q, V)`."""
        p = variables["params"]
        key = value if key is None else key
        check_shape(self, "query", query, (None, None, p["query"]["kernel"].shape[0]))
        check_shape(
            self, "value", value, (query.shape[0], None, p["value"]["kernel"].shape[0])
        )
        check_shape(self, "key", key, (*value.shape[:2], p["key"]["kernel"].shape[0]))
        attention_math.check_scores(self, return_attention_scores)
        steps = (query.shape[1], value.shape[1])
        causal = steps if use_causal_mask else None
        window = None if self.sliding_window is None else (*steps, self.sliding_window)
        mask = attention_math.attention_mask(
            query_mask, value_mask, key_mask, attention_mask, causal, window
        )
        repeats = self.num_query_heads // self.num_key_value_heads
        k_heads = ops.repeat(self._project(p["key"], key), repeats, axis=2)
        v_heads = ops.repeat(self._project(p["value"], value), repeats, axis=2)
        dropout_key = None
        if training and self.dropout > 0.0:
            dropout_key = layer_key(self, rng, self.seed)
        out, probs = attention_math.attend(
            self._project(p["query"], query),
            k_heads,
            v_heads,
            attention_math.heads_mask(mask),
            scale=1.0 / math.sqrt(self.head_dim),
            fused=self.dropout == 0.0 and not return_attention_scores,
            implementation="xla" if self.flash_attention is False else None,
            dropout=self.dropout,
            dropout_key=dropout_key,
        )
        out = attention_math.gated(self, p, query, out)
        y = ops.einsum("bqhk,hkd->bqd", out, p["output"]["kernel"])
        if self.use_bias:
            y = y + p["output"]["bias"]
        return ((y, probs) if return_attention_scores else y), variables["state"]

    def _project(self, p, x):
        y = ops.einsum("bsd,dhk->bshk", x, p["kernel"])
        return y + p["bias"] if self.use_bias else y


GroupedQueryAttention = GroupQueryAttention  # Keras's other name
