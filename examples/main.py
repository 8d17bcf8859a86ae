"""The main job: train a small CNN on scikit-learn's digits, end to end.

The model is an `nn.Sequential`; its pure `apply` over explicit variables is
trained by optax inside one `jax.jit`-compiled step, written out by hand until
`compile`/`fit` land. It prints the test accuracy and fails (exit 1) below the
stated bar.

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

import nn
import stateless as sl
from nn import layers
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


def build_model() -> nn.Sequential:
    """A small CNN for 8 x 8 digits: conv(16) -> pool -> conv(32) -> dense(10)."""
    return nn.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(10),
        ]
    )


def loss_fn(params, state, model, x, y):
    """Mean cross-entropy of the logits; the new layer state rides along."""
    logits, state = model.apply({"params": params, "state": state}, x, training=True)
    nll = -ops.sum(ops.log_softmax(logits) * ops.one_hot(y, 10), axis=-1)
    return ops.mean(nll), state


def main(epochs: int = 30, batch_size: int = 64, seed: int = 0) -> float:
    """Trains and returns the test accuracy."""
    sl.set_random_seed(seed)
    x_train, x_test, y_train, y_test = load_data(seed)
    model = build_model()
    variables = model.init(sl.random.key(seed))
    params, state = variables["params"], variables["state"]
    optimizer = optax.adam(3e-3)
    opt_state = optimizer.init(params)

    @jax.jit
    def train_step(params, state, opt_state, x, y):
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, state), grads = grad_fn(params, state, model, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), state, opt_state, loss

    steps = len(x_train) // batch_size
    start = time.perf_counter()
    for epoch in range(epochs):
        order = np.asarray(
            sl.random.shuffle(ops.arange(len(x_train)), seed=seed + epoch)
        )
        losses = []
        for i in range(steps):
            idx = order[i * batch_size : (i + 1) * batch_size]
            params, state, opt_state, loss = train_step(
                params, state, opt_state, x_train[idx], y_train[idx]
            )
            losses.append(loss)
        if epoch % 5 == 4 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}/{epochs}  loss {float(np.mean(losses)):.4f}")
    logits, _ = jax.jit(model.apply)({"params": params, "state": state}, x_test)
    predictions = ops.argmax(logits, axis=-1)
    accuracy = float(ops.mean(ops.cast(predictions == y_test, "float32")))
    seconds = time.perf_counter() - start
    print(f"test accuracy {accuracy:.4f} on {len(x_test)} digits ({seconds:.1f} s)")
    return accuracy


if __name__ == "__main__":
    accuracy = main()
    if accuracy < ACCURACY_BAR:
        print(f"FAIL: test accuracy {accuracy:.4f} is below {ACCURACY_BAR}")
        sys.exit(1)
