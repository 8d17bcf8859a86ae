"""Core layers against NumPy, through the conformance harness."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl
from nn import layers
from stateless.errors import DTypeError
from tests.nn.harness import check_layer

_rng = np.random.default_rng(0)
V0 = {"params": {}, "state": {}}


def _x(*shape):
    return jnp.asarray(_rng.standard_normal(shape), jnp.float32)


def test_dense_matches_numpy_and_passes_the_harness():
    x = _x(4, 3)
    variables, y = check_layer(
        layers.Dense(5, activation="relu"),
        x,
        expected_shape=(4, 5),
        wrong_input=_x(4, 2),
    )
    p = variables["params"]
    want = np.maximum(
        np.asarray(x) @ np.asarray(p["kernel"]) + np.asarray(p["bias"]), 0
    )
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_dense_applies_over_leading_axes_and_can_drop_the_bias():
    layer = layers.Dense(2, use_bias=False)
    v = layer.init(sl.random.key(0), _x(3, 4, 6))
    assert list(v["params"]) == ["kernel"]
    assert layer.apply(v, _x(3, 4, 6))[0].shape == (3, 4, 2)


def test_dense_wrong_input_names_layer_and_shapes():
    layer = layers.Dense(3, name="head")
    v = layer.init(sl.random.key(0), _x(2, 4))
    with pytest.raises(
        ValueError,
        match=r"Dense 'head', argument 'x': expected \(\.\.\., 4\), received \(2, 5\)",
    ):
        layer.apply(v, _x(2, 5))


@pytest.mark.parametrize(
    "layer, shape, want",
    [
        (layers.Activation("tanh"), (2, 3), np.tanh),
        (layers.Flatten(), (2, 3, 4), lambda x: x.reshape(2, 12)),
        (layers.Reshape((3, -1)), (2, 12), lambda x: x.reshape(2, 3, 4)),
        (layers.Rescaling(0.5, offset=1.0), (2, 3), lambda x: 0.5 * x + 1.0),
        (layers.Dropout(0.5), (2, 3), lambda x: x),  # identity at inference
    ],
    ids=["activation", "flatten", "reshape", "rescaling", "dropout_inference"],
)
def test_parameter_free_layers_match_numpy(layer, shape, want):
    x = _x(*shape)
    _, y = check_layer(layer, x)
    np.testing.assert_allclose(y, want(np.asarray(x)), rtol=1e-6)


def test_dropout_when_training_scales_kept_entries_and_follows_rng():
    layer, x = layers.Dropout(0.25), jnp.ones((64, 32))
    check_layer(layer, x, training=True)
    a, _ = layer.apply(V0, x, training=True, rng=sl.random.key(1))
    b, _ = layer.apply(V0, x, training=True, rng=sl.random.key(2))
    assert set(np.unique(a)) == {0.0, np.float32(1 / 0.75)}
    assert not np.array_equal(a, b)
    assert abs(float((a == 0).mean()) - 0.25) < 0.03


def test_dropout_noise_shape_and_missing_rng():
    layer = layers.Dropout(0.5, noise_shape=(None, 1, None))
    y, _ = layer.apply(V0, jnp.ones((4, 5, 6)), training=True, rng=sl.random.key(0))
    assert bool((y == y[:, :1, :]).all())
    with pytest.raises(ValueError, match="Dropout 'dropout' needs rng="):
        layer.apply(V0, jnp.ones((2, 3)), training=True)


def test_embedding_looks_up_rows_and_refuses_boolean_ids():
    ids = jnp.array([[0, 3, 3], [9, 1, 0]], jnp.int32)
    variables, y = check_layer(layers.Embedding(10, 4), ids, expected_shape=(2, 3, 4))
    np.testing.assert_array_equal(y, np.asarray(variables["params"]["embeddings"])[ids])
    with pytest.raises(DTypeError, match="Embedding 'embedding', argument 'ids'"):
        layers.Embedding(10, 4).apply(variables, jnp.ones((2, 3), bool))


def test_input_makes_symbolic_tensors_with_a_none_batch_axis():
    x = layers.Input((28, 28, 1), dtype="uint8")
    assert (x.shape, x.dtype) == ((None, 28, 28, 1), "uint8")
    y = layers.Dense(7)(layers.Flatten()(layers.Rescaling(1 / 255)(x)))
    assert (y.shape, y.dtype) == ((None, 7), "float32")


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: layers.Dense(0), "units must be a positive int"),
        (lambda: layers.Dense(3, activation="sigmod"), "unknown activation 'sigmod'"),
        (lambda: layers.Dense(3, kernel_regularizer="l3"), "unknown regularizer 'l3'"),
        (lambda: layers.Dropout(1.0), r"rate must be in \[0, 1\)"),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_a_layer_called_on_arrays_outside_a_model_builds_and_holds_its_variables():
    layer = layers.Dense(3)
    x = _x(2, 4)
    y = layer(x)
    params = layer.variables["params"]
    chex.assert_trees_all_close(y, x @ params["kernel"] + params["bias"], rtol=1e-6)
    chex.assert_trees_all_equal(layer(x), y)  # the second call reuses them


def test_unknown_initializer_lists_valid_names():
    with pytest.raises(ValueError, match="unknown initializer 'xavier'.*Valid names: "
                       "constant, .*he_normal, .*zeros"):  # fmt: skip
        layers.Dense(3, kernel_initializer="xavier").init(sl.random.key(0), _x(2, 2))


def test_jit_of_init_from_specs_allocates_nothing_eagerly():
    spec = jax.ShapeDtypeStruct((8, 3), jnp.float32)
    shapes = jax.eval_shape(layers.Dense(4).init, sl.random.key(0), spec)
    assert jax.tree.map(lambda s: s.shape, shapes)["params"] == {
        "bias": (4,),
        "kernel": (3, 4),
    }
