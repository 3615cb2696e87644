"""Tests for behavior/io/netcdf.py: lossless round trips, movement files, detection."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.io import netcdf
from behavior.io.registry import Probe
from tests.conftest import manifest_rows

names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=6
)


@st.composite
def pose_datasets(draw):
    n_time = draw(st.integers(1, 12))
    n_space = draw(st.sampled_from([2, 3]))
    keypoints = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    individuals = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = (n_time, n_space, len(keypoints), len(individuals))
    position = (rng.normal(size=shape) * 1e3).astype(dtype)
    position[rng.random(shape) < 0.25] = np.nan
    confidence = rng.random(shape[:1] + shape[2:])
    confidence[rng.random(confidence.shape) < 0.25] = np.nan
    timing = draw(st.sampled_from(["fps", "frames", "irregular"]))
    kwargs = {}
    if timing == "fps":
        kwargs["fps"] = draw(st.sampled_from([30.0, 29.97, 200.0]))
    elif timing == "irregular":
        kwargs["time"] = np.cumsum(rng.uniform(1e-3, 0.1, n_time))
    ds = bh.from_numpy(
        position,
        confidence,
        keypoint_names=keypoints,
        individual_names=individuals,
        source_software=draw(st.sampled_from(["SLEAP", "DeepLabCut", "LightningPose"])),
        space_unit=draw(st.sampled_from(["pixels", "cm"])),
        **kwargs,
    )
    ds = bh.append_log(ds, "savgol_filter", window="0.2 s", polyorder=2)
    return bh.append_log(ds, "calibrate", px_per_cm=draw(st.floats(1, 100)))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=pose_datasets())
def test_round_trip_is_lossless_with_attrs_and_log(ds, tmp_path):
    path = bh.save_poses(ds, tmp_path / "poses.nc")
    back = bh.load_poses(path)
    assert back.position.dims == ds.position.dims
    assert back.position.dtype == ds.position.dtype
    for dim in ("time", "space", "keypoint", "individual"):
        assert list(back[dim].values) == list(ds[dim].values), dim
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    np.testing.assert_array_equal(back.confidence.values, ds.confidence.values)
    for key, value in ds.attrs.items():
        if key != "log":
            assert back.attrs[key] == value, key
    assert bh.read_log(back)[:-1] == bh.read_log(ds)
    assert bh.read_log(back)[-1]["operation"] == "load_poses"
    assert back.attrs["source_file"] == str(path)


def test_time_in_frames_converts_with_fps(tmp_path):
    ds = bh.from_numpy(np.arange(24.0).reshape(6, 2, 2, 1))
    path = bh.save_poses(ds, tmp_path / "frames.nc")
    back = bh.load_poses(path)
    assert back.attrs["time_unit"] == "frames" and "fps" not in back.attrs
    np.testing.assert_array_equal(back.time.values, np.arange(6))
    seconds = bh.load_poses(path, fps=50)
    assert seconds.attrs["time_unit"] == "seconds" and seconds.attrs["fps"] == 50.0
    np.testing.assert_allclose(seconds.time.values, np.arange(6) / 50)
    # a file already in seconds keeps its time axis
    ds = bh.from_numpy(np.zeros((4, 2, 1, 1)), fps=25)
    kept = bh.load_poses(bh.save_poses(ds, tmp_path / "s.nc"), fps=100)
    np.testing.assert_array_equal(kept.time.values, ds.time.values)


def _movement_016_file(path, with_confidence=True):
    """A poses dataset as movement < 0.17 saved it: plural dims, (time, individuals,
    keypoints, space) order, integer fps, no log."""
    rng = np.random.default_rng(3)
    variables = {
        "position": (("time", "individuals", "keypoints", "space"), rng.random((8, 2, 3, 2)))
    }
    if with_confidence:
        variables["confidence"] = (("time", "individuals", "keypoints"), rng.random((8, 2, 3)))
    xr.Dataset(
        variables,
        coords={
            "time": np.arange(8) / 25,
            "individuals": ["individual_0", "individual_1"],
            "keypoints": ["snout", "centre", "tail"],
            "space": ["x", "y"],
        },
        attrs={"ds_type": "poses", "source_software": "SLEAP", "fps": 25, "time_unit": "seconds"},
    ).to_netcdf(path)
    return path


def test_movement_file_with_plural_dims_reads(tmp_path):
    path = _movement_016_file(tmp_path / "movement.nc")
    assert bh.io.detect_format(path).name == "netcdf"
    ds = bh.load_poses(path)
    assert set(ds.position.dims) == {"time", "space", "keypoint", "individual"}
    assert list(ds.keypoint.values) == ["snout", "centre", "tail"]
    assert list(ds.individual.values) == ["individual_0", "individual_1"]
    assert ds.attrs["fps"] == 25 and ds.attrs["source_software"] == "SLEAP"
    with xr.open_dataset(path) as raw:
        np.testing.assert_array_equal(
            ds.position.transpose("time", "individual", "keypoint", "space").values,
            raw.position.values,
        )


def test_movement_file_comes_back_in_the_schema_dim_order(tmp_path):
    ds = bh.load_poses(_movement_016_file(tmp_path / "movement.nc"))
    assert ds.position.dims == ("time", "space", "keypoint", "individual")


def test_missing_confidence_is_filled_with_nan(tmp_path):
    ds = bh.load_poses(_movement_016_file(tmp_path / "noconf.nc", with_confidence=False))
    assert ds.confidence.isnull().all()
    assert set(ds.confidence.dims) == {"time", "keypoint", "individual"}


# ----------------------------------------------------------------------- detection


def test_hdf5_that_is_not_netcdf_is_refused(tmp_path):
    path = tmp_path / "arrays.h5"
    with h5py.File(path, "w") as f:
        f["tracks"] = np.zeros((2, 3))
        f.attrs["note"] = "plain HDF5"
    verdict = netcdf.sniff(Probe(path))
    assert not verdict.accepted and "_NCProperties" in verdict.reason
    with pytest.raises(bh.UnknownFormatError, match=r"- netcdf: HDF5 file without the netCDF-4"):
        bh.load_poses(path)
    disguised = tmp_path / "disguised.nc"
    disguised.write_bytes(path.read_bytes())
    assert "netCDF suffix" in netcdf.sniff(Probe(disguised)).reason
    text = tmp_path / "text.nc"
    text.write_text("time,x\n0,1\n")
    assert not netcdf.sniff(Probe(text)).accepted


def test_netcdf_without_position_is_refused_when_forced(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"speed": ("time", np.arange(3.0))}).to_netcdf(path)
    with pytest.raises(bh.FileFormatError, match=r"other.nc: expected a netCDF pose dataset"):
        bh.load_poses(path, source="netcdf")


@pytest.mark.realdata
def test_no_other_hdf5_pose_file_is_taken_for_netcdf(shared_data):
    formats = {"dlc-h5", "sleap-analysis-h5", "sleap-slp", "nwb-ndx-pose", "anipose-points3d-h5"}
    paths = [r["path"] for r in manifest_rows() if r["format"] in formats]
    assert paths
    for relpath in paths:
        probe = Probe(shared_data / relpath)
        assert probe.is_hdf5, relpath
        assert not netcdf.sniff(probe).accepted, relpath
