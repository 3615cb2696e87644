"""Regions of interest: zones, occupancy, entries and exits, distance inside, layouts.

A zone is a :class:`Polygon` (optionally with holes), a :class:`Rectangle` or a
:class:`Circle` in the dataset's space units (pixels until
:func:`behavior.kinematics.calibrate`). Zones come from coordinates, from arena
keypoints (:func:`landmarks`, :meth:`Polygon.from_keypoints`), from a GeoJSON file
(:func:`read_geojson`, :func:`write_geojson`) or from a ready-made layout
(:func:`open_field`, :func:`elevated_plus_maze`). Measures take a pose dataset
(or its ``position``) and one zone; :func:`zone_summary` tabulates them all.

Conventions
-----------
- Zones are in the x-y plane (3-D data use their x and y) and in image
  coordinates: y grows downwards, so "top" means small y.
- Every zone records its ``unit``. Using a zone in one unit on data in another
  raises :class:`~behavior.errors.PoseDataError` naming both;
  :meth:`Zone.scale` or :meth:`Zone.in_units_of` converts a pixel zone.
- Which point of the animal: ``keypoint="centroid"`` (default) is the mean of
  the keypoints present in each frame; a name picks one keypoint; a list of
  names averages those (as :func:`behavior.kinematics.centroid`).

Boundary rule
-------------
Polygons use even-odd ray casting with half-open edges: a point exactly on an
edge is inside when the polygon lies to its right (+x) or below it (+y) in
image coordinates. For an axis-aligned rectangle this is ``xmin <= x < xmax``
and ``ymin <= y < ymax`` (what :class:`Rectangle` does), so rectangles and the
equal polygon agree exactly. Each edge is evaluated in one canonical
orientation, so polygons that share an edge (a tiling such as centre and
periphery, or maze arms and centre) give every point on it to exactly one of
them. Circles are closed discs (``distance <= radius``).

NaN policy
----------
A frame whose position is missing (NaN) is *unknown*, not outside.
:func:`in_zone` returns 1.0 inside, 0.0 outside and NaN unknown (or a boolean
mask with ``fill=``). :func:`occupancy` is the fraction of *known* frames spent
inside; :func:`time_in_zone` counts known frames inside. Entries and exits are
found on the known frames only: a gap is bridged, so outside - gap - inside is
one entry, at the first known frame inside. :func:`distance_in_zone` counts a
step between consecutive frames only when both are inside (so steps across the
border or touching a missing frame count for nothing).
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from behavior.dataset import append_log, require_dims
from behavior.errors import FileFormatError, PoseDataError

__all__ = [
    "Circle",
    "Polygon",
    "Rectangle",
    "Zone",
    "as_zone_dict",
    "crossings",
    "distance_in_zone",
    "elevated_plus_maze",
    "from_geojson",
    "in_zone",
    "landmarks",
    "latency",
    "occupancy",
    "open_field",
    "outside_by",
    "read_geojson",
    "time_in_zone",
    "to_geojson",
    "write_geojson",
    "zone_summary",
]

logger = logging.getLogger(__name__)

_PIXEL_NAMES = ("pixels", "pixel", "px")
_UNIT_PER_CM = {"cm": 1.0, "mm": 10.0, "m": 0.01}
_BLOCK = 1 << 16  # points per block in the direct ray-casting loop
_SORTED_FROM_EDGES = 24  # polygons with more edges sort the points by y first


def _unit_key(unit: Any) -> str:
    text = "pixels" if unit is None else str(unit).strip().lower()
    return "pixels" if text in _PIXEL_NAMES else text


def _finite_float(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise PoseDataError(f"{name}: expected a finite number, found {value!r}") from None
    if not math.isfinite(out):
        raise PoseDataError(f"{name}: expected a finite number, found {value!r}")
    return out


def _ring(vertices: Any, name: str) -> np.ndarray:
    """An ``(n, 2)`` float array of at least 3 distinct finite vertices, unclosed."""
    try:
        ring = np.array(vertices, dtype=np.float64)
    except (TypeError, ValueError):
        raise PoseDataError(
            f"{name}: expected a sequence of (x, y) vertices, found {vertices!r}"
        ) from None
    if ring.ndim != 2 or ring.shape[1] != 2:
        raise PoseDataError(f"{name}: expected vertices of shape (n, 2), found shape {ring.shape}")
    if not np.isfinite(ring).all():
        raise PoseDataError(f"{name}: vertices must be finite, found {ring.tolist()}")
    if len(ring) > 1 and np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]  # a closed ring (GeoJSON style) repeats its first vertex
    if len(np.unique(ring, axis=0)) < 3:
        raise PoseDataError(
            f"{name}: a polygon needs at least 3 distinct vertices, found {ring.tolist()}"
        )
    return ring


def _edges(rings: Sequence[np.ndarray]) -> np.ndarray:
    """Non-horizontal edges as rows ``(x0, y0, y1, slope)`` with ``y0 < y1``.

    The lower end comes first whatever the ring's direction, so an edge shared by
    two polygons is evaluated with the same floating-point operations in both.
    """
    rows = []
    for ring in rings:
        a, b = ring, np.roll(ring, -1, axis=0)
        swap = b[:, 1] < a[:, 1]
        lo = np.where(swap[:, None], b, a)
        hi = np.where(swap[:, None], a, b)
        keep = lo[:, 1] != hi[:, 1]
        lo, hi = lo[keep], hi[keep]
        slope = (hi[:, 0] - lo[:, 0]) / (hi[:, 1] - lo[:, 1])
        rows.append(np.column_stack([lo[:, 0], lo[:, 1], hi[:, 1], slope]))
    return np.concatenate(rows) if rows else np.empty((0, 4))


def _ray_cast(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Even-odd rule for 1-D float arrays ``x``, ``y``; NaN gives False."""
    n = x.size
    inside = np.zeros(n, dtype=bool)
    if n == 0 or len(edges) == 0:
        return inside
    if len(edges) < _SORTED_FROM_EDGES:
        for s in range(0, n, _BLOCK):
            xs, ys, out = x[s : s + _BLOCK], y[s : s + _BLOCK], inside[s : s + _BLOCK]
            for x0, y0, y1, slope in edges:
                out ^= (ys >= y0) & (ys < y1) & (xs < x0 + (ys - y0) * slope)
        return inside
    # Many edges: sort by y once, then each edge only looks at the points in its band.
    order = np.argsort(y, kind="stable")  # NaN sorts last and lies in no band
    ys, xs = y[order], x[order]
    flips = np.zeros(n, dtype=bool)
    starts = np.searchsorted(ys, edges[:, 1], side="left")
    stops = np.searchsorted(ys, edges[:, 2], side="left")
    for (x0, y0, _, slope), s, e in zip(edges, starts, stops, strict=True):
        if e > s:
            flips[s:e] ^= xs[s:e] < x0 + (ys[s:e] - y0) * slope
    inside[order] = flips
    return inside


# --------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------


