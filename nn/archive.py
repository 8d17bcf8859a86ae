"""Whole models in one zip file: architecture, weights, optimizer state.

An archive holds up to four members:

- `config.json`: `{"model": nn.serialize(model), "compile": {...} or null}`;
- `metadata.json`: framework version, backend, UTC date, dtype policy, the
  model's input specs, whether the optimizer state was saved, and a sha256
  of every other member;
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
import json
import os
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import stateless
from nn import registry
from nn.models.atomic_files import write_atomically
from nn.models.npz_reader import array_allowance, read_npz, specs_of
from nn.models.saving import loss_objects
from nn.models.weights import npz_bytes, zip_bytes
from stateless import mixed_precision, random
from stateless.added_losses import shapes_of
from stateless.scope import flatten_paths, unflatten_paths
from train import optimizers
from train.steps import TrainState, init_metrics

MEMBERS = ("config.json", "metadata.json", "weights.npz", "optimizer.npz")
MAX_MEMBER_BYTES = 2 * 1024**3
MAX_JSON_BYTES = 16 * 1024**2


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
    if path.endswith(".keras"):
        raise ValueError(
            f"save_model: {path} names Keras's .keras format, which stateless "
            "reads (nn.load_model) but does not write. Hint: save to a path "
            "ending in '.stateless'; nn.load_model reads both."
        )
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
        "optimizer_state": "optimizer.npz" in members,
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


class _Members:
    """An archive's members, checked by name and declared size when opened,
    each read (and checked against its sha256) only when asked for."""

    def __init__(self, path: str):
        self.path = path
        self.zip = open_zip(path)
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            self._admit(info)
        for name in MEMBERS[:3]:
            if name not in self.infos:
                raise ArchiveError(f"{path}: the member {name} is missing.")
        self.checksums: dict[str, str] = {}

    def _admit(self, info: zipfile.ZipInfo) -> None:
        path, name = self.path, info.filename
        check_member_name(path, name)
        if name not in MEMBERS or name in self.infos:
            raise ArchiveError(
                f"{path}: unexpected or repeated member {name!r:.100}; an "
                f"archive holds only {', '.join(MEMBERS)}."
            )
        limit = MAX_JSON_BYTES if name.endswith(".json") else MAX_MEMBER_BYTES
        if info.file_size > min(limit, MAX_MEMBER_BYTES):
            raise ArchiveError(
                f"{path}: member {name} declares {info.file_size} bytes, over "
                f"the {min(limit, MAX_MEMBER_BYTES)}-byte limit."
            )
        self.infos[name] = info

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def __enter__(self) -> _Members:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.zip.close()

    def expect_checksums(self, metadata: dict[str, Any]) -> None:
        """Takes the sha256 of every member but metadata.json from `metadata`."""
        checksums = metadata.get("checksums")
        if not isinstance(checksums, dict):
            raise ArchiveError("metadata.json: missing checksums.")
        covered = sorted(set(self.infos) - {"metadata.json"})
        if sorted(checksums) != covered:
            raise ArchiveError(
                f"{self.path}: metadata.json has checksums for "
                f"{sorted(checksums)!r:.200}, but the archive holds {covered}."
            )
        self.checksums = checksums

    def read(self, name: str, limit: int, why: str = "") -> bytes:
        """The member's bytes, refused unread when it declares over `limit`."""
        data = read_member(self.zip, self.infos[name], self.path, limit, why)
        if name != "metadata.json" and (
            self.checksums.get(name) != hashlib.sha256(data).hexdigest()
        ):
            raise ArchiveError(f"{self.path}: {name} fails its sha256 checksum.")
        return data


def open_zip(path: str) -> zipfile.ZipFile:
    """The zip at `path`; anything unreadable in it raises `ArchiveError`
    (a missing file or folder, or no permission, stays an `OSError`)."""
    try:
        return zipfile.ZipFile(path)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as error:
        raise ArchiveError(f"{path} is not a readable zip archive: {error}") from None


def read_member(
    file: zipfile.ZipFile, info: zipfile.ZipInfo, path: str, limit: int, why: str = ""
) -> bytes:
    """A zip member's bytes, refused unread when it declares over `limit`
    (`why` says what set the limit), and refused when it holds another size
    than it declares."""
    name = info.filename
    if info.file_size > limit:
        raise ArchiveError(
            f"{path}: member {name} declares {info.file_size} bytes, over "
            f"the {limit}-byte limit{why}."
        )
    try:
        with file.open(info) as member:
            data = member.read(limit + 1)
    except Exception as error:
        raise ArchiveError(f"{path}: cannot read {name}: {error}") from None
    if len(data) != info.file_size:
        raise ArchiveError(f"{path}: member {name} has an inconsistent size.")
    return data


