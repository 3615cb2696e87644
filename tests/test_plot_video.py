"""Labelled video clips (behavior/plot/video.py) on the DeepLabCut open-field video."""

from __future__ import annotations

import hashlib
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.errors import MissingDependencyError, PoseDataError
from behavior.plot.video import INDIVIDUAL_COLORS, find_video, labelled_clip, labelled_frame

pytestmark = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX, at ffmpeg's start

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the 'video' extra is not installed")

FOLDER = "dlc2nwb_openfield"
POSES = "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
VIDEO = "m3v1mp4.mp4"
FPS, WIDTH, HEIGHT, N_FRAMES = 30.0, 640, 480, 2330
START, LENGTH = 30, 60  # the clips: frames 30 to 89 ("1 s" for "2 s")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_all(path: Path, n: int | None = None) -> tuple[dict, list[np.ndarray]]:
    """Metadata and the first ``n`` (all) frames of a video, decoded in order."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = []
    try:
        for chunk in reader:
            frames.append(np.frombuffer(chunk, np.uint8).reshape(height, width, 3).astype(int))
            if n is not None and len(frames) == n:
                break
    finally:
        reader.close()
    return meta, frames


@pytest.fixture(scope="module")
def session(shared_data):
    folder = shared_data / FOLDER
    if not (folder / VIDEO).is_file():
        pytest.skip(f"{folder / VIDEO} is not in ../shared/data")
    return folder / POSES, folder / VIDEO, _sha256(folder / VIDEO)


@pytest.fixture(scope="module")
def poses(session):
    return bh.load_poses(session[0])


@pytest.fixture(scope="module")
def ethogram(poses):
    """'grooming' in every other half second (15 frames on, 15 off)."""
    on = (np.arange(poses.sizes["time"]) // 15) % 2 == 0
    mask = xr.DataArray(
        on[:, None],
        dims=("time", "individual"),
        coords={"time": poses.time.values, "individual": poses.individual.values},
        attrs={"time_unit": "frames"},
    )
    return bh.Ethogram.from_masks({"grooming": mask})


@pytest.fixture(scope="module")
def clips(session, poses, ethogram, tmp_path_factory):
    """Two 2 s clips from 1 s, with and without the ethogram, decoded."""
    _, video, _ = session
    folder = tmp_path_factory.mktemp("clips")
    with_labels = labelled_clip(
        poses,
        video,
        folder / "labelled.mp4",
        ethogram=ethogram,
        start="1 s",
        duration="2 s",
        progress=False,
    )
    plain = labelled_clip(
        poses, video, folder / "plain.mp4", start="1 s", duration="2 s", progress=False
    )
    return {
        "labelled": (with_labels, *_read_all(with_labels)),
        "plain": (plain, *_read_all(plain)),
        "original": _read_all(video, START + LENGTH + 1)[1],
    }


# ------------------------------------------------------------------ find_video


@pytest.mark.realdata
def test_find_video_finds_the_open_field_video_beside_the_dlc_file(session):
    pose_path, video, _ = session
    assert find_video(pose_path) == video
    assert find_video(str(pose_path)) == video


@pytest.mark.parametrize(
    ("pose_name", "video_name"),
    [
        ("m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5", "m3v1mp4.mp4"),
        ("m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000_filtered.csv", "m3v1mp4.mp4"),
        ("mouse1DeepCut_resnet50_testMay1shuffle1_500.h5", "mouse1.avi"),
        ("x.predictions.slp", "x.mp4"),
        ("x.mp4.predictions.slp", "x.mp4"),
        ("x.predictions.analysis.h5", "x.MOV"),
        ("session_2.csv", "session_2.mkv"),
        ("myDLC_rig_cam1DLC_resnet50_rigMay1shuffle1_500.h5", "myDLC_rig_cam1.mp4"),
    ],
)
def test_find_video_strips_what_the_pose_estimator_added(tmp_path, pose_name, video_name):
    (tmp_path / video_name).write_bytes(b"")
    (tmp_path / "unrelated.mp4").write_bytes(b"")
    (tmp_path / pose_name).write_bytes(b"")
    assert find_video(tmp_path / pose_name) == tmp_path / video_name


def test_find_video_is_none_without_a_matching_video(tmp_path):
    (tmp_path / "other.mp4").write_bytes(b"")
    (tmp_path / "x.txt").write_bytes(b"")
    assert find_video(tmp_path / "xDLC_resnet50_aMay1shuffle1_5.h5") is None
    assert find_video(tmp_path / "missing_folder" / "x.h5") is None


@settings(max_examples=25, deadline=None)
@given(
    stem=st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12),
    suffix=st.sampled_from([".mp4", ".avi", ".mov", ".mkv"]),
    pose_end=st.sampled_from(
        ["DLC_resnet50_openfieldAug20shuffle1_30000.h5", ".predictions.slp", ".csv"]
    ),
)
def test_find_video_property_any_stem(tmp_path_factory, stem, suffix, pose_end):
    folder = tmp_path_factory.mktemp("videos")
    (folder / f"{stem}{suffix}").write_bytes(b"")
    assert find_video(folder / f"{stem}{pose_end}") == folder / f"{stem}{suffix}"


# ------------------------------------------------------------------ labelled_clip


@pytest.mark.realdata
def test_clip_has_the_requested_frames_size_and_rate(clips):
    path, meta, frames = clips["plain"]
    assert path.suffix == ".mp4"
    assert len(frames) == LENGTH
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == LENGTH
    assert tuple(meta["size"]) == (WIDTH, HEIGHT)
    assert meta["fps"] == pytest.approx(FPS)
    assert meta["codec"] == "h264"
    assert not list(path.parent.glob(".*tmp*")), "the temporary file was left behind"


@pytest.mark.realdata
def test_clip_frames_are_the_video_frames_from_start(clips):
    """Each clip frame matches the source frame of the same index best (not one off)."""
    _, _, frames = clips["plain"]
    original = clips["original"]
    body = slice(80, None)  # below the text
    for i in (0, 1, LENGTH // 2, LENGTH - 1):
        errors = {
            k: np.abs(frames[i][body] - original[k][body]).mean()
            for k in (START + i - 1, START + i, START + i + 1)
        }
        assert min(errors, key=errors.get) == START + i, errors


@pytest.mark.realdata
def test_keypoints_are_drawn_in_the_individual_colour_at_the_pose(clips, poses):
    _, _, frames = clips["plain"]
    original = clips["original"]
    color = np.array(INDIVIDUAL_COLORS[0])
    xy = poses.position.isel(individual=0).transpose("time", "keypoint", "space").values
    checked = 0
    for i in range(0, LENGTH, 7):
        points = xy[START + i]
        for k, (x, y) in enumerate(points):
            others = np.delete(points, k, axis=0)
            if np.min(np.hypot(*(others - (x, y)).T)) < 12:  # another disc's rim nearby
                continue
            row, col = round(y), round(x)
            drawn = frames[i][row - 1 : row + 2, col - 1 : col + 2].reshape(-1, 3).mean(axis=0)
            before = original[START + i][row, col]
            assert np.abs(drawn - color).max() < 40, (i, k, drawn)
            assert np.abs(before - color).max() > 60, (i, k, before)
            checked += 1
    assert checked >= 10


def _yellow(frame: np.ndarray) -> np.ndarray:
    r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
    return (r > 170) & (g > 170) & (b < 110)


@pytest.mark.realdata
def test_ethogram_label_is_drawn_under_the_stamp(clips, ethogram):
    _, _, labelled = clips["labelled"]
    _, _, plain = clips["plain"]
    text_height = HEIGHT / 30
    on = ethogram.labels.values[START : START + LENGTH, 0, 0]
    assert on.any() and not on.all()
    for i in range(LENGTH):
        changed = np.abs(labelled[i] - plain[i]).max(axis=2) > 40
        # below the frame stamp, in the top-left corner; elsewhere only codec noise
        label_area = np.zeros_like(changed)
        label_area[round(1.2 * text_height) : 4 * round(text_height), : WIDTH // 3] = True
        assert changed[label_area].sum() > 50, f"frame {i}: no label drawn"
        assert changed[~label_area].sum() * 10 < changed[label_area].sum(), i
        assert changed[: round(text_height)].mean() < 0.01, f"frame {i}: the stamp changed"
        # the behavior's name in yellow while it is active, "none" in grey otherwise
        assert (_yellow(labelled[i]).sum() > 30) == on[i], i
        assert _yellow(plain[i]).sum() == 0


@pytest.mark.realdata
def test_the_source_video_is_never_modified(session, clips, poses, tmp_path):
    _, video, digest = session
    assert _sha256(video) == digest
    same = tmp_path / "same.mp4"
    same.symlink_to(video)
    with pytest.raises(PoseDataError, match=r"out: .*source video"):
        labelled_clip(poses, video, same, duration="1 s", progress=False)
    assert _sha256(video) == digest


@pytest.mark.realdata
@pytest.mark.parametrize("start", ["100 s", "2330 frames", 5000])
def test_start_outside_the_video_names_argument_request_and_range(session, poses, tmp_path, start):
    _, video, _ = session
    out = tmp_path / "late.mp4"
    with pytest.raises(PoseDataError) as err:
        labelled_clip(poses, video, out, start=start, progress=False)
    message = str(err.value)
    assert message.startswith("start:")
    assert repr(start) in message
    assert "0 s to 77.6667 s (frames 0 to 2329)" in message
    assert not out.exists()


@pytest.mark.realdata
def test_duration_past_the_end_is_cut_with_a_warning(session, poses, tmp_path):
    _, video, _ = session
    with pytest.warns(UserWarning, match=r"duration: .* cut to 10 frames"):
        out = labelled_clip(poses, video, tmp_path / "end.mp4", start="2320 frames", progress=False)
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == 10


@pytest.mark.realdata
def test_an_existing_clip_is_replaced(session, poses, tmp_path):
    _, video, _ = session
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"old")
    labelled_clip(poses, video, out, duration="5 frames", progress=False, skeleton=None)
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == 5


@pytest.mark.realdata
def test_frame_rate_and_frame_count_disagreements_warn(session, poses):
    pose_path, video, _ = session
    at_25 = bh.load_poses(pose_path, fps=25)
    with pytest.warns(UserWarning, match=r"25 frames per second, the video m3v1mp4.mp4 30"):
        labelled_frame(at_25, video, "1 s")
    shorter = poses.isel(time=slice(0, 1000))
    with pytest.warns(UserWarning, match=r"1000 frames of poses, the video m3v1mp4.mp4 has 2330"):
        labelled_frame(shorter, video, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labelled_frame(poses, video, 10)  # agreeing: no warning


@pytest.mark.realdata
def test_labelled_frame_shows_the_drawn_frame(session, poses):
    import matplotlib.pyplot as plt

    _, video, _ = session
    fig, ax = labelled_frame(poses, video, "1 s")
    try:
        image = ax.get_images()[0].get_array()
        assert image.shape == (HEIGHT, WIDTH, 3)
        x, y = poses.position.isel(time=START, individual=0, keypoint=3).values
        assert np.abs(image[round(y), round(x)].astype(int) - INDIVIDUAL_COLORS[0]).max() <= 1
    finally:
        plt.close(fig)


@pytest.mark.realdata
def test_skeleton_argument_is_checked(session, poses):
    _, video, _ = session
    with pytest.raises(PoseDataError, match=r"skeleton: keypoints \['paw'\] are not in"):
        labelled_frame(poses, video, 0, skeleton=[("snout", "paw")])
    stored = poses.assign_attrs(skeleton='[["snout", "tail"]]')
    with pytest.raises(PoseDataError, match=r"ds.attrs\['skeleton'\]: keypoints \['tail'\]"):
        labelled_frame(stored, video, 0)
    with pytest.raises(PoseDataError, match=r"individuals: \['m9'\] not in the dataset"):
        labelled_frame(poses, video, 0, individuals="m9")


@pytest.mark.realdata
def test_calibrated_positions_are_refused(session, poses):
    _, video, _ = session
    cm = poses.assign_attrs(space_unit="cm")
    with pytest.raises(PoseDataError, match=re.escape("ds: positions are in 'cm'")):
        labelled_frame(cm, video, 0)


def test_missing_imageio_ffmpeg_is_a_clear_error(monkeypatch, tmp_path, small_poses):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    with pytest.raises(MissingDependencyError, match=r"imageio_ffmpeg.*behavior\[video\]"):
        labelled_clip(small_poses, tmp_path / "v.mp4", tmp_path / "out.mp4", progress=False)
    assert not (tmp_path / "out.mp4").exists()


@pytest.mark.realdata
def test_labelled_frame_names_time_and_reads_an_ethogram_without_time_unit(session, poses):
    import matplotlib.pyplot as plt

    _, video, _ = session
    with pytest.raises(PoseDataError, match=r"^time: requested '90 s'"):
        labelled_frame(poses, video, "90 s")
    on = (np.arange(poses.sizes["time"]) // 15) % 2 == 0  # frame 30 is labelled
    mask = xr.DataArray(
        on[:, None],
        dims=("time", "individual"),
        coords={"time": poses.time.values, "individual": poses.individual.values},
    )  # no time_unit: the dataset's frames are its clock
    fig, ax = labelled_frame(poses, video, 30, ethogram=bh.Ethogram.from_masks({"rear": mask}))
    try:
        assert _yellow(ax.get_images()[0].get_array().astype(int)).sum() > 30
    finally:
        plt.close(fig)


def test_two_individuals_on_an_odd_sized_video(tmp_path):
    """A lossless synthetic video 65 x 49: each individual in its colour, padded to even."""
    width, height, fps, n = 65, 49, 10.0, 12
    video = tmp_path / "arena.mkv"
    writer = imageio_ffmpeg.write_frames(
        str(video),
        (width, height),
        fps=fps,
        codec="ffv1",
        pix_fmt_out="rgb24",
        macro_block_size=1,
        ffmpeg_log_level="error",
    )
    writer.send(None)
    for _ in range(n):
        writer.send(np.full((height, width, 3), 200, np.uint8))
    writer.close()
    position = np.empty((n, 2, 2, 2))
    position[:, :, 0, 0] = (15.0, 20.0)  # m1: two keypoints
    position[:, :, 1, 0] = (15.0, 35.0)
    position[:, :, 0, 1] = (50.0, 20.0)  # m2
    position[:, :, 1, 1] = (50.0, 35.0)
    confidence = np.ones((n, 2, 2))
    confidence[:, 1, 1] = 0.1  # m2's second keypoint is not drawn
    ds = bh.from_numpy(
        position, confidence, individual_names=["m1", "m2"], keypoint_names=["a", "b"], fps=fps
    )
    assert find_video(tmp_path / "arena.predictions.slp") == video
    out = labelled_clip(
        ds,
        video,
        tmp_path / "clip.mp4",
        start=0.5,
        duration="0.5 s",
        min_confidence=0.5,
        skeleton=[("a", "b")],
        progress=False,
    )
    meta, frames = _read_all(out)
    assert tuple(meta["size"]) == (width + 1, height + 1)
    assert len(frames) == 5
    frame = frames[2]
    for (x, y), color in [((15, 20), 0), ((15, 35), 0), ((50, 20), 1)]:
        assert np.abs(frame[y, x] - INDIVIDUAL_COLORS[color]).max() < 40, (x, y)
    line = frame[28, 15]  # a one-pixel line: nearer its colour than the background
    assert np.abs(line - INDIVIDUAL_COLORS[0]).sum() < np.abs(line - 200).sum()
    assert np.abs(frame[35, 50] - 200).max() < 30  # below min_confidence: background
    assert np.abs(frame[28, 50] - 200).max() < 30  # so no skeleton line to it
    assert np.abs(frame[height, :]).max() < 30  # the padding row is black
