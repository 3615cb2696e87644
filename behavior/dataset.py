"""The pose dataset: building, validating and annotating it.

A pose dataset is an :class:`xarray.Dataset` with the schema of ``movement``
0.17, so datasets pass between the two packages without conversion:

========== ========================================= ===============================
variable   dims                                      meaning
========== ========================================= ===============================
position   (time, space, keypoint, individual)       float, NaN = missing
confidence (time, keypoint, individual)              float, NaN where the source had none
========== ========================================= ===============================

``time`` is in seconds when the frame rate or timestamps are known
(``attrs["time_unit"] == "seconds"``), else in frames (``"frames"``). Extra
leading dimensions such as ``ensemble`` (several model seeds of one video) are
allowed. Attributes: ``fps`` (when known), ``time_unit``, ``space_unit``,
``source_software``, ``source_file`` (when loaded from a file), ``ds_type`` and
``log``, a JSON list of the processing steps that made the dataset.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from behavior._json import to_jsonable
from behavior.errors import PoseDataError

__all__ = [
    "CORE_DIMS",
    "FPS_RANGE",
    "append_log",
    "check_fps",
    "check_time",
    "fps_of",
    "from_numpy",
    "read_log",
    "require_dims",
    "session_name",
    "time_seconds",
    "time_step",
    "validate",
]

CORE_DIMS = ("time", "space", "keypoint", "individual")
SPACE_LABELS = ("x", "y", "z")

XrObj = TypeVar("XrObj", xr.Dataset, xr.DataArray)


def require_dims(obj: xr.DataArray | xr.Dataset, *dims: str, name: str | None = None) -> None:
    """Raise :class:`PoseDataError` unless ``obj`` has every dimension in ``dims``.

    Parameters
    ----------
    obj
        The array or dataset to check.
    *dims
        Dimension names that must be present.
    name
        How to call ``obj`` in the message (defaults to its ``name``).

    Examples
    --------
    >>> import xarray as xr, numpy as np
    >>> require_dims(xr.DataArray(np.zeros(3), dims=["time"]), "time")
    """
    if not isinstance(obj, xr.DataArray | xr.Dataset):
        raise PoseDataError(
            f"{name or 'argument'}: expected an xarray DataArray or Dataset with dims "
            f"{list(dims)}, found {type(obj).__name__}"
        )
    missing = [d for d in dims if d not in obj.dims]
    if missing:
        label = name or getattr(obj, "name", None) or type(obj).__name__
        raise PoseDataError(
            f"{label}: missing dimension(s) {missing}; expected {list(dims)}, "
            f"found {list(obj.dims)}"
        )


def _default_names(prefix: str, n: int) -> list[str]:
    return [f"{prefix}_{i}" for i in range(n)]


def _check_names(names: Sequence[str] | None, n: int, arg: str, prefix: str) -> list[str]:
    if names is None:
        return _default_names(prefix, n)
    if isinstance(names, str):
        names = [names]
    names = [str(x) for x in names]
    bad = [x for x in names if not x or "\x00" in x]
    if bad:
        raise PoseDataError(f"{arg}: names must be non-empty text without NUL, found {bad!r}")
    if len(names) != n:
        raise PoseDataError(
            f"{arg}: expected {n} names to match the position array, found {len(names)}: {names}"
        )
    if len(set(names)) != len(names):
        dupes = sorted({x for x in names if names.count(x) > 1})
        raise PoseDataError(f"{arg}: names must be unique, found duplicates {dupes}")
    return names


def from_numpy(
    position: np.ndarray,
    confidence: np.ndarray | None = None,
    *,
    individual_names: Sequence[str] | None = None,
    keypoint_names: Sequence[str] | None = None,
    fps: float | None = None,
    time: np.ndarray | None = None,
    source_software: str | None = None,
    source_file: str | None = None,
    space_unit: str = "pixels",
) -> xr.Dataset:
    """Build a validated pose dataset from numpy arrays.

    Parameters
    ----------
    position
        Array of shape ``(time, space, keypoint, individual)`` with 2 or 3 spatial
        coordinates; NaN marks missing points. A 3-D array
        ``(time, space, keypoint)`` is taken as one individual.
    confidence
        Array of shape ``(time, keypoint, individual)`` (or ``(time, keypoint)``),
        or None, which stores NaN ("the source had no confidence").
    individual_names, keypoint_names
        Names; default ``id_0, id_1, ...`` and ``keypoint_0, ...`` as in movement.
    fps
        Frames per second. With ``fps`` (and no ``time``), ``time`` is
        ``frame / fps`` in seconds; without either, ``time`` counts frames.
    time
        Real timestamps in seconds, one per frame, strictly increasing. Kept as
        they are (never resampled); when ``fps`` is None it is estimated from the
        median interval.
    source_software, source_file
        Provenance stored in ``attrs``.
    space_unit
        Unit of ``position``: ``"pixels"`` until calibrated.

    Returns
    -------
    xr.Dataset
        The pose dataset (see the module docstring for the schema).

    Raises
    ------
    PoseDataError
        If shapes, names, fps or timestamps do not fit together.

    Examples
    --------
    >>> import numpy as np
    >>> ds = from_numpy(np.zeros((100, 2, 3, 1)), fps=30, keypoint_names=["nose", "neck", "tail"])
    >>> ds.sizes["time"], ds.keypoint.values.tolist()
    (100, ['nose', 'neck', 'tail'])
    """
    position = np.asarray(position)
    if position.ndim == 3:
        position = position[..., np.newaxis]
    if position.ndim != 4:
        raise PoseDataError(
            "position: expected an array of shape (time, space, keypoint, individual), "
            f"found {position.ndim} dimensions with shape {position.shape}"
        )
    if not np.issubdtype(position.dtype, np.number) or np.issubdtype(position.dtype, np.bool_):
        raise PoseDataError(f"position: expected real numbers, found dtype {position.dtype}")
    if np.iscomplexobj(position):
        raise PoseDataError(
            f"position: expected real numbers, found complex dtype {position.dtype}; pass "
            "position.real (or np.abs) explicitly if the imaginary part is meant to be dropped"
        )
    if not np.issubdtype(position.dtype, np.floating):
        position = position.astype(np.float64)
    n_time, n_space, n_kp, n_ind = position.shape
    if n_space not in (2, 3):
        raise PoseDataError(
            f"position: expected 2 or 3 spatial coordinates on axis 1 (space), found {n_space} "
            f"(shape {position.shape}). Is the array ordered (time, space, keypoint, individual)?"
        )
    if n_time == 0:
        raise PoseDataError("position: expected at least one frame, found 0")
    if n_kp == 0:
        raise PoseDataError("position: expected at least one keypoint, found 0")
    if n_ind == 0:
        raise PoseDataError("position: expected at least one individual, found 0")

    if confidence is None:
        confidence = np.full((n_time, n_kp, n_ind), np.nan, dtype=position.dtype)
    else:
        confidence = np.asarray(confidence)
        if confidence.ndim == 2:
            confidence = confidence[..., np.newaxis]
        if confidence.shape != (n_time, n_kp, n_ind):
            raise PoseDataError(
                f"confidence: expected shape (time, keypoint, individual) = "
                f"{(n_time, n_kp, n_ind)} to match position, found {confidence.shape}"
            )
        if np.iscomplexobj(confidence) or not np.issubdtype(confidence.dtype, np.number):
            raise PoseDataError(
                f"confidence: expected real numbers, found dtype {confidence.dtype}"
            )
        if not np.issubdtype(confidence.dtype, np.floating):
            confidence = confidence.astype(np.float64)

    keypoints = _check_names(keypoint_names, n_kp, "keypoint_names", "keypoint")
    individuals = _check_names(individual_names, n_ind, "individual_names", "id")

    if fps is not None:
        fps = check_fps(fps, "fps")
    if time is not None:
        time = np.asarray(time, dtype=np.float64).reshape(-1)
        if time.shape[0] != n_time:
            raise PoseDataError(
                f"time: expected {n_time} timestamps (one per frame), found {time.shape[0]}"
            )
        check_time(time, "time")
        time_unit = "seconds"
        if fps is None and n_time > 1:
            fps = round(float(1.0 / np.median(np.diff(time))), 6)
    elif fps is not None:
        time = np.arange(n_time, dtype=np.float64) / fps
        time_unit = "seconds"
    else:
        time = np.arange(n_time, dtype=np.float64)
        time_unit = "frames"

    attrs: dict[str, Any] = {
        "source_software": source_software or "unknown",
        "ds_type": "poses",
        "time_unit": time_unit,
        "space_unit": space_unit,
        "log": "[]",
    }
    if fps is not None:
        attrs["fps"] = fps
    if source_file is not None:
        attrs["source_file"] = str(source_file)

    ds = xr.Dataset(
        {
            "position": (CORE_DIMS, position),
            "confidence": (("time", "keypoint", "individual"), confidence),
        },
        coords={
            "time": time,
            "space": list(SPACE_LABELS[:n_space]),
            "keypoint": keypoints,
            "individual": individuals,
        },
        attrs=attrs,
    )
    return ds


def check_time(time: np.ndarray, where: str) -> None:
    """Raise :class:`PoseDataError` unless ``time`` is finite and strictly increasing.

    Parameters
    ----------
    time
        Timestamps, one per frame.
    where
        What the timestamps belong to (a file or an argument), used in the message.

    Examples
    --------
    >>> check_time(np.array([0.0, 0.1, 0.2]), "timestamps")
    >>> check_time(np.array([0.0, 0.0]), "timestamps")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    behavior.errors.PoseDataError: timestamps: expected strictly increasing timestamps, ...
    """
    if not np.all(np.isfinite(time)):
        bad = int(np.flatnonzero(~np.isfinite(time))[0])
        raise PoseDataError(
            f"{where}: expected finite timestamps, found {time[bad]} at frame {bad}"
        )
    if time.size > 1:
        steps = np.diff(time)
        if np.any(steps <= 0):
            bad = int(np.flatnonzero(steps <= 0)[0])
            raise PoseDataError(
                f"{where}: expected strictly increasing timestamps, found {float(time[bad])!r} "
                f"then {float(time[bad + 1])!r} at frames {bad} and {bad + 1}"
            )


def validate(ds: xr.Dataset) -> xr.Dataset:
    """Check that ``ds`` is a pose dataset; return it unchanged.

    Parameters
    ----------
    ds
        The dataset to check.

    Returns
    -------
    xr.Dataset
        ``ds`` itself, so that ``validate`` can wrap a return value.

    Raises
    ------
    PoseDataError
        Naming the variable, dimension or attribute that is wrong, what was
        expected and what was found.

    Examples
    --------
    >>> import numpy as np
    >>> ds = validate(from_numpy(np.zeros((5, 2, 1, 1))))
    """
    if not isinstance(ds, xr.Dataset):
        raise PoseDataError(f"expected an xarray.Dataset of poses, found {type(ds).__name__}")
    if "position" not in ds.data_vars:
        raise PoseDataError(
            f"dataset: expected a 'position' variable, found variables {list(ds.data_vars)}"
        )
    position = ds["position"]
    missing = [d for d in CORE_DIMS if d not in position.dims]
    if missing:
        hint = ""
        if any(d in position.dims for d in ("keypoints", "individuals")):
            hint = " (plural 'keypoints'/'individuals' are movement < 0.17 names; rename them)"
        raise PoseDataError(
            f"position: missing dimension(s) {missing}; expected {list(CORE_DIMS)}, "
            f"found {list(position.dims)}{hint}"
        )
    if position.dims[-4:] != CORE_DIMS:
        raise PoseDataError(
            f"position: expected dims ordered {list(CORE_DIMS)} (extra dims first), found "
            f"{list(position.dims)}; use ds.transpose(..., *{list(CORE_DIMS)})"
        )
    if not np.issubdtype(position.dtype, np.floating):
        raise PoseDataError(f"position: expected a float array, found dtype {position.dtype}")
    n_inf = int(np.isinf(position.values).sum())
    if n_inf:
        where = np.argwhere(np.isinf(position.values))[0]
        at = ", ".join(
            f"{d}={position[d].values[i]}" if d in position.coords else f"{d}={i}"
            for d, i in zip(position.dims, where, strict=True)
        )
        raise PoseDataError(
            f"position: expected finite numbers or NaN for missing, found {n_inf} infinite "
            f"value(s), the first at {at}; set them to NaN (ds['position'].where(np.isfinite(...)))"
        )
    space = [str(s) for s in ds["space"].values]
    if space not in (["x", "y"], ["x", "y", "z"]):
        raise PoseDataError(
            f"space: expected coordinates ['x', 'y'] or ['x', 'y', 'z'], found {space}"
        )
    for dim in ("keypoint", "individual"):
        names = [str(v) for v in ds[dim].values]
        if len(names) == 0:
            raise PoseDataError(f"{dim}: expected at least one {dim}, found none")
        if len(set(names)) != len(names):
            raise PoseDataError(f"{dim}: expected unique names, found {names}")
    if ds.sizes["time"] == 0:
        raise PoseDataError("time: expected at least one frame, found 0")
    check_time(np.asarray(ds["time"].values, dtype=np.float64), "time")
    if "confidence" in ds.data_vars:
        conf = ds["confidence"]
        expected = {d for d in position.dims if d != "space"}
        if set(conf.dims) != expected:
            raise PoseDataError(
                f"confidence: expected dims {sorted(expected)} (those of position without "
                f"'space'), found {list(conf.dims)}"
            )
        if not np.issubdtype(conf.dtype, np.floating):
            raise PoseDataError(f"confidence: expected a float array, found dtype {conf.dtype}")
    if ds.attrs.get("ds_type", "poses") != "poses":
        raise PoseDataError(f"attrs['ds_type']: expected 'poses', found {ds.attrs['ds_type']!r}")
    unit = ds.attrs.get("time_unit")
    if unit not in (None, "seconds", "frames"):
        raise PoseDataError(f"attrs['time_unit']: expected 'seconds' or 'frames', found {unit!r}")
    fps = ds.attrs.get("fps")
    if fps is not None and not (np.isscalar(fps) and np.isfinite(fps) and fps > 0):
        raise PoseDataError(f"attrs['fps']: expected a positive number, found {fps!r}")
    return ds


def read_log(obj: xr.Dataset | xr.DataArray) -> list[dict[str, Any]]:
    """Return the processing log of ``obj`` as a list of records (oldest first).

    Parameters
    ----------
    obj
        Dataset or DataArray whose ``attrs["log"]`` holds a JSON list (or nothing).

    Returns
    -------
    list of dict
        One record per step: ``operation``, ``datetime``, ``behavior_version``,
        ``parameters``.

    Examples
    --------
    >>> import numpy as np
    >>> read_log(from_numpy(np.zeros((5, 2, 1, 1))))
    []
    """
    raw = obj.attrs.get("log", "[]")
    if isinstance(raw, list):
        return list(raw)
    try:
        records = json.loads(raw) if raw else []
    except (TypeError, json.JSONDecodeError):
        return [{"operation": "unparsed", "text": str(raw)}]
    return records if isinstance(records, list) else [records]


def append_log(obj: XrObj, operation: str, **parameters: Any) -> XrObj:
    """Return a shallow copy of ``obj`` with one more record in ``attrs["log"]``.

    The input is not modified. The log is stored as a JSON string so that it
    survives netCDF and stays readable by movement.

    Parameters
    ----------
    obj
        Dataset or DataArray.
    operation
        Name of the step, e.g. ``"load_poses"`` or ``"median_filter"``.
    **parameters
        The step's arguments; non-JSON values are stored by ``repr``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = append_log(from_numpy(np.zeros((5, 2, 1, 1))), "demo", window=3)
    >>> read_log(ds)[-1]["operation"]
    'demo'
    """
    from behavior import __version__

    record = {
        "operation": operation,
        "datetime": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "behavior_version": __version__,
        "parameters": to_jsonable(parameters, summarize_arrays=True),
    }
    out = obj.copy(deep=False)
    out.attrs = dict(obj.attrs)
    out.attrs["log"] = json.dumps([*read_log(obj), record])
    return out


# --- time, frame rate and step: the one place every room asks -------------------------


def time_seconds(obj: xr.DataArray | xr.Dataset) -> np.ndarray:
    """The ``time`` coordinate as float64 numbers.

    Datetimes become seconds since the first frame and timedeltas seconds; numbers
    are returned as they are, in the object's time unit (seconds unless
    ``attrs["time_unit"] == "frames"``). An object without a ``time`` coordinate
    gets frame indices ``0, 1, 2, ...``.

    Parameters
    ----------
    obj
        Anything with a ``time`` dimension.

    Returns
    -------
    np.ndarray
        One float per frame.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros(3), dims="time", coords={"time": [0.0, 0.5, 1.0]})
    >>> time_seconds(da)
    array([0. , 0.5, 1. ])
    """
    require_dims(obj, "time")
    if "time" not in obj.coords:
        return np.arange(obj.sizes["time"], dtype=np.float64)
    values = np.asarray(obj["time"].values)
    if np.issubdtype(values.dtype, np.datetime64):
        values = values - values[0]
    if np.issubdtype(values.dtype, np.timedelta64):
        return values / np.timedelta64(1, "s")
    if not np.issubdtype(values.dtype, np.number):
        raise PoseDataError(
            f"time: expected numbers, datetimes or timedeltas, found dtype {values.dtype}"
        )
    return values.astype(np.float64, copy=False)


FPS_RANGE = (1e-6, 1e6)
"""The frame rates :func:`check_fps` accepts, in frames per second."""


def check_fps(value: Any, name: str = "fps") -> float:
    """Return ``value`` as a frame rate in frames per second, or raise.

    The one check of a frame rate given by a user or read from a file: a real number
    (or text of one) within :data:`FPS_RANGE`, so 0, negatives, NaN, infinities, 1e-300
    and 1e300 are refused.

    Parameters
    ----------
    value
        The frame rate to check.
    name
        What the value is called in the message (an argument, an attribute, a file).

    Returns
    -------
    float
        The frame rate.

    Raises
    ------
    PoseDataError
        Naming ``name``, the accepted range and the value found.

    Examples
    --------
    >>> check_fps("30")
    30.0
    >>> check_fps(0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    behavior.errors.PoseDataError: fps: expected a positive frame rate ...
    """
    if isinstance(value, bool | complex | np.complexfloating):
        raise PoseDataError(
            f"{name}: expected a positive frame rate in frames per second, found {value!r}"
        )
    try:
        fps = float(value)
    except (TypeError, ValueError):
        raise PoseDataError(
            f"{name}: expected a positive frame rate in frames per second, found {value!r}"
        ) from None
    if not np.isfinite(fps) or not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
        raise PoseDataError(
            f"{name}: expected a positive frame rate in frames per second "
            f"(between 1e-6 and 1e6), found {value!r}"
        )
    return fps


def fps_of(
    obj: xr.DataArray | xr.Dataset, fps: Any = None, *, required: str | None = None
) -> float | None:
    """Frames per second of ``obj``: ``fps`` if given, else ``attrs["fps"]``, else the time step.

    The time step counts only when time is in seconds (not ``time_unit="frames"``):
    the frame rate is one over the median positive step.

    Parameters
    ----------
    obj
        Anything with a ``time`` dimension.
    fps
        An explicit frame rate, which wins over the object's own.
    required
        When given, a frame rate must be found: the text names what needs it in the
        error (e.g. ``"min_duration='1 s'"``).

    Returns
    -------
    float or None
        The frame rate, or None when none can be told (only without ``required``).

    Raises
    ------
    PoseDataError
        ``fps`` or ``attrs["fps"]`` is not a positive finite number, or ``required``
        is set and no frame rate is known.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros(3), dims="time", coords={"time": [0.0, 0.5, 1.0]})
    >>> fps_of(da)
    2.0
    >>> fps_of(da, fps=30)
    30.0
    """
    if fps is not None:
        return check_fps(fps, "fps")
    own = obj.attrs.get("fps")
    if own is not None:
        return check_fps(own, "attrs['fps']")
    if obj.attrs.get("time_unit") != "frames" and "time" in obj.coords:
        steps = np.diff(time_seconds(obj))
        steps = steps[np.isfinite(steps) & (steps > 0)]
        if steps.size:
            return float(1.0 / np.median(steps))
    if required is not None:
        raise PoseDataError(
            f"{required} needs a frame rate, and none is known: attrs['fps'] is missing "
            "and time is in frames. Load the file with fps=... (bh.load_poses(path, fps=30)) "
            "or pass fps=..."
        )
    return None


def time_step(obj: xr.DataArray | xr.Dataset, fps: Any = None) -> float:
    """Duration of one frame in the units of ``obj``'s time coordinate.

    1 when time is in frames; ``1 / fps`` when a frame rate is known; else the
    median step of the time coordinate; 1 for a single frame without either.

    Parameters
    ----------
    obj
        Anything with a ``time`` dimension.
    fps
        An explicit frame rate, which wins over the object's own.

    Examples
    --------
    >>> da = xr.DataArray(np.zeros(3), dims="time", coords={"time": [0.0, 0.5, 1.0]})
    >>> time_step(da), time_step(da, fps=4)
    (0.5, 0.25)
    """
    if fps is None:
        fps = obj.attrs.get("fps")
    if fps is not None:
        fps = check_fps(fps, "fps" if fps is not obj.attrs.get("fps") else "attrs['fps']")
        return 1.0 if obj.attrs.get("time_unit") == "frames" else 1.0 / fps
    time = time_seconds(obj)
    if time.size > 1:
        return float(np.median(np.diff(time)))
    return 1.0


def session_name(session: Any, index: int = 0) -> str:
    """The key one session goes by in results over many sessions.

    A path's file name (suffix kept, so ``a.h5`` and ``a.csv`` stay apart), else the
    file name of ``attrs["source_file"]``, else ``"session_{index}"``.

    Parameters
    ----------
    session
        A path, or a Dataset or DataArray (its ``source_file`` attribute is used).
    index
        The session's position in its sequence, for the fallback name.

    Examples
    --------
    >>> session_name("data/mouse1DLC_resnet50.h5")
    'mouse1DLC_resnet50.h5'
    >>> session_name(xr.Dataset(), 3)
    'session_3'
    """
    import os
    from pathlib import Path

    if isinstance(session, str | os.PathLike):
        return Path(session).name
    source = getattr(session, "attrs", {}).get("source_file")
    if source:
        return Path(str(source)).name
    return f"session_{index}"
