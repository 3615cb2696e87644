"""A small temporal convolutional network for per-frame behavior, in JAX.

:class:`TemporalConvClassifier` labels every frame from the features of the
frames around it, past and future: the CalMS21 baseline's design, a 1-D
convolution over a few seconds of per-frame features. It is a plain-array
scikit-learn classifier: rows are frames in time order, ``segments`` says which
rows form one contiguous recording (one session and individual), and no window
ever reaches across a segment boundary.

The network
-----------
A per-frame linear projection of the standardised features to ``hidden``
channels, then ``n_layers`` residual blocks (layer norm, a centred dilated 1-D
convolution, GELU, dropout), a final layer norm and per-frame softmax logits.
Dilations grow by ``dilation_growth`` per layer and the kernel is the smallest
odd size whose receptive field covers ``window`` frames (``receptive_field_``).
Convolutions are "valid": a frame's output depends on exactly the
``receptive_field_`` frames centred on it, with the first and last frame of its
segment repeated beyond the segment's ends. Training and prediction compute the
same function, so training on crops and predicting whole segments agree.

Training runs ``n_steps`` AdamW steps (optax; warm-up then cosine decay, global
norm clipping) on batches of ``batch_size`` random crops of about two
receptive fields, cross-entropy over the frames whose label is known
(class-weighted with ``class_weight="balanced"``). Every batch has the same
shape, so the step is compiled once per architecture. Fitted parameters are
plain numpy arrays (``params_``): a model saves with skops, no JAX arrays or pickle.

Missing data
------------
- Rows labelled ``-1`` (or with ``sample_weight`` 0) are context only: they
  feed the windows of their neighbours but are never trained on.
- NaN features are standardised with the training mean and standard deviation
  (``mean_``, ``scale_``), then set to 0; with ``missing_indicator=True`` every
  feature that had NaN in training gets an extra 0/1 channel saying so.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from behavior.errors import PoseDataError

__all__ = ["TemporalConvClassifier"]

logger = logging.getLogger(__name__)

# Standardised features are clipped to +-CLIP (a tracking jump should not dominate a batch).
CLIP = 8.0
# Frames per prediction call (chunks x chunk length), which bounds memory.
PREDICT_FRAMES = 16384
# Longest prediction chunk (output frames).
MAX_CHUNK = 4096


class TemporalConvClassifier(ClassifierMixin, BaseEstimator):
    """Per-frame classifier: a dilated 1-D convolution over the surrounding frames.

    Parameters
    ----------
    window
        Frames of context the network sees around each frame (past and future
        together, centred); the receptive field is the smallest odd size that
        covers it (``receptive_field_``). 161 frames is 5.4 s at 30 fps.
    hidden
        Channels of every convolution.
    n_layers
        Residual convolution blocks.
    dilation_growth
        Dilation of layer ``i`` is ``dilation_growth ** i``; 1 gives plain
        (undilated) convolutions with a wider kernel.
    dropout
        Dropout rate after every block while training.
    learning_rate
        Peak AdamW learning rate (linear warm-up, then cosine decay to 1 %).
    weight_decay
        AdamW decoupled weight decay.
    n_steps
        Optimisation steps; the fit time is proportional to it and does not
        grow with the number of rows.
    batch_size
        Random crops per step (each about two receptive fields long).
    class_weight
        ``"balanced"`` weighs each class by the inverse of its frequency among
        the known rows; None weighs every row alike (on the two-rat
        development data, balanced weights lowered every class's frame F1).
    missing_indicator
        Add a 0/1 channel for every feature that had NaN in training.
    random_state
        Seed of the initial weights, the crops and dropout; None draws one.
    progress
        Show a tqdm bar over the training steps.

    Attributes
    ----------
    classes_ : np.ndarray
        The class labels, sorted (``-1`` is never a class: it marks unknown rows).
    n_features_in_ : int
        Feature columns of ``X``.
    mean_, scale_ : np.ndarray
        Training mean and standard deviation of every feature (NaN ignored).
    missing_columns_ : np.ndarray
        Indices of the features that get a missing-indicator channel.
    kernel_size_, receptive_field_ : int
        Convolution kernel size and the frames each output depends on.
    dilations_ : np.ndarray
        Dilation of every layer.
    params_ : dict of str to np.ndarray
        The network's weights (float32 numpy arrays).
    loss_curve_ : np.ndarray
        Training loss every few steps.

    Examples
    --------
    The label of a frame depends on the frames around it:

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 4)).astype(np.float32)
    >>> y = (np.convolve(X[:, 0], np.ones(5) / 5, mode="same") > 0).astype(int)
    >>> clf = TemporalConvClassifier(window=9, hidden=8, n_layers=2, n_steps=60,
    ...                              batch_size=4, random_state=0, progress=False)
    >>> clf.fit(X, y, segments=np.repeat([0, 1], 200)).predict_proba(X).shape
    (400, 2)
    """

    def __init__(
        self,
        window: int = 161,
        hidden: int = 64,
        n_layers: int = 4,
        dilation_growth: int = 3,
        dropout: float = 0.1,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-4,
        n_steps: int = 600,
        batch_size: int = 16,
        class_weight: str | None = None,
        missing_indicator: bool = True,
        random_state: int | None = None,
        progress: bool = True,
    ) -> None:
        self.window = window
        self.hidden = hidden
        self.n_layers = n_layers
        self.dilation_growth = dilation_growth
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.missing_indicator = missing_indicator
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any,
        *,
        segments: Any = None,
        sample_weight: Any = None,
    ) -> TemporalConvClassifier:
        """Learn the network from rows in time order.

        Parameters
        ----------
        X
            Features ``(n_rows, n_features)``, rows in time order within each
            segment; NaN allowed (see the module notes).
        y
            Integer class label of every row; ``-1`` marks a row whose label is
            unknown (context, not trained on).
        segments
            ``(n_rows,)`` id of the contiguous recording each row belongs to;
            the rows of one segment are consecutive. None: one segment.
        sample_weight
            ``(n_rows,)`` non-negative weight of every row (0: not trained on).

        Returns
        -------
        TemporalConvClassifier
            ``self``, fitted.

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
        >>> clf = TemporalConvClassifier(window=9, hidden=8, n_layers=2, n_steps=5,
        ...                              batch_size=4, random_state=0, progress=False)
        >>> clf.fit(X, (X[:, 0] > 0).astype(int)).classes_
        array([0, 1])
        """
        self._check_params()
        X = _check_X(X, "X")
        n = len(X)
        y = _check_y(y, n)
        starts, ends = _segment_bounds(segments, n)
        weight = _check_sample_weight(sample_weight, n)
        known = (y != -1) & (weight > 0)
        classes = np.unique(y[y != -1])
        if len(np.unique(y[known])) < 2:
            raise PoseDataError(
                "y: expected at least 2 classes among the rows with a known label "
                f"(label != -1 and sample_weight > 0), found {np.unique(y[known]).tolist()}"
            )
        codes = np.searchsorted(classes, np.where(y == -1, classes[0], y)).astype(np.int32)
        row_weight = np.where(known, weight, 0.0)
        if self.class_weight == "balanced":
            mass = np.bincount(codes[known], weights=row_weight[known], minlength=len(classes))
            per_class = np.where(
                mass > 0, row_weight[known].sum() / (len(classes) * np.maximum(mass, 1e-12)), 0.0
            )
            row_weight = row_weight * per_class[codes]
        row_weight = row_weight.astype(np.float32)

        self.n_features_in_ = X.shape[1]
        self.classes_ = classes
        with np.errstate(all="ignore"):
            mean = np.nanmean(X, axis=0, dtype=np.float64)
            scale = np.nanstd(X, axis=0, dtype=np.float64)
        self.mean_ = np.nan_to_num(mean, nan=0.0).astype(np.float32)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0).astype(np.float32)
        if self.missing_indicator:
            self.missing_columns_ = np.flatnonzero(np.isnan(X).any(axis=0)).astype(np.int64)
        else:
            self.missing_columns_ = np.zeros(0, np.int64)
        Z = self._standardise(X)
        del X

        kernel, dilations = _architecture(self.window, self.n_layers, self.dilation_growth)
        self.kernel_size_ = kernel
        self.dilations_ = np.asarray(dilations, np.int64)
        self.receptive_field_ = 1 + (kernel - 1) * int(sum(dilations))
        net = _network(Z.shape[1], int(self.hidden), kernel, tuple(dilations), len(classes))

        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        crop = _crop_length(self.receptive_field_)
        sampler = _CropSampler(starts, ends, known, crop, self.receptive_field_ // 2)
        self.params_, self.loss_curve_ = _train(
            net, Z, codes, row_weight, sampler, rng, seed, self, len(classes)
        )
        return self

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: Any, *, segments: Any = None) -> np.ndarray:
        """Class probabilities of every row.

        Parameters
        ----------
        X
            Features ``(n_rows, n_features_in_)`` in time order within each segment.
        segments
            ``(n_rows,)`` segment id of every row (see :meth:`fit`); None: one segment.

        Returns
        -------
        np.ndarray
            ``(n_rows, len(classes_))`` float32 probabilities, columns in
            ``classes_`` order, each row summing to 1.

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
        >>> clf = TemporalConvClassifier(window=9, hidden=8, n_layers=2, n_steps=5,
        ...                              batch_size=4, random_state=0, progress=False)
        >>> p = clf.fit(X, (X[:, 0] > 0).astype(int)).predict_proba(X)
        >>> bool(np.allclose(p.sum(axis=1), 1, atol=1e-5))
        True
        """
        self._check_fitted("predict_proba")
        X = _check_X(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise PoseDataError(
                f"X: expected {self.n_features_in_} feature columns (as in fit), found {X.shape[1]}"
            )
        starts, ends = _segment_bounds(segments, len(X))
        Z = self._standardise(X)
        net = _network(
            Z.shape[1],
            int(self.hidden),
            self.kernel_size_,
            tuple(int(d) for d in self.dilations_),
            len(self.classes_),
        )
        return _predict(net, self.params_, Z, starts, ends, self.receptive_field_ // 2)

    def predict(self, X: Any, *, segments: Any = None) -> np.ndarray:
        """The most probable class of every row.

        Parameters
        ----------
        X
            Features ``(n_rows, n_features_in_)`` in time order within each segment.
        segments
            ``(n_rows,)`` segment id of every row; None: one segment.

        Returns
        -------
        np.ndarray
            ``(n_rows,)`` labels from ``classes_``.

        Examples
        --------
        >>> X = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
        >>> clf = TemporalConvClassifier(window=9, hidden=8, n_layers=2, n_steps=5,
        ...                              batch_size=4, random_state=0, progress=False)
        >>> clf.fit(X, (X[:, 0] > 0).astype(int)).predict(X).shape
        (400,)
        """
        self._check_fitted("predict")
        return self.classes_[np.argmax(self.predict_proba(X, segments=segments), axis=1)]

    # ------------------------------------------------------------------ helpers
    def _standardise(self, X: np.ndarray) -> np.ndarray:
        """Standardised, clipped, NaN-free features plus the missing-indicator channels."""
        Z = np.empty((len(X), X.shape[1] + len(self.missing_columns_)), np.float32)
        core = Z[:, : X.shape[1]]
        np.subtract(X, self.mean_, out=core)
        np.divide(core, self.scale_, out=core)
        np.clip(core, -CLIP, CLIP, out=core)
        if len(self.missing_columns_):
            Z[:, X.shape[1] :] = np.isnan(X[:, self.missing_columns_])
        np.nan_to_num(core, copy=False, nan=0.0)
        return Z

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "params_"):
            from behavior.errors import NotFittedError

            raise NotFittedError(
                f"this TemporalConvClassifier is not fitted yet: fit(X, y) before {method}(X)"
            )

    def _check_params(self) -> None:
        def bad(name: str, expected: str) -> PoseDataError:
            return PoseDataError(f"{name}: expected {expected}, found {getattr(self, name)!r}")

        for name in ("window", "hidden", "n_layers", "dilation_growth", "n_steps", "batch_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise bad(name, "a positive integer")
        if not _is_number(self.dropout) or not 0 <= self.dropout < 1:
            raise bad("dropout", "a number in [0, 1)")
        if not _is_number(self.learning_rate) or not self.learning_rate > 0:
            raise bad("learning_rate", "a positive number")
        if not _is_number(self.weight_decay) or not self.weight_decay >= 0:
            raise bad("weight_decay", "a non-negative number")
        if self.class_weight not in ("balanced", None):
            raise bad("class_weight", "'balanced' or None")
        if not isinstance(self.missing_indicator, (bool, np.bool_)):
            raise bad("missing_indicator", "True or False")
        if self.random_state is not None and not _is_int(self.random_state):
            raise bad("random_state", "None or an integer")


# ---------------------------------------------------------------------- input checks
def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: object) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and math.isfinite(value)


def _check_X(X: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise PoseDataError(
            f"{name}: expected a 2-D array of numbers, found {type(X).__name__} ({err})"
        ) from None
    if arr.ndim != 2:
        raise PoseDataError(
            f"{name}: expected a 2-D array (n_rows, n_features), found shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise PoseDataError(
            f"{name}: expected at least one row and one feature, found shape {arr.shape}"
        )
    if np.isinf(arr).any():
        raise PoseDataError(
            f"{name}: expected finite values or NaN (missing), found infinite values"
        )
    return arr


def _check_y(y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise PoseDataError(
            f"y: expected a 1-D array of {n} labels (one per row of X), found shape {arr.shape}"
        )
    if arr.dtype.kind in "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise PoseDataError(
                "y: expected integer class labels (-1 for unknown), found non-integer values"
            )
    elif arr.dtype.kind not in "iub":
        raise PoseDataError(
            f"y: expected integer class labels (-1 for unknown), found dtype {arr.dtype}"
        )
    return arr.astype(np.int64)


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    try:
        arr = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise PoseDataError("sample_weight: expected a 1-D array of non-negative numbers") from None
    if arr.shape != (n,):
        raise PoseDataError(
            f"sample_weight: expected shape ({n},) (one per row of X), found {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise PoseDataError(
            "sample_weight: expected finite non-negative numbers, "
            "found negative or non-finite values"
        )
    return arr


def _segment_bounds(segments: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) row of every segment, refusing ids that come back."""
    if segments is None:
        return np.array([0]), np.array([n])
    arr = np.asarray(segments)
    if arr.shape != (n,):
        raise PoseDataError(
            f"segments: expected shape ({n},) (one id per row of X), found {arr.shape}"
        )
    change = np.flatnonzero(arr[1:] != arr[:-1]) + 1
    starts = np.r_[0, change]
    ids = arr[starts]
    unique, counts = np.unique(ids, return_counts=True)
    if np.any(counts > 1):
        again = unique[counts > 1][0]
        raise PoseDataError(
            f"segments: expected the rows of each segment to be consecutive, found segment "
            f"{again!r} in {counts[counts > 1][0]} separate runs of rows"
        )
    return starts, np.r_[change, n]


