"""Active learning, JAABA style: the bouts a fitted classifier should be taught next.

:func:`suggest_frames` looks at the sessions a user has not finished labelling
and returns the fixed-length bouts where a fitted
:class:`~behavior.classify.BehaviorClassifier` is least sure of itself and
which look least like the frames it was taught, so that the next minutes of
labelling teach it the most. Label them, refit, ask again.

Per frame (of each individual):

- *uncertainty* in [0, 1], from :meth:`BehaviorClassifier.predict_proba`. A
  ``multiclass`` model gives probabilities over its behaviors plus ``"none"``
  (``1 - sum``): ``measure="margin"`` is one minus the gap between the two most
  probable classes, ``"entropy"`` the entropy over the classes divided by its
  maximum. Binary models (one per behavior) are unsure where a probability is
  near that behavior's decision threshold (``thresholds_``):
  ``1 - |p - t| / max(t, 1 - t)``, the highest over behaviors. Untracked frames
  (probability NaN) are never suggested.
- *novelty* (only when the labels given so far are passed as ``labelled``):
  features are standardised by the mean and standard deviation of the
  labelled frames (NaN at that mean, then clipped to +-5), the labelled frames
  are summarised by k-means centroids (scikit-learn's ``MiniBatchKMeans``,
  seeded), and a frame's novelty is its root-mean-square distance per feature
  to the nearest centroid.

Candidates are non-overlapping windows of ``bout`` frames laid end to end
along every run of frames that are tracked and not yet labelled, per session
and individual. A candidate's uncertainty and novelty are the means over its
frames; its score mixes their ranks among all candidates (see
:func:`suggest_frames`). The best ``shortlist * n`` are grouped in feature
space into ``n`` clusters and the best of each group is taken (Zhdanov 2019,
diverse mini-batch active learning), at least one bout apart within a session:
a round of labelling covers several confusing situations, not one many times.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior.bouts import BOUT_COLUMNS, bout_table, duration_frames, empty_bouts, runs
from behavior.classify._common import (
    Prepared,
    as_labels,
    as_sessions,
    feature_array,
    label_values,
    prepare,
    stack,
)
from behavior.classify.model import PAIR
from behavior.errors import PoseDataError

__all__ = ["SUGGESTION_COLUMNS", "suggest_frames"]

logger = logging.getLogger("behavior.classify")

SUGGESTION_COLUMNS = ["session", *BOUT_COLUMNS, "uncertainty", "novelty", "score"]
"""Columns of :func:`suggest_frames`' table: the session, a bout table's, then the scores."""

_MEASURES = ("margin", "entropy")
_CLIP = 5.0  # standardised features are clipped to +-5 sd for the novelty
_MAX_KMEANS_ROWS = 20_000  # labelled rows summarised by k-means at most


def suggest_frames(
    model: Any,
    sessions: Any,
    n: int = 10,
    *,
    labelled: Any = None,
    bout: int | float | str = "2 s",
    novelty: float = 0.5,
    measure: str = "margin",
    n_centroids: int = 32,
    max_per_session: int | None = None,
    shortlist: int = 10,
    random_state: int | None = None,
) -> pd.DataFrame:
    """The bouts to label next: where the model is least sure and the data least familiar.

    Parameters
    ----------
    model
        A fitted :class:`~behavior.classify.BehaviorClassifier`.
    sessions
        The sessions to choose from, as for :meth:`BehaviorClassifier.predict`:
        pose datasets, feature arrays ``(time, feature, individual)`` or pose
        files; one, a list, or a name -> session dict.
    n
        Number of bouts wanted.
    labelled
        The labels given so far, one entry per session (same order or same
        keys as ``sessions``; None for a session without labels), in the forms
        :meth:`BehaviorClassifier.fit` takes: an Ethogram, a label array (0/1
        floats over ``(time, behavior, individual)``, NaN = unlabelled) or an
        annotation file. A frame with any label is not suggested again, and
        novelty is measured against the labelled frames. None: nothing is
        labelled yet and novelty is left out (uncertainty only).
    bout
        Length of a suggested bout: text with a unit (``"2 s"``), float seconds
        or int frames; at least one frame.
    novelty
        Weight of novelty in the score, in [0, 1]: 0 ranks by uncertainty
        alone, 1 by novelty alone.
    measure
        Uncertainty of ``multiclass`` models: ``"margin"`` or ``"entropy"``
        (binary models always use the distance to their thresholds).
    n_centroids
        k-means centroids summarising the labelled frames (fewer when fewer
        frames are labelled).
    max_per_session
        At most this many bouts from one session, to spread the suggestions
        over sessions; None for no limit.
    shortlist
        Diversity in feature space (Zhdanov 2019, diverse mini-batch active
        learning): the best ``shortlist * n`` candidates by score are grouped
        into ``n`` clusters (k-means on their mean standardised features,
        weighted by score) and the best bout of each group is taken, so that
        the suggestions are not ``n`` copies of one confusing situation. 1
        takes the ``n`` best scores.
    random_state
        Seed of the k-means (novelty and diversity) and of the subsample of
        labelled frames they see (at most 20,000); None draws a fresh one.

    Returns
    -------
    pandas.DataFrame
        One row per suggested bout, best first, with the columns
        :data:`SUGGESTION_COLUMNS`: ``session`` (its name), the bout-table
        columns of :mod:`behavior.bouts` (``behavior`` is the model's current
        guess for the bout: the class of highest mean probability, or
        ``"none"``), then ``uncertainty`` and ``novelty`` (means over the
        bout's frames; novelty NaN without ``labelled``) and ``score``: with
        ``r_u`` and ``r_v`` the ranks of a candidate's uncertainty and novelty
        among all candidates, scaled to (0, 1], ``score = (1 - novelty) * r_u +
        novelty * r_v`` (``r_u`` alone without ``labelled``). Suggestions never
        contain a labelled or untracked frame, never overlap, and two of one
        session are at least one bout apart. Fewer than ``n`` rows (with a
        warning) when there are not enough candidates.

    Raises
    ------
    NotFittedError
        When ``model`` is not fitted.
    PoseDataError
        For ``n`` below 1, a ``bout`` shorter than one frame (or in seconds
        without a frame rate), ``novelty`` outside [0, 1], an unknown
        ``measure``, ``labelled`` that does not match ``sessions`` (count,
        names, frames or individuals), or sessions that do not match the
        model's training data; each message names the argument.

    Examples
    --------
    >>> from behavior.classify import BehaviorClassifier
    >>> rng = np.random.default_rng(0)
    >>> x = np.repeat(rng.normal(size=(60, 2)), 10, axis=0)  # 600 frames, 2 features
    >>> feats = xr.DataArray(x[:, :, None], dims=("time", "feature", "individual"),
    ...                      coords={"feature": ["a", "b"], "individual": ["m"]},
    ...                      attrs={"fps": 10.0})
    >>> y = np.full((600, 1, 1), np.nan, dtype=np.float32)
    >>> y[:200, 0, 0] = x[:200, 0] > 0  # the first 20 s are labelled
    >>> labels = xr.DataArray(y, dims=("time", "behavior", "individual"),
    ...                       coords={"behavior": ["run"], "individual": ["m"]})
    >>> clf = BehaviorClassifier(n_estimators=10, random_state=0, progress=False)
    >>> clf = clf.fit([feats], [labels])
    >>> table = suggest_frames(clf, [feats], n=3, labelled=[labels], random_state=0)
    >>> len(table), bool((table["start_frame"] >= 200).all())
    (3, True)
    >>> list(table.columns[-3:])
    ['uncertainty', 'novelty', 'score']
    """
    _check_model(model)
    _check_arguments(n, novelty, measure, n_centroids, max_per_session)
    if not _is_int(shortlist) or shortlist < 1:
        raise PoseDataError(f"shortlist: expected an integer >= 1, found {shortlist!r}")
    fps_model = (getattr(model, "metadata_", None) or {}).get("fps")
    length = _bout_frames(bout, fps_model)
    items, names, single = as_sessions(sessions)
    label_items = _labelled_items(labelled, names, single) if labelled is not None else None

    # features once: the same arrays feed the model and the novelty
    options = dict(getattr(model, "feature_options_", None) or model.feature_options or {})
    feats = {
        name: feature_array(item, name, options)[0] for item, name in zip(items, names, strict=True)
    }
    prepared, _ = prepare(model, feats, None, need_labels=False)
    if fps_model is None and prepared[0].meta.get("fps") is not None:
        length = _bout_frames(bout, prepared[0].meta["fps"])
    probas = model.predict_proba(feats)  # a list, in order (sessions given as a dict)

    done = []  # per session: (T, I) bool, frame already labelled
    for k, p in enumerate(prepared):
        item = None if label_items is None else label_items[k]
        done.append(_labelled_mask(item, p))
    rows = [stack([p], list(model.feature_names_), None) for p in prepared]
    frame_novelty = _novelty(
        rows, done, prepared, n_centroids, random_state
    ) if label_items is not None else None  # fmt: skip

    cand = _candidates(model, prepared, probas, rows, done, frame_novelty, length, measure)
    if cand["session"].size == 0:
        warnings.warn(
            f"suggest_frames: no candidate bout of {length} frames (every tracked frame is "
            "labelled, or no unlabelled stretch is that long); returning no suggestion",
            UserWarning,
            stacklevel=2,
        )
        return _empty_table()
    cand["score"] = _scores(cand["uncertainty"], cand["novelty"], novelty)
    if shortlist > 1:
        taught = _taught_rows(rows, done)
        reference = taught if taught.shape[0] else np.concatenate([r.X[r.valid] for r in rows])
        order = _diverse_order(
            cand, n, shortlist, rows, prepared, _standardiser(reference), length, random_state
        )
    else:
        order = _by_score(cand)
    chosen = _pick(cand, n, length, max_per_session, order)
    if chosen.size < n:
        warnings.warn(
            f"suggest_frames: only {chosen.size} of the n={n} bouts requested: not enough "
            f"unlabelled, tracked stretches of {length} frames at least one bout apart",
            UserWarning,
            stacklevel=2,
        )
    table = _table(cand, chosen, prepared, names, length, bool(getattr(model, "pair_", False)))
    logger.info(
        "suggest_frames: %d bouts of %d frames from %d candidates in %d session(s)",
        len(table), length, cand["session"].size, len(prepared),
    )  # fmt: skip
    return table


# --------------------------------------------------------------------------- checks


def _check_model(model: Any) -> None:
    if not hasattr(model, "predict_proba") or not hasattr(model, "get_params"):
        raise PoseDataError(
            f"model: expected a fitted BehaviorClassifier, found {type(model).__name__}"
        )
    if not hasattr(model, "models_"):
        from behavior.errors import NotFittedError

        raise NotFittedError(
            f"model: expected a fitted {type(model).__name__}, found an unfitted one; "
            "fit(sessions, labels) before suggest_frames(model, ...)"
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _check_arguments(
    n: Any, novelty: Any, measure: Any, n_centroids: Any, max_per_session: Any
) -> None:
    if not _is_int(n) or n < 1:
        raise PoseDataError(f"n: expected an integer >= 1 (bouts to suggest), found {n!r}")
    if (
        isinstance(novelty, bool)
        or not isinstance(novelty, int | float | np.integer | np.floating)
        or not 0 <= novelty <= 1
    ):
        raise PoseDataError(f"novelty: expected a weight in [0, 1], found {novelty!r}")
    if measure not in _MEASURES:
        raise PoseDataError(f"measure: expected one of {list(_MEASURES)}, found {measure!r}")
    if not _is_int(n_centroids) or n_centroids < 1:
        raise PoseDataError(f"n_centroids: expected an integer >= 1, found {n_centroids!r}")
    if max_per_session is not None and (not _is_int(max_per_session) or max_per_session < 1):
        raise PoseDataError(
            f"max_per_session: expected None or an integer >= 1, found {max_per_session!r}"
        )


def _bout_frames(bout: Any, fps: float | None) -> int:
    """The bout length in whole frames (at least one)."""
    frames = duration_frames(bout, fps, name="bout")
    if not math.isfinite(frames) or round(frames) < 1:
        at = f" at {fps:g} fps" if fps else ""
        raise PoseDataError(
            f"bout: expected a bout of at least one frame, found {bout!r} ({frames:.3g} frames{at})"
        )
    return round(frames)


def _labelled_items(labelled: Any, names: list[str], single: bool) -> list[Any]:
    """One label entry per session; errors name ``labelled``."""
    try:
        return as_labels(labelled, names, single)
    except PoseDataError as error:
        text = str(error)
        text = text[len("labels: ") :] if text.startswith("labels: ") else text
        raise PoseDataError(f"labelled: {text}") from error
    except TypeError as error:
        raise PoseDataError(
            "labelled: expected one entry per session (a list, a name -> labels dict, or one "
            f"label for one session), found {type(labelled).__name__}"
        ) from error


def _labelled_mask(item: Any, p: Prepared) -> np.ndarray:
    """``(T, I)``: frames of each individual that carry any label."""
    n_time, _, n_ind = p.features.shape
    if item is None:
        return np.zeros((n_time, n_ind), dtype=bool)
    try:
        values, _ = label_values(item, p)
    except PoseDataError as error:
        raise PoseDataError(f"labelled: {error}") from error
    return np.isfinite(values).any(axis=1)


# --------------------------------------------------------------------------- per frame


def _uncertainty(model: Any, proba: np.ndarray, measure: str) -> np.ndarray:
    """``(T, I)`` uncertainty in [0, 1] from probabilities ``(T, B, I)``; NaN untracked."""
    untracked = ~np.isfinite(proba).all(axis=1)
    p = np.nan_to_num(proba.astype(np.float64), nan=0.0)
    if _is_multiclass(model):
        none = np.clip(1.0 - p.sum(axis=1, keepdims=True), 0.0, 1.0)
        classes = np.concatenate([np.clip(p, 0.0, 1.0), none], axis=1)  # (T, B + 1, I)
        if measure == "margin":
            top = np.sort(classes, axis=1)
            out = 1.0 - (top[:, -1] - top[:, -2])
        else:
            total = classes.sum(axis=1, keepdims=True)
            q = classes / np.where(total > 0, total, 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                h = -np.where(q > 0, q * np.log(q), 0.0).sum(axis=1)
            out = h / math.log(classes.shape[1])
    else:
        t = np.array([model.thresholds_[b] for b in model.behaviors_], dtype=np.float64)
        span = np.maximum(t, 1.0 - t)[None, :, None]
        out = (1.0 - np.abs(p - t[None, :, None]) / span).max(axis=1)
    out = np.clip(out, 0.0, 1.0)
    out[untracked] = np.nan
    return out


def _taught_rows(rows: list[Any], done: list[np.ndarray]) -> np.ndarray:
    """Feature rows of the labelled, tracked frames of every session."""
    flags = [d.T.reshape(-1) & r.valid for d, r in zip(done, rows, strict=True)]  # rows are
    return np.concatenate([r.X[f] for r, f in zip(rows, flags, strict=True)])  # ind-major


def _standardiser(reference: np.ndarray) -> Any:
    """``z(x)``: features standardised by ``reference``'s mean and sd, NaN at 0, clipped."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(reference, axis=0) if reference.size else np.zeros(reference.shape[1])
        std = np.nanstd(reference, axis=0) if reference.size else np.ones(reference.shape[1])
    mean = np.nan_to_num(mean, nan=0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)

    def standard(x: np.ndarray) -> np.ndarray:
        z = (x - mean) / std
        return np.clip(np.nan_to_num(z, nan=0.0, posinf=_CLIP, neginf=-_CLIP), -_CLIP, _CLIP)

    return standard


def _novelty(
    rows: list[Any],
    done: list[np.ndarray],
    prepared: list[Prepared],
    n_centroids: int,
    random_state: int | None,
) -> list[np.ndarray] | None:
    """Per session ``(T, I)``: RMS distance per feature to the nearest labelled centroid."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.utils import check_random_state
    from threadpoolctl import threadpool_limits

    rng = check_random_state(random_state)
    taught = _taught_rows(rows, done)
    if taught.shape[0] == 0:
        warnings.warn(
            "suggest_frames: labelled has no labelled, tracked frame; novelty is left out",
            UserWarning,
            stacklevel=3,
        )
        return None
    standard = _standardiser(taught)
    if taught.shape[0] > _MAX_KMEANS_ROWS:
        taught = taught[np.sort(rng.choice(taught.shape[0], _MAX_KMEANS_ROWS, replace=False))]
    z_taught = standard(taught).astype(np.float64)
    k = min(n_centroids, np.unique(z_taught, axis=0).shape[0])
    # one thread: k-means' OpenMP threads cost seconds on small, busy machines
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few distinct rows: convergence warnings
        kmeans = MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=2048, random_state=rng)
        kmeans.fit(z_taught)
        n_features = max(taught.shape[1], 1)
        out = []
        for r, p in zip(rows, prepared, strict=True):
            n_time, _, n_ind = p.features.shape
            dist = np.full(r.X.shape[0], np.nan)
            if r.valid.any():
                d = kmeans.transform(standard(r.X[r.valid]).astype(np.float64)).min(axis=1)
                dist[r.valid] = d / math.sqrt(n_features)
            out.append(dist.reshape(n_ind, n_time).T)
    return out


# --------------------------------------------------------------------------- candidates


def _window_means(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Mean of ``values`` over ``[start, start + length)`` for each start."""
    csum = np.concatenate([[0.0], np.cumsum(np.nan_to_num(values, nan=0.0))])
    return (csum[starts + length] - csum[starts]) / length


def _is_multiclass(model: Any) -> bool:
    """Whether the fitted model is one model over exclusive classes (``"auto"`` resolved)."""
    resolved = getattr(model, "multiclass_", None)
    return bool(model.multiclass is True if resolved is None else resolved)


def _candidates(
    model: Any,
    prepared: list[Prepared],
    probas: list[xr.DataArray],
    rows: list[Any],
    done: list[np.ndarray],
    frame_novelty: list[np.ndarray] | None,
    length: int,
    measure: str,
) -> dict[str, np.ndarray]:
    """Every candidate bout: session, individual, start, guess, uncertainty, novelty."""
    behaviors = list(model.behaviors_)
    multiclass = _is_multiclass(model)
    cut = None if multiclass else np.array([model.thresholds_[b] for b in behaviors])
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("session", "individual", "start", "guess", "uncertainty", "novelty")
    }
    for s, (p, proba, r, d) in enumerate(zip(prepared, probas, rows, done, strict=True)):
        values = np.asarray(proba.transpose("time", "behavior", "individual").values)
        unsure = _uncertainty(model, values, measure)  # (T, I)
        n_time, _, n_ind = p.features.shape
        valid = r.valid.reshape(n_ind, n_time).T
        if unsure.shape[1] == 1 and n_ind > 1:  # a model of pair labels: one column
            valid = valid.any(axis=1, keepdims=True)
            d = d.any(axis=1, keepdims=True)
            n_ind = 1
        for i in range(n_ind):
            ok = valid[:, i] & ~d[:, i] & np.isfinite(unsure[:, i])
            lo, hi = runs(ok)
            count = (hi - lo) // length
            if not count.sum():
                continue
            first = np.repeat(lo, count)
            offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
            starts = first + offset * length
            mean_p = np.stack(
                [_window_means(values[:, b, i], starts, length) for b in range(len(behaviors))],
                axis=1,
            )  # (n_candidates, B)
            if multiclass:
                none = 1.0 - mean_p.sum(axis=1)
                best = mean_p.argmax(axis=1)
                guess = np.where(
                    mean_p[np.arange(best.size), best] > none,
                    np.asarray(behaviors, dtype=object)[best],
                    "none",
                )
            else:
                margin = mean_p - cut[None, :]
                best = margin.argmax(axis=1)
                guess = np.where(
                    margin[np.arange(best.size), best] >= 0,
                    np.asarray(behaviors, dtype=object)[best],
                    "none",
                )
            out["session"].append(np.full(starts.size, s))
            out["individual"].append(np.full(starts.size, i))
            out["start"].append(starts)
            out["guess"].append(guess.astype(object))
            out["uncertainty"].append(_window_means(unsure[:, i], starts, length))
            out["novelty"].append(
                np.full(starts.size, np.nan)
                if frame_novelty is None
                else _window_means(frame_novelty[s][:, i], starts, length)
            )
    empty = {"session": np.int64, "individual": np.int64, "start": np.int64, "guess": object}
    return {
        k: np.concatenate(v) if v else np.empty(0, dtype=empty.get(k, np.float64))
        for k, v in out.items()
    }


