"""Syllables: labels relabelled by frequency, their statistics, average poses, files.

:class:`Syllables` gathers what a syllable model found: per-frame labels of
every sequence (one per session and individual), the :class:`Latents` they were
decoded from, and (when known) the fitted :class:`Preprocessor` and model, so
that the result can be summarised (:meth:`~Syllables.usage`,
:meth:`~Syllables.durations`, :meth:`~Syllables.transition_matrix`), drawn as
average pose trajectories (:meth:`~Syllables.average_trajectories`), turned into
an :class:`~behavior.ethogram.Ethogram`, saved, loaded, and applied to new
sessions (:meth:`~Syllables.apply`).

Syllable ids are ranks of use: 0 is the syllable with the most frames over all
training sequences, 1 the next, and so on; -1 marks frames without a syllable
(frames the model left unlabelled, e.g. unusable frames of the
:class:`~behavior.syllables.hmm.GaussianHMM`). The mapping from the model's
states is kept, so sessions labelled later with :meth:`~Syllables.apply` use
the same ids.
"""

from __future__ import annotations

import importlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from behavior._json import dumps
from behavior._pose import rotate_xy
from behavior.errors import FileFormatError, PoseDataError
from behavior.syllables._common import run_lengths
from behavior.syllables.preprocess import Latents

__all__ = ["BOUT_COLUMNS", "Syllables", "held_out_rate"]

logger = logging.getLogger(__name__)

BOUT_COLUMNS = [
    "session",
    "individual",
    "syllable",
    "start_frame",
    "stop_frame",
    "frames",
    "start",
    "duration",
]
"""Columns of :meth:`Syllables.durations` (``stop_frame`` exclusive; start, duration in s)."""


def held_out_rate(codes: Any, events: Any, n_blocks: int = 4, *, groups: Any = None) -> np.ndarray:
    """Each frame's rate of a labelled behavior in its syllable, learned on other time blocks.

    Scores how well syllables found without the labels capture a behavior a
    person labelled frame by frame: the frames are cut into ``n_blocks``
    contiguous time blocks (never single frames, whose neighbours share a bout),
    or into the ``groups`` given (sessions, animals), and every frame of a block
    gets the fraction of its syllable's frames in the other blocks that show the
    behavior, with one pseudo-frame at the other blocks' overall rate (so a
    syllable unseen there gets that rate). A frame's score never depends on the
    labels of its own block. Feed the scores and the labels to an AUC or average
    precision.

    Parameters
    ----------
    codes
        ``(T,)`` syllable ids of consecutive frames (``-1`` counts as one more
        syllable: leave such frames out first to ignore them).
    events
        ``(T,)`` booleans: the frames showing the behavior.
    n_blocks
        Number of contiguous time blocks (2 to ``T``); not used when ``groups``
        is given.
    groups
        ``(T,)`` block of every frame, any ids with at least two distinct values:
        e.g. the session of every frame of sequences laid end to end, so that each
        session is scored by rates learned on the others (a split by session,
        never by frame).

    Returns
    -------
    np.ndarray
        ``(T,)`` floats in ``[0, 1]``.

    Raises
    ------
    PoseDataError
        When the arrays are not 1-D of one length, ``codes`` are not integers,
        ``n_blocks`` is out of range or ``groups`` does not give every frame a
        block, or gives them all the same one.

    Examples
    --------
    >>> codes = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> events = np.array([1, 1, 0, 0, 1, 1, 0, 0], bool)
    >>> held_out_rate(codes, events, n_blocks=2).round(2).tolist()
    [0.83, 0.83, 0.17, 0.17, 0.83, 0.83, 0.17, 0.17]
    >>> sessions = np.repeat(["mouse1", "mouse2"], 4)  # two sessions laid end to end
    >>> held_out_rate(codes, events, groups=sessions).round(2).tolist()
    [0.83, 0.83, 0.17, 0.17, 0.83, 0.83, 0.17, 0.17]
    """
    codes, events = np.asarray(codes), np.asarray(events)
    if codes.ndim != 1 or events.shape != codes.shape:
        raise PoseDataError(
            f"codes, events: expected two 1-D arrays of one length, found shapes "
            f"{codes.shape} and {events.shape}"
        )
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise PoseDataError(f"codes: expected integer syllable ids, found dtype {codes.dtype}")
    if groups is None:
        if isinstance(n_blocks, bool) or not isinstance(n_blocks, int | np.integer):
            raise PoseDataError(f"n_blocks: expected an integer, found {n_blocks!r}")
        if not 2 <= n_blocks <= codes.size:
            raise PoseDataError(
                f"n_blocks: expected 2 to {codes.size} (the number of frames), found {n_blocks}"
            )
        edges = np.linspace(0, codes.size, n_blocks + 1).round().astype(int)
        block_of = np.repeat(np.arange(n_blocks), np.diff(edges))
    else:
        groups = np.asarray(groups)
        if groups.shape != codes.shape:
            raise PoseDataError(
                f"groups: expected one block id per frame, shape {codes.shape}, "
                f"found shape {groups.shape}"
            )
        _, block_of = np.unique(groups, return_inverse=True)
        if block_of.size == 0 or block_of.max() < 1:
            raise PoseDataError(
                f"groups: expected at least 2 distinct blocks, found {np.unique(groups).size}"
            )
    events = events.astype(bool)
    rate = np.empty(codes.size)
    for block in range(int(block_of.max()) + 1):
        inside = block_of == block
        other = ~inside  # every block has a frame, so the others are never empty
        ids, inverse = np.unique(codes[other], return_inverse=True)
        hits = np.bincount(inverse, weights=events[other], minlength=ids.size)
        frames = np.bincount(inverse, minlength=ids.size)
        prior = events[other].mean()
        here = codes[inside]
        at = np.minimum(np.searchsorted(ids, here), ids.size - 1)
        rate[inside] = np.where(ids[at] == here, (hits[at] + prior) / (frames[at] + 1.0), prior)
    return rate


