"""LambdaCallback: hooks from plain functions."""

from tests.train.callbacks.fakes import fit
from train.callbacks import Callback, LambdaCallback


def test_each_given_function_runs_at_its_hook_with_its_arguments():
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs)),
        on_train_end=lambda logs: calls.append(("train_end", logs)),
    )
    fit([callback], epochs=2, batches=2, epoch_logs=[{"loss": 1.0}, {"loss": 0.5}])
    assert calls == [
        ("train_begin", None),
        ("epoch_begin", 0),
        ("batch_begin", 0),
        ("batch_end", 0),
        ("batch_begin", 1),
        ("batch_end", 1),
        ("epoch_end", 0, {"loss": 1.0}),
        ("epoch_begin", 1),
        ("batch_begin", 0),
        ("batch_end", 0),
        ("batch_begin", 1),
        ("batch_end", 1),
        ("epoch_end", 1, {"loss": 0.5}),
        ("train_end", {"loss": 0.5}),
    ]


def test_hooks_not_given_do_nothing():
    ends = []
    callback = LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(epoch))
    assert isinstance(callback, Callback)
    assert callback.on_epoch_begin(0) is None
    fit([callback], epochs=3, batches=2)
    assert ends == [0, 1, 2]
