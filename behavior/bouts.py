"""Bouts: per-frame labels and boolean masks <-> tidy bout tables.

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

The conversions, each with its inverse:

- :func:`bouts` / :func:`mask_from_bouts` -- boolean masks, with minimum
  duration, gap merging and fraction-in-window;
- :func:`bouts_from_labels` / :func:`labels_from_bouts` (and
  :func:`other_from_bouts`) -- exclusive per-frame label codes;
- :func:`bout_table` -- a table from bout frames computed elsewhere.

The array-level steps are public for rooms that run them many times without
building a table (:func:`runs`, :func:`filter_runs`, :func:`paint_runs`,
:func:`duration_frames`). :class:`behavior.ethogram.Ethogram` converts to and
from these tables; rule detection (:mod:`behavior.events`) returns them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior.dataset import fps_of, require_dims, time_seconds, time_step
from behavior.errors import PoseDataError
from behavior.units import Quantity, frame, frame_rate, quantity, s, to_seconds

__all__ = [
    "BOUT_COLUMNS",
    "bout_table",
    "bouts",
    "bouts_from_labels",
    "duration_frames",
    "empty_bouts",
    "filter_runs",
    "label_codes",
    "labels_from_bouts",
    "mask_from_bouts",
    "named_label_codes",
    "other_from_bouts",
    "paint_runs",
    "runs",
    "stop_times",
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


def _stop_times(time: np.ndarray, step: float) -> np.ndarray:
    """``time`` shifted by one frame: the stop time of a bout ending at each frame."""
    return np.append(time[1:], time[-1] + step) if time.size else time


def stop_times(like: xr.DataArray | xr.Dataset, fps: float | None = None) -> np.ndarray:
    """The stop time of a bout that ends at each frame: the next frame's time, or one
    frame after the last.

    Parameters
    ----------
    like
        Anything with a ``time`` dimension; its time coordinate, ``attrs["fps"]``
        and ``attrs["time_unit"]`` are used.
    fps
        Frame rate for the step after the last frame; default as
        :func:`behavior.dataset.time_step` (``attrs["fps"]``, else the median step).

    Returns
    -------
    np.ndarray
        One float per frame, in the units of the time coordinate
        (:func:`behavior.dataset.time_seconds`).

    Examples
    --------
    >>> da = xr.DataArray(np.zeros(3), dims="time", coords={"time": [0.0, 0.5, 1.0]})
    >>> stop_times(da)
    array([0.5, 1. , 1.5])
    """
    return _stop_times(time_seconds(like), time_step(like, fps))


def label_codes(labels: xr.DataArray) -> np.ndarray:
    """Per-frame behavior codes of a label array, checked: integers, ``-1`` = no label.

    Parameters
    ----------
    labels
        Integer codes, or floats holding whole numbers (NaN reads as ``-1``).

    Returns
    -------
    np.ndarray
        int64 codes of the same shape.

    Raises
    ------
    PoseDataError
        For booleans or text, fractional codes, or codes below ``-1``.

    Examples
    --------
    >>> label_codes(xr.DataArray([0.0, np.nan, 2.0], dims="time")).tolist()
    [0, -1, 2]
    """
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


def named_label_codes(
    labels: xr.DataArray, names: Sequence[str] | None = None, *, name: str = "labels"
) -> tuple[np.ndarray, list[str]]:
    """:func:`label_codes` of ``labels`` and the name of every code.

    Parameters
    ----------
    labels
        Integer codes (``-1`` = no label).
    names
        The name of code 0, 1, ...; default ``labels.attrs["labels"]``, else the codes
        as text.
    name
        What ``labels`` is called in messages.

    Returns
    -------
    tuple of np.ndarray and list of str
        The int64 codes and one name per code.

    Raises
    ------
    PoseDataError
        When a code has no name.

    Examples
    --------
    >>> codes, names = named_label_codes(xr.DataArray([0, 1, -1], dims="time"))
    >>> codes.tolist(), names
    ([0, 1, -1], ['0', '1'])
    """
    codes = label_codes(labels)
    if names is None:
        names = labels.attrs.get("labels")
    if names is None:
        top = int(codes.max()) if codes.size else -1
        names = [str(c) for c in range(top + 1)]
    names = [str(n) for n in names]
    if codes.size and int(codes.max()) >= len(names):
        raise PoseDataError(
            f"{name}: code {int(codes.max())} has no name; names has {len(names)} entries "
            f"{names}. Pass names= or set {name}.attrs['labels']."
        )
    return codes, names


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
    codes, names = named_label_codes(labels, names)
    other_codes, other_names = _other_codes(other, labels)
    time = time_seconds(labels)
    stop_time = _stop_times(time, time_step(labels, fps))
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


def bout_table(
    like: xr.DataArray | xr.Dataset,
    individual: Sequence[str],
    behavior: Sequence[str],
    start_frame: Sequence[int],
    stop_frame: Sequence[int],
    *,
    other: Sequence[str] | None = None,
    fps: float | None = None,
) -> pd.DataFrame:
    """A bout table from bouts found elsewhere: names and frames in, times added.

    Parameters
    ----------
    like
        The session the frames index (anything with a ``time`` dimension): its
        time coordinate gives ``start`` and ``stop`` (see :func:`stop_times`).
    individual, behavior
        One name per bout.
    start_frame, stop_frame
        First frame and one past the last frame of each bout.
    other
        Partner per bout (``""`` = none); default none.
    fps
        Frame rate for the stop time of a bout that ends at the last frame.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BOUT_COLUMNS`, in the order given.

    Raises
    ------
    PoseDataError
        When the columns differ in length or a frame lies outside ``like``.

    Examples
    --------
    >>> like = xr.DataArray(np.zeros(4), dims="time", coords={"time": [0.0, 0.5, 1.0, 1.5]})
    >>> bout_table(like, ["a"], ["rest"], [1], [4])[["start", "stop", "duration"]]
       start  stop  duration
    0    0.5   2.0       1.5
    """
    starts = np.asarray(start_frame, dtype=np.int64).reshape(-1)
    stops = np.asarray(stop_frame, dtype=np.int64).reshape(-1)
    n = starts.size
    partner = [""] * n if other is None else list(other)
    columns = {"individual": list(individual), "behavior": list(behavior), "other": partner}
    bad = [k for k, v in columns.items() if len(v) != n] + (["stop_frame"] * (stops.size != n))
    if bad:
        raise PoseDataError(
            f"bout_table: expected one value per bout ({n} start frames), found other "
            f"lengths for {bad}"
        )
    n_time = like.sizes["time"]
    if np.any((starts < 0) | (stops > n_time) | (stops <= starts)):
        raise PoseDataError(
            f"bout_table: expected 0 <= start_frame < stop_frame <= {n_time} (the length "
            "of like.time)"
        )
    part = {
        "individual": np.asarray(columns["individual"], dtype=object),
        "other": np.asarray(partner, dtype=object),
        "behavior": np.asarray(columns["behavior"], dtype=object),
        "start_frame": starts,
        "stop_frame": stops,
    }
    time = time_seconds(like)
    return _assemble([part], time, _stop_times(time, time_step(like, fps)))


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


def duration_frames(value: Any, fps: float | None, *, name: str = "duration") -> float:
    """A duration as a number of frames, not rounded (bout thresholds compare with it).

    Parameters
    ----------
    value
        An ``int`` (frames), a ``float`` (seconds), text with a unit (``"1 s"``,
        ``"200 ms"``, ``"7 frames"``; a bare number is seconds), a
        :class:`behavior.units.Quantity` of time or frames, or None (0).
    fps
        Frames per second; needed unless ``value`` is in frames.
    name
        Argument name for error messages.

    Returns
    -------
    float
        Frames, possibly fractional: a 1 s minimum at 30 fps is exactly 30.

    Raises
    ------
    PoseDataError
        For a negative or malformed duration, or a time without a frame rate.

    Examples
    --------
    >>> duration_frames("0.25 s", 30), duration_frames(7, None), duration_frames("3 frames", None)
    (7.5, 7.0, 3.0)
    """
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
    return paint_runs(n, k, row[has], first_t[has], last_t[has])


def paint_runs(
    n_time: int, n_columns: int, columns: np.ndarray, starts: np.ndarray, stops: np.ndarray
) -> np.ndarray:
    """Boolean ``(n_time, n_columns)`` with frames ``[starts[k], stops[k])`` of column
    ``columns[k]`` set (the inverse of :func:`filter_runs`).

    Parameters
    ----------
    n_time, n_columns
        Shape of the result.
    columns, starts, stops
        Column index, first frame and one past the last frame of each run; runs
        may overlap.

    Returns
    -------
    np.ndarray
        Boolean array.

    Examples
    --------
    >>> paint_runs(4, 1, np.array([0]), np.array([1]), np.array([3]))[:, 0].tolist()
    [False, True, True, False]
    """
    diff = np.zeros((n_columns, n_time + 1), dtype=np.int64)
    np.add.at(diff, (columns, starts), 1)
    np.add.at(diff, (columns, stops), -1)
    return (np.cumsum(diff[:, :-1], axis=1) > 0).T


def filter_runs(
    values: np.ndarray,
    min_frames: float = 0.0,
    gap_frames: float = 0.0,
    min_fraction: float | None = None,
    window_frames: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bouts of each column of a boolean ``(time, columns)`` array, in frames.

    The array-level steps of :func:`bouts` (same order, same rules), for callers
    that need no table: ``min_fraction`` within ``window_frames``, then merging of
    runs less than ``gap_frames`` apart, then dropping runs shorter than
    ``min_frames``.

    Parameters
    ----------
    values
        Boolean array over ``(time, columns)``.
    min_frames, gap_frames, window_frames
        Thresholds in (possibly fractional) frames (:func:`duration_frames`).
    min_fraction
        Fraction in ``(0, 1]`` of True frames a window needs, or None.

    Returns
    -------
    columns, starts, stops
        Integer arrays, one entry per bout, ordered by column then start.

    Examples
    --------
    >>> m = np.array([1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)[:, None]
    >>> [a.tolist() for a in filter_runs(m, min_frames=2, gap_frames=2)]
    [[0], [0], [4]]
    """
    n, k = values.shape
    if min_fraction is not None:
        width = max(1, math.ceil(window_frames - 1e-9))
        values = _trim(values, _fraction_cover(values, min_fraction, width))
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

    The one conversion from masks to bout tables: with the default thresholds
    every maximal run of True frames is one bout (there is no separate
    ``bouts_from_mask``); :func:`mask_from_bouts` is the inverse.

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
        fps = frame_rate(fps)
        if fps is not None:
            mask = mask.assign_coords(time=np.arange(arr.size) / fps)
            mask.attrs["fps"] = fps
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
    rate = fps_of(mask, fps)
    min_frames = duration_frames(min_duration, rate, name="min_duration")
    gap_frames = duration_frames(merge_gap, rate, name="merge_gap")
    window_frames = duration_frames(window, rate, name="window") if window is not None else 0.0
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
    row, starts, stops = filter_runs(
        flat, min_frames, gap_frames, None if min_fraction is None else float(min_fraction),
        window_frames,
    )  # fmt: skip
    time = time_seconds(mask)
    stop_time = _stop_times(time, time_step(mask, fps))
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
    painted = paint_runs(n_time, len(inds) * len(others), row, starts, stops)
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
