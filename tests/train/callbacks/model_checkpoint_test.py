"""ModelCheckpoint: which saves happen, under which names or checkpoint
numbers, of which state."""

import chex
import pytest

from tests.train.callbacks.fakes import fit
from tests.train.checkpoint_test import Record, X, Y, template, trainer
from train.callbacks import ModelCheckpoint
from train.checkpoint import CheckpointManager

VAL_LOSS = [1.0, 0.8, 0.9, 0.85, 0.7]


def _fit(checkpoint, values=VAL_LOSS, key="val_loss", batches=2):
    logs = [{"loss": 2.0, key: value} for value in values]
    fit([checkpoint], epochs=len(values), batches=batches, epoch_logs=logs)


def _saved(directory):
    return {path.name: path.read_text() for path in sorted(directory.iterdir())}


def test_saves_every_epoch_with_epoch_and_logs_in_the_name(tmp_path):
    _fit(
        ModelCheckpoint(tmp_path / "{epoch:02d}-{val_loss:.2f}.stateless"), VAL_LOSS[:3]
    )
    assert _saved(tmp_path) == {
        "01-1.00.stateless": "model at step 2",
        "02-0.80.stateless": "model at step 4",
        "03-0.90.stateless": "model at step 6",
    }


def test_save_best_only_saves_exactly_the_improving_epochs(tmp_path):
    path = str(tmp_path / "best-{epoch:02d}-{val_loss:.2f}.stateless")
    _fit(ModelCheckpoint(path, save_best_only=True))
    assert _saved(tmp_path) == {
        "best-01-1.00.stateless": "model at step 2",
        "best-02-0.80.stateless": "model at step 4",
        "best-05-0.70.stateless": "model at step 10",
    }


def test_a_fixed_name_holds_the_best_epoch(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "best.stateless", save_best_only=True)
    _fit(checkpoint, [1.0, 0.8, 0.9, 0.85])
    assert _saved(tmp_path) == {"best.stateless": "model at step 4"}
    assert checkpoint.best == 0.8


def test_weights_only_and_max_mode(tmp_path):
    path = tmp_path / "w-{epoch}.weights"
    checkpoint = ModelCheckpoint(
        path, monitor="val_accuracy", save_best_only=True, save_weights_only=True
    )
    _fit(checkpoint, [0.5, 0.4, 0.6, 0.6], key="val_accuracy")
    assert _saved(tmp_path) == {
        "w-1.weights": "weights at step 2",
        "w-3.weights": "weights at step 6",
    }


def test_initial_value_threshold_must_be_beaten(tmp_path):
    path = tmp_path / "{epoch}.stateless"
    _fit(ModelCheckpoint(path, save_best_only=True, initial_value_threshold=0.82))
    assert sorted(_saved(tmp_path)) == ["2.stateless", "5.stateless"]


def test_every_n_batches_counts_over_epochs(tmp_path):
    path = tmp_path / "{epoch}-{batch}.stateless"
    _fit(ModelCheckpoint(path, save_freq=2), VAL_LOSS[:2], batches=3)
    assert _saved(tmp_path) == {
        "1-2.stateless": "model at step 2",
        "2-1.stateless": "model at step 4",
        "2-3.stateless": "model at step 6",
    }


def test_creates_the_missing_directory(tmp_path):
    _fit(ModelCheckpoint(tmp_path / "run" / "ckpt" / "m.stateless"), [1.0])
    assert _saved(tmp_path / "run" / "ckpt") == {"m.stateless": "model at step 2"}


def test_a_missing_monitor_warns_and_saves(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "{epoch}.stateless", save_best_only=True)
    with pytest.warns(UserWarning, match="monitors 'val_loss'.*keys: loss, val_acc"):
        _fit(checkpoint, [0.5, 0.4], key="val_acc")
    assert sorted(_saved(tmp_path)) == ["1.stateless", "2.stateless"]


def test_a_field_missing_from_the_logs_raises(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path / "{epoch}-{val_auc:.2f}.stateless")
    with pytest.raises(KeyError, match="'val_auc', which the logs lack"):
        _fit(checkpoint, [1.0])


