"""Shared pose helpers: position access, time derivatives, angles and rotation.

The rooms that work on positions (:mod:`behavior.kinematics`,
:mod:`behavior.social`, :mod:`behavior.features`) share these helpers; the module
is private to the package (``behavior._pose``), so its names carry no underscore.
Time and frame rate are not here: they are :func:`behavior.dataset.time_seconds`,
:func:`behavior.dataset.fps_of` and :func:`behavior.dataset.time_step`.

- :func:`position_of`, :func:`core_position`, :func:`float_values`, :func:`moved`:
  the position DataArray of a dataset (with exactly the core dims, for the rooms
  that need them), its values as floats, and a view with chosen dims first.
- :class:`Gradient`: rows of :func:`numpy.gradient` along time, bit for bit,
  in blocks of frames (a numba kernel for the interior); :func:`blocks` and
  :func:`float64_view` are the blocking helpers it and the kinematics use.
- :func:`unwrap`: NaN-aware :func:`numpy.unwrap` of angles along time.
- :func:`rotate` (DataArrays with a ``space`` dim) and :func:`rotate_xy` (numpy
  arrays with x and y on one axis): rotation about z.
- :func:`warm_up` compiles the numba kernel of this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numba
import numpy as np
import xarray as xr

from behavior.dataset import check_time, require_dims, time_seconds
from behavior.errors import PoseDataError

__all__ = [
    "BLOCK_BYTES",
    "Gradient",
    "blocks",
    "core_position",
    "float64_view",
    "float_values",
    "moved",
    "position_of",
    "require_finite_or_missing",
    "require_time_order",
    "rotate",
    "rotate_xy",
    "unwrap",
    "warm_up",
]

BLOCK_BYTES = 1 << 21  # about 2 MiB of float64 per block of frames


# --------------------------------------------------------------------------------------
# Position access
# --------------------------------------------------------------------------------------


def position_of(obj: xr.Dataset | xr.DataArray, name: str = "position") -> xr.DataArray:
    """The position DataArray of a pose dataset (carrying the dataset's attrs), or ``obj``.

    Parameters
    ----------
    obj
        A pose Dataset with a ``position`` variable, or positions as a DataArray.
    name
        The argument's name, for the error message.

    Returns
    -------
    xr.DataArray
        ``obj["position"]`` (a shallow copy) with the dataset's attrs except
        ``ds_type``; a DataArray is returned as it is.

    Raises
    ------
    PoseDataError
        For a Dataset without ``position`` or an object of another type.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> ds = bh.from_numpy(np.zeros((3, 2, 1, 1)), fps=10)
    >>> position_of(ds).dims, position_of(ds).attrs["fps"]
    (('time', 'space', 'keypoint', 'individual'), 10.0)
    """
    if isinstance(obj, xr.Dataset):
        if "position" not in obj.data_vars:
            raise PoseDataError(
                f"{name}: expected a pose dataset with a 'position' variable, found "
                f"variables {list(obj.data_vars)}"
            )
        require_time_order(obj, name)
        position = obj["position"].copy(deep=False)
        position.attrs = {k: v for k, v in obj.attrs.items() if k != "ds_type"}
        require_finite_or_missing(position, name)
        return position
    if isinstance(obj, xr.DataArray):
        require_time_order(obj, name)
        require_finite_or_missing(obj, name)
        return obj
    raise PoseDataError(
        f"{name}: expected an xarray Dataset or DataArray of positions, found {type(obj).__name__}"
    )


def require_finite_or_missing(position: xr.DataArray, name: str = "position") -> None:
    """Refuse infinite positions: a position is a finite number or NaN (missing).

    The pose loaders read infinite values as missing (with a warning); a dataset
    built by hand must do the same before kinematics, features or relations, which
    would otherwise carry the infinities into every derived quantity.

    Parameters
    ----------
    position
        Positions (any dims).
    name
        The argument's name, for the message.

    Raises
    ------
    PoseDataError
        Naming the argument, the number of infinite values and the fix.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> require_finite_or_missing(xr.DataArray([1.0, np.nan]))
    >>> require_finite_or_missing(xr.DataArray([1.0, np.inf]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    behavior.errors.PoseDataError: position: expected finite positions or NaN (missing), ...
    """
    values = position.values
    if np.issubdtype(values.dtype, np.floating):
        n = int(np.isinf(values).sum())
        if n:
            raise PoseDataError(
                f"{name}: expected finite positions or NaN (missing), found {n} infinite "
                "value(s); set them to NaN first, e.g. ds['position'] = "
                "ds.position.where(np.isfinite(ds.position))"
            )


def require_time_order(obj: xr.Dataset | xr.DataArray, name: str = "position") -> None:
    """Refuse a ``time`` coordinate that is not finite and strictly increasing.

    The same check as :func:`behavior.dataset.validate` (through
    :func:`behavior.dataset.check_time`), at the edge of every function that
    differentiates, smooths or windows over time: a repeated or decreasing
    timestamp would otherwise give infinite speeds or silently wrong windows.
    An object without a ``time`` coordinate passes (its frames are in order).

    Parameters
    ----------
    obj
        A pose Dataset or a DataArray.
    name
        The argument's name, for the message.

    Raises
    ------
    PoseDataError
        Naming the argument and the first two frames out of order.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> require_time_order(bh.from_numpy(np.zeros((3, 2, 1, 1)), fps=10))
    """
    if "time" in obj.coords and "time" in obj.dims:
        check_time(time_seconds(obj), f"{name}: time coordinate")


def core_position(
    obj: xr.Dataset | xr.DataArray, where: str, name: str = "position"
) -> xr.DataArray:
    """:func:`position_of`, checked to have exactly the dims (time, space, keypoint, individual).

    Parameters
    ----------
    obj
        A pose Dataset or positions as a DataArray.
    where
        What needs the positions (an argument or an operation), for the messages.
    name
        The argument's name, for the message of :func:`position_of`.

    Returns
    -------
    xr.DataArray
        The positions, their ``space`` coordinate starting with x, y.

    Raises
    ------
    PoseDataError
        For a missing dim, an extra dim (such as ``ensemble``) or a ``space``
        coordinate that does not start with x, y.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> core_position(bh.from_numpy(np.zeros((3, 2, 1, 1))), "demo").dims
    ('time', 'space', 'keypoint', 'individual')
    """
    position = position_of(obj, name)
    require_dims(position, "time", "space", "keypoint", "individual", name="position")
    extra = [d for d in position.dims if d not in ("time", "space", "keypoint", "individual")]
    if extra:
        raise PoseDataError(
            f"{where}: expected positions with dims (time, space, keypoint, individual), found "
            f"extra dims {extra}; select one first, e.g. ds.isel({extra[0]}=0)"
        )
    spaces = [str(s) for s in position["space"].values]
    if spaces[:2] != ["x", "y"]:
        raise PoseDataError(f"space: expected coordinates x, y (and z), found {spaces}")
    return position


def float_values(da: xr.DataArray) -> np.ndarray:
    """The values of ``da`` as a numpy array of floats (float64 unless already floating).

    Examples
    --------
    >>> float_values(xr.DataArray([1, 2])).dtype
    dtype('float64')
    """
    values = np.asarray(da.values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    return values


def moved(values: np.ndarray, da: xr.DataArray, lead: Sequence[str]) -> np.ndarray:
    """A view of ``values`` (laid out as ``da``) with the dims ``lead`` first, others in order.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros((2, 3, 4)), dims=("a", "time", "b"))
    >>> moved(da.values, da, ["time"]).shape
    (3, 2, 4)
    """
    axes = [da.get_axis_num(d) for d in lead]
    return np.moveaxis(values, axes, list(range(len(axes))))


# --------------------------------------------------------------------------------------
# Blocks of frames
# --------------------------------------------------------------------------------------


def blocks(n: int, row_elements: int, start: int = 0) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` frame ranges covering ``[start, n)`` in blocks of about 2 MiB.

    Examples
    --------
    >>> list(blocks(5, 1))
    [(0, 5)]
    """
    rows = max(16, BLOCK_BYTES // (8 * max(1, row_elements)))
    for s in range(start, n, rows):
        yield s, min(n, s + rows)


def float64_view(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``values`` reshaped to ``shape`` as a float64 view, or None where that needs a copy.

    Examples
    --------
    >>> float64_view(np.zeros((2, 3)), (6,)).shape, float64_view(np.zeros(2, np.float32), (2,))
    ((6,), None)
    """
    if values.dtype != np.float64:
        return None
    try:
        return np.reshape(values, shape, copy=False)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------
# Time derivatives (numpy.gradient's arithmetic, in blocks)
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _gradient_kernel(f, uniform, den, a, b, c, out):  # pragma: no cover - numba
    """Interior rows of numpy.gradient along axis 0 of ``f`` (n, m) into ``out``.

    Uniform steps: ``(after - before) / den`` with ``den = 2 dx``; otherwise
    ``a * before + b * here + c * after`` evaluated left to right, as numpy does.
    """
    n, m = f.shape
    for i in numba.prange(1, n - 1):
        if uniform:
            for k in range(m):
                out[i, k] = (f[i + 1, k] - f[i - 1, k]) / den
        else:
            ai = a[i - 1]
            bi = b[i - 1]
            ci = c[i - 1]
            for k in range(m):
                out[i, k] = ai * f[i - 1, k] + bi * f[i, k] + ci * f[i + 1, k]


class Gradient:
    """Rows of ``numpy.gradient(f, t, axis=0, edge_order=...)``, one block at a time.

    The coefficients and the order of the floating-point operations are numpy's, so
    the result equals ``numpy.gradient`` (and xarray's ``differentiate``) bit for bit.

    Parameters
    ----------
    t
        The time of every frame (e.g. :func:`behavior.dataset.time_seconds`).
    edge_order
        1 or 2, as in :func:`numpy.gradient`.

    Examples
    --------
    >>> t = np.array([0.0, 1.0, 3.0, 4.0])
    >>> f = t**2
    >>> bool((Gradient(t).full(f) == np.gradient(f, t)).all())
    True
    """

    def __init__(self, t: np.ndarray, edge_order: int = 1) -> None:
        if edge_order not in (1, 2):
            raise PoseDataError(f"edge_order: expected 1 or 2, found {edge_order!r}")
        n = t.shape[0]
        if n < edge_order + 1:
            raise PoseDataError(
                f"time: differentiating needs at least {edge_order + 1} frames "
                f"(edge_order={edge_order}), found {n}"
            )
        self.n = n
        self.edge_order = edge_order
        dx = np.diff(t)
        self.uniform = bool((dx == dx[0]).all())
        self.dx = dx[0] if self.uniform else dx
        if not self.uniform:
            dx1, dx2 = dx[0:-1], dx[1:]
            self.a = -(dx2) / (dx1 * (dx1 + dx2))
            self.b = (dx2 - dx1) / (dx1 * dx2)
            self.c = dx1 / (dx2 * (dx1 + dx2))

    def rows(self, f: np.ndarray, start: int, stop: int) -> np.ndarray:
        """The derivative at frames ``[start, stop)`` of ``f`` (time on axis 0)."""
        out = np.empty((stop - start, *f.shape[1:]), dtype=f.dtype)
        shape = (-1,) + (1,) * (f.ndim - 1)
        lo, hi = max(start, 1), min(stop, self.n - 1)
        if hi > lo:
            target = out[lo - start : hi - start]
            before, here, after = f[lo - 1 : hi - 1], f[lo:hi], f[lo + 1 : hi + 1]
            in_place = f.dtype == np.float64  # same roundings as numpy's expression
            if self.uniform and in_place:
                np.subtract(after, before, out=target)
                np.divide(target, 2.0 * self.dx, out=target)
            elif self.uniform:
                target[...] = (after - before) / (2.0 * self.dx)
            else:
                a = self.a[lo - 1 : hi - 1].reshape(shape)
                b = self.b[lo - 1 : hi - 1].reshape(shape)
                c = self.c[lo - 1 : hi - 1].reshape(shape)
                if in_place:
                    np.multiply(a, before, out=target)
                    tmp = np.multiply(b, here)
                    target += tmp
                    np.multiply(c, after, out=tmp)
                    target += tmp
                else:
                    target[...] = a * before + b * here + c * after
        if start == 0:
            out[0] = self._edge(f, first=True)
        if stop == self.n:
            out[-1] = self._edge(f, first=False)
        return out

    def _edge(self, f: np.ndarray, first: bool) -> np.ndarray:
        dx = self.dx
        if self.edge_order == 1:
            if first:
                return (f[1] - f[0]) / (dx if self.uniform else dx[0])
            return (f[-1] - f[-2]) / (dx if self.uniform else dx[-1])
        if first:
            if self.uniform:
                a, b, c = -1.5 / dx, 2.0 / dx, -0.5 / dx
            else:
                dx1, dx2 = dx[0], dx[1]
                a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
                b = (dx1 + dx2) / (dx1 * dx2)
                c = -dx1 / (dx2 * (dx1 + dx2))
            return a * f[0] + b * f[1] + c * f[2]
        if self.uniform:
            a, b, c = 0.5 / dx, -2.0 / dx, 1.5 / dx
        else:
            dx1, dx2 = dx[-2], dx[-1]
            a = (dx2) / (dx1 * (dx1 + dx2))
            b = -(dx2 + dx1) / (dx1 * dx2)
            c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
        return a * f[-3] + b * f[-2] + c * f[-1]

    def coefficients(self) -> tuple[bool, float, np.ndarray, np.ndarray, np.ndarray]:
        """Arguments of the numba kernels: uniform, 2 dx, and a, b, c per interior frame."""
        if self.uniform:
            one = np.ones(1)
            return True, float(2.0 * self.dx), one, one, one
        return False, 1.0, self.a, self.b, self.c

    def full(self, f: np.ndarray) -> np.ndarray:
        """The derivative at every frame."""
        out = np.empty(f.shape, dtype=f.dtype)
        flat = float64_view(f, (self.n, -1))
        if flat is not None and self.n > 2:
            _gradient_kernel(flat, *self.coefficients(), out.reshape(self.n, -1))
            out[0] = self._edge(f, first=True)
            out[-1] = self._edge(f, first=False)
            return out
        row = int(np.prod(f.shape[1:], dtype=np.int64))
        for s, e in blocks(self.n, row):
            out[s:e] = self.rows(f, s, e)
        return out


def warm_up() -> None:
    """Compile the numba kernel of this module on tiny inputs (once per process).

    Examples
    --------
    >>> warm_up()
    """
    f = np.array([[0.0, 1.0], [np.nan, 2.0], [2.0, np.nan], [3.0, 4.0], [4.0, 5.0]])
    one = np.ones(1)
    _gradient_kernel(f, True, 2.0, one, one, one, np.empty_like(f))


# --------------------------------------------------------------------------------------
# Angles and rotation
# --------------------------------------------------------------------------------------


def unwrap(values: np.ndarray) -> np.ndarray:
    """NaN-aware ``numpy.unwrap`` along axis 0 (a NaN does not poison later frames).

    Examples
    --------
    >>> unwrap(np.array([3.0, -3.0, np.nan, -3.0])).round(4).tolist()
    [3.0, 3.2832, nan, 3.2832]
    """
    step = np.diff(values, axis=0)
    wrapped = np.mod(step + np.pi, 2 * np.pi) - np.pi
    wrapped[(wrapped == -np.pi) & (step > 0)] = np.pi
    correction = np.where(np.isnan(step), 0.0, wrapped - step)
    out = values.astype(np.float64, copy=True)
    out[1:] += np.cumsum(correction, axis=0)
    return out


def rotate(position: xr.DataArray, angle: xr.DataArray, sign: float) -> xr.DataArray:
    """Rotate the x-y coordinates of ``position`` by ``sign * angle`` about z.

    Parameters
    ----------
    position
        Positions with a ``space`` dim (x, y and maybe z).
    angle
        Angles in radians, broadcast against ``position`` without ``space``.
    sign
        ``1.0`` turns from +x towards +y, ``-1.0`` back.

    Returns
    -------
    xr.DataArray
        The dims of ``position``; z unchanged but NaN where the rotated x is.

    Examples
    --------
    >>> p = xr.DataArray([[1.0, 0.0]], dims=("time", "space"), coords={"space": ["x", "y"]})
    >>> rotate(p, xr.DataArray([np.pi / 2], dims="time"), 1.0).values.round(6).tolist()
    [[0.0, 1.0]]
    """
    cos, sin = np.cos(angle), np.sin(angle) * sign
    x = position.sel(space="x", drop=True)
    y = position.sel(space="y", drop=True)
    new_x = cos * x - sin * y
    new_y = sin * x + cos * y
    parts = [new_x, new_y]
    if position.sizes["space"] == 3:
        parts.append(position.sel(space="z", drop=True) + 0.0 * new_x)
    labels = xr.DataArray(position["space"].values, dims="space", name="space")
    rotated = xr.concat(parts, dim=labels, coords="minimal", compat="override")
    return rotated.transpose(*position.dims)


def rotate_xy(points: np.ndarray, angle: np.ndarray, sign: float) -> np.ndarray:
    """Rotate ``(..., space, K)`` points about z by ``sign * angle`` (shape ``(...)``).

    x and y are rows 0 and 1 of the ``space`` axis; any further row (z) is copied
    unchanged. The numpy twin of :func:`rotate`, with the same arithmetic for x and y.

    Examples
    --------
    >>> p = np.array([[[1.0], [0.0]]])  # one frame, (x, y), one point
    >>> rotate_xy(p, np.array([np.pi / 2]), 1.0).round(6).tolist()
    [[[0.0], [1.0]]]
    """
    cos = np.cos(angle)[..., None]
    sin = sign * np.sin(angle)[..., None]
    out = points.copy()
    out[..., 0, :] = cos * points[..., 0, :] - sin * points[..., 1, :]
    out[..., 1, :] = sin * points[..., 0, :] + cos * points[..., 1, :]
    return out
