"""One session of ``behavior analyze`` end to end: an hour of two animals at 30 fps.

Target (issue 19): one hour of two animals analysed with the default configuration
(cleaning, kinematics, rule presets, features, figures, report) in under 60 s.

The session is simulated first (``bh.simulate.session``, not timed), then
:func:`behavior.study.session.analyze_session` runs twice in the same process:
"cold" (the first session of a process: numba kernels compile, matplotlib loads)
and "warm" (what every later session of a worker costs). The per-stage breakdown
comes from the result's ``stages``; the ratio is warm time over the 60 s target.

Run: nice -n 5 python benchmarks/bench_session.py [--duration "1 h"] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import behavior as bh
from behavior.study.config import load_config
from behavior.study.session import analyze_session

TARGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="1 h")
    parser.add_argument("--out", default=None, help="output folder (default: a temporary one)")
    args = parser.parse_args()

    start = time.perf_counter()
    ds, _ = bh.simulate.session(kind="social", duration=args.duration, fps=30, seed=0)
    print(
        f"simulated {args.duration} of {ds.sizes['individual']} animals x "
        f"{ds.sizes['keypoint']} keypoints at 30 fps ({ds.sizes['time']} frames) "
        f"in {time.perf_counter() - start:.1f} s (not timed below)"
    )
    config = load_config()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or tmp
        runs = {}
        for label in ("cold", "warm"):
            start = time.perf_counter()
            result = analyze_session(ds, config, out, name=f"session_{label}")
            runs[label] = (time.perf_counter() - start, result["stages"])
    stages = list(runs["warm"][1])
    print(f"\n{'stage':<16}{'cold s':>9}{'warm s':>9}")
    for stage in stages:
        print(f"{stage:<16}{runs['cold'][1].get(stage, 0):>9.2f}{runs['warm'][1][stage]:>9.2f}")
    print(f"{'total':<16}{runs['cold'][0]:>9.2f}{runs['warm'][0]:>9.2f}")
    warm = runs["warm"][0]
    print(
        f"\nwarm session: {warm:.1f} s = {warm / TARGET_S:.2f} x the {TARGET_S:.0f} s target "
        f"({'met' if warm < TARGET_S else 'NOT met'}); cold: {runs['cold'][0]:.1f} s"
    )


if __name__ == "__main__":
    main()
