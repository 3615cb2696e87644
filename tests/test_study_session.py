"""behavior.study.session: one session analysed end to end into its folder."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import behavior as bh
from behavior.errors import PoseDataError
from behavior.study.config import load_config
from behavior.study.session import analyze_session, kinematics_table, summary_table
from tests.test_study_report import check_self_contained, embedded_pngs

OPENFIELD = "dlc2nwb_openfield/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"


@pytest.fixture(scope="module")
def social():
    ds, truth = bh.simulate.session(kind="social", duration="40 s", seed=3)
    return ds, truth


@pytest.fixture(scope="module")
def social_result(social, tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    ds, _ = social
    config = load_config(
        {
            "rules": {"presets": ["freezing", "chase", "watching"]},
            "zones": {"left": {"shape": "rectangle", "bounds": [0, 0, 20, 40], "unit": "cm"}},
        }
    )
    return out, analyze_session(ds, config, out, name="sim"), config


def test_a_session_writes_every_output(social, social_result):
    out, result, _ = social_result
    ds, _ = social
    assert result["session"] == "sim" and result["status"] == "ok"
    folder = out / "sim"
    for kind in ("results", "bouts", "summary", "features", "report"):
        assert result["outputs"][kind] == f"sim/{Path(result['outputs'][kind]).name}"
        assert (out / result["outputs"][kind]).is_file(), kind
    figures = sorted(p.name for p in (folder / "figures").glob("*.png"))
    assert figures == ["ethogram.png", "speed.png", "time_budget.png", "trajectories.png"]
    # nothing else is left beside the folder (the temporary folder was renamed)
    assert sorted(p.name for p in out.iterdir()) == ["sim"]

    with xr.open_dataset(folder / "results.nc") as results:
        assert results.sizes["time"] == ds.sizes["time"]
        assert {"position", "speed", "centroid", "heading", "labels"} <= set(results.data_vars)
        assert results.attrs["space_unit"] == "cm"
        labels = results["labels"].load()
        assert list(labels["behavior"].values) == ["freezing", "chase", "watching", "left"]
        log = json.loads(results.attrs["log"])
        operations = [r["operation"] for r in log]
        assert operations.index("clean") < operations.index("kinematics.calibrate")
    bouts = pd.read_csv(folder / "bouts.csv")
    assert {"individual", "behavior", "start", "stop", "duration"} <= set(bouts.columns)
    # the labels of results.nc and the bout table say the same
    frames = labels.sum(("time",)).to_series()
    for (behavior, individual), n in frames.items():
        sel = bouts[(bouts.behavior == behavior) & (bouts.individual == individual)]
        assert abs(sel.duration.sum() - n / ds.attrs["fps"]) < 1e-6
    summary = pd.read_csv(folder / "summary.csv")
    assert {"fraction", "n_bouts", "mean_speed", "path_length"} <= set(summary.columns)
    assert set(summary.individual) == {"mouse_0", "mouse_1"}
    with xr.open_dataset(folder / "features.nc") as features:
        assert features.attrs["bin_size"] == "50 ms"
        n_bins = int(np.ceil(ds.sizes["time"] / ds.attrs["fps"] / 0.05 - 1e-9))
        assert features.sizes["time"] == n_bins
        np.testing.assert_allclose(np.diff(features["time"].values), 0.05, atol=1e-9)
        assert {"speed", "behavior_fraction"} <= set(features.data_vars)
        fraction = features["behavior_fraction"].values
        assert np.nanmin(fraction) >= 0 and np.nanmax(fraction) <= 1

    row = result["summary"]
    assert row["session"] == "sim" and row["n_individuals"] == 2 and row["space_unit"] == "cm"
    assert row["n_frames"] == ds.sizes["time"]
    for behavior in ("freezing", "chase", "watching", "left"):
        assert 0 <= row[f"fraction.{behavior}"] <= 1
    assert all(isinstance(v, str | int | float) for v in row.values())
    assert result["warnings"] == []
    assert set(result["stages"]) >= {"load", "clean", "kinematics", "rules.chase", "report"}


def test_the_report_is_self_contained_and_complete(social_result):
    out, result, _ = social_result
    page = (out / result["outputs"]["report"]).read_text(encoding="utf-8")
    parser = check_self_contained(page)
    assert parser.headings == [
        "Warnings",
        "Kinematics",
        "Behavior",
        "Bouts",
        "Timing",
        "Processing log",
    ]
    pngs = embedded_pngs(parser)
    assert len(pngs) == 4
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    on_disk = {p.read_bytes() for p in (out / "sim" / "figures").glob("*.png")}
    assert set(pngs) == on_disk
    text = " ".join(parser.text)
    assert "clean" in text and "median_filter" in text  # the processing log


def test_the_default_config_runs_a_real_deeplabcut_file(shared_data, tmp_path):
    path = shared_data / OPENFIELD
    with pytest.raises(PoseDataError, match="set input.fps"):  # a DLC h5 has no frame rate
        analyze_session(path, load_config(), tmp_path / "no_fps")
    assert not (tmp_path / "no_fps").exists() or not any((tmp_path / "no_fps").iterdir())
    config = load_config(
        "[input]\nfps = 30\n\n[calibration]\nbody_length = '8 cm'\n"
        "body_keypoints = ['tailbase', 'snout']\n\n[kinematics]\n"
        "heading_keypoints = ['tailbase', 'snout']\n"
    )
    result = analyze_session(path, config, tmp_path)
    assert result["session"] == path.name
    for kind in ("results", "bouts", "summary", "features", "report"):
        assert (tmp_path / result["outputs"][kind]).is_file()
    assert result["summary"]["n_frames"] == 2330
    assert result["summary"]["space_unit"] == "cm"
    # one mouse: the social presets are skipped, and say so
    skipped = [w for w in result["warnings"] if "social preset" in w]
    assert len(skipped) == 2
    page = (tmp_path / result["outputs"]["report"]).read_text(encoding="utf-8")
    parser = check_self_contained(page)
    assert "social preset" in " ".join(parser.text)
    with xr.open_dataset(tmp_path / result["outputs"]["results"]) as results:
        assert list(results["labels"]["behavior"].values) == ["freezing"]
    # results.nc is itself a pose file: the cleaned, calibrated poses and their log
    back = bh.load_poses(tmp_path / result["outputs"]["results"])
    assert back.attrs["space_unit"] == "cm" and back.sizes["time"] == 2330
    operations = [r["operation"] for r in bh.read_log(back)]
    assert "clean" in operations and "kinematics.calibrate" in operations


def test_without_calibration_presets_are_skipped_with_a_warning(social, tmp_path):
    ds, _ = social
    ds = ds.copy()
    ds.attrs.pop("px_per_cm", None)
    result = analyze_session(ds, load_config(), tmp_path, name="px")
    assert result["summary"]["space_unit"] == "pixels"
    assert any("no calibration" in w for w in result["warnings"])
    with xr.open_dataset(tmp_path / result["outputs"]["results"]) as results:
        assert results["labels"].sizes["behavior"] == 0


def test_a_bad_file_fails_clearly_and_writes_nothing(tmp_path):
    bad = tmp_path / "broken.h5"
    bad.write_bytes(b"not an hdf5 file")
    out = tmp_path / "out"
    with pytest.raises(PoseDataError, match="broken.h5"):
        analyze_session(bad, load_config(), out)
    assert not out.exists() or list(out.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        analyze_session(tmp_path / "missing.h5", load_config(), out)


def test_unknown_individuals_and_frame_rate_are_errors(social, tmp_path):
    ds, _ = social
    with pytest.raises(PoseDataError, match=r"input.individuals.*mouse9"):
        analyze_session(ds, load_config({"input": {"individuals": ["mouse9"]}}), tmp_path, name="a")
    frames = bh.from_numpy(np.zeros((20, 2, 3, 1)))  # time in frames, no fps
    with pytest.raises(PoseDataError, match="frame rate is unknown.*fps="):
        analyze_session(frames, load_config(), tmp_path, name="b")
    with pytest.raises(TypeError, match="load_config"):
        analyze_session(ds, {"clean": {}}, tmp_path, name="c")  # type: ignore[arg-type]


def test_a_failed_run_keeps_the_previous_folder(social, tmp_path, monkeypatch):
    ds, _ = social
    short = ds.isel(time=slice(0, 300))
    config = load_config({"report": {"figures": False}, "rules": {"presets": ["freezing"]}})
    first = analyze_session(short, config, tmp_path, name="s")
    before = {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir() if p.is_file()}

    from behavior.study import session as session_module

    def boom(*args, **kwargs):
        raise RuntimeError("killed while writing the report")

    monkeypatch.setattr(session_module, "_report", boom)
    with pytest.raises(RuntimeError, match="killed"):
        analyze_session(short, config, tmp_path, name="s")
    after = {p.name: p.read_bytes() for p in (tmp_path / "s").iterdir() if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no temporary folder left
    assert first["outputs"]["report"] == "s/report.html"


def test_a_clip_that_cannot_be_made_is_a_warning(shared_data, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "behavior.plot.video", None)  # import fails
    config = load_config(
        {"input": {"fps": 30}, "video": {"clip_seconds": 2}, "report": {"figures": False}}
    )
    result = analyze_session(shared_data / OPENFIELD, config, tmp_path)
    assert result["status"] == "ok"
    assert any(w.startswith("video:") for w in result["warnings"])
    assert "clip" not in result["outputs"]


def test_summary_and_kinematics_tables(social):
    ds, truth = social
    table = summary_table(bh.Ethogram.from_states(truth.labels))
    assert int(table["frames"].sum()) == truth.labels.size
    kin = kinematics_table(bh.kinematics.calibrate(ds))
    assert list(kin.individual) == ["mouse_0", "mouse_1"]
    assert (kin.space_unit == "cm").all()
    assert (kin.mean_speed > 0).all() and (kin.max_speed >= kin.mean_speed).all()
    assert (kin.tracked_fraction <= 1).all()


def test_a_saved_classifier_and_syllable_model_add_their_behaviors(social, tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("hmmlearn")
    from behavior import syllables
    from behavior.classify import BehaviorClassifier

    ds, truth = social
    eth = bh.Ethogram.from_states(truth.labels, partner=truth.partner)
    clf = BehaviorClassifier(
        behaviors=["rest", "explore"], model="forest", n_estimators=20, random_state=0,
        progress=False, n_jobs=1, threshold=0.5, min_bout=0, merge_gap=0, smoothing=None,
    )  # fmt: skip
    clf.fit([ds], [eth])
    clf_path = clf.save(tmp_path / "model.skops")
    syl = syllables.fit(ds, model="hmm", n_states=3, n_iter=5, progress=False)
    syl_path = syl.save(tmp_path / "syllables.nc")
    config = load_config(
        {
            "classifier": {"path": str(clf_path)},
            "syllables": {"path": str(syl_path)},
            "rules": {"presets": ["freezing"]},
            "report": {"figures": False},
        }
    )
    result = analyze_session(ds, config, tmp_path / "out", name="m")
    with xr.open_dataset(tmp_path / "out" / result["outputs"]["results"]) as results:
        behaviors = list(results["labels"]["behavior"].values)
    assert behaviors[:3] == ["freezing", "rest", "explore"]
    assert any(b.startswith("syllable_") for b in behaviors[3:])
    assert "fraction.rest" in result["summary"]


def test_a_labelled_clip_is_written_and_embedded(shared_data, tmp_path):
    pytest.importorskip("behavior.plot.video", reason="behavior.plot.video is not in this tree")
    pytest.importorskip("imageio_ffmpeg", reason="the 'video' extra (imageio-ffmpeg) is absent")
    config = load_config(
        {
            "input": {"fps": 30},
            "video": {"clip_seconds": 1, "start": "5 s"},
            "report": {"figures": False},
            "rules": {"presets": []},
        }
    )
    result = analyze_session(shared_data / OPENFIELD, config, tmp_path, name="v")
    clip = tmp_path / result["outputs"]["clip"]
    assert clip.name == "clip.mp4" and clip.stat().st_size > 1000
    page = (tmp_path / result["outputs"]["report"]).read_text(encoding="utf-8")
    parser = check_self_contained(page)
    assert "Video" in parser.headings
    videos = [attrs for tag, attrs in parser.tags if tag == "video"]
    assert len(videos) == 1
    assert videos[0]["src"] == "data:video/mp4;base64," + base64.b64encode(
        clip.read_bytes()
    ).decode("ascii")


@pytest.mark.parametrize(
    "relative",
    [
        "sleap_tests/tests/data/tracks/clip.predictions.slp",  # SLEAP, two flies
        "ndxpose_fixtures/0.1.1_poseestimation_nodes_edges.nwb",  # NWB, irregular timestamps
        "deepof_tests/tests/test_examples/test_madlc_topview/Tables/testDLC_csv_table_madlc.csv",
        "amadeus/examples/MausHaus3D/keypoints_3d_short.h5",  # 3-D
    ],
)
def test_real_files_of_other_formats_give_every_output(shared_data, tmp_path, relative):
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in this copy of the shared data")
    config = load_config({"input": {"fps": 30}, "calibration": {"px_per_cm": 10}})
    result = analyze_session(path, config, tmp_path)
    for kind in ("results", "bouts", "summary", "features", "report"):
        assert (tmp_path / result["outputs"][kind]).is_file(), kind
    with xr.open_dataset(tmp_path / result["outputs"]["features"]) as features:
        assert features.sizes["time"] > 0 and "speed" in features
    check_self_contained((tmp_path / result["outputs"]["report"]).read_text(encoding="utf-8"))


def test_trajectory_axes_name_the_space_unit_of_the_calibrated_session(
    social, tmp_path, monkeypatch
):
    from behavior import plot

    labels = []
    draw = plot.trajectories

    def recording(*args, **kwargs):
        fig, ax = draw(*args, **kwargs)
        labels.append(ax.get_xlabel())
        return fig, ax

    monkeypatch.setattr(plot, "trajectories", recording)
    ds, _ = social
    result = analyze_session(ds, load_config({"rules": {"presets": []}}), tmp_path, name="u")
    summary = pd.read_csv(tmp_path / result["outputs"]["summary"])
    unit = summary["space_unit"].dropna().unique().tolist()
    assert unit == ["cm"]
    assert labels == ["x (cm)"]
