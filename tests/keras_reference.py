"""Keras 3 as a reference, run in a subprocess on its JAX backend.

The suite may import Keras on TensorFlow first (importing TensorFlow imports
Keras), and Keras picks its backend once per process; tests that need Keras
on JAX (its `stateless_call`, `jax.grad` through a layer, or kernels TF's CPU
build refuses) run their Keras side in a fresh process. A test module
defines `_keras_side(path)`, which writes its numbers to `path` (an .npz),
and reads them with `keras_numbers`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def keras_numbers(test_file: str, path: Path) -> dict[str, np.ndarray]:
    """Runs `_keras_side(path)` of the test module at `test_file` under
    `KERAS_BACKEND=jax` in a subprocess; returns the arrays it saved."""
    here = Path(test_file).parent
    done = subprocess.run(
        [sys.executable, "-c",
         f"import {Path(test_file).stem} as t; t._keras_side({str(path)!r})"],
        capture_output=True, text=True, cwd=here,
        env={**os.environ, "KERAS_BACKEND": "jax",
             "PYTHONPATH": os.pathsep.join([str(here), str(ROOT)])},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(path))
