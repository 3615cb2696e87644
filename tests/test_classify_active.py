"""Active learning: suggest_frames picks unlabelled, uncertain, novel bouts."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.classify import BehaviorClassifier, suggest_frames
from behavior.classify.active import SUGGESTION_COLUMNS
from behavior.errors import NotFittedError, PoseDataError
from behavior.ethogram import Ethogram

FPS = 10.0

# the per-behavior forests these tests were written for (the default is multiclass LightGBM)
FOREST_MC = {"model": "forest", "threshold": 0.5, "min_bout": None, "merge_gap": None}
FOREST = {**FOREST_MC, "multiclass": False}


def feature_array(x: np.ndarray, names: list[str] | None = None, fps: float = FPS) -> xr.DataArray:
    """Features ``(time, feature, individual)`` of one individual from ``(T, F)``."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    names = names or [f"f{k}" for k in range(x.shape[1])]
    return xr.DataArray(
        x[:, :, None],
        dims=("time", "feature", "individual"),
        coords={"time": np.arange(x.shape[0]) / fps, "feature": names, "individual": ["m"]},
        attrs={"fps": fps},
    )


def label_array(y: np.ndarray, behaviors: list[str], fps: float = FPS) -> xr.DataArray:
    """Float labels ``(time, behavior, individual)`` from ``(T, B)`` (NaN = unlabelled)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        y = y[:, None]
    return xr.DataArray(
        y[:, :, None],
        dims=("time", "behavior", "individual"),
        coords={"time": np.arange(y.shape[0]) / fps, "behavior": behaviors, "individual": ["m"]},
    )


def labelled_frames(labels: xr.DataArray) -> np.ndarray:
    return np.isfinite(labels.values).any(axis=1)[:, 0]


# --------------------------------------------------------------------------- a toy problem


@pytest.fixture(scope="module")
def toy():
    """A 1-feature problem: x < 0 is 'rest', x > 0 'run'; the first 300 of 1200 frames labelled."""
    rng = np.random.default_rng(0)
    x = np.repeat(rng.normal(size=120), 10) + rng.normal(scale=0.05, size=1200)
    feats = feature_array(np.c_[x, rng.normal(size=1200)], ["x", "noise"])
    y = np.full(1200, np.nan)
    y[:300] = x[:300] > 0
    labels = label_array(y, ["run"])
    clf = BehaviorClassifier(**FOREST, n_estimators=15, random_state=0, progress=False, n_jobs=1)
    clf.fit([feats], [labels])
    return feats, labels, clf


def check_invariants(table: pd.DataFrame, n_frames: dict[str, int], bout: int, done=None):
    assert list(table.columns) == SUGGESTION_COLUMNS
    assert (table["stop_frame"] - table["start_frame"] == bout).all()
    assert (table["n_frames"] == bout).all()
    assert table["score"].is_monotonic_decreasing
    for name, group in table.groupby("session"):
        assert (group["start_frame"] >= 0).all() and (group["stop_frame"] <= n_frames[name]).all()
        starts = np.sort(group["start_frame"].to_numpy())
        assert (np.diff(starts) >= 2 * bout).all()  # one bout apart, never overlapping
        if done is not None:
            for a, b in zip(group["start_frame"], group["stop_frame"], strict=True):
                assert not done[name][a:b].any()


def test_suggestions_are_unlabelled_apart_sorted_and_counted(toy):
    feats, labels, clf = toy
    table = suggest_frames(clf, {"toy": feats}, n=8, labelled={"toy": labels}, bout="2 s",
                           random_state=0)  # fmt: skip
    assert len(table) == 8
    check_invariants(table, {"toy": 1200}, 20, {"toy": labelled_frames(labels)})
    assert (table["session"] == "toy").all() and (table["individual"] == "m").all()
    assert np.isfinite(table[["uncertainty", "novelty", "score"]].to_numpy()).all()
    assert set(table["behavior"]) <= {"run", "none"}
    assert np.allclose(table["duration"], 2.0) and np.allclose(table["start"] * FPS,
                                                                table["start_frame"])  # fmt: skip


def test_without_labelled_novelty_is_left_out_and_labelled_frames_may_be_suggested(toy):
    feats, _, clf = toy
    table = suggest_frames(clf, feats, n=5, bout=10, random_state=0)
    assert len(table) == 5 and table["novelty"].isna().all()
    check_invariants(table, {table["session"][0]: 1200}, 10)


def test_too_few_candidates_warns_and_returns_fewer(toy):
    feats, labels, clf = toy
    with pytest.warns(UserWarning, match="only .* of the n=100"):
        table = suggest_frames(clf, [feats], n=100, labelled=[labels], bout="2 s",
                               random_state=0)  # fmt: skip
    # 900 unlabelled frames: 45 windows of 20, at most every other one is taken
    assert 0 < len(table) <= 23
    check_invariants(table, {table["session"][0]: 1200}, 20)


def test_all_labelled_gives_an_empty_table_with_a_warning(toy):
    feats, _, clf = toy
    full = label_array(np.zeros(1200), ["run"])
    with pytest.warns(UserWarning, match="no candidate"):
        table = suggest_frames(clf, [feats], n=3, labelled=[full])
    assert table.empty and list(table.columns) == SUGGESTION_COLUMNS


@pytest.mark.filterwarnings("ignore:suggest_frames. only")
def test_untracked_frames_are_never_suggested(toy):
    feats, labels, clf = toy
    holes = feats.copy(data=feats.values.copy())
    untracked = np.zeros(1200, dtype=bool)
    untracked[400:700] = True
    untracked[900:1200:7] = True
    holes.values[untracked] = np.nan
    table = suggest_frames(clf, [holes], n=50, labelled=[labels], bout=10, random_state=0,
                           novelty=0.0)  # fmt: skip
    assert len(table) > 0
    for a, b in zip(table["start_frame"], table["stop_frame"], strict=True):
        assert not untracked[a:b].any()


def test_max_per_session_spreads_suggestions(toy):
    feats, labels, clf = toy
    sessions = {"a": feats, "b": feats.copy(), "c": feats.copy()}
    given_labels = {"a": labels, "b": None, "c": labels}
    table = suggest_frames(clf, sessions, n=3, labelled=given_labels, max_per_session=1,
                           random_state=0)  # fmt: skip
    assert sorted(table["session"]) == ["a", "b", "c"]


@pytest.mark.filterwarnings("ignore:suggest_frames. only")
def test_uncertainty_is_highest_where_probabilities_are_ambiguous():
    """Training: x = -1 is 'none', x = +1 'run', x = 0 half and half. The x = 0 stretch
    of a new session is the most uncertain, for binary and multiclass models alike."""
    rng = np.random.default_rng(1)
    x = np.repeat([-1.0, 0.0, 1.0], 200)
    y = np.where(x > 0, 1.0, 0.0)
    y[200:400] = rng.random(200) < 0.5
    train = feature_array(x + rng.normal(scale=1e-3, size=x.size))
    new_x = np.repeat([1.0, -1.0, 0.0, 1.0, -1.0], 40)
    new = feature_array(new_x + rng.normal(scale=1e-3, size=new_x.size))
    for multiclass, measure in ((False, "margin"), (True, "margin"), (True, "entropy")):
        clf = BehaviorClassifier(**FOREST_MC, n_estimators=20, multiclass=multiclass,
                                 random_state=0,
                                 progress=False, n_jobs=1)  # fmt: skip
        clf.fit([train], [label_array(y, ["run"])])
        table = suggest_frames(clf, [new], n=1, bout=20, novelty=0.0, measure=measure,
                               random_state=0)  # fmt: skip
        assert 80 <= table["start_frame"][0] < 120, (multiclass, measure)
        full = suggest_frames(clf, [new], n=100, bout=20, novelty=0.0, measure=measure)
        ambiguous = (full["start_frame"] >= 80) & (full["start_frame"] < 120)
        assert full.loc[ambiguous, "uncertainty"].min() > full.loc[~ambiguous, "uncertainty"].max()


@pytest.mark.filterwarnings("ignore:suggest_frames. only")
def test_novelty_is_higher_far_from_the_labelled_frames():
    rng = np.random.default_rng(2)
    x = np.r_[rng.normal(0, 1, size=(300, 3)), rng.normal(0, 1, size=(100, 3)),
              rng.normal(8, 1, size=(100, 3))]  # fmt: skip
    feats = feature_array(x)
    y = np.full(500, np.nan)
    y[:300] = x[:300, 0] > 0
    labels = label_array(y, ["run"])
    clf = BehaviorClassifier(**FOREST, n_estimators=10, random_state=0, progress=False, n_jobs=1)
    clf.fit([feats], [labels])
    table = suggest_frames(clf, [feats], n=100, labelled=[labels], bout=10, random_state=0)
    far = table["start_frame"] >= 400
    assert far.any() and (~far).any()
    assert table.loc[far, "novelty"].min() > table.loc[~far, "novelty"].max()
    top = suggest_frames(clf, [feats], n=3, labelled=[labels], bout=10, novelty=1.0,
                         shortlist=1, random_state=0)  # fmt: skip
    assert (top["start_frame"] >= 400).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shortlist_spreads_suggestions_over_feature_space(seed):
    """Two equally confusing situations (z = -3 and z = +3 at the ambiguous x = 0): with a
    shortlist, the two suggestions are one of each, not two of one."""
    rng = np.random.default_rng(seed)
    x = np.repeat([-1.0, 0.0, 1.0], 300)
    y = np.where(x > 0, 1.0, 0.0)
    y[300:600] = rng.random(300) < 0.5
    train = feature_array(np.c_[x, rng.normal(size=x.size)], ["x", "z"])
    clf = BehaviorClassifier(**FOREST, n_estimators=20, random_state=0, progress=False, n_jobs=1)
    clf.fit([train], [label_array(y, ["run"])])
    blocks = [(1.0, 0.0), (0.0, -3.0), (-1.0, 0.0), (0.0, 3.0)] * 5  # 20 bouts of 20 frames
    new_x = np.repeat([b[0] for b in blocks], 20) + rng.normal(scale=1e-3, size=400)
    new_z = np.repeat([b[1] for b in blocks], 20) + rng.normal(scale=0.1, size=400)
    new = feature_array(np.c_[new_x, new_z], ["x", "z"])
    table = suggest_frames(clf, {"new": new, "train": train}, n=2, bout=20, novelty=0.0,
                           labelled={"new": None, "train": label_array(y, ["run"])},
                           shortlist=10, random_state=seed)  # fmt: skip
    z_of = [new_z[a:b].mean() for a, b in zip(table["start_frame"], table["stop_frame"],
                                                strict=True)]  # fmt: skip
    assert (table["session"] == "new").all()
    assert all(
        abs(new_x[a:b].mean()) < 0.1
        for a, b in zip(table["start_frame"], table["stop_frame"], strict=True)
    )
    assert sorted(np.sign(z_of)) == [-1.0, 1.0]
    assert table["score"].is_monotonic_decreasing


def test_same_seed_same_suggestions(toy):
    feats, labels, clf = toy
    kwargs = {"n": 6, "labelled": [labels], "bout": 15, "n_centroids": 5}
    a = suggest_frames(clf, [feats], random_state=3, **kwargs)
    b = suggest_frames(clf, [feats], random_state=3, **kwargs)
    pd.testing.assert_frame_equal(a, b)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 12),
    bout=st.integers(1, 60),
    cut=st.integers(0, 1100),
    novelty=st.floats(0, 1),
)
def test_invariants_hold_for_any_budget_bout_and_labelling(toy, n, bout, cut, novelty):
    feats, _, clf = toy
    y = np.full(1200, np.nan)
    y[cut : cut + 100] = 0.0
    labels = label_array(y, ["run"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fewer than n: allowed
        table = suggest_frames(clf, [feats], n=n, labelled=[labels], bout=bout,
                               novelty=novelty, random_state=0)  # fmt: skip
    assert 1 <= len(table) <= n
    name = table["session"][0]
    check_invariants(table, {name: 1200}, bout, {name: labelled_frames(labels)})


# --------------------------------------------------------------------------- errors


def test_errors_name_the_argument(toy):
    feats, labels, clf = toy
    with pytest.raises(NotFittedError, match="^model: .*unfitted"):
        suggest_frames(BehaviorClassifier(), [feats], n=3)
    with pytest.raises(PoseDataError, match="^model: "):
        suggest_frames("not a model", [feats], n=3)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(PoseDataError, match="^n: "):
            suggest_frames(clf, [feats], n=bad)
    with pytest.raises(PoseDataError, match="^bout: .*at least one frame"):
        suggest_frames(clf, [feats], n=3, bout="0.01 s")
    with pytest.raises(PoseDataError, match="^bout: "):
        suggest_frames(clf, [feats], n=3, bout=0)
    with pytest.raises(PoseDataError, match="^novelty: "):
        suggest_frames(clf, [feats], n=3, novelty=1.5)
    with pytest.raises(PoseDataError, match="^shortlist: "):
        suggest_frames(clf, [feats], n=3, shortlist=0)
    with pytest.raises(PoseDataError, match="^measure: "):
        suggest_frames(clf, [feats], n=3, measure="variance")
    with pytest.raises(PoseDataError, match="^labelled: expected one entry per session"):
        suggest_frames(clf, [feats, feats], n=3, labelled=[labels])
    with pytest.raises(PoseDataError, match="^labelled: no labels for session"):
        suggest_frames(clf, {"a": feats}, n=3, labelled={"b": labels})
    pair = xr.concat([labels, labels], dim="individual").assign_coords(individual=["a", "b"])
    with pytest.raises(PoseDataError, match="^labelled: .*individuals"):
        suggest_frames(clf, [feats], n=3, labelled=[pair])
    longer = label_array(np.zeros(2000), ["run"])
    with pytest.raises(PoseDataError, match="^labelled: "):
        suggest_frames(clf, [feats], n=3, labelled=[longer])


# --------------------------------------------------------------------------- simulated and real


def test_simulated_session_with_an_ethogram(toy):
    ds, truth = bh.simulate.session(duration="40 s", seed=3)
    feats = bh.features.extract(ds, windows=("0.5 s",), stats=("mean",), progress=False)
    eth = Ethogram.from_states(truth.labels)
    values = eth.labels.values.astype(np.float32)
    values[300:] = np.nan  # the first 10 s of both mice labelled
    labels = eth.labels.copy(data=values)
    clf = BehaviorClassifier(**FOREST, n_estimators=10, random_state=0, progress=False, n_jobs=1)
    clf.fit([feats], [labels])
    table = suggest_frames(clf, {"sim": feats}, n=6, labelled={"sim": labels}, random_state=0)
    assert len(table) == 6
    assert set(table["individual"]) <= set(map(str, ds["individual"].values))
    assert (table["start_frame"] >= 300).all()
    check_invariants(table, {"sim": feats.sizes["time"]}, 60)


def test_real_rat_session(shared_data):
    from behavior.io.annotations import load_annotations

    folder = shared_data / "rat_social_dev"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    ds = bh.load_poses(
        folder / "dlc_csv" / "1DLC_dlcrnetms5_DLC_ratJan24shuffle1_5000_el_filtered.csv", fps=30
    )
    eth = load_annotations(folder / "annotations" / "1_annot.txt", fps=30, background="base")
    feats = bh.features.extract(ds, windows=("1 s",), stats=("mean",), progress=False)
    feats = feats.sel(individual=["individual1"])
    behaviors = ["social", "nonsocial", "aggression"]
    s1 = eth.labels.sel(individual="S1", behavior=behaviors).values.astype(np.float32)
    n_time = feats.sizes["time"]
    y = np.full((n_time, 3), np.nan, dtype=np.float32)
    scored = s1[:n_time].any(axis=1)
    y[: s1.shape[0]][scored] = s1[:n_time][scored]
    y[4000:] = np.nan  # the user has labelled the first ~2 minutes of the scored window
    labels = xr.DataArray(
        y[:, :, None], dims=("time", "behavior", "individual"),
        coords={"time": feats["time"].values, "behavior": behaviors,
                "individual": ["individual1"]},
    )  # fmt: skip
    clf = BehaviorClassifier(**FOREST_MC, n_estimators=10, random_state=0, progress=False)
    clf.fit([feats], [labels])
    table = suggest_frames(clf, [feats], n=10, labelled=[labels], random_state=0)
    assert len(table) == 10
    done = np.isfinite(y).any(axis=1)
    check_invariants(table, {table["session"][0]: n_time}, 60, {table["session"][0]: done})
    assert np.isfinite(table["novelty"]).all()
    assert (table["uncertainty"] > 0).all()
