"""Tests for behavior/io/deeplabcut.py: real DeepLabCut files, round trips, odd layouts, errors."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import behavior as bh
from behavior.io import deeplabcut as dlc
from behavior.io.registry import Probe
from tests.conftest import SHARED_DATA, manifest_rows

DLC_FORMATS = ("dlc-h5", "dlc-csv", "dlc-labeled-frames")
ROWS = [row for row in manifest_rows() if row["format"] in DLC_FORMATS]
if not ROWS:
    ROWS = [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED_DATA} is absent"))]
H5_ROWS = [r for r in ROWS if isinstance(r, dict) and r["path"].endswith(".h5")] or ROWS

DEEPOF = "deepof_tests/tests/test_examples"
MADLC_CSV = f"{DEEPOF}/test_madlc_topview/Tables/testDLC_csv_table_madlc.csv"
MADLC_H5 = f"{DEEPOF}/test_madlc_topview/Tables/testDLC_h5_table_madlc.h5"
LEGACY_MULTI_CSV = f"{DEEPOF}/test_multi_topview/Tables/testDLC_csv_table_multi.csv"
REACHING = "dlc_examples/examples/Reaching-Mackenzie-2018-08-30/labeled-data/reachingvideo1"
BSOID_H5 = "bsoid_bottomup/raw_clip1DLC_resnet50_OpenFieldHighResApr8shuffle1_1030000.h5"


def _pandas_frame(path: Path) -> pd.DataFrame:
    """The file as DeepLabCut itself reads it."""
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            key = next(k for k in ("df_with_missing", "tracks", *f.keys()) if k in f)
        return pd.read_hdf(path, key)
    with open(path) as fh:
        fh.readline()
        n_header = 4 if fh.readline().startswith("individuals") else 3
    # The header rows are read apart from the body: with header=[0, 1, 2(, 3)] pandas
    # takes an all-empty first frame (frame 0 of several rat_social_dev files) for a row
    # of index names and drops it.
    header = pd.read_csv(path, header=None, nrows=n_header, index_col=0, dtype=str)
    df = pd.read_csv(path, header=None, skiprows=n_header, index_col=0)
    df.columns = pd.MultiIndex.from_arrays(list(header.to_numpy()), names=list(header.index))
    df.index.name = None
    return df


def _as_frame_values(ds) -> np.ndarray:
    """Position and confidence laid out as DeepLabCut columns (full product layouts)."""
    pos = ds.position.transpose("time", "individual", "keypoint", "space").values
    parts = [pos]
    if np.isfinite(ds.confidence.values).any():
        conf = ds.confidence.transpose("time", "individual", "keypoint").values
        parts.append(conf[..., np.newaxis])
    return np.concatenate(parts, axis=-1).reshape(ds.sizes["time"], -1)


def _all_values(table: dlc.DLCTable) -> np.ndarray:
    values = np.full((table.n_rows, len(table.columns)), -1.0)

    def sink(start, block):
        values[start : start + block.shape[0]] = block

    return values[: table.fill(sink)]


# --------------------------------------------------------------------------- real files


@pytest.mark.realdata
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["path"] if r else "no-data")
def test_real_file_loads_like_the_manifest_and_pandas(row, shared_data):
    path = shared_data / row["path"]
    assert bh.io.detect_format(path).name == "deeplabcut"
    ds = bh.load_poses(path, zeros_as_missing=False)
    assert ds.attrs["source_software"] == "DeepLabCut"
    expected = {
        d: int(row[k]) for d, k in [("individual", "individuals"), ("keypoint", "keypoints")]
    }
    expected.update(time=int(row["frames"]), space=int(row["space"]))
    assert {d: ds.sizes[d] for d in expected} == expected
    assert list(ds.space.values) == [c for c in row["coords"].split(",") if c in "xyz"]
    assert ds.position.dtype == np.float64
    # values, names and order agree with DeepLabCut's own pandas reading
    df = _pandas_frame(path)
    np.testing.assert_array_equal(_as_frame_values(ds), df.to_numpy(dtype=float))
    assert list(ds.keypoint.values) == list(df.columns.get_level_values("bodyparts").unique())
    # the file's own coords row says whether it has likelihoods (the manifest's coords
    # column lists only "x,y" for rat_social_dev, whose files have likelihoods)
    if "likelihood" not in set(df.columns.get_level_values("coords")):
        assert np.isnan(ds.confidence.values).all()
    else:
        assert np.isfinite(ds.confidence.values).any()
    labelled = not pd.api.types.is_integer_dtype(df.index.dtype)
    assert ("image" in ds.coords) == labelled
    if labelled:
        np.testing.assert_array_equal(ds.time.values, np.arange(len(df)))
        assert ds.image.values[0] == "/".join(np.atleast_1d(df.index[0]))
    else:
        np.testing.assert_array_equal(ds.time.values, df.index.to_numpy(dtype=float))


@pytest.mark.realdata
@pytest.mark.parametrize("row", H5_ROWS, ids=lambda r: r["path"] if r else "no-data")
def test_h5_fast_path_equals_pandas(row, shared_data):
    path = shared_data / row["path"]
    table = dlc.read_h5_table(path)
    values = _all_values(table)
    df = _pandas_frame(path)
    np.testing.assert_array_equal(values, df.to_numpy(dtype=float))
    assert table.columns == [tuple(str(x) for x in c) for c in df.columns]
    assert list(table.level_names) == list(df.columns.names)
    np.testing.assert_array_equal(table.index.astype(str), df.index.astype(str))


@pytest.mark.realdata
def test_table_format_is_read_without_pandas(shared_data, monkeypatch):
    def no_pandas(*args, **kwargs):
        raise AssertionError("pd.read_hdf should not be needed for a DLC table file")

    monkeypatch.setattr(dlc.pd, "read_hdf", no_pandas)
    ds = dlc.read(shared_data / BSOID_H5, fps=60)
    assert ds.sizes["time"] == 7200
    assert ds.attrs["fps"] == 60 and ds.time.values[1] == pytest.approx(1 / 60)
    assert ds.attrs["scorer"].startswith("DLC_resnet50")


@pytest.mark.realdata
def test_deepof_legacy_multi_is_one_individual_with_prefixed_keypoints(shared_data):
    ds = bh.load_poses(shared_data / LEGACY_MULTI_CSV)
    assert list(ds.individual.values) == ["individual_0"]
    assert ds.sizes["keypoint"] == 28
    assert ds.keypoint.values[0] == "B_Nose" and ds.keypoint.values[14] == "W_Nose"


@pytest.mark.realdata
def test_scorer_suffix_quirk_and_zeros_as_missing(shared_data):
    path = shared_data / MADLC_CSV
    first_line = path.read_text().splitlines()[0]
    assert ".1," in first_line  # the file has pandas' mangled scorer names
    raw = bh.load_poses(path, zeros_as_missing=False)
    ds = bh.load_poses(path)
    assert list(ds.individual.values) == ["mouse_black_tail", "mouse_white_tail"]
    assert not ds.attrs["scorer"].endswith(".1")
    zero = (raw.confidence == 0) & (raw.position == 0).all("space")
    assert 0 < int(zero.sum()) < zero.size
    # exactly the (0, 0, likelihood 0) points became missing; their confidence stays 0
    assert bool(ds.position.isnull().all("space").where(zero, True).all())
    assert int(ds.position.isnull().all("space").sum()) == int(zero.sum())
    np.testing.assert_array_equal(ds.confidence.values, raw.confidence.values)
    kept = ~zero.values[:, np.newaxis]
    np.testing.assert_array_equal(
        np.where(kept, ds.position.values, 0), np.where(kept, raw.position.values, 0)
    )


@pytest.mark.realdata
def test_stitched_tracks_key_and_3d(shared_data):
    ds = bh.load_poses(shared_data / MADLC_H5)  # key "tracks", fixed format
    assert ds.sizes["individual"] == 2
    ds3 = bh.load_poses(shared_data / "dlc2kinematics_reaching/reachingDEMO_3D.h5", fps=100)
    assert list(ds3.space.values) == ["x", "y", "z"]
    assert np.isnan(ds3.confidence.values).all()
    # the file's frame numbers start at 42150: time keeps them
    assert ds3.time.values[0] == pytest.approx(42150 / 100)


@pytest.mark.realdata
def test_labelled_frames_csv_and_h5_agree(shared_data, caplog):
    base = shared_data / REACHING
    with caplog.at_level(logging.WARNING, logger="behavior.io.deeplabcut"):
        from_csv = bh.load_poses(base / "CollectedData_Mackenzie.csv", fps=30)
    assert "fps=30" in caplog.text  # not a video: fps is ignored, said so
    from_h5 = bh.load_poses(base / "CollectedData_Mackenzie.h5")
    assert from_csv.attrs["time_unit"] == "frames" and "fps" not in from_csv.attrs
    np.testing.assert_array_equal(from_csv.position.values, from_h5.position.values)
    np.testing.assert_array_equal(from_csv.image.values, from_h5.image.values)
    assert from_csv.image.values[0] == "labeled-data/reachingvideo1/img005.png"
    assert np.isnan(from_csv.confidence.values).all()
    assert np.isnan(from_csv.position.values).any()  # unlabelled keypoints stay NaN


# --------------------------------------------------------------------------- round trips


@st.composite
def pose_datasets(draw):
    n_time = draw(st.integers(1, 12))
    n_space = draw(st.sampled_from([2, 3]))
    n_kp = draw(st.integers(1, 4))
    n_ind = draw(st.integers(1, 3))
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
    position = draw(hnp.arrays(np.float64, (n_time, n_space, n_kp, n_ind), elements=finite))
    missing = draw(hnp.arrays(np.bool_, (n_time, n_kp, n_ind)))
    position[np.broadcast_to(missing[:, np.newaxis], position.shape)] = np.nan
    confidence = None
    if n_space == 2 or draw(st.booleans()):
        unit = st.floats(0, 1, allow_nan=False, width=64)
        confidence = draw(hnp.arrays(np.float64, (n_time, n_kp, n_ind), elements=unit))
        confidence[draw(hnp.arrays(np.bool_, (n_time, n_kp, n_ind)))] = np.nan
    name = st.text('abcXYZ_ -.0123,"é', min_size=1, max_size=6)
    keypoints = draw(st.lists(name, min_size=n_kp, max_size=n_kp, unique=True))
    if n_ind == 1 and draw(st.booleans()):
        individuals = ["individual_0"]
    else:
        individuals = draw(st.lists(name, min_size=n_ind, max_size=n_ind, unique=True))
    fps = draw(st.sampled_from([None, 30.0, 59.94]))
    return bh.from_numpy(
        position,
        confidence,
        individual_names=individuals,
        keypoint_names=keypoints,
        fps=fps,
        source_software="test",
    )


@settings(max_examples=30, deadline=None)
@given(ds=pose_datasets(), target=st.sampled_from(["table.h5", "fixed.h5", "poses.csv"]))
def test_round_trip_is_lossless(ds, target):
    options = {"h5_format": target.split(".")[0]} if target.endswith(".h5") else {}
    with tempfile.TemporaryDirectory() as tmp:
        path = bh.save_poses(ds, Path(tmp) / target, **options)
        assert bh.io.detect_format(path).name == "deeplabcut"
        back = bh.load_poses(path, fps=ds.attrs.get("fps"), zeros_as_missing=False)
    np.testing.assert_array_equal(back.position.values, ds.position.values)  # NaN == NaN here
    np.testing.assert_array_equal(back.confidence.values, ds.confidence.values)
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    for dim in ("space", "keypoint", "individual"):
        assert list(back[dim].values) == list(ds[dim].values)
    assert back.attrs["time_unit"] == ds.attrs["time_unit"]


def test_csv_floats_are_exact_both_ways(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.normal(size=(200, 6)) * 10.0 ** rng.integers(-12, 12, size=(200, 6))
    values[::7, 2] = np.nan
    columns = pd.MultiIndex.from_product(
        [["DLC_x"], ["nose", "tail"], ["x", "y", "likelihood"]],
        names=["scorer", "bodyparts", "coords"],
    )
    # a CSV written by pandas (as DeepLabCut writes it) reads exactly
    pd.DataFrame(values, columns=columns).to_csv(tmp_path / "pandas.csv")
    ds = bh.load_poses(tmp_path / "pandas.csv", zeros_as_missing=False)
    np.testing.assert_array_equal(_as_frame_values(ds), values)
    # and ours reads back exactly in pandas
    bh.save_poses(ds, tmp_path / "ours.csv")
    df = pd.read_csv(tmp_path / "ours.csv", header=[0, 1, 2], index_col=0)
    np.testing.assert_array_equal(df.to_numpy(), values)
    assert list(df.columns) == list(columns)  # the scorer read is the scorer written


@pytest.mark.parametrize("fmt", ["table", "fixed"])
def test_written_h5_reads_in_deeplabcuts_way(tmp_path, small_poses, fmt):
    path = bh.save_poses(small_poses, tmp_path / "out.h5", h5_format=fmt, scorer="DLC_test")
    df = pd.read_hdf(path, "df_with_missing")
    assert list(df.columns.names) == ["scorer", "individuals", "bodyparts", "coords"]
    assert list(df.columns.get_level_values("coords")[:3]) == ["x", "y", "likelihood"]
    assert set(df.columns.get_level_values("scorer")) == {"DLC_test"}
    np.testing.assert_array_equal(df.to_numpy(), _as_frame_values(small_poses))
    np.testing.assert_array_equal(df.index, np.arange(50))
    with h5py.File(path, "r") as f:
        kind = f["df_with_missing"].attrs["pandas_type"].decode()
    assert kind == {"table": "frame_table", "fixed": "frame"}[fmt]


def test_single_animal_writes_three_levels_and_labelled_frames_keep_images(tmp_path):
    ds = bh.from_numpy(np.arange(24.0).reshape(3, 2, 4, 1), individual_names=["individual_0"])
    ds = ds.assign_coords(image=("time", ["labeled-data/v/img0.png", "a/b.png", "c.png"]))
    path = bh.save_poses(ds, tmp_path / "CollectedData_me.h5")
    df = pd.read_hdf(path, "df_with_missing")
    assert list(df.columns.names) == ["scorer", "bodyparts", "coords"]
    assert list(df.columns.get_level_values("coords").unique()) == ["x", "y"]  # no likelihood
    assert list(df.index) == list(ds.image.values)
    back = bh.load_poses(path)
    assert list(back.image.values) == list(ds.image.values)
    np.testing.assert_array_equal(back.position.values, ds.position.values)


def test_three_level_row_index_of_labelled_frames(tmp_path):
    rows = pd.MultiIndex.from_tuples([("labeled-data", "vid", f"img{i:03d}.png") for i in range(4)])
    columns = pd.MultiIndex.from_product(
        [["me"], ["snout", "tail"], ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    df = pd.DataFrame(np.arange(16.0).reshape(4, 4), index=rows, columns=columns)
    df.to_csv(tmp_path / "CollectedData_me.csv")
    df.to_hdf(tmp_path / "CollectedData_me.h5", key="df_with_missing")  # fixed, as DLC
    for name in ("CollectedData_me.csv", "CollectedData_me.h5"):
        ds = bh.load_poses(tmp_path / name)
        assert ds.image.values[2] == "labeled-data/vid/img002.png"
        tail_y = ds.position.sel(keypoint="tail", space="y", individual="individual_0")
        np.testing.assert_array_equal(tail_y, df.iloc[:, 3])


def test_irregular_timestamps_are_written_as_row_numbers(tmp_path, caplog):
    ds = bh.from_numpy(np.zeros((4, 2, 1, 1)), time=[0.0, 0.1, 0.35, 0.4])
    with caplog.at_level(logging.WARNING, logger="behavior.io.deeplabcut"):
        bh.save_poses(ds, tmp_path / "out.csv")
    assert "frame numbers only" in caplog.text
    np.testing.assert_array_equal(bh.load_poses(tmp_path / "out.csv").time.values, np.arange(4))


# --------------------------------------------------------------------------- unique bodyparts


def _madlc_frame() -> pd.DataFrame:
    """A maDLC table with unique bodyparts, laid out the way DeepLabCut writes it."""
    scorer = "DLC_dlcrnetms5_arenaJan1shuffle1_100000"
    labels = [
        (scorer, ind, bp, c)
        for ind, bps in [("mouse1", ["nose", "tail"]), ("mouse2", ["nose", "tail"])]
        for bp in bps
        for c in ("x", "y", "likelihood")
    ]
    labels += [
        (scorer, "single", bp, c) for bp in ("corner1", "corner2") for c in ("x", "y", "likelihood")
    ]
    columns = pd.MultiIndex.from_tuples(labels, names=list(dlc.LEVELS_MULTI))
    values = np.random.default_rng(0).uniform(1, 500, size=(6, len(labels)))
    return pd.DataFrame(values, columns=columns)


@pytest.mark.parametrize("name", ["ma.h5", "ma.csv"])
def test_unique_bodyparts_become_the_individual_single(tmp_path, name):
    df = _madlc_frame()
    path = tmp_path / name
    if name.endswith(".h5"):
        df.to_hdf(path, key="df_with_missing", format="table", mode="w")
    else:
        df.to_csv(path)
    ds = bh.load_poses(path)
    assert list(ds.individual.values) == ["mouse1", "mouse2", "single"]
    assert list(ds.keypoint.values) == ["nose", "tail", "corner1", "corner2"]
    corner = ds.position.sel(individual="single", keypoint="corner2", space="y").values
    np.testing.assert_array_equal(corner, df[(df.columns[0][0], "single", "corner2", "y")])
    assert ds.position.sel(individual="mouse1", keypoint="corner1").isnull().all()
    assert ds.position.sel(individual="single", keypoint="nose").isnull().all()
    assert ds.confidence.sel(individual="single", keypoint="tail").isnull().all()
    dropped = bh.load_poses(path, unique_bodyparts="drop")
    assert list(dropped.individual.values) == ["mouse1", "mouse2"]
    assert list(dropped.keypoint.values) == ["nose", "tail"]
    # written back in maDLC's own layout, not as a padded product
    out = bh.save_poses(ds, tmp_path / "back.h5")
    assert list(pd.read_hdf(out, "df_with_missing").columns) == list(df.columns)
    assert bh.load_poses(out).position.identical(ds.position)


# --------------------------------------------------------------------------- sniff and errors


def test_sniff_reasons_are_specific(tmp_path):
    other = tmp_path / "table.csv"
    other.write_text("time,x,y\n0,1,2\n")
    verdict = dlc.sniff(Probe(other))
    assert not verdict.accepted
    assert verdict.reason == "first cell of row 1 is 'time', expected 'scorer'"
    bad_row2 = tmp_path / "bad.csv"
    bad_row2.write_text("scorer,a,a\nparts,n,n\ncoords,x,y\n0,1,2\n")
    assert "row 2 is 'parts'" in dlc.sniff(Probe(bad_row2)).reason
    with pytest.raises(bh.UnknownFormatError, match=r"deeplabcut: first cell of row 1 is 'time'"):
        bh.load_poses(other)
    with pytest.raises(bh.FileFormatError, match=r"table.csv: not a DeepLabCut CSV"):
        bh.load_poses(other, source="dlc")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["tracks"] = np.zeros((2, 2))
    assert "'tracks' is not a pandas frame" in dlc.sniff(Probe(plain)).reason


def test_wide_header_beyond_the_probe_head(tmp_path):
    n_kp = 400
    columns = pd.MultiIndex.from_product(
        [["DLC_" + "x" * 60], [f"bodypart_with_a_long_name_{i}" for i in range(n_kp)], ["x", "y"]],
        names=["scorer", "bodyparts", "coords"],
    )
    pd.DataFrame(np.ones((3, 2 * n_kp)), columns=columns).to_csv(tmp_path / "wide.csv")
    assert (tmp_path / "wide.csv").read_text().index("\n0,") > Probe.HEAD_BYTES
    assert bh.load_poses(tmp_path / "wide.csv").sizes["keypoint"] == n_kp


HEADER = "scorer,s,s,s\nbodyparts,a,a,a\ncoords,x,y,likelihood\n"


@pytest.mark.realdata
def test_csv_read_in_many_pieces_and_threads(shared_data, monkeypatch):
    path = shared_data / "behaviordepot_freezing/demo/demo5/demo5_tracking.csv"
    monkeypatch.setattr(dlc, "_BLOCK_BYTES", 50_000)  # ~70 pieces, parsed in parallel
    monkeypatch.setattr(dlc, "_PARSE_THREADS", 3)
    table = dlc.read_csv_table(path)
    values = _all_values(table)
    df = _pandas_frame(path)
    np.testing.assert_array_equal(values, df.to_numpy(dtype=float))
    np.testing.assert_array_equal(table.index, df.index.to_numpy())


def test_blank_lines_inside_a_multi_piece_file(tmp_path, monkeypatch):
    rows = [f"{i},{i}.5,{2 * i},0.{i % 10}" for i in range(300)]
    rows[100] += "\n\n"  # blank lines in the middle shift every later row
    (tmp_path / "gaps.csv").write_text(HEADER + "\n".join(rows) + "\n")
    monkeypatch.setattr(dlc, "_BLOCK_BYTES", 512)
    ds = bh.load_poses(tmp_path / "gaps.csv")
    np.testing.assert_array_equal(ds.time.values, np.arange(300))
    np.testing.assert_array_equal(ds.position.values[:, 1, 0, 0], 2 * np.arange(300))


def test_blank_lines_and_missing_final_newline(tmp_path):
    text = HEADER + "0,1,2,0.5\n\n1,3,4,0.6\n\n\n2,5,6,0.7"
    (tmp_path / "gaps.csv").write_text(text)
    ds = bh.load_poses(tmp_path / "gaps.csv")
    np.testing.assert_array_equal(ds.position.values[:, 0, 0, 0], [1, 3, 5])
    np.testing.assert_array_equal(ds.time.values, [0, 1, 2])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scorer,s,s,s\nbodyparts,a,a\ncoords,x,y,likelihood\n0,1,2,3\n", "different numbers"),
        ("scorer,s,s\nbodyparts,a,a\ncoords,x,q\n0,1,2\n", "column 3 has coords 'q'"),
        (HEADER, "no frames"),
        (HEADER + "\n\n\n", "no frames"),
        (HEADER + "0,1,2,0.5\n1,1,2\n", r"lines 4 to 5.*Expected 4 columns"),
        (HEADER + "0,1,2,0.5\n1,1,abc,0.5\n", "malformed DeepLabCut CSV data"),
        ("scorer,s,s,s\nbodyparts,a,a,b\ncoords,x,y,x\n0,1,2,3\n", "has coords"),
    ],
)
def test_malformed_csv_raises_naming_the_file(tmp_path, text, message):
    path = tmp_path / "broken.csv"
    path.write_text(text)
    with pytest.raises(bh.FileFormatError, match=message) as info:
        bh.load_poses(path)
    assert "broken.csv" in str(info.value)


def test_empty_h5_frame_has_no_frames(tmp_path):
    columns = pd.MultiIndex.from_product(
        [["s"], ["nose"], ["x", "y"]], names=["scorer", "bodyparts", "coords"]
    )
    empty = pd.DataFrame(np.zeros((0, 2)), columns=columns)
    empty.to_hdf(tmp_path / "empty.h5", key="df_with_missing")  # "table" would write nothing
    with pytest.raises(bh.FileFormatError, match=r"empty.h5: no frames"):
        bh.load_poses(tmp_path / "empty.h5")


def test_crlf_line_ends_and_byte_order_mark(tmp_path):
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + "0,1,2,0.5\r\n1,3,4,0.6\r\n"
    (tmp_path / "windows.csv").write_bytes(text.encode("utf-8"))
    ds = bh.load_poses(tmp_path / "windows.csv")
    np.testing.assert_array_equal(ds.position.values[:, :, 0, 0], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(ds.confidence.values[:, 0, 0], [0.5, 0.6])


def test_duplicate_columns_raise(tmp_path):
    (tmp_path / "dup.csv").write_text(
        "scorer,s,s,s,s\nbodyparts,a,a,a,a\ncoords,x,y,likelihood,x\n0,1,2,3,4\n"
    )
    with pytest.raises(bh.FileFormatError, match=r"dup.csv: duplicate column"):
        bh.load_poses(tmp_path / "dup.csv")


def test_truncated_h5(tmp_path, small_poses):
    good = bh.save_poses(small_poses, tmp_path / "good.h5")
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(bh.FileFormatError, match=r"cut.h5"):
        bh.load_poses(cut)
    with pytest.raises(bh.FileFormatError, match=r"cut.h5: cannot be opened as HDF5.*truncated"):
        bh.load_poses(cut, source="deeplabcut")


def test_tracks_key_round_trip(tmp_path, small_poses):
    path = bh.save_poses(small_poses, tmp_path / "x_el.h5", key="tracks")
    assert dlc.sniff(Probe(path)).reason == "pandas frame under 'tracks'"
    assert bh.load_poses(path, fps=30).position.identical(small_poses.position)


def test_writer_refusals(tmp_path, small_poses):
    ensemble = small_poses.expand_dims(ensemble=["a", "b"])
    with pytest.raises(bh.PoseDataError, match="ensemble"):
        dlc.write(ensemble, tmp_path / "e.h5")
    with pytest.raises(bh.PoseDataError, match="h5_format: expected 'table' or 'fixed'"):
        dlc.write(small_poses, tmp_path / "e.h5", format="parquet")
    with pytest.raises(bh.PoseDataError, match=r"e.txt: DeepLabCut files end with"):
        dlc.write(small_poses, tmp_path / "e.txt")
    assert not list(tmp_path.iterdir())


def test_mabe_untracked_animals_at_origin_become_missing(shared_data):
    """MABe files have no likelihood and put an untracked mouse at exactly (0, 0)."""
    path = shared_data / "amadeus/examples/MABe/EGS8X2MN4SSUGFWAV976.h5"
    ds = bh.load_poses(path, fps=30)
    at_origin = ((ds.position == 0).all("space")).sum().item()
    assert at_origin == 0
    untracked = ds.position.isnull().any("space").all("keypoint").sum("time").values
    assert untracked.tolist() == [358, 42, 162]
    kept = bh.load_poses(path, fps=30, zeros_as_missing=False)
    assert ((kept.position == 0).all("space")).all("keypoint").sum("time").values.tolist() == [
        358,
        42,
        162,
    ]


# --------------------------------------------------------------------------- HDF5 without pandas


@pytest.mark.filterwarnings("ignore::pandas.errors.PerformanceWarning")  # pickled objects
@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_h5_string_column_and_mixed_blocks_read_whole(tmp_path, fmt):
    """Extra string columns (Lightning Pose's "set") and an int column beside float ones:
    several blocks, read without pandas; strings are kept whole ("nan" when missing)."""
    columns = pd.MultiIndex.from_product(
        [["DLC_x"], ["nose", "tail"], ["x", "y", "likelihood"]], names=list(dlc.LEVELS_SINGLE)
    )
    df = pd.DataFrame(np.arange(24.0).reshape(4, 6) / 3, columns=columns)
    df[("DLC_x", "tail", "likelihood")] = np.array([1, 0, 1, 1])  # an int64 block
    df[("set", "", "")] = pd.Series(["train", None, "test", "validation"], dtype=object)
    path = tmp_path / f"mixed_{fmt}.h5"
    df.to_hdf(path, key="df_with_missing", format=fmt)
    ds = bh.load_poses(path, zeros_as_missing=False)
    assert list(ds["set"].values) == ["train", "nan", "test", "validation"]
    np.testing.assert_array_equal(_as_frame_values(ds), df.iloc[:, :6].to_numpy(dtype=float))


def test_h5_read_errors_name_the_file(tmp_path, small_poses, monkeypatch):
    path = bh.save_poses(small_poses, tmp_path / "damaged.h5")

    def broken(*args, **kwargs):
        raise OSError("Can't synchronously read data (corrupted chunk address)")

    monkeypatch.setattr(h5py.Dataset, "read_direct", broken)
    with pytest.raises(bh.FileFormatError, match=r"damaged.h5: cannot read the values"):
        bh.load_poses(path)
