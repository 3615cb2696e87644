"""Tests for behavior/io/nwb.py: ndx-pose files in both layouts, round trips, selection."""

from __future__ import annotations

import datetime as dt
import sys

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.io import nwb
from behavior.io.registry import Probe
from tests.conftest import manifest_rows

pynwb = pytest.importorskip("pynwb")
ndx_pose = pytest.importorskip("ndx_pose")

DLC2NWB = "dlc2nwb_openfield/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.nwb"
DLC2NWB_H5 = "dlc2nwb_openfield/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
V011 = "ndxpose_fixtures/0.1.1_poseestimation_nodes_edges.nwb"
V030 = "ndxpose_fixtures/0.3.0_poseestimation_one_camera.nwb"

# What each file holds (h5py walk, PROVENANCE.txt); the MANIFEST leaves these empty.
EXPECTED = {
    DLC2NWB: {
        "keypoints": ["snout", "leftear", "rightear", "tailbase"],  # DLC order, prefix 'ind1_' off
        "individuals": ["ind1"],  # DLC2NWB's individual, stated in the series descriptions
        "frames": 2330,
        "space": ["x", "y"],
        "time_unit": "frames",  # timestamps are frame indices 0, 1, 2, ...
    },
    V011: {
        "keypoints": ["front_left_paw", "front_right_paw"],  # the 'nodes' dataset order
        "individuals": ["identifier"],  # no subject: the file identifier, as movement does
        "frames": 100,
        "space": ["x", "y", "z"],  # one series is 3D, the other 2D (z NaN)
        "time_unit": "seconds",
    },
    V030: {
        "keypoints": ["front_left_paw", "front_right_paw"],
        "individuals": ["identifier"],
        "frames": 10,
        "space": ["x", "y"],
        "time_unit": "seconds",
    },
}

NWB_ROWS = [r["path"] for r in manifest_rows() if r["format"] == "nwb-ndx-pose"]


def _series_group(f: h5py.File, keypoint_series: str) -> h5py.Group:
    return f[f"processing/behavior/PoseEstimation/{keypoint_series}"]


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", NWB_ROWS or [pytest.param(None, marks=pytest.mark.skip)])
def test_manifest_nwb_files_load_with_what_they_hold(relpath, shared_data):
    path = shared_data / relpath
    expected = EXPECTED[relpath]
    assert bh.io.detect_format(path).name == "nwb"
    ds = bh.load_poses(path)
    assert list(ds.keypoint.values) == expected["keypoints"]
    assert list(ds.individual.values) == expected["individuals"]
    assert ds.sizes["time"] == expected["frames"]
    assert list(ds.space.values) == expected["space"]
    assert ds.attrs["time_unit"] == expected["time_unit"]
    assert ds.attrs["source_software"] == "DeepLabCut"
    # values equal the file's datasets, series by series
    with h5py.File(path, "r") as f:
        names = (
            [str(n, "utf-8") for n in f["processing/behavior/PoseEstimation/nodes"][()]]
            if ("nodes" in f["processing/behavior/PoseEstimation"])
            else expected["keypoints"]
        )
        for name, keypoint in zip(names, expected["keypoints"]):
            group = _series_group(f, name)
            data = group["data"][()]
            got = ds.position.sel(keypoint=keypoint, individual=expected["individuals"][0])
            np.testing.assert_array_equal(got.values[:, : data.shape[1]], data)
            assert np.isnan(got.values[:, data.shape[1] :]).all()
            np.testing.assert_array_equal(
                ds.confidence.sel(keypoint=keypoint).values[:, 0], group["confidence"][()]
            )
            if expected["time_unit"] == "seconds":
                np.testing.assert_array_equal(ds.time.values, group["timestamps"][()])


@pytest.mark.realdata
def test_dlc2nwb_matches_the_dlc_h5_of_the_same_session(shared_data):
    import pandas as pd

    ds = bh.load_poses(shared_data / DLC2NWB, fps=30)
    table = pd.read_hdf(shared_data / DLC2NWB_H5)
    bodyparts = list(dict.fromkeys(table.columns.get_level_values("bodyparts")))
    assert list(ds.keypoint.values) == bodyparts
    values = table.to_numpy().reshape(len(table), len(bodyparts), 3)
    np.testing.assert_allclose(ds.position.values[:, :, :, 0], values[:, :, :2].transpose(0, 2, 1))
    np.testing.assert_allclose(ds.confidence.values[:, :, 0], values[:, :, 2])
    # frame indices / fps: the DLC example video is 30 fps
    assert ds.attrs["time_unit"] == "seconds" and ds.attrs["fps"] == 30.0
    np.testing.assert_allclose(ds.time.values, np.arange(2330) / 30)


