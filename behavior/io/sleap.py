"""SLEAP: project files (``.slp``), analysis HDF5 (``.analysis.h5``) and legacy labels HDF5.

Three layouts, one frontend:

``.slp`` (read, through the optional package ``sleap-io``)
    The SLEAP project / predictions file. One video is read (``video=0`` by
    default; pass another index for multi-video projects).

    * Individuals are the project's tracks, in the project's order (all of them,
      also tracks that never appear in the chosen video, so that identities line
      up across the videos of a project).
    * In a track, a user-labelled instance wins over a predicted one in the same
      frame. A user instance without a track takes the track of the predicted
      instance it was made from (``from_predicted``); a predicted instance that a
      user instance in the same frame was made from is dropped.
    * Untracked instances: when no instance of the video has a track, the file is
      read as untracked. Each frame's user instances are used if it has any, else
      its predicted instances, filling individuals ``id_0, id_1, ...`` in stored
      order (one individual for single-animal projects). Identities of several
      untracked animals are *not* consistent across frames (a warning says so).
      When the video has tracked instances, untracked instances are dropped (a
      warning gives their number).
    * ``time`` is the real frame index: rows run from frame 0 to the last labelled
      frame, or to the video's last frame when the file records the video's length.
      Frames without labels in between are NaN. With the video's fps (stored in
      the project, or from the video itself with ``open_videos=True``), or with
      ``fps=``, ``time`` is in seconds.
    * ``confidence`` is the point score of predicted instances and NaN for
      user-labelled points. SLEAP scores are not probabilities and can exceed 1;
      they are kept as they are.

Analysis HDF5 (read and write, h5py only)
    Dense arrays ``tracks``, ``point_scores``, ``instance_scores``,
    ``tracking_scores``, ``track_occupancy``, ``track_names``, ``node_names``, ...
    Both the ``"matlab"`` layout (SLEAP's export, ``tracks`` is
    ``(n_tracks, 2, n_nodes, n_frames)``) and sleap-io's ``"standard"`` layout
    (``(n_frames, n_tracks, n_nodes, 2)``) are read; the per-dataset ``dims``
    attribute is honoured when present (files without it are read as ``"matlab"``,
    or as SLEAP's old untransposed layout when the file attribute ``transpose`` is
    false). Row ``i`` is frame ``i`` (the file stores no frame numbers; exports
    made without "all frames" start at the first labelled frame). Empty
    ``track_names`` give individuals ``id_0, ...``. The frame rate is read from
    the ``video_backend_metadata`` file attribute when it holds one.

Legacy labels HDF5 (read)
    SLEAP's labels file before the ``format_id`` attribute existed (the layout of
    ``.slp``: ``frames``, ``instances``, ``points``, ``pred_points``, ``metadata``).
    sleap-io refuses these files; they are read here following SLEAP's own reader
    (``LabelsV1Adaptor``): user points are moved by -0.5 px (they were stored with
    the pixel's corner at 0), predicted points are kept, and there are no
    tracking scores. The skeleton is decoded with sleap-io. The selection rules
    are those of ``.slp``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from behavior.dataset import CORE_DIMS, from_numpy
from behavior.errors import FileFormatError, PoseDataError, require_module
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

logger = logging.getLogger(__name__)

__all__ = ["FRONTEND", "PRESETS", "read", "write"]

#: Stored axis order of ``tracks`` for each analysis-HDF5 preset.
PRESETS: dict[str, tuple[str, ...]] = {
    "matlab": ("track", "xy", "node", "frame"),
    "standard": ("frame", "track", "node", "xy"),
}
# SLEAP's analysis export with ``transpose=False`` (before presets existed)
_UNTRANSPOSED = ("frame", "node", "xy", "track")
_AXES = frozenset(("frame", "track", "node", "xy"))
_SLP_DATASETS = ("frames", "instances", "metadata")

# what h5py raises on a damaged file: OSError at open, RuntimeError, KeyError or
# ValueError from a corrupted B-tree, link or dataspace while reading
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError)


# --------------------------------------------------------------------------- sniff


def sniff(probe: Probe) -> Verdict:
    """Accept SLEAP ``.slp``, legacy labels HDF5 and analysis HDF5 files by content."""
    if not probe.is_hdf5:
        return refuse("not an HDF5 file (SLEAP .slp and analysis .h5 files are HDF5)")
    tree = probe.h5_tree
    if not tree:
        return refuse(f"HDF5 file that could not be opened ({probe.h5_error})")
    pandas_keys = sorted(k for k, attrs in tree.items() if "pandas_type" in attrs)
    if pandas_keys:
        return refuse(
            f"a pandas HDF5 table (key {pandas_keys[0]!r}; DeepLabCut writes these), not SLEAP"
        )
    if "_NCProperties" in tree.get("/", {}) or "position" in tree:
        return refuse("a netCDF-4 file (it has netCDF marks or a 'position' variable), not SLEAP")
    if all(k in tree for k in _SLP_DATASETS) and ("points" in tree or "pred_points" in tree):
        if "format_id" in tree["metadata"]:
            return accept(2.0, "SLEAP labels file (.slp)")
        return accept(2.0, "legacy SLEAP labels HDF5 (v1, no format_id)")
    if "tracks" in tree and "node_names" in tree:
        return accept(2.0, "SLEAP analysis HDF5 (tracks + node_names)")
    if "tracks" in tree:
        return refuse(
            "HDF5 with a 'tracks' object but no 'node_names' dataset: not a SLEAP analysis "
            "file (a DeepLabCut stitched-tracks table or a sleap-anipose points3d.h5?)"
        )
    if "processing" in tree or "acquisition" in tree:
        return refuse("an NWB file, not SLEAP")
    top = sorted(k for k in tree if k != "/" and "/" not in k)[:8]
    return refuse(
        "HDF5 without SLEAP datasets (expected frames/instances/points/metadata for .slp, "
        f"or tracks + node_names for an analysis file); top-level objects: {top}"
    )


# --------------------------------------------------------------------------- read


def read(
    path: str | Path,
    *,
    fps: float | None = None,
    video: int | None = None,
    open_videos: bool = False,
    extra_scores: bool = False,
) -> xr.Dataset:
    """Read a SLEAP ``.slp``, analysis HDF5 or legacy labels HDF5 file.

    The layout is found from the file's content; see the module docstring for
    the rules (user vs predicted instances, untracked instances, time axis).

    Parameters
    ----------
    path
        The SLEAP file.
    fps
        Frames per second; overrides the frame rate stored in the file.
    video
        Index of the video to read in a multi-video ``.slp`` (default 0). Analysis
        files hold one video; passing another index than 0 for them raises.
    open_videos
        ``.slp`` only: let sleap-io open the video files, which gives their frame
        rate and length when the project does not store them (slower).
    extra_scores
        Also return ``instance_score`` and ``tracking_score`` (time, individual)
        variables; :func:`write` stores them back.

    Returns
    -------
    xr.Dataset
        A pose dataset with ``source_software="SLEAP"``.

    Raises
    ------
    FileFormatError
        If the file is not a readable SLEAP file; the message names the file.
    MissingDependencyError
        If a ``.slp`` or legacy file is read without sleap-io installed.

    Examples
    --------
    >>> ds = read("session.analysis.h5", fps=30)  # doctest: +SKIP
    >>> ds = bh.load_poses("project.slp", video=1)  # doctest: +SKIP
    """
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            if "tracks" in f and "node_names" in f:
                if video not in (None, 0):
                    raise PoseDataError(
                        f"video: {path.name} is an analysis HDF5 file, which holds one video; "
                        f"video={video!r} applies to .slp projects only"
                    )
                tracks = _read_analysis(f, path)
                kind = "analysis"
            elif all(k in f for k in _SLP_DATASETS):
                if "format_id" in f["metadata"].attrs:
                    kind = "slp"
                else:
                    tracks = _read_legacy(f, path, 0 if video is None else video)
                    kind = "legacy"
            else:
                raise FileFormatError(
                    f"{path}: expected a SLEAP file (datasets frames/instances/metadata of a "
                    f".slp, or tracks + node_names of an analysis HDF5), found top-level "
                    f"objects {sorted(f.keys())[:10]}"
                )
    except PoseDataError:
        raise
    except _H5_ERRORS as err:  # h5py's errors on a damaged file, at open or read
        raise FileFormatError(
            f"{path}: cannot be read as HDF5 ({type(err).__name__}: {err}); is it truncated "
            "or damaged?"
        ) from err
    if kind == "slp":
        tracks = _read_slp(path, 0 if video is None else video, open_videos)
    return tracks.to_dataset(path, fps, extra_scores)


@dataclass
class _Tracks:
    """Arrays of one SLEAP video in the dataset's axis order."""

    position: np.ndarray  # (frame, xy, node, track)
    confidence: np.ndarray  # (frame, node, track)
    instance_score: np.ndarray  # (frame, track)
    tracking_score: np.ndarray  # (frame, track)
    individuals: list[str]
    keypoints: list[str]
    fps: float | None = None
    video_path: str = ""

    def to_dataset(self, path: Path, fps: float | None, extra_scores: bool) -> xr.Dataset:
        if fps is None:
            fps = self.fps
        ds = from_numpy(
            self.position,
            self.confidence,
            individual_names=self.individuals,
            keypoint_names=self.keypoints,
            fps=fps,
            source_software="SLEAP",
            source_file=str(path),
        )
        if extra_scores:
            ds["instance_score"] = (("time", "individual"), self.instance_score)
            ds["tracking_score"] = (("time", "individual"), self.tracking_score)
        if self.video_path:
            ds.attrs["video_path"] = self.video_path
        return ds


