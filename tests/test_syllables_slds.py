"""Keypoint SLDS: the Kalman sampler against the exact joint Gaussian, the placement of
poses in the arena, the noise model, and the whole model on noisy keypoints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

import behavior as bh
from behavior.errors import PoseDataError
from behavior.syllables import ARHMM, KeypointSLDS, Preprocessor
from behavior.syllables.slds import _kalman, _Track


def _joint_posterior(info_h, info_j, z, a, b, q, m0, p0):
    """Exact posterior of all poses (dense), the lags before frame 0 included."""
    n_time, d = info_h.shape
    n_lags = a.shape[1]
    n_all = (n_time + n_lags - 1) * d  # x_{-L+1} .. x_{T-1}

    def col(t):  # columns of x_t
        i = (t + n_lags - 1) * d
        return slice(i, i + d)

    prec = np.zeros((n_all, n_all))
    h = np.zeros(n_all)
    for t in range(-n_lags + 1, 1):  # diffuse start of the first state
        prec[col(t), col(t)] += np.eye(d) / p0
        h[col(t)] += m0 / p0
    for t in range(1, n_time):
        k = z[t]
        m = np.zeros((d, n_all))
        m[:, col(t)] = np.eye(d)
        for lag in range(n_lags):
            m[:, col(t - lag - 1)] -= a[k, lag]
        w = np.linalg.inv(q[k])
        prec += m.T @ w @ m
        h += m.T @ w @ b[k]
    for t in range(n_time):
        prec[col(t), col(t)] += info_j[t]
        h[col(t)] += info_h[t]
    cov = np.linalg.inv(prec)
    mean = cov @ h
    keep = np.arange((n_lags - 1) * d, n_all)
    return mean[keep].reshape(n_time, d), cov[np.ix_(keep, keep)]


def _random_problem(rng, n_time, d, n_lags, n_states=2):
    a = rng.normal(0, 0.3, size=(n_states, n_lags, d, d))
    a[:, 0] += 0.5 * np.eye(d)
    b = rng.normal(size=(n_states, d))
    q = np.stack([np.eye(d) * rng.uniform(0.1, 1.0) for _ in range(n_states)])
    z = rng.integers(0, n_states, n_time)
    info_j = np.stack([np.diag(rng.uniform(0.0, 3.0, d)) for _ in range(n_time)])
    info_j[2] = 0.0  # a frame without observation
    info_h = rng.normal(size=(n_time, d))
    return info_h, info_j, z, a, b, q, rng.normal(size=d), 4.0


@pytest.mark.parametrize("n_lags", [1, 2, 3])
def test_smoothed_mean_is_the_exact_posterior_mean(n_lags):
    rng = np.random.default_rng(n_lags)
    prob = _random_problem(rng, 7, 2, n_lags)
    mean, _ = _joint_posterior(*prob)
    got = _kalman()(*prob, np.zeros((7, 2 * n_lags)), False)
    np.testing.assert_allclose(got, mean, atol=1e-8)


@pytest.mark.parametrize("n_lags", [1, 2])
def test_samples_have_the_exact_posterior_mean_and_covariance(n_lags):
    rng = np.random.default_rng(10 + n_lags)
    prob = _random_problem(rng, 5, 2, n_lags)
    mean, cov = _joint_posterior(*prob)
    kernel = _kalman()
    draws = np.stack(
        [kernel(*prob, rng.standard_normal((5, 2 * n_lags)), True).ravel() for _ in range(6000)]
    )
    se = np.sqrt(np.diag(cov) / len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - mean.ravel()) < 5 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.08 * np.abs(cov).max())


def _session(rng, n_time, z, noise_cm, outlier_rate=0.0):
    """Six keypoints driven by a 2-d switching rotation (one sense per state)."""
    angle = np.where(z == 0, 0.25, -0.25)
    x = np.zeros((n_time, 2))
    x[0] = (1.0, 0.0)
    for t in range(1, n_time):
        c, s = np.cos(angle[t]), np.sin(angle[t])
        turn = np.array([[c, -s], [s, c]])
        x[t] = 0.97 * turn @ x[t - 1]
        x[t] += rng.normal(0, 0.15, 2)
    body = np.array([[3.0, 1.5, 0.0, -1.5, -3.0, -4.5], [0.0, 0.6, 0.0, -0.6, 0.0, 0.0]])
    loadings = np.random.default_rng(42).normal(0, 1.0, size=(2, 2, 6))  # one body plan
    loadings[:, :, [1, 4]] = 0.0  # the body axis (neck -> tail base) stays put ...
    loadings -= loadings.mean(axis=2, keepdims=True)  # ... and so does the centroid
    ego = body[None] + np.einsum("td,dsk->tsk", x, loadings)
    heading = np.cumsum(rng.normal(0, 0.05, n_time))
    centroid = np.cumsum(rng.normal(0, 0.2, (n_time, 2)), axis=0)
    c, s = np.cos(heading)[:, None], np.sin(heading)[:, None]
    arena = np.stack([c * ego[:, 0] - s * ego[:, 1], s * ego[:, 0] + c * ego[:, 1]], axis=1)
    arena += centroid[:, :, None]
    conf = rng.uniform(0.3, 1.0, size=(n_time, 6))
    sd = noise_cm * (0.3 / conf)
    noisy = arena + rng.normal(size=arena.shape) * sd[:, None]
    hit = rng.random((n_time, 6)) < outlier_rate
    noisy[hit.nonzero()[0], :, hit.nonzero()[1]] += rng.normal(0, 3.0, (hit.sum(), 2))
    ds = bh.from_numpy(
        noisy[..., None],
        conf[..., None],
        keypoint_names=["nose", "neck", "mid", "hip", "tail_base", "tail_tip"],
        fps=30,
        source_software="test",
    )
    return ds


def _states(rng, n_time):
    z = np.zeros(n_time, int)
    t, k = 0, 0
    while t < n_time:
        run = int(rng.integers(20, 60))
        z[t : t + run] = k
        t += run
        k = 1 - k
    return z


@pytest.fixture(scope="module")
def noisy_sessions():
    rng = np.random.default_rng(0)
    zs = [_states(rng, 1500) for _ in range(2)]
    return [_session(rng, 1500, z, noise_cm=0.5, outlier_rate=0.01) for z in zs], zs


# The comparison is of the noise model against none: the preprocessor's own outlier
# filter (outlier_factor) is off on both sides.
RAW_PCA = {"n_components": 2, "outlier_factor": None}


@pytest.fixture(scope="module")
def fitted_slds(noisy_sessions):
    sessions, _ = noisy_sessions
    arhmm = ARHMM(n_states=20, n_lags=1, kappa=100.0, n_iter=40, random_state=0, progress=False)
    return KeypointSLDS(
        arhmm, Preprocessor(**RAW_PCA), n_iter=25, random_state=0, progress=False
    ).fit(sessions)


def test_slds_recovers_states_the_arhmm_confuses(noisy_sessions, fitted_slds):
    sessions, zs = noisy_sessions
    truth = np.concatenate(zs)
    pre = Preprocessor(**RAW_PCA).fit(sessions)
    arhmm = ARHMM(n_states=20, n_lags=1, kappa=100.0, n_iter=40, random_state=0, progress=False)
    plain = np.concatenate(arhmm.fit(pre.transform(sessions)).predict(pre.transform(sessions)))
    ours = np.concatenate(fitted_slds.labels_)
    ari_plain = adjusted_rand_score(truth, plain)
    ari_slds = adjusted_rand_score(truth, ours)
    assert ari_slds > 0.8
    assert ari_slds > ari_plain + 0.2


def test_noise_model_is_learned(noisy_sessions, fitted_slds):
    # error s.d. 0.5 * 0.3 / c at confidence c: variance ~ c^-2, and at the median
    # confidence (0.65) about 0.23 cm
    assert -2.5 < fitted_slds.confidence_power_ < -1.5
    assert np.all((fitted_slds.noise_sd_ > 0.15) & (fitted_slds.noise_sd_ < 0.3))


def test_latents_are_smoothed_and_keep_shapes(noisy_sessions, fitted_slds):
    sessions, _ = noisy_sessions
    raw = fitted_slds.preprocessor_.transform(sessions)
    lat = fitted_slds.latents_
    assert [x.shape for x in lat.data] == [x.shape for x in raw.data]
    # the inferred poses are smoother than the noisy projections
    rough = [np.abs(np.diff(x, 2, axis=0)).mean() for x in (lat.data[0], raw.data[0])]
    assert rough[0] < 0.5 * rough[1]
    assert np.all(np.isfinite(lat.heading[0])) and np.all(np.isfinite(lat.centroid[0]))


def test_predict_on_sessions_matches_the_fit(noisy_sessions, fitted_slds):
    sessions, zs = noisy_sessions
    again = fitted_slds.predict(sessions)  # a fresh chain under the fitted parameters
    same = np.mean(np.concatenate(again) == np.concatenate(fitted_slds.labels_))
    assert same > 0.9
    truth = np.concatenate(zs)
    fit_ari = adjusted_rand_score(truth, np.concatenate(fitted_slds.labels_))
    assert adjusted_rand_score(truth, np.concatenate(again)) > fit_ari - 0.05
    # Viterbi states of the smoothed poses mostly agree with the sampled labels
    from_latents = np.concatenate(fitted_slds.predict(fitted_slds.latents_))
    assert np.mean(from_latents == np.concatenate(fitted_slds.labels_)) > 0.95


_TURNS = st.floats(-np.pi, np.pi, allow_nan=False)
_SHIFTS = st.floats(-50, 50, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(angle=_TURNS, dx=_SHIFTS, dy=_SHIFTS, lost=st.sets(st.integers(0, 5), max_size=3))
def test_placement_recovers_heading_and_centroid(angle, dx, dy, lost):
    """A pose turned and moved rigidly is put back exactly, with keypoints missing."""
    from behavior.syllables.preprocess import PoseSequence

    rng = np.random.default_rng(1)
    mean = np.array([[3.0, 1.0, 0.0, -1.0, -3.0, -4.0], [0.0, 0.5, 0.2, -0.5, 0.0, 0.3]])
    mean -= mean.mean(axis=1, keepdims=True)
    comps = np.linalg.qr(rng.normal(size=(12, 2)))[0].T  # (2, 12) orthonormal rows
    x = rng.normal(size=(3, 2))
    pose = (mean.ravel() + x @ comps).reshape(3, 2, 6)
    c, s = np.cos(angle), np.sin(angle)
    arena = np.stack([c * pose[:, 0] - s * pose[:, 1], s * pose[:, 0] + c * pose[:, 1]], axis=1)
    arena += np.array([dx, dy])[None, :, None]
    for k in lost:
        arena[1, :, k] = np.nan
    track = _Track(
        PoseSequence(("s", "m"), arena, np.arange(3) / 30, 30.0),
        x,
        np.zeros((3, 2)),
        np.zeros(3),
        np.ones(3, bool),
    )
    weight = np.where(track.seen, 1.0, 0.0)
    track.place(mean.ravel(), comps, weight, None)
    turn = np.angle(np.exp(1j * (track.heading - angle)))
    np.testing.assert_allclose(turn, 0.0, atol=1e-7)
    np.testing.assert_allclose(track.centroid, np.tile([dx, dy], (3, 1)), atol=1e-6)


def test_outliers_get_low_weight(fitted_slds):
    from behavior.syllables.preprocess import PoseSequence

    n_kp = fitted_slds.noise_var_.size
    # two different frames: a keypoint repeated exactly would be a held point, unmeasured
    position = np.random.default_rng(0).normal(size=(2, 2, n_kp))
    seq = PoseSequence(("s", "m"), position, np.arange(2) / 30, 30.0)
    track = _Track(seq, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2), np.ones(2, bool))
    resid = np.zeros((2, n_kp))
    resid[1, 0] = 100 * fitted_slds.noise_var_[0]  # 10 s.d. away
    weight = fitted_slds._expected_weights(track, resid)
    assert weight[1, 0] < 0.1 * weight[0, 0]
    np.testing.assert_allclose(weight[0, 1:], weight[1, 1:])


def test_syllables_fit_slds_save_load_apply(noisy_sessions, tmp_path):
    sessions, _ = noisy_sessions
    syl = bh.syllables.fit(
        sessions[:1],
        model="slds",
        preprocess={"n_components": 2},
        n_states=10,
        n_lags=1,
        n_iter=10,
        slds_iter=3,
        progress=False,
    )
    assert syl.attrs["model"] == "KeypointSLDS"
    path = syl.save(tmp_path / "slds.nc")
    back = bh.syllables.Syllables.load(path)
    assert isinstance(back.model, KeypointSLDS)
    # the loaded model samples exactly as the fitted one (same parameters, same seed)
    new, same = back.apply(sessions[:1]), syl.apply(sessions[:1])
    (key,) = syl.labels
    np.testing.assert_array_equal(new.labels[key].values, same.labels[key].values)
    np.testing.assert_allclose(new.latents.data[0], same.latents.data[0])
    assert np.mean(new.labels[key].values == syl.labels[key].values) > 0.6


def test_syllables_fit_keeps_the_slds_own_preprocessor(noisy_sessions):
    sessions, _ = noisy_sessions
    model = KeypointSLDS(
        ARHMM(n_states=10, n_lags=1, n_iter=5, random_state=0, progress=False),
        Preprocessor(n_components=3),
        n_iter=2,
        random_state=0,
        progress=False,
    )
    syl = bh.syllables.fit(sessions[:1], model=model, progress=False)
    assert syl.preprocessor.n_components_ == 3
    assert syl.latents.data[0].shape[1] == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_iter": -1}, "n_iter"),
        ({"outlier_df": 0}, "outlier_df"),
        ({"confidence_power": "high"}, "confidence_power"),
        ({"stage_merge_tolerance": -0.1}, "stage_merge_tolerance"),
        ({"stage_merge_tolerance": float("nan")}, "stage_merge_tolerance"),
        ({"evidence_merge_tolerance": -1.0}, "evidence_merge_tolerance"),
        ({"evidence_merge_tolerance": "0.25"}, "evidence_merge_tolerance"),
        ({"stage_seconds": 0}, "stage_seconds"),
        ({"stage_seconds": float("inf")}, "stage_seconds"),
        ({"stage_seconds": "5 min"}, "stage_seconds"),
        ({"arhmm": ARHMM(method="em")}, "method='gibbs'"),
        ({"preprocessor": Preprocessor(kinematics=True)}, "kinematics=False"),
    ],
)
def test_bad_arguments_name_themselves(noisy_sessions, kwargs, match):
    sessions, _ = noisy_sessions
    with pytest.raises(PoseDataError, match=match):
        KeypointSLDS(progress=False, **kwargs).fit(sessions[0])


def test_not_fitted_says_so(noisy_sessions):
    with pytest.raises(PoseDataError, match="not fitted"):
        KeypointSLDS().predict(noisy_sessions[0][0])


def test_negative_iterations_are_refused(noisy_sessions):
    sessions, _ = noisy_sessions
    with pytest.raises(PoseDataError, match="n_iter: expected an integer >= 0"):
        KeypointSLDS(progress=False, n_iter=-1).fit(sessions[0])
    with pytest.raises(PoseDataError, match="apply_iter: expected an integer >= 1"):
        KeypointSLDS(progress=False, apply_iter=0).fit(sessions[0])
    with pytest.raises(PoseDataError, match="denoise_iter: expected an integer >= 0"):
        KeypointSLDS(progress=False, denoise_iter=1.5).fit(sessions[0])


def test_slds_merges_copies_of_states_after_the_fit(noisy_sessions):
    # without the denoising and the stage merges, the AR-HMM stage's copies reach the
    # full model; the merges after the fit remove them from the labels and the AR-HMM
    sessions, _ = noisy_sessions

    def slds(merge_after_fit: bool) -> KeypointSLDS:
        arhmm = ARHMM(
            n_states=20,
            n_lags=1,
            kappa=100.0,
            n_iter=40,
            random_state=0,
            progress=False,
            merge_after_fit=merge_after_fit,
        )
        return KeypointSLDS(
            arhmm,
            Preprocessor(**RAW_PCA),
            n_iter=25,
            random_state=0,
            progress=False,
            stage_merge_tolerance=None,
            denoise_iter=0,
        ).fit(sessions)

    merged, plain = slds(True), slds(False)
    assert plain.merges_ == [] and len(merged.merges_) >= 1
    used = set(np.unique(np.concatenate(merged.labels_)))
    dropped = {step["dropped"] for step in merged.merges_}
    assert dropped.isdisjoint(used)
    assert dropped.isdisjoint(merged.arhmm_.used_states_)
    assert len(used) < np.unique(np.concatenate(plain.labels_)).size


def test_stage_merges_are_recorded_and_leave_no_dropped_state(noisy_sessions, fitted_slds):
    # stage merges (off by default, None): with a tolerance every dropped state of the
    # AR-HMM stage is recorded and gone from the AR-HMM the full model started from
    assert fitted_slds.stage_merge_tolerance is None and fitted_slds.stage_merges_ == []
    sessions, _ = noisy_sessions
    arhmm = ARHMM(n_states=20, n_lags=1, kappa=100.0, n_iter=5, random_state=0, progress=False)
    off = KeypointSLDS(
        arhmm,
        Preprocessor(**RAW_PCA),
        n_iter=2,
        random_state=0,
        progress=False,
        stage_merge_tolerance=None,
        evidence_merge_tolerance=None,  # the states the stage leaves, not the merges after
    ).fit(sessions)
    assert off.stage_merges_ == []
    on = KeypointSLDS(
        arhmm,
        Preprocessor(**RAW_PCA),
        n_iter=2,
        random_state=0,
        progress=False,
        stage_merge_tolerance=0.0,
        evidence_merge_tolerance=None,  # the states the stage leaves, not the merges after
    ).fit(sessions)
    assert len(on.stage_merges_) >= 1
    for step in on.stage_merges_:
        assert {"kept", "dropped", "delta_held_out"} <= set(step)
    # fewer states enter the full model after the stage merges
    assert len(np.unique(np.concatenate(on.labels_))) <= len(np.unique(np.concatenate(off.labels_)))


def test_denoised_poses_give_the_arhmm_stage_the_states(noisy_sessions):
    # a one-state keypoint LDS denoises the poses, the AR-HMM stage cuts them into
    # states and no full switching model runs; on noisy keypoints this beats the AR-HMM
    # on the PCA of the same poses
    sessions, zs = noisy_sessions
    truth = np.concatenate(zs)
    arhmm = ARHMM(n_states=20, n_lags=1, kappa=100.0, n_iter=40, random_state=0, progress=False)
    fitted = KeypointSLDS(
        arhmm,
        Preprocessor(**RAW_PCA),
        n_iter=0,
        denoise_iter=20,
        random_state=0,
        progress=False,
    ).fit(sessions)
    assert fitted.log_likelihood_.size == 0  # no iteration of the full model
    pre = Preprocessor(**RAW_PCA).fit(sessions)
    plain = ARHMM(n_states=20, n_lags=1, kappa=100.0, n_iter=40, random_state=0, progress=False)
    plain_labels = np.concatenate(plain.fit(pre.transform(sessions)).labels_)
    ari = adjusted_rand_score(truth, np.concatenate(fitted.labels_))
    assert ari > 0.8
    assert ari > adjusted_rand_score(truth, plain_labels) + 0.2
    # the noise model was learned during the denoising
    assert np.all((fitted.noise_sd_ > 0.1) & (fitted.noise_sd_ < 0.4))


def test_stage_seconds_fits_the_stage_on_the_start_and_the_full_model_on_all_frames(
    noisy_sessions, monkeypatch
):
    sessions, zs = noisy_sessions
    seen = []
    fit = ARHMM.fit

    def recording_fit(self, X, y=None, *, mask=None):
        seen.append([len(x) for x in X])
        return fit(self, X, y, mask=mask)

    monkeypatch.setattr(ARHMM, "fit", recording_fit)
    arhmm = ARHMM(n_states=20, n_lags=1, kappa=100.0, n_iter=40, random_state=0, progress=False)
    fitted = KeypointSLDS(
        arhmm,
        Preprocessor(**RAW_PCA),
        n_iter=25,
        stage_seconds=20,
        random_state=0,
        progress=False,
    ).fit(sessions)
    assert seen == [[600, 600]]  # the first 20 s at 30 fps of each 50 s session
    labels = fitted.labels_
    assert [len(z) for z in labels] == [1500, 1500]
    # the full model, started from the stage's decoded states, labels every frame
    assert adjusted_rand_score(np.concatenate(zs), np.concatenate(labels)) > 0.8
