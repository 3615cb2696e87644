"""JAX kernels of :mod:`behavior.syllables.arhmm` (private).

:func:`kernels` builds every jitted function on first use and caches them, so
``import behavior`` never imports JAX and every compiled shape is kept for the
life of the process.

Notation: ``F`` frames in a flat layout of ``B`` rows of ``C`` frames
(``F = B * C``); ``K`` states (the truncation level) and ``Ks`` states in the
working subset; ``D`` latent dimensions, ``L`` lags, ``R = L * D + 1``
regressors ``phi_t = [x_{t-1}, ..., x_{t-L}, 1]`` and ``P = D + R`` features per
frame ``[y_t, phi_t]`` with ``y_t = x_t - x_{t-1}``. The AR dynamics of a state
are ``y_t = W phi_t + e_t``, ``e_t ~ N(0, Q)``; the likelihood uses
``M = chol(Q)^-1 [I, -W]`` so that ``log N(y; W phi, Q) = logc - |M z|^2 / 2``.

Per-frame flags: ``valid`` (the frame is usable and its lags have values: the
frame has a likelihood; otherwise its likelihood is 1), ``start`` (the frame begins a
session or is padding: its state is drawn from the initial distribution, not
from the previous frame's) and ``trans_ok`` (a real transition into the frame).
"""

from __future__ import annotations

import math
from functools import cache, partial
from types import SimpleNamespace

import numpy as np

TINY = 1e-30
"""Floor of probabilities and scaled likelihoods: the filters never divide by zero."""

_N_EXACT_TABLES = 24
"""Customers per restaurant whose table draws are simulated exactly (the rest approximated)."""

_STATS_CHUNK = 4096
"""Frames per chunk when accumulating sufficient statistics without precomputed triangles."""

MAX_TRI_BYTES = 1 << 30
"""Largest array of per-frame outer products kept in memory (else computed per sweep)."""

_N_PROPOSALS = 8
"""Marsaglia-Tsang proposals per gamma draw (all rejected with probability < 1e-10)."""


