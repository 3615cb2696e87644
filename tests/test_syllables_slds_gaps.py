"""Keypoint SLDS on few keypoints and gappy tracking: the keypoint noise starts from
the keypoints' jitter where the PCA reconstructs them exactly, and masked frames take
a gap state that keeps the dynamics out of them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.syllables.slds import (
    _gap_states,
    _jitter,
    _measured,
    _posterior_poses,
    _with_gap_state,
)


@settings(max_examples=40, deadline=None)
@given(
    n_time=st.integers(3, 60),
    n_kp=st.integers(1, 6),
    dims=st.sampled_from([2, 3]),
    seed=st.integers(0, 2**31 - 1),
    lost=st.floats(0.0, 0.5),
)
def test_jitter_ignores_steady_motion_and_unseen_frames(n_time, n_kp, dims, seed, lost):
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, size=(n_time, dims, n_kp))
    seen = rng.random((n_time, n_kp)) >= lost
    start = rng.normal(0.0, 100.0, size=(1, dims, n_kp))
    velocity = rng.normal(0.0, 5.0, size=(1, dims, n_kp))
    moving = noise + start + velocity * np.arange(n_time)[:, None, None]
    with_nan = np.where(seen[:, None, :], moving, np.nan)
    got = _jitter(with_nan, seen)
    # a second difference cancels any straight-line motion
    np.testing.assert_allclose(got, _jitter(noise, seen), atol=1e-6)
    # measured only where the keypoint is seen on the frame and both neighbours
    measured = np.zeros_like(seen)
    measured[1:-1] = seen[:-2] & seen[1:-1] & seen[2:]
    assert np.all(got[~measured] == 0.0)
    assert np.all(got[measured] > 0.0)
    assert np.all(np.isfinite(got))


def test_jitter_of_still_keypoints_is_their_noise_and_held_points_are_skipped():
    rng = np.random.default_rng(0)
    sigma = 0.7
    y = 50.0 + rng.normal(0.0, sigma, size=(40_000, 2, 3))
    seen = np.ones((40_000, 3), bool)
    got = _jitter(y, seen)[1:-1]
    # mean |y_{t+1} - 2 y_t + y_{t-1}|^2 / 6 = S sigma^2 for white noise in S dims
    assert got.mean() == pytest.approx(2 * sigma**2, rel=0.03)
    # a tracker that holds a lost keypoint repeats it exactly: not a noise sample
    y[100:110, :, 1] = y[99, :, 1]
    held = _jitter(y, seen)
    assert np.all(held[99:110, 1] == 0.0)  # every frame with a held neighbour
    assert held[110, 1] > 0.0 and held[98, 1] > 0.0
    assert held[99:110, 0].min() > 0.0


@settings(max_examples=40, deadline=None)
@given(
    n_time=st.integers(1, 50),
    n_kp=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
    held=st.floats(0.0, 0.7),
    lost=st.floats(0.0, 0.4),
)
def test_held_points_are_not_measurements(n_time, n_kp, seed, held, lost):
    rng = np.random.default_rng(seed)
    y = rng.normal(100.0, 20.0, size=(n_time, 2, n_kp))
    y[:, rng.integers(0, 2), :][rng.random((n_time, n_kp)) < lost] = np.nan
    y.transpose(0, 2, 1)[rng.random((n_time, n_kp)) < lost] = np.nan  # both coordinates lost
    hold = rng.random((n_time, n_kp)) < held
    hold[0] = False
    for t in range(1, n_time):  # a tracker holding a point repeats it to the bit
        y[t][:, hold[t]] = y[t - 1][:, hold[t]]
    finite = np.isfinite(y).all(axis=1)
    got = _measured(y)
    previous = np.zeros_like(finite)
    previous[1:] = finite[:-1]
    np.testing.assert_array_equal(got, finite & ~(hold & previous))
    # the first frame of a held run is the measurement the tracker holds
    starts = np.zeros_like(hold)
    starts[:-1] = hold[1:] & ~hold[:-1]
    assert np.all(got[starts & finite])


def test_masked_frames_take_the_prior_and_the_poses_stay_finite():
    # dynamics that grow 1.5x per frame, and 400 frames with nothing seen: run
    # through the gap they reach 1.5**400 (the precision overflowed on
    # rat_social_dev); with the gap state the gap's poses are the prior's mean
    n_time, d, gap = 600, 2, slice(100, 500)
    rng = np.random.default_rng(1)
    a = np.full((1, 1, d, d), 0.0)
    a[0, 0] = 1.5 * np.eye(d)
    b, q = np.zeros((1, d)), np.eye(d)[None]
    truth = rng.normal(0.0, 1.0, size=(n_time, d))
    info_j = np.tile(100.0 * np.eye(d), (n_time, 1, 1))
    info_j[gap] = 0.0
    info_h = np.einsum("tab,tb->ta", info_j, truth)
    mask = np.ones(n_time, bool)
    mask[gap] = False
    m0, p0 = np.array([3.0, -2.0]), 50.0
    a2, b2, q2 = _with_gap_state(a, b, q, m0, p0)
    z = _gap_states(np.zeros(n_time, np.int64), mask, 1)
    assert np.all(z[gap] == 1) and np.all(z[mask] == 0)
    mean = _posterior_poses([info_h], [info_j], [z], a2, b2, q2, m0, p0, None)[0]
    draw = _posterior_poses([info_h], [info_j], [z], a2, b2, q2, m0, p0, np.random.default_rng(2))[
        0
    ]
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(draw))
    # inside the gap (all but its last frame, which the next frame's dynamics
    # reach) nothing links a pose to any other: the prior mean, exactly
    np.testing.assert_allclose(mean[gap][:-1], np.tile(m0, (399, 1)), atol=1e-8)
    assert np.abs(draw[gap][:-1] - m0).max() < 8 * np.sqrt(p0)
    # where the keypoints are seen the poses follow them
    seen = np.flatnonzero(mask)
    assert np.abs(mean[seen] - truth[seen]).max() < 1.0


def test_a_gap_state_leaves_unmasked_sequences_as_they_were():
    rng = np.random.default_rng(3)
    n_time, d = 50, 3
    a = rng.normal(0.0, 0.2, size=(2, 2, d, d))
    b = rng.normal(size=(2, d))
    q = np.stack([np.eye(d), 0.5 * np.eye(d)])
    z = rng.integers(0, 2, n_time)
    info_j = np.tile(np.eye(d), (n_time, 1, 1))
    info_h = rng.normal(size=(n_time, d))
    m0, p0 = np.zeros(d), 10.0
    before = _posterior_poses([info_h], [info_j], [z], a, b, q, m0, p0, None)[0]
    a2, b2, q2 = _with_gap_state(a, b, q, m0, p0)
    z2 = _gap_states(z, np.ones(n_time, bool), 2)
    after = _posterior_poses([info_h], [info_j], [z2], a2, b2, q2, m0, p0, None)[0]
    np.testing.assert_array_equal(after, before)


@pytest.mark.realdata
@pytest.mark.slow
def test_four_keypoints_get_their_noise_from_the_jitter(shared_data):
    # DLC open field: 4 keypoints, so 5 degrees of freedom of the pose once
    # centred and turned, and the PCA keeps all 5: its reconstruction error is 0
    # and the noise started at 1e-12 px^2; 100 iterations later it was 0.006 px,
    # the keypoints read as exact poses
    path = shared_data / "dlc2nwb_openfield" / "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
    ds = bh.load_poses(path, fps=30)
    syl = bh.syllables.fit(ds, model="slds", random_state=0, progress=False, slds_iter=30)
    model = syl.model
    assert model.preprocessor_.n_components_ == 5
    assert model.noise_start_ == "jitter"
    assert np.all((model.noise_sd_ > 0.1) & (model.noise_sd_ < 2.0))  # 0.23-0.29 px measured


@pytest.mark.realdata
@pytest.mark.slow
def test_a_rat_pair_out_of_view_for_long_stretches_fits(shared_data):
    # rat_social_dev session 1: two rats, 5 keypoints each, a quarter of the
    # frames with no keypoint at all (a rat out of view). Before, the noise
    # started at 1e-12 px^2 (the PCA keeps all 7 degrees of freedom) and then
    # the dynamics ran through the gaps: the fit failed with LinAlgError.
    folder = shared_data / "rat_social_dev"
    csv = next((folder / "dlc_csv").glob("1DLC*.csv"))
    ds = bh.load_poses(csv, fps=30).isel(time=slice(0, 6000))
    syl = bh.syllables.fit(
        ds,
        model="slds",
        random_state=0,
        progress=False,
        slds_iter=30,
        preprocess={"anterior": "top", "posterior": "tail"},
    )
    model = syl.model
    assert model.noise_start_ == "jitter"
    assert all(np.isfinite(x).all() for x in model.latents_.data)
    codes = [np.asarray(c) for c in syl.codes]
    assert all(c.shape == (6000,) for c in codes)
    # the frames with a usable pose carry syllables, and more than one
    used = np.concatenate([c[c >= 0] for c in codes])
    assert used.size > 0.5 * 2 * 6000 and np.unique(used).size > 1
