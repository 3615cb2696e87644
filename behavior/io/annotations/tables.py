"""Per-frame 0/1 tables (SimBA targets, DeepEthogram, plain CSV) and interval tables.

SimBA targets (``csv/targets_inserted``): a pandas CSV whose first, unnamed
column is the frame index, then pose/feature columns, then one 0/1 column per
classifier. The behaviors are the columns named by ``behaviors=``; without it,
every column holding only 0 and 1 (with at least one row) that is not a pose
column (``*_x``, ``*_y``, ``*_p``) counts as a behavior. Feature columns that
happen to be 0/1 are then taken too: pass ``behaviors=`` when that matters.
One individual (SimBA labels are per video).

DeepEthogram labels: an unnamed index column, ``background`` and one 0/1
column per behavior; ``background`` is 1 where no behavior is.

Plain per-frame CSV: a ``frame`` and/or ``time`` column (seconds), an optional
``individual`` column (one row per frame and individual), and one 0/1 column
per behavior. ``time`` becomes the time coordinate; with ``frame`` only, time
is ``frame / fps`` or frames.

Intervals CSV: one row per bout with start, stop and behavior columns (and
optionally an individual column), comma, semicolon or tab separated, such as
the DLCAnalyzer label tables (``file;Experimenter;from;to;type;ID``). Column
names are found among common spellings (``start``/``from``/``onset``,
``stop``/``to``/``end``, ``behavior``/``type``/``label``) or given with
``start=``, ``stop=``, ``behavior=``, ``individual=``; ``where={"ID":
"EPM_11"}`` keeps matching rows (tables that mix sessions or raters need it).
Times are seconds (``units="seconds"``, needing ``fps``) or frames
(``units="frames"``, ``stop`` exclusive); rows with ``stop == start`` are
points. Overlapping bouts of one behavior are merged and listed in
``attrs["issues"]``.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavior.errors import FileFormatError, PoseDataError
from behavior.io.annotations._common import (
    DEFAULT_INDIVIDUAL,
    Parsed,
    as_float,
    bouts_table,
    fmt_seconds,
    frame_numbers,
    frames_from_seconds,
    need_fps,
    points_table,
    read_table,
    read_text,
    split_row,
    to_ethogram,
    view,
    warn_points_dropped,
)
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

# A format module's public API is its Frontend; load_annotations / save_annotations
# (or load_poses / save_poses) call the read, write and sniff functions through it.
__all__ = ["DEEPETHOGRAM", "INTERVALS", "PERFRAME", "SIMBA"]


_POSE_ENDINGS = ("_x", "_y", "_p", "_likelihood", "_z")


def _is_binary(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(len(values)) and bool(numbers.isin([0, 1]).all())


def _binary_head(probe: Probe, skip_first: bool) -> tuple[list[str], list[str]]:
    """Header and the columns whose first rows are all 0/1 (from the probe's head)."""
    lines = probe.lines(40)
    if len(lines) < 2:
        return (split_row(lines[0]) if lines else []), []
    header = split_row(lines[0])
    rows = [split_row(line, ",") for line in lines[1:] if line]
    binary = []
    for j, name in enumerate(header):
        if skip_first and j == 0:
            continue
        cells = [r[j] for r in rows if j < len(r)]
        if cells and all(c in ("0", "1", "0.0", "1.0") for c in cells):
            binary.append(name)
    return header, binary


def _one_individual(v: Any, path: Path, fmt: str) -> None:
    if len(v.individuals) != 1:
        raise PoseDataError(
            f"{path}: {fmt} holds one individual, the ethogram has {v.individuals}; "
            "write one file per individual with ethogram.sel(individual=...)"
        )


def _frame_table(v: Any, j: int = 0) -> pd.DataFrame:
    return pd.DataFrame(v.masks[:, :, j].astype(np.int64), columns=v.behaviors)


# -- SimBA ------------------------------------------------------------------------------


def sniff_simba(probe: Probe) -> Verdict:
    """Accept an index-first CSV with pose triples or only 0/1 columns, and no 'background'."""
    header, binary = _binary_head(probe, skip_first=True)
    if not header or header[0] not in ("", "Unnamed: 0"):
        return refuse("first header cell is not the empty pandas index column")
    if "background" in header:
        return refuse("has a 'background' column (DeepEthogram labels)")
    pose = any(h.endswith("_x") for h in header) and any(h.endswith("_p") for h in header)
    if pose and binary:
        return accept(2.0, "pose columns *_x/*_p with 0/1 target columns")
    if binary and len(binary) == len(header) - 1:
        return accept(1.5, "index column then only 0/1 columns")
    return refuse("no 0/1 target columns after the index column")


def read_simba(path: Path, *, fps: float | None = None, behaviors: Sequence[str] | None = None):
    """Read a SimBA targets CSV (0/1 column per behavior) into an Ethogram."""
    table = read_table(path, read_text(path))
    _unique_index(path, table)
    columns = list(table.columns)[1:]
    issues: list[str] = []
    if behaviors is None:
        candidates = [
            c
            for c in columns
            if not str(c).endswith(_POSE_ENDINGS) and not str(c).startswith("Probability_")
        ]
        behaviors = [c for c in candidates if _is_binary(table[c])]
        issues += [_almost_binary(table[c], c) for c in candidates if c not in behaviors]
        issues = [issue for issue in issues if issue]
        if not behaviors:
            raise FileFormatError(
                f"{path}: no column holds only 0 and 1; pass behaviors="
                + ("; " + "; ".join(issues) if issues else "")
            )
    missing = [b for b in behaviors if b not in table]
    if missing:
        raise FileFormatError(f"{path}: behavior column(s) {missing} not found in {columns}")
    masks = _masks(path, table, list(behaviors))
    return to_ethogram(
        Parsed(source="simba", fps=fps, masks=masks[:, :, None], behaviors=list(behaviors),
               individuals=[DEFAULT_INDIVIDUAL], issues=issues),
        path,
    )  # fmt: skip


def _almost_binary(values: pd.Series, column: str) -> str | None:
    """An issue naming the cell when a column is 0/1 but for a few cells (a typo, a blank)."""
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(~numbers.isin([0, 1]).to_numpy())
    if not len(values) or not bad.size or bad.size > max(1, len(values) // 100):
        return None
    k = int(bad[0])
    return (
        f"column {column!r} holds 0/1 but for {bad.size} cell(s) (row {k + 2}: "
        f"{values.iloc[k]!r}); not read as a behavior: fix the cell or pass behaviors="
    )


def _unique_index(path: Path, table: pd.DataFrame) -> None:
    """Refuse a per-frame table whose index column repeats a frame (a duplicated row)."""
    if not len(table.columns):
        return
    index = table.iloc[:, 0]
    repeats = index[index.duplicated()]
    if len(repeats) and pd.to_numeric(index, errors="coerce").notna().all():
        k = int(repeats.index[0])
        raise FileFormatError(
            f"{path}: index column {table.columns[0]!r} repeats frame {repeats.iloc[0]!r} "
            f"(row {k + 2}); expected one row per frame"
        )


def _masks(path: Path, table: pd.DataFrame, behaviors: list[str]) -> np.ndarray:
    out = np.zeros((len(table), len(behaviors)), dtype=bool)
    for j, name in enumerate(behaviors):
        values = as_float(path, table[name], name)
        if not np.isin(values, (0, 1)).all():
            bad = values[~np.isin(values, (0, 1))][0]
            raise FileFormatError(f"{path}: column {name!r} must hold 0 or 1, found {bad}")
        out[:, j] = values == 1
    return out


def write_simba(ethogram: Any, path: Path) -> None:
    """Write a SimBA-style targets CSV: an index column and one 0/1 column per behavior."""
    v = view(ethogram)
    warn_points_dropped(v, path, "a simba CSV")
    _one_individual(v, path, "a SimBA targets CSV")
    _frame_table(v).to_csv(path, index=True)


# -- DeepEthogram -----------------------------------------------------------------------


def sniff_deepethogram(probe: Probe) -> Verdict:
    """Accept an index-first CSV with a 'background' 0/1 column."""
    header, binary = _binary_head(probe, skip_first=True)
    if header and header[0] in ("", "Unnamed: 0") and "background" in binary:
        return accept(3.0, "index column and a 0/1 'background' column")
    return refuse("no empty index column with a 0/1 'background' column")


def read_deepethogram(path: Path, *, fps: float | None = None):
    """Read a DeepEthogram label CSV (one-hot with 'background') into an Ethogram."""
    table = read_table(path, read_text(path))
    _unique_index(path, table)
    if "background" not in table:
        raise FileFormatError(
            f"{path}: expected a 'background' column, found {list(table.columns)}"
        )
    behaviors = [c for c in list(table.columns)[1:] if c != "background"]
    masks = _masks(path, table, behaviors)
    return to_ethogram(
        Parsed(source="deepethogram", fps=fps, masks=masks[:, :, None], behaviors=behaviors,
               individuals=[DEFAULT_INDIVIDUAL]),
        path,
    )  # fmt: skip


def write_deepethogram(ethogram: Any, path: Path) -> None:
    """Write a DeepEthogram label CSV: index, 'background', one 0/1 column per behavior."""
    v = view(ethogram)
    warn_points_dropped(v, path, "a deepethogram CSV")
    _one_individual(v, path, "a DeepEthogram label CSV")
    if "background" in v.behaviors:
        raise PoseDataError(f"{path}: 'background' is DeepEthogram's own column, not a behavior")
    table = _frame_table(v)
    table.insert(0, "background", (~v.masks[:, :, 0].any(axis=1)).astype(np.int64))
    table.to_csv(path, index=True)


# -- plain per-frame CSV ------------------------------------------------------------------


def sniff_perframe(probe: Probe) -> Verdict:
    """Accept a CSV whose first column is 'frame' or 'time' with 0/1 behavior columns."""
    header, binary = _binary_head(probe, skip_first=True)
    if not header or header[0].lower() not in ("frame", "time"):
        return refuse("first column is not 'frame' or 'time'")
    rest = [h for h in header[1:] if h.lower() not in ("frame", "time", "individual")]
    if rest and all(h in binary for h in rest):
        return accept(1.5, "frame/time column then 0/1 columns")
    return refuse("columns after frame/time are not all 0/1")


def read_perframe(path: Path, *, fps: float | None = None, behaviors: Sequence[str] | None = None):
    """Read a per-frame 0/1 CSV (frame/time, optional individual) into an Ethogram."""
    table = read_table(path, read_text(path))
    lower = {str(c).lower(): c for c in table.columns}
    if "frame" not in lower and "time" not in lower:
        raise FileFormatError(f"{path}: expected a 'frame' or 'time' column, found {list(table)}")
    special = {lower.get("frame"), lower.get("time"), lower.get("individual")}
    if behaviors is None:
        behaviors = [c for c in table.columns if c not in special]
    key = lower.get("frame") or lower["time"]
    order = as_float(path, table[key], key)
    ind_col = lower.get("individual")
    individuals = (
        list(dict.fromkeys(table[ind_col].astype(str))) if ind_col else [DEFAULT_INDIVIDUAL]
    )
    times = np.unique(order)
    n = times.size
    masks = np.zeros((n, len(behaviors), len(individuals)), dtype=bool)
    values = _masks(path, table, list(behaviors))
    rows = np.searchsorted(times, order)
    cols = (
        np.array([individuals.index(s) for s in table[ind_col].astype(str)])
        if ind_col
        else np.zeros(len(table), dtype=np.int64)
    )
    if len(set(zip(rows.tolist(), cols.tolist(), strict=True))) != len(table):
        raise FileFormatError(f"{path}: a {key!r} value repeats for the same individual")
    masks[rows, :, cols] = values
    time = None
    if "time" in lower:
        time = np.unique(as_float(path, table[lower["time"]], lower["time"]))
        if fps is None and time.size > 1:
            fps = round(float(1.0 / np.median(np.diff(time))), 6)
    elif "frame" in lower and not np.array_equal(times, np.arange(n)):
        raise FileFormatError(f"{path}: 'frame' must count 0, 1, 2, ... without gaps")
    return to_ethogram(
        Parsed(source="perframe", fps=fps, time=time, masks=masks, behaviors=list(behaviors),
               individuals=individuals),
        path,
    )  # fmt: skip


def write_perframe(ethogram: Any, path: Path) -> None:
    """Write a per-frame 0/1 CSV: frame, time (if seconds), [individual], behaviors."""
    v = view(ethogram)
    warn_points_dropped(v, path, "a perframe CSV")
    parts = []
    for j, individual in enumerate(v.individuals):
        table = _frame_table(v, j)
        if len(v.individuals) > 1:
            table.insert(0, "individual", individual)
        if v.time_unit == "seconds":
            table.insert(0, "time", v.time)
        table.insert(0, "frame", np.arange(v.n_frames))
        parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    if len(v.individuals) > 1:
        table = table.sort_values(["frame"], kind="stable")
    table.to_csv(path, index=False, float_format="%.9f")


# -- intervals ----------------------------------------------------------------------------

_START = ("start", "from", "onset", "start_time", "begin", "start (s)")
_STOP = ("stop", "to", "end", "offset", "stop_time", "stop (s)")
_BEHAVIOR = ("behavior", "behaviour", "type", "label", "event")
_INDIVIDUAL = ("individual", "subject", "animal")


def _find(columns: Sequence[str], choice: str | None, names: tuple[str, ...]) -> str | None:
    if choice is not None:
        return choice
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def sniff_intervals(probe: Probe) -> Verdict:
    """Accept a delimited table with start, stop and behavior columns."""
    lines = probe.lines(1)
    if not lines:
        return refuse("not a text file")
    header = split_row(lines[0])
    found = [_find(header, None, n) for n in (_START, _STOP, _BEHAVIOR)]
    if all(found):
        return accept(1.0, f"interval columns {found}")
    return refuse("no start/from, stop/to and behavior/type columns in the header")


def read_intervals(
    path: Path,
    *,
    fps: float | None = None,
    start: str | None = None,
    stop: str | None = None,
    behavior: str | None = None,
    individual: str | None = None,
    where: Mapping[str, Any] | None = None,
    units: str = "seconds",
    n_frames: int | None = None,
):
    """Read an intervals table (one row per bout) into an Ethogram."""
    table = read_table(path, read_text(path))
    cols = list(table.columns)
    start_c, stop_c = _find(cols, start, _START), _find(cols, stop, _STOP)
    beh_c, ind_c = _find(cols, behavior, _BEHAVIOR), _find(cols, individual, _INDIVIDUAL)
    for name, column in (("start", start_c), ("stop", stop_c), ("behavior", beh_c)):
        if column is None or column not in table:
            raise FileFormatError(
                f"{path}: no {name} column among {cols}; pass {name}= the column name"
            )
    for key, value in (where or {}).items():
        if key not in table:
            raise FileFormatError(f"{path}: where= column {key!r} not in {cols}")
        table = table[table[key].astype(str) == str(value)]
    if where and not len(table):
        raise FileFormatError(f"{path}: no rows left after where={dict(where or {})}")
    if start is None and stop is None and {"start_frame", "stop_frame"} <= set(cols):
        start_c, stop_c, units = "start_frame", "stop_frame", "frames"
    a = as_float(path, table[start_c], start_c)
    b = as_float(path, table[stop_c], stop_c)
    if units == "seconds":
        fps = need_fps(path, fps, f"interval times ({start_c!r}, {stop_c!r})")
        a_f = frames_from_seconds(path, a, fps, repr(start_c))
        b_f = frames_from_seconds(path, b, fps, repr(stop_c))
    elif units == "frames":
        a_f, b_f = frame_numbers(path, a, repr(start_c)), frame_numbers(path, b, repr(stop_c))
    else:
        raise FileFormatError(f"units: expected 'seconds' or 'frames', found {units!r}")
    behaviors = [str(x).strip() for x in table[beh_c]]
    subjects = [str(x) for x in table[ind_c]] if ind_c else [DEFAULT_INDIVIDUAL] * len(table)
    bouts, points, issues = [], [], []
    for k in range(len(table)):
        if b[k] < a[k]:
            issues.append(f"row {k + 2}: stop {b[k]} before start {a[k]} for {behaviors[k]!r}")
        elif b[k] == a[k]:
            points.append((subjects[k], behaviors[k], int(a_f[k])))
        else:
            bouts.append((subjects[k], behaviors[k], int(a_f[k]), int(b_f[k])))
    parsed = Parsed(
        source="intervals",
        fps=fps,
        n_frames=n_frames,
        bouts=bouts_table(bouts),
        points=points_table(points),
        behaviors=None,  # from the bouts; point-only behaviors stay in .points
        individuals=list(dict.fromkeys(subjects)),
        issues=issues,
    )
    return to_ethogram(parsed, path)


def write_intervals(ethogram: Any, path: Path) -> None:
    """Write an intervals CSV: individual, behavior, start, stop (seconds), start/stop_frame.

    The reader prefers the frame columns, so the file reads back without ``fps``.
    """
    v = view(ethogram)
    seconds = v.fps is not None
    rows = [
        (b.individual, b.behavior, b.start_frame, b.stop_frame) for b in v.bouts.itertuples()
    ] + [(p.individual, p.behavior, p.frame, p.frame) for p in v.points.itertuples()]
    rows.sort(key=lambda r: (r[2], r[0], r[1]))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["individual", "behavior", "start", "stop", "start_frame", "stop_frame"])
        for ind, beh, a, b in rows:
            if seconds:
                out.writerow(
                    [ind, beh, fmt_seconds(a / v.fps), fmt_seconds(b / v.fps), int(a), int(b)]
                )
            else:
                out.writerow([ind, beh, int(a), int(b), int(a), int(b)])


# name, description, suffixes, sniff, read, write, aliases (Frontend's field order)
SIMBA, DEEPETHOGRAM, PERFRAME, INTERVALS = (
    Frontend(*fields)
    for fields in (
        ("simba", "SimBA targets CSV (index, features, one 0/1 column per behavior)",
         (".csv",), sniff_simba, read_simba, write_simba, ("SimBA", "simba-targets")),
        ("deepethogram", "DeepEthogram label CSV (index, background, one-hot behaviors)",
         (".csv",), sniff_deepethogram, read_deepethogram, write_deepethogram,
         ("deg", "DeepEthogram")),
        ("perframe", "plain per-frame CSV: frame/time, optional individual, 0/1 per behavior",
         (".csv",), sniff_perframe, read_perframe, write_perframe,
         ("per-frame", "frames-csv")),
        ("intervals",
         "intervals table: one row per bout with start, stop, behavior (DLCAnalyzer ...)",
         (".csv", ".tsv"), sniff_intervals, read_intervals, write_intervals,
         ("dlcanalyzer", "intervals-csv")),
    )
)  # fmt: skip