@pytest.mark.realdata
def test_dlc2nwb_frame_timestamps_warn_and_can_be_kept_as_seconds(shared_data, caplog):
    path = shared_data / DLC2NWB
    with caplog.at_level("WARNING", logger="behavior.io.nwb"):
        frames = nwb.read(path)
    assert "frame indices" in caplog.text and "fps=" in caplog.text
    np.testing.assert_array_equal(frames.time.values, np.arange(2330))
    assert "fps" not in frames.attrs
    seconds = nwb.read(path, timestamps_are_frames=False)
    assert seconds.attrs["time_unit"] == "seconds" and seconds.attrs["fps"] == 1.0


@pytest.mark.realdata
@pytest.mark.parametrize("relpath", [DLC2NWB, V011, V030])
def test_pynwb_and_h5py_engines_agree(relpath, shared_data):
    by_pynwb = nwb.read(shared_data / relpath, engine="pynwb")
    by_h5py = nwb.read(shared_data / relpath, engine="h5py")
    assert by_pynwb.identical(by_h5py)


@pytest.mark.realdata
def test_old_layout_keeps_nodes_order_not_alphabetical(shared_data):
    # series are stored alphabetically (ind1_leftear first); nodes say snout first
    ds = nwb.read(shared_data / DLC2NWB, engine="h5py")
    assert ds.keypoint.values[0] == "snout"
    assert sorted(ds.keypoint.values) != list(ds.keypoint.values)


# ---------------------------------------------------------------------- round trips

names = st.text(alphabet="abcXYZ_ -.0é", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
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
    position = (rng.normal(size=shape) * 100).astype(dtype)
    position[rng.random(shape) < 0.2] = np.nan
    confidence = rng.random(shape[:1] + shape[2:])
    confidence[rng.random(confidence.shape) < 0.2] = np.nan
    timing = draw(st.sampled_from(["fps", "irregular"]))
    kwargs = {"fps": draw(st.sampled_from([25.0, 29.97, 60.0]))}
    if timing == "irregular":
        kwargs = {"time": 3.5 + np.cumsum(rng.uniform(0.01, 0.05, n_time))}
    ds = bh.from_numpy(
        position,
        confidence,
        keypoint_names=keypoints,
        individual_names=individuals,
        source_software=draw(st.sampled_from(["SLEAP", "DeepLabCut", "unknown"])),
        **kwargs,
    )
    return bh.append_log(ds, "median_filter", window=5)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=pose_datasets())
def test_round_trip_is_lossless(ds, tmp_path):
    path = bh.save_poses(ds, tmp_path / "poses.nwb")
    back = bh.load_poses(path)
    assert back.position.dtype == ds.position.dtype
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    np.testing.assert_array_equal(back.confidence.values, ds.confidence.values)
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    assert list(back.keypoint.values) == list(ds.keypoint.values)
    assert list(back.individual.values) == list(ds.individual.values)
    for key in ("fps", "time_unit", "space_unit", "source_software", "ds_type"):
        assert back.attrs.get(key) == ds.attrs.get(key), key
    assert bh.read_log(back)[:-1] == bh.read_log(ds)
    assert bh.read_log(back)[-1]["operation"] == "load_poses"


def test_written_file_has_the_ndx_pose_layout(tmp_path, small_poses):
    path = bh.save_poses(small_poses.isel(individual=[0]), tmp_path / "one.nwb")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        pe = nwbfile.processing["behavior"]["PoseEstimation"]  # where movement looks
        assert list(pe.skeleton.nodes[:]) == ["nose", "neck", "tail_base"]
        assert pe.skeleton.name == "mouse_a_skeleton"
        assert pe.skeleton.subject.subject_id == "mouse_a"
        assert nwbfile.identifier == "mouse_a"
        assert pe.source_software == "test"
        series = pe.pose_estimation_series["neck"]
        np.testing.assert_array_equal(series.timestamps[:], small_poses.time.values)
        np.testing.assert_array_equal(
            series.confidence[:], small_poses.confidence.sel(keypoint="neck").values[:, 0]
        )


