"""Annotation files: BORIS, BENTO, Caltech, SimBA, DeepEthogram, per-frame, intervals, NWB."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from behavior.errors import FileFormatError, PoseDataError, UnknownFormatError
from behavior.ethogram import Ethogram
from behavior.io.annotations import (
    annotation_formats,
    detect_annotation_format,
    get_annotation_format,
    load_annotations,
    save_annotations,
)

# -- helpers ---------------------------------------------------------------------------


def _ethogram(
    masks: np.ndarray, fps: float | None, individuals=None, points=None, prefix="beh "
) -> Ethogram:
    n, n_b, n_i = masks.shape
    time = np.arange(n) / fps if fps else np.arange(n, dtype=float)
    da = xr.DataArray(
        masks,
        dims=("time", "behavior", "individual"),
        coords={
            "time": time,
            "behavior": [f"{prefix}{k}" for k in range(n_b)],
            "individual": individuals or [f"m{k}" for k in range(n_i)],
        },
        attrs={"time_unit": "seconds" if fps else "frames", **({"fps": fps} if fps else {})},
    )
    eth = Ethogram.from_masks(da)
    if points is not None:
        eth = Ethogram(eth.labels, points=points, attrs=eth.attrs)
    return eth


def _assert_same(written: Ethogram, read: Ethogram, *, points: bool = True) -> None:
    """Every labelled column comes back frame-exact; nothing else is labelled."""
    assert read.n_frames == written.n_frames
    for ind in written.individuals:
        for beh in written.behaviors:
            column = written.labels.sel(individual=ind, behavior=beh).values
            if column.any() or (beh in read.behaviors and ind in read.individuals):
                got = read.labels.sel(individual=ind, behavior=beh).values
                np.testing.assert_array_equal(got, column, err_msg=f"{ind}/{beh}")
    extra = set(read.behaviors) - set(written.behaviors)
    assert not extra or not read.labels.sel(behavior=sorted(extra)).values.any()
    if points:
        key = ["individual", "behavior", "frame"]
        a = written.points[key].sort_values(key).reset_index(drop=True)
        b = read.points[key].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert read.attrs["issues"] == []


masks_1 = st.integers(4, 40).flatmap(
    lambda n: st.lists(st.lists(st.booleans(), min_size=2, max_size=2), min_size=n, max_size=n)
)
FPS = st.sampled_from([25.0, 29.97, 30.0, 50.0])
SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# -- registry ----------------------------------------------------------------------------


def test_formats_listed_with_read_and_write():
    table = annotation_formats()
    expected = {"boris", "boris-aggregated", "bento", "caltech", "simba", "deepethogram"}
    assert expected | {"perframe", "intervals", "nwb"} <= set(table["name"])
    assert table["reads"].all() and table["writes"].all()
    assert get_annotation_format("BENTO").name == "bento"
    with pytest.raises(UnknownFormatError, match="known formats"):
        get_annotation_format("noldus")


def test_unknown_and_empty_files_fail_clearly(tmp_path):
    junk = tmp_path / "notes.csv"
    junk.write_text("a,b\nx,y\n")
    with pytest.raises(UnknownFormatError, match="annotation file") as err:
        load_annotations(junk)
    assert "boris" in str(err.value) and "notes.csv" in str(err.value)
    empty = tmp_path / "empty.annot"
    empty.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        load_annotations(empty)
    with pytest.raises(UnknownFormatError, match="suffix"):
        save_annotations(_ethogram(np.zeros((3, 1, 1), bool), 30.0), tmp_path / "x.xyz")


# -- BORIS ---------------------------------------------------------------------------------

BORIS_CURRENT = """\
Observation id,Observation date,Description,Observation type,Media duration (s),FPS,\
Subject,Behavior,Behavioral category,Modifiers,Behavior type,Time,Media file path,Comment
obs1,2024-01-01,,Media file(s),10.0,10.0,No focal subject,walk,,,START,1.0,v.mp4,
obs1,2024-01-01,,Media file(s),10.0,10.0,No focal subject,sniff,,,POINT,1.5,v.mp4,
obs1,2024-01-01,,Media file(s),10.0,10.0,No focal subject,walk,,,STOP,2.0,v.mp4,
obs1,2024-01-01,,Media file(s),10.0,10.0,No focal subject,groom,,,STOP,3.0,v.mp4,
obs1,2024-01-01,,Media file(s),10.0,10.0,No focal subject,rear,,,START,4.25,v.mp4,
obs1,2024-01-01,,Media file(s),10.0,10.0,No focal subject,walk,,,START,5.0,v.mp4,
obs1,2024-01-01,,Media file(s),10.0,10.0,No focal subject,walk,,,STOP,6.0,v.mp4,
"""


def test_boris_current_layout_pairs_events_and_reports_unpaired(tmp_path, caplog):
    path = tmp_path / "boris.csv"
    path.write_text(BORIS_CURRENT)
    assert detect_annotation_format(path).name == "boris"
    with caplog.at_level(logging.WARNING):
        eth = load_annotations(path)
    assert eth.fps == 10.0 and eth.n_frames == 100  # Media duration 10 s at 10 fps
    bouts = eth.to_bouts()
    assert bouts[["behavior", "start_frame", "stop_frame"]].values.tolist() == [
        ["walk", 10, 20],
        ["walk", 50, 60],
    ]
    assert eth.individuals == ["id_0"]
    assert eth.points[["behavior", "frame"]].values.tolist() == [["sniff", 15]]
    issues = eth.attrs["issues"]
    assert len(issues) == 2
    assert any("STOP of 'groom'" in i and "3.000 s" in i for i in issues)
    assert any("START of 'rear'" in i and "4.250 s" in i for i in issues)
    assert "unpaired" in caplog.text
    with pytest.raises(FileFormatError, match="strict=True"):
        load_annotations(path, strict=True)


def test_boris_fps_argument_overrides_and_bad_time_named(tmp_path):
    path = tmp_path / "boris.csv"
    path.write_text(BORIS_CURRENT)
    eth = load_annotations(path, fps=20)
    assert eth.to_bouts()["start_frame"].tolist() == [20, 100]
    bad = tmp_path / "bad.csv"
    bad.write_text(BORIS_CURRENT.replace(",1.0,v.mp4", ",soon,v.mp4"))
    with pytest.raises(FileFormatError, match="bad.csv.*'Time'.*'soon'"):
        load_annotations(bad)


def test_boris_several_observations_need_a_choice(tmp_path):
    text = BORIS_CURRENT + BORIS_CURRENT.splitlines()[1].replace("obs1", "obs2") + "\n"
    path = tmp_path / "two.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError, match="observation="):
        load_annotations(path)
    assert load_annotations(path, observation="obs2").attrs["observation_id"] == "obs2"


BORIS_OLD = """\
Observation id,old1
,
Media file(s)
,
Player #1,video.mp4
,
Observation date,2019-05-01 10:00:00
,
Description,
,
Time offset (s),0.000
,
,
Time,Media file path,Total length,FPS,Subject,Behavior,Behavioral category,Comment,Status
2.000,video.mp4,20.0,25.0,mouse,groom,,,START
4.000,video.mp4,20.0,25.0,mouse,groom,,,STOP
6.040,video.mp4,20.0,25.0,rat,groom,,,START
7.000,video.mp4,20.0,25.0,rat,groom,,,STOP
8.000,video.mp4,20.0,25.0,mouse,jump,,,POINT
"""


def test_boris_old_layout(tmp_path):
    path = tmp_path / "old.tsv"
    path.write_text(BORIS_OLD)
    assert detect_annotation_format(path).name == "boris"
    eth = load_annotations(path)
    assert eth.fps == 25.0 and eth.n_frames == 500
    assert eth.individuals == ["mouse", "rat"]
    b = eth.to_bouts()
    assert b[["individual", "start_frame", "stop_frame"]].values.tolist() == [
        ["mouse", 50, 100],
        ["rat", 151, 175],
    ]
    assert eth.points["frame"].tolist() == [200]
    assert eth.attrs["observation_id"] == "old1"


BORIS_AGG = """\
Observation id,Observation date,Description,Media file,Total length,FPS,Subject,Behavior,\
Behavioral category,Modifiers,Behavior type,Start (s),Stop (s),Duration (s),Comment start,\
Comment stop
o,2021-12-06,,v.mp4,60.000,30,No focal subject,Hold,Mom,,STATE,1.000,2.500,1.500,,
o,2021-12-06,,v.mp4,60.000,30,No focal subject,Look,Mom,,STATE,2.000,3.000,1.000,,
o,2021-12-06,,v.mp4,60.000,30,No focal subject,Touch,Mom,,POINT,4.000,NA,NA,,
"""


def test_boris_aggregated(tmp_path):
    path = tmp_path / "agg.csv"
    path.write_text(BORIS_AGG)
    assert detect_annotation_format(path).name == "boris-aggregated"
    eth = load_annotations(path)
    assert eth.n_frames == 1800
    assert eth.to_bouts()[["behavior", "start_frame", "stop_frame"]].values.tolist() == [
        ["Hold", 30, 75],
        ["Look", 60, 90],
    ]
    assert eth.points[["behavior", "frame"]].values.tolist() == [["Touch", 120]]


# -- BENTO and Caltech --------------------------------------------------------------------

BENTO_FRAMES = """\
Bento annotation file
Movie file(s):
m.seq

