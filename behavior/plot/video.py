"""Labelled video: keypoints, skeleton and detected behaviors drawn over the session's video.

For a person to check a result by eye:

- :func:`find_video` -- the video beside a pose file (DeepLabCut, SLEAP and
  Lightning Pose naming);
- :func:`labelled_clip` -- a short H.264 mp4 of the video with the poses, the
  skeleton, a frame and time stamp and the active behaviors of an ethogram;
- :func:`labelled_frame` -- one such frame as a matplotlib figure, for notebooks.

Frames are read and written by ffmpeg through the optional package
``imageio-ffmpeg`` (``pip install 'behavior[video]'``), imported only when a
video is read or written. Drawing is done with Pillow (which matplotlib brings)
on each frame's pixels, not with a figure per frame.

**Which video frame shows which pose.** Pose samples are matched to video
frames by time: a pose time ``t`` in seconds is video frame ``round(t * fps)``
with the video's own frame rate; a dataset whose time is in frames
(``attrs["time_unit"] == "frames"``, as files loaded without ``fps=``) gives
the frame index directly. ``start`` and ``duration`` are read with the video's
frame rate. A warning says when the dataset's frame rate or frame count
disagrees with the video's.

**Exact frames.** Frames are decoded from the start of the video and the first
ones dropped inside ffmpeg (``select``), not reached by seeking: seeking in a
compressed video is not frame-exact for every file (on the DeepLabCut
open-field example it decodes to garbage). A clip late in a long video
therefore takes longer to start (ffmpeg decodes about 2,000 frames of 640 x 480
per second here).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from behavior._progress import progress_bar
from behavior.dataset import fps_of, require_dims, time_seconds
from behavior.errors import FileFormatError, PoseDataError, require_module
from behavior.plot._common import _as_list, _default_skeleton, _figure_and_axes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from behavior.ethogram import Ethogram

logger = logging.getLogger(__name__)

__all__ = [
    "INDIVIDUAL_COLORS",
    "VIDEO_SUFFIXES",
    "find_video",
    "labelled_clip",
    "labelled_frame",
]

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
"""Video file endings :func:`find_video` looks for, in this order (any letter case)."""

INDIVIDUAL_COLORS = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
"""RGB colour of the n-th individual drawn (matplotlib's tab10), repeating after ten."""

_LABEL_COLOR = (255, 255, 0)  # behaviors of a single individual
_IDLE_COLOR = (170, 170, 170)  # "none"

# Endings pose files add after the video's name: SLEAP (x.predictions.slp,
# x.predictions.analysis.h5, x.pkg.slp), tables and containers.
_POSE_ENDINGS = (
    ".slp",
    ".h5",
    ".hdf5",
    ".csv",
    ".nwb",
    ".nc",
    ".parquet",
    ".pickle",
    ".pkl",
    ".json",
    ".predictions",
    ".analysis",
    ".pkg",
    "_filtered",
)
# DeepLabCut appends the scorer to the video's name: "m3v1mp4DLC_resnet50_...";
# DeepLabCut 1 wrote "DeepCut_resnet50_...".
_DLC_SCORER = re.compile(r"(?:DLC|DeepCut)_")

_MAX_FRAME_SIDE = 16384
_FAR = 1e6  # positions beyond this many pixels are drawn at it (off the frame)


def find_video(pose_path: str | Path) -> Path | None:
    """The session's video beside a pose file, or None.

    The video is in the same folder and named like the pose file without what
    the pose estimator added: DeepLabCut's scorer (``m3v1mp4DLC_resnet50_
    openfieldAug20shuffle1_30000.h5`` belongs to ``m3v1mp4.mp4``), SLEAP's
    ``.predictions.slp`` / ``.analysis.h5`` (``x.predictions.slp`` belongs to
    ``x.mp4``, and ``x.mp4.predictions.slp`` to ``x.mp4``), DeepLabCut's
    ``_filtered``, and a table's own ending (Lightning Pose ``x.csv``). Videos
    end in one of :data:`VIDEO_SUFFIXES`, in any letter case.

    Parameters
    ----------
    pose_path
        The pose file (it need not exist; only its name and folder are used).

    Returns
    -------
    Path or None
        The first video found (candidate names from the most to the least
        stripped, endings in the order of :data:`VIDEO_SUFFIXES`), or None.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "m3v1.mp4").write_bytes(b"")
    >>> find_video(folder / "m3v1DLC_resnet50_openfieldAug20shuffle1_30000.h5").name
    'm3v1.mp4'
    >>> find_video(folder / "other.predictions.slp") is None
    True
    """
    pose_path = Path(pose_path)
    folder = pose_path.parent
    if not folder.is_dir():
        return None
    videos = {
        p.name.lower(): p
        for p in folder.iterdir()
        if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file() and p != pose_path
    }
    if not videos:
        return None
    for stem in _video_stems(pose_path.name):
        if stem.lower() in videos:  # "x.mp4.predictions.slp" -> "x.mp4"
            return videos[stem.lower()]
        for suffix in VIDEO_SUFFIXES:
            found = videos.get(f"{stem}{suffix}".lower())
            if found is not None:
                return found
    return None


def _video_stems(name: str) -> list[str]:
    """Names the video may have (without ending), the most stripped first."""
    stem = name
    stripped = True
    while stripped:
        stripped = False
        for ending in _POSE_ENDINGS:
            if stem.lower().endswith(ending) and len(stem) > len(ending):
                stem = stem[: -len(ending)]
                stripped = True
    stems = [stem[: m.start()] for m in _DLC_SCORER.finditer(stem) if m.start() > 0]
    stems = [*stems[::-1], stem]  # a video named "myDLC_x" keeps its own "DLC_"
    return list(dict.fromkeys(s for s in stems if s))


# ------------------------------------------------------------------ the video file


@dataclass(frozen=True)
class _VideoInfo:
    path: Path
    fps: float
    width: int
    height: int
    n_frames: int


@contextlib.contextmanager
def _spawning() -> Iterator[None]:
    """Start an ffmpeg process without JAX's warning about ``os.fork``.

    JAX warns on every fork once it is loaded; the child here runs ffmpeg at
    once (fork then exec), which is safe.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning
        )
        yield


def _ffmpeg() -> Any:
    return require_module("imageio_ffmpeg", "video", "Reading and writing video")


def _video_info(video: Path) -> _VideoInfo:
    """Frame rate, size and exact frame count of ``video`` (raises naming the file).

    Remembered per file, size and modification time: counting the frames reads
    the whole file.
    """
    _ffmpeg()
    if not video.is_file():
        raise FileNotFoundError(f"video: {video} does not exist")
    stat = video.stat()
    return _probe(video.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _probe(video: Path, size: int, mtime_ns: int) -> _VideoInfo:
    ffmpeg = _ffmpeg()
    try:
        reader = ffmpeg.read_frames(str(video))
        try:
            with _spawning():
                meta = next(reader)
        finally:
            reader.close()
        with _spawning():
            n_frames, _ = ffmpeg.count_frames_and_secs(str(video))
    except (OSError, RuntimeError, StopIteration) as err:
        raise FileFormatError(f"video: {video} cannot be read as a video ({err})") from err
    fps = meta.get("fps")
    width, height = (int(v) for v in meta.get("size", (0, 0)))
    if not fps or not np.isfinite(fps) or fps <= 0:
        raise FileFormatError(f"video: {video} states no frame rate (ffmpeg found {fps!r})")
    if not (0 < width <= _MAX_FRAME_SIDE and 0 < height <= _MAX_FRAME_SIDE) or n_frames < 1:
        raise FileFormatError(
            f"video: {video} has no readable frames (size {width} x {height}, {n_frames} frames)"
        )
    return _VideoInfo(video, float(fps), width, height, int(n_frames))


def _read_frames(info: _VideoInfo, first: int, n: int) -> Iterator[np.ndarray]:
    """Frames ``first`` to ``first + n - 1`` as ``(height, width, 3)`` uint8 RGB."""
    ffmpeg = _ffmpeg()
    output = ["-frames:v", str(n)]
    if first > 0:
        output = ["-vf", f"select=gte(n\\,{first})", *output]
    reader = ffmpeg.read_frames(str(info.path), output_params=output)
    shape = (info.height, info.width, 3)
    got = 0
    try:
        with _spawning():
            meta = next(reader)
        if tuple(meta.get("size", ())) != (info.width, info.height):
            raise FileFormatError(
                f"video: {info.path} changed frame size while read "
                f"({info.width} x {info.height}, then {meta.get('size')})"
            )
        for chunk in reader:
            yield np.frombuffer(chunk, dtype=np.uint8).reshape(shape)
            got += 1
            if got == n:
                break
    finally:
        reader.close()
    if got < n:
        raise FileFormatError(
            f"video: {info.path} gave {got} frames from frame {first}, expected {n} "
            f"(it counts {info.n_frames} frames)"
        )


# ------------------------------------------------------------------ what is drawn


@dataclass
class _Overlay:
    """Everything drawn on a video frame, looked up by video frame index."""

    individuals: list[str]
    keypoints: list[str]
    pairs: list[tuple[int, int]]
    pose_time: np.ndarray  # in seconds, or frames when pose_time_unit == "frames"
    pose_time_unit: Any
    pose_fps: float | None  # the dataset's own frame rate (None when time is in frames)
    xy: np.ndarray  # (time, individual, keypoint, 2), NaN where not drawn
    label_time: np.ndarray | None
    label_time_unit: Any
    labels: np.ndarray | None  # (time, behavior, individual) bool
    behaviors: list[str]
    label_individuals: list[str]
    partner: np.ndarray | None
    pose_frames: np.ndarray | None = None  # video frame of each pose sample (sorted)
    label_frames: np.ndarray | None = None  # video frame of each ethogram sample

    def place(self, info: _VideoInfo) -> _Overlay:
        """Match the samples to the frames of ``info``'s video; warn where they disagree."""
        self.pose_frames = _video_frame_of(self.pose_time, self.pose_time_unit, info.fps)
        keep = np.isfinite(self.pose_frames)
        self.pose_frames, self.xy = self.pose_frames[keep], self.xy[keep]
        if self.label_time is not None:
            self.label_frames = _video_frame_of(self.label_time, self.label_time_unit, info.fps)
        n_poses = len(self.pose_time)
        if n_poses != info.n_frames:
            warnings.warn(
                f"ds has {n_poses} frames of poses, the video {info.path.name} has "
                f"{info.n_frames}; poses are matched to video frames by time",
                UserWarning,
                stacklevel=3,
            )
        fps = self.pose_fps
        if fps is not None and abs(fps - info.fps) > 1e-3 * info.fps:
            warnings.warn(
                f"ds has {fps:g} frames per second, the video {info.path.name} "
                f"{info.fps:g}; poses are matched to video frames by time",
                UserWarning,
                stacklevel=3,
            )
        return self

    def pose_at(self, frame: int) -> np.ndarray | None:
        return _lookup(self.pose_frames, self.xy, frame)

    def behaviors_at(self, frame: int) -> list[tuple[str, list[str]]]:
        """``(individual, active behaviors)`` for every labelled individual."""
        if self.labels is None or self.label_frames is None:
            return []
        row = _lookup(self.label_frames, np.arange(len(self.label_frames)), frame)
        if row is None:
            return [(ind, []) for ind in self.label_individuals]
        out = []
        for j, ind in enumerate(self.label_individuals):
            active = []
            for b in np.flatnonzero(self.labels[row, :, j]):
                name = self.behaviors[b]
                other = "" if self.partner is None else str(self.partner[row, b, j])
                active.append(f"{name} ({other})" if other else name)
            out.append((ind, active))
        return out


def _lookup(frames: np.ndarray, values: np.ndarray, frame: int) -> Any:
    i = int(np.searchsorted(frames, frame))
    if i < len(frames) and frames[i] == frame:
        return values[i]
    return None


def _video_frame_of(time: np.ndarray, time_unit: Any, fps: float) -> np.ndarray:
    """Video frame index of each sample time (seconds, or frames when ``time_unit='frames'``)."""
    scale = 1.0 if time_unit == "frames" else fps
    with np.errstate(invalid="ignore"):
        return np.rint(np.asarray(time, dtype=np.float64) * scale)


def _skeleton_pairs(ds: xr.Dataset, skeleton: Any, keypoints: list[str]) -> list[tuple[int, int]]:
    """Skeleton edges as keypoint index pairs: given, ``ds.attrs["skeleton"]``, or by name."""
    if skeleton is None:
        return []
    source = "skeleton"
    if isinstance(skeleton, str):
        if skeleton != "auto":
            raise PoseDataError(
                f"skeleton: expected 'auto', None or a list of (keypoint, keypoint) pairs, "
                f"found {skeleton!r}"
            )
        stored = ds.attrs.get("skeleton")
        if stored is None:
            pairs = _default_skeleton(keypoints)
            return [(keypoints.index(a), keypoints.index(b)) for a, b in pairs]
        skeleton = json.loads(stored) if isinstance(stored, str) else stored
        source = "ds.attrs['skeleton']"
    try:
        pairs = [(str(a), str(b)) for a, b in skeleton]
    except (TypeError, ValueError):
        raise PoseDataError(
            f"{source}: expected a list of (keypoint, keypoint) pairs, found {skeleton!r}"
        ) from None
    unknown = sorted({k for pair in pairs for k in pair} - set(keypoints))
    if unknown:
        raise PoseDataError(
            f"{source}: keypoints {unknown} are not in the dataset; available: {keypoints}"
        )
    return [(keypoints.index(a), keypoints.index(b)) for a, b in pairs]


def _overlay(
    ds: xr.Dataset,
    ethogram: Ethogram | None,
    individuals: str | Sequence[str] | None,
    skeleton: Any,
    min_confidence: float | None,
) -> _Overlay:
    from behavior._pose import require_time_order

    if not isinstance(ds, xr.Dataset) or "position" not in ds:
        raise PoseDataError(
            f"ds: expected a pose Dataset with a 'position' variable, found {type(ds).__name__}"
        )
    require_dims(ds.position, "time", "space", "keypoint", "individual", name="ds.position")
    require_time_order(ds, "ds")
    space_unit = ds.attrs.get("space_unit", "pixels")
    if str(space_unit).lower() not in {"pixels", "pixel", "px"}:
        raise PoseDataError(
            f"ds: positions are in {space_unit!r}, but a video is drawn in pixels; "
            "use the dataset before calibration"
        )
    space = [str(s) for s in ds["space"].values] if "space" in ds.coords else []
    if {"x", "y"} <= set(space):
        position = ds.position.sel(space=["x", "y"])
    else:
        position = ds.position.isel(space=slice(0, 2))
    if position.sizes["space"] != 2:
        raise PoseDataError(f"ds: expected x and y in 'space', found {space}")
    available = [str(v) for v in ds["individual"].values]
    chosen = _as_list(individuals) or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise PoseDataError(
            f"individuals: {unknown} not in the dataset; available individuals: {available}"
        )
    position = position.sel(individual=chosen)
    xy = position.transpose("time", "individual", "keypoint", "space").to_numpy().astype(float)
    np.clip(xy, -_FAR, _FAR, out=xy)  # Pillow takes pixel coordinates as C ints
    if min_confidence is not None:
        if "confidence" not in ds:
            raise PoseDataError(
                "min_confidence: the dataset has no 'confidence' variable to compare with"
            )
        confidence = ds.confidence.sel(individual=chosen)
        confidence = confidence.transpose("time", "individual", "keypoint").to_numpy()
        with np.errstate(invalid="ignore"):
            xy[~(confidence >= float(min_confidence))] = np.nan
    keypoints = [str(k) for k in ds["keypoint"].values]
    labels = label_time = partner = None
    behaviors: list[str] = []
    label_individuals: list[str] = []
    if ethogram is not None:
        from behavior.ethogram import Ethogram

        if not isinstance(ethogram, Ethogram):
            raise PoseDataError(
                f"ethogram: expected a behavior.Ethogram, found {type(ethogram).__name__}"
            )
        label_individuals = [i for i in ethogram.individuals if individuals is None or i in chosen]
        eth_labels = ethogram.labels.sel(individual=label_individuals)
        labels = eth_labels.to_numpy()
        behaviors = ethogram.behaviors
        if ethogram.partner is not None:
            partner = ethogram.partner.sel(individual=label_individuals).to_numpy()
        label_time = time_seconds(ethogram.labels)
    pose_time = time_seconds(ds)
    label_time_unit = None if ethogram is None else ethogram.attrs.get("time_unit")
    if (
        label_time is not None
        and label_time_unit is None
        and label_time.shape == pose_time.shape
        and np.allclose(label_time, pose_time, equal_nan=True)
    ):  # built on the dataset's time coordinate without its unit
        label_time_unit = ds.attrs.get("time_unit")
    in_frames = ds.attrs.get("time_unit") == "frames"
    return _Overlay(
        individuals=chosen,
        keypoints=keypoints,
        pairs=_skeleton_pairs(ds, skeleton, keypoints),
        pose_time=pose_time,
        pose_time_unit=ds.attrs.get("time_unit"),
        pose_fps=None if in_frames else fps_of(ds),
        xy=xy,
        label_time=label_time,
        label_time_unit=label_time_unit,
        labels=labels,
        behaviors=behaviors,
        label_individuals=label_individuals,
        partner=partner,
    )


class _Painter:
    """Draws an :class:`_Overlay` on video frames with Pillow."""

    def __init__(self, overlay: _Overlay, info: _VideoInfo) -> None:
        from PIL import ImageFont

        self.overlay = overlay
        self.info = info
        side = min(info.width, info.height)
        self.radius = max(2.0, side / 100)
        self.line_width = max(1, round(side / 240))
        self.text_size = max(10, round(info.height / 30))
        try:
            self.font = ImageFont.load_default(size=self.text_size)
        except TypeError:  # Pillow < 10.1: the fixed bitmap font
            self.font = ImageFont.load_default()
        self.colors = {
            ind: INDIVIDUAL_COLORS[i % len(INDIVIDUAL_COLORS)]
            for i, ind in enumerate(overlay.individuals)
        }

    def draw(self, frame: np.ndarray, index: int) -> np.ndarray:
        from PIL import Image, ImageDraw

        image = Image.fromarray(frame)
        pen = ImageDraw.Draw(image)
        xy = self.overlay.pose_at(index)
        if xy is not None:
            self._poses(pen, xy)
        lines = [(f"frame {index}  {index / self.info.fps:.2f} s", (255, 255, 255))]
        labelled = self.overlay.behaviors_at(index)
        for ind, active in labelled:
            text = ", ".join(active) if active else "none"
            if len(labelled) > 1:  # one line per individual, in its colour
                color = self.colors.get(ind, _LABEL_COLOR) if active else _IDLE_COLOR
                lines.append((f"{ind}: {text}", color))
            else:
                lines.append((text, _LABEL_COLOR if active else _IDLE_COLOR))
        self._text(pen, lines)
        return np.asarray(image)

    def _poses(self, pen: Any, xy: np.ndarray) -> None:
        r = self.radius
        for j, ind in enumerate(self.overlay.individuals):
            color = self.colors[ind]
            points = xy[j]
            ok = np.isfinite(points).all(axis=1)
            for a, b in self.overlay.pairs:
                if ok[a] and ok[b]:
                    pen.line(
                        [tuple(points[a]), tuple(points[b])], fill=color, width=self.line_width
                    )
            for x, y in points[ok]:
                pen.ellipse([x - r, y - r, x + r, y + r], fill=color, outline=(0, 0, 0))

    def _text(self, pen: Any, lines: list[tuple[str, tuple[int, int, int]]]) -> None:
        pad = max(2, self.text_size // 5)
        y = pad
        for text, color in lines:
            left, top, right, bottom = pen.textbbox((pad, y), text, font=self.font)
            pen.rectangle([left - pad, top - pad, right + pad, bottom + pad], fill=(0, 0, 0))
            pen.text((pad, y), text, fill=color, font=self.font)
            y = bottom + 2 * pad


# ------------------------------------------------------------------ the public functions


def _clip_range(
    start: Any, duration: Any, info: _VideoInfo, overlay: _Overlay, start_name: str = "start"
) -> tuple[int, int]:
    """First video frame and number of frames of the clip, checked against the poses."""
    from behavior.units import to_frames

    first = to_frames(start, info.fps, name=start_name)
    n = to_frames(duration, info.fps, name="duration")
    frames = overlay.pose_frames
    lo = max(0, int(frames.min())) if frames.size else 0
    hi = min(info.n_frames, int(frames.max()) + 1) if frames.size else 0
    if hi <= lo:
        raise PoseDataError(
            f"ds: its poses fall on no frame of the video {info.path.name} "
            f"({info.n_frames} frames at {info.fps:g} fps); check the frame rate and time"
        )
    available = (
        f"{lo / info.fps:g} s to {hi / info.fps:g} s (frames {lo} to {hi - 1}), "
        f"where the video {info.path.name} and the poses overlap"
    )
    if not lo <= first < hi:
        raise PoseDataError(
            f"{start_name}: requested {start!r} (frame {first} at {info.fps:g} fps) is outside "
            f"the available range {available}"
        )
    if n < 1:
        raise PoseDataError(f"duration: expected at least one frame, found {duration!r} ({n})")
    if first + n > hi:
        warnings.warn(
            f"duration: {duration!r} from {start!r} runs past the available range "
            f"{available}; the clip is cut to {hi - first} frames",
            UserWarning,
            stacklevel=3,
        )
        n = hi - first
    return first, n


def _even(frame: np.ndarray) -> np.ndarray:
    """Pad a frame to an even width and height (H.264 in yuv420p needs both)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))


def labelled_clip(
    ds: xr.Dataset,
    video: str | Path,
    out: str | Path,
    *,
    ethogram: Ethogram | None = None,
    start: str | float | int = "0 s",
    duration: str | float | int = "10 s",
    individuals: str | Sequence[str] | None = None,
    skeleton: str | Sequence[tuple[str, str]] | None = "auto",
    min_confidence: float | None = None,
    progress: bool = True,
) -> Path:
    """Write a short mp4 of ``video`` with the poses and behaviors drawn over it.

    Every frame shows the keypoints as discs (one colour per individual,
    :data:`INDIVIDUAL_COLORS`), the skeleton as lines, a stamp with the video
    frame number and its time, and under it the behaviors of ``ethogram``
    active in that frame (in yellow; one line per individual, in its colour,
    when there are several; ``none`` in grey). The clip keeps the video's
    frame rate and size (an odd width or height gets one black row or column:
    H.264 needs even sides) and is written as H.264 (yuv420p, plays in
    browsers) through a temporary file beside ``out``, read back to check its
    frame count, then renamed into place. The source video is only read.

    Parameters
    ----------
    ds
        Pose dataset in pixels of this video (not calibrated). Its time is
        matched to video frames with the video's frame rate (see the module
        docstring); a warning says when its frame rate or frame count differs
        from the video's.
    video
        The session's video (any format ffmpeg reads; :func:`find_video` finds it).
    out
        The mp4 to write; its folder must exist; it must not be ``video``.
    ethogram
        Behaviors to show, on the same clock as ``ds``.
    start, duration
        The clip is ``[start, start + duration)``: a duration text (``"12 s"``,
        ``"500 ms"``, ``"30 frames"``), a float in seconds or an int in frames.
        ``start`` must fall where the video and the poses overlap; a
        ``duration`` running past it is cut with a warning.
    individuals
        Individuals to draw (default all); also selects the ethogram's.
    skeleton
        ``"auto"``: ``ds.attrs["skeleton"]`` (pairs, or their JSON text) when
        present, else the midline and ears found from the keypoint names (none
        for names it does not know); None: no lines; or ``(keypoint, keypoint)``
        pairs.
    min_confidence
        Keypoints with a lower ``confidence`` are not drawn.
    progress
        Show a progress bar over frames.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    MissingDependencyError
        ``imageio-ffmpeg`` is not installed.
    PoseDataError
        ``start`` outside the available range (the message gives both),
        unknown individuals or skeleton keypoints, positions not in pixels,
        ``out`` the same file as ``video``.
    FileFormatError
        The video cannot be read, or gives fewer frames than it counts.
    FileWriteError
        The clip could not be written or read back; a file already at ``out``
        is unchanged.

    Examples
    --------
    >>> ds = bh.load_poses("m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5")  # doctest: +SKIP
    >>> video = bh.plot.find_video(ds.attrs["source_file"])  # doctest: +SKIP
    >>> clip = bh.plot.labelled_clip(ds, video, "check.mp4", start="20 s")  # doctest: +SKIP
    """
    from behavior.io.registry import atomic_path

    ffmpeg = _ffmpeg()
    video, out = Path(video), Path(out)
    if out.exists() and video.exists() and os.path.samefile(out, video):
        raise PoseDataError(
            f"out: {out} is the source video; write the clip to another file "
            "(the source video is never overwritten)"
        )
    overlay = _overlay(ds, ethogram, individuals, skeleton, min_confidence)
    info = _video_info(video)
    overlay.place(info)
    first, n = _clip_range(start, duration, info, overlay)
    painter = _Painter(overlay, info)
    width, height = info.width + info.width % 2, info.height + info.height % 2

    def verify(path: Path) -> None:
        with _spawning():
            written, _ = ffmpeg.count_frames_and_secs(str(path))
        if written != n:
            raise FileFormatError(f"{path}: expected {n} frames, found {written}")

    with atomic_path(out, verify=verify) as tmp:
        writer = ffmpeg.write_frames(
            str(tmp),
            (width, height),
            fps=info.fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=6,  # crf 20
            macro_block_size=1,
            ffmpeg_log_level="error",
            output_params=["-preset", "veryfast", "-movflags", "+faststart", "-f", "mp4"],
        )
        try:
            with _spawning():
                writer.send(None)
            bar = progress_bar(
                total=n, enabled=progress, desc=f"clip {out.name}", unit="frame", leave=False
            )
            with bar:
                for i, frame in enumerate(_read_frames(info, first, n)):
                    writer.send(np.ascontiguousarray(_even(painter.draw(frame, first + i))))
                    bar.update()
        finally:
            writer.close()
    logger.info("wrote %s: %d frames from frame %d of %s", out, n, first, video)
    return out


def labelled_frame(
    ds: xr.Dataset,
    video: str | Path,
    time: str | float | int,
    *,
    ethogram: Ethogram | None = None,
    individuals: str | Sequence[str] | None = None,
    skeleton: str | Sequence[tuple[str, str]] | None = "auto",
    min_confidence: float | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """One video frame with the poses and behaviors drawn as in :func:`labelled_clip`.

    Parameters
    ----------
    ds, video, ethogram, individuals, skeleton, min_confidence
        As in :func:`labelled_clip`.
    time
        The frame: a duration text (``"12 s"``, ``"30 frames"``), a float in
        seconds or an int frame index, on the video's clock.
    ax
        Axes to draw on (default a new figure the size of the frame at 100 dpi).

    Returns
    -------
    (Figure, Axes)
        The frame as an image (pixel coordinates, y down), axes off.

    Examples
    --------
    >>> fig, ax = bh.plot.labelled_frame(ds, "m3v1mp4.mp4", "20 s")  # doctest: +SKIP
    """
    overlay = _overlay(ds, ethogram, individuals, skeleton, min_confidence)
    info = _video_info(Path(video))
    overlay.place(info)
    first, _ = _clip_range(time, 1, info, overlay, start_name="time")
    frame = next(iter(_read_frames(info, first, 1)))
    image = _Painter(overlay, info).draw(frame, first)
    fig, ax = _figure_and_axes(
        ax, figsize=(info.width / 100, info.height / 100), layout="constrained"
    )
    ax.imshow(image, interpolation="nearest")
    ax.set_axis_off()
    return fig, ax
