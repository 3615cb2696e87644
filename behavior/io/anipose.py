"""Anipose and sleap-anipose 3D poses: triangulation CSV and ``points3d.h5`` (read only).

Anipose triangulation CSV (``pose-3d/<video>.csv``)
    One header row and one row per frame. For each bodypart ``bp``, in the file's
    order, six columns ``bp_x, bp_y, bp_z, bp_error, bp_ncams, bp_score``; then
    the coordinate-frame alignment ``M_00 .. M_22`` and ``center_0 .. center_2``
    (constant per file) and ``fnum``, the frame number.

    * Keypoints keep the file's order (movement sorts them alphabetically).
    * ``position`` holds x, y, z; ``confidence`` is ``bp_score`` (the lowest 2D
      score over the cameras used; NaN where triangulation was not possible).
    * ``bp_error`` (mean reprojection error, pixels) and ``bp_ncams`` (cameras
      used) are kept as the variables ``reprojection_error`` and ``n_cameras``
      with dims (time, keypoint, individual), useful for filtering.
    * ``time`` is ``fnum`` (frames), or ``fnum / fps`` seconds with ``fps=``.
    * One individual, named ``id_0`` as movement names it.
    * The alignment (``M`` as a 3x3 list and ``center``) is kept in
      ``attrs["anipose_alignment"]`` as a JSON string.

sleap-anipose ``points3d.h5``
    An HDF5 file with one dataset ``tracks`` of shape
    ``(n_frames, n_tracks, n_nodes, 3)`` and, in newer versions, ``frames``
    (the triangulated ``[start, stop)`` frame range). sleap-anipose's
    ``reprojections.h5`` (same layout, last axis 2) reads the same way, as 2D.
    The file has no names; the rule is:

    1. ``keypoint_names=`` / ``individual_names=`` when given;
    2. else the ``node_names`` / ``track_names`` of the SLEAP files the points
       were triangulated from: ``*.analysis.h5`` (then ``*.slp``, when sleap-io
       is installed) in the file's folder and its sub-folders (the camera views;
       only the views named in the ``tracks`` description when it names them).
       Files whose node count differs are ignored; files that disagree on the
       names raise;
    3. else ``keypoint_0, ...`` and ``id_0, ...`` (with a warning).

    There is no confidence (NaN). ``time`` counts frames from ``frames[0]`` (or 0).

Both are in the calibration's units (those of the board's square length, often
mm): ``space_unit`` is ``"calibration units"`` unless ``space_unit=`` says which.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from behavior.dataset import from_numpy
from behavior.errors import FileFormatError, PoseDataError
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

logger = logging.getLogger(__name__)

__all__ = ["FRONTEND", "read"]

_FIELDS = ("x", "y", "z", "error", "ncams", "score")
_DEFAULT_UNIT = "calibration units"

# what h5py raises on a damaged file: OSError at open, RuntimeError, KeyError or
# ValueError from a corrupted B-tree, link or dataspace while reading
_H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError)


# --------------------------------------------------------------------------- sniff


def _header(line: str) -> list[str]:
    return [c.strip().strip('"') for c in line.split(",")]


def _bodyparts(columns: Sequence[str], fields: Sequence[str] = ("x", "y", "z")) -> list[str]:
    """Bodyparts ``bp`` with a ``bp_<field>`` column for every field, in column order."""
    present = set(columns)
    return [
        c[:-2]
        for c in columns
        if c.endswith("_x") and len(c) > 2 and all(f"{c[:-2]}_{f}" in present for f in fields)
    ]


def sniff(probe: Probe) -> Verdict:
    """Accept Anipose triangulation CSVs and sleap-anipose ``points3d.h5`` files by content."""
    if probe.is_hdf5:
        return _sniff_h5(probe)
    lines = probe.lines(2)
    if not lines:
        return refuse("neither a text CSV nor an HDF5 file")
    header = _header(lines[0])
    if header[0] in ("scorer", "individuals", "bodyparts"):
        return refuse(f"a DeepLabCut-style CSV (first header cell {header[0]!r}), not Anipose")
    if "fnum" in header and _bodyparts(header, _FIELDS):
        return accept(2.0, "Anipose triangulation CSV")
    return refuse(
        "CSV header lacks Anipose's pattern: per bodypart bp_x,bp_y,bp_z,bp_error,bp_ncams,"
        f"bp_score and an fnum column (header starts {header[:4]})"
    )


def _sniff_h5(probe: Probe) -> Verdict:
    tree = probe.h5_tree
    if not tree:
        return refuse(f"HDF5 file that could not be opened ({probe.h5_error})")
    pandas_keys = sorted(k for k, attrs in tree.items() if "pandas_type" in attrs)
    if pandas_keys:
        return refuse(
            f"a pandas HDF5 table (key {pandas_keys[0]!r}; DeepLabCut writes these), "
            "not sleap-anipose"
        )
    if "_NCProperties" in tree.get("/", {}) or "position" in tree:
        return refuse("a netCDF-4 file, not sleap-anipose")
    if "instances" in tree and "metadata" in tree:
        return refuse("a SLEAP labels file (.slp), not sleap-anipose points3d")
    if "node_names" in tree or "track_occupancy" in tree:
        return refuse("a SLEAP analysis HDF5 (it has node_names/track_occupancy), not points3d")
    if "processing" in tree or "acquisition" in tree:
        return refuse("an NWB file, not sleap-anipose")
    if "tracks" not in tree:
        return refuse("HDF5 without a 'tracks' dataset (sleap-anipose points3d.h5 has one)")
    import h5py

    with h5py.File(probe.path, "r") as f:
        tracks = f["tracks"]
        if not isinstance(tracks, h5py.Dataset):
            return refuse("'tracks' is a group (a pandas/DeepLabCut table), not a points array")
        if tracks.ndim != 4 or tracks.shape[-1] not in (2, 3):
            return refuse(
                f"'tracks' has shape {tracks.shape}; sleap-anipose writes "
                "(n_frames, n_tracks, n_nodes, 3)"
            )
    return accept(1.5, "sleap-anipose points HDF5 (tracks of shape (frames, tracks, nodes, 3))")


# --------------------------------------------------------------------------- read


def read(
    path: str | Path,
    *,
    fps: float | None = None,
    keypoint_names: Sequence[str] | None = None,
    individual_names: Sequence[str] | None = None,
    space_unit: str = _DEFAULT_UNIT,
) -> xr.Dataset:
    """Read an Anipose triangulation CSV or a sleap-anipose ``points3d.h5``.

    Parameters
    ----------
    path
        The file; its content decides which layout is read.
    fps
        Frames per second; without it ``time`` counts frames.
    keypoint_names, individual_names
        Names for ``points3d.h5``, which stores none (see the module docstring
        for where they come from otherwise). For a CSV, ``individual_names``
        renames the one individual and ``keypoint_names`` is not allowed.
    space_unit
        Unit of the positions, e.g. ``"mm"``; default ``"calibration units"``.

    Returns
    -------
    xr.Dataset
        A 3D pose dataset; CSVs add ``reprojection_error`` and ``n_cameras``.

    Raises
    ------
    FileFormatError
        If the file does not have the expected columns or arrays.

    Examples
    --------
    >>> ds = bh.load_poses("pose-3d/session1.csv", fps=100)  # doctest: +SKIP
    >>> ds.n_cameras.sel(keypoint="nose").min()  # doctest: +SKIP
    """
    path = Path(path)
    with open(path, "rb") as fh:
        is_hdf5 = fh.read(8) == b"\x89HDF\r\n\x1a\n"
    if is_hdf5:
        return _read_points3d(path, fps, keypoint_names, individual_names, space_unit)
    if keypoint_names is not None:
        raise PoseDataError(
            f"keypoint_names: {path.name} is an Anipose CSV, whose header names the keypoints"
        )
    return _read_csv(path, fps, individual_names, space_unit)


def _read_csv(
    path: Path, fps: float | None, individual_names: Sequence[str] | None, space_unit: str
) -> xr.Dataset:
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise FileFormatError(f"{path}: cannot be read as a CSV table ({err})") from err
    columns = [str(c) for c in table.columns]
    bodyparts = _bodyparts(columns)
    if not bodyparts:
        raise FileFormatError(
            f"{path}: expected Anipose columns bp_x, bp_y, bp_z (and bp_error, bp_ncams, "
            f"bp_score) per bodypart, found columns {columns[:8]}"
        )
    if len(table) == 0:
        raise FileFormatError(f"{path}: the Anipose CSV has a header but no frames")

    def block(field: str) -> np.ndarray:
        names = [f"{bp}_{field}" for bp in bodyparts]
        if not all(n in table for n in names):
            logger.warning("%s: no %r columns; stored as NaN", path.name, field)
            return np.full((len(table), len(bodyparts)), np.nan)
        values = table[names].apply(pd.to_numeric, errors="coerce")
        return values.to_numpy(dtype=np.float64)

    position = np.stack([block(axis) for axis in ("x", "y", "z")], axis=1)  # (t, space, kp)
    if "fnum" in table:
        fnum = pd.to_numeric(table["fnum"], errors="coerce").to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(fnum)) or np.any(fnum != np.round(fnum)):
            raise FileFormatError(f"{path}: the 'fnum' column must hold whole frame numbers")
        if fnum.size > 1 and np.any(np.diff(fnum) <= 0):
            bad = int(np.flatnonzero(np.diff(fnum) <= 0)[0])
            raise FileFormatError(
                f"{path}: 'fnum' must increase, found {int(fnum[bad])} then "
                f"{int(fnum[bad + 1])} on data rows {bad + 1} and {bad + 2}"
            )
    else:
        logger.warning("%s: no 'fnum' column; frames are numbered from 0", path.name)
        fnum = np.arange(len(table), dtype=np.float64)

    ds = from_numpy(
        position,
        block("score"),
        individual_names=_one_individual(individual_names),
        keypoint_names=bodyparts,
        fps=fps,
        time=None if fps is None else fnum / float(fps),
        source_software="Anipose",
        source_file=str(path),
        space_unit=space_unit,
    )
    if fps is None:
        ds = ds.assign_coords(time=fnum)
    dims = ("time", "keypoint", "individual")
    ds["reprojection_error"] = (dims, block("error")[..., np.newaxis])
    ds["n_cameras"] = (dims, block("ncams")[..., np.newaxis])
    ds["reprojection_error"].attrs["description"] = "mean reprojection error (pixels)"
    ds["n_cameras"].attrs["description"] = "number of cameras used to triangulate"
    alignment = _alignment(table)
    if alignment is not None:
        ds.attrs["anipose_alignment"] = alignment
    return ds


def _one_individual(names: Sequence[str] | None) -> list[str]:
    if names is None:
        return ["id_0"]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != 1:
        raise PoseDataError(
            f"individual_names: an Anipose CSV holds one animal; expected 1 name, found {names}"
        )
    return [str(names[0])]


def _alignment(table: Any) -> str | None:
    rotation = [f"M_{i}{j}" for i in range(3) for j in range(3)]
    center = [f"center_{i}" for i in range(3)]
    if not all(c in table for c in (*rotation, *center)):
        return None
    first = table.iloc[0]
    return json.dumps(
        {
            "rotation": [[float(first[f"M_{i}{j}"]) for j in range(3)] for i in range(3)],
            "center": [float(first[c]) for c in center],
        }
    )


def _read_points3d(
    path: Path,
    fps: float | None,
    keypoint_names: Sequence[str] | None,
    individual_names: Sequence[str] | None,
    space_unit: str,
) -> xr.Dataset:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if "tracks" not in f or not isinstance(f["tracks"], h5py.Dataset):
                raise FileFormatError(
                    f"{path}: expected a sleap-anipose HDF5 with a 'tracks' dataset, found "
                    f"top-level objects {sorted(f.keys())[:10]}"
                )
            tracks_ds = f["tracks"]
            if tracks_ds.ndim != 4 or tracks_ds.shape[-1] not in (2, 3):
                raise FileFormatError(
                    f"{path}: expected 'tracks' of shape (n_frames, n_tracks, n_nodes, 3), "
                    f"found shape {tracks_ds.shape}"
                )
            tracks = np.asarray(tracks_ds[()], dtype=np.float64)
            description = str(tracks_ds.attrs.get("Description", ""))
            start = 0
            if "frames" in f:
                frame_range = np.asarray(f["frames"][()]).reshape(-1)
                if frame_range.size >= 1:
                    start = int(frame_range[0])
    except PoseDataError:
        raise
    except _H5_ERRORS as err:  # h5py's errors on a damaged file, at open or read
        raise FileFormatError(
            f"{path}: cannot be read as HDF5 ({type(err).__name__}: {err}); is it truncated "
            "or damaged?"
        ) from err
    n_frames, n_tracks, n_nodes, _ = tracks.shape
    found_kp, found_ind, origin = None, None, ""
    if keypoint_names is None:
        found_kp, found_ind, origin = _names_from_sleap(path, description, n_nodes)
    elif individual_names is None:
        with contextlib.suppress(FileFormatError):  # names disagree: only tracks are wanted
            _, found_ind, origin = _names_from_sleap(path, description, n_nodes)
    if keypoint_names is None:
        keypoint_names = found_kp
    if individual_names is None and found_ind is not None and len(found_ind) == n_tracks:
        individual_names = found_ind
    if keypoint_names is None:
        logger.warning(
            "%s: no keypoint names (no matching SLEAP file beside it); using keypoint_0.. "
            "Pass keypoint_names= to name them",
            path.name,
        )
    elif origin:
        logger.info("%s: keypoint names from %s", path.name, origin)
    frames = start + np.arange(n_frames, dtype=np.float64)
    ds = from_numpy(
        tracks.transpose(0, 3, 2, 1),
        None,
        individual_names=individual_names,
        keypoint_names=keypoint_names,
        fps=fps,
        time=None if fps is None else frames / float(fps),
        source_software="sleap-anipose",
        source_file=str(path),
        space_unit=space_unit,
    )
    if fps is None:
        ds = ds.assign_coords(time=frames)
    return ds


def _views(path: Path, description: str) -> list[Path]:
    """The folders to search for SLEAP files: the file's folder and its camera views."""
    folder = path.parent
    named: list[str] | None = None
    if "Camera views used:" in description:
        try:
            named = [
                str(v) for v in ast.literal_eval(description.split("Camera views used:")[1].strip())
            ]
        except (ValueError, SyntaxError):
            named = None
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir())
    if named is not None:
        subfolders = [p for p in subfolders if p.name in named]
    return [folder, *subfolders]


