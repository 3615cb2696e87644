"""Per-frame and multi-scale window features for classifiers and embeddings.

:func:`extract` turns a pose dataset into one ``(time, feature, individual)``
float32 DataArray with readable feature names, built from declared *feature
sets*:

=============  ==========================================================================
set            features (names)
=============  ==========================================================================
``pose``       ``dist:<a>~<b>`` every pair of keypoints; ``angle:<a>~<b>~<c>`` (the
               angle at ``b``, degrees) at triplets chosen from the keypoint roles;
               ``body_length`` (along the midline nose - neck - body centre - tail
               base); ``hull_area`` (convex hull of the body keypoints)
``kinematics`` ``speed:<kp>`` and ``accel:<kp>`` per keypoint and for the ``centroid``;
               ``heading_change`` (angular speed of the body axis, deg/s)
``social``     relations to the *nearest other animal* in each frame (by centroid
               distance), from :func:`behavior.social.relations`:
               ``social:centroid_distance``, ``social:closest_distance``,
               ``social:nose_to_nose``, ``social:nose_to_body``,
               ``social:nose_to_tail_base``, ``social:relative_angle``,
               ``social:gaze_offset``, ``social:approach_speed``, and the other's
               side: ``social:other_gaze_offset``, ``social:other_nose_to_body``,
               ``social:other_nose_to_tail_base``, ``social:other_speed``
``dyad``       the nearest other animal in this animal's egocentric frame (origin at
               its body centre, x along its tail base -> head axis), whatever the
               keypoints are called: ``dyad:other_<kp>_front`` / ``_side`` (its every
               keypoint, and ``dyad:other_centre_*``), ``dyad:<kp>_front`` / ``_side``
               (my own posture), ``dyad:dist:<mine>~<theirs>`` (every inter-animal
               keypoint pair), ``dyad:closest_distance``, ``dyad:centre_distance``,
               ``dyad:velocity_front`` / ``_side`` (mine, in my frame),
               ``dyad:relative_velocity_front`` / ``_side`` and
               ``dyad:relative_speed`` (its centre's velocity less mine),
               ``dyad:closing_speed``, ``dyad:relative_heading_cos`` / ``_sin``,
               ``dyad:bearing_cos`` / ``_sin``, ``dyad:turn_speed`` (deg/s),
               ``dyad:[other_]body_length``, ``dyad:[other_]accel``,
               ``dyad:[other_]{head,centre,tail_base}_speed``. Needs a head and a
               tail base: named, given in ``roles=``, or inferred from the data
               (:func:`infer_keypoint_roles`); not in ``"default"``
``zones``      ``zone:<name>`` (1 inside, 0 outside) and ``zone_distance:<name>``
               (signed distance of the centroid to the border, negative inside)
``quality``    ``missing:<kp>`` (1 missing, 0 present), ``missing:fraction``,
               ``conf:<kp>`` and ``conf:mean`` (when the source has confidence)
=============  ==========================================================================

``sets="default"`` takes every built-in set that applies (``social`` with two
or more individuals, ``zones`` when ``zones`` are given) except ``dyad``, which
is asked for by name. Feature names never
carry individual names, so a model trained on ``mouse_0``/``mouse_1`` applies
to any animals. Window statistics of a feature are named
``<feature>|<stat>@<window>``, e.g. ``speed:centroid|mean@0.5s``. Each set says
which of its features get them; the built-in sets summarise a few each, so that
8 keypoints and 2 animals give about 500 features: ``body_length``,
``hull_area`` and the first angle; ``speed:centroid``, ``accel:centroid``,
``heading_change`` and the speeds of the nose and tail base; the social
distances, angles, gaze offsets, approach speed and the other's speed; in
``dyad`` the centre, closest and head-to-head distances, speeds of both heads,
centres and tail bases, closing, relative and forward speeds, turn speed, body
lengths, accelerations, the cosine of the relative heading and the other's
centre and head in my frame; ``zone:*``; ``missing:fraction`` and ``conf:mean``.

Window statistics are ``mean``, ``std``, ``min``, ``max``, ``sum``, ``median``
and ``change`` (mean of the window after the frame less that before it, see
:func:`window_stats`). ``extract(fill_gaps="linear")`` interpolates missing
positions over time before the per-frame features (``missing:*`` still describe
the data as given). When the keypoint names say neither which is the nose nor
which the tail base, :func:`extract` infers head, tail base and body centre from
the data (:func:`infer_keypoint_roles`), logs them and lists them under
``"inferred"`` in ``attrs["keypoint_roles"]``; give ``roles=`` to decide.

Units
-----
A dataset in pixels with a recorded calibration (``attrs["px_per_cm"]``) is
converted to cm first (:func:`behavior.kinematics.calibrate`); otherwise the
features stay in the dataset's ``space_unit`` and the result's attrs say so (a
unit is never guessed). Speeds are per second (per frame when ``time`` counts
frames), angles in degrees. The ``feature_unit`` coordinate gives the unit of
every feature.

NaN policy
----------
A per-frame feature is NaN where an input it needs is missing: a distance where
one of its keypoints is, a speed where the keypoint is missing in a
neighbouring frame (central differences), the hull where fewer than three body
keypoints are present. ``missing:*`` is never NaN. Window statistics use the
valid values inside each window and are NaN only where the whole window is.

Declaring a feature set
-----------------------
A :class:`FeatureSet` names a function ``function(ds, context)`` returning a
mapping from feature name to an array ``(time, individual)`` (or a
:class:`Feature` with a unit) or a DataArray ``(time, feature, individual)``.
:func:`register_feature_set` makes it available to ``extract(sets=[...])``
without editing the library; :func:`feature_sets` lists them.

Window statistics take O(n) per window and series whatever the window length:
prefix sums for mean, std and sum, running minima and maxima within blocks
(van Herk / Gil-Werman) for min and max, and pandas' rolling median for the
median (O(n log w), not a default). The per-frame features, the statistics and
their assembly into the one preallocated float32 output are numba kernels
(``cache=True``) compiled by :func:`_warm_up`.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr

from behavior._pose import Gradient, core_position, position_of, unwrap
from behavior._pose import warm_up as warm_up_pose
from behavior._registry import Registry, registry_key
from behavior.dataset import append_log, fps_of, require_dims, time_seconds
from behavior.errors import PoseDataError
from behavior.social import KeypointRoles, keypoint_roles
from behavior.units import space_unit_of, to_frames, to_seconds

__all__ = [
    "BUILTIN_SETS",
    "FEATURE_SETS",
    "STATS",
    "Feature",
    "FeatureContext",
    "FeatureSet",
    "extract",
    "feature_set_table",
    "feature_sets",
    "infer_keypoint_roles",
    "register_feature_set",
    "unregister_feature_set",
    "window_stats",
]

logger = logging.getLogger(__name__)

STATS = ("mean", "std", "min", "max", "sum", "median", "change")
"""Window statistics :func:`window_stats` and :func:`extract` know."""

DEFAULT_WINDOWS = ("0.1 s", "0.25 s", "0.5 s", "1 s", "2 s")
DEFAULT_STATS = ("mean", "std", "min", "max", "sum")

_KERNEL_STATS = {"mean": 0, "std": 1, "min": 2, "max": 3, "sum": 4, "change": 6}
_N_SLOTS = 7  # slot 5 holds the number of statistics


# --------------------------------------------------------------------------------------
# numba kernels
# --------------------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True)
def _prefix_kernel(x, rows, c0, c1, c2, ref):  # pragma: no cover - numba
    """Prefix count, sum and sum of squares of the columns ``rows`` of ``x`` (time, S).

    Values are taken less the first valid value of their column, ``ref`` (small
    squares, little cancellation, and nothing of the future enters a prefix);
    NaN values count for nothing. ``c*`` are (time + 1, Q).
    """
    n = x.shape[0]
    for q in numba.prange(rows.shape[0]):
        col = rows[q]
        r = 0.0
        for t in range(n):
            val = x[t, col]
            if val == val:
                r = val
                break
        ref[q] = r
        c0[0, q] = 0.0
        c1[0, q] = 0.0
        c2[0, q] = 0.0
        for t in range(n):
            val = x[t, col]
            if val == val:
                d = val - r
                c0[t + 1, q] = c0[t, q] + 1.0
                c1[t + 1, q] = c1[t, q] + d
                c2[t + 1, q] = c2[t, q] + d * d
            else:
                c0[t + 1, q] = c0[t, q]
                c1[t + 1, q] = c1[t, q]
                c2[t + 1, q] = c2[t, q]


@numba.njit(cache=True, parallel=True)
def _minmax_kernel(x, rows, widths, offsets, sign, out):  # pragma: no cover - numba
    """Sliding minimum (``sign`` 1) or maximum (``sign`` -1) of the columns ``rows`` of
    ``x`` (time, S) over every window into ``out`` (Q, window, time).

    The van Herk / Gil-Werman scheme: minima running forward and backward within
    blocks of the window length, so that a window spanning two blocks is the
    smaller of a backward minimum at its start and a forward minimum at its end,
    and one within a block starts or ends with it (windows are shorter than a
    block only where clipped at the ends of the series): three passes, O(n) per
    window whatever its length. NaN counts as +inf
    (-inf for the maximum) and a window without a valid value gives NaN.
    """
    n = x.shape[0]
    n_w = widths.shape[0]
    for q in numba.prange(rows.shape[0]):
        col = rows[q]
        v = np.empty(n)
        for t in range(n):
            val = x[t, col] * sign
            v[t] = val if val == val else np.inf
        fwd = np.empty(n)
        bwd = np.empty(n)
        for w in range(n_w):
            width = widths[w]
            for start in range(0, n, width):
                stop = min(n, start + width)
                acc = np.inf
                for t in range(start, stop):
                    acc = min(acc, v[t])
                    fwd[t] = acc
                acc = np.inf
                for t in range(stop - 1, start - 1, -1):
                    acc = min(acc, v[t])
                    bwd[t] = acc
            off = offsets[w]
            found = out[q, w]
            for t in range(n):
                hi = min(n - 1, t + off)
                lo = max(0, t + off + 1 - width)
                if lo // width != hi // width:
                    best = min(bwd[lo], fwd[hi])
                elif lo % width == 0:  # within one block, from its start
                    best = fwd[hi]
                else:  # within one block, to its end (or the series' end)
                    best = bwd[lo]
                found[t] = best * sign if best < np.inf else np.nan


@numba.njit(cache=True, parallel=True)
def _assemble_kernel(
    x,
    base_cols,
    base_inds,
    win_cols,
    win_inds,
    c0,
    c1,
    c2,
    ref,
    widths,
    offsets,
    slots,
    mins,
    maxs,
    centered,
    out,
):  # pragma: no cover - numba
    """Write the features and their window statistics into ``out`` (time, F, I), row by row.

    ``x`` (time, S) holds the per-frame features; column ``s`` goes to
    ``out[:, base_cols[s], base_inds[s]]`` (skipped where ``base_cols[s] < 0``).
    Window column ``q`` has prefix sums ``c0``, ``c1``, ``c2`` and mean ``ref`` from
    :func:`_prefix_kernel`, and sliding minima and maxima ``mins``/``maxs`` (Q,
    window, time) from :func:`_minmax_kernel`. Window ``w`` of frame ``t`` covers
    ``[t + offsets[w] + 1 - widths[w], t + offsets[w]]`` clipped to the series; only
    valid values count, NaN where there is none. ``slots`` gives the position of
    mean, std (ddof 0), min, max, sum and change among the statistics (-1: not
    wanted, ``n_stats`` at index 5, change at index 6); column ``q``, window ``w``,
    statistic at slot ``k`` goes to ``out[:, win_cols[q] + w * n_stats + k, win_inds[q]]``.
    The change is the mean of the ``w`` frames from ``t`` on less the mean of the
    ``w`` frames up to ``t`` (centred windows, both holding ``t``), or the mean of
    the ``w`` frames up to ``t`` less that of the ``w`` frames before them (causal:
    ``offsets`` 0); each side clipped to the series, NaN where a side has no valid
    value.
    """
    n, n_cols = x.shape
    n_q = win_cols.shape[0]
    n_w = widths.shape[0]
    n_c = slots[5]
    s_mean, s_std, s_min, s_max, s_sum = slots[0], slots[1], slots[2], slots[3], slots[4]
    s_change = slots[6]
    sums = s_mean >= 0 or s_std >= 0 or s_sum >= 0
    block = 1024
    n_blocks = (n + block - 1) // block
    for b in numba.prange(n_blocks):
        for t in range(b * block, min(n, (b + 1) * block)):
            for s in range(n_cols):
                if base_cols[s] >= 0:
                    out[t, base_cols[s], base_inds[s]] = x[t, s]
            for w in range(n_w):
                hi = min(n, t + offsets[w] + 1)
                lo = max(0, t + offsets[w] + 1 - widths[w])
                for q in range(n_q):
                    ind = win_inds[q]
                    base = win_cols[q] + w * n_c
                    if sums:
                        cnt = c0[hi, q] - c0[lo, q]
                        if cnt > 0:
                            s1 = c1[hi, q] - c1[lo, q]
                            mu = s1 / cnt
                            if s_mean >= 0:
                                out[t, base + s_mean, ind] = mu + ref[q]
                            if s_std >= 0:
                                var = (c2[hi, q] - c2[lo, q]) / cnt - mu * mu
                                if var > 0.0 and cnt > 1.5:
                                    out[t, base + s_std, ind] = math.sqrt(var)
                                else:
                                    out[t, base + s_std, ind] = 0.0
                            if s_sum >= 0:
                                out[t, base + s_sum, ind] = s1 + cnt * ref[q]
                        else:
                            if s_mean >= 0:
                                out[t, base + s_mean, ind] = np.nan
                            if s_std >= 0:
                                out[t, base + s_std, ind] = np.nan
                            if s_sum >= 0:
                                out[t, base + s_sum, ind] = np.nan
                    if s_change >= 0:
                        width = widths[w]
                        if centered:  # centred: [t, t + w) less (t - w, t]
                            a_lo, a_hi = t, min(n, t + width)
                            b_lo, b_hi = max(0, t + 1 - width), t + 1
                        else:  # causal: (t - w, t] less (t - 2w, t - w]
                            a_lo, a_hi = max(0, t + 1 - width), t + 1
                            b_lo, b_hi = max(0, t + 1 - 2 * width), max(0, t + 1 - width)
                        n_a = c0[a_hi, q] - c0[a_lo, q]
                        n_b = c0[b_hi, q] - c0[b_lo, q]
                        if n_a > 0 and n_b > 0:
                            out[t, base + s_change, ind] = (c1[a_hi, q] - c1[a_lo, q]) / n_a - (
                                c1[b_hi, q] - c1[b_lo, q]
                            ) / n_b
                        else:
                            out[t, base + s_change, ind] = np.nan
                    if s_min >= 0:
                        out[t, base + s_min, ind] = mins[q, w, t]
                    if s_max >= 0:
                        out[t, base + s_max, ind] = maxs[q, w, t]


@numba.njit(cache=True)
def _distance_kernel(pos, ia, ib, out):  # pragma: no cover - numba
    """``out[t, p, i]``: distance between keypoints ``ia[p]`` and ``ib[p]`` of
    ``pos`` (time, space, keypoint, individual); NaN where either is missing."""
    n, n_space, _, n_ind = pos.shape
    for t in range(n):
        for p in range(ia.shape[0]):
            a = ia[p]
            b = ib[p]
            for i in range(n_ind):
                acc = 0.0
                for d in range(n_space):
                    v = pos[t, d, a, i] - pos[t, d, b, i]
                    acc += v * v
                out[t, p, i] = math.sqrt(acc)


@numba.njit(cache=True)
def _angle_kernel(pos, ia, ib, ic, out):  # pragma: no cover - numba
    """``out[t, p, i]``: the angle in degrees at keypoint ``ib[p]`` between the
    segments to ``ia[p]`` and ``ic[p]``, ``atan2(|u x v|, u . v)`` (x-y-z or x-y);
    NaN where a keypoint is missing or a segment has zero length."""
    n, n_space, _, n_ind = pos.shape
    for t in range(n):
        for p in range(ia.shape[0]):
            a = ia[p]
            b = ib[p]
            c = ic[p]
            for i in range(n_ind):
                ux = pos[t, 0, a, i] - pos[t, 0, b, i]
                uy = pos[t, 1, a, i] - pos[t, 1, b, i]
                vx = pos[t, 0, c, i] - pos[t, 0, b, i]
                vy = pos[t, 1, c, i] - pos[t, 1, b, i]
                uu = ux * ux + uy * uy
                vv = vx * vx + vy * vy
                dot = ux * vx + uy * vy
                if n_space > 2:
                    uz = pos[t, 2, a, i] - pos[t, 2, b, i]
                    vz = pos[t, 2, c, i] - pos[t, 2, b, i]
                    uu += uz * uz
                    vv += vz * vz
                    dot += uz * vz
                    cx = uy * vz - uz * vy
                    cy = uz * vx - ux * vz
                    cz = ux * vy - uy * vx
                    cross = math.sqrt(cx * cx + cy * cy + cz * cz)
                else:
                    cross = abs(ux * vy - uy * vx)
                if uu == 0.0 or vv == 0.0:
                    out[t, p, i] = np.nan
                else:
                    out[t, p, i] = math.degrees(math.atan2(cross, dot))


@numba.njit(cache=True)
def _norm_kernel(v, out):  # pragma: no cover - numba
    """``out[t, j]``: Euclidean norm over axis 1 of ``v`` (time, space, m)."""
    n, n_space, m = v.shape
    for t in range(n):
        for j in range(m):
            acc = 0.0
            for d in range(n_space):
                acc += v[t, d, j] * v[t, d, j]
            out[t, j] = math.sqrt(acc)


@numba.njit(cache=True)
def _centroid_kernel(pos, idx, out):  # pragma: no cover - numba
    """``out[t, :, i]``: mean of the keypoints ``idx`` of ``pos`` (time, space, keypoint,
    individual) whose every coordinate is present; NaN where none is."""
    n, n_space, _, n_ind = pos.shape
    for t in range(n):
        for i in range(n_ind):
            for d in range(n_space):
                out[t, d, i] = 0.0
            count = 0
            for j in range(idx.shape[0]):
                k = idx[j]
                ok = True
                for d in range(n_space):
                    if pos[t, d, k, i] != pos[t, d, k, i]:
                        ok = False
                if ok:
                    count += 1
                    for d in range(n_space):
                        out[t, d, i] += pos[t, d, k, i]
            for d in range(n_space):
                out[t, d, i] = out[t, d, i] / count if count > 0 else np.nan


@numba.njit(cache=True)
def _hull_kernel(xy, out):  # pragma: no cover - numba
    """Area of the convex hull of the present points of ``xy`` (time, 2, point, series).

    Monotone chain on the points present in each frame (x and y not NaN); NaN where
    fewer than three are present.
    """
    n, _, k, n_series = xy.shape
    block = 512
    n_blocks = (n + block - 1) // block
    for b in range(n_blocks):
        px = np.empty(k)
        py = np.empty(k)
        hull = np.empty(2 * k + 1, dtype=np.int64)
        for t in range(b * block, min(n, (b + 1) * block)):
            for s in range(n_series):
                m = 0
                for j in range(k):
                    x = xy[t, 0, j, s]
                    y = xy[t, 1, j, s]
                    if x == x and y == y:
                        # insertion sort by (x, y) as the points arrive
                        pos = m
                        while pos > 0 and (
                            px[pos - 1] > x or (px[pos - 1] == x and py[pos - 1] > y)
                        ):
                            px[pos] = px[pos - 1]
                            py[pos] = py[pos - 1]
                            pos -= 1
                        px[pos] = x
                        py[pos] = y
                        m += 1
                if m < 3:
                    out[t, s] = np.nan
                    continue
                h = 0
                for j in range(m):  # lower hull
                    while h >= 2:
                        o = hull[h - 2]
                        a = hull[h - 1]
                        cross = (px[a] - px[o]) * (py[j] - py[o]) - (py[a] - py[o]) * (
                            px[j] - px[o]
                        )
                        if cross <= 0.0:
                            h -= 1
                        else:
                            break
                    hull[h] = j
                    h += 1
                lower = h + 1
                for j in range(m - 2, -1, -1):  # upper hull
                    while h >= lower:
                        o = hull[h - 2]
                        a = hull[h - 1]
                        cross = (px[a] - px[o]) * (py[j] - py[o]) - (py[a] - py[o]) * (
                            px[j] - px[o]
                        )
                        if cross <= 0.0:
                            h -= 1
                        else:
                            break
                    hull[h] = j
                    h += 1
                area = 0.0
                for j in range(h - 1):  # the chain ends where it started
                    a = hull[j]
                    c = hull[j + 1]
                    area += px[a] * py[c] - px[c] * py[a]
                out[t, s] = 0.5 * abs(area)


def _warm_up() -> None:
    """Compile the numba kernels this module uses on tiny inputs (once per process)."""
    warm_up_pose()  # the time derivatives of the kinematics set
    for dtype in (np.float32, np.float64):
        x = np.array([[1.0, 0.0], [np.nan, 1.0], [3.0, np.nan], [2.0, np.nan]], dtype=dtype)
        out = np.empty((4, 22, 1), dtype=dtype)
        _assemble(
            x,
            np.array([0, 1], dtype=np.int64),
            np.zeros(2, dtype=np.int64),
            np.array([0, 1], dtype=np.int64),
            np.array([2, 12], dtype=np.int64),
            np.zeros(2, dtype=np.int64),
            [("a", 2), ("b", 3)],
            list(DEFAULT_STATS),
            True,
            out,
        )
    xy = np.zeros((2, 2, 4, 1))
    xy[:, :, 1, 0] = 1.0
    xy[:, 1, 2, 0] = 1.0
    xy[1, 0, 3, 0] = np.nan
    _hull_kernel(xy, np.empty((2, 1)))
    idx = np.array([0, 1], dtype=np.int64)
    for pos in (xy, np.zeros((2, 3, 4, 1))):
        _distance_kernel(pos, idx, idx[::-1].copy(), np.empty((2, 2, 1)))
        _angle_kernel(pos, idx, idx[::-1].copy(), idx, np.empty((2, 2, 1)))
        _centroid_kernel(pos, idx, np.empty((2, pos.shape[1], 1)))
    _norm_kernel(np.zeros((2, 2, 3)), np.empty((2, 3)))


# --------------------------------------------------------------------------------------
# Window statistics
# --------------------------------------------------------------------------------------


def _window_label(seconds: float | None, frames: int) -> str:
    if seconds is None:
        return f"{frames}f"
    return f"{seconds:g}s"


def _listed(value: Any, name: str, expected: str) -> list[Any]:
    """``value`` (a list, tuple, array ...) as a list; anything else is refused by name."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(
        value, Sequence | np.ndarray | set | frozenset
    ):
        raise PoseDataError(f"{name}: expected {expected}, found {type(value).__name__} {value!r}")
    return (
        list(np.ravel(np.asarray(value, dtype=object)))
        if isinstance(value, np.ndarray)
        else list(value)
    )


