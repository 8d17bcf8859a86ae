"""EarlyStopping: stop at the right epoch, restore the best epoch's variables."""

import numpy as np
import pytest

from tests.train.callbacks.fakes import FakeModel, fit
from train.callbacks import EarlyStopping, LambdaCallback


def _run(stop, values, key="val_loss", batches=2):
    """Fits until `stop` stops; returns the model, epochs run, and per-epoch vars."""
    model, seen = FakeModel(), []
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.variables))
    logs = [{"loss": 1.0, key: value} for value in values]
    epochs = fit(
        [keep, stop], model, epochs=len(values), batches=batches, epoch_logs=logs
    )
    return model, epochs, seen


def test_stops_after_patience_epochs_and_restores_the_best_variables():
    stop = EarlyStopping(patience=2, restore_best_weights=True)
    model, epochs, seen = _run(stop, [1.0, 0.8, 0.9, 0.85, 0.95])
    assert (epochs, stop.stopped_epoch) == (4, 3)
    assert (stop.best, stop.best_epoch) == (0.8, 1)
    assert model.variables is seen[1]  # the very pytree of epoch 1, not a copy
    np.testing.assert_array_equal(model.variables["params"]["w"], [4.0, 4.0])


def test_without_restoring_the_last_variables_stay():
    model, epochs, seen = _run(EarlyStopping(patience=2), [1.0, 0.8, 0.9, 0.85, 0.95])
    assert epochs == 4
    assert model.variables is seen[3]


def test_patience_zero_stops_at_the_first_epoch_without_improvement():
    stop = EarlyStopping(patience=0)
    _, epochs, _ = _run(stop, [1.0, 0.8, 0.9, 0.7])
    assert (epochs, stop.stopped_epoch) == (3, 2)


def test_restores_the_best_epoch_also_when_training_runs_to_the_end():
    stop = EarlyStopping(patience=5, restore_best_weights=True)
    model, epochs, seen = _run(stop, [1.0, 0.5, 0.7, 0.6])
    assert (epochs, stop.stopped_epoch) == (4, 0)
    assert model.variables is seen[1]


def test_auto_mode_maximizes_accuracy():
    stop = EarlyStopping(monitor="val_accuracy", patience=1)
    _, epochs, _ = _run(stop, [0.5, 0.7, 0.9, 0.8, 0.95], key="val_accuracy")
    assert (epochs, stop.stopped_epoch, stop.best) == (4, 3, 0.9)


def test_changes_below_min_delta_are_no_improvement():
    stop = EarlyStopping(patience=1, min_delta=0.1)
    _, epochs, _ = _run(stop, [1.0, 0.95, 0.5])
    assert (epochs, stop.stopped_epoch, stop.best) == (2, 1, 1.0)


def test_without_beating_the_baseline_patience_runs_out():
    values = [0.9, 0.8, 0.7, 0.75, 0.4]  # improving, but not on the baseline 0.5
    _, epochs, _ = _run(EarlyStopping(patience=3), values)
    assert epochs == 5
    stop = EarlyStopping(patience=3, baseline=0.5, restore_best_weights=True)
    model, epochs, seen = _run(stop, values)
    assert (epochs, stop.stopped_epoch) == (4, 3)
    assert model.variables is seen[2]
    stop = EarlyStopping(patience=1, baseline=0.5)
    _, epochs, _ = _run(stop, [0.4, 0.3, 0.35, 0.2])
    assert (epochs, stop.stopped_epoch) == (3, 2)


def test_start_from_epoch_ignores_the_warm_up_epochs():
    stop = EarlyStopping(patience=0, start_from_epoch=2, restore_best_weights=True)
    model, epochs, seen = _run(stop, [0.1, 0.2, 1.0, 0.9, 1.1])
    assert (epochs, stop.stopped_epoch, stop.best_epoch) == (5, 4, 3)
    assert model.variables is seen[3]


def test_a_missing_monitor_warns_and_never_stops():
    stop = EarlyStopping(monitor="val_los", patience=0)
    with pytest.warns(UserWarning, match="Available keys: loss, val_loss"):
        _, epochs, _ = _run(stop, [1.0, 2.0, 3.0])
    assert (epochs, stop.stopped_epoch) == (3, 0)


def test_can_be_reused_for_a_second_run():
    stop = EarlyStopping(patience=1)
    _run(stop, [0.1, 0.2, 0.3])
    assert stop.stopped_epoch == 1
    _, epochs, _ = _run(stop, [1.0, 0.9, 0.8, 0.9])
    assert (epochs, stop.stopped_epoch, stop.best) == (4, 3, 0.8)


def test_verbose_says_when_it_stops_and_what_it_restores(capsys):
    stop = EarlyStopping(patience=1, verbose=1, restore_best_weights=True)
    _run(stop, [1.0, 0.8, 0.9])
    assert capsys.readouterr().out == (
        "Epoch 3: early stopping\n"
        "Restoring model weights from the end of the best epoch: 2.\n"
    )


def test_unknown_mode_raises():
    with pytest.raises(ValueError, match="EarlyStopping: expected mode"):
        EarlyStopping(mode="lowest")
