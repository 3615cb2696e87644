"""DeepLabCut: pose predictions and labelled frames in ``.h5`` and ``.csv`` (read and write).

A DeepLabCut file is a serialised :class:`pandas.DataFrame`: one row per frame and
a column ``MultiIndex`` with levels ``scorer / (individuals /) bodyparts / coords``
(``../shared/FORMATS.md`` section 1). This module reads every variant found in the
wild and writes files that DeepLabCut's own ``pd.read_hdf(path, "df_with_missing")``
reads back with the same column levels.

Reading
-------
* **HDF5** written by pandas/PyTables in ``"table"`` format (DeepLabCut) or
  ``"fixed"`` format (movement, deepof), under the key ``df_with_missing``,
  ``tracks`` (stitched tracklets) or any single pandas frame in the file (deepof
  and DLC 3D files use ``df``). Both layouts are read with h5py alone, never
  with :func:`pandas.read_hdf` or PyTables, and **nothing in the file is ever
  unpickled** (a pickle can run code). Numbers, string labels and integer
  label codes come straight from the HDF5 datasets (fixed format:
  ``axis0_level{k}`` / ``axis0_label{k}`` for the column levels, ``axis1`` or
  ``axis1_level{k}`` for the rows, ``block{i}_values``; table format: the
  ``table`` records). Labels that PyTables can only store as pickles (the
  table format's ``non_index_axes``, ``info``, ``values_cols``, ... attributes;
  "object" arrays such as a column level of mixed labels, e.g. MausHaus3D's
  scorer ``('keypoints_3d',)``, or a string column) are decoded by
  :mod:`behavior.io._pickle_data`, which reads the pickle's opcodes as data and
  can only build strings, numbers, lists, tuples, dicts and numpy arrays of
  those; a pickle that names anything else (e.g. ``os.system``) is refused
  with a :class:`~behavior.errors.FileFormatError` naming the file, the
  attribute or array, and what it refers to. Row labels are frame numbers or
  image paths (a row ``MultiIndex`` of labelled frames is joined with ``/``);
  a frame with one numeric block is read in one go, others (e.g. with a
  string column) block by block.
* **CSV**: the header rows are parsed here, the numeric block by pyarrow's CSV
  reader (exact float parsing, no type inference) in pieces of about 4 MiB,
  parsed in parallel threads, each written straight to its rows (a quick first
  pass counts the lines). Single-animal (3 header rows),
  multi-animal (4), legacy DeepCut files, labelled frames with one or three index
  columns, and the ``name.1, name.2`` scorer suffixes that pandas adds when a
  file was re-saved with a single header row (deepof) are all accepted.
* **Individuals**: a single-animal file has one individual, ``individual_0``
  (as in movement). A multi-animal file with *unique bodyparts* (maDLC's
  pseudo-individual ``single`` with its own bodypart set, e.g. arena corners)
  keeps ``single`` as an individual; ``keypoint`` is the union of every
  individual's bodyparts in file order, and a keypoint an individual does not
  have is NaN (position and confidence) for that individual.
  ``unique_bodyparts="drop"`` drops ``single`` instead.
* **Coordinates**: ``x, y, likelihood`` (2D), ``x, y`` (labelled frames, MABe;
  confidence NaN) or ``x, y, z`` (3D triangulation; confidence NaN).
* **Missing points written as 0**: some tools store a missing point as
  ``x = y = likelihood = 0``. With ``zeros_as_missing=True`` (the default; a
  point at exactly (0, 0) with likelihood exactly 0 is certainly not a
  detection) such points become NaN in ``position``; their confidence stays 0.
  In 2D tracks without a likelihood column (MABe), a point at exactly (0, 0)
  marks an untracked animal and becomes NaN too. 3D files and labelled frames
  are never changed. The count is recorded in ``attrs["log"]``, and a warning
  is issued when more than 0.1 % of the points were changed.
* **Time**: the row index holds frame numbers. ``time`` is ``frame / fps`` in
  seconds when ``fps`` is given, else the frame numbers themselves (so a file that
  starts at frame 100 starts at ``time`` 100). Labelled-frame files
  (``CollectedData_*``, rows are image paths) are not a time series: ``time`` is
  the row number in frames and the paths are kept in a non-index coordinate
  ``image`` along ``time``.
* Extra non-coordinate columns such as Lightning Pose's ``("set", "", "")`` are
  kept as non-index coordinates along ``time``. The scorer is kept in
  ``attrs["scorer"]``.
* **Memory**: in the usual layout (every individual has every bodypart, columns
  in DeepLabCut's order) ``position`` and ``confidence`` are views of one
  ``(frames, columns)`` array, so a load holds one copy of the data. They are not
  C-contiguous; ``np.ascontiguousarray`` them where a kernel needs that.

Writing
-------
``.h5`` through :meth:`pandas.DataFrame.to_hdf` (``format="table"`` like
DeepLabCut, or ``"fixed"``), ``.csv`` with the header rows DeepLabCut writes and
floats in shortest round-trip form, so a CSV round trip is exact. One individual
named ``individual_0`` is written single-animal (3 levels); anything else
multi-animal (4 levels), so names survive. An individual ``single`` that only
holds the trailing keypoints (as read from a maDLC file with unique bodyparts) is
written back in maDLC's layout. NaN confidence is written as NaN likelihood.
DeepLabCut files hold no frame rate: pass ``fps`` again when reading back.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import reprlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from behavior.dataset import append_log, from_numpy
from behavior.errors import FileFormatError, PoseDataError
from behavior.io._pickle_data import PickleDataError, load_data, parse
from behavior.io.registry import Frontend, Probe, Verdict, accept, refuse

logger = logging.getLogger(__name__)

__all__ = [
    "FRONTEND",
    "DLCTable",
    "read",
    "read_csv_table",
    "read_h5_table",
    "to_dataset",
    "to_frame",
    "write",
    "write_csv",
]

LEVELS_SINGLE = ("scorer", "bodyparts", "coords")
LEVELS_MULTI = ("scorer", "individuals", "bodyparts", "coords")
SINGLE_ANIMAL = "individual_0"
UNIQUE_INDIVIDUAL = "single"
H5_KEYS = ("df_with_missing", "tracks")
_SPACE = ("x", "y", "z")
_LIKELIHOOD = "likelihood"
_COORDS = (*_SPACE, _LIKELIHOOD)
_BLOCK_BYTES = 4 << 20  # rows are copied into the output in blocks of about 4 MiB
_SCORER_SUFFIX = re.compile(r"\.\d+$")
_MAX_HEADER_BYTES = 16 << 20
_PARSE_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class DLCTable:
    """A DeepLabCut table as found on disk, before it becomes a pose dataset.

    Parameters
    ----------
    path
        The file it came from (used in messages).
    level_names
        Column level names, ``("scorer", "bodyparts", "coords")`` or with
        ``"individuals"``.
    columns
        One label tuple per value column, one entry per level.
    n_rows
        Number of data rows (for CSV files an upper bound: blank lines count).
    fill
        ``fill(sink)`` reads the numbers and calls ``sink(first_row, values)`` for
        blocks of rows, ``values`` a float array ``(rows, len(columns))``, possibly
        from several threads at once (always for disjoint rows); it returns the
        number of rows read. A block may be sent again, with the same rows, if a
        parallel read has to start over.
    index
        Row labels: int64 frame numbers, or str image paths for labelled frames.
        For CSV and table-format HDF5 files it is complete once ``fill`` returned.
    extra
        Non-coordinate columns (e.g. Lightning Pose's ``set``), name -> str array;
        complete, like ``index``, once ``fill`` returned.
    read_all
        Optional: returns all values at once as a float array ``(rows, columns)``
        (possibly a view into a larger buffer), when that is cheaper than ``fill``.

    Examples
    --------
    >>> table = read_csv_table("video1DLC_resnet50.csv")  # doctest: +SKIP
    >>> table.level_names  # doctest: +SKIP
    ('scorer', 'bodyparts', 'coords')
    """

    path: Path
    level_names: tuple[str, ...]
    columns: list[tuple[str, ...]]
    n_rows: int
    fill: Callable[[Callable[[int, np.ndarray], None]], int]
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    read_all: Callable[[], np.ndarray] | None = None


# --------------------------------------------------------------------------- sniff


def sniff(probe: Probe) -> Verdict:
    """Accept DeepLabCut CSVs (header rows scorer/.../coords) and pandas HDF5 frames."""
    if probe.is_hdf5:
        return _sniff_h5(probe)
    if not probe.is_text:
        return refuse("neither a text (CSV) file nor an HDF5 file")
    rows = head_rows(probe, 4)
    if not rows:
        return refuse("no complete line in the first 16 MiB")
    problem = _first_cells_problem(rows)
    if problem:
        return refuse(problem)
    return accept(1.0, "DeepLabCut CSV header rows")


def _sniff_h5(probe: Probe) -> Verdict:
    tree = probe.h5_tree
    if not tree:
        return refuse(f"HDF5 file cannot be opened ({probe.h5_error or 'unknown error'})")
    for key in H5_KEYS:
        if key in tree:
            if "pandas_type" in tree[key]:
                return accept(1.0, f"pandas frame under '{key}'")
            return refuse(f"'{key}' is not a pandas frame (no 'pandas_type' attribute)")
    frames = [
        k for k, attrs in tree.items() if k != "/" and "/" not in k and "pandas_type" in attrs
    ]
    if len(frames) == 1:
        return accept(0.5, f"single pandas frame under '{frames[0]}'")
    top = sorted(k for k in tree if k != "/" and "/" not in k)
    if frames:
        return refuse(f"several pandas frames {frames}; none is 'df_with_missing' or 'tracks'")
    return refuse(f"HDF5 file without a pandas 'df_with_missing' or 'tracks' group (found {top})")


def head_rows(probe: Probe, n: int) -> list[list[str]]:
    """The first ``n`` rows of a CSV file, split into cells (wide headers included).

    Parameters
    ----------
    probe
        The file's probe.
    n
        How many rows.

    Returns
    -------
    list of list of str
        Fewer than ``n`` rows if the file is shorter.

    Examples
    --------
    >>> head_rows(Probe("video1DLC.csv"), 1)[0][0]  # doctest: +SKIP
    'scorer'
    """
    lines = probe.lines(n)
    if len(lines) < n and len(probe.head) == probe.HEAD_BYTES:
        # a header wider than the probe's 64 KiB head: read on, within reason
        with open(probe.path, encoding="utf-8", errors="replace", newline="") as fh:
            lines = []
            size = 0
            for line in fh:
                size += len(line)
                if size > _MAX_HEADER_BYTES:
                    break
                lines.append(line)
                if len(lines) == n:
                    break
    rows = list(csv.reader(lines))
    if rows and rows[0] and rows[0][0].startswith("\ufeff"):
        rows[0][0] = rows[0][0][1:]
    return rows


def _first_cells_problem(rows: list[list[str]]) -> str | None:
    """Why these are not DeepLabCut header rows (None if their first cells fit)."""
    first = [row[0].strip() if row else "" for row in rows]
    if not first:
        return "no lines of text; expected DeepLabCut header rows scorer/bodyparts/coords"
    if first[0] != "scorer":
        return f"first cell of row 1 is {first[0][:40]!r}, expected 'scorer'"
    if len(first) < 2:
        return "only one line; expected DeepLabCut header rows scorer/bodyparts/coords"
    if first[1] == "individuals":
        expected = LEVELS_MULTI
    elif first[1] == "bodyparts":
        expected = LEVELS_SINGLE
    else:
        return f"first cell of row 2 is {first[1][:40]!r}, expected 'bodyparts' or 'individuals'"
    for i, name in enumerate(expected[2:], start=2):
        if i >= len(first):
            return f"the file ends after {len(first)} lines; expected a '{name}' row"
        if first[i] != name:
            return f"first cell of row {i + 1} is {first[i][:40]!r}, expected {name!r}"
    return None


# --------------------------------------------------------------------------- CSV


@dataclass
class _CsvLayout:
    level_names: tuple[str, ...]
    n_index: int
    width: int
    value_positions: list[int]
    columns: list[tuple[str, ...]]
    extra_positions: dict[str, int]


def _csv_layout(rows: list[list[str]], name: str) -> _CsvLayout:
    problem = _first_cells_problem(rows)
    if problem:
        raise FileFormatError(f"{name}: not a DeepLabCut CSV: {problem}")
    n_levels = 4 if rows[1][0].strip() == "individuals" else 3
    header = [[row[0].strip(), *row[1:]] for row in rows[:n_levels]]
    level_names = tuple(row[0] for row in header)
    widths = [len(row) for row in header]
    if len(set(widths)) > 1:
        found = ", ".join(f"{lvl} {w}" for lvl, w in zip(level_names, widths))
        raise FileFormatError(
            f"{name}: the DeepLabCut header rows have different numbers of cells ({found}); "
            "expected one cell per column in every row"
        )
    width = widths[0]
    n_index = 1
    while n_index < width and all(row[n_index] == "" for row in header):
        n_index += 1
    if n_index == width:
        raise FileFormatError(f"{name}: the DeepLabCut header rows name no columns")
    scorer = header[0][n_index]
    columns: list[tuple[str, ...]] = []
    positions: list[int] = []
    extra: dict[str, int] = {}
    for j in range(n_index, width):
        labels = [row[j] for row in header]
        if not any(labels):
            logger.debug("%s: ignoring column %d with an empty header", name, j + 1)
            continue
        if labels[-1] == "" and labels[-2] == "":
            extra[next(x for x in labels if x)] = j
            continue
        if labels[-1] not in _COORDS:
            raise FileFormatError(
                f"{name}: column {j + 1} has coords {labels[-1]!r}, expected one of "
                f"{list(_COORDS)} (row 'coords' of the header)"
            )
        if labels[0] != scorer and _SCORER_SUFFIX.sub("", labels[0]) == scorer:
            labels[0] = scorer  # "scorer.1, scorer.2": pandas' duplicate-name mangling
        columns.append(tuple(labels))
        positions.append(j)
    if not columns:
        raise FileFormatError(f"{name}: no x/y/likelihood/z columns in the DeepLabCut header")
    return _CsvLayout(level_names, n_index, width, positions, columns, extra)


def read_csv_table(path: str | Path) -> DLCTable:
    """Parse a DeepLabCut-style CSV into a :class:`DLCTable`.

    Parameters
    ----------
    path
        A DeepLabCut or Lightning Pose CSV.

    Returns
    -------
    DLCTable
        Header levels, column labels, row index and the numeric block.

    Raises
    ------
    FileFormatError
        If the header is not DeepLabCut's, rows have the wrong number of cells,
        a value is not a number, or there are no data rows.

    Examples
    --------
    >>> read_csv_table("video1DLC_resnet50.csv").index[:3]  # doctest: +SKIP
    array([0, 1, 2])
    """
    path = Path(path)
    layout = _csv_layout(head_rows(Probe(path), 4), path.name)
    with open(path, "rb") as fh:
        for _ in layout.level_names:
            fh.readline()
        pieces = _scan_pieces(fh)
    n_rows = sum(piece.lines for piece in pieces)
    if n_rows == 0:
        raise FileFormatError(
            f"{path.name}: no frames; the DeepLabCut header is followed by no data rows"
        )
    table = DLCTable(path, layout.level_names, layout.columns, n_rows, lambda sink: fill(sink))

    def fill(sink: Callable[[int, np.ndarray], None]) -> int:
        # pyarrow's parser, in threads: in a fresh process it beat pandas' C parser and
        # a hand-written numba parser (benchmarks/bench_io.py --parsers)
        parts = _parse_csv_pieces(path, layout, pieces, sink)
        if all(p.index.dtype.kind == "i" for p in parts):
            table.index = np.concatenate([p.index for p in parts])
        else:
            table.index = np.concatenate([p.index.astype(str) for p in parts])
        table.extra = {
            k: np.concatenate([p.extra[k] for p in parts]) for k in layout.extra_positions
        }
        return int(table.index.shape[0])

    return table


@dataclass
class _Piece:
    """A run of whole lines of a CSV file: byte offset, size and number of lines."""

    offset: int
    size: int
    lines: int


@dataclass
class _Part:
    index: np.ndarray
    rows: int
    extra: dict[str, np.ndarray]


def _scan_pieces(fh: Any) -> list[_Piece]:
    """Cut the rest of ``fh`` into pieces of about 4 MiB that end at a line end, counting
    lines (a quick pass: it lets the parsed rows go straight to their place in the
    output, from several threads)."""
    pieces = []
    offset = fh.tell()
    while True:
        block = fh.read(_BLOCK_BYTES)
        while len(block) >= _BLOCK_BYTES and b"\n" not in block:  # a very long line
            more = fh.read(_BLOCK_BYTES)
            if not more:
                break
            block += more
        if not block:
            return pieces
        at_end = len(block) < _BLOCK_BYTES or not fh.peek(1)
        cut = len(block) if at_end else block.rfind(b"\n") + 1
        lines = block.count(b"\n", 0, cut)
        if at_end and not block.endswith(b"\n") and block[block.rfind(b"\n") + 1 :].strip():
            lines += 1  # a last line without a line end
        pieces.append(_Piece(offset, cut, lines))
        offset += cut
        if at_end:
            return pieces
        fh.seek(offset)


def _parse_csv_pieces(
    path: Path, layout: _CsvLayout, pieces: list[_Piece], sink: Callable[[int, np.ndarray], None]
) -> list[_Part]:
    """Parse every piece, in a few threads (pyarrow and numpy release the GIL), each
    sending its rows to ``sink`` at the row its piece starts at."""
    from concurrent.futures import ThreadPoolExecutor

    parse = _piece_parser(layout)
    starts = np.concatenate([[0], np.cumsum([p.lines for p in pieces])]).astype(int)
    header_lines = len(layout.level_names)

    def work(k: int, start: int) -> _Part:
        piece = pieces[k]
        with open(path, "rb") as fh:  # a handle per piece: threads read in parallel
            fh.seek(piece.offset)
            result = parse(fh.read(piece.size))
        if isinstance(result, _PieceError):
            line = header_lines + int(starts[k]) + 1
            raise FileFormatError(
                f"{path.name}: malformed DeepLabCut CSV data in lines {line} to "
                f"{line + piece.lines - 1}: {result.cause}"
            ) from result.cause
        index, values, extra = result
        if values.shape[0] > piece.lines:
            raise FileFormatError(f"{path.name}: more rows than lines near byte {piece.offset}")
        sink(start, values)
        return _Part(index, values.shape[0], extra)

    with ThreadPoolExecutor(min(_PARSE_THREADS, len(pieces))) as pool:
        futures = [pool.submit(work, k, int(starts[k])) for k in range(len(pieces))]
        parts = [f.result() for f in futures]
    if any(p.rows != q.lines for p, q in zip(parts[:-1], pieces[:-1])):
        # blank lines inside the file: rows are not where the line count put them;
        # read again, in order, each piece where the previous one ended
        parts, start = [], 0
        for k in range(len(pieces)):
            parts.append(work(k, start))
            start += parts[-1].rows
    return parts


@dataclass
class _PieceError:
    cause: Exception


def _piece_parser(
    layout: _CsvLayout,
) -> Callable[[bytes], tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | _PieceError]:
    """A function parsing whole data lines of a DeepLabCut CSV into
    ``(index, values, extra)``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    names = [f"c{j}" for j in range(layout.width)]
    index_names = names[: layout.n_index]
    value_names = [names[j] for j in layout.value_positions]
    extra_names = {key: names[j] for key, j in layout.extra_positions.items()}
    types: dict[str, Any] = dict.fromkeys(value_names, pa.float64())
    types.update(dict.fromkeys([*index_names, *extra_names.values()], pa.string()))
    convert = pacsv.ConvertOptions(
        column_types=types,
        include_columns=[*index_names, *value_names, *extra_names.values()],
        strings_can_be_null=False,
    )

    def read(piece: bytes, block_size: int) -> Any:
        options = pacsv.ReadOptions(column_names=names, use_threads=False, block_size=block_size)
        return pacsv.read_csv(pa.py_buffer(piece), read_options=options, convert_options=convert)

    def parse(piece: bytes) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | _PieceError:
        try:
            try:
                table = read(piece, 1 << 20)  # 1 MiB blocks parse fastest
            except pa.ArrowInvalid as err:
                if "straddling" not in str(err):
                    raise
                table = read(piece, len(piece) + 1)  # a line longer than 1 MiB
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            return _PieceError(err)
        values = np.empty((table.num_rows, len(value_names)))
        for j, column in enumerate(value_names):
            values[:, j] = table.column(column).to_numpy(zero_copy_only=False)
        labels = [table.column(c) for c in index_names]
        if len(labels) == 1:
            try:
                index = pc.cast(labels[0], pa.int64()).to_numpy()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                index = np.asarray(labels[0].to_pylist(), dtype=str)
        else:
            index = np.asarray(pc.binary_join_element_wise(*labels, "/").to_pylist(), dtype=str)
        extra = {
            key: np.asarray(table.column(c).to_pylist(), dtype=str)
            for key, c in extra_names.items()
        }
        return index, values, extra

    return parse


# --------------------------------------------------------------------------- HDF5
#
# pandas writes frames through PyTables. These files are read with h5py only, and
# nothing in them is ever unpickled: numbers and string labels come straight from
# the HDF5 datasets; what PyTables stores as a pickle (table-format attributes,
# "object" arrays) is decoded by behavior.io._pickle_data, which builds plain
# values and refuses any pickle that would need code (FileFormatError).

_MISSING = object()


@dataclass
class _Block:
    """One block of a pandas frame: where its values are and which columns they fill."""

    values: np.ndarray | None  # (rows, items), already read; None: stream ``dataset``
    positions: list[int]  # frame column of each item
    dataset: str = ""  # HDF5 path under the frame group (streamed numeric block)
    field_name: str | None = None  # table format: the block's field in ``table``


@dataclass
class _H5Frame:
    level_names: tuple[str, ...]
    labels: list[tuple[str, ...]]  # every frame column, in frame order
    n_rows: int
    index: np.ndarray | None  # None: table format, read with the values
    blocks: list[_Block]
    index_field: str | None = None  # table format: the field of the row labels
    encoding: str = "utf-8"


def _attr_str(attrs: Any, name: str) -> str | None:
    value = attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray | np.generic):
        value = value.item() if value.shape == () else value.tobytes()
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _brief(value: Any) -> str:
    """A short repr of decoded file content, bounded in depth and length (a plain repr
    of a pickled structure that shares parts can take exponential time)."""
    return _BRIEF.repr(value)


