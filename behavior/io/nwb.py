"""NWB files with ndx-pose pose estimates (``.nwb``), read and written.

Layout (FORMATS.md section 5): ``processing/<module>/<PoseEstimation>`` holds one
``PoseEstimationSeries`` per keypoint (``data`` (frames, 2|3), ``confidence``,
``timestamps`` or ``starting_time`` + ``rate``) and names a ``Skeleton`` whose
``nodes`` list the keypoints. Both the ndx-pose 0.1 layout (``nodes``/``edges``
stored on the PoseEstimation itself) and the current one (a linked ``Skeleton``
in a ``Skeletons`` container) are read, through pynwb + ndx-pose when installed
and able to build the file, else directly with h5py.

Reading
    * Keypoints come in the order of the Skeleton's ``nodes`` (the order the
      producer gave them; HDF5 itself lists series alphabetically), then any
      series the nodes do not name, in stored order. movement sorts them
      alphabetically instead.
    * ``time`` is the series' ``timestamps`` in seconds (or ``starting_time +
      frame / rate``); ``fps`` is ``rate`` or ``1 / median interval``.
    * Files written by DLC2NWB without their video store **frame indices** as
      timestamps (0, 1, 2, ... "seconds"). Timestamps that are consecutive
      integers are therefore read as frame numbers (``time_unit="frames"``);
      give ``fps=`` to turn them into seconds, or ``timestamps_are_frames=False``
      to keep them as seconds.
    * One PoseEstimation is one individual, named after (first that applies):
      the Subject its Skeleton links, the Skeleton name ``<name>_skeleton``
      (movement and behavior write this), DLC2NWB's series naming
      (``<individual>_<keypoint>``, described "Keypoint k from individual i."; the
      prefix is removed from the keypoint names), the container name
      ``PoseEstimation_<name>``, the file's ``subject_id``, its ``identifier``.
    * Several PoseEstimation containers in one processing module are read as
      individuals when they share their timestamps (keypoints are the union, NaN
      where a container lacks one). Containers linking different cameras are
      views, not individuals: pick one with ``pose_estimation=``. A
      MultiCameraPoseEstimation counts as one container holding its shared 3D
      series (the per-camera PoseEstimation groups inside it are not read).

Writing
    One NWB file for the whole dataset: a ``Skeletons`` container with one
    ``Skeleton`` per individual (``<individual>_skeleton``) and one
    ``PoseEstimation`` per individual (``PoseEstimation`` for a single one, as
    movement writes it, else ``PoseEstimation_<individual>``), timestamps written
    explicitly (stored once and linked), confidence always written. The dataset's
    attributes (fps, time_unit, log, ...) go to ``scratch/behavior_attrs`` as JSON
    so that behavior reads its own files back losslessly.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import re
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from behavior.dataset import from_numpy
from behavior.errors import (
    FileFormatError,
    MissingDependencyError,
    PoseDataError,
    require_module,
)
from behavior.io.registry import Frontend, Probe, Verdict, accept, attr_to_json, refuse

logger = logging.getLogger(__name__)

__all__ = ["FRONTEND", "add_poses", "append_to_file", "read", "sniff", "write"]

_POSE_TYPES = ("PoseEstimation", "MultiCameraPoseEstimation")
_SCRATCH_NAME = "behavior_attrs"
_DLC2NWB_DESCRIPTION = re.compile(r"^Keypoint (?P<kp>.+) from individual (?P<ind>.+)\.$")
_DEFAULT_REFERENCE_FRAME = "(0,0) is the top-left corner of the video frame"


# --------------------------------------------------------------------------- sniff


def sniff(probe: Probe) -> Verdict:
    """Accept HDF5 files with an ``nwb_version`` root attribute and ndx-pose data.

    Parameters
    ----------
    probe
        Cached looks at the candidate file.

    Returns
    -------
    Verdict
        Accepted (score 2) when a ``PoseEstimation`` group sits in a processing
        module; refused with the reason otherwise (not HDF5, not NWB, NWB
        without pose estimates).

    Examples
    --------
    >>> from behavior.io.registry import Probe
    >>> sniff(Probe("session.nwb")).accepted  # doctest: +SKIP
    True
    """
    if not probe.is_hdf5:
        return refuse("not an HDF5 file (NWB files are HDF5)")
    tree = probe.h5_tree
    if not tree:
        return refuse(f"HDF5 file that could not be opened ({probe.h5_error})")
    root = tree.get("/", {})
    if "nwb_version" not in root:
        return refuse("HDF5 file without an 'nwb_version' root attribute, so not NWB")
    import h5py

    with h5py.File(probe.path, "r") as f:
        found = _pose_groups_h5(f)
        modules = sorted(f["processing"].keys()) if "processing" in f else []
    if not found:
        return refuse(
            f"NWB file (version {_text(root['nwb_version'])}) without ndx-pose PoseEstimation "
            f"data; processing modules found: {modules or 'none'}"
        )
    return accept(2.0, f"NWB with {[f'{m}/{n}' for m, n, _ in found]}")


# ------------------------------------------------------------------ the file's content


@dataclass
class _Series:
    name: str
    description: str
    data: Any  # (frames, 2|3), lazy
    confidence: Any | None
    timestamps: Any | None
    rate: float | None
    starting_time: float
    conversion: float
    offset: float
    unit: str


@dataclass
class _Container:
    module: str
    name: str
    series: list[_Series]
    nodes: list[str] | None = None
    skeleton_name: str | None = None
    skeleton_subject: str | None = None
    device: str | None = None
    source_software: str | None = None
    source_software_version: str | None = None

    @property
    def where(self) -> str:
        return f"{self.module}/{self.name}"


@dataclass
class _Content:
    containers: list[_Container]
    modules: list[str]
    identifier: str | None = None
    subject_id: str | None = None
    saved: dict[str, Any] = field(default_factory=dict)
    engine: str = "h5py"


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


def _texts(values: Any) -> list[str]:
    return [_text(v) for v in np.asarray(values).reshape(-1)]


# -------------------------------------------------------------------- h5py engine


def _pose_groups_h5(f: Any) -> list[tuple[str, str, Any]]:
    """(module, name, group) of every pose container in ``processing``."""
    import h5py

    out = []
    processing = f.get("processing")
    if not isinstance(processing, h5py.Group):
        return out
    for module_name, module in processing.items():
        if not isinstance(module, h5py.Group):
            continue
        for name, obj in module.items():
            if isinstance(obj, h5py.Group) and _text(obj.attrs.get("neurodata_type", "")) in (
                _POSE_TYPES
            ):
                out.append((module_name, name, obj))
    return out


def _scalar_h5(group: Any, name: str) -> str | None:
    import h5py

    obj = group.get(name)
    if isinstance(obj, h5py.Dataset):
        return _text(obj[()])
    return None


def _series_h5(name: str, group: Any) -> _Series:
    data = group["data"]
    ts = group.get("timestamps")
    start = group.get("starting_time")
    return _Series(
        name=name,
        description=_text(group.attrs.get("description", "")),
        data=data,
        confidence=group.get("confidence"),
        timestamps=ts,
        rate=float(start.attrs["rate"]) if ts is None and start is not None else None,
        starting_time=float(start[()]) if ts is None and start is not None else 0.0,
        conversion=float(data.attrs.get("conversion", 1.0)),
        offset=float(data.attrs.get("offset", 0.0)),
        unit=_text(data.attrs.get("unit", "pixels")),
    )


def _container_h5(module: str, name: str, group: Any) -> _Container:
    import h5py

    container = _Container(module=module, name=name, series=[])
    for key in group:
        obj = group.get(key)
        if not isinstance(obj, h5py.Group):
            continue
        kind = _text(obj.attrs.get("neurodata_type", ""))
        if kind == "PoseEstimationSeries":
            container.series.append(_series_h5(key, obj))
        elif kind == "Skeleton":
            container.skeleton_name = key
            if "nodes" in obj:
                container.nodes = _texts(obj["nodes"][()])
            subject = obj.get("subject")
            if isinstance(subject, h5py.Group) and "subject_id" in subject:
                container.skeleton_subject = _text(subject["subject_id"][()])
        elif kind in ("Device", "CalibratedCamera") and container.device is None:
            container.device = key
    if container.nodes is None and isinstance(group.get("nodes"), h5py.Dataset):
        container.nodes = _texts(group["nodes"][()])  # ndx-pose 0.1 layout
    software = group.get("source_software")
    if isinstance(software, h5py.Dataset):
        container.source_software = _text(software[()])
        if "version" in software.attrs:
            container.source_software_version = _text(software.attrs["version"])
    return container


@contextlib.contextmanager
def _open_h5py(path: Path) -> Iterator[_Content]:
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise FileFormatError(f"{path}: cannot be opened as HDF5/NWB ({err})") from err
    with f:
        if "nwb_version" not in f.attrs:
            raise FileFormatError(
                f"{path}: expected an NWB file (HDF5 with an 'nwb_version' root attribute), "
                f"found HDF5 root attributes {sorted(f.attrs)}"
            )
        containers = [_container_h5(m, n, g) for m, n, g in _pose_groups_h5(f)]
        modules = sorted(f["processing"]) if "processing" in f else []
        subject_id = (
            _scalar_h5(f["general/subject"], "subject_id") if "general/subject" in f else None
        )
        scratch = _scalar_h5(f["scratch"], _SCRATCH_NAME) if "scratch" in f else None
        yield _Content(
            containers=containers,
            modules=modules,
            identifier=_scalar_h5(f, "identifier"),
            subject_id=subject_id,
            saved=_parse_saved(scratch, path),
            engine="h5py",
        )


# ------------------------------------------------------------------- pynwb engine


class _EngineFailed(Exception):
    """pynwb could not build the file's objects (the h5py engine may still read it)."""


