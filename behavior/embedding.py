"""Unsupervised behavior maps: time-frequency features, 2-D embeddings and clusters.

Without labels, behaviors are discovered by embedding short stretches of
movement in two dimensions and cutting the map into clusters. :class:`BehaviorMap`
is one scikit-learn-style pipeline for the published recipes:

- **B-SOiD** (:meth:`BehaviorMap.bsoid`): pairwise distances, angles and speeds
  of the keypoints (:func:`behavior.features.extract`), averaged in 100 ms bins
  -> standardise -> PCA -> UMAP (t-SNE without umap-learn) -> HDBSCAN, keeping
  the ``min_cluster_size`` of a sweep that gives the most clusters -> a random
  forest trained on the clusters predicts every frame, with *frameshift*: the
  bins are predicted at each of the bin-size offsets and interleaved, one label
  per frame.
- **MotionMapper** (:meth:`BehaviorMap.motionmapper`): egocentric postural modes
  (:class:`behavior.syllables.preprocess.Preprocessor`) and body-frame velocity
  -> Morlet wavelet amplitudes (25 log-spaced frequencies, 1-50 Hz capped below
  Nyquist, omega0 = 5), normalised per frame -> t-SNE -> watershed regions of
  the density of the map; new frames are placed on the map by their nearest
  neighbours in spectral space. Spectra describe how postures *oscillate*: after
  the per-frame normalisation they carry neither the mean posture nor the speed,
  so behaviors that differ only in those are not told apart.

and any mixture of the steps: window features, egocentric poses or syllable
latents in; wavelets or not; PCA, t-SNE or UMAP; HDBSCAN, Gaussian mixture,
k-means or watershed. The embedding is fit on a random subsample of at most
``max_samples`` frames (or bins) drawn across all sessions, so an hour of video
is mapped in about a minute; every other frame is placed out of sample.

Inputs
------
- feature DataArrays ``(time, feature, individual)`` from :func:`behavior.features.extract`;
- pose Datasets (or pose files): turned into features as ``pose_features`` says
  (``"bsoid"`` per-frame features, ``"window"`` multi-scale window features, or
  ``"egocentric"`` aligned poses);
- :class:`~behavior.syllables.preprocess.Latents` (one sequence per session and
  individual);
- plain arrays ``(time, channel)`` (give ``fps`` for bins and wavelets).

One session, a list of them or a dict ``{name: session}``; the results come
back in the same shape. Each individual is a sequence of its own.

NaN policy
----------
A frame is *unusable* when fewer than half of its channels are finite (or the
Latents mask is False); unusable frames are never sampled for fitting and get
the label ``-1`` (no cluster) and NaN coordinates. Missing values of usable
frames are filled by linear interpolation in time (after standardisation)
before wavelets, bins and PCA. HDBSCAN's noise is labelled ``-1`` too; the
random forest of the B-SOiD recipe assigns every usable frame to a cluster, as
B-SOiD does.
"""

from __future__ import annotations

import logging
import math
import os
import time as _time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from sklearn.base import BaseEstimator

from behavior.contrastive import ContrastiveEncoder
from behavior.dataset import fps_of, require_dims, session_name
from behavior.errors import PoseDataError, require_module
from behavior.units import to_frames

__all__ = [
    "BehaviorMap",
    "cluster_table",
    "density_map",
    "morlet_amplitudes",
    "morlet_frequencies",
    "normalize_amplitudes",
    "watershed_regions",
]

logger = logging.getLogger(__name__)

_NYQUIST_FRACTION = 0.9
"""Wavelet frequencies stay below this fraction of the Nyquist frequency."""

_FEATURE_DIMS = ("time", "feature", "individual")
_EMBEDDINGS = ("auto", "umap", "tsne", "pca")
_CLUSTERINGS = ("hdbscan", "gmm", "kmeans", "watershed")
_PREDICTORS = ("auto", "forest", "neighbors", "embedding")
_POSE_FEATURES = ("bsoid", "window", "egocentric")
_PCA_FIT_ROWS = 50_000
_EXTRA = "maps"


# --------------------------------------------------------------------------------------
# time-frequency: Morlet wavelets
# --------------------------------------------------------------------------------------


def morlet_frequencies(
    fps: float | None = None,
    n_frequencies: int = 25,
    min_frequency: float = 1.0,
    max_frequency: float = 50.0,
) -> np.ndarray:
    """Log-spaced (dyadic) wavelet frequencies, MotionMapper's defaults, capped below Nyquist.

    Parameters
    ----------
    fps
        Frame rate; the highest frequency is at most 0.9 x the Nyquist
        frequency ``fps / 2``. None: no cap.
    n_frequencies
        Number of frequencies (MotionMapper: 25).
    min_frequency, max_frequency
        Range in Hz (MotionMapper: 1 to 50 Hz).

    Returns
    -------
    numpy.ndarray
        ``n_frequencies`` increasing frequencies in Hz, evenly spaced in log
        (the periods of MotionMapper: ``1/max * 2 ** (k * log2(max/min) / (n - 1))``).

    Raises
    ------
    PoseDataError
        When the range is empty after the cap, or ``n_frequencies`` < 1.

    Examples
    --------
    >>> f = morlet_frequencies(fps=30)
    >>> len(f), float(f[0]), round(float(f[-1]), 2)
    (25, 1.0, 13.5)
    """
    n = int(n_frequencies)
    if n < 1:
        raise PoseDataError(f"n_frequencies: expected at least 1, found {n_frequencies!r}")
    low, high = float(min_frequency), float(max_frequency)
    if fps is not None:
        high = min(high, _NYQUIST_FRACTION * float(fps) / 2.0)
    if not (math.isfinite(low) and low > 0 and high >= low):
        raise PoseDataError(
            f"min_frequency/max_frequency: expected 0 < min <= max below "
            f"{_NYQUIST_FRACTION} x Nyquist, found min {min_frequency!r}, max {high!r} "
            f"(fps {fps!r})"
        )
    if n == 1:
        return np.array([low])
    return low * (high / low) ** (np.arange(n) / (n - 1))


def _as_channels(x: Any, name: str) -> tuple[np.ndarray, bool]:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        return arr[:, None], True
    if arr.ndim != 2:
        raise PoseDataError(
            f"{name}: expected an array (time,) or (time, channel), found shape {arr.shape}"
        )
    return arr, False


def morlet_amplitudes(
    x: np.ndarray,
    fps: float,
    frequencies: Sequence[float] | np.ndarray | None = None,
    omega0: float = 5.0,
) -> np.ndarray:
    """Morlet wavelet amplitudes of every channel (continuous wavelet transform by FFT).

    Parameters
    ----------
    x
        Signals ``(time,)`` or ``(time, channel)``, without NaN (interpolate gaps
        first).
    fps
        Frame rate in Hz.
    frequencies
        Frequencies in Hz; default :func:`morlet_frequencies` ``(fps)``.
    omega0
        Non-dimensional frequency of the Morlet wavelet (MotionMapper: 5).

    Returns
    -------
    numpy.ndarray
        Amplitudes ``(time, channel, frequency)`` (``(time, frequency)`` for a
        1-D input), float64, >= 0.

    Notes
    -----
    The scale of frequency ``f`` is ``s = (omega0 + sqrt(2 + omega0**2)) / (4 pi f)``
    seconds, and the amplitude is MotionMapper's: ``|W_s| pi**-0.25
    exp((omega0 - sqrt(omega0**2 + 2))**2 / 4) / sqrt(2 s)`` with ``W_s`` the
    convolution with the ``sqrt(s)``-scaled Morlet wavelet, computed for all
    channels at once by multiplication in the Fourier domain. The signals are
    mirrored at both ends (by up to four scales of the lowest frequency) to
    limit edge effects. A sinusoid at ``f`` peaks at the frequency closest to it.

    Raises
    ------
    PoseDataError
        For NaN or infinite values, or a non-positive ``fps``.

    Examples
    --------
    >>> t = np.arange(300) / 30
    >>> amp = morlet_amplitudes(np.sin(2 * np.pi * 5 * t), fps=30)
    >>> f = morlet_frequencies(30)
    >>> bool(abs(f[amp[150].argmax()] - 5) < 0.5)
    True
    """
    from scipy import fft as sfft

    arr, squeeze = _as_channels(x, "x")
    if not np.isfinite(arr).all():
        raise PoseDataError(
            "x: expected finite values (NaN or inf found); fill gaps first, e.g. by "
            "interpolation in time"
        )
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise PoseDataError(f"fps: expected a positive frame rate, found {fps!r}")
    freqs = morlet_frequencies(fps) if frequencies is None else np.asarray(frequencies, float)
    if freqs.ndim != 1 or freqs.size == 0 or (freqs <= 0).any():
        raise PoseDataError(f"frequencies: expected positive frequencies in Hz, found {freqs!r}")
    n_time, n_chan = arr.shape
    out = np.empty((n_time, n_chan, freqs.size))
    if n_time == 0:
        return out[:, 0, :] if squeeze else out
    omega0 = float(omega0)
    root = math.sqrt(omega0**2 + 2.0)
    scales = (omega0 + root) / (4.0 * math.pi * freqs)
    pad = min(n_time - 1, math.ceil(4.0 * scales.max() * fps))
    padded = np.pad(arr, ((pad, pad), (0, 0)), mode="reflect") if pad > 0 else arr
    n_fft = sfft.next_fast_len(padded.shape[0] + 1)
    spectrum = sfft.rfft(padded, n=n_fft, axis=0)  # (n_fft // 2 + 1, C)
    omega = 2.0 * math.pi * fps * np.arange(spectrum.shape[0]) / n_fft  # rad/s
    norm = math.pi**-0.25 * math.exp(0.25 * (omega0 - root) ** 2) / math.sqrt(2.0)
    full = np.zeros((n_fft, n_chan), dtype=np.complex128)
    half = spectrum.shape[0]
    for j, s in enumerate(scales):
        psi = math.pi**-0.25 * np.exp(-0.5 * (omega * s - omega0) ** 2)
        full[:half] = spectrum * psi[:, None]
        # sqrt(s) from the wavelet and 1 / sqrt(2 s) from the amplitude cancel in norm
        wave = sfft.ifft(full, axis=0)[pad : pad + n_time]
        out[:, :, j] = np.abs(wave) * norm
    return out[:, 0, :] if squeeze else out


