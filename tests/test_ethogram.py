"""Tests for behavior/ethogram.py: conversions, summaries and agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics

import behavior as bh
from behavior.bouts import BOUT_COLUMNS, bouts, bouts_from_labels
from behavior.errors import PoseDataError
from behavior.ethogram import (
    Ethogram,
    agreement,
    bout_stats,
    confusion_matrix,
    time_budget,
    transition_matrix,
    transitions,
)

DEPOT = "behaviordepot_freezing/demo/demo1/demo1_human_freezing_perframe.csv"


def _states(codes, names, fps=10.0, individuals=None):
    codes = np.asarray(codes)
    if codes.ndim == 1:
        codes = codes[:, None]
    n, m = codes.shape
    return xr.DataArray(
        codes,
        dims=("time", "individual"),
        coords={
            "time": np.arange(n) / fps,
            "individual": individuals or [f"m{i}" for i in range(m)],
        },
        attrs={"labels": list(names), "fps": fps, "time_unit": "seconds"},
    )


def _mask(values, fps=10.0, individuals=None):
    values = np.asarray(values, dtype=bool)
    if values.ndim == 1:
        values = values[:, None]
    n, m = values.shape
    return xr.DataArray(
        values,
        dims=("time", "individual"),
        coords={
            "time": np.arange(n) / fps,
            "individual": individuals or [f"m{i}" for i in range(m)],
        },
        attrs={"fps": fps, "time_unit": "seconds"},
    )


@pytest.fixture(scope="module")
def social():
    ds, truth = bh.simulate.session(kind="social", duration="20 s", seed=2)
    return ds, truth


# --------------------------------------------------------------------------- round trips


def test_simulation_truth_round_trips_exactly_with_partners(social):
    ds, truth = social
    eth = Ethogram.from_states(truth.labels, partner=truth.partner)
    assert eth.exclusive and eth.behaviors == list(truth.labels.attrs["labels"])
    pd.testing.assert_frame_equal(eth.to_bouts(), truth.bouts)
    xr.testing.assert_equal(eth.to_states().drop_attrs(), truth.labels.drop_attrs())
    back = Ethogram.from_bouts(truth.bouts, ds, behaviors=eth.behaviors, exclusive=True)
    assert back == eth
    assert "exclusive" in repr(eth) and "mouse_0" in repr(eth)


@settings(max_examples=30, deadline=None)
@given(
    codes=arrays(
        np.int64, st.tuples(st.integers(1, 40), st.integers(1, 3)), elements=st.integers(-1, 3)
    ),
    fps=st.sampled_from([1.0, 10.0, 29.97]),
)
def test_states_to_ethogram_to_states_and_bouts_are_exact(codes, fps):
    states = _states(codes, ["a", "b", "c", "d"], fps=fps)
    eth = Ethogram.from_states(states)
    np.testing.assert_array_equal(eth.to_states().values, codes)
    expected = bouts_from_labels(states)
    bouts = eth.to_bouts()
    assert list(bouts.columns) == BOUT_COLUMNS
    pd.testing.assert_frame_equal(bouts, expected)
    assert Ethogram.from_bouts(bouts, states, behaviors=eth.behaviors, exclusive=True) == eth


@settings(max_examples=30, deadline=None)
@given(
    values=arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 3), st.integers(1, 2))),
)
def test_non_exclusive_masks_to_bouts_and_back_are_exact(values):
    _, k, m = values.shape
    masks = {f"b{j}": _mask(values[:, j, :m], individuals=["ann", "bob"][:m]) for j in range(k)}
    eth = Ethogram.from_masks(masks)
    np.testing.assert_array_equal(eth.labels.values, values)
    table = eth.to_bouts()
    by_events = pd.concat([bouts(v, behavior=b) for b, v in masks.items()], ignore_index=True)
    key = ["individual", "start_frame", "behavior"]
    pd.testing.assert_frame_equal(
        table, by_events.sort_values(key, kind="stable").reset_index(drop=True)
    )
    back = Ethogram.from_bouts(table, masks["b0"], behaviors=eth.behaviors)
    assert back == eth
    pd.testing.assert_frame_equal(back.to_bouts(), table)
    # from times only (start/stop in seconds): same frames
    times = table[["individual", "behavior", "start", "stop"]]
    assert Ethogram.from_bouts(times, masks["b0"], behaviors=eth.behaviors) == eth


def test_from_bouts_merges_overlaps_when_not_exclusive_and_refuses_them_when_exclusive():
    bouts = pd.DataFrame(
        {
            "individual": ["a", "a"],
            "behavior": ["x", "x"],
            "start_frame": [0, 2],
            "stop_frame": [4, 6],
        }
    )
    eth = Ethogram.from_bouts(bouts, np.arange(8) / 4)
    assert eth.labels.values[:, 0, 0].tolist() == [True] * 6 + [False] * 2
    assert eth.to_bouts()[["start_frame", "stop_frame"]].values.tolist() == [[0, 6]]
    assert eth.to_bouts()["stop"].tolist() == [1.5]
    with pytest.raises(PoseDataError, match="overlap"):
        Ethogram.from_bouts(bouts, np.arange(8) / 4, exclusive=True)
    with pytest.raises(PoseDataError, match=r"behavior\(s\) \['x'\] not in behaviors"):
        Ethogram.from_bouts(bouts, np.arange(8), behaviors=["y"])
    with pytest.raises(PoseDataError, match="start_frame/stop_frame or start/stop"):
        Ethogram.from_bouts(bouts[["individual", "behavior"]], np.arange(8))


def test_exclusive_ethogram_refuses_two_behaviors_in_a_frame():
    values = np.zeros((3, 2, 1), dtype=bool)
    values[1, :, 0] = True
    labels = xr.DataArray(
        values,
        dims=("time", "behavior", "individual"),
        coords={"behavior": ["a", "b"], "individual": ["m"]},
    )
    with pytest.raises(PoseDataError, match="frame 1"):
        Ethogram(labels, exclusive=True)
    with pytest.raises(PoseDataError, match="not exclusive"):
        Ethogram(labels).to_states()
    with pytest.raises(PoseDataError, match="behavior"):
        Ethogram(labels.isel(behavior=0, drop=True))


def test_from_probabilities_thresholds_per_behavior_and_nan():
    proba = xr.DataArray(
        np.array([[0.2, 0.7], [0.6, np.nan], [0.9, 0.4]])[:, :, None],
        dims=("time", "behavior", "individual"),
        coords={"behavior": ["groom", "rear"], "individual": ["m"]},
    )
    eth = Ethogram.from_probabilities(proba, {"groom": 0.5, "rear": 0.3})
    assert eth.labels.values[:, :, 0].tolist() == [[False, True], [True, False], [True, True]]
    assert eth.attrs["source"] == "classifier" and not eth.exclusive
    with pytest.raises(PoseDataError, match=r"no threshold for behavior\(s\) \['rear'\]"):
        Ethogram.from_probabilities(proba, {"groom": 0.5})


def test_sel_to_dataframe_and_netcdf_round_trip(social, tmp_path):
    _, truth = social
    eth = Ethogram.from_states(truth.labels, partner=truth.partner)
    eth.points = pd.DataFrame(
        {"individual": ["mouse_0"], "behavior": ["sniff"], "time": [1.5], "frame": [45]}
    )
    eth.attrs.update(source="test", issues=["unpaired START of 'x' at 3.0 s"])
    path = eth.to_netcdf(tmp_path / "eth.nc")
    back = Ethogram.from_netcdf(path)
    assert back == eth
    pd.testing.assert_frame_equal(back.to_bouts(), truth.bouts)
    sub = eth.sel(behavior=["chase", "flee"], individual="mouse_1")
    assert sub.behaviors == ["chase", "flee"] and sub.individuals == ["mouse_1"]
    assert set(sub.to_bouts()["behavior"]) <= {"chase", "flee"}
    with pytest.raises(PoseDataError, match="'sing'"):
        eth.sel(behavior="sing")
    table = eth.to_dataframe()
    assert len(table) == eth.n_frames * 2
    assert (table[eth.behaviors].sum(axis=1) == 1).all()  # the truth labels every frame
    with pytest.raises(bh.FileFormatError, match="ethogram"):
        Ethogram.from_netcdf(
            truth.labels.to_dataset(name="x").to_netcdf(tmp_path / "x.nc") or tmp_path / "x.nc"
        )


# --------------------------------------------------------------------------- real labels


def test_behaviordepot_human_freezing_labels(shared_data):
    table = pd.read_csv(shared_data / DEPOT)
    assert table["frame"].tolist() == list(range(len(table)))
    freezing = table["freezing_human"].to_numpy().astype(bool)
    mask = _mask(freezing, fps=50.0, individuals=["mouse"])
    eth = Ethogram.from_masks({"freezing": mask})
    bouts = eth.to_bouts()
    assert len(bouts) == 20  # PROVENANCE: 20 human bouts
    assert bouts["n_frames"].sum() == 1368  # VERIFY: 1368 frames of freezing
    back = Ethogram.from_bouts(bouts, mask)
    assert back == eth
    np.testing.assert_array_equal(back.labels.values[:, 0, 0], freezing)
    budget = time_budget(eth).iloc[0]
    assert budget["fraction"] == pytest.approx(freezing.mean())
    assert budget["seconds"] == pytest.approx(1368 / 50.0)
    stats = bout_stats(eth).iloc[0]
    assert stats["n_bouts"] == 20
    assert stats["latency"] == pytest.approx(np.argmax(freezing) / 50.0)
    assert stats["mean_duration"] == pytest.approx(1368 / 50.0 / 20)


# --------------------------------------------------------------------------- summaries


def test_time_budget_per_bin_and_zone():
    # 1 fps, 120 s: 'a' for the first 30 s, 'b' for 60-90 s
    codes = np.full(120, -1)
    codes[:30] = 0
    codes[60:90] = 1
    eth = Ethogram.from_states(_states(codes, ["a", "b"], fps=1.0))
    whole = time_budget(eth).set_index("behavior")
    assert whole.loc["a", "seconds"] == 30.0 and whole.loc["b", "percent"] == 25.0
    binned = time_budget(eth, bin="1 min").set_index(["bin_start", "behavior"])
    assert binned.loc[(0.0, "a"), "percent"] == 50.0 and binned.loc[(60.0, "a"), "seconds"] == 0
    assert binned.loc[(60.0, "b"), "fraction"] == 0.5
    assert set(binned["bin_stop"]) == {60.0, 120.0}
    zone = _mask(np.arange(120) < 20, fps=1.0)  # in the zone for the first 20 s
    zoned = time_budget(eth, zones={"corner": zone}).set_index("behavior")
    assert zoned.loc["a", "seconds"] == 20.0 and zoned.loc["a", "percent"] == 100.0
    assert zoned.loc["b", "seconds"] == 0.0 and (zoned["zone"] == "corner").all()
    with pytest.raises(PoseDataError, match="expected 120 frames"):
        time_budget(eth, zones=_mask(np.ones(5), fps=1.0))
    with pytest.raises(PoseDataError, match="bin"):
        time_budget(eth, bin="soon")


def test_bout_stats_values_by_hand():
    # 1 fps: 'a' bouts [2,4) [6,7) [10,13); 'b' never
    codes = np.full(20, -1)
    codes[2:4] = 0
    codes[6:7] = 0
    codes[10:13] = 0
    eth = Ethogram.from_states(_states(codes, ["a", "b"], fps=1.0))
    stats = bout_stats(eth).set_index("behavior")
    a = stats.loc["a"]
    assert a["n_bouts"] == 3 and a["total_duration"] == 6.0
    assert a["mean_duration"] == 2.0 and a["median_duration"] == 2.0
    assert a["std_duration"] == pytest.approx(np.std([2, 1, 3], ddof=1))
    assert a["mean_interval"] == pytest.approx(np.mean([2, 3]))
    assert a["latency"] == 2.0
    assert stats.loc["b", "n_bouts"] == 0 and np.isnan(stats.loc["b", "latency"])
    binned = bout_stats(eth, bin="10 s").set_index(["bin_start", "behavior"])
    assert binned.loc[(0.0, "a"), "n_bouts"] == 2 and binned.loc[(10.0, "a"), "latency"] == 0.0


def test_transitions_counts_probabilities_and_entropy():
    # m0: a b a c (gap) a ; m1: b b(partner change via gap) -> b -> a
    m0 = [0, 0, 1, 0, 2, -1, 0]
    m1 = [1, 1, -1, 1, 0, 0, 0]
    eth = Ethogram.from_states(_states(np.array([m0, m1]).T, ["a", "b", "c"]))
    table = transitions(eth)
    t0 = table[table["individual"] == "m0"].set_index(["from", "to"])
    assert t0.loc[("a", "b"), "count"] == 1 and t0.loc[("a", "c"), "count"] == 1
    assert t0.loc[("c", "a"), "count"] == 1  # across the unlabelled gap
    assert t0.loc[("a", "b"), "probability"] == 0.5
    assert t0.loc[("a", "b"), "entropy"] == pytest.approx(1.0)  # two equally likely exits
    assert t0.loc[("b", "a"), "entropy"] == 0.0
    pooled = transition_matrix(eth, normalize=False)
    assert pooled.loc["b", "b"] == 1 and pooled.loc["b", "a"] == 2
    assert transition_matrix(eth).loc["b"].sum() == pytest.approx(1.0)
    with pytest.raises(PoseDataError, match="exclusive"):
        transitions(Ethogram.from_masks({"x": _mask([1, 0, 1])}))


# --------------------------------------------------------------------------- agreement


def test_frame_agreement_matches_sklearn_on_random_labels():
    rng = np.random.default_rng(0)
    ref = Ethogram.from_states(_states(rng.integers(-1, 3, size=(500, 2)), ["a", "b", "c"]))
    noisy = ref.to_states().values.copy()
    flip = rng.random(noisy.shape) < 0.3
    noisy[flip] = rng.integers(-1, 3, size=flip.sum())
    other = Ethogram.from_states(_states(noisy, ["a", "b", "c"]))
    table = agreement(ref, other).set_index(["individual", "behavior"])
    for i, ind in enumerate(ref.individuals):
        for k, beh in enumerate(ref.behaviors):
            y_true = ref.to_states().values[:, i] == k
            y_pred = noisy[:, i] == k
            row = table.loc[(ind, beh)]
            assert row["frame_precision"] == pytest.approx(metrics.precision_score(y_true, y_pred))
            assert row["frame_recall"] == pytest.approx(metrics.recall_score(y_true, y_pred))
            assert row["frame_f1"] == pytest.approx(metrics.f1_score(y_true, y_pred))
            assert row["kappa"] == pytest.approx(metrics.cohen_kappa_score(y_true, y_pred))
    conf = confusion_matrix(ref, other)
    labels = [0, 1, 2, -1]
    expected = sum(
        metrics.confusion_matrix(ref.to_states().values[:, i], noisy[:, i], labels=labels)
        for i in range(2)
    )
    np.testing.assert_array_equal(conf.to_numpy(), expected)
    assert list(conf.index) == ["a", "b", "c", "none"]
    one = confusion_matrix(ref, other, individual="m1").to_numpy()
    np.testing.assert_array_equal(
        one, metrics.confusion_matrix(ref.to_states().values[:, 1], noisy[:, 1], labels=labels)
    )


def test_bout_agreement_matches_greedy_iou():
    ref = np.zeros(100, dtype=bool)
    ref[10:20] = ref[40:50] = ref[70:72] = True
    other = np.zeros(100, dtype=bool)
    other[12:20] = True  # IoU 0.8 with [10, 20)
    other[40:44] = other[46:50] = True  # two halves of [40, 50): IoU 0.4 each
    other[90:95] = True  # a false positive
    a = Ethogram.from_masks({"x": _mask(ref)})
    b = Ethogram.from_masks({"x": _mask(other)})
    row = agreement(a, b).iloc[0]
    assert (row["bouts_reference"], row["bouts_other"], row["bouts_matched"]) == (3, 4, 1)
    assert row["bout_precision"] == 0.25 and row["bout_recall"] == pytest.approx(1 / 3)
    assert row["bout_f1"] == pytest.approx(2 / 7)
    assert agreement(a, b, iou=0.3).iloc[0]["bouts_matched"] == 2  # one-to-one: one half only
    assert agreement(a, a).iloc[0]["bout_f1"] == 1.0
    # a behavior missing from one rater is never shown by it
    c = Ethogram.from_masks({"y": _mask(other)})
    rows = agreement(a, c).set_index("behavior")
    assert rows.loc["x", "frames_other"] == 0 and np.isnan(rows.loc["x", "frame_precision"])
    with pytest.raises(PoseDataError, match="expected 100 frames"):
        agreement(a, Ethogram.from_masks({"x": _mask(other[:50])}))
    with pytest.raises(PoseDataError, match="iou"):
        agreement(a, b, iou=0)


def test_time_budget_counts_the_frames_of_each_code(social):
    ds, truth = social
    eth = Ethogram.from_states(truth.labels, partner=truth.partner)
    table = time_budget(eth).set_index(["individual", "behavior"])
    names = truth.labels.attrs["labels"]
    for individual in truth.labels.individual.values:
        codes = truth.labels.sel(individual=individual).values
        for code, name in enumerate(names):
            frames = int((codes == code).sum())
            assert table.loc[(individual, name), "frames"] == frames
            assert table.loc[(individual, name), "seconds"] == pytest.approx(
                frames / ds.attrs["fps"]
            )
    assert list(table.reset_index().columns[:5]) == [
        "individual",
        "behavior",
        "frames",
        "seconds",
        "fraction",
    ]


@pytest.mark.parametrize("value", [np.zeros((5, 2, 1)), [[0, 1]], None, "labels.csv"])
def test_ethogram_of_something_else_than_a_dataarray_is_a_named_error(value):
    with pytest.raises(PoseDataError, match="labels: expected an xarray DataArray"):
        Ethogram(value)
