"""Tests for behavior/_registry.py, the one Registry behind every plug-in point, and for
the register / unregister / list functions of each public registry built on it."""

from __future__ import annotations

import importlib.metadata
import logging
import string
import sys
import types

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import behavior as bh
from behavior import estimators as est
from behavior import features
from behavior._registry import Registry, first_doc_line, registry_key
from behavior.errors import PoseDataError, UnknownFormatError
from behavior.io import annotations as annot
from behavior.io import registry as io_registry
from behavior.io.registry import Frontend, refuse

# --------------------------------------------------------------------------- keys

NAME = st.text(alphabet=string.ascii_letters + string.digits + "_- ", min_size=1).filter(
    lambda s: s.strip()
)


def _spellings(name: str) -> list[str]:
    """Spellings of ``name`` that must find the same entry."""
    return [
        name.upper(),
        name.lower(),
        name.swapcase(),
        name.replace("_", "-"),
        name.replace("-", "_"),
        name.replace(" ", "_"),
        name.replace("_", " ").replace("-", " "),
    ]


@given(NAME)
def test_every_spelling_of_a_name_finds_the_same_entry(name):
    reg: Registry[str] = Registry("thing")
    reg.register(name, "item")
    key = registry_key(name)
    assert registry_key(key) == key  # a key is its own key
    assert " " not in key and "_" not in key and key == key.lower()
    for spelling in _spellings(name):
        assert registry_key(spelling) == key
        assert spelling in reg
        assert reg.get(spelling) == "item"
        assert reg.entry(spelling).name == name  # the name is kept as registered
    with pytest.raises(ValueError, match="already registered"):
        reg.register(name.swapcase(), "other")


@given(NAME, NAME)
def test_names_with_different_keys_are_different_entries(a, b):
    reg: Registry[str] = Registry("thing")
    reg.register(a, "first")
    if registry_key(a) == registry_key(b):
        with pytest.raises(ValueError, match="already registered"):
            reg.register(b, "second")
        assert len(reg) == 1
    else:
        reg.register(b, "second")
        assert (reg.get(a), reg.get(b)) == ("first", "second")
        assert reg.names() == [a, b]


def test_registry_key_and_first_doc_line():
    assert registry_key("Nose_to_Nose contact") == "nose-to-nose-contact"

    def documented():
        """

        First line.
        Second line.
        """

    assert first_doc_line(documented) == "First line."
    assert first_doc_line(lambda: None) == ""
    assert first_doc_line(None) == ""


# --------------------------------------------------------------------------- changing


def test_duplicates_are_refused_naming_the_origin_and_replace_overrides():
    reg: Registry[int] = Registry("pose frontend")
    reg.register("dlc", 1)
    with pytest.raises(ValueError, match=r"a pose frontend named 'DLC' is already registered"):
        reg.register("DLC", 2)
    with pytest.raises(ValueError, match=r"\(runtime\); pass replace=True"):
        reg.register("dlc", 2)
    assert reg.get("dlc") == 1
    assert reg.register("DLC", 3, replace=True) == 3
    assert reg.get("dlc") == 3 and reg.names() == ["DLC"] and len(reg) == 1
    annotation: Registry[int] = Registry("annotation format")
    annotation.register("boris", 1)
    with pytest.raises(ValueError, match="an annotation format named 'boris'"):
        annotation.register("boris", 2)


def test_replace_needs_an_existing_entry():
    reg: Registry[str] = Registry("color")
    with pytest.raises(KeyError, match="unknown color 'red'"):
        reg.replace("red", "#f00")
    reg.register("red", "#ff0000", description="pure red")
    assert reg.replace("RED", "#f00") == "#f00"
    assert reg.get("red") == "#f00"
    assert reg.entry("red").origin == "runtime"


def test_unregister_returns_the_item_and_unknown_names_list_the_known_ones():
    reg: Registry[str] = Registry("color")
    reg.register("red", "#f00")
    reg.register("blue", "#00f")
    assert reg.unregister("Red") == "#f00"
    assert "red" not in reg and reg.names() == ["blue"]
    with pytest.raises(KeyError, match=r"unknown color 'red'; known: \['blue'\]"):
        reg.unregister("red")
    with pytest.raises(KeyError, match="unknown color"):
        reg.get(42)  # type: ignore[arg-type]
    assert 42 not in reg


@pytest.mark.parametrize("name", ["", "   ", None, 3])
def test_empty_or_non_string_names_are_refused(name):
    reg: Registry[str] = Registry("color")
    with pytest.raises(ValueError, match="color name: expected a non-empty string"):
        reg.register(name, "x")  # type: ignore[arg-type]
    assert len(reg) == 0


