"""Tests for the social and zone presets of behavior/events.py: approach, the contacts,
following, huddling, head_dip and zone_visits, on hand-built tracks and on the real
elevated-plus-maze file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import behavior as bh
from behavior import events, roi
from behavior.events import RuleError

FPS = 30.0
PX_PER_CM = 10.0
KEYPOINTS = ["nose", "left_ear", "right_ear", "body_center", "tail_base"]
EPM_CSV = "dlcanalyzer_epm/data/EPM/Output_DLC/EPM_15DeepCut_resnet50_epmMay17shuffle1_1030000.csv"


def _mouse(center, heading) -> np.ndarray:
    """(time, space, keypoint) of a 8 cm mouse in cm: nose 4 cm ahead, tail base 4 cm behind."""
    center = np.asarray(center, dtype=float)
    heading = np.broadcast_to(np.asarray(heading, dtype=float), center.shape[:1])
    u = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    parts = [center + 4 * u, center + 2.5 * u + 0.8 * v, center + 2.5 * u - 0.8 * v, center]
    parts.append(center - 4 * u)
    return np.stack(parts, axis=2)


def _still(x, y, heading, n) -> tuple[np.ndarray, float]:
    return np.tile([x, y], (n, 1)).astype(float), heading


def _walk(start, velocity, n) -> tuple[np.ndarray, float]:
    t = np.arange(n)[:, None] / FPS
    return np.asarray(start, float) + t * np.asarray(velocity, float), float(
        np.arctan2(velocity[1], velocity[0])
    )


def _pixels(*mice, fps: float = FPS):
    """An uncalibrated dataset (pixels, PX_PER_CM) of mice given as (centres, heading)."""
    pos = np.stack([_mouse(c, h) for c, h in mice], axis=3) * PX_PER_CM
    names = [chr(ord("A") + k) for k in range(len(mice))]
    return bh.from_numpy(pos, keypoint_names=KEYPOINTS, individual_names=names, fps=fps)


def _cm(*mice):
    return bh.kinematics.calibrate(_pixels(*mice), px_per_cm=PX_PER_CM)


def _pairs(table: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(table.individual, table.other, strict=True))


# ---- approach ----------------------------------------------------------------------------


def test_approach_fires_for_the_mover_only():
    n = 60
    a = _walk([0.0, 0.0], [15.0, 0.0], n)  # nose from 4 to ~33 cm, towards B at x = 40
    b = _still(40.0, 0.0, np.pi / 2, n)  # B stands across A's path
    found = events.approach(_cm(a, b))
    assert _pairs(found) == {("A", "B")}
    assert set(found.behavior) == {"approach"}
    # from when the closest points come within 20 cm (A's nose at 19.2 cm, t ~ 1.0 s) on
    assert found.start.iloc[0] == pytest.approx(1.0, abs=0.1)
    assert found.stop.iloc[0] == pytest.approx(2.0, abs=0.1)


def test_approach_does_not_fire_when_moving_away_or_too_slow():
    n = 60
    away = _walk([0.0, 0.0], [-15.0, 0.0], n)
    assert events.approach(_cm(away, _still(20.0, 0.0, np.pi / 2, n))).empty
    slow = _walk([0.0, 0.0], [3.0, 0.0], n)  # closing at 3 cm/s < 5 cm/s
    assert events.approach(_cm(slow, _still(20.0, 0.0, np.pi / 2, n))).empty
    # overriding the thresholds (text, Quantity or bare numbers in cm/s) lets it through
    found = events.approach(
        _cm(slow, _still(20.0, 0.0, np.pi / 2, n)), min_approach_speed=2, min_speed="2 cm/s"
    )
    assert _pairs(found) == {("A", "B")}


# ---- contacts ----------------------------------------------------------------------------


def _face_to_face(gap_cm: float, n: int = 30):
    # noses at x = -gap/2 and +gap/2
    return _still(-4.0 - gap_cm / 2, 0.0, 0.0, n), _still(4.0 + gap_cm / 2, 0.0, np.pi, n)


def test_nose_to_nose_contact():
    found = events.nose_to_nose_contact(_cm(*_face_to_face(1.0)))
    assert _pairs(found) == {("A", "B"), ("B", "A")}
    assert (found.n_frames == 30).all()
    assert events.nose_to_nose_contact(_cm(*_face_to_face(3.0))).empty
    wide = events.nose_to_nose_contact(_cm(*_face_to_face(3.0)), max_distance="4 cm")
    assert _pairs(wide) == {("A", "B"), ("B", "A")}
    # a contact shorter than min_duration is dropped; overriding min_duration keeps it
    short = _cm(*_face_to_face(1.0, n=5))
    assert events.nose_to_nose_contact(short).empty
    assert len(events.nose_to_nose_contact(short, min_duration=3, smoothing=None)) == 2


def test_nose_to_body_contact_is_directed():
    n = 30
    a = _still(0.0, 0.0, 0.0, n)  # nose at (4, 0)
    b = _still(5.0, 0.0, np.pi / 2, n)  # flank of B: its body centre at (5, 0)
    found = events.nose_to_body_contact(_cm(a, b))
    assert _pairs(found) == {("A", "B")}
    assert events.nose_to_nose_contact(_cm(a, b)).empty
    far = _still(9.0, 0.0, np.pi / 2, n)
    assert events.nose_to_body_contact(_cm(a, far)).empty


def test_nose_to_anogenital_contact_is_directed():
    n = 30
    a = _still(0.0, 0.0, 0.0, n)  # nose at (4, 0)
    b = _still(9.0, 0.0, 0.0, n)  # tail base at (5, 0), facing away from A
    found = events.nose_to_anogenital_contact(_cm(a, b))
    assert _pairs(found) == {("A", "B")}
    assert events.nose_to_anogenital_contact(_cm(a, _still(12.0, 0.0, 0.0, n))).empty


def test_side_by_side_needs_parallel_bodies_level_heads():
    n = 30
    a = _still(0.0, 0.0, 0.0, n)
    parallel = _still(0.0, 2.5, 0.0, n)  # ears 0.9 cm apart, noses 2.5 cm apart
    assert _pairs(events.side_by_side(_cm(a, parallel))) == {("A", "B"), ("B", "A")}
    opposite = _still(0.0, 2.5, np.pi, n)  # head to tail: relative angle 180 deg
    assert events.side_by_side(_cm(a, opposite)).empty
    # head to tail also has the noses 8.4 cm and the flanks 2.3 cm apart: all three
    # thresholds must be relaxed (bare numbers are in deg and cm)
    assert events.side_by_side(_cm(a, opposite), max_angle="181 deg").empty
    loose = events.side_by_side(
        _cm(a, opposite), max_angle=181, max_nose_distance=9, max_distance=3
    )
    assert _pairs(loose) == {("A", "B"), ("B", "A")}
    in_line = _still(9.0, 0.0, 0.0, n)  # nose to tail, parallel but noses 9 cm apart
    assert events.side_by_side(_cm(a, in_line)).empty


# ---- following and huddling --------------------------------------------------------------


def test_following_on_the_leaders_path():
    n = 120
    leader = _walk([10.0, 0.0], [10.0, 0.0], n)
    follower = _walk([1.0, 0.0], [10.0, 0.0], n)  # nose 1 cm behind the leader's tail base
    found = events.following(_cm(follower, leader))
    assert _pairs(found) == {("A", "B")}
    assert found.duration.sum() > 2.0
    beside = _walk([1.0, 6.0], [10.0, 0.0], n)  # same speed, 6 cm to the side: not on the path
    assert events.following(_cm(beside, leader)).empty
    # a follow_tolerance of 7 cm covers the offset path; given in cm on pixel data too
    loose = events.following(
        _pixels(beside, leader), follow_tolerance="7 cm", max_distance=15, px_per_cm=PX_PER_CM
    )
    assert _pairs(loose) == {("A", "B")}


def test_huddling_needs_contact_and_rest():
    n = 120
    a = _still(0.0, 0.0, 0.0, n)
    touching = _still(0.0, 2.0, 0.0, n)  # ears 0.4 cm apart
    found = events.huddling(_cm(a, touching))
    assert _pairs(found) == {("A", "B"), ("B", "A")}
    assert (found.n_frames == n).all()
    assert events.huddling(_cm(a, _still(0.0, 10.0, 0.0, n))).empty
    walking = (_walk([0.0, 0.0], [10.0, 0.0], n), _walk([0.0, 2.0], [10.0, 0.0], n))
    assert events.huddling(_cm(*walking)).empty
    assert not events.huddling(_cm(*walking), max_speed="20 cm/s").empty
    # 4 s of rest in contact is not enough when 5 s are asked for
    assert events.huddling(_cm(a, touching), min_duration="5 s", window="5 s").empty


# ---- calibration and overrides -----------------------------------------------------------


def _maze_cm():
    pts = {
        "tl": (40, 0), "tr": (45, 0), "bl": (40, 85), "br": (45, 85),
        "lt": (0, 40), "lb": (0, 45), "rt": (85, 40), "rb": (85, 45),
        "ctl": (40, 40), "ctr": (45, 40), "cbl": (40, 45), "cbr": (45, 45),
    }  # fmt: skip
    return roi.elevated_plus_maze(pts, unit="cm", include_maze=True)


_NEEDS = {"head_dip": {"maze": _maze_cm()}, "zone_visits": {"zones": _maze_cm()}}


NEW_PRESETS = [
    "approach",
    "nose_to_nose_contact",
    "nose_to_body_contact",
    "nose_to_anogenital_contact",
    "side_by_side",
    "following",
    "huddling",
    "head_dip",
    "zone_visits",
]


@pytest.mark.parametrize("name", NEW_PRESETS)
def test_every_preset_needs_calibration(name):
    n = 30
    ds = _pixels(*_face_to_face(1.0, n))
    with pytest.raises(RuleError, match=rf"{name}:.*pixels.*px_per_cm"):
        events.PRESETS.get(name)(ds, **_NEEDS.get(name, {}))


@pytest.mark.parametrize(
    "name", ["nose_to_nose_contact", "nose_to_body_contact", "side_by_side", "huddling"]
)
def test_px_per_cm_argument_equals_calibrating_first(name):
    a, b = _face_to_face(1.0, 90)
    fn = events.PRESETS.get(name)
    given = fn(_pixels(a, b), px_per_cm=PX_PER_CM)
    calibrated = fn(_cm(a, b))
    pd.testing.assert_frame_equal(given, calibrated)


def test_new_presets_are_registered_and_their_tables_convert_to_ethograms():
    for name in NEW_PRESETS:
        assert events.PRESETS.get(name) is getattr(events, name)
        doc = events.PRESETS.get(name).__doc__
        assert "Definition" in doc and "Source:" in doc and "Examples" in doc
    ds = _cm(*_face_to_face(1.0))
    table = events.nose_to_nose_contact(ds)
    etho = bh.Ethogram.from_bouts(table, ds, behaviors=["nose_to_nose_contact"])
    assert type(etho).__name__ == "Ethogram"


def test_presets_registry_lists_every_preset():
    names = ["chase", "watching", "freezing", *NEW_PRESETS]
    assert events.PRESETS.names() == names
    assert list(events.PRESETS.table()["name"]) == names
    # the three contacts come from one factory and keep their own names and docs
    for name in ("nose_to_nose_contact", "nose_to_body_contact", "nose_to_anogenital_contact"):
        fn = events.PRESETS.get(name)
        assert fn.__name__ == name and f'behavior="{name}"' in fn.__doc__


def test_outside_by_counts_only_points_beyond_the_margin():
    square = roi.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], unit="cm")
    points = np.array([[5.0, 2.0], [4.2, 2.0], [2.0, 2.0], [np.nan, 1.0]])
    assert roi.outside_by(square, points, 0.5).tolist() == [True, False, False, False]
    assert roi.outside_by(square, points, 0.0).tolist() == [True, True, False, False]


def test_threshold_in_the_wrong_unit_is_refused():
    with pytest.raises(RuleError, match="nose_to_nose: cannot convert s to cm"):
        events.nose_to_nose_contact(_cm(*_face_to_face(1.0)), max_distance="3 s")


# ---- head dips and zones on a hand-built maze --------------------------------------------


def _on_maze(nose, body, n=30):
    """One animal in cm with a nose and a body centre held still."""
    pos = np.zeros((n, 2, 2, 1))
    pos[:, :, 0, 0] = nose
    pos[:, :, 1, 0] = body
    return bh.from_numpy(pos, keypoint_names=["nose", "bodycentre"], fps=FPS, space_unit="cm")


def test_head_dip_over_an_open_arm():
    maze = _maze_cm()  # open arms left/right (y 40..45), closed arms top/bottom
    dip = _on_maze(nose=(20.0, 38.0), body=(20.0, 42.0))  # nose 2 cm over the edge
    found = events.head_dip(dip, maze)
    assert found[["start_frame", "stop_frame"]].values.tolist() == [[0, 30]]
    assert set(found.other) == {""} and set(found.behavior) == {"head_dip"}
    edge = _on_maze(nose=(20.0, 39.7), body=(20.0, 42.0))  # 0.3 cm out: tracking jitter
    assert events.head_dip(edge, maze).empty
    assert len(events.head_dip(edge, maze, min_outside="0.1 cm")) == 1
    closed_arm = _on_maze(nose=(38.0, 20.0), body=(42.0, 20.0))  # body on a closed arm
    assert events.head_dip(closed_arm, maze).empty
    assert len(events.head_dip(closed_arm, maze, arms=["closed_arm_1"])) == 1
    with pytest.raises(RuleError, match="maze"):
        events.head_dip(dip, {k: v for k, v in maze.items() if k != "maze"})


def test_zone_visits_named_after_zones():
    maze = _maze_cm()
    n = 60
    pos = np.zeros((n, 2, 1, 1))
    pos[:30, :, 0, 0] = (20.0, 42.0)  # left (open) arm
    pos[30:, :, 0, 0] = (42.0, 42.0)  # centre
    pos[35, :, 0, 0] = np.nan  # one missing frame: a gap shorter than merge_gap
    ds = bh.from_numpy(pos, keypoint_names=["bodycentre"], fps=FPS, space_unit="cm")
    found = events.zone_visits(ds, maze)
    rows = found[["behavior", "start_frame", "stop_frame"]].values.tolist()
    assert rows == [["maze", 0, 60], ["open_arm_1", 0, 30], ["center", 30, 60]]
    strict = events.zone_visits(ds, maze["center"], merge_gap=0, min_duration=0)
    assert strict[["start_frame", "stop_frame"]].values.tolist() == [[30, 35], [36, 60]]


# ---- the real plus-maze file (DLCAnalyzer EPM_15, 25 fps) --------------------------------


@pytest.fixture(scope="module")
def epm(shared_data):
    ds = bh.load_poses(shared_data / EPM_CSV, fps=25)
    # arms about 5.5 cm wide and 55 px across: about 10 px per cm
    return ds, bh.kinematics.calibrate(ds, px_per_cm=10.0)


def test_head_dips_on_the_real_plus_maze(epm):
    ds, cal = epm
    found = events.head_dip(cal)
    assert 3 <= len(found) <= 30  # about 9 dips in 38 s on the open arms
    assert (found.duration >= 0.2).all() and found.duration.sum() < 20
    assert (found.start >= 12.0).all()  # the mouse is placed on the maze after ~12 s
    # the same with the pixel data and px_per_cm, and with pixel zones on cm data
    pd.testing.assert_frame_equal(events.head_dip(ds, px_per_cm=10.0), found)
    maze_px = roi.elevated_plus_maze(ds, include_maze=True)
    pd.testing.assert_frame_equal(events.head_dip(cal, maze_px), found)
    # a wider margin can only remove dip frames
    wide = events.head_dip(cal, min_outside="3 cm")
    assert wide.n_frames.sum() < found.n_frames.sum()


def test_zone_bouts_on_the_real_plus_maze(epm):
    _, cal = epm
    maze = roi.elevated_plus_maze(cal)
    found = events.zone_visits(cal, maze, keypoint="bodycentre")
    time = found.groupby("behavior").duration.sum()
    open_s = time.get("open_arm_1", 0.0) + time.get("open_arm_2", 0.0)
    closed_s = time.get("closed_arm_1", 0.0) + time.get("closed_arm_2", 0.0)
    assert open_s > closed_s  # this mouse stays on the open arms
    assert 10.0 < time.sum() <= 962 / 25  # on the maze for the ~26 s after it is placed
    # default keypoint: the body-centre role, not the centroid of maze landmarks
    pd.testing.assert_frame_equal(events.zone_visits(cal, maze), found)
    # no frame in two zones
    mask = np.zeros((cal.sizes["time"],), dtype=int)
    for row in found.itertuples():
        mask[row.start_frame : row.stop_frame] += 1
    assert mask.max() == 1


# ---- issue 15: thresholds that make no sense are refused ------------------------------------


@pytest.mark.parametrize(
    ("preset", "kwargs", "match"),
    [
        (events.freezing, {"max_speed": "-1 cm/s"}, "max_speed: expected a threshold >= 0"),
        (events.freezing, {"max_speed": -1.0}, "max_speed"),
        (events.freezing, {"max_speed": float("nan")}, "max_speed: expected a finite"),
        (events.freezing, {"max_angular_speed": "-12 deg/s"}, "max_angular_speed"),
        (events.chase, {"max_distance": "-5 cm"}, "max_distance"),
        (events.chase, {"min_speed": float("inf")}, "min_speed"),
    ],
)
def test_negative_or_non_finite_thresholds_are_refused(preset, kwargs, match):
    ds, _ = bh.simulate.session(duration="5 s", seed=0)
    with pytest.raises(RuleError, match=match):
        preset(ds, **kwargs)


def test_approach_speed_may_be_negative():
    ds, _ = bh.simulate.session(duration="5 s", seed=0)
    assert isinstance(events.approach(ds, min_approach_speed="-1 cm/s"), pd.DataFrame)
