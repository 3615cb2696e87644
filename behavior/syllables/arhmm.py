"""Autoregressive hidden Markov model (AR-HMM) of pose dynamics, fit in JAX.

The model of MoSeq (Wiltschko et al. 2015) and of the AR-HMM stage of
Keypoint-MoSeq (Weinreb et al. 2024), written from the published equations. A
latent pose trajectory ``x_t`` (PCA scores, :class:`~behavior.syllables.preprocess.Latents`)
follows, in discrete state ``k``,

    x_t = A_{k,1} x_{t-1} + ... + A_{k,L} x_{t-L} + b_k + e_t,   e_t ~ N(0, Q_k)

and the states form a Markov chain with the sticky hierarchical Dirichlet prior of
Fox et al. (2011) in its weak-limit form: ``beta ~ Dir(gamma/K, ..., gamma/K)``,
``pi_k ~ Dir(alpha * beta + kappa * e_k)``. ``(A_k, b_k, Q_k)`` have a
matrix-normal inverse-Wishart prior centred on a random walk (``A_1 = I``).
``K = n_states`` is an upper bound: unused states are allowed and are not reported.

Fitting
-------
``method="gibbs"`` (default) is blocked Gibbs sampling: state sequences by
forward filtering / backward sampling over all sessions at once, conjugate draws
of every state's dynamics from its sufficient statistics, and the auxiliary
table counts of Fox et al. for ``beta`` and the transition rows. Three choices
make it fast on a CPU:

* the sessions are laid end to end and cut into rows of ``block_size`` frames
  that are sampled in parallel (vmapped); the last frame of every row is held
  fixed for that sweep and the rows shift by half a block every sweep, so this
  is an exact blocked Gibbs sampler (each block is drawn from its conditional
  given its neighbours), not an approximation. ``block_size=None`` samples every
  session as one block instead (sessions padded to one length);
* frame likelihoods are computed only for the states in use plus ``n_empty``
  empty ones (a fresh draw from the prior each sweep that stands for all the
  empty states, which share the probability of a jump to any empty state), and
  this working set is padded to a power of two, so the cost grows with the
  states actually used and recompilation happens at most once per size;
* every frame's log-likelihood under every working state is one matrix product,
  and the filters run in float32 with per-frame rescaling (probabilities are
  floored at 1e-30, so a filter can never produce a NaN).

Gibbs samplers are slow to undo over-segmentation (the k-means start has up to
32 states), so during the first half of the sweeps pairs of states are merged
whenever that raises the marginal likelihood (MNIW evidence of the dynamics plus
the sticky Dirichlet-multinomial transition term); ``merge=False`` turns this
search step off. The small matrix factorisations are written in plain JAX loops:
XLA's LAPACK custom calls deadlocked the CPU runtime intermittently when batched
over states (jax 0.10.2), the loops never did.

``method="em"`` maximises the posterior instead: forward-backward posteriors,
then MAP dynamics (the prior acts as a regulariser) and MAP transition rows;
states whose expected usage falls below one frame are dropped.

Masked frames (``mask`` False, or any NaN) have likelihood 1, as do the first
``n_lags`` frames of a session and any frame whose lags are masked; the state
sequence runs through them, so they still get a syllable.

JAX runs in float32; this module never switches JAX to 64 bits. JAX is imported
only when a model is fit.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from behavior.errors import PoseDataError
from behavior.syllables._common import check_dense_real, median_duration, merge_mapping
from behavior.units import to_seconds

logger = logging.getLogger(__name__)

__all__ = ["ARHMM", "GibbsChain"]

_MIN_WORKING_SET = 8
"""Smallest working set of states (a power of two)."""

_MERGE_CANDIDATES = 4
"""Closest pairs of states tried per round of the merges after the fit."""

_REFIT_ITER = 3
"""EM iterations that refit the model after merges."""


def dynamics_in_data_units(
    w: np.ndarray, q: np.ndarray, mean: np.ndarray, scale: np.ndarray, n_lags: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The AR dynamics ``(A, b, Q)`` in data units from the standardised ones.

    Internally every state ``k`` predicts the step ``w_t - w_{t-1}`` of the
    standardised latents ``w = (x - mean) / scale`` as ``W_k [w_{t-1}, ...,
    w_{t-L}, 1]`` with noise covariance ``Q_k`` (the prior is centred on a
    random walk, ``W = 0``).

    Parameters
    ----------
    w
        ``(K, d, L d + 1)`` regression weights of the standardised step.
    q
        ``(K, d, d)`` noise covariances in standardised units.
    mean, scale
        ``(d,)`` standardisation of the latents.
    n_lags
        ``L``.

    Returns
    -------
    (np.ndarray, np.ndarray, np.ndarray)
        ``A`` ``(K, L, d, d)`` (``A[k, l]`` multiplies ``x_{t-1-l}``), ``b``
        ``(K, d)`` and ``Q`` ``(K, d, d)``, float64.

    Examples
    --------
    >>> a, b, q = dynamics_in_data_units(np.zeros((1, 2, 3)), np.eye(2)[None],
    ...                                  np.zeros(2), np.full(2, 2.0), 1)
    >>> a[0, 0].tolist(), q[0].tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [[4.0, 0.0], [0.0, 4.0]])
    """
    w = np.asarray(w, np.float64)
    k, d, _ = w.shape
    s = np.asarray(scale, np.float64)
    mu = np.asarray(mean, np.float64)
    a = w[:, :, : n_lags * d].reshape(k, d, n_lags, d).transpose(0, 2, 1, 3).copy()
    a[:, 0] += np.eye(d)
    a = s[None, None, :, None] * a / s[None, None, None, :]
    b = s[None, :] * w[:, :, -1] + mu[None, :] - np.einsum("klij,j->ki", a, mu)
    q = np.asarray(q, np.float64) * s[None, :, None] * s[None, None, :]
    return a, b, q


# --------------------------------------------------------------------------- input
def _sessions(x: Any, mask: Any, name: str = "X") -> tuple[list, list, list]:
    """Turn Latents, one (T, D) array or a list of them into arrays and masks.

    Returns the arrays (non-finite rows set to 0), the usable frames (finite and
    in ``mask``) and the finite frames (values that may serve as lags, imputed
    ones included).
    """
    check_dense_real(x, name)
    if hasattr(x, "data") and hasattr(x, "mask") and not isinstance(x, np.ndarray):
        arrays = list(x.data)
        if mask is None:
            mask = list(x.mask)
    elif isinstance(x, np.ndarray) or (
        isinstance(x, Sequence)
        and len(x) > 0
        and np.isscalar(np.asarray(x[0]).flat[0])
        and np.ndim(x[0]) == 1
    ):
        arrays = [np.asarray(x)]
    elif isinstance(x, Sequence):
        arrays = list(x)
    else:
        raise PoseDataError(
            f"{name}: expected Latents, a (time, dim) array or a list of them, "
            f"found {type(x).__name__}."
        )
    if not arrays:
        raise PoseDataError(f"{name}: expected at least one session, found an empty list.")
    if mask is None:
        masks = [None] * len(arrays)
    elif isinstance(mask, np.ndarray) and len(arrays) == 1 and mask.ndim == 1:
        masks = [mask]
    else:
        masks = list(mask)
    if len(masks) != len(arrays):
        raise PoseDataError(
            f"mask: expected one mask per session ({len(arrays)}), found {len(masks)}."
        )
    xs, ms, fs = [], [], []
    dim = None
    for i, (a, m) in enumerate(zip(arrays, masks)):
        check_dense_real(a, f"{name}[{i}]")
        a = np.asarray(a, dtype=np.float64)
        if a.ndim != 2:
            raise PoseDataError(
                f"{name}[{i}]: expected a 2-d array (time, dim), found shape {a.shape}. "
                "Pass several sessions as a list of (time, dim) arrays."
            )
        if dim is None:
            dim = a.shape[1]
        if dim == 0:
            raise PoseDataError(
                f"{name}[{i}]: found 0 feature(s) (shape={a.shape}) while a minimum of 1 is "
                "required: a sequence needs at least one latent dimension."
            )
        if a.shape[1] != dim:
            raise PoseDataError(
                f"{name}[{i}]: expected {dim} latent dimensions like session 0, "
                f"found shape {a.shape}."
            )
        finite = np.all(np.isfinite(a), axis=1)
        ok = finite.copy()
        if m is not None:
            m = np.asarray(m)
            if m.shape != (a.shape[0],):
                raise PoseDataError(
                    f"mask[{i}]: expected a boolean array of shape ({a.shape[0]},), "
                    f"found shape {m.shape}."
                )
            ok &= m.astype(bool)
        xs.append(np.where(finite[:, None], a, 0.0))
        ms.append(ok)
        fs.append(finite)
    return xs, ms, fs


