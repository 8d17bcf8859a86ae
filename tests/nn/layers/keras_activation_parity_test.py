"""Activation and regularization layers against Keras 3: same weights, same
inputs, same outputs and gradients; for the random layers, the values their
noise can take; for ActivityRegularization, the loss it adds.

Keras's side runs once, in a subprocess on its JAX backend (see
tests/keras_reference.py)."""

import jax
import numpy as np
import pytest

from nn import layers
from stateless import added_losses
from tests import keras_reference

# name: (layer class, keyword arguments, input shape); the same on both sides
CASES = {
    "relu": ("ReLU", {}, (2, 7)),
    "relu_capped": ("ReLU", {"max_value": 0.5}, (2, 7)),
    "relu_leaky_threshold": ("ReLU", {"negative_slope": 0.1, "threshold": 0.3,
                             "max_value": 1.2}, (3, 5)),
    "relu_leaky": ("ReLU", {"negative_slope": 0.2}, (2, 6)),
    "leaky_relu_default": ("LeakyReLU", {}, (2, 6)),
    "leaky_relu": ("LeakyReLU", {"negative_slope": 0.05}, (2, 6)),
    "prelu": ("PReLU", {"alpha_initializer": "random_normal"}, (2, 4, 3)),
    "prelu_shared": ("PReLU", {"alpha_initializer": "random_normal",
                     "shared_axes": (1, 2)}, (2, 3, 4, 5)),
    "elu": ("ELU", {"alpha": 0.7}, (2, 6)),
    "softmax": ("Softmax", {}, (2, 5)),
    "softmax_axes": ("Softmax", {"axis": (1, 2)}, (2, 3, 4)),
}  # fmt: skip

# name: (layer class, rate): the values dropping from ones can give
RANDOM_VALUES = {
    "spatial_dropout1d": ("SpatialDropout1D", 0.4, (4, 6, 5)),
    "spatial_dropout2d": ("SpatialDropout2D", 0.3, (2, 4, 4, 6)),
    "alpha_dropout": ("AlphaDropout", 0.25, (8, 16)),
}


def _inputs(case, shape):
    return np.random.default_rng(len(case)).normal(size=shape).astype(np.float32)


def _case_inputs(case):
    return _inputs(case, CASES[case][2])


def _mask(shape):
    return np.random.default_rng(7).uniform(size=shape) > 0.3


def _keras_side(path):
    """Each case on Keras's JAX backend; numbers to `path`. Runs in a
    subprocess (see the module docstring)."""
    import keras

    keras.utils.set_random_seed(0)
    out = keras_reference.catalogue_numbers(CASES, _case_inputs)
    x = _inputs("softmax_masked", (3, 6))
    out["softmax_masked/y"] = np.asarray(keras.layers.Softmax()(x, mask=_mask(x.shape)))
    for case, (name, rate, shape) in RANDOM_VALUES.items():
        y = getattr(keras.layers, name)(rate)(np.ones(shape, "float32"), training=True)
        out[f"{case}/values"] = np.unique(np.round(np.asarray(y), 5))
    regularize = keras.layers.ActivityRegularization(l1=0.3, l2=0.2)
    regularize(_inputs("activity", (4, 5)))
    out["activity/loss"] = np.asarray(regularize.losses[0])
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_numbers(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "activations.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_match_keras(case, keras_numbers):
    keras_reference.assert_case_matches_keras(
        CASES, case, _case_inputs, keras_numbers, atol=1e-6
    )


def test_a_masked_softmax_matches_keras(keras_numbers):
    x = _inputs("softmax_masked", (3, 6))
    y, _ = layers.Softmax().apply({"params": {}, "state": {}}, x, _mask(x.shape))
    np.testing.assert_allclose(y, keras_numbers["softmax_masked/y"], atol=1e-6)


@pytest.mark.parametrize("case", sorted(RANDOM_VALUES))
def test_random_layers_take_the_values_keras_takes(case, keras_numbers):
    name, rate, shape = RANDOM_VALUES[case]
    y, _ = getattr(layers, name)(rate).apply(
        {"params": {}, "state": {}}, np.ones(shape, "float32"), training=True,
        rng=jax.random.key(0),
    )  # fmt: skip
    values = np.unique(np.round(np.asarray(y), 5))
    np.testing.assert_allclose(values, keras_numbers[f"{case}/values"], rtol=1e-5)


def test_activity_regularization_adds_the_loss_keras_adds(keras_numbers):
    x = _inputs("activity", (4, 5))
    layer = layers.ActivityRegularization(l1=0.3, l2=0.2)
    with added_losses.collect_losses() as added:
        y, _ = layer.apply({"params": {}, "state": {}}, x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_allclose(added, [keras_numbers["activity/loss"]], rtol=1e-6)
