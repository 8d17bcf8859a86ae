"""Ops vanish at trace time: each traces to exactly the program of its JAX twin."""

import jax
import pytest

from stateless import ops
from tests.stateless.ops.cases import ALL


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.id)
def test_op_traces_to_its_jax_twin(case):
    ours = jax.make_jaxpr(lambda *a: case.call(ops, *a))(*case.args)
    twin = jax.make_jaxpr(lambda *a: case.call(case.twin, *a))(*case.args)
    assert str(ours) == str(twin)
