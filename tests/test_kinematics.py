"""Tests for behavior/kinematics.py: derivatives, path length, calibration, body frame, angles."""

from __future__ import annotations

import contextlib
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior import _pose
from behavior import kinematics as kin
from behavior.errors import PoseDataError

KEYPOINTS = ["nose", "body_center", "tail_base"]


def make_ds(
    n: int = 60,
    n_space: int = 2,
    n_ind: int = 2,
    keypoints=KEYPOINTS,
    fps: float | None = 30,
    time=None,
    seed: int = 0,
    nan_fraction: float = 0.0,
) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 2, size=(n, n_space, len(keypoints), n_ind))
    position = 100 + np.cumsum(steps, axis=0)
    if nan_fraction:
        missing = rng.random((n, len(keypoints), n_ind)) < nan_fraction
        position[np.broadcast_to(missing[:, None], position.shape)] = np.nan
    return bh.from_numpy(
        position,
        rng.uniform(0.5, 1, size=(n, len(keypoints), n_ind)),
        keypoint_names=list(keypoints),
        individual_names=[f"mouse_{i}" for i in range(n_ind)],
        fps=fps,
        time=time,
        source_software="test",
    )


@contextlib.contextmanager
def quiet():
    """Silence path_length's many-NaN warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def last_log(obj) -> dict:
    return json.loads(obj.attrs["log"])[-1]


# --------------------------------------------------------------------------- derivatives


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("time_kind", ["frames", "seconds", "irregular"])
def test_velocity_and_acceleration_are_numpy_gradient_bit_for_bit(time_kind, dtype):
    rng = np.random.default_rng(1)
    n = 500  # many blocks: a row of 2 * 60 * 30 values makes blocks of ~145 frames
    time = {
        "frames": None,
        "seconds": None,
        "irregular": np.cumsum(rng.uniform(0.01, 0.05, n)),
    }[time_kind]
    fps = 30 if time_kind == "seconds" else None
    position = rng.normal(size=(n, 2, 60, 30)).astype(dtype)
    position[rng.random(position.shape) < 0.01] = np.nan
    ds = bh.from_numpy(position, fps=fps, time=time)
    t = ds.time.values
    expected = np.gradient(position, t, axis=0)
    np.testing.assert_array_equal(kin.velocity(ds.position).values, expected)
    np.testing.assert_array_equal(
        kin.acceleration(ds.position).values, np.gradient(expected, t, axis=0)
    )
    second = np.gradient(position, t, axis=0, edge_order=2)
    np.testing.assert_array_equal(kin.velocity(ds, edge_order=2).values, second)
    speed = kin.speed(ds.position).values
    assert speed.dtype == dtype
    np.testing.assert_allclose(
        speed, np.linalg.norm(expected, axis=1), rtol=4 * np.finfo(dtype).eps
    )


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(st.floats(0.01, 2.0), min_size=4, max_size=40),
    coef=st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5)),
)
def test_velocity_on_irregular_timestamps_is_the_derivative_of_a_quadratic(steps, coef):
    t = np.cumsum(steps)
    a, b, c = coef
    x = a * t**2 + b * t + c
    position = np.stack([x, -x], axis=1)[:, :, None, None]
    ds = bh.from_numpy(position, time=t)
    exact = 2 * a * t + b
    scale = 1 + np.abs(exact).max() + np.abs(x).max() / min(steps)
    inner = kin.velocity(ds.position).sel(space="x").values[1:-1, 0, 0]
    np.testing.assert_allclose(inner, exact[1:-1], rtol=0, atol=1e-9 * scale)
    both = kin.velocity(ds.position, edge_order=2).sel(space="y").values[:, 0, 0]
    np.testing.assert_allclose(both, -exact, rtol=0, atol=1e-9 * scale)
    acc = kin.acceleration(ds.position, edge_order=2).sel(space="x").values[2:-2, 0, 0]
    np.testing.assert_allclose(acc, 2 * a, rtol=0, atol=1e-6 * scale / min(steps))


@settings(max_examples=25, deadline=None)
@given(
    value=st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)),
    n=st.integers(2, 30),
    n_space=st.sampled_from([2, 3]),
    irregular=st.booleans(),
)
def test_a_constant_track_has_zero_velocity_and_speed(value, n, n_space, irregular):
    time = np.cumsum(np.linspace(0.5, 1.5, n)) if irregular else None
    position = np.broadcast_to(np.array(value[:n_space])[None, :, None, None], (n, n_space, 2, 1))
    ds = bh.from_numpy(position.copy(), fps=25, time=time)
    tol = 1e-12 * (1 + max(abs(v) for v in value))
    assert np.abs(kin.velocity(ds.position).values).max() <= tol
    assert np.abs(kin.acceleration(ds.position).values).max() <= tol * 10
    assert kin.speed(ds.position).max() <= tol
    np.testing.assert_array_equal(kin.displacement(ds.position).values, 0.0)
    np.testing.assert_array_equal(kin.path_length(ds.position).values, 0.0)


def test_missing_frames_make_only_their_neighbours_nan():
    ds = make_ds(n=30, fps=None)  # time in frames: exactly uniform steps
    position = ds.position.copy()
    position[10, :, 0, 0] = np.nan
    vel = kin.velocity(position).isel(keypoint=0, individual=0, space=0).values
    assert np.isnan(vel[[9, 11]]).all()
    assert np.isfinite(np.delete(vel, [9, 11])).all()  # frame 10 itself: (p11 - p9) / 2
    seconds = make_ds(n=30, fps=30).position.copy()  # frame / fps: irregular in the last bits
    seconds[10, :, 0, 0] = np.nan
    vel = kin.velocity(seconds).isel(keypoint=0, individual=0, space=0).values
    assert np.isnan(vel[9:12]).all() and np.isfinite(np.delete(vel, [9, 10, 11])).all()


def test_velocity_is_per_second_with_seconds_and_per_frame_with_frames():
    x = np.arange(20.0) * 3  # 3 px per frame
    pos = np.stack([x, 0 * x], axis=1)[:, :, None]
    per_s = kin.velocity(bh.from_numpy(pos, fps=50).position).sel(space="x")
    per_frame = kin.velocity(bh.from_numpy(pos).position).sel(space="x")
    np.testing.assert_allclose(per_s, 150.0)
    np.testing.assert_allclose(per_frame, 3.0)


def test_speed_in_3d():
    t = np.arange(40) / 10.0
    pos = np.stack([3 * t, 4 * t, 12 * t], axis=1)[:, :, None]  # |v| = 13
    ds = bh.from_numpy(pos, fps=10)
    np.testing.assert_allclose(kin.speed(ds).values, 13.0)
    np.testing.assert_allclose(kin.path_length(ds).values, 13.0 * t[-1])


def test_differentiating_one_frame_is_refused():
    ds = make_ds(n=1)
    with pytest.raises(PoseDataError, match="at least 2 frames"):
        kin.velocity(ds.position)
    with pytest.raises(PoseDataError, match="edge_order"):
        kin.velocity(make_ds().position, edge_order=3)


# --------------------------------------------------------------------------- invariance


@st.composite
def arenas(draw):
    n = draw(st.integers(3, 40))
    n_space = draw(st.sampled_from([2, 3]))
    seed = draw(st.integers(0, 2**16))
    nan_fraction = draw(st.sampled_from([0.0, 0.1, 0.3]))
    ds = make_ds(n=n, n_space=n_space, seed=seed, nan_fraction=nan_fraction)
    shift = draw(st.lists(st.floats(-1e3, 1e3), min_size=n_space, max_size=n_space))
    angle = draw(st.floats(-np.pi, np.pi))
    return ds, np.array(shift), angle


def _rotate_z(position: np.ndarray, angle: float) -> np.ndarray:
    out = position.copy()
    cos, sin = np.cos(angle), np.sin(angle)
    out[:, 0] = cos * position[:, 0] - sin * position[:, 1]
    out[:, 1] = sin * position[:, 0] + cos * position[:, 1]
    return out


@settings(max_examples=30, deadline=None)
@given(arena=arenas())
def test_moving_or_rotating_the_arena_keeps_speed_and_path_length(arena):
    ds, shift, angle = arena
    values = ds.position.values
    moved = ds.position.copy(data=_rotate_z(values, angle) + shift[None, :, None, None])
    scale = 1e-9 * (1 + np.abs(shift).max() + np.nanmax(np.abs(values)))
    for func in (kin.speed, kin.path_length):
        with quiet():
            a, b = func(ds.position).values, func(moved).values
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=scale * 100)
    with quiet():
        a = kin.path_length(ds.position, nan_policy="scale").values
        b = kin.path_length(moved, nan_policy="scale").values
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=scale * 100)
    # the heading turns with the arena, so angular velocity is unchanged
    # (a turn of about half a circle between two frames is ambiguous in direction, so
    # frames next to such a step are left out)
    heading = kin.body_heading(ds)
    h0 = kin.angular_velocity(heading).values
    h1 = kin.angular_velocity(kin.body_heading(moved)).values
    step = np.abs(np.angle(np.exp(1j * np.diff(heading.values, axis=0))))
    ambiguous = np.zeros(h0.shape, dtype=bool)
    ambiguous[1:] |= step > 0.9 * np.pi
    ambiguous[:-1] |= step > 0.9 * np.pi
    np.testing.assert_allclose(h0[~ambiguous], h1[~ambiguous], rtol=1e-7, atol=1e-7)


# --------------------------------------------------------------------------- dims, coords, logs


def test_outputs_keep_dims_coords_attrs_and_log_and_never_mutate_the_input():
    ds = make_ds(nan_fraction=0.1)
    position = ds.position.copy()
    position.attrs = {"note": "kept"}
    before = position.copy(deep=True)
    same_dims = {
        "velocity": kin.velocity(position),
        "acceleration": kin.acceleration(position),
        "displacement": kin.displacement(position),
    }
    for name, out in same_dims.items():
        assert out.dims == position.dims, name
        assert out.name == name
        for dim in position.dims:
            np.testing.assert_array_equal(out[dim].values, position[dim].values)
        assert out.attrs["note"] == "kept"
        assert last_log(out)["operation"] == f"kinematics.{name}"
    reduced = {
        "speed": (kin.speed(position), ("time", "keypoint", "individual")),
        "path_length": (kin.path_length(position), ("keypoint", "individual")),
        "centroid": (kin.centroid(position), ("time", "space", "individual")),
        "body_heading": (kin.body_heading(position), ("time", "individual")),
        "body_length": (kin.body_length(position), ("time", "individual")),
        "joint_angle": (
            kin.joint_angle(position, "nose", "body_center", "tail_base"),
            ("time", "individual"),
        ),
        "keypoint_distances": (kin.keypoint_distances(position), ("time", "pair", "individual")),
    }
    for name, (out, dims) in reduced.items():
        assert out.dims == dims, name
        for dim in set(dims) & set(position.dims):
            np.testing.assert_array_equal(out[dim].values, position[dim].values)
        assert out.attrs["note"] == "kept", name
        assert last_log(out)["operation"] == f"kinematics.{name}", name
    xr.testing.assert_identical(position, before)


def test_a_dataset_input_gives_its_attrs_to_the_result():
    ds = make_ds()
    out = kin.speed(ds)
    assert out.attrs["fps"] == 30 and out.attrs["source_software"] == "test"
    assert "ds_type" not in out.attrs


def test_extra_dims_such_as_an_ensemble_are_kept():
    ds = make_ds(n=20)
    stacked = xr.concat([ds.position, ds.position + 1], dim="ensemble").transpose(
        "ensemble", *ds.position.dims
    )
    for func in (kin.velocity, kin.speed, kin.path_length, kin.centroid, kin.body_heading):
        out = func(stacked)
        assert out.dims[0] == "ensemble" and out.sizes["ensemble"] == 2
        a, b = out.isel(ensemble=0), func(ds.position)
        xr.testing.assert_allclose(a.drop_attrs(), b.drop_attrs())


def test_dims_are_checked_by_name():
    da = xr.DataArray(np.zeros((5, 2)), dims=("frame", "space"))
    with pytest.raises(PoseDataError, match=r"missing dimension\(s\) \['time'\]"):
        kin.velocity(da)
    with pytest.raises(PoseDataError, match="keypoint"):
        kin.body_heading(xr.DataArray(np.zeros((5, 2)), dims=("time", "space")))
    with pytest.raises(PoseDataError, match="'snout' not found.*nose"):
        kin.body_heading(make_ds(), "tail_base", "snout")
    with pytest.raises(PoseDataError, match="found list"):
        kin.speed([1, 2, 3])


def test_time_as_timedeltas_is_read_in_seconds():
    ds = make_ds(n=10, fps=10)
    td = ds.position.assign_coords(time=(ds.time.values * 1e9).astype("timedelta64[ns]"))
    xr.testing.assert_allclose(
        kin.velocity(td).drop_vars("time"), kin.velocity(ds.position).drop_vars("time")
    )


# --------------------------------------------------------------------------- displacement, path


def test_displacement_is_the_step_from_the_previous_frame():
    xy = np.array([[0, 0], [3, 4], [np.nan, np.nan], [6, 8]], dtype=float)
    ds = bh.from_numpy(xy[:, :, None], fps=1)
    d = kin.displacement(ds.position).values[:, :, 0, 0]
    np.testing.assert_array_equal(d[:2], [[0, 0], [3, 4]])
    assert np.isnan(d[2:]).all()
    first_missing = kin.displacement(ds.position.isel(time=slice(2, None))).values
    assert np.isnan(first_missing[0]).all()


def test_path_length_nan_policies_start_stop_and_warning():
    xy = np.array([[0, 0], [3, 4], [np.nan, np.nan], [6, 8], [6, 9]], dtype=float)
    ds = bh.from_numpy(xy[:, :, None], fps=1)
    with pytest.warns(UserWarning, match=r"keypoint=keypoint_0, individual=id_0 \(20 %\)"):
        assert kin.path_length(ds.position).item() == pytest.approx(11.0)
    half = {"nan_warn_threshold": 0.5}
    # scale: valid steps 5 + 1 over 2 of 4 steps
    assert kin.path_length(ds, nan_policy="scale", **half).item() == pytest.approx(12.0)
    assert kin.path_length(ds, start=1, stop=3, **half).item() == pytest.approx(5.0)
    assert kin.path_length(ds, start=3, **half).item() == pytest.approx(1.0)
    never = bh.from_numpy(np.full((4, 2, 1), np.nan), fps=1)
    with quiet():
        assert np.isnan(kin.path_length(never).item())
        assert np.isnan(kin.path_length(never, nan_policy="scale").item())
    with pytest.raises(PoseDataError, match="at least 2 frames"):
        kin.path_length(ds, start=4)
    with pytest.raises(PoseDataError, match="nan_policy"):
        kin.path_length(ds, nan_policy="drop")
    with pytest.raises(PoseDataError, match="nan_warn_threshold"):
        kin.path_length(ds, nan_warn_threshold=2)


def test_path_length_over_many_blocks_equals_a_direct_sum():
    ds = make_ds(n=5000, keypoints=[f"k{i}" for i in range(40)], n_ind=4, nan_fraction=0.02)
    values = ds.position.values
    direct = np.nansum(np.linalg.norm(np.diff(values, axis=0), axis=1), axis=0)
    steps = (~np.isnan(np.diff(values, axis=0)).any(axis=1)).sum(axis=0)
    with quiet():
        scaled = kin.path_length(ds, nan_policy="scale").values
    np.testing.assert_allclose(scaled, direct / (steps / 4999), rtol=1e-12)


def _ffill_path_reference(values: np.ndarray) -> np.ndarray:
    """movement's ffill path length, by pandas: each element filled on its own."""
    n = values.shape[0]
    filled = pd.DataFrame(values.reshape(n, -1)).ffill().to_numpy().reshape(values.shape)
    norm = np.linalg.norm(np.diff(filled, axis=0), axis=1)
    return np.where(np.isnan(norm).all(axis=0), np.nan, np.nansum(norm, axis=0))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(2, 120),
    point_nan=st.sampled_from([0.0, 0.1, 0.4, 0.9]),
    coordinate_nan=st.sampled_from([0.0, 0.05]),
    block_bytes=st.sampled_from([64, 4096, 1 << 21]),
)
def test_path_length_ffill_equals_a_forward_filled_sum(
    seed, n, point_nan, coordinate_nan, block_bytes
):
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.normal(size=(n, 2, 3, 2)), axis=0)
    values[np.broadcast_to((rng.random((n, 1, 3, 2)) < point_nan), values.shape)] = np.nan
    values[rng.random(values.shape) < coordinate_nan] = np.nan  # x missing, y not
    ds = bh.from_numpy(values, fps=10)
    with pytest.MonkeyPatch.context() as patch, quiet():
        patch.setattr(_pose, "BLOCK_BYTES", block_bytes)  # many blocks: carries across them
        got = kin.path_length(ds.position).values
    expected = _ffill_path_reference(values)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- calibration


