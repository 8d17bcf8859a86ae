"""TimeDistributed: one layer applied to every step of a sequence."""

from __future__ import annotations

from dataclasses import dataclass

import jax

from nn.layers import masking
from nn.layers.wrapper import Wrapper
from nn.registry import register
from stateless import ops
from stateless.errors import ShapeError, check_shape


def _merge_steps(x):
    """`(B, T, ...)` to `(B * T, ...)`."""
    return ops.reshape(x, (x.shape[0] * x.shape[1], *x.shape[2:]))


@register()
@dataclass(frozen=True)
class TimeDistributed(Wrapper):
    """Applies `layer` to each step of `(B, T, ...)` inputs with the same
    weights, as `keras.layers.TimeDistributed`: `(B, T, ...)` in,
    `(B, T, ...)` out.

    The steps are folded into the batch, so the layer runs once over
    `B * T` examples (a BatchNormalization inside sees every step of the
    batch in its statistics). A mask `(B, T)` passes through, and reaches
    the layer, one entry per step, where its `apply` takes `mask`.

    Args:
      layer: the layer to apply (Dense, Conv2D, a model...).

    Example:
      >>> from nn.layers import Dense
      >>> layer = TimeDistributed(Dense(3))
      >>> x = jnp.ones((2, 5, 4))
      >>> v = layer.init(sl.random.key(0), x)
      >>> v["params"]["layer"]["kernel"].shape, layer.apply(v, x)[0].shape
      ((4, 3), (2, 5, 3))
    """

    supports_masking = True

    def init(self, key, x):
        self._check(x)
        step = jax.ShapeDtypeStruct((x.shape[0], *x.shape[2:]), x.dtype)
        return self.wrap_variables(self.layer.init(key, step))

    def apply(self, variables, x, *, mask=None, training=False, rng=None):
        self._check(x)
        batch, steps = x.shape[:2]
        extra = {}
        if mask is not None:
            check_shape(self, "mask", mask, (batch, steps))
            if "mask" in masking.argument_names(type(self.layer)):
                extra["mask"] = _merge_steps(mask)
        out, state = self.layer.apply(
            self.inner_variables(variables),
            _merge_steps(x),
            training=training,
            rng=rng,
            **extra,
        )
        out = jax.tree.map(lambda y: ops.reshape(y, (batch, steps, *y.shape[1:])), out)
        return out, {"layer": state} if state else {}

    def _check(self, x):
        if len(x.shape) < 3:
            raise ShapeError(
                f"TimeDistributed {self.default_name!r}, argument 'x': expected "
                f"(batch, steps, ...) of 3 or more axes, received {tuple(x.shape)}. "
                "Hint: apply the layer directly to inputs without a time axis."
            )
