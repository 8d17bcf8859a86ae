"""Training curves drawn from a `History`: what a person looks at after `fit`.

One panel per metric (the loss first), training and validation on the same
axes, epochs counted from 1 as the progress bar counts them, losses on a
log axis (a loss that falls from 2 to 0.01 is flat on a linear one after a
few epochs), and the best epoch of the monitored value marked on every
panel. matplotlib is imported only here, only when a plot is asked for, and
through its object-oriented `Figure` (no pyplot state, no window).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from train.callbacks._monitor import Monitor

VALIDATION_PREFIX = "val_"


def metric_names(history: dict[str, list[Any]]) -> list[str]:
    """The metrics logged, without their `val_` twins: the loss first.

    Example:
      >>> metric_names({"accuracy": [1], "val_loss": [1], "loss": [1], "lr": [1]})
      ['loss', 'accuracy', 'lr']
    """
    names = [k for k in history if not k.startswith(VALIDATION_PREFIX)]
    names += [
        k[len(VALIDATION_PREFIX) :]
        for k in history
        if k.startswith(VALIDATION_PREFIX)
        and k[len(VALIDATION_PREFIX) :] not in history
    ]
    return sorted(names, key=lambda name: name != "loss")


def best_epoch(values: Sequence[float], key: str, mode: str = "auto") -> int:
    """The index of the best of `values`, judged as EarlyStopping judges `key`
    (`mode="auto"`: the largest for accuracies, AUC, precision, recall, else
    the smallest); the first of equal values.

    Example:
      >>> best_epoch([0.5, 0.3, 0.4], "val_loss")
      1
      >>> best_epoch([0.5, 0.9, 0.9], "val_accuracy")
      1
    """
    monitor = Monitor("History.plot", key, mode, 0.0)
    best, index = monitor.worst, 0
    for i, value in enumerate(values):
        if monitor.improved(float(value), best):
            best, index = float(value), i
    return index


def plot_history(
    history: dict[str, list[Any]],
    epochs: Sequence[int],
    metrics: Sequence[str] | None = None,
    monitor: str | None = None,
    mode: str = "auto",
) -> Any:
    """A matplotlib `Figure` of the curves (see `History.plot`)."""
    from matplotlib.figure import Figure

    names = list(metrics) if metrics is not None else metric_names(history)
    unknown = [n for n in names if n not in history and f"val_{n}" not in history]
    if unknown or not names:
        raise ValueError(
            f"History.plot: no logged values for {unknown or 'any metric'}; the "
            f"history holds {', '.join(history) or 'nothing'} (fit first)."
        )
    if monitor is None:
        monitor = "val_loss" if "val_loss" in history else "loss"
    x = [e + 1 for e in epochs]  # the progress bar counts epochs from 1
    best = None  # (epoch as counted from 1, the monitored value then)
    if history.get(monitor):
        values = [float(v) for v in history[monitor]]
        index = best_epoch(values, monitor, mode)
        best = (x[len(x) - len(values) + index], values[index])
    figure = Figure(figsize=(4.5 * len(names), 3.6), layout="constrained")
    for ax, name in zip(figure.subplots(1, len(names), squeeze=False)[0], names):
        _panel(ax, history, x, name, best, monitor)
    return figure


def _panel(ax, history, x, name, best, monitor):
    for key, label, style in (
        (name, "training", "-"),
        (f"val_{name}", "validation", "--"),
    ):
        if key in history:
            values = np.asarray(history[key], "float64")  # a line per class
            ax.plot(x[-len(values) :], values, style, marker=".", label=label)
    if "loss" in name and all(np.all(np.asarray(v) > 0) for k in (name, f"val_{name}")
                              for v in history.get(k, [])):  # fmt: skip
        ax.set_yscale("log")
    if best is not None:
        ax.axvline(best[0], color="tab:red", linewidth=1, alpha=0.7,
                   label=f"best epoch {best[0]} ({monitor})")  # fmt: skip
        if name == monitor.removeprefix(VALIDATION_PREFIX):
            ax.plot(*best, "o", color="tab:red", markersize=7)
    ax.xaxis.get_major_locator().set_params(integer=True)  # no epoch 2.5
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{name} (log scale)" if ax.get_yscale() == "log" else name)
    ax.set_title(name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
