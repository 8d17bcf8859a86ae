"""User-defined derivative rules survive the lowering: torch autograd and
`tf.GradientTape` run the rule (`custom_jvp`, `custom_vjp`), not the primal
body, at top level, nested, inside `lax.scan`, under `vmap` and `checkpoint`."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import tensorflow as tf
import torch

import interop


@jax.custom_jvp
def straight_through_round(x):
    return jnp.round(x)


straight_through_round.defjvp(lambda p, t: (straight_through_round(p[0]), t[0]))


@jax.custom_vjp
def clip_gradient(x):
    return x


clip_gradient.defvjp(
    lambda x: (x, None), lambda _, g: (jnp.clip(g, -0.5, 0.5),)
)  # fmt: skip


@jax.custom_vjp
def scaled_square(x, scale):
    """x**2 * scale, with residuals (x and scale) and an integer-free rule."""
    return x**2 * scale


scaled_square.defvjp(
    lambda x, s: (x**2 * s, (x, s)),
    lambda res, g: (2 * res[0] * res[1] * g, jnp.sum(res[0] ** 2 * g).reshape(())),
)


@jax.custom_jvp
def softplus(x):
    """log(1 + exp(x)), with a rule that stays finite where exp overflows."""
    return jnp.logaddexp(x, 0.0)


softplus.defjvp(lambda p, t: (softplus(p[0]), jax.nn.sigmoid(p[0]) * t[0]))


def _ste_and_clip(x):
    return jnp.sum(straight_through_round(x * 3.0) * clip_gradient(x) * 4.0)


def _with_residuals(x):
    return jnp.sum(scaled_square(jnp.sin(x), jnp.float32(1.5)))


def _safe_softplus(x):
    return jnp.sum(softplus(x * 30.0))


def _nested(x):  # a custom_vjp whose primal calls a custom_jvp
    return jnp.sum(clip_gradient(straight_through_round(x) * x) * 5.0)


def _in_scan(x):
    def body(carry, x_t):
        y = straight_through_round(carry * 2.0 + x_t) + clip_gradient(x_t) * 3.0
        return carry + 0.1 * y, y

    return jnp.sum(jax.lax.scan(body, jnp.float32(0.3), x)[1])


def _under_vmap(x):
    return jnp.sum(jax.vmap(lambda v: softplus(v) * clip_gradient(v * 4.0))(x))


def _checkpointed(x):
    policy = jax.checkpoint_policies.dots_with_no_batch_dims_saveable

    @functools.partial(jax.checkpoint, policy=policy)
    def block(v):
        return jnp.tanh(jnp.outer(v, v) @ v) + straight_through_round(v)

    return jnp.sum(block(x) ** 2)


CASES = {
    "straight_through_and_clip": _ste_and_clip,
    "residuals": _with_residuals,
    "safe_softplus": _safe_softplus,
    "nested": _nested,
    "scan": _in_scan,
    "vmap": _under_vmap,
    "checkpoint": _checkpointed,
}
X = np.linspace(-1.3, 1.1, 6, dtype=np.float32)


def _torch_value_and_grad(fn, x):
    t = torch.tensor(x, requires_grad=True)
    out = interop.lower(fn, x, backend="torch")(t)
    (grad,) = torch.autograd.grad(out, [t])
    return out.detach().numpy(), grad.numpy()


def _tf_value_and_grad(fn, x):
    t = tf.constant(x)
    lowered = interop.lower(fn, x, backend="tensorflow")
    with tf.GradientTape() as tape:
        tape.watch(t)
        out = lowered(t)
    return out.numpy(), tape.gradient(out, t).numpy()


RUNNERS = {"torch": _torch_value_and_grad, "tensorflow": _tf_value_and_grad}


@pytest.mark.parametrize("backend", sorted(RUNNERS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_values_and_gradients_follow_the_rule(case, backend):
    fn = CASES[case]
    value, grad = RUNNERS[backend](fn, X)
    np.testing.assert_allclose(value, fn(X), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, jax.grad(fn)(X), rtol=1e-4, atol=1e-4)


def test_the_rules_differ_from_the_primal_bodies():
    """What would be lost by differentiating the bodies: the straight-through
    gradient is 3 * 4 * clip(x) where round's is 0, and the clipped one is 0.5
    per element where the body's is round(3x) * 4."""
    grad = jax.grad(_ste_and_clip)(X)
    np.testing.assert_allclose(grad, 12 * X + np.clip(np.round(3 * X) * 4, -0.5, 0.5))


@pytest.mark.parametrize("backend", sorted(RUNNERS))
def test_a_true_derivative_rule_matches_finite_differences(backend):
    _, grad = RUNNERS[backend](_safe_softplus, X)
    x64 = X.astype(np.float64)
    f = lambda v: np.sum(np.logaddexp(30.0 * v, 0.0))  # noqa: E731
    eps = 1e-6
    numeric = [(f(x64 + eps * e) - f(x64 - eps * e)) / (2 * eps) for e in np.eye(6)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def _qat_loss(w, x, y):
    """A regression whose weights are rounded to a 0.25 grid on the forward
    pass and trained straight through (quantization-aware training)."""
    w_q = straight_through_round(w * 4.0) / 4.0
    return jnp.mean((x @ w_q - y) ** 2)


def test_quantization_aware_training_on_torch_matches_jax():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = x @ np.array([0.7, -1.2, 0.3, 2.1], np.float32)
    w0 = np.full(4, 0.1, np.float32)

    tx = optax.sgd(0.05)
    w, state = jnp.asarray(w0), tx.init(jnp.asarray(w0))
    for _ in range(40):
        updates, state = tx.update(jax.grad(_qat_loss)(w, x, y), state)
        w = optax.apply_updates(w, updates)

    loss = interop.lower(_qat_loss, w0, x, y, backend="torch")
    w_torch = torch.nn.Parameter(torch.tensor(w0))
    sgd = torch.optim.SGD([w_torch], lr=0.05)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(40):
        sgd.zero_grad()
        loss(w_torch, xt, yt).backward()
        sgd.step()
    np.testing.assert_allclose(w_torch.detach().numpy(), w, atol=1e-4)
    assert float(_qat_loss(w, x, y)) < 0.1 * float(_qat_loss(w0, x, y))
