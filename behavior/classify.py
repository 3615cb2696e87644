"""Supervised behavior classifiers on pose features, with evaluation that does not leak.

A :class:`BehaviorClassifier` learns per-frame behavior from pose features and
human labels, and labels new sessions:

>>> clf = BehaviorClassifier(threshold="f1", min_bout="0.5 s")  # doctest: +SKIP
>>> clf.fit([ds1, ds2, ds3], ["s1.boris.csv", eth2, eth3])  # doctest: +SKIP
>>> eth = clf.predict(ds4)  # an Ethogram  # doctest: +SKIP

Sessions are pose datasets (features computed with
:func:`behavior.features.extract` and the classifier's ``feature_options``) or
precomputed feature arrays ``(time, feature, individual)``. Labels are
:class:`~behavior.ethogram.Ethogram` objects, per-frame label arrays, or
annotation files (BORIS, BENTO, per-frame CSV ... read with
:func:`behavior.io.annotations.load_annotations` at the session's frame rate).

Rows
----
Every frame of every individual is one row: its features (social features
are taken against the other animals, so they carry no names) and its labels.
With ``multiclass=False`` (the default) each behavior gets its own binary
model, so behaviors may overlap; ``multiclass=True`` fits one model over the
behaviors plus ``"none"`` and needs exclusive labels.

Labels are matched to a session's frames by index (frame 0 is the first pose
frame) and to its individuals by name (a single labelled animal matches a single
tracked one); labels running more than one frame past the poses are refused.

Missing data, explicitly
------------------------
- *Unlabelled frames* are never trained on and never scored: frames after the
  end of an annotation that stops before the session does, NaN in a float
  label array, and individuals that have no labels. A behavior absent from the
  labels of a session that has labels counts as *not shown* there (annotation
  tools export only the behaviors they saw).
- *Untracked frames* (every feature NaN) are not trained on and get
  probability NaN, hence no behavior, when predicting.
- Other NaN features: the random forest replaces them by the median of that
  feature over the training rows (``impute_``); gradient boosting handles NaN
  natively.

Evaluation that does not leak
-----------------------------
Neighbouring frames of one video are near copies, and window features share
frames, so a random frame split scores memory, not generalisation.
:func:`cross_validate` splits by *group*: each session is a group, and
sessions that share a video or an animal (``groups=``) stay on the same side.
With a single group it splits every session into ``cv`` contiguous blocks and
drops ``gap`` seconds on each side of a test block from training. It reports
precision, recall and F1 per behavior at frame and bout level (bouts matched
at IoU >= 0.5 by :func:`behavior.ethogram.agreement`), precision-recall curves
and the threshold per behavior chosen on validation folds.
:func:`learning_curve` answers "how many labels do I need?" over labelled
frames and over videos; :func:`permutation_importance` and
:meth:`BehaviorClassifier.feature_importance` say what the models use.

Post-processing is in seconds: ``min_bout`` drops shorter bouts and
``merge_gap`` fills shorter gaps, per behavior, with
:func:`behavior.events.bouts` (gaps first, then short bouts); ``"auto"``
chooses them on validation folds, from multiples of the shortest labelled bout
and gap. Thresholds chosen by a rule are chosen on post-processed validation
predictions.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator, clone

from behavior.errors import FileFormatError, PoseDataError
from behavior.ethogram import Ethogram

logger = logging.getLogger(__name__)

__all__ = [
    "BehaviorClassifier",
    "CVResult",
    "cross_validate",
    "grouped_splits",
    "learning_curve",
    "load_classifier",
    "permutation_importance",
    "postprocess",
    "select_threshold",
]

_DIMS = ("time", "feature", "individual")
_FORMAT = "behavior-classifier"
_FORMAT_VERSION = 1
_PRECISION_RULE = re.compile(r"^\s*precision\s*>=\s*([0-9]*\.?[0-9]+)\s*$")


# --------------------------------------------------------------------------- sessions


@dataclass
class _Prepared:
    """One session turned into arrays: features ``(T, F, I)`` and labels ``(T, B, I)``."""

    name: str
    features: np.ndarray
    feature_names: list[str]
    individuals: list[str]
    time: np.ndarray
    attrs: dict[str, Any]
    meta: dict[str, Any]
    labels: np.ndarray | None = None
    label_names: list[str] = field(default_factory=list)


def _session_name(session: Any, k: int) -> str:
    if isinstance(session, str | os.PathLike):
        return Path(session).name
    source = getattr(session, "attrs", {}).get("source_file")
    if source:
        return Path(str(source)).name
    return f"session_{k}"


def _as_sessions(sessions: Any) -> tuple[list[Any], list[str], bool]:
    """(sessions, names, single) from one session, a sequence or a name -> session mapping."""
    if isinstance(sessions, xr.Dataset | xr.DataArray | str | os.PathLike):  # (a Dataset is
        return [sessions], [_session_name(sessions, 0)], True  # a Mapping too)
    if isinstance(sessions, Mapping):
        return list(sessions.values()), [str(k) for k in sessions], False
    if isinstance(sessions, Iterable):
        items = list(sessions)
        if not items:
            raise PoseDataError("sessions: expected at least one session, found none")
        names = [_session_name(s, k) for k, s in enumerate(items)]
        if len(set(names)) != len(names):  # repeated file names: number them
            names = [f"{k}:{n}" for k, n in enumerate(names)]
        return items, names, False
    raise PoseDataError(
        "sessions: expected a pose Dataset, a feature DataArray (time, feature, individual), "
        f"a file path or a list of them, found {type(sessions).__name__}"
    )


def _as_labels(labels: Any, names: list[str], single: bool) -> list[Any]:
    if isinstance(labels, Mapping) and not isinstance(labels, Ethogram | xr.Dataset):
        missing = [n for n in names if n not in labels]
        if missing:
            raise PoseDataError(f"labels: no labels for session(s) {missing}")
        return [labels[n] for n in names]
    if single and (
        isinstance(labels, Ethogram | xr.DataArray | str | os.PathLike) or labels is None
    ):
        return [labels]
    if isinstance(labels, Ethogram | xr.DataArray | str | os.PathLike):
        labels = [labels]
    items = list(labels)
    if len(items) != len(names):
        raise PoseDataError(
            f"labels: expected one entry per session ({len(names)}), found {len(items)}"
        )
    return items


def _feature_array(
    session: Any, name: str, options: Mapping[str, Any]
) -> tuple[xr.DataArray, dict]:
    """Features ``(time, feature, individual)`` of a session and what they were made from."""
    if isinstance(session, str | os.PathLike):
        from behavior.io.registry import load_poses

        session = load_poses(session)
    if isinstance(session, xr.Dataset):
        from behavior import features

        feats = features.extract(session, **{"progress": False, **dict(options)})
        keypoints = [str(k) for k in session["keypoint"].values] if "keypoint" in session else None
        fps = session.attrs.get("fps", feats.attrs.get("fps"))
        meta = {"from": "poses", "keypoints": keypoints, "fps": fps}
    elif isinstance(session, xr.DataArray):
        feats = session
        keypoints = feats.attrs.get("keypoints")
        meta = {
            "from": "features",
            "keypoints": None if keypoints is None else [str(k) for k in np.ravel(keypoints)],
            "fps": feats.attrs.get("fps"),
        }
    else:
        raise PoseDataError(
            f"{name}: expected a pose Dataset, a feature DataArray or a file path, found "
            f"{type(session).__name__}"
        )
    missing = [d for d in _DIMS if d not in feats.dims]
    extra = [d for d in feats.dims if d not in _DIMS]
    if missing or extra:
        raise PoseDataError(
            f"{name}: expected features with dims (time, feature, individual), found "
            f"{tuple(feats.dims)}"
        )
    feats = feats.transpose(*_DIMS)
    fps = meta["fps"]
    meta["fps"] = float(fps) if fps is not None and np.isfinite(float(fps)) else None
    meta["space_unit"] = feats.attrs.get("space_unit")
    meta["options"] = _options_from_attrs(feats.attrs)
    meta["n_individuals"] = int(feats.sizes["individual"])
    return feats, meta


def _options_from_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The :func:`behavior.features.extract` options recorded in a feature array's attrs."""
    out: dict[str, Any] = {}
    windows = attrs.get("windows")
    if windows is not None:
        labels = [str(w) for w in np.ravel(windows)]
        if all(re.fullmatch(r"[0-9.]+s", w) for w in labels):
            out["windows"] = tuple(f"{w[:-1]} s" for w in labels)
        elif all(re.fullmatch(r"[0-9]+f", w) for w in labels):
            out["windows"] = tuple(int(w[:-1]) for w in labels)
    for key in ("stats", "feature_sets"):
        if attrs.get(key) is not None:
            out["sets" if key == "feature_sets" else key] = tuple(
                str(v) for v in np.ravel(attrs[key])
            )
    if attrs.get("centered") is not None:
        out["centered"] = bool(attrs["centered"])
    if "windows" in out and not out["windows"]:
        out["windows"] = None
    return out