def _unique_names(names: Sequence[str], where: str) -> list[str]:
    """Track names as individual names: empty -> ``track_<i>``, duplicates suffixed."""
    out: list[str] = []
    for i, name in enumerate(names):
        name = str(name) or f"track_{i}"
        if name in out:
            k = 1
            while f"{name}_{k}" in out or f"{name}_{k}" in names:
                k += 1
            logger.warning(
                "%s: track name %r is used twice; renamed to %r", where, name, f"{name}_{k}"
            )
            name = f"{name}_{k}"
        out.append(name)
    return out


def _fps_or_none(value: Any) -> float | None:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return None
    return fps if np.isfinite(fps) and fps > 0 else None


# ---- .slp and legacy: instances -> dense arrays


@dataclass
class _Inst:
    frame: int
    track: int | None
    user: bool
    xy: np.ndarray  # (node, 2)
    score: np.ndarray | None  # (node,) or None for user instances
    instance_score: float
    tracking_score: float
    key: int  # identity of the instance, for from_predicted links
    from_predicted: int | None


def _assemble(
    instances: list[_Inst],
    n_frames: int,
    node_names: list[str],
    track_names: list[str],
    path: Path,
) -> _Tracks:
    """Apply the selection rules of the module docstring to a video's instances."""
    by_key = {inst.key: inst for inst in instances}
    superseded: set[int] = set()
    for inst in instances:
        if inst.user and inst.from_predicted is not None:
            source = by_key.get(inst.from_predicted)
            if source is not None and source.frame == inst.frame:
                superseded.add(source.key)
                if inst.track is None:
                    inst.track = source.track
    kept = [i for i in instances if i.key not in superseded]
    n_nodes = len(node_names)
    tracked = any(i.track is not None for i in kept)

    if tracked:
        individuals = _unique_names(track_names, path.name)
        dropped = sum(i.track is None for i in kept)
        if dropped:
            logger.warning(
                "%s: %d untracked instance(s) dropped; only tracked instances are read "
                "when a video has tracks",
                path.name,
                dropped,
            )
        # predicted first, then user instances overwrite them in the same track
        slots = [(i, i.track) for i in sorted(kept, key=lambda i: i.user) if i.track is not None]
    else:
        per_frame: dict[int, list[_Inst]] = {}
        for inst in kept:
            per_frame.setdefault(inst.frame, []).append(inst)
        slots = []
        n_ind = 1
        for group in per_frame.values():
            chosen = [i for i in group if i.user] or group
            slots.extend((inst, j) for j, inst in enumerate(chosen))
            n_ind = max(n_ind, len(chosen))
        if n_ind > 1:
            logger.warning(
                "%s: up to %d untracked instances per frame; they fill individuals id_0.."
                "id_%d in stored order, so identities are not consistent across frames",
                path.name,
                n_ind,
                n_ind - 1,
            )
        individuals = [f"id_{j}" for j in range(n_ind)]

    n_ind = len(individuals)
    position = np.full((n_frames, 2, n_nodes, n_ind), np.nan)
    confidence = np.full((n_frames, n_nodes, n_ind), np.nan)
    instance_score = np.full((n_frames, n_ind), np.nan)
    tracking_score = np.full((n_frames, n_ind), np.nan)
    for inst, j in slots:
        if inst.xy.shape != (n_nodes, 2):
            raise FileFormatError(
                f"{path}: an instance in frame {inst.frame} has {inst.xy.shape[0]} points, "
                f"expected {n_nodes} (one per skeleton node)"
            )
        position[inst.frame, :, :, j] = inst.xy.T
        confidence[inst.frame, :, j] = np.nan if inst.score is None else inst.score
        instance_score[inst.frame, j] = inst.instance_score
        tracking_score[inst.frame, j] = inst.tracking_score
    return _Tracks(position, confidence, instance_score, tracking_score, individuals, node_names)


