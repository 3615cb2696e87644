"""Argument fuzzing of the public API: wrong types, NaN/inf, negative, huge and empty values.

Every case calls one public function of ``behavior`` on a small simulated
session (or a damaged copy of it: no frames, one frame, all NaN, a repeated
timestamp, infinite positions) with arguments drawn by hypothesis. The outcome
must be a result or an error of the library's own types (``behavior.errors``:
``PoseDataError`` and its subclasses ``UnitError``, ``RuleError``,
``FileFormatError`` ...), never a ``TypeError``, ``IndexError``,
``AttributeError``, ``MemoryError`` or ``RecursionError`` from deep inside, and
no case may run longer than :data:`CASE_SECONDS`.

The default budget keeps the whole file well under a minute; set
``BEHAVIOR_FUZZ_EXAMPLES`` (examples per test, default 30) for a longer run,
which also draws fresh examples instead of the fixed, derandomized ones of CI.
"""

from __future__ import annotations

import faulthandler
import functools
import os
import signal
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior import bouts as bouts_mod
from behavior import errors, features, filtering, kinematics, roi, social, units
from behavior.ethogram import Ethogram
from behavior.events import presets, rules

EXAMPLES = int(os.environ.get("BEHAVIOR_FUZZ_EXAMPLES", "30"))
CASE_SECONDS = 20.0
"""Longest a single call may take (the data are 150 frames: seconds would be a hang)."""

ALLOWED = (errors.PoseDataError, errors.MissingDependencyError)
"""The library's own error types; UnitError, RuleError, FileFormatError and
NotFittedError are PoseDataError subclasses."""

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="BEHAVIOR_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


# ---- the data --------------------------------------------------------------------------


@functools.cache
def session() -> xr.Dataset:
    """A 5 s, two-mouse simulated session (150 frames, in cm), warmed up once."""
    ds, _ = bh.simulate.session(duration="5 s", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtering.clean(ds)
        features.extract(ds, progress=False)
        presets.freezing(ds)
    return ds


@functools.cache
def variants() -> dict[str, xr.Dataset]:
    """The session and damaged copies of it that every function must handle or refuse."""
    ds = session()
    repeated = ds.time.values.copy()
    repeated[10] = repeated[9]
    all_nan = ds.copy(deep=True)
    all_nan["position"][:] = np.nan
    with_inf = ds.copy(deep=True)
    with_inf["position"][20:25] = np.inf
    return {
        "session": ds,
        "one frame": ds.isel(time=slice(0, 1)),
        "no frames": ds.isel(time=slice(0, 0)),
        "all NaN": all_nan,
        "repeated time": ds.assign_coords(time=repeated),
        "infinite positions": with_inf,
        "one individual": ds.isel(individual=[0]),
    }


data = st.sampled_from(list(variants()))


# ---- the argument values -----------------------------------------------------------------

SPECIAL_NUMBERS = st.sampled_from(
    [float("nan"), float("inf"), float("-inf"), -1.0, -1, 0, 0.0, 1, 2, 3, 0.5, 1e9, 1e300,
     -1e300, 1e-300, 2**63, -(2**63)]
)  # fmt: skip
TEXT = st.sampled_from(
    ["", " ", "high", "abc def", "0.2 s", "-1 s", "1e9 s", "nan s", "inf s", "5 frames",
     "-3 frames", "1e400 s", "3 cm/s", "-1 cm/s", "nan cm/s", "5 cm", "10 deg", "1 kg",
     "0.5", "speed", "median", "linear", "nose", "((", "\x00", "é"]
)  # fmt: skip
CONTAINERS = st.sampled_from(
    [[], (), {}, [1, 2], ["nose"], ["nope"], ["nose", "nose"], {"a": 1}, np.array([]),
     np.array([1.0, np.nan]), np.zeros((2, 2)), np.array(["x"]), pd.DataFrame()]
)  # fmt: skip
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    SPECIAL_NUMBERS,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.text(max_size=8),
    CONTAINERS,
    st.sampled_from([object(), b"bytes", 1 + 2j, np.float32(np.nan), np.int64(-5), slice(1)]),
)
"""Anything a caller might pass by mistake."""


