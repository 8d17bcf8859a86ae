"""Steps written in Keras's JAX layout: `train_step(self, state, data)` over
lists, `stateless_call`, `optimizer.stateless_apply` and the metrics'
stateless methods, as Keras's guide to customizing `fit` on JAX writes them.

The same class body runs on Keras and here (the library is a parameter), so
the parity tests compare one text, not two translations of it. Keras runs
these steps on its JAX backend only, and this suite may have loaded Keras on
TensorFlow first: Keras's side runs once in a subprocess (`_keras_side`).
"""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
from nn import layers
from tests import keras_reference

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (the reference implementation)

_rng = np.random.default_rng(3)
X = _rng.random((96, 6)).astype(np.float32)
Y = (X @ _rng.standard_normal((6, 1)) + 0.1).astype(np.float32)


def _models(lib):
    """Keras's guide models, written against `lib` (keras or nn)."""

    class GuideModel(lib.Model):
        """Loss and metrics from compile, looped over `self.metrics`."""

        def loss_and_updates(self, trainable, non_trainable, x, y, training):
            y_pred, non_trainable = self.stateless_call(
                trainable, non_trainable, x, training=training
            )
            return self.compute_loss(x, y, y_pred), (y_pred, non_trainable)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_vars, metrics_vars = state
            x, y = data
            grad_fn = jax.value_and_grad(self.loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable)), grads = grad_fn(
                trainable, non_trainable, x, y, True
            )
            trainable, optimizer_vars = self.optimizer.stateless_apply(
                optimizer_vars, grads, trainable
            )
            updated, logs = [], {}
            for metric in self.metrics:
                mine = metrics_vars[len(updated) : len(updated) + len(metric.variables)]
                if metric.name == "loss":
                    mine = metric.stateless_update_state(mine, loss)
                else:
                    mine = metric.stateless_update_state(mine, y, y_pred)
                result = metric.stateless_result(mine)
                logs.update(result if isinstance(result, dict) else {"loss": result})
                updated += mine
            return logs, (trainable, non_trainable, optimizer_vars, updated)

    class OwnMetricsModel(lib.Model):
        """Its own loss function and metrics; compile fixes the optimizer only."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae = lib.metrics.MeanAbsoluteError(name="mae")
            self.mse = lib.losses.MeanSquaredError()

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_vars, metrics_vars = state
            x, y = data

            def objective(trainable):
                y_pred, new = self.stateless_call(trainable, non_trainable, x,
                                                  training=True)  # fmt: skip
                return self.mse(y, y_pred), (y_pred, new)

            (loss, (y_pred, non_trainable)), grads = jax.value_and_grad(
                objective, has_aux=True
            )(trainable)
            trainable, optimizer_vars = self.optimizer.stateless_apply(
                optimizer_vars, grads, trainable
            )
            split = len(self.loss_tracker.variables)
            tracked = self.loss_tracker.stateless_update_state(
                metrics_vars[:split], loss
            )
            mae = self.mae.stateless_update_state(metrics_vars[split:], y, y_pred)
            logs = {
                "loss": self.loss_tracker.stateless_result(tracked),
                "mae": self.mae.stateless_result(mae),
            }
            return logs, (trainable, non_trainable, optimizer_vars, tracked + mae)

        def test_step(self, state, data):
            trainable, non_trainable, metrics_vars = state
            x, y = data
            y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x)
            split = len(self.loss_tracker.variables)
            mae = self.mae.stateless_update_state(metrics_vars[split:], y, y_pred)
            logs = {"mae": self.mae.stateless_result(mae)}
            return logs, (trainable, non_trainable, metrics_vars[:split] + mae)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae]

    return GuideModel, OwnMetricsModel


def _functional(cls, lib, width=6):
    x = lib.layers.Input((width,))
    h = lib.layers.Dense(8, activation="tanh", name="h")(x)
    return cls(x, lib.layers.Dense(1, name="out")(h))


def _keras_side(path):
    """Keras 3 on JAX trains the guide models and applies Adam twice; the
    numbers go to `path` (an .npz). Runs in a subprocess (see the docstring)."""
    keras.utils.set_random_seed(0)
    out = {}
    for index, name in enumerate(("guide", "own")):
        model = _functional(_models(keras)[index], keras)
        for i, w in enumerate(model.get_weights()):
            out[f"{name}/initial/{i}"] = w
        if name == "guide":
            optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
            model.compile(optimizer, loss="mse", metrics=["mae"])
            history = model.fit(X, Y, batch_size=32, epochs=3, shuffle=False, verbose=0)
        else:
            model.compile(optimizer=keras.optimizers.SGD(0.1))
            history = model.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
            out["own/evaluate"] = np.float32(model.evaluate(X, Y, verbose=0))
            out["own/metrics_names"] = np.array(model.metrics_names)
        out[f"{name}/logs"] = np.array(list(history.history))
        for key, values in history.history.items():
            out[f"{name}/history/{key}"] = np.asarray(values)
        for i, w in enumerate(model.get_weights()):
            out[f"{name}/final/{i}"] = w
    adam = keras.optimizers.Adam(0.1)
    weights, grads = _adam_problem()
    adam.build([keras.Variable(w) for w in weights])
    state = [v.value for v in adam.variables]
    for _ in range(2):
        weights, state = adam.stateless_apply(state, grads, weights)
    for i, w in enumerate(weights):
        out[f"adam/{i}"] = np.asarray(w)
    np.savez(path, **out)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "reference.npz"
    return keras_reference.keras_numbers(__file__, path)


def _ours(index, name, reference):
    model = _functional(_models(nn)[index], nn)
    count = len(model.get_weights())
    model.set_weights([reference[f"{name}/initial/{i}"] for i in range(count)])
    return model


def _history(reference, name):
    return {k: reference[f"{name}/history/{k}"] for k in reference[f"{name}/logs"]}


def test_guide_model_trains_as_keras_does(reference):
    ours = _ours(0, "guide", reference)
    optimizer = nn.optimizers.SGD(0.05, momentum=0.9)
    ours.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    mine = ours.fit(X, Y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    expected = _history(reference, "guide")
    assert list(mine.history) == list(expected) == ["loss", "mae"]
    for name, values in expected.items():
        np.testing.assert_allclose(mine.history[name], values, rtol=2e-5)
    for i, w in enumerate(ours.get_weights()):
        np.testing.assert_allclose(w, reference[f"guide/final/{i}"], atol=1e-6)


def test_own_metrics_and_test_step_match_keras(reference):
    ours = _ours(1, "own", reference)
    ours.compile(optimizer=nn.optimizers.SGD(0.1))  # no loss, no metrics
    mine = ours.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    expected = _history(reference, "own")
    assert list(mine.history) == list(expected) == ["loss", "mae"]
    for name, values in expected.items():
        np.testing.assert_allclose(mine.history[name], values, rtol=1e-5)
    # a test_step of Keras's layout returns only the mae: evaluate returns it alone
    assert ours.evaluate(X, Y, verbose=0) == pytest.approx(
        float(reference["own/evaluate"]), rel=1e-5
    )
    assert ours.metrics_names == list(reference["own/metrics_names"])
    assert ours.metrics_names == ["loss", "mae"]


def test_a_subclass_called_functionally_keeps_its_steps():
    guide_model = _models(nn)[0]
    model = _functional(guide_model, nn)
    assert isinstance(model, guide_model) and isinstance(model, nn.Functional)
    assert type(model).__name__ == "GuideModel"
    assert type(model) is type(_functional(guide_model, nn))  # one class, cached
    model.compile(optimizer="sgd", loss="mse")
    program = model.program()
    assert program.train_step is not None and program.test_step is None


def _digits():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return x[:1500], digits.target[:1500], x[1500:], digits.target[1500:]


def test_guide_model_with_dropout_and_batch_norm_learns_digits():
    """Dropout draws from the step's key; BatchNormalization's statistics
    come back through `non_trainable_variables`."""
    x, y, x_test, y_test = _digits()
    inputs = nn.Input((64,))
    h = layers.Dense(64, activation="relu")(inputs)
    h = layers.BatchNormalization()(h)
    h = layers.Dropout(0.2)(h)
    model = _models(nn)[0](inputs, layers.Dense(10)(h))
    model.compile(
        optimizer="adam",
        loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    before = [np.asarray(w) for w in model.non_trainable_variables]
    history = model.fit(x, y, epochs=12, verbose=0, seed=0)
    assert list(history.history) == ["loss", "accuracy"]
    after = [np.asarray(w) for w in model.non_trainable_variables]
    assert not any(np.allclose(a, b) for a, b in zip(before, after))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    # 0.889 (264 of the 297 held-out digits) with Adam as Keras computes it
    assert accuracy >= 0.88, accuracy
    assert loss < 0.4


def test_keras_layout_step_updates_as_the_built_in_step_does():
    """Without dropout the two layouts take the same steps: same weights."""

    def make(cls):
        model = _functional(cls, nn)
        model.compile(optimizer="adam", loss="mse")
        model.fit(X, Y, batch_size=32, epochs=3, verbose=0, seed=1)
        return model.get_weights()

    built_in = make(nn.Model)
    keras_layout = make(_models(nn)[0])
    for a, b in zip(built_in, keras_layout):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_frozen_layers_stay_out_of_trainable_variables_and_still():
    model = _functional(_models(nn)[0], nn)
    model.get_layer("h").trainable = False
    frozen = [np.asarray(w) for w in model.get_layer("h").get_weights()]
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse")
    assert len(model.trainable_variables) == 2
    assert len(model.non_trainable_variables) == 2
    model.fit(X, Y, epochs=2, verbose=0)
    for a, b in zip(model.get_layer("h").get_weights(), frozen):
        np.testing.assert_array_equal(a, b)


def test_stateless_call_returns_the_added_losses():
    class Penalized(layers.Layer):
        def call(self, x):
            self.add_loss(jnp.sum(x))
            return x

    inputs = nn.Input((6,))
    model = nn.Model(inputs, layers.Dense(1)(Penalized()(inputs)))
    trainable = [w.value for w in model.trainable_variables]
    y, non_trainable, losses = model.stateless_call(trainable, [], X,
                                                    return_losses=True)  # fmt: skip
    assert y.shape == (96, 1) and non_trainable == []
    assert [float(v) for v in losses] == pytest.approx([X.sum()], rel=1e-5)


def test_keras_layout_predict_step_drives_predict():
    class Probabilities(nn.Model):
        def predict_step(self, state, data):
            trainable, non_trainable = state
            logits, non_trainable = self.stateless_call(
                trainable, non_trainable, data[0]
            )
            return jax.nn.sigmoid(logits), non_trainable

    model = _functional(Probabilities, nn)
    logits = np.asarray(model(X))  # call, not predict_step
    np.testing.assert_allclose(
        model.predict(X, verbose=0), 1 / (1 + np.exp(-logits)), rtol=1e-6
    )


def _adam_problem():
    rng = np.random.default_rng(11)
    weights = [rng.standard_normal((3, 2)).astype(np.float32), np.ones(2, np.float32)]
    grads = [np.full((3, 2), 0.5, np.float32), np.array([1.0, -2.0], np.float32)]
    return weights, grads


def test_optimizer_stateless_apply_matches_keras_outside_fit(reference):
    """Keras's loop written from scratch: build, then apply twice."""
    weights, grads = _adam_problem()
    adam = nn.optimizers.Adam(0.1)
    adam.build(weights)
    state = adam.variables
    for _ in range(2):
        weights, state = adam.stateless_apply(state, grads, weights)
    for i, w in enumerate(weights):  # Keras adds epsilon after bias correction
        np.testing.assert_allclose(w, reference[f"adam/{i}"], atol=3e-6)


