"""Keras 3 on its JAX backend: the three models, trained by `model.fit`.

`KERAS_BACKEND=jax` is set below before Keras is imported (Keras reads it
once, at import): that is this module's only side effect, and the reason it
must be the first to import Keras in its process.

`compile(optimizer=keras.optimizers.Adam(1e-3), loss=SparseCategorical
Crossentropy(from_logits=True), jit_compile=True, steps_per_execution=k)`,
then `fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=False)` per
repeat. Variants:

* ``spe1``: `steps_per_execution=1`.
* ``fused``: `steps_per_execution=FUSED_STEPS` (on JAX a Python loop over
  the one jitted step: fewer callback calls, as many dispatches).

Shapes: B batch, T steps, D model width.

Example:
  >>> build_model("cnn").count_params()
  34826
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "jax"

import keras  # noqa: E402 (after the backend is chosen)

from bench import models_spec as spec  # noqa: E402
from bench.peers import _common  # noqa: E402

VARIANTS = {
    "spe1": "Keras 3 (JAX) fit, steps_per_execution=1",
    "fused": f"Keras 3 (JAX) fit, steps_per_execution={spec.FUSED_STEPS}",
}


class Transformer(keras.Model):
    """The encoder classifier of `bench.models_spec`, subclassing `keras.Model`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        blocks = range(spec.BLOCKS)
        self.tokens = keras.layers.Embedding(spec.VOCAB, spec.D_MODEL)
        self.positions = keras.layers.Embedding(spec.SEQ, spec.D_MODEL)
        self.attention = [
            keras.layers.MultiHeadAttention(spec.HEADS, spec.KEY_DIM) for _ in blocks
        ]
        self.norm1 = [keras.layers.LayerNormalization() for _ in blocks]
        self.ffn1 = [keras.layers.Dense(spec.FFN, activation="relu") for _ in blocks]
        self.ffn2 = [keras.layers.Dense(spec.D_MODEL) for _ in blocks]
        self.norm2 = [keras.layers.LayerNormalization() for _ in blocks]
        self.head = keras.layers.Dense(spec.CLASSES)

    def call(self, ids_BxT):
        positions = keras.ops.arange(ids_BxT.shape[1])
        h_BxTxD = self.tokens(ids_BxT) + self.positions(positions)
        for block in range(spec.BLOCKS):
            attended = self.attention[block](h_BxTxD, h_BxTxD)
            h_BxTxD = self.norm1[block](h_BxTxD + attended)
            f_BxTxD = self.ffn2[block](self.ffn1[block](h_BxTxD))
            h_BxTxD = self.norm2[block](h_BxTxD + f_BxTxD)
        return self.head(keras.ops.mean(h_BxTxD, axis=1))


def build_model(model: str) -> keras.Model:
    """`model` (see `bench.models_spec`) as a built Keras model."""
    layers = keras.layers
    if model in spec.MLPS:
        inputs, hidden = spec.MLPS[model]
        return keras.Sequential([
            keras.Input((inputs,)),
            *[layers.Dense(width, activation="relu") for width in hidden],
            layers.Dense(spec.CLASSES),
        ])  # fmt: skip
    if model == "cnn":
        return keras.Sequential([
            keras.Input(spec.IMAGE),
            layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
            layers.Flatten(), layers.Dense(spec.CLASSES),
        ])  # fmt: skip
    net = Transformer()
    net(keras.ops.zeros((1, spec.SEQ), "int32"))  # builds every layer
    return net


def run(model: str, variant: str, batch: int, steps: int, repeats: int) -> dict:
    """Measures Keras's `fit` for `model` (see `bench.peers._common.measure`)."""
    x, y = spec.make_data(model, steps, batch)
    fused = spec.FUSED_STEPS if variant == "fused" else 1
    net = build_model(model)
    net.compile(
        optimizer=keras.optimizers.Adam(spec.LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=True,
        steps_per_execution=fused,
    )

    def fit(xs, ys) -> float:
        history = net.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        return float(history.history["loss"][-1])

    head = batch * fused
    return _common.measure(
        lambda: fit(x[:head], y[:head]), lambda: fit(x, y), steps, repeats
    )


if __name__ == "__main__":
    _common.main(run, VARIANTS, "Keras 3 (JAX)", keras.__version__)
