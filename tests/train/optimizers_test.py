"""Optimizers: the same updates as optax's own, clipping, decay, accumulation, and
a learning rate that changes between steps without recompiling."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from train import optimizers

PARAMS = {"w": jnp.array([1.0, -2.0, 3.0]), "b": jnp.array(0.5)}
GRADS = [
    {"w": jnp.array([0.1, 0.2, -0.3]), "b": jnp.array(1.0)},
    {"w": jnp.array([-0.5, 0.1, 0.0]), "b": jnp.array(-2.0)},
    {"w": jnp.array([0.3, 0.3, 0.3]), "b": jnp.array(0.1)},
]


def _run(tx, params=PARAMS, grads=GRADS):
    state = tx.init(params)
    for g in grads:
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
    return params


@pytest.mark.parametrize(
    "ours, reference",
    [
        (optimizers.SGD(0.1), optax.sgd(0.1)),
        (optimizers.SGD(0.1, momentum=0.9, nesterov=True), optax.sgd(0.1, 0.9, True)),
        (optimizers.Adam(0.01), optax.adam(0.01, eps=1e-7)),
        (
            optimizers.AdamW(0.01, weight_decay=0.1),
            optax.chain(optax.adam(0.01, eps=1e-7), optax.add_decayed_weights(-0.001)),
        ),
        (optimizers.RMSprop(0.01), optax.rmsprop(0.01, 0.9, 1e-7)),
        (optimizers.Adagrad(0.1), optax.adagrad(0.1, 0.1, 1e-7)),
        (optimizers.Lion(0.01), optax.lion(0.01, 0.9, 0.99)),
    ],
    ids=["sgd", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "lion"],
)
def test_updates_match_optax(ours, reference):
    chex.assert_trees_all_close(_run(ours.transform()), _run(reference), rtol=1e-6)


def test_clipping_options():
    big = [{"w": jnp.array([3.0, 4.0, 0.0]), "b": jnp.array(10.0)}]
    by_value = _run(optimizers.SGD(1.0, clipvalue=1.0).transform(), grads=big)
    np.testing.assert_allclose(by_value["w"], PARAMS["w"] - jnp.array([1.0, 1.0, 0.0]))
    by_norm = _run(optimizers.SGD(1.0, clipnorm=1.0).transform(), grads=big)
    np.testing.assert_allclose(by_norm["w"], PARAMS["w"] - jnp.array([0.6, 0.8, 0.0]))
    np.testing.assert_allclose(by_norm["b"], PARAMS["b"] - 1.0)
    by_global = _run(optimizers.SGD(1.0, global_clipnorm=1.0).transform(), grads=big)
    norm = np.sqrt(9 + 16 + 100)
    np.testing.assert_allclose(by_global["b"], PARAMS["b"] - 10.0 / norm, rtol=1e-6)


def test_gradient_accumulation_applies_the_mean_every_k_steps():
    tx = optimizers.SGD(1.0, gradient_accumulation_steps=2).transform()
    after_one = _run(tx, grads=GRADS[:1])
    chex.assert_trees_all_close(after_one, PARAMS)  # nothing applied yet
    after_two = _run(tx, grads=GRADS[:2])
    mean = jax.tree.map(lambda a, b: (a + b) / 2, GRADS[0], GRADS[1])
    chex.assert_trees_all_close(
        after_two, jax.tree.map(lambda p, g: p - g, PARAMS, mean)
    )


def test_learning_rate_changes_in_the_state_without_recompiling():
    tx = optimizers.SGD(0.1).transform()
    state = tx.init(PARAMS)
    step = jax.jit(lambda g, s: tx.update(g, s, PARAMS))
    first, state = step(GRADS[0], state)
    state = optimizers.with_learning_rate(state, 0.01)
    assert float(optimizers.learning_rate_of(state)) == pytest.approx(0.01)
    second, _ = step(GRADS[0], state)
    np.testing.assert_allclose(second["w"], first["w"] / 10, rtol=1e-6)
    assert step._cache_size() == 1
    accumulating = optimizers.Adam(gradient_accumulation_steps=3).transform()
    state = optimizers.with_learning_rate(accumulating.init(PARAMS), 0.5)
    assert float(optimizers.learning_rate_of(state)) == 0.5


def test_schedules_are_evaluated_per_step():
    schedule = optax.linear_schedule(1.0, 0.0, transition_steps=2)
    params = _run(optimizers.SGD(schedule).transform(), grads=GRADS[:2])
    want = PARAMS["w"] - 1.0 * GRADS[0]["w"] - 0.5 * GRADS[1]["w"]
    np.testing.assert_allclose(params["w"], want, rtol=1e-6)


def test_names_and_errors():
    assert isinstance(optimizers.get("AdamW"), optimizers.AdamW)
    assert optimizers.get("sgd").learning_rate == 0.01
    with pytest.raises(
        ValueError, match="unknown optimizer 'adamax'. Valid names: sgd"
    ):
        optimizers.get("adamax")