Stimulus name:
Annotation start frame: 1
Annotation stop frame: 100
Annotation framerate: 30

List of channels:
classifier_output
ground_truth

List of annotations:
attack
sniff

classifier_output----------
>attack
Start\tStop\tDuration
11\t20\t10\t
>sniff
Start\tStop\tDuration
31\t31\t1\t

ground_truth----------
>attack
Start\tStop\tDuration
12\t20\t9\t

"""


def test_bento_frames_are_one_based_inclusive_channels_are_individuals(tmp_path):
    path = tmp_path / "mars.annot"
    path.write_text(BENTO_FRAMES)
    eth = load_annotations(path)
    assert eth.individuals == ["classifier_output", "ground_truth"]
    assert eth.behaviors == ["attack", "sniff"] and eth.n_frames == 100 and eth.fps == 30
    b = eth.to_bouts()
    got = b[["individual", "behavior", "start_frame", "stop_frame"]].values.tolist()
    assert got == [
        ["classifier_output", "attack", 10, 20],
        ["classifier_output", "sniff", 30, 31],
        ["ground_truth", "attack", 11, 20],
    ]
    one = load_annotations(path, channel="ground_truth")
    assert one.individuals == ["ground_truth"]


def test_bento_seconds(tmp_path):
    text = BENTO_FRAMES.replace("11\t20\t10\t", "0.5\t1.0\t0.5").replace("31\t31\t1\t", "")
    path = tmp_path / "secs.annot"
    path.write_text(text)
    eth = load_annotations(path)
    b = eth.to_bouts()
    first = b[b.individual == "classifier_output"].iloc[0]
    assert (first.start_frame, first.stop_frame) == (15, 30)


CALTECH = """\
Caltech Behavior Annotator - Annotation File

