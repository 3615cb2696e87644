"""The array engine shared by the classifier and its evaluation (private to ``classify``).

Sessions become arrays here (:class:`Prepared`: features ``(T, F, I)`` and
labels ``(T, B, I)``), arrays become rows (:class:`Rows`: one row per frame and
individual), and a :class:`~behavior.classify.BehaviorClassifier` is fitted,
applied and tuned on rows. :mod:`behavior.classify.model` (the estimator) and
:mod:`behavior.classify.evaluation` (cross-validation, learning curves,
importance) both build on these functions, so that a fold of a
cross-validation is fitted exactly as :meth:`BehaviorClassifier.fit` fits.

The functions that take ``est`` read its hyperparameters and read or set its
fitted attributes (``models_``, ``thresholds_`` ...): they are the estimator's
insides, kept here so that the evaluation does not reach into private methods.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import xarray as xr

from behavior._json import to_jsonable
from behavior.dataset import fps_of, session_name, time_seconds
from behavior.errors import FileFormatError, PoseDataError
from behavior.ethogram import Ethogram

if TYPE_CHECKING:  # pragma: no cover
    from behavior.classify.model import BehaviorClassifier

logger = logging.getLogger("behavior.classify")

DIMS = ("time", "feature", "individual")
_PRECISION_RULE = re.compile(r"^\s*precision\s*>=\s*([0-9]*\.?[0-9]+)\s*$")


# --------------------------------------------------------------------------- sessions


@dataclass
class Prepared:
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
    quality: set[str] = field(default_factory=set)  # tracking-quality features
    pair: bool = False  # labels are the pair's (the session's), not each animal's


def as_sessions(sessions: Any) -> tuple[list[Any], list[str], bool]:
    """(sessions, names, single) from one session, a sequence or a name -> session mapping."""
    if isinstance(sessions, xr.Dataset | xr.DataArray | str | os.PathLike):  # (a Dataset is
        return [sessions], [session_name(sessions, 0)], True  # a Mapping too)
    if isinstance(sessions, Mapping):
        return list(sessions.values()), [str(k) for k in sessions], False
    if hasattr(sessions, "shape") and hasattr(sessions, "dtype"):  # numpy, sparse, memmap
        raise PoseDataError(
            "sessions: expected pose Datasets, feature DataArrays (time, feature, individual) "
            f"or file paths, found a {type(sessions).__name__} of shape {sessions.shape}; a "
            "BehaviorClassifier takes sessions, not a feature matrix (wrap features in an "
            "xr.DataArray with dims (time, feature, individual))"
        )
    if isinstance(sessions, Iterable):
        items = list(sessions)
        if not items:
            raise PoseDataError("sessions: expected at least one session, found none")
        names = [session_name(s, k) for k, s in enumerate(items)]
        if len(set(names)) != len(names):  # repeated file names: number them
            names = [f"{k}:{n}" for k, n in enumerate(names)]
        return items, names, False
    raise PoseDataError(
        "sessions: expected a pose Dataset, a feature DataArray (time, feature, individual), "
        f"a file path or a list of them, found {type(sessions).__name__}"
    )


def as_labels(labels: Any, names: list[str], single: bool) -> list[Any]:
    """One label entry per session, from a list, a name -> labels dict or one label."""
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


DEFAULT_FEATURES: dict[str, Any] = {
    "windows": ("0.5 s", "1 s", "2 s", "4 s", "8 s"),
    "stats": ("mean", "std", "change"),
    "fill_gaps": "linear",
}
"""The :func:`behavior.features.extract` options of a classifier given no
``feature_options``: windows from half a second to 8 s centred on the frame,
their mean, spread and change (after minus before), on positions whose gaps are
filled; the sets of :func:`default_sets`. Chosen by grouped cross-validation on
the real two-rat sessions (``benchmarks/bench_classifiers_real.py``)."""


def default_sets(n_individuals: int) -> tuple[str, ...]:
    """Feature sets of the default classifier: the animal's pose and movement, the
    ``dyad`` geometry when there are others, and tracking quality."""
    if n_individuals >= 2:
        return ("pose", "kinematics", "dyad", "quality")
    return ("pose", "kinematics", "quality")


def feature_array(session: Any, name: str, options: Mapping[str, Any]) -> tuple[xr.DataArray, dict]:
    """Features ``(time, feature, individual)`` of a session and what they were made from.

    Empty ``options`` mean :data:`DEFAULT_FEATURES` with :func:`default_sets`.
    """
    if isinstance(session, str | os.PathLike):
        from behavior.io.registry import load_poses

        session = load_poses(session)
    if isinstance(session, xr.Dataset):
        from behavior import features

        if not options:
            n_ind = session.sizes.get("individual", 1)
            options = {**DEFAULT_FEATURES, "sets": default_sets(n_ind)}
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
    missing = [d for d in DIMS if d not in feats.dims]
    extra = [d for d in feats.dims if d not in DIMS]
    if missing or extra:
        raise PoseDataError(
            f"{name}: expected features with dims (time, feature, individual), found "
            f"{tuple(feats.dims)}"
        )
    feats = feats.transpose(*DIMS)
    fps = meta["fps"]
    meta["fps"] = float(fps) if fps is not None and np.isfinite(float(fps)) else None
    meta["space_unit"] = feats.attrs.get("space_unit")
    meta["options"] = options_from_attrs(feats.attrs)
    meta["n_individuals"] = int(feats.sizes["individual"])
    return feats, meta


def options_from_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
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
    if attrs.get("fill_gaps") not in (None, "none"):
        out["fill_gaps"] = str(attrs["fill_gaps"])
    roles = attrs.get("keypoint_roles")
    if isinstance(roles, str):
        try:
            roles = json.loads(roles)
        except ValueError:
            roles = None
    if isinstance(roles, dict) and roles.get("inferred"):
        # roles inferred from the training data are kept, so that every session
        # predicted later has the same features (not roles inferred anew)
        out["roles"] = {k: v for k, v in roles.items() if k != "inferred" and v is not None}
    if "windows" in out and not out["windows"]:
        out["windows"] = None
    return out


def label_values(
    label: Any, prepared: Prepared, unscored: Sequence[str] = ()
) -> tuple[np.ndarray, list[str]]:
    """Labels as float ``(T, B, I)`` aligned with the session (NaN = unlabelled).

    Frames carrying a label named in ``unscored`` (e.g. the annotator's
    background outside the scored window) become unlabelled, and those names
    are dropped.
    """
    values, behaviors = _label_values(label, prepared)
    drop = [k for k, b in enumerate(behaviors) if b in set(unscored)]
    if not drop:
        return values, behaviors
    off = np.nan_to_num(values[:, drop, :], nan=0.0).max(axis=1) > 0.5  # (T, I)
    keep = [k for k in range(len(behaviors)) if k not in drop]
    values = values[:, keep, :]
    values[np.broadcast_to(off[:, None, :], values.shape)] = np.nan
    return values, [behaviors[k] for k in keep]


def _label_values(label: Any, prepared: Prepared) -> tuple[np.ndarray, list[str]]:
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
            check_label_time(label, label.attrs, prepared)
            return align_labels(values, behaviors, individuals, prepared), behaviors
    if not isinstance(label, Ethogram):
        raise PoseDataError(
            f"labels of {name}: expected an Ethogram, a label DataArray or an annotation file, "
            f"found {type(label).__name__}"
        )
    check_label_time(label.labels, label.attrs, prepared)
    values = label.labels.values.astype(np.float32)
    return align_labels(values, label.behaviors, label.individuals, prepared), label.behaviors


def _seconds(time: np.ndarray, attrs: Mapping[str, Any], fps: Any) -> np.ndarray | None:
    """Times in seconds (None when they are frames and no frame rate is known)."""
    if attrs.get("time_unit") != "frames":
        return time
    fps = attrs.get("fps", fps)
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        return None
    return time / fps if math.isfinite(fps) and fps > 0 else None


def check_label_time(labels: xr.DataArray, attrs: Mapping[str, Any], prepared: Prepared) -> None:
    """Refuse labels whose time coordinate is not the session's, frame for frame.

    Labels and session are put together by frame index; this checks that the
    frames they share are at the same times (within half a frame), so that labels
    of another time range, or at another frame rate, are not trained on silently.
    Labels whose time is the bare frame index ``0, 1, 2 ...`` (built without a
    time coordinate) and times in frames without a frame rate are not checked.
    """
    if "time" not in labels.coords or labels.sizes["time"] == 0 or prepared.time.size == 0:
        return
    fps = prepared.meta.get("fps")
    raw = time_seconds(labels)
    if (
        not attrs.get("time_unit")
        and not attrs.get("fps")
        and np.array_equal(raw, np.arange(raw.size))
    ):
        return
    label_time = _seconds(raw, attrs, fps)
    session_time = _seconds(np.asarray(prepared.time, dtype=np.float64), prepared.attrs, fps)
    if label_time is None or session_time is None:
        return
    n = min(label_time.size, session_time.size)
    if session_time.size > 1:
        step = float(np.median(np.diff(session_time)))
    elif fps:
        step = 1.0 / float(fps)
    else:
        step = 1.0
    tolerance = 0.5 * abs(step) + 1e-9
    off = np.abs(label_time[:n] - session_time[:n]) > tolerance
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise PoseDataError(
            f"labels of {prepared.name}: expected labels on the session's time "
            f"({session_time[0]:.6g} to {session_time[-1]:.6g} s, {session_time.size} frames), "
            f"found labels from {label_time[0]:.6g} to {label_time[-1]:.6g} s "
            f"({label_time.size} frames): frame {i} is at {label_time[i]:.6g} s in the labels "
            f"and {session_time[i]:.6g} s in the session. Select the labels of the session's "
            "time range (or the session of the labels'), at the same frame rate"
        )


LABEL_OVERRUN = 0.01
"""Labels may run this fraction of the session (at least a frame) past the poses:
trackers drop a video's last frames (7 to 59 frames in 4 of the 40 rat sessions);
labels running further are refused as being of another video or frame rate."""


def align_labels(
    values: np.ndarray, behaviors: list[str], individuals: list[str], prepared: Prepared
) -> np.ndarray:
    """Put labels ``(T_l, B, I_l)`` on the session's frames and individuals."""
    name = prepared.name
    n_time = prepared.features.shape[0]
    inds = prepared.individuals
    if set(individuals) <= set(inds):
        index = [inds.index(i) for i in individuals]
    elif len(individuals) == 1 and len(inds) == 1:
        index = [0]
    elif len(individuals) == 1:
        # one label stream for a session of several animals: the pair's (dyad's) labels,
        # given to every animal's view of the pair
        index = list(range(len(inds)))
        values = np.repeat(values, len(inds), axis=2)
        prepared.pair = True
        logger.info(
            "%s: labels %r are for the pair %s, not for one animal", name, individuals[0], inds
        )
    else:
        raise PoseDataError(
            f"labels of {name}: individuals {individuals} do not match the session's {inds}; "
            "rename them (a single labelled animal matches a single tracked one; one label "
            "stream for a session of several animals is read as the pair's labels)"
        )
    extra = values.shape[0] - n_time
    if extra > max(1, round(LABEL_OVERRUN * n_time)):
        raise PoseDataError(
            f"labels of {name}: {values.shape[0]} frames of labels for {n_time} frames of poses; "
            "are they from the same video, at the same frame rate?"
        )
    if extra > 1:  # the tracker dropped the video's last frames: their labels go unused
        logger.warning(
            "labels of %s run %d frames past the %d frames of poses; those labels are unused",
            name, extra, n_time,
        )  # fmt: skip
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
class Rows:
    """All sessions stacked: one row per frame and individual."""

    X: np.ndarray  # (N, F) float32
    Y: np.ndarray | None  # (N, B) float32, NaN = unlabelled
    session: np.ndarray  # (N,) int
    individual: np.ndarray  # (N,) int, index into the session's individuals
    frame: np.ndarray  # (N,) int
    valid: np.ndarray  # (N,) bool: some pose feature (not a tracking-quality one) is finite
    pair: bool = False  # labels are the pair's: every animal's row of a frame holds them

    def take(self, index: np.ndarray) -> Rows:
        return Rows(
            self.X[index],
            None if self.Y is None else self.Y[index],
            self.session[index],
            self.individual[index],
            self.frame[index],
            self.valid[index],
            self.pair,
        )


