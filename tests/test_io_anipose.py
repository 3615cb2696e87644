"""Tests for behavior/io/anipose.py: Anipose triangulation CSV and sleap-anipose points3d.h5."""

from __future__ import annotations

import ast
import json
import re
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

import behavior as bh
from behavior.io import anipose
from behavior.io.registry import Probe
from tests.conftest import SHARED_DATA, manifest_rows

ROWS = [row for row in manifest_rows() if "anipose" in row["format"] or "points3d" in row["format"]]
if not ROWS:
    ROWS = [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED_DATA} is absent"))]

MINIMAL = "sleap_anipose_minimal/minimal_session"
VIEWS = ("back", "mid", "side", "top")
NODES = ["Nose", "Ear_R", "Ear_L", "TTI", "TailTip", "Head", "Trunk", "Tail_0", "Tail_1"]
DLC_CSV = "bsoid_bottomup/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.csv"
DLC_H5 = "bsoid_bottomup/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"
SLP = f"{MINIMAL}/top/minimal_top_proofread.slp"


def _expected(row: dict[str, str]) -> dict[str, int]:
    """MANIFEST counts; the points3d row holds the tracks shape in its first count cell."""
    if row["individuals"].startswith("{"):
        shape = next(iter(ast.literal_eval(row["individuals"]).values()))
        frames, individuals, keypoints, space = shape  # (n_frames, n_tracks, n_nodes, 3)
        return {"time": frames, "individual": individuals, "keypoint": keypoints, "space": space}
    return {
        "time": int(row["frames"]),
        "individual": int(row["individuals"]),
        "keypoint": int(row["keypoints"]),
        "space": int(row["space"]),
    }


# ------------------------------------------------------------------ points3d.h5


@pytest.mark.realdata
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["path"] if r else "no-data")
def test_manifest_anipose_files_load_with_manifest_shape(row, shared_data):
    path = shared_data / row["path"]
    assert bh.io.detect_format(path).name == "anipose"
    ds = bh.load_poses(path)
    assert {d: ds.sizes[d] for d in ("time", "individual", "keypoint", "space")} == _expected(row)
    assert list(ds.space.values) == ["x", "y", "z"]
    assert np.isfinite(ds.position.values).all()  # points3d holds no NaN


@pytest.mark.realdata
def test_points3d_values_and_names_from_the_camera_views(shared_data):
    path = shared_data / MINIMAL / "points3d.h5"
    ds = bh.load_poses(path, fps=100)
    with h5py.File(path) as f:
        raw = f["tracks"][()]  # (frames, tracks, nodes, 3)
    np.testing.assert_array_equal(ds.position.values, raw.transpose(0, 3, 2, 1))
    # names from the views' analysis files, in skeleton (not alphabetical) order
    slp = bh.load_poses(shared_data / SLP)
    assert list(ds.keypoint.values) == list(slp.keypoint.values)
    assert list(ds.keypoint.values)[: len(NODES)] == NODES
    assert list(ds.individual.values) == ["track_0"]
    assert np.isnan(ds.confidence.values).all()
    assert ds.attrs["fps"] == 100 and ds.time.values[1] == pytest.approx(0.01)
    assert ds.attrs["source_software"] == "sleap-anipose"


@pytest.mark.realdata
def test_points3d_alone_gets_default_names_or_the_given_ones(shared_data, tmp_path, caplog):
    alone = tmp_path / "points3d.h5"
    shutil.copy(shared_data / MINIMAL / "points3d.h5", alone)
    ds = bh.load_poses(alone)
    assert list(ds.keypoint.values)[:2] == ["keypoint_0", "keypoint_1"]
    assert list(ds.individual.values) == ["id_0"]
    assert "keypoint_names=" in caplog.text
    names = [f"kp{i}" for i in range(15)]
    named = bh.load_poses(alone, keypoint_names=names, individual_names=["mouse"])
    assert list(named.keypoint.values) == names and list(named.individual.values) == ["mouse"]
    with pytest.raises(bh.PoseDataError, match="keypoint_names"):
        bh.load_poses(alone, keypoint_names=names[:3])


@pytest.mark.realdata
def test_points3d_names_from_a_view_slp(shared_data, tmp_path):
    pytest.importorskip("sleap_io")
    shutil.copy(shared_data / MINIMAL / "points3d.h5", tmp_path / "points3d.h5")
    (tmp_path / "top").mkdir()
    shutil.copy(shared_data / SLP, tmp_path / "top" / "top.slp")
    ds = bh.load_poses(tmp_path / "points3d.h5")
    assert list(ds.keypoint.values)[: len(NODES)] == NODES


