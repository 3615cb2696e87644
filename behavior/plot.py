"""Figures: trajectories and time budgets (ethograms, syllables and embeddings follow).

Every function draws on ``ax`` when given one (so figures compose into
subplots) or on a new figure, and returns ``(fig, ax)``. matplotlib is imported
inside the functions, and no backend is chosen here: notebooks show the
figures inline, scripts can ``fig.savefig(...)``.

Positions are drawn in image coordinates, as the pose estimators store them:
x to the right, y **down** (the y-axis is inverted), equal aspect.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior.dataset import require_dims
from behavior.errors import PoseDataError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from behavior.ethogram import Ethogram

__all__ = ["bout_durations", "ethogram", "time_budget", "trajectories", "transition_matrix"]


def _figure_and_axes(ax: Axes | None, **subplot_kw: Any) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(**subplot_kw)
    return fig, ax


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _select(da: xr.DataArray, dim: str, names: list[str], arg: str) -> xr.DataArray:
    available = [str(v) for v in da[dim].values]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise PoseDataError(f"{arg}: {unknown} not in the dataset; available {dim}s: {available}")
    return da.sel({dim: names})


def trajectories(
    ds: xr.Dataset | xr.DataArray,
    keypoint: str | Sequence[str] | None = None,
    individuals: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    color_by: str = "individual",
    cmap: str = "viridis",
    **plot_kwargs: Any,
) -> tuple[Figure, Axes]:
    """Plot the path of each individual in the arena (top view).

    Parameters
    ----------
    ds
        A pose dataset, or its ``position`` DataArray, with dims ``time``,
        ``space``, ``keypoint`` and ``individual``. Only ``x`` and ``y`` are
        drawn (3-D data is seen from above). An ``ensemble`` dimension is
        reduced to its median.
    keypoint
        The keypoint to follow, or several whose mean is followed. None follows
        the centroid of every keypoint available in each frame (NaN keypoints are
        skipped; a frame with none is a gap in the line).
    individuals
        One name or a list; None draws every individual.
    ax
        Axes to draw on; None makes a new figure.
    color_by
        ``"individual"``: one coloured line per individual, with a legend.
        ``"time"``: points coloured by time, with a colorbar.
    cmap
        Colormap for ``color_by="time"``.
    **plot_kwargs
        Passed to ``ax.plot`` (``"individual"``) or ``ax.scatter`` (``"time"``).

    Returns
    -------
    (Figure, Axes)
        The figure and the axes drawn on; the y-axis is inverted (image
        coordinates) and the aspect is equal.

    Raises
    ------
    PoseDataError
        If a dimension, keypoint or individual is missing, or ``color_by`` is
        not one of the two choices.

    Examples
    --------
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)  # doctest: +SKIP
    >>> fig, ax = bh.plot.trajectories(ds, keypoint="centroid", color_by="time")  # doctest: +SKIP
    """
    if color_by not in ("individual", "time"):
        raise PoseDataError(f"color_by: expected 'individual' or 'time', found {color_by!r}")
    position = ds["position"] if isinstance(ds, xr.Dataset) else ds
    require_dims(position, "time", "space", "keypoint", "individual", name="position")
    space_unit = ds.attrs.get("space_unit") or position.attrs.get("space_unit") or "pixels"
    time_unit = ds.attrs.get("time_unit") or position.attrs.get("time_unit") or "seconds"
    extra = [d for d in position.dims if d not in ("time", "space", "keypoint", "individual")]
    if "ensemble" in extra:
        with warnings.catch_warnings():  # all-NaN frames stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            # plain numpy: xarray's median may JIT-compile numbagg kernels (seconds)
            position = position.reduce(np.nanmedian, dim="ensemble", keep_attrs=True)
        extra.remove("ensemble")
    if extra:
        raise PoseDataError(
            f"position: cannot draw extra dimension(s) {extra}; select one value of each first"
        )
    space = [str(s) for s in position["space"].values]
    if "x" not in space or "y" not in space:
        raise PoseDataError(f"position: expected 'x' and 'y' in space, found {space}")

    keypoints = _as_list(keypoint)
    if keypoints is not None:
        position = _select(position, "keypoint", keypoints, "keypoint")
    names = _as_list(individuals)
    if names is not None:
        position = _select(position, "individual", names, "individuals")
    if keypoints is not None and len(keypoints) == 1:
        what = keypoints[0]
    elif keypoints is not None:
        what = "mean of " + ", ".join(keypoints)
    else:
        what = "centroid"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        track = position.mean("keypoint", skipna=True)  # (time, space, individual)

    fig, ax = _figure_and_axes(ax)
    time = np.asarray(track["time"].values, dtype=float)
    for i, name in enumerate(str(n) for n in track["individual"].values):
        x = track.sel(space="x", individual=name).values
        y = track.sel(space="y", individual=name).values
        if color_by == "individual":
            kwargs = {"linewidth": 0.8, "color": f"C{i % 10}", **plot_kwargs}
            ax.plot(x, y, label=name, **kwargs)
        else:
            kwargs = {"s": 2, "cmap": cmap, **plot_kwargs}
            ok = np.isfinite(x) & np.isfinite(y)
            points = ax.scatter(
                x[ok], y[ok], c=time[ok], vmin=time.min(), vmax=time.max(), label=name, **kwargs
            )
    if color_by == "individual":
        if track.sizes["individual"] > 1:
            ax.legend(title="individual", fontsize="small")
    elif track.sizes["individual"] > 0:
        bar = fig.colorbar(points, ax=ax)
        bar.set_label(f"time ({time_unit})")
    ax.set_xlabel(f"x ({space_unit})")
    ax.set_ylabel(f"y ({space_unit})")
    ax.set_aspect("equal", adjustable="datalim")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    ax.set_title(f"trajectories ({what})")
    return fig, ax


def _budget_table(bouts_or_table: pd.DataFrame) -> pd.DataFrame:
    """Seconds per (behavior, individual) from bouts, a time-budget table or an Ethogram."""
    from behavior.ethogram import Ethogram
    from behavior.ethogram import time_budget as budget_of

    if isinstance(bouts_or_table, Ethogram):
        table = budget_of(bouts_or_table)
        budget = table.pivot(index="behavior", columns="individual", values="seconds")
        return budget.reindex(
            index=bouts_or_table.behaviors, columns=bouts_or_table.individuals
        ).astype(float)
    if not isinstance(bouts_or_table, pd.DataFrame):
        raise PoseDataError(
            "bouts_or_table: expected a pandas DataFrame of bouts or a time budget, "
            f"found {type(bouts_or_table).__name__}"
        )
    table = bouts_or_table
    value = next((c for c in ("seconds", "duration") if c in table.columns), None)
    if value is None or "behavior" not in table.columns:
        raise PoseDataError(
            "bouts_or_table: expected columns 'behavior', 'individual' and 'duration' "
            "(a bouts table, seconds per bout) or 'seconds' (a time budget), "
            f"found {list(table.columns)}"
        )
    if "individual" not in table.columns:
        table = table.assign(individual="all")
    return (
        table.groupby(["behavior", "individual"], sort=True)[value]
        .sum()
        .unstack("individual", fill_value=0.0)
        .astype(float)
    )


def time_budget(
    bouts_or_table: pd.DataFrame | Ethogram,
    ax: Axes | None = None,
    behaviors: Sequence[str] | None = None,
    **bar_kwargs: Any,
) -> tuple[Figure, Axes]:
    """Bar chart of the seconds each individual spends in each behavior.

    Parameters
    ----------
    bouts_or_table
        An :class:`~behavior.ethogram.Ethogram` (behaviors in its order), a
        bouts table (columns ``individual``, ``behavior``, ``duration`` in
        seconds; durations are summed) or a time-budget table with a
        ``seconds`` column instead of ``duration``. Without an ``individual``
        column all rows count for one group, ``"all"``.
    ax
        Axes to draw on; None makes a new figure.
    behaviors
        Behaviors to show, in this order (a behavior with no bout shows as 0);
        None shows those in the table, sorted.
    **bar_kwargs
        Passed to ``ax.bar``.

    Returns
    -------
    (Figure, Axes)
        One group of bars per behavior, one bar per individual.

    Raises
    ------
    PoseDataError
        If the table lacks the columns above.

    Examples
    --------
    >>> ds, truth = bh.simulate.session(duration="2 min", seed=0)  # doctest: +SKIP
    >>> fig, ax = bh.plot.time_budget(truth.bouts)  # doctest: +SKIP
    """
    budget = _budget_table(bouts_or_table)
    if behaviors is not None:
        budget = budget.reindex([str(b) for b in behaviors], fill_value=0.0)
    fig, ax = _figure_and_axes(ax)
    n_groups, n_bars = budget.shape
    width = 0.8 / max(n_bars, 1)
    centers = np.arange(n_groups)
    for i, individual in enumerate(budget.columns):
        offsets = centers - 0.4 + width * (i + 0.5)
        kwargs = {"color": f"C{i % 10}", **bar_kwargs}
        ax.bar(offsets, budget[individual].to_numpy(), width, label=str(individual), **kwargs)
    ax.set_xticks(centers)
    ax.set_xticklabels([str(b) for b in budget.index], rotation=30, ha="right")
    ax.set_xlabel("behavior")
    ax.set_ylabel("time (s)")
    ax.set_title("time budget")
    if n_bars > 1:
        ax.legend(title="individual", fontsize="small")
    return fig, ax


def _behavior_colors(names: list[str], colors: dict[str, Any] | None) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if len(names) > 10 else "tab10"]
    out = {n: cmap(i % cmap.N) for i, n in enumerate(names)}
    out.update(colors or {})
    return out


def ethogram(
    eth: Ethogram,
    ax: Axes | None = None,
    behaviors: str | Sequence[str] | None = None,
    individuals: str | Sequence[str] | None = None,
    colors: dict[str, Any] | None = None,
    legend: bool = True,
) -> tuple[Figure, Axes]:
    """Raster of who does what when: one row per individual x behavior.

    Bouts are drawn as bars (``broken_barh``), not frame by frame, so an
    hour-long session draws as fast as a short one. An exclusive ethogram
    (states) draws one row per individual, coloured by state; a
    non-exclusive one draws one row per individual and behavior. Instantaneous
    events (``eth.points``) are drawn as vertical ticks.

    Parameters
    ----------
    eth
        The ethogram.
    ax
        Axes to draw on; None makes a new figure sized to the rows.
    behaviors, individuals
        Names to draw (in this order); None draws all.
    colors
        Colour per behavior (others from ``tab10`` / ``tab20``).
    legend
        Add a legend of behavior colours.

    Returns
    -------
    (Figure, Axes)
        Rows top to bottom in the given order; x is the time coordinate.

    Examples
    --------
    >>> ds, truth = bh.simulate.session(duration="2 min", seed=0)  # doctest: +SKIP
    >>> eth = bh.ethogram.Ethogram.from_states(truth.labels)  # doctest: +SKIP
    >>> fig, ax = bh.plot.ethogram(eth)  # doctest: +SKIP
    """
    from behavior.ethogram import Ethogram

    if not isinstance(eth, Ethogram):
        raise PoseDataError(f"eth: expected an Ethogram, found {type(eth).__name__}")
    eth = eth.sel(behavior=_as_list(behaviors), individual=_as_list(individuals))
    names, inds = eth.behaviors, eth.individuals
    palette = _behavior_colors(names, colors)
    if eth.exclusive:
        rows = [(ind, None) for ind in inds]
        labels = inds
    else:
        rows = [(ind, b) for ind in inds for b in names]
        labels = [f"{ind} · {b}" if len(inds) > 1 else b for ind, b in rows]
    fig, ax = _figure_and_axes(ax, figsize=(10, 1 + 0.3 * max(len(rows), 1)))
    bouts = eth.to_bouts()
    row_of = {key: k for k, key in enumerate(rows)}
    drawn = set()
    for (ind, beh), group in bouts.groupby(["individual", "behavior"], sort=False):
        key = (ind, None) if eth.exclusive else (ind, beh)
        y = row_of[key]
        spans = list(zip(group["start"], group["duration"], strict=True))
        label = beh if beh not in drawn else None
        ax.broken_barh(spans, (y - 0.4, 0.8), facecolors=palette[beh], label=label)
        drawn.add(beh)
    if len(eth.points):
        for row in eth.points.itertuples(index=False):
            key = (row.individual, None) if eth.exclusive else (row.individual, row.behavior)
            if key in row_of:
                y = row_of[key]
                ax.vlines(row.time, y - 0.45, y + 0.45, colors=[palette.get(row.behavior, "k")])
    time = eth.time.astype(float)
    if time.size:
        ax.set_xlim(time[0], time[-1] + (eth._frame_seconds()[-1] if eth.fps else 0))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels)
    unit = eth.attrs.get("time_unit") or "seconds"
    ax.set_xlabel(f"time ({unit})")
    ax.set_title("ethogram")
    if legend and drawn and (eth.exclusive or len(inds) > 1):
        handles, texts = ax.get_legend_handles_labels()
        order = sorted(range(len(texts)), key=lambda i: names.index(texts[i]))
        ax.legend(
            [handles[i] for i in order],
            [texts[i] for i in order],
            fontsize="small",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    return fig, ax


def bout_durations(
    eth_or_bouts: Ethogram | pd.DataFrame,
    ax: Axes | None = None,
    behaviors: str | Sequence[str] | None = None,
    bins: int | Sequence[float] = 30,
    log: bool = False,
) -> tuple[Figure, Axes]:
    """Histogram of bout durations (seconds), one outline per behavior.

    Parameters
    ----------
    eth_or_bouts
        An ethogram or a bouts table with ``behavior`` and ``duration``.
    ax
        Axes to draw on; None makes a new figure.
    behaviors
        Behaviors to draw; None draws all that have bouts.
    bins
        Number of bins or bin edges (shared by all behaviors).
    log
        Logarithmic duration axis (bins spaced evenly in log).

    Returns
    -------
    (Figure, Axes)

    Examples
    --------
    >>> fig, ax = bh.plot.bout_durations(truth.bouts, behaviors=["groom", "rest"])  # doctest: +SKIP
    """
    from behavior.ethogram import Ethogram

    if isinstance(eth_or_bouts, Ethogram):
        bouts = eth_or_bouts.to_bouts()
        bouts["duration"] = eth_or_bouts._seconds(bouts["duration"].to_numpy())
        order = eth_or_bouts.behaviors
    elif isinstance(eth_or_bouts, pd.DataFrame) and {"behavior", "duration"} <= set(
        eth_or_bouts.columns
    ):
        bouts = eth_or_bouts
        order = sorted(set(bouts["behavior"].astype(str)))
    else:
        raise PoseDataError(
            "eth_or_bouts: expected an Ethogram or a bouts table with 'behavior' and "
            f"'duration', found {type(eth_or_bouts).__name__}"
        )
    names = _as_list(behaviors) or [b for b in order if (bouts["behavior"] == b).any()]
    fig, ax = _figure_and_axes(ax)
    durations = bouts["duration"].to_numpy(dtype=float)
    positive = durations[durations > 0]
    if np.ndim(bins) == 0 and positive.size:
        lo, hi = positive.min(), positive.max()
        edges = (
            np.geomspace(lo, hi * 1.0001, int(bins) + 1)
            if log
            else np.linspace(0, hi * 1.0001, int(bins) + 1)
        )
    else:
        edges = bins
    palette = _behavior_colors(order, None)
    for name in names:
        values = bouts.loc[bouts["behavior"] == name, "duration"].to_numpy(dtype=float)
        ax.hist(
            values, bins=edges, histtype="step", linewidth=1.5, color=palette.get(name), label=name
        )
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("bout duration (s)")
    ax.set_ylabel("bouts")
    ax.set_title("bout durations")
    if names:
        ax.legend(fontsize="small")
    return fig, ax


def transition_matrix(
    eth_or_matrix: Ethogram | pd.DataFrame,
    ax: Axes | None = None,
    individual: str = "all",
    normalize: bool = True,
    annotate: bool = True,
    cmap: str = "viridis",
) -> tuple[Figure, Axes]:
    """Heatmap of transitions between states (rows: from, columns: to).

    Parameters
    ----------
    eth_or_matrix
        An exclusive ethogram, or a square matrix from
        :func:`behavior.ethogram.transition_matrix`.
    ax
        Axes to draw on; None makes a new figure.
    individual, normalize
        As in :func:`behavior.ethogram.transition_matrix` (ethogram input).
    annotate
        Write each value in its cell.
    cmap
        Colormap.

    Returns
    -------
    (Figure, Axes)
        The image is ``ax.images[0]``; NaN cells (states never left) are blank.

    Examples
    --------
    >>> fig, ax = bh.plot.transition_matrix(eth)  # doctest: +SKIP
    """
    from behavior.ethogram import Ethogram
    from behavior.ethogram import transition_matrix as matrix_of

    if isinstance(eth_or_matrix, Ethogram):
        mat = matrix_of(eth_or_matrix, individual=individual, normalize=normalize)
    elif (
        isinstance(eth_or_matrix, pd.DataFrame) and eth_or_matrix.shape[0] == eth_or_matrix.shape[1]
    ):
        mat = eth_or_matrix
    else:
        raise PoseDataError(
            "eth_or_matrix: expected an exclusive Ethogram or a square DataFrame, found "
            f"{type(eth_or_matrix).__name__}"
        )
    fig, ax = _figure_and_axes(ax)
    values = mat.to_numpy(dtype=float)
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, label="probability" if normalize else "count")
    ticks = np.arange(len(mat))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(c) for c in mat.columns], rotation=45, ha="right")
    ax.set_yticks(ticks)
    ax.set_yticklabels([str(i) for i in mat.index])
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    if annotate and values.size <= 400:
        for (r, c), v in np.ndenumerate(values):
            if np.isfinite(v):
                text = f"{v:.2f}" if normalize else f"{int(v)}"
                ax.text(c, r, text, ha="center", va="center", fontsize="x-small", color="w")
    ax.set_title("transitions")
    return fig, ax


def _panel_grid(axes: Any, n: int, n_cols: int, panel_size: tuple[float, float], what: str):
    """``(fig, axes, flat)`` for ``n`` small panels: a new grid, or the axes given."""
    if axes is None:
        import matplotlib.pyplot as plt

        cols = max(1, min(int(n_cols), n))
        rows = max(1, -(-n // cols))
        width, height = panel_size
        fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    else:
        axes = np.asarray(axes, dtype=object)
        fig = axes.flat[0].figure
    flat = np.asarray(axes, dtype=object).ravel()
    if len(flat) < n:
        raise PoseDataError(f"axes: expected at least {n} axes (one per {what}), found {len(flat)}")
    return fig, axes, flat


# ---- syllables

__all__ += [
    "syllable_durations",
    "syllable_trajectories",
    "syllable_transitions",
    "syllable_usage",
]


def _syllable_usage_table(syl_or_usage: Any) -> pd.DataFrame:
    if isinstance(syl_or_usage, pd.DataFrame) and "usage" in syl_or_usage.columns:
        return syl_or_usage
    if hasattr(syl_or_usage, "usage") and hasattr(syl_or_usage, "codes"):
        return syl_or_usage.usage()
    raise PoseDataError(
        "syl: expected a Syllables result or its usage() table, found "
        f"{type(syl_or_usage).__name__}"
    )


def syllable_usage(
    syl: Any,
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
    >>> fig, ax = bh.plot.syllable_usage(syl, n_syllables=20)  # doctest: +SKIP
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
    syl: Any,
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
    >>> fig, ax = bh.plot.syllable_durations(syl)  # doctest: +SKIP
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
    if np.ndim(bins) == 0 and positive.size:
        lo, hi = positive.min(), positive.max() * 1.0001
        edges = np.geomspace(lo, hi, int(bins) + 1) if log else np.linspace(0, hi, int(bins) + 1)
    else:
        edges = bins
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
    syl: Any,
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
        As :func:`transition_matrix`: rows "from", columns "to".

    Examples
    --------
    >>> fig, ax = bh.plot.syllable_transitions(syl, n_syllables=10)  # doctest: +SKIP
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
    fig, ax = transition_matrix(mat, ax=ax, normalize=True, annotate=annotate, cmap=cmap)
    ax.set_xlabel("to syllable")
    ax.set_ylabel("from syllable")
    ax.set_title("syllable transitions" + (" (frames)" if self_transitions else ""))
    return fig, ax


def syllable_trajectories(
    syl_or_trajectories: Any,
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
    >>> fig, axes = bh.plot.syllable_trajectories(syl, syllables=8)  # doctest: +SKIP
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
    times = traj["time"].values.astype(float)
    onset = int(np.argmin(np.abs(times)))
    cmap = matplotlib.colormaps["tab10" if len(keypoints) <= 10 else "tab20"]
    counts = traj.attrs.get("n_bouts")
    unit = traj.attrs.get("space_unit", "")
    limits = []
    for dim in ("x", "y"):
        values = traj.sel(space=dim).values
        values = values[np.isfinite(values)]
        lo, hi = (values.min(), values.max()) if values.size else (-1.0, 1.0)
        pad = 0.05 * max(hi - lo, 1e-9)
        limits.append((lo - pad, hi + pad))
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
        if skeleton:
            index = {name: i for i, name in enumerate(keypoints)}
            for a, b in skeleton:
                if a in index and b in index:
                    ax.plot(
                        x[onset, [index[a], index[b]]],
                        y[onset, [index[a], index[b]]],
                        color="0.3",
                        lw=1,
                    )
        ax.scatter(
            x[onset],
            y[onset],
            c=[cmap(k % cmap.N) for k in range(len(keypoints))],
            s=14,
            zorder=3,
            edgecolors="k",
            linewidths=0.3,
        )
        ax.set_xlim(*limits[0])
        ax.set_ylim(limits[1][1], limits[1][0])
        ax.set_aspect("equal")
        label = f"syllable {int(traj['syllable'].values[j])}"
        if counts is not None and j < len(counts):
            label += f" ({counts[j]} bouts)"
        ax.set_title(label, fontsize="small")
        ax.tick_params(labelsize="x-small")
    if created:
        frame = traj.attrs.get("frame", "onset")
        where = "body frame at onset" if frame == "onset" else "body frame"
        fig.suptitle(
            f"average pose trajectories ({where}, x forward{', ' + unit if unit else ''})",
            fontsize="medium",
        )
        fig.tight_layout()
    return fig, axes


# ---- embedding (behavior maps)

__all__ += ["behavior_map", "cluster_poses"]


def _region_edges(regions: np.ndarray) -> np.ndarray:
    """Cells on the border between two regions of a label map."""
    edges = np.zeros(regions.shape, dtype=bool)
    edges[:-1, :] |= regions[1:, :] != regions[:-1, :]
    edges[:, :-1] |= regions[:, 1:] != regions[:, :-1]
    return edges


def behavior_map(
    bmap: Any,
    ax: Axes | None = None,
    cmap: str = "magma",
    regions: bool = True,
    labels: bool = True,
    points: bool = False,
) -> tuple[Figure, Axes]:
    """Density of a behavior map with its watershed regions and cluster labels.

    Parameters
    ----------
    bmap
        A fitted 2-D :class:`~behavior.embedding.BehaviorMap` (its ``density_``,
        ``regions_``, ``embedding_`` and ``labels_`` are drawn), or a density
        DataArray ``(y, x)`` (from :func:`behavior.embedding.density_map`).
    ax
        Axes to draw on; None makes a new figure.
    cmap
        Colormap of the density.
    regions
        Draw the borders of the watershed regions (white lines).
    labels
        Write each cluster's number at the median position of its sampled
        frames (BehaviorMap input only).
    points
        Also scatter the sampled frames, coloured by cluster (noise grey).

    Returns
    -------
    (Figure, Axes)

    Raises
    ------
    PoseDataError
        For an unfitted map, a map that is not 2-D, or another input.

    Examples
    --------
    >>> fig, ax = bh.plot.behavior_map(bmap)  # doctest: +SKIP
    """
    import matplotlib
    from matplotlib.colors import ListedColormap

    from behavior.embedding import watershed_regions

    if isinstance(bmap, xr.DataArray):
        require_dims(bmap, "y", "x", name="bmap")
        density, region_map, emb, lab, title = bmap, None, None, None, "density"
    elif hasattr(bmap, "embedding_") or hasattr(bmap, "get_params"):
        if not hasattr(bmap, "embedding_"):
            raise PoseDataError("bmap: this BehaviorMap is not fitted yet; call fit(X) first")
        if getattr(bmap, "density_", None) is None:
            raise PoseDataError(
                f"bmap: the map has {bmap.embedding_.shape[1]} dimensions; a density map needs "
                "n_dims=2"
            )
        density, region_map = bmap.density_, bmap.regions_
        emb, lab = bmap.embedding_, bmap.labels_
        title = f"behavior map ({bmap.embedding_method_}, {bmap.n_clusters_} clusters)"
    else:
        raise PoseDataError(
            f"bmap: expected a fitted BehaviorMap or a density DataArray (y, x), found "
            f"{type(bmap).__name__}"
        )
    fig, ax = _figure_and_axes(ax, figsize=(5.5, 5))
    x0, x1, y0, y1 = density.attrs.get(
        "extent",
        [
            float(density["x"].min()),
            float(density["x"].max()),
            float(density["y"].min()),
            float(density["y"].max()),
        ],
    )
    values = np.asarray(density.values, dtype=float)
    image = ax.imshow(
        values,
        origin="lower",
        extent=(x0, x1, y0, y1),
        cmap=cmap,
        aspect="auto",
        interpolation="nearest",
    )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="probability per cell")
    if regions:
        region_map = watershed_regions(values) if region_map is None else region_map.values
        edges = _region_edges(np.asarray(region_map))
        ax.imshow(
            np.ma.masked_where(~edges, edges.astype(float)),
            origin="lower",
            extent=(x0, x1, y0, y1),
            cmap=ListedColormap(["white"]),
            aspect="auto",
            interpolation="nearest",
            alpha=0.8,
        )
    if emb is not None and points:
        palette = matplotlib.colormaps["tab20"]
        colors = [palette(int(k) % 20) if k >= 0 else (0.6, 0.6, 0.6, 1.0) for k in lab]
        ax.scatter(emb[:, 0], emb[:, 1], c=colors, s=2, alpha=0.5, linewidths=0)
    if emb is not None and labels:
        for k in range(int(lab.max()) + 1 if len(lab) else 0):
            mine = emb[lab == k]
            if len(mine):
                cx, cy = np.median(mine, axis=0)
                ax.text(
                    cx,
                    cy,
                    str(k),
                    color="w",
                    fontsize="small",
                    ha="center",
                    va="center",
                    fontweight="bold",
                )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("dim 0")
    ax.set_ylabel("dim 1")
    ax.set_title(title, fontsize="medium")
    return fig, ax


def _default_skeleton(keypoints: list[str]) -> list[tuple[str, str]]:
    """Midline (nose - neck - body centre - tail base, then the tail) and the ears."""
    from itertools import pairwise

    from behavior.social import keypoint_roles

    try:
        roles = keypoint_roles(keypoints)
    except PoseDataError:
        return []
    chain = [
        name
        for name in (roles.nose, roles.neck, roles.body_center, roles.tail_base)
        if name is not None
    ]
    if roles.tail_base is not None:
        chain += [k for k in keypoints if "tail" in k.lower() and k not in chain]
    pairs = list(pairwise(chain))
    head = roles.neck or roles.nose
    for ear in (roles.left_ear, roles.right_ear):
        if ear is not None and head is not None:
            pairs.append((ear, head))
    return pairs


def cluster_poses(
    poses: xr.DataArray,
    clusters: int | Sequence[str] | None = None,
    n_cols: int = 4,
    skeleton: Sequence[tuple[str, str]] | None = None,
    axes: Any = None,
) -> tuple[Figure, Any]:
    """Average egocentric pose of each cluster, one panel per cluster.

    Parameters
    ----------
    poses
        ``(cluster, space, keypoint)`` from
        :meth:`behavior.embedding.BehaviorMap.cluster_poses` (body frame: x
        forward, y to the side; drawn in image orientation, y down).
    clusters
        An int ``n`` for the first ``n`` clusters (the most frequent), or names
        (None: all).
    n_cols
        Panels per row.
    skeleton
        Pairs of keypoint names to join; default the midline (nose, neck, body
        centre, tail base, tail) and the ears, found by name.
    axes
        Axes to draw on (at least one per cluster); None makes a new figure.

    Returns
    -------
    (Figure, ndarray of Axes)

    Raises
    ------
    PoseDataError
        For missing dims or too few axes.

    Examples
    --------
    >>> fig, axes = bh.plot.cluster_poses(bmap.cluster_poses(ds))  # doctest: +SKIP
    """
    import matplotlib

    require_dims(poses, "cluster", "space", "keypoint", name="poses")
    if clusters is not None:
        if isinstance(clusters, int | np.integer):
            poses = poses.isel(cluster=slice(0, int(clusters)))
        else:
            poses = _select(poses, "cluster", _as_list(clusters) or [], "clusters")
    n = poses.sizes["cluster"]
    created = axes is None
    fig, axes, flat = _panel_grid(axes, n, n_cols, (2.4, 2.2), "cluster")
    keypoints = [str(k) for k in poses["keypoint"].values]
    pairs = _default_skeleton(keypoints) if skeleton is None else list(skeleton)
    index = {name: i for i, name in enumerate(keypoints)}
    cmap = matplotlib.colormaps["tab10" if len(keypoints) <= 10 else "tab20"]
    x_all = poses.sel(space="x").values
    y_all = poses.sel(space="y").values
    limits = []
    for values in (x_all, y_all):
        values = values[np.isfinite(values)]
        lo, hi = (values.min(), values.max()) if values.size else (-1.0, 1.0)
        pad = 0.08 * max(hi - lo, 1e-9)
        limits.append((lo - pad, hi + pad))
    counts = poses["n_frames"].values if "n_frames" in poses.coords else None
    for j, ax in enumerate(flat):
        if j >= n:
            ax.set_visible(False)
            continue
        x, y = x_all[j], y_all[j]
        for a, b in pairs:
            if a in index and b in index:
                ax.plot(x[[index[a], index[b]]], y[[index[a], index[b]]], color="0.3", lw=1.2)
        ax.scatter(
            x,
            y,
            c=[cmap(k % cmap.N) for k in range(len(keypoints))],
            s=16,
            zorder=3,
            edgecolors="k",
            linewidths=0.3,
        )
        ax.set_xlim(*limits[0])
        ax.set_ylim(limits[1][1], limits[1][0])
        ax.set_aspect("equal")
        label = str(poses["cluster"].values[j])
        if counts is not None:
            label += f" ({int(counts[j])} frames)"
        ax.set_title(label, fontsize="small")
        ax.tick_params(labelsize="x-small")
    if created:
        unit = poses.attrs.get("space_unit", "")
        fig.suptitle(
            f"average pose per cluster (body frame, x forward{', ' + unit if unit else ''})",
            fontsize="medium",
        )
        fig.tight_layout()
    return fig, axes


# ---- classifiers

__all__ += ["feature_importance", "learning_curve", "pr_curve"]


def pr_curve(
    result: Any,
    ax: Axes | None = None,
    behaviors: str | Sequence[str] | None = None,
) -> tuple[Figure, Axes]:
    """Precision-recall curves of a cross-validated classifier, one per behavior.

    Parameters
    ----------
    result
        A :class:`behavior.classify.CVResult` (its ``pr_curve``, with the chosen
        threshold of each behavior marked) or a table with columns
        ``behavior``, ``precision``, ``recall`` (and ``threshold``).
    ax
        Axes to draw on; None makes a new figure.
    behaviors
        Behaviors to draw; None draws all.

    Returns
    -------
    (Figure, Axes)
        Recall on x, precision on y, both 0-1; the legend gives each
        behavior's average precision when ``result`` is a CVResult.

    Examples
    --------
    >>> res = bh.classify.cross_validate(clf, sessions, labels)  # doctest: +SKIP
    >>> fig, ax = bh.plot.pr_curve(res)  # doctest: +SKIP
    """
    table = getattr(result, "pr_curve", result)
    if not isinstance(table, pd.DataFrame):
        raise PoseDataError(
            f"result: expected a CVResult or a pr_curve table, found {type(result).__name__}"
        )
    missing = [c for c in ("behavior", "precision", "recall") if c not in table]
    if missing:
        raise PoseDataError(f"result: the table lacks column(s) {missing}")
    names = _as_list(behaviors) or list(dict.fromkeys(table["behavior"]))
    summary = getattr(result, "summary", None)
    chosen = getattr(result, "thresholds", None) or {}
    palette = _behavior_colors(names, None)
    fig, ax = _figure_and_axes(ax, figsize=(5, 4.5))
    for name in names:
        part = table[table["behavior"] == name]
        if part.empty:
            continue
        label = name
        if summary is not None and "average_precision" in summary:
            ap = summary.loc[summary["behavior"] == name, "average_precision"]
            if len(ap):
                label = f"{name} (AP {float(ap.iloc[0]):.2f})"
        ax.plot(part["recall"], part["precision"], color=palette[name], label=label)
        if name in chosen and "threshold" in part:
            k = int(np.argmin(np.abs(part["threshold"].to_numpy() - chosen[name])))
            ax.plot(part["recall"].iloc[k], part["precision"].iloc[k], "o", color=palette[name],
                    markeredgecolor="k")  # fmt: skip
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("precision-recall (held-out folds)")
    ax.legend(fontsize="small", loc="lower left")
    return fig, ax


def learning_curve(
    table: pd.DataFrame,
    ax: Axes | None = None,
    axis: str = "frames",
    metric: str = "frame_f1",
    behaviors: str | Sequence[str] | None = None,
) -> tuple[Figure, Axes]:
    """Held-out score against the amount of labels, mean and spread over folds.

    Parameters
    ----------
    table
        The output of :func:`behavior.classify.learning_curve`.
    ax
        Axes to draw on; None makes a new figure.
    axis
        ``"frames"``: x is the labelled time (seconds, or frames without a
        frame rate); ``"videos"``: x is the number of labelled videos.
    metric
        Column to draw (``"frame_f1"``, ``"average_precision"`` ...).
    behaviors
        Behaviors to draw; None draws all.

    Returns
    -------
    (Figure, Axes)

    Examples
    --------
    >>> curve = bh.classify.learning_curve(clf, sessions, labels)  # doctest: +SKIP
    >>> fig, ax = bh.plot.learning_curve(curve, axis="videos")  # doctest: +SKIP
    """
    if axis not in ("frames", "videos"):
        raise PoseDataError(f"axis: expected 'frames' or 'videos', found {axis!r}")
    missing = [c for c in ("axis", "size", "behavior", metric) if c not in table]
    if missing:
        raise PoseDataError(f"table: lacks column(s) {missing}; expected learning_curve output")
    part = table[table["axis"] == axis]
    if part.empty:
        raise PoseDataError(f"table: no rows for axis {axis!r} (videos need two or more groups)")
    if axis == "frames":
        seconds = part["labelled_seconds"].notna().all()
        x_col, x_label = (
            ("labelled_seconds", "labelled time (s)") if seconds
            else ("labelled_frames", "labelled frames")
        )  # fmt: skip
    else:
        x_col, x_label = "size", "labelled videos"
    names = _as_list(behaviors) or list(dict.fromkeys(part["behavior"]))
    palette = _behavior_colors(names, None)
    fig, ax = _figure_and_axes(ax, figsize=(5.5, 4))
    for name in names:
        rows = part[part["behavior"] == name]
        grouped = rows.groupby("size").agg(
            x=(x_col, "mean"), mean=(metric, "mean"), sd=(metric, "std")
        )
        grouped = grouped.sort_values("x")
        ax.plot(grouped["x"], grouped["mean"], "o-", color=palette[name], label=name)
        sd = grouped["sd"].fillna(0)
        ax.fill_between(grouped["x"], grouped["mean"] - sd, grouped["mean"] + sd,
                        color=palette[name], alpha=0.2, linewidth=0)  # fmt: skip
    ax.set_xlabel(x_label)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_ylim(0, 1.01)
    ax.set_title("how many labels? (held-out folds)")
    ax.legend(fontsize="small", loc="lower right")
    return fig, ax


def feature_importance(
    table: pd.DataFrame,
    ax: Axes | None = None,
    behavior: str | None = None,
    top: int = 20,
) -> tuple[Figure, Axes]:
    """Horizontal bars of the most important features of one behavior.

    Parameters
    ----------
    table
        :meth:`behavior.classify.BehaviorClassifier.feature_importance`
        (column ``importance``) or
        :func:`behavior.classify.permutation_importance` (``importance_mean``
        with ``importance_std`` drawn as error bars).
    ax
        Axes to draw on; None makes a new figure.
    behavior
        The behavior; None takes the first in the table.
    top
        Number of features drawn, most important at the top.

    Returns
    -------
    (Figure, Axes)

    Examples
    --------
    >>> fig, ax = bh.plot.feature_importance(clf.feature_importance(), top=15)  # doctest: +SKIP
    """
    value = "importance_mean" if "importance_mean" in table else "importance"
    missing = [c for c in ("behavior", "feature", value) if c not in table]
    if missing:
        raise PoseDataError(f"table: lacks column(s) {missing}; expected an importance table")
    if behavior is None:
        behavior = str(table["behavior"].iloc[0])
    part = table[table["behavior"] == behavior]
    if part.empty:
        raise PoseDataError(
            f"behavior: {behavior!r} not in the table; available: "
            f"{list(dict.fromkeys(table['behavior']))}"
        )
    part = part.sort_values(value, ascending=False).head(top)
    fig, ax = _figure_and_axes(ax, figsize=(6, 0.8 + 0.25 * len(part)))
    y = np.arange(len(part))
    err = part["importance_std"].to_numpy() if "importance_std" in part else None
    ax.barh(y, part[value].to_numpy(), xerr=err, color="tab:blue", alpha=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(part["feature"].tolist(), fontsize="small")
    ax.invert_yaxis()
    kind = "permutation (drop in average precision)" if value == "importance_mean" else "impurity"
    ax.set_xlabel(f"importance: {kind}")
    ax.set_title(f"{behavior}: top {len(part)} features")
    return fig, ax
