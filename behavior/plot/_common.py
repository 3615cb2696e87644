"""Helpers every figure module shares: axes, name selection, colours, panel grids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from behavior.errors import PoseDataError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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


def _behavior_colors(names: list[str], colors: dict[str, Any] | None) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab20" if len(names) > 10 else "tab10"]
    out = {n: cmap(i % cmap.N) for i, n in enumerate(names)}
    out.update(colors or {})
    return out


def _panel_grid(
    axes: Any, n: int, n_cols: int, panel_size: tuple[float, float], what: str
) -> tuple[Figure, Any, np.ndarray]:
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


def _duration_edges(durations: np.ndarray, bins: int | Sequence[float], log: bool) -> Any:
    """Histogram bins of durations: edges as given, or ``bins`` bins over the positive ones."""
    positive = durations[durations > 0]
    if np.ndim(bins) != 0 or not positive.size:
        return bins
    lo, hi = positive.min(), positive.max() * 1.0001
    return np.geomspace(lo, hi, int(bins) + 1) if log else np.linspace(0, hi, int(bins) + 1)


def _pose_limits(x: np.ndarray, y: np.ndarray, pad: float) -> list[tuple[float, float]]:
    """x and y limits shared by pose panels: the finite range widened by ``pad`` of itself."""
    limits = []
    for values in (x, y):
        values = values[np.isfinite(values)]
        lo, hi = (values.min(), values.max()) if values.size else (-1.0, 1.0)
        margin = pad * max(hi - lo, 1e-9)
        limits.append((lo - margin, hi + margin))
    return limits


def _draw_pose(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    keypoints: list[str],
    pairs: Sequence[tuple[str, str]],
    limits: list[tuple[float, float]],
    *,
    size: float,
    line_width: float,
) -> None:
    """One pose in a panel: ``pairs`` joined in grey, keypoints as dots, y down, equal aspect."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(keypoints) <= 10 else "tab20"]
    index = {name: i for i, name in enumerate(keypoints)}
    for a, b in pairs:
        if a in index and b in index:
            ends = [index[a], index[b]]
            ax.plot(x[ends], y[ends], color="0.3", lw=line_width)
    ax.scatter(
        x,
        y,
        c=[cmap(k % cmap.N) for k in range(len(keypoints))],
        s=size,
        zorder=3,
        edgecolors="k",
        linewidths=0.3,
    )
    ax.set_xlim(*limits[0])
    ax.set_ylim(limits[1][1], limits[1][0])
    ax.set_aspect("equal")
    ax.tick_params(labelsize="x-small")


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