@cache
def kernels() -> SimpleNamespace:
    """Build (once) and return the jitted kernels.

    Returns
    -------
    SimpleNamespace
        ``tri_features``, ``sample_states``, ``update_gibbs``, ``estep``,
        ``mstep``, ``map_from_labels``, ``viterbi``, ``forward_loglik``; and, for
        tests, the samplers ``crt``, ``binomial`` and ``log_gamma``.

    Examples
    --------
    >>> k = kernels()
    >>> callable(k.viterbi)
    True
    """
    import jax
    import jax.numpy as jnp
    from jax import lax

    f32 = jnp.float32
    log2pi = float(jnp.log(2 * jnp.pi))

    # ------------------------------------------------------------------ likelihoods
    def loglik(zfeat, valid, mlik, logc):
        """(F, Ks) log-likelihoods of every frame under every state; 0 where not valid."""
        ks, d, p = mlik.shape
        proj = (zfeat @ mlik.reshape(ks * d, p).T).reshape(zfeat.shape[0], ks, d)
        ll = logc[None, :] - 0.5 * jnp.sum(proj * proj, axis=-1)
        ll = jnp.where(jnp.isnan(ll), -jnp.inf, ll)
        return jnp.where(valid[:, None], ll, 0.0)

    def scaled(ll):
        """Likelihoods divided by their per-frame maximum (floored at TINY), and log of it."""
        m = jnp.max(ll, axis=-1, keepdims=True)
        m = jnp.where(jnp.isfinite(m), m, 0.0)
        lik = jnp.maximum(jnp.exp(ll - m), TINY)
        return lik, m[..., 0]

    # ------------------------------------------------------------------ filtering
    def forward(lik, start, a_init, trans, pi0):
        """Normalised forward messages; ``lik``/``start`` are time-major (C, B, ...)."""

        def step(a_prev, inp):
            lik_t, start_t = inp
            pred = jnp.where(start_t[:, None], pi0[None, :], a_prev @ trans)
            a = pred * lik_t
            c = jnp.sum(a, axis=-1, keepdims=True)
            a = a / c
            return a, (a, jnp.log(c[:, 0]))

        _, (alphas, logc) = lax.scan(step, a_init, (lik, start), unroll=1)
        return alphas, logc

    def pick(weights, u):
        """Index drawn from unnormalised ``weights`` (..., Ks) with ``u`` in (0, 1]."""
        cw = jnp.cumsum(weights, axis=-1)
        k = jnp.sum(cw < u[..., None] * cw[..., -1:], axis=-1)
        return jnp.minimum(k, weights.shape[-1] - 1).astype(jnp.int32)

    def backward_sample(alphas, start, z_last, trans, u):
        """Backward sampling of all frames but the last of each row (held at ``z_last``)."""
        trans_t = trans.T

        def step(nxt, inp):
            a_t, start_next, u_t = inp
            w = a_t * jnp.where(start_next[:, None], 1.0, trans_t[nxt])
            k = pick(w, u_t)
            return k, k

        _, zs = lax.scan(step, z_last, (alphas[:-1], start[1:], u[:-1]), reverse=True, unroll=1)
        return jnp.concatenate([zs, z_last[None, :]], axis=0)

    def sub_transitions(trans_full, beta, sub, n_active, lump):
        """Transition matrix and initial weights over the working subset ``sub``.

        Slots ``>= n_active`` are empty states; when ``lump`` they share equally the
        probability of moving to any empty state of the truncation (the empty states
        are exchangeable draws from the prior), else they keep their own.
        """
        ks = sub.shape[0]
        is_empty_slot = jnp.arange(ks) >= n_active
        k = trans_full.shape[0]
        active_global = jnp.zeros(k, bool).at[sub].set(~is_empty_slot)
        n_empty_slots = jnp.maximum(jnp.sum(is_empty_slot), 1)
        rows = trans_full[sub]
        empty_mass = jnp.sum(jnp.where(active_global[None, :], 0.0, rows), axis=1)
        raw = rows[:, sub]
        lumped = jnp.where(is_empty_slot[None, :], empty_mass[:, None] / n_empty_slots, raw)
        t = jnp.where(lump, lumped, raw)
        b_empty = jnp.sum(jnp.where(active_global, 0.0, beta))
        b = jnp.where(lump & is_empty_slot, b_empty / n_empty_slots, beta[sub])
        t = jnp.maximum(t, TINY)
        b = jnp.maximum(b, TINY)
        return t / jnp.sum(t, axis=1, keepdims=True), b / jnp.sum(b)

    # ------------------------------------------------------------------ state sampling
    @partial(jax.jit, static_argnames=("n_rows",))
    def sample_states(
        key,
        zfeat,
        valid,
        start,
        trans_ok,
        mlik_full,
        logc_full,
        trans_full,
        beta,
        sub,
        n_active,
        lump,
        z_old,
        offset,
        n_rows,
    ):
        """One blocked-Gibbs sweep over the state sequence.

        The flat layout is rolled by ``offset`` and cut into rows of ``C`` frames;
        each row is sampled by forward filtering / backward sampling given the
        state just before it and its own last frame, which is held (the held
        frames move with ``offset`` from sweep to sweep). Returns the new global
        states (F,) and the joint log-likelihood of data and states.
        """
        row_len = zfeat.shape[0] // n_rows
        mlik, logc = mlik_full[sub], logc_full[sub]
        trans, pi0 = sub_transitions(trans_full, beta, sub, n_active, lump)
        ks = sub.shape[0]
        local_of = jnp.zeros(trans_full.shape[0], jnp.int32).at[sub].set(jnp.arange(ks))
        zl_old = local_of[z_old]

        ll = loglik(zfeat, valid, mlik, logc)
        lik, _ = scaled(ll)

        def rows(a):
            return jnp.roll(a, offset, axis=0).reshape((n_rows, row_len, *a.shape[1:]))

        lik_r = jnp.swapaxes(rows(lik), 0, 1)  # (C, B, Ks)
        start_r = jnp.swapaxes(rows(start), 0, 1)
        z_r = rows(zl_old)  # (B, C)
        left = jnp.roll(z_r[:, -1], 1)
        a_init = jax.nn.one_hot(left, ks, dtype=f32)
        alphas, _ = forward(lik_r, start_r, a_init, trans, pi0)
        u = 1.0 - jax.random.uniform(key, (row_len, n_rows), f32)
        z_new = backward_sample(alphas, start_r, z_r[:, -1], trans, u)
        z_local = jnp.roll(jnp.swapaxes(z_new, 0, 1).reshape(-1), -offset)

        picked = jnp.take_along_axis(ll, z_local[:, None], axis=1)[:, 0]
        z_prev = jnp.roll(z_local, 1)
        log_t = jnp.log(trans[z_prev, z_local])
        jll = jnp.sum(jnp.where(valid, picked, 0.0)) + jnp.sum(jnp.where(trans_ok, log_t, 0.0))
        return sub[z_local], jll

    # ------------------------------------------------------------------ AR parameters
    # Small dense factorisations written in plain JAX: XLA's LAPACK custom calls
    # (potrf/trsm) intermittently deadlocked the CPU runtime in batched use here
    # (measured on jax 0.10.2: 4 hangs in 6 runs of 300 updates), plain loops never did.
    def cholesky(a):
        """Lower Cholesky factor (left-looking); NaN where ``a`` is not positive definite."""
        n = a.shape[-1]
        idx = jnp.arange(n)

        def body(j, low):
            v = a[:, j] - low @ low[j]
            d = jnp.sqrt(v[j])
            col = jnp.where(idx > j, v / d, jnp.where(idx == j, d, 0.0))
            return low.at[:, j].set(col)

        return lax.fori_loop(0, n, body, jnp.zeros_like(a))

    def solve_lower(low, b):
        """``low^-1 b`` by forward substitution (``b``: (n, m))."""
        n = low.shape[-1]

        def body(i, x):
            xi = (b[i] - low[i] @ x) / low[i, i]
            return x.at[i].set(xi)

        return lax.fori_loop(0, n, body, jnp.zeros_like(b))

    def solve_lower_t(low, b):
        """``low^-T b`` by backward substitution (``b``: (n, m))."""
        n = low.shape[-1]

        def body(k, x):
            i = n - 1 - k
            xi = (b[i] - low[:, i] @ x) / low[i, i]
            return x.at[i].set(xi)

        return lax.fori_loop(0, n, body, jnp.zeros_like(b))

    def posterior(stats, n, prior):
        """Matrix-normal inverse-Wishart posterior of one state from its statistics."""
        s0, k0inv, nu0 = prior
        d = s0.shape[0]
        syy, syp, spp = stats[:d, :d], stats[:d, d:], stats[d:, d:]
        lc = cholesky(k0inv + spp)
        mn = solve_lower_t(lc, solve_lower(lc, syp.T)).T
        sn = s0 + syy - mn @ syp.T
        sn = 0.5 * (sn + sn.T)
        cs = cholesky(sn)
        # Sn >= S0 in exact arithmetic; if rounding broke that, fall back to the
        # diagonal of Sn (S0 is diagonal, so no second factorisation is needed)
        fallback = jnp.diag(jnp.sqrt(jnp.maximum(jnp.diag(sn), jnp.diag(s0))))
        cs = jnp.where(jnp.any(jnp.isnan(cs)), fallback, cs)
        return mn, cs, lc, nu0 + n

    def lik_params(w, q):
        """``M = chol(Q)^-1 [I, -W]`` and ``logc`` of one state."""
        d = q.shape[0]
        lq = cholesky(0.5 * (q + q.T))
        m = solve_lower(lq, jnp.concatenate([jnp.eye(d, dtype=w.dtype), -w], axis=1))
        logc = -jnp.sum(jnp.log(jnp.diagonal(lq))) - 0.5 * d * log2pi
        return m, logc

    def sample_mniw(g_low, g_w, chi, stats, n, prior):
        """Draw (W, Q) of one state from standard normals and Bartlett chi variates (D,)."""
        mn, cs, lc, _ = posterior(stats, n, prior)
        # Bartlett: Q^-1 = C^-T A A^T C^-1 ~ Wishart(nun, Sn^-1), Sn = C C^T
        a = jnp.tril(g_low, -1) + jnp.diag(chi)
        g = solve_lower(a, cs.T).T  # Q = G G^T
        q = g @ g.T
        w = mn + g @ solve_lower_t(lc, g_w.T).T
        return w, q

    def map_mniw(stats, n, prior):
        mn, cs, _, nun = posterior(stats, n, prior)
        d = mn.shape[0]
        return mn, (cs @ cs.T) / (nun + d + 1.0)

    # ------------------------------------------------------------------ transitions
    # Random draws come from one block of uniforms and one of normals per kernel (each
    # sampler call site costs compile time): the functions below take them as arguments.
    def split_block(block, shapes):
        out, at = [], 0
        for shape in shapes:
            size = math.prod(shape)
            out.append(block[at : at + size].reshape(shape))
            at += size
        return out

    def block_size(shapes):
        return sum(math.prod(shape) for shape in shapes)

    def bernoulli_sum(u, n, p):
        """Number of ``u < p`` among the first ``n`` entries of the last axis."""
        i = jnp.arange(p.shape[-1], dtype=f32)
        return jnp.sum((u < p) & (i < n[..., None]), axis=-1).astype(f32)

    def tail_draw(u, g, mean, var, small, upper):
        """Integer draw with the given mean and variance, clipped to ``[0, upper]``:
        Poisson by inverse CDF (40 terms) where ``small`` and the mean is below 10,
        else a rounded normal."""
        mean = jnp.maximum(mean, 0.0)
        use_pois = small & (mean < 10.0)
        lam = jnp.where(use_pois, mean, 0.0)
        j = jnp.arange(40, dtype=f32)
        logpmf = (
            j * jnp.log(jnp.maximum(lam[..., None], TINY)) - lam[..., None] - lax.lgamma(j + 1.0)
        )
        cdf = jnp.cumsum(jnp.exp(logpmf), axis=-1)
        pois = jnp.sum(u[..., None] > cdf, axis=-1).astype(f32)
        norm = jnp.round(mean + jnp.sqrt(jnp.maximum(var, 0.0)) * g)
        return jnp.clip(jnp.where(use_pois, pois, norm), 0.0, upper)

    def crt(u_exact, u_tail, g_tail, n, c):
        """Chinese-restaurant table counts: sum of Bernoulli(c / (c + i)), i < n.

        The first ``_N_EXACT_TABLES`` customers are simulated exactly; the rest
        are a Poisson (small probabilities) or normal (large) draw with the
        exact mean and variance of their sum.
        """
        n0 = float(_N_EXACT_TABLES)
        i = jnp.arange(_N_EXACT_TABLES, dtype=f32)
        exact = bernoulli_sum(u_exact, n, c[..., None] / (c[..., None] + i))
        has_tail = n > n0
        nt = jnp.where(has_tail, n, n0 + 1.0)
        # sums over i = n0 .. nt-1 of c/(c+i) and c^2/(c+i)^2, i.e. digamma and trigamma
        # differences, by their asymptotic series (arguments >= n0 = 24: error < 1e-7)
        # written with log1p and exact differences so that float32 keeps its precision
        lo, hi = c + n0, c + nt
        gap = nt - n0
        dig = (
            jnp.log1p(gap / lo)
            + 0.5 * gap / (lo * hi)
            + (hi * hi - lo * lo) / (12.0 * lo * lo * hi * hi)
        )
        inv = gap / (lo * hi)
        trig = inv + 0.5 * inv * (lo + hi) / (lo * hi) + ((hi**3 - lo**3) / (6.0 * lo**3 * hi**3))
        mean = c * dig
        var = mean - c * c * trig
        tail = tail_draw(u_tail, g_tail, mean, var, c / (c + n0) < 0.2, jnp.maximum(n - n0, 0.0))
        return exact + jnp.where(has_tail, tail, 0.0)

    def binomial(u_exact, u_tail, g_tail, n, p):
        """Binomial(n, p) draws: the first ``_N_EXACT_TABLES`` trials exactly, then a
        Poisson/normal draw with the exact mean and variance of the rest."""
        n0 = float(_N_EXACT_TABLES)
        exact = bernoulli_sum(u_exact, n, jnp.broadcast_to(p[..., None], u_exact.shape))
        rest = jnp.maximum(n - n0, 0.0)
        return exact + tail_draw(u_tail, g_tail, rest * p, rest * p * (1.0 - p), p < 0.2, rest)

    def with_blocks(func):
        """``func(key, n, c)`` for tests: draws its own uniforms and normals."""

        def wrapped(key, n, c):
            k1, k2, k3 = jax.random.split(key, 3)
            u_exact = jax.random.uniform(k1, (*n.shape, _N_EXACT_TABLES), f32)
            return func(
                u_exact,
                jax.random.uniform(k2, n.shape, f32),
                jax.random.normal(k3, n.shape, f32),
                n,
                c,
            )

        return jax.jit(wrapped)

    def log_gamma_draw(u, g, u_boost, a):
        """log of Gamma(a, 1) draws without a rejection loop.

        Marsaglia & Tsang (2000) for shape ``a + 1`` with ``_N_PROPOSALS``
        proposals per draw (``u``, ``g``: (..., _N_PROPOSALS); the first accepted
        is kept; all are rejected with probability below 1e-10), then the boost
        ``Gamma(a) = Gamma(a + 1) U^(1/a)`` in log space, exact for tiny shapes.
        """
        d = a + 1.0 - 1.0 / 3.0
        c = 1.0 / jnp.sqrt(9.0 * d)
        v = (1.0 + c[..., None] * g) ** 3
        vpos = jnp.maximum(v, TINY)
        ok = (v > 0) & (jnp.log(u) < 0.5 * g * g + d[..., None] * (1.0 - v + jnp.log(vpos)))
        first = jnp.argmax(ok, axis=-1)
        v_acc = jnp.take_along_axis(vpos, first[..., None], axis=-1)[..., 0]
        v_acc = jnp.where(jnp.any(ok, axis=-1), v_acc, 1.0)
        return jnp.log(d * v_acc) + jnp.log(u_boost) / a

    def sample_transitions_and_chi(rand, counts, beta, alpha, kappa, gamma, df):
        """Sticky HDP-HMM (weak limit) update of ``beta`` and the transition rows, and
        the Bartlett chi variates of the noise covariances (degrees of freedom ``df``)."""
        k = counts.shape[0]
        eye = jnp.eye(k, dtype=f32)
        (
            u_crt,
            u_crt_tail,
            g_crt_tail,
            u_bin,
            u_bin_tail,
            g_bin_tail,
            gam_beta,
            gam_rows,
            gam_chi,
        ) = rand
        conc = alpha * beta[None, :] + kappa * eye
        m = crt(u_crt, u_crt_tail, g_crt_tail, counts, conc)
        rho = kappa / (alpha + kappa)
        p_over = rho / (rho + beta * (1.0 - rho))
        m_diag = jnp.diagonal(m)
        w = jnp.clip(binomial(u_bin, u_bin_tail, g_bin_tail, m_diag, p_over), 0.0, m_diag)
        mbar = m - jnp.diag(w)
        conc_beta = jnp.maximum(gamma / k + jnp.sum(mbar, axis=0), 1e-8)
        beta_new = jnp.maximum(normalised(log_gamma_draw(*gam_beta, conc_beta)), TINY)
        beta_new = beta_new / jnp.sum(beta_new)
        rows = jnp.maximum(alpha * beta_new[None, :] + kappa * eye + counts, 1e-8)
        lg = log_gamma_draw(*gam_rows, rows)
        trans = jnp.maximum(jnp.exp(lg - jax.nn.logsumexp(lg, axis=1, keepdims=True)), TINY)
        chi = jnp.sqrt(2.0 * jnp.exp(log_gamma_draw(*gam_chi, 0.5 * df)))
        return beta_new, trans / jnp.sum(trans, axis=1, keepdims=True), chi

    def normalised(log_weights):
        return jnp.exp(log_weights - jax.nn.logsumexp(log_weights))

    def count_transitions(z, trans_ok, k):
        z_prev = jnp.roll(z, 1)
        flat = jax.ops.segment_sum(trans_ok.astype(f32), z_prev * k + z, k * k)
        return flat.reshape(k, k)

    def chunks(a):
        """``a`` (F, ...) padded with zeros and cut into (n, _STATS_CHUNK, ...)."""
        n = -(-a.shape[0] // _STATS_CHUNK)
        pad = n * _STATS_CHUNK - a.shape[0]
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1))
        return a.reshape((n, _STATS_CHUNK, *a.shape[1:]))

    def outer_tri(zf):
        """Upper triangle of every row's outer product ``z z^T`` (rows, P (P + 1) / 2)."""
        iu = np.triu_indices(zf.shape[1])
        return zf[:, iu[0]] * zf[:, iu[1]]

    def unpack_tri(tri, p):
        iu = np.triu_indices(p)
        full = jnp.zeros((*tri.shape[:-1], p, p), tri.dtype).at[..., iu[0], iu[1]].set(tri)
        diag = jnp.diagonal(full, axis1=-2, axis2=-1)
        return full + jnp.swapaxes(full, -1, -2) - diag[..., :, None] * jnp.eye(p, dtype=f32)

    def hard_stats(z, zfeat, z2t, valid, real, k):
        """Per-state sums of ``z z^T`` over valid frames, frame counts and usage.

        From the precomputed triangles ``z2t`` (F, P (P + 1) / 2) when given, else
        accumulated over chunks of frames so that no such array is formed; invalid
        frames have zero features and add nothing.
        """
        p = zfeat.shape[1]
        if z2t is not None:
            tri = jax.ops.segment_sum(z2t, z, k)
        else:

            def body(acc, inp):
                zz, zf = inp
                return acc + jax.ops.segment_sum(outer_tri(zf), zz, k), None

            init = jnp.zeros((k, p * (p + 1) // 2), f32)
            tri, _ = lax.scan(body, init, (chunks(z), chunks(zfeat)))
        n = jax.ops.segment_sum(valid.astype(f32), z, k)
        usage = jax.ops.segment_sum(real.astype(f32), z, k)
        return unpack_tri(tri, p), n, usage

    def soft_stats(post, zfeat, z2t):
        """Posterior-weighted sums of ``z z^T`` per state (as :func:`hard_stats`)."""
        p = zfeat.shape[1]
        if z2t is not None:
            return unpack_tri(post.T @ z2t, p)

        def body(acc, inp):
            w, zf = inp
            return acc + w.T @ outer_tri(zf), None

        init = jnp.zeros((post.shape[1], p * (p + 1) // 2), f32)
        tri, _ = lax.scan(body, init, (chunks(post), chunks(zfeat)))
        return unpack_tri(tri, p)

    @jax.jit
    def update_gibbs(key, z, zfeat, z2t, valid, real, trans_ok, beta, hyper, prior):
        """Conjugate updates of (W, Q) of every state and of the HDP transitions."""
        k = beta.shape[0]
        p = zfeat.shape[1]
        stats, n, usage = hard_stats(z, zfeat, z2t, valid, real, k)
        counts = count_transitions(z, trans_ok, k)
        alpha, kappa, gamma = hyper
        d = prior[0].shape[0]
        r = p - d
        n0, npr = _N_EXACT_TABLES, _N_PROPOSALS
        u_shapes = [
            (k, k, n0),
            (k, k),
            (k, n0),
            (k,),
            (k, npr),
            (k,),
            (k, k, npr),
            (k, k),
            (k, d, npr),
            (k, d),
        ]
        g_shapes = [(k, k), (k,), (k, d, d), (k, d, r), (k, npr), (k, k, npr), (k, d, npr)]
        k_u, k_g = jax.random.split(key)
        (
            u_crt,
            u_crt_tail,
            u_bin,
            u_bin_tail,
            u_gb,
            u_gb_boost,
            u_gr,
            u_gr_boost,
            u_gc,
            u_gc_boost,
        ) = split_block(
            jax.random.uniform(k_u, (block_size(u_shapes),), f32, minval=TINY), u_shapes
        )
        g_crt_tail, g_bin_tail, g_low, g_w, g_gb, g_gr, g_gc = split_block(
            jax.random.normal(k_g, (block_size(g_shapes),), f32), g_shapes
        )
        df = prior[2] + n[:, None] - jnp.arange(d, dtype=f32)[None, :]
        rand = (
            u_crt,
            u_crt_tail,
            g_crt_tail,
            u_bin,
            u_bin_tail,
            g_bin_tail,
            (u_gb, g_gb, u_gb_boost),
            (u_gr, g_gr, u_gr_boost),
            (u_gc, g_gc, u_gc_boost),
        )
        beta_new, trans, chi = sample_transitions_and_chi(
            rand, counts, beta, alpha, kappa, gamma, df
        )
        w, q = jax.vmap(sample_mniw, in_axes=(0, 0, 0, 0, 0, None))(
            g_low, g_w, chi, stats, n, prior
        )
        mlik, logc = jax.vmap(lik_params)(w, q)
        return {
            "W": w,
            "Q": q,
            "M": mlik,
            "logc": logc,
            "beta": beta_new,
            "pi": trans,
            "usage": usage,
            "stats": stats,
            "n": n,
            "counts": counts,
        }

    # ------------------------------------------------------------------ EM
    def time_major(a, n_rows):
        """(F, ...) flat frames -> (C, B, ...): ``n_rows`` rows of C frames, time first."""
        return jnp.swapaxes(a.reshape((n_rows, a.shape[0] // n_rows, *a.shape[1:])), 0, 1)

    def filtered(zfeat, valid, start, mlik, logc, trans, pi0, n_rows):
        """Scaled likelihoods and forward pass over rows that start from ``pi0``."""
        lik, m = scaled(loglik(zfeat, valid, mlik, logc))
        lik_r, start_r = time_major(lik, n_rows), time_major(start, n_rows)
        a_init = jnp.broadcast_to(pi0, (n_rows, trans.shape[0]))
        alphas, logcs = forward(lik_r, start_r, a_init, trans, pi0)
        return lik_r, start_r, alphas, logcs, m

    @partial(jax.jit, static_argnames=("n_rows",))
    def estep(zfeat, valid, start, trans_ok, mlik, logc, trans, pi0, n_rows):
        """Forward-backward over rows (one session per row): posteriors and counts."""
        ks = trans.shape[0]
        lik_r, start_r, alphas, logcs, m = filtered(
            zfeat, valid, start, mlik, logc, trans, pi0, n_rows
        )

        def step(b_next, inp):
            lik_n, c_n, start_n = inp
            msg = (lik_n * b_next) / jnp.exp(c_n)[:, None]
            b = jnp.where(start_n[:, None], 1.0, msg @ trans.T)
            return b, b

        ones = jnp.ones((n_rows, ks), f32)
        _, betas = lax.scan(step, ones, (lik_r[1:], logcs[1:], start_r[1:]), reverse=True, unroll=1)
        betas = jnp.concatenate([betas, ones[None]], axis=0)
        post = alphas * betas
        post = post / jnp.sum(post, axis=-1, keepdims=True)
        # expected transitions: sum_t a_{t-1}^T (lik_t * b_t / c_t), times trans
        g = lik_r[1:] * betas[1:] / jnp.exp(logcs[1:])[..., None]
        g = jnp.where(start_r[1:, :, None], 0.0, g)
        xi = jnp.einsum("tbi,tbj->ij", alphas[:-1], g) * trans
        post_flat = jnp.swapaxes(post, 0, 1).reshape(-1, ks)
        marginal = jnp.sum(logcs) + jnp.sum(m)
        return post_flat, xi, marginal

    @jax.jit
    def mstep(post, zfeat, z2t, valid, xi, beta_sub, hyper, prior):
        """MAP (W, Q) from soft statistics and MAP transition rows."""
        ks = post.shape[1]
        stats = soft_stats(post, zfeat, z2t)
        n = post.T @ valid.astype(f32)
        w, q = jax.vmap(map_mniw, in_axes=(0, 0, None))(stats, n, prior)
        mlik, logc = jax.vmap(lik_params)(w, q)
        alpha, kappa, _ = hyper
        conc = alpha * beta_sub[None, :] + kappa * jnp.eye(ks, dtype=f32)
        mode = jnp.maximum(xi + conc - 1.0, 0.0)
        fallback = conc / jnp.sum(conc, axis=1, keepdims=True)
        tot = jnp.sum(mode, axis=1, keepdims=True)
        trans = jnp.where(tot > 0, mode / jnp.where(tot > 0, tot, 1.0), fallback)
        trans = jnp.maximum(trans, TINY)
        trans = trans / jnp.sum(trans, axis=1, keepdims=True)
        return {"W": w, "Q": q, "M": mlik, "logc": logc, "pi": trans, "n": n, "stats": stats}

    @partial(jax.jit, static_argnames=("n_states",))
    def map_from_labels(z, zfeat, z2t, valid, real, trans_ok, prior, n_states):
        """MAP (W, Q) and transition counts from hard labels (initialisation)."""
        k = n_states
        stats, n, usage = hard_stats(z, zfeat, z2t, valid, real, k)
        w, q = jax.vmap(map_mniw, in_axes=(0, 0, None))(stats, n, prior)
        mlik, logc = jax.vmap(lik_params)(w, q)
        return {
            "W": w,
            "Q": q,
            "M": mlik,
            "logc": logc,
            "usage": usage,
            "counts": count_transitions(z, trans_ok, k),
        }

    # ------------------------------------------------------------------ decoding
    @partial(jax.jit, static_argnames=("n_rows",))
    def viterbi(zfeat, valid, start, mlik, logc, trans, pi0, n_rows):
        """Most probable state sequence of every row (sessions end at ``start`` frames)."""
        ks = trans.shape[0]
        ll = jnp.maximum(loglik(zfeat, valid, mlik, logc), -1e30)
        ll_r, start_r = time_major(ll, n_rows), time_major(start, n_rows)
        log_t = jnp.log(trans)
        log_pi0 = jnp.log(pi0)
        ar = jnp.broadcast_to(jnp.arange(ks, dtype=jnp.int32), (n_rows, ks))

        def step(delta, inp):
            ll_t, start_t = inp
            cand = delta[:, :, None] + log_t[None]
            best = jnp.argmax(cand, axis=1).astype(jnp.int32)
            new = jnp.max(cand, axis=1) + ll_t
            delta_t = jnp.where(start_t[:, None], log_pi0[None] + ll_t, new)
            delta_t = delta_t - jnp.max(delta_t, axis=1, keepdims=True)
            bp = jnp.where(start_t[:, None], ar, best)
            return delta_t, (delta_t, bp)

        d0 = jnp.zeros((n_rows, ks), f32)
        _, (deltas, bps) = lax.scan(step, d0, (ll_r, start_r), unroll=1)
        ends = jnp.concatenate([start_r[1:], jnp.ones((1, n_rows), bool)], axis=0)

        def back(nxt, inp):
            delta_t, bp_next, end_t = inp
            k = jnp.where(
                end_t,
                jnp.argmax(delta_t, axis=1).astype(jnp.int32),
                jnp.take_along_axis(bp_next, nxt[:, None], axis=1)[:, 0],
            )
            return k, k

        bp_next = jnp.concatenate([bps[1:], bps[:1]], axis=0)
        _, zs = lax.scan(
            back, jnp.zeros(n_rows, jnp.int32), (deltas, bp_next, ends), reverse=True, unroll=1
        )
        return jnp.swapaxes(zs, 0, 1).reshape(-1)

    @partial(jax.jit, static_argnames=("n_rows",))
    def forward_loglik(zfeat, valid, start, mlik, logc, trans, pi0, n_rows):
        """Marginal log-likelihood of every row (masked frames contribute 0)."""
        _, _, _, logcs, m = filtered(zfeat, valid, start, mlik, logc, trans, pi0, n_rows)
        return jnp.sum(logcs, axis=0) + jnp.sum(m.reshape(n_rows, -1), axis=1)

    return SimpleNamespace(
        tri_features=jax.jit(outer_tri),
        sample_states=sample_states,
        update_gibbs=update_gibbs,
        estep=estep,
        mstep=mstep,
        map_from_labels=map_from_labels,
        viterbi=viterbi,
        forward_loglik=forward_loglik,
        crt=with_blocks(crt),
        binomial=with_blocks(binomial),
        log_gamma=jax.jit(log_gamma_draw),
    )
