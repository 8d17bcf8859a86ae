"""The fit loop donates only parameter buffers nobody else was shown, and an
interrupted fit leaves the model with its last finished step."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from train import callbacks, compiling, optimizers
from train._donation import donating_step
from train.fit import Trainer

_rng = np.random.default_rng(3)
X = _rng.standard_normal((64, 3)).astype(np.float32)
Y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)


def apply(variables, x, training=False, rng=None):
    return x @ variables["params"]["w"], variables["state"]


def init(key, x):
    return {"params": {"w": jnp.zeros((x.shape[-1], 1))}, "state": {}}


def trainer():
    return Trainer(apply, "mse", init_fn=init, optimizer=optimizers.SGD(0.1))


def _alive(variables):
    return not any(leaf.is_deleted() for leaf in jax.tree.leaves(variables))


class Keeper(callbacks.Callback):
    """Keeps every `model.variables` it is shown after a batch."""

    def __init__(self):
        super().__init__()
        self.kept = []

    def on_train_batch_end(self, batch, logs=None):
        self.kept.append(self.model.variables)


class StopAt(callbacks.Callback):
    """Raises KeyboardInterrupt after batch `at`; reads nothing of the model."""

    reads_model_per_batch = False

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.at:
            raise KeyboardInterrupt


def record_shown(monkeypatch):
    """The `shown` flag of each call of a compiled train step, in order."""
    shown = []

    def recording(step):
        run = donating_step(step)
        return lambda ts, batch, flag: (shown.append(flag), run(ts, batch, flag))[1]

    monkeypatch.setattr(compiling, "donating_step", recording)
    return shown


def test_only_the_first_step_of_a_run_keeps_its_parameters(monkeypatch):
    shown = record_shown(monkeypatch)
    t = trainer()
    start = t.variables = init(None, X)
    t.fit(X, Y, batch_size=16, epochs=2, verbose=1, shuffle=False, seed=0)
    # A progress bar reads only logs, so each epoch's first step alone is
    # given what the model showed (the caller's variables, then the epoch's).
    assert shown == [True, False, False, False] * 2
    assert _alive(start) and _alive(t.variables)
    np.testing.assert_allclose(
        t.variables["params"]["w"], [[1.0], [-2.0], [0.5]], atol=0.2
    )


def test_variables_a_callback_kept_stay_valid_and_differ_step_to_step():
    t, keeper = trainer(), Keeper()
    t.fit(X, Y, batch_size=16, epochs=1, callbacks=[keeper], verbose=0, seed=0)
    assert len(keeper.kept) == 4 and all(_alive(v) for v in keeper.kept)
    weights = [np.asarray(v["params"]["w"]) for v in keeper.kept]
    assert all(not np.array_equal(a, b) for a, b in zip(weights, weights[1:]))
    chex.assert_trees_all_equal(keeper.kept[-1], t.variables)


def test_an_interrupted_fit_leaves_the_last_finished_step():
    stopped = trainer()
    with pytest.raises(KeyboardInterrupt):
        stopped.fit(X, Y, batch_size=16, epochs=1, callbacks=[StopAt(2)],
                    verbose=0, shuffle=False, seed=0)  # fmt: skip
    three = trainer()
    three.fit(X[:48], Y[:48], batch_size=16, epochs=1, verbose=0, shuffle=False, seed=0)
    assert _alive(stopped.variables)
    chex.assert_trees_all_equal(stopped.variables, three.variables)
