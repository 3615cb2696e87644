"""Tidy long tables of poses: Parquet (``.parquet``, ``.pq``) or CSV/TSV.

One row per (time, individual, keypoint) with columns::

    time | frame, individual, keypoint, x, y[, z][, confidence]

the layout data-frame tools (pandas, polars, R, SQL) expect. Reading pivots the
rows into a pose dataset with numpy (factorized codes, one scatter), so a
108,000-frame x 40-point table loads in about a second.

Reading
    * ``time`` is in seconds. A table with only a ``frame`` column is in frames,
      turned into seconds by ``fps=``; with both, ``time`` is used.
    * Keypoints and individuals keep the order in which they first appear.
    * Rows absent from the table are NaN; ``confidence`` is optional (NaN).
    * A repeated (time, individual, keypoint) row is an error.
    * Other columns are ignored.

Writing
    Columns ``time`` (or, for a dataset in frames, only ``frame``), ``frame``
    (when fps is known), ``individual``, ``keypoint``, ``x``, ``y`` (``z``) and
    ``confidence``, every (time, individual, keypoint) including missing points.
    Parquet keeps the dataset's attributes (fps, time_unit, space_unit,
    source_software, log, ...) in the schema metadata under ``behavior``, so a
    round trip is lossless. CSV/TSV write floats in their shortest exact form
    (values read back identical, as float64) but hold no attributes beyond what
    the columns say: the log, ``source_software`` and ``space_unit`` are lost,
    and ``fps`` is re-estimated from the time steps.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from behavior.dataset import from_numpy
from behavior.errors import FileFormatError, PoseDataError
from behavior.io.registry import Frontend, Probe, Verdict, accept, attr_to_json, refuse

logger = logging.getLogger(__name__)

__all__ = ["FRONTEND", "read", "sniff", "write"]

_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_METADATA_KEY = b"behavior"
_REQUIRED = ("individual", "keypoint", "x", "y")
_FLOAT_COLUMNS = ("time", "x", "y", "z", "confidence")


def _missing_columns(names: list[str]) -> list[str]:
    missing = [c for c in _REQUIRED if c not in names]
    if "time" not in names and "frame" not in names:
        missing.insert(0, "time (or frame)")
    return missing


def _header_cells(line: str) -> tuple[list[str], str]:
    delimiter = "\t" if line.count("\t") > line.count(",") else ","
    cells = [c.strip().strip('"').strip("'").strip() for c in line.split(delimiter)]
    return cells, delimiter


# --------------------------------------------------------------------------- sniff


def sniff(probe: Probe) -> Verdict:
    """Accept Parquet files and CSV/TSV files whose header names the tidy columns.

    Parameters
    ----------
    probe
        Cached looks at the candidate file.

    Returns
    -------
    Verdict
        Accepted when the columns ``time`` or ``frame``, ``individual``,
        ``keypoint``, ``x`` and ``y`` are all present (Parquet: read from the
        schema only); refused naming the missing columns otherwise.

    Examples
    --------
    >>> from behavior.io.registry import Probe
    >>> sniff(Probe("poses.parquet")).accepted  # doctest: +SKIP
    True
    """
    if probe.is_parquet:
        import pyarrow.parquet as pq

        try:
            names = list(pq.read_schema(probe.path).names)
        except Exception as err:
            return refuse(f"Parquet file whose schema cannot be read ({type(err).__name__}: {err})")
        missing = _missing_columns(names)
        if missing:
            return refuse(f"Parquet file without the tidy columns {missing} (found {names[:12]})")
        return accept(1.0, "Parquet with tidy pose columns")
    if not probe.is_text:
        return refuse("neither a Parquet file nor a text CSV/TSV table")
    lines = probe.lines(1)
    if not lines:
        return refuse("text file without a header line")
    cells, delimiter = _header_cells(lines[0])
    if cells[0] == "scorer":
        return refuse("DeepLabCut-style CSV (first cell is 'scorer'), not a tidy long table")
    missing = _missing_columns(cells)
    if missing:
        kind = "TSV" if delimiter == "\t" else "CSV"
        return refuse(f"{kind} header lacks the tidy columns {missing} (found {cells[:12]})")
    return accept(1.0, "CSV/TSV header with tidy pose columns")


# --------------------------------------------------------------------------- read


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _read_table(path: Path, sep: str | None) -> Any:
    import pyarrow as pa

    if _is_parquet(path):
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as err:
            raise FileFormatError(f"{path}: cannot be read as Parquet ({err})") from err
    import pyarrow.csv as pcsv

    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline().rstrip("\r\n")
    cells, delimiter = _header_cells(header)
    if sep is not None:
        delimiter = sep
    elif path.name.lower().endswith(".tsv"):
        delimiter = "\t"
    if cells and cells[0] == "scorer":
        raise FileFormatError(
            f"{path}: this is a DeepLabCut-style CSV (first cell 'scorer'), not a tidy long "
            "table; read it with source='deeplabcut'"
        )
    types = {c: pa.string() for c in ("individual", "keypoint") if c in cells}
    types.update({c: pa.float64() for c in _FLOAT_COLUMNS if c in cells})
    try:
        return pcsv.read_csv(
            path,
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except pa.ArrowException as err:
        raise FileFormatError(f"{path}: cannot be read as a tidy CSV/TSV table ({err})") from err


def _codes(column: Any, name: str, path: Path) -> tuple[np.ndarray, list[str]]:
    """Codes in order of first appearance and the names they stand for."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    empty = pc.or_(column.is_null(), pc.equal(column, ""))
    if pc.any(empty).as_py():
        row = int(np.flatnonzero(empty.to_numpy(zero_copy_only=False))[0])
        raise FileFormatError(f"{path}: column {name!r} is empty in row {row}; expected a name")
    encoded = pc.dictionary_encode(column)
    return (
        encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp),
        [str(v) for v in encoded.dictionary.to_pylist()],
    )


