"""Tests for behavior/decode.py: align, the clock fit, design matrices, and a decoding session."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.stats
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import behavior as bh
from behavior.decode import (
    ClockFit,
    LaggedFeatures,
    align,
    design_matrix,
    fit_clock,
    raised_cosine_basis,
    to_recording_clock,
)
from behavior.errors import NotFittedError, PoseDataError

SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("DECODE_EXAMPLES", 40)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def features(values: np.ndarray, fps: float = 30.0, t0: float = 0.0) -> xr.DataArray:
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    return xr.DataArray(
        values,
        dims=("time", "feature"),
        coords={
            "time": t0 + np.arange(values.shape[0]) / fps,
            "feature": [f"f{i}" for i in range(values.shape[1])],
        },
        attrs={"fps": fps},
    )


def frames_of_bin(result: xr.DataArray, t: np.ndarray, b: int) -> np.ndarray:
    tol = 1e-6 * float(np.median(np.diff(t))) if t.size > 1 else 0.0
    start, end = float(result.bin_start[b]), float(result.bin_end[b])
    return np.flatnonzero((t >= start - tol) & (t < end - tol))


# ------------------------------------------------------------------ align: bins


@SETTINGS
@given(
    n=st.integers(1, 120),
    n_cols=st.integers(1, 4),
    fps=st.sampled_from([25.0, 30.0, 60.0, 7.5]),
    bin_ms=st.sampled_from([10, 50, 100, 333, 1000]),
    missing=st.floats(0, 0.6),
    min_valid=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_bin_means_equal_a_brute_force_loop(n, n_cols, fps, bin_ms, missing, min_valid, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, n_cols))
    values[rng.random(values.shape) < missing] = np.nan
    x = features(values, fps=fps, t0=rng.uniform(-5, 5))
    out = align(x, bin_size=f"{bin_ms} ms", min_valid=min_valid)
    t = x.time.values
    assert out.dims == ("time", "feature")
    assert list(out.feature.values) == list(x.feature.values)
    np.testing.assert_allclose(out.time, 0.5 * (out.bin_start + out.bin_end))
    assert out.bin_start[0] == t[0] and out.bin_end[-1] >= t[-1]
    expected = np.full(out.shape, np.nan)
    invalid_rows = 0
    for b in range(out.sizes["time"]):
        rows = frames_of_bin(out, t, b)
        bad = False
        for c in range(n_cols):
            v = values[rows, c]
            ok = np.isfinite(v)
            if ok.sum() == 0 or ok.sum() < min_valid * rows.size:
                bad = True
            else:
                expected[b, c] = v[ok].mean()
        invalid_rows += bad
    np.testing.assert_allclose(out.values, expected, rtol=1e-12, atol=1e-12)
    assert out.attrs["n_invalid_bins"] == invalid_rows
    assert out.attrs["n_invalid_values"] == int(np.isnan(expected).sum())


@SETTINGS
@given(
    n=st.integers(1, 150),
    n_labels=st.integers(1, 6),
    bin_ms=st.sampled_from([50, 100, 200, 700]),
    missing=st.floats(0, 0.5),
    seed=st.integers(0, 2**16),
)
def test_label_modes_equal_scipy_mode_per_bin(n, n_labels, bin_ms, missing, seed):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, n_labels, size=(n, 2))
    codes[rng.random(codes.shape) < missing] = -1
    x = xr.DataArray(
        codes,
        dims=("time", "individual"),
        coords={"time": np.arange(n) / 30.0, "individual": ["a", "b"]},
    )
    out = align(x, bin_size=f"{bin_ms} ms", min_valid=0.0)
    last = align(x, bin_size=f"{bin_ms} ms", method="last", min_valid=0.0)
    assert out.dtype == np.int64
    t = x.time.values
    for b in range(out.sizes["time"]):
        rows = frames_of_bin(out, t, b)
        for c in range(2):
            v = codes[rows, c]
            v = v[v >= 0]
            if v.size == 0:
                assert out.values[b, c] == -1 and last.values[b, c] == -1
            else:
                assert out.values[b, c] == scipy.stats.mode(v).mode
                assert last.values[b, c] == v[-1]


def test_nan_bins_are_counted_and_logged(caplog):
    values = np.arange(12.0)
    values[[3, 4, 5, 9]] = np.nan  # bin 1 fully missing, bin 3 two of three valid
    x = features(values, fps=10.0)
    with caplog.at_level(logging.INFO, logger="behavior.decode"):
        out = align(x, bin_size="0.3 s", min_valid=0.7)
    assert out.squeeze().values.tolist()[0] == 1.0
    assert np.isnan(out.squeeze().values[1]) and np.isnan(out.squeeze().values[3])
    assert out.attrs["n_invalid_bins"] == 2
    assert "2 of 4 bins" in caplog.text
    loose = align(x, bin_size="0.3 s", min_valid=0.5)
    assert loose.attrs["n_invalid_bins"] == 1
    assert loose.squeeze().values[3] == pytest.approx(10.5)
    assert bh.read_log(out)[-1]["operation"] == "decode.align"


def test_edges_ignore_frames_outside_and_keep_other_dims():
    x = xr.DataArray(
        np.arange(40.0).reshape(10, 2, 2),
        dims=("time", "feature", "individual"),
        coords={
            "time": np.arange(10) * 0.1,
            "feature": ["speed", "turn"],
            "individual": ["a", "b"],
        },
    )
    out = align(x, edges=[0.2, 0.5, 0.6])
    assert out.dims == ("time", "feature", "individual")
    np.testing.assert_allclose(out.sel(feature="speed", individual="a").values, [12.0, 20.0])
    np.testing.assert_allclose(out.bin_start, [0.2, 0.5])
    assert "fps" not in out.attrs  # bins of unequal width


def test_ethogram_fraction_mode_and_last():
    labels = np.zeros((6, 2, 1), dtype=bool)
    labels[[0, 1, 2, 4], 0, 0] = True
    labels[[3, 5], 1, 0] = True
    eth = bh.Ethogram(
        xr.DataArray(
            labels,
            dims=("time", "behavior", "individual"),
            coords={"time": np.arange(6) * 0.1, "behavior": ["walk", "rest"], "individual": ["m"]},
        ),
        exclusive=True,
    )
    frac = align(eth, bin_size="0.3 s")
    assert frac.name == "fraction"
    np.testing.assert_allclose(frac.sel(behavior="walk").squeeze(), [1.0, 1 / 3])
    np.testing.assert_allclose(frac.sel(behavior="rest").squeeze(), [0.0, 2 / 3])
    mode = align(eth, bin_size="0.3 s", method="mode")
    np.testing.assert_array_equal(mode.sel(behavior="rest").squeeze(), [0.0, 1.0])
    at = align(eth, to=[0.05, 0.42])
    np.testing.assert_array_equal(at.sel(behavior="walk").squeeze(), [1.0, 1.0])


def test_boolean_masks_give_fractions_majorities_and_held_values():
    mask = xr.DataArray(
        [True, True, False, False, False, True], dims="time", coords={"time": np.arange(6) / 10}
    )
    np.testing.assert_allclose(align(mask, bin_size="0.3 s").values, [2 / 3, 1 / 3])
    np.testing.assert_array_equal(align(mask, bin_size="0.3 s", method="mode").values, [1, 0])
    np.testing.assert_array_equal(align(mask, to=[0.15, 0.35]).values, [1.0, 0.0])


# ------------------------------------------------------------------ align: timestamps


@SETTINGS
@given(
    slope=st.floats(-10, 10),
    intercept=st.floats(-100, 100),
    n=st.integers(2, 80),
    seed=st.integers(0, 2**16),
)
def test_interpolation_is_exact_on_linear_signals(slope, intercept, n, seed):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.01, 0.1, n))
    x = xr.DataArray(intercept + slope * t, dims="time", coords={"time": t})
    target = rng.uniform(t[0], t[-1], 30)
    out = align(x, to=target)
    np.testing.assert_allclose(out.values, intercept + slope * target, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(out.time, target)
    outside = align(x, to=[t[0] - 1, t[-1] + 1])
    assert np.isnan(outside.values).all() and outside.attrs["n_invalid_bins"] == 2


def test_timestamps_next_to_missing_frames_and_sample_and_hold():
    x = features(np.array([0.0, 1.0, np.nan, 3.0, 4.0]), fps=1.0)
    lin = align(x, to=[0.5, 1.5, 2.0, 3.0, 3.5])
    np.testing.assert_allclose(lin.squeeze().values, [0.5, np.nan, np.nan, 3.0, 3.5])
    assert lin.attrs["n_invalid_bins"] == 2
    last = align(x, to=[0.9, 2.5, 4.9], method="last")
    np.testing.assert_allclose(last.squeeze().values, [0.0, np.nan, 4.0])
    labels = xr.DataArray([0, 2, -1, 1], dims="time", coords={"time": [0.0, 1.0, 2.0, 3.0]})
    held = align(labels, to=[0.5, 1.2, 2.7, 3.5, -1.0])
    assert held.values.tolist() == [0, 2, -1, 1, -1]


def test_plain_arrays_with_times():
    out = align(np.array([1.0, 2.0, 3.0, 4.0]), bin_size=1.0, times=[0.0, 0.5, 1.0, 1.5])
    assert out.values.tolist() == [1.5, 3.5]


# ------------------------------------------------------------------ clock


def _pulse_trains(rng, n, offset, drift_ppm, drop, n_extra, noise=0.0):
    camera = 10 + np.cumsum(rng.uniform(0.5, 1.5, n))
    recording = offset + (1 + drift_ppm * 1e-6) * camera + rng.normal(0, noise, n)
    keep_c = np.ones(n, bool)
    keep_r = np.ones(n, bool)
    keep_c[rng.choice(n, int(drop * n), replace=False)] = False
    keep_r[rng.choice(n, int(drop * n), replace=False)] = False
    extra_c = rng.uniform(camera[0], camera[-1], n_extra)
    extra_r = rng.uniform(recording[0], recording[-1], n_extra)
    return (
        camera,
        np.concatenate([camera[keep_c], extra_c]),
        np.concatenate([recording[keep_r], extra_r]),
        keep_c & keep_r,
    )


@SETTINGS
@given(
    offset=st.floats(-500, 500),
    drift_ppm=st.floats(-200, 200),
    n=st.integers(60, 600),
    n_extra=st.integers(0, 4),
    noise=st.sampled_from([0.0, 1e-4, 1e-3]),
    seed=st.integers(0, 2**16),
)
def test_fit_clock_recovers_offset_and_drift(offset, drift_ppm, n, n_extra, noise, seed):
    # 5 % of the pulses dropped on each side, a few extra pulses on each side
    rng = np.random.default_rng(seed)
    camera, cam, rec, both = _pulse_trains(rng, n, offset, drift_ppm, 0.05, n_extra, noise)
    clock = fit_clock(rng.permutation(cam), rec)
    truth = offset + (1 + drift_ppm * 1e-6) * camera
    assert np.abs(clock.apply(camera) - truth).max() < 0.1 / 30  # a tenth of a frame
    if noise == 0:
        assert clock.drift_ppm == pytest.approx(drift_ppm, abs=1e-3)
        assert both.sum() <= clock.n_matched <= both.sum() + n_extra
        assert clock.rms < 1e-6
    else:
        assert clock.n_matched >= 0.9 * both.sum()
        assert clock.rms < 2 * noise
    assert clock.n_unmatched_camera == cam.size - clock.n_matched
    assert clock.n_unmatched_recording == rec.size - clock.n_matched


def test_fit_clock_regular_pulses_with_drops_and_frame_jitter():
    pulses = np.arange(60) + 0.513
    camera = np.ceil(pulses * 30 - 1e-9) / 30  # seen at the next camera frame
    recording = 3.2 + (1 + 50e-6) * pulses
    clock = fit_clock(np.delete(camera, [10, 40]), recording)
    assert clock.n_matched == 58 and clock.n_unmatched_recording == 2
    truth = 3.2 + (1 + 50e-6) * pulses
    assert np.abs(clock.apply(pulses) - truth).max() < 1 / 30
    assert clock.residuals.shape == (58,)
    np.testing.assert_allclose(
        clock.recording_times - clock.apply(clock.camera_times), clock.residuals
    )


@pytest.mark.parametrize("offset", [1.7e9, -20.0])  # Unix-epoch recording times, or negative
@pytest.mark.parametrize("longer", ["recording", "camera"])
def test_fit_clock_when_one_side_runs_longer(offset, longer):
    rng = np.random.default_rng(0)
    pulses = 10 + np.cumsum(rng.uniform(0.5, 1.5, 1000))
    inner = pulses[200:900]  # the other side sees only these
    camera = inner if longer == "recording" else pulses
    recording = offset + (1 + 30e-6) * (pulses if longer == "recording" else inner)
    camera = np.delete(camera, rng.choice(camera.size, camera.size // 20, replace=False))
    clock = fit_clock(camera, recording)
    truth = offset + (1 + 30e-6) * pulses
    assert np.abs(clock.apply(pulses) - truth).max() < 1e-5
    assert clock.n_matched == np.isin(camera, inner).sum()  # every pulse both sides saw
    assert clock.n_unmatched_camera == camera.size - clock.n_matched
    assert clock.n_unmatched_recording == recording.size - clock.n_matched


@SETTINGS
@given(
    offset=st.floats(-1e4, 1e4),
    slope=st.floats(0.5, 2.0),
    times=st.lists(st.floats(-1e5, 1e5), min_size=1, max_size=20),
)
def test_apply_and_inverse_round_trip(offset, slope, times):
    clock = ClockFit(offset, slope)
    np.testing.assert_allclose(clock.inverse(clock.apply(times)), times, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(clock.apply(clock.inverse(times)), times, rtol=1e-9, atol=1e-6)


def test_to_recording_clock_moves_time_and_records_it():
    ds = bh.from_numpy(np.zeros((4, 2, 1, 1)), fps=10)
    clock = ClockFit(2.0, 1.001)
    out = to_recording_clock(ds, clock)
    np.testing.assert_allclose(out.time, 2.0 + 1.001 * np.arange(4) / 10)
    assert out.attrs["fps"] == pytest.approx(10 / 1.001)
    assert out.attrs["clock"] == "recording"
    assert bh.read_log(out)[-1]["operation"] == "decode.to_recording_clock"
    assert ds.time.values[1] == pytest.approx(0.1)  # the input is unchanged
    with pytest.raises(PoseDataError, match="already on the recording clock"):
        to_recording_clock(out, clock)


# ------------------------------------------------------------------ design matrices


@SETTINGS
@given(
    n=st.integers(1, 30),
    lags=st.lists(st.integers(-6, 6), min_size=1, max_size=5, unique=True),
    seed=st.integers(0, 2**16),
)
def test_design_matrix_columns_are_shifted_features(n, lags, seed):
    values = np.random.default_rng(seed).normal(size=(n, 2))
    x = features(values, fps=20.0).assign_coords(feature=["speed", "turn"])
    X = design_matrix(x, lags=lags)
    assert X.column.values.tolist() == [f"{f}@{k}" for f in ("speed", "turn") for k in lags]
    for f_index, f in enumerate(("speed", "turn")):
        for k in lags:
            col = X.sel(column=f"{f}@{k}").values
            for t in range(n):
                if 0 <= t + k < n:
                    assert col[t] == values[t + k, f_index]
                else:
                    assert np.isnan(col[t])
    dropped = design_matrix(x, lags=lags, drop_edges=True)
    assert not np.isnan(dropped.values).any()
    assert dropped.sizes["time"] == max(0, n - max(0, -min(lags)) - max(0, max(lags)))


def test_design_matrix_durations_individuals_and_basis():
    x = xr.DataArray(
        np.arange(20.0).reshape(5, 2, 2),
        dims=("time", "feature", "individual"),
        coords={
            "time": np.arange(5) * 0.05,
            "feature": ["speed", "turn"],
            "individual": ["a", "b"],
        },
    )
    X = design_matrix(x, lags=["-50 ms", 0])
    assert X.column.values[:4].tolist() == ["speed/a@-1", "speed/a@0", "speed/b@-1", "speed/b@0"]
    B = design_matrix(x, lags=range(-2, 1), basis=("raised_cosine", 2))
    assert B.column.values[:2].tolist() == ["speed/a@rc0", "speed/a@rc1"]
    w = raised_cosine_basis(range(-2, 1), 2)
    lagged = design_matrix(x, lags=range(-2, 1)).values.reshape(5, 4, 3)
    np.testing.assert_allclose(B.values.reshape(5, 4, 2)[2:], lagged[2:] @ w)
    np.testing.assert_allclose(raised_cosine_basis(range(10), 4).sum(axis=1), 1.0)


def test_lagged_features_in_a_pipeline_with_group_folds():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = 2 * np.roll(x[:, 0], 2) - x[:, 1]  # y(t) depends on x0(t - 2) and x1(t)
    groups = np.arange(400) // 80
    model = make_pipeline(
        LaggedFeatures(lags=range(-3, 1), fill_value=0.0), StandardScaler(), RidgeCV()
    )
    scores = cross_val_score(model, x, y, groups=groups, cv=GroupKFold(5), scoring="r2")
    assert scores.min() > 0.95
    plain = cross_val_score(
        make_pipeline(StandardScaler(), RidgeCV()),
        x,
        y,
        groups=groups,
        cv=GroupKFold(5),
        scoring="r2",
    )
    assert plain.mean() < 0.5
    fitted = clone(model).fit(x, y)
    names = fitted[:-1].get_feature_names_out().tolist()
    assert names[:4] == ["x0@-3", "x0@-2", "x0@-1", "x0@0"]
    lf = LaggedFeatures(lags=range(-2, 1), basis=("raised_cosine", 2)).fit(x)
    assert lf.transform(x).shape == (400, 6)
    assert lf.get_feature_names_out(["a", "b", "c"]).tolist()[:2] == ["a@rc0", "a@rc1"]
    with pytest.raises(NotFittedError):
        LaggedFeatures().transform(x)


def test_lagged_features_passes_scikit_learn_checks():
    from sklearn.utils.estimator_checks import check_estimator

    order = "rows are consecutive time bins: a row's lags depend on its neighbours"
    check_estimator(
        LaggedFeatures(lags=[-1, 0], fill_value=0.0),
        expected_failed_checks={
            "check_methods_sample_order_invariance": order,
            "check_methods_subset_invariance": order,
        },
    )


# ------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda x: align(x), "to / bin_size / edges"),
        (lambda x: align(x, to=[0.1], bin_size="1 s"), "to / bin_size / edges"),
        (lambda x: align(x, bin_size="1 parsec"), "bin_size"),
        (lambda x: align(x, edges=[1.0, 0.5]), "edges"),
        (lambda x: align(x, bin_size=0.1, method="median"), "method"),
        (lambda x: align(x, to=[0.1], method="mean"), "method"),
        (lambda x: align(x, bin_size=0.1, min_valid=1.5), "min_valid"),
        (lambda x: align(x.values, bin_size=0.1), "times"),
        (lambda x: align(x.astype(int), bin_size=0.1, method="mean"), "method"),
        (lambda x: align(x, bin_size=0.1, method="mode"), "method"),
        (lambda x: align("speed", bin_size=0.1), "x"),
        (lambda x: align(x.isel(time=[1, 0]), bin_size=0.1), "x.time"),
        (lambda x: fit_clock([0.0, 1.0], [0.0, 1.0, 2.0]), "camera_pulses"),
        (lambda x: fit_clock([0.0, 1.0, 2.0], [0.0, np.nan, 2.0]), "recording_pulses"),
        (lambda x: to_recording_clock(x, "clock"), "clock"),
        (lambda x: design_matrix(x, lags=[0, 0]), "lags"),
        (lambda x: design_matrix(x.values, lags=["50 ms"]), "lags"),
        (lambda x: design_matrix(x, lags=[0, 2], basis=("raised_cosine", 2)), "basis"),
        (lambda x: design_matrix(x, lags=[0, 1], basis=("gauss", 2)), "basis"),
        (lambda x: LaggedFeatures(lags=[True]).fit(x.values), "lags"),
    ],
)
def test_bad_inputs_name_the_argument(call, argument):
    x = features(np.arange(10.0), fps=10.0)
    with pytest.raises(PoseDataError, match=f"^{argument.replace('/', '/')}"):
        call(x)


# ------------------------------------------------------------------ end to end


def test_decoding_speed_from_neurons_on_their_own_clock():
    ds, truth = bh.simulate.session(kind="single", duration="60 s", seed=0)
    recording, neurons = bh.simulate.neural_population(
        ds, truth, n_neurons={"speed": 10, "none": 10}, seed=1
    )
    speed = bh.kinematics.speed(bh.kinematics.centroid(ds.position)).squeeze("individual")
    fps = ds.attrs["fps"]
    camera_time = speed.time.values
    tuned = recording.spike_times[:10]
    untuned = recording.spike_times[10:]
    clock = fit_clock(recording.camera_pulses, recording.recording_pulses)
    assert clock.n_unmatched_recording == 3 and clock.n_unmatched_camera == 1
    truth_clock = neurons.offset + neurons.slope * camera_time
    assert np.abs(clock.apply(camera_time) - truth_clock).max() < 1 / fps

    speed_rec = to_recording_clock(speed, clock)
    edges = np.arange(speed_rec.time.values[0], speed_rec.time.values[-1], 0.05)
    y = align(speed_rec, edges=edges)
    assert y.sizes["time"] == edges.size - 1
    ok = np.isfinite(y.values)
    groups = np.arange(ok.sum()) * 5 // ok.sum()  # five contiguous time blocks
    model = make_pipeline(
        LaggedFeatures(range(-2, 3), fill_value=0.0),
        StandardScaler(),
        RidgeCV(np.logspace(-2, 4, 13)),
    )

    def r2(spikes, target):
        X = np.stack([np.histogram(sp, edges)[0] for sp in spikes], axis=1)[ok]
        return cross_val_score(
            model, X, target, groups=groups, cv=GroupKFold(5), scoring="r2"
        ).mean()

    rng = np.random.default_rng(1)
    shuffled = rng.permutation(y.values[ok])
    tuned_r2, tuned_control = r2(tuned, y.values[ok]), r2(tuned, shuffled)
    untuned_r2 = r2(untuned, y.values[ok])
    assert tuned_r2 > 0.5
    assert tuned_r2 > tuned_control + 0.4
    assert untuned_r2 < 0.1
