"""Poses to latent trajectories: egocentric alignment, imputation and PCA, all invertible.

:class:`Preprocessor` turns pose datasets (one or many sessions, any number of
individuals) into :class:`Latents`: one sequence of low-dimensional pose
coordinates per (session, individual), which the syllable models
(:class:`~behavior.syllables.hmm.GaussianHMM`, the AR-HMM) take as input.

The steps, for each sequence:

1. **Units.** Positions in pixels are converted to cm when the dataset records
   a calibration (``attrs["px_per_cm"]``); otherwise they stay in the dataset's
   ``space_unit``. Every session must end up in the same unit.
2. **Missing points.** A keypoint is missing in a frame when any of its
   coordinates is NaN (or, with ``min_confidence``, when its confidence is
   lower). Points that jump away from their own track for a frame or two
   (tracking outliers, ``outlier_factor``) are imputed like missing ones but
   do not count as missing. Frames in which more than ``max_missing`` of the keypoints are
   missing are flagged unusable (``Latents.mask`` False). Missing points are
   imputed by linear interpolation in time (held constant before the first and
   after the last observation); a keypoint never seen in a sequence takes the
   PCA mean pose's value in the body frame.
3. **Egocentric alignment.** The centroid (mean of the keypoints) is moved to
   the origin and the body axis (from the mean of the ``posterior`` keypoints
   to the mean of the ``anterior`` ones) is rotated onto +x; with
   ``alignment="procrustes"`` each frame is then turned further
   by the rotation that best matches it to the mean pose over all keypoints
   (least squares). 3-D poses rotate about z. The centroid and heading are
   kept in :class:`Latents` so that poses can be put back in the arena.
4. **PCA** of the flattened egocentric poses (usable frames of every sequence
   pooled), keeping the fewest components that explain a fraction ``variance``
   of the variance (or ``n_components`` of them, or with ``variance="auto"``
   the leading components that move smoothly in time).

Every step is undone by :meth:`Preprocessor.inverse_transform`: latents back to
egocentric poses, and with the centroid and heading back to arena coordinates.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator

from behavior._pose import require_time_order, rotate_xy
from behavior.dataset import fps_of, session_name
from behavior.errors import PoseDataError
from behavior.syllables._common import SessionInputMixin

__all__ = [
    "KINEMATIC_FEATURES",
    "Latents",
    "PoseSequence",
    "Preprocessor",
    "as_sessions",
    "body_kinematics",
    "jump_outliers",
]

logger = logging.getLogger(__name__)

Sessions = xr.Dataset | Sequence[xr.Dataset] | Mapping[str, xr.Dataset]


# --------------------------------------------------------------------------------------
# Latents
# --------------------------------------------------------------------------------------


@dataclass
class Latents:
    """Latent pose trajectories of several sequences (one per session and individual).

    Attributes
    ----------
    data
        One float32 array ``(T_i, D)`` per sequence.
    mask
        One bool array ``(T_i,)`` per sequence: True where the frame is usable
        (enough keypoints were tracked).
    keys
        ``(session, individual)`` of each sequence.
    time
        The ``time`` coordinate of each sequence's session.
    fps
        Frames per second (shared by all sequences).
    centroid
        Per sequence, the body centroid in the arena ``(T_i, space)`` (float64,
        in ``attrs["space_unit"]``), or None.
    heading
        Per sequence, the heading in radians ``(T_i,)`` (0 = facing +x), or None.
    attrs
        Metadata: ``space_unit``, ``time_unit``, ``keypoints``, ``space``.

    Examples
    --------
    >>> import numpy as np
    >>> lat = Latents([np.zeros((5, 2), np.float32)], [np.ones(5, bool)],
    ...               [("s0", "mouse")], [np.arange(5) / 30], fps=30.0)
    >>> len(lat), lat.lengths, lat.n_dims
    (1, [5], 2)
    """

    data: list[np.ndarray]
    mask: list[np.ndarray]
    keys: list[tuple[str, str]]
    time: list[np.ndarray]
    fps: float
    centroid: list[np.ndarray] | None = None
    heading: list[np.ndarray] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.data)
        for name in ("mask", "keys", "time", "centroid", "heading"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise PoseDataError(
                    f"Latents.{name}: expected one entry per sequence ({n}), found {len(value)}"
                )
        dims = {np.shape(x)[1] for x in self.data if np.ndim(x) == 2}
        if len(dims) > 1 or any(np.ndim(x) != 2 for x in self.data):
            raise PoseDataError(
                "Latents.data: expected 2-D arrays (time, dim) with one shared dim, found shapes "
                f"{[np.shape(x) for x in self.data]}"
            )
        for i, (x, m, t) in enumerate(zip(self.data, self.mask, self.time)):
            if len(m) != len(x) or len(t) != len(x):
                raise PoseDataError(
                    f"Latents: sequence {i} has {len(x)} frames of data but {len(m)} mask values "
                    f"and {len(t)} times"
                )
        try:
            fps = float(self.fps)
        except (TypeError, ValueError):
            fps = float("nan")
        if isinstance(self.fps, bool) or not (math.isfinite(fps) and fps > 0):
            raise PoseDataError(f"Latents.fps: expected a positive number, found {self.fps!r}")
        self.fps = fps

    def __len__(self) -> int:
        return len(self.data)

    @property
    def lengths(self) -> list[int]:
        """Number of frames of each sequence."""
        return [len(x) for x in self.data]

    @property
    def n_dims(self) -> int:
        """Number of latent dimensions."""
        return int(self.data[0].shape[1]) if self.data else 0

    def subset(self, index: Sequence[int]) -> Latents:
        """The sequences at ``index``, in that order.

        Examples
        --------
        >>> import numpy as np
        >>> lat = Latents([np.zeros((3, 1), np.float32)] * 2, [np.ones(3, bool)] * 2,
        ...               [("a", "m"), ("b", "m")], [np.arange(3.0)] * 2, fps=1.0)
        >>> lat.subset([1]).keys
        [('b', 'm')]
        """
        index = [int(i) for i in index]

        def pick(values: list | None) -> list | None:
            return None if values is None else [values[i] for i in index]

        return Latents(
            data=pick(self.data),
            mask=pick(self.mask),
            keys=pick(self.keys),
            time=pick(self.time),
            fps=self.fps,
            centroid=pick(self.centroid),
            heading=pick(self.heading),
            attrs=dict(self.attrs),
        )


# --------------------------------------------------------------------------------------
# Sessions in
# --------------------------------------------------------------------------------------


def as_sessions(sessions: Sessions, name: str = "sessions") -> dict[str, xr.Dataset]:
    """Name the sessions: a dict ``{session name: pose dataset}``.

    Parameters
    ----------
    sessions
        One pose dataset, a sequence of them, or a mapping from names to them.
        Sequences are named by :func:`behavior.dataset.session_name` (the file
        name of ``attrs["source_file"]``, suffix kept) when every dataset has a
        distinct one, else ``session_0, session_1, ...``.
    name
        How to call the argument in error messages.

    Returns
    -------
    dict
        Session name -> dataset, in the order given.

    Raises
    ------
    PoseDataError
        For anything but pose datasets, or no session at all.

    Examples
    --------
    >>> import numpy as np, behavior as bh
    >>> ds = bh.from_numpy(np.zeros((4, 2, 2, 1)), fps=10)
    >>> list(as_sessions([ds, ds]))
    ['session_0', 'session_1']
    """
    if isinstance(sessions, xr.Dataset):
        items = [(None, sessions)]
    elif isinstance(sessions, Mapping):
        items = [(str(k), v) for k, v in sessions.items()]
    elif isinstance(sessions, Sequence) and not isinstance(sessions, str):
        items = [(None, v) for v in sessions]
    else:
        raise PoseDataError(
            f"{name}: expected a pose Dataset, a list of them or a dict of them, found "
            f"{type(sessions).__name__}"
        )
    if not items:
        raise PoseDataError(f"{name}: expected at least one session, found none")
    for i, (_, ds) in enumerate(items):
        if not isinstance(ds, xr.Dataset) or "position" not in ds.data_vars:
            found = (
                f"variables {list(ds.data_vars)}"
                if isinstance(ds, xr.Dataset)
                else type(ds).__name__
            )
            raise PoseDataError(
                f"{name}[{i}]: expected a pose Dataset with a 'position' variable, found {found}"
            )
    if items[0][0] is not None:
        return dict(items)
    names = [session_name(ds, i) for i, (_, ds) in enumerate(items)]
    if len(set(names)) == len(names):
        return dict(zip(names, (ds for _, ds in items)))
    return {f"session_{i}": ds for i, (_, ds) in enumerate(items)}


@dataclass
class PoseSequence:
    """The tracked keypoints of one individual in one session, as the preprocessor reads them.

    Made by :meth:`Preprocessor.sequences`; :meth:`Preprocessor.latents_of` turns
    them into :class:`Latents` (the keypoint SLDS reads both).

    Attributes
    ----------
    key
        ``(session, individual)``.
    position
        ``(T, space, keypoint)`` float64 in the preprocessor's unit, NaN = missing.
    time
        Times in seconds ``(T,)``.
    fps
        Frames per second.
    confidence
        ``(T, keypoint)`` tracking confidence, when the dataset has one.

    Examples
    --------
    >>> seq = PoseSequence(("s", "m"), np.zeros((3, 2, 4)), np.arange(3) / 30, 30.0)
    >>> seq.position.shape
    (3, 2, 4)
    """

    key: tuple[str, str]
    position: np.ndarray
    time: np.ndarray
    fps: float
    confidence: np.ndarray | None = None


def _fps(ds: xr.Dataset, label: str) -> float:
    return float(fps_of(ds, required=f"{label}: syllable durations"))


def _unit_and_scale(ds: xr.Dataset, label: str) -> tuple[str, float]:
    """The unit the positions are used in, and the factor to divide them by."""
    from behavior.units import space_unit_of

    unit = space_unit_of(ds.attrs)
    ppc = ds.attrs.get("px_per_cm")
    if unit == "px" and ppc is not None:
        ppc = float(ppc)
        if not (np.isfinite(ppc) and ppc > 0):
            raise PoseDataError(f"{label}: attrs['px_per_cm'] must be positive, found {ppc!r}")
        return "cm", ppc
    return ("pixels" if unit == "px" else unit), 1.0


# --------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------


def _interpolate(position: np.ndarray) -> np.ndarray:
    """Fill NaN of every keypoint coordinate linearly in time (constant at the ends)."""
    out = position.copy()
    n = len(out)
    frames = np.arange(n)
    flat = out.reshape(n, int(np.prod(out.shape[1:], dtype=np.int64)))
    for j in range(flat.shape[1]):
        col = flat[:, j]
        ok = np.isfinite(col)
        if ok.all() or not ok.any():
            continue
        col[~ok] = np.interp(frames[~ok], frames[ok], col[ok])
    return out


_TYPICAL_JUMP_QUANTILE = 0.9
"""Quantile of a keypoint's jumps that :func:`jump_outliers` scales its threshold by."""


