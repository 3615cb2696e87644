"""One registry for every pluggable thing: pose frontends, annotation formats,
pose estimators, feature sets and event presets.

A :class:`Registry` maps case-insensitive names (``"DeepLabCut"``, ``"deeplabcut"``
and ``"deep_lab_cut"`` are one key apart from the underscores) to entries, each with
the object, a one-line description and where it came from (``built-in``,
``runtime`` or the entry point that provided it). Built-ins and entry points load on
first use, so importing a room stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["Registry", "RegistryEntry", "first_doc_line", "registry_key"]


def registry_key(name: str) -> str:
    """The lookup key of a name: lower case, ``_`` and spaces read as ``-``.

    Examples
    --------
    >>> registry_key("Nose_to_Nose contact")
    'nose-to-nose-contact'
    """
    return str(name).lower().replace("_", "-").replace(" ", "-")


def first_doc_line(obj: Any) -> str:
    """The first non-empty line of ``obj``'s docstring, or ``""``.

    Examples
    --------
    >>> first_doc_line(registry_key)
    'The lookup key of a name: lower case, ``_`` and spaces read as ``-``.'
    """
    doc = getattr(obj, "__doc__", None) or ""
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


@dataclass(frozen=True)
class RegistryEntry(Generic[T]):
    """One registered object: its name, the object, a description and its origin."""

    name: str
    item: T
    description: str
    origin: str


class Registry(Generic[T]):
    """Named, pluggable objects of one kind.

    Parameters
    ----------
    what
        What the entries are, for messages (``"pose frontend"``).
    builtins
        Called once, on first use, with the registry; registers the built-in
        entries with ``origin="built-in"``.
    entry_point_group
        The ``importlib.metadata`` entry-point group that third-party packages use
        to add entries, loaded on first use after the built-ins.
    from_entry_point
        Turns a loaded entry-point object into an entry's item (for example an
        instance from a class); raise ``TypeError`` to refuse it. Identity by default.
    name_of
        The name of an entry-point item (a format's own ``name``), so that an entry
        point cannot register an item under another name; by default the entry
        point's name.
    describe
        An item's one-line description when none is given; by default the first
        line of its docstring (:func:`first_doc_line`).
    with_origin
        ``with_origin(item, origin)`` returns the item to store, for items that
        record their origin themselves (a frozen dataclass with an ``origin``
        field); by default the item is stored as it is.

    Examples
    --------
    >>> shapes = Registry("shape")
    >>> @shapes.add("square")
    ... def square(side):
    ...     '''Area of a square.'''
    ...     return side * side
    >>> shapes.get("Square")(3)
    9
    >>> list(shapes.table()["name"])
    ['square']
    """

    def __init__(
        self,
        what: str,
        *,
        builtins: Callable[[Registry[T]], None] | None = None,
        entry_point_group: str | None = None,
        from_entry_point: Callable[[Any], T] | None = None,
        name_of: Callable[[T], str] | None = None,
        describe: Callable[[T], str] | None = None,
        with_origin: Callable[[T, str], T] | None = None,
    ) -> None:
        self.what = what
        self.entry_point_group = entry_point_group
        self._builtins = builtins
        self._from_entry_point = from_entry_point
        self._name_of = name_of
        self._describe = describe or first_doc_line
        self._with_origin = with_origin
        self._entries: dict[str, RegistryEntry[T]] = {}
        self._loaded = builtins is None and entry_point_group is None
        self._loading_builtins = False

    # -- loading -------------------------------------------------------------------

    def _load(self) -> dict[str, RegistryEntry[T]]:
        if self._loaded:
            return self._entries
        self._loaded = True
        if self._builtins is not None:
            self._loading_builtins = True
            try:
                self._builtins(self)
            finally:
                self._loading_builtins = False
        if self.entry_point_group is not None:
            self._load_entry_points()
        return self._entries

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.entry_point_group):
            try:
                obj = ep.load()
                item = self._from_entry_point(obj) if self._from_entry_point else obj
                name = self._name_of(item) if self._name_of else ep.name
                self._store(name, item, None, f"entry point {ep.value}", replace=False)
            except Exception as err:
                logger.warning(
                    "Skipping %s %r from entry point %s: %s", self.what, ep.name, ep.value, err
                )

    def _store(
        self, name: str, item: T, description: str | None, origin: str, *, replace: bool
    ) -> T:
        key = registry_key(name)
        if key in self._entries and not replace:
            article = "an" if self.what[:1].lower() in "aeiou" else "a"
            raise ValueError(
                f"{article} {self.what} named {name!r} is already registered "
                f"({self._entries[key].origin}); pass replace=True to override it"
            )
        description = description or self._describe(item)
        if self._with_origin is not None:
            item = self._with_origin(item, origin)
        self._entries[key] = RegistryEntry(name, item, description, origin)
        return item

    # -- changing ------------------------------------------------------------------

    def register(
        self,
        name: str,
        item: T,
        *,
        description: str | None = None,
        origin: str | None = None,
        replace: bool = False,
    ) -> T:
        """Add ``item`` under ``name``; ``replace=True`` overrides an existing entry.

        ``origin`` defaults to ``"built-in"`` while the built-ins load, else
        ``"runtime"``; ``description`` to the item's first docstring line (or what
        ``describe`` says). Returns the stored item (``with_origin``'s result).

        Raises
        ------
        ValueError
            For an empty name, or a name already registered without ``replace``.

        Examples
        --------
        >>> colors = Registry("color")
        >>> colors.register("Sky blue", "#87ceeb", description="a light blue")
        '#87ceeb'
        >>> colors.get("sky_blue"), colors.entry("SKY-BLUE").origin
        ('#87ceeb', 'runtime')
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{self.what} name: expected a non-empty string, found {name!r}")
        self._load()
        if origin is None:
            origin = "built-in" if self._loading_builtins else "runtime"
        return self._store(name, item, description, origin, replace=replace)

    def add(
        self, name: str | None = None, *, description: str | None = None, replace: bool = False
    ) -> Callable[[T], T]:
        """Decorator form of :meth:`register`; the name defaults to ``__name__``."""

        def decorate(item: T) -> T:
            self.register(
                name or item.__name__,  # type: ignore[attr-defined]
                item,
                description=description,
                replace=replace,
            )
            return item

        return decorate

    def replace(self, name: str, item: T, *, description: str | None = None) -> T:
        """Put ``item`` in place of the entry called ``name`` (which must exist)."""
        self.get(name)
        return self.register(name, item, description=description, replace=True)

    def unregister(self, name: str) -> T:
        """Remove the entry called ``name`` and return its item (``KeyError`` if unknown)."""
        item = self.get(name)
        del self._entries[registry_key(name)]
        return item

    def fresh(self) -> Registry[T]:
        """A new, empty registry of the same kind: its built-ins and entry points load
        again on first use (what a new process would see)."""
        return Registry(
            self.what,
            builtins=self._builtins,
            entry_point_group=self.entry_point_group,
            from_entry_point=self._from_entry_point,
            name_of=self._name_of,
            describe=self._describe,
            with_origin=self._with_origin,
        )

    def copy(self) -> Registry[T]:
        """A loaded copy: registering in it or removing from it leaves this one alone.

        Examples
        --------
        >>> shapes = Registry("shape")
        >>> _ = shapes.register("circle", 3.14)
        >>> scratch = shapes.copy()
        >>> _ = scratch.unregister("circle")
        >>> "circle" in shapes, "circle" in scratch
        (True, False)
        """
        new = self.fresh()
        new._entries = dict(self._load())
        new._loaded = True
        return new

    # -- reading -------------------------------------------------------------------

    def entry(self, name: str) -> RegistryEntry[T]:
        """The :class:`RegistryEntry` called ``name``; ``KeyError`` lists the known names."""
        entries = self._load()
        key = registry_key(name) if isinstance(name, str) else None
        if key not in entries:
            raise KeyError(
                f"unknown {self.what} {name!r}; known: {sorted(e.name for e in entries.values())}"
            )
        return entries[key]

    def get(self, name: str) -> T:
        """The item called ``name`` (case-insensitive)."""
        return self.entry(name).item

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and registry_key(name) in self._load()

    def __iter__(self) -> Iterator[T]:
        return iter([e.item for e in self._load().values()])

    def __len__(self) -> int:
        return len(self._load())

    def entries(self) -> list[RegistryEntry[T]]:
        """Every entry, in registration order."""
        return list(self._load().values())

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return [e.name for e in self._load().values()]

    def table(self) -> pd.DataFrame:
        """One row per entry: ``name``, ``description`` and ``origin``."""
        rows = [
            {"name": e.name, "description": e.description, "origin": e.origin}
            for e in self._load().values()
        ]
        return pd.DataFrame(rows, columns=["name", "description", "origin"])

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {len(self)} entries)"
