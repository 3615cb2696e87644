"""Saved classifiers: one ``.skops`` file each, that cannot run code when loaded.

A file is a zip written by skops' safe persistence (``skops.io``): the
scikit-learn models as arrays and JSON, no pickle. Beside them the zip holds
``behavior-classifier.json``, the model's metadata (frame rate, units,
keypoints, features, behaviors, thresholds, versions), which
:func:`read_metadata` reads without loading the model.

Loading checks, in order: the file is a zip (a pickle or joblib file is named
as such and refused, never opened), it holds the metadata of this format, and
every type it would build is in :data:`TRUSTED` or skops' defaults (builtins,
numpy, scikit-learn estimators). Anything else raises
:class:`~behavior.errors.FileFormatError` naming the file, what was expected and
what was found.

Use :meth:`behavior.classify.BehaviorClassifier.save` and
:meth:`~behavior.classify.BehaviorClassifier.load`; the functions here are
their file layer.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

from behavior._json import to_jsonable
from behavior.errors import FileFormatError

__all__ = ["FORMAT", "FORMAT_VERSION", "METADATA", "SUFFIX", "TRUSTED", "read_metadata",
           "read_model", "write_model"]  # fmt: skip

logger = logging.getLogger("behavior.classify")

FORMAT = "behavior-classifier"
#: Version 2: skops zip (version 1 was a joblib pickle, no longer read).
FORMAT_VERSION = 2
SUFFIX = ".skops"
METADATA = "behavior-classifier.json"
#: Types beyond skops' defaults that a saved model may hold: the trees of a random
#: forest and of histogram gradient boosting (rebuilt from arrays, no code run).
TRUSTED = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

_EXPECTED = f"a classifier saved by BehaviorClassifier.save (a {SUFFIX} zip holding {METADATA})"


def _skops_io() -> Any:
    import skops.io  # a dependency of behavior; imported here to keep `import behavior` light

    return skops.io


def _describe(path: Path) -> str:
    """What a file that is not a saved classifier looks like, in words."""
    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        return "an empty file"
    if head[:1] == b"\x80" or head[:2] in (b"(d", b"(l", b"}q", b"]q"):
        return "a pickle (e.g. a joblib model of behavior < 0.2), which can run code and is refused"
    if head[:1] == b"\x78" and head[1:2] in (b"\x01", b"\x5e", b"\x9c", b"\xda"):
        return "zlib-compressed data (e.g. a compressed joblib pickle), refused"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file"
    if head.lstrip()[:1] in (b"{", b"["):
        return "a JSON or text file"
    return f"a file starting with {head!r}"


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a saved classifier, without loading its models.

    Parameters
    ----------
    path
        A ``.skops`` file written by :meth:`BehaviorClassifier.save`.

    Returns
    -------
    dict
        ``format``, ``format_version``, ``fps``, ``space_unit``, ``keypoints``,
        ``feature_names``, ``behaviors``, ``thresholds``, ``params``,
        ``behavior_version``, ``sklearn_version`` ...

    Raises
    ------
    FileNotFoundError, FileFormatError
        No such file, or not a saved classifier (the message says what it is).

    Examples
    --------
    >>> read_metadata("freezing.skops")["behaviors"]  # doctest: +SKIP
    ['freeze']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise FileFormatError(f"{path}: expected {_EXPECTED}, found {_describe(path)}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if METADATA not in names:
                raise FileFormatError(
                    f"{path}: expected {_EXPECTED}, found a zip without {METADATA} "
                    f"(members {names[:5]})"
                )
            meta = json.loads(archive.read(METADATA))
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise FileFormatError(f"{path}: expected {_EXPECTED}, found a damaged zip ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FileFormatError(f"{path}: expected format {FORMAT!r} in {METADATA}, found {found!r}")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: expected format version {FORMAT_VERSION} of {FORMAT!r}, found {version!r}"
            + ("; it was written by a newer behavior: upgrade" if isinstance(version, int)
               and version > FORMAT_VERSION else "")
        )  # fmt: skip
    return meta


def read_model(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state and metadata of a saved classifier; never runs code from the file.

    Parameters
    ----------
    path
        A ``.skops`` file written by :meth:`BehaviorClassifier.save`.

    Returns
    -------
    (dict, dict)
        The state written by :func:`write_model` (``params`` and ``fitted``
        attributes) and the metadata (:func:`read_metadata`).

    Raises
    ------
    FileNotFoundError, FileFormatError
        No such file; not a saved classifier; types outside the allow-list.

    Examples
    --------
    >>> state, meta = read_model("freezing.skops")  # doctest: +SKIP
    """
    import behavior

    path = Path(path)
    meta = read_metadata(path)
    sio = _skops_io()
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as err:  # a damaged or foreign schema
        raise FileFormatError(
            f"{path}: expected {_EXPECTED}, found an unreadable model ({err})"
        ) from err
    outside = sorted(set(untrusted) - set(TRUSTED))
    if outside:
        raise FileFormatError(
            f"{path}: expected a model made of trusted types (skops defaults and {list(TRUSTED)}), "
            f"found {outside}; refused without loading"
        )
    try:
        state = sio.load(path, trusted=list(TRUSTED))
    except Exception as err:
        raise FileFormatError(f"{path}: expected {_EXPECTED}, found a model skops cannot load "
                              f"({type(err).__name__}: {err})") from err  # fmt: skip
    if not isinstance(state, dict):
        raise FileFormatError(
            f"{path}: expected a dict of model state, found {type(state).__name__}"
        )
    saved = meta.get("behavior_version")
    if saved != behavior.__version__:
        logger.warning("%s was saved by behavior %s; this is %s", path, saved, behavior.__version__)
    return state, meta


