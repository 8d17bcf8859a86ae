"""The backend switch: default, environment variable, set_backend, validated names."""

import os
import subprocess
import sys

import pytest

import stateless as sl
from stateless import config
from stateless.errors import BackendError


def _backend_in_fresh_process(value):
    env = {**os.environ, "STATELESS_BACKEND": value}
    code = (
        "import stateless as sl, sys; print(sl.backend()); "
        "print(sorted(m for m in sys.modules if m in ('torch', 'tensorflow')))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )


def test_default_backend_is_jax(monkeypatch):
    monkeypatch.delenv("STATELESS_BACKEND", raising=False)
    config._chosen = None
    assert sl.backend() == "jax"


@pytest.mark.parametrize("name", ["torch", "tensorflow", "jax"])
def test_environment_variable_chooses_without_importing_the_backend(name):
    result = _backend_in_fresh_process(name.upper())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == [name, "[]"]


def test_unknown_environment_value_lists_valid_names():
    result = _backend_in_fresh_process("mxnet")
    assert (
        "BackendError: unknown backend 'mxnet' (from $STATELESS_BACKEND)"
        in result.stderr
    )
    assert "Valid names: jax, tensorflow, torch." in result.stderr


def test_set_backend_overrides_and_validates(monkeypatch):
    monkeypatch.setenv("STATELESS_BACKEND", "jax")
    sl.set_backend("Torch")
    assert sl.backend() == "torch"
    with pytest.raises(BackendError, match="unknown backend 'numpy'.*Valid names"):
        sl.set_backend("numpy")
    assert sl.backend() == "torch"


def test_missing_backend_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(config.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendError, match=r"pip install 'stateless\[torch\]'"):
        sl.set_backend("torch")
