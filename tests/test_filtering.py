"""Tests of behavior/filtering.py: confidence masking, gap filling, smoothing, jumps, Kalman."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sig
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import behavior as bh
from behavior import filtering as flt
from behavior.errors import PoseDataError

HYPO = settings(max_examples=30, deadline=None)


def _poses(n=120, n_kp=3, n_ind=2, fps=30.0, seed=0, nan_frac=0.0, space_unit="pixels"):
    rng = np.random.default_rng(seed)
    pos = rng.normal(0, 1, size=(n, 2, n_kp, n_ind)).cumsum(axis=0) + 100.0
    conf = rng.uniform(0, 1, size=(n, n_kp, n_ind))
    if nan_frac:
        pos[rng.uniform(size=pos.shape) < nan_frac] = np.nan
    return bh.from_numpy(pos, conf, fps=fps, space_unit=space_unit, source_software="test")


def _series(values, fps=None, time=None):
    """A 1-D DataArray over time (attrs as a loaded dataset would carry)."""
    values = np.asarray(values, dtype=float)
    if time is None:
        time = np.arange(values.size) / fps if fps else np.arange(values.size, dtype=float)
    attrs = {"time_unit": "seconds" if (fps or time is not None) else "frames", "log": "[]"}
    if fps:
        attrs["fps"] = fps
    return xr.DataArray(values, dims="time", coords={"time": time}, attrs=attrs)


def _nan_far_from_nan(inp: np.ndarray, out: np.ndarray, half: int) -> bool:
    """True when ``out`` is NaN at a frame with no NaN of ``inp`` within ``half`` frames."""
    nan_in = np.isnan(inp)
    n = inp.shape[0]
    near = np.zeros_like(nan_in)
    for shift in range(-half, half + 1):
        lo, hi = max(0, shift), min(n, n + shift)
        if lo < hi:
            near[lo - shift : hi - shift] |= nan_in[lo:hi]
    return bool(np.any(np.isnan(out) & ~near))


# --------------------------------------------------------------------------------------
# The contract every function keeps
# --------------------------------------------------------------------------------------

CALLS = {
    "filter_by_confidence": lambda p, ds: flt.filter_by_confidence(p, ds.confidence, 0.5),
    "interpolate_gaps": lambda p, ds: flt.interpolate_gaps(p, 3),
    "interpolate_pchip": lambda p, ds: flt.interpolate_gaps(p, "0.1 s", method="pchip"),
    "median_filter": lambda p, ds: flt.median_filter(p, 5),
    "rolling_std": lambda p, ds: flt.rolling(p, "0.1 s", "std", center=False),
    "savgol_filter": lambda p, ds: flt.savgol_filter(p, 7, 2, deriv=1),
    "remove_jumps": lambda p, ds: flt.remove_jumps(p, "300 px/s"),
    "kalman_smooth": lambda p, ds: flt.kalman_smooth(p, ds.confidence, n_iter=2)["position"],
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_outputs_keep_dims_coords_attrs_and_never_mutate(name):
    ds = _poses(nan_frac=0.1)
    position = ds.position.assign_attrs(ds.attrs)
    before = position.values.copy()
    out = CALLS[name](position, ds)
    assert out.dims == position.dims
    for dim in position.dims:
        np.testing.assert_array_equal(out[dim].values, position[dim].values)
    assert {k: v for k, v in out.attrs.items() if k != "log"} == {
        k: v for k, v in position.attrs.items() if k != "log"
    }
    log = bh.read_log(out)
    assert len(log) == len(bh.read_log(position)) + 1
    np.testing.assert_array_equal(position.values, before)  # input untouched


@pytest.mark.parametrize("name", sorted(CALLS))
def test_works_with_ensemble_dim_and_time_not_first(name):
    ds = _poses(n=80, nan_frac=0.05)
    position = xr.concat([ds.position, ds.position + 1.0], dim="ensemble")
    position = position.transpose("keypoint", "ensemble", "space", "time", "individual")
    position = position.assign_attrs(ds.attrs)
    conf = xr.concat([ds.confidence, ds.confidence], dim="ensemble")
    out = CALLS[name](position, ds.assign(confidence=conf))
    assert out.dims == position.dims
    # every ensemble member is processed like the plain dataset
    ref = CALLS[name](ds.position.assign_attrs(ds.attrs), ds)
    got = out.isel(ensemble=0).transpose(*ref.dims)
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-9, atol=1e-9)


def test_a_dataarray_without_attrs_reads_its_time_unit_from_the_coordinate():
    ds = _poses(fps=30)
    plain = ds.position  # a variable of a Dataset carries no attrs
    assert plain.attrs == {}
    log = bh.read_log(flt.median_filter(plain, "0.2 s"))
    assert log[-1]["parameters"]["window_frames"] == 7  # 0.2 s * 30 fps = 6 -> odd 7
    frames = bh.from_numpy(np.zeros((10, 2, 1, 1))).position  # no fps: time in frames
    with pytest.raises(PoseDataError, match="fps"):
        flt.median_filter(frames, "0.2 s")
    assert flt.median_filter(frames, 3).shape == frames.shape


def test_an_invalid_frame_rate_is_refused_not_ignored():
    # one rule for every room (behavior.dataset.fps_of): attrs['fps'] must be positive
    bad = _series(np.arange(20.0), fps=50).assign_attrs(fps=0.0)
    with pytest.raises(PoseDataError, match=r"attrs\['fps'\]"):
        flt.median_filter(bad, "0.1 s")
    assert flt.median_filter(bad, 5).shape == bad.shape  # frames need no rate


def test_windows_are_odd_frames():
    da = _series(np.arange(20.0), fps=50)
    with pytest.raises(PoseDataError, match="odd"):
        flt.median_filter(da, 4)
    assert bh.read_log(flt.median_filter(da, 0.1))[-1]["parameters"]["window_frames"] == 5
    assert bh.read_log(flt.median_filter(da, "120 ms"))[-1]["parameters"]["window_frames"] == 7
    with pytest.raises(PoseDataError, match="min_valid"):
        flt.median_filter(da, 5, min_valid=6)


# --------------------------------------------------------------------------------------
# filter_by_confidence
# --------------------------------------------------------------------------------------


def test_filter_by_confidence_threshold_and_nan_policy():
    conf = np.array([0.9, 0.59, 0.6, np.nan, 0.0]).reshape(5, 1, 1)
    ds = bh.from_numpy(np.ones((5, 2, 1, 1)), conf)
    keep = flt.filter_by_confidence(ds.position, ds.confidence, 0.6)
    assert np.isnan(keep.values[:, 0, 0, 0]).tolist() == [False, True, False, False, True]
    assert np.isnan(keep.values[:, 1, 0, 0]).tolist() == [False, True, False, False, True]
    drop = flt.filter_by_confidence(ds.position, ds.confidence, 0.6, nan_confidence="drop")
    assert np.isnan(drop.values[:, 0, 0, 0]).tolist() == [False, True, False, True, True]
    assert bh.read_log(keep)[-1]["parameters"]["n_masked"] == 4  # 2 frames x 2 coords


def test_filter_by_confidence_broadcasts_over_any_missing_dims():
    ds = _poses(n=50, nan_frac=0.1)
    per_keypoint = ds.confidence.isel(individual=0, drop=True)  # (time, keypoint)
    out = flt.filter_by_confidence(ds.position, per_keypoint, 0.5)
    expected = ds.position.where(per_keypoint >= 0.5).transpose(*ds.position.dims)
    np.testing.assert_array_equal(out.values, expected.values)
    n_new = int(np.isnan(out.values).sum() - np.isnan(ds.position.values).sum())
    assert bh.read_log(out)[-1]["parameters"]["n_masked"] == n_new


def test_filter_by_confidence_drop_matches_movement():
    movement_filtering = pytest.importorskip("movement.filtering")
    ds = _poses(nan_frac=0.05)
    conf = ds.confidence.where(ds.confidence > 0.1)  # some NaN scores
    ours = flt.filter_by_confidence(ds.position, conf, 0.6, nan_confidence="drop")
    theirs = movement_filtering.filter_by_confidence(ds.position, conf, 0.6)
    np.testing.assert_array_equal(ours.values, theirs.transpose(*ours.dims).values)


def test_filter_by_confidence_refuses_mismatched_coordinates():
    ds = _poses()
    with pytest.raises(PoseDataError, match="keypoint"):
        flt.filter_by_confidence(ds.position, ds.confidence.isel(keypoint=[0, 1]))
    with pytest.raises(PoseDataError, match="nan_confidence"):
        flt.filter_by_confidence(ds.position, ds.confidence, nan_confidence="maybe")


# --------------------------------------------------------------------------------------
# interpolate_gaps
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["linear", "pchip", "cubic"])
def test_interpolation_of_a_linear_ramp_is_exact(method):
    ramp = 3.0 + 2.5 * np.arange(40.0)
    values = ramp.copy()
    values[[5, 6, 7, 20, 31, 32]] = np.nan
    out = flt.interpolate_gaps(_series(values, fps=10), method=method)
    np.testing.assert_allclose(out.values, ramp, rtol=1e-12)


def test_interpolation_honours_irregular_timestamps():
    time = np.cumsum(np.random.default_rng(1).uniform(0.01, 0.1, 30))
    truth = 4.0 * time - 1.0
    values = truth.copy()
    values[[3, 4, 10, 11, 12]] = np.nan
    out = flt.interpolate_gaps(_series(values, time=time), method="linear")
    np.testing.assert_allclose(out.values, truth, rtol=1e-12)


def test_cubic_interpolation_reproduces_a_cubic():
    x = np.linspace(-1, 1, 30)
    truth = x**3 - 2 * x**2 + 0.5
    values = truth.copy()
    values[[10, 11, 12, 13]] = np.nan
    out = flt.interpolate_gaps(_series(values, fps=30), method="cubic")
    np.testing.assert_allclose(out.values, truth, rtol=1e-9, atol=1e-12)


def test_max_gap_counts_missing_frames_and_long_gaps_stay_entirely_nan():
    values = np.arange(20.0)
    values[2:5] = np.nan  # gap of 3
    values[8:12] = np.nan  # gap of 4
    out = flt.interpolate_gaps(_series(values, fps=10), max_gap=3)
    np.testing.assert_allclose(out.values[2:5], [2.0, 3.0, 4.0])
    assert np.isnan(out.values[8:12]).all()
    out4 = flt.interpolate_gaps(_series(values, fps=10), max_gap=4)
    assert not np.isnan(out4.values).any()
    # seconds are converted with the frame rate: 0.3 s at 10 fps = 3 frames
    out_s = flt.interpolate_gaps(_series(values, fps=10), max_gap="0.3 s")
    np.testing.assert_array_equal(np.isnan(out_s.values), np.isnan(out.values))
    assert bh.read_log(out_s)[-1]["parameters"]["n_filled"] == 3


@pytest.mark.parametrize("method", ["linear", "nearest", "pchip", "cubic"])
def test_edges_are_never_extrapolated(method):
    values = np.array([np.nan, np.nan, 1.0, 2.0, np.nan, 4.0, 5.0, 7.0, np.nan])
    out = flt.interpolate_gaps(_series(values, fps=10), method=method)
    assert np.isnan(out.values[[0, 1, 8]]).all()
    assert np.isfinite(out.values[2:8]).all()


def test_nearest_takes_the_earlier_frame_on_ties():
    values = np.array([0.0, np.nan, 10.0, np.nan, np.nan, 20.0])
    out = flt.interpolate_gaps(_series(values), method="nearest")
    assert out.values.tolist() == [0.0, 0.0, 10.0, 10.0, 20.0, 20.0]


def test_few_points_fall_back_to_linear_for_cubic():
    values = np.array([0.0, np.nan, 2.0, np.nan])
    out = flt.interpolate_gaps(_series(values, fps=10), method="cubic")
    assert out.values[:3].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("method", ["linear", "nearest", "pchip", "cubic"])
def test_interpolation_matches_movement(method):
    movement_filtering = pytest.importorskip("movement.filtering")
    ds = _poses(n=200, nan_frac=0.3, seed=2)
    ours = flt.interpolate_gaps(ds.position, method=method)
    theirs = movement_filtering.interpolate_over_time(ds.position, method=method)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-9, atol=1e-9)
    if not any(_has(m) for m in ("bottleneck", "numbagg")):
        return  # movement's max_gap needs xarray's ffill (bottleneck or numbagg)
    ours = flt.interpolate_gaps(ds.position, 2, method=method)
    theirs = movement_filtering.interpolate_over_time(ds.position, method=method, max_gap=2)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-9, atol=1e-9)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------------------
# Rolling statistics and the median filter
# --------------------------------------------------------------------------------------


def test_median_of_known_windows():
    da = _series([1.0, 5.0, 2.0, 8.0, 3.0, 9.0, 4.0])
    # mirrored edges: frame 0 sees (5, 1, 5), the last (9, 4, 9)
    assert flt.median_filter(da, 3).values.tolist() == [5.0, 2.0, 5.0, 3.0, 8.0, 4.0, 9.0]
    with_nan = _series([1.0, 5.0, np.nan, 8.0, 3.0, 9.0, 4.0])
    out = flt.median_filter(with_nan, 3, min_valid=2)
    # frame 1 sees (1, 5) -> 3; frame 3 sees (8, 3) -> 5.5; NaN frame stays NaN
    assert out.values[1] == 3.0 and out.values[3] == 5.5 and np.isnan(out.values[2])
    filled = flt.median_filter(with_nan, 3, min_valid=2, fill=True)
    assert filled.values[2] == 6.5


@HYPO
@given(
    arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 3)),
           elements=st.floats(-1e6, 1e6)),
    st.sampled_from([1, 3, 5, 7, 11, 31]),
)  # fmt: skip
def test_median_equals_scipy_mirror_without_nan(x, window):
    da = xr.DataArray(x, dims=("time", "series"))
    ours = flt.median_filter(da, window).values
    ref = ndi.median_filter(x, size=(window, 1), mode="mirror")
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("statistic", ["mean", "min", "max", "median", "std", "sum"])
@pytest.mark.parametrize("center", [True, False])
def test_rolling_statistics_against_numpy_windows(statistic, center):
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    x[[4, 5, 30]] = np.nan
    w = 5
    out = flt.rolling(_series(x), w, statistic, min_valid=3, center=center).values
    padded = np.pad(x, w // 2, mode="reflect") if center else np.r_[np.full(w - 1, np.nan), x]
    fn = {"mean": np.nanmean, "min": np.nanmin, "max": np.nanmax, "median": np.nanmedian,
          "std": np.nanstd, "sum": np.nansum}[statistic]  # fmt: skip
    for i in range(x.size):
        window = padded[i : i + w]
        if np.isnan(x[i]) or np.count_nonzero(~np.isnan(window)) < 3:
            assert np.isnan(out[i])
        else:
            assert out[i] == pytest.approx(fn(window), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("stat", [0, 1, 2])
@pytest.mark.parametrize("centred", [True, False])
@pytest.mark.parametrize("fill", [True, False])
def test_the_two_order_statistic_kernels_agree(stat, centred, fill):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(300, 7))
    x[rng.uniform(size=x.shape) < 0.2] = np.nan
    x[:, 6] = np.nan
    x[50:53, 2] = np.inf
    for w in (1, 3, 9, 21):
        narrow = np.empty_like(x)
        wide = np.empty_like(x)
        flt._order_kernel_narrow(x, w, (w + 1) // 2, stat, centred, fill, narrow)
        flt._order_kernel(x, w, (w + 1) // 2, stat, centred, fill, wide)
        np.testing.assert_array_equal(narrow, wide)


@pytest.mark.parametrize("statistic", ["median", "mean", "min", "max"])
def test_rolling_matches_movement_rolling_filter(statistic):
    movement_filtering = pytest.importorskip("movement.filtering")
    ds = _poses(n=150, nan_frac=0.05, seed=4)
    for window in (3, 7):
        ours = flt.rolling(ds.position, window, statistic, min_valid=window)
        theirs = movement_filtering.rolling_filter(ds.position, window, statistic)
        np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-12)
        ours = flt.rolling(ds.position, window, statistic, min_valid=1, fill=True)
        theirs = movement_filtering.rolling_filter(ds.position, window, statistic, min_periods=1)
        np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-12)


@HYPO
@given(
    arrays(np.float64, st.integers(1, 60), elements=st.floats(-100, 100) | st.just(np.nan)),
    st.sampled_from([1, 3, 5, 9, 15]),
    st.sampled_from(["median", "mean", "max", "std", "savgol"]),
)
def test_nan_never_spreads_past_half_a_window(x, window, kind):
    da = xr.DataArray(x, dims="time")
    if kind == "savgol":
        out = flt.savgol_filter(da, window, min(2, window - 1)).values
    else:
        out = flt.rolling(da, window, kind).values
    assert not _nan_far_from_nan(x, out, window // 2)


@pytest.mark.parametrize("kind", ["median", "mean", "min", "max", "savgol", "savgol_d1"])
def test_a_single_nan_frame_never_makes_other_frames_nan(kind):
    x = np.sin(np.arange(50) / 5.0)
    x[20] = np.nan
    da = _series(x, fps=25)
    if kind.startswith("savgol"):
        out = flt.savgol_filter(da, 7, 3, deriv=1 if kind.endswith("d1") else 0)
    else:
        out = flt.rolling(da, 7, kind)
    assert np.flatnonzero(np.isnan(out.values)).tolist() == [20]


@pytest.mark.parametrize("kind", ["median", "mean", "min", "max", "savgol"])
def test_a_constant_track_stays_constant(kind):
    x = np.full(40, 123.456789)
    x[[3, 17, 18]] = np.nan
    da = _series(x, fps=30)
    out = flt.savgol_filter(da, 9, 3) if kind == "savgol" else flt.rolling(da, 9, kind)
    valid = ~np.isnan(x)
    assert (out.values[valid] == 123.456789).all()
    std = flt.rolling(da, 9, "std").values
    assert (std[valid] == 0.0).all()


# --------------------------------------------------------------------------------------
# Savitzky-Golay
# --------------------------------------------------------------------------------------


@HYPO
@given(
    st.integers(1, 80),
    st.sampled_from([3, 5, 7, 9, 13, 21]),
    st.integers(0, 4),
    st.integers(0, 2),
    st.integers(0, 1000),
)
def test_savgol_equals_scipy_nearest_without_nan(n, window, polyorder, deriv, seed):
    polyorder = min(polyorder, window - 1)
    deriv = min(deriv, polyorder)
    x = np.random.default_rng(seed).normal(size=(n, 2)).cumsum(axis=0) * 10
    fps = 40.0
    da = xr.DataArray(x, dims=("time", "s"), coords={"time": np.arange(n) / fps},
                      attrs={"fps": fps, "time_unit": "seconds"})  # fmt: skip
    ours = flt.savgol_filter(da, window, polyorder, deriv=deriv).values
    ref = sig.savgol_filter(x, window, polyorder, deriv=deriv, delta=1 / fps, axis=0,
                            mode="nearest")  # fmt: skip
    scale = max(np.abs(ref).max(), np.abs(x).max() * fps**deriv)  # roundoff of a zero slope
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9 * scale)


def test_savgol_with_nan_fits_the_valid_points_exactly_for_polynomials():
    t = np.arange(60.0)
    truth = 0.01 * t**2 - 0.3 * t + 5.0
    x = truth.copy()
    x[[0, 1, 10, 11, 12, 40, 59]] = np.nan  # NaN at both edges too: never raises
    out = flt.savgol_filter(_series(x), 9, 2, min_valid=4)
    valid = ~np.isnan(x)
    interior = valid & (t >= 4) & (t <= 55)  # nearest-padding bends the edges
    np.testing.assert_allclose(out.values[interior], truth[interior], rtol=1e-9)
    assert np.isnan(out.values[~valid]).all()
    slope = flt.savgol_filter(_series(x, fps=10), 9, 2, deriv=1, min_valid=4)
    np.testing.assert_allclose(slope.values[interior], 10 * (0.02 * t - 0.3)[interior],
                               rtol=1e-9, atol=1e-9)  # fmt: skip


def test_savgol_matches_movement_without_nan():
    movement_filtering = pytest.importorskip("movement.filtering")
    ds = _poses(n=100, seed=5)
    ours = flt.savgol_filter(ds.position, 7, 2)
    theirs = movement_filtering.savgol_filter(ds.position, 7, 2, mode="nearest")
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-9)


def test_savgol_argument_errors():
    da = _series(np.arange(10.0))
    with pytest.raises(PoseDataError, match="polyorder"):
        flt.savgol_filter(da, 5, 5)
    with pytest.raises(PoseDataError, match="deriv"):
        flt.savgol_filter(da, 5, 2, deriv=3)


# --------------------------------------------------------------------------------------
# remove_jumps
# --------------------------------------------------------------------------------------


def _track(xs, fps=10.0, unit="cm"):
    pos = np.zeros((len(xs), 2, 1, 1))
    pos[:, 0, 0, 0] = xs
    ds = bh.from_numpy(pos, fps=fps, space_unit=unit)
    return ds.position.assign_attrs(ds.attrs)


def _removed(position, speed):
    return np.flatnonzero(np.isnan(flt.remove_jumps(position, speed).values[:, 0, 0, 0])).tolist()


def test_remove_jumps_single_spike_and_short_burst():
    base = [0.0] * 12
    spike = base.copy()
    spike[5] = 100.0
    assert _removed(_track(spike), "50 cm/s") == [5]
    burst = base.copy()
    burst[4:7] = [80.0, 90.0, 85.0]
    assert _removed(_track(burst), "50 cm/s") == [4, 5, 6]
    first = base.copy()
    first[0] = 100.0
    assert _removed(_track(first), "50 cm/s") == [0]
    last = base.copy()
    last[-1] = 100.0
    assert _removed(_track(last), "50 cm/s") == [11]


def test_remove_jumps_keeps_steps_and_the_ends_of_a_fast_run():
    step = [0.0] * 6 + [100.0] * 6
    assert _removed(_track(step), "50 cm/s") == []
    run = [0.0] * 5 + [10.0, 20.0, 30.0, 40.0] + [40.0] * 6  # 100 cm/s for 4 frames
    removed = _removed(_track(run), "50 cm/s")
    assert removed and set(removed) <= {5, 6, 7}  # the middle only
    slow = np.linspace(0, 40, 15)
    assert _removed(_track(slow), "50 cm/s") == []


def test_remove_jumps_measures_reach_over_missing_frames_and_all_coordinates():
    xs = [0.0, np.nan, np.nan, np.nan, 18.0, 18.0]  # 18 cm in 0.4 s = 45 cm/s: fine
    assert _removed(_track(xs), 50.0) == [1, 2, 3]
    pos = np.zeros((8, 2, 1, 1))
    pos[4, 1, 0, 0] = 100.0  # jump in y only: x is removed with it
    ds = bh.from_numpy(pos, fps=10, space_unit="cm")
    out = flt.remove_jumps(ds.position.assign_attrs(ds.attrs), 50.0)
    assert np.isnan(out.values[4, :, 0, 0]).all() and np.isnan(out.values).sum() == 2


def test_remove_jumps_units():
    track = _track([0.0, 0.0, 7.0, 0.0, 0.0])  # 70 cm/s spike
    assert _removed(track, "500 mm/s") == [2]
    assert _removed(track, "1 m/s") == []
    assert _removed(track, "6 cm/frame") == [2]
    assert _removed(track, "3000 cm/min") == [2]
    with pytest.raises(PoseDataError, match=r"'px'.*'cm'"):
        flt.remove_jumps(track, "500 px/s")
    pixels = _track([0.0, 0.0, 7.0, 0.0, 0.0], unit="pixels")
    with pytest.raises(PoseDataError, match=r"'cm'.*'pixels'"):
        flt.remove_jumps(pixels, "50 cm/s")
    with pytest.raises(PoseDataError, match="unknown space unit"):
        flt.remove_jumps(pixels, "5 furlongs/s")
    with pytest.raises(PoseDataError, match="space unit is unknown"):
        flt.remove_jumps(pixels.assign_attrs(space_unit=None), "50 px/s")
    with pytest.raises(PoseDataError, match="positive"):
        flt.remove_jumps(pixels, 0)


# --------------------------------------------------------------------------------------
# Kalman smoother
# --------------------------------------------------------------------------------------


def _cv_track(n=2000, n_series=6, q=50.0, r=0.25, fps=30.0, seed=0):
    """Constant-velocity tracks with white acceleration (density q) and noise variance r."""
    rng = np.random.default_rng(seed)
    dt = 1 / fps
    cov = q * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    chol = np.linalg.cholesky(cov)
    state = np.zeros((2, n_series))
    state[1] = rng.normal(0, 5, n_series)
    true = np.empty((n, n_series))
    for i in range(n):
        if i:
            state = np.array([[1, dt], [0, 1]]) @ state + chol @ rng.normal(size=(2, n_series))
        true[i] = state[0]
    obs = true + rng.normal(0, np.sqrt(r), true.shape)
    time = np.arange(n) / fps
    da = xr.DataArray(obs, dims=("time", "series"), coords={"time": time},
                      attrs={"fps": fps, "time_unit": "seconds"})  # fmt: skip
    return da, true


@pytest.mark.parametrize("estimate", ["em", "heuristic"])
def test_kalman_beats_the_raw_noise_and_estimates_the_noise(estimate):
    da, true = _cv_track()
    out = flt.kalman_smooth(da, estimate=estimate)
    rmse = np.sqrt(np.mean((out.position.values - true) ** 2))
    assert rmse < 0.5 * 0.5  # raw noise sd is 0.5
    assert 0.5 * 50 < float(out.process_noise.median()) < 2 * 50
    assert 0.8 * 0.25 < float(out.measurement_noise.median()) < 1.25 * 0.25
    assert set(out.data_vars) == {"position", "variance", "process_noise", "measurement_noise"}
    assert out.process_noise.dims == ("series",)


def test_kalman_bridges_gaps_with_growing_variance_and_extrapolates_edges():
    da, true = _cv_track(n=600, n_series=2)
    obs = da.values.copy()
    obs[300:340] = np.nan
    obs[:10] = np.nan
    out = flt.kalman_smooth(da.copy(data=obs), process_noise=50.0, measurement_noise=0.25,
                            estimate=None)  # fmt: skip
    assert np.isfinite(out.position.values).all()
    var = out.variance.values[:, 0]
    assert var[320] > 5 * var[290]
    assert var[320] > var[305] and var[320] > var[335]  # peaks in the middle of the gap
    assert var[0] > var[5] > var[20]  # grows towards the leading edge
    gap_err = np.abs(out.position.values[300:340] - true[300:340]).max()
    assert gap_err < 6 * np.sqrt(var[300:340].max())


def test_kalman_constant_track_and_all_nan_series():
    values = np.full((50, 3), 7.25)
    values[:, 2] = np.nan
    values[10:15, 1] = np.nan
    out = flt.kalman_smooth(xr.DataArray(values, dims=("time", "s")))
    np.testing.assert_array_equal(out.position.values[:, :2], 7.25)
    assert np.isnan(out.position.values[:, 2]).all()


def test_kalman_confidence_downweights_observations():
    da, _ = _cv_track(n=300, n_series=1)
    obs = da.values.copy()
    obs[150] += 20.0  # an outlier
    conf = xr.DataArray(np.ones(300), dims="time", coords={"time": da.time})
    trusted = flt.kalman_smooth(da.copy(data=obs), conf, process_noise=50.0,
                                measurement_noise=0.25, estimate=None)  # fmt: skip
    conf[150] = 0.001
    doubted = flt.kalman_smooth(da.copy(data=obs), conf, process_noise=50.0,
                                measurement_noise=0.25, estimate=None)  # fmt: skip
    clean_obs = flt.kalman_smooth(da, process_noise=50.0, measurement_noise=0.25, estimate=None)
    pull_trusted = abs(trusted.position.values[150, 0] - clean_obs.position.values[150, 0])
    pull_doubted = abs(doubted.position.values[150, 0] - clean_obs.position.values[150, 0])
    assert pull_doubted < 0.1 * pull_trusted


def test_kalman_honours_irregular_time():
    rng = np.random.default_rng(7)
    time = np.cumsum(rng.uniform(0.005, 0.06, 400))
    truth = 3.0 + 12.0 * time
    da = xr.DataArray(truth + rng.normal(0, 0.05, time.size), dims="time",
                      coords={"time": time}, attrs={"time_unit": "seconds"})  # fmt: skip
    out = flt.kalman_smooth(da, process_noise=1e-3, measurement_noise=0.05**2, estimate=None)
    assert np.sqrt(np.mean((out.position.values - truth) ** 2)) < 0.02


def test_kalman_argument_errors():
    da, _ = _cv_track(n=20, n_series=1)
    with pytest.raises(PoseDataError, match="estimate=None"):
        flt.kalman_smooth(da, estimate=None, process_noise=1.0)
    with pytest.raises(PoseDataError, match="measurement_noise"):
        flt.kalman_smooth(da, measurement_noise=-1.0)


# --------------------------------------------------------------------------------------
# clean
# --------------------------------------------------------------------------------------


def test_clean_default_sequence_and_switches():
    ds = _poses(n=300, nan_frac=0.02)
    before = ds.position.values.copy()
    out = flt.clean(ds)
    ops = [r["operation"] for r in bh.read_log(out)]
    assert ops == ["filter_by_confidence", "interpolate_gaps", "median_filter", "clean"]
    assert out is not ds and set(out.data_vars) == {"position", "confidence"}
    np.testing.assert_array_equal(out.confidence.values, ds.confidence.values)
    np.testing.assert_array_equal(ds.position.values, before)
    assert bh.read_log(ds) == []  # the input's log is untouched
    nothing = flt.clean(ds, confidence_threshold=None, max_gap=None, smooth=None)
    np.testing.assert_array_equal(nothing.position.values, before)
    assert [r["operation"] for r in bh.read_log(nothing)] == ["clean"]
    sg = flt.clean(ds, smooth="savgol", max_jump_speed="2000 px/s", window=7)
    assert [r["operation"] for r in bh.read_log(sg)][:-1] == [
        "filter_by_confidence", "remove_jumps", "interpolate_gaps", "savgol_filter"
    ]  # fmt: skip


def test_clean_with_kalman_keeps_long_gaps_missing():
    ds = _poses(n=300, n_kp=2, n_ind=1)
    pos = ds.position.values.copy()
    pos[100:103, :, 0, 0] = np.nan  # 3 frames: bridged
    pos[200:260, :, 0, 0] = np.nan  # 2 s: stays missing
    ds = ds.assign(position=ds.position.copy(data=pos))
    out = flt.clean(ds, confidence_threshold=None, smooth="kalman", max_gap="0.2 s",
                    kalman_options={"n_iter": 3})  # fmt: skip
    got = out.position.values[:, 0, 0, 0]
    assert np.isfinite(got[100:103]).all() and np.isnan(got[200:260]).all()
    assert "position_variance" in out and np.isnan(out.position_variance.values[200, 0, 0, 0])


def test_clean_refuses_bad_arguments():
    with pytest.raises(PoseDataError, match="smooth"):
        flt.clean(_poses(), smooth="gaussian")
    with pytest.raises(PoseDataError, match="position"):
        flt.clean(xr.Dataset())


@pytest.mark.realdata
def test_clean_a_real_deeplabcut_file(shared_data):
    path = shared_data / "behaviordepot_freezing" / "demo" / "demo1" / "demo1_tracking.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    ds = bh.load_poses(path, fps=50)
    masked = flt.filter_by_confidence(ds.position, ds.confidence, 0.6)
    n_masked = int(np.isnan(masked.values).sum())
    assert n_masked > 0
    out = flt.clean(ds, max_jump_speed="3000 px/s")
    n_left = int(np.isnan(out.position.values).sum())
    assert n_left < n_masked  # short gaps were filled ...
    assert n_left / out.position.size < 0.01  # ... and little is left missing
    assert out.position.dims == ds.position.dims and out.attrs["fps"] == 50
    # the median filter moves points by a few pixels, not by tens
    diff = np.abs(out.position.values - ds.position.values)
    assert np.nanmedian(diff) < 2.0
    kal = flt.clean(ds, smooth="kalman")
    assert np.isnan(kal.position.values).sum() <= n_left + 1


def test_warm_up_runs():
    flt._warm_up()


# ---- issue 15: raw errors and silent nonsense become named errors -------------------------


def _repeated_time(ds):
    t = ds.time.values.copy()
    t[10] = t[9]
    return ds.assign_coords(time=t)


def test_clean_refuses_zero_frames_by_name(small_poses):
    with pytest.raises(PoseDataError, match="at least one frame, found 0"):
        flt.clean(small_poses.isel(time=slice(0, 0)))


def test_clean_refuses_a_window_longer_than_the_data_before_allocating(small_poses):
    with pytest.raises(PoseDataError, match="window: .* longer than the data"):
        flt.clean(small_poses, window=1e9)
    with pytest.raises(PoseDataError, match="window"):
        flt.median_filter(small_poses.position, 10**9 + 1)
    # windows up to 1001 frames (or twice the data) still work, mirrored like scipy's
    assert flt.median_filter(small_poses.position, 101).shape == small_poses.position.shape


@pytest.mark.parametrize("value", ["high", [0.5], b"0.5", float("nan")])
def test_clean_refuses_a_confidence_threshold_that_is_not_a_number(small_poses, value):
    with pytest.raises(PoseDataError, match="confidence_threshold"):
        flt.clean(small_poses, confidence_threshold=value)


@pytest.mark.parametrize(
    "call",
    [
        lambda ds: flt.clean(ds, confidence_threshold=None, max_gap=None, smooth=None),
        lambda ds: flt.clean(ds),
        lambda ds: flt.median_filter(ds.position, 3),
        lambda ds: flt.interpolate_gaps(ds.position, 3),
        lambda ds: flt.savgol_filter(ds.position, 5),
    ],
)
def test_filters_refuse_a_repeated_time_coordinate_like_validate(small_poses, call):
    bad = _repeated_time(small_poses)
    with pytest.raises(PoseDataError, match="validate|strictly increasing"):
        bh.validate(bad)
    with pytest.raises(PoseDataError, match="time coordinate: expected strictly increasing"):
        call(bad)
