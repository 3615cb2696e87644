"""Keypoint switching linear dynamical system: syllables of poses inferred, not read off.

The AR-HMM (:class:`~behavior.syllables.arhmm.ARHMM`) models the PCA scores of the
tracked keypoints as if they were the animal's pose. They are not: tracking
jitter, outliers and lost points go straight into the autoregression, and the
model spends states on them. The keypoint SLDS of Keypoint-MoSeq (Weinreb et al.
2024, Nature Methods 21:1329) puts a noise model between the pose and the
keypoints and infers the pose. Written here from the published model:

* a latent pose ``x_t`` (``D`` PCA dimensions) follows the AR-HMM:
  ``x_t = sum_l A_{z_t,l} x_{t-l} + b_{z_t} + e_t``, ``e_t ~ N(0, Q_{z_t})``;
* keypoint ``k`` is observed at the pose's keypoint turned by the heading ``h_t``
  and moved to the centroid ``v_t``:
  ``y_{t,k} = R(h_t) (m + C^T x_t)_k + v_t + eps_{t,k}``, with ``C`` and ``m`` the
  preprocessor's PCA components and mean pose;
* the noise is per keypoint and per frame, ``eps_{t,k} ~ N(0, sigma_k^2 s_{t,k} I)``:
  ``sigma_k^2`` is the keypoint's error variance and ``s_{t,k}`` a scale with an
  inverse-gamma prior (``outlier_df`` degrees of freedom, so that the noise is
  Student-t and an outlier costs little) whose prior scale follows the tracker's
  confidence, ``s0_{t,k} = (c_{t,k} / c_median)^beta`` with ``beta``
  (``confidence_power``) fitted to the data by default (least squares of the log
  squared residuals on the log confidence, within keypoints, refitted every
  iteration as the residuals shed the pose); missing keypoints (NaN,
  or below the preprocessor's ``min_confidence``) do not enter the likelihood, nor
  do held ones, an exact repeat of the frame before (:func:`_measured`);
* the dynamics do not run through masked frames (too few keypoints for a pose:
  the animal out of view or hidden): their poses take the broad prior of a
  sequence's first poses instead (:func:`_with_gap_state`).

The noise variances start at the median error of the PCA's reconstruction of the
keypoints or, where that PCA keeps every degree of freedom of the pose (4-6
keypoints) and so reconstructs them exactly, at the keypoints' frame-to-frame
jitter (``noise_start_``); starting at the reconstruction's zero error, the model
had read the keypoints as exact poses.

Fitting is blocked Gibbs sampling. The starting poses, heading and centroid of
every frame are fitted to its tracked keypoints alone with Student-t weights
(iteratively reweighted least squares), so that outliers and lost keypoints do
not reach the AR-HMM stage as the preprocessor's interpolated projections would.
The AR-HMM alone then runs on them (its ``n_iter`` sweeps, merges included), and
every iteration of the full model draws, in turn: the latent poses of all
sequences given the states, in one numba pass (given the states, a sequence's
poses have a block-banded posterior precision, ``n_lags`` frames wide; its
banded Cholesky factor gives the posterior mean and an exact draw with no
library call per frame; the Kalman forward filter / backward sampler that did
this per sequence before is kept as the reference and as the fallback); the
heading (von Mises, with the centroid integrated out) and centroid (Gaussian) of
every frame (numba kernels that build each frame's pose on the fly); the noise
scales and variances (conjugate inverse-gamma); and one sweep of the AR-HMM chain
on the new poses, which continues where it stood (nothing is recompiled; merges are
tried during the first half, as in the AR-HMM's burn-in). The label of a frame is
its most frequent state over the second half of the iterations (the marginal
posterior mode, steadier at syllable boundaries than the last draw); the
reported latents are the smoothed (posterior mean) poses given those labels.
After the fit, copies of one state are merged by the held-out evidence of the
keypoints given the states, the poses integrated out (the banded pass gives the
evidence too; ``evidence_merge_tolerance``).
:meth:`KeypointSLDS.predict` and :meth:`KeypointSLDS.transform` run the same
sampler on new sessions with the fitted parameters held fixed
(``apply_iter`` iterations).
"""

from __future__ import annotations

import logging
import time
from types import MappingProxyType
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from behavior.errors import PoseDataError
from behavior.syllables._common import SessionInputMixin, merge_mapping
from behavior.syllables.arhmm import dynamics_in_data_units

__all__ = ["KeypointSLDS"]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Kalman filter / sampler (numba)
# --------------------------------------------------------------------------------------

_KALMAN = None
# The kernels' helpers are module globals, not closure variables: numba keys a
# cached kernel by its closure's contents, which differ in every process, so a
# kernel that reached its helpers through a closure was compiled again in each one.
_kalman_predict = _kalman_cholesky = _kalman_cho_solve = None


def _kalman():
    """The numba kernel, compiled on first use (cached on disk)."""
    global _KALMAN, _kalman_predict, _kalman_cholesky, _kalman_cho_solve
    if _KALMAN is not None:
        return _KALMAN
    import numba

    @numba.njit(cache=True)
    def cholesky(a, low):  # pragma: no cover - numba
        """Lower Cholesky factor of a small SPD matrix into ``low``; False if not PD."""
        n = a.shape[0]
        for j in range(n):
            acc = a[j, j]
            for c in range(j):
                acc -= low[j, c] * low[j, c]
            if not acc > 0.0:
                return False
            low[j, j] = np.sqrt(acc)
            for i in range(j + 1, n):
                acc = a[i, j]
                for c in range(j):
                    acc -= low[i, c] * low[j, c]
                low[i, j] = acc / low[j, j]
            for i in range(j):
                low[i, j] = 0.0
        return True

    @numba.njit(cache=True)
    def cho_solve(low, rhs):  # pragma: no cover - numba
        """``A^{-1} rhs`` from the lower Cholesky factor of A (rhs: n x m)."""
        n, m = rhs.shape
        y = np.empty((n, m))
        for c in range(m):
            for i in range(n):
                acc = rhs[i, c]
                for j in range(i):
                    acc -= low[i, j] * y[j, c]
                y[i, c] = acc / low[i, i]
            for i in range(n - 1, -1, -1):
                acc = y[i, c]
                for j in range(i + 1, n):
                    acc -= low[j, i] * y[j, c]
                y[i, c] = acc / low[i, i]
        return y

    @numba.njit(cache=True)
    def predict(mean, cov, a_row, a_row_t, b_k, q_k, d):  # pragma: no cover - numba
        """One step ahead: ``F mean + b`` and ``F cov F^T + Q`` for the augmented state
        (F: AR rows on top, the lags shifted down), and ``F cov``."""
        n = mean.shape[0]
        m = np.empty(n)
        m[:d] = a_row @ mean + b_k
        m[d:] = mean[: n - d]
        f_cov = np.empty((n, n))
        f_cov[:d] = a_row @ cov
        f_cov[d:] = cov[: n - d]
        p = np.empty((n, n))
        p[:, :d] = f_cov @ a_row_t
        p[:, d:] = f_cov[:, : n - d]
        p[:d, :d] += q_k
        return m, 0.5 * (p + p.T), f_cov

    @numba.njit(cache=True)
    def ffbs(info_h, info_j, z, a, b, q, m0, p0, u, sample):  # pragma: no cover - numba
        """Posterior sample (or smoothed mean) of x given states and observation information.

        Transition in state ``z_t`` (t >= 1): ``x_t = sum_l a[z_t, l] x_{t-l} + b[z_t] +
        N(0, q[z_t])``; the state is augmented to the last ``L`` poses. The observation
        of frame t enters as information ``(info_h[t], info_j[t])`` on ``x_t``:
        ``J x = h`` in the mean. The first state has mean ``m0`` (each lag) and
        variance ``p0``. Only the filtered moments are stored; the predicted ones
        are recomputed on the way back.
        """
        n_time, d = info_h.shape
        n_states, n_lags = a.shape[0], a.shape[1]
        n = n_lags * d
        a_row = np.empty((n_states, d, n))
        a_row_t = np.empty((n_states, n, d))
        for k in range(n_states):
            for lag in range(n_lags):
                a_row[k, :, lag * d : (lag + 1) * d] = a[k, lag]
            a_row_t[k] = a_row[k].T
        eye_d = np.eye(d)
        mf = np.empty((n_time, n))
        pf = np.empty((n_time, n, n))
        rhs = np.empty((d, n + 1))
        for t in range(n_time):
            if t == 0:
                m = np.empty(n)
                for lag in range(n_lags):
                    m[lag * d : (lag + 1) * d] = m0
                p = np.eye(n) * p0
            else:
                k = z[t]
                m, p, _ = _kalman_predict(mf[t - 1], pf[t - 1], a_row[k], a_row_t[k], b[k], q[k], d)
            jt = np.ascontiguousarray(info_j[t])
            if not jt.any() and not info_h[t].any():  # nothing observed
                mf[t] = m
                pf[t] = p
                continue
            s = eye_d + jt @ np.ascontiguousarray(p[:d, :d])
            rhs[:, :n] = jt @ np.ascontiguousarray(p[:d, :])
            rhs[:, n] = info_h[t] - jt @ m[:d]
            sol = np.linalg.solve(s, rhs)
            p_col = np.ascontiguousarray(p[:, :d])
            mf[t] = m + p_col @ np.ascontiguousarray(sol[:, n])
            post = p - p_col @ np.ascontiguousarray(sol[:, :n])
            pf[t] = 0.5 * (post + post.T)
        x = np.empty((n_time, d))
        s_next = mf[n_time - 1].copy()
        if sample:
            w, v = np.linalg.eigh(pf[n_time - 1])
            s_next += v @ (np.sqrt(np.maximum(w, 0.0)) * u[n_time - 1])
        x[n_time - 1] = s_next[:d]
        last = n - d  # the oldest lag: the only block of s_t that s_{t+1} leaves free
        both = np.empty((n, d + 1))
        low_n = np.zeros((n, n))
        low_d = np.zeros((d, d))
        for t in range(n_time - 2, -1, -1):
            k = z[t + 1]
            m_pred, p_pred, f_cov = _kalman_predict(
                mf[t], pf[t], a_row[k], a_row_t[k], b[k], q[k], d
            )
            both[:, 0] = s_next - m_pred
            both[:, 1:] = f_cov[:, last:]
            if _kalman_cholesky(p_pred, low_n):
                sol = _kalman_cho_solve(low_n, both)
            else:
                sol = np.linalg.solve(p_pred, both)
            mean = mf[t] + f_cov.T @ np.ascontiguousarray(sol[:, 0])
            if sample:
                f_free = np.ascontiguousarray(f_cov[:, last:])
                cov = pf[t, last:, last:] - f_free.T @ np.ascontiguousarray(sol[:, 1:])
                cov = 0.5 * (cov + cov.T)
                if _kalman_cholesky(cov, low_d):
                    step = low_d @ np.ascontiguousarray(u[t, :d])
                else:  # nearly singular: the symmetric square root
                    w, v = np.linalg.eigh(cov)
                    step = v @ (np.sqrt(np.maximum(w, 0.0)) * u[t, :d])
                mean = np.concatenate((s_next[d:], mean[last:] + step))
            s_next = mean
            x[t] = mean[:d]
        return x

    _kalman_predict, _kalman_cholesky, _kalman_cho_solve = predict, cholesky, cho_solve
    _KALMAN = ffbs
    return ffbs


# --------------------------------------------------------------------------------------
# Posterior poses of all sequences in one pass: the banded precision (numba)
# --------------------------------------------------------------------------------------

_BANDED = None
_REFERENCE_KALMAN = False  # True: the per-sequence Kalman filter (benchmarks, tests)


