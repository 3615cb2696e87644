"""Tests for behavior/io/sleap.py: .slp, analysis HDF5 (both layouts) and legacy SLEAP HDF5."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.io import sleap
from behavior.io.registry import Probe
from tests.conftest import SHARED_DATA, manifest_rows

SLEAP_FORMATS = ("sleap-slp", "sleap-analysis-h5")
ROWS = [row for row in manifest_rows() if row["format"] in SLEAP_FORMATS]
if not ROWS:
    ROWS = [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED_DATA} is absent"))]

DEEPOF = "deepof_tests/tests/test_examples/test_single_topview/Tables/SLEAP/testDLC_sleap"
MINIMAL = "sleap_anipose_minimal/minimal_session"
LEGACY = "sleap_tests/tests/data/hdf5_format_v1/centered_pair_predictions"
CLIP = "sleap_tests/tests/data/tracks/clip.slp"
BSOID_H5 = "bsoid_bottomup/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    """Same arrays (NaN where NaN), names and time."""
    assert a.position.equals(b.position)
    assert a.confidence.equals(b.confidence)
    assert list(a.keypoint.values) == list(b.keypoint.values)
    assert list(a.individual.values) == list(b.individual.values)
    np.testing.assert_array_equal(a.time.values, b.time.values)


# ------------------------------------------------------------------ real files


@pytest.mark.realdata
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["path"] if r else "no-data")
def test_manifest_sleap_files_load_with_manifest_shape(row, shared_data):
    path = shared_data / row["path"]
    assert bh.io.detect_format(path).name == "sleap"
    ds = bh.load_poses(path)
    assert ds.attrs["source_software"] == "SLEAP"
    assert dict(ds.sizes) == {
        "time": int(row["frames"]),
        "space": int(row["space"]),
        "keypoint": int(row["keypoints"]),
        "individual": int(row["individuals"]),
    }
    assert np.isfinite(ds.position.values).any()


@pytest.mark.realdata
def test_deepof_analysis_h5_matches_its_slp(shared_data):
    slp = bh.load_poses(shared_data / f"{DEEPOF}.slp")
    h5 = bh.load_poses(shared_data / f"{DEEPOF}.analysis.h5")
    _same(slp, h5)
    # SLEAP scores are not probabilities: kept as they are, above 1 here
    assert np.nanmax(slp.confidence.values) > 1


@pytest.mark.realdata
@pytest.mark.parametrize("view", ["back", "mid", "side", "top"])
def test_each_camera_slp_and_analysis_h5_agree(shared_data, view):
    stem = shared_data / MINIMAL / view / f"minimal_{view}_proofread"
    slp = bh.load_poses(f"{stem}.slp")
    h5 = bh.load_poses(f"{stem}.analysis.h5")
    _same(slp, h5)
    assert list(slp.keypoint.values)[:3] == ["Nose", "Ear_R", "Ear_L"]  # skeleton order kept


@pytest.mark.realdata
def test_slp_matches_sleap_io_numpy(shared_data):
    sio = pytest.importorskip("sleap_io")
    path = shared_data / LEGACY
    ds = bh.load_poses(f"{path}.slp")
    ref = sio.load_slp(f"{path}.slp").numpy(return_confidence=True)  # (frame, track, node, 3)
    pos = ds.position.transpose("time", "individual", "keypoint", "space").values
    np.testing.assert_allclose(pos, ref[..., :2], atol=1e-3)  # sleap-io returns float32
    np.testing.assert_array_equal(np.isnan(pos[..., 0]), np.isnan(ref[..., 0]))
    assert list(ds.individual.values)[:3] == ["1", "2", "3"]  # track names


@pytest.mark.realdata
def test_user_labelled_points_have_nan_confidence(shared_data):
    ds = bh.load_poses(shared_data / CLIP)
    assert list(ds.individual.values) == ["female", "male"]
    assert np.isfinite(ds.position.values).mean() > 0.9
    assert np.isnan(ds.confidence.values).all()


@pytest.mark.realdata
def test_legacy_v1_h5_reads_like_its_slp_twin(shared_data):
    path = shared_data / f"{LEGACY}.h5"
    assert "legacy" in sleap.sniff(Probe(path)).reason
    _same(bh.load_poses(path), bh.load_poses(shared_data / f"{LEGACY}.slp"))


@pytest.mark.realdata
def test_sleap_io_custom_dims_are_honoured(shared_data, tmp_path):
    """sleap-io's own writer with an axis order no preset uses: the dims attribute decides."""
    sio = pytest.importorskip("sleap_io")
    labels = sio.load_slp(str(shared_data / f"{DEEPOF}.slp"))
    out = tmp_path / "custom.analysis.h5"
    sio.save_analysis_h5(labels, str(out), frame_dim=2, track_dim=0, node_dim=1, xy_dim=3)
    _same(bh.load_poses(out), bh.load_poses(shared_data / f"{DEEPOF}.slp"))


