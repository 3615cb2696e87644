"""The default classifier on pair labels: multiclass LightGBM, unscored frames, HMM
smoothing, saving, on real two-rat sessions and on constructed cases."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.classify import BehaviorClassifier
from behavior.classify._common import (
    Rows,
    pair_mean,
    resolve_multiclass,
    smooth_classes,
)
from behavior.errors import FileFormatError, PoseDataError
from behavior.ethogram import Ethogram
from tests.conftest import SHARED_DATA as DATA

RATS = DATA / "rat_social_dev"
needs_rats = pytest.mark.skipif(
    not RATS.is_dir(), reason="../shared/data/rat_social_dev is absent (real two-rat sessions)"
)
FAST = {"n_estimators": 20, "random_state": 0, "progress": False}


def rat_session(n: int, frames: slice = slice(0, 4000)):
    csv = next((RATS / "dlc_csv").glob(f"{n}DLC*.csv"))
    ds = bh.load_poses(csv, fps=30).isel(time=frames)
    eth = bh.load_annotations(RATS / "annotations" / f"{n}_annot.txt", fps=30)
    labels = eth.labels.sel(individual=["S1"]).isel(time=frames).astype(np.float32)
    return ds, labels


@pytest.fixture(scope="module")
def rats():
    # the first 4,000 frames hold the start of the scored window (base before it)
    return [rat_session(n) for n in (1, 2, 3)]


@needs_rats
def test_pair_labels_give_one_exclusive_ethogram_for_the_pair(rats):
    (a, la), (b, lb), (c, _) = rats
    clf = BehaviorClassifier(unscored="base", **FAST).fit([a, b], [la, lb])
    assert clf.pair_ and clf.multiclass_
    assert "base" not in clf.behaviors_
    assert set(clf.behaviors_) <= {"social", "nonsocial", "aggression"}
    eth = clf.predict(c)
    assert eth.individuals == ["pair"]
    assert eth.exclusive
    assert (eth.labels.values.sum(axis=1) <= 1).all()
    proba = clf.predict_proba(c)
    assert proba.attrs["pair"] == ["individual1", "individual2"]
    # "top" names no nose: roles inferred on the training data are kept for later sessions
    assert clf.feature_options_["roles"]["nose"] == "top"
    assert clf.feature_options_["roles"]["tail_base"] == "tail"
    assert [str(f) for f in clf.features(c).feature.values] == clf.feature_names_
    # the pair's probability does not depend on which rat is called which
    np.testing.assert_allclose(
        clf.predict_proba(c.isel(individual=[1, 0])).values, proba.values, atol=1e-6
    )


@needs_rats
def test_unscored_frames_are_neither_trained_on_nor_scored(rats):
    (a, la), (b, lb), _ = rats
    clf = BehaviorClassifier(unscored="base", **FAST).fit([a], [la])
    # changing the labels of unscored frames changes nothing
    base = la.sel(behavior="base").values[:, 0] > 0.5
    assert base.any() and not base.all()
    relabelled = la.copy()
    relabelled.loc[{"behavior": "aggression"}] = np.where(
        base[:, None], 1.0, la.sel(behavior="aggression").values
    )
    other = BehaviorClassifier(unscored="base", **FAST).fit([a], [relabelled])
    np.testing.assert_array_equal(clf.predict_proba(b).values, other.predict_proba(b).values)
    assert clf.score([b], [lb]) == other.score([b], [lb])


@needs_rats
@pytest.mark.parametrize("model", ["lightgbm", "ensemble"])
def test_model_saved_and_loaded_predicts_the_same(rats, tmp_path, model):
    (a, la), (b, _), _ = rats
    clf = BehaviorClassifier(unscored="base", model=model, **FAST).fit([a], [la])
    # LightGBM is saved as its text model, the network as arrays
    keys = {"lightgbm": ["__multiclass__"], "ensemble": ["__multiclass__", "__multiclass__|tcn"]}
    assert sorted(clf.models_) == keys[model]
    path = clf.save(tmp_path / "pair.skops")
    again = BehaviorClassifier.load(path)
    assert type(again.models_["__multiclass__"]).__name__ == "BoosterClassifier"
    if model == "ensemble":
        assert type(again.models_["__multiclass__|tcn"]).__name__ == "TemporalConvClassifier"
    before, after = clf.predict_proba(b).values, again.predict_proba(b).values
    np.testing.assert_allclose(after, before, atol=1e-6)
    assert again.predict(b).labels.equals(clf.predict(b).labels)
    # a save never destroys the file it replaces: a failed save leaves it readable
    with pytest.raises(FileFormatError):
        clf.save(tmp_path / "pair.pkl")
    assert BehaviorClassifier.load(path).pair_


def test_labels_running_a_little_past_the_poses_are_cropped_more_refused(caplog):
    ds, truth = bh.simulate.session(duration="30 s", seed=0)
    labels = truth.labels
    n = ds.sizes["time"]
    longer = Ethogram.from_states(
        xr.concat([labels, labels.isel(time=slice(0, 8))], "time").assign_coords(
            time=np.arange(n + 8) / ds.attrs["fps"]
        )
    )
    with caplog.at_level(logging.WARNING):
        BehaviorClassifier(**FAST).fit([ds], [longer])
    assert "past the" in caplog.text
    much = Ethogram.from_states(
        xr.concat([labels, labels], "time").assign_coords(time=np.arange(2 * n) / ds.attrs["fps"])
    )
    with pytest.raises(PoseDataError, match="frames of labels for"):
        BehaviorClassifier(**FAST).fit([ds], [much])


def _rows(Y: np.ndarray) -> Rows:
    n = Y.shape[0]
    return Rows(
        X=np.zeros((n, 1), np.float32), Y=Y, session=np.zeros(n, np.int64),
        individual=np.zeros(n, np.int64), frame=np.arange(n), valid=np.ones(n, bool),
    )  # fmt: skip


def test_multiclass_auto_follows_whether_labels_overlap():
    est = BehaviorClassifier()
    exclusive = np.array([[1, 0], [0, 1], [0, 0], [np.nan, np.nan]], np.float32)
    overlapping = np.array([[1, 1], [0, 1]], np.float32)
    assert resolve_multiclass(est, _rows(exclusive))
    assert not resolve_multiclass(est, _rows(overlapping))
    assert not resolve_multiclass(BehaviorClassifier(multiclass=False), _rows(exclusive))
    with pytest.raises(PoseDataError, match="multiclass"):
        BehaviorClassifier(multiclass="yes").fit([np.zeros((3, 1, 1))], [exclusive])


def test_hmm_smoothing_removes_flicker_but_keeps_long_bouts():
    est = BehaviorClassifier()
    est.class_prior_ = np.array([0.45, 0.45, 0.10])
    stay = 0.98
    est.transitions_ = np.full((3, 3), (1 - stay) / 2) + np.eye(3) * (stay - (1 - stay) / 2)
    n = 300
    proba = np.zeros((n, 2), np.float32)
    proba[:, 0] = 0.7
    proba[:, 1] = 0.3
    proba[100:103] = [0.3, 0.7]  # a 3-frame flicker
    proba[200:260] = [0.2, 0.8]  # a real 60-frame bout
    proba[150:155] = np.nan  # untracked
    codes = smooth_classes(est, proba)
    assert (codes[100:103] == 0).all()
    assert (codes[205:255] == 1).all()
    assert (codes[150:155] == -1).all()
    assert (codes[:100] == 0).all()


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 4),
    st.integers(1, 30),
    st.integers(0, 2**16),
)
def test_pair_mean_is_the_mean_over_the_animals_of_each_frame(n_ind, n_time, seed):
    rng = np.random.default_rng(seed)
    proba = rng.random((n_ind * n_time, 3)).astype(np.float32)
    proba[rng.random(proba.shape[0]) < 0.2] = np.nan
    rows = Rows(
        X=np.zeros((n_ind * n_time, 1), np.float32), Y=None,
        session=np.zeros(n_ind * n_time, np.int64),
        individual=np.repeat(np.arange(n_ind), n_time),
        frame=np.tile(np.arange(n_time), n_ind), valid=np.ones(n_ind * n_time, bool), pair=True,
    )  # fmt: skip
    out = pair_mean(rows, proba).reshape(n_ind, n_time, 3)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanmean(proba.reshape(n_ind, n_time, 3), axis=0)
    for i in range(n_ind):
        np.testing.assert_allclose(out[i], expected, rtol=1e-5)
