"""TensorFlow rules for primitives that hold sub-jaxprs: calls, custom
derivatives, rematerialization, `cond`, `while` and `scan`.

Calls run their body with the same rules. A custom derivative
(`custom_jvp_call`, `custom_vjp_call`) that is not one of JAX's own (see
`interop.custom_rules.needs_rule`) becomes a `tf.custom_gradient` op whose
forward runs the forward jaxpr of `interop.custom_rules.split_rule` and whose
gradient runs the rule's backward jaxpr, so `tf.GradientTape` follows the
user's rule; inside such a forward, nested rules run their primal body (the
outer backward jaxpr already holds their derivative). `cond` becomes
`tf.cond` (two branches) or `tf.switch_case`, `while` becomes
`tf.while_loop`, and `scan` a `tf.while_loop` that reads `xs[t]` and writes
`ys[t]` through `tf.TensorArray`s, so a scan stays one loop inside
`tf.function` (no unrolling) and stays differentiable.

Example:
  >>> import jax
  >>> closed = jax.make_jaxpr(lambda x: jax.jit(jnp.sin)(x))(1.0)
  >>> eqn = closed.eqns[0]
  >>> run = lambda sub, *xs: [tf.sin(xs[0])]
  >>> ctx = type("Ctx", (), {"eqn": eqn, "run": staticmethod(run)})()
  >>> RULES["jit"](ctx, tf.constant(0.0), **eqn.params)[0].numpy()
  np.float32(0.0)
"""

from __future__ import annotations

import contextvars
from typing import Any

import tensorflow as tf

from interop.custom_rules import needs_rule, split_rule
from interop.tensorflow.common import GRAPH_LOCAL_CONSTANTS, physical_shape, tf_dtype

# True while the forward of an enclosing custom rule runs.
_IN_RULE_FORWARD = contextvars.ContextVar("in_rule_forward", default=False)


def _call(param: str):
    def rule(ctx, *args, **params):
        return ctx.run(params[param], *args)

    return rule


def _forward(ctx, closed, *args):
    token = _IN_RULE_FORWARD.set(True)
    try:
        return ctx.run(closed, *args)
    finally:
        _IN_RULE_FORWARD.reset(token)


def _custom(ctx, *args, call_jaxpr, **params):
    del params
    if _IN_RULE_FORWARD.get() or not needs_rule(ctx.eqn):
        return ctx.run(call_jaxpr, *args)
    split = split_rule(ctx.eqn)
    if not any(split.differentiable):
        return ctx.run(call_jaxpr, *args)
    n = split.num_outputs

    @tf.custom_gradient
    def op(*diff_args):
        given = iter(diff_args)
        full = [next(given) if d else a for a, d in zip(args, split.differentiable)]
        results = _forward(ctx, split.forward, *full)
        residuals = results[n:]

        def grad(*upstream):
            upstream = [
                tf.zeros(physical_shape(a), tf_dtype(a.dtype)) if u is None else u
                for u, a in zip(upstream, ctx.out_avals)
            ]
            token = GRAPH_LOCAL_CONSTANTS.set(True)
            try:
                return ctx.run(split.backward, *residuals, *upstream)
            finally:
                GRAPH_LOCAL_CONSTANTS.reset(token)

        return results[:n], grad

    diff = [tf.identity(a) for a, d in zip(args, split.differentiable) if d]
    return list(op(*diff))


def _cond(ctx, index, *operands, branches, **params):
    del params
    index = tf.clip_by_value(tf.cast(index, tf.int32), 0, len(branches) - 1)
    fns = [lambda b=b: ctx.run(b, *operands) for b in branches]
    if len(fns) == 1:
        return fns[0]()
    if len(fns) == 2:
        return tf.cond(tf.equal(index, 1), fns[1], fns[0])
    return tf.switch_case(index, fns)


def _while(ctx, *args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts = args[:cond_nconsts]
    body_consts = args[cond_nconsts : cond_nconsts + body_nconsts]
    init = list(args[cond_nconsts + body_nconsts :])

    def cond(*carry):
        return ctx.run(cond_jaxpr, *cond_consts, *carry)[0]

    def body(*carry):
        return ctx.run(body_jaxpr, *body_consts, *carry)

    return tf.while_loop(cond, body, init)


def _scan(ctx, *args, jaxpr, length, reverse, num_consts, num_carry, **params):
    del params
    consts = args[:num_consts]
    init = list(args[num_consts : num_consts + num_carry])
    xs = args[num_consts + num_carry :]
    y_avals = ctx.out_avals[num_carry:]
    arrays = [
        tf.TensorArray(
            tf_dtype(a.dtype), size=length, element_shape=physical_shape(a)[1:]
        )
        for a in y_avals
    ]

    def body(i, carry, arrays):
        t = length - 1 - i if reverse else i
        outs = ctx.run(jaxpr, *consts, *carry, *(tf.gather(x, t) for x in xs))
        ys = outs[num_carry:]
        return i + 1, outs[:num_carry], [a.write(t, y) for a, y in zip(arrays, ys)]

    _, carry, arrays = tf.while_loop(
        lambda i, *_: i < length, body, (tf.constant(0), init, arrays)
    )
    return [*carry, *(a.stack() for a in arrays)]


RULES: dict[str, Any] = {
    "jit": _call("jaxpr"),
    "closed_call": _call("call_jaxpr"),
    "remat2": _call("jaxpr"),
    "custom_jvp_call": _custom,
    "custom_vjp_call": _custom,
    "cond": _cond,
    "while": _while,
    "scan": _scan,
}