@pytest.mark.realdata
def test_sniff_refuses_dlc_and_points3d_with_reasons(shared_data):
    dlc = sleap.sniff(Probe(shared_data / BSOID_H5))
    assert not dlc.accepted and "pandas" in dlc.reason
    p3d = sleap.sniff(Probe(shared_data / MINIMAL / "points3d.h5"))
    assert not p3d.accepted and "node_names" in p3d.reason


@pytest.mark.realdata
def test_truncated_h5_is_a_file_format_error_naming_the_file(shared_data, tmp_path):
    data = (shared_data / f"{DEEPOF}.analysis.h5").read_bytes()
    cut = tmp_path / "cut.analysis.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(bh.FileFormatError, match="cut.analysis.h5"):
        bh.load_poses(cut)
    with pytest.raises(bh.FileFormatError, match=r"cut\.analysis\.h5.*truncated"):
        bh.load_poses(cut, source="sleap")


# ------------------------------------------------------------------ synthetic .slp


def _labels(tmp_path, frames, *, tracks=(), fps=None, n_videos=1):
    """Save a small .slp: ``frames`` maps (video, frame) to [(kind, track, xy, link)]."""
    sio = pytest.importorskip("sleap_io")
    skeleton = sio.Skeleton(["nose", "tail"])
    videos = []
    for v in range(n_videos):
        video = sio.Video(filename=f"video{v}.mp4", open_backend=False)
        if fps is not None:
            video.backend_metadata["fps"] = fps
        videos.append(video)
    track_objs = [sio.Track(name) for name in tracks]
    lfs = []
    for (v, frame), specs in frames.items():
        made = []
        for kind, track, xy, link in specs:
            xy = np.asarray(xy, dtype=float)
            track = None if track is None else track_objs[track]
            if kind == "pred":
                inst = sio.PredictedInstance.from_numpy(
                    xy, skeleton=skeleton, point_scores=np.array([0.5, 1.5]), score=0.9, track=track
                )
            else:
                inst = sio.Instance.from_numpy(xy, skeleton=skeleton, track=track)
                if link is not None:
                    inst.from_predicted = made[link]
            made.append(inst)
        lfs.append(sio.LabeledFrame(video=videos[v], frame_idx=frame, instances=made))
    labels = sio.Labels(lfs, videos=videos, skeletons=[skeleton], tracks=track_objs)
    path = tmp_path / "project.slp"
    labels.save(str(path))
    return path


A = [[1.0, 2.0], [3.0, 4.0]]
B = [[10.0, 20.0], [30.0, 40.0]]
C = [[100.0, 200.0], [300.0, 400.0]]


def test_slp_user_instance_wins_in_its_track(tmp_path):
    path = _labels(
        tmp_path,
        {(0, 0): [("pred", 0, A, None), ("user", 0, B, None), ("pred", 1, C, None)]},
        tracks=("m1", "m2"),
    )
    ds = bh.load_poses(path)
    assert list(ds.individual.values) == ["m1", "m2"]
    np.testing.assert_array_equal(ds.position.values[0, :, :, 0], np.array(B).T)
    assert np.isnan(ds.confidence.values[0, :, 0]).all()  # user-labelled
    np.testing.assert_array_equal(ds.confidence.values[0, :, 1], [0.5, 1.5])  # kept above 1


def test_slp_user_instance_takes_the_track_of_its_prediction(tmp_path):
    path = _labels(
        tmp_path, {(0, 0): [("pred", 1, A, None), ("user", None, B, 0)]}, tracks=("m1", "m2")
    )
    ds = bh.load_poses(path)
    np.testing.assert_array_equal(ds.position.values[0, :, :, 1], np.array(B).T)
    assert np.isnan(ds.position.values[0, :, :, 0]).all()