def test_metric_stateless_methods_match_keras():
    y_true, y_pred = jnp.array([0.0, 1.0, 2.0]), jnp.array([0.5, 1.0, 1.0])
    for ours, theirs in (
        (nn.metrics.MeanAbsoluteError(), keras.metrics.MeanAbsoluteError()),
        (nn.metrics.Mean(), keras.metrics.Mean()),
    ):
        mine = ours.stateless_update_state(ours.stateless_reset_state(), y_true, y_pred)
        reference = theirs.stateless_update_state(
            theirs.stateless_reset_state(), y_true, y_pred
        )
        assert len(mine) == len(ours.variables) == len(theirs.variables)
        assert float(ours.stateless_result(mine)) == pytest.approx(
            float(theirs.stateless_result(reference))
        )


def test_metrics_list_as_keras_lists_it():
    model = _functional(nn.Model, nn)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    assert [m.name for m in model.metrics] == ["loss", "compile_metrics"]
    assert model.metrics_names == ["loss", "mae", "mse"]  # what evaluate returns
    compiled = model.metrics[1]
    state = compiled.stateless_update_state(
        compiled.stateless_reset_state(), Y[:4], np.zeros((4, 1), np.float32)
    )
    result = compiled.stateless_result(state)
    assert list(result) == ["mae", "mse"]
    assert float(result["mae"]) == pytest.approx(np.abs(Y[:4]).mean(), rel=1e-6)


