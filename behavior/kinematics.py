"""Kinematics of pose tracks: calibration, body frame, derivatives, angles, lengths.

Every function is pure: it takes a pose :class:`xarray.Dataset` or its
``position`` DataArray, checks the dimensions it needs by name, and returns a new
object that keeps the ``time`` coordinate and every other coordinate and
attribute of its input, plus one record in ``attrs["log"]``. They work for any
number of individuals and keypoints, for 2-D and 3-D positions, and with extra
dimensions (an ``ensemble`` of model seeds).

Conventions
-----------
- Positions are in the dataset's space unit (pixels until :func:`calibrate`),
  and derivatives are per unit of the ``time`` coordinate: per second when time
  is in seconds, per frame when it counts frames. Irregular timestamps are
  honoured.
- Image coordinates: x grows to the right, y downwards. An angle of 0 points
  along +x, and a positive angle turns from +x towards +y, which is *clockwise
  on the screen*. Angles are radians unless a function takes ``degrees=True``.
- Derivatives are numpy's second-order central differences on the time
  coordinate with one-sided first-order differences at the two ends (as
  :func:`numpy.gradient` and movement's ``compute_velocity``; ``edge_order=2``
  gives second-order ends).

NaN policy, in one place
------------------------
NaN is missing data and is never filled here. A derivative at frame ``t`` uses
frames ``t - 1``, ``t`` and ``t + 1`` (on exactly uniform timestamps only
``t - 1`` and ``t + 1``): it is NaN when one of them is missing, so a gap of
missing frames grows by one frame on each side. Geometric quantities (heading,
angles, distances, egocentric coordinates) are NaN in the frames where a point
they need is missing. :func:`centroid` averages the keypoints present in each
frame. :func:`path_length` states its policy in ``nan_policy``.

The work is vectorised numpy, done in blocks of frames so that the temporary
arrays stay small whatever the length of the session; the hot paths (derivatives,
speed, path length) are numba kernels (``cache=True``, frames in
parallel) with the same floating-point operations in the same order, compiled
by :func:`_warm_up`.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numba
import numpy as np
import xarray as xr

from behavior._pose import (
    Gradient,
    blocks,
    float64_view,
    float_values,
    moved,
    position_of,
    rotate,
    unwrap,
)
from behavior._pose import warm_up as warm_up_pose
from behavior.dataset import append_log, require_dims, time_seconds
from behavior.errors import PoseDataError

__all__ = [
    "acceleration",
    "allocentric",
    "angular_velocity",
    "body_heading",
    "body_length",
    "calibrate",
    "centroid",
    "displacement",
    "egocentric",
    "joint_angle",
    "keypoint_distances",
    "path_length",
    "rigid_motion",
    "speed",
    "velocity",
]

logger = logging.getLogger(__name__)

_UNIT_PER_CM = {"cm": 1.0, "mm": 10.0, "m": 0.01}
_EGO_COORDS = ("ego_origin", "ego_heading")


# --------------------------------------------------------------------------------------
# numba kernels and module helpers (the shared ones are in behavior._pose)
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _speed_kernel(f, uniform, den, a, b, c, out):  # pragma: no cover - numba
    """Interior rows of the norm over axis 1 of numpy.gradient of ``f`` (n, space, m)."""
    n, n_space, m = f.shape
    for i in numba.prange(1, n - 1):
        ai = a[i - 1] if not uniform else 0.0
        bi = b[i - 1] if not uniform else 0.0
        ci = c[i - 1] if not uniform else 0.0
        for k in range(m):
            acc = 0.0
            for d in range(n_space):
                if uniform:
                    v = (f[i + 1, d, k] - f[i - 1, d, k]) / den
                else:
                    v = ai * f[i - 1, d, k] + bi * f[i, d, k] + ci * f[i + 1, d, k]
                if d == 0:
                    acc = v * v
                else:
                    acc += v * v
            out[i, k] = math.sqrt(acc)


@numba.njit(cache=True, parallel=True)
def _path_kernel(f, ffill, block, n_chunks, total, counted, n_missing):  # pragma: no cover
    """Path length sums of ``f`` (n, space, m) for every column, in blocks of frames.

    ``ffill``: a missing coordinate stays at its last valid value (NaN before
    the first one); else steps are plain differences with the previous frame.
    Step norms are summed within each block of ``block`` frames and the block
    sums added to ``total``, the order of the block-wise numpy version. Runs of
    columns go to threads in parallel.
    """
    n, n_space, m = f.shape
    width = max(1, (m + n_chunks - 1) // n_chunks)
    n_runs = (m + width - 1) // width
    for run in numba.prange(n_runs):
        lo = run * width
        hi = min(m, lo + width)
        last = np.full((n_space, hi - lo), np.nan)
        part = np.zeros(hi - lo)
        for s in range(0, n, block):
            e = min(n, s + block)
            for k in range(hi - lo):
                part[k] = 0.0
            for i in range(s, e):
                for k in range(hi - lo):
                    col = lo + k
                    acc = 0.0
                    gap = False
                    for d in range(n_space):
                        x = f[i, d, col]
                        prev = last[d, k]
                        if x != x:
                            gap = True
                            step = (0.0 if prev == prev else np.nan) if ffill else np.nan
                            if not ffill:
                                last[d, k] = x
                        else:
                            step = x - prev
                            last[d, k] = x
                        if d == 0:
                            acc = step * step
                        else:
                            acc += step * step
                    norm = math.sqrt(acc)
                    if gap:
                        n_missing[col] += 1
                    if norm == norm:
                        counted[col] += 1
                        part[k] += norm
            for k in range(hi - lo):
                total[lo + k] += part[k]


def _threads() -> int:
    return int(numba.get_num_threads())


def _warm_up() -> None:
    """Compile the numba kernels of this module on tiny inputs (once per process)."""
    f = np.array([[0.0, 1.0], [np.nan, 2.0], [2.0, np.nan], [3.0, 4.0], [4.0, 5.0]])
    one = np.ones(1)
    warm_up_pose()
    _speed_kernel(f.reshape(5, 2, 1), True, 2.0, one, one, one, np.empty((5, 1)))
    total = np.zeros(1)
    counted = np.zeros(1, dtype=np.int64)
    _path_kernel(f.reshape(5, 2, 1), True, 2, 2, total, counted, counted.copy())


def _require_keypoints(da: xr.DataArray, names: Sequence[Hashable], arg: str) -> None:
    require_dims(da, "keypoint", name="position")
    available = [str(k) for k in da["keypoint"].values]
    if len(names) == 0:
        raise PoseDataError(
            f"{arg}: expected at least one keypoint name, found none; the dataset has "
            f"keypoints {available}"
        )
    for name in names:
        if str(name) not in available:
            raise PoseDataError(
                f"{arg}: keypoint {name!r} not found; the dataset has keypoints {available}"
            )


def _keypoint_list(value: Any, arg: str) -> list[Hashable]:
    """Keypoint names given as one name or a sequence of names, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, bytes):
        names = list(np.ravel(np.asarray(value, dtype=object)))
        if all(isinstance(n, str | np.str_) for n in names):
            return names
    raise PoseDataError(
        f"{arg}: expected a keypoint name or a list of names, found {type(value).__name__} "
        f"{value!r}"
    )