def maybe(*good: Any) -> st.SearchStrategy:
    """Mostly valid values of an argument, sometimes junk."""
    return st.one_of(st.sampled_from(good), JUNK) if good else JUNK


def some(**arguments: st.SearchStrategy) -> st.SearchStrategy:
    """A keyword-argument dict with any subset of ``arguments``."""
    return st.fixed_dictionaries({}, optional=arguments)


# ---- the check -----------------------------------------------------------------------------


class CaseHung(BaseException):
    """A call ran past :data:`CASE_SECONDS` (a BaseException: no library ``except`` hides it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise CaseHung(f"a call ran longer than {CASE_SECONDS} s")


def outcome(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call ``function``; pass on a result or a library error, fail on anything else."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    # The alarm cannot interrupt compiled (numba) code: a case stuck there is stopped
    # by faulthandler, which prints every thread's stack and ends the run.
    faulthandler.dump_traceback_later(3 * CASE_SECONDS, exit=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(*args, **kwargs)
    except ALLOWED as err:
        assert str(err), f"{function.__name__}: an error without a message"
        return err
    except CaseHung:
        pytest.fail(f"{function.__name__}(args={args!r}, kwargs={kwargs!r}) hung")
    except Exception as err:  # the failure this file is for
        name = getattr(function, "__qualname__", repr(function))
        raise AssertionError(
            f"{name}(args={_short(args)}, kwargs={_short(kwargs)}) raised "
            f"{type(err).__module__}.{type(err).__name__}: {err}"
        ) from err
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _short(value: Any) -> str:
    if isinstance(value, xr.Dataset):
        return f"<Dataset {dict(value.sizes)}>"
    if isinstance(value, xr.DataArray):
        return f"<DataArray {dict(value.sizes)}>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return repr(value)[:80]


# ---- filtering ---------------------------------------------------------------------------


@FUZZ
@given(
    name=data,
    kwargs=some(
        confidence_threshold=maybe(0.6, 0.0, None),
        max_jump_speed=maybe(None, "150 cm/s", 100.0),
        max_gap=maybe("0.25 s", None, 3, 0.1),
        smooth=maybe("median", "savgol", "kalman", None),
        window=maybe("0.2 s", 5, 0.1, "3 frames"),
        interpolation=maybe("linear", "pchip", "cubic", "nearest"),
        polyorder=maybe(2, 3),
        min_valid=maybe(None, 1, 3),
        kalman_options=maybe(None, {"n_iter": 2}, {"estimate": "heuristic"}),
    ),
)
def test_clean(name, kwargs):
    outcome(filtering.clean, variants()[name], **kwargs)


@FUZZ
@given(
    name=data,
    which=st.sampled_from(["median", "savgol", "interpolate", "jumps", "rolling", "confidence"]),
    window=maybe("0.2 s", 5, 3),
    number=maybe(2, 0.6, 1),
    text=maybe("linear", "mean", "keep", "drop", "pchip"),
)
def test_filters(name, which, window, number, text):
    ds = variants()[name]
    position = ds.position.assign_attrs(ds.attrs)
    calls = {
        "median": lambda: filtering.median_filter(position, window, number),
        "savgol": lambda: filtering.savgol_filter(position, window, number),
        "interpolate": lambda: filtering.interpolate_gaps(position, window, method=text),
        "jumps": lambda: filtering.remove_jumps(position, window),
        "rolling": lambda: filtering.rolling(position, window, text, number),
        "confidence": lambda: filtering.filter_by_confidence(
            position, ds.confidence, number, nan_confidence=text
        ),
    }
    outcome(calls[which])


@FUZZ
@given(
    name=st.sampled_from(["session", "one frame", "all NaN", "repeated time"]),
    kwargs=some(
        process_noise=maybe(None, 1.0),
        measurement_noise=maybe(None, 0.5),
        estimate=maybe("em", "heuristic", None),
        n_iter=maybe(2, 1),
        em_frames=maybe(100, 20000),
    ),
)
def test_kalman_smooth(name, kwargs):
    ds = variants()[name].isel(time=slice(0, 40))
    outcome(filtering.kalman_smooth, ds.position.assign_attrs(ds.attrs), **kwargs)


# ---- kinematics, social, zones -----------------------------------------------------------


@FUZZ
@given(
    name=data,
    which=st.sampled_from(["speed", "velocity", "centroid", "path_length", "acceleration"]),
    arg=maybe(1, 2, ["nose", "neck"], None),
    start=maybe(None, 0.5, 1),
    stop=maybe(None, 4.0, 3),
    policy=maybe("ffill", "scale"),
)
def test_kinematics(name, which, arg, start, stop, policy):
    ds = variants()[name]
    calls = {
        "speed": lambda: kinematics.speed(ds, edge_order=arg),
        "velocity": lambda: kinematics.velocity(ds.position, edge_order=arg),
        "acceleration": lambda: kinematics.acceleration(ds, edge_order=arg),
        "centroid": lambda: kinematics.centroid(ds, keypoints=arg),
        "path_length": lambda: kinematics.path_length(ds, start, stop, nan_policy=policy),
    }
    outcome(calls[which])


@FUZZ
@given(
    name=data,
    which=st.sampled_from(["closest", "centroids", "relations", "nose_to_nose"]),
    keypoints=maybe(None, ["nose", "neck"], {"nose": "nose"}),
    window=maybe("1 s", 10, 0.5),
    tolerance=maybe(None, 2.0),
    variables=maybe(None, ["closest_distance"], ["following"]),
)
def test_social(name, which, keypoints, window, tolerance, variables):
    ds = variants()[name]
    calls = {
        "closest": lambda: social.closest_distance(ds, keypoints=keypoints),
        "centroids": lambda: social.centroid_distances(ds, keypoints),
        "nose_to_nose": lambda: social.nose_to_nose(ds, keypoints=keypoints),
        "relations": lambda: social.relations(
            ds,
            keypoints=keypoints,
            follow_window=window,
            follow_tolerance=tolerance,
            variables=variables,
        ),
    }
    outcome(calls[which])


@FUZZ
@given(
    name=data,
    shape=st.sampled_from(["rectangle", "circle", "polygon"]),
    a=maybe(0.0, 10.0, (20.0, 20.0)),
    b=maybe(30.0, 5.0, [(0, 0), (30, 0), (30, 30)]),
    unit=maybe("cm", "pixels"),
    which=st.sampled_from(["in_zone", "occupancy", "time_in_zone", "crossings", "latency"]),
    keypoint=maybe("centroid", "nose", ["nose", "neck"]),
    min_duration=maybe(None, "0.1 s", 2),
)
def test_zones(name, shape, a, b, unit, which, keypoint, min_duration):
    ds = variants()[name]
    makers = {
        "rectangle": lambda: roi.Rectangle(a, a, b, b, unit=unit),
        "circle": lambda: roi.Circle(a, b, unit=unit),
        "polygon": lambda: roi.Polygon(b, unit=unit),
    }
    zone = outcome(makers[shape])
    if isinstance(zone, Exception):
        return
    function = getattr(roi, which)
    if which in ("crossings", "latency"):
        outcome(function, ds, zone, keypoint=keypoint, min_duration=min_duration)
    else:
        outcome(function, ds, zone, keypoint=keypoint)


# ---- events, bouts, ethograms -----------------------------------------------------------

WORDS = st.sampled_from(
    ["speed", "closest_distance", "following", "in_arena", "nope", "and", "or", "not", "(", ")",
     ">", "<", "==", "between", "5", "-1", "1e400", "cm", "cm/s", "s", "deg", "px", "%", "^",
     "2", "&", "|", "~", "**", ".", "°"]
)  # fmt: skip
RULE_TEXT = st.one_of(
    st.lists(WORDS, max_size=12).map(" ".join),
    st.text(max_size=20),
    st.integers(1, 400).map(lambda n: " and ".join(["speed > 1 cm/s"] * n)),
    st.integers(1, 400).map(lambda n: "(" * n + "speed > 1 cm/s" + ")" * n),
    st.integers(1, 400).map(lambda n: "not " * n + "following"),
    JUNK,
)


@FUZZ
@given(text=RULE_TEXT)
def test_parse_rule(text):
    rule = outcome(rules.parse_rule, text)
    if isinstance(rule, rules.Rule):
        assert str(rule)  # printable without recursion


@FUZZ
@given(
    name=data,
    rule=st.one_of(
        st.sampled_from(
            [
                "speed > 5 cm/s",
                "closest_distance < 3 cm or following",
                "speed between 1 cm/s and 10 cm/s",
            ]
        ),
        RULE_TEXT,
    ),
    kwargs=some(
        min_duration=maybe("0.2 s", 0, 3),
        merge_gap=maybe("0.1 s", 0),
        min_fraction=maybe(None, 0.5),
        window=maybe(None, "0.5 s"),
        smoothing=maybe(None, "0.2 s"),
        max_gap=maybe(None, "0.5 s"),
        px_per_cm=maybe(None, 10.0),
        behavior=maybe(None, "fast"),
    ),
)
def test_detect(name, rule, kwargs):
    outcome(rules.detect, variants()[name], rule, **kwargs)


@FUZZ
@given(
    name=data,
    preset=st.sampled_from(["freezing", "chase", "approach", "huddling", "watching"]),
    kwargs=some(
        max_speed=maybe("1 cm/s", 2.0),
        min_speed=maybe("5 cm/s", 10.0),
        max_distance=maybe("5 cm", 3.0),
        min_duration=maybe("0.5 s", 0),
        merge_gap=maybe(0, "0.1 s"),
        smoothing=maybe(None, "0.2 s"),
        px_per_cm=maybe(None, 10.0),
    ),
)
def test_presets(name, preset, kwargs):
    import inspect

    function = presets.PRESETS.get(preset)
    accepted = inspect.signature(function).parameters
    outcome(function, variants()[name], **{k: v for k, v in kwargs.items() if k in accepted})


MASKS = st.one_of(
    st.lists(st.booleans(), max_size=60).map(np.array),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20).map(np.array),
    st.just(np.zeros((3, 3, 3), dtype=bool)),
    JUNK,
)


@FUZZ
@given(
    mask=MASKS,
    kwargs=some(
        min_duration=maybe(0, "0.1 s", 2),
        merge_gap=maybe(0, 1, "0.1 s"),
        min_fraction=maybe(None, 0.5),
        window=maybe(None, 3, "0.2 s"),
        behavior=maybe("event", "run"),
        fps=maybe(None, 30.0),
    ),
)
def test_bouts(mask, kwargs):
    outcome(bouts_mod.bouts, mask, **kwargs)


@FUZZ
@given(
    which=st.sampled_from(
        ["init", "from_bouts", "from_masks", "from_states", "from_probabilities"]
    ),
    value=st.one_of(JUNK, MASKS),
    other=maybe(None, 0.5, ["a", "b"], np.arange(10) / 30),
)
def test_ethogram_constructors(which, value, other):
    calls = {
        "init": lambda: Ethogram(value),
        "from_bouts": lambda: Ethogram.from_bouts(value, other),
        "from_masks": lambda: Ethogram.from_masks(value),
        "from_states": lambda: Ethogram.from_states(value, other),
        "from_probabilities": lambda: Ethogram.from_probabilities(value, other),
    }
    outcome(calls[which])


# ---- features and units -----------------------------------------------------------------


@FUZZ
@given(
    name=data,
    kwargs=some(
        sets=maybe("default", "pose", ["pose", "quality"], "nope"),
        windows=maybe(None, ("0.1 s",), (3,), ("0.2 s", 5)),
        stats=maybe(None, ("mean",), ("max", "std"), ("nope",)),
        centered=maybe(True, False),
        keypoints=maybe(None, ["nose", "neck", "tail_base"]),
    ),
)
def test_features_extract(name, kwargs):
    kwargs.setdefault("windows", ("0.1 s",))
    outcome(features.extract, variants()[name], progress=False, **kwargs)


@FUZZ
@given(value=JUNK, fps=maybe(30.0, None, 0.5))
def test_units(value, fps):
    outcome(units.to_frames, value, fps)
    outcome(units.to_seconds, value)
    outcome(units.quantity, value)


# ---- wrong first arguments ---------------------------------------------------------------

FIRST_ARGUMENT_FUNCTIONS = [
    filtering.clean,
    kinematics.speed,
    kinematics.velocity,
    kinematics.centroid,
    kinematics.path_length,
    social.closest_distance,
    social.relations,
    features.extract,
    presets.freezing,
    Ethogram,
    Ethogram.from_masks,
    Ethogram.from_states,
]


@FUZZ
@given(function=st.sampled_from(FIRST_ARGUMENT_FUNCTIONS), value=st.one_of(JUNK, MASKS))
def test_wrong_first_argument(function, value):
    outcome(function, value)


# ---- the cases the fuzzing found, pinned ---------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda ds: filtering.clean(ds.isel(time=slice(0, 0))),
        lambda ds: filtering.clean(ds, window=1e9),
        lambda ds: filtering.clean(ds, confidence_threshold="high"),
        lambda ds: kinematics.centroid(ds, keypoints=[]),
        lambda ds: rules.parse_rule("(" * 300 + "speed > 1 cm/s" + ")" * 300),
        lambda ds: Ethogram(np.zeros((5, 2, 1))),
        lambda ds: kinematics.speed(ds, edge_order=np.array([])),
        lambda ds: kinematics.centroid(ds, keypoints=1),
        lambda ds: kinematics.path_length(ds, start=[]),
        lambda ds: units.to_frames(None, ""),
        lambda ds: bouts_mod.bouts(np.array([True, False]), fps=""),
        lambda ds: social.closest_distance(ds, keypoints=True),
        lambda ds: social.relations(ds, follow_tolerance=[1.0]),
        lambda ds: features.extract(ds, windows=object(), progress=False),
        lambda ds: features.extract(ds, centered=np.array([]), progress=False),
        lambda ds: filtering.interpolate_gaps(ds.position, 3, method=["linear"]),
        lambda ds: filtering.kalman_smooth(ds.position, estimate=np.array([])),
        lambda ds: presets.freezing(None),
        lambda ds: presets.freezing(ds, px_per_cm=""),
        lambda ds: presets.freezing(ds, smoothing=np.array([])),
        lambda ds: rules.detect(ds, "speed > 5 cm/s", max_gap=np.array([])),
        lambda ds: roi.in_zone(ds.isel(time=slice(0, 0)), roi.Rectangle(0, 0, 30, 30, unit="cm")),
        lambda ds: roi.crossings(ds, roi.Rectangle(0, 0, 30, 30, unit="cm"), keypoint=None),
        lambda ds: Ethogram.from_bouts(None, np.arange(3.0)),
        lambda ds: filtering.kalman_smooth(ds.position, n_iter=10**12),
    ],
    ids=[
        "clean-0-frames",
        "clean-huge-window",
        "clean-text-threshold",
        "centroid-no-keypoints",
        "rule-300-parentheses",
        "ethogram-ndarray",
        "speed-array-edge-order",
        "centroid-int-keypoints",
        "path-length-list-start",
        "to-frames-text-fps",
        "bouts-text-fps",
        "social-bool-keypoints",
        "relations-list-tolerance",
        "extract-object-windows",
        "extract-array-centered",
        "interpolate-list-method",
        "kalman-array-estimate",
        "freezing-none",
        "freezing-text-px-per-cm",
        "freezing-array-smoothing",
        "detect-array-max-gap",
        "in-zone-0-frames",
        "crossings-none-keypoint",
        "from-bouts-none",
        "kalman-endless-em",
    ],
)
def test_raw_errors_are_named(call):
    """Each case raised a TypeError, IndexError, ValueError, AttributeError,
    MemoryError or RecursionError from deep inside before issue 15."""
    with pytest.raises(errors.PoseDataError):
        call(session())
