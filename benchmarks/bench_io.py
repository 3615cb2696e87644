"""Load speed and peak memory of DeepLabCut files: behavior against movement.

Builds a synthetic session (by default 1 hour, 2 animals, 20 keypoints: 108,000
frames at 30 fps; random-walk positions, some points missing), writes it the way
DeepLabCut does (pandas ``to_hdf(format="table", key="df_with_missing")`` and
``to_csv``), then loads each file with each library in a fresh subprocess:

* wall time of the load call, best of ``--repeats``;
* peak RSS of the child minus that of a baseline child that only imports the
  library. The peak is the child's ``VmHWM`` from ``/proc/self/status`` (Linux):
  ``resource.getrusage(...).ru_maxrss`` survives ``exec`` and so also counts the
  parent's pages at fork (hundreds of MiB here); elsewhere it falls back to
  ``ru_maxrss``.

Both children first build a one-element xarray Dataset, so xarray's one-time lazy
imports (dask, about 0.3 s), which movement pays at import, are in neither load.

A third row times the bare pandas read DeepLabCut does (``pd.read_hdf`` /
``pd.read_csv(header=[0, 1, 2, 3], index_col=0)``, no dataset built) for reference.
movement is compared when ``import movement`` works (``pip install movement``; a
dev-only comparison, not a dependency). Ratios are movement / behavior: above 1
means behavior is faster or lighter. Targets: h5 no slower than movement, CSV at
least 2x faster, peak memory below movement's.

Run::

    python benchmarks/bench_io.py                       # the full hour
    python benchmarks/bench_io.py --minutes 1 --keypoints 5   # a quick check
    python benchmarks/bench_io.py --parsers --minutes 20       # CSV parsers only

``--parsers`` times the CSV number parsers alone (pandas' C engine, its pyarrow
engine, and the pyarrow piece parser ``behavior`` uses), each in fresh processes,
on the synthetic CSV and on every DeepLabCut / Lightning Pose CSV in
``../shared/data``; the full run ends with the same comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHILD = r"""
import json, resource, sys, time
lib, path, mode = sys.argv[1:4]
if lib == "behavior":
    import behavior as bh
    import behavior.io.deeplabcut  # noqa: F401  (the frontend's own imports)
    load = bh.load_poses
elif lib == "pandas":  # the bare DataFrame read that DeepLabCut itself does
    import pandas as pd
    import tables  # noqa: F401  (pd.read_hdf imports it on first use)

    class Frame:
        def __init__(self, df):
            self.position = df.to_numpy()

    def load(path):
        if path.endswith(".csv"):
            return Frame(pd.read_csv(path, header=[0, 1, 2, 3], index_col=0))
        return Frame(pd.read_hdf(path, "df_with_missing"))
else:
    from movement.io import load_poses as mio
    load = mio.from_dlc_file
import xarray as xr
xr.Dataset({"warm": ("x", [0.0])})  # xarray's one-time lazy imports (dask), for both
seconds = again = None
if mode == "load":
    start = time.perf_counter()
    ds = load(path)
    seconds = time.perf_counter() - start
    assert ds.position.shape[0] > 0
    del ds
    start = time.perf_counter()
    ds = load(path)  # the same file again: steady state, every import done
    again = time.perf_counter() - start
try:  # this process's own high-water mark; ru_maxrss on Linux also counts the parent's
    with open("/proc/self/status") as fh:  # pages at fork, before exec
        peak_mb = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
