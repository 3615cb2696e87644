"""Tests of behavior/classify/temporal.py: the temporal convolutional classifier.

Tiny networks (window 9, hidden 8, two layers, 4 features: the shapes that
``temporal._warm_up`` compiles) so that the file runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import (
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from behavior.classify import TemporalConvClassifier
from behavior.errors import NotFittedError, PoseDataError

LAG = 3  # the label of frame t is the sign of feature 0 at frame t - LAG


def tiny(**kw) -> TemporalConvClassifier:
    options = dict(window=9, hidden=8, n_layers=2, n_steps=150, batch_size=4, learning_rate=1e-2)
    options.update(random_state=0, progress=False)
    options.update(kw)
    return TemporalConvClassifier(**options)


def lagged_problem(n_segments: int = 4, length: int = 400, seed: int = 0):
    """Features (n, 4), labels (n,) and segment ids: y[t] = x0[t - LAG] > 0 within a segment."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_segments * length, 4)).astype(np.float32)
    y = np.empty(len(X), np.int64)
    segments = np.repeat(np.arange(n_segments), length)
    for s in range(n_segments):
        rows = np.flatnonzero(segments == s)
        x0 = X[rows, 0]
        y[rows] = np.r_[np.zeros(LAG, bool), x0[:-LAG] > 0]
        y[rows[:LAG]] = -1  # no frame before the segment: label unknown
    return X, y, segments


@pytest.fixture(scope="module")
def fitted():
    X, y, segments = lagged_problem()
    return tiny().fit(X, y, segments=segments)


def test_learns_context_that_a_per_frame_model_cannot(fitted):
    X, y, segments = lagged_problem(n_segments=2, seed=1)
    known = y != -1
    accuracy = np.mean(fitted.predict(X, segments=segments)[known] == y[known])
    Xt, yt, _ = lagged_problem()
    per_frame = LogisticRegression().fit(Xt[yt != -1], yt[yt != -1])
    per_frame_accuracy = np.mean(per_frame.predict(X[known]) == y[known])
    assert accuracy > 0.9
    assert per_frame_accuracy < 0.6
    assert fitted.receptive_field_ >= 9 and fitted.receptive_field_ % 2 == 1


def test_changing_one_segment_leaves_the_others_predictions_unchanged(fitted):
    X, _, segments = lagged_problem(n_segments=3, length=300, seed=2)
    before = fitted.predict_proba(X, segments=segments)
    changed = X.copy()
    changed[segments == 1] = np.random.default_rng(3).normal(size=changed[segments == 1].shape) * 5
    after = fitted.predict_proba(changed, segments=segments)
    np.testing.assert_array_equal(after[segments != 1], before[segments != 1])
    assert not np.allclose(after[segments == 1], before[segments == 1])


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lengths=st.lists(st.integers(1, 200), min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_a_segment_is_predicted_as_if_alone(fitted, lengths, seed):
    X = np.random.default_rng(seed).normal(size=(sum(lengths), 4)).astype(np.float32)
    segments = np.repeat(np.arange(len(lengths)), lengths)
    together = fitted.predict_proba(X, segments=segments)
    assert together.shape == (len(X), 2)
    np.testing.assert_allclose(together.sum(axis=1), 1, atol=1e-5)
    for s in range(len(lengths)):
        alone = fitted.predict_proba(X[segments == s])
        np.testing.assert_allclose(together[segments == s], alone, atol=1e-5)


def test_unknown_rows_are_not_trained_on():
    X, y, segments = lagged_problem(n_segments=2, length=300)
    unknown = np.zeros(len(y), bool)
    unknown[100:250] = True
    y_unknown = np.where(unknown, -1, y)
    # the same rows with the wrong label and weight 0, or with -1: the same fit
    y_wrong = np.where(unknown | (y == -1), 1 - np.maximum(y, 0), y)
    weight = np.where(unknown | (y == -1), 0.0, 1.0)
    a = tiny(n_steps=40).fit(X, y_unknown, segments=segments)
    b = tiny(n_steps=40).fit(X, y_wrong, segments=segments, sample_weight=weight)
    for name in a.params_:
        np.testing.assert_array_equal(a.params_[name], b.params_[name])
    # and they are context: they still get predictions
    assert a.predict_proba(X, segments=segments)[unknown].shape == (unknown.sum(), 2)


def test_same_random_state_same_model():
    X, y, segments = lagged_problem(n_segments=2, length=300)
    a = tiny(n_steps=30).fit(X, y, segments=segments)
    b = tiny(n_steps=30).fit(X, y, segments=segments)
    c = tiny(n_steps=30, random_state=1).fit(X, y, segments=segments)
    for name in a.params_:
        np.testing.assert_array_equal(a.params_[name], b.params_[name])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.params_["input_w"], c.params_["input_w"])


