"""Keypoint SLDS: the batched pose pass against the per-sequence Kalman filter it replaced.

Data: ``bh.simulate.keypoint_ar(n_sessions=3, duration="10 min", seed=...)`` (keypoint-
moseq's generative model with the simulator's defaults: 8 states, AR order 1, 6-d
latent pose, 10 keypoints, 1.5 px noise, 1 % outliers; 3 x 18,000 frames at 30 fps).

Both fits are ``bh.syllables.fit(sessions, model="slds", random_state=0)`` as the
README shows it (PCA to 95 %, an AR-HMM with K = 100 and 3 lags, its 100 sweeps,
then 100 iterations of the full model), in the same run, once with the pose pass
of before (``behavior.syllables.slds._REFERENCE_KALMAN``: a Kalman filter and
backward sampler per sequence, numba with LAPACK solves and eigendecompositions
per frame) and once with the batched pass (the banded Cholesky factor of the
posterior precision of all sequences in one numba call, no library call per
frame). The two are the same model; their random streams differ, so their
labels differ as two seeds would.

Reported per fit: wall seconds and CPU seconds of the whole fit (the AR-HMM stage
included), the median seconds per iteration of the full model, the adjusted Rand
index against the true states and the states used; the ratios old / new; and
the CPU seconds of the pose pass alone on the fitted model (both passes, same
input). The old pass is only the pose pass of before: the placement, residual and
information kernels are the new ones on both sides.
Then one session of 1 hour (108,000 frames) is fit with the batched pass, and (unless
``--no-old``) again without the merges by the held-out evidence of the keypoints
after the fit (``evidence_merge_tolerance=None``), to time them.

Targets (issue 17): 3 x 10 min in under 2 minutes, 1 hour under 5 minutes, on the
2-core development machine.

Measured 2026-12-06 on the shared 2-core machine (load 3-7), seed 0: 3 x 10 min,
new 45.5 s wall / 35.1 s CPU, ARI 0.921 (9 states); old pose pass 104.9 s wall /
68.9 s CPU, ARI 0.922; the pose pass alone 0.489 -> 0.062 s CPU (7.9x). The code
before issue 17 (placement and residuals in numpy as well; same call, separate
run): 117.6 s wall / 114.5 s CPU, ARI 0.922. 1 hour: 102.4 s wall / 67.2 s CPU,
ARI 0.908.

Measured 2026-12-07 with the merges by the held-out evidence of the keypoints
(nothing else running): 3 x 10 min 39.9 s wall / 49.5 s CPU, ARI 0.949 (8 states);
old pose pass 96.6 s wall, 3.79x per iteration; pose pass alone 7.0x. 1 hour: 69.1 s
wall / 83.7 s CPU, ARI 0.910, against 58.2 s / 68.5 s without the evidence merges
(+10.9 s, 1.19x; the same ARI and 8 states).

Run::

    python benchmarks/bench_slds.py                      # everything (~10 min)
    python benchmarks/bench_slds.py --minutes 2 --no-hour --slds-iters 20   # quick
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import best_of
from sklearn.metrics import adjusted_rand_score

import behavior as bh
from behavior.syllables import slds as slds_module


def fit_once(sessions, truth, reference: bool, ar_iters: int, slds_iters: int, **options) -> dict:
    """One ``bh.syllables.fit(model="slds", **options)``, timed, with the old or the new
    pose pass."""
    slds_module._REFERENCE_KALMAN = reference
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        syl = bh.syllables.fit(
            sessions,
            model="slds",
            n_iter=ar_iters,
            slds_iter=slds_iters,
            random_state=0,
            progress=False,
            **options,
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        slds_module._REFERENCE_KALMAN = False
    model = syl.model
    labels = np.concatenate([np.asarray(z) for z in model.labels_])
    per_iter = np.asarray(model.iteration_seconds_)
    return {
        "wall": wall,
        "cpu": cpu,
        "s_iter": float(np.median(per_iter[1:] if per_iter.size > 1 else per_iter)),
        "ari": adjusted_rand_score(np.concatenate(truth.labels), labels),
        "states": int(np.unique(labels).size),
        "model": model,
        "sessions": sessions,
    }


def pose_pass_seconds(model, sessions, reference: bool) -> float:
    """Best of 3, CPU seconds: one posterior draw of the poses of all sequences, given the fit's
    labels (what every iteration of the full model does first)."""
    tracks = model._tracks(sessions, fitting=False)
    for tr, z in zip(tracks, model.labels_):
        tr.z = np.asarray(z, np.int64)
    weights = [model._weights(tr) for tr in tracks]
    rng = np.random.default_rng(0)
    slds_module._REFERENCE_KALMAN = reference
    try:
        return best_of(lambda: model._draw_all_poses(tracks, weights, rng), 3, time.process_time)
    finally:
        slds_module._REFERENCE_KALMAN = False


def show(name: str, res: dict) -> None:
    print(
        f"  {name:28s} fit {res['wall']:7.1f} s wall  {res['cpu']:7.1f} s CPU  "
        f"{res['s_iter']:6.3f} s/iteration  ARI {res['ari']:.3f}  states {res['states']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each session")
    parser.add_argument("--sessions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated draw")
    parser.add_argument("--ar-iters", type=int, default=100, help="AR-HMM stage sweeps")
    parser.add_argument("--slds-iters", type=int, default=100, help="full-model iterations")
    parser.add_argument("--no-old", action="store_true", help="skip the old pose pass")
    parser.add_argument("--no-hour", action="store_true", help="skip the 1-hour session")
    args = parser.parse_args()

    slds_module._warm_up()
    sessions, truth = bh.simulate.keypoint_ar(
        n_sessions=args.sessions, duration=f"{args.minutes} min", seed=args.seed
    )
    frames = sum(ds.sizes["time"] for ds in sessions)
    print(
        f"keypoint SLDS, {args.sessions} x {args.minutes:g} min ({frames} frames), "
        f"{args.ar_iters} AR-HMM sweeps + {args.slds_iters} iterations",
        flush=True,
    )
    new = fit_once(sessions, truth, False, args.ar_iters, args.slds_iters)
    show("batched pose pass (new)", new)
    if not args.no_old:
        old = fit_once(sessions, truth, True, args.ar_iters, args.slds_iters)
        show("per-sequence Kalman (old)", old)
        print(
            f"  ratio old / new: fit {old['wall'] / new['wall']:.2f}x wall, "
            f"{old['cpu'] / new['cpu']:.2f}x CPU, "
            f"{old['s_iter'] / new['s_iter']:.2f}x per iteration",
            flush=True,
        )
        t_old = pose_pass_seconds(new["model"], sessions, True)
        t_new = pose_pass_seconds(new["model"], sessions, False)
        print(
            f"  pose pass alone ({frames} frames): old {t_old:.3f} s, new {t_new:.3f} s CPU, "
            f"{t_old / t_new:.1f}x",
            flush=True,
        )
    if not args.no_hour:
        hour, hour_truth = bh.simulate.keypoint_ar(
            n_sessions=1, duration="60 min", seed=args.seed + 1
        )
        print("1 hour, one session (108000 frames):", flush=True)
        with_merges = fit_once(hour, hour_truth, False, args.ar_iters, args.slds_iters)
        show("batched pose pass (new)", with_merges)
        if not args.no_old:
            # the merges by the held-out evidence of the keypoints after the fit: their
            # cost against the same fit without them
            plain = fit_once(
                hour,
                hour_truth,
                False,
                args.ar_iters,
                args.slds_iters,
                evidence_merge_tolerance=None,
            )
            show("  without evidence merges", plain)
            print(
                f"  evidence merges: {with_merges['wall'] - plain['wall']:+.1f} s wall "
                f"({with_merges['wall'] / plain['wall']:.2f}x the fit without them)",
                flush=True,
            )


if __name__ == "__main__":
    main()