def test_several_individuals_go_to_one_file_and_can_be_picked(tmp_path, small_poses):
    path = bh.save_poses(small_poses, tmp_path / "two.nwb")
    with h5py.File(path, "r") as f:
        assert {"PoseEstimation_mouse_a", "PoseEstimation_mouse_b", "Skeletons"} <= set(
            f["processing/behavior"]
        )
    one = bh.load_poses(path, pose_estimation="PoseEstimation_mouse_b")
    assert list(one.individual.values) == ["mouse_b"]
    np.testing.assert_array_equal(
        one.position.values[..., 0], small_poses.position.sel(individual="mouse_b").values
    )
    with pytest.raises(bh.FileFormatError, match=r"no PoseEstimation named 'nope'.*mouse_a"):
        bh.load_poses(path, pose_estimation="nope")
    with pytest.raises(bh.FileFormatError, match=r"processing module 'other'"):
        bh.load_poses(path, processing_module="other")


def test_frames_dataset_round_trips_as_frames_or_converts_with_fps(tmp_path, small_poses):
    frames = small_poses.assign_coords(time=np.arange(0.0, 100.0, 2.0))
    frames.attrs = {k: v for k, v in small_poses.attrs.items() if k != "fps"}
    frames.attrs["time_unit"] = "frames"
    path = bh.save_poses(frames, tmp_path / "frames.nwb")
    back = bh.load_poses(path)
    assert back.attrs["time_unit"] == "frames" and "fps" not in back.attrs
    np.testing.assert_array_equal(back.time.values, frames.time.values)
    converted = bh.load_poses(path, fps=10)
    np.testing.assert_allclose(converted.time.values, frames.time.values / 10)
    path = bh.save_poses(frames, tmp_path / "seconds.nwb", fps=4)
    back = bh.load_poses(path)
    assert back.attrs["time_unit"] == "seconds" and back.attrs["fps"] == 4.0
    np.testing.assert_array_equal(back.time.values, frames.time.values / 4)


# -------------------------------------------------------- files written by others


def _nwbfile(**kwargs) -> pynwb.NWBFile:
    return pynwb.NWBFile(
        session_description="test",
        identifier=kwargs.pop("identifier", "session-1"),
        session_start_time=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        **kwargs,
    )


def _series(name, n, **timing):
    rng = np.random.default_rng(len(name))
    return ndx_pose.PoseEstimationSeries(
        name=name,
        data=rng.random((n, 2)),
        confidence=rng.random(n),
        reference_frame="top left",
        **timing,
    )


def _write(nwbfile, path):
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


def test_rate_based_series_give_seconds_from_starting_time(tmp_path):
    nwbfile = _nwbfile()
    module = nwbfile.create_processing_module("behavior", "poses")
    skeleton = ndx_pose.Skeleton(name="subject", nodes=["tail", "head"])
    module.add(ndx_pose.Skeletons(skeletons=[skeleton]))
    series = [_series(k, 20, rate=50.0, starting_time=2.0) for k in ("head", "tail")]
    module.add(ndx_pose.PoseEstimation(pose_estimation_series=series, skeleton=skeleton))
    path = _write(nwbfile, tmp_path / "rate.nwb")
    for engine in ("pynwb", "h5py"):
        ds = nwb.read(path, engine=engine)
        assert list(ds.keypoint.values) == ["tail", "head"]  # skeleton order
        assert ds.attrs["fps"] == 50.0
        np.testing.assert_allclose(ds.time.values, 2.0 + np.arange(20) / 50)
        assert list(ds.individual.values) == ["session-1"]  # identifier, nothing else


def test_containers_with_different_timestamps_are_not_individuals(tmp_path):
    nwbfile = _nwbfile()
    module = nwbfile.create_processing_module("behavior", "poses")
    for name, start in (("PoseEstimation_a", 0.0), ("PoseEstimation_b", 1.0)):
        ts = start + np.arange(5) / 10
        module.add(
            ndx_pose.PoseEstimation(
                name=name, pose_estimation_series=[_series("nose", 5, timestamps=ts)]
            )
        )
    path = _write(nwbfile, tmp_path / "apart.nwb")
    with pytest.raises(bh.FileFormatError, match="do not share timestamps"):
        bh.load_poses(path)
    ds = bh.load_poses(path, pose_estimation="behavior/PoseEstimation_b")
    assert list(ds.individual.values) == ["b"]
    np.testing.assert_allclose(ds.time.values, 1.0 + np.arange(5) / 10)


