"""Muon (Jordan et al., 2024), as Keras's: momentum orthogonalized by a
Newton-Schulz iteration for matrices, AdamW for everything else.

A weight takes the Muon step when it is 2-D, is not an embedding (its path,
such as `embedding/embeddings`, holds "embedding" and `exclude_embeddings`
is set) and no `exclude_layers` pattern is found in its path; every other
weight takes Keras's AdamW step at `learning_rate * adam_lr_ratio`. The Muon
step is `lr * NS(g + momentum * m) * sqrt(max(rows, cols)) * rms_rate` with
`m = momentum * m + g` (Nesterov; `NS(m)` without), which lets it share
AdamW's rate and weight decay (Liu et al., 2025).

Example:
  >>> params = {"dense": {"kernel": jnp.ones((4, 3)), "bias": jnp.ones(3)}}
  >>> muon_labels(params, exclude_layers=(), exclude_embeddings=True)
  {'dense': {'bias': 'adam', 'kernel': 'muon'}}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from stateless.tree_paths import path_name
from train.optimizers import rules
from train.optimizers.base import Optimizer


def muon_labels(
    params: Any, exclude_layers: Sequence[str], exclude_embeddings: bool
) -> Any:
    """`"muon"` or `"adam"` for each weight of `params`, by its shape and path."""

    def label(path, leaf):
        name = path_name(path)
        adam = (
            jnp.ndim(leaf) != 2
            or (exclude_embeddings and "embedding" in name.lower())
            or any(re.search(pattern, name) for pattern in exclude_layers)
        )
        return "adam" if adam else "muon"

    return jax.tree_util.tree_map_with_path(label, params)


def orthogonalized(x: jax.Array, steps: int, a: float, b: float, c: float):
    """The quintic Newton-Schulz iteration `x <- a x + (b A + c A^2) x`,
    `A = x x^T`, from `x` over its Frobenius norm: close to `U V^T` of `x`'s
    SVD (on the wide orientation of `x`)."""
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = jnp.swapaxes(x, -1, -2)
    x = x / (jnp.linalg.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
    for _ in range(steps):
        gram = x @ jnp.swapaxes(x, -1, -2)
        x = a * x + (b * gram + c * gram @ gram) @ x
    return jnp.swapaxes(x, -1, -2) if tall else x


class MuonState(NamedTuple):
    momentum: Any


def scale_by_keras_muon(
    momentum: float, nesterov: bool, ns_steps: int, coefficients: tuple,
    rms_rate: float | None,
) -> optax.GradientTransformation:  # fmt: skip
    """Keras's Muon direction for matrices (see the module's docstring)."""

    def init(params):
        return MuonState(rules.fresh_zeros(params))

    def update(grads, state, params=None):
        del params
        moments = jax.tree.map(lambda m, g: momentum * m + g, state.momentum, grads)

        def direction(m, g):
            step = orthogonalized(g + momentum * m if nesterov else m, ns_steps,
                                  *coefficients)  # fmt: skip
            if rms_rate is None:
                return step
            return step * jnp.sqrt(float(max(step.shape[0], step.shape[1]))) * rms_rate

        return jax.tree.map(direction, moments, grads), MuonState(moments)

    return optax.GradientTransformation(init, update)


class Muon(Optimizer):
    """Muon for the matrices, AdamW for the rest (Keras's defaults, which
    decay the weights by 0.004 of the rate).

    Args:
      adam_beta_1, adam_beta_2, epsilon: the AdamW step's moments.
      adam_weight_decay: the decay of the AdamW weights (`weight_decay` is
        the Muon weights'); None for none.
      exclude_layers: regular expressions; a weight whose path matches one
        takes the AdamW step (e.g. `["output_dense"]` for the last layer).
      exclude_embeddings: whether embeddings take the AdamW step.
      muon_a, muon_b, muon_c: the Newton-Schulz coefficients.
      adam_lr_ratio: the AdamW step's rate over `learning_rate`.
      momentum: the Muon step's momentum; nesterov: whether it is Nesterov's.
      ns_steps: Newton-Schulz iterations.
      rms_rate: the step's scale per `sqrt(max(rows, cols))`; None for none.

    Example:
      >>> Muon(exclude_layers=["head"]).ns_steps
      5
    """

    hyperparameters = (
        "adam_beta_1", "adam_beta_2", "epsilon", "exclude_layers", "muon_a",
        "muon_b", "muon_c", "adam_lr_ratio", "momentum", "ns_steps", "nesterov",
        "exclude_embeddings", "adam_weight_decay", "rms_rate",
    )  # fmt: skip
    default_name = "muon"

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999,
                 adam_weight_decay=0.004, epsilon=1e-7, weight_decay=0.004,
                 exclude_layers=None, exclude_embeddings=True, muon_a=3.4445,
                 muon_b=-4.7750, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95,
                 ns_steps=5, nesterov=True, rms_rate=0.2, **kwargs):  # fmt: skip
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        patterns = list(exclude_layers or [])
        if not all(isinstance(p, str) for p in patterns):
            raise ValueError(
                f"Muon: exclude_layers must be a list of strings (regular "
                f"expressions), received {exclude_layers!r:.80}."
            )
        self.adam_beta_1, self.adam_beta_2 = adam_beta_1, adam_beta_2
        self.adam_weight_decay, self.epsilon = adam_weight_decay, epsilon
        self.exclude_layers, self.exclude_embeddings = patterns, exclude_embeddings
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum = adam_lr_ratio, momentum
        self.ns_steps, self.nesterov, self.rms_rate = ns_steps, nesterov, rms_rate

    def _labels(self, params: Any) -> Any:
        return muon_labels(params, self.exclude_layers, self.exclude_embeddings)

    def _core(self, learning_rate: Any) -> optax.GradientTransformation:
        adam = rules.scale_by_keras_adam(self.adam_beta_1, self.adam_beta_2,
                                         self.epsilon)  # fmt: skip
        muon = scale_by_keras_muon(
            self.momentum, self.nesterov, self.ns_steps,
            (self.muon_a, self.muon_b, self.muon_c), self.rms_rate,
        )  # fmt: skip
        adam_rate = learning_rate * self.adam_lr_ratio
        return optax.multi_transform(
            {"adam": optax.chain(adam, optax.scale(-adam_rate)),
             "muon": optax.chain(muon, optax.scale(-learning_rate))},
            self._labels,
        )  # fmt: skip

    def _decay(self, learning_rate: Any) -> optax.GradientTransformation | None:
        """`adam_weight_decay` on the AdamW weights, `weight_decay` on the
        Muon ones, each `w -= lr * decay * w` at the full rate (as Keras)."""

        def decay(rate):
            if rate is None:
                return optax.identity()
            return optax.add_decayed_weights(-learning_rate * rate)

        return optax.multi_transform(
            {"adam": decay(self.adam_weight_decay), "muon": decay(self.weight_decay)},
            self._labels,
        )
