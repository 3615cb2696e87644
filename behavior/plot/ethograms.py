"""Figures of ethograms: the raster of bouts, time budgets, bout durations, transitions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from behavior.dataset import fps_of, time_seconds, time_step
from behavior.errors import PoseDataError
from behavior.plot._common import _as_list, _behavior_colors, _duration_edges, _figure_and_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from behavior.ethogram import Ethogram

__all__ = ["bout_durations", "ethogram_raster", "time_budget_bars", "transition_heatmap"]


def ethogram_raster(
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
    >>> import xarray as xr, behavior as bh
    >>> states = xr.DataArray([[0, 1], [0, 1], [1, 1], [1, 0]], dims=("time", "individual"),
    ...                       coords={"individual": ["m1", "m2"]},
    ...                       attrs={"labels": ["rest", "walk"], "fps": 1.0})
    >>> fig, ax = bh.plot.ethogram_raster(bh.Ethogram.from_states(states))
    >>> [label.get_text() for label in ax.get_yticklabels()], [float(x) for x in ax.get_xlim()]
    (['m1', 'm2'], [0.0, 4.0])
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
    time = time_seconds(eth.labels)
    if time.size:
        ax.set_xlim(time[0], time[-1] + (time_step(eth.labels) if eth.fps else 0))
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


def time_budget_bars(
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
    >>> import pandas as pd, behavior as bh
    >>> bouts = pd.DataFrame({"individual": ["m1", "m1", "m2"],
    ...                       "behavior": ["rest", "walk", "rest"], "duration": [2.0, 1.5, 3.0]})
    >>> fig, ax = bh.plot.time_budget_bars(bouts)
    >>> [float(bar.get_height()) for bar in ax.patches]  # m1: rest, walk; m2: rest, walk
    [2.0, 1.5, 3.0, 0.0]
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
    >>> import pandas as pd, behavior as bh
    >>> bouts = pd.DataFrame({"behavior": ["rest", "rest", "walk"], "duration": [2.0, 4.0, 1.0]})
    >>> fig, ax = bh.plot.bout_durations(bouts, bins=[0, 1.5, 3, 4.5])
    >>> [text.get_text() for text in ax.get_legend().get_texts()]  # one outline each
    ['rest', 'walk']
    """
    from behavior.ethogram import Ethogram

    if isinstance(eth_or_bouts, Ethogram):
        bouts = eth_or_bouts.to_bouts()
        fps = fps_of(eth_or_bouts.labels)
        if eth_or_bouts.attrs.get("time_unit") == "frames" and fps:
            bouts["duration"] = bouts["duration"].to_numpy(dtype=float) / fps
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
    edges = _duration_edges(durations, bins, log)
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


def transition_heatmap(
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
    >>> import xarray as xr, behavior as bh
    >>> states = xr.DataArray([[0], [1], [0], [1], [1]], dims=("time", "individual"),
    ...                       attrs={"labels": ["rest", "walk"]})
    >>> fig, ax = bh.plot.transition_heatmap(bh.Ethogram.from_states(states))
    >>> ax.images[0].get_array().tolist()  # rows: from, columns: to
    [[0.0, 1.0], [1.0, 0.0]]
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