def _check_video_index(video: Any, n_videos: int, names: list[str], path: Path) -> int:
    if isinstance(video, bool) or not isinstance(video, int | np.integer):
        raise PoseDataError(f"video: expected an integer index, found {video!r}")
    if not 0 <= video < n_videos:
        raise PoseDataError(
            f"video: {path.name} has {n_videos} video(s) {names}; index {video} is out of range"
        )
    return int(video)


def _read_slp(path: Path, video: int, open_videos: bool) -> _Tracks:
    sio = require_module("sleap_io", "sleap", "Reading SLEAP .slp files")
    try:
        labels = sio.load_slp(str(path), open_videos=open_videos)
    except Exception as err:
        raise FileFormatError(
            f"{path}: sleap-io cannot read this SLEAP .slp file ({type(err).__name__}: {err})"
        ) from err
    names = [str(v.filename) for v in labels.videos]
    index = _check_video_index(video, len(labels.videos), names, path)
    vid = labels.videos[index]
    frames = [lf for lf in labels.labeled_frames if lf.video is vid]
    if not frames:
        raise FileFormatError(f"{path}: video {index} ({names[index]}) has no labelled frames")
    track_index = {id(t): i for i, t in enumerate(labels.tracks)}
    skeletons = {id(inst.skeleton): inst.skeleton for lf in frames for inst in lf.instances}
    if len(skeletons) > 1:
        raise FileFormatError(
            f"{path}: video {index} uses {len(skeletons)} skeletons; expected one "
            f"(found {[s.name for s in skeletons.values()]})"
        )
    skeleton = next(iter(skeletons.values())) if skeletons else labels.skeletons[-1]

    instances: list[_Inst] = []
    for lf in frames:
        for inst in lf.instances:
            user = type(inst).__name__ == "Instance"
            if user:
                xy = np.asarray(inst.numpy(), dtype=np.float64)
                score = None
            else:
                arr = np.asarray(inst.numpy(scores=True), dtype=np.float64)
                xy, score = arr[:, :2], arr[:, 2]
            link = getattr(inst, "from_predicted", None)
            tracking = getattr(inst, "tracking_score", None)
            track = None if inst.track is None else track_index.get(id(inst.track))
            instances.append(
                _Inst(
                    frame=int(lf.frame_idx),
                    track=track,
                    user=user,
                    xy=xy,
                    score=score,
                    instance_score=np.nan if user else float(inst.score),
                    tracking_score=np.nan if tracking is None else float(tracking),
                    key=id(inst),
                    from_predicted=None if link is None else id(link),
                )
            )
    n_frames = max(int(lf.frame_idx) for lf in frames) + 1
    with contextlib.suppress(Exception):  # the length is unknown without the video file
        n_frames = max(n_frames, len(vid))
    tracks = _assemble(
        instances, n_frames, list(skeleton.node_names), [t.name for t in labels.tracks], path
    )
    try:
        tracks.fps = _fps_or_none(vid.fps)
    except Exception:
        tracks.fps = None
    tracks.video_path = names[index]
    return tracks


