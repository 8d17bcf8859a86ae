"""History: the per-epoch record of the logs."""

from tests.train.callbacks.fakes import FakeModel, fit
from train.callbacks import History

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
