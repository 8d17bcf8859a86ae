"""Sequential: init with or without an Input, the stateful shell, config round trip."""

import json

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers


def test_init_from_an_example_when_there_is_no_input():
    model = nn.Sequential([layers.Dense(4), layers.Dense(2)])
    with pytest.raises(ValueError, match="no example input and no layers.Input"):
        model.init(sl.random.key(0))
    v = model.init(sl.random.key(0), jnp.ones((3, 5)))
    assert v["params"]["dense"]["kernel"].shape == (5, 4)


def test_same_key_same_variables_other_key_other_variables():
    model = nn.Sequential([layers.Input((4,)), layers.Dense(4), layers.Dense(4)])
    a, b = model.init(sl.random.key(0)), model.init(sl.random.key(0))
    chex.assert_trees_all_equal(a, b)
    assert not np.allclose(
        a["params"]["dense"]["kernel"], a["params"]["dense_1"]["kernel"]
    )
    assert not np.allclose(
        model.init(sl.random.key(1))["params"]["dense"]["kernel"],
        a["params"]["dense"]["kernel"],
    )


def test_build_holds_variables_and_call_uses_them():
    model = nn.Sequential([layers.Dense(3), layers.BatchNormalization()])
    model.build((None, 4), seed=0)
    y = model(jnp.ones((2, 4)))
    chex.assert_trees_all_close(y, model.apply(model.variables, jnp.ones((2, 4)))[0])
    before = model.variables["state"]["batch_normalization"]["moving_mean"]
    model(jnp.arange(8.0).reshape(2, 4), training=True)  # the shell keeps new state
    after = model.variables["state"]["batch_normalization"]["moving_mean"]
    assert not np.allclose(before, after)


def test_a_first_call_on_arrays_builds_the_model():
    sl.set_random_seed(3)
    model = nn.Sequential([layers.Dense(3), layers.Dense(2)])
    y = model(jnp.ones((5, 4)))
    assert y.shape == (5, 2)
    assert model.variables["params"]["dense"]["kernel"].shape == (4, 3)
    chex.assert_trees_all_equal(model(jnp.ones((5, 4))), y)
    sl.set_random_seed(3)
    again = nn.Sequential([layers.Dense(3), layers.Dense(2)])
    chex.assert_trees_all_equal(again(jnp.ones((5, 4))), y)  # the seed fixes them


def test_input_shape_on_the_first_layer_gives_the_input():
    model = nn.Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)])
    assert model.input_specs[0].shape[1:] == (4,)
    assert model.init(sl.random.key(0))["params"]["dense"]["kernel"].shape == (4, 3)
    rebuilt = nn.deserialize(json.loads(json.dumps(nn.serialize(model))))
    assert rebuilt.input_specs[0].shape[1:] == (4,)


def test_config_round_trip_keeps_names_and_input():
    model = nn.Sequential(
        [layers.Input((4,)), layers.Dense(3, name="hidden"), layers.Dense(2)]
    )
    config = json.loads(json.dumps(nn.serialize(model)))
    rebuilt = nn.deserialize(config)
    v = model.init(sl.random.key(0))
    chex.assert_trees_all_equal(rebuilt.init(sl.random.key(0)), v)
    chex.assert_trees_all_close(
        rebuilt.apply(v, jnp.ones((2, 4)))[0], model.apply(v, jnp.ones((2, 4)))[0]
    )


def test_duplicate_explicit_names_are_refused_when_added():
    with pytest.raises(ValueError, match="two layers are named 'd'"):
        nn.Sequential([layers.Dense(3, name="d"), layers.Dense(3, name="d")])


def test_automatic_names_avoid_explicit_ones():
    model = nn.Sequential([layers.Dense(3), layers.Dense(3, name="dense")])
    assert list(model.layers_by_name()) == ["dense_1", "dense"]
