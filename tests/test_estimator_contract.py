"""The estimators of ``behavior.syllables`` and ``behavior.embedding`` keep scikit-learn's contract.

scikit-learn's own checks (:func:`sklearn.utils.estimator_checks.parametrize_with_checks`)
run on the estimators that take arrays; the checks that cannot hold for sequence
models are listed below with the reason. The estimators that take pose sessions
(``Preprocessor``, ``KeypointSLDS``) declare ``input_tags.two_d_array=False``, so
scikit-learn runs none of its array checks on them; its data-free API checks run
here, and the rest of the contract (fit returns self, ``y`` ignored, keyword fit
params, ``NotFittedError``, ``fit_predict == predict``, ``Pipeline`` and
``GridSearchCV`` with ``GroupKFold``) is tested on pose sessions for every estimator.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)

import behavior as bh
from behavior.embedding import BehaviorMap
from behavior.errors import NotFittedError
from behavior.syllables import ARHMM, GaussianHMM, KeypointSLDS, Preprocessor


def hmm() -> GaussianHMM:
    return GaussianHMM(n_states=2, n_iter=3, random_state=0, progress=False)


def arhmm() -> ARHMM:
    # K = 20, one lag, 2-D: the shapes compiled by arhmm._warm_up
    return ARHMM(n_states=20, n_lags=1, n_iter=2, random_state=0, progress=False)


def bmap() -> BehaviorMap:
    return BehaviorMap(
        embedding="pca",
        clustering="kmeans",
        n_clusters=2,
        n_components=None,
        random_state=0,
        progress=False,
    )


def pre() -> Preprocessor:
    return Preprocessor(n_components=3)


def slds() -> KeypointSLDS:
    return KeypointSLDS(
        ARHMM(n_states=8, n_lags=1, n_iter=2, random_state=0, progress=False),
        Preprocessor(n_components=2),
        n_iter=1,
        apply_iter=2,
        random_state=0,
        progress=False,
    )


FACTORIES = {
    "GaussianHMM": hmm,
    "ARHMM": arhmm,
    "KeypointSLDS": slds,
    "Preprocessor": pre,
    "BehaviorMap": bmap,
}

# ---- scikit-learn's checks ------------------------------------------------------------

_SEQUENCE = (
    "rows are the frames of one sequence: a frame's state depends on its neighbours, "
    "so a subset or reordering of the rows is another sequence"
)
_ONE_D = "a 1-D array is one sequence of a single latent dimension (one channel), by design"
_LIST = (
    "predict returns one label array per sequence (a list), as fit takes several sequences at once"
)
_ETHOGRAM = "predict returns an Ethogram (the library's type for labels), not an array"

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "GaussianHMM": {
        "check_methods_sample_order_invariance": f"{_SEQUENCE}; {_LIST}",
        "check_methods_subset_invariance": _SEQUENCE,
        "check_fit1d": _ONE_D,
        "check_fit2d_predict1d": _ONE_D,
    },
    "ARHMM": {
        "check_methods_sample_order_invariance": f"{_SEQUENCE}; {_LIST}",
        "check_methods_subset_invariance": _SEQUENCE,
        "check_fit2d_predict1d": "a list of 1-D arrays would be read as one sequence of rows",
    },
    "BehaviorMap": {
        "check_estimators_pickle": _ETHOGRAM,
        "check_fit_idempotent": _ETHOGRAM,
        "check_methods_sample_order_invariance": f"{_SEQUENCE} (bins, wavelets); {_ETHOGRAM}",
        "check_methods_subset_invariance": f"{_SEQUENCE} (bins, wavelets)",
        "check_transformer_data_not_an_array": (
            "inputs are arrays, DataArrays, Datasets, Latents or files: an array-like "
            "stand-in is refused with a message naming the accepted kinds"
        ),
        "check_fit1d": _ONE_D,
        "check_fit2d_predict1d": _ONE_D,
    },
}
"""Checks of scikit-learn that cannot pass, with the reason (estimator -> check -> reason)."""


def _expected(estimator: BaseEstimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks([hmm(), bmap()], expected_failed_checks=_expected)
def test_scikit_learn_checks(estimator, check):
    check(estimator)


@pytest.mark.slow  # each input width of the checks compiles the JAX kernels anew (~100 s)
@parametrize_with_checks([arhmm()], expected_failed_checks=_expected)
def test_scikit_learn_checks_arhmm(estimator, check):
    check(estimator)


SESSION_INPUT = {
    "Preprocessor": "takes pose Datasets (one, a list or a dict), not a 2-D array",
    "KeypointSLDS": "takes pose Datasets (one, a list or a dict), not a 2-D array",
}
"""Estimators on which scikit-learn runs none of its array checks, and why."""

_DATA_FREE_CHECKS = (
    check_estimator_cloneable,
    check_estimator_repr,
    check_no_attributes_set_in_init,
    check_do_not_raise_errors_in_init_or_set_params,
    check_mixin_order,
    check_get_params_invariance,
    check_set_params,
    check_parameters_default_constructible,
    check_estimator_tags_renamed,
    check_valid_tag_types,
)


@pytest.mark.parametrize("name", sorted(SESSION_INPUT))
def test_session_estimators_declare_their_input_and_pass_the_api_checks(name):
    estimator = FACTORIES[name]()
    assert get_tags(estimator).input_tags.two_d_array is False, SESSION_INPUT[name]
    for check in _DATA_FREE_CHECKS:
        check(name, clone(estimator))


# ---- the contract on the library's own inputs ------------------------------------------


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_constructor_holds_hyperparameters_only(name):
    cls = type(FACTORIES[name]())
    params = inspect.signature(cls.__init__).parameters
    assert issubclass(cls, BaseEstimator)
    assert params["random_state"].default is None if "random_state" in params else True
    assert "progress" in params
    default = cls()
    assert set(default.get_params()) == set(params) - {"self"}
    for method in ("fit", "score"):
        sig = list(inspect.signature(getattr(cls, method)).parameters.values())
        assert sig[2].name == "y" and sig[2].default is None, f"{method}(X, y=None)"


@pytest.fixture(scope="module")
def sessions():
    """Four short simulated sessions of one mouse (a different seed each)."""
    return [bh.simulate.session(kind="single", duration="10 s", seed=s)[0] for s in range(4)]


@pytest.fixture(scope="module")
def latents(sessions):
    return Preprocessor(n_components=2).fit(sessions).transform(sessions)


@pytest.fixture(scope="module")
def walks():
    """Six 2-D random walks of 600 frames (the shapes the AR-HMM warm-up compiles)."""
    rng = np.random.default_rng(0)
    return [np.cumsum(rng.normal(size=(600, 2)), axis=0) * 0.05 for _ in range(6)]


def _inputs(name, sessions, latents, walks):
    if name in ("Preprocessor", "KeypointSLDS"):
        return sessions[:1]
    if name == "ARHMM":
        return walks[:3]
    return latents


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_unfitted_raises_not_fitted_error(name, sessions, latents, walks):
    estimator = FACTORIES[name]()
    X = _inputs(name, sessions, latents, walks)
    for method in ("predict", "transform", "score"):
        if hasattr(estimator, method):
            with pytest.raises(NotFittedError, match="not fitted"):
                getattr(estimator, method)(X)
    assert issubclass(NotFittedError, SklearnNotFittedError)


def _same(a, b) -> None:
    if isinstance(a, dict):  # one result per session
        assert list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, z in zip(a, b):
            np.testing.assert_array_equal(x, z)
    else:  # an Ethogram
        np.testing.assert_array_equal(a.labels.values, b.labels.values)


@pytest.mark.parametrize("name", ["ARHMM", "BehaviorMap", "GaussianHMM", "KeypointSLDS"])
def test_fit_predict_is_predict_after_fit(name, sessions, latents, walks):
    X = _inputs(name, sessions, latents, walks)
    one = FACTORIES[name]().fit_predict(X)
    other = FACTORIES[name]().fit(X).predict(X)
    assert type(one) is type(other)
    _same(one, other)


@pytest.mark.parametrize("name", ["ARHMM", "GaussianHMM"])
def test_masks_are_keyword_fit_params(name, walks):
    xs = walks[:3]
    masks = [np.ones(len(x), bool) for x in xs]
    masks[0][100:150] = False
    model = FACTORIES[name]()
    assert model.fit(xs, None, mask=masks) is model  # y stays scikit-learn's y
    with_mask = model.score(xs, mask=masks)
    assert np.isfinite(with_mask) and with_mask != model.score(xs)
    assert model.predict(xs, mask=masks)[0].shape == (len(xs[0]),)


def _grid(name):
    """A Pipeline of the estimator (after a Preprocessor when it takes latents) and a grid."""
    if name == "Preprocessor":
        return Pipeline([("pre", pre())]), {"pre__n_components": [2, 4]}
    if name == "KeypointSLDS":
        return Pipeline([("slds", slds())]), {"slds__outlier_df": [3.0, 5.0]}
    if name == "ARHMM":  # on latent arrays: the shapes the warm-up compiled
        return Pipeline([("model", arhmm())]), {"model__kappa": [10.0, 1000.0]}
    steps = [("pre", Preprocessor(n_components=2)), ("model", FACTORIES[name]())]
    grid = {
        "GaussianHMM": {"model__n_states": [2, 3]},
        "BehaviorMap": {"model__n_clusters": [2, 3]},
    }[name]
    return Pipeline(steps), grid


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_pipeline_and_grid_search_with_group_k_fold(name, sessions, walks):
    pipe, grid = _grid(name)
    X = walks if name == "ARHMM" else sessions
    groups = np.arange(len(X)) * 2 // len(X)  # two groups of sessions
    y = np.zeros(len(X))  # what a Pipeline passes on: ignored by every step
    fitted = clone(pipe).fit(X, y)
    score = fitted.score(X)
    assert isinstance(score, float) and np.isfinite(score)
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=2), error_score="raise")
    search.fit(X, groups=groups)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_.keys() == grid.keys()
