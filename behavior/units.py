"""Durations given as seconds, text ("0.2 s", "10 min") or frames; physical quantities.

Windows, gaps and durations across the library accept either a number of frames
(an ``int``), seconds (a ``float``) or a string with a time unit. This module is
the one place that turns them into seconds or frames.

It also holds the small quantity system that rules use (:mod:`behavior.events`):
:class:`Quantity` is a number with a unit over the base dimensions cm, px, s, deg
and frame, built from the constants ``cm, mm, m, px, s, ms, minute, hour, deg,
rad, frame`` (``15 * cm / s``) or from text (:func:`quantity`,
:func:`parse_unit`). Pixels and centimetres are different dimensions: converting
between them needs a calibration (``px_per_cm``), frames and seconds need the
frame rate, and neither is ever guessed.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from behavior.errors import PoseDataError

__all__ = [
    "UNITS",
    "Quantity",
    "UnitError",
    "cm",
    "deg",
    "frame",
    "frame_rate",
    "hour",
    "m",
    "minute",
    "mm",
    "ms",
    "parse_unit",
    "positive_number",
    "px",
    "quantity",
    "rad",
    "s",
    "space_unit_of",
    "to_frames",
    "to_seconds",
]

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


def positive_number(value: Any, name: str, what: str = "a number") -> float | None:
    """``value`` as a positive finite float, None as None; else :class:`PoseDataError`.

    The check of calibrations given as arguments (``px_per_cm``): text, booleans,
    arrays, zero, negative and non-finite values are refused with a message naming
    the argument. Frame rates go through :func:`frame_rate` (the dataset's rule).

    Parameters
    ----------
    value
        The number, or None.
    name
        The argument's name, for the message.
    what
        What the number is, for the message (``"a calibration in px per cm"``).

    Examples
    --------
    >>> positive_number(30, "fps")
    30.0
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise PoseDataError(f"{name}: expected {what} > 0 (or None), found {value!r}")
    return float(value)


def frame_rate(fps: Any) -> float | None:
    """``fps`` checked by :func:`behavior.dataset.check_fps`; None stays None.

    Parameters
    ----------
    fps
        A frame rate in frames per second (a number or its text), or None.

    Examples
    --------
    >>> frame_rate("30"), frame_rate(None)
    (30.0, None)
    """
    from behavior.dataset import check_fps  # imported here: units stays free of xarray

    return None if fps is None else check_fps(fps, "fps")


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
    fps = frame_rate(fps)
    if fps is None:
        raise PoseDataError(
            f"{name}: {value!r} is a duration, which needs the frame rate, but fps is "
            f"{fps!r}. Give fps (e.g. load_poses(..., fps=30)) or give {name} in frames."
        )
    return round(to_seconds(value, name=name) * fps)


# --------------------------------------------------------------------------------------
# Physical quantities for rules: a number with a unit
# --------------------------------------------------------------------------------------
#
# A unit is a scale and a vector of exponents over five base dimensions. Each base
# dimension has one reference unit: length in cm, image length in px (pixels, which
# only become cm through a calibration), time in s, angle in deg, and the frame (which
# only becomes s through the frame rate).

_BASES = ("cm", "px", "s", "deg", "frame")


class UnitError(PoseDataError):
    """A unit that is unknown, malformed, or cannot convert to the one needed."""


class Quantity:
    """A number with a physical unit, for thresholds in rules.

    Build quantities from the unit constants of this module (``15 * cm / s``,
    ``30 * deg``) or from text (:func:`quantity`). Quantities multiply, divide,
    take integer powers and add when their dimensions match. Comparing a rule
    variable with a quantity (``q.speed > 15 * cm / s``) builds a rule (see
    :mod:`behavior.events`).

    Parameters
    ----------
    value
        The number, in the reference units (cm, px, s, deg, frame).
    dims
        Exponents of the base dimensions ``(cm, px, s, deg, frame)``.

    Examples
    --------
    >>> (15 * cm / s).to("mm/s")
    150.0
    >>> (2 * minute).to("s")
    120.0
    """

    __slots__ = ("dims", "value")
    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, value: float, dims: tuple[int, ...] = (0, 0, 0, 0, 0)) -> None:
        self.value = float(value)
        self.dims = tuple(int(d) for d in dims)

    # ---- arithmetic ----
    @staticmethod
    def _of(other: object) -> Quantity | None:
        if isinstance(other, Quantity):
            return other
        if isinstance(other, int | float) and not isinstance(other, bool):
            return Quantity(float(other))
        return None

    def __mul__(self, other: object) -> Quantity:
        o = self._of(other)
        if o is None:
            return NotImplemented
        return Quantity(self.value * o.value, tuple(a + b for a, b in zip(self.dims, o.dims)))

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Quantity:
        o = self._of(other)
        if o is None:
            return NotImplemented
        return Quantity(self.value / o.value, tuple(a - b for a, b in zip(self.dims, o.dims)))

    def __rtruediv__(self, other: object) -> Quantity:
        o = self._of(other)
        if o is None:
            return NotImplemented
        return o / self

    def __pow__(self, power: int) -> Quantity:
        if isinstance(power, bool) or not isinstance(power, int):
            raise UnitError(f"unit power: expected a whole number, found {power!r}")
        return Quantity(self.value**power, tuple(d * power for d in self.dims))

    def __neg__(self) -> Quantity:
        return Quantity(-self.value, self.dims)

    def __add__(self, other: object) -> Quantity:
        o = self._of(other)
        if o is None:
            return NotImplemented
        if o.dims != self.dims:
            raise UnitError(f"cannot add {o.unit_text()} to {self.unit_text()}")
        return Quantity(self.value + o.value, self.dims)

    __radd__ = __add__

    def __sub__(self, other: object) -> Quantity:
        o = self._of(other)
        if o is None:
            return NotImplemented
        return self + (-o)

    # Comparisons with plain quantities compare values of equal dimension; anything
    # else (a rule variable) is left to the other operand's reflected method.
    def _cmp(self, other: object, op: str) -> bool:
        o = self._of(other)
        if o is None:
            return NotImplemented  # type: ignore[return-value]
        if o.dims != self.dims:
            raise UnitError(f"cannot compare {self.unit_text()} with {o.unit_text()}")
        a, b = self.value, o.value
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]

    def __lt__(self, other: object) -> bool:
        return self._cmp(other, "<")

    def __le__(self, other: object) -> bool:
        return self._cmp(other, "<=")

    def __gt__(self, other: object) -> bool:
        return self._cmp(other, ">")

    def __ge__(self, other: object) -> bool:
        return self._cmp(other, ">=")

    def __eq__(self, other: object) -> bool:
        o = self._of(other)
        if o is None:
            return NotImplemented
        return o.dims == self.dims and math.isclose(self.value, o.value, rel_tol=1e-12)

    def __hash__(self) -> int:
        return hash((round(self.value, 12), self.dims))

    # ---- text ----
    def unit_text(self) -> str:
        """The dimensions as text in reference units, e.g. ``"cm/s"`` (``"1"`` if none)."""
        num = [b if d == 1 else f"{b}^{d}" for b, d in zip(_BASES, self.dims) if d > 0]
        den = [b if d == -1 else f"{b}^{-d}" for b, d in zip(_BASES, self.dims) if d < 0]
        text = "*".join(num) or "1"
        if den:
            text += "/" + "/".join(den)
        return text

    def __repr__(self) -> str:
        unit = self.unit_text()
        return f"{self.value:g}" if unit == "1" else f"{self.value:g} {unit}"

    # ---- conversion ----
    def to(
        self,
        unit: str | Quantity,
        *,
        px_per_cm: float | None = None,
        fps: float | None = None,
        name: str = "quantity",
    ) -> float:
        """The number of ``unit`` in this quantity.

        Parameters
        ----------
        unit
            Target unit, as text (``"cm/s"``, ``"pixels"``, ``"deg"``) or a Quantity.
        px_per_cm
            Calibration, needed only to convert between lengths in cm and pixels.
        fps
            Frame rate, needed only to convert between frames and seconds.
        name
            Name of the quantity in error messages.

        Returns
        -------
        float

        Raises
        ------
        UnitError
            If the dimensions differ, or a conversion needs a calibration or frame
            rate that was not given (it is never guessed).

        Examples
        --------
        >>> (5 * cm).to("px", px_per_cm=12)
        60.0
        >>> (3 * frame).to("s", fps=30)
        0.1
        """
        target = parse_unit(unit) if isinstance(unit, str) else unit
        source = self
        # physical length <-> pixels needs the calibration; seconds <-> frames the rate
        d_cm = self.dims[0] - target.dims[0]
        d_frame = self.dims[4] - target.dims[4]
        factor = 1.0
        if d_cm != 0:
            if self.dims[0] + self.dims[1] != target.dims[0] + target.dims[1]:
                raise UnitError(
                    f"{name}: cannot convert {self.unit_text()} to {target.unit_text()}"
                )
            try:
                px_per_cm = positive_number(px_per_cm, "px_per_cm", "a calibration in px per cm")
            except PoseDataError as err:
                raise UnitError(f"{name}: {err}") from None
            if px_per_cm is None:
                raise UnitError(
                    f"{name}: converting {self!r} to {target.unit_text()} needs a spatial "
                    f"calibration (pixels per cm), found none. Calibrate the dataset "
                    "(behavior.kinematics.calibrate(ds, px_per_cm=...)) or give px_per_cm=...; "
                    "a unit is never guessed."
                )
            factor *= float(px_per_cm) ** d_cm  # cm -> px: multiply by px_per_cm
        if d_frame != 0:
            if self.dims[4] + self.dims[2] != target.dims[4] + target.dims[2]:
                raise UnitError(
                    f"{name}: cannot convert {self.unit_text()} to {target.unit_text()}"
                )
            try:
                fps = frame_rate(fps)
            except PoseDataError as err:
                raise UnitError(f"{name}: {err}") from None
            if fps is None:
                raise UnitError(
                    f"{name}: converting {self!r} to {target.unit_text()} needs the frame "
                    f"rate, found fps={fps!r}"
                )
            factor *= (1.0 / float(fps)) ** d_frame  # frame -> s
        dims = list(source.dims)
        dims[1] += d_cm
        dims[0] -= d_cm
        dims[2] += d_frame
        dims[4] -= d_frame
        if tuple(dims) != target.dims:
            raise UnitError(f"{name}: cannot convert {self.unit_text()} to {target.unit_text()}")
        return self.value * factor / target.value


