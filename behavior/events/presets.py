"""Rule presets: published behavior definitions as ready-made rules.

Each preset is a function ``preset(ds, **thresholds) -> bout table`` whose
docstring gives its definition, its source and its defaults (in physical units;
pixel data need a calibration, never guessed). They are registered in
:data:`PRESETS` by name, so ``PRESETS.get("chase")(ds)`` runs one and
``PRESETS.table()`` lists them all. A new preset here is one function decorated
with ``@_built_in``; other code adds its own with ``PRESETS.register(name,
function)`` (or ``@PRESETS.add()``), and installed packages through the
entry-point group :data:`ENTRY_POINT_GROUP`.

An Ethogram of any preset's bouts is ``Ethogram.from_bouts(table, ds,
behaviors=[name])`` (:meth:`behavior.ethogram.Ethogram.from_bouts`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior import roi
from behavior._registry import Registry
from behavior.bouts import bouts, duration_frames, empty_bouts, mask_from_bouts
from behavior.dataset import fps_of
from behavior.errors import PoseDataError
from behavior.events.rules import (
    QUANTITIES,
    Rule,
    RuleError,
    Var,
    detect,
    q,
    quantity_values,
    rule_mask,
    zones_by_name,
)
from behavior.units import (
    Quantity,
    UnitError,
    parse_unit,
    positive_number,
    quantity,
    space_unit_of,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PRESETS",
    "approach",
    "chase",
    "following",
    "freezing",
    "head_dip",
    "huddling",
    "nose_to_anogenital_contact",
    "nose_to_body_contact",
    "nose_to_nose_contact",
    "side_by_side",
    "watching",
    "zone_visits",
]

ENTRY_POINT_GROUP = "behavior.event_presets"
"""The entry-point group through which installed packages add presets."""

_BUILT_IN: list[Callable[..., pd.DataFrame]] = []


def _built_in(preset: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """Decorator: a preset of this module, registered in :data:`PRESETS` on first use."""
    _BUILT_IN.append(preset)
    return preset


def _register_built_ins(registry: Registry[Callable[..., pd.DataFrame]]) -> None:
    for preset in _BUILT_IN:
        registry.register(preset.__name__, preset)


PRESETS: Registry[Callable[..., pd.DataFrame]] = Registry(
    "event preset", builtins=_register_built_ins, entry_point_group=ENTRY_POINT_GROUP
)
"""Rule presets by name (a :class:`behavior._registry.Registry`): ``PRESETS.get(name)``,
``PRESETS.names()``, ``PRESETS.table()``. Every preset of this module is in it (each
is decorated), then those of installed packages (entry-point group
``behavior.event_presets``); each function's docstring gives its definition and source."""


def _require_calibration(ds: xr.Dataset, px_per_cm: float | None, preset: str) -> None:
    if not isinstance(ds, xr.Dataset) or "position" not in ds.data_vars:
        raise RuleError(
            f"{preset}: expected a pose dataset with a 'position' variable, found "
            f"{type(ds).__name__}"
        )
    positive_number(px_per_cm, "px_per_cm", "a calibration in pixels per cm")
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
    max_gap: Any = None,
    **relations: Any,
) -> pd.DataFrame:
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
        **relations,
    )


_Q = str | float | Quantity


def _qty(value: _Q, unit: str, name: str, *, signed: bool = False) -> Quantity:
    """A threshold: a Quantity, text with a unit, or a bare number in ``unit``.

    The one place presets read their thresholds: a threshold must be finite,
    and non-negative unless ``signed`` (speeds, distances and angles of presets
    are magnitudes: ``max_speed="-1 cm/s"`` would match nothing, silently).
    """
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        out = float(value) * parse_unit(unit)
    else:
        out = quantity(value, name=name)
    if not np.isfinite(out.value):
        raise RuleError(f"{name}: expected a finite threshold in {unit}, found {value!r}")
    if not signed and out.value < 0:
        raise RuleError(
            f"{name}: expected a threshold >= 0 (a speed, distance or angle in {unit}), "
            f"found {value!r}"
        )
    return out


@_built_in
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
) -> pd.DataFrame:
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
        As in :func:`behavior.bouts.bouts`.
    smoothing
        Rolling-median window on positions (None: raw positions).
    max_gap
        Longest run of missing frames to fill first (frames or duration; None:
        no filling).
    px_per_cm, keypoints
        As in :func:`behavior.events.rules.detect`.

    Returns
    -------
    pandas.DataFrame
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
        keypoints=keypoints, max_gap=max_gap,
    )  # fmt: skip
    found = _behind_only(ds, found, px_per_cm, keypoints, smoothing, max_gap)
    return found


