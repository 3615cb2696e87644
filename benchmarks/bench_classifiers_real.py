"""Classifiers on real data: 40 two-rat sessions with human labels (rat_social_dev).

Data: ``../shared/data/rat_social_dev`` (multi-animal DeepLabCut CSV, 2 rats x 5
keypoints, ~31 % of points missing, 30 fps; Caltech annotator files with two
streams, read its PROVENANCE.txt). Labels are for the pair (the session), so
every model sees them as pair labels: each rat's view of the pair is a row, the
pair's probability is the mean of the two views.

In both streams the annotator's background, ``base``, covers the frames before
and after the scored window of 12,000 frames (400 s): those frames are
*unscored*, not a behavior (``unscored="base"``), and are neither trained on
nor scored, for every model and for the baseline alike.

What is printed (grouped 5-fold cross-validation, folds by session: no session
is in the training and the test set of one fold):

1. S1 (exclusive social / nonsocial / aggression): per class frame F1 and bout
   F1 for every model option (``model=`` of BehaviorClassifier, defaults
   otherwise), and the 60-line baseline of the issue measured in the same run on
   the same folds and frames (a 100-tree random forest on the 25 inter-animal
   keypoint distances, 10 keypoint speeds and rolling means over 0.5 s and 1.5 s
   of four of them). Targets of issue 16: aggression >= 0.65, macro >= 0.75,
   each >= 0.05 above the baseline.
2. S2 aggression sub-types with at least 1,000 labelled frames (lateral
   threat, keep down, clinch, upright posture), default model.
3. Times on this machine, measured first (before the cross-validation loads
   it): features of the 40 sessions, fit on all 40 sessions (572k frames) with
   the default model and with LightGBM alone (target < 60 s), predicting one hour
   of two animals (target < 5 s), and the README's one-session example (target
   < 20 s); peak resident memory.
4. (``--only lightgbm``) ``model="lightgbm"`` with the library's tree settings
   and with the previous ones (``PREVIOUS_LIGHTGBM``) on the S1 folds: frame and
   bout F1, CV seconds and the speed ratio, measured in the same run.

Run: python benchmarks/bench_classifiers_real.py [--models lightgbm,ensemble,tcn,forest,svm]
     [--quick] (quick: 20 sessions, the default model and the baseline only)
     [--only times,s1,s2,lightgbm] (sections to run; lightgbm: the tree settings
     against the previous ones, not run by default) [--out DIR] (CSV tables for notebook 05)
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

import behavior as bh
from behavior.classify import BehaviorClassifier, cross_validate
from behavior.io.annotations import load_annotations

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rat_social_dev"
S1 = ["social", "nonsocial", "aggression"]
S2_MIN_FRAMES = 1000
FOLDS = 5


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sessions(n: int) -> tuple[list, list, list]:
    """Poses, S1 labels and S2 labels (label DataArrays, NaN = unscored) of sessions 1..n."""
    poses, s1, s2 = [], [], []
    for k in range(1, n + 1):
        csv = next((DATA / "dlc_csv").glob(f"{k}DLC*.csv"))
        poses.append(bh.load_poses(csv, fps=30))
        eth = load_annotations(DATA / "annotations" / f"{k}_annot.txt", fps=30)
        labels = eth.labels.astype(np.float32)
        s1.append(labels.sel(individual=["S1"]))
        if "S2" in eth.individuals:
            two = labels.sel(individual=["S2"]).copy()
            # S2 is scored where S1 is: its "base" outside S1's window is unscored too
            outside = labels.sel(behavior="base", individual="S1").values > 0.5
            two.values[outside] = np.nan
        else:  # a file without an S2 stream: unlabelled
            two = labels.sel(individual=["S1"]).copy(data=np.full((*labels.shape[:2], 1), np.nan))
        s2.append(two.assign_coords(individual=["S2"]))
    return poses, s1, s2


# ---------------------------------------------------------------- the 60-line baseline


def baseline_features(ds) -> np.ndarray:
    """25 inter-animal distances, 10 keypoint speeds, rolling means of four of them."""
    pos = ds.position.transpose("time", "individual", "keypoint", "space").values
    a, b = pos[:, 0], pos[:, 1]
    n = len(pos)
    dist = np.linalg.norm(a[:, :, None, :] - b[:, None, :, :], axis=-1).reshape(n, -1)
    speed = np.linalg.norm(np.diff(pos, axis=0, prepend=pos[:1]), axis=-1).reshape(n, -1)
    table = pd.DataFrame(np.c_[dist, speed])
    four = table[[0, 6, 26, 31]]  # head-head, body-body distances; both body speeds
    rolled = [four.rolling(w, center=True, min_periods=1).mean().values for w in (15, 45)]
    return np.c_[dist, speed, *rolled].astype(np.float32)


def baseline_cv(poses, labels, folds) -> tuple[pd.DataFrame, float]:
    from sklearn.ensemble import RandomForestClassifier

    X = [baseline_features(ds) for ds in poses]
    y = [_fit_length(_codes(lab), len(x)) for lab, x in zip(labels, X, strict=True)]
    pred = [None] * len(poses)
    start = time.perf_counter()
    for test in folds:
        train = [i for i in range(len(poses)) if i not in test]
        rows = np.concatenate([X[i][y[i] >= 0] for i in train])
        target = np.concatenate([y[i][y[i] >= 0] for i in train])
        forest = RandomForestClassifier(100, n_jobs=-1, random_state=0).fit(rows, target)
        for i in test:
            pred[i] = forest.predict(X[i])
    seconds = time.perf_counter() - start
    return _frame_f1(y, pred), seconds


def _codes(lab) -> np.ndarray:
    """S1 class codes (index in S1), -1 where unscored."""
    v = lab.sel(behavior=S1, individual="S1").values
    scored = np.isfinite(v).all(axis=1) & (np.nan_to_num(v).sum(axis=1) > 0)
    return np.where(scored, np.nan_to_num(v).argmax(axis=1), -1)


def _fit_length(codes: np.ndarray, n: int) -> np.ndarray:
    """Label codes cut (or padded as unscored) to the ``n`` frames of the poses."""
    out = np.full(n, -1, dtype=codes.dtype)
    out[: min(n, codes.size)] = codes[:n]
    return out


def _frame_f1(y, pred) -> pd.DataFrame:
    y, p = np.concatenate(y), np.concatenate(pred)
    keep = y >= 0
    y, p = y[keep], p[keep]
    out = []
    for k, b in enumerate(S1):
        tp, fp, fn = (
            np.sum((y == k) & (p == k)),
            np.sum((y != k) & (p == k)),
            np.sum((y == k) & (p != k)),
        )
        out.append({"behavior": b, "frame_f1": 2 * tp / max(2 * tp + fp + fn, 1)})
    return pd.DataFrame(out)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="lightgbm,ensemble,tcn,forest,svm")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--only",
        default="times,s1,s2",
        help="sections to run, comma-separated: times, s1, s2, lightgbm (default: the first three)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the result tables as CSV (notebook 05 reads them)",
    )
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: the real data folder is absent; nothing to measure")
    n = 20 if args.quick else 40
    models = [BehaviorClassifier().model] if args.quick else args.models.split(",")
    print(f"rat_social_dev: {n} sessions; {load()}")
    poses, s1, s2 = sessions(n)
    folds = [list(range(k, n, FOLDS)) for k in range(FOLDS)]
    groups = [next(i for i, f in enumerate(folds) if k in f) for k in range(n)]

    start = time.perf_counter()
    feats = [BehaviorClassifier().features(ds) for ds in poses]
    t_features = time.perf_counter() - start
    print(f"features: {feats[0].sizes['feature']} per frame, {t_features:.1f} s for {n} sessions")

    sections = set(args.only.split(","))
    # ---------------------------------------------------- times (first, on a quiet machine)
    if "times" in sections:
        print(f"\n3. times ({load()}):")
    default = BehaviorClassifier().model
    timed = [m for m in ("lightgbm", "ensemble") if m in models or m == default]
    reps = int(np.ceil(30 * 3600 / poses[0].sizes["time"]))
    long = _concatenated(poses[0], reps, 30 * 3600) if "times" in sections else None
    for model in timed if "times" in sections else []:
        start = time.perf_counter()
        clf = BehaviorClassifier(model=model, unscored="base", random_state=0, progress=False)
        clf.fit(feats, s1)
        t_fit = time.perf_counter() - start
        print(f"   {model}: fit on {n} sessions ({sum(f.sizes['time'] for f in feats):,} frames) "
              f"from features: {t_fit:.1f} s; with the features from poses: "
              f"{t_fit + t_features:.1f} s (target < 60 s)")  # fmt: skip
        start = time.perf_counter()
        clf.predict(long)
        t_hour = time.perf_counter() - start
        print(f"   {model}: predict one hour of two animals (108,000 frames, from poses): "
              f"{t_hour:.1f} s (target < 5 s)")  # fmt: skip
        start = time.perf_counter()
        one = BehaviorClassifier(model=model, unscored="base", random_state=0, progress=False)
        one.fit(poses[:1], s1[:1]).predict(poses[1])
        print(f"   {model}: the README's one-session fit + predict from poses: "
              f"{time.perf_counter() - start:.1f} s (target < 20 s)")  # fmt: skip
    if "times" in sections:
        print(f"   peak resident memory so far: {peak_mib():.0f} MiB")
    if "s1" in sections:
        s1_section(args, poses, s1, feats, folds, groups, models)
    if "s2" in sections:
        s2_section(args, s2, feats, groups)
    if "lightgbm" in sections:
        lightgbm_section(s1, feats, groups)
    print(f"\npeak resident memory: {peak_mib():.0f} MiB ({load()})")


def s1_section(args, poses, s1, feats, folds, groups, models) -> None:
    """S1: every model option and the baseline, grouped CV, frame and bout F1."""
    base, t_base = baseline_cv(poses, s1, folds)
    print(f"\n1. S1, grouped {FOLDS}-fold CV (folds by session); baseline CV {t_base:.0f} s")
    table = base.set_index("behavior")[["frame_f1"]].rename(columns={"frame_f1": "baseline"})
    bouts = {}
    for model in models:
        clf = BehaviorClassifier(model=model, unscored="base", random_state=0, progress=False)
        start = time.perf_counter()
        res = cross_validate(clf, feats, s1, groups=groups, cv=FOLDS, progress=False)
        seconds = time.perf_counter() - start
        summary = res.summary.set_index("behavior").loc[S1]
        table[model] = summary["frame_f1"]
        bouts[model] = summary["bout_f1"]
        print(f"   {model}: CV {seconds:.0f} s ({load()})")
    table.loc["macro"] = table.mean()
    print("\nframe F1 (unscored frames excluded):")
    print(table.round(3).to_string())
    print("\ndifference against the baseline:")
    print(table.drop(columns="baseline").sub(table["baseline"], axis=0).round(3).to_string())
    print("\nbout F1 (IoU >= 0.5):")
    print(pd.DataFrame(bouts).round(3).to_string())
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "s1_frame_f1.csv", index_label="behavior")
        pd.DataFrame(bouts).to_csv(args.out / "s1_bout_f1.csv", index_label="behavior")


PREVIOUS_LIGHTGBM = {
    "num_leaves": 63,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.5,
    "max_bin": 63,
}
"""LightGBM's tree settings until December 2026, against which the ``lightgbm``
section measures the library's (``behavior.classify._common.LIGHTGBM``)."""


