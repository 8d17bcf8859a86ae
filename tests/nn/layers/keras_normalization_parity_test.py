"""Group, RMS and unit normalization against Keras 3: same weights, same
inputs, same outputs and gradients.

Keras's side runs once, in a subprocess on its JAX backend (see
tests/keras_reference.py)."""

import numpy as np
import pytest

from nn import layers
from tests import keras_reference

# name: (layer class, keyword arguments, input shape); the same on both sides
CASES = {
    "group": ("GroupNormalization", {"groups": 2}, (2, 5, 4)),
    "group_images": ("GroupNormalization", {"groups": 3, "epsilon": 1e-5},
                     (2, 4, 4, 6)),
    "group_channels_first": ("GroupNormalization", {"groups": 2, "axis": 1},
                             (2, 4, 3, 3)),
    "group_instance": ("GroupNormalization", {"groups": -1}, (2, 6, 3)),
    "group_one": ("GroupNormalization", {"groups": 1, "center": False},
                  (3, 4, 2)),
    "rms": ("RMSNormalization", {}, (2, 3, 8)),
    "rms_axes": ("RMSNormalization", {"axis": (1, 2), "epsilon": 1e-4}, (2, 3, 4)),
    "unit": ("UnitNormalization", {}, (3, 5)),
    "unit_axes": ("UnitNormalization", {"axis": (1, 2)}, (2, 3, 4)),
}  # fmt: skip


def _inputs(case):
    shape = CASES[case][2]
    rng = np.random.default_rng(len(case))
    return (rng.normal(size=shape) * 2 + 0.5).astype(np.float32)


def _keras_side(path):
    """Each case on Keras's JAX backend, its weights set to random values so
    that every one matters; numbers to `path`. Runs in a subprocess."""
    import keras

    out = {}
    for case, (name, kwargs, _) in CASES.items():
        layer = getattr(keras.layers, name)(**kwargs)
        x = _inputs(case)
        layer.build(x.shape)
        rng = np.random.default_rng(len(case) + 7)
        for weight in layer.trainable_variables:
            weight.assign(rng.normal(size=weight.shape).astype(np.float32))
        out |= keras_reference.keras_layer_numbers(
            layer, case, x, keras_reference.cotangent(case)
        )
    np.savez(path, **out)


@pytest.fixture(scope="module")
def keras_numbers(tmp_path_factory):
    path = tmp_path_factory.mktemp("keras") / "normalization.npz"
    return keras_reference.keras_numbers(__file__, path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_match_keras(case, keras_numbers):
    name, kwargs, _ = CASES[case]
    keras_reference.assert_layer_matches_keras(
        getattr(layers, name)(**kwargs),
        case,
        _inputs(case),
        keras_numbers,
        keras_reference.cotangent(case),
        atol=1e-5,
        weight_atol=1e-4,
    )