def _read_legacy(f: Any, path: Path, video: int) -> _Tracks:
    """Read SLEAP's labels HDF5 written before ``format_id`` (see the module docstring)."""
    require_module("sleap_io", "sleap", "Reading legacy SLEAP labels HDF5 files")
    needed = ("frames", "instances", "points", "pred_points", "tracks_json", "videos_json")
    missing = [k for k in needed if k not in f]
    if missing:
        raise FileFormatError(
            f"{path}: a legacy SLEAP labels HDF5 (no format_id) missing {missing}; open it in "
            "SLEAP and save it as .slp, or export an analysis HDF5 (File > Export Analysis HDF5)"
        )
    try:
        from sleap_io.io.slp import read_skeletons

        skeletons = read_skeletons(str(path))
    except Exception as err:
        raise FileFormatError(
            f"{path}: the skeleton of this legacy SLEAP labels HDF5 (no format_id) cannot be "
            f"decoded ({type(err).__name__}: {err}); open it in SLEAP and save it as .slp"
        ) from err
    videos = [json.loads(v) for v in f["videos_json"][:]]
    names = [str(v.get("backend", {}).get("filename", "")) for v in videos]
    index = _check_video_index(video, len(videos), names, path)
    track_names = [str(json.loads(t)[1]) for t in f["tracks_json"][:]]
    frames = f["frames"][:]
    frames = frames[frames["video"] == index]
    if frames.size == 0:
        raise FileFormatError(f"{path}: video {index} ({names[index]}) has no labelled frames")
    rows = f["instances"][:]
    points = f["points"][:]
    pred_points = f["pred_points"][:]

    used = {
        int(rows["skeleton"][k])
        for fr in frames
        for k in range(int(fr["instance_id_start"]), int(fr["instance_id_end"]))
    }
    if len(used) > 1:
        raise FileFormatError(f"{path}: video {index} uses {len(used)} skeletons; expected one")
    skeleton = skeletons[used.pop() if used else -1]

    instances: list[_Inst] = []
    for fr in frames:
        for k in range(int(fr["instance_id_start"]), int(fr["instance_id_end"])):
            row = rows[k]
            user = int(row["instance_type"]) == 0
            start, end = int(row["point_id_start"]), int(row["point_id_end"])
            pts = (points if user else pred_points)[start:end]
            xy = np.stack([pts["x"], pts["y"]], axis=1).astype(np.float64)
            xy[~pts["visible"].astype(bool)] = np.nan
            if user:
                xy -= 0.5  # v1 stored user points with the pixel's corner at (0, 0)
            track = int(row["track"])
            link = int(row["from_predicted"])
            instances.append(
                _Inst(
                    frame=int(fr["frame_idx"]),
                    track=track if track >= 0 else None,
                    user=user,
                    xy=xy,
                    score=None if user else np.asarray(pts["score"], dtype=np.float64),
                    instance_score=np.nan if user else float(row["score"]),
                    tracking_score=np.nan,
                    key=k,
                    from_predicted=link if link >= 0 else None,
                )
            )
    n_frames = int(frames["frame_idx"].max()) + 1
    tracks = _assemble(instances, n_frames, list(skeleton.node_names), track_names, path)
    tracks.video_path = names[index]
    return tracks