def _time_bound(value: Any, arg: str) -> float | None:
    """``start`` / ``stop`` of a time selection: None or a finite number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise PoseDataError(f"{arg}: expected None or a time in seconds, found {value!r}")
    if not np.isfinite(value):
        raise PoseDataError(f"{arg}: expected a finite time in seconds, found {value!r}")
    return float(value)


def _like(template: xr.DataArray, data: np.ndarray, lead: Sequence[str], name: str) -> xr.DataArray:
    """Wrap ``data`` (dims ``lead`` + the others of ``template`` in order) like ``template``."""
    rest = [d for d in template.dims if d not in lead]
    order = [*lead, *rest]
    data = np.transpose(data, [order.index(d) for d in template.dims])
    out = template.copy(deep=False, data=data)
    out.name = name
    return out


# --------------------------------------------------------------------------------------
# Time derivatives (numpy.gradient's arithmetic, in blocks)
# --------------------------------------------------------------------------------------


def _check_edge_order(edge_order: Any) -> None:
    if (
        isinstance(edge_order, bool | np.bool_)
        or not isinstance(edge_order, int | np.integer)
        or edge_order not in (1, 2)
    ):
        raise PoseDataError(f"edge_order: expected 1 or 2, found {edge_order!r}")


def _differentiate(da: xr.DataArray, edge_order: int, name: str) -> xr.DataArray:
    _check_edge_order(edge_order)
    g = Gradient(time_seconds(da), edge_order)
    values = moved(float_values(da), da, ["time"])
    return _like(da, g.full(values), ["time"], name)


def velocity(position: xr.DataArray | xr.Dataset, *, edge_order: int = 1) -> xr.DataArray:
    """Velocity of every point: the time derivative of position.

    Parameters
    ----------
    position
        Positions with dims ``time`` and ``space`` (any others are kept), or a
        pose dataset.
    edge_order
        Accuracy of the one-sided differences at the first and last frames: 1
        (default; numpy's and movement's) or 2.

    Returns
    -------
    xr.DataArray
        Same dims, coords and attrs as ``position``, in space units per time unit
        (per second when ``time`` is in seconds). Interior frames use the
        second-order central difference on the ``time`` coordinate
        (:func:`numpy.gradient`'s formula, exact for quadratics on irregular
        timestamps too), equal to movement's ``compute_velocity``.

    Notes
    -----
    NaN: a frame's velocity is NaN when the frame before, the frame after or (on
    irregular timestamps) the frame itself is missing; nothing is filled.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> ds = bh.from_numpy(np.arange(10.0)[:, None, None] * np.ones((10, 2, 1)), fps=10)
    >>> round(float(velocity(ds.position).isel(time=5, space=0, keypoint=0, individual=0)), 9)
    10.0
    """
    position = position_of(position)
    require_dims(position, "time", "space", name="position")
    out = _differentiate(position, edge_order, "velocity")
    return append_log(out, "kinematics.velocity", edge_order=edge_order)


def acceleration(position: xr.DataArray | xr.Dataset, *, edge_order: int = 1) -> xr.DataArray:
    """Acceleration of every point: the derivative of :func:`velocity`.

    Parameters
    ----------
    position
        Positions with dims ``time`` and ``space``, or a pose dataset.
    edge_order
        As in :func:`velocity`.

    Returns
    -------
    xr.DataArray
        Same dims, coords and attrs as ``position``, in space units per time
        unit squared; equal to movement's ``compute_acceleration`` (central
        differences applied twice).

    Notes
    -----
    NaN: applying the difference twice spreads a missing frame to two frames on
    each side.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> t = np.arange(20) / 10.0
    >>> pos = np.stack([t**2, 0 * t], axis=1)[:, :, None]
    >>> acc = acceleration(bh.from_numpy(pos, fps=10).position)
    >>> round(float(acc.isel(time=10, space=0, keypoint=0, individual=0)), 6)
    2.0
    """
    position = position_of(position)
    require_dims(position, "time", "space", name="position")
    first = _differentiate(position, edge_order, "velocity")
    out = _differentiate(first, edge_order, "acceleration")
    return append_log(out, "kinematics.acceleration", edge_order=edge_order)


def speed(position: xr.DataArray | xr.Dataset, *, edge_order: int = 1) -> xr.DataArray:
    """Speed of every point: the norm of :func:`velocity` over ``space``.

    Parameters
    ----------
    position
        Positions with dims ``time`` and ``space`` (any others are kept), or a
        pose dataset.
    edge_order
        As in :func:`velocity`.

    Returns
    -------
    xr.DataArray
        Same dims as ``position`` without ``space``, in space units per time unit;
        equal to movement's ``compute_speed``.

    Notes
    -----
    NaN wherever :func:`velocity` has a NaN component.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> bool(speed(ds.position).sel(keypoint="nose").max() > 0)
    True
    """
    position = position_of(position)
    _check_edge_order(edge_order)
    require_dims(position, "time", "space", name="position")
    g = Gradient(time_seconds(position), edge_order)
    values = moved(float_values(position), position, ["time", "space"])
    out = np.empty((values.shape[0], *values.shape[2:]), dtype=values.dtype)
    flat = float64_view(values, (g.n, values.shape[1], -1))
    if flat is not None and g.n > 2:
        _speed_kernel(flat, *g.coefficients(), out.reshape(g.n, -1))
        out[:1] = _norm_space(g.rows(values, 0, 1))
        out[-1:] = _norm_space(g.rows(values, g.n - 1, g.n))
    else:
        row = int(np.prod(values.shape[1:], dtype=np.int64))
        for s, e in blocks(g.n, row):
            out[s:e] = _norm_space(g.rows(values, s, e))
    template = position.isel(space=0, drop=True)
    result = _like(template, out, ["time"], "speed")
    return append_log(result, "kinematics.speed", edge_order=edge_order)


def displacement(position: xr.DataArray | xr.Dataset) -> xr.DataArray:
    """Displacement of every point since the previous frame.

    Parameters
    ----------
    position
        Positions with dims ``time`` and ``space``, or a pose dataset.

    Returns
    -------
    xr.DataArray
        Same dims, coords and attrs as ``position``: the vector from the
        position at ``t - 1`` to the position at ``t`` (movement's deprecated
        ``compute_displacement``; its ``compute_backward_displacement`` is the
        negative). The first frame has no previous frame and is 0.

    Notes
    -----
    NaN where this frame or the previous one is missing (the first frame: where
    it is missing).

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> ds = bh.from_numpy(np.arange(8.0).reshape(4, 2, 1), fps=10)
    >>> displacement(ds.position).sel(space="x").values.ravel().tolist()
    [0.0, 2.0, 2.0, 2.0]
    """
    position = position_of(position)
    require_dims(position, "time", "space", name="position")
    values = moved(float_values(position), position, ["time"])
    out = np.empty_like(values)
    np.subtract(values[1:], values[:-1], out=out[1:])
    np.subtract(values[0], values[0], out=out[0])
    result = _like(position, out, ["time"], "displacement")
    return append_log(result, "kinematics.displacement")


def path_length(
    position: xr.DataArray | xr.Dataset,
    start: float | None = None,
    stop: float | None = None,
    nan_policy: Literal["ffill", "scale"] = "ffill",
    nan_warn_threshold: float = 0.2,
) -> xr.DataArray:
    """Length of the path travelled by every point between two times.

    Parameters
    ----------
    position
        Positions with dims ``time`` and ``space``, or a pose dataset.
    start, stop
        Times (in the units of the ``time`` coordinate, both included); default
        the first and last frame.
    nan_policy
        What missing frames count for, as in movement's ``compute_path_length``:

        - ``"ffill"`` (default): a missing point stays where it was last seen
          and jumps in a straight line to where it reappears (each coordinate
          carried forward on its own). Underestimates a path with many gaps.
          Frames before the first valid one add nothing; a track with no step
          between two valid positions is NaN.
        - ``"scale"``: the sum of the steps whose two ends are present, divided
          by the fraction of such steps (assumes the animal moved the same way
          while unseen). A track with no such step is NaN.
    nan_warn_threshold
        Warn (``UserWarning``) for tracks with at least this fraction of frames
        missing.

    Returns
    -------
    xr.DataArray
        Dims of ``position`` without ``time`` and ``space``, in space units.

    Raises
    ------
    PoseDataError
        For fewer than two frames between ``start`` and ``stop``, an unknown
        ``nan_policy`` or a threshold outside [0, 1].

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> xy = np.array([[0, 0], [3, 4], [np.nan, np.nan], [6, 8]], dtype=float)
    >>> ds = bh.from_numpy(xy[:, :, None], fps=1)
    >>> path_length(ds.position, nan_warn_threshold=1).item()
    10.0
    >>> path_length(ds, nan_policy="scale", nan_warn_threshold=1).item()
    15.0
    """
    position = position_of(position)
    require_dims(position, "time", "space", name="position")
    if not isinstance(nan_policy, str) or nan_policy not in ("ffill", "scale"):
        raise PoseDataError(f"nan_policy: expected 'ffill' or 'scale', found {nan_policy!r}")
    threshold = nan_warn_threshold
    if (
        isinstance(threshold, bool | np.bool_)
        or not isinstance(threshold, int | float | np.integer | np.floating)
        or not 0 <= threshold <= 1
    ):
        raise PoseDataError(
            f"nan_warn_threshold: expected a fraction in [0, 1], found {nan_warn_threshold!r}"
        )
    start, stop = _time_bound(start, "start"), _time_bound(stop, "stop")
    if start is not None or stop is not None:
        position = position.sel(time=slice(start, stop))
    n = position.sizes["time"]
    if n < 2:
        raise PoseDataError(
            f"time: path_length needs at least 2 frames between start={start!r} and "
            f"stop={stop!r}, found {n}"
        )
    values = moved(float_values(position), position, ["time", "space"])
    rest = values.shape[2:]
    row = int(np.prod(values.shape[1:], dtype=np.int64))
    total = np.zeros(rest)
    counted = np.zeros(rest, dtype=np.int64)
    n_missing = np.zeros(rest, dtype=np.int64)
    carry = np.full(values.shape[1:], np.nan, dtype=values.dtype)
    flat = float64_view(values, (n, values.shape[1], -1))
    pending = [] if flat is not None else blocks(n, row)
    if flat is not None:
        block = next(blocks(n, row))[1]
        _path_kernel(
            flat,
            nan_policy == "ffill",
            block,
            _threads(),
            total.reshape(-1),
            counted.reshape(-1),
            n_missing.reshape(-1),
        )
    for s, e in pending:
        ext = np.concatenate([carry[None], values[s:e]])
        nan = np.isnan(ext)
        n_missing += _any_space(nan[1:]).sum(axis=0)
        if nan_policy == "ffill":
            step, carry = _ffill_steps(ext, nan)
        else:
            step, carry = ext[1:] - ext[:-1], ext[-1]
        norm = _norm_space(step)
        missing = np.isnan(norm)
        counted += (e - s) - missing.sum(axis=0)
        np.copyto(norm, 0.0, where=missing)
        total += norm.sum(axis=0)
    _warn_missing(position, n_missing, n, threshold)
    with np.errstate(invalid="ignore", divide="ignore"):
        if nan_policy == "ffill":
            result = np.where(counted > 0, total, np.nan)
        else:
            result = np.where(counted > 0, total / (counted / (n - 1)), np.nan)
    template = position.isel(time=0, space=0, drop=True)
    out = template.copy(deep=False, data=result)
    out.name = "path_length"
    return append_log(out, "kinematics.path_length", start=start, stop=stop, nan_policy=nan_policy)


def _any_space(flags: np.ndarray) -> np.ndarray:
    """``flags.any(axis=1)`` for the short ``space`` axis, as elementwise ors."""
    out = flags[:, 0].copy()
    for d in range(1, flags.shape[1]):
        out |= flags[:, d]
    return out


def _norm_space(vectors: np.ndarray) -> np.ndarray:
    """Euclidean norm over axis 1 (``space``); ``vectors`` is overwritten."""
    np.multiply(vectors, vectors, out=vectors)
    out = vectors[:, 0].copy()
    for d in range(1, vectors.shape[1]):
        out += vectors[:, d]
    return np.sqrt(out, out=out)


def _ffill_steps(ext: np.ndarray, nan: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Steps between consecutive frames of ``ext`` forward-filled along axis 0.

    Equal to ``np.diff(ffill(ext), axis=0)`` with every element filled on its own
    (``xarray.DataArray.ffill``), without filling the whole array: a missing
    element does not move (step 0), the first valid element after a run of NaN
    steps from the last valid one before the run, and elements with nothing
    valid before them stay NaN. ``nan`` is ``np.isnan(ext)``. Also returns the
    forward-filled last row.
    """
    m = ext.shape[0] - 1
    flat = ext.reshape(m + 1, -1)
    nan = nan.reshape(m + 1, -1)
    width = flat.shape[1]
    step = flat[1:] - flat[:-1]
    if not nan.any():
        return step.reshape((m, *ext.shape[1:])), flat[-1].reshape(ext.shape[1:])
    np.copyto(step, 0.0, where=nan[1:])
    change = np.flatnonzero(nan[:-1] != nan[1:])  # a run of NaN starts or ends here
    rows, cols = np.divmod(change, width)
    ends = nan[rows, cols]  # row is NaN, the next is not: step ``row`` ends a run
    ends_t, ends_e = rows[ends], cols[ends]
    if ends_t.size:
        starts_t, starts_e = rows[~ends], cols[~ends]  # the last valid row before a run
        start_keys = starts_e * (m + 1) + starts_t
        order = np.argsort(start_keys, kind="stable")
        start_keys, starts_t, starts_e = start_keys[order], starts_t[order], starts_e[order]
        pick = np.searchsorted(start_keys, ends_e * (m + 1) + ends_t, side="right") - 1
        found = pick >= 0
        found[found] = starts_e[pick[found]] == ends_e[found]
        before = np.full(ends_t.shape, np.nan, dtype=flat.dtype)
        before[found] = flat[starts_t[pick[found]], ends_e[found]]
        step[ends_t, ends_e] = flat[ends_t + 1, ends_e] - before
    unseen = np.flatnonzero(nan[0])  # nothing valid before this block in these elements
    if unseen.size:
        valid = ~nan[:, unseen]
        first = np.where(valid.any(axis=0), valid.argmax(axis=0), m + 1)
        leading = np.arange(1, m + 1)[:, None] < first[None, :]
        step[:, unseen] = np.where(leading, np.nan, step[:, unseen])
    carry = flat[-1].copy()
    gaps = np.flatnonzero(nan[-1])
    if gaps.size:
        valid = ~nan[::-1, gaps]
        last = m - valid.argmax(axis=0)
        carry[gaps] = np.where(valid.any(axis=0), flat[last, gaps], np.nan)
    return step.reshape((m, *ext.shape[1:])), carry.reshape(ext.shape[1:])


