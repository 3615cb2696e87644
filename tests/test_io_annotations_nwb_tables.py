"""NWB annotations: one TimeIntervals table per behavior, old layout still read, safe append."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behavior.errors import FileFormatError, FileWriteError, PoseDataError
from behavior.ethogram import Ethogram
from behavior.io.annotations import load_annotations, save_annotations
from behavior.io.annotations.nwb import table_names

pynwb = pytest.importorskip("pynwb")
h5py = pytest.importorskip("h5py")

FPS = 30.0


def _ethogram(masks: np.ndarray, fps: float = FPS, behaviors=None, individuals=None) -> Ethogram:
    n, n_b, n_i = masks.shape
    da = xr.DataArray(
        masks,
        dims=("time", "behavior", "individual"),
        coords={
            "time": np.arange(n) / fps,
            "behavior": behaviors or [f"beh{k}" for k in range(n_b)],
            "individual": individuals or [f"m{k}" for k in range(n_i)],
        },
        attrs={"time_unit": "seconds", "fps": fps},
    )
    return Ethogram.from_masks(da)


def _fixed() -> Ethogram:
    masks = np.zeros((60, 3, 2), bool)
    masks[2:10, 0, 0] = True  # chase, m0: frames 2..9
    masks[20:25, 0, 1] = True  # chase, m1
    masks[30:40, 1, 0] = True  # nose/nose, m0
    masks[50:55, 2, 1] = True  # groom, m1
    return _ethogram(masks, behaviors=["chase", "nose/nose", "groom"], individuals=["m0", "m1"])


def _intervals(path) -> dict[str, pd.DataFrame]:
    """Every TimeIntervals table as pynapple sees them: one table, one interval set."""
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        return {name: t.to_dataframe() for name, t in (nwb.intervals or {}).items()}


def _same_labels(a: Ethogram, b: Ethogram) -> None:
    assert b.n_frames == a.n_frames and b.fps == a.fps
    assert sorted(b.behaviors) == sorted(str(x) for x in a.labels.behavior.values if
                                         a.labels.sel(behavior=x).values.any())  # fmt: skip
    for beh in b.behaviors:
        for ind in a.individuals:
            want = a.labels.sel(behavior=beh, individual=ind).values
            got = (
                b.labels.sel(behavior=beh, individual=ind).values
                if ind in b.individuals
                else np.zeros_like(want)
            )
            np.testing.assert_array_equal(got, want, err_msg=f"{beh}/{ind}")


def _session(path) -> None:
    """A session file with acquisition, processing and intervals data of its own."""
    from pynwb.base import TimeSeries
    from pynwb.epoch import TimeIntervals

    nwb = pynwb.NWBFile(
        session_description="ephys session",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime(2026, 1, 2, tzinfo=UTC),
    )
    nwb.add_acquisition(
        TimeSeries(name="lfp", data=np.arange(100.0).reshape(50, 2), unit="V", rate=1000.0)
    )
    module = nwb.create_processing_module("ecephys", "processed")
    module.add(TimeSeries(name="power", data=np.linspace(0, 1, 20), unit="a.u.", rate=10.0))
    sleep = TimeIntervals(name="sleep", description="sleep epochs")
    sleep.add_row(start_time=0.0, stop_time=1.5)
    sleep.add_row(start_time=3.0, stop_time=4.0)
    nwb.add_time_intervals(sleep)
    nwb.add_epoch(0.0, 10.0, ["baseline"])
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _contents(path) -> dict[str, object]:
    """Every HDF5 dataset's values and every object's attributes, by path."""
    out: dict[str, object] = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            value = obj[()]
            if obj.dtype.kind == "O" or obj.dtype.kind == "S":
                value = [v.decode() if isinstance(v, bytes) else str(v) for v in np.ravel(value)]
            elif isinstance(value, np.ndarray) and value.dtype.names is None:
                value = value.tolist()
            else:
                value = repr(value)
            out[name] = value
        out[name + "@attrs"] = {k: plain(v) for k, v in obj.attrs.items()}

    def plain(value):
        if isinstance(value, h5py.Reference):  # compared by what it points to
            return ("ref", f[value].name)
        return value.tolist() if isinstance(value, np.ndarray) else value

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return out


def test_one_table_per_behavior_with_its_intervals(tmp_path):
    eth = _fixed()
    path = save_annotations(eth, tmp_path / "a.nwb")
    tables = _intervals(path)
    assert set(tables) == {"behavior_chase", "behavior_nose_nose", "behavior_groom"}
    chase = tables["behavior_chase"]
    np.testing.assert_allclose(chase["start_time"], [2 / FPS, 20 / FPS])
    np.testing.assert_allclose(chase["stop_time"], [10 / FPS, 25 / FPS])
    assert list(chase["individual"]) == ["m0", "m1"]
    assert set(chase["behavior"]) == {"chase"}
    nose = tables["behavior_nose_nose"]
    assert list(nose["behavior"]) == ["nose/nose"]  # the exact name lives in the column
    np.testing.assert_allclose(nose[["start_time", "stop_time"]].to_numpy(), [[1.0, 40 / FPS]])
    np.testing.assert_allclose(tables["behavior_groom"]["start_time"], [50 / FPS])


def test_round_trip_of_the_new_layout(tmp_path):
    eth = _fixed()
    back = load_annotations(save_annotations(eth, tmp_path / "a.nwb"))
    _same_labels(eth, back)
    # one behavior's table alone
    only = load_annotations(tmp_path / "a.nwb", table="behavior_groom")
    assert only.behaviors == ["groom"] and int(only.labels.values.sum()) == 5


def test_table_names_are_unique_valid_and_prefixed():
    names = table_names(["a b", "a/b", "a_b", "x"], "lab")
    assert list(names.values()) == ["lab_a_b", "lab_a_b_2", "lab_a_b_3", "lab_x"]
    with pytest.raises(PoseDataError, match="table"):
        table_names(["x"], "bad/prefix")


def test_clashing_names_round_trip(tmp_path):
    masks = np.zeros((30, 2, 1), bool)
    masks[1:5, 0, 0] = masks[10:12, 1, 0] = True
    eth = _ethogram(masks, behaviors=["a b", "a/b"])
    path = save_annotations(eth, tmp_path / "c.nwb")
    tables = _intervals(path)
    assert set(tables) == {"behavior_a_b", "behavior_a_b_2"}
    assert list(tables["behavior_a_b_2"]["behavior"]) == ["a/b"]
    _same_labels(eth, load_annotations(path))


def _old_layout(path, eth: Ethogram, name: str = "behavior") -> None:
    """A file as the one-table writer wrote it."""
    from pynwb.epoch import TimeIntervals

    nwb = pynwb.NWBFile(
        session_description="old", identifier="old", session_start_time=datetime.now(UTC)
    )
    table = TimeIntervals(
        name=name,
        description=f"behavior bouts and point events; fps={eth.fps!r} n_frames={eth.n_frames}",
    )
    table.add_column("behavior", "behavior name")
    table.add_column("individual", "individual name")
    bouts = eth.to_bouts().sort_values(["start_frame", "individual"])
    for b in bouts.itertuples():
        table.add_row(
            start_time=b.start_frame / eth.fps,
            stop_time=b.stop_frame / eth.fps,
            behavior=str(b.behavior),
            individual=str(b.individual),
        )
    nwb.add_time_intervals(table)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def test_old_one_table_layout_still_reads(tmp_path):
    eth = _fixed()
    _old_layout(tmp_path / "old.nwb", eth)
    _same_labels(eth, load_annotations(tmp_path / "old.nwb"))
    _old_layout(tmp_path / "named.nwb", eth, name="scored")
    _same_labels(eth, load_annotations(tmp_path / "named.nwb", table="scored"))


def test_append_keeps_what_the_session_holds(tmp_path):
    path = tmp_path / "session.nwb"
    _session(path)
    before = _contents(path)
    eth = _fixed()
    save_annotations(eth, path, append=True)
    after = _contents(path)
    kept = {k: after.get(k) for k in before}
    assert kept == before
    added = {
        k.split("@")[0].split("/")[1]
        for k in set(after) - set(before)
        if k.startswith("intervals/")
    }
    assert added == {"behavior_chase", "behavior_nose_nose", "behavior_groom"}
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        np.testing.assert_array_equal(
            nwb.acquisition["lfp"].data[:], np.arange(100.0).reshape(50, 2)
        )
        np.testing.assert_array_equal(
            nwb.processing["ecephys"]["power"].data[:], np.linspace(0, 1, 20)
        )
        sleep = nwb.intervals["sleep"].to_dataframe()
        np.testing.assert_array_equal(sleep["stop_time"], [1.5, 4.0])
        assert list(nwb.epochs.to_dataframe()["tags"].iloc[0]) == ["baseline"]
        assert nwb.session_description == "ephys session"
    _same_labels(eth, load_annotations(path))
    # a second group beside the first, under another prefix
    save_annotations(eth, path, append=True, table="rater2")
    assert "rater2_chase" in _intervals(path)
    _same_labels(eth, load_annotations(path, table="rater2"))


def test_append_refuses_a_table_already_there_and_leaves_the_file(tmp_path):
    path = tmp_path / "session.nwb"
    _session(path)
    eth = _fixed()
    save_annotations(eth, path, append=True)
    raw = path.read_bytes()
    with pytest.raises(FileFormatError, match=r"session\.nwb.*behavior_chase"):
        save_annotations(eth, path, append=True)
    assert path.read_bytes() == raw
    assert [p.name for p in tmp_path.iterdir()] == ["session.nwb"]  # no temporary left


def test_append_to_a_file_that_is_not_nwb_leaves_it(tmp_path):
    path = tmp_path / "notes.nwb"
    path.write_text("not hdf5")
    with pytest.raises((FileFormatError, FileWriteError), match=r"notes\.nwb"):
        save_annotations(_fixed(), path, append=True)
    assert path.read_text() == "not hdf5"


def test_append_needs_a_writer_that_appends(tmp_path):
    with pytest.raises(PoseDataError, match="cannot append"):
        save_annotations(_fixed(), tmp_path / "a.csv", append=True)


def test_append_without_a_file_writes_a_new_one(tmp_path):
    eth = _fixed()
    _same_labels(eth, load_annotations(save_annotations(eth, tmp_path / "n.nwb", append=True)))


def test_an_empty_ethogram_round_trips(tmp_path):
    eth = _ethogram(np.zeros((12, 1, 1), bool))
    back = load_annotations(save_annotations(eth, tmp_path / "e.nwb"))
    assert back.n_frames == 12 and back.fps == FPS and not back.labels.values.any()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    masks=st.integers(3, 25).flatmap(
        lambda n: st.lists(
            st.lists(st.lists(st.booleans(), min_size=2, max_size=2), min_size=3, max_size=3),
            min_size=n,
            max_size=n,
        )
    ),
    names=st.lists(
        st.text(st.sampled_from("ab /_.:-é"), min_size=1, max_size=4),
        min_size=3,
        max_size=3,
        unique=True,
    ),
    fps=st.sampled_from([25.0, 29.97, 30.0]),
)
def test_random_ethograms_round_trip_one_table_each(tmp_path_factory, masks, names, fps):
    eth = _ethogram(np.array(masks, bool), fps=fps, behaviors=names)
    path = save_annotations(eth, tmp_path_factory.mktemp("h") / "r.nwb")
    tables = _intervals(path)
    present = [b for b in names if eth.labels.sel(behavior=b).values.any()]
    expected = table_names(present)
    if present:
        assert set(tables) == set(expected.values())
    bouts = eth.to_bouts()
    for beh, name in expected.items():
        mine = bouts[bouts["behavior"] == beh]
        assert len(tables[name]) == len(mine)
        assert set(tables[name]["behavior"]) == {beh}
        np.testing.assert_allclose(
            np.sort(tables[name]["start_time"].to_numpy()), np.sort(mine["start_frame"] / fps)
        )
    _same_labels(eth, load_annotations(path))


def test_append_to_a_pose_file_keeps_the_poses_loadable(tmp_path):
    pytest.importorskip("ndx_pose")
    from behavior.dataset import from_numpy
    from behavior.io.registry import load_poses, save_poses

    rng = np.random.default_rng(0)
    ds = from_numpy(rng.random((60, 2, 3, 1)) * 100, rng.random((60, 3, 1)), fps=FPS)
    path = save_poses(ds, tmp_path / "poses.nwb")
    before = load_poses(path)
    eth = _fixed()
    save_annotations(eth, path, append=True)
    after = load_poses(path)
    np.testing.assert_array_equal(after.position.values, before.position.values)
    np.testing.assert_array_equal(after.confidence.values, before.confidence.values)
    np.testing.assert_array_equal(after.time.values, before.time.values)
    _same_labels(eth, load_annotations(path, format="nwb"))
