"""The keypoint SLDS's batched pose sampler (banded posterior precision, all sequences in
one kernel call) against a dense reference and against the per-sequence Kalman filter
it replaces: the same posterior mean, the same draws for the same noise, with frames
that see nothing and sequences of unequal length."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

import behavior as bh
from behavior.syllables import ARHMM, KeypointSLDS, Preprocessor
from behavior.syllables import slds as slds_module
from behavior.syllables.slds import (
    _banded,
    _kalman,
    _log_evidence,
    _posterior_poses,
    _transition_information,
)


def _params(rng, d, n_lags, n_states):
    a = rng.normal(0, 0.3, size=(n_states, n_lags, d, d))
    a[:, 0] += 0.5 * np.eye(d)
    b = rng.normal(size=(n_states, d))
    root = rng.normal(size=(n_states, d, d))
    q = root @ np.swapaxes(root, 1, 2) + 0.2 * np.eye(d)  # full, not only diagonal
    return a, b, q


def _observations(rng, n_time, d, unseen):
    """Information of frames that saw some keypoints (full rank or not), zero where
    ``unseen``."""
    loads = rng.normal(size=(n_time, d, rng.integers(1, d + 2)))
    info_j = loads @ np.swapaxes(loads, 1, 2)
    info_h = rng.normal(size=(n_time, d)) * 2
    info_j[unseen] = 0.0
    info_h[unseen] = 0.0
    return info_h, info_j


def _dense(info_h, info_j, z, a, b, q, m0, p0):
    """Dense precision and information of ``x_{-L+1} .. x_{T-1}`` (written out term by
    term: the prior of the first L poses, each transition, each frame's keypoints)."""
    n_time, d = info_h.shape
    n_lags = a.shape[1]
    n_all = (n_time + n_lags - 1) * d

    def col(t):
        i = (t + n_lags - 1) * d
        return slice(i, i + d)

    prec = np.zeros((n_all, n_all))
    h = np.zeros(n_all)
    for t in range(-n_lags + 1, 1):
        prec[col(t), col(t)] += np.eye(d) / p0
        h[col(t)] += m0 / p0
    for t in range(1, n_time):
        k = z[t]
        move = np.zeros((d, n_all))
        move[:, col(t)] = np.eye(d)
        for lag in range(n_lags):
            move[:, col(t - lag - 1)] -= a[k, lag]
        w = np.linalg.inv(q[k])
        prec += move.T @ w @ move
        h += move.T @ w @ b[k]
    for t in range(n_time):
        prec[col(t), col(t)] += info_j[t]
        h[col(t)] += info_h[t]
    return prec, h


def _dense_draw(prec, h, u, n_lags, d):
    """``mu + R^{-T} u`` with ``R`` the dense lower Cholesky factor (``u = 0``: the mean),
    the poses before frame 0 dropped."""
    low = np.linalg.cholesky(prec)
    mean = np.linalg.solve(prec, h)
    x = mean + np.linalg.solve(low.T, u)
    return x[(n_lags - 1) * d :].reshape(-1, d)


def _problem(rng, lengths, d, n_lags, n_states, unseen_rate):
    a, b, q = _params(rng, d, n_lags, n_states)
    seqs = []
    for n_time in lengths:
        unseen = rng.random(n_time) < unseen_rate
        info_h, info_j = _observations(rng, n_time, d, unseen)
        seqs.append((info_h, info_j, rng.integers(0, n_states, n_time)))
    return seqs, a, b, q, rng.normal(size=d), float(rng.uniform(1.0, 20.0))


@pytest.mark.parametrize(("d", "n_lags"), [(1, 1), (2, 1), (3, 2), (2, 3), (4, 3)])
def test_posterior_mean_equals_the_dense_posterior_and_the_kalman_smoother(d, n_lags):
    rng = np.random.default_rng(10 * d + n_lags)
    seqs, a, b, q, m0, p0 = _problem(rng, [9, 4, 1, 12], d, n_lags, 3, unseen_rate=0.3)
    got = _posterior_poses(*(list(part) for part in zip(*seqs)), a, b, q, m0, p0, None)
    for (info_h, info_j, z), x in zip(seqs, got):
        prec, h = _dense(info_h, info_j, z, a, b, q, m0, p0)
        dense = _dense_draw(prec, h, np.zeros(len(h)), n_lags, d)
        kalman = _kalman()(
            info_h, info_j, z, a, b, q, m0, p0, np.zeros((len(z), n_lags * d)), False
        )
        scale = np.abs(dense).max()
        np.testing.assert_allclose(x, dense, atol=1e-9 * scale)
        np.testing.assert_allclose(x, kalman, atol=1e-9 * scale)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 15), min_size=1, max_size=4),
    d=st.integers(1, 3),
    n_lags=st.integers(1, 3),
    n_states=st.integers(1, 4),
    unseen_rate=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_batched_draws_are_the_dense_cholesky_draws(
    lengths, d, n_lags, n_states, unseen_rate, seed
):
    """For the same standard normals, every sequence's draw from one batched call is
    the dense posterior mean plus the inverse transposed Cholesky factor times them;
    the batch gives what each sequence alone gives."""
    rng = np.random.default_rng(seed)
    seqs, a, b, q, m0, p0 = _problem(rng, lengths, d, n_lags, n_states, unseen_rate)
    parts = [list(part) for part in zip(*seqs)]
    got = _posterior_poses(*parts, a, b, q, m0, p0, np.random.default_rng(seed))
    sizes = [(n + n_lags - 1) * d for n in lengths]
    noise = np.random.default_rng(seed).standard_normal(sum(sizes))
    at = 0
    for i, ((info_h, info_j, z), x, size) in enumerate(zip(seqs, got, sizes)):
        u = noise[at : at + size]
        at += size
        prec, h = _dense(info_h, info_j, z, a, b, q, m0, p0)
        want = _dense_draw(prec, h, u, n_lags, d)
        np.testing.assert_allclose(x, want, atol=1e-6 * max(1.0, np.abs(want).max()))
        # the sequence alone, its noise the first of the same stream
        alone = _posterior_poses([info_h], [info_j], [z], a, b, q, m0, p0, np.random.default_rng(i))
        u_alone = np.random.default_rng(i).standard_normal(size)
        want = _dense_draw(prec, h, u_alone, n_lags, d)
        np.testing.assert_allclose(alone[0], want, atol=1e-6 * max(1.0, np.abs(want).max()))


