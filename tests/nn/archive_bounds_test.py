"""Loading within bounded memory, and configs that cannot hold NaN.

A hostile file may declare arrays far larger than it is (a deflated run of
zeros): `load_model` and `load_weights` must refuse it after reading headers
only. Peak memory is measured in a subprocess (`ru_maxrss`), so the numbers
are the loader's own.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import nn
from nn import layers
from nn.archive import ArchiveError, load_model, save_model
from nn.models.npz_reader import read_npz
from tests.nn.hostile_files import bomb_npz

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOMB_BYTES = 2**30  # what the bomb declares: 1 GiB of float32 zeros
RSS_BOUND_MB = 100  # the loader's peak growth we allow for a 1 MiB model


def _model():
    model = nn.Sequential([layers.Input((512,)), layers.Dense(512)])
    model.build((None, 512), seed=0)
    return model


@pytest.fixture(scope="module")
def bomb():
    bias = ("params/dense/bias", np.zeros(512, np.float32))
    return bomb_npz("params/dense/kernel", BOMB_BYTES, others=[bias])


def _members(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _archive(path, members):
    meta = json.loads(members["metadata.json"])
    meta["checksums"] = {
        n: hashlib.sha256(d).hexdigest()
        for n, d in members.items()
        if n != "metadata.json"
    }
    members = {**members, "metadata.json": json.dumps(meta).encode()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


LOADER = """
import sys
import numpy as np
import nn
from nn import layers


def megabytes(field):  # from /proc/self/status: VmRSS now, VmHWM the peak
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) // 1024


kind, path = sys.argv[1], sys.argv[2]
model = nn.Sequential([layers.Input((512,)), layers.Dense(512)])
model.build((None, 512), seed=0)
with open("/proc/self/clear_refs", "w") as file:
    file.write("5")  # the peak restarts from here
before = megabytes("VmRSS")
try:
    if kind == "numpy":  # what a loader that trusts the file does
        with np.load(path) as npz:
            arrays = [npz[k] for k in npz.files]
    else:
        nn.load_model(path) if kind == "archive" else model.load_weights(path)
    outcome = "loaded"
except Exception as error:
    outcome = type(error).__name__ + ": " + " | ".join(str(error).splitlines())
print(megabytes("VmHWM") - before)
print(outcome)
"""


def _load_measured(kind, path):
    """`(peak RSS growth in MB, outcome)` of loading `path` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", LOADER, kind, str(path)], cwd=ROOT,
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    growth, outcome = done.stdout.strip().splitlines()[-2:]
    return int(growth), outcome


def test_an_archive_holding_a_bomb_is_refused_within_bounded_memory(tmp_path, bomb):
    path = tmp_path / "good.zip"
    save_model(_model(), path)
    members = {**_members(path), "weights.npz": bomb}
    bad = _archive(tmp_path / "bomb.zip", members)
    assert bad.stat().st_size < 2**21  # a 2 MB file declaring a GiB
    growth, outcome = _load_measured("archive", bad)
    assert outcome.startswith("ArchiveError")
    assert "over the" in outcome or "mis-shaped" in outcome
    assert growth < RSS_BOUND_MB, f"loading grew the process by {growth} MB"


def test_load_weights_refuses_a_bomb_within_bounded_memory(tmp_path, bomb):
    path = tmp_path / "bomb.weights.npz"
    path.write_bytes(bomb)
    growth, outcome = _load_measured("weights", path)
    assert outcome.startswith("VariablesError")
    assert "mis-shaped: params/dense/kernel" in outcome
    assert growth < RSS_BOUND_MB, f"loading grew the process by {growth} MB"


def test_the_memory_measure_sees_a_real_load(tmp_path):
    """The measure works: reading 64 MiB of arrays shows as 64 MB or more."""
    path = tmp_path / "big.npz"
    np.savez(path, w=np.ones(2**24, np.float32))
    growth, outcome = _load_measured("numpy", path)
    assert outcome == "loaded"
    assert growth >= 60


def test_a_member_whose_sizes_disagree_is_refused(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (2**20,)}
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("w.npy", header.getvalue() + bytes(16))
    with pytest.raises(ValueError, match="declares .* bytes, but its header describes"):
        read_npz(out.getvalue(), "w.npz")


def test_unknown_layouts_may_not_outgrow_the_budget(bomb):
    with pytest.raises(ValueError, match="over the 4096-byte budget"):
        read_npz(bomb, "weights.npz", budget=4096)


def test_object_arrays_and_foreign_members_are_refused():
    out = io.BytesIO()
    np.savez(out, w=np.array([None, 1], dtype=object))
    with pytest.raises(ValueError, match="Python objects"):
        read_npz(out.getvalue(), "w.npz")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("notes.txt", b"hello")
    with pytest.raises(ValueError, match="unexpected or repeated member"):
        read_npz(out.getvalue(), "w.npz")


