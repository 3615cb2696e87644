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
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from behavior.dataset import require_dims
from behavior.errors import PoseDataError

logger = logging.getLogger(__name__)

__all__ = [
    "BOUT_COLUMNS",
    "bouts_from_labels",
    "bouts_from_mask",
    "empty_bouts",
    "labels_from_bouts",
    "other_from_bouts",
    "runs",
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
