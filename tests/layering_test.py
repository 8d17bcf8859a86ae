"""The one-way layering of DESIGN.md, and no backend package loaded at import."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ORDER = ["stateless", "interop", "train", "nn"]  # each may import only those before it


def _imported_roots(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("package", ORDER)
def test_packages_import_only_downward(package):
    forbidden = set(ORDER[ORDER.index(package) + 1 :])
    offenders = [
        f"{path.relative_to(ROOT)} imports {root}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for root in _imported_roots(path)
        if root in forbidden
    ]
    assert not offenders


def _imported_modules(path):
    """Every module a file imports, dotted in full (`from a import b` gives
    `a` and `a.b`), at any depth of the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


TARGETS = ("interop.torch", "interop.tensorflow")


@pytest.mark.parametrize(
    "part", ["interop/lowering.py", "interop/custom_rules.py", "interop/__init__.py",
             "interop/torch", "interop/tensorflow"],
)  # fmt: skip
def test_the_lowering_loop_imports_no_target_and_no_target_another(part):
    # A target (its rules, its adapter) imports the loop, never the reverse:
    # the loop finds a target by name (interop.lowering.TARGETS).
    paths = sorted((ROOT / part).rglob("*.py")) if (ROOT / part).is_dir() else [
        ROOT / part
    ]  # fmt: skip
    own = tuple(t for t in TARGETS if part.endswith(t.split(".")[1]))
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in paths
        for module in _imported_modules(path)
        if any(module == t or module.startswith(t + ".") for t in TARGETS)
        and not any(module == t or module.startswith(t + ".") for t in own)
    ]
    assert not offenders


@pytest.mark.parametrize("backend", ["jax", "torch", "tensorflow"])
def test_importing_the_framework_loads_no_backend_package(backend):
    code = (
        "import sys, stateless, interop, train, nn; stateless.backend(); "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('torch', 'tensorflow', 'keras')))"
    )
    env = {"STATELESS_BACKEND": backend, "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
