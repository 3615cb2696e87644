"""Cleaning pose tracks: confidence masking, gap filling, smoothing, outlier jumps.

Every function takes a :class:`xarray.DataArray` with a ``time`` dimension (any
other dimensions are kept: ``space``, ``keypoint``, ``individual``, an
``ensemble`` of model seeds, features ...) and returns a new one with the same
dims, coords and attrs plus one record in ``attrs["log"]``. Inputs are never
modified. :func:`kalman_smooth` returns a Dataset (the track and its variance)
and :func:`clean` runs the usual sequence on a pose Dataset in one call.

Windows and gaps are a number of frames (``int``), seconds (``float``) or a
duration string (``"0.2 s"``, ``"250 ms"``), converted with
:func:`behavior.units.to_frames` using ``attrs["fps"]``, or the median step of
the ``time`` coordinate when it is in seconds. A DataArray taken out of a
Dataset (``ds.position``) carries no attrs: its time unit is then read from the
coordinate (float timestamps with a fractional part are seconds, whole numbers
are frames).

NaN policy, in one place
------------------------
- :func:`filter_by_confidence` makes low-confidence points NaN; a NaN confidence
  ("the source had none") keeps the point unless ``nan_confidence="drop"``.
- :func:`interpolate_gaps` fills interior gaps of at most ``max_gap`` missing
  frames and never touches the leading and trailing NaN of a track.
- :func:`median_filter`, :func:`rolling` and :func:`savgol_filter` use the valid
  points of each window; a window with fewer than ``min_valid`` of them gives
  NaN, a NaN input frame stays NaN (unless ``fill=True``), so NaN never spreads
  beyond half a window.
- :func:`remove_jumps` only adds NaN; :func:`kalman_smooth` fills every frame
  and says how sure it is in ``variance``.

The hot loops are numba kernels (``cache=True``) next to the function that calls
them; :func:`_warm_up` compiles them all on tiny inputs.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from typing import Any, Literal

import numba
import numpy as np
import xarray as xr

from behavior._pose import require_time_order
from behavior.dataset import append_log, fps_of, require_dims, time_seconds
from behavior.errors import PoseDataError
from behavior.units import to_frames, to_seconds

__all__ = [
    "clean",
    "filter_by_confidence",
    "interpolate_gaps",
    "kalman_smooth",
    "median_filter",
    "remove_jumps",
    "rolling",
    "savgol_filter",
]

logger = logging.getLogger(__name__)

Duration = int | float | str


# --------------------------------------------------------------------------------------
# Shared helpers: time axis, windows, (time, series) views
# --------------------------------------------------------------------------------------


def _time_unit(da: xr.DataArray) -> str:
    """``"seconds"`` or ``"frames"``: from attrs, else guessed from the coordinate."""
    unit = da.attrs.get("time_unit")
    if unit in ("seconds", "frames"):
        return unit
    if "time" not in da.coords:
        return "frames"
    t = np.asarray(da["time"].values)
    if np.issubdtype(t.dtype, np.datetime64) or np.issubdtype(t.dtype, np.timedelta64):
        return "seconds"
    if np.issubdtype(t.dtype, np.floating) and t.size and np.any(t != np.round(t)):
        return "seconds"
    return "frames"


def _fps(da: xr.DataArray) -> float | None:
    """Frames per second (:func:`behavior.dataset.fps_of`), None for a time in frames.

    A DataArray without ``attrs["fps"]`` whose time coordinate reads as frames
    (:func:`_time_unit`) has no frame rate, even though its steps would give one.
    """
    if da.attrs.get("fps") is None and _time_unit(da) == "frames":
        return None
    return fps_of(da)


def _time_axis(da: xr.DataArray) -> tuple[np.ndarray, bool]:
    """Time of every frame as float64, and whether it is in seconds.

    Frames are turned into seconds with ``fps`` when it is known; without it the
    frame count is returned (``False``).
    """
    t = time_seconds(da)
    if _time_unit(da) == "seconds":
        return t, True
    fps = _fps(da)
    if fps is not None:
        return t / fps, True
    return t, False


def _window_frames(window: Duration, da: xr.DataArray, name: str = "window") -> int:
    """A centred window in frames: odd, at least 1.

    An ``int`` must be odd; a duration is rounded to whole frames, then up to the
    next odd number.
    """
    if isinstance(window, bool):
        raise PoseDataError(f"{name}: expected frames (int) or a duration, found {window!r}")
    if isinstance(window, int | np.integer):
        n = int(window)
        if n < 1 or n % 2 == 0:
            raise PoseDataError(
                f"{name}: expected an odd number of frames >= 1 (a centred window), found {n}; "
                f"use {max(n - 1, 1)} or {n + 1}"
            )
    else:
        n = to_frames(window, _fps(da), name=name)
        n = max(n, 1)
        n = n if n % 2 == 1 else n + 1
    longest = max(2 * da.sizes["time"] + 1, _LONGEST_WINDOW)
    if n > longest:
        # Refused before any buffer of the window's size is allocated: a centred
        # window this long reaches past both ends of the data from every frame.
        raise PoseDataError(
            f"{name}: {window!r} is {n} frames, longer than the data ({da.sizes['time']} "
            f"frames) on both sides of every frame; expected a window of at most {longest} "
            "frames (a smoothing window is usually a fraction of a second)"
        )
    return n


_LONGEST_WINDOW = 1001
"""Windows up to this many frames are always accepted (mirrored at the edges like
scipy's, even on shorter data); longer ones only up to twice the data's length."""


def _min_valid(min_valid: int | None, window: int, floor: int = 1) -> int:
    if min_valid is None:
        return max((window + 1) // 2, floor)
    if isinstance(min_valid, bool) or not isinstance(min_valid, int | np.integer):
        raise PoseDataError(f"min_valid: expected an int number of frames, found {min_valid!r}")
    if not floor <= min_valid <= window:
        raise PoseDataError(
            f"min_valid: expected an int from {floor} to the window ({window} frames), "
            f"found {min_valid}"
        )
    return int(min_valid)


def _as_series(values: np.ndarray, axis: int) -> tuple[np.ndarray, Callable]:
    """A (time, series) float64 C-contiguous view (copy only where needed).

    Returns the 2-D array and ``restore(out2d)`` that puts an array of the same
    2-D shape back into the original layout and floating dtype.
    """
    values = np.asarray(values)
    moved = np.moveaxis(values, axis, 0)
    shape = moved.shape
    x = np.ascontiguousarray(moved.reshape(shape[0], -1), dtype=np.float64)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64

    def restore(out: np.ndarray) -> np.ndarray:
        arr = np.moveaxis(out.reshape(shape), 0, axis)
        return arr if arr.dtype == dtype else arr.astype(dtype)

    return x, restore


def _check_input(da: xr.DataArray, name: str) -> None:
    if not isinstance(da, xr.DataArray):
        raise PoseDataError(f"{name}: expected an xarray.DataArray, found {type(da).__name__}")
    require_dims(da, "time", name=name)
    if not np.issubdtype(da.dtype, np.number) or np.issubdtype(da.dtype, np.complexfloating):
        raise PoseDataError(f"{name}: expected real numbers, found dtype {da.dtype}")
    if da.sizes["time"] == 0:
        raise PoseDataError(
            f"{name}: expected at least one frame, found 0 frames (an empty time selection?)"
        )
    require_time_order(da, name)


def _is_choice(value: Any, choices: tuple) -> bool:
    """``value`` is one of ``choices`` (text or None; never compared as an array)."""
    return (value is None or isinstance(value, str)) and value in choices


def _real_number(value: Any, name: str, expected: str = "a finite number") -> float:
    """``value`` as a finite float, or :class:`PoseDataError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise PoseDataError(f"{name}: expected {expected}, found {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise PoseDataError(f"{name}: expected {expected}, found {value!r}")
    return out


def _threads() -> int:
    """Threads the parallel kernels split their work over (numba's current setting)."""
    return int(numba.get_num_threads())


# --------------------------------------------------------------------------------------
# filter_by_confidence
# --------------------------------------------------------------------------------------


def filter_by_confidence(
    position: xr.DataArray,
    confidence: xr.DataArray,
    threshold: float = 0.6,
    *,
    nan_confidence: Literal["keep", "drop"] = "keep",
) -> xr.DataArray:
    """Set points whose confidence is below ``threshold`` to NaN.

    Parameters
    ----------
    position
        Positions (or any data) with a ``time`` dim; ``confidence`` is broadcast
        over the dims it lacks (``space``).
    confidence
        Confidence scores whose dims are a subset of ``position``'s, with the same
        coordinates on the shared dims.
    threshold
        Points with ``confidence < threshold`` become NaN (``>= threshold`` are
        kept). Scores are not standardised across trackers (SLEAP's can exceed
        1): inspect yours before trusting the default 0.6.
    nan_confidence
        What to do where the confidence is NaN, i.e. the source had no score:
        ``"keep"`` (default) keeps the point, so a file without scores is not
        wiped out; ``"drop"`` makes it NaN, which is what movement's
        ``filter_by_confidence`` does (its ``confidence >= threshold`` is False
        for NaN).

    Returns
    -------
    xr.DataArray
        A copy of ``position`` with the masked points set to NaN.

    Raises
    ------
    PoseDataError
        If the dims or coordinates of the two arrays do not fit together.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> conf = np.array([0.9, 0.1, np.nan, 0.7]).reshape(4, 1, 1)
    >>> ds = bh.from_numpy(np.ones((4, 2, 1, 1)), conf)
    >>> out = filter_by_confidence(ds.position, ds.confidence, 0.6)
    >>> out.sel(space="x").values.ravel().tolist()
    [1.0, nan, 1.0, 1.0]
    """
    _check_input(position, "position")
    if not isinstance(confidence, xr.DataArray):
        raise PoseDataError(
            f"confidence: expected an xarray.DataArray, found {type(confidence).__name__}"
        )
    if not _is_choice(nan_confidence, ("keep", "drop")):
        raise PoseDataError(f"nan_confidence: expected 'keep' or 'drop', found {nan_confidence!r}")
    threshold = _real_number(threshold, "threshold")
    extra = [d for d in confidence.dims if d not in position.dims]
    if extra:
        raise PoseDataError(
            f"confidence: dims {extra} are not dims of position {list(position.dims)}; "
            "expected the dims of position without 'space'"
        )
    for dim in confidence.dims:
        if confidence.sizes[dim] != position.sizes[dim] or (
            dim in confidence.coords
            and dim in position.coords
            and not confidence.indexes[dim].equals(position.indexes[dim])
        ):
            raise PoseDataError(
                f"confidence: the {dim!r} coordinate differs from position's "
                f"({confidence.sizes[dim]} vs {position.sizes[dim]} values); select the same "
                f"{dim} values in both"
            )
    shared = [d for d in position.dims if d in confidence.dims]
    conf = np.asarray(confidence.transpose(*shared).values)
    values = np.asarray(position.values)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
    shape = values.shape
    missing = [i for i, d in enumerate(position.dims) if d not in confidence.dims]
    if not missing:
        missing = [len(shape)]
    if missing == list(range(missing[0], missing[-1] + 1)):
        # (before, broadcast, after) view: one pass, contiguous inner loop
        a = math.prod(shape[: missing[0]])
        d = math.prod(shape[missing[0] : missing[-1] + 1])
        x = np.ascontiguousarray(values, dtype=np.float64).reshape(a, d, -1)
        c = np.ascontiguousarray(conf, dtype=np.float64).reshape(a, -1)
        out = np.empty_like(x)
        masked = _confidence_kernel(x, c, float(threshold), nan_confidence == "drop", out)
        out = out.reshape(shape)
        if out.dtype != dtype:
            out = out.astype(dtype)
    else:
        for axis, dim in enumerate(position.dims):
            if dim not in confidence.dims:
                conf = np.expand_dims(conf, axis)
        with np.errstate(invalid="ignore"):
            mask = conf < threshold
            if nan_confidence == "drop":
                mask |= np.isnan(conf)
        out = np.where(mask, np.nan, values).astype(dtype, copy=False)
        masked = int(np.count_nonzero(np.broadcast_to(mask, shape) & ~np.isnan(values)))
    result = position.copy(deep=False, data=out)
    return append_log(
        result,
        "filter_by_confidence",
        threshold=threshold,
        nan_confidence=nan_confidence,
        n_masked=int(masked),
    )


@numba.njit(cache=True)
def _confidence_kernel(x, c, threshold, drop, out):  # pragma: no cover - numba
    """out = NaN where c < threshold (or NaN when drop), else x; x is (a, d, b), c (a, b).

    Returns how many valid values were masked. Serial: one memory-bound pass, which
    threads barely speed up and a busy second core slows down.
    """
    n_a, n_d, n_b = x.shape
    masked = 0
    for a in range(n_a):
        for d in range(n_d):
            for b in range(n_b):
                cc = c[a, b]
                v = x[a, d, b]
                if cc < threshold or (drop and cc != cc):
                    out[a, d, b] = np.nan
                    masked += v == v
                else:
                    out[a, d, b] = v
    return masked


# --------------------------------------------------------------------------------------
# interpolate_gaps
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _column_chunks(n_series, n_chunks):  # pragma: no cover - numba
    """Bounds of ``n_chunks`` runs of columns, cut at multiples of 8 (a cache line)."""
    width = (n_series + n_chunks - 1) // max(n_chunks, 1)
    width = max(8, (width + 7) // 8 * 8)
    n = max(1, (n_series + width - 1) // width)
    bounds = np.empty(n + 1, dtype=np.int64)
    for c in range(n + 1):
        bounds[c] = min(c * width, n_series)
    return bounds


@numba.njit(cache=True, parallel=True)
def _fill_gaps_kernel(x, t, max_gap, nearest, out, n_threads=4):  # pragma: no cover - numba
    """out = x with interior runs of <= max_gap NaN filled (linear or nearest on t).

    Frames are visited in order (contiguous rows) and every series remembers its
    last valid frame; runs of columns are filled in parallel.
    """
    n, n_series = x.shape
    bounds = _column_chunks(n_series, n_threads)
    filled = 0
    for c in numba.prange(bounds.shape[0] - 1):
        lo = bounds[c]
        hi = bounds[c + 1]
        last = np.full(hi - lo, -1, dtype=np.int64)
        count = 0
        for i in range(n):
            ti = t[i]
            for s in range(lo, hi):
                v = x[i, s]
                out[i, s] = v
                if v != v:
                    continue
                k = last[s - lo]
                gap = i - k - 1
                if k >= 0 and gap > 0 and gap <= max_gap:
                    t0 = t[k]
                    y0 = x[k, s]
                    span = ti - t0
                    for j in range(k + 1, i):
                        if nearest:
                            d0 = t[j] - t0
                            d1 = ti - t[j]
                            if d0 <= d1 or abs(d0 - d1) <= 1e-9 * span:
                                out[j, s] = y0
                            else:
                                out[j, s] = v
                        else:
                            out[j, s] = y0 + (v - y0) * ((t[j] - t0) / span)
                    count += gap
                last[s - lo] = i
        filled += count
    return filled


@numba.njit(cache=True)
def _fillable_kernel(x, max_gap, out):  # pragma: no cover - numba
    """Mark the NaN frames inside interior gaps of <= max_gap frames."""
    n, n_series = x.shape
    for s in range(n_series):
        last = -1
        for i in range(n):
            if x[i, s] != x[i, s]:
                continue
            gap = i - last - 1
            if last >= 0 and gap > 0 and gap <= max_gap:
                for j in range(last + 1, i):
                    out[j, s] = True
            last = i


def _max_gap_frames(max_gap: Duration | None, da: xr.DataArray, n_time: int) -> int:
    if max_gap is None:
        return n_time
    # a gap longer than the data is any gap: the same as n_time (and never overflows)
    return min(to_frames(max_gap, _fps(da), name="max_gap"), n_time)


def interpolate_gaps(
    da: xr.DataArray,
    max_gap: Duration | None = None,
    method: Literal["linear", "pchip", "cubic", "nearest"] = "linear",
) -> xr.DataArray:
    """Fill interior gaps of at most ``max_gap`` missing frames along ``time``.

    Parameters
    ----------
    da
        Data with a ``time`` dim (positions, confidence, speeds, features ...).
    max_gap
        Longest gap to fill, counted in missing frames: ``10`` fills runs of up
        to 10 consecutive NaN frames (movement's ``interpolate_over_time``
        convention); a longer run stays entirely NaN. Seconds or ``"0.25 s"``
        are converted to frames with the frame rate. ``None`` fills every
        interior gap.
    method
        ``"linear"``, ``"nearest"`` (ties go to the earlier frame), ``"pchip"``
        (shape-preserving cubic, no overshoot) or ``"cubic"`` (not-a-knot cubic
        spline through all valid frames of the series). Series with too few valid
        frames for pchip (2) or cubic (4) are filled linearly.

    Returns
    -------
    xr.DataArray
        A copy of ``da`` with the gaps filled. Leading and trailing NaN (before the
        first and after the last valid frame of a series) are never
        extrapolated.

    Notes
    -----
    Interpolation uses the ``time`` coordinate, so irregular timestamps are
    honoured; movement interpolates on the frame index instead, which gives the
    same numbers when frames are evenly spaced. Each series (every combination of
    the other dims) is filled independently.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray([0.0, np.nan, np.nan, 3.0, np.nan], dims="time")
    >>> interpolate_gaps(da, max_gap=2).values.tolist()
    [0.0, 1.0, 2.0, 3.0, nan]
    >>> np.isnan(interpolate_gaps(da, max_gap=1).values[1:3]).all()
    np.True_
    """
    _check_input(da, "da")
    if not _is_choice(method, ("linear", "pchip", "cubic", "nearest")):
        raise PoseDataError(
            f"method: expected 'linear', 'pchip', 'cubic' or 'nearest', found {method!r}"
        )
    n_time = da.sizes["time"]
    gap = _max_gap_frames(max_gap, da, n_time)
    t = np.ascontiguousarray(time_seconds(da), dtype=np.float64)
    x, restore = _as_series(da.values, da.get_axis_num("time"))
    out = np.empty_like(x)
    if method in ("linear", "nearest"):
        filled = int(_fill_gaps_kernel(x, t, int(gap), method == "nearest", out, _threads()))
    else:
        out[...] = x
        filled = _fill_gaps_scipy(x, t, int(gap), method, out)
    result = da.copy(deep=False, data=restore(out))
    return append_log(
        result,
        "interpolate_gaps",
        max_gap=max_gap,
        max_gap_frames=gap,
        method=method,
        n_filled=filled,
    )


def _fill_gaps_scipy(x: np.ndarray, t: np.ndarray, gap: int, method: str, out: np.ndarray) -> int:
    """pchip / cubic spline per series, evaluated only at the fillable frames."""
    from scipy.interpolate import PchipInterpolator, make_interp_spline

    fillable = np.zeros(x.shape, dtype=np.bool_)
    _fillable_kernel(x, int(gap), fillable)
    need = 4 if method == "cubic" else 2
    n_linear = 0
    for s in np.flatnonzero(fillable.any(axis=0)):
        col = x[:, s]
        valid = ~np.isnan(col)
        where = fillable[:, s]
        if valid.sum() < need:
            tmp = out[:, s : s + 1].copy()
            _fill_gaps_kernel(col[:, None].copy(), t, int(gap), False, tmp, 1)
            out[:, s] = tmp[:, 0]
            n_linear += 1
            continue
        if method == "pchip":
            f = PchipInterpolator(t[valid], col[valid], extrapolate=False)
        else:
            f = make_interp_spline(t[valid], col[valid], k=3)
        out[where, s] = f(t[where])
    if n_linear:
        logger.info(
            "interpolate_gaps: %d series had too few valid frames for %s and were filled linearly",
            n_linear,
            method,
        )
    return int(fillable.sum())


# --------------------------------------------------------------------------------------
# Rolling statistics: median / min / max (sorted window), mean / sum / std
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _mirror(j, n):  # pragma: no cover - numba
    """Index of position j in the mirror extension (d c b | a b c d | c b a) of 0..n-1."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    j = j % period
    if j >= n:
        j = period - j
    return j


@numba.njit(cache=True)
def _pad_row(j, n, w, centred):  # pragma: no cover - numba
    """Row of ``x`` at padded position ``j`` (window i spans positions i .. i + w - 1).

    Centred windows mirror the edges (numpy's ``"reflect"``); trailing windows
    have nothing before the start (-1).
    """
    if centred:
        k = j - w // 2
        return k if 0 <= k < n else _mirror(k, n)
    k = j - (w - 1)
    return k if k >= 0 else -1


@numba.njit(cache=True)
def _order_kernel(x, w, min_valid, stat, centred, fill, out):  # pragma: no cover - numba
    """Rolling median (0), min (1) or max (2) over the valid values of each window.

    Rows (frames) are visited in order and every series keeps its window's valid
    values sorted in ``buf[s]``: a step replaces the value that leaves by the one
    that enters and moves it to its place (windows are small, 3-61 frames).
    """
    n, n_series = x.shape
    buf = np.empty((n_series, w), dtype=np.float64)
    count = np.zeros(n_series, dtype=np.int64)
    for j in range(w - 1):
        r = _pad_row(j, n, w, centred)
        if r < 0:
            continue
        for s in range(n_series):
            v = x[r, s]
            if v == v:
                k = count[s]
                p = k
                while p > 0 and buf[s, p - 1] > v:
                    buf[s, p] = buf[s, p - 1]
                    p -= 1
                buf[s, p] = v
                count[s] = k + 1
    for i in range(n):
        r_in = _pad_row(i + w - 1, n, w, centred)
        r_out = _pad_row(i - 1, n, w, centred) if i > 0 else -1
        for s in range(n_series):
            k = count[s]
            vin = x[r_in, s] if r_in >= 0 else np.nan
            vout = x[r_out, s] if r_out >= 0 else np.nan
            if vin == vin and vout == vout:
                p = 0
                for m in range(k):
                    p += buf[s, m] < vout
                if vin > vout:
                    while p + 1 < k and buf[s, p + 1] < vin:
                        buf[s, p] = buf[s, p + 1]
                        p += 1
                else:
                    while p > 0 and buf[s, p - 1] > vin:
                        buf[s, p] = buf[s, p - 1]
                        p -= 1
                buf[s, p] = vin
            else:
                if vout == vout:
                    p = 0
                    for m in range(k):
                        p += buf[s, m] < vout
                    for m in range(p, k - 1):
                        buf[s, m] = buf[s, m + 1]
                    k -= 1
                if vin == vin:
                    p = k
                    while p > 0 and buf[s, p - 1] > vin:
                        buf[s, p] = buf[s, p - 1]
                        p -= 1
                    buf[s, p] = vin
                    k += 1
                count[s] = k
            if k < min_valid or k == 0 or (not fill and x[i, s] != x[i, s]):
                out[i, s] = np.nan
            elif stat == 0:
                if k & 1:
                    out[i, s] = buf[s, k >> 1]
                else:
                    out[i, s] = 0.5 * (buf[s, (k >> 1) - 1] + buf[s, k >> 1])
            elif stat == 1:
                out[i, s] = buf[s, 0]
            else:
                out[i, s] = buf[s, k - 1]


@numba.njit(cache=True)
def _moment_kernel(x, w, min_valid, stat, centred, fill, out):  # pragma: no cover - numba
    """Rolling mean (3), std with ddof=0 (4) or sum (5) over the valid values.

    Sums are taken about the centre value (or, for a NaN centre with ``fill``,
    the first valid value of the window), so a constant window gives that
    constant exactly and large offsets lose no precision. Rows are visited in
    order with the series as the inner (vectorised) loop.
    """
    n, n_series = x.shape
    ref = np.empty(n_series, dtype=np.float64)
    acc = np.empty(n_series, dtype=np.float64)
    ss = np.empty(n_series, dtype=np.float64)
    cnt = np.empty(n_series, dtype=np.int64)
    for i in range(n):
        for s in range(n_series):
            ref[s] = x[i, s]
            acc[s] = 0.0
            ss[s] = 0.0
            cnt[s] = 0
        if fill:
            for s in range(n_series):
                if ref[s] != ref[s]:
                    for jj in range(w):
                        r = _pad_row(i + jj, n, w, centred)
                        if r >= 0 and x[r, s] == x[r, s]:
                            ref[s] = x[r, s]
                            break
        for jj in range(w):
            r = _pad_row(i + jj, n, w, centred)
            if r < 0:
                continue
            for s in range(n_series):
                v = x[r, s]
                ok = v == v
                acc[s] += (v - ref[s]) if ok else 0.0
                cnt[s] += ok
        if stat == 4:
            for s in range(n_series):
                if cnt[s] > 0:
                    acc[s] /= cnt[s]
            for jj in range(w):
                r = _pad_row(i + jj, n, w, centred)
                if r < 0:
                    continue
                for s in range(n_series):
                    v = x[r, s]
                    d = v - ref[s] - acc[s]
                    ss[s] += d * d if v == v else 0.0
        for s in range(n_series):
            k = cnt[s]
            if k < min_valid or k == 0 or ref[s] != ref[s]:
                out[i, s] = np.nan
            elif stat == 3:
                out[i, s] = ref[s] + acc[s] / k
            elif stat == 5:
                out[i, s] = ref[s] * k + acc[s]
            else:
                out[i, s] = math.sqrt(ss[s] / k)


@numba.njit(cache=True)
def _replace_sorted(src, dst, vin, vout, pin, pout):  # pragma: no cover - numba
    """``dst`` = ``src`` with ``vout`` replaced by ``vin`` in every column, kept sorted.

    Columns hold a window's values sorted in rows 1..w (missing as +inf) between
    sentinel rows -inf and +inf. Branch-free, so the loop over series vectorises.
    """
    w2, n_series = src.shape
    for s in range(n_series):
        pin[s] = 0.0
        pout[s] = 0.0
    for m in range(1, w2 - 1):
        for s in range(n_series):
            bm = src[m, s]
            pout[s] += 1.0 if bm < vout[s] else 0.0
            pin[s] += 1.0 if bm < vin[s] else 0.0
    for s in range(n_series):
        pin[s] -= 1.0 if vout[s] < vin[s] else 0.0
    for m in range(1, w2 - 1):
        mm = m - 1.0
        for s in range(n_series):
            po = pout[s]
            pi = pin[s]
            lo = src[m, s] if mm < po else src[m + 1, s]
            hi = src[m - 1, s] if mm - 1.0 < po else src[m, s]
            dst[m, s] = lo if mm < pi else (vin[s] if mm == pi else hi)


@numba.njit(cache=True)
def _emit_order(buf, x, i, cnt, min_valid, stat, fill, out):  # pragma: no cover - numba
    """Write the median / min / max of row ``i`` from the sorted columns ``buf``."""
    n_series = x.shape[1]
    for s in range(n_series):
        k = cnt[s]
        if k < min_valid or k == 0 or (not fill and x[i, s] != x[i, s]):
            out[i, s] = np.nan
        elif stat == 0:
            if k & 1:
                out[i, s] = buf[(k >> 1) + 1, s]
            else:
                out[i, s] = 0.5 * (buf[k >> 1, s] + buf[(k >> 1) + 1, s])
        elif stat == 1:
            out[i, s] = buf[1, s]
        else:
            out[i, s] = buf[k, s]


@numba.njit(cache=True)
def _order_narrow_rows(x, r0, r1, w, min_valid, stat, centred, fill, out):  # pragma: no cover
    """:func:`_order_kernel_narrow` on the frames ``r0:r1`` (the window rebuilt at r0)."""
    n, n_series = x.shape
    inf = np.inf
    a = np.empty((w + 2, n_series), dtype=np.float64)
    b = np.empty((w + 2, n_series), dtype=np.float64)
    for s in range(n_series):
        a[0, s] = -inf
        a[w + 1, s] = inf
        b[0, s] = -inf
        b[w + 1, s] = inf
    cnt = np.zeros(n_series, dtype=np.int64)
    for j in range(w):
        r = _pad_row(r0 + j, n, w, centred)
        for s in range(n_series):
            v = x[r, s] if r >= 0 else np.nan
            if v == v:
                cnt[s] += 1
            else:
                v = inf
            p = j + 1
            while p > 1 and a[p - 1, s] > v:
                a[p, s] = a[p - 1, s]
                p -= 1
            a[p, s] = v
    vin = np.empty(n_series, dtype=np.float64)
    vout = np.empty(n_series, dtype=np.float64)
    pin = np.empty(n_series, dtype=np.float64)
    pout = np.empty(n_series, dtype=np.float64)
    _emit_order(a, x, r0, cnt, min_valid, stat, fill, out)
    for i in range(r0 + 1, r1):
        r_in = _pad_row(i + w - 1, n, w, centred)
        r_out = _pad_row(i - 1, n, w, centred)
        for s in range(n_series):
            u = x[r_in, s] if r_in >= 0 else np.nan
            d = x[r_out, s] if r_out >= 0 else np.nan
            vin[s] = u if u == u else inf
            vout[s] = d if d == d else inf
            cnt[s] += (u == u) - (d == d)
        if (i - r0) & 1:
            _replace_sorted(a, b, vin, vout, pin, pout)
            _emit_order(b, x, i, cnt, min_valid, stat, fill, out)
        else:
            _replace_sorted(b, a, vin, vout, pin, pout)
            _emit_order(a, x, i, cnt, min_valid, stat, fill, out)


@numba.njit(cache=True, parallel=True)
def _order_kernel_narrow(
    x, w, min_valid, stat, centred, fill, out, n_threads=4
):  # pragma: no cover - numba
    """Rolling median (0), min (1) or max (2) for small windows, all series at once.

    Every series keeps its window sorted in a column of ``a`` / ``b`` (missing
    values as +inf, counted apart in ``cnt``); each frame replaces the value
    that leaves by the one that enters with branch-free selects over the series,
    which the compiler vectorises. Blocks of frames run in parallel, each
    rebuilding its first window (a window's sorted values do not depend on how
    they were reached). Same results as :func:`_order_kernel`.
    """
    n = x.shape[0]
    n_blocks = min(n, n_threads)
    if n_blocks == 0:
        return
    size = (n + n_blocks - 1) // n_blocks
    for blk in numba.prange(n_blocks):
        r0 = blk * size
        r1 = min(n, r0 + size)
        if r0 < r1:
            _order_narrow_rows(x, r0, r1, w, min_valid, stat, centred, fill, out)


_STATISTICS = {"median": 0, "min": 1, "max": 2, "mean": 3, "std": 4, "sum": 5}
# windows up to this many frames use the vectorised kernel (faster below ~25 frames)
_NARROW_WINDOW = 21


def _rolling_values(
    da: xr.DataArray, w: int, mv: int, statistic: str, centred: bool, fill: bool
) -> xr.DataArray:
    x, restore = _as_series(da.values, da.get_axis_num("time"))
    out = np.empty_like(x)
    if x.shape[0] == 0 or x.shape[1] == 0:
        return da.copy(deep=False, data=restore(out))
    code = _STATISTICS[statistic]
    args = (x, int(w), int(mv), int(code), bool(centred), bool(fill))
    if code > 2:
        _moment_kernel(*args, out)
    elif w <= _NARROW_WINDOW:
        _order_kernel_narrow(*args, out, _threads())
    else:
        _order_kernel(*args, out)
    return da.copy(deep=False, data=restore(out))


def rolling(
    da: xr.DataArray,
    window: Duration,
    statistic: Literal["mean", "min", "max", "median", "std", "sum"] = "mean",
    min_valid: int | None = None,
    center: bool = True,
    *,
    fill: bool = False,
) -> xr.DataArray:
    """A rolling statistic along ``time`` over the valid (non-NaN) points of each window.

    Parameters
    ----------
    da
        Data with a ``time`` dim; every other dim is kept.
    window
        Window length: an odd number of frames, or a duration (``"0.2 s"``)
        rounded to whole frames and up to the next odd number.
    statistic
        ``"mean"``, ``"min"``, ``"max"``, ``"median"`` (mean of the two middle
        values when the window holds an even number of valid points), ``"std"``
        (population, ``ddof=0``) or ``"sum"`` (of the valid points).
    min_valid
        Fewest valid points a window needs; fewer gives NaN. Default: half the
        window rounded up (4 of 7). ``min_valid=window`` gives NaN for any window
        touching a NaN, as movement's ``rolling_filter`` does by default.
    center
        ``True``: window centred on the frame, the edges mirrored
        (``d c b | a b c d``) exactly as movement pads them (mirrored copies count
        as points). ``False``: trailing window of the frame and the ``window - 1``
        before it; frames before the start are missing.
    fill
        ``False`` (default): a NaN frame stays NaN. ``True``: it gets the
        statistic of its window when that window has ``min_valid`` points, as
        movement does with ``min_periods``.

    Returns
    -------
    xr.DataArray
        Same dims, coords and attrs as ``da``. NaN never spreads further than
        half a window (a full window when ``center=False``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray([1.0, 2.0, np.nan, 4.0, 5.0], dims="time")
    >>> rolling(da, 3, "max").values.tolist()
    [2.0, 2.0, nan, 5.0, 5.0]
    """
    _check_input(da, "da")
    if not _is_choice(statistic, tuple(_STATISTICS)):
        raise PoseDataError(
            f"statistic: expected one of {sorted(_STATISTICS)}, found {statistic!r}"
        )
    w = _window_frames(window, da)
    mv = _min_valid(min_valid, w)
    result = _rolling_values(da, w, mv, statistic, center, fill)
    return append_log(
        result,
        "rolling",
        window=window,
        window_frames=w,
        statistic=statistic,
        min_valid=mv,
        center=center,
        fill=fill,
    )


def median_filter(
    da: xr.DataArray,
    window: Duration,
    min_valid: int | None = None,
    *,
    fill: bool = False,
) -> xr.DataArray:
    """Rolling median along ``time``, NaN-aware.

    Parameters
    ----------
    da
        Data with a ``time`` dim; every other dim is kept.
    window
        Odd number of frames, or a duration rounded up to an odd number of frames.
    min_valid
        Fewest valid points in a window; fewer gives NaN. Default: half the window
        rounded up.
    fill
        Whether a NaN frame gets the median of its window (default: it stays NaN).

    Returns
    -------
    xr.DataArray
        Same dims, coords and attrs as ``da``.

    Notes
    -----
    The edges are mirrored (``d c b | a b c d``): without NaN the result equals
    movement's ``rolling_filter(statistic="median")`` and
    ``scipy.ndimage.median_filter(..., mode="mirror")`` along time, edges included.
    With NaN the median is taken over the valid points (mirrored copies count).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray([0.0, 0.0, 9.0, 0.0, 0.0], dims="time")
    >>> median_filter(da, 3).values.tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0]
    """
    _check_input(da, "da")
    w = _window_frames(window, da)
    mv = _min_valid(min_valid, w)
    result = _rolling_values(da, w, mv, "median", True, fill)
    return append_log(
        result, "median_filter", window=window, window_frames=w, min_valid=mv, fill=fill
    )


# --------------------------------------------------------------------------------------
# Savitzky-Golay
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _savgol_weights(vals, powers, deriv, a, z, weights):  # pragma: no cover - numba
    """Least-squares weights of the valid points of ``vals`` for the deriv-th coefficient.

    Solves ``A z = e_deriv`` with ``A`` the normal matrix of the valid offsets
    (partial pivoting); the weight of point j is ``z . powers[j]``. Returns False
    when the fit is singular.
    """
    w = vals.shape[0]
    p1 = a.shape[0]
    for r in range(p1):
        z[r] = 1.0 if r == deriv else 0.0
        for c in range(p1):
            a[r, c] = 0.0
    for jj in range(w):
        if vals[jj] == vals[jj]:
            for r in range(p1):
                for c in range(p1):
                    a[r, c] += powers[jj, r + c]
    for c in range(p1):
        piv = c
        best = abs(a[c, c])
        for r in range(c + 1, p1):
            if abs(a[r, c]) > best:
                best = abs(a[r, c])
                piv = r
        if best == 0.0:
            return False
        if piv != c:
            for cc in range(p1):
                tmp = a[c, cc]
                a[c, cc] = a[piv, cc]
                a[piv, cc] = tmp
            tmp = z[c]
            z[c] = z[piv]
            z[piv] = tmp
        for r in range(c + 1, p1):
            f = a[r, c] / a[c, c]
            if f != 0.0:
                for cc in range(c, p1):
                    a[r, cc] -= f * a[c, cc]
                z[r] -= f * z[c]
    for r in range(p1 - 1, -1, -1):
        acc = z[r]
        for cc in range(r + 1, p1):
            acc -= a[r, cc] * z[cc]
        z[r] = acc / a[r, r]
    for jj in range(w):
        acc = 0.0
        if vals[jj] == vals[jj]:
            for m in range(p1):
                acc += z[m] * powers[jj, m]
        weights[jj] = acc
    return True


@numba.njit(cache=True)
def _savgol_rows(
    x, r0, r1, w, polyorder, deriv, scale, min_valid, coeffs, fill, out
):  # pragma: no cover
    """:func:`_savgol_kernel` on the frames ``r0:r1`` (its own weight cache)."""
    n, n_series = x.shape
    h = w // 2
    p1 = polyorder + 1
    a = np.empty((p1, p1), dtype=np.float64)
    z = np.empty(p1, dtype=np.float64)
    vals = np.empty(w, dtype=np.float64)
    weights = np.empty(w, dtype=np.float64)
    hh = float(h) if h > 0 else 1.0
    factor = scale / hh**deriv
    for m in range(2, deriv + 1):
        factor *= m
    powers = np.empty((w, 2 * p1 - 1), dtype=np.float64)
    for jj in range(w):
        u = (jj - h) / hh
        pw = 1.0
        for m in range(2 * p1 - 1):
            powers[jj, m] = pw
            pw *= u
    cached = w <= 15
    n_patterns = 1 << w if cached else 1
    table = np.empty((n_patterns, w), dtype=np.float64)
    state = np.zeros(n_patterns, dtype=np.int8)  # 0 unknown, 1 ok, 2 singular
    for i in range(r0, r1):
        for s in range(n_series):
            out[i, s] = 0.0
        for jj in range(w):
            r = min(max(i - h + jj, 0), n - 1)
            c = coeffs[jj]
            for s in range(n_series):
                out[i, s] += c * (x[r, s] - x[i, s])
        if deriv == 0:
            for s in range(n_series):
                out[i, s] += x[i, s]
        # windows with NaN, while the rows are in cache
        for s in range(n_series):
            if out[i, s] == out[i, s]:
                continue
            centre = x[i, s]
            if not fill and centre != centre:
                continue
            k = 0
            bits = 0
            ref = centre
            for jj in range(w):
                v = x[min(max(i - h + jj, 0), n - 1), s]
                vals[jj] = v
                if v == v:
                    k += 1
                    if cached:
                        bits |= 1 << jj
                    if ref != ref:
                        ref = v
            if k < min_valid or k < p1 or k == w:
                continue
            acc = 0.0
            if cached:
                if state[bits] == 0:
                    ok = _savgol_weights(vals, powers, deriv, a, z, table[bits])
                    state[bits] = 1 if ok else 2
                if state[bits] == 2:
                    continue
                for jj in range(w):
                    if vals[jj] == vals[jj]:
                        acc += table[bits, jj] * (vals[jj] - ref)
            else:
                if not _savgol_weights(vals, powers, deriv, a, z, weights):
                    continue
                for jj in range(w):
                    if vals[jj] == vals[jj]:
                        acc += weights[jj] * (vals[jj] - ref)
            acc *= factor
            out[i, s] = acc + ref if deriv == 0 else acc


@numba.njit(cache=True, parallel=True)
def _savgol_kernel(
    x, w, polyorder, deriv, scale, min_valid, coeffs, fill, out, n_threads=4
):  # pragma: no cover
    """Savitzky-Golay with edges padded by the edge value (SciPy's ``mode="nearest"``).

    A first pass over rows applies the SciPy coefficients to every window (NaN
    where a window holds a NaN). A second pass revisits those NaN results: a
    window with enough valid points fits the polynomial by least squares to them
    (offsets scaled to [-1, 1]) and evaluates the ``deriv``-th derivative at the
    centre. The weights depend only on which points are valid, so for windows up
    to 15 frames they are cached per pattern. Blocks of frames run in parallel.
    """
    n = x.shape[0]
    n_blocks = min(n, 4 * n_threads)
    if n_blocks == 0:
        return
    size = (n + n_blocks - 1) // n_blocks
    for b in numba.prange(n_blocks):
        r0 = b * size
        r1 = min(n, r0 + size)
        if r0 < r1:
            _savgol_rows(x, r0, r1, w, polyorder, deriv, scale, min_valid, coeffs, fill, out)


def savgol_filter(
    da: xr.DataArray,
    window: Duration,
    polyorder: int = 2,
    deriv: int = 0,
    min_valid: int | None = None,
    *,
    fill: bool = False,
) -> xr.DataArray:
    """Savitzky-Golay smoothing (or derivative) along ``time``, NaN-aware.

    Parameters
    ----------
    da
        Data with a ``time`` dim; every other dim is kept.
    window
        Odd number of frames, or a duration rounded up to an odd number of frames.
    polyorder
        Order of the local polynomial, less than the window.
    deriv
        Derivative to return (0: smoothed values). With ``deriv > 0`` and time in
        seconds the result is per second (``delta = 1 / fps``), else per frame.
    min_valid
        Fewest valid points a window needs (at least ``polyorder + 1``); fewer
        gives NaN. Default: half the window rounded up, and at least
        ``polyorder + 1``.
    fill
        Whether a NaN frame gets the fitted value of its window (default: it stays
        NaN).

    Returns
    -------
    xr.DataArray
        Same dims, coords and attrs as ``da``.

    Notes
    -----
    Without NaN the result equals ``scipy.signal.savgol_filter(..., mode="nearest")``
    (edges padded with the edge value), interior and edges alike. A window with
    NaN fits the polynomial by least squares to its valid points, so NaN spreads
    no further than the window and never raises (movement's ``savgol_filter``
    returns NaN for every window touching a NaN and, with SciPy 1.17, raises on
    NaN in the edge windows). Frames are assumed evenly spaced.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.arange(10.0) ** 2, dims="time")
    >>> bool(np.allclose(savgol_filter(da, 5, 2).values[2:-2], da.values[2:-2]))
    True
    """
    from scipy.signal import savgol_coeffs

    _check_input(da, "da")
    w = _window_frames(window, da)
    if isinstance(polyorder, bool) or not isinstance(polyorder, int | np.integer):
        raise PoseDataError(f"polyorder: expected an int, found {polyorder!r}")
    if not 0 <= polyorder < w:
        raise PoseDataError(
            f"polyorder: expected 0 <= polyorder < window ({w} frames), found {polyorder}"
        )
    if isinstance(deriv, bool) or not isinstance(deriv, int | np.integer):
        raise PoseDataError(f"deriv: expected an int, found {deriv!r}")
    if not 0 <= deriv <= polyorder:
        raise PoseDataError(f"deriv: expected 0 <= deriv <= polyorder ({polyorder}), found {deriv}")
    mv = _min_valid(min_valid, w, floor=polyorder + 1) if min_valid is not None else None
    if mv is None:
        mv = max((w + 1) // 2, polyorder + 1)
    delta = 1.0
    fps = _fps(da) if deriv > 0 and _time_axis(da)[1] else None
    if fps is not None:
        delta = 1.0 / fps
    coeffs = np.ascontiguousarray(
        savgol_coeffs(w, polyorder, deriv=deriv, delta=delta, use="dot"), dtype=np.float64
    )
    x, restore = _as_series(da.values, da.get_axis_num("time"))
    out = np.empty_like(x)
    scale = 1.0 / delta**deriv
    _savgol_kernel(
        x,
        int(w),
        int(polyorder),
        int(deriv),
        float(scale),
        int(mv),
        coeffs,
        bool(fill),
        out,
        _threads(),
    )
    result = da.copy(deep=False, data=restore(out))
    return append_log(
        result,
        "savgol_filter",
        window=window,
        window_frames=w,
        polyorder=polyorder,
        deriv=deriv,
        delta=delta,
        min_valid=mv,
        fill=fill,
    )


# --------------------------------------------------------------------------------------
# remove_jumps
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _jump_kernel(x, t, vmax, remove):  # pragma: no cover - numba
    """Flag points out of reach of the last accepted point in both sweeps.

    ``x`` is (time, space, series); ``remove`` (time, series) is set True for
    points to drop.
    """
    n, n_dim, n_series = x.shape
    fwd = np.zeros(n, dtype=np.bool_)
    for s in range(n_series):
        # forward sweep
        ref = -1
        anchor = -1
        second = -1
        for i in range(n):
            fwd[i] = False
            ok = True
            for d in range(n_dim):
                if x[i, d, s] != x[i, d, s]:
                    ok = False
                    break
            if not ok:
                continue
            if ref < 0:
                ref = i
                anchor = i
                continue
            if second < 0:
                second = i
            dist2 = 0.0
            for d in range(n_dim):
                diff = x[i, d, s] - x[ref, d, s]
                dist2 += diff * diff
            reach = vmax * (t[i] - t[ref])
            if dist2 > reach * reach:
                fwd[i] = True
            else:
                ref = i
        if anchor >= 0 and second >= 0 and fwd[second]:
            fwd[anchor] = True
        # backward sweep
        ref = -1
        anchor = -1
        second = -1
        second_out = False
        for i in range(n - 1, -1, -1):
            ok = True
            for d in range(n_dim):
                if x[i, d, s] != x[i, d, s]:
                    ok = False
                    break
            if not ok:
                continue
            if ref < 0:
                ref = i
                anchor = i
                continue
            dist2 = 0.0
            for d in range(n_dim):
                diff = x[i, d, s] - x[ref, d, s]
                dist2 += diff * diff
            reach = vmax * (t[ref] - t[i])
            out_of_reach = dist2 > reach * reach
            if second < 0:
                second = i
                second_out = out_of_reach
            if out_of_reach:
                if fwd[i]:
                    remove[i, s] = True
            else:
                ref = i
        if anchor >= 0 and second >= 0 and second_out and fwd[anchor]:
            remove[anchor, s] = True


_SPACE_UNITS = {
    "px": ("pixels", None),
    "pix": ("pixels", None),
    "pixel": ("pixels", None),
    "pixels": ("pixels", None),
    "um": ("metric", 1e-6),
    "µm": ("metric", 1e-6),
    "micron": ("metric", 1e-6),
    "microns": ("metric", 1e-6),
    "mm": ("metric", 1e-3),
    "cm": ("metric", 1e-2),
    "m": ("metric", 1.0),
    "in": ("inch", None),
    "inch": ("inch", None),
    "inches": ("inch", None),
}
_SPEED = re.compile(
    r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ]+)\s*/\s*([A-Za-z]+)\s*$"
)


def _speed_per_second(max_speed: float | str, da: xr.DataArray) -> float:
    """``max_speed`` in the position's space unit per second."""
    if isinstance(max_speed, bool):
        raise PoseDataError(f"max_speed: expected a speed such as '50 cm/s', found {max_speed!r}")
    if isinstance(max_speed, int | float | np.integer | np.floating):
        value = float(max_speed)
    elif isinstance(max_speed, str):
        match = _SPEED.match(max_speed)
        if match is None:
            raise PoseDataError(
                f"max_speed: expected a number or a speed such as '50 cm/s' or '500 px/s', "
                f"found {max_speed!r}"
            )
        number, space, per = match.groups()
        value = float(number)
        data_unit = da.attrs.get("space_unit")
        given = _SPACE_UNITS.get(space.lower() if space != "µm" else space)
        if given is None:
            raise PoseDataError(
                f"max_speed: unknown space unit {space!r} in {max_speed!r}; use px, mm, cm or m"
            )
        if data_unit is None:
            raise PoseDataError(
                f"max_speed: {max_speed!r} is in {space!r} but the position's space unit is "
                "unknown (no attrs['space_unit']); give max_speed as a number in the "
                "position's units per second, or pass position with its dataset's attrs"
            )
        have = _SPACE_UNITS.get(str(data_unit).lower())
        if have is None or have[0] != given[0]:
            raise PoseDataError(
                f"max_speed: {max_speed!r} is in {space!r} but the positions are in "
                f"{data_unit!r}; give max_speed in {data_unit!r} per second or calibrate the "
                "dataset first"
            )
        if given[1] is not None and have[1] is not None:
            value *= given[1] / have[1]
        if per.lower() in {"frame", "frames", "f"}:
            fps = _fps(da)
            if fps is None:
                raise PoseDataError(
                    f"max_speed: {max_speed!r} is per frame, which needs the frame rate, "
                    "but fps is unknown; give it per second"
                )
            value *= fps
        else:
            value /= to_seconds(f"1 {per}", name="max_speed")
    else:
        raise PoseDataError(
            f"max_speed: expected a number or a string such as '50 cm/s', found "
            f"{type(max_speed).__name__} {max_speed!r}"
        )
    if not (math.isfinite(value) and value > 0):
        raise PoseDataError(f"max_speed: expected a positive finite speed, found {max_speed!r}")
    return value


def remove_jumps(position: xr.DataArray, max_speed: float | str) -> xr.DataArray:
    """Set points that move faster than ``max_speed`` to NaN (outlier jumps).

    Parameters
    ----------
    position
        Positions with dims ``time`` and ``space`` (any others are kept); the
        distance between two points is Euclidean over ``space``, and a point is
        removed in all its coordinates.
    max_speed
        Fastest plausible speed: a number in the position's space unit per second
        (per frame when the time is in frames and the frame rate is unknown), or a
        string with units such as ``"50 cm/s"`` or ``"500 px/s"``. Metric units
        convert (``"500 mm/s"`` on data in cm), pixels and metric do not.

    Returns
    -------
    xr.DataArray
        A copy of ``position`` with the jumps set to NaN.

    Raises
    ------
    PoseDataError
        If the unit of ``max_speed`` does not match ``attrs["space_unit"]`` (the
        message names both), or the frame rate needed is unknown.

    Notes
    -----
    The rule, per keypoint and individual: sweep forward in time keeping the last
    accepted point; a point is *out of reach* when it is farther than
    ``max_speed * (t - t_accepted)`` from it (then it is not accepted, and the
    reach grows with time), else it becomes the accepted point. Sweep backward
    the same way. A point is removed only when it is out of reach in both sweeps.
    A single-frame spike, or a short burst that comes back, is therefore removed,
    while a step to a new place, or a genuine fast run, keeps the frames on each
    side of it (only the middle of a run too fast for ``max_speed`` is lost). The
    first (last) valid point of a track counts as out of reach in the forward
    (backward) sweep when the valid point after (before) it is out of reach.
    Missing frames are skipped: the reach is measured over the real time between
    valid points, so irregular timestamps are honoured.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.zeros((6, 2, 1, 1)); pos[3] = 100.0
    >>> ds = bh.from_numpy(pos, fps=10, space_unit="cm")
    >>> out = remove_jumps(ds.position.assign_attrs(ds.attrs), "50 cm/s")
    >>> np.isnan(out.values[:, 0, 0, 0]).tolist()
    [False, False, False, True, False, False]
    """
    _check_input(position, "position")
    require_dims(position, "time", "space", name="position")
    vmax = _speed_per_second(max_speed, position)
    t, _ = _time_axis(position)
    values = np.asarray(position.values)
    t_axis = position.get_axis_num("time")
    s_axis = position.get_axis_num("space")
    moved = np.moveaxis(values, (t_axis, s_axis), (0, 1))
    shape = moved.shape
    x = np.ascontiguousarray(moved.reshape(shape[0], shape[1], -1), dtype=np.float64)
    remove = np.zeros((x.shape[0], x.shape[2]), dtype=np.bool_)
    _jump_kernel(x, np.ascontiguousarray(t), float(vmax), remove)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
    out = np.array(moved, dtype=dtype, copy=True)
    out[np.broadcast_to(remove.reshape(shape[0], 1, *shape[2:]), shape)] = np.nan
    out = np.moveaxis(out, (0, 1), (t_axis, s_axis))
    result = position.copy(deep=False, data=out)
    return append_log(
        result,
        "remove_jumps",
        max_speed=max_speed,
        max_speed_per_second=vmax,
        n_removed=int(remove.sum()),
    )


# --------------------------------------------------------------------------------------
# Kalman filter + RTS smoother (constant velocity)
# --------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _kalman_noise_heuristic(y, t_step, lag, q_out, r_out):  # pragma: no cover - numba
    """Robust q, r per series from second differences at two lags.

    For a constant-velocity track with white acceleration of density ``q`` seen
    with noise variance ``r``, the second difference over ``L`` frames,
    ``y[i + L] - 2 y[i] + y[i - L]``, has variance ``2/3 q (L dt)^3 + 6 r``.
    Robust variances (from the median absolute value) at lags 1 and ``lag``
    give both parameters. NaN where a series has too few points.
    """
    n, n_series = y.shape
    d1 = np.empty(max(n, 1), dtype=np.float64)
    dl = np.empty(max(n, 1), dtype=np.float64)
    for s in range(n_series):
        k1 = 0
        kl = 0
        for i in range(1, n - 1):
            a = y[i - 1, s] - 2.0 * y[i, s] + y[i + 1, s]
            if a == a:
                d1[k1] = abs(a)
                k1 += 1
            if lag <= i < n - lag:
                b = y[i - lag, s] - 2.0 * y[i, s] + y[i + lag, s]
                if b == b:
                    dl[kl] = abs(b)
                    kl += 1
        if k1 < 5 or kl < 5:
            q_out[s] = np.nan
            r_out[s] = np.nan
            continue
        v1 = (np.median(d1[:k1]) * 1.482602218505602) ** 2
        vl = (np.median(dl[:kl]) * 1.482602218505602) ** 2
        unit = 2.0 / 3.0 * t_step**3
        q = (vl - v1) / (unit * (lag**3 - 1))
        if q <= 0.0:
            q_out[s] = 0.0
            r_out[s] = v1 / 6.0
            continue
        r = (v1 - unit * q) / 6.0
        if r <= 0.0:
            r = 0.0
            q = vl / (unit * lag**3)
        q_out[s] = q
        r_out[s] = r


@numba.njit(cache=True)
def _kf_forward(y, conf, has_conf, t, s, first, stop, q, r, p0, v0, mf, pf):  # pragma: no cover
    """Kalman filter of series ``s`` from its first observation ``first`` to ``stop - 1``.

    The prior at ``first`` is the observation with zero velocity, variances
    ``p0`` and ``v0``. Filtered means go to ``mf`` (n, 2), covariances
    (p00, p01, p11) to ``pf`` (n, 3).
    """
    a0 = y[first, s]
    a1 = 0.0
    p00 = p0
    p01 = 0.0
    p11 = v0
    for i in range(first, stop):
        if i > first:
            dt = t[i] - t[i - 1]
            a0 = a0 + dt * a1
            qd = q * dt
            p00 = p00 + 2.0 * dt * p01 + dt * dt * p11 + qd * dt * dt / 3.0
            p01 = p01 + dt * p11 + qd * dt / 2.0
            p11 = p11 + qd
        obs = y[i, s]
        if obs == obs:
            rr = r
            if has_conf:
                c = conf[i, s]
                if c == c:
                    rr = r / max(c, 1e-3)
            ss = p00 + rr
            k0 = p00 / ss
            k1 = p01 / ss
            e = obs - a0
            a0 += k0 * e
            a1 += k1 * e
            p11 = p11 - k1 * p01
            p01 = p01 * (1.0 - k0)
            p00 = p00 * (1.0 - k0)
        mf[i, 0] = a0
        mf[i, 1] = a1
        pf[i, 0] = p00
        pf[i, 1] = p01
        pf[i, 2] = p11


@numba.njit(cache=True)
def _rts_backward(
    y, conf, has_conf, t, s, first, stop, q, mf, pf, write, out_m, out_v
):  # pragma: no cover
    """RTS smoother of series ``s`` from ``stop - 1`` back to ``first``.

    With ``write`` the smoothed position and its variance go to ``out_m`` and
    ``out_v``, and the frames before ``first`` are extrapolated backwards from
    the smoothed state at ``first`` (variance growing with the distance).
    Returns the EM sums ``(sum tr(Q0^-1 E[w w']), n_transitions, sum c E[e^2],
    n_obs)``.
    """
    n = stop
    s0 = mf[n - 1, 0]
    s1 = mf[n - 1, 1]
    c00 = pf[n - 1, 0]
    c01 = pf[n - 1, 1]
    c11 = pf[n - 1, 2]
    acc_q = 0.0
    acc_r = 0.0
    n_obs = 0
    if write:
        out_m[n - 1, s] = s0
        out_v[n - 1, s] = c00
    obs = y[n - 1, s]
    if obs == obs:
        w = 1.0
        if has_conf:
            c = conf[n - 1, s]
            if c == c:
                w = max(c, 1e-3)
        acc_r += w * ((obs - s0) ** 2 + c00)
        n_obs += 1
    for i in range(n - 2, first - 1, -1):
        dt = t[i + 1] - t[i]
        f0 = mf[i, 0]
        f1 = mf[i, 1]
        f00 = pf[i, 0]
        f01 = pf[i, 1]
        f11 = pf[i, 2]
        qd = q * dt
        # prediction to i + 1
        mp0 = f0 + dt * f1
        mp1 = f1
        pp00 = f00 + 2.0 * dt * f01 + dt * dt * f11 + qd * dt * dt / 3.0
        pp01 = f01 + dt * f11 + qd * dt / 2.0
        pp11 = f11 + qd
        det = pp00 * pp11 - pp01 * pp01
        # G = Pf F' Pp^-1
        a00 = f00 + dt * f01
        a01 = f01
        a10 = f01 + dt * f11
        a11 = f11
        if det > 0.0:
            g00 = (a00 * pp11 - a01 * pp01) / det
            g01 = (-a00 * pp01 + a01 * pp00) / det
            g10 = (a10 * pp11 - a11 * pp01) / det
            g11 = (-a10 * pp01 + a11 * pp00) / det
        else:
            g00 = 0.0
            g01 = 0.0
            g10 = 0.0
            g11 = 0.0
        d0 = s0 - mp0
        d1 = s1 - mp1
        n0 = f0 + g00 * d0 + g01 * d1
        n1 = f1 + g10 * d0 + g11 * d1
        # Ps_i = Pf + G (Ps_{i+1} - Pp) G'
        e00 = c00 - pp00
        e01 = c01 - pp01
        e11 = c11 - pp11
        h00 = g00 * e00 + g01 * e01
        h01 = g00 * e01 + g01 * e11
        h10 = g10 * e00 + g11 * e01
        h11 = g10 * e01 + g11 * e11
        m00 = f00 + h00 * g00 + h01 * g01
        m01 = f01 + h00 * g10 + h01 * g11
        m11 = f11 + h10 * g10 + h11 * g11
        if m00 < 0.0:
            m00 = 0.0
        if m11 < 0.0:
            m11 = 0.0
        if not write:
            # cross covariance C = Cov(x_{i+1}, x_i) = Ps_{i+1} G'
            x00 = c00 * g00 + c01 * g01
            x01 = c00 * g10 + c01 * g11
            x10 = c01 * g00 + c11 * g01
            x11 = c01 * g10 + c11 * g11
            # E[w w'] with w = x_{i+1} - F x_i
            dl0 = s0 - (n0 + dt * n1)
            dl1 = s1 - n1
            fp00 = m00 + 2.0 * dt * m01 + dt * dt * m11
            fp01 = m01 + dt * m11
            w00 = dl0 * dl0 + c00 - 2.0 * (x00 + dt * x01) + fp00
            w01 = dl0 * dl1 + c01 - x01 - (x10 + dt * x11) + fp01
            w11 = dl1 * dl1 + c11 - 2.0 * x11 + m11
            acc_q += 12.0 * w00 / dt**3 - 12.0 * w01 / dt**2 + 4.0 * w11 / dt
        s0 = n0
        s1 = n1
        c00 = m00
        c01 = m01
        c11 = m11
        if write:
            out_m[i, s] = s0
            out_v[i, s] = c00
        obs = y[i, s]
        if obs == obs:
            w = 1.0
            if has_conf:
                c = conf[i, s]
                if c == c:
                    w = max(c, 1e-3)
            acc_r += w * ((obs - s0) ** 2 + c00)
            n_obs += 1
    if write:
        for i in range(first - 1, -1, -1):
            dt = t[i + 1] - t[i]
            qd = q * dt
            s0 = s0 - dt * s1
            c00 = c00 - 2.0 * dt * c01 + dt * dt * c11 + qd * dt * dt / 3.0
            c01 = c01 - dt * c11 - qd * dt / 2.0
            c11 = c11 + qd
            out_m[i, s] = s0
            out_v[i, s] = c00
    return acc_q, n - 1 - first, acc_r, n_obs


@numba.njit(cache=True)
def _kalman_kernel(
    y, conf, has_conf, t, q, r, n_iter, em_frames, est_q, est_r, out_m, out_v
):  # pragma: no cover
    """Kalman + RTS per series with optional EM on q and r (updated in place).

    The prior at a series' first observation is scaled to the data: position
    variance ``10 (r + q dt^3)`` and velocity variance ten times the mean square
    velocity between consecutive observations.
    """
    n, n_series = y.shape
    mf = np.empty((n, 2), dtype=np.float64)
    pf = np.empty((n, 3), dtype=np.float64)
    span = t[n - 1] - t[0] if n > 1 else 1.0
    step = span / (n - 1) if n > 1 else 1.0
    for s in range(n_series):
        first = -1
        last = -1
        k = 0
        mean = 0.0
        m2 = 0.0
        msv = 0.0
        n_pairs = 0
        for i in range(n):
            v = y[i, s]
            if v == v:
                if first < 0:
                    first = i
                if last >= 0:
                    vel = (v - y[last, s]) / (t[i] - t[last])
                    msv += vel * vel
                    n_pairs += 1
                last = i
                k += 1
                d = v - mean
                mean += d / k
                m2 += d * (v - mean)
        if k == 0:
            for i in range(n):
                out_m[i, s] = np.nan
                out_v[i, s] = np.nan
            continue
        var = m2 / k
        floor = 1e-10 * (var + 1e-6 * (mean * mean + 1.0))
        qs = max(q[s], floor / step**3)
        rs = max(r[s], floor)
        iters = n_iter if k >= 4 else 0
        # EM looks at the first em_frames frames from the first observation
        em_stop = min(n, first + em_frames)
        for it in range(iters + 1):
            p0 = 10.0 * (rs + qs * step**3)
            v0 = p0 / (step * step)
            if n_pairs > 0:
                v0 += 10.0 * msv / n_pairs
            write = it == iters
            stop = n if write else em_stop
            _kf_forward(y, conf, has_conf, t, s, first, stop, qs, rs, p0, v0, mf, pf)
            aq, nq, ar, nr = _rts_backward(
                y, conf, has_conf, t, s, first, stop, qs, mf, pf, write, out_m, out_v
            )
            if not write:
                if est_q and nq > 0:
                    qs = max(aq / (2.0 * nq), floor / step**3)
                if est_r and nr > 0:
                    rs = max(ar / nr, floor)
        q[s] = qs
        r[s] = rs


def _noise_arg(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise PoseDataError(f"{name}: expected a positive number or None, found {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise PoseDataError(f"{name}: expected a positive finite number, found {value!r}")
    return float(value)


_MAX_EM_ITER = 10_000
"""Most EM iterations :func:`kalman_smooth` runs (the default is 10)."""


def kalman_smooth(
    position: xr.DataArray,
    confidence: xr.DataArray | None = None,
    *,
    process_noise: float | None = None,
    measurement_noise: float | None = None,
    estimate: Literal["em", "heuristic"] | None = "em",
    n_iter: int = 10,
    em_frames: int = 20_000,
    return_variance: bool = True,
) -> xr.Dataset:
    """Constant-velocity Kalman filter and RTS smoother along ``time``.

    Every series (each keypoint, individual and spatial axis, independently) is
    modelled as a position moving at a velocity that drifts by white
    acceleration noise, seen through Gaussian measurement noise. The smoother
    uses all frames before and after each one, bridges gaps (the variance grows
    towards the middle of a gap) and also fills the frames before the first and
    after the last observation (extrapolated, with growing variance).

    Parameters
    ----------
    position
        Positions (or any data) with a ``time`` dim; NaN frames are not observed.
    confidence
        Optional scores with a subset of ``position``'s dims. The measurement
        noise of a frame is ``measurement_noise / max(confidence, 1e-3)``; NaN
        confidence means the plain ``measurement_noise``.
    process_noise
        Spectral density ``q`` of the acceleration noise, in space unit² per
        second³ (per frame³ when time is in frames). ``None``: estimated.
    measurement_noise
        Variance ``r`` of the measurement noise at confidence 1, in space unit².
        ``None``: estimated.
    estimate
        How to estimate the parameters left as ``None``, per series:
        ``"heuristic"`` solves for ``q`` and ``r`` from the robust variances
        (median absolute value) of second differences over 1 frame and over
        about 0.25 s, whose expected values are ``2/3 q (L dt)^3 + 6 r``;
        ``"em"`` (default) starts there and runs ``n_iter`` expectation-
        maximisation steps. ``None`` requires both noises to be given. A series
        with too few frames for the heuristic takes the median over series.
    n_iter
        EM iterations.
    em_frames
        EM estimates the noises on at most this many frames of each series (from
        its first observation); the smoothing itself always uses every frame.
    return_variance
        Whether to include ``variance`` in the result.

    Returns
    -------
    xr.Dataset
        ``position``: the smoothed track (same dims, coords and attrs as the input,
        every frame filled where the series has at least one observation);
        ``variance``: its posterior variance (same dims); ``process_noise`` and
        ``measurement_noise``: the parameters used, per series (dims of the input
        without ``time``). The Dataset attrs are the input's with the log record.

    Notes
    -----
    Time steps come from the ``time`` coordinate (seconds when known), so
    irregular timestamps are honoured. The spatial axes are smoothed
    independently (no cross-axis covariance).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(200) / 30
    >>> y = 10 * t + rng.normal(0, 0.5, t.size)
    >>> y[80:100] = np.nan
    >>> da = xr.DataArray(y, dims="time", coords={"time": t})
    >>> out = kalman_smooth(da)
    >>> bool(np.isfinite(out.position).all()), bool(out.variance[90] > out.variance[10])
    (True, True)
    """
    _check_input(position, "position")
    if not _is_choice(estimate, ("em", "heuristic", None)):
        raise PoseDataError(f"estimate: expected 'em', 'heuristic' or None, found {estimate!r}")
    q_fixed = _noise_arg(process_noise, "process_noise")
    r_fixed = _noise_arg(measurement_noise, "measurement_noise")
    if estimate is None and (q_fixed is None or r_fixed is None):
        raise PoseDataError(
            "estimate=None: expected both process_noise and measurement_noise, found "
            f"process_noise={process_noise!r}, measurement_noise={measurement_noise!r}; "
            "give both or use estimate='em' / 'heuristic'"
        )
    if (
        isinstance(n_iter, bool)
        or not isinstance(n_iter, int | np.integer)
        or not 0 <= n_iter <= _MAX_EM_ITER
    ):
        # bounded: the iterations run inside a compiled kernel that nothing interrupts
        raise PoseDataError(
            f"n_iter: expected an int from 0 to {_MAX_EM_ITER} (EM iterations), found {n_iter!r}"
        )
    if isinstance(em_frames, bool) or not isinstance(em_frames, int | np.integer) or em_frames < 2:
        raise PoseDataError(f"em_frames: expected an int >= 2, found {em_frames!r}")
    t, seconds = _time_axis(position)
    t = np.ascontiguousarray(t, dtype=np.float64)
    axis = position.get_axis_num("time")
    y, restore = _as_series(position.values, axis)
    n, n_series = y.shape
    has_conf = confidence is not None
    if has_conf:
        if not isinstance(confidence, xr.DataArray):
            raise PoseDataError(
                f"confidence: expected an xarray.DataArray or None, found "
                f"{type(confidence).__name__}"
            )
        extra = [d for d in confidence.dims if d not in position.dims]
        if extra:
            raise PoseDataError(
                f"confidence: dims {extra} are not dims of position {list(position.dims)}"
            )
        conf_b = confidence.transpose(*[d for d in position.dims if d in confidence.dims])
        conf_b = conf_b.broadcast_like(position).transpose(*position.dims)
        conf, _ = _as_series(conf_b.values, axis)
    else:
        conf = np.empty((1, 1), dtype=np.float64)
    step = float(np.median(np.diff(t))) if n > 1 else 1.0
    q = np.full(n_series, q_fixed if q_fixed is not None else np.nan)
    r = np.full(n_series, r_fixed if r_fixed is not None else np.nan)
    if q_fixed is None or r_fixed is None:
        q_h = np.empty(n_series)
        r_h = np.empty(n_series)
        lag = round(0.25 / step) if seconds else 8
        lag = max(2, min(lag, (n - 1) // 4))
        _kalman_noise_heuristic(y, step, lag, q_h, r_h)
        q_fill = float(np.nanmedian(q_h)) if np.isfinite(q_h).any() else 1.0
        r_fill = float(np.nanmedian(r_h)) if np.isfinite(r_h).any() else 1.0
        # the kernel floors both at a tiny fraction of each series' variance
        if q_fixed is None:
            q = np.where(np.isfinite(q_h), q_h, q_fill)
        if r_fixed is None:
            r = np.where(np.isfinite(r_h), r_h, r_fill)
    em = estimate == "em"
    out_m = np.empty_like(y)
    out_v = np.empty_like(y)
    if n:
        _kalman_kernel(
            y,
            conf,
            has_conf,
            t,
            q,
            r,
            int(n_iter if em else 0),
            int(em_frames),
            bool(em and q_fixed is None),
            bool(em and r_fixed is None),
            out_m,
            out_v,
        )
    smoothed = position.copy(deep=False, data=restore(out_m))
    record = {
        "process_noise": process_noise,
        "measurement_noise": measurement_noise,
        "estimate": estimate,
        "n_iter": n_iter,
        "em_frames": em_frames,
        "median_process_noise": float(np.median(q)) if q.size else None,
        "median_measurement_noise": float(np.median(r)) if r.size else None,
    }
    smoothed = append_log(smoothed, "kalman_smooth", **record)
    other = [d for d in position.dims if d != "time"]
    shape = [position.sizes[d] for d in other]
    coords = {k: v for k, v in position.coords.items() if "time" not in v.dims}
    data_vars: dict[str, Any] = {"position": smoothed}
    if return_variance:
        variance = position.copy(deep=False, data=restore(out_v))
        variance.attrs = dict(smoothed.attrs)
        data_vars["variance"] = variance
    data_vars["process_noise"] = xr.DataArray(q.reshape(shape), dims=other)
    data_vars["measurement_noise"] = xr.DataArray(r.reshape(shape), dims=other)
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = dict(smoothed.attrs)
    return ds


# --------------------------------------------------------------------------------------
# clean: the usual sequence
# --------------------------------------------------------------------------------------


def clean(
    ds: xr.Dataset,
    *,
    confidence_threshold: float | None = 0.6,
    max_jump_speed: float | str | None = None,
    max_gap: Duration | None = "0.25 s",
    smooth: Literal["median", "savgol", "kalman"] | None = "median",
    window: Duration = "0.2 s",
    interpolation: Literal["linear", "pchip", "cubic", "nearest"] = "linear",
    polyorder: int = 2,
    min_valid: int | None = None,
    kalman_options: dict[str, Any] | None = None,
) -> xr.Dataset:
    """Clean a pose dataset in one call: mask, de-jump, fill short gaps, smooth.

    The steps, in order, each disabled by ``None``:

    1. ``confidence_threshold``: :func:`filter_by_confidence` (points without a
       score are kept; skipped when the dataset has no ``confidence``).
    2. ``max_jump_speed``: :func:`remove_jumps` (off by default: the plausible
       speed depends on the animal and the calibration, e.g. ``"150 cm/s"``).
    3. ``max_gap``: :func:`interpolate_gaps` of gaps up to ``max_gap``.
    4. ``smooth``: :func:`median_filter` or :func:`savgol_filter` over ``window``
       (NaN-aware; NaN frames stay NaN), or :func:`kalman_smooth`, which replaces
       step 3: it bridges every gap, and the frames that step 3 would have left
       NaN (gaps longer than ``max_gap``, leading and trailing NaN; every input
       NaN when ``max_gap`` is None) are set back to NaN, its variance kept in
       ``position_variance``.

    Parameters
    ----------
    ds
        Pose dataset with ``position`` (and usually ``confidence``).
    confidence_threshold, max_jump_speed, max_gap, smooth, window
        The steps above. Durations in seconds, ``"0.2 s"`` strings or frames.
    interpolation
        Method of step 3.
    polyorder
        Polynomial order for ``smooth="savgol"``.
    min_valid
        Fewest valid frames per smoothing window (see :func:`median_filter`).
    kalman_options
        Extra keyword arguments of :func:`kalman_smooth` (``process_noise``,
        ``measurement_noise``, ``estimate``, ``n_iter``).

    Returns
    -------
    xr.Dataset
        A new dataset with ``position`` replaced and ``confidence`` kept, whose
        ``attrs["log"]`` has one record per step that ran, then a ``clean`` record
        with the fraction of NaN before and after.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> rng = np.random.default_rng(0)
    >>> ds = bh.from_numpy(rng.normal(size=(300, 2, 3, 1)), rng.uniform(size=(300, 3, 1)), fps=30)
    >>> out = clean(ds)
    >>> [r["operation"] for r in bh.read_log(out)]
    ['filter_by_confidence', 'interpolate_gaps', 'median_filter', 'clean']
    """
    if not isinstance(ds, xr.Dataset) or "position" not in ds.data_vars:
        raise PoseDataError(
            "ds: expected a pose Dataset with a 'position' variable, found "
            f"{type(ds).__name__}"
            + (f" with variables {list(ds.data_vars)}" if isinstance(ds, xr.Dataset) else "")
        )
    if not _is_choice(smooth, ("median", "savgol", "kalman", None)):
        raise PoseDataError(
            f"smooth: expected 'median', 'savgol', 'kalman' or None, found {smooth!r}"
        )
    _check_input(ds["position"], "ds")
    if confidence_threshold is not None:
        _real_number(confidence_threshold, "confidence_threshold", "a finite number or None")
    if kalman_options is not None and not isinstance(kalman_options, dict):
        raise PoseDataError(
            f"kalman_options: expected a dict of kalman_smooth arguments or None, found "
            f"{type(kalman_options).__name__}"
        )
    original = ds["position"]
    position = original.copy(deep=False)
    position.attrs = dict(ds.attrs)
    before = float(np.isnan(original.values).mean()) if original.size else 0.0
    has_conf = "confidence" in ds.data_vars
    if confidence_threshold is not None and has_conf:
        position = filter_by_confidence(position, ds["confidence"], confidence_threshold)
    elif confidence_threshold is not None:
        logger.info("clean: the dataset has no 'confidence'; skipping the confidence step")
    if max_jump_speed is not None:
        position = remove_jumps(position, max_jump_speed)
    variance = None
    if smooth == "kalman":
        options = dict(kalman_options or {})
        conf = ds["confidence"] if has_conf else None
        if conf is not None and not np.isfinite(conf.values).any():
            conf = None
        missing = np.isnan(np.asarray(position.values))
        if max_gap is not None:
            gap = _max_gap_frames(max_gap, position, position.sizes["time"])
            x, restore = _as_series(position.values, position.get_axis_num("time"))
            fillable = np.zeros(x.shape, dtype=np.bool_)
            _fillable_kernel(x, int(gap), fillable)
            missing &= ~restore(fillable).astype(bool)
        smoothed = kalman_smooth(position, conf, **options)
        position = smoothed["position"]
        variance = smoothed.get("variance")
        position = position.where(~missing)
        if variance is not None:
            variance = variance.where(~missing)
    else:
        if max_gap is not None:
            position = interpolate_gaps(position, max_gap, method=interpolation)
        if smooth == "median":
            position = median_filter(position, window, min_valid)
        elif smooth == "savgol":
            position = savgol_filter(position, window, polyorder, min_valid=min_valid)
    after = float(np.isnan(position.values).mean()) if position.size else 0.0
    position = append_log(
        position,
        "clean",
        confidence_threshold=confidence_threshold,
        max_jump_speed=max_jump_speed,
        max_gap=max_gap,
        smooth=smooth,
        window=window,
        interpolation=interpolation,
        polyorder=polyorder,
        min_valid=min_valid,
        nan_fraction_before=round(before, 6),
        nan_fraction_after=round(after, 6),
    )
    out = ds.copy(deep=False)
    out["position"] = position.copy(deep=False).assign_attrs(original.attrs)
    out["position"].attrs = dict(original.attrs)
    if variance is not None:
        out["position_variance"] = variance.copy(deep=False)
        out["position_variance"].attrs = {}
    out.attrs = dict(ds.attrs)
    out.attrs["log"] = position.attrs["log"]
    return out


# --------------------------------------------------------------------------------------
# Warm-up
# --------------------------------------------------------------------------------------


def _warm_up() -> None:
    """Compile every numba kernel of this module on tiny inputs (once per process)."""
    x = np.array([[0.0, 1.0], [np.nan, 2.0], [2.0, np.nan], [3.0, 4.0], [4.0, 5.0]])
    t = np.arange(5, dtype=np.float64)
    out = np.empty_like(x)
    _confidence_kernel(x.reshape(5, 1, 2), x, 0.5, True, np.empty((5, 1, 2)))
    _fill_gaps_kernel(x, t, 2, False, out, 2)
    _fillable_kernel(x, 2, np.zeros(x.shape, dtype=np.bool_))
    _order_kernel(x, 3, 2, 0, True, False, out)
    _order_kernel_narrow(x, 3, 2, 0, True, False, out, 2)
    _order_kernel_narrow(x, 3, 2, 0, True, False, out)  # the default thread count
    _moment_kernel(x, 3, 2, 3, True, False, out)
    coeffs = np.ones(3, dtype=np.float64) / 3.0
    _savgol_kernel(x, 3, 1, 0, 1.0, 2, coeffs, False, out, 2)
    remove = np.zeros((5, 1), dtype=np.bool_)
    _jump_kernel(np.ascontiguousarray(x.reshape(5, 2, 1)), t, 1.0, remove)
    q = np.ones(2)
    r = np.ones(2)
    _kalman_noise_heuristic(x, 1.0, 2, q, r)
    q = np.ones(2)
    r = np.ones(2)
    _kalman_kernel(x, np.empty((1, 1)), False, t, q, r, 1, 3, True, True, out, np.empty_like(x))
    _kalman_kernel(x, np.ones_like(x), True, t, q, r, 1, 3, True, True, out, np.empty_like(x))
