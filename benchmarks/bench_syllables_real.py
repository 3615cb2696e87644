"""Syllables against human labels on real tracking: do they find the freezing a person saw?

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

The baseline, in the same run: k-means (scikit-learn, ``--kmeans-clusters``
clusters, one seed per seed) on the default preprocessor's latent poses and their
frame-to-frame differences, the per-frame clustering that B-SOiD-like pipelines
start from. Each model's mean AUC and AP are printed as ratios over the
baseline's. A JSON goes to ``benchmarks/results/syllables_real/freezing.json``
(``--out`` to change).

Run::

    python benchmarks/bench_syllables_real.py
    python benchmarks/bench_syllables_real.py --models arhmm slds hmm --seeds 0 1
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
from _fit_options import add_fit_options, fit_options

import behavior as bh

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
if not DEFAULT_DATA.exists():
    DEFAULT_DATA = Path("/work/shared/data")
DEMO1 = Path("behaviordepot_freezing/demo/demo1")
FPS = 50


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


def kmeans_labels(ds, seed: int, n_clusters: int) -> np.ndarray:
    """k-means on the default preprocessor's latents and their differences."""
    from sklearn.cluster import KMeans

    from behavior.syllables import Preprocessor

    lat = Preprocessor().fit(ds).transform(ds)
    x = np.asarray(lat.data[0], float)
    ok = np.asarray(lat.mask[0]) & np.isfinite(x).all(axis=1)
    feat = np.concatenate([x, np.vstack([np.zeros((1, x.shape[1])), np.diff(x, axis=0)])], 1)
    feat = (feat - feat[ok].mean(0)) / (feat[ok].std(0) + 1e-9)
    labels = np.full(len(x), -1)
    labels[ok] = KMeans(n_clusters, n_init=4, random_state=seed).fit_predict(feat[ok])
    return labels


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
                labels = kmeans_labels(ds, seed, n_clusters)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="../shared/data")
    parser.add_argument("--models", nargs="+", default=["arhmm", "slds"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--blocks", type=int, default=4, help="contiguous time blocks")
    parser.add_argument("--kmeans-clusters", type=int, default=20)
    add_fit_options(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results" / "syllables_real",
        help="folder of freezing.json",
    )
    args = parser.parse_args()
    if args.blocks < 2:
        parser.error(f"--blocks: expected at least 2 time blocks, found {args.blocks}")
    if not (args.data / DEMO1).is_dir():
        print(f"real data not found at {args.data / DEMO1}: nothing to do")
        return 0
    load = os.getloadavg()
    print(
        f"bench_syllables_real: BehaviorDEPOT demo1 freezing, {args.blocks} time blocks; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.1f}"
    )
    options = fit_options(parser, args.fit_options)
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
    from behavior.io.registry import atomic_path

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "freezing.json"
    result = {
        "file": str(DEMO1 / "demo1_tracking.csv"),
        "blocks": args.blocks,
        "kmeans_clusters": args.kmeans_clusters,
        "fits": table.to_dict(orient="records"),
        "means": summary.reset_index().to_dict(orient="records"),
    }
    with atomic_path(path, verify=lambda tmp: json.loads(tmp.read_text())) as tmp:
        tmp.write_text(json.dumps(result, indent=2, default=float) + "\n")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
