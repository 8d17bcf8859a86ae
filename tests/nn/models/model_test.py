"""Subclassed models: layers held as attributes, in lists and dicts, nested models,
config round trip through the registry, and clear errors."""

import chex
import jax.numpy as jnp
import pytest

import nn
import stateless as sl
from nn import layers


@nn.register("tests>Tower")
class Tower(nn.Model):
    def __init__(self, widths=(4, 4), **kwargs):
        super().__init__(**kwargs)
        self.widths = tuple(widths)
        self.blocks = [layers.Dense(w, activation="relu") for w in widths]
        self.heads = {"a": layers.Dense(1), "b": layers.Dense(2)}
        self.inner = nn.Sequential([layers.Dense(3)], name="inner")

    def call(self, x):  # no training argument: it is optional
        for block in self.blocks:
            x = block(x)
        x = self.inner(x)
        return {k: head(x) for k, head in self.heads.items()}

    def get_config(self):
        return {"widths": list(self.widths), "name": self.name}


def test_layers_in_lists_dicts_and_nested_models_get_variables():
    model = Tower()
    v = model.init(sl.random.key(0), jnp.ones((2, 5)))
    assert sorted(v["params"]) == ["dense", "dense_1", "dense_2", "dense_3", "inner"]
    assert sorted(v["params"]["inner"]) == ["dense"]
    y, _ = model.apply(v, jnp.ones((2, 5)))
    assert {k: t.shape for k, t in y.items()} == {"a": (2, 1), "b": (2, 2)}


def test_registered_subclass_round_trips_through_its_config():
    model = Tower((3, 5), name="tower")
    rebuilt = nn.deserialize(nn.serialize(model))
    assert isinstance(rebuilt, Tower) and rebuilt.widths == (3, 5)
    v = model.init(sl.random.key(0), jnp.ones((2, 5)))
    chex.assert_trees_all_close(
        rebuilt.apply(v, jnp.ones((2, 5)))[0], model.apply(v, jnp.ones((2, 5)))[0]
    )


def test_unregistered_or_unconfigurable_subclasses_get_clear_errors():
    class Needs(nn.Model):
        def __init__(self, units):
            super().__init__()
            self.d = layers.Dense(units)

        def call(self, x):
            return self.d(x)

    with pytest.raises(TypeError, match="takes units.*define get_config"):
        Needs(3).get_config()
    with pytest.raises(ValueError, match="Needs is not registered"):
        nn.serialize(Needs(3))
    with pytest.raises(ValueError, match="unknown class name 'Nope'"):
        nn.deserialize({"class_name": "Nope", "config": {}})


def test_a_layer_not_held_by_the_model_is_named_in_the_error():
    class Loose(nn.Model):
        def call(self, x):
            return layers.Dense(2)(x)

    with pytest.raises(ValueError, match="not one of its attributes"):
        Loose().init(sl.random.key(0), jnp.ones((1, 2)))


def test_regularizer_penalties_reach_the_loss():
    class Reg(nn.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(
                3, kernel_regularizer=nn.regularizers.L2(0.5), bias_regularizer="l1"
            )

        def call(self, x):
            return self.d(x)

    model = Reg()
    v = model.init(sl.random.key(0), jnp.ones((1, 2)))
    k, b = v["params"]["dense"]["kernel"], v["params"]["dense"]["bias"] + 1.0
    params = {"dense": {"kernel": k, "bias": b}}
    want = 0.5 * jnp.sum(k**2) + 0.01 * jnp.sum(jnp.abs(b))
    assert float(model.penalty(params)) == pytest.approx(float(want), rel=1e-6)
    seq = nn.Sequential([layers.Input((2,)), model.d])
    assert float(seq.penalty(params)) == pytest.approx(float(want), rel=1e-6)
