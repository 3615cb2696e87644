"""The neural clock: sync pulses, alignment to bins and timestamps, lagged design matrices.

Behavior lives at the camera's frame rate and on the camera's clock; neural data
(spikes, calcium, photometry) at their own rate and on the recording's clock. This
module puts one onto the other:

- :func:`fit_clock` fits ``recording = offset + slope * camera`` from the times of
  the same sync pulses seen by both (dropped and extra pulses on either side are
  matched away), giving a :class:`ClockFit`; :func:`to_recording_clock` moves a
  dataset's ``time`` onto the recording clock.
- :func:`align` puts features, kinematics, ethograms and syllable labels onto
  target timestamps, bin edges or regular bins (``bin_size="50 ms"``), with bin
  means, modes, last values or linear interpolation, NaN-aware: a bin with too
  few valid frames is missing and the result says how many were.
- :func:`design_matrix` and :class:`LaggedFeatures` (a scikit-learn transformer)
  build time-lagged predictors with column names such as ``speed@-2``, optionally
  on a raised-cosine basis across the lag window.

Conventions
-----------
Times are seconds. A frame at time ``t`` belongs to the bin ``[start, end)`` that
holds ``t``. In a lagged column ``f@k`` row ``t`` holds ``f`` at row ``t + k``: a
negative lag is the past.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import validate_data

from behavior.dataset import (
    CORE_DIMS,
    append_log,
    check_fps,
    check_time,
    fps_of,
    read_log,
    time_seconds,
    time_step,
    validate,
)
from behavior.errors import FileFormatError, NotFittedError, PoseDataError, require_module
from behavior.ethogram import Ethogram
from behavior.io.netcdf import singular_layout
from behavior.units import to_seconds

logger = logging.getLogger(__name__)

__all__ = [
    "ALIGN_METHODS",
    "COLUMN_SEPARATOR",
    "MOVEMENT_SCHEMAS",
    "ClockFit",
    "LaggedFeatures",
    "align",
    "design_matrix",
    "fit_clock",
    "from_movement",
    "from_pynapple",
    "raised_cosine_basis",
    "to_movement",
    "to_nwb",
    "to_pynapple",
    "to_recording_clock",
]

ALIGN_METHODS = ("auto", "mean", "mode", "last", "linear")
"""The methods of :func:`align`: ``mean``, ``mode`` and ``last`` for bins,
``linear`` and ``last`` for timestamps, ``auto`` picks by the kind of data."""


# --------------------------------------------------------------------------------------
# numba kernels of align (one pass over the frames of each bin)
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _bin_mean_kernel(x, starts, stops, min_valid, last, out, n_invalid):  # pragma: no cover
    # per bin and column: the mean (or, with last=True, the last) of the valid frames;
    # missing (NaN) when fewer than min_valid of the bin's frames, or none, are valid
    n_cols = x.shape[1]
    for b in numba.prange(starts.shape[0]):
        sums = np.zeros(n_cols)
        counts = np.zeros(n_cols, dtype=np.int64)
        for r in range(starts[b], stops[b]):
            for c in range(n_cols):
                v = x[r, c]
                if v == v:
                    if last:
                        sums[c] = v
                    else:
                        sums[c] += v
                    counts[c] += 1
        need = min_valid * (stops[b] - starts[b])
        bad = 0
        for c in range(n_cols):
            if counts[c] == 0 or counts[c] < need:
                out[b, c] = np.nan
                bad += 1
            elif last:
                out[b, c] = sums[c]
            else:
                out[b, c] = sums[c] / counts[c]
        n_invalid[b] = bad


@numba.njit(cache=True, parallel=True)
def _bin_label_kernel(
    codes, starts, stops, n_classes, min_valid, last, out, n_invalid
):  # pragma: no cover
    # per bin and column: the most frequent label >= 0 (ties to the smaller), or the
    # last one; -1 when fewer than min_valid of the bin's frames, or none, have a label
    n_cols = codes.shape[1]
    for b in numba.prange(starts.shape[0]):
        tally = np.zeros(n_classes, dtype=np.int64)
        need = min_valid * (stops[b] - starts[b])
        bad = 0
        for c in range(n_cols):
            best = -1
            best_count = 0
            count = 0
            for r in range(starts[b], stops[b]):
                v = codes[r, c]
                if v >= 0:
                    count += 1
                    if last:
                        best = v
                        continue
                    tally[v] += 1
                    n = tally[v]
                    if n > best_count or (n == best_count and v < best):
                        best = v
                        best_count = n
            if not last:
                for r in range(starts[b], stops[b]):
                    v = codes[r, c]
                    if v >= 0:
                        tally[v] = 0
            if count == 0 or count < need:
                out[b, c] = -1
                bad += 1
            else:
                out[b, c] = best
        n_invalid[b] = bad


# --------------------------------------------------------------------------------------
# align
# --------------------------------------------------------------------------------------


def _frame_times(obj: xr.DataArray, name: str) -> np.ndarray:
    """The ``time`` coordinate in seconds (frames converted with the frame rate), checked."""
    t = time_seconds(obj)
    if obj.attrs.get("time_unit") == "frames":
        fps = fps_of(obj, required=f"{name} (time in frames)")
        t = t / fps
    check_time(t, f"{name}.time")
    return t


def _as_dataarray(x: Any, times: Any) -> tuple[xr.DataArray, str]:
    """``x`` as a DataArray with ``time`` first, and its kind: continuous, labels or ethogram."""
    if isinstance(x, Ethogram):
        da = x.labels.astype(np.float64)
        da.attrs = {k: v for k, v in x.attrs.items() if k in ("fps", "time_unit")}
        if times is not None:
            raise PoseDataError("times: an Ethogram carries its own times; leave times=None")
        return da, "ethogram"
    if isinstance(x, np.ndarray | list | tuple) and not isinstance(x, xr.DataArray):
        values = np.asarray(x)
        if times is None:
            raise PoseDataError(
                f"times: x is a {type(x).__name__} without times; give times=... (one per row) "
                "or a DataArray with a time coordinate"
            )
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if values.ndim == 0 or values.shape[0] != times.size:
            raise PoseDataError(
                f"times: expected one time per row of x ({values.shape[:1]}), found {times.size}"
            )
        dims = ["time", *[f"dim_{i}" for i in range(1, values.ndim)]]
        x = xr.DataArray(values, dims=dims, coords={"time": times})
    elif isinstance(x, xr.DataArray):
        if times is not None:
            raise PoseDataError("times: x is a DataArray with its own time; leave times=None")
    else:
        raise PoseDataError(
            "x: expected a DataArray with a time dimension, an Ethogram, or an array with "
            f"times=..., found {type(x).__name__}"
        )
    if "time" not in x.dims:
        raise PoseDataError(f"x: missing dimension 'time'; found dims {list(x.dims)}")
    x = x.transpose("time", ...)
    dtype = x.dtype
    if dtype.kind == "b":
        return x.astype(np.float64), "binary"
    if np.issubdtype(dtype, np.integer):
        return x, "labels"
    if np.issubdtype(dtype, np.floating):
        return x, "continuous"
    raise PoseDataError(f"x: expected numbers, booleans or integer labels, found dtype {dtype}")


def _check_method(method: Any, kind: str, binned: bool) -> str:
    if method not in ALIGN_METHODS:
        raise PoseDataError(f"method: expected one of {list(ALIGN_METHODS)}, found {method!r}")
    if method == "auto":
        if binned:
            return "mode" if kind == "labels" else "mean"
        return "linear" if kind == "continuous" else "last"
    allowed = ("mean", "mode", "last") if binned else ("linear", "last")
    if method not in allowed:
        target = "bins" if binned else "timestamps"
        raise PoseDataError(f"method: {method!r} does not apply to {target}; use one of {allowed}")
    if kind == "labels" and method in ("mean", "linear"):
        raise PoseDataError(
            f"method: {method!r} averages, and x holds integer labels (negative = none); use "
            "'mode' or 'last', or cast x to float if its integers are amounts (counts)"
        )
    if kind == "continuous" and method == "mode":
        raise PoseDataError(
            "method: 'mode' is for labels, booleans and ethograms; x holds float values "
            "(use 'mean' or 'last', or integer labels)"
        )
    return method


def _bin_edges(t: np.ndarray, step: float, bin_size: Any, edges: Any) -> np.ndarray:
    if edges is not None:
        edges = np.asarray(edges, dtype=np.float64).reshape(-1)
        if edges.size < 2:
            raise PoseDataError(f"edges: expected at least 2 bin edges, found {edges.size}")
        check_time(edges, "edges")
        return edges
    width = to_seconds(bin_size, name="bin_size")
    if width <= 0:
        raise PoseDataError(f"bin_size: expected a positive duration, found {bin_size!r}")
    span = (t[-1] + step - t[0]) if t.size else 0.0
    n = max(1, math.ceil(span / width - 1e-9))
    return t[0] + np.arange(n + 1) * width if t.size else np.arange(2) * width


def _target_times(to: Any) -> np.ndarray:
    if isinstance(to, xr.DataArray | xr.Dataset):
        target = _frame_times(to, "to") if "time" in to.dims else None
        if target is None:
            raise PoseDataError(
                f"to: expected timestamps or an object with a time dimension, "
                f"found dims {list(to.dims)}"
            )
        return target
    try:
        target = np.asarray(to, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise PoseDataError(f"to: expected timestamps in seconds, found {to!r}") from None
    if not np.all(np.isfinite(target)):
        raise PoseDataError("to: expected finite timestamps, found NaN or infinity")
    return target


def align(
    x: xr.DataArray | Ethogram | np.ndarray,
    to: Any = None,
    *,
    bin_size: float | str | None = None,
    edges: Any = None,
    method: str = "auto",
    min_valid: float = 0.5,
    times: Any = None,
) -> xr.DataArray:
    """Put features, kinematics, ethograms or labels onto other timestamps or time bins.

    Give exactly one target: ``to`` (timestamps), ``edges`` (bin edges) or
    ``bin_size`` (regular bins from the first frame to the end of the last one;
    the last bin may be partial).

    What ``x`` holds decides what averaging means:

    - **float** (features, kinematics): ``"mean"`` of the valid frames of each bin
      (default for bins) or the ``"last"`` valid value in the bin; ``"linear"``
      interpolation (default for timestamps) or ``"last"`` (the frame at or before
      each timestamp, sample and hold).
    - **boolean** (masks): as 0.0 / 1.0 like an ethogram's behaviors below.
    - **integer labels** (syllables, states; negative = none): ``"mode"`` per bin
      (default; ties go to the smaller label, as :func:`scipy.stats.mode`) or
      ``"last"``. The result is int64 with -1 where a bin is missing.
    - **Ethogram**: per behavior, ``"mean"`` gives the *fraction of the bin* in the
      behavior (default for bins), ``"mode"`` whether the behavior holds in more than
      half of the bin (1.0 / 0.0), ``"last"`` its state in the last frame.

    Parameters
    ----------
    x
        A DataArray with a ``time`` dimension in seconds (``time_unit="frames"``
        with a known ``fps`` is converted), an :class:`~behavior.ethogram.Ethogram`,
        or an array whose first axis is time together with ``times``.
    to
        Target timestamps in seconds: an array, or a DataArray / Dataset whose
        ``time`` is used.
    bin_size
        A duration (``"50 ms"``, or seconds).
    edges
        Strictly increasing bin edges in seconds; frames outside them are ignored.
    method
        One of :data:`ALIGN_METHODS` (see above).
    min_valid
        For bins: the fraction (0 to 1) of a bin's frames that must be valid
        (not NaN, label >= 0); a bin with less, or with no frame at all, is missing
        (NaN, or -1 for labels). Timestamps are missing when they fall outside the
        frames or (``"linear"``) next to a missing frame.
    times
        The time of each row when ``x`` is a plain array.

    Returns
    -------
    xr.DataArray
        ``time`` (bin centres, or the timestamps) first, then ``x``'s other
        dimensions with their coordinates. Bins carry ``bin_start`` and ``bin_end``
        coordinates. ``attrs["n_invalid_bins"]`` counts the rows with at least one
        missing value because of ``min_valid`` or no frames (also logged at INFO),
        ``attrs["n_invalid_values"]`` the missing values; the log records the step.

    Raises
    ------
    PoseDataError
        Naming the argument: no target or more than one, a method that does not
        fit the data, time not increasing, ``min_valid`` outside [0, 1].

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> speed = xr.DataArray([1.0, 3.0, np.nan, 5.0, 7.0, 9.0], dims="time",
    ...                      coords={"time": np.arange(6) / 10})
    >>> binned = align(speed, bin_size="0.2 s")
    >>> binned.values.tolist(), binned.time.values.round(2).tolist()
    ([2.0, 5.0, 8.0], [0.1, 0.3, 0.5])
    >>> align(speed, bin_size="0.2 s", min_valid=1).attrs["n_invalid_bins"]
    1
    >>> align(speed, to=[0.05, 0.35]).values.round(2).tolist()
    [2.0, 6.0]
    """
    given = [
        name for name, v in (("to", to), ("bin_size", bin_size), ("edges", edges)) if v is not None
    ]
    if len(given) != 1:
        raise PoseDataError(
            f"to / bin_size / edges: give exactly one target (timestamps, a bin size or bin "
            f"edges), found {given or 'none'}"
        )
    if (
        isinstance(min_valid, bool)
        or not isinstance(min_valid, numbers.Real)
        or not 0 <= min_valid <= 1
    ):
        raise PoseDataError(f"min_valid: expected a fraction between 0 and 1, found {min_valid!r}")
    da, kind = _as_dataarray(x, times)
    binned = to is None
    method = _check_method(method, kind, binned)
    t = _frame_times(da, "x")
    values = np.asarray(da.values)
    rest_shape = values.shape[1:]
    flat = values.reshape(values.shape[0], -1)
    labels = kind == "labels"
    if binned:
        step = time_step(da) if da.sizes["time"] > 1 else 0.0
        if da.attrs.get("time_unit") == "frames":
            step = 1.0 / fps_of(da, required="x (time in frames)")
        bin_edges = _bin_edges(t, step, bin_size, edges)
        out, n_rows_invalid, n_values_invalid = _aggregate(
            flat, t, bin_edges, method, labels, float(min_valid)
        )
        target = 0.5 * (bin_edges[:-1] + bin_edges[1:])
    else:
        target = _target_times(to)
        out, n_rows_invalid, n_values_invalid = _sample(flat, t, target, method, labels)
    out = out.reshape((target.size, *rest_shape))
    coords: dict[str, Any] = {"time": target}
    for name, coord in da.coords.items():
        if "time" not in coord.dims:
            coords[name] = coord
    attrs = {k: v for k, v in da.attrs.items() if k not in ("fps", "log", "time_unit")}
    attrs["time_unit"] = "seconds"
    if isinstance(x, xr.DataArray) and "log" in x.attrs:
        attrs["log"] = x.attrs["log"]
    result = xr.DataArray(out, dims=da.dims, coords=coords, name=da.name, attrs=attrs)
    if binned:
        result = result.assign_coords(
            bin_start=("time", bin_edges[:-1]), bin_end=("time", bin_edges[1:])
        )
        widths = np.diff(bin_edges)
        if widths.size and np.allclose(widths, widths[0], rtol=1e-9, atol=0):
            result.attrs["fps"] = float(1.0 / widths[0])
    if kind == "ethogram":
        result.name = "fraction" if method == "mean" else "labels"
    result.attrs["n_invalid_bins"] = int(n_rows_invalid)
    result.attrs["n_invalid_values"] = int(n_values_invalid)
    if n_rows_invalid:
        logger.info(
            "align: %d of %d %s missing in at least one column (%d values): %s",
            n_rows_invalid,
            target.size,
            "bins" if binned else "timestamps",
            n_values_invalid,
            f"fewer than {min_valid:g} of their frames valid"
            if binned
            else "outside the frames or next to a missing frame",
        )
    parameters: dict[str, Any] = {"method": method, "min_valid": min_valid, "n": target.size}
    if bin_size is not None:
        parameters["bin_size"] = bin_size
    return append_log(result, "decode.align", **parameters)


def _aggregate(
    flat: np.ndarray,
    t: np.ndarray,
    edges: np.ndarray,
    method: str,
    labels: bool,
    min_valid: float,
) -> tuple[np.ndarray, int, int]:
    """Per-bin mean / mode / last of the columns of ``flat`` (time, columns)."""
    # a frame within a millionth of a frame of an edge counts as on the edge, so that
    # i / fps and k * bin_size that differ in their last bit fall in the same bin
    tol = 1e-6 * float(np.median(np.diff(t))) if t.size > 1 else 0.0
    starts = np.searchsorted(t, edges[:-1] - tol, side="left").astype(np.int64)
    stops = np.searchsorted(t, edges[1:] - tol, side="left").astype(np.int64)
    n_bins, n_cols = edges.size - 1, flat.shape[1]
    n_invalid = np.zeros(n_bins, dtype=np.int64)
    if labels:
        codes = np.ascontiguousarray(flat, dtype=np.int64)
        n_classes = max(int(codes.max()) + 1 if codes.size else 1, 1)
        out = np.empty((n_bins, n_cols), dtype=np.int64)
        _bin_label_kernel(
            codes, starts, stops, n_classes, min_valid, method == "last", out, n_invalid
        )
    else:
        x = flat if flat.dtype in (np.float32, np.float64) else flat.astype(np.float64)
        x = np.ascontiguousarray(x)
        out = np.empty((n_bins, n_cols), dtype=x.dtype)
        _bin_mean_kernel(x, starts, stops, min_valid, method == "last", out, n_invalid)
        if method == "mode":  # only ethograms and 0/1 data: the majority, ties to 0
            out = np.where(np.isnan(out), np.nan, (out > 0.5).astype(out.dtype))
    return out, int((n_invalid > 0).sum()), int(n_invalid.sum())


def _sample(
    flat: np.ndarray, t: np.ndarray, target: np.ndarray, method: str, labels: bool
) -> tuple[np.ndarray, int, int]:
    """Values of the columns of ``flat`` at ``target`` times: linear or sample-and-hold."""
    n = t.size
    step = float(np.median(np.diff(t))) if n > 1 else 0.0
    idx = np.searchsorted(t, target, side="right") - 1
    outside = (
        (idx < 0) | (target > t[-1] + (step if method == "last" else 0.0))
        if n
        else (np.ones(target.size, dtype=bool))
    )
    i0 = np.clip(idx, 0, max(n - 1, 0))
    if labels:
        out = flat[i0].astype(np.int64) if n else np.full((target.size, flat.shape[1]), -1)
        out = np.where(out < 0, -1, out)
        out[outside] = -1
        invalid = out < 0
    else:
        x = flat if flat.dtype in (np.float32, np.float64) else flat.astype(np.float64)
        if method == "last" or n < 2:
            out = x[i0].copy() if n else np.full((target.size, flat.shape[1]), np.nan)
        else:
            i1 = np.minimum(i0 + 1, n - 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                w = np.where(i1 > i0, (target - t[i0]) / (t[i1] - t[i0]), 0.0)
            w = w.astype(x.dtype)[:, None]
            exact = (w == 0)[:, 0]
            out = x[i0] * (1 - w) + x[i1] * w
            out[exact] = x[i0[exact]]
        out[outside] = np.nan
        invalid = np.isnan(out)
    return out, int(invalid.any(axis=1).sum()), int(invalid.sum())


# --------------------------------------------------------------------------------------
# clock alignment
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ClockFit:
    """A linear map from the camera clock to the recording clock, fitted on sync pulses.

    ``recording = offset + slope * camera``, in seconds.

    Attributes
    ----------
    offset : float
        Recording time of camera time 0, in seconds.
    slope : float
        Recording seconds per camera second (``1 + drift``).
    camera_times, recording_times : ndarray
        The matched pulse pairs the fit used.
    residuals : ndarray
        ``recording_times - apply(camera_times)``, in seconds.
    n_unmatched_camera, n_unmatched_recording : int
        Pulses without a partner (dropped on the other side, or extra).

    Examples
    --------
    >>> clock = ClockFit(3.0, 1.0001)
    >>> clock.apply([0.0, 100.0]).tolist(), round(clock.drift_ppm, 3)
    ([3.0, 103.01], 100.0)
    >>> clock.inverse(clock.apply([12.5])).tolist()
    [12.5]
    """

    offset: float
    slope: float
    camera_times: np.ndarray = field(default_factory=lambda: np.empty(0))
    recording_times: np.ndarray = field(default_factory=lambda: np.empty(0))
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0))
    n_unmatched_camera: int = 0
    n_unmatched_recording: int = 0

    @property
    def drift_ppm(self) -> float:
        """Drift of the recording clock against the camera's, parts per million."""
        return (self.slope - 1.0) * 1e6

    @property
    def rms(self) -> float:
        """Root mean square of the residuals, in seconds (NaN without pulses)."""
        if self.residuals.size == 0:
            return float("nan")
        return float(np.sqrt(np.mean(self.residuals**2)))

    @property
    def n_matched(self) -> int:
        """Number of matched pulse pairs."""
        return int(self.camera_times.size)

    def apply(self, times: Any) -> np.ndarray:
        """Camera times -> recording times (seconds)."""
        return self.offset + self.slope * np.asarray(times, dtype=np.float64)

    def inverse(self, times: Any) -> np.ndarray:
        """Recording times -> camera times (seconds)."""
        return (np.asarray(times, dtype=np.float64) - self.offset) / self.slope

    def __repr__(self) -> str:
        return (
            f"ClockFit(offset={self.offset:.6f} s, slope={self.slope:.9f} "
            f"({self.drift_ppm:+.2f} ppm), rms={self.rms:.3g} s, {self.n_matched} pairs, "
            f"unmatched camera={self.n_unmatched_camera}, recording={self.n_unmatched_recording})"
        )


