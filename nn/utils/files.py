"""`get_file`: a file in the local cache, fetched once from its origin.

As `keras.utils.get_file`, with the same cache (`~/.keras/<cache_subdir>`)
and names, so files Keras fetched are found here. An origin may be a local
path or a `file://` URL (copied), or an `http(s)://` URL fetched with a
timeout, so that no call hangs offline: a fetch that fails says where to
put the file by hand. Archives extract with every member checked to stay
inside the extraction folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

TIMEOUT_SECONDS = 30.0  # for an http(s) origin: connecting and each read


def _cache_folder(cache_dir: str | None, cache_subdir: str) -> str:
    base = os.path.expanduser(cache_dir or os.path.join("~", ".keras"))
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    folder = os.path.join(base, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    return folder


def _digest(path: str, file_hash: str, algorithm: str) -> bool:
    """Whether the file at `path` has the hex digest `file_hash`."""
    if algorithm == "auto":
        algorithm = "sha256" if len(file_hash) == 64 else "md5"
    if algorithm not in ("sha256", "md5"):
        raise ValueError(
            f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5', "
            f"received {algorithm!r}."
        )
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == file_hash.lower()


def _fetch(origin: str, target: str) -> None:
    """Copies or downloads `origin` to `target`, through a temporary file."""
    parts = urllib.parse.urlsplit(origin)
    folder = os.path.dirname(target)
    fd, temporary = tempfile.mkstemp(prefix=".get_file-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            if parts.scheme in ("http", "https", "ftp"):
                with urllib.request.urlopen(origin, timeout=TIMEOUT_SECONDS) as src:
                    shutil.copyfileobj(src, out)
            else:
                local = (
                    urllib.request.url2pathname(parts.path)
                    if parts.scheme == "file"
                    else origin
                )
                with open(os.path.expanduser(local), "rb") as src:
                    shutil.copyfileobj(src, out)
        os.replace(temporary, target)
    except (OSError, urllib.error.URLError) as error:
        os.unlink(temporary)
        raise OSError(
            f"get_file: could not fetch {origin!r} ({error}). Hint: fetch it "
            f"yourself and put it at {target!r}, or pass a local path as origin."
        ) from error


def _inside(folder: str, name: str) -> bool:
    root = os.path.realpath(folder)
    return (
        os.path.commonpath([root, os.path.realpath(os.path.join(root, name))]) == root
    )


def _extract(archive: str, folder: str, archive_format: str) -> None:
    """Extracts a tar or zip archive into `folder`, refusing any member that
    would land outside it (absolute paths, `..`, links)."""
    kinds = ("tar", "zip") if archive_format == "auto" else (archive_format,)
    if "tar" in kinds and tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")  # refuses escapes and links out
        return
    if "zip" in kinds and zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for name in zipped.namelist():
                if not _inside(folder, name):
                    raise ValueError(
                        f"get_file: {archive!r} holds {name!r}, outside the "
                        "extraction folder; refused."
                    )
            zipped.extractall(folder)
        return
    raise ValueError(
        f"get_file: {archive!r} is not a {' or '.join(kinds)} archive. Hint: "
        "pass extract=False to keep the file as it is."
    )


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: str = "auto",
    cache_dir: str | None = None,
    force_download: bool = False,
) -> str:
    """The local path of a file, fetched from `origin` unless it is cached.

    Args:
      fname: the file's name in the cache; defaults to `origin`'s last part.
      origin: a local path, a `file://` URL, or an `http(s)://` URL.
      untar, extract: extract the archive (tar or zip) and return the folder.
      md5_hash, file_hash, hash_algorithm: the expected digest; a cached
        file that does not match is fetched again, a fetched one that does
        not match is refused.
      cache_subdir, cache_dir: where the cache lives (`~/.keras/datasets`).
      archive_format: `"auto"`, `"tar"` or `"zip"`.
      force_download: fetch even when the file is cached.

    Raises:
      ValueError: no origin, a path as `fname`, or a digest that does not match.
      OSError: the origin could not be read (the message says where to put
        the file by hand).

    Example:
      >>> import tempfile, pathlib
      >>> source = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
      >>> _ = source.write_text("hello")
      >>> path = get_file(origin=str(source), cache_dir=tempfile.mkdtemp())
      >>> pathlib.Path(path).read_text()
      'hello'
    """
    if origin is None:
        raise ValueError("get_file: origin is required (a URL or a local path).")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    folder = _cache_folder(cache_dir, cache_subdir)
    given = os.fspath(fname) if fname else None
    name = given or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name or os.sep in name:
        raise ValueError(
            f"get_file: fname must be a file name (not a path), received {fname!r}"
            f" for origin {origin!r}. Hint: name the folder with cache_dir."
        )
    extracting = extract or untar
    target, extracted = os.path.join(folder, name), None
    if extracting:
        stem = name.split(".", 1)[0]
        if given and "." in name:
            extracted = os.path.join(folder, f"{stem}_extracted")
        else:
            extracted = os.path.join(folder, name)
            target = os.path.join(folder, f"{name}_archive")
    stale = file_hash is not None and os.path.exists(target)
    stale = stale and not _digest(target, file_hash, hash_algorithm)
    if force_download or stale or not os.path.exists(target):
        _fetch(origin, target)
        if file_hash is not None and not _digest(target, file_hash, hash_algorithm):
            os.unlink(target)
            raise ValueError(
                f"get_file: {origin!r} does not have the expected digest "
                f"{file_hash}; the file was removed."
            )
    if extracted is None:
        return target
    if force_download or stale or not os.path.exists(extracted):
        temporary = tempfile.mkdtemp(prefix=".get_file-", dir=folder)
        try:
            _extract(target, temporary, archive_format)
        except BaseException:
            shutil.rmtree(temporary)
            raise
        shutil.rmtree(extracted, ignore_errors=True)
        os.replace(temporary, extracted)  # whole, or not at all
    return extracted
