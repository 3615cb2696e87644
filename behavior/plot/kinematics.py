"""Figures of movement: the paths of the individuals in the arena."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from behavior.dataset import require_dims, time_seconds
from behavior.errors import PoseDataError
from behavior.plot._common import _as_list, _figure_and_axes, _select

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["trajectories"]


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
    >>> import numpy as np, behavior as bh
    >>> t = np.linspace(0, 2 * np.pi, 60)
    >>> circle = 100 + 20 * np.stack([np.cos(t), np.sin(t)], axis=1)  # (time, space)
    >>> ds = bh.from_numpy(circle[:, :, None, None], keypoint_names=["nose"], fps=30)
    >>> fig, ax = bh.plot.trajectories(ds, keypoint="nose", color_by="time")
    >>> ax.get_title(), bool(ax.yaxis_inverted())
    ('trajectories (nose)', True)
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
    time = time_seconds(track)
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