def _label_values(
    label: Any, prepared: _Prepared, multiclass_names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Labels as float ``(T, B, I)`` aligned with the session (NaN = unlabelled)."""
    name = prepared.name
    fps = prepared.meta.get("fps")
    if isinstance(label, str | os.PathLike):
        from behavior.io.annotations import load_annotations

        label = load_annotations(label, fps=fps)
    if isinstance(label, xr.DataArray):
        if "behavior" not in label.dims:
            label = Ethogram.from_states(label)  # integer codes (time, individual)
        else:
            label = label.transpose("time", "behavior", "individual")
            values = np.asarray(label.values, dtype=np.float32)
            behaviors = [str(b) for b in label["behavior"].values]
            individuals = [str(i) for i in label["individual"].values]
            return _align(values, behaviors, individuals, prepared), behaviors
    if not isinstance(label, Ethogram):
        raise PoseDataError(
            f"labels of {name}: expected an Ethogram, a label DataArray or an annotation file, "
            f"found {type(label).__name__}"
        )
    values = label.labels.values.astype(np.float32)
    return _align(values, label.behaviors, label.individuals, prepared), label.behaviors


def _align(
    values: np.ndarray, behaviors: list[str], individuals: list[str], prepared: _Prepared
) -> np.ndarray:
    """Put labels ``(T_l, B, I_l)`` on the session's frames and individuals."""
    name = prepared.name
    n_time = prepared.features.shape[0]
    inds = prepared.individuals
    if set(individuals) <= set(inds):
        index = [inds.index(i) for i in individuals]
    elif len(individuals) == 1 and len(inds) == 1:
        index = [0]
    else:
        raise PoseDataError(
            f"labels of {name}: individuals {individuals} do not match the session's {inds}; "
            "rename them (a single labelled animal matches a single tracked one)"
        )
    if values.shape[0] > n_time + 1:
        raise PoseDataError(
            f"labels of {name}: {values.shape[0]} frames of labels for {n_time} frames of poses; "
            "are they from the same video, at the same frame rate?"
        )
    values = values[:n_time]
    out = np.full((n_time, len(behaviors), len(inds)), np.nan, dtype=np.float32)
    out[: values.shape[0], :, index] = values
    if values.shape[0] < n_time:
        logger.info(
            "%s: labels cover %d of %d frames; the rest are unlabelled",
            name,
            values.shape[0],
            n_time,
        )
    return out


# --------------------------------------------------------------------------- rows


@dataclass
class _Rows:
    """All sessions stacked: one row per frame and individual."""

    X: np.ndarray  # (N, F) float32
    Y: np.ndarray | None  # (N, B) float32, NaN = unlabelled
    session: np.ndarray  # (N,) int
    individual: np.ndarray  # (N,) int, index into the session's individuals
    frame: np.ndarray  # (N,) int
    valid: np.ndarray  # (N,) bool: some feature is finite

    def take(self, index: np.ndarray) -> _Rows:
        return _Rows(
            self.X[index],
            None if self.Y is None else self.Y[index],
            self.session[index],
            self.individual[index],
            self.frame[index],
            self.valid[index],
        )


def _stack(
    prepared: list[_Prepared], feature_names: list[str], behaviors: list[str] | None
) -> _Rows:
    blocks_x, blocks_y, sess, ind, frm = [], [], [], [], []
    for s, p in enumerate(prepared):
        position = {n: k for k, n in enumerate(p.feature_names)}
        missing = [n for n in feature_names if n not in position]
        if missing:
            raise PoseDataError(
                f"{p.name}: lacks {len(missing)} of the model's {len(feature_names)} features, "
                f"e.g. {missing[:5]}; compute features with the same options "
                "(feature_options) and keypoints"
            )
        order = np.array([position[n] for n in feature_names], dtype=np.intp)
        lab = None
        if behaviors is not None:
            lab = np.full((p.features.shape[0], len(behaviors), p.features.shape[2]), np.nan,
                          dtype=np.float32)  # fmt: skip
            if p.labels is not None:
                labelled = np.isfinite(p.labels).any(axis=1, keepdims=True)  # frame labelled
                for k, b in enumerate(behaviors):
                    if b in p.label_names:
                        lab[:, k, :] = p.labels[:, p.label_names.index(b), :]
                    else:  # behavior not shown in this session
                        lab[:, k, :] = np.where(labelled[:, 0, :], 0.0, np.nan)
        n_time = p.features.shape[0]
        for i in range(p.features.shape[2]):
            blocks_x.append(np.ascontiguousarray(p.features[:, order, i], dtype=np.float32))
            if lab is not None:
                blocks_y.append(lab[:, :, i])
            sess.append(np.full(n_time, s, dtype=np.int64))
            ind.append(np.full(n_time, i, dtype=np.int64))
            frm.append(np.arange(n_time, dtype=np.int64))
    X = np.concatenate(blocks_x) if len(blocks_x) > 1 else blocks_x[0]
    return _Rows(
        X=X,
        Y=np.concatenate(blocks_y) if blocks_y else None,
        session=np.concatenate(sess),
        individual=np.concatenate(ind),
        frame=np.concatenate(frm),
        valid=np.isfinite(X).any(axis=1),
    )


# --------------------------------------------------------------------------- splits


def _group_ids(n_sessions: int, groups: Sequence[Any] | None) -> np.ndarray:
    """One integer group per session; sessions sharing any group key are joined."""
    if groups is None:
        return np.arange(n_sessions)
    groups = list(groups)
    if len(groups) != n_sessions:
        raise PoseDataError(
            f"groups: expected one entry per session ({n_sessions}), found {len(groups)}"
        )
    parent = list(range(n_sessions))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    first: dict[Any, int] = {}
    for s, g in enumerate(groups):
        keys = list(g) if isinstance(g, tuple | list | set | frozenset) else [g]
        for key in keys:
            if key is None:
                continue
            if key in first:
                parent[root(s)] = root(first[key])
            else:
                first[key] = s
    roots = [root(s) for s in range(n_sessions)]
    _, ids = np.unique(roots, return_inverse=True)
    return ids


def grouped_splits(
    session: np.ndarray,
    frame: np.ndarray,
    n_frames: Sequence[int],
    *,
    groups: Sequence[Any] | None = None,
    n_splits: int = 5,
    gap: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test row indices that never split a group (or, with one group, time blocks).

    Parameters
    ----------
    session, frame
        Session index and frame index of every row.
    n_frames
        Number of frames of each session.
    groups
        One entry per session: a key (video, animal) or a tuple of keys;
        sessions sharing any key are in the same group. Default: each session
        is its own group.
    n_splits
        Number of folds (at most the number of groups).
    gap
        With a single group: frames dropped from training on each side of a
        test block, so that window features do not straddle the split.

    Returns
    -------
    list of (train, test)
        Integer row indices. With two or more groups a group's rows are all
        in train or all in test (``GroupKFold``). With one group, fold ``k``
        tests the ``k``-th of ``n_splits`` contiguous time blocks of every
        session (all individuals of those frames together).

    Examples
    --------
    >>> session = np.repeat([0, 1, 2], 4)
    >>> frame = np.tile(np.arange(4), 3)
    >>> sorted(np.unique(session[test]).tolist()
    ...        for _, test in grouped_splits(session, frame, [4, 4, 4], n_splits=3))
    [[0], [1], [2]]
    """
    session = np.asarray(session)
    frame = np.asarray(frame)
    ids = _group_ids(len(n_frames), groups)
    row_group = ids[session]
    n_groups = int(ids.max()) + 1 if ids.size else 0
    if n_splits < 2:
        raise PoseDataError(f"n_splits: expected at least 2 folds, found {n_splits}")
    if n_groups >= 2:
        from sklearn.model_selection import GroupKFold

        k = min(n_splits, n_groups)
        splitter = GroupKFold(n_splits=k)
        rows = np.arange(session.size)
        return [(tr, te) for tr, te in splitter.split(rows, groups=row_group)]
    # one group: contiguous blocks of every session, with a gap
    lengths = np.asarray(n_frames, dtype=np.int64)[session]
    block = np.minimum((frame * n_splits) // np.maximum(lengths, 1), n_splits - 1)
    out = []
    for k in range(n_splits):
        test = np.flatnonzero(block == k)
        if test.size == 0:
            continue
        lo = (k * lengths + n_splits - 1) // n_splits  # first frame of block k
        hi = ((k + 1) * lengths + n_splits - 1) // n_splits
        near = (frame >= lo - gap) & (frame < hi + gap)
        train = np.flatnonzero(~near)
        out.append((train, test))
    if len(out) < 2:
        raise PoseDataError(f"n_splits: the sessions are too short for {n_splits} contiguous folds")
    return out


# --------------------------------------------------------------------------- thresholds


def _threshold_rule(rule: Any) -> tuple[str, float] | None:
    """("f1", nan) or ("precision", target) for a rule; None for a fixed threshold."""
    if not isinstance(rule, str):
        return None
    if rule.strip().lower() in ("f1", "max_f1", "max f1"):
        return ("f1", math.nan)
    match = _PRECISION_RULE.match(rule.lower())
    if match:
        target = float(match.group(1))
        if not 0 < target <= 1:
            raise PoseDataError(f"threshold: target precision must be in (0, 1], found {rule!r}")
        return ("precision", target)
    raise PoseDataError(
        f"threshold: expected a number, a dict per behavior, 'f1' or 'precision>=0.9', "
        f"found {rule!r}"
    )


def select_threshold(y_true: Any, proba: Any, rule: str = "f1") -> float:
    """Decision threshold for one behavior from validation labels and probabilities.

    Parameters
    ----------
    y_true
        0/1 labels (NaN = unlabelled, ignored).
    proba
        Predicted probabilities of the same frames (NaN ignored).
    rule
        ``"f1"``: the threshold of maximal F1; ``"precision>=0.9"``: the lowest
        threshold whose precision reaches 0.9 (the most recall at that
        precision), else the one of highest precision.

    Returns
    -------
    float
        A frame is positive when ``proba >= threshold``. 1.0 when there is no
        positive frame to find; 0.5 when nothing is scored.

    Examples
    --------
    >>> select_threshold([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    0.35
    """
    from sklearn.metrics import precision_recall_curve

    kind, target = _threshold_rule(rule) or ("f1", math.nan)
    y = np.asarray(y_true, dtype=float).ravel()
    p = np.asarray(proba, dtype=float).ravel()
    if y.shape != p.shape:
        raise PoseDataError(f"proba: expected shape {y.shape} like y_true, found {p.shape}")
    ok = np.isfinite(y) & np.isfinite(p)
    y, p = y[ok] > 0.5, p[ok]
    if y.size == 0:
        return 0.5
    if not y.any():
        return 1.0
    precision, recall, thresholds = precision_recall_curve(y, p)
    precision, recall = precision[:-1], recall[:-1]
    if kind == "f1":
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0)
        return float(thresholds[int(np.argmax(f1))])
    reach = np.flatnonzero(precision >= target - 1e-12)
    if reach.size:
        return float(thresholds[reach[0]])
    logger.warning(
        "no threshold reaches precision %.3g (best %.3g); using the most precise one",
        target,
        float(precision.max()),
    )
    return float(thresholds[int(np.argmax(precision))])


# --------------------------------------------------------------------------- post-processing


def _per_behavior(value: Any, behaviors: Sequence[str], name: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        unknown = [b for b in value if b not in behaviors]
        if unknown:
            raise PoseDataError(f"{name}: behavior(s) {unknown} not in {list(behaviors)}")
        return {b: value.get(b) for b in behaviors}
    return dict.fromkeys(behaviors, value)


def _clean_mask(mask: xr.DataArray, min_bout: Any, merge_gap: Any, behavior: str) -> np.ndarray:
    """``mask_from_bouts(bouts(mask, min_bout, merge_gap), mask)`` of :mod:`behavior.events`,
    on its array-level steps (no bout table: threshold searches call this many times)."""
    from behavior.events import _bout_arrays, _fps_of, _in_frames, _paint_runs

    values = np.asarray(mask.values, dtype=bool)
    if not min_bout and not merge_gap:
        return values
    fps = _fps_of(mask, None)
    min_frames = _in_frames(min_bout or 0, fps, "min_bout")
    gap_frames = _in_frames(merge_gap or 0, fps, "merge_gap")
    n, k = values.shape
    row, starts, stops = _bout_arrays(values, min_frames, gap_frames, None, 0.0)
    return _paint_runs(k, n, row, starts, stops).T


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
    mins = _per_behavior(min_bout, behaviors, "min_bout")
    gaps = _per_behavior(merge_gap, behaviors, "merge_gap")
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
        values[:, k, :] = _clean_mask(mask, mins[behavior], gaps[behavior], behavior)
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
    """Per-frame behavior classifier on pose features (one model per behavior).

    Parameters
    ----------
    behaviors
        Behaviors to learn (names in the labels); None learns every behavior
        that has positive frames in the training labels.
    model
        ``"forest"`` (random forest, the default) or ``"hgb"`` (histogram
        gradient boosting; slower to fit, takes NaN without imputation).
    multiclass
        False: one binary model per behavior (behaviors may overlap). True:
        one model over the behaviors plus ``"none"``; labels must be exclusive
        and each frame gets its most probable class (thresholds unused).
    n_estimators
        Trees of the forest, or boosting iterations of ``"hgb"``.
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
        ``"balanced"`` reweights rare behaviors; None does not.
    negative_ratio
        Binary models train on every positive frame and on the negative
        frames thinned by a regular stride to at most this many per positive
        (neighbouring frames are near copies, so little is lost, fits are
        faster and every tree sees many positives); None keeps all.
    threshold
        Decision threshold on the probability: a number, a dict per behavior,
        ``"f1"`` (chosen per behavior for maximal F1 on inner validation
        folds of the training sessions, then refitted on all) or
        ``"precision>=0.9"`` (the lowest threshold reaching that precision).
        ``threshold="f1"`` with ``min_bout="auto", merge_gap="auto"`` is what
        reaches the accuracy figures of ``benchmarks/bench_classifiers.py``;
        the default (0.5, no post-processing) fits about three times faster.
    threshold_cv
        Inner folds for a threshold rule or ``"auto"`` post-processing.
    min_bout, merge_gap
        Post-processing of predictions, per behavior (a dict) or for all: gaps
        shorter than ``merge_gap`` are filled, then bouts shorter than
        ``min_bout`` dropped. Durations as text with units (``"0.5 s"``), float
        seconds or int frames. ``"auto"`` chooses, on inner validation folds
        of the training sessions (as for a threshold rule), among 0, 1/4, 1/2,
        3/4 and 1 times the shortest labelled bout (gap) (2nd percentile);
        with ``multiclass`` it takes half the shortest.
    feature_options
        Keyword arguments of :func:`behavior.features.extract` for sessions
        given as poses (windows, sets, zones ...).
    gap
        Frames (int) or seconds dropped around test blocks when splitting a
        single session in time (inner folds; :func:`cross_validate` has its own).
    n_jobs
        Cores for the forest (-1: all).
    random_state
        Seed of the models and of any subsampling.

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
    metadata_ : dict
        fps, space unit, keypoints, individual count, feature options, versions.

    Examples
    --------
    >>> ds, truth = bh.simulate.session(duration="2 min", seed=0)  # doctest: +SKIP
    >>> clf = BehaviorClassifier(behaviors=["freeze"]).fit([ds], [truth.labels])  # doctest: +SKIP
    >>> clf.predict(ds).behaviors  # doctest: +SKIP
    ['freeze']
    """

    def __init__(
        self,
        behaviors: Sequence[str] | None = None,
        model: str = "forest",
        multiclass: bool = False,
        n_estimators: int = 100,
        max_samples: int | float | None = 10_000,
        min_samples_leaf: int = 3,
        max_features: str | int | float | None = "sqrt",
        max_depth: int | None = None,
        class_weight: str | None = "balanced",
        negative_ratio: float | None = 10.0,
        threshold: float | str | Mapping[str, float] = 0.5,
        threshold_cv: int = 3,
        min_bout: Any = None,
        merge_gap: Any = None,
        feature_options: Mapping[str, Any] | None = None,
        gap: int | float | str = "2 s",
        n_jobs: int | None = -1,
        random_state: int | None = 0,
    ) -> None:
        self.behaviors = behaviors
        self.model = model
        self.multiclass = multiclass
        self.n_estimators = n_estimators
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
        self.feature_options = feature_options
        self.gap = gap
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ preparing data

    def _prepare(
        self, sessions: Any, labels: Any = None, *, progress: bool = False, need_labels: bool = True
    ) -> tuple[list[_Prepared], bool]:
        items, names, single = _as_sessions(sessions)
        label_items = _as_labels(labels, names, single) if labels is not None else None
        if need_labels and label_items is None:
            raise PoseDataError("labels: required to fit or evaluate a classifier")
        options = dict(getattr(self, "feature_options_", None) or self.feature_options or {})
        out = []
        iterator = _progress(
            zip(items, names, strict=True), progress and len(items) > 1, "features", len(items)
        )
        for k, (session, name) in enumerate(iterator):
            feats, meta = _feature_array(session, name, options)
            prepared = _Prepared(
                name=name,
                features=np.asarray(feats.values, dtype=np.float32),
                feature_names=[str(f) for f in feats["feature"].values],
                individuals=[str(i) for i in feats["individual"].values],
                time=np.asarray(feats["time"].values)
                if "time" in feats.coords
                else np.arange(feats.sizes["time"], dtype=float),
                attrs={k2: feats.attrs[k2] for k2 in ("fps", "time_unit") if k2 in feats.attrs},
                meta=meta,
            )
            if prepared.meta["fps"] is not None:
                prepared.attrs["fps"] = prepared.meta["fps"]
            if label_items is not None and label_items[k] is not None:
                prepared.labels, prepared.label_names = _label_values(label_items[k], prepared)
            out.append(prepared)
        return out, single

    def _training_meta(self, prepared: list[_Prepared]) -> dict[str, Any]:
        first = prepared[0]
        for p in prepared[1:]:
            for key in ("fps", "space_unit", "keypoints"):
                a, b = first.meta.get(key), p.meta.get(key)
                if a is None or b is None:
                    continue
                same = (
                    math.isclose(a, b, rel_tol=0.01) if key == "fps" else sorted(a) == sorted(b)
                    if key == "keypoints" else a == b
                )  # fmt: skip
                if not same:
                    raise PoseDataError(
                        f"sessions: training sessions differ in {key}: {first.name} has {a!r}, "
                        f"{p.name} has {b!r}; resample, calibrate or select keypoints first"
                    )
        import sklearn

        import behavior

        return {
            "fps": first.meta.get("fps"),
            "space_unit": first.meta.get("space_unit"),
            "keypoints": first.meta.get("keypoints"),
            "n_individuals": first.meta.get("n_individuals"),
            "features_from": first.meta.get("from"),
            "feature_options": _jsonable(
                dict(self.feature_options or {}) or first.meta.get("options") or {}
            ),
            "behavior_version": behavior.__version__,
            "sklearn_version": sklearn.__version__,
            "n_sessions": len(prepared),
        }

    def _pick_behaviors(self, prepared: list[_Prepared]) -> list[str]:
        seen: dict[str, bool] = {}
        for p in prepared:
            if p.labels is None:
                continue
            for k, b in enumerate(p.label_names):
                seen[b] = seen.get(b, False) or bool(np.nansum(p.labels[:, k, :]) > 0)
        if self.behaviors is not None:
            wanted = [self.behaviors] if isinstance(self.behaviors, str) else list(self.behaviors)
            unknown = [b for b in wanted if b not in seen]
            if unknown:
                raise PoseDataError(
                    f"behaviors: {unknown} not in the labels; labelled behaviors: {list(seen)}"
                )
            return [str(b) for b in wanted]
        found = [b for b, positive in seen.items() if positive]
        if not found:
            raise PoseDataError("labels: no behavior has a single positive frame")
        return found

    # ------------------------------------------------------------------ models

    def _new_model(self) -> Any:
        if self.model == "forest":
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(
                n_estimators=self.n_estimators,
                max_samples=self.max_samples,
                min_samples_leaf=self.min_samples_leaf,
                max_features=self.max_features,
                max_depth=self.max_depth,
                class_weight=self.class_weight,
                bootstrap=True,
                n_jobs=self.n_jobs,
                random_state=self.random_state,
            )
        if self.model == "hgb":
            from sklearn.ensemble import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(
                max_iter=self.n_estimators,
                min_samples_leaf=max(20, self.min_samples_leaf),
                class_weight=self.class_weight,
                early_stopping=False,
                random_state=self.random_state,
            )
        raise PoseDataError(f"model: expected 'forest' or 'hgb', found {self.model!r}")

    def _fit_one(self, X: np.ndarray, y: np.ndarray) -> Any:
        est = self._new_model()
        if self.model == "forest" and isinstance(self.max_samples, int | np.integer):
            est.set_params(max_samples=min(int(self.max_samples), X.shape[0]))
        return est.fit(X, y)

    def _impute(self, X: np.ndarray) -> np.ndarray:
        if self.model != "forest":
            return X
        bad = np.isnan(X)
        if not bad.any():
            return X
        return np.where(bad, self.impute_[None, :], X).astype(np.float32, copy=False)

    def _fit_rows(self, rows: _Rows, behaviors: list[str]) -> None:
        """Fit the models on stacked rows (labels in ``rows.Y``, columns = behaviors)."""
        assert rows.Y is not None
        self.behaviors_ = list(behaviors)
        X = rows.X
        if self.model == "forest":
            use = rows.valid
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    med = np.nanmedian(X[use], axis=0) if use.any() else np.zeros(X.shape[1])
            self.impute_ = np.nan_to_num(med, nan=0.0).astype(np.float32)
        else:
            self.impute_ = np.zeros(X.shape[1], dtype=np.float32)
        self.models_ = {}
        if self.multiclass:
            labelled = rows.valid & np.isfinite(rows.Y).all(axis=1)
            Y = rows.Y[labelled] > 0.5
            if (Y.sum(axis=1) > 1).any():
                raise PoseDataError(
                    "labels: multiclass=True needs exclusive labels (at most one behavior per "
                    "frame), but some frames hold several; use multiclass=False"
                )
            y = np.where(Y.any(axis=1), Y.argmax(axis=1), len(behaviors))
            self.models_["__multiclass__"] = self._fit_one(self._impute(X[labelled]), y)
            return
        for k, behavior in enumerate(behaviors):
            labelled = rows.valid & np.isfinite(rows.Y[:, k])
            y = rows.Y[labelled, k] > 0.5
            if not y.any() or y.all():
                raise PoseDataError(
                    f"labels: behavior {behavior!r} is {'never' if not y.any() else 'always'} "
                    f"shown in the {int(labelled.sum())} labelled training frames; a classifier "
                    "needs both"
                )
            index = _thin_negatives(np.flatnonzero(labelled), y, self.negative_ratio)
            self.models_[behavior] = self._fit_one(self._impute(X[index]), rows.Y[index, k] > 0.5)

    def _proba_rows(self, X: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Probabilities ``(N, B)``; NaN where every feature is NaN."""
        if valid is None:
            valid = np.isfinite(X).any(axis=1)
        out = np.full((X.shape[0], len(self.behaviors_)), np.nan, dtype=np.float32)
        if not valid.any():
            return out
        Xv = self._impute(X[valid])
        if self.multiclass:
            est = self.models_["__multiclass__"]
            proba = est.predict_proba(Xv)
            for k in range(len(self.behaviors_)):
                col = np.flatnonzero(est.classes_ == k)
                out[valid, k] = proba[:, col[0]] if col.size else 0.0
            return out
        for k, behavior in enumerate(self.behaviors_):
            est = self.models_[behavior]
            proba = est.predict_proba(Xv)
            col = np.flatnonzero(est.classes_ == 1)
            out[valid, k] = proba[:, col[0]] if col.size else 0.0
        return out

    def _decide(self, proba: np.ndarray) -> np.ndarray:
        """Boolean ``(N, B)`` decisions from probabilities (before post-processing)."""
        if self.multiclass:
            filled = np.nan_to_num(proba, nan=-1.0)
            none = 1.0 - np.nansum(proba, axis=1)
            best = filled.argmax(axis=1)
            top = filled[np.arange(filled.shape[0]), best]
            out = np.zeros(proba.shape, dtype=bool)
            hit = np.isfinite(proba).any(axis=1) & (top > none)
            out[np.flatnonzero(hit), best[hit]] = True
            return out
        cut = np.array([self.thresholds_[b] for b in self.behaviors_], dtype=np.float64)
        return np.nan_to_num(proba, nan=-np.inf) >= cut[None, :]

    # ------------------------------------------------------------------ fit / predict

    def fit(
        self,
        sessions: Any,
        labels: Any,
        *,
        groups: Sequence[Any] | None = None,
        progress: bool = True,
    ) -> BehaviorClassifier:
        """Fit on labelled sessions.

        Parameters
        ----------
        sessions
            Pose datasets, feature arrays ``(time, feature, individual)`` or
            pose files; a list, a name -> session dict, or one session.
        labels
            One per session (same order or same keys): an Ethogram, a label
            array (integer codes over ``(time, individual)`` with
            ``attrs["labels"]``, or 0/1 floats over ``(time, behavior,
            individual)`` with NaN = unlabelled), or an annotation file.
        groups
            For a threshold rule: one key (or tuple of keys) per session;
            sessions sharing a key stay together in the inner folds.
        progress
            Show a progress bar while computing features.

        Returns
        -------
        BehaviorClassifier
            ``self``, fitted.

        Raises
        ------
        PoseDataError
            For labels that do not match their session, training sessions that
            differ in frame rate, units or keypoints, or a behavior that is
            never (or always) shown.

        Examples
        --------
        >>> clf = BehaviorClassifier().fit([feats], [eth])  # doctest: +SKIP
        """
        prepared, _ = self._prepare(sessions, labels, progress=progress)
        return self._fit_prepared(prepared, groups=groups)

    def _fit_prepared(
        self, prepared: list[_Prepared], groups: Sequence[Any] | None = None
    ) -> BehaviorClassifier:
        meta = self._training_meta(prepared)
        behaviors = self._pick_behaviors(prepared)
        names = prepared[0].feature_names
        rows = _stack(prepared, names, behaviors)
        self.feature_names_ = list(names)
        self.metadata_ = meta
        self.behaviors_ = list(behaviors)
        # options to compute the same features from poses at prediction (for a model
        # trained on precomputed features: read from the features' attrs)
        self.feature_options_ = dict(self.feature_options or {}) or dict(
            prepared[0].meta.get("options") or {}
        )
        fps = meta.get("fps")
        if self._needs_validation():
            splits = grouped_splits(
                rows.session, rows.frame, [p.features.shape[0] for p in prepared],
                groups=groups, n_splits=self.threshold_cv, gap=_gap_frames(self.gap, fps),
            )  # fmt: skip
            oof = np.full(rows.Y.shape, np.nan, dtype=np.float32)
            for train, test in splits:
                inner = clone(self).set_params(threshold=0.5, min_bout=None, merge_gap=None)
                inner._fit_rows(rows.take(train), behaviors)
                oof[test] = inner._proba_rows(rows.X[test], rows.valid[test])
            done = np.flatnonzero(np.isfinite(oof).any(axis=1))
            _tune_decisions(self, rows, oof, done, fps)
        else:
            self._plain_decisions(rows, None, fps)
        self._fit_rows(rows, behaviors)
        self.metadata_["thresholds"] = {b: float(t) for b, t in self.thresholds_.items()}
        self.metadata_["behaviors"] = list(behaviors)
        self.metadata_["min_bout"] = _jsonable(self.min_bout_)
        self.metadata_["merge_gap"] = _jsonable(self.merge_gap_)
        return self

    def _needs_validation(self) -> bool:
        """Whether thresholds or post-processing are chosen on validation folds."""
        if self.multiclass:
            return False
        auto = [
            v == "auto"
            for param in (self.min_bout, self.merge_gap)
            for v in (param.values() if isinstance(param, Mapping) else [param])
        ]
        return _threshold_rule(self.threshold) is not None or any(auto)

    def _plain_decisions(self, rows: _Rows, index: np.ndarray | None, fps: float | None) -> None:
        """Fixed thresholds; ``"auto"`` post-processing from the labels alone (half the
        shortest labelled bout / gap), where no validation folds are available."""
        behaviors = self.behaviors_
        self.thresholds_ = self._fixed_thresholds(behaviors)
        mins = _per_behavior(self.min_bout, behaviors, "min_bout")
        gaps = _per_behavior(self.merge_gap, behaviors, "merge_gap")
        for k, b in enumerate(behaviors):
            if mins[b] == "auto" or gaps[b] == "auto":
                bouts, between = _label_runs(rows, k, index)
                if mins[b] == "auto":
                    mins[b] = _scaled(_shortest(bouts, fps), 0.5)
                if gaps[b] == "auto":
                    gaps[b] = _scaled(_shortest(between, fps), 0.5)
        self.min_bout_ = mins
        self.merge_gap_ = gaps

    def _fixed_thresholds(self, behaviors: list[str]) -> dict[str, float]:
        if isinstance(self.threshold, Mapping):
            missing = [b for b in behaviors if b not in self.threshold]
            if missing:
                raise PoseDataError(f"threshold: no threshold for behavior(s) {missing}")
            return {b: float(self.threshold[b]) for b in behaviors}
        if _threshold_rule(self.threshold) is not None:  # multiclass: unused
            return dict.fromkeys(behaviors, 0.5)
        return dict.fromkeys(behaviors, float(self.threshold))

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise PoseDataError("this BehaviorClassifier is not fitted yet; call fit(...) first")

    def _check_compatible(self, p: _Prepared) -> None:
        meta = self.metadata_
        problems = []
        kp_model, kp_data = meta.get("keypoints"), p.meta.get("keypoints")
        if kp_model is not None and kp_data is not None and sorted(kp_model) != sorted(kp_data):
            missing = [k for k in kp_model if k not in kp_data]
            extra = [k for k in kp_data if k not in kp_model]
            problems.append(
                f"keypoints differ: the model was trained on {kp_model}; the data lacks "
                f"{missing} and has extra {extra} (rename or select keypoints)"
            )
        fps_model, fps_data = meta.get("fps"), p.meta.get("fps")
        if fps_model and fps_data and not math.isclose(fps_model, fps_data, rel_tol=0.01):
            problems.append(
                f"fps differs: the model was trained at {fps_model:g} fps, the data is at "
                f"{fps_data:g} fps (resample the poses, or train on this frame rate)"
            )
        unit_model, unit_data = meta.get("space_unit"), p.meta.get("space_unit")
        if unit_model and unit_data and unit_model != unit_data:
            problems.append(
                f"space units differ: the model's features are in {unit_model}, the data's in "
                f"{unit_data} (calibrate with px_per_cm so both are in cm)"
            )
        if problems:
            raise PoseDataError(f"{p.name}: cannot apply this classifier: " + "; ".join(problems))

    def _proba_prepared(self, p: _Prepared) -> xr.DataArray:
        self._check_compatible(p)
        rows = _stack([p], self.feature_names_, None)
        proba = self._proba_rows(rows.X, rows.valid)
        n_time, n_ind = p.features.shape[0], p.features.shape[2]
        values = proba.reshape(n_ind, n_time, -1).transpose(1, 2, 0)
        attrs = dict(p.attrs)
        attrs.setdefault("time_unit", "seconds" if "fps" in attrs else "frames")
        return xr.DataArray(
            values,
            dims=("time", "behavior", "individual"),
            coords={"time": p.time, "behavior": self.behaviors_, "individual": p.individuals},
            name="probability",
            attrs=attrs,
        )

    def _ethogram(self, proba: xr.DataArray) -> Ethogram:
        values = proba.values
        n_time, n_beh, n_ind = values.shape
        flat = values.transpose(2, 0, 1).reshape(n_ind * n_time, n_beh)
        decided = self._decide(flat).reshape(n_ind, n_time, n_beh).transpose(1, 2, 0)
        eth = Ethogram(
            proba.copy(data=decided),
            exclusive=bool(self.multiclass),
            attrs={**proba.attrs, "source": "classifier"},
        )
        if any(self.min_bout_.values()) or any(self.merge_gap_.values()):
            eth = postprocess(eth, self.min_bout_, self.merge_gap_)
        return eth

    def predict_proba(self, sessions: Any, *, progress: bool = True) -> Any:
        """Per-frame probability of every behavior.

        Parameters
        ----------
        sessions
            One session (pose Dataset, feature array or pose file) or a
            list / dict of them.
        progress
            Progress bar over sessions.

        Returns
        -------
        xr.DataArray or list of xr.DataArray
            float32 over ``(time, behavior, individual)``; NaN in untracked
            frames. A list (in order) when a list or dict was given.

        Raises
        ------
        PoseDataError
            When the data differ from the training data in keypoints, frame
            rate, space units or features; the message names what differs.

        Examples
        --------
        >>> clf.predict_proba(ds).sel(behavior="freeze").max()  # doctest: +SKIP
        """
        self._check_fitted()
        prepared, single = self._iter_prepared(sessions, progress)
        out = [self._proba_prepared(p) for p in prepared]
        return out[0] if single else out

    def predict(self, sessions: Any, *, progress: bool = True) -> Any:
        """Ethogram of each session: thresholds, then gap filling and minimum bouts.

        Parameters
        ----------
        sessions
            One session or a list / dict of them (pose Datasets, feature
            arrays or pose files).
        progress
            Progress bar over sessions.

        Returns
        -------
        Ethogram or list of Ethogram
            ``attrs["source"] = "classifier"``.

        Raises
        ------
        PoseDataError
            When the data differ from the training data (see :meth:`predict_proba`).

        Examples
        --------
        >>> eths = clf.predict(["a.h5", "b.h5"])  # doctest: +SKIP
        """
        self._check_fitted()
        prepared, single = self._iter_prepared(sessions, progress)
        out = [self._ethogram(self._proba_prepared(p)) for p in prepared]
        return out[0] if single else out

    def _iter_prepared(self, sessions: Any, progress: bool) -> tuple[Iterable[_Prepared], bool]:
        """Sessions prepared one at a time (features of one session in memory at once)."""
        items, names, single = _as_sessions(sessions)

        def generate() -> Iterable[_Prepared]:
            iterator: Iterable = _progress(
                zip(items, names, strict=True), progress and len(items) > 1, "predict", len(items)
            )
            for session, name in iterator:
                prepared, _ = self._prepare({name: session}, None, need_labels=False)
                yield prepared[0]

        return generate(), single

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
        self._check_fitted()
        rows = []
        for key, est in self.models_.items():
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
                            "importance": est.feature_importances_,
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
        """Write the fitted classifier (joblib) and its metadata (JSON beside it), atomically.

        Parameters
        ----------
        path
            Destination, e.g. ``"freezing.joblib"``; the metadata goes to
            ``"freezing.json"``.

        Returns
        -------
        Path
            The model file.

        Examples
        --------
        >>> clf.save("freezing.joblib")  # doctest: +SKIP
        """
        import joblib

        from behavior.io.registry import atomic_path

        self._check_fitted()
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".joblib")
        meta = {
            **_jsonable(self.metadata_),
            "feature_names": list(self.feature_names_),
            "behaviors": list(self.behaviors_),
            "params": _jsonable(self.get_params()),
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
        }
        payload = {"format": _FORMAT, "format_version": _FORMAT_VERSION, "metadata": meta,
                   "estimator": self}  # fmt: skip
        with atomic_path(path) as tmp:
            joblib.dump(payload, tmp, compress=3)
        with atomic_path(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(meta, indent=2))
        logger.debug("saved classifier to %s", path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> BehaviorClassifier:
        """Read a classifier written by :meth:`save` (only open files you trust: pickle).

        Examples
        --------
        >>> clf = BehaviorClassifier.load("freezing.joblib")  # doctest: +SKIP
        """
        return load_classifier(path)


def load_classifier(path: str | os.PathLike) -> BehaviorClassifier:
    """Read a classifier written by :meth:`BehaviorClassifier.save`.

    Only open files you trust: joblib files are pickles and can run code.

    Parameters
    ----------
    path
        The ``.joblib`` file.

    Returns
    -------
    BehaviorClassifier

    Raises
    ------
    FileNotFoundError, FileFormatError
        Missing file, or not a classifier saved by this library.

    Examples
    --------
    >>> clf = load_classifier("freezing.joblib")  # doctest: +SKIP
    """
    import joblib

    import behavior

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        payload = joblib.load(path)
    except Exception as err:
        raise FileFormatError(f"{path}: not a joblib file ({err})") from err
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise FileFormatError(
            f"{path}: expected a classifier saved by behavior, found another file"
        )
    est = payload["estimator"]
    saved = payload["metadata"].get("behavior_version")
    if saved != behavior.__version__:
        logger.warning("%s was saved by behavior %s; this is %s", path, saved, behavior.__version__)
    return est


def _thin_negatives(index: np.ndarray, y: np.ndarray, ratio: float | None) -> np.ndarray:
    """Keep every positive row and every k-th negative, at most ``ratio`` negatives per positive.

    Rows are in time order within a session, so a regular stride keeps the
    negatives spread over every session and kind of frame (neighbouring frames
    are near copies, so little is lost), and every tree sees many positives.
    """
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if ratio is None or n_pos == 0 or n_neg <= ratio * n_pos:
        return index
    count = max(1, math.floor(ratio * n_pos))
    neg = np.flatnonzero(~y)
    keep = neg[(np.arange(count) * n_neg) // count]  # a regular stride n_neg / count > 1
    return index[np.sort(np.concatenate([np.flatnonzero(y), keep]))]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def _gap_frames(gap: Any, fps: float | None) -> int:
    from behavior.units import to_frames

    if gap is None:
        return 0
    if isinstance(gap, int | np.integer):
        return int(gap)
    if fps is None:
        return 0
    return to_frames(gap, fps, name="gap")


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


def _segments(rows: _Rows, index: np.ndarray) -> list[np.ndarray]:
    """Positions in ``index`` of each run of consecutive frames of one session and individual."""
    if index.size == 0:
        return []
    s, i, f = rows.session[index], rows.individual[index], rows.frame[index]
    cut = np.flatnonzero((np.diff(s) != 0) | (np.diff(i) != 0) | (np.diff(f) != 1)) + 1
    return np.split(np.arange(index.size), cut)


def _label_runs(
    rows: _Rows, k: int, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (frames) of the labelled bouts of behavior ``k`` and of the gaps between them."""
    from behavior.events import runs

    if index is None:
        index = np.arange(rows.frame.size)
    bouts, gaps = [], []
    for seg in _segments(rows, index):
        y = rows.Y[index[seg], k]
        labelled = np.isfinite(y)
        pos = labelled & (y > 0.5)
        for lo, hi in zip(*runs(labelled), strict=True):
            starts, stops = runs(pos[lo:hi])
            inner = (starts > 0) & (stops < hi - lo)  # bouts cut by the labelled span are not
            bouts.extend((stops - starts)[inner].tolist())  # known to be complete
            gaps.extend((starts[1:] - stops[:-1]).tolist())
    return np.asarray(bouts, dtype=float), np.asarray(gaps, dtype=float)


def _shortest(lengths: np.ndarray, fps: float | None) -> float | int | None:
    """A robust shortest length (2nd percentile), in seconds (frames without fps)."""
    if lengths.size == 0:
        return None
    frames = float(np.percentile(lengths, 2, method="lower"))
    if frames <= 1:
        return None
    return frames / fps if fps else int(frames)


def _scaled(value: float | int | None, factor: float) -> float | int | None:
    if value is None or factor == 0:
        return None
    if isinstance(value, int):
        return max(1, round(value * factor))
    return float(value) * factor


def _clean_rows(
    decided: np.ndarray,
    segments: list[np.ndarray],
    behaviors: Sequence[str],
    mins: Mapping[str, Any],
    gaps: Mapping[str, Any],
    fps: float | None,
) -> np.ndarray:
    """Post-process decisions ``(n, B)`` segment by segment (all segments in one array)."""
    todo = [k for k, b in enumerate(behaviors) if mins.get(b) or gaps.get(b)]
    if not todo or not segments:
        return decided
    out = decided.copy()
    length = max(seg.size for seg in segments)
    col = np.concatenate([np.full(seg.size, j) for j, seg in enumerate(segments)])
    pos = np.concatenate([np.arange(seg.size) for seg in segments])
    flat = np.concatenate(segments)
    names = [str(j) for j in range(len(segments))]
    for k in todo:
        grid = np.zeros((length, len(segments)), dtype=bool)  # padding False: no bout
        grid[pos, col] = decided[flat, k]
        mask = xr.DataArray(
            grid, dims=("time", "individual"), coords={"individual": names},
            attrs={} if fps is None else {"fps": fps},
        )  # fmt: skip
        b = behaviors[k]
        out[flat, k] = _clean_mask(mask, mins.get(b), gaps.get(b), b)[pos, col]
    return out


def _tune_decisions(
    est: BehaviorClassifier,
    rows: _Rows,
    proba: np.ndarray,
    index: np.ndarray,
    fps: float | None,
) -> None:
    """Set ``thresholds_``, ``min_bout_`` and ``merge_gap_`` from validation probabilities.

    Per behavior: the threshold by the rule on the raw frames; then the minimum bout
    and merge gap left ``"auto"``, among 0, 1/4, 1/2, 3/4 and 1 times the shortest
    labelled bout (gap), jointly with a coarse grid of thresholds (0.1 to 0.9, and
    the raw one) when the threshold is a rule; then the threshold again, on a fine
    grid, with that post-processing. Fixed values are kept as given.
    """
    behaviors = est.behaviors_
    rule = est.threshold if _threshold_rule(est.threshold) is not None else None
    kind, target = _threshold_rule(rule) or ("f1", math.nan)
    fixed = est._fixed_thresholds(behaviors)
    mins = _per_behavior(est.min_bout, behaviors, "min_bout")
    gaps = _per_behavior(est.merge_gap, behaviors, "merge_gap")
    segments = _segments(rows, index)
    thresholds: dict[str, float] = {}
    for k, b in enumerate(behaviors):
        y, p = rows.Y[index, k], proba[index, k]
        labelled = np.isfinite(y)
        ref = (y > 0.5) & labelled
        threshold = select_threshold(y, p, rule) if rule is not None else fixed[b]
        bouts, between = _label_runs(rows, k, index)
        options = []
        for value, lengths in ((mins[b], bouts), (gaps[b], between)):
            if value == "auto":
                longest = _shortest(lengths, fps)
                options.append([_scaled(longest, f) for f in (0, 0.25, 0.5, 0.75, 1.0)])
            else:
                options.append([value])

        def score(t: float, mb: Any, mg: Any, y=y, p=p, labelled=labelled, ref=ref, b=b) -> float:
            decided = (np.nan_to_num(p, nan=-np.inf) >= t)[:, None]
            pred = _clean_rows(decided, segments, [b], {b: mb}, {b: mg}, fps)[:, 0] & labelled
            tp, fp = int((pred & ref).sum()), int((pred & ~ref).sum())
            fn = int((~pred & ref).sum())
            if kind == "f1":
                return 2 * tp / max(2 * tp + fp + fn, 1)
            return tp / max(tp + fn, 1) if tp / max(tp + fp, 1) >= target else -1.0

        best_mb, best_mg = options[0][0], options[1][0]
        if ref.any() and len(options[0]) * len(options[1]) > 1:
            coarse = [threshold]
            if rule is not None:  # post-processing shifts the best threshold: search both
                coarse += [t for t in np.arange(0.1, 0.95, 0.1) if abs(t - threshold) > 0.02]
            trials = [(t, mb, mg) for t in coarse for mb in options[0] for mg in options[1]]
            values = [score(*trial) for trial in trials]
            threshold, best_mb, best_mg = trials[int(np.argmax(values))]
        if ref.any() and rule is not None and (best_mb or best_mg):
            grid = np.unique(np.concatenate([np.arange(0.05, 0.99, 0.025), [threshold]]))
            values = [score(t, best_mb, best_mg) for t in grid]
            threshold = float(grid[int(np.argmax(values))])
        thresholds[b] = float(threshold)
        mins[b], gaps[b] = best_mb, best_mg
    est.thresholds_ = thresholds
    est.min_bout_ = mins
    est.merge_gap_ = gaps


def _score_rows(
    est: BehaviorClassifier,
    rows: _Rows,
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
    segments = _segments(rows, index)
    y = rows.Y[index]
    decided = scorer._decide(proba[index])
    decided = _clean_rows(decided, segments, behaviors, est.min_bout_, est.merge_gap_, fps)
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
) -> tuple[list[_Prepared], _Rows, list[str], dict[str, Any]]:
    prepared, _ = clf._prepare(sessions, labels, progress=progress)
    meta = clf._training_meta(prepared)
    behaviors = clf._pick_behaviors(prepared)
    rows = _stack(prepared, prepared[0].feature_names, behaviors)
    return prepared, rows, behaviors, meta


def _fold_splits(
    prepared: list[_Prepared], rows: _Rows, groups: Any, cv: int, gap: Any, fps: float | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    return grouped_splits(
        rows.session, rows.frame, [p.features.shape[0] for p in prepared],
        groups=groups, n_splits=cv, gap=_gap_frames(gap, fps),
    )  # fmt: skip


def _progress(iterable: Any, progress: bool, desc: str, total: int | None = None) -> Any:
    from behavior._progress import progress_bar

    return progress_bar(iterable, enabled=progress, desc=desc, total=total)


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
    rule = rule or (clf.threshold if _threshold_rule(clf.threshold) else "f1")
    _threshold_rule(rule)
    tuned = clf._needs_validation()
    oof = np.full(rows.Y.shape, np.nan, dtype=np.float32)
    fold_of = np.full(rows.X.shape[0], -1, dtype=np.int64)
    fitted = []
    for k, (train, test) in enumerate(_progress(splits, progress, "folds", len(splits))):
        est = clone(clf).set_params(behaviors=behaviors)
        est._fit_rows(rows.take(train), behaviors)
        if not tuned:
            est._plain_decisions(rows, train, fps)
        oof[test] = est._proba_rows(rows.X[test], rows.valid[test])
        fold_of[test] = k
        fitted.append(est)
    score_rows, fold_rows = [], []
    for k, (train, test) in enumerate(splits):
        est = fitted[k]
        if tuned:  # chosen on the other folds' validation frames only
            other = np.flatnonzero((fold_of >= 0) & (fold_of != k))
            _tune_decisions(est, rows, oof, other, fps)
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
    _tune_decisions(whole, rows, oof, np.flatnonzero(fold_of >= 0), fps)
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
    ids = _group_ids(len(prepared), groups)
    n_frames = np.array([p.features.shape[0] for p in prepared])
    rng = np.random.default_rng(clf.random_state)
    out = []
    for k, (train, test) in enumerate(_progress(splits, progress, "learning curve", len(splits))):
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
            if _threshold_rule(clf.threshold) is not None:
                est.set_params(threshold=0.5)
            try:
                est._fit_rows(sub, behaviors)
            except PoseDataError as err:  # too few labels: a behavior never shown
                logger.info("learning curve: %s %s skipped (%s)", axis, size, err)
                continue
            est._plain_decisions(sub, None, fps)
            proba = np.full(rows.Y.shape, np.nan, dtype=np.float32)
            proba[test] = est._proba_rows(rows.X[test], rows.valid[test])
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

    clf._check_fitted()
    prepared, _ = clf._prepare(sessions, labels, progress=False)
    for p in prepared:
        clf._check_compatible(p)
    rows = _stack(prepared, clf.feature_names_, clf.behaviors_)
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
        proba = clf._proba_rows(matrix)
        out = np.full(len(clf.behaviors_), np.nan)
        for j in range(len(clf.behaviors_)):
            ok = np.isfinite(Y[:, j]) & np.isfinite(proba[:, j])
            y = Y[ok, j] > 0.5
            if y.any() and not y.all():
                out[j] = average_precision_score(y, proba[ok, j])
        return out

    base = score(X)
    result = []
    for name in _progress(names, progress, "permutation importance"):
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
