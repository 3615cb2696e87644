"""Tests of behavior.classify: fitting, honest splits, thresholds, post-processing, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.classify import (
    BehaviorClassifier,
    cross_validate,
    grouped_splits,
    learning_curve,
    permutation_importance,
    postprocess,
    select_threshold,
)
from behavior.classify._common import thin_negatives
from behavior.classify.persistence import read_metadata
from behavior.errors import PoseDataError
from behavior.ethogram import Ethogram, agreement

# the per-behavior random forests these tests look inside (the default is multiclass LightGBM)
FAST = {
    "model": "forest",
    "multiclass": False,
    "threshold": 0.5,
    "min_bout": None,
    "merge_gap": None,
    "n_estimators": 25,
    "random_state": 0,
    "progress": False,
}
SMALL_FEATURES = {"windows": ("0.25 s", "1 s"), "stats": ("mean", "max")}


# --------------------------------------------------------------------------- data


def synthetic(seed: int, n: int = 1500, fps: float = 30.0, individuals=("a",)):
    """Features with one informative column and bouts of 'groom' (1-3 s) as labels."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for _ in individuals:
        y = np.zeros(n, dtype=bool)
        t = 0
        while t < n:
            t += int(rng.integers(30, 120))
            d = int(rng.integers(30, 90))
            y[t : t + d] = True
            t += d
        feats.append(np.column_stack([y + rng.normal(0, 0.5, n), rng.normal(size=(n, 2))]))
        labels.append(y[:n])
    time = np.arange(n) / fps
    features = xr.DataArray(
        np.stack(feats, axis=-1).astype(np.float32),
        dims=("time", "feature", "individual"),
        coords={"time": time, "feature": ["signal", "noise_1", "noise_2"],
                "individual": list(individuals)},
        attrs={"fps": fps, "space_unit": "cm"},
    )  # fmt: skip
    eth = Ethogram(
        xr.DataArray(
            np.stack(labels, axis=-1)[:, None, :],
            dims=("time", "behavior", "individual"),
            coords={"time": time, "behavior": ["groom"], "individual": list(individuals)},
            attrs={"fps": fps},
        )
    )
    return features, eth


@pytest.fixture(scope="module")
def social():
    """Four 3-minute simulated social sessions (seeds 0-3) with their true labels."""
    return [bh.simulate.session(duration="3 min", seed=seed) for seed in range(4)]


@pytest.fixture(scope="module")
def freeze_model(social):
    """A freezing classifier trained on the poses of seeds 0-2 (features computed inside)."""
    clf = BehaviorClassifier(behaviors=["freeze"], feature_options=SMALL_FEATURES, **FAST)
    return clf.fit([ds for ds, _ in social[:3]], [t.labels for _, t in social[:3]])


# --------------------------------------------------------------------------- fit / predict


def test_fit_predict_recovers_freezing_on_a_new_session(social, freeze_model):
    ds, truth = social[3]
    eth = freeze_model.predict(ds)
    assert isinstance(eth, Ethogram)
    assert eth.behaviors == ["freeze"] and eth.individuals == ["mouse_0", "mouse_1"]
    assert eth.attrs["source"] == "classifier"
    reference = Ethogram.from_states(truth.labels).sel(behavior=["freeze"])
    table = agreement(reference, eth)
    tp = float((table.frame_recall * table.frames_reference).sum())
    f1 = 2 * tp / float(table.frames_reference.sum() + table.frames_other.sum())
    assert f1 > 0.85
    proba = freeze_model.predict_proba(ds)
    assert proba.dims == ("time", "behavior", "individual")
    assert proba.sizes["time"] == ds.sizes["time"]
    assert float(proba.min()) >= 0 and float(proba.max()) <= 1


def test_predict_many_sessions_returns_one_result_each(social, freeze_model):
    out = freeze_model.predict({"a": social[2][0], "b": social[3][0]})
    assert isinstance(out, list) and len(out) == 2
    assert all(e.n_frames == social[3][0].sizes["time"] for e in out)


