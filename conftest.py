"""Names every doctest may use without importing them: jax, jnp, np and sl."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stateless as sl


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(jax=jax, jnp=jnp, np=np, sl=sl)