def _series_nwb(s: Any) -> _Series:
    ts = s.timestamps
    return _Series(
        name=s.name,
        description=s.description or "",
        data=s.data,
        confidence=s.confidence,
        timestamps=ts,
        rate=float(s.rate) if ts is None and s.rate is not None else None,
        starting_time=float(s.starting_time or 0.0) if ts is None else 0.0,
        conversion=float(s.conversion if s.conversion is not None else 1.0),
        offset=float(getattr(s, "offset", 0.0) or 0.0),
        unit=s.unit or "pixels",
    )


def _container_nwb(module: str, obj: Any) -> _Container:
    container = _Container(
        module=module,
        name=obj.name,
        series=[_series_nwb(s) for s in obj.pose_estimation_series.values()],
        source_software=obj.source_software,
        source_software_version=obj.source_software_version,
    )
    skeleton = getattr(obj, "skeleton", None)
    if skeleton is not None:
        container.skeleton_name = skeleton.name
        container.nodes = _texts(skeleton.nodes[:])
        subject = getattr(skeleton, "subject", None)
        if subject is not None and subject.subject_id is not None:
            container.skeleton_subject = str(subject.subject_id)
    device = getattr(obj, "device", None)
    if device is not None:
        container.device = device.name
    return container


@contextlib.contextmanager
def _open_pynwb(path: Path) -> Iterator[_Content]:
    pynwb = require_module("pynwb", "nwb", "Reading NWB files")
    ndx_pose = require_module("ndx_pose", "nwb", "Reading NWB pose estimates")
    kinds = tuple(getattr(ndx_pose, n) for n in _POSE_TYPES if hasattr(ndx_pose, n))
    with warnings.catch_warnings():
        # files carry the ndx-pose version they were written with; pynwb says so
        warnings.filterwarnings("ignore", message="Ignoring the following cached namespace")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            io = pynwb.NWBHDF5IO(str(path), "r")
        except Exception as err:
            raise _EngineFailed(f"{type(err).__name__}: {err}") from err
        try:
            try:
                nwb = io.read()
            except Exception as err:
                raise _EngineFailed(f"{type(err).__name__}: {err}") from err
            containers = [
                _container_nwb(module_name, obj)
                for module_name, module in nwb.processing.items()
                for obj in module.data_interfaces.values()
                if isinstance(obj, kinds)
            ]
            saved = None
            if _SCRATCH_NAME in nwb.scratch:
                data = nwb.scratch[_SCRATCH_NAME].data
                saved = _text(data if isinstance(data, str | bytes) else data[()])
            yield _Content(
                containers=containers,
                modules=sorted(nwb.processing),
                identifier=nwb.identifier,
                subject_id=nwb.subject.subject_id if nwb.subject is not None else None,
                saved=_parse_saved(saved, path),
                engine="pynwb",
            )
        finally:
            io.close()


