"""TensorBoard: event files that TensorBoard reads back, value for value."""

import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.train.callbacks.fakes import FakeClock, fit
from train.callbacks import TensorBoard, tensorboard

ROOT = pathlib.Path(__file__).resolve().parents[3]
LOGS = [
    {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.5, "val_accuracy": 0.25},
    {"loss": 0.75, "accuracy": 0.625, "val_loss": 1.25, "val_accuracy": 0.375},
    {"loss": 0.1, "accuracy": 0.9, "val_loss": 0.2, "val_accuracy": 0.8},
]


@pytest.fixture(autouse=True)
def _read_without_tensorflow(monkeypatch):
    """Makes TensorBoard's reader use its own TFRecord code, not TensorFlow's.

    `tensorboard.compat.tf` resolves once per process, to TensorFlow when it
    is installed (4 s to import) unless the module `tensorboard.compat.notf`
    exists: then to TensorBoard's stub, as on a machine without TensorFlow.
    Once resolved, the marker no longer matters.
    """
    marker = types.ModuleType("tensorboard.compat.notf")
    monkeypatch.setitem(sys.modules, "tensorboard.compat.notf", marker)


def _read(directory):
    """{tag: [(step, value), ...]} of the scalars TensorBoard finds there."""
    events = EventAccumulator(str(directory))
    events.Reload()
    return {
        tag: [(event.step, event.value) for event in events.Scalars(tag)]
        for tag in events.Tags()["scalars"]
    }


def _f32(*pairs):
    """The (step, value) pairs as stored: values are float32 in event files."""
    return [(step, float(np.float32(value))) for step, value in pairs]


def test_epoch_scalars_per_run_with_val_keys_in_validation(tmp_path):
    fit([TensorBoard(tmp_path)], epochs=3, batches=2, epoch_logs=LOGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train", "validation"]
    assert _read(tmp_path / "train") == {
        "epoch_loss": _f32((0, 1.0), (1, 0.75), (2, 0.1)),
        "epoch_accuracy": _f32((0, 0.5), (1, 0.625), (2, 0.9)),
    }
    assert _read(tmp_path / "validation") == {
        "epoch_loss": _f32((0, 1.5), (1, 1.25), (2, 0.2)),
        "epoch_accuracy": _f32((0, 0.25), (1, 0.375), (2, 0.8)),
    }


def test_every_n_batches_writes_batch_scalars_at_the_run_s_batch_count(tmp_path):
    def batch_logs(epoch, batch):
        return {"loss": 10.0 * epoch + batch}

    fit(
        [TensorBoard(tmp_path, update_freq=2)],
        epochs=3,
        batches=3,
        batch_logs=batch_logs,
        epoch_logs=LOGS,
    )
    scalars = _read(tmp_path / "train")
    # Batches 2, 4, 6, 8 of the run: (epoch, batch) = (0, 1), (1, 0), (1, 2), (2, 1).
    assert scalars["batch_loss"] == _f32((2, 1.0), (4, 10.0), (6, 12.0), (8, 21.0))
    assert scalars["epoch_loss"] == _f32((0, 1.0), (1, 0.75), (2, 0.1))


def test_update_freq_batch_writes_every_batch(tmp_path):
    fit(
        [TensorBoard(tmp_path, update_freq="batch")],
        epochs=2,
        batches=2,
        batch_logs=lambda e, b: {"loss": 2.0 * e + b},
        epoch_logs=LOGS,
    )
    assert _read(tmp_path / "train")["batch_loss"] == _f32(
        (1, 0.0), (2, 1.0), (3, 2.0), (4, 3.0)
    )


def test_steps_per_second(tmp_path, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(tensorboard, "time", clock)
    callback = TensorBoard(tmp_path, update_freq=2, write_steps_per_second=True)
    fit(
        [callback],
        epochs=2,
        batches=4,
        epoch_logs=[{"loss": 1.0}] * 2,
        each_batch=lambda e, b: clock.advance(0.25 if e else 0.5),
    )
    scalars = _read(tmp_path / "train")
    assert scalars["epoch_steps_per_second"] == [(0, 2.0), (1, 4.0)]
    assert scalars["batch_steps_per_second"] == [(2, 2.0), (4, 2.0), (6, 4.0), (8, 4.0)]


def test_without_validation_logs_there_is_no_validation_run(tmp_path):
    fit([TensorBoard(tmp_path)], epochs=1, epoch_logs=[{"loss": 0.5}])
    assert [p.name for p in tmp_path.iterdir()] == ["train"]
    assert _read(tmp_path / "train") == {"epoch_loss": [(0, 0.5)]}


def test_each_epoch_is_on_disk_before_training_ends(tmp_path):
    callback = TensorBoard(tmp_path)
    callback.set_model(None)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, {"loss": 0.5})
    assert _read(tmp_path / "train") == {"epoch_loss": [(0, 0.5)]}
    callback.on_train_end()


def test_a_second_run_writes_a_new_file(tmp_path):
    callback = TensorBoard(tmp_path)
    fit([callback], epochs=1, epoch_logs=[{"loss": 0.5}])
    fit([callback], epochs=1, epoch_logs=[{"loss": 0.25}])
    assert len(list((tmp_path / "train").iterdir())) == 2


@pytest.mark.parametrize("update_freq", ["step", 0, 2.5])
def test_rejects_a_bad_update_freq(update_freq):
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq=update_freq)


def test_writing_imports_no_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from train.callbacks import CallbackList, TensorBoard\n"
        f"calls = CallbackList([TensorBoard({str(tmp_path)!r})], epochs=1)\n"
        "for hook, *args in [('on_train_begin', None), ('on_epoch_begin', 0, None),"
        " ('on_epoch_end', 0, {'loss': 1.0}), ('on_train_end', None)]:\n"
        "    calls.call(hook, *args)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
    assert (tmp_path / "train").is_dir()
