"""Sharded training on 8 CPU host devices, against the same run on one device.

The runs happen in one subprocess (`sharded_runs.py`), because the number of
host devices is fixed when JAX starts.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def runs():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.train.distribute.sharded_runs"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_eight_host_devices_are_used(runs):
    assert runs["devices"] == 8
    assert runs["data_parallel"]["kernel_devices"] == 8


@pytest.mark.parametrize(
    "path", ["data_parallel", "model_parallel", "pmap", "pmap_synchronized_norm"]
)
def test_sharded_fit_matches_one_device(runs, path):
    """3 epochs (BatchNormalization and Dropout included, except on the pmap
    paths: plain, without them, as its batch statistics are per replica by
    design; then with BatchNormalization(synchronized=True), which uses the
    whole batch's)."""
    got = runs[path]
    assert got["params"] < 1e-5
    assert got["loss"] < 1e-5
    assert got["evaluate"] < 1e-5
    assert got["accuracy"] > 0.8  # it learned: 10 classes, chance is 0.1


def test_model_parallel_shards_kernels_and_their_optimizer_slots(runs):
    got = runs["model_parallel"]
    assert got["specs"]["dense"]["kernel"] == "P(None, 'model')"
    assert got["specs"]["dense_1"]["kernel"] == "P('model',)"
    assert got["specs"]["dense_1"]["bias"] == "P()"
    assert got["mu_specs"] == got["specs"]
    assert got["kernel_shard_shape"] == [64, 8]  # 32 outputs over 4 devices


def test_dropout_masks_differ_per_replica(runs):
    assert runs["dropout_distinct_replicas"] == 8


def test_checkpoint_saved_on_8_devices_restores_on_4(runs):
    got = runs["restore"]
    assert got["diff"] == 0.0
    assert got["devices"] == 4
    assert got["mesh"] == {"batch": 1, "model": 4}
    assert got["spec"] == "P(None, 'model')"


def test_train_step_with_axis_name_under_jax_pmap(runs):
    assert runs["jax_pmap"]["params"] < 1e-5
