"""BehaviorClassifier keeps scikit-learn's estimator contract, with sessions in place of arrays.

scikit-learn's ``check_estimator`` runs on it: the API checks that apply pass; the
checks that fit on plain 2-D arrays cannot apply (the classifier's inputs are
sessions: pose Datasets, feature DataArrays (time, feature, individual) or files,
and its labels are Ethograms) and are declared below with that reason. What those
checks verify is tested here again on sessions: fit returns self and leaves the
hyperparameters alone, fitting twice with a seed gives the same model, pickling in
memory, ``n_features_in_``, ``check_is_fitted``, the ``(X, y)`` signatures.
"""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from behavior.classify import BehaviorClassifier
from behavior.errors import NotFittedError, PoseDataError
from behavior.ethogram import agreement
from tests.test_classify import synthetic

FAST = {
    "model": "forest",
    "multiclass": False,
    "threshold": 0.5,
    "min_bout": None,
    "merge_gap": None,
    "n_estimators": 5,
    "random_state": 0,
    "progress": False,
}

_ARRAYS = "inputs are sessions (xarray objects or files) and Ethograms, not 2-D arrays"
EXPECTED_FAILED_CHECKS = {
    name: _ARRAYS
    for name in (
        "check_complex_data",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimators_dtypes",
        "check_estimators_empty_data_messages",
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_positive_only_tag_during_fit",
        "check_readonly_memmap_input",
    )
}
EXPECTED_FAILED_CHECKS |= {
    name: "inputs are sessions, not (sparse) matrices: a sparse matrix is refused with a "
    "message about sessions, not about sparsity"
    for name in (
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
    )
}


@parametrize_with_checks(
    [BehaviorClassifier(**FAST)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
    xfail_strict=True,
)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def data():
    pairs = [synthetic(seed, n=600) for seed in range(4)]
    return [f for f, _ in pairs], [e for _, e in pairs]


def test_defaults_follow_sklearn():
    params = BehaviorClassifier().get_params()
    assert params["random_state"] is None and params["progress"] is True
    for method in ("fit", "score", "fit_predict"):
        names = list(inspect.signature(getattr(BehaviorClassifier, method)).parameters)
        assert names[1:3] == ["X", "y"], method


def test_fit_returns_self_keeps_params_and_repeats_with_a_seed(data):
    feats, labels = data
    clf = BehaviorClassifier(**FAST)
    before = clf.get_params()
    assert clf.fit(feats[:2], labels[:2]) is clf
    assert clf.get_params() == before
    assert clf.n_features_in_ == 3 == len(clf.feature_names_)
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    first = clf.predict_proba(feats[3]).values
    again = clf.fit(feats[:2], labels[:2]).predict_proba(feats[3]).values
    np.testing.assert_array_equal(first, again)
    copy = pickle.loads(pickle.dumps(clf))  # in memory; files never hold pickles
    np.testing.assert_array_equal(copy.predict_proba(feats[3]).values, first)


def test_unfitted_use_raises_not_fitted_error(data, tmp_path):
    import sklearn.exceptions

    feats, labels = data
    clf = BehaviorClassifier(**FAST)
    for call in (
        lambda: clf.predict(feats[0]),
        lambda: clf.predict_proba(feats[0]),
        lambda: clf.score(feats[:1], labels[:1]),
        lambda: clf.feature_importance(),
        lambda: clf.save(tmp_path / "model.skops"),
    ):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
    assert issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
    assert not (tmp_path / "model.skops").exists()


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n_estimators": 0}, "n_estimators"),
        ({"n_estimators": 2.5}, "n_estimators"),
        ({"model": "xgboost"}, "model"),
        ({"multiclass": "yes"}, "multiclass"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"max_rows": 0}, "max_rows"),
        ({"smoothing": "crf"}, "smoothing"),
        ({"unscored": 3}, "unscored"),
        ({"class_weight": "even"}, "class_weight"),
        ({"min_samples_leaf": 0}, "min_samples_leaf"),
        ({"max_samples": 1.5}, "max_samples"),
        ({"max_depth": 0}, "max_depth"),
        ({"threshold": 2.0}, "threshold"),
        ({"threshold": "best"}, "threshold"),
        ({"threshold_cv": 1}, "threshold_cv"),
        ({"negative_ratio": -1}, "negative_ratio"),
        ({"min_bout": -1.0}, "min_bout"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"random_state": -3}, "random_state"),
        ({"progress": "yes"}, "progress"),
    ],
)
def test_bad_hyperparameters_fail_when_fit_starts(params, name):
    # the sessions would fail too (no such file): the parameter is checked first
    clf = BehaviorClassifier(**{**FAST, **params})
    with pytest.raises(PoseDataError, match=f"^{name}: expected"):
        clf.fit(["no_such_file.h5"], ["no_such_labels.csv"])


def test_fit_takes_progress_only_in_the_constructor(data):
    feats, labels = data
    with pytest.raises(TypeError, match="constructor"):
        BehaviorClassifier(**FAST).fit(feats[:1], labels[:1], progress=False)
    with pytest.raises(PoseDataError, match="requires y"):
        BehaviorClassifier(**FAST).fit(feats[:1])


def test_fit_predict_returns_exactly_what_predict_returns(data):
    feats, labels = data
    clf = BehaviorClassifier(**{**FAST, "min_bout": "auto"})
    out = clf.fit_predict(feats[:2], labels[:2])
    again = clf.predict(feats[:2])
    assert isinstance(out, list) and len(out) == 2
    assert all(a == b for a, b in zip(out, again, strict=True))


def test_score_is_the_mean_frame_f1_of_predict(data):
    feats, labels = data
    clf = BehaviorClassifier(**FAST).fit(feats[:3], labels[:3])
    table = agreement(labels[3], clf.predict(feats[3]))
    assert clf.score([feats[3]], [labels[3]]) == pytest.approx(float(table["frame_f1"].iloc[0]))


def test_grid_search_with_one_group_per_session(data):
    from sklearn.model_selection import GridSearchCV, GroupKFold

    feats, labels = data
    search = GridSearchCV(
        BehaviorClassifier(**FAST),
        {"min_samples_leaf": [1, 50], "threshold": [0.3, 0.5]},
        cv=GroupKFold(n_splits=2),
    )
    search.fit(feats, labels, groups=np.arange(len(feats)))
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (4,) and np.isfinite(scores).all()
    assert ((scores > 0.5) & (scores <= 1)).all()
    assert search.best_estimator_.predict(feats[0]).behaviors == ["groom"]
    assert search.score(feats[:1], labels[:1]) == search.best_estimator_.score(
        feats[:1], labels[:1]
    )