class Zone:
    """A named region of the x-y plane in a given space unit (base class).

    Use :class:`Polygon`, :class:`Rectangle` or :class:`Circle`. Every zone has a
    ``name``, a ``unit`` (``"pixels"`` unless given), :meth:`contains`,
    :meth:`translate`, :meth:`scale`, :attr:`area` and :attr:`bounds`.
    """

    name: str
    unit: str

    def _contains_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _mapped(self, factor: float, dx: float, dy: float, unit: str) -> Zone:  # pragma: no cover
        raise NotImplementedError

    def contains(self, points: Any) -> np.ndarray:
        """Which points lie inside the zone (see the module's boundary rule).

        Parameters
        ----------
        points
            Array of shape ``(..., 2)`` (or ``(..., 3)``; z is ignored) of x, y.

        Returns
        -------
        np.ndarray
            Boolean array of shape ``points.shape[:-1]``; False where a point is NaN.

        Examples
        --------
        >>> Rectangle(0, 0, 10, 10).contains([[5, 5], [10, 5], [np.nan, 1]]).tolist()
        [True, False, False]
        """
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim == 0 or pts.shape[-1] not in (2, 3):
            raise PoseDataError(
                f"points: expected an array whose last axis holds x, y (size 2 or 3), "
                f"found shape {pts.shape}"
            )
        shape = pts.shape[:-1]
        x = np.ascontiguousarray(pts[..., 0]).reshape(-1)
        y = np.ascontiguousarray(pts[..., 1]).reshape(-1)
        return self._contains_xy(x, y).reshape(shape)

    def translate(self, dx: float, dy: float) -> Zone:
        """The same zone moved by ``(dx, dy)`` space units.

        Examples
        --------
        >>> Circle((1, 1), 2).translate(10, 0).center
        (11.0, 1.0)
        """
        return self._mapped(1.0, _finite_float(dx, "dx"), _finite_float(dy, "dy"), self.unit)

    def scale(self, px_per_cm: float, unit: Literal["cm", "mm", "m"] = "cm") -> Zone:
        """Convert a zone drawn in pixels to a physical unit.

        Parameters
        ----------
        px_per_cm
            Pixels per centimetre (as in :func:`behavior.kinematics.calibrate`).
        unit
            ``"cm"`` (default), ``"mm"`` or ``"m"``.

        Returns
        -------
        Zone
            The same zone with every coordinate divided by the scale.

        Raises
        ------
        PoseDataError
            When the zone is not in pixels or the scale is not positive.

        Examples
        --------
        >>> Rectangle(0, 0, 120, 60, unit="pixels").scale(12).bounds
        (0.0, 0.0, 10.0, 5.0)
        """
        if _unit_key(self.unit) != "pixels":
            raise PoseDataError(
                f"zone {self.name!r}: scale converts a zone from pixels, found a zone "
                f"already in {self.unit!r}"
            )
        if unit not in _UNIT_PER_CM:
            raise PoseDataError(f"unit: expected one of {list(_UNIT_PER_CM)}, found {unit!r}")
        scale = _finite_float(px_per_cm, "px_per_cm")
        if scale <= 0:
            raise PoseDataError(f"px_per_cm: expected a positive number, found {px_per_cm!r}")
        return self._mapped(_UNIT_PER_CM[unit] / scale, 0.0, 0.0, unit)

    def in_units_of(self, data: xr.Dataset | xr.DataArray) -> Zone:
        """This zone in the space unit of ``data`` (converting pixels by its ``px_per_cm``).

        Parameters
        ----------
        data
            A pose dataset or position array with ``attrs["space_unit"]`` (absent
            means pixels) and, for a conversion, ``attrs["px_per_cm"]``.

        Returns
        -------
        Zone
            ``self`` when the units already match, else the scaled zone.

        Raises
        ------
        PoseDataError
            When the units differ and cannot be converted.

        Examples
        --------
        >>> import behavior as bh
        >>> ds = bh.from_numpy(np.zeros((2, 2, 1, 1)), space_unit="cm")
        >>> ds.attrs["px_per_cm"] = 10.0
        >>> Circle((50, 50), 20).in_units_of(ds).radius
        2.0
        """
        data_unit = _unit_key(data.attrs.get("space_unit"))
        if data_unit == _unit_key(self.unit):
            return self
        ppc = data.attrs.get("px_per_cm")
        if _unit_key(self.unit) == "pixels" and data_unit in _UNIT_PER_CM and ppc is not None:
            return self.scale(float(ppc), data_unit)  # type: ignore[arg-type]
        raise PoseDataError(
            f"zone {self.name!r} is in {self.unit!r} but the data are in "
            f"{data.attrs.get('space_unit', 'pixels')!r}, and the data record no px_per_cm "
            "to convert a pixel zone; draw the zone in the data's unit or use zone.scale(...)"
        )

    def renamed(self, name: str) -> Zone:
        """A copy of the zone under another name.

        Examples
        --------
        >>> Circle((0, 0), 1, name="a").renamed("b").name
        'b'
        """
        out = self._mapped(1.0, 0.0, 0.0, self.unit)
        out.name = str(name)
        return out

    @property
    def area(self) -> float:  # pragma: no cover - overridden
        """Area in squared space units."""
        raise NotImplementedError

    @property
    def bounds(self) -> tuple[float, float, float, float]:  # pragma: no cover - overridden
        """``(xmin, ymin, xmax, ymax)``."""
        raise NotImplementedError


class Polygon(Zone):
    """A simple or self-intersecting polygon, optionally with holes (even-odd rule).

    Parameters
    ----------
    vertices
        ``(n, 2)`` x, y vertices in order (either direction); a repeated first
        vertex at the end (a closed ring) is dropped.
    name
        Zone name.
    holes
        Rings cut out of the polygon (a periphery around a centre).
    unit
        Space unit of the coordinates (default ``"pixels"``).

    Examples
    --------
    >>> square = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], name="square")
    >>> square.contains([(1, 1), (5, 1)]).tolist(), square.area
    ([True, False], 16.0)
    """

    def __init__(
        self,
        vertices: Any,
        name: str = "zone",
        *,
        holes: Iterable[Any] = (),
        unit: str = "pixels",
    ) -> None:
        self.name = str(name)
        self.unit = str(unit)
        self.vertices = _ring(vertices, f"zone {self.name!r} vertices")
        self.holes = tuple(_ring(h, f"zone {self.name!r} hole") for h in holes)
        self._edge_table = _edges([self.vertices, *self.holes])

    def __repr__(self) -> str:
        holes = f", holes={len(self.holes)}" if self.holes else ""
        return (
            f"Polygon(name={self.name!r}, {len(self.vertices)} vertices{holes}, unit={self.unit!r})"
        )

    def _contains_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        xmin, ymin, xmax, ymax = self.bounds
        inside = np.zeros(x.shape, dtype=bool)
        box = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
        if box.all():
            return _ray_cast(x, y, self._edge_table)
        idx = np.flatnonzero(box)
        inside[idx] = _ray_cast(x[idx], y[idx], self._edge_table)
        return inside

    def _mapped(self, factor: float, dx: float, dy: float, unit: str) -> Polygon:
        shift = np.array([dx, dy])
        return Polygon(
            self.vertices * factor + shift,
            self.name,
            holes=[h * factor + shift for h in self.holes],
            unit=unit,
        )

    @staticmethod
    def _shoelace(ring: np.ndarray) -> float:
        x, y = ring[:, 0], ring[:, 1]
        return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))

    @property
    def area(self) -> float:
        """Area (outer ring minus holes) in squared space units."""
        return self._shoelace(self.vertices) - sum(self._shoelace(h) for h in self.holes)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the outer ring."""
        lo, hi = self.vertices.min(axis=0), self.vertices.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    @classmethod
    def from_keypoints(
        cls,
        data: xr.Dataset | xr.DataArray,
        keypoints: Sequence[str],
        name: str = "zone",
        *,
        individual: str | None = None,
    ) -> Polygon:
        """A polygon whose vertices are the median positions of arena keypoints.

        Parameters
        ----------
        data
            Pose dataset (or position) in which the arena's corners are tracked.
        keypoints
            Keypoint names, in the order of the polygon's vertices.
        name
            Zone name.
        individual
            The individual carrying the landmarks (e.g. DeepLabCut's ``"single"``);
            default: medians over every individual (landmarks are usually NaN in
            the others).

        Returns
        -------
        Polygon
            In the data's space unit.

        Examples
        --------
        >>> import behavior as bh
        >>> corners = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], float)
        >>> pos = np.repeat(corners.T[None, :, :, None], 5, axis=0)
        >>> ds = bh.from_numpy(pos, keypoint_names=["tl", "tr", "br", "bl"])
        >>> Polygon.from_keypoints(ds, ["tl", "tr", "br", "bl"], "arena").area
        100.0
        """
        points = landmarks(data, keypoints, individual=individual)
        unit = data.attrs.get("space_unit", "pixels")
        return cls([points[k] for k in keypoints], name, unit=unit)


class Rectangle(Zone):
    """An axis-aligned rectangle, half-open: ``xmin <= x < xmax`` and ``ymin <= y < ymax``.

    Parameters
    ----------
    xmin, ymin, xmax, ymax
        Bounds in space units (``xmin < xmax``, ``ymin < ymax``).
    name
        Zone name.
    unit
        Space unit (default ``"pixels"``).

    Examples
    --------
    >>> box = Rectangle(0, 0, 10, 5, name="box")
    >>> box.contains([(0, 0), (10, 0), (9.9, 4.9)]).tolist()
    [True, False, True]
    """

    def __init__(
        self,
        xmin: float,
        ymin: float,
        xmax: float,
        ymax: float,
        name: str = "zone",
        *,
        unit: str = "pixels",
    ) -> None:
        self.name = str(name)
        self.unit = str(unit)
        b = [
            _finite_float(v, f"zone {self.name!r} {k}")
            for v, k in zip((xmin, ymin, xmax, ymax), ("xmin", "ymin", "xmax", "ymax"), strict=True)
        ]
        if not (b[0] < b[2] and b[1] < b[3]):
            raise PoseDataError(
                f"zone {self.name!r}: expected xmin < xmax and ymin < ymax, found "
                f"({b[0]}, {b[1]}, {b[2]}, {b[3]})"
            )
        self.xmin, self.ymin, self.xmax, self.ymax = b

    def __repr__(self) -> str:
        return (
            f"Rectangle({self.xmin:g}, {self.ymin:g}, {self.xmax:g}, {self.ymax:g}, "
            f"name={self.name!r}, unit={self.unit!r})"
        )

    def _contains_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= self.xmin) & (x < self.xmax) & (y >= self.ymin) & (y < self.ymax)

    def _mapped(self, factor: float, dx: float, dy: float, unit: str) -> Rectangle:
        return Rectangle(
            self.xmin * factor + dx,
            self.ymin * factor + dy,
            self.xmax * factor + dx,
            self.ymax * factor + dy,
            self.name,
            unit=unit,
        )

    @property
    def vertices(self) -> np.ndarray:
        """Corners top-left, top-right, bottom-right, bottom-left (image coordinates)."""
        return np.array(
            [
                [self.xmin, self.ymin],
                [self.xmax, self.ymin],
                [self.xmax, self.ymax],
                [self.xmin, self.ymax],
            ]
        )

    def to_polygon(self) -> Polygon:
        """The same region as a :class:`Polygon` (identical membership).

        Examples
        --------
        >>> Rectangle(0, 0, 2, 3).to_polygon().area
        6.0
        """
        return Polygon(self.vertices, self.name, unit=self.unit)

    @property
    def area(self) -> float:
        """Area in squared space units."""
        return (self.xmax - self.xmin) * (self.ymax - self.ymin)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)``."""
        return self.xmin, self.ymin, self.xmax, self.ymax


