"""History: the per-epoch record of the logs."""

import io

from tests.train.callbacks.fakes import FakeModel, fit
from train.callbacks import CallbackList, History, ProgbarLogger

LOGS = [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}]


def test_records_every_epoch_and_hangs_on_the_model():
    model, history = FakeModel(), History()
    fit([history], model, epochs=2, epoch_logs=LOGS)
    assert model.history is history
    assert history.epoch == [0, 1]
    assert history.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.5]}


def test_a_new_run_starts_a_new_record():
    history = History()
    fit([history], epochs=2, epoch_logs=LOGS)
    fit([history], epochs=1, epoch_logs=[{"loss": 0.25}])
    assert history.epoch == [0]
    assert history.history == {"loss": [0.25]}


def test_a_key_that_appears_later_gets_only_its_epochs():
    history = History()
    fit([history], epochs=2, epoch_logs=[{"loss": 1.0}, {"loss": 0.5, "x": 3.0}])
    assert history.history == {"loss": [1.0, 0.5], "x": [3.0]}


def test_a_hand_written_loop_drives_callbacks_as_keras_s_guide_does():
    """CallbackList with add_history and add_progbar, its hooks called by name."""
    model = FakeModel()
    calls = CallbackList(add_history=True, add_progbar=True, model=model,
                         epochs=2, steps=3, verbose=1)  # fmt: skip
    assert [type(c) for c in calls.callbacks] == [History, ProgbarLogger]
    calls.callbacks[1].stream = io.StringIO()
    calls.on_train_begin()
    for epoch in range(2):
        calls.on_epoch_begin(epoch)
        for step in range(3):
            calls.on_train_batch_begin(step)
            model.train_one_batch()
            calls.on_train_batch_end(step, {"loss": 1.0 / model.step})
        calls.on_epoch_end(epoch, {"loss": 1.0 / model.step})
    calls.on_train_end()
    assert model.history.history == {"loss": [1 / 3, 1 / 6]}
    printed = calls.callbacks[1].stream.getvalue()
    assert "3/3" in printed and "loss: 0.1667" in printed, printed