def test_draws_have_the_posterior_covariance():
    """Many copies of one sequence in one call: sample mean and covariance are the
    exact posterior's (a different mapping of noise to draws than the Kalman
    filter's would still have to pass this)."""
    rng = np.random.default_rng(3)
    seqs, a, b, q, m0, p0 = _problem(rng, [6], 2, 2, 2, unseen_rate=0.3)
    info_h, info_j, z = seqs[0]
    prec, h = _dense(info_h, info_j, z, a, b, q, m0, p0)
    cov = np.linalg.inv(prec)[2:, 2:]  # poses 0..5 (the one before frame 0 dropped)
    mean = np.linalg.solve(prec, h)[2:]
    copies = 8000
    draws = _posterior_poses(
        [info_h] * copies, [info_j] * copies, [z] * copies, a, b, q, m0, p0, rng
    )
    draws = np.stack([x.ravel() for x in draws])
    se = np.sqrt(np.diag(cov) / copies)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 5 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.06 * np.abs(cov).max())


def test_transition_information_is_the_transition_density():
    """``-log N(x_t; sum_l A_l x_{t-l} + b, Q)`` is ``v^T G v / 2 - g^T v + c`` with
    ``v = (x_{t-L}, ..., x_t)``."""
    rng = np.random.default_rng(5)
    a, b, q = _params(rng, 3, 2, 2)
    gram, shift, const = _transition_information(a, b, q)
    for k in range(2):
        v = rng.normal(size=9)
        mean = a[k, 0] @ v[3:6] + a[k, 1] @ v[:3] + b[k]
        minus_log_density = -multivariate_normal(mean, q[k]).logpdf(v[6:])
        assert np.isclose(0.5 * v @ gram[k] @ v - shift[k] @ v + const[k], minus_log_density)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    d=st.integers(1, 3),
    n_lags=st.integers(1, 3),
    n_states=st.integers(1, 3),
    unseen_rate=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_log_evidence_is_the_dense_gaussian_integral(
    lengths, d, n_lags, n_states, unseen_rate, seed
):
    """The banded pass's log evidence is ``log E_prior[exp(h^T x - x^T J x / 2)]``
    under the normalised Gaussian prior of the poses (first poses and transitions),
    computed densely: ``-log|I + S J| / 2 + (h + P m)^T (P + J)^{-1} (h + P m) / 2 -
    m^T P m / 2`` with prior mean ``m``, precision ``P`` and covariance ``S``. A
    batch of sequences gives the sum."""
    rng = np.random.default_rng(seed)
    seqs, a, b, q, m0, p0 = _problem(rng, lengths, d, n_lags, n_states, unseen_rate)
    total = 0.0
    for info_h, info_j, z in seqs:
        prior_prec, prior_h = _dense(
            np.zeros_like(info_h), np.zeros_like(info_j), z, a, b, q, m0, p0
        )
        obs_prec, obs_h = _dense(info_h, info_j, z, a, b, q, m0, p0)
        obs_prec, obs_h = obs_prec - prior_prec, obs_h - prior_h
        prior_mean = np.linalg.solve(prior_prec, prior_h)
        lin = obs_h + prior_prec @ prior_mean
        want = (
            -0.5 * np.linalg.slogdet(np.eye(len(lin)) + np.linalg.solve(prior_prec, obs_prec))[1]
            + 0.5 * lin @ np.linalg.solve(prior_prec + obs_prec, lin)
            - 0.5 * prior_mean @ prior_prec @ prior_mean
        )
        got = _log_evidence(info_h, info_j, z, np.array([0, len(z)]), a, b, q, m0, p0)
        assert np.isclose(got, want, rtol=1e-7, atol=1e-7 * max(1.0, abs(want)))
        total += want
    parts = [np.concatenate(part) for part in zip(*seqs)]
    starts = np.concatenate(([0], np.cumsum(lengths)))
    batched = _log_evidence(*parts, starts, a, b, q, m0, p0)
    assert np.isclose(batched, total, rtol=1e-7, atol=1e-7 * max(1.0, abs(total)))


