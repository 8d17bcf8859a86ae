"""check_shape: the one shape check, with wildcards and messages naming the owner."""

import jax
import numpy as np
import pytest

from stateless.errors import ShapeError, check_shape


class _Layer:
    name = "dense_1"


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((2, 3), (2, 3)),
        ((2, 3), (None, 3)),
        ((5, 4, 3), (..., 3)),
        ((3,), (..., 3)),
        ((7, 2, 3), (..., None, 3)),
    ],
)
def test_matching_shapes_pass(shape, expected):
    check_shape("op", "x", np.zeros(shape), expected)
    check_shape("op", "x", jax.ShapeDtypeStruct(shape, np.float32), expected)


@pytest.mark.parametrize(
    "shape, expected, shown",
    [
        ((2, 5), (..., 3), "(..., 3)"),
        ((2, 3), (None, 3, 1), "(None, 3, 1)"),
        ((), (..., 3), "(..., 3)"),
        ((4,), (3,), "(3,)"),
    ],
)
def test_mismatches_name_owner_argument_expected_and_received(shape, expected, shown):
    with pytest.raises(ShapeError) as info:
        check_shape(_Layer(), "inputs", np.zeros(shape), expected, hint="Reshape it.")
    assert str(info.value) == (
        f"_Layer 'dense_1', argument 'inputs': expected {shown}, "
        f"received {shape}. Hint: Reshape it."
    )
