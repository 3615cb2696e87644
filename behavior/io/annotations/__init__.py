"""Behavior annotation files in and out: BORIS, BENTO, Caltech, SimBA, DeepEthogram, NWB ...

:func:`load_annotations` reads any supported file into an
:class:`~behavior.ethogram.Ethogram`, recognising the format by content like
:func:`behavior.io.load_poses`; :func:`save_annotations` writes one, picking
the format from ``format=`` or the suffix. :func:`annotation_formats` lists
them. Each format is a :class:`~behavior.io.registry.Frontend` whose ``read``
returns an Ethogram and whose ``write`` takes one; the modules of this package
document each layout and its conventions (frame rounding, background labels,
how channels or streams map to individuals).

Times in seconds become frames as ``round(t * fps)``; ``fps=`` is needed for
files that store seconds without a frame rate. Whatever a reader could not
turn into bouts (unpaired BORIS START/STOP, merged overlaps, sub-frame bouts)
is listed in ``ethogram.attrs["issues"]`` and logged as a warning.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from behavior._registry import Registry
from behavior.dataset import check_fps
from behavior.errors import FileFormatError, PoseDataError, UnknownFormatError
from behavior.io.annotations._common import MAX_FRAMES
from behavior.io.registry import (
    Frontend,
    atomic_path,
    find_format,
    format_table,
    frontend_from_entry_point,
    pick_writer,
    register_at_runtime,
    sniff_among,
)

logger = logging.getLogger(__name__)

__all__ = [
    "ANNOTATION_FORMATS",
    "ENTRY_POINT_GROUP",
    "annotation_formats",
    "detect_annotation_format",
    "get_annotation_format",
    "load_annotations",
    "register_annotation_format",
    "save_annotations",
    "unregister_annotation_format",
]

ENTRY_POINT_GROUP = "behavior.annotation_formats"

# "module:attribute", in the order used to pick a writer for a shared suffix
# (.csv means the plain per-frame table unless format= says otherwise).
_BUILTIN = (
    "behavior.io.annotations.tables:PERFRAME",
    "behavior.io.annotations.boris:EVENTS",
    "behavior.io.annotations.boris:AGGREGATED",
    "behavior.io.annotations.bento:FRONTEND",
    "behavior.io.annotations.caltech:FRONTEND",
    "behavior.io.annotations.tables:SIMBA",
    "behavior.io.annotations.tables:DEEPETHOGRAM",
    "behavior.io.annotations.tables:INTERVALS",
    "behavior.io.annotations.nwb:FRONTEND",
)
_HINT = "Pass format=... to force one, or see behavior.io.annotations.annotation_formats()."


def _load_builtins(registry: Registry[Frontend]) -> None:
    for spec in _BUILTIN:
        module, attr = spec.split(":")
        frontend = getattr(importlib.import_module(module), attr)
        registry.register(frontend.name, frontend)


ANNOTATION_FORMATS: Registry[Frontend] = Registry(
    "annotation format",
    builtins=_load_builtins,
    entry_point_group=ENTRY_POINT_GROUP,
    from_entry_point=frontend_from_entry_point,
    name_of=lambda frontend: frontend.name,
    describe=lambda frontend: frontend.description,
    with_origin=lambda frontend, origin: dataclasses.replace(frontend, origin=origin),
)
"""The registry behind :func:`register_annotation_format`,
:func:`unregister_annotation_format` and :func:`annotation_formats` (third parties
add formats through the entry-point group ``behavior.annotation_formats``, an entry
point naming a :class:`~behavior.io.registry.Frontend` or a zero-argument callable
returning one)."""


def register_annotation_format(frontend: Frontend, *, replace: bool = False) -> Frontend:
    """Add an annotation format at run time.

    Parameters
    ----------
    frontend
        ``read(path, *, fps=None, **options) -> Ethogram`` and/or
        ``write(ethogram, path, **options)``, with a content ``sniff``.
    replace
        Replace a format of the same name instead of raising.

    Returns
    -------
    Frontend
        The registered format, its ``origin`` set to ``"runtime"`` unless it names
        another one.

    Raises
    ------
    ValueError
        If a format of that name is registered and ``replace`` is False.

    Examples
    --------
    >>> from behavior.io.registry import refuse
    >>> fe = Frontend("toy-annot", "toy", (".toy",), lambda p: refuse("never"))
    >>> register_annotation_format(fe, replace=True).origin
    'runtime'
    >>> unregister_annotation_format("toy-annot").name
    'toy-annot'
    """
    return register_at_runtime(ANNOTATION_FORMATS, frontend, replace=replace)


def unregister_annotation_format(name: str) -> Frontend:
    """Remove an annotation format for the rest of this process.

    Like :func:`behavior.io.registry.unregister_frontend` for pose formats: ``name`` is
    a format name or alias (case-insensitive); the removed Frontend is returned and an
    unknown name raises :class:`~behavior.errors.UnknownFormatError` listing the known ones.

    Parameters
    ----------
    name
        Format name or alias, case-insensitive.

    Examples
    --------
    >>> from behavior.io.registry import refuse
    >>> _ = register_annotation_format(Frontend("toy", "toy", (".toy",), lambda p: refuse("no")))
    >>> unregister_annotation_format("TOY").name
    'toy'
    """
    return ANNOTATION_FORMATS.unregister(get_annotation_format(name).name)


def annotation_formats() -> pd.DataFrame:
    """List every annotation format.

    Returns
    -------
    pandas.DataFrame
        One row per format: ``name``, ``description``, ``suffixes``, ``reads``,
        ``writes``, ``aliases`` and ``origin`` (built-in, runtime or the entry point),
        as :func:`behavior.io.frontends` lists pose formats.

    Examples
    --------
    >>> "boris" in set(annotation_formats()["name"])
    True
    """
    return format_table(ANNOTATION_FORMATS)


def get_annotation_format(name: str) -> Frontend:
    """Return the annotation format called ``name`` (or an alias), case-insensitive.

    An unknown name raises :class:`~behavior.errors.UnknownFormatError` listing the
    known names.

    Parameters
    ----------
    name
        ``"boris"``, ``"BENTO"``, ``"simba"`` ... or an alias, case-insensitive.

    Examples
    --------
    >>> get_annotation_format("BORIS").name
    'boris'
    """
    return find_format(ANNOTATION_FORMATS, name, what="annotation")


def detect_annotation_format(path: str | os.PathLike) -> Frontend:
    """Find the annotation format of ``path`` by its content: the most specific that accepts it.

    Like :func:`behavior.io.registry.detect_format` for pose files: a missing file raises
    FileNotFoundError, an empty one FileFormatError, and a file no format (or several
    equally specific ones) accepts UnknownFormatError listing each format's reason.

    Parameters
    ----------
    path
        The annotation file.

    Examples
    --------
    >>> detect_annotation_format("session.annot").name  # doctest: +SKIP
    'bento'
    """
    return sniff_among(path, ANNOTATION_FORMATS, what="annotation file", hint=_HINT)


def load_annotations(
    path: str | os.PathLike, fps: float | None = None, format: str = "auto", **options: Any
):
    """Read a behavior annotation file into an Ethogram.

    Parameters
    ----------
    path
        A BORIS export (events or aggregated), BENTO ``.annot``, Caltech ``.txt``,
        SimBA targets, DeepEthogram or plain per-frame CSV, intervals table or NWB file.
    fps
        Frames per second: converts times in seconds to frames and sets the
        time coordinate. Overrides a frame rate stored in the file.
    format
        ``"auto"`` sniffs the content; otherwise a name from :func:`annotation_formats`.
    **options
        Passed to the format's reader (``observation=``, ``strict=`` for BORIS;
        ``behaviors=`` for SimBA; ``where=``, ``start=`` ... for intervals; see
        each module).

    Returns
    -------
    Ethogram
        Labels over (time, behavior, individual); POINT events in ``.points``;
        ``attrs["issues"]`` lists what could not become bouts.

    Raises
    ------
    FileNotFoundError, FileFormatError, UnknownFormatError
        Naming the file and the problem.

    Examples
    --------
    >>> eth = load_annotations("boris_events.csv")  # doctest: +SKIP
    >>> eth.attrs["issues"]  # doctest: +SKIP
    []
    """
    path = Path(path)
    fps, options = _checked_arguments(path, fps, options)
    if format == "auto":
        frontend = detect_annotation_format(path)
    else:
        frontend = get_annotation_format(format)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        if not frontend.reads:
            raise UnknownFormatError(f"annotation format {frontend.name!r} cannot be read")
    assert frontend.read is not None
    _known_options(path, frontend, options)
    try:
        ethogram = frontend.read(path, fps=fps, **options)
    except FileFormatError:
        raise
    except PoseDataError as err:
        raise FileFormatError(f"{path}: read as {frontend.name} but {err}") from err
    logger.debug("loaded annotations %s as %s", path, frontend.name)
    return ethogram


def _checked_arguments(
    path: Path, fps: Any, options: dict[str, Any]
) -> tuple[float | None, dict[str, Any]]:
    """``fps``, ``n_frames`` and ``where`` checked once for every reader (named errors)."""
    where = f"load_annotations({str(path)!r})"
    if fps is not None:
        fps = check_fps(fps, f"{where}: fps")
    options = dict(options)
    n_frames = options.get("n_frames")
    if n_frames is not None:
        if isinstance(n_frames, bool) or not isinstance(n_frames, int | np.integer):
            raise PoseDataError(
                f"{where}: n_frames: expected a whole number of frames, found {n_frames!r}"
            )
        if not 0 <= n_frames <= MAX_FRAMES:
            raise PoseDataError(
                f"{where}: n_frames: expected 0 to {MAX_FRAMES:,} frames, found {n_frames!r}"
            )
        options["n_frames"] = int(n_frames)
    rows = options.get("where")
    if rows is not None and not isinstance(rows, Mapping):
        raise PoseDataError(
            f"{where}: where: expected a mapping of column to value, found {rows!r}"
        )
    return fps, options


def _known_options(path: Path, frontend: Frontend, options: dict[str, Any]) -> None:
    """A PoseDataError naming the options the format's reader does not take."""
    try:
        parameters = inspect.signature(frontend.read).parameters
    except (TypeError, ValueError):  # a builtin or C callable: let it check
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = sorted(set(options) - set(parameters))
    if unknown:
        takes = sorted(n for n in parameters if n not in ("path", "fps"))
        raise PoseDataError(
            f"load_annotations({str(path)!r}): the {frontend.name} reader takes no option "
            f"{unknown}; it takes {takes}"
        )


