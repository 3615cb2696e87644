"""Syllables against human labels on real tracking: do they find what a person saw?

Unsupervised syllables have no truth on real data, but where a person labelled a
behavior frame by frame, a good segmentation puts that behavior into syllables of
its own. This benchmark fits ``bh.syllables.fit(ds, model=..., random_state=seed)``
with the defaults (nothing about the labels is given) on BehaviorDEPOT's demo1
(``../shared/data/behaviordepot_freezing/demo/demo1``: one mouse in fear
conditioning, 8 keypoints x 6000 frames at 50 fps, human per-frame freezing on
23 % of the frames), for every seed of ``--seeds`` and every model of ``--models``.

Scored per fit, with the labels used only here:

* **cross-validated AUC and average precision** of freezing from the syllables:
  ``bh.syllables.held_out_rate`` cuts the session into ``--blocks`` contiguous
  time blocks (never single frames: neighbouring frames share a bout) and gives
  every frame its syllable's freezing fraction learned on the other blocks; the
  AUC and AP are computed over all frames;
* **NMI** between the syllables and the freezing labels (over all frames);
* the syllables used, their median duration and the fit seconds.

``--dataset rats`` scores the same way on ``rat_social_dev`` (two rats, 5
keypoints, ~31 % of the points missing, 30 fps; human labels of the pair:
social, nonsocial, aggression; the annotator's ``base`` outside the scored
window is unscored). One model is fitted on sessions 1 to ``--rat-sessions``
(every rat of every session is one sequence); the rates are learned with the
session as the block (``held_out_rate(..., groups=session)``: a session's frames
are scored by syllable rates learned on the other sessions, never by frame), a
pair's score is the mean of its two rats' rates, and AUC and AP are computed per
class within each session that shows the class and then averaged over those
sessions (pooled over sessions, the sessions' own base rates would count), over
the scored frames where every fit of the run gave both rats a syllable. The
aggression sub-types of the second stream (S2: ``RAT_SUBTYPES``, in the sessions
whose file has it) are scored the same way, each against every other scored
frame. The output is ``rat_social.json``.

The baseline, in the same run: k-means (scikit-learn, ``--kmeans-clusters``
clusters, one seed per seed) on the default preprocessor's latent poses and their
frame-to-frame differences, the per-frame clustering that B-SOiD-like pipelines
start from. Each model's mean AUC and AP are printed as ratios over the
baseline's. A JSON goes to ``benchmarks/results/syllables_real/freezing.json``
(``--out`` to change).

Run::

    python benchmarks/bench_syllables_real.py
    python benchmarks/bench_syllables_real.py --models arhmm slds hmm --seeds 0 1
    python benchmarks/bench_syllables_real.py --dataset rats --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _fit_options import add_fit_options, fit_options, with_options

import behavior as bh
from behavior.syllables._common import run_lengths

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
if not DEFAULT_DATA.exists():
    DEFAULT_DATA = Path("/work/shared/data")
DEMO1 = Path("behaviordepot_freezing/demo/demo1")
FPS = 50
RATS = Path("rat_social_dev")
RAT_FPS = 30
RAT_CLASSES = ["social", "nonsocial", "aggression"]
# the S2 stream's aggression sub-types with the most frames in sessions 1-40
RAT_SUBTYPES = ["keepdown", "lateralthreat", "clinch"]
RAT_AXIS = {"anterior": "top", "posterior": "tail"}  # head; tail base


def evaluate(labels: np.ndarray, truth: np.ndarray, n_blocks: int) -> dict:
    from sklearn.metrics import (
        average_precision_score,
        normalized_mutual_info_score,
        roc_auc_score,
    )

    ok = labels >= 0
    labels, truth = labels[ok], truth[ok]
    score = bh.syllables.held_out_rate(labels, truth, n_blocks)
    change = np.flatnonzero(np.diff(labels) != 0) + 1
    runs = np.diff(np.concatenate([[0], change, [labels.size]]))
    return {
        "auc": float(roc_auc_score(truth, score)),
        "ap": float(average_precision_score(truth, score)),
        "nmi": float(normalized_mutual_info_score(truth, labels)),
        "syllables_used": int(np.unique(labels).size),
        "median_duration_s": float(np.median(runs) / FPS),
        "frames_scored": int(ok.sum()),
    }


def kmeans_labels(sessions, seed: int, n_clusters: int, preprocess: dict | None = None) -> dict:
    """k-means on the default preprocessor's latents and their differences, one
    clustering over every sequence (session and individual) of ``sessions``, by key."""
    from sklearn.cluster import KMeans

    from behavior.syllables import Preprocessor

    lat = Preprocessor(**(preprocess or {})).fit(sessions).transform(sessions)
    feats, oks = [], []
    for data, mask in zip(lat.data, lat.mask, strict=True):
        x = np.asarray(data, float)
        step = np.vstack([np.zeros((1, x.shape[1])), np.diff(x, axis=0)])
        feats.append(np.concatenate([x, step], 1))
        oks.append(np.asarray(mask) & np.isfinite(x).all(axis=1))
    feat, ok = np.concatenate(feats), np.concatenate(oks)
    feat = (feat - feat[ok].mean(0)) / (feat[ok].std(0) + 1e-9)
    labels = np.full(len(feat), -1)
    labels[ok] = KMeans(n_clusters, n_init=4, random_state=seed).fit_predict(feat[ok])
    return dict(zip(lat.keys, np.split(labels, np.cumsum([len(f) for f in feats])[:-1])))


def run(
    data: Path,
    models: list[str],
    seeds: list[int],
    n_blocks: int,
    n_clusters: int,
    options: dict | None = None,
):
    folder = data / DEMO1
    ds = bh.load_poses(folder / "demo1_tracking.csv", fps=FPS)
    human = pd.read_csv(folder / "demo1_human_freezing_perframe.csv")["freezing_human"]
    truth = human.to_numpy()[: ds.sizes["time"]] > 0
    rows = []
    for model in ["kmeans", *models]:
        for seed in seeds:
            tic = time.perf_counter()
            if model == "kmeans":
                labels = next(iter(kmeans_labels(ds, seed, n_clusters).values()))
            else:
                syl = bh.syllables.fit(
                    ds, model=model, random_state=seed, progress=False, **(options or {})
                )
                labels = np.asarray(syl.codes[0])
            row = {"model": model, "seed": seed, **evaluate(labels, truth, n_blocks)}
            row["fit_seconds"] = time.perf_counter() - tic
            rows.append(row)
            print(
                f"  {model:>7} seed {seed}: AUC {row['auc']:.3f}  AP {row['ap']:.3f}  "
                f"NMI {row['nmi']:.3f}  {row['syllables_used']:>3} syllables, median "
                f"{row['median_duration_s']:.2f} s, {row['fit_seconds']:.1f} s",
                flush=True,
            )
    return truth, pd.DataFrame(rows)


def rat_sessions(data: Path, n_sessions: int) -> tuple[dict, dict]:
    """Poses of rat_social_dev sessions 1..n and their S1 class per frame (index into
    ``RAT_CLASSES``, -1 = unscored), cut or padded to the poses' frames."""
    poses = {}
    for k in range(1, n_sessions + 1):
        csv = next((data / RATS / "dlc_csv").glob(f"{k}DLC*.csv"))
        poses[f"session{k}"] = bh.load_poses(csv, fps=RAT_FPS)
    return poses, rat_labels(data, poses, "S1")