Configuration file:
attack\ta
sniff\ts
other\to

S1:\tstart\tend\ttype
-----------------------------
\t1\t10\tother
\t11\t15\tsniff
\t16\t30\tattack
\t31\t40\tother

S2:\tstart\tend\ttype
-----------------------------
\t1\t39\tother
\t40\t40\tsniff
"""


def test_caltech_streams(tmp_path):
    path = tmp_path / "ann.txt"
    path.write_text(CALTECH)
    assert detect_annotation_format(path).name == "caltech"
    eth = load_annotations(path, fps=30)
    assert eth.individuals == ["S1", "S2"] and eth.n_frames == 40
    assert eth.behaviors == ["attack", "sniff"]
    got = eth.to_bouts()[["individual", "behavior", "start_frame", "stop_frame"]].values.tolist()
    assert got == [["S1", "sniff", 10, 15], ["S1", "attack", 15, 30], ["S2", "sniff", 39, 40]]
    renamed = load_annotations(path, individuals=["res", "intr"])
    assert renamed.individuals == ["res", "intr"]


def test_caltech_writer_refuses_overlaps_and_spaces(tmp_path):
    eth = _ethogram(np.ones((5, 2, 1), bool), 30.0, prefix="b")
    with pytest.raises(PoseDataError, match="one behavior per frame"):
        save_annotations(eth, tmp_path / "x.txt")
    with pytest.raises(PoseDataError, match="whitespace"):
        save_annotations(_ethogram(np.ones((5, 1, 1), bool), 30.0), tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists()


# -- per-frame tables ------------------------------------------------------------------------


def test_simba_targets_detects_binary_columns_and_takes_behaviors(tmp_path):
    n = 6
    table = pd.DataFrame(
        {
            "Nose_x": np.linspace(1, 2, n),
            "Nose_y": np.linspace(3, 4, n),
            "Nose_p": np.full(n, 0.9),
            "Feature_speed": np.arange(n) * 1.5,
            "Attack": [0, 1, 1, 0, 0, 1],
            "Sniff": [1, 1, 0, 0, 0, 0],
        }
    )
    path = tmp_path / "Video_1.csv"
    table.to_csv(path)
    assert detect_annotation_format(path).name == "simba"
    eth = load_annotations(path, fps=30)
    assert eth.behaviors == ["Attack", "Sniff"] and eth.n_frames == n
    np.testing.assert_array_equal(eth.labels.sel(behavior="Attack").values[:, 0], table.Attack == 1)
    only = load_annotations(path, format="simba", behaviors=["Sniff"])
    assert only.behaviors == ["Sniff"]
    with pytest.raises(FileFormatError, match="must hold 0 or 1"):
        load_annotations(path, format="simba", behaviors=["Feature_speed"])


def test_deepethogram_background_is_dropped(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(",background,face_groom,locomotion\n0,1,0,0\n1,0,1,0\n2,0,0,1\n3,0,0,1\n")
    assert detect_annotation_format(path).name == "deepethogram"
    eth = load_annotations(path)
    assert eth.behaviors == ["face_groom", "locomotion"]
    assert eth.attrs["time_unit"] == "frames"
    assert eth.to_bouts()["start_frame"].tolist() == [1, 2]


def test_perframe_with_individual_column(tmp_path):
    path = tmp_path / "pf.csv"
    path.write_text("frame,individual,chase\n0,a,1\n0,b,0\n1,a,1\n1,b,1\n2,a,0\n2,b,1\n")
    eth = load_annotations(path, fps=10)
    assert eth.individuals == ["a", "b"] and eth.n_frames == 3
    assert eth.labels.sel(behavior="chase").values.tolist() == [
        [True, False],
        [True, True],
        [False, True],
    ]
    gap = tmp_path / "gap.csv"
    gap.write_text("frame,chase\n0,1\n2,1\n")
    with pytest.raises(FileFormatError, match="gap.csv.*without gaps"):
        load_annotations(gap)


# -- real files --------------------------------------------------------------------------------


def test_behaviordepot_human_freezing_perframe(shared_data):
    path = shared_data / "behaviordepot_freezing/demo/demo1/demo1_human_freezing_perframe.csv"
    assert detect_annotation_format(path).name == "perframe"
    eth = load_annotations(path, fps=50)  # Params.mat: frameRate 50
    assert eth.n_frames == 6000 and eth.behaviors == ["freezing_human"]
    assert len(eth.to_bouts()) == 20  # PROVENANCE: 20 bouts
    assert eth.labels.values.mean() == pytest.approx(0.228, abs=0.001)
    assert eth.time[-1] == pytest.approx(5999 / 50)


def test_dlcanalyzer_interval_tables(shared_data):
    root = shared_data / "dlcanalyzer_epm/data"
    epm = root / "EPM/Labels/AllEPMLables.csv"
    assert detect_annotation_format(epm).name == "intervals"
    with pytest.raises(FileFormatError, match="fps="):
        load_annotations(epm)
    raw = pd.read_csv(epm, sep=";")
    rows = raw[(raw.ID == "EPM_11") & (raw.Experimenter == "Jin")]
    eth = load_annotations(epm, fps=25, where={"ID": "EPM_11", "Experimenter": "Jin"})
    assert set(eth.behaviors) == set(rows["type"])
    dips = eth.to_bouts().query("behavior == 'Head Dip'")
    first = rows[rows["type"] == "Head Dip"].iloc[0]
    assert dips.iloc[0].start_frame == round(first["from"] * 25)  # 2.023 s -> frame 51
    for rel in ("OFT/Labels/AllLabDataOFT_final.csv", "FST/Lables/AllFSTLables.csv"):
        table = pd.read_csv(root / rel, sep=";")
        file = table["file"].iloc[0]
        eth = load_annotations(root / rel, fps=25, where={"file": file})
        assert set(eth.behaviors) <= set(table.loc[table.file == file, "type"])
        assert eth.to_bouts()["n_frames"].min() >= 1


# -- round trips -----------------------------------------------------------------------------


def _with_points(eth: Ethogram, frames: list[int]) -> Ethogram:
    frames = sorted({f % eth.n_frames for f in frames})
    pts = pd.DataFrame(
        {
            "individual": [eth.individuals[0]] * len(frames),
            "behavior": ["tap"] * len(frames),
            "time": eth.time[frames] if frames else [],
            "frame": frames,
        }
    )
    return Ethogram(eth.labels, points=pts, attrs=eth.attrs)


@pytest.mark.parametrize("fmt,name", [("boris", "e.csv"), ("boris-aggregated", "a.tsv")])
@SETTINGS
@given(masks=masks_1, fps=FPS, taps=st.lists(st.integers(0, 100), max_size=3))
def test_round_trip_boris(tmp_path, fmt, name, masks, fps, taps):
    assume(np.any(masks) or taps)  # an export without events stores no FPS
    eth = _with_points(_ethogram(np.array(masks, bool)[:, :, None], fps), taps)
    read = load_annotations(save_annotations(eth, tmp_path / name, format=fmt))
    assert read.fps == fps
    _assert_same(eth, read)


@pytest.mark.parametrize(
    "fmt,name,kw",
    [
        ("bento", "r.annot", {}),
        ("perframe", "r.csv", {}),
        ("intervals", "i.csv", {"n_frames": None}),
    ],
)
@SETTINGS
@given(data=st.data(), fps=FPS)
def test_round_trip_multi_individual(tmp_path, fmt, name, kw, data, fps):
    n = data.draw(st.integers(3, 30))
    masks = data.draw(
        st.lists(st.booleans(), min_size=n * 4, max_size=n * 4).map(
            lambda v: np.array(v, bool).reshape(n, 2, 2)
        )
    )
    eth = _ethogram(masks, fps, individuals=["mouse a", "mouse b"])
    options = {k: eth.n_frames for k in kw}
    read = load_annotations(save_annotations(eth, tmp_path / name, format=fmt), **options)
    _assert_same(eth, read, points=False)


@pytest.mark.parametrize("fmt", ["simba", "deepethogram"])
@SETTINGS
@given(masks=masks_1)
def test_round_trip_single_individual_tables(tmp_path, fmt, masks):
    eth = _ethogram(np.array(masks, bool)[:, :, None], None)
    read = load_annotations(save_annotations(eth, tmp_path / "t.csv", format=fmt))
    assert read.behaviors == eth.behaviors
    np.testing.assert_array_equal(read.labels.values, eth.labels.values)


@SETTINGS
@given(codes=st.lists(st.integers(-1, 2), min_size=2, max_size=40))
def test_round_trip_caltech(tmp_path, codes):
    codes = np.array(codes)
    masks = np.stack([codes == k for k in range(3)], axis=1)[:, :, None]
    eth = _ethogram(masks, None, individuals=["S1"], prefix="beh_")
    read = load_annotations(save_annotations(eth, tmp_path / "c.txt"))
    assert read.exclusive and read.behaviors == eth.behaviors
    np.testing.assert_array_equal(read.labels.values, eth.labels.values)


def test_round_trip_nwb(tmp_path):
    pytest.importorskip("pynwb")
    rng = np.random.default_rng(1)
    eth = _with_points(
        _ethogram(rng.random((50, 2, 2)) > 0.6, 30.0, individuals=["a", "b"]), [3, 7]
    )
    path = save_annotations(eth, tmp_path / "s.nwb")
    assert detect_annotation_format(path).name == "nwb"
    _assert_same(eth, load_annotations(path))


def test_writers_need_fps_for_seconds_and_one_individual(tmp_path):
    no_fps = _ethogram(np.ones((4, 1, 1), bool), None)
    with pytest.raises(PoseDataError, match="no fps"):
        save_annotations(no_fps, tmp_path / "b.csv", format="boris")
    two = _ethogram(np.ones((4, 1, 2), bool), 30.0)
    with pytest.raises(PoseDataError, match="one individual"):
        save_annotations(two, tmp_path / "s.csv", format="simba")
    assert not list(tmp_path.iterdir())


# -- untrusted files and arguments (issue 15) ----------------------------------------------

_BIG_BENTO = """\
Bento annotation file
Movie file(s): m.seq