def stack(prepared: list[Prepared], feature_names: list[str], behaviors: list[str] | None) -> Rows:
    """All sessions as rows, features in ``feature_names`` order, labels of ``behaviors``."""
    blocks_x, blocks_y, sess, ind, frm = [], [], [], [], []
    # A row is valid (tracked) where some pose feature is finite: the quality set
    # ("missing:nose", "conf:..."), finite even where nothing was tracked, does not
    # count, so an untracked frame is neither trained on nor given a behavior.
    quality = set().union(*(p.quality for p in prepared)) if prepared else set()
    pose_columns = np.array([n not in quality for n in feature_names], dtype=bool)
    if not pose_columns.any():
        pose_columns[:] = True
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
    return Rows(
        X=X,
        Y=np.concatenate(blocks_y) if blocks_y else None,
        session=np.concatenate(sess),
        individual=np.concatenate(ind),
        frame=np.concatenate(frm),
        valid=np.isfinite(X[:, pose_columns]).any(axis=1),
        pair=any(p.pair for p in prepared),
    )


# --------------------------------------------------------------------------- splits


def group_ids(n_sessions: int, groups: Sequence[Any] | None) -> np.ndarray:
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
    ids = group_ids(len(n_frames), groups)
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


def threshold_rule(rule: Any) -> tuple[str, float] | None:
    """("f1", nan) or ("precision", target) for a rule; None for a fixed threshold."""
    if not isinstance(rule, str):
        return None
    if rule.strip().lower() in ("f1", "max_f1", "max f1", "auto"):
        return ("f1", math.nan)
    match = _PRECISION_RULE.match(rule.lower())
    if match:
        target = float(match.group(1))
        if not 0 < target <= 1:
            raise PoseDataError(f"threshold: target precision must be in (0, 1], found {rule!r}")
        return ("precision", target)
    raise PoseDataError(
        f"threshold: expected a number, a dict per behavior, 'auto', 'f1' or "
        f"'precision>=0.9', found {rule!r}"
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

    kind, target = threshold_rule(rule) or ("f1", math.nan)
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


def per_behavior(value: Any, behaviors: Sequence[str], name: str) -> dict[str, Any]:
    """A value per behavior from one value for all or a dict (unknown names refused)."""
    if isinstance(value, Mapping):
        unknown = [b for b in value if b not in behaviors]
        if unknown:
            raise PoseDataError(f"{name}: behavior(s) {unknown} not in {list(behaviors)}")
        return {b: value.get(b) for b in behaviors}
    return dict.fromkeys(behaviors, value)


def clean_mask(mask: xr.DataArray, min_bout: Any, merge_gap: Any, behavior: str) -> np.ndarray:
    """``mask_from_bouts(bouts(mask, min_bout, merge_gap), mask)`` of :mod:`behavior.bouts`,
    on its array-level steps (no bout table: threshold searches call this many times)."""
    from behavior.bouts import duration_frames, filter_runs, paint_runs

    values = np.asarray(mask.values, dtype=bool)
    if not min_bout and not merge_gap:
        return values
    fps = fps_of(mask)
    min_frames = duration_frames(min_bout or 0, fps, name="min_bout")
    gap_frames = duration_frames(merge_gap or 0, fps, name="merge_gap")
    n, k = values.shape
    row, starts, stops = filter_runs(values, min_frames, gap_frames)
    return paint_runs(n, k, row, starts, stops)


# --------------------------------------------------------------------------- the estimator's engine


def prepare(
    est: BehaviorClassifier,
    sessions: Any,
    labels: Any = None,
    *,
    progress: bool = False,
    need_labels: bool = True,
) -> tuple[list[Prepared], bool]:
    """Sessions (and labels) as :class:`Prepared` arrays, with ``est``'s feature options."""
    items, names, single = as_sessions(sessions)
    label_items = as_labels(labels, names, single) if labels is not None else None
    if need_labels and label_items is None:
        raise PoseDataError("labels: required to fit or evaluate a classifier")
    options = dict(getattr(est, "feature_options_", None) or est.feature_options or {})
    out = []
    iterator = progress_over(
        zip(items, names, strict=True), progress and len(items) > 1, "features", len(items)
    )
    for k, (session, name) in enumerate(iterator):
        feats, meta = feature_array(session, name, options)
        prepared = Prepared(
            name=name,
            features=np.asarray(feats.values, dtype=np.float32),
            feature_names=[str(f) for f in feats["feature"].values],
            individuals=[str(i) for i in feats["individual"].values],
            time=np.asarray(feats["time"].values)
            if "time" in feats.coords
            else np.arange(feats.sizes["time"], dtype=float),
            attrs={k2: feats.attrs[k2] for k2 in ("fps", "time_unit") if k2 in feats.attrs},
            meta=meta,
            quality={
                str(f)
                for f, group in zip(
                    feats["feature"].values, feats["feature_set"].values, strict=True
                )
                if str(group) == "quality"
            }
            if "feature_set" in feats.coords
            else set(),
        )
        if prepared.meta["fps"] is not None:
            prepared.attrs["fps"] = prepared.meta["fps"]
        if label_items is not None and label_items[k] is not None:
            prepared.labels, prepared.label_names = label_values(
                label_items[k], prepared, unscored_names(est)
            )
        out.append(prepared)
    return out, single


def training_meta(est: BehaviorClassifier, prepared: list[Prepared]) -> dict[str, Any]:
    """What the model is trained on (fps, units, keypoints ...); sessions must agree."""
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
        "feature_options": to_jsonable(
            dict(est.feature_options or {}) or first.meta.get("options") or {}
        ),
        "behavior_version": behavior.__version__,
        "sklearn_version": sklearn.__version__,
        "n_sessions": len(prepared),
    }