def rat_labels(data: Path, poses: dict, stream: str) -> dict:
    """Per session of ``poses`` (``"session<k>"``), its class per frame in the
    annotation ``stream``: S1's ``RAT_CLASSES`` or S2's ``RAT_SUBTYPES`` (index
    into them; -1 = none of them, or unscored), cut or padded to the poses'
    frames. A session whose file has no such stream is -1 throughout."""
    from behavior.io.annotations import load_annotations

    names = RAT_CLASSES if stream == "S1" else RAT_SUBTYPES
    classes = {}
    for name, ds in poses.items():
        k = int(name.removeprefix("session"))
        eth = load_annotations(data / RATS / "annotations" / f"{k}_annot.txt", fps=RAT_FPS)
        n = ds.sizes["time"]
        classes[name] = np.full(n, -1)
        if stream not in eth.labels.individual.values:
            continue
        labels = eth.labels.sel(individual=stream)
        known = set(labels.behavior.values.tolist())
        onehot = np.stack(
            [
                labels.sel(behavior=b).values > 0.5
                if b in known
                else np.zeros(labels.sizes["time"], bool)
                for b in names
            ],
            axis=1,
        )
        found = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1)
        classes[name][: min(n, found.size)] = found[:n]
    return classes


def run_rats(
    data: Path,
    models: list[str],
    seeds: list[int],
    n_clusters: int,
    n_sessions: int,
    options: dict | None = None,
):
    """Fit every model and seed on the rat sessions, then score them on common frames."""

    poses, classes = rat_sessions(data, n_sessions)
    subtypes = rat_labels(data, poses, "S2")
    fits, failed = [], []
    for model in ["kmeans", *models]:
        for seed in seeds:
            tic = time.perf_counter()
            if model == "kmeans":
                codes = kmeans_labels(poses, seed, n_clusters, RAT_AXIS)
            else:
                try:
                    syl = bh.syllables.fit(
                        poses,
                        model=model,
                        random_state=seed,
                        progress=False,
                        **with_options(options or {}, RAT_AXIS),
                    )
                except Exception as err:  # a model that fails here is a finding: say so
                    failed.append({"model": model, "seed": seed, "error": repr(err)})
                    print(
                        f"  {model:>7} seed {seed}: FAILED after "
                        f"{time.perf_counter() - tic:.1f} s: {err!r}",
                        flush=True,
                    )
                    continue
                codes = dict(zip(syl.latents.keys, syl.codes, strict=True))
            seconds = time.perf_counter() - tic
            # (session, rat) -> codes, as (T, 2) per session
            pairs = {
                name: np.stack([c for (sess, _), c in codes.items() if sess == name], axis=1)
                for name in poses
            }
            runs = []  # syllable bouts in frames (a run of -1 ends a bout)
            for c in codes.values():
                starts, stops, values = run_lengths(np.asarray(c))
                runs.append((stops - starts)[values >= 0])
            fits.append(
                {
                    "model": model,
                    "seed": seed,
                    "pairs": pairs,
                    "syllables_used": int(np.unique(np.concatenate(list(codes.values()))).size)
                    - int(any((c < 0).any() for c in codes.values())),
                    "median_duration_s": float(np.median(np.concatenate(runs)) / RAT_FPS),
                    "fit_seconds": seconds,
                }
            )
            print(f"  {model:>7} seed {seed}: fitted in {seconds:.1f} s", flush=True)
    # the frames scored: labelled, and both rats have a syllable in every fit
    common = {
        name: (classes[name] >= 0) & np.all([(f["pairs"][name] >= 0).all(1) for f in fits], 0)
        for name in poses
    }
    n_scored = int(sum(common[name].sum() for name in poses))
    # every session a held-out block; its frames rat 1's, then rat 2's
    groups = np.concatenate([np.full(2 * common[name].sum(), name) for name in poses])
    cuts = np.cumsum([2 * common[n].sum() for n in poses])[:-1]
    rows = []
    for f in fits:
        codes = np.concatenate(
            [f["pairs"][name][common[name]].T.reshape(-1) for name in poses]
        )  # per session: rat 1's frames, then rat 2's
        row = {k: f[k] for k in ("model", "seed", "syllables_used", "median_duration_s")}
        # S1's classes, then S2's aggression sub-types, each against every other scored frame
        for labels, names in ((classes, RAT_CLASSES), (subtypes, RAT_SUBTYPES)):
            for c, cls in enumerate(names):
                shown = [labels[name][common[name]] == c for name in poses]
                auc, ap, n = session_scores(codes, shown, groups, cuts)
                row[f"auc_{cls}"], row[f"sessions_{cls}"] = auc, n
                if names is RAT_CLASSES:
                    row[f"ap_{cls}"] = ap
            if names is RAT_CLASSES:
                row["auc_mean"] = float(np.mean([row[f"auc_{cls}"] for cls in RAT_CLASSES]))
        row["fit_seconds"] = f["fit_seconds"]
        rows.append(row)
        print(
            f"  {row['model']:>7} seed {row['seed']}: AUC "
            + "  ".join(f"{cls} {row[f'auc_{cls}']:.3f}" for cls in RAT_CLASSES + RAT_SUBTYPES)
            + f"  ({row['syllables_used']} syllables, median {row['median_duration_s']:.2f} s)",
            flush=True,
        )
    frames = {
        "frames_scored": n_scored,
        "frames_labelled": int(sum((classes[n] >= 0).sum() for n in poses)),
        "failed_fits": failed,
    }
    return frames, pd.DataFrame(rows)


