"""netCDF: the lossless native format (``.nc``), readable by movement.

``ds.to_netcdf`` keeps every variable, coordinate and attribute, including the
processing ``log`` (a JSON string). Datasets written by movement 0.17 read back
directly; movement < 0.17 files with plural ``keypoints`` / ``individuals`` dims
are renamed on read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from behavior._json import dumps
from behavior.dataset import check_fps
from behavior.errors import FileFormatError, MissingDependencyError, PoseDataError
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

# A format module's public API is its Frontend; load_annotations / save_annotations
# (or load_poses / save_poses) call the read, write and sniff functions through it.
__all__ = ["FRONTEND", "singular_layout"]


_NETCDF_SUFFIXES = (".nc", ".netcdf", ".nc4")


def sniff(probe: Probe) -> Verdict:
    """Accept netCDF-3 files and netCDF-4 (HDF5) files that hold a ``position`` variable."""
    if probe.is_netcdf3:
        return accept(reason="netCDF-3 signature")
    if not probe.is_hdf5:
        return refuse("neither a netCDF-3 nor an HDF5/netCDF-4 file")
    tree = probe.h5_tree
    is_netcdf4 = "_NCProperties" in tree.get("/", {})
    if not is_netcdf4:
        if probe.has_suffix(*_NETCDF_SUFFIXES):
            return refuse(
                "an HDF5 file with a netCDF suffix but without the netCDF-4 "
                "'_NCProperties' root attribute"
            )
        return refuse("HDF5 file without the netCDF-4 '_NCProperties' root attribute")
    if "position" in tree and any(k in tree for k in ("time", "keypoint", "keypoints")):
        return accept(reason="netCDF-4 with a position variable")
    if probe.has_suffix(*_NETCDF_SUFFIXES):
        return refuse("an HDF5 file with a netCDF suffix but no 'position' variable")
    return refuse("HDF5 file without netCDF 'position' and 'time' variables")


def read(path: Path, *, fps: float | None = None, **options: Any) -> xr.Dataset:
    """Read a pose dataset written with ``to_netcdf`` (by behavior or movement).

    ``options`` go to :func:`xarray.open_dataset`; a name it does not take is refused
    with :class:`~behavior.errors.PoseDataError` listing those it does.
    """
    _check_open_options(options)
    try:
        with xr.open_dataset(path, **options) as opened:
            ds = opened.load()
    except MissingDependencyError:
        raise
    except Exception as err:  # h5py / netCDF4 / xarray errors on a damaged file
        raise FileFormatError(
            f"{path}: cannot be read as netCDF (expected a netCDF-3 or netCDF-4 file written "
            f"by to_netcdf; found {type(err).__name__}: {err})"
        ) from err
    ds = singular_layout(ds)
    if "position" not in ds:
        raise FileFormatError(
            f"{path}: expected a netCDF pose dataset with a 'position' variable, "
            f"found variables {list(ds.data_vars)}"
        )
    for dim in ("space", "keypoint", "individual"):
        if dim in ds.coords and ds[dim].dtype.kind in "OSU":
            ds = ds.assign_coords({dim: ds[dim].values.astype(str).astype(object)})
    if fps is not None and ds.attrs.get("time_unit") == "frames":
        fps = check_fps(fps, "fps")
        time = ds.time.values
        if not np.issubdtype(time.dtype, np.number):
            raise FileFormatError(
                f"{path}: expected numeric frame numbers in 'time' (time_unit='frames'), "
                f"found dtype {time.dtype}"
            )
        ds = ds.assign_coords(time=np.asarray(time, dtype=np.float64) / fps)
        ds.attrs.update(fps=fps, time_unit="seconds")
    if "confidence" not in ds:
        shape = [ds.sizes[d] for d in ds.position.dims if d != "space"]
        dims = [d for d in ds.position.dims if d != "space"]
        ds["confidence"] = (dims, np.full(shape, np.nan))
    return ds


PLURAL_TO_SINGULAR = {"keypoints": "keypoint", "individuals": "individual"}
"""movement < 0.17's plural dim names and behavior's (movement >= 0.17) singular ones."""


def singular_layout(ds: xr.Dataset) -> xr.Dataset:
    """movement's plural (< 0.17) layout renamed and reordered into behavior's own.

    The one normaliser of the two schema generations, used by the netCDF reader
    and :func:`behavior.decode.from_movement`: ``keypoints`` / ``individuals``
    become ``keypoint`` / ``individual`` wherever they appear, ``position`` is
    put in the order ``(..., time, space, keypoint, individual)`` and
    ``confidence`` in ``(..., time, keypoint, individual)`` (any extra dim, such
    as ``ensemble``, first), whatever order the file had. A dataset already in
    the singular layout only has its variables reordered; one without
    ``position`` is only renamed. Nothing is checked here: the callers say what
    they expected.

    Parameters
    ----------
    ds
        A poses dataset of either generation.

    Returns
    -------
    xr.Dataset
        A shallow copy in the singular layout.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> old = xr.Dataset(
    ...     {"position": (("time", "individuals", "keypoints", "space"), np.zeros((2, 1, 3, 2))),
    ...      "confidence": (("time", "individuals", "keypoints"), np.ones((2, 1, 3)))})
    >>> new = singular_layout(old)
    >>> new.position.dims, new.confidence.dims
    (('time', 'space', 'keypoint', 'individual'), ('time', 'keypoint', 'individual'))
    """
    out = ds.rename({k: v for k, v in PLURAL_TO_SINGULAR.items() if k in ds.dims})
    if "position" in out.data_vars:
        core = [d for d in ("time", "space", "keypoint", "individual") if d in out.position.dims]
        out["position"] = out.position.transpose(..., *core)
        if "confidence" in out.data_vars:
            conf = [d for d in core if d != "space" and d in out.confidence.dims]
            out["confidence"] = out.confidence.transpose(..., *conf)
    return out


def _check_open_options(options: dict[str, Any]) -> None:
    import inspect

    params = inspect.signature(xr.open_dataset).parameters
    allowed = sorted(
        n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY or n == "engine"
    )
    allowed = sorted(set(allowed) | {n for n in params if n not in ("filename_or_obj", "kwargs")})
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise PoseDataError(
            f"{', '.join(unknown)}: not an option of the netcdf reader (options go to "
            f"xarray.open_dataset); expected one of {allowed} (or none)"
        )


def write(ds: xr.Dataset, path: Path, **options: Any) -> None:
    """Write ``ds`` losslessly with ``to_netcdf`` (attributes that netCDF cannot hold
    are stored as strings)."""
    out = ds.copy(deep=False)
    out.attrs = {k: _netcdf_attr(v) for k, v in ds.attrs.items() if v is not None}
    options.setdefault("engine", "netcdf4")
    out.to_netcdf(path, **options)


def _netcdf_attr(value: Any) -> Any:
    """An attribute netCDF can hold: numbers, strings and numeric arrays as they are,
    booleans as 0/1, numeric lists as arrays, and anything nested (dicts, mixed lists)
    as a JSON string written by the package's one JSON conversion."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str | int | float | np.number | np.ndarray):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
        return np.asarray(value)
    if isinstance(value, dict | list | tuple):
        return dumps(value)
    return str(value)


FRONTEND = Frontend(
    name="netcdf",
    description="netCDF written by behavior or movement (lossless: attrs and log kept)",
    suffixes=_NETCDF_SUFFIXES,
    sniff=sniff,
    read=read,
    write=write,
    aliases=("movement", "nc"),
)