def _nice_length(n: int) -> int:
    """``n`` rounded up to a multiple of a power of two (less than 12.5 % more)."""
    if n <= 16:
        return n
    step = 1 << max(0, math.ceil(math.log2(n)) - 4)
    return -(-n // step) * step


@dataclass
class _Layout:
    """Sessions laid out flat for the kernels (see :mod:`._arhmm_jax`)."""

    zfeat: np.ndarray  # (F, P) float32 [y_t, phi_t], zero where not valid
    valid: np.ndarray  # (F,) bool
    start: np.ndarray  # (F,) bool
    real: np.ndarray  # (F,) bool
    trans_ok: np.ndarray  # (F,) bool
    n_rows: int
    spans: list[tuple[int, int]]  # (offset, length) of each session in the flat layout

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        return [np.asarray(flat[o : o + n]) for o, n in self.spans]


def _features(
    x: np.ndarray, ok: np.ndarray, finite: np.ndarray, n_lags: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``[x_t - x_{t-1}, x_{t-1}, ..., x_{t-L}, 1]`` and its validity.

    A frame has a likelihood when it is usable (``ok``) and its lags have values
    (``finite``: imputed values of masked frames serve as lags).
    """
    n, d = x.shape
    feat = np.zeros((n, d + n_lags * d + 1), np.float32)
    valid = np.zeros(n, bool)
    if n > n_lags:
        win = np.lib.stride_tricks.sliding_window_view(finite[:-1], n_lags)
        valid[n_lags:] = ok[n_lags:] & win.all(axis=1)
        feat[n_lags:, :d] = x[n_lags:] - x[n_lags - 1 : -1]
        for lag in range(1, n_lags + 1):
            feat[n_lags:, d + (lag - 1) * d : d + lag * d] = x[n_lags - lag : n - lag]
        feat[n_lags:, -1] = 1.0
    feat[~valid] = 0.0
    return feat, valid


def _layout(
    xs: list[np.ndarray],
    ms: list[np.ndarray],
    fs: list[np.ndarray],
    n_lags: int,
    block_size: int | None,
) -> _Layout:
    """Flat layout: one padded row per session (``block_size=None``) or blocks."""
    feats = [_features(x, m, f, n_lags) for x, m, f in zip(xs, ms, fs)]
    lengths = [x.shape[0] for x in xs]
    p = feats[0][0].shape[1]
    if block_size is None:
        row_len = _nice_length(max(lengths) + 1)
        n_rows = len(xs)
        offsets = [i * row_len for i in range(n_rows)]
    else:
        row_len = int(block_size)
        total = sum(lengths)
        n_rows = -(-(total + row_len // 2 + 1) // row_len)
        offsets = list(np.cumsum([0, *lengths[:-1]]))
    n_flat = n_rows * row_len
    zfeat = np.zeros((n_flat, p), np.float32)
    valid = np.zeros(n_flat, bool)
    start = np.ones(n_flat, bool)
    real = np.zeros(n_flat, bool)
    for (f, v), o, n in zip(feats, offsets, lengths):
        zfeat[o : o + n] = f
        valid[o : o + n] = v
        real[o : o + n] = True
        start[o + 1 : o + n] = False
    return _Layout(
        zfeat,
        valid,
        start,
        real,
        real & ~start,
        n_rows,
        [(int(o), int(n)) for o, n in zip(offsets, lengths)],
    )


def _on_device(layout: _Layout, kern) -> dict[str, Any]:
    """The layout's arrays as JAX arrays, with the per-frame outer products if they fit."""
    import jax.numpy as jnp

    from behavior.syllables._arhmm_jax import MAX_TRI_BYTES

    dev = {
        name: jnp.asarray(getattr(layout, name))
        for name in ("zfeat", "valid", "start", "real", "trans_ok")
    }
    n, p = layout.zfeat.shape
    fits = n * p * (p + 1) // 2 * 4 <= MAX_TRI_BYTES
    dev["z2t"] = kern.tri_features(dev["zfeat"]) if fits else None
    return dev


def _stationary(trans: np.ndarray) -> np.ndarray:
    """Stationary distribution of a transition matrix (float64 on the host)."""
    k = trans.shape[0]
    a = trans.astype(np.float64).T - np.eye(k)
    a[-1] = 1.0
    b = np.zeros(k)
    b[-1] = 1.0
    try:
        pi0 = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        pi0 = np.full(k, 1.0 / k)
    pi0 = np.clip(pi0, 1e-12, None)
    return (pi0 / pi0.sum()).astype(np.float32)


def _multigammaln(a: np.ndarray, d: int) -> np.ndarray:
    from scipy.special import gammaln

    j = np.arange(d)
    return d * (d - 1) / 4 * np.log(np.pi) + gammaln(a[..., None] - j / 2).sum(axis=-1)


def _log_evidence(stats: np.ndarray, n: np.ndarray, prior: tuple) -> np.ndarray:
    """Log marginal likelihood of the frames of each state under the MNIW prior.

    ``stats`` (..., P, P) are sums of ``[y, phi] [y, phi]^T`` and ``n`` the frame
    counts; constants that cancel in a difference of evidences are left out.
    """
    s0, k0inv, nu0 = prior
    d = s0.shape[0]
    syy, syp, spp = stats[..., :d, :d], stats[..., :d, d:], stats[..., d:, d:]
    prec = k0inv + spp
    mn_t = np.linalg.solve(prec, np.swapaxes(syp, -1, -2))
    sn = s0 + syy - syp @ mn_t
    nun = nu0 + n
    return (
        -n * d / 2 * np.log(np.pi)
        + _multigammaln(nun / 2, d)
        - _multigammaln(np.asarray(nu0 / 2), d)
        - nun / 2 * np.linalg.slogdet(sn)[1]
        + nu0 / 2 * np.linalg.slogdet(s0)[1]
        - d / 2 * np.linalg.slogdet(prec)[1]
    )


def _log_dm(counts: np.ndarray, conc: np.ndarray) -> np.ndarray:
    """Dirichlet-multinomial log-probability of count rows (up to multinomial terms)."""
    from scipy.special import gammaln

    return (
        gammaln(conc.sum(-1))
        - gammaln(conc.sum(-1) + counts.sum(-1))
        + (gammaln(conc + counts) - gammaln(conc)).sum(-1)
    )


def _merge_pairs(
    stats: np.ndarray,
    n: np.ndarray,
    counts: np.ndarray,
    beta: np.ndarray,
    active: np.ndarray,
    prior: tuple,
    alpha: float,
    kappa: float,
) -> list[tuple[int, int]]:
    """Disjoint pairs of states whose merger raises the marginal likelihood.

    The gain of merging ``a`` and ``b`` is the change of the dynamics evidence
    (:func:`_log_evidence` of the pooled statistics) plus that of the sticky
    transition prior (Dirichlet-multinomial rows with ``beta_a + beta_b`` for the
    merged state). Only pairs whose dynamics evidence alone rises are candidates:
    the sticky prior always rewards fewer transitions, and with it alone deciding,
    states with different dynamics that follow each other often were merged.
    Pairs are taken greedily by total gain, each state at most once.
    """
    act = [int(a) for a in active]
    if len(act) < 2:
        return []
    ia, ib = np.triu_indices(len(act), 1)
    a_idx, b_idx = np.asarray(act)[ia], np.asarray(act)[ib]
    ev = _log_evidence(stats[act], n[act], prior)
    ev_of = dict(zip(act, ev))
    gain = _log_evidence(stats[a_idx] + stats[b_idx], n[a_idx] + n[b_idx], prior)
    gain -= np.array([ev_of[a] + ev_of[b] for a, b in zip(a_idx, b_idx)])
    # transitions among the active states (the rest of the mass is nearly empty)
    c = counts[np.ix_(act, act)].astype(np.float64)
    bt = beta[act].astype(np.float64)
    base_conc = alpha * bt[None, :] + kappa * np.eye(len(act))
    base = _log_dm(c, base_conc).sum()
    trans_gain = np.empty(ia.size)
    keep = np.ones(len(act), bool)
    for p, (i, j) in enumerate(zip(ia, ib)):
        keep[:] = True
        keep[j] = False
        cm = c.copy()
        cm[:, i] += cm[:, j]
        cm[i] += cm[j]
        cm = cm[np.ix_(keep, keep)]
        bm = bt.copy()
        bm[i] += bm[j]
        bm = bm[keep]
        conc = alpha * bm[None, :] + kappa * np.eye(bm.size)
        trans_gain[p] = _log_dm(cm, conc).sum() - base
    total = gain + trans_gain
    pairs, taken = [], set()
    for p in np.argsort(-total):
        if total[p] <= 0:
            break
        if gain[p] <= 0:  # the dynamics alone must favour the merger
            continue
        a, b = int(a_idx[p]), int(b_idx[p])
        if a in taken or b in taken:
            continue
        keep_state, drop = (a, b) if n[a] >= n[b] else (b, a)
        pairs.append((keep_state, drop))
        taken.update((a, b))
    return pairs


def _padded_states(
    mlik: np.ndarray, logc: np.ndarray, trans: np.ndarray, alive: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Likelihood parameters, transitions and start probabilities padded to a power of two.

    States not ``alive`` (and the padding) get no likelihood (``logc = -inf``) and no
    transition into them, so one compiled shape serves every number of live states.
    """
    ks = mlik.shape[0]
    size = max(_MIN_WORKING_SET, 1 << math.ceil(math.log2(max(ks, 1))))
    live = np.zeros(size, bool)
    live[:ks] = alive
    m = np.zeros((size, *mlik.shape[1:]), np.float32)
    m[:ks] = mlik
    lc = np.full(size, -np.inf, np.float32)
    lc[:ks] = np.where(alive, logc, -np.inf)
    t = np.full((size, size), 1e-30)
    t[:ks, :ks] = np.maximum(np.asarray(trans, np.float64), 1e-30)
    t[:, ~live] = 1e-30
    t[~live] = np.where(live, 1.0, 1e-30)
    t /= t.sum(axis=1, keepdims=True)
    pi0 = np.where(live, _stationary(t), 1e-30)
    pi0 = (pi0 / pi0.sum()).astype(np.float32)
    return m, lc, t.astype(np.float32), pi0


def _chain_log_likelihood(chain: GibbsChain) -> float:
    """Marginal log-likelihood of the chain's data under its current parameters.

    Over the chain's rows (blocks start from the stationary distribution), so it
    ranks chains on the same data; it is not the exact likelihood of the sessions.
    """
    import jax.numpy as jnp

    params, dev, layout = chain.params, chain.dev, chain.layout
    used = np.flatnonzero(np.asarray(params["usage"]) > 0)
    m, lc, t, pi0 = _padded_states(
        np.asarray(params["M"])[used],
        np.asarray(params["logc"])[used],
        np.asarray(params["pi"], np.float64)[np.ix_(used, used)],
        np.ones(used.size, bool),
    )
    ll = chain.kern.forward_loglik(
        dev["zfeat"],
        dev["valid"],
        dev["start"],
        jnp.asarray(m),
        jnp.asarray(lc),
        jnp.asarray(t),
        jnp.asarray(pi0),
        n_rows=layout.n_rows,
    )
    return float(np.sum(np.asarray(ll))) + chain.jac


# --------------------------------------------------------------------------- model
class GibbsChain:
    """A blocked Gibbs chain of an :class:`ARHMM` that can take new data between sweeps.

    Made by :meth:`ARHMM.fit_chain` (a Gibbs fit that can go on) or
    :meth:`ARHMM.frozen_chain` (states sampled under fitted parameters). The
    keypoint SLDS (:mod:`behavior.syllables.slds`) redraws the latents between
    sweeps and hands them over with :meth:`set_latents` (same sessions, same
    lengths, so nothing is recompiled); :meth:`sweep` draws the states (and, unless
    frozen, the parameters); :meth:`labels` reads the current states;
    :meth:`publish` writes them into the model's fitted attributes. The prior and
    the standardisation stay those of the first data.

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
    >>> chain = ARHMM(n_states=8, n_iter=2, random_state=0, progress=False).fit_chain(x)
    >>> chain.set_latents(x + 0.01)
    >>> chain.sweep()
    >>> [z.shape for z in chain.labels()]
    [(300,)]
    """

    def __init__(self, model: ARHMM, ws, ms, fs, labels, key, frozen: bool = False) -> None:
        """``frozen``: sample states under the fitted model's parameters and never
        update them (``labels`` must be among ``model.used_states_``). ``ws, ms, fs``
        are standardised sessions as from ``ARHMM._prepare``."""
        import jax
        import jax.numpy as jnp

        from behavior.syllables._arhmm_jax import kernels

        self.model = model
        self.kern = kernels()
        self.key = key
        self.learn = not frozen
        self._set_data(ws, ms, fs)
        self.z = jnp.asarray(model._flat(self.layout, labels))
        if frozen:
            self.params = {name: jnp.asarray(value) for name, value in model._theta.items()}
            self.params["usage"] = jnp.asarray(model._usage)
        else:
            self.prior = model._prior(ws, ms)
            self.prior_np = tuple(np.asarray(a, np.float64) for a in self.prior)
            self.hyper = (
                jnp.float32(model.alpha),
                jnp.float32(model.kappa),
                jnp.float32(model.gamma),
            )
            k = model.n_states
            self.params = self.update(
                jax.random.fold_in(key, 0), self.z, jnp.full(k, 1.0 / k, jnp.float32)
            )
        self.it = 0
        self.merged = 0
        self.history: list[float] = []
        self.seconds: list[float] = []
        self.sizes: set[int] = set()

    def set_latents(self, X: Any, *, mask: Any = None) -> None:
        """New latent trajectories of the same sessions for the next sweeps.

        Parameters
        ----------
        X, mask
            As in :meth:`ARHMM.fit`, with the lengths of the chain's sessions; they
            are standardised as the model's training data were.
        """
        ws, ms, fs = self.model._prepare(X, mask, fit=False)
        self._set_data(ws, ms, fs)

    def labels(self) -> list[np.ndarray]:
        """The current states of every session (one int array per session)."""
        return self.layout.split(np.asarray(self.z))

    def _set_data(self, ws, ms, fs) -> None:
        """Standardised sessions (as from ``ARHMM._prepare``) for the next sweeps."""
        model = self.model
        self.layout = _layout(ws, ms, fs, model.n_lags, model.block_size)
        self.row_len = self.layout.zfeat.shape[0] // self.layout.n_rows
        self.dev = _on_device(self.layout, self.kern)
        self.jac = model._jacobian(self.layout)

    def update(self, sub_key, z, beta):
        dev = self.dev
        return self.kern.update_gibbs(
            sub_key,
            z,
            dev["zfeat"],
            dev["z2t"],
            dev["valid"],
            dev["real"],
            dev["trans_ok"],
            beta,
            self.hyper,
            self.prior,
        )

    @property
    def n_used(self) -> int:
        return int(np.sum(np.asarray(self.params["usage"]) > 0))

    def sweep(self, merge: bool = False) -> None:
        """One sweep: states given the dynamics, then dynamics and transitions given states."""
        import jax
        import jax.numpy as jnp

        model, kern, dev, params, key = self.model, self.kern, self.dev, self.params, self.key
        it, k = self.it, model.n_states
        tic = time.perf_counter()
        if self.learn:
            sub, n_active = model._working_set(np.asarray(params["usage"]))
        else:
            sub = np.sort(model.used_states_).astype(np.int32)
            n_active = sub.size
        self.sizes.add(sub.size)
        offset = (it % 2) * (self.row_len // 2) if model.block_size is not None else 0
        z, jll = kern.sample_states(
            jax.random.fold_in(key, 2 * it + 1),
            dev["zfeat"],
            dev["valid"],
            dev["start"],
            dev["trans_ok"],
            params["M"],
            params["logc"],
            params["pi"],
            params["beta"],
            jnp.asarray(sub),
            jnp.int32(n_active),
            jnp.asarray(self.learn and sub.size < k),
            self.z,
            jnp.int32(offset),
            n_rows=self.layout.n_rows,
        )
        if self.learn:
            params = self.update(jax.random.fold_in(key, 2 * it + 2), z, params["beta"])
        if merge:
            z, params, n_merged = self._merge(z, params, it)
            self.merged += n_merged
        self.z, self.params = z, params
        self.history.append(float(jll) + self.jac)
        self.seconds.append(time.perf_counter() - tic)
        self.it += 1

    def relabel(self, mapping: np.ndarray) -> None:
        """Give every state ``k`` the label ``mapping[k]`` (merges found outside the
        chain), then redraw the parameters given the new states (unless frozen).

        Parameters
        ----------
        mapping
            ``(n_states,)`` integers in ``[0, n_states)``.
        """
        import jax
        import jax.numpy as jnp

        mapping = np.asarray(mapping, np.int64)
        k = self.model.n_states
        if mapping.shape != (k,) or mapping.min() < 0 or mapping.max() >= k:
            raise PoseDataError(
                f"mapping: expected {k} states in [0, {k}), found shape {mapping.shape}"
            )
        self.z = jnp.asarray(mapping.astype(np.int32))[self.z]
        if self.learn:
            sub_key = jax.random.fold_in(jax.random.fold_in(self.key, 7927), self.it)
            self.params = self.update(sub_key, self.z, self.params["beta"])

    def _merge(self, z, params, it):
        """Greedy merges of states (burn-in search step), then new parameters given them."""
        import jax
        import jax.numpy as jnp

        model = self.model
        usage = np.asarray(params["usage"])
        pairs = _merge_pairs(
            np.asarray(params["stats"], np.float64),
            np.asarray(params["n"], np.float64),
            np.asarray(params["counts"], np.float64),
            np.asarray(params["beta"], np.float64),
            np.flatnonzero(usage > 0),
            self.prior_np,
            float(model.alpha),
            float(model.kappa),
        )
        if not pairs:
            return z, params, 0
        mapping = np.arange(model.n_states, dtype=np.int32)
        for keep, drop in pairs:
            mapping[drop] = keep
        z = jnp.asarray(mapping)[z]
        sub_key = jax.random.fold_in(jax.random.fold_in(self.key, 7919), it)
        return z, self.update(sub_key, z, params["beta"]), len(pairs)

    def publish(self) -> None:
        """Write the chain's current state into the model's fitted attributes."""
        model, params = self.model, self.params
        model.n_merged_ = self.merged
        model._theta = {
            name: np.asarray(params[name]) for name in ("W", "Q", "M", "logc", "beta", "pi")
        }
        model._usage = np.asarray(params["usage"])
        model.labels_ = self.layout.split(np.asarray(self.z))
        model.log_likelihood_ = np.asarray(self.history)
        model.n_iter_ = self.it
        model.n_compilations_ = len(self.sizes)
        model.iteration_seconds_ = np.asarray(self.seconds)
        model._set_params()


class ARHMM(BaseEstimator):
    """Sticky HDP autoregressive HMM of latent pose trajectories (a scikit-learn estimator).

    Parameters
    ----------
    n_states
        Upper bound ``K`` on the number of states (the weak-limit truncation).
    n_lags
        AR order ``L`` (at least 1).
    kappa
        Stickiness: extra Dirichlet weight on self-transitions. Larger values give
        longer syllables; :meth:`fit_kappa` calibrates it to a target duration.
    alpha
        Concentration of the transition rows around ``beta``.
    gamma
        Concentration of the global state weights ``beta`` (smaller: fewer states).
    method
        ``"gibbs"`` (blocked Gibbs sampling) or ``"em"`` (MAP by EM).
    n_iter
        Gibbs sweeps, or the maximum number of EM iterations.
    random_state
        Seed: the same seed and data give the same fit (None: a fresh seed, kept
        in ``seed_``).
    progress
        Show a tqdm progress bar.
    n_init_states
        Clusters of the k-means initialisation (default ``min(n_states, 32)``).
    n_empty
        Empty states kept in the working set of each Gibbs sweep (possible births).
    block_size
        Frames per block of the Gibbs state sampler, or None for whole sessions.
    merge
        During the first half of the Gibbs sweeps, merge pairs of states whenever
        that raises the marginal likelihood (dynamics evidence plus sticky transition
        prior) and the dynamics evidence alone favours it. A search step against
        the over-segmentation a sampler is slow to undo; the second half is plain
        Gibbs sampling.
    merge_after_fit
        After the fit, merge pairs of states with similar dynamics (closest by a
        likelihood distance first) while the likelihood of held-out blocks of
        frames (two-fold cross-validation) does not fall, then refit the merged
        model by a few EM iterations. Undoes the copies of one state (and tiny
        states) that a sampler leaves; every merge is in ``merges_``.
    merge_tolerance
        Held-out log-likelihood a merge may lose, per expected frame of the smaller
        state of the pair (0: it must not fall). On the benchmark family, 0.05
        merged the copies of a state on one draw (ARI 0.54 -> 0.69) and two true
        states on another (0.88 -> 0.75), whose held-out costs were alike.
    n_restarts
        Gibbs chains started from different k-means initialisations; each runs
        ``n_iter // 4`` sweeps, and the one of highest marginal likelihood goes on
        to ``n_iter`` sweeps (costs ``(n_restarts - 1) * n_iter // 4`` more sweeps).
    s_0, k_0
        Prior scale of the noise covariance (fraction of the variance of the
        frame-to-frame change of each standardised dimension) and prior variance of
        the AR coefficients around the random walk.
    tol
        EM stops when the log-likelihood gains less than ``tol`` per frame.

    Attributes
    ----------
    params_ : dict
        ``A`` (K, L, D, D), ``b`` (K, D), ``Q`` (K, D, D) in data units, ``pi``
        (K, K) transition matrix, ``beta`` (K,) global state weights.
    used_states_ : np.ndarray
        States with at least one frame in the final fit, most used first.
    labels_ : list of np.ndarray
        States of the training frames: the last Gibbs sample, or the
        most probable state of each frame under EM.
    log_likelihood_ : np.ndarray
        Per iteration: for Gibbs the joint log-probability of the data and the
        sampled states, for EM the marginal log-likelihood (both in data units).
    n_iter_ : int
        Iterations run.
    n_compilations_ : int
        Compiled shapes of the Gibbs state sampler used by the fit (one per
        working-set size; never one per iteration).
    n_merged_ : int
        State merges made during the burn-in (see ``merge``).
    merges_ : list of dict
        Merges after the fit (see ``merge_after_fit``), in order: ``kept`` and
        ``dropped`` state, ``frames_dropped`` (expected frames of the dropped
        state), ``delta_loglik`` (change of the marginal log-likelihood) and
        ``delta_held_out`` (change of the held-out one, >= 0).
    restart_log_likelihood_ : np.ndarray
        Per restart (Gibbs), the marginal log-likelihood after its first sweeps
        (NaN with one restart).
    iteration_seconds_ : np.ndarray
        Wall time of every iteration (the first ones include compilation).
    n_features_in_ : int
        Latent dimension ``D`` of the training data.
    seed_ : int
        The seed the fit used (``random_state``, or a fresh one for None).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.cumsum(rng.normal(size=(500, 2)), axis=0) * 0.1
    >>> model = ARHMM(n_states=10, n_iter=5, random_state=0, progress=False).fit(x)
    >>> labels = model.predict(x)
    >>> labels[0].shape
    (500,)
    """

    def __init__(
        self,
        n_states: int = 100,
        n_lags: int = 3,
        kappa: float = 1e4,
        alpha: float = 5.7,
        gamma: float = 1e3,
        method: str = "gibbs",
        n_iter: int = 100,
        random_state: int | None = None,
        progress: bool = True,
        *,
        n_init_states: int | None = None,
        n_empty: int = 4,
        block_size: int | None = 1024,
        merge: bool = True,
        merge_after_fit: bool = True,
        merge_tolerance: float = 0.0,
        n_restarts: int = 1,
        s_0: float = 0.1,
        k_0: float = 10.0,
        tol: float = 1e-5,
    ):
        self.n_states = n_states
        self.n_lags = n_lags
        self.kappa = kappa
        self.alpha = alpha
        self.gamma = gamma
        self.method = method
        self.n_iter = n_iter
        self.random_state = random_state
        self.progress = progress
        self.n_init_states = n_init_states
        self.n_empty = n_empty
        self.block_size = block_size
        self.merge = merge
        self.merge_after_fit = merge_after_fit
        self.merge_tolerance = merge_tolerance
        self.n_restarts = n_restarts
        self.s_0 = s_0
        self.k_0 = k_0
        self.tol = tol

    def __sklearn_tags__(self) -> Any:
        """scikit-learn tags: NaN rows are allowed (they are masked frames)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        def positive_int(name: str, value: Any, low: int = 1) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise PoseDataError(f"{name}: expected an integer >= {low}, found {value!r}.")

        positive_int("n_states", self.n_states)
        positive_int("n_lags", self.n_lags)
        positive_int("n_iter", self.n_iter)
        positive_int("n_empty", self.n_empty, 0)
        positive_int("n_restarts", self.n_restarts)
        if not isinstance(self.merge_after_fit, (bool, np.bool_)):
            raise PoseDataError(
                f"merge_after_fit: expected True or False, found {self.merge_after_fit!r}."
            )
        if self.n_init_states is not None:
            positive_int("n_init_states", self.n_init_states)
        if self.block_size is not None:
            positive_int("block_size", self.block_size, 4)
        for name in ("kappa", "alpha", "gamma", "s_0", "k_0", "merge_tolerance"):
            value = getattr(self, name)
            ok = isinstance(value, (int, float, np.floating, np.integer))
            zero_ok = name in ("kappa", "merge_tolerance")
            if not ok or not np.isfinite(value) or value < 0 or (not zero_ok and value == 0):
                raise PoseDataError(
                    f"{name}: expected a finite number > 0{' (or 0)' if zero_ok else ''}"
                    f", found {value!r}."
                )
        if self.method not in ("gibbs", "em"):
            raise PoseDataError(f"method: expected 'gibbs' or 'em', found {self.method!r}.")

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            from behavior.errors import NotFittedError

            raise NotFittedError("This ARHMM is not fitted yet: call fit(X) first.")

    # ------------------------------------------------------------------ data
    def _prepare(self, x: Any, mask: Any, *, fit: bool) -> tuple[list, list, list]:
        xs, ms, fs = _sessions(x, mask)
        if fit:
            ok = np.concatenate(ms)
            if ok.sum() < self.n_lags + 2:
                raise PoseDataError(
                    f"X: expected at least {self.n_lags + 2} usable (unmasked, finite) frames, "
                    f"found {int(ok.sum())} (n_samples={ok.size} in all)."
                )
            data = np.concatenate(xs)[ok]
            self.n_features_in_ = int(data.shape[1])
            self.mean_ = data.mean(axis=0)
            scale = data.std(axis=0)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        elif xs[0].shape[1] != self.mean_.shape[0]:
            raise PoseDataError(
                f"X: expected {self.mean_.shape[0]} latent dimensions as in fit, "
                f"found {xs[0].shape[1]} (X has {xs[0].shape[1]} features, but ARHMM is "
                f"expecting {self.mean_.shape[0]} features as input)."
            )
        ws = [np.where(f[:, None], (a - self.mean_) / self.scale_, 0.0) for a, f in zip(xs, fs)]
        return ws, ms, fs

    def _prior(self, ws: list[np.ndarray], ms: list[np.ndarray]) -> tuple:
        import jax.numpy as jnp

        d, lags = ws[0].shape[1], self.n_lags
        diffs = [np.diff(w, axis=0)[m[1:] & m[:-1]] for w, m in zip(ws, ms)]
        diffs = np.concatenate(diffs) if diffs else np.zeros((0, d))
        var = diffs.var(axis=0) if diffs.shape[0] > 1 else np.ones(d)
        var = np.where(var > 0, var, 1.0)
        nu0 = d + 2.0
        s0 = np.diag(self.s_0 * var * (nu0 - d - 1.0))
        k0inv = np.eye(lags * d + 1) / self.k_0
        return (
            jnp.asarray(s0, jnp.float32),
            jnp.asarray(k0inv, jnp.float32),
            jnp.asarray(nu0, jnp.float32),
        )

    def _init_labels(
        self, ws: list[np.ndarray], ms: list[np.ndarray], seed: int | None = None
    ) -> list[np.ndarray]:
        """k-means on standardised position and velocity, smoothed over 3 frames."""
        from sklearn.cluster import KMeans

        seed = self.seed_ if seed is None else int(seed)

        n_clusters = self.n_init_states or min(self.n_states, 32)
        n_clusters = min(n_clusters, self.n_states)
        feats = []
        for w in ws:
            vel = np.gradient(w, axis=0) if w.shape[0] > 1 else np.zeros_like(w)
            f = np.concatenate([w, vel], axis=1)
            kernel = np.ones(3) / 3
            f = np.stack([np.convolve(c, kernel, mode="same") for c in f.T], axis=1)
            feats.append(f)
        allf = np.concatenate(feats)
        ok = np.concatenate(ms)
        sd = allf[ok].std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        rng = np.random.default_rng(seed)
        rows = np.flatnonzero(ok)
        if rows.size > 20000:
            rows = np.sort(rng.choice(rows, 20000, replace=False))
        n_clusters = max(1, min(n_clusters, rows.size))
        km = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed % (2**31))
        km.fit(allf[rows] / sd)
        return [km.predict(f / sd).astype(np.int32) for f in feats]

    def _flat(self, layout: _Layout, labels: list[np.ndarray]) -> np.ndarray:
        z = np.zeros(layout.zfeat.shape[0], np.int32)
        for (o, n), lab in zip(layout.spans, labels):
            z[o : o + n] = lab
        return z

    def _working_set(self, usage: np.ndarray) -> tuple[np.ndarray, int]:
        k = self.n_states
        active = np.flatnonzero(usage > 0)
        need = active.size + self.n_empty
        if need >= k:
            size = k
        else:
            size = min(k, max(_MIN_WORKING_SET, 1 << math.ceil(math.log2(max(need, 1)))))
        empty = np.setdiff1d(np.arange(k), active)[: size - active.size]
        return np.concatenate([active, empty]).astype(np.int32), int(active.size)

    def _jacobian(self, layout: _Layout) -> float:
        return -float(np.sum(np.log(self.scale_))) * float(layout.valid.sum())

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None, *, mask: Any = None) -> ARHMM:
        """Fit the model to one or several sessions of latent trajectories.

        Parameters
        ----------
        X
            :class:`~behavior.syllables.preprocess.Latents`, one (time, dim) array
            or a list of them (one per session). NaN rows are masked.
        y
            Ignored (scikit-learn convention).
        mask
            Per session, a boolean array over time, True where the frame is usable
            (default: the Latents' mask, or every finite frame).

        Returns
        -------
        ARHMM
            ``self``, fitted.

        Examples
        --------
        >>> rng = np.random.default_rng(1)
        >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
        >>> ARHMM(n_states=8, n_iter=3, random_state=0, progress=False).fit(x).n_iter_
        3
        """
        del y
        ws, ms, fs, labels, key = self._start(X, mask)
        if self.method == "gibbs":
            self._fit_gibbs(ws, ms, fs, labels, key, n_restarts=self.n_restarts)
        else:
            self._fit_em(ws, ms, fs, labels)
            self._set_params()
        self.merges_ = []
        if self.merge_after_fit:
            self._merge_states(ws, ms, fs, float(self.merge_tolerance))
        logger.info(
            "ARHMM (%s) fit: %d sessions, %d frames, %d of %d states used, %d iterations",
            self.method,
            len(ws),
            sum(w.shape[0] for w in ws),
            self.used_states_.size,
            self.n_states,
            self.n_iter_,
        )
        return self

    def fit_chain(self, X: Any, *, mask: Any = None) -> GibbsChain:
        """:meth:`fit` by Gibbs sampling, returning the chain so that it can go on.

        The model is fitted as by :meth:`fit` (``method`` must be ``"gibbs"``);
        the returned :class:`GibbsChain` continues from the last sweep. The keypoint
        SLDS uses it to alternate AR-HMM sweeps with draws of the latent poses.

        Parameters
        ----------
        X, mask
            As in :meth:`fit`.

        Returns
        -------
        GibbsChain

        Raises
        ------
        PoseDataError
            When ``method`` is not ``"gibbs"``.

        Examples
        --------
        >>> rng = np.random.default_rng(6)
        >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
        >>> model = ARHMM(n_states=8, n_iter=2, random_state=0, progress=False)
        >>> chain = model.fit_chain(x)
        >>> chain.it == model.n_iter_ == 2
        True
        """
        if self.method != "gibbs":
            raise PoseDataError(f"method: fit_chain needs 'gibbs', found {self.method!r}")
        return self._fit_gibbs(*self._start(X, mask), n_restarts=self.n_restarts)

    def frozen_chain(
        self, X: Any, labels: list[np.ndarray], *, mask: Any = None, seed: int = 0
    ) -> GibbsChain:
        """A Gibbs chain over new sessions that samples states under the fitted parameters.

        Parameters
        ----------
        X, mask
            As in :meth:`fit`; the latent dimension must match.
        labels
            Starting states of every session (values in :attr:`used_states_`,
            e.g. from :meth:`predict`).
        seed
            Seed of the chain's random key.

        Returns
        -------
        GibbsChain
            A chain whose sweeps never change the model.

        Examples
        --------
        >>> rng = np.random.default_rng(7)
        >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
        >>> model = ARHMM(n_states=8, n_iter=2, random_state=0, progress=False).fit(x)
        >>> chain = model.frozen_chain(x, model.predict(x))
        >>> chain.sweep()
        >>> set(np.unique(chain.labels()[0])) <= set(model.used_states_)
        True
        """
        return self._chain_from(X, labels, mask, seed, frozen=True)

    def learning_chain(
        self, X: Any, labels: list[np.ndarray], *, mask: Any = None, seed: int = 0
    ) -> GibbsChain:
        """A Gibbs chain over sessions that starts from given states and learns.

        Its parameters are drawn given ``labels`` at once (they replace the fitted
        ones when the chain is published); its sweeps go on as those of
        :meth:`fit_chain`, with the prior and standardisation of the fit. The
        keypoint SLDS starts its full model this way from states decoded by an
        AR-HMM fitted on part of the frames (``stage_seconds``).

        Parameters
        ----------
        X, mask
            As in :meth:`fit`; the latent dimension must match.
        labels
            Starting states of every session (values in ``[0, n_states)``).
        seed
            Seed of the chain's random key.

        Returns
        -------
        GibbsChain

        Examples
        --------
        >>> rng = np.random.default_rng(8)
        >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
        >>> model = ARHMM(n_states=8, n_iter=2, random_state=0, progress=False).fit(x[:100])
        >>> chain = model.learning_chain(x, model.predict(x))
        >>> chain.sweep()
        >>> chain.publish()
        >>> model.labels_[0].shape
        (300,)
        """
        return self._chain_from(X, labels, mask, seed, frozen=False)

    def _chain_from(self, X: Any, labels: list[np.ndarray], mask: Any, seed: int, frozen: bool):
        import jax

        self._check_fitted()
        ws, ms, fs = self._prepare(X, mask, fit=False)
        key = jax.random.PRNGKey(int(seed))
        return GibbsChain(self, ws, ms, fs, labels, key, frozen=frozen)

    def _start(self, x: Any, mask: Any) -> tuple:
        """Checked, standardised sessions, the k-means start and the random key."""
        import jax

        self._check_params()
        ws, ms, fs = self._prepare(x, mask, fit=True)
        seed = self.random_state
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
        self.seed_ = int(seed)
        labels = self._init_labels(ws, ms)
        return ws, ms, fs, labels, jax.random.PRNGKey(self.seed_)

    def _progress(self, total: int, desc: str):
        from behavior._progress import progress_bar

        return progress_bar(enabled=self.progress, total=total, desc=desc, leave=False)

    def _fit_gibbs(self, ws, ms, fs, labels, key, n_restarts: int = 1) -> GibbsChain:
        """Gibbs sweeps; with restarts, ``n_iter // 4`` sweeps of each chain, then the
        chain of highest marginal likelihood goes on to ``n_iter`` sweeps."""
        import jax

        merge_until = self.n_iter // 2 if self.merge else 0
        n_explore = min(self.n_iter, max(1, self.n_iter // 4)) if n_restarts > 1 else 0
        total = self.n_iter + (n_restarts - 1) * n_explore
        self.restart_log_likelihood_ = np.full(n_restarts, np.nan)
        with self._progress(total, "ARHMM gibbs") as bar:
            chain, best = None, -np.inf
            for r in range(n_restarts):
                start = labels if r == 0 else self._init_labels(ws, ms, seed=self.seed_ + r)
                trial = GibbsChain(
                    self, ws, ms, fs, start, key if r == 0 else jax.random.fold_in(key, 7907 + r)
                )
                for it in range(n_explore):
                    trial.sweep(merge=it < merge_until)
                    bar.update(1)
                    bar.set_postfix(restart=r, states=trial.n_used)
                if n_restarts == 1:
                    chain = trial
                    break
                ll = _chain_log_likelihood(trial)
                self.restart_log_likelihood_[r] = ll
                if ll > best:
                    chain, best = trial, ll
                del trial
            if n_restarts > 1:
                logger.info(
                    "ARHMM restarts: marginal log-likelihoods %s after %d sweeps; "
                    "restart %d goes on",
                    np.round(self.restart_log_likelihood_, 1).tolist(),
                    n_explore,
                    int(np.nanargmax(self.restart_log_likelihood_)),
                )
            for it in range(chain.it, self.n_iter):
                chain.sweep(merge=it < merge_until)
                bar.update(1)
                bar.set_postfix(states=chain.n_used)
        chain.publish()
        return chain

    def _fit_em(self, ws, ms, fs, labels) -> None:
        import jax.numpy as jnp

        from behavior.syllables._arhmm_jax import TINY, kernels

        kern = kernels()
        k = self.n_states
        layout = _layout(ws, ms, fs, self.n_lags, None)
        dev = _on_device(layout, kern)
        prior = self._prior(ws, ms)
        hyper = (jnp.float32(self.alpha), jnp.float32(self.kappa), jnp.float32(self.gamma))
        init = kern.map_from_labels(
            jnp.asarray(self._flat(layout, labels)),
            dev["zfeat"],
            dev["z2t"],
            dev["valid"],
            dev["real"],
            dev["trans_ok"],
            prior,
            n_states=k,
        )
        usage = np.asarray(init["usage"])
        sub, n_active = self._working_set(usage)
        alive = np.arange(sub.size) < n_active
        beta = np.where(alive, usage[sub] + self.gamma / k, 0.0)
        beta_sub = beta / beta.sum()
        conc = self.alpha * beta_sub[None, :] + self.kappa * np.eye(sub.size)
        trans = np.asarray(init["counts"])[np.ix_(sub, sub)] + conc
        params = {name: np.asarray(init[name])[sub] for name in ("W", "Q", "M", "logc")}
        prior_np = tuple(np.asarray(a, np.float64) for a in prior)
        merge_until = self.n_iter // 2 if self.merge else 0
        history, post, merged = [], None, 0
        jac = self._jacobian(layout)
        n_frames = max(1, int(layout.valid.sum()))
        self.n_iter_ = 0
        seconds = []
        with self._progress(self.n_iter, "ARHMM em") as bar:
            for it in range(self.n_iter):
                tic = time.perf_counter()
                trans = np.where(alive[None, :], trans, TINY)
                trans = (trans / trans.sum(axis=1, keepdims=True)).astype(np.float32)
                pi0 = np.where(alive, beta_sub, TINY).astype(np.float32)
                post, xi, marginal = kern.estep(
                    dev["zfeat"],
                    dev["valid"],
                    dev["start"],
                    dev["trans_ok"],
                    jnp.asarray(params["M"]),
                    jnp.asarray(params["logc"]),
                    jnp.asarray(trans),
                    jnp.asarray(pi0),
                    n_rows=layout.n_rows,
                )
                history.append(float(marginal) + jac)
                beta_dev = jnp.asarray(beta_sub.astype(np.float32))
                new = kern.mstep(
                    post, dev["zfeat"], dev["z2t"], dev["valid"], xi, beta_dev, hyper, prior
                )
                if it < merge_until:
                    pairs = _merge_pairs(
                        np.asarray(new["stats"], np.float64),
                        np.asarray(new["n"], np.float64),
                        np.asarray(xi, np.float64),
                        beta_sub,
                        np.flatnonzero(alive),
                        prior_np,
                        float(self.alpha),
                        float(self.kappa),
                    )
                    if pairs:
                        keep, drop = (np.asarray(i) for i in zip(*pairs))
                        post = post.at[:, keep].add(post[:, drop]).at[:, drop].set(0.0)
                        xi = xi.at[keep].add(xi[drop]).at[drop].set(0.0)
                        xi = xi.at[:, keep].add(xi[:, drop]).at[:, drop].set(0.0)
                        beta_sub[keep] += beta_sub[drop]
                        beta_sub[drop] = 0.0
                        alive[drop] = False
                        merged += len(pairs)
                        beta_dev = jnp.asarray(beta_sub.astype(np.float32))
                        new = kern.mstep(
                            post, dev["zfeat"], dev["z2t"], dev["valid"], xi, beta_dev, hyper, prior
                        )
                n = np.asarray(new["n"])
                alive &= n >= 1.0
                trans = np.asarray(new["pi"], np.float64)
                params = {name: np.asarray(new[name]) for name in ("W", "Q", "M", "logc")}
                b = np.where(alive, n + self.gamma / k, 0.0)
                beta_sub = b / b.sum()
                self.n_iter_ = it + 1
                seconds.append(time.perf_counter() - tic)
                bar.update(1)
                bar.set_postfix(states=int(alive.sum()))
                converged = abs(history[-1] - history[-2]) < self.tol * n_frames if it else False
                if converged and it >= merge_until:
                    break
        trans = np.where(alive[None, :], trans, TINY)
        trans = trans / trans.sum(axis=1, keepdims=True)
        # scatter the working set back into the K states of the truncation
        d = ws[0].shape[1]
        theta = {
            "W": np.zeros((k, d, d * self.n_lags + 1), np.float32),
            "Q": np.tile(np.eye(d, dtype=np.float32), (k, 1, 1)),
            "M": np.zeros((k, d, layout.zfeat.shape[1]), np.float32),
            "logc": np.full(k, -np.inf, np.float32),
            "beta": np.zeros(k, np.float32),
            "pi": np.eye(k, dtype=np.float32),
        }
        for name in ("W", "Q", "M", "logc"):
            theta[name][sub] = params[name]
        theta["beta"][sub] = beta_sub
        theta["pi"][sub] = 0.0
        theta["pi"][np.ix_(sub, sub)] = trans
        self._theta = theta
        z = self._flat(layout, labels) if post is None else sub[np.argmax(np.asarray(post), 1)]
        self.labels_ = layout.split(z)
        self._usage = np.bincount(np.concatenate(self.labels_), minlength=k).astype(float)
        self.log_likelihood_ = np.asarray(history)
        self.n_compilations_ = 1
        self.n_merged_ = merged
        self.iteration_seconds_ = np.asarray(seconds)

    def merge_states(
        self,
        X: Any,
        labels: list[np.ndarray] | None = None,
        *,
        mask: Any = None,
        tolerance: float | None = None,
        max_dropped_frames: float | None = None,
    ) -> list[dict[str, Any]]:
        """Merge pairs of fitted states while the held-out likelihood of ``X`` does not fall.

        The step ``merge_after_fit`` runs at the end of :meth:`fit`, on other
        latents or labels: the keypoint SLDS runs it on its smoothed poses and
        final labels. The usage of the states is taken from ``labels``; the merged
        model's parameters replace the fitted ones.

        Parameters
        ----------
        X, mask
            As in :meth:`fit`; the latent dimension must match.
        labels
            Per session, the state of every frame (values in :attr:`used_states_`;
            default :attr:`labels_`).
        tolerance
            Held-out log-likelihood a merge may lose per expected frame of the
            smaller state (default ``merge_tolerance``).
        max_dropped_frames
            Only pairs whose smaller state has at most this many expected frames
            are tried (default None: all). The keypoint SLDS sets it on its
            smoothed poses, where the test favours merging any state whose
            dynamics rest on few frames.

        Returns
        -------
        list of dict
            The merges (also in :attr:`merges_`), as described there. After them,
            :attr:`labels_` are ``labels`` with every dropped state replaced by the
            state it was merged into.

        Examples
        --------
        >>> rng = np.random.default_rng(2)
        >>> x = np.cumsum(rng.normal(size=(400, 2)), axis=0) * 0.1
        >>> model = ARHMM(n_states=8, n_iter=5, random_state=0, progress=False,
        ...               merge_after_fit=False).fit(x)
        >>> merges = model.merge_states(x)
        >>> len(merges) == len(model.merges_) and model.used_states_.size >= 1
        True
        """
        self._check_fitted()
        ws, ms, fs = self._prepare(X, mask, fit=False)
        labels = self.labels_ if labels is None else labels
        lengths = [w.shape[0] for w in ws]
        if len(labels) != len(ws) or any(
            np.shape(z) != (n,) for z, n in zip(labels, lengths, strict=False)
        ):
            raise PoseDataError(
                f"labels: expected one state per frame of each of the {len(ws)} sessions "
                f"(lengths {lengths}), found lengths {[np.shape(z) for z in labels]}"
            )
        flat = np.concatenate([np.asarray(z, np.int64) for z in labels])
        if flat.size and (flat.min() < 0 or flat.max() >= self.n_states):
            raise PoseDataError(
                f"labels: expected states in [0, {self.n_states}), found {flat.min()}..{flat.max()}"
            )
        self.labels_ = [np.asarray(z, np.int64) for z in labels]
        self._usage = np.bincount(flat, minlength=self.n_states).astype(float)
        self._set_params()
        tolerance = self.merge_tolerance if tolerance is None else tolerance
        try:
            tol = float(tolerance)
        except (TypeError, ValueError):
            tol = float("nan")
        if isinstance(tolerance, bool) or not 0 <= tol < np.inf:
            raise PoseDataError(f"tolerance: expected a number >= 0, found {tolerance!r}")
        max_frames = np.inf
        if max_dropped_frames is not None:
            try:
                max_frames = float(max_dropped_frames)
            except (TypeError, ValueError):
                max_frames = float("nan")
            if isinstance(max_dropped_frames, bool) or not 0 <= max_frames < np.inf:
                raise PoseDataError(
                    f"max_dropped_frames: expected a number >= 0 or None, found "
                    f"{max_dropped_frames!r}"
                )
        self.merges_ = []
        self._merge_states(ws, ms, fs, tol, max_frames)
        if self.merges_:
            mapping = merge_mapping(self.n_states, self.merges_)
            self.labels_ = [mapping[np.asarray(z, np.int64)] for z in labels]
            self._usage = np.bincount(np.concatenate(self.labels_), minlength=self.n_states)
            self._usage = self._usage.astype(float)
            self._set_params()
        return self.merges_

    def _merge_states(
        self, ws, ms, fs, tolerance: float, max_dropped_frames: float = np.inf
    ) -> None:
        """After the fit: merge pairs of states while the held-out likelihood does not fall.

        Under the fitted model, every pair of states ``(a, b)`` gets the expected
        log-likelihood lost if the frames of ``a`` went to ``b`` and those of ``b``
        to ``a`` (a likelihood distance of their AR dynamics weighted by usage, so
        that tiny states and copies of one state come first). For the
        ``_MERGE_CANDIDATES`` closest pairs in turn, the merged model is scored by
        two-fold cross-validation over alternate blocks of frames: MAP dynamics
        from the pooled posterior statistics of one fold, marginal likelihood of
        the other fold. The first merge that does not lower it (by more than
        ``tolerance`` per frame of the smaller state) is kept and the
        search starts again. Pairs whose smaller state has more than
        ``max_dropped_frames`` expected frames are not tried. After merges,
        ``_REFIT_ITER`` EM iterations refit the model, whose MAP parameters
        replace the sampled ones. Merges go into ``merges_``; without a merge the
        fit is left as it was.
        """
        import jax.numpy as jnp

        from behavior.syllables._arhmm_jax import kernels

        used = np.sort(self.used_states_)
        if used.size < 2:
            return
        kern = kernels()
        total = sum(w.shape[0] for w in ws)
        block = min(self.block_size or 1024, max(16, total // 8))
        layout = _layout(ws, ms, fs, self.n_lags, block)
        dev = _on_device(layout, kern)
        # two folds of alternate blocks: dynamics from one, likelihood of the other
        row_len = layout.zfeat.shape[0] // layout.n_rows
        row_fold = np.arange(layout.n_rows) % 2
        frame_fold = jnp.asarray(np.repeat(row_fold, row_len))
        prior = self._prior(ws, ms)
        hyper = (jnp.float32(self.alpha), jnp.float32(self.kappa), jnp.float32(self.gamma))
        jac = self._jacobian(layout)
        th = self._theta
        ks = used.size
        size = max(_MIN_WORKING_SET, 1 << math.ceil(math.log2(ks)))
        beta = np.zeros(size)
        beta[:ks] = np.maximum(th["beta"][used].astype(np.float64), 1e-12)
        beta /= beta.sum()

        def estep(mlik, logc, trans, alive):
            m, lc, t, pi0 = _padded_states(mlik, logc, trans, alive)
            post, xi, marginal = kern.estep(
                dev["zfeat"],
                dev["valid"],
                dev["start"],
                dev["trans_ok"],
                jnp.asarray(m),
                jnp.asarray(lc),
                jnp.asarray(t),
                jnp.asarray(pi0),
                n_rows=layout.n_rows,
            )
            return post, xi, float(marginal) + jac

        def mstep(post, xi, beta):
            new = kern.mstep(
                post,
                dev["zfeat"],
                dev["z2t"],
                dev["valid"],
                xi,
                jnp.asarray(beta.astype(np.float32)),
                hyper,
                prior,
            )
            return {name: np.asarray(value) for name, value in new.items()}

        def held_out(post, xi, beta, alive):
            # cross-validated log-likelihood: MAP dynamics from the frames of one fold
            # (their posteriors under the whole model), likelihood of the other's blocks
            total = 0.0
            for fold in (0, 1):
                train = frame_fold != fold
                new = kern.mstep(
                    post * train[:, None],
                    dev["zfeat"],
                    dev["z2t"],
                    dev["valid"] & train,
                    xi,
                    jnp.asarray(beta.astype(np.float32)),
                    hyper,
                    prior,
                )
                m, lc, t, pi0 = _padded_states(
                    np.asarray(new["M"])[:ks],
                    np.asarray(new["logc"])[:ks],
                    np.asarray(new["pi"])[:ks, :ks],
                    alive,
                )
                rows = kern.forward_loglik(
                    dev["zfeat"],
                    dev["valid"],
                    dev["start"],
                    jnp.asarray(m),
                    jnp.asarray(lc),
                    jnp.asarray(t),
                    jnp.asarray(pi0),
                    n_rows=layout.n_rows,
                )
                total += float(np.sum(np.asarray(rows)[row_fold == fold]))
            return total

        def em(post, xi, beta, alive):
            new = mstep(post, xi, beta)
            post, xi, ll = estep(new["M"][:ks], new["logc"][:ks], new["pi"][:ks, :ks], alive)
            return new, post, xi, ll

        alive = np.ones(ks, bool)
        post, xi, _ = estep(th["M"][used], th["logc"][used], th["pi"][np.ix_(used, used)], alive)
        new, post, xi, ll = em(post, xi, beta, alive)
        current = held_out(post, xi, beta, alive)
        merges: list[dict[str, Any]] = []
        while alive.sum() > 1:
            # expected log-likelihood lost if the frames of a were given to b, and back
            post_np = np.asarray(post)[:, :ks]
            frame_ll = self._frame_loglik(
                layout.zfeat, layout.valid, new["M"][:ks], new["logc"][:ks]
            )
            weighted = post_np.T @ frame_ll  # (a, b): sum_t post_a(t) ll_b(t)
            own = np.diag(weighted)
            cost = (own[:, None] - weighted) + (own[:, None] - weighted).T
            cost[~alive] = np.inf
            cost[:, ~alive] = np.inf
            if max_dropped_frames < np.inf:
                frames = post_np.sum(axis=0)
                cost[np.minimum.outer(frames, frames) > max_dropped_frames] = np.inf
            np.fill_diagonal(cost, np.inf)
            ia, ib = np.triu_indices(ks, 1)
            order = np.argsort(cost[ia, ib])
            accepted = False
            for p in order[:_MERGE_CANDIDATES]:
                a, b = int(ia[p]), int(ib[p])
                if not np.isfinite(cost[a, b]):
                    break
                n_state = post_np[:, [a, b]].sum(axis=0)
                keep, drop = (a, b) if n_state[0] >= n_state[1] else (b, a)
                post_m = post.at[:, keep].add(post[:, drop]).at[:, drop].set(0.0)
                xi_m = xi.at[keep].add(xi[drop]).at[drop].set(0.0)
                xi_m = xi_m.at[:, keep].add(xi_m[:, drop]).at[:, drop].set(0.0)
                beta_m = beta.copy()
                beta_m[keep] += beta_m[drop]
                beta_m[drop] = 0.0
                alive_m = alive.copy()
                alive_m[drop] = False
                merged = held_out(post_m, xi_m, beta_m, alive_m)
                logger.debug(
                    "ARHMM merge candidate %d into %d: held-out log-likelihood %+.1f",
                    used[drop],
                    used[keep],
                    merged - current,
                )
                if merged - current >= -tolerance * float(n_state.min()):
                    new_m, post_n, xi_n, ll_m = em(post_m, xi_m, beta_m, alive_m)
                    merges.append(
                        {
                            "kept": int(used[keep]),
                            "dropped": int(used[drop]),
                            "frames_dropped": float(n_state[[a, b].index(drop)]),
                            "delta_loglik": ll_m - ll,
                            "delta_held_out": merged - current,
                        }
                    )
                    logger.info(
                        "ARHMM merge: state %d into %d (log-likelihood %+.1f, held out %+.1f)",
                        used[drop],
                        used[keep],
                        ll_m - ll,
                        merged - current,
                    )
                    new, post, xi, ll, current = new_m, post_n, xi_n, ll_m, merged
                    beta, alive = beta_m, alive_m
                    accepted = True
                    break
            if not accepted:
                break
        self.merges_ = merges
        if not merges:
            return
        for _ in range(_REFIT_ITER):
            new, post, xi, ll = em(post, xi, beta, alive)
        # the merged model's MAP parameters replace the sampled ones
        th = {name: np.array(value) for name, value in th.items()}
        th["W"][used] = new["W"][:ks]
        th["Q"][used] = new["Q"][:ks]
        th["M"][used] = new["M"][:ks]
        th["logc"][used] = np.where(alive, new["logc"][:ks], -np.inf)
        pi_sub = np.where(alive[None, :], new["pi"][:ks, :ks], 0.0)
        pi_sub = np.where(alive[:, None], pi_sub, np.eye(ks))
        pi_sub /= pi_sub.sum(axis=1, keepdims=True)
        th["pi"][np.ix_(used, used)] = pi_sub
        th["beta"][used] = beta[:ks] / beta[:ks].sum()
        self._theta = th
        z = used[np.argmax(np.asarray(post)[:, :ks], axis=1)]
        z = np.where(layout.real, z, 0)
        self.labels_ = layout.split(z)
        usage = np.zeros(self.n_states)
        np.add.at(usage, np.concatenate(self.labels_), 1.0)
        self._usage = usage
        self._set_params()
        logger.info(
            "ARHMM: %d merges after the fit, %d states left", len(merges), self.used_states_.size
        )

    @staticmethod
    def _frame_loglik(zfeat, valid, mlik, logc) -> np.ndarray:
        """(F, K) log-likelihood of every frame under every state (0 where not valid)."""
        ks, d, p = mlik.shape
        proj = (zfeat @ mlik.reshape(ks * d, p).T.astype(np.float32)).reshape(-1, ks, d)
        ll = logc[None, :] - 0.5 * np.einsum("fkd,fkd->fk", proj, proj)
        return np.where(valid[:, None], ll, 0.0).astype(np.float64)

    def _set_params(self) -> None:
        """Public parameters in data units from the standardised internal ones."""
        th = self._theta
        a, b, q = dynamics_in_data_units(th["W"], th["Q"], self.mean_, self.scale_, self.n_lags)
        self.params_ = {
            "A": a,
            "b": b,
            "Q": q,
            "pi": th["pi"].astype(np.float64),
            "beta": th["beta"].astype(np.float64),
        }
        order = np.argsort(-self._usage, kind="stable")
        self.used_states_ = order[self._usage[order] > 0].astype(int)

    # ------------------------------------------------------------------ apply
    def _decode_inputs(self, X: Any, mask: Any):
        import jax.numpy as jnp

        self._check_fitted()
        ws, ms, fs = self._prepare(X, mask, fit=False)
        layout = _layout(ws, ms, fs, self.n_lags, None)
        used = np.sort(self.used_states_)
        trans = self._theta["pi"][np.ix_(used, used)].astype(np.float64)
        trans = np.maximum(trans, 1e-30)
        trans /= trans.sum(axis=1, keepdims=True)
        args = (
            jnp.asarray(layout.zfeat),
            jnp.asarray(layout.valid),
            jnp.asarray(layout.start),
            jnp.asarray(self._theta["M"][used]),
            jnp.asarray(self._theta["logc"][used]),
            jnp.asarray(trans.astype(np.float32)),
            jnp.asarray(_stationary(trans)),
        )
        return layout, used, args

    def predict(self, X: Any, *, mask: Any = None) -> list[np.ndarray]:
        """Most probable state sequence (Viterbi) of every session.

        Parameters
        ----------
        X, mask
            As in :meth:`fit`; the latent dimension must match.

        Returns
        -------
        list of np.ndarray
            One int array (time,) per session, values in :attr:`used_states_`.
            Masked frames get the state the neighbouring dynamics imply.

        Examples
        --------
        >>> rng = np.random.default_rng(2)
        >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
        >>> model = ARHMM(n_states=8, n_iter=3, random_state=0, progress=False).fit(x)
        >>> set(np.unique(model.predict(x)[0])) <= set(model.used_states_)
        True
        """
        from behavior.syllables._arhmm_jax import kernels

        layout, used, args = self._decode_inputs(X, mask)
        z = np.asarray(kernels().viterbi(*args, n_rows=layout.n_rows))
        return [used[s] for s in layout.split(z)]

    def fit_predict(self, X: Any, y: Any = None, *, mask: Any = None) -> list[np.ndarray]:
        """:meth:`fit`, then :meth:`predict` of the same sessions (the same value).

        The Viterbi states, not the last Gibbs sample in :attr:`labels_`.

        Examples
        --------
        >>> rng = np.random.default_rng(2)
        >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
        >>> [z.shape for z in ARHMM(n_states=8, n_iter=3, random_state=0,
        ...                         progress=False).fit_predict(x)]
        [(300,)]
        """
        return self.fit(X, y, mask=mask).predict(X, mask=mask)

    def score(self, X: Any, y: Any = None, *, mask: Any = None) -> float:
        """Marginal log-likelihood per frame of the sessions (data units).

        The log-likelihood summed over sessions, divided by the number of frames
        that have one (usable frames past the first ``n_lags`` of a session whose
        lags are known), so that sessions of any length compare and
        :class:`~sklearn.model_selection.GridSearchCV` can rank models (higher is
        better). Masked frames contribute nothing (likelihood 1); the chain starts
        from its stationary distribution, so masking frames at either end of a
        session gives the same value as deleting them. NaN without such a frame.

        Parameters
        ----------
        X, mask
            As in :meth:`fit`.
        y
            Ignored (scikit-learn convention).

        Examples
        --------
        >>> rng = np.random.default_rng(3)
        >>> x = np.cumsum(rng.normal(size=(300, 2)), axis=0) * 0.1
        >>> model = ARHMM(n_states=8, n_iter=3, random_state=0, progress=False).fit(x)
        >>> bool(np.isfinite(model.score(x)))
        True
        """
        from behavior.syllables._arhmm_jax import kernels

        del y
        layout, _, args = self._decode_inputs(X, mask)
        ll = np.asarray(kernels().forward_loglik(*args, n_rows=layout.n_rows))
        n_frames = int(layout.valid.sum())
        if n_frames == 0:
            return float("nan")
        return (float(ll.sum()) + self._jacobian(layout)) / n_frames

    # ------------------------------------------------------------------ kappa
    def fit_kappa(
        self,
        X: Any,
        target_duration: float | str = "0.4 s",
        fps: float | None = None,
        *,
        mask: Any = None,
        n_iter: int = 25,
        max_fits: int = 8,
        rtol: float = 0.1,
        max_frames: int | None = None,
    ) -> float:
        """Calibrate ``kappa`` so that the median syllable lasts ``target_duration``.

        The median is taken over frames (``median_duration`` of
        ``behavior.syllables._common``): half of the frames lie in syllables
        lasting at least that long. Brief transition syllables (a few frames
        between two long ones) barely move it, whereas they can halve a median
        over syllables and drive the calibration to a kappa that merges
        everything. Short Gibbs fits (``n_iter`` sweeps, same seed, one chain, no merges
        after the fit) at trial values of ``kappa``: first factors of 10 until the
        target is bracketed, then interpolation of log median duration against log kappa
        (regula falsi). With ``max_frames``, the fits use the first frames only and
        kappa is scaled by the ratio of frames (kappa competes with transition counts,
        which grow with the data).

        Parameters
        ----------
        X, mask
            As in :meth:`fit`.
        target_duration
            Median syllable duration to reach: seconds, text (``"0.4 s"``) or, with
            ``fps``, frames as an int.
        fps
            Frame rate (default: ``x.fps`` for Latents, else 30).
        n_iter
            Gibbs sweeps per trial fit.
        max_fits
            Most trial fits.
        rtol
            Stop when the median is within this fraction of the target.
        max_frames
            Use at most this many frames for the trial fits.

        Returns
        -------
        float
            The chosen kappa, also set as ``self.kappa``; every trial is in
            ``self.kappa_scan_`` as (kappa, median duration in seconds).

        Examples
        --------
        >>> rng = np.random.default_rng(4)
        >>> x = np.cumsum(rng.normal(size=(600, 2)), axis=0) * 0.1
        >>> model = ARHMM(n_states=8, random_state=0, progress=False)
        >>> kappa = model.fit_kappa(x, "0.3 s", fps=30, n_iter=3, max_fits=2)
        >>> kappa == model.kappa
        True
        """
        self._check_params()
        if fps is None:
            fps = float(getattr(X, "fps", None) or 30.0)
        if isinstance(target_duration, (int, np.integer)) and not isinstance(target_duration, bool):
            target = float(target_duration)
        else:
            target = to_seconds(target_duration, name="target_duration") * fps
        if not target > 0:
            raise PoseDataError(f"target_duration: expected > 0, found {target_duration!r}.")
        xs, ms, fs = _sessions(X, mask, name="X")
        xs = [np.where(f[:, None], a, np.nan) for a, f in zip(xs, fs)]
        scale = 1.0
        if max_frames is not None:
            total = sum(a.shape[0] for a in xs)
            cut_x, cut_m, left = [], [], int(max_frames)
            for a, m in zip(xs, ms):
                if left <= self.n_lags + 1:
                    break
                cut_x.append(a[:left])
                cut_m.append(m[:left])
                left -= a[:left].shape[0]
            xs, ms = cut_x, cut_m
            scale = total / sum(a.shape[0] for a in xs)

        def median_at(kappa: float) -> float:
            # one chain and no merges after the fit: kappa acts on the sampler's
            # segmentation, which is what the trials measure
            trial = ARHMM(
                **{
                    **self.get_params(),
                    "kappa": kappa / scale,
                    "n_iter": n_iter,
                    "progress": False,
                    "n_restarts": 1,
                    "merge_after_fit": False,
                }
            )
            trial.fit(xs, mask=ms)
            return median_duration(trial.labels_)

        scan: list[tuple[float, float]] = []
        log_k = math.log(max(float(self.kappa), 1e-3))
        log_t = math.log(target)
        lo = hi = None  # (log kappa, log median) below / above target
        for _ in range(max_fits):
            med = median_at(math.exp(log_k))
            scan.append((math.exp(log_k), med))
            err = math.log(med) - log_t
            if abs(med - target) <= rtol * target:
                break
            if err < 0:
                lo = (log_k, math.log(med)) if lo is None or log_k > lo[0] else lo
            else:
                hi = (log_k, math.log(med)) if hi is None or log_k < hi[0] else hi
            if lo is None:
                log_k -= math.log(10.0)
            elif hi is None:
                log_k += math.log(10.0)
            else:
                span = hi[1] - lo[1]
                frac = (log_t - lo[1]) / span if span > 0 else 0.5
                frac = min(max(frac, 0.1), 0.9)
                log_k = lo[0] + frac * (hi[0] - lo[0])
        best = min(scan, key=lambda kv: abs(math.log(kv[1]) - log_t))
        self.kappa = float(best[0])
        self.kappa_scan_ = [(kv[0], kv[1] / fps) for kv in scan]
        logger.info(
            "fit_kappa: kappa=%.3g gives median %.3g s (target %.3g s)",
            best[0],
            best[1] / fps,
            target / fps,
        )
        return self.kappa


def _warm_up() -> None:
    """Compile the kernels on the small shapes used by the test suite.

    Examples
    --------
    >>> _warm_up()
    """
    rng = np.random.default_rng(0)
    xs = [np.cumsum(rng.normal(size=(600, 2)), axis=0) * 0.05 for _ in range(3)]
    for method in ("gibbs", "em"):
        model = ARHMM(n_states=20, n_lags=1, method=method, n_iter=8, progress=False)
        model.fit(xs)
        model.predict(xs)
        model.score(xs)
    ARHMM(n_states=8, n_lags=1, n_iter=2, progress=False).fit(xs)
