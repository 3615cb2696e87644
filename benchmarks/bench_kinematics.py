"""Cleaning and kinematics: speed and peak memory of behavior against movement.

Builds the session of issue 3: 1 hour at 30 fps (108,000 frames), 2 individuals,
20 keypoints, random-walk positions with 5 % of the points missing in gaps of 1-10
frames (x and y together), confidences from a Beta(8, 1.5). Then, for each step,
behavior's function and movement's equivalent on the same data, in the same run:

- confidence filter (0.6): ``filter_by_confidence`` in both;
- gap interpolation (max 10 frames): ``interpolate_gaps`` / ``interpolate_over_time``;
- 7-frame median: ``median_filter`` / ``rolling_filter(statistic="median")``;
- Savitzky-Golay (7 frames, order 2): ``savgol_filter`` in both (movement's with
  ``mode="nearest"``: its default ``"interp"`` raises on NaN at the edges);
- velocity, speed: ``velocity`` / ``compute_velocity``, ``speed`` / ``compute_speed``;
- path length (ffill): ``path_length`` / ``compute_path_length``;
- heading: ``body_heading`` (tail base to nose) / ``compute_forward_vector_angle``
  (movement's heading, from the ears);
- pairwise centroid distance: ``social.centroid_distances`` /
  ``compute_pairwise_distances`` of the mean over keypoints.

* Time: wall clock of one call on the full session, best of ``--repeats`` (3),
  after a warm-up call of both libraries on a 2,000-frame slice (imports, numba
  compilation or cache loading), in this process.
* Peak memory: each step runs once more in a fresh child process per library,
  which loads the data, warms up the same way, resets the kernel's high-water
  mark (``/proc/self/clear_refs``) and reports ``VmHWM - VmRSS`` around the call:
  the extra resident memory the call needed at its peak, whatever allocated it
  (numpy, numba, bottleneck), the result included. Linux only; ``--no-memory``
  skips it.

Ratios are movement / behavior: above 1 means behavior is faster or lighter.
Targets (issue 3): total at least 20x faster, no step slower, peak memory no
higher. movement is compared when ``import movement`` works (``pip install
movement``: a dev-only comparison). Its gap interpolation with ``max_gap`` and its
ffill path length call xarray's ffill/bfill, which need bottleneck or numbagg,
neither of which movement requires; when both are absent this script gives xarray
a numpy forward fill for movement's calls and says so in the output.

Run::

    python benchmarks/bench_kinematics.py                  # the full hour
    python benchmarks/bench_kinematics.py --frames 5000    # a quick check
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _timing import best_of

KEYPOINTS = [
    "nose",
    "left_ear",
    "right_ear",
    "neck",
    "body_center",
    "left_hip",
    "right_hip",
    "tail_base",
    "tail_mid",
    "tail_tip",
]

STEPS = [
    "confidence filter",
    "gap interpolation",
    "median 7 frames",
    "Savitzky-Golay",
    "velocity",
    "speed",
    "path length",
    "heading",
    "centroid distance",
]

WARM_FRAMES = 2000


# --------------------------------------------------------------------------- data


def make_session(
    n_frames: int, n_individuals: int, n_keypoints: int, missing: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (time, space, keypoint, individual) and confidences with NaN gaps."""
    rng = np.random.default_rng(seed)
    shape = (n_frames, 2, n_keypoints, n_individuals)
    position = 500.0 + np.cumsum(rng.normal(0.0, 1.5, size=shape), axis=0)
    confidence = rng.beta(8.0, 1.5, size=(n_frames, n_keypoints, n_individuals))
    gap = np.zeros((n_frames, n_keypoints, n_individuals), dtype=bool)
    lengths = np.arange(1, 11)
    for k in range(n_keypoints):
        for i in range(n_individuals):
            track = gap[:, k, i]
            while track.mean() < missing:  # add gaps of 1-10 frames until 5 % is missing
                n_new = max(1, int((missing - track.mean()) * n_frames / lengths.mean()))
                starts = rng.integers(0, n_frames, n_new)
                size = rng.choice(lengths, n_new)
                offsets = np.arange(10)
                index = (starts[:, None] + offsets)[offsets < size[:, None]]
                track[index[index < n_frames]] = True
    position[np.broadcast_to(gap[:, None], shape)] = np.nan
    confidence[gap] = rng.uniform(0.0, 0.3, size=int(gap.sum()))
    return position, confidence


def keypoint_names(n: int) -> list[str]:
    return (KEYPOINTS + [f"keypoint_{i}" for i in range(len(KEYPOINTS), n)])[:n]


def build(position: np.ndarray, confidence: np.ndarray, fps: float = 30.0):
    import behavior as bh

    return bh.from_numpy(
        position,
        confidence,
        keypoint_names=keypoint_names(position.shape[2]),
        individual_names=[f"mouse_{i}" for i in range(position.shape[3])],
        fps=fps,
        source_software="benchmark",
    )


