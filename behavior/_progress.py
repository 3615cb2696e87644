"""One progress bar for every long loop: tqdm when wanted, a silent stand-in otherwise.

With ``enabled=False`` tqdm is not even imported, so a notebook without ipywidgets
shows no warning for a bar nobody asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class NoBar:
    """Stands in for a tqdm bar when progress is off."""

    def __init__(self, iterable: Iterable | None = None) -> None:
        self._iterable = iterable

    def __iter__(self):
        return iter(self._iterable if self._iterable is not None else ())

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, text: str) -> None:
        return None

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        return None

    def set_description(self, text: str) -> None:
        return None

    def close(self) -> None:
        return None


def progress_bar(iterable: Iterable | None = None, *, enabled: bool = True, **options: Any) -> Any:
    """A ``tqdm.auto`` bar over ``iterable`` (or with ``total=``), or :class:`NoBar`.

    Parameters
    ----------
    iterable
        What to iterate over, or None for a bar updated by hand.
    enabled
        False gives the silent stand-in.
    **options
        Passed to tqdm (``total``, ``desc``, ``unit``, ``leave``, ``delay`` ...).

    Returns
    -------
    tqdm.tqdm or NoBar

    Examples
    --------
    >>> [x for x in progress_bar(range(3), enabled=False)]
    [0, 1, 2]
    """
    if not enabled:
        return NoBar(iterable)
    from tqdm.auto import tqdm

    return tqdm(iterable, **options)
