"""Reading Keras 3's `.keras` archives and `.weights.h5` files.

A `.keras` file is a zip of `metadata.json`, `config.json` and
`model.weights.h5` (and an `assets/` folder, which no layer here uses).
`load_keras_model` checks every member's name (no absolute path, no `..`)
and declared size before reading it, builds the model from the config
through the registry only (`nn.keras_files.config`), and reads the
weights within a budget set by the variables that model holds, so a file
that declares more costs no memory. The optimizer's variables in the file
are not read: a compiled model comes back with a fresh optimizer.
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import jax
import numpy as np

from nn import archive, registry
from nn.keras_files import config as keras_config
from nn.keras_files.h5_weights import H5Tree, KerasFileError
from nn.keras_files.layout import in_order_of, read_into
from stateless import random

WEIGHTS = "model.weights.h5"
MEMBERS = ("metadata.json", "config.json", WEIGHTS)
# Room for the optimizer's variables (Adam's two moments, an EMA copy) and
# HDF5's own bookkeeping, on top of the model's variables.
VARIABLE_COPIES = 4
H5_OVERHEAD = 1024**2
H5_PER_ARRAY = 16 * 1024
BUDGET_REASON = " (set by the variables the model holds)"


def is_keras_archive(path: str | os.PathLike) -> bool:
    """Whether `path` is a zip holding Keras's `model.weights.h5`."""
    try:
        with zipfile.ZipFile(path) as file:
            return WEIGHTS in file.namelist()
    except Exception:  # not a zip, or a corrupt one: our archive's reader says why
        return False


def _members(file: zipfile.ZipFile, path: str) -> dict[str, zipfile.ZipInfo]:
    found = {}
    for info in file.infolist():
        name = info.filename
        archive.check_member_name(path, name)
        if name.startswith("assets/"):
            if info.is_dir():
                continue
            raise KerasFileError(
                f"{path}: holds the asset {name!r:.100}; no layer here reads "
                "assets (e.g. TextVectorization's vocabulary file)."
            )
        if name not in MEMBERS or name in found:
            raise KerasFileError(
                f"{path}: unexpected or repeated member {name!r:.100}; a Keras "
                f"archive holds {', '.join(MEMBERS)}."
            )
        found[name] = info
    for name in MEMBERS[1:]:
        if name not in found:
            raise KerasFileError(f"{path}: the member {name} is missing.")
    return found


def _input_specs(model: Any, spec: dict[str, Any], path: str) -> tuple[Any, ...]:
    if getattr(model, "input_specs", None) is not None:
        return model.input_specs
    shape = keras_config.build_shape(spec)
    if not shape:
        raise KerasFileError(
            f"{path}: the Keras model was saved unbuilt (no input shape); call "
            "it on data in Keras before saving."
        )
    return (
        jax.ShapeDtypeStruct(tuple(1 if d is None else d for d in shape), "float32"),
    )


def _budget(variables: Any) -> int:
    leaves = jax.tree.leaves(variables)
    data = sum(int(np.prod(np.shape(x))) * np.dtype(x.dtype).itemsize for x in leaves)
    return VARIABLE_COPIES * data + H5_OVERHEAD + H5_PER_ARRAY * len(leaves)


def read_h5_weights(
    data: bytes | str, source: str, model: Any, variables: Any,
    skip_mismatch: bool = False,
) -> tuple[Any, list[str]]:  # fmt: skip
    """`variables` (the model's, in `init`'s creation order) filled from
    Keras's HDF5 weights (`data`: the file's bytes, or its path), and the
    layers skipped (see `layout.read_into`)."""
    import h5py

    try:
        handle = h5py.File(io.BytesIO(data) if isinstance(data, bytes) else data, "r")
    except OSError as error:
        raise KerasFileError(f"{source}: not a readable HDF5 file: {error}") from None
    with handle:
        return read_into(variables, H5Tree(handle, source), model, skip_mismatch)


def load_keras_weights(model: Any, filepath: Any, skip_mismatch: bool) -> list[str]:
    """Reads Keras's `.weights.h5` file, or the weights of a `.keras`
    archive, into the built `model` (see `Model.load_weights`)."""
    path = os.fspath(filepath)
    specs = model.input_specs
    if specs is None or model.variables is None:
        raise ValueError("load_weights: build the model first (model.build(shape)).")
    fresh = model.init(random.key(0), *specs)  # eagerly: creation order
    ordered = in_order_of(model.variables, fresh)
    data: bytes | str = path
    if is_keras_archive(path):
        with archive.open_zip(path) as file:
            members = _members(file, path)
            data = archive.read_member(
                file, members[WEIGHTS], path, _budget(fresh), BUDGET_REASON
            )
        path = f"{path}/{WEIGHTS}"
    variables, skipped = read_h5_weights(data, path, model, ordered, skip_mismatch)
    model.variables = variables
    return skipped


def load_keras_model(
    filepath: str | os.PathLike,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,  # noqa: A002  (Keras's keyword)
) -> Any:
    """A model read from a Keras 3 `.keras` archive (see the module's notes).

    Raises:
      KerasFileError: the file is corrupt or hostile, or names a layer or
        option this project has no counterpart for (the message says which).
    """
    path = os.fspath(filepath)
    with archive.open_zip(path) as file:
        members = _members(file, path)
        raw = archive.read_member(
            file, members["config.json"], path, archive.MAX_JSON_BYTES
        )
        spec = archive.parse_json(raw, "config.json")
        ours = keras_config.model_spec(spec, custom_objects)
        try:
            model = registry.deserialize(ours, custom_objects)
        except KerasFileError:
            raise
        except Exception as error:
            raise KerasFileError(f"{path}: cannot rebuild the model: {error}") from None
        specs = _input_specs(model, spec, path)
        variables = model.init(random.key(0), *specs)  # eagerly: creation order
        data = archive.read_member(
            file, members[WEIGHTS], path, _budget(variables), BUDGET_REASON
        )
    model.variables, _ = read_h5_weights(data, f"{path}/{WEIGHTS}", model, variables)
    model.input_specs = specs
    if compile and spec.get("compile_config"):
        _compile(model, spec["compile_config"], path)
    return model


def _compile(model: Any, config: dict[str, Any], path: str) -> None:
    """Recompiles as Keras saved it: optimizer, loss, metrics (names or
    registered classes)."""
    from train import optimizers

    where = f"{path}: compile_config"
    data = keras_config.plain(config, where)
    try:
        optimizer = data.get("optimizer")
        if isinstance(optimizer, dict):
            optimizer = optimizers.deserialize(
                {
                    "class_name": optimizer["class_name"],
                    "config": _optimizer_options(optimizer["config"]),
                }
            )
        model.compile(
            optimizer=optimizer, loss=data.get("loss"), metrics=data.get("metrics"),
            loss_weights=data.get("loss_weights"),
            weighted_metrics=data.get("weighted_metrics"),
        )  # fmt: skip
    except Exception as error:
        raise KerasFileError(
            f"{where}: cannot compile as Keras did: {error}. Hint: pass "
            "compile=False and compile the model yourself."
        ) from None


def _optimizer_options(config: dict[str, Any]) -> dict[str, Any]:
    """Keras's optimizer config without its bookkeeping and neutral options."""
    skipped = {"name", "ema_momentum", "ema_overwrite_frequency"}
    return {
        k: v
        for k, v in config.items()
        if k not in skipped and v is not None and v is not False
    }