# --------------------------------------------------------------------------- the steps


def _numpy_push(array, n=None, axis=-1):
    """Forward fill along ``axis`` (at most ``n`` frames), as bottleneck.push does."""
    values = np.moveaxis(np.asarray(array), axis, 0)
    frame = np.arange(values.shape[0]).reshape((-1,) + (1,) * (values.ndim - 1))
    last = np.maximum.accumulate(np.where(np.isnan(values), -1, frame), axis=0)
    filled = np.take_along_axis(values, np.maximum(last, 0), axis=0)
    keep = last >= 0
    if n is not None:
        keep &= frame - last <= n
    return np.moveaxis(np.where(keep, filled, np.nan), 0, axis)


def movement_available() -> bool:
    return importlib.util.find_spec("movement") is not None


def push_stand_in() -> bool:
    """Give xarray a numpy ffill when neither bottleneck nor numbagg is installed."""
    if any(importlib.util.find_spec(m) for m in ("bottleneck", "numbagg")):
        return False
    from xarray.core import duck_array_ops

    duck_array_ops._push = _numpy_push
    return True


def behavior_steps(ds) -> dict[str, Callable[[], object]]:
    from behavior import filtering, kinematics, social

    pos, conf = ds.position, ds.confidence
    return {
        "confidence filter": lambda: filtering.filter_by_confidence(pos, conf, 0.6),
        "gap interpolation": lambda: filtering.interpolate_gaps(pos, max_gap=10),
        "median 7 frames": lambda: filtering.median_filter(pos, 7),
        "Savitzky-Golay": lambda: filtering.savgol_filter(pos, 7, 2),
        "velocity": lambda: kinematics.velocity(pos),
        "speed": lambda: kinematics.speed(pos),
        "path length": lambda: kinematics.path_length(pos),
        "heading": lambda: kinematics.body_heading(pos, "tail_base", "nose"),
        "centroid distance": lambda: social.centroid_distances(pos),
    }


def movement_steps(ds) -> dict[str, Callable[[], object]]:
    from movement import filtering
    from movement.io import load_poses
    from movement.kinematics import (
        compute_forward_vector_angle,
        compute_pairwise_distances,
        compute_path_length,
        compute_speed,
        compute_velocity,
    )

    theirs = load_poses.from_numpy(np.zeros((3, 2, 1, 1))).position.dims
    rename = {a: b for a, b in zip(("time", "space", "keypoint", "individual"), theirs) if a != b}
    mds = ds.rename(rename)
    pos, conf = mds.position, mds.confidence
    kp, ind = rename.get("keypoint", "keypoint"), rename.get("individual", "individual")
    return {
        "confidence filter": lambda: filtering.filter_by_confidence(pos, conf, 0.6),
        "gap interpolation": lambda: filtering.interpolate_over_time(pos, max_gap=10),
        "median 7 frames": lambda: filtering.rolling_filter(pos, 7, statistic="median"),
        "Savitzky-Golay": lambda: filtering.savgol_filter(pos, 7, 2, mode="nearest"),
        "velocity": lambda: compute_velocity(pos),
        "speed": lambda: compute_speed(pos),
        "path length": lambda: compute_path_length(pos),
        "heading": lambda: compute_forward_vector_angle(pos, "left_ear", "right_ear"),
        "centroid distance": lambda: compute_pairwise_distances(pos.mean(kp), ind, "all"),
    }


def steps_for(lib: str, ds) -> dict[str, Callable[[], object]]:
    return behavior_steps(ds) if lib == "behavior" else movement_steps(ds)


def quiet_logs() -> None:
    warnings.simplefilter("ignore")
    try:  # movement logs every call through loguru
        from loguru import logger

        logger.remove()
    except ImportError:
        pass


# --------------------------------------------------------------------------- measuring


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(lib: str, step: str, data: Path) -> None:
    """Run one step once in this fresh process and print its peak extra memory (MiB)."""
    quiet_logs()
    arrays = np.load(data)
    ds = build(arrays["position"], arrays["confidence"])
    if lib == "movement":
        push_stand_in()
    steps_for(lib, ds.isel(time=slice(0, WARM_FRAMES)))[step]()  # imports, kernels
    func = steps_for(lib, ds)[step]
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    result = func()
    peak = _status_kib("VmHWM") - before
    del result
    print(json.dumps({"peak_mib": peak / 1024}))


