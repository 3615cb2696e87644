"""Tests for behavior/features.py: feature extraction, window statistics, feature sets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior import features
from behavior.errors import PoseDataError
from behavior.roi import Circle, Rectangle
from behavior.simulate import BODY_KEYPOINTS

BODY8 = list(BODY_KEYPOINTS)  # the simulator's 8 body keypoints


@pytest.fixture(scope="module")
def session():
    ds, _ = bh.simulate.session(duration="20 s", seed=3)
    return ds.sel(keypoint=BODY8)


@pytest.fixture(scope="module")
def session_features(session):
    return features.extract(session, progress=False)


def _geometry(px_per_cm=None, n=6, fps=10.0, step=3.0):
    """One animal: tail base (0, 0), neck (3, 0), nose (3, 4), corner (0, 4), moving
    ``step`` px along +x every frame."""
    shape = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0], [0.0, 4.0]])  # (keypoint, xy)
    pos = np.empty((n, 2, 4, 1))
    for t in range(n):
        pos[t, :, :, 0] = (shape + np.array([step * t, 0.0])).T
    ds = bh.from_numpy(pos, keypoint_names=["tail_base", "neck", "nose", "corner"], fps=fps)
    if px_per_cm is not None:
        ds.attrs["px_per_cm"] = px_per_cm
    return ds


# ---- shapes, names and attrs ---------------------------------------------------------


def test_extract_dims_dtype_coords_and_attrs(session, session_features):
    f = session_features
    assert f.dims == ("time", "feature", "individual")
    assert f.dtype == np.float32
    assert f.name == "features"
    np.testing.assert_array_equal(f.time.values, session.time.values)
    assert f.individual.values.tolist() == ["mouse_0", "mouse_1"]
    assert f.attrs["fps"] == 30
    assert f.attrs["space_unit"] == "cm"  # the simulated session records px_per_cm
    assert f.attrs["speed_unit"] == "cm/s"
    assert f.attrs["feature_sets"] == ["pose", "kinematics", "social", "quality"]
    assert f.attrs["windows"] == ["0.1s", "0.25s", "0.5s", "1s", "2s"]
    assert f.attrs["window_frames"] == [3, 8, 15, 30, 60]
    assert f.attrs["stats"] == ["mean", "std", "min", "max", "sum"]
    assert json.loads(f.attrs["keypoint_roles"])["tail_base"] == "tail_base"
    assert json.loads(f.attrs["log"])[-1]["operation"] == "features.extract"
    assert f.feature_set.sel(feature="social:gaze_offset").item() == "social"
    assert f.feature_unit.sel(feature="speed:nose").item() == "cm/s"
    assert f.feature_unit.sel(feature="hull_area").item() == "cm^2"


def test_default_names_count_and_no_individual_names(session_features):
    names = [str(n) for n in session_features.feature.values]
    assert len(names) == len(set(names))
    assert 400 <= len(names) <= 600
    for name in (
        "speed:nose",
        "accel:tail_base",
        "dist:nose~tail_base",
        "angle:nose~neck~tail_base",
        "body_length",
        "hull_area",
        "heading_change",
        "speed:centroid",
        "social:closest_distance",
        "social:gaze_offset",
        "social:approach_speed",
        "social:other_gaze_offset",
        "missing:nose",
        "missing:fraction",
        "conf:nose",
        "speed:centroid|mean@0.5s",
        "social:centroid_distance|max@2s",
        "heading_change|std@0.1s",
    ):
        assert name in names, name
    assert not any("mouse" in n for n in names)
    assert sum("dist:" in n and "|" not in n for n in names) == 28  # all 8 * 7 / 2 pairs


def test_renamed_individuals_give_identical_features(session, session_features):
    renamed = session.assign_coords(individual=["alpha", "beta"])
    g = features.extract(renamed, progress=False, windows=None)
    f = session_features.sel(feature=g.feature.values)
    np.testing.assert_array_equal(g.values, f.values)
    assert g.individual.values.tolist() == ["alpha", "beta"]


# ---- known values on hand-built geometry ---------------------------------------------


def test_known_geometry_in_centimetres():
    f = features.extract(_geometry(px_per_cm=2.0), windows=None, progress=False)
    assert f.attrs["space_unit"] == "cm"
    assert f.attrs["px_per_cm"] == 2.0
    at = f.isel(individual=0)
    np.testing.assert_allclose(at.sel(feature="dist:tail_base~nose"), 2.5)  # 3-4-5 px
    np.testing.assert_allclose(at.sel(feature="dist:tail_base~neck"), 1.5)
    np.testing.assert_allclose(at.sel(feature="angle:nose~neck~tail_base"), 90.0)
    np.testing.assert_allclose(at.sel(feature="hull_area"), 12.0 / 4.0, rtol=1e-6)  # cm^2
    np.testing.assert_allclose(at.sel(feature="body_length"), (4 + 3) / 2.0)
    # 3 px per frame at 10 fps = 30 px/s = 15 cm/s, every keypoint, no acceleration
    np.testing.assert_allclose(at.sel(feature="speed:nose"), 15.0, rtol=1e-6)
    np.testing.assert_allclose(at.sel(feature="speed:centroid"), 15.0, rtol=1e-6)
    np.testing.assert_allclose(at.sel(feature="accel:corner"), 0.0, atol=1e-5)
    np.testing.assert_allclose(at.sel(feature="heading_change"), 0.0, atol=1e-5)
    np.testing.assert_array_equal(at.sel(feature="missing:nose"), 0.0)
    assert "conf:nose" not in f.feature  # the source had no confidence
    assert f.feature_unit.sel(feature="speed:nose").item() == "cm/s"


def test_uncalibrated_data_stay_in_pixels():
    f = features.extract(_geometry(), windows=None, progress=False)
    assert f.attrs["space_unit"] == "pixels"
    assert f.attrs["speed_unit"] == "px/s"
    np.testing.assert_allclose(f.sel(feature="dist:tail_base~nose"), 5.0)
    np.testing.assert_allclose(f.sel(feature="hull_area"), 12.0)
    np.testing.assert_allclose(f.sel(feature="speed:neck"), 30.0, rtol=1e-6)


def test_hull_area_of_a_square_ignores_inner_and_missing_points():
    pos = np.zeros((3, 2, 5, 1))
    pos[:, :, :4, 0] = np.array([[0.0, 2.0, 2.0, 0.0], [0.0, 0.0, 2.0, 2.0]])
    pos[:, :, 4, 0] = [1.0, 1.0]  # inside the square
    pos[1, :, 4, 0] = np.nan
    pos[2, :, 0:2, 0] = np.nan  # two corners missing: a triangle of three points remains
    ds = bh.from_numpy(pos, keypoint_names=["a", "b", "c", "d", "e"], fps=10)
    f = features.extract(ds, sets="pose", windows=None, progress=False)
    np.testing.assert_allclose(f.sel(feature="hull_area").values[:, 0], [4.0, 4.0, 1.0])


def test_heading_change_of_a_turning_animal():
    t = np.arange(40) / 20.0  # 20 fps, turning at 90 deg/s
    theta = np.radians(90.0) * t
    pos = np.zeros((40, 2, 2, 1))
    pos[:, 0, 1, 0] = np.cos(theta)
    pos[:, 1, 1, 0] = np.sin(theta)
    ds = bh.from_numpy(pos, keypoint_names=["tail_base", "nose"], fps=20)
    f = features.extract(ds, sets="kinematics", windows=None, progress=False)
    np.testing.assert_allclose(f.sel(feature="heading_change").values[1:-1, 0], 90.0, rtol=1e-6)
    assert f.feature_unit.sel(feature="heading_change").item() == "deg/s"


def test_social_features_are_taken_against_the_nearest_other_animal():
    # three animals on the x axis, each two keypoints: b sits near a, then near c
    n = 4
    pos = np.zeros((n, 2, 2, 3))
    x = {0: 0.0, 1: 10.0, 2: 30.0}
    for i, x0 in x.items():
        pos[:, 0, 0, i] = x0 + 1.0  # nose
        pos[:, 0, 1, i] = x0  # tail base
    pos[2:, 0, :, 1] += 15.0  # b moves to x = 25: now nearest to c
    ds = bh.from_numpy(
        pos, keypoint_names=["nose", "tail_base"], individual_names=["a", "b", "c"], fps=10
    )
    f = features.extract(ds, sets="social", windows=None, progress=False)
    d = f.sel(feature="social:centroid_distance").values
    np.testing.assert_allclose(d[0], [10.0, 10.0, 20.0])
    np.testing.assert_allclose(d[3], [25.0, 5.0, 5.0])
    rel = bh.social.relations(ds)
    np.testing.assert_allclose(d, rel.centroid_distance.min("other").values, rtol=1e-6)


def test_three_dimensional_distances_and_angles():
    pos = np.zeros((4, 3, 3, 1))
    pos[:, :, 1, 0] = [1.0, 2.0, 2.0]  # 3 away from the first keypoint
    pos[:, :, 2, 0] = [0.0, 0.0, 5.0]  # along z: cos = (2 * 5) / (3 * 5) at the first one
    ds = bh.from_numpy(pos, keypoint_names=["neck", "nose", "tail_base"], fps=10)
    angles = [("nose", "neck", "tail_base")]
    f = features.extract(ds, sets="pose", windows=None, angles=angles, progress=False)
    np.testing.assert_allclose(f.sel(feature="dist:neck~nose"), 3.0)
    np.testing.assert_allclose(
        f.sel(feature="angle:nose~neck~tail_base"), np.degrees(np.arccos(2 / 3)), rtol=1e-6
    )
    assert f.attrs["windows"] == []


def test_without_a_frame_rate_speeds_are_per_frame_and_windows_in_frames():
    ds = bh.from_numpy(_geometry().position.values, keypoint_names=["a", "b", "c", "d"])
    with pytest.raises(PoseDataError, match="windows: '0.1 s' is a duration.*fps"):
        features.extract(ds, progress=False)
    f = features.extract(ds, windows=[2, "3 frames"], stats=["mean"], progress=False)
    assert f.attrs["speed_unit"] == "px/frame"
    assert f.attrs["windows"] == ["2f", "3f"]
    np.testing.assert_allclose(f.sel(feature="speed:a"), 3.0, rtol=1e-6)
    assert "speed:centroid|mean@3f" in f.feature


# ---- NaN policy --------------------------------------------------------------------------


def test_an_invalid_frame_rate_is_refused_not_ignored():
    ds = _geometry().assign_attrs(fps=-10.0)
    with pytest.raises(PoseDataError, match=r"attrs\['fps'\]"):
        features.extract(ds, windows=None, progress=False)


def test_nan_only_where_the_input_is_missing(session):
    ds = session.copy(deep=True)
    ds.position[100, :, 0, 0] = np.nan  # the nose of mouse_0 in frame 100
    f = features.extract(ds, progress=False).isel(individual=0)
    row = f.isel(time=100)
    assert np.isnan(row.sel(feature="dist:nose~tail_base"))
    assert np.isfinite(row.sel(feature="dist:neck~tail_base"))
    assert row.sel(feature="missing:nose") == 1.0
    assert np.isfinite(row.sel(feature="speed:centroid|mean@0.5s"))
    assert np.isfinite(row.sel(feature="angle:nose~neck~tail_base|mean@0.1s"))
    # the window statistic ignores the missing frame instead of poisoning the window
    raw = f.sel(feature="angle:nose~neck~tail_base").values[99:102].astype(float)
    got = row.sel(feature="angle:nose~neck~tail_base|mean@0.1s").item()
    np.testing.assert_allclose(got, np.nanmean(raw), rtol=1e-5)
    assert f.sel(feature="missing:nose").notnull().all()


# ---- window statistics -------------------------------------------------------------------


def _pandas_reference(x, width, centered, stat):
    roll = pd.Series(x).rolling(width, center=centered, min_periods=1)
    if stat == "std":
        return roll.std(ddof=0).to_numpy()
    return getattr(roll, stat)().to_numpy()


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.just(float("nan"))),
        min_size=1,
        max_size=80,
    ),
    widths=st.lists(st.integers(1, 25), min_size=1, max_size=3, unique=True),
    centered=st.booleans(),
)
def test_window_stats_match_pandas_rolling(values, widths, centered):
    x = np.array(values)
    stats = ["mean", "std", "min", "max", "sum", "median"]
    # prefix sums: the std of a window carries an error of about sqrt(eps) * scale
    scale = max(1.0, float(np.nanmax(np.abs(x), initial=0.0)))
    got = features.window_stats(x, windows=widths, stats=stats, centered=centered)
    assert got.shape == (x.size, len(widths), len(stats))
    for w, width in enumerate(widths):
        for k, stat in enumerate(stats):
            ref = _pandas_reference(x, width, centered, stat)
            np.testing.assert_array_equal(np.isnan(got[:, w, k]), np.isnan(ref))
            atol = 1e-6 * scale if stat == "std" else 1e-9 * scale * width
            np.testing.assert_allclose(got[:, w, k], ref, rtol=1e-9, atol=atol, err_msg=stat)


def test_window_stats_in_seconds_and_on_feature_arrays():
    x = np.arange(20.0).reshape(10, 2)
    da = xr.DataArray(
        x, dims=("time", "feature"), coords={"feature": ["a", "b"]}, attrs={"fps": 10.0}
    )
    out = features.window_stats(da, windows=["0.3 s"], stats=["sum"], centered=False)
    assert out.feature.values.tolist() == ["a|sum@0.3s", "b|sum@0.3s"]
    np.testing.assert_allclose(out.values[:, 0], _pandas_reference(x[:, 0], 3, False, "sum"))
    plain = features.window_stats(x[:, 0], windows=[0.2], stats=["max"], fps=10.0)
    np.testing.assert_allclose(plain[:, 0, 0], _pandas_reference(x[:, 0], 2, True, "max"))


def test_causal_windows_do_not_see_the_future(session):
    f1 = features.extract(session, sets="kinematics", centered=False, progress=False)
    later = session.copy(deep=True)
    later.position[300:] = later.position[300:] + 50.0
    f2 = features.extract(later, sets="kinematics", centered=False, progress=False)
    # causal window statistics of frames well before the change are untouched
    np.testing.assert_array_equal(f1.values[:290], f2.values[:290])
    centred = features.extract(later, sets="kinematics", progress=False)
    base = features.extract(session, sets="kinematics", progress=False)
    assert not np.array_equal(centred.values[280:290], base.values[280:290])


# ---- feature sets ------------------------------------------------------------------------


def test_single_individual_has_no_social_features():
    ds, _ = bh.simulate.session(duration="5 s", n_individuals=1, seed=1)
    f = features.extract(ds, progress=False)
    assert "social" not in f.attrs["feature_sets"]
    assert not any(str(n).startswith("social:") for n in f.feature.values)
    assert f.sizes["individual"] == 1
    with pytest.raises(PoseDataError, match="sets.*social.*at least 2 individuals"):
        features.extract(ds, sets="social", progress=False)


def test_a_registered_feature_set_is_used_without_editing_the_library(session):
    def nose_x(ds, context):
        """x of the nose in cm."""
        return {
            "nose_x": context.point("nose")[:, 0],
            "nose_y": features.Feature(context.point("nose")[:, 1], "cm", windowed=False),
        }

    features.register_feature_set("nose_xy", nose_x, needs=("nose",), windowed=("nose_x",))
    try:
        assert "nose_xy" in features.feature_sets()
        assert features.feature_sets()["nose_xy"].description == "x of the nose in cm."
        f = features.extract(session, sets=["pose", "nose_xy"], windows=["1 s"], progress=False)
        names = list(f.feature.values)
        assert "nose_x|mean@1s" in names and "nose_y" in names
        assert not any(n.startswith("nose_y|") for n in names)
        expected = session.position.sel(keypoint="nose", space="x") / session.attrs["px_per_cm"]
        np.testing.assert_allclose(
            f.sel(feature="nose_x").values, expected.values.astype(np.float32), rtol=1e-6
        )
        assert f.feature_set.sel(feature="nose_x").item() == "nose_xy"
        with pytest.raises(PoseDataError, match="already registered"):
            features.register_feature_set("nose_xy", nose_x)
        with pytest.raises(PoseDataError, match="reserved"):
            features.register_feature_set("pose", nose_x)
    finally:
        features.unregister_feature_set("nose_xy")
    assert "nose_xy" not in features.feature_sets()


def test_a_feature_set_object_and_its_errors(session):
    def bad(ds, context):
        return {"wrong": np.zeros(3)}

    with pytest.raises(PoseDataError, match="'wrong' of set 'bad' has shape"):
        features.extract(session, sets=features.FeatureSet("bad", bad), progress=False)

    def clash(ds, context):
        return {"body_length": np.zeros((context.n_time, context.n_individuals))}

    with pytest.raises(PoseDataError, match="'body_length' comes from both"):
        features.extract(
            session, sets=["pose", features.FeatureSet("clash", clash)], progress=False
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sets": "postures"}, "sets: unknown feature set 'postures'"),
        ({"windows": ["0.01 s"]}, "windows: '0.01 s' is shorter than one frame"),
        ({"windows": ["half a second"]}, "windows: expected a duration"),
        ({"stats": ["mean", "mode"]}, "stats: unknown statistic 'mode'"),
        ({"keypoints": ["nose", "tail"]}, "keypoints: expected keypoints of the dataset"),
        ({"sets": "zones"}, "sets: feature set 'zones' needs zones"),
        ({"angles": [("nose", "neck")]}, "angles: expected"),
    ],
)
def test_bad_arguments_raise_errors_naming_them(session, kwargs, match):
    with pytest.raises(PoseDataError, match=match):
        features.extract(session.isel(time=slice(0, 30)), progress=False, **kwargs)


def test_extra_dims_and_missing_position_are_refused(session):
    with pytest.raises(PoseDataError, match="extra dims"):
        features.extract(session.expand_dims(ensemble=2), progress=False)
    with pytest.raises(PoseDataError, match="position"):
        features.extract(session.drop_vars("position"), progress=False)


# ---- zones and keypoints -----------------------------------------------------------------


def test_zone_features_agree_with_roi(session):
    x0, y0, x1, y1 = session.attrs["arena_px"]
    centre = Rectangle(x0 + 180, y0 + 180, x1 - 180, y1 - 180, name="centre")  # pixels
    corner = Circle((x0, y0), 240.0, name="corner")
    f = features.extract(
        session, zones=[centre, corner], windows=["1 s"], stats=["mean"], progress=False
    )
    assert "zones" in f.attrs["feature_sets"]
    inside = f.sel(feature="zone:centre")
    cm = bh.kinematics.calibrate(session)
    ref = bh.roi.in_zone(cm, centre.in_units_of(cm), keypoint=list(BODY8))
    np.testing.assert_array_equal(inside.values, ref.transpose("time", "individual").values)
    dist = f.sel(feature="zone_distance:centre").values
    assert (dist[inside.values == 1] <= 0).all() and (dist[inside.values == 0] >= 0).all()
    assert "zone:corner|mean@1s" in f.feature
    assert f.feature_unit.sel(feature="zone_distance:corner").item() == "cm"


def test_keypoint_subset_limits_per_keypoint_features(session):
    f = features.extract(
        session, sets=["pose", "quality"], keypoints=["nose", "neck", "tail_base"], progress=False
    )
    dists = [n for n in f.feature.values if str(n).startswith("dist:")]
    assert dists == ["dist:nose~neck", "dist:nose~tail_base", "dist:neck~tail_base"]
    assert f.attrs["keypoints"] == ["nose", "neck", "tail_base"]
    assert "missing:left_ear" not in f.feature


# ---- a real file -------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_multi_animal_deeplabcut_file(shared_data):
    path = shared_data / "amadeus" / "examples" / "MABe" / "EGS8X2MN4SSUGFWAV976.h5"
    ds = bh.load_poses(path, fps=30)
    f = features.extract(ds, progress=False)
    assert f.sizes == {"time": 1800, "feature": f.sizes["feature"], "individual": 3}
    assert f.attrs["space_unit"] == "pixels"  # the file records no calibration
    names = [str(n) for n in f.feature.values]
    assert not any(ind in n for n in names for ind in ("mouse1", "mouse2", "mouse3"))
    assert "social:nose_to_tail_base" in names and "dist:nose~tail base" in names
    assert not any(n.startswith("conf:") for n in names)  # no likelihood in this file
    # keypoint roles come from the MABe names ("tail base", "left ear")
    roles = json.loads(f.attrs["keypoint_roles"])
    assert roles["tail_base"] == "tail base" and roles["left_ear"] == "left ear"
    # per-frame distances equal a direct computation on the file
    pos = ds.position.sel(individual="mouse2")
    direct = np.hypot(*(pos.sel(keypoint="nose") - pos.sel(keypoint="tail base")).values.T)
    np.testing.assert_allclose(
        f.sel(feature="dist:nose~tail base", individual="mouse2").values, direct, rtol=1e-6
    )
    seen = ~np.isnan(ds.position.values).any(axis=(1, 2, 3))  # every animal fully seen
    assert seen.sum() > 100
    assert np.isfinite(f.sel(feature="social:centroid_distance").values[seen]).all()


def test_extract_refuses_a_repeated_time_coordinate():
    ds, _ = bh.simulate.session(duration="2 s", seed=0)
    t = ds.time.values.copy()
    t[10] = t[9]
    with pytest.raises(PoseDataError, match="time coordinate: expected strictly increasing"):
        features.extract(ds.assign_coords(time=t), progress=False)


def test_infinite_positions_are_refused_by_name_not_carried_into_features():
    # issue 15: inf positions from a hand-built dataset used to reach ~100 features
    rng = np.random.default_rng(0)
    position = rng.normal(100, 5, (300, 2, 3, 1))
    position[10, 0, 1, 0] = np.inf
    ds = bh.from_numpy(position, fps=30)
    with pytest.raises(PoseDataError, match="1 infinite value"):
        bh.features.extract(ds, progress=False)
    with pytest.raises(PoseDataError, match="infinite"):
        bh.kinematics.speed(ds.position)
    finite = ds.assign(position=ds.position.where(np.isfinite(ds.position)))
    values = bh.features.extract(finite, progress=False).values
    assert not np.isinf(values).any()