def check_member_name(path: str, name: str) -> None:
    """Refuses a zip member's name that points outside the archive."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"{path}: refusing absolute member path {name!r}.")
    if ".." in name.replace("\\", "/").split("/"):
        raise ArchiveError(f"{path}: refusing member path {name!r} with '..'.")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"the non-finite number {name} is not a valid value")


def parse_json(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except Exception as error:
        raise ArchiveError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ArchiveError(f"{name}: expected a JSON object, found {value!r:.80}.")
    return value


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


def _limit(specs: dict[str, tuple[tuple[int, ...], Any]]) -> int:
    """The most bytes an `.npz` of these arrays takes: data and headers."""
    data = sum(int(np.prod(s, dtype=np.int64)) * np.dtype(d).itemsize
               for s, d in specs.values())  # fmt: skip
    return data + sum(array_allowance(k) for k in specs) + 1024


def _weights(members: _Members, model: Any, specs: Any) -> Any:
    """The variables, read within the size of the ones the model expects."""
    expected, structs = _expected_variables(model, specs)
    if expected is None:  # layout unknown: the arrays may not outgrow the member
        data = members.read("weights.npz", MAX_MEMBER_BYTES)
        flat, _ = read_npz(data, "weights.npz", budget=len(data), error=ArchiveError)
        if any(not k.startswith(("params/", "state/")) for k in flat):
            raise ArchiveError("weights.npz: keys must start with params/ or state/.")
        nested = _nest(flat)
        expected = {
            "params": nested.get("params", {}),
            "state": nested.get("state", {}),
        }
        return _fill(expected, flat, "")
    wanted = specs_of(flatten_paths(expected))
    why = " (the size of the variables the model expects)"
    data = members.read("weights.npz", _limit(wanted), why)
    flat, _ = read_npz(data, "weights.npz", wanted, error=ArchiveError)
    model.input_specs = structs
    return _fill(expected, flat, "")


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    with _guard("weights.npz"):
        return unflatten_paths(flat)


def _restore_train_state(model: Any, members: _Members) -> None:
    """The optimizer state, step and key, read within their expected size."""
    trainer, variables = model.trainer, model.variables
    fresh = jax.eval_shape(trainer.tx.init, variables["params"])
    leaves, treedef = jax.tree.flatten(fresh)
    wanted = {f"arr_{i}": leaf for i, leaf in enumerate(leaves)}
    wanted.update(step=jax.ShapeDtypeStruct((), jnp.int32), key=random.key(0))
    specs = specs_of(wanted)
    why = " (the size of the optimizer state the model expects)"
    data = members.read("optimizer.npz", _limit(specs), why)
    arrays, _ = read_npz(data, "optimizer.npz", specs, error=ArchiveError)
    opt_state = jax.tree.unflatten(
        treedef, [jnp.asarray(arrays[f"arr_{i}"]) for i in range(len(leaves))]
    )
    trainer.train_state = TrainState(
        step=jnp.asarray(arrays["step"]), params=variables["params"],
        state=variables["state"], opt_state=opt_state,
        metrics=init_metrics(trainer.metrics), key=jnp.asarray(arrays["key"]),
    )  # fmt: skip


def _warn_if_state_lost(path: str, metadata: dict[str, Any]) -> None:
    """Warns when a compiled model comes without the optimizer state that its
    metadata says was saved (or does not say was absent)."""
    saved = metadata.get("optimizer_state", True)
    if not isinstance(saved, bool):
        raise ArchiveError("metadata.json: 'optimizer_state' must be true or false.")
    if saved:
        warnings.warn(
            f"{path}: the model was saved compiled, but the archive holds no "
            "optimizer state (optimizer.npz); it loads with a fresh optimizer, so "
            "fit does not continue where it stopped.",
            stacklevel=3,
        )


def load_model(
    filepath: str | os.PathLike,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,  # noqa: A002  (Keras's keyword)
    safe_mode: bool = True,
) -> Any:
    """Rebuilds, fills and (if it was compiled) recompiles a saved model.

    Args:
      filepath: a file written by `save_model`.
      custom_objects: extra `{name: class}` entries for the config's names
        (so do `nn.saving.custom_object_scope` and `get_custom_objects`).
      compile: recompile the model as it was saved, with its optimizer state;
        False leaves it uncompiled (its weights are loaded either way).
      safe_mode: check, before constructing anything, that every class the
        config names is registered (or in `custom_objects`). Construction only
        ever goes through the registry, so unknown names fail either way.

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
    from nn.keras_files import archive as keras_archive  # it imports this module

    if keras_archive.is_keras_archive(filepath):
        return keras_archive.load_keras_model(filepath, custom_objects, compile)
    with _Members(os.fspath(filepath)) as members:
        return _load(members, safe_mode, custom_objects, compile)


def _load(
    members: _Members, safe_mode: bool, custom_objects: Any, compile: bool
) -> Any:
    metadata = parse_json(
        members.read("metadata.json", MAX_JSON_BYTES), "metadata.json"
    )
    members.expect_checksums(metadata)
    config = parse_json(members.read("config.json", MAX_JSON_BYTES), "config.json")
    if set(config) != {"model", "compile"}:
        raise ArchiveError("config.json: expected the keys 'model' and 'compile'.")
    if safe_mode:
        _check_names(config["model"], custom_objects)
    with _guard("config.json: cannot rebuild the model"):
        model = registry.deserialize(config["model"], custom_objects)
    if not hasattr(model, "init") or not hasattr(model, "compile"):
        raise ArchiveError(f"config.json: {type(model).__name__} is not a model.")
    with _guard("weights.npz: does not fit the model"):
        model.variables = _weights(members, model, metadata.get("input_specs"))
    compiled = config["compile"]
    if not compile:
        return model
    if compiled is not None:
        if not isinstance(compiled, dict):
            raise ArchiveError("config.json: 'compile' must be an object or null.")
        with _guard("optimizer"):
            optimizer = optimizers.deserialize(compiled.get("optimizer"))
        with _guard("config.json: cannot compile"):
            model.compile(
                optimizer=optimizer, loss=loss_objects(compiled["loss"]),
                metrics=compiled.get("metrics"),
                loss_weights=compiled.get("loss_weights"),
                weighted_metrics=compiled.get("weighted_metrics"),
                steps_per_execution=compiled.get("steps_per_execution", 1),
            )  # fmt: skip
    if compiled is not None and "optimizer.npz" not in members:
        _warn_if_state_lost(members.path, metadata)
    if "optimizer.npz" in members:
        if compiled is None:
            raise ArchiveError(
                f"{members.path}: optimizer.npz without a compile config."
            )
        with _guard("optimizer.npz: cannot restore"):
            _restore_train_state(model, members)
    return model
