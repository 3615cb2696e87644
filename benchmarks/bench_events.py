"""Accuracy and speed of rule-based events (behavior.events).

1. Simulated sessions (10 min, seeds 0-11; the presets were developed looking at
   seeds 0-5, 6-11 are held out): frame F1 and bout F1 (IoU >= 0.5)
   of the chase, watching and freezing presets against the ground truth:
   ``truth.events``, the stretches where each definition holds on the noise-free
   positions (what a perfect detector finds on perfect tracking), and, for
   reference, the generative labels ``truth.bouts``.
2. BehaviorDEPOT demo1 (50 fps, 32 px/cm): per-frame agreement of the freezing
   preset (default parameters, not fitted) with the human labels, next to
   BehaviorDEPOT's own 95.4 %.
3. The MABe mouse triplet (AmadeusGPT example, 30 fps): chase and watching for
   all six ordered pairs, counts and durations.
4. Time of bouts from masks on 108,000 frames.
5. Time of the presets (and of ``kinematics.rigid_motion``) on one hour of three mice.

Run: python benchmarks/bench_events.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import behavior as bh
from behavior import bouts, events
from behavior.ethogram import Ethogram, agreement

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TRUTH = {"chase": "chase", "watching": "watch", "freezing": "freeze"}
# The file carries no calibration. We calibrate on the animals themselves: the median
# nose-to-tail-base distance of the three mice is 45.6 px, and an adult mouse measures
# about 9.5 cm from nose to tail base (the simulator's body), so 4.8 px/cm. (AmadeusGPT's
# MABe example writes the 5 cm chase distance as 40 px, i.e. 8 px/cm, a coarser guess.)
MABE_PX_PER_CM = 4.8


def score(ds, reference: pd.DataFrame, name: str, found: pd.DataFrame) -> dict:
    ref = reference[reference.behavior == TRUTH[name]].assign(behavior=name)
    table = agreement(
        Ethogram.from_bouts(ref, ds, behaviors=[name]),
        Ethogram.from_bouts(found, ds, behaviors=[name]),
    )
    tp = float((table.frame_recall.fillna(0) * table.frames_reference).sum())
    fr, fo = table.frames_reference.sum(), table.frames_other.sum()
    m, nr, no = table.bouts_matched.sum(), table.bouts_reference.sum(), table.bouts_other.sum()
    return {
        "frame_f1": 2 * tp / (fr + fo) if fr + fo else float("nan"),
        "bout_f1": 2 * m / (nr + no) if nr + no else float("nan"),
        "bouts_truth": int(nr),
        "bouts_found": int(no),
    }


DEVELOPMENT_SEEDS = (0, 1, 2, 3, 4, 5)
HELD_OUT_SEEDS = (6, 7, 8, 9, 10, 11)


def simulated(seeds=DEVELOPMENT_SEEDS + HELD_OUT_SEEDS) -> None:
    print("== 1. simulated sessions (10 min, 30 fps): frame F1 / bout F1 (IoU >= 0.5)")
    print("   targets: frame F1 >= 0.95, bout F1 >= 0.9")
    rows = []
    for seed in seeds:
        ds, truth = bh.simulate.session(duration="10 min", seed=seed)
        for name in TRUTH:
            t0 = time.perf_counter()
            found = events.PRESETS.get(name)(ds)
            seconds = time.perf_counter() - t0
            for reference, table in (("events", truth.events), ("labels", truth.bouts)):
                rows.append({"seed": seed, "preset": name, "truth": reference,
                             **score(ds, table, name, found), "seconds": seconds})  # fmt: skip
    table = pd.DataFrame(rows)
    events_only = table[table.truth == "events"].drop(columns="truth")
    print(events_only.round(3).to_string(index=False))
    print("\n   mean over seeds; truth = definitions on noise-free positions (events) or")
    print("   generative labels (labels):")
    table["seeds"] = np.where(table.seed.isin(HELD_OUT_SEEDS), "held out", "development")
    table = pd.concat([table, table.assign(seeds="all")])
    summary = table.pivot_table(
        index=["preset", "truth"], columns="seeds", values=["frame_f1", "bout_f1"]
    )
    print(summary.round(3).to_string())


def behaviordepot() -> None:
    folder = DATA / "behaviordepot_freezing" / "demo" / "demo1"
    print("\n== 2. BehaviorDEPOT demo1 freezing (50 fps, 32 px/cm; preset defaults, not fitted)")
    if not folder.is_dir():
        print("   skipped: data not found")
        return
    ds = bh.load_poses(folder / "demo1_tracking.csv", fps=50)
    human = pd.read_csv(folder / "demo1_human_freezing_perframe.csv")["freezing_human"]
    human = human.to_numpy().astype(bool)
    found = events.freezing(ds, px_per_cm=32)
    like = xr.DataArray(np.zeros((ds.sizes["time"], 1)), dims=("time", "individual"),
                        coords={"individual": ds.individual.values})  # fmt: skip
    got = bouts.mask_from_bouts(found, like).values[:, 0]
    agree = float((got == human).mean())
    tp = float((got & human).sum())
    f1 = 2 * tp / (got.sum() + human.sum())
    print(f"   frames agreeing with the human labels: {agree:.2%} (BehaviorDEPOT: 95.4%)")
    print(f"   frame F1 {f1:.3f}; bouts found {len(found)}; freezing {got.mean():.1%} "
          f"(human {human.mean():.1%})")  # fmt: skip


def mabe() -> None:
    path = DATA / "amadeus" / "examples" / "MABe" / "EGS8X2MN4SSUGFWAV976.h5"
    print(f"\n== 3. MABe triplet, 30 fps, calibration {MABE_PX_PER_CM:g} px/cm (assumed)")
    if not path.is_file():
        print("   skipped: data not found")
        return
    ds = bh.load_poses(path, fps=30)
    for name in ("chase", "watching"):
        found = events.PRESETS.get(name)(ds, px_per_cm=MABE_PX_PER_CM)
        names = [str(v) for v in ds.individual.values]
        rows = []
        for a in names:
            for b in names:
                if a == b:
                    continue
                part = found[(found.individual == a) & (found.other == b)]
                mean = round(float(part.duration.mean()), 2) if len(part) else 0.0
                rows.append(
                    {
                        "individual": a,
                        "other": b,
                        "bouts": len(part),
                        "total_s": round(float(part.duration.sum()), 2),
                        "mean_s": mean,
                    }
                )
        print(f"   {name}:")
        print(pd.DataFrame(rows).to_string(index=False))


def speed() -> None:
    print("\n== 4. bouts from masks: 108,000 frames (1 h at 30 fps)")
    rng = np.random.default_rng(0)
    n = 108_000
    # 3 individuals x 3 others, bursty masks
    base = rng.random((n, 3, 3)) < 0.02
    mask = xr.DataArray(
        np.cumsum(base, axis=0) % 2 == 1,
        dims=("time", "individual", "other"),
        coords={"time": np.arange(n) / 30.0, "individual": list("abc"), "other": list("abc")},
        attrs={"fps": 30.0},
    )
    for label, kw in [
        ("plain", {}),
        ("min_duration + merge_gap", {"min_duration": "1 s", "merge_gap": "0.5 s"}),
        (
            "+ min_fraction/window",
            {"min_duration": "1 s", "merge_gap": "0.5 s", "min_fraction": 0.8, "window": "1 s"},
        ),
    ]:
        bouts.bouts(mask, **kw)
        t0 = time.perf_counter()
        table = bouts.bouts(mask, **kw)
        print(f"   {label:28s} {time.perf_counter() - t0:.4f} s, {len(table)} bouts")


def presets_hour() -> None:
    import tracemalloc

    print("\n== 5. presets on 1 h at 30 fps, 3 simulated mice x 10 keypoints")
    ds, _ = bh.simulate.session(duration="1 h", n_individuals=3, seed=0)
    bh.kinematics.rigid_motion(ds.position[:100])
    tracemalloc.start()
    t0 = time.perf_counter()
    bh.kinematics.rigid_motion(ds.position)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"   rigid_motion (speed and rotation) {seconds:.2f} s, peak {peak:.0f} MB traced")
    for name in TRUTH:
        t0 = time.perf_counter()
        found = events.PRESETS.get(name)(ds)
        print(f"   {name:10s} {time.perf_counter() - t0:.2f} s, {len(found)} bouts")


if __name__ == "__main__":
    simulated()
    behaviordepot()
    mabe()
    speed()
    presets_hour()
