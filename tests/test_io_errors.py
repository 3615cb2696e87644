"""Pose loaders turn raw library errors and silent nonsense into named errors (issue 15).

Every error here is one of the library's own types and names the file (or the
argument), what was expected and what was found.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.dataset import check_fps, read_log
from behavior.errors import FileFormatError, PoseDataError

_TOPVIEW = "deepof_tests/tests/test_examples/test_single_topview/Tables"


@pytest.fixture
def dlc_h5(shared_data) -> Path:
    return shared_data / _TOPVIEW / "testDLC_h5_table.h5"


@pytest.fixture
def small_ds(dlc_h5):
    return bh.load_poses(dlc_h5, fps=30)


def _quiet_load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bh.load_poses(*args, **kwargs)


# --------------------------------------------------------------------------- raw errors


@pytest.mark.parametrize("fmt", ["table", "fixed"])
def test_dlc_h5_with_a_corrupted_data_address_is_a_named_error(dlc_h5, tmp_path, fmt):
    """The address of the values (a chunk of a table file, the contiguous block of a
    fixed one) points past the end of the file: h5py's OSError comes from the read,
    not the open."""
    h5py = pytest.importorskip("h5py")
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    good = tmp_path / f"good_{fmt}.h5"
    pd.read_hdf(dlc_h5).to_hdf(good, key="df_with_missing", format=fmt)
    with h5py.File(good) as f:
        node = f["df_with_missing/table" if fmt == "table" else "df_with_missing/block0_values"]
        offset = node.id.get_chunk_info(0).byte_offset if node.chunks else node.id.get_offset()
    data = bytearray(good.read_bytes())
    at = data.find(struct.pack("<Q", offset))
    assert at > 0
    data[at : at + 8] = struct.pack("<Q", 2**40)
    bad = tmp_path / f"bad_{fmt}.h5"
    bad.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"bad_\w+\.h5: "):
        bh.load_poses(bad)
    with pytest.raises(FileFormatError, match=r"bad_\w+\.h5: (cannot read the values|expected)"):
        bh.load_poses(bad, source="deeplabcut")


def test_netcdf_with_a_broken_dimension_scale_is_a_named_error(small_ds, tmp_path):
    """Without its CLASS attribute the time dimension scale is broken: netCDF4 raised
    AttributeError ('NoneType' object has no attribute 'dimensions')."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "broken_scale.nc"
    bh.save_poses(small_ds, path)
    with h5py.File(path, "r+") as f:
        del f["time"].attrs["CLASS"]
    with pytest.raises(FileFormatError, match=r"broken_scale\.nc: cannot be read as netCDF"):
        bh.load_poses(path)


def test_netcdf_in_frames_takes_fps_as_text(dlc_h5, tmp_path):
    """fps='30' on a netCDF file whose time is in frames raised numpy's TypeError."""
    path = tmp_path / "frames.nc"
    bh.save_poses(bh.load_poses(dlc_h5), path)
    ds = bh.load_poses(path, fps="30")
    assert ds.attrs["fps"] == 30.0 and ds.attrs["time_unit"] == "seconds"
    np.testing.assert_allclose(ds.time.values[:3], [0, 1 / 30, 2 / 30])


def test_unknown_options_are_refused_with_the_allowed_names(small_ds, dlc_h5, tmp_path):
    path = tmp_path / "a.nc"
    bh.save_poses(small_ds, path)
    with pytest.raises(PoseDataError, match=r"bogus: not an option of the netcdf reader.*chunks"):
        bh.load_poses(path, bogus=1)
    with pytest.raises(PoseDataError, match=r"bogus: not an option of the 'deeplabcut' reader"):
        bh.load_poses(dlc_h5, bogus=1)
    with pytest.raises(PoseDataError, match=r"zeros_as_missing"):
        bh.load_poses(dlc_h5, zero_as_missing=False)


def test_a_path_over_255_characters_is_a_named_error(tmp_path):
    path = tmp_path / ("a" * 300 + ".h5")
    with pytest.raises(FileFormatError, match=r"the path is too long.*a name of 303 characters"):
        bh.load_poses(path)
    with pytest.raises(FileFormatError, match=r"too long"):
        bh.io.detect_format(path)


