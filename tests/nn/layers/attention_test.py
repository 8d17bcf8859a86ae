"""MultiHeadAttention against a textbook per-head NumPy attention."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import nn
import stateless as sl
from nn import layers
from nn.layers.attention import MultiHeadAttention
from nn.regularizers import L1L2
from stateless.errors import ShapeError
from tests.nn.harness import check_layer

_rng = np.random.default_rng(0)


def _x(*shape):
    return jnp.asarray(_rng.standard_normal(shape), jnp.float32)


def _variables(layer, *inputs):
    """Random variables of `init`'s shapes (biases not zero; nothing compiled)."""
    shapes = jax.eval_shape(layer.init, sl.random.key(0), *inputs)
    return jax.tree.map(lambda w: _x(*w.shape) * 0.5, shapes)


def _mask(*shape):
    """A random boolean mask whose every row attends somewhere."""
    mask = _rng.random(shape) < 0.6
    mask[..., 0] = True
    return mask


def reference(params, query, value, key=None, mask=None):
    """softmax(Q K^T / sqrt(d)) V, head by head, in float64."""
    p = jax.tree.map(lambda w: np.asarray(w, np.float64), params)
    query, value = np.asarray(query, np.float64), np.asarray(value, np.float64)
    key = value if key is None else np.asarray(key, np.float64)
    heads, key_dim = p["query"]["kernel"].shape[1:]
    out_kernel = p["attention_output"]["kernel"]
    y = np.zeros((*query.shape[:2], out_kernel.shape[-1]))
    all_probs = []

    def project(name, x, h):
        bias = p[name]["bias"][h] if "bias" in p[name] else 0.0
        return x @ p[name]["kernel"][:, h] + bias

    inputs = {"query": query, "key": key, "value": value}
    for h in range(heads):
        q, k, v = (project(name, x, h) for name, x in inputs.items())
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(key_dim)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        probs = weights / weights.sum(-1, keepdims=True)
        all_probs.append(probs)
        y += (probs @ v) @ out_kernel[h]
    return y + p["attention_output"].get("bias", 0.0), np.stack(all_probs, 1)


def test_check_layer():
    layer = MultiHeadAttention(3, 2, value_dim=5, dropout=0.5, output_shape=7)
    check_layer(layer, _x(2, 3, 8), _x(2, 5, 8), expected_shape=(2, 3, 7))


def test_parameter_shapes_follow_keras():
    q = jax.ShapeDtypeStruct((2, 3, 8), jnp.float32)
    v, k = jax.ShapeDtypeStruct((2, 5, 6), jnp.float32), _x(2, 5, 7)
    layer = MultiHeadAttention(num_heads=2, key_dim=4, value_dim=3, output_shape=10)
    variables = jax.eval_shape(layer.init, sl.random.key(0), q, v, k)
    assert jax.tree.map(jnp.shape, variables["params"]) == {
        "query": {"kernel": (8, 2, 4), "bias": (2, 4)},
        "key": {"kernel": (7, 2, 4), "bias": (2, 4)},
        "value": {"kernel": (6, 2, 3), "bias": (2, 3)},
        "attention_output": {"kernel": (2, 3, 10), "bias": (10,)},
    }
    assert layer.get_config()["value_dim"] == 3
    assert MultiHeadAttention(2, 4).get_config()["value_dim"] == 4


@pytest.mark.parametrize("use_bias", [True, False])
def test_matches_numpy_with_a_key_and_a_mask(use_bias):
    layer = MultiHeadAttention(3, 4, value_dim=2, use_bias=use_bias, output_shape=5)
    q, v, k = _x(2, 3, 8), _x(2, 4, 6), _x(2, 4, 7)
    variables = _variables(layer, q, v, k)
    mask = _mask(2, 3, 4)
    for kwargs, ref_mask in [({}, None), ({"attention_mask": mask}, mask)]:
        (y, probs), state = layer.apply(
            variables, q, v, k, return_attention_scores=True, **kwargs
        )
        ref_y, ref_probs = reference(variables["params"], q, v, k, ref_mask)
        np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(probs, ref_probs, rtol=1e-5, atol=1e-5)
        assert state == {}
    assert np.all(np.asarray(probs)[np.broadcast_to(~mask[:, None], probs.shape)] == 0)