def _signed_seconds(value: float | str) -> float:
    """Seconds from a number or text, keeping a leading minus sign (``"-0.2 s"``)."""
    from behavior.units import to_seconds

    if isinstance(value, str):
        text = value.strip()
        sign = -1.0 if text.startswith("-") else 1.0
        return sign * to_seconds(text.lstrip("+-"), name="window")
    number = isinstance(value, int | float | np.integer | np.floating)
    if number and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    raise PoseDataError(f"window: expected seconds or text such as '-0.2 s', found {value!r}")


class Syllables:
    """Syllable labels of several sequences, with the model and preprocessing that made them.

    Parameters
    ----------
    labels
        The model's states, one int array ``(T_i,)`` per sequence of
        ``latents`` (-1 = no syllable).
    latents
        The latent trajectories the labels were decoded from.
    model
        The fitted syllable model (needed by :meth:`apply`).
    preprocessor
        The fitted :class:`~behavior.syllables.preprocess.Preprocessor` (needed
        by :meth:`average_trajectories` and :meth:`apply`).
    mapping
        Model state -> syllable id. Default: ranks of use in ``labels``
        (0 = most frames; states never used come last, by state number).
    attrs
        Metadata kept with the result (``model`` name, ``log``...).

    Attributes
    ----------
    codes : list of ndarray
        Syllable ids per sequence (-1 = none).
    latents : Latents
    model, preprocessor
    mapping_ : ndarray of int
        ``mapping_[state]`` is the syllable id of a model state.
    attrs : dict

    Examples
    --------
    >>> import numpy as np
    >>> from behavior.syllables.preprocess import Latents
    >>> lat = Latents([np.zeros((6, 1), np.float32)], [np.ones(6, bool)], [("s", "m")],
    ...               [np.arange(6) / 2], fps=2.0)
    >>> syl = Syllables([np.array([5, 5, 5, 2, 2, 5])], lat)
    >>> syl.labels["s"].values.ravel().tolist()
    [0, 0, 0, 1, 1, 0]
    >>> syl.usage()["usage"].round(3).tolist()
    [0.667, 0.333]
    """

    def __init__(
        self,
        labels: Sequence[np.ndarray],
        latents: Latents,
        *,
        model: Any = None,
        preprocessor: Any = None,
        mapping: np.ndarray | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(latents, Latents):
            raise PoseDataError(f"latents: expected Latents, found {type(latents).__name__}")
        labels = [np.asarray(lab).astype(np.int64).reshape(-1) for lab in labels]
        if len(labels) != len(latents):
            raise PoseDataError(
                f"labels: expected one array per sequence of latents ({len(latents)}), found "
                f"{len(labels)}"
            )
        for i, (lab, n) in enumerate(zip(labels, latents.lengths)):
            if len(lab) != n:
                raise PoseDataError(
                    f"labels[{i}]: expected {n} frames like latents sequence {latents.keys[i]}, "
                    f"found {len(lab)}"
                )
            if len(lab) and lab.min() < -1:
                raise PoseDataError(f"labels[{i}]: expected states >= -1, found {lab.min()}")
        top = max((int(lab.max()) for lab in labels if len(lab)), default=-1)
        n_states = max(int(getattr(model, "n_states", 0) or 0), top + 1)
        if mapping is None:
            counts = np.zeros(n_states, dtype=np.int64)
            for lab in labels:
                counts += np.bincount(lab[lab >= 0], minlength=n_states)
            order = np.lexsort((np.arange(n_states), -counts))
            mapping = np.empty(n_states, dtype=np.int64)
            mapping[order] = np.arange(n_states)
        else:
            mapping = np.asarray(mapping, dtype=np.int64).reshape(-1)
            if len(mapping) < n_states:
                extra = np.arange(len(mapping), n_states)
                mapping = np.concatenate([mapping, len(mapping) + np.arange(len(extra))])
        self.mapping_ = mapping
        self.codes = [np.where(lab >= 0, mapping[np.maximum(lab, 0)], -1) for lab in labels]
        self.latents = latents
        self.model = model
        self.preprocessor = preprocessor
        self.attrs = dict(attrs or {})

    # ------------------------------------------------------------------ basics

    @property
    def fps(self) -> float:
        """Frames per second."""
        return self.latents.fps

    @property
    def keys(self) -> list[tuple[str, str]]:
        """``(session, individual)`` of each sequence."""
        return list(self.latents.keys)

    @property
    def sessions(self) -> list[str]:
        """Session names, in order."""
        return list(dict.fromkeys(k[0] for k in self.latents.keys))

    @property
    def n_syllables(self) -> int:
        """Number of syllables with at least one frame."""
        used = np.unique(np.concatenate(self.codes)) if self.codes else np.empty(0)
        return int((used >= 0).sum())

    def names(self, n: int | None = None) -> list[str]:
        """Syllable names ``syllable_0, syllable_1, ...`` for ids ``0 .. n-1`` (default: all).

        Examples
        --------
        >>> import numpy as np
        >>> from behavior.syllables.preprocess import Latents
        >>> lat = Latents([np.zeros((2, 1), np.float32)], [np.ones(2, bool)], [("s", "m")],
        ...               [np.arange(2.0)], fps=1.0)
        >>> Syllables([np.array([0, 1])], lat).names()
        ['syllable_0', 'syllable_1']
        """
        if n is None:
            n = max((int(c.max()) + 1 for c in self.codes if len(c)), default=0)
        return [f"syllable_{k}" for k in range(n)]

    @property
    def labels(self) -> dict[str, xr.DataArray]:
        """Syllable ids over ``(time, individual)``, one DataArray per session.

        int64, -1 where no syllable; ``attrs["labels"]`` holds the names (id ``i``
        is ``labels[i]``), with ``fps`` and ``time_unit``.
        """
        out: dict[str, xr.DataArray] = {}
        names = self.names()
        for session in self.sessions:
            idx = [i for i, k in enumerate(self.latents.keys) if k[0] == session]
            lengths = {len(self.codes[i]) for i in idx}
            if len(lengths) != 1:
                raise PoseDataError(
                    f"labels: the individuals of session {session!r} have different lengths "
                    f"{sorted(lengths)}"
                )
            out[session] = xr.DataArray(
                np.stack([self.codes[i] for i in idx], axis=1),
                dims=("time", "individual"),
                coords={
                    "time": self.latents.time[idx[0]],
                    "individual": [self.latents.keys[i][1] for i in idx],
                },
                name="syllable",
                attrs={
                    "labels": names,
                    "fps": self.fps,
                    "time_unit": "seconds",
                    "model": str(self.attrs.get("model", "")),
                },
            )
        return out

    def __repr__(self) -> str:
        return (
            f"<Syllables: {self.n_syllables} syllables, {len(self.sessions)} session(s), "
            f"{len(self.codes)} sequence(s), {sum(self.latents.lengths)} frames at "
            f"{self.fps:g} fps, model={self.attrs.get('model', type(self.model).__name__)}>"
        )

    # ------------------------------------------------------------------ statistics

    def durations(self) -> pd.DataFrame:
        """Every bout of every syllable: the duration distribution.

        A bout is a run of frames with one syllable; frames without one (-1)
        end a bout and belong to none.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`BOUT_COLUMNS`: ``session``, ``individual``,
            ``syllable``, ``start_frame``, ``stop_frame`` (exclusive), ``frames``,
            ``start`` (the time coordinate of the first frame) and ``duration``
            (``frames / fps``, seconds).

        Examples
        --------
        >>> import numpy as np
        >>> from behavior.syllables.preprocess import Latents
        >>> lat = Latents([np.zeros((5, 1), np.float32)], [np.ones(5, bool)], [("s", "m")],
        ...               [np.arange(5) / 10], fps=10.0)
        >>> bouts = Syllables([np.array([1, 1, 0, 0, 0])], lat).durations()
        >>> bouts["syllable"].tolist(), bouts["duration"].tolist()  # state 0 is used most: id 0
        ([1, 0], [0.2, 0.3])
        """
        parts = []
        for (session, individual), codes, time in zip(
            self.latents.keys, self.codes, self.latents.time
        ):
            starts, stops, values = run_lengths(codes)
            keep = values >= 0
            starts, stops, values = starts[keep], stops[keep], values[keep]
            frames = stops - starts
            parts.append(
                pd.DataFrame(
                    {
                        "session": session,
                        "individual": individual,
                        "syllable": values,
                        "start_frame": starts,
                        "stop_frame": stops,
                        "frames": frames,
                        "start": np.asarray(time, dtype=np.float64)[starts],
                        "duration": frames / self.fps,
                    }
                )
            )
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        return table.reindex(columns=BOUT_COLUMNS).astype(
            {"syllable": np.int64, "start_frame": np.int64, "stop_frame": np.int64}
        )

    def usage(self, by: Literal["all", "sequence"] = "all") -> pd.DataFrame:
        """How much each syllable is used, by frames and by bouts.

        Parameters
        ----------
        by
            ``"all"``: one row per syllable over every sequence; ``"sequence"``:
            one row per (session, individual, syllable).

        Returns
        -------
        pandas.DataFrame
            Columns ``frames``, ``usage`` (fraction of the labelled frames, sums
            to 1), ``bouts``, ``bout_usage`` (fraction of the bouts, sums to 1),
            ``mean_duration`` and ``median_duration`` (seconds); indexed by
            ``syllable`` (``by="all"``) or with ``session`` and ``individual``
            columns (``by="sequence"``). Syllables without frames are left out.

        Examples
        --------
        >>> import numpy as np
        >>> from behavior.syllables.preprocess import Latents
        >>> lat = Latents([np.zeros((4, 1), np.float32)], [np.ones(4, bool)], [("s", "m")],
        ...               [np.arange(4.0)], fps=1.0)
        >>> Syllables([np.array([3, 3, 3, 8])], lat).usage()["usage"].tolist()
        [0.75, 0.25]
        """
        if by not in ("all", "sequence"):
            raise PoseDataError(f"by: expected 'all' or 'sequence', found {by!r}")
        bouts = self.durations()
        keys = ["syllable"] if by == "all" else ["session", "individual", "syllable"]
        table = bouts.groupby(keys, sort=True).agg(
            frames=("frames", "sum"),
            bouts=("frames", "size"),
            mean_duration=("duration", "mean"),
            median_duration=("duration", "median"),
        )
        group = None if by == "all" else ["session", "individual"]
        if group is None:
            table["usage"] = table["frames"] / table["frames"].sum()
            table["bout_usage"] = table["bouts"] / table["bouts"].sum()
        else:
            table["usage"] = table["frames"] / table.groupby(level=group)["frames"].transform("sum")
            table["bout_usage"] = table["bouts"] / table.groupby(level=group)["bouts"].transform(
                "sum"
            )
        table = table[
            ["frames", "usage", "bouts", "bout_usage", "mean_duration", "median_duration"]
        ]
        return table if by == "all" else table.reset_index()

    def transition_matrix(
        self,
        *,
        normalize: bool = True,
        self_transitions: bool = False,
        n_syllables: int | None = None,
    ) -> pd.DataFrame:
        """Bigram transition matrix between syllables (rows: from, columns: to).

        Parameters
        ----------
        normalize
            Row probabilities instead of counts; rows of syllables never left
            are NaN.
        self_transitions
            False (default): transitions between consecutive bouts (the diagonal
            is 0). True: frame-to-frame transitions, so the diagonal holds how
            long syllables last.
        n_syllables
            Keep the ``n`` most used syllables (ids ``0 .. n-1``, fewer when there
            are fewer); transitions to or from the others are dropped before
            normalising.

        Returns
        -------
        pandas.DataFrame
            Square, indexed by syllable id (``from``), columns syllable id (``to``).
            Frames without a syllable (-1) break the chain: no transition is
            counted across them, nor across sequences.

        Examples
        --------
        >>> import numpy as np
        >>> from behavior.syllables.preprocess import Latents
        >>> lat = Latents([np.zeros((5, 1), np.float32)], [np.ones(5, bool)], [("s", "m")],
        ...               [np.arange(5.0)], fps=1.0)
        >>> Syllables([np.array([0, 0, 1, 0, 0])], lat).transition_matrix().values.tolist()
        [[0.0, 1.0], [1.0, 0.0]]
        """
        n = self._n_ids()
        if n_syllables is not None:
            if int(n_syllables) < 1:
                raise PoseDataError(f"n_syllables: expected at least 1, found {n_syllables!r}")
            n = min(n, int(n_syllables))
        counts = np.zeros((n, n), dtype=np.float64)
        for codes in self.codes:
            if self_transitions:
                a, b = codes[:-1], codes[1:]
            else:
                _, _, values = run_lengths(codes)
                a, b = values[:-1], values[1:]
            ok = (a >= 0) & (b >= 0) & (a < n) & (b < n)
            np.add.at(counts, (a[ok], b[ok]), 1.0)
        if normalize:
            rows = counts.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                counts = np.where(rows > 0, counts / rows, np.nan)
        index = pd.Index(np.arange(n), name="from")
        columns = pd.Index(np.arange(n), name="to")
        return pd.DataFrame(counts, index=index, columns=columns)

    def _n_ids(self) -> int:
        """One more than the largest syllable id present."""
        return max((int(c.max()) + 1 for c in self.codes if len(c)), default=0)

    # ------------------------------------------------------------------ poses

    def average_trajectories(
        self,
        window: tuple[float | str, float | str] = (-0.2, 0.5),
        syllables: Sequence[int] | int | None = None,
        *,
        frame: Literal["onset", "egocentric"] = "onset",
        max_bouts: int = 200,
        min_bouts: int = 1,
    ) -> xr.DataArray:
        """Mean pose trajectory of each syllable around its onsets.

        Parameters
        ----------
        window
            Start and end of the window, relative to each bout's first frame
            (seconds or text, e.g. ``("-0.2 s", "0.5 s")``).
        syllables
            Syllable ids, or an int ``n`` for the ``n`` most used (default: every
            syllable with frames).
        frame
            ``"onset"`` (default): each window's poses are put in the body frame
            of the animal at the onset frame, so the trajectory shows how the
            animal moves (forward along +x) as well as how its pose changes.
            ``"egocentric"``: every frame in its own body frame (pose only).
        max_bouts
            Most bouts averaged per syllable (spread evenly over all of them).
        min_bouts
            Syllables with fewer complete windows are NaN.

        Returns
        -------
        xr.DataArray
            Dims ``(syllable, time, space, keypoint)``: ``time`` in seconds from
            onset, in the preprocessor's space unit; ``attrs["n_bouts"]`` lists
            the bouts averaged per syllable. Bouts whose window runs past the
            ends of their sequence are left out.

        Raises
        ------
        PoseDataError
            Without a fitted preprocessor, or with ``frame="onset"`` and latents
            that carry no centroid and heading.

        Examples
        --------
        >>> traj = syl.average_trajectories((-0.2, 0.5), syllables=5)  # doctest: +SKIP
        >>> traj.sizes["syllable"]  # doctest: +SKIP
        5
        """
        pre = self.preprocessor
        if pre is None or not hasattr(pre, "components_"):
            raise PoseDataError(
                "average_trajectories: needs the fitted preprocessor that made the latents "
                "(Syllables(..., preprocessor=pre))"
            )
        if frame not in ("onset", "egocentric"):
            raise PoseDataError(f"frame: expected 'onset' or 'egocentric', found {frame!r}")
        lat = self.latents
        if frame == "onset" and (lat.centroid is None or lat.heading is None):
            raise PoseDataError(
                "frame: 'onset' needs the centroid and heading of the latents (Latents from "
                "Preprocessor.transform carry them); use frame='egocentric'"
            )
        if len(window) != 2:
            raise PoseDataError(f"window: expected (start, end), found {window!r}")
        w0 = round(_signed_seconds(window[0]) * self.fps)
        w1 = round(_signed_seconds(window[1]) * self.fps)
        if w1 < w0:
            raise PoseDataError(f"window: expected start <= end, found {window!r}")
        offsets = np.arange(w0, w1 + 1)
        if syllables is None:
            ids = list(range(self._n_ids()))
        elif isinstance(syllables, int | np.integer):
            ids = list(range(min(int(syllables), self._n_ids())))
        else:
            ids = [int(s) for s in syllables]
        bouts = self.durations()
        seq_index = {k: i for i, k in enumerate(lat.keys)}
        n_space, n_kp = len(pre.space_), len(pre.keypoints_)
        out = np.full((len(ids), len(offsets), n_space, n_kp), np.nan)
        counts = []
        for j, s in enumerate(ids):
            mine = bouts[bouts["syllable"] == s]
            seq = np.array(
                [seq_index[(a, b)] for a, b in zip(mine["session"], mine["individual"])],
                dtype=np.int64,
            )
            onset = mine["start_frame"].to_numpy()
            lengths = np.asarray(lat.lengths)[seq] if len(seq) else np.empty(0, np.int64)
            ok = (onset + w0 >= 0) & (onset + w1 < lengths)
            seq, onset = seq[ok], onset[ok]
            if len(onset) > max_bouts:
                pick = np.unique(np.linspace(0, len(onset) - 1, max_bouts).round().astype(int))
                seq, onset = seq[pick], onset[pick]
            counts.append(len(onset))
            if len(onset) < max(min_bouts, 1):
                continue
            frames = onset[:, None] + offsets[None, :]  # (n, W)
            windows = np.stack([lat.data[i][f] for i, f in zip(seq, frames)])  # (n, W, D)
            ego = pre.inverse_transform(windows.reshape(-1, windows.shape[-1]))
            ego = ego.reshape(len(onset), len(offsets), n_space, n_kp)
            if frame == "onset":
                c = np.stack([lat.centroid[i][f] for i, f in zip(seq, frames)])  # (n, W, S)
                h = np.stack([lat.heading[i][f] for i, f in zip(seq, frames)])  # (n, W)
                at = -w0  # index of the onset frame in the window
                arena = rotate_xy(ego, h, 1.0) + c[..., None]
                moved = arena - c[:, at, None, :, None]
                ego = rotate_xy(moved, np.repeat(h[:, at, None], len(offsets), axis=1), -1.0)
            out[j] = ego.mean(axis=0)
        return xr.DataArray(
            out,
            dims=("syllable", "time", "space", "keypoint"),
            coords={
                "syllable": ids,
                "time": offsets / self.fps,
                "space": list(pre.space_),
                "keypoint": list(pre.keypoints_),
            },
            name="average_trajectory",
            attrs={
                "n_bouts": counts,
                "frame": frame,
                "space_unit": pre.space_unit_,
                "time_unit": "seconds",
            },
        )

    # ------------------------------------------------------------------ ethogram

    def to_ethogram(self, session: str | None = None, n_syllables: int | None = None) -> Any:
        """The syllables of one session as an exclusive :class:`~behavior.ethogram.Ethogram`.

        Parameters
        ----------
        session
            Session name; may be omitted when there is only one.
        n_syllables
            Keep the ``n`` most used syllables as behaviors; frames of the others
            hold no behavior.

        Returns
        -------
        Ethogram
            Behaviors ``syllable_0, syllable_1, ...``; individuals as in the session.

        Examples
        --------
        >>> import numpy as np
        >>> from behavior.syllables.preprocess import Latents
        >>> lat = Latents([np.zeros((3, 1), np.float32)], [np.ones(3, bool)], [("s", "m")],
        ...               [np.arange(3.0)], fps=1.0)
        >>> Syllables([np.array([4, 4, 7])], lat).to_ethogram().behaviors
        ['syllable_0', 'syllable_1']
        """
        from behavior.ethogram import Ethogram

        labels = self.labels
        if session is None:
            if len(labels) != 1:
                raise PoseDataError(
                    f"session: expected one of {list(labels)} (there are several sessions)"
                )
            session = next(iter(labels))
        if session not in labels:
            raise PoseDataError(f"session: {session!r} not found; sessions are {list(labels)}")
        states = labels[session]
        n = self._n_ids() if n_syllables is None else int(n_syllables)
        states = states.where((states < n), -1)
        return Ethogram.from_states(states, self.names(n))

    # ------------------------------------------------------------------ new data

    def apply(self, sessions: Any) -> Syllables:
        """Label new sessions with the fitted preprocessor and model (same syllable ids).

        Parameters
        ----------
        sessions
            Pose datasets as accepted by
            :meth:`~behavior.syllables.preprocess.Preprocessor.transform`.

        Returns
        -------
        Syllables
            For the new sessions, sharing this result's model, preprocessor and
            state -> syllable mapping.

        Raises
        ------
        PoseDataError
            Without a model or preprocessor (e.g. loaded without them).

        Examples
        --------
        >>> new = syl.apply(bh.load_poses("day2.h5", fps=30))  # doctest: +SKIP
        """
        if self.model is None or self.preprocessor is None:
            raise PoseDataError(
                "apply: needs the fitted model and preprocessor; this result has "
                f"model={type(self.model).__name__ if self.model is not None else None}, "
                f"preprocessor={'yes' if self.preprocessor is not None else None}"
            )
        from behavior.syllables.slds import KeypointSLDS

        if isinstance(self.model, KeypointSLDS):  # infers the poses from the keypoints
            labels, latents = self.model.predict_transform(sessions)
        else:
            latents = self.preprocessor.transform(sessions)
            labels = self.model.predict(latents)
        return Syllables(
            labels,
            latents,
            model=self.model,
            preprocessor=self.preprocessor,
            mapping=self.mapping_,
            attrs=dict(self.attrs),
        )

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path, *, model: bool = True) -> Path:
        """Write the result to one netCDF file, atomically.

        The file holds the labels, latents, mask, centroid and heading of every
        sequence, the fitted preprocessor and (with ``model=True``) the fitted
        model's parameters, so that :meth:`load` gives back a result that can
        :meth:`apply` itself to new sessions. Metadata are JSON in
        ``attrs["syllables"]``.

        Parameters
        ----------
        path
            Destination (``.nc``); its folder must exist.
        model
            Store the model too.

        Returns
        -------
        Path
            ``path``.

        Examples
        --------
        >>> syl.save("syllables.nc")  # doctest: +SKIP
        """
        from behavior.io.registry import atomic_path, verify_netcdf

        path = Path(path)
        lat = self.latents
        lengths = lat.lengths
        data_vars: dict[str, Any] = {
            "labels": (("frame",), np.concatenate(self.codes).astype(np.int64)),
            "latents": (("frame", "latent"), np.concatenate(lat.data).astype(np.float32)),
            "mask": (("frame",), np.concatenate(lat.mask).astype(np.int8)),
            "time": (("frame",), np.concatenate(lat.time).astype(np.float64)),
            "mapping": (("state",), self.mapping_.astype(np.int64)),
        }
        if lat.centroid is not None and lat.heading is not None:
            data_vars["centroid"] = (("frame", "space"), np.concatenate(lat.centroid))
            data_vars["heading"] = (("frame",), np.concatenate(lat.heading))
        meta: dict[str, Any] = {
            "version": 1,
            "fps": lat.fps,
            "keys": [list(k) for k in lat.keys],
            "lengths": lengths,
            "latent_attrs": lat.attrs,
            "attrs": self.attrs,
        }
        arrays: dict[str, np.ndarray] = {}
        if self.preprocessor is not None:
            meta["preprocessor"] = _encode(self.preprocessor, arrays, "pre")
        if model and self.model is not None:
            meta["model"] = _encode(self.model, arrays, "model")
        for name, arr in arrays.items():
            dims = tuple(f"{name}__{d}" for d in range(arr.ndim))
            data_vars[name] = (dims, arr)
        ds = xr.Dataset(data_vars)
        ds.attrs = {"ds_type": "syllables", "syllables": dumps(meta)}
        with atomic_path(path, verify=verify_netcdf(ds)) as tmp:
            ds.to_netcdf(tmp, engine="netcdf4")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Syllables:
        """Read a result written by :meth:`save`.

        Raises
        ------
        FileFormatError
            If the file is not a syllables file written by ``behavior``.

        Examples
        --------
        >>> syl = Syllables.load("syllables.nc")  # doctest: +SKIP
        """
        path = Path(path)
        try:
            with xr.open_dataset(path, engine="netcdf4") as ds:
                ds = ds.load()
        except (OSError, ValueError) as err:
            raise FileFormatError(f"{path.name}: cannot be read as netCDF ({err})") from None
        if ds.attrs.get("ds_type") != "syllables" or "syllables" not in ds.attrs:
            raise FileFormatError(
                f"{path.name}: expected a syllables netCDF (attrs ds_type='syllables'), found "
                f"ds_type={ds.attrs.get('ds_type')!r}"
            )
        meta = json.loads(ds.attrs["syllables"])
        bounds = np.concatenate([[0], np.cumsum(meta["lengths"])]).astype(int)

        def split(values: np.ndarray) -> list[np.ndarray]:
            return [values[a:b] for a, b in itertools.pairwise(bounds)]

        has_pose = "centroid" in ds and "heading" in ds
        latents = Latents(
            data=split(ds["latents"].values.astype(np.float32)),
            mask=split(ds["mask"].values.astype(bool)),
            keys=[tuple(k) for k in meta["keys"]],
            time=split(ds["time"].values.astype(np.float64)),
            fps=float(meta["fps"]),
            centroid=split(ds["centroid"].values) if has_pose else None,
            heading=split(ds["heading"].values) if has_pose else None,
            attrs=meta.get("latent_attrs", {}),
        )
        arrays = {name: ds[name].values for name in ds.data_vars}
        pre = _decode(meta["preprocessor"], arrays) if "preprocessor" in meta else None
        model = _decode(meta["model"], arrays) if "model" in meta else None
        mapping = ds["mapping"].values.astype(np.int64)
        # labels are stored as syllable ids: map them back through the inverse mapping
        inverse = np.empty_like(mapping)
        inverse[mapping] = np.arange(len(mapping))
        codes = split(ds["labels"].values.astype(np.int64))
        states = [np.where(c >= 0, inverse[np.maximum(c, 0)], -1) for c in codes]
        return cls(
            states,
            latents,
            model=model,
            preprocessor=pre,
            mapping=mapping,
            attrs=meta.get("attrs", {}),
        )