def write_model(state: dict[str, Any], metadata: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a classifier's state and metadata to one ``.skops`` file, atomically.

    The file is written beside ``path`` under a temporary name, flushed to disk
    (``fsync``), read back with :func:`read_model` and compared, then renamed
    over ``path``; the folder is flushed too. On any failure the temporary file
    is removed and an older file at ``path`` is left as it was.

    Parameters
    ----------
    state
        Plain data (dicts, lists, numbers, strings, numpy arrays) and
        scikit-learn models.
    metadata
        JSON-able facts about the model; ``format`` and ``format_version`` are added.
    path
        Destination ending in ``.skops`` (added when there is no suffix).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    FileFormatError
        ``path`` has another suffix (nothing is written).
    FileWriteError
        The disk is full, or the file read back differs from what was written
        (from :func:`behavior.io.registry.atomic_path`); ``path`` is unchanged.

    Examples
    --------
    >>> write_model(state, {"behaviors": ["freeze"]}, "freezing.skops")  # doctest: +SKIP
    """
    from behavior.io.registry import atomic_path

    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(SUFFIX)
    elif path.suffix != SUFFIX:
        raise FileFormatError(
            f"{path}: a classifier is saved as one {SUFFIX} file; expected a path ending in "
            f"{SUFFIX} (or without suffix), found {path.suffix!r}"
        )
    meta = {**to_jsonable(metadata), "format": FORMAT, "format_version": FORMAT_VERSION}
    sio = _skops_io()

    def verify(tmp: Path) -> None:
        again, again_meta = read_model(tmp)
        if again_meta != meta or set(again) != set(state) or _shape(again) != _shape(state):
            raise FileFormatError("the model read back differs from the model written")

    with atomic_path(path, verify=verify) as tmp:
        sio.dump(state, tmp, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        with zipfile.ZipFile(tmp, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA, json.dumps(meta, indent=2))
    logger.debug("saved classifier to %s", path)
    return path


def _shape(state: Any) -> Any:
    """Keys (nested) of a state, to compare what was written with what is read back."""
    if isinstance(state, dict):
        return {k: _shape(v) for k, v in state.items()}
    return type(state).__name__
