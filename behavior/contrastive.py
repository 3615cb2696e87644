"""Contrastive embeddings of behavior (or neural activity), CEBRA-style, in JAX.

:class:`ContrastiveEncoder` learns a low-dimensional embedding of frames by
contrastive learning, the recipe of CEBRA (Schneider, Lee & Mathis 2023): an
encoder maps a short window of frames to a point on the unit hypersphere, and
it is trained so that a *reference* frame lands closer to its *positive* than
to *negatives* drawn uniformly from the data (the InfoNCE loss, with a
temperature). What makes a positive decides what the embedding keeps:

- ``conditional="time"`` (time-contrastive, no labels): a frame a few frames
  away (up to ``time_offset``) in the same session. The embedding keeps what
  changes slowly and drops frame-to-frame noise.
- ``conditional="behavior"`` (behavior-conditioned): with discrete labels
  (integers), a frame with the same label; with a continuous variable (floats,
  one or several columns: position, speed, heading ...), the frame whose
  variable is nearest to the reference's value plus a Gaussian jitter of
  ``jitter`` standard deviations. The embedding keeps what predicts the variable.
- ``conditional="hybrid"``: both losses at once, with the same references and
  negatives.

Positives never cross a session boundary. ``X`` is whatever is embedded: pose
features ``(frames, features)`` with their own labels or kinematics as ``y``,
or neural activity ``(time bins, neurons)`` with behavior aligned to the same
bins as ``y`` (see :mod:`behavior.decode` for the alignment).

The network
-----------
A 1-D convolution whose kernel spans the ``window`` frames centred on a frame
(edges of a session repeat its first or last frame), GELU, two residual dense
layers of ``hidden`` units with GELU, a linear map to ``output_dimension``, and
a division by the norm: every embedded frame is a unit vector. Training runs
``n_steps`` Adam steps (optax; linear warm-up, cosine decay) on batches of
``batch_size`` references, positives and negatives; the standardised data sit
on the device once and every step gathers its windows there, so a step costs
the same for a minute or an hour of data. Fitted weights are plain numpy arrays
(``params_``); :meth:`ContrastiveEncoder.save` writes one ``.npz`` of arrays with
the hyperparameters as JSON inside, and :meth:`ContrastiveEncoder.load` reads it
without pickle.

Missing values: ``X`` is standardised with the training mean and standard
deviation (NaN ignored), clipped to +-8 and NaN set to 0 (the mean). Frames with
a label of ``-1`` (discrete) or NaN (continuous) are never references or
positives of the behavior loss, but they are negatives and give their windows
context.

An encoder is also a :class:`~behavior.embedding.BehaviorMap` embedding:
``BehaviorMap(embedding=ContrastiveEncoder(...))`` fits a clone of it
time-contrastively on the map's rows (frames or bins of every sequence in time
order) and places new frames with its ``transform``.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from behavior.errors import FileFormatError, NotFittedError, PoseDataError

__all__ = ["ContrastiveEncoder"]

logger = logging.getLogger(__name__)

#: Standardised values are clipped to +-CLIP (a tracking jump should not dominate a batch).
CLIP = 8.0
#: Frames per forward call in :meth:`ContrastiveEncoder.transform` (bounds memory).
TRANSFORM_CHUNK = 2048
#: The ``format`` tag of a saved encoder.
FORMAT = "behavior-contrastive-encoder"
FORMAT_VERSION = 1
_CONDITIONALS = ("auto", "time", "behavior", "hybrid")


class ContrastiveEncoder(TransformerMixin, BaseEstimator):
    """CEBRA-style contrastive encoder: frames to unit vectors, positives by time or behavior.

    Parameters
    ----------
    output_dimension
        Dimensions of the embedding (points on the unit sphere in this space).
    conditional
        What makes a positive: ``"time"`` (a frame within ``time_offset``),
        ``"behavior"`` (same label, or nearest continuous variable), ``"hybrid"``
        (both losses) or ``"auto"`` (``"time"`` without ``y``, else ``"behavior"``).
    time_offset
        Largest distance in frames between a reference and its time positive
        (drawn uniformly from 1 to ``time_offset``, either direction).
    temperature
        InfoNCE temperature: similarities (cosines) are divided by it.
    batch_size
        References (and as many negatives) per step.
    n_steps
        Adam steps; the fit time is proportional to it, not to the data.
    learning_rate
        Peak learning rate (warm-up over the first 5 %, cosine decay to 1 %).
    hidden
        Units of the convolution and the dense layers.
    window
        Frames the encoder sees around each frame (centred, odd); 1: each frame
        alone.
    jitter
        Continuous ``y``: standard deviation of the Gaussian jitter added to the
        reference's (standardised) variable before its nearest frame is taken
        as the positive.
    random_state
        Seed of the initial weights and of the sampled batches; None draws one.
    progress
        Show a tqdm bar over the steps.

    Attributes
    ----------
    n_features_in_ : int
        Columns of ``X``.
    mean_, scale_ : np.ndarray
        Training mean and standard deviation of every column (NaN ignored).
    conditional_ : str
        ``"time"``, ``"behavior"`` or ``"hybrid"``.
    label_kind_ : str or None
        ``"discrete"`` or ``"continuous"`` (None without behavior positives).
    classes_ : np.ndarray or None
        Discrete labels seen in training (``-1`` excluded).
    y_scale_ : np.ndarray or None
        Standard deviation of each continuous ``y`` column.
    params_ : dict of str to np.ndarray
        The network's weights (float32 numpy arrays).
    loss_curve_ : np.ndarray
        Training loss every few steps (for ``"hybrid"``, the sum of both losses).
    fit_seconds_ : float
        Wall time of the training loop.

    Examples
    --------
    Frames driven by a slowly moving angle: the behavior-conditioned embedding
    follows the angle.

    >>> rng = np.random.default_rng(0)
    >>> angle = np.cumsum(rng.normal(0, 0.05, 2000))
    >>> circle = np.column_stack([np.cos(angle), np.sin(angle)])
    >>> X = np.tanh(circle @ rng.normal(size=(2, 20))) + rng.normal(0, 0.3, (2000, 20))
    >>> enc = ContrastiveEncoder(output_dimension=3, n_steps=200, batch_size=128,
    ...                          window=1, random_state=0, progress=False)
    >>> emb = enc.fit(X, circle).transform(X)
    >>> emb.shape, bool(np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5))
    ((2000, 3), True)
    """

    def __init__(
        self,
        output_dimension: int = 8,
        conditional: str = "auto",
        time_offset: int = 10,
        temperature: float = 1.0,
        batch_size: int = 512,
        n_steps: int = 2000,
        learning_rate: float = 3e-3,
        hidden: int = 64,
        window: int = 9,
        jitter: float = 0.1,
        random_state: int | None = None,
        progress: bool = True,
    ) -> None:
        self.output_dimension = output_dimension
        self.conditional = conditional
        self.time_offset = time_offset
        self.temperature = temperature
        self.batch_size = batch_size
        self.n_steps = n_steps
        self.learning_rate = learning_rate
        self.hidden = hidden
        self.window = window
        self.jitter = jitter
        self.random_state = random_state
        self.progress = progress

    def __sklearn_tags__(self) -> Any:
        """scikit-learn tags: NaN allowed in ``X``; random without a ``random_state``."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = self.random_state is None
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> ContrastiveEncoder:
        """Train the encoder on one session or several.

        Parameters
        ----------
        X
            ``(frames, features)`` array, or a list of them (one per session,
            each in time order). NaN allowed.
        y
            None (time-contrastive), or what conditions the positives, aligned
            with ``X`` (a list with one entry per session when ``X`` is a list):
            integer labels ``(frames,)`` (``-1`` unknown) for discrete behavior,
            or floats ``(frames,)`` / ``(frames, n_variables)`` (NaN unknown) for
            continuous variables.

        Returns
        -------
        ContrastiveEncoder
            ``self``, fitted.

        Raises
        ------
        PoseDataError
            A hyperparameter out of range, ``X`` or ``y`` of the wrong shape or
            type, or ``conditional`` asking for behavior without ``y``; the
            message names the argument.

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(300, 4))
        >>> enc = ContrastiveEncoder(n_steps=5, batch_size=32, window=3,
        ...                          random_state=0, progress=False)
        >>> enc.fit(X).conditional_
        'time'
        """
        self._check_params()
        sessions = _check_sessions(X, "X")
        lengths = np.array([len(s) for s in sessions], np.int64)
        n_features = sessions[0].shape[1]
        conditional = self.conditional
        if conditional == "auto":
            conditional = "time" if y is None else "behavior"
        if conditional in ("behavior", "hybrid") and y is None:
            raise PoseDataError(
                f"y: conditional={conditional!r} needs behavior (labels or variables) in y, "
                "found None; pass y, or use conditional='time'"
            )
        if conditional == "time" and y is not None:
            logger.info("ContrastiveEncoder: conditional='time' ignores y")
        stacked = np.concatenate(sessions, axis=0)
        del sessions
        with np.errstate(all="ignore"):
            mean = np.nanmean(stacked, axis=0, dtype=np.float64)
            scale = np.nanstd(stacked, axis=0, dtype=np.float64)
        self.n_features_in_ = n_features
        self.mean_ = np.nan_to_num(mean, nan=0.0).astype(np.float32)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0).astype(np.float32)
        self.conditional_ = conditional
        self.label_kind_ = None
        self.classes_ = None
        self.y_scale_ = None
        Z = self._standardise(stacked)
        del stacked

        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        sampler = _Sampler(lengths, int(self.window), int(self.time_offset))
        if conditional != "time":
            values = _check_y(y, lengths)
            if values.dtype.kind == "f":
                self.label_kind_ = "continuous"
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
                    y_scale = np.nanstd(values, axis=0)
                self.y_scale_ = np.where(np.isfinite(y_scale) & (y_scale > 0), y_scale, 1.0)
                sampler.set_continuous(values / self.y_scale_, float(self.jitter))
            else:
                self.label_kind_ = "discrete"
                self.classes_ = sampler.set_discrete(values)
        net = _network(n_features, int(self.hidden), int(self.window), int(self.output_dimension))
        self.params_, self.loss_curve_, self.fit_seconds_ = _train(net, Z, sampler, rng, seed, self)
        return self

    # ------------------------------------------------------------------ transform
    def transform(self, X: Any) -> np.ndarray | list[np.ndarray]:
        """Embed every frame.

        Parameters
        ----------
        X
            ``(frames, n_features_in_)`` array or a list of them (one per session).

        Returns
        -------
        np.ndarray or list of np.ndarray
            ``(frames, output_dimension)`` float32 unit vectors, one array per
            session when ``X`` is a list.

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(300, 4))
        >>> enc = ContrastiveEncoder(output_dimension=3, n_steps=5, batch_size=32,
        ...                          window=3, random_state=0, progress=False).fit(X)
        >>> [e.shape for e in enc.transform([X[:100], X[100:]])]
        [(100, 3), (200, 3)]
        """
        self._check_fitted("transform")
        sessions = self._check_new(X)
        lengths = np.array([len(s) for s in sessions], np.int64)
        Z = self._standardise(np.concatenate(sessions, axis=0))
        net = _network(
            self.n_features_in_, int(self.hidden), int(self.window), int(self.output_dimension)
        )
        out = _embed(net, self.params_, Z, _Sampler(lengths, int(self.window), 1))
        if isinstance(X, list | tuple):
            return np.split(out, np.cumsum(lengths)[:-1])
        return out

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the InfoNCE loss of the fitted conditional on ``X`` (higher is better).

        The loss is averaged over 8 batches drawn with ``random_state``; only
        comparable between encoders of the same ``batch_size`` and ``temperature``.

        Parameters
        ----------
        X
            As in :meth:`fit`.
        y
            As in :meth:`fit`; needed when the encoder was fit with behavior positives.

        Returns
        -------
        float

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(300, 4))
        >>> enc = ContrastiveEncoder(n_steps=5, batch_size=32, window=3,
        ...                          random_state=0, progress=False).fit(X)
        >>> enc.score(X) < 0
        True
        """
        self._check_fitted("score")
        sessions = self._check_new(X)
        lengths = np.array([len(s) for s in sessions], np.int64)
        Z = self._standardise(np.concatenate(sessions, axis=0))
        sampler = _Sampler(lengths, int(self.window), int(self.time_offset))
        if self.conditional_ != "time":
            if y is None:
                raise PoseDataError(
                    f"y: this encoder was fit with conditional={self.conditional_!r}; "
                    "score needs the same kind of y, found None"
                )
            values = _check_y(y, lengths)
            if self.label_kind_ == "continuous":
                if values.dtype.kind != "f" or values.shape[1] != len(self.y_scale_):
                    raise PoseDataError(
                        f"y: expected {len(self.y_scale_)} continuous column(s) as in fit, "
                        f"found dtype {values.dtype} with {values.shape[1]} column(s)"
                    )
                sampler.set_continuous(values / self.y_scale_, float(self.jitter))
            else:
                sampler.set_discrete(values)
        net = _network(
            self.n_features_in_, int(self.hidden), int(self.window), int(self.output_dimension)
        )
        rng = np.random.default_rng(self.random_state)
        data = _device_rows(Z)
        losses = []
        for _ in range(8):
            batch = sampler.batch(rng, int(self.batch_size), self.conditional_)
            losses.append(float(net.loss(self.params_, data, *batch, np.float32(self.temperature))))
        return -float(np.mean(losses))

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path) -> Path:
        """Write the fitted encoder to one ``.npz`` file, atomically (no pickle).

        The file holds the weights, the standardisation and the loss curve as
        numpy arrays, and the hyperparameters and fitted settings as JSON in
        the array ``meta``.

        Parameters
        ----------
        path
            Destination ending in ``.npz``; its folder must exist.

        Returns
        -------
        Path
            ``path``.

        Examples
        --------
        >>> enc.save("encoder.npz")  # doctest: +SKIP
        """
        from behavior._json import dumps
        from behavior.io.registry import atomic_path

        self._check_fitted("save")
        path = Path(path)
        if path.suffix != ".npz":
            raise PoseDataError(f"path: expected a file name ending in .npz, found {path.name!r}")
        meta = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "params": self.get_params(),
            "n_features_in": int(self.n_features_in_),
            "conditional": self.conditional_,
            "label_kind": self.label_kind_,
            "fit_seconds": float(self.fit_seconds_),
        }
        arrays = {f"param/{k}": v for k, v in self.params_.items()}
        arrays.update(mean=self.mean_, scale=self.scale_, loss_curve=self.loss_curve_)
        if self.classes_ is not None:
            arrays["classes"] = self.classes_
        if self.y_scale_ is not None:
            arrays["y_scale"] = self.y_scale_
        arrays["meta"] = np.array(dumps(meta))

        def verify(tmp: Path) -> None:
            back = type(self).load(tmp)
            for key, value in self.params_.items():
                if not np.array_equal(back.params_[key], value):
                    raise FileFormatError(f"{path}: weight {key} did not read back equal")

        with atomic_path(path, verify=verify) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        logger.debug("saved ContrastiveEncoder to %s", path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> ContrastiveEncoder:
        """Read an encoder written by :meth:`save` (``numpy.load`` without pickle).

        Parameters
        ----------
        path
            A ``.npz`` file written by :meth:`save`.

        Returns
        -------
        ContrastiveEncoder
            Fitted, equal in weights and settings to the one saved.

        Raises
        ------
        FileFormatError
            The file is not an encoder saved by :meth:`save`, or cannot be read.

        Examples
        --------
        >>> enc = ContrastiveEncoder.load("encoder.npz")  # doctest: +SKIP
        """
        path = Path(path)
        expected = f"an encoder saved by ContrastiveEncoder.save (a .npz with a '{FORMAT}' meta)"
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError) as err:
            raise FileFormatError(f"{path}: expected {expected}, cannot be read ({err})") from None
        try:
            meta = json.loads(str(arrays.pop("meta")))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}")
            if int(meta.get("format_version", 0)) > FORMAT_VERSION:
                raise ValueError(f"format_version {meta['format_version']} is newer than this code")
            enc = cls(**meta["params"])
            enc.params_ = {
                k.removeprefix("param/"): v.astype(np.float32)
                for k, v in arrays.items()
                if k.startswith("param/")
            }
            enc.mean_ = arrays["mean"].astype(np.float32)
            enc.scale_ = arrays["scale"].astype(np.float32)
            enc.loss_curve_ = arrays["loss_curve"].astype(np.float32)
            enc.classes_ = arrays.get("classes")
            enc.y_scale_ = arrays.get("y_scale")
            enc.n_features_in_ = int(meta["n_features_in"])
            enc.conditional_ = str(meta["conditional"])
            enc.label_kind_ = meta["label_kind"]
            enc.fit_seconds_ = float(meta["fit_seconds"])
            enc._check_params()
            expected_shapes = _network(
                enc.n_features_in_, int(enc.hidden), int(enc.window), int(enc.output_dimension)
            ).shapes
            found = {k: v.shape for k, v in enc.params_.items()}
            if found != expected_shapes or enc.mean_.shape != (enc.n_features_in_,):
                raise ValueError("weights of the wrong shape for the saved hyperparameters")
        except (KeyError, TypeError, ValueError, PoseDataError) as err:
            raise FileFormatError(f"{path}: expected {expected}, found {err}") from None
        return enc

    # ------------------------------------------------------------------ helpers
    def _standardise(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean_) / self.scale_
        np.clip(Z, -CLIP, CLIP, out=Z)
        return np.nan_to_num(Z, copy=False, nan=0.0).astype(np.float32, copy=False)

    def _check_new(self, X: Any) -> list[np.ndarray]:
        """Sessions of ``X`` checked against the columns seen in fit."""
        sessions = _check_sessions(X, "X")
        for i, s in enumerate(sessions):
            if s.shape[1] != self.n_features_in_:
                name = "X" if not isinstance(X, list | tuple) else f"X[{i}]"
                raise PoseDataError(
                    f"{name} has {s.shape[1]} features, but ContrastiveEncoder is expecting "
                    f"{self.n_features_in_} features as input (as in fit)"
                )
        return sessions

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"this ContrastiveEncoder is not fitted yet: fit(X) before {method}(X)"
            )

    def _check_params(self) -> None:
        def bad(name: str, expected: str) -> PoseDataError:
            return PoseDataError(f"{name}: expected {expected}, found {getattr(self, name)!r}")

        for name in ("output_dimension", "time_offset", "n_steps", "hidden", "window"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise bad(name, "a positive integer")
        if not _is_int(self.batch_size) or self.batch_size < 2:
            raise bad("batch_size", "an integer >= 2")
        if self.window % 2 == 0:
            raise bad("window", "an odd number of frames (centred on the frame)")
        if self.conditional not in _CONDITIONALS:
            raise bad("conditional", f"one of {list(_CONDITIONALS)}")
        for name in ("temperature", "learning_rate"):
            value = getattr(self, name)
            if not _is_number(value) or not value > 0:
                raise bad(name, "a positive number")
        if not _is_number(self.jitter) or self.jitter < 0:
            raise bad("jitter", "a non-negative number")
        if self.random_state is not None and not _is_int(self.random_state):
            raise bad("random_state", "None or an integer")


# ---------------------------------------------------------------------- input checks
def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value: object) -> bool:
    return (_is_int(value) or isinstance(value, float | np.floating)) and math.isfinite(value)


def _check_sessions(X: Any, name: str) -> list[np.ndarray]:
    """One float32 ``(frames, features)`` array per session, checked."""
    items = list(X) if isinstance(X, list | tuple) else [X]
    if not items:
        raise PoseDataError(f"{name}: expected an array or a non-empty list of arrays, found []")
    out = []
    for i, item in enumerate(items):
        label = name if not isinstance(X, list | tuple) else f"{name}[{i}]"
        if hasattr(item, "tocsr") or hasattr(item, "todense"):
            raise PoseDataError(
                f"{label}: sparse input is not supported; pass a dense (frames, features) array"
            )
        try:
            raw = np.asarray(item)
            if raw.dtype.kind == "c":
                raise PoseDataError(f"{label}: Complex data not supported; expected real numbers")
            arr = raw.astype(np.float32)
        except (TypeError, ValueError) as err:
            raise PoseDataError(
                f"{label}: expected a 2-D array of numbers (frames, features), found "
                f"{type(item).__name__} ({err})"
            ) from None
        if arr.ndim != 2:
            raise PoseDataError(
                f"{label}: expected a 2-D array (frames, features), found shape {arr.shape}. "
                "Reshape your data: X.reshape(-1, 1) for one feature; a list of arrays is "
                "one array per session"
            )
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            raise PoseDataError(
                f"{label}: expected at least one frame and one feature, found "
                f"{arr.shape[1]} feature(s) (shape={arr.shape}) while a minimum of 1 is required."
            )
        if np.isinf(arr).any():
            raise PoseDataError(f"{label}: expected finite values or NaN, found infinite values")
        if out and arr.shape[1] != out[0].shape[1]:
            raise PoseDataError(
                f"{label}: expected {out[0].shape[1]} feature columns like {name}[0], "
                f"found {arr.shape[1]}"
            )
        out.append(arr)
    return out


def _check_y(y: Any, lengths: np.ndarray) -> np.ndarray:
    """``y`` of every session stacked: int64 codes ``(n,)`` or float ``(n, k)``."""
    several = len(lengths) > 1 or isinstance(y, list | tuple)
    items = list(y) if isinstance(y, list | tuple) else [y]
    if len(items) != len(lengths):
        raise PoseDataError(
            f"y: expected one entry per session of X ({len(lengths)}), found {len(items)}"
        )
    parts = []
    for i, (item, n) in enumerate(zip(items, lengths)):
        label = f"y[{i}]" if several else "y"
        arr = np.asarray(item)
        if arr.ndim == 0 or arr.ndim > 2 or len(arr) != n:
            raise PoseDataError(
                f"{label}: expected {n} rows (one per frame of X), found shape {arr.shape}"
            )
        if arr.dtype.kind == "f":
            arr = arr.reshape(n, -1).astype(np.float64)
            if np.isinf(arr).any():
                raise PoseDataError(f"{label}: expected finite values or NaN, found infinite ones")
        elif arr.dtype.kind in "iub":
            if arr.ndim != 1:
                raise PoseDataError(
                    f"{label}: expected discrete labels as a 1-D integer array, found shape "
                    f"{arr.shape}; pass floats for continuous variables"
                )
            arr = arr.astype(np.int64)
        else:
            raise PoseDataError(
                f"{label}: Unknown label type: expected integer labels or float variables, "
                f"found dtype {arr.dtype}"
            )
        parts.append(arr)
    kinds = {p.dtype.kind for p in parts}
    if len(kinds) > 1 or len({p.shape[1:] for p in parts}) > 1:
        raise PoseDataError("y: expected the same kind and columns of y in every session")
    return np.concatenate(parts, axis=0)


# ---------------------------------------------------------------------- sampling
class _Sampler:
    """Window rows of references, positives and negatives, never across sessions."""

    def __init__(self, lengths: np.ndarray, window: int, time_offset: int) -> None:
        self.lengths = lengths
        self.starts = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
        self.ends = self.starts + lengths
        self.n = int(lengths.sum())
        self.session = np.repeat(np.arange(len(lengths)), lengths)
        self.offsets = np.arange(window) - window // 2
        self.time_offset = time_offset
        self.time_pool = np.flatnonzero(lengths[self.session] > 1)
        if len(self.time_pool) == 0:
            self.time_pool = np.arange(self.n)
        self.kind = None

    def set_discrete(self, labels: np.ndarray) -> np.ndarray:
        known = labels != -1
        if not known.any():
            raise PoseDataError("y: every label is -1 (unknown); expected some known labels")
        classes = np.unique(labels[known])
        codes = np.searchsorted(classes, labels)
        group = np.where(known, self.session * len(classes) + codes, -1)
        self.pool = np.flatnonzero(known)
        order = self.pool[np.argsort(group[self.pool], kind="stable")]
        counts = np.bincount(group[order], minlength=len(self.lengths) * len(classes))
        self.group_start = np.r_[0, np.cumsum(counts)[:-1]]
        self.group_count = counts
        self.group_order = order
        self.group = group
        self.kind = "discrete"
        return classes

    def set_continuous(self, values: np.ndarray, jitter: float) -> None:
        from scipy.spatial import cKDTree

        known = np.isfinite(values).all(axis=1)
        if not known.any():
            raise PoseDataError("y: every row has NaN; expected some finite values")
        self.values = np.where(known[:, None], values, 0.0)
        self.pool = np.flatnonzero(known)
        self.trees = {}
        for s in np.unique(self.session[self.pool]):
            rows = self.pool[self.session[self.pool] == s]
            self.trees[int(s)] = (cKDTree(self.values[rows]), rows)
        self.jitter = jitter
        self.kind = "continuous"

    def windows(self, rows: np.ndarray) -> np.ndarray:
        """``(len(rows), window)`` row indices centred on ``rows``, edges repeated."""
        s = self.session[rows]
        idx = rows[:, None] + self.offsets
        return np.clip(idx, self.starts[s][:, None], self.ends[s][:, None] - 1).astype(np.int32)

    def time_positives(self, rng: np.random.Generator, ref: np.ndarray) -> np.ndarray:
        s = self.session[ref]
        lo, hi = self.starts[s], self.ends[s]
        step = rng.integers(1, self.time_offset + 1, size=len(ref))
        step = np.where(rng.random(len(ref)) < 0.5, -step, step)
        pos = ref + step
        outside = (pos < lo) | (pos >= hi)
        pos = np.clip(np.where(outside, ref - step, pos), lo, hi - 1)
        # a short session may clip the positive back onto the reference: take a neighbour
        same = pos == ref
        pos[same] = np.where(ref[same] + 1 < hi[same], ref[same] + 1, ref[same] - 1)
        return np.maximum(pos, lo)

    def behavior_positives(self, rng: np.random.Generator, ref: np.ndarray) -> np.ndarray:
        if self.kind == "discrete":
            g = self.group[ref]
            pick = (rng.random(len(ref)) * self.group_count[g]).astype(np.int64)
            return self.group_order[self.group_start[g] + pick]
        target = self.values[ref] + self.jitter * rng.normal(size=(len(ref), self.values.shape[1]))
        pos = np.empty_like(ref)
        s = self.session[ref]
        for session in np.unique(s):
            tree, rows = self.trees[int(session)]
            here = s == session
            _, nearest = tree.query(target[here])
            pos[here] = rows[nearest]
        return pos

    def batch(
        self, rng: np.random.Generator, size: int, conditional: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows of references ``(B, W)``, positives ``(P, B, W)`` and negatives ``(B, W)``."""
        pool = self.time_pool if conditional == "time" else self.pool
        ref = pool[rng.integers(len(pool), size=size)]
        positives = []
        if conditional in ("behavior", "hybrid"):
            positives.append(self.behavior_positives(rng, ref))
        if conditional in ("time", "hybrid"):
            positives.append(self.time_positives(rng, ref))
        neg = rng.integers(self.n, size=size)
        return (
            self.windows(ref),
            np.stack([self.windows(p) for p in positives]),
            self.windows(neg),
        )


