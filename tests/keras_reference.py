"""Keras 3 as a reference, run in another process on its JAX backend.

The suite may import Keras on TensorFlow first (importing TensorFlow imports
Keras), and Keras picks its backend once per process; tests that need Keras
on JAX (its `stateless_call`, `jax.grad` through a layer, or kernels TF's CPU
build refuses) run their Keras side in a Keras process (one per test
process, `tests.keras_process`). A test module
defines `_keras_side(path)`, which writes its numbers to `path` (an .npz),
and reads them with `keras_numbers`. For one layer, `keras_layer_numbers`
records Keras's weights, output and gradients and `assert_layer_matches_keras`
holds ours to them.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def keras_numbers(test_file: str, path: Path) -> dict[str, np.ndarray]:
    """Runs `_keras_side(path)` of the test module at `test_file` in this
    process's Keras process (Keras on JAX, see `tests.keras_process`);
    returns the arrays it saved."""
    process = _keras_process()
    request = {"file": str(Path(test_file).resolve()), "path": str(path)}
    process.stdin.write(json.dumps(request) + "\n")
    process.stdin.flush()
    answer = process.stdout.readline()
    if not answer:  # it died: the next request starts another
        _PROCESS.clear()
        raise AssertionError(f"the Keras process died:\n{_log_tail()}")
    error = json.loads(answer)["error"]
    assert error is None, error[-3000:]
    return dict(np.load(path))


_PROCESS: dict[str, subprocess.Popen] = {}  # the Keras process, once started
_LOG = Path(tempfile.gettempdir()) / f"keras_process.{os.getpid()}.log"


def _keras_process() -> subprocess.Popen:
    """The Keras process of this test process, started at the first request;
    it ends when this process does (its input closes)."""
    if "keras" not in _PROCESS or _PROCESS["keras"].poll() is not None:
        _PROCESS["keras"] = subprocess.Popen(
            [sys.executable, "-m", "tests.keras_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=_LOG.open("w"), text=True, cwd=ROOT,
            env={**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
    return _PROCESS["keras"]


def _log_tail() -> str:
    return _LOG.read_text()[-3000:] if _LOG.exists() else ""


def keras_layer_numbers(
    layer: Any, case: str, x: Any, cotangent: Callable[[tuple[int, ...]], Any]
) -> dict[str, np.ndarray]:
    """The numbers of one Keras `layer` on `x` (an array or a list), for a
    `_keras_side`: its trainable weights (`{case}/w/<name>`), its output
    (`{case}/y`), and the gradients of `sum(output * cotangent(shape))` with
    respect to each input (`{case}/gx<i>`) and weight (`{case}/gw/<name>`)."""
    import jax
    import jax.numpy as jnp
    import keras

    x = jax.tree.map(jnp.asarray, x)
    symbolic = jax.tree.map(lambda a: keras.KerasTensor(np.shape(a), a.dtype), x)
    layer(symbolic)  # builds it without running it
    weights = [v.value for v in layer.trainable_variables]
    frozen = [v.value for v in layer.non_trainable_variables]
    names = [v.path.rsplit("/", 1)[-1] for v in layer.trainable_variables]

    def run(weights, x):
        return layer.stateless_call(weights, frozen, x)[0]

    cot = cotangent(jax.eval_shape(run, weights, x).shape)

    @jax.jit
    def forward_and_back(weights, x):
        y, back = jax.vjp(run, weights, x)
        return y, *back(jnp.asarray(cot, y.dtype))

    y, gw, gx = forward_and_back(weights, x)
    out = {f"{case}/y": np.asarray(y)}
    for name, w, g in zip(names, weights, gw):
        out[f"{case}/w/{name}"], out[f"{case}/gw/{name}"] = np.asarray(w), np.asarray(g)
    for i, g in enumerate(jax.tree.leaves(gx)):
        out[f"{case}/gx{i}"] = np.asarray(g)
    return out


def assert_layer_matches_keras(
    layer: Any,
    case: str,
    x: Any,
    numbers: dict[str, np.ndarray],
    cotangent: Callable[[tuple[int, ...]], Any],
    *,
    atol: float = 1e-5,
    weight_atol: float = 1e-5,
) -> None:
    """Our `layer` on Keras's weights: output and gradients as
    `keras_layer_numbers` recorded them (rtol 1e-5)."""
    import jax
    import jax.numpy as jnp

    mine = layer.init(jax.random.key(0), x)
    prefix = f"{case}/w/"
    params = {k[len(prefix) :]: v for k, v in numbers.items() if k.startswith(prefix)}
    assert jax.tree.map(np.shape, mine["params"]) == jax.tree.map(np.shape, params)

    def run(params, x):
        return layer.apply({"params": params, "state": mine["state"]}, x)[0]

    y = run(params, x)
    np.testing.assert_allclose(y, numbers[f"{case}/y"], rtol=1e-5, atol=atol)
    cot = cotangent(y.shape)
    gw, gx = jax.grad(lambda p, x: jnp.sum(run(p, x) * cot), argnums=(0, 1))(
        params, jax.tree.map(jnp.asarray, x)
    )
    for i, g in enumerate(jax.tree.leaves(gx)):
        np.testing.assert_allclose(g, numbers[f"{case}/gx{i}"], rtol=1e-5, atol=atol)
    for name, g in gw.items():
        want = numbers[f"{case}/gw/{name}"]
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=weight_atol)


def catalogue_numbers(
    cases: dict[str, tuple], inputs: Callable[[str], Any]
) -> dict[str, np.ndarray]:
    """`keras_layer_numbers` of each case `name: (class name, keyword
    arguments, ...)` of `keras.layers`, on `inputs(name)` (for a
    `_keras_side`)."""
    import keras

    out = {}
    for case, (name, kwargs, *_) in cases.items():
        layer = getattr(keras.layers, name)(**kwargs)
        out |= keras_layer_numbers(layer, case, inputs(case), cotangent(case))
    return out


def assert_case_matches_keras(
    cases: dict[str, tuple],
    case: str,
    inputs: Callable[[str], Any],
    numbers: dict[str, np.ndarray],
    **tolerances: float,
) -> None:
    """Our `nn.layers` class of the case's name, on the same arguments, holds
    to the numbers `catalogue_numbers` recorded for it."""
    from nn import layers

    name, kwargs, *_ = cases[case]
    assert_layer_matches_keras(
        getattr(layers, name)(**kwargs), case, inputs(case), numbers,
        cotangent(case), **tolerances,
    )  # fmt: skip


def cotangent(case: str) -> Callable[[tuple[int, ...]], np.ndarray]:
    """The cotangent maker a case's gradients are taken with: normal values of
    the output's shape, seeded by the case's name, the same on both sides."""

    def make(shape: tuple[int, ...]) -> np.ndarray:
        rng = np.random.default_rng(len(case) + 1)
        return rng.normal(size=shape).astype(np.float32)

    return make


def signature_data(fn: Any) -> list[list[str]]:
    """`fn`'s parameter names and defaults (reprs), as data a Keras-side
    process can write to its .npz and this one compare."""
    return [
        [p.name, repr(p.default)]
        for p in inspect.signature(fn).parameters.values()
        if p.kind is not p.VAR_KEYWORD
    ]


def assert_signature_matches_keras(ours: Any, theirs: list[list[str]]) -> None:
    """A function's parameters must be Keras's exactly (names, order,
    defaults); a class's the same keywords with the same defaults in any
    order, except `name` where the class has a `default_name`: it defaults to
    None here, meaning Keras's default name, which the class holds there."""
    if not inspect.isclass(ours):
        assert signature_data(ours) == theirs
        return
    if not hasattr(ours, "default_name"):  # its name defaults to Keras's own
        assert dict(signature_data(ours)) == dict(theirs)
        return
    keras_name = dict(theirs)["name"].strip("'")
    assert {n: d for n, d in signature_data(ours) if n != "name"} == {
        n: d for n, d in theirs if n != "name"
    }
    if keras_name != "None":  # else Keras names it after the class, as we do
        assert ours.default_name == keras_name


def assert_close_to_keras(ours: Any, theirs: np.ndarray, what: str) -> None:
    """Equal dtypes and values within 1e-5 relative, 1e-6 absolute."""
    ours = np.asarray(ours)
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} != {theirs.dtype}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=what)