def test_add_decorates_with_the_function_name_and_docstring():
    reg: Registry = Registry("shape")

    @reg.add()
    def square(side):
        """Area of a square."""
        return side * side

    @reg.add("Disc", description="area of a disc")
    def circle(radius):
        return 3.0 * radius * radius

    assert square(2) == 4  # the decorator returns the function unchanged
    assert reg.get("SQUARE") is square and reg.get("disc") is circle
    table = reg.table()
    assert list(table.columns) == ["name", "description", "origin"]
    assert table.values.tolist() == [
        ["square", "Area of a square.", "runtime"],
        ["Disc", "area of a disc", "runtime"],
    ]
    assert list(reg) == [square, circle]
    assert [e.name for e in reg.entries()] == ["square", "Disc"]
    assert repr(reg) == "Registry('shape', 2 entries)"


def test_an_empty_table_keeps_its_columns():
    table = Registry("shape").table()
    assert isinstance(table, pd.DataFrame) and table.empty
    assert list(table.columns) == ["name", "description", "origin"]


# --------------------------------------------------------------------------- loading


def test_builtins_load_once_on_first_use_as_built_in():
    calls = []

    def builtins(reg):
        calls.append(1)
        reg.register("one", 1)
        reg.register("two", 2, origin="somewhere else")

    reg: Registry[int] = Registry("number", builtins=builtins)
    assert calls == []  # nothing loads at construction
    assert reg.get("one") == 1
    reg.register("three", 3)
    assert len(reg) == 3 and calls == [1]
    assert reg.table()["origin"].tolist() == ["built-in", "somewhere else", "runtime"]
    fresh = reg.fresh()
    assert calls == [1] and fresh.names() == ["one", "two"] and calls == [1, 1]


def test_copy_is_independent_of_the_original():
    reg: Registry[int] = Registry("number", builtins=lambda r: r.register("one", 1))
    copy = reg.copy()
    copy.register("two", 2)
    copy.unregister("one")
    assert reg.names() == ["one"] and copy.names() == ["two"]


