"""History.plot: the figure a person reads after fit, checked from the axes
it drew (labels, scales, the epochs, the marked best epoch), not from pixels."""

import subprocess
import sys

import numpy as np
import pytest

import nn
from nn import layers
from train.callbacks import History

LOGS = {
    "loss": [2.0, 0.8, 0.3, 0.2, 0.15],
    "accuracy": [0.4, 0.7, 0.85, 0.9, 0.93],
    "val_loss": [1.5, 0.9, 0.5, 0.6, 0.7],
    "val_accuracy": [0.5, 0.7, 0.8, 0.82, 0.81],
}


def _history(logs=LOGS, first=0):
    history = History()
    history.epoch = list(range(first, first + len(logs["loss"])))
    history.history = {k: list(v) for k, v in logs.items()}
    return history


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_one_panel_per_metric_with_both_curves_labelled_and_counted_from_one():
    figure = _history().plot()
    loss, accuracy = figure.axes
    assert [ax.get_title() for ax in figure.axes] == ["loss", "accuracy"]
    assert [ax.get_xlabel() for ax in figure.axes] == ["epoch", "epoch"]
    assert (loss.get_ylabel(), accuracy.get_ylabel()) == (
        "loss (log scale)",
        "accuracy",
    )
    assert (loss.get_yscale(), accuracy.get_yscale()) == ("log", "linear")
    for ax, name in ((loss, "loss"), (accuracy, "accuracy")):
        lines = _lines(ax)
        np.testing.assert_array_equal(lines["training"].get_xdata(), [1, 2, 3, 4, 5])
        np.testing.assert_array_equal(lines["training"].get_ydata(), LOGS[name])
        np.testing.assert_array_equal(
            lines["validation"].get_ydata(), LOGS[f"val_{name}"]
        )


def test_the_best_epoch_is_marked_on_every_panel_and_pointed_on_its_curve():
    figure = _history().plot()
    for ax in figure.axes:
        line = _lines(ax)["best epoch 3 (val_loss)"]  # val_loss is lowest at epoch 3
        np.testing.assert_array_equal(line.get_xdata(), [3, 3])
    point = [line for line in figure.axes[0].get_lines() if line.get_marker() == "o"]
    assert len(point) == 1
    assert (point[0].get_xdata()[0], point[0].get_ydata()[0]) == (3, 0.5)
    by_accuracy = _history().plot(monitor="val_accuracy")  # the largest is best
    assert "best epoch 4 (val_accuracy)" in _lines(by_accuracy.axes[1])


def test_the_epoch_axis_ticks_whole_epochs_only():
    figure = _history({"loss": list(np.linspace(2.0, 0.1, 21))}).plot()
    figure.draw_without_rendering()  # the ticks as laid out for the page
    ticks = figure.axes[0].get_xticks()
    assert len(ticks) > 3
    np.testing.assert_array_equal(ticks, np.round(ticks))  # no epoch 2.5


def test_a_resumed_run_counts_epochs_as_its_progress_bar_did():
    figure = _history(first=10).plot(metrics=["loss"])
    assert len(figure.axes) == 1
    assert list(_lines(figure.axes[0])["training"].get_xdata()) == [11, 12, 13, 14, 15]
    assert "best epoch 13 (val_loss)" in _lines(figure.axes[0])


def test_a_metric_that_was_not_logged_is_named():
    with pytest.raises(ValueError, match=r"no logged values for \['auc'\]"):
        _history().plot(metrics=["auc"])


def test_fit_returns_a_history_that_plots_itself(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    model = nn.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, x[:, :1], epochs=3, validation_split=0.25, verbose=0)
    figure = history.plot()
    assert [ax.get_title() for ax in figure.axes] == ["loss", "mae"]
    figure.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 5_000


def test_matplotlib_is_imported_only_when_a_plot_is_asked_for():
    code = (
        "import sys, numpy as np, nn; from nn import layers; import train.callbacks\n"
        "m = nn.Sequential([layers.Input((2,)), layers.Dense(1)])\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "h = m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0)\n"
        "assert 'matplotlib' not in sys.modules, 'imported early'\n"
        "h.plot(); assert 'matplotlib.pyplot' not in sys.modules, 'pyplot state'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
