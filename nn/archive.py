"""Whole models in one zip file: architecture, weights, optimizer state.

An archive holds up to four members:

- `config.json`: `{"model": nn.serialize(model), "compile": {...} or null}`;
- `metadata.json`: framework version, backend, UTC date, dtype policy, the
  model's input specs and a sha256 of every other member;
- `weights.npz`: the variables under flat `"params/..."`/`"state/..."` keys;
- `optimizer.npz` (compiled and trained models): the optimizer state's leaves
  in tree order (`arr_0`, `arr_1`, ...), the `step` and the run's `key`.

Saving writes a temporary file in the target's folder, fsyncs it and renames
it into place, so a crash never leaves a half-written file where a good one
was. The `.npz` members are written with fixed zip timestamps: the same
variables give the same bytes. Loading is safe by construction: configs are
data, only registered class names are constructed, `np.load` never unpickles,
and every corruption (bad zip, unknown member, oversized member, invalid
JSON, bad checksum, missing or mis-shaped weights) raises `ArchiveError`.

The checksums cover `config.json`, `weights.npz` and `optimizer.npz` and are
checked before anything else is read from them. `metadata.json` cannot hold
its own checksum (writing it would change it); it holds no weights and names
no classes, and every field of it that loading uses is validated as read.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import stateless
from nn import registry
from nn.models.weights import npz_bytes, write_atomically, zip_bytes
from stateless import mixed_precision, random
from stateless.added_losses import shapes_of
from stateless.scope import flatten_paths, unflatten_paths
from train import optimizers
from train.steps import TrainState, init_metrics

MEMBERS = ("config.json", "metadata.json", "weights.npz", "optimizer.npz")
MAX_MEMBER_BYTES = 2 * 1024**3


class ArchiveError(ValueError):
    """A model archive is corrupt, tampered with, or names what it may not.

    Example of code that raises it::

        nn.archive.load_model("not_a_model.zip")
        # ArchiveError: not_a_model.zip is not a readable zip archive ...
    """


# -- saving ----------------------------------------------------------------------


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Writes `model` (config, weights, compile config, optimizer state) to `path`.

    Raises:
      ValueError: the model holds no variables, or something in it is not
        registered or not saveable (the message says what).

    Example:
      >>> import os, tempfile
      >>> model = nn.Sequential([layers.Input((3,)), layers.Dense(2)])
      >>> _ = model.build((None, 3), seed=0)
      >>> path = os.path.join(tempfile.mkdtemp(), "model.zip")
      >>> save_model(model, path)
      >>> again = load_model(path)
      >>> bool((again(jnp.ones((1, 3))) == model(jnp.ones((1, 3)))).all())
      True
    """
    path = os.fspath(path)
    if getattr(model, "variables", None) is None:
        raise ValueError(
            "save_model: the model holds no variables yet. Hint: model.build(shape) "
            "or model.fit(...) first."
        )
    config = {"model": registry.serialize(model), "compile": model.get_compile_config()}
    try:
        config_bytes = json.dumps(config).encode()
    except (TypeError, ValueError) as error:
        raise ValueError(f"save_model: the config is not JSON data: {error}") from None
    flat = flatten_paths(model.variables)
    members = {
        "config.json": config_bytes,
        "weights.npz": npz_bytes({k: np.asarray(v) for k, v in flat.items()}),
    }
    ts = model.trainer.train_state if config["compile"] is not None else None
    if ts is not None:
        arrays = {
            f"arr_{i}": np.asarray(leaf)
            for i, leaf in enumerate(jax.tree.leaves(ts.opt_state))
        }
        arrays.update(step=np.asarray(ts.step), key=np.asarray(ts.key))
        members["optimizer.npz"] = npz_bytes(arrays)
    specs = getattr(model, "input_specs", None)
    metadata = {
        "framework": "stateless",
        "version": stateless.__version__,
        "backend": stateless.backend(),
        "date_saved": datetime.datetime.now(datetime.UTC).isoformat(),
        "dtype_policy": mixed_precision.global_policy().name,
        "input_specs": None
        if specs is None
        else [[list(s.shape), str(s.dtype)] for s in specs],
        "checksums": {
            name: hashlib.sha256(data).hexdigest() for name, data in members.items()
        },
    }
    members["metadata.json"] = json.dumps(metadata).encode()
    write_atomically(path, zip_bytes(members, compress=True))


# -- loading ---------------------------------------------------------------------