_BRIEF = reprlib.Repr()  # bounded in depth and length (keyword arguments: Python 3.12+)
_BRIEF.maxlevel, _BRIEF.maxtuple, _BRIEF.maxlist, _BRIEF.maxdict = 3, 6, 6, 4
_BRIEF.maxstring = _BRIEF.maxother = 60


def _refused(path: Path, what: str, err: PickleDataError) -> FileFormatError:
    return FileFormatError(
        f"{path.name}: {what} is a pickle that holds more than plain labels ({err}); "
        "expected strings and numbers. Pickles in HDF5 files are never unpickled here, "
        "because loading one can run code"
    )


def _plain(raw: bytes, path: Path, what: str) -> Any:
    """The plain data in a PyTables pickle, read without unpickling it."""
    try:
        return load_data(raw)
    except PickleDataError as err:
        raise _refused(path, what, err) from None


def _pickled_attr(attrs: Any, name: str, path: Path, where: str, default: Any = _MISSING) -> Any:
    """A PyTables attribute stored as a pickle (lists, dicts, tuples), as plain data."""
    raw = attrs.get(name)
    if raw is None:
        if default is not _MISSING:
            return default
        raise FileFormatError(
            f"{path.name}: {where} has no {name!r} attribute; expected a frame written by "
            "pandas.DataFrame.to_hdf"
        )
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, bytes):
        raise FileFormatError(
            f"{path.name}: attribute {name!r} of {where} is a {type(raw).__name__}; expected "
            "the pickled value pandas writes there"
        )
    return _plain(bytes(raw), path, f"attribute {name!r} of {where}")


