"""The dyad feature set, the change statistic, fill_gaps and head/tail inference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.features import extract, infer_keypoint_roles, window_stats

KPS = ["nose", "body_center", "tail_base"]


def _animal(center: np.ndarray, heading: np.ndarray, half: float = 1.0) -> np.ndarray:
    """(time, 2, 3) nose, centre and tail base of an animal on the heading (radians)."""
    u = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    return np.stack([center + half * u, center, center - half * u], axis=2)


def _pair(a: np.ndarray, b: np.ndarray, fps: float = 30.0, names=KPS):
    return bh.from_numpy(
        np.stack([a, b], axis=3), fps=fps, keypoint_names=names, individual_names=["p", "q"]
    )


def _dyad(ds, **kw):
    kw.setdefault("windows", None)
    return extract(ds, sets="dyad", progress=False, **kw)


def _value(f, name, individual=0):
    return f.sel(feature=name).values[:, individual]


def test_other_ahead_is_in_front_and_to_the_left_is_positive_side():
    n = 20
    heading = np.full(n, 0.7)
    me = _animal(np.zeros((n, 2)), heading)
    u = np.array([np.cos(0.7), np.sin(0.7)])
    left = np.array([-u[1], u[0]])
    d = 5.0
    ahead = _animal(np.tile(d * u, (n, 1)), np.full(n, 2.0))
    f = _dyad(_pair(me, ahead))
    np.testing.assert_allclose(_value(f, "dyad:other_centre_front"), d, atol=1e-5)
    np.testing.assert_allclose(_value(f, "dyad:other_centre_side"), 0.0, atol=1e-5)
    np.testing.assert_allclose(_value(f, "dyad:other_body_center_front"), d, atol=1e-5)
    np.testing.assert_allclose(_value(f, "dyad:bearing_cos"), 1.0, atol=1e-6)
    np.testing.assert_allclose(_value(f, "dyad:centre_distance"), d, atol=1e-5)
    np.testing.assert_allclose(_value(f, "dyad:relative_heading_cos"), np.cos(2.0 - 0.7), atol=1e-6)
    np.testing.assert_allclose(_value(f, "dyad:relative_heading_sin"), np.sin(2.0 - 0.7), atol=1e-6)
    aside = _animal(np.tile(d * left, (n, 1)), np.zeros(n))
    f = _dyad(_pair(me, aside))
    np.testing.assert_allclose(_value(f, "dyad:other_centre_front"), 0.0, atol=1e-5)
    np.testing.assert_allclose(_value(f, "dyad:other_centre_side"), d, atol=1e-5)
    np.testing.assert_allclose(_value(f, "dyad:bearing_sin"), 1.0, atol=1e-6)
    # my own posture: nose 1 ahead, tail base 1 behind; body length 2
    np.testing.assert_allclose(_value(f, "dyad:nose_front"), 1.0, atol=1e-6)
    np.testing.assert_allclose(_value(f, "dyad:tail_base_front"), -1.0, atol=1e-6)
    np.testing.assert_allclose(_value(f, "dyad:body_length"), 2.0, atol=1e-6)
    # nearest pair: my nose to its nose
    dist = np.hypot(*(d * left + 1.0 * np.array([1.0, 0.0]) - u))
    np.testing.assert_allclose(_value(f, "dyad:dist:nose~nose"), dist, atol=1e-5)


def test_motion_features_on_an_approach():
    n, fps = 60, 30.0
    t = np.arange(n) / fps
    me = _animal(np.zeros((n, 2)), np.zeros(n))
    # the other walks straight at me from 10 cm ahead at 3 units/s
    other_center = np.stack([10.0 - 3.0 * t, np.zeros(n)], axis=1)
    f = _dyad(_pair(me, _animal(other_center, np.full(n, np.pi))))
    inner = slice(1, -1)
    np.testing.assert_allclose(_value(f, "dyad:closing_speed")[inner], -3.0, atol=1e-4)
    np.testing.assert_allclose(_value(f, "dyad:relative_velocity_front")[inner], -3.0, atol=1e-4)
    np.testing.assert_allclose(_value(f, "dyad:relative_speed")[inner], 3.0, atol=1e-4)
    np.testing.assert_allclose(_value(f, "dyad:other_centre_speed")[inner], 3.0, atol=1e-4)
    np.testing.assert_allclose(_value(f, "dyad:velocity_front")[inner], 0.0, atol=1e-6)
    np.testing.assert_allclose(_value(f, "dyad:relative_heading_cos"), -1.0, atol=1e-6)
    # from the other's side I am ahead of it, closing at the same speed
    np.testing.assert_allclose(_value(f, "dyad:other_centre_front", 1), 10.0 - 3.0 * t, atol=1e-4)
    np.testing.assert_allclose(_value(f, "dyad:closing_speed", 1)[inner], -3.0, atol=1e-4)
    np.testing.assert_allclose(_value(f, "dyad:velocity_front", 1)[inner], 3.0, atol=1e-4)


def _walk(seed: int, n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    heading = np.cumsum(rng.normal(0, 0.2, n))
    center = np.cumsum(rng.normal(0, 0.5, (n, 2)), axis=0)
    return _animal(center, heading, half=1.5)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    angle=st.floats(-np.pi, np.pi),
    shift=st.tuples(st.floats(-500, 500), st.floats(-500, 500)),
)
def test_dyad_features_do_not_change_under_rotation_and_translation(seed, angle, shift):
    a, b = _walk(seed), _walk(seed + 1)
    b = b + np.array([4.0, 0.0])[None, :, None]
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    off = np.array(shift)[None, :, None]

    def moved(x):
        return np.einsum("ij,tjk->tik", rot, x) + off

    f = _dyad(_pair(a, b), windows=["0.1 s"], stats=["mean", "change"])
    g = _dyad(_pair(moved(a), moved(b)), windows=["0.1 s"], stats=["mean", "change"])
    assert list(f.feature.values) == list(g.feature.values)
    np.testing.assert_allclose(g.values, f.values, atol=2e-3, rtol=1e-3)


def test_swapping_the_animals_swaps_the_views():
    a, b = _walk(1), _walk(2) + np.array([3.0, 1.0])[None, :, None]
    f = _dyad(_pair(a, b))
    g = _dyad(_pair(b, a))
    np.testing.assert_array_equal(g.values, f.values[:, :, ::-1])
    # my keypoint to its keypoint is its keypoint to mine from the other side
    np.testing.assert_allclose(
        _value(f, "dyad:dist:nose~tail_base", 0), _value(f, "dyad:dist:tail_base~nose", 1)
    )
    np.testing.assert_allclose(
        _value(f, "dyad:other_accel", 0), _value(f, "dyad:accel", 1), atol=1e-6
    )


def test_dyad_windowed_features_and_units():
    f = _dyad(_pair(_walk(3), _walk(4)), windows=["0.5 s"], stats=["mean"])
    names = set(f.feature.values.tolist())
    assert "dyad:centre_distance|mean@0.5s" in names
    assert "dyad:dist:nose~nose|mean@0.5s" in names
    assert "dyad:other_nose_front|mean@0.5s" in names
    assert "dyad:dist:nose~tail_base|mean@0.5s" not in names
    assert "dyad:bearing_cos|mean@0.5s" not in names
    unit = dict(zip(f.feature.values.tolist(), f.feature_unit.values.tolist()))
    assert unit["dyad:centre_distance"] == "pixels"
    assert unit["dyad:relative_speed"] == "px/s"
    assert unit["dyad:turn_speed"] == "deg/s"
    assert unit["dyad:bearing_cos"] == "1"


def test_dyad_is_not_in_default_and_needs_two_animals():
    ds = _pair(_walk(5), _walk(6))
    assert "dyad" in bh.features.BUILTIN_SETS
    f = extract(ds, windows=None, progress=False)
    assert not any(str(n).startswith("dyad:") for n in f.feature.values)
    one = bh.from_numpy(_walk(5), fps=30, keypoint_names=KPS)
    with pytest.raises(bh.PoseDataError, match="individuals"):
        extract(one, sets="dyad", progress=False)


def test_change_statistic_on_known_series():
    x = np.array([0.0, 0.0, 0.0, 6.0, 6.0, 6.0])
    centred = window_stats(x, windows=[3], stats=["change"])[:, 0, 0]
    np.testing.assert_allclose(centred, [0.0, 2.0, 4.0, 4.0, 2.0, 0.0])
    causal = window_stats(x, windows=[2], stats=["change"], centered=False)[:, 0, 0]
    np.testing.assert_allclose(causal, [np.nan, np.nan, 0.0, 3.0, 6.0, 3.0])
    ramp = np.arange(50.0)
    # a ramp of slope 1: the mean of w frames from t on less that of w frames up to t is w - 1
    inner = window_stats(ramp, windows=[7], stats=["change"])[7:-7, 0, 0]
    np.testing.assert_allclose(inner, 6.0)
    gap = np.array([1.0, np.nan, np.nan, np.nan, np.nan, 5.0])
    found = window_stats(gap, windows=[2], stats=["change"])[:, 0, 0]
    assert np.isnan(found[1:5]).all()  # a side without a valid value
    assert found[0] == 0.0 and found[5] == 0.0  # [1, nan] less [1]; [5] less [nan, 5]


def test_change_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    x[rng.random(200) < 0.2] = np.nan
    w = 5
    got = window_stats(x, windows=[w], stats=["change"])[:, 0, 0]
    for t in range(len(x)):
        after = x[t : t + w]
        before = x[max(0, t - w + 1) : t + 1]
        if np.isnan(after).all() or np.isnan(before).all():
            assert np.isnan(got[t])
        else:
            assert got[t] == pytest.approx(np.nanmean(after) - np.nanmean(before))


def test_fill_gaps_leaves_present_positions_untouched(small_poses):
    kw = dict(sets=["pose", "quality"], windows=None, progress=False)
    raw = extract(small_poses, **kw)
    filled = extract(small_poses, fill_gaps="linear", **kw)
    dist = "dist:nose~neck"
    present = ~np.isnan(raw.sel(feature=dist).values)
    np.testing.assert_array_equal(
        filled.sel(feature=dist).values[present], raw.sel(feature=dist).values[present]
    )
    assert np.isnan(raw.sel(feature=dist).values[5, 0])
    assert np.isfinite(filled.sel(feature=dist).values[5, 0])
    missing = [n for n in raw.feature.values if str(n).startswith("missing:")]
    np.testing.assert_array_equal(
        filled.sel(feature=missing).values, raw.sel(feature=missing).values
    )
    assert filled.sel(feature="missing:neck").values[5, 0] == 1.0
    assert filled.attrs["fill_gaps"] == "linear" and raw.attrs["fill_gaps"] == "none"
    with pytest.raises(bh.PoseDataError, match="fill_gaps"):
        extract(small_poses, fill_gaps="spline", **kw)


def test_head_and_tail_are_inferred_from_motion_on_simulated_data():
    ds, _ = bh.simulate.session(duration="60 s", seed=1)
    names = [str(k) for k in ds.keypoint.values]
    plain = [f"p{j}" for j in range(len(names))][::-1]  # meaningless, and reversed
    renamed = ds.assign_coords(keypoint=plain)
    roles, inferred = infer_keypoint_roles(renamed)
    assert set(inferred) >= {"nose", "tail_base"}
    assert roles.nose == plain[names.index("nose")]
    # the tail base lies behind the body centre (on the simulated skeleton, whose
    # side points break the chain, it may be a hip rather than the tail base)
    behind = [plain[names.index(k)] for k in names if "tail" in k or "hip" in k]
    assert roles.tail_base in behind
    # named roles are never overridden
    same, none = infer_keypoint_roles(ds)
    assert none == () and same.nose == "nose"


def test_no_inference_when_the_animals_do_not_move():
    n = 50
    still = _animal(np.zeros((n, 2)), np.zeros(n))
    ds = _pair(still, still + 5.0, names=["a", "b", "c"])
    roles, inferred = infer_keypoint_roles(ds)
    assert inferred == () and roles.nose is None


@pytest.fixture(scope="module")
def rat_session(shared_data):
    path = sorted((shared_data / "rat_social_dev" / "dlc_csv").glob("1DLC*.csv"))
    if not path:
        pytest.skip("rat_social_dev session 1 not found in ../shared/data")
    return bh.load_poses(path[0], fps=30)


def test_rat_head_and_tail_do_not_depend_on_keypoint_names(rat_session):
    names = [str(k) for k in rat_session.keypoint.values]
    assert names == ["top", "body", "tail", "tail-m", "tail-e"]
    roles, inferred = infer_keypoint_roles(rat_session)
    assert (roles.nose, roles.tail_base, roles.body_center) == ("top", "tail", "body")
    assert inferred == ("nose", "tail_base", "body_center")
    plain = ["q", "w", "e", "r", "t"]
    renamed = rat_session.assign_coords(keypoint=plain)
    found, _ = infer_keypoint_roles(renamed)
    assert (found.nose, found.tail_base, found.body_center) == ("q", "e", "w")


def test_rat_session_extract_with_the_dyad_options(rat_session, caplog):
    windows = ("0.5 s", "1 s", "2 s", "4 s", "8 s")
    stats = ("mean", "std", "min", "max", "change")
    with caplog.at_level("INFO", logger="behavior.features"):
        f = extract(
            rat_session,
            sets=("pose", "kinematics", "dyad", "quality"),
            windows=windows,
            stats=stats,
            fill_gaps="linear",
            progress=False,
        )
    assert "inferred from the data" in caplog.text
    record = json.loads(f.attrs["keypoint_roles"])
    assert record["inferred"] == ["nose", "tail_base", "body_center"]
    assert record["nose"] == "top" and record["tail_base"] == "tail"
    names = [str(n) for n in f.feature.values]
    base = [n for n in names if n.startswith("dyad:") and "|" not in n]
    assert sum(n.startswith("dyad:dist:") for n in base) == 25
    windowed = {n.split("|")[0] for n in names if n.startswith("dyad:") and "|" in n}
    assert len(windowed) == 23
    assert sum(n.startswith("dyad:") and "|" in n for n in names) == 23 * 25
    centre = f.sel(feature="dyad:centre_distance").values
    assert np.isfinite(centre).mean() > 0.95  # gaps are filled
    # the raw data miss about 31 % of the points, and missing:* still says so
    assert 0.2 < float(f.sel(feature="missing:fraction").values.mean()) < 0.45
    # distances in pixels stay in a plausible range for rats in this arena
    assert 0 < np.nanmedian(centre) < 2000
