"""Tests for behavior/events/rules.py (the rule parser, unit conversion, rule_mask,
detect) and the chase/watching/freezing presets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior import events
from behavior.bouts import mask_from_bouts
from behavior.events import RuleError, parse_rule, q, rule_mask
from behavior.units import cm, deg, s


def _frames(table: pd.DataFrame) -> list[list[int]]:
    return table[["start_frame", "stop_frame"]].values.tolist()


# ---- the parser ------------------------------------------------------------------------


def test_parser_precedence_and_forms():
    assert str(parse_rule("speed > 1 cm/s or speed < 2 cm/s and not following")) == (
        "(speed > 1 cm/s) or ((speed < 2 cm/s) and (not (following)))"
    )
    assert str(parse_rule("(speed > 1 cm/s or following) and gaze_offset < 15 deg")) == (
        "((speed > 1 cm/s) or (following)) and (gaze_offset < 15 deg)"
    )
    chained = str(parse_rule("5 cm < closest_distance < 20 cm"))
    between = str(parse_rule("closest_distance between 5 cm and 20 cm"))
    assert chained == "(closest_distance > 5 cm) and (closest_distance < 20 cm)"
    assert between == "(closest_distance >= 5 cm) and (closest_distance <= 20 cm)"
    assert str(parse_rule("speed > 0.15 m/s")) == "speed > 15 cm/s"
    # the Python form builds the same rule as the text
    py = (q.speed > 15 * cm / s) & (q.relative_angle < 30 * deg)
    assert str(py) == str(parse_rule("speed > 15 cm/s and relative_angle < 30 deg"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("sped > 1 cm/s", r"unknown quantity 'sped'.*closest_distance"),
        ("speed > 1 furlong/s", r"unknown unit 'furlong'.*cm"),
        ("__import__('os')", r"cannot read"),
        ("speed > ", r"expected a quantity name or a number"),
        ("(speed > 1 cm/s", r"expected '\)'"),
        ("speed > 1 cm/s speed", r"'and', 'or'"),
        ("1 cm < 2 cm", r"needs a quantity name"),
    ],
)
def test_parser_errors(text, match):
    with pytest.raises(RuleError, match=match):
        parse_rule(text)


def test_python_rule_errors():
    with pytest.raises(RuleError, match="unknown quantity 'nope'"):
        _ = q.nope
    with pytest.raises(RuleError, match="no truth value"):
        bool(q.speed > 1 * cm / s)


# ---- units and calibration --------------------------------------------------------------


def _still_pair(n=60, fps=30.0, unit="pixels", px_per_cm=None):
    """Two still 3-keypoint animals 10 px apart along x."""
    pos = np.zeros((n, 2, 3, 2))
    pos[:, 0, :, 0] = [[10, 5, 0]]
    pos[:, 0, :, 1] = [[30, 25, 20]]
    ds = bh.from_numpy(
        pos, individual_names=["a", "b"], keypoint_names=["nose", "body_center", "tail_base"],
        fps=fps, space_unit=unit,
    )  # fmt: skip
    if px_per_cm:
        ds.attrs["px_per_cm"] = px_per_cm
    return ds


def test_rule_in_cm_on_pixels_needs_calibration():
    ds = _still_pair()
    with pytest.raises(RuleError, match="calibration"):
        rule_mask(ds, "closest_distance < 5 cm")
    with pytest.raises(RuleError, match="calibration"):
        events.chase(ds)
    # pixel thresholds need none; cm thresholds convert through px_per_cm
    assert rule_mask(ds, "closest_distance < 11 px").values[:, 0, 1].all()
    assert not rule_mask(ds, "closest_distance < 9 px").values.any()
    assert rule_mask(ds, "closest_distance < 1.1 cm", px_per_cm=10).values[:, 0, 1].all()
    assert not rule_mask(ds, "closest_distance < 0.9 cm", px_per_cm=10).values.any()
    assert rule_mask(_still_pair(px_per_cm=10), "closest_distance < 11 mm").values[:, 1, 0].all()
    with pytest.raises(RuleError, match="give the threshold"):
        rule_mask(ds, "closest_distance < 5")
    with pytest.raises(RuleError, match="cannot convert"):
        rule_mask(ds, "closest_distance < 5 deg")


def test_rule_mask_shapes_and_diagonal():
    ds = _still_pair(px_per_cm=10)
    single = rule_mask(ds, "speed < 1 cm/s")
    assert single.dims == ("time", "individual") and single.values.all()
    pair = rule_mask(ds, "speed < 1 cm/s and closest_distance < 2 cm")
    assert pair.dims == ("time", "individual", "other")
    assert not pair.values[:, 0, 0].any() and pair.values[:, 0, 1].all()
    # other_speed broadcasts the partner's speed; NaN makes a comparison unknown -> False
    ds2 = ds.copy(deep=True)
    ds2.position[10:20, :, :, 1] = np.nan
    m = rule_mask(ds2, "other_speed < 1 cm/s")
    assert not m.values[12, 0, 1] and m.values[40, 0, 1]
    assert rule_mask(ds2, "not other_speed < 1 cm/s").values[12, 0, 1] == False  # noqa: E712


def test_detect_returns_a_table_that_converts_to_an_ethogram():
    ds = _still_pair(px_per_cm=10)
    table = events.detect(ds, "speed < 1 cm/s", behavior="still")
    assert _frames(table) == [[0, 60], [0, 60]] and set(table.behavior) == {"still"}
    near = events.detect(ds, "closest_distance < 2 cm", behavior="near")
    eth = bh.Ethogram.from_bouts(near, ds, behaviors=["near"])
    assert eth.behaviors == ["near"] and eth.labels.values.all()


# ---- presets on simulated sessions and on BehaviorDEPOT demo1 ----------------------------


TRUTH = {"chase": "chase", "watching": "watch", "freezing": "freeze"}


def _frame_f1(ds, truth, name):
    # the reference: where the definition holds on the noise-free positions
    found = events.PRESETS.get(name)(ds)
    like = truth.labels
    reference = truth.events[truth.events.behavior == TRUTH[name]]
    assert len(reference) > 0
    ref = mask_from_bouts(reference.assign(other=""), like).values
    got = mask_from_bouts(found.assign(other=""), like).values
    tp = (ref & got).sum()
    return 2 * tp / max(1, ref.sum() + got.sum())


@pytest.fixture(scope="module")
def sessions():
    return [bh.simulate.session(duration="5 min", seed=seed) for seed in (0, 1)]


@pytest.mark.parametrize(("name", "floor"), [("chase", 0.9), ("watching", 0.93), ("freezing", 0.9)])
def test_presets_on_simulated_sessions(sessions, name, floor):
    # The targets of issue 4 are frame F1 >= 0.95 against the definitions on the
    # noise-free positions; on these two 5-min sessions the presets reach chase
    # 0.94/0.99, watching 0.97/0.99, freezing 0.92/0.95 (benchmarks/bench_events.py
    # has the figures over twelve 10-min sessions). These floors guard against
    # regressions.
    for ds, truth in sessions:
        assert _frame_f1(ds, truth, name) >= floor


def test_chase_reports_the_chaser(sessions):
    ds, truth = sessions[0]
    found = events.chase(ds)
    ref = truth.bouts[truth.bouts.behavior == "chase"]
    assert len(found) and set(zip(found.individual, found.other)) <= set(
        zip(ref.individual, ref.other)
    )


def test_freezing_on_behaviordepot_demo1(shared_data):
    folder = shared_data / "behaviordepot_freezing" / "demo" / "demo1"
    ds = bh.load_poses(folder / "demo1_tracking.csv", fps=50)
    human = pd.read_csv(folder / "demo1_human_freezing_perframe.csv")["freezing_human"]
    found = events.freezing(ds, px_per_cm=32)
    like = xr.DataArray(np.zeros((ds.sizes["time"], 1)), dims=("time", "individual"),
                        coords={"individual": ds.individual.values})  # fmt: skip
    got = mask_from_bouts(found, like).values[:, 0]
    agreement = float((got == human.to_numpy().astype(bool)).mean())
    # BehaviorDEPOT's own classifier: 95.4 %; the preset (its speed and turning
    # conditions and the window test, parameters not fitted to this file) reaches
    # 96.45 %
    assert agreement >= 0.954


def test_max_gap_fills_a_lost_keypoint_before_the_rule():
    ds = _still_pair(n=90, px_per_cm=10)
    ds.position.values[40:44, :, :, 0] = np.nan  # "a" lost for 4 frames
    # the speed of "a" is unknown there: the still bout splits in two
    split = events.detect(ds, "speed < 1 cm/s", min_duration=0, merge_gap=0, behavior="still")
    assert _frames(split[split.individual == "a"]) == [[0, 39], [45, 90]]
    filled = events.detect(ds, "speed < 1 cm/s", min_duration=0, merge_gap=0, max_gap="0.2 s")
    assert _frames(filled[filled.individual == "a"]) == [[0, 90]]
    # a gap longer than max_gap stays a gap
    ds.position.values[40:60, :, :, 0] = np.nan
    kept = events.detect(ds, "speed < 1 cm/s", min_duration=0, merge_gap=0, max_gap="0.2 s")
    assert len(kept[kept.individual == "a"]) == 2


def test_freezing_joins_bouts_split_by_a_brief_movement_only():
    ds = _still_pair(n=150, px_per_cm=10)
    # "a" twitches for 5 frames (1/6 s) in the middle of a 5 s freeze
    ds.position.values[70:75, 0, :, 0] += np.arange(1, 6)[:, None] * 2.0
    kw = dict(smoothing=None, max_angular_speed=None, max_gap=None, join_gap="0.5 s")
    joined = events.freezing(ds, **kw)
    assert _frames(joined[joined.individual == "a"]) == [[0, 150]]
    apart = events.freezing(ds, **{**kw, "join_gap": None})
    assert len(apart[apart.individual == "a"]) == 2
    # still moments shorter than min_duration never add up to a freeze
    moving = _still_pair(n=150, px_per_cm=10)
    moving.position.values[::20, 0, :, 0] += 5.0  # a jump every 2/3 s
    assert events.freezing(moving, **kw).query("individual == 'a'").empty


def _rigid_animal(n, speed, turn, noise, rng, fps=30.0):
    """One animal of 6 keypoints moving at ``speed`` px/frame and turning ``turn`` rad/frame."""
    shape = rng.uniform(-20, 20, size=(6, 2))
    shape -= shape.mean(0)  # turning about the centroid of all keypoints
    t = np.arange(n)
    angle = turn * t
    rot = np.stack([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    xy = np.einsum("ijt,kj->tik", rot, shape)  # (time, space, keypoint)
    xy[:, 0, :] += 100.0 + speed * t[:, None]
    xy[:, 1, :] += 50.0
    xy += rng.normal(0, noise, size=xy.shape)
    names = ["nose", "left_ear", "right_ear", "body_center", "tail_base", "tail_tip"]
    return bh.from_numpy(xy[..., None], keypoint_names=names, fps=fps, space_unit="pixels")


@settings(max_examples=25, deadline=None)
@given(
    speed=st.floats(0, 20),
    turn=st.floats(-0.2, 0.2),
    seed=st.integers(0, 2**16),
    lost=st.lists(st.integers(0, 5), max_size=3),
)
def test_rigid_motion_recovers_translation_and_rotation(speed, turn, seed, lost):
    rng = np.random.default_rng(seed)
    ds = _rigid_animal(40, speed, turn, 0.0, rng)
    # keypoints lost for a while (not all at once) change nothing for a rigid motion
    for k in set(lost[:2]):
        ds.position.values[10:25, :, k, 0] = np.nan
    found_speed, found_turning = bh.kinematics.rigid_motion(ds.position)
    assert found_speed.dims == found_turning.dims == ("time", "individual")
    v, w = found_speed.values, found_turning.values
    assert np.allclose(w[:, 0], turn * 30.0, atol=1e-6)
    # while points are lost the centroid of the rest turns about the full one
    whole = np.r_[0:9, 26:40] if lost else np.arange(40)
    assert np.allclose(v[whole, 0], speed * 30.0, atol=1e-6 * (1 + speed))
    if turn == 0:
        assert np.allclose(v[:, 0], speed * 30.0, atol=1e-6 * (1 + speed))


def test_rotation_speed_is_a_quantity_and_ignores_lost_keypoints():
    rng = np.random.default_rng(0)
    ds = _rigid_animal(90, 0.0, 0.0, 0.2, rng).assign_attrs(px_per_cm=10.0)
    ds.position.values[30:60, :, 1, 0] = np.nan  # an ear lost for 1 s: longer than max_gap
    kw = dict(min_duration=0, merge_gap=0, smoothing="0.3 s", max_gap="0.2 s")
    # the centroid of the tracked points jumps where the ear drops out; the speed of
    # the points tracked in both frames does not
    still = events.detect(ds, "speed < 1 cm/s and rotation_speed < 12 deg/s", **kw)
    assert _frames(still) == [[0, 90]]
    assert events.freezing(ds).pipe(_frames) == [[0, 90]]
    # a turning animal is not frozen whichever turning quantity is used
    turning = _rigid_animal(90, 0.0, np.radians(1.0), 0.2, rng).assign_attrs(px_per_cm=10.0)
    for name in ("rotation_speed", "angular_speed"):
        assert events.freezing(turning, turning_name=name).empty
    with pytest.raises(RuleError, match="turning_name: expected one of"):
        events.freezing(ds, turning_name="speed")


@pytest.mark.parametrize(
    ("keypoint", "motion"),
    [
        (0, lambda t: 20.0 * t / 30),  # the nose drifts at 2 cm/s (head scanning)
        (5, lambda t: 30.0 * np.abs((t / 30) % 1.0 - 0.5)),  # tail tip swings at 3 cm/s
        (5, lambda t: 5.0 * np.sin(np.pi * t / 30)),  # slow tail wag, 0.5 cm
    ],
)
def test_freezing_window_test_sees_one_keypoint_moving(keypoint, motion):
    rng = np.random.default_rng(1)
    ds = _rigid_animal(120, 0.0, 0.0, 0.5, rng).assign_attrs(px_per_cm=10.0)
    ds.position.values[:, 1, keypoint, 0] += motion(np.arange(120))
    # the smoothed body-as-a-whole conditions take the animal for frozen ...
    assert not events.freezing(ds, window_test=False).empty
    # ... the window test sees that a keypoint moves
    assert events.freezing(ds).empty


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_freezing_window_test_lets_tracking_noise_pass(seed):
    # a still animal tracked with 1 px noise (0.1 cm at 10 px/cm) and a keypoint
    # lost for half a second: the window test removes nothing from the freezes
    rng = np.random.default_rng(seed)
    ds = _rigid_animal(150, 0.0, 0.0, 1.0, rng).assign_attrs(px_per_cm=10.0)
    ds.position.values[60:75, :, 2, 0] = np.nan
    assert _frames(events.freezing(ds)) == _frames(events.freezing(ds, window_test=False))
    assert sum(b - a for a, b in _frames(events.freezing(ds))) > 90


def test_freezing_window_test_arguments_are_checked():
    ds = _still_pair(n=60, px_per_cm=10)
    with pytest.raises(RuleError, match="n_blocks"):
        events.freezing(ds, n_blocks=1)
    with pytest.raises(RuleError, match="n_se"):
        events.freezing(ds, n_se=-1.0)


def test_head_angular_speed_is_a_rule_quantity():
    ds, _ = bh.simulate.session(duration="10 s", seed=3)
    mask = rule_mask(ds, "head_angular_speed < 30 deg/s")
    assert mask.dims == ("time", "individual") and 0 < mask.values.mean() < 1


def test_zones_are_quantities_in_text_rules():
    from behavior import roi

    pos = np.zeros((20, 2, 1, 1))
    pos[:, 0, 0, 0] = np.arange(20.0)  # walks along x at 1 cm per frame
    ds = bh.from_numpy(pos, keypoint_names=["bodycentre"], fps=10, space_unit="cm")
    left = roi.Rectangle(-1, -1, 5, 1, name="left", unit="cm")
    right = roi.Rectangle(14, -1, 30, 1, name="right", unit="cm")
    zones = [left, right]
    kw = dict(zones=zones, min_duration=0, merge_gap=0)
    assert _frames(events.detect(ds, "in_left", **kw)) == [[0, 5]]
    assert _frames(events.detect(ds, "in_zone", **kw)) == [[0, 5], [14, 20]]
    assert _frames(events.detect(ds, "in_right and speed > 5 cm/s", **kw)) == [[14, 20]]
    assert _frames(events.detect(ds, "not in_zone", **kw)) == [[5, 14]]
    # the same zones in pixels convert through the calibration
    px = roi.Rectangle(-10, -10, 50, 10, name="left", unit="pixels")
    calibrated = ds.assign_attrs(px_per_cm=10.0)
    assert _frames(events.detect(calibrated, "in_left", zones=px, min_duration=0)) == [[0, 5]]
    with pytest.raises(RuleError, match="in_left, in_right"):
        rule_mask(ds, "in_middle", zones=zones)
    with pytest.raises(RuleError, match="needs zones"):
        rule_mask(ds, "in_zone")
    with pytest.raises(RuleError, match="zones: expected"):
        rule_mask(ds, "in_zone", zones="left")


# ---- issue 15: long and deep rules ----------------------------------------------------------


def test_four_hundred_and_clauses_parse_print_and_evaluate():
    ds, _ = bh.simulate.session(duration="5 s", seed=0)
    clauses = [f"speed > {k / 100:g} cm/s" for k in range(400)]
    rule = parse_rule(" and ".join(clauses))
    assert str(rule).count(" and ") == 399
    built = q.speed > 0 * cm / s
    for k in range(1, 400):
        built = built & (q.speed > (k / 100) * cm / s)
    mask = rule_mask(ds, rule)
    np.testing.assert_array_equal(mask.values, rule_mask(ds, "speed > 3.99 cm/s").values)
    np.testing.assert_array_equal(mask.values, rule_mask(ds, built).values)
    assert isinstance(events.detect(ds, " or ".join(clauses), min_duration=0), pd.DataFrame)


def test_flat_chains_keep_kleene_logic():
    ds, _ = bh.simulate.session(duration="5 s", seed=0)
    for text in ["speed > 2 cm/s and closest_distance < 20 cm and not following",
                 "speed > 30 cm/s or closest_distance < 3 cm or following"]:  # fmt: skip
        a, b, c = (parse_rule(part) for part in text.replace(" or ", " and ").split(" and "))
        nested = (a & b) & c if " and " in text else (a | b) | c
        right = a & (b & c) if " and " in text else a | (b | c)
        for other in (nested, right):
            np.testing.assert_array_equal(rule_mask(ds, text).values, rule_mask(ds, other).values)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 300 + "speed > 1 cm/s" + ")" * 300,
        "not " * 300 + "following",
        "(" * 5000,
        "~" * 2000 + "following",
    ],
)
def test_absurd_nesting_is_a_rule_error_not_a_recursion_error(text):
    with pytest.raises(RuleError, match="nested"):
        parse_rule(text)


def test_nesting_built_in_python_is_bounded_too():
    rule = q.speed > 1 * cm / s
    with pytest.raises(RuleError, match="nested"):
        for _ in range(1000):
            rule = ~rule
    deep = parse_rule("(" * 50 + "speed > 1 cm/s" + ")" * 50)  # reasonable nesting still reads
    assert "speed > 1 cm/s" in str(deep)