def _read_members(path: str) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as error:
        raise ArchiveError(f"{path} is not a readable zip archive: {error}") from None
    members: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist():
            name = info.filename
            if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
                raise ArchiveError(f"{path}: refusing absolute member path {name!r}.")
            if ".." in name.replace("\\", "/").split("/"):
                raise ArchiveError(f"{path}: refusing member path {name!r} with '..'.")
            if name not in MEMBERS or name in members:
                raise ArchiveError(
                    f"{path}: unexpected or repeated member {name!r:.100}; an "
                    f"archive holds only {', '.join(MEMBERS)}."
                )
            if info.file_size > MAX_MEMBER_BYTES:
                raise ArchiveError(
                    f"{path}: member {name} declares {info.file_size} bytes, over "
                    f"the {MAX_MEMBER_BYTES}-byte limit."
                )
            try:
                with archive.open(info) as file:
                    data = file.read(MAX_MEMBER_BYTES + 1)
            except Exception as error:
                raise ArchiveError(f"{path}: cannot read {name}: {error}") from None
            if len(data) > MAX_MEMBER_BYTES or len(data) != info.file_size:
                raise ArchiveError(f"{path}: member {name} has an inconsistent size.")
            members[name] = data
    for name in MEMBERS[:3]:
        if name not in members:
            raise ArchiveError(f"{path}: the member {name} is missing.")
    return members


def _check_sums(path: str, members: dict[str, bytes], metadata: dict[str, Any]) -> None:
    """Every member but metadata.json matches its sha256 in metadata.json."""
    checksums = metadata.get("checksums")
    if not isinstance(checksums, dict):
        raise ArchiveError("metadata.json: missing checksums.")
    covered = sorted(set(members) - {"metadata.json"})
    if sorted(checksums) != covered:
        raise ArchiveError(
            f"{path}: metadata.json has checksums for {sorted(checksums)!r:.200}, "
            f"but the archive holds {covered}."
        )
    for name in covered:
        if checksums[name] != hashlib.sha256(members[name]).hexdigest():
            raise ArchiveError(f"{path}: {name} fails its sha256 checksum.")


def _json(members: dict[str, bytes], name: str) -> dict[str, Any]:
    try:
        value = json.loads(members[name].decode("utf-8"))
    except Exception as error:
        raise ArchiveError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ArchiveError(f"{name}: expected a JSON object, found {value!r:.80}.")
    return value


