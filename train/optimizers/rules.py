"""Update rules written as Keras writes them, where optax's differ: Adam's
epsilon outside the bias correction (and AMSGrad's maximum of the raw second
moment), Nadam's momentum schedule, and FTRL-proximal.

Each is an optax `GradientTransformation` over a pytree of parameters.

Example:
  >>> tx = scale_by_keras_adam(0.9, 0.999, 1e-7)
  >>> updates, _ = tx.update({"w": jnp.ones(2)}, tx.init({"w": jnp.zeros(2)}))
  >>> updates["w"].round(4).tolist()  # m / (sqrt(v) + eps), bias-corrected
  [1.0, 1.0]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class AdamState(NamedTuple):
    count: jax.Array
    mu: Any
    nu: Any
    nu_max: Any  # AMSGrad's largest second moment; () without it


def scale_by_keras_adam(
    beta_1: float, beta_2: float, epsilon: float, amsgrad: bool = False
) -> optax.GradientTransformation:
    """Keras's Adam direction: `sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)`,
    with `v` the largest second moment so far under `amsgrad`."""

    def init(params):
        return AdamState(
            jnp.zeros((), jnp.int32), fresh_zeros(params), fresh_zeros(params),
            fresh_zeros(params) if amsgrad else (),
        )  # fmt: skip

    def update(grads, state, params=None):
        del params
        t = state.count + 1
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.nu, grads)
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu) if amsgrad else ()
        tf = t.astype(jnp.float32)
        alpha = jnp.sqrt(1 - beta_2**tf) / (1 - beta_1**tf)
        updates = jax.tree.map(
            lambda m, v: alpha * m / (jnp.sqrt(v) + epsilon),
            mu, nu_max if amsgrad else nu,
        )  # fmt: skip
        return updates, AdamState(t, mu, nu, nu_max)

    return optax.GradientTransformation(init, update)


class NadamState(NamedTuple):
    count: jax.Array
    mu: Any
    nu: Any
    u_product: jax.Array


def scale_by_keras_nadam(
    beta_1: float, beta_2: float, epsilon: float
) -> optax.GradientTransformation:
    """Keras's Nadam direction: Nesterov momentum with Dozat's momentum
    schedule `u_t = b1 (1 - 0.5 * 0.96^t)` (optax's nadam has none)."""

    def init(params):
        zeros = jnp.zeros((), jnp.int32)
        return NadamState(zeros, fresh_zeros(params), fresh_zeros(params), jnp.ones(()))

    def update(grads, state, params=None):
        del params
        t = (state.count + 1).astype(jnp.float32)
        u_t = beta_1 * (1.0 - 0.5 * 0.96**t)
        u_next = beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        u_product = state.u_product * u_t
        u_product_next = u_product * u_next
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.nu, grads)

        def direction(m, v, g):
            m_hat = u_next * m / (1 - u_product_next) + (1 - u_t) * g / (1 - u_product)
            v_hat = v / (1 - beta_2**t)
            return m_hat / (jnp.sqrt(v_hat) + epsilon)

        updates = jax.tree.map(direction, mu, nu, grads)
        return updates, NadamState(state.count + 1, mu, nu, u_product)

    return optax.GradientTransformation(init, update)


class FtrlState(NamedTuple):
    accumulator: Any
    linear: Any


def keras_ftrl(
    learning_rate: Any,
    learning_rate_power: float,
    initial_accumulator_value: float,
    l1: float,
    l2: float,
    l2_shrinkage: float,
    beta: float,
) -> optax.GradientTransformation:
    """FTRL-proximal (McMahan et al., 2013) as Keras's Ftrl: each weight is
    set from its accumulated linear term and squared gradients, with L1 and
    L2 regularization; the update is the new weight less the old."""

    def init(params):
        return FtrlState(
            jax.tree.map(lambda p: jnp.full_like(p, initial_accumulator_value), params),
            jax.tree.map(jnp.zeros_like, params),
        )

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("Ftrl: the update needs the parameters (params=...).")
        l2_reg = l2 + beta / (2.0 * learning_rate)
        power = -learning_rate_power

        def one(g, w, accum, linear):
            new_accum = accum + g * g
            shrunk = g + 2 * l2_shrinkage * w
            sigma = (new_accum**power - accum**power) / learning_rate
            linear = linear + shrunk - sigma * w
            quadratic = new_accum**power / learning_rate + 2 * l2_reg
            new_w = (jnp.clip(linear, -l1, l1) - linear) / quadratic
            return new_w - w, new_accum, linear

        out = jax.tree.map(one, grads, params, state.accumulator, state.linear)
        updates, accumulator, linear = (part(grads, out, i) for i in range(3))
        return updates, FtrlState(accumulator, linear)

    return optax.GradientTransformation(init, update)


