"""MultiOptimizer and OptimizerMap: an optimizer per weight path, each with
its own learning rate a running fit follows, saved as data. Ten steps against
Keras's twin are in optimizers_keras_test.py."""

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
from nn import layers
from train import optimizers
from train.optimizers import SGD, Adam, MultiOptimizer, OptimizerMap


def test_a_map_finds_exact_paths_then_whole_patterns_then_the_default():
    sgd, adam, lion = SGD(), Adam(), optimizers.Lion()
    mapping = OptimizerMap(sgd, {"encoder/dense": adam, "encoder/.*": lion})
    assert mapping["encoder/dense"] is adam  # the exact key before the patterns
    assert mapping["encoder/attention/query"] is lion
    assert mapping["decoder/encoder/x"] is sgd  # a pattern matches the whole path
    assert len(mapping) == 2 and set(mapping) == {"encoder/dense", "encoder/.*"}
    mapping["decoder/.*"] = adam
    mapping["de.*"] = lion
    with pytest.raises(ValueError, match="matches several patterns"):
        mapping["decoder/dense"]
    with pytest.raises(ValueError, match="'de.\\*' is already mapped"):
        mapping["de.*"] = sgd
    with pytest.raises(ValueError, match="other than a LossScaleOptimizer"):
        mapping["x"] = optimizers.LossScaleOptimizer(SGD())
    with pytest.raises(TypeError, match="default_optimizer must be"):
        OptimizerMap("sgd")


def _data():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return x[:1500], digits.target[:1500], x[1500:], digits.target[1500:]


def _model():
    return nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                          layers.Dense(10, name="head")])  # fmt: skip


@pytest.mark.parametrize("by", ["map", "function"])
def test_each_rate_is_its_own_and_a_running_fit_follows_it(by):
    x, y, x_test, y_test = _data()
    body, head = SGD(0.1, momentum=0.9), Adam(5e-3)
    if by == "map":
        multi = MultiOptimizer(OptimizerMap(body, {"head/.*": head}))
    else:
        multi = MultiOptimizer(lambda w: head if w.path.startswith("head") else body)
    seen = {}

    class FreezeTheBody(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                seen["params"] = jax.tree.map(np.array, self.model.variables["params"])
                body.learning_rate = 0.0  # the body's weights stop; the head's not

    model = _model()
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=multi, loss=loss, metrics=["accuracy"])
    model.fit(x, y, batch_size=50, epochs=4, verbose=0, seed=0,
              callbacks=[FreezeTheBody()])  # fmt: skip
    params = model.variables["params"]
    # momentum 0.9 but a zero rate: SGD's step is -rate * velocity
    np.testing.assert_array_equal(params["dense"]["kernel"],
                                  seen["params"]["dense"]["kernel"])  # fmt: skip
    assert not np.allclose(params["head"]["kernel"], seen["params"]["head"]["kernel"])
    assert model.evaluate(x_test, y_test, verbose=0)[1] > 0.85
    assert [o.name for o in multi.optimizers] in (["sgd", "adam"], ["adam", "sgd"])
    with pytest.raises(AttributeError, match="no learning rate of its own"):
        multi.learning_rate  # noqa: B018


def test_a_mapped_model_saves_and_reloads_exactly_a_function_is_refused(tmp_path):
    x, y, x_test, _ = _data()
    multi = MultiOptimizer(
        OptimizerMap(SGD(0.05), {"head/kernel": Adam(3e-3, use_ema=True)}),
        loss_scale_factor=16.0,
    )  # fmt: skip
    seen = {}

    class Watch(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen["trained"] = jax.tree.map(np.array, self.model.variables["params"])

    model = _model()
    loss = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=multi, loss=loss)
    model.fit(x, y, batch_size=100, epochs=2, verbose=0, seed=0, callbacks=[Watch()])
    # the head's kernel ends on Adam's moving average, the rest as trained
    final, trained = model.variables["params"], seen["trained"]
    assert not np.allclose(final["head"]["kernel"], trained["head"]["kernel"])
    for layer, weight in (("head", "bias"), ("dense", "kernel")):
        np.testing.assert_array_equal(final[layer][weight], trained[layer][weight])
    model.save(tmp_path / "model.stateless")
    again = nn.load_model(tmp_path / "model.stateless")
    assert again.optimizer.get_config() == multi.get_config()
    np.testing.assert_array_equal(again.predict(x_test, verbose=0),
                                  model.predict(x_test, verbose=0))  # fmt: skip
    for a, b in zip(jax.tree.leaves(again.train_state.opt_state),
                    jax.tree.leaves(model.train_state.opt_state)):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    by_function = MultiOptimizer(lambda w: SGD())
    with pytest.raises(ValueError, match="a function optimizer_map cannot be saved"):
        optimizers.serialize(by_function)