def test_calibrate_with_px_per_cm_and_units():
    ds = make_ds()
    cm = kin.calibrate(ds, 12.0)
    np.testing.assert_allclose(cm.position, ds.position / 12.0)
    assert cm.attrs["space_unit"] == "cm" and cm.attrs["px_per_cm"] == 12.0
    xr.testing.assert_identical(cm.confidence, ds.confidence)
    assert last_log(cm)["operation"] == "kinematics.calibrate"
    mm = kin.calibrate(ds, px_per_cm=12.0, unit="mm")
    np.testing.assert_allclose(mm.position, ds.position / 1.2)
    assert mm.attrs["space_unit"] == "mm"
    assert ds.attrs["space_unit"] == "pixels"  # the input is untouched


def test_calibrate_from_two_pixel_points_or_two_keypoints():
    ds = make_ds()
    by_points = kin.calibrate(ds, points=[(10, 10), (10, 310)], distance_cm=25)
    assert by_points.attrs["px_per_cm"] == pytest.approx(12.0)
    pos = np.zeros((50, 2, 3, 1))
    pos[:, 0, 1, 0] = 300.0 + np.random.default_rng(0).normal(0, 0.5, 50)  # a corner 300 px right
    pos[3, :, 1, 0] = np.nan  # and once missing: medians ignore it
    landmarks = bh.from_numpy(pos, keypoint_names=["corner_a", "corner_b", "nose"])
    out = kin.calibrate(landmarks, points=["corner_a", "corner_b"], distance_cm=30)
    expected = np.nanmedian(pos[:, 0, 1, 0])
    assert out.attrs["px_per_cm"] == pytest.approx(expected / 30)
    three_d = bh.from_numpy(np.ones((4, 3, 1, 1)))
    assert kin.calibrate(three_d, points=[(0, 0, 0), (2, 3, 6)], distance_cm=1).attrs[
        "px_per_cm"
    ] == pytest.approx(7.0)


