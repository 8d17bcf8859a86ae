"""One process with Keras on JAX that runs the `_keras_side` of test modules.

Importing Keras takes seconds (it brings scikit-learn, SciPy, matplotlib),
so each test process (each xdist worker) starts one such process and sends
it every request, instead of a fresh process per test module. A request is
one JSON line `{"file": <test module path>, "path": <.npz to write>}`; the
answer is one JSON line `{"error": null}` or `{"error": <traceback>}`.
Between requests Keras's global state is reset (session, dtype policy,
image data format), so one module's side cannot change another's numbers.

Run as `python -m tests.keras_process` with `KERAS_BACKEND=jax`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
from pathlib import Path


def _load(file: str):
    """The test module at `file`, imported once under its own name, with
    its folder importable (a module may import its siblings)."""
    stem = Path(file).stem
    loaded = sys.modules.get(stem)
    if loaded is not None and Path(loaded.__file__).resolve() == Path(file).resolve():
        return loaded
    folder = str(Path(file).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(stem, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[stem] = module
    spec.loader.exec_module(module)
    return module


def _reset_keras() -> None:
    import keras

    keras.backend.clear_session()
    keras.config.set_dtype_policy("float32")
    keras.config.set_floatx("float32")
    keras.config.set_image_data_format("channels_last")


def main() -> None:
    answers = sys.stdout
    sys.stdout = sys.stderr  # what a side prints must not mix with the answers
    for line in sys.stdin:
        request = json.loads(line)
        try:
            _reset_keras()
            _load(request["file"])._keras_side(request["path"])
            error = None
        except BaseException:  # report it and serve the next request
            error = traceback.format_exc()
        answers.write(json.dumps({"error": error}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