def save_annotations(
    ethogram: Any, path: str | os.PathLike, format: str | None = None, **options: Any
) -> Path:
    """Write an Ethogram to an annotation file, atomically.

    Parameters
    ----------
    ethogram
        The labels to write. Formats that store seconds need ``ethogram.fps``.
    path
        Destination. Without ``format``, the suffix decides: ``.annot`` BENTO,
        ``.txt`` Caltech, ``.tsv`` BORIS events, ``.nwb`` NWB, ``.csv`` the plain
        per-frame table.
    format
        A name from :func:`annotation_formats` (``"boris"``, ``"boris-aggregated"``,
        ``"simba"``, ``"deepethogram"``, ``"intervals"`` ...).
    **options
        Passed to the format's writer. ``append=True`` (NWB) adds to the existing
        file at ``path`` (a session file with other data) instead of replacing
        it: the writer works on a copy, which replaces ``path`` only once it reads
        back; ``table=`` (NWB) names the tables (``<table>_<behavior>``, see
        :mod:`behavior.io.annotations.nwb`) and is read back the same way.

    Returns
    -------
    Path
        The written file, read back before it replaced ``path`` (same number of
        bouts). A failed write leaves no partial file and an existing file unchanged.

    Raises
    ------
    FileWriteError
        The disk is full, or the file written does not read back; naming ``path``.

    Examples
    --------
    >>> save_annotations(eth, "session.annot")  # doctest: +SKIP
    """
    from behavior.ethogram import Ethogram

    if not isinstance(ethogram, Ethogram):
        raise PoseDataError(
            f"save_annotations({str(path)!r}): expected an Ethogram, found "
            f"{type(ethogram).__name__} {_short(ethogram)}"
        )
    path = Path(path)
    frontend = pick_writer(ANNOTATION_FORMATS, path, format, what="annotation")
    assert frontend.write is not None

    append = bool(options.get("append", False))
    if "append" in options and "append" not in _parameters(frontend.write):
        raise PoseDataError(
            f"save_annotations({str(path)!r}): the {frontend.name} writer cannot append "
            f"(append={options['append']!r}); formats that can: nwb"
        )
    # the reader picks the same table(s) as the writer, where both take a table name
    again = {"table": options["table"]} if "table" in options else {}
    if again and frontend.read is not None and "table" not in _parameters(frontend.read):
        again = {}

    def verify(tmp: Path) -> None:  # the bouts written come back
        if frontend.read is None:
            return
        expected = len(ethogram.to_bouts())
        back = frontend.read(tmp, fps=ethogram.attrs.get("fps"), **again)
        if len(back.to_bouts()) != expected:
            raise FileFormatError(f"expected {expected} bouts, read back {len(back.to_bouts())}")

    with atomic_path(path, verify=verify) as tmp:
        if append and path.exists():  # the writer adds to a copy; path is untouched until the end
            shutil.copyfile(path, tmp)
        frontend.write(ethogram, tmp, **options)
    logger.info("wrote annotations %s as %s", path, frontend.name)
    return path


def _parameters(function: Any) -> set[str]:
    """The keyword names ``function`` takes (all of them for a builtin that hides them)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {"append", "table"}
    return set(parameters)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
