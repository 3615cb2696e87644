"""Events and bouts: per-frame labels and boolean masks <-> tidy bout tables.

A *bout* is a run of consecutive frames in which one individual shows one
behavior (towards one ``other`` individual, for social behaviors). Bouts are a
pandas table with the columns :data:`BOUT_COLUMNS`:

============ =========================================================================
column       meaning
============ =========================================================================
individual   name of the individual (a value of the ``individual`` coordinate)
other        partner for social behaviors (chase target, watched animal), else ``""``
behavior     behavior name
start_frame  first frame of the bout (index into ``time``)
stop_frame   one past the last frame (exclusive), so ``n_frames = stop - start``
n_frames     number of frames
start        ``time[start_frame]`` in the units of the time coordinate (seconds)
stop         the timestamp after the last frame: ``time[stop_frame]``, or
             ``time[-1] + 1 / fps`` for a bout that runs to the end
duration     ``stop - start``
============ =========================================================================

Per-frame labels are integer DataArrays over ``(time, individual)`` whose
``attrs["labels"]`` lists the behavior names (code ``i`` is ``labels[i]``); the
code ``-1`` means "no label" and makes no bout. Boolean masks over
``(time, individual[, other])`` give the frames where one behavior holds.

Rule detection (chase, watching, freezing ...) builds on these functions.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior.dataset import require_dims
from behavior.errors import PoseDataError
from behavior.units import UNITS, Quantity, UnitError, frame, parse_unit, quantity, s, to_seconds

logger = logging.getLogger(__name__)

__all__ = [
    "BOUT_COLUMNS",
    "PRESETS",
    "QUANTITIES",
    "Rule",
    "RuleError",
    "Var",
    "approach",
    "bouts",
    "bouts_from_labels",
    "bouts_from_mask",
    "chase",
    "detect",
    "empty_bouts",
    "following",
    "freezing",
    "head_dip",
    "huddling",
    "in_zone",
    "labels_from_bouts",
    "mask_from_bouts",
    "nose_to_anogenital_contact",
    "nose_to_body_contact",
    "nose_to_nose_contact",
    "other_from_bouts",
    "parse_rule",
    "q",
    "rule_mask",
    "runs",
    "side_by_side",
    "var",
    "watching",
]

BOUT_COLUMNS = [
    "individual",
    "other",
    "behavior",
    "start_frame",
    "stop_frame",
    "n_frames",
    "start",
    "stop",
    "duration",
]

_INT_COLUMNS = ("start_frame", "stop_frame", "n_frames")
_FLOAT_COLUMNS = ("start", "stop", "duration")
_STR_COLUMNS = ("individual", "other", "behavior")


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) stops of the runs of True in a 1-D boolean array.

    Parameters
    ----------
    mask
        One-dimensional array; truthy values form the runs.

    Returns
    -------
    starts, stops
        Integer arrays of equal length: run ``k`` covers ``mask[starts[k]:stops[k]]``.

    Raises
    ------
    PoseDataError
        If ``mask`` is not one-dimensional.

    Examples
    --------
    >>> runs(np.array([0, 1, 1, 0, 1], dtype=bool))
    (array([1, 4]), array([3, 5]))
    """
    m = np.asarray(mask)
    if m.ndim != 1:
        raise PoseDataError(f"mask: expected a 1-D array, found shape {m.shape}")
    padded = np.zeros(m.size + 2, dtype=np.int8)
    padded[1:-1] = m.astype(bool)
    step = np.diff(padded)
    return np.flatnonzero(step == 1), np.flatnonzero(step == -1)


def empty_bouts() -> pd.DataFrame:
    """An empty bout table with the columns and dtypes of :data:`BOUT_COLUMNS`.

    Examples
    --------
    >>> list(empty_bouts().columns) == BOUT_COLUMNS
    True
    """
    return _bout_frame(
        {c: np.empty(0, dtype=object) for c in _STR_COLUMNS}
        | {c: np.empty(0, dtype=np.int64) for c in _INT_COLUMNS}
        | {c: np.empty(0, dtype=np.float64) for c in _FLOAT_COLUMNS}
    )


def _bout_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    data = {}
    for name in BOUT_COLUMNS:
        values = columns[name]
        if name in _INT_COLUMNS:
            data[name] = pd.Series(np.asarray(values, dtype=np.int64))
        elif name in _FLOAT_COLUMNS:
            data[name] = pd.Series(np.asarray(values, dtype=np.float64))
        else:
            data[name] = pd.Series([str(v) for v in values], dtype=object)
    return pd.DataFrame(data, columns=BOUT_COLUMNS)


def _time_and_step(obj: xr.DataArray, fps: float | None) -> tuple[np.ndarray, float]:
    """The time coordinate as floats and the step that follows the last frame."""
    n = obj.sizes["time"]
    if "time" in obj.coords:
        time = np.asarray(obj["time"].values, dtype=np.float64)
    else:
        time = np.arange(n, dtype=np.float64)
    if fps is None:
        fps = obj.attrs.get("fps")
    if fps is not None:
        fps = float(fps)
        if not np.isfinite(fps) or fps <= 0:
            raise PoseDataError(f"fps: expected a positive number, found {fps}")
        if obj.attrs.get("time_unit") == "frames":
            return time, 1.0
        return time, 1.0 / fps
    if n > 1:
        return time, float(np.median(np.diff(time)))
    return time, 1.0


def _stop_times(time: np.ndarray, step: float) -> np.ndarray:
    """``time`` shifted by one frame: the stop time of a bout ending at each frame."""
    return np.append(time[1:], time[-1] + step) if time.size else time


def _as_codes(labels: xr.DataArray) -> np.ndarray:
    values = np.asarray(labels.values)
    if values.dtype == bool or not np.issubdtype(values.dtype, np.number):
        raise PoseDataError(
            f"labels: expected integer behavior codes (-1 = none), found dtype {values.dtype}"
        )
    if np.issubdtype(values.dtype, np.floating):
        finite = np.isfinite(values)
        if np.any(values[finite] != np.round(values[finite])):
            raise PoseDataError("labels: expected whole-number behavior codes, found fractions")
        values = np.where(finite, values, -1)
    codes = values.astype(np.int64)
    if np.any(codes < -1):
        raise PoseDataError(
            f"labels: expected codes >= -1 (-1 = no label), found {int(codes.min())}"
        )
    return codes


def _other_codes(other: xr.DataArray | None, labels: xr.DataArray) -> tuple[np.ndarray, list[str]]:
    """Partner per frame as an integer code into a list of names ('' = none)."""
    shape = (labels.sizes["time"], labels.sizes["individual"])
    if other is None:
        return np.zeros(shape, dtype=np.int64), [""]
    require_dims(other, "time", "individual", name="other")
    values = np.asarray(other.transpose("time", "individual").values)
    if values.shape != shape:
        raise PoseDataError(
            f"other: expected shape (time, individual) = {shape} like labels, found {values.shape}"
        )
    if np.issubdtype(values.dtype, np.integer):
        individuals = [str(v) for v in labels["individual"].values]
        if np.any((values < -1) | (values >= len(individuals))):
            raise PoseDataError(
                f"other: integer partners must index the {len(individuals)} individuals "
                f"or be -1 (none), found values from {values.min()} to {values.max()}"
            )
        names = ["", *individuals]
        return values.astype(np.int64) + 1, names
    text = np.array(
        [
            "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            for v in values.flat
        ],
        dtype=object,
    )
    names, inverse = np.unique(text.astype(str), return_inverse=True)
    return inverse.reshape(shape).astype(np.int64), [str(n) for n in names]


def bouts_from_labels(
    labels: xr.DataArray,
    names: Sequence[str] | None = None,
    other: xr.DataArray | None = None,
    *,
    fps: float | None = None,
) -> pd.DataFrame:
    """Bouts of exclusive per-frame behavior labels.

    A bout is a maximal run of frames with the same code (and, when ``other`` is
    given, the same partner). Frames labelled ``-1`` (or NaN in a float array)
    make no bout.

    Parameters
    ----------
    labels
        Integer codes over ``(time, individual)``.
    names
        Behavior names, code ``i`` -> ``names[i]``; defaults to
        ``labels.attrs["labels"]``, else the codes as text (``"0"``, ``"1"`` ...).
    other
        Partner per frame over ``(time, individual)``: names (``""`` or None = no
        partner) or integer indexes into ``labels.individual`` (``-1`` = none).
    fps
        Frames per second for the stop time of a bout that ends at the last
        frame; defaults to ``labels.attrs["fps"]``, else the median time step.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BOUT_COLUMNS`, ordered by individual (as in the
        coordinate) then ``start_frame``.

    Raises
    ------
    PoseDataError
        If a dimension is missing, a code is not an integer >= -1, or a code has
        no name.

    Examples
    --------
    >>> import xarray as xr
    >>> lab = xr.DataArray([[0], [0], [1], [-1]], dims=("time", "individual"),
    ...                    coords={"time": [0.0, 0.5, 1.0, 1.5], "individual": ["a"]},
    ...                    attrs={"labels": ["rest", "walk"]})
    >>> bouts_from_labels(lab)[["behavior", "start_frame", "stop_frame", "duration"]]
      behavior  start_frame  stop_frame  duration
    0     rest            0           2       1.0
    1     walk            2           3       0.5
    """
    require_dims(labels, "time", "individual", name="labels")
    extra = [d for d in labels.dims if d not in ("time", "individual")]
    if extra:
        raise PoseDataError(
            f"labels: expected dims (time, individual), found extra dimension(s) {extra}"
        )
    labels = labels.transpose("time", "individual")
    codes = _as_codes(labels)
    if names is None:
        names = labels.attrs.get("labels")
    if names is None:
        top = int(codes.max()) if codes.size else -1
        names = [str(c) for c in range(top + 1)]
    names = [str(n) for n in names]
    if codes.size and int(codes.max()) >= len(names):
        raise PoseDataError(
            f"labels: code {int(codes.max())} has no name; names has {len(names)} entries "
            f"{names}. Pass names= or set labels.attrs['labels']."
        )
    other_codes, other_names = _other_codes(other, labels)
    time, step = _time_and_step(labels, fps)
    stop_time = _stop_times(time, step)
    n_time = codes.shape[0]
    individuals = [str(v) for v in labels["individual"].values]

    parts = []
    for j, individual in enumerate(individuals):
        code, partner = codes[:, j], other_codes[:, j]
        change = np.ones(n_time, dtype=bool)
        change[1:] = (code[1:] != code[:-1]) | (partner[1:] != partner[:-1])
        starts = np.flatnonzero(change)
        stops = np.append(starts[1:], n_time)
        keep = code[starts] >= 0
        starts, stops = starts[keep], stops[keep]
        parts.append(
            {
                "individual": np.full(starts.size, individual, dtype=object),
                "other": np.asarray(other_names, dtype=object)[partner[starts]],
                "behavior": np.asarray(names, dtype=object)[code[starts]]
                if starts.size
                else np.empty(0, dtype=object),
                "start_frame": starts,
                "stop_frame": stops,
            }
        )
    return _assemble(parts, time, stop_time)


def _assemble(parts: list[dict[str, np.ndarray]], time: np.ndarray, stop_time: np.ndarray):
    if not parts:
        return empty_bouts()
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    starts = cols["start_frame"].astype(np.int64)
    stops = cols["stop_frame"].astype(np.int64)
    start = time[starts] if starts.size else np.empty(0)
    stop = stop_time[stops - 1] if stops.size else np.empty(0)
    cols.update(
        start_frame=starts,
        stop_frame=stops,
        n_frames=stops - starts,
        start=start,
        stop=stop,
        duration=stop - start,
    )
    return _bout_frame(cols)


