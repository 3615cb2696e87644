"""Figures of behavior maps: the embedding's density and regions, average poses per cluster."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from behavior.dataset import require_dims
from behavior.errors import PoseDataError
from behavior.plot._common import (
    _as_list,
    _default_skeleton,
    _draw_pose,
    _figure_and_axes,
    _panel_grid,
    _pose_limits,
    _select,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from behavior.embedding import BehaviorMap

__all__ = ["behavior_map", "cluster_pose_panels"]


def _region_edges(regions: np.ndarray) -> np.ndarray:
    """Cells on the border between two regions of a label map."""
    edges = np.zeros(regions.shape, dtype=bool)
    edges[:-1, :] |= regions[1:, :] != regions[:-1, :]
    edges[:, :-1] |= regions[:, 1:] != regions[:, :-1]
    return edges


def behavior_map(
    bmap: BehaviorMap | xr.DataArray,
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
    >>> import numpy as np, xarray as xr, behavior as bh
    >>> grid = np.linspace(-1, 1, 40)
    >>> bumps = np.exp(-((grid[None, :] - 0.5) ** 2 + grid[:, None] ** 2) / 0.1)
    >>> bumps += np.exp(-((grid[None, :] + 0.5) ** 2 + grid[:, None] ** 2) / 0.1)
    >>> density = xr.DataArray(bumps / bumps.sum(), dims=("y", "x"), coords={"y": grid, "x": grid})
    >>> fig, ax = bh.plot.behavior_map(density)  # or a fitted BehaviorMap
    >>> ax.get_title(), len(ax.images)  # the density, then the region borders
    ('density', 2)
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


def cluster_pose_panels(
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
    >>> import numpy as np, xarray as xr, behavior as bh
    >>> poses = xr.DataArray(
    ...     np.array([[[2.0, 1.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]],
    ...               [[2.0, 1.0, 0.0, -1.0], [0.5, 0.2, 0.0, -0.3]]]),
    ...     dims=("cluster", "space", "keypoint"),
    ...     coords={"cluster": ["0", "1"], "space": ["x", "y"],
    ...             "keypoint": ["nose", "neck", "body_center", "tail_base"]})
    >>> fig, axes = bh.plot.cluster_pose_panels(poses)  # poses: BehaviorMap.cluster_poses(ds)
    >>> [ax.get_title() for ax in axes.ravel()]
    ['0', '1']
    """

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
    x_all = poses.sel(space="x").values
    y_all = poses.sel(space="y").values
    limits = _pose_limits(x_all, y_all, pad=0.08)
    counts = poses["n_frames"].values if "n_frames" in poses.coords else None
    for j, ax in enumerate(flat):
        if j >= n:
            ax.set_visible(False)
            continue
        _draw_pose(ax, x_all[j], y_all[j], keypoints, pairs, limits, size=16, line_width=1.2)
        label = str(poses["cluster"].values[j])
        if counts is not None:
            label += f" ({int(counts[j])} frames)"
        ax.set_title(label, fontsize="small")
    if created:
        unit = poses.attrs.get("space_unit", "")
        fig.suptitle(
            f"average pose per cluster (body frame, x forward{', ' + unit if unit else ''})",
            fontsize="medium",
        )
        fig.tight_layout()
    return fig, axes