def test_calibrate_uses_the_dataset_scale_and_converts_variances():
    ds, _ = bh.simulate.session(duration="2 s", seed=0)
    ds = ds.assign(position_variance=xr.full_like(ds.position, 144.0))
    cm = kin.calibrate(ds)
    assert cm.attrs["px_per_cm"] == ds.attrs["px_per_cm"] == 12.0
    np.testing.assert_allclose(cm.position_variance, 1.0)
    assert last_log(cm)["parameters"]["source"] == "attrs"


def test_calibrate_a_position_array():
    ds = make_ds()
    out = kin.calibrate(ds.position, 2.0)
    assert isinstance(out, xr.DataArray) and out.attrs["space_unit"] == "cm"
    np.testing.assert_allclose(out, ds.position / 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"px_per_cm": 10, "points": [(0, 0), (1, 1)], "distance_cm": 1}, "not both"),
        ({}, "found neither"),
        ({"px_per_cm": -3}, "positive"),
        ({"px_per_cm": float("nan")}, "positive"),
        ({"px_per_cm": "ten"}, "positive number"),
        ({"points": [(0, 0), (1, 1)]}, "distance_cm"),
        ({"points": [(0, 0), (1, 1)], "distance_cm": 0}, "distance_cm"),
        ({"points": [(5, 5), (5, 5)], "distance_cm": 2}, "coincide"),
        ({"points": [(5, 5)], "distance_cm": 2}, "two points"),
        ({"points": ["nose", "paw"], "distance_cm": 2}, "'paw' not found"),
        ({"px_per_cm": 10, "unit": "inch"}, "unit"),
    ],
)
def test_calibrate_errors_say_what_is_wrong(kwargs, match):
    with pytest.raises(PoseDataError, match=match):
        kin.calibrate(make_ds(), **kwargs)


