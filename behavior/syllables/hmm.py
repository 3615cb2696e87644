"""Gaussian hidden Markov model of latent pose trajectories (hmmlearn underneath).

:class:`GaussianHMM` fits one HMM with Gaussian emissions to many sequences at
once (hmmlearn's ``lengths``), with a sticky Dirichlet prior on the transition
matrix, and decodes syllables by Viterbi (or by the most probable state of the
posteriors). It has the same ``fit`` / ``predict`` contract as the AR-HMM
(:mod:`behavior.syllables.arhmm`), so :func:`behavior.syllables.fit` uses
either.

Missing frames
--------------
Frames flagged unusable (``Latents.mask`` False, or rows with NaN in a plain
array) never enter the fit: each sequence is cut at them into usable segments.
When decoding, their values are interpolated (Latents already carry imputed
values) so that the state sequence runs through them, and their label is
then set to **-1** (no syllable).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from behavior.errors import PoseDataError, require_module
from behavior.syllables._common import check_dense_real, median_duration
from behavior.syllables.preprocess import Latents

__all__ = ["GaussianHMM", "as_sequences"]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Input: Latents or arrays
# --------------------------------------------------------------------------------------


def as_sequences(
    x: Latents | np.ndarray | Sequence[np.ndarray],
    mask: np.ndarray | Sequence[np.ndarray] | None = None,
    name: str = "x",
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Sequences ``(T_i, D)`` float64 and their usable-frame masks from any accepted input.

    Parameters
    ----------
    x
        :class:`Latents`, a list of ``(T_i, D)`` arrays, or one array.
    mask
        Usable frames (True), one bool array per sequence (or one array for one
        sequence); default ``Latents.mask``, else every frame without NaN.
        Rows with NaN are never usable.
    name
        How to call ``x`` in error messages.

    Returns
    -------
    (list of ndarray, list of ndarray)
        Data with unusable rows filled by linear interpolation in time (0 when
        a sequence has no usable frame), and the masks.

    Raises
    ------
    PoseDataError
        For arrays that are not 2-D, differ in dimension, or masks that do not
        match.

    Examples
    --------
    >>> import numpy as np
    >>> data, mask = as_sequences(np.array([[0.0], [np.nan], [2.0]]))
    >>> data[0].ravel().tolist(), mask[0].tolist()
    ([0.0, 1.0, 2.0], [True, False, True])
    """
    check_dense_real(x, name)
    if isinstance(x, Latents):
        arrays = list(x.data)
        if mask is None:
            mask = x.mask
    elif isinstance(x, np.ndarray):
        arrays = [x]
    elif isinstance(x, Sequence) and not isinstance(x, str):
        arrays = list(x)
    else:
        raise PoseDataError(
            f"{name}: expected Latents, an array (time, dim) or a list of them, found "
            f"{type(x).__name__}"
        )
    if not arrays:
        raise PoseDataError(f"{name}: expected at least one sequence, found none")
    if mask is not None and isinstance(mask, np.ndarray) and mask.dtype == bool:
        mask = [mask] if mask.ndim == 1 else list(mask)
    if mask is not None and len(mask) != len(arrays):
        raise PoseDataError(
            f"mask: expected one mask per sequence ({len(arrays)}), found {len(mask)}"
        )
    data, masks = [], []
    dim = None
    for i, arr in enumerate(arrays):
        check_dense_real(arr, f"{name}[{i}]")
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or len(arr) == 0:
            raise PoseDataError(
                f"{name}[{i}]: expected a 2-D array (time, dim) with frames, found shape "
                f"{arr.shape}"
            )
        if dim is None:
            dim = arr.shape[1]
        elif arr.shape[1] != dim:
            raise PoseDataError(
                f"{name}[{i}]: expected {dim} dimensions like the first sequence, found "
                f"{arr.shape[1]}"
            )
        ok = np.isfinite(arr).all(axis=1)
        if mask is not None:
            m = np.asarray(mask[i], dtype=bool).reshape(-1)
            if len(m) != len(arr):
                raise PoseDataError(
                    f"mask[{i}]: expected {len(arr)} values like {name}[{i}], found {len(m)}"
                )
            ok &= m
        finite = np.isfinite(arr).all(axis=1)
        if not finite.all():
            arr = arr.copy()
            if finite.any():
                frames = np.arange(len(arr))
                for j in range(arr.shape[1]):
                    arr[~finite, j] = np.interp(frames[~finite], frames[finite], arr[finite, j])
            else:
                arr[:] = 0.0
        data.append(arr)
        masks.append(ok)
    return data, masks


