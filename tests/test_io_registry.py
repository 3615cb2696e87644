"""Tests for behavior/io/registry.py: sniffing, load/save dispatch, ensembles, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import behavior as bh
from behavior.io import registry
from behavior.io.registry import Frontend, accept, refuse


@pytest.fixture
def isolated_registry(monkeypatch):
    """A private copy of the registry, so runtime registrations don't leak between tests."""
    reg = registry.FRONTENDS.copy()
    monkeypatch.setattr(registry, "FRONTENDS", reg)
    return reg


def _toy_frontend(name="toy", score=1.0, marker=b"TOY", fail_write=False):
    def sniff(probe):
        if probe.head.startswith(marker):
            return accept(score)
        return refuse(f"does not start with {marker!r}")

    def read(path, *, fps=None, **options):
        values = np.frombuffer(Path(path).read_bytes()[len(marker) :], dtype=np.float64)
        return bh.from_numpy(values.reshape(-1, 2, 1, 1), fps=fps, source_software=name)

    def write(ds, path, **options):
        Path(path).write_bytes(marker + b"partial")
        if fail_write:
            raise RuntimeError("disk full")
        Path(path).write_bytes(marker + ds.position.values.astype(np.float64).tobytes())

    return Frontend(name, f"{name} test format", (f".{name}",), sniff, read, write)


def test_builtin_formats_are_listed():
    table = bh.io.frontends()
    assert {"name", "suffixes", "reads", "writes", "description", "origin"} <= set(table.columns)
    row = table.set_index("name").loc["netcdf"]
    assert row.reads and row.writes and ".nc" in row.suffixes


def test_get_frontend_by_alias_is_case_insensitive():
    assert bh.io.get_frontend("MOVEMENT").name == "netcdf"
    with pytest.raises(bh.UnknownFormatError, match="known formats"):
        bh.io.get_frontend("no-such-format")


def test_missing_empty_and_directory_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        bh.load_poses(tmp_path / "nope.h5")
    empty = tmp_path / "empty.csv"
    empty.touch()
    with pytest.raises(bh.FileFormatError, match=r"empty.csv: the file is empty"):
        bh.load_poses(empty)
    with pytest.raises(bh.FileFormatError, match="is a directory"):
        bh.load_poses(tmp_path)


def test_unknown_file_lists_every_format_tried(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("animal,weight\nmouse,25\n")
    with pytest.raises(bh.UnknownFormatError) as info:
        bh.load_poses(path)
    message = str(info.value)
    assert "notes.csv" in message
    for name in bh.io.frontends().query("reads")["name"]:
        assert f"- {name}:" in message


def test_truncated_hdf5_is_reported(tmp_path, small_poses):
    good = bh.save_poses(small_poses, tmp_path / "good.nc")
    cut = tmp_path / "cut.nc"
    cut.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(bh.FileFormatError, match="cut.nc"):
        bh.load_poses(cut)


def test_runtime_frontend_round_trip_and_specificity(tmp_path, isolated_registry, small_poses):
    bh.io.register_frontend(_toy_frontend("toy"))
    ds = small_poses.isel(keypoint=[0], individual=[0])
    path = bh.save_poses(ds, tmp_path / "a.toy")
    back = bh.load_poses(path, fps=30)
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    assert back.attrs["source_software"] == "toy"
    # a second frontend with a higher score for the same content wins auto-detection
    bh.io.register_frontend(_toy_frontend("toyplus", score=2.0))
    assert bh.io.detect_format(path).name == "toyplus"
    # equal scores are ambiguous and the error names both
    bh.io.register_frontend(_toy_frontend("toytie", score=2.0))
    with pytest.raises(bh.UnknownFormatError, match=r"ambiguous.*toyplus.*toytie"):
        bh.load_poses(path)
    assert bh.load_poses(path, source="toy").attrs["source_software"] == "toy"


def test_duplicate_registration_needs_replace(isolated_registry):
    bh.io.register_frontend(_toy_frontend("toy"))
    with pytest.raises(ValueError, match="already registered"):
        bh.io.register_frontend(_toy_frontend("toy"))
    bh.io.register_frontend(_toy_frontend("toy"), replace=True)


def test_failed_write_leaves_existing_file_untouched(tmp_path, isolated_registry, small_poses):
    bh.io.register_frontend(_toy_frontend("toy", fail_write=True))
    target = tmp_path / "keep.toy"
    target.write_bytes(b"TOY-original")
    with pytest.raises(RuntimeError, match="disk full"):
        bh.save_poses(small_poses, target)
    assert target.read_bytes() == b"TOY-original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.toy"]


def test_save_needs_a_known_suffix_or_format(tmp_path, small_poses):
    with pytest.raises(bh.UnknownFormatError, match=r"\.xyz"):
        bh.save_poses(small_poses, tmp_path / "out.xyz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bh.save_poses(small_poses, tmp_path / "missing_dir" / "out.nc")
    with pytest.raises(bh.PoseDataError):
        bh.save_poses(small_poses.drop_vars("position"), tmp_path / "out.nc")
    assert list(tmp_path.iterdir()) == []


def test_list_of_files_stacks_as_ensemble(tmp_path, small_poses):
    paths = []
    for seed in range(3):
        member = small_poses.copy(deep=True)
        member["position"] = member.position + seed
        paths.append(bh.save_poses(member, tmp_path / f"seed{seed}.nc"))
    ds = bh.load_poses(paths)
    assert ds.position.dims[0] == "ensemble"
    assert list(ds.ensemble.values) == ["seed0.nc", "seed1.nc", "seed2.nc"]
    diff = ds.position.sel(ensemble="seed2.nc") - ds.position.sel(ensemble="seed0.nc")
    assert int(diff.isnull().sum()) == int(small_poses.position.isnull().sum())
    np.testing.assert_allclose(diff.values[np.isfinite(diff.values)], 2.0)
    assert bh.read_log(ds)[-1]["parameters"]["paths"] == [str(p) for p in paths]
    bh.validate(ds)


def test_ensemble_members_must_match(tmp_path, small_poses):
    a = bh.save_poses(small_poses, tmp_path / "a.nc")
    b = bh.save_poses(small_poses.isel(keypoint=[0, 1]), tmp_path / "b.nc")
    with pytest.raises(bh.PoseDataError, match=r"b.nc.*'keypoint' differs"):
        bh.load_poses([a, b])
    with pytest.raises(bh.PoseDataError, match="empty list"):
        bh.load_poses([])


def test_timestamps_option_keeps_irregular_time(tmp_path, small_poses):
    path = bh.save_poses(small_poses, tmp_path / "a.nc")
    stamps = np.cumsum(np.r_[0.0, np.random.default_rng(1).uniform(0.01, 0.05, 49)])
    np.save(tmp_path / "stamps.npy", stamps)
    ds = bh.load_poses(path, timestamps=tmp_path / "stamps.npy")
    np.testing.assert_array_equal(ds.time.values, stamps)
    assert ds.attrs["time_unit"] == "seconds"
    with pytest.raises(bh.PoseDataError, match=r"expected 50 timestamps.*found 10"):
        bh.load_poses(path, timestamps=stamps[:10])


def test_load_records_log_and_source_file(tmp_path, small_poses):
    path = bh.save_poses(small_poses, tmp_path / "a.nc")
    ds = bh.load_poses(path)
    record = bh.read_log(ds)[-1]
    assert record["operation"] == "load_poses"
    assert record["parameters"]["path"] == str(path)
    assert isinstance(ds, xr.Dataset)
