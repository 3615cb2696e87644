"""Exception types of ``behavior``.

Every error is a subclass of a built-in exception that users already catch, and
its message says where the problem is, what was expected, what was found and,
where possible, how to fix it.
"""

from __future__ import annotations

__all__ = [
    "FileFormatError",
    "MissingDependencyError",
    "PoseDataError",
    "UnknownFormatError",
]


class PoseDataError(ValueError):
    """A pose dataset, array or argument does not have the expected content.

    The message names the variable, dimension or argument, what was expected and
    what was found.
    """


class FileFormatError(PoseDataError):
    """A file cannot be read as the format it claims or was asked to be.

    The message names the file and the problem (empty, truncated, wrong header).
    """


class UnknownFormatError(FileFormatError):
    """No frontend, or more than one, accepted a file during auto-detection.

    The message lists every format tried and why each refused.
    """


class MissingDependencyError(ImportError):
    """An optional dependency is needed for this call and is not installed.

    The message names the package and the ``pip install`` extra that brings it.
    """


def require_module(module: str, extra: str, purpose: str):
    """Import an optional module, or raise :class:`MissingDependencyError`.

    Parameters
    ----------
    module
        Importable module name, e.g. ``"sleap_io"``.
    extra
        The ``behavior`` extra that installs it, e.g. ``"sleap"``.
    purpose
        What the module is needed for, used in the message.

    Returns
    -------
    module
        The imported module.

    Examples
    --------
    >>> np = require_module("numpy", "core", "arrays")
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{purpose} needs the optional package {module!r}, which is not installed. "
            f"Install it with: pip install 'behavior[{extra}]'"
        ) from err
