"""An archive saved on one backend loads on the others and predicts the same."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers

BACKENDS = ["jax", "torch", "tensorflow"]


@pytest.mark.parametrize("saved_on", BACKENDS)
def test_archive_from_one_backend_predicts_the_same_on_every_backend(
    saved_on, tmp_path
):
    x, y = load_digits(return_X_y=True)
    x, y = (x[:256] / 16.0).astype(np.float32), y[:256].astype(np.int32)
    sl.set_backend(saved_on)
    sl.set_random_seed(0)
    model = nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                           layers.BatchNormalization(), layers.Dense(10)])  # fmt: skip
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    model.save(tmp_path / "m.stateless")
    expected = np.asarray(model.predict(x))
    for backend in BACKENDS:
        sl.set_backend(backend)
        loaded = nn.load_model(tmp_path / "m.stateless")
        predicted = loaded.predict(x)
        assert type(predicted).__module__.split(".")[0] == (
            "numpy" if backend == "jax" else backend
        )
        np.testing.assert_allclose(np.asarray(predicted), expected, atol=1e-5)