def _points3d(path, n_frames=6, n_tracks=1, n_nodes=3, description="", frames=None):
    data = np.arange(n_frames * n_tracks * n_nodes * 3, dtype=float).reshape(
        n_frames, n_tracks, n_nodes, 3
    )
    with h5py.File(path, "w") as f:
        f.create_dataset("tracks", data=data)
        f["tracks"].attrs["Description"] = description or "Shape: (n_frames, n_tracks, n_nodes, 3)."
        if frames is not None:
            f.create_dataset("frames", data=frames)
    return data


def _view(folder, nodes, tracks=("track_0",)):
    folder.mkdir()
    with h5py.File(folder / "cam.analysis.h5", "w") as f:
        f.create_dataset("tracks", data=np.zeros((len(tracks), 2, len(nodes), 6)))
        f.create_dataset("node_names", data=np.array([n.encode() for n in nodes]))
        f.create_dataset("track_names", data=np.array([t.encode() for t in tracks]))


def test_points3d_frame_range_sets_time(tmp_path):
    data = _points3d(tmp_path / "points3d.h5", frames=[10, 16])
    ds = bh.load_poses(tmp_path / "points3d.h5")
    np.testing.assert_array_equal(ds.time.values, np.arange(10, 16))
    assert ds.attrs["time_unit"] == "frames"
    np.testing.assert_array_equal(ds.position.values[2, :, 1, 0], data[2, 0, 1])


def test_points3d_views_must_agree_on_names(tmp_path):
    _points3d(tmp_path / "points3d.h5")
    _view(tmp_path / "a", ["nose", "ear", "tail"])
    _view(tmp_path / "b", ["nose", "tail", "ear"])
    with pytest.raises(bh.FileFormatError, match=r"points3d\.h5.*disagree"):
        bh.load_poses(tmp_path / "points3d.h5")
    chosen = bh.load_poses(tmp_path / "points3d.h5", keypoint_names=["a", "b", "c"])
    assert list(chosen.keypoint.values) == ["a", "b", "c"]


def test_points3d_uses_only_the_views_it_names(tmp_path):
    _points3d(
        tmp_path / "points3d.h5", n_tracks=2, description="Shape: (...). Camera views used: ['b']"
    )
    _view(tmp_path / "a", ["nose", "ear", "tail"])  # not used for this triangulation
    _view(tmp_path / "b", ["nose", "tail", "ear"], tracks=("male", "female"))
    _view(tmp_path / "c", ["one", "two"])  # another skeleton: ignored anyway
    ds = bh.load_poses(tmp_path / "points3d.h5")
    assert list(ds.keypoint.values) == ["nose", "tail", "ear"]
    assert list(ds.individual.values) == ["male", "female"]


def test_points3d_bad_files_are_file_format_errors(tmp_path, shared_data):
    data = (shared_data / MINIMAL / "points3d.h5").read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(bh.FileFormatError, match="cut.h5"):
        bh.load_poses(cut)
    with pytest.raises(bh.FileFormatError, match=r"cut\.h5.*truncated"):
        bh.load_poses(cut, source="anipose")
    rank3 = tmp_path / "rank3.h5"
    with h5py.File(rank3, "w") as f:
        f.create_dataset("tracks", data=np.zeros((6, 3, 3)))
    assert "(6, 3, 3)" in anipose.sniff(Probe(rank3)).reason
    with pytest.raises(bh.FileFormatError, match=r"rank3\.h5.*\(6, 3, 3\)"):
        bh.load_poses(rank3, source="anipose")


# ------------------------------------------------------------------ triangulation CSV

BODYPARTS = ["nose", "ear_left", "tail_base"]  # not alphabetical: file order must be kept


def _csv(path, n_frames=5, fnum=None, drop=()):
    rng = np.random.default_rng(0)
    table = {}
    values = {}
    for bp in BODYPARTS:
        for field in ("x", "y", "z", "error", "ncams", "score"):
            col = rng.uniform(0, 10, n_frames).round(3)
            if field == "ncams":
                col = rng.integers(2, 5, n_frames).astype(float)
            values[bp, field] = col
            if f"{bp}_{field}" not in drop:
                table[f"{bp}_{field}"] = col
    values["nose", "ncams"][1] = np.nan  # seen by < 2 cameras: anipose writes NaN
    values["nose", "score"][1] = np.nan
    values["nose", "error"][1] = np.nan
    for i in range(3):
        for j in range(3):
            table[f"M_{i}{j}"] = float(i == j)
    for i in range(3):
        table[f"center_{i}"] = [1.5, -2.0, 0.25][i]
    table["fnum"] = np.arange(n_frames) if fnum is None else fnum
    pd.DataFrame(table).to_csv(path, index=False)
    return values


