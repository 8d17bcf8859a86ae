"""Mixed precision: half compute over float32 masters, float32 loss, and dynamic
loss scaling that skips non-finite steps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import stateless as sl
from train import steps
from train.precision import LossScaleState, cast_floats, dynamic_loss_scale

_rng = np.random.default_rng(0)
X = jnp.asarray(_rng.standard_normal((32, 4)), jnp.float32)
Y = X @ jnp.array([[1.0], [-2.0], [0.5], [3.0]])
SEEN = {}


def apply(variables, x, training=False, rng=None):
    SEEN["x"], SEEN["w"] = x.dtype, variables["params"]["w"].dtype
    return x @ variables["params"]["w"], variables["state"]


def mse(y, y_pred, sample_weight=None):
    return jnp.mean((y.astype(jnp.float32) - y_pred.astype(jnp.float32)) ** 2)


def _train(tx, dtype, n=300):
    variables = {"params": {"w": jnp.zeros((4, 1))}, "state": {}}
    ts = steps.init_train_state(variables, tx, {}, sl.random.key(0))
    step = jax.jit(steps.make_train_step(apply, mse, tx, {}, compute_dtype=dtype))
    losses = []
    for _ in range(n):
        ts, logs = step(ts, (X, Y))
        losses.append(float(logs["loss"]))
    return ts, losses


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_compute_keeps_float32_masters_and_learns(dtype):
    tx = optax.adam(0.05)
    if dtype == "float16":
        tx = dynamic_loss_scale(tx)
    ts, losses = _train(tx, dtype)
    assert SEEN == {"x": jnp.dtype(dtype), "w": jnp.dtype(dtype)}
    assert ts.params["w"].dtype == jnp.float32
    assert losses[-1] < losses[0] / 10  # the running mean of the loss fell
    np.testing.assert_allclose(ts.params["w"].ravel(), [1.0, -2.0, 0.5, 3.0], atol=0.02)


def test_loss_scale_skips_non_finite_steps_and_adapts():
    tx = dynamic_loss_scale(optax.sgd(1.0), initial_scale=8.0, period=2)
    params = {"w": jnp.ones(2)}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.array([8.0, jnp.nan])}, state, params)
    assert updates["w"].tolist() == [0.0, 0.0] and float(state.scale) == 4.0
    for expected in (4.0, 8.0):  # two finite steps double the scale
        updates, state = tx.update({"w": jnp.array([4.0, 4.0])}, state, params)
        assert float(state.scale) == expected
    assert updates["w"].tolist() == [-1.0, -1.0]  # 4, unscaled by the scale 4 it had
    assert isinstance(state, LossScaleState)


def test_cast_floats_leaves_integers_alone():
    tree = cast_floats({"a": jnp.ones(2), "b": jnp.arange(3), "c": 1.5}, "float16")
    assert tree["a"].dtype == jnp.float16 and tree["b"].dtype == jnp.int32
    assert tree["c"].dtype == jnp.float16
