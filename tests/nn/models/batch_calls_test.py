"""The one-batch calls (`train_on_batch`, `test_on_batch`, `predict_on_batch`),
the overridable `test_step` / `predict_step`, `compute_loss` /
`compute_metrics`, `run_eagerly`, and the compile config round trip."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
from nn import layers
from train import steps as steps_lib
from train.fit import Trainer

_rng = np.random.default_rng(1)
X = _rng.standard_normal((24, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)


def _model(**compile_args):
    model = nn.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.build((None, 3), seed=0)
    options = {"optimizer": nn.optimizers.SGD(0.1), "loss": "mse", "metrics": ["mae"]}
    model.compile(**options | compile_args)
    return model


def test_train_on_batch_steps_like_fit_on_that_batch():
    by_batch, by_fit = _model(), _model()
    by_fit.variables = jax.tree.map(jnp.array, by_batch.variables)
    for _ in range(3):
        loss, mae = by_batch.train_on_batch(X, Y)
    by_fit.fit(X, Y, batch_size=24, epochs=3, shuffle=False, verbose=0)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6),
        by_batch.variables,
        by_fit.variables,
    )
    assert by_batch.trainer.train_state.step == 3
    logs = by_batch.train_on_batch(X, Y, sample_weight=np.ones(24), return_dict=True)
    assert list(logs) == ["loss", "mae"] and loss > logs["loss"]  # metrics run on


def test_test_on_batch_accumulates_until_reset_and_predict_on_batch():
    model = _model()
    first = model.test_on_batch(X[:12], Y[:12], return_dict=True)
    both = model.test_on_batch(X[12:], Y[12:], return_dict=True)
    whole = model.evaluate(X, Y, batch_size=24, verbose=0, return_dict=True)
    assert both["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    model.reset_metrics()
    assert model.test_on_batch(X[:12], Y[:12], return_dict=True) == first
    np.testing.assert_array_equal(
        model.predict_on_batch(X), model.predict(X, verbose=0)
    )
    assert model.metrics_names == ["loss", "mae"]


class _Probabilities(nn.Sequential):
    """Predicts sigmoids and evaluates the mean absolute error only."""

    def predict_step(self, variables, x):
        return jax.nn.sigmoid(self.apply(variables, x)[0])

    def test_step(self, train_state, batch):
        x, y, _ = steps_lib.unpack_batch(batch)
        variables = {"params": train_state.params, "state": train_state.state}
        y_pred = self.apply(variables, x)[0]
        loss = self.compute_loss(x, y, y_pred)
        metrics, logs = self.compute_metrics(
            x, y, y_pred, state=train_state.metrics, loss=loss
        )
        return train_state._replace(metrics=metrics), logs


def test_overridden_steps_drive_evaluate_and_predict():
    model = _Probabilities([layers.Input((3,)), layers.Dense(1)])
    model.build((None, 3), seed=0)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    logits = model.apply(model.variables, X)[0]
    np.testing.assert_allclose(
        model.predict(X, verbose=0), jax.nn.sigmoid(logits), rtol=1e-6
    )
    loss, mae = model.evaluate(X, Y, batch_size=24, verbose=0)
    assert loss == pytest.approx(float(jnp.mean((logits - Y) ** 2)), rel=1e-5)
    assert mae == pytest.approx(float(jnp.mean(jnp.abs(logits - Y))), rel=1e-5)


def test_run_eagerly_gives_the_compiled_numbers():
    compiled, eager = _model(), _model(run_eagerly=True)
    compiled.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    eager.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5),
        compiled.variables,
        eager.variables,
    )
    assert eager.trainer.run_eagerly and _model(jit_compile=False).trainer.run_eagerly
    with pytest.raises(ValueError, match="jit_compile must be"):
        _model(jit_compile="xla")


def test_compile_config_round_trips_and_refusals_are_clear():
    model = _model(optimizer=nn.optimizers.Adam(0.01))
    again = nn.Sequential([layers.Input((3,)), layers.Dense(1)])
    again.compile_from_config(model.get_compile_config())
    assert again.get_compile_config() == model.get_compile_config()
    doubled = _model(loss_weights=[2.0])  # one output: a list of one weight
    doubled.set_weights(model.get_weights())
    twice = doubled.evaluate(X, Y, verbose=0, return_dict=True)
    once = model.evaluate(X, Y, verbose=0, return_dict=True)
    np.testing.assert_allclose(twice["loss"], 2 * once["loss"], rtol=1e-6)
    assert twice["mae"] == once["mae"]  # a metric is not weighted by it


def test_a_frozen_mask_keeps_parameters_still_under_weight_decay():
    def apply(variables, x, training=False, rng=None):
        p = variables["params"]
        return x @ p["w"] + p["b"], variables["state"]

    trainer = Trainer(
        apply, "mse", nn.optimizers.AdamW(0.1, weight_decay=0.5),
        trainable_mask=lambda params: {"w": True, "b": False},
    )  # fmt: skip
    trainer.variables = {"params": {"w": jnp.zeros((3, 1)), "b": jnp.ones(1)},
                         "state": {}}  # fmt: skip
    trainer.fit(X, Y, epochs=3, verbose=0, seed=0)
    assert float(trainer.variables["params"]["b"][0]) == 1.0
    assert np.abs(trainer.variables["params"]["w"]).min() > 0.1  # it trained


class Loud(nn.Model):
    """Prints the first value of each batch it is called on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = layers.Dense(1)

    def call(self, x, training=False):
        print("call", x[0, 0])  # a number when eager, a tracer when traced
        return self.dense(x)


def _printed_values(capsys):
    values = []
    for line in capsys.readouterr().out.splitlines():
        try:
            values.append(float(line.split(maxsplit=1)[1]))
        except ValueError:  # a tracer: shape inference, or a compiled step
            continue
    return values


def test_run_eagerly_lets_call_print_each_batch_s_values(capsys):
    for eager in (True, False):
        model = Loud()
        model.build((None, 3), seed=0)
        model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse", run_eagerly=eager)
        capsys.readouterr()
        model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        values = _printed_values(capsys)
        if eager:
            np.testing.assert_allclose(values, X[[0, 8, 16], 0], rtol=1e-6)
        else:
            assert values == []  # compiled: call ran once, traced
