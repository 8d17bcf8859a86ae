"""Checkpointing a training run with orbax: keeping the newest or the best,
exact restores, and resuming a run bit for bit."""

import os
from types import SimpleNamespace

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from train import optimizers
from train.checkpoint import CheckpointCallback, CheckpointManager
from train.fit import Trainer
from train.steps import init_train_state

_rng = np.random.default_rng(0)
X = _rng.standard_normal((64, 3)).astype(np.float32)
Y = X @ np.array([[2.0], [-1.0], [0.5]], np.float32) + 0.3


def apply(variables, x, training=False, rng=None):
    p = variables["params"]
    h = x @ p["w"] + p["b"]
    if training:  # dropout on the inputs: the run's key matters
        keep = jax.random.bernoulli(rng, 0.8, x.shape)
        h = (x * keep / 0.8) @ p["w"] + p["b"]
    return h, variables["state"]


def init(key, x):
    return {
        "params": {"w": jnp.zeros((x.shape[-1], 1)), "b": jnp.zeros((1,))},
        "state": {"seen": jnp.zeros((), jnp.int32)},
    }


def trainer():
    return Trainer(apply, "mse", optimizers.Adam(0.05), metrics=["mae"], init_fn=init)


def fit(t, epochs, initial_epoch=0, callbacks=()):
    t.fit(
        X, Y, batch_size=16, epochs=epochs, initial_epoch=initial_epoch,
        shuffle=True, verbose=0, seed=5, callbacks=list(callbacks),
    )  # fmt: skip
    return t


def template(t):
    return init_train_state(init(None, X), t.tx, t.metrics, sl.random.key(0))


def test_keep_n_deletes_older_epochs_and_save_every_skips(tmp_path):
    keep = CheckpointManager(tmp_path / "keep", max_to_keep=2)
    every = CheckpointManager(tmp_path / "every", save_every_epochs=2, async_save=False)
    fit(trainer(), 5, callbacks=[CheckpointCallback(keep), CheckpointCallback(every)])
    assert keep.all_epochs == [4, 5] and keep.latest_epoch == 5
    assert sorted(os.listdir(tmp_path / "keep")) == ["4", "5"]
    assert every.all_epochs == [2, 4]
    for m in (keep, every):
        m.close()


def test_best_by_metric_keeps_the_best(tmp_path):
    ts = template(trainer())
    low = CheckpointManager(tmp_path / "low", max_to_keep=2, best_metric="val_loss")
    high = CheckpointManager(
        tmp_path / "high", max_to_keep=1, best_metric="acc", best_mode="max"
    )
    for epoch, value in enumerate([0.5, 0.2, 0.9, 0.3, 0.8], start=1):
        low.save(epoch, ts, {"val_loss": value, "loss": 1.0})
        high.save(epoch, ts, {"acc": value})
    low.wait()
    assert low.all_epochs == [2, 4] and low.best_epoch == 2
    assert high.all_epochs == [3] and high.best_epoch == 3
    with pytest.raises(KeyError, match="val_loss"):
        low.save(6, ts, {"loss": 1.0})
    for m in (low, high):
        m.close()


def test_restore_gives_exactly_the_saved_state(tmp_path):
    t = fit(trainer(), 3)
    saved = t.train_state
    manager = CheckpointManager(tmp_path)
    manager.save(3, saved, {"loss": 1.0})
    back = manager.restore(template(t))
    chex.assert_trees_all_equal(back, saved)
    assert type(back.opt_state) is type(saved.opt_state)
    assert jax.tree.structure(back) == jax.tree.structure(saved)
    assert [x.dtype for x in jax.tree.leaves(back)] == [
        x.dtype for x in jax.tree.leaves(saved)
    ]
    with pytest.raises(FileNotFoundError):
        manager.restore(saved, epoch=7)
    manager.close()


def test_the_callback_saves_the_live_state_of_each_epoch(tmp_path):
    manager = CheckpointManager(tmp_path)
    full = fit(trainer(), 3, callbacks=[CheckpointCallback(manager)])
    two = fit(trainer(), 2)  # the same run, stopped after 2 epochs
    chex.assert_trees_all_equal(manager.restore(two.train_state, 2), two.train_state)
    chex.assert_trees_all_equal(manager.restore(full.train_state), full.train_state)
    manager.close()


def test_the_callback_finds_the_trainer_of_a_model():
    saved = []
    fake = SimpleNamespace(save=lambda epoch, ts, logs: saved.append((epoch, ts)))
    callback = CheckpointCallback(fake)
    callback.set_model(SimpleNamespace(trainer=SimpleNamespace(train_state="ts")))
    callback.on_epoch_end(0, {})
    assert saved == [(1, "ts")]
    callback.set_model(SimpleNamespace())
    with pytest.raises(ValueError, match="train_state"):
        callback.on_epoch_end(1, {})


def test_resuming_from_a_checkpoint_is_bit_identical(tmp_path):
    straight = fit(trainer(), 4)
    manager = CheckpointManager(tmp_path)
    fit(trainer(), 2, callbacks=[CheckpointCallback(manager)])
    resumed = trainer()  # a new trainer, as in a new process
    resumed.train_state = manager.restore(template(resumed))
    fit(resumed, 4, initial_epoch=manager.latest_epoch)
    chex.assert_trees_all_equal(resumed.variables, straight.variables)
    chex.assert_trees_all_equal(resumed.train_state, straight.train_state)
    manager.close()