# ---------------------------------------------------------------------- architecture
def _architecture(window: int, n_layers: int, growth: int) -> tuple[int, list[int]]:
    """Odd kernel size and per-layer dilations whose receptive field covers ``window``."""
    dilations = [int(growth) ** i for i in range(int(n_layers))]
    reach = max(int(window) - 1, 0)  # frames beyond the centre, both sides together
    half = math.ceil(reach / (2 * sum(dilations)))
    return 2 * half + 1, dilations


def _crop_length(receptive_field: int) -> int:
    """Output frames per training crop: about two receptive fields, a multiple of 16."""
    return max(64, -(-2 * receptive_field // 16) * 16)


@functools.lru_cache(maxsize=16)
def _network(
    n_inputs: int, hidden: int, kernel: int, dilations: tuple[int, ...], n_classes: int
) -> SimpleNamespace:
    """The network's init, training step and forward pass, jitted once per architecture."""
    import jax
    import jax.numpy as jnp
    import optax

    def layer_norm(h, scale, bias):
        mu = jnp.mean(h, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(h - mu), axis=-1, keepdims=True)
        return (h - mu) * jax.lax.rsqrt(var + 1e-5) * scale + bias

    def apply(params, x, rate, key):
        """Logits ``(B, L - receptive_field + 1, n_classes)`` of inputs ``(B, L, n_inputs)``."""
        h = x @ params["input_w"] + params["input_b"]
        for i, d in enumerate(dilations):
            z = layer_norm(h, params[f"conv{i}_ln_scale"], params[f"conv{i}_ln_bias"])
            z = jax.lax.conv_general_dilated(
                z,
                params[f"conv{i}_w"],
                (1,),
                "VALID",
                rhs_dilation=(d,),
                dimension_numbers=("NWC", "WIO", "NWC"),
            )
            z = jax.nn.gelu(z + params[f"conv{i}_b"])
            length = z.shape[1]
            if key is not None:
                keep = jax.random.uniform(jax.random.fold_in(key, i), z.shape) >= rate
                z = jnp.where(keep, z / (1.0 - rate), 0.0)
            offset = (kernel - 1) * d // 2
            h = h[:, offset : offset + length] + z
        h = layer_norm(h, params["output_ln_scale"], params["output_ln_bias"])
        return h @ params["output_w"] + params["output_b"]

    def init(seed):
        """Initial weights, float32 numpy arrays, from a numpy generator (no compilation)."""
        rng = np.random.default_rng(seed)
        params = {
            "input_w": rng.normal(size=(n_inputs, hidden)) / math.sqrt(n_inputs),
            "input_b": np.zeros(hidden),
        }
        for i in range(len(dilations)):
            params[f"conv{i}_ln_scale"] = np.ones(hidden)
            params[f"conv{i}_ln_bias"] = np.zeros(hidden)
            params[f"conv{i}_w"] = rng.normal(size=(kernel, hidden, hidden)) / math.sqrt(
                kernel * hidden
            )
            params[f"conv{i}_b"] = np.zeros(hidden)
        params["output_ln_scale"] = np.ones(hidden)
        params["output_ln_bias"] = np.zeros(hidden)
        params["output_w"] = np.zeros((hidden, n_classes))
        params["output_b"] = np.zeros(n_classes)
        return {k: v.astype(np.float32) for k, v in params.items()}

    adam = optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam())

    def loss_fn(params, x, target, weight, rate, key):
        logits = apply(params, x, rate, key)
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, target[..., None], axis=-1)[..., 0]
        return jnp.sum(weight * nll) / jnp.maximum(jnp.sum(weight), 1e-6)

    @jax.jit
    def step(params, opt_state, x, target, weight, lr, decay, rate, seed, i):
        key = jax.random.fold_in(jax.random.key(seed, impl="rbg"), i)
        loss, grads = jax.value_and_grad(loss_fn)(params, x, target, weight, rate, key)
        updates, opt_state = adam.update(grads, opt_state, params)
        params = jax.tree_util.tree_map(lambda p, u: p - lr * (u + decay * p), params, updates)
        return params, opt_state, loss

    @jax.jit
    def forward(params, x):
        return jax.nn.softmax(apply(params, x, 0.0, None), axis=-1)

    return SimpleNamespace(init=init, opt_init=jax.jit(adam.init), step=step, forward=forward)


