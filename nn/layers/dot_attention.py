"""Attention without projections: Attention (Luong's dot product) and
AdditiveAttention (Bahdanau's), as Keras's, over `[query, value(, key)]`.

Shapes: B batch, Q query steps, V value steps, D features.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from nn import initializers
from nn.layers.attention_math import causal_mask
from nn.layers.base import Layer
from nn.layers.core import check_rates, layer_key
from nn.registry import register
from stateless import ops, random
from stateless.errors import ShapeError, check_shape

_SCORE_MODES = ("dot", "concat")


@dataclass(frozen=True)
class _ListAttention(Layer):
    """What both share: the inputs as a list, the masks, the softmax with
    Keras's masked scores, dropout and the outputs; a subclass writes
    `_scores(params, query, key)`."""

    dropout: float = 0.0
    seed: int | None = None

    supports_masking = True

    def __post_init__(self):
        super().__post_init__()
        check_rates(self, dropout=self.dropout)

    def _split(self, inputs):
        if not isinstance(inputs, list | tuple) or len(inputs) not in (2, 3):
            given = len(inputs) if isinstance(inputs, list | tuple) else "not a list"
            raise ShapeError(
                f"{type(self).__name__} {self.default_name!r}, argument 'inputs': "
                "expected a list [query, value] or [query, value, key], received "
                f"{type(inputs).__name__} ({given})."
            )
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        check_shape(self, "query", query, (None, None, None))
        check_shape(self, "value", value, (query.shape[0], None, None))
        check_shape(self, "key", key, (*value.shape[:2], query.shape[-1]))
        return query, value, key

    def apply(
        self,
        variables,
        inputs,
        mask=None,
        *,
        return_attention_scores=False,
        use_causal_mask=False,
        training=False,
        rng=None,
    ):
        """Attends from the query to the value.

        Args:
          variables: from `init`.
          inputs: `[query (B, Q, D), value (B, V, D)]`, or with a key
            `(B, V, D)` third.
          mask: `[query_mask (B, Q), value_mask (B, V)]` (either None), True
            where a step counts: masked value steps get no attention, masked
            query steps output zeros.
          return_attention_scores: whether to return the probabilities too.
          use_causal_mask: whether query step i attends only to steps <= i.
          training, rng: dropout's switch and key.

        Returns:
          `(outputs (B, Q, D), state)`, or `((outputs, probabilities
          (B, Q, V)), state)`.
        """
        query, value, key = self._split(inputs)
        query_mask, value_mask = (list(mask or []) + [None, None])[:2]
        scores = self._scores(variables["params"], query, key)
        allowed = None
        if value_mask is not None:
            allowed = ops.expand_dims(ops.cast(value_mask, "bool"), -2)
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            allowed = causal if allowed is None else ops.logical_and(allowed, causal)
        if allowed is not None:  # Keras's: masked scores shifted far down
            shift = 65504.0 if scores.dtype == jnp.float16 else 1e9
            scores = ops.where(allowed, scores, scores - shift)
        probs = ops.softmax(scores, axis=-1)
        dropped = probs
        if training and self.dropout > 0.0:
            key = layer_key(self, rng, self.seed)
            dropped = random.dropout(probs, self.dropout, seed=key)
        out = ops.matmul(dropped, value)
        if query_mask is not None:
            counts = ops.expand_dims(ops.cast(query_mask, "bool"), -1)
            out = ops.where(counts, out, 0.0)
        result = (out, probs) if return_attention_scores else out
        return result, variables["state"]

    def compute_mask(self, inputs, mask=None):
        """Keras's: the output carries the query's mask."""
        return mask[0] if mask else None


@register()
@dataclass(frozen=True)
class Attention(_ListAttention):
    """Dot-product attention (Luong's), as `keras.layers.Attention`:
    `softmax(query @ key^T) @ value`.

    Args:
      use_scale: whether to learn a scalar `scale` of the scores.
      dropout: the drop rate on the probabilities while training.
      seed: folded into the key dropout draws from.
      score_mode: `"dot"` (the dot product), or `"concat"`
        (`concat_score_weight * sum(tanh(scale * (q + k)))`).

    Example:
      >>> layer = Attention()
      >>> q, v = jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))
      >>> v_ = layer.init(sl.random.key(0), [q, v])
      >>> layer.apply(v_, [q, v], [None, jnp.array([[1, 1, 0, 0, 0]] * 2)])[0].shape
      (2, 3, 4)
    """

    use_scale: bool = False
    score_mode: str = "dot"

    def __post_init__(self):
        super().__post_init__()
        if self.score_mode not in _SCORE_MODES:
            raise ValueError(
                f"Attention: score_mode must be one of {_SCORE_MODES}, received "
                f"{self.score_mode!r}."
            )

    def init(self, key, inputs, mask=None):
        self._split(inputs)
        params = {}
        if self.use_scale:
            params["scale"] = ops.ones(())
        if self.score_mode == "concat":
            params["concat_score_weight"] = ops.ones(())
        return {"params": params, "state": {}}

    def _scores(self, params, query, key):
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.moveaxis(key, -1, -2))
            return scores * params["scale"] if "scale" in params else scores
        summed = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)
        if "scale" in params:
            summed = params["scale"] * summed
        return params["concat_score_weight"] * ops.sum(ops.tanh(summed), axis=-1)


@register()
@dataclass(frozen=True)
class AdditiveAttention(_ListAttention):
    """Additive attention (Bahdanau's), as `keras.layers.AdditiveAttention`:
    scores `sum(scale * tanh(query + key))` over the features.

    Args:
      use_scale: whether to learn a `scale` `(D,)` of the scores (default
        True; else the plain sum).
      dropout, seed: as `Attention`.

    Example:
      >>> layer = AdditiveAttention()
      >>> q, v = jnp.ones((2, 3, 4)), jnp.ones((2, 5, 4))
      >>> v_ = layer.init(sl.random.key(0), [q, v])
      >>> v_["params"]["scale"].shape, layer.apply(v_, [q, v])[0].shape
      ((4,), (2, 3, 4))
    """

    use_scale: bool = True

    def init(self, key, inputs, mask=None):
        query, _, _ = self._split(inputs)
        params = {}
        if self.use_scale:
            initializer = initializers.get("glorot_uniform")
            params["scale"] = initializer(key, (query.shape[-1],))
        return {"params": params, "state": {}}

    def _scores(self, params, query, key):
        summed = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))
        if "scale" in params:
            summed = params["scale"] * summed
        return ops.sum(summed, axis=-1)