def session_scores(
    codes: np.ndarray, shown: list[np.ndarray], groups: np.ndarray, cuts: np.ndarray
) -> tuple[float, float, int]:
    """AUC and AP of one class from the syllables, within each session that shows it
    (its own base rate says nothing of the syllables), averaged over those sessions.

    ``codes`` holds every session's scored frames, rat 1's then rat 2's, cut at
    ``cuts``; ``shown[i]`` is session ``i``'s class per scored frame. A frame's score
    is the mean of its two rats' syllable rates learned on the other sessions."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    events = np.concatenate([np.tile(y, 2) for y in shown])
    rate = bh.syllables.held_out_rate(codes, events, groups=groups)
    pairs = [r.reshape(2, -1).mean(0) for r in np.split(rate, cuts)]
    both = [(y, p) for y, p in zip(shown, pairs, strict=True) if 0 < y.sum() < y.size]
    if not both:
        return float("nan"), float("nan"), 0
    auc = float(np.mean([roc_auc_score(y, p) for y, p in both]))
    ap = float(np.mean([average_precision_score(y, p) for y, p in both]))
    return auc, ap, len(both)


def write_json(path: Path, result: dict) -> None:
    from behavior.io.registry import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, verify=lambda tmp: json.loads(tmp.read_text())) as tmp:
        tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"\nwrote {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="../shared/data")
    parser.add_argument(
        "--dataset",
        choices=["freezing", "rats"],
        default="freezing",
        help="BehaviorDEPOT demo1 freezing, or the rat_social_dev pairs",
    )
    parser.add_argument("--models", nargs="*", default=["arhmm", "slds"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--blocks", type=int, default=4, help="contiguous time blocks")
    parser.add_argument("--kmeans-clusters", type=int, default=20)
    parser.add_argument(
        "--rat-sessions", type=int, default=10, help="rat_social_dev sessions 1..N (10)"
    )
    add_fit_options(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results" / "syllables_real",
        help="folder of freezing.json and rat_social.json",
    )
    args = parser.parse_args()
    if args.blocks < 2:
        parser.error(f"--blocks: expected at least 2 time blocks, found {args.blocks}")
    if not 2 <= args.rat_sessions <= 40:
        parser.error(f"--rat-sessions: expected 2 to 40 sessions, found {args.rat_sessions}")
    folder = args.data / (DEMO1 if args.dataset == "freezing" else RATS)
    if not folder.is_dir():
        print(f"real data not found at {folder}: nothing to do")
        return 0
    options = fit_options(parser, args.fit_options)
    load = os.getloadavg()
    where = f"{os.cpu_count()} CPUs, load average {load[0]:.1f}"
    if args.dataset == "rats":
        print(f"bench_syllables_real: rat_social_dev sessions 1-{args.rat_sessions}; {where}")
        frames, table = run_rats(
            args.data, args.models, args.seeds, args.kmeans_clusters, args.rat_sessions, options
        )
        columns = [f"auc_{c}" for c in RAT_CLASSES] + ["auc_mean"]
        columns += [f"auc_{c}" for c in RAT_SUBTYPES]
        columns += [f"ap_{c}" for c in RAT_CLASSES]
        columns += ["syllables_used", "median_duration_s", "fit_seconds"]
        summary = table.groupby("model", sort=False)[columns].mean()
        base = summary.loc["kmeans"]
        summary["auc_mean / kmeans"] = summary["auc_mean"] / base["auc_mean"]
        print(
            f"\nmeans over seeds {args.seeds} ({frames['frames_scored']} of "
            f"{frames['frames_labelled']} labelled frames scored):"
        )
        print(summary.round(3).T.to_string())
        write_json(
            args.out / "rat_social.json",
            {
                "sessions": args.rat_sessions,
                "kmeans_clusters": args.kmeans_clusters,
                **frames,
                "fits": table.to_dict(orient="records"),
                "means": summary.reset_index().to_dict(orient="records"),
            },
        )
        return 0
    print(f"bench_syllables_real: BehaviorDEPOT demo1 freezing, {args.blocks} time blocks; {where}")
    truth, table = run(
        args.data, args.models, args.seeds, args.blocks, args.kmeans_clusters, options
    )
    summary = table.groupby("model", sort=False)[
        ["auc", "ap", "nmi", "syllables_used", "median_duration_s", "fit_seconds"]
    ].mean()
    base = summary.loc["kmeans"]
    summary["auc / kmeans"] = summary["auc"] / base["auc"]
    summary["ap / kmeans"] = summary["ap"] / base["ap"]
    print(f"\nmeans over seeds {args.seeds} (freezing on {truth.mean():.1%} of the frames):")
    print(summary.round(3).to_string())
    write_json(
        args.out / "freezing.json",
        {
            "file": str(DEMO1 / "demo1_tracking.csv"),
            "blocks": args.blocks,
            "kmeans_clusters": args.kmeans_clusters,
            "fits": table.to_dict(orient="records"),
            "means": summary.reset_index().to_dict(orient="records"),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