# --------------------------------------------------------------------------------------
# Fitted estimators to and from netCDF-friendly pieces
# --------------------------------------------------------------------------------------

_TRUSTED = ("behavior.", "hmmlearn.", "sklearn.")
"""Modules whose classes :meth:`Syllables.load` rebuilds (never arbitrary code)."""


def _encode(value: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """A JSON tree for ``value``; arrays go to ``arrays`` under fresh names."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__array__") and not isinstance(value, list | tuple | dict):
        arr = np.asarray(value)
        if arr.dtype == object:
            return {"__list__": [_encode(v, arrays, f"{prefix}_{i}") for i, v in enumerate(arr)]}
        name = f"{prefix}__a{len(arrays)}"
        while name in arrays:
            name += "_"
        kind = arr.dtype.kind
        if kind == "b":
            arrays[name] = arr.astype(np.int8)
        elif kind in "US":
            return {"__strings__": arr.astype(str).tolist(), "shape": list(arr.shape)}
        else:
            arrays[name] = arr
        return {"__array__": name, "dtype": arr.dtype.str}
    if isinstance(value, dict):
        return {
            "__dict__": [
                [_encode(k, arrays, prefix), _encode(v, arrays, prefix)] for k, v in value.items()
            ]
        }
    if isinstance(value, list | tuple | deque):
        tag = "__tuple__" if isinstance(value, tuple) else "__list__"
        return {tag: [_encode(v, arrays, prefix) for v in value]}
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return None
    cls = type(value)
    module = cls.__module__
    if not module.startswith(_TRUSTED) or not hasattr(value, "__dict__"):
        raise PoseDataError(
            f"save: cannot store an object of type {module}.{cls.__qualname__}; pass "
            "model=False to save without the model"
        )
    state = {k: _encode(v, arrays, f"{prefix}_{k}") for k, v in vars(value).items()}
    return {"__object__": f"{module}:{cls.__qualname__}", "state": state}


def _decode(tree: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if not isinstance(tree, dict):
        return tree
    if "__array__" in tree:
        return np.asarray(arrays[tree["__array__"]]).astype(np.dtype(tree["dtype"]))
    if "__strings__" in tree:
        return np.asarray(tree["__strings__"], dtype=str).reshape(tree["shape"])
    if "__list__" in tree:
        return [_decode(v, arrays) for v in tree["__list__"]]
    if "__tuple__" in tree:
        return tuple(_decode(v, arrays) for v in tree["__tuple__"])
    if "__dict__" in tree:
        return {_key(_decode(k, arrays)): _decode(v, arrays) for k, v in tree["__dict__"]}
    if "__object__" in tree:
        module, _, qualname = tree["__object__"].partition(":")
        if not module.startswith(_TRUSTED):
            raise FileFormatError(f"load: refusing to rebuild an object of module {module!r}")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part, None)
        # Only a class defined in that trusted module under that name: never a
        # function, nor a class another module's (tempfile, subprocess ...) that
        # a trusted module happens to import, whose __del__ could act on the state.
        if (
            not isinstance(cls, type)
            or cls.__module__ != module
            or cls.__qualname__ != qualname
            or "<" in qualname
        ):
            raise FileFormatError(
                f"load: refusing to rebuild {tree['__object__']!r}: expected a class defined "
                f"in a module of {', '.join(m.rstrip('.') for m in _TRUSTED)}"
            )
        obj = cls.__new__(cls)
        obj.__dict__.update({k: _decode(v, arrays) for k, v in tree["state"].items()})
        _default_missing_params(obj)
        return obj
    return tree


def _default_missing_params(obj: Any) -> None:
    """Hyperparameters added since a file was written take their default (estimators only)."""
    import inspect

    from sklearn.base import BaseEstimator

    if not isinstance(obj, BaseEstimator):
        return
    for name, param in inspect.signature(type(obj).__init__).parameters.items():
        if name != "self" and name not in obj.__dict__ and param.default is not param.empty:
            setattr(obj, name, param.default)


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
