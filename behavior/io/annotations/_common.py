"""What every annotation frontend shares: the parsed form of a file and the Ethogram bridge.

Readers turn a file into a :class:`Parsed` (bouts in frames, instantaneous
points, the session length and fps, and a list of issues) and
:func:`to_ethogram` turns that into an :class:`~behavior.ethogram.Ethogram`.
Writers look at an Ethogram through :func:`view`, which gives bouts in frames,
points, names and the session length in one place.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavior.bouts import BOUT_COLUMNS
from behavior.errors import FileFormatError, PoseDataError

logger = logging.getLogger(__name__)

DEFAULT_INDIVIDUAL = "id_0"
POINT_COLUMNS = ["individual", "behavior", "time", "frame"]


@dataclass
class Parsed:
    """An annotation file as read, before it becomes an Ethogram.

    ``bouts`` has columns individual, behavior, start_frame, stop_frame (stop
    exclusive); ``points`` has individual, behavior, frame. ``masks`` (time,
    behavior, individual) replaces ``bouts`` for per-frame formats.
    """

    source: str
    fps: float | None = None
    n_frames: int | None = None
    time: np.ndarray | None = None
    bouts: pd.DataFrame | None = None
    points: pd.DataFrame | None = None
    masks: np.ndarray | None = None
    behaviors: list[str] | None = None
    individuals: list[str] | None = None
    exclusive: bool = False
    issues: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


def frames_from_seconds(seconds: Any, fps: float) -> np.ndarray:
    """Nearest frame index of each time in seconds (``round(t * fps)``)."""
    return np.rint(np.asarray(seconds, dtype=np.float64) * float(fps)).astype(np.int64)


def need_fps(path: Path, fps: float | None, what: str) -> float:
    """The fps, or a FileFormatError saying the file's times need one."""
    if fps is None or not np.isfinite(fps) or fps <= 0:
        raise FileFormatError(
            f"{path}: {what} are in seconds and the file gives no frame rate; "
            f"pass fps= (frames per second) to load_annotations"
        )
    return float(fps)


