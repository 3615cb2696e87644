"""Feature extraction: time and peak memory of ``behavior.features.extract`` on 30 minutes.

Builds the session of issue 6: 2 mice x 8 keypoints x 54,000 frames (30 min at
30 fps), simulated with ``behavior.simulate.session(kind="social")`` and cut to
the 8 body keypoints (nose, ears, neck, body centre, hips, tail base; the tail
beyond its base dropped). The dataset records its calibration, so features are
in cm.

Times ``extract`` with the default sets and windows (every built-in set that
applies; windows 0.1, 0.25, 0.5, 1 and 2 s; mean, std, min, max, sum), which
gives about 500 features: wall clock of one call, best of ``--repeats`` (3),
after a warm-up call on a 2,000-frame slice (imports, numba compilation or cache
loading) in this process. Peak memory is the tracemalloc peak of one call
(numpy's allocations, the output included) and the process's maximum resident
size.

Reference: SimBA (simba-uw-tf-dev) takes 16-23 s to extract its 498 features
for 2 mice x 8 body parts on 54,000 frames on this kind of machine (issue 6).
SimBA is not installable in this environment (it pins its own Python, numba and
TensorFlow); when it is importable the benchmark says so and writes the session
as a DeepLabCut CSV (``--export-csv``) for SimBA's own feature extraction, as
SimBA only runs from a project folder.

Target (issue 6): at least 20x faster than SimBA, i.e. under 0.8 s (16 s / 20),
and peak memory under 1 GB.

Run::

    python benchmarks/bench_features.py                 # 30 minutes
    python benchmarks/bench_features.py --minutes 2     # a quick check
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable

from _timing import best_of

SIMBA_SECONDS = (16.0, 23.0)
TARGET_SPEEDUP = 20.0
MEMORY_TARGET_MB = 1024.0
WARM_FRAMES = 2000


def peak_traced_mb(func: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def simba_status() -> str | None:
    """SimBA's version when it is installed, else None."""
    try:
        return importlib.metadata.version("simba-uw-tf-dev")
    except importlib.metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="default: 30 (54,000 frames)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export-csv", default=None, help="write the session as a DLC CSV")
    args = parser.parse_args(argv)

    import numba

    import behavior as bh
    from behavior import features

    ds, _ = bh.simulate.session(
        kind="social", duration=args.minutes * 60.0, fps=args.fps, seed=args.seed
    )
    ds = ds.sel(keypoint=list(bh.simulate.BODY_KEYPOINTS))  # the 8 body keypoints
    n = ds.sizes["time"]
    print(
        f"session: {n:,} frames x {ds.sizes['keypoint']} keypoints x {ds.sizes['individual']} "
        f"individuals at {args.fps:g} fps; numba threads: {numba.get_num_threads()}, "
        f"CPUs: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}"
    )

    start = time.perf_counter()
    features._warm_up()
    features.extract(ds.isel(time=slice(0, WARM_FRAMES)), progress=False)
    print(f"warm-up (numba compile or cache load): {time.perf_counter() - start:.2f} s")

    result = features.extract(ds, progress=False)
    per_set: dict[str, int] = {}
    for name in result.feature_set.values:
        per_set[str(name)] = per_set.get(str(name), 0) + 1
    n_features = result.sizes["feature"]
    print(
        f"features: {n_features} ({', '.join(f'{k} {v}' for k, v in per_set.items())}); "
        f"{sum('|' in str(f) for f in result.feature.values)} of them window statistics; "
        f"output {result.nbytes / 2**20:.0f} MiB float32, unit {result.attrs['space_unit']}"
    )
    del result

    seconds = best_of(lambda: features.extract(ds, progress=False), args.repeats)
    cpu = best_of(
        lambda: features.extract(ds, progress=False), args.repeats, clock=time.process_time
    )
    traced = peak_traced_mb(lambda: features.extract(ds, progress=False))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB -> MB on Linux
    per_frame = features.extract(ds, windows=None, progress=False)
    seconds_frame = best_of(
        lambda: features.extract(ds, windows=None, progress=False), args.repeats
    )
    load = os.getloadavg()[0]

    lo, hi = SIMBA_SECONDS
    print(f"\n{'what':<44} {'value':>10}")
    print(f"{'extract, default (best of ' + str(args.repeats) + ')':<44} {seconds:9.3f} s")
    print(
        f"{'extract, per-frame only (' + str(per_frame.sizes['feature']) + ' features)':<44} "
        f"{seconds_frame:9.3f} s"
    )
    print(f"{'CPU time of one call (all threads, best)':<44} {cpu:9.3f} s")
    print(f"{'peak memory of one call (tracemalloc)':<44} {traced:8.0f} MB")
    print(f"{'peak resident size of the process':<44} {rss:8.0f} MB")
    print(f"{'SimBA, reported (498 features)':<44} {lo:.0f}-{hi:.0f} s")
    if n >= 54_000:
        print(f"{'speed-up over SimBA':<44} {lo / seconds:5.0f}-{hi / seconds:.0f}x")
    else:
        print(f"{'speed-up over SimBA':<44} {'n/a':>10} (SimBA's figure is for 54,000 frames)")

    if load > 1.5:
        print(
            f"\nnote: load average {load:.1f} on {os.cpu_count()} CPUs: the wall-clock times "
            "include waiting for a CPU; the CPU time shows the work of one call."
        )

    version = simba_status()
    if version is None:
        print(
            "\nSimBA (simba-uw-tf-dev) is not installed: it is not pip-installable in this "
            "environment (it pins its own Python, numba and TensorFlow), so the comparison "
            "uses its reported 16-23 s for this session size."
        )
    else:
        print(
            f"\nSimBA {version} is importable. Its feature extraction runs from a SimBA "
            "project folder (project_config.ini and the pose CSVs): write this session with "
            "--export-csv, import it into a project with 2 animals x 8 body parts, run "
            "'Extract features' and compare its time with the figures above."
        )
    if args.export_csv:
        path = bh.save_poses(ds, args.export_csv)
        print(f"session written to {path}")

    full = n >= 54_000
    fast = lo / seconds >= TARGET_SPEEDUP
    small = traced < MEMORY_TARGET_MB
    print(
        f"\ntarget: >= {TARGET_SPEEDUP:.0f}x SimBA (under {lo / TARGET_SPEEDUP:.2f} s): "
        f"{'OK' if fast else 'MISSED'}; peak memory < {MEMORY_TARGET_MB:.0f} MB: "
        f"{'OK' if small else 'MISSED'}"
        + ("" if full else " (a shorter session: the targets are for 54,000 frames)")
    )
    return 1 if full and not (fast and small) else 0


if __name__ == "__main__":
    sys.exit(main())