def lightgbm_section(s1, feats, groups) -> None:
    """model="lightgbm" with the library's tree settings and with the previous ones:
    the same folds and frames, one after the other, frame and bout F1 and CV seconds."""
    from behavior.classify import _common

    library = dict(_common.LIGHTGBM)
    rows = {}
    for name, settings in (("previous", PREVIOUS_LIGHTGBM), ("library", library)):
        _common.LIGHTGBM.clear()
        _common.LIGHTGBM.update(settings)
        try:
            clf = BehaviorClassifier(model="lightgbm", unscored="base", random_state=0,
                                     progress=False)  # fmt: skip
            start = time.perf_counter()
            res = cross_validate(clf, feats, s1, groups=groups, cv=FOLDS, progress=False)
            seconds = time.perf_counter() - start
        finally:
            _common.LIGHTGBM.clear()
            _common.LIGHTGBM.update(library)
        summary = res.summary.set_index("behavior").loc[S1]
        rows[name] = {
            **{f"{b} frame F1": summary.loc[b, "frame_f1"] for b in S1},
            "macro frame F1": summary["frame_f1"].mean(),
            **{f"{b} bout F1": summary.loc[b, "bout_f1"] for b in S1},
            "CV seconds": seconds,
        }
        print(f"   {name} settings {settings}: CV {seconds:.0f} s ({load()})")
    table = pd.DataFrame(rows)
    print(f"\n4. LightGBM tree settings, grouped {FOLDS}-fold CV, S1:")
    print(table.round(3).to_string())
    ratio = rows["previous"]["CV seconds"] / rows["library"]["CV seconds"]
    gain = rows["library"]["macro frame F1"] - rows["previous"]["macro frame F1"]
    print(f"library settings: {ratio:.2f}x the previous settings' speed, macro frame F1 "
          f"{gain:+.3f}")  # fmt: skip


