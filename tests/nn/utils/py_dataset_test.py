"""A PyDataset feeds fit, evaluate and predict as arrays do."""

import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
from nn import layers, utils
from train.data import adapt


class Digits(utils.PyDataset):
    """The digits in batches of 64, counting epochs and the threads used."""

    def __init__(self, x, y, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y
        self.epochs_ended, self.threads = 0, set()

    def __len__(self):
        return -(-len(self.x) // 64)

    def __getitem__(self, index):
        self.threads.add(threading.get_ident())
        part = slice(index * 64, (index + 1) * 64)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _digits():
    """Digits, shuffled once: the last ones in sklearn's order are another
    group of writers."""
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    return (x[order] / 16.0).astype(np.float32), y[order].astype(np.int32)


def _model():
    model = nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                           layers.Dense(10)])  # fmt: skip
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(nn.optimizers.Adam(0.01), loss, metrics=["accuracy"])
    return model


def test_fit_on_a_py_dataset_learns_and_matches_arrays():
    x, y = _digits()
    source = Digits(x[:1500], y[:1500], workers=3, max_queue_size=4)
    model = _model()
    model.fit(source, epochs=8, shuffle=False, verbose=0, seed=0)
    assert source.epochs_ended == 8 and len(source.threads) > 1
    _, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
    assert accuracy >= 0.95
    twin = _model()
    twin.fit(x[:1500], y[:1500], batch_size=64, epochs=8, shuffle=False, verbose=0,
             seed=0)  # fmt: skip
    np.testing.assert_allclose(
        model.predict(x[1500:]), twin.predict(x[1500:]), rtol=1e-5, atol=1e-5
    )
    evaluation = model.evaluate(Digits(x[1500:], y[1500:]), verbose=0)
    np.testing.assert_allclose(evaluation, model.evaluate(x[1500:], y[1500:],
                               batch_size=64, verbose=0), rtol=1e-6)  # fmt: skip


def test_shuffled_batches_change_order_each_epoch_reproducibly():
    x = np.arange(640, dtype=np.float32)[:, None]
    source = Digits(x, x)
    dataset = adapt(source, shuffle=True, seed=3)
    first = [int(b[0][0, 0]) // 64 for b in dataset.batches(0)]
    second = [int(b[0][0, 0]) // 64 for b in dataset.batches(1)]
    assert sorted(first) == list(range(10)) and first != second
    assert first == [int(b[0][0, 0]) // 64 for b in dataset.batches(0)]
    assert [int(b[0][0, 0]) // 64 for b in adapt(source).batches(0)] == list(range(10))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="workers must be a positive int"):
        Digits(np.zeros(3), np.zeros(3), workers=0)

    class Empty(utils.PyDataset):
        def __len__(self):
            return 1

    with pytest.raises(NotImplementedError, match="defines __getitem__"):
        next(iter(adapt(Empty())))