Stimulus name:
Annotation start frame: 1
Annotation stop frame: {stop}
Annotation framerate: 30

List of channels:
c

List of annotations:
a

c----------
>a
Start\tStop\tDuration
10\t20\t11
290\t300\t11

"""

_MEMORY_SCRIPT = """
import resource, sys, time
from behavior.errors import FileFormatError
from behavior.io.annotations import load_annotations

def mib(key):
    return int(next(l for l in open('/proc/self/status') if l.startswith(key)).split()[1]) // 1024

before = mib('VmRSS')
t = time.perf_counter()
eth = load_annotations(sys.argv[1])
assert eth.n_frames == 10_000_000, eth.n_frames
print('GROWTH', mib('VmHWM') - before)
vm = mib('VmSize') * 2**20
resource.setrlimit(resource.RLIMIT_AS, (vm + 2 * 2**30, resource.RLIM_INFINITY))
try:
    load_annotations(sys.argv[2])
except FileFormatError as err:
    print('REFUSED', err)
print('SECONDS', time.perf_counter() - t)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_declared_length_is_bounded_and_absurd_length_refused(tmp_path):
    """A 300-frame BENTO file declaring 10 M frames loads in bounded memory; 200 M is refused."""
    ten, huge = tmp_path / "ten.annot", tmp_path / "huge.annot"
    ten.write_text(_BIG_BENTO.format(stop=10_000_000))
    huge.write_text(_BIG_BENTO.format(stop=200_000_000))
    run = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(ten), str(huge)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
    )
    assert run.returncode == 0, run.stderr[-2000:]
    refused = next(line for line in run.stdout.splitlines() if line.startswith("REFUSED"))
    assert "huge.annot" in refused and "200000000" in refused and "50,000,000" in refused
    assert "memory" in refused
    seconds = float(run.stdout.split("SECONDS")[1])
    assert seconds < 30
    growth = int(run.stdout.split("GROWTH")[1].split()[0])  # MiB of resident memory
    assert growth < 800  # 10 M frames: 80 MB of time, 10 MB of labels (it was 2.4 GB)