def _warn_missing(position: xr.DataArray, n_missing: np.ndarray, n: int, threshold: float) -> None:
    bad = n_missing >= n * threshold
    if not bad.any():
        return
    dims = [d for d in position.dims if d not in ("time", "space")]
    labels = []
    for index in zip(*np.nonzero(bad)):
        name = ", ".join(f"{d}={position[d].values[i]}" for d, i in zip(dims, index))
        labels.append(f"{name or 'track'} ({100 * n_missing[index] / n:.0f} %)")
    shown = "; ".join(labels[:8]) + (f"; ... (+{len(labels) - 8})" if len(labels) > 8 else "")
    warnings.warn(
        f"path_length may be unreliable for {len(labels)} track(s) with at least "
        f"{100 * threshold:.3g} % of frames missing: {shown}",
        UserWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------


def calibrate(
    ds: xr.Dataset | xr.DataArray,
    px_per_cm: float | None = None,
    *,
    points: Sequence[Any] | None = None,
    distance_cm: float | None = None,
    unit: Literal["cm", "mm", "m"] = "cm",
) -> xr.Dataset | xr.DataArray:
    """Convert positions from pixels to a physical unit.

    Give the scale in one of three ways: ``px_per_cm``; or two reference
    ``points`` and their real ``distance_cm``; or nothing, when the dataset
    records its own ``attrs["px_per_cm"]`` (simulated sessions do).

    Parameters
    ----------
    ds
        Pose dataset (or a position DataArray) in pixels: ``attrs["space_unit"]``
        is ``"pixels"`` or absent.
    px_per_cm
        Pixels per centimetre.
    points
        Two reference points: two pixel coordinates ``[(x0, y0), (x1, y1)]``
        (``(x, y, z)`` for 3-D data), or two keypoint names (e.g. maze corners
        tracked as keypoints) whose median positions over the session are used.
    distance_cm
        The real distance between the two points, in cm.
    unit
        Unit of the result: ``"cm"`` (default), ``"mm"`` or ``"m"``.

    Returns
    -------
    xr.Dataset or xr.DataArray
        A copy in which every variable with a ``space`` dim (and every
        ``space`` coordinate such as ``ego_origin``) is divided by the scale
        (variables named ``*variance`` by its square), with
        ``attrs["space_unit"] = unit`` and ``attrs["px_per_cm"]`` recorded. NaN
        stays NaN.

    Raises
    ------
    PoseDataError
        When the data are already calibrated (``space_unit`` is not pixels),
        when the scale is given twice, not at all, or is not a positive finite
        number, or when the reference points coincide or are never seen.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> ds = bh.from_numpy(np.full((3, 2, 1, 1), 64.0), fps=10)
    >>> cm = calibrate(ds, points=[(0, 0), (320, 0)], distance_cm=10)
    >>> cm.attrs["space_unit"], float(cm.position[0, 0, 0, 0])
    ('cm', 2.0)
    """
    if unit not in _UNIT_PER_CM:
        raise PoseDataError(f"unit: expected one of {list(_UNIT_PER_CM)}, found {unit!r}")
    current = ds.attrs.get("space_unit", "pixels")
    if str(current).lower() not in ("pixels", "pixel", "px"):
        raise PoseDataError(
            f"calibrate: the positions are already in {current!r} (attrs['space_unit']); "
            "calibrate converts from pixels, once. Reload the raw tracks to calibrate anew."
        )
    position = position_of(ds, "ds")
    require_dims(position, "space", name="position")
    if px_per_cm is not None and points is not None:
        raise PoseDataError(
            "calibrate: give either px_per_cm or points with distance_cm, not both "
            f"(found px_per_cm={px_per_cm!r} and points={points!r})"
        )
    how = "px_per_cm"
    if points is not None:
        scale = _scale_from_points(position, points, distance_cm)
        how = "points"
    elif px_per_cm is not None:
        scale = px_per_cm
    elif ds.attrs.get("px_per_cm") is not None:
        scale = ds.attrs["px_per_cm"]
        how = "attrs"
    else:
        raise PoseDataError(
            "calibrate: expected px_per_cm=..., or points=[...] with distance_cm=..., "
            "found neither (and the dataset has no attrs['px_per_cm'])"
        )
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise PoseDataError(f"px_per_cm: expected a positive number, found {scale!r}") from None
    if not np.isfinite(scale) or scale <= 0:
        raise PoseDataError(f"px_per_cm: expected a positive finite number, found {scale!r}")
    factor = _UNIT_PER_CM[unit] / scale  # pixels -> unit

    def convert(var: xr.DataArray, name: Hashable) -> xr.DataArray:
        if "space" not in var.dims or not np.issubdtype(var.dtype, np.number):
            return var
        if name == "space":
            return var
        return var * (factor**2 if str(name).endswith("variance") else factor)

    if isinstance(ds, xr.Dataset):
        out = ds.copy(deep=False)
        for name in list(out.data_vars):
            out[name] = convert(out[name], name)
        for name in list(out.coords):
            if name not in out.dims and "space" in out[name].dims:
                out = out.assign_coords({name: convert(out[name].variable, name)})
    else:
        out = convert(ds, ds.name)
        out.coords.update(
            {n: convert(ds.coords[n].variable, n) for n in ds.coords if n not in ds.dims}
        )
    out.attrs = dict(ds.attrs)
    out.attrs["space_unit"] = unit
    out.attrs["px_per_cm"] = scale
    return append_log(out, "kinematics.calibrate", px_per_cm=scale, unit=unit, source=how)


def _scale_from_points(position: xr.DataArray, points: Sequence[Any], distance_cm: Any) -> float:
    if distance_cm is None:
        raise PoseDataError("distance_cm: calibrating from points needs their distance in cm")
    try:
        distance = float(distance_cm)
    except (TypeError, ValueError):
        raise PoseDataError(
            f"distance_cm: expected a positive number, found {distance_cm!r}"
        ) from None
    if not np.isfinite(distance) or distance <= 0:
        raise PoseDataError(f"distance_cm: expected a positive number, found {distance_cm!r}")
    if isinstance(points, str) or len(points) != 2:
        raise PoseDataError(
            f"points: expected two points (two (x, y) coordinates or two keypoint names), "
            f"found {points!r}"
        )
    if all(isinstance(p, str) for p in points):
        _require_keypoints(position, points, "points")
        others = [d for d in position.dims if d not in ("space", "keypoint")]
        xyz = []
        for name in points:
            one = position.sel(keypoint=name).transpose("space", *others).values
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: reported below
                med = np.nanmedian(one.reshape(one.shape[0], -1), axis=1)
            if np.isnan(med).any():
                raise PoseDataError(
                    f"points: keypoint {name!r} is never tracked (all NaN); cannot use it "
                    "as a reference point"
                )
            xyz.append(med)
        a, b = xyz
    else:
        try:
            a, b = (np.asarray(p, dtype=np.float64).reshape(-1) for p in points)
        except (TypeError, ValueError):
            raise PoseDataError(
                f"points: expected two numeric coordinates such as [(x0, y0), (x1, y1)], "
                f"found {points!r}"
            ) from None
        if a.shape != b.shape or a.size not in (2, 3) or not np.isfinite([a, b]).all():
            raise PoseDataError(
                f"points: expected two finite (x, y) or (x, y, z) coordinates, found {points!r}"
            )
    pixels = float(np.sqrt(np.sum((a - b) ** 2)))
    if pixels == 0:
        raise PoseDataError(f"points: the two reference points coincide ({points!r})")
    return pixels / distance


# --------------------------------------------------------------------------------------
# Body geometry: centroid, heading, lengths, angles
# --------------------------------------------------------------------------------------


def centroid(
    position: xr.DataArray | xr.Dataset, keypoints: Sequence[str] | None = None
) -> xr.DataArray:
    """Centroid of each individual: the mean of its keypoints present in each frame.

    Parameters
    ----------
    position
        Positions with dims ``space`` and ``keypoint``, or a pose dataset.
    keypoints
        Keypoints to average (default: all).

    Returns
    -------
    xr.DataArray
        Dims of ``position`` without ``keypoint`` (the keypoint dim is reduced,
        as ``position.mean("keypoint")``), named ``centroid``.

    Notes
    -----
    NaN: a keypoint counts in a frame only when all its coordinates are present;
    the centroid is the mean of those (so it shifts when a keypoint drops out)
    and NaN only when none is present.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.array([[[0.0, 2.0, np.nan], [0.0, 4.0, 9.0]]])
    >>> centroid(bh.from_numpy(pos).position).squeeze().values.tolist()
    [1.0, 2.0]
    """
    position = position_of(position)
    require_dims(position, "space", "keypoint", name="position")
    if keypoints is not None:
        keypoints = _keypoint_list(keypoints, "keypoints")
        _require_keypoints(position, keypoints, "keypoints")
        position = position.sel(keypoint=keypoints)
    if position.sizes["keypoint"] == 0:
        raise PoseDataError("position: expected at least one keypoint to average, found none")
    lead = ["time", "space", "keypoint"] if "time" in position.dims else ["space", "keypoint"]
    values = moved(float_values(position), position, lead)
    if "time" not in position.dims:
        values = values[None]
    n, n_space, n_kp = values.shape[:3]
    rest = values.shape[3:]
    width = int(np.prod(rest, dtype=np.int64))
    out = np.empty((n, n_space, *rest), dtype=values.dtype)
    # Sum over the keypoint axis (the middle of each frame's block): with few series
    # behind it, a matrix product with a 0/1 selector is far faster than a reduction.
    selector = np.tile(np.eye(width), (n_kp, 1)) if width <= 16 else None
    with np.errstate(invalid="ignore", divide="ignore"):
        for s, e in blocks(n, n_space * n_kp * width):
            block = values[s:e]  # (frames, space, keypoint, ...)
            valid = ~np.isnan(block[:, 0])
            for d in range(1, n_space):
                valid &= ~np.isnan(block[:, d])
            masked = np.where(valid[:, None], block, 0.0)
            m = e - s
            if selector is not None:
                total = masked.reshape(m * n_space, n_kp * width) @ selector
                count = valid.reshape(m, n_kp * width).astype(np.float64) @ selector
            else:
                total = masked.sum(axis=2)
                count = valid.sum(axis=1).reshape(m, width)
            total = total.reshape(m, n_space, width) / count[:, None]
            out[s:e] = total.reshape(m, n_space, *rest)
    if "time" not in position.dims:
        out = out[0]
    template = position.isel(keypoint=0, drop=True)
    result = _like(template, out, [d for d in lead if d != "keypoint"], "centroid")
    return append_log(result, "kinematics.centroid", keypoints=keypoints)


def _keypoint_values(position: xr.DataArray, name: str, lead: Sequence[str]) -> np.ndarray:
    one = position.sel(keypoint=name, drop=True)
    return moved(float_values(one), one, lead)


def _template_without(position: xr.DataArray, *dims: str) -> xr.DataArray:
    return position.isel({d: 0 for d in dims}, drop=True)


def body_heading(
    ds_or_position: xr.Dataset | xr.DataArray,
    from_keypoint: str = "tail_base",
    to_keypoint: str = "nose",
) -> xr.DataArray:
    """Heading of each individual: the direction from one keypoint to another.

    Parameters
    ----------
    ds_or_position
        Pose dataset or positions with dims ``space`` and ``keypoint``.
    from_keypoint, to_keypoint
        The body axis points from ``from_keypoint`` to ``to_keypoint`` (default
        tail base to nose).

    Returns
    -------
    xr.DataArray
        Angle in radians in ``[-pi, pi)``, dims of the positions without
        ``space`` and ``keypoint``. In image coordinates (x right, y down) 0 is
        facing +x (right), ``pi / 2`` is facing +y (down the image), and a
        growing angle is a clockwise turn on the screen. 3-D positions use their
        x-y projection (the angle about z).

    Notes
    -----
    NaN in frames where either keypoint is missing or the two coincide.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.array([[[0.0, 0.0], [0.0, 1.0]]])  # tail at (0, 0), nose at (0, 1)
    >>> ds = bh.from_numpy(pos, keypoint_names=["tail_base", "nose"])
    >>> float(body_heading(ds).squeeze()) == np.pi / 2
    True
    """
    position = position_of(ds_or_position)
    require_dims(position, "space", "keypoint", name="position")
    _require_keypoints(position, [from_keypoint, to_keypoint], "from_keypoint/to_keypoint")
    head = _keypoint_values(position, to_keypoint, ["space"])
    tail = _keypoint_values(position, from_keypoint, ["space"])
    dx = head[0] - tail[0]
    dy = head[1] - tail[1]
    angle = np.array(np.arctan2(dy, dx), dtype=np.float64)
    angle[angle >= np.pi] = -np.pi
    angle[(dx == 0) & (dy == 0)] = np.nan
    template = _template_without(position, "space", "keypoint")
    out = _like(template, angle, [], "heading")
    out.attrs["units"] = "radians"
    return append_log(
        out, "kinematics.body_heading", from_keypoint=from_keypoint, to_keypoint=to_keypoint
    )


def angular_velocity(heading: xr.DataArray, *, edge_order: int = 1) -> xr.DataArray:
    """Angular velocity of a heading (or any angle): unwrap, then differentiate.

    Parameters
    ----------
    heading
        Angles in radians with a ``time`` dim, e.g. from :func:`body_heading`.
    edge_order
        As in :func:`velocity`.

    Returns
    -------
    xr.DataArray
        Same dims, coords and attrs, in radians per time unit (rad/s when time
        is in seconds). Positive is a turn towards +y: clockwise on the screen in
        image coordinates.

    Notes
    -----
    Each step between consecutive frames is taken as the smallest turn (within
    ``[-pi, pi]``), so a heading crossing +-pi gives no spurious spin. NaN as
    in :func:`velocity`: frames next to a missing heading are NaN.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(50) / 10.0
    >>> theta = xr.DataArray(np.angle(np.exp(2j * t)), dims="time", coords={"time": t})
    >>> bool(np.allclose(angular_velocity(theta), 2.0))
    True
    """
    if not isinstance(heading, xr.DataArray):
        raise PoseDataError(
            f"heading: expected a DataArray of angles, found {type(heading).__name__}"
        )
    require_dims(heading, "time", name="heading")
    _check_edge_order(edge_order)
    g = Gradient(time_seconds(heading), edge_order)
    values = unwrap(moved(float_values(heading), heading, ["time"]))
    out = _like(heading, g.full(values), ["time"], "angular_velocity")
    if "units" in out.attrs:
        out.attrs["units"] = f"{out.attrs['units']} per time unit"
    return append_log(out, "kinematics.angular_velocity", edge_order=edge_order)


def rigid_motion(position: xr.DataArray | xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """Speed and angular velocity of the keypoints of each animal taken as one body.

    For each frame the keypoints tracked both in the frame before and in the frame
    after (one-sided at the ends) are compared: the speed is the displacement of
    their centroid, the angular velocity the least-squares (Kabsch) rotation about
    it in the x-y plane, per time between the two frames. Using only keypoints
    present in both frames, a keypoint that is lost or found again does not move
    the centroid (the speed of :func:`centroid`, the centroid of whatever points
    are tracked, jumps when one drops out); fitting one rotation to all points
    averages the tracking noise that a two-point axis (:func:`body_heading`)
    amplifies.

    Parameters
    ----------
    position
        Positions with dims ``time``, ``space`` and ``keypoint`` (any others are
        kept), or a pose dataset; the rotation uses the ``x`` and ``y`` rows.

    Returns
    -------
    speed, angular_velocity : xr.DataArray
        Without ``space`` and ``keypoint``: the centroid speed (space units per
        time unit) and the rotation rate (radians per time unit, positive towards
        +y as in :func:`angular_velocity`). NaN where no keypoint (speed) or fewer
        than two (rotation) are tracked in both frames.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> angle = np.radians(10.0) * np.arange(5)  # a cross turning 10 degrees per frame
    >>> x = np.stack([np.cos(angle), -np.cos(angle), -2 * np.sin(angle), 2 * np.sin(angle)], 1)
    >>> y = np.stack([np.sin(angle), -np.sin(angle), 2 * np.cos(angle), -2 * np.cos(angle)], 1)
    >>> da = xr.DataArray(np.stack([x, y], 1) + 3.0, dims=("time", "space", "keypoint"),
    ...                   coords={"time": np.arange(5.0), "space": ["x", "y"]})
    >>> speed, turning = rigid_motion(da)
    >>> np.degrees(turning.values).round(6).tolist(), float(speed.max()) < 1e-9
    ([10.0, 10.0, 10.0, 10.0, 10.0], True)
    """
    position = position_of(position)
    require_dims(position, "time", "space", "keypoint", name="position")
    lead = [d for d in position.dims if d not in ("time", "space", "keypoint")]
    space = [str(s) for s in position["space"].values] if "space" in position.coords else []
    xy = [space.index("x"), space.index("y")] if {"x", "y"} <= set(space) else [0, 1]
    time = time_seconds(position)
    values = np.asarray(
        position.transpose("time", *lead, "keypoint", "space").values, dtype=np.float64
    )
    n_time = values.shape[0]
    frames = np.arange(n_time)
    before, after = np.maximum(frames - 1, 0), np.minimum(frames + 1, n_time - 1)
    dt = (time[after] - time[before]).reshape((n_time,) + (1,) * len(lead))
    a, b = values[before], values[after]
    both = ~(np.isnan(a).any(-1) | np.isnan(b).any(-1))  # (time, *lead, keypoint)
    count = both.sum(-1)
    a = np.where(both[..., None], a, 0.0)
    b = np.where(both[..., None], b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre_a = a.sum(-2) / count[..., None]
        centre_b = b.sum(-2) / count[..., None]
        speed = np.linalg.norm(centre_b - centre_a, axis=-1) / dt
        ra = np.where(both[..., None], a - centre_a[..., None, :], 0.0)[..., xy]
        rb = np.where(both[..., None], b - centre_b[..., None, :], 0.0)[..., xy]
        cross = (ra[..., 0] * rb[..., 1] - ra[..., 1] * rb[..., 0]).sum(-1)
        dot = (ra[..., 0] * rb[..., 0] + ra[..., 1] * rb[..., 1]).sum(-1)
        turning = np.arctan2(cross, dot) / dt
    speed[count < 1] = np.nan
    turning[count < 2] = np.nan
    template = position.isel(space=0, keypoint=0, drop=True)
    template.attrs = {k: v for k, v in template.attrs.items() if k != "units"}
    out = (
        _like(template, speed, ["time", *lead], "speed"),
        _like(template, turning, ["time", *lead], "angular_velocity"),
    )
    return tuple(append_log(o, "kinematics.rigid_motion") for o in out)  # type: ignore[return-value]


def joint_angle(
    position: xr.DataArray | xr.Dataset,
    a: str,
    b: str,
    c: str,
    *,
    degrees: bool = False,
) -> xr.DataArray:
    """The angle at keypoint ``b`` between the segments ``b -> a`` and ``b -> c``.

    Parameters
    ----------
    position
        Positions with dims ``space`` and ``keypoint`` (2-D or 3-D), or a pose
        dataset.
    a, b, c
        Keypoint names; ``b`` is the joint.
    degrees
        Return degrees instead of radians.

    Returns
    -------
    xr.DataArray
        The unsigned angle in ``[0, pi]`` (or ``[0, 180]`` degrees): ``pi`` for
        a straight limb, 0 when folded back; dims of the positions without
        ``space`` and ``keypoint``. Computed as ``atan2(|u x v|, u . v)``,
        accurate near 0 and pi.

    Notes
    -----
    NaN in frames where one of the three keypoints is missing or ``a`` or ``c``
    coincides with ``b``.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.array([[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])  # a=(1,0) b=(0,0) c=(0,1)
    >>> ds = bh.from_numpy(pos, keypoint_names=["a", "b", "c"])
    >>> float(joint_angle(ds, "a", "b", "c", degrees=True).squeeze())
    90.0
    """
    position = position_of(position)
    require_dims(position, "space", "keypoint", name="position")
    _require_keypoints(position, [a, b, c], "a/b/c")
    pa, pb, pc = (_keypoint_values(position, k, ["space"]) for k in (a, b, c))
    u = pa - pb
    v = pc - pb
    dot = np.add.reduce(u * v, axis=0)
    if u.shape[0] == 2:
        cross = np.abs(u[0] * v[1] - u[1] * v[0])
    else:
        cross = np.sqrt(np.add.reduce(np.cross(u, v, axis=0) ** 2, axis=0))
    angle = np.array(np.arctan2(cross, dot), dtype=np.float64)
    degenerate = (np.add.reduce(u * u, axis=0) == 0) | (np.add.reduce(v * v, axis=0) == 0)
    angle[degenerate] = np.nan
    if degrees:
        angle = np.degrees(angle)
    template = _template_without(position, "space", "keypoint")
    out = _like(template, angle, [], "joint_angle")
    out.attrs["units"] = "degrees" if degrees else "radians"
    return append_log(out, "kinematics.joint_angle", a=a, b=b, c=c, degrees=degrees)


def body_length(
    ds: xr.Dataset | xr.DataArray,
    from_keypoint: str = "tail_base",
    to_keypoint: str = "nose",
) -> xr.DataArray:
    """Distance between two keypoints of each individual, e.g. tail base to nose.

    Parameters
    ----------
    ds
        Pose dataset or positions with dims ``space`` and ``keypoint``.
    from_keypoint, to_keypoint
        The two keypoints.

    Returns
    -------
    xr.DataArray
        Dims of the positions without ``space`` and ``keypoint``, in space
        units; NaN where either keypoint is missing.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.array([[[0.0, 3.0], [0.0, 4.0]]])
    >>> ds = bh.from_numpy(pos, keypoint_names=["tail_base", "nose"])
    >>> float(body_length(ds).squeeze())
    5.0
    """
    position = position_of(ds)
    require_dims(position, "space", "keypoint", name="position")
    _require_keypoints(position, [from_keypoint, to_keypoint], "from_keypoint/to_keypoint")
    diff = _keypoint_values(position, to_keypoint, ["space"]) - _keypoint_values(
        position, from_keypoint, ["space"]
    )
    length = np.sqrt(np.add.reduce(diff * diff, axis=0))
    out = _like(_template_without(position, "space", "keypoint"), length, [], "body_length")
    return append_log(
        out, "kinematics.body_length", from_keypoint=from_keypoint, to_keypoint=to_keypoint
    )


def keypoint_distances(
    position: xr.DataArray | xr.Dataset,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> xr.DataArray:
    """Distances between pairs of keypoints within each individual.

    Parameters
    ----------
    position
        Positions with dims ``space`` and ``keypoint``, or a pose dataset.
    pairs
        Keypoint pairs such as ``[("nose", "tail_base")]``; default every
        unordered pair of distinct keypoints, in keypoint order.

    Returns
    -------
    xr.DataArray
        The keypoint dim is replaced by ``pair`` (placed where ``keypoint`` was, so
        ``(time, pair, individual)`` for a pose dataset), whose labels read
        ``"nose-tail_base"``; coordinates ``keypoint_a`` and ``keypoint_b`` along
        ``pair`` name the two ends. In space units; NaN where either keypoint is
        missing.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.array([[[0.0, 3.0, 0.0], [0.0, 4.0, 1.0]]])
    >>> ds = bh.from_numpy(pos, keypoint_names=["a", "b", "c"])
    >>> d = keypoint_distances(ds)
    >>> d.pair.values.tolist(), d.sel(pair="a-b").item()
    (['a-b', 'a-c', 'b-c'], 5.0)
    """
    position = position_of(position)
    require_dims(position, "space", "keypoint", name="position")
    names = [str(k) for k in position["keypoint"].values]
    if pairs is None:
        pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
        if not pairs:
            raise PoseDataError(
                f"position: keypoint_distances needs at least 2 keypoints, found {names}"
            )
    else:
        pairs = [tuple(p) for p in pairs]
        if not pairs or any(len(p) != 2 for p in pairs):
            raise PoseDataError(
                f"pairs: expected a list of (keypoint, keypoint) pairs, found {pairs!r}"
            )
        _require_keypoints(position, [k for p in pairs for k in p], "pairs")
    ia = np.array([names.index(str(p[0])) for p in pairs])
    ib = np.array([names.index(str(p[1])) for p in pairs])
    values = moved(float_values(position), position, ["space", "keypoint"])
    diff = values[:, ia] - values[:, ib]
    dist = np.sqrt(np.add.reduce(diff * diff, axis=0))  # (pair, rest...)
    rest = [d for d in position.dims if d not in ("space", "keypoint")]
    dims_out = [d if d != "keypoint" else "pair" for d in position.dims if d != "space"]
    labels = [f"{a}-{b}" for a, b in pairs]
    coords = {k: v for k, v in position.coords.items() if not ({"space", "keypoint"} & set(v.dims))}
    data = xr.DataArray(dist, dims=["pair", *rest])
    out = xr.DataArray(
        data.transpose(*dims_out).values,
        dims=dims_out,
        coords=coords,
        name="keypoint_distance",
        attrs=dict(position.attrs),
    )
    out = out.assign_coords(
        pair=labels,
        keypoint_a=("pair", [str(p[0]) for p in pairs]),
        keypoint_b=("pair", [str(p[1]) for p in pairs]),
    )
    return append_log(out, "kinematics.keypoint_distances", pairs=labels)


# --------------------------------------------------------------------------------------
# Frames of reference
# --------------------------------------------------------------------------------------


def _origin(position: xr.DataArray, origin: str, heading: tuple[str, str] | None) -> xr.DataArray:
    names = [str(k) for k in position["keypoint"].values]
    if origin == "centroid":
        return centroid(position)
    if origin in names:
        return position.sel(keypoint=origin, drop=True)
    if origin in ("body_center", "midpoint"):
        if heading is None:
            raise PoseDataError(
                f"origin: {origin!r} without a 'body_center' keypoint needs heading keypoints "
                "to take their midpoint; give origin as a keypoint name or 'centroid'"
            )
        _require_keypoints(position, heading, "heading")
        if origin == "body_center":
            logger.info("egocentric: no 'body_center' keypoint; using the midpoint of %s", heading)
        pair = position.sel(keypoint=list(heading))
        return pair.isel(keypoint=0, drop=True) * 0.5 + pair.isel(keypoint=1, drop=True) * 0.5
    raise PoseDataError(
        f"origin: expected a keypoint name, 'centroid', 'midpoint' or 'body_center', "
        f"found {origin!r}; the dataset has keypoints {names}"
    )


def egocentric(
    ds: xr.Dataset | xr.DataArray,
    origin: str = "body_center",
    heading: tuple[str, str] | xr.DataArray = ("tail_base", "nose"),
) -> xr.Dataset | xr.DataArray:
    """Positions in each animal's body frame: translated to its origin, rotated to its heading.

    Parameters
    ----------
    ds
        Pose dataset or positions with dims ``space`` and ``keypoint`` (2-D, or
        3-D rotated about z).
    origin
        The body frame's origin: a keypoint name, ``"centroid"`` (mean of the
        keypoints present, :func:`centroid`) or ``"midpoint"`` (halfway between
        the two heading keypoints). The default ``"body_center"`` is the keypoint
        of that name when there is one, else the midpoint.
    heading
        ``(from_keypoint, to_keypoint)`` of the body axis (see
        :func:`body_heading`), or heading angles in radians over the dims of the
        positions without ``space`` and ``keypoint``.

    Returns
    -------
    xr.Dataset or xr.DataArray
        The same type, with positions in the body frame: +x points along the
        heading (forward) and +y to the animal's right in image coordinates (to
        its left when y points up); z is only translated. The origin and heading
        used are stored as coordinates ``ego_origin`` and ``ego_heading``, so
        :func:`allocentric` can undo the transform. Other variables
        (``confidence``) are unchanged.

    Raises
    ------
    PoseDataError
        For missing keypoints or dims, or positions that are already egocentric.

    Notes
    -----
    NaN: every keypoint of an animal is NaN in frames where its origin or heading
    is missing.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.array([[[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]]])  # a vertical animal
    >>> ds = bh.from_numpy(pos, keypoint_names=["tail_base", "body_center", "nose"])
    >>> ego = egocentric(ds)
    >>> ego.position.sel(keypoint="nose").squeeze().values.round(6).tolist()
    [1.0, 0.0]
    """
    position = position_of(ds)
    require_dims(position, "space", "keypoint", name="position")
    if any(name in position.coords for name in _EGO_COORDS):
        raise PoseDataError(
            "egocentric: the positions are already egocentric (they carry 'ego_origin'); "
            "use allocentric() first"
        )
    if isinstance(heading, xr.DataArray):
        angle = heading
        keys = None
    else:
        keys = tuple(heading)
        if len(keys) != 2:
            raise PoseDataError(
                f"heading: expected (from_keypoint, to_keypoint) or angles, found {heading!r}"
            )
        angle = body_heading(position, *keys)
    origin_xyz = _origin(position, origin, keys)
    angle = angle.drop_attrs() if hasattr(angle, "drop_attrs") else angle.copy()
    origin_xyz = origin_xyz.copy(deep=False)
    origin_xyz.attrs = {}
    rotated = rotate(position - origin_xyz, angle, -1.0)
    rotated.attrs = dict(position.attrs)
    rotated.name = position.name
    rotated = rotated.assign_coords(
        ego_origin=origin_xyz.variable, ego_heading=angle.reset_coords(drop=True).variable
    )
    params = {"origin": origin, "heading": list(keys) if keys else "angles"}
    if isinstance(ds, xr.Dataset):
        out = ds.copy(deep=False)
        out["position"] = rotated.drop_vars(list(_EGO_COORDS))
        out = out.assign_coords(ego_origin=origin_xyz.variable, ego_heading=rotated.ego_heading)
        return append_log(out, "kinematics.egocentric", **params)
    return append_log(rotated, "kinematics.egocentric", **params)


def allocentric(
    ego_ds: xr.Dataset | xr.DataArray,
    origin_xy: xr.DataArray | None = None,
    heading_angle: xr.DataArray | None = None,
) -> xr.Dataset | xr.DataArray:
    """Undo :func:`egocentric`: rotate back by the heading and translate back to the origin.

    Parameters
    ----------
    ego_ds
        Egocentric dataset or positions.
    origin_xy
        The body origins in the arena (dims of the positions without
        ``keypoint``); default the ``ego_origin`` coordinate that
        :func:`egocentric` stored.
    heading_angle
        The headings in radians (dims without ``space`` and ``keypoint``);
        default the ``ego_heading`` coordinate.

    Returns
    -------
    xr.Dataset or xr.DataArray
        Positions in the arena frame, without the ``ego_*`` coordinates. NaN where
        the input, the origin or the heading is NaN.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> ds = bh.from_numpy(np.random.default_rng(0).normal(size=(5, 2, 3, 1)),
    ...                    keypoint_names=["tail_base", "body_center", "nose"])
    >>> back = allocentric(egocentric(ds))
    >>> bool(np.allclose(back.position, ds.position))
    True
    """
    position = position_of(ego_ds)
    require_dims(position, "space", name="position")
    if origin_xy is None or heading_angle is None:
        missing = [n for n in _EGO_COORDS if n not in position.coords]
        if missing:
            raise PoseDataError(
                f"allocentric: expected origin_xy and heading_angle, or the coordinates "
                f"{list(_EGO_COORDS)} that egocentric() stores; found neither {missing}"
            )
    origin_xyz = position.coords["ego_origin"] if origin_xy is None else origin_xy
    angle = position.coords["ego_heading"] if heading_angle is None else heading_angle
    origin_xyz = xr.DataArray(
        origin_xyz.variable,
        coords={k: v for k, v in origin_xyz.coords.items() if k in origin_xyz.dims},
    )
    angle = xr.DataArray(
        angle.variable, coords={k: v for k, v in angle.coords.items() if k in angle.dims}
    )
    bare = position.drop_vars([n for n in _EGO_COORDS if n in position.coords])
    arena = rotate(bare, angle, 1.0) + origin_xyz
    arena = arena.transpose(*bare.dims)
    arena.attrs = dict(position.attrs)
    arena.name = position.name
    if isinstance(ego_ds, xr.Dataset):
        out = ego_ds.drop_vars([n for n in _EGO_COORDS if n in ego_ds.coords])
        out["position"] = arena
        out.attrs = dict(ego_ds.attrs)
        return append_log(out, "kinematics.allocentric")
    return append_log(arena, "kinematics.allocentric")
