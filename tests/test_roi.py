"""Tests of behavior.roi: zones, point-in-polygon, occupancy, entries, layouts, GeoJSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior import roi
from behavior.errors import FileFormatError, PoseDataError

EPM_CSV = "dlcanalyzer_epm/data/EPM/Output_DLC/EPM_15DeepCut_resnet50_epmMay17shuffle1_1030000.csv"


def track(xy, fps=10.0, **kw):
    """A one-keypoint dataset from an (time, 2) or (time, 2, individual) array."""
    xy = np.asarray(xy, dtype=float)
    if xy.ndim == 2:
        xy = xy[:, :, None]
    return bh.from_numpy(xy[:, :, None, :], fps=fps, **kw)


def walk_x(xs, y=1.0, fps=10.0):
    xs = np.asarray(xs, dtype=float)
    return track(np.stack([xs, np.full_like(xs, y)], axis=1), fps=fps)


BOX = roi.Rectangle(0, 0, 2, 2, name="box")


# --------------------------------------------------------------------------------------
# Point in polygon
# --------------------------------------------------------------------------------------


def test_square_interior_exterior_and_half_open_boundary():
    square = roi.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], name="sq")
    pts = [(2, 2), (5, 2), (-1, 2), (2, -1), (2, 5), (0, 2), (4, 2), (2, 0), (2, 4), (0, 0), (4, 4)]
    expected = [True, False, False, False, False, True, False, True, False, True, False]
    assert square.contains(pts).tolist() == expected
    # The rectangle with the same corners follows the same rule, point for point.
    rect = roi.Rectangle(0, 0, 4, 4)
    assert rect.contains(pts).tolist() == expected
    # Reversing the vertex order does not change membership.
    assert square.__class__(square.vertices[::-1]).contains(pts).tolist() == expected


def test_concave_polygon():
    # A "U": a 6x6 square with a notch x in [2, 4], y in [0, 4] cut from the top.
    u = roi.Polygon([(0, 0), (2, 0), (2, 4), (4, 4), (4, 0), (6, 0), (6, 6), (0, 6)])
    pts = [(1, 1), (3, 1), (5, 1), (3, 5), (3, 3.9), (3, 4.1), (7, 1)]
    assert u.contains(pts).tolist() == [True, False, True, True, False, True, False]
    assert u.area == 36 - 8


def test_circle_closed_disc_and_nan():
    c = roi.Circle((10, 10), 5)
    pts = [(10, 10), (13, 14), (13, 14.01), (15, 10), (np.nan, 10), (10, np.inf)]
    assert c.contains(pts).tolist() == [True, True, False, True, False, False]


def test_polygon_with_hole_and_many_vertex_path_agree():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-2, 2, size=(20_000, 2))
    pts[::97] = np.nan
    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    radius = 1 + 0.3 * np.sin(5 * angles)
    star = roi.Polygon(np.c_[radius * np.cos(angles), radius * np.sin(angles)])
    assert len(star._edge_table) >= roi._SORTED_FROM_EDGES  # the y-sorted path
    got = star.contains(pts)
    # Reference: the direct edge loop on the same edges.
    x, y = pts[:, 0].copy(), pts[:, 1].copy()
    ref = np.zeros(len(pts), bool)
    for x0, y0, y1, slope in star._edge_table:
        ref ^= (y >= y0) & (y < y1) & (x < x0 + (y - y0) * slope)
    assert np.array_equal(got, ref)
    assert not got[::97].any()
    # Polar check away from the border.
    r = np.hypot(x, y)
    rr = 1 + 0.3 * np.sin(5 * np.arctan2(y, x))
    far = np.abs(r - rr) > 0.05
    assert np.array_equal(got[far], (r < rr)[far])
    # A hole removes exactly its points.
    ring = roi.Polygon(star.vertices, holes=[[(-0.2, -0.2), (0.2, -0.2), (0.2, 0.2), (-0.2, 0.2)]])
    in_hole = roi.Rectangle(-0.2, -0.2, 0.2, 0.2).contains(pts)
    assert np.array_equal(ring.contains(pts), got & ~in_hole)


def test_contains_keeps_shape_and_checks_input():
    pts = np.zeros((3, 4, 2))
    assert BOX.contains(pts).shape == (3, 4)
    with pytest.raises(PoseDataError, match="last axis"):
        BOX.contains(np.zeros((3, 5)))
    with pytest.raises(PoseDataError, match="at least 3 distinct"):
        roi.Polygon([(0, 0), (1, 1), (0, 0)])
    with pytest.raises(PoseDataError, match="xmin < xmax"):
        roi.Rectangle(2, 0, 1, 1)
    with pytest.raises(PoseDataError, match="radius"):
        roi.Circle((0, 0), 0)


# --------------------------------------------------------------------------------------
# Measures on hand-built tracks
# --------------------------------------------------------------------------------------


def test_in_zone_nan_is_unknown_not_outside():
    ds = walk_x([1, 5, np.nan, 1, 1])
    inside = roi.in_zone(ds, BOX, keypoint="keypoint_0")
    assert inside.dims == ("time", "individual")
    np.testing.assert_array_equal(inside.values[:, 0], [1, 0, np.nan, 1, 1])
    assert roi.in_zone(ds, BOX, keypoint="keypoint_0", fill=False).values[:, 0].tolist() == [
        True,
        False,
        False,
        True,
        True,
    ]
    # Occupancy over known frames only: 3 of 4, not 3 of 5.
    assert float(roi.occupancy(ds, BOX, keypoint="keypoint_0")[0]) == 0.75
    assert float(roi.time_in_zone(ds, BOX, keypoint="keypoint_0")[0]) == pytest.approx(0.3)


def test_centroid_is_nan_aware_mean_of_keypoints():
    pos = np.zeros((3, 2, 2, 1))
    pos[:, :, 0, 0] = [[1, 1], [1, 1], [np.nan, np.nan]]  # keypoint a
    pos[:, :, 1, 0] = [[5, 1], [np.nan, 1], [np.nan, 1]]  # keypoint b (y only in frames 1-2)
    ds = bh.from_numpy(pos.transpose(0, 1, 2, 3), keypoint_names=["a", "b"], fps=1)
    # frame 0: mean (3, 1) -> outside; frame 1: only a -> inside; frame 2: none -> unknown
    got = roi.in_zone(ds, BOX).values[:, 0]
    np.testing.assert_array_equal(got, [0, 1, np.nan])
    with pytest.raises(PoseDataError, match="'nose' is not in the data"):
        roi.in_zone(ds, BOX, keypoint="nose")


def test_entries_exits_and_gap_bridging():
    #      0  1  2  3  4    5    6  7  8
    xs = [5, 1, 1, 5, np.nan, np.nan, 1, 1, 5]
    ds = walk_x(xs)
    table = roi.crossings(ds, BOX)
    assert table[["event", "frame"]].values.tolist() == [
        ["entry", 1],
        ["exit", 3],
        ["entry", 6],  # outside, gap, inside: one entry at the first known frame inside
        ["exit", 8],
    ]
    assert table["time"].tolist() == pytest.approx([0.1, 0.3, 0.6, 0.8])
    assert set(table.columns) >= {"individual", "zone", "event", "frame", "time"}
    assert table[table.event == "entry"]["frame"].tolist() == [1, 6]
    assert table[table.event == "exit"]["frame"].tolist() == [3, 8]
    # Starting inside is not an entry; the exit counts.
    start_in = roi.crossings(walk_x([1, 1, 5, 5]), BOX)
    assert start_in[["event", "frame"]].values.tolist() == [["exit", 2]]


def test_min_duration_ignores_flicker_at_the_border():
    # Out for 5 frames, then flicker in/out (1-frame runs), then in for 5 frames, out for 4.
    xs = [5] * 5 + [1, 5, 1, 5] + [1] * 5 + [5] * 4
    ds = walk_x(xs, fps=10)
    raw = roi.crossings(ds, BOX)
    assert raw[raw.event == "entry"]["frame"].tolist() == [5, 7, 9]
    for md in (3, "0.3 s", 0.3):
        table = roi.crossings(ds, BOX, min_duration=md)
        assert table[["event", "frame"]].values.tolist() == [["entry", 9], ["exit", 14]]
    # Latency: first frame in, or first stay lasting min_duration.
    assert float(roi.latency(ds, BOX)[0]) == pytest.approx(0.5)
    assert float(roi.latency(ds, BOX, min_duration=3)[0]) == pytest.approx(0.9)
    # A stay shorter than min_duration at the end is not an exit.
    ends = walk_x([5] * 4 + [1] * 4 + [5] * 2)
    assert roi.crossings(ends, BOX, min_duration=3)["event"].tolist() == ["entry"]


def test_latency_zero_when_starting_inside_and_nan_when_never():
    assert float(roi.latency(walk_x([1, 5]), BOX)[0]) == 0.0
    assert np.isnan(float(roi.latency(walk_x([5, 5]), BOX)[0]))
    # Latency is measured from the first frame of the recording even if it is missing.
    assert float(roi.latency(walk_x([np.nan, 5, 1], fps=2), BOX)[0]) == 1.0


def test_distance_in_zone_equals_hand_computed_path():
    zone = roi.Rectangle(0, 0, 10, 10)
    xy = np.array(
        [
            [1, 1],
            [4, 5],  # step 5 inside
            [4, 8],  # step 3 inside
            [12, 8],  # leaves: not counted
            [9, 8],  # re-enters: not counted
            [9, 2],  # step 6 inside
            [np.nan, np.nan],
            [5, 5],  # steps touching a missing frame: not counted
            [8, 9],  # step 5 (3-4-5)
        ]
    )
    ds = track(xy)
    got = float(roi.distance_in_zone(ds, zone, keypoint="keypoint_0")[0])
    assert got == pytest.approx(5 + 3 + 6 + 5)


def test_multiple_individuals_are_independent():
    a = np.stack([[5, 1, 1, 1], [1, 1, 1, 1]], axis=1)
    b = np.stack([[1, 1, 5, 5], [1, 1, 1, 1]], axis=1)
    ds = track(np.stack([a, b], axis=2), fps=1)
    occ = roi.occupancy(ds, BOX)
    assert occ.dims == ("individual",)
    assert occ.values.tolist() == [0.75, 0.5]
    table = roi.crossings(ds, BOX)
    assert table[["individual", "event", "frame"]].values.tolist() == [
        ["id_0", "entry", 1],
        ["id_1", "exit", 2],
    ]


# --------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------


def test_unit_mismatch_raises_naming_both_units():
    ds = walk_x([1, 5])
    cm_zone = roi.Rectangle(0, 0, 2, 2, name="box_cm", unit="cm")
    with pytest.raises(PoseDataError, match=r"'box_cm' is in 'cm'.*positions are in 'pixels'"):
        roi.in_zone(ds, cm_zone)
    with pytest.raises(PoseDataError, match="'cm'.*'pixels'"):
        roi.zone_summary(ds, [cm_zone])


def test_scale_and_calibrated_data():
    ds, _ = bh.simulate.session(duration="5 s", seed=3)
    zones_px = roi.open_field(ds.attrs["arena_px"])
    cal = bh.kinematics.calibrate(ds)
    with pytest.raises(PoseDataError, match="px_per_cm"):
        roi.in_zone(cal, zones_px["center"])
    ppc = ds.attrs["px_per_cm"]
    center_cm = zones_px["center"].scale(ppc)
    assert center_cm.unit == "cm"
    assert center_cm.bounds == pytest.approx(tuple(v / ppc for v in zones_px["center"].bounds))
    assert zones_px["center"].in_units_of(cal).bounds == pytest.approx(center_cm.bounds)
    a = roi.in_zone(ds, zones_px["periphery"]).values
    b = roi.in_zone(cal, zones_px["periphery"].in_units_of(cal)).values
    assert np.nanmean(np.abs(a - b)) < 1e-3  # identical up to rounding at the border
    with pytest.raises(PoseDataError, match="already in 'cm'"):
        center_cm.scale(ppc)


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


def _random_polygon(rng: np.random.Generator, n: int) -> roi.Polygon:
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(20, 60, n)
    return roi.Polygon(np.c_[100 + radii * np.cos(angles), 100 + radii * np.sin(angles)], "p")


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    dx=st.floats(-500, 500, allow_nan=False),
    dy=st.floats(-500, 500, allow_nan=False),
    kind=st.sampled_from(["polygon", "circle", "rectangle"]),
)
def test_translating_zone_and_track_together_changes_nothing(seed, dx, dy, kind):
    rng = np.random.default_rng(seed)
    n = 300
    steps = rng.normal(0, 8, size=(n, 2, 2)).cumsum(axis=0) + 100
    steps[rng.random((n, 2)) < 0.05] = np.nan
    steps = steps.transpose(0, 2, 1)  # (time, space, individual)
    zone = {
        "polygon": _random_polygon(rng, int(rng.integers(3, 12))),
        "circle": roi.Circle((100, 100), float(rng.uniform(10, 50)), "c"),
        "rectangle": roi.Rectangle(80, 70, 130, 120, "r"),
    }[kind]
    ds = track(steps)
    moved = track(steps + np.array([dx, dy])[None, :, None])
    zone2 = zone.translate(dx, dy)
    s1 = roi.zone_summary(ds, [zone], min_duration=2)
    s2 = roi.zone_summary(moved, [zone2], min_duration=2)
    for col in ("time_s", "fraction", "entries", "exits", "latency_s"):
        np.testing.assert_array_equal(s1[col].to_numpy(), s2[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(s1["distance"], s2["distance"], rtol=1e-9, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), frac=st.floats(0.1, 0.9), tilted=st.booleans())
def test_center_and_periphery_partition_the_arena(seed, frac, tilted):
    rng = np.random.default_rng(seed)
    if tilted:
        corners = np.array([[10, 12], [95, 5], [100, 90], [3, 97]]) + rng.normal(0, 2, (4, 2))
        arena = roi.Polygon(corners, "arena")
        given_as = rng.permutation(corners)  # corner points in any order
    else:
        arena = given_as = roi.Rectangle(0, 0, 100, 80, name="arena")
    zones = roi.open_field(given_as, center_fraction=frac)
    pts = rng.uniform(-10, 110, size=(2000, 2))
    # Include points exactly on the centre's edges and corners.
    pts[:4] = zones["center"].vertices
    pts[4:8] = 0.5 * (zones["center"].vertices + np.roll(zones["center"].vertices, 1, axis=0))
    c, p, a = (zones["center"].contains(pts), zones["periphery"].contains(pts), arena.contains(pts))
    assert not (c & p).any()
    assert np.array_equal(c | p, a)
    corners_in = np.zeros(len(pts), bool)
    for name in (
        "corner_top_left",
        "corner_top_right",
        "corner_bottom_right",
        "corner_bottom_left",
    ):
        inside = zones[name].contains(pts)
        # Corners meet the centre only at its vertex (exactly shared edges when aligned).
        assert not (inside & c)[0 if not tilted else 8 :].any()
        corners_in |= inside
    assert zones["periphery"].area == pytest.approx(arena.area - zones["center"].area)


# --------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------


def test_open_field_geometry_and_sizes():
    zones = roi.open_field((0, 0, 100, 60))
    assert list(zones) == [
        "center",
        "periphery",
        "corner_top_left",
        "corner_top_right",
        "corner_bottom_right",
        "corner_bottom_left",
    ]
    assert zones["center"].bounds == (25, 15, 75, 45)
    assert zones["corner_top_left"].bounds == (0, 0, 25, 15)
    assert zones["corner_bottom_right"].bounds == (75, 45, 100, 60)
    sized = roi.open_field(roi.Rectangle(0, 0, 100, 60), center_size=30, corner_size=10)
    assert sized["center"].bounds == (35, 15, 65, 45)
    assert sized["corner_top_right"].bounds == (90, 0, 100, 10)
    with pytest.raises(PoseDataError, match="center_fraction"):
        roi.open_field((0, 0, 10, 10), center_fraction=1.5)
    with pytest.raises(PoseDataError, match="arena"):
        roi.open_field([(0, 0), (1, 1)])


def test_open_field_from_tracked_corner_keypoints():
    corners = {"tl": (10, 10), "tr": (110, 10), "br": (110, 90), "bl": (10, 90)}
    rng = np.random.default_rng(0)
    n = 50
    pos = np.zeros((n, 2, 4, 2))
    for k, (x, y) in enumerate(corners.values()):
        pos[:, :, k, 1] = np.array([x, y]) + rng.normal(0, 0.5, (n, 2))
    pos[:, :, :, 0] = np.nan  # the mouse does not carry the corners
    pos[::7, :, 0, 1] = np.nan
    ds = bh.from_numpy(
        pos, keypoint_names=list(corners), individual_names=["mouse", "single"], fps=30
    )
    arena = roi.Polygon.from_keypoints(ds, list(corners), "arena", individual="single")
    np.testing.assert_allclose(arena.vertices, np.array(list(corners.values())), atol=0.5)
    zones = roi.open_field(arena)
    assert zones["center"].area == pytest.approx(0.25 * arena.area, rel=0.02)
    with pytest.raises(PoseDataError, match="never tracked"):
        roi.landmarks(ds, ["tl"], individual="mouse")


def test_elevated_plus_maze_rule_on_a_symmetric_maze():
    pts = {
        "tl": (4, 0), "tr": (6, 0), "bl": (4, 10), "br": (6, 10),
        "lt": (0, 4), "lb": (0, 6), "rt": (10, 4), "rb": (10, 6),
        "ctl": (4, 4), "ctr": (6, 4), "cbl": (4, 6), "cbr": (6, 6),
    }  # fmt: skip
    maze = roi.elevated_plus_maze(pts, include_maze=True)
    probes = {
        "closed_arm_1": (5, 1),
        "closed_arm_2": (5, 9),
        "open_arm_1": (1, 5),
        "open_arm_2": (9, 5),
        "center": (5, 5),
    }
    for name, p in probes.items():
        hits = [z for z in maze if z != "maze" and maze[z].contains([p])[0]]
        assert hits == [name]
    assert maze["maze"].area == pytest.approx(sum(maze[z].area for z in probes))
    flipped = roi.elevated_plus_maze(pts, closed="horizontal")
    assert flipped["closed_arm_1"].contains([(1, 5)])[0]
    with pytest.raises(PoseDataError, match="missing"):
        roi.elevated_plus_maze({"tl": (0, 0)})


# --------------------------------------------------------------------------------------
# GeoJSON
# --------------------------------------------------------------------------------------


def test_geojson_round_trip(tmp_path):
    zones = {
        "hex": roi.Polygon(
            [(0, 0), (4, 0), (6, 3), (4, 6), (0, 6), (-2, 3)],
            "hex",
            holes=[[(1, 2), (2, 2), (2, 3)]],
        ),
        "box": roi.Rectangle(1.5, 2.5, 7.25, 9, name="box", unit="cm"),
        "disc": roi.Circle((3, 4), 2.5, name="disc"),
    }
    path = tmp_path / "zones.geojson"
    roi.write_geojson(zones, path)
    data = json.loads(path.read_text())
    assert data["type"] == "FeatureCollection"
    assert [f["properties"]["name"] for f in data["features"]] == ["hex", "box", "disc"]
    ring = data["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]  # closed rings, as GeoJSON requires
    back = roi.read_geojson(path)
    assert list(back) == list(zones)
    assert isinstance(back["box"], roi.Rectangle) and back["box"].unit == "cm"
    assert back["box"].bounds == zones["box"].bounds
    assert isinstance(back["disc"], roi.Circle) and back["disc"].radius == 2.5
    np.testing.assert_array_equal(back["hex"].vertices, zones["hex"].vertices)
    np.testing.assert_array_equal(back["hex"].holes[0], zones["hex"].holes[0])
    pts = np.random.default_rng(0).uniform(-3, 10, (500, 2))
    for name in zones:
        assert np.array_equal(back[name].contains(pts), zones[name].contains(pts))
    assert not list(tmp_path.glob(".zones*"))  # no temporary file left behind


def test_geojson_plain_polygons_and_errors(tmp_path):
    plain = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "tri"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [0, 4], [0, 0]]]},
            }
        ],
    }
    path = tmp_path / "plain.geojson"
    path.write_text(json.dumps(plain))
    tri = roi.read_geojson(path)["tri"]
    assert isinstance(tri, roi.Polygon) and tri.unit == "pixels" and tri.area == 8
    del plain["features"][0]["properties"]["name"]
    path.write_text(json.dumps(plain))
    with pytest.raises(FileFormatError, match="feature 0.*'name'"):
        roi.read_geojson(path)
    path.write_text("{not json")
    with pytest.raises(FileFormatError, match="not a JSON file"):
        roi.read_geojson(path)
    line = {"type": "Feature", "properties": {"name": "l"}, "geometry": {"type": "LineString"}}
    with pytest.raises(FileFormatError, match="LineString"):
        roi.from_geojson(line)


# --------------------------------------------------------------------------------------
# Real and simulated sessions
# --------------------------------------------------------------------------------------


def test_real_epm_open_versus_closed_arms(shared_data):
    ds = bh.load_poses(shared_data / EPM_CSV, fps=25)
    maze = roi.elevated_plus_maze(ds, include_maze=True)
    arms = ["open_arm_1", "open_arm_2", "closed_arm_1", "closed_arm_2", "center"]
    summary = roi.zone_summary(ds, maze, keypoint="bodycentre").set_index("zone")
    fractions = summary.loc[arms, "fraction"]
    assert ((fractions >= 0) & (fractions <= 1)).all()
    # The five zones tile the maze: their fractions add up to the time on the maze.
    assert fractions.sum() == pytest.approx(summary.loc["maze", "fraction"], abs=1e-12)
    inside = np.stack([roi.in_zone(ds, maze[a], keypoint="bodycentre").values for a in arms])
    assert inside.sum(axis=0).max() == 1  # no frame in two zones
    # The file starts with the mouse off the maze (about 12 s, before it is placed);
    # from its first frame on the maze, arms + centre cover almost every frame.
    first = int(np.argmax(inside.sum(axis=0)[:, 0] > 0))
    on_maze = inside[:, first:, 0].sum(axis=0).mean()
    assert on_maze > 0.95
    open_s = summary.loc[["open_arm_1", "open_arm_2"], "time_s"].sum()
    closed_s = summary.loc[["closed_arm_1", "closed_arm_2"], "time_s"].sum()
    assert open_s > closed_s  # this mouse stays on the open arms (EPM_15)
    assert summary.loc[arms, "time_s"].sum() <= ds.sizes["time"] / 25


def test_simulated_open_field_occupancy_sums_to_one():
    ds, _ = bh.simulate.session(duration="2 min", seed=0)
    zones = roi.open_field(ds.attrs["arena_px"])
    table = roi.zone_summary(ds, zones)
    per = table.pivot(index="individual", columns="zone", values="fraction")
    np.testing.assert_allclose(per["center"] + per["periphery"], 1.0, atol=1e-12)
    assert (per["center"] > 0).all()
    seconds = table.pivot(index="individual", columns="zone", values="time_s")
    known = table.groupby("individual")["known_fraction"].first()
    duration = ds.sizes["time"] / ds.attrs["fps"]
    np.testing.assert_allclose(seconds["center"] + seconds["periphery"], known * duration)
    corners = seconds[[c for c in seconds.columns if c.startswith("corner_")]].sum(axis=1)
    assert (corners <= seconds["periphery"]).all()
    cal = bh.kinematics.calibrate(ds)
    cal_table = roi.zone_summary(cal, {k: z.in_units_of(cal) for k, z in zones.items()})
    np.testing.assert_allclose(
        cal_table["distance"], table["distance"] / ds.attrs["px_per_cm"], rtol=0.02
    )
    assert (cal_table["space_unit"] == "cm").all()


def test_an_hour_of_two_animals_in_a_polygon():
    """At full scale (speed is measured in benchmarks, not here): the mask and the
    summary agree with each other frame by frame."""
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 800, (108_000, 2, 1, 2))
    ds = bh.from_numpy(pos, fps=30)
    poly = roi.Polygon([(100, 100), (700, 150), (650, 700), (400, 500), (120, 650)], "p")
    mask = roi.in_zone(ds, poly)
    summary = roi.zone_summary(ds, [poly])
    assert mask.shape == (108_000, 2) and len(summary) == 2
    np.testing.assert_allclose(
        summary.sort_values("individual")["time_s"].to_numpy(), mask.sum("time").values / 30
    )