def test_a_precision_not_positive_definite_falls_back_to_the_kalman_filter(caplog):
    rng = np.random.default_rng(6)
    seqs, a, b, q, m0, p0 = _problem(rng, [5, 4], 2, 1, 2, unseen_rate=0.0)
    parts = [list(part) for part in zip(*seqs)]
    parts[1][1] = -parts[1][1] * 1e6  # sequence 1: negative observation "information"
    out = np.zeros((9, 2))
    starts = np.array([0, 5, 9])
    gram, shift, const = _transition_information(a, b, q)
    evidence = np.full(2, 7.0)
    ok = _banded()(
        np.concatenate(parts[0]),
        np.concatenate(parts[1]),
        np.concatenate(parts[2]).astype(np.int64),
        starts,
        gram,
        shift,
        const,
        m0,
        p0,
        np.zeros(0),
        False,
        out,
        evidence,
    )
    assert ok.tolist() == [True, False]
    assert evidence[0] != 7.0 and evidence[1] == 7.0  # left as it was
    assert np.isnan(_log_evidence(*(np.concatenate(p) for p in parts), starts, a, b, q, m0, p0))
    with caplog.at_level(logging.WARNING, logger="behavior.syllables.slds"):
        got = _posterior_poses(*parts, a, b, q, m0, p0, None)
    assert "sequence 1" in caplog.text
    want = _kalman()(
        *seqs[1][:1], parts[1][1], seqs[1][2], a, b, q, m0, p0, np.zeros((4, 2)), False
    )
    np.testing.assert_allclose(got[1], want)
    np.testing.assert_allclose(got[0], out[:5])


@pytest.fixture(scope="module")
def small_fit():
    sessions, _ = bh.simulate.keypoint_ar(
        n_states=3, latent_dim=3, n_keypoints=6, n_sessions=2, duration="20 s", seed=2
    )
    sessions[1] = sessions[1].isel(time=slice(0, 371))  # unequal lengths
    model = KeypointSLDS(
        ARHMM(n_states=6, n_lags=2, n_iter=5, random_state=0, progress=False),
        Preprocessor(n_components=3),
        n_iter=4,
        random_state=0,
        progress=False,
    ).fit(sessions)
    return model, sessions