def _behind_only(ds, found: pd.DataFrame, px_per_cm, keypoints, smoothing, max_gap):
    """Keep, of each pair of mirrored chase bouts, the one of the animal behind: the
    one whose nose is nearer the other's tail base than the other's nose is to its own."""
    if found.empty:
        return found
    d = quantity_values(
        ds, "nose_to_tail_base", px_per_cm=px_per_cm, keypoints=keypoints, smoothing=smoothing,
        max_gap=max_gap,
    ).values  # fmt: skip
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


@_built_in
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
) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        Bouts with ``behavior="watching"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> list(watching(ds).columns) == bh.bouts.BOUT_COLUMNS
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
        keypoints=keypoints, max_gap=max_gap,
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


def _body_scale(
    ds: xr.Dataset, px_per_cm: float | None, body_length: _Q, keypoints: Any, preset: str
) -> float | None:
    """``px_per_cm`` as given; for uncalibrated pixels, the animal's median body length
    in pixels over ``body_length`` in cm (see :func:`freezing`)."""
    try:
        length = _qty(body_length, "cm", "body_length").to("cm", name="body_length")
    except UnitError as err:
        raise RuleError(str(err)) from None
    if not length > 0:
        raise RuleError(f"body_length: expected a length > 0, found {body_length!r}")
    if not isinstance(ds, xr.Dataset) or "position" not in ds.data_vars:
        return px_per_cm  # _require_calibration names the problem
    if px_per_cm is not None or ds.attrs.get("px_per_cm") or space_unit_of(ds.attrs) != "px":
        return px_per_cm
    from behavior.social import keypoint_roles

    roles = keypoint_roles(ds, keypoints)
    pos = ds["position"].transpose("time", "individual", "keypoint", "space")
    names = [str(k) for k in pos["keypoint"].values]
    xy = np.asarray(pos.values, dtype=np.float64)
    if roles.nose is not None and roles.tail_base is not None and roles.nose != roles.tail_base:
        ends = xy[:, :, names.index(roles.nose)] - xy[:, :, names.index(roles.tail_base)]
        sizes = np.linalg.norm(ends, axis=-1)
    else:  # the animal's extent: the largest distance between two of its keypoints
        diff = xy[:, :, :, None, :] - xy[:, :, None, :, :]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # frames with nothing tracked
            sizes = np.nanmax(np.linalg.norm(diff, axis=-1), axis=(-2, -1))
    sizes = sizes[np.isfinite(sizes) & (sizes > 0)]
    if sizes.size == 0:
        raise RuleError(
            f"{preset}: the positions are in pixels without a calibration, and no body "
            "length could be measured on them (fewer than two keypoints tracked in any "
            "frame). Give px_per_cm=... or calibrate first."
        )
    return float(np.median(sizes)) / length