def test_verbose_reports_each_decision(tmp_path, capsys):
    path = str(tmp_path / "m.stateless")
    _fit(ModelCheckpoint(path, save_best_only=True, verbose=1), [1.0, 1.5])
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from inf to 1.00000, saving model to {path}\n"
        "\nEpoch 2: val_loss did not improve from 1.00000\n"
    )
    _fit(ModelCheckpoint(path, verbose=1), [1.0])
    assert capsys.readouterr().out == f"\nEpoch 1: saving model to {path}\n"


@pytest.mark.parametrize("save_freq", ["batch", 0, -3, 1.5, True])
def test_rejects_a_bad_save_freq(save_freq):
    with pytest.raises(ValueError, match="save_freq"):
        ModelCheckpoint("m.stateless", save_freq=save_freq)


class FakeManager:
    """Records what a CheckpointManager would save: (number, step)."""

    def __init__(self, unit):
        self.unit, self.saved, self.waited = unit, [], False

    def path(self, number):
        return f"ckpt/{self.unit}_{number}"

    def save(self, number, ts, logs):
        self.saved.append((number, int(ts.step)))

    def wait(self):
        self.waited = True


def test_a_manager_gets_the_best_epochs_as_epochs_completed():
    manager = FakeManager("epoch")
    _fit(ModelCheckpoint(manager=manager, save_best_only=True))
    assert manager.saved == [(1, 2), (2, 4), (5, 10)] and manager.waited
    manager = FakeManager("epoch")
    checkpoint = ModelCheckpoint(
        manager=manager, monitor="val_accuracy", save_best_only=True
    )
    _fit(checkpoint, [0.5, 0.4, 0.6, 0.6], key="val_accuracy")
    assert manager.saved == [(1, 2), (3, 6)] and checkpoint.best == 0.6


def test_a_step_manager_gets_every_n_batches_by_step(capsys):
    manager = FakeManager("step")
    _fit(
        ModelCheckpoint(manager=manager, save_freq=2, verbose=1), [1.0, 1.0], batches=3
    )
    assert manager.saved == [(2, 2), (4, 4), (6, 6)]
    assert "Epoch 2: saving model to ckpt/step_4\n" in capsys.readouterr().out


@pytest.mark.parametrize(
    "kwargs, message",
    [({}, "a filepath or a manager"),
     ({"filepath": "m.stateless", "manager": FakeManager("epoch")}, "not both"),
     ({"manager": FakeManager("epoch"), "save_weights_only": True}, "filepath"),
     ({"manager": FakeManager("epoch"), "save_freq": 5}, r"unit='step'"),
     ({"manager": FakeManager("step")}, r"unit='epoch'")],
)  # fmt: skip
def test_rejects_a_manager_that_does_not_fit(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelCheckpoint(**kwargs)


def test_an_orbax_manager_keeps_the_best_train_states(tmp_path):
    manager = CheckpointManager(tmp_path)
    record = Record()  # the state of each step, copied
    t = trainer()
    best = ModelCheckpoint(
        manager=manager, save_best_only=True, mode="min", initial_value_threshold=3.0
    )
    history = t.fit(
        X, Y, batch_size=16, epochs=4, validation_data=(X[:16], Y[:16]),
        verbose=0, seed=5, callbacks=[best, record],
    )  # fmt: skip
    improving, value = [], 3.0
    for epoch, val_loss in enumerate(history.history["val_loss"], start=1):
        if val_loss < value:
            improving, value = [*improving, epoch], val_loss
    assert 0 < len(improving) < 4  # some epochs saved, some skipped
    assert manager.checkpoints == improving and best.best == value
    for epoch in improving:  # 4 steps an epoch
        back = manager.restore(template(t), epoch)
        chex.assert_trees_all_equal(back, record.states[4 * epoch])
    manager.close()


def test_an_orbax_step_manager_saves_every_n_steps(tmp_path):
    manager = CheckpointManager(tmp_path, unit="step")
    record = Record()
    t = trainer()
    checkpoint = ModelCheckpoint(manager=manager, save_freq=3)
    t.fit(
        X, Y, batch_size=16, epochs=2, verbose=0, seed=5, callbacks=[checkpoint, record]
    )
    assert manager.checkpoints == [3, 6]
    for step in (3, 6):
        back = manager.restore(template(t), step)
        chex.assert_trees_all_equal(back, record.states[step])
    manager.close()