def test_untracked_frames_get_nan_probability_and_no_behavior():
    feats, eth = synthetic(0)
    clf = BehaviorClassifier(**FAST).fit([feats], [eth])
    holes = feats.copy()
    holes[100:130] = np.nan
    holes[400, 0] = np.nan  # one NaN feature: imputed, still predicted
    proba = clf.predict_proba(holes)
    assert np.isnan(proba.values[100:130]).all()
    assert np.isfinite(proba.values[400]).all()
    assert not clf.predict(holes).labels.values[100:130].any()


def test_unlabelled_frames_are_not_trained_on():
    feats, eth = synthetic(1)
    y = eth.labels.values.astype(float)
    y[:700] = np.nan  # only the second half is labelled
    partial = xr.DataArray(y, dims=eth.labels.dims, coords=eth.labels.coords)
    clf = BehaviorClassifier(**FAST).fit([feats], [partial])
    # every tree of the forest drew its rows from the 800 labelled frames only
    forest = clf.models_["groom"]
    assert all(tree.tree_.n_node_samples[0] <= 800 for tree in forest.estimators_)
    assert max(tree.tree_.n_node_samples[0] for tree in forest.estimators_) > 400


def test_multiclass_gives_an_exclusive_ethogram(social):
    ds, truth = social[0]
    feats = bh.features.extract(ds, progress=False, **SMALL_FEATURES)
    clf = BehaviorClassifier(multiclass=True, behaviors=["freeze", "rest", "groom"],
                             n_estimators=10, random_state=0, progress=False)  # fmt: skip
    clf.fit([feats[:3000]], [truth.labels[:3000]])
    eth = clf.predict(feats[3000:])
    assert eth.exclusive
    assert (eth.labels.values.sum(axis=1) <= 1).all()
    # trained on precomputed features, it computes the same features from poses itself
    assert clf.feature_options_["windows"] == SMALL_FEATURES["windows"]
    poses = social[1][0].isel(time=slice(0, 600))
    from_poses = clf.predict_proba(poses)
    from_features = clf.predict_proba(bh.features.extract(poses, progress=False, **SMALL_FEATURES))
    np.testing.assert_array_equal(from_poses.values, from_features.values)


def test_overlapping_labels_refused_in_multiclass():
    feats, eth = synthetic(2)
    both = xr.concat([eth.labels, eth.labels.assign_coords(behavior=["sniff"])], "behavior")
    with pytest.raises(PoseDataError, match="exclusive"):
        BehaviorClassifier(**{**FAST, "multiclass": True}).fit([feats], [Ethogram(both)])


# --------------------------------------------------------------------------- splits


def test_grouped_cv_never_puts_one_session_in_train_and_test():
    data = [synthetic(seed, n=600) for seed in range(5)]
    feats, labels = [f for f, _ in data], [e for _, e in data]
    # sessions 0 and 1 are the same video (or animal): they must stay together
    res = cross_validate(
        BehaviorClassifier(**FAST), feats, labels, groups=["v0", "v0", "v1", "v2", "v3"],
        cv=3, progress=False,
    )  # fmt: skip
    session = res.rows["session"].to_numpy()
    covered = np.zeros(session.size, dtype=int)
    for train, test in res.splits:
        assert not set(session[train]) & set(session[test])
        assert {0, 1} <= set(session[test]) or not {0, 1} & set(session[test])
        covered[test] += 1
    assert (covered == 1).all()  # every row is tested exactly once
    tested = res.folds[res.folds.role == "test"].groupby("session")["fold"].nunique()
    assert (tested == 1).all()
    assert set(res.summary.columns) >= {"frame_f1", "bout_f1", "average_precision"}
    assert res.summary.loc[0, "frame_f1"] > 0.7


