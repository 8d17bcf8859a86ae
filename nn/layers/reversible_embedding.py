"""ReversibleEmbedding: an embedding that also maps vectors back to logits
over its ids, with the table tied (its transpose) or a table of its own, as
language models tie their input and output embeddings."""

from __future__ import annotations

from dataclasses import dataclass

from nn import initializers
from nn.layers.core import Embedding
from nn.registry import register
from stateless import ops, random


@register()
@dataclass(frozen=True)
class ReversibleEmbedding(Embedding):
    """`apply(v, ids)` embeds; `apply(v, x, reverse=True)` gives logits.

    Args:
      input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
        embeddings_constraint, mask_zero: as `Embedding`; the mask is made
        from integer ids only (reverse calls take float vectors).
      tie_weights: whether reverse uses the transposed table; else a
        parameter `reverse_embeddings` of shape `(output_dim, input_dim)`.
      reverse_dtype: a dtype to compute the logits in (e.g. `"float32"`
        under a mixed policy), or None.
      logit_soft_cap: if set, logits become `cap * tanh(logits / cap)`.

    Example:
      >>> layer = ReversibleEmbedding(100, 8, logit_soft_cap=30.0)
      >>> v = layer.init(sl.random.key(0), jnp.array([[1, 2]]))
      >>> vectors, _ = layer.apply(v, jnp.array([[1, 2]]))
      >>> layer.apply(v, vectors, reverse=True)[0].shape
      (1, 2, 100)
    """

    tie_weights: bool = True
    reverse_dtype: str | None = None
    logit_soft_cap: float | None = None

    def compute_mask(self, inputs, mask=None):
        """`ids != 0` for integer ids with `mask_zero`, else None."""
        integer = "int" in str(inputs.dtype)
        return super().compute_mask(inputs) if integer else None

    def init(self, key, inputs, *, reverse=False):
        k_table, k_reverse = random.split(key)
        variables = super().init(k_table, inputs)
        if not self.tie_weights:
            variables["params"]["reverse_embeddings"] = initializers.get(
                self.embeddings_initializer
            )(k_reverse, (self.output_dim, self.input_dim))
        return variables

    def apply(self, variables, inputs, *, reverse=False, training=False, rng=None):
        if not reverse:
            return super().apply(variables, inputs, training=training, rng=rng)
        p = variables["params"]
        table = p["reverse_embeddings"] if not self.tie_weights else p["embeddings"].T
        if self.reverse_dtype is not None:
            inputs = ops.cast(inputs, self.reverse_dtype)
            table = ops.cast(table, self.reverse_dtype)
        logits = ops.matmul(inputs, table)
        if self.logit_soft_cap is not None:
            logits = ops.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits, variables["state"]
