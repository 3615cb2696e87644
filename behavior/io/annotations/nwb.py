"""NWB ``TimeIntervals``: one table of bouts per behavior in the file's ``intervals`` section.

Layout written (pynapple reads each ``TimeIntervals`` table as one ``IntervalSet``,
so every behavior keeps its own intervals):

- one table per behavior that has bouts or point events, named
  ``<table>_<behavior>`` (``table`` defaults to ``"behavior"``, so ``chase``
  lands in ``intervals/behavior_chase``). Every character of the behavior name
  outside ``A-Z a-z 0-9 _ - .`` becomes ``_``; when two behaviors end up with
  the same name, the later ones (in the ethogram's behavior order) get ``_2``,
  ``_3`` ... . The exact name is always in the table's ``behavior`` column.
- each table has the standard ``start_time`` and ``stop_time`` columns
  (seconds) plus ``individual`` and ``behavior`` text columns. A row with
  ``stop_time == start_time`` is a point event.
- each table's description starts with ``fps=30.0 n_frames=900 group=<table>``,
  so a round trip keeps the time axis and the reader knows which tables belong
  together; the reader takes fps from there unless ``fps=`` is given. Times
  count from the first frame, except in the files of
  :func:`behavior.decode.to_nwb`, which keep the session's clock and say
  ``t0=<first time>`` after ``n_frames``.

``append=True`` adds the tables to an existing NWB file (a session file with
acquisition, processing or other intervals), leaving everything there as it
was; a table name already in the file's ``intervals`` is refused.

The reader also reads the earlier layout (one table, default name
``behavior``, holding every behavior in its ``behavior`` column). Needs pynwb
(``pip install 'behavior[nwb]'``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from behavior.errors import FileFormatError, PoseDataError, require_module
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
from behavior.io.nwb import append_to_file
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

# A format module's public API is its Frontend; load_annotations / save_annotations
# (or load_poses / save_poses) call the read, write and sniff functions through it.
__all__ = ["FRONTEND", "add_intervals", "interval_tables", "table_names"]


_META = re.compile(r"fps=([0-9.eE+-]+)\s+n_frames=(\d+)")
_T0 = re.compile(r"\bt0=([0-9.eE+-]+)")
_GROUP = re.compile(r"\bgroup=([A-Za-z0-9_.\-]+)")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_PREFIX = re.compile(r"^[A-Za-z0-9_.\-]+$")
_READ_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError)


def table_names(behaviors: list[str], table: str = "behavior") -> dict[str, str]:
    """The NWB table name the writer gives each behavior.

    Parameters
    ----------
    behaviors
        Behavior names, in the order that decides who gets a ``_2`` suffix on a clash.
    table
        The prefix (letters, digits, ``_``, ``-`` and ``.`` only).

    Returns
    -------
    dict
        Behavior name -> table name: ``<table>_<behavior>`` with every character
        outside ``A-Z a-z 0-9 _ - .`` replaced by ``_``, and ``_2``, ``_3`` ...
        added where two names would clash. Names are unique and valid in NWB.

    Raises
    ------
    PoseDataError
        If ``table`` is empty or holds other characters.

    Examples
    --------
    >>> table_names(["chase", "nose/nose", "nose nose"])  # doctest: +NORMALIZE_WHITESPACE
    {'chase': 'behavior_chase', 'nose/nose': 'behavior_nose_nose',
     'nose nose': 'behavior_nose_nose_2'}
    """
    if not isinstance(table, str) or not _PREFIX.match(table):
        raise PoseDataError(
            f"table: expected a name of letters, digits, '_', '-' or '.', found {table!r}"
        )
    names: dict[str, str] = {}
    taken: set[str] = set()
    for behavior in behaviors:
        base = f"{table}_{_UNSAFE.sub('_', str(behavior))}"
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        names[str(behavior)] = name
    return names


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
    """Read behavior bouts from NWB TimeIntervals tables into an Ethogram.

    ``table`` names one table (the earlier one-table layout, or one behavior's
    table) or the prefix of a group of per-behavior tables; by default the group
    ``behavior``, else the table ``behavior``, else the first table with a
    ``behavior`` column.
    """
    pynwb = require_module("pynwb", "nwb", "reading NWB annotation files")
    try:
        df, description = _tables(pynwb, path, table)
    except FileFormatError:
        raise
    except _READ_ERRORS as err:
        # h5py / hdmf on a file that is not NWB, or a damaged one
        raise FileFormatError(
            f"{path}: expected an NWB (HDF5) file with an intervals table, "
            f"found one that cannot be read ({type(err).__name__}: {err})"
        ) from err
    meta = _META.search(description)
    if fps is None and meta:
        fps = float(meta.group(1))
    fps = need_fps(path, fps, "NWB interval times")
    t0 = float(m.group(1)) if (m := _T0.search(description)) else 0.0
    start_s = df["start_time"].to_numpy(float) - t0
    stop_s = df["stop_time"].to_numpy(float) - t0
    start = frames_from_seconds(path, start_s, fps, "a start_time")
    stop = frames_from_seconds(path, stop_s, fps, "a stop_time")
    behaviors = [str(b) for b in df["behavior"]]
    subjects = (
        [str(s) for s in df["individual"]] if "individual" in df else [DEFAULT_INDIVIDUAL] * len(df)
    )
    is_point = df["stop_time"].to_numpy(float) == df["start_time"].to_numpy(float)
    parsed = Parsed(
        source="nwb",
        fps=fps,
        n_frames=int(meta.group(2)) if meta else None,
        time=t0 + np.arange(int(meta.group(2))) / fps if meta and t0 else None,
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


def _tables(pynwb: Any, path: Path, table: str | None) -> tuple[Any, str]:
    """The chosen intervals table(s) as one DataFrame (rows in time order), and a description."""
    import pandas as pd

    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        intervals = dict(nwb.intervals or {})
        labelled = {n: t for n, t in intervals.items() if "behavior" in t.colnames}
        prefix = table or "behavior"
        group = [
            n
            for n, t in labelled.items()
            if n.startswith(f"{prefix}_")
            and (m := _GROUP.search(t.description or "")) is not None
            and m.group(1) == prefix
        ]
        if table is not None and table in labelled:
            chosen = [table]
        elif group:
            chosen = sorted(group)
        elif table is None and labelled:
            chosen = ["behavior" if "behavior" in labelled else next(iter(labelled))]
        else:
            raise FileFormatError(
                f"{path}: no intervals table {table or ''} (nor tables {prefix}_<behavior>) "
                f"with a 'behavior' column; tables: {list(intervals)}"
            )
        frames = [labelled[n].to_dataframe() for n in chosen]
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if len(frames) > 1:
            df = df.sort_values(["start_time", "stop_time"], kind="stable", ignore_index=True)
        return df, labelled[chosen[0]].description or ""


def interval_tables(
    ethogram: Any, table: str = "behavior", *, session_times: bool = False
) -> list[Any]:
    """The ``pynwb`` TimeIntervals tables :func:`write` puts in a file, one per behavior.

    Parameters
    ----------
    ethogram
        An :class:`~behavior.ethogram.Ethogram` with a known ``fps``.
    table
        The prefix of the table names (see :func:`table_names`) and their group.
    session_times
        False (the annotation files' convention): times count from the first
        frame, ``frame / fps``. True: times on the ethogram's own clock,
        ``time[0] + frame / fps`` (what :func:`behavior.decode.to_nwb` writes, so
        that bouts and features share one time axis); the description then holds
        ``t0=<time[0]>`` and :func:`read` gives the same time axis back.

    Returns
    -------
    list of pynwb.epoch.TimeIntervals
        One per behavior with bouts or point events, in the ethogram's behavior
        order (point-only behaviors after), or one empty table named ``table``
        when there is nothing to write (it keeps fps and n_frames).

    Raises
    ------
    PoseDataError
        If the ethogram has no fps, or ``table`` is not a valid name.
    MissingDependencyError
        If pynwb is missing.

    Examples
    --------
    >>> [t.name for t in interval_tables(eth)]  # doctest: +SKIP
    ['behavior_chase', 'behavior_rest']
    """
    require_module("pynwb", "nwb", "writing NWB annotation files")
    from pynwb.epoch import TimeIntervals

    v = view(ethogram)
    seconds = v.seconds(np.arange(v.n_frames + 1), Path("<nwb>"), "NWB TimeIntervals")
    t0 = 0.0
    if session_times and v.n_frames:
        t0 = float(v.time[0]) / (v.fps if v.time_unit == "frames" else 1.0)
        seconds = seconds + t0
    clock = f" t0={t0!r}" if t0 else ""
    rows = [(b.start_frame, b.stop_frame, b.behavior, b.individual) for b in v.bouts.itertuples()]
    rows += [(p.frame, p.frame, p.behavior, p.individual) for p in v.points.itertuples()]
    present = {str(r[2]) for r in rows}
    order = [str(b) for b in ethogram.behaviors if str(b) in present]
    order += sorted(present - set(order))  # point-only behaviors
    names = table_names(order, table)
    if not order:  # nothing to write: one empty table keeps fps and n_frames
        names = {"": table}
        order = [""]
    tables = []
    for behavior in order:
        intervals = TimeIntervals(
            name=names[behavior],
            description=(
                f"fps={v.fps!r} n_frames={v.n_frames}{clock} group={table}; bouts and point events "
                f"of one behavior (its name is in the behavior column), written by behavior"
            ),
        )
        mine = [r for r in rows if str(r[2]) == behavior]
        # hdmf cannot guess the type of an empty list: an empty table gets typed columns
        text = (lambda: np.array([], dtype=str)) if not mine else list
        intervals.add_column("individual", "individual name", data=text())
        intervals.add_column("behavior", "behavior name", data=text())
        for a, e, _, individual in sorted(mine, key=lambda r: (r[0], r[1], str(r[3]))):
            intervals.add_row(
                start_time=float(seconds[a]),
                stop_time=float(seconds[e]),
                individual=str(individual),
                behavior=behavior,
            )
        tables.append(intervals)
    return tables


def write(
    ethogram: Any,
    path: Path,
    *,
    table: str = "behavior",
    session_description: str = "",
    append: bool = False,
) -> None:
    """Write one NWB TimeIntervals table per behavior, into a new file or an existing one.

    ``append=True``: ``path`` already holds the NWB file to add to
    (:func:`behavior.save_annotations` copies the existing file to its
    temporary path first); a new file is written when ``path`` does not exist.
    """
    pynwb = require_module("pynwb", "nwb", "writing NWB annotation files")
    from behavior.io.registry import hdf5_in_memory

    if view(ethogram).fps is None:
        raise PoseDataError(
            f"{path}: NWB TimeIntervals stores times in seconds but the ethogram has no fps; "
            "build it with fps= or set ethogram.attrs['fps']"
        )
    tables = interval_tables(ethogram, table)
    if append and Path(path).exists():
        add_intervals(Path(path), tables)
        return
    nwb = pynwb.NWBFile(
        session_description=session_description or "behavior annotations",
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.now(UTC),
    )
    for intervals in tables:
        nwb.add_time_intervals(intervals)
    # built in memory, written in one plain write: a full disk cannot leave HDF5 handles open
    with hdf5_in_memory(path) as f, pynwb.NWBHDF5IO(file=f, mode="w") as io:
        io.write(nwb)


def add_intervals(path: Path, tables: list[Any]) -> None:
    """Add TimeIntervals ``tables`` to the NWB file at ``path`` (a copy), refusing a name
    already in its ``intervals``; everything that was there stays as it was.

    Parameters
    ----------
    path
        An NWB file (the temporary copy of :func:`behavior.io.registry.atomic_path`).
    tables
        From :func:`interval_tables`.

    Raises
    ------
    FileFormatError
        If a table name is taken, the file cannot be read, or objects were lost.

    Examples
    --------
    >>> add_intervals(Path("session.nwb"), interval_tables(eth))  # doctest: +SKIP
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            existing = set(f["intervals"]) if "intervals" in f else set()
    except OSError as err:
        raise FileFormatError(
            f"{path}: append=True expected an NWB (HDF5) file to add to, found one that "
            f"cannot be read ({err})"
        ) from err
    clash = [t.name for t in tables if t.name in existing]
    if clash:
        raise FileFormatError(
            f"{path}: append=True would overwrite the intervals table(s) {clash} already in "
            f"the file; pass table=<another prefix> or remove them first (file unchanged)"
        )

    def add(nwb: Any) -> None:
        for intervals in tables:
            nwb.add_time_intervals(intervals)

    append_to_file(path, add)


FRONTEND = Frontend(
    name="nwb",
    description="NWB TimeIntervals, one table per behavior (start_time, stop_time, "
    "individual, behavior); reads the one-table layout too; append=True adds to a file",
    suffixes=(".nwb",),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("NWB", "timeintervals"),
)
