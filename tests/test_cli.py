"""Tests for behavior/cli.py: the `behavior` command, run in-process through `main`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior import cli
from behavior.cli import main

DLC_OPENFIELD = "dlc2nwb_openfield/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
DEMO_FILES = [
    "session.nc",
    "session_dlc.h5",
    "truth_bouts.csv",
    "summary.csv",
    "trajectories.png",
    "syllables.nc",
    "syllable_usage.csv",
]


# --------------------------------------------------------------------------- version, formats


def test_version_in_process(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"behavior {bh.__version__}"


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "behavior"
    assert script.exists(), f"console script not installed next to {sys.executable}"
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"behavior {bh.__version__}"


def test_formats_lists_every_frontend(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert header.split()[:3] == ["name", "reads", "writes"]
    names = {row.split()[0] for row in rows}
    assert names == set(bh.io.frontends()["name"])
    assert {"netcdf", "deeplabcut"} <= names


def test_usage_errors_exit_2_and_no_command_prints_help(capsys):
    assert main(["info"]) == 2  # FILE is required
    assert "FILE" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


# --------------------------------------------------------------------------- demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`behavior demo` once, on a short session, with its printed summary."""
    out = tmp_path_factory.mktemp("demo") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["demo", "--out", str(out), "--duration", "40 s", "--seed", "3"])
    return code, out, printed.getvalue()


def test_demo_writes_every_file(demo_run):
    code, out, _ = demo_run
    assert code == 0
    for name in DEMO_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "trajectories.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary files


def test_demo_session_loads_back_and_matches_the_simulation(demo_run):
    _, out, _ = demo_run
    ds = bh.load_poses(out / "session.nc")
    expected, truth = bh.simulate.session(kind="social", duration="40 s", seed=3)
    assert ds.sizes["individual"] >= 2
    xr.testing.assert_allclose(ds.position, expected.position)
    dlc = bh.load_poses(out / "session_dlc.h5", fps=expected.attrs["fps"])
    np.testing.assert_allclose(
        dlc.position.transpose(*expected.position.dims).values, expected.position.values
    )
    bouts = pd.read_csv(out / "truth_bouts.csv")
    assert len(bouts) == len(truth.bouts)
    assert list(bouts.columns) == list(truth.bouts.columns)


def test_demo_syllables_load_back_with_usage_summing_to_one(demo_run):
    from behavior.syllables import Syllables

    _, out, text = demo_run
    syl = Syllables.load(out / "syllables.nc")
    usage = pd.read_csv(out / "syllable_usage.csv")
    assert usage["usage"].sum() == pytest.approx(1.0)
    assert len(usage) == syl.n_syllables and 2 <= syl.n_syllables <= 12
    assert "adjusted Rand index" in text


def test_demo_summary_table_is_a_time_budget(demo_run):
    _, out, _ = demo_run
    _, truth = bh.simulate.session(kind="social", duration="40 s", seed=3)
    table = pd.read_csv(out / "summary.csv")
    assert list(table.columns) == [
        "individual",
        "behavior",
        "frames",
        "seconds",
        "fraction",
        "n_bouts",
    ]
    n_frames = truth.labels.sizes["time"]
    for _, rows in table.groupby("individual"):
        assert rows["fraction"].sum() == pytest.approx(1.0)
        assert rows["frames"].sum() == n_frames
    counts = truth.bouts.groupby(["individual", "behavior"]).size()
    got = table.set_index(["individual", "behavior"])["n_bouts"]
    for key, n in counts.items():
        assert got.loc[(str(key[0]), str(key[1]))] == n


def test_demo_prints_a_human_summary(demo_run):
    _, out, text = demo_run
    ds = bh.load_poses(out / "session.nc")
    _, truth = bh.simulate.session(kind="social", duration="40 s", seed=3)
    for name in ds.individual.values:
        assert str(name) in text
    assert f"keypoints:   {ds.sizes['keypoint']}:" in text
    assert f"frames:      {ds.sizes['time']} at {ds.attrs['fps']:g} fps" in text
    assert "missing:" in text
    for behavior in set(truth.bouts["behavior"]):
        assert behavior in text
    for name in DEMO_FILES:
        assert name in text


