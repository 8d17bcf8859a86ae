"""Keras's `*_constraint` keywords on the layers that hold weights: each
constrains the parameters it names (`depthwise_constraint` the depthwise
kernel...), survives the config, and `fit` projects after each update as
Keras does (the same weights after an epoch of SGD)."""

import jax
import numpy as np
import pytest

import nn
import stateless as sl
from nn import constraints, layers
from tests.keras_reference import keras_numbers

_rng = np.random.default_rng(3)
X = _rng.normal(size=(8, 4)).astype(np.float32)
Y = _rng.normal(size=(8, 3)).astype(np.float32)
KERNEL = (_rng.normal(size=(4, 3)) * 2).astype(np.float32)
BIAS = _rng.normal(size=(3,)).astype(np.float32)

BOTH = {"kernel_constraint": "non_neg", "bias_constraint": "non_neg"}
# (layer, its inputs, the parameters its constraints name)
CASES = {
    "dense": (layers.Dense(3, **BOTH), [(2, 4)], {"kernel", "bias"}),
    "conv1d": (layers.Conv1D(2, 3, **BOTH), [(1, 6, 2)], {"kernel", "bias"}),
    "conv2d_transpose": (
        layers.Conv2DTranspose(2, 3, **BOTH), [(1, 4, 4, 2)], {"kernel", "bias"}
    ),
    "depthwise": (
        layers.DepthwiseConv2D(3, depthwise_constraint="non_neg"),
        [(1, 5, 5, 2)], {"kernel"},
    ),
    "separable_pointwise": (
        layers.SeparableConv2D(2, 3, pointwise_constraint="non_neg",
                               bias_constraint="non_neg"),
        [(1, 5, 5, 2)], {"pointwise_kernel", "bias"},
    ),
    "separable_depthwise": (
        layers.SeparableConv1D(2, 3, depthwise_constraint="non_neg"),
        [(1, 6, 2)], {"depthwise_kernel"},
    ),
    "embedding": (
        layers.Embedding(10, 4, embeddings_constraint="non_neg"), "ids",
        {"embeddings"},
    ),
    "attention": (
        layers.MultiHeadAttention(2, 3, **BOTH), [(1, 3, 4), (1, 5, 4)],
        {"kernel", "bias"},
    ),
}  # fmt: skip


def _inputs(spec):
    if spec == "ids":
        return [np.array([[1, 2, 3]], np.int32)]
    return [_rng.normal(size=shape).astype(np.float32) for shape in spec]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_constraint_keyword_projects_the_parameters_it_names(case):
    layer, spec, named = CASES[case]
    params = layer.init(sl.random.key(0), *_inputs(spec))["params"]
    negative = jax.tree.map(lambda p: -abs(p) - 1.0, params)
    projected = layer.constrain(negative)
    for path, value in jax.tree_util.tree_leaves_with_path(projected):
        leaf = path[-1].key
        if leaf in named:
            assert np.all(np.asarray(value) == 0.0), (case, path)
        else:
            assert np.all(np.asarray(value) < 0.0), (case, path)
    again = type(layer).from_config(layer.get_config())
    assert again.param_constraints() == layer.param_constraints()
    assert set(layer.param_constraints()) == named


def _keras_side(path):
    import keras

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                3,
                kernel_constraint=keras.constraints.MaxNorm(1.0),
                bias_constraint=keras.constraints.NonNeg(),
            ),
        ]
    )
    model.set_weights([KERNEL, BIAS])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    kernel, bias = model.get_weights()
    np.savez(path, kernel=kernel, bias=bias)


def test_fit_projects_constrained_weights_as_keras_does(tmp_path):
    theirs = keras_numbers(__file__, tmp_path / "fit.npz")
    model = nn.Sequential(
        [
            layers.Input((4,)),
            layers.Dense(
                3,
                kernel_constraint=constraints.MaxNorm(1.0),
                bias_constraint=constraints.NonNeg(),
            ),
        ]
    )
    model.set_weights([KERNEL, BIAS])
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    kernel, bias = model.get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 1.0 + 1e-5)
    np.testing.assert_allclose(kernel, theirs["kernel"], atol=1e-5)
    np.testing.assert_allclose(bias, theirs["bias"], atol=1e-5)