def pick_behaviors(est: BehaviorClassifier, prepared: list[Prepared]) -> list[str]:
    """The behaviors to learn: ``est.behaviors``, else every one shown in the labels."""
    seen: dict[str, bool] = {}
    for p in prepared:
        if p.labels is None:
            continue
        for k, b in enumerate(p.label_names):
            seen[b] = seen.get(b, False) or bool(np.nansum(p.labels[:, k, :]) > 0)
    if est.behaviors is not None:
        wanted = [est.behaviors] if isinstance(est.behaviors, str) else list(est.behaviors)
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


MODELS = ("ensemble", "lightgbm", "forest", "hgb", "svm", "tcn")
"""The model options of :class:`~behavior.classify.BehaviorClassifier` (``model=``)."""

ENSEMBLE = ("lightgbm", "tcn")
"""The members of ``model="ensemble"``, whose probabilities are averaged."""


def members(est: BehaviorClassifier) -> tuple[str, ...]:
    """The kinds of model ``est`` fits: the ensemble's members or its one model."""
    return ENSEMBLE if est.model == "ensemble" else (est.model,)


def member_key(key: str, kind: str, est: BehaviorClassifier) -> str:
    """Key in ``models_`` of the ``kind`` member for ``key`` (a behavior or
    ``"__multiclass__"``): the first member keeps the key, others add ``|kind``."""
    return key if kind == members(est)[0] else f"{key}|{kind}"


_TREES = {"lightgbm": 200, "hgb": 200, "forest": 100}

LIGHTGBM = {
    "num_leaves": 31,
    "subsample": 0.5,
    "subsample_freq": 1,
    "colsample_bytree": 0.15,
    "max_bin": 63,
}
"""LightGBM's tree settings for ``model="lightgbm"`` (and the ensemble's member).
Each tree sees half the rows and 15 % of the features: neighbouring frames, and
the windowed features of one signal, are near copies of one another. On the 40
rat_social_dev sessions (grouped 5-fold CV, ``benchmarks/bench_classifiers_real.py
--only lightgbm``, ``benchmarks/results/classifiers_real/lightgbm_settings.txt``) the
cross-validation ran 2.56 times faster than with the previous 63 leaves, 80 % of the
rows and 50 % of the features (354 s against 906 s), at the same accuracy: macro
frame F1 0.761 against 0.759, aggression 0.637 against 0.632 (bout F1: aggression
0.303 against 0.277, social 0.474 against 0.489, nonsocial 0.575 against 0.582). The
ensemble's LightGBM member uses them too; the ensemble was not measured again."""