def _resolve_windows(
    windows: Sequence[int | float | str] | int | float | str | None, fps: float | None
) -> list[tuple[str, int]]:
    """``(label, frames)`` of each window; labels in seconds unless given in frames."""
    if windows is None:
        return []
    if isinstance(windows, str | int | float):
        windows = [windows]
    windows = _listed(windows, "windows", "durations such as ['0.5 s', '1 s']")
    out: list[tuple[str, int]] = []
    for value in windows:
        if isinstance(value, bool):
            raise PoseDataError(f"windows: expected durations such as '0.5 s', found {value!r}")
        frames = to_frames(value, fps, name="windows")
        given_in_frames = isinstance(value, int) or (
            isinstance(value, str) and value.strip().lower().endswith(("frame", "frames", "f"))
        )
        seconds = None if given_in_frames else to_seconds(value, name="windows")
        if frames < 1:
            raise PoseDataError(
                f"windows: {value!r} is shorter than one frame at {fps:g} fps "
                f"({1 / fps:.4g} s); give windows of at least one frame"
            )
        label = _window_label(seconds, frames)
        if any(label == lab for lab, _ in out):
            raise PoseDataError(f"windows: {value!r} is given twice (as {label!r})")
        out.append((label, frames))
    collapsed = {}
    for label, frames in out:
        collapsed.setdefault(frames, []).append(label)
    for frames, labels in collapsed.items():
        if len(labels) > 1:
            logger.warning(
                "windows %s all round to %d frame(s) at this frame rate: their features are equal",
                labels,
                frames,
            )
    return out


