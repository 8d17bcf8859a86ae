"""Every research notebook in `notebooks/` runs top to bottom, in its own kernel,
and is stored with the outputs and figures of such a run.

Each notebook asserts something real in its cells (an accuracy bar, exact equality
after a reload, identical histories), so a regression fails the notebook and this
test shows the cell and its traceback. The stored outputs are what a reader sees
on GitHub; `make notebooks` refreshes them (tests/notebook_runner.py). They are
checked for being whole (every cell ran, in order, none failed) and for their
figures, not for their numbers to the last digit.
"""

from __future__ import annotations

import base64
import sys

import ipykernel  # noqa: F401  (the kernel runs it: fail here when it is missing)
import nbformat
import pytest

from tests import notebook_runner

NOTEBOOKS = notebook_runner.NOTEBOOKS
EXPECTED = ["01", "02", "03", "04", "05", "06", "07"]

# The least number of stored figures (PNG outputs) where a figure says more than
# numbers: 03 the training curves, a confusion matrix and sample predictions with
# their images; 04 a Trainer's curves; 05 the loss under three dtype policies;
# 07 a lowered model's logits beside JAX's.
FIGURES = {"03": 3, "04": 1, "05": 1, "07": 1}

# Run first, in the kernel: which Python it is.
_PROBE = "import sys\nprint(sys.prefix)"


@pytest.fixture(scope="module")
def kernel_dirs(tmp_path_factory) -> list[str]:
    return notebook_runner.write_kernelspec(tmp_path_factory.mktemp("kernels"))


def test_notebooks_01_to_07_are_there():
    prefixes = [path.name[:2] for path in NOTEBOOKS]
    assert all(p in prefixes for p in EXPECTED), prefixes


def _pngs(nb) -> list[bytes]:
    """The stored figures of `nb`, decoded."""
    return [
        base64.b64decode(out["data"]["image/png"])
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "image/png" in out.get("data", {})
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_the_outputs_of_one_run(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: execution counts {counts}: not one run from the top; "
        "refresh the outputs with `make notebooks`"
    )
    for cell in code:
        kinds = [out.output_type for out in cell.outputs]
        assert "error" not in kinds, f"{path.name}: a stored error in {cell.source!r}"
        assert not any("\r" in out.get("text", "") for out in cell.outputs), (
            f"{path.name}: a progress bar's redraws stored raw; run `make notebooks`"
        )
    assert any(cell.outputs for cell in code), f"{path.name} holds no outputs"
    figures, want = _pngs(nb), FIGURES.get(path.name[:2], 0)
    assert len(figures) >= want, f"{path.name}: {len(figures)} figures, {want} drawn"
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in figures)


# The six heaviest (8-21 s of a worker each) run with -m slow, to keep the
# default suite under its time budget; what they teach is tested by unit tests
# (02's three styles by tests/nn/models/three_styles_test.py, 06's sharded fit
# by tests/examples/sharded_training_test.py).
_SLOW = {"02", "03", "04", "05", "06", "07"}


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
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.insert(0, nbformat.v4.new_code_cell(_PROBE))
    seconds = notebook_runner.execute(nb, kernel_dirs)  # raises naming the cell
    probe = "".join(out.get("text", "") for out in nb.cells[0].outputs).strip()
    assert probe == sys.prefix, f"the kernel ran {probe!r}, not this interpreter"
    assert len(_pngs(nb)) >= FIGURES.get(path.name[:2], 0), "a figure was not drawn"
    print(f"{path.name}: {seconds:.1f} s")
