"""Pairwise relations between individuals: distances, and (later) gaze and approach.

Every function returns a DataArray with an ``individual`` and an ``other`` dim:
the value for the ordered pair (``individual`` = i, ``other`` = j) describes j as
seen from i. The pair of an individual with itself is NaN. The ``time``
coordinate and any extra dims (``ensemble``) of the input are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from behavior.dataset import append_log, require_dims
from behavior.errors import PoseDataError
from behavior.kinematics import _position_of, centroid

__all__ = ["centroid_distances"]


def centroid_distances(
    ds_or_position: xr.Dataset | xr.DataArray, keypoints: Sequence[str] | None = None
) -> xr.DataArray:
    """Distance between the centroids of every ordered pair of individuals.

    Parameters
    ----------
    ds_or_position
        Pose dataset or positions with dims ``space``, ``keypoint`` and
        ``individual``.
    keypoints
        Keypoints whose mean is each animal's centroid (default: all; see
        :func:`behavior.kinematics.centroid`).

    Returns
    -------
    xr.DataArray
        Dims of the positions with ``space`` and ``keypoint`` dropped and an
        ``other`` dim after ``individual`` (``(time, individual, other)`` for a
        pose dataset), in space units; symmetric in ``individual`` and
        ``other``. The diagonal (an individual with itself) is NaN, so that
        ``min("other")`` is the distance to the nearest other animal.

    Raises
    ------
    PoseDataError
        If a dim or keypoint is missing.

    Notes
    -----
    NaN where either centroid is NaN (no keypoint of that animal present in the
    frame).

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="5 s", seed=0)
    >>> d = centroid_distances(ds)
    >>> d.dims, bool(d.isel(time=0, individual=0, other=0).isnull())
    (('time', 'individual', 'other'), True)
    """
    position = _position_of(ds_or_position)
    require_dims(position, "space", "keypoint", "individual", name="position")
    names = [str(v) for v in position["individual"].values]
    if len(names) < 1:
        raise PoseDataError("individual: expected at least one individual, found none")
    center = centroid(position, keypoints)
    axis_space = center.get_axis_num("space")
    axis_ind = center.get_axis_num("individual")
    values = np.moveaxis(np.asarray(center.values), [axis_space, axis_ind], [-2, -1])
    # values: (..., space, individual); difference over every ordered pair
    diff = values[..., :, :, None] - values[..., :, None, :]
    dist = np.sqrt(np.add.reduce(diff * diff, axis=-3))  # (..., individual, other)
    idx = np.arange(len(names))
    dist[..., idx, idx] = np.nan
    rest = [d for d in center.dims if d not in ("space", "individual")]
    dims_out = []
    for d in center.dims:
        if d == "space":
            continue
        dims_out.append(d)
        if d == "individual":
            dims_out.append("other")
    order = [*rest, "individual", "other"]
    data = np.transpose(dist, [order.index(d) for d in dims_out])
    coords = {k: v for k, v in center.coords.items() if "space" not in v.dims}
    out = xr.DataArray(
        data, dims=dims_out, coords=coords, name="centroid_distance", attrs=dict(center.attrs)
    )
    out = out.assign_coords(other=("other", position["individual"].values))
    return append_log(out, "social.centroid_distances", keypoints=keypoints)