class BoosterClassifier:
    """A LightGBM model read back from its text form: ``classes_`` and ``predict_proba``.

    LightGBM's own text format (trees as numbers, parsed by LightGBM, no code)
    is how a boosted model is saved; see :func:`encode_model`.
    """

    def __init__(self, text: str, classes: np.ndarray) -> None:
        from lightgbm import Booster

        self.booster_ = Booster(model_str=text)
        self.classes_ = np.asarray(classes)

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.asarray(self.booster_.feature_importance("split"), dtype=np.float64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raw = np.asarray(self.booster_.predict(X), dtype=np.float64)
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw


def encode_model(model: Any) -> Any:
    """A fitted model in a form a ``.skops`` file holds as plain data where needed.

    LightGBM models become ``{"kind": "lightgbm", "text": ..., "classes": ...}``;
    scikit-learn models are kept (skops saves them); temporal models become
    ``{"kind": "tcn", "params": ..., "fitted": ...}`` of plain arrays.
    """
    if type(model).__module__.startswith("lightgbm") or isinstance(model, BoosterClassifier):
        booster = model.booster_
        return {"kind": "lightgbm", "text": booster.model_to_string(), "classes": model.classes_}
    if type(model).__name__ == "TemporalConvClassifier":
        fitted = {k: v for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}
        return {"kind": "tcn", "params": model.get_params(), "fitted": fitted}
    return model


def decode_model(value: Any, where: str) -> Any:
    """The model :func:`encode_model` encoded (``where`` names the file in errors)."""
    if not isinstance(value, dict):
        return value
    kind = value.get("kind")
    if kind == "lightgbm" and isinstance(value.get("text"), str):
        try:
            return BoosterClassifier(value["text"], np.asarray(value["classes"]))
        except Exception as err:  # LightGBM refuses a damaged model text
            raise FileFormatError(f"{where}: damaged LightGBM model ({err})") from err
    if kind == "tcn" and isinstance(value.get("params"), dict):
        from behavior.classify.temporal import TemporalConvClassifier

        known = TemporalConvClassifier().get_params()
        params, fitted = value["params"], value.get("fitted")
        if set(params) - set(known) or not isinstance(fitted, dict):
            raise FileFormatError(
                f"{where}: expected a saved temporal model, found parameters {sorted(params)}"
            )
        model = TemporalConvClassifier(**params)
        for name, item in fitted.items():
            if isinstance(name, str) and name.endswith("_"):
                setattr(model, name, item)
        return model
    raise FileFormatError(f"{where}: expected a saved model, found a dict with kind {kind!r}")


def unscored_names(est: BehaviorClassifier) -> tuple[str, ...]:
    """The label names that mark unscored frames (``est.unscored``) as a tuple."""
    value = getattr(est, "unscored", None)
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def n_trees(est: BehaviorClassifier) -> int:
    """Trees (or boosting rounds) of the model: ``n_estimators`` or the model's default."""
    if est.n_estimators is not None:
        return int(est.n_estimators)
    return _TREES.get(members(est)[0], 100)


def resolve_multiclass(est: BehaviorClassifier, rows: Rows) -> bool:
    """``multiclass`` with ``"auto"`` resolved: True when no labelled frame holds two behaviors."""
    if est.multiclass != "auto":
        return bool(est.multiclass)
    if rows.Y is None or rows.Y.shape[1] < 2:
        return False
    return not bool((np.nan_to_num(rows.Y, nan=0.0) > 0.5).sum(axis=1).max(initial=0) > 1)


def new_model(est: BehaviorClassifier, kind: str | None = None) -> Any:
    """An unfitted model of ``kind`` (default: ``est.model``) from ``est``'s hyperparameters."""
    seed = est.random_state
    kind = kind or est.model
    if kind == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            n_estimators=n_trees(est),
            learning_rate=est.learning_rate,
            **LIGHTGBM,
            max_depth=-1 if est.max_depth is None else int(est.max_depth),
            min_child_samples=max(est.min_samples_leaf, 50),
            class_weight=None if est.class_weight == "auto" else est.class_weight,
            n_jobs=est.n_jobs if est.n_jobs not in (None, -1) else 0,
            random_state=np.random.default_rng().integers(2**31 - 1) if seed is None else seed,
            verbose=-1,
        )
    if kind == "forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=n_trees(est),
            max_samples=est.max_samples,
            min_samples_leaf=est.min_samples_leaf,
            max_features=est.max_features,
            max_depth=est.max_depth,
            class_weight="balanced" if est.class_weight == "auto" else est.class_weight,
            bootstrap=True,
            n_jobs=est.n_jobs,
            random_state=seed,
        )
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=n_trees(est),
            learning_rate=est.learning_rate,
            min_samples_leaf=max(20, est.min_samples_leaf),
            class_weight="balanced" if est.class_weight == "auto" else est.class_weight,
            early_stopping=False,
            random_state=seed,
        )
    if kind == "svm":
        # a support-vector machine on window features: an RBF kernel approximated by
        # Nystroem components, then a linear SVM; probabilities by Platt scaling
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.kernel_approximation import Nystroem
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        svm = LinearSVC(
            C=0.1,
            class_weight="balanced" if est.class_weight == "auto" else est.class_weight,
            random_state=seed,
        )
        return make_pipeline(
            StandardScaler(),
            Nystroem(n_components=500, gamma=None, random_state=seed),
            CalibratedClassifierCV(svm, cv=3),
        )
    if kind == "tcn":
        from behavior.classify.temporal import TemporalConvClassifier

        return TemporalConvClassifier(
            class_weight="balanced" if est.class_weight == "auto" else est.class_weight,
            random_state=seed,
            progress=False,
        )
    raise PoseDataError(f"model: expected one of {list(MODELS)}, found {kind!r}")


def fit_one(
    est: BehaviorClassifier,
    X: np.ndarray,
    y: np.ndarray,
    segments: np.ndarray | None = None,
    kind: str | None = None,
) -> Any:
    """One fitted model on rows ``X`` and labels ``y`` (``segments``: runs of frames, tcn)."""
    kind = kind or est.model
    model = new_model(est, kind)
    if kind == "forest" and isinstance(est.max_samples, int | np.integer):
        model.set_params(max_samples=min(int(est.max_samples), X.shape[0]))
    if kind == "tcn":
        model.set_params(n_steps=tcn_steps(model, int(np.sum(y >= 0)), est.model == "ensemble"))
        return model.fit(X, y, segments=segments)
    if kind == "svm":
        with np.errstate(all="ignore"):
            return model.fit(np.nan_to_num(X), y)
    return model.fit(X, y)