@pytest.mark.parametrize(
    "text,what",
    [
        ("start,stop,behavior\n0,1e300,x\n", "'stop'"),
        ("start,stop,behavior\n0,1e15,x\n", "'stop'"),
    ],
)
def test_huge_bout_values_refused_before_allocation(tmp_path, text, what):
    path = tmp_path / "iv.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=f"iv.csv: {what}.*limit of 50,000,000"):
        load_annotations(path, fps=30)
    with pytest.raises(FileFormatError, match="iv.csv.*limit"):
        load_annotations(path, units="frames")


BAD_FPS = [0, -30, float("nan"), float("inf"), 1e300, 1e-300, "thirty", "x"]


def _one_file_per_reader(tmp_path) -> dict[str, Path]:
    eth = _with_points(_ethogram(np.eye(6, 2, dtype=bool)[:, :, None], 30.0, prefix="b"), [4])
    files = {}
    for fmt, name in [
        ("boris", "e.csv"),
        ("boris-aggregated", "a.csv"),
        ("bento", "b.annot"),
        ("caltech", "c.txt"),
        ("simba", "s.csv"),
        ("deepethogram", "d.csv"),
        ("perframe", "p.csv"),
        ("intervals", "i.csv"),
    ]:
        files[fmt] = save_annotations(eth, tmp_path / name, format=fmt)
    return files


