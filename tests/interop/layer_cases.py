"""Every built-in layer with small inputs, for the lowering parity tests.

A case's variables are random values of `init`'s shapes (through
`jax.eval_shape`: nothing is compiled), biases and statistics included, so
that every parameter matters; variance-like state is kept positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

import nn
import stateless as sl
from nn import layers

_rng = np.random.default_rng(0)


def x(*shape):
    return _rng.standard_normal(shape).astype(np.float32)


def ids(*shape, high=10):
    return _rng.integers(0, high, shape).astype(np.int32)


@dataclass(frozen=True)
class LayerCase:
    id: str
    layer: Any
    inputs: tuple[Any, ...]
    training: bool = False

    def variables(self):
        shapes = jax.eval_shape(self.layer.init, sl.random.key(0), *self.inputs)
        rng = np.random.default_rng(len(self.id))

        def value(path, spec):
            name = jax.tree_util.keystr(path)
            if "variance" in name:
                return rng.uniform(0.5, 2.0, spec.shape).astype(spec.dtype)
            return (rng.standard_normal(spec.shape) * 0.5).astype(spec.dtype)

        return jax.tree_util.tree_map_with_path(value, shapes)


L = LayerCase
CASES = [
    L("dense_relu", layers.Dense(5, activation="relu"), (x(4, 3),)),
    L("dense_3d_gelu", layers.Dense(4, activation="gelu"), (x(2, 3, 5),)),
    L("activation_softmax", layers.Activation("softmax"), (x(2, 5),)),
    L("flatten", layers.Flatten(), (x(2, 3, 4),)),
    L("reshape", layers.Reshape((6, 2)), (x(2, 3, 4),)),
    L("rescaling", layers.Rescaling(1 / 255.0, offset=-1.0), (x(2, 3),)),
    L("add", layers.Add(), ([x(2, 3), x(2, 3)],)),
    L("concatenate", layers.Concatenate(), ([x(2, 3), x(2, 2)],)),
    L("conv1d_strided", layers.Conv1D(4, 3, strides=2), (x(2, 9, 3),)),
    L(
        "conv1d_dilated_same",
        layers.Conv1D(3, 3, dilation_rate=2, padding="same"),
        (x(2, 9, 2),),
    ),
    L("conv2d_groups", layers.Conv2D(6, 3, groups=2), (x(2, 7, 7, 4),)),
    L(
        "conv2d_dilated_channels_first",
        layers.Conv2D(
            2, 3, dilation_rate=2, padding="same", data_format="channels_first"
        ),
        (x(2, 3, 7, 7),),
    ),
    L(
        "conv2d_strided_same",
        layers.Conv2D(2, 3, strides=2, padding="same", activation="relu"),
        (x(2, 7, 7, 3),),
    ),
    L("max_pool", layers.MaxPooling2D(), (x(2, 6, 7, 3),)),
    L("max_pool_same", layers.MaxPooling2D(3, 2, "same"), (x(2, 7, 7, 3),)),
    L(
        "average_pool_channels_first",
        layers.AveragePooling2D(3, 2, "same", "channels_first"),
        (x(2, 3, 7, 7),),
    ),
    L("global_average_pool", layers.GlobalAveragePooling2D(), (x(2, 4, 4, 3),)),
    L("conv1d_causal", layers.Conv1D(2, 3, padding="causal"), (x(2, 7, 3),)),
    L("conv3d", layers.Conv3D(2, 2, strides=(1, 2, 2)), (x(1, 3, 4, 4, 2),)),
    L(
        "conv2d_transpose_same",
        layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
        (x(2, 4, 5, 2),),
    ),
    L(
        "conv1d_transpose_output_padding",
        layers.Conv1DTranspose(2, 3, strides=3, output_padding=2),
        (x(2, 4, 3),),
    ),
    L("conv3d_transpose", layers.Conv3DTranspose(2, 2, strides=2), (x(1, 2, 2, 3, 2),)),
    L("depthwise2d", layers.DepthwiseConv2D(3, depth_multiplier=2), (x(2, 5, 5, 3),)),
    L("separable1d", layers.SeparableConv1D(4, 3, strides=2), (x(2, 9, 3),)),
    L("max_pool1d", layers.MaxPooling1D(3, 2, "same"), (x(2, 8, 3),)),
    L("average_pool3d", layers.AveragePooling3D(2), (x(1, 4, 4, 4, 2),)),
    L("global_max_pool1d", layers.GlobalMaxPooling1D(), (x(2, 6, 3),)),
    L("adaptive_average2d", layers.AdaptiveAveragePooling2D((3, 2)), (x(1, 7, 5, 2),)),
    L("adaptive_max1d", layers.AdaptiveMaxPooling1D(4), (x(2, 10, 3),)),
    L("cropping2d", layers.Cropping2D(((1, 0), (2, 1))), (x(2, 5, 6, 3),)),
    L(
        "zero_padding3d_channels_first",
        layers.ZeroPadding3D((1, 0, 2), data_format="channels_first"),
        (x(1, 2, 3, 3, 3),),
    ),
    L("upsampling1d", layers.UpSampling1D(3), (x(2, 4, 3),)),
    L(
        "upsampling2d_bilinear",
        layers.UpSampling2D((2, 3), interpolation="bilinear"),
        (x(2, 3, 4, 2),),
    ),
    L("upsampling3d", layers.UpSampling3D(2), (x(1, 2, 2, 3, 2),)),
    L("permute", layers.Permute((3, 1, 2)), (x(2, 3, 4, 5),)),
    L("repeat_vector", layers.RepeatVector(3), (x(2, 4),)),
    L("flatten_channels_first", layers.Flatten("channels_first"), (x(2, 3, 4, 5),)),
    L("subtract", layers.Subtract(), ([x(2, 3), x(2, 3)],)),
    L("multiply_lower_rank", layers.Multiply(), ([x(2, 3), x(2, 4, 3)],)),
    L("average", layers.Average(), ([x(2, 3), x(2, 3), x(2, 3)],)),
    L("maximum", layers.Maximum(), ([x(2, 5), x(2, 5)],)),
    L("minimum", layers.Minimum(), ([x(2, 5), x(2, 5)],)),
    L("dot_axes_pair", layers.Dot((1, 2)), ([x(2, 5, 3), x(2, 4, 5)],)),
    L("dot_normalized", layers.Dot(1, normalize=True), ([x(2, 5), x(2, 5)],)),
    L("relu_options", layers.ReLU(1.5, 0.1, 0.2), (x(2, 6),)),
    L("leaky_relu", layers.LeakyReLU(), (x(2, 6),)),
    L("prelu_shared", layers.PReLU(shared_axes=(1,)), (x(2, 4, 3),)),
    L("elu", layers.ELU(0.7), (x(2, 6),)),
    L("softmax_axes", layers.Softmax(axis=(1, 2)), (x(2, 3, 4),)),
    L("softmax_masked", layers.Softmax(), (x(2, 5), (x(2, 5) > 0).astype(np.float32))),
    L(
        "spatial_dropout2d_training",
        layers.SpatialDropout2D(0.5),
        (x(2, 3, 3, 4),),
        training=True,
    ),
    L("gaussian_noise_training", layers.GaussianNoise(0.3), (x(2, 5),), training=True),
    L(
        "gaussian_dropout_training",
        layers.GaussianDropout(0.3),
        (x(2, 5),),
        training=True,
    ),
    L("alpha_dropout_training", layers.AlphaDropout(0.3), (x(2, 5),), training=True),
    L(
        "batch_norm_training",
        layers.BatchNormalization(),
        (x(4, 3, 3, 2),),
        training=True,
    ),
    L("batch_norm_inference", layers.BatchNormalization(axis=1), (x(4, 2, 3, 3),)),
    L("layer_norm", layers.LayerNormalization(), (x(2, 3, 4),)),
    L("group_norm", layers.GroupNormalization(2), (x(2, 5, 4),)),
    L(
        "group_norm_instance_channels_first",
        layers.GroupNormalization(-1, axis=1),
        (x(2, 3, 4, 4),),
    ),
    L("rms_norm_axes", layers.RMSNormalization(axis=(1, 2)), (x(2, 3, 4),)),
    L("unit_norm", layers.UnitNormalization(), (x(3, 5),)),
    L(
        "spectral_norm_training",
        layers.SpectralNormalization(layers.Conv2D(3, 2), power_iterations=2),
        (x(2, 4, 4, 2),),
        training=True,
    ),
    L("embedding", layers.Embedding(10, 4), (ids(2, 3),)),
    L("dropout_training", layers.Dropout(0.25), (x(4, 5),), training=True),
    L(
        "attention_training",
        layers.MultiHeadAttention(3, 2, value_dim=5, dropout=0.5, output_shape=7),
        (x(2, 3, 8), x(2, 5, 8)),
        training=True,
    ),
    L("attention", layers.MultiHeadAttention(2, 4), (x(2, 3, 6), x(2, 4, 6))),
    L("dot_attention", layers.Attention(use_scale=True), ([x(2, 3, 4), x(2, 5, 4)],)),
    L("additive_attention", layers.AdditiveAttention(), ([x(2, 3, 4), x(2, 5, 4)],)),
    L(
        "group_query_attention",
        layers.GroupQueryAttention(2, 4, 2),
        (x(2, 3, 6), x(2, 5, 6)),
    ),
    L(
        "gated_window_attention",
        layers.MultiHeadAttention(2, 3, use_gate=True, sliding_window=2),
        (x(2, 4, 6), x(2, 5, 6)),
    ),
    L(
        "attention_axes",
        layers.MultiHeadAttention(2, 2, attention_axes=(2,)),
        (x(2, 2, 3, 4), x(2, 2, 5, 4)),
    ),
    L(
        "lstm",
        layers.LSTM(3, return_sequences=True, return_state=True),
        (x(2, 5, 4),),
    ),
    L("gru", layers.GRU(3), (x(2, 5, 4),)),
    L(
        "gru_backwards_reset_before",
        layers.GRU(3, reset_after=False, go_backwards=True, return_sequences=True),
        (x(2, 5, 4),),
    ),
    L(
        "simple_rnn_dropout_training",
        layers.SimpleRNN(3, dropout=0.3, recurrent_dropout=0.3, return_sequences=True),
        (x(2, 5, 4),),
        training=True,
    ),
    L(
        "rnn_stacked_cells",
        layers.RNN(
            [layers.LSTMCell(3), layers.GRUCell(2)],
            go_backwards=True,
            return_state=True,
        ),
        (x(2, 5, 4),),
    ),
    L(
        "bidirectional_lstm",
        layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="sum"),
        (x(2, 5, 4),),
    ),
    L("time_distributed", layers.TimeDistributed(layers.Dense(3)), (x(2, 5, 4),)),
    L(
        "conv_lstm2d",
        layers.ConvLSTM2D(2, 3, padding="same", return_state=True),
        (x(2, 3, 5, 5, 2),),
    ),
    L(
        "masked_lstm_model",
        nn.Sequential(
            [
                layers.Embedding(10, 4, mask_zero=True),
                layers.LSTM(3, return_sequences=True),
                layers.GlobalAveragePooling1D(),
            ]
        ),
        (ids(2, 6),),
    ),
]
