"""Evaluation of a classifier that does not leak: grouped cross-validation,
learning curves and feature importance.

Neighbouring frames of one video are near copies, and window features share
frames, so a random frame split scores memory, not generalisation.
:func:`cross_validate` splits by *group*: each session is a group, and
sessions that share a video or an animal (``groups=``) stay on the same side.
With a single group it splits every session into ``cv`` contiguous blocks and
drops ``gap`` seconds on each side of a test block from training. It reports
precision, recall and F1 per behavior at frame and bout level (bouts matched
at IoU >= 0.5 by :func:`behavior.ethogram.agreement`), precision-recall curves
and the threshold per behavior chosen on validation folds (with
:func:`select_threshold`). :func:`learning_curve` answers "how many labels do I
need?" over labelled frames and over videos; :func:`permutation_importance` and
:meth:`BehaviorClassifier.feature_importance` say what the models use.

Every fold is fitted by the same engine as :meth:`BehaviorClassifier.fit`
(:mod:`behavior.classify._common`), so a fold's model is the model ``fit``
would make from the fold's training sessions. For scikit-learn's own model
selection, :meth:`BehaviorClassifier.score` makes
``GridSearchCV(clf, grid, cv=GroupKFold(n))`` work with one group per session.

Examples
--------
>>> res = cross_validate(BehaviorClassifier(random_state=0), sessions, labels)  # doctest: +SKIP
>>> res.summary[["behavior", "frame_f1", "bout_f1"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import clone

from behavior.classify._common import (
    Prepared,
    Rows,
    check_compatible,
    check_fitted,
    check_params,
    clean_rows,
    decide,
    fit_rows,
    gap_frames,
    group_ids,
    grouped_splits,
    needs_validation,
    pick_behaviors,
    plain_decisions,
    prepare,
    proba_of,
    proba_rows,
    progress_over,
    segments_of,
    select_threshold,
    stack,
    threshold_rule,
    training_meta,
    tune_decisions,
)
from behavior.errors import PoseDataError
from behavior.ethogram import Ethogram

if TYPE_CHECKING:  # pragma: no cover
    from behavior.classify.model import BehaviorClassifier

__all__ = [
    "CVResult",
    "cross_validate",
    "grouped_splits",
    "learning_curve",
    "permutation_importance",
    "select_threshold",
]

logger = logging.getLogger("behavior.classify")


# --------------------------------------------------------------------------- evaluation


@dataclass
class CVResult:
    """Grouped cross-validation of a classifier: tidy tables.

    Attributes
    ----------
    scores
        One row per fold and behavior: ``fold``, ``behavior``, ``threshold``,
        ``frames_test``, ``frames_positive``, ``frame_precision``,
        ``frame_recall``, ``frame_f1``, ``bouts_reference``, ``bouts_predicted``,
        ``bouts_matched``, ``bout_precision``, ``bout_recall``, ``bout_f1``.
    summary
        One row per behavior, counts pooled over folds: the same metrics,
        ``average_precision`` (threshold free) and ``threshold_chosen``.
    pr_curve
        ``behavior``, ``threshold``, ``precision``, ``recall`` from the pooled
        out-of-fold probabilities.
    thresholds
        Behavior -> threshold chosen on all validation folds (``rule``); give
        it to ``clf.set_params(threshold=...)`` before the final fit.
    min_bout, merge_gap
        Behavior -> post-processing chosen with them (``"auto"`` resolved;
        as given otherwise), for ``set_params`` likewise.
    folds
        ``fold``, ``session``, ``individual``, ``role`` (train/test), ``frames``.
    proba
        Out-of-fold probabilities per session ``(time, behavior, individual)``.
    splits
        The (train, test) row indices; rows are described by ``rows``.
    rows
        ``session``, ``individual``, ``frame`` of every row.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    pr_curve: pd.DataFrame
    thresholds: dict[str, float]
    min_bout: dict[str, Any]
    merge_gap: dict[str, Any]
    folds: pd.DataFrame
    proba: list[xr.DataArray]
    splits: list[tuple[np.ndarray, np.ndarray]]
    rows: pd.DataFrame


