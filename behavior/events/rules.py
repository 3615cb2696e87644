"""The rule language: per-frame conditions over named quantities with units.

A rule compares quantities of one animal (``speed``, ``rotation_speed`` ...) or
of an ordered pair (``closest_distance``, ``gaze_offset`` ...; see
:data:`QUANTITIES`) with thresholds that carry units, and combines comparisons
with ``and``, ``or`` and ``not``. Rules are built in Python from the variables
:data:`q` (``(q.speed > 15 * cm / s) & (q.closest_distance < 5 * cm)``) or read
from text by :func:`parse_rule` (a tokenizer and a recursive-descent parser: no
``eval``). :func:`rule_mask` evaluates a rule on a pose dataset, converting the
thresholds to the dataset's units (pixels only through a calibration, frames
only through the frame rate), and :func:`detect` turns the mask into a bout
table (:func:`behavior.bouts.bouts`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from behavior.bouts import bouts
from behavior.dataset import fps_of, require_dims
from behavior.errors import PoseDataError
from behavior.units import UNITS, Quantity, UnitError, parse_unit, positive_number, quantity

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_DEPTH",
    "QUANTITIES",
    "QuantityInfo",
    "Rule",
    "RuleError",
    "Var",
    "detect",
    "parse_rule",
    "q",
    "quantity_values",
    "rule_mask",
    "var",
    "zones_by_name",
]


class RuleError(PoseDataError):
    """A rule that cannot be read or evaluated: bad syntax, unknown name or unit."""


@dataclass(frozen=True)
class QuantityInfo:
    """What one rule quantity is: its ``kind`` (``"individual"``: dims ``(time,
    individual)``; ``"pair"``: ``(time, individual, other)``) and a description."""

    kind: str  # "individual" or "pair"
    description: str


_SOCIAL = {
    "centroid_distance": "distance between the centroids of the two bodies",
    "closest_distance": "smallest distance between a body keypoint of each animal",
    "nose_to_nose": "distance between the two noses",
    "nose_to_body": "distance from my nose to the nearest body keypoint of the other",
    "nose_to_tail_base": "distance from my nose to the other's tail base",
    "relative_angle": "angle between the two body axes, 0-180 deg",
    "gaze_offset": "angle between my head direction and the other's nearest body point",
    "approach_speed": "rate at which the centroid distance shrinks (positive: closing)",
    "following": "1 where my nose follows the other's recent tail-base path",
}

QUANTITIES: dict[str, QuantityInfo] = {
    "speed": QuantityInfo(
        "individual",
        "speed of the body centroid (body keypoints tracked in the frames before and after)",
    ),
    "max_keypoint_speed": QuantityInfo("individual", "speed of the fastest keypoint"),
    "nose_speed": QuantityInfo("individual", "speed of the nose"),
    "angular_speed": QuantityInfo(
        "individual", "absolute turning rate of the body axis (tail base -> neck/nose)"
    ),
    "head_angular_speed": QuantityInfo(
        "individual", "absolute turning rate of the head (ears' midpoint or neck -> nose)"
    ),
    "rotation_speed": QuantityInfo(
        "individual",
        "absolute rate of the least-squares rotation of all keypoints (tail included)",
    ),
    "other_speed": QuantityInfo("pair", "speed of the other's body centroid"),
    "in_zone": QuantityInfo(
        "individual",
        "1 where the body centre is inside any zone given with zones=...; in_<name> "
        "for the zone of that name",
    ),
    **{name: QuantityInfo("pair", text) for name, text in _SOCIAL.items()},
}
"""The quantities rules can name: per individual ``(time, individual)`` or per
ordered pair ``(time, individual, other)`` (from :func:`behavior.social.relations`)."""


def _unknown_quantity(name: str) -> RuleError:
    return RuleError(
        f"rule: unknown quantity {name!r}; known quantities: {', '.join(QUANTITIES)} "
        "(and in_<zone name> for the zones given with zones=...)"
    )


def _is_zone_name(name: str) -> bool:
    """``in_<zone>``: occupancy of one named zone (checked against the zones later)."""
    return name.startswith("in_") and len(name) > 3 and name not in QUANTITIES


def _kind(name: str) -> str:
    """``"individual"`` or ``"pair"``: the dims a quantity has."""
    return "individual" if _is_zone_name(name) else QUANTITIES[name].kind


class Rule:
    """A boolean rule over named quantities; combine with ``&``, ``|`` and ``~``.

    Build rules by comparing variables (:data:`q`) with quantities
    (``q.speed > 15 * cm / s``) or by parsing text (:func:`parse_rule`). A
    comparison with missing data (NaN) is *unknown*; ``&``, ``|`` and ``~``
    follow three-valued (Kleene) logic, and an unknown frame is finally False.
    """

    def __and__(self, other: Rule) -> Rule:
        return _Logic("and", self, _as_rule(other))

    def __or__(self, other: Rule) -> Rule:
        return _Logic("or", self, _as_rule(other))

    def __invert__(self) -> Rule:
        return _Not(self)

    def names(self) -> set[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def evaluate(self, ctx: _Context) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __bool__(self) -> bool:
        raise RuleError(
            "rule: a rule has no truth value; combine rules with &, | and ~ (not 'and', "
            "'or', 'not'), and write chained comparisons as two rules"
        )


def _as_rule(obj: Any) -> Rule:
    if isinstance(obj, Rule):
        return obj
    if isinstance(obj, Var):
        return _Truth(obj)
    raise RuleError(f"rule: expected a rule, found {type(obj).__name__} {obj!r}")


class Var:
    """A named quantity in a rule (see :data:`QUANTITIES`); compare it to build a rule.

    Examples
    --------
    >>> from behavior.units import cm, s
    >>> print((q.speed > 15 * cm / s) & (q.closest_distance < 5 * cm))
    (speed > 15 cm/s) and (closest_distance < 5 cm)
    """

    __array_ufunc__ = None

    def __init__(self, name: str) -> None:
        if name not in QUANTITIES and not _is_zone_name(name):
            raise _unknown_quantity(name)
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def _cmp(self, op: str, other: Any) -> _Compare:
        if isinstance(other, Var):
            return _Compare(self, op, other)
        if isinstance(other, str):
            other = quantity(other, name=self.name)
        if isinstance(other, int | float) and not isinstance(other, bool):
            other = Quantity(float(other))
        if not isinstance(other, Quantity):
            raise RuleError(
                f"rule: cannot compare {self.name} with {type(other).__name__} {other!r}"
            )
        return _Compare(self, op, other)

    def __lt__(self, other: Any) -> _Compare:
        return self._cmp("<", other)

    def __le__(self, other: Any) -> _Compare:
        return self._cmp("<=", other)

    def __gt__(self, other: Any) -> _Compare:
        return self._cmp(">", other)

    def __ge__(self, other: Any) -> _Compare:
        return self._cmp(">=", other)

    def __eq__(self, other: Any) -> _Compare:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: Any) -> _Compare:  # type: ignore[override]
        return self._cmp("!=", other)

    __hash__ = None  # type: ignore[assignment]


class _Vars:
    """Namespace of rule variables: ``q.speed``, ``q.closest_distance`` ..."""

    def __getattr__(self, name: str) -> Var:
        if name.startswith("__"):
            raise AttributeError(name)
        return Var(name)

    def __dir__(self) -> list[str]:
        return list(QUANTITIES)


q = _Vars()
"""Rule variables by attribute: ``q.speed > 15 * cm / s`` (see :data:`QUANTITIES`)."""


def var(name: str) -> Var:
    """The rule variable of a quantity name (see :data:`QUANTITIES`).

    Parameters
    ----------
    name
        A quantity name such as ``"speed"`` or ``"closest_distance"``; checked
        when the rule is evaluated.

    Returns
    -------
    Var
        A variable to compare with quantities (``var("speed") > 15 * cm / s``).

    Examples
    --------
    >>> var("speed").name
    'speed'
    """
    return Var(name)


_OPS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


class _Compare(Rule):
    def __init__(self, left: Var, op: str, right: Var | Quantity) -> None:
        self.left, self.op, self.right = left, op, right

    def names(self) -> set[str]:
        out = {self.left.name}
        if isinstance(self.right, Var):
            out.add(self.right.name)
        return out

    def evaluate(self, ctx: _Context) -> np.ndarray:
        values, unit = ctx.values(self.left.name)
        if isinstance(self.right, Var):
            other, other_unit = ctx.values(self.right.name)
            factor = ctx.convert(parse_unit(other_unit), unit, f"{self.right.name}")
            threshold: Any = other * factor
        else:
            threshold = ctx.convert(self.right, unit, self.left.name)
        with np.errstate(invalid="ignore"):
            out = _OPS[self.op](values, threshold).astype(np.float64)
        out[np.isnan(values) | np.isnan(threshold)] = np.nan
        return out

    def __str__(self) -> str:
        return f"{self.left} {self.op} {self.right!r}"


class _Truth(Rule):
    def __init__(self, v: Var) -> None:
        self.var = v

    def names(self) -> set[str]:
        return {self.var.name}

    def evaluate(self, ctx: _Context) -> np.ndarray:
        values, _ = ctx.values(self.var.name)
        out = (values != 0).astype(np.float64)
        out[np.isnan(values)] = np.nan
        return out

    def __str__(self) -> str:
        return self.var.name


MAX_DEPTH = 100
"""The deepest nesting of parentheses and ``not`` a rule may have (flat chains of
``and`` / ``or`` are not nested and have no limit)."""


def _depth(rule: Rule) -> int:
    return getattr(rule, "depth", 1)


def _check_depth(depth: int) -> int:
    if depth > MAX_DEPTH:
        raise RuleError(
            f"rule: nested {depth} levels deep (parentheses and 'not'); expected at most "
            f"{MAX_DEPTH}. Write long conditions as flat chains (a and b and c ...)"
        )
    return depth


class _Logic(Rule):
    """``op`` (``"and"`` / ``"or"``) over a flat list of parts, left to right.

    ``a & b & c`` is one node with three parts, not a chain of nested pairs, so
    that rules of hundreds of clauses build, print and evaluate without recursion
    in the number of clauses.
    """

    def __init__(self, op: str, a: Rule, b: Rule) -> None:
        self.op = op
        self.parts: list[Rule] = []
        for part in (a, b):
            if isinstance(part, _Logic) and part.op == op:
                self.parts.extend(part.parts)
            else:
                self.parts.append(part)
        self.depth = _check_depth(1 + max(_depth(p) for p in self.parts))

    def names(self) -> set[str]:
        out: set[str] = set()
        for part in self.parts:
            out |= part.names()
        return out

    def evaluate(self, ctx: _Context) -> np.ndarray:
        # Kleene logic, folded over the parts: "and" is 0 where any part is 0,
        # else unknown where any part is unknown, else 1 ("or" the mirror image).
        decisive = 0.0 if self.op == "and" else 1.0
        decided = unknown = None
        for part in self.parts:
            values = ctx.broadcast(part.evaluate(ctx))
            hit, nan = values == decisive, np.isnan(values)
            decided = hit if decided is None else decided | hit
            unknown = nan if unknown is None else unknown | nan
        return np.where(decided, decisive, np.where(unknown, np.nan, 1.0 - decisive))

    def __str__(self) -> str:
        text = str(self.parts[0])
        for part in self.parts[1:]:
            text = f"({text}) {self.op} ({part})"
        return text


class _Not(Rule):
    def __init__(self, a: Rule) -> None:
        self.a = a
        self.depth = _check_depth(1 + _depth(a))

    def names(self) -> set[str]:
        return self.a.names()

    def evaluate(self, ctx: _Context) -> np.ndarray:
        return 1.0 - self.a.evaluate(ctx)

    def __str__(self) -> str:
        return f"not ({self.a})"


# ---- the text parser: tokenizer and recursive descent, no eval ------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|\*\*|[<>()/*^&|~%\-]|°))"
)
_KEYWORDS = {"and", "or", "not", "between"}
_CMP = {"<", "<=", ">", ">=", "==", "!="}


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            bad = text[pos:].lstrip()
            where = len(text) - len(bad)
            raise RuleError(
                f"rule: cannot read {text!r} at position {where} ({bad[:12]!r}); a rule uses "
                "quantity names, numbers with units, comparisons (< <= > >= == !=), "
                "and/or/not and parentheses"
            )
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.level = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, expected: str) -> RuleError:
        kind, value, pos = self.peek()
        found = "the end" if kind == "end" else repr(value)
        return RuleError(
            f"rule: expected {expected} at position {pos} of {self.text!r}, found {found}"
        )

    def is_word(self, *words: str) -> bool:
        kind, value, _ = self.peek()
        return kind == "name" and value.lower() in words

    def parse(self) -> Rule:
        rule = self.parse_or()
        if self.peek()[0] != "end":
            raise self.error("'and', 'or' or the end of the rule")
        return rule

    def parse_or(self) -> Rule:
        rule = self.parse_and()
        while self.is_word("or") or self.peek()[1] == "|":
            self.take()
            rule = _Logic("or", rule, self.parse_and())
        return rule

    def parse_and(self) -> Rule:
        rule = self.parse_not()
        while self.is_word("and") or self.peek()[1] == "&":
            self.take()
            rule = _Logic("and", rule, self.parse_not())
        return rule

    def nest(self) -> None:
        """One level deeper (a parenthesis or a ``not``): bounded by :data:`MAX_DEPTH`."""
        self.level += 1
        if self.level > MAX_DEPTH:
            _, _, pos = self.peek()
            raise RuleError(
                f"rule: parentheses and 'not' nested more than {MAX_DEPTH} levels deep at "
                f"position {pos} of {self.text[:60]!r}...; write long conditions as flat "
                "chains (a and b and c ...)"
            )

    def parse_not(self) -> Rule:
        if self.is_word("not") or self.peek()[1] == "~":
            self.take()
            self.nest()
            rule = _Not(self.parse_not())
            self.level -= 1
            return rule
        return self.parse_primary()

    def parse_primary(self) -> Rule:
        if self.peek()[1] == "(":
            self.take()
            self.nest()
            rule = self.parse_or()
            if self.peek()[1] != ")":
                raise self.error("')'")
            self.take()
            self.level -= 1
            return rule
        return self.parse_comparison()

    def parse_operand(self) -> Var | Quantity:
        kind, value, _ = self.peek()
        if kind == "name" and value.lower() not in _KEYWORDS:
            self.take()
            return Var(value)
        sign = 1.0
        if value == "-":
            self.take()
            sign = -1.0
            kind, value, _ = self.peek()
        if kind != "num":
            raise self.error("a quantity name or a number")
        self.take()
        return sign * float(value) * self.parse_unit()

    def parse_unit(self) -> Quantity:
        out = Quantity(1.0)
        if not self.unit_ahead():
            return out
        out = self.unit_power()
        while self.peek()[1] in ("/", "*"):
            op = self.take()[1]
            if not self.unit_ahead():
                raise self.error(f"a unit after {op!r}")
            factor = self.unit_power()
            out = out / factor if op == "/" else out * factor
        return out

    def unit_ahead(self) -> bool:
        kind, value, _ = self.peek()
        if kind == "op":
            return value in ("%", "°")
        return kind == "name" and value.lower() not in _KEYWORDS

    def unit_power(self) -> Quantity:
        kind, value, _ = self.take()
        name = "deg" if value == "°" else value
        if name not in UNITS:
            raise RuleError(
                f"rule: unknown unit {value!r} in {self.text!r}; known units: "
                f"{', '.join(sorted(UNITS, key=str.lower))}"
            )
        unit = UNITS[name]
        if self.peek()[1] in ("^", "**"):
            self.take()
            sign = 1
            if self.peek()[1] == "-":
                self.take()
                sign = -1
            kind, number, _ = self.peek()
            if kind != "num" or not number.isdigit():
                raise self.error("a whole power")
            self.take()
            unit = unit ** (sign * int(number))
        return unit

    def parse_comparison(self) -> Rule:
        left = self.parse_operand()
        if self.is_word("between"):
            self.take()
            low = self.parse_operand()
            if not self.is_word("and"):
                raise self.error("'and' in 'between ... and ...'")
            self.take()
            high = self.parse_operand()
            if not isinstance(left, Var):
                raise RuleError(f"rule: 'between' needs a quantity name before it in {self.text!r}")
            return _Logic("and", _compare(left, ">=", low), _compare(left, "<=", high))
        if self.peek()[1] not in _CMP:
            if isinstance(left, Var):
                return _Truth(left)
            raise self.error("a comparison (<, <=, >, >=, ==, !=)")
        rule: Rule | None = None
        while self.peek()[1] in _CMP:
            op = self.take()[1]
            right = self.parse_operand()
            part = _compare(left, op, right)
            rule = part if rule is None else _Logic("and", rule, part)
            left = right
        assert rule is not None
        return rule


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _compare(left: Var | Quantity, op: str, right: Var | Quantity) -> _Compare:
    if isinstance(left, Var):
        return left._cmp(op, right)
    if isinstance(right, Var):
        return right._cmp(_FLIP[op], left)
    raise RuleError(f"rule: a comparison needs a quantity name, found {left!r} {op} {right!r}")


def parse_rule(text: str) -> Rule:
    """Read a rule from text, with a small safe parser (no ``eval``).

    Grammar: ``or`` binds looser than ``and``, which binds looser than ``not``;
    parentheses group. A comparison is ``quantity OP value`` (``OP`` one of
    ``< <= > >= == !=``), ``value OP quantity``, a chain ``5 cm < closest_distance
    < 20 cm``, or ``closest_distance between 5 cm and 20 cm``; a value is a number
    with a unit (``15 cm/s``, ``30 deg``, ``0.5 s``, ``2 cm s^-1`` is not allowed:
    write ``cm/s``) or another quantity. A quantity alone (``following``) holds
    where it is non-zero. ``&``, ``|`` and ``~`` are accepted for and, or, not.

    Parameters
    ----------
    text
        The rule.

    Returns
    -------
    Rule

    Raises
    ------
    RuleError
        For a character or token out of place (with its position), an unknown
        quantity or unit (listing the known ones).

    Examples
    --------
    >>> print(parse_rule("speed > 15 cm/s and closest_distance < 5 cm or not following"))
    ((speed > 15 cm/s) and (closest_distance < 5 cm)) or (not (following))
    """
    if isinstance(text, Rule):
        return text
    if not isinstance(text, str):
        raise RuleError(f"rule: expected text or a Rule, found {type(text).__name__}")
    return _Parser(text).parse()


# ---- evaluation on a dataset -----------------------------------------------------------


class _Context:
    """Lazily computed quantities of one dataset, as numpy arrays with their units."""

    def __init__(
        self,
        ds: xr.Dataset,
        *,
        px_per_cm: float | None,
        keypoints: Any,
        smoothing: Any,
        follow_window: Any,
        follow_tolerance: Any,
        pairwise: bool,
        max_gap: Any = None,
        zones: Any = None,
    ) -> None:
        from behavior import kinematics  # noqa: F401 - imported for its side effects below

        if not isinstance(ds, xr.Dataset) or "position" not in ds:
            raise PoseDataError(
                f"ds: expected a pose dataset with a 'position' variable, found {type(ds).__name__}"
            )
        require_dims(ds.position, "time", "space", "keypoint", "individual", name="position")
        positive_number(px_per_cm, "px_per_cm", "a calibration in pixels per cm")
        self.fps = fps_of(ds.position.assign_attrs(ds.attrs))
        if not _off(max_gap):
            from behavior.filtering import interpolate_gaps

            position = interpolate_gaps(ds.position.assign_attrs(ds.attrs), max_gap)
            ds = ds.assign(position=position.assign_attrs(ds.position.attrs))
        if not _off(smoothing):
            from behavior.filtering import median_filter

            position = median_filter(ds.position.assign_attrs(ds.attrs), smoothing)
            ds = ds.assign(position=position)
        self.ds = ds
        unit = str(ds.attrs.get("space_unit", "pixels") or "pixels")
        self.space_unit = "px" if unit.lower() in ("pixels", "pixel", "px") else unit
        if px_per_cm is None and self.space_unit == "px":
            px_per_cm = ds.attrs.get("px_per_cm")
        self.px_per_cm = None if px_per_cm is None else float(px_per_cm)
        self.keypoints = keypoints
        self.follow_window = follow_window
        self.follow_tolerance = follow_tolerance
        self.pairwise = pairwise
        self.zones = zones_by_name(zones)
        self.time_unit = "frame" if ds.attrs.get("time_unit") == "frames" else "s"
        self._cache: dict[str, tuple[np.ndarray, str]] = {}

    def roles(self):
        from behavior.social import keypoint_roles

        if "roles" not in self._cache:
            self._cache["roles"] = (keypoint_roles(self.ds, self.keypoints), "")  # type: ignore
        return self._cache["roles"][0]

    def _individual(self, name: str) -> tuple[np.ndarray, str]:
        from behavior import kinematics

        position = self.ds.position.assign_attrs(self.ds.attrs)
        speed_unit = f"{self.space_unit}/{self.time_unit}"
        if name == "speed":
            body = list(self.roles().body)
            speed = kinematics.rigid_motion(position.sel(keypoint=body))[0]
            return speed.transpose("time", "individual").values, speed_unit
        if name == "rotation_speed":
            turning = kinematics.rigid_motion(position)[1].transpose("time", "individual")
            return np.degrees(np.abs(turning.values)), f"deg/{self.time_unit}"
        if name == "max_keypoint_speed":
            sp = kinematics.speed(position).transpose("time", "individual", "keypoint").values
            with np.errstate(invalid="ignore"):
                allnan = np.isnan(sp).all(axis=2)
                out = np.where(allnan, np.nan, np.nanmax(np.where(np.isnan(sp), -np.inf, sp), 2))
            return out, speed_unit
        if name == "nose_speed":
            nose = self.roles().require("nose", "nose_speed")
            out = kinematics.speed(position.sel(keypoint=nose))
            return out.transpose("time", "individual").values, speed_unit
        if name in ("angular_speed", "head_angular_speed"):
            if name == "angular_speed":
                tail, front = self.roles().body_axis
                heading = kinematics.body_heading(position, tail, front)
            else:
                origin, nose = self.roles().head
                base = list(origin) if isinstance(origin, tuple) else [origin]
                d = position.sel(keypoint=nose) - position.sel(keypoint=base).mean("keypoint")
                heading = np.arctan2(d.sel(space="y"), d.sel(space="x")).rename("heading")
            w = kinematics.angular_velocity(heading)
            return np.degrees(np.abs(w.transpose("time", "individual").values)), (
                f"deg/{self.time_unit}"
            )
        raise _unknown_quantity(name)  # pragma: no cover - QUANTITIES lists them all

    def _zone_occupancy(self, name: str) -> np.ndarray:
        from behavior import roi

        if not self.zones:
            raise RuleError(
                f"rule: {name} needs zones; give zones=... (a behavior.roi zone, a list "
                "or a {name: zone} dict)"
            )
        if name == "in_zone":
            chosen = list(self.zones.items())
        elif name[3:] in self.zones:
            chosen = [(name[3:], self.zones[name[3:]])]
        else:
            raise RuleError(
                f"rule: unknown zone in {name!r}; the zones given are "
                f"{', '.join('in_' + str(k) for k in self.zones)} (or in_zone for any)"
            )
        data = self.ds
        if self.px_per_cm is not None and "px_per_cm" not in data.attrs:
            data = data.assign_attrs(px_per_cm=self.px_per_cm)
        roles = self.roles()
        keypoint = roles.body_center if roles.body_center is not None else list(roles.body)
        out = None
        for _, zone in chosen:
            z = zone.in_units_of(data)
            inside = roi.in_zone(data, z, keypoint=keypoint).transpose("time", "individual")
            values = np.asarray(inside.values, dtype=np.float64)
            out = values if out is None else np.fmax(out, values)
        return out

    def values(self, name: str) -> tuple[np.ndarray, str]:
        if name in self._cache:
            return self._cache[name]
        info = QUANTITIES.get(name)
        if name == "in_zone" or _is_zone_name(name):
            self._cache[name] = (self._zone_occupancy(name), "1")
            return self._cache[name]
        if info is None:
            raise _unknown_quantity(name)
        if name == "other_speed":
            speed, unit = self.values("speed")
            out = (np.broadcast_to(speed[:, None, :], (*speed.shape, speed.shape[1])).copy(), unit)
            _nan_diag(out[0])
        elif info.kind == "individual":
            out = self._individual(name)
        else:
            from behavior import social

            rel = social.relations(
                self.ds,
                keypoints=self.keypoints,
                follow_window=self.follow_window,
                follow_tolerance=self.follow_tolerance,
                variables=[name],
            )[name]
            values = np.asarray(rel.transpose("time", "individual", "other").values, float)
            unit = str(rel.attrs.get("units", "1"))
            out = (values, unit)
        self._cache[name] = out
        return out

    def convert(self, value: Quantity, unit: str, name: str) -> float:
        try:
            target = parse_unit(unit, name=name)
        except UnitError:
            raise RuleError(f"{name}: the data are in {unit!r}, a unit rules do not know") from None
        if value.dims == (0, 0, 0, 0, 0) and target.dims != value.dims and value.value != 0:
            raise RuleError(
                f"rule: {name} is in {unit}; give the threshold {value.value:g} a unit "
                f"(e.g. '{value.value:g} {unit}')"
            )
        try:
            return value.to(target, px_per_cm=self.px_per_cm, fps=self.fps, name=name)
        except UnitError as err:
            raise RuleError(
                f"{err} (the dataset's space_unit is {self.ds.attrs.get('space_unit')!r})"
            ) from None

    def broadcast(self, values: np.ndarray) -> np.ndarray:
        if self.pairwise and values.ndim == 2:
            return np.broadcast_to(values[:, :, None], (*values.shape, values.shape[1]))
        return values


def _off(value: Any) -> bool:
    """A step switched off: None or the number 0 (never compared as an array)."""
    if value is None:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def zones_by_name(zones: Any) -> dict[str, Any]:
    """The ``zones=`` argument of rules as ``{name: zone}``.

    Unlike :func:`behavior.roi.as_zone_dict`, the keys of a dict are kept as the
    names rules use (``in_<key>``), whatever the zones' own names.

    Parameters
    ----------
    zones
        A :class:`behavior.roi.Zone`, a list or tuple of zones (named by their
        ``name``), a ``{name: zone}`` dict, or None.

    Returns
    -------
    dict
        ``{name: zone}``; empty for None.

    Raises
    ------
    RuleError
        For anything else, or an entry that is not a zone.

    Examples
    --------
    >>> from behavior import roi
    >>> list(zones_by_name({"home": roi.Circle((0, 0), 1, name="c")}))
    ['home']
    """
    from behavior import roi

    if zones is None:
        return {}
    if isinstance(zones, roi.Zone):
        out = {str(zones.name): zones}
    elif isinstance(zones, dict):
        out = {str(k): z for k, z in zones.items()}
    elif isinstance(zones, list | tuple):
        out = {str(getattr(z, "name", k)): z for k, z in enumerate(zones)}
    else:
        raise RuleError(
            f"zones: expected a behavior.roi zone, a list of zones or a {{name: zone}} dict, "
            f"found {type(zones).__name__}"
        )
    for name, zone in out.items():
        if not isinstance(zone, roi.Zone):
            raise RuleError(
                f"zones[{name!r}]: expected a behavior.roi zone, found {type(zone).__name__}"
            )
    return out


def _nan_diag(values: np.ndarray) -> None:
    idx = np.arange(values.shape[-1])
    values[..., idx, idx] = np.nan


def quantity_values(
    ds: xr.Dataset,
    name: str,
    *,
    px_per_cm: float | None = None,
    keypoints: Any = None,
    smoothing: int | float | str | None = None,
    follow_window: int | float | str = "1 s",
    follow_tolerance: float | None = None,
    max_gap: int | float | str | None = None,
    zones: Any = None,
) -> xr.DataArray:
    """The values of one rule quantity on a dataset, as a rule sees them.

    Gap filling and smoothing are applied first, as in :func:`rule_mask`, so
    these are the numbers a rule's thresholds are compared with.

    Parameters
    ----------
    ds
        Pose dataset.
    name
        A quantity of :data:`QUANTITIES` (or ``in_<zone name>``).
    px_per_cm, keypoints, smoothing, follow_window, follow_tolerance, max_gap, zones
        As in :func:`rule_mask`.

    Returns
    -------
    xr.DataArray
        Floats over ``(time, individual)`` or, for a pair quantity, ``(time,
        individual, other)`` (NaN where individual == other or data are
        missing), in the unit of ``attrs["units"]`` (the dataset's units).

    Raises
    ------
    RuleError
        For an unknown quantity.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="5 s", seed=0)
    >>> quantity_values(ds, "closest_distance").dims
    ('time', 'individual', 'other')
    """
    if name not in QUANTITIES and not _is_zone_name(name):
        raise _unknown_quantity(name)
    ctx = _Context(
        ds,
        px_per_cm=px_per_cm,
        keypoints=keypoints,
        smoothing=smoothing,
        follow_window=follow_window,
        follow_tolerance=follow_tolerance,
        pairwise=_kind(name) == "pair",
        max_gap=max_gap,
        zones=zones,
    )
    values, unit = ctx.values(name)
    individuals = ds["individual"].values
    coords: dict[str, Any] = {"time": ds["time"].values, "individual": individuals}
    dims: tuple[str, ...] = ("time", "individual")
    if values.ndim == 3:
        coords["other"] = individuals
        dims = (*dims, "other")
    return xr.DataArray(values, dims=dims, coords=coords, name=name, attrs={"units": unit})


def rule_mask(
    ds: xr.Dataset,
    rule: Rule | str,
    *,
    px_per_cm: float | None = None,
    keypoints: Any = None,
    smoothing: int | float | str | None = None,
    follow_window: int | float | str = "1 s",
    follow_tolerance: float | None = None,
    max_gap: int | float | str | None = None,
    zones: Any = None,
) -> xr.DataArray:
    """Per-frame truth of a rule on a pose dataset.

    Parameters
    ----------
    ds
        Pose dataset. Thresholds convert to its units: lengths through
        ``space_unit`` (pixels need ``px_per_cm``, given here or recorded in
        ``ds.attrs["px_per_cm"]``), times through ``fps``.
    rule
        A :class:`Rule` or text (:func:`parse_rule`).
    px_per_cm
        Calibration for pixel data.
    keypoints
        Keypoint roles (see :func:`behavior.social.keypoint_roles`).
    smoothing
        Rolling-median window applied to the positions first (frames or
        duration), or None.
    follow_window, follow_tolerance
        Passed to :func:`behavior.social.relations` for ``following``.
    max_gap
        Gaps of up to this many missing frames (or this duration) in a
        keypoint's track are filled linearly before smoothing, so that a
        keypoint lost for a moment does not break a rule; None: no filling.
    zones
        Zones for the ``in_zone`` quantity (any zone) and ``in_<name>`` (the zone
        of that name): a :class:`behavior.roi.Zone`, a list of zones or a
        ``{name: zone}`` dict, in the data's unit or in pixels. Occupancy is
        that of the body-centre keypoint (else the centroid of the body).

    Returns
    -------
    xr.DataArray
        bool over ``(time, individual, other)`` when the rule names a pairwise
        quantity (False where individual == other), else ``(time, individual)``.
        Frames where the rule is unknown (missing data) are False.

    Raises
    ------
    RuleError
        For an unknown quantity or unit, a threshold without the unit its
        quantity needs, or a length in cm on pixel data without calibration.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="5 s", seed=0)
    >>> rule_mask(ds, "speed > 15 cm/s and closest_distance < 5 cm").dims
    ('time', 'individual', 'other')
    """
    rule = parse_rule(rule)
    names = rule.names()
    pairwise = any(_kind(n) == "pair" for n in names)
    ctx = _Context(
        ds,
        px_per_cm=px_per_cm,
        keypoints=keypoints,
        smoothing=smoothing,
        follow_window=follow_window,
        follow_tolerance=follow_tolerance,
        pairwise=pairwise,
        max_gap=max_gap,
        zones=zones,
    )
    values = ctx.broadcast(rule.evaluate(ctx))
    result = np.nan_to_num(values, nan=0.0) == 1.0
    individuals = ds["individual"].values
    coords: dict[str, Any] = {"time": ds["time"].values, "individual": individuals}
    dims: tuple[str, ...] = ("time", "individual")
    if pairwise:
        result = result.copy()
        idx = np.arange(result.shape[-1])
        result[:, idx, idx] = False
        coords["other"] = individuals
        dims = ("time", "individual", "other")
    attrs = {k: ds.attrs[k] for k in ("fps", "time_unit") if k in ds.attrs}
    if "fps" not in attrs and ctx.fps is not None:
        attrs["fps"] = ctx.fps
    attrs["rule"] = str(rule)
    return xr.DataArray(result, dims=dims, coords=coords, name="rule", attrs=attrs)


def detect(
    ds: xr.Dataset,
    rule: Rule | str,
    min_duration: int | float | str | None = "1 s",
    merge_gap: int | float | str | None = "0.5 s",
    min_fraction: float | None = None,
    window: int | float | str | None = None,
    behavior: str | None = None,
    *,
    px_per_cm: float | None = None,
    keypoints: Any = None,
    smoothing: int | float | str | None = None,
    follow_window: int | float | str = "1 s",
    follow_tolerance: float | None = None,
    max_gap: int | float | str | None = None,
    zones: Any = None,
) -> pd.DataFrame:
    """Bouts where a rule holds: :func:`rule_mask` then :func:`behavior.bouts.bouts`.

    Parameters
    ----------
    ds
        Pose dataset (see :func:`rule_mask` for units and calibration).
    rule
        A :class:`Rule` (``(q.speed > 15 * cm / s) & (q.closest_distance < 5 * cm)``)
        or text (``"speed > 15 cm/s and closest_distance < 5 cm"``).
    min_duration, merge_gap, min_fraction, window
        As in :func:`behavior.bouts.bouts`.
    behavior
        Name of the behavior column (default ``"event"``).
    px_per_cm, keypoints, smoothing, follow_window, follow_tolerance, max_gap, zones
        As in :func:`rule_mask`.

    Returns
    -------
    pandas.DataFrame
        Bouts (:data:`behavior.bouts.BOUT_COLUMNS`); ``other`` names the partner
        for pairwise rules and is ``""`` otherwise. For an ethogram:
        ``Ethogram.from_bouts(table, ds, behaviors=[behavior])``.

    Raises
    ------
    RuleError
        See :func:`rule_mask`.

    Examples
    --------
    >>> import behavior as bh
    >>> ds, _ = bh.simulate.session(duration="30 s", seed=0)
    >>> b = detect(ds, "speed < 1 cm/s", min_duration="1 s", behavior="still")
    >>> list(b.columns) == bh.bouts.BOUT_COLUMNS
    True
    """
    mask = rule_mask(
        ds,
        rule,
        px_per_cm=px_per_cm,
        keypoints=keypoints,
        smoothing=smoothing,
        follow_window=follow_window,
        follow_tolerance=follow_tolerance,
        max_gap=max_gap,
        zones=zones,
    )
    name = "event" if behavior is None else str(behavior)
    table = bouts(
        mask,
        min_duration=min_duration,
        merge_gap=merge_gap,
        min_fraction=min_fraction,
        window=window,
        behavior=name,
    )
    logger.debug("detect %s: %d bouts of %s", name, len(table), mask.attrs["rule"])
    return table
