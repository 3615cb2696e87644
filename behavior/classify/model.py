"""The supervised model: :class:`BehaviorClassifier` and its post-processing.

A :class:`BehaviorClassifier` learns per-frame behavior from pose features and
human labels, and labels new sessions (an :class:`~behavior.ethogram.Ethogram`
each). Sessions are pose datasets (features computed with
:func:`behavior.features.extract` and the classifier's ``feature_options``;
by default the animal's pose and movement, the ``dyad`` geometry of the pair
and tracking quality, summarised over windows of 0.5 to 8 s) or precomputed
feature arrays ``(time, feature, individual)`` (:meth:`BehaviorClassifier.features`). Labels are
Ethograms, per-frame label arrays, or annotation files (BORIS, BENTO, per-frame
CSV ... read with :func:`behavior.io.annotations.load_annotations` at the
session's frame rate).

Rows
----
Every frame of every individual is one row: its features (social features
are taken against the other animals, so they carry no names) and its labels.
With exclusive labels (an annotator's stream: one behavior per frame)
``multiclass="auto"`` fits one model over the behaviors plus ``"none"``;
overlapping labels get one binary model per behavior.

Labels are matched to a session's frames by index (frame 0 is the first pose
frame) and to its individuals by name (a single labelled animal matches a single
tracked one). Labels may run up to 1 % of the session past the poses (trackers
drop a video's last frames; those labels go unused, with a warning); labels
running further are refused.

Labels for a pair
-----------------
One label stream for a session of two (or more) animals is the pair's: the
session's labels, not one animal's. Each animal's row is then one *view* of the
pair (its own features and the other's relative to it) and trains on the
pair's label; the pair's probability is the mean of the views, and predictions
have one individual, ``"pair"`` (``attrs["pair"]`` names the animals). Nothing
pretends that each animal has a label of its own.

Frames nobody scored
--------------------
Annotation tools tile the whole video: a background label (``"base"`` in
Caltech files) also covers frames before and after the scored window.
``unscored="base"`` makes the frames carrying it unlabelled.

Smoothing
---------
With one model over exclusive classes, ``smoothing="auto"`` decodes each run
of frames by Viterbi: the classes' transition matrix is learned from the
training labels, and the frames' class probabilities, divided by the square
root of the class prior, are the emissions (see
:data:`behavior.classify._common.PRIOR_POWER`). Rare classes (aggression) get
through, one-frame flickers do not.

Missing data, explicitly
------------------------
- *Unlabelled frames* are never trained on and never scored: frames after the
  end of an annotation that stops before the session does, NaN in a float
  label array, and individuals that have no labels. A behavior absent from the
  labels of a session that has labels counts as *not shown* there (annotation
  tools export only the behaviors they saw).
- *Untracked frames* (every feature NaN) are not trained on and get
  probability NaN, hence no behavior, when predicting.
- Other NaN features: the random forest and the SVM replace them by the median
  of that feature over the training rows (``impute_``); gradient boosting
  (LightGBM, ``"hgb"``) handles NaN natively; the temporal network standardises
  and zeroes them, with a missing-value channel.

Post-processing is in seconds: ``min_bout`` drops shorter bouts and
``merge_gap`` fills shorter gaps, per behavior, with
:func:`behavior.bouts.bouts` (gaps first, then short bouts); ``"auto"``
chooses them on validation folds, from multiples of the shortest labelled bout
and gap. Thresholds chosen by a rule are chosen on post-processed validation
predictions.

Saved models are one ``.skops`` file each (:meth:`BehaviorClassifier.save`,
:meth:`BehaviorClassifier.load`, :mod:`behavior.classify.persistence`); loading
one never runs code.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator, clone

from behavior._json import to_jsonable
from behavior.classify._common import (
    Prepared,
    as_sessions,
    check_compatible,
    check_fitted,
    check_params,
    clean_mask,
    decide,
    decode_model,
    encode_model,
    feature_array,
    fit_rows,
    gap_frames,
    grouped_splits,
    needs_validation,
    per_behavior,
    pick_behaviors,
    plain_decisions,
    prepare,
    proba_of,
    progress_over,
    resolve_multiclass,
    stack,
    training_meta,
    tune_decisions,
)
from behavior.classify.persistence import read_model, write_model
from behavior.errors import FileFormatError, PoseDataError
from behavior.ethogram import Ethogram

logger = logging.getLogger(__name__)

__all__ = ["BehaviorClassifier", "postprocess"]


# --------------------------------------------------------------------------- post-processing


def postprocess(
    eth: Ethogram,
    min_bout: Any = None,
    merge_gap: Any = None,
) -> Ethogram:
    """Fill short gaps, then drop short bouts, per behavior.

    Parameters
    ----------
    eth
        The ethogram (e.g. thresholded classifier output).
    min_bout
        Shortest bout kept: text with a unit (``"0.5 s"``, ``"200 ms"``,
        ``"3 frames"``), a float (seconds) or an int (frames); or a dict
        per behavior (behaviors not in it are left alone).
    merge_gap
        Bouts of one behavior separated by less than this are joined (same units).

    Returns
    -------
    Ethogram
        Same frames, behaviors and individuals; exclusive when ``eth`` was and
        no two behaviors came to overlap.

    Raises
    ------
    PoseDataError
        For a duration in seconds when the ethogram has no frame rate, or a
        dict naming an unknown behavior.

    Examples
    --------
    >>> m = xr.DataArray(np.array([1, 1, 0, 1, 0, 0, 0, 1], bool)[:, None],
    ...                  dims=("time", "individual"), coords={"individual": ["m"]},
    ...                  attrs={"fps": 10.0})
    >>> eth = Ethogram.from_masks({"run": m})
    >>> out = postprocess(eth, min_bout="0.3 s", merge_gap="0.2 s")
    >>> out.labels.values[:, 0, 0].astype(int).tolist()
    [1, 1, 1, 1, 0, 0, 0, 0]
    """
    if not isinstance(eth, Ethogram):
        raise PoseDataError(f"eth: expected an Ethogram, found {type(eth).__name__}")
    behaviors = eth.behaviors
    mins = per_behavior(min_bout, behaviors, "min_bout")
    gaps = per_behavior(merge_gap, behaviors, "merge_gap")
    values = eth.labels.values.copy()
    fps = eth.fps
    if fps is None and eth.n_frames > 1 and eth.attrs.get("time_unit") != "frames":
        step = np.median(np.diff(eth.time.astype(float)))
        fps = float(1.0 / step) if step > 0 else None
    for k, behavior in enumerate(behaviors):
        if not mins[behavior] and not gaps[behavior]:
            continue
        mask = xr.DataArray(
            values[:, k, :],
            dims=("time", "individual"),
            coords={"individual": eth.individuals},
            attrs={} if fps is None else {"fps": fps},
        )
        values[:, k, :] = clean_mask(mask, mins[behavior], gaps[behavior], behavior)
    exclusive = eth.exclusive and not (values.sum(axis=1) > 1).any()
    return Ethogram(
        eth.labels.copy(data=values),
        exclusive=exclusive,
        partner=None,
        points=eth.points,
        attrs=dict(eth.attrs),
    )


# --------------------------------------------------------------------------- the estimator


class BehaviorClassifier(BaseEstimator):
    """Per-frame behavior classifier on pose features.

    With no arguments it is the most accurate choice measured on real data
    (grouped cross-validation over the 40 two-rat sessions of
    ``benchmarks/bench_classifiers_real.py``): one LightGBM model over exclusive
    classes, smoothed by Viterbi decoding, on the default features.

    Parameters
    ----------
    behaviors
        Behaviors to learn (names in the labels); None learns every behavior
        that has positive frames in the training labels.
    model
        ``"lightgbm"`` (gradient-boosted trees, LightGBM; the default),
        ``"ensemble"`` (the mean of LightGBM's and the temporal network's
        probabilities; about twice the fitting time, and below LightGBM alone
        in the 40-session benchmark),
        ``"forest"`` (random forest), ``"hgb"`` (scikit-learn's histogram
        gradient boosting), ``"svm"`` (a linear SVM on an RBF kernel
        approximation of the window features, Platt-scaled probabilities) or
        ``"tcn"`` (:class:`~behavior.classify.temporal.TemporalConvClassifier`,
        a 1-D convolution over about 5 s of features in JAX); see
        ``benchmarks/bench_classifiers_real.py`` for each one's accuracy and
        time.
    multiclass
        ``"auto"`` (the default): True when no labelled frame holds two
        behaviors. False: one binary model per behavior (behaviors may
        overlap). True: one model over the behaviors plus ``"none"``; labels
        must be exclusive and each frame gets its most probable class
        (thresholds unused).
    n_estimators
        Trees of the forest, or boosting rounds; None: 200 for LightGBM and
        ``"hgb"``, 100 for the forest.
    learning_rate
        Shrinkage of the boosting rounds (LightGBM, ``"hgb"``).
    max_rows
        Training rows, thinned by a regular stride over time to at most this
        many (neighbouring frames are near copies); None keeps all.
    max_samples
        Rows drawn (with replacement) for each tree: an int caps the count
        (neighbouring frames are near copies, so a few thousand per tree
        suffice and fit time stays bounded), a float is a fraction, None all.
    min_samples_leaf
        Smallest leaf (both models).
    max_features
        Features tried per split (forest).
    max_depth
        Deepest tree (forest); None unlimited.
    class_weight
        ``"auto"``: none for LightGBM and the temporal network (the smoothing
        corrects for rare classes), ``"balanced"`` for the others;
        ``"balanced"`` reweights rare behaviors; None does not.
    negative_ratio
        Binary models train on every positive frame and on the negative
        frames thinned by a regular stride to at most this many per positive
        (neighbouring frames are near copies, so little is lost, fits are
        faster and every tree sees many positives); None keeps all.
    threshold
        Decision threshold on the probability of binary models (one per
        behavior; unused by one model over exclusive classes): a number, a
        dict per behavior, ``"f1"`` (chosen per behavior for maximal F1 on
        inner validation folds of the training sessions, then refitted on
        all) or ``"precision>=0.9"`` (the lowest threshold reaching that
        precision). ``"auto"`` (the default) is ``"f1"``: with
        ``min_bout="auto", merge_gap="auto"`` it reaches the accuracy figures
        of ``benchmarks/bench_classifiers.py``; a fixed 0.5 without
        post-processing fits about three times faster.
    threshold_cv
        Inner folds for a threshold rule or ``"auto"`` post-processing.
    min_bout, merge_gap
        Post-processing of predictions, per behavior (a dict) or for all: gaps
        shorter than ``merge_gap`` are filled, then bouts shorter than
        ``min_bout`` dropped. Durations as text with units (``"0.5 s"``), float
        seconds or int frames. ``"auto"`` chooses, on inner validation folds
        of the training sessions (as for a threshold rule), among 0, 1/4, 1/2,
        3/4 and 1 times the shortest labelled bout (gap) (2nd percentile);
        with one model over exclusive classes it takes half the shortest, and
        nothing when the Viterbi smoothing is on (the default).
    smoothing
        ``"auto"``: ``"hmm"`` for one model over exclusive classes, none
        otherwise; ``"hmm"``: Viterbi decoding with transitions learned from
        the labels (multiclass only); None: each frame on its own.
    unscored
        Label names (or one name) that mark frames nobody scored, such as the
        annotator's background outside the scored window: those frames are
        unlabelled, never trained on or scored, and the names are not learned.
    feature_options
        Keyword arguments of :func:`behavior.features.extract` for sessions
        given as poses (windows, sets, zones ...); None: the defaults
        (:meth:`features`).
    gap
        Frames (int) or seconds dropped around test blocks when splitting a
        single session in time (inner folds; :func:`cross_validate` has its own).
    n_jobs
        Cores for the forest (-1: all).
    random_state
        Seed of the models and of any subsampling; None (as in scikit-learn)
        draws a fresh one at every fit, so pass an int for results that repeat.
    progress
        Show progress bars while computing features of several sessions (fit,
        predict).

    Attributes
    ----------
    behaviors_ : list of str
    models_ : dict
        Behavior -> fitted model (``"__multiclass__"`` -> the model when multiclass).
    thresholds_ : dict
        Behavior -> decision threshold.
    feature_names_ : list of str
    impute_ : numpy.ndarray
        Per-feature training medians used for NaN (forest).
    min_bout_, merge_gap_ : dict
        Behavior -> post-processing used by :meth:`predict` (``"auto"`` resolved).
    multiclass_ : bool
        ``multiclass`` resolved.
    pair_ : bool
        Whether the labels were the pair's (predictions are for the pair).
    transitions_, class_prior_ : numpy.ndarray
        Transition matrix and prior of the classes (behaviors, then none),
        from the training labels (multiclass).
    metadata_ : dict
        fps, space unit, keypoints, individual count, feature options, versions.
    feature_options_ : dict
        The :func:`behavior.features.extract` options used for sessions given as poses.
    n_features_in_ : int
        Number of features (``len(feature_names_)``).

    Notes
    -----
    The scikit-learn contract holds with sessions in place of arrays:
    hyperparameters only in ``__init__``; ``fit(X, y)`` with ``X`` the sessions and
    ``y`` their labels; :meth:`score` (mean frame F1 over behaviors), so that
    ``GridSearchCV(clf, grid, cv=GroupKFold(n))`` with one group per session
    selects hyperparameters; ``fit_predict(X, y)`` returns what ``predict(X)``
    returns; an unfitted model raises :class:`behavior.errors.NotFittedError`;
    invalid hyperparameters raise :class:`~behavior.errors.PoseDataError` when
    ``fit`` starts. ``tests/test_classify_contract.py`` runs scikit-learn's
    ``check_estimator`` and lists the checks that feed plain arrays.

    Examples
    --------
    >>> ds, truth = bh.simulate.session(duration="2 min", seed=0)  # doctest: +SKIP
    >>> clf = BehaviorClassifier(behaviors=["freeze"], random_state=0)  # doctest: +SKIP
    >>> clf.fit([ds], [truth.labels]).predict(ds).behaviors  # doctest: +SKIP
    ['freeze']
    """

    def __init__(
        self,
        behaviors: Sequence[str] | None = None,
        model: str = "lightgbm",
        multiclass: bool | str = "auto",
        n_estimators: int | None = None,
        learning_rate: float = 0.08,
        max_rows: int | None = 200_000,
        max_samples: int | float | None = 10_000,
        min_samples_leaf: int = 3,
        max_features: str | int | float | None = "sqrt",
        max_depth: int | None = None,
        class_weight: str | Mapping[Any, float] | None = "auto",
        negative_ratio: float | None = 10.0,
        threshold: float | str | Mapping[str, float] = "auto",
        threshold_cv: int = 3,
        min_bout: Any = "auto",
        merge_gap: Any = "auto",
        smoothing: str | None = "auto",
        unscored: str | Sequence[str] | None = None,
        feature_options: Mapping[str, Any] | None = None,
        gap: int | float | str = "2 s",
        n_jobs: int | None = -1,
        random_state: int | None = None,
        progress: bool = True,
    ) -> None:
        self.behaviors = behaviors
        self.model = model
        self.multiclass = multiclass
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_rows = max_rows
        self.max_samples = max_samples
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_depth = max_depth
        self.class_weight = class_weight
        self.negative_ratio = negative_ratio
        self.threshold = threshold
        self.threshold_cv = threshold_cv
        self.min_bout = min_bout
        self.merge_gap = merge_gap
        self.smoothing = smoothing
        self.unscored = unscored
        self.feature_options = feature_options
        self.gap = gap
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fit

    def fit(
        self, X: Any, y: Any = None, *, groups: Sequence[Any] | None = None, **fit_params: Any
    ) -> BehaviorClassifier:
        """Fit on labelled sessions.

        Parameters
        ----------
        X
            The sessions: pose datasets, feature arrays ``(time, feature,
            individual)`` or pose files; a list, a name -> session dict, or one
            session.
        y
            Their labels, one per session (same order or same keys): an
            Ethogram, a label array (integer codes over ``(time, individual)``
            with ``attrs["labels"]``, or 0/1 floats over ``(time, behavior,
            individual)`` with NaN = unlabelled), or an annotation file.
            Required (None only to match scikit-learn's signature).
        groups
            For a threshold rule or ``"auto"`` post-processing: one key (or tuple
            of keys) per session; sessions sharing a key stay together in the
            inner folds.

        Returns
        -------
        BehaviorClassifier
            ``self``, fitted.

        Raises
        ------
        PoseDataError
            For an invalid hyperparameter (before any work), labels that do not
            match their session, training sessions that differ in frame rate,
            units or keypoints, or a behavior that is never (or always) shown.

        Examples
        --------
        >>> ds, truth = bh.simulate.session(duration="1 min", seed=0)  # doctest: +SKIP
        >>> clf = BehaviorClassifier(random_state=0).fit([ds], [truth.labels])  # doctest: +SKIP
        """
        if fit_params:
            hint = (
                "; progress is a constructor parameter: BehaviorClassifier(progress=False)"
                if "progress" in fit_params
                else ""
            )
            raise TypeError(
                f"fit: unexpected keyword argument(s) {sorted(fit_params)}; expected only "
                f"groups{hint}"
            )
        check_params(self)
        if y is None:
            raise PoseDataError(
                "y: BehaviorClassifier requires y to be passed, but the target y is None; "
                "give the labels of the sessions (an Ethogram, label array or annotation "
                "file per session)"
            )
        prepared, _ = prepare(self, X, y, progress=self.progress)
        meta = training_meta(self, prepared)
        behaviors = pick_behaviors(self, prepared)
        names = prepared[0].feature_names
        rows = stack(prepared, names, behaviors)
        self.feature_names_ = list(names)
        self.n_features_in_ = len(names)
        self.metadata_ = meta
        self.behaviors_ = list(behaviors)
        # options to compute the same features from poses at prediction (for a model
        # trained on precomputed features: read from the features' attrs)
        self.feature_options_ = dict(self.feature_options or {}) or dict(
            prepared[0].meta.get("options") or {}
        )
        fps = meta.get("fps")
        self.multiclass_ = resolve_multiclass(self, rows)
        self.pair_ = bool(rows.pair)
        if len({p.pair for p in prepared}) > 1:
            raise PoseDataError(
                "labels: some sessions have labels for the pair (one label stream for several "
                "animals) and others for each animal; give all sessions the same kind"
            )
        if needs_validation(self, rows):
            splits = grouped_splits(
                rows.session, rows.frame, [p.features.shape[0] for p in prepared],
                groups=groups, n_splits=self.threshold_cv, gap=gap_frames(self.gap, fps),
            )  # fmt: skip
            oof = np.full(rows.Y.shape, np.nan, dtype=np.float32)
            for train, test in splits:
                inner = clone(self).set_params(threshold=0.5, min_bout=None, merge_gap=None)
                try:
                    fit_rows(inner, rows, behaviors, train)
                except PoseDataError as err:  # a fold without some behavior: not validated
                    logger.info("inner fold skipped for the decisions: %s", err)
                    continue
                oof[test] = proba_of(inner, rows, test)
            done = np.flatnonzero(np.isfinite(oof).any(axis=1))
            tune_decisions(self, rows, oof, done, fps)
        else:
            plain_decisions(self, rows, None, fps)
        fit_rows(self, rows, behaviors)
        self.metadata_["thresholds"] = {b: float(t) for b, t in self.thresholds_.items()}
        self.metadata_["behaviors"] = list(behaviors)
        self.metadata_["min_bout"] = to_jsonable(self.min_bout_)
        self.metadata_["merge_gap"] = to_jsonable(self.merge_gap_)
        return self

    # ------------------------------------------------------------------ predict

    def predict_proba(self, X: Any) -> Any:
        """Per-frame probability of every behavior.

        Parameters
        ----------
        X
            One session (pose Dataset, feature array or pose file) or a
            list / dict of them.

        Returns
        -------
        xr.DataArray or list of xr.DataArray
            float32 over ``(time, behavior, individual)``; NaN in untracked
            frames (where every pose feature is missing: the tracking-quality
            features, finite even there, do not count). A list (in order) when a
            list or dict was given.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        PoseDataError
            When the data differ from the training data in keypoints, frame
            rate, space units or features; the message names what differs.

        Examples
        --------
        >>> clf.predict_proba(ds).sel(behavior="freeze").max()  # doctest: +SKIP
        """
        check_fitted(self, "predict_proba")
        prepared, single = self._iter_prepared(X)
        out = [self._proba_prepared(p) for p in prepared]
        return out[0] if single else out

    def predict(self, X: Any) -> Any:
        """Ethogram of each session: thresholds, then gap filling and minimum bouts.

        Parameters
        ----------
        X
            One session or a list / dict of them (pose Datasets, feature
            arrays or pose files).

        Returns
        -------
        Ethogram or list of Ethogram
            ``attrs["source"] = "classifier"``. Untracked frames (every pose
            feature missing, so the probability is NaN) show no behavior: a
            session that is all NaN gives an empty ethogram, not a guess.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        PoseDataError
            When the data differ from the training data (see :meth:`predict_proba`).

        Examples
        --------
        >>> eths = clf.predict(["a.h5", "b.h5"])  # doctest: +SKIP
        """
        check_fitted(self, "predict")
        prepared, single = self._iter_prepared(X)
        out = [self._ethogram(self._proba_prepared(p)) for p in prepared]
        return out[0] if single else out

    def fit_predict(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit on ``X`` and ``y``, then return exactly what ``predict(X)`` returns.

        Parameters
        ----------
        X, y, **fit_params
            As for :meth:`fit`.

        Returns
        -------
        Ethogram or list of Ethogram
            ``self.fit(X, y, **fit_params).predict(X)``.

        Examples
        --------
        >>> eths = BehaviorClassifier(random_state=0).fit_predict([feats], [eth])  # doctest: +SKIP
        """
        return self.fit(X, y, **fit_params).predict(X)

    def score(self, X: Any, y: Any) -> float:
        """Mean over behaviors of the frame F1 of :meth:`predict` against the labels ``y``.

        This is what the model selection optimises: a ``threshold="f1"`` rule
        picks, per behavior, the threshold of highest frame F1 on validation
        frames, and ``"auto"`` post-processing is chosen for it too. Frames
        (of every session and individual) are pooled per behavior; unlabelled
        frames are not scored; predictions include the post-processing.
        A behavior neither labelled nor predicted in ``X`` scores 1 (as
        scikit-learn's ``f1_score(..., zero_division=1.0)``).

        Parameters
        ----------
        X
            Sessions, as for :meth:`predict`.
        y
            Their labels, as for :meth:`fit`.

        Returns
        -------
        float
            In [0, 1]; higher is better (the default scorer of ``GridSearchCV``).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> from sklearn.model_selection import GridSearchCV, GroupKFold  # doctest: +SKIP
        >>> search = GridSearchCV(BehaviorClassifier(random_state=0),  # doctest: +SKIP
        ...                       {"min_samples_leaf": [1, 5]}, cv=GroupKFold(3))
        >>> search.fit(sessions, labels, groups=range(len(sessions)))  # doctest: +SKIP
        """
        check_fitted(self, "score")
        if y is None:
            raise PoseDataError("y: score needs the labels of the sessions, found None")
        prepared, _ = prepare(self, X, y, progress=False)
        tp = np.zeros(len(self.behaviors_), dtype=np.int64)
        fp, fn = tp.copy(), tp.copy()
        for p in prepared:
            eth = self._ethogram(self._proba_prepared(p))
            Y = stack([p], self.feature_names_, self.behaviors_).Y  # (I * T, B), NaN unlabelled
            n_time, n_beh, n_ind = eth.labels.shape
            Y = Y[: n_time * n_ind]  # pair labels: every animal's rows hold the same
            decided = eth.labels.values.transpose(2, 0, 1).reshape(n_ind * n_time, n_beh)
            labelled = np.isfinite(Y)
            ref = (Y > 0.5) & labelled
            pred = decided.astype(bool) & labelled
            tp += (ref & pred).sum(axis=0)
            fp += (~ref & pred).sum(axis=0)
            fn += (ref & ~pred).sum(axis=0)
        denominator = 2 * tp + fp + fn
        f1 = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 1.0)
        return float(f1.mean())

    def _iter_prepared(self, sessions: Any) -> tuple[Iterable[Prepared], bool]:
        """Sessions prepared one at a time (features of one session in memory at once)."""
        items, names, single = as_sessions(sessions)

        def generate() -> Iterable[Prepared]:
            iterator: Iterable = progress_over(
                zip(items, names, strict=True),
                self.progress and len(items) > 1,
                "predict",
                len(items),
            )
            for session, name in iterator:
                prepared, _ = prepare(self, {name: session}, None, need_labels=False)
                yield prepared[0]

        return generate(), single

    def _proba_prepared(self, p: Prepared) -> xr.DataArray:
        check_compatible(self, p)
        rows = stack([p], self.feature_names_, None)
        proba = proba_of(self, rows)
        n_time, n_ind = p.features.shape[0], p.features.shape[2]
        values = proba.reshape(n_ind, n_time, -1).transpose(1, 2, 0)
        individuals = p.individuals
        attrs = dict(p.attrs)
        attrs.setdefault("time_unit", "seconds" if "fps" in attrs else "frames")
        if getattr(self, "pair_", False):  # the pair's probability: one column
            values, individuals = values[:, :, :1], [PAIR]
            attrs["pair"] = list(p.individuals)
        return xr.DataArray(
            values,
            dims=("time", "behavior", "individual"),
            coords={"time": p.time, "behavior": self.behaviors_, "individual": individuals},
            name="probability",
            attrs=attrs,
        )

    def _ethogram(self, proba: xr.DataArray) -> Ethogram:
        values = proba.values
        n_time, n_beh, n_ind = values.shape
        flat = values.transpose(2, 0, 1).reshape(n_ind * n_time, n_beh)
        segments = [np.arange(i * n_time, (i + 1) * n_time) for i in range(n_ind)]
        decided = decide(self, flat, segments).reshape(n_ind, n_time, n_beh).transpose(1, 2, 0)
        eth = Ethogram(
            proba.copy(data=decided),
            exclusive=bool(self.multiclass_),
            attrs={**proba.attrs, "source": "classifier"},
        )
        if any(self.min_bout_.values()) or any(self.merge_gap_.values()):
            eth = postprocess(eth, self.min_bout_, self.merge_gap_)
        return eth

    def features(self, session: Any) -> xr.DataArray:
        """The features this classifier computes from a session of poses.

        Compute them once and give the feature arrays to :meth:`fit`,
        :meth:`predict` or :func:`~behavior.classify.cross_validate` in place of
        the poses, to try several models on the same features.

        Parameters
        ----------
        session
            A pose Dataset or pose file.

        Returns
        -------
        xr.DataArray
            ``(time, feature, individual)``, from :func:`behavior.features.extract`
            with ``feature_options_`` (fitted), ``feature_options`` or, when
            None, the default options (:data:`behavior.classify._common.DEFAULT_FEATURES`
            and the sets of :func:`~behavior.classify._common.default_sets`).

        Examples
        --------
        >>> X = BehaviorClassifier().features(ds)  # doctest: +SKIP
        """
        options = dict(getattr(self, "feature_options_", None) or self.feature_options or {})
        return feature_array(session, "session", options)[0]

    # ------------------------------------------------------------------ inspection

    def feature_importance(self) -> pd.DataFrame:
        """Impurity importance of every feature for every behavior (forest only).

        Returns
        -------
        pandas.DataFrame
            Columns ``behavior``, ``feature``, ``importance`` (sums to 1 per
            behavior), sorted by behavior then decreasing importance. Impurity
            importance favours features with many distinct values; check with
            :func:`permutation_importance` on held-out sessions.

        Examples
        --------
        >>> clf.feature_importance().groupby("behavior").head(3)  # doctest: +SKIP
        """
        check_fitted(self, "feature_importance")
        rows = []
        for key, est in self.models_.items():
            if "|" in key:  # a further member of an ensemble (the first one is reported)
                continue
            if not hasattr(est, "feature_importances_"):
                raise PoseDataError(
                    f"model {self.model!r} has no impurity importance; use "
                    "behavior.classify.permutation_importance"
                )
            names = self.behaviors_ if key == "__multiclass__" else [key]
            for name in names:
                rows.append(
                    pd.DataFrame(
                        {
                            "behavior": name,
                            "feature": self.feature_names_,
                            "importance": _normalised(est.feature_importances_),
                        }
                    )
                )
        table = pd.concat(rows, ignore_index=True)
        order = {b: i for i, b in enumerate(self.behaviors_)}
        table["_o"] = table["behavior"].map(order)
        table = table.sort_values(["_o", "importance"], ascending=[True, False])
        return table.drop(columns="_o").reset_index(drop=True)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted classifier to one ``.skops`` file, atomically.

        The file is a zip of arrays and JSON (scikit-learn's models through
        skops' safe persistence) plus ``behavior-classifier.json``, the
        metadata (frame rate, units, keypoints, features, behaviors,
        thresholds, versions), readable with
        :func:`behavior.classify.persistence.read_metadata` without loading
        the model. Loading it never runs code. The file is written beside
        ``path``, flushed to disk, read back and checked, then renamed into
        place: a failed save leaves an older file at ``path`` intact.

        Parameters
        ----------
        path
            Destination ending in ``.skops``; ``.skops`` is added when the
            name has no suffix.

        Returns
        -------
        Path
            The model file.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        FileFormatError
            For a path with another suffix (nothing is written).

        Examples
        --------
        >>> clf.save("freezing.skops")  # doctest: +SKIP
        """
        check_fitted(self, "save")
        state = {
            "params": self.get_params(deep=False),
            "fitted": {name: getattr(self, name) for name in _FITTED if hasattr(self, name)},
        }
        state["fitted"]["models_"] = {k: encode_model(m) for k, m in self.models_.items()}
        metadata = {
            **to_jsonable(self.metadata_),
            "feature_names": list(self.feature_names_),
            "behaviors": list(self.behaviors_),
            "params": to_jsonable(self.get_params(deep=False)),
        }
        return write_model(state, metadata, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BehaviorClassifier:
        """Read a classifier written by :meth:`save`; never runs code from the file.

        Parameters
        ----------
        path
            A ``.skops`` file written by :meth:`save`.

        Returns
        -------
        BehaviorClassifier
            Fitted; its predictions equal those of the saved model.

        Raises
        ------
        FileNotFoundError
            No such file.
        FileFormatError
            Anything else than a classifier saved by :meth:`save` (a pickle or
            joblib file, another zip, a model holding types outside the
            allow-list): the message names the file, what was expected and
            what was found. Pickles are refused, never opened.

        Examples
        --------
        >>> clf = BehaviorClassifier.load("freezing.skops")  # doctest: +SKIP
        """
        state, _ = read_model(path)
        params, fitted = state.get("params"), state.get("fitted")
        known = cls().get_params(deep=False)
        if (
            not isinstance(params, dict)
            or not isinstance(fitted, dict)
            or set(params) - set(known)
            or set(fitted) - set(_FITTED)
            or "models_" not in fitted
        ):
            raise FileFormatError(
                f"{path}: expected a saved BehaviorClassifier (params {sorted(known)} and "
                f"fitted attributes {list(_FITTED)}), found "
                f"{sorted(params) if isinstance(params, dict) else type(params).__name__} and "
                f"{sorted(fitted) if isinstance(fitted, dict) else type(fitted).__name__}"
            )
        est = cls(**params)
        for name, value in fitted.items():
            setattr(est, name, value)
        if not isinstance(est.models_, dict):
            raise FileFormatError(f"{path}: expected a dict of models, found {type(est.models_)}")
        est.models_ = {k: decode_model(m, str(path)) for k, m in est.models_.items()}
        if not hasattr(est, "multiclass_"):  # saved before multiclass="auto"
            est.multiclass_ = bool(est.multiclass)
        return est

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # fit needs labels
        tags.input_tags.allow_nan = True  # untracked frames are NaN
        # X is a list of sessions (xarray objects or files), not a 2-D array:
        # two_d_array stays True only so that scikit-learn's API checks run at all;
        # tests/test_classify_contract.py lists the checks that feed arrays.
        return tags


def _normalised(importance: np.ndarray) -> np.ndarray:
    total = float(np.sum(importance))
    return np.asarray(importance, dtype=np.float64) / total if total > 0 else importance


PAIR = "pair"
"""The individual name of predictions made for the pair (labels given for the pair)."""

_FITTED = (
    "multiclass_",
    "pair_",
    "transitions_",
    "class_prior_",
    "behaviors_",
    "feature_names_",
    "n_features_in_",
    "feature_options_",
    "metadata_",
    "impute_",
    "models_",
    "thresholds_",
    "min_bout_",
    "merge_gap_",
)
