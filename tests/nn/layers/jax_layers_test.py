"""Models of other JAX libraries inside an `nn` model: a pure function
(`JaxLayer`), a Flax linen module (`FlaxLayer`) and an Equinox module
(`EquinoxLayer`) compute what their library computes on the same arrays,
pass the layer contract (lowering to torch and TensorFlow included), train
under `fit` on digits and come back from the archive or the weights file
predicting exactly what they did."""

import equinox as eqx
import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers
from nn.archive import load_model, save_model
from tests.nn.harness import check_layer

_rng = np.random.default_rng(11)


def _digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32), y


@nn.register("tests>mlp_init")
def mlp_init(rng, inputs):
    k1, k2 = jax.random.split(rng)
    n = inputs.shape[-1]
    return {
        "w1": jax.random.normal(k1, (n, 32)) / jnp.sqrt(n),
        "b1": jnp.zeros(32),
        "w2": jax.random.normal(k2, (32, 10)) / jnp.sqrt(32.0),
    }


@nn.register("tests>mlp_call")
def mlp_call(params, inputs, rng, training):
    hidden = jax.nn.relu(inputs @ params["w1"] + params["b1"])
    if training:  # dropout, from the rng the layer hands in
        hidden = hidden * jax.random.bernoulli(rng, 0.9, hidden.shape) / 0.9
    return jax.nn.softmax(hidden @ params["w2"])


def _counting_call(params, state, inputs, training):
    count = state["calls"] + (1 if training else 0)
    return inputs * params["scale"], {"calls": count}


@nn.register("tests>FlaxMLP")
class FlaxMLP(fnn.Module):
    hidden: int = 32

    @fnn.compact
    def __call__(self, x, training: bool = False):
        x = fnn.Dense(self.hidden)(x)
        x = fnn.BatchNorm(use_running_average=not training, momentum=0.9)(x)
        x = fnn.Dropout(0.1, deterministic=not training)(jax.nn.relu(x))
        return jax.nn.softmax(fnn.Dense(10)(x))


def _fit(model, x, y, epochs=10):
    model.compile(
        optimizer=nn.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:1500], y[:1500], epochs=epochs, batch_size=32, verbose=0, seed=0)
    return model.evaluate(x[1500:], y[1500:], verbose=0)[1]


def test_jax_layer_passes_names_by_signature_and_carries_state():
    layer = layers.JaxLayer(_counting_call, params={"scale": jnp.full(3, 2.0)},
                            state={"calls": jnp.zeros((), jnp.int32)})  # fmt: skip
    v = layer.init(sl.random.key(0), jnp.ones((2, 3)))
    y, state = layer.apply(v, jnp.ones((2, 3)), training=True)
    assert y.tolist() == [[2.0] * 3] * 2 and int(state["calls"]) == 1
    with pytest.raises(TypeError, match="registered init_fn"):
        layer.get_config()
    seeded = layers.JaxLayer(mlp_call, mlp_init, seed=0)  # seed 0 is a seed too
    x = jnp.ones((2, 64))
    np.testing.assert_array_equal(
        seeded.init(sl.random.key(1), x)["params"]["w1"],
        seeded.init(sl.random.key(2), x)["params"]["w1"],
    )
    with pytest.raises(TypeError, match="named 'inputs'"):
        layers.JaxLayer(lambda x: x, params={})


@pytest.mark.parametrize("case", ["jax", "flax", "equinox"])
def test_the_layer_contract_holds(case):
    x = _rng.normal(size=(4, 64)).astype(np.float32)
    layer = {
        "jax": layers.JaxLayer(mlp_call, mlp_init),
        "flax": layers.FlaxLayer(FlaxMLP()),
        "equinox": layers.EquinoxLayer.from_factory(equinox_mlp, width=16),
    }[case]
    check_layer(layer, x, expected_shape=(4, 10))


def test_a_jax_function_trains_in_fit_and_reloads_from_the_archive(tmp_path):
    x, y = _digits()
    model = nn.Sequential([layers.Input((64,)), layers.JaxLayer(mlp_call, mlp_init)])
    accuracy = _fit(model, x, y)
    assert accuracy >= 0.87  # reached: 0.902
    params = model.layers[0].get_weights()
    ref = mlp_call(dict(zip(["b1", "w1", "w2"], params)), x[1500:], None, False)
    np.testing.assert_allclose(model.predict(x[1500:], verbose=0), ref, atol=1e-6)
    save_model(model, tmp_path / "jax.stateless")
    again = load_model(tmp_path / "jax.stateless")
    np.testing.assert_array_equal(
        again.predict(x[1500:], verbose=0), model.predict(x[1500:], verbose=0)
    )


def test_a_flax_module_trains_with_its_batch_stats_and_reloads(tmp_path):
    x, y = _digits()
    model = nn.Sequential([layers.Input((64,)), layers.FlaxLayer(FlaxMLP())])
    accuracy = _fit(model, x, y)
    assert accuracy >= 0.87  # reached: 0.916
    variables = model.variables
    flax_vars = jax.tree.leaves(variables["state"])
    assert flax_vars and not np.allclose(flax_vars[0], 0.0)  # running stats moved
    inner = jax.tree.leaves(variables["params"], is_leaf=lambda t: "Dense_0" in t)[0]
    state = jax.tree.leaves(variables["state"], is_leaf=lambda t: "batch_stats" in t)
    ref = FlaxMLP().apply({"params": inner, **state[0]}, x[1500:])
    np.testing.assert_allclose(model.predict(x[1500:], verbose=0), ref, atol=1e-6)
    save_model(model, tmp_path / "flax.stateless")
    again = load_model(tmp_path / "flax.stateless")
    np.testing.assert_array_equal(
        again.predict(x[1500:], verbose=0), model.predict(x[1500:], verbose=0)
    )


@nn.register("tests>equinox_mlp")
def equinox_mlp(width, seed=1):
    return eqx.nn.MLP(64, 10, width, depth=2, key=jax.random.key(seed))


def _equinox_model(layer):
    return nn.Sequential([layers.Input((64,)), layer, layers.Activation("softmax")])


def test_an_equinox_module_trains_and_reloads_by_its_factory(tmp_path):
    x, y = _digits()
    model = _equinox_model(layers.EquinoxLayer.from_factory(equinox_mlp, width=32))
    start = np.asarray(model.layers[0].module.layers[0].weight)
    accuracy = _fit(model, x, y)
    assert accuracy >= 0.87  # reached: 0.896
    assert not np.array_equal(model.layers[0].get_weights()[0], start)
    expected = model.predict(x[1500:], verbose=0)
    save_model(model, tmp_path / "equinox.stateless")
    again = load_model(tmp_path / "equinox.stateless")
    np.testing.assert_array_equal(again.predict(x[1500:], verbose=0), expected)

    # a module built by hand runs and saves its weights, not its config
    by_hand = _equinox_model(layers.EquinoxLayer(equinox_mlp(32)))
    by_hand.build((None, 64))
    model.save_weights(tmp_path / "equinox.weights.npz")
    by_hand.load_weights(tmp_path / "equinox.weights.npz")
    np.testing.assert_array_equal(by_hand.predict(x[1500:], verbose=0), expected)
    with pytest.raises(TypeError, match="from_factory"):
        by_hand.layers[0].get_config()
