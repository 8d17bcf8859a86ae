"""TensorFlow rules for primitives that hold sub-jaxprs: calls, custom
derivatives, rematerialization, `cond`, `while` and `scan`.

Calls run their body with the same rules; `custom_jvp_call` and
`custom_vjp_call` run the primal body, since TF differentiates the lowered
graph itself. `cond` becomes `tf.cond` (two branches) or `tf.switch_case`,
`while` becomes `tf.while_loop`, and `scan` a `tf.while_loop` that reads
`xs[t]` and writes `ys[t]` through `tf.TensorArray`s, so a scan stays one
loop inside `tf.function` (no unrolling) and stays differentiable.

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

from typing import Any

import tensorflow as tf

from interop._tf_common import physical_shape, tf_dtype


def _call(param: str):
    def rule(ctx, *args, **params):
        return ctx.run(params[param], *args)

    return rule


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
    "custom_jvp_call": _call("call_jaxpr"),
    "custom_vjp_call": _call("call_jaxpr"),
    "cond": _cond,
    "while": _while,
    "scan": _scan,
}