def test_key_defaults_to_value():
    layer, q, v = MultiHeadAttention(2, 4), _x(2, 3, 8), _x(2, 5, 6)
    variables = _variables(layer, q, v)
    np.testing.assert_array_equal(
        layer.apply(variables, q, v)[0], layer.apply(variables, q, v, key=v)[0]
    )
    np.testing.assert_allclose(
        layer.apply(variables, q, v)[0],
        reference(variables["params"], q, v)[0],
        rtol=1e-5,
        atol=1e-5,
    )


def test_causal_mask_gives_future_positions_zero_weight():
    layer, x = MultiHeadAttention(2, 4), _x(2, 5, 8)
    variables = _variables(layer, x, x)
    (y, probs), _ = layer.apply(
        variables, x, x, use_causal_mask=True, return_attention_scores=True
    )
    probs = np.asarray(probs)
    future = np.triu(np.ones((5, 5), bool), k=1)
    assert np.all(probs[..., future] == 0.0)
    assert np.all(probs[..., ~future] > 0.0)
    np.testing.assert_allclose(probs.sum(-1), np.ones((2, 2, 5)), rtol=1e-6)
    ref_y, ref_probs = reference(variables["params"], x, x, mask=~future)
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probs, ref_probs, rtol=1e-5, atol=1e-5)
    first = layer.apply(variables, x[:, :1], x[:, :1])[0]  # step 0 sees itself only
    np.testing.assert_allclose(y[:, :1], first, rtol=1e-5, atol=1e-5)


def test_causal_mask_combines_with_a_padding_mask():
    layer, x = MultiHeadAttention(2, 4), _x(2, 5, 8)
    variables = _variables(layer, x, x)
    padding = np.ones((2, 1, 5), bool)
    padding[1, :, 1] = False  # sequence 1 hides its step 1
    (y, probs), _ = layer.apply(
        variables,
        x,
        x,
        attention_mask=padding,
        use_causal_mask=True,
        return_attention_scores=True,
    )
    combined = padding & np.tril(np.ones((5, 5), bool))
    ref_y, ref_probs = reference(variables["params"], x, x, mask=combined)
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(probs, ref_probs, rtol=1e-5, atol=1e-5)
    assert np.all(np.asarray(probs)[1, :, :, 1] == 0.0)


def test_a_fully_masked_row_attends_to_nothing():
    layer, q, v = MultiHeadAttention(2, 4), _x(1, 2, 8), _x(1, 3, 6)
    variables = _variables(layer, q, v)
    mask = np.array([[[True, False, True], [False, False, False]]])
    (y, probs), _ = layer.apply(
        variables, q, v, attention_mask=mask, return_attention_scores=True
    )
    np.testing.assert_array_equal(probs[0, :, 1], np.zeros((2, 3)))
    np.testing.assert_allclose(y[0, 1], variables["params"]["attention_output"]["bias"])
    assert np.all(np.isfinite(y))


def test_tuple_output_shape():
    layer, q, v = (
        MultiHeadAttention(2, 4, output_shape=(2, 3)),
        _x(2, 3, 8),
        _x(2, 5, 6),
    )
    variables = _variables(layer, q, v)
    assert variables["params"]["attention_output"]["kernel"].shape == (2, 4, 2, 3)
    y, _ = layer.apply(variables, q, v)
    assert y.shape == (2, 3, 2, 3)
    flat = MultiHeadAttention(2, 4, output_shape=6)
    p = dict(variables["params"])
    p["attention_output"] = jax.tree.map(
        lambda w: w.reshape(*w.shape[: w.ndim - 2], 6), p["attention_output"]
    )
    flat_y, _ = flat.apply({"params": p, "state": {}}, q, v)
    np.testing.assert_allclose(y.reshape(2, 3, 6), flat_y, rtol=1e-6, atol=1e-6)


