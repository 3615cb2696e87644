"""BENTO ``.annot`` files (also written by MARS).

Layout: a first line ``Bento annotation file``, ``key: value`` lines
(``Movie file(s):``, ``Stimulus name:``, ``Annotation start frame:``,
``Annotation stop frame:``, ``Annotation framerate:``), a ``List of channels:``
block and a ``List of annotations:`` block (one name a line, ended by a blank
line), then one block per channel: ``<channel>----------`` followed by
``><behavior>`` sections whose ``Start Stop Duration`` rows give the bouts.

Rows hold seconds when at least half have a decimal point (BENTO's own writer)
and 1-based inclusive frame numbers when none has (MARS writes frames, with
``Duration = Stop - Start + 1``); a file with a few decimal rows among frame
numbers is refused, and ``units="seconds"`` or ``"frames"`` forces one
reading. Channels or behaviors missing from the header lists, bouts past the
declared stop frame and signs of truncation (no final line break, a declared
channel without its block) are listed in ``attrs["issues"]``. Seconds are
counted from the first frame. Channels become individuals (``channel=`` keeps
one). The writer uses seconds with nine
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
    check_length,
    fmt_seconds,
    frame_numbers,
    frames_from_seconds,
    need_fps,
    positive_fps,
    positive_number,
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
    text = read_text(path)
    lines = [line.rstrip() for line in text.splitlines()]
    if not lines or not lines[0].strip().lower().startswith("bento annotation file"):
        raise FileFormatError(f"{path}: expected first line 'Bento annotation file'")
    meta: dict[str, str] = {}
    channels: list[str] = []
    declared: list[str] = []
    rows: list[tuple[str, str, str, str, int]] = []  # channel, behavior, start, stop, line
    issues: list[str] = []
    seen: list[str] = []
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
        if match and match.group(1).strip():
            current, behavior = match.group(1).strip(), None
            seen.append(current)
            if channels and current not in channels:
                issues.append(
                    f"line {i + 1}: channel {current!r} is not in the file's List of channels "
                    f"{channels}; read as one more individual"
                )
        elif current is None and ":" in line:
            key, _, value = line.partition(":")
            meta[key.strip().lower()] = value.strip()
        elif line.startswith(">") and current is not None:
            behavior = line[1:].strip()
            if declared and behavior not in declared:
                issues.append(
                    f"line {i + 1}: behavior {behavior!r} is not in the file's List of "
                    f"annotations {declared}"
                )
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
    issues += _truncation(text, channels, seen)

    fps = fps if fps is not None else positive_fps(meta.get("annotation framerate"))
    first = _header_frame(path, meta, "annotation start frame", "1")
    last = meta.get("annotation stop frame")
    seconds = _in_seconds(path, rows, units)
    try:
        starts = np.array([float(r[2]) for r in rows], dtype=np.float64)
        stops = np.array([float(r[3]) for r in rows], dtype=np.float64)
    except ValueError as err:
        raise FileFormatError(f"{path}: a bout row holds a non-number ({err})") from err
    if seconds:
        fps = need_fps(path, fps, "BENTO bout times")
        start_f = frames_from_seconds(path, starts, fps, "a bout start")
        stop_f = frames_from_seconds(path, stops, fps, "a bout stop")
    else:
        start_f = frame_numbers(path, starts, "a bout start frame") - first
        # inclusive 1-based -> exclusive 0-based
        stop_f = frame_numbers(path, stops, "a bout stop frame") - first + 1
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
        issues=issues,
    )
    if n_frames is not None:
        parsed.n_frames = int(n_frames)
    elif last is not None and positive_number(last) is not None:
        parsed.n_frames = _header_frame(path, meta, "annotation stop frame", last) - first + 1
    return to_ethogram(parsed, path)


def _header_frame(path: Path, meta: dict[str, str], key: str, default: str) -> int:
    """A frame number from the header (``Annotation start frame: 1``), range-checked."""
    text = meta.get(key) or default
    try:
        value = float(text)
    except ValueError:
        raise FileFormatError(f"{path}: {key!r}: expected a frame number, found {text!r}") from None
    check_length(path, value, f"{key!r}")
    return int(value)


def _in_seconds(path: Path, rows: list[tuple[str, str, str, str, int]], units: str) -> bool:
    """Whether the bout rows hold seconds: decided once per file, never by one row.

    Seconds when at least half the rows hold a decimal point (BENTO writes ``12.5``; a time on a
    whole second may print as ``12``), frames when none does; a minority of decimal
    rows among frame numbers is refused, naming the first, since reading the whole
    file either way would move every bout.
    """
    if units in ("seconds", "frames"):
        return units == "seconds"
    if units != "auto":
        raise FileFormatError(f"units: expected 'auto', 'seconds' or 'frames', found {units!r}")
    decimal = [r for r in rows if any("." in v or "e" in v.lower() for v in r[2:4])]
    if not decimal:
        return False
    if 2 * len(decimal) >= len(rows):
        return True
    first = decimal[0]
    raise FileFormatError(
        f"{path}: bout rows mix frame numbers ({len(rows) - len(decimal)} rows) and decimal "
        f"times ({len(decimal)} rows, first at line {first[4]}: {first[2]} {first[3]}); "
        "pass units='frames' or units='seconds'"
    )


def _truncation(text: str, channels: list[str], seen: list[str]) -> list[str]:
    """Signs that the file was cut short: no final line break, declared channels missing."""
    issues = []
    if text and not text.endswith(("\n", "\r")):
        issues.append("the file does not end with a line break: it may be truncated")
    missing = [c for c in channels if c not in seen]
    if missing:
        issues.append(
            f"channel(s) {missing} of the List of channels have no block in the file "
            "(truncated?); read with no bouts"
        )
    return issues


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
