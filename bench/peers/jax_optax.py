"""The floor: the three models by hand in JAX, one `jax.jit` step, optax Adam.

Parameters are plain dicts; the step is
`jax.jit(step, donate_argnums=(0, 1))` over `(params, opt_state)`, and the
host loop feeds NumPy batches. Variants:

* ``step``: one compiled step per batch (the floor every ratio divides by).
* ``scan``: `FUSED_STEPS` steps per call, a `lax.scan` over stacked batches
  (the floor for `steps_per_execution`).

Shapes: B batch, T steps, D model width, H heads, K head size, F ffn width.

Example (the hand-written forward pass):
  >>> params = init_params("mlp", jax.random.key(0))
  >>> forward("mlp", params, jnp.zeros((2, 784))).shape
  (2, 10)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax import lax

from bench import models_spec as spec
from bench.peers import _common

VARIANTS = {"step": "jax.jit + optax (floor)", "scan": "jax.jit + optax, lax.scan"}

_glorot = jax.nn.initializers.glorot_uniform()


def _dense(key, n_in: int, n_out: int) -> dict[str, jax.Array]:
    return {"w": _glorot(key, (n_in, n_out)), "b": jnp.zeros((n_out,))}


def _conv(key, c_in: int, c_out: int) -> dict[str, jax.Array]:
    return {"w": _glorot(key, (3, 3, c_in, c_out)), "b": jnp.zeros((c_out,))}


def _heads(key, shape) -> dict[str, jax.Array]:
    """An einsum projection in Keras's layout: kernel `shape`, bias its tail."""
    return {"w": _glorot(key, shape), "b": jnp.zeros(shape[1:])}


def _block(key) -> dict[str, Any]:
    ks = jax.random.split(key, 6)
    d, h, k = spec.D_MODEL, spec.HEADS, spec.KEY_DIM
    return {
        "q": _heads(ks[0], (d, h, k)),
        "k": _heads(ks[1], (d, h, k)),
        "v": _heads(ks[2], (d, h, k)),
        "o": {"w": _glorot(ks[3], (h, k, d)), "b": jnp.zeros((d,))},
        "ln1": {"scale": jnp.ones((d,)), "bias": jnp.zeros((d,))},
        "ff1": _dense(ks[4], d, spec.FFN),
        "ff2": _dense(ks[5], spec.FFN, d),
        "ln2": {"scale": jnp.ones((d,)), "bias": jnp.zeros((d,))},
    }


def init_params(model: str, key: jax.Array) -> dict[str, Any]:
    """Fresh parameters of `model` (see `bench.models_spec`)."""
    ks = jax.random.split(key, 4 + spec.BLOCKS)
    if model in spec.MLPS:
        inputs, hidden = spec.MLPS[model]
        widths = [inputs, *hidden]
        keys = jax.random.split(ks[0], len(widths))
        return {
            "hidden": [_dense(k, a, b) for k, a, b in zip(keys, widths, widths[1:])],
            "out": _dense(keys[-1], widths[-1], spec.CLASSES),
        }
    if model == "cnn":
        return {
            "c1": _conv(ks[0], 1, 32),
            "c2": _conv(ks[1], 32, 64),
            "out": _dense(ks[2], 5 * 5 * 64, spec.CLASSES),
        }
    uniform = jax.nn.initializers.uniform(0.05)
    return {
        "tok": uniform(ks[0], (spec.VOCAB, spec.D_MODEL)),
        "pos": uniform(ks[1], (spec.SEQ, spec.D_MODEL)),
        "blocks": [_block(k) for k in ks[4:]],
        "out": _dense(ks[2], spec.D_MODEL, spec.CLASSES),
    }


def _conv_relu_pool(p, x_BxHxWxC):
    y = lax.conv_general_dilated(
        x_BxHxWxC, p["w"], (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    y = jax.nn.relu(y + p["b"])
    return lax.reduce_window(y, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def _layer_norm(p, x, eps: float = 1e-3):
    mean = x.mean(-1, keepdims=True)
    var = jnp.square(x - mean).mean(-1, keepdims=True)
    return (x - mean) * lax.rsqrt(var + eps) * p["scale"] + p["bias"]


def _encoder_block(p, h_BxTxD):
    def project(q):
        return jnp.einsum("btd,dhk->bthk", h_BxTxD, q["w"]) + q["b"]

    q_BxTxHxK = project(p["q"]) / jnp.sqrt(spec.KEY_DIM).astype(h_BxTxD.dtype)
    k_BxTxHxK, v_BxTxHxK = project(p["k"]), project(p["v"])
    probs = jax.nn.softmax(jnp.einsum("bqhk,bvhk->bhqv", q_BxTxHxK, k_BxTxHxK))
    o_BxTxHxK = jnp.einsum("bhqv,bvhk->bqhk", probs, v_BxTxHxK)
    attended = jnp.einsum("bqhk,hkd->bqd", o_BxTxHxK, p["o"]["w"]) + p["o"]["b"]
    h_BxTxD = _layer_norm(p["ln1"], h_BxTxD + attended)
    f_BxTxF = jax.nn.relu(h_BxTxD @ p["ff1"]["w"] + p["ff1"]["b"])
    return _layer_norm(p["ln2"], h_BxTxD + f_BxTxF @ p["ff2"]["w"] + p["ff2"]["b"])


def forward(model: str, params: dict[str, Any], x: jax.Array) -> jax.Array:
    """The logits `(B, 10)` of `model` for a batch `x`."""
    if model in spec.MLPS:
        for p in params["hidden"]:
            x = jax.nn.relu(x @ p["w"] + p["b"])
        return x @ params["out"]["w"] + params["out"]["b"]
    if model == "cnn":
        h = _conv_relu_pool(params["c2"], _conv_relu_pool(params["c1"], x))
        h = h.reshape(h.shape[0], -1)
        return h @ params["out"]["w"] + params["out"]["b"]
    h_BxTxD = params["tok"][x] + params["pos"]
    for block in params["blocks"]:
        h_BxTxD = _encoder_block(block, h_BxTxD)
    pooled_BxD = h_BxTxD.mean(axis=1)
    return pooled_BxD @ params["out"]["w"] + params["out"]["b"]


def make_step(model: str, tx: optax.GradientTransformation):
    """The pure step `((params, opt_state), x, y) -> ((params, opt_state), loss)`."""

    def loss_fn(params, x, y):
        logits = forward(model, params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def step(carry, x, y):
        params, opt_state = carry
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def scanned(step):
    """`step` over `k` batches stacked on a leading axis, one `lax.scan`."""

    def multi_step(carry, xs, ys):
        return lax.scan(lambda c, batch: step(c, *batch), carry, (xs, ys))

    return multi_step


def run(model: str, variant: str, batch: int, steps: int, repeats: int) -> dict:
    """Measures the floor loop for `model` (see `bench.peers._common.measure`)."""
    x, y = spec.make_data(model, steps, batch)
    tx = optax.adam(spec.LEARNING_RATE)
    params = init_params(model, jax.random.key(0))
    state = (params, tx.init(params))
    step = make_step(model, tx)
    fused = spec.FUSED_STEPS if variant == "scan" else 1
    if fused > 1:
        step = scanned(step)
    compiled = jax.jit(step, donate_argnums=(0,))
    loop = _common.StepLoop(compiled, state, x, y, batch, fused)
    return _common.measure(loop.first, loop.timed, steps, repeats)


if __name__ == "__main__":
    _common.main(run, VARIANTS, "optax", optax.__version__)