@pytest.mark.parametrize(
    "edit",
    [
        ("learning_rate", float("nan")),
        ("learning_rate", float("inf")),
        ("beta_1", float("nan")),
        ("learning_rate", -float("inf")),
    ],
    ids=["lr-NaN", "lr-Infinity", "beta_1-NaN", "lr-minus-Infinity"],
)
def test_non_finite_json_constants_are_refused(tmp_path, edit):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    path = tmp_path / "m.zip"
    save_model(model, path)
    members = _members(path)
    config = json.loads(members["config.json"])
    config["compile"]["optimizer"]["config"][edit[0]] = edit[1]
    members["config.json"] = json.dumps(config).encode()  # writes NaN / Infinity
    assert b"NaN" in members["config.json"] or b"Infinity" in members["config.json"]
    with pytest.raises(ArchiveError, match="non-finite number"):
        load_model(_archive(tmp_path / "bad.zip", members))


def test_optimizer_hyperparameters_are_checked_however_set():
    with pytest.raises(
        ValueError, match=r"Adam: beta_1 must be a finite number in \[0"
    ):
        nn.optimizers.Adam(beta_1=float("nan"))
    with pytest.raises(ValueError, match="SGD: learning_rate must be a finite"):
        nn.optimizers.SGD(float("inf"))
    with pytest.raises(
        ValueError, match=r"momentum must be a finite number in \[0.0, 1.0\]"
    ):
        nn.optimizers.RMSprop(momentum=1.5)
    with pytest.raises(ValueError, match="gradient_accumulation_steps must be an int"):
        nn.optimizers.Adam(gradient_accumulation_steps=0)
    adam = nn.optimizers.Adam()
    with pytest.raises(ValueError, match="learning_rate"):
        adam.learning_rate = float("nan")  # as a callback would set it
    spec = nn.optimizers.serialize(nn.optimizers.Adam())
    spec["config"]["epsilon"] = -1.0
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        nn.optimizers.deserialize(spec)


def _regularized_classifier():
    model = nn.Sequential([
        layers.Input((4,)), layers.Dropout(0.2),
        layers.Dense(2, kernel_regularizer=nn.regularizers.L2(0.01)),
    ])  # fmt: skip
    model.compile(optimizer="adam", loss=nn.losses.Huber(),
                  metrics=[nn.metrics.BinaryAccuracy()])  # fmt: skip
    model.build((None, 4), seed=0)
    return model


def _set(config, path, value):
    *parents, last = path
    for key in parents:
        config = config[key]
    config[last] = value


@pytest.mark.parametrize(
    "path, value, message",
    [(("model", "config", "layers", 0, "config", "rate"), 1.5,
      r"Dropout: rate must be a finite number in \[0.0, 1.0\], received 1.5"),
     (("model", "config", "layers", 1, "config", "units"), 0,
      r"Dense: units must be an integer in \[1, inf\), received 0"),
     (("model", "config", "layers", 1, "config", "kernel_regularizer", "config",
       "l2"), -0.5, r"L1L2: l2 must be a finite number in \[0.0, inf\)"),
     (("compile", "loss", "config", "delta"), 0.0,
      r"Huber: delta must be a finite number in \(0.0, inf\)"),
     (("compile", "optimizer", "config", "beta_2"), 1.0,
      r"Adam: beta_2 must be a finite number in \[0.0, 1.0\)")],
    ids=["dropout-rate", "dense-units", "l2-negative", "huber-delta", "adam-beta_2"],
)  # fmt: skip
def test_a_config_out_of_range_is_refused_naming_the_object(
    tmp_path, path, value, message
):
    path_to = tmp_path / "m.zip"
    save_model(_regularized_classifier(), path_to)
    members = _members(path_to)
    config = json.loads(members["config.json"])
    _set(config, path, value)
    members["config.json"] = json.dumps(config).encode()
    with pytest.raises(ValueError, match=message):
        load_model(_archive(tmp_path / "bad.zip", members))


@pytest.mark.parametrize(
    "build, spec",
    [(nn.registry.deserialize,
      {"class_name": "Dense", "config": {"units": 2, "kernel_initializer": {
          "class_name": "RandomNormal", "config": {"stddev": float("nan")}}}}),
     (nn.losses.get, {"class_name": "Huber", "config": {"delta": float("inf")}}),
     (nn.metrics.get,
      {"class_name": "BinaryAccuracy", "config": {"threshold": float("nan")}})],
    ids=["initializer-in-a-layer", "loss", "metric"],
)  # fmt: skip
def test_a_config_written_in_python_cannot_hold_non_finite_numbers(build, spec):
    """JSON's NaN is refused when read; a dict built in Python is refused when
    an object is built from it, at any depth."""
    with pytest.raises(ValueError, match="must be a finite number, received"):
        build(spec)
