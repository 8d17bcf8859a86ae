"""Keras's base keywords, which every layer takes: `trainable` freezes the
layer's weights in fit and survives the config and the archive; `dtype`
gives one layer its own dtype policy; `activity_regularizer` adds Keras's
penalty on the outputs to the loss; `autocast=False` leaves inputs as they
come; and each layer's `apply` runs under a name scope that the compiled
program shows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers, regularizers
from nn.archive import load_model, save_model
from stateless import added_losses, mixed_precision
from tests.keras_reference import keras_numbers

_rng = np.random.default_rng(7)
X = _rng.normal(size=(5, 4)).astype(np.float32)
KERNEL = _rng.normal(size=(4, 3)).astype(np.float32)
BIAS = _rng.normal(size=(3,)).astype(np.float32)


def _keras_side(path):
    import keras

    layer = keras.layers.Dense(
        3, activity_regularizer=keras.regularizers.L1L2(l1=0.01, l2=0.02)
    )
    layer.build((5, 4))
    layer.set_weights([KERNEL, BIAS])
    y = layer(X)
    half = keras.layers.Dense(3, dtype="bfloat16")
    mixed = keras.layers.Dense(3, dtype="mixed_bfloat16")
    numbers = {"y": np.asarray(y), "penalty": np.asarray(layer.losses[0])}
    for case, each in (("half", half), ("mixed", mixed)):
        out = each(X)
        numbers[f"{case}/kernel_dtype"] = np.array(str(each.kernel.dtype))
        numbers[f"{case}/y_dtype"] = np.array(str(out.dtype))
    np.savez(path, **numbers)


@pytest.fixture(scope="module")
def keras_side(tmp_path_factory):
    return keras_numbers(__file__, tmp_path_factory.mktemp("keras") / "base.npz")


def _dense_variables():
    return {"params": {"kernel": KERNEL, "bias": BIAS}, "state": {}}


def test_activity_regularizer_adds_keras_penalty_over_the_batch(keras_side):
    layer = layers.Dense(3, activity_regularizer=regularizers.L1L2(l1=0.01, l2=0.02))
    with added_losses.collect_losses() as added:
        y, _ = layer.apply(_dense_variables(), X)
    np.testing.assert_allclose(y, keras_side["y"], atol=1e-5)
    assert len(added) == 1
    np.testing.assert_allclose(added[0], keras_side["penalty"], rtol=1e-5)


def test_activity_penalty_joins_the_evaluated_loss():
    y = np.zeros((5, 3), np.float32)

    def loss_of(regularizer):
        model = nn.Sequential(
            [layers.Dense(3, activity_regularizer=regularizer, input_shape=(4,))]
        )
        model.compile(optimizer="sgd", loss="mse")
        model.set_weights([KERNEL, BIAS])
        return model.evaluate(X, y, batch_size=5, verbose=0)

    squares = np.sum((X @ KERNEL + BIAS) ** 2) / 5  # over the batch of 5
    baseline = loss_of(None)
    assert loss_of("l2") - baseline == pytest.approx(0.01 * squares, rel=1e-4)
    assert loss_of(regularizers.L2(0.1)) - baseline == pytest.approx(
        0.1 * squares, rel=1e-4
    )


@pytest.mark.parametrize(
    "case, dtype", [("half", "bfloat16"), ("mixed", "mixed_bfloat16")]
)
def test_a_layer_dtype_sets_its_variable_and_compute_dtypes_as_in_keras(
    keras_side, case, dtype
):
    layer = layers.Dense(3, dtype=dtype)
    variables = layer.init(sl.random.key(0), X)
    y, _ = layer.apply(variables, X)
    assert (
        str(variables["params"]["kernel"].dtype) == keras_side[f"{case}/kernel_dtype"]
    )
    assert str(y.dtype) == keras_side[f"{case}/y_dtype"]
    assert layer.compute_dtype == "bfloat16"
    assert layer.get_config()["dtype"] == dtype


def _mixed_model_output(last_dtype):
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = nn.Sequential(
            [
                layers.Dense(8, activation="relu", input_shape=(4,)),
                layers.Dense(3, dtype=last_dtype),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        model.fit(X, np.zeros((5, 3), np.float32), epochs=1, verbose=0)
        return model.predict(X, verbose=0)
    finally:
        mixed_precision.set_global_policy("float32")


def test_a_float32_layer_stays_float32_under_a_mixed_policy():
    assert _mixed_model_output(None).dtype == jnp.bfloat16
    assert _mixed_model_output("float32").dtype == np.float32


def test_autocast_false_leaves_the_inputs_dtype():
    layer = layers.Dense(3, dtype="bfloat16", autocast=False)
    variables = layer.init(sl.random.key(0), X)
    y, _ = layer.apply(variables, X)
    assert variables["params"]["kernel"].dtype == jnp.bfloat16
    assert y.dtype == jnp.float32  # float32 inputs times a bfloat16 kernel
    assert layer.get_config()["autocast"] is False


def _frozen_model():
    return nn.Sequential(
        [
            layers.Dense(6, activation="tanh", trainable=False, input_shape=(4,)),
            layers.Dense(3),
        ]
    )


def test_trainable_false_freezes_a_layer_in_fit_and_survives_the_archive(tmp_path):
    model = _frozen_model()
    model.compile(optimizer="adam", loss="mse")
    before = [np.asarray(w) for w in model.get_weights()]
    model.fit(X, np.ones((5, 3), np.float32), epochs=3, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    assert not np.array_equal(after[2], before[2])

    assert model.layers[0].get_config()["trainable"] is False
    assert layers.Dense.from_config(model.layers[0].get_config()).trainable is False
    save_model(model, tmp_path / "frozen.stateless")
    again = load_model(tmp_path / "frozen.stateless")
    assert [layer.trainable for layer in again.layers] == [False, True]
    np.testing.assert_array_equal(
        again.predict(X, verbose=0), model.predict(X, verbose=0)
    )


def test_a_layer_config_lists_only_the_base_keywords_that_are_set():
    assert set(layers.Dense(3).get_config()).isdisjoint(
        {"trainable", "dtype", "activity_regularizer", "autocast"}
    )
    config = layers.Dense(3, activity_regularizer="l1").get_config()
    again = layers.Dense.from_config(config)
    assert again.activity_regularizer == regularizers.get("l1")


def test_apply_runs_under_the_layer_name_scope():
    layer = layers.Dense(3, name="encoder_head")
    variables = layer.init(sl.random.key(0), X)
    text = (
        jax.jit(lambda v, x: layer.apply(v, x)[0])
        .lower(variables, X)
        .as_text(debug_info=True)
    )
    assert "encoder_head/" in text


def test_an_unknown_dtype_names_the_valid_policies():
    with pytest.raises(Exception, match="mixed_bfloat16"):
        layers.Dense(3, dtype="int8")