def _pulses(values: Any, name: str) -> np.ndarray:
    try:
        p = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise PoseDataError(f"{name}: expected pulse times in seconds, found {values!r}") from None
    if p.size < 3:
        raise PoseDataError(f"{name}: expected at least 3 pulse times, found {p.size}")
    if not np.all(np.isfinite(p)):
        raise PoseDataError(f"{name}: expected finite pulse times, found NaN or infinity")
    p = np.sort(p)
    if np.any(np.diff(p) <= 0):
        raise PoseDataError(f"{name}: expected distinct pulse times, found repeated times")
    return p


def _match(
    c: np.ndarray, r: np.ndarray, offset: float, slope: float, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) pairing each ``c[i]`` with the nearest ``r[j]`` within ``tol``, one-to-one."""
    pred = offset + slope * c
    j = np.clip(np.searchsorted(r, pred), 1, r.size - 1)
    left, right = r[j - 1], r[j]
    j = np.where(np.abs(pred - left) <= np.abs(right - pred), j - 1, j)
    d = np.abs(r[j] - pred)
    ok = np.flatnonzero(d <= tol)
    if ok.size == 0:
        return ok, ok
    jj, dd = j[ok], d[ok]
    order = np.lexsort((dd, jj))  # by recording pulse, closest first
    first = np.ones(order.size, dtype=bool)
    first[1:] = jj[order][1:] != jj[order][:-1]
    keep = np.sort(order[first])
    return ok[keep], jj[keep]


def _rounding(times: np.ndarray) -> float:
    """A residual below which times agree up to float rounding (1 ns at least)."""
    return max(1e-9, 64 * float(np.finfo(np.float64).eps) * float(np.abs(times).max()))


def _robust_line(x: np.ndarray, y: np.ndarray, floor: float) -> tuple[float, float, np.ndarray]:
    """Iteratively trimmed least squares ``y = a + b x``: (a, b, inlier mask).

    Each round fits the inliers, then keeps the pairs within 4 robust s.d. (1.4826
    MAD) of the median residual (at least ``floor``, the rounding error of the
    times), until the inliers stop changing.
    """
    inliers = np.ones(x.size, dtype=bool)
    a = b = 0.0
    for _ in range(10):
        xi, yi = x[inliers], y[inliers]
        xm, ym = float(xi.mean()), float(yi.mean())
        dx = xi - xm
        den = float(np.dot(dx, dx))
        b = float(np.dot(dx, yi - ym) / den) if den > 0 else 1.0
        a = ym - b * xm
        resid = y - (a + b * x)
        centre = float(np.median(resid[inliers]))
        scale = 1.4826 * float(np.median(np.abs(resid[inliers] - centre)))
        new = np.abs(resid - centre) <= max(4.0 * scale, floor)
        if new.sum() < 2 or np.array_equal(new, inliers):
            break
        inliers = new
    return a, b, inliers


def _initial_slope(dc: np.ndarray, dr: np.ndarray) -> float:
    """Slope from intervals: pairs of consecutive intervals with the same ratio on both clocks.

    The ratio of two consecutive intervals does not depend on the clocks, so each camera
    ratio is paired with the nearest recording ratio and gives a slope (recording
    interval / camera interval); the densest 0.1 % window of those slopes wins. Falls back
    on the ratio of the interval quantiles when fewer than 3 ratios pair up.
    """
    q = np.linspace(0.1, 0.5, 9)
    fallback = float(np.median(np.quantile(dr, q) / np.quantile(dc, q)))
    if dc.size < 2 or dr.size < 2:
        return fallback
    rc, rr = np.log(dc[1:] / dc[:-1]), np.log(dr[1:] / dr[:-1])
    order = np.argsort(rr)
    sorted_rr = rr[order]
    k = np.clip(np.searchsorted(sorted_rr, rc), 1, max(sorted_rr.size - 1, 1))
    k = np.where(
        np.abs(sorted_rr[k - 1] - rc) <= np.abs(sorted_rr[np.minimum(k, sorted_rr.size - 1)] - rc),
        k - 1,
        k,
    )
    k = np.minimum(k, sorted_rr.size - 1)
    close = np.abs(sorted_rr[k] - rc) < 0.01
    if close.sum() < 3:
        return fallback
    i, j = np.flatnonzero(close), order[k[close]]
    slopes = np.sort(np.log(np.concatenate([dr[j] / dc[i], dr[j + 1] / dc[i + 1]])))
    ends = np.searchsorted(slopes, slopes + 1e-3, side="right")
    start = int(np.argmax(ends - np.arange(slopes.size)))
    return float(np.exp(np.median(slopes[start : ends[start]])))


def _refine(
    c: np.ndarray,
    r: np.ndarray,
    offset: float,
    slope: float,
    tol: float,
    center: float,
    half: float,
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Match and fit on a window around ``center`` that doubles until it holds every pulse."""
    span = max(center - c[0], c[-1] - center)
    while True:
        lo, hi = np.searchsorted(c, [center - half, center + half], side="left")
        hi = max(hi, np.searchsorted(c, center + half, side="right"))
        sub = c[lo:hi]
        i, j = _match(sub, r, offset, slope, tol)
        if i.size >= 3:
            offset, slope, _ = _robust_line(sub[i], r[j], _rounding(r))
        elif i.size:
            offset = float(np.median(r[j] - slope * sub[i]))
        if half >= span:
            break
        half *= 2.0
    for _ in range(5):
        i, j = _match(c, r, offset, slope, tol)
        if i.size < 2:
            break
        new_offset, new_slope, _ = _robust_line(c[i], r[j], _rounding(r))
        converged = abs(new_slope - slope) * span + abs(new_offset - offset) < 1e-12 + 1e-9 * tol
        offset, slope = new_offset, new_slope
        if converged:
            break
    return offset, slope, i, j


