"""A custom pure `train_step` trained through `fit`: contrastive learning on pairs.

Each example is two noisy views of one digit. The model embeds both views and
learns, with a symmetric InfoNCE loss, to pick out each view's partner among
the batch. `Contrastive.train_step` overrides the default step: it stays a
pure `(TrainState, batch) -> (TrainState, logs)` function, so `fit` jits it,
runs callbacks, and reports its logs like any other.

Run: `.venv/bin/python examples/contrastive_train_step.py`.
"""

from __future__ import annotations

import jax
import numpy as np
import optax
from sklearn.datasets import load_digits

import nn
import stateless as sl
from nn import layers
from stateless import ops
from train import callbacks, metrics
from train.steps import LOSS, unpack_batch

PAIR_ACCURACY = metrics.Mean(name="pair_accuracy")


class Contrastive(nn.Model):
    """An encoder trained so that two views of one example embed close together."""

    def __init__(self, dim: int = 16, temperature: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.temperature = dim, temperature
        self.encoder = nn.Sequential(
            [layers.Dense(64, activation="relu"), layers.Dense(dim)]
        )

    def call(self, x, training=False):
        z = self.encoder(x)
        return z / ops.sqrt(ops.sum(ops.square(z), axis=-1, keepdims=True) + 1e-8)

    def train_step(self, ts, batch):
        (view_a, view_b), _, _ = unpack_batch(batch)
        rng = sl.random.fold_in(ts.key, ts.step)
        labels = ops.arange(view_a.shape[0])

        def objective(params):
            variables = {"params": params, "state": ts.state}
            z_a, _ = self.apply(variables, view_a, training=True, rng=rng)
            z_b, state = self.apply(variables, view_b, training=True, rng=rng)
            logits = ops.matmul(z_a, ops.transpose(z_b)) / self.temperature
            a_to_b = -ops.take_along_axis(ops.log_softmax(logits), labels[:, None], 1)
            b_to_a = -ops.take_along_axis(ops.log_softmax(logits.T), labels[:, None], 1)
            return ops.mean(a_to_b + b_to_a) / 2, (logits, state)

        (loss, (logits, state)), grads = jax.value_and_grad(objective, has_aux=True)(
            ts.params
        )
        updates, opt_state = self.trainer.tx.update(grads, ts.opt_state, ts.params)
        hits = ops.cast(ops.argmax(logits, axis=1) == labels, "float32")
        tracked = {  # running means over the epoch, as compiled metrics are
            "loss": LOSS.update(ts.metrics["loss"], loss, view_a.shape[0]),
            "pair_accuracy": PAIR_ACCURACY.update(ts.metrics["pair_accuracy"], hits),
        }
        ts = ts._replace(
            step=ts.step + 1, params=optax.apply_updates(ts.params, updates),
            state=state, opt_state=opt_state, metrics=tracked,
        )  # fmt: skip
        return ts, {
            "loss": LOSS.result(tracked["loss"]),
            "pair_accuracy": PAIR_ACCURACY.result(tracked["pair_accuracy"]),
        }


def views(seed: int = 0):
    """Two independently noised copies of every digit image, flattened."""
    x = (load_digits().data / 16.0).astype(np.float32)
    rng = np.random.default_rng(seed)
    noise = lambda: rng.normal(0.0, 0.3, x.shape).astype(np.float32)  # noqa: E731
    return x + noise(), x + noise()


def main(epochs: int = 10) -> dict[str, list[float]]:
    sl.set_random_seed(0)
    view_a, view_b = views()
    model = Contrastive()
    model.compile(optimizer="adam", metrics=[PAIR_ACCURACY])  # loss: in train_step
    model.build((None, view_a.shape[1]), seed=0)
    seen = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))
    history = model.fit(
        (view_a, view_b), batch_size=128, epochs=epochs, verbose=0, callbacks=[record]
    )
    for epoch, (loss, acc) in enumerate(
        zip(history.history["loss"], history.history["pair_accuracy"])
    ):
        print(f"epoch {epoch + 1}: loss {loss:.3f}  pair accuracy {acc:.3f}")
    assert seen == list(range(epochs))
    return history.history


if __name__ == "__main__":
    main()