def test_zero_frame_dlc_h5_names_the_file(dlc_h5, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("tables")
    path = tmp_path / "zero.h5"
    pd.read_hdf(dlc_h5).iloc[:0].to_hdf(path, key="df_with_missing", format="fixed")
    with pytest.raises(FileFormatError, match=r"zero\.h5: no frames"):
        bh.load_poses(path)


def test_zero_frame_sleap_analysis_h5_names_the_file(small_ds, tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "zero.analysis.h5"
    bh.save_poses(small_ds, path)
    with h5py.File(path, "r+") as f:
        for name in ("tracks", "point_scores", "instance_scores", "tracking_scores"):
            data, dims = f[name][()], f[name].attrs["dims"]
            del f[name]
            f.create_dataset(name, data=data[..., :0]).attrs["dims"] = dims
        data = f["track_occupancy"][()]
        del f["track_occupancy"]
        f.create_dataset("track_occupancy", data=data[:0])
    match = r"zero\.analysis\.h5: 'tracks' has shape .*no frames"
    with pytest.raises(FileFormatError, match=match):
        bh.load_poses(path)


def test_zero_frame_nwb_names_the_file(small_ds, tmp_path):
    h5py = pytest.importorskip("h5py")
    pytest.importorskip("pynwb")
    path = tmp_path / "zero.nwb"
    bh.save_poses(small_ds, path)
    n = small_ds.sizes["time"]
    with h5py.File(path, "r+") as f:
        names: list[str] = []
        f.visititems(
            lambda name, obj: (
                names.append(name)
                if isinstance(obj, h5py.Dataset) and obj.shape[:1] == (n,)
                else None
            )
        )
        for name in names:
            node = f[name]
            data, attrs, parent, leaf = node[()], dict(node.attrs), node.parent, node.name
            del f[name]
            new = parent.create_dataset(leaf.rsplit("/", 1)[-1], data=data[:0])
            for key, value in attrs.items():
                new.attrs[key] = value
    with pytest.raises(FileFormatError, match=r"zero\.nwb: PoseEstimation .* holds no frames"):
        bh.load_poses(path)


def test_raw_errors_of_a_reader_become_file_format_errors(tmp_path):
    """The safety net: any non-library exception from a reader names the file and format."""
    from behavior.io.registry import Frontend, accept, register_frontend, unregister_frontend

    def read(path, *, fps=None):
        raise KeyError("offset")

    fe = Frontend(
        name="fuzzdemo", description="demo", suffixes=(".fz",), sniff=lambda p: accept(), read=read
    )
    register_frontend(fe)
    try:
        path = tmp_path / "x.fz"
        path.write_text("x")
        with pytest.raises(FileFormatError, match=r"x\.fz: cannot be read as fuzzdemo.*KeyError"):
            bh.load_poses(path, source="fuzzdemo")
    finally:
        unregister_frontend("fuzzdemo")


# --------------------------------------------------------------------------- fps


@pytest.mark.parametrize("fps", [0, -30, float("nan"), float("inf"), 1e300, 1e-300, "abc", True])
def test_pose_loaders_refuse_a_nonsense_fps(dlc_h5, fps):
    with pytest.raises(PoseDataError, match=r"^fps: expected a positive frame rate"):
        bh.load_poses(dlc_h5, fps=fps)


@given(st.floats(allow_nan=True, allow_infinity=True))
@settings(max_examples=200, deadline=None)
def test_check_fps_accepts_exactly_the_sane_range(value):
    if np.isfinite(value) and 1e-6 <= value <= 1e6:
        assert check_fps(value, "fps") == value
    else:
        with pytest.raises(PoseDataError, match=r"^rate: expected a positive frame rate"):
            check_fps(value, "rate")


def test_nwb_fps_that_disagrees_with_the_timestamps_warns(shared_data):
    path = shared_data / "ndxpose_fixtures" / "0.3.0_poseestimation_one_camera.nwb"
    with pytest.warns(UserWarning, match=r"fps=30 disagrees with the file's timestamps.*0\.9"):
        ds = bh.load_poses(path, fps=30)
    assert ds.attrs["fps"] == 30.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bh.load_poses(path, fps=0.9)  # agrees: no warning
        bh.load_poses(path)


# --------------------------------------------------------------------------- values


def test_infinite_positions_become_missing_with_a_count_and_a_warning(small_ds, tmp_path):
    ds = small_ds.copy(deep=True)
    ds["position"].values[3, 0, 1, 0] = np.inf
    ds["position"].values[7, 1, 2, 0] = -np.inf
    path = tmp_path / "inf.nc"
    from behavior.io.registry import get_frontend

    get_frontend("netcdf").write(ds, path)  # save_poses would refuse: validate does
    with pytest.warns(UserWarning, match=r"inf\.nc: 2 infinite position value\(s\) set to NaN"):
        out = bh.load_poses(path)
    assert not np.isinf(out.position.values).any()
    assert np.isnan(out.position.values[3, 0, 1, 0]) and np.isnan(out.position.values[7, 1, 2, 0])
    record = [r for r in read_log(out) if r["operation"] == "infinite_as_missing"][-1]
    assert record["parameters"] == {"position": 2}


def test_infinite_values_in_a_csv_become_missing(tmp_path, small_ds):
    path = tmp_path / "inf.csv"
    bh.save_poses(small_ds, path)
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[1] = "inf"
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match=r"1 infinite position"):
        ds = bh.load_poses(path, fps=30)
    bh.validate(ds)


def test_zeros_as_missing_is_logged_and_warned_on_the_mabe_file(shared_data):
    path = next((shared_data / "amadeus" / "examples" / "MABe").glob("*.h5"))
    with pytest.warns(UserWarning, match=r"6744 of 64800 points \(10\.41%\).*zeros_as_missing"):
        ds = bh.load_poses(path)
    record = [r for r in read_log(ds) if r["operation"] == "zeros_as_missing"][-1]
    assert record["parameters"]["points"] == 6744  # 13,488 coordinates
    assert int(ds.position.isnull().sum()) >= 13488
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = bh.load_poses(path, zeros_as_missing=False)
    assert not [r for r in read_log(kept) if r["operation"] == "zeros_as_missing"]


def test_zeros_as_missing_below_the_threshold_is_logged_without_a_warning(small_ds, tmp_path):
    ds = small_ds.copy(deep=True)
    ds["position"].values[0, :, 0, 0] = 0.0
    ds["confidence"].values[0, 0, 0] = 0.0
    path = tmp_path / "one_zero.csv"
    big = bh.from_numpy(
        np.tile(ds.position.values, (20, 1, 1, 1)),
        np.tile(ds.confidence.values, (20, 1, 1)),
        keypoint_names=list(ds.keypoint.values),
        fps=30,
    )
    big["position"].values[1:, :, 0, 0] += 1.0  # only the first frame holds the zero point
    bh.save_poses(big, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = bh.load_poses(path, fps=30)
    record = [r for r in read_log(out) if r["operation"] == "zeros_as_missing"][-1]
    assert record["parameters"]["points"] == 1


def test_corrupted_copy_of_a_real_file_fails_in_one_named_line_in_behavior_info(
    dlc_h5, tmp_path, capsys
):
    from behavior.cli import main

    bad = tmp_path / "half.h5"
    bad.write_bytes(dlc_h5.read_bytes()[: dlc_h5.stat().st_size // 2])
    assert main(["info", str(bad), "--source", "deeplabcut"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "half.h5" in err[0]


def test_behavior_info_shows_no_warning_lines_before_the_error(small_ds, tmp_path, capsys):
    """A load that warns (infinite values) and then fails still prints one line."""
    from behavior.cli import main
    from behavior.io.registry import get_frontend

    ds = small_ds.copy(deep=True)
    ds["position"].values[3, 0, 1, 0] = np.inf
    ds = ds.assign_coords(time=np.r_[ds.time.values[:-1], ds.time.values[-2]])
    path = tmp_path / "inf_and_repeat.nc"
    get_frontend("netcdf").write(ds, path)
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "inf_and_repeat.nc" in err[0] and "increasing" in err[0], err


def test_behavior_info_still_shows_warnings_of_a_file_that_loads(shared_data, capsys):
    from behavior.cli import main

    path = next((shared_data / "amadeus" / "examples" / "MABe").glob("*.h5"))
    with pytest.warns(UserWarning, match="zeros_as_missing"):  # replayed after the load
        assert main(["info", str(path)]) == 0
    assert "EGS8X2MN4SSUGFWAV976.h5" in capsys.readouterr().out


# Byte flips that the fuzz suite found reaching a raw error inside a reader (IndexError
# in the DLC CSV header check, h5py RuntimeError from a corrupted B-tree or symbol
# table): each reader now names the file and the damage itself.
_FLIPS = [
    ("dlc-h5", f"{_TOPVIEW}/testDLC_h5_table.h5", "deeplabcut", [(0, 1)], "expected a DeepLabCut"),
    ("dlc-h5", f"{_TOPVIEW}/testDLC_h5_table.h5", "deeplabcut", [(168, 1)], "cannot read the"),
    ("sleap-slp", f"{_TOPVIEW}/SLEAP/testDLC_sleap.slp", "sleap", [(120, 1)], "cannot be read"),
    (
        "sleap-analysis",
        f"{_TOPVIEW}/SLEAP/testDLC_sleap.analysis.h5",
        "sleap",
        [(0, 1), (0, 1), (16, 104)],
        "cannot be read as HDF5",
    ),
    (
        "anipose-h5",
        "sleap_anipose_minimal/minimal_session/points3d.h5",
        "anipose",
        [(168, 1)],
        "cannot be read as HDF5",
    ),
    (
        "nwb",
        "ndxpose_fixtures/0.3.0_poseestimation_one_camera.nwb",
        "nwb",
        [(184, 1)],
        "cannot be read as NWB",
    ),
]


@pytest.mark.parametrize(("name", "relpath", "source", "flips", "match"), _FLIPS)
def test_byte_flips_found_by_the_fuzz_suite_are_named_by_the_reader(
    shared_data, tmp_path, name, relpath, source, flips, match
):
    original = shared_data / relpath
    data = bytearray(original.read_bytes())
    for offset, mask in flips:
        data[offset] ^= mask
    path = tmp_path / f"flipped{''.join(original.suffixes[-2:])}"
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError) as info:
        _quiet_load(path, source=source)
    message = str(info.value)
    assert path.name in message and match in message, message
    assert "); found " not in message, f"caught only by load_poses' safety net: {message}"


def test_a_tidy_csv_whose_header_is_not_utf8_is_named(small_ds, tmp_path):
    """Found by the fuzz suite: pyarrow raised UnicodeDecodeError on the column names."""
    path = tmp_path / "tidy.csv"
    bh.save_poses(small_ds, path, format="tidy")
    data = bytearray(path.read_bytes())
    data[0] ^= 128
    path.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match=r"tidy\.csv: expected a header of UTF-8 column"):
        bh.load_poses(path, source="tidy")