def _resolve_stats(stats: Sequence[str] | str | None) -> list[str]:
    if stats is None:
        return []
    if isinstance(stats, str):
        stats = [stats]
    stats = _listed(stats, "stats", f"names of statistics among {list(STATS)}")
    out = []
    for s in stats:
        if s not in STATS:
            raise PoseDataError(f"stats: unknown statistic {s!r}; expected some of {list(STATS)}")
        if s in out:
            raise PoseDataError(f"stats: {s!r} is given twice")
        out.append(s)
    return out


def _assemble(
    x: np.ndarray,
    base_cols: np.ndarray,
    base_inds: np.ndarray,
    rows: np.ndarray,
    win_cols: np.ndarray,
    win_inds: np.ndarray,
    windows: Sequence[tuple[str, int]],
    stats: Sequence[str],
    centered: bool,
    out: np.ndarray,
) -> None:
    """Copy the per-frame features ``x`` (time, S) into ``out`` (time, F, I) and add the
    window statistics of the columns ``rows`` (see :func:`_assemble_kernel`)."""
    n = x.shape[0]
    if not windows or not stats:
        rows = rows[:0]
        windows = []
    widths = np.array([f for _, f in windows], dtype=np.int64)
    offsets = (widths - 1) // 2 if centered else np.zeros_like(widths)
    slots = np.full(_N_SLOTS, -1, dtype=np.int64)
    for k, name in enumerate(stats):
        if name in _KERNEL_STATS:
            slots[_KERNEL_STATS[name]] = k
    slots[5] = len(stats)
    q = rows.shape[0]
    sums = q and (slots[0] >= 0 or slots[1] >= 0 or slots[4] >= 0 or slots[6] >= 0)
    c0, c1, c2 = (np.empty((n + 1, q) if sums else (1, 0)) for _ in range(3))
    ref = np.empty(q)
    if sums:
        _prefix_kernel(x, rows, c0, c1, c2, ref)
    empty = np.empty((0, 0, 0), dtype=x.dtype)
    extremes = []
    for slot, sign in ((slots[2], 1.0), (slots[3], -1.0)):
        found = empty
        if q and slot >= 0:
            found = np.empty((q, len(windows), n), dtype=x.dtype)
            _minmax_kernel(x, rows, widths, offsets, sign, found)
        extremes.append(found)
    _assemble_kernel(
        x,
        base_cols,
        base_inds,
        win_cols,
        win_inds,
        c0,
        c1,
        c2,
        ref,
        widths,
        offsets,
        slots,
        extremes[0],
        extremes[1],
        bool(centered),
        out,
    )
    if q and "median" in stats:
        import pandas as pd

        k = list(stats).index("median")
        for j in range(q):
            one = pd.Series(np.asarray(x[:, rows[j]], dtype=np.float64))
            for w, (_, width) in enumerate(windows):
                med = one.rolling(int(width), center=centered, min_periods=1).median()
                out[:, win_cols[j] + w * len(stats) + k, win_inds[j]] = med.to_numpy()


def window_stats(
    values: np.ndarray | xr.DataArray,
    windows: Sequence[int | float | str] = DEFAULT_WINDOWS,
    stats: Sequence[str] = DEFAULT_STATS,
    fps: float | None = None,
    centered: bool = True,
) -> np.ndarray | xr.DataArray:
    """Statistics of every series over sliding windows given in seconds (or frames).

    Parameters
    ----------
    values
        An array with time on axis 0, or a DataArray with a ``time`` dim.
    windows
        Window lengths: seconds (``0.5``), text (``"0.5 s"``, ``"200 ms"``) or
        frames (an ``int``, ``"7 frames"``), rounded to whole frames with ``fps``.
    stats
        Some of :data:`STATS`: ``"mean"``, ``"std"`` (population, ddof 0),
        ``"min"``, ``"max"``, ``"sum"``, ``"median"``, ``"change"``. All but the
        median take O(n) per window and series; the median uses pandas' rolling
        median (O(n log w)). ``"change"`` is the mean over the window after the
        frame less the mean over the window before it, each of the window's
        length and both holding the frame itself (centred), or, causal, the mean
        of the window ending at the frame less the mean of the window before
        that one.
    fps
        Frame rate; default ``values.attrs["fps"]`` for a DataArray. Needed
        unless every window is in frames.
    centered
        True: the window of ``w`` frames is centred on frame ``t``: it ends at
        ``t + (w - 1) // 2`` (one more frame before ``t`` than after it when ``w``
        is even), as ``pandas.Series.rolling(w, center=True)``. False: causal, the
        ``w`` frames ending at ``t``.

    Returns
    -------
    np.ndarray or xr.DataArray
        An array input gives float64 of shape ``(*values.shape, window, stat)``.
        A DataArray with a ``feature`` dim gives the same dims with features named
        ``<feature>|<stat>@<window>`` (e.g. ``speed|mean@0.5s``), per feature then
        window then statistic; any other DataArray gains trailing ``window`` and
        ``stat`` dims with their labels as coordinates.

    Raises
    ------
    PoseDataError
        For an unknown statistic, a window shorter than a frame, or a window in
        seconds without a frame rate (each naming the argument).

    Notes
    -----
    Near the ends a window holds the frames that exist. Only valid (non-NaN)
    values count; a window with none gives NaN (for ``"change"``: where either
    side has none).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, np.nan, 4.0])
    >>> window_stats(x, windows=[3], stats=["mean", "max"])[:, 0, :].tolist()
    [[1.5, 2.0], [1.5, 2.0], [3.0, 4.0], [4.0, 4.0]]
    >>> window_stats(np.array([0.0, 0.0, 0.0, 6.0, 6.0, 6.0]), windows=[3], stats=["change"])[
    ...     :, 0, 0
    ... ].tolist()
    [0.0, 2.0, 4.0, 4.0, 2.0, 0.0]
    """
    if isinstance(values, xr.DataArray):
        require_dims(values, "time", name="values")
        if fps is None and values.attrs.get("fps") is not None:
            fps = float(values.attrs["fps"])
    win = _resolve_windows(windows, fps)
    st = _resolve_stats(stats)
    if not win or not st:
        raise PoseDataError(
            f"windows/stats: expected at least one window and one statistic, found "
            f"windows={windows!r}, stats={stats!r}"
        )
    is_da = isinstance(values, xr.DataArray)
    da = values if is_da else None
    if is_da:
        order = ["time", *[d for d in values.dims if d != "time"]]
        arr = np.asarray(values.transpose(*order).values, dtype=np.float64)
    else:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 0:
            raise PoseDataError("values: expected an array with time on axis 0, found a scalar")
    n = arr.shape[0]
    rest = arr.shape[1:]
    m = int(np.prod(rest, dtype=np.int64))
    x = np.ascontiguousarray(arr.reshape(n, m))
    per = len(win) * len(st)
    out = np.empty((n, m * per, 1), dtype=np.float64)
    none = np.full(m, -1, dtype=np.int64)
    zeros = np.zeros(m, dtype=np.int64)
    cols = np.arange(m, dtype=np.int64) * per
    _assemble(x, none, zeros, np.arange(m, dtype=np.int64), cols, zeros, win, st, centered, out)
    result = out.reshape(n, *rest, len(win), len(st))
    if not is_da:
        return result
    assert da is not None
    labels = [lab for lab, _ in win]
    if "feature" in da.dims:
        moved = np.moveaxis(result, order.index("feature"), -3)  # (..., feature, window, stat)
        f = da.sizes["feature"]
        merged = moved.reshape(*moved.shape[:-3], f * per)
        merged = np.moveaxis(merged, -1, order.index("feature"))
        names = [f"{name}|{s}@{lab}" for name in da["feature"].values for lab in labels for s in st]
        coords = {k: v for k, v in da.coords.items() if "feature" not in v.dims and k in da.coords}
        out_da = xr.DataArray(merged, dims=order, coords=coords, attrs=dict(da.attrs))
        out_da = out_da.assign_coords(feature=names).transpose(*da.dims)
    else:
        out_da = xr.DataArray(
            result,
            dims=[*order, "window", "stat"],
            coords={**{k: v for k, v in da.coords.items()}, "window": labels, "stat": st},
            attrs=dict(da.attrs),
        )
    out_da.name = da.name
    return append_log(out_da, "features.window_stats", windows=labels, stats=st, centered=centered)


# --------------------------------------------------------------------------------------
# Feature sets
# --------------------------------------------------------------------------------------


@dataclass
class Feature:
    """One feature returned by a feature-set function: values and how to treat them.

    Attributes
    ----------
    values
        Array ``(time, individual)``.
    unit
        Unit text (``"cm"``, ``"cm/s"``, ``"deg"``, ``"1"``); ``""`` if unknown.
    windowed
        Whether window statistics are taken of it; None follows the set's
        :attr:`FeatureSet.windowed`.

    Examples
    --------
    >>> import numpy as np
    >>> Feature(np.zeros((10, 2)), unit="cm").unit
    'cm'
    """

    values: Any
    unit: str = ""
    windowed: bool | None = None