def _npz(members: dict[str, bytes], name: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(members[name]), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception as error:
        raise ArchiveError(f"{name} is not a readable .npz: {error}") from None


@contextlib.contextmanager
def _guard(what: str) -> Iterator[None]:
    """Turns any error but `ArchiveError` into one that says `what` failed."""
    try:
        yield
    except ArchiveError:
        raise
    except Exception as error:
        raise ArchiveError(f"{what}: {error}") from None


def _check_names(tree: Any, custom_objects: dict[str, Any] | None) -> None:
    """Safe mode: every `{"class_name", "config"}` entry names a registered class."""
    if isinstance(tree, list):
        for item in tree:
            _check_names(item, custom_objects)
    elif isinstance(tree, dict):
        if set(tree) == {"class_name", "config"}:
            try:
                registry.lookup(tree["class_name"], custom_objects)
            except Exception:
                raise ArchiveError(
                    f"safe_mode: config.json names {tree['class_name']!r:.80}, "
                    "which is not a registered class; refusing to load. Hint: "
                    "register it with @nn.register() or pass custom_objects."
                ) from None
        for item in tree.values():
            _check_names(item, custom_objects)


def _expected_variables(model: Any, specs: Any) -> Any:
    """The variables' abstract layout from `init`, or None when unknown."""
    try:
        structs = tuple(jax.ShapeDtypeStruct(tuple(s), str(d)) for s, d in specs or ())
        expected = shapes_of(model.init, random.key(0), *structs)
    except Exception:
        return None, None
    return expected, structs or None


def _fill(tree: dict[str, Any], flat: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {
        key: _fill(value, flat, f"{prefix}{key}/")
        if isinstance(value, dict)
        else jnp.asarray(flat[prefix + key])
        for key, value in tree.items()
    }


def _variables(model: Any, flat: dict[str, np.ndarray], specs: Any) -> Any:
    from nn.models.weights import check_same_layout

    if any(not k.startswith(("params/", "state/")) for k in flat):
        raise ArchiveError("weights.npz: keys must start with params/ or state/.")
    expected, structs = _expected_variables(model, specs)
    if expected is None:  # layout unknown: trust the archive's names and shapes
        nested = _nest(flat)
        expected = {
            "params": nested.get("params", {}),
            "state": nested.get("state", {}),
        }
    else:
        with _guard("weights.npz"):
            check_same_layout("weights.npz", expected, _nest(flat))
        model.input_specs = structs
    return _fill(expected, flat, "")


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    with _guard("weights.npz"):
        return unflatten_paths(flat)


def _restore_train_state(model: Any, arrays: dict[str, np.ndarray]) -> None:
    trainer, variables = model.trainer, model.variables
    fresh = jax.eval_shape(trainer.tx.init, variables["params"])
    leaves, treedef = jax.tree.flatten(fresh)
    names = {f"arr_{i}" for i in range(len(leaves))} | {"step", "key"}
    if set(arrays) != names:
        raise ArchiveError(
            f"optimizer.npz: expected {len(leaves)} state arrays plus step and key, "
            f"found {sorted(arrays)[:20]} (was the optimizer changed?)."
        )
    key = random.key(0)
    wanted = [*leaves, jax.ShapeDtypeStruct((), jnp.int32), key]
    given = [arrays[f"arr_{i}"] for i in range(len(leaves))]
    given += [arrays["step"], arrays["key"]]
    for i, (want, got) in enumerate(zip(wanted, given, strict=True)):
        if tuple(want.shape) != got.shape or np.dtype(want.dtype) != got.dtype:
            raise ArchiveError(
                f"optimizer.npz: array {i} is {got.dtype}{list(got.shape)}, expected "
                f"{np.dtype(want.dtype)}{list(want.shape)}."
            )
    opt_state = jax.tree.unflatten(treedef, [jnp.asarray(a) for a in given[:-2]])
    trainer.train_state = TrainState(
        step=jnp.asarray(given[-2]), params=variables["params"],
        state=variables["state"], opt_state=opt_state,
        metrics=init_metrics(trainer.metrics), key=jnp.asarray(given[-1]),
    )  # fmt: skip


def load_model(
    path: str | os.PathLike,
    *,
    safe_mode: bool = True,
    custom_objects: dict[str, Any] | None = None,
) -> Any:
    """Rebuilds, fills and (if it was compiled) recompiles a saved model.

    Args:
      path: a file written by `save_model`.
      safe_mode: check, before constructing anything, that every class the
        config names is registered (or in `custom_objects`). Construction only
        ever goes through the registry, so unknown names fail either way.
      custom_objects: extra `{name: class}` entries for the config's names.

    Raises:
      ArchiveError: the archive is corrupt, tampered with or inconsistent.
      OSError: `path` cannot be opened (e.g. it does not exist).

    Example:
      >>> import os, tempfile
      >>> model = nn.Sequential([layers.Input((2,)), layers.Dense(1)])
      >>> model.compile(optimizer="sgd", loss="mse")
      >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, seed=0)
      >>> path = os.path.join(tempfile.mkdtemp(), "model.zip")
      >>> save_model(model, path)
      >>> int(load_model(path).trainer.train_state.step)
      1
    """
    path = os.fspath(path)
    members = _read_members(path)
    metadata = _json(members, "metadata.json")
    _check_sums(path, members, metadata)
    config = _json(members, "config.json")
    if set(config) != {"model", "compile"}:
        raise ArchiveError("config.json: expected the keys 'model' and 'compile'.")
    if safe_mode:
        _check_names(config["model"], custom_objects)
    with _guard("config.json: cannot rebuild the model"):
        model = registry.deserialize(config["model"], custom_objects)
    if not hasattr(model, "init") or not hasattr(model, "compile"):
        raise ArchiveError(f"config.json: {type(model).__name__} is not a model.")
    flat = _npz(members, "weights.npz")
    with _guard("weights.npz: does not fit the model"):
        model.variables = _variables(model, flat, metadata.get("input_specs"))
    compiled = config["compile"]
    if compiled is not None:
        if not isinstance(compiled, dict):
            raise ArchiveError("config.json: 'compile' must be an object or null.")
        with _guard("optimizer"):
            optimizer = optimizers.deserialize(compiled.get("optimizer"))
        with _guard("config.json: cannot compile"):
            model.compile(
                optimizer=optimizer, loss=compiled["loss"],
                metrics=compiled.get("metrics"),
                loss_weights=compiled.get("loss_weights"),
                weighted_metrics=compiled.get("weighted_metrics"),
                steps_per_execution=compiled.get("steps_per_execution", 1),
            )  # fmt: skip
    if "optimizer.npz" in members:
        if compiled is None:
            raise ArchiveError(f"{path}: optimizer.npz without a compile config.")
        with _guard("optimizer.npz: cannot restore"):
            _restore_train_state(model, _npz(members, "optimizer.npz"))
    return model
