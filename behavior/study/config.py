"""The analysis configuration of ``behavior analyze``: one TOML file, validated up front.

An :class:`AnalysisConfig` has one section per stage of a session's analysis
(``input``, ``clean``, ``calibration``, ``kinematics``, ``rules``, ``zones``,
``classifier``, ``syllables``, ``features``, ``report``, ``video``).
:func:`load_config` reads TOML text, a file or a mapping, fills in the defaults and
checks every value before any session runs: an error (:class:`ConfigError`) names
the key by its dotted path, what is allowed, what was found and, for TOML, the
line. Unknown keys are errors with a "did you mean" suggestion.
:func:`example_config` is the commented template (``behavior analyze
--example-config``); it loads to the defaults.

TOML has no null: an empty string ``""`` or ``0`` switches an optional step off
(each key's comment in the template says which).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from behavior.errors import PoseDataError

__all__ = [
    "AnalysisConfig",
    "CalibrationConfig",
    "CleanConfig",
    "ConfigError",
    "FeaturesConfig",
    "InputConfig",
    "KinematicsConfig",
    "ModelConfig",
    "ReportConfig",
    "RulesConfig",
    "VideoConfig",
    "example_config",
    "load_config",
]


class ConfigError(PoseDataError):
    """An analysis configuration has a bad or unknown key.

    Attributes
    ----------
    key
        The dotted path of the key (``"clean.smooth"``), or ``""`` for the whole file.
    line
        Its line in the TOML text (1-based), or None when not known (a mapping).
    source
        The file name or ``"<config>"``.
    """

    def __init__(self, message: str, *, key: str = "", line: int | None = None, source: str = ""):
        where = source or "<config>"
        if line is not None:
            where += f" line {line}"
        prefix = f"{where}: {key}: " if key else f"{where}: "
        super().__init__(prefix + message)
        self.message = message
        self.key = key
        self.line = line
        self.source = source

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (dask workers) without a second prefix
        return (_config_error, (self.message, self.key, self.line, self.source))


def _config_error(message: str, key: str, line: int | None, source: str) -> ConfigError:
    return ConfigError(message, key=key, line=line, source=source)


class _Invalid(Exception):
    """A value check failed (message: what was expected and found); the key is added later."""


# --------------------------------------------------------------------------- value checks


def _found(value: Any) -> str:
    return f"found {type(value).__name__} {value!r}"


def _as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, {_found(value)}")
    return value


def _number(minimum: float = -math.inf, maximum: float = math.inf, *, integer: bool = False):
    def check(value: Any) -> float | int:
        kind = "an integer" if integer else "a number"
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            raise _Invalid(f"expected {kind} from {minimum:g} to {maximum:g}, {_found(value)}")
        if not math.isfinite(value) or not minimum <= value <= maximum:
            raise _Invalid(f"expected {kind} from {minimum:g} to {maximum:g}, found {value!r}")
        return int(value) if integer else float(value)

    return check


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            hint = _did_you_mean(value, allowed) if isinstance(value, str) else ""
            raise _Invalid(
                f"expected one of {', '.join(repr(a) for a in allowed)}, {_found(value)}{hint}"
            )
        return value

    check.allowed = allowed  # type: ignore[attr-defined]  (listed in the template)
    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a string, {_found(value)}")
    return value


def _duration(optional: bool, *, positive: bool = False) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        from behavior.units import to_seconds

        off = ' or "" (off)' if optional else ""
        kind = "positive" if positive else "non-negative"
        expected = f"expected a {kind} duration such as '0.5 s' or '200 ms'{off}"
        if optional and value == "":
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Invalid(f"{expected}, {_found(value)}")
        try:
            seconds = to_seconds(value)
        except PoseDataError:
            raise _Invalid(f"{expected}, found {value!r}") from None
        if positive and not seconds > 0:
            raise _Invalid(f"{expected}, found {value!r}")
        return value if isinstance(value, str) else f"{float(value):g} s"

    return check


def _quantity(unit: str, hint: str, optional: bool) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        from behavior.units import quantity

        off = ' or "" (off)' if optional else ""
        if optional and value == "":
            return ""
        expected = f"expected a positive quantity in {unit} or a like unit, such as {hint!r}{off}"
        if not isinstance(value, str):
            raise _Invalid(f"{expected}, {_found(value)}")
        try:
            number = quantity(value).to(unit)
        except PoseDataError:
            raise _Invalid(f"{expected}, found {value!r}") from None
        if not (math.isfinite(number) and number > 0):
            raise _Invalid(f"{expected}, found {value!r}")
        return value

    return check


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f'expected a list of names such as ["nose", "tail_base"], {_found(value)}')
    if len(set(value)) != len(value):
        raise _Invalid(f"expected names without repeats, found {list(value)!r}")
    return tuple(value)


def _pair(value: Any) -> tuple[str, str]:
    names = _names(value)
    if len(names) != 2:
        raise _Invalid(f"expected two keypoint names [from, to], found {list(value)!r}")
    return names  # type: ignore[return-value]


def _formats() -> list[str]:
    from behavior.io.registry import frontends

    return ["auto", *(str(n) for n in frontends()["name"])]


def _format(value: Any) -> str:
    allowed = _formats()
    if not isinstance(value, str) or value not in allowed:
        hint = _did_you_mean(value, allowed) if isinstance(value, str) else ""
        raise _Invalid(f"expected one of {', '.join(map(repr, allowed))}, {_found(value)}{hint}")
    return value


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- sections

# Each section is a frozen dataclass; each field's metadata holds its check and its
# comment in the example template.


def _f(default: Any, check: Callable[[Any], Any], help: str) -> Any:
    if isinstance(default, list | tuple):
        return field(
            default_factory=lambda: tuple(default), metadata={"check": check, "help": help}
        )
    return field(default=default, metadata={"check": check, "help": help})


@dataclass(frozen=True)
class InputConfig:
    """Section ``[input]``: how pose files are read."""

    format: str = _f(
        "auto", _format, 'pose format ("auto" detects it; `behavior formats` lists them)'
    )
    fps: float = _f(0.0, _number(0, 1e6), "frames per second; 0 = from the file")
    individuals: tuple[str, ...] = _f((), _names, "individuals to analyse; [] = all")


@dataclass(frozen=True)
class CleanConfig:
    """Section ``[clean]``: cleaning of the poses (:func:`behavior.filtering.clean`)."""

    enabled: bool = _f(True, _as_bool, "clean the poses before anything else")
    confidence_threshold: float = _f(
        0.6, _number(0, 1), "points with a lower confidence become missing; 0 = keep all"
    )
    max_jump_speed: str = _f(
        "",
        _quantity("cm/s", "150 cm/s", True),
        'drop points that jump faster, e.g. "150 cm/s"; "" = off',
    )
    max_gap: str = _f("0.25 s", _duration(True), 'fill gaps up to this long; "" = no filling')
    smooth: str = _f("median", _choice("median", "savgol", "kalman", "none"), "smoothing filter")
    window: str = _f("0.2 s", _duration(False, positive=True), "smoothing window")
    interpolation: str = _f(
        "linear", _choice("linear", "pchip", "cubic", "nearest"), "gap filling method"
    )
    polyorder: int = _f(2, _number(0, 10, integer=True), 'polynomial order of smooth = "savgol"')


@dataclass(frozen=True)
class CalibrationConfig:
    """Section ``[calibration]``: pixels to cm (:func:`behavior.kinematics.calibrate`)."""

    px_per_cm: float = _f(0.0, _number(0, 1e6), "pixels per cm; 0 = from the file, or body_length")
    body_length: str = _f(
        "",
        _quantity("cm", "8 cm", True),
        'the median body length (body_keypoints apart) is this long, e.g. "8 cm"; "" = off',
    )
    body_keypoints: tuple[str, str] = _f(
        ("tail_base", "nose"), _pair, "the two keypoints whose distance is the body length"
    )


@dataclass(frozen=True)
class KinematicsConfig:
    """Section ``[kinematics]``: centroid speed, path length and heading per individual."""

    enabled: bool = _f(True, _as_bool, "compute kinematics")
    body_keypoints: tuple[str, ...] = _f(
        (), _names, "keypoints averaged into the body centroid; [] = all keypoints"
    )
    heading_keypoints: tuple[str, str] = _f(
        ("tail_base", "nose"), _pair, "the body axis (from, to) for the heading; skipped if absent"
    )


def _preset_names() -> list[str]:
    from behavior.events.presets import PRESETS

    return PRESETS.names()


def _presets(value: Any) -> tuple[str, ...]:
    names = _names(value)
    known = _preset_names()
    for name in names:
        if name not in known:
            raise _Invalid(
                f"unknown preset {name!r}; expected names from {', '.join(map(repr, known))}"
                f"{_did_you_mean(name, known)}"
            )
    return names


@dataclass(frozen=True)
class RulesConfig:
    """Section ``[rules]``: event presets to run, and their options as ``[rules.<preset>]``."""

    presets: tuple[str, ...] = _f(
        ("freezing", "chase", "watching"),
        _presets,
        "event presets to run (behavior.events.PRESETS); social ones need two individuals",
    )
    options: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({}),
        metadata={"help": "[rules.<preset>] tables: keyword options of that preset"},
    )


@dataclass(frozen=True)
class ModelConfig:
    """Sections ``[classifier]`` and ``[syllables]``: a saved model applied to the cleaned poses.

    ``[classifier]``: a :class:`behavior.classify.BehaviorClassifier` ``.skops`` file;
    ``[syllables]``: a :class:`behavior.syllables.Syllables` file saved with its model.
    Both see the cleaned poses in the file's own units (as they were trained).
    """

    path: str = _f("", _text, 'saved model file (relative to this file\'s folder); "" = none')


@dataclass(frozen=True)
class FeaturesConfig:
    """Section ``[features]``: decoder-ready features (:func:`behavior.decode.align`)."""

    enabled: bool = _f(True, _as_bool, "write features.nc")
    bin_size: str = _f("50 ms", _duration(False, positive=True), "time bins of the features")


@dataclass(frozen=True)
class ReportConfig:
    """Section ``[report]``: figures and the HTML report."""

    figures: bool = _f(True, _as_bool, "draw figures (PNG) and embed them in the report")
    html: bool = _f(True, _as_bool, "write report.html")


@dataclass(frozen=True)
class VideoConfig:
    """Section ``[video]``: a labelled clip of the session's video, when one is beside the file."""

    clip_seconds: float = _f(0.0, _number(0, 3600), "clip length in seconds; 0 = no clip")
    start: str = _f("0 s", _duration(False), "where the clip starts")


