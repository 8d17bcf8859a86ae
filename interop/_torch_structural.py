"""torch rules for primitives that hold sub-jaxprs: calls (`jit`,
`closed_call`, `custom_jvp_call`, `custom_vjp_call`, `remat`), and control
flow (`cond`, `while`, `scan`).

Custom derivatives run their primal `call_jaxpr`; torch autograd then
differentiates the primal ops. `scan` is a Python loop over the leading axis
(honouring `reverse`); `cond` and `while` read their predicate on the host.

Example:
  >>> import jax, jax.numpy as jnp, torch, interop
  >>> def cumulative(xs):
  ...     return jax.lax.scan(lambda c, x: (c + x, c + x), 0.0, xs)[1]
  >>> interop.lower(cumulative, jnp.ones(3), backend="torch")(torch.ones(3))
  tensor([1., 2., 3.])
"""

from __future__ import annotations

import torch

from interop._torch_dtypes import torch_dtype


def _call(param):
    def rule(ctx, *args, **params):
        return ctx.run(params[param], *args)

    return rule


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
    "custom_jvp_call": _call("call_jaxpr"),
    "custom_vjp_call": _call("call_jaxpr"),
    "custom_vjp_call_jaxpr": _call("fun_jaxpr"),
    "remat2": _call("jaxpr"),
    "checkpoint": _call("jaxpr"),
    "cond": _cond,
    "while": _while,
    "scan": _scan,
}
