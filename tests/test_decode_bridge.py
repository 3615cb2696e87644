"""Tests for the neighbours of behavior/decode.py: to_pynapple / from_pynapple and to_nwb."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.decode import from_pynapple, to_nwb, to_pynapple
from behavior.errors import FileFormatError, MissingDependencyError, PoseDataError

nap = pytest.importorskip("pynapple")
pynwb = pytest.importorskip("pynwb")
pytest.importorskip("ndx_pose")

FPS = 30.0


@pytest.fixture(scope="module")
def social():
    ds, truth = bh.simulate.session(duration="40 s", seed=3)
    eth = bh.Ethogram.from_bouts(
        truth.bouts, ds, behaviors=list(truth.labels.attrs["labels"]), exclusive=True
    )
    return ds, truth, eth


def features(values: np.ndarray, names: list[str], individuals: list[str], t0: float = 0.0):
    return xr.DataArray(
        values,
        dims=("time", "feature", "individual"),
        coords={
            "time": t0 + np.arange(values.shape[0]) / FPS,
            "feature": names,
            "individual": individuals,
        },
        attrs={"fps": FPS, "time_unit": "seconds"},
    )


def bouts_in_seconds(eth: bh.Ethogram, individual: str, behavior: str) -> np.ndarray:
    b = eth.to_bouts()
    b = b[(b["individual"] == individual) & (b["behavior"] == behavior)]
    return b[["start", "stop"]].to_numpy(float)


# ------------------------------------------------------------------ to_pynapple / from_pynapple


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 40),
    n_features=st.integers(1, 4),
    n_individuals=st.integers(1, 3),
    t0=st.floats(-100, 100),
    seed=st.integers(0, 2**16),
)
def test_features_round_trip_through_a_tsdframe(n, n_features, n_individuals, t0, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, n_features, n_individuals)).astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    names = [f"speed:kp{i}" for i in range(n_features)]
    individuals = [f"mouse_{i}" for i in range(n_individuals)]
    x = features(values, names, individuals, t0)
    frame = to_pynapple(x)
    assert isinstance(frame, nap.TsdFrame)
    assert frame.shape == (n, n_features * n_individuals)
    # the last dim varies fastest; names joined by the separator
    assert list(frame.columns)[: min(2, n_individuals)] == [
        f"{names[0]}|{ind}" for ind in individuals[:2]
    ]
    assert frame.metadata["feature"].tolist() == np.repeat(names, n_individuals).tolist()
    np.testing.assert_allclose(frame.times(), x.time.values, rtol=0, atol=1e-9)
    back = from_pynapple(frame)
    assert back.dims == ("time", "feature", "individual")
    assert back.feature.values.tolist() == names
    assert back.individual.values.tolist() == individuals
    np.testing.assert_array_equal(back.values, values)
    assert back.attrs["fps"] == pytest.approx(FPS)


def test_one_dimensional_and_frame_times_and_datasets(social):
    ds, _, _ = social
    speed = bh.kinematics.speed(bh.kinematics.centroid(ds.position)).sel(individual="mouse_0")
    tsd = to_pynapple(speed)
    assert isinstance(tsd, nap.Tsd)
    np.testing.assert_array_equal(tsd.values, speed.values)
    back = from_pynapple(tsd)
    assert back.dims == ("time",) and np.array_equal(back.values, speed.values, equal_nan=True)
    # time in frames becomes seconds through the frame rate
    frames = speed.assign_coords(time=np.arange(speed.sizes["time"])).assign_attrs(
        time_unit="frames", fps=FPS
    )
    assert to_pynapple(frames).times()[-1] == pytest.approx((speed.sizes["time"] - 1) / FPS)
    # a pose dataset: every variable side by side, rebuilt with its own dims
    frame = to_pynapple(ds)
    assert set(frame.metadata["variable"]) == {"position", "confidence"}
    back = from_pynapple(frame)
    assert isinstance(back, xr.Dataset)
    assert back.position.dims == ds.position.dims
    assert back.confidence.dims == ds.confidence.dims
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    np.testing.assert_array_equal(back.confidence.values, ds.confidence.values)
    assert back.keypoint.values.tolist() == ds.keypoint.values.tolist()


def test_ethogram_becomes_one_interval_set_per_behavior_with_labels(social):
    ds, _, eth = social
    per = to_pynapple(eth)
    assert list(per) == eth.individuals  # two animals: one dict each
    for individual, tables in per.items():
        assert list(tables) == eth.behaviors  # every behavior, empty ones too
        for behavior, intervals in tables.items():
            want = bouts_in_seconds(eth, individual, behavior)
            assert len(intervals) == len(want)
            if len(want):
                np.testing.assert_allclose(intervals.start, want[:, 0], atol=1e-9)
                np.testing.assert_allclose(intervals.end, want[:, 1], atol=2e-6)
                assert set(intervals.metadata["individual"]) == {individual}
    chases = per["mouse_0"]["chase"]
    if len(chases):
        assert set(chases.metadata["other"]) == {"mouse_1"}
    back = from_pynapple(per, time=ds, exclusive=True)
    assert back.behaviors == eth.behaviors and back.individuals == eth.individuals
    np.testing.assert_array_equal(back.labels.values, eth.labels.values)
    # one animal: a plain dict per behavior; fps alone rebuilds the frames
    one = eth.sel(individual="mouse_1")
    per_one = to_pynapple(one)
    assert list(per_one) == eth.behaviors
    again = from_pynapple(per_one, fps=FPS)
    assert again.n_frames == eth.n_frames
    np.testing.assert_array_equal(again.labels.values, one.labels.values)


def test_bridge_errors_name_the_argument(monkeypatch):
    with pytest.raises(PoseDataError, match="^x: expected"):
        to_pynapple(np.zeros(3))
    with pytest.raises(PoseDataError, match="^obj: expected"):
        from_pynapple([1, 2])
    with pytest.raises(PoseDataError, match="time / fps"):
        from_pynapple({"rest": nap.IntervalSet(0, 1)})
    monkeypatch.setitem(sys.modules, "pynapple", None)
    with pytest.raises(MissingDependencyError, match=r"behavior\[pynapple\]"):
        to_pynapple(xr.DataArray(np.zeros(2), dims="time", coords={"time": [0.0, 1.0]}))


# ------------------------------------------------------------------ to_nwb


def test_to_nwb_is_read_back_by_pynapple_with_every_behavior(tmp_path, social):
    ds, _, eth = social
    mine = eth.sel(individual="mouse_0")
    feats = bh.features.extract(ds, sets=["kinematics"], windows=None, progress=False)
    feats = feats.sel(individual=["mouse_0"])
    path = to_nwb(tmp_path / "session.nwb", poses=ds, features=feats, ethogram=mine)
    data = nap.load_file(str(path))
    for behavior in mine.behaviors:
        want = bouts_in_seconds(mine, "mouse_0", behavior)
        if not len(want):
            continue
        got = data[f"behavior_{behavior}"]
        assert isinstance(got, nap.IntervalSet)
        np.testing.assert_allclose(got.start, want[:, 0], atol=1e-9)
        np.testing.assert_allclose(got.end, want[:, 1], atol=2e-6)
        assert set(got.metadata["behavior"]) == {behavior}
    frame = data[str(feats.name) if feats.name is not None else "features"]
    assert isinstance(frame, nap.TsdFrame)
    flat = to_pynapple(feats)
    np.testing.assert_allclose(frame.times(), feats.time.values)
    np.testing.assert_array_equal(np.asarray(frame.values), np.asarray(flat.values, float))
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        series = io.read().processing["behavior"][frame_name(feats)]
        comments = json.loads(series.comments)
    assert comments["columns"] == list(flat.columns)
    assert comments["coords"]["feature"] == [str(f) for f in flat.metadata["feature"]]
    # behavior reads its own objects back
    poses = bh.load_poses(path)
    np.testing.assert_array_equal(poses.position.values, ds.position.values)
    back = bh.load_annotations(path)  # the behaviors with bouts
    assert back.behaviors == [b for b in mine.behaviors if mine.labels.sel(behavior=b).any()]
    np.testing.assert_array_equal(
        back.labels.values, mine.sel(behavior=back.behaviors).labels.values
    )
    np.testing.assert_allclose(back.time, mine.time)


def frame_name(feats: xr.DataArray) -> str:
    return str(feats.name) if feats.name is not None else "features"


def _session_file(path, t0: float = 0.0):
    """A recording's own NWB file: acquisition data, a trials table and a subject."""
    nwb = pynwb.NWBFile(
        session_description="ephys session",
        identifier="rec-1",
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
    )
    nwb.subject = pynwb.file.Subject(subject_id="mouse_0")
    nwb.add_acquisition(
        pynwb.TimeSeries(name="lfp", data=np.arange(100.0), unit="V", rate=1000.0, starting_time=t0)
    )
    nwb.add_trial(start_time=1.0, stop_time=2.0)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_to_nwb_appends_to_a_session_file_and_keeps_what_is_there(tmp_path, social):
    ds, _, eth = social
    path = tmp_path / "rec.nwb"
    _session_file(path)
    clock = bh.decode.ClockFit(3.2, 1.0 + 50e-6)
    speed = bh.decode.to_recording_clock(
        bh.kinematics.speed(bh.kinematics.centroid(ds.position)).rename("speed"), clock
    )
    own = eth.sel(individual="mouse_0")  # moved to the recording clock, as speed is
    mine = bh.Ethogram(
        own.labels.assign_coords(time=clock.apply(own.time)),
        exclusive=True,
        attrs={**own.attrs, "fps": FPS / clock.slope},
    )
    to_nwb(path, poses=ds, features=speed, ethogram=mine, append=True)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.identifier == "rec-1" and nwb.subject.subject_id == "mouse_0"
        np.testing.assert_array_equal(nwb.acquisition["lfp"].data[:], np.arange(100.0))
        assert len(nwb.trials) == 1
    poses = bh.load_poses(path)  # the ndx-pose objects are whole, not bare groups
    np.testing.assert_array_equal(poses.position.values, ds.position.values)
    data = nap.load_file(str(path))
    assert "PoseEstimation_mouse_0/nose" in set(data.keys())
    assert isinstance(data["speed"], nap.TsdFrame)
    assert data["speed"].times()[0] == pytest.approx(3.2)  # the recording's clock
    for behavior in mine.behaviors:
        want = bouts_in_seconds(mine, "mouse_0", behavior)
        if len(want):
            np.testing.assert_allclose(data[f"behavior_{behavior}"].start, want[:, 0])
    back = bh.load_annotations(path)
    np.testing.assert_allclose(back.time, mine.time)
    np.testing.assert_array_equal(
        back.labels.values, mine.sel(behavior=back.behaviors).labels.values
    )
    # a second append of the same names is refused and the file stays byte for byte
    before = path.read_bytes()
    with pytest.raises(FileFormatError, match="already"):
        to_nwb(path, ethogram=mine, append=True)
    with pytest.raises(FileFormatError):
        to_nwb(path, features=speed, append=True)
    assert path.read_bytes() == before


def test_to_nwb_refuses_nothing_and_ethograms_without_fps(tmp_path, social):
    _, _, eth = social
    with pytest.raises(PoseDataError, match="nothing to write"):
        to_nwb(tmp_path / "x.nwb")
    no_fps = eth.sel(individual="mouse_0")
    no_fps.attrs.pop("fps", None)
    with pytest.raises(PoseDataError, match="^ethogram: .*fps"):
        to_nwb(tmp_path / "x.nwb", ethogram=no_fps)
    with pytest.raises(PoseDataError, match="^features"):
        to_nwb(tmp_path / "x.nwb", features=np.zeros(3))
    assert not (tmp_path / "x.nwb").exists()
