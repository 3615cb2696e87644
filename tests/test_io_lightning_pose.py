"""Tests for behavior/io/lightning_pose.py: detection against DeepLabCut, the set column,
ensembles of seeds, real timestamps and writing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import behavior as bh
from behavior.io import deeplabcut, lightning_pose
from behavior.io.registry import Probe
from tests.conftest import SHARED_DATA, manifest_rows

ROWS = [row for row in manifest_rows() if row["format"] == "lightning-pose-csv"]
if not ROWS:
    ROWS = [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED_DATA} is absent"))]

EKS = "lightningpose_eks_predictions"
PAW_LEFT = "3f859b5c-e73a-4044-b49e-34bb81e96715.left"


def _lp_frame(n: int = 6, scorer: str = "heatmap_tracker", with_set: bool = True) -> pd.DataFrame:
    """Predictions laid out the way Lightning Pose writes them (``make_dlc_pandas_index``
    columns, then ``df.loc[:, ("set", "", "")] = ...`` on labelled frames)."""
    columns = pd.MultiIndex.from_product(
        [[scorer], ["paw_l", "paw_r"], ["x", "y", "likelihood"]],
        names=["scorer", "bodyparts", "coords"],
    )
    values = np.random.default_rng(0).uniform(0, 1, size=(n, 6)) * [100, 100, 1, 100, 100, 1]
    df = pd.DataFrame(values, columns=columns)
    if with_set:
        df.loc[:, ("set", "", "")] = ["train", "validation", "test", "unused", "train", "test"][:n]
    return df


@pytest.mark.realdata
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["path"] if r else "no-data")
def test_real_predictions_are_lightning_pose(row, shared_data):
    path = shared_data / row["path"]
    assert bh.io.detect_format(path).name == "lightning-pose"
    ds = bh.load_poses(path)
    assert ds.attrs["source_software"] == "LightningPose"
    assert ds.attrs["scorer"].endswith("_tracker")
    assert ds.sizes["individual"] == int(row["individuals"]) == 1
    assert ds.sizes["keypoint"] == int(row["keypoints"])
    assert ds.sizes["time"] == int(row["frames"])
    assert ds.sizes["space"] == int(row["space"])
    df = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    np.testing.assert_array_equal(
        ds.position.sel(individual="individual_0", space="x").values,
        df.xs("x", level="coords", axis=1).to_numpy(),
    )
    np.testing.assert_array_equal(
        ds.confidence.sel(individual="individual_0").values,
        df.xs("likelihood", level="coords", axis=1).to_numpy(),
    )


def test_dlc_csv_is_not_lightning_pose(tmp_path):
    df = _lp_frame(scorer="DLC_resnet50_paws", with_set=False)
    df.to_csv(tmp_path / "dlc.csv")
    probe = Probe(tmp_path / "dlc.csv")
    verdict = lightning_pose.sniff(probe)
    assert not verdict.accepted
    assert "'DLC_resnet50_paws' does not end with '_tracker'" in verdict.reason
    assert bh.io.detect_format(tmp_path / "dlc.csv").name == "deeplabcut"
    # a Lightning Pose file is also a valid DeepLabCut CSV, but LP claims it more strongly
    _lp_frame(with_set=False).to_csv(tmp_path / "lp.csv")
    lp, dlc = (
        lightning_pose.sniff(Probe(tmp_path / "lp.csv")),
        deeplabcut.sniff(Probe(tmp_path / "lp.csv")),
    )
    assert lp.score > dlc.score > 0
    assert bh.io.detect_format(tmp_path / "lp.csv").name == "lightning-pose"
    # forcing the DeepLabCut reader still works, with DLC provenance
    assert bh.load_poses(tmp_path / "lp.csv", source="dlc").attrs["source_software"] == "DeepLabCut"


def test_multi_animal_csv_is_refused(tmp_path):
    path = tmp_path / "ma.csv"
    path.write_text(
        "scorer,a_tracker,a_tracker\nindividuals,m1,m1\nbodyparts,n,n\ncoords,x,y\n0,1,2\n"
    )
    assert "single-animal" in lightning_pose.sniff(Probe(path)).reason
    assert bh.io.detect_format(path).name == "deeplabcut"


@pytest.mark.parametrize("scorer", ["heatmap_tracker", "rick"])
def test_set_column_is_kept_out_of_position_and_written_back(tmp_path, scorer):
    df = _lp_frame(scorer=scorer)
    df.to_csv(tmp_path / "labeled_preds.csv")  # the set column alone marks the file as LP
    assert bh.io.detect_format(tmp_path / "labeled_preds.csv").name == "lightning-pose"
    ds = bh.load_poses(tmp_path / "labeled_preds.csv")
    assert list(ds.keypoint.values) == ["paw_l", "paw_r"]
    assert list(ds.set.values) == list(df[("set", "", "")])
    assert ds.set.dims == ("time",)
    np.testing.assert_array_equal(
        ds.position.sel(keypoint="paw_r", space="y", individual="individual_0"),
        df[(scorer, "paw_r", "y")],
    )
    out = bh.save_poses(ds, tmp_path / "out.csv", format="lightning-pose")
    back = pd.read_csv(out, header=[0, 1, 2], index_col=0)
    assert back.columns[-1][0] == "set"
    assert list(back.iloc[:, -1]) == list(df[("set", "", "")])
    np.testing.assert_array_equal(back.iloc[:, :-1].to_numpy(), df.iloc[:, :-1].to_numpy())
    expected_scorer = scorer if scorer.endswith("_tracker") else "heatmap_tracker"
    assert back.columns[0][0] == expected_scorer
    again = bh.load_poses(out)
    assert again.position.identical(ds.position)
    assert list(again.set.values) == list(ds.set.values)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("folder", "pattern", "n"),
    [
        ("mirror-mouse", "*.csv", 5),
        ("fly", "*Cam-A*.csv", 3),
        ("ibl-pupil", "*.csv", 5),
    ],
)
def test_seeds_load_as_an_ensemble(shared_data, folder, pattern, n):
    paths = sorted((shared_data / EKS / folder).glob(pattern))
    assert len(paths) == n
    ds = bh.load_poses(paths, fps=60)
    assert ds.position.dims[0] == "ensemble"
    assert ds.sizes["ensemble"] == n
    assert list(ds.ensemble.values) == [p.name for p in paths]
    single = bh.load_poses(paths[1], fps=60)
    np.testing.assert_array_equal(ds.position.isel(ensemble=1).values, single.position.values)
    # the seeds differ, so the ensemble carries information
    assert float(ds.position.std("ensemble").mean()) > 0


@pytest.mark.realdata
def test_real_irregular_timestamps_are_kept(shared_data):
    folder = shared_data / EKS / "ibl-paw"
    paths = sorted(folder.glob(f"{PAW_LEFT}.rng=*.csv"))
    stamps_path = folder / "3f859b5c-e73a-4044-b49e-34bb81e96715.timestamps.left.npy"
    stamps = np.load(stamps_path)
    ds = bh.load_poses(paths, timestamps=stamps_path)
    assert ds.sizes["ensemble"] == len(paths) >= 3
    np.testing.assert_array_equal(ds.time.values, stamps)
    assert ds.attrs["time_unit"] == "seconds"
    steps = np.diff(ds.time.values)
    assert steps.max() > 1.5 * np.median(steps)  # irregular, not resampled
    assert ds.attrs["fps"] == pytest.approx(60, rel=0.02)


@pytest.mark.realdata
def test_mirror_mouse_labelled_frames_are_deeplabcut(shared_data):
    path = shared_data / "lightningpose_mirror_mouse/CollectedData.csv"
    assert bh.io.detect_format(path).name == "deeplabcut"
    assert "'rick'" in lightning_pose.sniff(Probe(path)).reason
    ds = bh.load_poses(path)
    assert (ds.sizes["keypoint"], ds.sizes["time"]) == (17, 90)
    assert ds.image.values[0] == "labeled-data/img01.png"
    assert np.isnan(ds.confidence.values).all()


def test_writer_refuses_what_lightning_pose_cannot_hold(tmp_path, small_poses):
    with pytest.raises(bh.PoseDataError, match=r"single-animal.*2 individuals"):
        lightning_pose.write(small_poses, tmp_path / "x.csv")
    one = small_poses.isel(individual=[0])
    three_d = bh.from_numpy(np.zeros((4, 3, 2, 1)))
    with pytest.raises(bh.PoseDataError, match=r"2D"):
        lightning_pose.write(three_d, tmp_path / "x.csv")
    path = bh.save_poses(one, tmp_path / "one.csv", format="lp")
    back = bh.load_poses(path, fps=30)
    assert back.attrs["scorer"] == "heatmap_tracker"
    np.testing.assert_array_equal(back.position.values, one.position.values)


@settings(max_examples=20, deadline=None)
@given(
    position=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 15), st.just(2), st.integers(1, 4), st.just(1)),
        elements=st.floats(allow_nan=True, allow_infinity=False, width=64),
    ),
    data=st.data(),
)
def test_round_trip_with_set_column(position, data):
    n_time, _, n_kp, _ = position.shape
    confidence = data.draw(
        hnp.arrays(np.float64, (n_time, n_kp, 1), elements=st.floats(0, 1, width=64))
    )
    ds = bh.from_numpy(position, confidence, individual_names=["individual_0"], fps=60)
    splits = data.draw(
        st.lists(
            st.sampled_from(["train", "test", "validation", "unused"]),
            min_size=n_time,
            max_size=n_time,
        )
    )
    ds = ds.assign_coords(set=("time", splits))
    with tempfile.TemporaryDirectory() as tmp:
        path = bh.save_poses(ds, Path(tmp) / "p.csv", format="lightning-pose")
        back = bh.load_poses(path, fps=60, zeros_as_missing=False)
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    np.testing.assert_array_equal(back.confidence.values, ds.confidence.values)
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    assert list(back.set.values) == splits
