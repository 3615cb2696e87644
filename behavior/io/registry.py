"""The registry of pose-file frontends, format sniffing, and load/save.

A *frontend* is one file format: a name, the suffixes it uses, a ``sniff``
function that looks at a file's content and says whether it is this format, and
``read`` and/or ``write`` functions. Built-in frontends live one per module in
:mod:`behavior.io`; third parties add theirs through the entry-point group
``behavior.frontends`` (an entry point names a :class:`Frontend` or a
zero-argument callable returning one) or at run time with
:func:`register_frontend`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import importlib
import inspect
import io
import logging
import os
import re
import secrets
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior._json import to_jsonable
from behavior._registry import Registry, registry_key
from behavior.dataset import append_log, check_fps, check_time, validate
from behavior.errors import (
    FileFormatError,
    FileWriteError,
    MissingDependencyError,
    PoseDataError,
    UnknownFormatError,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ENTRY_POINT_GROUP",
    "FRONTENDS",
    "Frontend",
    "Probe",
    "Verdict",
    "accept",
    "atomic_path",
    "attr_to_json",
    "clean_stale_temporaries",
    "detect_format",
    "find_format",
    "format_table",
    "frontend_from_entry_point",
    "frontends",
    "get_frontend",
    "hdf5_in_memory",
    "load_poses",
    "pick_writer",
    "refuse",
    "register_at_runtime",
    "register_frontend",
    "save_poses",
    "sniff_among",
    "unregister_frontend",
    "verify_netcdf",
    "verify_pose_file",
    "writer_for",
]

ENTRY_POINT_GROUP = "behavior.frontends"

# Built-in frontends, "module:attribute", in the order used to pick a writer for a
# suffix several formats share (.csv and .h5 default to DeepLabCut).
_BUILTIN = (
    "behavior.io.deeplabcut:FRONTEND",
    "behavior.io.lightning_pose:FRONTEND",
    "behavior.io.sleap:FRONTEND",
    "behavior.io.anipose:FRONTEND",
    "behavior.io.nwb:FRONTEND",
    "behavior.io.netcdf:FRONTEND",
    "behavior.io.tidy:FRONTEND",
)


@dataclass(frozen=True)
class Verdict:
    """A frontend's answer to "is this file yours?".

    ``score`` 0 means no, with ``reason`` saying why. A higher score is a more
    specific claim: a Lightning Pose CSV is also a valid DeepLabCut CSV, so the
    Lightning Pose frontend answers with a higher score when it sees its marks.
    """

    score: float
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.score > 0


def accept(score: float = 1.0, reason: str = "") -> Verdict:
    """Sniff answer: the file is this format.

    Parameters
    ----------
    score
        Greater than 0; a higher score is a more specific claim and wins
        auto-detection over a lower one.
    reason
        What gave the format away (for debugging).

    Examples
    --------
    >>> accept(2.0, "scorer ends with _tracker").accepted
    True
    """
    return Verdict(float(score), reason)


def refuse(reason: str) -> Verdict:
    """Sniff answer: the file is not this format.

    Parameters
    ----------
    reason
        Why not, shown to the user when no format accepts the file; be specific
        ("first cell is 'time', expected 'scorer'").

    Examples
    --------
    >>> refuse("no df_with_missing group").accepted
    False
    """
    return Verdict(0.0, reason)


class Probe:
    """Cheap, cached looks at a file, shared by every frontend's ``sniff``.

    Parameters
    ----------
    path
        The file to look at.

    Examples
    --------
    >>> probe = Probe("poses.csv")  # doctest: +SKIP
    >>> probe.lines(3)  # doctest: +SKIP
    """

    HEAD_BYTES = 65536

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def suffixes(self) -> list[str]:
        """Lower-case suffixes, e.g. ``['.analysis', '.h5']``."""
        return [s.lower() for s in self.path.suffixes]

    def has_suffix(self, *suffixes: str) -> bool:
        """Whether the file name ends with any of ``suffixes`` (case-insensitive)."""
        lower = self.path.name.lower()
        return any(lower.endswith(s.lower()) for s in suffixes)

    @cached_property
    def head(self) -> bytes:
        """The first 64 KiB of the file."""
        with open(self.path, "rb") as fh:
            return fh.read(self.HEAD_BYTES)

    @cached_property
    def is_hdf5(self) -> bool:
        """Whether the file starts with the HDF5 signature (NWB, DLC h5, SLEAP)."""
        return self.head[:8] == b"\x89HDF\r\n\x1a\n"

    @cached_property
    def is_netcdf3(self) -> bool:
        return self.head[:3] == b"CDF"

    @cached_property
    def is_parquet(self) -> bool:
        return self.head[:4] == b"PAR1"

    @cached_property
    def is_text(self) -> bool:
        """Whether the head decodes as UTF-8 text without NUL bytes."""
        if b"\x00" in self.head:
            return False
        try:
            self.head.decode("utf-8")
        except UnicodeDecodeError as err:
            # a multi-byte character cut at the 64 KiB boundary is still text
            return err.start >= len(self.head) - 4
        return True

    def lines(self, n: int) -> list[str]:
        """The first ``n`` lines of a text file (fewer if the head is shorter)."""
        if not self.is_text:
            return []
        text = self.head.decode("utf-8", errors="ignore")
        out = text.splitlines()
        if len(self.head) == self.HEAD_BYTES and out:
            out = out[:-1]  # the last line may be cut
        return out[:n]

    @cached_property
    def h5_tree(self) -> dict[str, dict[str, Any]]:
        """Map of every HDF5 object path (up to depth 3) to its attributes' names.

        Empty if the file is not HDF5 or cannot be opened (e.g. truncated).
        """
        if not self.is_hdf5:
            return {}
        import h5py

        tree: dict[str, dict[str, Any]] = {}
        try:
            with h5py.File(self.path, "r") as f:
                tree["/"] = dict(f.attrs.items())

                def visit(name: str, obj: Any) -> None:
                    if name.count("/") < 3:
                        tree[name] = {k: None for k in obj.attrs}

                f.visititems(visit)
        except Exception as err:  # truncated or corrupt: frontends refuse with this
            self._h5_error = f"{type(err).__name__}: {err}"
            return {}
        return tree

    @property
    def h5_error(self) -> str | None:
        """Why the HDF5 file could not be opened, if it could not."""
        _ = self.h5_tree
        return getattr(self, "_h5_error", None)


@dataclass(frozen=True)
class Frontend:
    """One pose-file format: how to recognise, read and write it.

    Parameters
    ----------
    name
        Short unique name used as ``source=`` / ``format=`` (e.g. ``"deeplabcut"``).
    description
        One line for :func:`frontends`.
    suffixes
        File suffixes the format uses, most specific first (``".analysis.h5"``).
    sniff
        ``sniff(probe: Probe) -> Verdict``: look at content, not only the suffix.
    read
        ``read(path: Path, *, fps: float | None = None, **options) -> xr.Dataset``.
    write
        ``write(ds: xr.Dataset, path: Path, **options) -> None``. It is given a
        temporary path with the same suffix; :func:`save_poses` renames it into place.
    aliases
        Other accepted names (``"DeepLabCut"``, ``"dlc"``); matched case-insensitively.

    Examples
    --------
    >>> def sniff(probe):
    ...     return accept() if probe.has_suffix(".xyz") else refuse("not a .xyz file")
    >>> fe = Frontend("xyz", "toy text format", (".xyz",), sniff, read=lambda p, **kw: None)
    """

    name: str
    description: str
    suffixes: tuple[str, ...]
    sniff: Callable[[Probe], Verdict]
    read: Callable[..., xr.Dataset] | None = None
    write: Callable[..., None] | None = None
    aliases: tuple[str, ...] = ()
    origin: str = field(default="built-in", compare=False)

    @property
    def reads(self) -> bool:
        return self.read is not None

    @property
    def writes(self) -> bool:
        return self.write is not None

    def names(self) -> set[str]:
        """Lookup keys of the name and aliases (see :func:`behavior._registry.registry_key`)."""
        return {registry_key(n) for n in (self.name, *self.aliases)}


def attr_to_json(value: Any) -> Any:
    """Turn a dataset attribute into a JSON-ready value, for formats that store attrs as JSON.

    The one JSON conversion of the package, :func:`behavior._json.to_jsonable`.

    Parameters
    ----------
    value
        An attribute value: numpy scalars and arrays become Python numbers and
        lists, mappings dicts with string keys, tuples lists; anything else that
        is not JSON is stored by ``str``.

    Returns
    -------
    Any
        A value ``json.dumps`` accepts.

    Examples
    --------
    >>> attr_to_json(np.float32(2.5)), attr_to_json(np.arange(3))
    (2.5, [0, 1, 2])
    """
    return to_jsonable(value)


# The lookups below serve every file registry (pose frontends here, annotation
# formats in behavior.io.annotations); ``what`` names the kind of format in messages.


def format_table(candidates: Iterable[Frontend]) -> pd.DataFrame:
    """One row per format: name, description, suffixes, reads, writes, aliases, origin.

    Parameters
    ----------
    candidates
        The frontends of a registry.

    Returns
    -------
    pandas.DataFrame
        The listing shown by :func:`frontends` and ``annotation_formats``.

    Examples
    --------
    >>> list(format_table([get_frontend("netcdf")])["name"])
    ['netcdf']
    """
    rows = [
        {
            "name": fe.name,
            "description": fe.description,
            "suffixes": ", ".join(fe.suffixes),
            "reads": fe.reads,
            "writes": fe.writes,
            "aliases": ", ".join(fe.aliases),
            "origin": fe.origin,
        }
        for fe in candidates
    ]
    return pd.DataFrame(rows)


def find_format(candidates: Iterable[Frontend], name: str, *, what: str = "pose") -> Frontend:
    """The frontend among ``candidates`` called ``name`` or one of its aliases.

    Parameters
    ----------
    candidates
        The frontends of a registry.
    name
        Format name or alias, case-insensitive.
    what
        The kind of format, for the message (``"pose"``, ``"annotation"``).

    Returns
    -------
    Frontend
        The match.

    Raises
    ------
    UnknownFormatError
        Listing the known names.

    Examples
    --------
    >>> find_format([get_frontend("netcdf")], "NC").name
    'netcdf'
    """
    candidates = list(candidates)
    key = registry_key(name)
    for frontend in candidates:
        if key in frontend.names():
            return frontend
    known = sorted(fe.name for fe in candidates)
    raise UnknownFormatError(f"unknown {what} format {name!r}; known formats: {known}")


def pick_writer(
    candidates: Iterable[Frontend],
    path: str | os.PathLike,
    format: str | None = None,
    *,
    what: str = "pose",
) -> Frontend:
    """The frontend that writes ``path``: ``format`` if given, else by suffix.

    The longest matching suffix wins (``.analysis.h5`` over ``.h5``); among equal
    suffixes the first registered frontend wins.

    Parameters
    ----------
    candidates
        The frontends of a registry, in registration order.
    path
        Destination file.
    format
        A format name that overrides the suffix.
    what
        The kind of format, for messages.

    Returns
    -------
    Frontend
        A frontend that writes.

    Raises
    ------
    UnknownFormatError
        If the format cannot write or the suffix is unknown, listing the options.

    Examples
    --------
    >>> pick_writer([get_frontend("netcdf")], "out.nc").name
    'netcdf'
    """
    candidates = list(candidates)
    path = Path(path)
    if format is not None:
        frontend = find_format(candidates, format, what=what)
        if not frontend.writes:
            writable = sorted(fe.name for fe in candidates if fe.writes)
            raise UnknownFormatError(
                f"{what} format {frontend.name!r} can be read but not written; writable: {writable}"
            )
        return frontend
    lower = path.name.lower()
    best: tuple[int, Frontend] | None = None
    for frontend in candidates:
        if not frontend.writes:
            continue
        for suffix in frontend.suffixes:
            if lower.endswith(suffix.lower()) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), frontend)
    if best is None:
        table = {fe.name: fe.suffixes for fe in candidates if fe.writes}
        raise UnknownFormatError(
            f"{path}: cannot tell the {what} format from the suffix {path.suffix!r}; "
            f"pass format= one of {table}"
        )
    return best[1]


def _load_builtins(registry: Registry[Frontend]) -> None:
    for spec in _BUILTIN:
        module_name, attr = spec.split(":")
        frontend = getattr(importlib.import_module(module_name), attr)
        registry.register(frontend.name, frontend)


def frontend_from_entry_point(obj: Any) -> Frontend:
    """The :class:`Frontend` an entry point names: the object itself, or what it returns.

    Parameters
    ----------
    obj
        A loaded entry point: a :class:`Frontend` or a zero-argument callable
        returning one.

    Returns
    -------
    Frontend
        The frontend.

    Raises
    ------
    TypeError
        If ``obj`` is neither.

    Examples
    --------
    >>> frontend_from_entry_point(get_frontend("netcdf")).name
    'netcdf'
    """
    frontend = obj if isinstance(obj, Frontend) else obj() if callable(obj) else obj
    if not isinstance(frontend, Frontend):
        raise TypeError(f"expected a behavior.io.Frontend, found {type(frontend).__name__}")
    return frontend


def _with_origin(frontend: Frontend, origin: str) -> Frontend:
    return dataclasses.replace(frontend, origin=origin)


FRONTENDS: Registry[Frontend] = Registry(
    "pose frontend",
    builtins=_load_builtins,
    entry_point_group=ENTRY_POINT_GROUP,
    from_entry_point=frontend_from_entry_point,
    name_of=lambda frontend: frontend.name,
    describe=lambda frontend: frontend.description,
    with_origin=_with_origin,
)
"""The registry behind :func:`register_frontend`, :func:`unregister_frontend` and
:func:`frontends` (a :class:`behavior._registry.Registry` of :class:`Frontend`)."""


def register_frontend(frontend: Frontend, *, replace: bool = False) -> Frontend:
    """Add a frontend to the registry at run time.

    Parameters
    ----------
    frontend
        The format to add.
    replace
        Replace an existing frontend of the same name instead of raising.

    Returns
    -------
    Frontend
        The registered frontend, its ``origin`` set to ``"runtime"`` unless it
        names another one.

    Raises
    ------
    ValueError
        If a frontend of that name is registered and ``replace`` is False.

    Examples
    --------
    >>> fe = Frontend("toy", "toy format", (".toy",), lambda p: refuse("never"))
    >>> register_frontend(fe, replace=True).origin
    'runtime'
    >>> unregister_frontend("toy").name
    'toy'
    """
    return register_at_runtime(FRONTENDS, frontend, replace=replace)


def register_at_runtime(
    registry: Registry[Frontend], frontend: Frontend, *, replace: bool = False
) -> Frontend:
    """Add ``frontend`` to a pose or annotation registry, its origin "runtime" unless set.

    Parameters
    ----------
    registry
        The registry: :data:`FRONTENDS` or the annotation formats' registry.
    frontend
        The format to add.
    replace
        Replace a format of the same name instead of raising ``ValueError``.

    Examples
    --------
    >>> from behavior._registry import Registry
    >>> toys = Registry("toy format")
    >>> fe = Frontend("toy", "toy format", (".toy",), lambda p: refuse("never"))
    >>> register_at_runtime(toys, fe).name, toys.entry("toy").origin
    ('toy', 'runtime')
    """
    origin = frontend.origin if frontend.origin != "built-in" else None
    return registry.register(frontend.name, frontend, origin=origin, replace=replace)


def unregister_frontend(name: str) -> Frontend:
    """Remove a frontend from the registry (for the rest of this process).

    Parameters
    ----------
    name
        Format name or alias, case-insensitive.

    Returns
    -------
    Frontend
        The removed frontend.

    Raises
    ------
    UnknownFormatError
        Listing the known names.

    Examples
    --------
    >>> _ = register_frontend(Frontend("toy", "toy", (".toy",), lambda p: refuse("no")))
    >>> unregister_frontend("TOY").description
    'toy'
    """
    return FRONTENDS.unregister(get_frontend(name).name)


def frontends() -> pd.DataFrame:
    """List every registered pose format.

    Returns
    -------
    pandas.DataFrame
        One row per format: ``name``, ``description``, ``suffixes``, ``reads``,
        ``writes``, ``aliases`` and ``origin`` (built-in or the entry point).

    Examples
    --------
    >>> table = frontends()
    >>> "deeplabcut" in set(table["name"])
    True
    """
    return format_table(FRONTENDS)


def get_frontend(name: str) -> Frontend:
    """Return the frontend called ``name`` (or one of its aliases).

    Parameters
    ----------
    name
        Format name or alias, case-insensitive (``"DLC"``, ``"DeepLabCut"``).

    Returns
    -------
    Frontend
        The registered frontend.

    Raises
    ------
    UnknownFormatError
        Listing the known names.

    Examples
    --------
    >>> get_frontend("DLC").name
    'deeplabcut'
    """
    return find_format(FRONTENDS, name, what="pose")


def detect_format(path: str | os.PathLike) -> Frontend:
    """Find the frontend that reads ``path`` by sniffing its content.

    Parameters
    ----------
    path
        A pose file.

    Returns
    -------
    Frontend
        The most specific frontend that accepts the file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    FileFormatError
        If the file is empty.
    UnknownFormatError
        If no frontend, or several equally specific ones, accept the file; the
        message lists each format tried and its reason.

    Examples
    --------
    >>> detect_format("session.nc").name  # doctest: +SKIP
    'netcdf'
    """
    return sniff_among(path, FRONTENDS)


def sniff_among(
    path: str | os.PathLike,
    candidates: Iterable[Frontend],
    *,
    what: str = "pose file",
    hint: str = "Pass source=... to force a format, or see behavior.io.frontends().",
) -> Frontend:
    """Pick, by content, the most specific of ``candidates`` that reads ``path``.

    The detection engine behind :func:`detect_format`, reusable by other file
    registries (annotation files use it with their own frontends).

    Parameters
    ----------
    path
        The file to recognise.
    candidates
        Frontends to ask; those that cannot read are skipped.
    what
        What kind of file is expected, for the error message.
    hint
        The last line of the error message: how to force a format.

    Returns
    -------
    Frontend
        The frontend with the highest sniff score.

    Raises
    ------
    FileNotFoundError, FileFormatError
        If the file is missing, a directory or empty.
    UnknownFormatError
        If none or several equally specific frontends accept it; lists each
        format tried and its reason.

    Examples
    --------
    >>> sniff_among("session.nc", [get_frontend("netcdf")]).name  # doctest: +SKIP
    'netcdf'
    """
    probe = _probe_existing(Path(path))
    verdicts: list[tuple[Frontend, Verdict]] = []
    for frontend in candidates:
        if not frontend.reads:
            continue
        try:
            verdict = frontend.sniff(probe)
        except Exception as err:
            verdict = refuse(f"could not inspect the file ({type(err).__name__}: {err})")
        verdicts.append((frontend, verdict))
    accepted = [(fe, v) for fe, v in verdicts if v.accepted]
    if not accepted:
        lines = "\n".join(f"  - {fe.name}: {v.reason or 'refused'}" for fe, v in verdicts)
        extra = ""
        if probe.is_hdf5 and probe.h5_error:
            extra = f"\nThe HDF5 file could not be opened ({probe.h5_error}); is it truncated?"
        raise UnknownFormatError(
            f"{probe.path}: not a {what} of any known format. Formats tried:\n{lines}{extra}\n"
            f"{hint}"
        )
    best = max(v.score for _, v in accepted)
    top = [fe for fe, v in accepted if v.score == best]
    if len(top) > 1:
        raise UnknownFormatError(
            f"{probe.path}: ambiguous format, equally accepted by {[fe.name for fe in top]}. "
            f"Pass source= one of these names."
        )
    return top[0]


def _probe_existing(path: Path) -> Probe:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            longest = max((len(part) for part in path.parts), default=0)
            raise FileFormatError(
                f"{path}: the path is too long for this system (expected a file name of at "
                f"most 255 bytes and a path of at most 4096, found a name of {longest} "
                f"characters and a path of {len(str(path))})"
            ) from None
        raise FileFormatError(f"{path}: cannot be inspected ({err.strerror or err})") from err
    if path.is_dir():
        raise FileFormatError(f"{path}: is a directory, expected a pose file")
    if info.st_size == 0:
        raise FileFormatError(f"{path}: the file is empty (0 bytes)")
    return Probe(path)


# Raised by a reader, these pass through unchanged (they already name the file or are
# not about the file's content); any other exception becomes a FileFormatError.
_PASS_THROUGH = (MissingDependencyError, FileNotFoundError, PermissionError, KeyboardInterrupt)


def _check_options(frontend: Frontend, options: dict[str, Any]) -> None:
    """Refuse keyword arguments that ``frontend.read`` does not take, naming those it does."""
    if not options:
        return
    try:
        params = inspect.signature(frontend.read).parameters
    except (TypeError, ValueError):  # a builtin or C callable: let it decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return  # the reader checks its own options (e.g. netCDF's xr.open_dataset ones)
    allowed = sorted(
        name
        for name, p in params.items()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and name not in ("path", "fps")
    )
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise PoseDataError(
            f"{', '.join(unknown)}: not an option of the {frontend.name!r} reader; expected "
            f"one of {[*allowed, 'timestamps']} (or none)"
        )


def _named(err: PoseDataError, path: Path) -> PoseDataError:
    """``err`` with the file in front of its message when the message does not name it."""
    text = str(err)
    if str(path) in text or path.name in text:
        return err
    try:
        out = type(err)(f"{path}: {text}")
    except Exception:
        out = FileFormatError(f"{path}: {text}")
    return out


def _infinite_as_missing(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """Set infinite positions and confidences to NaN, with a log record and a warning."""
    counts = {}
    for var in ("position", "confidence"):
        if var in ds.data_vars and np.issubdtype(ds[var].dtype, np.floating):
            n = int(np.isinf(ds[var].values).sum())
            if n:
                counts[var] = n
    if not counts:
        return ds
    ds = ds.copy()
    for var in counts:
        values = ds[var].values
        ds[var] = ds[var].copy(data=np.where(np.isinf(values), np.nan, values))
    text = " and ".join(f"{n} infinite {var} value(s)" for var, n in counts.items())
    warnings.warn(f"{path}: {text} set to NaN (missing)", UserWarning, stacklevel=4)
    logger.info("%s: %s set to NaN", path, text)
    return append_log(ds, "infinite_as_missing", **{var: n for var, n in counts.items()})


def _read_one(path: Path, source: str, fps: float | None, options: dict[str, Any]) -> xr.Dataset:
    if source == "auto":
        frontend = detect_format(path)
    else:
        frontend = get_frontend(source)
        _probe_existing(path)
        if not frontend.reads:
            raise UnknownFormatError(f"format {frontend.name!r} can be written but not read")
    assert frontend.read is not None
    _check_options(frontend, options)
    try:
        ds = frontend.read(path, fps=fps, **options)
    except PoseDataError as err:
        named = _named(err, path)
        if named is err:
            raise
        raise named from err
    except _PASS_THROUGH:
        raise
    except Exception as err:  # a raw error from a library reading a damaged file
        raise FileFormatError(
            f"{path}: cannot be read as {frontend.name} ({frontend.description}); "
            f"found {type(err).__name__}: {err}"
        ) from err
    if not isinstance(ds, xr.Dataset):
        raise FileFormatError(
            f"{path}: the {frontend.name!r} reader returned {type(ds).__name__}, "
            "expected an xarray.Dataset"
        )
    if "source_file" not in ds.attrs:
        ds.attrs["source_file"] = str(path)
    ds = _infinite_as_missing(ds, path)
    try:
        validate(ds)
    except PoseDataError as err:
        raise FileFormatError(f"{path}: read as {frontend.name} but {err}") from err
    ds.attrs.setdefault("space_unit", "pixels")
    ds.attrs.setdefault("log", "[]")
    logger.debug("loaded %s as %s: %s", path, frontend.name, dict(ds.sizes))
    return ds


def _apply_timestamps(ds: xr.Dataset, timestamps: Any, path: Path) -> xr.Dataset:
    if isinstance(timestamps, str | os.PathLike):
        ts_path = Path(timestamps)
        if ts_path.suffix.lower() == ".npy":
            values = np.load(ts_path, allow_pickle=False)
        else:
            values = np.loadtxt(ts_path, delimiter=",", ndmin=1)
        where = str(ts_path)
    else:
        values = np.asarray(timestamps)
        where = "timestamps"
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.shape[0] != ds.sizes["time"]:
        raise PoseDataError(
            f"{where}: expected {ds.sizes['time']} timestamps, one per frame of {path.name}, "
            f"found {values.shape[0]}"
        )
    check_time(values, where)
    out = ds.assign_coords(time=values)
    out.attrs["time_unit"] = "seconds"
    if values.size > 1:
        out.attrs["fps"] = round(float(1.0 / np.median(np.diff(values))), 6)
    return out


def load_poses(
    path_or_paths: str | os.PathLike | Sequence[str | os.PathLike],
    source: str = "auto",
    fps: float | None = None,
    **options: Any,
) -> xr.Dataset:
    """Load pose tracks from any supported file into a pose dataset.

    Parameters
    ----------
    path_or_paths
        One file, or several predictions of the same video (e.g. Lightning Pose
        model seeds), which are stacked along a new ``ensemble`` dimension whose
        coordinate is each file's name.
    source
        ``"auto"`` sniffs the content; otherwise a format name or alias from
        :func:`behavior.io.frontends` (``"deeplabcut"``, ``"sleap"``, ...).
    fps
        Frames per second, for formats that do not store time. Without it, and
        without timestamps in the file, ``time`` counts frames. Checked by
        :func:`behavior.dataset.check_fps` (a number, or text of one, between 1e-6
        and 1e6).
    **options
        Passed to the frontend's reader; a name the reader does not take is
        refused, listing those it does. ``timestamps=`` (an array or a ``.npy`` /
        text file of seconds, one per frame) works for every format and replaces
        the ``time`` coordinate; irregular timestamps are kept as they are.

    Returns
    -------
    xr.Dataset
        A validated pose dataset with ``attrs["log"]`` recording the load.
        Infinite positions or confidences in the file become NaN (missing), with a
        ``UserWarning`` and an ``"infinite_as_missing"`` record of the counts in
        ``attrs["log"]``.

    Raises
    ------
    FileNotFoundError, FileFormatError, UnknownFormatError
        Naming the file and the problem. Any other error a reader meets on a
        damaged file (h5py's ``OSError``, a parser's ``IndexError``, ...) becomes a
        :class:`FileFormatError` naming the file, the format and what was found.
    PoseDataError
        ``fps`` or an option is not valid.

    Examples
    --------
    >>> ds = load_poses("video1DLC_resnet50.h5", fps=30)  # doctest: +SKIP
    >>> ds.position.dims  # doctest: +SKIP
    ('time', 'space', 'keypoint', 'individual')
    """
    timestamps = options.pop("timestamps", None)
    if fps is not None:
        fps = check_fps(fps, "fps")
    if isinstance(path_or_paths, str | os.PathLike):
        path = Path(path_or_paths)
        ds = _read_one(path, source, fps, options)
        if timestamps is not None:
            ds = _apply_timestamps(ds, timestamps, path)
        return append_log(ds, "load_poses", path=str(path), source=source, fps=fps, **options)

    paths = [Path(p) for p in path_or_paths]
    if not paths:
        raise PoseDataError("path_or_paths: expected at least one file, found an empty list")
    members = []
    for path in paths:
        ds = _read_one(path, source, fps, options)
        if timestamps is not None:
            ds = _apply_timestamps(ds, timestamps, path)
        members.append(ds)
    ds = _stack_ensemble(members, paths)
    return append_log(
        ds, "load_poses", paths=[str(p) for p in paths], source=source, fps=fps, **options
    )


def _stack_ensemble(members: list[xr.Dataset], paths: list[Path]) -> xr.Dataset:
    first = members[0]
    for ds, path in zip(members[1:], paths[1:], strict=True):
        for dim in ("time", "space", "keypoint", "individual"):
            a, b = first[dim].values, ds[dim].values
            if a.shape != b.shape or not np.array_equal(a, b):
                raise PoseDataError(
                    f"{path.name}: cannot stack with {paths[0].name} as an ensemble: "
                    f"'{dim}' differs (expected {a.shape[0]} values starting {list(a[:3])}, "
                    f"found {b.shape[0]} starting {list(b[:3])})"
                )
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        names = [str(p) for p in paths]
    stacked = xr.concat(members, dim=pd.Index(names, name="ensemble"), combine_attrs="drop")
    stacked = stacked.transpose("ensemble", ...)
    attrs = dict(first.attrs)
    attrs["source_file"] = ", ".join(str(p) for p in paths)
    stacked.attrs = attrs
    return stacked


def writer_for(path: str | os.PathLike, format: str | None = None) -> Frontend:
    """Return the frontend that :func:`save_poses` would use to write ``path``.

    Parameters
    ----------
    path
        Destination file; its suffix picks the format (longest match wins, so
        ``.analysis.h5`` is SLEAP while ``.h5`` is DeepLabCut).
    format
        A format name that overrides the suffix.

    Returns
    -------
    Frontend
        A frontend that writes.

    Raises
    ------
    UnknownFormatError
        If the format cannot write or the suffix is unknown, listing the options.

    Examples
    --------
    >>> writer_for("session.analysis.h5").name
    'sleap'
    """
    return pick_writer(FRONTENDS, path, format, what="pose")


# Temporary files of atomic writes: hidden (leading dot) beside the destination, named
# ".{stem}.bhv-{host}-{pid}-{random}.tmp{suffixes}" so that a later write to the same
# folder knows them as ours and can tell whether the process writing them is gone.
_TMP_RE = re.compile(
    r"^\..+\.bhv-(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[a-z0-9]{6}\.tmp(\.[^./\\]+){0,2}$"
)
# Names from earlier versions of behavior (tempfile.mkstemp): ".{stem}.{8 random}.tmp{suffixes}".
_LEGACY_TMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.[^./\\]+){0,2}$")
#: Seconds after which a temporary file of ours whose writer cannot be checked
#: (another machine, an older behavior) counts as left behind by a killed write.
STALE_TMP_SECONDS = 600.0


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def _tmp_name(path: Path) -> str:
    suffix = "".join(path.suffixes[-2:]) if len(path.suffixes) > 1 else path.suffix
    token = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6))
    return f".{path.stem}.bhv-{_host_tag()}-{os.getpid()}-{token}.tmp{suffix}"


def _process_gone(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) is not a probe on Windows
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return False
    return False


def clean_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed writes of behavior left in ``folder``.

    Only files named like :func:`atomic_path`'s temporaries are touched: those
    whose writing process (on this machine) is gone, and those older than
    :data:`STALE_TMP_SECONDS` (written on another machine or by an older
    behavior). Files of writes still running are kept. :func:`atomic_path`
    calls this before every write.

    Parameters
    ----------
    folder
        The folder to tidy.

    Returns
    -------
    list of Path
        The files removed.

    Examples
    --------
    >>> import tempfile
    >>> clean_stale_temporaries(tempfile.mkdtemp())
    []
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    host, now = _host_tag(), time.time()
    for entry in entries:
        if not entry.name.startswith("."):
            continue
        ours = _TMP_RE.match(entry.name)
        if ours is None and _LEGACY_TMP_RE.match(entry.name) is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_TMP_SECONDS
            pid = int(ours["pid"]) if ours is not None else -1
            gone = (
                ours is not None
                and ours["host"] == host
                and pid != os.getpid()
                and _process_gone(pid)
            )
            if old or gone:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except (OSError, ValueError):  # raced with another cleaner, or not ours to remove
            continue
    if removed:
        logger.info(
            "removed %d temporary file(s) left by killed writes in %s", len(removed), folder
        )
    return removed


def _fsync_file(path: Path) -> None:
    flags = os.O_RDONLY if os.name == "posix" else os.O_RDWR  # Windows needs write access
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: folders cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not sync folders; the rename is still atomic
        pass
    finally:
        os.close(fd)


# How HDF5 and netCDF word a failed write in the RuntimeErrors they raise.
_IO_MESSAGE = re.compile(
    r"HDF error|errno\s*=\s*\d+|No space left|File too large|quota exceeded|write failed",
    re.IGNORECASE,
)


def _write_failure(err: BaseException, tmp: Path, path: Path, existed: bool) -> Exception:
    """The error to raise for a failed write: names ``path``, never the temporary file."""
    message = str(err).replace(str(tmp), str(path)).replace(tmp.name, path.name)
    kept = "the file there is unchanged" if existed else "no file was written"
    if isinstance(err, FileWriteError):
        return err
    if isinstance(err, PoseDataError):  # the data cannot go into this format: same type
        if message == str(err) and path.name in message:
            return err
        try:
            return type(err)(message if path.name in message else f"{path}: {message}")
        except Exception:  # a subclass that wants other arguments
            return err
    if isinstance(err, OSError) or (isinstance(err, RuntimeError) and _IO_MESSAGE.search(message)):
        reason = message.strip() or type(err).__name__
        code = getattr(err, "errno", None) or _errno_in(message)
        what = (
            "the disk is full"
            if code in (errno.ENOSPC, errno.EDQUOT)
            else "the file grew past the size limit"
            if code == errno.EFBIG
            else "the write failed"
        )
        out = FileWriteError(f"{path}: could not write the file ({what}: {reason}); {kept}")
        out.errno = code  # str() stays the message
        return out
    same = err
    if message != str(err):
        try:
            same = type(err)(message)
        except Exception:  # a type that wants other arguments: keep it as it is
            same = err
    same.add_note(f"while writing {path} ({kept})")
    return same  # type: ignore[return-value]


def _errno_in(message: str) -> int | None:
    """The errno HDF5 or netCDF put in their message ("errno = 28"), if any."""
    match = re.search(r"errno\s*=\s*(\d+)", message)
    return int(match.group(1)) if match else None


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike, *, verify: Callable[[Path], Any] | None = None
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; check it and rename it into place on success.

    The one way the package writes a file. After the body: the temporary file
    must exist, it is flushed to disk (``fsync``), ``verify`` reads it back, it
    replaces ``path`` in one rename and the folder is flushed. On any failure
    the temporary file is removed, ``path`` keeps its old bytes and the error
    names ``path`` (never the temporary file): disk errors (full disk, file size
    limit, HDF5 / netCDF failures) become :class:`~behavior.errors.FileWriteError`,
    the package's own errors keep their type. The temporary file is hidden
    (its name starts with a dot), keeps ``path``'s suffixes (writers may look at
    them), and temporary files left by killed writes are removed first (see
    :func:`clean_stale_temporaries`).

    Parameters
    ----------
    path
        The final destination; its folder must exist.
    verify
        ``verify(tmp)`` reads the written file back and raises if it is not what
        was meant (e.g. not loadable, or the wrong shape); its return value is ignored.

    Yields
    ------
    Path
        Where to write (does not exist yet).

    Raises
    ------
    FileNotFoundError
        The folder does not exist.
    FileWriteError
        Writing, flushing, reading back or renaming failed; ``path`` is unchanged.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target, verify=lambda p: p.read_text() == "done" or 1 / 0) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    if not path.parent.exists():
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    clean_stale_temporaries(path.parent)
    tmp = path.parent / _tmp_name(path)
    existed = path.exists()
    kept = "the file there is unchanged" if existed else "no file was written"
    try:
        try:
            yield tmp
            if not tmp.exists():
                raise FileWriteError(f"{path}: the writer produced no file; {kept}")
            _fsync_file(tmp)
        except Exception as err:
            raise _write_failure(err, tmp, path, existed) from err
        if verify is not None:
            try:
                quiet = logging.getLogger("behavior")
                level = quiet.level
                quiet.setLevel(logging.ERROR)  # the reader's remarks are about the writer's data
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        verify(tmp)
                finally:
                    quiet.setLevel(level)
            except Exception as err:
                message = f"{type(err).__name__}: {err}".replace(str(tmp), str(path))
                raise FileWriteError(
                    f"{path}: the file written could not be read back as written "
                    f"({message.replace(tmp.name, path.name)}); {kept}"
                ) from err
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise _write_failure(err, tmp, path, existed) from err
        _fsync_folder(path.parent)
    finally:
        with contextlib.suppress(OSError):
            if tmp.exists() or tmp.is_symlink():
                tmp.unlink()


@contextlib.contextmanager
def hdf5_in_memory(path: str | os.PathLike) -> Iterator[Any]:
    """An ``h5py.File`` built in memory and written to ``path`` in one plain write.

    HDF5 writing straight to a full disk can leave its handles in a state that
    crashes the interpreter when they are closed; here HDF5 never touches the
    disk, so a full disk is an ordinary :class:`OSError` from Python's own
    write, and every HDF5 handle is closed on every path.

    Parameters
    ----------
    path
        Destination (normally the temporary path of :func:`atomic_path`).

    Yields
    ------
    h5py.File
        Open for writing; pass it to h5py code or ``pynwb.NWBHDF5IO(file=...)``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.h5"
    >>> with hdf5_in_memory(target) as f:
    ...     _ = f.create_dataset("x", data=[1, 2, 3])
    >>> target.stat().st_size > 0
    True
    """
    import h5py

    buffer = io.BytesIO()
    try:
        with h5py.File(buffer, "w") as f:
            yield f
        with open(path, "wb") as fh:
            fh.write(buffer.getbuffer())
    finally:
        buffer.close()


def verify_pose_file(frontend: Frontend, ds: xr.Dataset) -> Callable[[Path], None]:
    """A ``verify`` for :func:`atomic_path`: ``frontend`` reads the file back with ``ds``'s shape.

    The keypoint, individual and space sizes must match; ``time`` may be longer
    (formats that store one row per video frame pad the frames before the first).

    Parameters
    ----------
    frontend
        The frontend that wrote the file; it must read.
    ds
        The dataset written.

    Returns
    -------
    callable
        ``check(path)``, raising :class:`~behavior.errors.FileFormatError` on a mismatch.

    Examples
    --------
    >>> check = verify_pose_file(get_frontend("netcdf"), ds)  # doctest: +SKIP
    """
    expected = {d: int(ds.sizes[d]) for d in ("time", "space", "keypoint", "individual")}

    def check(path: Path) -> None:
        if frontend.read is None:
            return
        back = frontend.read(path)
        found = {d: int(back.sizes.get(d, 0)) for d in expected}
        ok = found["time"] >= expected["time"] and all(
            found[d] == expected[d] for d in ("space", "keypoint", "individual")
        )
        if not ok:
            raise FileFormatError(f"expected sizes {expected}, read back {found}")

    return check


def verify_netcdf(ds: xr.Dataset) -> Callable[[Path], None]:
    """A ``verify`` for :func:`atomic_path`: the netCDF file holds ``ds``'s variables and sizes.

    Parameters
    ----------
    ds
        The dataset written with ``to_netcdf``.

    Returns
    -------
    callable
        ``check(path)``, raising :class:`~behavior.errors.FileFormatError` on a mismatch.

    Examples
    --------
    >>> with atomic_path("x.nc", verify=verify_netcdf(ds)) as tmp:  # doctest: +SKIP
    ...     ds.to_netcdf(tmp)
    """
    expected_sizes = {str(k): int(v) for k, v in ds.sizes.items()}
    expected_vars = sorted(str(v) for v in ds.data_vars)

    def check(path: Path) -> None:
        with xr.open_dataset(path, engine="netcdf4") as back:
            back.load()
            sizes = {str(k): int(v) for k, v in back.sizes.items()}
            names = sorted(str(v) for v in back.data_vars)
        if sizes != expected_sizes or names != expected_vars:
            raise FileFormatError(
                f"expected variables {expected_vars} of sizes {expected_sizes}, "
                f"read back {names} of sizes {sizes}"
            )

    return check


def save_poses(
    ds: xr.Dataset, path: str | os.PathLike, format: str | None = None, **options: Any
) -> Path:
    """Write a pose dataset to a file, atomically.

    Parameters
    ----------
    ds
        A pose dataset.
    path
        Destination. The format follows the suffix (``.h5`` and ``.csv`` mean
        DeepLabCut, ``.analysis.h5`` SLEAP, ``.nc`` netCDF, ``.parquet`` the tidy
        table, ``.nwb`` NWB) unless ``format`` is given.
    format
        A format name from :func:`behavior.io.frontends` that writes.
    **options
        Passed to the frontend's writer.

    Returns
    -------
    Path
        The written file, read back by the format's reader (same keypoints,
        individuals and space, no fewer frames) before it replaced ``path``. A
        failed write leaves no partial file and does not touch an existing file
        at ``path``.

    Raises
    ------
    FileWriteError
        The disk is full, a size limit was hit, or the file written did not read
        back; the message names ``path`` and says the old file is unchanged.
    PoseDataError
        The dataset cannot be written in this format (naming ``path``).

    Examples
    --------
    >>> save_poses(ds, "session.nc")  # doctest: +SKIP
    """
    validate(ds)
    path = Path(path)
    frontend = writer_for(path, format)
    assert frontend.write is not None
    with atomic_path(path, verify=verify_pose_file(frontend, ds)) as tmp:
        frontend.write(ds, tmp, **options)
    logger.info("wrote %s as %s", path, frontend.name)
    return path