def test_fitted_attributes_are_numpy_and_labels_are_kept():
    X, y, segments = lagged_problem(n_segments=2, length=300)
    labels = np.where(y == -1, -1, np.where(y == 1, 7, 2))
    clf = tiny(n_steps=10).fit(X, labels, segments=segments)
    np.testing.assert_array_equal(clf.classes_, [2, 7])
    assert set(np.unique(clf.predict(X))) <= {2, 7}
    assert clf.n_features_in_ == 4
    assert clf.params_
    assert all(type(v) is np.ndarray and v.dtype == np.float32 for v in clf.params_.values())
    for name, value in vars(clf).items():
        if name.endswith("_"):
            assert type(value).__module__.split(".")[0] in ("numpy", "builtins"), name


def test_nan_features_are_standardised_then_zero_with_an_indicator():
    X, y, segments = lagged_problem(n_segments=2, length=300)
    X = X[:, :3].copy()  # 3 features + 1 indicator: the shapes compiled by _warm_up
    X[::7, 2] = np.nan
    clf = tiny(n_steps=10).fit(X, y, segments=segments)
    np.testing.assert_array_equal(clf.missing_columns_, [2])
    assert clf.params_["input_w"].shape == (4, 8)
    np.testing.assert_allclose(clf.mean_[2], np.nanmean(X[:, 2]), rtol=1e-5)
    np.testing.assert_allclose(clf.scale_[2], np.nanstd(X[:, 2]), rtol=1e-5)
    X[:50] = np.nan
    assert np.all(np.isfinite(clf.predict_proba(X, segments=segments)))
    four = np.c_[X, X[:, :1]]
    plain = tiny(n_steps=10, missing_indicator=False).fit(four, y, segments=segments)
    assert len(plain.missing_columns_) == 0 and plain.params_["input_w"].shape == (4, 8)
    assert np.all(np.isfinite(plain.predict_proba(four, segments=segments)))


@pytest.mark.parametrize(
    ("change", "argument"),
    [
        (lambda X, y, s: (X[:, 0], y, s), "X"),
        (lambda X, y, s: (np.where(X > 2, np.inf, X), y, s), "X"),
        (lambda X, y, s: (X, y[:-1], s), "y"),
        (lambda X, y, s: (X, y + 0.5, s), "y"),
        (lambda X, y, s: (X, np.full_like(y, 1), s), "y"),
        (lambda X, y, s: (X, y, s[:-1]), "segments"),
        (lambda X, y, s: (X, y, np.where(np.arange(len(s)) < 50, 1, s)), "segments"),
    ],
)
def test_bad_arrays_are_refused_by_name(change, argument):
    X, y, segments = lagged_problem(n_segments=2, length=100)
    X, y, segments = change(X, y, segments)
    with pytest.raises(PoseDataError, match=f"^{argument}:"):
        tiny(n_steps=1).fit(X, y, segments=segments)


def test_bad_sample_weight_and_predict_input_are_refused_by_name():
    X, y, segments = lagged_problem(n_segments=2, length=100)
    with pytest.raises(PoseDataError, match="^sample_weight:"):
        tiny(n_steps=1).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(NotFittedError):
        tiny().predict(X)
    clf = tiny(n_steps=1).fit(X, y, segments=segments)
    with pytest.raises(PoseDataError, match="^X: expected 4 feature columns"):
        clf.predict(X[:, :3])


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("window", 0),
        ("hidden", 2.5),
        ("n_layers", True),
        ("n_steps", -1),
        ("dropout", 1.0),
        ("learning_rate", 0),
        ("weight_decay", -1e-3),
        ("class_weight", "auto"),
        ("missing_indicator", "yes"),
        ("random_state", "seed"),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(argument, value):
    X, y, _ = lagged_problem(n_segments=1, length=100)
    with pytest.raises(PoseDataError, match=f"^{argument}: expected"):
        tiny(**{argument: value}).fit(X, y)


def test_scikit_learn_api_checks():
    name = "TemporalConvClassifier"
    check_parameters_default_constructible(name, TemporalConvClassifier())
    check_no_attributes_set_in_init(name, TemporalConvClassifier())
    check_get_params_invariance(name, TemporalConvClassifier())
    check_set_params(name, TemporalConvClassifier())
    check_estimator_repr(name, TemporalConvClassifier())
    assert clone(tiny(hidden=16)).get_params()["hidden"] == 16
