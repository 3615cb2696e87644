"""Behavioral syllables: HMM and AR-HMM models of pose dynamics.

Pose sessions become latent trajectories (:class:`Preprocessor`: egocentric
alignment, imputation of missing keypoints, PCA), a model cuts them into
syllables (:class:`GaussianHMM` on hmmlearn, the JAX :class:`ARHMM`, or the
:class:`KeypointSLDS`, which infers the poses under a keypoint noise model), and
:class:`Syllables` holds the result: labels relabelled by frequency, usage,
durations, transitions, average pose trajectories, an ethogram, files.

:func:`fit` does all three in one call::

    syl = bh.syllables.fit([ds1, ds2], model="arhmm", target_duration="0.4 s")
    syl.usage(); syl.transition_matrix(); syl.to_ethogram("ds1")

Importing this package is cheap: the submodules (and JAX, hmmlearn,
scikit-learn behind them) load on first use of a name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from behavior._lazy import lazy_package

__all__ = [
    "ARHMM",
    "GaussianHMM",
    "KeypointSLDS",
    "Latents",
    "Preprocessor",
    "Syllables",
    "arhmm",
    "fit",
    "held_out_rate",
    "hmm",
    "preprocess",
    "results",
    "slds",
]

logger = logging.getLogger(__name__)

_SUBMODULES = {"arhmm", "hmm", "preprocess", "results", "slds"}
_LAZY_ATTRS = {
    "ARHMM": "behavior.syllables.arhmm",
    "GaussianHMM": "behavior.syllables.hmm",
    "KeypointSLDS": "behavior.syllables.slds",
    "Latents": "behavior.syllables.preprocess",
    "Preprocessor": "behavior.syllables.preprocess",
    "Syllables": "behavior.syllables.results",
    "held_out_rate": "behavior.syllables.results",
}

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from behavior.syllables import arhmm, hmm, preprocess, results, slds
    from behavior.syllables.arhmm import ARHMM
    from behavior.syllables.hmm import GaussianHMM
    from behavior.syllables.preprocess import Latents, Preprocessor
    from behavior.syllables.results import Syllables, held_out_rate
    from behavior.syllables.slds import KeypointSLDS


__getattr__, __dir__ = lazy_package(__name__, _SUBMODULES, _LAZY_ATTRS, __all__)


_MODELS = ("arhmm", "hmm", "slds")
_DEFAULT_STATES = {"arhmm": 100, "hmm": 20, "slds": 100}


def fit(
    sessions: xr.Dataset | list[xr.Dataset] | Mapping[str, xr.Dataset],
    model: str | Any = "slds",
    n_states: int | None = None,
    preprocess: Preprocessor | Mapping[str, Any] | None = None,
    target_duration: float | str | None = None,
    random_state: int | None = 0,
    progress: bool = True,
    **model_options: Any,
) -> Syllables:
    """Find behavioral syllables in pose sessions: preprocess, fit a model, label frames.

    Parameters
    ----------
    sessions
        A pose dataset, a list of them, or a dict ``{session name: dataset}``;
        every individual of every session is one sequence. Sessions need a
        frame rate (``attrs["fps"]``) and the same keypoints.
    model
        ``"slds"`` (the default: the sticky HDP AR-HMM on poses inferred under a
        keypoint noise model, :class:`~behavior.syllables.slds.KeypointSLDS`),
        ``"arhmm"`` (that AR-HMM in JAX on the PCA of the keypoints themselves,
        :class:`~behavior.syllables.arhmm.ARHMM`; faster: 7.8 s against 20.2 s
        per fit of the BehaviorDEPOT session in ``benchmarks/bench_syllables_real.py``,
        371 s against 1,847 s over the family's seed 1), ``"hmm"``
        (:class:`~behavior.syllables.hmm.GaussianHMM`), or an unfitted model
        with the same ``fit(X)`` / ``predict(X)`` contract (or a
        :class:`~behavior.syllables.slds.KeypointSLDS`). The SLDS is the
        default because it found the states best where the truth is known
        (``benchmarks/bench_syllables_family.py``, 12 random keypoint-moseq-like
        models: median ARI about 0.9 against 0.69 for ``"arhmm"``) and found freezing
        as well on real tracking (``benchmarks/bench_syllables_real.py``:
        held-out AUC 0.84 for both over 8 seeds), and the rat pairs' aggression
        in rat_social_dev a little better (AUC 0.683 against 0.672, k-means
        0.598). ``"arhmm"``'s seeds agree better on the 60 fps B-SOiD clip and
        the DLC session (``benchmarks/bench_syllables_stability.py``: ARI between
        seeds 0.59 against 0.51 and 0.70 against 0.64).
    n_states
        Number of states: an upper bound for the AR-HMM and the SLDS (default
        100; unused states are dropped), the number used by the HMM (default 20).
    preprocess
        A :class:`~behavior.syllables.preprocess.Preprocessor` (fitted ones are
        used as they are), or its parameters as a dict (default
        ``Preprocessor()``: 90 % of the variance, body-axis frames; for
        ``"slds"`` (the default model) 99 %, whose noise model drops the tracking
        noise instead of the PCA, and ``alignment="procrustes"``, the frame its heading is
        inferred in).
    target_duration
        Calibrate the stickiness (``model.fit_kappa``) so that the median
        syllable lasts this long (seconds or text, ``"0.4 s"``) before fitting.
    random_state
        Seed of the model. This function keeps 0 by default, so that the same call
        gives the same syllables (the estimators themselves default to None, as
        scikit-learn's do); pass None for a fresh seed.
    progress
        Progress bars.
    **model_options
        Passed to the model (``n_iter=..., kappa=..., n_lags=...``; for the AR-HMM
        also ``n_restarts`` and ``merge_after_fit``, on by default: copies of one
        state are merged after the fit while held-out likelihood does not fall,
        recorded in ``syl.model.merges_``). For
        ``"slds"`` they go to its AR-HMM, except ``slds_iter`` (iterations of the
        full model, default 100) and the other
        :class:`~behavior.syllables.slds.KeypointSLDS` parameters
        (``denoise_iter``, ``stage_merge_tolerance``, ``evidence_merge_tolerance``,
        ``stage_seconds``, ``outlier_df``, ``confidence_power``, ``apply_iter``).

    Returns
    -------
    Syllables
        Labels relabelled by frequency, with the latents, preprocessor and
        model (``attrs["model"]`` names the model class).

    Raises
    ------
    PoseDataError
        For an unknown model name, or bad sessions (see the preprocessor).

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(kind="single", duration="30 s", seed=0)
    >>> syl = fit(ds, model="hmm", n_states=4, n_iter=10, progress=False)
    >>> syl.labels["session_0"].dims
    ('time', 'individual')
    """
    from behavior.errors import PoseDataError
    from behavior.syllables.preprocess import Preprocessor
    from behavior.syllables.results import Syllables
    from behavior.syllables.slds import DEFAULT_PREPROCESSING, KeypointSLDS

    slds = isinstance(model, KeypointSLDS) or (isinstance(model, str) and model == "slds")
    if isinstance(preprocess, Preprocessor):
        pre = preprocess
    elif preprocess is None and isinstance(model, KeypointSLDS) and model.preprocessor is not None:
        pre = model.preprocessor
    elif preprocess is None or isinstance(preprocess, Mapping):
        defaults = dict(DEFAULT_PREPROCESSING) if slds else {}
        pre = Preprocessor(**{**defaults, **dict(preprocess or {})})
    else:
        raise PoseDataError(
            f"preprocess: expected a Preprocessor or a dict of its parameters, found "
            f"{type(preprocess).__name__}"
        )
    if not hasattr(pre, "components_"):
        pre.fit(sessions)
    # the SLDS reads the keypoints itself: latents only to calibrate kappa
    latents = None if slds and target_duration is None else pre.transform(sessions)

    if isinstance(model, str):
        if model not in _MODELS:
            raise PoseDataError(
                f"model: expected one of {list(_MODELS)} or a model, found {model!r}"
            )
        options = {
            "n_states": _DEFAULT_STATES[model] if n_states is None else n_states,
            "random_state": random_state,
            "progress": progress,
            **model_options,
        }
        if model == "arhmm":
            from behavior.syllables.arhmm import ARHMM

            estimator = ARHMM(**options)
        elif model == "slds":
            estimator = _slds_from_options(options, pre)
        else:
            from behavior.syllables.hmm import GaussianHMM

            estimator = GaussianHMM(**options)
    elif hasattr(model, "fit") and hasattr(model, "predict"):
        estimator = model
        if n_states is not None or model_options:
            estimator.set_params(
                **({"n_states": n_states} if n_states is not None else {}), **model_options
            )
    else:
        raise PoseDataError(
            f"model: expected one of {list(_MODELS)} or an object with fit and predict, found "
            f"{type(model).__name__}"
        )
    if slds:
        estimator.set_params(preprocessor=pre)
    calibrated = estimator.arhmm if slds else estimator
    if target_duration is not None:
        if calibrated is None or not hasattr(calibrated, "fit_kappa"):
            raise PoseDataError(
                f"target_duration: {type(estimator).__name__} has no fit_kappa to calibrate "
                "the syllable duration"
            )
        calibrated.fit_kappa(latents, target_duration=target_duration, fps=latents.fps)
    if slds:
        estimator.fit(sessions)
        labels, latents = estimator.labels_, estimator.latents_
    else:
        estimator.fit(latents)
        labels = estimator.predict(latents)
    return Syllables(
        labels,
        latents,
        model=estimator,
        preprocessor=pre,
        attrs={
            "model": type(estimator).__name__,
            "target_duration": None if target_duration is None else str(target_duration),
        },
    )


def _slds_from_options(options: dict[str, Any], pre: Preprocessor) -> Any:
    """A KeypointSLDS from ``fit``'s options: its own parameters, the rest for the AR-HMM."""
    from behavior.syllables.arhmm import ARHMM
    from behavior.syllables.slds import KeypointSLDS

    own = {
        "outlier_df",
        "confidence_power",
        "apply_iter",
        "stage_merge_tolerance",
        "evidence_merge_tolerance",
        "denoise_iter",
        "stage_seconds",
    }
    slds_options = {k: options.pop(k) for k in list(options) if k in own}
    if "slds_iter" in options:
        slds_options["n_iter"] = options.pop("slds_iter")
    return KeypointSLDS(
        ARHMM(**options),
        pre,
        random_state=options.get("random_state", 0),
        progress=options.get("progress", True),
        **slds_options,
    )