def _score_rows(
    est: BehaviorClassifier,
    rows: Rows,
    index: np.ndarray,
    proba: np.ndarray,
    thresholds: Mapping[str, float],
    fps: float | None,
    iou: float,
) -> list[dict[str, Any]]:
    """Frame and bout counts per behavior over the rows ``index`` (after post-processing)."""
    from behavior.ethogram import agreement

    behaviors = est.behaviors_
    scorer = clone(est)
    scorer.behaviors_ = behaviors
    scorer.thresholds_ = dict(thresholds)
    segments = segments_of(rows, index)
    y = rows.Y[index]
    scorer.multiclass_ = est.multiclass_
    for name in ("transitions_", "class_prior_"):
        if hasattr(est, name):
            setattr(scorer, name, getattr(est, name))
    decided = decide(scorer, proba[index], segments)
    decided = clean_rows(decided, segments, behaviors, est.min_bout_, est.merge_gap_, fps)
    labelled = np.isfinite(y)
    ref = (y > 0.5) & labelled
    decided &= labelled
    out = []
    for k, b in enumerate(behaviors):
        r, d = ref[:, k], decided[:, k]
        c = {
            "tp": int((r & d).sum()),
            "fp": int((~r & d).sum()),
            "fn": int((r & ~d).sum()),
            "n": int(labelled[:, k].sum()),
            "pos": int(r.sum()),
            "br": 0,
            "bp": 0,
            "bm": 0,
        }
        for seg in segments:
            if not labelled[seg, k].any():
                continue
            table = agreement(_tiny_ethogram(r[seg], b), _tiny_ethogram(d[seg], b), iou=iou)
            c["br"] += int(table["bouts_reference"].iloc[0])
            c["bp"] += int(table["bouts_other"].iloc[0])
            c["bm"] += int(table["bouts_matched"].iloc[0])
        out.append({"behavior": b, "threshold": float(thresholds[b]), **_metrics(c)})
    return out


def _tiny_ethogram(mask: np.ndarray, behavior: str) -> Ethogram:
    return Ethogram(
        xr.DataArray(
            mask[:, None, None], dims=("time", "behavior", "individual"),
            coords={"behavior": [behavior], "individual": ["x"]},
        )
    )  # fmt: skip


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def _metrics(c: Mapping[str, int]) -> dict[str, Any]:
    return {
        "frames_test": c["n"],
        "frames_positive": c["pos"],
        "frames_predicted": c["tp"] + c["fp"],
        "frames_correct": c["tp"],
        "frame_precision": _ratio(c["tp"], c["tp"] + c["fp"]),
        "frame_recall": _ratio(c["tp"], c["tp"] + c["fn"]),
        "frame_f1": _ratio(2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]),
        "bouts_reference": c["br"],
        "bouts_predicted": c["bp"],
        "bouts_matched": c["bm"],
        "bout_precision": _ratio(c["bm"], c["bp"]),
        "bout_recall": _ratio(c["bm"], c["br"]),
        "bout_f1": _ratio(2 * c["bm"], c["br"] + c["bp"]),
    }


def _evaluation_data(
    clf: BehaviorClassifier, sessions: Any, labels: Any, progress: bool
) -> tuple[list[Prepared], Rows, list[str], dict[str, Any]]:
    check_params(clf)
    prepared, _ = prepare(clf, sessions, labels, progress=progress)
    meta = training_meta(clf, prepared)
    behaviors = pick_behaviors(clf, prepared)
    rows = stack(prepared, prepared[0].feature_names, behaviors)
    return prepared, rows, behaviors, meta