class Circle(Zone):
    """A closed disc: points with ``distance to center <= radius``.

    Parameters
    ----------
    center
        ``(x, y)``.
    radius
        Positive radius in space units.
    name
        Zone name.
    unit
        Space unit (default ``"pixels"``).

    Examples
    --------
    >>> Circle((0, 0), 5).contains([(3, 4), (3, 4.1)]).tolist()
    [True, False]
    """

    def __init__(self, center: Any, radius: float, name: str = "zone", *, unit: str = "pixels"):
        self.name = str(name)
        self.unit = str(unit)
        try:
            cx, cy = (float(v) for v in center)
        except (TypeError, ValueError):
            raise PoseDataError(
                f"zone {self.name!r} center: expected (x, y), found {center!r}"
            ) from None
        if not (math.isfinite(cx) and math.isfinite(cy)):
            raise PoseDataError(
                f"zone {self.name!r} center: expected finite (x, y), found {center!r}"
            )
        r = _finite_float(radius, f"zone {self.name!r} radius")
        if r <= 0:
            raise PoseDataError(f"zone {self.name!r} radius: expected > 0, found {radius!r}")
        self.center = (cx, cy)
        self.radius = r

    def __repr__(self) -> str:
        return (
            f"Circle(center=({self.center[0]:g}, {self.center[1]:g}), radius={self.radius:g}, "
            f"name={self.name!r}, unit={self.unit!r})"
        )

    def _contains_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx = x - self.center[0]
        dy = y - self.center[1]
        return dx * dx + dy * dy <= self.radius * self.radius

    def _mapped(self, factor: float, dx: float, dy: float, unit: str) -> Circle:
        return Circle(
            (self.center[0] * factor + dx, self.center[1] * factor + dy),
            self.radius * factor,
            self.name,
            unit=unit,
        )

    @property
    def area(self) -> float:
        """Area in squared space units."""
        return math.pi * self.radius**2

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of the enclosing square."""
        cx, cy = self.center
        r = self.radius
        return cx - r, cy - r, cx + r, cy + r


def as_zone_dict(zones: Zone | Mapping[str, Zone] | Iterable[Zone]) -> dict[str, Zone]:
    """Zones as ``{zone.name: zone}``, checked: every item a :class:`Zone`, names unique.

    Parameters
    ----------
    zones
        One zone, an iterable of zones, or a mapping whose values are zones
        (the zones' own names are used, not the mapping's keys).

    Returns
    -------
    dict
        ``{name: zone}`` in the order given.

    Raises
    ------
    PoseDataError
        For an item that is not a zone, or two zones with one name.

    Examples
    --------
    >>> list(as_zone_dict([Circle((0, 0), 1, name="a"), Rectangle(0, 0, 1, 1, name="b")]))
    ['a', 'b']
    """
    if isinstance(zones, Zone):
        return {zones.name: zones}
    items = list(zones.values()) if isinstance(zones, Mapping) else list(zones)
    out: dict[str, Zone] = {}
    for z in items:
        if not isinstance(z, Zone):
            raise PoseDataError(
                f"zones: expected Zone objects (Polygon, Rectangle, Circle), found "
                f"{type(z).__name__}"
            )
        if z.name in out:
            raise PoseDataError(f"zones: two zones are named {z.name!r}; names must be unique")
        out[z.name] = z
    return out


def outside_by(zone: Polygon, points: Any, margin: float) -> np.ndarray:
    """Which points lie outside a polygon zone by more than ``margin``.

    A point counts when it is outside the zone (the boundary rule of
    :meth:`Zone.contains`) and farther than ``margin`` from every edge of the
    zone's outer ring, so that tracking jitter along an edge does not count.

    Parameters
    ----------
    zone
        A :class:`Polygon` (its ``vertices`` ring gives the edges).
    points
        Array of shape ``(..., 2)`` (or ``(..., 3)``; z is ignored) of x, y in the
        zone's unit.
    margin
        Distance in the zone's unit; 0 gives plain "outside".

    Returns
    -------
    np.ndarray
        Boolean array of shape ``points.shape[:-1]``; False where a point is NaN.

    Examples
    --------
    >>> square = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)])
    >>> outside_by(square, [(5, 2), (4.5, 2), (2, 2)], margin=0.7).tolist()
    [True, False, False]
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 0 or pts.shape[-1] not in (2, 3):
        raise PoseDataError(
            f"points: expected an array whose last axis holds x, y (size 2 or 3), "
            f"found shape {pts.shape}"
        )
    shape = pts.shape[:-1]
    x = pts[..., 0].reshape(-1)
    y = pts[..., 1].reshape(-1)
    finite = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(x.shape, dtype=bool)
    px, py = x[finite], y[finite]
    outside = ~zone._contains_xy(px, py)
    if margin > 0 and outside.any():
        if not isinstance(zone, Polygon):
            raise PoseDataError(
                f"zone {zone.name!r}: a margin needs a Polygon zone, found {type(zone).__name__}"
            )
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
    return out.reshape(shape)


# --------------------------------------------------------------------------------------
# Landmarks and GeoJSON
# --------------------------------------------------------------------------------------