except OSError:
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "again": again, "peak_mb": peak_mb}))
"""


def session(minutes: float, keypoints: int, individuals: int, fps: float, seed: int = 0):
    """A DeepLabCut DataFrame: random-walk x/y, likelihood in [0, 1], ~2% missing points."""
    rng = np.random.default_rng(seed)
    n = round(minutes * 60 * fps)
    steps = rng.normal(0, 1.5, size=(n, individuals, keypoints, 2))
    xy = 300 + np.cumsum(steps, axis=0)
    likelihood = rng.uniform(0, 1, size=(n, individuals, keypoints, 1))
    values = np.concatenate([xy, likelihood], axis=-1)
    values[rng.uniform(size=(n, individuals, keypoints)) < 0.02] = np.nan
    columns = pd.MultiIndex.from_product(
        [
            ["DLC_resnet50_benchJan1shuffle1_100000"],
            [f"mouse{i + 1}" for i in range(individuals)],
            [f"bodypart{k}" for k in range(keypoints)],
            ["x", "y", "likelihood"],
        ],
        names=["scorer", "individuals", "bodyparts", "coords"],
    )
    return pd.DataFrame(values.reshape(n, -1), columns=columns)


def run_child(lib: str, path: Path, mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, lib, str(path), mode],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{lib} {mode} {path.name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(lib: str, path: Path, repeats: int, baseline_mb: float) -> dict:
    runs = [run_child(lib, path, "load") for _ in range(repeats)]
    return {
        "seconds": min(r["seconds"] for r in runs),
        "again": min(r["again"] for r in runs),
        "peak_mb": min(r["peak_mb"] for r in runs) - baseline_mb,
    }


def has_movement() -> bool:
    try:
        import movement  # noqa: F401
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------- CSV parsers
# Which parser reads the numeric block of a DeepLabCut CSV. The numba parser
# ``behavior.io._fastcsv`` (540 lines) had to be at least 2x faster than pandas' C
# parser or pyarrow's, in a fresh process with compilation included, to stay (issue
# 14). Measured with ``--parsers --minutes 20 --repeats 3`` (2 shared CPUs, pandas
# 3.1.1, pyarrow 26.0.1; best of 3 fresh processes; "cold" = empty numba cache, so compiled;
# "again" = a second read in the same process), seconds:
#
#                         20-min session, 76 MiB     92 shared-data CSVs, 160 MiB
#                         first      again           first      again
#   fastcsv (cold cache)  1.902      0.189           2.437      0.597
#   fastcsv (cached)      0.770      0.179           0.989      0.541
#   pandas C              0.306      0.442           0.910      0.790
#   pandas C round_trip   0.278      0.341           0.909      0.888
#   pandas pyarrow        0.267      0.249           0.851      0.989
#   behavior (pyarrow)    0.233      0.201           0.779      0.690
#
# First reads in a fresh process: every other parser beat fastcsv (others / fastcsv
# = 0.12-0.40 on the session, 0.26-0.92 on the shared files, its numba cache warm or
# cold). Only a second read in the same process favoured it, by 1.1-2.5x. So it was
# deleted, and deeplabcut.read_csv_table reads with its pyarrow piece parser, the
# fastest first read here, giving the same bits on all 92 files (as every parser
# did). This section now compares that reader with the pandas engines (fastcsv's
# timing code went with the module).

PARSER_CHILD = r"""
import hashlib, json, sys, time
parser, files = sys.argv[1], json.loads(sys.argv[2])
import numpy as np
import pandas as pd
from behavior.io import deeplabcut as dlc
from behavior.io.registry import Probe

COORDS = {"x", "y", "z", "likelihood"}


def read_all(path):
    if parser == "behavior":  # the reader load_poses uses (pyarrow, in threads)
        table = dlc.read_csv_table(path)
        out = np.empty((table.n_rows, len(table.columns)))

        def sink(start, values):
            out[start : start + values.shape[0]] = values

        return out[: table.fill(sink)]
    rows = dlc.head_rows(Probe(path), 4)
    n_levels = 4 if rows[1][0].strip() == "individuals" else 3
    values = [j for j, c in enumerate(rows[n_levels - 1]) if j > 0 and c in COORDS]
    engine, _, precision = parser.partition(":")
    df = pd.read_csv(
        path,
        header=None,
        skiprows=n_levels,
        usecols=values,
        dtype=dict.fromkeys(values, np.float64),
        engine=engine,
        **({"float_precision": precision} if precision else {}),
    )
    return df.to_numpy(dtype=np.float64)  # usecols keeps the file's column order