def _node_name(node: Any, path: Path, encoding: str) -> str | None:
    """An index's name: PyTables keeps strings as they are and pickles anything else
    (``b"N."`` is None); like PyTables, only a value ending in ``.`` may be a pickle."""
    raw = node.attrs.get("name")
    if raw is None or not isinstance(raw, bytes):
        return None if raw is None else str(raw)
    raw = bytes(raw)
    if raw.endswith(b"."):
        try:
            value = load_data(raw)
        except PickleDataError as err:
            try:
                parse(raw)
            except PickleDataError:  # not a pickle after all: a name ending in "."
                return raw.decode(encoding, "replace")
            raise _refused(path, f"the name of '{node.name}'", err) from None
        _check_flat([value], path, f"the name of '{node.name}'")
        return None if value is None else str(value)
    return raw.decode(encoding, "replace")


def _is_object_atom(node: Any, path: Path) -> bool:
    """True for a PyTables ``ObjectAtom`` array (each row one pickle)."""
    if _attr_str(node.attrs, "CLASS") != "VLARRAY":
        return False
    atom = _attr_str(node.attrs, "PSEUDOATOM")
    if atom != "object":
        raise FileFormatError(
            f"{path.name}: '{node.name}' is a variable-length array of {atom or 'numbers'}; "
            "expected numbers, fixed-width strings or pandas' object arrays"
        )
    return True


def _object_array(node: Any, path: Path) -> np.ndarray:
    """The numpy array pickled in the first row of an ``ObjectAtom`` array (as pandas
    reads it), decoded without unpickling."""
    import h5py

    if h5py.check_vlen_dtype(node.dtype) != np.dtype(np.uint8) or node.ndim != 1 or not len(node):
        raise FileFormatError(
            f"{path.name}: '{node.name}' is not a PyTables object array (dtype {node.dtype}, "
            f"shape {node.shape}); expected one row of pickled bytes"
        )
    value = _plain(np.asarray(node[0]).tobytes(), path, f"'{node.name}'")
    if not isinstance(value, np.ndarray):
        raise FileFormatError(
            f"{path.name}: '{node.name}' holds a pickled {type(value).__name__}; expected an array"
        )
    return value


def _read_node(node: Any, path: Path) -> np.ndarray:
    """A fixed-format array as pandas' ``read_array`` returns it: ``transposed``
    undone (a block is then ``(columns, rows)``), an empty array restored from the
    ``shape`` attribute of its placeholder."""
    if _is_object_atom(node, path):
        data = _object_array(node, path)
    else:
        shape = _pickled_attr(node.attrs, "shape", path, f"'{node.name}'", None)
        if shape is not None:  # pandas' placeholder for an array with a zero-length axis
            if not (isinstance(shape, tuple) and shape and all(type(n) is int for n in shape)):
                raise FileFormatError(f"{path.name}: '{node.name}' has the shape {shape!r}")
            if min(shape) < 0 or int(np.prod(shape)) != 0:
                raise FileFormatError(
                    f"{path.name}: '{node.name}' is a placeholder for an empty array, but "
                    f"its 'shape' attribute says {shape}"
                )
            value_type = _attr_str(node.attrs, "value_type") or "float64"
            try:
                dtype = np.dtype(object if value_type == "str" else value_type)
            except TypeError:
                raise FileFormatError(
                    f"{path.name}: '{node.name}' has the value type {value_type!r}; expected "
                    "a numpy dtype"
                ) from None
            return np.empty(shape, dtype=dtype)
        data = node[()]
    if int(node.attrs.get("transposed", 0)):
        data = data.T
    return data


