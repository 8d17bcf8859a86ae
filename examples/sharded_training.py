"""One training script for 1 device, 8 host devices, or a TPU slice.

The model and the `fit` call never change; only the distribution named at
`compile` does. On a CPU, `--host-devices 8` makes XLA expose 8 devices (it
must be set before JAX starts, which this script does) so the sharded path
runs anywhere:

    python examples/sharded_training.py                       # 1 device
    python examples/sharded_training.py --host-devices 8      # data parallel
    python examples/sharded_training.py --host-devices 8 --model-parallel

On a TPU slice (or several GPU hosts), every host runs the same script with
`--multihost`: each joins the run, loads its share of the data, and the
mesh spans every chip of every host:

    # on each host, e.g. via `gcloud compute tpus tpu-vm ssh --worker=all`
    python examples/sharded_training.py --multihost --model-parallel

Run it and it prints the devices, the test accuracy and the steps per second.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host-devices",
        type=int,
        default=1,
        help="CPU devices XLA should expose (before JAX starts)",
    )
    parser.add_argument(
        "--model-parallel",
        action="store_true",
        help="shard Dense kernels over a 'model' mesh axis",
    )
    parser.add_argument(
        "--multihost",
        action="store_true",
        help="join a multi-host run (TPU slice, SLURM, MPI)",
    )
    parser.add_argument("--epochs", type=int, default=10)
    return parser.parse_args(argv)  # fmt: skip


def distribution(model_parallel: bool):
    """DataParallel over every device, or a (batch, model) mesh with Dense
    kernels split over `model`."""
    import jax
    from jax.sharding import PartitionSpec as P

    from train import distribute

    if not model_parallel:
        return distribute.DataParallel()
    model_axis = 2 if jax.device_count() % 2 == 0 else 1
    mesh = distribute.make_mesh(
        {"batch": jax.device_count() // model_axis, "model": model_axis}
    )
    return distribute.ModelParallel(mesh, {r"dense.*/kernel": P(None, "model")})


def main(argv: list[str] | None = None) -> float:
    args = parse_args(argv)
    if args.host_devices > 1:
        os.environ["XLA_FLAGS"] = (
            f"--xla_force_host_platform_device_count={args.host_devices}"
        )
    import jax
    import numpy as np
    from sklearn.datasets import load_digits

    import nn
    import stateless as sl
    from nn import layers
    from train import distribute, losses, optimizers

    if args.multihost:
        distribute.initialize()
    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(x))
    x, y = (x[order] / 16.0).astype(np.float32), y[order].astype(np.int32)
    x_train, y_train = distribute.host_slice((x[:1536], y[:1536]))
    x_test, y_test = x[1536:], y[1536:]

    sl.set_random_seed(0)
    model = nn.Sequential([
        layers.Input((64,)),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.1),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ])  # fmt: skip
    model.compile(
        optimizer=optimizers.Adam(3e-3),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        distribution=distribution(args.model_parallel),
    )
    batch = 64 // jax.process_count()  # the global batch is 64
    print(f"{jax.device_count()} devices, {model.trainer.distribution}")
    model.fit(x_train, y_train, batch_size=batch, epochs=1, verbose=0, seed=0)
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch, epochs=args.epochs, verbose=0,
              initial_epoch=1, seed=0)  # fmt: skip
    seconds = time.perf_counter() - start
    steps = (args.epochs - 1) * len(x_train) // batch
    accuracy = model.evaluate(x_test, y_test, batch_size=batch, return_dict=True)[
        "accuracy"
    ]
    kernel = model.variables["params"]["dense"]["kernel"]
    print(f"kernel sharding: {kernel.sharding.spec} over "
          f"{len(kernel.sharding.device_set)} devices")  # fmt: skip
    print(f"test accuracy {accuracy:.4f}; {steps / seconds:.0f} steps/s")
    return accuracy


if __name__ == "__main__":
    sys.exit(0 if main() > 0.9 else 1)
