"""Fuzzing `nn.archive.load_model`: corrupt archives raise only `ArchiveError`."""

import hashlib
import io
import json
import time
import zipfile

import numpy as np
import pytest

import nn
from nn import layers
from nn.archive import ArchiveError, load_model, save_model
from tests.nn.hostile_files import bomb_npz


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    model = nn.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x = np.ones((8, 3), "float32")
    model.fit(x, np.ones((8, 2)), batch_size=4, shuffle=False, seed=0, verbose=0)
    path = tmp_path_factory.mktemp("fuzz") / "m.zip"
    save_model(model, path)
    return path.read_bytes()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _random_json(rng, depth=0):
    kind = rng.integers(6 if depth < 4 else 3)
    if kind == 0:
        return float(rng.normal())
    if kind == 1:
        return rng.choice(["Dense", "Sequential", "class_name", "", "x" * 5])
    if kind == 2:
        return None
    if kind == 3:
        return [_random_json(rng, depth + 1) for _ in range(rng.integers(3))]
    if kind == 4:
        return {"class_name": _random_json(rng, 4), "config": _random_json(rng, depth)}
    keys = ["model", "compile", "checksums", "layers", "name", "units", "input_specs"]
    return {str(rng.choice(keys)): _random_json(rng, depth + 1) for _ in range(3)}


def _resum(members):
    """The checksums recomputed, so that an edit reaches the checks behind
    them (left alone when metadata.json is no longer a JSON object)."""
    try:
        meta = json.loads(members["metadata.json"])
        meta["checksums"] = {
            name: hashlib.sha256(data).hexdigest()
            for name, data in members.items()
            if name != "metadata.json"
        }
    except Exception:
        return members
    return {**members, "metadata.json": json.dumps(meta).encode()}


def _non_finite(tree, rng):
    """The JSON tree with one number (or, lacking any, one value) made NaN,
    Infinity or -Infinity."""
    spots = []

    def walk(node):
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, dict | list):
                walk(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                spots.append((node, key))

    walk(tree)
    node, key = spots[rng.integers(len(spots))] if spots else (tree, "model")
    node[key] = float(rng.choice([np.nan, np.inf, -np.inf]))
    return tree


def _bomb(members, name, rng):
    """An .npz member replaced by one whose first array declares up to
    256 MiB of zeros, deflated (as small as the file it replaces)."""
    with np.load(io.BytesIO(members[name])) as npz:
        keys = list(npz.files)
    declared = int(rng.integers(1, 257)) * 2**20
    return bomb_npz(str(rng.choice(keys)), declared)


def _corrupt(data, rng):
    kind = rng.integers(8)
    if kind == 6:  # a JSON number made non-finite (json.dumps writes NaN)
        members = _members(data)
        target = "config.json" if rng.integers(2) else "metadata.json"
        members[target] = json.dumps(_non_finite(json.loads(members[target]), rng))
        members[target] = members[target].encode()
        return _zip(_resum(members) if rng.integers(4) else members), True
    if kind == 7:  # an inner array that declares far more than the file holds
        members = _members(data)
        name = "weights.npz" if rng.integers(2) else "optimizer.npz"
        members[name] = _bomb(members, name, rng)
        return _zip(_resum(members) if rng.integers(4) else members), True
    if kind == 0:  # flip bytes anywhere
        raw = bytearray(data)
        for i in rng.integers(len(raw), size=rng.integers(1, 8)):
            raw[i] ^= int(rng.integers(1, 256))
        return bytes(raw), False
    if kind == 1:  # truncate
        return data[: rng.integers(len(data))], False
    members = _members(data)
    name = str(rng.choice(sorted(members)))
    if kind == 2:  # a member replaced by random bytes
        members[name] = rng.bytes(int(rng.integers(0, 200)))
    elif kind == 3:  # a member replaced by random JSON
        members[name] = json.dumps(_random_json(rng)).encode()
    elif kind == 4:  # a member renamed
        members[str(rng.choice(["x.json", "../config.json", "/a", name.upper()]))] = (
            members.pop(name)
        )
    else:  # a JSON member edited in one place
        text = members["config.json"] if rng.integers(2) else members["metadata.json"]
        tree = json.loads(text)
        key = str(rng.choice(sorted(tree)))
        tree[key] = _random_json(rng)
        target = "config.json" if "model" in tree else "metadata.json"
        members[target] = json.dumps(tree).encode()
    return _zip(_resum(members) if rng.integers(2) else members), False


def _megabytes(field):
    """VmRSS (now) or VmHWM (the peak) of this process, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) // 1024


@pytest.mark.parametrize("count", [120, pytest.param(1000, marks=pytest.mark.slow)])
def test_corrupted_archives_raise_only_archive_error(tmp_path, original, count):
    """Every case raises ArchiveError or loads; the non-finite configs and the
    bombs are always refused, each load within 5 s and 64 MB of memory (120
    cases by default, 1000 with -m slow)."""
    rng = np.random.default_rng(1234)
    path = tmp_path / "bad.zip"
    refused = 0
    for case in range(count):
        data, must_refuse = _corrupt(original, rng)
        path.write_bytes(data)
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")  # the peak restarts from here
        before, start = _megabytes("VmRSS"), time.perf_counter()
        try:
            load_model(path)
        except ArchiveError:
            refused += must_refuse
        except Exception as error:  # pragma: no cover - the failure report
            raise AssertionError(f"case {case}: {type(error).__name__}: {error}")
        else:
            assert not must_refuse, f"case {case} loaded a hostile archive"
        assert time.perf_counter() - start < 5, f"case {case} was slow"
        growth = _megabytes("VmHWM") - before
        assert growth < 64, f"case {case} grew the process by {growth} MB"
    assert refused >= count // 6  # the two hostile kinds are a quarter of the cases
