"""Pure steps: equal to a hand-written jax.jit + optax loop, fused steps equal to
single steps, purity, and randomness folded per step."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import stateless as sl
from train import steps

_rng = np.random.default_rng(0)
X = jnp.asarray(_rng.standard_normal((8, 4, 3)), jnp.float32)  # 8 batches of 4
Y = jnp.asarray(_rng.standard_normal((8, 4, 1)), jnp.float32)
VARIABLES = {"params": {"w": jnp.ones((3, 1)), "b": jnp.zeros((1,))}, "state": {"n": 0}}


def apply(variables, x, training=False, rng=None):
    p = variables["params"]
    y = x @ p["w"] + p["b"]
    if training:  # a dropout-like use of the key, and a counter in the state
        y = y * (1.0 + 0.01 * jax.random.normal(rng, y.shape))
    return y, {"n": variables["state"]["n"] + 1}


def mse(y, y_pred, sample_weight=None):
    return jnp.mean((y - y_pred) ** 2)


def penalty(params):
    return 0.01 * jnp.sum(params["w"] ** 2)


def _start(tx):
    return steps.init_train_state(VARIABLES, tx, {}, sl.random.key(0))


def test_train_step_equals_a_hand_written_jit_optax_loop():
    tx = optax.adam(0.01)
    step = jax.jit(steps.make_train_step(apply, mse, tx, {}, penalty_fn=penalty))
    ts = _start(tx)
    for i in range(8):
        ts, logs = step(ts, (X[i], Y[i]))

    params, opt_state, key = (
        VARIABLES["params"],
        tx.init(VARIABLES["params"]),
        sl.random.key(0),
    )

    @jax.jit
    def by_hand(params, opt_state, n, x, y):
        rng = jax.random.fold_in(key, n)

        def loss(p):
            y_pred, _ = apply({"params": p, "state": {"n": 0}}, x, True, rng)
            return mse(y, y_pred) + penalty(p)

        grads = jax.grad(loss)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    for i in range(8):
        params, opt_state = by_hand(params, opt_state, i, X[i], Y[i])
    chex.assert_trees_all_equal(ts.params, params)
    assert int(ts.step) == 8 and int(ts.state["n"]) == 8
    assert np.isfinite(float(logs["loss"]))


def test_fused_steps_equal_single_steps_exactly():
    tx = optax.sgd(0.05, momentum=0.9)
    single = jax.jit(steps.make_train_step(apply, mse, tx, {}))
    fused = jax.jit(steps.make_multi_step(steps.make_train_step(apply, mse, tx, {})))
    a = _start(tx)
    for i in range(8):
        a, logs_a = single(a, (X[i], Y[i]))
    b = _start(tx)
    b, logs_b = fused(b, (X[:4], Y[:4]))
    b, logs_b = fused(b, (X[4:], Y[4:]))
    chex.assert_trees_all_equal(a, b)
    chex.assert_trees_all_equal(logs_a, logs_b)


def conv_apply(variables, x, training=False, rng=None):
    y = jax.lax.conv_general_dilated(
        x, variables["params"]["k"], (1, 1), "SAME",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )  # fmt: skip
    return y.mean(axis=(1, 2)), variables["state"]


def _loops(fn, *args):
    """Whether the program `fn(*args)` lowers to keeps a loop."""
    return "stablehlo.while" in jax.jit(fn).lower(*args).as_text()


def test_fused_convolutions_unroll_on_cpu_and_match_the_loop():
    """XLA:CPU runs a convolution inside a loop ~6x slower, so the fused step
    unrolls there; rolled or not, the numbers are the same."""
    tx = optax.adam(0.01)
    variables = {"params": {"k": jnp.full((3, 3, 2, 1), 0.1)}, "state": {}}
    ts = steps.init_train_state(variables, tx, {}, sl.random.key(0))
    images = jnp.asarray(_rng.standard_normal((4, 2, 5, 5, 2)), jnp.float32)
    batches = (images, Y[:4, :2])
    conv_step = steps.make_train_step(conv_apply, mse, tx, {})
    auto = steps.make_multi_step(conv_step)
    rolled = steps.make_multi_step(conv_step, unroll=1)
    assert jax.default_backend() == "cpu"
    assert not _loops(auto, ts, batches)
    assert _loops(rolled, ts, batches)
    dense = steps.make_multi_step(steps.make_train_step(apply, mse, tx, {}))
    assert _loops(dense, _start(tx), (X[:4], Y[:4]))
    chex.assert_trees_all_close(
        jax.jit(auto)(ts, batches), jax.jit(rolled)(ts, batches), rtol=1e-6
    )


def test_steps_are_pure_and_leak_no_tracers():
    tx = optax.sgd(0.1)
    step = steps.make_train_step(apply, mse, tx, {})
    ts = _start(tx)
    with jax.checking_leaks():
        one = jax.jit(step)(ts, (X[0], Y[0]))
        two = jax.jit(step)(ts, (X[0], Y[0]))
    chex.assert_trees_all_equal(one, two)


def test_loss_is_the_running_mean_over_the_epoch():
    tx = optax.sgd(0.0)  # no learning: each batch's loss is fixed
    step = jax.jit(steps.make_train_step(lambda v, x, **k: apply(v, x), mse, tx, {}))
    ts = _start(tx)
    losses = []
    for i in range(3):
        ts, logs = step(ts, (X[i], Y[i]))
        losses.append(float(mse(Y[i], apply(VARIABLES, X[i])[0])))
    assert float(logs["loss"]) == pytest.approx(np.mean(losses), rel=1e-6)


def test_eval_and_predict_steps_run_in_inference_mode():
    tx = optax.sgd(0.1)
    ts = _start(tx)
    ts, logs = jax.jit(steps.make_eval_step(apply, mse, {}))(ts, (X[0], Y[0]))
    want = mse(Y[0], apply(VARIABLES, X[0])[0])
    np.testing.assert_allclose(logs["loss"], want, rtol=1e-6)
    chex.assert_trees_all_equal(ts.params, VARIABLES["params"])
    y = jax.jit(steps.make_predict_step(apply))(VARIABLES, X[0])
    chex.assert_trees_all_equal(y, apply(VARIABLES, X[0])[0])


def test_unpack_batch_fills_missing_parts_with_none():
    assert steps.unpack_batch((1,)) == (1, None, None)
    assert steps.unpack_batch((1, 2, 3)) == (1, 2, 3)
    assert steps.unpack_batch(5) == (5, None, None)
