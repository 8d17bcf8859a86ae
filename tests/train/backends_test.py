"""`fit / evaluate / predict` with the torch and TensorFlow backends: the same
pure steps, lowered, train the digits models and agree with the JAX run."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers
from train import losses, optimizers

BACKENDS = ["jax", "torch", "tensorflow"]


def _digits():
    x, y = load_digits(return_X_y=True)
    x, y = (x / 16.0).astype(np.float32), y.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:1408], y[:1408]), (x[1408:], y[1408:])


def _fit(backend, model, epochs, train, test):
    sl.set_backend(backend)
    sl.set_random_seed(0)
    model.compile(
        optimizer=optimizers.Adam(3e-3),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(*train, batch_size=64, epochs=epochs, verbose=0, seed=0)
    accuracy = model.evaluate(*test, batch_size=128, return_dict=True)["accuracy"]
    return history.history["loss"], accuracy, model.predict(test[0][:8])


def _mlp():
    return nn.Sequential([layers.Input((64,)), layers.Dense(64, activation="relu"),
                          layers.Dropout(0.1), layers.Dense(10)])  # fmt: skip


@pytest.fixture(scope="module")
def jax_run():
    train, test = _digits()
    result = _fit("jax", _mlp(), 6, train, test)
    sl.set_backend("jax")
    return result


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_fit_on_a_lowered_backend_learns_and_matches_jax(backend, jax_run):
    train, test = _digits()
    losses_seen, accuracy, predicted = _fit(backend, _mlp(), 6, train, test)
    assert type(predicted).__module__.split(".")[0] == backend  # its own tensors
    assert accuracy >= 0.95
    jax_losses, jax_accuracy, jax_predicted = jax_run
    np.testing.assert_allclose(losses_seen, jax_losses, rtol=1e-4)  # same dropout
    np.testing.assert_allclose(np.asarray(predicted), jax_predicted, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_digits_cnn_trains_through_fit_on_every_backend(backend):
    train, test = _digits()
    as_images = lambda data: (data[0].reshape(-1, 8, 8, 1), data[1])  # noqa: E731
    model = nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Flatten(), layers.Dropout(0.2), layers.Dense(10),
    ])  # fmt: skip
    _, accuracy, _ = _fit(backend, model, 10, as_images(train), as_images(test))
    assert accuracy >= 0.95


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_inputs_and_keras_keywords_on_every_backend(backend):
    sl.set_backend(backend)
    (x, y), _ = _digits()
    x1, x2 = x[:256, :40], x[:256, 40:]
    a, b = layers.Input((40,), name="a"), layers.Input((24,), name="b")
    joined = layers.Concatenate()([layers.Dense(16)(a), layers.Dense(16)(b)])
    model = nn.Model([a, b], layers.Dense(10)(joined))
    model.compile(optimizer=optimizers.Adam(1e-2),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])  # fmt: skip
    history = model.fit([x1, x2], y[:256], epochs=4, steps_per_epoch=6,
                        validation_data=({"a": x1, "b": x2}, y[:256]),
                        validation_steps=2, verbose=0, seed=0)  # fmt: skip
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    loss, accuracy = model.evaluate((x1, x2), y[:256], verbose=0)
    logits = np.asarray(model.predict([x1, x2], batch_size=None, verbose=0))
    assert accuracy == pytest.approx(np.mean(logits.argmax(1) == y[:256]), abs=1e-6)
    assert loss < history.history["loss"][0] and accuracy > 0.8
