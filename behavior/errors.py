"""Exception types of ``behavior``.

Every error is a subclass of a built-in exception that users already catch, and
its message says where the problem is, what was expected, what was found and,
where possible, how to fix it.
"""

from __future__ import annotations

__all__ = [
    "FileFormatError",
    "FileWriteError",
    "MissingDependencyError",
    "NotFittedError",  # noqa: F822 (built on first use by __getattr__)
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


def _not_fitted_error() -> type:
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(PoseDataError, SklearnNotFittedError):
        """An estimator was asked to predict, transform, score or save before ``fit``.

        A subclass of scikit-learn's ``NotFittedError`` (so of ``ValueError`` and
        ``AttributeError``): ``except sklearn.exceptions.NotFittedError`` catches it.
        """

    NotFittedError.__module__ = __name__
    NotFittedError.__qualname__ = "NotFittedError"
    return NotFittedError


def __getattr__(name: str):
    # NotFittedError subclasses scikit-learn's, built on first use so that
    # `import behavior` does not import scikit-learn.
    if name == "NotFittedError":
        cls = _not_fitted_error()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class FileWriteError(OSError):
    """A file could not be written (full disk, size limit, read-back check failed).

    The message names the file the user asked for and what happened, and says
    that a file already there was left unchanged; ``errno`` is kept when the
    system gave one.
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