def test_groups_sharing_an_animal_are_joined():
    session = np.repeat(np.arange(4), 10)
    frame = np.tile(np.arange(10), 4)
    # (video, animal): sessions 0 and 2 share animal "m1" although their videos differ
    groups = [("v0", "m1"), ("v1", "m2"), ("v2", "m1"), ("v3", "m3")]
    for train, test in grouped_splits(session, frame, [10] * 4, groups=groups, n_splits=3):
        assert not set(session[train]) & set(session[test])
        assert ({0, 2} <= set(session[test])) or not ({0, 2} & set(session[test]))


def test_single_session_splits_in_contiguous_blocks_with_a_gap():
    feats, eth = synthetic(3, n=1200)
    res = cross_validate(BehaviorClassifier(**FAST), [feats], [eth], cv=4, gap="1 s",
                         progress=False)  # fmt: skip
    frame = res.rows["frame"].to_numpy()
    assert len(res.splits) == 4
    for train, test in res.splits:
        f = np.sort(frame[test])
        assert np.array_equal(f, np.arange(f[0], f[-1] + 1))  # one contiguous block
        distance = np.minimum(np.abs(frame[train] - f[0]), np.abs(frame[train] - f[-1]))
        assert distance.min() > 30  # 1 s at 30 fps never trains next to the block


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(5, 40), min_size=2, max_size=6),
    data=st.data(),
)
def test_grouped_splits_property(lengths, data):
    groups = data.draw(st.lists(st.sampled_from("abc"), min_size=len(lengths),
                                max_size=len(lengths)))  # fmt: skip
    session = np.repeat(np.arange(len(lengths)), lengths)
    frame = np.concatenate([np.arange(n) for n in lengths])
    if len(set(groups)) < 2:
        splits = grouped_splits(session, frame, lengths, groups=groups, n_splits=2, gap=1)
        for train, test in splits:
            assert not np.intersect1d(train, test).size
        return
    splits = grouped_splits(session, frame, lengths, groups=groups, n_splits=3)
    count = np.zeros(session.size, dtype=int)
    g = np.asarray(groups)[session]
    for train, test in splits:
        assert not set(g[train]) & set(g[test])
        count[test] += 1
    assert (count == 1).all()


@settings(max_examples=25, deadline=None)
@given(
    y=st.lists(st.booleans(), min_size=1, max_size=300),
    ratio=st.floats(0.5, 20),
)
def test_thinning_keeps_every_positive_and_bounds_negatives(y, ratio):
    y = np.asarray(y)
    index = np.arange(y.size) + 7
    kept = thin_negatives(index, y, ratio)
    assert set(index[y]) <= set(kept)
    negatives = np.isin(index[~y], kept).sum()
    if (~y).sum() <= ratio * y.sum() or not y.any():
        assert negatives == (~y).sum()
    else:
        assert negatives <= ratio * y.sum() + 1
    assert np.all(np.diff(kept) > 0)


def test_thinning_never_runs_past_the_last_negative():
    for n_pos in range(1100, 1160):  # sizes where a float stride used to overshoot
        y = np.zeros(35_218 + n_pos, dtype=bool)
        y[::31][:n_pos] = True
        kept = thin_negatives(np.arange(y.size), y, 10.0)
        assert kept.size == np.unique(kept).size
        assert (~y[kept]).sum() == 10 * n_pos


# --------------------------------------------------------------------------- thresholds


def test_select_threshold_picks_the_max_f1_threshold():
    y = np.array([0, 0, 0, 1, 0, 1, 1, 1, 0, 1])
    p = np.array([0.05, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9])
    f1 = {}
    for t in np.unique(p):
        pred = p >= t
        tp = int((pred & (y == 1)).sum())
        f1[float(t)] = 2 * tp / (pred.sum() + y.sum())
    best = max(f1, key=f1.get)
    assert select_threshold(y, p, "f1") == pytest.approx(best)
    assert best == pytest.approx(0.3)  # 5 of 6 predicted right, nothing missed
    # the lowest threshold with precision >= 0.8: predict from 0.5 up (4 of 5 right)
    assert select_threshold(y, p, "precision>=0.8") == pytest.approx(0.5)
    # NaN labels are ignored; no positive at all: predict nothing
    assert select_threshold([np.nan, 0, 0], [0.9, 0.1, 0.2]) == 1.0