def _parse_saved(text: str | None, path: Path) -> dict[str, Any]:
    """What behavior stored in scratch: ``{"attrs": {...}, "containers": [...]}``."""
    if text is None:
        return {}
    try:
        saved = json.loads(text)
    except json.JSONDecodeError:
        logger.warning("%s: scratch/%s is not JSON; ignoring it", path, _SCRATCH_NAME)
        return {}
    return saved if isinstance(saved, dict) else {}


# --------------------------------------------------------------------------- read


def read(
    path: str | Path,
    *,
    fps: float | None = None,
    processing_module: str | None = None,
    pose_estimation: str | Sequence[str] | None = None,
    timestamps_are_frames: bool | None = None,
    engine: str = "auto",
) -> xr.Dataset:
    """Read the ndx-pose pose estimates of an NWB file into a pose dataset.

    Parameters
    ----------
    path
        The ``.nwb`` file.
    fps
        Frames per second. Converts timestamps that are frame indices (see
        ``timestamps_are_frames``) into seconds; with real timestamps the time
        axis is kept and ``fps`` is only recorded in ``attrs``, with a
        ``UserWarning`` when it differs from the timestamps' rate by more than 1 %.
    processing_module
        Name of the processing module to read from, needed when pose estimates
        sit in several modules.
    pose_estimation
        Name of the PoseEstimation container (or a list of names, read as
        individuals), ``"name"`` or ``"module/name"``. By default every container
        in the module is read, one individual each.
    timestamps_are_frames
        Whether the stored timestamps are frame indices rather than seconds.
        ``None`` decides: files written by behavior say so; otherwise consecutive
        integer timestamps (as DLC2NWB writes without the video) are frames.
    engine
        ``"pynwb"`` (needs pynwb and ndx-pose), ``"h5py"`` (reads the groups
        directly, for any ndx-pose version), or ``"auto"``: pynwb when installed
        and able to build the file, else h5py.

    Returns
    -------
    xr.Dataset
        Pose dataset with ``source_software`` from the PoseEstimation and the
        attributes behavior stored when it wrote the file.

    Raises
    ------
    FileFormatError
        If the file holds no pose estimates, the selection is ambiguous or not
        found, or series do not share frames.
    MissingDependencyError
        With ``engine="pynwb"`` when pynwb or ndx-pose is missing.

    Examples
    --------
    >>> ds = read("session.nwb", fps=30)  # doctest: +SKIP
    >>> ds.position.dims  # doctest: +SKIP
    ('time', 'space', 'keypoint', 'individual')
    """
    path = Path(path)
    if engine not in ("auto", "pynwb", "h5py"):
        raise PoseDataError(f"engine: expected 'auto', 'pynwb' or 'h5py', found {engine!r}")
    options = {
        "fps": fps,
        "processing_module": processing_module,
        "pose_estimation": pose_estimation,
        "timestamps_are_frames": timestamps_are_frames,
    }
    if engine == "auto":
        try:
            require_module("pynwb", "nwb", "Reading NWB files")
            require_module("ndx_pose", "nwb", "Reading NWB pose estimates")
            engine = "pynwb"
        except MissingDependencyError as err:
            logger.debug("%s: reading with h5py (%s)", path, err)
            engine = "h5py"
    if engine == "pynwb":
        try:
            with _open_pynwb(path) as content:
                return _assemble(content, path, **options)
        except _EngineFailed as err:
            logger.warning(
                "%s: pynwb/ndx-pose could not read the file (%s); reading it with h5py", path, err
            )
    try:
        with _open_h5py(path) as content:
            return _assemble(content, path, **options)
    except PoseDataError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as err:
        # h5py's errors on a damaged file: a corrupted B-tree, link or dataspace
        raise FileFormatError(
            f"{path}: cannot be read as NWB ({type(err).__name__}: {err}); is it truncated "
            "or damaged?"
        ) from err


