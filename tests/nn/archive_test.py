"""Tests for `nn.archive`: round trips, safe-mode refusals, atomicity, bytes."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import jax
import numpy as np
import pytest

import nn
from nn import archive, layers
from nn.archive import ArchiveError, load_model, save_model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@nn.register("tests>ArchiveMLP")
class ArchiveMLP(nn.Model):
    def __init__(self, units=4, name=None):
        super().__init__(name=name)
        self.units = units
        self.hidden = layers.Dense(units, activation="relu")
        self.out = layers.Dense(2)

    def call(self, x, training=False):
        return self.out(self.hidden(x))

    def get_config(self):
        return {"units": self.units, "name": self.name}


def _sequential():
    return nn.Sequential(
        [layers.Input((3,)), layers.Dense(4, activation="relu"),
         layers.BatchNormalization(), layers.Dense(2)]
    )  # fmt: skip


def _functional():
    inputs = layers.Input((3,))
    hidden = layers.Dense(4, activation="relu")(inputs)
    return nn.Model(inputs, layers.Dense(2)(hidden))


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 2))


@pytest.mark.parametrize("make", [_sequential, _functional, ArchiveMLP])
def test_round_trip_predictions_are_bit_identical(tmp_path, make):
    model = make()
    model.build((None, 3), seed=0)
    path = tmp_path / "m.zip"
    save_model(model, path)
    again = load_model(path)
    x = _data()[0]
    assert type(again) is type(model)
    np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(model(x)))


@pytest.mark.parametrize("make", [_sequential, ArchiveMLP])
def test_fit_continues_bit_identically_after_reload(tmp_path, make):
    x, y = _data()
    model = make()
    model.build((None, 3), seed=0)
    model.compile(optimizer=nn_adam(), loss="mse", metrics=["mae"])
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, seed=0, verbose=0)
    save_model(model, tmp_path / "m.zip")
    again = load_model(tmp_path / "m.zip")
    assert int(again.trainer.train_state.step) == 4
    for m in (model, again):
        m.fit(x, y, batch_size=4, epochs=1, shuffle=False, seed=1, verbose=0)
    for a, b in zip(jax.tree.leaves(model.variables), jax.tree.leaves(again.variables)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def nn_adam():
    from train.optimizers import Adam

    return Adam(0.01, clipnorm=1.0)


def test_unregistered_subclass_and_schedule_refused_on_save(tmp_path):
    class Unregistered(ArchiveMLP):
        pass

    model = Unregistered()
    model.build((None, 3), seed=0)
    with pytest.raises(ValueError, match="not registered"):
        save_model(model, tmp_path / "m.zip")
    model = _sequential()
    model.build((None, 3), seed=0)
    from train.optimizers import SGD

    model.compile(optimizer=SGD(lambda step: 0.1), loss="mse")
    with pytest.raises(ValueError, match="schedule"):
        save_model(model, tmp_path / "m.zip")
    assert not os.listdir(tmp_path)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    x, y = _data()
    model = _sequential()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=8, shuffle=False, seed=0, verbose=0)
    path = tmp_path_factory.mktemp("a") / "m.zip"
    save_model(model, path)
    with zipfile.ZipFile(path) as z:
        return path, {n: z.read(n) for n in z.namelist()}


def _write(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _npz(arrays):
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def _resum(members):
    meta = json.loads(members["metadata.json"])
    for name in meta["checksums"]:
        import hashlib

        meta["checksums"][name] = hashlib.sha256(members[name]).hexdigest()
    members["metadata.json"] = json.dumps(meta).encode()
    return members


def _weights(members):
    with np.load(io.BytesIO(members["weights.npz"])) as f:
        return {k: f[k] for k in f.files}


def _tampered(saved, kind):
    members = dict(saved[1])
    if kind in ("unknown class", "config checksum"):
        config = json.loads(members["config.json"])
        config["model"]["config"]["layers"][0]["class_name"] = "os.system"
        members["config.json"] = json.dumps(config).encode()
        if kind == "unknown class":  # re-summed: safe mode must refuse it
            members = _resum(members)
    elif kind == "unlisted config":
        meta = json.loads(members["metadata.json"])
        del meta["checksums"]["config.json"]
        members["metadata.json"] = json.dumps(meta).encode()
    elif kind == "../evil":
        members["../evil"] = b"x"
    elif kind == "absolute":
        members["/etc/evil"] = b"x"
    elif kind == "checksum":
        w = _weights(members)
        w["params/dense/bias"] = w["params/dense/bias"] + 1
        members["weights.npz"] = _npz(w)
    elif kind == "json":
        members["config.json"] = b"{not json"
        members = _resum(members)
    elif kind == "missing weights":
        del members["weights.npz"]
    elif kind in ("missing variable", "mis-shaped"):
        w = _weights(members)
        if kind == "missing variable":
            del w["params/dense/bias"]
        else:
            w["params/dense/bias"] = np.zeros(5, "float32")
        members["weights.npz"] = _npz(w)
        members = _resum(members)
    return members


@pytest.mark.parametrize(
    "kind, message",
    [("unknown class", "safe_mode"), ("../evil", r"'\.\.'"), ("absolute", "absolute"),
     ("checksum", "weights.npz fails its sha256"),
     ("config checksum", "config.json fails its sha256"),
     ("unlisted config", "checksums for .*'optimizer.npz', 'weights.npz'"),
     ("json", "not valid JSON"), ("missing weights", "missing"),
     ("missing variable", "missing: params/dense/bias"),
     ("mis-shaped", "mis-shaped: params/dense/bias")],
)  # fmt: skip
def test_tampered_archives_are_refused(tmp_path, saved, kind, message):
    path = _write(tmp_path / "bad.zip", _tampered(saved, kind))
    with pytest.raises(ArchiveError, match=message):
        load_model(path)


def test_checksums_cover_every_member_but_the_metadata(saved):
    checksums = json.loads(saved[1]["metadata.json"])["checksums"]
    assert sorted(checksums) == ["config.json", "optimizer.npz", "weights.npz"]


def test_truncated_and_oversized_archives_are_refused(tmp_path, saved, monkeypatch):
    data = saved[0].read_bytes()
    (tmp_path / "t.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError):
        load_model(tmp_path / "t.zip")
    monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 64)
    with pytest.raises(ArchiveError, match="limit"):
        load_model(saved[0])


SAVER = """
import sys, nn
from nn import layers, archive
model = nn.Sequential([layers.Input((3,)), layers.Dense(64), layers.Dense(2)])
model.build((None, 3), seed=0)
archive.save_model(model, sys.argv[1])
print("saved", flush=True)
while True:
    archive.save_model(model, sys.argv[1])
"""


def test_killed_saver_leaves_the_previous_archive(tmp_path):
    path = str(tmp_path / "m.zip")
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER, path], cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout.readline().strip() == b"saved"
        time.sleep(0.3)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    model = load_model(path)
    assert model(np.ones((1, 3), "float32")).shape == (1, 2)


WEIGHTS = """
import sys, zipfile, nn
from nn import layers, archive
model = nn.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(2)])
model.build((None, 3), seed=0)
archive.save_model(model, sys.argv[1])
"""


def test_weights_bytes_are_the_same_on_every_backend(tmp_path):
    procs = {}
    for backend in ("jax", "torch", "tensorflow"):
        env = {**os.environ, "STATELESS_BACKEND": backend}
        path = str(tmp_path / f"{backend}.zip")
        procs[path] = subprocess.Popen(
            [sys.executable, "-c", WEIGHTS, path], cwd=ROOT, env=env
        )
    found = set()
    for path, proc in procs.items():
        assert proc.wait(timeout=120) == 0
        with zipfile.ZipFile(path) as z:
            found.add(z.read("weights.npz"))
    assert len(found) == 1
