"""Lazy attributes of a package: submodules and names that import on first use."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_package(
    package: str, submodules: Iterable[str], attributes: Mapping[str, str], names: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of a lazily loading package.

    Parameters
    ----------
    package
        The package's ``__name__``.
    submodules
        Submodule names importable as attributes (``package.name``).
    attributes
        Attribute name -> module that defines it.
    names
        The package's ``__all__``, listed by ``dir()`` before they are loaded.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``; each loaded value is cached in the package.

    Examples
    --------
    >>> getattr_, dir_ = lazy_package("behavior", {"units"}, {}, ["units"])
    >>> getattr_("units").__name__
    'behavior.units'
    """
    submodules, attributes, names = set(submodules), dict(attributes), list(names)

    def __getattr__(name: str) -> Any:
        if name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        elif name in attributes:
            value = getattr(importlib.import_module(attributes[name]), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