# -- clear errors ----------------------------------------------------------------


def test_keras_tensorflow_style_step_is_refused_with_advice():
    class Stateful(nn.Model):
        def train_step(self, data):
            return {}

    model = _functional(Stateful, nn)
    with pytest.raises(TypeError, match=r"train_step\(self, state, data\)"):
        model.compile(optimizer="sgd", loss="mse")


def test_wrong_variable_counts_name_what_was_expected():
    optimizer = nn.optimizers.Adam()
    weights = [jnp.ones(2)]
    optimizer.build(weights)
    with pytest.raises(ValueError, match=r"expected 5 optimizer variables, received 2"):
        optimizer.stateless_apply(optimizer.variables[:2], weights, weights)
    with pytest.raises(ValueError, match="received 2 gradients for 1 trainable"):
        optimizer.stateless_apply(optimizer.variables, weights * 2, weights)
    with pytest.raises(ValueError, match="not built"):
        _ = nn.optimizers.SGD().variables
    mean = nn.metrics.Mean()
    with pytest.raises(ValueError, match=r"expected 2 metric variables .* received 1"):
        mean.stateless_result([jnp.zeros(())])
    model = _functional(nn.Model, nn)
    with pytest.raises(ValueError, match="expected 4 trainable_variables"):
        model.stateless_call([], [], X)


def test_logs_must_be_a_dict():
    class ScalarLogs(nn.Model):
        def train_step(self, state, data):
            return 0.0, state

    model = _functional(ScalarLogs, nn)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="logs a dict"):
        model.fit(X, Y, verbose=0)