def test_slp_untracked_instances_are_dropped_when_the_video_has_tracks(tmp_path, caplog):
    path = _labels(
        tmp_path, {(0, 0): [("pred", 0, A, None)], (0, 1): [("pred", None, B, None)]}, tracks=("m",)
    )
    ds = bh.load_poses(path)
    assert ds.sizes["individual"] == 1
    assert np.isnan(ds.position.values[1]).all()
    assert "1 untracked instance" in caplog.text


def test_slp_untracked_single_animal_and_gaps(tmp_path):
    path = _labels(
        tmp_path,
        {
            (0, 2): [("pred", None, A, None)],
            (0, 5): [("pred", None, C, None), ("user", None, B, None)],
        },
        fps=25.0,
    )
    ds = bh.load_poses(path)
    assert list(ds.individual.values) == ["id_0"]
    assert ds.attrs["fps"] == 25.0 and ds.attrs["time_unit"] == "seconds"
    np.testing.assert_allclose(ds.time.values, np.arange(6) / 25.0)  # real frame indices from 0
    assert np.isnan(ds.position.values[[0, 1, 3, 4]]).all()  # unlabelled frames stay NaN
    np.testing.assert_array_equal(ds.position.values[5, :, :, 0], np.array(B).T)  # user wins
    np.testing.assert_array_equal(ds.position.values[2, :, :, 0], np.array(A).T)


def test_slp_several_untracked_animals_fill_individuals_in_order(tmp_path, caplog):
    path = _labels(tmp_path, {(0, 0): [("pred", None, A, None), ("pred", None, B, None)]})
    ds = bh.load_poses(path)
    assert list(ds.individual.values) == ["id_0", "id_1"]
    np.testing.assert_array_equal(ds.position.values[0, :, :, 1], np.array(B).T)
    assert "not consistent across frames" in caplog.text


def test_slp_video_option_picks_the_video(tmp_path):
    path = _labels(
        tmp_path,
        {(0, 0): [("pred", 0, A, None)], (1, 3): [("pred", 0, B, None)]},
        tracks=("m",),
        n_videos=2,
    )
    assert bh.load_poses(path).sizes["time"] == 1
    second = bh.load_poses(path, video=1)
    assert second.sizes["time"] == 4
    np.testing.assert_array_equal(second.position.values[3, :, :, 0], np.array(B).T)
    with pytest.raises(bh.PoseDataError, match="2 video"):
        bh.load_poses(path, video=2)


# ------------------------------------------------------------------ analysis HDF5 writer


names = st.lists(
    st.text(alphabet="abcxyz_é0123", min_size=1, max_size=6), min_size=1, max_size=4, unique=True
)


@st.composite
def pose_datasets(draw):
    n_time = draw(st.integers(1, 12))
    keypoints = draw(names)
    individuals = draw(names.filter(lambda n: len(n) <= 3))
    shape = (n_time, 2, len(keypoints), len(individuals))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    position = rng.normal(500, 200, size=shape)
    missing_point = rng.random((n_time, 1, *shape[2:])) < draw(st.floats(0, 1))
    position = np.where(missing_point, np.nan, position)  # whole points missing
    position[rng.random(shape) < draw(st.floats(0, 0.2))] = np.nan  # and single coordinates
    confidence = rng.uniform(0, 2, size=(n_time, len(keypoints), len(individuals)))
    confidence[rng.random(confidence.shape) < draw(st.floats(0, 1))] = np.nan
    fps = draw(st.sampled_from([None, 30.0, 59.94]))
    return bh.from_numpy(
        position, confidence, individual_names=individuals, keypoint_names=keypoints, fps=fps
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=pose_datasets(), preset=st.sampled_from(["matlab", "standard"]))
def test_analysis_h5_round_trip_is_lossless(tmp_path, ds, preset):
    path = tmp_path / f"rt_{preset}.analysis.h5"
    bh.save_poses(ds, path, preset=preset)
    back = bh.load_poses(path)
    _same(ds, back)
    assert back.attrs.get("fps") == ds.attrs.get("fps")
    assert back.attrs["time_unit"] == ds.attrs["time_unit"]


