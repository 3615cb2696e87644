"""Preprocessor guards of issue 17: tracking outliers and noise-only PCA components."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

import behavior as bh
from behavior.errors import PoseDataError
from behavior.syllables.preprocess import Preprocessor, jump_outliers


def smooth_tracks(seed: int, n_time: int, n_kp: int) -> np.ndarray:
    """(time, 2, keypoint) smooth random tracks with a little white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_time)[:, None]
    freq = rng.uniform(0.01, 0.1, size=(1, 2 * n_kp))
    phase = rng.uniform(0, 2 * np.pi, size=(1, 2 * n_kp))
    pos = 50 * np.sin(freq * t + phase) + rng.normal(0, 0.5, size=(n_time, 2 * n_kp))
    return pos.reshape(n_time, 2, n_kp)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_kp=st.integers(1, 6),
    n_spikes=st.integers(1, 10),
    size=st.floats(40.0, 200.0),
)
def test_jump_outliers_flags_injected_spikes(seed, n_kp, n_spikes, size):
    n_time = 300
    pos = smooth_tracks(seed, n_time, n_kp)
    rng = np.random.default_rng(seed + 1)
    # isolated spikes (at least 6 frames apart)
    frames = rng.choice(np.arange(5, n_time - 5, 6), size=n_spikes, replace=False)
    kps = rng.integers(0, n_kp, size=n_spikes)
    angle = rng.uniform(0, 2 * np.pi, size=n_spikes)
    pos[frames, 0, kps] += size * np.cos(angle)
    pos[frames, 1, kps] += size * np.sin(angle)
    flagged = jump_outliers(pos)
    assert flagged[frames, kps].all()
    # smooth tracks with 0.5 px noise: a few false alarms at most
    assert flagged.sum() - n_spikes <= 0.01 * flagged.size


def test_jump_outliers_ignores_missing_points_and_short_tracks():
    pos = smooth_tracks(0, 100, 3)
    pos[10:20, :, 1] = np.nan
    pos[:, :, 2] = np.nan
    flagged = jump_outliers(pos)
    assert not flagged[10:20, 1].any() and not flagged[:, 2].any()
    assert not jump_outliers(pos[:3]).any()


def _outlier_session(seed: int = 0):
    ds, _ = bh.simulate.session(kind="single", duration="40 s", seed=seed)
    clean = ds.copy(deep=True)
    rng = np.random.default_rng(seed)
    pos = ds["position"].values  # (time, space, keypoint, individual)
    n_time, _, n_kp, _ = pos.shape
    hit = rng.random((n_time, n_kp)) < 0.02
    shift = rng.uniform(30, 80, size=(n_time, 2, n_kp)) * rng.choice([-1, 1], (n_time, 2, n_kp))
    pos[..., 0] += np.where(hit[:, None, :], shift, 0.0)
    return clean, ds


def test_outlier_factor_keeps_latents_close_to_the_clean_ones():
    clean, noisy = _outlier_session()
    reference = Preprocessor(variance=0.95, outlier_factor=None).fit(clean)
    ref = reference.transform(clean).data[0]
    errors = {}
    for factor in (None, 3.0):
        pre = Preprocessor(variance=0.95, outlier_factor=factor)
        pre.fit(clean)  # same components, so that the latents compare
        errors[factor] = float(np.mean((pre.transform(noisy).data[0] - ref) ** 2))
    assert errors[3.0] < 0.2 * errors[None]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "6"])
def test_outlier_factor_errors_name_the_argument(bad):
    ds, _ = bh.simulate.session(kind="single", duration="5 s", seed=0)
    with pytest.raises(PoseDataError, match="outlier_factor"):
        Preprocessor(outlier_factor=bad).fit(ds)


def test_noise_only_components_are_dropped_with_a_message(caplog):
    sessions, _ = bh.simulate.keypoint_ar(
        n_states=4, latent_dim=4, n_keypoints=10, n_sessions=1, duration="1 min", seed=1
    )
    with caplog.at_level(logging.INFO, logger="behavior.syllables.preprocess"):
        pre = Preprocessor(variance=0.999).fit(sessions)
    everything = Preprocessor(variance=1.0).fit(sessions)
    # 4 latent dimensions of pose change; the rest of the 17 is white tracking noise
    assert 4 <= pre.n_components_ <= 7 < everything.n_components_
    assert "autocorrelation" in caplog.text
    # variance=1 keeps its promise of every component (the exact round trip)
    assert everything.n_components_ == everything.mean_.size


def test_arhmm_keeps_its_states_with_variance_0999():
    sessions, truth = bh.simulate.keypoint_ar(
        n_states=4,
        latent_dim=5,
        n_keypoints=10,
        mean_duration="0.6 s",
        outlier_fraction=0.02,
        n_sessions=2,
        duration="2 min",
        seed=2,
    )
    syl = bh.syllables.fit(
        sessions, model="arhmm", preprocess={"variance": 0.999}, n_iter=60, progress=False
    )
    ari = adjusted_rand_score(np.concatenate(truth.labels), np.concatenate(syl.codes))
    assert ari > 0.6
    assert 3 <= np.unique(np.concatenate(syl.codes)).size <= 8


@pytest.mark.parametrize(
    ("relative", "at_most"),
    [
        # rat_social_dev: many frames repeat the previous position, so most jumps are
        # near 0; a threshold on the median jump flagged 28 % of the tracked points
        ("rat_social_dev/dlc_csv/1DLC_dlcrnetms5_DLC_ratJan24shuffle1_5000_el_filtered.csv", 0.05),
        ("dlc2nwb_openfield/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5", 0.005),
    ],
)
def test_jump_outliers_flag_few_points_of_real_tracking(shared_data, relative, at_most):
    ds = bh.load_poses(shared_data / relative, fps=30)
    position = ds.position.transpose("time", "space", "keypoint", "individual").values
    for i in range(position.shape[-1]):
        track = position[..., i]
        tracked = ~np.isnan(track).any(axis=1)
        flagged = jump_outliers(track)
        assert not (flagged & ~tracked).any()
        assert 0 < flagged.sum() <= at_most * tracked.sum()
