"""torch rules for primitives that hold sub-jaxprs: calls (`jit`,
`closed_call`, `custom_jvp_call`, `custom_vjp_call`, `remat`), and control
flow (`cond`, `while`, `scan`).

A custom derivative (`custom_jvp_call`, `custom_vjp_call`) that is not one
of JAX's own (see `interop.custom_rules.needs_rule`; those are inlined) runs
as one `torch.autograd.Function` when a gradient may be taken: its forward runs the
forward jaxpr of `interop.custom_rules.split_rule`, its backward the rule's
backward jaxpr, so autograd follows the user's rule, not the primal ops.
Without grad mode or inputs that require grad, the primal body runs. `scan`
is a Python loop over the leading axis (honouring `reverse`); `cond` and
`while` read their predicate on the host.

Example:
  >>> import jax, jax.numpy as jnp, torch, interop
  >>> def cumulative(xs):
  ...     return jax.lax.scan(lambda c, x: (c + x, c + x), 0.0, xs)[1]
  >>> interop.lower(cumulative, jnp.ones(3), backend="torch")(torch.ones(3))
  tensor([1., 2., 3.])
"""

from __future__ import annotations

import torch

from interop.custom_rules import split_rule
from interop.torch.dtypes import torch_dtype


def _call(param):
    def rule(ctx, *args, **params):
        return ctx.run(params[param], *args)

    return rule


class _RuleFunction(torch.autograd.Function):
    """One custom-derivative equation as a differentiable torch op."""

    @staticmethod
    def forward(fn_ctx, ctx, split, *args):
        results = ctx.run(split.forward, *args)
        outs = results[: split.num_outputs]
        fn_ctx.ctx, fn_ctx.split, fn_ctx.device = ctx, split, args[0].device
        fn_ctx.residuals = results[split.num_outputs :]
        fn_ctx.mark_non_differentiable(
            *(o for o in outs if not (o.is_floating_point() or o.is_complex()))
        )
        return tuple(outs)

    @staticmethod
    def backward(fn_ctx, *grads):
        split = fn_ctx.split
        in_avals = split.backward.in_avals[len(fn_ctx.residuals) :]
        grads = [
            torch.zeros(a.shape, dtype=torch_dtype(a.dtype), device=fn_ctx.device)
            if g is None
            else g
            for g, a in zip(grads, in_avals)
        ]
        cotangents = iter(fn_ctx.ctx.run(split.backward, *fn_ctx.residuals, *grads))
        return (
            None,
            None,
            *(next(cotangents) if d else None for d in split.differentiable),
        )


def _custom(ctx, *args, call_jaxpr, **_):
    # JAX's own rules never get here: the plan inlines their bodies.
    differentiable = torch.is_grad_enabled() and any(
        a.requires_grad for a in args if isinstance(a, torch.Tensor)
    )
    if not differentiable:
        return ctx.run(call_jaxpr, *args)
    return list(_RuleFunction.apply(ctx, split_rule(ctx.eqn), *args))


def _cond(ctx, index, *operands, branches, **_):
    chosen = min(max(int(index), 0), len(branches) - 1)
    return ctx.run(branches[chosen], *operands)


def _while(ctx, *args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts, **_):
    cond_consts = args[:cond_nconsts]
    body_consts = args[cond_nconsts : cond_nconsts + body_nconsts]
    carry = list(args[cond_nconsts + body_nconsts :])
    while bool(ctx.run(cond_jaxpr, *cond_consts, *carry)[0]):
        carry = ctx.run(body_jaxpr, *body_consts, *carry)
    return carry


def _scan(ctx, *args, jaxpr, num_consts, num_carry, length, reverse, **_):
    consts = args[:num_consts]
    carry = list(args[num_consts : num_consts + num_carry])
    slices = [torch.unbind(x) for x in args[num_consts + num_carry :]]
    steps = range(length - 1, -1, -1) if reverse else range(length)
    ys = []
    for i in steps:
        outs = ctx.run(jaxpr, *consts, *carry, *(s[i] for s in slices))
        carry, y = outs[:num_carry], outs[num_carry:]
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys:
        device = args[0].device if args else None
        return [
            *carry,
            *(
                torch.empty(a.shape, dtype=torch_dtype(a.dtype), device=device)
                for a in ctx.out_avals[num_carry:]
            ),
        ]
    return [*carry, *(torch.stack(column) for column in zip(*ys))]


RULES = {
    "jit": _call("jaxpr"),
    "pjit": _call("jaxpr"),
    "closed_call": _call("call_jaxpr"),
    "core_call": _call("call_jaxpr"),
    "custom_jvp_call": _custom,
    "custom_vjp_call": _custom,
    "custom_vjp_call_jaxpr": _call("fun_jaxpr"),
    "remat2": _call("jaxpr"),
    "checkpoint": _call("jaxpr"),
    "cond": _cond,
    "while": _while,
    "scan": _scan,
}
