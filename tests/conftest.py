"""Shared fixtures: each test leaves the backend and dtype policy as it found them."""

import pytest

from stateless import config, mixed_precision


@pytest.fixture(autouse=True)
def _restore_global_settings():
    backend, policy = config._chosen, mixed_precision.global_policy()
    yield
    config._chosen = backend
    mixed_precision.set_global_policy(policy)