def normalize_amplitudes(amplitudes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame normalisation of wavelet amplitudes (MotionMapper): each frame sums to 1.

    Parameters
    ----------
    amplitudes
        Non-negative amplitudes ``(time, ...)``, e.g. ``(time, channel, frequency)``.

    Returns
    -------
    normalized : numpy.ndarray
        Same shape; the values of each frame sum to 1 (a frame of zeros becomes
        uniform).
    total : numpy.ndarray
        ``(time,)`` the sum of each frame before normalisation.

    Examples
    --------
    >>> p, total = normalize_amplitudes(np.array([[1.0, 3.0], [0.0, 0.0]]))
    >>> p.tolist(), total.tolist()
    ([[0.25, 0.75], [0.5, 0.5]], [4.0, 0.0])
    """
    amp = np.asarray(amplitudes, dtype=np.float64)
    if amp.ndim < 2:
        raise PoseDataError(f"amplitudes: expected (time, ...), found shape {amp.shape}")
    flat = amp.reshape(len(amp), -1)
    total = flat.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    out = flat / safe[:, None]
    out[total <= 0] = 1.0 / max(flat.shape[1], 1)
    return out.reshape(amp.shape), total


# --------------------------------------------------------------------------------------
# density map and watershed
# --------------------------------------------------------------------------------------


def density_map(
    points: np.ndarray,
    grid_size: int = 200,
    bandwidth: float = 0.025,
    extent: Sequence[float] | None = None,
) -> xr.DataArray:
    """Gaussian kernel density of 2-D points on a square grid.

    Parameters
    ----------
    points
        ``(n, 2)`` coordinates (rows with NaN are ignored).
    grid_size
        Cells per side.
    bandwidth
        Kernel standard deviation as a fraction of the grid's side.
    extent
        ``(xmin, xmax, ymin, ymax)``; default the points' range plus 10 % on
        each side.

    Returns
    -------
    xr.DataArray
        ``(y, x)`` probability per cell (sums to 1), coordinates at cell
        centres, attrs ``extent`` and ``bandwidth``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = density_map(rng.normal(size=(500, 2)), grid_size=50)
    >>> d.shape, round(float(d.sum()), 6)
    ((50, 50), 1.0)
    """
    from scipy import ndimage

    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise PoseDataError(f"points: expected 2-D coordinates (n, 2), found shape {pts.shape}")
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        raise PoseDataError("points: no finite coordinates to estimate a density from")
    n = int(grid_size)
    if n < 4:
        raise PoseDataError(f"grid_size: expected at least 4 cells per side, found {grid_size!r}")
    if not (isinstance(bandwidth, int | float) and bandwidth > 0):
        raise PoseDataError(f"bandwidth: expected a positive fraction, found {bandwidth!r}")
    if extent is None:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        span = np.maximum(hi - lo, 1e-9)
        lo, hi = lo - 0.1 * span, hi + 0.1 * span
        extent = (lo[0], hi[0], lo[1], hi[1])
    x0, x1, y0, y1 = (float(v) for v in extent)
    hist, _, _ = np.histogram2d(pts[:, 1], pts[:, 0], bins=n, range=[[y0, y1], [x0, x1]])
    dens = ndimage.gaussian_filter(hist, sigma=float(bandwidth) * n, mode="constant")
    total = dens.sum()
    dens = dens / total if total > 0 else dens
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    return xr.DataArray(
        dens,
        dims=("y", "x"),
        coords={"y": ys, "x": xs},
        name="density",
        attrs={"extent": [x0, x1, y0, y1], "bandwidth": float(bandwidth)},
    )


def watershed_regions(density: xr.DataArray | np.ndarray, min_peak: float = 1e-3) -> np.ndarray:
    """Watershed regions of a density map: one basin per local maximum.

    Parameters
    ----------
    density
        2-D density (``(y, x)``).
    min_peak
        Local maxima below this fraction of the highest density are not
        regions of their own.

    Returns
    -------
    numpy.ndarray
        int32 region labels ``1..R`` with the density's shape; every cell has a
        region (the map is covered), ordered by peak height (1 = highest).

    Notes
    -----
    Every cell drains uphill: it points to its highest 8-neighbour when that is
    higher than itself, and the pointers are followed (by pointer doubling, so
    in a few vectorised passes) to a peak; the cells that reach the same peak
    (adjacent cells of equal height form one peak) are its basin, as in the
    watershed of the negated density. Cells that reach no peak (flat
    zero-density areas, or peaks below ``min_peak``) join the nearest basin.

    Examples
    --------
    >>> y, x = np.mgrid[0:40, 0:40]
    >>> bump = lambda cx: np.exp(-((x - cx) ** 2 + (y - 20) ** 2) / 20)
    >>> r = watershed_regions(bump(10) + bump(30))
    >>> sorted(np.unique(r).tolist()), int(r[20, 5]) != int(r[20, 35])
    ([1, 2], True)
    """
    from scipy import ndimage

    dens = np.asarray(density, dtype=np.float64)
    if dens.ndim != 2:
        raise PoseDataError(f"density: expected a 2-D map, found shape {dens.shape}")
    dens = np.nan_to_num(dens, nan=0.0)
    top = float(dens.max()) if dens.size else 0.0
    if not top > 0:
        return np.ones(dens.shape, dtype=np.int32)
    h, w = dens.shape
    padded = np.pad(dens, 1, constant_values=-np.inf)
    index = np.arange(h * w).reshape(h, w)
    yy, xx = np.divmod(index, w)
    best = dens.copy()
    target = index.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            neighbour = padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
            higher = neighbour > best
            best = np.where(higher, neighbour, best)
            target = np.where(higher, (yy + dy) * w + (xx + dx), target)
    parent = target.ravel()
    while True:  # pointer doubling: every cell ends at the peak it drains to
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            break
        parent = jumped
    peaks = (target == index) & (dens >= float(min_peak) * top)
    markers, n_peaks = ndimage.label(peaks, structure=np.ones((3, 3)))
    if n_peaks == 0:
        return np.ones(dens.shape, dtype=np.int32)
    heights = ndimage.maximum(dens, markers, index=np.arange(1, n_peaks + 1))
    order = np.argsort(-np.asarray(heights), kind="stable")
    rank = np.zeros(n_peaks + 1, dtype=np.int32)
    rank[order + 1] = np.arange(1, n_peaks + 1)
    regions = rank[markers.ravel()[parent]].reshape(h, w)
    if (regions == 0).any():
        _, (iy, ix) = ndimage.distance_transform_edt(regions == 0, return_indices=True)
        regions = regions[iy, ix]
    return regions.astype(np.int32)


# --------------------------------------------------------------------------------------
# sequences: every input turned into (time, channel) arrays
# --------------------------------------------------------------------------------------


@dataclass
class _Seq:
    session: str
    individual: str
    values: np.ndarray  # (T, C) float64, NaN = missing
    valid: np.ndarray  # (T,) bool, usable frames
    time: np.ndarray
    rows: np.ndarray | None = None  # (T, D) float32 per-frame representation


@dataclass
class _Batch:
    seqs: list[_Seq]
    sessions: list[str]
    shape: str  # "single" | "list" | "dict"
    kind: str  # "features" | "poses" | "latents" | "arrays"
    channels: list[str]
    fps: float | None
    datasets: dict[str, xr.Dataset] = field(default_factory=dict)


def _latents_type() -> type | None:
    try:
        from behavior.syllables.preprocess import Latents
    except ImportError:  # pragma: no cover - syllables always ship with behavior
        return None
    return Latents


def _container(X: Any) -> tuple[list[tuple[str, Any]], str]:
    """Items ``(name, session)`` and the container shape of ``X``."""
    import scipy.sparse

    if scipy.sparse.issparse(X):
        raise PoseDataError(
            f"X: sparse input is not supported (found {type(X).__name__}); pass a dense "
            "array (time, channel), e.g. X.toarray()"
        )
    if isinstance(X, xr.Dataset | xr.DataArray | np.ndarray | str | os.PathLike):
        return [(session_name(X, 0), X)], "single"
    if isinstance(X, Mapping):
        if not X:
            raise PoseDataError("X: expected at least one session, found an empty mapping")
        return [(str(k), v) for k, v in X.items()], "dict"
    if isinstance(X, Sequence):
        items = list(X)
        if not items:
            raise PoseDataError("X: expected at least one session, found an empty list")
        names = [session_name(v, k) for k, v in enumerate(items)]
        if len(set(names)) != len(names):
            names = [f"session_{k}" for k in range(len(items))]
        return list(zip(names, items)), "list"
    raise PoseDataError(
        "X: expected a feature DataArray (time, feature, individual), a pose Dataset or file, "
        f"syllable Latents, an array (time, channel), or a list / dict of them; found "
        f"{type(X).__name__}"
    )


def _valid_frames(values: np.ndarray) -> np.ndarray:
    if values.shape[1] == 0:
        return np.zeros(len(values), dtype=bool)
    return np.isfinite(values).mean(axis=1) >= 0.5


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN along time, ends held; all-NaN columns become 0."""
    out = np.array(values, dtype=np.float64, copy=True)
    n = len(out)
    if n == 0:
        return out
    idx = np.arange(n)
    bad = ~np.isfinite(out)
    for c in np.flatnonzero(bad.any(axis=0)):
        ok = ~bad[:, c]
        out[:, c] = np.interp(idx, idx[ok], out[ok, c]) if ok.any() else 0.0
    return out


def _body_velocity(centroid: np.ndarray, heading: np.ndarray, fps: float) -> np.ndarray:
    """Forward and sideways speed of the centroid in the body frame, and the turning rate."""
    c = np.asarray(centroid, dtype=np.float64)[:, :2]
    h = np.unwrap(np.nan_to_num(np.asarray(heading, dtype=np.float64)))
    if len(c) < 2:
        return np.zeros((len(c), 3))
    v = np.gradient(c, axis=0) * fps
    cos, sin = np.cos(h), np.sin(h)
    forward = v[:, 0] * cos + v[:, 1] * sin
    sideways = -v[:, 0] * sin + v[:, 1] * cos
    turning = np.gradient(h) * fps
    return np.column_stack([forward, sideways, turning])


# --------------------------------------------------------------------------------------
# bins and frameshift
# --------------------------------------------------------------------------------------


def _bins(rows: np.ndarray, valid: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping bins from frame 0: means ``(T // size, D)`` and usable flags."""
    n = len(rows) // size
    if size == 1:
        return rows, valid
    means = rows[: n * size].reshape(n, size, -1).mean(axis=1)
    ok = valid[: n * size].reshape(n, size).mean(axis=1) >= 0.5
    return means, ok


def _frameshift(rows: np.ndarray, valid: np.ndarray, size: int) -> list[tuple[np.ndarray, ...]]:
    """The bins at each of the ``size`` offsets, for prediction then interleaving.

    Returns, per offset ``o``, ``(bins, usable)`` where bin ``k`` is the mean of
    the frames ``t - h .. t - h + size - 1`` around frame ``t = o + k * size``
    (``h = (size - 1) // 2``; the ends are padded with the edge frames), so that
    the predictions of offset ``o`` fill frames ``o, o + size, o + 2 size ...``.
    """
    n = len(rows)
    h = (size - 1) // 2
    padded = np.pad(rows, ((h, size - 1 - h), (0, 0)), mode="edge")
    ok = np.pad(valid.astype(np.float64), (h, size - 1 - h), mode="edge")
    out = []
    for o in range(min(size, n)):
        k = -(-(n - o) // size)  # bins whose first frame is o + j * size, j < k
        seg = padded[o : o + k * size].reshape(k, size, -1).mean(axis=1)
        use = ok[o : o + k * size].reshape(k, size).mean(axis=1) >= 0.5
        out.append((seg, use))
    return out


def _interleave(parts: Sequence[np.ndarray], n: int, size: int) -> np.ndarray:
    """Per-frame values from per-offset predictions: frame ``o + k size`` <- parts[o][k]."""
    first = np.asarray(parts[0])
    out = np.empty((n, *first.shape[1:]), dtype=first.dtype)
    for o, part in enumerate(parts):
        out[o::size] = part
    return out


# --------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------


class BehaviorMap(BaseEstimator):
    """Unsupervised behavior map: features -> (wavelets) -> PCA -> 2-D embedding -> clusters.

    Parameters
    ----------
    pose_features
        How pose Datasets become channels: ``"bsoid"`` (per-frame distances,
        angles, speeds and accelerations of :func:`behavior.features.extract`
        with ``sets=["pose", "kinematics"], windows=None``), ``"window"``
        (``extract``'s default multi-scale window features) or ``"egocentric"``
        (PCA scores of egocentric poses from
        :class:`~behavior.syllables.preprocess.Preprocessor`).
    feature_options
        Keyword arguments for ``features.extract`` (``"bsoid"``, ``"window"``) or
        for the ``Preprocessor`` (``"egocentric"``).
    velocity
        With egocentric poses or Latents that carry centroid and heading: add the
        body-frame speed of the centroid (forward, sideways) and the turning
        rate as channels.
    bin_size
        Average the frames in bins of this length before the embedding (B-SOiD:
        ``"0.1 s"``); seconds, text or an int number of frames. None: no bins.
        New frames are then predicted with frameshift (one label per frame).
    wavelets
        Replace each channel by its Morlet wavelet amplitudes, normalised per
        frame (:func:`morlet_amplitudes`, :func:`normalize_amplitudes`).
    n_frequencies, min_frequency, max_frequency, omega0
        Wavelet settings (MotionMapper's defaults: 25, 1 Hz, 50 Hz, 5).
    n_components
        PCA of the standardised channels before the wavelets and embedding: a
        number of components, a fraction of variance to keep, or None (no PCA).
    embedding
        ``"umap"`` (needs umap-learn), ``"tsne"`` (openTSNE when installed,
        else scikit-learn), ``"pca"``, ``"auto"`` (UMAP when installed, else
        t-SNE), or a :class:`~behavior.contrastive.ContrastiveEncoder`: a clone
        is fit (time-contrastive, ``y`` is not used) on the usable frames or bins
        of every sequence in time order, and places new frames with its own
        ``transform`` (its window spans neighbouring usable frames or bins).
    n_dims
        Dimensions of the embedding (2 for a map); a ContrastiveEncoder's
        ``output_dimension`` sets them instead.
    perplexity
        t-SNE perplexity.
    n_neighbors, min_dist
        UMAP settings (B-SOiD: 60 and 0.0).
    clustering
        ``"hdbscan"`` (noise = -1), ``"gmm"``, ``"kmeans"`` or ``"watershed"``
        (regions of the density of a 2-D map).
    n_clusters
        Clusters for ``"gmm"`` and ``"kmeans"``.
    min_cluster_size
        HDBSCAN's smallest cluster: an int, a fraction of the sample, or a
        sequence of them to sweep; the value giving the most clusters is kept
        (B-SOiD's rule; ``sweep_`` reports the noise fraction of each).
    min_samples
        HDBSCAN ``min_samples``.
    bandwidth, grid_size
        Density map: kernel width as a fraction of the map's side, and cells per
        side.
    predictor
        How frames outside the fitting sample get a cluster: ``"forest"`` (a
        random forest trained on the clusters, B-SOiD), ``"neighbors"`` (vote
        of the nearest sampled frames in feature space), ``"embedding"`` (place
        the frame on the map, then the cluster there), or ``"auto"``
        (``"forest"`` for HDBSCAN, else ``"embedding"``).
    n_estimators
        Trees of the random forest.
    k_neighbors
        Neighbours for out-of-sample placement and votes.
    out_of_sample
        ``"neighbors"``: new frames are placed at the distance-weighted mean of
        the map positions of their nearest sampled frames (fast); ``"native"``:
        the embedding's own ``transform`` (UMAP, openTSNE; slower, and the model
        is kept in the fitted map; scikit-learn's t-SNE has none, so neighbours
        are used). PCA maps always project exactly.
    max_samples
        At most this many frames (or bins) are drawn, across all sessions, to fit
        the embedding, clusters and predictor. None: all.
    fps
        Frame rate of inputs that carry none (plain arrays).
    random_state
        Seed of the subsample, the embedding, the clustering and the forest.
    n_jobs
        Parallel jobs for the forest, the neighbour searches and the embedding.
    progress
        Show progress bars.

    Attributes
    ----------
    channels_ : list of str
        Input channel names (features, latents ...).
    n_features_in_ : int
        Number of input channels.
    fps_ : float or None
    bin_frames_ : int
        Frames per bin (1 without bins).
    frequencies_ : ndarray or None
        Wavelet frequencies in Hz.
    pca_ : sklearn PCA or None
    embedding_ : ndarray (n_samples, n_dims)
        Map coordinates of the sampled frames / bins.
    labels_ : ndarray (n_samples,)
        Their clusters (-1 = noise), 0 = most frequent.
    sample_index_ : pandas.DataFrame
        Where each sample comes from: ``session``, ``individual``, ``frame``
        (first frame of the bin), ``time``.
    n_clusters_ : int
    cluster_names_ : list of str
        ``cluster_0, cluster_1 ...``.
    noise_fraction_ : float
        Fraction of the sample labelled noise.
    sweep_ : pandas.DataFrame or None
        HDBSCAN sweep: ``min_cluster_size``, ``n_clusters``, ``noise_fraction``,
        ``kept``.
    density_ : xr.DataArray or None
        Density of the 2-D map ``(y, x)``.
    regions_ : xr.DataArray or None
        Its watershed regions ``(y, x)``, 1..R.
    embedding_method_ : str
        The embedding actually used (``"umap"``, ``"tsne-openTSNE"`` ...).
    fit_seconds_ : float

    Examples
    --------
    >>> import behavior as bh
    >>> ds, truth = bh.simulate.session(kind="single", duration="1 min", seed=0)
    >>> bmap = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=4,
    ...                    bin_size="0.1 s", random_state=0, progress=False)
    >>> eth = bmap.fit(ds).predict(ds)
    >>> eth.n_frames == ds.sizes["time"], bmap.n_clusters_
    (True, 4)
    """

    def __init__(
        self,
        pose_features: str = "bsoid",
        feature_options: Mapping[str, Any] | None = None,
        velocity: bool = True,
        bin_size: int | float | str | None = None,
        wavelets: bool = False,
        n_frequencies: int = 25,
        min_frequency: float = 1.0,
        max_frequency: float = 50.0,
        omega0: float = 5.0,
        n_components: int | float | None = 0.95,
        embedding: str = "auto",
        n_dims: int = 2,
        perplexity: float = 30.0,
        n_neighbors: int = 60,
        min_dist: float = 0.0,
        clustering: str = "hdbscan",
        n_clusters: int = 10,
        min_cluster_size: int | float | Sequence[int | float] = (0.005, 0.0075, 0.01),
        min_samples: int | None = 10,
        bandwidth: float = 0.025,
        grid_size: int = 200,
        predictor: str = "auto",
        n_estimators: int = 100,
        k_neighbors: int = 10,
        out_of_sample: str = "neighbors",
        max_samples: int | None = 10_000,
        fps: float | None = None,
        random_state: int | None = None,
        n_jobs: int | None = None,
        progress: bool = True,
    ) -> None:
        self.pose_features = pose_features
        self.feature_options = feature_options
        self.velocity = velocity
        self.bin_size = bin_size
        self.wavelets = wavelets
        self.n_frequencies = n_frequencies
        self.min_frequency = min_frequency
        self.max_frequency = max_frequency
        self.omega0 = omega0
        self.n_components = n_components
        self.embedding = embedding
        self.n_dims = n_dims
        self.perplexity = perplexity
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.clustering = clustering
        self.n_clusters = n_clusters
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.bandwidth = bandwidth
        self.grid_size = grid_size
        self.predictor = predictor
        self.n_estimators = n_estimators
        self.k_neighbors = k_neighbors
        self.out_of_sample = out_of_sample
        self.max_samples = max_samples
        self.fps = fps
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress

    # ---------------------------------------------------------------- recipes

    @classmethod
    def bsoid(cls, **params: Any) -> BehaviorMap:
        """The B-SOiD recipe (Hsu & Yttri 2021), with any parameter overridden.

        Per-frame distances, angles and speeds in 100 ms bins, PCA, UMAP
        (``n_neighbors=60, min_dist=0``; t-SNE when umap-learn is absent),
        HDBSCAN with a ``min_cluster_size`` sweep of 0.5-1 % of the sample
        keeping the most clusters, and a random forest with frameshift
        prediction for every frame.

        Examples
        --------
        >>> BehaviorMap.bsoid(random_state=0).bin_size
        '0.1 s'
        """
        settings: dict[str, Any] = {
            "pose_features": "bsoid",
            "bin_size": "0.1 s",
            "wavelets": False,
            "n_components": 0.95,
            "embedding": "auto",
            "n_neighbors": 60,
            "min_dist": 0.0,
            "clustering": "hdbscan",
            "min_cluster_size": (0.005, 0.0075, 0.01),
            "min_samples": 10,
            "predictor": "forest",
            "n_estimators": 100,
        }
        settings.update(params)
        return cls(**settings)

    @classmethod
    def motionmapper(cls, **params: Any) -> BehaviorMap:
        """The MotionMapper recipe (Berman et al. 2014), with any parameter overridden.

        Egocentric postural modes and body-frame velocity, Morlet wavelet
        amplitudes (25 frequencies from 1 to 50 Hz capped below Nyquist,
        omega0 = 5) normalised per frame, t-SNE (perplexity 32), and the
        watershed regions of the map's density as clusters; new frames are
        placed by nearest neighbours in spectral space.

        Examples
        --------
        >>> BehaviorMap.motionmapper().clustering
        'watershed'
        """
        settings: dict[str, Any] = {
            "pose_features": "egocentric",
            "bin_size": None,
            "wavelets": True,
            "n_components": None,
            "embedding": "tsne",
            "perplexity": 32.0,
            "clustering": "watershed",
            "predictor": "embedding",
            "bandwidth": 0.025,
        }
        settings.update(params)
        return cls(**settings)

    def __sklearn_tags__(self) -> Any:
        """scikit-learn tags: NaN is allowed (frames with fewer than half of their
        channels finite are unusable, the rest interpolated)."""
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.random_state is None
        tags.transformer_tags = TransformerTags()
        return tags

    # ---------------------------------------------------------------- checks

    def _check_params(self) -> None:
        def choice(name: str, options: Sequence[str]) -> None:
            value = getattr(self, name)
            if value not in options:
                raise PoseDataError(f"{name}: expected one of {list(options)}, found {value!r}")

        choice("pose_features", _POSE_FEATURES)
        if not isinstance(self.embedding, ContrastiveEncoder):
            choice("embedding", _EMBEDDINGS)
        choice("clustering", _CLUSTERINGS)
        choice("predictor", _PREDICTORS)
        choice("out_of_sample", ("neighbors", "native"))
        for name in ("n_dims", "n_clusters", "n_estimators", "k_neighbors", "grid_size"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                raise PoseDataError(f"{name}: expected a positive integer, found {value!r}")
        value = self.n_neighbors
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 2:
            raise PoseDataError(f"n_neighbors: expected an integer >= 2, found {value!r}")
        value = self.n_frequencies
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise PoseDataError(f"n_frequencies: expected a positive integer, found {value!r}")
        for name, low in (
            ("perplexity", 0.0),
            ("min_frequency", 0.0),
            ("max_frequency", 0.0),
            ("omega0", 0.0),
            ("bandwidth", 0.0),
            ("min_dist", None),
        ):
            value = getattr(self, name)
            number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool
            )
            if not number or not np.isfinite(value) or (low is None and value < 0):
                raise PoseDataError(f"{name}: expected a finite number, found {value!r}")
            if low is not None and not value > low:
                raise PoseDataError(f"{name}: expected a number > {low:g}, found {value!r}")
        if self.min_frequency > self.max_frequency:
            raise PoseDataError(
                f"min_frequency/max_frequency: expected min <= max, found {self.min_frequency!r} "
                f"> {self.max_frequency!r}"
            )
        dims = self.n_dims
        if isinstance(self.embedding, ContrastiveEncoder):
            dims = self.embedding.output_dimension
        if self.clustering == "watershed" and dims != 2:
            raise PoseDataError(f"clustering='watershed' needs a 2-D map; n_dims is {dims}")
        if self.max_samples is not None and (
            not isinstance(self.max_samples, int | np.integer) or self.max_samples < 10
        ):
            raise PoseDataError(
                f"max_samples: expected None or an integer >= 10, found {self.max_samples!r}"
            )
        nc = self.n_components
        if nc is not None and not (
            (isinstance(nc, int | np.integer) and nc >= 1)
            or (isinstance(nc, float) and 0 < nc <= 1)
        ):
            raise PoseDataError(
                f"n_components: expected None, an int >= 1 or a variance fraction in (0, 1], "
                f"found {nc!r}"
            )
        sizes = self._cluster_sizes(100)
        if not sizes:
            raise PoseDataError(
                f"min_cluster_size: expected an int >= 2, a fraction in (0, 1) or a sequence of "
                f"them, found {self.min_cluster_size!r}"
            )

    @staticmethod
    def _has(module: str) -> bool:
        import importlib.util

        return importlib.util.find_spec(module) is not None

    def _cluster_sizes(self, n: int) -> list[int]:
        values = self.min_cluster_size
        if isinstance(values, int | float | np.integer | np.floating):
            values = [values]
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                return []
            if isinstance(v, int | np.integer):
                if v < 2:
                    return []
                out.append(int(v))
            elif 0 < float(v) < 1:
                out.append(max(2, round(float(v) * n)))
            else:
                return []
        return sorted(dict.fromkeys(out))

    def _check_fitted(self) -> None:
        if not hasattr(self, "labels_"):
            from behavior.errors import NotFittedError

            raise NotFittedError("this BehaviorMap is not fitted yet; call fit(X) first")

    # ---------------------------------------------------------------- input

    def _read(self, X: Any, fitting: bool) -> _Batch:
        latents_type = _latents_type()
        if latents_type is not None and isinstance(X, latents_type):
            if (
                not fitting
                and self.input_kind_ != "latents"
                and not (self.input_kind_ == "poses" and self.pose_features_ == "egocentric")
            ):
                raise PoseDataError(
                    f"X: this map was fit on {self.input_kind_}, found Latents; pass the same "
                    "kind of input"
                )
            return self._read_latents(X, fitting)
        items, shape = _container(X)
        kinds = []
        loaded: list[tuple[str, Any]] = []
        for i, (name, item) in enumerate(items):
            label = "X" if shape == "single" else f"X[{name!r}]" if shape == "dict" else f"X[{i}]"
            if isinstance(item, str | os.PathLike):
                from behavior.io.registry import load_poses

                item = load_poses(item)
            if latents_type is not None and isinstance(item, latents_type):
                raise PoseDataError(
                    f"{label}: pass Latents on their own (they hold their sessions), not in a "
                    "list or dict"
                )
            if isinstance(item, xr.Dataset):
                if "position" not in item.data_vars:
                    raise PoseDataError(
                        f"{label}: expected a pose Dataset with a 'position' variable, found "
                        f"variables {list(item.data_vars)}"
                    )
                kinds.append("poses")
            elif isinstance(item, xr.DataArray):
                require_dims(item, *_FEATURE_DIMS, name=label)
                extra = [d for d in item.dims if d not in _FEATURE_DIMS]
                if extra:
                    raise PoseDataError(
                        f"{label}: expected features with dims (time, feature, individual), "
                        f"found extra dims {extra}"
                    )
                kinds.append("features")
            elif isinstance(item, np.ndarray):
                if item.dtype == object:  # numbers stored as objects (a TypeError otherwise)
                    item = np.asarray(item, dtype=np.float64)
                if np.iscomplexobj(item):
                    raise PoseDataError(f"{label}: Complex data not supported; expected real")
                if item.ndim not in (1, 2) or not np.issubdtype(item.dtype, np.number):
                    raise PoseDataError(
                        f"{label}: expected a numeric array (time, channel), found dtype "
                        f"{item.dtype} and shape {item.shape}"
                    )
                kinds.append("arrays")
            else:
                raise PoseDataError(
                    f"{label}: expected a feature DataArray, a pose Dataset or file, or an array "
                    f"(time, channel); found {type(item).__name__}"
                )
            loaded.append((name, item))
        if len(set(kinds)) > 1:
            raise PoseDataError(f"X: mixes input kinds {sorted(set(kinds))}; pass one kind")
        kind = kinds[0]
        if not fitting:
            allowed = {self.input_kind_}
            if self.input_kind_ == "poses" and self.pose_features_ != "egocentric":
                allowed.add("features")  # features extracted as for fitting
            if kind not in allowed:
                raise PoseDataError(
                    f"X: this map was fit on {self.input_kind_}, found {kind}; pass the same "
                    "kind of input"
                )
        if kind == "poses":
            return self._read_poses(loaded, shape, fitting)
        if kind == "features":
            return self._read_features(loaded, shape, fitting)
        return self._read_arrays(loaded, shape, fitting)

    def _read_features(
        self, items: list[tuple[str, xr.DataArray]], shape: str, fitting: bool, kind="features"
    ) -> _Batch:
        seqs: list[_Seq] = []
        fps_values = []
        names: list[str] | None = None if fitting else list(self.channels_)
        for name, da in items:
            da = da.transpose(*_FEATURE_DIMS)
            feats = [str(f) for f in da["feature"].values] if "feature" in da.coords else None
            if feats is None:
                feats = [f"feature_{i}" for i in range(da.sizes["feature"])]
            if names is None:
                names = feats
            elif feats != names:
                missing = [f for f in names if f not in feats]
                if missing:
                    raise PoseDataError(
                        f"X[{name!r}]: {len(missing)} feature(s) of the fitted map are missing, "
                        f"e.g. {missing[:5]}; compute the same features as for fitting"
                    )
                da = da.sel(feature=names) if "feature" in da.coords else da
            fps_values.append(fps_of(da))
            values = np.asarray(da.values, dtype=np.float64)
            time = (
                np.asarray(da["time"].values)
                if "time" in da.coords
                else np.arange(da.sizes["time"], dtype=np.float64)
            )
            inds = (
                [str(v) for v in da["individual"].values]
                if "individual" in da.coords
                else [f"individual_{i}" for i in range(da.sizes["individual"])]
            )
            for j, ind in enumerate(inds):
                v = values[:, :, j]
                seqs.append(_Seq(name, ind, v, _valid_frames(v), time))
        fps = self._common_fps(fps_values)
        return _Batch(seqs, [n for n, _ in items], shape, kind, list(names or []), fps)

    def _read_arrays(
        self, items: list[tuple[str, np.ndarray]], shape: str, fitting: bool
    ) -> _Batch:
        seqs = []
        width = None if fitting else len(self.channels_)
        for name, arr in items:
            v = np.asarray(arr, dtype=np.float64)
            v = v[:, None] if v.ndim == 1 else v
            if v.shape[1] == 0:
                raise PoseDataError(
                    f"X[{name!r}]: found 0 feature(s) (shape={v.shape}) while a minimum of 1 is "
                    "required: an array needs at least one channel"
                )
            if width is None:
                width = v.shape[1]
            elif v.shape[1] != width:
                raise PoseDataError(
                    f"X[{name!r}]: expected {width} channels like the other arrays / the fitted "
                    f"map, found {v.shape[1]} (X has {v.shape[1]} features, but BehaviorMap is "
                    f"expecting {width} features as input)"
                )
            fps = self._own_fps()
            time = np.arange(len(v)) / fps if fps else np.arange(len(v), dtype=np.float64)
            seqs.append(_Seq(name, "individual_0", v, _valid_frames(v), time))
        channels = [f"channel_{i}" for i in range(width or 0)]
        return _Batch(seqs, [n for n, _ in items], shape, "arrays", channels, self._own_fps())

    def _read_poses(self, items: list[tuple[str, xr.Dataset]], shape: str, fitting: bool) -> _Batch:
        datasets = dict(items)
        mode = self.pose_features if fitting else self.pose_features_
        options = dict(self.feature_options or {})
        if mode == "egocentric":
            from behavior.syllables.preprocess import Preprocessor

            if fitting:
                self.preprocessor_ = Preprocessor(**options).fit(datasets)
            latents = self.preprocessor_.transform(datasets)
            batch = self._read_latents(latents, fitting, shape=shape, kind="poses")
            batch.datasets = datasets
            return batch
        from behavior import features

        if mode == "bsoid":
            options = {"sets": ["pose", "kinematics"], "windows": None, **options}
        feats = []
        for name, ds in items:
            fa = features.extract(ds, **{"progress": False, **options})
            feats.append((name, fa))
        batch = self._read_features(feats, shape, fitting, kind="poses")
        batch.datasets = datasets
        return batch

    def _read_latents(
        self, latents: Any, fitting: bool, shape: str | None = None, kind: str = "latents"
    ) -> _Batch:
        seqs = []
        use_velocity = bool(self.velocity) and latents.centroid is not None
        use_velocity = use_velocity and latents.heading is not None
        if not fitting:
            use_velocity = self.channels_[-1:] == ["turning"]
            if use_velocity and (latents.centroid is None or latents.heading is None):
                raise PoseDataError(
                    "X: the map was fit with body-frame velocity channels; these Latents carry "
                    "no centroid and heading"
                )
        for i, key in enumerate(latents.keys):
            v = np.asarray(latents.data[i], dtype=np.float64)
            if use_velocity:
                v = np.column_stack(
                    [v, _body_velocity(latents.centroid[i], latents.heading[i], latents.fps)]
                )
            valid = np.asarray(latents.mask[i], dtype=bool) & _valid_frames(v)
            seqs.append(_Seq(str(key[0]), str(key[1]), v, valid, np.asarray(latents.time[i])))
        sessions = list(dict.fromkeys(s.session for s in seqs))
        channels = [f"latent_{j}" for j in range(latents.n_dims)]
        if use_velocity:
            channels += ["forward_speed", "sideways_speed", "turning"]
        if not fitting and len(channels) != len(self.channels_):
            raise PoseDataError(
                f"X: expected {len(self.channels_)} latent channels like the fitted map, found "
                f"{len(channels)}"
            )
        if shape is None:
            shape = "single" if len(sessions) == 1 else "dict"
        return _Batch(seqs, sessions, shape, kind, channels, float(latents.fps))

    def _own_fps(self) -> float | None:
        """The ``fps`` parameter, checked (None when not given)."""
        if self.fps is None:
            return None
        return fps_of(xr.Dataset(), self.fps)

    def _common_fps(self, values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        if not known:
            return self._own_fps()
        if max(known) - min(known) > 1e-6 * max(known):
            raise PoseDataError(
                f"X: the sessions have different frame rates {sorted(set(known))}; resample "
                "them to one rate first"
            )
        return known[0]

    # ---------------------------------------------------------------- per-frame rows

    def _prepare_fit(self, batch: _Batch, rng: np.random.Generator) -> None:
        """Standardisation, PCA, bin size and wavelet frequencies from the training batch."""
        from sklearn.decomposition import PCA

        self.input_kind_ = "latents" if batch.kind == "latents" else batch.kind
        if batch.kind == "poses":
            self.pose_features_ = self.pose_features
        self.channels_ = list(batch.channels)
        self.n_features_in_ = len(self.channels_)
        self.fps_ = batch.fps
        needs_fps = self.wavelets or (
            self.bin_size is not None and not isinstance(self.bin_size, int | np.integer)
        )
        if needs_fps and self.fps_ is None:
            raise PoseDataError(
                "fps: the input carries no frame rate, and bin_size in seconds or wavelets need "
                "one; pass BehaviorMap(fps=...) or data with attrs['fps']"
            )
        self.bin_frames_ = 1
        if self.bin_size is not None:
            self.bin_frames_ = max(1, to_frames(self.bin_size, self.fps_, name="bin_size"))
        stacked = np.concatenate([s.values[s.valid] for s in batch.seqs], axis=0)
        if len(stacked) == 0:
            raise PoseDataError(
                "X: no usable frame (every frame has fewer than half of its channels finite)"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(stacked, axis=0)
            scale = np.nanstd(stacked, axis=0)
        dead = ~np.isfinite(mean) | ~np.isfinite(scale) | (scale <= 1e-12)
        if dead.any():
            logger.info(
                "BehaviorMap: %d constant or empty channel(s) carry no information, e.g. %s",
                int(dead.sum()),
                [self.channels_[i] for i in np.flatnonzero(dead)[:3]],
            )
        self.mean_ = np.where(np.isfinite(mean), mean, 0.0)
        self.scale_ = np.where(dead, 1.0, scale)
        self.pca_ = None
        if self.n_components is not None:
            rows = stacked
            if len(rows) > _PCA_FIT_ROWS:
                rows = rows[np.sort(rng.choice(len(rows), _PCA_FIT_ROWS, replace=False))]
            z = np.nan_to_num((rows - self.mean_) / self.scale_)
            nc = self.n_components
            if isinstance(nc, int | np.integer):
                nc = int(min(nc, z.shape[1], z.shape[0]))
            self.pca_ = PCA(n_components=nc, svd_solver="full").fit(z)
        self.frequencies_ = None
        if self.wavelets:
            self.frequencies_ = morlet_frequencies(
                self.fps_, self.n_frequencies, self.min_frequency, self.max_frequency
            )

    def _frame_rows(self, seq: _Seq) -> np.ndarray:
        """The per-frame representation of a sequence: ``(T, D)`` float32."""
        z = (seq.values - self.mean_) / self.scale_
        z = _fill_gaps(z)
        if self.pca_ is not None:
            z = self.pca_.transform(z)
        if self.frequencies_ is not None:
            amp = morlet_amplitudes(z, self.fps_, self.frequencies_, self.omega0)
            z, _ = normalize_amplitudes(amp)
            z = z.reshape(len(z), -1)
        return np.ascontiguousarray(z, dtype=np.float32)

    # ---------------------------------------------------------------- fit

    def fit(self, X: Any, y: Any = None) -> BehaviorMap:
        """Fit the map on one or several sessions.

        Parameters
        ----------
        X
            Feature DataArray(s), pose Dataset(s) or files, Latents, or arrays
            (see the module docstring); one, a list or a dict.
        y
            Ignored (scikit-learn convention).

        Returns
        -------
        BehaviorMap
            self, fitted.

        Raises
        ------
        PoseDataError
            For inputs of the wrong kind or shape, a parameter out of range, or
            data without any usable frame; the message names the argument.
        MissingDependencyError
            For ``embedding="umap"`` without umap-learn.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = np.concatenate([rng.normal(m, 0.1, size=(100, 3)) for m in (0, 3)])
        >>> BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...             progress=False).fit(X).n_clusters_
        2
        """
        self._check_params()
        start = _time.perf_counter()
        batch = self._read(X, fitting=True)
        self._fit_batch(batch)
        self.fit_seconds_ = _time.perf_counter() - start
        logger.info("BehaviorMap: fit in %.1f s", self.fit_seconds_)
        return self

    def _bar(self, total: int, desc: str):
        from behavior._progress import progress_bar

        return progress_bar(enabled=self.progress, total=total, desc=desc, leave=False)

    def _threads(self):
        """Native threads (OpenMP, BLAS) while fitting / predicting: ``n_jobs`` (None: 1).

        Many short parallel regions (t-SNE gradients, small SVDs) on a shared
        machine cost more than they gain, and one thread keeps results bit-for-bit
        reproducible; ``n_jobs=-1`` leaves the libraries' own defaults.
        """
        import contextlib

        from threadpoolctl import threadpool_limits

        if self.n_jobs is not None and self.n_jobs < 0:
            return contextlib.nullcontext()
        return threadpool_limits(limits=int(self.n_jobs or 1))

    def _fit_batch(self, batch: _Batch) -> None:
        with self._threads():
            self._fit_batch_threads(batch)

    def _fit_batch_threads(self, batch: _Batch) -> None:
        rng = np.random.default_rng(self.random_state)
        steps = ["rows", "sample", "embedding", "clusters", "predictor"]
        with self._bar(len(steps), "behavior map") as bar:
            tick = _time.perf_counter()

            def done(step: str) -> None:
                nonlocal tick
                now = _time.perf_counter()
                logger.info("BehaviorMap: %s in %.2f s", step, now - tick)
                tick = now
                bar.set_postfix_str(step)
                bar.update(1)

            self._prepare_fit(batch, rng)
            for seq in batch.seqs:
                seq.rows = self._frame_rows(seq)
            done("features, PCA and wavelets")

            # training rows: non-overlapping bins (or frames), sampled across sequences
            parts, where = [], []
            for i, seq in enumerate(batch.seqs):
                rows, ok = _bins(seq.rows, seq.valid, self.bin_frames_)
                idx = np.flatnonzero(ok)
                parts.append(rows[idx])
                where.append(np.column_stack([np.full(len(idx), i), idx * self.bin_frames_]))
            rows = np.concatenate(parts, axis=0)
            where = np.concatenate(where, axis=0)
            if len(rows) < 3:
                raise PoseDataError(
                    f"X: only {len(rows)} usable frames/bins (n_samples={len(rows)}) to fit a "
                    "map; at least 3 are needed"
                )
            pick = None
            if self.max_samples is not None and len(rows) > self.max_samples:
                pick = np.sort(rng.choice(len(rows), int(self.max_samples), replace=False))
                rows, where = rows[pick], where[pick]
            self._train_rows_ = np.ascontiguousarray(rows)
            seq_of = where[:, 0]
            frames = where[:, 1]
            self.sample_index_ = pd.DataFrame(
                {
                    "session": [batch.seqs[i].session for i in seq_of],
                    "individual": [batch.seqs[i].individual for i in seq_of],
                    "frame": frames,
                    "time": [float(batch.seqs[i].time[f]) for i, f in zip(seq_of, frames)],
                }
            )
            done(f"sample of {len(rows)}")

            emb = self._fit_embedding(rows, parts, pick)
            self.embedding_ = emb
            done(f"embedding ({self.embedding_method_})")

            labels = self._fit_clusters(emb)
            done(f"clusters ({self.n_clusters_})")

            self._fit_predictor(rows, labels)
            done(f"predictor ({self.predictor_})")

    # ---------------------------------------------------------------- embedding

    def _seed(self) -> int | None:
        if self.random_state is None:
            return None
        return int(np.random.default_rng(self.random_state).integers(2**31 - 1))

    def _fit_embedding(
        self, rows: np.ndarray, sequences: list[np.ndarray], pick: np.ndarray | None
    ) -> np.ndarray:
        """Map coordinates of the sampled ``rows``; ``sequences`` holds every usable
        row of each sequence in time order, ``pick`` which of them were sampled."""
        method = self.embedding
        if isinstance(method, ContrastiveEncoder):
            from sklearn.base import clone

            sequences = [s for s in sequences if len(s)]
            self._embedder = clone(method).fit(sequences)
            self.embedding_method_ = "contrastive"
            emb = np.concatenate(self._embedder.transform(sequences), axis=0)
            return (emb if pick is None else emb[pick]).astype(np.float64)
        if method == "auto":
            method = "umap" if self._has("umap") else "tsne"
            if method == "tsne":
                logger.info("BehaviorMap: umap-learn is not installed; using t-SNE")
        n = len(rows)
        dims = int(self.n_dims)
        self._embedder = None
        if method == "pca":
            from sklearn.decomposition import PCA

            dims = min(dims, rows.shape[1], n)
            self._embedder = PCA(n_components=dims, svd_solver="full").fit(rows)
            self.embedding_method_ = "pca"
            return self._embedder.transform(rows).astype(np.float64)
        if method == "umap":
            umap = require_module("umap", _EXTRA, "embedding='umap'")
            jobs = 1 if self.random_state is not None else (self.n_jobs or 1)
            model = umap.UMAP(
                n_components=dims,
                n_neighbors=int(min(self.n_neighbors, n - 1)),
                min_dist=float(self.min_dist),
                random_state=self._seed(),
                n_jobs=jobs,
                verbose=False,
            )
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*n_jobs.*")
                warnings.filterwarnings("ignore", category=FutureWarning)
                emb = model.fit_transform(rows)
            # kept only when new frames are placed by the model itself
            self._embedder = model if self.out_of_sample == "native" else None
            self.embedding_method_ = "umap"
            return np.asarray(emb, dtype=np.float64)
        # t-SNE
        perplexity = float(min(self.perplexity, max(2.0, (n - 1) / 3.0)))
        if self._has("openTSNE"):
            import openTSNE

            model = openTSNE.TSNE(
                n_components=dims,
                perplexity=perplexity,
                random_state=self._seed(),
                n_jobs=self.n_jobs or 1,
                verbose=False,
            )
            emb = model.fit(rows)
            self._embedder = emb if self.out_of_sample == "native" else None
            self.embedding_method_ = "tsne-openTSNE"
            return np.asarray(emb, dtype=np.float64)
        from sklearn.manifold import TSNE

        model = TSNE(
            n_components=dims,
            perplexity=perplexity,
            init="pca",
            learning_rate="auto",
            random_state=self._seed(),
            n_jobs=self.n_jobs,
        )
        emb = model.fit_transform(rows)
        self.embedding_method_ = "tsne-sklearn"
        return np.asarray(emb, dtype=np.float64)

    def _neighbors(self):
        if getattr(self, "_knn", None) is None:
            from sklearn.neighbors import NearestNeighbors

            k = int(min(self.k_neighbors, len(self._train_rows_)))
            self._knn = NearestNeighbors(n_neighbors=k, n_jobs=self.n_jobs).fit(self._train_rows_)
        return self._knn

    def _place(self, rows: np.ndarray) -> np.ndarray:
        """Map coordinates of new rows."""
        if self.embedding_method_ in ("pca", "contrastive"):
            return self._embedder.transform(rows).astype(np.float64)
        if self.out_of_sample == "native" and self._embedder is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(self._embedder.transform(rows), dtype=np.float64)
        dist, idx = self._neighbors().kneighbors(rows)
        weight = 1.0 / np.maximum(dist, 1e-12)
        exact = dist <= 1e-12
        hit = exact.any(axis=1)
        weight[hit] = exact[hit].astype(np.float64)
        weight /= weight.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkd->nd", weight, self.embedding_[idx])

    # ---------------------------------------------------------------- clusters

    def _fit_clusters(self, emb: np.ndarray) -> np.ndarray:
        n = len(emb)
        self.sweep_ = None
        self._cluster_model = None
        self.density_ = None
        self.regions_ = None
        if emb.shape[1] == 2:
            self.density_ = density_map(emb, int(self.grid_size), float(self.bandwidth))
            self.regions_ = self.density_.copy(data=watershed_regions(self.density_.values))
            self.regions_.name = "region"
        if self.clustering == "hdbscan":
            from sklearn.cluster import HDBSCAN

            rows = []
            best, best_labels = None, None
            for size in self._cluster_sizes(n):
                if size > n:
                    continue
                model = HDBSCAN(
                    min_cluster_size=size,
                    min_samples=None if self.min_samples is None else int(min(self.min_samples, n)),
                    copy=True,
                )
                lab = model.fit_predict(emb)
                k = int(lab.max()) + 1
                noise = float((lab < 0).mean())
                rows.append({"min_cluster_size": size, "n_clusters": k, "noise_fraction": noise})
                if best is None or k > best:
                    best, best_labels = k, lab
                    kept = len(rows) - 1
            if best_labels is None:
                raise PoseDataError(
                    f"min_cluster_size: every value of {self.min_cluster_size!r} exceeds the "
                    f"{n} samples"
                )
            sweep = pd.DataFrame(rows)
            sweep["kept"] = np.arange(len(sweep)) == kept
            self.sweep_ = sweep
            labels = best_labels
            logger.info(
                "BehaviorMap: HDBSCAN sweep kept min_cluster_size=%d: %d clusters, %.1f%% noise",
                int(sweep.loc[kept, "min_cluster_size"]),
                best,
                100 * float(sweep.loc[kept, "noise_fraction"]),
            )
        elif self.clustering in ("gmm", "kmeans"):
            k = int(min(self.n_clusters, n))
            if self.clustering == "gmm":
                from sklearn.mixture import GaussianMixture

                model = GaussianMixture(
                    n_components=k, covariance_type="full", n_init=2, random_state=self._seed()
                )
            else:
                from sklearn.cluster import KMeans

                model = KMeans(n_clusters=k, n_init=4, random_state=self._seed())
            labels = model.fit_predict(emb)
            self._cluster_model = model
        else:  # watershed
            labels = self._region_of(emb) - 1
        # relabel by size: 0 = most frequent; -1 stays noise
        codes, counts = np.unique(labels[labels >= 0], return_counts=True)
        order = codes[np.argsort(-counts, kind="stable")]
        self._relabel = {int(c): i for i, c in enumerate(order)}
        lut = np.full(int(labels.max()) + 2 if labels.size else 1, -1, dtype=np.int64)
        for c, i in self._relabel.items():
            lut[c] = i
        labels = np.where(labels >= 0, lut[np.clip(labels, 0, None)], -1)
        self.labels_ = labels.astype(np.int64)
        self.n_clusters_ = len(order)
        self.cluster_names_ = [f"cluster_{i}" for i in range(self.n_clusters_)]
        self.noise_fraction_ = float((self.labels_ < 0).mean()) if n else 0.0
        if self.n_clusters_ == 0:
            raise PoseDataError(
                f"clustering={self.clustering!r} found no cluster in {n} samples (all noise); "
                "lower min_cluster_size or min_samples"
            )
        return self.labels_

    def _region_of(self, coords: np.ndarray) -> np.ndarray:
        """Watershed region (1..R) of map coordinates (outside the grid: nearest border cell)."""
        x0, x1, y0, y1 = self.density_.attrs["extent"]
        n = self.density_.sizes["x"]
        ix = np.clip(((coords[:, 0] - x0) / (x1 - x0) * n).astype(np.int64), 0, n - 1)
        iy = np.clip(((coords[:, 1] - y0) / (y1 - y0) * n).astype(np.int64), 0, n - 1)
        return self.regions_.values[iy, ix]

    def _assign(self, coords: np.ndarray) -> np.ndarray:
        """Clusters of map coordinates (out of sample)."""
        if self.clustering == "watershed":
            raw = self._region_of(coords) - 1
        elif self.clustering in ("gmm", "kmeans"):
            raw = self._cluster_model.predict(coords)
        else:  # HDBSCAN has no predict: the cluster of the nearest sampled point on the map
            from sklearn.neighbors import NearestNeighbors

            if getattr(self, "_map_knn", None) is None:
                self._map_knn = NearestNeighbors(n_neighbors=1).fit(self.embedding_)
            idx = self._map_knn.kneighbors(coords, return_distance=False)[:, 0]
            return self.labels_[idx]
        lut = np.full(int(max(raw.max(initial=0), max(self._relabel, default=0))) + 1, -1)
        for c, i in self._relabel.items():
            lut[c] = i
        return np.where(raw >= 0, lut[np.clip(raw, 0, None)], -1)

    # ---------------------------------------------------------------- predictor

    def _fit_predictor(self, rows: np.ndarray, labels: np.ndarray) -> None:
        predictor = self.predictor
        if predictor == "auto":
            predictor = "forest" if self.clustering == "hdbscan" else "embedding"
        self.predictor_ = predictor
        self._forest = None
        self._knn = None
        self._map_knn = None
        if predictor == "forest":
            from sklearn.ensemble import RandomForestClassifier

            keep = labels >= 0
            self._forest = RandomForestClassifier(
                n_estimators=int(self.n_estimators),
                random_state=self._seed(),
                n_jobs=self.n_jobs,
            ).fit(rows[keep], labels[keep])

    def _predict_rows(self, rows: np.ndarray) -> np.ndarray:
        if self.predictor_ == "forest":
            return self._forest.predict(rows).astype(np.int64)
        if self.predictor_ == "neighbors":
            _, idx = self._neighbors().kneighbors(rows)
            votes = self.labels_[idx]
            k = self.n_clusters_ + 1  # column 0 = noise
            counts = np.zeros((len(rows), k), dtype=np.int64)
            np.add.at(counts, (np.repeat(np.arange(len(rows)), idx.shape[1]), votes.ravel() + 1), 1)
            return counts.argmax(axis=1) - 1
        return self._assign(self._place(rows))

    def _sequence_output(self, seq: _Seq, what: str) -> np.ndarray:
        """Labels ``(T,)`` or coordinates ``(T, n_dims)`` of every frame of a sequence."""
        if seq.rows is None:
            seq.rows = self._frame_rows(seq)
        size = self.bin_frames_
        n = len(seq.rows)
        pieces = _frameshift(seq.rows, seq.valid, size) if size > 1 else [(seq.rows, seq.valid)]
        parts = []
        for rows, ok in pieces:
            if what == "labels":
                out = np.full(len(rows), -1, dtype=np.int64)
                if ok.any():
                    out[ok] = self._predict_rows(rows[ok])
            else:
                out = np.full((len(rows), self.embedding_.shape[1]), np.nan)
                if ok.any():
                    out[ok] = self._place(rows[ok])
            parts.append(out)
        result = _interleave(parts, n, size) if size > 1 else parts[0]
        if what == "labels":
            result[~seq.valid] = -1
        else:
            result[~seq.valid] = np.nan
        return result

    # ---------------------------------------------------------------- outputs

    def _per_session(self, batch: _Batch, what: str) -> list[xr.DataArray]:
        with self._threads():
            return self._per_session_threads(batch, what)

    def _per_session_threads(self, batch: _Batch, what: str) -> list[xr.DataArray]:
        out = []
        total = len(batch.seqs)
        with self._bar(total, "predict" if what == "labels" else "transform") as bar:
            for session in batch.sessions:
                seqs = [s for s in batch.seqs if s.session == session]
                lengths = {len(s.values) for s in seqs}
                if len(lengths) != 1:
                    raise PoseDataError(
                        f"X: the individuals of session {session!r} have different lengths "
                        f"{sorted(lengths)}"
                    )
                values = []
                for s in seqs:
                    values.append(self._sequence_output(s, what))
                    bar.update(1)
                inds = [s.individual for s in seqs]
                attrs: dict[str, Any] = {"source": "behavior_map"}
                if batch.fps is not None:
                    attrs["fps"] = batch.fps
                if what == "labels":
                    da = xr.DataArray(
                        np.stack(values, axis=1),
                        dims=("time", "individual"),
                        coords={"time": seqs[0].time, "individual": inds},
                        name="cluster",
                        attrs={**attrs, "labels": list(self.cluster_names_)},
                    )
                else:
                    da = xr.DataArray(
                        np.stack(values, axis=2),
                        dims=("time", "component", "individual"),
                        coords={
                            "time": seqs[0].time,
                            "component": [f"dim_{j}" for j in range(self.embedding_.shape[1])],
                            "individual": inds,
                        },
                        name="embedding",
                        attrs={**attrs, "method": self.embedding_method_},
                    )
                out.append(da)
        return out

    @staticmethod
    def _shaped(batch: _Batch, values: list[Any]) -> Any:
        if batch.shape == "single":
            return values[0]
        if batch.shape == "dict":
            return dict(zip(batch.sessions, values))
        return values

    def predict_states(self, X: Any) -> Any:
        """Cluster of every frame as integer codes (``-1`` = noise or unusable frame).

        Parameters
        ----------
        X
            Sessions of the same kind as for :meth:`fit`.

        Returns
        -------
        xr.DataArray or list or dict
            Per session, int64 ``(time, individual)`` named ``cluster``, with
            ``attrs["labels"]`` the cluster names; same container as ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.repeat([[0.0], [5.0]], 50, axis=0)
        >>> bmap = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...                    progress=False, random_state=0).fit(X)
        >>> np.unique(bmap.predict_states(X).values).size
        2
        """
        self._check_fitted()
        batch = self._read(X, fitting=False)
        return self._shaped(batch, self._per_session(batch, "labels"))

    def predict(self, X: Any) -> Any:
        """Ethogram of the clusters of every session (exclusive; noise frames have none).

        Parameters
        ----------
        X
            Sessions of the same kind as for :meth:`fit`: one, a list or a dict.

        Returns
        -------
        Ethogram or list or dict of Ethogram
            Behaviors ``cluster_0 ...`` (0 = most frequent in the fitting
            sample), ``attrs["source"] = "behavior_map"``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.repeat([[0.0], [5.0]], 50, axis=0)
        >>> bmap = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...                    progress=False).fit(X)
        >>> bmap.predict(X).behaviors
        ['cluster_0', 'cluster_1']
        """
        self._check_fitted()
        batch = self._read(X, fitting=False)
        return self._shaped(batch, [self._ethogram(s) for s in self._per_session(batch, "labels")])

    def _ethogram(self, states: xr.DataArray):
        from behavior.ethogram import Ethogram

        eth = Ethogram.from_states(states, list(self.cluster_names_))
        eth.attrs["source"] = "behavior_map"
        return eth

    def fit_predict(self, X: Any, y: Any = None) -> Any:
        """:meth:`fit`, then :meth:`predict` of the same sessions (features computed once).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.repeat([[0.0], [5.0]], 50, axis=0)
        >>> BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...             progress=False).fit_predict(X).n_frames
        100
        """
        self._check_params()
        start = _time.perf_counter()
        batch = self._read(X, fitting=True)
        self._fit_batch(batch)
        self.fit_seconds_ = _time.perf_counter() - start
        return self._shaped(batch, [self._ethogram(s) for s in self._per_session(batch, "labels")])

    def transform(self, X: Any) -> Any:
        """Map coordinates of every frame (NaN for unusable frames).

        Parameters
        ----------
        X
            Sessions of the same kind as for :meth:`fit`.

        Returns
        -------
        xr.DataArray or list or dict
            Per session ``(time, component, individual)`` float, components
            ``dim_0, dim_1 ...``.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(100, 4))
        >>> bmap = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...                    progress=False).fit(X)
        >>> bmap.transform(X).shape
        (100, 2, 1)
        """
        self._check_fitted()
        batch = self._read(X, fitting=False)
        return self._shaped(batch, self._per_session(batch, "embedding"))

    def score(self, X: Any, y: Any = None) -> float:
        """How well the clusters separate the frames of ``X`` on the map: a silhouette.

        Every usable frame of ``X`` is placed on the map (:meth:`transform`) and
        given its cluster (:meth:`predict_states`); the score is the mean
        silhouette coefficient of those map coordinates under those clusters
        (scikit-learn's ``silhouette_score``), noise and unusable frames left out
        and at most ``max_samples`` frames drawn (with ``random_state``). It lies
        in ``[-1, 1]``, higher is better, so :class:`~sklearn.model_selection.GridSearchCV`
        can compare maps (``n_clusters``, ``min_cluster_size`` ...) on held-out
        sessions. -1 when fewer than two clusters (or too few frames) are found.

        Parameters
        ----------
        X
            Sessions of the same kind as for :meth:`fit`.
        y
            Ignored (scikit-learn convention).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.repeat([[0.0], [5.0]], 50, axis=0)
        >>> bmap = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...                    progress=False, random_state=0).fit(X)
        >>> round(bmap.score(X), 3)
        1.0
        """
        from sklearn.metrics import silhouette_score

        del y
        self._check_fitted()
        batch = self._read(X, fitting=False)
        coords, labels = [], []
        with self._threads():
            for seq in batch.seqs:
                labels.append(self._sequence_output(seq, "labels"))
                coords.append(self._sequence_output(seq, "embedding"))
        labels = np.concatenate(labels)
        coords = np.concatenate(coords, axis=0)
        keep = (labels >= 0) & np.isfinite(coords).all(axis=1)
        labels, coords = labels[keep], coords[keep]
        if self.max_samples is not None and len(labels) > self.max_samples:
            rng = np.random.default_rng(self.random_state)
            pick = np.sort(rng.choice(len(labels), int(self.max_samples), replace=False))
            labels, coords = labels[pick], coords[pick]
        n_labels = len(np.unique(labels))
        if n_labels < 2 or n_labels >= len(labels):
            return -1.0
        return float(silhouette_score(coords, labels))

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """:meth:`fit`, then :meth:`transform` of the same sessions.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(100, 4))
        >>> BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...             random_state=0, progress=False).fit_transform(X).shape
        (100, 2, 1)
        """
        return self.fit(X, y).transform(X)

    # ---------------------------------------------------------------- results

    def cluster_table(self, X: Any) -> pd.DataFrame:
        """Cluster table of sessions: size, fraction, bouts and example times.

        Parameters
        ----------
        X
            Sessions (predicted first) or the Ethogram(s) of :meth:`predict`.

        Returns
        -------
        pandas.DataFrame
            See :func:`cluster_table`.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.repeat([[0.0], [5.0]], 50, axis=0)
        >>> bmap = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=2,
        ...                    progress=False, fps=10).fit(X)
        >>> bmap.cluster_table(X)["n_frames"].tolist()
        [50, 50]
        """
        from behavior.ethogram import Ethogram

        self._check_fitted()
        if isinstance(X, Ethogram) or (
            isinstance(X, Sequence | Mapping)
            and not isinstance(X, str)
            and len(X) > 0
            and all(isinstance(v, Ethogram) for v in (X.values() if isinstance(X, Mapping) else X))
        ):
            eths = X
        else:
            eths = self.predict(X)
        return cluster_table(eths, clusters=self.cluster_names_)

    def cluster_poses(
        self,
        sessions: Any,
        states: Any = None,
        *,
        anterior: str | Sequence[str] | None = None,
        posterior: str | Sequence[str] | None = None,
    ) -> xr.DataArray:
        """Average egocentric pose of each cluster.

        Parameters
        ----------
        sessions
            Pose Dataset(s) (one, a list or a dict), the sessions the clusters
            were predicted on.
        states
            Their clusters from :meth:`predict_states` (same container); default:
            predicted here (the map must take pose Datasets).
        anterior, posterior
            Keypoint(s) marking the front and back of the body axis, as for
            :class:`~behavior.syllables.preprocess.Preprocessor`; default those of
            the map's own preprocessor or ``feature_options``, else found by name
            (nose / neck and tail base).

        Returns
        -------
        xr.DataArray
            ``(cluster, space, keypoint)``: the mean pose of the frames of each
            cluster in the body frame (centroid at 0, heading along +x; missing
            keypoints imputed as in :class:`~behavior.syllables.preprocess.Preprocessor`),
            with coordinate ``n_frames`` along ``cluster``.

        Raises
        ------
        PoseDataError
            When ``sessions`` are not pose Datasets or ``states`` do not match them.

        Examples
        --------
        >>> import behavior as bh
        >>> ds, _ = bh.simulate.session(kind="single", duration="30 s", seed=0)
        >>> bmap = BehaviorMap(embedding="pca", clustering="kmeans", n_clusters=3,
        ...                    random_state=0, progress=False).fit(ds)
        >>> bmap.cluster_poses(ds).dims
        ('cluster', 'space', 'keypoint')
        """
        from behavior.syllables.preprocess import Preprocessor

        self._check_fitted()
        items, shape = _container(sessions)
        datasets = {}
        for name, ds in items:
            if isinstance(ds, str | os.PathLike):
                from behavior.io.registry import load_poses

                ds = load_poses(ds)
            if not isinstance(ds, xr.Dataset) or "position" not in ds.data_vars:
                raise PoseDataError(
                    f"sessions: expected pose Datasets with a 'position' variable, found "
                    f"{type(ds).__name__} for {name!r}"
                )
            datasets[name] = ds
        if states is None:
            single = next(iter(datasets.values()))
            states = self.predict_states(datasets if shape != "single" else single)
        if isinstance(states, xr.DataArray):
            states = [states]
        states = list(states.values()) if isinstance(states, Mapping) else list(states)
        if len(states) != len(datasets):
            raise PoseDataError(
                f"states: expected one entry per session ({len(datasets)}), found {len(states)}"
            )
        by_session = dict(zip(datasets, states))
        options = dict(self.feature_options or {})
        fitted = getattr(self, "preprocessor_", None)
        axis = {
            "anterior": anterior
            if anterior is not None
            else getattr(fitted, "anterior_", options.get("anterior")),
            "posterior": posterior
            if posterior is not None
            else getattr(fitted, "posterior_", options.get("posterior")),
        }
        pre = Preprocessor(variance=1.0, alignment="axis", **axis).fit(datasets)
        latents = pre.transform(datasets)
        poses = pre.inverse_transform(latents, frame="egocentric")
        n_space, n_kp = len(pre.space_), len(pre.keypoints_)
        sums = np.zeros((self.n_clusters_, n_space, n_kp))
        counts = np.zeros(self.n_clusters_, dtype=np.int64)
        for (session, individual), pose, mask in zip(latents.keys, poses, latents.mask):
            st = by_session[session]
            require_dims(st, "time", "individual", name="states")
            lab = np.asarray(st.sel(individual=individual).values, dtype=np.int64)
            if len(lab) != len(pose):
                raise PoseDataError(
                    f"states of {session!r}: {len(lab)} frames, the poses have {len(pose)}"
                )
            ok = mask & (lab >= 0) & (lab < self.n_clusters_)
            np.add.at(sums, lab[ok], pose[ok])
            counts += np.bincount(lab[ok], minlength=self.n_clusters_)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums / counts[:, None, None]
        return xr.DataArray(
            mean,
            dims=("cluster", "space", "keypoint"),
            coords={
                "cluster": list(self.cluster_names_),
                "space": list(pre.space_),
                "keypoint": list(pre.keypoints_),
                "n_frames": ("cluster", counts),
            },
            name="cluster_pose",
            attrs={"space_unit": pre.space_unit_, "frame": "egocentric"},
        )


# --------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------


def cluster_table(
    ethograms: Any, clusters: Sequence[str] | None = None, n_examples: int = 3
) -> pd.DataFrame:
    """Size, share, bout durations and example times of every cluster.

    Parameters
    ----------
    ethograms
        Exclusive Ethogram(s) of clusters (from :meth:`BehaviorMap.predict`):
        one, a list or a dict by session.
    clusters
        Cluster names and order (default: those of the ethograms).
    n_examples
        Example bouts listed per cluster (the longest ones).

    Returns
    -------
    pandas.DataFrame
        One row per cluster: ``cluster``, ``n_frames``, ``fraction`` (of the
        frames with a cluster), ``n_bouts``, ``mean_bout_s``, ``median_bout_s``
        and ``examples`` (list of ``(session, individual, start, stop)`` of the
        longest bouts, in the time unit of the ethogram).

    Examples
    --------
    >>> import xarray as xr
    >>> from behavior.ethogram import Ethogram
    >>> s = xr.DataArray([[0], [0], [1], [0]], dims=("time", "individual"),
    ...                  coords={"time": [0.0, 0.1, 0.2, 0.3], "individual": ["m"]},
    ...                  attrs={"fps": 10.0})
    >>> cluster_table(Ethogram.from_states(s, ["a", "b"]))[["cluster", "n_frames", "n_bouts"]]
      cluster  n_frames  n_bouts
    0       a         3        2
    1       b         1        1
    """
    from behavior.ethogram import Ethogram

    if isinstance(ethograms, Ethogram):
        named = [("session_0", ethograms)]
    elif isinstance(ethograms, Mapping):
        named = [(str(k), v) for k, v in ethograms.items()]
    else:
        named = [(f"session_{i}", e) for i, e in enumerate(ethograms)]
    for name, eth in named:
        if not isinstance(eth, Ethogram):
            raise PoseDataError(
                f"ethograms: expected Ethogram(s), found {type(eth).__name__} for {name!r}"
            )
    names = (
        list(clusters)
        if clusters is not None
        else list(dict.fromkeys(b for _, e in named for b in e.behaviors))
    )
    frames = dict.fromkeys(names, 0)
    bouts = []
    for name, eth in named:
        counts = eth.labels.values.sum(axis=(0, 2))
        for b, c in zip(eth.behaviors, counts):
            if b in frames:
                frames[b] += int(c)
        table = eth.to_bouts()
        if len(table):
            table = table.assign(session=name)
            bouts.append(table)
    bouts_df = (
        pd.concat(bouts, ignore_index=True)
        if bouts
        else pd.DataFrame(
            columns=["behavior", "duration", "session", "individual", "start", "stop"]
        )
    )
    total = sum(frames.values())
    rows = []
    for b in names:
        mine = bouts_df[bouts_df["behavior"] == b]
        dur = mine["duration"].to_numpy(dtype=np.float64)
        top = mine.sort_values("duration", ascending=False, kind="stable").head(int(n_examples))
        rows.append(
            {
                "cluster": b,
                "n_frames": frames[b],
                "fraction": frames[b] / total if total else 0.0,
                "n_bouts": len(mine),
                "mean_bout_s": float(dur.mean()) if len(dur) else np.nan,
                "median_bout_s": float(np.median(dur)) if len(dur) else np.nan,
                "examples": [
                    (str(r.session), str(r.individual), float(r.start), float(r.stop))
                    for r in top.itertuples()
                ],
            }
        )
    return pd.DataFrame(rows)
