"""One owner of a run's state: the trainer's RunContext. Models and callbacks
read and change the run through it; the loop trains a Program."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
from nn import layers
from tests.train.donation_test import record_shown
from train import Program, RunContext, callbacks, optimizers
from train.compiling import StepKind
from train.fit import Trainer

_rng = np.random.default_rng(5)
X = _rng.standard_normal((64, 3)).astype(np.float32)
Y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)


def apply(variables, x, training=False, rng=None):
    p = variables["params"]
    return x @ p["w"] + p.get("b", 0.0), variables["state"]


def init(key, x):
    return {"params": {"w": jnp.zeros((x.shape[-1], 1))}, "state": {}}


def program(**steps):
    return Program(apply=apply, init=init, **steps)


class ReadsAt(callbacks.Callback):
    """Reads `model.variables` after batch `at` only."""

    def __init__(self, at):
        super().__init__()
        self.at, self.kept = at, None

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.at:
            self.kept = self.model.variables


def test_a_trainer_trains_a_program_and_refuses_a_second_source_of_functions():
    trainer = Trainer(program(), "mse", optimizers.SGD(0.1))
    trainer.fit(X, Y, batch_size=16, epochs=30, verbose=0, seed=0)
    np.testing.assert_allclose(
        trainer.variables["params"]["w"], [[1.0], [-2.0], [0.5]], atol=0.05
    )
    with pytest.raises(TypeError, match="init_fn"):
        Trainer(program(), "mse", init_fn=init)
    with pytest.raises(TypeError, match="Program or an apply function"):
        Trainer(3, "mse")


def test_a_programs_own_step_replaces_the_default_one():
    calls = []

    def counting_step(ts, batch):
        calls.append(1)  # once per trace
        return trainer.default_step(StepKind.TRAIN)(ts, batch)

    trainer = Trainer(program(train_step=counting_step), "mse", optimizers.SGD(0.1))
    trainer.fit(X, Y, batch_size=16, epochs=2, verbose=0, seed=0)
    assert calls == [1] and int(trainer.train_state.step) == 8
    assert trainer.default_step(StepKind.TRAIN) is trainer.default_step(StepKind.TRAIN)


def test_only_the_step_after_a_read_keeps_the_parameters(monkeypatch):
    shown = record_shown(monkeypatch)
    trainer, reader = Trainer(program(), "mse", optimizers.SGD(0.1)), ReadsAt(1)
    trainer.fit(X, Y, batch_size=16, epochs=1, callbacks=[reader], verbose=0, seed=0)
    # The first step keeps what the caller gave; batch 1's read keeps step 2's.
    assert shown == [True, False, True, False]
    assert not any(leaf.is_deleted() for leaf in jax.tree.leaves(reader.kept))
    assert not np.array_equal(
        reader.kept["params"]["w"], trainer.variables["params"]["w"]
    )


def test_the_model_reads_its_variables_and_flags_from_the_context():
    model = nn.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.build()
    before = model.variables
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    context = model.trainer.context
    assert model.variables is before and context.variables is before
    model.fit(X, Y, batch_size=16, epochs=1, verbose=0, seed=0)
    ts = context.train_state
    assert model.variables["params"] is ts.params and model.train_state is ts
    model.stop_training = True
    assert context.stop_training
    context.stop()
    model.variables = before  # back to the start, optimizer state kept
    chex.assert_trees_all_equal(context.current.params, before["params"])
    assert context.current.opt_state is ts.opt_state


def test_recompiling_hands_the_variables_to_the_new_trainer():
    model = nn.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=16, epochs=2, verbose=0, seed=0)
    trained = model.variables
    model.compile(optimizer="adam", loss="mae")
    assert model.variables is trained and model.trainer.train_state is None


def test_a_rate_assigned_between_fits_changes_the_next_fit():
    trainer = Trainer(program(), "mse", optimizers.SGD(0.1))
    trainer.fit(X, Y, batch_size=16, epochs=1, verbose=0, seed=0)
    after_one = trainer.variables
    trainer.optimizer.learning_rate = 0.0
    trainer.fit(X, Y, batch_size=16, epochs=1, verbose=0, seed=1)
    chex.assert_trees_all_equal(trainer.variables, after_one)
    trainer.context.learning_rate = 0.1
    trainer.fit(X, Y, batch_size=16, epochs=1, verbose=0, seed=1)
    assert not np.array_equal(
        trainer.variables["params"]["w"], after_one["params"]["w"]
    )
    with pytest.raises(TypeError, match="schedule"):
        trainer.optimizer.learning_rate = lambda step: 0.1


def test_a_new_layout_of_variables_starts_a_fresh_state():
    trainer = Trainer(program(), "mse", optimizers.SGD(0.1))
    trainer.fit(X, Y, batch_size=16, epochs=1, verbose=0, seed=0)
    wider = {"params": {"w": jnp.zeros((3, 1)), "b": jnp.zeros(1)}, "state": {}}
    trainer.variables = wider
    assert trainer.train_state is None and trainer.variables is wider
    trainer.fit(X, Y, batch_size=16, epochs=1, verbose=0, seed=0)
    assert int(trainer.train_state.step) == 4


def test_a_context_holds_the_given_variables_until_a_run_begins():
    context = RunContext(optimizers.SGD(0.1))
    given = init(None, X)
    context.variables = given
    assert context.variables is given and context.train_state is None
    context.stop()
    assert context.stop_training