def fit_clock(
    camera_pulses: Any, recording_pulses: Any, *, tolerance: float | str | None = None
) -> ClockFit:
    """Fit ``recording = offset + slope * camera`` from sync pulses seen on both clocks.

    The pulses need not pair one to one: pulses dropped on either side and extra
    pulses are left unmatched. The fit starts from a slope given by pairs of consecutive
    intervals whose ratio matches on both clocks and an offset voted by a dozen
    pulses from the middle of the camera train, then matches each camera pulse to
    the nearest recording pulse within ``tolerance`` in a window that doubles around
    those pulses, refitting a trimmed least-squares line (residuals beyond 4 robust
    s.d. left out) each time. Pulses at regular intervals align equally well at any
    whole number of intervals; among such alignments the one that matches the most
    pulses wins (then the one that best lines up the middles of the two trains).
    Jittered intervals make the alignment unique.

    Parameters
    ----------
    camera_pulses
        Pulse times on the camera clock (seconds; e.g. the frame times where an LED
        turns on), any order.
    recording_pulses
        The same pulses on the recording clock (seconds).
    tolerance
        Largest distance between a predicted and a matched recording pulse
        (default: 0.4 of the 10 % quantile of the camera intervals).

    Returns
    -------
    ClockFit
        The map, the matched pairs, residuals and the unmatched counts. Pairs whose
        residual exceeds 10 robust s.d. of the first fit are dropped in a last pass.

    Raises
    ------
    PoseDataError
        Naming the argument: fewer than 3 pulses, NaN, repeated times, or fewer than
        3 pulses matched.

    Examples
    --------
    >>> import numpy as np
    >>> camera = np.arange(100.0) + np.random.default_rng(0).uniform(0, 0.3, 100)
    >>> recording = 3.2 + 1.00005 * camera
    >>> clock = fit_clock(np.delete(camera, [10, 50]), np.delete(recording, [70]))
    >>> round(clock.offset, 6), round(clock.drift_ppm, 3), clock.n_matched
    (3.2, 50.0, 97)
    >>> clock.n_unmatched_camera, clock.n_unmatched_recording
    (1, 2)
    """
    c = _pulses(camera_pulses, "camera_pulses")
    r = _pulses(recording_pulses, "recording_pulses")
    dc, dr = np.diff(c), np.diff(r)
    slope0 = _initial_slope(dc, dr)
    if tolerance is None:
        tol = 0.4 * float(np.quantile(dc, 0.1)) * slope0
    else:
        tol = to_seconds(tolerance, name="tolerance")
        if tol <= 0:
            raise PoseDataError(f"tolerance: expected a positive duration, found {tolerance!r}")
    # votes for the offset from a dozen pulses in the middle of the camera train
    m = min(c.size, 12)
    a0 = (c.size - m) // 2
    anchors = c[a0 : a0 + m]
    diffs = np.sort((r[None, :] - slope0 * anchors[:, None]).ravel())
    votes = np.searchsorted(diffs, diffs + tol, side="right") - np.arange(diffs.size)
    best = int(votes.max())
    strong = np.flatnonzero(votes >= max(2, 0.8 * best)) if best >= 2 else np.argmax(votes)[None]
    window_offsets = diffs[strong] + 0.5 * tol
    centred = 0.5 * (r[0] + r[-1]) - slope0 * 0.5 * (c[0] + c[-1])
    order = np.argsort(np.abs(window_offsets - centred), kind="stable")
    candidates: list[float] = []
    for k in order:
        o = float(window_offsets[k])
        if all(abs(o - p) > 2 * tol for p in candidates):
            candidates.append(o)
        if len(candidates) == 3:
            break
    # each candidate: the median of the votes within the tolerance of it
    candidates = [
        float(np.median(diffs[np.searchsorted(diffs, o - tol) : np.searchsorted(diffs, o + tol)]))
        for o in candidates
    ]
    center = float(anchors.mean())
    half = 0.5 * float(anchors[-1] - anchors[0]) + float(np.median(dc))
    fits = []
    for rank, o in enumerate(candidates):
        offset, slope, i, j = _refine(c, r, o, slope0, tol, center, half)
        fits.append((-i.size, rank, offset, slope, i, j))
    _, _, offset, slope, i, j = min(fits, key=lambda f: (f[0], f[1]))
    if i.size < 3:
        raise PoseDataError(
            f"camera_pulses / recording_pulses: matched only {i.size} pulse pairs within "
            f"{tol:.3g} s; expected at least 3. Are both in seconds, of the same pulses?"
        )
    # last pass: leave out pairs far beyond the robust spread (extra pulses that landed
    # within the tolerance of a dropped pulse's place)
    resid = r[j] - (offset + slope * c[i])
    spread = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    final_tol = min(tol, max(10.0 * spread, _rounding(r)))
    i, j = _match(c, r, offset, slope, final_tol)
    if i.size >= 3:
        offset, slope, _ = _robust_line(c[i], r[j], _rounding(r))
    resid = r[j] - (offset + slope * c[i])
    return ClockFit(
        offset=float(offset),
        slope=float(slope),
        camera_times=c[i],
        recording_times=r[j],
        residuals=resid,
        n_unmatched_camera=int(c.size - i.size),
        n_unmatched_recording=int(r.size - j.size),
    )