def _select(
    content: _Content,
    path: Path,
    processing_module: str | None,
    pose_estimation: str | Sequence[str] | None,
) -> list[_Container]:
    found = content.containers
    if not found:
        raise FileFormatError(
            f"{path}: expected ndx-pose PoseEstimation data in a processing module, found none "
            f"(processing modules: {content.modules or 'none'})"
        )
    available = [c.where for c in found]
    if processing_module is not None:
        found = [c for c in found if c.module == processing_module]
        if not found:
            raise FileFormatError(
                f"{path}: no PoseEstimation in processing module {processing_module!r}; "
                f"pose estimates found: {available}"
            )
    if pose_estimation is not None:
        wanted = [pose_estimation] if isinstance(pose_estimation, str) else list(pose_estimation)
        chosen = []
        for name in wanted:
            match = [c for c in found if name in (c.name, c.where)]
            if not match:
                raise FileFormatError(
                    f"{path}: no PoseEstimation named {name!r}; pose estimates found: {available}"
                )
            if len(match) > 1:
                raise FileFormatError(
                    f"{path}: PoseEstimation {name!r} exists in several processing modules "
                    f"{[c.module for c in match]}; pass processing_module= or 'module/name'"
                )
            chosen.append(match[0])
        return chosen
    modules = sorted({c.module for c in found})
    if len(modules) > 1:
        raise FileFormatError(
            f"{path}: pose estimates sit in several processing modules {modules} "
            f"({available}); pass processing_module= or pose_estimation= to choose"
        )
    devices = {c.device for c in found if c.device is not None}
    if len(found) > 1 and len(devices) > 1:
        raise FileFormatError(
            f"{path}: the PoseEstimation containers {[c.name for c in found]} are views from "
            f"different cameras {sorted(devices)}, not individuals; pass pose_estimation= one "
            "of them"
        )
    return found


def _dlc2nwb_names(container: _Container) -> tuple[str | None, dict[str, str]]:
    """DLC2NWB names series '<individual>_<keypoint>': the individual and clean names."""
    individuals = set()
    renamed = {}
    for s in container.series:
        match = _DLC2NWB_DESCRIPTION.match(s.description.strip())
        if match is None or s.name != f"{match['ind']}_{match['kp']}":
            return None, {}
        individuals.add(match["ind"])
        renamed[s.name] = match["kp"]
    if len(individuals) != 1 or len(set(renamed.values())) != len(renamed):
        return None, {}
    return individuals.pop(), renamed


def _individual_name(container: _Container, content: _Content, dlc_individual: str | None) -> str:
    if container.skeleton_subject:
        return container.skeleton_subject
    name = container.skeleton_name or ""
    if name.endswith("_skeleton") and len(name) > len("_skeleton"):
        return name[: -len("_skeleton")]
    if dlc_individual:
        return dlc_individual
    if container.name.startswith("PoseEstimation_") and len(container.name) > 15:
        return container.name[len("PoseEstimation_") :]
    if content.subject_id:
        return str(content.subject_id)
    if content.identifier:
        return str(content.identifier)
    return "id_0"


@dataclass
class _Block:
    """One container read into arrays."""

    individual: str
    keypoints: list[str]
    position: np.ndarray  # (time, space, keypoint)
    confidence: np.ndarray  # (time, keypoint)
    timestamps: np.ndarray | None
    rate: float | None
    starting_time: float
    unit: str
    container: _Container