def test_shared_timestamps_read_as_individuals_with_union_of_keypoints(tmp_path):
    nwbfile = _nwbfile(subject=pynwb.file.Subject(subject_id="cage-3"))
    module = nwbfile.create_processing_module("behavior", "poses")
    ts = np.arange(6) / 30
    module.add(
        ndx_pose.PoseEstimation(
            name="PoseEstimation_m1",
            pose_estimation_series=[_series("nose", 6, timestamps=ts)],
        )
    )
    module.add(
        ndx_pose.PoseEstimation(
            name="PoseEstimation_m2",
            pose_estimation_series=[
                _series("nose", 6, timestamps=ts),
                _series("tail", 6, timestamps=ts),
            ],
        )
    )
    ds = bh.load_poses(_write(nwbfile, tmp_path / "pair.nwb"))
    assert list(ds.individual.values) == ["m1", "m2"]
    assert list(ds.keypoint.values) == ["nose", "tail"]
    assert np.isnan(ds.position.sel(individual="m1", keypoint="tail")).all()
    assert np.isfinite(ds.position.sel(individual="m2", keypoint="tail")).all()


def test_camera_views_are_refused_as_individuals(tmp_path):
    nwbfile = _nwbfile()
    module = nwbfile.create_processing_module("behavior", "poses")
    ts = np.arange(4) / 30
    for cam in ("cam1", "cam2"):
        device = nwbfile.create_device(name=cam)
        module.add(
            ndx_pose.PoseEstimation(
                name=f"PoseEstimation_{cam}",
                pose_estimation_series=[_series("nose", 4, timestamps=ts)],
                device=device,
            )
        )
    path = _write(nwbfile, tmp_path / "cams.nwb")
    with pytest.raises(bh.FileFormatError, match=r"different cameras \['cam1', 'cam2'\]"):
        bh.load_poses(path)
    assert bh.load_poses(path, pose_estimation="PoseEstimation_cam2").sizes["individual"] == 1


# ----------------------------------------------------------------------- bad input


def test_nwb_without_pose_data_is_refused_with_the_reason(tmp_path):
    nwbfile = _nwbfile()
    nwbfile.create_processing_module("ecephys", "spikes")
    path = _write(nwbfile, tmp_path / "spikes.nwb")
    verdict = nwb.sniff(Probe(path))
    assert not verdict.accepted
    assert "without ndx-pose PoseEstimation" in verdict.reason and "ecephys" in verdict.reason
    with pytest.raises(bh.UnknownFormatError, match=r"- nwb: NWB file .* without ndx-pose"):
        bh.load_poses(path)
    with pytest.raises(bh.FileFormatError, match=r"spikes.nwb: expected ndx-pose PoseEstimation"):
        bh.load_poses(path, source="nwb")


def test_plain_hdf5_and_text_are_refused(tmp_path):
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = np.arange(3)
    assert "nwb_version" in nwb.sniff(Probe(plain)).reason
    text = tmp_path / "fake.nwb"
    text.write_text("not hdf5")
    assert "not an HDF5 file" in nwb.sniff(Probe(text)).reason
    with pytest.raises(bh.FileFormatError, match="plain.h5: expected an NWB file"):
        nwb.read(plain, engine="h5py")


def test_writer_refuses_ensembles_and_unstorable_names(tmp_path, small_poses):
    ensemble = small_poses.expand_dims(ensemble=["a", "b"])
    with pytest.raises(bh.PoseDataError, match=r"extra dimension\(s\) \['ensemble'\]"):
        nwb.write(ensemble, tmp_path / "e.nwb")
    slashed = small_poses.assign_coords(keypoint=["nose", "ne/ck", "tail_base"])
    with pytest.raises(bh.PoseDataError, match=r"keypoint 'ne/ck'.*'/'"):
        nwb.write(slashed, tmp_path / "s.nwb")
    assert not (tmp_path / "e.nwb").exists()


def test_missing_pynwb_reads_with_h5py_and_refuses_to_write(tmp_path, small_poses, monkeypatch):
    path = bh.save_poses(small_poses, tmp_path / "poses.nwb")
    monkeypatch.setitem(sys.modules, "pynwb", None)
    ds = bh.load_poses(path)  # engine="auto" falls back to h5py
    np.testing.assert_array_equal(ds.position.values, small_poses.position.values)
    with pytest.raises(bh.MissingDependencyError, match=r"pip install 'behavior\[nwb\]'"):
        nwb.read(path, engine="pynwb")
    with pytest.raises(bh.MissingDependencyError, match="pynwb"):
        bh.save_poses(small_poses, tmp_path / "again.nwb")
    assert not (tmp_path / "again.nwb").exists()