def _index_values(node: Any, path: Path, encoding: str) -> np.ndarray:
    """The values of one pandas index (or MultiIndex level) node."""
    kind = _attr_str(node.attrs, "kind")
    data = _read_node(node, path)
    if data.ndim != 1:
        raise FileFormatError(f"{path.name}: '{node.name}' has shape {data.shape}; expected 1-D")
    if kind == "string" and data.dtype.kind == "S":
        return np.char.decode(data, encoding).astype(str)
    if kind in ("integer", "float", "bool") and data.dtype.kind in "iufb":
        return data
    if kind == "object" and data.dtype.kind == "O":
        return _check_flat(data, path, f"'{node.name}'")
    raise FileFormatError(
        f"{path.name}: '{node.name}' holds labels of kind {kind!r} (dtype {data.dtype}); "
        "expected strings, numbers or plain Python objects"
    )


def _fixed_index(group: Any, key: str, path: Path, encoding: str) -> tuple[list, list, bool]:
    """(entries, level names, multi?) of a fixed-format index: one value per entry,
    or for a MultiIndex one tuple per entry (NaN where a code is -1)."""
    variety = _attr_str(group.attrs, f"{key}_variety")
    if variety == "regular":
        node = _child(group, key, path)
        return list(_index_values(node, path, encoding)), [_node_name(node, path, encoding)], False
    if variety != "multi":
        raise FileFormatError(
            f"{path.name}: index '{key}' of '{group.name}' has variety {variety!r}; "
            "expected 'regular' or 'multi'"
        )
    n_levels = int(np.asarray(group.attrs.get(f"{key}_nlevels", 0)).item())
    if n_levels < 1:
        raise FileFormatError(f"{path.name}: MultiIndex '{key}' has {n_levels} levels")
    columns, names = [], []
    for k in range(n_levels):
        node = _child(group, f"{key}_level{k}", path)
        level = np.append(_index_values(node, path, encoding).astype(object), np.nan)
        codes = _read_node(_child(group, f"{key}_label{k}", path), path)
        if codes.ndim != 1 or codes.dtype.kind not in "iu":
            raise FileFormatError(
                f"{path.name}: '{key}_label{k}' holds {codes.dtype} of shape {codes.shape}; "
                "expected integer codes"
            )
        if codes.size and (codes.min() < -1 or codes.max() >= len(level) - 1):
            raise FileFormatError(
                f"{path.name}: '{key}_label{k}' has codes outside the {len(level) - 1} "
                f"values of '{key}_level{k}'"
            )
        if columns and codes.shape != columns[0].shape:
            raise FileFormatError(
                f"{path.name}: the levels of MultiIndex '{key}' have different lengths"
            )
        columns.append(level[codes])  # code -1 picks the NaN appended above
        names.append(_node_name(node, path, encoding))
    return list(zip(*columns, strict=True)), names, True


def _child(group: Any, name: str, path: Path) -> Any:
    import h5py

    node = group.get(name)
    if not isinstance(node, h5py.Dataset):
        found = "nothing" if node is None else "a group"
        raise FileFormatError(
            f"{path.name}: expected the dataset '{group.name}/{name}' of a pandas frame, "
            f"found {found}"
        )
    return node


_SCALARS = (str, bytes, int, float, np.generic, type(None))


def _is_flat(value: Any) -> bool:
    """A label pandas can show: a scalar, or a short tuple of scalars (as MausHaus3D's
    scorer ``('keypoints_3d',)``); never a deeper structure, whose text could explode."""
    if isinstance(value, _SCALARS):
        return True
    return (
        isinstance(value, tuple | list)
        and len(value) <= 64
        and all(isinstance(v, _SCALARS) for v in value)
    )


def _check_flat(values: Any, path: Path, what: str) -> Any:
    """``values``, after checking that every label in it is flat (see :func:`_is_flat`)."""
    for value in values:
        if not _is_flat(value):
            raise FileFormatError(
                f"{path.name}: {what} holds a label of type {type(value).__name__} "
                f"({_brief(value)}); expected strings, numbers or flat tuples of them"
            )
    return values


