"""Shared fixtures: the real pose files in ../shared/data and small synthetic datasets."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

# The README's test command runs two pytest-xdist workers. Each gets one thread for
# OpenMP (LightGBM), BLAS, numba and XLA: two workers that each spin up a pool the size
# of the machine fight over the cores and run slower than one worker alone. Set before
# any of those libraries is imported; notebook kernels and the README's subprocesses
# inherit it.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMBA_NUM_THREADS",
    ):
        os.environ.setdefault(_name, "1")
    # (XLA takes only --flags; a bare "intra_op_parallelism_threads=1" here was ignored)
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

REPO_ROOT = Path(__file__).resolve().parents[1]

# One JAX compilation cache on disk for the whole run: each worker, notebook kernel and
# README subprocess compiles the same AR-HMM kernels otherwise (its warm-up in a second
# process: 32.9 s without this cache, 12.6 s with it; benchmarks/bench_kernel_cache.py).
# Tests only: the library leaves JAX's cache settings to the user.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(REPO_ROOT / ".pytest_cache" / "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
SHARED_DATA = Path(os.environ.get("BEHAVIOR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def shared_data_available() -> bool:
    return (SHARED_DATA / "MANIFEST.csv").is_file()


def manifest_rows() -> list[dict[str, str]]:
    """Rows of ../shared/data/MANIFEST.csv (empty when the folder is absent)."""
    if not shared_data_available():
        return []
    with open(SHARED_DATA / "MANIFEST.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real pose files; skips the test when it is absent."""
    if not shared_data_available():
        pytest.skip(f"real pose files not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


@pytest.fixture
def small_poses():
    """A 2-individual, 3-keypoint, 2D dataset of 50 frames at 30 fps with some NaN."""
    import behavior as bh

    rng = np.random.default_rng(0)
    position = rng.normal(100, 20, size=(50, 2, 3, 2))
    position[5, :, 1, 0] = np.nan
    confidence = rng.uniform(0, 1, size=(50, 3, 2))
    confidence[5, 1, 0] = np.nan
    return bh.from_numpy(
        position,
        confidence,
        individual_names=["mouse_a", "mouse_b"],
        keypoint_names=["nose", "neck", "tail_base"],
        fps=30,
        source_software="test",
    )


# Modules whose numba (or JAX) kernels are compiled once per test session, up front,
# so that compilation time is not charged to whichever test happens to run first.
_WARM_MODULES = (
    "behavior.filtering",
    "behavior.kinematics",
    "behavior.simulate",
    "behavior.social",
    "behavior.features",
    "behavior.classify._common",
    "behavior.decode",
    "behavior.classify.temporal",
    "behavior.contrastive",
    "behavior.syllables.arhmm",
    "behavior.syllables.slds",
)


@pytest.fixture(scope="session", autouse=True)
def _warm_kernels():
    import importlib

    # The second worker warms in reverse order, so that each compiles about half of
    # the numba kernels and loads the rest from the cache the other wrote.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    reverse = worker[2:].isdigit() and int(worker[2:]) % 2 == 1
    for name in _WARM_MODULES[::-1] if reverse else _WARM_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        warm = getattr(module, "_warm_up", None)
        if warm is not None:
            warm()
