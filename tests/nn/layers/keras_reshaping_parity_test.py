"""Reshaping and merging layers against Keras 3: same inputs, same outputs,
same gradients with respect to every input.

These layers hold no weights. Keras's side runs once, in a subprocess on its
JAX backend (see tests/keras_reference.py), and writes each case's output
and input gradients to an .npz that our side reads."""

import numpy as np
import pytest

from tests import keras_reference

# name: (layer class, keyword arguments, input shape or list of shapes)
CASES = {
    "cropping1d": ("Cropping1D", {"cropping": (1, 2)}, (2, 7, 3)),
    "cropping2d": ("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 5, 6, 3)),
    "cropping2d_first": ("Cropping2D", {"cropping": 1,
                         "data_format": "channels_first"}, (2, 3, 5, 6)),
    "cropping3d": ("Cropping3D", {"cropping": ((1, 0), (0, 1), (1, 1))},
                   (1, 3, 4, 5, 2)),
    "zero_padding1d": ("ZeroPadding1D", {"padding": (1, 2)}, (2, 4, 3)),
    "zero_padding2d": ("ZeroPadding2D", {"padding": (1, 2)}, (2, 3, 4, 2)),
    "zero_padding2d_first": ("ZeroPadding2D", {"padding": ((1, 0), (0, 2)),
                             "data_format": "channels_first"}, (2, 2, 3, 4)),
    "zero_padding3d": ("ZeroPadding3D", {"padding": 1}, (1, 2, 3, 2, 2)),
    "upsampling1d": ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    "upsampling2d_nearest": ("UpSampling2D", {"size": (2, 3)}, (2, 3, 4, 2)),
    "upsampling2d_bilinear": ("UpSampling2D", {"interpolation": "bilinear"},
                              (2, 3, 4, 2)),
    "upsampling2d_bicubic_first": ("UpSampling2D", {
        "interpolation": "bicubic", "data_format": "channels_first"}, (2, 2, 3, 4)),
    "upsampling2d_lanczos3": ("UpSampling2D", {"size": 3,
                              "interpolation": "lanczos3"}, (1, 3, 3, 2)),
    "upsampling3d": ("UpSampling3D", {"size": (1, 2, 2)}, (1, 2, 3, 2, 2)),
    "upsampling3d_first": ("UpSampling3D", {"data_format": "channels_first"},
                           (1, 2, 2, 2, 3)),
    "permute": ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5)),
    "repeat_vector": ("RepeatVector", {"n": 3}, (2, 4)),
    "flatten_first": ("Flatten", {"data_format": "channels_first"}, (2, 3, 4, 5)),
    "reshape_inferred": ("Reshape", {"target_shape": (-1, 4)}, (2, 3, 4, 2)),
    "add_three": ("Add", {}, [(2, 3), (2, 3), (2, 3)]),
    "add_lower_rank": ("Add", {}, [(2, 3), (2, 4, 3)]),
    "subtract": ("Subtract", {}, [(2, 3, 2), (2, 3, 2)]),
    "multiply": ("Multiply", {}, [(2, 4), (2, 4), (2, 4)]),
    "average": ("Average", {}, [(2, 4), (2, 4)]),
    "maximum": ("Maximum", {}, [(2, 5), (2, 5), (2, 5)]),
    "minimum": ("Minimum", {}, [(2, 5), (2, 5)]),
    "concatenate_axis1": ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 2, 4)]),
    "dot_vectors": ("Dot", {"axes": 1}, [(2, 5), (2, 5)]),
    "dot_axes_pair": ("Dot", {"axes": (1, 2)}, [(2, 5, 3), (2, 4, 5)]),
    "dot_normalized": ("Dot", {"axes": -1, "normalize": True},
                       [(2, 3, 4), (2, 5, 4)]),
    "dot_matrix_vector": ("Dot", {"axes": (2, 1)}, [(2, 3, 4), (2, 4)]),
}  # fmt: skip


def _inputs(case):
    shape = CASES[case][2]
    rng = np.random.default_rng(len(case))
    if isinstance(shape, list):
        return [rng.normal(size=s).astype(np.float32) for s in shape]
    return rng.normal(size=shape).astype(np.float32)


def _keras_side(path):
    """Each case's Keras layer applied on JAX; output and input gradients to
    `path`. Runs in a subprocess (see the module docstring)."""

    out = keras_reference.catalogue_numbers(CASES, _inputs)
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_numbers(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "reshaping.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_match_keras(case, keras_numbers):
    keras_reference.assert_case_matches_keras(CASES, case, _inputs, keras_numbers)