# ---- analysis HDF5


def _text(value: Any) -> str:
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


def _stored_dims(dataset: Any, default: tuple[str, ...], path: Path) -> tuple[str, ...]:
    """The axis names of ``dataset``: its ``dims`` attribute, else ``default``."""
    raw = dataset.attrs.get("dims")
    if raw is None:
        dims = default
    else:
        try:
            dims = tuple(str(d) for d in json.loads(_text(raw)))
        except (TypeError, ValueError) as err:
            raise FileFormatError(
                f"{path}: the 'dims' attribute of {dataset.name!r} is not a JSON list ({raw!r})"
            ) from err
    if len(dims) != dataset.ndim or len(set(dims)) != len(dims) or not set(dims) <= _AXES:
        raise FileFormatError(
            f"{path}: {dataset.name!r} has shape {dataset.shape} but its axes are {list(dims)}; "
            f"expected {dataset.ndim} distinct names among {sorted(_AXES)}"
        )
    return dims


def _reorder(data: np.ndarray, stored: tuple[str, ...], target: tuple[str, ...]) -> np.ndarray:
    return np.transpose(data, [stored.index(d) for d in target])


def _read_analysis(f: Any, path: Path) -> _Tracks:
    import h5py

    tracks_ds = f["tracks"]
    if not isinstance(tracks_ds, h5py.Dataset) or tracks_ds.ndim != 4:
        found = f"shape {tracks_ds.shape}" if isinstance(tracks_ds, h5py.Dataset) else "a group"
        raise FileFormatError(
            f"{path}: expected 'tracks' to be a 4-D array (tracks, xy, nodes, frames in the "
            f"matlab layout), found {found}"
        )
    if "dims" in tracks_ds.attrs:
        order = _stored_dims(tracks_ds, PRESETS["matlab"], path)
    elif _text(f.attrs.get("preset", "matlab")) == "standard":
        order = PRESETS["standard"]
    elif "transpose" in f.attrs and not bool(f.attrs["transpose"]):
        order = _UNTRANSPOSED
    else:
        order = PRESETS["matlab"]
    sizes = dict(zip(order, tracks_ds.shape, strict=True))
    if sizes["xy"] != 2:
        raise FileFormatError(
            f"{path}: 'tracks' has shape {tracks_ds.shape}, read with axes {list(order)}; the "
            f"'xy' axis has {sizes['xy']} entries, expected 2. Is the layout (dims/preset) wrong?"
        )
    if sizes["frame"] == 0:
        raise FileFormatError(
            f"{path}: 'tracks' has shape {tracks_ds.shape} (axes {list(order)}): no frames; "
            "expected at least one frame"
        )
    node_names = [_text(n) for n in f["node_names"][()].reshape(-1)]
    if len(node_names) != sizes["node"]:
        raise FileFormatError(
            f"{path}: 'node_names' has {len(node_names)} names but 'tracks' has {sizes['node']} "
            f"nodes (shape {tracks_ds.shape}, axes {list(order)})"
        )
    track_names = [_text(n) for n in f["track_names"][()].reshape(-1)] if "track_names" in f else []
    if track_names and len(track_names) != sizes["track"]:
        raise FileFormatError(
            f"{path}: 'track_names' has {len(track_names)} names but 'tracks' has "
            f"{sizes['track']} tracks (shape {tracks_ds.shape}, axes {list(order)})"
        )

    def scores(name: str, drop: tuple[str, ...], target: tuple[str, ...]) -> np.ndarray:
        shape = tuple(sizes[d] for d in target)
        if name not in f:
            return np.full(shape, np.nan)
        ds = f[name]
        stored = _stored_dims(ds, tuple(d for d in order if d not in drop), path)
        expected = tuple(sizes[d] for d in stored)
        if ds.shape != expected:
            raise FileFormatError(
                f"{path}: {name!r} has shape {ds.shape}, expected {expected} (axes "
                f"{list(stored)}) to match 'tracks' {tracks_ds.shape}"
            )
        return _reorder(np.asarray(ds[()], dtype=np.float64), stored, target)

    position = _reorder(
        np.asarray(tracks_ds[()], dtype=np.float64), order, ("frame", "xy", "node", "track")
    )
    tracks = _Tracks(
        position=position,
        confidence=scores("point_scores", ("xy",), ("frame", "node", "track")),
        instance_score=scores("instance_scores", ("xy", "node"), ("frame", "track")),
        tracking_score=scores("tracking_scores", ("xy", "node"), ("frame", "track")),
        individuals=(
            _unique_names(track_names, path.name)
            if track_names
            else [f"id_{j}" for j in range(sizes["track"])]
        ),
        keypoints=node_names,
    )
    meta = f.attrs.get("video_backend_metadata")
    if meta is not None:
        try:
            tracks.fps = _fps_or_none(json.loads(_text(meta)).get("fps"))
        except (ValueError, AttributeError):
            tracks.fps = None
    if "video_path" in f:
        tracks.video_path = _text(f["video_path"][()])
    return tracks


