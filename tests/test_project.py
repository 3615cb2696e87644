"""Project-level promises: the README's commands, CI, lazy imports, docs on public functions."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def _readme_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_demo_and_test_commands():
    demo, tests = _readme_commands()[:2]
    assert demo.endswith("behavior demo")
    assert "pip install -e ." in demo
    assert "pytest" in tests and '".[dev]"' in tests


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert _readme_commands()[1] in ci.splitlines()
    assert '"$rc" -eq 5' in ci


def test_import_is_lazy_about_heavy_dependencies():
    code = (
        "import sys, behavior as bh; bh.from_numpy; "
        "heavy = [m for m in ('jax', 'matplotlib', 'sleap_io', 'pynwb', 'dask', 'numba', "
        "'sklearn', 'tables') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _public_modules() -> list[str]:
    """Every module of the package whose own name and folders are public."""
    names = []
    for path in sorted((REPO_ROOT / "behavior").rglob("*.py")):
        parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            names.append(".".join(parts))
    return names


PUBLIC_MODULES = _public_modules()


def test_public_module_list_is_complete():
    for name in ["behavior.dataset", "behavior.bouts", "behavior.events.presets",
                 "behavior.classify.model", "behavior.plot.ethograms", "behavior.io.deeplabcut",
                 "behavior.syllables.arhmm"]:  # fmt: skip
        assert name in PUBLIC_MODULES
    assert not any("._" in name for name in PUBLIC_MODULES)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_functions_have_numpydoc_with_example(module_name):
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])
    missing = []
    for name in names:
        obj = getattr(module, name)
        if not inspect.isfunction(obj) or obj.__module__ != module_name:
            continue
        doc = inspect.getdoc(obj) or ""
        needs_params = bool(inspect.signature(obj).parameters)
        if "Examples" not in doc or ("Parameters" not in doc and needs_params):
            missing.append(name)
    assert not missing, f"{module_name}: public functions without Parameters/Examples: {missing}"