# ---------------------------------------------------------------------- the network
def _device_rows(Z: np.ndarray) -> Any:
    """``Z`` on the device, rows padded to a power of two (fewer compiled shapes)."""
    import jax.numpy as jnp

    rows = max(1024, 1 << math.ceil(math.log2(max(len(Z), 1))))
    padded = np.zeros((rows, Z.shape[1]), np.float32)
    padded[: len(Z)] = Z
    return jnp.asarray(padded)


@functools.lru_cache(maxsize=16)
def _network(n_inputs: int, hidden: int, window: int, output_dimension: int) -> SimpleNamespace:
    """Init, loss, training step and forward pass of one architecture, jitted once."""
    import jax
    import jax.numpy as jnp
    import optax

    def apply(params, data, idx):
        """Unit vectors ``(B, output_dimension)`` of the windows ``idx`` ``(B, W)`` of ``data``."""
        x = data[idx]  # (B, W, F)
        h = jax.nn.gelu(jnp.einsum("bwf,wfh->bh", x, params["conv_w"]) + params["conv_b"])
        h = h + jax.nn.gelu(h @ params["dense0_w"] + params["dense0_b"])
        h = h + jax.nn.gelu(h @ params["dense1_w"] + params["dense1_b"])
        z = h @ params["output_w"] + params["output_b"]
        return z * jax.lax.rsqrt(jnp.sum(z * z, axis=-1, keepdims=True) + 1e-12)

    def info_nce(ref, pos, neg, temperature):
        """InfoNCE: the positive among the batch's negatives, cosine / temperature."""
        pos_logit = jnp.sum(ref * pos, axis=-1) / temperature
        neg_logit = ref @ neg.T / temperature
        logits = jnp.concatenate([pos_logit[:, None], neg_logit], axis=1)
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - pos_logit)

    def loss_fn(params, data, ref_idx, pos_idx, neg_idx, temperature):
        ref = apply(params, data, ref_idx)
        neg = apply(params, data, neg_idx)
        total = 0.0
        for k in range(pos_idx.shape[0]):
            total = total + info_nce(ref, apply(params, data, pos_idx[k]), neg, temperature)
        return total

    shapes = {
        "conv_w": (window, n_inputs, hidden),
        "conv_b": (hidden,),
        "dense0_w": (hidden, hidden),
        "dense0_b": (hidden,),
        "dense1_w": (hidden, hidden),
        "dense1_b": (hidden,),
        "output_w": (hidden, output_dimension),
        "output_b": (output_dimension,),
    }

    def init(seed):
        """Initial weights, float32 numpy arrays, from a numpy generator."""
        rng = np.random.default_rng(seed)
        params = {}
        for name, shape in shapes.items():
            if name.endswith("_b"):
                params[name] = np.zeros(shape)
            else:
                fan_in = int(np.prod(shape[:-1]))
                params[name] = rng.normal(size=shape) / math.sqrt(fan_in)
        params["dense0_w"] *= 0.5
        params["dense1_w"] *= 0.5
        return {k: v.astype(np.float32) for k, v in params.items()}

    adam = optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam())

    @jax.jit
    def step(params, opt_state, data, ref_idx, pos_idx, neg_idx, temperature, lr):
        loss, grads = jax.value_and_grad(loss_fn)(
            params, data, ref_idx, pos_idx, neg_idx, temperature
        )
        updates, opt_state = adam.update(grads, opt_state, params)
        params = jax.tree_util.tree_map(lambda p, u: p - lr * u, params, updates)
        return params, opt_state, loss

    return SimpleNamespace(
        init=init,
        shapes=shapes,
        opt_init=jax.jit(adam.init),
        step=step,
        loss=jax.jit(loss_fn),
        forward=jax.jit(apply),
    )


