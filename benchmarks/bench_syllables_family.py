"""Syllables on data we did not make: a family of generative models, no truth given to the fit.

Ground truth: ``bh.simulate.keypoint_ar_family(n_draws, seed=0)`` draws the
parameters of ``--draws`` (default 12) generative models of the kind keypoint-moseq
assumes, and ``bh.simulate.keypoint_ar(**draw)`` simulates each: state-specific
stable AR dynamics in a latent pose space mapped linearly to a skeleton, turned by
a heading random walk and moved by a centroid random walk, Gaussian or Student-t
keypoint noise and outliers with low confidence. Across the family: 4, 8 or 16
states (each equally often), AR order 1-3 (each equally often), mean state
durations of 6-30 frames, latent dimension 4-12, 6-20 keypoints, noise 0.5-3 px,
0-3 % outliers, 2-4 sessions of 10-20 minutes at 30 fps. After the family, the
simulator's own ``bh.simulate.session(kind="single", n_motifs=8, duration="10
min", seed=s)`` for s = 0, 1, 2 (row ``single``; not in the family's summary).

Every model is fit as a user would: ``bh.syllables.fit(sessions, model=name,
progress=False)`` with nothing about the draw (no ``n_states``, no
``target_duration``, default preprocessing), for each name in ``--models`` (default
``arhmm,slds``); ``--fit-options`` adds expert options (a JSON object, the same for
every model and draw) to measure them against the defaults. Reported per draw and
model: adjusted Rand index and NMI of the frame labels against the true states (all
sessions pooled), states used against the true number, median bout duration found
against the true one (in frames, runs within each session), total fit seconds
(preprocessing, compilation and fit), seconds per iteration (median after the first
three) and the merges of states the AR-HMM made after its fit (``ARHMM.merges_``).
Then, per model, the issue-17 summary over the family: median ARI, worst ARI and the
number of draws whose states used are within 25 % of the truth. A ceiling per draw
(``oracle``): the ARI of the Viterbi path of the true latents under the draw's true
parameters (AR dynamics, transitions, geometric durations of the true mean), i.e.
how separable the states are before any tracking noise.

keypoint-moseq (0.8.x; tested with 0.8.1, jax-moseq 0.3.7) runs on the first
``--kpms-draws`` (4) draws in a subprocess of the interpreter named by
``KPMS_PYTHON`` (its own environment, never this process; the mechanism of
``bench_syllables.py``, whose ``run_kpms_keypoints`` is used). It runs its own
pipeline, as its modeling tutorial does, on the keypoints and confidences of the
sessions (all keypoints; ``nose`` anterior, ``tail_base`` posterior for its heading):
``format_data`` (its defaults: segments of at most 10,000 frames, 0.1 px of added
noise, confidence pseudocount), its own ``fit_pca``, ``latent_dim`` = the PCs that
explain 90 % of the variance (at most 10), ``sigmasq_loc`` from
``estimate_sigmasq_loc``, its config defaults otherwise (100 states, 3 lags,
``alpha`` 5.7, ``gamma`` 1e3, noise-calibration defaults). kappa is chosen as its
docs advise, without any truth: a scan of the AR-HMM stage (``--kpms-scan-probes``
kappas from its default 1e6, decades then bisection, ``--kpms-scan-iters`` sweeps
each) for a median syllable of ``--kpms-target-frames`` (12 frames, its docs' 0.4 s
at 30 fps); the probe closest to it is continued to ``--kpms-iters`` (50) AR-HMM
sweeps: row ``kpms-arhmm`` (its time includes the scan). The full keypoint SLDS
(``jax_moseq.models.keypoint_slds.resample_model``, what ``fit_model(...,
ar_only=False)`` runs) then continues from there with kappa divided by
``--kpms-full-kappa-divisor`` (10, its docs' advice): row ``kpms-slds``. Its
default is 500 full-model iterations; this benchmark runs ``--kpms-full-iters``
(100) because 500 on four full-length draws takes hours on a 2-core machine, so
its ARI is that of a shorter fit than a user would run (seconds per iteration are
unaffected; the committed run in ``results/syllables_family_kpms`` used 50 and
3 scanned kappas to fit in the afternoon it had). Labels: the last Gibbs sample (as
``extract_results``). The subprocess runs with XLA's multithreaded Eigen off and
CPU async dispatch off (``kpms_environment``); even so the full model wedged XLA's
CPU runtime here after 11-95 iterations (issue 7's hang: every thread asleep, the
main one waiting for a buffer nothing computes), so it checkpoints every 5
iterations and is restarted from there after 300 s without progress. Without
``KPMS_PYTHON`` it is skipped with a message. With jax/jaxlib 0.4.35 in keypoint-moseq's
environment instead of 0.10.2 (``pip install jax==0.4.35 jaxlib==0.4.35`` there) its full
model ran draws 2 and 3 without a stall (``results/syllables_family_kpms/draws_2_3.txt``,
run with ``--only-draws 2,3``), where 0.10.2 had wedged four times on draw 2. ``--models none`` runs
keypoint-moseq alone (only on the draws it runs on).

Targets (issue 17), with the defaults: median ARI >= 0.95, worst >= 0.85, states
used within 25 % of the truth on at least 10 of 12 draws, ARI at least
keypoint-moseq's on every draw where it ran, at >= 10x its speed per iteration.

Run::

    python benchmarks/bench_syllables_family.py                      # 12 draws, arhmm and slds
    python benchmarks/bench_syllables_family.py --quick --models arhmm   # 3 short draws, minutes
    python benchmarks/bench_syllables_family.py --models slds --fit-options '{"stage_seconds": 300}'
    KPMS_PYTHON=/work/kpms_venv/bin/python python benchmarks/bench_syllables_family.py \\
        --models arhmm --out results/
    KPMS_PYTHON=/work/kpms_venv/bin/python python benchmarks/bench_syllables_family.py \\
        --models none --no-single --out benchmarks/results/syllables_family_kpms  # kpms alone
    python benchmarks/bench_syllables_family.py --only-draws 2,3 --no-single  # two draws
    python benchmarks/bench_syllables_family.py --models slds --no-single \\
        --fit-options '{"preprocess": {"alignment": "axis"}}'   # the SLDS's old body frame
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _fit_options import add_fit_options, fit_options

import behavior as bh

QUICK_DRAWS = 3
QUICK_DURATION = "3 min"
QUICK_SESSIONS = 2
SINGLE_SEEDS = (0, 1, 2)
SINGLE_STATES = 8


# --------------------------------------------------------------------------- scores
def run_lengths(labels: np.ndarray) -> np.ndarray:
    """Lengths (frames) of the runs of equal labels in one sequence."""
    if labels.size == 0:
        return np.empty(0, dtype=int)
    change = np.flatnonzero(np.diff(labels) != 0) + 1
    return np.diff(np.concatenate([[0], change, [labels.size]]))


def median_duration(sequences: list[np.ndarray]) -> float:
    return float(np.median(np.concatenate([run_lengths(s) for s in sequences])))


def scores(truth: list[np.ndarray], pred: list[np.ndarray]) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    t, p = np.concatenate(truth), np.concatenate(pred)
    return {
        "ari": adjusted_rand_score(t, p),
        "nmi": normalized_mutual_info_score(t, p),
        "states_true": int(np.unique(t).size),
        "states_used": int(np.unique(p[p >= 0]).size),
        "median_dur_true": median_duration(truth),
        "median_dur_found": median_duration(pred),
    }


def per_iter(seconds) -> float:
    seconds = np.asarray(seconds if seconds is not None else [], float)
    if seconds.size == 0:
        return float("nan")
    return float(np.median(seconds[3:] if seconds.size > 4 else seconds))


def oracle_labels(truth) -> list[np.ndarray]:
    """Viterbi path of the true latents under the draw's true parameters (a ceiling).

    The true AR dynamics and transition matrix, with geometric durations of the true
    mean: how well the states can be told apart at all, before any tracking noise.
    """
    p = truth.params
    A, b, chol = p["ar_matrices"], p["ar_offsets"], p["ar_noise_chol"]
    n_states, n_lags = A.shape[:2]
    stay = 1.0 - 1.0 / max(p["duration_mean_frames"], 1.0 + 1e-9)
    trans = p["transition_matrix"] * (1.0 - stay)
    trans[np.diag_indices(n_states)] = stay
    log_trans = np.log(trans + 1e-300)
    paths = []
    for x in truth.latents:
        n = len(x)
        loglik = np.zeros((n, n_states))
        for k in range(n_states):
            pred = b[k] + sum(
                np.vstack([np.repeat(x[:1], lag + 1, 0), x[: n - 1 - lag]]) @ A[k, lag].T
                for lag in range(n_lags)
            )
            r = np.linalg.solve(chol[k], (x - pred).T)
            loglik[:, k] = -0.5 * (r**2).sum(0) - np.log(np.diag(chol[k])).sum()
        best = loglik[0].copy()
        back = np.zeros((n, n_states), dtype=np.int64)
        for t in range(1, n):
            step = best[:, None] + log_trans
            back[t] = step.argmax(0)
            best = step.max(0) + loglik[t]
        path = np.empty(n, dtype=np.int64)
        path[-1] = best.argmax()
        for t in range(n - 1, 0, -1):
            path[t - 1] = back[t, path[t]]
        paths.append(path)
    return paths


# --------------------------------------------------------------------------- data
def family_draws(n_draws: int, quick: bool, seed: int) -> list[dict]:
    draws = bh.simulate.keypoint_ar_family(n_draws=QUICK_DRAWS if quick else n_draws, seed=seed)
    if quick:
        draws = [{**d, "duration": QUICK_DURATION, "n_sessions": QUICK_SESSIONS} for d in draws]
    return draws


def single_sessions(quick: bool):
    seeds = SINGLE_SEEDS[:QUICK_SESSIONS] if quick else SINGLE_SEEDS
    duration = QUICK_DURATION if quick else "10 min"
    sessions, truth = [], []
    for s in seeds:
        ds, tr = bh.simulate.session(
            kind="single", n_motifs=SINGLE_STATES, duration=duration, seed=s
        )
        sessions.append(ds)
        truth.append(tr.labels.values[:, 0].astype(int))
    return sessions, truth


# --------------------------------------------------------------------------- models
def run_model(name: str, sessions, truth, options: dict | None = None) -> dict:
    t = time.perf_counter()
    syl = bh.syllables.fit(sessions, model=name, progress=False, **(options or {}))
    seconds = time.perf_counter() - t
    return {
        **scores(truth, syl.codes),
        "fit_s": seconds,
        "s_iter": per_iter(getattr(syl.model, "iteration_seconds_", None)),
        "merges": len(getattr(syl.model, "merges_", None) or []),
    }


def run_keypoint_moseq(sessions, truth, python: str, args) -> list[dict]:
    """keypoint-moseq's AR-HMM stage and full keypoint SLDS: one row each.

    Its own pipeline on the keypoints and confidences (``run_kpms_keypoints``); the
    AR-HMM row's time includes the kappa scan, the full model's row adds its own
    iterations to that.
    """
    from bench_syllables import run_kpms_keypoints

    res = run_kpms_keypoints(
        sessions,
        python,
        anterior=["nose"],
        posterior=["tail_base"],
        kappa=args.kpms_kappa,
        target_frames=args.kpms_target_frames,
        scan_probes=args.kpms_scan_probes,
        scan_iters=args.kpms_scan_iters,
        ar_iters=args.kpms_iters,
        full_iters=args.kpms_full_iters,
        full_kappa_divisor=args.kpms_full_kappa_divisor,
    )
    ar, full = res["ar"], res["full"]
    ar_s = ar["scan_s"] + ar["t_init"] + sum(ar["times"])
    common = {
        "merges": 0,
        "kpms_latent_dim": res["latent_dim"],
        "kappa_scan": ";".join(f"{k:.3g}:{d:g}" for k, d in res["scan"]) or "fixed",
    }
    print(
        f"  keypoint-moseq: latent_dim {res['latent_dim']} ({res['variance']:.1%} of the "
        f"variance), {res['segments'][0]} segments of {res['segments'][1]} frames, kappa scan "
        f"{common['kappa_scan']} -> AR-HMM kappa {res['kappa_ar']:.3g}, full model "
        f"{res['kappa_full']:.3g}; x64 {res['x64']}, subprocess wall {res['wall']:.0f} s"
    )
    rows = [
        {
            "model": "kpms-arhmm",
            **scores(truth, ar["labels"]),
            "fit_s": ar_s,
            "s_iter": per_iter(ar["times"]),
            "iters": str(len(ar["times"])),
            "kappa": res["kappa_ar"],
            **common,
        },
        {
            "model": "kpms-slds",
            **scores(truth, full["labels"]),
            "fit_s": ar_s + sum(full["times"]),
            "s_iter": per_iter(full["times"]),
            "iters": f"{len(ar['times'])}+{len(full['times'])}",
            "kappa": res["kappa_full"],
            **common,
        },
    ]
    return rows


# --------------------------------------------------------------------------- report
COLUMNS = [
    "draw",
    "model",
    "ari",
    "nmi",
    "states_used",
    "states_true",
    "median_dur_found",
    "median_dur_true",
    "fit_s",
    "s_iter",
    "merges",
]


def show(row: dict) -> None:
    print(
        f"  {row['draw']:>6} {row['model']:<15} ARI {row['ari']:.3f}  NMI {row['nmi']:.3f}  "
        f"states {row['states_used']:>3} / {row['states_true']:<3} "
        f"median bout {row['median_dur_found']:5.1f} / {row['median_dur_true']:5.1f} frames  "
        f"fit {row['fit_s']:6.1f} s  ({row['s_iter']:.3f} s/iter)  "
        f"merges after fit {row.get('merges', 0)}",
        flush=True,
    )


def describe(i: int, draw: dict) -> str:
    return (
        f"[draw {i}] K={draw['n_states']} AR({draw['n_lags']}) latent {draw['latent_dim']}, "
        f"{draw['n_keypoints']} keypoints, mean duration {draw['mean_duration'] * draw['fps']:.0f} "
        f"frames, {draw['noise']} noise {draw['noise_px']} px, "
        f"{draw['outlier_fraction']:.1%} outliers, {draw['n_sessions']} x {draw['duration']}"
    )


def summary(table: pd.DataFrame) -> None:
    family = table[table["draw"] != "single"]
    print("\nSummary over the family (targets: median ARI >= 0.95, worst >= 0.85, states used")
    print("within 25 % of the truth on >= 10 of 12 draws):")
    for model, rows in family.groupby("model", sort=False):
        within = (rows["states_used"] - rows["states_true"]).abs() <= 0.25 * rows["states_true"]
        print(
            f"  {model:<15} median ARI {rows['ari'].median():.3f}  worst ARI "
            f"{rows['ari'].min():.3f}  states within 25 %: {int(within.sum())} of {len(rows)}  "
            f"median NMI {rows['nmi'].median():.3f}  total fit {rows['fit_s'].sum():.0f} s"
        )
    ceiling = family.drop_duplicates("draw")["oracle_ari"]
    print(
        f"  {'(oracle)':<15} median ARI {ceiling.median():.3f}  worst ARI {ceiling.min():.3f}  "
        "(true parameters on the true latents, no tracking noise)"
    )
    kpms_rows = family["model"].str.startswith("kpms-")
    for model, rows in family[~kpms_rows].groupby("model", sort=False):
        for peer, kpms in family[kpms_rows].groupby("model", sort=False):
            both = rows.merge(kpms, on="draw", suffixes=("", "_kpms"))
            if len(both):
                wins = int((both["ari"] >= both["ari_kpms"]).sum())
                speed = np.median(both["s_iter_kpms"] / both["s_iter"])
                print(
                    f"  {model} vs {peer}: ARI at least its own on {wins} of {len(both)} "
                    f"draws; per-iteration speed ratio ({peer} / {model}) {speed:.1f}x"
                )


def write_table(table: pd.DataFrame, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "syllables_family.csv"
    extra = [c for c in table.columns if c not in COLUMNS]
    tmp = path.with_suffix(".csv.tmp")
    table[COLUMNS + extra].to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=12, help="family draws (default 12)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the family")
    parser.add_argument(
        "--only-draws",
        help="comma-separated draw numbers to run (e.g. '2,3'; the family is still drawn "
        "whole, so draw i is the same as in a full run); --kpms-draws counts them in order",
    )
    parser.add_argument("--models", default="arhmm,slds", help="bh.syllables.fit model names")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_DRAWS} draws of {QUICK_SESSIONS} x {QUICK_DURATION}, short single sessions",
    )
    parser.add_argument("--no-single", action="store_true", help="skip the kind='single' row")
    parser.add_argument("--kpms-draws", type=int, default=4, help="keypoint-moseq on these draws")
    parser.add_argument(
        "--kpms-iters", type=int, default=50, help="keypoint-moseq AR-HMM stage sweeps (50)"
    )
    parser.add_argument(
        "--kpms-full-iters",
        type=int,
        default=100,
        help="keypoint-moseq full-model iterations (100; its own default is 500)",
    )
    parser.add_argument(
        "--kpms-kappa", type=float, help="AR-HMM kappa for keypoint-moseq (default: scanned)"
    )
    parser.add_argument(
        "--kpms-target-frames",
        type=float,
        default=12.0,
        help="median syllable (frames) the kappa scan aims at (12: its docs' 0.4 s at 30 fps)",
    )
    parser.add_argument("--kpms-scan-probes", type=int, default=4, help="kappas scanned (4)")
    parser.add_argument(
        "--kpms-scan-iters", type=int, default=20, help="AR-HMM sweeps per scanned kappa (20)"
    )
    parser.add_argument(
        "--kpms-full-kappa-divisor",
        type=float,
        default=10.0,
        help="full-model kappa = AR-HMM kappa / this (10, as its docs advise)",
    )
    parser.add_argument("--out", type=Path, help="write syllables_family.csv into this folder")
    add_fit_options(parser)
    args = parser.parse_args()
    options = fit_options(parser, args.fit_options)
    models = [m.strip() for m in args.models.split(",") if m.strip() not in ("", "none")]
    kpms_python = os.environ.get("KPMS_PYTHON")
    load = os.getloadavg()
    print(
        f"bench_syllables_family: {os.cpu_count()} CPUs, load average {load[0]:.1f} "
        f"{load[1]:.1f} {load[2]:.1f} at start (timings are taken on a shared machine)"
    )
    if not kpms_python:
        print("keypoint-moseq: skipped (set KPMS_PYTHON to an interpreter with keypoint-moseq)")
    rows = []
    draws = family_draws(args.draws, args.quick, args.seed)
    chosen = list(range(len(draws)))
    if args.only_draws:
        try:
            chosen = sorted({int(v) for v in args.only_draws.split(",") if v.strip()})
        except ValueError:
            parser.error(
                f"--only-draws: expected draw numbers like '2,3', found {args.only_draws!r}"
            )
        if not chosen or not all(0 <= i < len(draws) for i in chosen):
            parser.error(
                f"--only-draws: expected draw numbers in 0-{len(draws) - 1}, "
                f"found {args.only_draws!r}"
            )
    for rank, i in enumerate(chosen):
        draw = draws[i]
        with_kpms = bool(kpms_python) and rank < args.kpms_draws
        if not models and not with_kpms:
            continue  # nothing to fit on this draw (--models none)
        print("\n" + describe(i, draw), flush=True)
        t = time.perf_counter()
        sessions, truth = bh.simulate.keypoint_ar(**draw)
        frames = sum(ds.sizes["time"] for ds in sessions)
        print(f"  simulated {frames} frames in {time.perf_counter() - t:.1f} s")
        ceiling = scores(truth.labels, oracle_labels(truth))["ari"]
        print(f"  oracle (true parameters on the true latents): ARI {ceiling:.3f}")
        params = {k: draw[k] for k in ("n_lags", "latent_dim", "n_keypoints", "noise")}
        params.update(
            noise_px=draw["noise_px"],
            outliers=draw["outlier_fraction"],
            frames=frames,
            oracle_ari=ceiling,
        )
        for model in models:
            row = {
                "draw": str(i),
                "model": model,
                **run_model(model, sessions, truth.labels, options),
            }
            show(row)
            rows.append({**row, **params})
        if with_kpms:
            try:
                kpms_rows = run_keypoint_moseq(sessions, truth.labels, kpms_python, args)
            except RuntimeError as error:  # a failed or wedged run: say so, go on
                print(f"  keypoint-moseq on draw {i}: {error}", flush=True)
                kpms_rows = []
            for res in kpms_rows:
                row = {"draw": str(i), **res}
                show(row)
                rows.append({**row, **params})
        if args.out is not None:  # after every draw: a long run keeps what it finished
            write_table(pd.DataFrame(rows), args.out)
    if not args.no_single and models:
        sessions, truth = single_sessions(args.quick)
        print(f"\n[single] bh.simulate.session(kind='single'): {len(sessions)} sessions")
        for model in models:
            row = {"draw": "single", "model": model, **run_model(model, sessions, truth, options)}
            show(row)
            rows.append(row)
    table = pd.DataFrame(rows)
    summary(table)
    if args.out is not None:
        print(f"\nwrote {write_table(table, args.out)}")
    load = os.getloadavg()
    print(f"\nload average at end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