def positive_fps(value: Any) -> float | None:
    """A positive finite float from a file field, else None ('NA', '', 0 ...)."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        return None
    return fps if np.isfinite(fps) and fps > 0 else None


def bouts_table(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """A frame-bout table from (individual, behavior, start_frame, stop_frame) rows."""
    return pd.DataFrame(
        {
            "individual": pd.Series([r[0] for r in rows], dtype=object),
            "behavior": pd.Series([r[1] for r in rows], dtype=object),
            "start_frame": pd.Series([r[2] for r in rows], dtype=np.int64),
            "stop_frame": pd.Series([r[3] for r in rows], dtype=np.int64),
        }
    )


def points_table(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """A point-event table from (individual, behavior, frame) rows."""
    return pd.DataFrame(
        {
            "individual": pd.Series([r[0] for r in rows], dtype=object),
            "behavior": pd.Series([r[1] for r in rows], dtype=object),
            "frame": pd.Series([r[2] for r in rows], dtype=np.int64),
        }
    )


def _ordered(first: list[str] | None, seen: list[str]) -> list[str]:
    out = list(first) if first else []
    out += [s for s in dict.fromkeys(seen) if s not in out]
    return out


def _merge_overlaps(bouts: pd.DataFrame, issues: list[str]) -> pd.DataFrame:
    """Union of overlapping bouts of one (individual, behavior); each merge is an issue."""
    rows = []
    for (ind, beh), group in bouts.groupby(["individual", "behavior"], sort=False):
        group = group.sort_values(["start_frame", "stop_frame"], kind="stable")
        cur_start, cur_stop = None, None
        for start, stop in zip(group["start_frame"], group["stop_frame"], strict=True):
            if cur_stop is not None and start < cur_stop:
                issues.append(
                    f"overlapping bouts of {beh!r} for {ind!r} merged: frames "
                    f"[{cur_start}, {cur_stop}) and [{start}, {stop})"
                )
                cur_stop = max(cur_stop, stop)
                continue
            if cur_stop is not None:
                rows.append((ind, beh, cur_start, cur_stop))
            cur_start, cur_stop = start, stop
        if cur_stop is not None:
            rows.append((ind, beh, cur_start, cur_stop))
    return bouts_table(rows)


def to_ethogram(parsed: Parsed, path: Path):
    """Turn a :class:`Parsed` file into an Ethogram (issues logged and kept in attrs)."""
    import xarray as xr

    from behavior.ethogram import Ethogram

    issues = parsed.issues
    bouts = parsed.bouts if parsed.bouts is not None else bouts_table([])
    points = parsed.points if parsed.points is not None else points_table([])
    if parsed.masks is None and len(bouts):
        short = bouts["stop_frame"] <= bouts["start_frame"]
        if short.any():
            for row in bouts[short].itertuples():
                issues.append(
                    f"bout of {row.behavior!r} for {row.individual!r} at frame {row.start_frame} "
                    "is shorter than one frame; kept as one frame"
                )
            bouts = bouts.assign(
                stop_frame=np.maximum(bouts["stop_frame"], bouts["start_frame"] + 1)
            )
        negative = bouts["start_frame"] < 0
        if negative.any():
            raise FileFormatError(
                f"{path}: {int(negative.sum())} bout(s) start before the first frame "
                f"(first at frame {int(bouts.loc[negative, 'start_frame'].iloc[0])})"
            )
        bouts = _merge_overlaps(bouts, issues)

    n = parsed.n_frames or 0
    if parsed.masks is not None:
        n = parsed.masks.shape[0]
    if len(bouts):
        n = max(n, int(bouts["stop_frame"].max()))
    if len(points):
        n = max(n, int(points["frame"].max()) + 1)
    fps = parsed.fps
    if parsed.time is not None:
        time = np.asarray(parsed.time, dtype=np.float64)
        time_unit = "seconds"
        if time.shape[0] != n:
            raise FileFormatError(
                f"{path}: expected {n} time values, one per frame, found {time.shape[0]}"
            )
    elif fps is not None:
        time = np.arange(n, dtype=np.float64) / fps
        time_unit = "seconds"
    else:
        time = np.arange(n, dtype=np.float64)
        time_unit = "frames"

    individuals = _ordered(
        parsed.individuals,
        [*bouts["individual"].astype(str), *points["individual"].astype(str)],
    ) or [DEFAULT_INDIVIDUAL]
    # point-only behaviors stay in .points, off the label axis
    behaviors = _ordered(parsed.behaviors, list(bouts["behavior"].astype(str)))

    if parsed.masks is not None:
        da = xr.DataArray(
            np.asarray(parsed.masks, dtype=bool),
            dims=("time", "behavior", "individual"),
            coords={"time": time, "behavior": behaviors, "individual": individuals},
            attrs={"time_unit": time_unit, **({"fps": fps} if fps else {})},
        )
        eth = Ethogram.from_masks(da)
    else:
        table = full_bouts(bouts, time, fps)
        eth = Ethogram.from_bouts(
            table,
            xr.DataArray(time, dims="time", coords={"time": time}, attrs={"time_unit": time_unit}),
            behaviors=behaviors,
            individuals=individuals,
            exclusive=parsed.exclusive,
            fps=fps,
        )
    point_table = None
    if len(points):
        frames = points["frame"].to_numpy(np.int64)
        point_table = pd.DataFrame(
            {
                "individual": points["individual"].astype(str).to_numpy(object),
                "behavior": points["behavior"].astype(str).to_numpy(object),
                "time": time[frames],
                "frame": frames,
            },
            columns=POINT_COLUMNS,
        )
    attrs = dict(eth.attrs)
    attrs.update(parsed.attrs)
    attrs.update(
        source=f"annotation:{parsed.source}",
        source_file=str(path),
        time_unit=time_unit,
        issues=list(issues),
    )
    if fps is not None:
        attrs["fps"] = float(fps)
    eth = Ethogram(
        eth.labels, exclusive=eth.exclusive, partner=eth.partner, points=point_table, attrs=attrs
    )
    if issues:
        logger.warning(
            "%s: %d issue(s) while reading %s annotations: %s",
            path,
            len(issues),
            parsed.source,
            "; ".join(issues[:5]) + (" ..." if len(issues) > 5 else ""),
        )
    return eth


def full_bouts(bouts: pd.DataFrame, time: np.ndarray, fps: float | None) -> pd.DataFrame:
    """Frame bouts completed to :data:`BOUT_COLUMNS` with times from ``time``."""
    starts = bouts["start_frame"].to_numpy(np.int64)
    stops = bouts["stop_frame"].to_numpy(np.int64)
    step = 1.0 / fps if fps else (float(np.median(np.diff(time))) if time.size > 1 else 1.0)
    stop_time = np.append(time[1:], time[-1] + step) if time.size else time
    start = time[starts] if starts.size else np.empty(0)
    stop = stop_time[stops - 1] if stops.size else np.empty(0)
    return pd.DataFrame(
        {
            "individual": bouts["individual"].astype(str).to_numpy(object),
            "other": np.full(starts.size, "", dtype=object),
            "behavior": bouts["behavior"].astype(str).to_numpy(object),
            "start_frame": starts,
            "stop_frame": stops,
            "n_frames": stops - starts,
            "start": np.asarray(start, dtype=np.float64),
            "stop": np.asarray(stop, dtype=np.float64),
            "duration": np.asarray(stop, dtype=np.float64) - np.asarray(start, dtype=np.float64),
        },
        columns=BOUT_COLUMNS,
    )


@dataclass
class View:
    """An Ethogram as writers need it: frame bouts, points, names, length and fps."""

    bouts: pd.DataFrame
    points: pd.DataFrame
    behaviors: list[str]
    individuals: list[str]
    n_frames: int
    fps: float | None
    time: np.ndarray
    time_unit: str
    masks: np.ndarray  # bool (time, behavior, individual)

    def seconds(self, frames: Any, path: Path, fmt: str) -> np.ndarray:
        """Frame indexes as seconds from the first frame (``frame / fps``)."""
        if self.fps is None:
            raise PoseDataError(
                f"{path}: {fmt} stores times in seconds but the ethogram has no fps; "
                "build it with fps= or set ethogram.attrs['fps']"
            )
        return np.asarray(frames, dtype=np.float64) / self.fps


def view(ethogram: Any) -> View:
    """Look at an Ethogram through the :class:`View` writers use."""
    labels = ethogram.labels.transpose("time", "behavior", "individual")
    masks = np.asarray(labels.values, dtype=bool)
    fps = ethogram.attrs.get("fps")
    fps = positive_fps(fps) if fps is not None else None
    bouts = ethogram.to_bouts()
    bouts = bouts.sort_values(["start_frame", "individual", "behavior"], kind="stable")
    points = getattr(ethogram, "points", None)
    if points is None or len(points) == 0:
        points = pd.DataFrame(columns=POINT_COLUMNS)
    return View(
        bouts=bouts.reset_index(drop=True),
        points=points.reset_index(drop=True),
        behaviors=[str(b) for b in labels["behavior"].values],
        individuals=[str(i) for i in labels["individual"].values],
        n_frames=masks.shape[0],
        fps=fps,
        time=np.asarray(labels["time"].values, dtype=np.float64),
        time_unit=str(ethogram.attrs.get("time_unit", "seconds" if fps else "frames")),
        masks=masks,
    )


def warn_points_dropped(v: View, path: Path, fmt: str) -> None:
    """Log that a format without point events leaves the ethogram's points out."""
    if len(v.points):
        logger.warning(
            "%s: %s has no point events; %d point(s) not written", path, fmt, len(v.points)
        )