def test_model_pass_equals_the_per_track_kalman_filter(small_fit, monkeypatch):
    """Inside the model: the smoothed poses of both tracks (unequal lengths, lost
    keypoints) from the one batched call equal the per-track Kalman smoother's."""
    model, sessions = small_fit
    tracks = model._tracks(sessions, fitting=False)
    for tr, z in zip(tracks, model.labels_):
        tr.z = np.asarray(z, np.int64)
        tr.y0[::7, :, 0] = 0.0  # a keypoint lost every 7th frame
        tr.seen[::7, 0] = False
    weights = [model._weights(tr) for tr in tracks]
    batched = model._draw_all_poses(tracks, weights, None)
    monkeypatch.setattr(slds_module, "_REFERENCE_KALMAN", True)
    reference = model._draw_all_poses(tracks, weights, None)
    assert [len(x) for x in batched] == [len(tr.x) for tr in tracks] == [600, 371]
    for new, old in zip(batched, reference):
        np.testing.assert_allclose(new, old, atol=1e-6 * np.abs(old).max())


def _place_by_arrays(y0, pose, weight, heading, centroid, rng):
    """The placement written with whole-array operations (as before the kernels)."""

    def turn(points, cos, sin):
        out = points.copy()
        out[:, 0] = cos[:, None] * points[:, 0] - sin[:, None] * points[:, 1]
        out[:, 1] = sin[:, None] * points[:, 0] + cos[:, None] * points[:, 1]
        return out

    total = weight.sum(axis=1)
    enough = (weight > 0).sum(axis=1) >= 2
    with np.errstate(invalid="ignore", divide="ignore"):
        share = weight / total[:, None]
    share = np.where(np.isfinite(share), share, 0.0)[:, None]
    obs = y0 - (share * y0).sum(axis=2, keepdims=True)
    body = pose - (share * pose).sum(axis=2, keepdims=True)
    along = (weight * (obs[:, 0] * body[:, 0] + obs[:, 1] * body[:, 1])).sum(axis=1)
    across = (weight * (obs[:, 1] * body[:, 0] - obs[:, 0] * body[:, 1])).sum(axis=1)
    best = np.arctan2(across, along)
    if rng is not None:
        conc = np.hypot(along, across)
        ok = enough & (conc > 0)
        best = np.where(ok, best, 0.0)
        best[ok] = rng.vonmises(best[ok], conc[ok])
    heading = np.where(enough, best, heading)
    placed = turn(pose, np.cos(heading), np.sin(heading))
    centre = (share * (y0 - placed)).sum(axis=2)
    if rng is not None:
        with np.errstate(divide="ignore"):
            centre += rng.standard_normal(centre.shape) / np.sqrt(total)[:, None]
    ok = (total > 0) & np.isfinite(centre).all(axis=1)
    centroid = np.where(ok[:, None], centre, centroid)
    placed = turn(pose, np.cos(heading), np.sin(heading)) + centroid[:, :, None]
    seen = weight > 0
    resid = np.where(seen, ((y0 - placed) ** 2).sum(axis=1), 0.0)
    return heading, centroid, resid


