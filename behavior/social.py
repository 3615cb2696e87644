"""Pairwise relations between individuals: distances, angles, approach and following.

Every function returns a DataArray with an ``individual`` and an ``other`` dim:
the value for the ordered pair (``individual`` = i, ``other`` = j) describes j as
seen from i. :func:`relations` gathers them in one Dataset with dims
``(time, individual, other)``.

Conventions
-----------
- ``other`` carries the same labels as ``individual``; the pair of an individual
  with itself is NaN, so ``min("other")`` is the value for the nearest other
  animal. A single individual gives a ``(time, 1, 1)`` array of NaN.
- Distances are in the dataset's ``space_unit`` (pixels until
  :func:`behavior.kinematics.calibrate`), in all spatial dimensions (x-y or
  x-y-z). Angles are degrees in ``[0, 180]``, measured in the x-y plane (for
  3-D data: the projection seen from above). Speeds are in ``space_unit`` per
  second when ``time`` is in seconds (per frame when it counts frames), from
  the ``time`` coordinate (irregular timestamps honoured). Each variable's
  ``attrs["units"]`` says which.
- NaN is missing data and is never filled. A minimum over keypoints (closest
  distance, nearest body point) uses the keypoints present in the frame and is
  NaN only when none is; a quantity of named keypoints (nose, ears, tail base)
  is NaN when one of them is missing.

Keypoint roles
--------------
Relations need to know which keypoint is the nose, the ears, the neck, the tail
base and which keypoints make up the body. :func:`keypoint_roles` maps them by
name (case, spaces, ``-`` and ``_`` ignored: ``"tail base"``, ``"tail_base"``,
``"TailBase"`` match; ``"snout"`` is a nose; ``"ear_left"`` and ``"leftear"``
are left ears). The *body* is every keypoint except tail keypoints beyond the
tail base (``tail_mid``, ``tail_tip``, ``"tail middle"`` ...), as the tail
trails far from the animal and says little about where its body is. Override
any role with ``keypoints={"nose": "snout_tip", "body": [...]}``.

The body axis (for :func:`relative_angle`) runs from the tail base to the neck
when there is a neck, else to the nose: the head turns on its own, the trunk
less. The head direction (for :func:`gaze_offset`) runs from the midpoint of
the ears to the nose, falling back to neck -> nose, then tail base -> nose when
the dataset has no ears (or no neck).

The hot loops (minimum over keypoint pairs, nearest body point, following) are
numba kernels (``cache=True``, frames in parallel) compiled by :func:`_warm_up`.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numba
import numpy as np
import xarray as xr

from behavior._pose import Gradient, core_position, float_values, moved, position_of
from behavior._pose import warm_up as warm_up_pose
from behavior.dataset import append_log, fps_of, require_dims, time_seconds
from behavior.errors import PoseDataError
from behavior.kinematics import body_heading, centroid
from behavior.units import to_frames

__all__ = [
    "RELATIONS",
    "KeypointRoles",
    "approach_speed",
    "centroid_distances",
    "closest_distance",
    "gaze_offset",
    "is_following",
    "keypoint_roles",
    "nose_to_body",
    "nose_to_nose",
    "nose_to_tail_base",
    "relations",
    "relative_angle",
]

logger = logging.getLogger(__name__)

RELATIONS = (
    "centroid_distance",
    "closest_distance",
    "nose_to_nose",
    "nose_to_body",
    "nose_to_tail_base",
    "relative_angle",
    "gaze_offset",
    "approach_speed",
    "following",
)
"""Names of the variables of :func:`relations`, in order."""

_ROLES = ("nose", "left_ear", "right_ear", "neck", "body_center", "tail_base")
_ALIASES = {
    "nose": ("nose", "snout", "nosetip", "snouttip"),
    "left_ear": ("leftear", "earleft", "earl", "leftearbase"),
    "right_ear": ("rightear", "earright", "earr", "rightearbase"),
    "neck": ("neck", "nape", "headbase", "neckbase"),
    "body_center": (
        "bodycenter",
        "bodycentre",
        "centerback",
        "centreback",
        "center",
        "centre",
        "midback",
        "midbody",
        "spinemid",
        "mid",
    ),
    "tail_base": ("tailbase", "tailroot", "basetail", "tailstart", "tail0"),
}


def _normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# --------------------------------------------------------------------------------------
# Keypoint roles
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeypointRoles:
    """Which keypoint plays which part in the relations between animals.

    Attributes
    ----------
    nose, left_ear, right_ear, neck, body_center, tail_base
        Keypoint names, or None where the dataset has no such keypoint.
    body
        The keypoints that make up the body: closest distances, the nearest
        body point and the centroid use them.
    available
        Every keypoint of the dataset (for error messages).

    Examples
    --------
    >>> roles = KeypointRoles(nose="snout", tail_base="tail base", body=("snout", "tail base"))
    >>> roles.require("nose")
    'snout'
    """

    nose: str | None = None
    left_ear: str | None = None
    right_ear: str | None = None
    neck: str | None = None
    body_center: str | None = None
    tail_base: str | None = None
    body: tuple[str, ...] = ()
    available: tuple[str, ...] = field(default=(), compare=False)

    def require(self, role: str, needed_by: str = "") -> str:
        """The keypoint playing ``role``, or a :class:`PoseDataError` naming it."""
        name = getattr(self, role, None)
        if name is None:
            what = f"{needed_by} needs" if needed_by else "needs"
            raise PoseDataError(
                f"keypoints: {what} a {role!r} keypoint and none was found among the "
                f"dataset's keypoints {list(self.available)}; name it with "
                f"keypoints={{{role!r}: '<keypoint>'}}"
            )
        return name

    @property
    def body_axis(self) -> tuple[str, str]:
        """``(from, to)`` of the body axis: tail base -> neck, else tail base -> nose."""
        tail = self.require("tail_base", "the body axis")
        front = self.neck if self.neck is not None else self.require("nose", "the body axis")
        return tail, front

    @property
    def head(self) -> tuple[str | tuple[str, str], str]:
        """``(origin, nose)`` of the head direction; the origin is a pair of ears or a keypoint."""
        nose = self.require("nose", "the head direction")
        if self.left_ear is not None and self.right_ear is not None:
            return (self.left_ear, self.right_ear), nose
        if self.neck is not None:
            return self.neck, nose
        return self.require("tail_base", "the head direction"), nose


def keypoint_roles(
    ds: xr.Dataset | xr.DataArray | Sequence[str],
    keypoints: KeypointRoles | Mapping[str, Any] | None = None,
) -> KeypointRoles:
    """Map the roles (nose, ears, neck, body centre, tail base, body) to keypoint names.

    Parameters
    ----------
    ds
        Pose dataset, positions with a ``keypoint`` dim, or the keypoint names.
    keypoints
        Overrides: a :class:`KeypointRoles`, or a mapping from role to keypoint
        name (None: the dataset has no such keypoint); ``"body"`` maps to a list
        of keypoints or ``"all"``.

    Returns
    -------
    KeypointRoles
        Roles found by name (see the module docstring), then the overrides.

    Raises
    ------
    PoseDataError
        For an unknown role or a keypoint the dataset does not have.

    Examples
    --------
    >>> roles = keypoint_roles(["Snout", "ear_left", "EarRight", "tail base", "tail tip"])
    >>> roles.nose, roles.left_ear, roles.tail_base, roles.body
    ('Snout', 'ear_left', 'tail base', ('Snout', 'ear_left', 'EarRight', 'tail base'))
    """
    if isinstance(ds, xr.Dataset | xr.DataArray):
        position = position_of(ds)
        require_dims(position, "keypoint", name="position")
        names = tuple(str(k) for k in position["keypoint"].values)
    else:
        names = tuple(str(k) for k in ds)
    if isinstance(keypoints, KeypointRoles):
        named = [getattr(keypoints, r) for r in _ROLES]
        _check_names([k for k in (*named, *keypoints.body) if k is not None], names, "keypoints")
        return replace(keypoints, available=names)
    found: dict[str, Any] = {}
    normal = {_normalised(n): n for n in reversed(names)}  # first spelling wins
    for role in _ROLES:
        found[role] = next((normal[a] for a in _ALIASES[role] if a in normal), None)
    if keypoints is not None and not isinstance(keypoints, Mapping):
        raise PoseDataError(
            "keypoints: expected None, a KeypointRoles or a dict of roles such as "
            f"{{'nose': 'snout', 'body': [...]}}, found {type(keypoints).__name__} {keypoints!r}"
        )
    overrides = dict(keypoints or {})
    unknown = sorted(set(overrides) - {*_ROLES, "body"})
    if unknown:
        raise PoseDataError(
            f"keypoints: unknown role(s) {unknown}; the roles are {[*_ROLES, 'body']}"
        )
    for role in _ROLES:
        if role in overrides:
            value = overrides[role]
            if value is not None:
                _check_names([value], names, f"keypoints[{role!r}]")
            found[role] = None if value is None else str(value)
    body = overrides.get("body")
    if body is None:
        tail = found["tail_base"]
        body = tuple(n for n in names if "tail" not in _normalised(n) or n == tail) or names
    elif isinstance(body, str) and body == "all":
        body = names
    else:
        body = (body,) if isinstance(body, str) else tuple(str(b) for b in body)
        if not body:
            raise PoseDataError("keypoints['body']: expected at least one keypoint, found none")
        _check_names(body, names, "keypoints['body']")
    return KeypointRoles(**found, body=tuple(body), available=names)


def _check_names(wanted: Sequence[str], names: Sequence[str], arg: str) -> None:
    for name in wanted:
        if str(name) not in names:
            raise PoseDataError(
                f"{arg}: keypoint {name!r} not found; the dataset has keypoints {list(names)}"
            )


# --------------------------------------------------------------------------------------
# Centroid distances
# --------------------------------------------------------------------------------------


def centroid_distances(
    ds_or_position: xr.Dataset | xr.DataArray, keypoints: Sequence[str] | None = None
) -> xr.DataArray:
    """Distance between the centroids of every ordered pair of individuals.

    Parameters
    ----------
    ds_or_position
        Pose dataset or positions with dims ``space``, ``keypoint`` and
        ``individual``.
    keypoints
        Keypoints whose mean is each animal's centroid (default: all; see
        :func:`behavior.kinematics.centroid`).

    Returns
    -------
    xr.DataArray
        Dims of the positions with ``space`` and ``keypoint`` dropped and an
        ``other`` dim after ``individual`` (``(time, individual, other)`` for a
        pose dataset), in space units; symmetric in ``individual`` and
        ``other``. The diagonal (an individual with itself) is NaN, so that
        ``min("other")`` is the distance to the nearest other animal.

    Raises
    ------
    PoseDataError
        If a dim or keypoint is missing.

    Notes
    -----
    NaN where either centroid is NaN (no keypoint of that animal present in the
    frame).

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="5 s", seed=0)
    >>> d = centroid_distances(ds)
    >>> d.dims, bool(d.isel(time=0, individual=0, other=0).isnull())
    (('time', 'individual', 'other'), True)
    """
    position = position_of(ds_or_position)
    require_dims(position, "space", "keypoint", "individual", name="position")
    names = [str(v) for v in position["individual"].values]
    if len(names) < 1:
        raise PoseDataError("individual: expected at least one individual, found none")
    center = centroid(position, keypoints)
    axis_space = center.get_axis_num("space")
    axis_ind = center.get_axis_num("individual")
    values = np.moveaxis(np.asarray(center.values), [axis_space, axis_ind], [-2, -1])
    # values: (..., space, individual); one distance per unordered pair, over all
    # frames at once, written to both orders ((a - b)**2 == (b - a)**2 exactly)
    n_ind = len(names)
    dist = np.empty((*values.shape[:-2], n_ind, n_ind), dtype=values.dtype)
    dist[..., np.arange(n_ind), np.arange(n_ind)] = np.nan
    for i in range(n_ind):
        for j in range(i + 1, n_ind):
            total = None
            for d in range(values.shape[-2]):
                step = values[..., d, i] - values[..., d, j]
                np.multiply(step, step, out=step)
                total = step if total is None else np.add(total, step, out=total)
            if total is None:  # no space dim: every point at the origin
                total = np.zeros(values.shape[:-2], dtype=values.dtype)
            dist[..., i, j] = dist[..., j, i] = np.sqrt(total, out=total)
    rest = [d for d in center.dims if d not in ("space", "individual")]
    dims_out = []
    for d in center.dims:
        if d == "space":
            continue
        dims_out.append(d)
        if d == "individual":
            dims_out.append("other")
    order = [*rest, "individual", "other"]
    data = np.transpose(dist, [order.index(d) for d in dims_out])
    coords = {k: v for k, v in center.coords.items() if "space" not in v.dims}
    out = xr.DataArray(
        data, dims=dims_out, coords=coords, name="centroid_distance", attrs=dict(center.attrs)
    )
    out = out.assign_coords(other=("other", position["individual"].values))
    return append_log(out, "social.centroid_distances", keypoints=keypoints)


# --------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _closest_kernel(f, body, out):  # pragma: no cover - numba
    """Minimum distance over the ``body`` keypoint pairs of every two individuals.

    ``f`` (n, space, keypoint, individual); ``out`` (n, individual, individual),
    symmetric, NaN on the diagonal and where no pair of keypoints is present.
    """
    n, n_space, _, n_ind = f.shape
    nb = body.shape[0]
    for t in numba.prange(n):
        for i in range(n_ind):
            out[t, i, i] = np.nan
            for j in range(i + 1, n_ind):
                best = np.inf
                for a in range(nb):
                    ka = body[a]
                    for b in range(nb):
                        kb = body[b]
                        acc = 0.0
                        for d in range(n_space):
                            v = f[t, d, ka, i] - f[t, d, kb, j]
                            acc += v * v
                        if acc < best:  # False for NaN: missing keypoints drop out
                            best = acc
                value = math.sqrt(best) if best < np.inf else np.nan
                out[t, i, j] = value
                out[t, j, i] = value


@numba.njit(cache=True, parallel=True)
def _nearest_kernel(p, f, body, dist, target):  # pragma: no cover - numba
    """For each ordered pair (i, j): the body keypoint of j nearest to the point ``p`` of i.

    ``p`` (n, space, individual); ``f`` (n, space, keypoint, individual); writes
    ``dist`` (n, i, j) and the nearest point ``target`` (n, space, i, j); NaN on
    the diagonal and where ``p`` or every body keypoint of j is missing.
    """
    n, n_space, _, n_ind = f.shape
    nb = body.shape[0]
    for t in numba.prange(n):
        for i in range(n_ind):
            for j in range(n_ind):
                best = np.inf
                pick = -1
                if i != j:
                    for b in range(nb):
                        kb = body[b]
                        acc = 0.0
                        for d in range(n_space):
                            v = p[t, d, i] - f[t, d, kb, j]
                            acc += v * v
                        if acc < best:
                            best = acc
                            pick = kb
                if pick < 0:
                    dist[t, i, j] = np.nan
                    for d in range(n_space):
                        target[t, d, i, j] = np.nan
                else:
                    dist[t, i, j] = math.sqrt(best)
                    for d in range(n_space):
                        target[t, d, i, j] = f[t, d, pick, j]


@numba.njit(cache=True, parallel=True)
def _trail_kernel(p, q, lag, out):  # pragma: no cover - numba
    """``out[t, i, j]``: the smallest distance from ``p[t, :, i]`` to ``q[t - k, :, j]``
    over ``k = 0 .. lag`` (frames before the first ignored); NaN on the diagonal,
    where ``p`` is missing, or where ``q`` is missing throughout."""
    n, n_space, n_ind = p.shape
    for t in numba.prange(n):
        first = t - lag if t >= lag else 0
        for i in range(n_ind):
            for j in range(n_ind):
                best = np.inf
                if i != j:
                    for s in range(first, t + 1):
                        acc = 0.0
                        for d in range(n_space):
                            v = p[t, d, i] - q[s, d, j]
                            acc += v * v
                        if acc < best:
                            best = acc
                out[t, i, j] = math.sqrt(best) if best < np.inf else np.nan


def _warm_up() -> None:
    """Compile the numba kernels this module uses on tiny inputs (once per process)."""
    warm_up_pose()  # the time derivative of approach_speed
    f = np.zeros((3, 2, 2, 2))
    f[1, 0, 0, 1] = np.nan
    body = np.arange(2, dtype=np.int64)
    _closest_kernel(f, body, np.empty((3, 2, 2)))
    p = np.ascontiguousarray(f[:, :, 0, :])
    _nearest_kernel(p, f, body, np.empty((3, 2, 2)), np.empty((3, 2, 2, 2)))
    _trail_kernel(p, p, 1, np.empty((3, 2, 2)))


# --------------------------------------------------------------------------------------
# The pairs of one dataset
# --------------------------------------------------------------------------------------


class _Pairs:
    """Positions of one pose dataset as (time, space, keypoint, individual) floats,
    with its keypoint roles and the helpers that wrap (time, individual, other) results."""

    def __init__(
        self,
        ds: xr.Dataset | xr.DataArray,
        keypoints: KeypointRoles | Mapping[str, Any] | None,
        operation: str,
    ) -> None:
        position = core_position(ds, operation)
        if position.sizes["individual"] < 1:
            raise PoseDataError("individual: expected at least one individual, found none")
        self.position = position
        self.roles = keypoint_roles(position, keypoints)
        order = ["time", "space", "keypoint", "individual"]
        values = moved(float_values(position), position, order)
        self.values = np.ascontiguousarray(values, dtype=np.float64)
        self.keypoints = [str(k) for k in position["keypoint"].values]
        self.space_unit = str(position.attrs.get("space_unit", "pixels"))
        frames = str(position.attrs.get("time_unit", "seconds")) == "frames"
        self.speed_unit = f"{self.space_unit}/{'frame' if frames else 's'}"
        self._cache: dict[str, Any] = {}

    def index(self, names: Sequence[str]) -> np.ndarray:
        return np.array([self.keypoints.index(n) for n in names], dtype=np.int64)

    def point(self, name: str | tuple[str, str]) -> np.ndarray:
        """(time, space, individual) positions of a keypoint, or the midpoint of two."""
        if isinstance(name, tuple):
            a, b = (self.values[:, :, self.keypoints.index(k)] for k in name)
            return 0.5 * a + 0.5 * b
        return np.ascontiguousarray(self.values[:, :, self.keypoints.index(name)])

    def wrap(self, data: np.ndarray, name: str, units: str, description: str) -> xr.DataArray:
        position = self.position
        coords = {
            k: v
            for k, v in position.coords.items()
            if set(v.dims) <= {"time", "individual"} and k not in ("space", "keypoint")
        }
        out = xr.DataArray(
            data, dims=("time", "individual", "other"), coords=coords, name=name
        ).assign_coords(other=("other", position["individual"].values))
        out.attrs = {k: v for k, v in position.attrs.items() if k not in ("units", "long_name")}
        out.attrs["units"] = units
        out.attrs["long_name"] = description
        return out

    # ---- the relations, as numpy (time, individual, other) ----

    def centroid_distance(self) -> np.ndarray:
        if "centroid" not in self._cache:
            d = centroid_distances(self.position, keypoints=list(self.roles.body))
            self._cache["centroid"] = np.ascontiguousarray(
                d.transpose("time", "individual", "other").values
            )
        return self._cache["centroid"]

    def closest_distance(self) -> np.ndarray:
        n_ind = self.values.shape[3]
        out = np.empty((self.values.shape[0], n_ind, n_ind))
        _closest_kernel(self.values, self.index(self.roles.body), out)
        return out

    def nose_to_body(self) -> tuple[np.ndarray, np.ndarray]:
        if "nearest" not in self._cache:
            nose = self.point(self.roles.require("nose", "nose_to_body"))
            n, n_space, n_ind = nose.shape
            dist = np.empty((n, n_ind, n_ind))
            target = np.empty((n, n_space, n_ind, n_ind))
            _nearest_kernel(nose, self.values, self.index(self.roles.body), dist, target)
            self._cache["nearest"] = dist, target
        return self._cache["nearest"]

    def point_to_point(self, mine: str, theirs: str) -> np.ndarray:
        a = self.point(self.roles.require(mine, f"{mine}_to_{theirs}"))
        b = self.point(self.roles.require(theirs, f"{mine}_to_{theirs}"))
        diff = a[:, :, :, None] - b[:, :, None, :]
        out = np.sqrt(np.add.reduce(diff * diff, axis=1))
        _nan_diagonal(out)
        return out

    def relative_angle(self) -> np.ndarray:
        tail, front = self.roles.body_axis
        heading = body_heading(self.position, tail, front)
        h = np.asarray(heading.transpose("time", "individual").values)
        diff = h[:, :, None] - h[:, None, :]
        out = np.degrees(np.abs(np.mod(diff + np.pi, 2 * np.pi) - np.pi))
        _nan_diagonal(out)
        return out

    def gaze_offset(self) -> np.ndarray:
        origin_name, nose_name = self.roles.head
        origin = self.point(origin_name)[:, :2]  # (time, xy, individual)
        nose = self.point(nose_name)[:, :2]
        _, target = self.nose_to_body()
        look = nose - origin
        to = target[:, :2] - origin[:, :, :, None]  # (time, xy, individual, other)
        lx, ly = look[:, 0, :, None], look[:, 1, :, None]
        tx, ty = to[:, 0], to[:, 1]
        angle = np.degrees(np.arctan2(np.abs(lx * ty - ly * tx), lx * tx + ly * ty))
        degenerate = ((lx == 0) & (ly == 0)) | ((tx == 0) & (ty == 0))
        angle[degenerate] = np.nan
        return angle

    def approach_speed(self) -> np.ndarray:
        distance = self.centroid_distance()
        if distance.shape[0] < 2:
            return np.full(distance.shape, np.nan)
        g = Gradient(time_seconds(self.position), 1)
        return -g.full(distance)

    def following(self, window: Any, tolerance: float | None) -> tuple[np.ndarray, int, float]:
        nose_name = self.roles.require("nose", "following")
        tail_name = self.roles.require("tail_base", "following")
        lag = to_frames(window, fps_of(self.position), name="follow_window")
        if tolerance is None:
            diff = self.point(nose_name) - self.point(tail_name)
            length = np.sqrt(np.add.reduce(diff * diff, axis=1))
            if not np.isfinite(length).any():
                raise PoseDataError(
                    "follow_tolerance: the default (a quarter of the median nose-to-tail-base "
                    "length) needs nose and tail base seen together at least once; give "
                    "follow_tolerance in space units"
                )
            tolerance = 0.25 * float(np.nanmedian(length))
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float | np.number):
            raise PoseDataError(
                f"follow_tolerance: expected a positive distance in {self.space_unit} or None, "
                f"found {tolerance!r}"
            )
        tolerance = float(tolerance)
        if not tolerance > 0 or not math.isfinite(tolerance):
            raise PoseDataError(
                f"follow_tolerance: expected a positive distance in {self.space_unit}, "
                f"found {tolerance!r}"
            )
        nose = self.point(nose_name)
        tail = self.point(tail_name)
        n, _, n_ind = nose.shape
        trail = np.empty((n, n_ind, n_ind))
        _trail_kernel(nose, tail, lag, trail)
        moved_nose = _moved_by(nose, lag)  # (time, individual)
        moved_tail = _moved_by(tail, lag)
        with np.errstate(invalid="ignore"):
            on_path = trail < tolerance
            both = (moved_nose[:, :, None] > tolerance) & (moved_tail[:, None, :] > tolerance)
        out = (on_path & both).astype(np.float64)
        unknown = np.isnan(trail) | np.isnan(moved_nose)[:, :, None] | np.isnan(moved_tail)[:, None]
        out[unknown] = np.nan
        _nan_diagonal(out)
        return out, lag, tolerance


def _nan_diagonal(values: np.ndarray) -> None:
    idx = np.arange(values.shape[-1])
    values[..., idx, idx] = np.nan


def _moved_by(points: np.ndarray, lag: int) -> np.ndarray:
    """(time, individual) distance from each point ``lag`` frames ago to now (NaN before)."""
    out = np.full((points.shape[0], points.shape[2]), np.nan)
    if 0 < lag < points.shape[0]:
        diff = points[lag:] - points[:-lag]
        out[lag:] = np.sqrt(np.add.reduce(diff * diff, axis=1))
    elif lag == 0:
        out[:] = 0.0
    return out


_DESCRIPTIONS = {
    "centroid_distance": "distance between the centroids of the two bodies",
    "closest_distance": "smallest distance between a body keypoint of each animal",
    "nose_to_nose": "distance between the two noses",
    "nose_to_body": "distance from my nose to the nearest body keypoint of the other",
    "nose_to_tail_base": "distance from my nose to the other's tail base",
    "relative_angle": "angle between the two body axes (0 parallel, 180 opposite)",
    "gaze_offset": "angle between my head direction and the direction to the other's "
    "body keypoint nearest to my nose (0 looking straight at it)",
    "approach_speed": "rate at which the centroid distance shrinks (positive: closing in)",
    "following": "1 where my nose is on the other's recent tail-base path while both move",
}


def _compute(pairs: _Pairs, name: str, window: Any = "1 s", tolerance: Any = None) -> xr.DataArray:
    unit = pairs.space_unit
    if name == "centroid_distance":
        data = pairs.centroid_distance()
    elif name == "closest_distance":
        data = pairs.closest_distance()
    elif name == "nose_to_nose":
        data = pairs.point_to_point("nose", "nose")
    elif name == "nose_to_body":
        data = pairs.nose_to_body()[0]
    elif name == "nose_to_tail_base":
        data = pairs.point_to_point("nose", "tail_base")
    elif name == "relative_angle":
        data, unit = pairs.relative_angle(), "deg"
    elif name == "gaze_offset":
        data, unit = pairs.gaze_offset(), "deg"
    elif name == "approach_speed":
        data, unit = pairs.approach_speed(), pairs.speed_unit
    elif name == "following":
        data, lag, tol = pairs.following(window, tolerance)
        out = pairs.wrap(data, name, "1", _DESCRIPTIONS[name])
        out.attrs["follow_window_frames"] = lag
        out.attrs["follow_tolerance"] = tol
        return out
    else:
        raise PoseDataError(f"variables: unknown relation {name!r}; expected some of {RELATIONS}")
    return pairs.wrap(data, name, unit, _DESCRIPTIONS[name])


def _one(
    ds: xr.Dataset | xr.DataArray,
    name: str,
    keypoints: KeypointRoles | Mapping[str, Any] | None,
    *,
    function: str | None = None,
    **params: Any,
) -> xr.DataArray:
    """The relation ``name`` alone, logged as ``social.<function>`` (default ``name``)."""
    pairs = _Pairs(ds, keypoints, name)
    out = _compute(pairs, name, **params)
    logged = {k: v for k, v in params.items()}
    operation = f"social.{function or name}"
    return append_log(out, operation, keypoints=_roles_record(pairs.roles), **logged)


def _roles_record(roles: KeypointRoles) -> dict[str, Any]:
    record: dict[str, Any] = {r: getattr(roles, r) for r in _ROLES}
    record["body"] = list(roles.body)
    return record


# --------------------------------------------------------------------------------------
# Public relations
# --------------------------------------------------------------------------------------

_Roles = KeypointRoles | Mapping[str, Any] | None


def closest_distance(ds: xr.Dataset | xr.DataArray, *, keypoints: _Roles = None) -> xr.DataArray:
    """Smallest distance between the bodies of every ordered pair of individuals.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`); the ``body`` role chooses the
        keypoints compared (default: all but the tail beyond its base; ``"all"``
        for every keypoint).

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)`` in space units: the minimum over every pair
        (body keypoint of ``individual``, body keypoint of ``other``); symmetric.

    Notes
    -----
    NaN on the diagonal and where no keypoint pair is present; missing
    keypoints otherwise just drop out of the minimum.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="5 s", seed=0)
    >>> d = closest_distance(bh.kinematics.calibrate(ds))
    >>> d.dims, d.attrs["units"]
    (('time', 'individual', 'other'), 'cm')
    """
    return _one(ds, "closest_distance", keypoints)


def nose_to_nose(ds: xr.Dataset | xr.DataArray, *, keypoints: _Roles = None) -> xr.DataArray:
    """Distance between the noses of every ordered pair of individuals.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`); needs a nose.

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)`` in space units, symmetric; NaN on the
        diagonal and where either nose is missing.

    Raises
    ------
    PoseDataError
        When no keypoint is a nose.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.zeros((1, 2, 1, 2)); pos[0, 0, 0, 1] = 3.0
    >>> ds = bh.from_numpy(pos, keypoint_names=["nose"])
    >>> float(nose_to_nose(ds)[0, 0, 1])
    3.0
    """
    return _one(ds, "nose_to_nose", keypoints)


def nose_to_body(ds: xr.Dataset | xr.DataArray, *, keypoints: _Roles = None) -> xr.DataArray:
    """Distance from my nose to the nearest body keypoint of the other.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`); ``body`` sets the keypoints
        that count as the other's body.

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)`` in space units (not symmetric); NaN on the
        diagonal, where my nose is missing or where none of the other's body
        keypoints is present.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.zeros((1, 2, 2, 2)); pos[0, 0, :, 1] = [5.0, 4.0]
    >>> ds = bh.from_numpy(pos, keypoint_names=["nose", "tail_base"])
    >>> float(nose_to_body(ds)[0, 0, 1]), float(nose_to_body(ds)[0, 1, 0])
    (4.0, 5.0)
    """
    return _one(ds, "nose_to_body", keypoints)


def nose_to_tail_base(ds: xr.Dataset | xr.DataArray, *, keypoints: _Roles = None) -> xr.DataArray:
    """Distance from my nose to the other's tail base (anogenital investigation).

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`); needs a nose and a tail base.

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)`` in space units; NaN on the diagonal and
        where either keypoint is missing.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.zeros((1, 2, 2, 2)); pos[0, 0, :, 1] = [5.0, 4.0]
    >>> ds = bh.from_numpy(pos, keypoint_names=["nose", "tail_base"])
    >>> float(nose_to_tail_base(ds)[0, 0, 1])
    4.0
    """
    return _one(ds, "nose_to_tail_base", keypoints)


def relative_angle(ds: xr.Dataset | xr.DataArray, *, keypoints: _Roles = None) -> xr.DataArray:
    """Angle between the body axes of every ordered pair of individuals.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`). The body axis runs from the
        tail base to the neck, or to the nose when there is no neck
        (``keypoints={"neck": None}`` forces the nose).

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)`` in degrees, ``[0, 180]``: 0 when the two
        face the same way, 180 when opposite; symmetric. Measured in the x-y
        plane (3-D data: seen from above).

    Notes
    -----
    NaN on the diagonal and where an axis keypoint is missing or the two
    coincide.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.zeros((1, 2, 2, 2))
    >>> pos[0, 0, 1, :] = 1.0   # both noses one unit along +x from their tail bases ...
    >>> pos[0, 0, 1, 1] = -1.0  # ... except the second, which faces -x
    >>> ds = bh.from_numpy(pos, keypoint_names=["tail_base", "nose"])
    >>> float(relative_angle(ds)[0, 0, 1])
    180.0
    """
    return _one(ds, "relative_angle", keypoints)


def gaze_offset(ds: xr.Dataset | xr.DataArray, *, keypoints: _Roles = None) -> xr.DataArray:
    """How far from my head direction the other's body lies, left or right alike.

    The head direction runs from the midpoint of the ears to the nose (from the
    neck, then the tail base, when the dataset has no ears). The target is the
    other's body keypoint nearest to my nose, seen from the same origin (the
    ears' midpoint), so that a target close to the nose does not swing the angle.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`); needs a nose and the ears, a
        neck or a tail base for the head direction, and ``body`` for the target.

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)`` in degrees, ``[0, 180]``: 0 when my head
        points straight at the other's body, 90 when it is beside me, 180 behind;
        the same on my left and my right. Measured in the x-y plane.

    Notes
    -----
    NaN on the diagonal, where a head keypoint is missing, where none of the
    other's body keypoints is present, and where the head direction or the
    direction to the target has zero length.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.zeros((1, 2, 3, 2))
    >>> pos[0, :, :, 0] = [[1, 0, 0], [0, 1, -1]]  # nose at (1, 0), ears at (0, +-1)
    >>> pos[0, :, :, 1] = [[5, 5, 5], [5, 5, 5]]    # the other at (5, 5)
    >>> ds = bh.from_numpy(pos, keypoint_names=["nose", "left_ear", "right_ear"])
    >>> round(float(gaze_offset(ds)[0, 0, 1]), 6)
    45.0
    """
    return _one(ds, "gaze_offset", keypoints)


def approach_speed(ds: xr.Dataset | xr.DataArray, *, keypoints: _Roles = None) -> xr.DataArray:
    """Rate at which the centroid distance shrinks: positive while closing in.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`); the centroid is the mean of
        the ``body`` keypoints.

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)``: ``-d(centroid_distance)/dt`` in space
        units per second (per frame when ``time`` counts frames), by central
        differences on the ``time`` coordinate as :func:`behavior.kinematics.velocity`;
        symmetric.

    Notes
    -----
    NaN on the diagonal and, as for velocity, in frames next to a missing
    centroid.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> pos = np.zeros((5, 2, 1, 2)); pos[:, 0, 0, 1] = 10.0 - np.arange(5)
    >>> ds = bh.from_numpy(pos, keypoint_names=["nose"], fps=10)
    >>> approach_speed(ds)[:, 0, 1].values.round(9).tolist()
    [10.0, 10.0, 10.0, 10.0, 10.0]
    """
    return _one(ds, "approach_speed", keypoints)


def is_following(
    ds: xr.Dataset | xr.DataArray,
    *,
    keypoints: _Roles = None,
    follow_window: int | float | str = "1 s",
    follow_tolerance: float | None = None,
) -> xr.DataArray:
    """Per frame, whether my nose follows the path the other's tail base took just before.

    ``individual`` follows ``other`` in frame ``t`` when (a) my nose at ``t`` is
    within ``follow_tolerance`` of a point the other's tail base occupied in the
    last ``follow_window`` (frames ``t - window .. t``), and (b) both moved: my
    nose and the other's tail base are each more than ``follow_tolerance`` away
    from where they were ``follow_window`` ago. (b) keeps two animals resting
    nose to tail from counting as following.

    This is the per-frame relation ``following`` of :func:`relations`; the preset
    :func:`behavior.events.following` turns it into bouts.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles (see :func:`keypoint_roles`); needs a nose and a tail base.
    follow_window
        How far back the other's path counts: a duration (``"1 s"``, seconds as
        a float) or frames (an int).
    follow_tolerance
        Distance in space units; default a quarter of the median nose-to-tail-base
        length of all animals (about 2.4 cm for a mouse), so no unit is guessed.

    Returns
    -------
    xr.DataArray
        ``(time, individual, other)`` of 1.0 (following), 0.0 or NaN, named
        ``following``, with attrs ``follow_window_frames`` and ``follow_tolerance``.

    Notes
    -----
    NaN on the diagonal, where my nose is missing, where the other's tail base
    is missing throughout the window, where either end of a motion check is
    missing, and in the first ``follow_window`` frames (no history yet).

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> t = np.arange(60) / 30.0
    >>> leader = np.stack([10 * t, 0 * t], 1)  # tail base of the leader, moving +x
    >>> pos = np.zeros((60, 2, 2, 2))
    >>> pos[:, :, 1, 0] = leader; pos[:, :, 0, 0] = leader + [5.0, 0.0]  # its tail, nose
    >>> pos[:, :, 0, 1] = leader - [1.0, 0.0]; pos[:, :, 1, 1] = leader - [6.0, 0.0]
    >>> ds = bh.from_numpy(pos, keypoint_names=["nose", "tail_base"], fps=30)
    >>> f = is_following(ds)
    >>> float(f[-1, 1, 0]), float(f[-1, 0, 1])
    (1.0, 0.0)
    """
    return _one(
        ds,
        "following",
        keypoints,
        function="is_following",
        window=follow_window,
        tolerance=follow_tolerance,
    )


def relations(
    ds: xr.Dataset | xr.DataArray,
    *,
    keypoints: _Roles = None,
    follow_window: int | float | str = "1 s",
    follow_tolerance: float | None = None,
    variables: Sequence[str] | None = None,
) -> xr.Dataset:
    """Every pairwise relation of every ordered pair of individuals, in one Dataset.

    Parameters
    ----------
    ds
        Pose dataset (or positions) with dims ``(time, space, keypoint, individual)``.
    keypoints
        Keypoint roles: a :class:`KeypointRoles` or a mapping of overrides (see
        :func:`keypoint_roles`).
    follow_window, follow_tolerance
        As in :func:`is_following`.
    variables
        The relations to compute (default :data:`RELATIONS`, all of them).

    Returns
    -------
    xr.Dataset
        Variables with dims ``(time, individual, other)`` (see :data:`RELATIONS`
        and the function of each name): ``centroid_distance``,
        ``closest_distance``, ``nose_to_nose``, ``nose_to_body``,
        ``nose_to_tail_base`` in space units; ``relative_angle`` and
        ``gaze_offset`` in degrees; ``approach_speed`` in space units per second;
        ``following`` as 1/0/NaN. Each variable's ``attrs["units"]`` and
        ``attrs["long_name"]`` say what it is. The dataset keeps the input's
        attrs, ``time`` and ``individual`` coordinates, records the keypoint
        roles in ``attrs["keypoint_roles"]`` and one ``social.relations`` step in
        its log.

    Raises
    ------
    PoseDataError
        For a missing dim, an unknown relation, or a keypoint role a requested
        relation needs and the dataset lacks (the message names the role and
        lists the keypoints).

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="5 s", seed=0)
    >>> rel = relations(bh.kinematics.calibrate(ds))
    >>> rel.closest_distance.dims, rel.gaze_offset.attrs["units"]
    (('time', 'individual', 'other'), 'deg')
    """
    if isinstance(variables, str):
        variables = [variables]
    if variables is not None and not isinstance(variables, Sequence | np.ndarray):
        raise PoseDataError(
            f"variables: expected None or a list of relation names, found {variables!r}"
        )
    names = list(RELATIONS if variables is None else variables)
    unknown = [n for n in names if n not in RELATIONS]
    if unknown:
        raise PoseDataError(
            f"variables: unknown relation(s) {unknown}; expected some of {list(RELATIONS)}"
        )
    pairs = _Pairs(ds, keypoints, "relations")
    out = xr.Dataset(
        {n: _compute(pairs, n, follow_window, follow_tolerance) for n in names},
    )
    out.attrs = {k: v for k, v in pairs.position.attrs.items() if k not in ("units", "long_name")}
    out.attrs["ds_type"] = "relations"
    for name in names:
        for key in ("log", "fps", "time_unit", "space_unit", "source_software", "source_file"):
            out[name].attrs.pop(key, None)
    roles = _roles_record(pairs.roles)
    out.attrs["keypoint_roles"] = json.dumps(roles)
    return append_log(
        out,
        "social.relations",
        keypoints=roles,
        follow_window=follow_window,
        follow_tolerance=follow_tolerance,
        variables=names,
    )