def _read_block(container: _Container, content: _Content, path: Path) -> _Block:
    if not container.series:
        raise FileFormatError(
            f"{path}: PoseEstimation {container.where!r} holds no PoseEstimationSeries"
        )
    by_name = {s.name: s for s in container.series}
    order = [n for n in (container.nodes or []) if n in by_name]
    order += [s.name for s in container.series if s.name not in order]
    series = [by_name[n] for n in order]
    dlc_individual, renamed = _dlc2nwb_names(container)
    keypoints = [renamed.get(s.name, s.name) for s in series]

    first = series[0]
    arrays = []
    for s in series:
        data = np.asarray(s.data[()])
        if data.ndim != 2 or data.shape[1] not in (2, 3):
            raise FileFormatError(
                f"{path}: series {container.where}/{s.name}: expected data of shape "
                f"(frames, 2 or 3), found {data.shape}"
            )
        if data.shape[0] != first.data.shape[0]:
            raise FileFormatError(
                f"{path}: series in {container.where} differ in length: {first.name!r} has "
                f"{first.data.shape[0]} frames, {s.name!r} has {data.shape[0]}"
            )
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float64)
        if s.conversion != 1.0 or s.offset != 0.0:
            data = data * s.conversion + s.offset
        arrays.append(data)
    n_time = arrays[0].shape[0]
    n_space = max(a.shape[1] for a in arrays)
    dtype = np.result_type(*[a.dtype for a in arrays])
    position = np.full((n_time, n_space, len(series)), np.nan, dtype=dtype)
    for k, a in enumerate(arrays):
        position[:, : a.shape[1], k] = a
    flat = [s.name for s, a in zip(series, arrays) if a.shape[1] < n_space]
    if flat:
        logger.warning(
            "%s: %s: series %s are 2D among 3D ones; their z is NaN", path, container.where, flat
        )
    scores = {}
    for s in series:
        if s.confidence is not None:
            values = np.asarray(s.confidence[()]).reshape(-1)
            if values.shape[0] != n_time:
                raise FileFormatError(
                    f"{path}: series {container.where}/{s.name}: expected {n_time} confidence "
                    f"values, found {values.shape[0]}"
                )
            scores[s.name] = values if np.issubdtype(values.dtype, np.floating) else values * 1.0
    score_dtype = np.result_type(*scores.values()) if scores else dtype
    confidence = np.full((n_time, len(series)), np.nan, dtype=score_dtype)
    for k, s in enumerate(series):
        if s.name in scores:
            confidence[:, k] = scores[s.name]

    timestamps = None if first.timestamps is None else np.asarray(first.timestamps[()], float)
    if timestamps is None and first.rate is None:
        raise FileFormatError(
            f"{path}: series {container.where}/{first.name} has neither timestamps nor a rate"
        )
    for s in series[1:]:
        same = (
            np.array_equal(np.asarray(s.timestamps[()], float), timestamps)
            if timestamps is not None and s.timestamps is not None
            else (s.rate, s.starting_time) == (first.rate, first.starting_time)
        )
        if not same:
            raise FileFormatError(
                f"{path}: series {s.name!r} and {first.name!r} in {container.where} have "
                "different timestamps; behavior needs one time axis per PoseEstimation"
            )
    if timestamps is not None and timestamps.shape[0] != n_time:
        raise FileFormatError(
            f"{path}: series {container.where}/{first.name}: expected {n_time} timestamps, "
            f"found {timestamps.shape[0]}"
        )
    units = sorted({s.unit for s in series})
    if len(units) > 1:
        raise FileFormatError(
            f"{path}: series in {container.where} use different units {units}; expected one"
        )
    return _Block(
        individual=_individual_name(container, content, dlc_individual),
        keypoints=keypoints,
        position=position,
        confidence=confidence,
        timestamps=timestamps,
        rate=first.rate,
        starting_time=first.starting_time,
        unit=units[0],
        container=container,
    )


def _looks_like_frames(timestamps: np.ndarray) -> bool:
    return (
        timestamps.size > 1
        and bool(np.all(np.isfinite(timestamps)))
        and bool(np.all(timestamps == np.round(timestamps)))
        and bool(np.all(np.diff(timestamps) == 1.0))
    )


