"""Tests of behavior.syllables.arhmm (AR-HMM in JAX) on small synthetic AR processes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from behavior.errors import PoseDataError
from behavior.syllables._common import run_lengths
from behavior.syllables.arhmm import ARHMM, _nice_length

# Shapes match behavior.syllables.arhmm._warm_up (3 sessions x 600 frames, 2 dims,
# K = 20, one lag), so a warmed-up session compiles nothing here.
N_SESSIONS, N_FRAMES, N_STATES = 3, 600, 20

_A = [
    np.array([[0.9, 0.2], [-0.2, 0.9]]),
    np.array([[0.95, 0.0], [0.0, 0.5]]),
    np.array([[0.5, -0.3], [0.3, 0.5]]),
]
_B = [np.array([1.0, 0.0]), np.array([-1.0, 1.0]), np.array([0.0, -1.5])]


def three_state_ar(seed: int = 0, n_frames: int = N_FRAMES, mean_duration: float = 20.0):
    """Sessions of a 3-state switching AR(1) process and their true states."""
    rng = np.random.default_rng(seed)
    xs, zs = [], []
    for _ in range(N_SESSIONS):
        z = np.zeros(n_frames, int)
        k, t = int(rng.integers(3)), 0
        while t < n_frames:
            dur = max(3, int(rng.exponential(mean_duration)))
            z[t : t + dur] = k
            k = (k + int(rng.integers(1, 3))) % 3
            t += dur
        x = np.zeros((n_frames, 2))
        for t in range(1, n_frames):
            x[t] = _A[z[t]] @ x[t - 1] + _B[z[t]] + 0.1 * rng.normal(size=2)
        xs.append(x)
        zs.append(z)
    return xs, zs


def _lengths(labels: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal labels."""
    starts, stops, _ = run_lengths(labels)
    return stops - starts


def model(**kw) -> ARHMM:
    args = dict(n_states=N_STATES, n_lags=1, kappa=100.0, n_iter=30, random_state=0, progress=False)
    return ARHMM(**{**args, **kw})


@pytest.fixture(scope="module")
def data():
    return three_state_ar(0)


@pytest.fixture(scope="module")
def fitted(data):
    return model().fit(data[0])


def test_gibbs_recovers_three_states_with_upper_bound(data, fitted):
    xs, zs = data
    truth = np.concatenate(zs)
    assert adjusted_rand_score(truth, np.concatenate(fitted.labels_)) > 0.9
    assert adjusted_rand_score(truth, np.concatenate(fitted.predict(xs))) > 0.9
    assert 3 <= fitted.used_states_.size <= 5  # never told 3, given 20
    assert fitted.n_iter_ == 30 and fitted.log_likelihood_.shape == (30,)
    assert np.all(np.isfinite(fitted.log_likelihood_))
    # the sampler climbs from the k-means start
    assert fitted.log_likelihood_[-1] > fitted.log_likelihood_[0]


def test_em_runs_and_recovers_states(data):
    xs, zs = data
    em = model(method="em").fit(xs)
    truth = np.concatenate(zs)
    assert adjusted_rand_score(truth, np.concatenate(em.predict(xs))) > 0.85
    assert 1 <= em.n_iter_ <= 30
    assert em.log_likelihood_[-1] >= em.log_likelihood_[0]
    assert set(np.unique(np.concatenate(em.labels_))) <= set(em.used_states_)


def test_params_are_in_data_units(data):
    xs, _ = data
    scaled = [100.0 * x + 50.0 for x in xs]
    m = model().fit(scaled)
    p = m.params_
    assert p["A"].shape == (N_STATES, 1, 2, 2) and p["Q"].shape == (N_STATES, 2, 2)
    np.testing.assert_allclose(p["pi"][m.used_states_].sum(axis=1), 1.0, rtol=1e-5)
    # one-step predictions with the reported parameters leave the noise (sd 0.1 * 100)
    for k in m.used_states_[:3]:
        res = []
        for x, lab in zip(scaled, m.labels_):
            sel = np.flatnonzero(lab[1:] == k) + 1
            res.append(x[sel] - (x[sel - 1] @ p["A"][k, 0].T + p["b"][k]))
        res = np.concatenate(res)
        assert np.abs(res.mean(axis=0)).max() < 3.0
        assert 5.0 < np.sqrt(np.diag(p["Q"][k])).mean() < 20.0


@given(st.integers(1, 200_000))
@settings(max_examples=300, deadline=None)
def test_row_length_covers_the_session_with_bounded_padding(n):
    length = _nice_length(n)
    assert n <= length < n * 1.125 + 1
    if n <= 16:
        assert length == n
    assert _nice_length(length) == length  # a rounded length is its own rounding


