"""get_file: copies a local origin into the cache once, checks digests,
extracts archives safely and fails fast and clearly offline."""

import hashlib
import io
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from nn.utils import get_file


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "origin" / "data.csv"
    path.parent.mkdir()
    path.write_text("a,b\n1,2\n")
    return path


def test_a_local_origin_is_cached_once(source, tmp_path):
    cache = tmp_path / "cache"
    path = get_file(origin=str(source), cache_dir=str(cache))
    assert path == str(cache / "datasets" / "data.csv")
    source.write_text("changed")
    assert Path(get_file(origin=source.as_uri(), cache_dir=str(cache))).read_text() == (
        "a,b\n1,2\n"
    )  # cached: not fetched again
    fresh = get_file("renamed.csv", source.as_uri(), cache_dir=str(cache),
                     force_download=True)  # fmt: skip
    assert Path(fresh).read_text() == "changed"


def test_digests_are_checked(source, tmp_path):
    cache = str(tmp_path / "cache")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    path = get_file(origin=str(source), file_hash=digest, cache_dir=cache)
    with open(path, "w") as file:
        file.write("stale")  # a cached file that no longer matches is fetched again
    assert (
        Path(
            get_file(origin=str(source), file_hash=digest, cache_dir=cache)
        ).read_text()[:3]
        == "a,b"
    )
    with pytest.raises(ValueError, match="does not have the expected digest"):
        get_file("other.csv", str(source), md5_hash="0" * 32, cache_dir=cache)


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_archives_extract_and_hostile_ones_are_refused(tmp_path):
    cache = str(tmp_path / "cache")
    _tar(tmp_path / "words.tar.gz", {"words/a.txt": b"alpha"})
    folder = get_file("words.tar.gz", str(tmp_path / "words.tar.gz"), extract=True,
                      cache_dir=cache)  # fmt: skip
    assert folder.endswith("words_extracted")
    assert Path(folder, "words", "a.txt").read_text() == "alpha"
    _tar(tmp_path / "evil.tar.gz", {"../../escaped.txt": b"x"})
    with pytest.raises(tarfile.TarError):
        get_file("evil.tar.gz", str(tmp_path / "evil.tar.gz"), extract=True,
                 cache_dir=cache)  # fmt: skip
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zipped:
        zipped.writestr("../escaped.txt", "x")
    with pytest.raises(ValueError, match="outside the extraction folder"):
        get_file("evil.zip", str(tmp_path / "evil.zip"), extract=True, cache_dir=cache)
    assert not list(tmp_path.rglob("escaped.txt"))


def test_an_unreachable_origin_fails_fast_with_advice(tmp_path):
    start = time.monotonic()
    with pytest.raises(OSError, match="fetch it yourself and put it at"):
        get_file("x.npz", "http://127.0.0.1:9/x.npz", cache_dir=str(tmp_path))
    assert time.monotonic() - start < 10
    assert not list((tmp_path / "datasets").iterdir())  # no partial file left
    with pytest.raises(ValueError, match="must be a file name"):
        get_file("a/b.npz", "http://127.0.0.1:9/x.npz", cache_dir=str(tmp_path))
