"""Activation and regularization layers: the layer contract (`check_layer`),
what the random layers draw (identity at inference, the noise's statistics,
the key and seed they draw from), and a model built from them that trains
to a stated accuracy and survives the archive."""

import jax
import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers
from nn.archive import load_model, save_model
from tests.nn.harness import check_layer

V0 = {"params": {}, "state": {}}
_rng = np.random.default_rng(0)


def _x(*shape):
    return _rng.normal(size=shape).astype(np.float32)


# (layer, input shape, training)
CONTRACT = {
    "relu": (layers.ReLU(max_value=6.0, negative_slope=0.1), (2, 5), False),
    "leaky_relu": (layers.LeakyReLU(), (2, 5), False),
    "prelu": (layers.PReLU(shared_axes=(1,)), (2, 4, 3), False),
    "elu": (layers.ELU(), (2, 5), False),
    "softmax": (layers.Softmax(axis=(1, 2)), (2, 3, 4), False),
    "spatial_dropout1d": (layers.SpatialDropout1D(0.5), (2, 6, 4), True),
    "spatial_dropout2d_first": (
        layers.SpatialDropout2D(0.5, data_format="channels_first"), (2, 4, 3, 3),
        True,
    ),
    "spatial_dropout3d": (layers.SpatialDropout3D(0.5), (1, 2, 2, 2, 4), True),
    "gaussian_noise": (layers.GaussianNoise(0.5), (2, 5), True),
    "gaussian_dropout": (layers.GaussianDropout(0.3), (2, 5), True),
    "alpha_dropout": (layers.AlphaDropout(0.2), (2, 5), True),
    "activity_regularization": (layers.ActivityRegularization(0.1, 0.1), (2, 5),
                                True),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONTRACT))
def test_the_layer_contract_holds(case):
    layer, shape, training = CONTRACT[case]
    check_layer(layer, _x(*shape), expected_shape=shape, training=training)


RANDOM = ["spatial_dropout1d", "spatial_dropout2d_first", "spatial_dropout3d",
          "gaussian_noise", "gaussian_dropout", "alpha_dropout"]  # fmt: skip


@pytest.mark.parametrize("case", RANDOM)
def test_random_layers_are_the_identity_at_inference_and_need_a_key(case):
    layer, shape, _ = CONTRACT[case]
    x = _x(*shape)
    np.testing.assert_array_equal(layer.apply(V0, x)[0], x)
    with pytest.raises(ValueError, match=f"{type(layer).__name__} .* needs rng="):
        layer.apply(V0, x, training=True)


def test_a_seed_is_folded_into_the_key():
    x, key = np.ones((64, 64), np.float32), sl.random.key(0)
    draw = [
        layers.GaussianNoise(1.0, seed=s).apply(V0, x, training=True, rng=key)[0]
        for s in (None, 1, 1, 2)
    ]
    np.testing.assert_array_equal(draw[1], draw[2])
    assert not np.allclose(draw[0], draw[1]) and not np.allclose(draw[1], draw[3])


def test_the_noise_has_the_stated_statistics():
    x, key = np.ones((200, 200), np.float32), sl.random.key(3)
    noisy, _ = layers.GaussianNoise(0.5).apply(V0, x * 0, training=True, rng=key)
    assert abs(float(noisy.std()) - 0.5) < 0.01
    scaled, _ = layers.GaussianDropout(0.2).apply(V0, x, training=True, rng=key)
    assert abs(float(scaled.mean()) - 1) < 0.01
    assert abs(float(scaled.std()) - 0.5) < 0.01  # sqrt(0.2 / 0.8)
    normal = np.asarray(sl.random.normal((200, 200), seed=1))
    selu_like, _ = layers.AlphaDropout(0.3).apply(V0, normal, training=True, rng=key)
    assert abs(float(selu_like.mean())) < 0.02
    assert abs(float(selu_like.std()) - 1) < 0.02
    channels, _ = layers.SpatialDropout2D(0.5).apply(
        V0, np.ones((50, 3, 3, 40), np.float32), training=True, rng=key
    )
    per_channel = np.asarray(channels).reshape(50, 9, 40)
    assert (per_channel == per_channel[:, :1]).all()
    assert abs(float((per_channel[:, 0] == 0).mean()) - 0.5) < 0.05


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"ReLU: max_value must be >= 0"):
        layers.ReLU(max_value=-1.0)
    with pytest.raises(ValueError, match=r"LeakyReLU: negative_slope must be >= 0"):
        layers.LeakyReLU(-0.1)
    with pytest.raises(ValueError, match=r"SpatialDropout1D: rate must be in"):
        layers.SpatialDropout1D(1.0)
    with pytest.raises(ValueError, match=r"GaussianNoise: stddev must be >= 0"):
        layers.GaussianNoise(-1.0)
    with pytest.raises(sl.errors.ShapeError, match=r"PReLU 'p_re_lu': shared axis 3"):
        layers.PReLU(shared_axes=3).init(sl.random.key(0), _x(2, 4, 3))
    with pytest.raises(sl.errors.ShapeError, match="Softmax 'softmax': a mask"):
        layers.Softmax().apply(V0, _x(2, 5), np.ones((2, 4), bool))


def test_a_model_of_these_layers_learns_digits_and_survives_the_archive(tmp_path):
    x, y = load_digits(return_X_y=True)
    images = (x / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
    model = nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.GaussianNoise(0.05),
        layers.Conv2D(16, 3, padding="same"), layers.PReLU(shared_axes=(1, 2)),
        layers.SpatialDropout2D(0.1),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same"), layers.ELU(),
        layers.GlobalAveragePooling2D(),
        layers.ActivityRegularization(l2=1e-4),
        layers.Dense(64), layers.LeakyReLU(), layers.AlphaDropout(0.05),
        layers.GaussianDropout(0.05),
        layers.Dense(10), layers.Softmax(),
    ])  # fmt: skip
    model.compile(
        optimizer=nn.optimizers.Adam(1e-2),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(images[:1500], y[:1500], batch_size=64, epochs=15, verbose=0, seed=0)
    _, accuracy = model.evaluate(images[1500:], y[1500:], verbose=0)
    assert accuracy >= 0.85  # reached: 0.926
    save_model(model, tmp_path / "activations.zip")
    again = load_model(tmp_path / "activations.zip")
    np.testing.assert_array_equal(
        again.predict(images[1500:], verbose=0), model.predict(images[1500:], verbose=0)
    )
    assert jax.tree.map(np.shape, again.variables) == jax.tree.map(
        np.shape, model.variables
    )