def part(like: Any, tuples: Any, index: int) -> Any:
    """Entry `index` of each tuple in `tuples`, a tree shaped as `like` with
    a tuple at each leaf."""
    return jax.tree.map(lambda _, entries: entries[index], like, tuples)


def scale_by_keras_lamb(
    beta_1: float, beta_2: float, epsilon: float
) -> optax.GradientTransformation:
    """Keras's Lamb direction: Adam's bias-corrected `m / (sqrt(v) + eps)`
    times the trust ratio `||w|| / ||direction||` per array (1 where either
    norm is 0)."""

    def init(params):
        return AdamState(
            jnp.zeros((), jnp.int32), fresh_zeros(params), fresh_zeros(params), ()
        )

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("Lamb: the update needs the parameters (params=...).")
        t = state.count + 1
        tf = t.astype(jnp.float32)
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - beta_2), state.nu, grads)

        def direction(m, v, w):
            step = (m / (1 - beta_1**tf)) / (jnp.sqrt(v / (1 - beta_2**tf)) + epsilon)
            w_norm, s_norm = jnp.linalg.norm(w), jnp.linalg.norm(step)
            ratio = jnp.where((w_norm > 0) & (s_norm > 0), w_norm / s_norm, 1.0)
            return ratio * step

        updates = jax.tree.map(direction, mu, nu, params)
        return updates, AdamState(t, mu, nu, ())

    return optax.GradientTransformation(init, update)


class AdafactorState(NamedTuple):
    count: jax.Array
    row: Any  # per matrix, the running mean of squared gradients of each row
    column: Any  # and of each column; () leaves for arrays of rank < 2
    velocity: Any  # the full second moment of arrays of rank < 2; () else


def keras_adafactor(
    learning_rate: Any,
    beta_2_decay: float,
    epsilon_1: float,
    epsilon_2: float,
    clip_threshold: float,
) -> optax.GradientTransformation:
    """Adafactor (Shazeer & Stern, 2018) as Keras's: a matrix's second moment
    kept factored into row and column means, the step `rho_t = min(lr,
    1/sqrt(t))` scaled by the weights' RMS (at least `epsilon_2`), the update
    clipped to RMS `clip_threshold`. (Keras's `relative_step` caps the rate
    at `1/sqrt(t)` before `rho_t` caps it again: the same number.)"""

    def init(params):
        def factored(p, axis):
            return jnp.zeros(p.shape[:axis] + p.shape[axis + 1 :], p.dtype)

        def pick(fn, matrices):
            return jax.tree.map(
                lambda p: fn(p) if (p.ndim >= 2) == matrices else (), params
            )

        return AdafactorState(
            jnp.zeros((), jnp.int32),
            pick(lambda p: factored(p, p.ndim - 1), True),
            pick(lambda p: factored(p, p.ndim - 2), True),
            pick(jnp.zeros_like, False),
        )

    def update(grads, state, params=None):
        if params is None:
            raise ValueError("Adafactor: the update needs the parameters.")
        t = (state.count + 1).astype(jnp.float32)
        rho_t = jnp.minimum(learning_rate, 1 / jnp.sqrt(t))  # relative or not
        beta_2_t = 1 - jnp.power(t, beta_2_decay)

        def one(g, w, row, column, velocity):
            squared = g * g + epsilon_1
            if w.ndim >= 2:
                row = beta_2_t * row + (1 - beta_2_t) * squared.mean(-1)
                column = beta_2_t * column + (1 - beta_2_t) * squared.mean(-2)
                v = (row / row.mean(-1, keepdims=True))[..., None] * column[
                    ..., None, :
                ]
            else:
                velocity = beta_2_t * velocity + (1 - beta_2_t) * squared
                v = velocity
            u = g / jnp.sqrt(v)
            u = u / jnp.maximum(1.0, _rms(u) / clip_threshold)
            alpha = jnp.maximum(epsilon_2, _rms(w)) * rho_t
            return -alpha * u, row, column, velocity

        out = jax.tree.map(one, grads, params, state.row, state.column, state.velocity)
        parts = [part(grads, out, i) for i in range(4)]
        return parts[0], AdafactorState(state.count + 1, *parts[1:])

    return optax.GradientTransformation(init, update)


def _rms(x: Any) -> Any:
    return jnp.sqrt(jnp.mean(jnp.square(x)))


def fresh_zeros(params: Any) -> Any:
    """Fresh zeros shaped as `params`: each slot its own buffers, since the
    fit loop donates them (one buffer in two slots cannot be donated)."""
    return jax.tree.map(jnp.zeros_like, params)
