"""ReduceLROnPlateau and LearningRateScheduler: the rate of each epoch."""

import numpy as np
import pytest

from tests.train.callbacks.fakes import FakeModel, fit
from train.callbacks import History, LearningRateScheduler, ReduceLROnPlateau


def _rates(callback, values, key="val_loss", learning_rate=1.0):
    """The rate each epoch trained with (as logged), and the rate at the end."""
    model, history = FakeModel(learning_rate), History()
    logs = [{"loss": 1.0, key: value} for value in values]
    fit([callback, history], model, epochs=len(values), epoch_logs=logs)
    return history.history["learning_rate"], model.optimizer.learning_rate


def test_reduces_after_patience_then_waits_out_the_cooldown_down_to_min_lr():
    reduce = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    logged, final = _rates(reduce, [1.0] * 12)
    # Reductions at the ends of epochs 2, 5 and 8; epochs 3, 6, 9 cool down.
    assert logged == [1.0] * 3 + [0.5] * 3 + [0.25] * 3 + [0.2] * 3
    assert final == 0.2


def test_without_cooldown_every_patience_epochs_reduce():
    logged, final = _rates(ReduceLROnPlateau(factor=0.5, patience=2), [1.0] * 7)
    assert logged == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert final == 0.125


def test_an_improvement_restarts_the_wait():
    logged, final = _rates(ReduceLROnPlateau(patience=2), [1.0, 1.0, 0.5, 0.5, 0.5])
    assert logged == [1.0] * 5
    assert final == pytest.approx(0.1)


def test_changes_below_min_delta_are_no_improvement():
    reduce = ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.01)
    assert _rates(reduce, [1.0, 0.995, 0.9]) == ([1.0, 1.0, 0.5], 0.5)


def test_auto_mode_maximizes_accuracy():
    reduce = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    logged, _ = _rates(reduce, [0.5, 0.6, 0.55, 0.7], key="val_accuracy")
    assert logged == [1.0, 1.0, 1.0, 0.5]


def test_a_float32_rate_at_min_lr_is_left_alone(capsys):
    model = FakeModel(learning_rate=np.float32(0.2))  # a little above 0.2
    reduce = ReduceLROnPlateau(patience=1, min_lr=0.2, verbose=1)
    fit([reduce], model, epochs=3, epoch_logs=[{"val_loss": 1.0}] * 3)
    assert type(model.optimizer.learning_rate) is np.float32
    assert capsys.readouterr().out == ""


def test_a_missing_monitor_warns_and_leaves_the_rate():
    with pytest.warns(UserWarning, match="Available keys: learning_rate, loss"):
        logged, final = _rates(ReduceLROnPlateau(patience=0), [1.0, 2.0], key="x")
    assert (logged, final) == ([1.0, 1.0], 1.0)


def test_verbose_announces_each_reduction(capsys):
    _rates(ReduceLROnPlateau(factor=0.5, patience=1, verbose=1), [1.0, 1.0])
    out = capsys.readouterr().out
    assert out == "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.5.\n"


def test_factor_must_be_below_one():
    with pytest.raises(ValueError, match="factor=1.5"):
        ReduceLROnPlateau(factor=1.5)


def test_scheduler_sets_each_epochs_rate_from_the_current_one():
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return np.float64(lr / 2) if epoch % 2 else lr

    model, history = FakeModel(learning_rate=np.float32(0.5)), History()
    fit([LearningRateScheduler(schedule), history], model, epochs=4)
    assert seen == [(0, 0.5), (1, 0.5), (2, 0.25), (3, 0.25)]
    assert all(type(lr) is float for _, lr in seen)
    assert history.history["learning_rate"] == [0.5, 0.25, 0.25, 0.125]
    assert type(model.optimizer.learning_rate) is float


def test_scheduler_verbose_and_a_bad_schedule(capsys):
    fit([LearningRateScheduler(lambda epoch, lr: 0.25, verbose=1)], epochs=1)
    out = capsys.readouterr().out
    assert out == "\nEpoch 1: LearningRateScheduler setting learning rate to 0.25.\n"
    with pytest.raises(TypeError, match="Received: None at epoch 0"):
        fit([LearningRateScheduler(lambda epoch, lr: None)], epochs=1)


@pytest.mark.parametrize(
    "callback",
    [ReduceLROnPlateau(), LearningRateScheduler(lambda epoch, lr: lr)],
    ids=["ReduceLROnPlateau", "LearningRateScheduler"],
)
def test_a_schedule_as_the_optimizer_rate_is_refused(callback):
    model = FakeModel(learning_rate=lambda step: 0.1)
    with pytest.raises(TypeError, match="Received the schedule <function"):
        fit([callback], model, epochs=1, epoch_logs=[{"val_loss": 1.0}])