def test_calibrate_refuses_to_calibrate_twice():
    cm = kin.calibrate(make_ds(), 10)
    with pytest.raises(PoseDataError, match=r"already in 'cm'.*once"):
        kin.calibrate(cm, 10)
    never_seen = make_ds()
    never_seen["position"][:, :, 0] = np.nan
    with pytest.raises(PoseDataError, match="never tracked"):
        kin.calibrate(never_seen, points=["nose", "tail_base"], distance_cm=3)


# --------------------------------------------------------------------------- geometry


def test_centroid_averages_the_keypoints_present():
    pos = np.array(
        [
            [[0.0, 2.0, 4.0], [0.0, 0.0, 3.0]],
            [[0.0, np.nan, 4.0], [0.0, np.nan, 3.0]],
            [[np.nan] * 3, [np.nan] * 3],
        ]
    )
    ds = bh.from_numpy(pos, keypoint_names=KEYPOINTS)
    c = kin.centroid(ds).values[:, :, 0]
    np.testing.assert_allclose(c[0], [2.0, 1.0])
    np.testing.assert_allclose(c[1], [2.0, 1.5])
    assert np.isnan(c[2]).all()
    sub = kin.centroid(ds, keypoints=["nose", "tail_base"]).values[0, :, 0]
    np.testing.assert_allclose(sub, [2.0, 1.5])
    many = make_ds(n=40, n_ind=20, nan_fraction=0.3).position  # the other summation path
    valid = ~many.isnull().any("space")
    expected = many.where(valid).sum("keypoint") / valid.sum("keypoint")
    np.testing.assert_allclose(kin.centroid(many), expected, rtol=1e-12)
    half = pos.copy()
    half[0, 1, 2] = np.nan  # x present, y missing: the point does not count
    np.testing.assert_allclose(kin.centroid(bh.from_numpy(half)).values[0, :, 0], [1.0, 0.0])


