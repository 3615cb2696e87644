"""Tests of behavior.simulate.keypoint_ar and keypoint_ar_family (keypoint-MoSeq's model)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behavior.errors import PoseDataError
from behavior.simulate import KeypointARTruth, keypoint_ar, keypoint_ar_family

FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _runs(labels: np.ndarray) -> np.ndarray:
    change = np.flatnonzero(np.diff(labels) != 0) + 1
    return np.diff(np.concatenate([[0], change, [labels.size]]))


@pytest.fixture(scope="module")
def draw():
    return keypoint_ar(
        n_states=5,
        n_lags=2,
        latent_dim=5,
        n_keypoints=8,
        mean_duration="0.3 s",
        noise="student_t",
        outlier_fraction=0.02,
        n_sessions=2,
        duration="3 min",
        seed=3,
    )


def test_sessions_have_the_requested_shape_and_truth(draw):
    sessions, truth = draw
    assert isinstance(truth, KeypointARTruth)
    assert len(sessions) == len(truth.labels) == len(truth.latents) == len(truth.outliers) == 2
    for ds, labels, latent, outliers in zip(
        sessions, truth.labels, truth.latents, truth.outliers, strict=True
    ):
        assert dict(ds.sizes) == {"time": 5400, "space": 2, "keypoint": 8, "individual": 1}
        assert ds.attrs["fps"] == 30
        assert ds.attrs["px_per_cm"] > 0
        names = [str(k) for k in ds.keypoint.values]
        assert len(set(names)) == 8 and {"nose", "neck", "tail_base"} <= set(names)
        conf = ds.confidence.values
        assert np.isfinite(conf).all() and conf.min() >= 0 and conf.max() <= 1
        assert np.isfinite(ds.position.values).all()
        assert labels.shape == (5400,) and labels.dtype.kind == "i"
        assert latent.shape == (5400, 5)
        assert outliers.shape == (5400, 8) and outliers.dtype == bool
    assert [h.shape for h in truth.heading] == [(5400,)] * 2
    assert [c.shape for c in truth.centroid_cm] == [(5400, 2)] * 2
    p = truth.params
    assert p["ar_matrices"].shape == (5, 2, 5, 5)
    assert p["loadings_cm"].shape == (16, 5)
    assert p["mean_pose_cm"].shape == (2, 8)
    assert p["transition_matrix"].shape == (5, 5)
    assert p["keypoints"] == [str(k) for k in sessions[0].keypoint.values]


def test_every_state_occurs_and_never_follows_itself(draw):
    _, truth = draw
    for labels in truth.labels:
        assert set(np.unique(labels)) == set(range(5))
    assert np.allclose(np.diag(truth.params["transition_matrix"]), 0)
    assert np.allclose(truth.params["transition_matrix"].sum(axis=1), 1)


def test_dynamics_are_stable_with_distinct_fixed_points(draw):
    _, truth = draw
    p = truth.params
    A, b, mu = p["ar_matrices"], p["ar_offsets"], p["fixed_points"]
    n_states, n_lags, d, _ = A.shape
    for k in range(n_states):
        companion = np.zeros((n_lags * d, n_lags * d))
        companion[:d] = np.concatenate(list(A[k]), axis=1)
        companion[d:, :-d] = np.eye((n_lags - 1) * d)
        assert np.abs(np.linalg.eigvals(companion)).max() < 1
        assert np.allclose(A[k].sum(axis=0) @ mu[k] + b[k], mu[k])
    gaps = np.linalg.norm(mu[:, None] - mu[None], axis=-1)[np.triu_indices(n_states, 1)]
    assert gaps.min() > 0.1
    assert not np.allclose(A[0], A[1])


def test_latents_follow_the_switching_ar_process(draw):
    """The residual of each state's AR step has the state's innovation covariance."""
    _, truth = draw
    p = truth.params
    A, b, chol = p["ar_matrices"], p["ar_offsets"], p["ar_noise_chol"]
    x, z = truth.latents[0], truth.labels[0]
    n_lags = A.shape[1]
    for k in range(2):
        t = np.flatnonzero(z == k)
        t = t[t >= n_lags]
        predicted = b[k] + sum(x[t - 1 - lag] @ A[k, lag].T for lag in range(n_lags))
        residual = x[t] - predicted
        cov = chol[k] @ chol[k].T
        assert np.abs(residual.mean(axis=0)).max() < 0.2 * np.sqrt(np.diag(cov)).max()
        ratio = np.diag(np.cov(residual.T)) / np.diag(cov)
        assert np.all((ratio > 0.8) & (ratio < 1.25))


def test_pose_is_linear_in_the_latent_up_to_alignment():
    """Without noise, an egocentric PCA with latent_dim components explains the poses."""
    from behavior.syllables.preprocess import Preprocessor

    sessions, _ = keypoint_ar(
        latent_dim=4, noise_px=0, outlier_fraction=0, n_sessions=1, duration="1 min", seed=5
    )
    pre = Preprocessor(n_components=4).fit(sessions)
    assert pre.explained_variance_ratio_.sum() > 0.97


def test_keypoints_are_the_turned_and_moved_pose_of_the_latent():
    """Noise-free keypoints = centroid + rotation(heading) (mean pose + loadings @ latent)."""
    sessions, truth = keypoint_ar(noise_px=0, outlier_fraction=0, n_sessions=1, seed=2)
    p = truth.params
    n = truth.latents[0].shape[0]
    ego = (p["mean_pose_cm"].reshape(-1) + truth.latents[0] @ p["loadings_cm"].T).reshape(n, 2, -1)
    cos, sin = np.cos(truth.heading[0])[:, None], np.sin(truth.heading[0])[:, None]
    arena = np.stack([cos * ego[:, 0] - sin * ego[:, 1], sin * ego[:, 0] + cos * ego[:, 1]], 1)
    arena += truth.centroid_cm[0][:, :, None]
    expected = arena * p["px_per_cm"] + np.asarray(p["arena_origin_px"])[None, :, None]
    np.testing.assert_allclose(sessions[0].position.values[..., 0], expected, atol=1e-9)
    # the body centre stays in the arena, away from the walls, and wanders over it
    centre = truth.centroid_cm[0]
    width = p["arena_cm"][0]
    assert centre.min() > 5 and centre.max() < width - 5
    assert np.ptp(centre[:, 0]) > 0.3 * width
    # the heading is a random walk: it turns both ways
    turns = np.diff(truth.heading[0])
    assert (turns > 0).mean() == pytest.approx(0.5, abs=0.05)


@FAST
@given(frames=st.integers(4, 30), fps=st.sampled_from([25.0, 30.0, 60.0]))
def test_mean_duration_is_the_requested_one(frames, fps):
    _, truth = keypoint_ar(
        n_states=3,
        latent_dim=2,
        n_keypoints=4,
        mean_duration=frames / fps,
        n_sessions=1,
        duration=1500 * frames / fps,
        fps=fps,
        seed=frames,
    )
    runs = _runs(truth.labels[0])[:-1]  # the last run is cut by the session's end
    assert abs(runs.mean() / frames - 1) < 0.06
    assert truth.params["duration_mean_frames"] == pytest.approx(frames)


def test_outliers_have_the_requested_fraction_low_confidence_and_are_far():
    kwargs = dict(noise_px=0, n_sessions=1, duration="2 min", seed=7)
    clean, _ = keypoint_ar(outlier_fraction=0, **kwargs)
    noisy, truth = keypoint_ar(outlier_fraction=0.03, **kwargs)
    hit = truth.outliers[0]
    assert hit.mean() == pytest.approx(0.03, abs=0.003)
    conf = noisy[0].confidence.values[:, :, 0]
    assert conf[hit].max() <= 0.3 and np.median(conf[~hit]) > 0.8
    shift = np.linalg.norm(noisy[0].position.values - clean[0].position.values, axis=1)[..., 0]
    assert np.all(shift[~hit] == 0)
    assert shift[hit].min() >= 15 - 1e-9 and shift[hit].max() <= 60 + 1e-9


def test_noise_is_gaussian_or_student_t_scaled_by_confidence():
    """Errors divided by their confidence-dependent scale are N(0, 1) or t with 3 df."""
    kwargs = dict(outlier_fraction=0, n_sessions=1, duration="2 min", seed=8)
    clean = keypoint_ar(noise_px=0, **kwargs)[0][0].position.values
    standard = {}
    for kind in ("gaussian", "student_t"):
        ds = keypoint_ar(noise=kind, noise_px=2.0, **kwargs)[0][0]
        scale = 2.0 * (0.5 + 5.0 * (1.0 - ds.confidence.values))[:, None]
        standard[kind] = ((ds.position.values - clean) / scale).ravel()
    assert np.std(standard["gaussian"]) == pytest.approx(1.0, abs=0.02)
    assert np.mean(np.abs(standard["gaussian"]) > 4) < 1e-3
    assert np.mean(np.abs(standard["student_t"]) > 4) > 0.01
    assert np.median(np.abs(standard["student_t"])) == pytest.approx(0.765, abs=0.03)


def test_same_seed_same_data_other_seed_other_data():
    a, ta = keypoint_ar(n_sessions=2, duration="20 s", seed=11)
    b, tb = keypoint_ar(n_sessions=2, duration="20 s", seed=11)
    c, tc = keypoint_ar(n_sessions=2, duration="20 s", seed=12)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.position.values, y.position.values)
        np.testing.assert_array_equal(x.confidence.values, y.confidence.values)
    np.testing.assert_array_equal(ta.params["ar_matrices"], tb.params["ar_matrices"])
    assert not np.allclose(a[0].position.values, c[0].position.values)
    assert not np.allclose(ta.params["ar_matrices"], tc.params["ar_matrices"])
    # session 0 does not depend on how many sessions are drawn
    one, t1 = keypoint_ar(n_sessions=1, duration="20 s", seed=11)
    np.testing.assert_array_equal(one[0].position.values, a[0].position.values)
    np.testing.assert_array_equal(t1.labels[0], ta.labels[0])
    # sessions of one draw differ from each other
    assert not np.array_equal(ta.labels[0], ta.labels[1])


def test_seed_none_draws_a_fresh_recorded_seed():
    sessions, truth = keypoint_ar(n_sessions=1, duration="5 s")
    again, _ = keypoint_ar(n_sessions=1, duration="5 s", seed=truth.params["seed"])
    np.testing.assert_array_equal(sessions[0].position.values, again[0].position.values)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_states": 1}, "n_states"),
        ({"n_states": 2.5}, "n_states"),
        ({"n_states": True}, "n_states"),
        ({"n_lags": 0}, "n_lags"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"latent_dim": 10, "n_keypoints": 6}, "latent_dim"),
        ({"n_keypoints": 2, "latent_dim": 1}, "n_keypoints"),
        ({"mean_duration": "0.01 s"}, "mean_duration"),
        ({"mean_duration": "soon"}, "mean_duration"),
        ({"noise_px": -1}, "noise_px"),
        ({"noise": "cauchy"}, "noise"),
        ({"outlier_fraction": 1.0}, "outlier_fraction"),
        ({"outlier_fraction": -0.1}, "outlier_fraction"),
        ({"n_sessions": 0}, "n_sessions"),
        ({"duration": "0 s"}, "duration"),
        ({"n_lags": 3, "duration": 0.1}, "duration"),
        ({"fps": 0}, "fps"),
        ({"seed": "a"}, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(PoseDataError, match=rf"^{name}:"):
        keypoint_ar(**{"duration": "2 s", **kwargs})


@pytest.mark.parametrize(("kwargs", "name"), [({"n_draws": 0}, "n_draws"), ({"seed": 1.5}, "seed")])
def test_family_bad_arguments_name_the_argument(kwargs, name):
    with pytest.raises(PoseDataError, match=rf"^{name}:"):
        keypoint_ar_family(**kwargs)


def _check_ranges(family: list[dict]) -> None:
    for d in family:
        assert d["n_states"] in (4, 8, 16)
        assert d["n_lags"] in (1, 2, 3)
        assert 6 <= round(d["mean_duration"] * d["fps"]) <= 30
        assert 4 <= d["latent_dim"] <= 12
        assert 6 <= d["n_keypoints"] <= 20 and d["latent_dim"] <= 2 * d["n_keypoints"] - 3
        assert 0.5 <= d["noise_px"] <= 3
        assert d["noise"] in ("gaussian", "student_t")
        assert 0 <= d["outlier_fraction"] <= 0.03
        assert 2 <= d["n_sessions"] <= 4
        minutes = int(d["duration"].removesuffix(" min"))
        assert 10 <= minutes <= 20 and d["fps"] == 30
        assert isinstance(d["seed"], int)


def test_family_of_twelve_covers_the_ranges():
    family = keypoint_ar_family()
    assert len(family) == 12
    _check_ranges(family)
    for key, values in (("n_states", (4, 8, 16)), ("n_lags", (1, 2, 3))):
        counts = {v: sum(d[key] == v for d in family) for v in values}
        assert counts == dict.fromkeys(values, 4)
    assert {d["noise"] for d in family} == {"gaussian", "student_t"}
    assert len({d["seed"] for d in family}) == 12
    assert len({d["latent_dim"] for d in family}) >= 4
    assert keypoint_ar_family() == family
    assert keypoint_ar_family(seed=1) != family


@FAST
@given(n_draws=st.integers(3, 30), seed=st.integers(0, 2**32 - 1))
def test_any_family_covers_every_state_count_and_order(n_draws, seed):
    family = keypoint_ar_family(n_draws=n_draws, seed=seed)
    assert len(family) == n_draws
    _check_ranges(family)
    assert {d["n_states"] for d in family} == {4, 8, 16}
    assert {d["n_lags"] for d in family} == {1, 2, 3}


def test_every_family_draw_is_valid_for_keypoint_ar():
    for d in keypoint_ar_family(n_draws=4, seed=2):
        sessions, truth = keypoint_ar(**{**d, "duration": "3 s", "n_sessions": 1})
        assert sessions[0].sizes["keypoint"] == d["n_keypoints"]
        assert truth.params["ar_matrices"].shape[:2] == (d["n_states"], d["n_lags"])
