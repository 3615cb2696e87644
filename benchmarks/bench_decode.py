"""The neural clock: align and fit_clock against plain baselines, in one run.

- align: one hour of 559 features at 30 fps (108,000 x 559 float32, 1 % NaN) to
  50 ms bins with ``behavior.decode.align`` (bin means, NaN-aware) against pandas
  ``DataFrame.groupby(bin).mean()`` on the same array. Target (issue 18): < 0.5 s.
- fit_clock: 10,000 jittered sync pulses with 5 % dropped on each side and 20 extra
  pulses, against ``np.polyfit`` on the already-matched pulses (the reference fit,
  which knows the pairing). Target (issue 18): < 0.1 s.

- speed decoding: a 10-minute two-animal session with the neurons of
  ``behavior.simulate.neural_population`` on their own clock (offset 3.2 s, 50 ppm
  drift, dropped pulses); the clock is fitted from the pulses, the animal's speed
  measured on the tracking is put in 50 ms bins of the recording with ``align``
  and decoded from the 12 speed neurons' spike counts (lags -2..2 bins, ridge,
  five contiguous time blocks). The ceiling is the same decoder given the
  expected counts (the true rates, no Poisson noise): what the tuning allows.
  Target (issue 18): R^2 at least 0.8 of the ceiling.

Times are the best of ``--repeats`` (5) wall-clock calls after one warm-up call
(numba compilation or cache loading). Ratios are baseline / behavior.

Run::

    python benchmarks/bench_decode.py
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import xarray as xr
from _timing import best_of

from behavior.decode import align, fit_clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=10.0, help="decoding session length")
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    # --- align
    n_frames, n_features, fps = 108_000, 559, 30.0
    values = rng.standard_normal((n_frames, n_features)).astype(np.float32)
    values[rng.random(values.shape) < 0.01] = np.nan
    time = np.arange(n_frames) / fps
    features = xr.DataArray(
        values,
        dims=("time", "feature"),
        coords={"time": time, "feature": [f"f{i}" for i in range(n_features)]},
        attrs={"fps": fps},
    )
    align(features.isel(time=slice(0, 300)), bin_size="50 ms")  # warm-up
    ours = best_of(lambda: align(features, bin_size="50 ms", min_valid=0.0), args.repeats)
    frame = pd.DataFrame(values)
    bins = np.floor(time / 0.05 + 1e-6).astype(np.int64)
    theirs = best_of(lambda: frame.groupby(bins).mean(), max(1, args.repeats // 2))
    ref = frame.groupby(bins).mean().to_numpy()
    got = align(features, bin_size="50 ms", min_valid=0.0).values
    same = np.allclose(got, ref, rtol=1e-5, atol=1e-6, equal_nan=True)
    print(f"align, 1 h x {n_features} features at {fps:g} fps -> 50 ms bins ({got.shape[0]} bins)")
    print(f"  behavior.decode.align      {ours:8.3f} s   (target < 0.5 s)")
    print(f"  pandas groupby(bin).mean() {theirs:8.3f} s")
    print(f"  ratio pandas / behavior    {theirs / ours:8.1f}x   same means: {same}")

    # --- fit_clock
    n_pulses = 10_000
    camera = np.cumsum(rng.uniform(0.5, 1.5, n_pulses))
    recording = 3.2 + (1 + 50e-6) * camera + rng.normal(0, 1e-4, n_pulses)
    keep_c = rng.random(n_pulses) > 0.05
    keep_r = rng.random(n_pulses) > 0.05
    extra = rng.uniform(recording[0], recording[-1], 20)
    cam, rec = camera[keep_c], np.sort(np.concatenate([recording[keep_r], extra]))
    fit_clock(cam[:50], recording[:50])  # warm-up
    ours = best_of(lambda: fit_clock(cam, rec), args.repeats)
    both = keep_c & keep_r
    theirs = best_of(lambda: np.polyfit(camera[both], recording[both], 1), args.repeats)
    clock = fit_clock(cam, rec)
    slope, offset = np.polyfit(camera[both], recording[both], 1)
    print(f"fit_clock, {n_pulses} pulses, 5 % dropped on each side, 20 extra")
    print(f"  behavior.decode.fit_clock  {ours * 1e3:8.2f} ms  (target < 100 ms)")
    print(f"  np.polyfit on matched      {theirs * 1e3:8.2f} ms  (knows the pairing)")
    print(f"  ratio polyfit / behavior   {theirs / ours:8.3f}x")
    print(
        f"  offset error {abs(clock.offset - 3.2) * 1e6:.2f} us (polyfit "
        f"{abs(offset - 3.2) * 1e6:.2f} us), drift {clock.drift_ppm:.3f} ppm (true 50, polyfit "
        f"{(slope - 1) * 1e6:.3f}), {clock.n_matched} pairs ({int(both.sum())} true), rms "
        f"{clock.rms * 1e6:.1f} us"
    )

    decode_speed(args.minutes)


def decode_speed(minutes: float) -> None:
    """Speed R^2 from the simulated speed neurons, against the ceiling of the true rates."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import behavior as bh
    from behavior.decode import LaggedFeatures, to_recording_clock

    ds, truth = bh.simulate.session(duration=f"{minutes} min", seed=0)
    recording, neurons = bh.simulate.neural_population(ds, truth, seed=1)
    clock = fit_clock(recording.camera_pulses, recording.recording_pulses)
    camera = ds.time.values
    error = np.abs(clock.apply(camera) - (neurons.offset + neurons.slope * camera)).max()
    me = neurons.individual
    speed = bh.kinematics.speed(bh.kinematics.centroid(ds.position)).sel(individual=me)
    edges = np.arange(clock.apply(camera[0]), clock.apply(camera[-1]), 0.05)
    y = align(to_recording_clock(speed, clock), edges=edges).values
    ok = np.isfinite(y)
    pick = np.array(neurons.encodes) == "speed"
    counts = np.stack([np.histogram(s, edges)[0] for s in recording.spike_times], axis=1)
    expected = align(to_recording_clock(neurons.rates, clock), edges=edges).values * 0.05
    groups = np.arange(ok.sum()) * 5 // ok.sum()

    def r2(X: np.ndarray) -> float:
        model = make_pipeline(
            LaggedFeatures(range(-2, 3), fill_value=0.0),
            StandardScaler(),
            RidgeCV(np.logspace(-2, 4, 13)),
        )
        p = cross_val_predict(model, X[ok][:, pick], y[ok], groups=groups, cv=GroupKFold(5))
        return float(r2_score(y[ok], p))

    achieved, ceiling = r2(counts), r2(expected)
    print(
        f"speed decoding, {minutes:g} min session, {int(pick.sum())} speed neurons, "
        f"{int(ok.sum())} bins of 50 ms"
    )
    print(f"  clock error (max)          {error * 1e3:8.2f} ms  (one frame {1e3 / 30:.1f} ms)")
    print(f"  R^2 from spike counts      {achieved:8.3f}")
    print(f"  ceiling (true rates)       {ceiling:8.3f}")
    print(f"  ratio                      {achieved / ceiling:8.3f}   (target >= 0.8)")


if __name__ == "__main__":
    main()
