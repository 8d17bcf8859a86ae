"""`ops.conv_transpose`: Keras's output sizes and values on a grid of ranks,
kernels, strides, paddings, output paddings and dilations, and the gradient
of `conv` that it is. Keras's side runs in a subprocess on its JAX backend
(the suite may have imported Keras on TensorFlow first, whose CPU kernels
refuse some of these cases)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from stateless import ops
from tests import keras_reference

GRID = [
    (rank, k, s, padding, extra, d)
    for rank, k, s, padding, extra, d in itertools.product(
        [1, 2], [1, 2, 3, 4], [1, 2, 3], ["valid", "same"], [None, 0, 1], [1, 2]
    )
    if (extra is None or extra < s) and (d == 1 or s == 1)
]


def _cases():
    """`(name, x, kernel, args)` for each point of the grid, both layouts."""
    rng = np.random.default_rng(0)
    for data_format in ("channels_last", "channels_first"):
        for rank, k, s, padding, extra, d in GRID:
            x = rng.normal(size=(2, *(5,) * rank, 3)).astype(np.float32)
            if data_format == "channels_first":
                x = np.moveaxis(x, -1, 1)
            kernel = rng.normal(size=(*(k,) * rank, 4, 3)).astype(np.float32)
            name = f"{data_format}-{rank}-{k}-{s}-{padding}-{extra}-{d}"
            yield name, x, kernel, (s, padding, extra, data_format, d)


def _keras_side(path):
    """Keras's `conv_transpose` on every case, to `path` (an .npz)."""
    import keras

    out = {name: np.asarray(keras.ops.conv_transpose(x, kernel, *args))
           for name, x, kernel, args in _cases()}  # fmt: skip
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_outputs(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "conv_transpose.npz"
    return keras_reference.keras_numbers(__file__, path)


# Slow: 320 Keras convolutions; the default selection holds the transposed
# convolution layers to Keras in tests/nn/layers/keras_windows_parity_test.py.
@pytest.mark.slow
def test_values_and_shapes_match_keras_on_a_grid(keras_outputs):
    for name, x, kernel, args in _cases():
        got = np.asarray(ops.conv_transpose(x, kernel, *args))
        want = keras_outputs[name]
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4, err_msg=name)


def test_it_is_the_gradient_of_conv_with_respect_to_its_input():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 9, 7, 3)).astype(np.float32)  # covered by the windows
    kernel = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)  # conv: 3 -> 4

    def forward(x):
        return ops.conv(x, kernel, strides=2)

    y, pullback = jax.vjp(forward, jnp.asarray(x))
    cotangent = rng.normal(size=y.shape).astype(np.float32)
    (want,) = pullback(cotangent)
    # the same kernel read as a transposed one, 4 -> 3 channels
    got = ops.conv_transpose(cotangent, kernel, strides=2, output_padding=0)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
