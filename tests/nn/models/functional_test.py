"""Functional models: branches, skips, several inputs and outputs, shared layers,
nested models, and the config round trip."""

import json

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers

_rng = np.random.default_rng(0)


def _x(*shape):
    return jnp.asarray(_rng.standard_normal(shape), jnp.float32)


def two_tower():
    a, b = layers.Input((4,), name="left"), layers.Input((3,), name="right")
    shared = layers.Dense(5, name="shared")
    ha = shared(layers.Dense(5)(a))
    hb = shared(layers.Dense(5)(b))  # the same layer, called twice
    merged = layers.Concatenate()([ha, hb])
    skip = layers.Add()([ha, hb])  # a second branch from the same tensors
    return nn.Model([a, b], [layers.Dense(2)(merged), skip])


def test_multi_input_multi_output_with_a_shared_layer_matches_numpy():
    model = two_tower()
    v = model.init(sl.random.key(0))
    assert sorted(v["params"]) == ["dense", "dense_1", "dense_2", "shared"]
    a, b = _x(2, 4), _x(2, 3)
    (y, skip), _ = model.apply(v, [a, b])
    p = {k: {n: np.asarray(w) for n, w in d.items()} for k, d in v["params"].items()}

    def dense(name, x):
        return x @ p[name]["kernel"] + p[name]["bias"]

    ha = dense("shared", dense("dense", np.asarray(a)))
    hb = dense("shared", dense("dense_1", np.asarray(b)))
    np.testing.assert_allclose(skip, ha + hb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        y, dense("dense_2", np.concatenate([ha, hb], -1)), rtol=1e-5, atol=1e-6
    )
    (y2, _), _ = model.apply(v, a, b)  # inputs may also be passed flat
    chex.assert_trees_all_close(y2, y)


def test_nested_models_keep_their_own_variables():
    inner_in = layers.Input((4,))
    inner = nn.Model(inner_in, layers.Dense(3)(inner_in), name="encoder")
    x = layers.Input((4,))
    model = nn.Model(x, layers.Dense(1)(inner(x)))
    v = model.init(sl.random.key(0))
    assert sorted(v["params"]) == ["dense", "encoder"]
    assert sorted(v["params"]["encoder"]) == ["dense"]
    y, _ = model.apply(v, _x(5, 4))
    assert y.shape == (5, 1)


def test_config_round_trip_rebuilds_the_same_graph():
    model = two_tower()
    v = model.init(sl.random.key(0))
    config = json.loads(json.dumps(nn.serialize(model)))
    rebuilt = nn.deserialize(config)
    assert type(rebuilt) is nn.Functional
    args = [_x(2, 4), _x(2, 3)]
    chex.assert_trees_all_close(rebuilt.apply(v, args)[0], model.apply(v, args)[0])
    assert rebuilt.get_config() == model.get_config()


def test_inputs_are_shape_checked_and_counted():
    model = two_tower()
    v = model.init(sl.random.key(0))
    with pytest.raises(ValueError, match=r"expected 2 inputs \[.*\], received 1 "):
        model.apply(v, _x(2, 4))
    with pytest.raises(
        ValueError, match=r"InputLayer 'left', argument 'x': expected \(None, 4\)"
    ):
        model.apply(v, [_x(2, 5), _x(2, 3)])


def test_outputs_that_need_an_input_not_given_are_refused():
    a, b = layers.Input((2,)), layers.Input((2,))
    with pytest.raises(ValueError, match="not among the model's inputs"):
        nn.Model(a, layers.Add()([a, b]))
    with pytest.raises(TypeError, match="expected symbolic tensors"):
        nn.Model(a, jnp.ones(2))


def test_symbolic_keyword_arguments_reach_the_layer_and_survive_the_config():
    q, mask = layers.Input((5, 8)), layers.Input((5, 5), dtype="bool")
    attention = layers.MultiHeadAttention(2, 4)
    model = nn.Model([q, mask], attention(q, q, attention_mask=mask))
    v = model.init(sl.random.key(0))
    x, causal = _x(3, 5, 8), jnp.tril(jnp.ones((3, 5, 5), bool))
    y, _ = model.apply(v, [x, causal])
    mha = {"params": v["params"]["multi_head_attention"], "state": {}}
    want, _ = attention.apply(mha, x, x, attention_mask=causal)
    chex.assert_trees_all_close(y, want)
    assert not np.allclose(y, attention.apply(mha, x, x)[0])  # the mask mattered
    rebuilt = nn.deserialize(json.loads(json.dumps(nn.serialize(model))))
    chex.assert_trees_all_close(rebuilt.apply(v, [x, causal])[0], y)