def test_presets_store_sleap_layouts_and_read_the_same(small_poses, tmp_path):
    matlab, standard = tmp_path / "m.analysis.h5", tmp_path / "s.analysis.h5"
    bh.save_poses(small_poses, matlab, preset="matlab", edges=[("nose", "neck")])
    bh.save_poses(small_poses, standard, preset="standard")
    with h5py.File(matlab) as f:
        assert f["tracks"].shape == (2, 2, 3, 50)  # (tracks, xy, nodes, frames)
        assert f["track_occupancy"].shape == (50, 2)  # SLEAP's quirk: frames first
        assert f["point_scores"].shape == (2, 3, 50)
        assert json.loads(f["tracks"].attrs["dims"]) == ["track", "xy", "node", "frame"]
        assert f.attrs["format"] == "analysis" and f.attrs["preset"] == "matlab"
        assert f["edge_inds"][()].tolist() == [[0, 1]]
        assert f["node_names"][()].tolist() == [b"nose", b"neck", b"tail_base"]
    with h5py.File(standard) as f:
        assert f["tracks"].shape == (50, 2, 3, 2)
        assert f["edge_names"].shape == (0, 2)
        assert f["track_occupancy"][5].tolist() == [1, 1]  # one missing point, still present
    _same(bh.load_poses(matlab), bh.load_poses(standard))


def test_files_we_write_load_in_sleap_io(small_poses, tmp_path):
    sio = pytest.importorskip("sleap_io")
    from sleap_io.io import analysis_h5

    for preset in ("matlab", "standard"):
        path = tmp_path / f"{preset}.analysis.h5"
        bh.save_poses(small_poses, path, preset=preset)
        labels = analysis_h5.read_labels(str(path))
        assert labels.skeletons[0].node_names == ["nose", "neck", "tail_base"]
        assert [t.name for t in labels.tracks] == ["mouse_a", "mouse_b"]
        assert len(labels.labeled_frames) == 50
        for lf in labels.labeled_frames:
            for inst in lf.instances:
                j = labels.tracks.index(inst.track)
                expected = small_poses.position.isel(time=lf.frame_idx, individual=j).values.T
                np.testing.assert_array_equal(inst.numpy(), expected)
        assert isinstance(labels, sio.Labels)


def test_writer_pads_rows_before_the_first_frame(small_poses, tmp_path):
    part = small_poses.isel(time=slice(10, 20))
    path = tmp_path / "part.analysis.h5"
    bh.save_poses(part, path)
    back = bh.load_poses(path)
    assert back.sizes["time"] == 20
    assert np.isnan(back.position.values[:10]).all()
    assert back.position.isel(time=slice(10, 20)).equals(part.position)


def test_writer_keeps_extra_scores(shared_data, tmp_path):
    ds = bh.load_poses(shared_data / f"{DEEPOF}.analysis.h5", extra_scores=True)
    assert np.isfinite(ds.instance_score.values).all()
    path = tmp_path / "scores.analysis.h5"
    bh.save_poses(ds, path)
    back = bh.load_poses(path, extra_scores=True)
    assert back.instance_score.equals(ds.instance_score)
    assert back.tracking_score.equals(ds.tracking_score)


def test_writer_refuses_what_the_format_cannot_hold(small_poses, tmp_path):
    path = tmp_path / "x.analysis.h5"
    three_d = bh.from_numpy(np.zeros((4, 3, 2, 1)))
    with pytest.raises(bh.PoseDataError, match="2D"):
        bh.save_poses(three_d, path)
    ensemble = xr.concat([small_poses, small_poses], dim="ensemble")
    with pytest.raises(bh.PoseDataError, match="ensemble"):
        sleap.write(ensemble, path)
    irregular = small_poses.assign_coords(time=small_poses.time.values + 0.01)
    with pytest.raises(bh.PoseDataError, match="whole frame"):
        bh.save_poses(irregular, path)
    with pytest.raises(bh.PoseDataError, match="preset"):
        bh.save_poses(small_poses, path, preset="python")
    with pytest.raises(bh.PoseDataError, match="edges"):
        bh.save_poses(small_poses, path, edges=[("nose", "ear")])
    assert not path.exists()
    with pytest.raises(bh.PoseDataError, match=r"\.slp projects is not supported"):
        bh.save_poses(small_poses, tmp_path / "project.slp")
    assert not (tmp_path / "project.slp").exists()


