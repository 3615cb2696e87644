"""Preprocessor(variance="auto"): the smooth PCA components, as many as the model has (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import behavior as bh
from behavior.errors import PoseDataError
from behavior.syllables.arhmm import ARHMM
from behavior.syllables.preprocess import Preprocessor


def test_variance_takes_auto_or_a_fraction_and_nothing_else():
    assert Preprocessor().variance == 0.9  # the default stays a fraction (see the docstring)
    ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
    for bad in ("all", 0.0, True):
        with pytest.raises(PoseDataError, match="variance: expected 'auto'"):
            Preprocessor(variance=bad).fit(ds)


def test_auto_keeps_the_smooth_leading_components_and_not_the_noise():
    # 4 smooth signals in 12 coordinates plus white noise: "auto" keeps 4 components
    rng = np.random.default_rng(0)
    n_time, n_kp = 4000, 6
    t = np.arange(n_time)[:, None]
    signal = np.sin(t * np.array([[0.011, 0.023, 0.037, 0.051]]) + rng.uniform(0, 6, (1, 4)))
    mixing = rng.normal(size=(4, 2 * n_kp)) * np.array([[8.0], [6.0], [4.0], [3.0]])
    mixing[:, [0, 1, n_kp, n_kp + 1]] = 0.0  # the body axis (keypoints 0 and 1) stays still
    pos = (signal @ mixing + rng.normal(0, 0.4, (n_time, 2 * n_kp))).reshape(n_time, 2, n_kp)
    pos[:, 0, 0] += 30.0  # keypoint 0 ahead of keypoint 1 on x: a body axis
    ds = bh.from_numpy(pos[..., None], fps=30)
    roles = {"anterior": "keypoint_0", "posterior": "keypoint_1", "outlier_factor": None}
    assert Preprocessor(variance="auto", **roles).fit(ds).n_components_ == 4
    # an explicit fraction keeps its meaning: the fewest components reaching it
    fixed = Preprocessor(variance=0.5, **roles).fit(ds)
    assert fixed.explained_variance_ratio_.sum() >= 0.5 > fixed.explained_variance_ratio_[:-1].sum()
    assert Preprocessor(n_components=7, **roles).fit(ds).n_components_ == 7


def test_auto_keeps_the_true_latent_dimension_and_the_arhmm_finds_the_states_better():
    # family seed 1, draw 0: 4 states, AR(3), 11 latent dimensions, 20 keypoints, 1.6 px
    # noise, 2.5 % outliers. variance=0.9 kept 5 components (ARI 0.54); "auto" keeps 11
    # (ARI 0.69); the AR-HMM on the true latents reaches 0.997.
    draw = {**bh.simulate.keypoint_ar_family(3, seed=1)[0], "duration": "3 min", "n_sessions": 2}
    sessions, truth = bh.simulate.keypoint_ar(**draw)
    labels = np.concatenate(truth.labels)

    def ari(pre: Preprocessor) -> float:
        latents = pre.fit_transform(sessions)
        model = ARHMM(random_state=0, progress=False).fit(latents)
        return adjusted_rand_score(labels, np.concatenate(model.predict(latents)))

    auto, old = Preprocessor(variance="auto"), Preprocessor()
    ari_auto, ari_old = ari(auto), ari(old)
    assert abs(auto.n_components_ - draw["latent_dim"]) <= 2
    assert old.n_components_ < auto.n_components_
    assert ari_auto > ari_old + 0.07