def _floats(table: Any, name: str, path: Path) -> np.ndarray:
    import pyarrow as pa

    column = table.column(name)
    if not (pa.types.is_floating(column.type) or pa.types.is_integer(column.type)):
        raise FileFormatError(
            f"{path}: column {name!r}: expected numbers, found {column.type} values"
        )
    values = column.to_numpy()
    return values if np.issubdtype(values.dtype, np.floating) else values.astype(np.float64)


def read(
    path: str | Path,
    *,
    fps: float | None = None,
    sep: str | None = None,
    time_unit: str | None = None,
) -> xr.Dataset:
    """Read a tidy long table (Parquet, CSV or TSV) into a pose dataset.

    Parameters
    ----------
    path
        The table. Parquet is recognised by its content, anything else is read
        as delimited text.
    fps
        Frames per second: turns a ``frame`` column (when there is no ``time``
        column) into seconds; with a ``time`` column it is only recorded.
    sep
        Text delimiter; by default a tab for ``.tsv`` files or a header with more
        tabs than commas, else a comma.
    time_unit
        ``"seconds"`` or ``"frames"``: what the ``time`` column holds when the
        file does not say (default seconds; Parquet written by behavior says).

    Returns
    -------
    xr.Dataset
        Pose dataset; rows absent from the table are NaN.

    Raises
    ------
    FileFormatError
        If columns are missing (the message lists expected and found), a name
        or time is empty, values are not numbers, or a (time, individual,
        keypoint) row repeats (the first repeat is named).

    Examples
    --------
    >>> ds = read("poses.parquet")  # doctest: +SKIP
    >>> ds.position.dims  # doctest: +SKIP
    ('time', 'space', 'keypoint', 'individual')
    """
    path = Path(path)
    if time_unit not in (None, "seconds", "frames"):
        raise PoseDataError(f"time_unit: expected 'seconds' or 'frames', found {time_unit!r}")
    table = _read_table(path, sep)
    try:
        names = list(table.column_names)
    except UnicodeDecodeError as err:
        raise FileFormatError(
            f"{path}: expected a header of UTF-8 column names, found bytes that are not "
            f"UTF-8 ({err})"
        ) from err
    missing = _missing_columns(names)
    if missing:
        expected = ["time (or frame)", *_REQUIRED, "z (optional)", "confidence (optional)"]
        raise FileFormatError(
            f"{path}: expected tidy pose columns {expected}; missing {missing}, found {names}"
        )
    if table.num_rows == 0:
        raise FileFormatError(f"{path}: the table has a header but no rows")
    meta = _metadata(table, path)
    saved = meta.get("attrs", {}) if isinstance(meta.get("attrs"), dict) else {}

    time_column = "time" if "time" in names else "frame"
    time_values = _floats(table, time_column, path)
    if not np.all(np.isfinite(time_values)):
        row = int(np.flatnonzero(~np.isfinite(time_values))[0])
        raise FileFormatError(
            f"{path}: column {time_column!r}: expected a finite value in every row, "
            f"found {time_values[row]} in row {row}"
        )
    in_frames = time_column == "frame" or (time_unit or saved.get("time_unit")) == "frames"
    times, t_code = _time_codes(time_values)
    i_code, individuals = _codes(table.column("individual"), "individual", path)
    k_code, keypoints = _codes(table.column("keypoint"), "keypoint", path)
    n_time, n_ind, n_kp = times.size, len(individuals), len(keypoints)
    cell = (t_code * n_ind + i_code) * n_kp + k_code
    _check_unique(cell, n_time * n_ind * n_kp, time_values, time_column, table, path)

    space = ["x", "y", "z"] if "z" in names else ["x", "y"]
    coords = [_floats(table, c, path) for c in space]
    dtype = np.result_type(*[c.dtype for c in coords])
    position = np.full((n_time * n_ind * n_kp, len(space)), np.nan, dtype=dtype)
    for j, values in enumerate(coords):
        position[cell, j] = values
    position = position.reshape(n_time, n_ind, n_kp, len(space)).transpose(0, 3, 2, 1)
    confidence = None
    if "confidence" in names:
        scores = _floats(table, "confidence", path)
        confidence = np.full(n_time * n_ind * n_kp, np.nan, dtype=scores.dtype)
        confidence[cell] = scores
        confidence = confidence.reshape(n_time, n_ind, n_kp).transpose(0, 2, 1)

    if in_frames and fps is not None:
        times, in_frames = times / float(fps), False
    file_fps = saved.get("fps") if not in_frames and fps is None else fps
    ds = from_numpy(
        position,
        confidence,
        individual_names=individuals,
        keypoint_names=keypoints,
        fps=None if in_frames else file_fps,
        time=None if in_frames else times,
        source_software=saved.get("source_software") or "tidy table",
        source_file=str(path),
        space_unit=saved.get("space_unit") or "pixels",
    )
    if in_frames:
        ds = ds.assign_coords(time=times)
        ds.attrs["time_unit"] = "frames"
    for key, value in saved.items():
        if key not in ("fps", "time_unit", "space_unit", "source_software", "source_file"):
            ds.attrs[key] = value
    return ds


