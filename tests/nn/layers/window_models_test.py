"""The convolution and pooling layers of Keras's catalogue: the layer
contract (`check_layer`) for each, and models built from them that train to
stated numbers and survive the archive."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import nn
from nn import layers
from nn.archive import load_model, save_model
from tests.nn.harness import check_layer

_rng = np.random.default_rng(0)


def _x(*shape):
    return _rng.normal(size=shape).astype(np.float32)


# (layer, input shape, output shape)
CONTRACT = {
    "conv1d_causal": (layers.Conv1D(3, 3, padding="causal"), (2, 7, 2), (2, 7, 3)),
    "conv3d": (layers.Conv3D(2, 2), (1, 3, 4, 4, 2), (1, 2, 3, 3, 2)),
    "conv1d_transpose": (layers.Conv1DTranspose(2, 3, strides=2), (2, 4, 3), (2, 9, 2)),
    "conv2d_transpose": (
        layers.Conv2DTranspose(2, 3, strides=2, padding="same"), (1, 3, 4, 2),
        (1, 6, 8, 2),
    ),
    "conv3d_transpose": (layers.Conv3DTranspose(1, 2, strides=2), (1, 2, 2, 2, 2),
                         (1, 4, 4, 4, 1)),
    "depthwise1d": (layers.DepthwiseConv1D(3, depth_multiplier=2), (2, 6, 2),
                    (2, 4, 4)),
    "depthwise2d": (layers.DepthwiseConv2D(3), (2, 5, 5, 3), (2, 3, 3, 3)),
    "separable1d": (layers.SeparableConv1D(4, 3), (2, 6, 2), (2, 4, 4)),
    "separable2d": (layers.SeparableConv2D(4, 3, padding="same"), (1, 5, 5, 2),
                    (1, 5, 5, 4)),
    "max1d": (layers.MaxPooling1D(), (2, 8, 3), (2, 4, 3)),
    "max3d": (layers.MaxPooling3D(), (1, 4, 4, 4, 2), (1, 2, 2, 2, 2)),
    "average1d": (layers.AveragePooling1D(3, padding="same"), (2, 7, 3), (2, 3, 3)),
    "average3d": (layers.AveragePooling3D(2), (1, 4, 4, 2, 2), (1, 2, 2, 1, 2)),
    "global_average1d": (layers.GlobalAveragePooling1D(), (2, 5, 3), (2, 3)),
    "global_average3d": (layers.GlobalAveragePooling3D(), (2, 2, 3, 2, 3), (2, 3)),
    "global_max1d": (layers.GlobalMaxPooling1D(keepdims=True), (2, 5, 3), (2, 1, 3)),
    "global_max2d": (layers.GlobalMaxPooling2D(), (2, 4, 4, 3), (2, 3)),
    "global_max3d": (layers.GlobalMaxPooling3D(), (2, 2, 3, 2, 3), (2, 3)),
    "adaptive_average1d": (layers.AdaptiveAveragePooling1D(3), (2, 7, 2), (2, 3, 2)),
    "adaptive_average2d": (layers.AdaptiveAveragePooling2D(2), (1, 5, 5, 2),
                           (1, 2, 2, 2)),
    "adaptive_average3d": (layers.AdaptiveAveragePooling3D(2), (1, 3, 4, 5, 1),
                           (1, 2, 2, 2, 1)),
    "adaptive_max1d": (layers.AdaptiveMaxPooling1D(3), (2, 7, 2), (2, 3, 2)),
    "adaptive_max2d": (layers.AdaptiveMaxPooling2D((2, 3)), (1, 5, 7, 2),
                       (1, 2, 3, 2)),
    "adaptive_max3d": (layers.AdaptiveMaxPooling3D(2), (1, 3, 4, 5, 1),
                       (1, 2, 2, 2, 1)),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONTRACT))
def test_the_layer_contract_holds(case):
    layer, shape, out = CONTRACT[case]
    check_layer(layer, _x(*shape), expected_shape=out, wrong_input=_x(*shape[:-1]))


def test_keras_names_and_aliases_are_the_same_classes():
    assert layers.Convolution2D is layers.Conv2D
    assert layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert layers.SeparableConvolution1D is layers.SeparableConv1D
    assert layers.MaxPool3D is layers.MaxPooling3D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D


def test_bad_hyperparameters_are_named():
    with pytest.raises(ValueError, match=r"Conv2DTranspose: output_padding .* \[0, "):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="Conv2D: padding must be one of valid"):
        layers.Conv2D(2, 3, padding="causal")  # causal is for Conv1D only
    with pytest.raises(ValueError, match="SeparableConv2D: depth_multiplier"):
        layers.SeparableConv2D(2, 3, depth_multiplier=0)


def _digit_images():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype(np.float32).reshape(-1, 8, 8, 1), y


def test_a_convolutional_autoencoder_learns_digits_and_survives_the_archive(tmp_path):
    images, _ = _digit_images()
    model = nn.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),  # 4x4
        layers.SeparableConv2D(8, 3, padding="same", activation="relu"),
        layers.MaxPool2D(),  # 2x2
        layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        layers.UpSampling2D(interpolation="bilinear"),  # 8x8
        layers.ZeroPadding2D(1),  # 10x10
        layers.Conv2D(16, 3, activation="relu"),  # 8x8
        layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ])  # fmt: skip
    model.compile(optimizer=nn.optimizers.Adam(3e-3), loss="mse")
    train, test = images[:1500], images[1500:]
    baseline = float(np.mean((test - train.mean(axis=0)) ** 2))
    model.fit(train, train, batch_size=64, epochs=15, verbose=0, seed=0)
    loss = model.evaluate(test, test, verbose=0)
    assert loss < 0.5 * baseline  # predicting the mean image: 0.074; reached: 0.027
    save_model(model, tmp_path / "autoencoder.zip")
    again = load_model(tmp_path / "autoencoder.zip")
    np.testing.assert_array_equal(again.predict(test, verbose=0),
                                  model.predict(test, verbose=0))  # fmt: skip


@pytest.mark.slow  # the family's other learning test runs by default
def test_a_1d_time_series_classifier_learns_to_tell_waves_apart():
    """Sine against square waves of random frequency and phase, in noise."""
    rng = np.random.default_rng(0)
    n, steps = 600, 64
    t = np.arange(steps) / steps
    freq = rng.uniform(2, 6, (n, 1))
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    wave = np.sin(2 * np.pi * freq * t + phase)
    labels = rng.integers(0, 2, n)
    series = np.where(labels[:, None] == 1, np.sign(wave), wave)
    series = (series + 0.3 * rng.normal(size=(n, steps)))[..., None].astype(np.float32)
    model = nn.Sequential([
        layers.Input((steps, 1)),
        layers.Conv1D(16, 5, padding="same"), layers.BatchNormalization(),
        layers.ReLU(),
        layers.Conv1D(16, 5, padding="causal"), layers.BatchNormalization(),
        layers.ReLU(),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2),
    ])  # fmt: skip
    model.compile(
        optimizer=nn.optimizers.Adam(1e-2),
        loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(series[:500], labels[:500], batch_size=32, epochs=15, verbose=0, seed=0)
    _, accuracy = model.evaluate(series[500:], labels[500:], verbose=0)
    assert accuracy >= 0.9  # reached: 0.99
