"""The main job: train a small CNN on scikit-learn's digits, end to end.

Until the `nn` layers land, the model is written directly as a pure function
over an explicit parameter pytree, with `stateless.ops` and `stateless.random`;
optax updates it inside one `jax.jit`-compiled step. It prints the test
accuracy and fails (exit 1) below the stated bar.

Run: `make demo` (or `.venv/bin/python examples/main.py`).
"""

from __future__ import annotations

import sys
import time

import jax
import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import stateless as sl
from stateless import ops

ACCURACY_BAR = 0.95
# Shapes: B batch, H x W = 8 x 8 pixels, C channels, K = 10 classes.


def load_data(seed: int = 0):
    """Digits as (N, 8, 8, 1) float32 images in [0, 1] and int32 labels."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    labels = digits.target.astype(np.int32)
    return train_test_split(
        images, labels, test_size=0.2, random_state=seed, stratify=labels
    )


def init_params(key):
    """He-normal kernels and zero biases for conv(16) -> conv(32) -> dense(10)."""
    k1, k2, k3 = sl.random.split(key, 3)

    def he(k, shape, fan_in):
        return sl.random.normal(shape, stddev=(2.0 / fan_in) ** 0.5, seed=k)

    return {
        "conv1": {"kernel": he(k1, (3, 3, 1, 16), 9), "bias": ops.zeros((16,))},
        "conv2": {"kernel": he(k2, (3, 3, 16, 32), 144), "bias": ops.zeros((32,))},
        "dense": {"kernel": he(k3, (4 * 4 * 32, 10), 512), "bias": ops.zeros((10,))},
    }


def apply(params, x_BxHxWx1):
    """Logits (B, 10) for a batch of images."""
    h = ops.conv(x_BxHxWx1, params["conv1"]["kernel"], padding="same")
    h = ops.max_pool(ops.relu(h + params["conv1"]["bias"]), 2)  # (B, 4, 4, 16)
    h = ops.conv(h, params["conv2"]["kernel"], padding="same")
    h = ops.relu(h + params["conv2"]["bias"])
    h_BxF = ops.reshape(h, (h.shape[0], -1))
    return ops.matmul(h_BxF, params["dense"]["kernel"]) + params["dense"]["bias"]


def loss_fn(params, x, y):
    logits = apply(params, x)
    return -ops.mean(ops.sum(ops.log_softmax(logits) * ops.one_hot(y, 10), axis=-1))


def main(epochs: int = 30, batch_size: int = 64, seed: int = 0) -> float:
    """Trains and returns the test accuracy."""
    sl.set_random_seed(seed)
    x_train, x_test, y_train, y_test = load_data(seed)
    params = init_params(sl.random.key(seed))
    optimizer = optax.adam(3e-3)
    opt_state = optimizer.init(params)

    @jax.jit
    def train_step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    steps = len(x_train) // batch_size
    start = time.perf_counter()
    for epoch in range(epochs):
        order = np.asarray(
            sl.random.shuffle(ops.arange(len(x_train)), seed=seed + epoch)
        )
        losses = []
        for i in range(steps):
            idx = order[i * batch_size : (i + 1) * batch_size]
            params, opt_state, loss = train_step(
                params, opt_state, x_train[idx], y_train[idx]
            )
            losses.append(loss)
        if epoch % 5 == 4 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}/{epochs}  loss {float(np.mean(losses)):.4f}")
    predictions = ops.argmax(jax.jit(apply)(params, x_test), axis=-1)
    accuracy = float(ops.mean(ops.cast(predictions == y_test, "float32")))
    seconds = time.perf_counter() - start
    print(f"test accuracy {accuracy:.4f} on {len(x_test)} digits ({seconds:.1f} s)")
    return accuracy


if __name__ == "__main__":
    accuracy = main()
    if accuracy < ACCURACY_BAR:
        print(f"FAIL: test accuracy {accuracy:.4f} is below {ACCURACY_BAR}")
        sys.exit(1)
