"""Equinox: the three models as `eqx.Module`s, an `eqx.filter_jit` step, optax Adam.

The models are written the Equinox way: layers act on one example and the
model `jax.vmap`s them over the batch (and over steps); images arrive NHWC,
as in the shared data, and are transposed to Equinox's channels-first per
example. The step is the one from Equinox's own examples:
`eqx.filter_value_and_grad`, `optim.update`, `eqx.apply_updates`, under
`eqx.filter_jit`, with the model and optimizer state passed in and returned.

Shapes: T steps, D model width, C channels, H/W height/width.

Example:
  >>> net = build_model("cnn")
  >>> jax.vmap(net)(jnp.zeros((2, 28, 28, 1))).shape
  (2, 10)
"""

from __future__ import annotations

from importlib.metadata import version

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from bench import models_spec as spec
from bench.peers import _common

VARIANTS = {"filter_jit": "Equinox, eqx.filter_jit + optax"}


class CNN(eqx.Module):
    """conv32-pool-conv64-pool-dense10 on one HxWxC image, valid padding."""

    c1: eqx.nn.Conv2d
    c2: eqx.nn.Conv2d
    pool: eqx.nn.MaxPool2d
    out: eqx.nn.Linear

    def __init__(self, key):
        k1, k2, k3 = jax.random.split(key, 3)
        self.c1 = eqx.nn.Conv2d(1, 32, 3, key=k1)
        self.c2 = eqx.nn.Conv2d(32, 64, 3, key=k2)
        self.pool = eqx.nn.MaxPool2d(2, 2)
        self.out = eqx.nn.Linear(5 * 5 * 64, spec.CLASSES, key=k3)

    def __call__(self, x_HxWxC):
        x_CxHxW = jnp.transpose(x_HxWxC, (2, 0, 1))
        x_CxHxW = self.pool(jax.nn.relu(self.c1(x_CxHxW)))
        x_CxHxW = self.pool(jax.nn.relu(self.c2(x_CxHxW)))
        return self.out(x_CxHxW.reshape(-1))


class Block(eqx.Module):
    """A post-norm encoder block on one `(T, D)` sequence."""

    attention: eqx.nn.MultiheadAttention
    norm1: eqx.nn.LayerNorm
    ffn1: eqx.nn.Linear
    ffn2: eqx.nn.Linear
    norm2: eqx.nn.LayerNorm

    def __init__(self, key):
        k1, k2, k3 = jax.random.split(key, 3)
        d = spec.D_MODEL
        self.attention = eqx.nn.MultiheadAttention(
            spec.HEADS, d, use_query_bias=True, use_key_bias=True,
            use_value_bias=True, use_output_bias=True, key=k1,
        )  # fmt: skip
        self.norm1 = eqx.nn.LayerNorm(d, eps=1e-3)
        self.ffn1 = eqx.nn.Linear(d, spec.FFN, key=k2)
        self.ffn2 = eqx.nn.Linear(spec.FFN, d, key=k3)
        self.norm2 = eqx.nn.LayerNorm(d, eps=1e-3)

    def __call__(self, h_TxD):
        h_TxD = jax.vmap(self.norm1)(h_TxD + self.attention(h_TxD, h_TxD, h_TxD))
        f_TxD = jax.vmap(lambda h: self.ffn2(jax.nn.relu(self.ffn1(h))))(h_TxD)
        return jax.vmap(self.norm2)(h_TxD + f_TxD)


class Transformer(eqx.Module):
    """Token and position embeddings, the encoder blocks, mean-pool, Dense 10."""

    tokens: eqx.nn.Embedding
    positions: eqx.nn.Embedding
    blocks: list[Block]
    head: eqx.nn.Linear

    def __init__(self, key):
        keys = jax.random.split(key, 3 + spec.BLOCKS)
        self.tokens = eqx.nn.Embedding(spec.VOCAB, spec.D_MODEL, key=keys[0])
        self.positions = eqx.nn.Embedding(spec.SEQ, spec.D_MODEL, key=keys[1])
        self.blocks = [Block(k) for k in keys[3:]]
        self.head = eqx.nn.Linear(spec.D_MODEL, spec.CLASSES, key=keys[2])

    def __call__(self, ids_T):
        h_TxD = jax.vmap(self.tokens)(ids_T) + self.positions.weight
        for block in self.blocks:
            h_TxD = block(h_TxD)
        return self.head(h_TxD.mean(axis=0))


def build_model(model: str) -> eqx.Module:
    """`model` (see `bench.models_spec`) for one example, from key 0."""
    key = jax.random.key(0)
    if model in spec.MLPS:
        inputs, hidden = spec.MLPS[model]
        return eqx.nn.MLP(
            inputs,
            spec.CLASSES,
            hidden[0],
            len(hidden),
            activation=jax.nn.relu,
            key=key,
        )
    return {"cnn": CNN, "transformer": Transformer}[model](key)


def make_step(optim: optax.GradientTransformation):
    """The Equinox examples' step: `(model, opt_state, x, y) -> (..., loss)`."""

    def loss_fn(net, x, y):
        logits = jax.vmap(net)(x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @eqx.filter_jit
    def step(net, opt_state, x, y):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(net, x, y)
        updates, opt_state = optim.update(
            grads, opt_state, eqx.filter(net, eqx.is_array)
        )
        return eqx.apply_updates(net, updates), opt_state, loss

    return step


def run(model: str, variant: str, batch: int, steps: int, repeats: int) -> dict:
    """Measures the Equinox loop for `model` (see `bench.peers._common.measure`)."""
    del variant  # one variant
    x, y = spec.make_data(model, steps, batch)
    net = build_model(model)
    optim = optax.adam(spec.LEARNING_RATE)
    opt_state = optim.init(eqx.filter(net, eqx.is_inexact_array))
    step = make_step(optim)

    def loop_step(state, xb, yb):
        net, opt_state, loss = step(*state, xb, yb)
        return (net, opt_state), loss

    loop = _common.StepLoop(loop_step, (net, opt_state), x, y, batch)
    return _common.measure(loop.first, loop.timed, steps, repeats)


if __name__ == "__main__":
    _common.main(run, VARIANTS, "Equinox", version("equinox"))
