"""The keypoint SLDS's merges after the fit, by the held-out evidence of the keypoints
(the poses integrated out): copies of one state are merged, distinct states are not,
and states whose dynamics the data cannot determine are left alone."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import behavior as bh
from behavior.syllables import ARHMM, KeypointSLDS, Preprocessor
from behavior.syllables.slds import _determined_frames, _EvidenceMerges

D = 2
NOISE_VAR = 0.05
DYNAMICS = {  # two clearly different AR(1) states: (A, b, noise s.d.)
    0: (np.array([[0.95, 0.2], [-0.2, 0.95]]), np.array([0.3, 0.0]), 0.3),
    1: (np.array([[0.6, 0.0], [0.0, 0.6]]), np.array([-1.0, 1.0]), 0.6),
}


def _simulate(rng, n_frames: int, mean_bout: int = 40):
    """Poses from the two states in alternating bouts, and keypoint-like observations
    of every frame (the pose plus white noise, as information)."""
    z = np.empty(n_frames, np.int64)
    x = np.zeros((n_frames, D))
    t, state = 0, 0
    while t < n_frames:
        n = min(n_frames - t, int(rng.integers(mean_bout // 2, 2 * mean_bout)))
        z[t : t + n] = state
        state = 1 - state
        t += n
    for t in range(1, n_frames):
        a, b, sd = DYNAMICS[int(z[t])]
        x[t] = a @ x[t - 1] + b + rng.normal(0, sd, D)
    y = x + rng.normal(0, np.sqrt(NOISE_VAR), x.shape)
    info_h = y / NOISE_VAR
    info_j = np.broadcast_to(np.eye(D) / NOISE_VAR, (n_frames, D, D)).copy()
    return x, z, (info_h, info_j)


def _arhmm(xs):
    """What the search reads of a fitted AR-HMM."""
    allx = np.concatenate(xs)
    return SimpleNamespace(
        n_lags=1, n_states=4, mean_=allx.mean(0), scale_=allx.std(0), s_0=0.1, k_0=10.0
    )


def _copy_of_state_0(z, rng):
    """State 0's bouts, every other one relabelled 2: a copy with the same dynamics."""
    out = z.copy()
    starts = np.flatnonzero(np.diff(z, prepend=-1) != 0)
    ends = np.append(starts[1:], z.size)
    bouts = [(s, e) for s, e in zip(starts, ends) if z[s] == 0]
    for s, e in bouts[1::2]:
        out[s:e] = 2
    return out


@pytest.fixture(scope="module")
def sequences():
    rng = np.random.default_rng(4)
    return [_simulate(rng, 6000) for _ in range(2)]


def _search(sequences, zs=None):
    xs = [x for x, _, _ in sequences]
    infos = [info for _, _, info in sequences]
    masks = [np.ones(len(x), bool) for x in xs]
    search = _EvidenceMerges([xs], masks, infos, _arhmm(xs), np.zeros(D), 100.0)
    return search, [z for _, z, _ in sequences] if zs is None else zs


def test_a_copy_of_a_state_is_merged_back_and_distinct_states_are_not(sequences):
    rng = np.random.default_rng(0)
    search, zs = _search(sequences)
    split = [_copy_of_state_0(z, rng) for z in zs]
    merges = search.run(split, tolerance=0.25)
    assert [sorted((m["kept"], m["dropped"])) for m in merges] == [[0, 2]]
    step = merges[0]
    assert step["frames_dropped"] == sum(int((z == step["dropped"]).sum()) for z in split)
    # the copy costs (almost) nothing held out; merging the distinct states costs a lot
    assert step["delta_held_out"] > -0.25 * step["frames_dropped"]
    labels = np.concatenate(zs)
    distinct = search.held_out(
        np.where(labels == 1, 0, labels),
        search._stats(np.where(search._row_labels(zs) == 1, 0, search._row_labels(zs))),
    )
    truth = search.held_out(labels, search._stats(search._row_labels(zs)))
    # (more than twice the tolerance per frame of the smaller state)
    assert truth - distinct > 0.5 * int((labels == 1).sum())


def test_the_true_states_are_left_as_they_are(sequences):
    search, zs = _search(sequences)
    assert search.run(zs, tolerance=0.25) == []


def test_states_too_short_for_their_dynamics_are_not_tested(sequences):
    # two sequences of 2/3 of the gate (the frames that determine the 2 x 3 + 3 = 9
    # parameters of a state's dynamics) each: no two states reach it, so even the
    # copy stays
    rng = np.random.default_rng(0)
    n = 2 * _determined_frames(D, 1) // 3
    short = [(x[:n], z[:n], (h[:n], j[:n])) for x, z, (h, j) in sequences]
    search, zs = _search(short)
    split = [_copy_of_state_0(z, rng) for z in zs]
    assert search.run(split, tolerance=0.25) == []
    # with a tolerance that would merge anything, the gate is what stops it
    assert search.run(split, tolerance=1e6) == []


@pytest.mark.parametrize("duration", ["0.5 s", "3 s"])
def test_a_session_shorter_than_a_fold_block_fits(duration):
    # 15 frames: one block of frames, the other fold empty; 90: too few frames per state
    ds, _ = bh.simulate.session(kind="single", duration=duration, seed=1)
    model = KeypointSLDS(
        ARHMM(n_states=4, n_iter=3, random_state=0, progress=False),
        Preprocessor(n_components=2),
        n_iter=2,
        random_state=0,
        progress=False,
    ).fit(ds)
    assert model.labels_[0].shape == (ds.sizes["time"],)
    # only the AR-HMM's own merges (they carry its in-sample delta_loglik)
    assert all("delta_loglik" in step for step in model.merges_)


def test_a_real_session_keeps_its_syllables(shared_data):
    # BehaviorDEPOT demo1: 6000 frames. The AR-HMM's merge test on the smoothed
    # poses only absorbs states of at most 0.5 % of the frames. With no such cap,
    # that test gained thousands of nats per merge from small states too sure of
    # their dynamics and merged this seed down to 2 syllables (AUC 0.67). (The
    # evidence merges, which carry no delta_loglik, judge larger states by the
    # held-out evidence instead.)
    from sklearn.metrics import roc_auc_score

    folder = shared_data / "behaviordepot_freezing" / "demo" / "demo1"
    ds = bh.load_poses(folder / "demo1_tracking.csv", fps=50)
    human = np.loadtxt(folder / "demo1_human_freezing_perframe.csv", delimiter=",", skiprows=1)
    syl = bh.syllables.fit(ds, model="slds", random_state=1, progress=False)
    codes = np.asarray(syl.codes[0])
    smoothed_pose_merges = [m for m in syl.model.merges_ if "delta_loglik" in m]
    assert all(merge["frames_dropped"] <= 0.005 * codes.size for merge in smoothed_pose_merges)
    assert np.unique(codes[codes >= 0]).size >= 10
    truth = human[: codes.size, 1] > 0  # columns: frame, freezing_human
    ok = codes >= 0
    score = bh.syllables.held_out_rate(codes[ok], truth[ok], 4)
    assert roc_auc_score(truth[ok], score) > 0.8  # 0.89 measured
