"""Throughput and memory of ``behavior analyze`` over many sessions: 1 and 2 workers, and a loop.

Simulates ``--distinct`` social sessions (two mice, 30 fps) of ``--duration`` each
and copies them to ``--sessions`` files (the copies are separate files, analysed
separately: only the simulation is shared). Then analyses them all with the
default analysis config (or ``--config``) three ways, each warmed up first
(imports, numba kernels) on a short session that is not counted:

* a plain for-loop calling :func:`behavior.study.session.analyze_session` in this
  process (the baseline: what a user's script does);
* :func:`behavior.analyze` on a ``LocalCluster`` of 1 worker process, then of 2
  (``--workers``), one thread each, ``resume=False``.

Printed: wall time, sessions per hour, the throughput ratio of each run against
1 worker and against the loop (target: 2 workers >= 1.8x 1 worker on a 2-core
machine), the cost of one session, the peak memory of each worker (RSS sampled
every 0.25 s with psutil, and the worker's own peak, ``ru_maxrss``, recorded
after each of its sessions: it must not grow with the number of sessions), the
start-up time of the cluster, and the time 10,000 sessions would take on N
workers at the measured per-session cost and 2-worker efficiency.

Run::

    python benchmarks/bench_batch.py                 # 50 sessions of 1 hour (long)
    python benchmarks/bench_batch.py --quick         # 8 sessions of 2 min
    python benchmarks/bench_batch.py --sessions 20 --duration "10 min" --workers 1,2,4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

import behavior as bh
from behavior.study.config import load_config
from behavior.study.session import analyze_session


class RssSampler:
    """Peak resident memory of some processes, sampled in a background thread."""

    def __init__(self, pids: list[int], every: float = 0.25) -> None:
        self.processes = {pid: psutil.Process(pid) for pid in pids}
        self.peak = dict.fromkeys(pids, 0)
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid, process in self.processes.items():
                with contextlib.suppress(psutil.Error):
                    self.peak[pid] = max(self.peak[pid], process.memory_info().rss)
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _mb(n_bytes: float) -> float:
    return n_bytes / 2**20


def make_sessions(folder: Path, n: int, distinct: int, duration: str) -> list[Path]:
    sources = []
    for seed in range(min(distinct, n)):
        ds, _ = bh.simulate.session(kind="social", duration=duration, seed=seed)
        sources.append(bh.save_poses(ds, folder / f"source_{seed}.nc"))
    files = []
    for i in range(n):
        target = folder / "sessions" / f"session_{i:03d}.nc"
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(sources[i % len(sources)], target)
        files.append(target)
    return files


def _warm(path: str, config, out: str) -> int:
    analyze_session(path, config, out, name=f"warm_{os.getpid()}")
    return os.getpid()


def run_loop(files: list[Path], config, out: Path) -> dict:
    with RssSampler([os.getpid()]) as sampler:
        start = time.perf_counter()
        seconds = []
        for path in files:
            t = time.perf_counter()
            analyze_session(path, config, out, name=path.name)
            seconds.append(time.perf_counter() - t)
        wall = time.perf_counter() - start
    return {"wall": wall, "task_seconds": seconds, "peak_rss": list(sampler.peak.values())}


def run_workers(files: list[Path], config, out: Path, workers: int, warm: Path) -> dict:
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    try:
        startup = time.perf_counter() - start
        pids = list(client.run(_warm, str(warm), config, str(out / "warm")).values())
        with RssSampler(pids) as sampler:
            t = time.perf_counter()
            result = bh.analyze(files, config, out, scheduler=client, resume=False, progress=False)
            wall = time.perf_counter() - t
    finally:
        client.close()
        cluster.close()
    manifest = json.loads(result.files["manifest"].read_text())["sessions"]
    failed = result.failed
    if failed:
        print(f"  {len(failed)} session(s) failed, e.g. {next(iter(failed.items()))}")
    entries = sorted(manifest.values(), key=lambda e: e["finished"])
    return {
        "wall": wall,
        "startup": startup,
        "task_seconds": [e["seconds"] for e in entries],
        "peak_rss": list(sampler.peak.values()),
        "per_worker": {
            pid: [e["worker_peak_rss_mb"] for e in entries if e["worker_pid"] == pid]
            for pid in pids
        },
    }


def _duration_text(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", default="1 h", help="length of each session")
    parser.add_argument("--distinct", type=int, default=4, help="sessions simulated (then copied)")
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--config", default=None, help="analysis config (default: the defaults)")
    parser.add_argument("--no-loop", action="store_true", help="skip the plain for-loop")
    parser.add_argument("--quick", action="store_true", help="8 sessions of 2 min")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.duration = 8, "2 min"
    counts = [int(w) for w in args.workers.split(",")]
    config = load_config(args.config)
    folder = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:
        print(
            f"bench_batch: {args.sessions} simulated sessions of {args.duration} (two mice, "
            f"30 fps; {args.distinct} simulated, copied), default config, "
            f"{os.cpu_count()} CPU core(s)"
        )
        t = time.perf_counter()
        files = make_sessions(folder, args.sessions, args.distinct, args.duration)
        ds, _ = bh.simulate.session(kind="social", duration="30 s", seed=99)
        warm = bh.save_poses(ds, folder / "warm.nc")
        size = sum(p.stat().st_size for p in files) / len(files)
        print(f"  simulated in {time.perf_counter() - t:.0f} s; {_mb(size):.1f} MB per file")
        runs = {}
        if not args.no_loop:
            _warm(str(warm), config, str(folder / "warm_loop"))
            runs["for-loop"] = run_loop(files, config, folder / "out_loop")
            print(f"  for-loop: {runs['for-loop']['wall']:.1f} s")
        for n in counts:
            runs[f"{n} worker(s)"] = run_workers(files, config, folder / f"out_{n}", n, warm)
            print(f"  {n} worker(s): {runs[f'{n} worker(s)']['wall']:.1f} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    n = args.sessions
    one = runs.get(f"{counts[0]} worker(s)")
    print()
    header = (
        f"{'run':<13}{'wall s':>8}{'sessions/h':>12}{'vs 1 worker':>13}{'vs loop':>9}"
        f"{'s/session':>11}{'task s (median)':>17}{'peak RSS MB (each)':>24}"
    )
    print(header)
    for label, run in runs.items():
        rate = n / run["wall"] * 3600
        vs_one = one["wall"] / run["wall"] if one else float("nan")
        vs_loop = runs["for-loop"]["wall"] / run["wall"] if "for-loop" in runs else float("nan")
        peaks = ", ".join(f"{_mb(p):.0f}" for p in run["peak_rss"])
        print(
            f"{label:<13}{run['wall']:>8.1f}{rate:>12.0f}{vs_one:>12.2f}x{vs_loop:>8.2f}x"
            f"{run['wall'] / n:>11.2f}{statistics.median(run['task_seconds']):>17.2f}{peaks:>24}"
        )
    for label, run in runs.items():
        if "startup" in run:
            print(f"cluster start-up ({label}): {run['startup']:.1f} s (not in the wall time)")

    print("\nworker peak memory (ru_maxrss, MB) after its 1st, middle and last session:")
    for label, run in runs.items():
        for pid, peaks in run.get("per_worker", {}).items():
            if peaks:
                mid = peaks[len(peaks) // 2]
                print(
                    f"  {label}, worker {pid}: {len(peaks)} sessions: {peaks[0]:.0f} -> "
                    f"{mid:.0f} -> {peaks[-1]:.0f} (growth {peaks[-1] - peaks[0]:+.0f} MB)"
                )

    if one and len(counts) > 1:
        best = max(counts)
        ratio = one["wall"] / runs[f"{best} worker(s)"]["wall"]
        efficiency = min(1.0, ratio / (best / counts[0]))
        per_session = one["wall"] / n * counts[0]  # worker-seconds per session
        print(
            f"\nper-session cost: {per_session:.2f} worker-seconds per {args.duration} session "
            f"({best} workers: {ratio:.2f}x the throughput of {counts[0]}, "
            f"efficiency {efficiency:.0%})"
        )
        print("10,000 sessions at that cost and efficiency:")
        for workers in (2, 8, 32, 128):
            total = 10_000 * per_session / (workers * efficiency)
            print(f"  {workers:>4} workers: {_duration_text(total)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
