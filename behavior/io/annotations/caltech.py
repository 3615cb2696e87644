"""Caltech Behavior Annotator ``.txt`` files (Piotr Dollar's toolbox; CRIM13, MARS).

Layout: ``Caltech Behavior Annotator - Annotation File``, a blank line,
``Configuration file:`` and one ``<behavior> <key>`` line per behavior up to a
blank line, then one block per stream: ``S1: start end type``, a dashed line,
and ``<start> <end> <type>`` rows in 1-based inclusive frames that tile the
whole video (a gap, an overlap, streams of different lengths or a missing
final line break are listed in ``attrs["issues"]``: signs of a truncated or
edited file). Rows of the background type (``other`` unless ``background=``)
make no bout.

Streams become individuals named ``S1``, ``S2`` ... (``individuals=`` renames
them in order). A stream holds one behavior per frame, so a single-stream file
reads as an exclusive ethogram; the writer refuses an individual whose
behaviors overlap.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from behavior.errors import FileFormatError, PoseDataError
from behavior.io.annotations._common import (
    Parsed,
    bouts_table,
    check_length,
    read_text,
    to_ethogram,
    view,
    warn_points_dropped,
)
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

# A format module's public API is its Frontend; load_annotations / save_annotations
# (or load_poses / save_poses) call the read, write and sniff functions through it.
__all__ = ["FRONTEND"]


HEADER = "Caltech Behavior Annotator - Annotation File"
_STREAM = re.compile(r"^S(\d+)\s*:", re.IGNORECASE)


def sniff(probe: Probe) -> Verdict:
    """Accept files whose first line is the Caltech Behavior Annotator header."""
    lines = probe.lines(1)
    if lines and lines[0].strip().lower() == HEADER.lower():
        return accept(3.0, "Caltech Behavior Annotator header")
    first = lines[0][:60] if lines else ""
    return refuse(f"first line {first!r} is not {HEADER!r}")


def read(
    path: Path,
    *,
    fps: float | None = None,
    background: str = "other",
    individuals: Sequence[str] | None = None,
):
    """Read a Caltech Behavior Annotator file into an Ethogram (streams as individuals)."""
    text = read_text(path)
    lines = [line.strip() for line in text.splitlines()]
    if not lines or lines[0].lower() != HEADER.lower():
        raise FileFormatError(f"{path}: expected first line {HEADER!r}")
    behaviors: list[str] = []
    i = 1
    while i < len(lines) and not lines[i].lower().startswith("configuration file"):
        i += 1
    i += 1
    while i < len(lines) and lines[i] and not _STREAM.match(lines[i]):
        behaviors.append(lines[i].split()[0])
        i += 1
    streams: list[str] = []
    rows: list[tuple[str, str, int, int]] = []
    ends: dict[str, int] = {}
    issues: list[str] = []
    n_frames = 0
    current = None
    for k in range(i, len(lines)):
        line = lines[k]
        match = _STREAM.match(line)
        if match:
            current = f"S{int(match.group(1))}"
            if current in streams:
                raise FileFormatError(f"{path}: line {k + 1}: stream {current} appears twice")
            streams.append(current)
            ends[current] = 0
            continue
        if not line or set(line) == {"-"}:
            continue
        if current is None:
            raise FileFormatError(
                f"{path}: line {k + 1}: expected 'S1: start end type', found {line!r}"
            )
        fields = line.split()
        try:
            start, end = int(fields[0]), int(fields[1])
            kind = fields[2]
        except (IndexError, ValueError) as err:
            raise FileFormatError(
                f"{path}: line {k + 1}: expected '<start> <end> <type>' in frames, found {line!r}"
            ) from err
        check_length(path, end, f"line {k + 1}: the end frame")
        if end < start:
            raise FileFormatError(
                f"{path}: line {k + 1}: ends at frame {end} before it starts at {start}"
            )
        if start != ends[current] + 1:
            issues.append(
                f"line {k + 1}: stream {current} row starts at frame {start}, expected "
                f"{ends[current] + 1} (rows of a stream tile the video)"
            )
        ends[current] = end
        n_frames = max(n_frames, end)
        if kind != background:
            rows.append((current, kind, start - 1, end))
    names = list(individuals) if individuals is not None else streams
    if len(names) != len(streams):
        raise FileFormatError(
            f"individuals: expected {len(streams)} names, one per stream of {path}, found {names}"
        )
    issues += _truncation(text, streams, ends)
    rename = dict(zip(streams, names, strict=True))
    parsed = Parsed(
        source="caltech",
        fps=fps,
        n_frames=n_frames,
        bouts=bouts_table([(rename[s], b, a, e) for s, b, a, e in rows]),
        behaviors=[b for b in behaviors if b != background] or None,
        individuals=names or None,
        exclusive=len(streams) == 1,
        issues=issues,
    )
    return to_ethogram(parsed, path)


def _truncation(text: str, streams: list[str], ends: dict[str, int]) -> list[str]:
    """Signs that the file was cut short: no final line break, no stream, uneven streams."""
    issues = []
    if text and not text.endswith(("\n", "\r")):
        issues.append("the file does not end with a line break: it may be truncated")
    if not streams:
        issues.append("no 'S1:' stream block: the file holds no bouts (truncated?)")
    empty = [s for s in streams if not ends[s]]
    if empty:
        issues.append(f"stream(s) {empty} hold no rows (truncated?)")
    longest = max(ends.values(), default=0)
    short = {s: e for s, e in ends.items() if 0 < e < longest}
    if short:
        issues.append(
            f"stream(s) {short} end before frame {longest}, where the longest stream ends: "
            "the file may be truncated"
        )
    return issues


def write(ethogram: Any, path: Path, *, background: str = "other") -> None:
    """Write a Caltech Behavior Annotator file, one stream per individual."""
    v = view(ethogram)
    warn_points_dropped(v, path, "a Caltech annotation file")
    if background in v.behaviors:
        raise PoseDataError(
            f"{path}: behavior {background!r} is the Caltech background type; "
            "pass background= another name"
        )
    spaced = [name for name in v.behaviors if len(name.split()) != 1]
    if spaced:
        raise PoseDataError(
            f"{path}: Caltech files separate fields by whitespace; behavior names {spaced} "
            "contain whitespace (rename them, e.g. with underscores)"
        )
    keys = iter(string.ascii_lowercase + string.digits)
    out = [HEADER, "", "Configuration file:"]
    out += [f"{name}\t{next(keys, '-')}" for name in [*v.behaviors, background]]
    out.append("")
    for s, individual in enumerate(v.individuals):
        j = v.individuals.index(individual)
        per_frame = v.masks[:, :, j]
        if np.any(per_frame.sum(axis=1) > 1):
            frame = int(np.flatnonzero(per_frame.sum(axis=1) > 1)[0])
            raise PoseDataError(
                f"{path}: individual {individual!r} shows several behaviors at frame {frame}; "
                "a Caltech stream holds one behavior per frame"
            )
        codes = np.where(per_frame.any(axis=1), per_frame.argmax(axis=1), -1)
        out += [f"S{s + 1}:\tstart\tend\ttype", "-----------------------------"]
        if v.n_frames:
            change = np.flatnonzero(np.diff(codes)) + 1
            starts = np.concatenate([[0], change])
            stops = np.concatenate([change, [v.n_frames]])
            for a, e in zip(starts, stops, strict=True):
                name = background if codes[a] < 0 else v.behaviors[codes[a]]
                out.append(f"\t{a + 1}\t{e}\t{name}")
        out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


FRONTEND = Frontend(
    name="caltech",
    description="Caltech Behavior Annotator .txt (streams of 1-based inclusive frame bouts)",
    suffixes=(".txt",),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("cba", "caltech-behavior-annotator"),
)
