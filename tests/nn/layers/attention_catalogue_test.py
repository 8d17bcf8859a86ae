"""Attention, AdditiveAttention, GroupQueryAttention and MultiHeadAttention
with attention axes: the layer contract, the fused kernel against the
probabilities path, clear errors, and a masked model of them that learns
padded sequences and reloads exactly."""

import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers
from nn.archive import load_model, save_model
from stateless.errors import ShapeError
from tests.nn.harness import check_layer
from tests.nn.layers.sequence_wrappers_test import _signed_counts

_rng = np.random.default_rng(4)


def _x(*shape):
    return _rng.normal(size=shape).astype(np.float32)


Q, V = _x(2, 4, 6), _x(2, 5, 6)

CONTRACT = {
    "attention": (layers.Attention(use_scale=True), ([Q, V],), (2, 4, 6)),
    "attention_concat_dropout": (
        layers.Attention(score_mode="concat", dropout=0.3), ([Q, V, V],), (2, 4, 6)),
    "additive": (layers.AdditiveAttention(dropout=0.2), ([Q, V],), (2, 4, 6)),
    "gqa": (layers.GroupQueryAttention(3, 4, 2), (Q, V), (2, 4, 6)),
    "gqa_dropout": (
        layers.GroupQueryAttention(3, 2, 1, dropout=0.5), (Q, V), (2, 4, 6)),
    "mha_gate_window": (
        layers.MultiHeadAttention(2, 3, use_gate=True, sliding_window=2),
        (Q, V), (2, 4, 6)),
    "gqa_gate_window_dropout": (
        layers.GroupQueryAttention(3, 4, 2, dropout=0.5, use_gate=True,
                                   sliding_window=3), (Q, V), (2, 4, 6)),
    "mha_axes": (
        layers.MultiHeadAttention(2, 3, attention_axes=(2,)),
        (_x(2, 3, 4, 6), _x(2, 3, 5, 6)), (2, 3, 4, 6)),
}  # fmt: skip


# With -m slow: gqa_gate_window_dropout checks grouped attention under dropout
# in the default selection.
_SLOW = {"gqa_dropout"}


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=[pytest.mark.slow] if c in _SLOW else [])
     for c in sorted(CONTRACT)],
)  # fmt: skip
def test_the_layer_contract_holds(case):
    layer, inputs, expected = CONTRACT[case]
    check_layer(layer, *inputs, expected_shape=expected, training="dropout" in case)


@pytest.mark.parametrize(
    "layer",
    [
        layers.MultiHeadAttention(2, 3, value_dim=2),
        layers.MultiHeadAttention(2, 3, flash_attention=False),
        layers.GroupQueryAttention(3, 4, 2),
    ],
)
def test_the_fused_kernel_gives_the_numbers_of_the_probabilities_path(layer):
    keep = jnp.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1]], bool)
    v = layer.init(sl.random.key(0), Q, V)
    fused, _ = layer.apply(v, Q, V, value_mask=keep, use_causal_mask=True)
    (unfused, probs), _ = layer.apply(
        v, Q, V, value_mask=keep, use_causal_mask=True, return_attention_scores=True
    )
    np.testing.assert_allclose(fused, unfused, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    assert float(jnp.abs(probs[0, :, :, 2]).max()) == 0.0  # a masked value step


def test_attention_axes_attend_over_the_named_axes_only():
    layer = layers.MultiHeadAttention(2, 3, attention_axes=(2,))
    q, v = _x(2, 3, 4, 6), _x(2, 3, 5, 6)
    variables = layer.init(sl.random.key(0), q, v)
    (y, probs), _ = layer.apply(variables, q, v, return_attention_scores=True)
    assert probs.shape == (2, 3, 2, 4, 5)  # (B, other axis, H, Q, V)
    plain = layers.MultiHeadAttention(2, 3)  # the same weights, over axis 1
    for row in range(3):  # axis 1 is a batch axis: each row attends alone
        alone, _ = plain.apply(variables, q[:, row], v[:, row])
        np.testing.assert_allclose(y[:, row], alone, rtol=1e-5, atol=1e-6)


def test_invalid_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="score_mode must be one of"):
        layers.Attention(score_mode="cosine")
    with pytest.raises(ShapeError, match=r"Attention 'attention'.*\[query, value\]"):
        layers.Attention().init(sl.random.key(0), Q)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="sliding_window must be a positive"):
            layers.MultiHeadAttention(2, 3, sliding_window=bad)
        with pytest.raises(ValueError, match="sliding_window must be a positive"):
            layers.GroupQueryAttention(3, 4, 2, sliding_window=bad)
    with pytest.raises(ValueError, match="multiple of num_key_value_heads"):
        layers.GroupQueryAttention(3, 4, 3)
    with pytest.raises(ValueError, match="flash_attention=True cannot drop out"):
        layers.MultiHeadAttention(2, 3, dropout=0.1, flash_attention=True)
    layer = layers.MultiHeadAttention(2, 3, flash_attention=True)
    v = layer.init(sl.random.key(0), Q, V)
    with pytest.raises(ValueError, match="cannot return attention scores"):
        layer.apply(v, Q, V, return_attention_scores=True)
    with pytest.raises(ValueError, match="must leave out the batch and feature"):
        layers.MultiHeadAttention(2, 3, attention_axes=(2,)).apply(v, Q, V)


# suite time (17 s): the layers' masked numbers are held to Keras by default
@pytest.mark.slow
def test_a_masked_attention_model_learns_padded_sequences_and_reloads(tmp_path):
    ids, labels = _signed_counts(1000, np.random.default_rng(1))
    tokens = layers.Input((24,), dtype="int32")
    h = layers.Embedding(20, 16, mask_zero=True)(tokens)
    h = layers.MultiHeadAttention(2, 8)(h, h)
    h = layers.GroupQueryAttention(4, 4, 2)(h, h)
    h = layers.AdditiveAttention()([h, h])
    model = nn.Model(
        tokens,
        layers.Dense(2, activation="softmax")(layers.GlobalAveragePooling1D()(h)),
    )
    model.compile(
        optimizer=nn.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(ids[:800], labels[:800], epochs=10, batch_size=32, verbose=0, seed=0)
    _, accuracy = model.evaluate(ids[800:], labels[800:], verbose=0)
    assert accuracy >= 0.9
    save_model(model, tmp_path / "attention.stateless")
    again = load_model(tmp_path / "attention.stateless")
    np.testing.assert_array_equal(again.predict(ids[800:]), model.predict(ids[800:]))
