"""Weight constraints: the same projections as Keras 3's, applied by `fit`
right after each optimizer update (never to a frozen weight)."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import constraints, layers
from stateless import ops

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

_rng = np.random.default_rng(0)
W = _rng.standard_normal((5, 3)).astype(np.float32) * 3


@pytest.mark.parametrize(
    "ours, reference",
    [
        (constraints.MaxNorm(1.5), keras.constraints.MaxNorm(1.5)),
        (constraints.MaxNorm(2.0, axis=1), keras.constraints.MaxNorm(2.0, axis=1)),
        (
            constraints.MinMaxNorm(0.5, 1.0, rate=0.5),
            keras.constraints.MinMaxNorm(0.5, 1.0, rate=0.5),
        ),
        (constraints.get("non_neg"), keras.constraints.get("non_neg")),
        (constraints.get("unit_norm"), keras.constraints.get("unit_norm")),
    ],
    ids=["max_norm", "max_norm_axis1", "min_max_norm", "non_neg", "unit_norm"],
)
def test_constraints_project_as_keras_does(ours, reference):
    np.testing.assert_allclose(
        np.asarray(ours(jnp.asarray(W))), np.asarray(reference(W)), rtol=1e-6
    )


def test_an_unknown_constraint_lists_the_valid_names():
    with pytest.raises(ValueError, match="Valid names: max_norm, min_max_norm"):
        constraints.get("positive")


class Bounded(layers.Layer):
    """A linear map whose kernel columns stay within norm 0.5, bias >= 0."""

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], 2), constraint=constraints.MaxNorm(0.5)
        )
        self.bias = self.add_weight(
            shape=(2,), initializer="zeros", constraint="non_neg"
        )

    def call(self, x):
        return ops.matmul(x, self.kernel) + self.bias


def _data():
    x = _rng.standard_normal((64, 4)).astype(np.float32)
    return x, (x @ _rng.standard_normal((4, 2)) * 3 - 5).astype(np.float32)


def test_fit_applies_the_constraints_after_every_update():
    x, y = _data()
    sl.set_random_seed(0)
    model = nn.Sequential([layers.Input((4,)), Bounded()])
    assert model.has_constraints()
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse")
    start = model.get_weights()
    model.train_on_batch(x, y)
    kernel, bias = model.get_weights()
    twin = nn.Sequential([layers.Input((4,)), Bounded()])
    twin.set_weights(start)
    free_kernel = _unconstrained_step(twin, x, y)
    np.testing.assert_allclose(
        kernel, np.asarray(constraints.MaxNorm(0.5)(free_kernel)), rtol=1e-5
    )
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, seed=0)
    kernel, bias = model.get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-5)
    assert np.all(bias >= 0.0)


def _unconstrained_step(model, x, y):
    """The kernel after one SGD step of the same loss, without the projection."""
    variables = model.variables

    def loss(params):
        pred, _ = model.apply({**variables, "params": params}, x)
        return jnp.mean(jnp.square(pred - y))

    grads = jax.grad(loss)(variables["params"])
    name = next(iter(variables["params"]))
    return variables["params"][name]["kernel"] - 0.1 * grads[name]["kernel"]


def test_a_frozen_weight_is_never_projected():
    x, y = _data()
    layer = Bounded()
    model = nn.Sequential([layers.Input((4,)), layer, layers.Dense(2)])
    wide = np.full((4, 2), 3.0, np.float32)  # violates the max norm
    layer.set_weights([wide, np.zeros(2, np.float32)])
    layer.trainable = False
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, seed=0)
    np.testing.assert_array_equal(layer.get_weights()[0], wide)