def peak_in_child(lib: str, step: str, data: Path) -> float | None:
    out = subprocess.run(
        [sys.executable, __file__, "--child", lib, step, str(data)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if out.returncode != 0:
        print(f"  ({lib} {step}: memory child failed: {out.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=108_000, help="default: 1 h at 30 fps")
    parser.add_argument("--individuals", type=int, default=2)
    parser.add_argument("--keypoints", type=int, default=20)
    parser.add_argument("--missing", type=float, default=0.05, help="fraction of points in gaps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    parser.add_argument("--no-movement", action="store_true", help="time behavior alone")
    parser.add_argument("--child", nargs=3, metavar=("LIB", "STEP", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], Path(args.child[2]))
        return 0
    if args.keypoints < 8:
        parser.error("--keypoints: at least 8 (nose, ears, tail base are used)")

    quiet_logs()
    position, confidence = make_session(
        args.frames, args.individuals, args.keypoints, args.missing, args.seed
    )
    ds = build(position, confidence)
    libs = ["behavior"]
    if not args.no_movement and movement_available():
        libs.append("movement")
        import movement

        stand_in = push_stand_in()
    elif not args.no_movement:
        print("movement is not installed (pip install movement): timing behavior alone")
    memory = not args.no_memory and Path("/proc/self/clear_refs").exists()

    print(
        f"session: {args.frames} frames x {args.individuals} individuals x {args.keypoints} "
        f"keypoints, {100 * np.isnan(position[:, 0]).mean():.1f} % missing in gaps of 1-10 "
        f"frames; best of {args.repeats}"
    )
    if "movement" in libs:
        print(f"movement {movement.__version__}", end="")
        if stand_in:
            print(
                " (bottleneck/numbagg absent: its ffill/bfill use a numpy stand-in)",
                end="",
            )
        print()

    warm = ds.isel(time=slice(0, WARM_FRAMES))
    for lib in libs:
        for func in steps_for(lib, warm).values():
            func()
    funcs = {lib: steps_for(lib, ds) for lib in libs}

    data = None
    if memory:
        folder = tempfile.mkdtemp(prefix="bench_kinematics_")
        data = Path(folder) / "session.npz"
        np.savez(data, position=position, confidence=confidence)

    rows = []
    for step in STEPS:
        row = {"step": step}
        for lib in libs:
            row[lib] = best_of(funcs[lib][step], args.repeats)
            row[f"{lib}_mib"] = peak_in_child(lib, step, data) if memory else None
        rows.append(row)
        _print_row(row, libs, header=len(rows) == 1)
    _print_total(rows, libs)
    if data is not None:
        data.unlink()
        data.parent.rmdir()
    return 0


def _fmt_mib(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _print_row(row: dict, libs: list[str], header: bool) -> None:
    if header:
        cols = f"{'step':<20}{'behavior s':>12}"
        if "movement" in libs:
            cols += f"{'movement s':>12}{'ratio':>8}"
        cols += f"{'behavior MiB':>14}"
        if "movement" in libs:
            cols += f"{'movement MiB':>14}{'ratio':>8}"
        print(cols)
        print("-" * len(cols))
    line = f"{row['step']:<20}{row['behavior']:>12.4f}"
    if "movement" in libs:
        line += f"{row['movement']:>12.4f}{row['movement'] / row['behavior']:>7.1f}x"
    line += f"{_fmt_mib(row['behavior_mib']):>14}"
    if "movement" in libs:
        line += f"{_fmt_mib(row['movement_mib']):>14}"
        ours, theirs = row["behavior_mib"], row["movement_mib"]
        ratio = f"{theirs / max(ours, 1.0):.1f}x" if ours is not None and theirs else "-"
        line += f"{ratio:>8}"
    print(line, flush=True)


def _print_total(rows: list[dict], libs: list[str]) -> None:
    ours = sum(r["behavior"] for r in rows)
    line = f"{'total':<20}{ours:>12.4f}"
    if "movement" in libs:
        theirs = sum(r["movement"] for r in rows)
        line += f"{theirs:>12.4f}{theirs / ours:>7.1f}x"
        slower = [r["step"] for r in rows if r["movement"] < r["behavior"]]
    peaks = {lib: [r[f"{lib}_mib"] for r in rows if r[f"{lib}_mib"] is not None] for lib in libs}
    if all(peaks.values()) and peaks["behavior"]:
        line += f"{max(peaks['behavior']):>14.0f}"
        if "movement" in libs:
            line += f"{max(peaks['movement']):>14.0f}"
            line += f"{max(peaks['movement']) / max(max(peaks['behavior']), 1.0):>7.1f}x"
    print("-" * len(line))
    print(line + "   (MiB: the largest peak of any step; ratios floor MiB at 1)")
    if "movement" in libs:
        print(f"steps slower than movement: {', '.join(slower) if slower else 'none'}")
        heavier = [
            r["step"]
            for r in rows
            if r["behavior_mib"] is not None
            and r["movement_mib"] is not None
            and r["behavior_mib"] > r["movement_mib"]
        ]
        print(f"steps with a higher peak than movement: {', '.join(heavier) or 'none'}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