def _unit(value: float, **dims: int) -> Quantity:
    return Quantity(value, tuple(dims.get(b, 0) for b in _BASES))


cm = _unit(1.0, cm=1)
mm = _unit(0.1, cm=1)
m = _unit(100.0, cm=1)
um = _unit(1e-4, cm=1)
px = _unit(1.0, px=1)
s = _unit(1.0, s=1)
ms = _unit(1e-3, s=1)
minute = _unit(60.0, s=1)
hour = _unit(3600.0, s=1)
deg = _unit(1.0, deg=1)
rad = _unit(180.0 / math.pi, deg=1)
frame = _unit(1.0, frame=1)
Hz = 1 / s
dimensionless = Quantity(1.0)

UNITS: dict[str, Quantity] = {
    "cm": cm,
    "mm": mm,
    "m": m,
    "um": um,
    "px": px,
    "pixel": px,
    "pixels": px,
    "s": s,
    "sec": s,
    "second": s,
    "seconds": s,
    "ms": ms,
    "min": minute,
    "minute": minute,
    "minutes": minute,
    "h": hour,
    "hour": hour,
    "hours": hour,
    "deg": deg,
    "degree": deg,
    "degrees": deg,
    "rad": rad,
    "radian": rad,
    "radians": rad,
    "frame": frame,
    "frames": frame,
    "Hz": Hz,
    "1": dimensionless,
    "%": Quantity(0.01),
}
"""Unit names understood in text, and the quantity each stands for."""

