"""Every research notebook in `notebooks/` runs top to bottom, in its own kernel.

Each notebook asserts something real in its cells (an accuracy bar, exact equality
after a reload, identical histories), so a regression fails the notebook and this
test shows the cell and its traceback. The kernel is this interpreter: a kernelspec
written to a temporary directory points at `sys.executable`, whatever kernels
Jupyter would otherwise find, and the notebooks run from the repository root.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

import ipykernel  # noqa: F401  (the kernel runs it: fail here when it is missing)
import nbclient
import nbformat
import pytest
from jupyter_client import kernelspec, manager

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01", "02", "03", "04", "05", "06", "07"]

# Run first, in the kernel: which Python it is.
_PROBE = "import sys\nprint(sys.prefix)"


@pytest.fixture(scope="module")
def kernel_dirs(tmp_path_factory) -> list[str]:
    """A directory holding one kernelspec, `python3`, that runs this interpreter."""
    root = tmp_path_factory.mktemp("kernels")
    spec = root / "python3"
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {"argv": argv, "display_name": "Python 3 (tests)", "language": "python"}
        )
    )
    return [str(root)]


def test_notebooks_01_to_07_are_there():
    prefixes = [path.name[:2] for path in NOTEBOOKS]
    assert all(p in prefixes for p in EXPECTED), prefixes


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_saved_without_outputs(path):
    """Outputs stay out of the repository, so diffs show only what was written."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


# The four heaviest (17-21 s of a worker each) run with -m slow, to keep the
# default suite under its time budget; what they teach is tested by unit tests.
_SLOW = {"03", "04", "05", "07"}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(
            path,
            id=path.stem,
            marks=[pytest.mark.slow] if path.name[:2] in _SLOW else [],
        )
        for path in NOTEBOOKS
    ],
)
def test_notebook_runs_top_to_bottom(path, kernel_dirs):
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_PROBE))
    specs = kernelspec.KernelSpecManager(kernel_dirs=kernel_dirs)
    km = manager.AsyncKernelManager(kernel_name="python3", kernel_spec_manager=specs)
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=300,
        kernel_name="python3",
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(ROOT)}},
    )
    start = time.perf_counter()
    client.execute(cleanup_kc=True)  # raises CellExecutionError naming the cell
    seconds = time.perf_counter() - start
    probe = "".join(out.get("text", "") for out in nb.cells[0].outputs).strip()
    assert probe == sys.prefix, f"the kernel ran {probe!r}, not this interpreter"
    print(f"{path.name}: {seconds:.1f} s")