def _scores(uncertainty: np.ndarray, novelty: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * rank(uncertainty) + weight * rank(novelty)``, ranks in (0, 1]."""
    from scipy.stats import rankdata

    size = uncertainty.size
    r_u = rankdata(uncertainty, method="average") / size
    if not np.isfinite(novelty).any():
        return r_u
    r_v = rankdata(np.nan_to_num(novelty, nan=0.0), method="average") / size
    return (1.0 - weight) * r_u + weight * r_v


def _by_score(cand: dict[str, np.ndarray]) -> np.ndarray:
    """Candidates best first (ties: session, individual, start)."""
    return np.lexsort((cand["start"], cand["individual"], cand["session"], -cand["score"]))


def _diverse_order(
    cand: dict[str, np.ndarray],
    n: int,
    shortlist: int,
    rows: list[Any],
    prepared: list[Prepared],
    standard: Any,
    length: int,
    random_state: int | None,
) -> np.ndarray:
    """Candidates in the order to take them: one per feature-space group first.

    The best ``shortlist * n`` candidates are grouped into ``n`` clusters by
    k-means on their mean standardised features (weighted by score); the best of
    every group comes first (by score), then the second best of every group, and
    so on; the rest of the candidates follow by score.
    """
    from sklearn.cluster import KMeans
    from sklearn.utils import check_random_state
    from threadpoolctl import threadpool_limits

    order = _by_score(cand)
    top = order[: shortlist * n]
    if shortlist <= 1 or n <= 1 or top.size <= n:
        return order
    means = np.empty((top.size, rows[0].X.shape[1]))
    for j, idx in enumerate(top):
        s, i, start = int(cand["session"][idx]), int(cand["individual"][idx]), cand["start"][idx]
        row0 = i * prepared[s].features.shape[0] + int(start)  # rows are individual-major
        means[j] = standard(rows[s].X[row0 : row0 + length]).mean(axis=0)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate bouts: convergence warnings
        groups = KMeans(n_clusters=n, n_init=3, random_state=check_random_state(random_state))
        label = groups.fit_predict(means, sample_weight=cand["score"][top])
    rank_in_group = np.zeros(top.size, dtype=np.int64)
    for g in np.unique(label):
        members = np.flatnonzero(label == g)  # already best first
        rank_in_group[members] = np.arange(members.size)
    first = top[np.lexsort((np.arange(top.size), rank_in_group))]
    return np.concatenate([first, order[shortlist * n :]])


def _pick(
    cand: dict[str, np.ndarray],
    n: int,
    length: int,
    max_per_session: int | None,
    order: np.ndarray,
) -> np.ndarray:
    """Indices of candidates taken in ``order``, at least one bout apart within a session,
    returned best score first."""
    taken: dict[int, list[int]] = {}
    chosen: list[int] = []
    for idx in order:
        s, start = int(cand["session"][idx]), int(cand["start"][idx])
        mine = taken.setdefault(s, [])
        if max_per_session is not None and len(mine) >= max_per_session:
            continue
        # bouts [a, a + L) and [b, b + L) are one bout apart when |a - b| >= 2 L
        if any(abs(start - other) < 2 * length for other in mine):
            continue
        mine.append(start)
        chosen.append(int(idx))
        if len(chosen) == n:
            break
    chosen_array = np.asarray(chosen, dtype=np.int64)
    return chosen_array[np.argsort(-cand["score"][chosen_array], kind="stable")]


# --------------------------------------------------------------------------- table


def _empty_table() -> pd.DataFrame:
    table = empty_bouts()
    table.insert(0, "session", pd.Series([], dtype=object))
    for name in ("uncertainty", "novelty", "score"):
        table[name] = pd.Series([], dtype=np.float64)
    return table[SUGGESTION_COLUMNS]


def _table(
    cand: dict[str, np.ndarray],
    chosen: np.ndarray,
    prepared: list[Prepared],
    names: list[str],
    length: int,
    pair: bool = False,
) -> pd.DataFrame:
    """The chosen candidates as a bout table, in the order chosen (best first); the
    individual is ``"pair"`` for a model of pair labels."""
    if chosen.size == 0:
        return _empty_table()
    parts = []
    for rank, idx in enumerate(chosen):
        p = prepared[int(cand["session"][idx])]
        like = xr.DataArray(
            np.zeros(p.features.shape[0]), dims="time", coords={"time": p.time}, attrs=p.attrs
        )
        start = int(cand["start"][idx])
        part = bout_table(
            like,
            [PAIR if pair else p.individuals[int(cand["individual"][idx])]],
            [str(cand["guess"][idx])],
            [start],
            [start + length],
            fps=p.meta.get("fps"),
        )
        part.insert(0, "session", names[int(cand["session"][idx])])
        part["uncertainty"] = float(cand["uncertainty"][idx])
        part["novelty"] = float(cand["novelty"][idx])
        part["score"] = float(cand["score"][idx])
        part.index = [rank]
        parts.append(part)
    return pd.concat(parts)[SUGGESTION_COLUMNS].reset_index(drop=True)