@_built_in
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
    body_length: _Q | None = "8 cm",
    px_per_cm: float | None = None,
    keypoints: Any = None,
) -> pd.DataFrame:
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

    Units, and why the rule holds across rigs: every threshold is physical, none
    is in frames or pixels. Speeds are in cm/s and turning in deg/s, per second
    of the data's timestamps; the smoothing window, ``min_duration`` (and so the
    window test's window and its blocks) and ``max_gap`` are durations in
    seconds, converted to frames at the data's frame rate; the window test's
    displacement limit is ``max_speed`` times the time between blocks, and its
    noise limit is a ratio (``n_se`` standard errors), free of any unit. So
    rescaling the coordinates together with the calibration changes nothing, and
    a recording at 25 or 30 fps gets the same rule as one at 50 fps. Pixel data
    without a calibration are scaled by the animal's own size: the median, over
    frames and animals, of the nose-to-tail-base distance (where the keypoint
    names give both; else of the largest distance between two keypoints of an
    animal), taken as ``body_length`` (8 cm, an adult mouse's head-and-body
    length; the keypoints of a crouching mouse seen from above span 7-8 cm).
    The thresholds then read as body lengths per second (1 cm/s is 1/8 body
    length per second) and scaling the pixels by any factor changes nothing;
    ``body_length=None`` refuses uncalibrated pixels instead. Give ``body_length``
    for another species (a rat: about 20 cm).

    Measured on BehaviorDEPOT's demo1 (50 fps, 32 px/cm, human labels; 96.5 %
    of frames agree) and on recordings made from it (``benchmarks/
    bench_freezing.py``: resampled to 30 and 25 fps, pixels scaled by 0.5 and
    2.3 with and without calibration, head-keypoint jitter of an implant): 93-97
    % of frames agree with the same defaults. A five-point rig whose implant
    point wanders with the cable agrees on 88-90 %: the window test (every
    keypoint stays put) reads the wander as movement.

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
    body_length
        Length of the animal from nose to tail base (Quantity, text, or a number
        in cm) that scales uncalibrated pixel data (see above); None: pixel data
        need ``px_per_cm``. Unused when the data are calibrated.
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints
        As in :func:`chase`.

    Returns
    -------
    pandas.DataFrame
        Bouts with ``behavior="freezing"`` and ``other`` ``""``.

    Raises
    ------
    RuleError
        For a threshold out of range, or uncalibrated pixels with
        ``body_length=None`` (or no two keypoints to measure a body length on).

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> set(freezing(ds).other) <= {""}
    True

    Pixels without a calibration are scaled by the animal's size, so that the
    bouts do not depend on the pixel scale:

    >>> pixels = ds.assign(position=ds.position * 12.5).assign_attrs(space_unit="pixels")
    >>> twice = pixels.assign(position=pixels.position * 2.0)
    >>> freezing(pixels).equals(freezing(twice))
    True
    """
    info = QUANTITIES.get(quantity_name)
    if info is None or info.kind != "individual":
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
    if body_length is not None:
        px_per_cm = _body_scale(ds, px_per_cm, body_length, keypoints, "freezing")
    _require_calibration(ds, px_per_cm, "freezing")
    mask = rule_mask(
        ds, rule, px_per_cm=px_per_cm, keypoints=keypoints, smoothing=smoothing,
        max_gap=max_gap,
    )  # fmt: skip
    if window_test:
        fps = fps_of(mask, required=f"min_duration={min_duration!r}")
        width = max(2, round(duration_frames(min_duration, fps, name="min_duration")))
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
    return found


# ---- more presets: approach, contacts, following, huddling, head dips, zones ------------

_PIXELS = ("pixels", "pixel", "px")


def _data_length(ds: xr.Dataset, value: _Q, px_per_cm: float | None, name: str) -> float:
    """A length threshold (number in cm, text or Quantity) in the dataset's space unit."""
    if px_per_cm is None and space_unit_of(ds.attrs) == "px":
        px_per_cm = ds.attrs.get("px_per_cm")
    try:
        return _qty(value, "cm", name).to(space_unit_of(ds.attrs), px_per_cm=px_per_cm, name=name)
    except UnitError as err:
        raise RuleError(str(err)) from None


