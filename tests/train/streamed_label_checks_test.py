"""Labels that stream in are checked inside the compiled step: the step keeps
the first refused batch among its metric states and returns it with the logs,
and reading those logs (at the latest at the epoch's end) raises, naming the
batch, the label and the range the loss takes."""

import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers
from train.data import Dataset

X = np.random.default_rng(0).random((16, 4)).astype(np.float32)
LABELS = np.arange(16) % 3


def _stream(labels, x=X):
    """A generator of 4 batches of 4: nothing is held in memory up front."""

    def batches():
        for i in range(0, 16, 4):
            yield x[i : i + 4], labels[i : i + 4]

    return Dataset.from_generator(batches)


def _classifier(ignore_class=None, steps_per_execution=1):
    model = nn.Sequential([layers.Input((4,)), layers.Dense(3)])
    loss = nn.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=ignore_class
    )
    model.compile(
        optimizer="adam", loss=loss, metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )  # fmt: skip
    return model


@pytest.mark.parametrize("verbose", [0, 1])
@pytest.mark.parametrize("steps_per_execution", [1, 2])
def test_a_streamed_label_out_of_range_names_its_batch(verbose, steps_per_execution):
    labels = LABELS.copy()
    labels[9] = 7  # in the third batch of four
    model = _classifier(steps_per_execution=steps_per_execution)
    message = r"batch 2 .* holds the label 7; .* class ids in \[0, 3\)"
    with pytest.raises(ValueError, match=message):
        model.fit(_stream(labels), epochs=3, verbose=verbose)
    with pytest.raises(ValueError, match=message):
        model.evaluate(_stream(labels), verbose=verbose)


def test_a_streamed_fractional_or_negative_label_is_refused():
    model = _classifier()
    with pytest.raises(ValueError, match=r"batch 0 .* holds the label 0.5;"):
        model.fit(_stream(np.full(16, 0.5)), verbose=0)
    with pytest.raises(ValueError, match=r"batch 3 .* holds the label -1;"):
        model.fit(_stream(np.r_[LABELS[:15], -1]), verbose=0)


def test_valid_streamed_labels_train_and_the_flag_is_never_logged():
    model = _classifier(ignore_class=-1)
    labels = np.r_[LABELS[:15], -1]  # -1 is the ignored class
    history = model.fit(_stream(labels), epochs=2, verbose=0, seed=0)
    assert sorted(history.history) == ["accuracy", "loss"]
    assert np.isfinite(history.history["loss"]).all()
    logs = model.evaluate(_stream(labels), verbose=0, return_dict=True)
    assert sorted(logs) == ["accuracy", "loss"]
    train_logs = model.train_on_batch(X[:4], labels[:4], return_dict=True)
    assert sorted(train_logs) == ["accuracy", "loss"]


def test_each_streamed_output_is_checked_by_its_own_loss():
    x = layers.Input((4,))
    model = nn.Model(x, [layers.Dense(1)(x), layers.Dense(3)(x)])
    model.compile(
        optimizer="sgd",
        loss=["mse", nn.losses.SparseCategoricalCrossentropy(from_logits=True)],
    )
    values = np.full((16, 1), 9.0, np.float32)  # a value, not a class id
    classes = LABELS.copy()
    classes[5] = 3

    def batches():
        for i in range(0, 16, 4):
            yield X[i : i + 4], (values[i : i + 4], classes[i : i + 4])

    with pytest.raises(ValueError, match=r"batch 1 .* holds the label 3;"):
        model.fit(Dataset.from_generator(batches), verbose=0)


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_the_lowered_step_flags_streamed_labels_too(backend):
    labels = LABELS.copy()
    labels[14] = 5
    sl.set_backend(backend)
    try:
        model = _classifier()
        with pytest.raises(ValueError, match=r"batch 3 .* holds the label 5;"):
            model.fit(_stream(labels), verbose=0)
        model.fit(_stream(LABELS), verbose=0)
    finally:
        sl.set_backend("jax")