# --------------------------------------------------------------------------- write


def write(
    ds: xr.Dataset,
    path: str | Path,
    *,
    preset: str = "matlab",
    edges: Sequence[tuple[str, str]] | None = None,
    video_path: str | None = None,
    labels_path: str | None = None,
) -> None:
    """Write a 2D pose dataset as a SLEAP analysis HDF5 file.

    The file has SLEAP's datasets (``tracks``, ``track_occupancy``,
    ``point_scores``, ``instance_scores``, ``tracking_scores``, ``track_names``,
    ``node_names``, ``edge_names``, ``edge_inds``, ``labels_path``,
    ``video_path``, ``video_ind``, ``provenance``), a ``dims`` attribute on each
    array and the file attributes ``format="analysis"`` and ``preset``, as
    sleap-io writes them; SLEAP, sleap-io and :func:`read` load it back. Row
    ``i`` is frame ``i``: a dataset that starts after frame 0 is padded with NaN
    rows before its first frame. The frame rate goes to the
    ``video_backend_metadata`` attribute. ``instance_score`` /
    ``tracking_score`` variables (from ``read(..., extra_scores=True)``) are
    written when present, else NaN.

    Parameters
    ----------
    ds
        A pose dataset with ``space = [x, y]`` (no ``ensemble`` dim).
    path
        Output file (``save_poses`` passes a temporary path and renames it).
    preset
        ``"matlab"`` (SLEAP's layout, ``tracks`` is ``(n_tracks, 2, n_nodes,
        n_frames)``) or ``"standard"`` (``(n_frames, n_tracks, n_nodes, 2)``).
    edges
        Skeleton edges as pairs of keypoint names; empty when not given.
    video_path, labels_path
        Stored as metadata. Default: ``attrs["video_path"]`` and the source
        ``.slp`` file when the dataset came from one, else empty.

    Raises
    ------
    PoseDataError
        For 3D data, an ``ensemble`` dim, an unknown preset or edge name, or a
        ``time`` that is not whole frame numbers.

    Examples
    --------
    >>> bh.save_poses(ds, "session.analysis.h5", preset="standard")  # doctest: +SKIP
    """
    from behavior import __version__
    from behavior.io.registry import hdf5_in_memory

    if Path(path).name.lower().endswith(".slp"):
        raise PoseDataError(
            f"{Path(path).name}: writing SLEAP .slp projects is not supported; write an "
            "analysis HDF5 instead (suffix .analysis.h5), which SLEAP and sleap-io read"
        )
    if preset not in PRESETS:
        raise PoseDataError(f"preset: expected one of {sorted(PRESETS)}, found {preset!r}")
    position = ds["position"]
    extra = [d for d in position.dims if d not in CORE_DIMS]
    if extra:
        raise PoseDataError(
            f"position: a SLEAP analysis file holds one set of tracks; found extra dims {extra}. "
            "Select one member first, e.g. ds.isel(ensemble=0)"
        )
    space = [str(s) for s in ds["space"].values]
    if space != ["x", "y"]:
        raise PoseDataError(f"space: a SLEAP analysis file holds 2D (x, y) tracks, found {space}")
    frames = _frame_numbers(ds)
    n_frames = int(frames[-1]) + 1
    keypoints = [str(k) for k in ds["keypoint"].values]
    individuals = [str(i) for i in ds["individual"].values]
    n_kp, n_ind = len(keypoints), len(individuals)

    # canonical (frame, track, node, xy) arrays, NaN on frames the dataset lacks
    tracks = np.full((n_frames, n_ind, n_kp, 2), np.nan)
    tracks[frames] = position.transpose("time", "individual", "keypoint", "space").values
    point_scores = np.full((n_frames, n_ind, n_kp), np.nan)
    if "confidence" in ds:
        point_scores[frames] = ds["confidence"].transpose("time", "individual", "keypoint").values
    per_track = {}
    for name in ("instance_score", "tracking_score"):
        values = np.full((n_frames, n_ind), np.nan)
        if name in ds and set(ds[name].dims) == {"time", "individual"}:
            values[frames] = ds[name].transpose("time", "individual").values
        per_track[name] = values
    occupancy = np.any(~np.isnan(tracks), axis=(2, 3)).astype(np.uint8)

    order = PRESETS[preset]
    canonical = ("frame", "track", "node", "xy")
    order3 = tuple(d for d in order if d != "xy")
    order2 = tuple(d for d in order if d in ("frame", "track"))
    # SLEAP's matlab export keeps track_occupancy as (frame, track)
    order_occ = ("frame", "track") if preset == "matlab" else order2

    edge_pairs = [(str(a), str(b)) for a, b in (edges or [])]
    unknown = sorted({n for pair in edge_pairs for n in pair} - set(keypoints))
    if unknown:
        raise PoseDataError(f"edges: keypoints {unknown} are not in the dataset ({keypoints})")
    source = str(ds.attrs.get("source_file", ""))
    if labels_path is None:
        labels_path = source if source.lower().endswith(".slp") else ""
    if video_path is None:
        video_path = str(ds.attrs.get("video_path", ""))
    provenance = {
        "written_by": f"behavior {__version__}",
        "source_software": ds.attrs.get("source_software", "unknown"),
        "source_file": source,
    }

    with hdf5_in_memory(path) as f:  # HDF5 never meets a full disk; see hdf5_in_memory

        def array(name: str, data: np.ndarray, dims: tuple[str, ...]) -> None:
            out = f.create_dataset(name, data=data, compression="gzip", compression_opts=4)
            out.attrs["dims"] = json.dumps(list(dims))

        array("tracks", _reorder(tracks, canonical, order), order)
        array("track_occupancy", _reorder(occupancy, ("frame", "track"), order_occ), order_occ)
        array("point_scores", _reorder(point_scores, canonical[:3], order3), order3)
        for name, key in (
            ("instance_scores", "instance_score"),
            ("tracking_scores", "tracking_score"),
        ):
            array(name, _reorder(per_track[key], ("frame", "track"), order2), order2)
        f.create_dataset("track_names", data=_bytes(individuals))
        f.create_dataset("node_names", data=_bytes(keypoints))
        f.create_dataset(
            "edge_names",
            data=np.array([[a.encode(), b.encode()] for a, b in edge_pairs], dtype="S")
            if edge_pairs
            else np.zeros((0, 2), dtype="S1"),
        )
        f.create_dataset(
            "edge_inds",
            data=np.array(
                [[keypoints.index(a), keypoints.index(b)] for a, b in edge_pairs], dtype=np.int64
            ).reshape(-1, 2),
        )
        f.create_dataset("labels_path", data=labels_path)
        f.create_dataset("video_path", data=video_path)
        f.create_dataset("video_ind", data=0)
        f.create_dataset("provenance", data=json.dumps(provenance))
        f.attrs["format"] = "analysis"
        f.attrs["preset"] = preset
        f.attrs["behavior_version"] = __version__
        f.attrs["skeleton_name"] = ""
        f.attrs["skeleton_symmetries"] = "[]"
        fps = _fps_or_none(ds.attrs.get("fps"))
        f.attrs["video_backend_metadata"] = json.dumps({} if fps is None else {"fps": fps})


