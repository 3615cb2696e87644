"""Accuracy and fit time of supervised behavior classifiers (behavior.classify).

1. Simulated social sessions (10 min, 30 fps, 2 mice): a classifier trained on the
   labels of six sessions (seeds 0-5) scores four sessions it never saw (seeds
   100-103). Frame and bout F1 per behavior; targets: frame F1 >= 0.9 for chase and
   watching, >= 0.95 for freezing. Thresholds ("f1") are chosen on inner folds of
   the training sessions and the post-processing ("auto") from the training
   labels: nothing is tuned on the test sessions. For context, the same labels
   scored against the rule presets on the tracked poses and against the rules on
   the noise-free positions (``truth.events``).
2. BehaviorDEPOT demo1 (50 fps, 32 px/cm, human freezing labels): cross-validation
   over 5 contiguous time blocks (2 s gaps), next to the freezing rule preset
   (default parameters, not fitted) on the same blocks.
3. Fit time for 54,000 frames x ~560 features (one behavior, one forest), against
   SimBA's default 2,000-tree forest, which took 1,056 s on this kind of machine
   (a reference figure: SimBA is not installable here).

Timings are wall-clock on a 2-core machine shared with other jobs: the load
average is printed next to them.

Run: python benchmarks/bench_classifiers.py
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

import behavior as bh
from behavior import events, features
from behavior.classify import BehaviorClassifier, cross_validate
from behavior.ethogram import Ethogram, agreement

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BEHAVIORS = ["chase", "watch", "freeze"]
TARGETS = {"chase": 0.9, "watch": 0.9, "freeze": 0.95}
PRESET = {"chase": "chase", "watch": "watching", "freeze": "freezing"}
SIMBA_FIT_S = 1056.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def pooled(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Frame and bout F1 per behavior from agreement tables summed over sessions."""
    t = pd.concat(tables)
    t = t.assign(tp=t.frame_recall.fillna(0) * t.frames_reference)
    g = t.groupby("behavior", sort=False)[
        ["tp", "frames_reference", "frames_other", "bouts_matched", "bouts_reference",
         "bouts_other"]
    ].sum()  # fmt: skip
    return pd.DataFrame(
        {
            "frames_true": g.frames_reference.astype(int),
            "frames_found": g.frames_other.astype(int),
            "frame_f1": 2 * g.tp / (g.frames_reference + g.frames_other),
            "bout_f1": 2 * g.bouts_matched / (g.bouts_reference + g.bouts_other),
        }
    )


def simulated(train_seeds=range(6), test_seeds=(100, 101, 102, 103)) -> None:
    print("== 1. simulated social sessions, 10 min at 30 fps, 2 mice")
    print(f"   train: seeds {list(train_seeds)}; test: seeds {list(test_seeds)} (never seen)")
    t0 = time.perf_counter()
    train = [bh.simulate.session(duration="10 min", seed=s) for s in train_seeds]
    test = [bh.simulate.session(duration="10 min", seed=s) for s in test_seeds]
    train_x = [features.extract(ds, progress=False) for ds, _ in train]
    test_x = [features.extract(ds, progress=False) for ds, _ in test]
    print(f"   simulated and extracted {train_x[0].sizes['feature']} features of "
          f"{len(train) + len(test)} sessions in {time.perf_counter() - t0:.0f} s")  # fmt: skip
    clf = BehaviorClassifier(behaviors=BEHAVIORS, threshold="f1", min_bout="auto", merge_gap="auto",
                             random_state=0, progress=False)  # fmt: skip
    t0 = time.perf_counter()
    clf.fit(train_x, [truth.labels for _, truth in train])
    fit_s = time.perf_counter() - t0
    print(f"   fit (3 behaviors, 3 inner folds for thresholds + final fit): {fit_s:.0f} s; "
          f"{load()}")  # fmt: skip
    print("   thresholds:", {b: round(t, 3) for b, t in clf.thresholds_.items()})
    print("   min bout (s):", {b: v and round(v, 2) for b, v in clf.min_bout_.items()},
          " merge gap (s):", {b: v and round(v, 2) for b, v in clf.merge_gap_.items()})  # fmt: skip
    model, preset, clean, per_session = [], [], [], []
    for (ds, truth), x in zip(test, test_x, strict=True):
        reference = Ethogram.from_states(truth.labels).sel(behavior=BEHAVIORS)
        found = clf.predict(x)
        table = agreement(reference, found)
        model.append(table)
        f = pooled([table])["frame_f1"].rename(truth.params["seed"])
        per_session.append(f)
        rules = pd.concat([events.PRESETS.get(PRESET[b])(ds).assign(behavior=b) for b in BEHAVIORS])
        preset.append(agreement(reference, Ethogram.from_bouts(rules, ds, behaviors=BEHAVIORS)))
        ev = truth.events[truth.events.behavior.isin(BEHAVIORS)]
        clean.append(agreement(reference, Ethogram.from_bouts(ev, ds, behaviors=BEHAVIORS)))
    table = pooled(model)
    table["target"] = [TARGETS[b] for b in table.index]
    table["met"] = np.where(table.frame_f1 >= table.target, "yes", "NO")
    table["rule_preset_f1"] = pooled(preset)["frame_f1"]
    table["clean_rule_f1"] = pooled(clean)["frame_f1"]
    print("   pooled over the 4 test sessions (classifier learned from labels alone; rule")
    print("   columns: the same labels scored against rules, for context):")
    print(table.round(3).to_string())
    print("   frame F1 per test session:")
    print(pd.concat(per_session, axis=1).round(3).to_string())


