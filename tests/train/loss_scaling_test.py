"""Loss scaling as Keras spells it: `LossScaleOptimizer` (dynamic) and an
optimizer's `loss_scale_factor` (fixed), in fit under mixed float16 and alone.
Ten steps against Keras's twins are in optimizers_keras_test.py."""

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nn
import stateless as sl
from nn import layers
from train import optimizers
from train.precision import LossScaleState


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    x, x_test, y, y_test = train_test_split(
        x, data.target, test_size=0.25, random_state=0, stratify=data.target
    )
    return x, y, x_test, y_test


def _fit(optimizer, digits, epochs=6, callbacks=()):
    x, y, x_test, y_test = digits
    model = nn.Sequential([layers.Input((64,)), layers.Dense(64, activation="relu"),
                           layers.Dense(10)])  # fmt: skip
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    model.fit(x, y, batch_size=50, epochs=epochs, verbose=0, seed=0,
              callbacks=list(callbacks))  # fmt: skip
    return model, model.evaluate(x_test, y_test, verbose=0)[1]


def test_mixed_float16_fit_scales_once_with_the_wrapping_optimizer(digits):
    sl.mixed_precision.set_global_policy("mixed_float16")
    wrapped = optimizers.LossScaleOptimizer(
        optimizers.Adam(3e-3), initial_scale=2.0**40, dynamic_growth_steps=20
    )  # fmt: skip
    last_epoch_slower = nn.callbacks.LearningRateScheduler(
        lambda epoch, rate: rate if epoch < 9 else 1e-4
    )  # sets the wrapper's rate, which is the inner optimizer's
    model, accuracy = _fit(wrapped, digits, epochs=10, callbacks=[last_epoch_slower])
    state = model.train_state.opt_state
    assert isinstance(state, LossScaleState)
    assert not isinstance(state.inner_state, LossScaleState)  # not scaled twice
    # float16's gradients overflow at 2**40: halved to a finite scale, which
    # then grew every 20 finite steps over the 270 steps
    assert 2.0**10 < float(state.scale) < 2.0**40
    assert accuracy > 0.95
    assert wrapped.inner_optimizer.learning_rate == 1e-4
    assert float(optimizers.learning_rate_of(state)) == pytest.approx(1e-4)


def test_a_fixed_factor_of_two_changes_no_bit_of_float32_training(digits):
    # scaling a loss by a power of two scales every gradient exactly
    plain, _ = _fit(optimizers.Adam(3e-3), digits, epochs=2)
    scaled, _ = _fit(optimizers.Adam(3e-3, loss_scale_factor=1024.0), digits, epochs=2)
    for a, b in zip(
        jax.tree.leaves(plain.variables), jax.tree.leaves(scaled.variables)
    ):
        np.testing.assert_array_equal(a, b)
    assert float(scaled.train_state.opt_state.scale) == 1024.0


def test_a_fixed_factor_is_kept_under_mixed_float16(digits):
    sl.mixed_precision.set_global_policy("mixed_float16")
    model, accuracy = _fit(optimizers.Adam(3e-3, loss_scale_factor=256.0), digits)
    state = model.train_state.opt_state
    assert float(state.scale) == 256.0 and not hasattr(state.inner_state, "scale")
    assert accuracy > 0.93


def test_scale_loss_gives_the_current_scale():
    assert optimizers.Adam(loss_scale_factor=4.0).scale_loss(2.0) == 8.0
    assert optimizers.Adam().scale_loss(2.0) == 2.0
    wrapped = optimizers.LossScaleOptimizer(optimizers.SGD(), initial_scale=8.0)
    assert wrapped.scale_loss(1.0) == 8.0
    weights = [np.ones(2, np.float32)]
    wrapped.build(weights)
    _, state = wrapped.stateless_apply(wrapped.variables, [np.full(2, np.inf)], weights)
    assert float(state[0]) == 4.0  # a non-finite step halves it
    assert optimizers.LossScaleOptimizer(optimizers.SGD(), clipnorm=None).name == (
        "loss_scale_optimizer"
    )  # Keras's common keywords at their defaults are accepted