def test_body_heading_sign_convention_and_range():
    # tail at the origin; the nose to the right, down (image y grows down), left, up
    noses = [(1, 0), (0, 1), (-1, 0), (0, -1), (1, 1)]
    pos = np.zeros((len(noses), 2, 2, 1))
    pos[:, :, 1, 0] = noses
    ds = bh.from_numpy(pos, keypoint_names=["tail_base", "nose"])
    heading = kin.body_heading(ds).values[:, 0]
    np.testing.assert_allclose(heading, [0, np.pi / 2, -np.pi, -np.pi / 2, np.pi / 4])
    assert ((heading >= -np.pi) & (heading < np.pi)).all()
    assert kin.body_heading(ds).attrs["units"] == "radians"
    pos[1, :, 1] = np.nan
    pos[2, :, 1] = 0.0  # nose on the tail: no direction
    heading = kin.body_heading(bh.from_numpy(pos, keypoint_names=["tail_base", "nose"]))
    assert np.isnan(heading.values[[1, 2], 0]).all()


def test_angular_velocity_unwraps_across_pi_and_survives_gaps():
    t = np.arange(200) / 20.0
    theta = np.angle(np.exp(1j * (3.0 - 1.5 * t)))  # -1.5 rad/s, wrapping many times
    heading = xr.DataArray(theta, dims="time", coords={"time": t})
    np.testing.assert_allclose(kin.angular_velocity(heading), -1.5, atol=1e-9)
    gappy = heading.copy()
    gappy[50:53] = np.nan
    w = kin.angular_velocity(gappy).values
    assert np.isnan(w[49:54]).all()
    np.testing.assert_allclose(np.delete(w, range(49, 54)), -1.5, atol=1e-9)


