"""Dtype policies: compute and variable dtypes, loss scaling, the global policy."""

import pytest

import stateless as sl
from stateless.errors import DTypeError
from stateless.mixed_precision import Policy


@pytest.mark.parametrize(
    "name, compute, scaling",
    [
        ("float32", "float32", False),
        ("mixed_float16", "float16", True),
        ("mixed_bfloat16", "bfloat16", False),
    ],
)
def test_policies_compute_in_half_and_store_float32(name, compute, scaling):
    policy = Policy(name)
    assert (policy.compute_dtype, policy.variable_dtype) == (compute, "float32")
    assert policy.uses_loss_scaling is scaling


def test_global_policy_is_float32_until_set():
    assert sl.mixed_precision.global_policy() == Policy("float32")
    sl.mixed_precision.set_global_policy("mixed_bfloat16")
    assert sl.mixed_precision.global_policy().compute_dtype == "bfloat16"
    sl.mixed_precision.set_global_policy(Policy("mixed_float16"))
    assert sl.mixed_precision.global_policy().name == "mixed_float16"


def test_unknown_policy_lists_the_valid_ones():
    with pytest.raises(
        DTypeError,
        match="float32, float16, bfloat16, float64, mixed_float16, mixed_bfloat16",
    ):
        sl.mixed_precision.set_global_policy("mixed_float8")