def _assemble(
    content: _Content,
    path: Path,
    *,
    fps: float | None,
    processing_module: str | None,
    pose_estimation: str | Sequence[str] | None,
    timestamps_are_frames: bool | None,
) -> xr.Dataset:
    chosen = _select(content, path, processing_module, pose_estimation)
    order = content.saved.get("containers")
    if pose_estimation is None and isinstance(order, list):  # the order behavior wrote them in
        rank = {name: i for i, name in enumerate(order)}
        chosen.sort(key=lambda c: rank.get(c.where, len(rank)))
    blocks = [_read_block(c, content, path) for c in chosen]
    first = blocks[0]
    for b in blocks[1:]:
        same = (
            b.timestamps is not None
            and first.timestamps is not None
            and np.array_equal(b.timestamps, first.timestamps)
        ) or (
            b.timestamps is None
            and first.timestamps is None
            and (b.rate, b.starting_time, b.position.shape[0])
            == (first.rate, first.starting_time, first.position.shape[0])
        )
        if not same:
            raise FileFormatError(
                f"{path}: PoseEstimation {first.container.where!r} and {b.container.where!r} "
                "do not share timestamps, so they cannot be read as individuals of one "
                "dataset; pass pose_estimation= one of them"
            )
    individuals = [b.individual for b in blocks]
    if len(set(individuals)) != len(individuals):
        logger.warning(
            "%s: containers %s resolve to the same individual names %s; naming individuals "
            "after the containers instead",
            path,
            [b.container.name for b in blocks],
            individuals,
        )
        individuals = [b.container.name for b in blocks]
    keypoints: list[str] = []
    for b in blocks:
        keypoints += [k for k in b.keypoints if k not in keypoints]
    units = sorted({b.unit for b in blocks})
    if len(units) > 1:
        raise FileFormatError(f"{path}: PoseEstimation containers use different units {units}")

    n_time = first.position.shape[0]
    if n_time == 0:
        raise FileFormatError(
            f"{path}: PoseEstimation {first.container.where!r} holds no frames; expected "
            "pose series with at least one timestamp, found 0"
        )
    n_space = max(b.position.shape[1] for b in blocks)
    dtype = np.result_type(*[b.position.dtype for b in blocks])
    position = np.full((n_time, n_space, len(keypoints), len(blocks)), np.nan, dtype=dtype)
    score_dtype = np.result_type(*[b.confidence.dtype for b in blocks])
    confidence = np.full((n_time, len(keypoints), len(blocks)), np.nan, dtype=score_dtype)
    for i, b in enumerate(blocks):
        idx = [keypoints.index(k) for k in b.keypoints]
        position[:, : b.position.shape[1], idx, i] = b.position
        confidence[:, idx, i] = b.confidence

    saved = content.saved.get("attrs", {})
    if not isinstance(saved, dict):
        saved = {}
    time, file_fps, in_frames = _time_axis(first, saved, timestamps_are_frames)
    if in_frames and fps is None and timestamps_are_frames is None and "time_unit" not in saved:
        logger.warning(
            "%s: the timestamps of %s are consecutive integers, i.e. frame indices (as "
            "DLC2NWB writes them without the video): time is in frames. Pass fps= for "
            "seconds, or timestamps_are_frames=False to keep them as seconds.",
            path,
            first.container.where,
        )
    if in_frames and fps is not None:
        time, in_frames, file_fps = time / float(fps), False, float(fps)
    elif fps is not None and not in_frames and time.size > 1:
        _check_given_fps(float(fps), time, path)
    software = first.container.source_software or saved.get("source_software") or "unknown"
    ds = from_numpy(
        position,
        confidence,
        individual_names=individuals,
        keypoint_names=keypoints,
        fps=None if in_frames else (fps if fps is not None else file_fps),
        time=None if in_frames else time,
        source_software=software,
        source_file=str(path),
        space_unit=units[0],
    )
    if in_frames:
        ds = ds.assign_coords(time=time)
        ds.attrs["time_unit"] = "frames"
    if first.container.source_software_version:
        ds.attrs["source_software_version"] = first.container.source_software_version
    for key, value in saved.items():
        if key in ("time_unit", "fps", "space_unit", "source_file", "ds_type"):
            continue
        ds.attrs[key] = value
    if not in_frames and fps is None and "fps" in saved and saved.get("time_unit") == "seconds":
        ds.attrs["fps"] = float(saved["fps"])
    logger.debug("read %s with %s: %s", path, content.engine, dict(ds.sizes))
    return ds


# a given fps may differ from the file's timestamps by this fraction before a warning
FPS_TOLERANCE = 0.01


def _check_given_fps(fps: float, time: np.ndarray, path: Path) -> None:
    """Warn when ``fps`` disagrees with the rate of the file's timestamps by more than 1 %."""
    steps = np.diff(time)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    if not steps.size:
        return
    observed = float(1.0 / np.median(steps))
    if abs(fps / observed - 1.0) > FPS_TOLERANCE:
        text = (
            f"{path}: fps={fps:g} disagrees with the file's timestamps, which run at "
            f"{observed:.6g} frames per second; time keeps the file's timestamps and "
            f"attrs['fps'] records {fps:g}. Leave fps out to use the file's rate."
        )
        logger.info(text)
        warnings.warn(text, UserWarning, stacklevel=2)


def _time_axis(
    block: _Block, saved: dict[str, Any], timestamps_are_frames: bool | None
) -> tuple[np.ndarray, float | None, bool]:
    """(time values, fps from the file, whether the values are frame numbers)."""
    n_time = block.position.shape[0]
    if block.timestamps is None:
        assert block.rate is not None
        time = block.starting_time + np.arange(n_time, dtype=np.float64) / block.rate
        if timestamps_are_frames:
            return np.arange(n_time, dtype=np.float64), None, True
        return time, float(block.rate), False
    time = block.timestamps.astype(np.float64)
    if timestamps_are_frames is None:
        if "time_unit" in saved:
            timestamps_are_frames = saved["time_unit"] == "frames"
        else:
            timestamps_are_frames = _looks_like_frames(time)
    return time, None, bool(timestamps_are_frames)


# -------------------------------------------------------------------------- write


