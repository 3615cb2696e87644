"""Supervised behavior classifiers on pose features, with evaluation that does not leak.

A :class:`BehaviorClassifier` learns per-frame behavior from pose features and
human labels, and labels new sessions:

>>> clf = BehaviorClassifier(threshold="f1", min_bout="0.5 s", random_state=0)  # doctest: +SKIP
>>> clf.fit([ds1, ds2, ds3], ["s1.boris.csv", eth2, eth3])  # doctest: +SKIP
>>> eth = clf.predict(ds4)  # an Ethogram  # doctest: +SKIP

The package has three rooms:

- :mod:`behavior.classify.model`: the estimator (:class:`BehaviorClassifier`,
  scikit-learn's contract with sessions in place of arrays) and
  :func:`postprocess`; saved models are one ``.skops`` file each
  (:mod:`behavior.classify.persistence`, never pickle).
- :mod:`behavior.classify.temporal`: :class:`TemporalConvClassifier`, a small
  temporal convolutional network in JAX (a plain-array scikit-learn classifier
  over frames in time order, one of the model options).
- :mod:`behavior.classify.evaluation`: grouped cross-validation
  (:func:`cross_validate`, :class:`CVResult`, :func:`grouped_splits`),
  threshold selection (:func:`select_threshold`), :func:`learning_curve` and
  :func:`permutation_importance`.
- :mod:`behavior.classify.active`: active learning, :func:`suggest_frames`
  (the bouts a fitted model should be taught next).

All build on :mod:`behavior.classify._common`, which turns sessions into rows
and fits, applies and tunes the models on them.
"""

from __future__ import annotations

from behavior.classify.active import suggest_frames
from behavior.classify.evaluation import (
    CVResult,
    cross_validate,
    grouped_splits,
    learning_curve,
    permutation_importance,
    select_threshold,
)
from behavior.classify.model import BehaviorClassifier, postprocess
from behavior.classify.temporal import TemporalConvClassifier

__all__ = [
    "BehaviorClassifier",
    "CVResult",
    "TemporalConvClassifier",
    "cross_validate",
    "grouped_splits",
    "learning_curve",
    "permutation_importance",
    "postprocess",
    "select_threshold",
    "suggest_frames",
]