def test_decoding_does_not_depend_on_the_padding(fitted, data):
    """One session decoded alone (a row of 44 frames), beside a 200-frame one (208)
    and beside a 600-frame one (640): padded frames change nothing."""
    short = data[0][1][:40]
    alone = fitted.predict([short])[0]
    beside_mid = fitted.predict([short, data[0][2][:200]])[0]
    beside_long = fitted.predict([short, data[0][2]])[0]
    assert alone.shape == (40,)
    np.testing.assert_array_equal(alone, beside_mid)
    np.testing.assert_array_equal(alone, beside_long)


def test_masked_frames_count_as_deleted(fitted, data):
    x = data[0][0].copy()
    # masked at the end: same marginal likelihood as deleting them
    mask = np.ones(len(x), bool)
    mask[-50:] = False
    masked_end = fitted.score([x], mask=[mask])
    assert masked_end == pytest.approx(fitted.score([x[:-50]]), rel=1e-5)
    # NaN frames at the start: the chain starts in its stationary distribution
    y = x.copy()
    y[:40] = np.nan
    assert fitted.score([y]) == pytest.approx(fitted.score([x[40:]]), rel=1e-5)
    # and they are labelled, with used states only, never NaN
    labels = fitted.predict([y])[0]
    assert labels.shape == (len(x),) and set(np.unique(labels)) <= set(fitted.used_states_)


def test_fit_with_missing_frames_never_nan(data):
    xs = [x.copy() for x in data[0]]
    xs[0][100:140] = np.nan
    xs[1][:5] = np.nan
    xs[2][-3:] = np.inf
    m = model(n_iter=10).fit(xs)
    assert np.all(np.isfinite(m.log_likelihood_))
    for lab, x in zip(m.labels_, xs):
        assert lab.shape == (len(x),) and lab.min() >= 0
    assert np.isfinite(m.score(xs))
    assert all(np.all(np.isfinite(v)) for k, v in m.params_.items() if k != "pi")


def test_latents_input_uses_its_mask(data, fitted):
    from behavior.syllables.preprocess import Latents

    xs = [x.astype(np.float32) for x in data[0]]
    mask = [np.ones(len(x), bool) for x in xs]
    mask[0][-60:] = False
    lat = Latents(
        xs, mask, [(f"s{i}", "m") for i in range(3)], [np.arange(len(x)) / 30 for x in xs], fps=30.0
    )
    assert fitted.score(lat) == pytest.approx(fitted.score(xs, mask=mask), rel=1e-6)
    assert [p.shape for p in fitted.predict(lat)] == [x.shape[:1] for x in xs]


def test_deterministic_for_a_seed(data):
    xs, _ = data
    a = model(n_iter=8, random_state=3).fit(xs)
    b = model(n_iter=8, random_state=3).fit(xs)
    for la, lb in zip(a.labels_, b.labels_):
        np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(a.params_["A"], b.params_["A"])
    np.testing.assert_array_equal(a.log_likelihood_, b.log_likelihood_)


def test_no_global_x64_and_float32(fitted):
    import jax

    assert jax.config.jax_enable_x64 is False
    assert jax.numpy.zeros(1).dtype == np.float32


def test_no_recompilation_between_iterations(data):
    from behavior.syllables._arhmm_jax import kernels

    xs, _ = data
    # K = 8 keeps the working set at 8 states: one shape for the whole fit
    model(n_states=8, n_iter=2).fit(xs)
    k = kernels()
    before = (k.sample_states._cache_size(), k.update_gibbs._cache_size())
    m = model(n_states=8, n_iter=12, kappa=1000.0).fit(xs)  # new kappa: a traced value
    assert (k.sample_states._cache_size(), k.update_gibbs._cache_size()) == before
    assert m.n_compilations_ == 1


def test_fit_kappa_moves_duration_toward_target():
    # unstructured data: the segmentation, hence the durations, follow kappa
    rng = np.random.default_rng(5)
    xs = [rng.normal(size=(N_FRAMES, 2)) for _ in range(N_SESSIONS)]
    chosen, medians = {}, {}
    for target in (0.1, 1.0):
        m = model(n_iter=6, kappa=100.0)
        chosen[target] = m.fit_kappa(xs, target_duration=target, fps=30, n_iter=6, max_fits=4)
        assert m.kappa == chosen[target]
        err = [abs(np.log(s / target)) for _, s in m.kappa_scan_]
        assert min(err) < err[0] and min(err) < np.log(2.0)  # moved toward the target
        runs = np.concatenate(
            [_lengths(lab) for lab in model(n_iter=6, kappa=m.kappa).fit(xs).labels_]
        )
        medians[target] = np.median(runs) / 30
    assert chosen[1.0] > chosen[0.1]  # longer target -> larger kappa
    assert medians[1.0] > 3 * medians[0.1]