@_built_in
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
) -> pd.DataFrame:
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
        As in :func:`behavior.bouts.bouts` (``min_fraction=None, window=None``: every frame).
    smoothing
        Rolling-median window on positions (None: raw positions).
    px_per_cm, keypoints
        As in :func:`behavior.events.rules.detect`.

    Returns
    -------
    pandas.DataFrame
        Bouts with ``behavior="approach"``.

    Raises
    ------
    RuleError
        Without a spatial calibration, or for a threshold in the wrong unit.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(approach(ds).columns) == bh.bouts.BOUT_COLUMNS
    True
    """
    rule = (
        (q.approach_speed > _qty(min_approach_speed, "cm/s", "min_approach_speed", signed=True))
        & (q.speed > _qty(min_speed, "cm/s", "min_speed"))
        & (q.gaze_offset < _qty(max_gaze_offset, "deg", "max_gaze_offset"))
        & (q.closest_distance < _qty(max_distance, "cm", "max_distance"))
        & (q.closest_distance >= _qty(min_distance, "cm", "min_distance"))
    )
    common = dict(
        min_duration=min_duration, merge_gap=merge_gap, min_fraction=min_fraction,
        window=window, px_per_cm=px_per_cm, smoothing=smoothing, keypoints=keypoints,
    )  # fmt: skip
    return _preset(ds, "approach", rule, **common)


_CONTACT_DOC = """{summary}

    Definition ({definition}

    Source: {source}

    Parameters
    ----------
    ds
        Pose dataset, calibrated or with ``px_per_cm``.
    max_distance
        Threshold (Quantity, text, or a number in cm).
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame
        Bouts with ``behavior="{name}"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list({name}(ds).columns) == bh.bouts.BOUT_COLUMNS
    True
    """


def _contact_preset(
    name: str, distance: str, *, summary: str, definition: str, source: str
) -> Callable[..., pd.DataFrame]:
    """A contact preset: the social distance ``distance`` (a pair quantity of
    :data:`behavior.events.rules.QUANTITIES`) below ``max_distance``."""

    def preset(
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
    ) -> pd.DataFrame:
        rule = Var(distance) < _qty(max_distance, "cm", "max_distance")
        return _preset(
            ds, name, rule, min_duration=min_duration, merge_gap=merge_gap,
            min_fraction=min_fraction, window=window, px_per_cm=px_per_cm, smoothing=smoothing,
            keypoints=keypoints,
        )  # fmt: skip

    preset.__name__ = preset.__qualname__ = name
    preset.__doc__ = _CONTACT_DOC.format(
        name=name, summary=summary, definition=definition, source=source
    )
    return _built_in(preset)


nose_to_nose_contact = _contact_preset(
    "nose_to_nose_contact",
    "nose_to_nose",
    summary="Nose-to-nose contact bouts: the two noses are within ``max_distance``.",
    definition="""Live Mouse Tracker "Oral-oral contact", de Chaumont et al., Nature
    Biomedical Engineering 2019; DeepOF ``nose2nose``, Miranda et al., Nature
    Communications 14:6394, 2023, a distance between the two nose keypoints below a
    tolerance): the nose-to-nose distance is below ``max_distance`` (1.5 cm: about
    a mouse's snout width plus tracking error, set on principle) for at least
    ``min_duration`` (0.2 s); bouts less than ``merge_gap`` (0.2 s) apart merge.
    Symmetric: each contact gives one bout for each animal of the pair.""",
    source="""de Chaumont et al., Nature Biomedical Engineering 2019 (Live Mouse
    Tracker); Miranda et al., "DeepOF: a Python package for supervised and
    unsupervised pattern recognition in mice motion tracking data", Nature
    Communications 14:6394 (2023), supervised annotations.""",
)

nose_to_body_contact = _contact_preset(
    "nose_to_body_contact",
    "nose_to_body",
    summary="Nose-to-body contact bouts: my nose touches the other's body.",
    definition="""DeepOF ``nose2body``, Miranda et al., Nature Communications 2023:
    the nose of one animal within a tolerance of a body keypoint of the other):
    the distance from my nose to the nearest body keypoint of the other
    (:func:`behavior.social.nose_to_body`; the body keypoints include the head,
    so a nose-to-nose contact is also a nose-to-body contact) is below
    ``max_distance`` (1.5 cm, set on principle) for at least ``min_duration``
    (0.2 s); bouts less than ``merge_gap`` (0.2 s) apart merge. ``individual``
    is the animal whose nose touches, ``other`` the one touched.""",
    source="""Miranda et al., DeepOF, Nature Communications 2023, supervised
    annotations; de Chaumont et al., Nature Biomedical Engineering 2019.""",
)

nose_to_anogenital_contact = _contact_preset(
    "nose_to_anogenital_contact",
    "nose_to_tail_base",
    summary="Nose-to-anogenital contact bouts: my nose at the other's tail base.",
    definition="""Live Mouse Tracker "Oral-genital contact", de Chaumont et al.
    2019; DeepOF ``nose2tail``, Miranda et al. 2023): the distance
    from my nose to the other's tail base is below ``max_distance`` (1.5 cm, set
    on principle) for at least ``min_duration`` (0.2 s); bouts less than
    ``merge_gap`` (0.2 s) apart merge. ``individual`` sniffs, ``other`` is
    sniffed.""",
    source="""de Chaumont et al., Nature Biomedical Engineering 2019 (Live Mouse
    Tracker); Miranda et al., DeepOF, Nature Communications 2023.""",
)


@_built_in
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
) -> pd.DataFrame:
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
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame
        Bouts with ``behavior="side_by_side"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(side_by_side(ds).columns) == bh.bouts.BOUT_COLUMNS
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
    )  # fmt: skip
    return _preset(ds, "side_by_side", rule, **common)


@_built_in
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
) -> pd.DataFrame:
    """Following bouts: a moving mouse walks along the path the other just took.

    Definition (DeepOF ``following_path``, Miranda et al., Nature Communications
    2023: the follower's nose stays close to the path the leader's tail base
    took in the last frames; Live Mouse Tracker "Follow", de Chaumont et al.
    2019): :func:`behavior.social.is_following` holds (my nose within
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
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame
        Bouts with ``behavior="following"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(following(ds).columns) == bh.bouts.BOUT_COLUMNS
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
    )  # fmt: skip
    return _preset(
        ds, "following", rule, **common, follow_window=follow_window, follow_tolerance=tolerance
    )


