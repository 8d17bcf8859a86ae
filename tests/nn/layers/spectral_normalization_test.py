"""SpectralNormalization against Keras 3 (the same kernel, bias and
`vector_u` give the same training output, the same new `vector_u` and the
same gradients), its layer contract, and what it does to the kernel."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers
from nn.archive import load_model, save_model
from tests import keras_reference
from tests.nn.harness import check_layer

# name: (wrapped layer, its keyword arguments, power iterations, input shape)
CASES = {
    "dense": ("Dense", {"units": 4}, 1, (3, 5)),
    "dense_three_iterations": ("Dense", {"units": 3}, 3, (2, 6)),
    "conv2d": ("Conv2D", {"filters": 3, "kernel_size": 2}, 1, (2, 4, 4, 2)),
}


def _inputs(case):
    shape = CASES[case][3]
    return np.random.default_rng(len(case)).normal(size=shape).astype(np.float32)


def _keras_side(path):
    """Keras's SpectralNormalization in training on JAX; numbers to `path`.
    Runs in a subprocess (see tests/keras_reference.py)."""
    import keras

    keras.utils.set_random_seed(0)
    out = {}
    for case, (name, kwargs, iterations, _) in CASES.items():
        inner = getattr(keras.layers, name)(**kwargs)
        layer = keras.layers.SpectralNormalization(inner, iterations)
        x = _inputs(case)
        layer.build(x.shape)
        trainable = [v.value for v in layer.trainable_variables]
        frozen = [v.value for v in layer.non_trainable_variables]
        names = [v.path.rsplit("/", 1)[-1] for v in layer.trainable_variables]

        def run(weights, x):
            return layer.stateless_call(weights, frozen, x, training=True)  # noqa: B023

        y, updated = run(trainable, x)
        cot = keras_reference.cotangent(case)(y.shape)
        gw, gx = jax.grad(lambda w, x: jnp.sum(run(w, x)[0] * cot), (0, 1))(
            trainable, jnp.asarray(x)
        )
        out[f"{case}/y"], out[f"{case}/gx"] = np.asarray(y), np.asarray(gx)
        out[f"{case}/u"] = np.asarray(frozen[0])
        out[f"{case}/new_u"] = np.asarray(updated[0])
        for n, w, g in zip(names, trainable, gw):
            out[f"{case}/w/{n}"], out[f"{case}/gw/{n}"] = np.asarray(w), np.asarray(g)
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_numbers(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "spectral.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_matches_keras(case, keras_numbers):
    name, kwargs, iterations, _ = CASES[case]
    layer = layers.SpectralNormalization(getattr(layers, name)(**kwargs), iterations)
    x = _inputs(case)
    mine = layer.init(sl.random.key(0), x)
    prefix = f"{case}/w/"
    params = {"layer": {k[len(prefix):]: v for k, v in keras_numbers.items()
                        if k.startswith(prefix)}}  # fmt: skip
    assert jax.tree.map(np.shape, params) == jax.tree.map(np.shape, mine["params"])
    state = {**mine["state"], "vector_u": keras_numbers[f"{case}/u"]}

    def run(params, x):
        return layer.apply({"params": params, "state": state}, x, training=True)

    y, new_state = run(params, x)
    np.testing.assert_allclose(y, keras_numbers[f"{case}/y"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(new_state["vector_u"], keras_numbers[f"{case}/new_u"],
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    cot = keras_reference.cotangent(case)(y.shape)
    gw, gx = jax.grad(lambda p, x: jnp.sum(run(p, x)[0] * cot), (0, 1))(params, x)
    np.testing.assert_allclose(gx, keras_numbers[f"{case}/gx"], rtol=1e-5, atol=1e-5)
    for key, g in gw["layer"].items():
        np.testing.assert_allclose(g, keras_numbers[f"{case}/gw/{key}"],
                                   rtol=1e-4, atol=1e-5)  # fmt: skip


def test_the_layer_contract_holds():
    layer = layers.SpectralNormalization(layers.Dense(4, activation="relu"))
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    check_layer(layer, x, expected_shape=(3, 4), training=True)


def test_training_brings_the_kernel_to_spectral_norm_one():
    """After enough power iterations the normalized kernel's largest singular
    value is 1, whatever the kernel's scale; inference uses the stored sigma."""
    layer = layers.SpectralNormalization(layers.Dense(6, use_bias=False), 20)
    x = np.eye(8, dtype=np.float32)
    v = layer.init(sl.random.key(0), x)
    v["params"]["layer"]["kernel"] = v["params"]["layer"]["kernel"] * 7.0
    y, state = layer.apply(v, x, training=True)
    assert np.linalg.norm(np.asarray(y), 2) == pytest.approx(1.0, rel=1e-4)
    inferred, _ = layer.apply({**v, "state": state}, x)
    np.testing.assert_allclose(inferred, y, rtol=1e-6)


def test_the_wrapper_is_refused_without_a_kernel_and_round_trips(tmp_path):
    with pytest.raises(sl.errors.ShapeError, match="no parameter named kernel"):
        layers.SpectralNormalization(layers.LayerNormalization()).init(
            sl.random.key(0), np.ones((2, 3), np.float32)
        )
    with pytest.raises(ValueError, match="power_iterations must be a positive"):
        layers.SpectralNormalization(layers.Dense(2), 0)
    model = nn.Sequential([
        layers.Input((5,)),
        layers.SpectralNormalization(layers.Dense(8, kernel_regularizer="l2")),
        layers.Dense(2),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(1).normal(size=(32, 5)).astype(np.float32)
    model.fit(x, x[:, :2], epochs=2, verbose=0, seed=0)
    assert float(model.penalty(model.variables["params"])) > 0
    save_model(model, tmp_path / "spectral.zip")
    again = load_model(tmp_path / "spectral.zip")
    np.testing.assert_array_equal(
        again.predict(x, verbose=0), model.predict(x, verbose=0)
    )
