"""One process of a two-process run on one machine, for `multihost_test.py`.

`python -m tests.train.distribute.multihost_runs PROCESS_ID PORT` joins a
2-process run through `distribute.initialize` (CPU collectives over gloo,
2 host devices per process), trains on its `host_slice` of the data with a
local batch of 32 (global 64), and prints its losses as JSON.
`... single` trains the same global batches in one process.
"""

from __future__ import annotations

import json
import os
import sys

LOCAL_BATCH, EPOCHS = 32, 2


def _data():
    import numpy as np
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return (x[:1024] / 16.0).astype(np.float32), y[:1024].astype(np.int32)


def _interleaved(x, y):
    """The global batches of the 2-process run, in order, as one array: each
    is host 0's next 32 examples followed by host 1's."""
    import numpy as np

    def mix(a):
        halves = a.reshape(2, -1, LOCAL_BATCH, *a.shape[1:])
        return np.concatenate(list(halves), axis=1).reshape(a.shape)

    return mix(x), mix(y)


def train(x, y, batch_size):
    import nn
    import stateless as sl
    from nn import layers
    from train import distribute, losses, optimizers

    sl.set_random_seed(0)
    model = nn.Sequential([layers.Input((64,)), layers.Dense(32, activation="relu"),
                           layers.Dense(10)])  # fmt: skip
    model.compile(
        optimizer=optimizers.Adam(0.01),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        distribution=distribute.DataParallel(),
    )
    history = model.fit(x, y, batch_size=batch_size, epochs=EPOCHS, verbose=0,
                        seed=0, shuffle=False)  # fmt: skip
    return history.history["loss"]


def main(argv):
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    import jax

    from train import distribute

    x, y = _data()
    if argv[0] == "single":
        print(json.dumps({"loss": train(*_interleaved(x, y), 2 * LOCAL_BATCH)}))
        return
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    distribute.initialize(f"localhost:{argv[1]}", num_processes=2,
                          process_id=int(argv[0]))  # fmt: skip
    x_local, y_local = distribute.host_slice((x, y))
    loss = train(x_local, y_local, LOCAL_BATCH)
    print(json.dumps({"devices": jax.device_count(), "loss": loss}))


if __name__ == "__main__":
    main(sys.argv[1:])
