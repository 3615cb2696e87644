"""BORIS exports: tabular events (current and old layouts) and aggregated events.

Tabular events (``Observations > Export events``, CSV or TSV) have one row per
event with ``Subject``, ``Behavior``, ``Time`` (seconds) and a type column
(``Behavior type`` in current BORIS, ``Status`` in the old layout) holding
``START``, ``STOP`` or ``POINT``; the current layout also has ``Observation
id``, ``FPS`` and ``Media duration (s)`` (or ``Total length``) columns, the old
one a block of ``key,value`` metadata lines above a table headed ``Time, Media
file path, Total length, FPS, Subject, Behavior, ...``. Aggregated events
(``Export aggregated events``) pair the states: one row per bout with ``Start
(s)``, ``Stop (s)``, ``Duration (s)`` and type ``STATE`` or ``POINT``.

START and STOP are paired per (subject, behavior) in time order. A START with
no STOP, or a STOP with no START, makes no bout: it is listed with its time in
``ethogram.attrs["issues"]`` and logged as a warning (``strict=True`` raises).
Times become frames as ``round(time * fps)``; ``fps=`` overrides the file's
``FPS`` column. A subject of ``""`` or ``"No focal subject"`` becomes ``id_0``.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavior.errors import FileFormatError
from behavior.io.annotations._common import (
    DEFAULT_INDIVIDUAL,
    Parsed,
    as_float,
    bouts_table,
    check_length,
    fmt_seconds,
    frames_from_seconds,
    need_fps,
    points_table,
    positive_fps,
    positive_number,
    read_table,
    read_text,
    split_row,
    to_ethogram,
    view,
)
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

# A format module's public API is its Frontend; load_annotations / save_annotations
# (or load_poses / save_poses) call the read, write and sniff functions through it.
__all__ = ["AGGREGATED", "EVENTS"]


logger = logging.getLogger(__name__)

_NO_SUBJECT = {"", "no focal subject", "nan", "na"}
_DURATION_COLUMNS = ("Media duration (s)", "Total length", "Media duration", "Observation duration")


def _old_header_line(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        fields = split_row(line)
        if fields[:1] == ["Time"] and "Behavior" in fields and "Status" in fields:
            return i
    return None


def sniff_events(probe: Probe) -> Verdict:
    """Accept BORIS tabular event exports (current and old layouts)."""
    lines = probe.lines(80)
    if not lines:
        return refuse("not a text file")
    head = split_row(lines[0])
    if "Behavior" in head and "Time" in head and ("Behavior type" in head or "Status" in head):
        return accept(3.0, "BORIS events header with Behavior, Time and Behavior type")
    if _old_header_line(lines) is not None:
        return accept(3.0, "old BORIS events layout: metadata block then a Time ... Status table")
    return refuse(
        f"first line {lines[0][:60]!r} has no BORIS Behavior/Time/Behavior type columns "
        "and no 'Time,...,Status' table follows"
    )


def sniff_aggregated(probe: Probe) -> Verdict:
    """Accept BORIS aggregated event exports (one row per bout)."""
    lines = probe.lines(1)
    if not lines:
        return refuse("not a text file")
    head = split_row(lines[0])
    if "Behavior" in head and "Start (s)" in head and "Stop (s)" in head:
        return accept(3.0, "BORIS aggregated header with Start (s) and Stop (s)")
    return refuse(f"first line {lines[0][:60]!r} has no BORIS 'Start (s)'/'Stop (s)' columns")


def _subject(value: Any) -> str:
    text = str(value).strip()
    return DEFAULT_INDIVIDUAL if text.lower() in _NO_SUBJECT else text


def _pick_observation(path: Path, table: pd.DataFrame, observation: str | None) -> pd.DataFrame:
    if "Observation id" not in table:
        return table
    ids = list(dict.fromkeys(table["Observation id"]))
    if observation is not None:
        if observation not in ids:
            raise FileFormatError(f"{path}: observation {observation!r} not found; it holds {ids}")
        return table[table["Observation id"] == observation]
    if len(ids) > 1:
        raise FileFormatError(
            f"{path}: holds {len(ids)} observations {ids}; pass observation= one of them"
        )
    return table


def _file_fps(table: pd.DataFrame) -> float | None:
    if "FPS" not in table:
        return None
    for value in table["FPS"]:
        for part in str(value).split(";"):
            fps = positive_fps(part)
            if fps is not None:
                return fps
    return None


def _file_frames(path: Path, table: pd.DataFrame, fps: float) -> int | None:
    for column in _DURATION_COLUMNS:
        if column in table:
            for value in table[column]:
                seconds = positive_number(str(value).split(";")[0])
                if seconds is not None:
                    check_length(path, seconds * fps, f"the {column!r} ({seconds} s)")
                    return round(seconds * fps)
    return None


def _pair(path: Path, table: pd.DataFrame, type_column: str, fps: float, strict: bool) -> Parsed:
    times = as_float(path, table["Time"], "Time")
    frames = frames_from_seconds(path, times, fps, "'Time'")
    subjects = [_subject(s) for s in table["Subject"]] if "Subject" in table else None
    if subjects is None:
        subjects = [DEFAULT_INDIVIDUAL] * len(table)
    kinds = [str(k).strip().upper() for k in table[type_column]]
    behaviors = [str(b).strip() for b in table["Behavior"]]
    order = np.argsort(times, kind="stable")
    open_: dict[tuple[str, str], tuple[float, int]] = {}
    bouts, points, issues = [], [], []
    for k in order:
        key = (subjects[k], behaviors[k])
        kind = kinds[k]
        if kind == "POINT":
            points.append((key[0], key[1], int(frames[k])))
        elif kind == "START":
            if key in open_:
                t0 = open_[key][0]
                issues.append(
                    f"unpaired START of {key[1]!r} for {key[0]!r} at {t0:.3f} s "
                    f"(another START at {times[k]:.3f} s before any STOP)"
                )
            open_[key] = (float(times[k]), int(frames[k]))
        elif kind == "STOP":
            if key not in open_:
                issues.append(
                    f"unpaired STOP of {key[1]!r} for {key[0]!r} at {times[k]:.3f} s (no START)"
                )
                continue
            _, start = open_.pop(key)
            bouts.append((key[0], key[1], start, int(frames[k])))
        else:
            raise FileFormatError(
                f"{path}: row {k + 2}: {type_column} {table[type_column].iloc[k]!r}; "
                "expected START, STOP or POINT"
            )
    for key, (t0, _) in open_.items():
        issues.append(f"unpaired START of {key[1]!r} for {key[0]!r} at {t0:.3f} s (no STOP)")
    if strict and issues:
        raise FileFormatError(f"{path}: unpaired BORIS events (strict=True): " + "; ".join(issues))
    return Parsed(
        source="boris",
        fps=fps,
        bouts=bouts_table(bouts),
        points=points_table(points),
        behaviors=None,  # from the bouts; point-only behaviors stay in .points
        individuals=list(dict.fromkeys(subjects)),
        issues=issues,
    )


def read_events(
    path: Path,
    *,
    fps: float | None = None,
    observation: str | None = None,
    strict: bool = False,
    n_frames: int | None = None,
):
    """Read a BORIS tabular events export (either layout) into an Ethogram."""
    text = read_text(path)
    lines = text.splitlines()
    header = split_row(lines[0]) if lines else []
    if "Behavior" in header and "Time" in header:
        table = read_table(path, text)
        type_column = "Behavior type" if "Behavior type" in table else "Status"
        meta: dict[str, str] = {}
    else:
        start = _old_header_line(lines[:200])
        if start is None:
            raise FileFormatError(
                f"{path}: expected a BORIS events table (header 'Time,Media file path,...,Status')"
            )
        meta = {}
        for line in lines[:start]:
            fields = split_row(line)
            if len(fields) >= 2 and fields[0]:
                meta[fields[0]] = fields[1]
        table = read_table(path, text, skip=start)
        type_column = "Status"
    missing = [c for c in ("Behavior", "Time", type_column) if c not in table]
    if missing:
        raise FileFormatError(f"{path}: BORIS events table lacks column(s) {missing}")
    table = _pick_observation(path, table, observation)
    table = table[table["Time"].astype(str).str.strip() != ""]
    fps = need_fps(path, fps if fps is not None else _file_fps(table), "BORIS event times")
    parsed = _pair(path, table, type_column, fps, strict)
    parsed.n_frames = n_frames if n_frames is not None else _file_frames(path, table, fps)
    if "Observation id" in table and len(table):
        parsed.attrs["observation_id"] = str(table["Observation id"].iloc[0])
    elif "Observation id" in meta:
        parsed.attrs["observation_id"] = meta["Observation id"]
    return to_ethogram(parsed, path)


def read_aggregated(
    path: Path,
    *,
    fps: float | None = None,
    observation: str | None = None,
    n_frames: int | None = None,
):
    """Read a BORIS aggregated events export (one row per bout) into an Ethogram."""
    table = read_table(path, read_text(path))
    missing = [c for c in ("Behavior", "Start (s)", "Stop (s)") if c not in table]
    if missing:
        raise FileFormatError(f"{path}: BORIS aggregated table lacks column(s) {missing}")
    table = _pick_observation(path, table, observation)
    fps = need_fps(path, fps if fps is not None else _file_fps(table), "BORIS bout times")
    starts = frames_from_seconds(
        path, as_float(path, table["Start (s)"], "Start (s)"), fps, "'Start (s)'"
    )
    kinds = (
        [str(k).strip().upper() for k in table["Behavior type"]]
        if "Behavior type" in table
        else ["STATE"] * len(table)
    )
    points_mask = np.array([k == "POINT" for k in kinds], dtype=bool)
    stop_values = table["Stop (s)"].where(~points_mask, table["Start (s)"])
    stops = frames_from_seconds(path, as_float(path, stop_values, "Stop (s)"), fps, "'Stop (s)'")
    subjects = (
        [_subject(s) for s in table["Subject"]]
        if "Subject" in table
        else [DEFAULT_INDIVIDUAL] * len(table)
    )
    behaviors = [str(b).strip() for b in table["Behavior"]]
    bouts, points = [], []
    for k in range(len(table)):
        if points_mask[k]:
            points.append((subjects[k], behaviors[k], int(starts[k])))
        else:
            bouts.append((subjects[k], behaviors[k], int(starts[k]), int(stops[k])))
    parsed = Parsed(
        source="boris-aggregated",
        fps=fps,
        n_frames=n_frames if n_frames is not None else _file_frames(path, table, fps),
        bouts=bouts_table(bouts),
        points=points_table(points),
        behaviors=None,  # from the bouts; point-only behaviors stay in .points
        individuals=list(dict.fromkeys(subjects)),
    )
    return to_ethogram(parsed, path)


_EVENT_COLUMNS = [
    "Observation id",
    "Observation date",
    "Description",
    "Observation type",
    "Media duration (s)",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Modifiers",
    "Behavior type",
    "Time",
    "Media file path",
    "Comment",
]


def write_events(
    ethogram: Any, path: Path, *, observation_id: str | None = None, media_file: str = ""
) -> None:
    """Write a BORIS tabular events CSV/TSV (current layout): START/STOP per bout, POINTs."""
    v = view(ethogram)
    fmt = "BORIS events"
    rows = []
    for b in v.bouts.itertuples():
        for kind, frame in (("START", b.start_frame), ("STOP", b.stop_frame)):
            rows.append((float(v.seconds([frame], path, fmt)[0]), kind, b.individual, b.behavior))
    for p in v.points.itertuples():
        rows.append((float(v.seconds([p.frame], path, fmt)[0]), "POINT", p.individual, p.behavior))
    rows.sort(key=lambda r: (r[0], r[1] == "START"))
    duration = fmt_seconds(float(v.seconds([v.n_frames], path, fmt)[0]))
    obs = observation_id or path.name.split(".")[0]
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter=sep)
        out.writerow(_EVENT_COLUMNS)
        for t, kind, individual, behavior in rows:
            out.writerow(
                [obs, "", "", "Media file", duration, repr(float(v.fps)), individual, behavior,
                 "", "", kind, fmt_seconds(t), media_file, ""]
            )  # fmt: skip


_AGGREGATED_COLUMNS = [
    "Observation id",
    "Observation date",
    "Description",
    "Media file",
    "Total length",
    "FPS",
    "Subject",
    "Behavior",
    "Behavioral category",
    "Modifiers",
    "Behavior type",
    "Start (s)",
    "Stop (s)",
    "Duration (s)",
    "Comment start",
    "Comment stop",
]


def write_aggregated(
    ethogram: Any, path: Path, *, observation_id: str | None = None, media_file: str = ""
) -> None:
    """Write a BORIS aggregated events CSV/TSV: one STATE row per bout, one POINT row per point."""
    v = view(ethogram)
    fmt = "BORIS aggregated events"
    rows = []
    for b in v.bouts.itertuples():
        start, stop = v.seconds([b.start_frame, b.stop_frame], path, fmt)
        rows.append((start, stop, "STATE", b.individual, b.behavior))
    for p in v.points.itertuples():
        t = float(v.seconds([p.frame], path, fmt)[0])
        rows.append((t, t, "POINT", p.individual, p.behavior))
    rows.sort(key=lambda r: (r[0], r[3], r[4]))
    duration = fmt_seconds(float(v.seconds([v.n_frames], path, fmt)[0]))
    obs = observation_id or path.name.split(".")[0]
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter=sep)
        out.writerow(_AGGREGATED_COLUMNS)
        for start, stop, kind, individual, behavior in rows:
            out.writerow(
                [obs, "", "", media_file, duration, repr(float(v.fps)), individual, behavior,
                 "", "", kind, fmt_seconds(start), fmt_seconds(stop),
                 fmt_seconds(stop - start) if kind == "STATE" else "NA", "", ""]
            )  # fmt: skip


# name, description, suffixes, sniff, read, write, aliases (Frontend's field order)
EVENTS, AGGREGATED = (
    Frontend(*fields)
    for fields in (
        ("boris",
         "BORIS tabular events export (START/STOP/POINT rows; current and old layouts)",
         (".csv", ".tsv"), sniff_events, read_events, write_events, ("BORIS", "boris-events")),
        ("boris-aggregated",
         "BORIS aggregated events export (one row per bout with Start (s), Stop (s))",
         (".csv", ".tsv"), sniff_aggregated, read_aggregated, write_aggregated,
         ("boris_aggregated",)),
    )
)  # fmt: skip