@settings(max_examples=40, deadline=None)
@given(
    n_dims=st.sampled_from([2, 3]),
    n_kp=st.integers(2, 7),
    lost_rate=st.sampled_from([0.0, 0.4, 0.9]),
    draw=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_placement_kernels_equal_the_array_formulas(n_dims, n_kp, lost_rate, draw, seed):
    """Heading, centroid (drawn or most probable, with the same random numbers) and
    residuals from the numba kernels equal the whole-array formulas, frames with
    fewer than two keypoints included."""
    from behavior.syllables.preprocess import PoseSequence
    from behavior.syllables.slds import _Track

    rng = np.random.default_rng(seed)
    n_time, d = 12, 2
    mean = rng.normal(size=n_dims * n_kp)
    comps = rng.normal(size=(d, n_dims * n_kp))
    x = rng.normal(size=(n_time, d))
    y = rng.normal(size=(n_time, n_dims, n_kp)) * 3
    lost = rng.random((n_time, n_kp)) < lost_rate
    y[np.nonzero(lost)[0], :, np.nonzero(lost)[1]] = np.nan
    track = _Track(
        PoseSequence(("s", "m"), y, np.arange(n_time) / 30, 30.0),
        x,
        rng.normal(size=(n_time, n_dims)),
        rng.normal(size=n_time),
        np.ones(n_time, bool),
    )
    weight = np.where(track.seen, rng.uniform(0.5, 2.0, (n_time, n_kp)), 0.0)
    pose = (mean + x @ comps).reshape(n_time, n_dims, n_kp)
    want = _place_by_arrays(
        track.y0,
        pose,
        weight,
        track.heading,
        track.centroid,
        np.random.default_rng(1) if draw else None,
    )
    track.place(mean, comps, weight, np.random.default_rng(1) if draw else None)
    turn = np.angle(np.exp(1j * (track.heading - want[0])))  # the same angle, mod 2 pi
    np.testing.assert_allclose(turn, 0.0, atol=1e-9)
    np.testing.assert_allclose(track.centroid, want[1], atol=1e-9)
    np.testing.assert_allclose(track.residual(mean, comps), want[2], atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(
    n_dims=st.sampled_from([2, 3]),
    n_kp=st.integers(2, 6),
    d=st.integers(1, 4),
    seed=st.integers(0, 2**31 - 1),
)
def test_information_kernel_equals_the_array_formula(n_dims, n_kp, d, seed):
    """Each frame's ``(h, J)``: the keypoints turned back into the body frame, minus
    the mean pose, projected on the components and weighted (lost keypoints: 0)."""
    from behavior.syllables.preprocess import PoseSequence
    from behavior.syllables.slds import _Track

    rng = np.random.default_rng(seed)
    n_time = 9
    y = rng.normal(size=(n_time, n_dims, n_kp)) * 3
    lost = rng.random((n_time, n_kp)) < 0.3
    y[np.nonzero(lost)[0], :, np.nonzero(lost)[1]] = np.nan
    track = _Track(
        PoseSequence(("s", "m"), y, np.arange(n_time) / 30, 30.0),
        np.zeros((n_time, d)),
        rng.normal(size=(n_time, n_dims)),
        rng.normal(size=n_time),
        np.ones(n_time, bool),
    )
    weight = np.where(track.seen, rng.uniform(0.5, 2.0, (n_time, n_kp)), 0.0)
    model = KeypointSLDS()
    model.preprocessor_ = Preprocessor()
    model.preprocessor_.mean_ = rng.normal(size=n_dims * n_kp)
    model.preprocessor_.components_ = rng.normal(size=(d, n_dims * n_kp))
    info_h, info_j = model._information(track, weight)
    c = model.preprocessor_.components_.reshape(d, n_dims, n_kp)
    moved = track.y0 - track.centroid[:, :, None]
    cos, sin = np.cos(track.heading)[:, None], np.sin(track.heading)[:, None]
    ego = moved.copy()
    ego[:, 0] = cos * moved[:, 0] + sin * moved[:, 1]
    ego[:, 1] = -sin * moved[:, 0] + cos * moved[:, 1]
    ego -= model.preprocessor_.mean_.reshape(n_dims, n_kp)
    np.testing.assert_allclose(info_j, np.einsum("tk,dsk,esk->tde", weight, c, c), atol=1e-9)
    np.testing.assert_allclose(info_h, np.einsum("tk,dsk,tsk->td", weight, c, ego), atol=1e-9)


def test_a_new_process_loads_every_kernel_from_the_disk_cache():
    """numba keys a cached kernel by its closure's contents, which differ in every
    process: a kernel that reached its helpers through a closure was compiled again in
    each new process (about 30 s). This session's warm-up wrote the cache; a fresh
    interpreter must load every kernel from it and compile none."""
    import subprocess
    import sys

    slds_module._warm_up()  # the cache exists whatever ran before
    script = """
from behavior.syllables import slds
slds._warm_up()
kernels = [slds._kalman(), slds._banded(), *slds._geometry()]
for k in kernels:
    assert k.py_func.__closure__ is None, k.py_func.__qualname__
    assert not k.stats.cache_misses, (k.py_func.__qualname__, dict(k.stats.cache_misses))
    assert k.stats.cache_hits, k.py_func.__qualname__
print(len(kernels))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "6"