@_built_in
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
) -> pd.DataFrame:
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
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame
        Bouts with ``behavior="huddling"``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="10 s", seed=0)
    >>> list(huddling(ds).columns) == bh.bouts.BOUT_COLUMNS
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
    )  # fmt: skip
    return _preset(ds, "huddling", rule, **common)


def _calibrated(ds: xr.Dataset, px_per_cm: float | None, name: str) -> xr.Dataset:
    """The dataset in a physical unit: pixel data are calibrated, others kept."""
    _require_calibration(ds, px_per_cm, name)
    if space_unit_of(ds.attrs) != "px":
        return ds
    from behavior.kinematics import calibrate

    return calibrate(ds, px_per_cm)


def _smoothed(ds: xr.Dataset, smoothing: Any) -> xr.Dataset:
    if smoothing is None or (
        isinstance(smoothing, int | float) and not isinstance(smoothing, bool) and smoothing == 0
    ):
        return ds
    from behavior.filtering import median_filter

    return ds.assign(position=median_filter(ds.position.assign_attrs(ds.attrs), smoothing))


def _zone_in_units(zone: Any, ds: xr.Dataset, name: str) -> Any:
    """A zone in the dataset's space unit (pixel zones converted by its px_per_cm)."""
    if not isinstance(zone, roi.Zone):
        raise RuleError(f"{name}: expected a behavior.roi zone, found {type(zone).__name__}")
    return zone.in_units_of(ds)


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


@_built_in
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
) -> pd.DataFrame:
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
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints
        As in :func:`approach`.

    Returns
    -------
    pandas.DataFrame
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
    outline = _zone_in_units(maze["maze"], data, "maze['maze']")
    on_arms = [_zone_in_units(maze[a], data, f"maze[{a!r}]") for a in arms]
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
    dip = roi.outside_by(outline, np.stack([hx.ravel(), hy.ravel()], axis=-1), margin)
    body_xy = np.stack([bx.ravel(), by.ravel()], axis=-1)
    on_arm = np.zeros(dip.shape, dtype=bool)
    for arm in on_arms:
        on_arm |= arm.contains(body_xy)
    mask = (dip & on_arm).reshape(hx.shape)
    found = _mask_bouts(
        data, mask, "head_dip", min_duration=min_duration, merge_gap=merge_gap,
        min_fraction=min_fraction, window=window,
    )  # fmt: skip
    return found


@_built_in
def zone_visits(
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
) -> pd.DataFrame:
    """Zone visits: bouts in which the animal's reference point is inside a zone.

    (The per-frame mask is :func:`behavior.roi.in_zone`; this preset makes bouts of it.)

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
    min_fraction, window, min_duration, merge_gap, smoothing, px_per_cm, keypoints
        As in :func:`approach` (no smoothing by default).

    Returns
    -------
    pandas.DataFrame
        Bouts whose ``behavior`` is the zone's name, ``other`` ``""``.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> from behavior import roi
    >>> pos = np.zeros((10, 2, 1, 1)); pos[5:, 0] = 5.0
    >>> ds = bh.from_numpy(pos, keypoint_names=["bodycentre"], fps=10, space_unit="cm")
    >>> b = zone_visits(ds, roi.Rectangle(-1, -1, 1, 1, name="home", unit="cm"))
    >>> b[["behavior", "start_frame", "stop_frame"]].values.tolist()
    [['home', 0, 5]]
    """
    from behavior.social import keypoint_roles

    data = _calibrated(ds, px_per_cm, "zone_visits")
    zones = zones_by_name(zones)
    if not zones:
        raise RuleError("zones: expected at least one zone, found none")
    if keypoint is None:
        roles = keypoint_roles(data, keypoints)
        keypoint = roles.body_center if roles.body_center is not None else list(roles.body)
    data = _smoothed(data, smoothing)
    tables = []
    for name, zone in zones.items():
        inside = roi.in_zone(data, zone.in_units_of(data), keypoint=keypoint, fill=False)
        mask = inside.transpose("time", "individual").values
        table = _mask_bouts(
            data, mask, str(name), min_duration=min_duration, merge_gap=merge_gap,
            min_fraction=min_fraction, window=window,
        )  # fmt: skip
        tables.append(table)
    found = pd.concat(tables, ignore_index=True) if tables else empty_bouts()
    found = found.sort_values(["individual", "start_frame", "behavior"], kind="stable")
    found = found.reset_index(drop=True)
    return found
