"""User-defined derivative rules, split by JAX into a forward and a backward
jaxpr that a target's autograd can run.

A `custom_jvp_call` or `custom_vjp_call` equation carries a primal body and a
rule. Lowering the body alone would let torch autograd or `tf.GradientTape`
differentiate the body's ops, not the rule: a straight-through `round` would
get gradient 0. Instead, JAX itself takes the vector-Jacobian product of the
one equation (which applies the rule: for `custom_vjp` the user's `fwd` and
`bwd`, for `custom_jvp` the jvp rule, linearized and transposed), and the
result is traced into two jaxprs:

* forward: `(*inputs) -> (*outputs, *residuals)`;
* backward: `(*residuals, *output_cotangents) -> (*input_cotangents)`, one per
  differentiable (inexact) input.

A target wraps them as one differentiable op (`torch.autograd.Function`,
`tf.custom_gradient`) whose forward runs the first and whose gradient runs the
second, both with the target's own rules.

Example:
  >>> @jax.custom_jvp
  ... def straight_through(x):
  ...     return jnp.round(x)
  >>> _ = straight_through.defjvp(lambda p, t: (straight_through(p[0]), t[0]))
  >>> eqn = jax.make_jaxpr(straight_through)(1.0).eqns[0]
  >>> split = split_rule(eqn)
  >>> split.differentiable, len(split.backward.jaxpr.outvars)
  ([True], 1)
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

CUSTOM_CALLS = ("custom_jvp_call", "custom_vjp_call")


def needs_rule(eqn: Any) -> bool:
    """Whether `eqn` is a custom-derivative call whose rule the target must run.

    JAX's own rules (`jax.nn.relu`, `jnp.logaddexp`...) give the derivative of
    their body, made safe at edge points; their bodies are lowered as they
    are, so the target keeps its native ops (and fusions) there. Every other
    rule (a user's, Flax's, Equinox's) is run as written.

    Example:
      >>> eqn = jax.make_jaxpr(jax.nn.relu)(1.0).eqns[0]
      >>> eqn.primitive.name, needs_rule(eqn)
      ('custom_jvp_call', False)
    """
    if eqn.primitive.name not in CUSTOM_CALLS:
        return False
    source = eqn.params["call_jaxpr"].jaxpr.debug_info.func_src_info or ""
    return f" at {os.path.dirname(jax.__file__)}{os.sep}" not in source


@dataclasses.dataclass(frozen=True)
class SplitRule:
    """The forward and backward jaxprs of one custom-derivative equation.

    Attributes:
      forward: `(*inputs) -> (*outputs, *residuals)`.
      backward: `(*residuals, *output_cotangents) -> (*input_cotangents)`,
        for the differentiable inputs only.
      num_outputs: how many of the forward's results are outputs.
      differentiable: one bool per input, True for inexact dtypes.
    """

    forward: Any
    backward: Any
    num_outputs: int
    differentiable: list[bool]


def _spec(aval: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(aval.shape, aval.dtype)


def _is_inexact(aval: Any) -> bool:
    return jnp.issubdtype(aval.dtype, jnp.inexact)


@functools.lru_cache(maxsize=512)  # keyed by the equation object itself
def split_rule(eqn: Any) -> SplitRule:
    """Splits a `custom_jvp_call` / `custom_vjp_call` equation (see the module
    docstring), once per equation. Outputs of integer dtype get zero
    cotangents."""
    in_avals = [v.aval for v in eqn.invars]
    out_avals = [v.aval for v in eqn.outvars]
    differentiable = [_is_inexact(a) for a in in_avals]
    params = eqn.primitive.get_bind_params(eqn.params)

    def call(*args: Any) -> list[Any]:
        out = eqn.primitive.bind(*args, **params)
        return list(out) if eqn.primitive.multiple_results else [out]

    pullback_tree: list[Any] = []

    def forward(*args: Any) -> tuple[list[Any], list[Any]]:
        def of_differentiable(*diff: Any) -> list[Any]:
            given = iter(diff)
            return call(
                *(next(given) if d else a for a, d in zip(args, differentiable))
            )

        diff_args = [a for a, d in zip(args, differentiable) if d]
        outs, pullback = jax.vjp(of_differentiable, *diff_args)
        residuals, tree = jax.tree.flatten(pullback)
        pullback_tree.append(tree)
        return outs, residuals

    forward_jaxpr, shapes = jax.make_jaxpr(forward, return_shape=True)(
        *map(_spec, in_avals)
    )
    residual_specs = shapes[1]

    def backward(residuals: list[Any], cotangents: list[Any]) -> list[Any]:
        pullback = jax.tree.unflatten(pullback_tree[0], residuals)
        cotangents = [
            ct if _is_inexact(a) else np.zeros(a.shape, jax.dtypes.float0)
            for ct, a in zip(cotangents, out_avals)
        ]
        return list(pullback(cotangents))

    backward_jaxpr = jax.make_jaxpr(backward)(
        list(residual_specs), [_spec(a) for a in out_avals]
    )
    return SplitRule(forward_jaxpr, backward_jaxpr, len(out_avals), differentiable)