def landmarks(
    data: xr.Dataset | xr.DataArray,
    keypoints: Sequence[str],
    *,
    individual: str | None = None,
) -> dict[str, tuple[float, float]]:
    """Median x, y of static keypoints (arena corners, maze landmarks) over the session.

    Parameters
    ----------
    data
        Pose dataset or position array with dims ``time``, ``space``, ``keypoint``.
    keypoints
        Names of the landmark keypoints.
    individual
        The individual that carries them; default: the median over every
        individual and frame (NaN ignored).

    Returns
    -------
    dict
        ``{keypoint: (x, y)}``.

    Raises
    ------
    PoseDataError
        For unknown keypoint or individual names, or a landmark never tracked.

    Examples
    --------
    >>> import behavior as bh
    >>> pos = np.array([[[1.0], [2.0]], [[3.0], [np.nan]], [[5.0], [6.0]]])
    >>> landmarks(bh.from_numpy(pos, keypoint_names=["corner"]), ["corner"])
    {'corner': (3.0, 4.0)}
    """
    position = _position_array(data)
    require_dims(position, "time", "space", "keypoint", name="position")
    if isinstance(keypoints, str):
        keypoints = [keypoints]
    known = [str(k) for k in position["keypoint"].values]
    missing = [k for k in keypoints if k not in known]
    if missing:
        raise PoseDataError(f"keypoints: {missing} not in the data; keypoints are {known}")
    if individual is not None:
        require_dims(position, "individual", name="position")
        names = [str(i) for i in position["individual"].values]
        if individual not in names:
            raise PoseDataError(f"individual: {individual!r} not in the data; found {names}")
        position = position.sel(individual=individual)
    out: dict[str, tuple[float, float]] = {}
    for k in keypoints:
        one = position.sel(keypoint=k).transpose("space", ...).values
        one = one.reshape(one.shape[0], -1)[:2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(one, axis=1)
        if np.isnan(med).any():
            raise PoseDataError(f"keypoints: landmark {k!r} is never tracked (all NaN)")
        out[str(k)] = (float(med[0]), float(med[1]))
    return out


def to_geojson(zones: Zone | Mapping[str, Zone] | Iterable[Zone]) -> dict[str, Any]:
    """Zones as a GeoJSON FeatureCollection (a plain dict).

    Parameters
    ----------
    zones
        One zone, a mapping of names to zones, or an iterable of zones.

    Polygons (with holes) and rectangles become ``Polygon`` features with closed
    rings; circles become ``Point`` features with a ``radius`` property. Each
    feature's properties hold ``name``, ``unit`` and ``shape`` (``"polygon"``,
    ``"rectangle"`` or ``"circle"``), which :func:`from_geojson` reads back.
    Coordinates are image coordinates (y down), not geographic ones.

    Examples
    --------
    >>> to_geojson([Circle((1, 2), 3, name="c")])["features"][0]["geometry"]
    {'type': 'Point', 'coordinates': [1.0, 2.0]}
    """
    features = []
    for zone in as_zone_dict(zones).values():
        props: dict[str, Any] = {"name": zone.name, "unit": zone.unit}
        if isinstance(zone, Circle):
            geometry = {"type": "Point", "coordinates": [*zone.center]}
            props.update(shape="circle", radius=zone.radius)
        else:
            rings = [zone.vertices, *getattr(zone, "holes", ())]
            closed = [np.vstack([r, r[:1]]).tolist() for r in rings]
            geometry = {"type": "Polygon", "coordinates": closed}
            props["shape"] = "rectangle" if isinstance(zone, Rectangle) else "polygon"
        features.append({"type": "Feature", "properties": props, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def from_geojson(obj: Mapping[str, Any], *, source: str = "GeoJSON") -> dict[str, Zone]:
    """Zones from a GeoJSON FeatureCollection (or a single Feature) already parsed.

    Parameters
    ----------
    obj
        A parsed GeoJSON FeatureCollection or Feature (a dict).
    source
        Where it came from, for error messages.

    Every feature needs a ``name`` property. ``Polygon`` geometries become
    :class:`Polygon` (first ring outer, others holes), or :class:`Rectangle`
    when ``shape`` is ``"rectangle"``; ``Point`` geometries with ``shape:
    "circle"`` and a ``radius`` become :class:`Circle`. The ``unit`` property
    defaults to ``"pixels"``.

    Examples
    --------
    >>> fc = {"type": "FeatureCollection", "features": [{"type": "Feature",
    ...     "properties": {"name": "box"}, "geometry": {"type": "Polygon",
    ...     "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}}]}
    >>> from_geojson(fc)["box"].area
    4.0
    """
    if not isinstance(obj, Mapping):
        raise FileFormatError(f"{source}: expected a GeoJSON object, found {type(obj).__name__}")
    kind = obj.get("type")
    if kind == "Feature":
        features = [obj]
    elif kind == "FeatureCollection" and isinstance(obj.get("features"), list):
        features = obj["features"]
    else:
        raise FileFormatError(
            f"{source}: expected a GeoJSON FeatureCollection with a 'features' list, found "
            f"type {kind!r}"
        )
    zones: list[Zone] = []
    for i, feat in enumerate(features):
        where = f"{source}: feature {i}"
        if not isinstance(feat, Mapping) or not isinstance(feat.get("geometry"), Mapping):
            raise FileFormatError(f"{where}: expected a Feature with a geometry, found {feat!r}")
        props = feat.get("properties") or {}
        name = props.get("name")
        if not isinstance(name, str) or not name:
            raise FileFormatError(
                f"{where}: expected a 'name' property naming the zone, found {props!r}"
            )
        unit = str(props.get("unit", "pixels"))
        geom = feat["geometry"]
        gtype, coords = geom.get("type"), geom.get("coordinates")
        shape = props.get("shape")
        try:
            if gtype == "Polygon":
                if not isinstance(coords, list) or not coords:
                    raise PoseDataError(f"expected a list of rings, found {coords!r}")
                if shape == "rectangle":
                    ring = _ring(coords[0], "rectangle")
                    (x0, y0), (x1, y1) = ring.min(axis=0), ring.max(axis=0)
                    zones.append(Rectangle(x0, y0, x1, y1, name, unit=unit))
                else:
                    zones.append(Polygon(coords[0], name, holes=coords[1:], unit=unit))
            elif gtype == "Point" and shape == "circle":
                zones.append(Circle(coords, props.get("radius"), name, unit=unit))
            else:
                raise PoseDataError(
                    f"expected a Polygon geometry (or a Point with shape 'circle' and a "
                    f"radius), found geometry type {gtype!r} with shape {shape!r}"
                )
        except PoseDataError as err:
            raise FileFormatError(f"{where} ({name!r}): {err}") from None
    return as_zone_dict(zones)


def read_geojson(path: str | os.PathLike) -> dict[str, Zone]:
    """Read zones from a GeoJSON file (see :func:`from_geojson`).

    Parameters
    ----------
    path
        A ``.geojson`` / ``.json`` file holding a FeatureCollection.

    Returns
    -------
    dict
        ``{name: zone}`` in file order.

    Raises
    ------
    FileFormatError
        When the file is not JSON or a feature is not a named polygon or circle.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "zones.geojson"
    >>> write_geojson([Rectangle(0, 0, 5, 5, name="box")], path)
    >>> list(read_geojson(path))
    ['box']
    """
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise FileFormatError(f"{path}: not a JSON file ({err})") from None
    return from_geojson(obj, source=str(path))


def write_geojson(
    zones: Zone | Mapping[str, Zone] | Iterable[Zone], path: str | os.PathLike
) -> None:
    """Write zones to a GeoJSON file atomically (see :func:`to_geojson`).

    Parameters
    ----------
    zones
        One zone, a mapping of names to zones, or an iterable of zones.
    path
        Destination ``.geojson`` file; its folder must exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "zones.geojson"
    >>> write_geojson(open_field(Rectangle(0, 0, 100, 100)), path)
    >>> sorted(read_geojson(path))[:2]
    ['center', 'corner_bottom_left']
    """
    from behavior.io.registry import atomic_path

    text = json.dumps(to_geojson(zones), indent=1)

    def verify(tmp: Path) -> None:  # the whole text is there and parses
        if tmp.read_text(encoding="utf-8") != text:
            raise ValueError("the file read back differs from the zones written")
        json.loads(text)

    with atomic_path(path, verify=verify) as tmp:
        tmp.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------------------
# Tracks and states
# --------------------------------------------------------------------------------------


def _position_array(data: xr.Dataset | xr.DataArray) -> xr.DataArray:
    if isinstance(data, xr.Dataset):
        if "position" not in data.data_vars:
            raise PoseDataError(
                f"data: expected a pose dataset with a 'position' variable, found "
                f"{list(data.data_vars)}"
            )
        position = data["position"].copy(deep=False)
        position.attrs = {**data.attrs, **position.attrs}
        return position
    if isinstance(data, xr.DataArray):
        return data
    raise PoseDataError(
        f"data: expected a pose Dataset or a position DataArray, found {type(data).__name__}"
    )


def _names(value: Any, arg: str) -> list[str]:
    """A non-empty list of names given as a sequence of text."""
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str | bytes):
        names = list(np.ravel(np.asarray(value, dtype=object)))
        if names and all(isinstance(n, str) for n in names):
            return names
    raise PoseDataError(
        f"{arg}: expected a keypoint name, 'centroid' or a non-empty list of names, found "
        f"{type(value).__name__} {value!r}"
    )


class _Track:
    """One point per frame (x, y[, z]) with the data's attrs, ready for zone tests."""

    def __init__(self, data: xr.Dataset | xr.DataArray, keypoint: str | Sequence[str]):
        position = _position_array(data)
        require_dims(position, "time", "space", name="position")
        if position.sizes["time"] == 0:
            raise PoseDataError(
                "position: expected at least one frame, found 0 frames (an empty time selection?)"
            )
        self.attrs = dict(position.attrs)
        self.keypoint = keypoint
        if "keypoint" in position.dims:
            names = [str(k) for k in position["keypoint"].values]
            if isinstance(keypoint, str) and keypoint != "centroid":
                if keypoint not in names:
                    raise PoseDataError(
                        f"keypoint: {keypoint!r} is not in the data; use 'centroid' or one "
                        f"of {names}"
                    )
                position = position.sel(keypoint=keypoint, drop=True)
            else:
                chosen = None if isinstance(keypoint, str) else _names(keypoint, "keypoint")
                if chosen is not None:
                    missing = [k for k in chosen if k not in names]
                    if missing:
                        raise PoseDataError(
                            f"keypoint: {missing} not in the data; keypoints are {names}"
                        )
                    position = position.sel(keypoint=chosen)
                position = _nan_mean_keypoints(position)
        self.dims = ["time", *[d for d in position.dims if d not in ("time", "space")]]
        position = position.transpose(*self.dims[:1], "space", *self.dims[1:])
        values = np.asarray(position.values, dtype=np.float64)
        n = values.shape[0]
        self.rest_shape = values.shape[2:]
        self.xyz = values.reshape(n, values.shape[1], -1)  # (time, space, series)
        self.valid = ~np.isnan(self.xyz).any(axis=1)  # (time, series)
        self.template = position.isel(space=0, drop=True)
        self.time = np.asarray(position["time"].values)
        self.n_time = n

    @property
    def space_unit(self) -> str:
        return str(self.attrs.get("space_unit", "pixels"))

    def inside(self, zone: Zone) -> np.ndarray:
        if _unit_key(zone.unit) != _unit_key(self.space_unit):
            hint = (
                f" (the data record px_per_cm={self.attrs['px_per_cm']}: use zone.in_units_of(ds))"
                if self.attrs.get("px_per_cm") is not None
                else " (draw it in the data's unit, or scale it with zone.scale(px_per_cm))"
            )
            raise PoseDataError(
                f"zone {zone.name!r} is in {zone.unit!r} but the positions are in "
                f"{self.space_unit!r}{hint}"
            )
        x = np.ascontiguousarray(self.xyz[:, 0, :]).reshape(-1)
        y = np.ascontiguousarray(self.xyz[:, 1, :]).reshape(-1)
        return zone._contains_xy(x, y).reshape(self.valid.shape) & self.valid

    def like(self, values: np.ndarray, name: str) -> xr.DataArray:
        out = self.template.copy(data=values.reshape(self.template.shape))
        out.name = name
        out.attrs = {k: v for k, v in self.attrs.items() if k != "ds_type"}
        return out

    def reduced(self, values: np.ndarray, name: str) -> xr.DataArray:
        """A per-series result (no time dim) shaped like the template without time."""
        tmpl = self.template.isel(time=0, drop=True)
        out = tmpl.copy(data=np.asarray(values).reshape(tmpl.shape))
        out.name = name
        out.attrs = {}
        return out

    def frame_seconds(self, what: str) -> float:
        fps = self.attrs.get("fps")
        if fps is not None and float(fps) > 0:
            return 1.0 / float(fps)
        if self.attrs.get("time_unit", "seconds") == "frames":
            raise PoseDataError(
                f"{what}: needs the frame rate, but time is in frames and the data have no "
                "attrs['fps']; load the file with fps=... (or set ds.attrs['fps'])"
            )
        t = self.seconds(what)
        steps = np.diff(t)
        steps = steps[np.isfinite(steps) & (steps > 0)]
        if steps.size == 0:
            raise PoseDataError(f"{what}: cannot tell the frame duration from a single frame")
        return float(np.median(steps))

    def seconds(self, what: str) -> np.ndarray:
        t = self.time
        if np.issubdtype(t.dtype, np.datetime64):
            t = t - t[0]
        if np.issubdtype(t.dtype, np.timedelta64):
            return t / np.timedelta64(1, "s")
        t = t.astype(np.float64)
        if self.attrs.get("time_unit", "seconds") == "frames":
            fps = self.attrs.get("fps")
            if fps is None:
                raise PoseDataError(
                    f"{what}: needs the frame rate, but time is in frames and the data have "
                    "no attrs['fps']; load the file with fps=... (or set ds.attrs['fps'])"
                )
            return t / float(fps)
        return t

    def series_labels(self) -> dict[str, np.ndarray]:
        """Coordinate labels of every series (flattened non-time dims), as columns."""
        dims = self.dims[1:]
        if not dims:
            return {}
        grids = np.meshgrid(*[self.template[d].values for d in dims], indexing="ij")
        return {d: g.reshape(-1) for d, g in zip(dims, grids, strict=True)}


def _nan_mean_keypoints(position: xr.DataArray) -> xr.DataArray:
    """Mean over keypoints of those whose every coordinate is present (NaN if none)."""
    values = position.transpose(..., "space", "keypoint")
    v = np.asarray(values.values, dtype=np.float64)
    ok = ~np.isnan(v).any(axis=-2, keepdims=True)
    count = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, v, 0.0).sum(axis=-1) / count
    return values.isel(keypoint=0, drop=True).copy(data=mean)


def _min_frames(min_duration: Any, track: _Track) -> int:
    if min_duration is None or (isinstance(min_duration, int | float) and min_duration == 0):
        return 1
    from behavior.units import to_frames

    fps = track.attrs.get("fps")
    if fps is None and not isinstance(min_duration, int):
        fps = 1.0 / track.frame_seconds("min_duration")
    return max(1, to_frames(min_duration, fps, name="min_duration"))


def _transitions(inside: np.ndarray, valid: np.ndarray, min_frames: int):
    """Per series: (frame, is_entry) of accepted state changes, and the first long-in frame.

    A change counts when the new state lasts ``min_frames`` known frames without
    interruption; shorter runs (flicker) leave the state as it was.
    """
    events: list[tuple[np.ndarray, np.ndarray]] = []
    first_in = np.full(inside.shape[1], -1, dtype=np.int64)
    for j in range(inside.shape[1]):
        idx = np.flatnonzero(valid[:, j])
        if idx.size == 0:
            events.append((np.empty(0, np.int64), np.empty(0, bool)))
            continue
        state = inside[idx, j]
        starts = np.flatnonzero(np.r_[True, state[1:] != state[:-1]])
        lengths = np.diff(np.r_[starts, state.size])
        long = lengths >= min_frames
        ls, lstart = state[starts[long]], starts[long]
        if ls.size and ls.any():
            first_in[j] = idx[lstart[np.argmax(ls)]]
        change = np.flatnonzero(ls[1:] != ls[:-1]) + 1
        events.append((idx[lstart[change]], ls[change].astype(bool)))
    return events, first_in


# --------------------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------------------


def in_zone(
    data: xr.Dataset | xr.DataArray,
    zone: Zone,
    *,
    keypoint: str | Sequence[str] = "centroid",
    fill: bool | None = None,
) -> xr.DataArray:
    """Whether each animal is inside the zone in each frame.

    Parameters
    ----------
    data
        Pose dataset or position array with dims ``time`` and ``space``
        (``keypoint``, ``individual`` and others are handled).
    zone
        The zone, in the data's space unit.
    keypoint
        ``"centroid"`` (NaN-aware mean of all keypoints), one keypoint name, or a
        list of names to average.
    fill
        None (default): float 1.0 inside, 0.0 outside, NaN where the position is
        missing. True/False: a boolean mask with missing frames set to ``fill``.

    Returns
    -------
    xr.DataArray
        Dims of the positions without ``space`` and ``keypoint`` (usually
        ``(time, individual)``), named after the zone.

    Raises
    ------
    PoseDataError
        When the zone's unit differs from the data's, or a keypoint is unknown.

    Examples
    --------
    >>> import behavior as bh
    >>> pos = np.array([[1.0, 1.0], [5.0, 1.0], [np.nan, 1.0]])[:, :, None, None]
    >>> ds = bh.from_numpy(pos, fps=1)
    >>> in_zone(ds, Rectangle(0, 0, 2, 2)).squeeze().values.tolist()
    [1.0, 0.0, nan]
    """
    track = _Track(data, keypoint)
    inside = track.inside(zone)
    if fill is None:
        values = np.where(track.valid, inside.astype(np.float64), np.nan)
    else:
        values = np.where(track.valid, inside, bool(fill))
    out = track.like(values, zone.name)
    return append_log(out, "roi.in_zone", zone=zone.name, keypoint=keypoint, fill=fill)


def occupancy(
    data: xr.Dataset | xr.DataArray, zone: Zone, *, keypoint: str | Sequence[str] = "centroid"
) -> xr.DataArray:
    """Fraction of the frames with a known position that are inside the zone.

    Parameters
    ----------
    data
        Pose dataset, or positions with dims ``time``, ``space``, ``keypoint``
        and ``individual``, in the zone's space unit.
    zone
        The zone.
    keypoint
        A keypoint name, a list of names, or ``"centroid"`` (NaN-aware mean of
        all keypoints).

    Returns
    -------
    xr.DataArray
        One value in [0, 1] per individual (NaN when no frame is known).

    Examples
    --------
    >>> import behavior as bh
    >>> pos = np.array([[1.0, 1.0], [5.0, 1.0], [np.nan, 1.0]])[:, :, None, None]
    >>> float(occupancy(bh.from_numpy(pos, fps=1), Rectangle(0, 0, 2, 2))[0])
    0.5
    """
    track = _Track(data, keypoint)
    inside = track.inside(zone)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = inside.sum(axis=0) / track.valid.sum(axis=0)
    return track.reduced(frac, "occupancy")


def time_in_zone(
    data: xr.Dataset | xr.DataArray, zone: Zone, *, keypoint: str | Sequence[str] = "centroid"
) -> xr.DataArray:
    """Seconds spent inside the zone: known frames inside times the frame duration.

    Parameters
    ----------
    data
        Pose dataset, or positions with dims ``time``, ``space``, ``keypoint``
        and ``individual``, in the zone's space unit.
    zone
        The zone.
    keypoint
        A keypoint name, a list of names, or ``"centroid"`` (NaN-aware mean of
        all keypoints).

    The frame duration is ``1 / attrs["fps"]``, or the median step of the time
    coordinate (in seconds) when the data have no fps.

    Examples
    --------
    >>> import behavior as bh
    >>> pos = np.array([[1.0, 1.0], [5.0, 1.0], [1.0, 1.0]])[:, :, None, None]
    >>> float(time_in_zone(bh.from_numpy(pos, fps=2), Rectangle(0, 0, 2, 2))[0])
    1.0
    """
    track = _Track(data, keypoint)
    dt = track.frame_seconds("time_in_zone")
    return track.reduced(track.inside(zone).sum(axis=0) * dt, "time_in_zone")


def crossings(
    data: xr.Dataset | xr.DataArray,
    zone: Zone,
    *,
    keypoint: str | Sequence[str] = "centroid",
    min_duration: int | float | str | None = None,
) -> pd.DataFrame:
    """Entries into and exits from the zone, one row per event.

    An entry is a change from outside to inside, an exit the reverse; starting
    inside is not an entry. Missing frames are skipped (the state on either side
    of a gap is compared). With ``min_duration`` a change counts only when the new
    state lasts that long (in known frames) without interruption, so flicker at
    the border is ignored; the event is dated at the first frame of the new state.

    Parameters
    ----------
    data, zone, keypoint
        As in :func:`in_zone`.
    min_duration
        Frames (int), seconds (float) or text (``"0.2 s"``); None or 0 counts
        every change.

    Returns
    -------
    pd.DataFrame
        Columns: the non-time dims of the positions (``individual``), ``zone``,
        ``event`` (``"entry"``/``"exit"``), ``frame`` (index along time) and
        ``time`` (the time coordinate), sorted by series and frame. The entries
        alone: ``table[table.event == "entry"]``.

    Examples
    --------
    >>> import behavior as bh
    >>> x = np.array([5.0, 1.0, 1.0, 5.0, 1.0])
    >>> ds = bh.from_numpy(np.stack([x, np.ones(5)], 1)[:, :, None, None], fps=1)
    >>> crossings(ds, Rectangle(0, 0, 2, 2))[["event", "frame"]].values.tolist()
    [['entry', 1], ['exit', 3], ['entry', 4]]
    """
    track = _Track(data, keypoint)
    return _crossing_table(track, zone, track.inside(zone), _min_frames(min_duration, track))


def _crossing_table(track: _Track, zone: Zone, inside: np.ndarray, min_frames: int):
    events, _ = _transitions(inside, track.valid, min_frames)
    labels = track.series_labels()
    cols: dict[str, list[Any]] = {d: [] for d in labels}
    frames, kinds = [], []
    for j, (f, is_entry) in enumerate(events):
        for d in labels:
            cols[d].append(np.repeat(labels[d][j], f.size))
        frames.append(f)
        kinds.append(np.where(is_entry, "entry", "exit"))
    frame = np.concatenate(frames) if frames else np.empty(0, np.int64)
    table = {d: np.concatenate(v) if v else np.empty(0) for d, v in cols.items()}
    table["zone"] = np.repeat(zone.name, frame.size)
    table["event"] = np.concatenate(kinds) if kinds else np.empty(0, dtype=str)
    table["frame"] = frame.astype(np.int64)
    table["time"] = track.time[frame]
    return pd.DataFrame(table)


def latency(
    data: xr.Dataset | xr.DataArray,
    zone: Zone,
    *,
    keypoint: str | Sequence[str] = "centroid",
    min_duration: int | float | str | None = None,
) -> xr.DataArray:
    """Seconds from the first frame of the recording to the first frame inside the zone.

    Parameters
    ----------
    data
        Pose dataset, or positions with dims ``time``, ``space``, ``keypoint``
        and ``individual``, in the zone's space unit.
    zone
        The zone.
    keypoint
        A keypoint name, a list of names, or ``"centroid"`` (NaN-aware mean of
        all keypoints).
    min_duration
        A change of state counts only if the new state lasts this long
        (frames, seconds or text such as ``"0.3 s"``).

    0 when the animal starts inside; NaN when it is never inside. With
    ``min_duration``, the first stay that lasts that long (as in
    :func:`crossings`).

    Examples
    --------
    >>> import behavior as bh
    >>> x = np.array([5.0, 5.0, 1.0, 1.0])
    >>> ds = bh.from_numpy(np.stack([x, np.ones(4)], 1)[:, :, None, None], fps=4)
    >>> float(latency(ds, Rectangle(0, 0, 2, 2))[0])
    0.5
    """
    track = _Track(data, keypoint)
    _, first = _transitions(track.inside(zone), track.valid, _min_frames(min_duration, track))
    return track.reduced(_latency(track, first), "latency")


def _latency(track: _Track, first: np.ndarray) -> np.ndarray:
    """Seconds from the first frame to frame ``first`` per series (NaN where -1)."""
    seconds = track.seconds("latency")
    out = np.full(first.shape, np.nan)
    hit = first >= 0
    out[hit] = seconds[first[hit]] - seconds[0]
    return out


def distance_in_zone(
    data: xr.Dataset | xr.DataArray, zone: Zone, *, keypoint: str | Sequence[str] = "centroid"
) -> xr.DataArray:
    """Path length travelled inside the zone, in space units.

    Parameters
    ----------
    data
        Pose dataset, or positions with dims ``time``, ``space``, ``keypoint``
        and ``individual``, in the zone's space unit.
    zone
        The zone.
    keypoint
        A keypoint name, a list of names, or ``"centroid"`` (NaN-aware mean of
        all keypoints).

    The sum of the steps between consecutive frames that are both inside (the
    step length uses every space coordinate).

    Examples
    --------
    >>> import behavior as bh
    >>> x = np.array([0.5, 1.0, 1.5, 5.0, 1.0])
    >>> ds = bh.from_numpy(np.stack([x, np.ones(5)], 1)[:, :, None, None], fps=1)
    >>> float(distance_in_zone(ds, Rectangle(0, 0, 2, 2))[0])
    1.0
    """
    track = _Track(data, keypoint)
    return track.reduced(_distance(track, track.inside(zone)), "distance_in_zone")


def _distance(track: _Track, inside: np.ndarray) -> np.ndarray:
    if track.n_time < 2:
        return np.zeros(inside.shape[1])
    step = np.sqrt((np.diff(track.xyz, axis=0) ** 2).sum(axis=1))  # (time - 1, series)
    both = inside[1:] & inside[:-1]
    return np.where(both, step, 0.0).sum(axis=0)


def zone_summary(
    data: xr.Dataset | xr.DataArray,
    zones: Zone | Mapping[str, Zone] | Iterable[Zone],
    *,
    keypoint: str | Sequence[str] = "centroid",
    min_duration: int | float | str | None = None,
) -> pd.DataFrame:
    """One row per individual and zone: time, fraction, entries, exits, latency, distance.

    Parameters
    ----------
    data
        Pose dataset or position array.
    zones
        One zone, a list of zones or a ``{name: zone}`` dict (as the layouts return).
    keypoint
        As in :func:`in_zone`.
    min_duration
        Flicker filter for entries, exits and latency (see :func:`crossings`).

    Returns
    -------
    pd.DataFrame
        Columns: the non-time dims (``individual``), ``zone``, ``time_s``,
        ``fraction`` (of known frames), ``entries``, ``exits``, ``latency_s``,
        ``distance`` and ``space_unit``; plus ``known_fraction``, the share of
        frames with a known position.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> table = zone_summary(ds, open_field(ds.attrs["arena_px"]))
    >>> sorted(table["zone"].unique())[:2]
    ['center', 'corner_bottom_left']
    """
    track = _Track(data, keypoint)
    zone_map = as_zone_dict(zones)
    dt = track.frame_seconds("zone_summary")
    min_frames = _min_frames(min_duration, track)
    labels = track.series_labels()
    n_series = track.valid.shape[1]
    known = track.valid.sum(axis=0)
    parts = []
    for zone in zone_map.values():
        inside = track.inside(zone)
        events, first = _transitions(inside, track.valid, min_frames)
        count = inside.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            fraction = count / known
        part = {d: labels[d] for d in labels}
        part.update(
            zone=np.repeat(zone.name, n_series),
            time_s=count * dt,
            fraction=fraction,
            entries=np.array([int(e.sum()) for _, e in events]),
            exits=np.array([int((~e).sum()) for _, e in events]),
            latency_s=_latency(track, first),
            distance=_distance(track, inside),
            space_unit=np.repeat(track.space_unit, n_series),
            known_fraction=known / max(1, track.n_time),
        )
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --------------------------------------------------------------------------------------
# Layouts
# --------------------------------------------------------------------------------------


def _arena_corners(arena: Any) -> tuple[np.ndarray, bool, str]:
    """(tl, tr, br, bl) corners, whether axis-aligned, and the unit."""
    unit = "pixels"
    if isinstance(arena, Rectangle):
        return arena.vertices, True, arena.unit
    if isinstance(arena, Polygon):
        unit = arena.unit
        if arena.holes or len(arena.vertices) != 4:
            raise PoseDataError(
                f"arena: expected a 4-cornered polygon, found {len(arena.vertices)} vertices"
            )
        pts = arena.vertices
    else:
        try:
            pts = np.array(arena, dtype=np.float64)
        except (TypeError, ValueError):
            raise PoseDataError(
                f"arena: expected a Rectangle, 4 corner points or bounds (xmin, ymin, xmax, "
                f"ymax), found {arena!r}"
            ) from None
        if pts.shape == (4,):
            rect = Rectangle(*pts, name="arena")
            return rect.vertices, True, unit
        if pts.shape != (4, 2) or not np.isfinite(pts).all():
            raise PoseDataError(
                f"arena: expected 4 corner points of shape (4, 2) or bounds (xmin, ymin, "
                f"xmax, ymax), found shape {pts.shape}"
            )
    center = pts.mean(axis=0)
    angle = np.arctan2(pts[:, 1] - center[1], pts[:, 0] - center[0])
    ordered = pts[np.argsort(angle)]
    start = int(np.argmin(ordered.sum(axis=1)))  # top-left: smallest x + y
    ordered = np.roll(ordered, -start, axis=0)
    aligned = (
        ordered[0, 1] == ordered[1, 1]
        and ordered[2, 1] == ordered[3, 1]
        and ordered[0, 0] == ordered[3, 0]
        and ordered[1, 0] == ordered[2, 0]
    )
    return ordered, bool(aligned), unit


def _fractions(size: Any, width: float, height: float, name: str) -> tuple[float, float]:
    sizes = np.broadcast_to(np.asarray(size, dtype=np.float64), (2,))
    fu, fv = float(sizes[0]) / width, float(sizes[1]) / height
    if not (np.isfinite([fu, fv]).all() and 0 < fu < 1 and 0 < fv < 1):
        raise PoseDataError(
            f"{name}: expected a size between 0 and the arena's ({width:g} x {height:g}), "
            f"found {size!r}"
        )
    return fu, fv


def open_field(
    arena: Any,
    *,
    center_fraction: float | tuple[float, float] = 0.5,
    center_size: float | tuple[float, float] | None = None,
    corner_fraction: float | None = None,
    corner_size: float | tuple[float, float] | None = None,
    unit: str | None = None,
) -> dict[str, Zone]:
    """Open-field zones: centre, periphery and four corners.

    The arena is a quadrilateral (an axis-aligned rectangle, or four tracked
    corners seen at an angle). Zones are laid out in the arena's own
    coordinates ``(u, v)`` in [0, 1]^2, mapped bilinearly onto its corners (so
    straight lines stay straight): the centre is the middle
    ``center_fraction`` of each side, the periphery is the arena minus the
    centre (a polygon with a hole, so the two partition the arena exactly), and
    each corner is a ``corner_fraction`` patch at a corner (part of the
    periphery).

    Parameters
    ----------
    arena
        A :class:`Rectangle`, a 4-vertex :class:`Polygon`, four ``(x, y)`` corners
        in any order, or bounds ``(xmin, ymin, xmax, ymax)`` (e.g. a simulated
        session's ``ds.attrs["arena_px"]``).
    center_fraction
        Side of the centre as a fraction of the arena's side (0.5: a centre of
        a quarter of the area); one value or ``(along x, along y)``.
    center_size
        Alternatively, the centre's side length(s) in the arena's units.
    corner_fraction
        Side of each corner zone as a fraction of the arena's side; default
        ``(1 - center_fraction) / 2``, the corner squares of the periphery.
    corner_size
        Alternatively, the corner zones' side length(s) in the arena's units.
    unit
        Unit of the zones; default the arena zone's unit, else ``"pixels"``.

    Returns
    -------
    dict
        ``{"center", "periphery", "corner_top_left", "corner_top_right",
        "corner_bottom_right", "corner_bottom_left"}`` (top = small y). Rectangles
        for an axis-aligned arena, polygons otherwise.

    Examples
    --------
    >>> zones = open_field(Rectangle(0, 0, 100, 100))
    >>> zones["center"].bounds, zones["periphery"].area
    ((25.0, 25.0, 75.0, 75.0), 7500.0)
    """
    corners, aligned, arena_unit = _arena_corners(arena)
    unit = unit or arena_unit
    tl, tr, br, bl = corners
    width = 0.5 * (np.hypot(*(tr - tl)) + np.hypot(*(br - bl)))
    height = 0.5 * (np.hypot(*(bl - tl)) + np.hypot(*(br - tr)))
    if center_size is not None:
        cu, cv = _fractions(center_size, width, height, "center_size")
    else:
        fr = np.broadcast_to(np.asarray(center_fraction, dtype=np.float64), (2,))
        cu, cv = float(fr[0]), float(fr[1])
        if not (0 < cu < 1 and 0 < cv < 1):
            raise PoseDataError(
                f"center_fraction: expected a fraction in (0, 1), found {center_fraction!r}"
            )
    if corner_size is not None:
        ku, kv = _fractions(corner_size, width, height, "corner_size")
    elif corner_fraction is not None:
        ku = kv = float(corner_fraction)
    else:
        ku, kv = (1 - cu) / 2, (1 - cv) / 2
    if not (0 < ku <= 0.5 and 0 < kv <= 0.5):
        raise PoseDataError(f"corner_fraction: expected a fraction in (0, 0.5], found {(ku, kv)!r}")

    def at(u: float, v: float) -> np.ndarray:
        return (1 - u) * (1 - v) * tl + u * (1 - v) * tr + u * v * br + (1 - u) * v * bl

    def along(t: float, lo: float, hi: float) -> float:
        # Exact ends, and a value that depends on t alone, so zones that meet share edges.
        return lo if t == 0 else hi if t == 1 else lo + t * (hi - lo)

    def patch(u0: float, v0: float, u1: float, v1: float, name: str) -> Zone:
        if aligned:
            (x0, y0), (x1, y1) = tl, br
            xs = along(u0, x0, x1), along(u1, x0, x1)
            ys = along(v0, y0, y1), along(v1, y0, y1)
            return Rectangle(xs[0], ys[0], xs[1], ys[1], name, unit=unit)
        quad = np.array([at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)])
        return Polygon(quad, name, unit=unit)

    center = patch((1 - cu) / 2, (1 - cv) / 2, (1 + cu) / 2, (1 + cv) / 2, "center")
    zones: dict[str, Zone] = {
        "center": center,
        "periphery": Polygon(corners, "periphery", holes=[center.vertices], unit=unit),
        "corner_top_left": patch(0, 0, ku, kv, "corner_top_left"),
        "corner_top_right": patch(1 - ku, 0, 1, kv, "corner_top_right"),
        "corner_bottom_right": patch(1 - ku, 1 - kv, 1, 1, "corner_bottom_right"),
        "corner_bottom_left": patch(0, 1 - kv, ku, 1, "corner_bottom_left"),
    }
    return zones