_ZONE_KEYS = {
    "rectangle": ("bounds",),
    "circle": ("center", "radius"),
    "polygon": ("vertices",),
}


@dataclass(frozen=True)
class AnalysisConfig:
    """Everything ``behavior analyze`` does to one session, section by section.

    Build it with :func:`load_config`; every value is checked there. The sections
    are frozen dataclasses (``config.clean.window``); ``zones`` maps a zone name to
    its shape (``{"shape": "circle", "center": [x, y], "radius": r, "unit": "cm"}``).

    Examples
    --------
    >>> config = load_config({"clean": {"window": "0.3 s"}})
    >>> config.clean.window, config.rules.presets
    ('0.3 s', ('freezing', 'chase', 'watching'))
    >>> len(config.hash())
    64
    """

    input: InputConfig = field(default_factory=InputConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    kinematics: KinematicsConfig = field(default_factory=KinematicsConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    zones: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    classifier: ModelConfig = field(default_factory=ModelConfig)
    syllables: ModelConfig = field(default_factory=ModelConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    video: VideoConfig = field(default_factory=VideoConfig)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain JSON-able data (lists, dicts, numbers, strings).

        Returns
        -------
        dict
            One entry per section, laid out as in the TOML file (a preset's options
            under ``rules.<preset>``); ``load_config(config.to_dict()) == config``.

        Examples
        --------
        >>> load_config().to_dict()["clean"]["smooth"]
        'median'
        """
        return _plain(self)

    def hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (sorted keys, no spaces).

        Two configurations that analyse sessions the same way have the same hash;
        the study runner stores it to know when a session must be redone.

        Returns
        -------
        str
            64 hexadecimal digits.

        Examples
        --------
        >>> load_config().hash() == load_config({}).hash()
        True
        """
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def zone_objects(self) -> dict[str, Any]:
        """The configured zones as :mod:`behavior.roi` zones, by name.

        Returns
        -------
        dict of str to behavior.roi.Zone

        Examples
        --------
        >>> config = load_config({"zones": {"centre": {"shape": "circle", "center": [0, 0],
        ...                                            "radius": 5, "unit": "cm"}}})
        >>> config.zone_objects()["centre"].unit
        'cm'
        """
        from behavior import roi

        zones = {}
        for name, spec in self.zones.items():
            unit = spec.get("unit", "pixels")
            shape = spec["shape"]
            if shape == "rectangle":
                zones[name] = roi.Rectangle(*spec["bounds"], name=name, unit=unit)
            elif shape == "circle":
                zones[name] = roi.Circle(spec["center"], spec["radius"], name=name, unit=unit)
            else:
                zones[name] = roi.Polygon(spec["vertices"], name=name, unit=unit)
        return zones


_SECTIONS = {
    "input": InputConfig,
    "clean": CleanConfig,
    "calibration": CalibrationConfig,
    "kinematics": KinematicsConfig,
    "rules": RulesConfig,
    "zones": None,
    "classifier": ModelConfig,
    "syllables": ModelConfig,
    "features": FeaturesConfig,
    "report": ReportConfig,
    "video": VideoConfig,
}


def _plain(value: Any) -> Any:
    if isinstance(value, RulesConfig):  # as in TOML: [rules.<preset>] tables beside presets
        return {"presets": list(value.presets), **_plain(value.options)}
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


# --------------------------------------------------------------------------- loading


def load_config(source: str | Path | Mapping[str, Any] | None = None) -> AnalysisConfig:
    """Read and check an analysis configuration.

    Parameters
    ----------
    source
        None (the defaults), a mapping (as :meth:`AnalysisConfig.to_dict` gives),
        a path to a ``.toml`` file, or TOML text (a string with a newline or an
        ``=`` in it).

    Returns
    -------
    AnalysisConfig
        Missing keys take their defaults.

    Raises
    ------
    ConfigError
        For TOML that does not parse, an unknown section or key (with a
        suggestion) or a bad value: the message names the dotted key, what is
        allowed, what was found and the line in the TOML text.
    FileNotFoundError
        When a path is given that does not exist.

    Examples
    --------
    >>> load_config("[clean]\\nsmooth = 'savgol'\\n").clean.smooth
    'savgol'
    >>> try:
    ...     load_config("[clean]\\nsmoth = 'savgol'\\n")
    ... except ConfigError as err:
    ...     print(err.key, err.line, "did you mean 'smooth'" in str(err))
    clean.smoth 2 True
    """
    text: str | None = None
    name = "<config>"
    folder = Path.cwd()
    if source is None:
        data: Any = {}
    elif isinstance(source, Mapping):
        data = source
    elif isinstance(source, str | Path):
        if isinstance(source, Path) or ("\n" not in source and "=" not in source):
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"analysis configuration {str(path)!r} does not exist")
            text = path.read_text(encoding="utf-8")
            name = path.name
            folder = path.resolve().parent
        else:
            text = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            line = getattr(err, "lineno", None)
            if line is None:  # Python < 3.14: only in the message, "(at line 2, column 9)"
                found = re.search(r"line (\d+)", str(err))
                line = int(found.group(1)) if found else None
            raise ConfigError(f"not valid TOML: {err}", line=line, source=name) from None
    else:
        raise ConfigError(
            f"expected a TOML file, TOML text, a mapping or None, found {type(source).__name__}"
        )
    try:
        return _resolve_models(_build(data), folder)
    except _KeyProblem as problem:
        line = _key_line(text, problem.key) if text is not None else None
        raise ConfigError(problem.message, key=problem.key, line=line, source=name) from None


class _KeyProblem(Exception):
    def __init__(self, key: str, message: str):
        super().__init__(key, message)
        self.key = key
        self.message = message


def _unknown(key: str, word: str, allowed: Any) -> _KeyProblem:
    allowed = list(allowed)
    return _KeyProblem(
        key,
        f"unknown key{_did_you_mean(word, allowed)}; expected one of {', '.join(allowed)}",
    )


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _KeyProblem(key, f"expected a table ([{key}]), {_found(value)}")
    for k in value:
        if not isinstance(k, str):
            raise _KeyProblem(key, f"expected text keys, found {k!r}")
    return value


def _build(data: Any) -> AnalysisConfig:
    data = _table(data, "")
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in _SECTIONS:
            raise _unknown(name, name, _SECTIONS)
        if name == "zones":
            sections[name] = _build_zones(_table(value, name))
        elif name == "rules":
            sections[name] = _build_rules(_table(value, name))
        else:
            sections[name] = _build_section(_SECTIONS[name], _table(value, name), name)
    return AnalysisConfig(**sections)


def _build_section(cls: type, values: Mapping[str, Any], prefix: str, skip: tuple = ()) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    out = {}
    for key, value in values.items():
        if key not in fields:
            raise _unknown(f"{prefix}.{key}", key, fields)
        try:
            out[key] = fields[key].metadata["check"](value)
        except _Invalid as err:
            raise _KeyProblem(f"{prefix}.{key}", str(err)) from None
    return cls(**out)


def _build_rules(values: Mapping[str, Any]) -> RulesConfig:
    import inspect

    from behavior.events.presets import PRESETS

    plain = {k: v for k, v in values.items() if not isinstance(v, Mapping)}
    base = _build_section(RulesConfig, plain, "rules", skip=("options",))
    known = _preset_names()
    options: dict[str, Any] = {}
    for preset, table in values.items():
        if not isinstance(table, Mapping):
            continue
        key = f"rules.{preset}"
        if preset not in known:
            raise _KeyProblem(
                key,
                f"unknown preset table{_did_you_mean(preset, known)}; expected [rules.<preset>] "
                f"with a preset from {', '.join(known)} (or the key 'presets')",
            )
        params = inspect.signature(PRESETS.get(preset)).parameters
        allowed = [
            p.name
            for p in params.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in ("zones",)
        ]
        for option, value in _table(table, key).items():
            if option not in allowed:
                raise _unknown(f"{key}.{option}", option, allowed)
            if not _is_plain_value(value):
                raise _KeyProblem(
                    f"{key}.{option}",
                    f"expected a number, a string, true/false or a list of them, {_found(value)}",
                )
            problem = _option_problem(params[option].default, value)
            if problem:
                raise _KeyProblem(f"{key}.{option}", problem)
        options[preset] = dict(table)
    return dataclasses.replace(base, options=_frozen(options))


def _option_problem(default: Any, value: Any) -> str | None:
    """What is wrong with a preset option, judged by its default; None when it may be right.

    A quantity default (``"15 cm/s"``, ``"1 s"``) takes a number or a quantity of the
    same kind (pixels for cm and frames for seconds allowed); a true/false default
    takes true/false; a number default takes a number or a quantity. Anything finer
    (keypoint names, values that depend on the data) is the preset's to check.
    """
    from behavior.units import quantity

    if isinstance(default, bool):
        if not isinstance(value, bool):
            return f"expected true or false (default {str(default).lower()}), {_found(value)}"
        return None
    if isinstance(value, bool):
        if default is None or isinstance(default, bool):
            return None
        return f"expected a value like the default {default!r}, found {value!r}"
    if isinstance(default, str) and isinstance(value, str):
        try:
            unit = quantity(default).unit_text()
        except PoseDataError:
            return None  # not a quantity default (a name, a mode)
        try:
            quantity(value).to(unit, px_per_cm=1.0, fps=1.0)
        except PoseDataError:
            return f"expected a quantity like the default {default!r}, found {value!r}"
        return None
    if isinstance(default, int | float) and isinstance(value, str):
        try:
            quantity(value)
        except PoseDataError:
            return f"expected a number or a quantity (default {default!r}), found {value!r}"
    return None


def _is_plain_value(value: Any) -> bool:
    if isinstance(value, bool | str | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_plain_value(v) and not isinstance(v, list) for v in value)
    return False


def _point(value: Any, what: str) -> list[float]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or not all(math.isfinite(v) for v in value)
    ):
        raise _Invalid(f"expected {what} as [x, y] numbers, {_found(value)}")
    return [float(v) for v in value]


def _build_zones(values: Mapping[str, Any]) -> Mapping[str, Any]:
    zones: dict[str, Any] = {}
    for name, spec in values.items():
        key = f"zones.{name}"
        spec = dict(_table(spec, key))
        shape = spec.get("shape")
        if shape not in _ZONE_KEYS:
            raise _KeyProblem(
                f"{key}.shape",
                f"expected one of 'rectangle', 'circle', 'polygon', {_found(shape)}",
            )
        allowed = ["shape", "unit", *_ZONE_KEYS[shape]]
        for k in spec:
            if k not in allowed:
                raise _unknown(f"{key}.{k}", k, allowed)
        for k in _ZONE_KEYS[shape]:
            if k not in spec:
                raise _KeyProblem(f"{key}.{k}", f"missing: a {shape} zone needs {k}")
        clean: dict[str, Any] = {"shape": shape}
        try:
            clean["unit"] = _choice("pixels", "cm", "mm", "m")(spec.get("unit", "pixels"))
        except _Invalid as err:
            raise _KeyProblem(f"{key}.unit", str(err)) from None
        part = ""
        try:
            if shape == "rectangle":
                part = "bounds"
                b = spec["bounds"]
                ok = isinstance(b, list | tuple) and len(b) == 4
                if not ok or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in b
                ):
                    raise _Invalid(f"expected [xmin, ymin, xmax, ymax] numbers, {_found(b)}")
                clean["bounds"] = [float(v) for v in b]
            elif shape == "circle":
                part = "center"
                clean["center"] = _point(spec["center"], "the centre")
                part = "radius"
                clean["radius"] = _number(0, math.inf)(spec["radius"])
            else:
                part = "vertices"
                v = spec["vertices"]
                if not isinstance(v, list | tuple) or len(v) < 3:
                    raise _Invalid(f"expected at least three [x, y] vertices, {_found(v)}")
                clean["vertices"] = [_point(p, "a vertex") for p in v]
        except _Invalid as err:
            raise _KeyProblem(f"{key}.{part}", str(err)) from None
        try:  # the shape itself (an empty rectangle, a zero radius, crossing edges ...)
            AnalysisConfig(zones=_frozen({name: clean})).zone_objects()
        except PoseDataError as err:
            raise _KeyProblem(key, str(err)) from None
        zones[name] = clean
    return _frozen(zones)