def _banded():
    """The batched kernel, compiled on first use (cached on disk).

    Given the states, the poses of a sequence are jointly Gaussian with a
    block-banded precision: the poses ``x_{-L+1} .. x_{T-1}`` (the ``L - 1`` lags
    before the first frame included) couple only within ``L`` frames. Its
    Cholesky factor ``R`` (lower, ``R R^T`` = precision) is banded too and is
    computed in one streaming pass over the poses, with no library call; the
    posterior mean solves ``R R^T mu = h`` and a draw is ``mu + R^{-T} u``. Cost
    per frame:
    ``d ((L + 1) d)^2 / 2`` multiply-adds, whatever the number of states. The
    sequences lie end to end (``starts``) and are done one after the other in
    the same call.

    The same pass gives each sequence's log evidence given its states, the poses
    integrated out: with precision ``P = R R^T`` and information ``h`` of the
    poses, ``log int prior(x) exp(h_obs^T x - x^T J_obs x / 2) dx =
    n log(2 pi) / 2 - log|R| + |v|^2 / 2 - c`` where ``R v = h`` and ``c`` holds
    the normalising constants of the first poses' prior and of every transition
    (``const``). The keypoints' own constant, which depends neither on the
    states nor on the dynamics, is left out.
    """
    global _BANDED
    if _BANDED is not None:
        return _BANDED
    import numba

    @numba.njit(cache=True)
    def banded_pass(
        info_h, info_j, z, starts, gram, shift, const, m0, p0, u, sample, out, evidence
    ):  # pragma: no cover - numba
        """Posterior mean (or a draw, with ``sample``) of the poses of every sequence
        into ``out`` and its log evidence into ``evidence``; per sequence, False
        where the precision was not positive definite (``out`` and ``evidence``
        are then left as they were)."""
        d = info_h.shape[1]
        width = gram.shape[1]  # (L + 1) d: one transition's variables
        n_lags = width // d - 1
        w = width - 1  # half bandwidth (scalar), the diagonal at column w
        n_seq = starts.size - 1
        ok = np.ones(n_seq, np.bool_)
        longest = 0
        for s in range(n_seq):
            longest = max(longest, starts[s + 1] - starts[s])
        band = np.empty(((longest + n_lags - 1) * d, w + 1))
        vec = np.empty((longest + n_lags - 1) * d)
        col = np.empty(w + 1)
        u_at = 0
        for s in range(n_seq):
            t0 = starts[s]
            n_time = starts[s + 1] - t0
            n = (n_time + n_lags - 1) * d
            if n_time == 0:
                continue
            # One streaming pass, block (pose) by block: its prior, keypoints and the
            # transition that starts there are added, then its columns of R are
            # computed (right-looking: the rank-one updates of the rows below are
            # contiguous and independent, hence vectorised) and its rows of
            # R v = h solved; only the next L + 2 blocks are ever touched, so the
            # work stays in cache. band[i, c]: entry (i, i - w + c), diagonal at w.
            n_blocks = n_time + n_lags - 1
            log_det = 0.0  # log |R| = log |precision| / 2
            quad = 0.0  # h^T precision^-1 h = |v|^2 with R v = h
            energy = 0.0  # the normalising constants of the prior and the transitions
            for i in range(min(n_blocks, n_lags + 1) * d):  # blocks 0 .. L
                band[i, :] = 0.0
                vec[i] = 0.0
            for blk in range(n_blocks):
                ahead = blk + n_lags + 1  # the first block that R's updates reach now
                if ahead < n_blocks:
                    for i in range(ahead * d, (ahead + 1) * d):
                        band[i, :] = 0.0
                        vec[i] = 0.0
                base = blk * d
                if blk < n_lags:  # the first L poses' prior
                    for a in range(d):
                        band[base + a, w] += 1.0 / p0
                        vec[base + a] += m0[a] / p0
                        energy += 0.5 * (np.log(2.0 * np.pi * p0) + m0[a] * m0[a] / p0)
                t = blk - n_lags + 1
                if t >= 0:  # the keypoints of frame t
                    for a in range(d):
                        vec[base + a] += info_h[t0 + t, a]
                        for b in range(a + 1):
                            band[base + a, w - a + b] += info_j[t0 + t, a, b]
                t = blk + 1
                if t < n_time:  # x_t given x_{t-L} .. x_{t-1}: blocks blk .. blk + L
                    k = z[t0 + t]
                    energy += const[k]
                    for a in range(width):
                        vec[base + a] += shift[k, a]
                        for b in range(a + 1):
                            band[base + a, w - a + b] += gram[k, a, b]
                for j in range(base, base + d):
                    diag = band[j, w]
                    if not diag > 0.0:
                        ok[s] = False
                        break
                    root = np.sqrt(diag)
                    log_det += np.log(root)
                    band[j, w] = root
                    below = min(w, n - 1 - j)
                    for p in range(1, below + 1):
                        col[p] = band[j + p, w - p] / root
                        band[j + p, w - p] = col[p]
                    for p in range(1, below + 1):
                        lead = col[p]
                        row = j + p
                        for r in range(1, p + 1):
                            band[row, w - p + r] -= lead * col[r]
                    acc = vec[j]  # row j of R is final: R v = h there
                    for m in range(max(0, j - w), j):
                        acc -= band[j, m - j + w] * vec[m]
                    vec[j] = acc / root
                    quad += vec[j] * vec[j]
                if not ok[s]:
                    break
            if ok[s]:
                # log of the integral over the poses of prior x keypoint terms
                evidence[s] = 0.5 * n * np.log(2.0 * np.pi) - log_det + 0.5 * quad - energy
                if sample:
                    for i in range(n):
                        vec[i] += u[u_at + i]
                for i in range(n - 1, -1, -1):  # R^T x = v (+ u)
                    acc = vec[i]
                    for m in range(i + 1, min(n, i + w + 1)):
                        acc -= band[m, i - m + w] * vec[m]
                    vec[i] = acc / band[i, w]
                skip = (n_lags - 1) * d
                for t in range(n_time):
                    for a in range(d):
                        out[t0 + t, a] = vec[skip + t * d + a]
            u_at += n
        return ok

    _BANDED = banded_pass
    return banded_pass


