"""BENTO ``.annot`` files (also written by MARS).

Layout: a first line ``Bento annotation file``, ``key: value`` lines
(``Movie file(s):``, ``Stimulus name:``, ``Annotation start frame:``,
``Annotation stop frame:``, ``Annotation framerate:``), a ``List of channels:``
block and a ``List of annotations:`` block (one name a line, ended by a blank
line), then one block per channel: ``<channel>----------`` followed by
``><behavior>`` sections whose ``Start Stop Duration`` rows give the bouts.

Rows hold seconds when their numbers have a decimal point (BENTO's own writer)
and 1-based inclusive frame numbers otherwise (MARS writes frames, with
``Duration = Stop - Start + 1``); ``units="seconds"`` or ``"frames"`` forces
one reading. Seconds are counted from the first frame. Channels become
individuals (``channel=`` keeps one). The writer uses seconds with nine
decimals, one channel per individual.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from behavior.errors import FileFormatError
from behavior.io.annotations._common import (
    Parsed,
    bouts_table,
    fmt_seconds,
    frames_from_seconds,
    need_fps,
    positive_fps,
    read_text,
    to_ethogram,
    view,
    warn_points_dropped,
)
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

# A format module's public API is its Frontend; load_annotations / save_annotations
# (or load_poses / save_poses) call the read, write and sniff functions through it.
__all__ = ["FRONTEND"]


_CHANNEL = re.compile(r"^(.*?)-{3,}\s*$")


def sniff(probe: Probe) -> Verdict:
    """Accept files whose first line starts with 'Bento annotation file'."""
    lines = probe.lines(1)
    if lines and lines[0].strip().lower().startswith("bento annotation file"):
        return accept(3.0, "first line 'Bento annotation file'")
    first = lines[0][:60] if lines else ""
    return refuse(f"first line {first!r} is not 'Bento annotation file'")


def read(
    path: Path,
    *,
    fps: float | None = None,
    units: str = "auto",
    channel: str | None = None,
    n_frames: int | None = None,
):
    """Read a BENTO ``.annot`` file into an Ethogram (channels as individuals)."""
    lines = [line.rstrip() for line in read_text(path).splitlines()]
    if not lines or not lines[0].strip().lower().startswith("bento annotation file"):
        raise FileFormatError(f"{path}: expected first line 'Bento annotation file'")
    meta: dict[str, str] = {}
    channels: list[str] = []
    declared: list[str] = []
    rows: list[tuple[str, str, str, str, int]] = []  # channel, behavior, start, stop, line
    i, current, behavior = 1, None, None
    while i < len(lines):
        line = lines[i].strip()
        lower = line.lower()
        if lower.startswith("list of channels") or lower.startswith("list of annotations"):
            target = channels if "channels" in lower else declared
            i += 1
            while i < len(lines) and lines[i].strip():
                target.append(lines[i].strip())
                i += 1
            continue
        match = _CHANNEL.match(line)
        if match and (current is None or not channels or match.group(1).strip() in channels):
            current, behavior = match.group(1).strip(), None
        elif current is None and ":" in line:
            key, _, value = line.partition(":")
            meta[key.strip().lower()] = value.strip()
        elif line.startswith(">") and current is not None:
            behavior = line[1:].strip()
        elif lower.startswith("start") or not line:
            pass
        elif current is not None and behavior is not None:
            fields = line.split()
            if len(fields) < 2:
                raise FileFormatError(
                    f"{path}: line {i + 1}: expected 'Start Stop Duration', found {line!r}"
                )
            rows.append((current, behavior, fields[0], fields[1], i + 1))
        i += 1

    fps = fps if fps is not None else positive_fps(meta.get("annotation framerate"))
    first = int(float(meta.get("annotation start frame", "1") or 1))
    last = meta.get("annotation stop frame")
    if units == "auto":
        seconds = any(("." in r[2] or "." in r[3] or "e" in r[2].lower()) for r in rows)
    elif units in ("seconds", "frames"):
        seconds = units == "seconds"
    else:
        raise FileFormatError(f"units: expected 'auto', 'seconds' or 'frames', found {units!r}")
    try:
        starts = np.array([float(r[2]) for r in rows], dtype=np.float64)
        stops = np.array([float(r[3]) for r in rows], dtype=np.float64)
    except ValueError as err:
        raise FileFormatError(f"{path}: a bout row holds a non-number ({err})") from err
    if seconds:
        fps = need_fps(path, fps, "BENTO bout times")
        start_f, stop_f = frames_from_seconds(starts, fps), frames_from_seconds(stops, fps)
    else:
        start_f = starts.astype(np.int64) - first
        stop_f = stops.astype(np.int64) - first + 1  # inclusive 1-based -> exclusive 0-based
    keep = [k for k, r in enumerate(rows) if channel is None or r[0] == channel]
    if channel is not None and channel not in channels and not keep:
        raise FileFormatError(f"{path}: channel {channel!r} not found; channels are {channels}")
    parsed = Parsed(
        source="bento",
        fps=fps,
        bouts=bouts_table(
            [(rows[k][0], rows[k][1], int(start_f[k]), int(stop_f[k])) for k in keep]
        ),
        behaviors=declared or None,
        individuals=[channel] if channel is not None else (channels or None),
    )
    if n_frames is not None:
        parsed.n_frames = int(n_frames)
    elif last is not None and positive_fps(last) is not None:
        parsed.n_frames = int(float(last)) - first + 1
    return to_ethogram(parsed, path)


def write(ethogram: Any, path: Path, *, movie: str = "", stimulus: str = "") -> None:
    """Write a BENTO ``.annot`` file with bout times in seconds, one channel per individual."""
    v = view(ethogram)
    warn_points_dropped(v, path, "a BENTO .annot file")
    seconds = v.seconds(np.arange(v.n_frames + 1), path, "BENTO .annot")
    out = [
        "Bento annotation file",
        f"Movie file(s): {movie}",
        "",
        f"Stimulus name: {stimulus}",
        "Annotation start frame: 1",
        f"Annotation stop frame: {v.n_frames}",
        f"Annotation framerate: {v.fps!r}",
        "",
        "List of channels:",
        *v.individuals,
        "",
        "List of annotations:",
        *v.behaviors,
        "",
    ]
    for individual in v.individuals:
        out.append(f"{individual}----------")
        mine = v.bouts[v.bouts["individual"] == individual]
        for behavior in v.behaviors:
            bouts = mine[mine["behavior"] == behavior]
            if not len(bouts):
                continue
            out += [f">{behavior}", "Start\tStop\tDuration"]
            for b in bouts.itertuples():
                start, stop = seconds[b.start_frame], seconds[b.stop_frame]
                out.append(
                    f"{fmt_seconds(start)}\t{fmt_seconds(stop)}\t{fmt_seconds(stop - start)}"
                )
            out.append("")
        out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


FRONTEND = Frontend(
    name="bento",
    description="BENTO / MARS .annot annotation file (channels as individuals)",
    suffixes=(".annot",),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("BENTO", "annot", "mars"),
)