@pytest.mark.parametrize("fps", BAD_FPS)
def test_every_reader_refuses_a_bad_fps(tmp_path, fps):
    """One rule (behavior.dataset.check_fps) for every annotation format's fps."""
    for fmt, path in _one_file_per_reader(tmp_path).items():
        with pytest.raises(PoseDataError, match=f"{path.name}.*fps.*positive frame rate") as err:
            load_annotations(path, fps=fps, format=fmt)
        assert not isinstance(err.value, UnknownFormatError)


def test_fps_rule_is_the_dataset_rule():
    from behavior.dataset import FPS_RANGE, check_fps

    assert FPS_RANGE == (1e-6, 1e6)
    assert check_fps("25") == 25.0 and check_fps(1e6) == 1e6
    for bad in BAD_FPS:
        with pytest.raises(PoseDataError, match="positive frame rate"):
            check_fps(bad)


def test_file_frame_rate_out_of_range_counts_as_none(tmp_path):
    path = tmp_path / "b.annot"
    path.write_text(
        BENTO_FRAMES.replace("framerate: 30", "framerate: 1e300").replace(
            "11\t20\t10\t", "0.5\t1.0\t0.5"
        )
    )
    text = path.read_text()
    path.write_text(text.replace("31\t31\t1\t", "1.5\t2.5\t1").replace("12\t20\t9\t", "2.5\t3\t.5"))
    with pytest.raises(FileFormatError, match="b.annot.*pass fps="):
        load_annotations(path)
    assert load_annotations(path, fps=30).fps == 30