def test_dropout_needs_rng_differs_by_rng_and_is_off_at_inference():
    layer, q, v = MultiHeadAttention(2, 4, dropout=0.5), _x(2, 3, 8), _x(2, 5, 6)
    variables = _variables(layer, q, v)

    def run(**kwargs):
        return layer.apply(variables, q, v, return_attention_scores=True, **kwargs)[0]

    (a, scores_a), (b, _) = (run(training=True, rng=sl.random.key(i)) for i in (1, 2))
    again, _ = run(training=True, rng=sl.random.key(1))
    assert not np.allclose(a, b, atol=1e-3)
    np.testing.assert_array_equal(a, again)
    jitted = jax.jit(lambda rng: run(training=True, rng=rng)[0])(sl.random.key(1))
    np.testing.assert_allclose(jitted, a, rtol=1e-6, atol=1e-6)
    inference, scores = run(rng=sl.random.key(1))
    no_dropout = MultiHeadAttention(2, 4).apply(variables, q, v)[0]
    np.testing.assert_array_equal(inference, no_dropout)
    assert not np.allclose(a, inference, atol=1e-3)
    np.testing.assert_array_equal(scores_a, scores)  # scores are before dropout
    with pytest.raises(ValueError, match="MultiHeadAttention 'multi_head_attention'"):
        run(training=True)


def test_shape_errors_name_the_layer_and_argument():
    layer, q, v = MultiHeadAttention(2, 4, name="mha"), _x(2, 3, 8), _x(2, 5, 6)
    variables = _variables(layer, q, v)
    cases = [
        ((q[..., :7], v), {}, "'query'"),
        ((q, v[..., :5]), {}, "'value'"),
        ((q, v[:1]), {}, "'value'"),
        ((q, v, v[:, :4]), {}, "'key'"),
        ((q, v), {"attention_mask": np.ones((2, 5, 3), bool)}, "'attention_mask'"),
    ]
    for args, kwargs, argument in cases:
        with pytest.raises(ShapeError, match=f"MultiHeadAttention 'mha'.*{argument}"):
            layer.apply(variables, *args, **kwargs)


def test_gradients_with_a_mask():
    layer, q, v = MultiHeadAttention(2, 3, value_dim=2), _x(1, 3, 4), _x(1, 4, 5)
    variables = _variables(layer, q, v)
    mask = jnp.asarray(_mask(1, 3, 4))

    def fn(params, q, v):
        return layer.apply({"params": params, "state": {}}, q, v, attention_mask=mask)[
            0
        ]

    check_grads(
        jax.jit(fn),
        (variables["params"], q, v),
        order=1,
        modes=("rev",),
        atol=2e-2,
        rtol=2e-2,
        eps=1e-2,
    )


def test_jit_with_masks_matches_eager():
    layer, x = MultiHeadAttention(2, 4), _x(2, 5, 8)
    variables, mask = _variables(layer, x, x), jnp.asarray(_mask(2, 5, 5))

    def run(variables, x, mask):
        return layer.apply(
            variables,
            x,
            x,
            attention_mask=mask,
            use_causal_mask=True,
            return_attention_scores=True,
        )[0]

    for a, b in zip(jax.jit(run)(variables, x, mask), run(variables, x, mask)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_penalty_covers_every_projection():
    layer = MultiHeadAttention(
        2, 4, kernel_regularizer=L1L2(l2=0.1), bias_regularizer="l1"
    )
    params = _variables(layer, _x(2, 3, 8), _x(2, 5, 6))["params"]
    expected = sum(
        0.1 * np.sum(np.square(p["kernel"])) + 0.01 * np.sum(np.abs(p["bias"]))
        for p in params.values()
    )
    np.testing.assert_allclose(layer.penalty(params), expected, rtol=1e-5)
    assert MultiHeadAttention(2, 4).penalty(params) == 0.0


def test_invalid_configs_raise():
    with pytest.raises(ValueError, match="num_heads must be a positive int"):
        MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match="dropout must be in"):
        MultiHeadAttention(2, 4, dropout=1.0)


def test_self_attention_in_a_functional_model():
    x = layers.Input((5, 8))
    y = MultiHeadAttention(2, 4)(x, x, use_causal_mask=True)
    model = nn.Model(x, layers.Dense(3)(y))
    variables = model.init(sl.random.key(0))
    assert sorted(variables["params"]) == ["dense", "multi_head_attention"]
    out, _ = model.apply(variables, _x(2, 5, 8))
    assert out.shape == (2, 5, 3)