def _names_from_sleap(
    path: Path, description: str, n_nodes: int
) -> tuple[list[str] | None, list[str] | None, str]:
    """Node and track names from the SLEAP files beside ``path`` (see the module docstring)."""
    import h5py

    found: list[tuple[list[str], list[str], Path]] = []
    folders = _views(path, description)
    for folder in folders:
        for candidate in sorted(folder.glob("*.analysis.h5")):
            try:
                with h5py.File(candidate, "r") as f:
                    nodes = [_text(n) for n in f["node_names"][()].reshape(-1)]
                    tracks = [_text(n) for n in f["track_names"][()].reshape(-1)]
            except (OSError, KeyError):
                continue
            if len(nodes) == n_nodes:
                found.append((nodes, tracks, candidate))
    if not found:
        found = _names_from_slp(folders, n_nodes)
    if not found:
        return None, None, ""
    nodes, tracks, origin = found[0]
    for other_nodes, _, other in found[1:]:
        if other_nodes != nodes:
            raise FileFormatError(
                f"{path}: the SLEAP files beside it disagree on the keypoint names "
                f"({origin.name}: {nodes}; {other.name}: {other_nodes}). "
                "Pass keypoint_names= to choose"
            )
    return nodes, tracks or None, str(origin)


def _names_from_slp(folders: list[Path], n_nodes: int) -> list[tuple[list[str], list[str], Path]]:
    try:
        import sleap_io
    except ImportError:
        return []
    found = []
    for folder in folders:
        for candidate in sorted(folder.glob("*.slp")):
            try:
                labels = sleap_io.load_slp(str(candidate), open_videos=False)
            except Exception:  # not readable: not the file the points came from
                continue
            if labels.skeletons and len(labels.skeletons[-1].node_names) == n_nodes:
                tracks = [t.name for t in labels.tracks]
                found.append((list(labels.skeletons[-1].node_names), tracks, candidate))
    return found


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes | np.bytes_) else str(value)


FRONTEND = Frontend(
    name="anipose",
    description="Anipose triangulation CSV and sleap-anipose points3d.h5 (3D, read only)",
    suffixes=(".csv", ".h5"),
    sniff=sniff,
    read=read,
    write=None,
    aliases=("Anipose",),
)