def _learning_rates(peak: float, n_steps: int) -> np.ndarray:
    """float32 learning rate of every step: linear warm-up over 5 %, cosine decay to 1 %.

    Examples
    --------
    >>> lr = _learning_rates(1.0, 100)
    >>> float(lr.max()), bool(lr[0] < lr[5]), round(float(lr[-1]), 2)
    (1.0, True, 0.01)
    """
    import optax

    warm = max(1, n_steps // 20)
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=peak / warm,
        peak_value=peak,
        warmup_steps=warm,
        decay_steps=max(n_steps, warm + 1),
        end_value=0.01 * peak,
    )
    return np.asarray(schedule(np.arange(n_steps)), dtype=np.float32)


def _train(
    net: SimpleNamespace,
    Z: np.ndarray,
    sampler: _Sampler,
    rng: np.random.Generator,
    seed: int,
    est: ContrastiveEncoder,
) -> tuple[dict[str, np.ndarray], np.ndarray, float]:
    from behavior._progress import progress_bar

    t0 = time.perf_counter()
    data = _device_rows(Z)
    params = net.init(seed)
    opt_state = net.opt_init(params)
    n_steps = int(est.n_steps)
    learning_rates = _learning_rates(float(est.learning_rate), n_steps)
    temperature = np.float32(est.temperature)
    conditional = est.conditional_
    losses = []
    every = max(1, n_steps // 100)
    with progress_bar(
        total=n_steps, enabled=bool(est.progress), desc="ContrastiveEncoder fit", unit="step"
    ) as bar:
        for i, lr in enumerate(learning_rates):
            ref, pos, neg = sampler.batch(rng, int(est.batch_size), conditional)
            params, opt_state, loss = net.step(
                params, opt_state, data, ref, pos, neg, temperature, lr
            )
            if i % every == 0 or i == n_steps - 1:
                losses.append(loss)
                if est.progress and i % (every * 10) == 0:
                    bar.set_postfix_str(f"loss {float(loss):.3f}")
            bar.update()
    curve = np.asarray([float(v) for v in losses], np.float32)
    fitted = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    seconds = time.perf_counter() - t0
    logger.info(
        "ContrastiveEncoder: %d frames in %d session(s), conditional %s, %d steps in %.1f s, "
        "final loss %.3f",
        sampler.n,
        len(sampler.lengths),
        conditional,
        n_steps,
        seconds,
        curve[-1],
    )
    return fitted, curve, seconds


def _embed(
    net: SimpleNamespace, params: dict[str, np.ndarray], Z: np.ndarray, sampler: _Sampler
) -> np.ndarray:
    """Embedding of every row of ``Z``, in fixed-shape chunks."""
    data = _device_rows(Z)
    n = len(Z)
    chunk = min(TRANSFORM_CHUNK, max(64, 1 << math.ceil(math.log2(max(n, 1)))))
    out = np.empty((n, len(params["output_b"])), np.float32)
    for a in range(0, n, chunk):
        rows = np.arange(a, min(n, a + chunk))
        idx = sampler.windows(rows)
        if len(rows) < chunk:
            idx = np.concatenate([idx, np.zeros((chunk - len(rows), idx.shape[1]), idx.dtype)])
        out[rows] = np.asarray(net.forward(params, data, idx))[: len(rows)]
    return out


def _warm_up() -> None:
    """Compile the encoder for the small shapes the test suite uses.

    Examples
    --------
    >>> _warm_up()
    """
    X = np.random.default_rng(0).normal(size=(300, 4))
    enc = ContrastiveEncoder(n_steps=2, batch_size=32, window=3, random_state=0, progress=False)
    enc.fit(X).transform(X)
