"""The compiled train step carries its state packed: the scalars and small
arrays in one vector per dtype, the big arrays as they are, the key beside.
Packing loses nothing, and a fit trains the same packed or not."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from train import packing, steps
from train.compiling import StepKind
from train.fit import Trainer
from train.optimizers import Adam


def _state(key=None):
    big = jnp.arange(packing.SMALL_ELEMENTS + 1, dtype=jnp.float32)
    return steps.TrainState(
        step=jnp.int32(7),
        params={"big": big, "bias": jnp.arange(3.0), "half": jnp.ones(2, jnp.bfloat16)},
        state={"count": jnp.int32(2)},
        opt_state=(jnp.int32(1), {"mu": jnp.full((2, 2), 0.5)}),
        metrics={"loss": {"total": jnp.float32(4.0), "count": jnp.float32(2.0)}},
        key=jax.random.PRNGKey(0) if key is None else key,
    )


def test_unpack_gives_back_every_leaf_bit_for_bit_with_its_shape_and_dtype():
    ts = _state()
    packed = packing.pack(ts)
    chex.assert_trees_all_equal(packing.unpack(packed), ts, strict=True)
    assert packed.arrays[0] is ts.params["big"]  # too big: the same buffer
    # bfloat16, float32 and int32 vectors; the big array and the key beside
    assert [str(v.dtype) for v in packed.vectors] == ["bfloat16", "float32", "int32"]
    assert packed.vectors[1].shape == (3 + 4 + 2,)
    assert packed.layout.kept == 1 and packed.key is ts.key


def test_a_typed_key_and_a_traced_round_trip_pack_alike():
    ts = _state(key=jax.random.key(1))
    packed = packing.pack(ts)

    @jax.jit
    def round_trip(p, key):
        return packing.pack(packing.unpack(p, key), like=p.layout)

    again = round_trip(packed, packed.key)
    assert again.layout == packed.layout
    chex.assert_trees_all_equal(again.vectors, packed.vectors)
    assert jax.dtypes.issubdtype(packing.unpack(packed).key.dtype, jax.dtypes.prng_key)


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 4)).astype(np.float32)
    return x, (x @ rng.standard_normal((4, 1))).astype(np.float32)


def _apply(variables, x, training=False, rng=None):
    p = variables["params"]
    h = jnp.tanh(x @ p["w1"] + p["b1"])
    return h @ p["w2"] + p["b2"], variables["state"]


def _init(key, x):
    k1, k2 = jax.random.split(key)
    return {
        "params": {
            "w1": jax.random.normal(k1, (4, 80)) * 0.3, "b1": jnp.zeros(80),
            "w2": jax.random.normal(k2, (80, 1)) * 0.3, "b2": jnp.zeros(1),
        },
        "state": {},
    }  # fmt: skip


@pytest.mark.parametrize("small", [0, 100])
def test_a_fit_trains_the_same_whatever_is_packed(monkeypatch, small):
    x, y = _data()

    def fit():
        t = Trainer(_apply, "mse", init_fn=_init, optimizer=Adam(0.01))
        history = t.fit(x, y, batch_size=16, epochs=3, verbose=0, seed=0)
        return t, history.history["loss"]

    reference, reference_loss = fit()
    monkeypatch.setattr(packing, "SMALL_ELEMENTS", small)  # w1 (320) stays an array
    trained, loss = fit()
    # XLA fuses the packed step differently: equal up to float rounding
    chex.assert_trees_all_close(trained.variables, reference.variables, atol=1e-6)
    np.testing.assert_allclose(loss, reference_loss, rtol=1e-6)
    assert loss[-1] < 0.5 * loss[0]
    assert int(trained.train_state.step) == 18


def test_a_train_step_that_changes_the_key_keeps_its_change():
    x, y = _data()
    trainers = []

    def train_step(ts, batch):  # the default step, then a new key each step
        ts, logs = trainers[0].default_step(StepKind.TRAIN)(ts, batch)
        return ts._replace(key=jax.random.fold_in(ts.key, 1)), logs

    t = Trainer(
        _apply, "mse", init_fn=_init, optimizer=Adam(0.01), train_step=train_step
    )
    trainers.append(t)
    t.fit(x, y, batch_size=32, epochs=1, verbose=0, seed=0)
    expected = jax.random.PRNGKey(0)
    for _ in range(3):
        expected = jax.random.fold_in(expected, 1)
    np.testing.assert_array_equal(t.train_state.key, expected)