def jump_outliers(position: np.ndarray, factor: float = 3.0) -> np.ndarray:
    """Points that jump away from their neighbouring frames (tracking outliers).

    A point's jump is its distance to the midpoint of its own positions one frame
    before and after, or two frames before and after, whichever is smaller (so
    that an outlier next to it does not make a good point look bad). A point is
    an outlier when its jump exceeds ``factor`` times the 90th percentile of the
    jumps of its keypoint over the sequence (not the median: in real DeepLabCut
    files with repeated frames most jumps are near 0, and a multiple of the median
    flagged 28 % of the points of the rat_social_dev sessions; this rule flags
    2-3 % there, 0.03 % in the DLC open-field session, and finds 68-97 % of the
    simulated outliers of ``keypoint_ar`` with at most 0.4 % false alarms).
    Smooth motion stays close to those midpoints; a
    point that a tracker misplaces for a frame does not. Euclidean distances of
    linear predictions: the same points are flagged after any rotation or shift of
    the arena. Needs no confidence score, so it works whatever scale a tracker
    uses for it.

    Parameters
    ----------
    position
        ``(time, space, keypoint)`` positions, NaN where missing.
    factor
        Multiple of the 90th percentile of the keypoint's jumps beyond which a
        point is an outlier.

    Returns
    -------
    np.ndarray
        Boolean ``(time, keypoint)``, True for outliers (never for NaN points,
        nor for the first and last two frames).

    Examples
    --------
    >>> t = np.arange(50.0)
    >>> pos = np.stack([np.stack([t, t + 0.1 * np.sin(t)], 1)] * 2, axis=-1)  # (50, 2, 2)
    >>> pos[20, :, 1] += 30.0  # one misplaced point
    >>> np.argwhere(jump_outliers(pos)).tolist()
    [[20, 1]]
    """
    import warnings

    n = position.shape[0]
    flagged = np.zeros((n, position.shape[2]), dtype=bool)
    if n < 5:
        return flagged
    mid = position[2:-2]
    near = np.sqrt(np.sum((mid - 0.5 * (position[1:-3] + position[3:-1])) ** 2, axis=1))
    far = np.sqrt(np.sum((mid - 0.5 * (position[:-4] + position[4:])) ** 2, axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN tracks
        jump = np.fmin(near, far)  # (T - 4, K)
        typical = np.nanquantile(jump, _TYPICAL_JUMP_QUANTILE, axis=0)
    typical = np.where(np.isfinite(typical), typical, np.inf)
    with np.errstate(invalid="ignore"):
        flagged[2:-2] = jump > float(factor) * np.maximum(typical, 1e-12)[None, :]
    return flagged


_MIN_AUTOCORRELATION = 0.6
"""Lag-1 autocorrelation below which a trailing PCA component counts as tracking noise."""

_MIN_RELATIVE_VARIANCE = 1e-8
"""Variance (relative to the first component's) below which a component is numerically null."""


_AUTO_MIN_AUTOCORRELATION = 0.65
"""Lag-1 autocorrelation every component that ``variance="auto"`` keeps must reach."""


def _nonnull_components(values: np.ndarray) -> int:
    """How many leading components have a variance above ``_MIN_RELATIVE_VARIANCE`` of the first."""
    n = len(values)
    if n == 0:
        return n
    null = values < _MIN_RELATIVE_VARIANCE * max(float(values[0]), 1e-300)
    keep = int(np.argmax(null)) if null.any() else n
    if keep < n:
        logger.info(
            "Preprocessor: dropped %d near-singular PCA component(s) (variance below %.0e "
            "of the first)",
            n - keep,
            _MIN_RELATIVE_VARIANCE,
        )
    return keep


def _lag1_autocorrelation(scores: np.ndarray) -> np.ndarray:
    """Frame-to-frame correlation of each column of time-ordered ``scores`` (NaN -> 0)."""
    x = scores - scores.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lag1 = np.sum(x[1:] * x[:-1], axis=0) / np.sum(x * x, axis=0)
    return np.nan_to_num(lag1)


def _smooth_components(scores: np.ndarray, values: np.ndarray) -> int:
    """How many components ``variance="auto"`` keeps: the leading run of smooth ones.

    Of the components that are not numerically null, the leading ones whose
    lag-1 autocorrelation reaches ``_AUTO_MIN_AUTOCORRELATION``, up to the
    first that does not (at least one). ``scores`` are the usable frames'
    (time-ordered) scores of every component.
    """
    keep = _nonnull_components(values)
    if keep <= 1 or len(scores) < 3:
        return max(keep, 1)
    rough = np.flatnonzero(_lag1_autocorrelation(scores[:, :keep]) < _AUTO_MIN_AUTOCORRELATION)
    n = int(rough[0]) if rough.size else keep
    if n < keep:
        logger.info(
            "Preprocessor: kept the first %d of %d PCA components: component %d has a lag-1 "
            "autocorrelation below %.2f (tracking noise, not pose changes)",
            max(n, 1),
            keep,
            n + 1,
            _AUTO_MIN_AUTOCORRELATION,
        )
    return max(n, 1)


def _signal_components(scores: np.ndarray, values: np.ndarray) -> int:
    """How many leading components to keep of those a ``variance`` fraction chose.

    Two guards, each logged when it drops anything: components with a variance
    below ``_MIN_RELATIVE_VARIANCE`` of the first (near-singular directions, e.g.
    the ones the alignment removed, which a model standardising its inputs would
    blow up to unit variance), and the trailing components whose frame-to-frame
    (lag-1) autocorrelation is below ``_MIN_AUTOCORRELATION``: pose changes are
    smooth in time, tracking noise is not, and an AR model given many pure-noise
    dimensions pays for their coefficients in every state (with
    ``variance=0.999`` on simulated keypoint-MoSeq data it merged everything into
    one state). ``scores`` are the usable frames' (time-ordered) component scores.
    """
    keep = _nonnull_components(values)
    if keep <= 1 or len(scores) < 3:
        return max(keep, 1)
    lag1 = _lag1_autocorrelation(scores[:, :keep])
    smooth = np.flatnonzero(lag1 >= _MIN_AUTOCORRELATION)
    last = int(smooth[-1]) + 1 if smooth.size else 1
    if last < keep:
        logger.info(
            "Preprocessor: dropped the last %d of %d PCA components: their lag-1 "
            "autocorrelation is below %.1f (tracking noise, not pose changes)",
            keep - last,
            keep,
            _MIN_AUTOCORRELATION,
        )
    return min(keep, last)


# --------------------------------------------------------------------------------------
# Preprocessor
# --------------------------------------------------------------------------------------


KINEMATIC_FEATURES = ("forward_speed", "lateral_speed", "turning_rate")
"""Columns that ``Preprocessor(kinematics=True)`` appends to the latents."""


def body_kinematics(centroid: np.ndarray, heading: np.ndarray, time: np.ndarray) -> np.ndarray:
    """Forward and lateral speed of the centroid in the body frame, and the turning rate.

    Parameters
    ----------
    centroid
        ``(T, space)`` body centroid (only x and y are used).
    heading
        ``(T,)`` heading in radians (0 = facing +x).
    time
        ``(T,)`` times in seconds.

    Returns
    -------
    ndarray
        ``(T, 3)``: forward speed and lateral speed (leftward positive), in the
        centroid's unit per second, and turning rate in radians per second
        (counter-clockwise positive); central differences, one-sided at the ends;
        zeros for a single frame.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(5) / 10.0
    >>> heading = np.full(5, np.pi / 2)  # facing +y ...
    >>> centroid = np.stack([np.zeros(5), 3.0 * t], axis=1)  # ... and moving along +y
    >>> body_kinematics(centroid, heading, t).round(6)[2].tolist()
    [3.0, 0.0, 0.0]
    """
    centroid = np.asarray(centroid, dtype=np.float64)
    heading = np.asarray(heading, dtype=np.float64)
    time = np.asarray(time, dtype=np.float64)
    if len(time) < 2:
        return np.zeros((len(time), 3))
    vx, vy = (np.gradient(centroid[:, j], time) for j in (0, 1))
    cos, sin = np.cos(heading), np.sin(heading)
    forward = vx * cos + vy * sin
    lateral = -vx * sin + vy * cos
    turning = np.gradient(np.unwrap(heading), time)
    return np.stack([forward, lateral, turning], axis=1)


def _as_names(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def procrustes_angles(ego: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per frame, the rotation about z that best matches centred points to a reference.

    The least-squares (Procrustes) angle ``phi`` that minimises
    ``sum_k |R(phi) p_k - r_k|^2`` over the keypoints of each frame, for points
    ``p`` and reference points ``r`` both centred on their keypoint mean (x and y
    only; NaN points are left out; 0 where no point is seen).

    Parameters
    ----------
    ego
        ``(T, space, K)`` centred points (egocentric poses).
    reference
        ``(space, K)`` centred reference pose.

    Returns
    -------
    np.ndarray
        ``(T,)`` angles in radians, counter-clockwise positive.

    Examples
    --------
    >>> ref = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.5]])  # (space, keypoint)
    >>> turned = rotate_xy(ref[None], np.array([0.3]), 1.0)  # the reference turned by 0.3
    >>> procrustes_angles(turned, ref).round(6).tolist()
    [-0.3]
    """
    p0, p1 = ego[:, 0], ego[:, 1]
    r0, r1 = reference[None, 0], reference[None, 1]
    cross = np.nansum(p0 * r1 - p1 * r0, axis=1)
    dot = np.nansum(p0 * r0 + p1 * r1, axis=1)
    return np.arctan2(cross, dot)


class Preprocessor(SessionInputMixin, BaseEstimator):
    """Egocentric alignment, imputation of missing keypoints and PCA of pose sequences.

    Parameters
    ----------
    variance
        Fraction of the variance the PCA keeps, in ``(0, 1]``: the fewest
        components that explain it. 1 keeps every component (an exact round trip
        of the points that ``outlier_factor`` does not impute). Below 1,
        components that are numerically null and trailing components that do
        not move smoothly in time (lag-1 autocorrelation below 0.6: tracking
        noise) are left out, with a logged message.

        ``"auto"`` ignores the variance and keeps the leading components that
        move smoothly in time: all of them up to the first whose lag-1
        autocorrelation is below 0.65 (pose changes are smooth at video frame
        rates, tracking noise is not). On 3-minute x 2-session draws of
        ``bh.simulate.keypoint_ar_family`` (seeds 0-2, 9 draws) it kept exactly
        the true latent dimension on 5 of 9 draws (0.9: 2 of 9; both within +-2
        on 5 of 9; 3 or more too few on noisy draws), but more dimensions
        are not better for the AR-HMM on noisy tracking: AR-HMM ARI
        ``"auto"`` against 0.9 was 0.69 against 0.54 on seed 1 draw 0 (11 of 11
        true dimensions against 5), but 0.56 against 0.81 on seed 1 draw 2 (8
        kept for 5 true), 0.17 against 0.30 and 0.85 against 0.88 elsewhere, and
        on the real open-field files the agreement of two seeds fell (ARI 0.42
        against 0.56 on the B-SOiD clip, 0.70 against 0.80 on the DLC session,
        ``benchmarks/bench_syllables_stability.py``). Hence not the default.
        (The AR-HMM standardises every input dimension, so scaling the
        components here would change nothing; on that draw 0 the AR-HMM reached
        ARI 0.99 on the PCA of noise-free poses: the tracking noise, not the
        number of components, costs the rest.)
    keypoints
        Keypoints modelled (default: all of them, in the dataset's order).
    anterior, posterior
        Keypoint(s) whose mean marks the front and the back of the body axis.
        Default: the body axis of :func:`behavior.social.keypoint_roles` (neck,
        else nose, at the front; tail base at the back).
    alignment
        How each frame is turned into the body frame. ``"axis"`` (the default):
        the body axis (``posterior`` -> ``anterior``) onto +x. ``"procrustes"``:
        after that, the rotation that best matches the frame to the mean pose
        (:attr:`reference_pose_`) over all keypoints (:func:`procrustes_angles`),
        the frame of keypoint-MoSeq's model, whose heading turns a pose that is
        linear in the latent state. A pose change that bends the body axis (a
        head turn, a curl) then stays a change of pose instead of turning the
        whole frame with it, and the PCA stays linear in the pose: on noise-free
        keypoints of a simulated draw whose 4 states bend the body (12 latent
        dimensions, 12 components, 2 x 2 min) a linear map of the true latents
        explained 99.99 % of the PCA coordinates' variance against 97.2 % in the
        body-axis frame, and the AR-HMM's ARI was 0.99 against 0.85
        (``tests/test_syllables_alignment.py``). Not the default of this class,
        because on real tracking it was no better: for the AR-HMM it made no difference
        beyond the seeds' spread (on the 12 full-length draws of
        ``benchmarks/bench_syllables_family.py``, seed 0, a median ARI of 0.71
        against 0.69 and a worst of 0.39 against 0.47; on human freezing,
        ``benchmarks/bench_syllables_real.py`` with 8 seeds, an AUC of 0.831
        against 0.837; seed agreement on the real open-field files of
        ``benchmarks/bench_syllables_stability.py`` 0.64 and 0.69 against 0.59
        and 0.70). It is the default of
        :class:`~behavior.syllables.slds.KeypointSLDS`, which infers the heading
        itself by that least-squares match: on every simulated draw it did
        better (seed 0, 12 full-length draws: median ARI 0.857 against 0.798,
        worst 0.781 against 0.414, the states used within 25 % of the truth on
        9 draws against 4; held-out seed 1, draws 0-3, with its stage merges
        at 0: 0.934, 0.824, 0.972, 0.942 against 0.915, 0.815, 0.970, 0.939),
        and on the real files as
        well as before once that model's stage merges were left out (see its
        ``preprocessor``).
    max_missing
        Frames in which more than this fraction of ``keypoints`` is missing are
        flagged unusable in ``Latents.mask``.
    min_confidence
        Treat points with a lower confidence as missing (None: only NaN is
        missing).
    outlier_factor
        Treat points that jump away from their own track as missing: farther from
        the midpoint of their neighbouring frames than this multiple of
        the 90th percentile of such distances of the keypoint
        (:func:`jump_outliers`). Tracking
        outliers otherwise bend the egocentric frame and the PCA (on simulated
        keypoint-MoSeq data with 2-3 % outliers the AR-HMM's ARI rose from
        0.12-0.18 to 0.67-0.83 with this step, under an earlier median-based
        threshold). None turns it off.
    n_components
        A fixed number of PCA components instead of ``variance``.
    kinematics
        Append three columns to the latents: the body's forward and lateral speed
        (in the body frame; space unit per second) and its turning rate (radians per
        second, counter-clockwise positive), from the centroid and heading by
        central differences. Egocentric poses cannot tell walking from running or a
        left turn from a right one; these columns can. :meth:`inverse_transform`
        ignores them. Every column adds parameters to an AR model: on three
        10-minute simulated sessions, 12 components plus these columns agreed
        better with the true motifs than the 4 components of a 90 % PCA (AR-HMM
        ARI 0.86 against 0.63, ``benchmarks/bench_syllables.py``); on a single
        5-minute session they did worse than 95 % PCA alone (0.45 against 0.82:
        too few frames for 15 dimensions), so compare on your data.
    progress
        Show a progress bar over the sequences (off by default: the
        preprocessing takes seconds where the models take minutes).

    Attributes
    ----------
    keypoints_, anterior_, posterior_ : tuple of str
    space_ : list of str
        The spatial coordinates (``["x", "y"]`` or ``["x", "y", "z"]``).
    space_unit_ : str
        ``"cm"`` when the training sessions were calibrated, else their unit.
    fps_ : float
    mean_ : ndarray (D,)
        Mean egocentric pose, flattened ``(space, keypoint)``.
    reference_pose_ : ndarray (space, keypoint) or None
        With ``alignment="procrustes"``, the mean pose every frame is turned to
        match (learned from the training frames, two rounds of aligning to the
        mean and re-averaging from the body-axis frame); None with ``"axis"``.
    components_ : ndarray (n_components_, D)
    explained_variance_, explained_variance_ratio_ : ndarray (n_components_,)
    n_components_ : int
    feature_names_ : list of str
        Names of the latent columns: ``pc_1 ...`` and, with ``kinematics``,
        ``forward_speed``, ``lateral_speed``, ``turning_rate``.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(kind="single", duration="20 s", seed=0)
    >>> pre = Preprocessor(variance=0.9)
    >>> lat = pre.fit_transform(ds)
    >>> lat.keys, lat.data[0].shape[0]
    ([('session_0', 'mouse_0')], 600)
    >>> poses = pre.inverse_transform(lat, frame="arena")  # (time, space, keypoint) per sequence
    """

    def __init__(
        self,
        variance: float | Literal["auto"] = 0.9,
        keypoints: Sequence[str] | None = None,
        anterior: str | Sequence[str] | None = None,
        posterior: str | Sequence[str] | None = None,
        max_missing: float = 0.5,
        min_confidence: float | None = None,
        n_components: int | None = None,
        kinematics: bool = False,
        progress: bool = False,
        outlier_factor: float | None = 3.0,
        alignment: Literal["axis", "procrustes"] = "axis",
    ) -> None:
        self.variance = variance
        self.keypoints = keypoints
        self.anterior = anterior
        self.posterior = posterior
        self.max_missing = max_missing
        self.min_confidence = min_confidence
        self.n_components = n_components
        self.kinematics = kinematics
        self.progress = progress
        self.outlier_factor = outlier_factor
        self.alignment = alignment

    # ---------------------------------------------------------------- checks

    def _check_params(self) -> None:
        v = self.variance
        number = isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        if not (isinstance(v, str) and v == "auto") and (not number or not 0 < float(v) <= 1):
            raise PoseDataError(f"variance: expected 'auto' or a fraction in (0, 1], found {v!r}")
        n = self.n_components
        if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1):
            raise PoseDataError(f"n_components: expected a whole number >= 1 or None, found {n!r}")
        if not isinstance(self.kinematics, bool | np.bool_):
            raise PoseDataError(f"kinematics: expected True or False, found {self.kinematics!r}")
        m = self.max_missing
        if (
            isinstance(m, bool)
            or not isinstance(m, int | float | np.integer | np.floating)
            or not 0 <= float(m) <= 1
        ):
            raise PoseDataError(f"max_missing: expected a fraction in [0, 1], found {m!r}")
        c = self.min_confidence
        if c is not None and (
            isinstance(c, bool)
            or not isinstance(c, int | float | np.integer | np.floating)
            or not np.isfinite(c)
        ):
            raise PoseDataError(f"min_confidence: expected a finite number or None, found {c!r}")
        f = self.outlier_factor
        if f is not None and (
            isinstance(f, bool)
            or not isinstance(f, int | float | np.integer | np.floating)
            or not np.isfinite(f)
            or f <= 0
        ):
            raise PoseDataError(f"outlier_factor: expected a number > 0 or None, found {f!r}")
        if not isinstance(self.alignment, str) or self.alignment not in ("axis", "procrustes"):
            raise PoseDataError(
                f"alignment: expected 'axis' or 'procrustes', found {self.alignment!r}"
            )
        if self.keypoints is not None and not _as_names(self.keypoints):
            raise PoseDataError(
                "keypoints: expected keypoint names or None (all keypoints), found none"
            )

    def _resolve_roles(self, ds: xr.Dataset) -> None:
        from behavior.social import keypoint_roles

        names = [str(k) for k in ds["keypoint"].values]
        keypoints = _as_names(self.keypoints) or tuple(names)
        unknown = [k for k in keypoints if k not in names]
        if unknown:
            raise PoseDataError(
                f"keypoints: {unknown} not found; the dataset has keypoints {names}"
            )
        if len(set(keypoints)) != len(keypoints):
            raise PoseDataError(f"keypoints: names must be unique, found {list(keypoints)}")
        anterior, posterior = _as_names(self.anterior), _as_names(self.posterior)
        if anterior is None or posterior is None:
            roles = keypoint_roles(list(keypoints))
            try:
                back, front = roles.body_axis
            except PoseDataError as err:
                raise PoseDataError(
                    f"anterior/posterior: could not find the body axis among the keypoints "
                    f"{list(keypoints)} ({err}); name them, e.g. "
                    f"Preprocessor(anterior='nose', posterior='tail_base')"
                ) from None
            anterior = anterior or (front,)
            posterior = posterior or (back,)
        for arg, group in (("anterior", anterior), ("posterior", posterior)):
            bad = [k for k in group if k not in keypoints]
            if bad or not group:
                raise PoseDataError(
                    f"{arg}: expected keypoint(s) among the modelled keypoints {list(keypoints)}, "
                    f"found {list(group)}"
                )
        if set(anterior) == set(posterior):
            raise PoseDataError(
                f"anterior/posterior: the front and back of the body axis must differ, found "
                f"{list(anterior)} for both"
            )
        self.keypoints_ = tuple(keypoints)
        self.anterior_ = tuple(anterior)
        self.posterior_ = tuple(posterior)

    def sequences(self, sessions: Sessions) -> list[PoseSequence]:
        """The keypoints of every (session, individual), as the fitted preprocessor reads them.

        Parameters
        ----------
        sessions
            As in :meth:`fit`; the keypoints, space, unit and frame rate must
            match the training sessions.

        Returns
        -------
        list of PoseSequence
            In the unit of the training sessions, points below ``min_confidence``
            set to NaN.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> pre = Preprocessor().fit(ds)
        >>> [seq.key for seq in pre.sequences({"day1": ds})]
        [('day1', 'mouse_0')]
        """
        self._check_fitted()
        return self._sequences(sessions, fitting=False)

    def _sequences(self, sessions: Sessions, fitting: bool) -> list[PoseSequence]:
        named = as_sessions(sessions)
        first = next(iter(named.values()))
        if fitting:
            self._check_params()
            self._resolve_roles(first)
            self.space_ = [str(s) for s in first["space"].values]
            self.space_unit_ = _unit_and_scale(first, "sessions[0]")[0]
            self.fps_ = _fps(first, "sessions[0]")
        out: list[PoseSequence] = []
        for i, (session, ds) in enumerate(named.items()):
            label = f"sessions[{i}] ({session!r})"
            pos = ds["position"]
            extra = [d for d in pos.dims if d not in ("time", "space", "keypoint", "individual")]
            if extra:
                raise PoseDataError(
                    f"{label}: expected position dims (time, space, keypoint, individual), "
                    f"found extra dims {extra}; reduce them first (e.g. .median('ensemble'))"
                )
            for dim in ("time", "space", "keypoint", "individual"):
                if dim not in pos.dims:
                    raise PoseDataError(
                        f"{label}: position is missing the {dim!r} dimension; found "
                        f"{list(pos.dims)}"
                    )
            if pos.sizes["time"] == 0 or pos.sizes["individual"] == 0:
                raise PoseDataError(
                    f"{label}: expected at least one frame and one individual, found "
                    f"{pos.sizes['time']} frames and {pos.sizes['individual']} individuals "
                    "(an empty selection?)"
                )
            require_time_order(ds, label)
            space = [str(s) for s in ds["space"].values]
            if space != self.space_:
                raise PoseDataError(
                    f"{label}: expected space {self.space_} as in the training sessions, "
                    f"found {space}"
                )
            names = [str(k) for k in ds["keypoint"].values]
            missing = [k for k in self.keypoints_ if k not in names]
            if missing:
                raise PoseDataError(
                    f"{label}: keypoints {missing} (used by the fitted preprocessor) not found; "
                    f"the dataset has {names}"
                )
            unit, scale = _unit_and_scale(ds, label)
            if unit != self.space_unit_:
                raise PoseDataError(
                    f"{label}: positions are in {unit!r} but the preprocessor works in "
                    f"{self.space_unit_!r}; calibrate the sessions alike "
                    "(behavior.kinematics.calibrate, or attrs['px_per_cm'])"
                )
            fps = _fps(ds, label)
            if not math.isclose(fps, self.fps_, rel_tol=1e-6):
                raise PoseDataError(
                    f"{label}: frame rate {fps:g} differs from {self.fps_:g} of the training "
                    "sessions; syllable models need one frame rate (resample first)"
                )
            pos = pos.sel(keypoint=list(self.keypoints_)).transpose(
                "time", "space", "keypoint", "individual"
            )
            values = np.asarray(pos.values, dtype=np.float64) / scale
            conf = None
            if "confidence" in ds:
                conf = ds["confidence"].sel(keypoint=list(self.keypoints_))
                conf = np.asarray(conf.transpose("time", "keypoint", "individual").values)
                if self.min_confidence is not None:
                    low = conf < float(self.min_confidence)  # NaN confidence is not low
                    values = np.where(low[:, None], np.nan, values)
            time = np.asarray(ds["time"].values, dtype=np.float64)
            for j, ind in enumerate(ds["individual"].values):
                out.append(
                    PoseSequence(
                        (session, str(ind)),
                        values[..., j],
                        time,
                        fps,
                        None if conf is None else conf[..., j],
                    )
                )
        return out

    # ---------------------------------------------------------------- steps

    def _align(self, seq: PoseSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Egocentric poses (T, S, K) with NaN for never-seen keypoints; centroid; heading; mask."""
        pos = seq.position
        n = len(pos)
        missing = np.isnan(pos).any(axis=1)  # (T, K)
        pos = np.where(missing[:, None], np.nan, pos)
        factor = getattr(self, "outlier_factor", None)
        if factor is not None:
            jumps = jump_outliers(pos, float(factor))
            pos = np.where(jumps[:, None], np.nan, pos)  # imputed; the frame stays usable
        mask = missing.mean(axis=1) <= float(self.max_missing)
        filled = _interpolate(pos)
        seen = ~np.isnan(filled).any(axis=1)  # (T, K), constant over time
        index = {k: i for i, k in enumerate(self.keypoints_)}
        with np.errstate(invalid="ignore", divide="ignore"):
            centroid = np.nansum(filled, axis=2) / seen.sum(axis=1)[:, None]
            front, back = (
                np.nansum(filled[:, :2, idx], axis=2) / seen[:, idx].sum(axis=1)[:, None]
                for idx in (
                    [index[k] for k in self.anterior_],
                    [index[k] for k in self.posterior_],
                )
            )
        axis = front - back
        heading = np.arctan2(axis[:, 1], axis[:, 0])
        bad = ~np.isfinite(heading) | ((axis[:, 0] == 0) & (axis[:, 1] == 0))
        bad_centroid = ~np.isfinite(centroid).all(axis=1)
        if bad.any() or bad_centroid.any():
            if bad.all() or bad_centroid.all():
                logger.warning(
                    "sequence %s: the body axis or centroid is never seen; all %d frames are "
                    "flagged unusable",
                    seq.key,
                    n,
                )
            heading = np.where(bad, 0.0, heading)
            centroid = np.where(bad_centroid[:, None], 0.0, centroid)
            mask &= ~bad & ~bad_centroid
        ego = rotate_xy(filled - centroid[:, :, None], heading, -1.0)
        reference = getattr(self, "reference_pose_", None)
        if reference is not None:  # alignment="procrustes", fitted
            turn = procrustes_angles(ego, reference)
            ego = rotate_xy(ego, turn, 1.0)
            heading = heading - turn
        return ego, centroid, heading, mask

    def fit(self, sessions: Sessions, y: Any = None) -> Preprocessor:
        """Learn the keypoint roles, units and PCA from pose sessions.

        Parameters
        ----------
        sessions
            A pose dataset, a list of them or a dict ``{name: dataset}``; every
            individual of every session is one sequence.
        y
            Ignored (scikit-learn convention).

        Returns
        -------
        Preprocessor
            ``self``, fitted.

        Raises
        ------
        PoseDataError
            For bad parameters, keypoints not found, mixed units or frame rates,
            or no usable frame at all.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> Preprocessor(variance=0.95).fit(ds).n_components_ > 0
        True
        """
        del y
        seqs = self._sequences(sessions, fitting=True)
        self.reference_pose_ = None  # body-axis frames first
        egos, masks = [], []
        for seq in self._bar(seqs, "Preprocessor fit"):
            ego, _, _, mask = self._align(seq)
            egos.append(ego[mask])
            masks.append(mask)
        if self.alignment == "procrustes" and sum(len(e) for e in egos) > 0:
            # the mean pose of the body-axis frames; twice, the frames turned to it and
            # their mean again; then the frames turned to that (as _align turns them)
            axis_egos, aligned = egos, egos
            for _ in range(3):
                with np.errstate(invalid="ignore"):
                    reference = np.nanmean(np.concatenate(aligned), axis=0)
                aligned = [rotate_xy(e, procrustes_angles(e, reference), 1.0) for e in axis_egos]
            self.reference_pose_ = reference
            egos = aligned
        egos = [e.reshape(len(e), -1) for e in egos]
        X = np.concatenate(egos) if egos else np.empty((0, 0))
        if len(X) < 2:
            raise PoseDataError(
                f"sessions: expected at least 2 usable frames to fit the PCA, found {len(X)} "
                f"(frames with more than max_missing={self.max_missing} of the keypoints "
                "missing are unusable)"
            )
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(X, axis=0)
        never = ~np.isfinite(mean)
        if never.any():
            n_kp = len(self.keypoints_)
            names = sorted({self.keypoints_[j % n_kp] for j in np.flatnonzero(never)})
            raise PoseDataError(
                f"sessions: keypoints {names} are never tracked in any usable frame; leave "
                "them out with keypoints=[...]"
            )
        X = np.where(np.isnan(X), mean, X) - mean
        cov = X.T @ X / max(len(X) - 1, 1)
        values, vectors = np.linalg.eigh(cov)
        order = np.argsort(values)[::-1]
        values = np.clip(values[order], 0.0, None)
        vectors = vectors[:, order].T
        # deterministic signs: the largest loading of each component is positive
        signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(axis=1)])
        vectors *= np.where(signs == 0, 1.0, signs)[:, None]
        total = values.sum()
        ratio = values / total if total > 0 else np.zeros_like(values)
        if self.n_components is not None:
            n = min(int(self.n_components), len(values))
        elif isinstance(self.variance, str):  # "auto", checked above
            n = _smooth_components(X @ vectors.T, values)
        elif float(self.variance) >= 1:
            n = len(values)
        else:
            n = int(np.searchsorted(np.cumsum(ratio), float(self.variance) - 1e-12) + 1)
            n = min(max(n, 1), len(values))
            n = _signal_components(X @ vectors[:n].T, values[:n])
        self.mean_ = mean
        self.components_ = vectors[:n]
        self.explained_variance_ = values[:n]
        self.explained_variance_ratio_ = ratio[:n]
        self.n_components_ = int(n)
        logger.info(
            "Preprocessor: %d sequences, %d usable frames, %d components explain %.1f%% of "
            "the variance",
            len(seqs),
            len(X),
            n,
            100 * ratio[:n].sum(),
        )
        return self

    @property
    def feature_names_(self) -> list[str]:
        """Names of the latent columns (see the class docstring)."""
        if not hasattr(self, "n_components_"):
            raise AttributeError("feature_names_: the Preprocessor is not fitted yet")
        names = [f"pc_{i + 1}" for i in range(self.n_components_)]
        return names + list(KINEMATIC_FEATURES) if getattr(self, "kinematics", False) else names

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            from behavior.errors import NotFittedError

            raise NotFittedError(
                "Preprocessor: not fitted yet; call fit(sessions) or fit_transform(sessions) first"
            )

    def transform(self, sessions: Sessions) -> Latents:
        """Latent trajectories of pose sessions.

        Parameters
        ----------
        sessions
            As in :meth:`fit`; the keypoints, space, unit and frame rate must
            match the training sessions.

        Returns
        -------
        Latents
            One sequence per (session, individual); float32 data ``(T, n_components_)``.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> pre = Preprocessor().fit(ds)
        >>> pre.transform({"day1": ds}).keys
        [('day1', 'mouse_0')]
        """
        self._check_fitted()
        return self.latents_of(self._sequences(sessions, fitting=False))

    def latents_of(self, seqs: list[PoseSequence]) -> Latents:
        """Latent trajectories of sequences from :meth:`sequences`.

        ``transform(sessions)`` is ``latents_of(sequences(sessions))``.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> pre = Preprocessor().fit(ds)
        >>> pre.latents_of(pre.sequences(ds)).lengths
        [300]
        """
        self._check_fitted()
        data, masks, keys, times, centroids, headings = [], [], [], [], [], []
        for seq in self._bar(seqs, "Preprocessor transform"):
            ego, centroid, heading, mask = self._align(seq)
            flat = ego.reshape(len(ego), -1)
            flat = np.where(np.isnan(flat), self.mean_, flat)
            latent = (flat - self.mean_) @ self.components_.T
            if self.kinematics:
                latent = np.hstack([latent, body_kinematics(centroid, heading, seq.time)])
            data.append(latent.astype(np.float32))
            masks.append(mask)
            keys.append(seq.key)
            times.append(seq.time)
            centroids.append(centroid)
            headings.append(heading)
        return Latents(
            data=data,
            mask=masks,
            keys=keys,
            time=times,
            fps=self.fps_,
            centroid=centroids,
            heading=headings,
            attrs={
                "space_unit": self.space_unit_,
                "time_unit": "seconds",
                "keypoints": list(self.keypoints_),
                "space": list(self.space_),
            },
        )

    def _bar(self, seqs: list[PoseSequence], desc: str) -> Any:
        from behavior._progress import progress_bar

        return progress_bar(seqs, enabled=bool(self.progress), desc=desc, leave=False)

    def score(self, sessions: Sessions, y: Any = None) -> float:
        """Negative mean squared reconstruction error of the egocentric poses.

        Every tracked point (not missing, not imputed) of every usable frame is
        projected on the kept components and back; the score is minus the mean
        squared distance between the point and its reconstruction, in squared
        :attr:`space_unit_` (0 is a perfect reconstruction; higher is better, as
        scikit-learn's model selection expects). Kinematic columns play no part.
        NaN when no point is usable.

        Parameters
        ----------
        sessions
            As in :meth:`transform`.
        y
            Ignored (scikit-learn convention).

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> coarse, fine = Preprocessor(variance=0.5), Preprocessor(variance=0.99)
        >>> coarse.fit(ds).score(ds) < fine.fit(ds).score(ds)
        True
        """
        del y
        self._check_fitted()
        total, count = 0.0, 0
        for seq in self._sequences(sessions, fitting=False):
            ego, _, _, mask = self._align(seq)
            n_space = ego.shape[1]
            flat = ego.reshape(len(ego), -1)
            filled = np.where(np.isnan(flat), self.mean_, flat)
            rec = (filled - self.mean_) @ self.components_.T @ self.components_ + self.mean_
            err = ((flat - rec) ** 2).reshape(ego.shape).sum(axis=1)  # (T, K)
            seen = np.isfinite(seq.position).all(axis=1) & mask[:, None]
            total += float(err[seen].sum()) / n_space
            count += int(seen.sum())
        return -total / count if count else float("nan")

    def fit_transform(self, sessions: Sessions, y: Any = None) -> Latents:
        """:meth:`fit`, then :meth:`transform` of the same sessions.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> Preprocessor().fit_transform(ds).fps
        30.0
        """
        return self.fit(sessions, y).transform(sessions)

    def inverse_transform(
        self,
        x: Latents | np.ndarray | Sequence[np.ndarray],
        *,
        centroid: np.ndarray | Sequence[np.ndarray] | None = None,
        heading: np.ndarray | Sequence[np.ndarray] | None = None,
        frame: Literal["egocentric", "arena"] | None = None,
    ) -> np.ndarray | list[np.ndarray]:
        """Poses from latents: egocentric, or back in the arena.

        Parameters
        ----------
        x
            :class:`Latents`, a list of ``(T_i, n_components_)`` arrays, or one
            array ``(T, n_components_)`` (or one latent vector ``(n_components_,)``).
        centroid, heading
            Where to put the poses in the arena: centroid ``(T, space)`` and
            heading in radians ``(T,)`` per sequence (lists for several). Default
            (with ``frame="arena"``): those stored in ``x`` when it is Latents.
        frame
            ``"egocentric"`` (body frame: centroid at 0, heading along +x) or
            ``"arena"``. Default: ``"arena"`` when ``centroid`` or ``heading`` is
            given, else ``"egocentric"``.

        Returns
        -------
        ndarray or list of ndarray
            Poses ``(T, space, keypoint)`` (``(space, keypoint)`` for one
            vector), in :attr:`space_unit_`, keypoints :attr:`keypoints_`; a list
            when ``x`` is Latents or a list. With all components kept
            (``variance=1``) the round trip is exact up to float32 precision,
            except at imputed points.

        Raises
        ------
        PoseDataError
            When the latent dimension does not match, or ``frame="arena"`` has no
            centroid and heading to use.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> pre = Preprocessor(variance=1.0)
        >>> lat = pre.fit_transform(ds)
        >>> pre.inverse_transform(lat.data[0][0]).shape  # one mean-ish pose: (space, keypoint)
        (2, 10)
        """
        self._check_fitted()
        if frame is None:
            frame = "arena" if centroid is not None or heading is not None else "egocentric"
        if frame not in ("egocentric", "arena"):
            raise PoseDataError(f"frame: expected 'egocentric' or 'arena', found {frame!r}")
        single = False
        vector = False
        if isinstance(x, Latents):
            arrays = list(x.data)
            if frame == "arena":
                centroid = x.centroid if centroid is None else centroid
                heading = x.heading if heading is None else heading
        elif isinstance(x, np.ndarray) or (isinstance(x, Sequence) and x and np.ndim(x[0]) == 0):
            arr = np.asarray(x, dtype=np.float64)
            vector = arr.ndim == 1
            arrays = [np.atleast_2d(arr)]
            single = True
            if centroid is not None:
                centroid = [np.atleast_2d(np.asarray(centroid, dtype=np.float64))]
            if heading is not None:
                heading = [np.atleast_1d(np.asarray(heading, dtype=np.float64))]
        elif isinstance(x, Sequence):
            arrays = [np.asarray(a) for a in x]
        else:
            raise PoseDataError(
                f"x: expected Latents, an array or a list of arrays, found {type(x).__name__}"
            )
        n_space, n_kp = len(self.space_), len(self.keypoints_)
        widths = {self.n_components_, len(self.feature_names_)}
        out = []
        for i, arr in enumerate(arrays):
            arr = np.asarray(arr, dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] not in widths:
                raise PoseDataError(
                    f"x[{i}]: expected latents of shape (time, {len(self.feature_names_)}), "
                    f"found {arr.shape}"
                )
            arr = arr[:, : self.n_components_]  # kinematic columns do not shape the pose
            ego = (arr @ self.components_ + self.mean_).reshape(len(arr), n_space, n_kp)
            if frame == "arena":
                if centroid is None or heading is None:
                    raise PoseDataError(
                        "centroid/heading: frame='arena' needs the centroid and heading of each "
                        "sequence (Latents from transform() carry them)"
                    )
                c = np.asarray(centroid[i], dtype=np.float64)
                h = np.asarray(heading[i], dtype=np.float64).reshape(-1)
                if c.shape != (len(arr), n_space) or h.shape != (len(arr),):
                    raise PoseDataError(
                        f"centroid/heading: sequence {i} has {len(arr)} frames; expected centroid "
                        f"{(len(arr), n_space)} and heading {(len(arr),)}, found {c.shape} and "
                        f"{h.shape}"
                    )
                ego = rotate_xy(ego, h, 1.0) + c[:, :, None]
            out.append(ego)
        if single:
            return out[0][0] if vector else out[0]
        return out

    def to_dataset(
        self, latents: Latents, frame: Literal["egocentric", "arena"] = "arena"
    ) -> dict[str, xr.Dataset]:
        """Reconstructed pose datasets, one per session (individuals side by side).

        Parameters
        ----------
        latents
            From :meth:`transform`.
        frame
            ``"arena"`` (default) or ``"egocentric"``.

        Returns
        -------
        dict
            Session name -> pose dataset of the reconstructed positions (NaN
            confidence), in :attr:`space_unit_`.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="10 s", seed=0)
        >>> pre = Preprocessor()
        >>> rec = pre.to_dataset(pre.fit_transform(ds))
        >>> rec["session_0"].position.shape
        (300, 2, 10, 1)
        """
        from behavior.dataset import append_log, from_numpy

        poses = self.inverse_transform(latents, frame=frame)
        out: dict[str, xr.Dataset] = {}
        sessions = list(dict.fromkeys(k[0] for k in latents.keys))
        for session in sessions:
            idx = [i for i, k in enumerate(latents.keys) if k[0] == session]
            lengths = {len(poses[i]) for i in idx}
            if len(lengths) != 1:
                raise PoseDataError(
                    f"latents: the individuals of session {session!r} have different lengths "
                    f"{sorted(lengths)}"
                )
            ds = from_numpy(
                np.stack([poses[i] for i in idx], axis=-1),
                individual_names=[latents.keys[i][1] for i in idx],
                keypoint_names=list(self.keypoints_),
                time=latents.time[idx[0]],
                fps=latents.fps,
                source_software="behavior.syllables",
                space_unit=self.space_unit_,
            )
            out[session] = append_log(
                ds,
                "syllables.Preprocessor.to_dataset",
                frame=frame,
                n_components=self.n_components_,
            )
        return out
