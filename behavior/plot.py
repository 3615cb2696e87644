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

__all__ = ["time_budget", "trajectories"]


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
    """Seconds per (behavior, individual) from a bouts table or a time-budget table."""
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
    bouts_or_table: pd.DataFrame,
    ax: Axes | None = None,
    behaviors: Sequence[str] | None = None,
    **bar_kwargs: Any,
) -> tuple[Figure, Axes]:
    """Bar chart of the seconds each individual spends in each behavior.

    Parameters
    ----------
    bouts_or_table
        A bouts table (columns ``individual``, ``behavior``, ``duration`` in
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
