"""Files an adversary would hand the loaders, made without the memory they claim."""

import io
import zipfile

import numpy as np


def bomb_npz(key, declared_bytes, others=()):
    """An .npz whose member `key` declares `declared_bytes` of zeros, deflated
    to about a thousandth of that, streamed (it never sits in memory)."""
    header = io.BytesIO()
    shape = (declared_bytes // 4,)
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    out, chunk = io.BytesIO(), bytes(16 * 2**20)
    with zipfile.ZipFile(out, "w") as z:
        info = zipfile.ZipInfo(key + ".npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as file:
            file.write(header.getvalue())
            for start in range(0, declared_bytes, len(chunk)):
                file.write(chunk[: min(len(chunk), declared_bytes - start)])
        for name, array in others:
            with z.open(name + ".npy", "w") as file:
                np.lib.format.write_array(file, array)
    return out.getvalue()
