"""Helpers shared by the modules of :mod:`behavior.syllables` (private to the package).

One definition each of the run lengths of a label sequence, the median syllable
duration that ``fit_kappa`` calibrates, the rotation of keypoints about z, and the
state every state ends in after a list of merges.
Any module of the package may import from here; nothing outside it should.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from behavior.errors import PoseDataError

__all__ = [
    "SessionInputMixin",
    "check_dense_real",
    "median_duration",
    "merge_mapping",
    "run_lengths",
]


def check_dense_real(x: Any, name: str) -> None:
    """Refuse sparse matrices and complex arrays where latent sequences are expected.

    Parameters
    ----------
    x
        Anything passed as a sequence (or list of them).
    name
        How to call it in the message.

    Raises
    ------
    PoseDataError
        For a scipy sparse matrix or array, or a complex numpy array.

    Examples
    --------
    >>> check_dense_real(np.zeros((3, 2)), "X")
    >>> check_dense_real(np.zeros((3, 2), complex), "X")
    Traceback (most recent call last):
    ...
    behavior.errors.PoseDataError: X: Complex data not supported; expected real latents
    """
    import scipy.sparse

    if scipy.sparse.issparse(x):
        raise PoseDataError(
            f"{name}: expected dense (time, dim) arrays; sparse input is not supported "
            f"(found {type(x).__name__}). Use .toarray()."
        )
    if isinstance(x, np.ndarray) and np.iscomplexobj(x):
        raise PoseDataError(f"{name}: Complex data not supported; expected real latents")


def run_lengths(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, stops (exclusive) and values of the runs of equal labels of one sequence.

    Parameters
    ----------
    labels
        One label sequence ``(T,)``.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        int64 ``starts`` and ``stops`` (``stops - starts`` are the run lengths in
        frames) and the label of each run; empty for an empty sequence.

    Examples
    --------
    >>> starts, stops, values = run_lengths(np.array([3, 3, -1, 2, 2, 2]))
    >>> (stops - starts).tolist(), values.tolist()
    ([2, 1, 3], [3, -1, 2])
    """
    labels = np.asarray(labels).reshape(-1)
    if len(labels) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, labels[:0]
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    stops = np.concatenate([change, [len(labels)]]).astype(np.int64)
    return starts, stops, labels[starts]


def median_duration(
    labels: Sequence[np.ndarray], per: Literal["frame", "syllable"] = "frame"
) -> float:
    """Median syllable duration in frames: the quantity ``fit_kappa`` calibrates.

    The definition, ``per="frame"`` (the default, and what
    :meth:`ARHMM.fit_kappa <behavior.syllables.arhmm.ARHMM.fit_kappa>` calibrates,
    for the AR-HMM and for the keypoint SLDS's AR-HMM):
    every frame with a syllable (label >= 0) counts once, with the length of the
    run it lies in, and the median of those lengths is returned. Half of the
    labelled frames therefore lie in syllables lasting at least that long. Brief
    transition syllables barely move it, whereas they can halve a median over
    syllables and drive a calibration to a stickiness that merges everything.

    ``per="syllable"`` is the median over syllables instead (each run of a label
    >= 0 counts once, whatever its length): what
    :meth:`GaussianHMM.fit_kappa <behavior.syllables.hmm.GaussianHMM.fit_kappa>`
    has always calibrated, kept so that its results do not move.

    Frames labelled -1 (unusable) are left out of both.

    Parameters
    ----------
    labels
        One label sequence per sequence.
    per
        ``"frame"`` or ``"syllable"``: what counts once in the median.

    Returns
    -------
    float
        Frames; NaN when no frame has a syllable.

    Examples
    --------
    >>> labels = [np.array([0] * 20 + [1, 2] * 3)]
    >>> median_duration(labels), median_duration(labels, per="syllable")
    (20.0, 1.0)
    >>> median_duration([np.array([0, 0, 1, 1, 1, 1]), np.array([2])])
    4.0
    """
    if per not in ("frame", "syllable"):
        raise PoseDataError(f"per: expected 'frame' or 'syllable', found {per!r}")
    runs = []
    for lab in labels:
        starts, stops, values = run_lengths(lab)
        runs.append((stops - starts)[values >= 0])
    runs = np.concatenate(runs) if runs else np.empty(0, np.int64)
    if runs.size == 0:
        return float("nan")
    return float(np.median(np.repeat(runs, runs) if per == "frame" else runs))


class SessionInputMixin:
    """For estimators whose input is pose sessions (Datasets), not a 2-D array.

    Put it before ``BaseEstimator`` among the bases. Its scikit-learn tag
    ``two_d_array=False`` makes :func:`sklearn.utils.estimator_checks.check_estimator`
    run none of its array-based checks (``tests/test_estimator_contract.py`` runs the
    API checks that take no data, and the contract on pose sessions).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.two_d_array = False
        return tags


def merge_mapping(n_states: int, merges: Sequence[dict[str, Any]]) -> np.ndarray:
    """``(n_states,)``: the state every state ends in after ``merges``, applied in order.

    Parameters
    ----------
    n_states
        Number of states.
    merges
        Merges as in ``ARHMM.merges_``: dicts with ``"kept"`` and ``"dropped"``.

    Returns
    -------
    np.ndarray

    Examples
    --------
    >>> merge_mapping(4, [{"kept": 1, "dropped": 3}, {"kept": 0, "dropped": 1}]).tolist()
    [0, 0, 2, 0]
    """
    mapping = np.arange(n_states)
    for merge in merges:
        mapping[mapping == merge["dropped"]] = merge["kept"]
    return mapping