def _bento_rows(rows: list[str]) -> str:
    head = _BIG_BENTO.split("c----------")[0].format(stop=1000)
    return head + "c----------\n>a\nStart\tStop\tDuration\n" + "\n".join(rows) + "\n\n"


def test_bento_one_decimal_row_does_not_switch_the_file_to_seconds(tmp_path):
    rows = [f"{10 * k + 1}\t{10 * k + 5}\t5" for k in range(20)]
    path = tmp_path / "mixed.annot"
    path.write_text(_bento_rows([*rows[:5], "60.5\t62\t2", *rows[5:]]))
    with pytest.raises(FileFormatError, match=r"mixed.annot.*mix frame numbers.*line \d+: 60.5"):
        load_annotations(path)
    frames = load_annotations(path, units="frames")
    assert frames.to_bouts()["start_frame"].tolist()[:7] == [0, 10, 20, 30, 40, 50, 59]
    secs = tmp_path / "secs.annot"  # whole seconds print without a '.' in a seconds file
    secs.write_text(_bento_rows(["1.5\t2.5\t1", "3\t4\t1", "5.25\t6\t0.75"]))
    assert load_annotations(secs).to_bouts()["start_frame"].tolist() == [45, 90, 158]


def test_bento_truncated_undeclared_and_past_the_end_are_named(tmp_path, caplog):
    cut = tmp_path / "cut.annot"
    cut.write_text(BENTO_FRAMES[: BENTO_FRAMES.index("ground_truth----------")])
    with caplog.at_level(logging.WARNING):
        eth = load_annotations(cut)
    assert any("ground_truth" in i and "truncated" in i for i in eth.attrs["issues"])
    assert "cut.annot" in caplog.text
    half = tmp_path / "half.annot"
    half.write_text(BENTO_FRAMES[: BENTO_FRAMES.index("12\t20")] + "12\t2")
    issues = load_annotations(half).attrs["issues"]
    assert any("line break" in i for i in issues)
    odd = tmp_path / "odd.annot"
    odd.write_text(
        BENTO_FRAMES.replace(">sniff", ">rear").replace("12\t20\t9", "95\t130\t36")
        + "intruder----------\n>attack\nStart\tStop\tDuration\n1\t2\t2\n\n"
    )
    issues = load_annotations(odd).attrs["issues"]
    assert any("'rear'" in i and "List of annotations" in i for i in issues)
    assert any("'intruder'" in i and "List of channels" in i for i in issues)
    assert any("past the declared session length of 100" in i for i in issues)


