"""Checkpointing a training run with orbax: keeping the newest or the best,
exact restores, step checkpoints, and resuming a run bit for bit."""

import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from train import optimizers
from train.callbacks import Callback, CheckpointCallback
from train.checkpoint import CheckpointManager
from train.fit import Trainer
from train.steps import TrainState, init_train_state

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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


def trainer(steps_per_execution=1):
    return Trainer(
        apply, "mse", optimizers.Adam(0.05), metrics=["mae"], init_fn=init,
        steps_per_execution=steps_per_execution,
    )  # fmt: skip


def fit(t, epochs, initial_epoch=0, callbacks=()):
    t.fit(
        X, Y, batch_size=16, epochs=epochs, initial_epoch=initial_epoch,
        shuffle=True, verbose=0, seed=5, callbacks=list(callbacks),
    )  # fmt: skip
    return t


def template(t):
    return init_train_state(init(None, X), t.tx, t.metrics, sl.random.key(0))


class Record(Callback):
    """Copies the live state at each batch end, by step (the next step
    donates the optimizer and metric buffers)."""

    def __init__(self):
        super().__init__()
        self.states = {}

    def on_train_batch_end(self, batch, logs=None):
        ts = self.model.train_state
        self.states[int(ts.step)] = jax.tree.map(lambda x: x.copy(), ts)


def test_keep_n_deletes_older_epochs_and_save_every_skips(tmp_path):
    keep = CheckpointManager(tmp_path / "keep", max_to_keep=2)
    every = CheckpointManager(tmp_path / "every", async_save=False)
    callbacks = [CheckpointCallback(keep), CheckpointCallback(every, save_every=2)]
    fit(trainer(), 5, callbacks=callbacks)
    assert keep.checkpoints == [4, 5] and keep.latest == 5
    assert sorted(os.listdir(tmp_path / "keep")) == ["epoch_4", "epoch_5"]
    assert every.checkpoints == [2, 4]
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
    assert low.checkpoints == [2, 4] and low.best == 2
    assert high.checkpoints == [3] and high.best == 3
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
        manager.restore(saved, number=7)
    manager.close()


def test_the_callback_saves_the_live_state_of_each_epoch(tmp_path):
    manager = CheckpointManager(tmp_path)
    full = fit(trainer(), 3, callbacks=[CheckpointCallback(manager)])
    two = fit(trainer(), 2)  # the same run, stopped after 2 epochs
    chex.assert_trees_all_equal(manager.restore(two.train_state, 2), two.train_state)
    chex.assert_trees_all_equal(manager.restore(full.train_state), full.train_state)
    manager.close()


def test_the_callback_saves_the_models_train_state():
    saved = []
    fake = SimpleNamespace(
        unit="epoch", save=lambda epoch, ts, logs: saved.append((epoch, ts))
    )
    callback = CheckpointCallback(fake)
    callback.set_model(SimpleNamespace(train_state="ts"))
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
    fit(resumed, 4, initial_epoch=manager.latest)
    chex.assert_trees_all_equal(resumed.variables, straight.variables)
    chex.assert_trees_all_equal(resumed.train_state, straight.train_state)
    manager.close()


@pytest.mark.parametrize("k, saved", [(1, [3, 6]), (2, [4, 6])])
def test_step_checkpoints_hold_the_live_state_of_their_step(tmp_path, k, saved):
    manager = CheckpointManager(tmp_path, unit="step")  # async, as by default
    record = Record()
    t = trainer(steps_per_execution=k)  # 4 steps an epoch
    fit(t, 2, callbacks=[CheckpointCallback(manager, save_every=3), record])
    assert manager.checkpoints == saved  # each time the step passes 3 or 6
    for step in saved:
        back = manager.restore(template(t), step)
        chex.assert_trees_all_equal(back, record.states[step])
        assert int(back.step) == step
    manager.close()


def test_a_fit_resumed_from_a_step_checkpoint_restarts_its_epoch(tmp_path):
    manager = CheckpointManager(tmp_path, unit="step", async_save=False)
    fit(trainer(), 2, callbacks=[CheckpointCallback(manager, 3)])
    resumed = trainer()
    resumed.train_state = manager.restore(template(resumed), 6)  # in epoch 1
    fit(resumed, 2, initial_epoch=6 // 4, callbacks=[CheckpointCallback(manager, 3)])
    assert int(resumed.train_state.step) == 6 + 4  # all of epoch 1, again
    assert manager.checkpoints == [3, 6, 9]
    manager.close()


def test_epoch_and_step_checkpoints_share_a_directory_apart(tmp_path):
    epochs = CheckpointManager(tmp_path)
    steps = CheckpointManager(tmp_path, unit="step", max_to_keep=1)
    callbacks = [CheckpointCallback(epochs), CheckpointCallback(steps, 4)]
    t = fit(trainer(), 2, callbacks=callbacks)
    assert sorted(os.listdir(tmp_path)) == ["epoch_1", "epoch_2", "step_8"]
    assert epochs.checkpoints == [1, 2] and steps.checkpoints == [8]
    assert steps.path(8) == os.path.join(tmp_path, "step_8")
    chex.assert_trees_all_equal(epochs.restore(template(t)), steps.restore(template(t)))
    for m in (epochs, steps):
        m.close()


def test_bad_unit_and_interval_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unit"):
        CheckpointManager(tmp_path, unit="batch")
    manager = CheckpointManager(tmp_path)
    for every in (0, 1.5):
        with pytest.raises(ValueError, match="save_every"):
            CheckpointCallback(manager, every)
    manager.close()


def big_state(k):
    """Checkpoint k of the killed saver: 64 MB of noise, a moment to write."""
    w = jax.random.normal(jax.random.key(k), (16_000_000,))
    return TrainState(jnp.int32(k), {"w": w}, {}, (), {}, sl.random.key(k))


SAVER = """
import sys
from tests.train.checkpoint_test import big_state
from train.checkpoint import CheckpointManager
manager = CheckpointManager(sys.argv[1], async_save=False)
manager.save(1, big_state(1))
for k in range(2, 100):
    state = big_state(k)
    print("saving", k, flush=True)
    manager.save(k, state)
"""


def _kill_while_saving(directory, delay):
    """Runs SAVER until it starts checkpoint 2, SIGKILLs it `delay` s later;
    returns the number it was saving when killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(directory)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().split() == [b"saving", b"2"]
        time.sleep(delay)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return int(([b"saving", b"2"] + proc.stdout.read().split())[-1])


def test_a_saver_killed_mid_write_leaves_the_previous_checkpoint(tmp_path):
    for attempt, delay in enumerate((0.1, 0.05, 0.15, 0.02)):
        directory = tmp_path / str(attempt)
        saving = _kill_while_saving(directory, delay)
        partial = [name for name in os.listdir(directory) if "tmp" in name]
        if partial:  # killed mid-write, as wanted: else try another delay
            break
    else:
        pytest.fail("the saver was never killed mid-write")
    assert partial[0].startswith(f"epoch_{saving}.")
    manager = CheckpointManager(directory)
    assert manager.checkpoints == list(range(1, saving))
    back = manager.restore(big_state(0))
    chex.assert_trees_all_equal(back, big_state(saving - 1))
    manager.close()
