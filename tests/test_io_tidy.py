"""Tests for behavior/io/tidy.py: long tables in Parquet and CSV/TSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.io import tidy
from behavior.io.registry import Probe
from tests.conftest import manifest_rows

# any text a name may hold, including CSV specials (comma, quote, tab, newline)
names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    | st.sampled_from(',"\t '),
    min_size=1,
    max_size=6,
) | st.sampled_from(["NA", "nan", "null", " lead", "a,b", 'say "hi"', "two\nlines"])


@st.composite
def pose_datasets(draw, dtypes=(np.float64, np.float32)):
    n_time = draw(st.integers(1, 15))
    n_space = draw(st.sampled_from([2, 3]))
    keypoints = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    individuals = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    dtype = draw(st.sampled_from(dtypes))
    shape = (n_time, n_space, len(keypoints), len(individuals))
    floats = st.floats(allow_nan=True, allow_infinity=False, width=np.finfo(dtype).bits)
    position = np.array(
        draw(st.lists(floats, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
        dtype=dtype,
    ).reshape(shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    confidence = rng.random(shape[:1] + shape[2:])
    confidence[rng.random(confidence.shape) < 0.3] = np.nan
    if draw(st.booleans()):
        kwargs = {"fps": draw(st.sampled_from([30.0, 29.97, 120.0]))}
    else:
        kwargs = {"time": 1e3 + np.cumsum(rng.uniform(1e-4, 1.0, n_time))}
    ds = bh.from_numpy(
        position,
        confidence,
        keypoint_names=keypoints,
        individual_names=individuals,
        source_software="SLEAP",
        space_unit=draw(st.sampled_from(["pixels", "cm"])),
        **kwargs,
    )
    return bh.append_log(ds, "interpolate", max_gap=3)


def _same_values(back, ds):
    assert list(back.keypoint.values) == list(ds.keypoint.values)
    assert list(back.individual.values) == list(ds.individual.values)
    assert list(back.space.values) == list(ds.space.values)
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    np.testing.assert_array_equal(back.confidence.values, ds.confidence.values)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=pose_datasets())
def test_parquet_round_trip_is_lossless_with_attrs_and_log(ds, tmp_path):
    path = bh.save_poses(ds, tmp_path / "poses.parquet")
    back = bh.load_poses(path)
    _same_values(back, ds)
    assert back.position.dtype == ds.position.dtype
    for key in ("fps", "time_unit", "space_unit", "source_software", "ds_type"):
        assert back.attrs.get(key) == ds.attrs.get(key), key
    assert bh.read_log(back)[:-1] == bh.read_log(ds)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ds=pose_datasets(dtypes=(np.float64,)), suffix=st.sampled_from([".csv", ".tsv"]))
def test_text_round_trip_is_exact(ds, suffix, tmp_path):
    path = bh.save_poses(ds, tmp_path / f"poses{suffix}", format="tidy")
    assert bh.io.detect_format(path).name == "tidy"
    back = bh.load_poses(path)
    _same_values(back, ds)
    assert back.attrs["time_unit"] == "seconds"


def test_text_tables_hold_no_attrs_beyond_columns(tmp_path, small_poses):
    path = bh.save_poses(small_poses, tmp_path / "poses.tsv")
    header = path.read_text().splitlines()[0].split("\t")
    assert header == ["time", "frame", "individual", "keypoint", "x", "y", "confidence"]
    back = bh.load_poses(path)
    assert back.attrs["source_software"] == "tidy table"  # 'test' is lost in CSV/TSV
    assert back.attrs["fps"] == 30.0  # re-estimated from the time steps
    assert bh.read_log(back)[0]["operation"] == "load_poses"


def _long(rows):
    return pd.DataFrame(rows, columns=["time", "individual", "keypoint", "x", "y"])


def test_missing_rows_are_nan_and_order_is_first_appearance(tmp_path):
    rows = [
        (0.0, "zed", "tail", 1.0, 2.0),
        (0.0, "zed", "nose", 3.0, 4.0),
        (0.1, "amy", "nose", 5.0, 6.0),  # amy has no tail at all, zed none at 0.1
        (0.2, "zed", "tail", 7.0, 8.0),
    ]
    path = tmp_path / "sparse.csv"
    _long(rows[::-1]).to_csv(path, index=False)  # rows out of time order
    ds = bh.load_poses(path)
    assert list(ds.keypoint.values) == ["tail", "nose"]  # as first seen in the file
    assert list(ds.individual.values) == ["zed", "amy"]
    np.testing.assert_array_equal(ds.time.values, [0.0, 0.1, 0.2])
    assert ds.position.sel(time=0.1, individual="zed").isnull().all()
    assert ds.position.sel(individual="amy", keypoint="tail").isnull().all()
    assert ds.position.sel(time=0.2, individual="zed", keypoint="tail").values.tolist() == [7, 8]
    assert ds.confidence.isnull().all()  # no confidence column


def test_frame_only_tables_are_in_frames_until_fps_is_given(tmp_path):
    path = tmp_path / "frames.csv"
    pd.DataFrame(
        {
            "frame": [0, 0, 1, 1],
            "individual": "m",
            "keypoint": ["a", "b", "a", "b"],
            "x": 1.0,
            "y": 2.0,
        }
    ).to_csv(path, index=False)
    ds = bh.load_poses(path)
    assert ds.attrs["time_unit"] == "frames" and "fps" not in ds.attrs
    np.testing.assert_array_equal(ds.time.values, [0, 1])
    ds = bh.load_poses(path, fps=50)
    assert ds.attrs["time_unit"] == "seconds" and ds.attrs["fps"] == 50.0
    np.testing.assert_array_equal(ds.time.values, [0, 0.02])


def test_frames_dataset_writes_a_frame_column(tmp_path, small_poses):
    frames = small_poses.assign_coords(time=np.arange(100, 150, dtype=float))
    frames.attrs = {k: v for k, v in small_poses.attrs.items() if k != "fps"}
    frames.attrs["time_unit"] = "frames"
    for name in ("f.parquet", "f.csv"):
        path = tmp_path / name
        tidy.write(frames, path)
        columns = pq.read_schema(path).names if name.endswith("parquet") else None
        columns = columns or path.read_text().splitlines()[0].split(",")
        assert "frame" in columns and "time" not in columns
        back = bh.load_poses(path, source="tidy")
        assert back.attrs["time_unit"] == "frames"
        np.testing.assert_array_equal(back.time.values, frames.time.values)


def test_time_unit_option_reads_a_time_column_of_frames(tmp_path):
    path = tmp_path / "t.csv"
    _long([(5, "m", "a", 1.0, 1.0), (6, "m", "a", 2.0, 2.0)]).to_csv(path, index=False)
    assert bh.load_poses(path, time_unit="frames").attrs["time_unit"] == "frames"
    assert bh.load_poses(path).attrs["time_unit"] == "seconds"


# ----------------------------------------------------------------------- bad input


def test_duplicate_rows_name_the_first_repeat(tmp_path):
    rows = [
        (0.0, "m", "nose", 1.0, 1.0),
        (0.0, "m", "tail", 1.0, 1.0),
        (0.5, "m", "tail", 1.0, 1.0),
        (0.0, "m", "tail", 2.0, 2.0),
        (0.5, "m", "tail", 2.0, 2.0),
    ]
    path = tmp_path / "dupes.csv"
    _long(rows).to_csv(path, index=False)
    with pytest.raises(
        bh.FileFormatError,
        match=r"dupes.csv: .*repeat of \(time=0.0, individual='m', keypoint='tail'\) in row 3",
    ) as info:
        bh.load_poses(path)
    assert "keypoint='tail'" in str(info.value) and "row 3" in str(info.value)


def test_missing_columns_list_expected_and_found(tmp_path):
    path = tmp_path / "partial.csv"
    pd.DataFrame({"time": [0.0], "individual": ["m"], "x": [1.0]}).to_csv(path, index=False)
    with pytest.raises(bh.FileFormatError) as info:
        tidy.read(path)
    message = str(info.value)
    assert "partial.csv" in message and "missing ['keypoint', 'y']" in message
    assert "found ['time', 'individual', 'x']" in message
    no_time = tmp_path / "no_time.parquet"
    pd.DataFrame({"individual": ["m"], "keypoint": ["a"], "x": [1.0], "y": [1.0]}).to_parquet(
        no_time
    )
    with pytest.raises(bh.FileFormatError, match=r"missing \['time \(or frame\)'\]"):
        tidy.read(no_time)
    verdict = tidy.sniff(Probe(no_time))
    assert not verdict.accepted and "time (or frame)" in verdict.reason


def test_bad_values_are_reported_with_the_column(tmp_path):
    text = tmp_path / "text.csv"
    text.write_text("time,individual,keypoint,x,y\n0,m,a,left,1\n")
    with pytest.raises(bh.FileFormatError, match="text.csv"):
        tidy.read(text)
    empty_name = tmp_path / "empty_name.csv"
    empty_name.write_text("time,individual,keypoint,x,y\n0,m,a,1,1\n0.1,,a,1,1\n")
    with pytest.raises(bh.FileFormatError, match=r"column 'individual' is empty in row 1"):
        tidy.read(empty_name)
    no_time = tmp_path / "nan_time.csv"
    no_time.write_text("time,individual,keypoint,x,y\n0,m,a,1,1\n,m,a,1,1\n")
    with pytest.raises(bh.FileFormatError, match=r"column 'time'.*row 1"):
        tidy.read(no_time)
    header_only = tmp_path / "header.csv"
    header_only.write_text("time,individual,keypoint,x,y\n")
    with pytest.raises(bh.FileFormatError, match="no rows"):
        tidy.read(header_only)


def test_writer_refuses_ensembles(tmp_path, small_poses):
    with pytest.raises(bh.PoseDataError, match="ensemble"):
        tidy.write(small_poses.expand_dims(ensemble=["a"]), tmp_path / "e.parquet")


@pytest.mark.realdata
def test_no_csv_in_the_shared_data_is_taken_for_a_tidy_table(shared_data):
    csvs = [r["path"] for r in manifest_rows() if r["path"].endswith(".csv")]
    assert csvs
    for relpath in csvs:
        verdict = tidy.sniff(Probe(shared_data / relpath))
        assert not verdict.accepted, relpath
    dlc = next(p for p in csvs if "deeplabcut" in p.lower() or "DLC" in p)
    assert "'scorer'" in tidy.sniff(Probe(shared_data / dlc)).reason
    with pytest.raises(bh.FileFormatError, match="DeepLabCut-style CSV"):
        tidy.read(shared_data / dlc)


def test_a_large_table_round_trips(tmp_path):
    # 108,000 frames x 40 keypoints = 4.3 million rows (an hour at 30 fps)
    rng = np.random.default_rng(0)
    ds = bh.from_numpy(rng.normal(size=(108_000, 2, 40, 1)), fps=30)
    path = bh.save_poses(ds, tmp_path / "big.parquet")
    back = tidy.read(path)
    np.testing.assert_array_equal(back.position.values, ds.position.values)