@dataclass(frozen=True)
class FeatureSet:
    """A named group of features: a function of the dataset and a :class:`FeatureContext`.

    Attributes
    ----------
    name
        The name used in ``extract(sets=...)``.
    function
        ``function(ds, context)`` returning a mapping from feature name to an
        array ``(time, individual)`` or a :class:`Feature`, or a DataArray
        ``(time, feature, individual)``. ``ds`` is the dataset in the feature
        unit (calibrated to cm when it records ``px_per_cm``).
    description
        One line on what the set measures.
    min_individuals
        The set applies only to datasets with at least this many individuals.
    needs
        What else it needs: ``"zones"``, ``"confidence"``, or keypoint roles
        such as ``"nose"`` or ``"tail_base"``.
    windowed
        Which features get window statistics: True (all), False (none), or
        feature names / shell patterns (``"speed:*"``). A :class:`Feature`'s own
        ``windowed`` wins.

    Examples
    --------
    >>> import numpy as np
    >>> def nose_height(ds, context):
    ...     return {"nose_y": context.point("nose")[:, 1]}
    >>> fs = FeatureSet("nose_height", nose_height, "y of the nose", needs=("nose",))
    >>> fs.name
    'nose_height'
    """

    name: str
    function: Callable[..., Any]
    description: str = ""
    min_individuals: int = 1
    needs: tuple[str, ...] = ()
    windowed: bool | tuple[str, ...] = True

    def applies(self, context: FeatureContext) -> str | None:
        """None when the set applies to ``context``, else the reason it does not."""
        if context.n_individuals < self.min_individuals:
            return (
                f"needs at least {self.min_individuals} individuals, found {context.n_individuals}"
            )
        for need in self.needs:
            if need == "zones":
                if not context.zones:
                    return "needs zones (give zones=...)"
            elif need == "confidence":
                if context.confidence is None:
                    return "needs confidence values, and the dataset has none"
            elif getattr(context.roles, need, None) is None:
                return (
                    f"needs a {need!r} keypoint, and none was found among "
                    f"{list(context.roles.available)}"
                )
        return None

    def is_windowed(self, name: str) -> bool:
        """Whether this set takes window statistics of feature ``name``."""
        if isinstance(self.windowed, bool):
            return self.windowed
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.windowed)


FEATURE_SETS: Registry[FeatureSet] = Registry(
    "feature set", describe=lambda feature_set: feature_set.description
)
"""The registry behind :func:`register_feature_set`, :func:`unregister_feature_set`,
:func:`feature_sets` and :func:`feature_set_table` (names are case-insensitive, ``_``
and ``-`` alike)."""
BUILTIN_SETS = ("pose", "kinematics", "social", "dyad", "zones", "quality")
"""Names of the feature sets that come with the library, in output order."""
_RESERVED = frozenset(registry_key(name) for name in (*BUILTIN_SETS, "default"))
_DEFAULT_SETS = tuple(name for name in BUILTIN_SETS if name != "dyad")
"""The built-in sets ``sets="default"`` takes where they apply (``dyad`` on request)."""


def feature_sets() -> dict[str, FeatureSet]:
    """Every registered feature set by name, built-in ones first.

    Returns
    -------
    dict
        A copy: editing it registers nothing (use :func:`register_feature_set`).

    Examples
    --------
    >>> list(feature_sets())[:6]
    ['pose', 'kinematics', 'social', 'dyad', 'zones', 'quality']
    """
    return {entry.name: entry.item for entry in FEATURE_SETS.entries()}


def feature_set_table() -> pd.DataFrame:
    """List every registered feature set, as :func:`behavior.io.frontends` lists formats.

    Returns
    -------
    pandas.DataFrame
        One row per set: ``name``, ``description`` and ``origin`` (``built-in`` or
        ``runtime``).

    Examples
    --------
    >>> feature_set_table().iloc[0][["name", "origin"]].tolist()
    ['pose', 'built-in']
    """
    return FEATURE_SETS.table()


def register_feature_set(
    name: str | FeatureSet,
    function: Callable[..., Any] | None = None,
    *,
    description: str = "",
    min_individuals: int = 1,
    needs: Sequence[str] = (),
    windowed: bool | Sequence[str] = True,
    overwrite: bool = False,
) -> Any:
    """Make a feature set available to :func:`extract` under its name.

    Parameters
    ----------
    name
        The set's name, or a ready :class:`FeatureSet` (the other arguments are
        then ignored).
    function
        ``function(ds, context)``, see :class:`FeatureSet`. Without it,
        ``register_feature_set("name", ...)`` returns a decorator.
    description, min_individuals, needs, windowed
        As in :class:`FeatureSet`.
    overwrite
        Replace a set registered before under the same name (built-in sets and
        ``"default"`` cannot be replaced).

    Returns
    -------
    FeatureSet or decorator
        The registered set (or, without ``function``, a decorator that
        registers the function it decorates and returns it unchanged).

    Raises
    ------
    PoseDataError
        For a name that is taken (a built-in, ``"default"``, or a registered set
        without ``overwrite=True``) or a function that is not callable.

    Examples
    --------
    >>> @register_feature_set("nose_y", needs=("nose",), windowed=False, overwrite=True)
    ... def nose_y(ds, context):
    ...     return {"nose_y": context.point("nose")[:, 1]}
    >>> "nose_y" in feature_sets()
    True
    """
    if isinstance(name, FeatureSet):
        fs = name
    else:
        if function is None:

            def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
                register_feature_set(
                    name,
                    func,
                    description=description,
                    min_individuals=min_individuals,
                    needs=needs,
                    windowed=windowed,
                    overwrite=overwrite,
                )
                return func

            return decorate
        fs = FeatureSet(
            str(name),
            function,
            description or (function.__doc__ or "").strip().split("\n")[0],
            int(min_individuals),
            tuple(needs),
            windowed if isinstance(windowed, bool) else tuple(windowed),
        )
    if not callable(fs.function):
        raise PoseDataError(
            f"function: feature set {fs.name!r} needs a callable function(ds, context), "
            f"found {type(fs.function).__name__}"
        )
    if not fs.name or registry_key(fs.name) in _RESERVED:
        raise PoseDataError(
            f"name: {fs.name!r} is reserved (built-in sets {list(BUILTIN_SETS)} and 'default'); "
            "choose another name"
        )
    if fs.name in FEATURE_SETS and not overwrite:
        raise PoseDataError(
            f"name: a feature set {fs.name!r} is already registered; pass overwrite=True "
            "to replace it"
        )
    return FEATURE_SETS.register(fs.name, fs, replace=True)


def unregister_feature_set(name: str) -> None:
    """Remove a feature set registered with :func:`register_feature_set`.

    Parameters
    ----------
    name
        The set's name (built-in sets cannot be removed).

    Raises
    ------
    PoseDataError
        For a built-in or unknown name.

    Examples
    --------
    >>> _ = register_feature_set("tmp", lambda ds, c: {}, overwrite=True)
    >>> unregister_feature_set("tmp")
    """
    if registry_key(name) in _RESERVED:
        raise PoseDataError(f"name: the built-in feature set {name!r} cannot be removed")
    if name not in FEATURE_SETS:
        raise PoseDataError(
            f"name: no feature set {name!r} is registered; known sets: {FEATURE_SETS.names()}"
        )
    FEATURE_SETS.unregister(name)


# --------------------------------------------------------------------------------------
# The context handed to feature-set functions
# --------------------------------------------------------------------------------------


