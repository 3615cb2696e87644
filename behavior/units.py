"""Durations given as seconds, text ("0.2 s", "10 min") or frames.

Windows, gaps and durations across the library accept either a number of frames
(an ``int``), seconds (a ``float``) or a string with a time unit. This module is
the one place that turns them into seconds or frames.
"""

from __future__ import annotations

import math
import re

from behavior.errors import PoseDataError

__all__ = ["to_frames", "to_seconds"]

_TIME_UNITS = {
    "ms": 1e-3,
    "msec": 1e-3,
    "millisecond": 1e-3,
    "milliseconds": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_DURATION = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")


def to_seconds(value: float | str, *, name: str = "duration") -> float:
    """Convert a duration to seconds.

    Parameters
    ----------
    value
        A number (already seconds) or a string such as ``"200 ms"``, ``"0.5 s"``,
        ``"10 min"`` or ``"1 h"``. A bare number in a string is read as seconds.
    name
        Argument name used in error messages.

    Returns
    -------
    float
        The duration in seconds.

    Examples
    --------
    >>> to_seconds("10 min")
    600.0
    >>> to_seconds("250 ms")
    0.25
    """
    if isinstance(value, bool):
        raise PoseDataError(f"{name}: expected a duration such as '0.5 s', found {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise PoseDataError(
                f"{name}: expected a duration such as '0.5 s' or '10 min', found {value!r}"
            )
        number, unit = match.groups()
        unit = unit.lower() or "s"
        if unit not in _TIME_UNITS:
            raise PoseDataError(
                f"{name}: unknown time unit {unit!r} in {value!r}; use one of ms, s, min, h"
            )
        seconds = float(number) * _TIME_UNITS[unit]
    else:
        raise PoseDataError(
            f"{name}: expected a number of seconds or a string such as '0.5 s', "
            f"found {type(value).__name__} {value!r}"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise PoseDataError(f"{name}: expected a finite non-negative duration, found {value!r}")
    return seconds


def to_frames(value: int | float | str, fps: float | None, *, name: str = "window") -> int:
    """Convert a duration to a whole number of frames.

    Parameters
    ----------
    value
        An ``int`` is already a number of frames; a ``float`` is seconds; a string
        carries its unit (``"0.2 s"``, ``"200 ms"``) or is a bare frame count
        (``"7 frames"``).
    fps
        Frames per second; required unless ``value`` is given in frames.
    name
        Argument name used in error messages.

    Returns
    -------
    int
        The number of frames, rounded to the nearest whole frame.

    Examples
    --------
    >>> to_frames("0.2 s", fps=30)
    6
    >>> to_frames(7, fps=None)
    7
    """
    if isinstance(value, bool):
        raise PoseDataError(f"{name}: expected frames or a duration, found {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise PoseDataError(f"{name}: expected a non-negative number of frames, found {value}")
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and match.group(2).lower() in {"frame", "frames", "f"}:
            return round(float(match.group(1)))
    if fps is None or not fps > 0:
        raise PoseDataError(
            f"{name}: {value!r} is a duration, which needs the frame rate, but fps is "
            f"{fps!r}. Give fps (e.g. load_poses(..., fps=30)) or give {name} in frames."
        )
    return round(to_seconds(value, name=name) * fps)
