"""One conversion of Python, numpy and xarray values to JSON, for every room.

Metadata of saved objects (ethograms, syllables, classifiers, file attributes) and
the processing log go through :func:`to_jsonable` (or :func:`dumps`), so one value
is written the same way everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["dumps", "to_jsonable"]


def to_jsonable(value: Any, *, summarize_arrays: bool = False) -> Any:
    """``value`` made of what ``json.dumps`` accepts.

    numpy scalars become Python numbers, arrays lists (or a ``"<ndarray
    shape=...>"`` summary with ``summarize_arrays``, as in the processing log),
    mappings dicts with string keys, tuples and sets lists, paths and anything
    else their ``str``.

    Parameters
    ----------
    value
        Any value.
    summarize_arrays
        Write arrays, DataArrays and Datasets as a one-line summary of their shape
        instead of their values.

    Examples
    --------
    >>> to_jsonable({"a": np.float32(2.5), 1: (np.arange(2), None)})
    {'a': 2.5, '1': [[0, 1], None]}
    >>> to_jsonable(np.zeros((2, 3)), summarize_arrays=True)
    '<ndarray shape=(2, 3)>'
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, summarize_arrays=summarize_arrays) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [to_jsonable(v, summarize_arrays=summarize_arrays) for v in items]
    if isinstance(value, np.ndarray) and not summarize_arrays:
        return value.tolist()
    if isinstance(value, np.ndarray) or hasattr(value, "dims"):  # arrays, xarray objects
        return f"<{type(value).__name__} shape={getattr(value, 'shape', None)}>"
    return str(value)


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` of ``value`` (keyword arguments pass through).

    Examples
    --------
    >>> dumps({"fps": np.float64(30.0)})
    '{"fps": 30.0}'
    """
    return json.dumps(to_jsonable(value), **kwargs)