@dataclass
class FeatureContext:
    """What a feature-set function gets besides the dataset.

    Built by :func:`extract`; the methods cache what several sets share (the
    centroid, velocities, the social relations), so a set may call them freely.

    Attributes
    ----------
    ds
        The dataset in :attr:`space_unit` (calibrated to cm where it recorded
        ``px_per_cm``).
    position
        ``(time, space, keypoint, individual)`` float64 positions in
        :attr:`space_unit`, all keypoints of the dataset.
    keypoints
        The keypoints chosen for per-keypoint features (``extract(keypoints=...)``).
    all_keypoints
        Every keypoint of the dataset, in the order of ``position``.
    roles
        Keypoint roles (:func:`behavior.social.keypoint_roles`).
    individuals
        Individual names (for reference; features must not be named after them).
    time
        Seconds (frames when the dataset has no frame rate).
    fps
        Frame rate, or None.
    space_unit, speed_unit
        Units of lengths and speeds.
    confidence
        ``(time, keypoint, individual)`` float64, or None when the source had none.
    zones
        Zones in :attr:`space_unit` by name (empty without ``zones=``).
    angles
        Triplets for joint angles (None: chosen from the roles).
    raw_position
        The positions before ``extract(fill_gaps=...)`` filled their gaps (the
        ``quality`` set describes these); None when nothing was filled.
    inferred_roles
        The roles taken from the data rather than the keypoint names
        (:func:`infer_keypoint_roles`).
    """

    ds: xr.Dataset
    position: np.ndarray
    keypoints: list[str]
    all_keypoints: list[str]
    roles: KeypointRoles
    individuals: list[str]
    time: np.ndarray
    fps: float | None
    space_unit: str
    speed_unit: str
    confidence: np.ndarray | None
    zones: dict[str, Any]
    angles: list[tuple[str, str, str]] | None = None
    raw_position: np.ndarray | None = None
    inferred_roles: tuple[str, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_time(self) -> int:
        """Number of frames."""
        return self.position.shape[0]

    @property
    def n_individuals(self) -> int:
        """Number of individuals."""
        return self.position.shape[3]

    def point(self, name: str) -> np.ndarray:
        """``(time, space, individual)`` positions of one keypoint.

        Examples
        --------
        >>> # inside a feature-set function: context.point("nose")[:, 0] is x
        """
        if name not in self.all_keypoints:
            raise PoseDataError(
                f"keypoint {name!r} not found; the dataset has keypoints {self.all_keypoints}"
            )
        return self.position[:, :, self.all_keypoints.index(name)]

    def centroid(self) -> np.ndarray:
        """``(time, space, individual)`` mean of the body keypoints present in each frame."""
        if "centroid" not in self._cache:
            idx = np.array([self.all_keypoints.index(k) for k in self.roles.body])
            n, n_space, _, n_ind = self.position.shape
            center = np.empty((n, n_space, n_ind))
            _centroid_kernel(self.position, idx, center)
            self._cache["centroid"] = center
        return self._cache["centroid"]

    def derivative(self, values: np.ndarray) -> np.ndarray:
        """Time derivative along axis 0 (central differences on the ``time`` coordinate)."""
        if "gradient" not in self._cache:
            self._cache["gradient"] = Gradient(self.time, 1)
        values = np.asarray(values, dtype=np.float64)
        return self._cache["gradient"].rows(values, 0, values.shape[0])

    def velocity(self) -> np.ndarray:
        """``(time, space, keypoint, individual)`` velocity of the chosen keypoints."""
        if "velocity" not in self._cache:
            idx = [self.all_keypoints.index(k) for k in self.keypoints]
            self._cache["velocity"] = self.derivative(self.position[:, :, idx])
        return self._cache["velocity"]

    def centroid_velocity(self) -> np.ndarray:
        """``(time, space, individual)`` velocity of the centroid."""
        if "centroid_velocity" not in self._cache:
            self._cache["centroid_velocity"] = self.derivative(self.centroid())
        return self._cache["centroid_velocity"]

    def relations(self) -> xr.Dataset:
        """:func:`behavior.social.relations` of the dataset (the variables the roles allow)."""
        if "relations" not in self._cache:
            from behavior.social import relations

            roles = self.roles
            names = ["centroid_distance", "closest_distance", "approach_speed"]
            if roles.nose is not None:
                names += ["nose_to_nose", "nose_to_body"]
                if roles.tail_base is not None:
                    names.append("nose_to_tail_base")
                if _has_head(roles):
                    names.append("gaze_offset")
            if roles.tail_base is not None and (roles.neck or roles.nose) is not None:
                names.append("relative_angle")
            self._cache["relations"] = relations(self.ds, keypoints=roles, variables=names)
        return self._cache["relations"]

    def nearest_other(self) -> np.ndarray:
        """``(time, individual)`` index of the nearest other individual (by centroid
        distance) in each frame, -1 where no distance is known."""
        if "nearest" not in self._cache:
            rel = self.relations()
            d = np.asarray(rel["centroid_distance"].transpose("time", "individual", "other"))
            filled = np.where(np.isnan(d), np.inf, d)
            idx = np.argmin(filled, axis=2)
            known = np.isfinite(np.take_along_axis(filled, idx[:, :, None], axis=2)[:, :, 0])
            self._cache["nearest"] = np.where(known, idx, -1)
        return self._cache["nearest"]

    def at_nearest(self, values: np.ndarray, theirs: bool = False) -> np.ndarray:
        """Pick ``values`` (time, individual, other) at the nearest other of each frame.

        ``theirs=True`` takes the other's view of me (``values[t, nearest, i]``).
        """
        nearest = self.nearest_other()
        safe = np.where(nearest < 0, 0, nearest)
        n, n_ind = nearest.shape
        t = np.arange(n)[:, None]
        i = np.arange(n_ind)[None, :]
        picked = values[t, safe, i] if theirs else values[t, i, safe]
        return np.where(nearest < 0, np.nan, picked)


def _has_head(roles: KeypointRoles) -> bool:
    if roles.nose is None:
        return False
    ears = roles.left_ear is not None and roles.right_ear is not None
    return ears or roles.neck is not None or roles.tail_base is not None


# --------------------------------------------------------------------------------------
# Built-in sets
# --------------------------------------------------------------------------------------


def _norm(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over axis 1 (space) of ``v`` (time, space, ...)."""
    v = np.ascontiguousarray(v, dtype=np.float64)
    out = np.empty((v.shape[0], *v.shape[2:]))
    _norm_kernel(v.reshape(v.shape[0], v.shape[1], -1), out.reshape(v.shape[0], -1))
    return out


def _index(context: FeatureContext, names: Sequence[str]) -> np.ndarray:
    return np.array([context.all_keypoints.index(k) for k in names], dtype=np.int64)


def _default_angles(context: FeatureContext) -> list[tuple[str, str, str]]:
    r = context.roles
    chosen = set(context.keypoints)
    candidates = [
        (r.nose, r.neck, r.tail_base),
        (r.neck, r.body_center, r.tail_base),
        (r.nose, r.neck, r.body_center),
        (r.left_ear, r.nose, r.right_ear),
        (r.left_ear, r.neck, r.right_ear),
    ]
    if r.neck is None:
        candidates.insert(0, (r.nose, r.body_center, r.tail_base))
    out = []
    for tri in candidates:
        if all(k is not None and k in chosen for k in tri) and tri not in out:
            out.append(tri)
    return out  # type: ignore[return-value]


def _pose_set(ds: xr.Dataset, context: FeatureContext) -> dict[str, Feature]:
    """Keypoint distances and angles within each animal, body length, convex-hull area."""
    out: dict[str, Feature] = {}
    unit = context.space_unit
    n, n_ind = context.n_time, context.n_individuals
    kps = context.keypoints
    pairs = [(a, b) for i, a in enumerate(kps) for b in kps[i + 1 :]]
    if pairs:
        dist = np.empty((n, len(pairs), n_ind))
        ia = _index(context, [a for a, _ in pairs])
        ib = _index(context, [b for _, b in pairs])
        _distance_kernel(context.position, ia, ib, dist)
        for p, (a, b) in enumerate(pairs):
            out[f"dist:{a}~{b}"] = Feature(dist[:, p], unit)
    angles = context.angles if context.angles is not None else _default_angles(context)
    if angles:
        found = np.empty((n, len(angles), n_ind))
        ia, ib, ic = (_index(context, [tri[k] for tri in angles]) for k in range(3))
        _angle_kernel(context.position, ia, ib, ic, found)
        for p, (a, b, c) in enumerate(angles):
            out[f"angle:{a}~{b}~{c}"] = Feature(found[:, p], "deg", windowed=p == 0)
    r = context.roles
    midline = [k for k in (r.nose, r.neck, r.body_center, r.tail_base) if k is not None]
    if len(midline) >= 2:
        segments = np.empty((n, len(midline) - 1, n_ind))
        ia = _index(context, midline[:-1])
        ib = _index(context, midline[1:])
        _distance_kernel(context.position, ia, ib, segments)
        out["body_length"] = Feature(segments.sum(axis=1), unit, windowed=True)
    body = _index(context, r.body)
    if len(body) >= 3:
        xy = np.ascontiguousarray(context.position[:, :2][:, :, body])
        area = np.empty((n, n_ind))
        _hull_kernel(xy, area)
        out["hull_area"] = Feature(area, f"{unit}^2", windowed=True)
    return out


def _kinematics_set(ds: xr.Dataset, context: FeatureContext) -> dict[str, Feature]:
    """Speed and acceleration per keypoint and of the centroid; heading change."""
    out: dict[str, Feature] = {}
    speed_unit = context.speed_unit
    accel_unit = speed_unit + ("/s" if speed_unit.endswith("/s") else "/frame")
    vel = context.velocity()
    speed = _norm(vel)  # (time, keypoint, individual)
    accel = _norm(context.derivative(vel))
    r = context.roles
    key = {r.nose, r.tail_base} - {None}
    for j, k in enumerate(context.keypoints):
        out[f"speed:{k}"] = Feature(speed[:, j], speed_unit, windowed=k in key)
    for j, k in enumerate(context.keypoints):
        out[f"accel:{k}"] = Feature(accel[:, j], accel_unit, windowed=False)
    cvel = context.centroid_velocity()
    out["speed:centroid"] = Feature(_norm(cvel), speed_unit, windowed=True)
    out["accel:centroid"] = Feature(_norm(context.derivative(cvel)), accel_unit, windowed=True)
    if r.tail_base is not None and (r.neck or r.nose) is not None:
        tail, front = r.body_axis
        axis = context.point(front)[:, :2] - context.point(tail)[:, :2]
        heading = np.arctan2(axis[:, 1], axis[:, 0])
        heading[(axis[:, 0] == 0) & (axis[:, 1] == 0)] = np.nan
        turn = np.abs(np.degrees(context.derivative(unwrap(heading))))
        per = "s" if speed_unit.endswith("/s") else "frame"
        out["heading_change"] = Feature(turn, f"deg/{per}", windowed=True)
    return out


_SOCIAL_WINDOWED = (
    "social:centroid_distance",
    "social:closest_distance",
    "social:nose_to_body",
    "social:gaze_offset",
    "social:approach_speed",
    "social:relative_angle",
    "social:other_gaze_offset",
    "social:other_speed",
)


def _social_set(ds: xr.Dataset, context: FeatureContext) -> dict[str, Feature]:
    """Relations to the nearest other animal in each frame (behavior.social)."""
    rel = context.relations()
    out: dict[str, Feature] = {}
    units = {"relative_angle": "deg", "gaze_offset": "deg", "approach_speed": context.speed_unit}
    arrays = {
        name: np.asarray(rel[name].transpose("time", "individual", "other").values)
        for name in rel.data_vars
    }
    from behavior.social import RELATIONS

    for name in RELATIONS:
        if name != "following" and name in arrays:
            out[f"social:{name}"] = Feature(
                context.at_nearest(arrays[name]), units.get(name, context.space_unit)
            )
    for name in ("gaze_offset", "nose_to_body", "nose_to_tail_base"):
        if name in arrays:
            out[f"social:other_{name}"] = Feature(
                context.at_nearest(arrays[name], theirs=True),
                units.get(name, context.space_unit),
            )
    speed = _norm(context.centroid_velocity())  # (time, individual)
    n_ind = speed.shape[1]
    other_speed = np.broadcast_to(speed[:, None, :], (speed.shape[0], n_ind, n_ind))
    out["social:other_speed"] = Feature(context.at_nearest(other_speed), context.speed_unit)
    return out


def _segment_distance(x: np.ndarray, y: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Smallest distance from points (x, y) to the edges of a closed ring."""
    best = np.full(x.shape, np.inf)
    a = ring
    b = np.roll(ring, -1, axis=0)
    for (x0, y0), (x1, y1) in zip(a, b):
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore"):
            u = np.clip(((x - x0) * dx + (y - y0) * dy) / length2, 0.0, 1.0) if length2 else 0.0
        px, py = x0 + u * dx - x, y0 + u * dy - y
        np.minimum(best, np.hypot(px, py), out=best)
    return best


def _zone_distance(zone: Any, x: np.ndarray, y: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Signed distance to the zone's border (negative inside), or None for unknown shapes."""
    from behavior.roi import Circle, Polygon, Rectangle

    if isinstance(zone, Circle):
        cx, cy = zone.center
        return np.hypot(x - cx, y - cy) - zone.radius
    if isinstance(zone, Rectangle):
        rings = [zone.vertices]
    elif isinstance(zone, Polygon):
        rings = [zone.vertices, *zone.holes]
    else:
        return None  # type: ignore[return-value]
    dist = np.full(x.shape, np.inf)
    for ring in rings:
        np.minimum(dist, _segment_distance(x, y, ring), out=dist)
    dist = np.where(inside, -dist, dist)
    dist[np.isnan(x) | np.isnan(y)] = np.nan
    return dist


def _zones_set(ds: xr.Dataset, context: FeatureContext) -> dict[str, Feature]:
    """Whether the centroid is in each zone, and its signed distance to the border."""
    out: dict[str, Feature] = {}
    center = context.centroid()
    x, y = center[:, 0], center[:, 1]
    valid = ~(np.isnan(x) | np.isnan(y))
    for name, zone in context.zones.items():
        inside = zone.contains(np.stack([x, y], axis=-1)) & valid
        out[f"zone:{name}"] = Feature(np.where(valid, inside.astype(np.float64), np.nan), "1")
        dist = _zone_distance(zone, x, y, inside)
        if dist is not None:
            out[f"zone_distance:{name}"] = Feature(dist, context.space_unit, windowed=False)
    return out


def _quality_set(ds: xr.Dataset, context: FeatureContext) -> dict[str, Feature]:
    """Which keypoints are missing, and the tracker's confidence in each."""
    out: dict[str, Feature] = {}
    idx = [context.all_keypoints.index(k) for k in context.keypoints]
    pos = context.position if context.raw_position is None else context.raw_position
    gone = np.isnan(pos[:, 0][:, idx])
    for d in range(1, pos.shape[1]):
        gone |= np.isnan(pos[:, d][:, idx])
    missing = gone.astype(np.float64)  # (time, keypoint, individual)
    for j, k in enumerate(context.keypoints):
        out[f"missing:{k}"] = Feature(missing[:, j], "1", windowed=False)
    out["missing:fraction"] = Feature(missing.mean(axis=1), "1", windowed=True)
    if context.confidence is not None:
        conf = context.confidence[:, idx]
        for j, k in enumerate(context.keypoints):
            out[f"conf:{k}"] = Feature(conf[:, j], "1", windowed=False)
        count = (~np.isnan(conf)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, np.nansum(conf, axis=1) / count, np.nan)
        out["conf:mean"] = Feature(mean, "1", windowed=True)
    return out


_DYAD_WINDOWED_FIXED = (
    "dyad:centre_distance",
    "dyad:closest_distance",
    "dyad:centre_speed",
    "dyad:other_centre_speed",
    "dyad:head_speed",
    "dyad:other_head_speed",
    "dyad:tail_base_speed",
    "dyad:other_tail_base_speed",
    "dyad:closing_speed",
    "dyad:turn_speed",
    "dyad:body_length",
    "dyad:other_body_length",
    "dyad:relative_heading_cos",
    "dyad:velocity_front",
    "dyad:relative_velocity_front",
    "dyad:relative_speed",
    "dyad:accel",
    "dyad:other_accel",
    "dyad:other_centre_front",
    "dyad:other_centre_side",
)


def _dyad_set(ds: xr.Dataset, context: FeatureContext) -> dict[str, Feature]:
    """The other animal in this one's egocentric frame: keypoints, distances, motion."""
    r = context.roles
    head_kp = r.require("nose", "the dyad feature set (the head end)")
    tail_kp = r.require("tail_base", "the dyad feature set")
    unit, speed_unit = context.space_unit, context.speed_unit
    per = "s" if speed_unit.endswith("/s") else "frame"
    accel_unit = f"{speed_unit}/{per}"
    kps = context.keypoints
    xy = context.position[:, :2][:, :, _index(context, kps)]  # (time, 2, k, individual)
    head = context.point(head_kp)[:, :2]
    tail = context.point(tail_kp)[:, :2]
    if r.body_center is not None:
        centre = context.point(r.body_center)[:, :2]
    else:
        centre = 0.5 * (head + tail)
    n, n_ind = context.n_time, context.n_individuals
    axis = head - tail  # (time, 2, individual)
    length = np.hypot(axis[:, 0], axis[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        ux = np.where(length > 0, axis[:, 0] / length, np.nan)  # (time, individual)
        uy = np.where(length > 0, axis[:, 1] / length, np.nan)

    def ego(dx: np.ndarray, dy: np.ndarray, me: tuple[Any, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Front and side of offsets ``(dx, dy)`` in the frame of ``me`` (an index of u)."""
        return dx * ux[me] + dy * uy[me], dy * ux[me] - dx * uy[me]

    out: dict[str, Feature] = {}
    mine = (slice(None), None, slice(None), None)  # (time, 1, me, 1) against (time, k, me, other)
    # the other's keypoints in my frame: (time, k, me, other)
    dx = xy[:, 0][:, :, None, :] - centre[:, 0][:, None, :, None]
    dy = xy[:, 1][:, :, None, :] - centre[:, 1][:, None, :, None]
    front, side = ego(dx, dy, mine)
    key_kps = {head_kp}
    for j, k in enumerate(kps):
        out[f"dyad:other_{k}_front"] = Feature(
            context.at_nearest(front[:, j]), unit, windowed=k in key_kps
        )
        out[f"dyad:other_{k}_side"] = Feature(
            context.at_nearest(side[:, j]), unit, windowed=k in key_kps
        )
    pair = (slice(None), slice(None), None)  # (time, me) against (time, me, other)
    cdx = centre[:, 0][:, None, :] - centre[:, 0][:, :, None]  # (time, me, other)
    cdy = centre[:, 1][:, None, :] - centre[:, 1][:, :, None]
    c_front, c_side = ego(cdx, cdy, pair)
    out["dyad:other_centre_front"] = Feature(context.at_nearest(c_front), unit)
    out["dyad:other_centre_side"] = Feature(context.at_nearest(c_side), unit)
    # my own posture in my frame
    own = (slice(None), None, slice(None))
    o_front, o_side = ego(xy[:, 0] - centre[:, 0][:, None], xy[:, 1] - centre[:, 1][:, None], own)
    for j, k in enumerate(kps):
        if k != r.body_center:
            out[f"dyad:{k}_front"] = Feature(o_front[:, j], unit, windowed=False)
            out[f"dyad:{k}_side"] = Feature(o_side[:, j], unit, windowed=False)
    # every keypoint pair between the animals: (time, mine, theirs, me, other)
    ddx = xy[:, 0][:, :, None, :, None] - xy[:, 0][:, None, :, None, :]
    ddy = xy[:, 1][:, :, None, :, None] - xy[:, 1][:, None, :, None, :]
    dist = np.hypot(ddx, ddy)
    picked = np.empty((n, len(kps), len(kps), n_ind))
    for j in range(len(kps)):
        for m in range(len(kps)):
            picked[:, j, m] = context.at_nearest(dist[:, j, m])
    for j, a in enumerate(kps):
        for m, b in enumerate(kps):
            out[f"dyad:dist:{a}~{b}"] = Feature(
                picked[:, j, m], unit, windowed=a == head_kp and b == head_kp
            )
    flat = picked.reshape(n, -1, n_ind)
    known = ~np.isnan(flat).all(axis=1)
    closest = np.full((n, n_ind), np.nan)
    closest[known] = np.nanmin(flat.transpose(0, 2, 1)[known], axis=1)
    out["dyad:closest_distance"] = Feature(closest, unit)
    centre_dist = np.hypot(cdx, cdy)  # (time, me, other)
    out["dyad:centre_distance"] = Feature(context.at_nearest(centre_dist), unit)
    # motion
    vel = context.derivative(np.stack([head, centre, tail], axis=1))  # (time, 3, 2, individual)
    speed = np.hypot(vel[:, :, 0], vel[:, :, 1])  # (time, 3, individual)
    acc = context.derivative(vel[:, 1])
    acc_mag = np.hypot(acc[:, 0], acc[:, 1])

    def theirs(values: np.ndarray) -> np.ndarray:
        return context.at_nearest(np.broadcast_to(values[:, None, :], (n, n_ind, n_ind)))

    for j, role in enumerate(("head", "centre", "tail_base")):
        out[f"dyad:{role}_speed"] = Feature(speed[:, j], speed_unit)
        out[f"dyad:other_{role}_speed"] = Feature(theirs(speed[:, j]), speed_unit)
    vx, vy = vel[:, 1, 0], vel[:, 1, 1]  # my centre's velocity (time, individual)
    v_front, v_side = vx * ux + vy * uy, vy * ux - vx * uy
    out["dyad:velocity_front"] = Feature(v_front, speed_unit)
    out["dyad:velocity_side"] = Feature(v_side, speed_unit, windowed=False)
    rvx = vx[:, None, :] - vx[:, :, None]  # (time, me, other): theirs less mine
    rvy = vy[:, None, :] - vy[:, :, None]
    rv_front, rv_side = ego(rvx, rvy, pair)
    out["dyad:relative_velocity_front"] = Feature(context.at_nearest(rv_front), speed_unit)
    out["dyad:relative_velocity_side"] = Feature(
        context.at_nearest(rv_side), speed_unit, windowed=False
    )
    out["dyad:relative_speed"] = Feature(context.at_nearest(np.hypot(rvx, rvy)), speed_unit)
    closing = context.derivative(centre_dist.reshape(n, -1)).reshape(n, n_ind, n_ind)
    out["dyad:closing_speed"] = Feature(context.at_nearest(closing), speed_unit)
    # headings and bearing
    cos_rel = ux[:, :, None] * ux[:, None, :] + uy[:, :, None] * uy[:, None, :]
    sin_rel = ux[:, :, None] * uy[:, None, :] - uy[:, :, None] * ux[:, None, :]
    out["dyad:relative_heading_cos"] = Feature(context.at_nearest(cos_rel), "1")
    out["dyad:relative_heading_sin"] = Feature(context.at_nearest(sin_rel), "1", windowed=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        reach = np.hypot(c_front, c_side)
        b_cos = np.where(reach > 0, c_front / reach, np.nan)
        b_sin = np.where(reach > 0, c_side / reach, np.nan)
    out["dyad:bearing_cos"] = Feature(context.at_nearest(b_cos), "1", windowed=False)
    out["dyad:bearing_sin"] = Feature(context.at_nearest(b_sin), "1", windowed=False)
    heading = np.arctan2(uy, ux)
    turn = np.abs(np.degrees(context.derivative(unwrap(heading))))
    out["dyad:turn_speed"] = Feature(turn, f"deg/{per}")
    out["dyad:body_length"] = Feature(length, unit)
    out["dyad:other_body_length"] = Feature(theirs(length), unit)
    out["dyad:accel"] = Feature(acc_mag, accel_unit)
    out["dyad:other_accel"] = Feature(theirs(acc_mag), accel_unit)
    return out


# --------------------------------------------------------------------------------------
# Head and tail ends of an unfamiliar skeleton
# --------------------------------------------------------------------------------------


def _circular_spread(angle: np.ndarray) -> float:
    """Circular standard deviation (radians) of the finite values of ``angle``."""
    angle = angle[np.isfinite(angle)]
    if angle.size == 0:
        return float("nan")
    r = math.hypot(float(np.cos(angle).mean()), float(np.sin(angle).mean()))
    return math.sqrt(-2.0 * math.log(max(r, 1e-12)))


def _infer_roles(
    position: np.ndarray, time: np.ndarray, keypoints: Sequence[str], roles: KeypointRoles
) -> tuple[KeypointRoles, tuple[str, ...]]:
    """Head (``nose``), ``tail_base`` and ``body_center`` from the data where names say nothing.

    ``position`` is ``(time, space, keypoint, individual)``, best with gaps filled.
    Runs only when neither a nose nor a tail base is known. The ends are the two
    keypoints farthest apart (median over frames and animals); the head is the
    end that leads on frames where the animal moves fast (the top fifth of the
    speeds of the mean of its keypoints, over about half a second). The keypoints
    are then chained from the head, each to the nearest one not yet taken; when
    the joint in the rear half of that chain that bends most (the circular spread
    of its angle) bends more than every joint in the front half (a tail), the
    tail base is the keypoint before it, else the chain's last keypoint.
    The body centre is the keypoint between head and tail base closest to their
    mean. Returns the roles and the names of the roles inferred (empty when the
    data cannot tell the ends apart).
    """
    if roles.nose is not None or roles.tail_base is not None or len(keypoints) < 2:
        return roles, ()
    xy = position[:, :2]  # (time, 2, keypoint, individual)
    n_time, _, n_kp, _ = xy.shape
    diff = xy[:, :, :, None, :] - xy[:, :, None, :, :]  # (time, 2, k, k, individual)
    dist = np.sqrt((diff**2).sum(axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        typical = np.nanmedian(dist.transpose(1, 2, 0, 3).reshape(n_kp, n_kp, -1), axis=2)
    if not np.isfinite(typical).any():
        return roles, ()
    typical = np.where(np.isfinite(typical), typical, -1.0)
    a, b = np.unravel_index(int(np.argmax(typical)), typical.shape)
    if typical[a, b] <= 0:
        return roles, ()
    # which end leads: centroid velocity over about half a second, on fast frames
    center = xy.mean(axis=2)  # (time, 2, individual), NaN where a keypoint is missing
    dt = np.median(np.diff(time)) if n_time > 1 else 1.0
    lag = int(max(1, min(n_time // 4, round(0.25 / dt) if dt > 0 else 1)))
    votes = []
    if n_time > 2 * lag:
        step = (center[2 * lag :] - center[: -2 * lag]) / (time[2 * lag :] - time[: -2 * lag])[
            :, None, None
        ]
        speed = np.sqrt((step**2).sum(axis=1))  # (time - 2 lag, individual)
        axis = (xy[lag:-lag, :, a] - xy[lag:-lag, :, b]) / typical[a, b]
        lead = (step * axis).sum(axis=1) / np.where(speed > 0, speed, np.nan)
        ok = np.isfinite(speed) & np.isfinite(lead)
        if ok.sum() >= 10:
            fast = ok & (speed >= np.quantile(speed[ok], 0.8))
            votes = np.sign(lead[fast])
    vote = float(np.mean(votes)) if len(votes) else 0.0
    if abs(vote) < 0.1:
        logger.info(
            "features: the keypoint names do not say which end is the head, and the data "
            "cannot tell (the ends %r and %r lead equally often); give roles={'nose': ..., "
            "'tail_base': ...}",
            keypoints[a],
            keypoints[b],
        )
        return roles, ()
    head = a if vote > 0 else b
    # the chain from the head, each step to the nearest keypoint not yet taken
    order = [int(head)]
    while len(order) < n_kp:
        last = typical[order[-1]]
        rest = [k for k in range(n_kp) if k not in order]
        order.append(min(rest, key=lambda k, last=last: (last[k] < 0, last[k])))
    reach = max(typical[head, k] for k in order)
    tail = order[-1]
    spread = {}
    for j in range(1, len(order) - 1):
        p, k, s = order[j - 1], order[j], order[j + 1]
        u = xy[:, :, p] - xy[:, :, k]
        v = xy[:, :, s] - xy[:, :, k]
        bend = np.arctan2(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0], (u * v).sum(axis=1))
        spread[j] = _circular_spread(bend.ravel())
    front = [spread[j] for j in spread if typical[head, order[j]] < 0.5 * reach]
    back = [j for j in spread if typical[head, order[j]] >= 0.5 * reach and j >= 2]
    if front and back:
        flexible = max(back, key=lambda j: spread[j])
        if spread[flexible] > max(front):
            tail = order[flexible - 1]
    trunk = order[: order.index(tail) + 1]
    inferred = ["nose", "tail_base"]
    found = {"nose": keypoints[head], "tail_base": keypoints[tail]}
    if roles.body_center is None and len(trunk) >= 3:
        mean = xy[:, :, trunk].mean(axis=2, keepdims=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            away = np.nanmedian(
                np.sqrt(((xy[:, :, trunk] - mean) ** 2).sum(axis=1))
                .transpose(1, 0, 2)
                .reshape(len(trunk), -1),
                axis=1,
            )
        inner = [(away[m], trunk[m]) for m in range(1, len(trunk) - 1) if np.isfinite(away[m])]
        if inner:
            found["body_center"] = keypoints[min(inner)[1]]
            inferred.append("body_center")
    logger.info(
        "features: keypoint roles inferred from the data (the names do not say): head %r "
        "(leads on %.0f %% of fast frames), tail base %r%s",
        found["nose"],
        50.0 * (1.0 + abs(vote)),
        found["tail_base"],
        f", body centre {found['body_center']!r}" if "body_center" in found else "",
    )
    return replace(roles, **found), tuple(inferred)


def infer_keypoint_roles(
    ds: xr.Dataset, roles: KeypointRoles | Mapping[str, Any] | None = None
) -> tuple[KeypointRoles, tuple[str, ...]]:
    """Keypoint roles, with the head and tail ends inferred from the data where names say nothing.

    Parameters
    ----------
    ds
        Pose dataset.
    roles
        Roles or overrides as in :func:`behavior.social.keypoint_roles`.

    Returns
    -------
    roles : KeypointRoles
        The roles found by name (and given), completed from the data when neither
        a nose nor a tail base is known: the two keypoints farthest apart are the
        ends, the head is the end that leads when the animal moves fast, a tail
        (keypoints behind a joint that bends more than the body's) is
        left out of the trunk, and the body centre is the trunk keypoint closest
        to the trunk's mean.
    inferred : tuple of str
        The roles taken from the data (``"nose"``, ``"tail_base"``,
        ``"body_center"``), empty when none was (names sufficed, or the data
        cannot tell the ends apart: the animals hardly move).

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="60 s", seed=0)
    >>> plain = ds.assign_coords(keypoint=[f"k{j}" for j in range(ds.sizes["keypoint"])])
    >>> found, inferred = infer_keypoint_roles(plain)
    >>> found.nose, inferred[:2]
    ('k0', ('nose', 'tail_base'))
    """
    from behavior.filtering import interpolate_gaps

    position = core_position(ds, "ds", "ds")
    found = keypoint_roles(position, roles)
    filled = interpolate_gaps(position).transpose("time", "space", "keypoint", "individual")
    return _infer_roles(
        np.asarray(filled.values, dtype=np.float64),
        time_seconds(filled),
        [str(k) for k in filled["keypoint"].values],
        found,
    )


for _fs in (
    FeatureSet(
        "pose",
        _pose_set,
        "keypoint distances and angles, body length, convex-hull area",
        windowed=False,
    ),
    FeatureSet(
        "kinematics",
        _kinematics_set,
        "speed and acceleration per keypoint and of the centroid, heading change",
        windowed=False,
    ),
    FeatureSet(
        "social",
        _social_set,
        "relations to the nearest other animal: distances, angles, gaze, approach",
        min_individuals=2,
        windowed=_SOCIAL_WINDOWED,
    ),
    FeatureSet(
        "dyad",
        _dyad_set,
        "the nearest other animal in this one's egocentric frame: keypoints, keypoint-pair "
        "distances, relative motion, headings",
        min_individuals=2,
        needs=("nose", "tail_base"),
        windowed=_DYAD_WINDOWED_FIXED,
    ),
    FeatureSet(
        "zones",
        _zones_set,
        "in each zone, and the signed distance to its border",
        needs=("zones",),
        windowed=True,
    ),
    FeatureSet(
        "quality",
        _quality_set,
        "missing keypoints and tracking confidence",
        windowed=False,
    ),
):
    FEATURE_SETS.register(_fs.name, _fs, origin="built-in")
del _fs


# --------------------------------------------------------------------------------------
# extract
# --------------------------------------------------------------------------------------


def _resolve_sets(sets: Any, context: FeatureContext) -> list[FeatureSet]:
    if isinstance(sets, str | FeatureSet):
        sets = [sets]
    try:
        items = list(sets)
    except TypeError:
        raise PoseDataError(
            f"sets: expected a set name, a FeatureSet or a list of them, found {sets!r}"
        ) from None
    if not items:
        raise PoseDataError(
            f"sets: expected at least one feature set; known: {FEATURE_SETS.names()}"
        )
    chosen: list[FeatureSet] = []
    for item in items:
        if isinstance(item, FeatureSet):
            reason = item.applies(context)
            if reason:
                raise PoseDataError(f"sets: feature set {item.name!r} {reason}")
            picked = [item]
        elif item == "default":
            builtin = [FEATURE_SETS.get(n) for n in _DEFAULT_SETS]
            picked = [fs for fs in builtin if fs.applies(context) is None]
            skipped = [fs.name for fs in builtin if fs not in picked]
            if skipped:
                logger.info("features: default sets skip %s (they do not apply)", skipped)
        elif isinstance(item, str) and item in FEATURE_SETS:
            fs = FEATURE_SETS.get(item)
            reason = fs.applies(context)
            if reason:
                raise PoseDataError(f"sets: feature set {item!r} {reason}")
            picked = [fs]
        else:
            raise PoseDataError(
                f"sets: unknown feature set {item!r}; known sets: "
                f"{['default', *FEATURE_SETS.names()]}"
            )
        for fs in picked:
            if all(fs.name != c.name for c in chosen):
                chosen.append(fs)
    return chosen


def _collect(
    fs: FeatureSet, ds: xr.Dataset, context: FeatureContext
) -> list[tuple[str, np.ndarray, str, bool]]:
    """Run one set; ``(name, (time, individual) float array, unit, windowed)`` per feature."""
    result = fs.function(ds, context)
    shape = (context.n_time, context.n_individuals)
    items: list[tuple[str, Any, str, bool | None]] = []
    if isinstance(result, xr.DataArray):
        require_dims(result, "time", "feature", "individual", name=f"feature set {fs.name!r}")
        arr = np.asarray(result.transpose("time", "feature", "individual").values)
        units = (
            [str(u) for u in result["feature_unit"].values]
            if "feature_unit" in result.coords
            else [str(result.attrs.get("units", ""))] * arr.shape[1]
        )
        for j, name in enumerate(result["feature"].values):
            items.append((str(name), arr[:, j], units[j], None))
    elif isinstance(result, Mapping):
        for name, value in result.items():
            if isinstance(value, Feature):
                items.append((str(name), value.values, value.unit, value.windowed))
            elif isinstance(value, xr.DataArray):
                arr = value.transpose("time", "individual").values if value.ndim == 2 else value
                items.append((str(name), arr, str(value.attrs.get("units", "")), None))
            else:
                items.append((str(name), value, "", None))
    else:
        raise PoseDataError(
            f"sets: feature set {fs.name!r} returned {type(result).__name__}; expected a "
            "mapping of feature name to (time, individual) arrays or a DataArray "
            "(time, feature, individual)"
        )
    out = []
    for name, values, unit, windowed in items:
        arr = np.asarray(values)
        if not np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32)
        if arr.shape != shape:
            raise PoseDataError(
                f"sets: feature {name!r} of set {fs.name!r} has shape {arr.shape}; expected "
                f"(time, individual) = {shape}"
            )
        if any(ind in name for ind in context.individuals if len(ind) > 2):
            logger.warning(
                "feature %r of set %r contains an individual's name: a model trained on it "
                "will not apply to other animals",
                name,
                fs.name,
            )
        flag = fs.is_windowed(name) if windowed is None else bool(windowed)
        out.append((name, arr, unit, flag))
    return out


def extract(
    ds: xr.Dataset,
    *,
    sets: str | FeatureSet | Sequence[str | FeatureSet] = "default",
    windows: Sequence[int | float | str] | None = DEFAULT_WINDOWS,
    stats: Sequence[str] | None = DEFAULT_STATS,
    centered: bool = True,
    zones: Any = None,
    keypoints: Sequence[str] | None = None,
    progress: bool = True,
    roles: KeypointRoles | Mapping[str, Any] | None = None,
    angles: Sequence[tuple[str, str, str]] | None = None,
    fill_gaps: str | None = None,
) -> xr.DataArray:
    """Per-frame features and their multi-scale window statistics, one table per session.

    Parameters
    ----------
    ds
        Pose dataset with ``position`` ``(time, space, keypoint, individual)``
        (and ``confidence``). Pixels with ``attrs["px_per_cm"]`` are converted to
        cm first.
    sets
        Feature sets by name or as :class:`FeatureSet` objects: ``"default"``
        (every built-in set that applies: see the module docstring), built-in
        names (``"pose"``, ``"kinematics"``, ``"social"``, ``"zones"``,
        ``"quality"``) or registered ones (:func:`register_feature_set`), or a
        list such as ``["default", "my_set"]``.
    windows
        Window lengths for the statistics: seconds or text (``"0.5 s"``), or
        frames as an ``int``; default 0.1 to 2 s. None or ``()`` for per-frame
        features only.
    stats
        Statistics over each window (see :func:`window_stats`); default mean,
        std, min, max, sum.
    centered
        Windows centred on each frame (True) or ending at it (False, causal:
        for online use).
    zones
        :class:`behavior.roi.Zone` objects (one, a list, or a mapping by name)
        for the ``zones`` set; pixel zones are converted with the dataset's
        calibration (:meth:`~behavior.roi.Zone.in_units_of`).
    keypoints
        Keypoints for the per-keypoint features (distances, speeds, missing,
        confidence); default all of the dataset's.
    progress
        Show a progress bar (only when extraction takes more than half a
        second).
    roles
        Keypoint roles, or overrides of the ones found by name (see
        :func:`behavior.social.keypoint_roles`).
    angles
        ``(a, b, c)`` keypoint triplets for ``angle:a~b~c`` (the angle at ``b``);
        default chosen from the roles (nose - neck - tail base, neck - body
        centre - tail base, nose - neck - body centre, and the ears around the
        nose and the neck, where present).
    fill_gaps
        None: features are NaN where their keypoints are missing. ``"linear"``:
        missing positions are first interpolated linearly over time between the
        frames around each gap, however long
        (:func:`behavior.filtering.interpolate_gaps`; nothing is extrapolated
        before the first or after the last position of a keypoint). The
        ``quality`` set's ``missing:*`` still describe the positions as given.

    Returns
    -------
    xr.DataArray
        ``(time, feature, individual)`` float32 named ``features``, with the
        input's ``time`` and ``individual`` coordinates, ``feature`` names,
        ``feature_set`` and ``feature_unit`` coordinates along ``feature``, and
        attrs ``fps``, ``space_unit``, ``speed_unit``, ``feature_sets``,
        ``windows``, ``window_frames``, ``stats``, ``centered`` (0/1),
        ``keypoints``, ``keypoint_roles`` (JSON; its ``"inferred"`` lists the
        roles taken from the data, see :func:`infer_keypoint_roles`),
        ``fill_gaps``, ``source_file`` and the log.

    Raises
    ------
    PoseDataError
        For a dataset without ``position`` or with extra dims, an unknown set or
        one that does not apply (e.g. ``"social"`` with one individual), an
        unknown keypoint or statistic, a window shorter than one frame, or two
        features of the same name; each message names the argument.

    Notes
    -----
    See the module docstring for the feature names, units and NaN policy.
    Social features are taken against the nearest other animal in each frame,
    so feature names never carry individual names.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> f = extract(ds, progress=False)
    >>> f.dims, f.attrs["space_unit"], "speed:centroid|mean@0.5s" in f.feature
    (('time', 'feature', 'individual'), 'cm', True)
    """
    from behavior._progress import progress_bar

    if not isinstance(ds, xr.Dataset):
        raise PoseDataError(
            f"ds: expected a pose Dataset with a 'position' variable, found {type(ds).__name__}"
        )
    position = core_position(ds, "ds", "ds")
    if position.sizes["time"] < 3:
        raise PoseDataError(
            f"ds: feature extraction needs at least 3 frames, found {position.sizes['time']}"
        )
    if not isinstance(centered, bool | np.bool_):
        raise PoseDataError(f"centered: expected True or False, found {centered!r}")
    centered = bool(centered)
    if fill_gaps not in (None, "linear"):
        raise PoseDataError(f"fill_gaps: expected None or 'linear', found {fill_gaps!r}")

    # units: calibrate pixels when the dataset records its calibration
    unit = space_unit_of(ds.attrs)
    work = ds
    if unit == "px" and ds.attrs.get("px_per_cm") is not None:
        from behavior.kinematics import calibrate

        work = calibrate(ds)
        unit = "cm"
    elif unit == "px":
        logger.info(
            "features: the dataset is in pixels without attrs['px_per_cm']: features stay in "
            "pixels (calibrate with behavior.kinematics.calibrate for cm)"
        )
    space_unit = "pixels" if unit == "px" else str(work.attrs.get("space_unit", unit))

    pos = position_of(work, "ds").transpose("time", "space", "keypoint", "individual")
    raw_values = None
    if fill_gaps is not None:
        from behavior.filtering import interpolate_gaps

        raw_values = np.ascontiguousarray(pos.values, dtype=np.float64)
        pos = interpolate_gaps(pos, max_gap=None, method=fill_gaps)
        work = work.assign(position=pos.transpose(*work["position"].dims))
    values = np.ascontiguousarray(pos.values, dtype=np.float64)
    time = time_seconds(pos)
    frames_only = str(ds.attrs.get("time_unit", "seconds")) == "frames"
    fps = fps_of(ds)
    if frames_only and fps is not None:
        time = time / fps  # frame numbers -> seconds
        frames_only = False
    speed_unit = f"{'px' if unit == 'px' else space_unit}/{'frame' if frames_only else 's'}"
    all_kp = [str(k) for k in pos["keypoint"].values]
    if keypoints is None:
        chosen = list(all_kp)
    else:
        chosen = (
            [keypoints]
            if isinstance(keypoints, str)
            else [str(k) for k in _listed(keypoints, "keypoints", "keypoint names")]
        )
        unknown = [k for k in chosen if k not in all_kp]
        if unknown or not chosen:
            raise PoseDataError(
                f"keypoints: expected keypoints of the dataset {all_kp}, found "
                f"{unknown or chosen!r}"
            )
    found_roles, inferred = _infer_roles(values, time, all_kp, keypoint_roles(pos, roles))
    conf = None
    if "confidence" in work.data_vars:
        c = work["confidence"].transpose("time", "keypoint", "individual").values
        if np.isfinite(c).any():
            conf = np.asarray(c, dtype=np.float64)
    zone_dict: dict[str, Any] = {}
    if zones is not None:
        from behavior.roi import as_zone_dict

        zone_dict = {n: z.in_units_of(work) for n, z in as_zone_dict(zones).items()}
    if angles is not None:
        angles = [tuple(str(k) for k in tri) for tri in angles]
        for tri in angles:
            if len(tri) != 3 or any(k not in all_kp for k in tri):
                raise PoseDataError(
                    f"angles: expected (a, b, c) triplets of keypoints of the dataset "
                    f"{all_kp}, found {tri!r}"
                )
    context = FeatureContext(
        ds=work,
        position=values,
        keypoints=chosen,
        all_keypoints=all_kp,
        roles=found_roles,
        individuals=[str(i) for i in pos["individual"].values],
        time=time,
        fps=fps,
        space_unit=space_unit,
        speed_unit=speed_unit,
        confidence=conf,
        zones=zone_dict,
        angles=angles,  # type: ignore[arg-type]
        raw_position=raw_values,
        inferred_roles=inferred,
    )
    chosen_sets = _resolve_sets(sets, context)
    win = _resolve_windows(windows, fps) if windows else []
    st = _resolve_stats(stats) if stats else []
    if not st:
        win = []

    bar = progress_bar(
        enabled=progress, total=len(chosen_sets) + 1, desc="features", delay=0.5, leave=False
    )
    names: list[str] = []
    set_of: list[str] = []
    units: list[str] = []
    columns: list[np.ndarray] = []
    windowed: list[int] = []
    seen: dict[str, str] = {}
    try:
        for fs in chosen_sets:
            bar.set_postfix_str(fs.name)
            for name, arr, u, flag in _collect(fs, work, context):
                if name in seen:
                    raise PoseDataError(
                        f"sets: feature {name!r} comes from both {seen[name]!r} and {fs.name!r}; "
                        "feature names must be unique"
                    )
                seen[name] = fs.name
                if flag:
                    windowed.append(len(names))
                names.append(name)
                set_of.append(fs.name)
                units.append(u)
                columns.append(arr)
            bar.update(1)

        n, n_ind = context.n_time, context.n_individuals
        n_base = len(names)
        per = len(win) * len(st)
        if not win:
            windowed = []
        x = np.empty((n, n_base * n_ind), dtype=np.float32)
        for j, arr in enumerate(columns):
            x[:, j * n_ind : (j + 1) * n_ind] = arr
        del columns
        all_names = list(names)
        all_sets = list(set_of)
        all_units = list(units)
        for j in windowed:
            for label, _ in win:
                for s in st:
                    all_names.append(f"{names[j]}|{s}@{label}")
                    all_sets.append(set_of[j])
                    all_units.append(f"{units[j]}*frame" if s == "sum" and units[j] else units[j])
        bar.set_postfix_str("windows")
        out = np.empty((n, len(all_names), n_ind), dtype=np.float32)
        ind = np.arange(n_ind, dtype=np.int64)
        rows = (np.asarray(windowed, dtype=np.int64)[:, None] * n_ind + ind).reshape(-1)
        starts = n_base + np.arange(len(windowed), dtype=np.int64) * per
        _assemble(
            x,
            np.repeat(np.arange(n_base, dtype=np.int64), n_ind),
            np.tile(ind, n_base),
            rows,
            np.repeat(starts, n_ind),
            np.tile(ind, len(windowed)),
            win,
            st,
            centered,
            out,
        )
        del x
        bar.update(1)
    finally:
        bar.close()

    result = xr.DataArray(
        out,
        dims=("time", "feature", "individual"),
        coords={
            "time": pos["time"].values,
            "feature": all_names,
            "individual": pos["individual"].values,
            "feature_set": ("feature", all_sets),
            "feature_unit": ("feature", all_units),
        },
        name="features",
    )
    if "time" in ds.coords and ds["time"].attrs:
        result["time"].attrs = dict(ds["time"].attrs)
    roles_record = {
        r: getattr(found_roles, r)
        for r in ("nose", "left_ear", "right_ear", "neck", "body_center", "tail_base")
    }
    roles_record["body"] = list(found_roles.body)  # type: ignore[assignment]
    roles_record["inferred"] = list(inferred)  # type: ignore[assignment]
    result.attrs = {  # the log of ``work`` records the calibration, when there was one
        k: work.attrs[k]
        for k in ("source_software", "source_file", "time_unit", "log")
        if k in work.attrs
    }
    result.attrs.update(
        {
            "fps": fps if fps is not None else float("nan"),
            "space_unit": space_unit,
            "speed_unit": speed_unit,
            "feature_sets": [fs.name for fs in chosen_sets],
            "windows": [lab for lab, _ in win],
            "window_frames": [f for _, f in win],
            "stats": list(st) if win else [],
            "centered": int(centered),
            "keypoints": chosen,
            "keypoint_roles": json.dumps(roles_record),
            "fill_gaps": fill_gaps or "none",
            "ds_type": "features",
        }
    )
    if unit == "cm" and space_unit_of(ds.attrs) == "px":
        result.attrs["px_per_cm"] = float(ds.attrs["px_per_cm"])
    return append_log(
        result,
        "features.extract",
        sets=[fs.name for fs in chosen_sets],
        windows=[lab for lab, _ in win],
        stats=list(st),
        centered=centered,
        zones=sorted(zone_dict),
        keypoints=chosen,
        fill_gaps=fill_gaps,
        inferred_roles=list(inferred),
        n_features=len(all_names),
    )
