"""Bad shapes and dtype names: errors name the op and shapes, or the valid names."""

import jax
import numpy as np
import pytest

from stateless import ops
from stateless.errors import DTypeError, ShapeError

MISFITS = [
    (
        "matmul",
        lambda: ops.matmul(np.ones((2, 3)), np.ones((4, 5))),
        ["(2, 3)", "(4, 5)"],
    ),
    ("dot", lambda: ops.dot(np.ones((2, 3)), np.ones((4,))), ["(2, 3)", "(4,)"]),
    ("add", lambda: ops.add(np.ones((2, 3)), np.ones((4,))), ["(2, 3)", "(4,)"]),
    (
        "maximum",
        lambda: ops.maximum(np.ones((2, 3)), np.ones((2,))),
        ["(2, 3)", "(2,)"],
    ),
    (
        "where",
        lambda: ops.where(np.ones((2, 3)) > 0, np.ones(4), 0.0),
        ["(2, 3)", "(4,)"],
    ),
    (
        "concatenate",
        lambda: ops.concatenate([np.ones((2, 3)), np.ones((4, 5))]),
        ["(2, 3)", "(4, 5)"],
    ),
    (
        "stack",
        lambda: ops.stack([np.ones((2, 3)), np.ones((3, 2))]),
        ["(2, 3)", "(3, 2)"],
    ),
    ("reshape", lambda: ops.reshape(np.ones((2, 3)), (4, 5)), ["(2, 3)"]),
    ("broadcast_to", lambda: ops.broadcast_to(np.ones((2, 3)), (4, 5)), ["(2, 3)"]),
    (
        "einsum",
        lambda: ops.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5))),
        ["(2, 3)", "(4, 5)"],
    ),
    ("split", lambda: ops.split(np.ones((5,)), 2), ["(5,)"]),
    ("squeeze", lambda: ops.squeeze(np.ones((2, 3)), 0), ["(2, 3)"]),
]


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("op, call, shapes", MISFITS, ids=[m[0] for m in MISFITS])
def test_shape_error_names_op_and_shapes(op, call, shapes, jit):
    with pytest.raises(ShapeError) as info:
        jax.jit(call)() if jit else call()
    message = str(info.value)
    assert message.startswith(f"{op}:")
    for shape in shapes:
        assert shape in message


def test_shape_error_is_a_value_error_and_keeps_jax_cause():
    with pytest.raises(ValueError) as info:
        ops.matmul(np.ones((2, 3)), np.ones((4, 5)))
    assert isinstance(info.value.__cause__, TypeError)


def test_non_shape_errors_pass_through_unchanged():
    with pytest.raises(TypeError) as info:
        ops.add(np.ones(2), "text")
    assert not isinstance(info.value, ShapeError)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ops.zeros((2,), "flaot32"),
        lambda: ops.cast(np.ones(2), "half"),
        lambda: ops.one_hot(np.ones(2, np.int32), 3, dtype="f32"),
        lambda: ops.convert_to_tensor([1.0], "double precision"),
    ],
)
def test_unknown_dtype_names_list_the_valid_ones(call):
    with pytest.raises(DTypeError, match="Valid names: bfloat16, bool, complex128"):
        call()