def _check_name(name: str, what: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise PoseDataError(
            f"{what} {name!r}: NWB object names cannot be empty, '.', '..' or contain '/'; "
            "rename it first"
        )
    return name


def write(
    ds: xr.Dataset,
    path: str | Path,
    *,
    subject_id: str | None = None,
    session_description: str = "pose estimates written by behavior",
    identifier: str | None = None,
    session_start_time: _dt.datetime | None = None,
    processing_module: str = "behavior",
    fps: float | None = None,
    reference_frame: str = _DEFAULT_REFERENCE_FRAME,
    confidence_definition: str | None = None,
    scorer: str | None = None,
) -> None:
    """Write a pose dataset as one NWB file with ndx-pose objects.

    Parameters
    ----------
    ds
        Pose dataset (no ``ensemble`` dimension).
    path
        Destination ``.nwb`` file (created; :func:`behavior.save_poses` hands a
        temporary path and renames it).
    subject_id
        The NWB Subject. With one individual it defaults to the individual's
        name and its Skeleton links the Subject, so readers (behavior, movement)
        name the individual after it. With several individuals a Subject is only
        written when given, and describes the file as a whole.
    session_description, identifier, session_start_time
        NWBFile metadata. ``identifier`` defaults to the individual's name with one
        individual (movement's choice), else a random UUID; the start time
        defaults to now (UTC).
    processing_module
        Name of the processing module (``"behavior"`` by convention).
    fps
        Turns a time axis in frames into seconds (NWB timestamps are seconds).
        Without it, frame numbers are written as timestamps (as DLC2NWB does),
        with a warning; behavior reads them back as frames.
    reference_frame, confidence_definition, scorer
        Stored on each PoseEstimationSeries / PoseEstimation.

    Raises
    ------
    PoseDataError
        If ``ds`` has an ``ensemble`` dimension or names NWB cannot hold.
    MissingDependencyError
        If pynwb or ndx-pose is missing.

    Examples
    --------
    >>> write(ds, "session.nwb", subject_id="mouse_1")  # doctest: +SKIP
    """
    pynwb = require_module("pynwb", "nwb", "Writing NWB files")
    from behavior.io.registry import hdf5_in_memory

    individuals = _check_pose_dataset(ds)
    if identifier is None:
        identifier = individuals[0] if len(individuals) == 1 else str(uuid.uuid4())
    nwbfile = pynwb.NWBFile(
        session_description=session_description,
        identifier=identifier,
        session_start_time=session_start_time or _dt.datetime.now(_dt.UTC),
    )
    add_poses(
        nwbfile,
        ds,
        subject_id=subject_id,
        processing_module=processing_module,
        fps=fps,
        reference_frame=reference_frame,
        confidence_definition=confidence_definition,
        scorer=scorer,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # built in memory, written in one plain write: a full disk cannot leave HDF5 handles open
        with hdf5_in_memory(path) as f, pynwb.NWBHDF5IO(file=f, mode="w") as io:
            io.write(nwbfile)


def _check_pose_dataset(ds: xr.Dataset) -> list[str]:
    """The individual names of a pose dataset NWB can hold (no extra dims, valid names)."""
    extra = [d for d in ds.position.dims if d not in ("time", "space", "keypoint", "individual")]
    if extra:
        raise PoseDataError(
            f"dataset: NWB holds one set of poses per individual; found extra dimension(s) "
            f"{extra}. Select one member first, e.g. ds.isel({extra[0]}=0)"
        )
    return [_check_name(str(i), "individual") for i in ds.individual.values]


def add_poses(
    nwbfile: Any,
    ds: xr.Dataset,
    *,
    subject_id: str | None = None,
    processing_module: str = "behavior",
    fps: float | None = None,
    reference_frame: str = _DEFAULT_REFERENCE_FRAME,
    confidence_definition: str | None = None,
    scorer: str | None = None,
) -> None:
    """Add a pose dataset's ndx-pose objects to an open ``pynwb.NWBFile``.

    What :func:`write` puts in a new file, added to ``nwbfile`` (new, or read in
    append mode): a ``Skeletons`` container, one ``PoseEstimation`` per
    individual and the dataset's attributes as JSON in ``scratch/behavior_attrs``,
    in the processing module ``processing_module`` (created when missing). A
    Subject is only added when the file has none; an existing one is linked by
    a single individual's Skeleton.

    Parameters
    ----------
    nwbfile
        The ``pynwb.NWBFile`` to add to.
    ds, subject_id, processing_module, fps, reference_frame, confidence_definition, scorer
        As for :func:`write`.

    Raises
    ------
    PoseDataError
        If ``ds`` has an ``ensemble`` dimension or names NWB cannot hold.
    MissingDependencyError
        If pynwb or ndx-pose is missing.
    ValueError
        From pynwb, if the module already holds objects of these names.

    Examples
    --------
    >>> add_poses(nwbfile, ds, processing_module="behavior")  # doctest: +SKIP
    """
    ndx_pose = require_module("ndx_pose", "nwb", "Writing NWB pose estimates")
    from pynwb.file import Subject

    individuals = _check_pose_dataset(ds)
    keypoints = [_check_name(str(k), "keypoint") for k in ds.keypoint.values]
    attrs = dict(ds.attrs)
    time = np.asarray(ds.time.values, dtype=np.float64)
    if attrs.get("time_unit") == "frames":
        if fps is not None:
            time = time / float(fps)
            attrs.update(time_unit="seconds", fps=float(fps))
        else:
            logger.warning(
                "the dataset's time is in frames and no fps was given; NWB timestamps "
                "will hold frame numbers (pass fps= to write seconds)"
            )
    position = ds.position.transpose("time", "space", "keypoint", "individual").values
    if "confidence" in ds:
        confidence = ds.confidence.transpose("time", "keypoint", "individual").values
    else:
        confidence = np.full(position.shape[:1] + position.shape[2:], np.nan)
    software = str(attrs.get("source_software") or "unknown")
    unit = str(attrs.get("space_unit") or "pixels")
    version = attrs.get("source_software_version")
    version = None if version is None else str(version)

    subject = nwbfile.subject
    if subject is None and (len(individuals) == 1 or subject_id is not None):
        subject = Subject(subject_id=str(subject_id or individuals[0]))
        nwbfile.subject = subject
    if processing_module in nwbfile.processing:
        module = nwbfile.processing[processing_module]
    else:
        module = nwbfile.create_processing_module(
            name=processing_module, description="processed behavioral data"
        )
    skeletons = [
        ndx_pose.Skeleton(
            name=f"{ind}_skeleton",
            nodes=keypoints,
            **({"subject": subject} if subject is not None and len(individuals) == 1 else {}),
        )
        for ind in individuals
    ]
    module.add(ndx_pose.Skeletons(skeletons=skeletons))
    time_source = None
    containers = []
    for i, ind in enumerate(individuals):
        series = []
        for k, kp in enumerate(keypoints):
            s = ndx_pose.PoseEstimationSeries(
                name=kp,
                description=f"{kp} of {ind}",
                data=position[:, :, k, i],
                confidence=confidence[:, k, i],
                unit=unit,
                reference_frame=reference_frame,
                confidence_definition=confidence_definition,
                timestamps=time if time_source is None else time_source,
            )
            if time_source is None:
                time_source = s  # later series link these timestamps
            series.append(s)
        name = "PoseEstimation" if len(individuals) == 1 else f"PoseEstimation_{ind}"
        containers.append(f"{processing_module}/{name}")
        module.add(
            ndx_pose.PoseEstimation(
                name=name,
                pose_estimation_series=series,
                description=f"Estimated positions of {len(keypoints)} keypoints of {ind}.",
                source_software=software,
                source_software_version=version,
                scorer=scorer,
                skeleton=skeletons[i],
            )
        )
    saved = {
        "attrs": {
            k: attr_to_json(v) for k, v in attrs.items() if k not in ("source_file", "ds_type")
        },
        "containers": containers,
    }
    nwbfile.add_scratch(
        json.dumps(saved),
        name=_SCRATCH_NAME,
        description="attributes of the behavior pose dataset (JSON), for a lossless round trip",
    )


def append_to_file(path: str | Path, add: Any) -> None:
    """Add objects to the NWB file at ``path`` in place, checking that nothing was lost.

    Meant for a copy of the file (:func:`behavior.io.registry.atomic_path` then
    renames it into place): ``add(nwbfile)`` adds to the file read in append
    mode, the file is written, and every HDF5 object that was there before must
    still be there after.

    Parameters
    ----------
    path
        An NWB file.
    add
        ``add(nwbfile) -> None``; pynwb's ``ValueError`` on a name already taken
        becomes :class:`~behavior.errors.FileFormatError`.

    Raises
    ------
    FileFormatError
        If ``path`` cannot be read as NWB, ``add`` fails on it, or objects that
        were in the file are missing afterwards.

    Examples
    --------
    >>> append_to_file("session.nwb", lambda nwb: nwb.add_time_intervals(table))  # doctest: +SKIP
    """
    import h5py

    pynwb = require_module("pynwb", "nwb", "Appending to NWB files")
    # extension types must be registered before the file is opened: an IO object built
    # earlier maps ndx-pose objects to plain NWBDataInterface groups and loses their content
    with contextlib.suppress(ImportError):
        import ndx_pose  # noqa: F401
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            before: list[str] = []
            f.visit(before.append)
    except OSError as err:
        raise FileFormatError(
            f"{path}: append expected an NWB (HDF5) file to add to, found one that "
            f"cannot be read ({err})"
        ) from err
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            with pynwb.NWBHDF5IO(str(path), "a") as io:
                nwb = io.read()
                add(nwb)
                io.write(nwb)
    except (FileFormatError, PoseDataError, MissingDependencyError):
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError) as err:
        raise FileFormatError(
            f"{path}: could not add to this NWB file ({type(err).__name__}: {err})"
        ) from err
    with h5py.File(path, "r") as f:
        after: list[str] = []
        f.visit(after.append)
    lost = sorted(set(before) - set(after))
    if lost:
        raise FileFormatError(f"{path}: appending lost objects that were in the file: {lost[:5]}")


FRONTEND = Frontend(
    name="nwb",
    description="NWB with ndx-pose PoseEstimation (0.1 and 0.2+ layouts; pynwb or h5py)",
    suffixes=(".nwb",),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("NWB", "ndx-pose"),
)