def behaviordepot() -> None:
    folder = DATA / "behaviordepot_freezing" / "demo" / "demo1"
    print("\n== 2. BehaviorDEPOT demo1 freezing (50 fps, 32 px/cm, human labels, 6000 frames)")
    if not folder.is_dir():
        print("   skipped: data not found")
        return
    ds = bh.load_poses(folder / "demo1_tracking.csv", fps=50)
    ds.attrs["px_per_cm"] = 32.0
    labels = folder / "demo1_human_freezing_perframe.csv"
    human = bh.load_annotations(labels, fps=50)
    rows = []
    for name, clf in [
        ("classifier, threshold 0.5", BehaviorClassifier(random_state=0)),
        ("classifier, threshold 'f1' + auto bouts",
         BehaviorClassifier(threshold="f1", min_bout="auto", merge_gap="auto", random_state=0)),
    ]:  # fmt: skip
        t0 = time.perf_counter()
        res = cross_validate(clf, [ds], [labels], cv=5, gap="2 s", progress=False)
        s = res.summary.iloc[0]
        rows.append({"method": name, "frame_precision": s.frame_precision,
                     "frame_recall": s.frame_recall, "frame_f1": s.frame_f1,
                     "bout_f1": s.bout_f1, "per_block_f1": res.scores.frame_f1.round(2).tolist(),
                     "seconds": time.perf_counter() - t0})  # fmt: skip
    found = events.freezing(ds, px_per_cm=32)
    rule = Ethogram.from_bouts(
        found.assign(behavior=human.behaviors[0], individual=human.individuals[0]),
        human.time, behaviors=human.behaviors, individuals=human.individuals,
    )  # fmt: skip
    h, r = human.labels.values[:, 0, 0], rule.labels.values[:, 0, 0]
    blocks = np.array_split(np.arange(h.size), 5)
    per_block = [round(2 * (h[b] & r[b]).sum() / max(h[b].sum() + r[b].sum(), 1), 2)
                 for b in blocks]  # fmt: skip
    a = agreement(human, rule).iloc[0]
    rows.append({"method": "freezing rule preset (not fitted)",
                 "frame_precision": a.frame_precision, "frame_recall": a.frame_recall,
                 "frame_f1": a.frame_f1, "bout_f1": a.bout_f1, "per_block_f1": per_block,
                 "seconds": np.nan})  # fmt: skip
    print("   5 contiguous blocks of 24 s; each fold trains on the other ~96 s minus 2 s gaps")
    print(pd.DataFrame(rows).round(3).to_string(index=False))


def fit_time() -> None:
    print("\n== 3. fit time, 54,000 frames (30 min at 30 fps) x ~560 features, one behavior")
    ds, truth = bh.simulate.session(duration="30 min", seed=7)
    x = features.extract(ds, progress=False).isel(individual=[0])
    y = Ethogram.from_states(truth.labels.isel(individual=[0])).sel(behavior=["freeze"])
    print(f"   matrix {x.sizes['time']} x {x.sizes['feature']}, freezing in "
          f"{float(y.labels.mean()):.1%} of frames")  # fmt: skip
    rows = []
    for name, params in [
        ("default forest (100 trees, 10k rows/tree, negatives thinned)", {}),
        ("all rows (negative_ratio=None)", {"negative_ratio": None}),
        ("default + threshold='f1' (3 inner folds + final fit)", {"threshold": "f1"}),
    ]:
        clf = BehaviorClassifier(**params, random_state=0, progress=False)
        t0 = time.perf_counter()
        clf.fit([x], [y])
        seconds = time.perf_counter() - t0
        rows.append({"model": name, "fit_s": seconds,
                     "speedup_vs_simba_1056s": SIMBA_FIT_S / seconds})  # fmt: skip
    print(pd.DataFrame(rows).round(1).to_string(index=False))
    print(f"   target < 60 s; {load()}; SimBA figure is a reference, not run here")


if __name__ == "__main__":
    simulated()
    behaviordepot()
    fit_time()