def test_joint_angle_on_known_triangles_2d_and_3d():
    def angle(points, **kw):
        pos = np.array(points, dtype=float).T[None, :, :, None]
        ds = bh.from_numpy(pos, keypoint_names=["a", "b", "c"])
        return float(kin.joint_angle(ds, "a", "b", "c", **kw).squeeze())

    assert angle([(1, 0), (0, 0), (0, 1)], degrees=True) == pytest.approx(90)
    assert angle([(-1, 0), (0, 0), (1, 0)]) == pytest.approx(np.pi)
    assert angle([(2, 0), (0, 0), (1, 0)]) == pytest.approx(0)
    assert angle([(0, 0), (1, 0), (0.5, np.sqrt(3) / 2)], degrees=True) == pytest.approx(60)
    assert angle([(1, 0), (0, 0), (1, 1)], degrees=True) == pytest.approx(45)
    assert angle([(1, 0, 0), (0, 0, 0), (0, 0, 5)], degrees=True) == pytest.approx(90)
    assert angle([(1, 1, 1), (0, 0, 0), (-1, -1, -1)]) == pytest.approx(np.pi)
    three = [(1, 0, 0), (0, 0, 0), (1, 1, np.sqrt(2))]
    assert angle(three, degrees=True) == pytest.approx(60)
    assert np.isnan(angle([(0, 0), (0, 0), (1, 0)]))
    assert np.isnan(angle([(np.nan, 0), (0, 0), (1, 0)]))


