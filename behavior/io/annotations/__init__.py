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

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from behavior.errors import FileFormatError, PoseDataError, UnknownFormatError
from behavior.io.registry import (
    Frontend,
    _key,
    atomic_path,
    find_format,
    format_table,
    pick_writer,
    sniff_among,
)

logger = logging.getLogger(__name__)

__all__ = [
    "annotation_formats",
    "detect_annotation_format",
    "get_annotation_format",
    "load_annotations",
    "register_annotation_format",
    "save_annotations",
]

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

_registry: dict[str, Frontend] = {}


def _formats() -> dict[str, Frontend]:
    if not _registry:
        import importlib

        for spec in _BUILTIN:
            module, attr = spec.split(":")
            frontend = getattr(importlib.import_module(module), attr)
            _registry[_key(frontend.name)] = frontend
    return _registry


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
        The registered format.

    Examples
    --------
    >>> from behavior.io.registry import refuse
    >>> fe = Frontend("toy-annot", "toy", (".toy",), lambda p: refuse("never"))
    >>> register_annotation_format(fe, replace=True).name  # doctest: +SKIP
    'toy-annot'
    """
    registry = _formats()
    key = _key(frontend.name)
    if key in registry and not replace:
        raise ValueError(f"an annotation format named {frontend.name!r} is already registered")
    registry[key] = frontend
    return frontend


def annotation_formats() -> pd.DataFrame:
    """List every annotation format.

    Returns
    -------
    pandas.DataFrame
        One row per format: ``name``, ``description``, ``suffixes``, ``reads``,
        ``writes``, ``aliases``.

    Examples
    --------
    >>> "boris" in set(annotation_formats()["name"])
    True
    """
    return format_table(_formats().values()).drop(columns="origin")


def get_annotation_format(name: str) -> Frontend:
    """Return the annotation format called ``name`` (or an alias), case-insensitive.

    Parameters
    ----------
    name
        ``"boris"``, ``"BENTO"``, ``"simba"`` ...

    Returns
    -------
    Frontend
        The format.

    Raises
    ------
    UnknownFormatError
        Listing the known names.

    Examples
    --------
    >>> get_annotation_format("BORIS").name
    'boris'
    """
    return find_format(_formats().values(), name, what="annotation")


def detect_annotation_format(path: str | os.PathLike) -> Frontend:
    """Find the annotation format of ``path`` by its content.

    Parameters
    ----------
    path
        An annotation file.

    Returns
    -------
    Frontend
        The most specific format that accepts the file.

    Raises
    ------
    FileNotFoundError, FileFormatError, UnknownFormatError
        Missing or empty file; no (or several equally specific) formats accept it.

    Examples
    --------
    >>> detect_annotation_format("session.annot").name  # doctest: +SKIP
    'bento'
    """
    return sniff_among(path, _formats().values(), what="annotation file", hint=_HINT)


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
    if format == "auto":
        frontend = detect_annotation_format(path)
    else:
        frontend = get_annotation_format(format)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        if not frontend.reads:
            raise UnknownFormatError(f"annotation format {frontend.name!r} cannot be read")
    assert frontend.read is not None
    try:
        ethogram = frontend.read(path, fps=fps, **options)
    except FileFormatError:
        raise
    except PoseDataError as err:
        raise FileFormatError(f"{path}: read as {frontend.name} but {err}") from err
    logger.debug("loaded annotations %s as %s", path, frontend.name)
    return ethogram


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
        Passed to the format's writer.

    Returns
    -------
    Path
        The written file; a failed write leaves no partial file.

    Examples
    --------
    >>> save_annotations(eth, "session.annot")  # doctest: +SKIP
    """
    path = Path(path)
    frontend = pick_writer(_formats().values(), path, format, what="annotation")
    assert frontend.write is not None
    with atomic_path(path) as tmp:
        frontend.write(ethogram, tmp, **options)
    logger.info("wrote annotations %s as %s", path, frontend.name)
    return path
