"""What the attention layers share: Keras's masks and masked softmax, and
scaled dot-product attention, fused or with its probabilities.

Shapes: B batch, Q query steps, V value steps, H heads, K key size,
E value size.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from nn import initializers
from nn.layers.base import check_positive_int
from nn.layers.core import check_rates
from stateless import ops, random


def projections(layer: Any, key: Any, shapes: dict[str, tuple]) -> dict[str, Any]:
    """The projections' parameters: `{name: {"kernel", "bias"}}` for
    `shapes` `{name: (kernel shape, bias shape)}`, drawn with the layer's
    `kernel_initializer` and `bias_initializer` (no bias without
    `use_bias`), one key per projection in order."""
    kernel_init = initializers.get(layer.kernel_initializer)
    bias_init = initializers.get(layer.bias_initializer)
    params = {}
    for part_key, (name, (kernel, bias)) in zip(
        random.split(key, len(shapes)), shapes.items()
    ):
        k_kernel, k_bias = random.split(part_key)
        params[name] = {"kernel": kernel_init(k_kernel, kernel)}
        if layer.use_bias:
            params[name]["bias"] = bias_init(k_bias, bias)
    return params


def check_dropout(layer: Any) -> None:
    """Refuses a drop rate outside `[0, 1)`, or any with `flash_attention=True`."""
    check_rates(layer, dropout=layer.dropout)
    if layer.flash_attention and layer.dropout > 0.0:
        raise ValueError(
            f"{type(layer).__name__}: flash_attention=True cannot drop out "
            f"(dropout={layer.dropout}); set dropout=0.0 or leave "
            "flash_attention None."
        )


def check_scores(layer: Any, return_attention_scores: bool) -> None:
    """Refuses to return attention scores with `flash_attention=True`."""
    if return_attention_scores and layer.flash_attention:
        raise ValueError(
            f"{type(layer).__name__} {layer.default_name!r}: flash_attention=True "
            "cannot return attention scores; leave flash_attention None."
        )


def large_negative(dtype: Any) -> float:
    """What a masked score becomes before the softmax (Keras's numbers)."""
    return -3e4 if jnp.dtype(dtype) == jnp.float16 else -1e9


def masked_softmax(scores: Any, mask: Any) -> Any:
    """The softmax over the last axis, as Keras's Softmax layer with a mask:
    masked scores count as `large_negative`, and masked probabilities are 0
    (so a row with nothing to attend to is all zeros).

    Example:
      >>> masked_softmax(jnp.zeros((1, 4)), jnp.array([[1, 1, 0, 0]], bool)).tolist()
      [[0.5, 0.5, 0.0, 0.0]]
    """
    if mask is None:
        return ops.softmax(scores, axis=-1)
    scores = ops.where(mask, scores, large_negative(scores.dtype))
    return ops.where(mask, ops.softmax(scores, axis=-1), 0.0)


def causal_mask(query_steps: int, value_steps: int) -> Any:
    """`(Q, V)`: query step i sees value steps up to i."""
    return ops.tril(ops.ones((query_steps, value_steps), "bool"))


def window_mask(query_steps: int, value_steps: int, size: int) -> Any:
    """`(Q, V)`: query step i sees the value steps less than `size` away
    (Keras's symmetric `sliding_window` band).

    Example:
      >>> window_mask(3, 3, 2).astype(int).tolist()
      [[1, 1, 0], [1, 1, 1], [0, 1, 1]]
    """
    distance = ops.arange(query_steps)[:, None] - ops.arange(value_steps)[None, :]
    return ops.abs(distance) < size


def check_window(layer: Any) -> None:
    """Refuses a `sliding_window` that is neither None nor a positive int."""
    if layer.sliding_window is not None:
        check_positive_int(layer, sliding_window=layer.sliding_window)


def attention_mask(
    query_mask: Any = None,
    value_mask: Any = None,
    key_mask: Any = None,
    given: Any = None,
    causal: tuple[int, int] | None = None,
    window: tuple[int, int, int] | None = None,
) -> Any:
    """Keras's mask of the scores, `(B, Q, V)` (broadcastable), or None:
    the explicit `given` mask, and query steps that count `(B, Q)`, and
    value (and key) steps that count `(B, V)`, and the causal mask of the
    `(Q, V)` given as `causal`, and the band of `(Q, V, sliding_window)`
    given as `window`."""
    auto = None
    if query_mask is not None:
        auto = ops.expand_dims(ops.cast(query_mask, "bool"), -1)
    for steps in (value_mask, key_mask):
        if steps is not None:
            steps = ops.expand_dims(ops.cast(steps, "bool"), -2)
            auto = steps if auto is None else ops.logical_and(auto, steps)
    for band in (
        None if causal is None else causal_mask(*causal),
        None if window is None else window_mask(*window),
    ):
        if band is not None:
            auto = band if auto is None else ops.logical_and(auto, band)
    if given is not None:
        given = ops.cast(given, "bool")
    if auto is None:
        return given
    return auto if given is None else ops.logical_and(given, auto)


def gated(layer: Any, params: Any, query: Any, out: Any) -> Any:
    """The heads' outputs `(..., H, E)` times Keras's `use_gate` gate, the
    sigmoid of the query's `gate` projection; as they are without a gate."""
    if not layer.use_gate:
        return out
    gate = ops.einsum("...d,dhe->...he", query, params["gate"]["kernel"])
    if layer.use_bias:
        gate = gate + params["gate"]["bias"]
    return out * ops.sigmoid(gate)


def heads_mask(mask: Any) -> Any:
    """A scores mask `(B, Q, V)` (or fewer axes) with an axis for the heads:
    `(B, 1, Q, V)`."""
    while mask is not None and len(mask.shape) < 4:
        mask = ops.expand_dims(mask, -3)
    return mask


def attend(
    q: Any,
    k: Any,
    v: Any,
    mask: Any,
    *,
    scale: float,
    fused: bool,
    implementation: str | None = None,
    dropout: float = 0.0,
    dropout_key: Any = None,
) -> tuple[Any, Any]:
    """Scaled dot-product attention: `(outputs (B, Q, H, E), probabilities
    (B, H, Q, V) or None)`.

    Fused, it is `jax.nn.dot_product_attention` (as Keras runs it on JAX;
    a row with nothing to attend to then averages every value); otherwise
    the probabilities are computed (before dropout, which `dropout_key`
    switches on) and returned.

    Args:
      q, k, v: `(B, Q, H, K)`, `(B, V, H, K)`, `(B, V, H, E)`.
      mask: boolean, broadcastable to `(B, H, Q, V)`, or None.
      scale: what the scores are multiplied by (`1 / sqrt(K)`).
      fused: whether to run the fused kernel.
      implementation: the fused kernel's (`"xla"`, `"cudnn"`, None: JAX's
        choice).
      dropout, dropout_key: the rate on the probabilities and its key.
    """
    if fused and q.shape[-1] == v.shape[-1]:
        out = jax.nn.dot_product_attention(
            q, k, v, mask=mask, scale=scale, implementation=implementation
        )
        return out, None
    if fused:  # the fused kernel's numbers, for values of another size than keys
        logits = ops.einsum("...qhk,...vhk->...hqv", q, k) * ops.cast(scale, q.dtype)
        if mask is not None:
            lowest = -0.7 * jnp.finfo(logits.dtype).max
            logits = ops.where(mask, logits, ops.cast(lowest, logits.dtype))
        return ops.einsum("...hqv,...vhe->...qhe", ops.softmax(logits, -1), v), None
    q = q * ops.cast(scale, q.dtype)
    probs = masked_softmax(ops.einsum("...qhk,...vhk->...hqv", q, k), mask)
    dropped = probs
    if dropout_key is not None and dropout > 0.0:
        dropped = random.dropout(probs, dropout, seed=dropout_key)
    return ops.einsum("...hqv,...vhe->...qhe", dropped, v), probs