@pytest.fixture
def fake_plugins(monkeypatch):
    """A module ``fake_plugins`` and an ``entry_points`` that lists four of its objects
    (one good, one the wrong type, one missing, one under a taken name) in group
    ``test.things``."""
    module = types.ModuleType("fake_plugins")

    def shout(text):
        """Upper-case text."""
        return text.upper()

    module.shout = shout
    module.NOT_CALLABLE = 42
    module.DUPLICATE = lambda text: text
    monkeypatch.setitem(sys.modules, "fake_plugins", module)
    eps = [
        importlib.metadata.EntryPoint("shout", "fake_plugins:shout", "test.things"),
        importlib.metadata.EntryPoint("number", "fake_plugins:NOT_CALLABLE", "test.things"),
        importlib.metadata.EntryPoint("gone", "fake_plugins:NO_SUCH_NAME", "test.things"),
        importlib.metadata.EntryPoint("echo", "fake_plugins:DUPLICATE", "test.things"),
        importlib.metadata.EntryPoint("other", "fake_plugins:shout", "other.group"),
    ]

    def entry_points(*, group=None, **_):
        return [ep for ep in eps if group is None or ep.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return module


def _callable_only(obj):
    if not callable(obj):
        raise TypeError(f"expected a callable, found {type(obj).__name__}")
    return obj


def test_entry_points_load_after_the_builtins_and_bad_ones_are_skipped(fake_plugins, caplog):
    reg: Registry = Registry(
        "text tool",
        builtins=lambda r: r.register("echo", lambda text: text, description="the text"),
        entry_point_group="test.things",
        from_entry_point=_callable_only,
    )
    with caplog.at_level(logging.WARNING, logger="behavior._registry"):
        table = reg.table().set_index("name")
    assert list(table.index) == ["echo", "shout"]
    assert table.loc["shout"].origin == "entry point fake_plugins:shout"
    assert table.loc["shout"].description == "Upper-case text."
    assert table.loc["echo"].origin == "built-in"  # the entry point did not replace it
    assert reg.get("Shout")("hi") == "HI"
    assert "other" not in reg  # another group
    text = caplog.text
    assert "'number'" in text and "expected a callable, found int" in text
    assert "'gone'" in text and "NO_SUCH_NAME" in text
    assert "'echo'" in text and "already registered" in text


def test_entry_point_items_named_and_stamped_by_the_hooks(fake_plugins):
    reg: Registry = Registry(
        "text tool",
        entry_point_group="test.things",
        from_entry_point=_callable_only,
        name_of=lambda item: item.__name__.upper(),
        describe=lambda item: f"tool {item.__name__}",
        with_origin=lambda item, origin: (item, origin),
    )
    entry = reg.entry("shout")
    assert entry.name == "SHOUT"  # the item's name, not the entry point's
    assert entry.description == "tool shout"
    assert entry.item == (fake_plugins.shout, "entry point fake_plugins:shout")
    assert reg.register("mine", str)[1] == "runtime"  # register returns the stored item


# --------------------------------------------------------------------------- public rooms


def _toy(name: str) -> Frontend:
    return Frontend(name, f"{name} format", (f".{name}",), lambda probe: refuse("never"))


def test_pose_frontends_register_unregister_and_list(monkeypatch):
    monkeypatch.setattr(io_registry, "FRONTENDS", io_registry.FRONTENDS.copy())
    registered = bh.io.register_frontend(_toy("toyfmt"))
    assert registered.origin == "runtime"
    row = bh.io.frontends().set_index("name").loc["toyfmt"]
    assert (row.origin, row.description, row.suffixes) == ("runtime", "toyfmt format", ".toyfmt")
    assert bh.io.get_frontend("TOYFMT") is registered
    with pytest.raises(ValueError, match="already registered"):
        bh.io.register_frontend(_toy("toyfmt"))
    assert bh.io.unregister_frontend("ToyFmt") is registered
    assert "toyfmt" not in set(bh.io.frontends()["name"])
    with pytest.raises(UnknownFormatError, match="known formats"):
        bh.io.unregister_frontend("toyfmt")
    # an alias finds the frontend to remove, and the built-ins are all listed
    assert bh.io.unregister_frontend("nc").name == "netcdf"
    assert {"deeplabcut", "sleap", "tidy"} <= set(bh.io.frontends()["name"])


def test_annotation_formats_register_unregister_and_list(monkeypatch):
    monkeypatch.setattr(annot, "ANNOTATION_FORMATS", annot.ANNOTATION_FORMATS.copy())
    table = annot.annotation_formats()
    assert list(table.columns) == list(bh.io.frontends().columns)
    assert set(table["origin"]) == {"built-in"}
    annot.register_annotation_format(_toy("toyannot"))
    assert annot.annotation_formats().set_index("name").loc["toyannot"].origin == "runtime"
    with pytest.raises(ValueError, match="an annotation format named 'toyannot'"):
        annot.register_annotation_format(_toy("toyannot"))
    assert annot.unregister_annotation_format("TOYANNOT").name == "toyannot"
    with pytest.raises(UnknownFormatError, match="known formats"):
        annot.get_annotation_format("toyannot")


def test_annotation_formats_come_from_their_entry_point_group(monkeypatch):
    module = types.ModuleType("fake_annotations")
    module.FORMAT = _toy("plugannot")
    monkeypatch.setitem(sys.modules, "fake_annotations", module)
    ep = importlib.metadata.EntryPoint(
        "plugannot", "fake_annotations:FORMAT", annot.ENTRY_POINT_GROUP
    )
    monkeypatch.setattr(
        importlib.metadata,
        "entry_points",
        lambda *, group=None, **_: [ep] if group == annot.ENTRY_POINT_GROUP else [],
    )
    monkeypatch.setattr(annot, "ANNOTATION_FORMATS", annot.ANNOTATION_FORMATS.fresh())
    fmt = annot.get_annotation_format("plugannot")
    assert fmt.origin == "entry point fake_annotations:FORMAT"
    assert annot.annotation_formats().set_index("name").loc["plugannot"].origin == fmt.origin


class _Still:
    """Every keypoint at the origin."""

    name = "still"

    def estimate(self, video_path, **options):  # pragma: no cover - not called
        raise NotImplementedError


def test_estimators_register_unregister_and_list(monkeypatch):
    monkeypatch.setattr(est, "ESTIMATORS", est.ESTIMATORS.fresh())
    est.register_estimator("still", _Still)
    row = est.estimators().set_index("name").loc["still"]
    assert (row.description, row.origin) == ("Every keypoint at the origin.", "runtime")
    one = _Still()
    est.register_estimator("ready", one)
    assert est.estimators().set_index("name").loc["ready"].description == (
        "Every keypoint at the origin."
    )
    assert est.unregister_estimator("STILL") is _Still
    with pytest.raises(KeyError, match=r"unknown pose estimator 'still'.*deeplabcut"):
        est.get_estimator("still")
    assert est.get_estimator("ready") is one


def test_feature_sets_register_unregister_and_list():
    def nose_x(ds, context):
        """x of the nose."""
        return {"nose_x": context.point("nose")[:, 0]}

    table = features.feature_set_table()
    assert list(table.columns) == ["name", "description", "origin"]
    n_builtin = len(features.BUILTIN_SETS)
    assert table["name"].tolist()[:n_builtin] == list(features.BUILTIN_SETS)
    assert set(table["origin"][:n_builtin]) == {"built-in"}
    features.register_feature_set("nose_x", nose_x)
    try:
        row = features.feature_set_table().set_index("name").loc["nose_x"]
        assert (row.description, row.origin) == ("x of the nose.", "runtime")
        assert features.feature_sets()["nose_x"].function is nose_x
        # one key for every spelling, as in every other registry
        with pytest.raises(PoseDataError, match="already registered"):
            features.register_feature_set("Nose-X", nose_x)
        with pytest.raises(PoseDataError, match="reserved"):
            features.register_feature_set("Kinematics", nose_x)
        with pytest.raises(PoseDataError, match="reserved"):
            features.register_feature_set("DEFAULT", nose_x)
    finally:
        features.unregister_feature_set("NOSE_X")
    assert "nose_x" not in features.feature_sets()
    with pytest.raises(PoseDataError, match="no feature set 'nose_x'"):
        features.unregister_feature_set("nose_x")
    with pytest.raises(PoseDataError, match="cannot be removed"):
        features.unregister_feature_set("Pose")
