"""Batch hooks get each step's logs unread: nothing waits for the device
unless a hook reads them, and the progress bar reads one step late."""

import io
import json
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from train import callbacks, optimizers
from train.fit import Trainer
from train.step_logs import StepLogs

_rng = np.random.default_rng(2)
X = _rng.standard_normal((64, 3)).astype(np.float32)
Y = X.sum(-1, keepdims=True)


def apply(variables, x, training=False, rng=None):
    return x @ variables["params"]["w"], variables["state"]


def init(key, x):
    return {"params": {"w": jnp.zeros((3, 1))}, "state": {}}


class Terminal(io.StringIO):
    def isatty(self):
        return True


class KeepLogs(callbacks.Callback):
    """Keeps every batch's logs object without reading it."""

    def __init__(self):
        super().__init__()
        self.kept = []

    def on_train_batch_end(self, batch, logs=None):
        self.kept.append(logs)


def test_step_logs_read_once_in_keras_order_and_act_as_a_dict():
    raw = {"mae": jnp.float32(0.25), "loss": jnp.float32(1.5)}
    logs = StepLogs(raw, ["loss", "mae"])
    assert isinstance(logs, dict) and "loss" in logs
    assert not logs.read and list(logs) == ["loss", "mae"] and len(logs) == 2
    assert logs == {"loss": 1.5, "mae": 0.25} and logs.read
    assert type(logs["loss"]) is float
    logs["lr"] = 0.1
    assert logs.copy() == {"loss": 1.5, "mae": 0.25, "lr": 0.1}
    assert logs.get("missing") is None


@pytest.mark.parametrize(
    "read", [dict, lambda logs: {**logs}, lambda logs: json.dumps(logs), repr]
)
def test_every_way_of_reading_step_logs_gives_floats(read):
    logs = StepLogs({"loss": jnp.float32(0.5)})
    assert str(read(logs)).count("0.5") == 1 and logs.read
    assert type(dict(logs)["loss"]) is float


def test_a_fit_with_a_progress_bar_reads_no_step_logs_off_a_terminal(
    capsys, monkeypatch
):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)  # no notebook
    keep = KeepLogs()
    trainer = Trainer(apply, "mse", optimizers.SGD(0.1), ["mae"], init_fn=init)
    trainer.fit(X, Y, batch_size=8, epochs=1, callbacks=[keep], verbose=1, seed=0)
    assert len(keep.kept) == 8 and not any(logs.read for logs in keep.kept)
    assert "8/8" in capsys.readouterr().out


def test_on_a_terminal_the_bar_never_reads_the_step_just_queued(capsys):
    keep, bar = KeepLogs(), callbacks.ProgbarLogger(stream=Terminal())
    trainer = Trainer(apply, "mse", optimizers.SGD(0.1), init_fn=init)
    trainer.fit(X, Y, batch_size=8, epochs=1, callbacks=[keep, bar], verbose=1)
    # The first step of the epoch is drawn with its own logs; later draws
    # (every 50 ms at most) show the step before the one that just ran.
    assert keep.kept[0].read and not keep.kept[-1].read
    assert "loss:" in bar.stream.getvalue()
