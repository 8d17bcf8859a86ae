"""Convolution and pooling layers against Keras 3: same weights, same inputs,
same outputs and gradients (with respect to the input and every weight).

Keras's side runs once, in a subprocess with the JAX backend (the suite may
have imported Keras on TensorFlow first); it writes each case's weights,
input, output and gradients to an .npz that our side reads."""

import numpy as np
import pytest

from tests import keras_reference

# name: (layer class, keyword arguments, input shape); the same on both sides
CASES = {
    "conv1d_causal_dilated": ("Conv1D", {"filters": 3, "kernel_size": 3,
                              "padding": "causal", "dilation_rate": 2}, (2, 9, 4)),
    "conv1d_groups": ("Conv1D", {"filters": 4, "kernel_size": 2, "groups": 2,
                      "strides": 2}, (2, 9, 4)),
    "conv2d_first": ("Conv2D", {"filters": 3, "kernel_size": 3, "padding": "same",
                     "data_format": "channels_first"}, (2, 2, 6, 5)),
    "conv3d": ("Conv3D", {"filters": 2, "kernel_size": (2, 3, 2), "strides": 2,
               "activation": "relu"}, (1, 5, 6, 5, 3)),
    "convolution2d_alias": ("Convolution2D", {"filters": 2, "kernel_size": 2},
                            (1, 4, 4, 2)),
    "conv1d_transpose_same": ("Conv1DTranspose", {"filters": 3, "kernel_size": 4,
                              "strides": 2, "padding": "same"}, (2, 5, 2)),
    "conv2d_transpose_valid": ("Conv2DTranspose", {"filters": 2, "kernel_size": 3,
                               "strides": 2}, (1, 4, 5, 3)),
    "conv2d_transpose_output_padding": ("Conv2DTranspose", {
        "filters": 2, "kernel_size": 3, "strides": 3, "padding": "same",
        "output_padding": (1, 2)}, (1, 3, 4, 2)),
    "conv2d_transpose_dilated_first": ("Conv2DTranspose", {
        "filters": 2, "kernel_size": 2, "dilation_rate": 2,
        "data_format": "channels_first"}, (1, 3, 4, 4)),
    "conv3d_transpose": ("Conv3DTranspose", {"filters": 2, "kernel_size": 2,
                         "strides": (1, 2, 2)}, (1, 2, 3, 3, 2)),
    "depthwise1d": ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2,
                    "padding": "same"}, (2, 7, 3)),
    "depthwise2d_strided": ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2},
                            (1, 7, 7, 2)),
    "separable1d": ("SeparableConv1D", {"filters": 4, "kernel_size": 3,
                    "depth_multiplier": 2}, (2, 8, 3)),
    "separable2d_same": ("SeparableConv2D", {"filters": 3, "kernel_size": 3,
                         "padding": "same", "strides": 2}, (1, 6, 7, 2)),
    "max1d_same": ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"},
                   (2, 8, 3)),
    "max3d": ("MaxPool3D", {"pool_size": 2}, (1, 4, 5, 4, 2)),
    "average1d_first": ("AveragePooling1D", {"pool_size": 2,
                        "data_format": "channels_first"}, (2, 3, 7)),
    "average3d_same": ("AvgPool3D", {"pool_size": 2, "padding": "same"},
                       (1, 3, 5, 3, 2)),
    "global_average1d": ("GlobalAveragePooling1D", {}, (2, 6, 3)),
    "global_average3d_keep": ("GlobalAvgPool3D", {"keepdims": True}, (1, 2, 3, 4, 2)),
    "global_max1d_first": ("GlobalMaxPooling1D", {"data_format": "channels_first"},
                           (2, 3, 6)),
    "global_max2d": ("GlobalMaxPool2D", {}, (2, 4, 5, 3)),
    "global_max3d": ("GlobalMaxPooling3D", {}, (1, 2, 3, 4, 2)),
    "adaptive_average1d": ("AdaptiveAveragePooling1D", {"output_size": 4}, (2, 10, 3)),
    "adaptive_average2d": ("AdaptiveAveragePooling2D", {"output_size": (3, 2)},
                           (1, 7, 5, 2)),
    "adaptive_average3d": ("AdaptiveAveragePooling3D", {"output_size": 2},
                           (1, 5, 4, 3, 2)),
    "adaptive_max1d_first": ("AdaptiveMaxPooling1D", {
        "output_size": 3, "data_format": "channels_first"}, (2, 2, 8)),
    "adaptive_max2d": ("AdaptiveMaxPooling2D", {"output_size": 3}, (1, 7, 9, 2)),
    "adaptive_max3d": ("AdaptiveMaxPooling3D", {"output_size": (2, 3, 2)},
                       (1, 4, 5, 3, 2)),
}  # fmt: skip


def _inputs(case):
    shape = CASES[case][2]
    rng = np.random.default_rng(len(case))
    return rng.normal(size=shape).astype(np.float32)


def _keras_side(path):
    """Each case's Keras layer, built and applied on JAX; weights, output and
    gradients to `path`. Runs in a subprocess (see the docstring)."""
    import keras

    keras.utils.set_random_seed(0)
    out = keras_reference.catalogue_numbers(CASES, _inputs)
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_numbers(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "windows.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_match_keras(case, keras_numbers):
    keras_reference.assert_case_matches_keras(
        CASES, case, _inputs, keras_numbers, weight_atol=1e-4
    )