def bouts_from_mask(mask: xr.DataArray, behavior: str, *, fps: float | None = None) -> pd.DataFrame:
    """Bouts of one behavior from a boolean mask.

    Parameters
    ----------
    mask
        Boolean over ``(time, individual)`` or, for a social behavior,
        ``(time, individual, other)`` where ``other`` holds partner names. NaN
        (in a float mask) counts as False.
    behavior
        Name written in the ``behavior`` column.
    fps
        As in :func:`bouts_from_labels`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BOUT_COLUMNS`; ``other`` is ``""`` without an ``other``
        dimension. Ordered by individual, other, then ``start_frame``.

    Raises
    ------
    PoseDataError
        If ``time`` or ``individual`` is missing or another dimension is present.

    Examples
    --------
    >>> import xarray as xr
    >>> m = xr.DataArray([[True], [True], [False]], dims=("time", "individual"),
    ...                  coords={"time": [0.0, 1.0, 2.0], "individual": ["a"]})
    >>> bouts_from_mask(m, "freeze")[["behavior", "start", "stop"]]
      behavior  start  stop
    0   freeze    0.0   2.0
    """
    require_dims(mask, "time", "individual", name="mask")
    extra = [d for d in mask.dims if d not in ("time", "individual", "other")]
    if extra:
        raise PoseDataError(
            f"mask: expected dims (time, individual[, other]), found extra dimension(s) {extra}"
        )
    has_other = "other" in mask.dims
    dims = ("time", "individual", "other") if has_other else ("time", "individual")
    mask = mask.transpose(*dims)
    values = np.asarray(mask.values)
    if np.issubdtype(values.dtype, np.floating):
        values = np.nan_to_num(values, nan=0.0) != 0
    values = values.astype(bool)
    individuals = np.asarray([str(v) for v in mask["individual"].values], dtype=object)
    if has_other:
        others = np.asarray([str(v) for v in mask["other"].values], dtype=object)
    else:
        others = np.asarray([""], dtype=object)
        values = values[:, :, np.newaxis]
    n_time, n_ind, n_other = values.shape
    time, step = _time_and_step(mask, fps)
    stop_time = _stop_times(time, step)

    # Columns (individual-major, other-minor) of the mask as rows padded with False.
    rows = values.reshape(n_time, n_ind * n_other).T
    padded = np.zeros((rows.shape[0], n_time + 2), dtype=np.int8)
    padded[:, 1:-1] = rows
    step_ = np.diff(padded, axis=1)
    row_s, starts = np.nonzero(step_ == 1)
    row_e, stops = np.nonzero(step_ == -1)
    # np.nonzero walks row-major, so starts and stops pair up in order.
    assert np.array_equal(row_s, row_e)
    part = {
        "individual": individuals[row_s // n_other],
        "other": others[row_s % n_other],
        "behavior": np.full(starts.size, str(behavior), dtype=object),
        "start_frame": starts,
        "stop_frame": stops,
    }
    return _assemble([part], time, stop_time)


def _check_bouts(bouts: pd.DataFrame) -> None:
    missing = [c for c in ("individual", "behavior", "start_frame", "stop_frame") if c not in bouts]
    if missing:
        raise PoseDataError(
            f"bouts: missing column(s) {missing}; expected the columns {BOUT_COLUMNS}"
        )


def _bout_frames(bouts: pd.DataFrame, like: xr.DataArray) -> tuple[np.ndarray, ...]:
    """Validated individual indexes, starts and stops of every bout."""
    _check_bouts(bouts)
    require_dims(like, "time", "individual", name="like")
    n_time = like.sizes["time"]
    individuals = [str(v) for v in like["individual"].values]
    index = {name: j for j, name in enumerate(individuals)}
    names = bouts["individual"].astype(str).to_numpy()
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise PoseDataError(f"bouts: individual(s) {unknown} not in like.individual {individuals}")
    ind = np.array([index[n] for n in names], dtype=np.int64)
    starts = bouts["start_frame"].to_numpy(dtype=np.int64)
    stops = bouts["stop_frame"].to_numpy(dtype=np.int64)
    bad = np.flatnonzero((starts < 0) | (stops > n_time) | (stops <= starts))
    if bad.size:
        k = int(bad[0])
        raise PoseDataError(
            f"bouts: row {bouts.index[k]!r} has frames [{starts[k]}, {stops[k]}); expected "
            f"0 <= start_frame < stop_frame <= {n_time} (the length of like.time)"
        )
    order = np.lexsort((starts, ind))
    same = ind[order][1:] == ind[order][:-1]
    overlap = np.flatnonzero(same & (starts[order][1:] < stops[order][:-1]))
    if overlap.size:
        a, b = order[overlap[0]], order[overlap[0] + 1]
        raise PoseDataError(
            f"bouts: rows {bouts.index[a]!r} and {bouts.index[b]!r} overlap for individual "
            f"{names[a]!r} (frames [{starts[a]}, {stops[a]}) and [{starts[b]}, {stops[b]})); "
            "exclusive labels cannot hold both"
        )
    return ind, starts, stops


def _paint(n_time: int, n_ind: int, ind, starts, stops, values, fill) -> np.ndarray:
    """Write ``values[k]`` over frames ``[starts[k], stops[k])`` of column ``ind[k]``."""
    dtype = np.asarray(values).dtype if len(values) else np.asarray([fill]).dtype
    out = np.full((n_time, n_ind), fill, dtype=dtype)
    if len(starts) == 0:
        return out
    lengths = stops - starts
    frames = np.repeat(starts - np.cumsum(np.append(0, lengths[:-1])), lengths) + np.arange(
        lengths.sum()
    )
    out[frames, np.repeat(ind, lengths)] = np.repeat(np.asarray(values), lengths)
    return out


def labels_from_bouts(
    bouts: pd.DataFrame, like: xr.DataArray, names: Sequence[str] | None = None
) -> xr.DataArray:
    """Per-frame integer labels from a bout table (the inverse of :func:`bouts_from_labels`).

    Parameters
    ----------
    bouts
        Table with at least ``individual``, ``behavior``, ``start_frame`` and
        ``stop_frame`` (exclusive). Bouts of one individual must not overlap.
    like
        Array over ``(time, individual)`` whose ``time`` and ``individual``
        coordinates the labels take.
    names
        Behavior names (code ``i`` is ``names[i]``); defaults to
        ``like.attrs["labels"]``, else the sorted behaviors of ``bouts``.

    Returns
    -------
    xr.DataArray
        int64 codes over ``(time, individual)``, ``-1`` where no bout covers a
        frame, with ``attrs["labels"] = names``.

    Raises
    ------
    PoseDataError
        For an unknown individual or behavior, frames outside ``like``, or
        overlapping bouts.

    Examples
    --------
    >>> import xarray as xr
    >>> like = xr.DataArray(np.zeros((4, 1)), dims=("time", "individual"),
    ...                     coords={"individual": ["a"]})
    >>> b = pd.DataFrame({"individual": ["a"], "behavior": ["walk"],
    ...                   "start_frame": [1], "stop_frame": [3]})
    >>> labels_from_bouts(b, like, names=["rest", "walk"]).values.ravel().tolist()
    [-1, 1, 1, -1]
    """
    ind, starts, stops = _bout_frames(bouts, like)
    behaviors = bouts["behavior"].astype(str).to_numpy()
    if names is None:
        names = like.attrs.get("labels")
    if names is None:
        names = sorted(set(behaviors))
    names = [str(n) for n in names]
    code_of = {n: i for i, n in enumerate(names)}
    unknown = sorted(set(behaviors) - set(code_of))
    if unknown:
        raise PoseDataError(f"bouts: behavior(s) {unknown} not in names {names}")
    codes = np.array([code_of[b] for b in behaviors], dtype=np.int64)
    n_time, n_ind = like.sizes["time"], like.sizes["individual"]
    values = _paint(n_time, n_ind, ind, starts, stops, codes, -1).astype(np.int64)
    coords = {"individual": like["individual"].values}
    if "time" in like.coords:
        coords["time"] = like["time"].values
    attrs = {k: v for k, v in like.attrs.items() if k in ("fps", "time_unit")}
    attrs["labels"] = names
    return xr.DataArray(
        values, dims=("time", "individual"), coords=coords, name="labels", attrs=attrs
    )


def other_from_bouts(bouts: pd.DataFrame, like: xr.DataArray) -> xr.DataArray:
    """Per-frame partner names from the ``other`` column of a bout table.

    Parameters
    ----------
    bouts
        Bout table with an ``other`` column (missing or NaN entries read as ``""``).
    like
        Array over ``(time, individual)`` giving the coordinates.

    Returns
    -------
    xr.DataArray
        Object array of names over ``(time, individual)``; ``""`` where no bout
        has a partner.

    Examples
    --------
    >>> import xarray as xr
    >>> like = xr.DataArray(np.zeros((3, 1)), dims=("time", "individual"),
    ...                     coords={"individual": ["a"]})
    >>> b = pd.DataFrame({"individual": ["a"], "other": ["b"], "behavior": ["chase"],
    ...                   "start_frame": [0], "stop_frame": [2]})
    >>> other_from_bouts(b, like).values.ravel().tolist()
    ['b', 'b', '']
    """
    ind, starts, stops = _bout_frames(bouts, like)
    if "other" in bouts:
        partner = np.array(
            ["" if pd.isna(v) else str(v) for v in bouts["other"].to_numpy()], dtype=object
        )
    else:
        partner = np.full(len(bouts), "", dtype=object)
    n_time, n_ind = like.sizes["time"], like.sizes["individual"]
    values = _paint(n_time, n_ind, ind, starts, stops, partner, "")
    values = values.astype(object)
    coords = {"individual": like["individual"].values}
    if "time" in like.coords:
        coords["time"] = like["time"].values
    return xr.DataArray(values, dims=("time", "individual"), coords=coords, name="other")


# ======================================================================================
# Bouts from masks with thresholds: min_duration, merge_gap, min_fraction within window
# ======================================================================================


def _fps_of(obj: xr.DataArray, fps: float | None) -> float | None:
    """Frames per second: ``fps``, else ``attrs["fps"]``, else from the time step."""
    if fps is None:
        fps = obj.attrs.get("fps")
    if fps is not None:
        fps = float(fps)
        if not np.isfinite(fps) or fps <= 0:
            raise PoseDataError(f"fps: expected a positive number, found {fps}")
        return fps
    if obj.attrs.get("time_unit") == "frames" or "time" not in obj.coords:
        return None
    time = np.asarray(obj["time"].values, dtype=np.float64)
    step = np.diff(time)
    step = step[np.isfinite(step) & (step > 0)]
    return float(1.0 / np.median(step)) if step.size else None


def _in_frames(value: Any, fps: float | None, name: str) -> float:
    """A duration as a (possibly fractional) number of frames: ``int`` = frames,
    ``float`` = seconds, text with a unit (``"1 s"``, ``"200 ms"``, ``"7 frames"``)."""
    if value is None:
        return 0.0
    if isinstance(value, Quantity):
        if value.dims == frame.dims:
            return value.value
        return value.to("s", name=name) * _need_fps(fps, value, name)
    if isinstance(value, bool):
        raise PoseDataError(f"{name}: expected frames or a duration, found {value!r}")
    if isinstance(value, int | np.integer):
        if value < 0:
            raise PoseDataError(f"{name}: expected a non-negative number of frames, found {value}")
        return float(value)
    if isinstance(value, str):
        q = quantity(value, name=name)
        if q.dims == frame.dims:
            return q.value
        if q.dims == (0, 0, 0, 0, 0):  # a bare number in text: seconds
            q = q * s
        seconds = q.to("s", name=name)
    else:
        seconds = to_seconds(value, name=name)
    if seconds < 0:
        raise PoseDataError(f"{name}: expected a non-negative duration, found {value!r}")
    return seconds * _need_fps(fps, value, name)


def _need_fps(fps: float | None, value: Any, name: str) -> float:
    if fps is None:
        raise PoseDataError(
            f"{name}: {value!r} is a duration, which needs the frame rate, but the mask has "
            f"no attrs['fps'] and no time step to infer it from. Give fps=... or {name} in "
            "frames (an int)."
        )
    return fps


def _fraction_cover(values: np.ndarray, fraction: float, width: int) -> np.ndarray:
    """Frames covered by a window of at least ``width`` frames with >= ``fraction`` True.

    ``values`` is boolean ``(time, columns)``. Frame ``t`` is covered when some
    ``[a, b)`` with ``a <= t < b``, ``b - a >= width`` has ``sum(values[a:b]) >=
    fraction * (b - a)``. With ``P(i) = S(i) - fraction * i`` (``S`` the cumulative
    count), a window qualifies when ``P(b) >= P(a)``. Then ``t`` is covered iff
    (1) some ``a <= t + 1 - width`` has ``P(a) <= max_{b > t} P(b)``, or (2) some
    ``a`` in ``(t + 1 - width, t]`` has ``P(a) <= max_{b >= a + width} P(b)``.
    Both are prefix/suffix extrema and a sliding count: O(n) per column.
    """
    n, k = values.shape
    if width < 1:
        width = 1
    out = np.zeros((n, k), dtype=bool)
    if n < width:
        return out
    cum = np.zeros((n + 1, k))
    np.cumsum(values, axis=0, out=cum[1:])
    p = cum - fraction * np.arange(n + 1, dtype=np.float64)[:, None]
    tol = 1e-9 * max(1.0, n)
    suffix_max = np.maximum.accumulate(p[::-1], axis=0)[::-1]  # M(j) = max_{b >= j} P(b)
    prefix_min = np.minimum.accumulate(p, axis=0)  # min_{a <= j} P(a)
    t = np.arange(n)
    # (1) windows that start at least width - 1 frames before t
    lo = t + 1 - width
    ok = lo >= 0
    case1 = np.zeros((n, k), dtype=bool)
    case1[ok] = prefix_min[lo[ok]] <= suffix_max[t[ok] + 1] + tol
    # (2) windows starting at a in (t + 1 - width, t]: valid(a) <=> P(a) <= M(a + width)
    a = np.arange(n + 1 - width)
    valid = np.zeros((n, k), dtype=np.int64)
    valid[a] = p[a] <= suffix_max[a + width] + tol
    cv = np.zeros((n + 1, k), dtype=np.int64)
    np.cumsum(valid, axis=0, out=cv[1:])
    start = np.maximum(t + 2 - width, 0)
    case2 = (cv[t + 1] - cv[start]) > 0
    out = case1 | case2
    return out


def _trim(values: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """``cover`` with every run shrunk to its first and last True frame of ``values``."""
    n, k = cover.shape
    cols = cover.T
    padded = np.zeros((k, n + 2), dtype=np.int8)
    padded[:, 1:-1] = cols
    step = np.diff(padded, axis=1)
    row, starts = np.nonzero(step == 1)
    _, stops = np.nonzero(step == -1)
    out = np.zeros_like(cols)
    if starts.size == 0:
        return out.T
    v = values.T
    cnt = np.zeros((k, n + 1), dtype=np.int64)
    np.cumsum(v, axis=1, out=cnt[:, 1:])
    # first True at or after start, last True before stop (each run holds one: the
    # covering window has a positive fraction of True frames)
    true_rows, true_cols = np.nonzero(v)
    flat = true_rows * (n + 1) + true_cols
    first = np.searchsorted(flat, row * (n + 1) + starts, side="left")
    last = np.searchsorted(flat, row * (n + 1) + stops, side="left") - 1
    has = last >= first
    first_t = true_cols[np.minimum(first, max(0, flat.size - 1))]
    last_t = true_cols[np.maximum(last, 0)] + 1
    return _paint_runs(k, n, row[has], first_t[has], last_t[has]).T


def _paint_runs(k: int, n: int, row: np.ndarray, starts: np.ndarray, stops: np.ndarray):
    """Boolean ``(k, n)`` with ``[starts, stops)`` of each ``row`` set."""
    diff = np.zeros((k, n + 1), dtype=np.int64)
    np.add.at(diff, (row, starts), 1)
    np.add.at(diff, (row, stops), -1)
    return np.cumsum(diff[:, :-1], axis=1) > 0


def _bout_arrays(
    values: np.ndarray,
    min_frames: float,
    gap_frames: float,
    fraction: float | None,
    window_frames: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, starts and stops of the bouts of each column of boolean ``(time, cols)``."""
    n, k = values.shape
    if fraction is not None:
        width = max(1, math.ceil(window_frames - 1e-9))
        values = _trim(values, _fraction_cover(values, fraction, width))
    padded = np.zeros((k, n + 2), dtype=np.int8)
    padded[:, 1:-1] = values.T
    step = np.diff(padded, axis=1)
    row, starts = np.nonzero(step == 1)
    _, stops = np.nonzero(step == -1)
    if starts.size > 1 and gap_frames > 0:
        # merge a bout into the previous one of the same column when the gap is
        # shorter than merge_gap
        gap = starts[1:] - stops[:-1]
        join = (row[1:] == row[:-1]) & (gap < gap_frames - 1e-9)
        new = np.concatenate(([True], ~join))
        group = np.cumsum(new) - 1
        first = np.flatnonzero(new)
        last = np.append(first[1:], starts.size) - 1
        row, starts, stops = row[first], starts[first], stops[last]
        del group
    if min_frames > 0:
        keep = (stops - starts) >= min_frames - 1e-9
        row, starts, stops = row[keep], starts[keep], stops[keep]
    return row, starts, stops


def bouts(
    mask: xr.DataArray | np.ndarray,
    min_duration: int | float | str | None = 0,
    merge_gap: int | float | str | None = 0,
    min_fraction: float | None = None,
    window: int | float | str | None = None,
    *,
    behavior: str = "event",
    fps: float | None = None,
) -> pd.DataFrame:
    """Bouts of a boolean mask, with minimum duration, gap merging and fraction-in-window.

    The steps, in order, per column (individual, or individual and other):

    1. ``min_fraction`` with ``window`` (both or neither): a frame belongs to an
       event when some window of at least ``window`` frames that contains it has
       at least ``min_fraction`` of its frames True ("for at least 80 % of frames
       within at least one second"). Each resulting run is then trimmed to its
       first and last True frame, so bouts start and end on True frames. O(n)
       with cumulative sums (see ``_fraction_cover``).
    2. ``merge_gap``: consecutive bouts less than ``merge_gap`` apart (the gap,
       in frames, between one bout's stop and the next one's start) become one.
    3. ``min_duration``: bouts shorter than ``min_duration`` are dropped.

    Durations are an ``int`` (frames), a ``float`` (seconds) or text (``"1 s"``,
    ``"200 ms"``, ``"5 frames"``); seconds become frames at the frame rate,
    without rounding (a 1 s minimum at 30 fps keeps 30-frame bouts, not 29).
    With no thresholds, ``mask_from_bouts(bouts(mask), mask)`` equals ``mask``.

    Parameters
    ----------
    mask
        Boolean (or 0/1 float, NaN = False) DataArray over ``(time,
        individual[, other])``, or a 1-D array / DataArray over ``time`` alone
        (its bouts get ``individual`` ``""``).
    min_duration
        Shortest bout kept.
    merge_gap
        Bouts closer than this are merged.
    min_fraction
        Fraction in ``(0, 1]`` of True frames a window needs (with ``window``).
    window
        Shortest window for ``min_fraction``.
    behavior
        Name written in the ``behavior`` column.
    fps
        Frame rate; default ``mask.attrs["fps"]``, else from the time step.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BOUT_COLUMNS`, ordered by individual, other and start.

    Raises
    ------
    PoseDataError
        For a mask with other dims, a negative or malformed duration, a duration
        in seconds without a frame rate, or ``min_fraction`` without ``window``.

    Examples
    --------
    >>> m = np.array([1, 1, 0, 1, 1, 1, 0, 0, 0, 1], dtype=bool)
    >>> bouts(m, merge_gap=2)[["start_frame", "stop_frame"]].values.tolist()
    [[0, 6], [9, 10]]
    >>> bouts(m, min_fraction=0.8, window=5)[["start_frame", "stop_frame"]].values.tolist()
    [[0, 6]]
    """
    if not isinstance(mask, xr.DataArray):
        arr = np.asarray(mask)
        if arr.ndim != 1:
            raise PoseDataError(
                f"mask: expected a DataArray over (time, individual[, other]) or a 1-D array, "
                f"found an array of shape {arr.shape}"
            )
        mask = xr.DataArray(arr, dims=("time",))
        if fps is not None:
            mask = mask.assign_coords(time=np.arange(arr.size) / float(fps))
            mask.attrs["fps"] = float(fps)
    if mask.dims == ("time",):
        mask = mask.expand_dims(individual=[""], axis=1)
    require_dims(mask, "time", "individual", name="mask")
    extra = [d for d in mask.dims if d not in ("time", "individual", "other")]
    if extra:
        raise PoseDataError(
            f"mask: expected dims (time, individual[, other]), found extra dimension(s) {extra}"
        )
    if (min_fraction is None) != (window is None):
        raise PoseDataError(
            "min_fraction and window go together (e.g. min_fraction=0.8, window='1 s'); "
            f"found min_fraction={min_fraction!r}, window={window!r}"
        )
    if min_fraction is not None and not 0 < float(min_fraction) <= 1:
        raise PoseDataError(f"min_fraction: expected a fraction in (0, 1], found {min_fraction!r}")
    rate = _fps_of(mask, fps)
    min_frames = _in_frames(min_duration, rate, "min_duration")
    gap_frames = _in_frames(merge_gap, rate, "merge_gap")
    window_frames = _in_frames(window, rate, "window") if window is not None else 0.0
    has_other = "other" in mask.dims
    dims = ("time", "individual", "other") if has_other else ("time", "individual")
    mask = mask.transpose(*dims)
    values = np.asarray(mask.values)
    if np.issubdtype(values.dtype, np.floating):
        values = np.nan_to_num(values, nan=0.0) != 0
    values = values.astype(bool)
    individuals = np.asarray([str(v) for v in mask["individual"].values], dtype=object)
    if has_other:
        others = np.asarray([str(v) for v in mask["other"].values], dtype=object)
    else:
        others = np.asarray([""], dtype=object)
        values = values[:, :, np.newaxis]
    n_time, n_ind, n_other = values.shape
    flat = values.reshape(n_time, n_ind * n_other)
    row, starts, stops = _bout_arrays(
        flat, min_frames, gap_frames, None if min_fraction is None else float(min_fraction),
        window_frames,
    )  # fmt: skip
    time, step = _time_and_step(mask, fps)
    stop_time = _stop_times(time, step)
    part = {
        "individual": individuals[row // n_other],
        "other": others[row % n_other],
        "behavior": np.full(starts.size, str(behavior), dtype=object),
        "start_frame": starts,
        "stop_frame": stops,
    }
    return _assemble([part], time, stop_time)


def mask_from_bouts(bouts: pd.DataFrame, like: xr.DataArray) -> xr.DataArray:
    """Boolean mask of the frames a bout table covers (the inverse of :func:`bouts`).

    Parameters
    ----------
    bouts
        Table with ``individual``, ``start_frame``, ``stop_frame`` (exclusive) and,
        when ``like`` has an ``other`` dim, ``other``. Every behavior counts.
    like
        Array over ``(time, individual[, other])`` giving shape and coordinates.

    Returns
    -------
    xr.DataArray
        bool, dims and coordinates of ``like`` (``time``, ``individual`` and
        ``other`` only).

    Raises
    ------
    PoseDataError
        For names not in ``like`` or frames outside it.

    Examples
    --------
    >>> m = xr.DataArray([[True], [False], [True]], dims=("time", "individual"),
    ...                  coords={"individual": ["a"]})
    >>> mask_from_bouts(bouts(m), m).values.ravel().tolist()
    [True, False, True]
    """
    require_dims(like, "time", "individual", name="like")
    has_other = "other" in like.dims
    dims = ("time", "individual", "other") if has_other else ("time", "individual")
    n_time = like.sizes["time"]
    inds = [str(v) for v in like["individual"].values]
    others = [str(v) for v in like["other"].values] if has_other else [""]
    _check_bouts(bouts)
    names = bouts["individual"].astype(str).to_numpy()
    partner = (
        bouts["other"].fillna("").astype(str).to_numpy()
        if has_other and "other" in bouts
        else np.full(len(bouts), "", dtype=object)
    )
    idx_i = {n: j for j, n in enumerate(inds)}
    idx_o = {n: j for j, n in enumerate(others)}
    bad = sorted(set(names) - set(idx_i)) + sorted(set(partner) - set(idx_o))
    if bad:
        raise PoseDataError(
            f"bouts: name(s) {bad} not in like (individuals {inds}, others {others})"
        )
    starts = bouts["start_frame"].to_numpy(dtype=np.int64)
    stops = bouts["stop_frame"].to_numpy(dtype=np.int64)
    if np.any((starts < 0) | (stops > n_time) | (stops < starts)):
        raise PoseDataError(f"bouts: frames outside [0, {n_time}) of like.time")
    row = np.array([idx_i[a] * len(others) + idx_o[b] for a, b in zip(names, partner)], dtype=int)
    painted = _paint_runs(len(inds) * len(others), n_time, row, starts, stops).T
    values = painted.reshape(n_time, len(inds), len(others))
    if not has_other:
        values = values[:, :, 0]
    coords = {"individual": like["individual"].values}
    if has_other:
        coords["other"] = like["other"].values
    if "time" in like.coords:
        coords["time"] = like["time"].values
    out = xr.DataArray(values, dims=dims, coords=coords, name="mask")
    out.attrs = {k: v for k, v in like.attrs.items() if k in ("fps", "time_unit")}
    return out


# ======================================================================================
# Rules: expressions over named quantities with units
# ======================================================================================


class RuleError(PoseDataError):
    """A rule that cannot be read or evaluated: bad syntax, unknown name or unit."""


@dataclass(frozen=True)
class _QuantityInfo:
    kind: str  # "individual" or "pair"
    description: str


_SOCIAL = {
    "centroid_distance": "distance between the centroids of the two bodies",
    "closest_distance": "smallest distance between a body keypoint of each animal",
    "nose_to_nose": "distance between the two noses",
    "nose_to_body": "distance from my nose to the nearest body keypoint of the other",
    "nose_to_tail_base": "distance from my nose to the other's tail base",
    "relative_angle": "angle between the two body axes, 0-180 deg",
    "gaze_offset": "angle between my head direction and the other's nearest body point",
    "approach_speed": "rate at which the centroid distance shrinks (positive: closing)",
    "following": "1 where my nose follows the other's recent tail-base path",
}

QUANTITIES: dict[str, _QuantityInfo] = {
    "speed": _QuantityInfo(
        "individual",
        "speed of the body centroid (body keypoints tracked in the frames before and after)",
    ),
    "max_keypoint_speed": _QuantityInfo("individual", "speed of the fastest keypoint"),
    "nose_speed": _QuantityInfo("individual", "speed of the nose"),
    "angular_speed": _QuantityInfo(
        "individual", "absolute turning rate of the body axis (tail base -> neck/nose)"
    ),
    "head_angular_speed": _QuantityInfo(
        "individual", "absolute turning rate of the head (ears' midpoint or neck -> nose)"
    ),
    "rotation_speed": _QuantityInfo(
        "individual",
        "absolute rate of the least-squares rotation of all keypoints (tail included)",
    ),
    "other_speed": _QuantityInfo("pair", "speed of the other's body centroid"),
    "in_zone": _QuantityInfo(
        "individual",
        "1 where the body centre is inside any zone given with zones=...; in_<name> "
        "for the zone of that name",
    ),
    **{name: _QuantityInfo("pair", text) for name, text in _SOCIAL.items()},
}
"""The quantities rules can name: per individual ``(time, individual)`` or per
ordered pair ``(time, individual, other)`` (from :func:`behavior.social.relations`)."""


def _unknown_quantity(name: str) -> RuleError:
    return RuleError(
        f"rule: unknown quantity {name!r}; known quantities: {', '.join(QUANTITIES)} "
        "(and in_<zone name> for the zones given with zones=...)"
    )


def _is_zone_name(name: str) -> bool:
    """``in_<zone>``: occupancy of one named zone (checked against the zones later)."""
    return name.startswith("in_") and len(name) > 3 and name not in QUANTITIES


def _kind(name: str) -> str:
    """``"individual"`` or ``"pair"``: the dims a quantity has."""
    return "individual" if _is_zone_name(name) else QUANTITIES[name].kind


class Rule:
    """A boolean rule over named quantities; combine with ``&``, ``|`` and ``~``.

    Build rules by comparing variables (:data:`q`) with quantities
    (``q.speed > 15 * cm / s``) or by parsing text (:func:`parse_rule`). A
    comparison with missing data (NaN) is *unknown*; ``&``, ``|`` and ``~``
    follow three-valued (Kleene) logic, and an unknown frame is finally False.
    """

    def __and__(self, other: Rule) -> Rule:
        return _Logic("and", self, _as_rule(other))

    def __or__(self, other: Rule) -> Rule:
        return _Logic("or", self, _as_rule(other))

    def __invert__(self) -> Rule:
        return _Not(self)

    def names(self) -> set[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, ctx: _Context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __bool__(self) -> bool:
        raise RuleError(
            "rule: a rule has no truth value; combine rules with &, | and ~ (not 'and', "
            "'or', 'not'), and write chained comparisons as two rules"
        )


def _as_rule(obj: Any) -> Rule:
    if isinstance(obj, Rule):
        return obj
    if isinstance(obj, Var):
        return _Truth(obj)
    raise RuleError(f"rule: expected a rule, found {type(obj).__name__} {obj!r}")


class Var:
    """A named quantity in a rule (see :data:`QUANTITIES`); compare it to build a rule.

    Examples
    --------
    >>> from behavior.units import cm, s
    >>> print((q.speed > 15 * cm / s) & (q.closest_distance < 5 * cm))
    (speed > 15 cm/s) and (closest_distance < 5 cm)
    """

    __array_ufunc__ = None

    def __init__(self, name: str) -> None:
        if name not in QUANTITIES and not _is_zone_name(name):
            raise _unknown_quantity(name)
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def _cmp(self, op: str, other: Any) -> _Compare:
        if isinstance(other, Var):
            return _Compare(self, op, other)
        if isinstance(other, str):
            other = quantity(other, name=self.name)
        if isinstance(other, int | float) and not isinstance(other, bool):
            other = Quantity(float(other))
        if not isinstance(other, Quantity):
            raise RuleError(
                f"rule: cannot compare {self.name} with {type(other).__name__} {other!r}"
            )
        return _Compare(self, op, other)

    def __lt__(self, other: Any) -> _Compare:
        return self._cmp("<", other)

    def __le__(self, other: Any) -> _Compare:
        return self._cmp("<=", other)

    def __gt__(self, other: Any) -> _Compare:
        return self._cmp(">", other)

    def __ge__(self, other: Any) -> _Compare:
        return self._cmp(">=", other)

    def __eq__(self, other: Any) -> _Compare:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: Any) -> _Compare:  # type: ignore[override]
        return self._cmp("!=", other)

    __hash__ = None  # type: ignore[assignment]


class _Vars:
    """Namespace of rule variables: ``q.speed``, ``q.closest_distance`` ..."""

    def __getattr__(self, name: str) -> Var:
        if name.startswith("__"):
            raise AttributeError(name)
        return Var(name)

    def __dir__(self) -> list[str]:
        return list(QUANTITIES)


q = _Vars()
"""Rule variables by attribute: ``q.speed > 15 * cm / s`` (see :data:`QUANTITIES`)."""


def var(name: str) -> Var:
    """The rule variable of a quantity name (see :data:`QUANTITIES`).

    Parameters
    ----------
    name
        A quantity name such as ``"speed"`` or ``"closest_distance"``; checked
        when the rule is evaluated.

    Returns
    -------
    Var
        A variable to compare with quantities (``var("speed") > 15 * cm / s``).

    Examples
    --------
    >>> var("speed").name
    'speed'
    """
    return Var(name)


_OPS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class _Compare(Rule):
    def __init__(self, left: Var, op: str, right: Var | Quantity) -> None:
        self.left, self.op, self.right = left, op, right

    def names(self) -> set[str]:
        out = {self.left.name}
        if isinstance(self.right, Var):
            out.add(self.right.name)
        return out

    def evaluate(self, ctx: _Context) -> np.ndarray:
        values, unit = ctx.values(self.left.name)
        if isinstance(self.right, Var):
            other, other_unit = ctx.values(self.right.name)
            factor = ctx.convert(parse_unit(other_unit), unit, f"{self.right.name}")
            threshold: Any = other * factor
        else:
            threshold = ctx.convert(self.right, unit, self.left.name)
        with np.errstate(invalid="ignore"):
            out = _OPS[self.op](values, threshold).astype(np.float64)
        out[np.isnan(values) | np.isnan(threshold)] = np.nan
        return out

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right!r}"


class _Truth(Rule):
    def __init__(self, v: Var) -> None:
        self.var = v

    def names(self) -> set[str]:
        return {self.var.name}

    def evaluate(self, ctx: _Context) -> np.ndarray:
        values, _ = ctx.values(self.var.name)
        out = (values != 0).astype(np.float64)
        out[np.isnan(values)] = np.nan
        return out

    def __str__(self) -> str:
        return self.var.name


class _Logic(Rule):
    def __init__(self, op: str, a: Rule, b: Rule) -> None:
        self.op, self.a, self.b = op, a, b

    def names(self) -> set[str]:
        return self.a.names() | self.b.names()

    def evaluate(self, ctx: _Context) -> np.ndarray:
        a, b = ctx.broadcast(self.a.evaluate(ctx)), ctx.broadcast(self.b.evaluate(ctx))
        unknown = np.isnan(a) | np.isnan(b)
        if self.op == "and":
            decided = (a == 0) | (b == 0)
            return np.where(decided, 0.0, np.where(unknown, np.nan, 1.0))
        decided = (a == 1) | (b == 1)
        return np.where(decided, 1.0, np.where(unknown, np.nan, 0.0))

    def __str__(self) -> str:
        return f"({self.a}) {self.op} ({self.b})"


class _Not(Rule):
    def __init__(self, a: Rule) -> None:
        self.a = a

    def names(self) -> set[str]:
        return self.a.names()

    def evaluate(self, ctx: _Context) -> np.ndarray:
        return 1.0 - self.a.evaluate(ctx)

    def __str__(self) -> str:
        return f"not ({self.a})"


# ---- the text parser: tokenizer and recursive descent, no eval ------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|\*\*|[<>()/*^&|~%\-]|°))"
)
_KEYWORDS = {"and", "or", "not", "between"}
_CMP = {"<", "<=", ">", ">=", "==", "!="}


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = text[pos:].lstrip()
            where = len(text) - len(bad)
            raise RuleError(
                f"rule: cannot read {text!r} at position {where} ({bad[:12]!r}); a rule uses "
                "quantity names, numbers with units, comparisons (< <= > >= == !=), "
                "and/or/not and parentheses"
            )
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, expected: str) -> RuleError:
        kind, value, pos = self.peek()
        found = "the end" if kind == "end" else repr(value)
        return RuleError(
            f"rule: expected {expected} at position {pos} of {self.text!r}, found {found}"
        )

    def is_word(self, *words: str) -> bool:
        kind, value, _ = self.peek()
        return kind == "name" and value.lower() in words

    def parse(self) -> Rule:
        rule = self.parse_or()
        if self.peek()[0] != "end":
            raise self.error("'and', 'or' or the end of the rule")
        return rule

    def parse_or(self) -> Rule:
        rule = self.parse_and()
        while self.is_word("or") or self.peek()[1] == "|":
            self.take()
            rule = _Logic("or", rule, self.parse_and())
        return rule

    def parse_and(self) -> Rule:
        rule = self.parse_not()
        while self.is_word("and") or self.peek()[1] == "&":
            self.take()
            rule = _Logic("and", rule, self.parse_not())
        return rule

    def parse_not(self) -> Rule:
        if self.is_word("not") or self.peek()[1] == "~":
            self.take()
            return _Not(self.parse_not())
        return self.parse_primary()

    def parse_primary(self) -> Rule:
        if self.peek()[1] == "(":
            self.take()
            rule = self.parse_or()
            if self.peek()[1] != ")":
                raise self.error("')'")
            self.take()
            return rule
        return self.parse_comparison()

    def parse_operand(self) -> Var | Quantity:
        kind, value, _ = self.peek()
        if kind == "name" and value.lower() not in _KEYWORDS:
            self.take()
            return Var(value)
        sign = 1.0
        if value == "-":
            self.take()
            sign = -1.0
            kind, value, _ = self.peek()
        if kind != "num":
            raise self.error("a quantity name or a number")
        self.take()
        return sign * float(value) * self.parse_unit()

    def parse_unit(self) -> Quantity:
        out = Quantity(1.0)
        if not self.unit_ahead():
            return out
        out = self.unit_power()
        while self.peek()[1] in ("/", "*"):
            op = self.take()[1]
            if not self.unit_ahead():
                raise self.error(f"a unit after {op!r}")
            factor = self.unit_power()
            out = out / factor if op == "/" else out * factor
        return out

    def unit_ahead(self) -> bool:
        kind, value, _ = self.peek()
        if kind == "op":
            return value in ("%", "°")
        return kind == "name" and value.lower() not in _KEYWORDS

    def unit_power(self) -> Quantity:
        kind, value, _ = self.take()
        name = "deg" if value == "°" else value
        if name not in UNITS:
            raise RuleError(
                f"rule: unknown unit {value!r} in {self.text!r}; known units: "
                f"{', '.join(sorted(UNITS, key=str.lower))}"
            )
        unit = UNITS[name]
        if self.peek()[1] in ("^", "**"):
            self.take()
            sign = 1
            if self.peek()[1] == "-":
                self.take()
                sign = -1
            kind, number, _ = self.peek()
            if kind != "num" or not number.isdigit():
                raise self.error("a whole power")
            self.take()
            unit = unit ** (sign * int(number))
        return unit

    def parse_comparison(self) -> Rule:
        left = self.parse_operand()
        if self.is_word("between"):
            self.take()
            low = self.parse_operand()
            if not self.is_word("and"):
                raise self.error("'and' in 'between ... and ...'")
            self.take()
            high = self.parse_operand()
            if not isinstance(left, Var):
                raise RuleError(f"rule: 'between' needs a quantity name before it in {self.text!r}")
            return _Logic("and", _compare(left, ">=", low), _compare(left, "<=", high))
        if self.peek()[1] not in _CMP:
            if isinstance(left, Var):
                return _Truth(left)
            raise self.error("a comparison (<, <=, >, >=, ==, !=)")
        rule: Rule | None = None
        while self.peek()[1] in _CMP:
            op = self.take()[1]
            right = self.parse_operand()
            part = _compare(left, op, right)
            rule = part if rule is None else _Logic("and", rule, part)
            left = right
        assert rule is not None
        return rule


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _compare(left: Var | Quantity, op: str, right: Var | Quantity) -> _Compare:
    if isinstance(left, Var):
        return left._cmp(op, right)
    if isinstance(right, Var):
        return right._cmp(_FLIP[op], left)
    raise RuleError(f"rule: a comparison needs a quantity name, found {left!r} {op} {right!r}")


def parse_rule(text: str) -> Rule:
    """Read a rule from text, with a small safe parser (no ``eval``).

    Grammar: ``or`` binds looser than ``and``, which binds looser than ``not``;
    parentheses group. A comparison is ``quantity OP value`` (``OP`` one of
    ``< <= > >= == !=``), ``value OP quantity``, a chain ``5 cm < closest_distance
    < 20 cm``, or ``closest_distance between 5 cm and 20 cm``; a value is a number
    with a unit (``15 cm/s``, ``30 deg``, ``0.5 s``, ``2 cm s^-1`` is not allowed:
    write ``cm/s``) or another quantity. A quantity alone (``following``) holds
    where it is non-zero. ``&``, ``|`` and ``~`` are accepted for and, or, not.

    Parameters
    ----------
    text
        The rule.

    Returns
    -------
    Rule

    Raises
    ------
    RuleError
        For a character or token out of place (with its position), an unknown
        quantity or unit (listing the known ones).

    Examples
    --------
    >>> print(parse_rule("speed > 15 cm/s and closest_distance < 5 cm or not following"))
    ((speed > 15 cm/s) and (closest_distance < 5 cm)) or (not (following))
    """
    if isinstance(text, Rule):
        return text
    if not isinstance(text, str):
        raise RuleError(f"rule: expected text or a Rule, found {type(text).__name__}")
    return _Parser(text).parse()


# ---- evaluation on a dataset -----------------------------------------------------------


class _Context:
    """Lazily computed quantities of one dataset, as numpy arrays with their units."""

    def __init__(
        self,
        ds: xr.Dataset,
        *,
        px_per_cm: float | None,
        keypoints: Any,
        smoothing: Any,
        follow_window: Any,
        follow_tolerance: Any,
        pairwise: bool,
        max_gap: Any = None,
        zones: Any = None,
    ) -> None:
        from behavior import kinematics  # noqa: F401 - imported for its side effects below

        if not isinstance(ds, xr.Dataset) or "position" not in ds:
            raise PoseDataError(
                f"ds: expected a pose dataset with a 'position' variable, found {type(ds).__name__}"
            )
        require_dims(ds.position, "time", "space", "keypoint", "individual", name="position")
        self.fps = _fps_of(ds.position.assign_attrs(ds.attrs), None)
        if max_gap is not None and max_gap != 0:
            from behavior.filtering import interpolate_gaps

            position = interpolate_gaps(ds.position.assign_attrs(ds.attrs), max_gap)
            ds = ds.assign(position=position.assign_attrs(ds.position.attrs))
        if smoothing is not None and smoothing != 0:
            from behavior.filtering import median_filter

            position = median_filter(ds.position.assign_attrs(ds.attrs), smoothing)
            ds = ds.assign(position=position)
        self.ds = ds
        unit = str(ds.attrs.get("space_unit", "pixels") or "pixels")
        self.space_unit = "px" if unit.lower() in ("pixels", "pixel", "px") else unit
        if px_per_cm is None and self.space_unit == "px":
            px_per_cm = ds.attrs.get("px_per_cm")
        self.px_per_cm = None if px_per_cm is None else float(px_per_cm)
        self.keypoints = keypoints
        self.follow_window = follow_window
        self.follow_tolerance = follow_tolerance
        self.pairwise = pairwise
        self.zones = _zone_dict(zones)
        self.time_unit = "frame" if ds.attrs.get("time_unit") == "frames" else "s"
        self._cache: dict[str, tuple[np.ndarray, str]] = {}

    def roles(self):
        from behavior.social import keypoint_roles

        if "roles" not in self._cache:
            self._cache["roles"] = (keypoint_roles(self.ds, self.keypoints), "")  # type: ignore
        return self._cache["roles"][0]

    def _individual(self, name: str) -> tuple[np.ndarray, str]:
        from behavior import kinematics

        position = self.ds.position.assign_attrs(self.ds.attrs)
        speed_unit = f"{self.space_unit}/{self.time_unit}"
        if name == "speed":
            body = list(self.roles().body)
            speed = kinematics.rigid_motion(position.sel(keypoint=body))[0]
            return speed.transpose("time", "individual").values, speed_unit
        if name == "rotation_speed":
            turning = kinematics.rigid_motion(position)[1].transpose("time", "individual")
            return np.degrees(np.abs(turning.values)), f"deg/{self.time_unit}"
        if name == "max_keypoint_speed":
            sp = kinematics.speed(position).transpose("time", "individual", "keypoint").values
            with np.errstate(invalid="ignore"):
                allnan = np.isnan(sp).all(axis=2)
                out = np.where(allnan, np.nan, np.nanmax(np.where(np.isnan(sp), -np.inf, sp), 2))
            return out, speed_unit
        if name == "nose_speed":
            nose = self.roles().require("nose", "nose_speed")
            out = kinematics.speed(position.sel(keypoint=nose))
            return out.transpose("time", "individual").values, speed_unit
        if name in ("angular_speed", "head_angular_speed"):
            if name == "angular_speed":
                tail, front = self.roles().body_axis
                heading = kinematics.body_heading(position, tail, front)
            else:
                origin, nose = self.roles().head
                base = list(origin) if isinstance(origin, tuple) else [origin]
                d = position.sel(keypoint=nose) - position.sel(keypoint=base).mean("keypoint")
                heading = np.arctan2(d.sel(space="y"), d.sel(space="x")).rename("heading")
            w = kinematics.angular_velocity(heading)
            return np.degrees(np.abs(w.transpose("time", "individual").values)), (
                f"deg/{self.time_unit}"
            )
        raise _unknown_quantity(name)  # pragma: no cover - QUANTITIES lists them all

    def _zone_occupancy(self, name: str) -> np.ndarray:
        from behavior import roi

        if not self.zones:
            raise RuleError(
                f"rule: {name} needs zones; give zones=... (a behavior.roi zone, a list "
                "or a {name: zone} dict)"
            )
        if name == "in_zone":
            chosen = list(self.zones.items())
        elif name[3:] in self.zones:
            chosen = [(name[3:], self.zones[name[3:]])]
        else:
            raise RuleError(
                f"rule: unknown zone in {name!r}; the zones given are "
                f"{', '.join('in_' + str(k) for k in self.zones)} (or in_zone for any)"
            )
        data = self.ds
        if self.px_per_cm is not None and "px_per_cm" not in data.attrs:
            data = data.assign_attrs(px_per_cm=self.px_per_cm)
        roles = self.roles()
        keypoint = roles.body_center if roles.body_center is not None else list(roles.body)
        out = None
        for zone_name, zone in chosen:
            z = _zone_like(zone, data, f"zones[{zone_name!r}]")
            inside = roi.in_zone(data, z, keypoint=keypoint).transpose("time", "individual")
            values = np.asarray(inside.values, dtype=np.float64)
            out = values if out is None else np.fmax(out, values)
        return out

    def values(self, name: str) -> tuple[np.ndarray, str]:
        if name in self._cache:
            return self._cache[name]
        info = QUANTITIES.get(name)
        if name == "in_zone" or _is_zone_name(name):
            self._cache[name] = (self._zone_occupancy(name), "1")
            return self._cache[name]
        if info is None:
            raise _unknown_quantity(name)
        if name == "other_speed":
            speed, unit = self.values("speed")
            out = (np.broadcast_to(speed[:, None, :], (*speed.shape, speed.shape[1])).copy(), unit)
            _nan_diag(out[0])
        elif info.kind == "individual":
            out = self._individual(name)
        else:
            from behavior import social

            rel = social.relations(
                self.ds,
                keypoints=self.keypoints,
                follow_window=self.follow_window,
                follow_tolerance=self.follow_tolerance,
                variables=[name],
            )[name]
            values = np.asarray(rel.transpose("time", "individual", "other").values, float)
            unit = str(rel.attrs.get("units", "1"))
            out = (values, unit)
        self._cache[name] = out
        return out

    def convert(self, value: Quantity, unit: str, name: str) -> float:
        try:
            target = parse_unit(unit, name=name)
        except UnitError:
            raise RuleError(f"{name}: the data are in {unit!r}, a unit rules do not know") from None
        if value.dims == (0, 0, 0, 0, 0) and target.dims != value.dims and value.value != 0:
            raise RuleError(
                f"rule: {name} is in {unit}; give the threshold {value.value:g} a unit "
                f"(e.g. '{value.value:g} {unit}')"
            )
        try:
            return value.to(target, px_per_cm=self.px_per_cm, fps=self.fps, name=name)
        except UnitError as err:
            raise RuleError(
                f"{err} (the dataset's space_unit is {self.ds.attrs.get('space_unit')!r})"
            ) from None

    def broadcast(self, values: np.ndarray) -> np.ndarray:
        if self.pairwise and values.ndim == 2:
            return np.broadcast_to(values[:, :, None], (*values.shape, values.shape[1]))
        return values


def _zone_dict(zones: Any) -> dict[str, Any]:
    """Zones as ``{name: zone}`` from a zone, a list of zones or a dict (None: empty)."""
    from behavior import roi

    if zones is None:
        return {}
    if isinstance(zones, roi.Zone):
        return {str(zones.name): zones}
    if isinstance(zones, dict):
        return {str(k): z for k, z in zones.items()}
    if isinstance(zones, list | tuple):
        return {str(getattr(z, "name", k)): z for k, z in enumerate(zones)}
    raise RuleError(
        f"zones: expected a behavior.roi zone, a list of zones or a {{name: zone}} dict, "
        f"found {type(zones).__name__}"
    )


def _nan_diag(values: np.ndarray) -> None:
    idx = np.arange(values.shape[-1])
    values[..., idx, idx] = np.nan


def rule_mask(
    ds: xr.Dataset,
    rule: Rule | str,
    *,
    px_per_cm: float | None = None,
    keypoints: Any = None,
    smoothing: int | float | str | None = None,
    follow_window: int | float | str = "1 s",
    follow_tolerance: float | None = None,
    max_gap: int | float | str | None = None,
    zones: Any = None,
) -> xr.DataArray:
    """Per-frame truth of a rule on a pose dataset.

    Parameters
    ----------
    ds
        Pose dataset. Thresholds convert to its units: lengths through
        ``space_unit`` (pixels need ``px_per_cm``, given here or recorded in
        ``ds.attrs["px_per_cm"]``), times through ``fps``.
    rule
        A :class:`Rule` or text (:func:`parse_rule`).
    px_per_cm
        Calibration for pixel data.
    keypoints
        Keypoint roles (see :func:`behavior.social.keypoint_roles`).
    smoothing
        Rolling-median window applied to the positions first (frames or
        duration), or None.
    follow_window, follow_tolerance
        Passed to :func:`behavior.social.relations` for ``following``.
    max_gap
        Gaps of up to this many missing frames (or this duration) in a
        keypoint's track are filled linearly before smoothing, so that a
        keypoint lost for a moment does not break a rule; None: no filling.
    zones
        Zones for the ``in_zone`` quantity (any zone) and ``in_<name>`` (the zone
        of that name): a :class:`behavior.roi.Zone`, a list of zones or a
        ``{name: zone}`` dict, in the data's unit or in pixels. Occupancy is
        that of the body-centre keypoint (else the centroid of the body).

    Returns
    -------
    xr.DataArray
        bool over ``(time, individual, other)`` when the rule names a pairwise
        quantity (False where individual == other), else ``(time, individual)``.
        Frames where the rule is unknown (missing data) are False.

    Raises
    ------
    RuleError
        For an unknown quantity or unit, a threshold without the unit its
        quantity needs, or a length in cm on pixel data without calibration.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="5 s", seed=0)
    >>> rule_mask(ds, "speed > 15 cm/s and closest_distance < 5 cm").dims
    ('time', 'individual', 'other')
    """
    rule = parse_rule(rule)
    names = rule.names()
    pairwise = any(_kind(n) == "pair" for n in names)
    ctx = _Context(
        ds,
        px_per_cm=px_per_cm,
        keypoints=keypoints,
        smoothing=smoothing,
        follow_window=follow_window,
        follow_tolerance=follow_tolerance,
        pairwise=pairwise,
        max_gap=max_gap,
        zones=zones,
    )
    values = ctx.broadcast(rule.evaluate(ctx))
    result = np.nan_to_num(values, nan=0.0) == 1.0
    individuals = ds["individual"].values
    coords: dict[str, Any] = {"time": ds["time"].values, "individual": individuals}
    dims: tuple[str, ...] = ("time", "individual")
    if pairwise:
        result = result.copy()
        idx = np.arange(result.shape[-1])
        result[:, idx, idx] = False
        coords["other"] = individuals
        dims = ("time", "individual", "other")
    attrs = {k: ds.attrs[k] for k in ("fps", "time_unit") if k in ds.attrs}
    if "fps" not in attrs and ctx.fps is not None:
        attrs["fps"] = ctx.fps
    attrs["rule"] = str(rule)
    return xr.DataArray(result, dims=dims, coords=coords, name="rule", attrs=attrs)


def detect(
    ds: xr.Dataset,
    rule: Rule | str,
    min_duration: int | float | str | None = "1 s",
    merge_gap: int | float | str | None = "0.5 s",
    min_fraction: float | None = None,
    window: int | float | str | None = None,
    behavior: str | None = None,
    *,
    px_per_cm: float | None = None,
    keypoints: Any = None,
    smoothing: int | float | str | None = None,
    follow_window: int | float | str = "1 s",
    follow_tolerance: float | None = None,
    max_gap: int | float | str | None = None,
    zones: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Bouts where a rule holds: :func:`rule_mask` then :func:`bouts`.

    Parameters
    ----------
    ds
        Pose dataset (see :func:`rule_mask` for units and calibration).
    rule
        A :class:`Rule` (``(q.speed > 15 * cm / s) & (q.closest_distance < 5 * cm)``)
        or text (``"speed > 15 cm/s and closest_distance < 5 cm"``).
    min_duration, merge_gap, min_fraction, window
        As in :func:`bouts`.
    behavior
        Name of the behavior column (default ``"event"``).
    px_per_cm, keypoints, smoothing, follow_window, follow_tolerance, max_gap, zones
        As in :func:`rule_mask`.
    as_ethogram
        Return an :class:`behavior.ethogram.Ethogram` (non-exclusive, partners
        from ``other``) instead of the table.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts (:data:`BOUT_COLUMNS`); ``other`` names the partner for pairwise
        rules and is ``""`` otherwise.

    Raises
    ------
    RuleError
        See :func:`rule_mask`.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> b = detect(ds, "speed < 1 cm/s", min_duration="1 s", behavior="still")
    >>> list(b.columns) == BOUT_COLUMNS
    True
    """
    mask = rule_mask(
        ds,
        rule,
        px_per_cm=px_per_cm,
        keypoints=keypoints,
        smoothing=smoothing,
        follow_window=follow_window,
        follow_tolerance=follow_tolerance,
        max_gap=max_gap,
        zones=zones,
    )
    name = "event" if behavior is None else str(behavior)
    table = bouts(
        mask,
        min_duration=min_duration,
        merge_gap=merge_gap,
        min_fraction=min_fraction,
        window=window,
        behavior=name,
    )
    logger.debug("detect %s: %d bouts of %s", name, len(table), mask.attrs["rule"])
    if not as_ethogram:
        return table
    from behavior.ethogram import Ethogram

    return Ethogram.from_bouts(table, ds, behaviors=[name])


# ======================================================================================
# Presets
# ======================================================================================


def _require_calibration(ds: xr.Dataset, px_per_cm: float | None, preset: str) -> None:
    unit = str(ds.attrs.get("space_unit", "pixels") or "pixels").lower()
    if unit in ("pixels", "pixel", "px") and px_per_cm is None and not ds.attrs.get("px_per_cm"):
        raise RuleError(
            f"{preset}: the preset's thresholds are in cm but the positions are in pixels "
            "and the dataset has no calibration. Give px_per_cm=... or calibrate first "
            "(behavior.kinematics.calibrate(ds, px_per_cm=...)); units are never guessed."
        )


def _preset(
    ds: xr.Dataset,
    name: str,
    rule: Rule,
    *,
    min_duration: Any,
    merge_gap: Any,
    min_fraction: float | None,
    window: Any,
    px_per_cm: float | None,
    smoothing: Any,
    keypoints: Any,
    as_ethogram: bool,
    max_gap: Any = None,
    **relations: Any,
) -> pd.DataFrame | Any:
    _require_calibration(ds, px_per_cm, name)
    return detect(
        ds,
        rule,
        min_duration=min_duration,
        merge_gap=merge_gap,
        min_fraction=min_fraction,
        window=window,
        behavior=name,
        px_per_cm=px_per_cm,
        keypoints=keypoints,
        smoothing=smoothing,
        max_gap=max_gap,
        as_ethogram=as_ethogram,
        **relations,
    )


_Q = str | float | Quantity


def _qty(value: _Q, unit: str, name: str) -> Quantity:
    """A threshold: a Quantity, text with a unit, or a bare number in ``unit``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) * parse_unit(unit)
    return quantity(value, name=name)


def chase(
    ds: xr.Dataset,
    *,
    min_speed: _Q = "15 cm/s",
    max_distance: _Q = "5 cm",
    max_angle: _Q = "30 deg",
    min_fraction: float = 0.8,
    window: Any = "1 s",
    min_duration: Any = "1 s",
    merge_gap: Any = "0.5 s",
    smoothing: Any = "0.2 s",
    max_gap: Any = "1 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Chase bouts: one mouse runs right behind another that runs away.

    Definition (MABe 2022 mouse-triplet "chase", as used by AmadeusGPT; also
    :data:`behavior.simulate.DEFINITIONS` ``["chase"]``): both animals move faster
    than ``min_speed`` (15 cm/s; body-centroid speed), their closest body points
    are less than ``max_distance`` (5 cm) apart and their body axes differ by less
    than ``max_angle`` (30 deg), for at least ``min_fraction`` (80 %) of the frames
    within at least ``window`` (1 s); bouts less than ``merge_gap`` (0.5 s) apart
    are merged and bouts shorter than ``min_duration`` (1 s) dropped. ``other``
    is the chased animal (the rule itself is symmetric; the chaser is the one
    behind, whose nose is nearer the other's tail base). Gaps of up to
    ``max_gap`` (1 s, the rule's window: a condition unknown for less than the
    window would otherwise break it) in a keypoint's track are filled linearly,
    then positions are smoothed with a rolling median of ``smoothing`` (the
    simulator's ``smoothing_s``).

    Source: Sun et al., "MABe22: a multi-species multi-task benchmark for learned
    representations of behavior" (ICML 2023), mouse-triplet hidden tasks;
    AmadeusGPT (Ye et al., NeurIPS 2023) examples/MABe.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm`` (given or in its attrs).
    min_speed, max_distance, max_angle
        Thresholds: Quantities, text with units, or numbers in cm/s, cm, deg.
    min_fraction, window, min_duration, merge_gap
        As in :func:`bouts`.
    smoothing
        Rolling-median window on positions (None: raw positions).
    max_gap
        Longest run of missing frames to fill first (frames or duration; None:
        no filling).
    px_per_cm, keypoints, as_ethogram
        As in :func:`detect`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="chase"``.

    Raises
    ------
    RuleError
        Without a spatial calibration.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> chase(ds).behavior.unique().tolist() in ([], ["chase"])
    True
    """
    v = _qty(min_speed, "cm/s", "min_speed")
    rule = (
        (q.speed > v)
        & (q.other_speed > v)
        & (q.closest_distance < _qty(max_distance, "cm", "max_distance"))
        & (q.relative_angle < _qty(max_angle, "deg", "max_angle"))
    )
    found = _preset(
        ds, "chase", rule, min_duration=min_duration, merge_gap=merge_gap,
        min_fraction=min_fraction, window=window, px_per_cm=px_per_cm, smoothing=smoothing,
        keypoints=keypoints, as_ethogram=False, max_gap=max_gap,
    )  # fmt: skip
    found = _behind_only(ds, found, px_per_cm, keypoints, smoothing, max_gap)
    if as_ethogram:
        from behavior.ethogram import Ethogram

        return Ethogram.from_bouts(found, ds, behaviors=["chase"])
    return found


def _behind_only(ds, found: pd.DataFrame, px_per_cm, keypoints, smoothing, max_gap):
    """Keep, of each pair of mirrored chase bouts, the one of the animal behind: the
    one whose nose is nearer the other's tail base than the other's nose is to its own."""
    if found.empty:
        return found
    ctx = _Context(
        ds, px_per_cm=px_per_cm, keypoints=keypoints, smoothing=smoothing,
        follow_window="1 s", follow_tolerance=None, pairwise=True, max_gap=max_gap,
    )  # fmt: skip
    d, _ = ctx.values("nose_to_tail_base")
    names = [str(v) for v in ds["individual"].values]
    idx = {n: k for k, n in enumerate(names)}
    keep = []
    for row in found.itertuples(index=False):
        i, j = idx[row.individual], idx[row.other]
        sl = slice(row.start_frame, row.stop_frame)
        mine = np.nanmedian(d[sl, i, j]) if np.isfinite(d[sl, i, j]).any() else np.inf
        theirs = np.nanmedian(d[sl, j, i]) if np.isfinite(d[sl, j, i]).any() else np.inf
        keep.append(bool(mine <= theirs))
    return found[np.asarray(keep, dtype=bool)].reset_index(drop=True)


def watching(
    ds: xr.Dataset,
    *,
    min_distance: _Q = "5 cm",
    max_distance: _Q = "20 cm",
    max_gaze_offset: _Q = "20 deg",
    max_speed: _Q | None = "3 cm/s",
    min_fraction: float = 0.8,
    window: Any = "1 s",
    min_duration: Any = "1 s",
    merge_gap: Any = "0.5 s",
    smoothing: Any = "0.2 s",
    max_gap: Any = "1 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Watching bouts: a still mouse with its head pointed at another, some way off.

    Definition (:data:`behavior.simulate.DEFINITIONS` ``["watch"]``, after the
    MABe 2022 "watching" task): the closest-point distance is between
    ``min_distance`` (5 cm) and ``max_distance`` (20 cm), the gaze offset (angle
    between the head direction, ears' midpoint -> nose, and the direction to the
    other's body point nearest the nose) is below ``max_gaze_offset`` (20 deg)
    and the watcher's body speed is below ``max_speed`` (3 cm/s; None drops the
    condition), for at least ``min_fraction`` (80 %) of the frames within at
    least ``window`` (1 s); bouts less than ``merge_gap`` (0.5 s) apart merge.
    Gaps of up to ``max_gap`` (1 s, the window) in a keypoint's track are filled first.
    The MABe definition proper uses a 15 deg gaze offset, no speed condition and
    3 s: ``watching(ds, max_gaze_offset="15 deg", max_speed=None,
    window="3 s", min_duration="3 s")``. ``other`` is the watched animal.

    Source: Sun et al., MABe22 (ICML 2023) mouse-triplet tasks; AmadeusGPT
    examples/MABe; behavior.simulate.DEFINITIONS.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    min_distance, max_distance, max_gaze_offset, max_speed
        Thresholds (Quantities, text, or numbers in cm, deg, cm/s).
    min_fraction, window, min_duration, merge_gap, smoothing, max_gap, px_per_cm, keypoints
        As in :func:`chase`.
    as_ethogram
        As in :func:`detect`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="watching"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> list(watching(ds).columns) == BOUT_COLUMNS
    True
    """
    rule = (
        (q.closest_distance >= _qty(min_distance, "cm", "min_distance"))
        & (q.closest_distance <= _qty(max_distance, "cm", "max_distance"))
        & (q.gaze_offset < _qty(max_gaze_offset, "deg", "max_gaze_offset"))
    )
    if max_speed is not None:
        rule = rule & (q.speed < _qty(max_speed, "cm/s", "max_speed"))
    return _preset(
        ds, "watching", rule, min_duration=min_duration, merge_gap=merge_gap,
        min_fraction=min_fraction, window=window, px_per_cm=px_per_cm, smoothing=smoothing,
        keypoints=keypoints, as_ethogram=as_ethogram, max_gap=max_gap,
    )  # fmt: skip


def _still_windows(
    position: np.ndarray, max_step: float, width: int, n_blocks: int, n_se: float
) -> np.ndarray:
    """(time, individual) True where the frame lies in a window of ``width`` frames in
    which no keypoint moves.

    ``position`` is (time, individual, keypoint, space), NaN where untracked. The
    window is cut into ``n_blocks`` blocks; a keypoint moves between two blocks ``dt``
    frames apart when the distance between its mean positions over their tracked
    frames exceeds both ``max_step * dt`` and ``n_se`` standard errors of that
    distance (from the scatter within the blocks), so that tracking noise alone
    never reads as movement. Blocks with half or fewer frames tracked are skipped.
    """
    n_time, n_ind = position.shape[:2]
    out = np.zeros((n_time, n_ind), dtype=bool)
    size = max(1, round(width / n_blocks))
    n_windows = n_time - width + 1
    if n_windows <= 0:
        return out
    offsets = np.unique(np.linspace(0, width - size, n_blocks).round().astype(int))

    def block_sums(a: np.ndarray) -> np.ndarray:
        c = np.concatenate([np.zeros((1, *a.shape[1:])), np.cumsum(a, axis=0)])
        return c[size:] - c[:-size]

    starts = np.arange(n_windows)
    for i in range(n_ind):
        x = position[:, i]  # (time, keypoint, space)
        seen = np.isfinite(x).all(axis=-1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # keypoints never tracked
            centre = np.nanmean(np.where(seen[..., None], x, np.nan), axis=0)
        dev = np.where(seen[..., None], x - centre, 0.0)  # centred: no cancellation
        n = block_sums(seen.astype(np.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = block_sums(dev) / n[..., None]
            var = block_sums(dev**2) / n[..., None] - mean**2
            var = np.clip(var, 0.0, None) * (n / np.maximum(n - 1, 1))[..., None]
            se2 = var.sum(axis=-1) / n
        few = n <= size // 2
        mean[few] = np.nan
        se2[few] = np.nan
        moving = np.zeros((n_windows, x.shape[1]), dtype=bool)
        for j, a in enumerate(offsets):
            for b in offsets[j + 1 :]:
                d2 = ((mean[starts + b] - mean[starts + a]) ** 2).sum(axis=-1)
                e2 = se2[starts + b] + se2[starts + a]
                with np.errstate(invalid="ignore"):  # NaN (untracked): not moving
                    moving |= (d2 > (max_step * (b - a)) ** 2) & (d2 > n_se**2 * e2)
        still = ~moving.any(axis=1)
        cover = np.zeros(n_time + 1, dtype=np.int64)
        cover[:n_windows] += still
        cover[width : width + n_windows] -= still
        out[:, i] = np.cumsum(cover)[:n_time] > 0
    return out


def freezing(
    ds: xr.Dataset,
    *,
    max_speed: _Q = "1 cm/s",
    max_angular_speed: _Q | None = "12 deg/s",
    quantity_name: str = "speed",
    turning_name: str = "rotation_speed",
    min_fraction: float | None = None,
    window: Any = None,
    min_duration: Any = "1 s",
    merge_gap: Any = 0,
    join_gap: Any = None,
    smoothing: Any = "0.5 s",
    max_gap: Any = "1 s",
    window_test: bool = True,
    n_blocks: int = 4,
    n_se: float = 2.0,
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Freezing bouts: the body stays still, and does not turn, for a minimum duration.

    Definition (BehaviorDEPOT's two conditions; :data:`behavior.simulate.DEFINITIONS`
    ``["freeze"]``): the body speed (``quantity_name``, default the speed of the
    centroid of the body keypoints, head included; ``"max_keypoint_speed"`` for
    the simulator's "every keypoint") stays below ``max_speed`` (1 cm/s, the
    simulator's freeze threshold) and the animal turns slower than
    ``max_angular_speed`` (12 deg/s, BehaviorDEPOT's angular threshold; None drops
    the condition), for at least ``min_duration`` (1 s). The turning is
    ``turning_name``: by default ``"rotation_speed"``, the rate of the one
    rotation that best moves all keypoints (tail included) from the frame before
    to the frame after (:func:`behavior.kinematics.rigid_motion`), which averages
    tracking noise over every point and sees a wagging tail or a head swinging
    about the body;
    ``"angular_speed"`` (body axis, tail base -> neck or ears) and
    ``"head_angular_speed"`` are the two-point alternatives. The turning condition
    is what separates a freeze from quiet rest or grooming, in which the body
    stays in place but keeps shifting. Gaps of up to ``max_gap`` (1 s) in a
    keypoint's track are first filled linearly, then positions are smoothed with
    a rolling median of ``smoothing`` (0.5 s) so that tracking jitter and outliers
    do not read as movement; the speed and the rotation only compare keypoints
    tracked in both frames, so a keypoint lost for longer does not move the
    centroid. ``min_fraction`` with ``window`` tolerates brief supra-threshold
    frames, ``merge_gap`` joins runs before the ``min_duration`` filter, and
    ``join_gap`` joins freezing bouts (each at least ``min_duration`` long) less
    than that apart, so that short still moments never add up to a freeze (off
    by default).

    The per-frame conditions are smoothed and taken on the body as a whole, so
    they miss slow movement of single keypoints: the head scanning or the tail
    swinging while the body holds still. The window test
    (``window_test``, on by default) adds the simulator's "nothing moves": every
    keypoint, tail included, stays put over a window of ``min_duration`` at the
    resolution of ``n_blocks`` blocks (a quarter-second each by default). Each
    keypoint's mean position over the frames of a block where it was tracked (raw
    positions: no gap filling, no smoothing) is compared between every two blocks
    of the window; the keypoint moves when the distance is larger than
    ``max_speed`` times the time between the blocks and larger than ``n_se`` (2)
    standard errors of that distance, estimated from the scatter of the positions
    within the blocks, so that tracking noise alone cannot make a still animal
    move. A frame passes when some window containing it is still.

    Source: BehaviorDEPOT (Gabriel et al., eLife 2022, 11:e74314;
    calculateFreezing_velocity) marks frames whose mean head / rear-back velocity
    is below 0.52 cm/s and head angular velocity below 12 deg/s, smooths the
    result with a 32-frame window (at least 10 frames), and keeps bouts of at
    least 0.9 s. The defaults here take its two conditions with the simulator's
    1 cm/s and one second, and measure the turning on all keypoints rather than on
    a two-point head angle (too noisy at 30 fps and a few pixels per cm); they are
    not fitted to any file.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    max_speed
        Threshold (Quantity, text, or a number in cm/s).
    max_angular_speed
        Threshold on the turning (Quantity, text, or a number in deg/s), or None.
    quantity_name
        Which per-individual speed to threshold (see :data:`QUANTITIES`).
    turning_name
        Which turning rate to threshold: ``"rotation_speed"``, ``"angular_speed"``
        or ``"head_angular_speed"``.
    max_gap
        Longest run of missing frames to interpolate first (frames or duration;
        None: no filling).
    join_gap
        Freezing bouts closer than this are joined (frames or duration; 0 or
        None, the default: never).
    window_test
        Also require every keypoint to stay put over a window of ``min_duration``
        (see above); False keeps only the per-frame conditions.
    n_blocks
        Blocks per window of the window test (at least 2).
    n_se
        Standard errors of the tracking noise that a keypoint's displacement must
        exceed to count as movement in the window test.
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`chase`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="freezing"`` and ``other`` ``""``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> set(freezing(ds).other) <= {""}
    True
    """
    if QUANTITIES.get(quantity_name, _QuantityInfo("pair", "")).kind != "individual":
        raise RuleError(
            f"quantity_name: expected a per-individual speed, one of "
            f"{[k for k, v in QUANTITIES.items() if v.kind == 'individual']}, found "
            f"{quantity_name!r}"
        )
    turning_names = ("rotation_speed", "angular_speed", "head_angular_speed")
    if turning_name not in turning_names:
        raise RuleError(
            f"turning_name: expected one of {list(turning_names)}, found {turning_name!r}"
        )
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int | np.integer) or n_blocks < 2:
        raise RuleError(f"n_blocks: expected a whole number >= 2, found {n_blocks!r}")
    if isinstance(n_se, bool) or not isinstance(n_se, int | float) or not n_se >= 0:
        raise RuleError(f"n_se: expected a number >= 0, found {n_se!r}")
    speed_limit = _qty(max_speed, "cm/s", "max_speed")
    rule = Var(quantity_name) < speed_limit
    if max_angular_speed is not None:
        limit = _qty(max_angular_speed, "deg/s", "max_angular_speed")
        rule = rule & (Var(turning_name) < limit)
    _require_calibration(ds, px_per_cm, "freezing")
    mask = rule_mask(
        ds, rule, px_per_cm=px_per_cm, keypoints=keypoints, smoothing=smoothing,
        max_gap=max_gap,
    )  # fmt: skip
    if window_test:
        fps = _need_fps(_fps_of(mask, None), min_duration, "min_duration")
        width = max(2, round(_in_frames(min_duration, fps, "min_duration")))
        cm_per_frame = speed_limit.to("cm/s", name="max_speed") / fps
        max_step = _data_length(ds, cm_per_frame, px_per_cm, "max_speed")
        position = ds["position"].transpose("time", "individual", "keypoint", "space")
        still = _still_windows(
            np.asarray(position.values, dtype=np.float64), max_step, width, int(n_blocks),
            float(n_se),
        )  # fmt: skip
        mask = mask.copy(data=mask.transpose("time", "individual").values & still)
    found = bouts(
        mask, min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, behavior="freezing",
    )  # fmt: skip
    if join_gap is not None and join_gap != 0 and len(found) > 1:
        like = xr.DataArray(
            np.zeros((ds.sizes["time"], ds.sizes["individual"]), dtype=bool),
            dims=("time", "individual"),
            coords={"time": ds["time"].values, "individual": ds["individual"].values},
            attrs={k: ds.attrs[k] for k in ("fps", "time_unit") if k in ds.attrs},
        )
        found = bouts(mask_from_bouts(found, like), merge_gap=join_gap, behavior="freezing")
    if as_ethogram:
        from behavior.ethogram import Ethogram

        return Ethogram.from_bouts(found, ds, behaviors=["freezing"])
    return found


PRESETS: dict[str, Callable[..., Any]] = {
    "chase": chase,
    "watching": watching,
    "freezing": freezing,
}
"""Rule presets by name; each function's docstring gives its definition and source."""


# ---- more presets: approach, contacts, following, huddling, head dips, zones ------------

_PIXELS = ("pixels", "pixel", "px")


def _space_unit_of(ds: xr.Dataset) -> str:
    unit = str(ds.attrs.get("space_unit", "pixels") or "pixels")
    return "px" if unit.lower() in _PIXELS else unit


def _data_length(ds: xr.Dataset, value: _Q, px_per_cm: float | None, name: str) -> float:
    """A length threshold (number in cm, text or Quantity) in the dataset's space unit."""
    if px_per_cm is None and _space_unit_of(ds) == "px":
        px_per_cm = ds.attrs.get("px_per_cm")
    try:
        return _qty(value, "cm", name).to(_space_unit_of(ds), px_per_cm=px_per_cm, name=name)
    except UnitError as err:
        raise RuleError(str(err)) from None


def _pair_preset(
    ds: xr.Dataset, name: str, rule: Rule, common: dict[str, Any], **relations: Any
) -> pd.DataFrame | Any:
    """Run a rule preset with the shared keyword arguments of the presets below."""
    return _preset(ds, name, rule, **common, **relations)


def approach(
    ds: xr.Dataset,
    *,
    min_approach_speed: _Q = "5 cm/s",
    min_speed: _Q = "5 cm/s",
    max_gaze_offset: _Q = "30 deg",
    max_distance: _Q = "20 cm",
    min_distance: _Q = "2 cm",
    min_fraction: float | None = 0.8,
    window: Any = "0.5 s",
    min_duration: Any = "0.5 s",
    merge_gap: Any = "0.2 s",
    smoothing: Any = "0.2 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Approach bouts: a mouse moves towards another, head first, closing the distance.

    Definition (after Live Mouse Tracker's "Approach" event, de Chaumont et al.,
    Nature Biomedical Engineering 3:930, 2019: an animal moves towards another
    that is within reach): the centroid distance shrinks faster than ``min_approach_speed``
    (5 cm/s; :func:`behavior.social.approach_speed`), the approacher itself moves
    faster than ``min_speed`` (5 cm/s, body-centroid speed), its head points at
    the other (gaze offset below ``max_gaze_offset``, 30 deg) and the closest
    body points are between ``min_distance`` (2 cm: already in contact is no
    longer an approach) and ``max_distance`` (20 cm) apart, for at least
    ``min_fraction`` (80 %) of the frames within at least ``window`` (0.5 s);
    bouts less than ``merge_gap`` (0.2 s) apart merge, bouts shorter than
    ``min_duration`` (0.5 s) are dropped. The approacher is ``individual`` and
    the approached animal ``other`` (the speed and gaze conditions are the
    approacher's, so a mouse that is approached while standing still does not
    approach back). The thresholds are set on principle for mice (a walking
    mouse moves at 5-20 cm/s), not fitted to a file.

    Source: de Chaumont et al., "Real-time analysis of the behaviour of groups of mice
    via a depth-sensing camera and machine learning", Nature Biomedical Engineering
    3:930-942 (2019), Live Mouse Tracker event definitions.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm`` (given or in its attrs).
    min_approach_speed, min_speed, max_gaze_offset, max_distance, min_distance
        Thresholds: Quantities, text with units, or numbers in cm/s, deg, cm.
    min_fraction, window, min_duration, merge_gap
        As in :func:`bouts` (``min_fraction=None, window=None``: every frame).
    smoothing
        Rolling-median window on positions (None: raw positions).
    px_per_cm, keypoints, as_ethogram
        As in :func:`detect`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="approach"``.

    Raises
    ------
    RuleError
        Without a spatial calibration, or for a threshold in the wrong unit.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(approach(ds).columns) == BOUT_COLUMNS
    True
    """
    rule = (
        (q.approach_speed > _qty(min_approach_speed, "cm/s", "min_approach_speed"))
        & (q.speed > _qty(min_speed, "cm/s", "min_speed"))
        & (q.gaze_offset < _qty(max_gaze_offset, "deg", "max_gaze_offset"))
        & (q.closest_distance < _qty(max_distance, "cm", "max_distance"))
        & (q.closest_distance >= _qty(min_distance, "cm", "min_distance"))
    )
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
        as_ethogram=as_ethogram,
    )  # fmt: skip
    return _pair_preset(ds, "approach", rule, common)


def nose_to_nose_contact(
    ds: xr.Dataset,
    *,
    max_distance: _Q = "1.5 cm",
    min_fraction: float | None = None,
    window: Any = None,
    min_duration: Any = "0.2 s",
    merge_gap: Any = "0.2 s",
    smoothing: Any = "0.2 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Nose-to-nose contact bouts: the two noses are within ``max_distance``.

    Definition (Live Mouse Tracker "Oral-oral contact", de Chaumont et al., Nature
    Biomedical Engineering 2019; DeepOF ``nose2nose``, Miranda et al., Nature
    Communications 14:6394, 2023, a distance between the two nose keypoints below a
    tolerance): the nose-to-nose distance is below ``max_distance`` (1.5 cm: about
    a mouse's snout width plus tracking error, set on principle) for at least
    ``min_duration`` (0.2 s); bouts less than ``merge_gap`` (0.2 s) apart merge.
    Symmetric: each contact gives one bout for each animal of the pair.

    Source: de Chaumont et al., Nature Biomedical Engineering 2019 (Live Mouse
    Tracker); Miranda et al., "DeepOF: a Python package for supervised and
    unsupervised pattern recognition in mice motion tracking data", Nature
    Communications 14:6394 (2023), supervised annotations.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    max_distance
        Threshold (Quantity, text, or a number in cm).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="nose_to_nose_contact"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(nose_to_nose_contact(ds).columns) == BOUT_COLUMNS
    True
    """
    rule = q.nose_to_nose < _qty(max_distance, "cm", "max_distance")
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
        as_ethogram=as_ethogram,
    )  # fmt: skip
    return _pair_preset(ds, "nose_to_nose_contact", rule, common)


def nose_to_body_contact(
    ds: xr.Dataset,
    *,
    max_distance: _Q = "1.5 cm",
    min_fraction: float | None = None,
    window: Any = None,
    min_duration: Any = "0.2 s",
    merge_gap: Any = "0.2 s",
    smoothing: Any = "0.2 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Nose-to-body contact bouts: my nose touches the other's body.

    Definition (DeepOF ``nose2body``, Miranda et al., Nature Communications 2023:
    the nose of one animal within a tolerance of a body keypoint of the other):
    the distance from my nose to the nearest body keypoint of the other
    (:func:`behavior.social.nose_to_body`; the body keypoints include the head,
    so a nose-to-nose contact is also a nose-to-body contact) is below
    ``max_distance`` (1.5 cm, set on principle) for at least ``min_duration``
    (0.2 s); bouts less than ``merge_gap`` (0.2 s) apart merge. ``individual``
    is the animal whose nose touches, ``other`` the one touched.

    Source: Miranda et al., DeepOF, Nature Communications 2023, supervised
    annotations; de Chaumont et al., Nature Biomedical Engineering 2019.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    max_distance
        Threshold (Quantity, text, or a number in cm).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="nose_to_body_contact"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(nose_to_body_contact(ds).columns) == BOUT_COLUMNS
    True
    """
    rule = q.nose_to_body < _qty(max_distance, "cm", "max_distance")
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
        as_ethogram=as_ethogram,
    )  # fmt: skip
    return _pair_preset(ds, "nose_to_body_contact", rule, common)


def nose_to_anogenital_contact(
    ds: xr.Dataset,
    *,
    max_distance: _Q = "1.5 cm",
    min_fraction: float | None = None,
    window: Any = None,
    min_duration: Any = "0.2 s",
    merge_gap: Any = "0.2 s",
    smoothing: Any = "0.2 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Nose-to-anogenital contact bouts: my nose at the other's tail base.

    Definition (Live Mouse Tracker "Oral-genital contact", de Chaumont et al.
    2019; DeepOF ``nose2tail``, Miranda et al. 2023): the distance
    from my nose to the other's tail base is below ``max_distance`` (1.5 cm, set
    on principle) for at least ``min_duration`` (0.2 s); bouts less than
    ``merge_gap`` (0.2 s) apart merge. ``individual`` sniffs, ``other`` is
    sniffed.

    Source: de Chaumont et al., Nature Biomedical Engineering 2019 (Live Mouse
    Tracker); Miranda et al., DeepOF, Nature Communications 2023.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    max_distance
        Threshold (Quantity, text, or a number in cm).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="nose_to_anogenital_contact"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(nose_to_anogenital_contact(ds).columns) == BOUT_COLUMNS
    True
    """
    rule = q.nose_to_tail_base < _qty(max_distance, "cm", "max_distance")
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
        as_ethogram=as_ethogram,
    )  # fmt: skip
    return _pair_preset(ds, "nose_to_anogenital_contact", rule, common)


def side_by_side(
    ds: xr.Dataset,
    *,
    max_distance: _Q = "1.5 cm",
    max_nose_distance: _Q = "4 cm",
    max_angle: _Q = "45 deg",
    min_fraction: float | None = None,
    window: Any = None,
    min_duration: Any = "0.5 s",
    merge_gap: Any = "0.2 s",
    smoothing: Any = "0.2 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Side-by-side contact bouts: two mice flank to flank, facing the same way.

    Definition (Live Mouse Tracker "Side by side contact": the two animals touch
    with heads and tails at the same level, de Chaumont et al. 2019; DeepOF
    ``sidebyside``, Miranda et al. 2023): the closest body points are less than
    ``max_distance`` (1.5 cm) apart, the body axes differ by less than
    ``max_angle`` (45 deg; same direction) and the noses are less than
    ``max_nose_distance`` (4 cm, about a body width plus error, so that two mice
    nose to tail in a line do not count), for at least ``min_duration`` (0.5 s);
    bouts less than ``merge_gap`` (0.2 s) apart merge. Symmetric. The
    thresholds are set on principle for mice.

    Source: de Chaumont et al., Nature Biomedical Engineering 2019 (Live Mouse
    Tracker); Miranda et al., DeepOF, Nature Communications 2023.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    max_distance, max_nose_distance, max_angle
        Thresholds (Quantities, text, or numbers in cm, cm, deg).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="side_by_side"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(side_by_side(ds).columns) == BOUT_COLUMNS
    True
    """
    rule = (
        (q.closest_distance < _qty(max_distance, "cm", "max_distance"))
        & (q.nose_to_nose < _qty(max_nose_distance, "cm", "max_nose_distance"))
        & (q.relative_angle < _qty(max_angle, "deg", "max_angle"))
    )
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
        as_ethogram=as_ethogram,
    )  # fmt: skip
    return _pair_preset(ds, "side_by_side", rule, common)


def following(
    ds: xr.Dataset,
    *,
    min_speed: _Q = "5 cm/s",
    max_distance: _Q = "10 cm",
    follow_window: Any = "1 s",
    follow_tolerance: _Q = "2 cm",
    min_fraction: float | None = 0.8,
    window: Any = "1 s",
    min_duration: Any = "1 s",
    merge_gap: Any = "0.5 s",
    smoothing: Any = "0.2 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Following bouts: a moving mouse walks along the path the other just took.

    Definition (DeepOF ``following_path``, Miranda et al., Nature Communications
    2023: the follower's nose stays close to the path the leader's tail base
    took in the last frames; Live Mouse Tracker "Follow", de Chaumont et al.
    2019): :func:`behavior.social.following` holds (my nose within
    ``follow_tolerance``, 2 cm, of a point the other's tail base occupied in the
    last ``follow_window``, 1 s, and both moved more than the tolerance over
    the window), the follower moves faster than ``min_speed`` (5 cm/s) and its
    nose is less than ``max_distance`` (10 cm, about one body length) from the
    other's tail base, for at least ``min_fraction`` (80 %) of the frames within
    at least ``window`` (1 s); bouts less than ``merge_gap`` (0.5 s) apart merge.
    ``individual`` follows ``other``.

    Source: Miranda et al., DeepOF, Nature Communications 2023 (following);
    de Chaumont et al., Nature Biomedical Engineering 2019 (Live Mouse Tracker).

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    min_speed, max_distance
        Thresholds (Quantities, text, or numbers in cm/s and cm).
    follow_window
        How far back the leader's path counts (duration or frames).
    follow_tolerance
        Distance to that path (Quantity, text, or a number in cm).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="following"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(following(ds).columns) == BOUT_COLUMNS
    True
    """
    _require_calibration(ds, px_per_cm, "following")
    tolerance = _data_length(ds, follow_tolerance, px_per_cm, "follow_tolerance")
    rule = (
        (q.following > 0.5)
        & (q.speed > _qty(min_speed, "cm/s", "min_speed"))
        & (q.nose_to_tail_base < _qty(max_distance, "cm", "max_distance"))
    )
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
        as_ethogram=as_ethogram,
    )  # fmt: skip
    return _pair_preset(
        ds, "following", rule, common, follow_window=follow_window, follow_tolerance=tolerance
    )


def huddling(
    ds: xr.Dataset,
    *,
    max_distance: _Q = "1 cm",
    max_speed: _Q = "2 cm/s",
    min_fraction: float | None = 0.8,
    window: Any = "2 s",
    min_duration: Any = "2 s",
    merge_gap: Any = "1 s",
    smoothing: Any = "0.5 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Huddling bouts: two mice rest together with their bodies in contact.

    Definition (huddling as resting in body contact, Live Mouse Tracker
    "Contact" combined with "Stop", de Chaumont et al. 2019; DeepOF's ``huddle``
    is the single-animal posture, this is the social one): the closest body
    points are less than ``max_distance`` (1 cm: touching, given tracking error)
    apart and both animals' body speeds are below ``max_speed`` (2 cm/s), for at
    least ``min_fraction`` (80 %) of the frames within at least ``window``
    (2 s); bouts less than ``merge_gap`` (1 s) apart merge. Positions are
    smoothed with a 0.5 s rolling median first, as for :func:`freezing`.
    Symmetric. The thresholds are set on principle, not fitted to a file.

    Source: de Chaumont et al., Nature Biomedical Engineering 2019 (Live Mouse
    Tracker contact and stop events); Miranda et al., DeepOF, Nature
    Communications 2023.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    max_distance, max_speed
        Thresholds (Quantities, text, or numbers in cm and cm/s).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="huddling"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(huddling(ds).columns) == BOUT_COLUMNS
    True
    """
    v = _qty(max_speed, "cm/s", "max_speed")
    rule = (
        (q.closest_distance < _qty(max_distance, "cm", "max_distance"))
        & (q.speed < v)
        & (q.other_speed < v)
    )
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
        as_ethogram=as_ethogram,
    )  # fmt: skip
    return _pair_preset(ds, "huddling", rule, common)


def _calibrated(ds: xr.Dataset, px_per_cm: float | None, name: str) -> xr.Dataset:
    """The dataset in a physical unit: pixel data are calibrated, others kept."""
    _require_calibration(ds, px_per_cm, name)
    if _space_unit_of(ds) != "px":
        return ds
    from behavior.kinematics import calibrate

    return calibrate(ds, px_per_cm)


def _smoothed(ds: xr.Dataset, smoothing: Any) -> xr.Dataset:
    if smoothing is None or smoothing == 0:
        return ds
    from behavior.filtering import median_filter

    return ds.assign(position=median_filter(ds.position.assign_attrs(ds.attrs), smoothing))


def _zone_like(zone: Any, ds: xr.Dataset, name: str) -> Any:
    """A zone in the dataset's space unit (pixel zones converted by its px_per_cm)."""
    from behavior import roi

    if not isinstance(zone, roi.Zone):
        raise RuleError(f"{name}: expected a behavior.roi zone, found {type(zone).__name__}")
    same = str(zone.unit).lower() == str(ds.attrs.get("space_unit", "")).lower()
    return zone if same else zone.in_units_of(ds)


def _mask_bouts(
    ds: xr.Dataset, mask: np.ndarray, name: str, *, min_duration: Any, merge_gap: Any,
    min_fraction: float | None, window: Any,
) -> pd.DataFrame:  # fmt: skip
    """Bouts of a ``(time, individual)`` mask of the dataset."""
    attrs = {k: ds.attrs[k] for k in ("fps", "time_unit") if k in ds.attrs}
    arr = xr.DataArray(
        np.asarray(mask, dtype=bool),
        dims=("time", "individual"),
        coords={"time": ds["time"].values, "individual": ds["individual"].values},
        attrs=attrs,
    )
    return bouts(
        arr, min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, behavior=name,
    )  # fmt: skip


def _outside_by(zone: Any, x: np.ndarray, y: np.ndarray, margin: float) -> np.ndarray:
    """Points outside a polygon zone by more than ``margin`` (False where missing)."""
    finite = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(x.shape, dtype=bool)
    px, py = x[finite], y[finite]
    outside = ~zone._contains_xy(px, py)
    if margin > 0 and outside.any():
        ring = np.asarray(zone.vertices, dtype=np.float64)[:, :2]
        a, b = ring, np.roll(ring, -1, axis=0)
        ab = b - a
        length2 = np.maximum((ab**2).sum(axis=1), 1e-300)
        ox, oy = px[outside][:, None], py[outside][:, None]
        t = np.clip(((ox - a[:, 0]) * ab[:, 0] + (oy - a[:, 1]) * ab[:, 1]) / length2, 0.0, 1.0)
        dx = ox - (a[:, 0] + t * ab[:, 0])
        dy = oy - (a[:, 1] + t * ab[:, 1])
        far = np.sqrt(dx**2 + dy**2).min(axis=1) > margin
        outside[np.flatnonzero(outside)[~far]] = False
    out[finite] = outside
    return out


def head_dip(
    ds: xr.Dataset,
    maze: Any = None,
    *,
    head: str | None = None,
    body: str | None = None,
    min_outside: _Q = "0.5 cm",
    arms: Sequence[str] = ("open_arm_1", "open_arm_2"),
    closed: str = "vertical",
    landmarks_of: str | None = None,
    min_fraction: float | None = None,
    window: Any = None,
    min_duration: Any = "0.2 s",
    merge_gap: Any = "0.2 s",
    smoothing: Any = "0.2 s",
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Head-dip bouts on the elevated plus maze: head over the edge of an open arm.

    Definition (the classic ethological EPM measure, Rodgers & Johnson,
    Pharmacol. Biochem. Behav. 52:297, 1995: "head dipping", the head and
    shoulders protrude over the side of an open arm towards the floor; Sturman et
    al., Neuropsychopharmacology 45:1942, 2020, label "Head Dip" on the maze
    layout whose landmarks :func:`behavior.roi.elevated_plus_maze` reads; the
    keypoint rule here is this module's reading of that definition): the
    ``head`` keypoint (default the nose) is outside the maze outline by more
    than ``min_outside`` (0.5 cm, so that tracking jitter along the edge does
    not count) while the ``body`` keypoint (default the body centre) is inside
    one of the ``arms`` (the open arms), for at least ``min_duration`` (0.2 s);
    bouts less than ``merge_gap`` (0.2 s) apart merge.

    Source: Rodgers & Johnson, "Factor analysis of spatiotemporal and
    ethological measures in the murine elevated plus-maze test of anxiety",
    Pharmacology Biochemistry and Behavior 52:297-303 (1995); Sturman et al.,
    "Deep learning-based behavioral analysis reaches human accuracy and is
    capable of outperforming commercial solutions", Neuropsychopharmacology
    45:1942-1952 (2020), DLCAnalyzer.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    maze
        Zones as from :func:`behavior.roi.elevated_plus_maze` with
        ``include_maze=True`` (a ``"maze"`` outline and the ``arms``), in the
        data's unit or in pixels; default: built from the landmark keypoints of
        ``ds`` (tl, tr, ... as :data:`behavior.roi.EPM_LANDMARKS`).
    head, body
        Keypoint names; default the ``nose`` and ``body_center`` roles (see
        :func:`behavior.social.keypoint_roles`).
    min_outside
        Margin outside the outline (Quantity, text, or a number in cm).
    arms
        Names of the zones of ``maze`` the body must be in.
    closed, landmarks_of
        Passed to :func:`behavior.roi.elevated_plus_maze` (``closed``,
        ``individual``) when ``maze`` is None.
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts with ``behavior="head_dip"`` and ``other`` ``""``.

    Raises
    ------
    RuleError
        Without a spatial calibration, or when ``maze`` lacks ``"maze"`` or an arm.
    PoseDataError
        When the landmarks or the head/body keypoints are missing.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> from behavior import roi
    >>> pts = {"tl": (4, 0), "tr": (6, 0), "bl": (4, 10), "br": (6, 10),
    ...        "lt": (0, 4), "lb": (0, 6), "rt": (10, 4), "rb": (10, 6),
    ...        "ctl": (4, 4), "ctr": (6, 4), "cbl": (4, 6), "cbr": (6, 6)}
    >>> maze = roi.elevated_plus_maze(pts, unit="cm", include_maze=True)
    >>> pos = np.zeros((10, 2, 2, 1)); pos[:, :, 0, 0] = (1.0, 3.0); pos[:, :, 1, 0] = (1, 5)
    >>> ds = bh.from_numpy(pos, keypoint_names=["nose", "bodycentre"], fps=10, space_unit="cm")
    >>> head_dip(ds, maze)[["start_frame", "stop_frame"]].values.tolist()
    [[0, 10]]
    """
    from behavior import roi
    from behavior.social import keypoint_roles

    data = _calibrated(ds, px_per_cm, "head_dip")
    if maze is None:
        maze = roi.elevated_plus_maze(
            data, closed=closed, individual=landmarks_of, include_maze=True
        )  # type: ignore[arg-type]
    missing = [k for k in ("maze", *arms) if k not in maze]
    if missing:
        raise RuleError(
            f"maze: missing zone(s) {missing}; build it with "
            "behavior.roi.elevated_plus_maze(..., include_maze=True)"
        )
    outline = _zone_like(maze["maze"], data, "maze['maze']")
    on_arms = [_zone_like(maze[a], data, f"maze[{a!r}]") for a in arms]
    roles = keypoint_roles(data, keypoints)
    head_kp = head if head is not None else roles.require("nose", "head_dip")
    body_kp = body if body is not None else roles.require("body_center", "head_dip")
    margin = _data_length(data, min_outside, None, "min_outside")
    data = _smoothed(data, smoothing)
    pos = data.position.transpose("time", "space", "keypoint", "individual")
    for kp, arg in ((head_kp, "head"), (body_kp, "body")):
        if kp not in [str(k) for k in pos["keypoint"].values]:
            raise PoseDataError(
                f"{arg}: keypoint {kp!r} not found; the dataset has {pos.keypoint.values.tolist()}"
            )
    hx, hy = (pos.sel(keypoint=head_kp, space=c).values for c in ("x", "y"))
    bx, by = (pos.sel(keypoint=body_kp, space=c).values for c in ("x", "y"))
    dip = _outside_by(outline, hx.ravel(), hy.ravel(), margin)
    good = np.isfinite(bx.ravel()) & np.isfinite(by.ravel())
    on_arm = np.zeros(good.shape, dtype=bool)
    for arm in on_arms:
        on_arm[good] |= arm._contains_xy(bx.ravel()[good], by.ravel()[good])
    mask = (dip & on_arm).reshape(hx.shape)
    found = _mask_bouts(
        data, mask, "head_dip", min_duration=min_duration, merge_gap=merge_gap,
        min_fraction=min_fraction, window=window,
    )  # fmt: skip
    if not as_ethogram:
        return found
    from behavior.ethogram import Ethogram

    return Ethogram.from_bouts(found, ds, behaviors=["head_dip"])


def in_zone(
    ds: xr.Dataset,
    zones: Any,
    *,
    keypoint: str | Sequence[str] | None = None,
    min_fraction: float | None = None,
    window: Any = None,
    min_duration: Any = "0.2 s",
    merge_gap: Any = "0.2 s",
    smoothing: Any = None,
    px_per_cm: float | None = None,
    keypoints: Any = None,
    as_ethogram: bool = False,
) -> pd.DataFrame | Any:
    """Zone-occupancy bouts: the animal's reference point is inside a zone.

    Definition (time in zone, as the open-arm time of the plus maze or the
    centre time of the open field; EthoVision / DLCAnalyzer / SimBA ROI
    analysis): ``keypoint`` (default the body-centre keypoint where the dataset
    has one, else the centroid of the body keypoints) is inside the zone for at
    least ``min_duration`` (0.2 s); stays less than ``merge_gap`` (0.2 s) apart
    merge, so that a point flickering on a border gives one visit. Missing
    positions count as outside. One behavior per zone, named after the zone.

    Source: Sturman et al., Neuropsychopharmacology 2020 (DLCAnalyzer zone
    analysis); :mod:`behavior.roi`.

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    zones
        A :class:`behavior.roi.Zone`, a list of zones or ``{name: zone}`` (as
        :func:`behavior.roi.elevated_plus_maze` returns), in the data's unit or
        in pixels.
    keypoint
        A keypoint name, a list of names to average, or ``"centroid"`` (all
        keypoints, see :func:`behavior.roi.in_zone`).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints, as_ethogram
        As in :func:`approach` (no smoothing by default).

    Returns
    -------
    pandas.DataFrame or Ethogram
        Bouts whose ``behavior`` is the zone's name, ``other`` ``""``.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> from behavior import roi
    >>> pos = np.zeros((10, 2, 1, 1)); pos[5:, 0] = 5.0
    >>> ds = bh.from_numpy(pos, keypoint_names=["bodycentre"], fps=10, space_unit="cm")
    >>> b = in_zone(ds, roi.Rectangle(-1, -1, 1, 1, name="home", unit="cm"))
    >>> b[["behavior", "start_frame", "stop_frame"]].values.tolist()
    [['home', 0, 5]]
    """
    from behavior import roi
    from behavior.social import keypoint_roles

    data = _calibrated(ds, px_per_cm, "in_zone")
    zones = _zone_dict(zones)
    if not zones:
        raise RuleError("zones: expected at least one zone, found none")
    if keypoint is None:
        roles = keypoint_roles(data, keypoints)
        keypoint = roles.body_center if roles.body_center is not None else list(roles.body)
    data = _smoothed(data, smoothing)
    tables = []
    for name, zone in zones.items():
        z = _zone_like(zone, data, f"zones[{name!r}]")
        inside = roi.in_zone(data, z, keypoint=keypoint, fill=False)
        mask = inside.transpose("time", "individual").values
        table = _mask_bouts(
            data, mask, str(name), min_duration=min_duration, merge_gap=merge_gap,
            min_fraction=min_fraction, window=window,
        )  # fmt: skip
        tables.append(table)
    found = pd.concat(tables, ignore_index=True) if tables else empty_bouts()
    found = found.sort_values(["individual", "start_frame", "behavior"], kind="stable")
    found = found.reset_index(drop=True)
    if not as_ethogram:
        return found
    from behavior.ethogram import Ethogram

    return Ethogram.from_bouts(found, ds, behaviors=[str(n) for n in zones])


PRESETS.update(
    {
        "approach": approach,
        "nose_to_nose_contact": nose_to_nose_contact,
        "nose_to_body_contact": nose_to_body_contact,
        "nose_to_anogenital_contact": nose_to_anogenital_contact,
        "side_by_side": side_by_side,
        "following": following,
        "huddling": huddling,
        "head_dip": head_dip,
        "in_zone": in_zone,
    }
)