def test_demo_without_figures_and_with_an_extra_stage(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "DEMO_STAGES", list(cli.DEMO_STAGES))
    seen = {}

    @cli.demo_stage("count frames")
    def _count(ctx):
        seen["frames"] = ctx.ds.sizes["time"]
        ctx.write_table(pd.DataFrame({"frames": [seen["frames"]]}), "frames.csv")
        ctx.report["frames"] = [str(seen["frames"])]

    @cli.demo_stage("needs a missing module", needs=("behavior_no_such_module",))
    def _never(ctx):
        raise AssertionError("a stage whose module is missing must be skipped")

    with pytest.raises(ValueError, match="already exists"):
        cli.demo_stage("count frames")(_count)

    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--duration", "5 s", "--no-figures", "--no-progress"])
    assert code == 0
    assert not (out / "trajectories.png").exists()
    assert (out / "frames.csv").is_file() and seen["frames"] > 0
    assert "frames.csv" in capsys.readouterr().out


def test_demo_errors_are_one_line_unless_verbose(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "DEMO_STAGES", list(cli.DEMO_STAGES[:1]))

    @cli.demo_stage("explode")
    def _explode(ctx):
        raise bh.PoseDataError("position: expected\nsomething else")

    args = ["demo", "--out", str(tmp_path / "d"), "--duration", "2 s", "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err == "behavior: error: position: expected; something else\n"
    assert main([*args, "-v"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "explode" in err


def test_summary_table_counts_frames_and_bouts():
    labels = xr.DataArray(
        np.array([[0, 1], [0, 1], [2, 1], [2, 0]]),
        dims=("time", "individual"),
        coords={"time": np.arange(4) / 2.0, "individual": ["a", "b"]},
        attrs={"labels": ["none", "chase", "rest"], "fps": 2.0},
    )
    eth = bh.Ethogram.from_states(labels)
    table = cli.summary_table(eth).set_index(["individual", "behavior"])
    columns = ["frames", "seconds", "fraction", "n_bouts"]
    assert table.loc[("a", "none"), columns].tolist() == [2, 1.0, 0.5, 1]
    assert table.loc[("a", "rest"), columns].tolist() == [2, 1.0, 0.5, 1]
    assert table.loc[("b", "chase"), columns].tolist() == [3, 1.5, 0.75, 1]
    assert table.loc[("b", "rest"), columns].tolist() == [0, 0.0, 0.0, 0]  # never seen


# --------------------------------------------------------------------------- info


def test_info_on_a_real_deeplabcut_file(shared_data, capsys):
    path = shared_data / DLC_OPENFIELD
    assert main(["info", str(path), "--fps", "30"]) == 0
    out = capsys.readouterr().out
    ds = bh.load_poses(path, fps=30)
    assert "format:      deeplabcut" in out
    assert f"keypoints:   4: {', '.join(map(str, ds.keypoint.values))}" in out
    assert "frames:      2330 at 30 fps (1 min 17.7 s)" in out
    assert "space:       2-D (x, y) in pixels" in out


def test_info_json_is_machine_readable(shared_data, capsys):
    path = shared_data / DLC_OPENFIELD
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    ds = bh.load_poses(path)
    assert info["format"] == "deeplabcut"
    assert info["n_frames"] == 2330 and info["fps"] is None and info["duration_s"] is None
    assert info["keypoints"] == [str(k) for k in ds.keypoint.values]
    missing = ds.position.isnull().any("space")
    assert info["missing_fraction"] == pytest.approx(float(missing.mean()))
    assert set(info["missing_by_keypoint"]) == set(info["keypoints"])
    assert 0.0 < info["mean_confidence"] <= 1.0


def test_info_on_several_files_and_forced_source(tmp_path, small_poses, capsys):
    a = bh.save_poses(small_poses, tmp_path / "a.nc")
    b = bh.save_poses(small_poses.isel(individual=[0]), tmp_path / "b.nc")
    assert main(["info", str(a), str(b), "--json", "--source", "movement"]) == 0
    infos = json.loads(capsys.readouterr().out)
    assert [i["format"] for i in infos] == ["netcdf", "netcdf"]
    assert [len(i["individuals"]) for i in infos] == [2, 1]
    assert infos[0]["missing_fraction"] == pytest.approx(1 / (50 * 3 * 2))
    assert infos[0]["missing_by_keypoint"]["neck"] == pytest.approx(1 / 100)


# --------------------------------------------------------------------------- convert and errors


def _convert_round_trip(ds: xr.Dataset, folder: Path) -> xr.Dataset:
    nc = bh.save_poses(ds, folder / "in.nc")
    assert main(["convert", str(nc), str(folder / "mid.h5")]) == 0
    fps = str(ds.attrs["fps"])
    assert main(["convert", str(folder / "mid.h5"), str(folder / "out.nc"), "--fps", fps]) == 0
    return bh.load_poses(folder / "out.nc")


def test_convert_nc_to_dlc_h5_and_back_is_equal(tmp_path, small_poses, capsys):
    back = _convert_round_trip(small_poses, tmp_path)
    assert "wrote" in capsys.readouterr().out
    assert bh.io.detect_format(tmp_path / "mid.h5").name == "deeplabcut"
    for dim in ("individual", "keypoint", "space"):
        assert list(back[dim].values) == list(small_poses[dim].values)
    np.testing.assert_allclose(back.time.values, small_poses.time.values)
    for var in ("position", "confidence"):
        np.testing.assert_allclose(
            back[var].transpose(*small_poses[var].dims).values, small_poses[var].values
        )


@settings(max_examples=15, deadline=None)
@given(
    mask=st.lists(st.booleans(), min_size=4 * 2 * 2, max_size=4 * 2 * 2),
    scale=st.floats(min_value=1e-3, max_value=1e4),
)
def test_convert_keeps_any_pattern_of_missing_points(mask, scale):
    position = np.arange(4 * 2 * 2 * 2, dtype=float).reshape(4, 2, 2, 2) * scale
    missing = np.array(mask).reshape(4, 2, 2)
    position[:, 0][missing] = np.nan
    position[:, 1][missing] = np.nan
    ds = bh.from_numpy(position, np.where(missing, np.nan, 0.5), fps=10)
    with tempfile.TemporaryDirectory() as folder:
        back = _convert_round_trip(ds, Path(folder))
    got = back.position.transpose(*ds.position.dims).values
    np.testing.assert_array_equal(np.isnan(got), np.isnan(position))
    np.testing.assert_allclose(got, position, rtol=1e-12)


def test_missing_input_file_is_named_on_one_line(tmp_path, capsys):
    missing = tmp_path / "absent_poses.h5"
    assert main(["info", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "absent_poses.h5" in err and "Traceback" not in err
    assert main(["convert", str(missing), str(tmp_path / "out.nc")]) == 1
    assert "absent_poses.h5" in capsys.readouterr().err
    assert not (tmp_path / "out.nc").exists()


def test_unknown_suffix_and_unreadable_file_exit_1(tmp_path, small_poses, capsys):
    nc = bh.save_poses(small_poses, tmp_path / "in.nc")
    assert main(["convert", str(nc), str(tmp_path / "out.xyz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("behavior: error: ") and "out.xyz" in err and "'.xyz'" in err
    assert "--format" in err  # the hint is spelled as the command-line option
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.nc"]
    notes = tmp_path / "notes.csv"
    notes.write_text("animal,weight\nmouse,25\n")
    assert main(["info", str(notes)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "notes.csv" in err and "--source" in err
    assert main(["convert", str(nc), str(tmp_path / "o.nc"), "--format", "nope"]) == 1
    assert "nope" in capsys.readouterr().err


# ------------------------------------------------------------------------ demo: clean, kinematics


def test_demo_cleans_the_session_and_saves_it(demo_run):
    _, out, text = demo_run
    clean = bh.load_poses(out / "session_clean.nc")
    raw = bh.load_poses(out / "session.nc")
    assert clean.position.dims == raw.position.dims
    np.testing.assert_array_equal(clean.time.values, raw.time.values)
    operations = [r["operation"] for r in bh.read_log(clean)]
    assert "clean" in operations and "median_filter" in operations
    # smoothing: the frame-to-frame jitter of the body centre shrinks
    jitter = [
        float(np.nanmedian(np.abs(np.diff(ds.position.sel(keypoint="body_center"), 2, axis=0))))
        for ds in (raw, clean)
    ]
    assert jitter[1] < jitter[0]
    assert "cleaning:" in text and "session_clean.nc" in text


def test_demo_kinematics_table_matches_the_ground_truth(demo_run):
    from behavior import kinematics
    from behavior.simulate import BODY_KEYPOINTS

    _, out, text = demo_run
    table = pd.read_csv(out / "kinematics.csv").set_index("individual")
    assert list(table.columns) == ["mean_speed_cm_s", "max_speed_cm_s", "path_length_cm"]
    ds, truth = bh.simulate.session(kind="social", duration="40 s", seed=3)
    true_cm = truth.position_clean / ds.attrs["px_per_cm"]
    center = kinematics.centroid(true_cm, keypoints=BODY_KEYPOINTS)
    speed = kinematics.speed(center).mean("time")
    path = kinematics.path_length(center)
    for name in ds.individual.values:
        row = table.loc[str(name)]
        assert row["mean_speed_cm_s"] == pytest.approx(float(speed.sel(individual=name)), rel=0.1)
        assert row["path_length_cm"] == pytest.approx(float(path.sel(individual=name)), rel=0.1)
        assert row["max_speed_cm_s"] >= row["mean_speed_cm_s"] > 0
        assert f"{row['path_length_cm']:.0f}" in text
    assert "kinematics (body centroid, cm):" in text
    assert (out / "speed.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_kinematics_without_figures_still_writes_the_table(tmp_path, monkeypatch):
    names = {"simulate", "clean", "kinematics"}
    monkeypatch.setattr(cli, "DEMO_STAGES", [s for s in cli.DEMO_STAGES if s.name in names])
    out = tmp_path / "demo"
    args = ["demo", "--out", str(out), "--duration", "5 s", "--no-figures", "--no-progress"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(args) == 0
    assert (out / "kinematics.csv").is_file() and (out / "session_clean.nc").is_file()
    assert not (out / "speed.png").exists()


def test_demo_writes_the_ethogram_figure_and_bout_stats(demo_run):
    code, out, text = demo_run
    assert code == 0
    assert (out / "ethogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, truth = bh.simulate.session(kind="social", duration="40 s", seed=3)
    stats = pd.read_csv(out / "bout_stats.csv")
    assert {"n_bouts", "mean_duration", "latency", "mean_interval"} <= set(stats.columns)
    counts = truth.bouts.groupby(["individual", "behavior"]).size()
    got = stats.set_index(["individual", "behavior"])["n_bouts"]
    assert got[got > 0].sort_index().to_dict() == counts.sort_index().to_dict()
    assert (out / "transitions.csv").is_file()
    assert "ethogram (bouts of the ground truth)" in text and "bout_stats.csv" in text
    summary = pd.read_csv(out / "summary.csv")
    assert summary["frames"].sum() == truth.labels.size  # every frame counted once


@pytest.mark.parametrize(
    ("relpath", "flips", "cut", "source"),
    [
        (
            "deepof_tests/tests/test_examples/test_single_topview/Tables/testDLC_h5_table.h5",
            [],
            2,
            "deeplabcut",
        ),
        ("ndxpose_fixtures/0.3.0_poseestimation_one_camera.nwb", [(184, 1)], 1, "nwb"),
    ],
)
def test_info_on_a_corrupted_file_prints_one_line_in_a_real_process(
    shared_data, tmp_path, relpath, flips, cut, source
):
    """Issue 15: the whole stderr of `behavior info` on a damaged file is one line that
    names the file (no traceback, no warning lines before it), exit code 1. The NWB
    flip also makes pynwb fail first, which logs a warning that must stay held."""
    original = shared_data / relpath
    data = bytearray(original.read_bytes())
    for offset, mask in flips:
        data[offset] ^= mask
    bad = tmp_path / f"damaged{original.suffix}"
    bad.write_bytes(bytes(data[: len(data) // cut]))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONWARNINGS": "always"}
    code = "import sys; from behavior.cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", code, "info", str(bad), "--source", source],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=root,
        env=env,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("behavior: error: ") and bad.name in lines[0], lines
