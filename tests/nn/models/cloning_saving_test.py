"""keras.models and keras.saving here: JSON, from_config, clone_model, the
registration helpers and load_model's keywords."""

import inspect
import json
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")  # before keras is first imported
import keras  # noqa: E402  (signatures to compare against)

import nn  # noqa: E402
from nn import layers, models, saving  # noqa: E402

X = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)


def _functional():
    x = layers.Input((6,))
    h = layers.Dense(8, activation="relu")(x)
    y = layers.Add()([layers.Dense(8)(h), h])
    return nn.Model(x, layers.Dense(2)(y))


def _sequential():
    return nn.Sequential([layers.Input((6,)), layers.Dense(4, activation="tanh"),
                          layers.Dropout(0.2), layers.Dense(3)])  # fmt: skip


@pytest.mark.parametrize("make", [_functional, _sequential])
def test_json_and_from_config_rebuild_the_same_model(make):
    model = make()
    model.build((None, 6), seed=0)
    for again in (
        models.model_from_json(model.to_json()),
        type(model).from_config(model.get_config()),
    ):
        assert again.variables is None  # architecture only
        assert json.loads(again.to_json()) == json.loads(model.to_json())
        again.build((None, 6), seed=1)
        again.set_weights(model.get_weights())
        np.testing.assert_array_equal(again.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="not JSON"):
        models.model_from_json("{model")


@pytest.mark.parametrize("make", [_functional, _sequential])
def test_clone_model_has_the_same_architecture_and_fresh_weights(make):
    model = make()
    model.build((None, 6), seed=0)
    clone = models.clone_model(model)
    assert clone is not model and clone.variables is None
    assert clone.get_config() == model.get_config()
    clone.build((None, 6), seed=5)
    assert [w.shape for w in clone.get_weights()] == [
        w.shape for w in model.get_weights()
    ]
    assert not np.allclose(clone.predict(X), model.predict(X))


def test_clone_function_call_function_and_input_tensors():
    model = _functional()
    head, seen = model.layers[-1], []

    def widen(layer):
        seen.append(type(layer).__name__)
        return layers.Dense(5) if layer is head else layer

    wider = models.clone_model(model, clone_function=widen)
    assert wider.output_shape == (None, 5)
    assert "InputLayer" not in seen  # as Keras: inputs are made afresh
    calls = []

    def call(layer, *args, **kwargs):
        calls.append(type(layer).__name__)
        return layer(*args, **kwargs)

    fresh_input = layers.Input((6,), name="renamed")
    clone = models.clone_model(model, input_tensors=fresh_input, call_function=call)
    assert calls == ["Dense", "Dense", "Add", "Dense"]
    assert clone.inputs[0] is fresh_input
    outer = nn.Sequential([layers.Input((6,)), _sequential(), layers.Dense(1)])
    nested = models.clone_model(outer, recursive=True)
    assert nested.layers[0] is not outer.layers[0]
    assert isinstance(nested.layers[0], nn.Sequential)
    with pytest.raises(ValueError, match="call_function applies to functional"):
        models.clone_model(_sequential(), call_function=call)


@saving.register_keras_serializable(package="tests_saving")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Halve(Scale):
    def call(self, x):
        return x / self.factor


def test_registration_scopes_and_load_model_keywords(tmp_path):
    assert saving.get_registered_name(Scale) == "tests_saving>Scale"
    assert saving.get_registered_object("tests_saving>Scale") is Scale
    assert saving.get_registered_object("tests_saving>Nothing") is None
    model = nn.Sequential([layers.Input((6,)), Scale(3.0), layers.Dense(2)])
    model.compile("sgd", "mse")
    model.fit(X, np.ones((5, 2)), verbose=0, seed=0)
    path = tmp_path / "scaled.stateless"
    saving.save_model(model, path)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_model(model, path, overwrite=False)
    loaded = saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert int(loaded.train_state.step) == 1
    bare = nn.load_model(path, compile=False)
    assert bare.trainer is None
    np.testing.assert_array_equal(bare.predict(X), model.predict(X))
    with saving.custom_object_scope({"tests_saving>Scale": Halve}):  # the scope wins
        assert isinstance(nn.load_model(path).layers[0], Halve)
    saving.get_custom_objects()["tests_saving>Scale"] = Halve
    try:
        assert isinstance(nn.load_model(path).layers[0], Halve)
    finally:
        del saving.get_custom_objects()["tests_saving>Scale"]
    assert type(nn.load_model(path).layers[0]) is Scale
    spec = saving.serialize_keras_object(Scale(4.0))
    assert spec["class_name"] == "tests_saving>Scale"
    assert saving.deserialize_keras_object(spec).factor == 4.0
    assert saving.deserialize_keras_object("tests_saving>Scale") is Scale


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (nn.saving.load_model, keras.saving.load_model),
        (nn.load_model, keras.models.load_model),
        (nn.saving.save_model, keras.saving.save_model),
        (
            nn.saving.register_keras_serializable,
            keras.saving.register_keras_serializable,
        ),
        (nn.saving.get_registered_object, keras.saving.get_registered_object),
        (nn.saving.deserialize_keras_object, keras.saving.deserialize_keras_object),
        (nn.models.clone_model, keras.models.clone_model),
        (nn.models.model_from_json, keras.models.model_from_json),
    ],
)
def test_signatures_match_keras(ours, theirs):
    # save_model's `zipped` (Keras's unzipped folder format) is not here
    allowed = {"zipped"}
    keras_params = inspect.signature(theirs).parameters
    our_params = inspect.signature(ours).parameters
    assert set(keras_params) - set(our_params) - allowed <= {"kwargs"} | set()
    for name in set(keras_params) & set(our_params):
        default = keras_params[name].default
        if default is not inspect.Parameter.empty:
            assert our_params[name].default == default, name
