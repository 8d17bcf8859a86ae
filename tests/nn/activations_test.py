"""Activations: every name is Keras's activation of that name (same values),
the functions are accepted where a name is and saved by name, each lowers
to torch and TensorFlow (`check_layer`), and a function of one's own runs
but is refused by the config with a hint."""

import os

import numpy as np
import pytest

import stateless as sl
from nn import activations, layers
from tests.nn.harness import check_layer

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

X = np.linspace(-7.0, 7.0, 48, dtype=np.float32).reshape(4, 12)
NAMES = sorted(activations._NAMED)


@pytest.mark.parametrize("name", NAMES)
def test_each_activation_matches_keras(name):
    ours = activations.get(name)(X)
    theirs = keras.activations.get(name)(X)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_each_activation_passes_the_layer_contract(name):
    check_layer(layers.Activation(name), X)


def test_functions_are_taken_where_names_are_and_saved_by_name():
    layer = layers.Dense(3, activation=activations.hard_silu)
    assert layer.get_config()["activation"] == "hard_silu"
    again = layers.Dense.from_config(layer.get_config())
    v = layer.init(sl.random.key(0), X)
    np.testing.assert_array_equal(layer.apply(v, X)[0], again.apply(v, X)[0])
    assert layers.Activation(activations.swish).activation == "silu"


def test_a_function_of_ones_own_runs_but_cannot_be_saved():
    layer = layers.Activation(lambda x: 2.0 * x)
    np.testing.assert_array_equal(layer.apply({"params": {}, "state": {}}, X)[0], 2 * X)
    with pytest.raises(TypeError, match="by its name"):
        layer.get_config()
    with pytest.raises(ValueError, match="unknown activation 'rellu'.*relu6"):
        layers.Dense(3, activation="rellu")
