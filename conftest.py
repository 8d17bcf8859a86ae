"""Names every doctest may use without importing them: jax, jnp, np, sl, nn, layers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import nn
import stateless as sl
from nn import layers


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(jax=jax, jnp=jnp, np=np, sl=sl, nn=nn, layers=layers)
