"""The sharded example runs as documented, on 8 host devices."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_sharded_example_on_8_host_devices_learns_with_sharded_kernels():
    result = subprocess.run(
        [sys.executable, "examples/sharded_training.py", "--host-devices", "8",
         "--model-parallel", "--epochs", "6"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "8 devices, ModelParallel(mesh={'batch': 4, 'model': 2}" in result.stdout
    assert "kernel sharding: P(None, 'model') over 8 devices" in result.stdout
    accuracy = float(re.search(r"test accuracy ([\d.]+)", result.stdout).group(1))
    assert accuracy > 0.93
