"""Flax NNX: the three models as `nnx.Module`s, trained with `nnx.Optimizer`.

Variants, both the Flax documentation's own loops:

* ``nnx_jit``: the idiomatic step, `@nnx.jit` over `(model, optimizer, x, y)`
  with `nnx.value_and_grad` and `optimizer.update(model, grads)`; the
  objects are updated in place.
* ``split_merge``: the same step as a pure function of the `nnx.split`
  state, `jax.jit(..., donate_argnums=0)`, `nnx.merge` inside (the "lower
  Python overhead" recipe); the state is merged back once, at the end.

Shapes: B batch, T steps, D model width.

Example:
  >>> build_model("mlp")(jnp.zeros((2, 784))).shape
  (2, 10)
"""

from __future__ import annotations

from importlib.metadata import version

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from bench import models_spec as spec
from bench.peers import _common

VARIANTS = {
    "nnx_jit": "Flax NNX, nnx.jit + nnx.Optimizer",
    "split_merge": "Flax NNX, split/merge + jax.jit",
}


class MLP(nnx.Module):
    """inputs -> hidden... (relu) -> 10, as `spec.MLPS[model]`."""

    def __init__(self, rngs: nnx.Rngs, model: str = "mlp"):
        inputs, hidden = spec.MLPS[model]
        widths = [inputs, *hidden]
        self.hidden = nnx.List(
            [nnx.Linear(a, b, rngs=rngs) for a, b in zip(widths, widths[1:])]
        )
        self.out = nnx.Linear(widths[-1], spec.CLASSES, rngs=rngs)

    def __call__(self, x):
        for layer in self.hidden:
            x = nnx.relu(layer(x))
        return self.out(x)


class CNN(nnx.Module):
    """conv32-pool-conv64-pool-dense10 on NHWC images, valid padding."""

    def __init__(self, rngs: nnx.Rngs):
        self.c1 = nnx.Conv(1, 32, (3, 3), padding="VALID", rngs=rngs)
        self.c2 = nnx.Conv(32, 64, (3, 3), padding="VALID", rngs=rngs)
        self.out = nnx.Linear(5 * 5 * 64, spec.CLASSES, rngs=rngs)

    def __call__(self, x):
        x = nnx.max_pool(nnx.relu(self.c1(x)), (2, 2), (2, 2))
        x = nnx.max_pool(nnx.relu(self.c2(x)), (2, 2), (2, 2))
        return self.out(x.reshape(x.shape[0], -1))


class Block(nnx.Module):
    """A post-norm encoder block: self-attention, then the feed-forward net."""

    def __init__(self, rngs: nnx.Rngs):
        d = spec.D_MODEL
        self.attention = nnx.MultiHeadAttention(
            spec.HEADS, d, qkv_features=d, decode=False, rngs=rngs
        )
        self.norm1 = nnx.LayerNorm(d, epsilon=1e-3, rngs=rngs)
        self.ffn1 = nnx.Linear(d, spec.FFN, rngs=rngs)
        self.ffn2 = nnx.Linear(spec.FFN, d, rngs=rngs)
        self.norm2 = nnx.LayerNorm(d, epsilon=1e-3, rngs=rngs)

    def __call__(self, h_BxTxD):
        h_BxTxD = self.norm1(h_BxTxD + self.attention(h_BxTxD))
        return self.norm2(h_BxTxD + self.ffn2(nnx.relu(self.ffn1(h_BxTxD))))


class Transformer(nnx.Module):
    """Token and position embeddings, the encoder blocks, mean-pool, Dense 10."""

    def __init__(self, rngs: nnx.Rngs):
        self.tokens = nnx.Embed(spec.VOCAB, spec.D_MODEL, rngs=rngs)
        self.positions = nnx.Embed(spec.SEQ, spec.D_MODEL, rngs=rngs)
        self.blocks = nnx.List([Block(rngs) for _ in range(spec.BLOCKS)])
        self.head = nnx.Linear(spec.D_MODEL, spec.CLASSES, rngs=rngs)

    def __call__(self, ids_BxT):
        h_BxTxD = self.tokens(ids_BxT) + self.positions(jnp.arange(ids_BxT.shape[1]))
        for block in self.blocks:
            h_BxTxD = block(h_BxTxD)
        return self.head(h_BxTxD.mean(axis=1))


def build_model(model: str) -> nnx.Module:
    """`model` (see `bench.models_spec`) with fresh parameters from seed 0."""
    if model in spec.MLPS:
        return MLP(nnx.Rngs(0), model)
    return {"cnn": CNN, "transformer": Transformer}[model](nnx.Rngs(0))


def _loss(net, x, y):
    logits = net(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


@nnx.jit
def train_step(net, optimizer, x, y):
    """The idiomatic NNX step: gradients, then an in-place optimizer update."""
    loss, grads = nnx.value_and_grad(_loss)(net, x, y)
    optimizer.update(net, grads)
    return loss


def make_pure_step(graphdef):
    """`(state, x, y) -> (state, loss)` over the split `(model, optimizer)`."""

    def step(state, x, y):
        net, optimizer = nnx.merge(graphdef, state)
        loss, grads = nnx.value_and_grad(_loss)(net, x, y)
        optimizer.update(net, grads)
        return nnx.state((net, optimizer)), loss

    return jax.jit(step, donate_argnums=0)


def run(model: str, variant: str, batch: int, steps: int, repeats: int) -> dict:
    """Measures the NNX loop for `model` (see `bench.peers._common.measure`)."""
    x, y = spec.make_data(model, steps, batch)
    net = build_model(model)
    optimizer = nnx.Optimizer(net, optax.adam(spec.LEARNING_RATE), wrt=nnx.Param)
    if variant == "split_merge":
        graphdef, state = nnx.split((net, optimizer))
        loop = _common.StepLoop(make_pure_step(graphdef), state, x, y, batch)
    else:

        def step(state, xb, yb):
            return state, train_step(net, optimizer, xb, yb)

        loop = _common.StepLoop(step, None, x, y, batch)
    result = _common.measure(loop.first, loop.timed, steps, repeats)
    if variant == "split_merge":
        nnx.update((net, optimizer), loop.state)  # the objects see the result
    return result


if __name__ == "__main__":
    _common.main(run, VARIANTS, "Flax NNX", version("flax"))
