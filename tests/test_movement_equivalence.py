"""behavior gives movement's numbers wherever the two define the same quantity.

On every real multi-frame pose file in ../shared/data (DeepLabCut h5 and CSV, SLEAP
analysis h5, Lightning Pose CSV), equal to a relative 1e-9 with NaN in the same
places: velocity, acceleration, speed and path length (both NaN policies), on time
in frames (exactly uniform steps), in seconds (frame / fps: steps that differ in
the last bits) and on the real, irregular camera timestamps of the IBL paw videos;
filter_by_confidence, interpolate_over_time (with and without max_gap) and
savgol_filter (mode "nearest").

Where the definitions differ on purpose, the test compares only where they
coincide: behavior's Savitzky-Golay fits the valid points of a window with NaN
(movement returns NaN there), so the default filter is compared on the frames
where movement's result is finite, and ``min_valid=window`` must reproduce
movement's NaN exactly. behavior's confidence filter keeps points without a
score by default; ``nan_confidence="drop"`` is movement's rule.

movement is a dev-only comparison: ``pip install movement``. Its ffill-based path
length and max_gap interpolation need xarray's ``push`` (bottleneck or numbagg,
which movement does not require); when neither is installed, this module supplies
an equivalent numpy forward fill to xarray for its own duration only.
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import behavior as bh
from behavior import filtering, kinematics
from tests.conftest import SHARED_DATA, manifest_rows

movement = pytest.importorskip(
    "movement", reason="movement is not installed (pip install movement)"
)
from movement import filtering as mfilt  # noqa: E402
from movement.io import load_poses as mload  # noqa: E402
from movement.kinematics import (  # noqa: E402
    compute_acceleration,
    compute_path_length,
    compute_speed,
    compute_velocity,
)

pytestmark = pytest.mark.realdata

FORMATS = ("dlc-h5", "dlc-csv", "sleap-analysis-h5", "lightning-pose-csv")
ROWS = [row for row in manifest_rows() if row["format"] in FORMATS and int(row["frames"] or 0) > 1]
RTOL = 1e-9

# movement < 0.16 names the dims "keypoints" / "individuals"; later versions as we do.
_MOVEMENT_DIMS = mload.from_numpy(np.zeros((3, 2, 1, 1))).position.dims
TO_MOVEMENT = {
    ours: theirs
    for ours, theirs in zip(("time", "space", "keypoint", "individual"), _MOVEMENT_DIMS)
    if ours != theirs
}
FROM_MOVEMENT = {theirs: ours for ours, theirs in TO_MOVEMENT.items()}


def test_every_format_is_covered():
    if not ROWS:
        pytest.skip(f"real pose files not found at {SHARED_DATA}")
    assert {row["format"] for row in ROWS} == set(FORMATS)


def _numpy_push(array, n=None, axis=-1):
    """Forward fill along ``axis`` (at most ``n`` frames), as bottleneck.push does."""
    values = np.moveaxis(np.asarray(array), axis, 0)
    frame = np.arange(values.shape[0]).reshape((-1,) + (1,) * (values.ndim - 1))
    last = np.maximum.accumulate(np.where(np.isnan(values), -1, frame), axis=0)
    filled = np.take_along_axis(values, np.maximum(last, 0), axis=0)
    keep = last >= 0
    if n is not None:
        keep &= frame - last <= n
    return np.moveaxis(np.where(keep, filled, np.nan), 0, axis)


@pytest.fixture(scope="module", autouse=True)
def _xarray_push():
    have = any(importlib.util.find_spec(m) for m in ("bottleneck", "numbagg"))
    if have:
        yield
        return
    from xarray.core import duck_array_ops

    if not hasattr(duck_array_ops, "_push"):
        pytest.skip("xarray.ffill needs bottleneck or numbagg here (pip install bottleneck)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(duck_array_ops, "_push", _numpy_push)
        yield


def test_numpy_push_fills_forward_with_a_limit():
    x = np.array([np.nan, 1.0, np.nan, np.nan, np.nan, 5.0, np.nan])
    np.testing.assert_array_equal(_numpy_push(x), [np.nan, 1, 1, 1, 1, 5, 5])
    np.testing.assert_array_equal(_numpy_push(x, n=2), [np.nan, 1, 1, 1, np.nan, 5, 5])


@functools.lru_cache(maxsize=4)
def _load(path: str, fps: float | None) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bh.load_poses(SHARED_DATA / path, fps=fps)


def _timestamps(path: str) -> np.ndarray | None:
    """Real camera timestamps for the IBL paw videos (irregular: dropped frames)."""
    if "ibl-paw" not in path:
        return None
    side = "left" if ".left." in path else "right"
    name = Path(path).name.split(".")[0]
    stamps = SHARED_DATA / Path(path).parent / f"{name}.timestamps.{side}.npy"
    return np.load(stamps) if stamps.is_file() else None


def _versions(row: dict[str, str]) -> list[tuple[str, xr.Dataset]]:
    """The file with time in frames, in seconds, and on its real timestamps if any."""
    ds = _load(row["path"], None)
    out = [("frames", ds), ("seconds", _load(row["path"], 30.0))]
    stamps = _timestamps(row["path"])
    if stamps is not None and stamps.shape[0] == ds.sizes["time"]:
        out.append(("timestamps", ds.assign_coords(time=stamps)))
    return out


def _to_movement(da: xr.DataArray) -> xr.DataArray:
    return da.rename({k: v for k, v in TO_MOVEMENT.items() if k in da.dims})


def _from_movement(da: xr.DataArray) -> xr.DataArray:
    return da.rename({k: v for k, v in FROM_MOVEMENT.items() if k in da.dims})


def assert_same(ours: xr.DataArray | np.ndarray, theirs: xr.DataArray | np.ndarray, what: str):
    """Equal to a relative RTOL (values near 0: RTOL * 1e-3 of the array's largest
    magnitude), NaN in the same places, same dims and coordinates."""
    if isinstance(ours, xr.DataArray):
        theirs = _from_movement(theirs).transpose(*ours.dims)
        for dim in ours.dims:
            np.testing.assert_array_equal(ours[dim].values, theirs[dim].values, err_msg=what)
        ours, theirs = ours.values, theirs.values
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape, what
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{what}: NaN")
    finite = theirs[~np.isnan(theirs)]
    scale = float(np.abs(finite).max()) if finite.size else 0.0
    np.testing.assert_allclose(
        ours, theirs, rtol=RTOL, atol=RTOL * 1e-3 * scale, equal_nan=True, err_msg=what
    )


@pytest.mark.parametrize("row", ROWS, ids=[row["path"] for row in ROWS])
def test_kinematics_equal_movement(row, shared_data):
    for label, ds in _versions(row):
        position = ds.position
        theirs = _to_movement(position)
        assert_same(kinematics.velocity(position), compute_velocity(theirs), f"velocity {label}")
        assert_same(
            kinematics.acceleration(position),
            compute_acceleration(theirs),
            f"acceleration {label}",
        )
        assert_same(kinematics.speed(position), compute_speed(theirs), f"speed {label}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for policy in ("ffill", "scale"):
                assert_same(
                    kinematics.path_length(position, nan_policy=policy),
                    compute_path_length(theirs, nan_policy=policy),
                    f"path_length {policy} {label}",
                )
            middle = float(position.time[position.sizes["time"] // 2])
            assert_same(
                kinematics.path_length(position, start=middle),
                compute_path_length(theirs, start=middle),
                f"path_length from {middle} {label}",
            )


@pytest.mark.parametrize("row", ROWS, ids=[row["path"] for row in ROWS])
def test_filtering_equal_movement(row, shared_data):
    ds = _load(row["path"], None)
    position, confidence = ds.position, ds.confidence
    for threshold in (0.6, 0.95):
        ours = filtering.filter_by_confidence(
            position, confidence, threshold, nan_confidence="drop"
        )
        theirs = mfilt.filter_by_confidence(
            _to_movement(position), _to_movement(confidence), threshold
        )
        assert_same(ours, theirs, f"filter_by_confidence {threshold}")
    masked = ours  # the 0.95 threshold: many gaps of every length
    for max_gap in (None, 1, 5):
        assert_same(
            filtering.interpolate_gaps(masked, max_gap=max_gap),
            mfilt.interpolate_over_time(_to_movement(masked), max_gap=max_gap),
            f"interpolate max_gap={max_gap}",
        )
    if ds.sizes["time"] < 7:
        return
    for label, data in (("raw", position), ("gappy", masked)):
        theirs = _from_movement(
            mfilt.savgol_filter(_to_movement(data), 7, polyorder=2, mode="nearest")
        ).transpose(*data.dims)
        assert_same(
            filtering.savgol_filter(data, 7, polyorder=2, min_valid=7),
            theirs,
            f"savgol {label} min_valid=7",
        )
        ours = filtering.savgol_filter(data, 7, polyorder=2)
        defined = ~np.isnan(theirs.values)
        assert_same(ours.values[defined], theirs.values[defined], f"savgol {label}")