def test_threshold_rule_is_chosen_on_inner_folds():
    data = [synthetic(seed, n=900) for seed in range(3)]
    clf = BehaviorClassifier(**{**FAST, "threshold": "f1"})
    clf.fit([f for f, _ in data], [e for _, e in data])
    assert 0 < clf.thresholds_["groom"] < 1
    assert clf.thresholds_["groom"] != 0.5
    with pytest.raises(PoseDataError, match="threshold"):
        BehaviorClassifier(threshold="best", progress=False).fit([data[0][0]], [data[0][1]])


# --------------------------------------------------------------------------- post-processing


def test_postprocess_fills_gaps_then_drops_short_bouts_exactly():
    m = np.array([1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1], dtype=bool)
    other = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
    labels = xr.DataArray(
        np.stack([m, other], axis=1)[:, :, None],
        dims=("time", "behavior", "individual"),
        coords={"time": np.arange(15) / 10, "behavior": ["run", "sniff"], "individual": ["m"]},
        attrs={"fps": 10.0},
    )
    out = postprocess(Ethogram(labels), min_bout={"run": "0.3 s"}, merge_gap={"run": "0.2 s"})
    # gap of 1 frame (< 0.2 s) filled: [0, 4); the 2-frame bout at 7 is dropped (< 0.3 s)
    expected = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    assert np.array_equal(out.labels.values[:, 0, 0], expected)
    assert np.array_equal(out.labels.values[:, 1, 0], other)  # not named: untouched
    with pytest.raises(PoseDataError, match="walk"):
        postprocess(Ethogram(labels), min_bout={"walk": 2})


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.lists(st.booleans(), min_size=2, max_size=2), min_size=1, max_size=60),
    min_bout=st.sampled_from([None, 2, "0.3 s", 0.45]),
    merge_gap=st.sampled_from([None, 1, "0.2 s", 0.35]),
)
def test_post_processing_equals_the_events_bout_logic(values, min_bout, merge_gap):
    from behavior import bouts as bout_room
    from behavior.classify._common import clean_mask

    mask = xr.DataArray(np.array(values), dims=("time", "individual"),
                        coords={"individual": ["a", "b"]}, attrs={"fps": 10.0})  # fmt: skip
    expected = bout_room.mask_from_bouts(
        bout_room.bouts(mask, min_duration=min_bout or 0, merge_gap=merge_gap or 0), mask
    )
    np.testing.assert_array_equal(clean_mask(mask, min_bout, merge_gap, "x"), expected.values)


def test_auto_post_processing_is_chosen_on_validation_folds_and_helps():
    data = [synthetic(seed, n=1500) for seed in range(4)]
    feats, labels = [f for f, _ in data], [e for _, e in data]
    lengths = [
        b.n_frames
        for e in labels[:3]
        for b in e.to_bouts().itertuples()
        if b.start_frame > 0 and b.stop_frame < e.n_frames  # complete bouts only
    ]
    shortest = np.percentile(lengths, 2, method="lower")  # robust to a stray short label
    auto = {"threshold": "f1", "min_bout": "auto", "merge_gap": "auto"}
    tuned = BehaviorClassifier(**{**FAST, **auto})
    tuned.fit(feats[:3], labels[:3])
    candidates = [None] + [f * shortest / 30.0 for f in (0.25, 0.5, 0.75, 1.0)]
    assert any(tuned.min_bout_["groom"] == pytest.approx(c) for c in candidates if c)
    plain = BehaviorClassifier(**{**FAST, "threshold": "f1"}).fit(feats[:3], labels[:3])
    assert plain.min_bout_ == {"groom": None}

    def f1(clf):
        table = agreement(labels[3], clf.predict(feats[3]))
        return float(table["frame_f1"].iloc[0]), table

    (tuned_f1, table), (plain_f1, _) = f1(tuned), f1(plain)
    assert tuned_f1 > plain_f1 + 0.05  # per-frame noise: bouts need the post-processing
    assert table["bouts_other"].iloc[0] < 2 * table["bouts_reference"].iloc[0]
    pred = tuned.predict(feats[3]).to_bouts()
    assert (pred.duration >= tuned.min_bout_["groom"] - 1e-9).all()
    # without validation folds (multiclass), "auto" is half the shortest labelled bout
    multi = {"multiclass": True, "min_bout": "auto"}
    mc = BehaviorClassifier(**{**FAST, **multi, "smoothing": None})
    mc.fit(feats[:3], labels[:3])
    assert mc.min_bout_["groom"] == pytest.approx(0.5 * shortest / 30.0)
    # with the Viterbi smoothing (the default for one model over classes) "auto" adds nothing
    smoothed = BehaviorClassifier(**{**FAST, **multi}).fit(feats[:3], labels[:3])
    assert smoothed.min_bout_["groom"] is None