def test_caltech_truncated_is_named(tmp_path, caplog):
    path = tmp_path / "half.txt"
    path.write_text(
        CALTECH[: CALTECH.index("S2:")] + "S2:\tstart\tend\ttype\n---\n\t1\t20\tother\n"
    )
    with caplog.at_level(logging.WARNING):
        eth = load_annotations(path)
    assert any("S2" in i and "truncated" in i for i in eth.attrs["issues"])
    assert "half.txt" in caplog.text
    header_only = tmp_path / "head.txt"
    header_only.write_text(CALTECH[: CALTECH.index("S1:")])
    assert any("no 'S1:'" in i for i in load_annotations(header_only).attrs["issues"])
    backwards = tmp_path / "back.txt"
    backwards.write_text(CALTECH.replace("\t31\t40\tother", "\t31\t4\tother"))
    with pytest.raises(FileFormatError, match="back.txt: line 13: ends at frame 4"):
        load_annotations(backwards)


def test_caltech_real_file_cut_in_half_warns(shared_data, tmp_path):
    text = (shared_data / "rat_social_dev/annotations/1_annot.txt").read_text()
    assert (
        load_annotations(shared_data / "rat_social_dev/annotations/1_annot.txt").attrs["issues"]
        == []
    )
    cut = tmp_path / "1_annot.txt"
    cut.write_text(text[: text.index("\n", len(text) // 2) + 1])  # a whole last line
    assert any("truncated" in i for i in load_annotations(cut).attrs["issues"])


@pytest.mark.parametrize("cell", ["2", ""])
def test_simba_odd_cell_in_a_behavior_column_is_named(tmp_path, cell):
    n = 300
    table = pd.DataFrame({"Nose_x": np.arange(n) * 0.5, "Attack": np.arange(n) % 7 == 0})
    table["Attack"] = table["Attack"].astype(int).astype(str)
    table["Sniff"] = (np.arange(n) % 3 == 0).astype(int).astype(str)
    table.loc[57, "Attack"] = cell
    path = tmp_path / "Video_2.csv"
    table.to_csv(path)
    eth = load_annotations(path, format="simba")
    assert eth.behaviors == ["Sniff"]
    [issue] = eth.attrs["issues"]
    assert "'Attack'" in issue and "row 59" in issue and repr(cell) in issue
    with pytest.raises(FileFormatError, match="Video_2.csv.*Attack"):
        load_annotations(path, format="simba", behaviors=["Attack"])


def test_duplicated_frame_rows_are_refused(tmp_path):
    simba = tmp_path / "dup_simba.csv"
    simba.write_text(",Attack\n0,1\n1,0\n1,0\n2,1\n")
    with pytest.raises(FileFormatError, match="dup_simba.csv.*repeats frame '1'"):
        load_annotations(simba, format="simba")
    deg = tmp_path / "dup_deg.csv"
    deg.write_text(",background,groom\n0,1,0\n0,1,0\n")
    with pytest.raises(FileFormatError, match="dup_deg.csv.*repeats frame"):
        load_annotations(deg)
    perframe = tmp_path / "dup_pf.csv"
    perframe.write_text("frame,chase\n0,1\n1,1\n1,1\n")
    with pytest.raises(FileFormatError, match="dup_pf.csv.*repeats"):
        load_annotations(perframe)


def test_non_nwb_file_read_as_nwb_is_named(tmp_path):
    pytest.importorskip("pynwb")
    path = tmp_path / "notes.nwb"
    path.write_text("hello\n")
    with pytest.raises(FileFormatError, match="notes.nwb: expected an NWB"):
        load_annotations(path, format="nwb")


@pytest.mark.parametrize("value", ["hello", np.zeros((3, 2)), None])
def test_save_annotations_wants_an_ethogram(tmp_path, value):
    with pytest.raises(PoseDataError, match="x.annot.*expected an Ethogram, found"):
        save_annotations(value, tmp_path / "x.annot")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("n_frames", [-1, 1e300, 2.5, "10", 10**12, True])
def test_bad_n_frames_and_where_named(tmp_path, n_frames):
    path = tmp_path / "i.csv"
    path.write_text("start,stop,behavior\n0,1,x\n")
    with pytest.raises(PoseDataError, match="i.csv.*n_frames"):
        load_annotations(path, fps=30, n_frames=n_frames)
    with pytest.raises(PoseDataError, match="i.csv.*where"):
        load_annotations(path, fps=30, where="ID")
