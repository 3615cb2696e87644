"""Tests of behavior.simulate: schema, determinism, physics and ground truth.

The rule checks recompute every quantity here, from ``truth.position_clean``,
with plain numpy (not the simulator's own helpers).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import behavior as bh
from behavior.bouts import BOUT_COLUMNS, labels_from_bouts, other_from_bouts
from behavior.errors import PoseDataError
from behavior.simulate import DEFINITIONS, KEYPOINTS, SOCIAL_BEHAVIORS, session

BODY = KEYPOINTS[:8]


@pytest.fixture(scope="module")
def social():
    return session("social", duration="10 min", seed=0)


@pytest.fixture(scope="module")
def single():
    return session("single", duration="10 min", seed=0)


def _cm(truth) -> np.ndarray:
    """Noise-free positions in cm relative to the arena corner: (time, 2, kp, ind)."""
    x0, y0 = truth.params["arena_px"][:2]
    pos = truth.position_clean.values - np.array([x0, y0])[None, :, None, None]
    return pos / truth.params["px_per_cm"]


def _kp(name: str) -> int:
    return KEYPOINTS.index(name)


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle (deg) between 2-D vectors of shape (time, 2)."""
    cos = (u * v).sum(1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _rule_quantities(pos: np.ndarray, fps: float, i: int, j: int) -> dict[str, np.ndarray]:
    body_i = pos[:, :, : len(BODY), i]
    body_j = pos[:, :, : len(BODY), j]
    pair = np.linalg.norm(body_i[:, :, :, None] - body_j[:, :, None, :], axis=1)
    centroid = pos[:, :, : len(BODY), :].mean(axis=2)
    speed = np.linalg.norm(np.gradient(centroid, axis=0), axis=1) * fps
    heading_i = pos[:, :, _kp("neck"), i] - pos[:, :, _kp("tail_base"), i]
    heading_j = pos[:, :, _kp("neck"), j] - pos[:, :, _kp("tail_base"), j]
    ears = 0.5 * (pos[:, :, _kp("left_ear"), i] + pos[:, :, _kp("right_ear"), i])
    nose = pos[:, :, _kp("nose"), i]
    nearest = np.linalg.norm(nose[:, :, None] - body_j, axis=1).argmin(axis=1)
    target = body_j[np.arange(len(nose)), :, nearest]
    return {
        "speed_i": speed[:, i],
        "speed_j": speed[:, j],
        "closest": pair.min(axis=(1, 2)),
        "heading": _angle(heading_i, heading_j),
        "gaze": _angle(nose - ears, target - ears),
    }


# --------------------------------------------------------------------------- schema


def test_dataset_is_a_valid_pose_dataset_in_pixels(social):
    ds, truth = social
    bh.validate(ds)
    assert ds.sizes == {"time": 18000, "space": 2, "keypoint": 10, "individual": 2}
    assert list(ds.keypoint.values) == KEYPOINTS
    assert list(ds.individual.values) == ["mouse_0", "mouse_1"]
    assert ds.attrs["space_unit"] == "pixels"
    assert ds.attrs["source_software"] == "behavior.simulate"
    assert ds.attrs["fps"] == 30.0
    assert ds.attrs["px_per_cm"] == truth.params["px_per_cm"] == 12.0
    assert ds.attrs["arena_cm"] == [60.0, 60.0]
    x0, y0, x1, y1 = ds.attrs["arena_px"]
    assert (x1 - x0, y1 - y0) == (720.0, 720.0)
    log = bh.read_log(ds)
    assert log[-1]["operation"] == "simulate.session"
    assert log[-1]["parameters"]["seed"] == 0
    np.testing.assert_allclose(ds.time.values, np.arange(18000) / 30)


def test_truth_shapes_and_coordinates_follow_the_dataset(social):
    ds, truth = social
    assert truth.labels.dims == ("time", "individual")
    assert truth.labels.dtype == np.int64
    np.testing.assert_array_equal(truth.labels.time.values, ds.time.values)
    assert truth.labels.attrs["labels"] == SOCIAL_BEHAVIORS
    assert truth.labels.values.min() >= 0
    assert truth.labels.values.max() < len(SOCIAL_BEHAVIORS)
    assert truth.position_clean.dims == ds.position.dims
    assert truth.position_clean.shape == ds.position.shape
    for dim in ds.position.dims:
        np.testing.assert_array_equal(truth.position_clean[dim].values, ds[dim].values)
    assert not np.isnan(truth.position_clean.values).any()
    assert list(truth.bouts.columns) == BOUT_COLUMNS


def test_session_saves_and_loads_as_netcdf(tmp_path):
    ds, _ = session(duration="5 s", seed=3)
    path = bh.save_poses(ds, tmp_path / "sim.nc")
    back = bh.load_poses(path)
    xr.testing.assert_allclose(back.position, ds.position)
    assert back.attrs["px_per_cm"] == ds.attrs["px_per_cm"]


# --------------------------------------------------------------------------- determinism, options


def test_same_seed_same_arrays_and_different_seed_different():
    a, ta = session(duration="30 s", seed=5, identity_swaps=1)
    b, tb = session(duration="30 s", seed=5, identity_swaps=1)
    c, _ = session(duration="30 s", seed=6, identity_swaps=1)
    np.testing.assert_array_equal(a.position.values, b.position.values)
    np.testing.assert_array_equal(a.confidence.values, b.confidence.values)
    np.testing.assert_array_equal(ta.labels.values, tb.labels.values)
    assert ta.params["identity_swaps"] == tb.params["identity_swaps"]
    assert not np.allclose(a.position.values, c.position.values, equal_nan=True)
    s1, t1 = session("single", duration="20 s", seed=2)
    s2, t2 = session("single", duration="20 s", seed=2)
    np.testing.assert_array_equal(s1.position.values, s2.position.values)
    np.testing.assert_array_equal(t1.labels.values, t2.labels.values)


def test_noise_settings_do_not_change_the_behavior():
    _, noisy = session(duration="30 s", seed=4)
    _, clean = session(duration="30 s", seed=4, noise_px=0, dropout=0, outliers=0)
    np.testing.assert_array_equal(noisy.labels.values, clean.labels.values)
    np.testing.assert_array_equal(noisy.position_clean.values, clean.position_clean.values)


@pytest.mark.parametrize(
    ("duration", "fps", "frames"),
    [("1 min", 30, 1800), (60, 25, 1500), ("2 s", 60, 120), ("500 ms", 30, 15)],
)
def test_duration_in_seconds_or_text_and_any_fps(duration, fps, frames):
    ds, truth = session(duration=duration, fps=fps, seed=0)
    assert ds.sizes["time"] == frames
    assert ds.attrs["fps"] == fps
    assert truth.labels.sizes["time"] == frames


def test_one_hour_at_30_fps_runs():
    # speed is measured (see the report), not asserted
    ds, truth = session(duration="1 h", seed=1)
    assert ds.sizes["time"] == 108_000
    assert set(truth.bouts.behavior) == set(SOCIAL_BEHAVIORS)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "zoo"}, "kind"),
        ({"duration": 0}, "duration"),
        ({"duration": "ten minutes"}, "duration"),
        ({"fps": -1}, "fps"),
        ({"n_individuals": 0}, "n_individuals"),
        ({"kind": "single", "n_individuals": 2}, "n_individuals"),
        ({"arena_cm": (20, 60)}, "arena_cm"),
        ({"dropout": 1.5}, "dropout"),
        ({"n_individuals": 1, "identity_swaps": 1}, "identity_swaps"),
        ({"identity_swaps": -1}, "identity_swaps"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(PoseDataError, match=match):
        session(**({"duration": "2 s"} | kwargs))


# --------------------------------------------------------------------------- physics


def test_every_keypoint_stays_in_the_arena(social, single):
    for ds, truth in (social, single):
        x0, y0, x1, y1 = truth.params["arena_px"]
        pos = truth.position_clean.values
        assert pos[:, 0].min() >= x0 - 1e-9 and pos[:, 0].max() <= x1 + 1e-9
        assert pos[:, 1].min() >= y0 - 1e-9 and pos[:, 1].max() <= y1 + 1e-9
        # tracked points leave it by tracking error only
        margin = 80.0  # the largest outlier jump is 60 px
        noisy = ds.position.values
        assert np.nanmin(noisy[:, 0]) > x0 - margin and np.nanmax(noisy[:, 0]) < x1 + margin


def test_mouse_body_has_realistic_size_and_moves_smoothly(social):
    _, truth = social
    pos = _cm(truth)
    body = np.linalg.norm(pos[:, :, _kp("nose")] - pos[:, :, _kp("tail_base")], axis=1)
    assert 8.0 < np.median(body) < 10.5
    assert body.max() < 11.5 and body.min() > 5.0
    tail = np.linalg.norm(pos[:, :, _kp("tail_base")] - pos[:, :, _kp("tail_mid")], axis=1)
    assert np.median(tail) == pytest.approx(4.0, abs=0.3)
    width = np.linalg.norm(pos[:, :, _kp("left_hip")] - pos[:, :, _kp("right_hip")], axis=1)
    assert 2.0 < np.median(width) < 3.2
    speed = np.linalg.norm(np.diff(pos[:, :, _kp("body_center")], axis=0), axis=1) * 30
    assert speed.max() < 60.0  # cm/s: no teleporting
    # the left ear is on the animal's left (image coordinates, y down)
    head = pos[:, :, _kp("nose")] - pos[:, :, _kp("neck")]
    ear = pos[:, :, _kp("left_ear")] - pos[:, :, _kp("neck")]
    cross = head[:, 0] * ear[:, 1] - head[:, 1] * ear[:, 0]
    assert (cross < 0).mean() > 0.99


def test_explore_speeds_and_still_behaviors(social):
    _, truth = social
    pos = _cm(truth)
    labels = truth.labels.values
    speed = np.linalg.norm(np.gradient(pos[:, :, _kp("body_center")], axis=0), axis=1) * 30
    code = {name: k for k, name in enumerate(SOCIAL_BEHAVIORS)}
    explore = speed[labels == code["explore"]]
    assert 5.0 < np.median(explore) < 25.0
    for name in ("rest", "groom", "watch", "freeze"):
        assert np.median(speed[labels == code[name]]) < 1.0, name
    # grooming moves the head while the body stays put
    nose = np.linalg.norm(np.gradient(pos[:, :, _kp("nose")], axis=0), axis=1) * 30
    assert np.median(nose[labels == code["groom"]]) > 3 * np.median(speed[labels == code["groom"]])


# --------------------------------------------------------------------------- ground truth


def test_definitions_carry_thresholds_in_physical_units():
    chase = DEFINITIONS["chase"]
    assert chase["min_speed_cm_s"] == 15.0
    assert chase["max_distance_cm"] == 5.0
    assert chase["max_heading_angle_deg"] == 30.0
    assert chase["min_duration_s"] == 1.0 and chase["min_fraction"] == 0.8
    watch = DEFINITIONS["watch"]
    assert (watch["min_distance_cm"], watch["max_distance_cm"]) == (5.0, 20.0)
    assert 15.0 <= watch["max_gaze_offset_deg"] <= 30.0
    assert set(SOCIAL_BEHAVIORS) <= set(DEFINITIONS)
    assert all(isinstance(d["text"], str) and d["text"] for d in DEFINITIONS.values())


@pytest.mark.parametrize("behavior", ["chase", "flee"])
def test_chase_and_flee_labels_satisfy_the_rule(social, behavior):
    _, truth = social
    rule = DEFINITIONS[behavior]
    pos, fps = _cm(truth), truth.params["fps"]
    code = SOCIAL_BEHAVIORS.index(behavior)
    labels, partner = truth.labels.values, truth.partner.values
    names = list(truth.labels.individual.values)
    met, total = 0, 0
    for i, me in enumerate(names):
        for j, other in enumerate(names):
            if i == j:
                continue
            frames = (labels[:, i] == code) & (partner[:, i] == other)
            q = _rule_quantities(pos, fps, i, j)
            ok = (
                (q["speed_i"] > rule["min_speed_cm_s"])
                & (q["speed_j"] > rule["min_speed_cm_s"])
                & (q["closest"] < rule["max_distance_cm"])
                & (q["heading"] < rule["max_heading_angle_deg"])
            )
            met += ok[frames].sum()
            total += frames.sum()
            bouts = truth.bouts[(truth.bouts.behavior == behavior) & (truth.bouts.individual == me)]
            # every bout lies inside a stretch where the rule holds with the presets'
            # bout logic (min_fraction within min_duration windows, gaps merged)
            held = bh.bouts.mask_from_bouts(
                bh.bouts.bouts(
                    ok, min_duration=rule["min_duration_s"], merge_gap=rule["merge_gap_s"],
                    min_fraction=rule["min_fraction"], window=rule["min_duration_s"], fps=fps,
                ),
                xr.DataArray(np.zeros((ok.size, 1)), dims=("time", "individual"),
                             coords={"individual": [""]}),
            ).values[:, 0]  # fmt: skip
            for b in bouts.itertuples():
                assert b.duration >= rule["min_duration_s"] - 1e-9
                if b.other == other:
                    assert held[b.start_frame : b.stop_frame].all()
    assert total > 0
    assert met / total >= 0.85


def test_watch_labels_satisfy_the_rule(social):
    _, truth = social
    rule = DEFINITIONS["watch"]
    pos, fps = _cm(truth), truth.params["fps"]
    code = SOCIAL_BEHAVIORS.index("watch")
    labels, partner = truth.labels.values, truth.partner.values
    names = list(truth.labels.individual.values)
    met, total = 0, 0
    for i in range(len(names)):
        for j in range(len(names)):
            if i == j:
                continue
            frames = (labels[:, i] == code) & (partner[:, i] == names[j])
            q = _rule_quantities(pos, fps, i, j)
            ok = (
                (q["closest"] >= rule["min_distance_cm"])
                & (q["closest"] <= rule["max_distance_cm"])
                & (q["gaze"] < rule["max_gaze_offset_deg"])
                & (q["speed_i"] < rule["max_speed_cm_s"])
            )
            met += ok[frames].sum()
            total += frames.sum()
    assert total > 0
    assert met / total >= 0.9
    watch = truth.bouts[truth.bouts.behavior == "watch"]
    assert (watch.duration >= rule["min_duration_s"] - 1e-9).all()


def test_freeze_is_complete_immobility(social):
    _, truth = social
    rule = DEFINITIONS["freeze"]
    pos, fps = _cm(truth), truth.params["fps"]
    speed = np.linalg.norm(np.gradient(pos, axis=0), axis=1).max(axis=1) * fps  # (time, ind)
    frames = truth.labels.values == SOCIAL_BEHAVIORS.index("freeze")
    assert frames.sum() > 0
    assert (speed[frames] < rule["max_keypoint_speed_cm_s"]).mean() >= 0.99
    bouts = truth.bouts[truth.bouts.behavior == "freeze"]
    assert (bouts.duration >= rule["min_duration_s"] - 1e-9).all()


def test_approaches_close_the_distance(social):
    _, truth = social
    pos, fps = _cm(truth), truth.params["fps"]
    names = list(truth.labels.individual.values)
    closer = []
    for b in truth.bouts[truth.bouts.behavior == "approach"].itertuples():
        q = _rule_quantities(pos, fps, names.index(b.individual), names.index(b.other))
        closer.append(q["closest"][b.stop_frame - 1] < q["closest"][b.start_frame])
        assert np.median(q["speed_i"][b.start_frame : b.stop_frame]) > 3.0
    assert len(closer) >= 10 and np.mean(closer) >= 0.8


def test_rest_is_not_a_freeze(social):
    _, truth = social
    pos, fps = _cm(truth), truth.params["fps"]
    still = (
        np.linalg.norm(np.gradient(pos, axis=0), axis=1).max(axis=1) * fps
        < DEFINITIONS["freeze"]["max_keypoint_speed_cm_s"]
    )
    rest = truth.labels.values == SOCIAL_BEHAVIORS.index("rest")
    for i in range(rest.shape[1]):
        starts, stops = bh.bouts.runs(still[:, i] & rest[:, i])
        assert (stops - starts).max(initial=0) < fps * DEFINITIONS["freeze"]["min_duration_s"]


def test_flee_mirrors_chase(social):
    _, truth = social
    bouts = truth.bouts
    chase = bouts[bouts.behavior == "chase"].sort_values("start_frame")
    flee = bouts[bouts.behavior == "flee"].sort_values("start_frame")
    assert len(chase) == len(flee)
    np.testing.assert_array_equal(chase.start_frame.values, flee.start_frame.values)
    np.testing.assert_array_equal(chase.stop_frame.values, flee.stop_frame.values)
    np.testing.assert_array_equal(chase.individual.values, flee.other.values)
    np.testing.assert_array_equal(chase.other.values, flee.individual.values)


def test_bout_table_round_trips_to_the_labels(social):
    _, truth = social
    back = labels_from_bouts(truth.bouts, truth.labels)
    np.testing.assert_array_equal(back.values, truth.labels.values)
    np.testing.assert_array_equal(
        other_from_bouts(truth.bouts, truth.labels).values, truth.partner.values
    )
    social_behaviors = {"approach", "chase", "flee", "watch"}
    has_other = truth.bouts.other != ""
    assert (has_other == truth.bouts.behavior.isin(social_behaviors)).all()
    assert truth.bouts.groupby("individual").n_frames.sum().tolist() == [18000, 18000]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_behavior_occurs_several_times_in_ten_minutes(seed, social):
    _, truth = social if seed == 0 else session(duration="10 min", seed=seed)
    counts = truth.bouts.groupby("behavior").size()
    for behavior in SOCIAL_BEHAVIORS:
        assert counts.get(behavior, 0) >= 3, (behavior, counts.to_dict())


def test_one_mouse_has_no_social_behavior_and_three_mice_work():
    _, one = session(duration="2 min", n_individuals=1, seed=0)
    assert not set(one.bouts.behavior) & {"approach", "chase", "flee", "watch"}
    ds, three = session(duration="3 min", n_individuals=3, seed=0)
    assert list(ds.individual.values) == ["mouse_0", "mouse_1", "mouse_2"]
    assert {"approach", "watch"} <= set(three.bouts.behavior)
    assert set(three.bouts.other) <= {"", "mouse_0", "mouse_1", "mouse_2"}
    assert (three.bouts.other != three.bouts.individual).all()


# --------------------------------------------------------------------------- tracking realism


def test_noise_free_session_equals_the_clean_positions():
    ds, truth = session(duration="20 s", seed=2, noise_px=0, dropout=0, outliers=0)
    np.testing.assert_allclose(ds.position.values, truth.position_clean.values)
    assert not np.isnan(ds.position.values).any()


def test_tracking_noise_confidence_and_dropouts(social):
    ds, truth = social
    pos, clean, conf = ds.position.values, truth.position_clean.values, ds.confidence.values
    assert np.nanmin(conf) >= 0 and np.nanmax(conf) <= 1
    missing = np.isnan(pos).any(axis=1)
    assert 0.005 < missing.mean() < 0.02  # dropout=0.01
    assert (conf[missing] <= 0.1).all()
    # dropouts come in runs, not single frames
    column = missing[:, 0, 0]
    starts = np.flatnonzero(np.diff(column.astype(int)) == 1)
    assert column.sum() / max(1, starts.size) > 2
    error = np.linalg.norm(pos - clean, axis=1)
    seen = ~missing
    assert 0.5 < np.median(error[seen]) < 3.0  # noise_px=1.5
    # lower confidence goes with larger errors; the tail tip is the hardest point
    assert np.corrcoef(error[seen], conf[seen])[0, 1] < -0.3
    mean_conf = np.nanmean(conf, axis=(0, 2))
    assert mean_conf[_kp("tail_tip")] == mean_conf.min()


def test_identity_swaps_are_recorded_and_applied():
    ds, truth = session(
        duration="1 min", seed=3, identity_swaps=2, noise_px=0, dropout=0, outliers=0
    )
    swaps = truth.params["identity_swaps"]
    assert len(swaps) == 2
    identity = truth.identity.values
    names = np.array(ds.individual.values, dtype=object)
    inside = np.zeros(ds.sizes["time"], dtype=bool)
    for swap in swaps:
        a, b = swap["individuals"]
        start, stop = swap["start_frame"], swap["stop_frame"]
        assert 0 <= start < stop <= ds.sizes["time"]
        inside[start:stop] = True
        ia, ib = list(names).index(a), list(names).index(b)
        np.testing.assert_array_equal(identity[start:stop, ia], b)
        np.testing.assert_array_equal(identity[start:stop, ib], a)
        np.testing.assert_allclose(
            ds.position.values[start:stop, :, :, ia],
            truth.position_clean.values[start:stop, :, :, ib],
        )
    np.testing.assert_array_equal(
        identity[~inside], np.broadcast_to(names, identity.shape)[~inside]
    )
    json.dumps(swaps)  # plain data


# --------------------------------------------------------------------------- kind="single"


def test_single_has_k_motifs_of_about_400_ms(single):
    ds, truth = single
    bh.validate(ds)
    assert list(ds.individual.values) == ["mouse_0"]
    names = truth.labels.attrs["labels"]
    assert names == [f"motif_{k}" for k in range(8)]
    bouts = truth.bouts
    assert set(bouts.behavior) == set(names)
    assert 0.3 < bouts.duration.mean() < 0.5
    assert (bouts.other == "").all()
    # consecutive motifs differ (no self-transitions)
    assert (bouts.behavior.values[1:] != bouts.behavior.values[:-1]).all()
    trans = truth.params["transition_matrix"]
    assert trans.shape == (8, 8)
    np.testing.assert_allclose(trans.sum(axis=1), 1.0)
    np.testing.assert_array_equal(np.diag(trans), 0.0)


def test_single_latent_follows_the_stated_ar_dynamics(single):
    _, truth = single
    A, b, Q = (truth.params[k] for k in ("ar_matrices", "ar_offsets", "ar_noise_cov"))
    assert (np.abs(np.linalg.eigvals(A)).max(axis=-1) < 1).all()  # every motif is stable
    z = truth.latent.values
    k = truth.labels.values[1:, 0]
    residual = z[1:] - np.einsum("tij,tj->ti", A[k], z[:-1]) - b[k]
    for motif in range(A.shape[0]):
        r = residual[k == motif]
        white = np.linalg.solve(np.linalg.cholesky(Q[motif]), r.T).T
        np.testing.assert_allclose(white.std(axis=0), 1.0, atol=0.15)
    # the motifs differ in mean pose and speed
    means = truth.params["motif_means"]
    assert len({tuple(np.round(m, 3)) for m in means}) == 8


def test_single_motifs_are_visible_in_the_tracked_pose(single):
    ds, truth = single
    pos = ds.position.values[:, :, :, 0] / truth.params["px_per_cm"]
    length = np.linalg.norm(pos[:, :, _kp("neck")] - pos[:, :, _kp("tail_base")], axis=1)
    speed = np.linalg.norm(np.gradient(pos[:, :, _kp("body_center")], axis=0), axis=1) * 30
    motif = truth.labels.values[:, 0]
    order = truth.params["motif_names"]
    med = {name: np.nanmedian(length[motif == k]) for k, name in enumerate(order)}
    fast = {name: np.nanmedian(speed[motif == k]) for k, name in enumerate(order)}
    assert med["rear"] < med["groom"] < med["pause"] < med["walk"] < med["run"]
    assert fast["run"] > fast["walk"] > 2 * fast["pause"]


def test_single_with_more_motifs():
    _, truth = session("single", duration="1 min", seed=0, n_motifs=10)
    assert truth.labels.attrs["labels"][-1] == "motif_9"
    assert truth.params["ar_matrices"].shape[0] == 10


def test_events_are_where_the_definitions_hold(social):
    _, truth = social
    table = truth.events
    assert list(table.columns) == BOUT_COLUMNS
    assert {"chase", "flee", "watch", "freeze"} <= set(table.behavior)
    pos, fps = _cm(truth), truth.params["fps"]
    # a freeze event is complete immobility, every frame
    kp_speed = np.linalg.norm(np.gradient(pos, axis=0), axis=1).max(axis=1) * fps
    names = list(truth.labels.individual.values)
    for b in table[table.behavior == "freeze"].itertuples():
        i = names.index(b.individual)
        assert b.duration >= DEFINITIONS["freeze"]["min_duration_s"] - 1e-9
        assert (kp_speed[b.start_frame : b.stop_frame, i] < 1.0).all()
    # every chase has its mirrored flee, and the chaser is the animal behind
    chase = table[table.behavior == "chase"]
    flee = table[table.behavior == "flee"]
    assert sorted(zip(chase.other, chase.individual, chase.start_frame)) == sorted(
        zip(flee.individual, flee.other, flee.start_frame)
    )
    # the generative labels are refined by the same rules: every labelled chase or
    # freeze frame lies inside an event of the rule (a chase may be credited to the
    # other animal of the pair, when the chased one ends up behind); events may hold
    # more: a resting mouse can meet the watch rule
    for name, kinds in (("chase", ["chase", "flee"]), ("freeze", ["freeze"])):
        code = SOCIAL_BEHAVIORS.index(name)
        inside = bh.bouts.mask_from_bouts(table[table.behavior.isin(kinds)], truth.labels)
        labelled = truth.labels.values == code
        assert labelled.any() and inside.values[labelled].all()


def test_single_sessions_have_no_events(single):
    _, truth = single
    assert truth.events.empty and list(truth.events.columns) == BOUT_COLUMNS