def to_recording_clock(
    obj: xr.DataArray | xr.Dataset, clock: ClockFit
) -> xr.DataArray | xr.Dataset:
    """``obj`` with its ``time`` coordinate moved from the camera clock to the recording's.

    Parameters
    ----------
    obj
        A DataArray or Dataset with a ``time`` coordinate in seconds on the camera
        clock (a pose dataset, features, speed).
    clock
        The fit from :func:`fit_clock`.

    Returns
    -------
    xr.DataArray or xr.Dataset
        The same data; ``time`` is ``clock.apply(time)``, ``attrs["fps"]`` (when
        present) becomes frames per recording second, ``attrs["clock"]`` is
        ``"recording"`` and the log records offset, slope and residual rms.

    Raises
    ------
    PoseDataError
        If ``obj`` has no ``time``, its time is in frames, or it is already on the
        recording clock.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.zeros(3), dims="time", coords={"time": [0.0, 1.0, 2.0]})
    >>> to_recording_clock(da, ClockFit(10.0, 1.0)).time.values.tolist()
    [10.0, 11.0, 12.0]
    """
    if not isinstance(clock, ClockFit):
        raise PoseDataError(
            f"clock: expected a ClockFit (from fit_clock), found {type(clock).__name__}"
        )
    if not isinstance(obj, xr.DataArray | xr.Dataset) or "time" not in obj.dims:
        raise PoseDataError(
            "obj: expected a DataArray or Dataset with a time dimension, found "
            f"{type(obj).__name__}"
        )
    if obj.attrs.get("time_unit") == "frames":
        raise PoseDataError("obj: time is in frames; the clock maps seconds (load with fps=...)")
    if obj.attrs.get("clock") == "recording":
        raise PoseDataError("obj: attrs['clock'] says its time is already on the recording clock")
    new_time = clock.apply(time_seconds(obj))
    out = obj.assign_coords(time=new_time)
    out.attrs = dict(obj.attrs)
    if out.attrs.get("fps") is not None:
        out.attrs["fps"] = float(out.attrs["fps"]) / clock.slope
    out.attrs["clock"] = "recording"
    return append_log(
        out,
        "decode.to_recording_clock",
        offset=clock.offset,
        slope=clock.slope,
        rms=clock.rms,
        n_matched=clock.n_matched,
    )


# --------------------------------------------------------------------------------------
# design matrices
# --------------------------------------------------------------------------------------


def _lag_bins(lags: Any, step: float | None, name: str = "lags") -> list[int]:
    """Lags as whole bins: ints are bins, text and floats durations (sign kept)."""
    if isinstance(lags, int | str | float) and not isinstance(lags, bool):
        lags = [lags]
    try:
        items = list(lags)
    except TypeError:
        raise PoseDataError(f"{name}: expected a sequence of lags, found {lags!r}") from None
    if not items:
        raise PoseDataError(f"{name}: expected at least one lag, found none")
    out: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise PoseDataError(f"{name}: expected bins (int) or durations, found {item!r}")
        if isinstance(item, numbers.Integral):
            out.append(int(item))
            continue
        if isinstance(item, str):
            text = item.strip()
            sign = -1.0 if text.startswith("-") else 1.0
            seconds = sign * to_seconds(text.lstrip("+-").strip(), name=name)
        elif isinstance(item, numbers.Real) and math.isfinite(item):
            seconds = float(item)
        else:
            raise PoseDataError(f"{name}: expected bins (int) or durations, found {item!r}")
        if step is None or step <= 0:
            raise PoseDataError(
                f"{name}: {item!r} is a duration, which needs the bin width; give lags in bins "
                "(ints) or data with a time coordinate (or bin_size=...)"
            )
        out.append(round(seconds / step))
    if len(set(out)) != len(out):
        raise PoseDataError(f"{name}: expected distinct lags, found {out} (in bins)")
    return out


def _parse_basis(basis: Any, lags: list[int], name: str = "basis") -> np.ndarray | None:
    if basis is None:
        return None
    if (
        not isinstance(basis, tuple | list)
        or len(basis) != 2
        or basis[0] != "raised_cosine"
        or isinstance(basis[1], bool)
        or not isinstance(basis[1], numbers.Integral)
        or basis[1] < 1
    ):
        raise PoseDataError(
            f"{name}: expected None or ('raised_cosine', n) with n >= 1, found {basis!r}"
        )
    if sorted(lags) != list(range(min(lags), max(lags) + 1)):
        raise PoseDataError(
            f"{name}: a basis spans a window of consecutive lags, found lags {lags}; "
            "give e.g. range(-10, 1)"
        )
    n = int(basis[1])
    if n > len(lags):
        raise PoseDataError(f"{name}: {n} functions over {len(lags)} lags; use n <= {len(lags)}")
    return raised_cosine_basis(sorted(lags), n)


def raised_cosine_basis(lags: Sequence[int], n: int) -> np.ndarray:
    """``n`` raised-cosine bumps with evenly spaced centres over ``lags``: (len(lags), n).

    Bump ``k`` is ``(1 + cos(pi (lag - c_k) / d)) / 2`` within ``d`` of its centre
    ``c_k`` (``d`` the spacing of the centres) and 0 beyond, so the bumps sum to 1 at
    every lag; ``n = 1`` is a constant (the mean over the window).

    Parameters
    ----------
    lags
        The lags (in bins) the basis spans, in order.
    n
        Number of bumps (basis functions), at least 1.

    Returns
    -------
    np.ndarray
        ``(len(lags), n)`` weights; column ``k`` is bump ``k``.

    Examples
    --------
    >>> raised_cosine_basis(range(5), 3).round(2).tolist()
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    """
    lag = np.asarray(list(lags), dtype=np.float64)
    if n == 1:
        return np.ones((lag.size, 1))
    centres = np.linspace(lag.min(), lag.max(), n)
    spacing = centres[1] - centres[0]
    u = np.clip((lag[:, None] - centres[None, :]) / spacing, -1.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * u))


def _lagged(values: np.ndarray, lags: list[int], fill: float) -> np.ndarray:
    """(time, columns) -> (time, columns, lags): column ``f`` at row ``t + lag``."""
    n = values.shape[0]
    dtype = np.result_type(values.dtype, np.float32)
    out = np.full((n, values.shape[1], len(lags)), fill, dtype=dtype)
    for k, lag in enumerate(lags):
        if lag >= 0:
            if lag < n:
                out[: n - lag, :, k] = values[lag:]
        elif -lag < n:
            out[-lag:, :, k] = values[: n + lag]
    return out


def _column_labels(da: xr.DataArray) -> list[str]:
    """One name per column of ``da`` flattened after ``time``: features, then individuals."""
    dims = [d for d in da.dims if d != "time"]
    if not dims:
        return [str(da.name or "x")]
    grids = [
        [str(v) for v in da[d].values] if d in da.coords else [str(i) for i in range(da.sizes[d])]
        for d in dims
    ]
    names = [""]
    for k, grid in enumerate(grids):
        single = len(grid) == 1 and k > 0
        names = [f"{p}/{g}" if p else g for p in names for g in grid] if not single else names
    return names


def design_matrix(
    features: xr.DataArray | np.ndarray,
    lags: Any = (0,),
    basis: tuple[str, int] | None = None,
    *,
    drop_edges: bool = False,
) -> xr.DataArray:
    """Time-lagged predictors with named columns: ``speed@-2`` is speed two bins earlier.

    Parameters
    ----------
    features
        ``(time, ...)``: e.g. the output of :func:`align` or
        :func:`behavior.features.extract` ``(time, feature, individual)``; every
        combination of the other dimensions is a column (``mouse_1/speed`` when an
        individual dimension has more than one value), or a 2-D array.
    lags
        Lags in bins (ints, e.g. ``range(-5, 1)``) or durations (``"-100 ms"``,
        floats in seconds) rounded to the bin width of ``features``' time step.
        Column ``f@k`` holds ``f`` at row ``t + k``.
    basis
        ``("raised_cosine", n)``: instead of one column per lag, ``n`` columns
        ``f@rc0 ... f@rc{n-1}``, the lag window weighted by
        :func:`raised_cosine_basis` (the lags must be consecutive).
    drop_edges
        Rows whose lags fall outside the data are NaN (default); True drops them.

    Returns
    -------
    xr.DataArray
        ``(time, column)``, float; columns by feature, then lag (or basis function);
        ``attrs["lags"]`` holds the lags in bins.

    Raises
    ------
    PoseDataError
        Naming the argument: no time dimension, repeated lags, durations without a
        time step, a malformed basis.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> f = xr.DataArray(np.arange(5.0)[:, None], dims=("time", "feature"),
    ...                  coords={"time": np.arange(5) * 0.05, "feature": ["speed"]})
    >>> X = design_matrix(f, lags=[-1, 0, "50 ms"])
    >>> X.column.values.tolist()
    ['speed@-1', 'speed@0', 'speed@1']
    >>> X.values[:2].tolist()
    [[nan, 0.0, 1.0], [0.0, 1.0, 2.0]]
    """
    if isinstance(features, np.ndarray | list | tuple) and not isinstance(features, xr.DataArray):
        values = np.asarray(features, dtype=np.float64)
        if values.ndim != 2:
            raise PoseDataError(
                f"features: expected a 2-D array (time, features), found shape {values.shape}"
            )
        features = xr.DataArray(
            values,
            dims=("time", "feature"),
            coords={"feature": [f"x{i}" for i in range(values.shape[1])]},
        )
    if not isinstance(features, xr.DataArray) or "time" not in features.dims:
        raise PoseDataError(
            "features: expected a DataArray with a time dimension or a 2-D array, found "
            f"{type(features).__name__}"
            + (f" with dims {list(features.dims)}" if isinstance(features, xr.DataArray) else "")
        )
    features = features.transpose("time", ...)
    step = None
    if "time" in features.coords and features.sizes["time"] > 1:
        step = time_step(features)
        if features.attrs.get("time_unit") == "frames":
            step = 1.0 / fps_of(features, required="lags given as durations")
    lag_bins = _lag_bins(lags, step)
    weights = _parse_basis(basis, lag_bins)
    values = np.asarray(features.values)
    if not np.issubdtype(values.dtype, np.number) and values.dtype != bool:
        raise PoseDataError(f"features: expected numbers, found dtype {values.dtype}")
    flat = values.reshape(values.shape[0], -1)
    base = _column_labels(features)
    if weights is None:
        block = _lagged(flat, lag_bins, np.nan)
        names = [f"{b}@{k}" for b in base for k in lag_bins]
    else:
        ordered = sorted(lag_bins)
        block = _lagged(flat, ordered, np.nan) @ weights.astype(np.result_type(flat, np.float32))
        names = [f"{b}@rc{k}" for b in base for k in range(weights.shape[1])]
    matrix = block.reshape(flat.shape[0], -1)
    coords: dict[str, Any] = {"column": names}
    if "time" in features.coords:
        coords["time"] = features["time"].values
    out = xr.DataArray(matrix, dims=("time", "column"), coords=coords, name="design_matrix")
    out.attrs = {k: v for k, v in features.attrs.items() if k in ("fps", "time_unit", "log")}
    out.attrs["lags"] = lag_bins
    if drop_edges:
        lo, hi = min(lag_bins), max(lag_bins)
        start = max(0, -lo)
        out = out.isel(time=slice(start, max(start, out.sizes["time"] - max(0, hi))))
    return append_log(
        out, "decode.design_matrix", lags=lag_bins, basis=basis, drop_edges=drop_edges
    )