def _fold_splits(
    prepared: list[Prepared], rows: Rows, groups: Any, cv: int, gap: Any, fps: float | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    return grouped_splits(
        rows.session, rows.frame, [p.features.shape[0] for p in prepared],
        groups=groups, n_splits=cv, gap=gap_frames(gap, fps),
    )  # fmt: skip


def cross_validate(
    clf: BehaviorClassifier,
    sessions: Any,
    labels: Any,
    *,
    groups: Sequence[Any] | None = None,
    cv: int = 5,
    gap: int | float | str | None = None,
    rule: str | None = None,
    iou: float = 0.5,
    progress: bool = True,
) -> CVResult:
    """Cross-validate a classifier without leaking frames of a video into its own test.

    Parameters
    ----------
    clf
        An unfitted :class:`BehaviorClassifier` (cloned for every fold).
    sessions, labels
        As for :meth:`BehaviorClassifier.fit`.
    groups
        One key or tuple of keys per session (video, animal, cohort);
        sessions sharing any key stay on the same side of every split.
        Default: each session is a group.
    cv
        Number of folds (at most the number of groups). With a single group,
        every session is cut into ``cv`` contiguous time blocks.
    gap
        With a single group: frames (int) or seconds dropped from training on
        each side of a test block; default ``clf.gap`` (2 s, the longest
        default feature window).
    rule
        How ``thresholds`` (and, when ``clf.threshold`` is itself a rule, the
        threshold of each fold) are chosen: ``"f1"`` or ``"precision>=0.9"``;
        default ``clf.threshold`` when it is a rule, else ``"f1"``. The
        threshold applied to fold ``k`` is chosen on the out-of-fold
        probabilities of the *other* folds only; a fixed ``clf.threshold`` is
        applied as is.
    iou
        Intersection over union for two bouts to match.
    progress
        Progress bar over folds.

    Returns
    -------
    CVResult
        Tidy tables: ``scores`` per fold, ``summary`` pooled, ``pr_curve``,
        ``thresholds`` ...; scores include the classifier's post-processing.

    Raises
    ------
    PoseDataError
        For labels or sessions that do not fit together, or too few frames
        for the folds.

    Examples
    --------
    >>> res = cross_validate(BehaviorClassifier(), sessions, labels)  # doctest: +SKIP
    >>> res.summary[["behavior", "frame_f1", "bout_f1"]]  # doctest: +SKIP
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    prepared, rows, behaviors, meta = _evaluation_data(clf, sessions, labels, progress)
    fps = meta.get("fps")
    splits = _fold_splits(prepared, rows, groups, cv, clf.gap if gap is None else gap, fps)
    rule = rule or (clf.threshold if threshold_rule(clf.threshold) else "f1")
    threshold_rule(rule)
    tuned = needs_validation(clf, rows)
    oof = np.full(rows.Y.shape, np.nan, dtype=np.float32)
    fold_of = np.full(rows.X.shape[0], -1, dtype=np.int64)
    fitted = []
    for k, (train, test) in enumerate(progress_over(splits, progress, "folds", len(splits))):
        est = clone(clf).set_params(behaviors=behaviors)
        fit_rows(est, rows, behaviors, train)
        if not tuned:
            plain_decisions(est, rows, train, fps)
        oof[test] = proba_of(est, rows, test)
        fold_of[test] = k
        fitted.append(est)
    score_rows, fold_rows = [], []
    for k, (train, test) in enumerate(splits):
        est = fitted[k]
        if tuned:  # chosen on the other folds' validation frames only
            other = np.flatnonzero((fold_of >= 0) & (fold_of != k))
            tune_decisions(est, rows, oof, other, fps)
        for r in _score_rows(est, rows, test, oof, est.thresholds_, fps, iou):
            score_rows.append({"fold": k, **r})
        for role, index in (("train", train), ("test", test)):
            part = pd.DataFrame(
                {"session": rows.session[index], "individual": rows.individual[index]}
            )
            for (s, i), n in part.value_counts(sort=False).items():
                fold_rows.append({"fold": k, "session": prepared[s].name,
                                  "individual": prepared[s].individuals[i], "role": role,
                                  "frames": int(n)})  # fmt: skip
    scores = pd.DataFrame(score_rows)
    whole = clone(clf).set_params(behaviors=behaviors, threshold=rule)
    whole.behaviors_ = behaviors
    tune_decisions(whole, rows, oof, np.flatnonzero(fold_of >= 0), fps)
    chosen = whole.thresholds_
    summary_rows, curves = [], []
    for j, b in enumerate(behaviors):
        part = scores[scores["behavior"] == b]
        ok = np.isfinite(rows.Y[:, j]) & np.isfinite(oof[:, j])
        y, p = rows.Y[ok, j] > 0.5, oof[ok, j]
        ap = float(average_precision_score(y, p)) if y.any() else float("nan")
        summary_rows.append({"behavior": b, **_pooled(part), "average_precision": ap,
                             "threshold_chosen": chosen[b],
                             "min_bout_chosen": whole.min_bout_[b],
                             "merge_gap_chosen": whole.merge_gap_[b]})  # fmt: skip
        if y.any():
            precision, recall, thr = precision_recall_curve(y, p)
            keep = np.unique(np.linspace(0, thr.size - 1, min(thr.size, 200)).round().astype(int))
            curve = {"behavior": b, "threshold": thr[keep], "precision": precision[keep],
                     "recall": recall[keep]}  # fmt: skip
            curves.append(pd.DataFrame(curve))
    proba = []
    for s, p in enumerate(prepared):
        sel = rows.session == s
        n_time, n_ind = p.features.shape[0], p.features.shape[2]
        values = np.full((n_time, len(behaviors), n_ind), np.nan, dtype=np.float32)
        values[rows.frame[sel], :, rows.individual[sel]] = oof[sel]
        proba.append(
            xr.DataArray(values, dims=("time", "behavior", "individual"),
                         coords={"time": p.time, "behavior": behaviors,
                                 "individual": p.individuals},
                         name="probability", attrs=dict(p.attrs))
        )  # fmt: skip
    return CVResult(
        scores=scores,
        summary=pd.DataFrame(summary_rows),
        pr_curve=pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
            columns=["behavior", "threshold", "precision", "recall"]),
        thresholds=chosen,
        min_bout=dict(whole.min_bout_),
        merge_gap=dict(whole.merge_gap_),
        folds=pd.DataFrame(fold_rows),
        proba=proba,
        splits=splits,
        rows=pd.DataFrame({"session": rows.session, "individual": rows.individual,
                           "frame": rows.frame}),
    )  # fmt: skip


def _pooled(part: pd.DataFrame) -> dict[str, Any]:
    """Metrics of the counts summed over folds."""
    tp = int(part["frames_correct"].sum())
    c = {
        "tp": tp,
        "fp": int(part["frames_predicted"].sum()) - tp,
        "fn": int(part["frames_positive"].sum()) - tp,
        "n": int(part["frames_test"].sum()),
        "pos": int(part["frames_positive"].sum()),
        "br": int(part["bouts_reference"].sum()),
        "bp": int(part["bouts_predicted"].sum()),
        "bm": int(part["bouts_matched"].sum()),
    }
    return _metrics(c)


# --------------------------------------------------------------------------- learning curve


def learning_curve(
    clf: BehaviorClassifier,
    sessions: Any,
    labels: Any,
    *,
    fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0),
    n_videos: Sequence[int] | None = None,
    groups: Sequence[Any] | None = None,
    cv: int = 5,
    gap: int | float | str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Held-out accuracy against the amount of labels: "how many labels do I need?".

    For every grouped fold (as in :func:`cross_validate`) the classifier is
    trained on (1) the first ``fraction`` of the labelled frames of each
    training session (as if only the first minutes of each video were
    labelled) and (2) the labels of ``n`` training groups (videos), then
    scored on the fold's test sessions.

    Parameters
    ----------
    clf
        An unfitted classifier (cloned for every point; a threshold rule is
        replaced by 0.5, so points differ only by the labels).
    sessions, labels, groups, cv, gap
        As for :func:`cross_validate`.
    fractions
        Fractions of the labelled frames of each training session.
    n_videos
        Numbers of training groups; default 1, 2, 4 ... up to all of them
        (only with two or more groups). Groups are added in a fixed random
        order (``clf.random_state``).
    progress
        Progress bar over folds.

    Returns
    -------
    pandas.DataFrame
        One row per axis, fold, size and behavior: ``axis`` ("frames" or
        "videos"), ``fold``, ``size`` (fraction or number of videos),
        ``labelled_frames``, ``labelled_seconds``, ``positive_frames``,
        ``behavior``, ``frame_f1``, ``frame_precision``, ``frame_recall``,
        ``average_precision`` (threshold free).

    Examples
    --------
    >>> curve = learning_curve(BehaviorClassifier(), sessions, labels)  # doctest: +SKIP
    >>> curve.groupby(["axis", "size", "behavior"])["frame_f1"].mean()  # doctest: +SKIP
    """
    from sklearn.metrics import average_precision_score

    prepared, rows, behaviors, meta = _evaluation_data(clf, sessions, labels, progress)
    fps = meta.get("fps")
    splits = _fold_splits(prepared, rows, groups, cv, clf.gap if gap is None else gap, fps)
    ids = group_ids(len(prepared), groups)
    n_frames = np.array([p.features.shape[0] for p in prepared])
    rng = np.random.default_rng(clf.random_state)
    out = []
    for k, (train, test) in enumerate(
        progress_over(splits, progress, "learning curve", len(splits))
    ):
        plans: list[tuple[str, float, np.ndarray]] = []
        position = rows.frame[train] / n_frames[rows.session[train]]
        for fraction in fractions:
            if not 0 < fraction <= 1:
                raise PoseDataError(f"fractions: expected values in (0, 1], found {fraction}")
            plans.append(("frames", float(fraction), train[position < fraction]))
        train_groups = np.unique(ids[rows.session[train]])
        if train_groups.size >= 2:
            order = rng.permutation(train_groups)
            sizes = n_videos or sorted({*(2**j for j in range(10) if 2**j < order.size),
                                        int(order.size)})  # fmt: skip
            for n in sizes:
                if not 1 <= n <= order.size:
                    continue
                keep = np.isin(ids[rows.session[train]], order[:n])
                plans.append(("videos", int(n), train[keep]))
        for axis, size, index in plans:
            sub = rows.take(index)
            labelled = sub.valid & np.isfinite(sub.Y).any(axis=1)
            est = clone(clf).set_params(behaviors=behaviors)
            if threshold_rule(clf.threshold) is not None:
                est.set_params(threshold=0.5)
            try:
                fit_rows(est, sub, behaviors)
            except PoseDataError as err:  # too few labels: a behavior never shown
                logger.info("learning curve: %s %s skipped (%s)", axis, size, err)
                continue
            plain_decisions(est, sub, None, fps)
            proba = np.full(rows.Y.shape, np.nan, dtype=np.float32)
            proba[test] = proba_of(est, rows, test)
            scored = _score_rows(est, rows, test, proba, est.thresholds_, fps, 0.5)
            for j, r in enumerate(scored):
                ok = np.isfinite(rows.Y[test, j]) & np.isfinite(proba[test, j])
                y = rows.Y[test, j][ok] > 0.5
                ap = float(average_precision_score(y, proba[test, j][ok])) if y.any() else np.nan
                out.append({
                    "axis": axis, "fold": k, "size": size,
                    "labelled_frames": int(labelled.sum()),
                    "labelled_seconds": float(labelled.sum() / fps) if fps else np.nan,
                    "positive_frames": int(np.nansum(sub.Y[:, j] > 0.5)),
                    "behavior": r["behavior"], "frame_f1": r["frame_f1"],
                    "frame_precision": r["frame_precision"], "frame_recall": r["frame_recall"],
                    "average_precision": ap,
                })  # fmt: skip
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- importance


def permutation_importance(
    clf: BehaviorClassifier,
    sessions: Any,
    labels: Any,
    *,
    features: int | Sequence[str] = 20,
    n_repeats: int = 3,
    max_frames: int = 20_000,
    random_state: int | None = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Drop in average precision when one feature is shuffled, on held-out sessions.

    Parameters
    ----------
    clf
        A fitted classifier.
    sessions, labels
        Sessions *not used for fitting* and their labels.
    features
        Feature names, or an int ``n``: the ``n`` features of highest impurity
        importance of any behavior (forest), else the first ``n``.
    n_repeats
        Shuffles per feature.
    max_frames
        Labelled rows used at most (a random subset), to bound the cost.
    random_state
        Seed of the subset and the shuffles.
    progress
        Progress bar over features.

    Returns
    -------
    pandas.DataFrame
        ``behavior``, ``feature``, ``importance_mean``, ``importance_std``,
        ``baseline`` (average precision without shuffling), sorted by
        behavior and decreasing importance.

    Examples
    --------
    >>> permutation_importance(clf, [test_ds], [test_eth], features=10)  # doctest: +SKIP
    """
    from sklearn.metrics import average_precision_score

    check_fitted(clf, "permutation_importance")
    prepared, _ = prepare(clf, sessions, labels, progress=False)
    for p in prepared:
        check_compatible(clf, p)
    rows = stack(prepared, clf.feature_names_, clf.behaviors_)
    use = np.flatnonzero(rows.valid & np.isfinite(rows.Y).any(axis=1))
    rng = np.random.default_rng(random_state)
    if use.size > max_frames:
        use = np.sort(rng.choice(use, max_frames, replace=False))
    X, Y = rows.X[use].copy(), rows.Y[use]
    if isinstance(features, int | np.integer):
        try:
            table = clf.feature_importance()
            best = table.groupby("feature")["importance"].max().sort_values(ascending=False)
            names = list(best.index[: int(features)])
        except PoseDataError:
            names = clf.feature_names_[: int(features)]
    else:
        names = [str(f) for f in features]
        unknown = [f for f in names if f not in clf.feature_names_]
        if unknown:
            raise PoseDataError(f"features: {unknown[:5]} are not features of the model")

    def score(matrix: np.ndarray) -> np.ndarray:
        proba = proba_rows(clf, matrix)
        out = np.full(len(clf.behaviors_), np.nan)
        for j in range(len(clf.behaviors_)):
            ok = np.isfinite(Y[:, j]) & np.isfinite(proba[:, j])
            y = Y[ok, j] > 0.5
            if y.any() and not y.all():
                out[j] = average_precision_score(y, proba[ok, j])
        return out

    base = score(X)
    result = []
    for name in progress_over(names, progress, "permutation importance"):
        col = clf.feature_names_.index(name)
        original = X[:, col].copy()
        drops = []
        for _ in range(n_repeats):
            X[:, col] = original[rng.permutation(original.size)]
            drops.append(base - score(X))
        X[:, col] = original
        drops = np.array(drops)
        for j, b in enumerate(clf.behaviors_):
            result.append({"behavior": b, "feature": name,
                           "importance_mean": float(np.mean(drops[:, j])),
                           "importance_std": float(np.std(drops[:, j])),
                           "baseline": float(base[j])})  # fmt: skip
    table = pd.DataFrame(result)
    order = {b: i for i, b in enumerate(clf.behaviors_)}
    table["_o"] = table["behavior"].map(order)
    table = table.sort_values(["_o", "importance_mean"], ascending=[True, False])
    return table.drop(columns="_o").reset_index(drop=True)