#: Landmark roles of the elevated plus maze, named as in DLCAnalyzer's EPM example
#: (Sturman et al. 2020): outer corners of the top (tl, tr), bottom (bl, br), left
#: (lt, lb) and right (rt, rb) arms, and the four corners of the centre square.
EPM_LANDMARKS = ("tl", "tr", "bl", "br", "lt", "lb", "rt", "rb", "ctl", "ctr", "cbl", "cbr")


def elevated_plus_maze(
    points: Mapping[str, Any] | xr.Dataset | xr.DataArray,
    *,
    closed: Literal["vertical", "horizontal"] = "vertical",
    names: Mapping[str, str] | None = None,
    individual: str | None = None,
    unit: str | None = None,
    include_maze: bool = False,
) -> dict[str, Zone]:
    """Elevated-plus-maze zones from its 12 landmark points.

    Rule (as DLCAnalyzer's ``EPM_zoneinfo.csv``): the centre is the square
    ``ctl, ctr, cbr, cbl``; each arm is the quadrilateral between its two outer
    corners and the two centre corners facing it: top ``tl, tr, ctr, ctl``,
    bottom ``cbl, cbr, br, bl``, left ``lt, ctl, cbl, lb``, right ``ctr, rt, rb,
    cbr``. Arms and centre share edges exactly, so no point is in two zones.

    Parameters
    ----------
    points
        ``{role: (x, y)}``, or a pose dataset / position array in which the
        landmarks are tracked keypoints (their median positions are used).
    closed
        Which arms are closed: ``"vertical"`` (top and bottom, as in the
        DLCAnalyzer example) or ``"horizontal"`` (left and right).
    names
        ``{role: keypoint name}`` where the data name the landmarks differently
        from :data:`EPM_LANDMARKS`.
    individual
        The individual carrying the landmarks (see :func:`landmarks`).
    unit
        Unit of the zones; default the data's space unit (or pixels for a dict).
    include_maze
        Also return ``"maze"``, the 12-sided outline of the whole maze
        (DLCAnalyzer's ``arena``: tl, tr, ctr, rt, rb, cbr, br, bl, cbl, lb, lt,
        ctl), which is the union of the other five zones.

    Returns
    -------
    dict
        ``{"open_arm_1", "open_arm_2", "closed_arm_1", "closed_arm_2", "center"}``:
        arm 1 is the top (closed="vertical") or left arm, arm 2 the other.
        A point off the maze (a head dip, the experimenter's hand) is in none.

    Examples
    --------
    >>> pts = {"tl": (4, 0), "tr": (6, 0), "bl": (4, 10), "br": (6, 10),
    ...        "lt": (0, 4), "lb": (0, 6), "rt": (10, 4), "rb": (10, 6),
    ...        "ctl": (4, 4), "ctr": (6, 4), "cbl": (4, 6), "cbr": (6, 6)}
    >>> maze = elevated_plus_maze(pts)
    >>> maze["closed_arm_1"].area, maze["center"].area
    (8.0, 4.0)
    """
    if closed not in ("vertical", "horizontal"):
        raise PoseDataError(f"closed: expected 'vertical' or 'horizontal', found {closed!r}")
    roles = {r: (names or {}).get(r, r) for r in EPM_LANDMARKS}
    if isinstance(points, xr.Dataset | xr.DataArray):
        found = landmarks(points, list(roles.values()), individual=individual)
        unit = unit or points.attrs.get("space_unit", "pixels")
    else:
        missing = [k for k in roles.values() if k not in points]
        if missing:
            raise PoseDataError(
                f"landmarks: missing {missing}; the plus maze needs {list(roles.values())}"
            )
        found = dict(points)
        unit = unit or "pixels"
    p = {r: np.asarray(found[k], dtype=np.float64)[:2] for r, k in roles.items()}
    top = Polygon([p["tl"], p["tr"], p["ctr"], p["ctl"]], "top", unit=unit)
    bottom = Polygon([p["cbl"], p["cbr"], p["br"], p["bl"]], "bottom", unit=unit)
    left = Polygon([p["lt"], p["ctl"], p["cbl"], p["lb"]], "left", unit=unit)
    right = Polygon([p["ctr"], p["rt"], p["rb"], p["cbr"]], "right", unit=unit)
    center = Polygon([p["ctl"], p["ctr"], p["cbr"], p["cbl"]], "center", unit=unit)
    closed_arms, open_arms = ((top, bottom), (left, right))
    if closed == "horizontal":
        closed_arms, open_arms = open_arms, closed_arms
    zones: dict[str, Zone] = {
        "open_arm_1": open_arms[0].renamed("open_arm_1"),
        "open_arm_2": open_arms[1].renamed("open_arm_2"),
        "closed_arm_1": closed_arms[0].renamed("closed_arm_1"),
        "closed_arm_2": closed_arms[1].renamed("closed_arm_2"),
        "center": center,
    }
    if include_maze:
        order = ("tl", "tr", "ctr", "rt", "rb", "cbr", "br", "bl", "cbl", "lb", "lt", "ctl")
        zones["maze"] = Polygon([p[r] for r in order], "maze", unit=unit)
    return zones