def _transition_information(
    a: np.ndarray, b: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per state, the precision and information that one AR transition adds on
    ``(x_{t-L}, ..., x_{t-1}, x_t)``: ``M^T Q^{-1} M`` and ``M^T Q^{-1} b`` with
    ``M = [-A_L, ..., -A_1, I]`` (one batched inverse for all states), and the
    constant of its negative log density, ``b^T Q^{-1} b / 2 + log|2 pi Q| / 2``.

    Examples
    --------
    >>> gram, shift, const = _transition_information(
    ...     np.full((1, 1, 1, 1), 0.5), np.zeros((1, 1)), np.ones((1, 1, 1)))
    >>> gram[0].tolist()
    [[0.25, -0.5], [-0.5, 1.0]]
    """
    a, b, q = (np.asarray(v, np.float64) for v in (a, b, q))
    n_states, n_lags, d = a.shape[0], a.shape[1], a.shape[2]
    moves = np.zeros((n_states, d, (n_lags + 1) * d))
    for lag in range(n_lags):  # x_{t-1-lag} sits in block L - 1 - lag
        block = n_lags - 1 - lag
        moves[:, :, block * d : (block + 1) * d] = -a[:, lag]
    moves[:, :, n_lags * d :] = np.eye(d)
    precision = np.linalg.inv(q)
    precision = 0.5 * (precision + np.swapaxes(precision, 1, 2))
    weighted = precision @ moves  # (K, d, (L+1) d)
    gram = np.swapaxes(moves, 1, 2) @ weighted
    gram = 0.5 * (gram + np.swapaxes(gram, 1, 2))
    shift = np.einsum("kda,kd->ka", weighted, b)
    const = 0.5 * np.einsum("ka,kab,kb->k", b, precision, b)
    const += 0.5 * np.linalg.slogdet(2.0 * np.pi * q)[1]
    return np.ascontiguousarray(gram), np.ascontiguousarray(shift), const


def _with_gap_state(
    a: np.ndarray, b: np.ndarray, q: np.ndarray, m0: np.ndarray, p0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The AR parameters with one state more, index ``len(a)``: the pose prior alone
    (``A = 0``, ``b = m0``, ``Q = p0 I``). Masked frames (too few keypoints for a pose)
    take it, so that the dynamics do not run through gaps in the tracking: rats that
    leave the view for hundreds of frames under states whose dynamics grow made the
    poses' precision singular there (rat_social_dev), and their poses are not used.

    Examples
    --------
    >>> a, b, q = _with_gap_state(np.ones((1, 1, 2, 2)), np.ones((1, 2)),
    ...                           np.ones((1, 2, 2)), np.zeros(2), 9.0)
    >>> a.shape, float(a[1].sum()), q[1].tolist()
    ((2, 1, 2, 2), 0.0, [[9.0, 0.0], [0.0, 9.0]])
    """
    a, b, q = (np.asarray(v, np.float64) for v in (a, b, q))
    d = a.shape[2]
    return (
        np.concatenate([a, np.zeros((1, *a.shape[1:]))]),
        np.concatenate([b, np.asarray(m0, np.float64)[None]]),
        np.concatenate([q, float(p0) * np.eye(d)[None]]),
    )


def _gap_states(z: np.ndarray, mask: np.ndarray, n_states: int) -> np.ndarray:
    """The states ``z`` with every masked frame given the gap state ``n_states``."""
    return np.where(np.asarray(mask, bool), np.asarray(z, np.int64), n_states).astype(np.int64)


def _posterior_poses(
    info_h: list[np.ndarray],
    info_j: list[np.ndarray],
    z: list[np.ndarray],
    a: np.ndarray,
    b: np.ndarray,
    q: np.ndarray,
    m0: np.ndarray,
    p0: float,
    rng: np.random.Generator | None,
) -> list[np.ndarray]:
    """Posterior draw (or, with ``rng=None``, mean) of the poses of every sequence
    given its states, in one kernel call over all of them.

    ``info_h[i]`` ``(T_i, d)`` and ``info_j[i]`` ``(T_i, d, d)`` are the
    observation information of sequence ``i``'s frames (zero where nothing was
    seen), ``z[i]`` its states; ``a, b, q`` the AR parameters, ``m0, p0`` the
    prior of the first ``L`` poses. The sampler of the reference kernel
    :func:`_kalman` (forward filter, backward sampling), exactly, but with no
    library call per frame; a sequence whose precision is numerically not
    positive definite falls back to that kernel.

    Examples
    --------
    >>> x = _posterior_poses([np.ones((4, 1))], [np.ones((4, 1, 1))], [np.zeros(4, int)],
    ...     np.full((1, 1, 1, 1), 0.9), np.zeros((1, 1)), np.ones((1, 1, 1)),
    ...     np.zeros(1), 100.0, None)
    >>> x[0].shape
    (4, 1)
    """
    d = a.shape[2]
    n_lags = a.shape[1]
    lengths = np.array([len(h) for h in info_h], np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    gram, shift, const = _transition_information(a, b, q)
    n_draws = int(((lengths + n_lags - 1) * d)[lengths > 0].sum())
    u = rng.standard_normal(n_draws) if rng is not None else np.zeros(0)
    h_all = np.ascontiguousarray(np.concatenate(info_h), np.float64)
    j_all = np.ascontiguousarray(np.concatenate(info_j), np.float64)
    z_all = np.ascontiguousarray(np.concatenate(z), np.int64)
    out = np.zeros((int(starts[-1]), d))
    m0 = np.ascontiguousarray(m0, np.float64)
    evidence = np.zeros(len(lengths))
    ok = _banded()(
        h_all,
        j_all,
        z_all,
        starts,
        gram,
        shift,
        const,
        m0,
        float(p0),
        u,
        rng is not None,
        out,
        evidence,
    )
    poses = [out[starts[i] : starts[i + 1]] for i in range(len(lengths))]
    for i in np.flatnonzero(~ok):
        logger.warning(
            "sequence %d: posterior precision of the poses not positive definite in "
            "floating point; sampled by the Kalman filter instead",
            i,
        )
        noise = (
            rng.standard_normal((lengths[i], n_lags * d))
            if rng is not None
            else np.zeros((lengths[i], n_lags * d))
        )
        poses[i] = _kalman()(
            np.ascontiguousarray(info_h[i], np.float64),
            np.ascontiguousarray(info_j[i], np.float64),
            np.ascontiguousarray(z[i], np.int64),
            a,
            b,
            q,
            m0,
            float(p0),
            noise,
            rng is not None,
        )
    return poses


# --------------------------------------------------------------------------------------
# Merges of states by the evidence of the keypoints
# --------------------------------------------------------------------------------------

_EVIDENCE_CANDIDATES = 8
"""Pairs of states whose merge is tested per round (the closest dynamics first)."""

_EVIDENCE_FRAMES_PER_PARAMETER = 5
"""Frames per parameter of a state's dynamics below which its merges are not tested
(with none, real sessions merge to 1-2 syllables; 5 gained over 10 on the family's
seed 0 and held-out seed 2, see ``KeypointSLDS``'s ``evidence_merge_tolerance``)."""

_EVIDENCE_DRAWS = 4
"""Posterior draws of the poses whose statistics give the dynamics the merges test."""


_RARE_STATE_FRACTION = 0.005
"""States with at most this fraction of the frames are the only ones the AR-HMM's
merge test on the SLDS's smoothed poses may drop."""


def _determined_frames(dims: int, lags: int) -> int:
    """Frames a state needs before a held-out test can judge its dynamics:
    ``_EVIDENCE_FRAMES_PER_PARAMETER`` per parameter of ``(A, b, Q)`` in ``dims``
    dimensions with ``lags`` lags. Dynamics fitted to fewer frames lose anything
    held out, so a held-out test merges anything into them."""
    n_params = dims * (lags * dims + 1) + dims * (dims + 1) // 2
    return _EVIDENCE_FRAMES_PER_PARAMETER * n_params


def _log_evidence(info_h, info_j, z, starts, a, b, q, m0, p0) -> float:
    """Summed log evidence of the sequences laid end to end at ``starts`` given their
    states ``z`` and the dynamics ``(a, b, q)``, the poses integrated out (NaN if a
    posterior precision is not positive definite).

    Examples
    --------
    >>> ev = _log_evidence(np.ones((3, 1)), np.ones((3, 1, 1)), np.zeros(3, np.int64),
    ...                    np.array([0, 3]), np.full((1, 1, 1, 1), 0.9), np.zeros((1, 1)),
    ...                    np.ones((1, 1, 1)), np.zeros(1), 10.0)
    >>> bool(np.isfinite(ev))
    True
    """
    gram, shift, const = _transition_information(a, b, q)
    out = np.empty(np.shape(info_h))
    evidence = np.zeros(len(starts) - 1)
    ok = _banded()(
        np.ascontiguousarray(info_h, np.float64),
        np.ascontiguousarray(info_j, np.float64),
        np.ascontiguousarray(z, np.int64),
        np.ascontiguousarray(starts, np.int64),
        gram,
        shift,
        const,
        np.ascontiguousarray(m0, np.float64),
        float(p0),
        np.zeros(0),
        False,
        out,
        evidence,
    )
    return float(evidence.sum()) if ok.all() else float("nan")


class _EvidenceMerges:
    """Greedy merges of states while the held-out evidence of the keypoints holds.

    The AR-HMM's own merge test (:meth:`ARHMM.merge_states`) scores dynamics on
    poses. On the SLDS's smoothed poses it is biased towards keeping copies of a
    state: those poses were smoothed under each copy's own dynamics, so each copy
    fits its own frames best. Here the poses are integrated out instead. The
    frames are cut into two folds of alternate blocks; for each fold, the MAP
    dynamics of every state (the AR-HMM's prior, centred on a random walk) come
    from the sufficient statistics of the other fold's frames, averaged over
    ``_EVIDENCE_DRAWS`` posterior draws of the poses given the states (draws, not
    the smoothed poses, whose steps understate every state's noise), and the
    evidence of the fold's keypoint terms given the states is computed with
    those dynamics, each block a sequence of its own (:func:`_log_evidence`). A
    merge of two states is kept when the summed held-out evidence does not fall
    by more than ``tolerance`` per frame of the smaller state. Only states with
    at least ``_EVIDENCE_FRAMES_PER_PARAMETER`` frames per parameter of their
    dynamics are tested. Per round the ``_EVIDENCE_CANDIDATES`` pairs with the
    closest dynamics (mean log-likelihood lost when the frames of each state go
    to the other, both ways) are tried in that order; the first kept merge
    starts the next round.
    """

    def __init__(self, draws, masks, infos, arhmm, m0, p0) -> None:
        lags = arhmm.n_lags
        self.arhmm, self.lags, self.m0, self.p0 = arhmm, lags, m0, float(p0)
        self.n_states = arhmm.n_states
        xs = draws[0]
        total = sum(len(x) for x in xs)
        block = min(1024, max(16, total // 8))
        d = xs[0].shape[1]
        self.d = d
        # per draw of the poses, design rows t >= L of every sequence:
        # [w_{t-1}, ..., w_{t-L}, 1] -> w_t - w_{t-1} (w: the AR-HMM's standardised poses)
        self.feats, self.steps = [], []
        for poses in draws:
            feats, steps = [], []
            for x in poses:
                n = len(x)
                if n <= lags:
                    continue
                w = (np.asarray(x, np.float64) - arhmm.mean_) / arhmm.scale_
                cols = [w[lags - 1 - lag : n - 1 - lag] for lag in range(lags)]
                feats.append(np.concatenate([*cols, np.ones((n - lags, 1))], axis=1))
                steps.append(w[lags:] - w[lags - 1 : n - 1])
            self.feats.append(np.concatenate([np.zeros((0, lags * d + 1)), *feats]))
            self.steps.append(np.concatenate([np.zeros((0, d)), *steps]))
        row_fold, row_ok = [np.zeros(0, np.int64)], [np.zeros(0, bool)]
        for x, m in zip(xs, masks):
            if len(x) > lags:
                row_fold.append((np.arange(lags, len(x)) // block) % 2)
                row_ok.append(np.asarray(m, bool)[lags:])
        self.row_fold = np.concatenate(row_fold)
        self.row_ok = np.concatenate(row_ok)
        self.frame_ok = np.concatenate([np.zeros(0, bool), *(np.asarray(m, bool) for m in masks)])
        self.row_of = [len(x) > lags for x in xs]  # sequences that have design rows
        ws = [(np.asarray(x, np.float64) - arhmm.mean_) / arhmm.scale_ for x in xs]
        diffs = np.concatenate([np.zeros((0, d)), *(np.diff(w, axis=0) for w in ws)])
        var = diffs.var(axis=0) if diffs.shape[0] > 1 else np.ones(d)
        var = np.where(var > 0, var, 1.0)
        self.nu0 = d + 2.0
        self.s0 = np.diag(arhmm.s_0 * var * (self.nu0 - d - 1.0))
        self.k0inv = np.eye(lags * d + 1) / arhmm.k_0
        # each fold's frames as sequences of their own (one per block)
        self.folds = []
        for fold in (0, 1):
            h_parts, j_parts, take, starts = [], [], [], [0]
            offset = 0
            for (info_h, info_j), x in zip(infos, xs):
                frames = np.flatnonzero((np.arange(len(x)) // block) % 2 == fold)
                if frames.size:
                    cuts = np.flatnonzero(np.diff(frames) > 1) + 1
                    for run in np.split(frames, cuts):
                        starts.append(starts[-1] + run.size)
                    h_parts.append(info_h[frames])
                    j_parts.append(info_j[frames])
                    take.append(offset + frames)
                offset += len(x)
            if not h_parts:  # fewer frames than one block: nothing to hold out
                h_parts, j_parts, take = [np.zeros((0, d))], [np.zeros((0, d, d))], [[]]
            self.folds.append(
                (
                    np.ascontiguousarray(np.concatenate(h_parts)),
                    np.ascontiguousarray(np.concatenate(j_parts)),
                    np.concatenate(take).astype(np.int64),
                    np.asarray(starts, np.int64),
                )
            )

    def _row_labels(self, zs) -> np.ndarray:
        return np.concatenate(
            [np.asarray(z, np.int64)[self.lags :] for z, has in zip(zs, self.row_of) if has]
        )

    def _stats(self, rows_z: np.ndarray) -> list[tuple]:
        """Per fold, every state's sufficient statistics from the other fold's rows."""
        k, p, d = self.n_states, self.feats[0].shape[1], self.d
        out = []
        for fold in (0, 1):
            zz, yz = np.zeros((k, p, p)), np.zeros((k, d, p))
            yy, n = np.zeros((k, d, d)), np.zeros(k)
            train = self.row_ok & (self.row_fold != fold)
            for state in np.unique(rows_z[train]):
                sel = train & (rows_z == state)
                for feat, step in zip(self.feats, self.steps):  # averaged over the draws
                    f, y = feat[sel], step[sel]
                    zz[state] += f.T @ f / len(self.feats)
                    yz[state] += y.T @ f / len(self.feats)
                    yy[state] += y.T @ y / len(self.feats)
                n[state] = sel.sum()
            out.append((zz, yz, yy, n))
        return out

    def _map(self, stats: tuple) -> tuple[np.ndarray, np.ndarray]:
        """MAP dynamics (standardised units: W, Q) of every state from its statistics."""
        zz, yz, yy, n = stats
        w = np.linalg.solve(zz + self.k0inv, np.swapaxes(yz, 1, 2))  # (K, p, d)
        w = np.swapaxes(w, 1, 2)
        scatter = yy - w @ np.swapaxes(yz, 1, 2)
        q = (self.s0 + scatter) / (self.nu0 + n + self.d + 1.0)[:, None, None]
        return w, 0.5 * (q + np.swapaxes(q, 1, 2))

    def held_out(self, labels: np.ndarray, stats: list[tuple]) -> float:
        """Summed evidence of both folds, each with the other fold's dynamics."""
        arhmm = self.arhmm
        total = 0.0
        for (info_h, info_j, take, starts), fold_stats in zip(self.folds, stats):
            w, q = self._map(fold_stats)
            a, b, q = _with_gap_state(
                *dynamics_in_data_units(w, q, arhmm.mean_, arhmm.scale_, self.lags),
                self.m0,
                self.p0,
            )
            z = _gap_states(labels[take], self.frame_ok[take], self.n_states)
            total += _log_evidence(info_h, info_j, z, starts, a, b, q, self.m0, self.p0)
        return total

    def _candidates(self, rows_z: np.ndarray, stats: list[tuple], used: np.ndarray) -> list:
        """The pairs of ``used`` states to test, closest dynamics first."""
        both = tuple(s0 + s1 for s0, s1 in zip(*stats))
        w, q = self._map(both)
        ok = self.row_ok
        feat, step, z = self.feats[0][ok], self.steps[0][ok], rows_z[ok]
        loglik = np.empty((z.size, used.size))
        for i, state in enumerate(used):
            resid = step - feat @ w[state].T
            inv = np.linalg.inv(q[state])
            loglik[:, i] = -0.5 * np.einsum("ta,ab,tb->t", resid, inv, resid)
            loglik[:, i] -= 0.5 * np.linalg.slogdet(q[state])[1]
        mean_loss = np.full((used.size, used.size), np.inf)  # [a, b]: frames of a given to b
        for i, state in enumerate(used):
            sel = z == state
            if sel.any():
                rows = loglik[sel]
                mean_loss[i] = (rows[:, i : i + 1] - rows).mean(axis=0)
        cost = mean_loss + mean_loss.T
        ia, ib = np.triu_indices(used.size, 1)
        keep = np.isfinite(cost[ia, ib])
        ia, ib = ia[keep], ib[keep]
        by_cost = np.argsort(cost[ia, ib], kind="stable")
        order = [(int(used[ia[i]]), int(used[ib[i]])) for i in by_cost]
        return order[:_EVIDENCE_CANDIDATES]

    def run(self, zs, tolerance: float) -> list[dict[str, Any]]:
        """The merges of the states ``zs`` (one array per sequence), in order."""
        labels = np.concatenate([np.asarray(z, np.int64) for z in zs])
        merges: list[dict[str, Any]] = []
        # only states whose dynamics the data determine
        min_frames = _determined_frames(self.d, self.lags)
        if (np.bincount(labels) >= min_frames).sum() < 2:
            return merges
        rows_z = self._row_labels(zs)
        stats = self._stats(rows_z)
        current = self.held_out(labels, stats)
        if not np.isfinite(current):
            logger.warning("KeypointSLDS merges: the evidence could not be computed; none made")
            return merges
        while True:
            counts = np.bincount(labels, minlength=self.n_states)
            used = np.flatnonzero(counts >= min_frames)
            if used.size < 2:
                break
            accepted = False
            for a, b in self._candidates(rows_z, stats, used):
                keep, drop = (a, b) if counts[a] >= counts[b] else (b, a)
                merged_stats = []
                for zz, yz, yy, n in stats:
                    parts = [v.copy() for v in (zz, yz, yy, n)]
                    for v in parts:
                        v[keep] += v[drop]
                        v[drop] = 0
                    merged_stats.append(tuple(parts))
                merged_labels = np.where(labels == drop, keep, labels)
                score = self.held_out(merged_labels, merged_stats)
                logger.debug(
                    "KeypointSLDS merge candidate %d into %d: held-out evidence %+.1f",
                    drop,
                    keep,
                    score - current,
                )
                if np.isfinite(score) and score - current >= -tolerance * counts[drop]:
                    merges.append(
                        {
                            "kept": keep,
                            "dropped": drop,
                            "frames_dropped": int(counts[drop]),
                            "delta_held_out": float(score - current),
                        }
                    )
                    logger.info(
                        "KeypointSLDS merge: state %d into %d (%d frames, held-out evidence %+.1f)",
                        drop,
                        keep,
                        counts[drop],
                        score - current,
                    )
                    labels, stats, current = merged_labels, merged_stats, score
                    rows_z = np.where(rows_z == drop, keep, rows_z)
                    accepted = True
                    break
            if not accepted:
                break
        return merges


# --------------------------------------------------------------------------------------
# Geometry and noise
# --------------------------------------------------------------------------------------


_GEOMETRY = None
_geometry_pose_of = None  # the placement kernels' helper (a global: see _kalman_predict)


def _geometry():
    """numba kernels of the placement and the residuals, compiled on first use (cached
    on disk): per frame the pose ``m + C^T x_t`` is built on the fly, turned in its
    first two coordinates and compared with the keypoints, with no ``(T, S, K)``
    temporaries. Returns ``(rotation, centres, residuals, information)``."""
    global _GEOMETRY, _geometry_pose_of
    if _GEOMETRY is not None:
        return _GEOMETRY
    import numba

    @numba.njit(cache=True)
    def pose_of(x_t, mean, comps, pose):  # pragma: no cover - numba
        n_coords = mean.size
        for i in range(n_coords):
            acc = mean[i]
            for d in range(x_t.size):
                acc += x_t[d] * comps[d, i]
            pose[i] = acc

    @numba.njit(cache=True)
    def rotation(x, mean, comps, y0, weight):  # pragma: no cover - numba
        """Per frame: the weights' total, the number of weighted keypoints and the
        weighted cross-products ``along`` (cos) and ``across`` (sin) of the
        weight-centred pose and keypoints (the Procrustes rotation)."""
        n_time, n_dims, n_kp = y0.shape
        pose = np.empty(n_dims * n_kp)
        total = np.zeros(n_time)
        weighted = np.zeros(n_time, np.int64)
        along = np.zeros(n_time)
        across = np.zeros(n_time)
        for t in range(n_time):
            _geometry_pose_of(x[t], mean, comps, pose)
            tot = 0.0
            for k in range(n_kp):
                tot += weight[t, k]
                if weight[t, k] > 0:
                    weighted[t] += 1
            total[t] = tot
            if not (tot > 0.0 and np.isfinite(tot)):
                continue
            o0 = o1 = b0 = b1 = 0.0
            for k in range(n_kp):
                share = weight[t, k] / tot
                o0 += share * y0[t, 0, k]
                o1 += share * y0[t, 1, k]
                b0 += share * pose[k]
                b1 += share * pose[n_kp + k]
            al = ac = 0.0
            for k in range(n_kp):
                w = weight[t, k]
                ob0, ob1 = y0[t, 0, k] - o0, y0[t, 1, k] - o1
                bo0, bo1 = pose[k] - b0, pose[n_kp + k] - b1
                al += w * (ob0 * bo0 + ob1 * bo1)
                ac += w * (ob1 * bo0 - ob0 * bo1)
            along[t] = al
            across[t] = ac
        return total, weighted, along, across

    @numba.njit(cache=True)
    def centres(x, mean, comps, y0, weight, total, heading):  # pragma: no cover - numba
        """Per frame the weighted mean of keypoint minus turned pose (NaN where the
        weights' total is not positive)."""
        n_time, n_dims, n_kp = y0.shape
        pose = np.empty(n_dims * n_kp)
        out = np.full((n_time, n_dims), np.nan)
        for t in range(n_time):
            tot = total[t]
            if not (tot > 0.0 and np.isfinite(tot)):
                continue
            _geometry_pose_of(x[t], mean, comps, pose)
            cos, sin = np.cos(heading[t]), np.sin(heading[t])
            for s in range(n_dims):
                out[t, s] = 0.0
            for k in range(n_kp):
                share = weight[t, k] / tot
                p0, p1 = pose[k], pose[n_kp + k]
                out[t, 0] += share * (y0[t, 0, k] - (cos * p0 - sin * p1))
                out[t, 1] += share * (y0[t, 1, k] - (sin * p0 + cos * p1))
                for s in range(2, n_dims):
                    out[t, s] += share * (y0[t, s, k] - pose[s * n_kp + k])
        return out

    @numba.njit(cache=True)
    def residuals(x, mean, comps, y0, seen, heading, centroid):  # pragma: no cover - numba
        """Squared distance of each seen keypoint from the placed pose (0 if unseen)."""
        n_time, n_dims, n_kp = y0.shape
        pose = np.empty(n_dims * n_kp)
        out = np.zeros((n_time, n_kp))
        for t in range(n_time):
            _geometry_pose_of(x[t], mean, comps, pose)
            cos, sin = np.cos(heading[t]), np.sin(heading[t])
            for k in range(n_kp):
                if not seen[t, k]:
                    continue
                p0, p1 = pose[k], pose[n_kp + k]
                e0 = y0[t, 0, k] - (cos * p0 - sin * p1 + centroid[t, 0])
                e1 = y0[t, 1, k] - (sin * p0 + cos * p1 + centroid[t, 1])
                acc = e0 * e0 + e1 * e1
                for s in range(2, n_dims):
                    e = y0[t, s, k] - (pose[s * n_kp + k] + centroid[t, s])
                    acc += e * e
                out[t, k] = acc
        return out

    @numba.njit(cache=True)
    def information(y0, weight, heading, centroid, mean, comps, per_keypoint):  # pragma: no cover
        """Observation information ``(h, J)`` of every frame on its latent pose:
        ``J_t = sum_k w_tk c_k c_k^T`` (``per_keypoint[k] = c_k c_k^T``) and
        ``h_t = sum_k w_tk c_k^T (R(-h_t) (y_tk - v_t) - m_k)``."""
        n_time, n_dims, n_kp = y0.shape
        d = comps.shape[0]
        info_h = np.zeros((n_time, d))
        info_j = np.zeros((n_time, d, d))
        ego = np.empty(n_dims)
        for t in range(n_time):
            cos, sin = np.cos(heading[t]), np.sin(heading[t])
            for k in range(n_kp):
                w = weight[t, k]
                if w == 0.0:
                    continue
                m0 = y0[t, 0, k] - centroid[t, 0]
                m1 = y0[t, 1, k] - centroid[t, 1]
                ego[0] = cos * m0 + sin * m1 - mean[k]
                ego[1] = -sin * m0 + cos * m1 - mean[n_kp + k]
                for s in range(2, n_dims):
                    ego[s] = y0[t, s, k] - centroid[t, s] - mean[s * n_kp + k]
                for a in range(d):
                    acc = 0.0
                    for s in range(n_dims):
                        acc += comps[a, s * n_kp + k] * ego[s]
                    info_h[t, a] += w * acc
                    for b in range(d):
                        info_j[t, a, b] += w * per_keypoint[k, a, b]
        return info_h, info_j

    _geometry_pose_of = pose_of  # a global, as the Kalman kernel's helpers
    _GEOMETRY = (rotation, centres, residuals, information)
    return _GEOMETRY


#: A PCA reconstruction whose median squared error is below this fraction of the
#: keypoints' frame-to-frame jitter reconstructs them exactly (its latent pose has
#: every degree of freedom of the keypoints), so says nothing about their noise.
_EXACT_RECONSTRUCTION = 1e-6

#: The smallest keypoint noise variance, as a fraction of the mean pose's squared
#: size: a floor that keeps the pose posterior's precision within floating point
#: (rat_social_dev's 5 keypoints drove a learned variance to 1e-12 px^2 before).
_NOISE_FLOOR = 1e-8


def _jitter(y: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Squared second difference ``|y_{t+1} - 2 y_t + y_{t-1}|^2 / 6`` of every
    keypoint ``(T, K)`` seen on three frames in a row and not held at one place
    (0 elsewhere): for a still keypoint under white noise of variance ``sigma^2``
    per coordinate its mean is ``S sigma^2``, as a reconstruction's squared error."""
    out = np.zeros(seen.shape)
    if len(y) < 3:
        return out
    second = y[2:] - 2.0 * y[1:-1] + y[:-2]  # (T-2, S, K)
    ok = seen[2:] & seen[1:-1] & seen[:-2]
    size = np.where(ok, np.sum(np.where(ok[:, None], second, 0.0) ** 2, axis=1), 0.0) / 6.0
    # a keypoint repeated exactly (a tracker holding a lost point) is not a noise sample
    moved = np.any(y[1:-1] != y[:-2], axis=1) & np.any(y[2:] != y[1:-1], axis=1)
    out[1:-1] = np.where(moved, size, 0.0)
    return out


def _pooled_median(resids: list[np.ndarray], tracks: list[_Track], positive: bool = False) -> float:
    """Median of the squared errors of the seen keypoints over all tracks (of the
    positive ones alone with ``positive``: where a jitter is 0 it was not measured)."""
    pooled = np.concatenate([r[tr.seen] for tr, r in zip(tracks, resids)])
    if positive:
        pooled = pooled[pooled > 0]
    return float(np.median(pooled)) if pooled.size else 0.0


def _measured(y: np.ndarray) -> np.ndarray:
    """Keypoints ``(T, K)`` of positions ``y`` ``(T, S, K)`` that are measurements:
    finite, and not an exact repeat of the frame before. A tracker's position is a
    continuous estimate that never repeats to the last bit on its own; a repeat is a
    point held in place (by a filter, as DeepLabCut's median filter does over small
    moves, or by interpolation code) and carries no new information. Read as
    measurements, held points show a still pose where there may be none, and each
    one's residual against a still pose is exactly zero (14-17 % of the points of
    rat_social_dev's first three sessions; none in the other real files)."""
    finite = np.isfinite(y).all(axis=1)
    held = np.zeros_like(finite)
    held[1:] = finite[1:] & finite[:-1] & (y[1:] == y[:-1]).all(axis=1)
    return finite & ~held


class _Track:
    """One sequence's observations and the current draw of its hidden variables."""

    def __init__(self, seq, x, centroid, heading, mask) -> None:
        self.key = seq.key
        self.time = seq.time
        self.y = seq.position  # (T, S, K), NaN = missing
        self.seen = _measured(self.y)  # (T, K)
        self.y0 = np.where(self.seen[:, None], self.y, 0.0)
        self.conf = seq.confidence  # (T, K) or None
        if self.conf is not None:  # where the confidence is usable, and its log there
            self.conf_ok = self.seen & np.isfinite(self.conf) & (self.conf > 0)
            self.log_conf = np.log(np.where(self.conf_ok, self.conf, 1.0))
        self.x = np.asarray(x, np.float64)
        self.centroid = np.asarray(centroid, np.float64).copy()
        self.heading = np.asarray(heading, np.float64).copy()
        self.mask = np.asarray(mask, bool)
        self.scale = np.ones(self.seen.shape)  # s_{t,k}
        self.prior_scale = np.ones(self.seen.shape)  # s0_{t,k}
        self.z = np.zeros(len(self.x), np.int64)

    def residual(self, mean: np.ndarray, comps: np.ndarray) -> np.ndarray:
        """Squared distance ``(T, K)`` of each seen keypoint from the model's (0 if unseen)."""
        x = np.ascontiguousarray(self.x, np.float64)
        return _geometry()[2](x, mean, comps, self.y0, self.seen, self.heading, self.centroid)

    def place(self, mean, comps, weight, rng) -> None:
        """Heading and centroid of every frame given the pose: a joint draw or, with
        ``rng=None``, the most probable values (weighted Procrustes). With the
        centroid integrated out (flat prior), the heading is von Mises about the
        best rotation of the weight-centred pose onto the weight-centred keypoints;
        the centroid given the heading is Gaussian. Frames with fewer than two
        weighted keypoints keep theirs."""
        rotation, centres, _, _ = _geometry()
        x = np.ascontiguousarray(self.x, np.float64)
        total, weighted, along, across = rotation(x, mean, comps, self.y0, weight)
        enough = weighted >= 2
        best = np.arctan2(across, along)
        if rng is not None:
            conc = np.hypot(along, across)
            ok = enough & (conc > 0)
            best = np.where(ok, best, 0.0)
            best[ok] = rng.vonmises(best[ok], conc[ok])
        self.heading = np.where(enough, best, self.heading)
        centre = centres(x, mean, comps, self.y0, weight, total, self.heading)
        if rng is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                centre += rng.standard_normal(centre.shape) / np.sqrt(total)[:, None]
        ok = (total > 0) & np.isfinite(centre).all(axis=1)
        self.centroid = np.where(ok[:, None], centre, self.centroid)


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


#: The preprocessor parameters of the SLDS when none is given (``KeypointSLDS`` and
#: ``bh.syllables.fit(model="slds")``): see the ``preprocessor`` parameter.
DEFAULT_PREPROCESSING = MappingProxyType({"variance": 0.99, "alignment": "procrustes"})


class KeypointSLDS(SessionInputMixin, BaseEstimator):
    """Keypoint switching linear dynamical system (Keypoint-MoSeq's full model).

    Syllables from an AR-HMM of latent poses that are inferred from the keypoints
    under a noise model (per keypoint, Student-t, scaled by the tracker's
    confidence) instead of being read off them; see the module docstring for the
    model and the sampler.

    Parameters
    ----------
    arhmm
        The AR-HMM of the latent poses, unfitted (its hyperparameters are used:
        ``n_states``, ``n_lags``, ``kappa``, ``n_iter`` sweeps of the AR-HMM stage
        ...). Must use ``method="gibbs"``. Default ``ARHMM()``.
    preprocessor
        :class:`~behavior.syllables.preprocess.Preprocessor` giving the PCA basis
        and the initial poses, heading and centroid (fitted ones are used as they
        are; ``kinematics=True`` is not supported: the heading and centroid are
        latent variables here). Default
        ``Preprocessor(variance=0.99, alignment="procrustes")``.

        ``alignment="procrustes"`` puts the PCA in the frame this model infers
        the heading in (the least-squares match of the keypoints to the pose
        it reconstructs); a basis from body-axis frames holds the turn of the
        body axis with every bend as part of the pose, and the two fight over
        it. With ``stage_merge_tolerance=None`` (the default since), on the 12
        full-length draws of ``benchmarks/bench_syllables_family.py`` (seed 0)
        the median ARI went from 0.798 to 0.857 and the worst from 0.414 to
        0.781, with the states used within 25 % of the truth on 9 draws against
        4 (``benchmarks/results/syllables_family_slds_procrustes``); on the
        real files of ``benchmarks/bench_syllables_real.py`` (8 seeds) the
        held-out freezing AUC was 0.790 against 0.789 and seed agreement
        (``benchmarks/bench_syllables_stability.py``, 4 seeds) 0.475 and 0.687
        against 0.545 and 0.661 (B-SOiD clip, DLC session).

        ``variance=0.99``: the noise
        model, not the PCA, drops the tracking noise, so the PCA can keep nearly
        all of the pose (the preprocessor still leaves out components that do not
        move smoothly). A PCA that keeps too few dimensions hides part of the
        pose's state, and the model splits states to make up for it: on the 12
        draws of ``benchmarks/bench_syllables_family.py`` (seed 0, 2 x 5 min) the
        median ARI was 0.885 at 99 % against 0.867 at 95 % (0.76 against 0.52
        on the draw of 12 latent dimensions, 0.64 against 0.75 on one other),
        and on the real open-field files of
        ``benchmarks/bench_syllables_stability.py`` four seeds agreed better
        (mean pairwise ARI 0.55 against 0.39 on the B-SOiD clip, 0.66 against
        0.59 on the DLC session).
    n_iter
        Iterations of the full model after the AR-HMM stage (the labels are the
        most frequent states of their second half; 0: the AR-HMM stage's labels,
        merged and smoothed as after a full fit). On three 10-minute sessions of
        keypoint-moseq's own model at 1.5 px, ARI rose from 0.948 at 50 to 0.952
        at 100 (``benchmarks/bench_syllables.py``).
    outlier_df
        Degrees of freedom of the per-frame noise scale (smaller: heavier tails,
        outliers downweighted more).
    confidence_power
        ``beta`` of the prior noise scale ``(c / c_median)^beta``; ``"auto"``
        fits it (least squares of log residual on log confidence, kept in
        ``[-4, 0]``), 0 ignores the confidence.
    denoise_iter
        Before the AR-HMM stage, iterations of the full model with a single state
        (a linear dynamical system of the poses under the keypoint noise model),
        whose smoothed poses the AR-HMM stage then cuts into states instead of
        the per-frame ones (0, the default: none). An expert option, not the
        default, because it fails on short syllables. Tracking noise in the
        poses an AR-HMM regresses on bends its fitted dynamics, and it splits
        every state into copies by the state its bouts come from: on the 12
        full-length draws of ``benchmarks/bench_syllables_family.py`` (seed 0,
        mean durations 13-26 frames) 20 iterations with ``n_iter=0`` raised the
        median ARI from 0.80 (this model's defaults) to 0.88 and the worst from
        0.41 to 0.69. But on a held-out draw (seed 1, 16 states of 9 frames on
        average, 2 x 3 min) the ARI fell from 0.87 to 0.22 (0.59 with 5
        iterations): one linear dynamics smooths short syllables away. On
        the real open-field files of ``benchmarks/bench_syllables_stability.py``
        four seeds also agreed less (mean pairwise ARI 0.44 and 0.59 against
        0.55 and 0.66).
    stage_merge_tolerance
        Before the full model, merge the AR-HMM stage's states
        (:meth:`ARHMM.merge_states`) while the held-out likelihood of the
        per-frame poses loses at most this much per frame of the smaller state
        (None: no merges there). Tracking noise makes the AR-HMM stage split
        one state into copies by the state its bouts come from (the noisy poses
        bend the fitted dynamics of the transients); the full model keeps such
        copies, and with the true states as its start it does not make them
        (ARI 0.94 against 0.86 on a 5-minute draw of
        ``benchmarks/bench_syllables_family.py``). Merging there, more freely than
        after the fit, removes most of them: the full model can still split a
        state again. None is the default: with the Procrustes frame of the
        default preprocessor the merges at 0 changed no ARI on the 12
        full-length draws of the family (seed 0), and on the real BehaviorDEPOT
        session they left 2 of 8 seeds with 2 syllables (held-out freezing AUC
        0.715 with them, 0.790 without, ``benchmarks/bench_syllables_real.py``).
        0.0 merges while the held-out likelihood does not fall.
    evidence_merge_tolerance
        After the fit (when the AR-HMM's ``merge_after_fit`` is on, its default)
        and after the AR-HMM's own merges, merge pairs of states while the
        held-out evidence of the keypoints, the poses integrated out, loses at
        most this much (nats) per frame of the smaller state (None: no such
        merges). The AR-HMM's merge test scores dynamics on the smoothed poses,
        which were smoothed under each copy's own dynamics, so it keeps copies of
        a state; integrated over the poses, a copy costs almost nothing and a
        distinct state a lot (on draw 3 of ``benchmarks/bench_syllables_family.py``,
        seed 0: 0.003-0.07 nats per frame for the copies, 2 or more for distinct
        states; 0.14 for the copy of draw 7; on draw 2, 0.02 for the copy, 0.37
        for a state that mixes two true ones and 1.09 or more between distinct
        ones). States with fewer than 5 frames per parameter of their
        dynamics are not tested: there the held-out test merges anything (with
        no such gate, 1-2 syllables were left on the BehaviorDEPOT session of
        ``benchmarks/bench_syllables_real.py``). See :class:`_EvidenceMerges`.
        On the 12 full-length draws of the family (seed 0) these merges took the
        median ARI from 0.857 to 0.893 and the states used within 25 % of the
        truth from 9 draws to 10, with none falling
        (``benchmarks/results/syllables_family_slds_evidence``, gate of 10 frames
        per parameter). The gate of 5 instead of 10 gained again: on the
        held-out seed 2 the worst ARI went from 0.840 to 0.861 (draws 2 and 3;
        the other 10 the same, ``benchmarks/results/syllables_family_slds_gate5``)
        and on seed 0 draws 2 and 3 (0.881 -> 0.905, 0.932 -> 0.951; draws 0 and 1
        the same; measured side by side on one machine). On the real files it merged one
        state of a BehaviorDEPOT fit (freezing AUC over 8 seeds 0.839 against
        0.841) and one of a B-SOiD fit (ARI between seeds 0.450 against 0.475);
        the DLC session is unchanged (0.706). (These two files changed since:
        their noise now starts at the keypoints' jitter, ``noise_start_``.)
    stage_seconds
        An expert option, not the default: the AR-HMM stage is fitted on the
        first this many seconds of every sequence (None, the default: on all
        frames; sequences no longer than this are fitted whole); its decoded
        states on every frame then start the full model, which learns from all
        frames. On more data the AR-HMM of the per-frame (noisy) poses splits its
        states into more copies, which the full model keeps (see
        ``stage_merge_tolerance``), but on less it also finds fewer of the true
        states. With 300 s on the full-length draws 0-9 of
        ``benchmarks/bench_syllables_family.py`` (seed 0) the median ARI rose
        from 0.83 to 0.89 and the worst from 0.55 to 0.63 (0.64 -> 0.90 on a
        draw of 8 states), but on the first four draws of the held-out seed 1
        it fell on two draws of 16 states (0.92 -> 0.82, 0.82 -> 0.43) and
        gained on none.
    apply_iter
        Gibbs iterations with the fitted parameters held fixed that
        :meth:`transform` and :meth:`predict` run on new sessions (the labels are
        the most frequent states of their second half).
    random_state
        Seed of the sampler (None: a fresh one each fit, kept in ``seed_``; the
        AR-HMM's own ``random_state`` is used for its stage).
    progress
        Show a tqdm progress bar.

    Attributes
    ----------
    arhmm_ : ARHMM
        The fitted AR-HMM (its parameters are those of the last iteration).
    preprocessor_ : Preprocessor
    labels_ : list of np.ndarray
        Decoded states of the training sequences (values in
        ``arhmm_.used_states_``).
    latents_ : Latents
        The training sequences' smoothed latent poses, with the inferred
        heading and centroid.
    stage_merges_ : list of dict
        Merges of the AR-HMM stage's states before the full model (see
        ``stage_merge_tolerance``), as in :attr:`ARHMM.merges_`.
    merges_ : list of dict
        Merges of states after the fit, when the AR-HMM's ``merge_after_fit`` is
        on (its default), in order: :meth:`ARHMM.merge_states` on the smoothed
        poses and final labels (as in :attr:`ARHMM.merges_`), which may only
        drop states of at most 0.5 % of the frames, then the merges by
        the held-out evidence of the keypoints (``evidence_merge_tolerance``;
        keys ``kept``, ``dropped``, ``frames_dropped`` and ``delta_held_out``,
        the change of the held-out log evidence). After merges, the frames of
        every dropped state go to the state it was merged into, and the AR-HMM's
        parameters are drawn given the merged states.
    noise_sd_ : np.ndarray
        Per keypoint, the tracking error s.d. ``sigma_k`` (space unit).
    noise_start_ : str
        Where the keypoint noise started: ``"reconstruction"``, the median error
        of the PCA's reconstruction of the keypoints; or ``"jitter"``, their
        frame-to-frame jitter (median squared second difference / 6), where the
        PCA keeps every degree of freedom of the pose, as with 4-6 keypoints, and
        so reconstructs them exactly. (The variance never falls below 1e-8 of the
        mean pose's squared size.)
    confidence_power_ : float
    log_likelihood_ : np.ndarray
        Per iteration, the AR-HMM's joint log-probability of the latent poses and
        states (the poses change between iterations).
    iteration_seconds_ : np.ndarray

    Examples
    --------
    >>> import behavior as bh
    >>> from behavior.syllables import ARHMM, Preprocessor
    >>> ds, _ = bh.simulate.session(kind="single", duration="20 s", seed=0)
    >>> slds = KeypointSLDS(ARHMM(n_states=10, n_iter=5, random_state=0, progress=False),
    ...                     Preprocessor(n_components=4), n_iter=3, random_state=0,
    ...                     progress=False)
    >>> labels = slds.fit(ds).labels_
    >>> labels[0].shape
    (600,)
    """

    def __init__(
        self,
        arhmm: Any = None,
        preprocessor: Any = None,
        n_iter: int = 100,
        outlier_df: float = 5.0,
        confidence_power: float | str = "auto",
        apply_iter: int = 20,
        random_state: int | None = None,
        progress: bool = True,
        *,
        stage_merge_tolerance: float | None = None,
        evidence_merge_tolerance: float | None = 0.25,
        denoise_iter: int = 0,
        stage_seconds: float | None = None,
    ) -> None:
        self.arhmm = arhmm
        self.preprocessor = preprocessor
        self.n_iter = n_iter
        self.outlier_df = outlier_df
        self.confidence_power = confidence_power
        self.apply_iter = apply_iter
        self.random_state = random_state
        self.progress = progress
        self.stage_merge_tolerance = stage_merge_tolerance
        self.evidence_merge_tolerance = evidence_merge_tolerance
        self.denoise_iter = denoise_iter
        self.stage_seconds = stage_seconds

    def __sklearn_tags__(self) -> Any:
        """scikit-learn tags: pose sessions in; non-deterministic without a seed."""
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        for name, low in (("n_iter", 0), ("apply_iter", 1), ("denoise_iter", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise PoseDataError(f"{name}: expected an integer >= {low}, found {value!r}")
        df = self.outlier_df
        if isinstance(df, bool) or not isinstance(df, int | float | np.number) or not df > 0:
            raise PoseDataError(f"outlier_df: expected a number > 0, found {df!r}")
        power = self.confidence_power
        if power != "auto" and (
            isinstance(power, bool)
            or not isinstance(power, int | float | np.number)
            or not np.isfinite(power)
        ):
            raise PoseDataError(f"confidence_power: expected 'auto' or a number, found {power!r}")
        for name in ("stage_merge_tolerance", "evidence_merge_tolerance"):
            tol = getattr(self, name)
            if tol is not None and (
                isinstance(tol, bool)
                or not isinstance(tol, int | float | np.number)
                or not 0 <= tol < np.inf
            ):
                raise PoseDataError(f"{name}: expected None or a number >= 0, found {tol!r}")
        sec = self.stage_seconds
        if sec is not None and (
            isinstance(sec, bool)
            or not isinstance(sec, int | float | np.number)
            or not 0 < sec < np.inf
        ):
            raise PoseDataError(f"stage_seconds: expected None or seconds > 0, found {sec!r}")

    def _components(self) -> tuple[np.ndarray, np.ndarray]:
        pre = self.preprocessor_
        return np.asarray(pre.mean_, np.float64), np.asarray(pre.components_, np.float64)

    def _tracks(self, sessions: Any, fitting: bool) -> list[_Track]:
        pre = self.preprocessor_
        if fitting and not hasattr(pre, "components_"):
            pre.fit(sessions)
        if getattr(pre, "kinematics", False):
            raise PoseDataError(
                "preprocessor: KeypointSLDS infers the heading and centroid itself; use a "
                "Preprocessor with kinematics=False"
            )
        seqs = pre.sequences(sessions)
        latents = pre.latents_of(seqs)
        return [
            _Track(seq, x, c, h, m)
            for seq, x, c, h, m in zip(
                seqs, latents.data, latents.centroid, latents.heading, latents.mask
            )
        ]

    # ------------------------------------------------------------------ noise
    def _residuals(self, tracks: list[_Track]) -> list[np.ndarray]:
        mean, comps = self._components()
        return [tr.residual(mean, comps) for tr in tracks]

    def _fit_confidence_power(self, tracks: list[_Track], resids: list[np.ndarray]) -> float:
        if self.confidence_power != "auto":
            return float(self.confidence_power)
        # slope of log r on log c within keypoints (each keypoint its own intercept),
        # from per-keypoint sums
        n_kp = tracks[0].seen.shape[1]
        count, sum_r, sum_c, sum_rc, sum_cc = (np.zeros(n_kp) for _ in range(5))
        for tr, r in zip(tracks, resids):
            if tr.conf is None:
                continue
            ok = tr.conf_ok & (r > 0)
            log_r = np.log(np.where(ok, r, 1.0))
            log_c = np.where(ok, tr.log_conf, 0.0)
            count += ok.sum(axis=0)
            sum_r += log_r.sum(axis=0)
            sum_c += log_c.sum(axis=0)
            sum_rc += (log_r * log_c).sum(axis=0)
            sum_cc += (log_c * log_c).sum(axis=0)
        if count.sum() < 10:
            return 0.0
        some = count > 0
        cov = (sum_rc - sum_r * sum_c / np.where(some, count, 1.0))[some].sum()
        var = (sum_cc - sum_c**2 / np.where(some, count, 1.0))[some].sum()
        power = float(cov / var) if var > 0 else 0.0
        return float(np.clip(power, -4.0, 0.0))

    def _set_prior_scales(self, tracks: list[_Track], fitting: bool = True) -> None:
        """Prior noise scales ``s0`` from the confidence; the scales ``s`` start there."""
        if fitting:  # the reference confidence is the training sessions' median
            confs = [tr.conf[tr.seen] for tr in tracks if tr.conf is not None]
            confs = np.concatenate(confs) if confs else np.zeros(0)
            confs = confs[np.isfinite(confs) & (confs > 0)]
            self.confidence_reference_ = float(np.median(confs)) if confs.size else 1.0
        ref = self.confidence_reference_
        for tr in tracks:
            if tr.conf is None or self.confidence_power_ == 0:
                tr.prior_scale = np.ones(tr.seen.shape)
            else:
                c = np.where(np.isfinite(tr.conf) & (tr.conf > 0), tr.conf, ref)
                tr.prior_scale = (np.clip(c, 1e-3, None) / ref) ** self.confidence_power_
            tr.scale = tr.prior_scale.copy()

    def _weights(self, tr: _Track) -> np.ndarray:
        """Per-frame keypoint precisions ``1 / (sigma_k^2 s_{t,k})`` (0 where unseen)."""
        return np.where(tr.seen, 1.0 / (self.noise_var_[None, :] * tr.scale), 0.0)

    def _expected_weights(self, tr: _Track, resid: np.ndarray) -> np.ndarray:
        """Precisions with ``1 / s`` at its posterior mean (the Student-t IRLS weight)."""
        nu, dims = float(self.outlier_df), tr.y.shape[1]
        inv_s = (nu + dims) / (nu * tr.prior_scale + resid / self.noise_var_[None, :])
        return np.where(tr.seen, inv_s / self.noise_var_[None, :], 0.0)

    def _sample_noise(self, tracks: list[_Track], resids: list[np.ndarray], rng, learn: bool):
        """Per-frame scales ``s``, then (``learn``) the keypoint variances."""
        nu = float(self.outlier_df)
        n_kp = tracks[0].seen.shape[1]
        dims = tracks[0].y.shape[1]
        shape_k = np.full(n_kp, 1.0)
        rate_k = np.full(n_kp, 1e-6 * self._unit_var)
        for tr, r in zip(tracks, resids):
            a = 0.5 * (nu + dims)
            rate = 0.5 * (nu * tr.prior_scale + r / self.noise_var_[None, :])
            tr.scale = np.where(tr.seen, rate / rng.gamma(a, 1.0, size=rate.shape), 1.0)
        if not learn:
            return
        for tr, r in zip(tracks, resids):
            shape_k += 0.5 * dims * tr.seen.sum(axis=0)
            rate_k += 0.5 * np.where(tr.seen, r / tr.scale, 0.0).sum(axis=0)
        self.noise_var_ = np.maximum(
            rate_k / rng.gamma(shape_k, 1.0), _NOISE_FLOOR * self._unit_var
        )

    # ------------------------------------------------------------------ poses
    def _robust_start(self, tracks: list[_Track], rounds: int = 5) -> None:
        """Per-frame poses, heading and centroid fitted to the tracked keypoints alone
        (no dynamics), with Student-t weights (iteratively reweighted least squares):
        outliers and lost keypoints do not reach the AR-HMM stage's starting poses
        as the preprocessor's interpolated projections do."""
        mean, comps = self._components()
        d = comps.shape[0]
        for tr in tracks:
            weight = self._weights(tr)
            enough = None
            for _ in range(rounds):
                info_h, info_j = self._information(tr, weight)
                ridge = 1e-9 * (np.trace(info_j, axis1=1, axis2=2).mean() / d + 1e-30)
                x = np.linalg.solve(info_j + ridge * np.eye(d), info_h[..., None])[..., 0]
                if enough is None:  # the tracked keypoints, hence the rank, stay the same
                    # frames with too few keypoints for the pose keep the preprocessor's
                    enough = np.linalg.matrix_rank(info_j, tol=ridge * 1e3) == d
                tr.x = np.where(enough[:, None], x, tr.x)
                tr.place(mean, comps, weight, None)
                weight = self._expected_weights(tr, tr.residual(mean, comps))

    def _information(self, tr: _Track, weight: np.ndarray):
        """Observation information ``(h, J)`` on each frame's latent pose."""
        mean, comps = self._components()
        s, k = tr.y.shape[1:]
        c = comps.reshape(-1, s, k)  # (D, S, K)
        per_keypoint = np.ascontiguousarray(np.einsum("dsk,esk->kde", c, c))
        weight = np.ascontiguousarray(weight, np.float64)
        info_h, info_j = _geometry()[3](
            tr.y0, weight, tr.heading, tr.centroid, mean, comps, per_keypoint
        )
        return info_h, info_j

    def _draw_all_poses(self, tracks: list[_Track], weights: list[np.ndarray], rng):
        """Latent poses of every track given its states: a posterior draw, or the
        posterior mean with ``rng=None``; one banded pass over all tracks (the
        per-track Kalman filter of before where ``_REFERENCE_KALMAN`` is set)."""
        if _REFERENCE_KALMAN:
            return [self._draw_poses(tr, weight, rng) for tr, weight in zip(tracks, weights)]
        a, b, q = self._dynamics()
        infos = [self._information(tr, weight) for tr, weight in zip(tracks, weights)]
        return _posterior_poses(
            [h for h, _ in infos],
            [j for _, j in infos],
            [_gap_states(tr.z, tr.mask, len(a) - 1) for tr in tracks],
            a,
            b,
            q,
            self._prior_mean,
            self._prior_var,
            rng,
        )

    def _dynamics(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The AR-HMM's dynamics and, last, the gap state of masked frames."""
        params = self.arhmm_.params_
        return _with_gap_state(
            params["A"], params["b"], params["Q"], self._prior_mean, self._prior_var
        )

    def _draw_poses(self, tr: _Track, weight: np.ndarray, rng) -> np.ndarray:
        """One track's poses by the reference Kalman filter / backward sampler."""
        a, b, q = self._dynamics()
        info_h, info_j = self._information(tr, weight)
        d = info_h.shape[1]
        lags = a.shape[1]
        u = (
            rng.standard_normal((len(tr.x), lags * d))
            if rng is not None
            else np.zeros((len(tr.x), lags * d))
        )
        return _kalman()(
            np.ascontiguousarray(info_h),
            np.ascontiguousarray(info_j),
            _gap_states(tr.z, tr.mask, len(a) - 1),
            a,
            b,
            q,
            self._prior_mean,
            self._prior_var,
            u,
            rng is not None,
        )

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> KeypointSLDS:
        """Fit the AR-HMM stage, then the full model, to pose sessions.

        Parameters
        ----------
        X
            A pose dataset, a list of them or a dict ``{name: dataset}`` (every
            individual is one sequence), as for the preprocessor.
        y
            Ignored.

        Returns
        -------
        KeypointSLDS
            ``self``, fitted.

        Raises
        ------
        PoseDataError
            For bad parameters, a non-Gibbs AR-HMM, a kinematics preprocessor or
            sessions the preprocessor refuses.

        Examples
        --------
        >>> import behavior as bh
        >>> from behavior.syllables import ARHMM
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=1)
        >>> slds = KeypointSLDS(ARHMM(n_states=8, n_iter=3, random_state=0, progress=False),
        ...                     n_iter=2, random_state=0, progress=False).fit(ds)
        >>> slds.noise_sd_.shape
        (10,)
        """
        import copy

        from behavior.syllables.arhmm import ARHMM
        from behavior.syllables.preprocess import Preprocessor

        del y
        self._check_params()
        arhmm = ARHMM() if self.arhmm is None else copy.deepcopy(self.arhmm)
        if not isinstance(arhmm, ARHMM) or arhmm.method != "gibbs":
            raise PoseDataError(
                "arhmm: expected an ARHMM with method='gibbs', found "
                f"{type(arhmm).__name__}{'' if not isinstance(arhmm, ARHMM) else ' (em)'}"
            )
        pre = self.preprocessor
        self.preprocessor_ = (
            Preprocessor(**DEFAULT_PREPROCESSING) if pre is None else copy.deepcopy(pre)
        )
        tracks = self._tracks(X, fitting=True)
        seed = self.random_state
        self.seed_ = int(np.random.default_rng().integers(2**31) if seed is None else seed)
        rng = np.random.default_rng(self.seed_)

        # noise: confidence power and first variances from the PCA reconstruction or,
        # where the PCA keeps every degree of freedom of the pose (few keypoints) and
        # so reconstructs the keypoints exactly, from their frame-to-frame jitter
        mean, _ = self._components()
        self._unit_var = float(np.mean(mean**2) + 1e-12)
        resids = self._residuals(tracks)
        jitters = [_jitter(tr.y, tr.seen) for tr in tracks]
        self.noise_start_ = "reconstruction"
        typical = _pooled_median(resids, tracks)
        jitter = _pooled_median(jitters, tracks, positive=True)
        if typical <= _EXACT_RECONSTRUCTION * jitter:
            resids, typical, self.noise_start_ = jitters, jitter, "jitter"
        self.confidence_power_ = self._fit_confidence_power(tracks, resids)
        self._set_prior_scales(tracks)
        dims = tracks[0].y.shape[1]
        self.noise_var_ = np.full(
            tracks[0].seen.shape[1], max(typical / dims, _NOISE_FLOOR * self._unit_var)
        )
        self._robust_start(tracks)
        masks = [tr.mask for tr in tracks]
        self._set_pose_prior([tr.x for tr in tracks])
        if self.denoise_iter:
            self._denoise(tracks, arhmm, rng)

        # the AR-HMM stage on the (denoised or robust per-frame) poses
        xs = [tr.x for tr in tracks]
        chain = self._stage(arhmm, xs, masks)
        self.stage_merges_ = []
        if self.stage_merge_tolerance is not None:
            self.stage_merges_ = arhmm.merge_states(
                xs, chain.labels(), mask=masks, tolerance=self.stage_merge_tolerance
            )
            if self.stage_merges_:
                chain.relabel(merge_mapping(arhmm.n_states, self.stage_merges_))
                chain.publish()
        self.arhmm_ = arhmm
        for tr, z in zip(tracks, arhmm.labels_):
            tr.z = np.asarray(z, np.int64)

        history, seconds, counts = self._gibbs(tracks, chain, rng, self.n_iter, learn=True)
        self.log_likelihood_ = np.asarray(history)
        self.iteration_seconds_ = np.asarray(seconds)
        self.noise_sd_ = np.sqrt(self.noise_var_)
        self.labels_ = self._finish(tracks, counts)
        self.merges_ = []
        if arhmm.merge_after_fit:
            # on the smoothed poses the test favours merging any state whose
            # dynamics rest on few frames (real sessions went down to 2 syllables):
            # there it only absorbs the rarest states
            frames = sum(int(np.sum(tr.mask)) for tr in tracks)
            self.merges_ = arhmm.merge_states(
                [tr.x for tr in tracks],
                self.labels_,
                mask=[tr.mask for tr in tracks],
                max_dropped_frames=_RARE_STATE_FRACTION * frames,
            )
            if self.evidence_merge_tolerance is not None:
                mapping = merge_mapping(arhmm.n_states, self.merges_)
                for tr in tracks:
                    tr.z = mapping[tr.z]
                self.merges_ += self._merge_states(tracks)
        if self.merges_:
            # every frame of a dropped state goes to the state it was merged into: in
            # the draws counted for the labels and in the chain, whose parameters are
            # redrawn given the merged states (the AR-HMM's EM refit on the smoothed
            # poses alone would leave its dynamics too confident for new sessions)
            mapping = merge_mapping(arhmm.n_states, self.merges_)
            chain.relabel(mapping)
            chain.publish()
            merged_counts = []
            for count in counts:
                merged = np.zeros_like(count)
                np.add.at(merged.T, mapping, count.T)
                merged_counts.append(merged)
            self.labels_ = self._finish(tracks, merged_counts)
        self.latents_ = self._latents(tracks)
        logger.info(
            "KeypointSLDS fit: %d sequences, %d iterations, %d states used, confidence "
            "power %.2f, keypoint noise s.d. %s",
            len(tracks),
            self.n_iter,
            self.arhmm_.used_states_.size,
            self.confidence_power_,
            np.round(self.noise_sd_, 3).tolist(),
        )
        return self

    def _merge_states(self, tracks: list[_Track]) -> list[dict[str, Any]]:
        """Merges of the fitted states by the held-out evidence of the keypoints
        (:class:`_EvidenceMerges`), from the smoothed poses and final labels."""
        mean, comps = self._components()
        weights = [self._expected_weights(tr, tr.residual(mean, comps)) for tr in tracks]
        infos = [self._information(tr, weight) for tr, weight in zip(tracks, weights)]
        rng = np.random.default_rng(self.seed_ + 1)
        draws = [self._draw_all_poses(tracks, weights, rng) for _ in range(_EVIDENCE_DRAWS)]
        search = _EvidenceMerges(
            draws,
            [tr.mask for tr in tracks],
            infos,
            self.arhmm_,
            self._prior_mean,
            self._prior_var,
        )
        return search.run([tr.z for tr in tracks], float(self.evidence_merge_tolerance))

    def _stage(self, arhmm: Any, xs: list[np.ndarray], masks: list[np.ndarray]) -> Any:
        """The AR-HMM stage: a Gibbs chain over all frames, fitted on all of them or,
        with ``stage_seconds`` shorter than a sequence, on the start of every
        sequence and then started on all frames from that fit's decoded states."""
        frames = None
        if self.stage_seconds is not None:
            frames = max(1, round(self.stage_seconds * float(self.preprocessor_.fps_)))
        if frames is None or all(len(x) <= frames for x in xs):
            return arhmm.fit_chain(xs, mask=masks)
        arhmm.fit([x[:frames] for x in xs], mask=[m[:frames] for m in masks])
        start = arhmm.predict(xs, mask=masks)
        chain = arhmm.learning_chain(xs, start, mask=masks, seed=arhmm.seed_ + 1)
        chain.publish()
        return chain

    def _set_pose_prior(self, xs: list[np.ndarray]) -> None:
        """The broad prior of the poses before each sequence (from the first poses)."""
        allx = np.concatenate(xs)
        self._prior_mean = allx.mean(axis=0)
        self._prior_var = float(10.0 * allx.var(axis=0).max() + 1e-12)

    def _denoise(self, tracks: list[_Track], arhmm: Any, rng) -> None:
        """``denoise_iter`` iterations of the full model with one state (a linear
        dynamical system of the poses under the keypoint noise model), leaving the
        smoothed poses, heading and centroid in ``tracks`` and the learned keypoint
        noise in ``noise_var_``."""
        from behavior.syllables.arhmm import ARHMM

        one = ARHMM(
            n_states=1,
            n_lags=arhmm.n_lags,
            n_iter=1,
            random_state=self.seed_,
            progress=False,
            merge=False,
            merge_after_fit=False,
            s_0=arhmm.s_0,
            k_0=arhmm.k_0,
        )
        masks = [tr.mask for tr in tracks]
        chain = one.fit_chain([tr.x for tr in tracks], mask=masks)
        self.arhmm_ = one
        for tr in tracks:
            tr.z = np.zeros(len(tr.x), np.int64)
        _, _, counts = self._gibbs(tracks, chain, rng, self.denoise_iter, learn=True)
        self._finish(tracks, counts)
        del self.arhmm_

    def _gibbs(self, tracks, chain, rng, n_iter: int, learn: bool) -> tuple[list, list, list]:
        """Gibbs iterations: poses, placement, noise, then one sweep of the AR-HMM chain
        (which, with ``learn``, also redraws the AR-HMM's parameters and the
        keypoint variances and the confidence power are redrawn or refitted).
        Returns the per-iteration log-probabilities and seconds, and per track how
        often each state was drawn for each frame over the second half."""
        from behavior._progress import progress_bar

        arhmm = self.arhmm_
        mean, comps = self._components()
        masks = [tr.mask for tr in tracks]
        history, seconds = [], []
        counts = [np.zeros((len(tr.x), arhmm.n_states), np.int32) for tr in tracks]
        merge_until = n_iter // 2 if learn and arhmm.merge else 0
        with progress_bar(
            enabled=self.progress, total=n_iter, desc="keypoint SLDS", leave=False
        ) as bar:
            for it in range(n_iter):
                tic = time.perf_counter()
                weights = [self._weights(tr) for tr in tracks]
                for tr, x in zip(tracks, self._draw_all_poses(tracks, weights, rng)):
                    tr.x = x
                for tr, weight in zip(tracks, weights):
                    tr.place(mean, comps, weight, rng)
                resids = self._residuals(tracks)
                if learn and self.confidence_power == "auto":
                    self.confidence_power_ = self._fit_confidence_power(tracks, resids)
                    self._set_prior_scales(tracks, fitting=False)  # same reference
                self._sample_noise(tracks, resids, rng, learn)
                chain.set_latents([tr.x for tr in tracks], mask=masks)
                chain.sweep(merge=it < merge_until)
                if learn:
                    chain.publish()
                for tr, z, count in zip(tracks, chain.labels(), counts):
                    tr.z = np.asarray(z, np.int64)
                    if it >= n_iter // 2:
                        count[np.arange(len(tr.z)), tr.z] += 1
                history.append(chain.history[-1])
                seconds.append(time.perf_counter() - tic)
                bar.update(1)
                bar.set_postfix(states=chain.n_used)
        return history, seconds, counts

    def _finish(self, tracks: list[_Track], counts: list[np.ndarray]) -> list[np.ndarray]:
        """Labels: each frame's most frequent state over the draws (its marginal
        posterior mode; the last state drawn when there were none); then the
        smoothed poses given them, and the heading and centroid given those."""
        mean, comps = self._components()
        for tr, count in zip(tracks, counts):
            z = count.argmax(axis=1) if count.any() else tr.z
            tr.z = np.asarray(z, np.int64)
        weights = [self._expected_weights(tr, tr.residual(mean, comps)) for tr in tracks]
        for tr, x in zip(tracks, self._draw_all_poses(tracks, weights, None)):
            tr.x = x
        for tr, weight in zip(tracks, weights):
            tr.place(mean, comps, weight, None)
        return [tr.z.astype(int) for tr in tracks]

    def _latents(self, tracks: list[_Track]):
        from behavior.syllables.preprocess import Latents

        pre = self.preprocessor_
        return Latents(
            data=[tr.x.astype(np.float32) for tr in tracks],
            mask=[tr.mask for tr in tracks],
            keys=[tr.key for tr in tracks],
            time=[tr.time for tr in tracks],
            fps=pre.fps_,
            centroid=[tr.centroid for tr in tracks],
            heading=[tr.heading for tr in tracks],
            attrs={
                "space_unit": pre.space_unit_,
                "time_unit": "seconds",
                "keypoints": list(pre.keypoints_),
                "space": list(pre.space_),
            },
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "arhmm_"):
            from behavior.errors import NotFittedError

            raise NotFittedError("This KeypointSLDS is not fitted yet: call fit(X) first.")

    # ------------------------------------------------------------------ apply
    def transform(self, X: Any) -> Any:
        """Smoothed latent poses, heading and centroid of pose sessions.

        Parameters
        ----------
        X
            Pose datasets as for the fitted preprocessor.

        Returns
        -------
        Latents
            One sequence per (session, individual): the posterior-mean poses under
            the labelled states, with the inferred heading and centroid.

        Examples
        --------
        >>> import behavior as bh
        >>> from behavior.syllables import ARHMM
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=2)
        >>> slds = KeypointSLDS(ARHMM(n_states=8, n_iter=3, random_state=0, progress=False),
        ...                     n_iter=1, random_state=0, progress=False).fit(ds)
        >>> slds.transform(ds).data[0].shape[0]
        300
        """
        return self.predict_transform(X)[1]

    def predict_transform(self, X: Any) -> tuple[list[np.ndarray], Any]:
        """Labels and latents of pose sessions from one run of the sampler.

        The fit's robust start, then ``apply_iter`` Gibbs iterations with the
        fitted parameters held fixed: :meth:`predict` and :meth:`transform` in one
        pass (each frame's most frequent state, and the smoothed poses given those
        states).

        Parameters
        ----------
        X
            Pose datasets as for the fitted preprocessor.

        Returns
        -------
        (list of np.ndarray, Latents)
            What :meth:`predict` and :meth:`transform` return.

        Examples
        --------
        >>> import behavior as bh
        >>> from behavior.syllables import ARHMM
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=2)
        >>> slds = KeypointSLDS(ARHMM(n_states=8, n_iter=3, random_state=0, progress=False),
        ...                     n_iter=1, random_state=0, progress=False).fit(ds)
        >>> labels, latents = slds.predict_transform(ds)
        >>> len(labels[0]) == len(latents.data[0])
        True
        """
        self._check_fitted()
        tracks = self._tracks(X, fitting=False)
        self._set_prior_scales(tracks, fitting=False)
        self._robust_start(tracks)
        arhmm = self.arhmm_
        xs, masks = [tr.x for tr in tracks], [tr.mask for tr in tracks]
        labels = arhmm.predict(xs, mask=masks)
        for tr, z in zip(tracks, labels):
            tr.z = np.asarray(z, np.int64)
        chain = arhmm.frozen_chain(xs, labels, mask=masks, seed=self.seed_)
        rng = np.random.default_rng(self.seed_)
        _, _, counts = self._gibbs(tracks, chain, rng, int(self.apply_iter), learn=False)
        return self._finish(tracks, counts), self._latents(tracks)

    def predict(self, X: Any) -> list[np.ndarray]:
        """Syllable states of pose sessions, or of latents from :meth:`transform`.

        Parameters
        ----------
        X
            Pose datasets (sampled with the fitted parameters: each frame's most
            frequent state), or the :class:`~behavior.syllables.preprocess.Latents`
            returned by :meth:`transform` or ``latents_`` (Viterbi states of those
            poses).

        Returns
        -------
        list of np.ndarray
            One int array per sequence, values in ``arhmm_.used_states_``.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> import behavior as bh
        >>> from behavior.syllables import ARHMM
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=3)
        >>> slds = KeypointSLDS(ARHMM(n_states=8, n_iter=3, random_state=0, progress=False),
        ...                     n_iter=1, random_state=0, progress=False).fit(ds)
        >>> [len(z) for z in slds.predict(ds)]
        [300]
        """
        self._check_fitted()
        if _is_latents(X):
            return self.arhmm_.predict(X)
        return self.predict_transform(X)[0]

    def fit_predict(self, X: Any, y: Any = None) -> list[np.ndarray]:
        """:meth:`fit`, then :meth:`predict` of the same sessions (the same value).

        The labels of the fixed-parameter sampler on ``X``; the fit's own labels
        (the mode over its second half) stay in :attr:`labels_`.

        Examples
        --------
        >>> import behavior as bh
        >>> from behavior.syllables import ARHMM
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=4)
        >>> z = KeypointSLDS(ARHMM(n_states=8, n_iter=3, random_state=0, progress=False),
        ...                  n_iter=1, apply_iter=2, random_state=0,
        ...                  progress=False).fit_predict(ds)
        >>> len(z)
        1
        """
        return self.fit(X, y).predict(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Log-likelihood per frame of the inferred latent poses under the fitted AR-HMM.

        The sessions' poses are inferred as by :meth:`transform` (or taken as they
        are for :class:`~behavior.syllables.preprocess.Latents`), then scored by
        :meth:`ARHMM.score <behavior.syllables.arhmm.ARHMM.score>`: higher is
        better, comparable across sessions of any length.

        Parameters
        ----------
        X
            Pose datasets, or Latents from :meth:`transform`.
        y
            Ignored (scikit-learn convention).

        Examples
        --------
        >>> import behavior as bh
        >>> from behavior.syllables import ARHMM
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=5)
        >>> slds = KeypointSLDS(ARHMM(n_states=8, n_iter=3, random_state=0, progress=False),
        ...                     n_iter=1, apply_iter=2, random_state=0, progress=False).fit(ds)
        >>> bool(np.isfinite(slds.score(ds)))
        True
        """
        del y
        self._check_fitted()
        latents = X if _is_latents(X) else self.transform(X)
        return self.arhmm_.score(latents)


def _is_latents(x: Any) -> bool:
    """Latents (sequences with a mask), not pose datasets."""
    return hasattr(x, "data") and hasattr(x, "mask") and not hasattr(x, "data_vars")


def _warm_up() -> None:
    """Compile the banded and the reference Kalman kernels and the geometry kernels
    (tests warm them once per session).

    Examples
    --------
    >>> _warm_up()
    """
    rotation, centres, residuals, information = _geometry()
    x, mean, comps = np.zeros((3, 2)), np.zeros(6), np.ones((2, 6))
    y0, weight, angle, centre = np.zeros((3, 2, 3)), np.ones((3, 3)), np.zeros(3), np.zeros((3, 2))
    total = rotation(x, mean, comps, y0, weight)[0]
    centres(x, mean, comps, y0, weight, total, angle)
    residuals(x, mean, comps, y0, weight > 0, angle, centre)
    information(y0, weight, angle, centre, mean, comps, np.ones((3, 2, 2)))
    a = np.eye(2)[None, None] * 0.9
    for lags in (1, 2):
        a_l = np.repeat(a, lags, axis=1) / lags
        _kalman()(
            np.zeros((5, 2)),
            np.repeat(np.eye(2)[None], 5, axis=0),
            np.zeros(5, np.int64),
            a_l,
            np.zeros((1, 2)),
            np.eye(2)[None],
            np.zeros(2),
            1.0,
            np.zeros((5, 2 * lags)),
            True,
        )
        for rng in (None, np.random.default_rng(0)):
            _posterior_poses(
                [np.zeros((5, 2)), np.zeros((3, 2))],
                [np.repeat(np.eye(2)[None], 5, axis=0), np.zeros((3, 2, 2))],
                [np.zeros(5, np.int64), np.zeros(3, np.int64)],
                a_l,
                np.zeros((1, 2)),
                np.eye(2)[None],
                np.zeros(2),
                1.0,
                rng,
            )