# --------------------------------------------------------------------------- persistence


def test_save_load_round_trip_gives_identical_predictions(tmp_path, social, freeze_model):
    path = freeze_model.save(tmp_path / "freeze")
    assert path.suffix == ".skops" and path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["freeze.skops"]  # one file
    meta = read_metadata(path)
    assert meta["fps"] == 30.0 and meta["space_unit"] == "cm"
    assert meta["keypoints"] == bh.simulate.KEYPOINTS
    assert meta["feature_names"] == freeze_model.feature_names_
    assert meta["behavior_version"] == bh.__version__
    assert meta["feature_options"]["windows"] == list(SMALL_FEATURES["windows"])
    again = BehaviorClassifier.load(path)
    ds = social[3][0]
    a = freeze_model.predict_proba(ds)
    b = again.predict_proba(ds)
    np.testing.assert_array_equal(a.values, b.values)
    assert freeze_model.predict(ds) == again.predict(ds)
    (tmp_path / "junk.skops").write_bytes(b"not a model")
    with pytest.raises(bh.FileFormatError):
        BehaviorClassifier.load(tmp_path / "junk.skops")


class _Payload:
    """Unpickling this would create the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["pickle", "joblib", "joblib-compressed", "joblib-dict"])
def test_load_refuses_pickles_without_running_them(tmp_path, writer):
    import pickle

    import joblib

    marker = tmp_path / "code_ran"
    payload = _Payload(marker)
    path = tmp_path / "model.skops"
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    elif writer == "joblib":
        joblib.dump(payload, path)
    elif writer == "joblib-compressed":
        joblib.dump(payload, path, compress=3)
    else:  # the old format: a joblib dict without metadata
        joblib.dump({"format": "behavior-classifier", "estimator": payload}, path)
    with pytest.raises(bh.FileFormatError, match=r"model\.skops: expected a classifier saved"):
        BehaviorClassifier.load(path)
    assert not marker.exists()


def test_load_refuses_foreign_zips_and_untrusted_types(tmp_path):
    import zipfile

    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    from behavior.classify import persistence

    plain = tmp_path / "plain.skops"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(bh.FileFormatError, match="without behavior-classifier.json"):
        BehaviorClassifier.load(plain)
    # a skops file that would build a function from a name: outside the allow-list
    evil = tmp_path / "evil.skops"
    skops.io.dump({"params": {}, "fitted": {"models_": FunctionTransformer(print)}}, evil)
    meta = {"format": persistence.FORMAT, "format_version": persistence.FORMAT_VERSION}
    with zipfile.ZipFile(evil, "a") as archive:
        archive.writestr(persistence.METADATA, json.dumps(meta))
    with pytest.raises(bh.FileFormatError, match="trusted types.*print"):
        BehaviorClassifier.load(evil)
    with pytest.raises(FileNotFoundError):
        BehaviorClassifier.load(tmp_path / "missing.skops")


def test_save_writes_one_file_and_keeps_the_old_one_on_failure(tmp_path, monkeypatch, freeze_model):
    with pytest.raises(bh.FileFormatError, match=r"model\.json.*\.skops"):
        freeze_model.save(tmp_path / "model.json")  # no model-then-JSON over one path
    assert list(tmp_path.iterdir()) == []
    path = freeze_model.save(tmp_path / "model.skops")
    before = path.read_bytes()

    import skops.io

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(skops.io, "dump", full_disk)
    with pytest.raises(OSError, match="No space"):
        freeze_model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]  # no temp file left
    assert BehaviorClassifier.load(path).thresholds_ == freeze_model.thresholds_


def test_mismatched_data_raise_errors_naming_what_differs(social, freeze_model):
    ds = social[3][0].isel(time=slice(0, 300))
    renamed = ds.assign_coords(keypoint=[k.replace("nose", "snout") for k in
                                         ds.keypoint.values])  # fmt: skip
    with pytest.raises(PoseDataError, match="keypoints differ.*nose"):
        freeze_model.predict(renamed)
    faster = ds.assign_coords(time=np.arange(300) / 60.0)
    faster.attrs["fps"] = 60.0
    with pytest.raises(PoseDataError, match="fps differs.*30.*60"):
        freeze_model.predict(faster)
    pixels = ds.copy()
    del pixels.attrs["px_per_cm"]
    with pytest.raises(PoseDataError, match="space units differ.*cm.*pixels"):
        freeze_model.predict(pixels)
    fewer = bh.features.extract(ds, progress=False, **SMALL_FEATURES).isel(feature=slice(5, None))
    with pytest.raises(PoseDataError, match="lacks 5"):
        freeze_model.predict(fewer)


# --------------------------------------------------------------------------- labels from files


def test_labels_from_a_perframe_csv_written_by_save_annotations(tmp_path):
    data = [synthetic(seed, n=900, individuals=("mouse_0", "mouse_1")) for seed in range(2)]
    feats, eths = [f for f, _ in data], [e for _, e in data]
    paths = [bh.save_annotations(eth, tmp_path / f"labels_{k}.csv") for k, eth in enumerate(eths)]
    assert bh.load_annotations(paths[0], fps=30).individuals == ["mouse_0", "mouse_1"]
    from_files = BehaviorClassifier(**FAST).fit(feats, paths)
    from_objects = BehaviorClassifier(**FAST).fit(feats, eths)
    assert from_files.behaviors_ == ["groom"]
    a = from_files.predict_proba(feats[1])
    b = from_objects.predict_proba(feats[1])
    np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.realdata
def test_behaviordepot_human_freezing_csv_in_contiguous_blocks(shared_data):
    folder = shared_data / "behaviordepot_freezing" / "demo" / "demo1"
    ds = bh.load_poses(folder / "demo1_tracking.csv", fps=50)
    ds.attrs["px_per_cm"] = 32.0
    labels = folder / "demo1_human_freezing_perframe.csv"
    res = cross_validate(
        BehaviorClassifier(**{**FAST, "min_bout": "auto"}), [ds], [labels], cv=3, progress=False
    )
    frame = res.rows["frame"].to_numpy()
    for _, test in res.splits:
        f = np.sort(frame[test])
        assert np.array_equal(f, np.arange(f[0], f[-1] + 1))
    row = res.summary.iloc[0]
    assert row["behavior"] == "freezing_human"
    assert row["frames_test"] == 6000 and row["frames_positive"] == 1368
    assert row["frame_f1"] > 0.5  # 80 s of training video per fold; chance is about 0.3


# --------------------------------------------------------------------------- inspection


def test_learning_curve_and_permutation_importance_are_tidy_and_sensible():
    data = [synthetic(seed, n=900) for seed in range(3)]
    feats, labels = [f for f, _ in data], [e for _, e in data]
    curve = learning_curve(BehaviorClassifier(**{**FAST, "n_estimators": 10}), feats, labels, cv=2,
                           fractions=(0.2, 1.0), progress=False)  # fmt: skip
    assert set(curve["axis"]) == {"frames", "videos"}
    frames = curve[curve.axis == "frames"].groupby("size")["labelled_frames"].mean()
    assert frames.loc[0.2] < frames.loc[1.0]
    assert (curve["frame_f1"] > 0.5).all()
    clf = BehaviorClassifier(**FAST).fit(feats[:2], labels[:2])
    table = permutation_importance(clf, feats[2:], labels[2:], n_repeats=2, progress=False)
    by = table.set_index("feature")["importance_mean"]
    assert by["signal"] > 0.1 > abs(by["noise_1"])
    assert clf.feature_importance().iloc[0]["feature"] == "signal"

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, ax = bh.plot.learning_curve_lines(curve, axis="videos")
    assert len(ax.lines) == 1 and ax.get_xlabel() == "labelled videos"
    _, ax = bh.plot.feature_importance_bars(table)
    assert ax.get_yticklabels()[0].get_text() == "signal"
    res = cross_validate(BehaviorClassifier(n_estimators=10, random_state=0), feats, labels, cv=3,
                         progress=False)  # fmt: skip
    _, ax = bh.plot.pr_curve_lines(res)
    assert len(ax.lines) == 2  # the curve and the chosen threshold
    assert "AP" in ax.get_legend().get_texts()[0].get_text()
    plt.close("all")


# ---- issue 15: labels of another time range, sessions without tracking ---------------------


def test_fit_refuses_labels_of_another_time_range():
    feats, eth = synthetic(4)
    shifted = Ethogram(eth.labels.assign_coords(time=eth.labels.time.values + 100.0))
    with pytest.raises(PoseDataError, match="expected labels on the session's time"):
        BehaviorClassifier(**FAST).fit([feats], [shifted])
    slower = Ethogram(eth.labels.assign_coords(time=eth.labels.time.values * 2))
    with pytest.raises(PoseDataError, match="frame 1 is at"):
        BehaviorClassifier(**FAST).fit([feats], [slower])
    # labels on the same frames (in frames with the frame rate, or without a time
    # coordinate) are still accepted
    frames = eth.labels.assign_coords(time=np.arange(eth.n_frames)).assign_attrs(
        time_unit="frames", fps=eth.fps
    )
    BehaviorClassifier(**FAST).fit([feats], [Ethogram(frames)])
    bare = xr.DataArray(
        eth.labels.values,
        dims=eth.labels.dims,
        coords={"behavior": eth.behaviors, "individual": eth.individuals},
    )
    BehaviorClassifier(**FAST).fit([feats], [Ethogram(bare)])


def test_predict_on_an_untracked_session_labels_no_frame():
    ds, truth = bh.simulate.session(duration="20 s", seed=0)
    eth = Ethogram.from_states(truth.labels)
    clf = BehaviorClassifier(n_estimators=20, random_state=0, progress=False).fit(ds, eth)
    untracked = ds.copy(deep=True)
    untracked["position"][:] = np.nan
    assert not clf.predict(untracked).labels.values.any()
    assert np.isnan(clf.predict_proba(untracked).values).all()
    # a partly untracked session: NaN where no window reaches a tracked frame (the
    # longest feature window is 2 s, so +-30 frames around the gap's middle)
    part = ds.copy(deep=True)
    part["position"][100:200] = np.nan
    # the default features fill the gaps of positions between tracked frames
    assert np.isfinite(clf.predict_proba(part).values[100:200]).all()
    unfilled = BehaviorClassifier(
        n_estimators=20, random_state=0, progress=False,
        feature_options={"windows": ("0.1 s", "0.25 s", "0.5 s", "1 s", "2 s")},
    ).fit(ds, eth)  # fmt: skip
    proba = unfilled.predict_proba(part).values
    assert np.isnan(proba[135:165]).all() and np.isfinite(proba[:90]).all()