def _time_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique times and each row's index into them (O(n) for sorted tables)."""
    steps = np.diff(values)
    if np.all(steps >= 0):
        new = np.concatenate(([True], steps > 0))
        return values[new], np.cumsum(new) - 1
    times, codes = np.unique(values, return_inverse=True)
    return times, codes.reshape(-1)


def _metadata(table: Any, path: Path) -> dict[str, Any]:
    raw = (table.schema.metadata or {}).get(_METADATA_KEY)
    if raw is None:
        return {}
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        logger.warning("%s: Parquet metadata %r is not JSON; ignoring it", path, _METADATA_KEY)
        return {}
    return meta if isinstance(meta, dict) else {}


def _check_unique(
    cell: np.ndarray,
    n_cells: int,
    time_values: np.ndarray,
    time_column: str,
    table: Any,
    path: Path,
) -> None:
    counts = np.bincount(cell, minlength=n_cells)
    if counts.max(initial=0) <= 1:
        return
    seen: set[int] = set()
    for row in np.flatnonzero(counts[cell] > 1):
        if cell[row] in seen:
            ind = table.column("individual")[int(row)].as_py()
            kp = table.column("keypoint")[int(row)].as_py()
            raise FileFormatError(
                f"{path}: expected one row per ({time_column}, individual, keypoint), found "
                f"a repeat of ({time_column}={float(time_values[row])!r}, individual={ind!r}, "
                f"keypoint={kp!r}) in row {int(row)} (data rows counted from 0)"
            )
        seen.add(int(cell[row]))


# -------------------------------------------------------------------------- write


def _frames_of(time: np.ndarray, fps: float) -> np.ndarray:
    frames = np.rint(time * fps)
    if frames.size > 1 and np.any(np.diff(frames) <= 0):
        return np.arange(time.size)  # irregular timestamps: number the frames instead
    return frames.astype(np.int64)


