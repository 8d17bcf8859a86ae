"""Reading an `.npz` without trusting it: sizes are checked before data is read.

An `.npz` is a zip of `.npy` members, and each member declares its size twice:
in the zip entry and in the `.npy` header (shape and dtype). `read_npz`
reads every header first (at most `MAX_HEADER_BYTES` each), checks that the
two agree, checks names, shapes and dtypes against the variables the caller
expects (or, when the layout is unknown, the total against a byte budget),
and only then reads the data, exactly the declared bytes of each array. A
member that decompresses to gigabytes is refused after reading its header,
so loading takes about the memory of the arrays it returns.

Example:
  >>> import io
  >>> buffer = io.BytesIO()
  >>> np.savez(buffer, w=np.ones(3, np.float32))
  >>> expected = {"w": ((3,), np.float32)}
  >>> arrays, problems = read_npz(buffer.getvalue(), "weights", expected)
  >>> arrays["w"].tolist(), problems
  ([1.0, 1.0, 1.0], [])
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

MAX_HEADER_BYTES = 4096  # NumPy writes headers of 128 bytes for sane shapes
Spec = tuple[tuple[int, ...], Any]  # (shape, dtype)


@dataclasses.dataclass(frozen=True)
class _Member:
    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def specs_of(flat: Mapping[str, Any]) -> dict[str, Spec]:
    """`{key: (shape, dtype)}` of arrays (or abstract ones), for `expected`."""
    return {k: (tuple(v.shape), np.dtype(v.dtype)) for k, v in flat.items()}


def array_allowance(name: str) -> int:
    """The bytes an `.npz` may spend on one array beside its data: the npy
    header and the zip entry's two headers."""
    return MAX_HEADER_BYTES + 2 * (len(name) + 4) + 128


def _header(file: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        read = np.lib.format.read_array_header_1_0
    elif version == (2, 0):
        read = np.lib.format.read_array_header_2_0
    else:
        raise ValueError(f"npy format version {version} is not read here")
    shape, fortran, dtype = read(file, max_header_size=MAX_HEADER_BYTES)
    if dtype.hasobject:
        raise ValueError("it holds Python objects, which are never unpickled")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def _members(archive: zipfile.ZipFile, fail: Callable[[str], Exception]) -> dict:
    found: dict[str, _Member] = {}
    for info in archive.infolist():
        key = info.filename.removesuffix(".npy")
        if key == info.filename or key in found:
            raise fail(f"unexpected or repeated member {info.filename!r:.100}")
        try:
            with archive.open(info) as file:
                shape, fortran, dtype = _header(file)
                header_bytes = file.tell()
        except Exception as error:
            raise fail(
                f"member {key!r:.100} has no valid npy header: {error}"
            ) from None
        member = _Member(info, shape, dtype, fortran)
        described = header_bytes + member.nbytes
        if info.file_size != described:
            raise fail(
                f"member {key!r:.100} declares {info.file_size} bytes, but its "
                f"header describes {described} ({dtype}{list(shape)})"
            )
        found[key] = member
    return found


def _fits(member: _Member, spec: Spec) -> bool:
    return (member.shape, member.dtype) == (tuple(spec[0]), np.dtype(spec[1]))


def _problems(found: Mapping[str, _Member], expected: Mapping[str, Spec]) -> list:
    problems = [f"missing: {k} {s}" for k, (s, _) in expected.items() if k not in found]
    problems += [f"extra: {k} {m.shape}" for k, m in found.items() if k not in expected]
    problems += [
        f"mis-shaped: {key} expected {np.dtype(dtype)}{tuple(shape)}, "
        f"received {found[key].dtype}{found[key].shape}"
        for key, (shape, dtype) in expected.items()
        if key in found and not _fits(found[key], (shape, dtype))
    ]
    return problems


def _data(archive: zipfile.ZipFile, member: _Member) -> np.ndarray:
    with archive.open(member.info) as file:
        _header(file)
        data = file.read(member.nbytes)
    if len(data) != member.nbytes:
        raise ValueError(f"{member.info.filename} ends early")
    order = "F" if member.fortran else "C"
    return np.frombuffer(data, member.dtype).reshape(member.shape, order=order)


def read_npz(
    source: bytes | str | os.PathLike,
    owner: str,
    expected: Mapping[str, Spec] | None = None,
    *,
    budget: int | None = None,
    skip_mismatch: bool = False,
    error: Callable[[str], Exception] = ValueError,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays of an `.npz`, read only once their sizes are known to fit.

    Args:
      source: the file's bytes or path.
      owner: what is read, for messages (`"weights.npz"`, a path).
      expected: `{key: (shape, dtype)}` of the arrays it must hold; None when
        the layout is unknown (then `budget` bounds the total).
      budget: the most bytes of array data to read when `expected` is None.
      skip_mismatch: read what fits `expected`, skip the rest (reported in
        the returned problems) instead of raising.
      error: the exception type to raise (its message names `owner`).

    Returns:
      `({key: array}, problems)`: one line per missing, extra or mis-shaped
      key (empty unless `skip_mismatch`).

    Raises:
      `error`: not a zip of `.npy` members, a member whose sizes disagree,
      arrays that do not fit `expected` (unless `skip_mismatch`), or more data
      than `budget`.
    """

    def fail(message: str) -> Exception:
        return error(f"{owner}: {message}.")

    data = io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source)
    try:
        archive = zipfile.ZipFile(data)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as reason:
        raise fail(f"not a readable .npz ({reason})") from None
    with archive:
        found = _members(archive, fail)
        problems: list[str] = []
        if expected is not None:
            problems = _problems(found, expected)
            if problems and not skip_mismatch:
                raise fail("the weights do not fit:\n  " + "\n  ".join(problems))
            found = {
                k: m
                for k, m in found.items()
                if k in expected and _fits(m, expected[k])
            }
        elif budget is not None and sum(m.nbytes for m in found.values()) > budget:
            total = sum(m.nbytes for m in found.values())
            raise fail(
                f"its arrays declare {total} bytes, over the {budget}-byte budget"
            )
        try:
            return {k: _data(archive, m) for k, m in found.items()}, problems
        except Exception as reason:
            raise fail(f"cannot read the data ({reason})") from None
