"""NWB ``TimeIntervals``: one table of bouts in the file's ``intervals`` section.

The table (default name ``behavior``; ``table=`` picks another) has the
standard ``start_time`` and ``stop_time`` columns (seconds) plus ``behavior``
and ``individual`` text columns. A row with ``stop_time == start_time`` is a
point event. The writer stores the frame rate and the session length in the
table's description (``... fps=30.0 n_frames=900``) so a round trip keeps the
time axis; the reader takes them from there unless ``fps=`` is given. Needs
pynwb (``pip install 'behavior[nwb]'``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from behavior.errors import FileFormatError, require_module
from behavior.io.annotations._common import (
    DEFAULT_INDIVIDUAL,
    Parsed,
    bouts_table,
    frames_from_seconds,
    need_fps,
    points_table,
    to_ethogram,
    view,
)
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

# A format module's public API is its Frontend; load_annotations / save_annotations
# (or load_poses / save_poses) call the read, write and sniff functions through it.
__all__ = ["FRONTEND"]


_META = re.compile(r"fps=([0-9.eE+-]+)\s+n_frames=(\d+)")


def sniff(probe: Probe) -> Verdict:
    """Accept HDF5 files with an ``intervals/<table>/behavior`` column."""
    if not probe.is_hdf5:
        return refuse("not an HDF5/NWB file")
    tree = probe.h5_tree
    tables = [k.split("/")[1] for k in tree if k.startswith("intervals/") and k.count("/") == 2]
    if any(
        f"intervals/{t}/behavior" in tree and f"intervals/{t}/start_time" in tree for t in tables
    ):
        return accept(2.0, "NWB intervals table with a behavior column")
    return refuse("no NWB intervals table with start_time and behavior columns")


def read(path: Path, *, fps: float | None = None, table: str | None = None):
    """Read behavior bouts from an NWB TimeIntervals table into an Ethogram."""
    pynwb = require_module("pynwb", "nwb", "reading NWB annotation files")
    try:
        df, description = _table(pynwb, path, table)
    except FileFormatError:
        raise
    except (
        OSError,
        RuntimeError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
    ) as err:
        # h5py / hdmf on a file that is not NWB, or a damaged one
        raise FileFormatError(
            f"{path}: expected an NWB (HDF5) file with an intervals table, "
            f"found one that cannot be read ({type(err).__name__}: {err})"
        ) from err
    meta = _META.search(description)
    if fps is None and meta:
        fps = float(meta.group(1))
    fps = need_fps(path, fps, "NWB interval times")
    start = frames_from_seconds(path, df["start_time"].to_numpy(float), fps, "a start_time")
    stop = frames_from_seconds(path, df["stop_time"].to_numpy(float), fps, "a stop_time")
    behaviors = [str(b) for b in df["behavior"]]
    subjects = (
        [str(s) for s in df["individual"]] if "individual" in df else [DEFAULT_INDIVIDUAL] * len(df)
    )
    is_point = df["stop_time"].to_numpy(float) == df["start_time"].to_numpy(float)
    parsed = Parsed(
        source="nwb",
        fps=fps,
        n_frames=int(meta.group(2)) if meta else None,
        bouts=bouts_table(
            [(subjects[k], behaviors[k], int(start[k]), int(stop[k]))
             for k in range(len(df)) if not is_point[k]]
        ),
        points=points_table(
            [(subjects[k], behaviors[k], int(start[k])) for k in range(len(df)) if is_point[k]]
        ),
        behaviors=None,  # from the bouts; point-only behaviors stay in .points
        individuals=list(dict.fromkeys(subjects)) or None,
    )  # fmt: skip
    return to_ethogram(parsed, path)


def _table(pynwb: Any, path: Path, table: str | None) -> tuple[Any, str]:
    """The chosen intervals table as a DataFrame, and its description."""
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        intervals = dict(nwb.intervals or {})
        names = [n for n, t in intervals.items() if "behavior" in t.colnames]
        name = table or ("behavior" if "behavior" in names else (names[0] if names else None))
        if name is None or name not in intervals:
            raise FileFormatError(
                f"{path}: no intervals table {table or ''} with a 'behavior' column; "
                f"tables: {list(intervals)}"
            )
        return intervals[name].to_dataframe(), intervals[name].description or ""


def write(
    ethogram: Any, path: Path, *, table: str = "behavior", session_description: str = ""
) -> None:
    """Write the bouts and points as an NWB TimeIntervals table in a new NWB file."""
    pynwb = require_module("pynwb", "nwb", "writing NWB annotation files")
    from pynwb.epoch import TimeIntervals

    from behavior.io.registry import hdf5_in_memory

    v = view(ethogram)
    seconds = v.seconds(np.arange(v.n_frames + 1), path, "NWB TimeIntervals")
    nwb = pynwb.NWBFile(
        session_description=session_description or "behavior annotations",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.now(UTC),
    )
    intervals = TimeIntervals(
        name=table,
        description=f"behavior bouts and point events; fps={v.fps!r} n_frames={v.n_frames}",
    )
    intervals.add_column("behavior", "behavior name")
    intervals.add_column("individual", "individual name")
    rows = [(b.start_frame, b.stop_frame, b.behavior, b.individual) for b in v.bouts.itertuples()]
    rows += [(p.frame, p.frame, p.behavior, p.individual) for p in v.points.itertuples()]
    for a, e, behavior, individual in sorted(rows, key=lambda r: (r[0], r[1], r[3], r[2])):
        intervals.add_row(
            start_time=float(seconds[a]),
            stop_time=float(seconds[e]),
            behavior=str(behavior),
            individual=str(individual),
        )
    nwb.add_time_intervals(intervals)
    # built in memory, written in one plain write: a full disk cannot leave HDF5 handles open
    with hdf5_in_memory(path) as f, pynwb.NWBHDF5IO(file=f, mode="w") as io:
        io.write(nwb)


FRONTEND = Frontend(
    name="nwb",
    description="NWB TimeIntervals table (start_time, stop_time, behavior, individual)",
    suffixes=(".nwb",),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("NWB", "timeintervals"),
)
