"""held_out_rate: scoring syllables against a behavior a person labelled, without leaks."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import behavior as bh
from behavior.errors import PoseDataError
from behavior.syllables import held_out_rate


@st.composite
def coded_frames(draw):
    n = draw(st.integers(4, 120))
    codes = np.array(draw(st.lists(st.integers(-1, 5), min_size=n, max_size=n)))
    events = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    n_blocks = draw(st.integers(2, min(n, 8)))
    return codes, events, n_blocks


def _blocks(n, n_blocks):
    edges = np.linspace(0, n, n_blocks + 1).round().astype(int)
    return list(itertools.pairwise(edges))


@settings(max_examples=80, deadline=None)
@given(coded_frames(), st.data())
def test_a_frames_score_never_sees_its_own_blocks_labels(case, data):
    codes, events, n_blocks = case
    rate = held_out_rate(codes, events, n_blocks)
    assert rate.shape == codes.shape and np.all((rate >= 0) & (rate <= 1))
    lo, hi = data.draw(st.sampled_from(_blocks(codes.size, n_blocks)))
    flipped = events.copy()
    flipped[lo:hi] = ~flipped[lo:hi]
    np.testing.assert_allclose(held_out_rate(codes, flipped, n_blocks)[lo:hi], rate[lo:hi])


@settings(max_examples=80, deadline=None)
@given(coded_frames())
def test_rates_are_the_syllables_shares_in_the_other_blocks(case):
    codes, events, n_blocks = case
    rate = held_out_rate(codes, events, n_blocks)
    for lo, hi in _blocks(codes.size, n_blocks):
        other = np.ones(codes.size, bool)
        other[lo:hi] = False
        prior = events[other].mean()
        for t in range(lo, hi):
            same = other & (codes == codes[t])
            expected = (events[same].sum() + prior) / (same.sum() + 1)
            assert rate[t] == pytest.approx(expected)  # a syllable unseen there: the prior


@settings(max_examples=80, deadline=None)
@given(coded_frames(), st.data())
def test_groups_are_blocks_a_frames_score_never_sees_its_own_groups_labels(case, data):
    codes, events, n_blocks = case
    # contiguous groups are the n_blocks blocks
    ids = np.concatenate(
        [np.full(hi - lo, f"s{i}") for i, (lo, hi) in enumerate(_blocks(codes.size, n_blocks))]
    )
    np.testing.assert_array_equal(
        held_out_rate(codes, events, groups=ids), held_out_rate(codes, events, n_blocks)
    )
    # groups in any order (animals interleaved): flipping one group's labels leaves its scores
    groups = np.array(
        data.draw(st.lists(st.integers(0, 3), min_size=codes.size, max_size=codes.size))
    )
    if np.unique(groups).size < 2:
        return
    rate = held_out_rate(codes, events, groups=groups)
    assert np.all((rate >= 0) & (rate <= 1))
    one = groups == data.draw(st.sampled_from(sorted(set(groups.tolist()))))
    flipped = np.where(one, ~events, events)
    np.testing.assert_allclose(held_out_rate(codes, flipped, groups=groups)[one], rate[one])


def test_syllables_that_are_the_behavior_separate_it_perfectly():
    rng = np.random.default_rng(0)
    events = np.repeat(rng.random(40) < 0.3, 25)  # bouts of 25 frames
    codes = np.where(events, 3, 0) + rng.integers(0, 2, events.size)  # 2 syllables each
    rate = held_out_rate(codes, events, n_blocks=4)
    assert roc_auc_score(events, rate) == 1.0
    shuffled = rng.permutation(codes)
    assert roc_auc_score(events, held_out_rate(shuffled, events, n_blocks=4)) < 0.75


@pytest.mark.parametrize(
    ("codes", "events", "n_blocks", "match"),
    [
        (np.zeros(10, int), np.zeros(9, bool), 2, "one length"),
        (np.zeros((5, 2), int), np.zeros((5, 2), bool), 2, "1-D"),
        (np.zeros(10), np.zeros(10, bool), 2, "integer syllable ids"),
        (np.zeros(10, int), np.zeros(10, bool), 1, "n_blocks: expected 2 to 10"),
        (np.zeros(10, int), np.zeros(10, bool), 11, "n_blocks: expected 2 to 10"),
        (np.zeros(10, int), np.zeros(10, bool), True, "n_blocks: expected an integer"),
    ],
)
def test_bad_arguments_name_themselves(codes, events, n_blocks, match):
    with pytest.raises(PoseDataError, match=match):
        held_out_rate(codes, events, n_blocks)


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (
            np.zeros(9, int),
            r"groups: expected one block id per frame, shape \(10,\), found shape \(9,\)",
        ),
        (np.zeros((10, 1), int), "groups: expected one block id per frame"),
        (np.full(10, "session1"), "groups: expected at least 2 distinct blocks, found 1"),
    ],
)
def test_bad_groups_name_themselves(groups, match):
    with pytest.raises(PoseDataError, match=match):
        held_out_rate(np.zeros(10, int), np.zeros(10, bool), groups=groups)


def test_syllables_of_a_real_mouse_find_the_freezing_a_person_labelled(shared_data):
    # BehaviorDEPOT demo1: human per-frame freezing; the syllables never see it
    folder = shared_data / "behaviordepot_freezing/demo/demo1"
    ds = bh.load_poses(folder / "demo1_tracking.csv", fps=50)
    human = pd.read_csv(folder / "demo1_human_freezing_perframe.csv")["freezing_human"]
    freezing = human.to_numpy()[: ds.sizes["time"]] > 0
    syl = bh.syllables.fit(ds, model="arhmm", n_iter=40, progress=False)
    codes = np.asarray(syl.codes[0])
    ok = codes >= 0
    auc = roc_auc_score(freezing[ok], held_out_rate(codes[ok], freezing[ok], n_blocks=4))
    # a per-frame clustering of the same poses (k-means on the positions) does worse
    from sklearn.cluster import KMeans

    lat = np.asarray(syl.latents.data[0])
    clusters = KMeans(20, n_init=2, random_state=0).fit_predict(lat[ok])
    base = roc_auc_score(freezing[ok], held_out_rate(clusters, freezing[ok], n_blocks=4))
    assert auc > 0.78
    assert auc > base + 0.05