def test_body_length_and_keypoint_distances():
    pos = np.zeros((2, 2, 3, 2))
    pos[:, :, 0, :] = np.array([3.0, 4.0])[None, :, None]  # nose at (3, 4)
    pos[:, :, 2, 1] = np.array([0.0, 1.0])[None, :]  # tail of the second animal at (0, 1)
    pos[1, :, 1, 0] = np.nan
    ds = bh.from_numpy(pos, keypoint_names=KEYPOINTS, individual_names=["a", "b"])
    np.testing.assert_allclose(kin.body_length(ds).values, [[5.0, np.sqrt(18)]] * 2)
    d = kin.keypoint_distances(ds)
    assert d.pair.values.tolist() == [
        "nose-body_center",
        "nose-tail_base",
        "body_center-tail_base",
    ]
    assert d.keypoint_a.values.tolist() == ["nose", "nose", "body_center"]
    np.testing.assert_allclose(d.sel(pair="nose-tail_base").values, [[5.0, np.sqrt(18)]] * 2)
    assert np.isnan(d.sel(pair="nose-body_center", individual="a").values[1])
    one = kin.keypoint_distances(ds, pairs=[("tail_base", "nose")])
    assert one.pair.values.tolist() == ["tail_base-nose"]
    with pytest.raises(PoseDataError, match="pairs"):
        kin.keypoint_distances(ds, pairs=[("nose",)])
    with pytest.raises(PoseDataError, match="at least 2 keypoints"):
        kin.keypoint_distances(ds.isel(keypoint=[0]))


# --------------------------------------------------------------------------- body frame


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n_space=st.sampled_from([2, 3]),
    origin=st.sampled_from(["body_center", "centroid", "midpoint", "nose"]),
    nan_fraction=st.sampled_from([0.0, 0.2]),
)
def test_egocentric_then_allocentric_is_the_identity(seed, n_space, origin, nan_fraction):
    ds = make_ds(n=25, n_space=n_space, seed=seed, nan_fraction=nan_fraction)
    ego = kin.egocentric(ds, origin=origin)
    back = kin.allocentric(ego)
    assert "ego_origin" not in back.coords and back.position.dims == ds.position.dims
    frame_ok = (~ego.ego_heading.isnull() & ~ego.ego_origin.isnull().any("space")).broadcast_like(
        ds.position.isel(space=0, keypoint=0, drop=True)
    )
    expected = ds.position.where(frame_ok)
    np.testing.assert_allclose(back.position, expected, rtol=1e-9, atol=1e-9)
    with_args = kin.allocentric(ego.position, ego.ego_origin, ego.ego_heading)
    np.testing.assert_allclose(with_args, expected, rtol=1e-9, atol=1e-9)