# ---------------------------------------------------------------------- training
class _CropSampler:
    """Random training crops inside segments, with their edge-repeated context."""

    def __init__(
        self, starts: np.ndarray, ends: np.ndarray, known: np.ndarray, crop: int, reach: int
    ) -> None:
        self.crop, self.reach = crop, reach
        self.anchors = np.flatnonzero(known)
        seg_of_row = np.repeat(np.arange(len(starts)), ends - starts)
        self.seg_start = starts[seg_of_row[self.anchors]]
        self.seg_end = ends[seg_of_row[self.anchors]]

    def sample(
        self, rng: np.random.Generator, batch: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input rows ``(batch, crop + 2 reach)``; output rows, their validity ``(batch, crop)``."""
        pick = rng.integers(len(self.anchors), size=batch)
        a, lo, hi = self.anchors[pick], self.seg_start[pick], self.seg_end[pick]
        start = a - rng.integers(self.crop, size=batch)
        start = np.clip(start, lo, np.maximum(lo, hi - self.crop))
        out = start[:, None] + np.arange(self.crop)
        valid = out < hi[:, None]
        out = np.minimum(out, hi[:, None] - 1)
        inp = np.clip(
            start[:, None] - self.reach + np.arange(self.crop + 2 * self.reach),
            lo[:, None],
            hi[:, None] - 1,
        )
        return inp, out, valid


def _train(
    net: SimpleNamespace,
    Z: np.ndarray,
    codes: np.ndarray,
    row_weight: np.ndarray,
    sampler: _CropSampler,
    rng: np.random.Generator,
    seed: int,
    est: TemporalConvClassifier,
    n_classes: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    from behavior._progress import progress_bar

    t0 = time.perf_counter()
    params = net.init(seed)
    opt_state = net.opt_init(params)
    n_steps = int(est.n_steps)
    warm = max(1, min(100, n_steps // 10))
    peak = float(est.learning_rate)
    decay = np.float32(est.weight_decay)
    rate = np.float32(est.dropout)
    key_seed = np.int32(seed + 1)
    losses = []
    every = max(1, n_steps // 50)
    with progress_bar(
        total=n_steps, enabled=bool(est.progress), desc="TemporalConv fit", unit="step"
    ) as bar:
        for i in range(n_steps):
            if i < warm:
                lr = peak * (i + 1) / warm
            else:
                frac = (i - warm) / max(1, n_steps - warm)
                lr = peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * frac)))
            inp, out, valid = sampler.sample(rng, int(est.batch_size))
            weight = np.where(valid, row_weight[out], 0.0).astype(np.float32)
            params, opt_state, loss = net.step(
                params,
                opt_state,
                Z[inp],
                codes[out],
                weight,
                np.float32(lr),
                decay,
                rate,
                key_seed,
                np.int32(i),
            )
            if i % every == 0 or i == n_steps - 1:
                losses.append(loss)
                if est.progress and i % (every * 5) == 0:
                    bar.set_postfix_str(f"loss {float(loss):.3f}")
            bar.update()
    curve = np.asarray([float(v) for v in losses], np.float32)
    fitted = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    logger.info(
        "TemporalConvClassifier: %d rows (%d known), %d classes, receptive field %d frames, "
        "%d steps in %.1f s, final loss %.3f",
        len(Z),
        len(sampler.anchors),
        n_classes,
        2 * sampler.reach + 1,
        n_steps,
        time.perf_counter() - t0,
        curve[-1],
    )
    return fitted, curve


def _predict(
    net: SimpleNamespace,
    params: dict[str, np.ndarray],
    Z: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    reach: int,
) -> np.ndarray:
    """Probabilities of every row: whole segments in fixed-shape chunks with context."""
    lengths = ends - starts
    chunk = int(min(MAX_CHUNK, max(64, 1 << int(np.ceil(np.log2(max(lengths.max(), 1)))))))
    per_call = max(1, PREDICT_FRAMES // chunk)
    chunk_starts = np.concatenate([np.arange(a, b, chunk) for a, b in zip(starts, ends)])
    chunk_ends = np.repeat(ends, -(-lengths // chunk))
    chunk_lo = np.repeat(starts, -(-lengths // chunk))
    per_call = min(per_call, 1 << int(np.ceil(np.log2(len(chunk_starts)))))
    out = np.empty((len(Z), len(params["output_b"])), np.float32)
    offsets = np.arange(chunk + 2 * reach)
    for b in range(0, len(chunk_starts), per_call):
        s = chunk_starts[b : b + per_call]
        lo, hi = chunk_lo[b : b + per_call], chunk_ends[b : b + per_call]
        inp = np.clip(s[:, None] - reach + offsets, lo[:, None], hi[:, None] - 1)
        if len(s) < per_call:
            inp = np.concatenate([inp, np.zeros((per_call - len(s), inp.shape[1]), inp.dtype)])
        probs = np.asarray(net.forward(params, Z[inp]))
        for j in range(len(s)):
            m = min(chunk, hi[j] - s[j])
            out[s[j] : s[j] + m] = probs[j, :m]
    return out


def _warm_up() -> None:
    """Compile the network for the small shapes the test suite uses.

    Examples
    --------
    >>> _warm_up()
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = TemporalConvClassifier(
        window=9, hidden=8, n_layers=2, n_steps=2, batch_size=4, random_state=0, progress=False
    )
    clf.fit(X, y, segments=np.repeat([0, 1], 200)).predict_proba(X)
