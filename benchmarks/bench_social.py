"""Pairwise social relations: time of every relation on one hour of a mouse triplet.

Builds the session of issue 4: 3 mice x 12 keypoints (the MABe triplet's names:
nose, ears, neck, paws, centre back, hind paws, tail base, tail middle, tail tip)
x 1 hour at 30 fps (108,000 frames), in cm. Each mouse is a random walk (about
15 cm/s) carrying a rigid body of keypoints that turns with its direction of
travel; 5 % of the keypoints are missing in gaps of 1-10 frames.

Times each variable of ``behavior.social.relations`` on its own
(``variables=[name]``) and then ``relations`` with every variable, both with the
default body (10 keypoints: the tail beyond its base left out, 10 x 10 keypoint
pairs for ``closest_distance``) and with ``keypoints={"body": "all"}`` (the full
12 x 12 keypoint pairs x 6 ordered pairs). Wall clock of one call, best of
``--repeats`` (3), after a warm-up call on a 2,000-frame slice (imports, numba
compilation or cache loading) in this process.

Target (issue 4): all pairwise relations in under 2 s.

Run::

    python benchmarks/bench_social.py                  # the full hour
    python benchmarks/bench_social.py --frames 5000    # a quick check
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from _timing import best_of

KEYPOINTS = [
    "nose",
    "left ear",
    "right ear",
    "neck",
    "left forepaw",
    "right forepaw",
    "center back",
    "left hindpaw",
    "right hindpaw",
    "tail base",
    "tail middle",
    "tail tip",
]

# Body layout in cm (forward, left) relative to the centre back, facing +x.
_LAYOUT = np.array(
    [
        [5.0, 0.0],
        [3.2, 1.0],
        [3.2, -1.0],
        [2.4, 0.0],
        [1.8, 1.2],
        [1.8, -1.2],
        [0.0, 0.0],
        [-2.4, 1.3],
        [-2.4, -1.3],
        [-4.5, 0.0],
        [-8.5, 0.0],
        [-12.5, 0.0],
    ]
)

TARGET_S = 2.0
WARM_FRAMES = 2000


def make_session(n_frames: int, n_individuals: int, missing: float, seed: int) -> np.ndarray:
    """Positions (time, space, keypoint, individual) in cm with NaN gaps."""
    rng = np.random.default_rng(seed)
    fps = 30.0
    turn = np.cumsum(rng.normal(0.0, 0.15, size=(n_frames, n_individuals)), axis=0)
    step = 15.0 / fps * np.stack([np.cos(turn), np.sin(turn)], axis=1)  # (time, 2, ind)
    centre = 30.0 + np.cumsum(step, axis=0)
    centre = 30.0 + np.abs(np.mod(centre, 120.0) - 60.0)  # fold into a 60 cm arena
    cos, sin = np.cos(turn), np.sin(turn)
    fwd, left = _LAYOUT[:, 0][None, :, None], _LAYOUT[:, 1][None, :, None]
    x = centre[:, 0, None, :] + fwd * cos[:, None, :] - left * sin[:, None, :]
    y = centre[:, 1, None, :] + fwd * sin[:, None, :] + left * cos[:, None, :]
    position = np.stack([x, y], axis=1) + rng.normal(0.0, 0.1, (n_frames, 2, 12, n_individuals))
    gap = np.zeros((n_frames, len(KEYPOINTS), n_individuals), dtype=bool)
    n_gaps = int(missing * gap.size / 5.5)
    starts = rng.integers(0, n_frames, n_gaps)
    sizes = rng.integers(1, 11, n_gaps)
    kp = rng.integers(0, len(KEYPOINTS), n_gaps)
    ind = rng.integers(0, n_individuals, n_gaps)
    for offset in range(10):
        use = offset < sizes
        gap[np.minimum(starts[use] + offset, n_frames - 1), kp[use], ind[use]] = True
    position[np.broadcast_to(gap[:, None], position.shape)] = np.nan
    return position


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=108_000, help="default: 1 h at 30 fps")
    parser.add_argument("--individuals", type=int, default=3)
    parser.add_argument("--missing", type=float, default=0.05, help="fraction of points in gaps")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import numba

    import behavior as bh
    from behavior import social

    position = make_session(args.frames, args.individuals, args.missing, args.seed)
    ds = bh.from_numpy(
        position,
        keypoint_names=KEYPOINTS,
        individual_names=[f"mouse{i + 1}" for i in range(args.individuals)],
        fps=30.0,
        source_software="benchmark",
    )
    ds.attrs["space_unit"] = "cm"
    n_pairs = args.individuals * (args.individuals - 1)
    print(
        f"session: {args.frames:,} frames x {len(KEYPOINTS)} keypoints x {args.individuals} "
        f"individuals ({n_pairs} ordered pairs), {100 * float(np.isnan(position).mean()):.1f} % "
        f"missing; numba threads: {numba.get_num_threads()}, CPUs: {os.cpu_count()}"
    )
    start = time.perf_counter()
    social._warm_up()
    social.relations(ds.isel(time=slice(0, WARM_FRAMES)))
    social.relations(ds.isel(time=slice(0, WARM_FRAMES)), keypoints={"body": "all"})
    print(
        f"warm-up (imports done; numba compile or cache load): {time.perf_counter() - start:.2f} s"
    )

    failed = False
    for label, roles in (("default body (10 keypoints)", None), ("body='all' (12 x 12)", "all")):
        keypoints = None if roles is None else {"body": roles}
        print(f"\n{label}")
        print(f"  {'relation':<20} {'seconds':>8}")
        for name in social.RELATIONS:
            seconds = best_of(
                lambda name=name, kp=keypoints: social.relations(
                    ds, keypoints=kp, variables=[name]
                ),
                args.repeats,
            )
            print(f"  {name:<20} {seconds:8.3f}")
        total = best_of(lambda kp=keypoints: social.relations(ds, keypoints=kp), args.repeats)
        verdict = "OK" if total < TARGET_S else "MISSED"
        failed |= total >= TARGET_S
        print(f"  {'relations (all)':<20} {total:8.3f}   target < {TARGET_S:.1f} s: {verdict}")
    return 1 if failed and args.frames >= 108_000 else 0


if __name__ == "__main__":
    sys.exit(main())