TCN_EPOCHS = 4
"""Passes over the labelled frames a temporal network trains for (crops of about
two windows, ``batch_size`` per step), between ``TCN_STEPS`` steps."""

TCN_STEPS = {"tcn": (100, 600), "ensemble": (100, 300)}
"""Fewest and most training steps of the temporal network, alone and in the
ensemble. Grouped 5-fold CV on the 40 rat_social_dev sessions, with a numpy
prototype of the default features: alone, 600 steps give aggression F1 0.629 and
300 give 0.591; averaged with LightGBM, 300 steps give 0.652 and 600 give 0.654,
at half the fitting time."""


def tcn_steps(model: Any, n_labelled: int, in_ensemble: bool) -> int:
    """Training steps of a temporal network for ``n_labelled`` labelled frames:
    ``TCN_EPOCHS`` passes, clipped to ``TCN_STEPS`` (one 10-minute session gets
    the fewest, a study of 30 sessions the most)."""
    low, high = TCN_STEPS["ensemble" if in_ensemble else "tcn"]
    per_step = int(model.batch_size) * 2 * int(model.window)
    return int(np.clip(math.ceil(TCN_EPOCHS * n_labelled / per_step), low, high))


def impute(est: BehaviorClassifier, X: np.ndarray, kind: str | None = None) -> np.ndarray:
    """NaN features replaced by the training medians (forest and svm)."""
    if (kind or est.model) not in ("forest", "svm"):
        return X
    bad = np.isnan(X)
    if not bad.any():
        return X
    return np.where(bad, est.impute_[None, :], X).astype(np.float32, copy=False)


def thin_rows(index: np.ndarray, limit: int | None) -> np.ndarray:
    """At most ``limit`` of the rows ``index``, by a regular stride (rows are in time order)."""
    if limit is None or index.size <= limit:
        return index
    step = math.ceil(index.size / limit)
    return index[::step]


