"""Run the research notebooks top to bottom in a kernel that is this interpreter.

Two users: `tests/notebooks_test.py` runs each notebook and throws the outputs
away; `make notebooks` runs them and writes the outputs (figures included) back
into the files, so that a reader on GitHub sees what each cell printed and drew:

    python -m tests.notebook_runner                    # every notebook
    python -m tests.notebook_runner notebooks/03_*.ipynb

The kernel is `sys.executable` whatever kernels Jupyter would otherwise find (a
kernelspec written to a temporary directory points at it), and each notebook
runs from the repository root. A file is written to a temporary name and renamed
into place, so an interrupted refresh leaves the old notebook whole.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys
import tempfile
import time

import nbclient
import nbformat
from jupyter_client import kernelspec, manager

from nn.models.atomic_files import write_atomically

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMEOUT_S = 300
_LINE_REDRAW = re.compile(r"[^\n]*\r(?!\n)")  # a line the progress bar redrew


def write_kernelspec(folder: pathlib.Path) -> list[str]:
    """Kernel dirs holding one kernelspec, `python3`, that runs this interpreter."""
    spec = folder / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}
        )
    )
    return [str(folder)]


def execute(nb: nbformat.NotebookNode, kernel_dirs: list[str]) -> float:
    """Runs `nb` in place (outputs land in its cells); returns the seconds taken.

    Raises nbclient's CellExecutionError, naming the cell, when a cell fails.
    """
    specs = kernelspec.KernelSpecManager(kernel_dirs=kernel_dirs)
    km = manager.AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        shutdown_kernel="immediate",
        record_timing=False,
        resources={"metadata": {"path": str(ROOT)}},
    )
    start = time.perf_counter()
    client.execute(cleanup_kc=True)
    return time.perf_counter() - start


def tidy_streams(nb: nbformat.NotebookNode) -> None:
    """Joins each cell's consecutive stream outputs and keeps what a live
    notebook shows of a redrawn line (the text after its last carriage return).

    Example:
      >>> out = nbformat.v4.new_output("stream", name="stdout", text="1/4\\r4/4\\n")
      >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell()])
      >>> nb.cells[0].outputs = [out]
      >>> tidy_streams(nb)
      >>> nb.cells[0].outputs[0].text
      '4/4\\n'
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        joined: list[nbformat.NotebookNode] = []
        for out in cell.outputs:
            last = joined[-1] if joined else None
            if (
                out.output_type == "stream"
                and last is not None
                and last.output_type == "stream"
                and last.name == out.name
            ):
                last.text += out.text
            else:
                joined.append(out)
        for out in joined:
            if out.output_type == "stream":
                out.text = _LINE_REDRAW.sub("", out.text)
        cell.outputs = joined


def refresh(path: pathlib.Path, kernel_dirs: list[str]) -> float:
    """Runs the notebook at `path` and writes it back with its outputs."""
    nb = nbformat.read(path, as_version=4)
    seconds = execute(nb, kernel_dirs)
    tidy_streams(nb)
    nbformat.validate(nb)
    write_atomically(path, (nbformat.writes(nb) + "\n").encode("utf-8"))
    return seconds


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(p).resolve() for p in argv] or NOTEBOOKS
    with tempfile.TemporaryDirectory() as folder:
        kernel_dirs = write_kernelspec(pathlib.Path(folder))
        for path in paths:
            seconds = refresh(path, kernel_dirs)
            print(f"{path.relative_to(ROOT)}: ran and saved in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
