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

from behavior.dataset import check_fps
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


MAX_FRAMES = 50_000_000
"""The longest session an annotation file may declare or reach, in frames.

An Ethogram holds every frame in memory (a float time and one bool per behavior
and individual), so a file claiming more (19 days at 30 fps) is refused rather
than allocated; pass ``n_frames=`` where a reader takes it to set the length."""


def check_length(path: Path, frames: Any, what: str) -> None:
    """A FileFormatError naming ``what`` when a frame count or index is beyond MAX_FRAMES."""
    value = float(frames)
    if not np.isfinite(value) or abs(value) > MAX_FRAMES:
        raise FileFormatError(
            f"{path}: {what} is {frames!r} frames, beyond the limit of {MAX_FRAMES:,} frames "
            "(an ethogram holds every frame in memory); check the file"
        )


def frame_numbers(path: Path, values: Any, what: str, fps: float | None = None) -> np.ndarray:
    """Frame indexes from numbers in a file: ``round(t * fps)`` for seconds, else truncated.

    Refuses (naming the file and ``what``) non-finite values and any beyond MAX_FRAMES,
    before the cast to integers that would wrap them around.
    """
    numbers = np.asarray(values, dtype=np.float64)
    if fps is not None:
        numbers = numbers * float(fps)
    bad = np.flatnonzero(~np.isfinite(numbers) | (np.abs(numbers) > MAX_FRAMES))
    if bad.size:
        check_length(path, numbers[bad[0]], f"{what} (value {int(bad[0]) + 1})")
    return (np.rint(numbers) if fps is not None else np.trunc(numbers)).astype(np.int64)


def frames_from_seconds(path: Path, seconds: Any, fps: float, what: str) -> np.ndarray:
    """Nearest frame index of each time in seconds (``round(t * fps)``), range-checked."""
    return frame_numbers(path, seconds, what, fps=fps)


def need_fps(path: Path, fps: float | None, what: str) -> float:
    """The fps, or a FileFormatError saying the file's times need one."""
    if fps is None:
        raise FileFormatError(
            f"{path}: {what} are in seconds and the file gives no frame rate; "
            f"pass fps= (frames per second) to load_annotations"
        )
    return file_fps(path, fps, "fps")


def file_fps(path: Path, fps: Any, name: str) -> float:
    """:func:`behavior.dataset.check_fps` as a FileFormatError naming the file."""
    try:
        return check_fps(fps, name)
    except PoseDataError as err:
        raise FileFormatError(f"{path}: {err}") from err


def positive_fps(value: Any) -> float | None:
    """A frame rate from a file field that :func:`~behavior.dataset.check_fps` accepts, else None.

    ('NA', '', 0, NaN, 1e300 ... read as "no frame rate given").
    """
    try:
        return check_fps(value)
    except PoseDataError:
        return None


def positive_number(value: Any) -> float | None:
    """A positive finite float from a file field (a duration, a frame count), else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


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

    n = _length(parsed, bouts, points, path)
    fps = file_fps(path, parsed.fps, "fps") if parsed.fps is not None else None
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
        # frame-exact bouts fill one bool per frame, behavior and individual: nothing else
        # of the session's length is allocated
        masks = np.zeros((n, len(behaviors), len(individuals)), dtype=bool)
        b_index = {name: k for k, name in enumerate(behaviors)}
        i_index = {name: k for k, name in enumerate(individuals)}
        for row in bouts.itertuples():
            b, i = b_index[str(row.behavior)], i_index[str(row.individual)]
            masks[int(row.start_frame) : int(row.stop_frame), b, i] = True
        da = xr.DataArray(
            masks,
            dims=("time", "behavior", "individual"),
            coords={"time": time, "behavior": behaviors, "individual": individuals},
            attrs={"time_unit": time_unit, **({"fps": fps} if fps else {})},
        )
        eth = Ethogram(da, exclusive=parsed.exclusive, attrs=dict(da.attrs))
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


def _length(parsed: Parsed, bouts: pd.DataFrame, points: pd.DataFrame, path: Path) -> int:
    """The session length in frames: the declared one, extended to the last bout or point.

    Every count is checked against MAX_FRAMES before anything that long is allocated;
    bouts or points past a declared length are listed as issues.
    """
    declared = parsed.n_frames
    if declared is not None:
        check_length(path, declared, "the declared session length")
        if declared < 0:
            raise FileFormatError(
                f"{path}: the declared session length is {declared} frames; expected 0 or more"
            )
    n = int(declared or 0)
    if parsed.masks is not None:
        n = parsed.masks.shape[0]
    last = int(bouts["stop_frame"].max()) if len(bouts) else 0
    if len(points):
        last = max(last, int(points["frame"].max()) + 1)
        if int(points["frame"].min()) < 0:
            raise FileFormatError(
                f"{path}: a point event lies before the first frame "
                f"(at frame {int(points['frame'].min())})"
            )
    check_length(path, last, "the last bout or point's end")
    if declared is not None and parsed.masks is None and last > declared:
        beyond = int((bouts["stop_frame"] > declared).sum()) if len(bouts) else 0
        beyond += int((points["frame"] >= declared).sum()) if len(points) else 0
        parsed.issues.append(
            f"{beyond} bout(s) or point(s) end past the declared session length of {declared} "
            f"frames (the last at frame {last}); the session is extended to {last} frames"
        )
    return max(n, last)


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