def test_egocentric_puts_the_nose_forward_and_the_right_side_at_plus_y():
    # facing down the image (+y) from (5, 5); the animal's right is then -x in the image
    pos = np.array([[5.0, 5.0, 5.0, 4.0], [4.0, 5.0, 7.0, 5.0]])[None, :, :, None]
    ds = bh.from_numpy(pos, keypoint_names=["tail_base", "body_center", "nose", "right_ear"])
    ego = kin.egocentric(ds).position.values[0, :, :, 0]
    np.testing.assert_allclose(ego[:, 2], [2.0, 0.0], atol=1e-12)  # nose straight ahead
    np.testing.assert_allclose(ego[:, 0], [-1.0, 0.0], atol=1e-12)  # tail behind
    np.testing.assert_allclose(ego[:, 3], [0.0, 1.0], atol=1e-12)  # right ear at +y
    np.testing.assert_allclose(kin.body_heading(kin.egocentric(ds)).values, 0.0, atol=1e-12)


def test_egocentric_in_3d_rotates_about_z_and_keeps_height():
    pos = np.array([[0.0, 0.0, 1.0], [0.0, 3.0, 0.0], [1.0, 2.0, 5.0]])  # tail, nose, tip
    ds = bh.from_numpy(pos.T[None, :, :, None], keypoint_names=["tail_base", "nose", "tip"])
    ego = kin.egocentric(ds, origin="tail_base").position.values[0, :, :, 0]
    np.testing.assert_allclose(ego[:, 1], [3.0, 0.0, -1.0], atol=1e-12)  # heading +y
    np.testing.assert_allclose(ego[:, 2], [2.0, -1.0, 4.0], atol=1e-12)


def test_egocentric_with_given_angles_keeps_confidence_and_refuses_twice():
    ds = make_ds(n=10)
    angles = xr.zeros_like(ds.position.isel(space=0, keypoint=0, drop=True))
    ego = kin.egocentric(ds, origin="nose", heading=angles)
    np.testing.assert_allclose(
        ego.position, ds.position - ds.position.sel(keypoint="nose"), atol=1e-12
    )
    xr.testing.assert_identical(ego.confidence.drop_vars("ego_heading"), ds.confidence)
    assert last_log(ego)["operation"] == "kinematics.egocentric"
    with pytest.raises(PoseDataError, match="already egocentric"):
        kin.egocentric(ego)
    with pytest.raises(PoseDataError, match="origin"):
        kin.egocentric(ds, origin="elbow")
    with pytest.raises(PoseDataError, match="ego_origin"):
        kin.allocentric(ds)
    as_array = kin.egocentric(ds.position)
    assert isinstance(as_array, xr.DataArray) and "ego_heading" in as_array.coords


# ---- issue 15: raw errors and silent nonsense become named errors -------------------------


def test_centroid_of_no_keypoints_is_a_named_error(small_poses):
    with pytest.raises(PoseDataError, match="keypoints: expected at least one keypoint"):
        kin.centroid(small_poses, keypoints=[])
    with pytest.raises(PoseDataError, match="at least one keypoint"):
        kin.centroid(small_poses.isel(keypoint=[]))


@pytest.mark.parametrize(
    "call",
    [
        lambda ds: kin.speed(ds.position),
        lambda ds: kin.velocity(ds.position),
        lambda ds: kin.path_length(ds.position),
        lambda ds: kin.speed(ds),
        lambda ds: kin.acceleration(ds),
    ],
)
def test_kinematics_refuse_a_repeated_time_coordinate(small_poses, call):
    t = small_poses.time.values.copy()
    t[10] = t[9]
    with pytest.raises(PoseDataError, match="time coordinate: expected strictly increasing"):
        call(small_poses.assign_coords(time=t))
    t[10] = t[9] - 0.5  # decreasing
    with pytest.raises(PoseDataError, match="strictly increasing"):
        call(small_poses.assign_coords(time=t))
