"""SpectralNormalization: a layer whose kernel is divided by its largest
singular value, estimated by power iteration (Miyato et al., 2018), as GAN
discriminators use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax

from nn.layers.base import check_positive_int
from nn.layers.rms_normalization import l2_normalized
from nn.layers.wrapper import Wrapper
from nn.registry import register
from stateless import ops, random
from stateless.errors import ShapeError

_KERNEL_NAMES = ("kernel", "embeddings")


@register()
@dataclass(frozen=True)
class SpectralNormalization(Wrapper):
    """Wraps `layer` so that it computes with `kernel / sigma`, sigma the
    kernel's largest singular value (of the kernel as a matrix whose columns
    are the last axis).

    A vector `vector_u` in the state carries the power iteration from step to
    step: training runs `power_iterations` more iterations, stores the new
    `vector_u` and `sigma`, and computes with the new sigma; inference
    divides by the stored sigma. Unlike Keras, which overwrites the kernel
    with `kernel / sigma` at each training call, the parameters keep the
    wrapped layer's own kernel, and the division happens on every call: the
    outputs are the same, and the parameters stay the layer's.

    Args:
      layer: a layer with a parameter `kernel` (Dense, Conv*) or
        `embeddings` (Embedding).
      power_iterations: iterations per training call (>= 1).

    Example:
      >>> from nn.layers import Dense
      >>> layer = SpectralNormalization(Dense(3))
      >>> v = layer.init(sl.random.key(0), jnp.ones((2, 4)))
      >>> sorted(v["state"])
      ['sigma', 'vector_u']
      >>> _, state = layer.apply(v, jnp.ones((2, 4)), training=True)
      >>> state["vector_u"].shape
      (1, 3)
    """

    power_iterations: int = 1

    def __post_init__(self):
        super().__post_init__()
        check_positive_int(self, power_iterations=self.power_iterations)

    def _kernel_name(self, params: dict[str, Any]) -> str:
        for name in _KERNEL_NAMES:
            if name in params:
                return name
        raise ShapeError(
            f"SpectralNormalization {self.default_name!r}: the wrapped "
            f"{type(self.layer).__name__} has no parameter named kernel or "
            f"embeddings (it has {sorted(params)}); wrap a Dense, a "
            "convolution or an Embedding."
        )

    def init(self, key, *inputs):
        k_layer, k_u = random.split(key)
        inner = self.layer.init(k_layer, *inputs)
        kernel = inner["params"][self._kernel_name(inner["params"])]
        u = random.truncated_normal((1, kernel.shape[-1]), stddev=0.02, seed=k_u)
        state = {"vector_u": u, "sigma": ops.ones((), "float32")}
        if inner["state"]:  # an empty dict would not survive the archive
            state["layer"] = inner["state"]
        return {"params": {"layer": inner["params"]}, "state": state}

    def _power_iteration(self, kernel: Any, u: Any) -> tuple[Any, Any]:
        """The updated `vector_u` and the estimate of sigma it gives."""
        matrix = ops.reshape(kernel, (-1, kernel.shape[-1]))
        for _ in range(self.power_iterations):
            v = l2_normalized(ops.matmul(u, ops.transpose(matrix)))
            u = l2_normalized(ops.matmul(v, matrix))
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        sigma = ops.matmul(ops.matmul(v, matrix), ops.transpose(u))[0, 0]
        return u, sigma

    def apply(self, variables, *inputs, training=False, rng=None):
        params, state = variables["params"]["layer"], variables["state"]
        name = self._kernel_name(params)
        kernel = params[name]
        u, sigma = state["vector_u"], state["sigma"]
        if training and self.trainable:
            u, sigma = self._power_iteration(kernel, u)
        normalized = {**params, name: kernel / ops.cast(sigma, kernel.dtype)}
        out, inner_state = self.layer.apply(
            {"params": normalized, "state": state.get("layer", {})}, *inputs,
            training=training, rng=rng,
        )  # fmt: skip
        new_state = {"vector_u": u, "sigma": jax.lax.stop_gradient(sigma)}
        if inner_state:
            new_state["layer"] = inner_state
        return out, new_state
