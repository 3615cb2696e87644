"""AR-HMM on one hour at 30 fps: fit time with and without the merge step after the fit.

Data: two sessions of 30 minutes (108,000 frames in all) from
``bh.simulate.keypoint_ar`` with the parameters of family draw 2 of
``keypoint_ar_family(3, seed=0)`` (8 states, AR order 1, latent 10, 17 keypoints),
preprocessed once with the default ``Preprocessor()``. The same
``ARHMM(random_state=0)`` is fitted twice in the same run: with
``merge_after_fit=False`` (the baseline: the sampler alone) and with the default
``merge_after_fit=True``. A warm-up fit on a minute of data compiles the JAX kernels
first, so neither timed fit pays for compilation.

Printed per fit: wall seconds, seconds in the Gibbs sweeps, states used, merges,
the adjusted Rand index against the true states; and the ratio of the two fit
times. Target (issue 17): 1 hour at 30 fps under 1 minute.

Run::

    python benchmarks/bench_arhmm_hour.py
    python benchmarks/bench_arhmm_hour.py --minutes 10     # two sessions of 10 min
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

import behavior as bh
from behavior.syllables.arhmm import ARHMM
from behavior.syllables.preprocess import Preprocessor


def fit_once(latents, truth, merge_after_fit: bool) -> dict:
    tic = time.perf_counter()
    model = ARHMM(random_state=0, progress=False, merge_after_fit=merge_after_fit).fit(latents)
    seconds = time.perf_counter() - tic
    found = np.concatenate(model.predict(latents))
    return {
        "seconds": seconds,
        "gibbs": float(np.sum(model.iteration_seconds_)),
        "states": int(np.unique(found[found >= 0]).size),
        "merges": len(model.merges_),
        "ari": float(adjusted_rand_score(truth, found)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30, help="length of each of 2 sessions")
    args = parser.parse_args()
    print(f"bench_arhmm_hour: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    draw = bh.simulate.keypoint_ar_family(3, seed=0)[2]
    warm, _ = bh.simulate.keypoint_ar(**{**draw, "duration": "1 min", "n_sessions": 1})
    ARHMM(random_state=0, progress=False).fit(Preprocessor().fit_transform(warm))
    sessions, truth = bh.simulate.keypoint_ar(
        **{**draw, "duration": f"{args.minutes:g} min", "n_sessions": 2}
    )
    latents = Preprocessor().fit_transform(sessions)
    true = np.concatenate(truth.labels)
    frames = sum(x.shape[0] for x in latents.data)
    print(f"{frames} frames ({frames / 30 / 60:.0f} min at 30 fps), {latents.n_dims} dims")
    rows = {}
    for merge in (False, True):
        rows[merge] = r = fit_once(latents, true, merge)
        print(
            f"  merge_after_fit={merge!s:5}: fit {r['seconds']:6.1f} s (Gibbs {r['gibbs']:.1f} s), "
            f"{r['states']} states, {r['merges']} merges, ARI {r['ari']:.3f}",
            flush=True,
        )
    ratio = rows[True]["seconds"] / rows[False]["seconds"]
    print(f"fit time with the merge step / without: {ratio:.2f}x; target: under 60 s for 1 hour")
    return 0


if __name__ == "__main__":
    sys.exit(main())
