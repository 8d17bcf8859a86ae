"""Writing a file so that no crash loses the previous one, and leaves no debris.

`write_atomically` writes to a temporary file beside the target, fsyncs it and
renames it into place: a crash at any point leaves either the old file or the
new one. A writer killed before the rename leaves its temporary file behind;
the name says whose it is, `.stateless-saving-<host>-<pid>-<random>.tmp`, so
the next save into that folder removes the stale ones: those of this host
whose process is gone. Files of another host, of a live process, or of
anyone else are never touched.

Example:
  >>> import os, tempfile
  >>> folder = tempfile.mkdtemp()
  >>> write_atomically(os.path.join(folder, "a.bin"), b"new")
  >>> os.listdir(folder)
  ['a.bin']
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile

PREFIX = ".stateless-saving-"
_OURS = re.compile(re.escape(PREFIX) + r"(?P<host>.+)-(?P<pid>\d+)-[^-]+\.tmp")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def stale_files(folder: str) -> list[str]:
    """The temporary files in `folder` left by killed writers of this host."""
    stale = []
    for name in os.listdir(folder):
        found = _OURS.fullmatch(name)
        if found and found["host"] == _host() and not _alive(int(found["pid"])):
            stale.append(os.path.join(folder, name))
    return stale


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, fsyncs it, then renames
    it into place, after removing the stale temporary files of killed writers.

    Raises:
      OSError: the write failed (a full disk, a size limit); `path` is as it
        was and the temporary file is gone.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    for stale in stale_files(folder):
        with contextlib.suppress(OSError):  # another saver may remove it first
            os.unlink(stale)
    prefix = f"{PREFIX}{_host()}-{os.getpid()}-"
    handle, temporary = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # as `open` would create it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
