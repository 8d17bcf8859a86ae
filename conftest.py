"""Names every doctest may use without importing them: jax, jnp, np, sl, nn,
layers; and one JAX compilation cache for the whole run."""

import os
import shutil
import tempfile

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


_CACHE = "JAX_COMPILATION_CACHE_DIR"
_MADE_CACHE = pytest.StashKey[str]()  # the cache directory this process made


def pytest_configure(config):
    """A program that several tests build (the same model, the same step)
    compiles once per run: JAX's persistent cache, in a fresh directory that
    every xdist worker and every subprocess a test starts inherit through the
    environment. The process that made it removes it at the end."""
    if _CACHE not in os.environ:
        os.environ[_CACHE] = tempfile.mkdtemp(prefix="jax-compilation-cache-")
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
        config.stash[_MADE_CACHE] = os.environ[_CACHE]
    jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config):
    made = config.stash.get(_MADE_CACHE, None)
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
        del os.environ[_CACHE]