class LaggedFeatures(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: each column of ``X`` at several lags (and a basis).

    The :func:`design_matrix` of a 2-D array, for a :class:`~sklearn.pipeline.Pipeline`
    (``make_pipeline(LaggedFeatures(range(-5, 1), fill_value=0), RidgeCV())``) or as
    nemos input. Rows are taken as consecutive bins: inside cross-validation the
    training rows of several time blocks sit next to each other, so a few rows at
    each block boundary see lags from the neighbouring block (build the design matrix
    before splitting to avoid that).

    Parameters
    ----------
    lags
        Lags in bins, or durations with ``bin_size``; column ``f@k`` holds ``f`` at
        row ``t + k``.
    basis
        None, or ``("raised_cosine", n)`` (see :func:`design_matrix`).
    bin_size
        The width of a row, needed for lags given as durations.
    fill_value
        The value of lags outside the data: NaN by default (estimators that refuse
        NaN need ``fill_value=0.0`` or an imputer).

    Attributes
    ----------
    lags_ : list of int
    basis_ : ndarray or None
        ``(n_lags, n_functions)`` weights.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When ``X`` had column names (a DataFrame).

    Notes
    -----
    Rows are consecutive time bins, so the transform of a row depends on its
    neighbours: scikit-learn's sample-order and subset invariance checks do not apply.

    Examples
    --------
    >>> import numpy as np
    >>> lf = LaggedFeatures(lags=[-1, 0]).fit(np.arange(6.0).reshape(3, 2))
    >>> lf.get_feature_names_out().tolist()
    ['x0@-1', 'x0@0', 'x1@-1', 'x1@0']
    >>> lf.transform(np.arange(6.0).reshape(3, 2))[1].tolist()
    [0.0, 2.0, 1.0, 3.0]
    """

    def __init__(
        self,
        lags: Any = (0,),
        basis: tuple[str, int] | None = None,
        bin_size: float | str | None = None,
        fill_value: float = np.nan,
    ) -> None:
        self.lags = lags
        self.basis = basis
        self.bin_size = bin_size
        self.fill_value = fill_value

    def fit(self, X: Any, y: Any = None) -> LaggedFeatures:
        """Check the lags and basis; remember the number (and names) of the columns."""
        step = None if self.bin_size is None else to_seconds(self.bin_size, name="bin_size")
        self.lags_ = _lag_bins(self.lags, step)
        self.basis_ = _parse_basis(self.basis, self.lags_)
        validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        return self

    def transform(self, X: Any) -> np.ndarray:
        """``(n_rows, n_columns * n_lags)`` (or ``* n``, with a basis), float64."""
        if not hasattr(self, "lags_"):
            raise NotFittedError("LaggedFeatures: call fit before transform")
        values = validate_data(
            self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False
        )
        fill = float(self.fill_value)
        if self.basis_ is None:
            block = _lagged(values, self.lags_, fill)
        else:
            block = _lagged(values, sorted(self.lags_), fill) @ self.basis_
        return block.reshape(values.shape[0], -1)

    def __sklearn_tags__(self) -> Any:
        """NaN passes through; rows are consecutive time bins, so their order matters."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names ``f@lag`` (or ``f@rc{k}``), by input column then lag."""
        if not hasattr(self, "lags_"):
            raise NotFittedError("LaggedFeatures: call fit before get_feature_names_out")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        input_features = [str(f) for f in input_features]
        if len(input_features) != self.n_features_in_:
            raise PoseDataError(
                f"input_features: expected {self.n_features_in_} names, found {len(input_features)}"
            )
        if self.basis_ is None:
            names = [f"{f}@{k}" for f in input_features for k in self.lags_]
        else:
            names = [f"{f}@rc{k}" for f in input_features for k in range(self.basis_.shape[1])]
        return np.asarray(names, dtype=object)


def _warm_up() -> None:
    """Compile the binning kernels (float32, float64 and integer labels) once.

    Examples
    --------
    >>> _warm_up()
    """
    starts = np.array([0, 2], dtype=np.int64)
    stops = np.array([2, 4], dtype=np.int64)
    for dtype in (np.float32, np.float64):
        x = np.ones((4, 2), dtype=dtype)
        out = np.empty((2, 2), dtype=dtype)
        for last in (False, True):
            _bin_mean_kernel(x, starts, stops, 0.5, last, out, np.zeros(2, np.int64))
    codes = np.zeros((4, 2), dtype=np.int64)
    for last in (False, True):
        _bin_label_kernel(
            codes, starts, stops, 1, 0.5, last, np.empty((2, 2), np.int64), np.zeros(2, np.int64)
        )


# --------------------------------------------------------------------------------------
# the movement bridge: from_movement / to_movement
# --------------------------------------------------------------------------------------
#
# Facts about movement's poses dataset (neuroinformatics-unit/movement; its docs and
# validators, and ../shared/FORMATS.md section 7), no code taken from it:
# - position: float (time, space, keypoint, individual) in 0.17; the plural names
#   ``keypoints`` / ``individuals`` before 0.17, in the order (time, space, keypoints,
#   individuals) in the releases just before 0.17 and (time, individuals, keypoints,
#   space) in the early 0.0.x releases. Readers here go by dim name, never by order.
# - confidence: (time, keypoint, individual), NaN when the source had none.
# - coords: time (seconds when fps is known, else frame numbers), space x, y[, z],
#   keypoint and individual names (strings).
# - attrs: ds_type ("poses" or "bboxes"), source_software, time_unit ("seconds" or
#   "frames"), fps (only when known), source_file (only when loaded from a file),
#   log (a JSON string) where processing wrote one.

MOVEMENT_SCHEMAS = ("singular", "plural")
"""The two generations of movement's dim names accepted by :func:`to_movement`:
``singular`` (``keypoint`` / ``individual``, movement >= 0.17) and ``plural``
(``keypoints`` / ``individuals``, movement < 0.17)."""

_SINGULAR_DIMS = ("keypoint", "individual")
_PLURAL_DIMS = ("keypoints", "individuals")
_PLURAL_ORDER = ("time", "space", "keypoints", "individuals")


def _movement_schema(position: xr.DataArray) -> str:
    """``"singular"`` or ``"plural"`` from the dim names of movement's ``position``."""
    dims = set(position.dims)
    singular = [d for d in _SINGULAR_DIMS if d in dims]
    plural = [d for d in _PLURAL_DIMS if d in dims]
    missing_core = [d for d in ("time", "space") if d not in dims]
    if len(singular) == 2 and not plural and not missing_core:
        return "singular"
    if len(plural) == 2 and not singular and not missing_core:
        return "plural"
    raise PoseDataError(
        "ds: expected movement's position dims (time, space, keypoint, individual) "
        "(movement >= 0.17) or (time, space, keypoints, individuals) in any order "
        f"(movement < 0.17), found {list(position.dims)}"
    )


def _as_float(values: xr.DataArray, name: str) -> xr.DataArray:
    """``values`` as floats (integers become float64); anything else refused."""
    if np.issubdtype(values.dtype, np.floating):
        return values
    if np.issubdtype(values.dtype, np.bool_) or not np.issubdtype(values.dtype, np.number):
        raise PoseDataError(f"ds['{name}']: expected real numbers, found dtype {values.dtype}")
    if np.iscomplexobj(values):
        raise PoseDataError(f"ds['{name}']: expected real numbers, found dtype {values.dtype}")
    return values.astype(np.float64)


def from_movement(ds: xr.Dataset, *, fps: float | None = None) -> xr.Dataset:
    """A behavior pose dataset from a movement poses dataset of either schema generation.

    movement >= 0.17 (singular ``keypoint`` / ``individual``) is behavior's own
    layout; movement < 0.17 (plural ``keypoints`` / ``individuals``, in the order
    ``(time, space, keypoints, individuals)`` of the releases just before 0.17 or
    ``(time, individuals, keypoints, space)`` of the early 0.0.x ones) is renamed
    and reordered. The generation is read from the dim names, never from the order.

    Parameters
    ----------
    ds
        movement poses dataset: ``position`` with dims time, space, keypoint(s),
        individual(s); ``confidence`` optional; attrs ``fps``, ``time_unit``,
        ``source_software``, ``source_file``, ``ds_type`` as movement writes them.
        Other data variables are kept, their plural dims renamed.
    fps
        Frame rate to use when ``ds`` has none (``time_unit="frames"`` without
        ``attrs["fps"]``): frame numbers then become seconds, ``frame / fps``.
        Must agree with ``attrs["fps"]`` when both are given.

    Returns
    -------
    xr.Dataset
        A pose dataset validated by :func:`behavior.dataset.validate`: names,
        values, dtype, ``fps``, ``source_software`` and ``source_file`` kept;
        confidence NaN where ``ds`` had none (behavior's convention: "the source
        had no confidence"); ``time`` in seconds when the frame rate is known,
        else still frame numbers with ``time_unit="frames"`` (say ``fps=`` to
        convert). One ``decode.from_movement`` record is added to ``attrs["log"]``
        (a movement log that is not a JSON list is kept as ``attrs["movement_log"]``).

    Raises
    ------
    PoseDataError
        If ``ds`` is not a movement poses dataset: a bounding-box dataset
        (``ds_type="bboxes"``), no ``position``, dims of neither generation,
        non-numeric values, or an ``fps`` that contradicts ``attrs["fps"]``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> old = xr.Dataset(
    ...     {"position": (("time", "space", "keypoints", "individuals"), np.zeros((4, 2, 3, 1)))},
    ...     coords={"time": np.arange(4), "space": ["x", "y"],
    ...             "keypoints": ["nose", "neck", "tail"], "individuals": ["mouse"]},
    ...     attrs={"ds_type": "poses", "time_unit": "frames", "source_software": "SLEAP"},
    ... )
    >>> ds = from_movement(old, fps=2.0)
    >>> ds.position.dims, ds.time.values.tolist(), ds.attrs["fps"]
    (('time', 'space', 'keypoint', 'individual'), [0.0, 0.5, 1.0, 1.5], 2.0)
    """
    if not isinstance(ds, xr.Dataset):
        raise PoseDataError(
            f"ds: expected a movement poses dataset (xarray.Dataset), found {type(ds).__name__}"
        )
    ds_type = ds.attrs.get("ds_type", "poses")
    if ds_type != "poses":
        raise PoseDataError(
            f"ds: expected a movement poses dataset (attrs['ds_type'] == 'poses'), found "
            f"ds_type={ds_type!r}; bounding boxes have no keypoints to make poses of"
        )
    if "position" not in ds.data_vars:
        raise PoseDataError(
            f"ds: expected a 'position' variable (movement poses dataset), found variables "
            f"{list(ds.data_vars)}"
        )
    if "shape" in ds.data_vars and not {"keypoint", "keypoints"} & set(ds["position"].dims):
        raise PoseDataError(
            "ds: a movement bounding-box dataset ('position' and 'shape' without keypoints); "
            "expected a poses dataset"
        )
    schema = _movement_schema(ds["position"])
    out = singular_layout(ds)  # the netCDF reader's normaliser: plural renamed, dims ordered
    out["position"] = _as_float(out["position"], "position")
    extra = [d for d in out["position"].dims if d not in CORE_DIMS]
    conf_dims = (*extra, "time", "keypoint", "individual")
    if "confidence" in out.data_vars:
        confidence = out["confidence"]
        if set(confidence.dims) != set(conf_dims):
            raise PoseDataError(
                f"ds['confidence']: expected the dims of position without space "
                f"{[d if schema == 'singular' else d + 's' for d in conf_dims]}, "
                f"found {list(ds['confidence'].dims)}"
            )
        out["confidence"] = _as_float(confidence, "confidence")
        had_confidence = True
    else:
        shape = tuple(out.sizes[d] for d in conf_dims)
        out["confidence"] = (conf_dims, np.full(shape, np.nan, dtype=out["position"].dtype))
        had_confidence = False
    for dim in ("space", *_SINGULAR_DIMS):
        if dim in out.coords:
            out = out.assign_coords({dim: [str(v) for v in out[dim].values]})
        else:
            n = out.sizes[dim]
            prefix = {"space": None, "keypoint": "keypoint", "individual": "id"}[dim]
            if prefix is None:
                out = out.assign_coords(space=["x", "y", "z"][:n])
            else:
                out = out.assign_coords({dim: [f"{prefix}_{i}" for i in range(n)]})

    attrs = dict(out.attrs)
    own_fps = attrs.get("fps")
    if own_fps is not None:
        own_fps = check_fps(own_fps, "ds.attrs['fps']")
        attrs["fps"] = own_fps
    if fps is not None:
        fps = check_fps(fps, "fps")
        if own_fps is not None and not math.isclose(fps, own_fps, rel_tol=1e-9):
            raise PoseDataError(
                f"fps: {fps} contradicts ds.attrs['fps'] = {own_fps}; leave fps out to use "
                "the dataset's own"
            )
    if "time" not in out.coords:
        out = out.assign_coords(time=np.arange(out.sizes["time"]))
        attrs.setdefault("time_unit", "frames")
    time_values = np.asarray(out["time"].values)
    if not np.issubdtype(time_values.dtype, np.number):
        raise PoseDataError(
            f"ds['time']: expected seconds or frame numbers, found dtype {time_values.dtype}"
        )
    unit = attrs.get("time_unit")
    if unit is None:
        unit = "frames" if np.issubdtype(time_values.dtype, np.integer) else "seconds"
    if unit not in ("seconds", "frames"):
        raise PoseDataError(
            f"ds.attrs['time_unit']: expected 'seconds' or 'frames', found {unit!r}"
        )
    rate = own_fps if own_fps is not None else fps
    time_note = unit
    if unit == "frames" and rate is not None:
        out = out.assign_coords(time=time_values.astype(np.float64) / rate)
        unit, time_note = "seconds", f"frames / {rate}"
    elif unit == "frames":  # behavior counts frames in float64, as from_numpy does
        out = out.assign_coords(time=time_values.astype(np.float64))
        time_note = "frames (no fps known: say fps= to get seconds)"
    attrs["time_unit"] = unit
    if rate is not None:
        attrs["fps"] = rate
    attrs["ds_type"] = "poses"
    if attrs.get("source_software") in (None, ""):
        attrs["source_software"] = "unknown"
    attrs.setdefault("space_unit", "pixels")
    log = attrs.get("log")
    if log is not None and not isinstance(log, list):
        records = read_log(out)
        if records and records[0].get("operation") == "unparsed":
            attrs["movement_log"] = attrs.pop("log")
    out.attrs = attrs
    out = append_log(
        out,
        "decode.from_movement",
        schema=schema,
        confidence="given" if had_confidence else "missing (NaN)",
        time=time_note,
    )
    return validate(out)


def to_movement(ds: xr.Dataset, schema: str = "singular") -> xr.Dataset:
    """A movement poses dataset from a behavior pose dataset.

    Parameters
    ----------
    ds
        A pose dataset (:func:`behavior.dataset.validate` must accept it) with no
        dims beyond ``(time, space, keypoint, individual)``: select one member of
        an ``ensemble`` first.
    schema
        ``"singular"`` (default): movement >= 0.17, position
        ``(time, space, keypoint, individual)``, confidence
        ``(time, keypoint, individual)``. ``"plural"``: movement < 0.17 (the
        releases just before 0.17), position ``(time, space, keypoints,
        individuals)``, confidence ``(time, keypoints, individuals)``.

    Returns
    -------
    xr.Dataset
        ``position`` and ``confidence`` (NaN where ``ds`` had none), coords
        ``time``, ``space`` and the names, and the attrs movement expects:
        ``ds_type="poses"``, ``source_software``, ``time_unit``, ``fps`` (when
        known), ``source_file`` (when ``ds`` has one), ``log`` (a JSON string) and
        behavior's other netCDF-safe attrs. Other data variables are dropped.
        :func:`from_movement` gives ``ds``'s values, names and fps back exactly.

    Raises
    ------
    PoseDataError
        If ``ds`` is not a valid pose dataset, has extra dims, or ``schema`` is
        not one of :data:`MOVEMENT_SCHEMAS`.

    Examples
    --------
    >>> import numpy as np
    >>> from behavior.dataset import from_numpy
    >>> ds = from_numpy(np.zeros((4, 2, 3, 1)), fps=30, keypoint_names=["a", "b", "c"])
    >>> to_movement(ds).position.dims
    ('time', 'space', 'keypoint', 'individual')
    >>> to_movement(ds, schema="plural").confidence.dims
    ('time', 'keypoints', 'individuals')
    """
    if schema not in MOVEMENT_SCHEMAS:
        raise PoseDataError(f"schema: expected one of {list(MOVEMENT_SCHEMAS)}, found {schema!r}")
    validate(ds)
    extra = [d for d in ds["position"].dims if d not in CORE_DIMS]
    if extra:
        raise PoseDataError(
            f"ds: movement holds only (time, space, keypoint, individual); found extra dims "
            f"{extra} in position: select one first, e.g. ds.isel({extra[0]}=0)"
        )
    position = ds["position"].transpose(*CORE_DIMS).variable
    conf_dims = ("time", "keypoint", "individual")
    if "confidence" in ds.data_vars:
        confidence = ds["confidence"].transpose(*conf_dims).variable
    else:
        shape = tuple(ds.sizes[d] for d in conf_dims)
        confidence = xr.Variable(conf_dims, np.full(shape, np.nan, dtype=position.dtype))
    attrs = {k: v for k, v in ds.attrs.items() if v is not None}
    attrs["ds_type"] = "poses"
    attrs.setdefault("source_software", "unknown")
    in_frames = np.issubdtype(ds["time"].dtype, np.integer)
    attrs.setdefault("time_unit", "frames" if in_frames else "seconds")
    out = xr.Dataset(
        {"position": position, "confidence": confidence},
        coords={
            "time": ds["time"].values,
            "space": [str(v) for v in ds["space"].values],
            "keypoint": [str(v) for v in ds["keypoint"].values],
            "individual": [str(v) for v in ds["individual"].values],
        },
        attrs=attrs,
    )
    frames = out["time"].values
    if attrs["time_unit"] == "frames" and np.array_equal(frames, np.round(frames)):
        out = out.assign_coords(time=frames.astype(np.int64))  # movement's frame numbers
    out = append_log(out, "decode.to_movement", schema=schema)
    if schema == "plural":
        out = out.rename({s: p for s, p in zip(_SINGULAR_DIMS, _PLURAL_DIMS, strict=True)})
        out["position"] = out["position"].transpose(*_PLURAL_ORDER)
        out["confidence"] = out["confidence"].transpose("time", "keypoints", "individuals")
    return out


# --------------------------------------------------------------------------------------
# pynapple and NWB
# --------------------------------------------------------------------------------------

COLUMN_SEPARATOR = "|"
"""Joins the names of a column made of several dims (``"speed:nose|mouse_0"``) in
:func:`to_pynapple` and :func:`to_nwb`."""


def _flat_columns(da: xr.DataArray) -> tuple[np.ndarray, list[str], dict[str, list[Any]]]:
    """``da`` (time first) as a (time, column) array, the column names and, per non-time
    dim, the coordinate value of every column (C order: the last dim varies fastest)."""
    other = [d for d in da.dims if d != "time"]
    values = np.asarray(da.values).reshape(da.sizes["time"], -1)
    if not other:
        name = str(da.name) if da.name is not None else "value"
        return values, [name], {}
    coords = [
        [v.item() if isinstance(v, np.generic) else v for v in da[d].values]
        if d in da.coords
        else list(range(da.sizes[d]))
        for d in other
    ]
    grid = np.indices([len(c) for c in coords]).reshape(len(other), -1)
    metadata = {d: [coords[k][i] for i in grid[k]] for k, d in enumerate(other)}
    names = [
        COLUMN_SEPARATOR.join(str(metadata[d][j]) for d in other) for j in range(grid.shape[1])
    ]
    return values, names, metadata


def _seconds_of(x: xr.DataArray | xr.Dataset, name: str) -> np.ndarray:
    """``time`` in seconds (frame numbers divided by the frame rate), checked."""
    t = time_seconds(x)
    if x.attrs.get("time_unit") == "frames":
        t = t / fps_of(x, required=f"{name} (time in frames)")
    check_time(t, f"{name}.time")
    return t


def _ethogram_intervals(eth: Ethogram) -> dict[str, dict[str, pd.DataFrame]]:
    """Per individual and behavior, the bouts in seconds (start, end, other)."""
    bouts = eth.to_bouts()
    scale = 1.0
    if eth.attrs.get("time_unit") == "frames":
        scale = 1.0 / fps_of(eth.labels.assign_attrs(eth.attrs), required="ethogram")
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for individual in eth.individuals:
        mine = bouts[bouts["individual"].astype(str) == individual]
        out[individual] = {}
        for behavior in eth.behaviors:
            part = mine[mine["behavior"].astype(str) == behavior]
            out[individual][behavior] = pd.DataFrame(
                {
                    "start": part["start"].to_numpy(float) * scale,
                    "end": part["stop"].to_numpy(float) * scale,
                    "individual": part["individual"].astype(str).to_numpy(),
                    "other": part["other"].fillna("").astype(str).to_numpy(),
                }
            )
    return out


def to_pynapple(x: xr.DataArray | xr.Dataset | Ethogram) -> Any:
    """Features, kinematics or an ethogram as pynapple objects.

    Parameters
    ----------
    x
        - a DataArray with a ``time`` dimension (seconds, or frames with a known
          ``fps``): a ``Tsd`` when time is its only dim, else a ``TsdFrame`` with
          one column per combination of the other dims (``(time, feature,
          individual)`` features give columns ``"speed:nose|mouse_0"``, ...,
          the last dim varying fastest). Every other dim's coordinate value is
          kept per column as pynapple metadata (``frame.feature``,
          ``frame.individual``), so :func:`from_pynapple` rebuilds the array.
        - a Dataset: its variables with a ``time`` dim side by side in one
          ``TsdFrame``, with a ``variable`` metadata column (a dim a variable
          lacks holds ``""``).
        - an :class:`~behavior.ethogram.Ethogram`: a dict of ``IntervalSet``, one
          per behavior (every behavior, empty where it has no bout), with the
          ``individual`` and ``other`` (partner, ``""`` = none) of every bout as
          metadata. With several individuals, a dict per individual of such
          dicts: bouts of one behavior by two animals overlap, and pynapple
          merges overlapping intervals (losing their labels). Point events have
          no duration and are left out (pynapple drops empty intervals).

    Returns
    -------
    pynapple.Tsd, pynapple.TsdFrame or dict
        Times in seconds.

    Raises
    ------
    PoseDataError
        If ``x`` is none of these or has no usable time.
    MissingDependencyError
        If pynapple is not installed (``pip install 'behavior[pynapple]'``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> speed = xr.DataArray(np.ones((3, 2)), dims=("time", "individual"),
    ...                      coords={"time": [0.0, 0.1, 0.2], "individual": ["a", "b"]})
    >>> frame = to_pynapple(speed)  # doctest: +SKIP
    >>> list(frame.columns), frame.individual.tolist()  # doctest: +SKIP
    (['a', 'b'], ['a', 'b'])
    """
    nap = require_module("pynapple", "pynapple", "Converting to pynapple")
    if isinstance(x, Ethogram):
        per = {
            ind: {
                behavior: nap.IntervalSet(
                    start=t["start"].to_numpy(),
                    end=t["end"].to_numpy(),
                    metadata={"individual": t["individual"].tolist(), "other": t["other"].tolist()}
                    if len(t)
                    else None,
                )
                for behavior, t in tables.items()
            }
            for ind, tables in _ethogram_intervals(x).items()
        }
        return next(iter(per.values())) if len(per) == 1 else per
    if isinstance(x, xr.Dataset):
        names = [v for v in x.data_vars if "time" in x[v].dims]
        if not names:
            raise PoseDataError(
                f"x: expected a Dataset with variables over time, found {list(x.data_vars)}"
            )
        t = _seconds_of(x, "x")
        parts = [_flat_columns(x[v].transpose("time", ...).rename(v)) for v in names]
        dims = list(dict.fromkeys(d for _, _, meta in parts for d in meta))
        metadata: dict[str, list[Any]] = {"variable": []}
        metadata.update({d: [] for d in dims})
        columns: list[str] = []
        for v, (_, cols, meta) in zip(names, parts, strict=True):
            n = len(cols)
            metadata["variable"] += [v] * n
            for d in dims:
                metadata[d] += meta.get(d, [""] * n)
            columns += [v if c == v else f"{v}{COLUMN_SEPARATOR}{c}" for c in cols]
        data = np.concatenate([np.asarray(p[0], dtype=np.float64) for p in parts], axis=1)
        return nap.TsdFrame(t=t, d=data, columns=columns, metadata=metadata)
    if not isinstance(x, xr.DataArray) or "time" not in x.dims:
        raise PoseDataError(
            "x: expected a DataArray or Dataset with a time dimension, or an Ethogram, "
            f"found {type(x).__name__}"
        )
    t = _seconds_of(x, "x")
    x = x.transpose("time", ...)
    if x.ndim == 1:
        return nap.Tsd(t=t, d=np.asarray(x.values))
    values, columns, metadata = _flat_columns(x)
    return nap.TsdFrame(t=t, d=values, columns=columns, metadata=metadata)


def _infer_fps(t: np.ndarray) -> float | None:
    """The frame rate of regularly spaced times (relative spread under 1e-6), else None."""
    if t.size < 2:
        return None
    steps = np.diff(t)
    step = float(np.median(steps))
    if step <= 0 or np.max(np.abs(steps - step)) > 1e-6 * step:
        return None
    return float(f"{1.0 / step:.10g}")


def _unflatten(
    t: np.ndarray, values: np.ndarray, columns: list[Any], metadata: pd.DataFrame
) -> xr.DataArray:
    """A (time, column) array back into its dims when the metadata spans a full grid."""
    dims = [d for d in metadata.columns if not (metadata[d].astype(str) == "").all()]
    fps = _infer_fps(t)
    attrs: dict[str, Any] = {"time_unit": "seconds"}
    if fps is not None:
        attrs["fps"] = fps
    if dims:
        levels = [list(dict.fromkeys(metadata[d].tolist())) for d in dims]
        shape = tuple(len(level) for level in levels)
        if int(np.prod(shape)) == len(columns):
            grid = np.indices(shape).reshape(len(dims), -1)
            expected = [[levels[k][i] for i in grid[k]] for k in range(len(dims))]
            if all(metadata[d].tolist() == expected[k] for k, d in enumerate(dims)):
                return xr.DataArray(
                    values.reshape(t.size, *shape),
                    dims=("time", *dims),
                    coords={"time": t, **dict(zip(dims, levels, strict=True))},
                    attrs=attrs,
                )
    coords: dict[str, Any] = {"time": t, "column": [str(c) for c in columns]}
    coords.update({d: ("column", metadata[d].tolist()) for d in metadata.columns})
    return xr.DataArray(values, dims=("time", "column"), coords=coords, attrs=attrs)


def from_pynapple(
    obj: Any, *, time: Any = None, fps: float | None = None, exclusive: bool = False
) -> xr.DataArray | xr.Dataset | Ethogram:
    """pynapple objects back as behavior's DataArrays, Datasets and ethograms.

    Parameters
    ----------
    obj
        - ``Tsd``: a DataArray over ``time``.
        - ``TsdFrame``: a DataArray whose dims are rebuilt from the metadata
          :func:`to_pynapple` wrote (``(time, feature, individual)`` again), or
          ``(time, column)`` with the metadata as coordinates along ``column``
          when it spans no full grid (or there is none). With a ``variable``
          metadata column, a Dataset of those variables.
        - ``TsdTensor``: a DataArray ``(time, dim_1, ...)``.
        - ``IntervalSet``, a dict of them (behavior -> IntervalSet), or a dict
          of such dicts (individual -> behavior -> IntervalSet): an
          :class:`~behavior.ethogram.Ethogram` with a frame every ``1 / fps``
          seconds (or at ``time``). A bout covers the frames whose time lies in
          ``[start, end)``. The individual is the ``individual`` metadata, else the
          outer dict key, else ``"individual_0"``; a lone IntervalSet's behavior
          is its ``behavior`` metadata, else ``"behavior"``.
    time
        Ethograms: the frame times (an array, or a DataArray / Dataset whose
        time, fps and individual names are used).
    fps
        Ethograms: the frame rate when ``time`` is not given (frames from 0 s to
        the last interval's end).
    exclusive
        Ethograms: whether at most one behavior holds per frame and individual
        (checked), as for :meth:`Ethogram.from_bouts`.

    Returns
    -------
    xr.DataArray, xr.Dataset or Ethogram
        Times in seconds; ``attrs["fps"]`` when the times are regular.

    Raises
    ------
    PoseDataError
        For an object of another type, or intervals without ``time`` or ``fps``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> speed = xr.DataArray(np.ones((3, 2)), dims=("time", "individual"),
    ...                      coords={"time": [0.0, 0.1, 0.2], "individual": ["a", "b"]})
    >>> back = from_pynapple(to_pynapple(speed))  # doctest: +SKIP
    >>> back.dims, back.individual.values.tolist(), back.attrs["fps"]  # doctest: +SKIP
    (('time', 'individual'), ['a', 'b'], 10.0)
    """
    nap = require_module("pynapple", "pynapple", "Converting from pynapple")
    if isinstance(obj, nap.IntervalSet | dict):
        return _intervals_to_ethogram(nap, obj, time, fps, exclusive)
    if isinstance(obj, nap.TsdFrame):
        t = np.asarray(obj.times(), dtype=np.float64)
        values = np.asarray(obj.values)
        columns = list(obj.columns)
        metadata = obj.metadata if obj.metadata is not None else pd.DataFrame(index=columns)
        metadata = pd.DataFrame(metadata).reset_index(drop=True)
        if "variable" not in metadata.columns:
            return _unflatten(t, values, columns, metadata)
        variables: dict[str, xr.DataArray] = {}
        for v in dict.fromkeys(metadata["variable"].tolist()):
            pick = np.flatnonzero(metadata["variable"].to_numpy() == v)
            part = _unflatten(
                t,
                values[:, pick],
                [columns[i] for i in pick],
                metadata.drop(columns="variable").iloc[pick].reset_index(drop=True),
            )
            if part.dims == ("time", "column"):
                part = part.rename(column=f"{v}_column")
            variables[str(v)] = part
        attrs = next(iter(variables.values())).attrs
        return xr.Dataset(variables, attrs=attrs)
    if isinstance(obj, nap.Tsd | nap.TsdTensor):
        t = np.asarray(obj.times(), dtype=np.float64)
        values = np.asarray(obj.values)
        dims = ("time", *[f"dim_{i}" for i in range(1, values.ndim)])
        fps_found = _infer_fps(t)
        attrs = {"time_unit": "seconds", **({"fps": fps_found} if fps_found else {})}
        return xr.DataArray(values, dims=dims, coords={"time": t}, attrs=attrs)
    raise PoseDataError(
        "obj: expected a pynapple Tsd, TsdFrame, TsdTensor, IntervalSet or a dict of "
        f"IntervalSets, found {type(obj).__name__}"
    )


def _intervals_to_ethogram(
    nap: Any, obj: Any, time: Any, fps: float | None, exclusive: bool
) -> Ethogram:
    """IntervalSets (alone, per behavior, or per individual and behavior) as an Ethogram."""
    if isinstance(obj, nap.IntervalSet):
        meta = obj.metadata if obj.metadata is not None else pd.DataFrame()
        name = str(meta["behavior"].iloc[0]) if "behavior" in meta and len(meta) else "behavior"
        obj = {name: obj}
    nested = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            nested[str(key)] = value
        elif isinstance(value, nap.IntervalSet):
            nested.setdefault(None, {})[str(key)] = value
        else:
            raise PoseDataError(
                f"obj[{key!r}]: expected an IntervalSet or a dict of them, "
                f"found {type(value).__name__}"
            )
    rows = []
    behaviors: list[str] = []
    individuals: list[str] = []
    for ind, tables in nested.items():
        if ind is not None:
            individuals.append(ind)
        for behavior, intervals in tables.items():
            if not isinstance(intervals, nap.IntervalSet):
                raise PoseDataError(
                    f"obj[{ind!r}][{behavior!r}]: expected an IntervalSet, "
                    f"found {type(intervals).__name__}"
                )
            behaviors.append(str(behavior))
            meta = intervals.metadata
            meta = pd.DataFrame(meta).reset_index(drop=True) if meta is not None else None
            starts, ends = np.asarray(intervals.start), np.asarray(intervals.end)
            for k in range(starts.size):
                who = ind
                if meta is not None and "individual" in meta and str(meta["individual"][k]):
                    who = str(meta["individual"][k])
                other = str(meta["other"][k]) if meta is not None and "other" in meta else ""
                rows.append((who or "individual_0", other, str(behavior), starts[k], ends[k]))
    bouts = pd.DataFrame(rows, columns=["individual", "other", "behavior", "start", "stop"])
    if not (bouts["other"] != "").any():
        bouts = bouts.drop(columns="other")
    for who in bouts["individual"]:
        if who not in individuals:
            individuals.append(who)
    if time is None:
        if fps is None:
            raise PoseDataError(
                "time / fps: intervals carry no frame times; give time=... (frame times, or "
                "the dataset) or fps=... (frames from 0 s to the last interval's end)"
            )
        fps = check_fps(fps, "fps")
        end = float(bouts["stop"].max()) if len(bouts) else 0.0
        time = np.arange(max(1, math.ceil(end * fps - 1e-6))) / fps
    elif fps is None and isinstance(time, xr.DataArray | xr.Dataset):
        fps = time.attrs.get("fps")
    if isinstance(time, xr.DataArray | xr.Dataset) and "individual" in time.coords:
        names = [str(i) for i in time["individual"].values]
        individuals = names + [i for i in individuals if i not in names]
    return Ethogram.from_bouts(
        bouts,
        time,
        behaviors=list(dict.fromkeys(behaviors)),
        individuals=individuals or ["individual_0"],
        exclusive=exclusive,
        fps=fps,
    )


def _feature_series(features: Any) -> dict[str, xr.DataArray]:
    """``features`` (a DataArray, a Dataset or a mapping) as named DataArrays over time."""
    if isinstance(features, xr.DataArray):
        items = {str(features.name) if features.name is not None else "features": features}
    elif isinstance(features, xr.Dataset):
        items = {str(v): features[v] for v in features.data_vars if "time" in features[v].dims}
    elif isinstance(features, dict):
        items = {str(k): v for k, v in features.items()}
    else:
        raise PoseDataError(
            "features: expected a DataArray, a Dataset or a dict of DataArrays over time, "
            f"found {type(features).__name__}"
        )
    for name, da in items.items():
        if not isinstance(da, xr.DataArray) or "time" not in da.dims:
            raise PoseDataError(
                f"features[{name!r}]: expected a DataArray with a time dimension, "
                f"found {type(da).__name__} {getattr(da, 'dims', '')}"
            )
    return items


def to_nwb(
    path: str | Path,
    poses: xr.Dataset | None = None,
    features: Any = None,
    ethogram: Ethogram | None = None,
    *,
    append: bool = False,
    processing_module: str = "behavior",
    table: str = "behavior",
    session_description: str = "behavior written by behavior",
    subject_id: str | None = None,
) -> Path:
    """Write poses, features and an ethogram into one NWB file, new or a session's own.

    - ``poses`` through the ndx-pose writer of :mod:`behavior.io.nwb` (a
      ``PoseEstimation`` per individual in ``processing/<processing_module>``);
    - ``features`` as one NWB ``TimeSeries`` per DataArray in the same module,
      ``data`` (time, column) with the columns of :func:`to_pynapple`
      (``"speed:nose|mouse_0"``, ...); the column names and each column's
      coordinates are in the series' ``comments`` as JSON (``{"columns": [...],
      "coords": {"feature": [...], ...}}``), since NWB has no column names;
    - ``ethogram`` as one ``TimeIntervals`` table per behavior,
      ``intervals/<table>_<behavior>`` (:mod:`behavior.io.annotations.nwb`),
      with ``individual`` and ``behavior`` columns and times on the session's
      own clock. pynapple reads each table as one ``IntervalSet``: write one
      animal's ethogram (``eth.sel(individual=...)``) when the bouts of two
      animals overlap, since pynapple merges overlapping intervals.

    ``nap.load_file(path)`` then gives the features as ``TsdFrame`` s and every
    behavior's bouts as an ``IntervalSet``; :func:`behavior.load_poses` and
    :func:`behavior.load_annotations` read the poses and the ethogram back.

    Parameters
    ----------
    path
        The ``.nwb`` file.
    poses
        A pose dataset (no ``ensemble`` dim), or None.
    features
        A DataArray over ``time`` (named by its ``name``, else ``"features"``), a
        Dataset (one series per variable over time) or a dict name -> DataArray.
        Times in seconds (or frames with ``fps``).
    ethogram
        An :class:`~behavior.ethogram.Ethogram` with a known fps, or None.
    append
        False: a new file (an existing ``path`` is replaced, atomically). True:
        add to the NWB file at ``path`` without touching what is there (written
        on a verified copy that replaces it in one rename; any name already
        taken is refused and the file stays as it was); a new file when
        ``path`` does not exist.
    processing_module
        Where poses and features go (created when missing).
    table
        Prefix of the intervals tables.
    session_description, subject_id
        Metadata of a new file (``subject_id`` as for the pose writer).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    PoseDataError
        Nothing to write, or an input of the wrong kind.
    FileFormatError
        ``append=True`` on a file that is not NWB, or a name already in it.
    MissingDependencyError
        If pynwb or ndx-pose is missing (``pip install 'behavior[nwb]'``).

    Examples
    --------
    >>> to_nwb("session.nwb", poses=ds, features=feats, ethogram=eth)  # doctest: +SKIP
    PosixPath('session.nwb')
    >>> to_nwb("recording.nwb", features=speed, append=True)  # doctest: +SKIP
    PosixPath('recording.nwb')
    """
    import shutil
    import uuid
    from datetime import UTC, datetime

    from behavior.io.annotations.nwb import add_intervals, interval_tables
    from behavior.io.nwb import add_poses, append_to_file
    from behavior.io.registry import atomic_path, hdf5_in_memory

    pynwb = require_module("pynwb", "nwb", "Writing NWB files")
    if poses is not None:  # registered before any file is opened (see io.nwb.append_to_file)
        require_module("ndx_pose", "nwb", "Writing NWB pose estimates")
    if poses is None and features is None and ethogram is None:
        raise PoseDataError("poses / features / ethogram: nothing to write; give at least one")
    if poses is not None:
        validate(poses)
    series = _feature_series(features) if features is not None else {}
    if ethogram is not None:
        if not isinstance(ethogram, Ethogram):
            raise PoseDataError(f"ethogram: expected an Ethogram, found {type(ethogram).__name__}")
        if ethogram.fps is None:
            raise PoseDataError(
                "ethogram: NWB intervals are in seconds and the ethogram has no fps; build it "
                "with fps= or set ethogram.attrs['fps']"
            )
    path = Path(path)
    module_description = "processed behavioral data"

    def time_series() -> list[Any]:
        out = []
        for name, da in series.items():
            da = da.transpose("time", ...)
            values, columns, coords = _flat_columns(da)
            comments = {"columns": columns, "dims": [str(d) for d in da.dims[1:]]}
            comments["coords"] = {str(d): [str(v) for v in c] for d, c in coords.items()}
            out.append(
                pynwb.TimeSeries(
                    name=name,
                    data=np.asarray(values, dtype=np.float64),
                    unit=str(da.attrs.get("units", da.attrs.get("unit", "n/a"))),
                    timestamps=_seconds_of(da, f"features[{name!r}]"),
                    description=(
                        f"{len(columns)} behavior feature column(s) over time, written by "
                        "behavior; column names and coordinates in comments (JSON)"
                    ),
                    comments=json.dumps(comments),
                )
            )
        return out

    def add_all(nwb: Any) -> None:
        if poses is not None:
            add_poses(nwb, poses, subject_id=subject_id, processing_module=processing_module)
        if series:
            if processing_module in nwb.processing:
                module = nwb.processing[processing_module]
            else:
                module = nwb.create_processing_module(
                    name=processing_module, description=module_description
                )
            for ts in time_series():
                module.add(ts)

    def verify(tmp: Path) -> None:  # every object written is there, of the right size
        with pynwb.NWBHDF5IO(str(tmp), "r") as io:
            nwb = io.read()
            for name, da in series.items():
                ts = nwb.processing[processing_module][name]
                if ts.data.shape[0] != da.sizes["time"]:
                    raise FileFormatError(
                        f"features[{name!r}]: wrote {da.sizes['time']} times, "
                        f"read back {ts.data.shape[0]}"
                    )
            if ethogram is not None:
                wanted = {t.name: len(t) for t in tables}
                got = {n: len(nwb.intervals[n]) for n in wanted if n in (nwb.intervals or {})}
                if got != wanted:
                    raise FileFormatError(f"intervals: wrote {wanted}, read back {got}")
            if poses is not None and processing_module not in nwb.processing:
                raise FileFormatError(f"poses: no processing module {processing_module!r}")

    tables = interval_tables(ethogram, table, session_times=True) if ethogram is not None else []
    adding = append and path.exists()
    with atomic_path(path, verify=verify) as tmp:
        if adding:
            shutil.copyfile(path, tmp)  # path is untouched until the verified rename
            if tables:
                add_intervals(tmp, tables)
            if poses is not None or series:
                append_to_file(tmp, add_all)
        else:
            nwb = pynwb.NWBFile(
                session_description=session_description,
                identifier=str(uuid.uuid4()),
                session_start_time=datetime.now(UTC),
            )
            add_all(nwb)
            for intervals in tables:
                nwb.add_time_intervals(intervals)
            with hdf5_in_memory(tmp) as f, pynwb.NWBHDF5IO(file=f, mode="w") as io:
                io.write(nwb)
    logger.info(
        "wrote %s (poses, features %s, ethogram tables %d)", path, list(series), len(tables)
    )
    return path
