"""Compilation paid by every new Python process: each module's kernel warm-up in a fresh
interpreter, first with empty numba and JAX caches, then again with the caches the first
one wrote.

Every notebook, script or dask worker that fits a model is a new process. numba writes
its compiled kernels to disk (``cache=True``) and JAX can keep its own when
``JAX_COMPILATION_CACHE_DIR`` is set; a kernel that misses its cache compiles again in
each process. Printed per module (``_warm_up`` of each, the shapes the test suite uses):
the seconds in the first process, in the second, and their ratio (second / first; the
baseline is the first process, which compiles everything). One thread per process, as
the test suite runs. The caches live in a temporary folder that is removed at the end.

Run::

    python benchmarks/bench_kernel_cache.py
    python benchmarks/bench_kernel_cache.py --modules behavior.syllables.slds
    python benchmarks/bench_kernel_cache.py --no-jax-cache   # numba's cache alone
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import subprocess
import sys
import tempfile


def warm_modules() -> list[str]:
    """Every module of the package that defines ``_warm_up``, in import-path order."""
    import behavior

    found = []
    for info in pkgutil.walk_packages(behavior.__path__, "behavior."):
        module = importlib.import_module(info.name)
        if callable(getattr(module, "_warm_up", None)):
            found.append(info.name)
    return found


_SCRIPT = """
import importlib, sys, time
module = importlib.import_module(sys.argv[1])
start = time.perf_counter()
module._warm_up()
print(time.perf_counter() - start)
"""


def warm_seconds(module: str, env: dict[str, str]) -> float:
    """Seconds of ``module._warm_up()`` in a new interpreter with ``env``."""
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, module], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"{module}: the warm-up failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", help="default: every module with a _warm_up")
    parser.add_argument(
        "--no-jax-cache", action="store_true", help="leave JAX's compilation cache off"
    )
    args = parser.parse_args()
    modules = args.modules or warm_modules()
    print(f"# {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "NUMBA_CACHE_DIR": os.path.join(tmp, "numba"),
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
        }
        if not args.no_jax_cache:
            env["JAX_COMPILATION_CACHE_DIR"] = os.path.join(tmp, "jax")
            env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
            env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
        print(f"{'module':<28} {'first s':>8} {'second s':>9} {'second/first':>13}")
        totals = [0.0, 0.0]
        for module in modules:
            first, second = warm_seconds(module, env), warm_seconds(module, env)
            totals[0] += first
            totals[1] += second
            print(f"{module:<28} {first:8.1f} {second:9.1f} {second / first:13.3f}", flush=True)
        print(f"{'all':<28} {totals[0]:8.1f} {totals[1]:9.1f} {totals[1] / totals[0]:13.3f}")


if __name__ == "__main__":
    main()
