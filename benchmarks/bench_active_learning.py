"""Active learning on real data: held-out frame F1 against labelled minutes,
bouts chosen by :func:`behavior.classify.suggest_frames` against bouts chosen at random.

Data: the 40 two-rat sessions of ``../shared/data/rat_social_dev`` (see its
PROVENANCE.txt), loaded with the library (``behavior.load_poses``,
``behavior.io.annotations.load_annotations``). Labels are the S1 stream
(exclusive social / nonsocial / aggression) for the pair; ``base`` marks the
frames outside the annotated window, which are cut off (never trained on,
never scored, never offered to a labeller). Each session is one feature array
with one "individual", the pair: both rats' features side by side
(:func:`session_features`, the one place features are computed).

Protocol, per seed: the sessions are split into a pool (30) and a held-out test
set (10). A few random 2-s bouts of the pool are labelled to start; then, each
round, ``k`` more 2-s bouts are labelled (the human labels are revealed), either
the ones ``suggest_frames`` asks for or random ones (same budget, same start),
and a multiclass random forest is refitted on everything labelled so far. Each
model is scored on the held-out sessions: macro frame F1 over social,
nonsocial and aggression. "uncertainty only" and "novelty only" are
``suggest_frames`` with ``novelty=0`` and ``novelty=1``: what each term adds.

Run: nice -n 5 python benchmarks/bench_active_learning.py [--quick] [--out FOLDER]
(the defaults take about 10 min on the shared 2-core machine, --quick 1-2 min).
``--out FOLDER`` writes the curve, one row per seed, strategy and round, to
``FOLDER/curve.csv`` (notebook 05 reads ``benchmarks/results/active_learning``).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import behavior as bh
from behavior import features
from behavior.bouts import runs
from behavior.classify import BehaviorClassifier, suggest_frames
from behavior.io.annotations import load_annotations

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rat_social_dev"
BEHAVIORS = ["social", "nonsocial", "aggression"]
FPS = 30.0
BOUT = 60  # frames: 2 s
# how each strategy picks its bouts: suggest_frames' keyword arguments, None = at random
STRATEGIES: dict[str, dict | None] = {
    "suggested": {},
    "random": None,
    "uncertainty only": {"novelty": 0.0},
    "novelty only": {"novelty": 1.0},
}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def session_features(ds: xr.Dataset) -> xr.DataArray:
    """Features of the pair ``(time, feature, individual=["pair"])``: both rats side by side.

    The one place features are computed (to be switched to the dyad features).
    Gaps are filled first (as the classifier's defaults do): without it the head
    and tail of some sessions (e.g. 12) are not inferred, their body-axis
    features are left out, and the sessions' feature sets differ.
    """
    feats = features.extract(
        ds, windows=("0.5 s", "2 s"), stats=("mean", "std"), fill_gaps="linear", progress=False
    )
    parts = []
    for k, rat in enumerate(feats["individual"].values):
        one = feats.sel(individual=[rat]).assign_coords(individual=["pair"])
        names = [f"rat{k + 1}|{f}" for f in one["feature"].values]
        parts.append(one.assign_coords(feature=names))
    return xr.concat(parts, dim="feature")


def load_session(number: int) -> tuple[xr.DataArray, np.ndarray]:
    """Features and S1 labels ``(T, 3)`` of one session, cut to its annotated window."""
    csv = DATA / "dlc_csv" / f"{number}DLC_dlcrnetms5_DLC_ratJan24shuffle1_5000_el_filtered.csv"
    ds = bh.load_poses(csv, fps=FPS)
    eth = load_annotations(DATA / "annotations" / f"{number}_annot.txt", fps=FPS, background="base")
    feats = session_features(ds)
    n_time = feats.sizes["time"]
    s1 = eth.labels.sel(individual="S1", behavior=BEHAVIORS).values.astype(np.float32)[:n_time]
    labels = np.zeros((n_time, len(BEHAVIORS)), dtype=np.float32)
    labels[: s1.shape[0]] = s1
    scored = np.flatnonzero(labels.any(axis=1))  # "base" (outside the window): none of the three
    lo, hi = int(scored[0]), int(scored[-1]) + 1
    feats = feats.isel(time=slice(lo, hi))
    truth = labels[lo:hi].copy()
    truth[~truth.any(axis=1)] = np.nan  # base inside the window (none here): unlabelled
    return feats, truth


def label_array(values: np.ndarray, feats: xr.DataArray) -> xr.DataArray:
    return xr.DataArray(
        values[:, :, None],
        dims=("time", "behavior", "individual"),
        coords={"time": feats["time"].values, "behavior": BEHAVIORS, "individual": ["pair"]},
    )


def random_bouts(
    labelled: dict[str, np.ndarray], k: int, rng: np.random.Generator
) -> list[tuple[str, int]]:
    """``k`` random non-overlapping 2-s bouts of unlabelled frames (tiled like suggest_frames)."""
    windows = []
    for name, values in labelled.items():
        lo, hi = runs(~np.isfinite(values).any(axis=1))
        for a, b in zip(lo, hi, strict=True):
            windows += [(name, int(s)) for s in range(a, b - BOUT + 1, BOUT)]
    pick = rng.choice(len(windows), size=min(k, len(windows)), replace=False)
    return [windows[i] for i in pick]


def macro_f1(model: BehaviorClassifier, test: dict, truth: dict) -> np.ndarray:
    """Frame F1 per behavior over all held-out frames (pooled), in BEHAVIORS order."""
    tp = np.zeros(len(BEHAVIORS))
    fp, fn = tp.copy(), tp.copy()
    for eth, name in zip(model.predict(list(test.values())), test, strict=True):
        pred = eth.labels.sel(behavior=BEHAVIORS).values[:, :, 0].astype(bool)
        ref = truth[name]
        scored = np.isfinite(ref).all(axis=1)
        ref = (np.nan_to_num(ref) > 0.5) & scored[:, None]
        pred = pred & scored[:, None]
        tp += (pred & ref).sum(axis=0)
        fp += (pred & ~ref).sum(axis=0)
        fn += (~pred & ref).sum(axis=0)
    return 2 * tp / np.maximum(2 * tp + fp + fn, 1)


def new_model(n_estimators: int) -> BehaviorClassifier:
    return BehaviorClassifier(
        behaviors=BEHAVIORS, model="forest", multiclass=True, n_estimators=n_estimators,
        random_state=0, progress=False,
    )  # fmt: skip


def run_strategy(
    strategy: str,
    pool: dict[str, xr.DataArray],
    pool_truth: dict[str, np.ndarray],
    test: dict[str, xr.DataArray],
    test_truth: dict[str, np.ndarray],
    start: list[tuple[str, int]],
    rounds: int,
    k: int,
    seed: int,
    n_estimators: int,
) -> list[tuple[float, np.ndarray, float]]:
    """(labelled minutes, F1 per behavior, seconds choosing) after each round."""
    labelled = {name: np.full_like(t, np.nan) for name, t in pool_truth.items()}
    rng = np.random.default_rng(seed + 1000)

    def reveal(bouts: list[tuple[str, int]]) -> None:
        for name, s in bouts:
            labelled[name][s : s + BOUT] = pool_truth[name][s : s + BOUT]

    reveal(start)
    out = []
    for r in range(rounds + 1):
        some = [n for n in pool if np.isfinite(labelled[n]).any()]
        model = new_model(n_estimators).fit(
            [pool[n] for n in some], [label_array(labelled[n], pool[n]) for n in some]
        )
        minutes = sum(int(np.isfinite(v).any(axis=1).sum()) for v in labelled.values()) / FPS / 60
        f1 = macro_f1(model, test, test_truth)
        chosen_s = 0.0
        if r < rounds:
            t0 = time.perf_counter()
            if STRATEGIES[strategy] is None:
                bouts = random_bouts(labelled, k, rng)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    table = suggest_frames(
                        model, pool, k,
                        labelled={n: label_array(labelled[n], pool[n]) for n in pool},
                        bout=BOUT, random_state=seed, **STRATEGIES[strategy],
                    )  # fmt: skip
                bouts = list(zip(table["session"], table["start_frame"].astype(int), strict=True))
            chosen_s = time.perf_counter() - t0
            reveal(bouts)
        out.append((minutes, f1, chosen_s))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sessions, rounds and seeds")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--k", type=int, default=20, help="bouts labelled per round")
    parser.add_argument("--start", type=int, default=10, help="random bouts labelled first")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the curve as CSV, curve.csv (notebook 05 reads it)",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent")
        return
    quick = args.quick
    n_sessions = 16 if quick else 40
    n_test = 4 if quick else 10
    seeds = args.seeds or (1 if quick else 3)
    rounds = args.rounds or (3 if quick else 6)
    n_estimators = 40 if quick else 60
    strategies = ["suggested", "random"] if quick else list(STRATEGIES)

    t0 = time.perf_counter()
    numbers = list(range(1, 41))[:n_sessions] if quick else list(range(1, 41))
    loaded = {f"s{n}": load_session(n) for n in numbers}
    print(f"loaded {len(loaded)} sessions and computed features in "
          f"{time.perf_counter() - t0:.0f} s ({load()})")  # fmt: skip
    n_features = next(iter(loaded.values()))[0].sizes["feature"]
    print(f"{n_features} features per frame; bouts of {BOUT} frames (2 s); start "
          f"{args.start} random bouts, then {rounds} rounds of {args.k} bouts; "
          f"forest of {n_estimators} trees, multiclass; {seeds} seed(s)")  # fmt: skip

    results = []  # (seed, strategy, round, minutes, f1 per behavior, choose seconds)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        names = list(loaded)
        order = [names[i] for i in rng.permutation(len(names))]
        test_names, pool_names = order[:n_test], order[n_test:]
        pool = {n: loaded[n][0] for n in pool_names}
        pool_truth = {n: loaded[n][1] for n in pool_names}
        test = {n: loaded[n][0] for n in test_names}
        test_truth = {n: loaded[n][1] for n in test_names}
        start = random_bouts({n: np.full_like(t, np.nan) for n, t in pool_truth.items()},
                             args.start, rng)  # fmt: skip
        for strategy in strategies:
            t1 = time.perf_counter()
            curve = run_strategy(strategy, pool, pool_truth, test, test_truth, start, rounds,
                                 args.k, seed, n_estimators)  # fmt: skip
            for r, (minutes, f1, chosen_s) in enumerate(curve):
                results.append((seed, strategy, r, minutes, f1, chosen_s))
            print(f"seed {seed} {strategy:>16}: {time.perf_counter() - t1:5.0f} s, final macro "
                  f"F1 {curve[-1][1].mean():.3f}")  # fmt: skip

    table = pd.DataFrame(
        [(s, st, r, m, f.mean(), *f, c) for s, st, r, m, f, c in results],
        columns=["seed", "strategy", "round", "minutes", "macro", *BEHAVIORS, "choose_s"],
    )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "curve.csv", index=False, float_format="%.4f")
        print(f"wrote {args.out / 'curve.csv'}")
    mean = table.groupby(["strategy", "round"]).agg(
        minutes=("minutes", "mean"), macro=("macro", "mean"), sd=("macro", "std"),
        **{b: (b, "mean") for b in BEHAVIORS}, choose_s=("choose_s", "mean"),
    )  # fmt: skip
    print(f"\nHeld-out macro frame F1 (social, nonsocial, aggression), mean over {seeds} seed(s) "
          f"of {len(pool_names)} pool / {n_test} test sessions:")  # fmt: skip
    others = [st for st in strategies if st not in ("suggested", "random")]
    header = f"{'labelled min':>12} | {'suggested':>9} | {'random':>9} | {'ratio':>5}"
    header += "".join(f" | {st:>16}" for st in others)
    print(header)
    print("-" * len(header))
    for r in range(rounds + 1):
        sug, rnd = mean.loc[("suggested", r)], mean.loc[("random", r)]
        line = (f"{sug.minutes:12.2f} | {sug.macro:9.3f} | {rnd.macro:9.3f} | "
                f"{sug.macro / max(rnd.macro, 1e-9):5.2f}")  # fmt: skip
        line += "".join(f" | {mean.loc[(st, r)].macro:16.3f}" for st in others)
        print(line)
    print("\nPer behavior at the last round (frame F1), and seconds to choose a round's bouts:")
    last = mean.xs(rounds, level="round")[BEHAVIORS]
    last["choose_s"] = table[table["round"] < rounds].groupby("strategy")["choose_s"].mean()
    print(last.round(3).to_string())
    gain = mean.xs("suggested", level="strategy").macro - mean.xs("random", level="strategy").macro
    print(f"\nmean gain of suggested over random across rounds 1..{rounds}: "
          f"{gain.iloc[1:].mean():+.3f} macro F1")  # fmt: skip
    print(f"total {time.perf_counter() - t0:.0f} s ({load()})")


if __name__ == "__main__":
    main()