def read_text(path: Path) -> str:
    """The file as text (UTF-8, BOM stripped), or a FileFormatError saying it is binary."""
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise FileFormatError(f"{path}: expected a text annotation file, found binary content")
    return raw.decode("utf-8-sig", errors="replace")


def delimiter(line: str) -> str:
    """The most likely field separator of a header line (tab, semicolon or comma)."""
    counts = {sep: line.count(sep) for sep in ("\t", ";", ",")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def split_row(line: str, sep: str | None = None) -> list[str]:
    """Fields of one delimited line, quotes removed and whitespace stripped."""
    sep = sep or delimiter(line)
    return [f.strip() for f in next(csv.reader([line], delimiter=sep))] if line else []


def read_table(path: Path, text: str, skip: int = 0) -> pd.DataFrame:
    """A delimited table starting at line ``skip``, all cells as strings."""
    lines = text.splitlines()[skip:]
    if not lines:
        raise FileFormatError(f"{path}: expected a table after line {skip}, found nothing")
    sep = delimiter(lines[0])
    try:
        return pd.read_csv(io.StringIO("\n".join(lines)), sep=sep, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as err:
        raise FileFormatError(
            f"{path}: cannot parse the table from line {skip + 1}: {err}"
        ) from err


def as_float(path: Path, values: pd.Series, column: str) -> np.ndarray:
    """A column of numbers, or a FileFormatError naming the first bad cell."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        k = int(bad[0])
        raise FileFormatError(
            f"{path}: column {column!r} row {k + 1}: expected a number, found {values.iloc[k]!r}"
        )
    return numbers


def fmt_seconds(value: float) -> str:
    """Seconds with nine decimals: exact to well under a frame and always with a '.'."""
    return f"{float(value):.9f}"
