"""Keras's saving methods on `nn.Model`: the archive, the weights file, and the
compile config.

`save` writes the whole model in one archive (`nn.archive`), `save_weights`
only the variables (one `.npz`), both atomically. With `overwrite=False` an
existing file is an error (Keras asks on the terminal instead; a library
should not). Keras's own suffixes are refused rather than written with our
format under them, so no file claims to be what it is not.
"""

from __future__ import annotations

import os
from typing import Any

import jax

from nn.models import weights
from stateless.errors import VariablesError
from train import losses as losses_lib
from train import optimizers as optimizers_lib


def _writable(path: Any, overwrite: bool, what: str) -> str:
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(
            f"{what}: {path} exists and overwrite=False. Hint: pass "
            "overwrite=True (the default) to replace it."
        )
    return path


def _spec(obj: Any) -> dict[str, Any]:
    return {"class_name": type(obj).__name__, "config": obj.get_config()}


def _is_spec(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"class_name", "config"}


def loss_objects(loss: Any) -> Any:
    """A saved `compile` loss (a name, a spec, or a list or dict of them per
    output) with every spec made a loss object again, so that a reloaded
    model's `model.loss` equals the one it was compiled with.

    Example:
      >>> loss_objects({"class_name": "Huber", "config": {"delta": 2.0}}).delta
      2.0
    """
    return jax.tree.map(
        lambda v: losses_lib.get(v) if _is_spec(v) else v, loss, is_leaf=_is_spec
    )


def _is_object(value: Any) -> bool:
    return not isinstance(value, str | int | float | list | tuple | dict)


def _as_data(value: Any) -> Any:
    """A `compile` argument as JSON-ready data: names and numbers as they
    are, a loss or metric object as its class name and config."""
    if not _is_object(value) or value is None:
        return value
    if not hasattr(value, "get_config"):
        raise ValueError(
            f"save: the compiled loss or metric {value!r:.80} has no "
            "get_config(), so the compiled model cannot be saved. Hint: use a "
            "train.losses or train.metrics class, or a name."
        )
    return _spec(value)


class SavingMixin:
    """`save`, `save_weights`, `load_weights`, `get_compile_config` and
    `compile_from_config`."""

    def save(self, filepath: Any, overwrite: bool = True) -> None:
        """Saves architecture, weights and optimizer state in one archive (see
        `nn.archive.save_model`); `nn.load_model(filepath)` brings it back.

        Raises:
          FileExistsError: `filepath` exists and `overwrite` is False.
        """
        from nn.archive import save_model  # nn.archive imports nn's models

        save_model(self, _writable(filepath, overwrite, "save"))

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Writes the held variables to one `.npz` file, atomically.

        Raises:
          ValueError: the model holds no variables, or `filepath` ends in
            `.h5` (Keras's weights format, which this file would not be).
          FileExistsError: `filepath` exists and `overwrite` is False.
        """
        if self.variables is None:
            raise ValueError("save_weights: the model holds no variables yet.")
        if os.fspath(filepath).endswith(".h5"):
            raise ValueError(
                f"save_weights: {filepath} names Keras's HDF5 weights format, "
                "which stateless reads (load_weights) but does not write; it "
                "writes NumPy's .npz. Hint: save to a path ending in '.weights.npz'."
            )
        weights.save_weights(
            self.variables, _writable(filepath, overwrite, "save_weights")
        )

    def load_weights(self, filepath: Any, skip_mismatch: bool = False) -> list[str]:
        """Reads variables saved by `save_weights` into the model, by name
        (build the model first).

        Args:
          filepath: a file written by `save_weights`, or Keras's weights: a
            `.weights.h5` file or a `.keras` archive (read by layer, as Keras
            lays them out; see `nn.keras_files`).
          skip_mismatch: load what fits and skip the rest (missing, extra or
            mis-shaped paths; for Keras's files, whole layers) instead of raising.

        Returns:
          What was skipped, one line per path (empty when everything fit).

        Raises:
          VariablesError: something does not fit and `skip_mismatch` is False.
          ArchiveError: a Keras file that does not fit, or is corrupt.

        Example:
          >>> import os, tempfile
          >>> model = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
          >>> _ = model.build((None, 3), seed=0)
          >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.npz")
          >>> model.save_weights(path); model.load_weights(path)
          []
        """
        if self.variables is None:
            raise ValueError(
                "load_weights: build the model first (model.build(shape))."
            )
        if os.fspath(filepath).endswith((".h5", ".keras")):
            from nn.keras_files.archive import load_keras_weights

            return load_keras_weights(self, filepath, skip_mismatch)
        try:
            loaded, problems = weights.load_weights(
                filepath, like=self.variables, skip_mismatch=skip_mismatch
            )
        except VariablesError as error:
            raise VariablesError(
                f"{type(self).__name__}.load_weights: {error}\nHint: "
                "load_weights(path, skip_mismatch=True) loads what fits."
            ) from None
        self.variables = weights.merge_fitting(self.variables, loaded)
        return problems

    def get_compile_config(self) -> dict[str, Any] | None:
        """What `compile` was given, as JSON-ready data (None if not compiled).

        Loss and metric objects are saved as their class name and config.

        Raises:
          ValueError: the loss or a metric is a plain function (no config).

        Example:
          >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
          >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
          >>> config = model.get_compile_config()
          >>> config["loss"], config["metrics"], config["optimizer"]["class_name"]
          ('mse', ['mae'], 'SGD')
        """
        trainer = self.trainer
        if trainer is None:
            return None
        args = dict(getattr(self, "_compile_args", {}))
        for what in ("loss", "metrics", "weighted_metrics"):
            args[what] = jax.tree.map(_as_data, args.get(what), is_leaf=_is_object)
        return {
            "optimizer": optimizers_lib.serialize(trainer.optimizer),
            "steps_per_execution": trainer.steps_per_execution,
            **args,
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compiles the model from `get_compile_config()`'s output.

        Example:
          >>> model = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
          >>> model.compile(optimizer="adam", loss="mse")
          >>> again = nn.Sequential([layers.Input((4,)), layers.Dense(2)])
          >>> again.compile_from_config(model.get_compile_config())
          >>> again.optimizer
          <Adam learning_rate=0.001>
        """
        config = dict(config)
        optimizer = optimizers_lib.deserialize(config.pop("optimizer"))
        config["loss"] = loss_objects(config.get("loss"))
        self.compile(optimizer=optimizer, **config)