def test_csv_values_keypoint_order_and_extra_variables(tmp_path):
    path = tmp_path / "session1.csv"
    values = _csv(path)
    assert bh.io.detect_format(path).name == "anipose"
    ds = bh.load_poses(path)
    assert list(ds.keypoint.values) == BODYPARTS
    assert list(ds.individual.values) == ["id_0"]
    assert list(ds.space.values) == ["x", "y", "z"]
    for k, bp in enumerate(BODYPARTS):
        for s, axis in enumerate("xyz"):
            np.testing.assert_array_equal(ds.position.values[:, s, k, 0], values[bp, axis])
        np.testing.assert_array_equal(ds.confidence.values[:, k, 0], values[bp, "score"])
        np.testing.assert_array_equal(ds.reprojection_error.values[:, k, 0], values[bp, "error"])
        np.testing.assert_array_equal(ds.n_cameras.values[:, k, 0], values[bp, "ncams"])
    assert ds.reprojection_error.dims == ("time", "keypoint", "individual")
    assert np.isnan(ds.n_cameras.sel(keypoint="nose").values[1])
    assert ds.attrs["time_unit"] == "frames" and ds.attrs["source_software"] == "Anipose"
    assert ds.attrs["space_unit"] == "calibration units"
    alignment = json.loads(ds.attrs["anipose_alignment"])
    assert alignment["rotation"] == np.eye(3).tolist() and alignment["center"] == [1.5, -2.0, 0.25]


def test_csv_time_follows_fnum_and_fps(tmp_path):
    path = tmp_path / "gaps.csv"
    _csv(path, n_frames=4, fnum=[3, 4, 7, 8])
    frames = bh.load_poses(path)
    np.testing.assert_array_equal(frames.time.values, [3, 4, 7, 8])
    seconds = bh.load_poses(path, fps=50, space_unit="mm")
    np.testing.assert_allclose(seconds.time.values, [0.06, 0.08, 0.14, 0.16])
    assert seconds.attrs["fps"] == 50 and seconds.attrs["time_unit"] == "seconds"
    assert seconds.attrs["space_unit"] == "mm"


def test_csv_errors_name_the_file(tmp_path):
    path = tmp_path / "backwards.csv"
    _csv(path, n_frames=3, fnum=[0, 2, 1])
    with pytest.raises(bh.FileFormatError, match=r"backwards\.csv.*'fnum' must increase"):
        bh.load_poses(path)
    ok = tmp_path / "ok.csv"
    _csv(ok)
    with pytest.raises(bh.PoseDataError, match="keypoint_names"):
        bh.load_poses(ok, keypoint_names=["a", "b", "c"])
    with pytest.raises(bh.PoseDataError, match="individual_names"):
        bh.load_poses(ok, individual_names=["a", "b"])
    assert list(bh.load_poses(ok, individual_names=["mouse"]).individual.values) == ["mouse"]


def test_sniff_needs_the_full_anipose_header(tmp_path):
    no_score = tmp_path / "no_score.csv"
    _csv(no_score, drop=tuple(f"{bp}_score" for bp in BODYPARTS))
    verdict = anipose.sniff(Probe(no_score))
    assert not verdict.accepted and "bp_score" in verdict.reason
    # forced, the reader still reads it, with NaN confidence
    ds = bh.load_poses(no_score, source="anipose")
    assert np.isnan(ds.confidence.values).all() and np.isfinite(ds.position.values).all()


@pytest.mark.realdata
def test_sniff_refuses_dlc_sleap_and_netcdf(shared_data, small_poses, tmp_path):
    for name, expected in (
        (DLC_CSV, "DeepLabCut"),
        (DLC_H5, "pandas"),
        (SLP, "SLEAP labels"),
        (f"{MINIMAL}/top/minimal_top_proofread.analysis.h5", "SLEAP analysis"),
        (f"{MINIMAL}/calibration.metadata.h5", "'tracks'"),
    ):
        verdict = anipose.sniff(Probe(shared_data / name))
        assert not verdict.accepted, name
        assert re.search(expected, verdict.reason), (name, verdict.reason)
    nc = tmp_path / "poses.nc"
    small_poses.to_netcdf(nc, engine="netcdf4")
    verdict = anipose.sniff(Probe(nc))
    assert not verdict.accepted and "netCDF" in verdict.reason