def _column_labels(
    entries: list, names: list, multi: bool, path: Path
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Level names and column label tuples (as strings), refusing flat columns."""
    if not multi:
        raise FileFormatError(
            f"{path.name}: expected column levels scorer/(individuals/)bodyparts/coords, "
            f"found flat columns {[_label(x) for x in entries[:5]]}"
        )
    labels = [tuple(str(_label(x)) for x in t) for t in entries]
    names = [None if n is None else str(n) for n in names]
    return _level_names(names, len(names)), labels


def _label(value: Any) -> Any:
    """A label as pandas shows it (numpy strings as str)."""
    return str(value) if isinstance(value, np.str_ | bytes) else value


def _row_labels(entries: Any, multi: bool) -> np.ndarray:
    """Row labels: int64 frame numbers, else str (image paths; MultiIndex joined by /)."""
    if multi:
        return np.asarray(["/".join(str(_label(x)) for x in t) for t in entries], dtype=str)
    values = np.asarray(entries) if not isinstance(entries, np.ndarray) else entries
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "O" and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in values
    ):
        return values.astype(np.int64)
    if values.dtype.kind == "U":
        return values
    return np.asarray([str(_label(v)) for v in values], dtype=str)


def _positions(items: list, where: dict, path: Path, block: str) -> list[int]:
    try:
        return [where[item] for item in items]
    except (KeyError, TypeError):
        raise FileFormatError(
            f"{path.name}: the columns of '{block}' are not all among the frame's columns"
        ) from None


def _lookup(labels: list, path: Path) -> dict:
    where: dict = {}
    try:
        for j, label in enumerate(labels):
            where.setdefault(label, j)
    except TypeError:
        raise FileFormatError(
            f"{path.name}: a column label is not hashable ({_brief(label)})"
        ) from None
    return where


def _fixed_frame(group: Any, path: Path) -> _H5Frame:
    """A ``format="fixed"`` frame: index and column labels, and its blocks."""
    attrs = group.attrs
    encoding = _attr_str(attrs, "encoding") or "UTF-8"
    entries, names, multi = _fixed_index(group, "axis0", path, encoding)
    level_names, labels = _column_labels(entries, names, multi, path)
    if _attr_str(attrs, "axis1_variety") == "multi":  # e.g. labelled frames (folder, video, image)
        index = _row_labels(_fixed_index(group, "axis1", path, encoding)[0], True)
    else:
        index = _row_labels(_index_values(_child(group, "axis1", path), path, encoding), False)
    n_rows = index.shape[0]
    where = _lookup(entries, path)
    blocks = []
    n_blocks = int(np.asarray(attrs.get("nblocks", 0)).item())
    for i in range(n_blocks):
        items, _, _ = _fixed_index(group, f"block{i}_items", path, encoding)
        positions = _positions(items, where, path, f"block{i}_items")
        node = _child(group, f"block{i}_values", path)
        stream = (
            n_blocks == 1
            and node.ndim == 2
            and node.dtype.kind in "fiu"
            and int(node.attrs.get("transposed", 0)) == 1
            and "shape" not in node.attrs
            and node.shape == (n_rows, len(positions))
        )
        values = None if stream else _read_node(node, path).T
        if values is not None and values.ndim == 1:  # an extension array (str): one column
            values = values.reshape(-1, 1)
        if values is not None and values.dtype.kind == "O":
            _check_flat(values.ravel(), path, f"'block{i}_values'")
        if values is not None and values.shape != (n_rows, len(positions)):
            raise FileFormatError(
                f"{path.name}: 'block{i}_values' has shape {values.shape}; expected "
                f"({n_rows}, {len(positions)}) (rows, columns)"
            )
        blocks.append(_Block(values, positions, f"block{i}_values"))
    return _H5Frame(level_names, labels, n_rows, index, blocks)


def _table_frame(group: Any, path: Path, key: str) -> _H5Frame:
    """A ``format="table"`` frame: labels from its (pickled, decoded) attributes."""
    import h5py

    where = f"'{key}'"
    attrs = group.attrs
    table = group.get("table")
    if not isinstance(table, h5py.Dataset) or table.dtype.names is None:
        raise FileFormatError(
            f"{path.name}: {where} is a pandas table without a 'table' of records"
        )
    encoding = _attr_str(attrs, "encoding") or "UTF-8"
    non_index = _pickled_attr(attrs, "non_index_axes", path, where)
    info = _pickled_attr(attrs, "info", path, where, {})
    index_cols = _pickled_attr(attrs, "index_cols", path, where)
    values_cols = _pickled_attr(attrs, "values_cols", path, where)
    try:  # (never hash, str or compare these deeply before they are checked: see _brief)
        entries = next(list(labels) for axis, labels in non_index if axis == 1)
        names = list(info.get(1, {}).get("names") or [])
        (_, index_field), *others = index_cols
    except (TypeError, ValueError, KeyError, AttributeError, StopIteration):
        raise FileFormatError(
            f"{path.name}: the pandas attributes of {where} (non_index_axes "
            f"{_brief(non_index)}, index_cols {_brief(index_cols)}) do not describe one frame"
        ) from None
    if not (
        isinstance(index_field, str)
        and isinstance(values_cols, list)
        and all(isinstance(c, str) for c in values_cols)
    ):
        raise FileFormatError(
            f"{path.name}: {where} names its index {_brief(index_cols)} and values "
            f"{_brief(values_cols)}; expected field names (strings)"
        )
    for t in entries:
        _check_flat(
            t if isinstance(t, tuple) else (t,), path, f"attribute 'non_index_axes' of {where}"
        )
    _check_flat(names, path, f"attribute 'info' of {where}")
    multi = bool(entries) and all(isinstance(t, tuple) for t in entries)
    if multi and len(names) != len(entries[0]):
        names = [None] * len(entries[0])
    level_names, labels = _column_labels(entries, names, multi, path)
    fields = table.dtype.names
    if others or index_field not in fields or any(c not in fields for c in values_cols):
        raise FileFormatError(
            f"{path.name}: {where} has index {_brief(index_cols)} and values "
            f"{_brief(values_cols)}, but its table has the fields {list(fields)}"
        )
    index_kind = _attr_str(table.attrs, "index_kind")
    index_dtype = table.dtype[index_field]
    if (index_kind, index_dtype.kind) not in _TABLE_INDEX:
        raise FileFormatError(
            f"{path.name}: the rows of {where} are labelled by {index_kind!r} values "
            f"({index_dtype}); expected frame numbers (integer) or image paths (string)"
        )
    lookup = _lookup(entries, path)
    blocks = []
    for name in values_cols:
        kind_raw = table.attrs.get(f"{name}_kind")
        if kind_raw is None and len(values_cols) == 1:
            items = entries
        else:
            items = _pickled_attr(table.attrs, f"{name}_kind", path, f"the table of {where}")
            if not isinstance(items, list):
                items = [items]
            for t in items:
                what = f"attribute '{name}_kind' of the table of {where}"
                _check_flat(t if isinstance(t, tuple) else (t,), path, what)
        dtype = table.dtype[name]
        width = int(np.prod(dtype.shape)) if dtype.shape else 1
        if width != len(items) or dtype.base.kind not in "fiubS":
            raise FileFormatError(
                f"{path.name}: field {name!r} of the table of {where} holds {dtype}; expected "
                f"{len(items)} numbers or strings (one per column it names)"
            )
        positions = _positions(items, lookup, path, name)
        blocks.append(_Block(None, positions, "table", name))
    return _H5Frame(level_names, labels, int(table.shape[0]), None, blocks, index_field, encoding)


_TABLE_INDEX = {("integer", "i"), ("integer", "u"), ("string", "S"), ("float", "f")}


def _h5_key(f: Any, key: str | None, path: Path) -> str:
    if key is not None:
        if key.strip("/") not in f:
            raise FileFormatError(
                f"{path.name}: no key {key!r} in the HDF5 file; found {sorted(f.keys())}"
            )
        return key.strip("/")
    for candidate in H5_KEYS:
        if candidate in f:
            return candidate
    frames = [k for k in f if "pandas_type" in f[k].attrs]
    if len(frames) == 1:
        return frames[0]
    raise FileFormatError(
        f"{path.name}: expected a pandas frame under 'df_with_missing' or 'tracks', found "
        f"{sorted(f.keys())}" + ("; pass key= to choose one" if frames else "")
    )


def read_h5_table(path: str | Path, key: str | None = None) -> DLCTable:
    """Read a pandas-written DeepLabCut HDF5 file into a :class:`DLCTable`, with h5py.

    Table (``format="table"``) and fixed layouts are both read without pandas and
    without unpickling: numbers and string labels come from the HDF5 datasets;
    what PyTables stores as pickles (table-format attributes, object arrays such as
    a column level of mixed labels) is decoded as plain data by
    :mod:`behavior.io._pickle_data`, and a pickle that would need code to load is
    refused. A frame with a single numeric block is read in one go (or in row
    blocks); mixed blocks (e.g. a string column) are read at once.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5`` file.
    key
        The pandas key; by default ``df_with_missing``, else ``tracks``, else the
        file's only pandas frame.

    Returns
    -------
    DLCTable
        Column labels, row index and readers of the values.

    Raises
    ------
    FileFormatError
        If the file cannot be opened (e.g. truncated) or read, holds no pandas
        frame, or its labels are a pickle that holds more than plain data (the
        message names the file, the attribute or array, and what it refers to).

    Examples
    --------
    >>> read_h5_table("video1DLC_resnet50.h5").level_names  # doctest: +SKIP
    ('scorer', 'bodyparts', 'coords')
    """
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            key = _h5_key(f, key, path)
            group = f[key]
            if not isinstance(group, h5py.Group):
                raise FileFormatError(
                    f"{path.name}: '{key}' is an HDF5 dataset, expected a pandas frame group"
                )
            kind = _attr_str(group.attrs, "pandas_type")
            if kind == "frame_table":
                frame = _table_frame(group, path, key)
            elif kind == "frame":
                frame = _fixed_frame(group, path)
            elif kind is None:
                raise FileFormatError(
                    f"{path.name}: '{key}' has no 'pandas_type' attribute; "
                    "expected a frame written by pandas.DataFrame.to_hdf"
                )
            else:
                found = "a Series" if kind.startswith("series") else f"a pandas {kind!r}"
                raise FileFormatError(
                    f"{path.name}: '{key}' holds {found}, expected a DataFrame "
                    "('frame' or 'frame_table')"
                )
            if not _streams(frame):
                return _read_frame(f[key], frame, path)
    except FileFormatError:
        raise
    except OSError as err:
        raise FileFormatError(
            f"{path.name}: cannot be opened as HDF5 ({err}); is the file truncated?"
        ) from err
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as err:
        raise FileFormatError(
            f"{path.name}: cannot read the pandas frame in this HDF5 file "
            f"({type(err).__name__}: {err}); expected one written by pandas.DataFrame.to_hdf"
        ) from err
    return _streamed_table(path, key, frame)


def _damaged(path: Path, key: str, err: Exception) -> FileFormatError:
    return FileFormatError(
        f"{path.name}: cannot read the values of '{key}' ({err}); the file is damaged or truncated"
    )


def _is_value(label: tuple[str, ...]) -> bool:
    """A coordinate column, not an extra one such as Lightning Pose's ``("set", "", "")``."""
    return len(label) < 2 or not (label[-1] == "" and label[-2] == "")


def _streams(frame: _H5Frame) -> bool:
    """One numeric block holding every column in order, all coordinates."""
    if len(frame.blocks) != 1 or frame.blocks[0].values is not None:
        return False
    block = frame.blocks[0]
    return block.positions == list(range(len(frame.labels))) and all(
        _is_value(t) for t in frame.labels
    )


def _streamed_table(path: Path, key: str, frame: _H5Frame) -> DLCTable:
    """A DLCTable that reads the one numeric block when asked (all at once or in row
    blocks); for table files the row labels come with the values."""
    import h5py

    (block,) = frame.blocks
    dataset, field_name, n_rows = block.dataset, block.field_name, frame.n_rows
    columns = frame.labels
    encoding = frame.encoding

    def fill(sink: Callable[[int, np.ndarray], None]) -> int:
        try:
            return fill_from_file(sink)
        except (OSError, RuntimeError) as err:
            raise _damaged(path, key, err) from err

    def fill_from_file(sink: Callable[[int, np.ndarray], None]) -> int:
        step = max(1, _BLOCK_BYTES // max(1, 8 * len(columns)))
        labels = []
        with h5py.File(path, "r") as f:
            ds = f[key][dataset]
            buffer = np.empty((min(step, n_rows), *ds.shape[1:]), dtype=ds.dtype)
            for start in range(0, n_rows, step):
                stop = min(n_rows, start + step)
                ds.read_direct(buffer, np.s_[start:stop], np.s_[0 : stop - start])
                if field_name:  # table format: the row labels come in the same rows
                    labels.append(buffer[frame.index_field][: stop - start].copy())
                    part = buffer[field_name].reshape(buffer.shape[0], -1)
                else:
                    part = buffer
                sink(start, part[: stop - start].astype(np.float64, copy=False))
        if field_name:
            table.index = _decode_index(_concat(labels, ds.dtype, frame.index_field), encoding)
        return n_rows

    def read_all() -> np.ndarray:
        try:
            with h5py.File(path, "r") as f:
                ds = f[key][dataset]
                buffer = np.empty(ds.shape, dtype=ds.dtype)
                if n_rows:
                    ds.read_direct(buffer)
        except (OSError, RuntimeError) as err:
            raise _damaged(path, key, err) from err
        if field_name:  # table format: rows of (index, values) records
            table.index = _decode_index(buffer[frame.index_field], encoding)
            buffer = buffer[field_name].reshape(buffer.shape[0], -1)
        return buffer.astype(np.float64, copy=False)

    table = DLCTable(path, frame.level_names, columns, n_rows, fill, read_all=read_all)
    if frame.index is not None:
        table.index = frame.index
    return table


def _concat(parts: list[np.ndarray], dtype: np.dtype, field_name: str) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype[field_name])


def _read_frame(group: Any, frame: _H5Frame, path: Path) -> DLCTable:
    """Every block read now: coordinates into one float array, extra columns as str."""
    encoding = frame.encoding
    n_rows = frame.n_rows
    index = frame.index
    records = None
    if frame.index_field is not None:  # table format: one read of the records
        records = group["table"][()]
        index = _decode_index(records[frame.index_field], encoding)
    columns: dict[int, np.ndarray] = {}
    for block in frame.blocks:
        if records is not None:
            values = records[block.field_name].reshape(n_rows, -1)
            if values.dtype.kind == "S":
                values = np.char.decode(values, encoding).astype(object)
        elif block.values is None:
            values = group[block.dataset][()]
        else:
            values = block.values
        for i, j in enumerate(block.positions):
            columns[j] = values[:, i]
    value_positions = [j for j, t in enumerate(frame.labels) if _is_value(t)]
    missing = [frame.labels[j] for j in range(len(frame.labels)) if j not in columns]
    if missing:
        raise FileFormatError(
            f"{path.name}: no block holds the column(s) {missing[:3]}; the frame's blocks "
            "do not cover its columns"
        )
    values = np.empty((n_rows, len(value_positions)))
    for k, j in enumerate(value_positions):
        try:
            values[:, k] = columns[j]
        except (TypeError, ValueError) as err:
            raise FileFormatError(
                f"{path.name}: column {frame.labels[j]} holds non-numeric values ({err}); "
                "expected numbers"
            ) from None
    extra = {
        next((x for x in frame.labels[j] if x), "extra"): _as_text(columns[j])
        for j in range(len(frame.labels))
        if not _is_value(frame.labels[j])
    }

    def fill(sink: Callable[[int, np.ndarray], None]) -> int:
        sink(0, values)
        return n_rows

    labels = [frame.labels[j] for j in value_positions]
    return DLCTable(path, frame.level_names, labels, n_rows, fill, index, extra, lambda: values)


def _as_text(column: np.ndarray) -> np.ndarray:
    """An extra column as str; missing values (None, NaN) read ``"nan"``."""
    return np.asarray(["nan" if v is None else str(_label(v)) for v in column.tolist()], dtype=str)


def _decode_index(raw: np.ndarray, encoding: str = "utf-8") -> np.ndarray:
    """Row labels as int64 frame numbers or str image paths."""
    if raw.dtype.kind == "S":
        return np.char.decode(raw, encoding).astype(str)
    return _row_labels(raw, False)


def _level_names(names: Sequence[Any], n: int) -> tuple[str, ...]:
    if all(x is None for x in names):  # unnamed levels: DeepLabCut's order by count
        return LEVELS_MULTI if n == 4 else LEVELS_SINGLE if n == 3 else tuple("?" * n)
    return tuple("" if x is None else str(x) for x in names)


# --------------------------------------------------------------------------- dataset


def to_dataset(
    table: DLCTable,
    *,
    fps: float | None = None,
    zeros_as_missing: bool = True,
    unique_bodyparts: Literal["keep", "drop"] = "keep",
    source_software: str = "DeepLabCut",
) -> xr.Dataset:
    """Turn a :class:`DLCTable` into a pose dataset.

    Parameters
    ----------
    table
        From :func:`read_csv_table` or :func:`read_h5_table`.
    fps
        Frames per second; ``time`` is then ``frame / fps`` seconds.
    zeros_as_missing
        Treat points with ``x == y == likelihood == 0`` (or ``x == y == 0`` in 2D files
        without likelihood) as missing (NaN position). How many points it changed is
        recorded in ``attrs["log"]`` (operation ``"zeros_as_missing"``), and a
        ``UserWarning`` is issued when that is more than 0.1 % of the points.
    unique_bodyparts
        ``"keep"`` the maDLC pseudo-individual ``single`` (NaN for keypoints it
        lacks, and for its keypoints in the other individuals), or ``"drop"`` it.
    source_software
        Stored in ``attrs["source_software"]``.

    Returns
    -------
    xr.Dataset
        The pose dataset (not yet validated or logged: :func:`load_poses` does it).

    Raises
    ------
    FileFormatError
        If the column levels or coordinates do not fit DeepLabCut's layout.

    Examples
    --------
    >>> ds = to_dataset(read_csv_table("video1DLC.csv"), fps=30)  # doctest: +SKIP
    """
    name = table.path.name
    levels = tuple(table.level_names)
    if levels not in (LEVELS_SINGLE, LEVELS_MULTI):
        raise FileFormatError(
            f"{name}: expected column levels {list(LEVELS_SINGLE)} or {list(LEVELS_MULTI)}, "
            f"found {list(levels)}"
        )
    multi = len(levels) == 4
    scorers = list(dict.fromkeys(c[0] for c in table.columns))
    if len(scorers) > 1:
        logger.warning("%s: several scorers %s; keeping %r", name, scorers, scorers[0])
    columns = table.columns
    keep = np.ones(len(columns), dtype=bool)
    if multi and unique_bodyparts == "drop":
        keep = np.array([c[1] != UNIQUE_INDIVIDUAL for c in columns])
        if not keep.any():
            keep[:] = True
    elif unique_bodyparts not in ("keep", "drop"):
        raise PoseDataError(
            f"unique_bodyparts: expected 'keep' or 'drop', found {unique_bodyparts!r}"
        )
    individuals: dict[str, int] = {}
    keypoints: dict[str, int] = {}
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for j, col in enumerate(columns):
        if not keep[j]:
            continue
        ind = col[1] if multi else SINGLE_ANIMAL
        kp, coord = col[-2], col[-1]
        individuals.setdefault(ind, len(individuals))
        keypoints.setdefault(kp, len(keypoints))
        coords = cells.setdefault((ind, kp), {})
        if coord in coords:
            raise FileFormatError(
                f"{name}: duplicate column {col!r} (columns {coords[coord] + 1} and {j + 1})"
            )
        coords[coord] = j
    space = list(_SPACE if any("z" in c for c in cells.values()) else _SPACE[:2])
    for (ind, kp), coords in cells.items():
        missing = [s for s in space if s not in coords]
        if missing:
            raise FileFormatError(
                f"{name}: bodypart {kp!r} of individual {ind!r} has coords {list(coords)}, "
                f"expected {space} (+ likelihood); missing {missing}"
            )
    n_rows, n_kp, n_ind = table.n_rows, len(keypoints), len(individuals)
    regular = _regular_layout(cells, individuals, keypoints, space, len(columns))
    if regular is not None:
        # the usual case: columns are the product individual x bodypart x coords, so
        # position and confidence are views of the (frames, columns) table: no copy
        n_coords, space_axes, likelihood = regular
        if table.read_all is not None:
            raw = table.read_all()
        else:
            raw = np.empty((n_rows, len(columns)))

            def put(start: int, values: np.ndarray) -> None:
                if start + values.shape[0] > n_rows:
                    raise FileFormatError(f"{name}: more data rows than the {n_rows} expected")
                raw[start : start + values.shape[0]] = values

            raw = raw[: table.fill(put)]
        grid = raw.reshape(raw.shape[0], n_ind, n_kp, n_coords)
        position = grid[..., space_axes].transpose(0, 3, 2, 1)
        has_likelihood = likelihood is not None
        if has_likelihood:
            confidence = grid[..., likelihood].transpose(0, 2, 1)
        else:
            confidence = np.full((raw.shape[0], n_kp, n_ind), np.nan)
    else:
        position, confidence = _gather_table(table, cells, individuals, keypoints, space)
        has_likelihood = any(_LIKELIHOOD in c for c in cells.values())
    if position.shape[0] == 0:
        raise FileFormatError(f"{name}: no frames; the table has column labels but no data rows")
    zeroed, rule = 0, ""
    if zeros_as_missing and has_likelihood:
        t, k, i = np.nonzero(confidence == 0)  # few; then check their x and y
        zero = np.all(position[t, :, k, i] == 0, axis=1)
        if zero.any():
            zeroed, rule = int(zero.sum()), "x = y = likelihood = 0"
            position[t[zero], :, k[zero], i[zero]] = np.nan
    elif zeros_as_missing and position.shape[1] == 2 and table.index.dtype.kind in "iu":
        # 2D tracks without likelihood (MABe): an untracked point sits at exactly (0, 0)
        origin = (position[:, 0] == 0) & (position[:, 1] == 0)
        if origin.any():
            zeroed, rule = int(origin.sum()), "x = y = 0 (no likelihood column)"
            position = np.where(origin[:, None], np.nan, position)
    time, time_unit, labelled = _time_of(table, fps)
    ds = from_numpy(
        position,
        confidence,
        individual_names=list(individuals),
        keypoint_names=list(keypoints),
        fps=None if labelled else fps,
        time=time if time_unit == "seconds" else None,
        source_software=source_software,
        source_file=str(table.path),
    )
    if time_unit == "frames":
        ds = ds.assign_coords(time=time)
    if labelled:
        ds = ds.assign_coords(image=("time", table.index.astype(str)))
    for key, values in table.extra.items():
        ds = ds.assign_coords({key: ("time", values)})
    ds.attrs["scorer"] = scorers[0] if scorers else ""
    if zeroed:
        ds = _record_zeros(ds, zeroed, rule, name)
    return ds


# zeros_as_missing warns when it sets more than this fraction of the points to NaN
ZEROS_WARN_FRACTION = 0.001


def _record_zeros(ds: xr.Dataset, zeroed: int, rule: str, name: str) -> xr.Dataset:
    """Log ``zeros_as_missing`` in ``attrs["log"]`` (count, rule) and warn above 0.1 %."""
    total = int(np.prod([ds.sizes[d] for d in ("time", "keypoint", "individual")]))
    fraction = zeroed / max(total, 1)
    text = (
        f"{name}: {zeroed} of {total} points ({fraction:.2%}) stored as {rule} set to NaN "
        "(zeros_as_missing=True; pass zeros_as_missing=False to keep them)"
    )
    logger.info(text)
    if fraction > ZEROS_WARN_FRACTION:
        warnings.warn(text, UserWarning, stacklevel=2)
    return append_log(ds, "zeros_as_missing", points=zeroed, of=total, rule=rule)


def _regular_layout(
    cells: dict[tuple[str, str], dict[str, int]],
    individuals: dict[str, int],
    keypoints: dict[str, int],
    space: list[str],
    n_columns: int,
) -> tuple[int, slice, int | None] | None:
    """``(coords per bodypart, slice of the spatial coords, likelihood position)`` when
    column ``j`` is ``((individual * n_keypoints) + keypoint) * n_coords + coord``
    with the same coords order everywhere; None otherwise."""
    n_ind, n_kp = len(individuals), len(keypoints)
    if len(cells) != n_ind * n_kp:
        return None
    first = next(iter(cells.values()))
    order = sorted(first, key=first.__getitem__)
    n_coords = len(order)
    if n_coords * n_ind * n_kp != n_columns:
        return None
    for (ind, kp), coords in cells.items():
        base = (individuals[ind] * n_kp + keypoints[kp]) * n_coords
        if len(coords) != n_coords or any(coords.get(c) != base + j for j, c in enumerate(order)):
            return None
    axes = [order.index(axis) for axis in space]
    if axes != list(range(axes[0], axes[0] + len(axes))):
        return None
    likelihood = order.index(_LIKELIHOOD) if _LIKELIHOOD in order else None
    return n_coords, slice(axes[0], axes[0] + len(axes)), likelihood


def _gather_table(
    table: DLCTable,
    cells: dict[tuple[str, str], dict[str, int]],
    individuals: dict[str, int],
    keypoints: dict[str, int],
    space: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Position and confidence of any layout (e.g. unique bodyparts), NaN where an
    individual has no such bodypart."""
    n_rows, n_space, n_kp, n_ind = table.n_rows, len(space), len(keypoints), len(individuals)
    # for each flat output cell of a frame, the file column that fills it (-1: none)
    pos_source = np.full(n_space * n_kp * n_ind, -1, dtype=np.intp)
    conf_source = np.full(n_kp * n_ind, -1, dtype=np.intp)
    for (ind, kp), coords in cells.items():
        k, i = keypoints[kp], individuals[ind]
        for s, axis in enumerate(space):
            pos_source[(s * n_kp + k) * n_ind + i] = coords[axis]
        if _LIKELIHOOD in coords:
            conf_source[k * n_ind + i] = coords[_LIKELIHOOD]
    position = _alloc((n_rows, n_space, n_kp, n_ind), pos_source)
    confidence = _alloc((n_rows, n_kp, n_ind), conf_source)

    def sink(start: int, values: np.ndarray) -> None:
        stop = start + values.shape[0]
        if stop > n_rows:
            raise FileFormatError(f"{table.path.name}: more data rows than the {n_rows} expected")
        _gather(values, pos_source, position[start:stop].reshape(stop - start, -1))
        _gather(values, conf_source, confidence[start:stop].reshape(stop - start, -1))

    seen = table.fill(sink)
    return position[:seen], confidence[:seen]


def _alloc(shape: tuple[int, ...], source: np.ndarray) -> np.ndarray:
    """Output array: uninitialised when every cell gets a file column, else NaN."""
    return np.empty(shape) if (source >= 0).all() else np.full(shape, np.nan)


def _gather(values: np.ndarray, source: np.ndarray, out: np.ndarray) -> None:
    """``out[:, j] = values[:, source[j]]`` where ``source[j] >= 0`` (in place)."""
    if (source >= 0).all():
        np.take(values, source, axis=1, out=out)
    else:
        have = source >= 0
        out[:, have] = values[:, source[have]]


def _time_of(table: DLCTable, fps: float | None) -> tuple[np.ndarray, str, bool]:
    """(time values, unit, labelled-frames?) from the row index."""
    index = table.index
    n = index.shape[0]
    if index.dtype.kind not in "iu":
        if fps is not None:
            logger.warning(
                "%s: rows are labelled images, not a video; fps=%s ignored, time counts rows",
                table.path.name,
                fps,
            )
        return np.arange(n, dtype=np.float64), "frames", True
    frames = index.astype(np.float64)
    if n > 1 and np.any(np.diff(index) <= 0):
        logger.warning(
            "%s: frame numbers in the first column are not increasing; using row numbers",
            table.path.name,
        )
        frames = np.arange(n, dtype=np.float64)
    if fps is not None:
        return frames / float(fps), "seconds", False
    return frames, "frames", False


def read(
    path: str | Path,
    *,
    fps: float | None = None,
    key: str | None = None,
    zeros_as_missing: bool = True,
    unique_bodyparts: Literal["keep", "drop"] = "keep",
) -> xr.Dataset:
    """Read a DeepLabCut ``.h5`` or ``.csv`` file (predictions or labelled frames).

    Parameters
    ----------
    path
        The file; CSV or HDF5 is told by content, not suffix.
    fps
        Frames per second of the video; without it ``time`` counts frames.
    key
        HDF5 only: the pandas key (default ``df_with_missing``, else ``tracks``,
        else the only frame in the file).
    zeros_as_missing
        Points stored as ``x = y = likelihood = 0`` become NaN positions
        (confidence kept at 0). Default True. The count goes to ``attrs["log"]``
        (``"zeros_as_missing"``); above 0.1 % of the points a ``UserWarning`` says so.
    unique_bodyparts
        ``"keep"`` (default) the maDLC pseudo-individual ``single``, whose
        keypoints are then NaN for the animals and vice versa; ``"drop"`` it.

    Returns
    -------
    xr.Dataset
        Pose dataset with ``source_software="DeepLabCut"`` and ``attrs["scorer"]``.

    Raises
    ------
    FileFormatError
        Naming the file and the problem (wrong header, truncated HDF5, no frames).

    Examples
    --------
    >>> import behavior as bh
    >>> ds = bh.load_poses("video1DLC_resnet50.h5", fps=30)  # doctest: +SKIP
    >>> ds = read("CollectedData_me.csv")  # doctest: +SKIP
    >>> ds.image.values[0]  # doctest: +SKIP
    'labeled-data/video1/img001.png'
    """
    return _read(
        Path(path),
        fps=fps,
        key=key,
        zeros_as_missing=zeros_as_missing,
        unique_bodyparts=unique_bodyparts,
        source_software="DeepLabCut",
    )


def _read(path: Path, *, fps, key, zeros_as_missing, unique_bodyparts, source_software):
    with open(path, "rb") as fh:
        signature = fh.read(8)
    if signature == b"\x89HDF\r\n\x1a\n":
        table = read_h5_table(path, key)
    else:
        if key is not None:
            raise PoseDataError(f"key: only for HDF5 files, but {path.name} is not HDF5")
        if not Probe(path).is_text:
            raise FileFormatError(
                f"{path.name}: expected a DeepLabCut CSV (text) or HDF5 file, found binary "
                f"content that is neither (first bytes {signature!r})"
            )
        table = read_csv_table(path)
    return to_dataset(
        table,
        fps=fps,
        zeros_as_missing=zeros_as_missing,
        unique_bodyparts=unique_bodyparts,
        source_software=source_software,
    )


# --------------------------------------------------------------------------- write


def _frame_index(ds: xr.Dataset) -> pd.Index:
    """Row labels to write: image paths, or frame numbers recovered from ``time``."""
    n = ds.sizes["time"]
    if "image" in ds.coords and ds["image"].dims == ("time",):
        return pd.Index(np.asarray(ds["image"].values, dtype=str).tolist(), dtype=object)
    time = np.asarray(ds["time"].values, dtype=np.float64)
    fps = ds.attrs.get("fps")
    if ds.attrs.get("time_unit") == "seconds" and fps:
        frames = np.rint(time * float(fps))
        exact = np.allclose(frames / float(fps), time, rtol=0, atol=1e-6 / float(fps) + 1e-9)
    else:
        frames = np.rint(time)
        exact = ds.attrs.get("time_unit") != "seconds" and np.array_equal(frames, time)
    if not exact or (n > 1 and np.any(np.diff(frames) <= 0)) or np.any(frames < 0):
        logger.warning(
            "time is not a whole number of frames (irregular timestamps?); DeepLabCut files "
            "hold frame numbers only, writing rows 0..%d",
            n - 1,
        )
        frames = np.arange(n)
    return pd.Index(frames.astype(np.int64))


def _unique_split(ds: xr.Dataset, position: np.ndarray, confidence: np.ndarray) -> int | None:
    """Number of trailing keypoints that only the individual ``single`` has, if the
    dataset has maDLC's unique-bodyparts layout; else None."""
    individuals = [str(i) for i in ds.individual.values]
    if UNIQUE_INDIVIDUAL not in individuals or len(individuals) < 2:
        return None
    u = individuals.index(UNIQUE_INDIVIDUAL)
    present = ~(np.isnan(position).all(axis=(0, 1)) & np.isnan(confidence).all(axis=0))
    others = np.delete(present, u, axis=1).any(axis=1)  # (keypoint,)
    mine = present[:, u]
    n_kp = present.shape[0]
    for n_unique in range(n_kp - 1, 0, -1):
        animal, unique = slice(0, n_kp - n_unique), slice(n_kp - n_unique, n_kp)
        if not others[unique].any() and not mine[animal].any():
            return n_unique
    return None


def to_frame(
    ds: xr.Dataset,
    *,
    scorer: str | None = None,
    likelihood: bool | None = None,
    multi_animal: bool | None = None,
    extra_coords: Sequence[str] = (),
) -> pd.DataFrame:
    """Lay out a pose dataset as a DeepLabCut DataFrame.

    Parameters
    ----------
    ds
        A pose dataset without extra dimensions (no ``ensemble``).
    scorer
        The ``scorer`` level; default ``ds.attrs["scorer"]``, else ``"behavior"``.
    likelihood
        Write a likelihood column; default: yes, unless the dataset is 3D or
        labelled frames and has no confidence at all.
    multi_animal
        Write the ``individuals`` level; default: unless the one individual is
        ``individual_0``.
    extra_coords
        Non-index coordinates along ``time`` to add as ``(name, "", "")`` columns.

    Returns
    -------
    pandas.DataFrame
        Rows are frames (or image paths), columns DeepLabCut's ``MultiIndex``.

    Raises
    ------
    PoseDataError
        If ``ds`` has dimensions beyond time, space, keypoint and individual.

    Examples
    --------
    >>> import numpy as np
    >>> import behavior as bh
    >>> df = to_frame(bh.from_numpy(np.zeros((3, 2, 1, 1)), keypoint_names=["nose"]))
    >>> list(df.columns.names)
    ['scorer', 'individuals', 'bodyparts', 'coords']
    """
    extra_dims = [
        d for d in ds["position"].dims if d not in ("time", "space", "keypoint", "individual")
    ]
    if extra_dims:
        raise PoseDataError(
            f"dataset: DeepLabCut files hold one prediction per frame; found extra "
            f"dimension(s) {extra_dims} (e.g. an ensemble). Select one member or reduce it "
            "first, e.g. ds.median('ensemble')"
        )
    position = ds["position"].transpose("time", "space", "keypoint", "individual").values
    if "confidence" in ds:
        confidence = ds["confidence"].transpose("time", "keypoint", "individual").values
    else:
        confidence = np.full(position.shape[:1] + position.shape[2:], np.nan)
    individuals = [str(i) for i in ds.individual.values]
    keypoints = [str(k) for k in ds.keypoint.values]
    space = [str(s) for s in ds.space.values]
    if scorer is None:
        scorer = str(ds.attrs.get("scorer") or "behavior")
    if multi_animal is None:
        multi_animal = individuals != [SINGLE_ANIMAL]
    if not multi_animal and len(individuals) > 1:
        raise PoseDataError(
            f"multi_animal=False: a single-animal file holds one individual, found {individuals}"
        )
    labelled = "image" in ds.coords
    if likelihood is None:
        likelihood = bool(np.isfinite(confidence).any()) or (len(space) == 2 and not labelled)
    coords = [*space, _LIKELIHOOD] if likelihood else space
    n_kp = len(keypoints)
    pairs = [(i, k) for i in range(len(individuals)) for k in range(n_kp)]
    n_unique = _unique_split(ds, position, confidence) if multi_animal else None
    if n_unique:
        u = individuals.index(UNIQUE_INDIVIDUAL)
        pairs = [(i, k) for i, k in pairs if (i == u) == (k >= n_kp - n_unique)]
    n_time, n_space = position.shape[:2]
    data = np.empty((n_time, len(pairs), len(coords)))
    if n_unique:  # maDLC layout: pick the (individual, keypoint) pairs
        kp_idx = np.array([k for _, k in pairs])
        ind_idx = np.array([i for i, _ in pairs])
        data[:, :, :n_space] = position[:, :, kp_idx, ind_idx].transpose(0, 2, 1)
        if likelihood:
            data[:, :, n_space] = confidence[:, kp_idx, ind_idx]
    else:  # the full product, individual-major: one strided copy each
        grid = data.reshape(n_time, len(individuals), n_kp, len(coords))
        grid[..., :n_space] = position.transpose(0, 3, 2, 1)
        if likelihood:
            grid[..., n_space] = confidence.transpose(0, 2, 1)
    data = data.reshape(n_time, -1)
    labels = [
        (scorer, individuals[i], keypoints[k], c) if multi_animal else (scorer, keypoints[k], c)
        for i, k in pairs
        for c in coords
    ]
    names = list(LEVELS_MULTI if multi_animal else LEVELS_SINGLE)
    df = pd.DataFrame(
        data, index=_frame_index(ds), columns=pd.MultiIndex.from_tuples(labels, names=names)
    )
    blank = ("",) * (len(names) - 1)
    for name in extra_coords:
        if name in ds.coords and ds[name].dims == ("time",):
            df[(name, *blank)] = np.asarray(ds[name].values, dtype=str)
    return df


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write a DeepLabCut DataFrame as CSV, fast, with exact (shortest round-trip) floats.

    Parameters
    ----------
    df
        From :func:`to_frame`.
    path
        Destination ``.csv``.

    Examples
    --------
    >>> write_csv(to_frame(ds), "poses.csv")  # doctest: +SKIP
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = io.StringIO()
    writer = csv.writer(header, lineterminator="\n")
    for level in range(df.columns.nlevels):
        name = df.columns.names[level]
        writer.writerow([name, *[str(t[level]) for t in df.columns]])
    columns: dict[str, Any] = {"index": pa.array(df.index.to_numpy())}
    plain = True  # cells can be written without quotes, as pandas writes them
    for j in range(df.shape[1]):
        values = df.iloc[:, j].to_numpy()
        if values.dtype.kind == "f":
            columns[f"c{j}"] = pa.array(values, from_pandas=True)
        else:
            columns[f"c{j}"] = pa.array(values.astype(str))
    for column in columns.values():
        if pa.types.is_string(column.type):
            plain = plain and not any(set(str(v)) & set(',"\r\n') for v in column.to_pylist())
    options = pacsv.WriteOptions(include_header=False, quoting_style="none" if plain else "needed")
    with open(path, "wb") as fh:
        fh.write(header.getvalue().encode("utf-8"))
        pacsv.write_csv(pa.table(columns), fh, options)


def write(
    ds: xr.Dataset,
    path: str | Path,
    *,
    scorer: str | None = None,
    format: Literal["table", "fixed"] | None = None,
    key: str = "df_with_missing",
    likelihood: bool | None = None,
    h5_format: Literal["table", "fixed"] | None = None,
) -> None:
    """Write a pose dataset as a DeepLabCut ``.h5`` or ``.csv`` file.

    Parameters
    ----------
    ds
        A pose dataset (no ``ensemble`` dimension).
    path
        Destination; ``.csv`` writes CSV, ``.h5`` / ``.hdf5`` HDF5.
    scorer
        Value of the ``scorer`` level; default the scorer the dataset was read
        with (``attrs["scorer"]``), else ``"behavior"``.
    format, h5_format
        HDF5 only: ``"table"`` (the default, as DeepLabCut writes) or ``"fixed"``
        (as movement). Through :func:`~behavior.io.save_poses`, whose own
        ``format=`` names the file format, pass ``h5_format=``.
    key
        HDF5 only: the pandas key (DeepLabCut reads ``df_with_missing``).
    likelihood
        Write likelihood columns; default yes for 2D predictions, and whenever
        the dataset has any confidence.

    Raises
    ------
    PoseDataError
        If the dataset has an ``ensemble`` dimension, ``format`` is unknown or the
        suffix is neither CSV nor HDF5.

    Examples
    --------
    >>> import behavior as bh
    >>> bh.save_poses(ds, "video1DLC_behavior.h5")  # doctest: +SKIP
    >>> bh.save_poses(ds, "video1DLC_behavior.h5", h5_format="fixed")  # doctest: +SKIP
    >>> write(ds, "video1DLC_behavior.h5", format="fixed", key="tracks")  # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".h5", ".hdf5", ".hdf"):
        raise PoseDataError(
            f"{path.name}: DeepLabCut files end with .h5 or .csv, found {path.suffix!r}"
        )
    if format is not None and h5_format is not None and format != h5_format:
        raise PoseDataError(f"format={format!r} and h5_format={h5_format!r} disagree")
    h5_format = h5_format or format or "table"
    if h5_format not in ("table", "fixed"):
        raise PoseDataError(f"h5_format: expected 'table' or 'fixed', found {h5_format!r}")
    df = to_frame(ds, scorer=scorer, likelihood=likelihood)
    if suffix == ".csv":
        write_csv(df, path)
    else:
        df.to_hdf(path, key=key, format=h5_format, mode="w")


FRONTEND = Frontend(
    name="deeplabcut",
    description="DeepLabCut .h5/.csv: single/multi-animal, unique bodyparts, 3D, labelled frames",
    suffixes=(".h5", ".csv"),
    sniff=sniff,
    read=read,
    write=write,
    aliases=("DeepLabCut", "dlc"),
)