def write(ds: xr.Dataset, path: str | Path, *, format: str | None = None) -> None:
    """Write a pose dataset as a tidy long table.

    Parameters
    ----------
    ds
        Pose dataset (no ``ensemble`` dimension).
    path
        Destination; the suffix picks the format (``.parquet``/``.pq``, ``.csv``,
        ``.tsv``) unless ``format`` is given.
    format
        ``"parquet"``, ``"csv"`` or ``"tsv"``.

    Raises
    ------
    PoseDataError
        If ``ds`` has an ``ensemble`` dimension or ``format`` is unknown.

    Examples
    --------
    >>> write(ds, "poses.parquet")  # doctest: +SKIP
    """
    import pyarrow as pa

    path = Path(path)
    if format is None:
        lower = path.name.lower()
        format = (
            "parquet"
            if lower.endswith(_PARQUET_SUFFIXES)
            else "tsv"
            if lower.endswith(".tsv")
            else "csv"
        )
    if format not in ("parquet", "csv", "tsv"):
        raise PoseDataError(f"format: expected 'parquet', 'csv' or 'tsv', found {format!r}")
    extra = [d for d in ds.position.dims if d not in ("time", "space", "keypoint", "individual")]
    if extra:
        raise PoseDataError(
            f"dataset: a tidy table holds one set of poses; found extra dimension(s) {extra}. "
            f"Select one member first, e.g. ds.isel({extra[0]}=0)"
        )
    position = ds.position.transpose("time", "individual", "keypoint", "space").values
    n_time, n_ind, n_kp, _ = position.shape
    time = np.asarray(ds.time.values, dtype=np.float64)
    in_frames = ds.attrs.get("time_unit") == "frames"
    fps = ds.attrs.get("fps")
    columns: dict[str, Any] = {}
    if in_frames:
        integral = np.all(time == np.rint(time))
        columns["frame"] = np.repeat(time.astype(np.int64) if integral else time, n_ind * n_kp)
    else:
        columns["time"] = np.repeat(time, n_ind * n_kp)
        if fps:
            columns["frame"] = np.repeat(_frames_of(time, float(fps)), n_ind * n_kp)
    row_ind = np.tile(np.repeat(np.arange(n_ind, dtype=np.int32), n_kp), n_time)
    row_kp = np.tile(np.arange(n_kp, dtype=np.int32), n_time * n_ind)
    individuals = pa.array([str(v) for v in ds.individual.values], pa.string())
    keypoints = pa.array([str(v) for v in ds.keypoint.values], pa.string())
    if format == "parquet":
        columns["individual"] = pa.DictionaryArray.from_arrays(row_ind, individuals)
        columns["keypoint"] = pa.DictionaryArray.from_arrays(row_kp, keypoints)
    else:
        columns["individual"] = individuals.take(pa.array(row_ind))
        columns["keypoint"] = keypoints.take(pa.array(row_kp))
    flat = position.reshape(-1, position.shape[-1])
    for j, name in enumerate(str(s) for s in ds.space.values):
        columns[name] = flat[:, j]
    if "confidence" in ds:
        columns["confidence"] = ds.confidence.transpose("time", "individual", "keypoint").values
        columns["confidence"] = columns["confidence"].reshape(-1)
    table = pa.table(columns)

    if format == "parquet":
        import pyarrow.parquet as pq

        attrs = {k: attr_to_json(v) for k, v in ds.attrs.items() if k != "source_file"}
        table = table.replace_schema_metadata({_METADATA_KEY: json.dumps({"attrs": attrs})})
        pq.write_table(table, path)
        return
    import pyarrow.csv as pcsv

    delimiter = "\t" if format == "tsv" else ","
    options = pcsv.WriteOptions(include_header=False, delimiter=delimiter, quoting_style="needed")
    with open(path, "wb") as fh:  # arrow quotes every header name; these need no quotes
        fh.write((delimiter.join(table.column_names) + "\n").encode())
        pcsv.write_csv(table, fh, write_options=options)


FRONTEND = Frontend(
    name="tidy",
    description="tidy long table (time, individual, keypoint, x, y[, z], confidence) "
    "as Parquet (lossless) or CSV/TSV",
    suffixes=_SUFFIXES,
    sniff=sniff,
    read=read,
    write=write,
    aliases=("table", "parquet", "long"),
)