def _segments(mask: np.ndarray, min_length: int = 2) -> list[tuple[int, int]]:
    """``(start, stop)`` of the runs of True of at least ``min_length`` frames."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(s, e) for s, e in zip(edges[::2], edges[1::2]) if e - s >= min_length]


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


class GaussianHMM(BaseEstimator):
    """Sticky Gaussian HMM of latent pose sequences: states are syllables.

    Parameters
    ----------
    n_states
        Number of hidden states. Unlike the AR-HMM's upper bound, EM uses all
        of them, so give about the number of syllables wanted.
    covariance_type
        ``"full"``, ``"diag"``, ``"spherical"`` or ``"tied"`` (hmmlearn).
    velocity
        Append the frame-to-frame change of each latent dimension (per second)
        to the features.
    kappa
        Stickiness: pseudo-counts added to every self-transition of the
        Dirichlet prior on the transition matrix, as a fraction of the frames
        expected per state (``frames / n_states``). 0 is no stickiness; larger
        values give longer syllables. :meth:`fit_kappa` sets it for a target
        duration.
    n_iter, tol
        At most ``n_iter`` EM iterations, stopping when the total training
        log-likelihood gains less than ``tol`` (hmmlearn's convention).
    algorithm
        ``"viterbi"`` (the most probable state sequence) or ``"map"`` (the most
        probable state of each frame from the posteriors).
    min_covar
        Floor on the covariances (features are standardised, so this is a
        fraction of each feature's variance).
    random_state
        Seed of the k-means initialisation (None: a fresh one each fit, as in
        scikit-learn; pass an int for a reproducible fit).
    progress
        Show a progress bar over the EM iterations.

    Attributes
    ----------
    model_ : hmmlearn.hmm.GaussianHMM
        The fitted hmmlearn model (on standardised features).
    feature_mean_, feature_scale_ : ndarray
        Standardisation of the features.
    used_states_ : ndarray of int
        States that label at least one frame of the training sequences.
    n_features_in_ : int
        Latent dimension ``D`` of the input.
    log_likelihood_ : list of float
        Training log-likelihood after each EM iteration.

    Examples
    --------
    >>> import behavior as bh
    >>> from behavior.syllables.preprocess import Preprocessor
    >>> ds, _ = bh.simulate.session(kind="single", duration="30 s", seed=0)
    >>> lat = Preprocessor().fit_transform(ds)
    >>> hmm = GaussianHMM(n_states=4, n_iter=10, random_state=0, progress=False).fit(lat)
    >>> [lab.shape for lab in hmm.predict(lat)]
    [(900,)]
    """

    def __init__(
        self,
        n_states: int = 20,
        covariance_type: str = "full",
        velocity: bool = False,
        kappa: float = 0.2,
        n_iter: int = 50,
        tol: float = 1e-2,
        algorithm: str = "viterbi",
        min_covar: float = 1e-3,
        random_state: int | None = None,
        progress: bool = True,
    ) -> None:
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.velocity = velocity
        self.kappa = kappa
        self.n_iter = n_iter
        self.tol = tol
        self.algorithm = algorithm
        self.min_covar = min_covar
        self.random_state = random_state
        self.progress = progress

    def __sklearn_tags__(self) -> Any:
        """scikit-learn tags: NaN rows are allowed (they are unusable frames, masked)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.random_state is None
        return tags

    # ---------------------------------------------------------------- helpers

    def _check_params(self) -> None:
        k = self.n_states
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise PoseDataError(f"n_states: expected a whole number >= 1, found {k!r}")
        if self.covariance_type not in ("full", "diag", "spherical", "tied"):
            raise PoseDataError(
                "covariance_type: expected 'full', 'diag', 'spherical' or 'tied', found "
                f"{self.covariance_type!r}"
            )
        if not (isinstance(self.kappa, int | float) and math.isfinite(self.kappa)) or (
            self.kappa < 0
        ):
            raise PoseDataError(f"kappa: expected a number >= 0, found {self.kappa!r}")
        if self.algorithm not in ("viterbi", "map"):
            raise PoseDataError(f"algorithm: expected 'viterbi' or 'map', found {self.algorithm!r}")
        if isinstance(self.n_iter, bool) or not isinstance(self.n_iter, int) or self.n_iter < 1:
            raise PoseDataError(f"n_iter: expected a whole number >= 1, found {self.n_iter!r}")

    def _features(self, data: list[np.ndarray]) -> list[np.ndarray]:
        if not self.velocity:
            return data
        out = []
        for arr in data:
            vel = np.gradient(arr, axis=0) if len(arr) > 1 else np.zeros_like(arr)
            out.append(np.concatenate([arr, vel], axis=1))
        return out

    def _standardised(self, feats: list[np.ndarray]) -> list[np.ndarray]:
        return [(f - self.feature_mean_) / self.feature_scale_ for f in feats]

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            from behavior.errors import NotFittedError

            raise NotFittedError("GaussianHMM: not fitted yet; call fit(X) first")

    def _prior(self, n_frames: int) -> np.ndarray:
        k = int(self.n_states)
        return 1.0 + np.eye(k) * float(self.kappa) * n_frames / k

    # ---------------------------------------------------------------- fit

    def fit(
        self,
        X: Latents | np.ndarray | Sequence[np.ndarray],
        y: Any = None,
        *,
        mask: np.ndarray | Sequence[np.ndarray] | None = None,
    ) -> GaussianHMM:
        """Fit the HMM by EM to every usable segment of every sequence.

        Parameters
        ----------
        X
            :class:`~behavior.syllables.preprocess.Latents`, a list of
            ``(T_i, D)`` arrays, or one array.
        y
            Ignored (scikit-learn convention).
        mask
            Usable frames per sequence (default ``Latents.mask``, else rows
            without NaN). Sequences are cut at unusable frames.

        Returns
        -------
        GaussianHMM
            ``self``, fitted.

        Raises
        ------
        PoseDataError
            For bad parameters or inputs, or fewer usable frames than states.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = np.r_[np.zeros((50, 1)), np.ones((50, 1))] + rng.normal(0, 0.1, (100, 1))
        >>> GaussianHMM(n_states=2, random_state=0, progress=False).fit(x).used_states_.tolist()
        [0, 1]
        """
        del y
        self._check_params()
        hmm = require_module("hmmlearn.hmm", "core", "GaussianHMM")
        data, masks = as_sequences(X, mask, name="X")
        self.n_features_in_ = int(data[0].shape[1])
        feats = self._features(data)
        pieces = [f[s:e] for f, m in zip(feats, masks) for s, e in _segments(m)]
        n_frames = sum(len(p) for p in pieces)
        if n_frames < max(2, int(self.n_states)):
            raise PoseDataError(
                f"X: expected at least {max(2, int(self.n_states))} usable frames in segments of "
                f"2 or more frames to fit {self.n_states} states, found {n_frames} "
                f"(n_samples={sum(len(d) for d in data)} in all)"
            )
        stacked = np.concatenate(pieces)
        self.feature_mean_ = stacked.mean(axis=0)
        scale = stacked.std(axis=0)
        self.feature_scale_ = np.where(scale > 0, scale, 1.0)
        X = (stacked - self.feature_mean_) / self.feature_scale_
        lengths = [len(p) for p in pieces]
        model = hmm.GaussianHMM(
            n_components=int(self.n_states),
            covariance_type=self.covariance_type,
            min_covar=float(self.min_covar),
            transmat_prior=self._prior(n_frames),
            algorithm=self.algorithm,
            random_state=self.random_state,
            n_iter=1,
            tol=0.0,
            params="stmc",
            init_params="stmc",
        )
        self.log_likelihood_ = []
        bar = _progress(int(self.n_iter), self.progress, "GaussianHMM EM")
        try:
            for it in range(int(self.n_iter)):
                _quiet_fit(model, X, lengths)
                model.init_params = ""
                score = float(model.monitor_.history[-1])
                self.log_likelihood_.append(score)
                bar.update(1)
                if it and abs(score - self.log_likelihood_[-2]) < float(self.tol):
                    break
        finally:
            bar.close()
        self.model_ = model
        self.n_frames_fit_ = n_frames
        labels = self._decode(feats, masks)
        used = np.unique(np.concatenate(labels))
        self.used_states_ = used[used >= 0]
        logger.info(
            "GaussianHMM: %d states (%d used) on %d frames in %d segments, %d EM iterations",
            self.n_states,
            len(self.used_states_),
            n_frames,
            len(pieces),
            len(self.log_likelihood_),
        )
        return self

    # ---------------------------------------------------------------- decode

    def _decode(self, feats: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        out = []
        with _single_threaded():
            for f, m in zip(feats, masks):
                z = (f - self.feature_mean_) / self.feature_scale_
                labels = self.model_.predict(z).astype(np.int64)
                labels[~m] = -1
                out.append(labels)
        return out

    def predict(
        self,
        X: Latents | np.ndarray | Sequence[np.ndarray],
        *,
        mask: np.ndarray | Sequence[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Syllable labels of each sequence (Viterbi or posterior argmax).

        Parameters
        ----------
        X, mask
            As in :meth:`fit`; the dimension must match the training data.

        Returns
        -------
        list of ndarray
            int64 labels ``(T_i,)`` per sequence; -1 on unusable frames (the
            decoding runs through them on interpolated values).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = np.r_[np.zeros((50, 1)), np.ones((50, 1))] + rng.normal(0, 0.1, (100, 1))
        >>> hmm = GaussianHMM(n_states=2, random_state=0, progress=False).fit(x)
        >>> len(np.unique(hmm.predict(x)[0]))
        2
        """
        self._check_fitted()
        data, masks = as_sequences(X, mask, name="X")
        self._check_dim(data)
        return self._decode(self._features(data), masks)

    def fit_predict(
        self,
        X: Latents | np.ndarray | Sequence[np.ndarray],
        y: Any = None,
        *,
        mask: np.ndarray | Sequence[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """:meth:`fit`, then :meth:`predict` of the same sequences (the same value).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = np.r_[np.zeros((50, 1)), np.ones((50, 1))] + rng.normal(0, 0.1, (100, 1))
        >>> hmm = GaussianHMM(n_states=2, random_state=0, progress=False)
        >>> [z.shape for z in hmm.fit_predict(x)]
        [(100,)]
        """
        return self.fit(X, y, mask=mask).predict(X, mask=mask)

    def predict_proba(
        self,
        X: Latents | np.ndarray | Sequence[np.ndarray],
        *,
        mask: np.ndarray | Sequence[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """Posterior state probabilities ``(T_i, n_states)`` per sequence (NaN on unusable frames).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = np.r_[np.zeros((50, 1)), np.ones((50, 1))] + rng.normal(0, 0.1, (100, 1))
        >>> p = GaussianHMM(n_states=2, random_state=0, progress=False).fit(x).predict_proba(x)[0]
        >>> bool(np.allclose(p.sum(axis=1), 1))
        True
        """
        self._check_fitted()
        data, masks = as_sequences(X, mask, name="X")
        self._check_dim(data)
        out = []
        with _single_threaded():
            for f, m in zip(self._standardised(self._features(data)), masks):
                proba = self.model_.predict_proba(f)
                proba[~m] = np.nan
                out.append(proba)
        return out

    def score(
        self,
        X: Latents | np.ndarray | Sequence[np.ndarray],
        y: Any = None,
        *,
        mask: np.ndarray | Sequence[np.ndarray] | None = None,
    ) -> float:
        """Log-likelihood per frame of the usable segments of ``X`` (standardised features).

        The total log-likelihood of every usable segment (of 2 frames or more)
        divided by its number of frames, so that sequences of any length compare
        and :class:`~sklearn.model_selection.GridSearchCV` can rank models (higher
        is better). NaN when ``X`` has no usable segment.

        Parameters
        ----------
        X, mask
            As in :meth:`fit`.
        y
            Ignored (scikit-learn convention).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = np.r_[np.zeros((50, 1)), np.ones((50, 1))] + rng.normal(0, 0.1, (100, 1))
        >>> hmm = GaussianHMM(n_states=2, random_state=0, progress=False).fit(x)
        >>> bool(np.isfinite(hmm.score(x)))
        True
        """
        del y
        self._check_fitted()
        data, masks = as_sequences(X, mask, name="X")
        self._check_dim(data)
        feats = self._standardised(self._features(data))
        pieces = [f[s:e] for f, m in zip(feats, masks) for s, e in _segments(m)]
        if not pieces:
            return float("nan")
        lengths = [len(p) for p in pieces]
        with _single_threaded():
            total = float(self.model_.score(np.concatenate(pieces), lengths))
        return total / sum(lengths)

    def _check_dim(self, data: list[np.ndarray]) -> None:
        if data[0].shape[1] != self.n_features_in_:
            raise PoseDataError(
                f"X: expected {self.n_features_in_} latent dimensions as in fit, found "
                f"{data[0].shape[1]} (X has {data[0].shape[1]} features, but GaussianHMM is "
                f"expecting {self.n_features_in_} features as input)"
            )

    # ---------------------------------------------------------------- stickiness

    def fit_kappa(
        self,
        X: Latents | np.ndarray | Sequence[np.ndarray],
        target_duration: float | str = "0.4 s",
        fps: float | None = None,
        *,
        mask: np.ndarray | Sequence[np.ndarray] | None = None,
        tolerance: float = 0.15,
        max_fits: int = 8,
        max_frames: int = 18_000,
    ) -> float:
        """Set :attr:`kappa` so that the median syllable lasts about ``target_duration``.

        Short fits (at most 20 EM iterations, on at most ``max_frames`` frames of
        ``x``) are run for a sequence of ``kappa`` values, growing by factors of 4
        until the median duration of the decoded syllables (taken over syllables,
        ``median_duration(..., per="syllable")`` of ``behavior.syllables._common``;
        the AR-HMM takes it over frames) reaches the target, then
        bisected on a log scale, until the median is within ``tolerance``
        (relative) of the target or ``max_fits`` fits have run. The model itself
        is left unfitted: call :meth:`fit` afterwards.

        Parameters
        ----------
        X, mask
            As in :meth:`fit`.
        target_duration
            Seconds or text (``"0.4 s"``).
        fps
            Frames per second; default ``x.fps`` for Latents.
        tolerance
            Relative tolerance on the median duration.
        max_fits
            Most short fits to run.
        max_frames
            Most frames used by the short fits (the first ones of the sequences).

        Returns
        -------
        float
            The calibrated ``kappa`` (also set on the model): the value whose
            median duration came closest to the target.

        Raises
        ------
        PoseDataError
            When the frame rate is unknown or the target is not positive.

        Examples
        --------
        >>> import behavior as bh
        >>> from behavior.syllables.preprocess import Preprocessor
        >>> ds, _ = bh.simulate.session(kind="single", duration="60 s", seed=0)
        >>> lat = Preprocessor().fit_transform(ds)
        >>> hmm = GaussianHMM(n_states=6, n_iter=10, random_state=0, progress=False)
        >>> hmm.fit_kappa(lat, "0.5 s") > 0
        True
        """
        from sklearn.base import clone

        from behavior.units import to_seconds

        if fps is None:
            fps = X.fps if isinstance(X, Latents) else None
        if fps is None or not float(fps) > 0:
            raise PoseDataError(
                f"fps: expected the frame rate to convert target_duration, found {fps!r}"
            )
        seconds = to_seconds(target_duration, name="target_duration")
        if not seconds > 0:
            raise PoseDataError(
                f"target_duration: expected a positive duration, found {target_duration!r}"
            )
        target = seconds * float(fps)
        data, masks = as_sequences(X, mask, name="X")
        sub, sub_masks, left = [], [], int(max_frames)
        for arr, m in zip(data, masks):
            if left <= 0:
                break
            sub.append(arr[:left])
            sub_masks.append(m[:left])
            left -= len(sub[-1])
        probe = clone(self).set_params(n_iter=min(int(self.n_iter), 20), progress=False)
        tried: dict[float, float] = {}

        def median_at(kappa: float) -> float:
            probe.set_params(kappa=kappa).fit(sub, mask=sub_masks)
            tried[kappa] = median_duration(probe.predict(sub, mask=sub_masks), per="syllable")
            logger.debug("fit_kappa: kappa=%.4g -> median %.1f frames", kappa, tried[kappa])
            return tried[kappa]

        def close_enough() -> bool:
            return any(abs(d - target) <= tolerance * target for d in tried.values())

        lo, hi = 0.0, None
        kappa = max(float(self.kappa), 0.05)
        while len(tried) < max_fits and not close_enough():
            if median_at(kappa) < target:
                lo = kappa
                if hi is None:
                    kappa *= 4
                    continue
            else:
                hi = kappa
            if hi is None:
                continue
            kappa = math.sqrt(lo * hi) if lo > 0 else hi / 4
        # durations are whole (or half) frames: among equally close medians take the
        # smallest kappa (past a point, stickiness no longer lengthens the syllables)
        best = min(tried, key=lambda k: (round(abs(tried[k] - target)), k))
        if not close_enough():
            logger.warning(
                "GaussianHMM.fit_kappa: the median duration came no closer than %.1f frames to "
                "the target of %.1f frames after %d fits; kappa=%.4g",
                tried[best],
                target,
                len(tried),
                best,
            )
        self.kappa = float(best)
        logger.info(
            "GaussianHMM.fit_kappa: kappa=%.4g gives a median of %.1f frames (target %.1f)",
            best,
            tried[best],
            target,
        )
        return self.kappa


# --------------------------------------------------------------------------------------
# hmmlearn plumbing
# --------------------------------------------------------------------------------------


def _single_threaded() -> Any:
    """Hold BLAS and OpenMP to one thread.

    hmmlearn works on many small matrices (one Cholesky per state, k-means on a
    few dimensions), for which extra threads only add overhead: with the cores
    busy, k-means and the likelihoods run 15 to 100 times slower threaded.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _quiet_fit(model: Any, X: np.ndarray, lengths: list[int]) -> None:
    """One EM step of hmmlearn, single-threaded, without its convergence chatter."""
    hmm_logger = logging.getLogger("hmmlearn.base")
    level = hmm_logger.level
    hmm_logger.setLevel(logging.ERROR)
    try:
        with _single_threaded():
            model.fit(X, lengths)
    finally:
        hmm_logger.setLevel(level)


def _progress(total: int, enabled: bool, desc: str) -> Any:
    from behavior._progress import progress_bar

    return progress_bar(enabled=enabled, total=total, desc=desc, leave=False)
