"""Tests for behavior/study/training.py: fitting across sessions on blocks read by workers."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.classify import BehaviorClassifier
from behavior.errors import PoseDataError
from behavior.study import StudyFit, fit_across
from behavior.study.training import block_ranges, session_blocks

FPS = 30
N_SESSIONS = 5  # four to fit on, one held out


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> tuple[list[Path], list]:
    """Five simulated one-minute sessions of two mice (netCDF files) and their truth labels."""
    folder = tmp_path_factory.mktemp("sessions")
    paths, labels = [], []
    for seed in range(N_SESSIONS):
        ds, truth = bh.simulate.session(duration="1 min", fps=FPS, seed=seed)
        paths.append(bh.save_poses(ds, folder / f"mouse{seed}.nc"))
        labels.append(truth.labels)
    return paths, labels


def small_classifier(**params) -> BehaviorClassifier:
    """A classifier cheap enough for tests: few window features, a small LightGBM."""
    options = {"windows": ("1 s",), "sets": ("pose", "kinematics", "dyad")}
    defaults = dict(
        random_state=0, progress=False, threshold=0.5, min_bout=None, merge_gap=None,
        feature_options=options, n_estimators=40, n_jobs=1,
    )  # fmt: skip
    return BehaviorClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted(sessions) -> StudyFit:
    """A classifier fitted on half a minute (10 s blocks) of each of four sessions."""
    paths, labels = sessions
    return fit_across(paths[:4], small_classifier(), labels[:4], minutes_per_session=0.5,
                      block="10 s", scheduler="synchronous", random_state=0,
                      progress=False)  # fmt: skip


def frame_accuracy(eth, truth) -> float:
    """Fraction of (frame, animal) whose predicted class (or none) is the true state."""
    on = eth.labels.values.astype(bool)  # (time, behavior, individual)
    names = np.array([*eth.behaviors, "none"])
    predicted = names[np.where(on.any(axis=1), on.argmax(axis=1), len(eth.behaviors))]
    true = np.array(truth.attrs["labels"])[truth.values]
    return float((predicted == true).mean())


# --------------------------------------------------------------------------- blocks


@settings(max_examples=60, deadline=None)
@given(
    n_frames=st.integers(0, 5000),
    n_keep=st.one_of(st.none(), st.integers(0, 6000)),
    block_frames=st.integers(1, 700),
    seed=st.integers(0, 2**32 - 1),
)
def test_block_ranges_are_sorted_disjoint_blocks_of_the_kept_frames(
    n_frames, n_keep, block_frames, seed
):
    ranges = block_ranges(n_frames, n_keep, block_frames, seed)
    assert sum(stop - start for start, stop in ranges) == (
        n_frames if n_keep is None else min(n_keep, n_frames)
    )
    for start, stop in ranges:
        assert 0 <= start < stop <= n_frames
    for (_, stop), (start, _) in itertools.pairwise(ranges):
        assert stop <= start  # in time order, never overlapping
    if n_keep is not None and n_keep < n_frames:
        assert all(stop - start <= block_frames for start, stop in ranges)
        assert sum(stop - start < block_frames for start, stop in ranges) <= 1
    assert ranges == block_ranges(n_frames, n_keep, block_frames, seed)


def test_block_ranges_spread_over_the_whole_session():
    starts = np.concatenate(
        [[s for s, _ in block_ranges(1000, 100, 10, seed)] for seed in range(200)]
    )
    # uniform placements reach both ends of the session
    assert starts.min() < 50 and starts.max() > 900


def test_block_ranges_refuses_an_empty_block():
    with pytest.raises(PoseDataError, match="block"):
        block_ranges(100, 10, 0)


def test_session_blocks_are_slices_of_the_features_of_the_whole_session(sessions):
    paths, labels = sessions
    clf = small_classifier()
    out = session_blocks(paths[0], clf, labels[0], minutes_per_session=0.2, block="3 s", seed=1)
    whole = clf.features(bh.load_poses(paths[0]))
    truth = labels[0]
    assert [r["n_frames"] for r in out["table"]] == [90, 90, 90, 90]
    for features, label, row in zip(out["blocks"], out["labels"], out["table"], strict=True):
        start, stop = row["start_frame"], row["stop_frame"]
        # the window features of the whole series, not recomputed on the block
        np.testing.assert_array_equal(features.values, whole.values[start:stop])
        np.testing.assert_allclose(features["time"].values, whole["time"].values[start:stop])
        assert np.allclose(np.diff(features["time"].values), 1 / FPS)  # contiguous frames
        # labels of the same frames: the true state is the one labelled 1
        state = np.array(truth.attrs["labels"])[truth.values[start:stop]]
        on = label.sel(individual=list(truth["individual"].values)).values > 0.5
        picked = np.array(label["behavior"].values)[on.argmax(axis=1)]
        assert (picked == state).all()


# --------------------------------------------------------------------------- fitting


def test_rows_per_session_are_bounded_and_blocks_stay_inside_their_session(fitted, sessions):
    paths, _ = sessions
    table = fitted.blocks
    assert fitted.sessions == [p.name for p in paths[:4]]
    assert set(table["session"]) == set(fitted.sessions)
    per_session = table.groupby("session")
    assert (per_session["n_frames"].sum() <= 0.5 * 60 * FPS).all()
    assert (per_session["n_rows"].sum() <= 0.5 * 60 * FPS * 2).all()  # two mice
    assert (table["n_frames"] <= 10 * FPS).all()
    assert (table["stop_frame"] - table["start_frame"] == table["n_frames"]).all()
    assert (table["start_frame"] >= 0).all()
    assert (table["stop_frame"] <= table["session_frames"]).all()
    for _, blocks in per_session:
        starts, stops = blocks["start_frame"].to_numpy(), blocks["stop_frame"].to_numpy()
        assert (stops[:-1] <= starts[1:]).all()  # disjoint, in time order
    assert fitted.estimator.behaviors_  # fitted
    assert "4 session(s), 12 block(s), 2.0 min, 7200 rows" in repr(fitted)


def test_a_classifier_fitted_on_blocks_predicts_a_held_out_session_above_chance(fitted, sessions):
    paths, labels = sessions
    truth = labels[4]
    accuracy = frame_accuracy(fitted.estimator.predict(paths[4]), truth)
    _, counts = np.unique(truth.values, return_counts=True)
    majority = counts.max() / counts.sum()
    # measured: 0.90 against 0.57 for the most common state (0.81 with random_state=1)
    assert accuracy > majority + 0.15


def test_the_same_seed_gives_the_same_blocks_and_predictions(sessions):
    paths, labels = sessions
    runs = [
        fit_across(paths[:2], small_classifier(), labels[:2], minutes_per_session=0.25,
                   block="5 s", scheduler="synchronous", random_state=seed, progress=False)
        for seed in (3, 3, 4)
    ]  # fmt: skip
    pd.testing.assert_frame_equal(runs[0].blocks, runs[1].blocks)
    assert not runs[0].blocks[["start_frame"]].equals(runs[2].blocks[["start_frame"]])
    first, second = (run.estimator.predict_proba(paths[4]) for run in runs[:2])
    np.testing.assert_array_equal(first.values, second.values)


def test_labels_as_annotation_files_by_name_and_a_function(sessions, tmp_path):
    paths, labels = sessions
    files = {}
    for path, truth in zip(paths[:2], labels[:2], strict=True):
        eth = bh.Ethogram.from_states(truth)
        files[path.stem] = bh.save_annotations(eth, tmp_path / f"{path.stem}.csv")
    by_name = fit_across(paths[:2], small_classifier(), files, minutes_per_session=0.25,
                         scheduler="synchronous", random_state=0, progress=False)  # fmt: skip
    by_function = fit_across(paths[:2], small_classifier(),
                             lambda p: tmp_path / f"{Path(p).stem}.csv", minutes_per_session=0.25,
                             scheduler="synchronous", random_state=0, progress=False)  # fmt: skip
    pd.testing.assert_frame_equal(by_name.blocks, by_function.blocks)
    assert by_name.estimator.behaviors_ == by_function.estimator.behaviors_


def test_max_sessions_draws_that_many(sessions):
    paths, labels = sessions
    fit = fit_across(paths[:4], small_classifier(), labels[:4], minutes_per_session=0.1,
                     max_sessions=2, scheduler="synchronous", random_state=0,
                     progress=False)  # fmt: skip
    assert len(fit.sessions) == 2 and set(fit.sessions) <= {p.name for p in paths[:4]}


def test_a_syllable_model_is_fitted_on_blocks_of_poses(sessions):
    paths, _ = sessions
    fit = fit_across(paths[:2], "hmm", minutes_per_session=0.2, block="4 s",
                     fit_options={"n_states": 3, "n_iter": 5}, scheduler="synchronous",
                     random_state=0, progress=False)  # fmt: skip
    syl = fit.result
    assert len(syl.labels) == len(fit.blocks) == 6  # every block its own sequence
    for key, row in zip(syl.labels, fit.blocks.itertuples(), strict=True):
        assert key.startswith(row.session)
        assert syl.labels[key].sizes["time"] == row.n_frames


def test_a_behavior_map_is_fitted_on_blocks_of_poses(sessions):
    from behavior.embedding import BehaviorMap

    paths, _ = sessions
    model = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=3, random_state=0,
                        progress=False)  # fmt: skip
    fit = fit_across(paths[:2], model, minutes_per_session=0.2, block="4 s",
                     scheduler="synchronous", random_state=0, progress=False)  # fmt: skip
    assert fit.estimator is model and fit.result is model
    assert fit.blocks["n_frames"].sum() == 2 * 0.2 * 60 * FPS
    assert model.predict(paths[4]).labels.sizes["time"] == 60 * FPS


# --------------------------------------------------------------------------- errors


def test_a_bad_file_is_named(sessions, tmp_path):
    paths, labels = sessions
    bad = tmp_path / "broken.nc"
    bad.write_bytes(b"not a netcdf file")
    with pytest.raises(PoseDataError, match="broken.nc"):
        fit_across([paths[0], bad], small_classifier(), [labels[0], labels[1]],
                   scheduler="synchronous", progress=False)  # fmt: skip


def test_labels_that_do_not_match_a_session_name_it(sessions):
    paths, labels = sessions
    _, long_truth = bh.simulate.session(duration="2 min", fps=FPS, seed=9)
    with pytest.raises(PoseDataError, match=r"mouse1\.nc.*frames of labels"):
        fit_across(paths[:2], small_classifier(), [labels[0], long_truth.labels],
                   scheduler="synchronous", progress=False)  # fmt: skip
    with pytest.raises(PoseDataError, match=r"no labels for session\(s\) \['mouse1.nc'\]"):
        fit_across(paths[:2], small_classifier(), {"mouse0": labels[0]},
                   scheduler="synchronous", progress=False)  # fmt: skip
    with pytest.raises(PoseDataError, match=r"one entry per session \(2"):
        fit_across(paths[:2], small_classifier(), labels[:3],
                   scheduler="synchronous", progress=False)  # fmt: skip
    with pytest.raises(PoseDataError, match="labels: a BehaviorClassifier needs"):
        fit_across(paths[:2], small_classifier(), scheduler="synchronous", progress=False)


def test_bad_arguments_are_refused(sessions):
    paths, labels = sessions
    with pytest.raises(PoseDataError, match="minutes_per_session"):
        fit_across(paths[:1], small_classifier(), labels[:1], minutes_per_session=0)
    with pytest.raises(PoseDataError, match="estimator"):
        fit_across(paths[:1], "kmeans")
    with pytest.raises(PoseDataError, match="max_sessions"):
        fit_across(paths[:1], "hmm", max_sessions=0)


# --------------------------------------------------------------------------- a cluster


def test_a_local_cluster_of_two_workers_keeps_the_same_blocks(sessions):
    pytest.importorskip("distributed")
    paths, labels = sessions
    common = dict(minutes_per_session=0.25, block="5 s", random_state=7, progress=False)
    local = fit_across(paths[:3], small_classifier(), labels[:3], n_workers=2,
                       memory_limit=None, **common)  # fmt: skip
    here = fit_across(paths[:3], small_classifier(), labels[:3], scheduler="synchronous",
                      **common)  # fmt: skip
    pd.testing.assert_frame_equal(local.blocks, here.blocks)
    assert set(local.worker_peak_rss_mb) == {p.name for p in paths[:3]}
    np.testing.assert_array_equal(
        local.estimator.predict_proba(paths[4]).values,
        here.estimator.predict_proba(paths[4]).values,
    )
