"""BackupAndRestore: a fit interrupted in the middle of an epoch and started
again ends bit-exact with an uninterrupted one (weights, optimizer state and
every epoch's logs), from arrays on the device and from streamed batches."""

import functools
import os

import chex
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers
from train import losses, optimizers
from train.callbacks import BackupAndRestore, Callback
from train.data import Dataset

EPOCHS = 3


def _digits():
    x, y = load_digits(return_X_y=True)
    return (x[:384] / 16.0).astype(np.float32), y[:384].astype(np.int32)  # 12 batches


def _model(steps_per_execution=1):
    model = nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                           layers.Dropout(0.2), layers.Dense(10)])  # fmt: skip
    model.compile(
        optimizer=optimizers.Adam(3e-3),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


class _Preempted(Exception):
    pass


class _PreemptAt(Callback):
    """Raises after batch `batch` of epoch `epoch`, as a preempted job dies."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise _Preempted


def _data(streamed):
    x, y = _digits()
    if not streamed:
        return {"x": x, "y": y, "batch_size": 32}
    gather = lambda i: (x[i], y[i])  # noqa: E731
    return {"x": Dataset.from_indexed(len(x), gather, 32, shuffle=True, seed=3)}


def _fit(model, streamed, callbacks=()):
    return model.fit(**_data(streamed), epochs=EPOCHS, verbose=0, seed=7,
                     callbacks=list(callbacks))  # fmt: skip


@functools.cache
def _uninterrupted(streamed, steps_per_execution):
    model = _model(steps_per_execution)
    return model, _fit(model, streamed)


def _assert_same_run(model, history, reference, resumed_epoch):
    reference, reference_history = reference
    for ours, theirs in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    chex.assert_trees_all_equal(
        model.train_state.opt_state, reference.train_state.opt_state
    )
    assert int(model.train_state.step) == int(reference.train_state.step)
    assert history.epoch == list(range(resumed_epoch, EPOCHS))
    for key, values in reference_history.history.items():
        assert history.history[key] == values[resumed_epoch:], key


@pytest.mark.parametrize(
    ("streamed", "steps_per_execution", "save_freq", "preempt_at", "resumed_epoch"),
    [
        (False, 1, 5, (1, 9), 1),  # arrays on the device; backup after batch 7
        (True, 1, 4, (1, 10), 1),  # streamed batches
        (False, 2, 6, (2, 7), 2),  # fused steps, backups at execution ends
        (False, 1, "epoch", (1, 4), 1),  # epoch backups: epoch 1 runs again
        (False, 1, 4, (2, 1), 1),  # backup after epoch 1's last batch, before its end
    ],
)
def test_an_interrupted_fit_resumes_bit_exact(
    tmp_path, streamed, steps_per_execution, save_freq, preempt_at, resumed_epoch
):
    model = _model(steps_per_execution)
    backup = BackupAndRestore(tmp_path / "backup", save_freq=save_freq)
    with pytest.raises(_Preempted):
        _fit(model, streamed, [backup, _PreemptAt(*preempt_at)])
    assert os.listdir(tmp_path / "backup")  # the backup outlives the failure
    history = _fit(model, streamed, [backup])

    reference = _uninterrupted(streamed, steps_per_execution)
    _assert_same_run(model, history, reference, resumed_epoch)
    assert not (tmp_path / "backup").exists()  # delete_checkpoint=True


def test_a_fresh_model_resumes_from_the_backup_alone(tmp_path):
    """The job restarts in a new process: a new model, the same directory."""
    backup = BackupAndRestore(tmp_path, save_freq=3, delete_checkpoint=False)
    with pytest.raises(_Preempted):
        _fit(_model(), False, [backup, _PreemptAt(2, 7)])
    model = _model()
    history = _fit(model, False, [BackupAndRestore(tmp_path, save_freq=3)])
    _assert_same_run(model, history, _uninterrupted(False, 1), 2)


def test_a_finished_run_leaves_the_backup_when_asked(tmp_path):
    model = _model()
    _fit(model, False, [BackupAndRestore(tmp_path, delete_checkpoint=False)])
    steps = int(model.train_state.step)
    history = _fit(model, False, [BackupAndRestore(tmp_path)])  # already done
    assert history.epoch == []
    assert int(model.train_state.step) == steps


def test_double_checkpoint_falls_back_on_the_previous_backup(tmp_path):
    model = _model()
    backup = BackupAndRestore(tmp_path, double_checkpoint=True, delete_checkpoint=False)
    _fit(model, False, [backup])
    kept = sorted(os.listdir(tmp_path))
    assert kept == ["backup_2", "backup_3"]
    for name in os.listdir(tmp_path / "backup_3" / "train_state"):
        path = tmp_path / "backup_3" / "train_state" / name
        if path.is_file():
            path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="resuming from the one before"):
        history = _fit(_model(), False, [BackupAndRestore(tmp_path)])
    assert history.epoch == [2]


def test_a_backup_of_other_metrics_is_refused(tmp_path):
    _fit(_model(), False, [BackupAndRestore(tmp_path, delete_checkpoint=False)])
    other = _model()
    other.compile(
        optimizer=optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy"
    )
    with pytest.raises(ValueError, match="holds the metrics"):
        _fit(other, False, [BackupAndRestore(tmp_path)])


@pytest.mark.parametrize(
    ("keywords", "match"),
    [
        ({"backup_dir": ""}, "backup_dir"),
        ({"backup_dir": "b", "save_freq": 0}, "save_freq"),
        ({"backup_dir": "b", "save_freq": "batch"}, "save_freq"),
    ],
)
def test_bad_arguments_are_named(keywords, match):
    with pytest.raises(ValueError, match=match):
        BackupAndRestore(**keywords)


@pytest.mark.slow
def test_a_lowered_run_resumes_bit_exact(tmp_path):
    """On torch the state is saved as NumPy and put back as torch tensors."""
    sl.set_backend("torch")
    try:
        reference = _uninterrupted_model_run()
        model = _model()
        with pytest.raises(_Preempted):
            _fit(
                model,
                False,
                [BackupAndRestore(tmp_path, save_freq=5), _PreemptAt(1, 9)],
            )
        history = _fit(model, False, [BackupAndRestore(tmp_path, save_freq=5)])
    finally:
        sl.set_backend("jax")
    _assert_same_run(model, history, reference, 1)


def _uninterrupted_model_run():
    model = _model()
    return model, _fit(model, False)