def _resolve_models(config: AnalysisConfig, folder: Path) -> AnalysisConfig:
    """Model paths made absolute (relative ones from the configuration file's folder) and
    checked to exist, so that every worker finds the same file."""
    changes = {}
    for section in ("classifier", "syllables"):
        text = getattr(config, section).path
        if not text:
            continue
        key = f"{section}.path"
        try:
            path = Path(text).expanduser()
            path = path if path.is_absolute() else folder / path
            found = path.is_file()
        except (OSError, ValueError, RuntimeError) as err:
            raise _KeyProblem(
                key, f"expected the path of a saved model file, found {text!r} ({err})"
            ) from None
        if not found:
            raise _KeyProblem(
                key,
                f"expected the path of a saved model file, found {text!r}: "
                f"no such file {str(path)!r}",
            )
        changes[section] = ModelConfig(path=str(path))
    return dataclasses.replace(config, **changes) if changes else config


# --------------------------------------------------------------------------- line numbers

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r""""([^"]*)"|'([^']*)'|([A-Za-z0-9_-]+)""", text)
    return [a or b or c for a, b, c in parts]


def _key_line(text: str | None, key: str) -> int | None:
    """The 1-based line of a dotted key (or of its table header) in TOML text.

    tomllib reports no positions for keys, so the text is scanned: table headers
    set the current prefix, ``key = value`` lines add to it. Multi-line values are
    not followed into; the first line that defines ``key`` (or the closest
    enclosing table) wins.
    """
    if not text or not key:
        return None
    target = key.split(".")
    best: tuple[int, int] | None = None  # (matched depth, line)
    table: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            path = table
        else:
            match = _KEY.match(line)
            if not match:
                continue
            path = [*table, *_split_key(match.group(1))]
        depth = 0
        for a, b in zip(path, target, strict=False):
            if a != b:
                break
            depth += 1
        if depth == len(path) and (best is None or depth > best[0]):
            best = (depth, number)
            if depth == len(target):
                return number
    return best[1] if best and best[0] > 0 else None


