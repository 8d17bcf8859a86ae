"""TerminateOnNaN: stop after a batch whose loss is not finite."""

import math

import pytest

from tests.train.callbacks.fakes import FakeModel, fit
from train.callbacks import TerminateOnNaN


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_stops_after_the_first_bad_batch_and_names_it(bad, capsys):
    model = FakeModel()

    def batch_logs(epoch, batch):
        return {"loss": bad if (epoch, batch) == (1, 2) else 0.5}

    epochs = fit([TerminateOnNaN()], model, epochs=5, batches=4, batch_logs=batch_logs)
    assert model.stop_training
    assert (epochs, model.step) == (2, 4 + 3)  # stopped right after batch 2
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"


def test_finite_or_missing_losses_let_training_run(capsys):
    model = FakeModel()
    fit(
        [TerminateOnNaN()],
        model,
        epochs=2,
        batches=3,
        batch_logs=lambda e, b: {"loss": 1e30} if b else {"accuracy": math.nan},
    )
    assert not model.stop_training
    assert model.step == 6
    assert capsys.readouterr().out == ""


def test_raise_error_ends_the_run_at_the_bad_batch():
    model = FakeModel()

    def batch_logs(epoch, batch):
        return {"loss": math.nan if (epoch, batch) == (1, 1) else 0.5}

    with pytest.raises(RuntimeError, match="loss of batch 1 is nan"):
        fit([TerminateOnNaN(raise_error=True)], model, epochs=3, batches=2,
            batch_logs=batch_logs)  # fmt: skip
    assert model.step == 4
    assert not model.stop_training
