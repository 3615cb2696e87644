"""Project-level promises: the README's commands, CI, lazy imports, docs on public functions."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

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


def test_readme_python_runs_as_written(tmp_path):
    """Every ```python block of the README, run in a fresh interpreter from a folder that
    sits beside ../shared (as a clone does), with nothing defined beforehand."""
    shared = REPO_ROOT.parent / "shared"
    if not (shared / "data" / "MANIFEST.csv").is_file():
        pytest.skip(f"the README reads real files from {shared / 'data'}, which is absent")
    text = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "README.md has no python block"
    work = tmp_path / "clone"
    work.mkdir()
    (tmp_path / "shared").symlink_to(shared, target_is_directory=True)
    script = work / "readme.py"
    script.write_text("\n".join(blocks))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert (work / "session.nc").is_file() and (work / "classifier.skops").is_file()


def test_readme_command_line_runs_as_written(tmp_path):
    """The README's command-line block, line by line, from a folder beside ../shared."""
    shared = REPO_ROOT.parent / "shared"
    if not (shared / "data" / "MANIFEST.csv").is_file():
        pytest.skip(f"the README reads real files from {shared / 'data'}, which is absent")
    text = (REPO_ROOT / "README.md").read_text()
    section = text[text.index("## Command line") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert lines and all(line.startswith("behavior ") for line in lines)
    work = tmp_path / "clone"
    work.mkdir()
    (tmp_path / "shared").symlink_to(shared, target_is_directory=True)
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "MPLBACKEND": "Agg", "PATH": path}
    for line in lines:
        out = subprocess.run(
            ["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert out.returncode == 0, f"{line}\n{out.stderr[-2000:]}"
    assert (work / "clip1.nc").is_file() and (work / "results").is_dir()


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
