"""Steps per second of data-parallel `fit` on 1, 2, 4 and 8 host devices.

For each device count a fresh process sets
`XLA_FLAGS=--xla_force_host_platform_device_count=N` (fixed when JAX
starts), compiles the MLP and the CNN on MNIST-shaped data (28 x 28 x 1, ten
classes) with `DataParallel`, runs one warm-up epoch, then times `fit` over
the next epochs. The figures are reported, not asserted: on a CPU the
"devices" share the same cores, so this measures the sharded path's overhead
rather than a speed-up; on accelerators it measures scaling.

Run: `.venv/bin/python bench/scaling.py` (or `make bench`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

DEVICE_COUNTS = (1, 2, 4, 8)
BATCH, STEPS_PER_EPOCH, TIMED_EPOCHS = 128, 20, 3


def _model(name: str):
    import nn
    from nn import layers

    if name == "mlp":
        return nn.Sequential([
            layers.Input((28, 28, 1)), layers.Flatten(),
            layers.Dense(256, activation="relu"), layers.Dense(256, activation="relu"),
            layers.Dense(10),
        ])  # fmt: skip
    return nn.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(10),
    ])  # fmt: skip


def measure(name: str) -> float:
    """Steps per second of `fit` for model `name` on this process's devices."""
    import numpy as np

    from train import distribute, losses, optimizers

    rng = np.random.default_rng(0)
    count = BATCH * STEPS_PER_EPOCH
    x = rng.normal(size=(count, 28, 28, 1)).astype(np.float32)
    y = rng.integers(0, 10, count).astype(np.int32)
    model = _model(name)
    model.compile(
        optimizer=optimizers.Adam(1e-3),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        distribution=distribute.DataParallel(),
    )
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, seed=0)  # compiles
    start = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1 + TIMED_EPOCHS, initial_epoch=1,
              verbose=0, seed=0)  # fmt: skip
    return TIMED_EPOCHS * STEPS_PER_EPOCH / (time.perf_counter() - start)


def _worker() -> None:
    import jax

    print(json.dumps({"devices": jax.device_count(),
                      **{name: measure(name) for name in ("mlp", "cnn")}}))  # fmt: skip


def main() -> None:
    rows = []
    for count in DEVICE_COUNTS:
        flag = f"--xla_force_host_platform_device_count={count}"
        env = {**os.environ, "XLA_FLAGS": flag}
        result = subprocess.run(
            [sys.executable, __file__, "--worker"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
    base = rows[0]
    print(f"data-parallel fit, batch {BATCH}, steps/s (ratio to 1 device)")
    print(f"{'devices':>8} {'MLP':>16} {'CNN':>16}")
    for row in rows:
        cells = [f"{row[m]:8.1f} ({row[m] / base[m]:4.2f}x)" for m in ("mlp", "cnn")]
        print(f"{row['devices']:>8} {cells[0]:>16} {cells[1]:>16}")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        _worker()
    else:
        main()