def s2_section(args, s2, feats, groups) -> None:
    """S2 aggression sub-types with enough frames, default model, grouped CV."""
    totals = {}
    for lab in s2:
        v = np.nan_to_num(lab.values[:, :, 0])
        for k, b in enumerate(lab.behavior.values):
            totals[str(b)] = totals.get(str(b), 0) + int(v[:, k].sum())
    kinds = [b for b, c in sorted(totals.items(), key=lambda x: -x[1])
             if c >= S2_MIN_FRAMES and b != "base" and b not in S1]  # fmt: skip
    clf = BehaviorClassifier(behaviors=kinds, unscored="base", random_state=0, progress=False)
    res = cross_validate(clf, feats, s2, groups=groups, cv=FOLDS, progress=False)
    print(f"\n2. S2 aggression sub-types with >= {S2_MIN_FRAMES} frames, default model:")
    s2_table = res.summary.set_index("behavior")[["frame_f1", "bout_f1", "frames_positive"]]
    print(s2_table.round(3).to_string())
    if args.out is not None:
        s2_table.to_csv(args.out / "s2_frame_f1.csv")


def _concatenated(ds, reps: int, n_frames: int):
    import xarray as xr

    parts = [ds] * reps
    out = xr.concat(parts, dim="time").isel(time=slice(0, n_frames))
    return out.assign_coords(time=np.arange(n_frames) / 30.0)


if __name__ == "__main__":
    main()