# --------------------------------------------------------------------------- template


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def example_config() -> str:
    """A commented TOML template of every option, set to its default.

    ``load_config(example_config())`` equals ``load_config()``.

    Returns
    -------
    str
        TOML text (``behavior analyze --example-config`` prints it).

    Examples
    --------
    >>> load_config(example_config()) == load_config()
    True
    """
    lines = [
        "# behavior analyze: analysis configuration (TOML).",
        "# Every key is optional; the values below are the defaults.",
        '# TOML has no null: "" or 0 switches an optional step off, as each comment says.',
    ]
    defaults = AnalysisConfig()
    for name, cls in _SECTIONS.items():
        lines.append("")
        if name == "zones":
            lines += [
                "# [zones.<name>]: named regions, for zone_visits (run whenever zones are given).",
                "# [zones.centre]",
                '# shape = "circle"          # "rectangle" (bounds), "circle" (center, radius),',
                '#                           # "polygon" (vertices)',
                "# center = [20.0, 20.0]",
                "# radius = 10.0",
                '# unit = "cm"               # "pixels" (default), "cm", "mm", "m"',
            ]
            continue
        section = getattr(defaults, name)
        lines.append(f"[{name}]")
        if cls.__doc__:
            first = cls.__doc__.strip().splitlines()[0].replace("``", "")
            first = re.sub(r"^Sections? .*?: ", "", re.sub(r":\w+:`([^`]+)`", r"\1", first))
            lines.append("# " + first[:1].upper() + first[1:])
        for f in dataclasses.fields(cls):
            if f.name == "options":
                continue
            value = _toml_value(getattr(section, f.name))
            help = f.metadata["help"]
            allowed = getattr(f.metadata["check"], "allowed", None)
            if allowed:
                help += f": {', '.join(allowed)}"
            lines.append(f"{f.name} = {value}".ljust(32) + f"  # {help}")
        if name == "rules":
            lines += [
                "# Options of a preset, e.g. (see each preset's docstring):",
                "# [rules.freezing]",
                '# max_speed = "1 cm/s"',
                '# min_duration = "1 s"',
            ]
    return "\n".join(lines) + "\n"