def _bytes(names: list[str]) -> np.ndarray:
    return np.array([n.encode("utf-8") for n in names], dtype="S")


def _frame_numbers(ds: xr.Dataset) -> np.ndarray:
    """Whole frame numbers of ``ds.time`` (via ``fps`` when time is in seconds)."""
    time = np.asarray(ds["time"].values, dtype=np.float64)
    if ds.attrs.get("time_unit", "seconds") == "frames":
        frames = time
    else:
        fps = _fps_or_none(ds.attrs.get("fps"))
        if fps is None:
            raise PoseDataError(
                "time: in seconds but attrs['fps'] is missing; a SLEAP analysis file stores one "
                "row per video frame, so the frame rate is needed to place each row"
            )
        frames = time * fps
    whole = np.round(frames)
    if np.any(np.abs(frames - whole) > 1e-3) or np.any(whole < 0):
        bad = int(np.flatnonzero((np.abs(frames - whole) > 1e-3) | (whole < 0))[0])
        raise PoseDataError(
            f"time: a SLEAP analysis file stores one row per video frame, but time "
            f"{time[bad]!r} is frame {frames[bad]:.4f}, not a whole frame number >= 0. "
            "Resample or set time to frame / fps first"
        )
    return whole.astype(np.int64)


FRONTEND = Frontend(
    name="sleap",
    description="SLEAP .slp projects (via sleap-io), analysis HDF5 (read/write), legacy HDF5",
    suffixes=(".slp", ".analysis.h5", ".h5"),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("SLEAP",),
)