# ------------------------------------------------------------------ analysis HDF5 reader


def test_standard_file_without_dims_uses_the_preset_attribute(small_poses, tmp_path):
    one = small_poses.isel(individual=[1])
    path = tmp_path / "s.analysis.h5"
    bh.save_poses(one, path, preset="standard")
    with h5py.File(path, "r+") as f:
        for name in f:
            if "dims" in f[name].attrs:
                del f[name].attrs["dims"]
    _same(bh.load_poses(path), one)
    with h5py.File(path, "r+") as f:
        del f.attrs["preset"]  # now it looks like SLEAP's matlab export, and does not fit
    with pytest.raises(bh.FileFormatError, match=r"s\.analysis\.h5.*'xy' axis"):
        bh.load_poses(path)


def test_empty_track_names_give_one_individual(small_poses, tmp_path):
    one = small_poses.isel(individual=[0])
    path = tmp_path / "untracked.analysis.h5"
    bh.save_poses(one, path)
    with h5py.File(path, "r+") as f:
        del f["track_names"]
        f.create_dataset("track_names", data=np.zeros((0,), dtype="S1"))
    ds = bh.load_poses(path)
    assert list(ds.individual.values) == ["id_0"]
    np.testing.assert_array_equal(ds.position.values, one.position.values)


def test_tracks_of_the_wrong_rank_is_a_file_format_error(tmp_path):
    path = tmp_path / "rank3.analysis.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("tracks", data=np.zeros((2, 3, 10)))
        f.create_dataset("node_names", data=np.array([b"a", b"b", b"c"]))
    with pytest.raises(bh.FileFormatError, match=r"rank3\.analysis\.h5.*4-D"):
        bh.load_poses(path)


def test_node_names_must_match_tracks(small_poses, tmp_path):
    path = tmp_path / "nodes.analysis.h5"
    bh.save_poses(small_poses, path)
    with h5py.File(path, "r+") as f:
        del f["node_names"]
        f.create_dataset("node_names", data=np.array([b"a", b"b"]))
    with pytest.raises(bh.FileFormatError, match="node_names"):
        bh.load_poses(path)


def test_sniff_refuses_netcdf_text_and_foreign_hdf5(small_poses, tmp_path):
    nc = tmp_path / "poses.nc"
    small_poses.to_netcdf(nc, engine="netcdf4")
    verdict = sleap.sniff(Probe(nc))
    assert not verdict.accepted and "netCDF" in verdict.reason
    text = tmp_path / "a.csv"
    text.write_text("a,b\n1,2\n")
    assert "not an HDF5" in sleap.sniff(Probe(text)).reason
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("something", data=[1])
    verdict = sleap.sniff(Probe(other))
    assert not verdict.accepted and "something" in verdict.reason


def test_sniff_accepts_slp_and_analysis(small_poses, tmp_path):
    path = tmp_path / "w.analysis.h5"
    bh.save_poses(small_poses, path)
    assert sleap.sniff(Probe(path)).accepted
    assert bh.io.detect_format(path).name == "sleap"
    renamed = tmp_path / "renamed.bin"
    shutil.copy(path, renamed)  # content, not the suffix, decides
    assert bh.io.detect_format(renamed).name == "sleap"


def test_legacy_rule_moves_user_points_only(tmp_path):
    """Without format_id, user points were stored with the pixel corner at 0 (SLEAP's reader)."""
    path = _labels(
        tmp_path, {(0, 0): [("pred", 0, A, None), ("user", 1, B, None)]}, tracks=("p", "u")
    )
    with h5py.File(path, "r+") as f:
        del f["metadata"].attrs["format_id"]
    assert "legacy" in sleap.sniff(Probe(path)).reason
    ds = bh.load_poses(path)
    np.testing.assert_array_equal(ds.position.values[0, :, :, 0], np.array(A).T)
    np.testing.assert_array_equal(ds.position.values[0, :, :, 1], np.array(B).T - 0.5)
    np.testing.assert_array_equal(ds.confidence.values[0, :, 0], [0.5, 1.5])