def _new_run(session: np.ndarray, individual: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Between each row and the next: whether a new run of consecutive frames of one
    session and individual starts."""
    return (np.diff(session) != 0) | (np.diff(individual) != 0) | (np.diff(frame) != 1)


def segment_ids(rows: Rows) -> np.ndarray:
    """One id per run of consecutive frames of one session and individual."""
    if rows.frame.size == 0:
        return np.zeros(0, dtype=np.int64)
    cut = _new_run(rows.session, rows.individual, rows.frame)
    return np.concatenate([[0], np.cumsum(cut)]).astype(np.int64)


def class_codes(rows: Rows, labelled: np.ndarray) -> np.ndarray:
    """Exclusive labels as class codes: behavior index, ``B`` for none, -1 unlabelled."""
    Y = rows.Y
    assert Y is not None
    pos = np.nan_to_num(Y, nan=0.0) > 0.5
    codes = np.where(pos.any(axis=1), pos.argmax(axis=1), Y.shape[1])
    return np.where(labelled, codes, -1)


def fit_transitions(est: BehaviorClassifier, rows: Rows) -> None:
    """Class prior and transition matrix (behaviors + none) from the labels, for smoothing.

    Counts are over consecutive labelled frames of each session and animal, with
    one pseudo-count per entry, so that no transition is impossible.
    """
    n = rows.Y.shape[1] + 1
    labelled = np.isfinite(rows.Y).all(axis=1)
    codes = class_codes(rows, labelled)
    seg = segment_ids(rows)
    both = (codes[:-1] >= 0) & (codes[1:] >= 0) & (seg[:-1] == seg[1:])
    counts = np.ones((n, n))
    np.add.at(counts, (codes[:-1][both], codes[1:][both]), 1.0)
    prior = np.bincount(codes[codes >= 0], minlength=n).astype(float) + 1.0
    est.transitions_ = (counts / counts.sum(axis=1, keepdims=True)).astype(np.float64)
    est.class_prior_ = (prior / prior.sum()).astype(np.float64)


def fit_rows(
    est: BehaviorClassifier, rows: Rows, behaviors: list[str], subset: np.ndarray | None = None
) -> None:
    """Fit the models on stacked rows (labels in ``rows.Y``, columns = behaviors).

    ``subset`` (row indices, e.g. a fold's training rows) fits on those rows only
    without copying the feature matrix: only the rows a model trains on are taken.
    """
    assert rows.Y is not None
    if subset is None:
        subset = np.arange(rows.frame.size)
    full = rows
    rows = Rows(  # the subset's labels and bookkeeping; its features stay in ``full``
        X=np.empty((subset.size, 0), dtype=np.float32),
        Y=full.Y[subset],
        session=full.session[subset],
        individual=full.individual[subset],
        frame=full.frame[subset],
        valid=full.valid[subset],
        pair=full.pair,
    )

    def features(index: np.ndarray) -> np.ndarray:
        return full.X[subset[index]]

    n_features = full.X.shape[1]
    est.behaviors_ = list(behaviors)
    est.multiclass_ = resolve_multiclass(est, rows)
    est.pair_ = bool(rows.pair)
    kinds = members(est)
    if any(k in ("forest", "svm") for k in kinds):
        use = thin_rows(np.flatnonzero(rows.valid), 200_000)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                med = np.nanmedian(features(use), axis=0) if use.size else np.zeros(n_features)
        est.impute_ = np.nan_to_num(med, nan=0.0).astype(np.float32)
    else:
        est.impute_ = np.zeros(n_features, dtype=np.float32)
    est.models_ = {}
    everything = np.arange(rows.frame.size)
    segments = segment_ids(rows) if "tcn" in kinds else None

    def fit_members(key: str, codes: np.ndarray, index: np.ndarray) -> None:
        for kind in kinds:
            if kind == "tcn":  # a temporal model sees every frame, trains on the labelled
                model = fit_one(est, features(everything), codes, segments, kind)
            else:
                model = fit_one(est, impute(est, features(index), kind), codes[index], None, kind)
            est.models_[member_key(key, kind, est)] = model

    if est.multiclass_:
        labelled = rows.valid & np.isfinite(rows.Y).all(axis=1)
        Y = rows.Y[labelled] > 0.5
        if (Y.sum(axis=1) > 1).any():
            raise PoseDataError(
                "labels: multiclass=True needs exclusive labels (at most one behavior per "
                "frame), but some frames hold several; use multiclass=False"
            )
        fit_transitions(est, rows)
        codes = class_codes(rows, labelled)
        fit_members("__multiclass__", codes, thin_rows(np.flatnonzero(labelled), est.max_rows))
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
        codes = np.where(labelled, np.nan_to_num(rows.Y[:, k]) > 0.5, -1).astype(np.int64)
        index = thin_negatives(np.flatnonzero(labelled), y, est.negative_ratio)
        fit_members(behavior, codes, thin_rows(index, est.max_rows))


def _model_proba(
    est: BehaviorClassifier,
    key: str,
    X: np.ndarray,
    valid: np.ndarray,
    segments: np.ndarray | None,
    positive: int | None = None,
) -> np.ndarray:
    """Probabilities of the valid rows from the model(s) under ``key``: columns in
    the order of the behavior codes (multiclass), or of class ``positive``;
    the mean over an ensemble's members."""
    out = []
    for kind in members(est):
        model = est.models_[member_key(key, kind, est)]
        if kind == "tcn":
            proba = model.predict_proba(X, segments=segments)[valid]
        else:
            Xv = impute(est, X[valid], kind)
            proba = model.predict_proba(np.nan_to_num(Xv) if kind == "svm" else Xv)
        classes = np.asarray(model.classes_)
        if positive is not None:
            col = np.flatnonzero(classes == positive)
            out.append(proba[:, col[0]] if col.size else np.zeros(proba.shape[0]))
            continue
        full = np.zeros((proba.shape[0], len(est.behaviors_)))
        for k in range(len(est.behaviors_)):
            col = np.flatnonzero(classes == k)
            if col.size:
                full[:, k] = proba[:, col[0]]
        out.append(full)
    return np.mean(out, axis=0)


def proba_rows(
    est: BehaviorClassifier,
    X: np.ndarray,
    valid: np.ndarray | None = None,
    segments: np.ndarray | None = None,
) -> np.ndarray:
    """Probabilities ``(N, B)``; NaN where every feature is NaN.

    ``segments`` (one id per run of consecutive frames) matters to temporal
    models only; None is one run.
    """
    if valid is None:
        valid = np.isfinite(X).any(axis=1)
    out = np.full((X.shape[0], len(est.behaviors_)), np.nan, dtype=np.float32)
    if not valid.any():
        return out
    if est.multiclass_:
        out[valid] = _model_proba(est, "__multiclass__", X, valid, segments)
        return out
    for k, behavior in enumerate(est.behaviors_):
        out[valid, k] = _model_proba(est, behavior, X, valid, segments, positive=1)
    return out


def proba_of(est: BehaviorClassifier, rows: Rows, index: np.ndarray | None = None) -> np.ndarray:
    """Probabilities of the rows ``index`` (all by default), the pair's mean for pair labels."""
    sub = rows if index is None else rows.take(index)
    proba = proba_rows(est, sub.X, sub.valid, segment_ids(sub))
    return pair_mean(sub, proba) if getattr(est, "pair_", False) else proba


def pair_mean(rows: Rows, proba: np.ndarray) -> np.ndarray:
    """Every row's probabilities replaced by the mean over the animals' rows of its frame.

    With labels for the pair, each animal's row is one view of the pair (its own
    features and the other's relative to it); the pair's probability is the
    mean of the views that were tracked.
    """
    if proba.size == 0:
        return proba
    key = rows.session.astype(np.int64) * (int(rows.frame.max()) + 1) + rows.frame
    _, inverse = np.unique(key, return_inverse=True)
    ok = np.isfinite(proba)
    sums = np.zeros((inverse.max() + 1, proba.shape[1]))
    counts = np.zeros_like(sums)
    np.add.at(sums, inverse, np.where(ok, proba, 0.0))
    np.add.at(counts, inverse, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return mean[inverse].astype(np.float32)


@numba.njit(cache=True)
def _viterbi_kernel(logp, log_trans, log_start, out):  # pragma: no cover - numba
    """Most probable class path of per-frame log scores ``logp`` (T, K) into ``out``."""
    n, k = logp.shape
    back = np.zeros((n, k), dtype=np.int64)
    score = log_start + logp[0]
    nxt = np.empty(k)
    for t in range(1, n):
        for j in range(k):
            best = -np.inf
            arg = 0
            for i in range(k):
                v = score[i] + log_trans[i, j]
                if v > best:
                    best = v
                    arg = i
            nxt[j] = best + logp[t, j]
            back[t, j] = arg
        score[:] = nxt
    j = 0
    for i in range(1, k):
        if score[i] > score[j]:
            j = i
    out[n - 1] = j
    for t in range(n - 1, 0, -1):
        j = back[t, j]
        out[t - 1] = j


PRIOR_POWER = 0.5
"""Smoothing divides each frame's class probabilities by the class prior to this
power before Viterbi decoding: 1 would turn them into likelihoods (a hybrid HMM),
0 keeps them; 0.5, chosen by grouped cross-validation on the real two-rat
sessions of ``benchmarks/bench_classifiers_real.py``, lets rare classes through
without flooding."""


def _warm_up() -> None:
    """Compile the Viterbi kernel (``cache=True``) on a tiny problem."""
    out = np.empty(3, dtype=np.int64)
    _viterbi_kernel(np.zeros((3, 2)), np.log(np.full((2, 2), 0.5)), np.log(np.full(2, 0.5)), out)


def smooth_classes(est: BehaviorClassifier, proba: np.ndarray) -> np.ndarray:
    """Class codes (behavior index, ``B`` none, -1 untracked) of one run of frames by Viterbi.

    The frames' class probabilities (behaviors and none) divided by
    ``class_prior_ ** PRIOR_POWER`` are the emissions, ``transitions_`` the
    transition matrix learned from the labels.
    """
    n, b = proba.shape
    tracked = np.isfinite(proba).any(axis=1)
    out = np.full(n, -1, dtype=np.int64)
    if not tracked.any():
        return out
    full = np.zeros((n, b + 1))
    full[:, :b] = np.nan_to_num(proba, nan=0.0)
    full[:, b] = np.clip(1.0 - full[:, :b].sum(axis=1), 0.0, 1.0)
    full[~tracked] = 1.0  # no evidence
    logp = np.log(np.clip(full, 1e-6, 1.0)) - PRIOR_POWER * np.log(est.class_prior_)[None, :]
    logp[~tracked] = 0.0
    path = np.empty(n, dtype=np.int64)
    _viterbi_kernel(logp, np.log(est.transitions_), np.log(est.class_prior_), path)
    out[tracked] = path[tracked]
    return out


def decide(
    est: BehaviorClassifier, proba: np.ndarray, segments: list[np.ndarray] | None = None
) -> np.ndarray:
    """Boolean ``(N, B)`` decisions from probabilities (before post-processing).

    ``segments`` (positions of each run of consecutive frames) are decoded one
    by one when the model smooths (multiclass with ``smoothing="hmm"``); None is
    one run.
    """
    if est.multiclass_:
        out = np.zeros(proba.shape, dtype=bool)
        if smoothing_of(est) == "hmm" and hasattr(est, "transitions_"):
            for seg in segments if segments is not None else [np.arange(proba.shape[0])]:
                codes = smooth_classes(est, proba[seg])
                hit = (codes >= 0) & (codes < proba.shape[1])
                out[seg[hit], codes[hit]] = True
            return out
        filled = np.nan_to_num(proba, nan=-1.0)
        none = 1.0 - np.nansum(proba, axis=1)
        best = filled.argmax(axis=1)
        top = filled[np.arange(filled.shape[0]), best]
        hit = np.isfinite(proba).any(axis=1) & (top > none)
        out[np.flatnonzero(hit), best[hit]] = True
        return out
    cut = np.array([est.thresholds_[b] for b in est.behaviors_], dtype=np.float64)
    return np.nan_to_num(proba, nan=-np.inf) >= cut[None, :]


def smoothing_of(est: BehaviorClassifier) -> str | None:
    """``smoothing`` with ``"auto"`` resolved: ``"hmm"`` for multiclass models, else None."""
    value = getattr(est, "smoothing", None)
    if value == "auto":
        return "hmm" if getattr(est, "multiclass_", False) else None
    return value


def needs_validation(est: BehaviorClassifier, rows: Rows | None = None) -> bool:
    """Whether thresholds or post-processing are chosen on validation folds.

    ``rows`` resolve ``multiclass="auto"`` for an estimator not fitted yet.
    """
    multiclass = getattr(est, "multiclass_", None)
    if multiclass is None:
        multiclass = resolve_multiclass(est, rows) if rows is not None else est.multiclass is True
    if multiclass:
        return False
    auto = [
        v == "auto"
        for param in (est.min_bout, est.merge_gap)
        for v in (param.values() if isinstance(param, Mapping) else [param])
    ]
    return threshold_rule(est.threshold) is not None or any(auto)


def plain_decisions(
    est: BehaviorClassifier, rows: Rows, index: np.ndarray | None, fps: float | None
) -> None:
    """Fixed thresholds; ``"auto"`` post-processing from the labels alone (half the
    shortest labelled bout / gap), where no validation folds are available."""
    behaviors = est.behaviors_
    est.thresholds_ = fixed_thresholds(est, behaviors)
    mins = per_behavior(est.min_bout, behaviors, "min_bout")
    gaps = per_behavior(est.merge_gap, behaviors, "merge_gap")
    if getattr(est, "multiclass_", False) and smoothing_of(est) == "hmm":
        # the Viterbi smoothing already keeps bouts whole: "auto" adds nothing
        mins = {b: None if v == "auto" else v for b, v in mins.items()}
        gaps = {b: None if v == "auto" else v for b, v in gaps.items()}
    for k, b in enumerate(behaviors):
        if mins[b] == "auto" or gaps[b] == "auto":
            bouts, between = label_runs(rows, k, index)
            if mins[b] == "auto":
                mins[b] = scaled(shortest(bouts, fps), 0.5)
            if gaps[b] == "auto":
                gaps[b] = scaled(shortest(between, fps), 0.5)
    est.min_bout_ = mins
    est.merge_gap_ = gaps


def fixed_thresholds(est: BehaviorClassifier, behaviors: list[str]) -> dict[str, float]:
    """Thresholds per behavior from a number or dict (0.5 for a rule)."""
    if isinstance(est.threshold, Mapping):
        missing = [b for b in behaviors if b not in est.threshold]
        if missing:
            raise PoseDataError(f"threshold: no threshold for behavior(s) {missing}")
        return {b: float(est.threshold[b]) for b in behaviors}
    if threshold_rule(est.threshold) is not None:  # multiclass: unused
        return dict.fromkeys(behaviors, 0.5)
    return dict.fromkeys(behaviors, float(est.threshold))


def check_fitted(est: BehaviorClassifier, method: str = "predict") -> None:
    """Raise :class:`behavior.errors.NotFittedError` unless ``est`` is fitted."""
    if not hasattr(est, "models_"):
        from behavior.errors import NotFittedError

        raise NotFittedError(
            f"this {type(est).__name__} is not fitted yet: fit(sessions, labels) before "
            f"{method}(...)"
        )


def check_compatible(est: BehaviorClassifier, p: Prepared) -> None:
    """Refuse a session whose keypoints, frame rate or units differ from the training data."""
    meta = est.metadata_
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


def thin_negatives(index: np.ndarray, y: np.ndarray, ratio: float | None) -> np.ndarray:
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


def gap_frames(gap: Any, fps: float | None) -> int:
    """A gap (int frames, seconds or text) in frames; 0 without a frame rate."""
    from behavior.units import to_frames

    if gap is None:
        return 0
    if isinstance(gap, int | np.integer):
        return int(gap)
    if fps is None:
        return 0
    return to_frames(gap, fps, name="gap")


# --------------------------------------------------------------------------- decisions


def segments_of(rows: Rows, index: np.ndarray) -> list[np.ndarray]:
    """Positions in ``index`` of each run of consecutive frames of one session and individual."""
    if index.size == 0:
        return []
    cut = _new_run(rows.session[index], rows.individual[index], rows.frame[index])
    return np.split(np.arange(index.size), np.flatnonzero(cut) + 1)


def label_runs(
    rows: Rows, k: int, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lengths (frames) of the labelled bouts of behavior ``k`` and of the gaps between them."""
    from behavior.bouts import runs

    if index is None:
        index = np.arange(rows.frame.size)
    bouts, gaps = [], []
    for seg in segments_of(rows, index):
        y = rows.Y[index[seg], k]
        labelled = np.isfinite(y)
        pos = labelled & (y > 0.5)
        for lo, hi in zip(*runs(labelled), strict=True):
            starts, stops = runs(pos[lo:hi])
            inner = (starts > 0) & (stops < hi - lo)  # bouts cut by the labelled span are not
            bouts.extend((stops - starts)[inner].tolist())  # known to be complete
            gaps.extend((starts[1:] - stops[:-1]).tolist())
    return np.asarray(bouts, dtype=float), np.asarray(gaps, dtype=float)


def shortest(lengths: np.ndarray, fps: float | None) -> float | int | None:
    """A robust shortest length (2nd percentile), in seconds (frames without fps)."""
    if lengths.size == 0:
        return None
    frames = float(np.percentile(lengths, 2, method="lower"))
    if frames <= 1:
        return None
    return frames / fps if fps else int(frames)


def scaled(value: float | int | None, factor: float) -> float | int | None:
    """``value`` times ``factor``, in its own unit (frames stay int); None for 0."""
    if value is None or factor == 0:
        return None
    if isinstance(value, int):
        return max(1, round(value * factor))
    return float(value) * factor


def clean_rows(
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
        out[flat, k] = clean_mask(mask, mins.get(b), gaps.get(b), b)[pos, col]
    return out


def tune_decisions(
    est: BehaviorClassifier,
    rows: Rows,
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
    rule = est.threshold if threshold_rule(est.threshold) is not None else None
    kind, target = threshold_rule(rule) or ("f1", math.nan)
    fixed = fixed_thresholds(est, behaviors)
    mins = per_behavior(est.min_bout, behaviors, "min_bout")
    gaps = per_behavior(est.merge_gap, behaviors, "merge_gap")
    segments = segments_of(rows, index)
    thresholds: dict[str, float] = {}
    for k, b in enumerate(behaviors):
        y, p = rows.Y[index, k], proba[index, k]
        labelled = np.isfinite(y)
        ref = (y > 0.5) & labelled
        threshold = select_threshold(y, p, rule) if rule is not None else fixed[b]
        bouts, between = label_runs(rows, k, index)
        options = []
        for value, lengths in ((mins[b], bouts), (gaps[b], between)):
            if value == "auto":
                longest = shortest(lengths, fps)
                options.append([scaled(longest, f) for f in (0, 0.25, 0.5, 0.75, 1.0)])
            else:
                options.append([value])

        def score(t: float, mb: Any, mg: Any, y=y, p=p, labelled=labelled, ref=ref, b=b) -> float:
            decided = (np.nan_to_num(p, nan=-np.inf) >= t)[:, None]
            pred = clean_rows(decided, segments, [b], {b: mb}, {b: mg}, fps)[:, 0] & labelled
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


def progress_over(iterable: Any, progress: bool, desc: str, total: int | None = None) -> Any:
    """``iterable`` with a progress bar when ``progress``."""
    from behavior._progress import progress_bar

    return progress_bar(iterable, enabled=progress, desc=desc, total=total)


# --------------------------------------------------------------------------- hyperparameters


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _is_duration(value: Any) -> bool:
    return value is None or isinstance(value, str) or (_is_number(value) and value >= 0)


def check_params(est: BehaviorClassifier) -> None:
    """Refuse invalid hyperparameters when ``fit`` starts, naming the parameter.

    Raises
    ------
    PoseDataError
        ``"<name>: expected ..., found ..."`` for the first invalid one.
    """

    def bad(name: str, expected: str) -> PoseDataError:
        return PoseDataError(f"{name}: expected {expected}, found {getattr(est, name)!r}")

    behaviors = est.behaviors
    if behaviors is not None and not isinstance(behaviors, str):
        if not isinstance(behaviors, Iterable) or not all(isinstance(b, str) for b in behaviors):
            raise bad("behaviors", "None, a behavior name or a list of names")
        if not list(behaviors):
            raise bad("behaviors", "None, a behavior name or a non-empty list of names")
    if est.model not in MODELS:
        raise bad("model", " or ".join(repr(m) for m in MODELS))
    if not (isinstance(est.multiclass, bool | np.bool_) or est.multiclass == "auto"):
        raise bad("multiclass", "'auto', True or False")
    if est.n_estimators is not None and (not _is_int(est.n_estimators) or est.n_estimators < 1):
        raise bad("n_estimators", "None or an integer >= 1")
    lr = est.learning_rate
    if not (_is_number(lr) and 0 < lr <= 1):
        raise bad("learning_rate", "a number in (0, 1]")
    if not (est.max_rows is None or (_is_int(est.max_rows) and est.max_rows >= 1)):
        raise bad("max_rows", "None or an integer >= 1")
    if est.smoothing not in ("auto", "hmm", None):
        raise bad("smoothing", "'auto', 'hmm' or None")
    u = est.unscored
    if not (u is None or isinstance(u, str) or (
        isinstance(u, Iterable) and all(isinstance(v, str) for v in u)
    )):  # fmt: skip
        raise bad("unscored", "None, a label name or a list of label names")
    m = est.max_samples
    if not (m is None or (_is_int(m) and m >= 1) or (_is_number(m) and 0 < m <= 1)):
        raise bad("max_samples", "None, an integer >= 1 or a fraction in (0, 1]")
    if not _is_int(est.min_samples_leaf) or est.min_samples_leaf < 1:
        raise bad("min_samples_leaf", "an integer >= 1")
    f = est.max_features
    if not (
        f is None or f in ("sqrt", "log2") or (_is_int(f) and f >= 1)
        or (_is_number(f) and 0 < f <= 1)
    ):  # fmt: skip
        raise bad("max_features", "'sqrt', 'log2', None, an integer >= 1 or a fraction in (0, 1]")
    if not (est.max_depth is None or (_is_int(est.max_depth) and est.max_depth >= 1)):
        raise bad("max_depth", "None or an integer >= 1")
    if not (est.class_weight is None or est.class_weight in ("auto", "balanced")
            or isinstance(est.class_weight, Mapping)):  # fmt: skip
        raise bad("class_weight", "'auto', None, 'balanced' or a dict")
    r = est.negative_ratio
    if not (r is None or (_is_number(r) and r > 0 and math.isfinite(r))):
        raise bad("negative_ratio", "None or a positive number")
    t = est.threshold
    if isinstance(t, Mapping):
        if not all(_is_number(v) and 0 <= v <= 1 for v in t.values()):
            raise bad("threshold", "a number in [0, 1] for every behavior of the dict")
    elif isinstance(t, str):
        threshold_rule(t)  # raises, naming the rules
    elif not (_is_number(t) and 0 <= t <= 1):
        raise bad("threshold", "a number in [0, 1], a dict per behavior, 'f1' or 'precision>=0.9'")
    if not _is_int(est.threshold_cv) or est.threshold_cv < 2:
        raise bad("threshold_cv", "an integer >= 2 (inner folds)")
    for name in ("min_bout", "merge_gap"):
        value = getattr(est, name)
        values = value.values() if isinstance(value, Mapping) else [value]
        if not all(_is_duration(v) for v in values):
            raise bad(name, "None, 'auto', a duration ('0.5 s', seconds, int frames) or a dict")
    if not (est.feature_options is None or isinstance(est.feature_options, Mapping)):
        raise bad("feature_options", "None or a dict of behavior.features.extract options")
    if not _is_duration(est.gap) or est.gap is None:
        raise bad("gap", "a duration: int frames, float seconds or text such as '2 s'")
    if not (est.n_jobs is None or (_is_int(est.n_jobs) and est.n_jobs != 0)):
        raise bad("n_jobs", "None or a non-zero integer (-1: all cores)")
    rs = est.random_state
    if not (rs is None or (_is_int(rs) and rs >= 0)):
        raise bad("random_state", "None or a non-negative integer")
    if not isinstance(est.progress, bool | np.bool_):
        raise bad("progress", "True or False")