def test_median_duration_is_taken_over_frames():
    from behavior.syllables._common import median_duration as _median_duration

    # four one-frame transition syllables around one of 20 frames: the typical frame
    # lies in a 20-frame syllable, though most syllables last one frame
    labels = np.array([0, 1, 2] + [3] * 20 + [4, 5])
    assert _median_duration([labels]) == 20.0
    assert _median_duration([np.array([0, 0, 1, 1, 1, 1]), np.array([2])]) == 4.0


def test_samplers_match_their_distributions():
    import jax
    import jax.numpy as jnp

    from behavior.syllables._arhmm_jax import kernels

    k = kernels()
    key = jax.random.PRNGKey(0)
    for n, c in ((5, 0.1), (100, 3.0), (3000, 50.0), (20000, 1e6)):
        draws = np.asarray(
            k.crt(key, jnp.full((2000,), n, jnp.float32), jnp.full((2000,), c, jnp.float32))
        )
        p = c / (c + np.arange(n))
        assert draws.mean() == pytest.approx(p.sum(), rel=0.03, abs=0.05)
        assert draws.min() >= 0 and draws.max() <= n
    for a in (0.3, 2.0, 500.0):
        k1, k2, k3 = jax.random.split(jax.random.fold_in(key, int(a * 10)), 3)
        u = jax.random.uniform(k1, (20000, 8), minval=1e-30)
        g = jax.random.normal(k2, (20000, 8))
        ub = jax.random.uniform(k3, (20000,), minval=1e-30)
        x = np.exp(np.asarray(k.log_gamma(u, g, ub, jnp.full(20000, a))).astype(np.float64))
        assert x.mean() == pytest.approx(a, rel=0.03)
        assert x.var() == pytest.approx(a, rel=0.1)


@pytest.mark.parametrize(
    "kwargs, x, match",
    [
        ({"n_lags": 0}, None, "n_lags"),
        ({"n_states": 0}, None, "n_states"),
        ({"method": "vb"}, None, "method"),
        ({"kappa": -1.0}, None, "kappa"),
        ({}, np.zeros(50), "2-d"),
        ({}, np.zeros((2, 50, 2)), "2-d"),
        ({}, [np.zeros((50, 2)), np.zeros((50, 3))], "dimensions"),
        ({}, np.zeros((2, 2)), "usable"),
    ],
)
def test_bad_arguments_raise(kwargs, x, match):
    if x is None:
        x = np.random.default_rng(0).normal(size=(60, 2))
    with pytest.raises(PoseDataError, match=match):
        model(n_iter=1, **kwargs).fit(x)


def test_bad_mask_and_predict_dims(fitted):
    with pytest.raises(PoseDataError, match="mask"):
        fitted.predict([np.zeros((30, 2))], mask=[np.ones(31, bool)])
    with pytest.raises(PoseDataError, match="dimensions"):
        fitted.predict([np.zeros((30, 3))])
    with pytest.raises(PoseDataError, match="not fitted"):
        model().predict([np.zeros((30, 2))])


def _ar_stats(rng, a, c, n):
    """Sums of [y, phi][y, phi]^T for y_t = a y_{t-1} + c + noise, phi = [y_{t-1}, 1]."""
    y = np.empty(n + 1)
    y[0] = c / (1 - a)
    for t in range(n):
        y[t + 1] = a * y[t] + c + rng.normal(0, 0.1)
    z = np.stack([y[1:], y[:-1], np.ones(n)], axis=1)
    return z.T @ z


def test_merges_need_the_dynamics_to_agree():
    from behavior.syllables.arhmm import _merge_pairs

    rng = np.random.default_rng(0)
    prior = (np.eye(1) * 0.01, np.eye(2) / 10.0, 3.0)
    n = np.array([3000.0, 3000.0, 3000.0])
    # states 0 and 1 share their dynamics; state 2 sits elsewhere
    stats = np.stack([_ar_stats(rng, 0.5, 1.0, 3000), _ar_stats(rng, 0.5, 1.0, 3000),
                      _ar_stats(rng, 0.5, 3.0, 3000)])  # fmt: skip
    # many transitions between 1 and 2, which a sticky prior would rather not see
    counts = np.array([[2900.0, 50, 50], [50, 2500, 450], [50, 450, 2500]])
    beta = np.full(3, 1 / 3)
    pairs = _merge_pairs(stats, n, counts, beta, np.arange(3), prior, alpha=5.7, kappa=1e6)
    assert [tuple(sorted(p)) for p in pairs] == [(0, 1)]
