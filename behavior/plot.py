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
