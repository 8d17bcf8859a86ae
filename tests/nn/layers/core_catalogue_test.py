"""The core layers of Keras's catalogue here: the layer contract
(`check_layer`, lowering to torch and TensorFlow included), what a Lambda
can and cannot save, what a Wrapper delegates, EinsumDense's shape errors,
and a model of them that learns digits and reloads exactly."""

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers, regularizers
from nn.archive import load_model, save_model
from tests.nn.harness import check_layer

_rng = np.random.default_rng(5)


def _x(*shape):
    return _rng.normal(size=shape).astype(np.float32)


@nn.register("tests>scaled_tanh")
def scaled_tanh(x, scale=1.0):
    return scale * jnp.tanh(x)


CONTRACT = {
    "einsum_dense": (layers.EinsumDense("abc,cde->abde", (5, 2, 3), bias_axes="e"),
                     (2, 5, 4), (2, 5, 2, 3)),
    "identity": (layers.Identity(), (2, 3), (2, 3)),
    "masking": (layers.Masking(), (2, 4, 3), (2, 4, 3)),
    "lambda": (layers.Lambda(scaled_tanh, arguments={"scale": 2.0}), (2, 3), (2, 3)),
    "wrapper": (layers.Wrapper(layers.Dense(4)), (2, 3), (2, 4)),
    "reversible_embedding": (layers.ReversibleEmbedding(10, 4), "ids", (2, 3, 4)),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONTRACT))
def test_the_layer_contract_holds(case):
    layer, shape, expected = CONTRACT[case]
    x = np.array([[1, 2, 3], [4, 5, 6]], np.int32) if shape == "ids" else _x(*shape)
    check_layer(layer, x, expected_shape=expected)


def test_a_lambda_saves_a_registered_function_by_name_and_never_code():
    layer = layers.Lambda(scaled_tanh, arguments={"scale": 3.0})
    config = layer.get_config()
    assert config["function"] == "tests>scaled_tanh"
    again = layers.Lambda.from_config(config)
    x = _x(2, 3)
    v = {"params": {}, "state": {}}
    np.testing.assert_allclose(again.apply(v, x)[0], 3.0 * np.tanh(x), rtol=1e-6)

    def local(x):
        return x + 1.0

    with pytest.raises(TypeError, match="never holds their code.*nn.register"):
        layers.Lambda(local).get_config()
    with pytest.raises(TypeError, match="JSON data"):
        layers.Lambda(scaled_tanh, arguments={"scale": jnp.ones(2)}).get_config()
    with pytest.raises(ValueError, match="not registered"):
        layers.Lambda.from_config({**config, "function": "tests>missing"})
    assert (
        layers.Lambda.from_config(
            {**config, "function": "mine"}, custom_objects={"mine": local}
        ).function
        is local
    )


def test_a_lambda_on_several_inputs_gets_a_list():
    layer = layers.Lambda(lambda xs: xs[0] * xs[1])
    a, b = _x(2, 3), _x(2, 3)
    np.testing.assert_allclose(layer.apply({"params": {}, "state": {}}, a, b)[0], a * b)


def test_a_wrapper_delegates_penalties_and_constraints():
    inner = layers.Dense(3, kernel_regularizer=regularizers.L2(0.5),
                         kernel_constraint="non_neg")  # fmt: skip
    wrapper = layers.Wrapper(inner)
    params = wrapper.init(sl.random.key(0), _x(2, 4))["params"]
    kernel = params["layer"]["kernel"]
    assert float(wrapper.penalty(params)) == pytest.approx(
        0.5 * float(jnp.sum(kernel**2)), rel=1e-5
    )
    assert wrapper.has_constraints()
    assert float(wrapper.constrain(params)["layer"]["kernel"].min()) >= 0.0
    again = layers.Wrapper.from_config(wrapper.get_config())
    assert again.layer == inner
    with pytest.raises(TypeError, match="layer must be a layer"):
        layers.Wrapper("dense")


def test_einsum_dense_names_what_is_wrong():
    with pytest.raises(ValueError, match="not of a supported form"):
        layers.EinsumDense("ab,bc", 3)
    with pytest.raises(ValueError, match="output_shape gives axis 'b' size 7"):
        layers.EinsumDense("abc,cd->abd", (7, 3)).init(sl.random.key(0), _x(2, 5, 4))
    with pytest.raises(ValueError, match="bias_axes \\['z'\\]"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="z").init(
            sl.random.key(0), _x(2, 4)
        )
    with pytest.raises(ValueError, match="kernel axis 'd' has no size"):
        layers.EinsumDense("abc,cd->abd", (5, None)).init(sl.random.key(0), _x(2, 5, 4))


def test_a_model_of_core_layers_learns_digits_and_reloads_exactly(tmp_path):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 8, 8)
    model = nn.Sequential(
        [
            layers.Input((8, 8)),
            layers.Masking(),
            layers.EinsumDense(
                "abc,cd->abd", (8, 16), bias_axes="d", activation="relu"
            ),  # fmt: skip
            layers.Flatten(),
            layers.Lambda(scaled_tanh, arguments={"scale": 2.0}),
            layers.Identity(),
            layers.Wrapper(layers.Dense(10, activation="softmax")),
        ]
    )
    model.compile(
        optimizer=nn.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:1500], y[:1500], epochs=15, batch_size=32, verbose=0, seed=0)
    _, accuracy = model.evaluate(x[1500:], y[1500:], verbose=0)
    assert accuracy >= 0.88  # reached: 0.916 on the held-out writers
    save_model(model, tmp_path / "core.stateless")
    again = load_model(tmp_path / "core.stateless")
    np.testing.assert_array_equal(again.predict(x[1500:], verbose=0),
                                  model.predict(x[1500:], verbose=0))  # fmt: skip
