"""Figures of syllables: usage, durations, transitions and average pose trajectories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior.dataset import require_dims, time_seconds
from behavior.errors import PoseDataError
from behavior.plot._common import (
    _draw_pose,
    _duration_edges,
    _figure_and_axes,
    _panel_grid,
    _pose_limits,
)
from behavior.plot.ethograms import transition_heatmap

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from behavior.syllables.results import Syllables

__all__ = [
    "syllable_durations",
    "syllable_trajectories",
    "syllable_transitions",
    "syllable_usage",
]


def _syllable_usage_table(syl_or_usage: Syllables | pd.DataFrame) -> pd.DataFrame:
    if isinstance(syl_or_usage, pd.DataFrame) and "usage" in syl_or_usage.columns:
        return syl_or_usage
    if hasattr(syl_or_usage, "usage") and hasattr(syl_or_usage, "codes"):
        return syl_or_usage.usage()
    raise PoseDataError(
        "syl: expected a Syllables result or its usage() table, found "
        f"{type(syl_or_usage).__name__}"
    )


def syllable_usage(
    syl: Syllables | pd.DataFrame,
    ax: Axes | None = None,
    n_syllables: int | None = 30,
    by: str = "frames",
    color: Any = "C0",
) -> tuple[Figure, Axes]:
    """Bar chart of how much each syllable is used, most used first.

    Parameters
    ----------
    syl
        A :class:`~behavior.syllables.results.Syllables` result, or its
        ``usage()`` table.
    ax
        Axes to draw on; None makes a new figure.
    n_syllables
        Draw the ``n`` most used syllables (None: all).
    by
        ``"frames"`` (fraction of the labelled frames) or ``"bouts"`` (fraction
        of the bouts).
    color
        Bar colour.

    Returns
    -------
    (Figure, Axes)
        One bar per syllable (``ax.patches``), x = syllable id.

    Examples
    --------
    >>> import pandas as pd, behavior as bh
    >>> usage = pd.DataFrame({"usage": [0.5, 0.3, 0.2], "bout_usage": [0.4, 0.4, 0.2]})
    >>> fig, ax = bh.plot.syllable_usage(usage, n_syllables=2)  # or a Syllables result
    >>> [float(bar.get_height()) for bar in ax.patches]
    [0.5, 0.3]
    """
    if by not in ("frames", "bouts"):
        raise PoseDataError(f"by: expected 'frames' or 'bouts', found {by!r}")
    table = _syllable_usage_table(syl)
    column = "usage" if by == "frames" else "bout_usage"
    values = table[column].sort_index()
    if n_syllables is not None:
        values = values.iloc[: int(n_syllables)]
    fig, ax = _figure_and_axes(ax, figsize=(max(4.0, 0.25 * len(values) + 2), 3))
    ax.bar(np.arange(len(values)), values.to_numpy(dtype=float), color=color)
    ax.set_xticks(np.arange(len(values)))
    ax.set_xticklabels([str(i) for i in values.index], fontsize="small")
    ax.set_xlabel("syllable")
    ax.set_ylabel("fraction of frames" if by == "frames" else "fraction of bouts")
    ax.set_title("syllable usage")
    return fig, ax


def syllable_durations(
    syl: Syllables | pd.DataFrame,
    ax: Axes | None = None,
    syllables: int | Sequence[int] | None = None,
    bins: int | Sequence[float] = 40,
    log: bool = True,
) -> tuple[Figure, Axes]:
    """Histogram of syllable durations (seconds), pooled or one outline per syllable.

    Parameters
    ----------
    syl
        A :class:`~behavior.syllables.results.Syllables` result, or its
        ``durations()`` table (columns ``syllable`` and ``duration``).
    ax
        Axes to draw on; None makes a new figure.
    syllables
        None: every bout pooled in one histogram, with its median marked; an
        int ``n``: one outline for each of the ``n`` most used syllables; a
        list: those syllable ids.
    bins
        Number of bins or bin edges.
    log
        Logarithmic duration axis (bins evenly spaced in log).

    Returns
    -------
    (Figure, Axes)

    Examples
    --------
    >>> import pandas as pd, behavior as bh
    >>> bouts = pd.DataFrame({"syllable": [0, 0, 1], "duration": [0.2, 0.4, 0.3]})
    >>> fig, ax = bh.plot.syllable_durations(bouts, bins=4)  # or a Syllables result
    >>> ax.get_legend().get_texts()[0].get_text()
    'median 0.30 s'
    """
    if isinstance(syl, pd.DataFrame) and {"syllable", "duration"} <= set(syl.columns):
        bouts = syl
    elif hasattr(syl, "durations") and hasattr(syl, "codes"):
        bouts = syl.durations()
    else:
        raise PoseDataError(
            f"syl: expected a Syllables result or its durations() table, found {type(syl).__name__}"
        )
    durations = bouts["duration"].to_numpy(dtype=float)
    positive = durations[durations > 0]
    fig, ax = _figure_and_axes(ax)
    edges = _duration_edges(durations, bins, log)
    if syllables is None:
        ax.hist(positive, bins=edges, color="C0", alpha=0.8)
        if positive.size:
            median = float(np.median(positive))
            ax.axvline(median, color="k", linestyle="--", label=f"median {median:.2f} s")
            ax.legend(fontsize="small")
    else:
        ids = (
            list(range(int(syllables)))
            if isinstance(syllables, int | np.integer)
            else [int(s) for s in syllables]
        )
        for k, s in enumerate(ids):
            values = bouts.loc[bouts["syllable"] == s, "duration"].to_numpy(dtype=float)
            if values.size:
                ax.hist(
                    values,
                    bins=edges,
                    histtype="step",
                    linewidth=1.5,
                    color=f"C{k % 10}",
                    label=str(s),
                )
        if ids:
            ax.legend(title="syllable", fontsize="small")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("syllable duration (s)")
    ax.set_ylabel("bouts")
    ax.set_title("syllable durations")
    return fig, ax


def syllable_transitions(
    syl: Syllables | pd.DataFrame,
    ax: Axes | None = None,
    n_syllables: int | None = 20,
    self_transitions: bool = False,
    annotate: bool | None = None,
    cmap: str = "viridis",
) -> tuple[Figure, Axes]:
    """Heatmap of the bigram transition probabilities between syllables.

    Parameters
    ----------
    syl
        A :class:`~behavior.syllables.results.Syllables` result, or a square
        matrix from its ``transition_matrix()``.
    ax
        Axes to draw on; None makes a new figure.
    n_syllables
        The ``n`` most used syllables (None: all).
    self_transitions
        Frame-to-frame transitions (with the diagonal) instead of bout to bout.
    annotate
        Write the values in the cells (default: when at most 12 syllables).
    cmap
        Colormap.

    Returns
    -------
    (Figure, Axes)
        As :func:`~behavior.plot.ethograms.transition_heatmap`: rows "from", columns "to".

    Examples
    --------
    >>> import pandas as pd, behavior as bh
    >>> matrix = pd.DataFrame([[0.0, 1.0], [0.5, 0.5]], index=[0, 1], columns=[0, 1])
    >>> fig, ax = bh.plot.syllable_transitions(matrix)  # or a Syllables result
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('to syllable', 'from syllable')
    """
    if isinstance(syl, pd.DataFrame):
        mat = syl if n_syllables is None else syl.iloc[: int(n_syllables), : int(n_syllables)]
    elif hasattr(syl, "transition_matrix") and hasattr(syl, "codes"):
        mat = syl.transition_matrix(n_syllables=n_syllables, self_transitions=self_transitions)
    else:
        raise PoseDataError(
            "syl: expected a Syllables result or its transition_matrix(), found "
            f"{type(syl).__name__}"
        )
    if annotate is None:
        annotate = len(mat) <= 12
    fig, ax = transition_heatmap(mat, ax=ax, normalize=True, annotate=annotate, cmap=cmap)
    ax.set_xlabel("to syllable")
    ax.set_ylabel("from syllable")
    ax.set_title("syllable transitions" + (" (frames)" if self_transitions else ""))
    return fig, ax


def syllable_trajectories(
    syl_or_trajectories: Syllables | xr.DataArray,
    syllables: int | Sequence[int] | None = 8,
    window: tuple[float | str, float | str] = (-0.2, 0.5),
    n_cols: int = 4,
    skeleton: Sequence[tuple[str, str]] | None = None,
    axes: Any = None,
) -> tuple[Figure, Any]:
    """Average pose trajectory of each syllable, one panel per syllable.

    Each keypoint's mean path over the window is a line (light before the
    onset, dark after); the mean pose at onset is drawn as dots (joined along
    ``skeleton`` when given). Poses are in the animal's body frame at onset:
    x forward, y to its side (image orientation, y down), equal aspect.

    Parameters
    ----------
    syl_or_trajectories
        A :class:`~behavior.syllables.results.Syllables` result (its
        ``average_trajectories(window, syllables)`` is drawn), or such a
        DataArray ``(syllable, time, space, keypoint)``.
    syllables
        An int ``n`` for the ``n`` most used syllables, or a list of ids
        (None: all).
    window
        Seconds around the onset (Syllables input only).
    n_cols
        Panels per row.
    skeleton
        Pairs of keypoint names to join in the onset pose.
    axes
        Axes to draw on (as many as syllables); None makes a new figure.

    Returns
    -------
    (Figure, ndarray of Axes)
        One panel per syllable (extra panels are hidden).

    Examples
    --------
    >>> import numpy as np, xarray as xr, behavior as bh
    >>> traj = xr.DataArray(
    ...     np.random.default_rng(0).normal(size=(3, 5, 2, 4)),
    ...     dims=("syllable", "time", "space", "keypoint"),
    ...     coords={"syllable": [0, 1, 2], "time": np.linspace(-0.1, 0.3, 5),
    ...             "space": ["x", "y"], "keypoint": ["nose", "neck", "hip", "tail"]})
    >>> fig, axes = bh.plot.syllable_trajectories(traj, n_cols=2)  # or a Syllables result
    >>> [ax.get_title() for ax in axes.ravel() if ax.get_visible()]
    ['syllable 0', 'syllable 1', 'syllable 2']
    """
    import matplotlib

    if isinstance(syl_or_trajectories, xr.DataArray):
        traj = syl_or_trajectories
        require_dims(traj, "syllable", "time", "space", "keypoint", name="trajectories")
        if syllables is not None:
            ids = (
                list(traj["syllable"].values[: int(syllables)])
                if isinstance(syllables, int | np.integer)
                else [int(s) for s in syllables]
            )
            traj = traj.sel(syllable=ids)
    elif hasattr(syl_or_trajectories, "average_trajectories"):
        traj = syl_or_trajectories.average_trajectories(window, syllables)
    else:
        raise PoseDataError(
            "syl_or_trajectories: expected a Syllables result or a trajectories DataArray, "
            f"found {type(syl_or_trajectories).__name__}"
        )
    n = traj.sizes["syllable"]
    created = axes is None
    fig, axes, flat = _panel_grid(axes, n, n_cols, (2.6, 2.4), "syllable")
    keypoints = [str(k) for k in traj["keypoint"].values]
    times = time_seconds(traj)
    onset = int(np.argmin(np.abs(times)))
    cmap = matplotlib.colormaps["tab10" if len(keypoints) <= 10 else "tab20"]
    counts = traj.attrs.get("n_bouts")
    unit = traj.attrs.get("space_unit", "")
    limits = _pose_limits(traj.sel(space="x").values, traj.sel(space="y").values, pad=0.05)
    for j, ax in enumerate(flat):
        if j >= n:
            ax.set_visible(False)
            continue
        one = traj.isel(syllable=j)
        x = one.sel(space="x").values  # (time, keypoint)
        y = one.sel(space="y").values
        for k in range(len(keypoints)):
            color = cmap(k % cmap.N)
            ax.plot(x[: onset + 1, k], y[: onset + 1, k], color=color, alpha=0.35, lw=1)
            ax.plot(x[onset:, k], y[onset:, k], color=color, lw=1.5)
        pairs = list(skeleton or [])
        _draw_pose(ax, x[onset], y[onset], keypoints, pairs, limits, size=14, line_width=1)
        label = f"syllable {int(traj['syllable'].values[j])}"
        if counts is not None and j < len(counts):
            label += f" ({counts[j]} bouts)"
        ax.set_title(label, fontsize="small")
    if created:
        frame = traj.attrs.get("frame", "onset")
        where = "body frame at onset" if frame == "onset" else "body frame"
        fig.suptitle(
            f"average pose trajectories ({where}, x forward{', ' + unit if unit else ''})",
            fontsize="medium",
        )
        fig.tight_layout()
    return fig, axes