_UNIT_TOKEN = re.compile(r"\s*(?:([A-Za-z%]+|1)|(\*\*|\^)|([*/])|(-?\d+))")


def parse_unit(text: str, *, name: str = "unit") -> Quantity:
    """A unit written as text: names joined by ``*`` and ``/`` with integer powers.

    Parameters
    ----------
    text
        E.g. ``"cm/s"``, ``"cm s^-1"`` (a space multiplies), ``"deg/s"``,
        ``"pixels"``, ``"mm**2"``; ``""`` and ``"1"`` are dimensionless.
    name
        Argument name used in error messages.

    Returns
    -------
    Quantity
        One of the unit in reference units.

    Raises
    ------
    UnitError
        For an unknown unit name (listing the known ones) or malformed text.

    Examples
    --------
    >>> parse_unit("cm/s") == cm / s
    True
    >>> parse_unit("cm s^-1") == cm / s
    True
    """
    text = str(text).strip()
    if text in ("", "1"):
        return dimensionless
    pos, out, op = 0, dimensionless, "*"
    last: Quantity | None = None
    expect_unit = True
    while pos < len(text):
        match = _UNIT_TOKEN.match(text, pos)
        if match is None:
            raise UnitError(f"{name}: cannot read {text!r} at {text[pos:]!r}")
        word, power, mul, number = match.groups()
        pos = match.end()
        if word is not None:
            if word not in UNITS:
                raise UnitError(
                    f"{name}: unknown unit {word!r} in {text!r}; known units: "
                    f"{', '.join(sorted(UNITS, key=str.lower))}"
                )
            if not expect_unit:  # "cm s": juxtaposition multiplies
                op = "*"
            last = UNITS[word]
            out = out * last if op == "*" else out / last
            expect_unit = False
        elif power is not None:
            nxt = _UNIT_TOKEN.match(text, pos)
            if last is None or nxt is None or nxt.group(4) is None:
                raise UnitError(f"{name}: expected a unit and a whole power in {text!r}")
            k = int(nxt.group(4))
            pos = nxt.end()
            # undo the single factor, apply it to the power k
            out = out / last if op == "*" else out * last
            out = out * last**k if op == "*" else out / last**k
        elif mul is not None:
            if expect_unit:
                raise UnitError(f"{name}: expected a unit before {mul!r} in {text!r}")
            op, expect_unit = mul, True
        else:
            raise UnitError(f"{name}: unexpected number {number!r} in {text!r}")
    if expect_unit:
        raise UnitError(f"{name}: {text!r} ends without a unit")
    return out


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def quantity(value: str | float | Quantity, *, name: str = "quantity") -> Quantity:
    """A quantity from text such as ``"15 cm/s"`` or ``"30 deg"``.

    Parameters
    ----------
    value
        Text (a number and a unit), a Quantity (returned as is) or a bare number
        (dimensionless).
    name
        Argument name used in error messages.

    Returns
    -------
    Quantity

    Raises
    ------
    UnitError
        For text that is not a number followed by a known unit.

    Examples
    --------
    >>> quantity("15 cm/s") == 15 * cm / s
    True
    """
    if isinstance(value, Quantity):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Quantity(float(value))
    if not isinstance(value, str):
        raise UnitError(f"{name}: expected text such as '15 cm/s', found {value!r}")
    match = _QUANTITY.match(value)
    if match is None:
        raise UnitError(f"{name}: expected a number and a unit such as '15 cm/s', found {value!r}")
    return float(match.group(1)) * parse_unit(match.group(2), name=name)


def space_unit_of(attrs: dict) -> str:
    """The spatial unit a dataset's attrs declare, normalised to a :data:`UNITS` name.

    Parameters
    ----------
    attrs
        A dataset's or array's ``attrs``; a missing ``space_unit`` means pixels.

    Returns
    -------
    str
        ``"px"`` for pixels, else the declared unit in lower case (``"cm"``).

    Examples
    --------
    >>> space_unit_of({"space_unit": "pixels"})
    'px'
    """
    unit = str(attrs.get("space_unit", "pixels") or "pixels").strip().lower()
    return "px" if unit in ("pixels", "pixel", "px") else unit
