"""stateless: the three models in `nn`, trained by `model.fit` (its real path).

`compile(optimizer=Adam(1e-3), loss=SparseCategoricalCrossentropy(from_logits=
True), steps_per_execution=k)`, then `fit(x, y, batch_size=128, epochs=1,
verbose=0, shuffle=False)` per repeat: the fit loop's data adapter, prefetch
thread, callbacks and host syncs are all inside the timing. Variants:

* ``spe1``: `steps_per_execution=1`, one compiled step per batch.
* ``fused``: `steps_per_execution=FUSED_STEPS`, a `lax.scan` per execution.
* ``spe1_verbose``: ``spe1`` with `verbose=1`: the progress bar, which prints
  to a pipe here (one line per epoch) and gets every step's logs.

The first step is a `fit` over the first batch (the first `k` batches when
fused) of a model whose variables are already built.

Shapes: B batch, T steps, D model width.

Example:
  >>> build_model("mlp").apply(init_variables("mlp"), jnp.zeros((2, 784)))[0].shape
  (2, 10)
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

import nn
from bench import models_spec as spec
from bench.peers import _common
from nn import layers
from stateless import ops, random
from train import losses, optimizers

VARIANTS = {
    "spe1": "stateless fit, steps_per_execution=1",
    "spe1_verbose": "stateless fit, steps_per_execution=1, verbose=1",
    "fused": f"stateless fit, steps_per_execution={spec.FUSED_STEPS}",
}


class Transformer(nn.Model):
    """The encoder classifier of `bench.models_spec`, subclassing `nn.Model`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.tokens = layers.Embedding(spec.VOCAB, spec.D_MODEL)
        self.positions = layers.Embedding(spec.SEQ, spec.D_MODEL)
        self.attention = [
            layers.MultiHeadAttention(spec.HEADS, spec.KEY_DIM)
            for _ in range(spec.BLOCKS)
        ]
        self.norm1 = [layers.LayerNormalization() for _ in range(spec.BLOCKS)]
        self.ffn1 = [
            layers.Dense(spec.FFN, activation="relu") for _ in range(spec.BLOCKS)
        ]
        self.ffn2 = [layers.Dense(spec.D_MODEL) for _ in range(spec.BLOCKS)]
        self.norm2 = [layers.LayerNormalization() for _ in range(spec.BLOCKS)]
        self.head = layers.Dense(spec.CLASSES)

    def call(self, ids_BxT):
        h_BxTxD = self.tokens(ids_BxT) + self.positions(ops.arange(ids_BxT.shape[1]))
        for block in range(spec.BLOCKS):
            attended = self.attention[block](h_BxTxD, h_BxTxD)
            h_BxTxD = self.norm1[block](h_BxTxD + attended)
            f_BxTxD = self.ffn2[block](self.ffn1[block](h_BxTxD))
            h_BxTxD = self.norm2[block](h_BxTxD + f_BxTxD)
        return self.head(ops.mean(h_BxTxD, axis=1))


def build_model(model: str) -> nn.Model:
    """`model` (see `bench.models_spec`) as an `nn` model, without variables."""
    if model in spec.MLPS:
        inputs, hidden = spec.MLPS[model]
        return nn.Sequential([
            layers.Input((inputs,)),
            *[layers.Dense(width, activation="relu") for width in hidden],
            layers.Dense(spec.CLASSES),
        ])  # fmt: skip
    if model == "cnn":
        return nn.Sequential([
            layers.Input(spec.IMAGE),
            layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
            layers.Flatten(), layers.Dense(spec.CLASSES),
        ])  # fmt: skip
    return Transformer()


def init_variables(model: str, net: nn.Model | None = None) -> dict[str, Any]:
    """Fresh variables of `model` (of `net`, when given) from key 0."""
    net = build_model(model) if net is None else net
    if model == "transformer":
        return net.init(random.key(0), jnp.zeros((1, spec.SEQ), jnp.int32))
    return net.init(random.key(0))


def run(model: str, variant: str, batch: int, steps: int, repeats: int) -> dict:
    """Measures `model.fit` for `model` (see `bench.peers._common.measure`)."""
    x, y = spec.make_data(model, steps, batch)
    fused = spec.FUSED_STEPS if variant == "fused" else 1
    net = build_model(model)
    net.variables = init_variables(model, net)
    net.compile(
        optimizer=optimizers.Adam(spec.LEARNING_RATE),
        loss=losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=fused,
    )

    verbose = 1 if variant == "spe1_verbose" else 0

    def fit(xs, ys) -> float:
        history = net.fit(
            xs, ys, batch_size=batch, epochs=1, verbose=verbose, shuffle=False, seed=0
        )
        return float(history.history["loss"][-1])

    head = batch * fused
    return _common.measure(
        lambda: fit(x[:head], y[:head]), lambda: fit(x, y), steps, repeats
    )


if __name__ == "__main__":
    from importlib.metadata import version

    _common.main(run, VARIANTS, "stateless", version("stateless"))