start = time.perf_counter()
if "pyarrow" in parser or parser == "behavior":
    import pyarrow.csv  # noqa: F401  (its import is part of a first read)
results = [read_all(p) for p in files]
first = time.perf_counter() - start
start = time.perf_counter()
results = [read_all(p) for p in files]
again = time.perf_counter() - start
digest = [hashlib.sha1(r.tobytes()).hexdigest() for r in results]
print(json.dumps({"first": first, "again": again, "digest": digest}))
"""

PARSERS = ("behavior", "c", "c:round_trip", "pyarrow")


def dlc_csvs(data: Path) -> list[Path]:
    """The DeepLabCut and Lightning Pose CSVs in ``data`` (by content, not name)."""
    from behavior.io.registry import detect_format

    found = []
    for path in sorted(data.rglob("*.csv")):
        try:
            if detect_format(path).name in ("deeplabcut", "lightning-pose"):
                found.append(path)
        except Exception:
            continue
    return found


def run_parser(parser: str, files: list[Path]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PARSER_CHILD, parser, json.dumps([str(p) for p in files])],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{parser} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare_parsers(file_sets: dict[str, list[Path]], repeats: int) -> None:
    """Time each parser on each set of files in fresh subprocesses and print the ratios
    (above 1: behavior's reader is faster than that pandas engine)."""
    print()
    print("CSV numeric block, fresh process (the parser's import included):")
    for label, files in file_sets.items():
        if not files:
            continue
        size = sum(p.stat().st_size for p in files) / 2**20
        print(f"  {label}: {len(files)} file(s), {size:.1f} MiB")
        best, digests = {}, {}
        for parser in PARSERS:
            runs = [run_parser(parser, files) for _ in range(repeats)]
            best[parser] = {k: min(r[k] for r in runs) for k in ("first", "again")}
            digests[parser] = runs[0]["digest"]
            print(
                f"    {parser:<14} first {best[parser]['first']:>7.3f} s   "
                f"again {best[parser]['again']:>7.3f} s"
            )
        for parser in PARSERS[1:]:
            differ = sum(a != b for a, b in zip(digests[parser], digests["behavior"], strict=True))
            r = best[parser]["first"] / best["behavior"]["first"]
            a = best[parser]["again"] / best["behavior"]["again"]
            print(
                f"    {parser} / behavior: first x{r:.2f}, again x{a:.2f}; "
                f"values differ in {differ} of {len(files)} file(s)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="session length (60)")
    parser.add_argument("--keypoints", type=int, default=20, help="keypoints per animal (20)")
    parser.add_argument("--individuals", type=int, default=2, help="animals (2)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (30)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (3)")
    parser.add_argument("--no-movement", action="store_true", help="skip the movement runs")
    parser.add_argument(
        "--parsers",
        action="store_true",
        help="only compare the CSV parsers (behavior, pandas C and pyarrow)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data",
        help="folder of real DeepLabCut / Lightning Pose CSVs (../shared/data)",
    )
    args = parser.parse_args(argv)
    if args.parsers:
        df = session(args.minutes, args.keypoints, args.individuals, args.fps)
        with tempfile.TemporaryDirectory(prefix="bench_io_") as tmp:
            csv = Path(tmp) / "sessionDLC.csv"
            df.to_csv(csv)
            del df
            compare_parsers(
                {"synthetic session": [csv], "shared data": dlc_csvs(args.data)}, args.repeats
            )
        return

    import behavior as bh

    libs = ["behavior", "pandas"]
    if not args.no_movement:
        if has_movement():
            import movement

            libs.append("movement")
            print(f"movement {movement.__version__} found: comparing")
        else:
            print("movement is not installed (pip install movement): timing behavior only")

    df = session(args.minutes, args.keypoints, args.individuals, args.fps)
    n_frames, n_cols = df.shape
    print(
        f"session: {args.minutes:g} min, {args.individuals} animals x {args.keypoints} "
        f"keypoints = {n_frames} frames x {n_cols} columns"
    )
    with tempfile.TemporaryDirectory(prefix="bench_io_") as tmp:
        files = {"h5": Path(tmp) / "sessionDLC.h5", "csv": Path(tmp) / "sessionDLC.csv"}
        writes = {}
        start = time.perf_counter()
        df.to_hdf(files["h5"], key="df_with_missing", format="table", mode="w")
        writes["h5 pandas (as DLC)"] = time.perf_counter() - start
        start = time.perf_counter()
        df.to_csv(files["csv"])
        writes["csv pandas (as DLC)"] = time.perf_counter() - start
        ds = bh.load_poses(files["h5"], fps=args.fps)
        for fmt in ("h5", "csv"):
            start = time.perf_counter()
            bh.save_poses(ds, Path(tmp) / f"ours.{fmt}")
            writes[f"{fmt} behavior"] = time.perf_counter() - start
        del ds
        sizes = {fmt: path.stat().st_size / 2**20 for fmt, path in files.items()}

        baseline = {
            lib: statistics.median(
                run_child(lib, files["h5"], "import")["peak_mb"] for _ in range(args.repeats)
            )
            for lib in libs
        }
        results = {}
        for fmt, path in files.items():
            for lib in libs:
                results[fmt, lib] = measure(lib, path, args.repeats, baseline[lib])
        compare_parsers(
            {"synthetic session": [files["csv"]], "shared data": dlc_csvs(args.data)},
            args.repeats,
        )

    print()
    print(f"{'file':<5} {'MiB':>6} {'library':<9} {'load s':>8} {'again s':>8} {'peak MiB':>9}")
    for (fmt, lib), r in results.items():
        print(
            f"{fmt:<5} {sizes[fmt]:>6.0f} {lib:<9} {r['seconds']:>8.3f} {r['again']:>8.3f} "
            f"{r['peak_mb']:>9.1f}"
        )
    print(
        f"(best of {args.repeats} subprocess runs; 'load' is the first load after import, "
        "'again' a second load of the same file in that process; peak = child peak RSS "
        "(of both loads) minus an import-only child: "
        f"{', '.join(f'{k} {v:.0f} MiB' for k, v in baseline.items())})"
    )
    if "movement" in libs:
        print()
        print("movement / behavior (above 1: behavior is faster / lighter)")
        targets = {"h5": 1.0, "csv": 2.0}
        for fmt in files:
            ours, theirs = results[fmt, "behavior"], results[fmt, "movement"]
            t_ratio = theirs["seconds"] / ours["seconds"]
            a_ratio = theirs["again"] / ours["again"]
            m_ratio = theirs["peak_mb"] / max(ours["peak_mb"], 1e-9)
            t_ok = "meets" if t_ratio >= targets[fmt] else "MISSES"
            a_ok = "meets" if a_ratio >= targets[fmt] else "MISSES"
            m_ok = "meets" if m_ratio > 1 else "MISSES"
            print(
                f"  {fmt:<4} first load x{t_ratio:.2f} ({t_ok} target >= {targets[fmt]:g}), "
                f"again x{a_ratio:.2f} ({a_ok}), memory x{m_ratio:.2f} ({m_ok} target > 1)"
            )
    print()
    print("pandas read (DataFrame only) / behavior load (dataset):")
    for fmt in files:
        ours, ref = results[fmt, "behavior"], results[fmt, "pandas"]
        print(
            f"  {fmt:<4} first load x{ref['seconds'] / ours['seconds']:.2f}, "
            f"again x{ref['again'] / ours['again']:.2f}"
        )
    print()
    print("writes (this process, seconds):")
    for name, seconds in writes.items():
        print(f"  {name:<22} {seconds:>7.3f}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, pandas {pd.__version__}")


if __name__ == "__main__":
    main()
