"""The monitor helper shared by EarlyStopping, ModelCheckpoint, ReduceLROnPlateau."""

import math

import pytest

from train.callbacks._monitor import Monitor


@pytest.mark.parametrize(
    "key, mode",
    [
        ("val_loss", "min"),
        ("loss", "min"),
        ("mean_squared_error", "min"),
        ("accuracy", "max"),
        ("val_sparse_categorical_accuracy", "max"),
        ("val_AUC", "max"),
        ("precision", "max"),
        ("val_recall", "max"),
    ],
)
def test_auto_mode_follows_the_name(key, mode):
    monitor = Monitor("Test", key, "auto", 0.0)
    assert monitor.mode == mode
    assert monitor.worst == (math.inf if mode == "min" else -math.inf)


def test_explicit_mode_wins_over_the_name():
    assert Monitor("Test", "accuracy", "min", 0.0).mode == "min"
    assert Monitor("Test", "loss", "max", 0.0).mode == "max"


@pytest.mark.parametrize(
    "mode, value, reference, improved",
    [
        ("min", 0.8, 1.0, True),
        ("min", 0.95, 1.0, False),  # better, but by less than min_delta
        ("min", 1.0, 1.0, False),
        ("max", 1.2, 1.0, True),
        ("max", 1.05, 1.0, False),
        ("max", 0.5, 1.0, False),
    ],
)
def test_improvement_must_exceed_min_delta(mode, value, reference, improved):
    monitor = Monitor("Test", "x", mode, -0.1)  # the sign of min_delta is ignored
    assert monitor.improved(value, reference) is improved


def test_every_value_improves_on_worst():
    for mode in ("min", "max"):
        monitor = Monitor("Test", "x", mode, 0.0)
        assert monitor.improved(1e30, monitor.worst)
        assert monitor.improved(-1e30, monitor.worst)


def test_missing_key_warns_with_the_available_keys():
    monitor = Monitor("EarlyStopping", "val_loss", "auto", 0.0)
    assert monitor.value({"val_loss": 0.5}) == 0.5
    with pytest.warns(UserWarning, match="EarlyStopping monitors 'val_loss'") as got:
        assert monitor.value({"loss": 1.0, "accuracy": 0.5}) is None
    assert "Available keys: accuracy, loss." in str(got[0].message)
    with pytest.warns(UserWarning, match="Available keys: none"):
        assert monitor.value(None) is None


def test_unknown_mode_raises():
    with pytest.raises(ValueError, match="mode='maximize'"):
        Monitor("EarlyStopping", "loss", "maximize", 0.0)
