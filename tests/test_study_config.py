"""behavior.study.config: the analysis configuration, its checks and its template."""

from __future__ import annotations

import contextlib
import dataclasses
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behavior.errors import PoseDataError
from behavior.study.config import (
    AnalysisConfig,
    ConfigError,
    example_config,
    load_config,
)


def test_defaults_and_the_template_agree():
    text = example_config()
    tomllib.loads(text)  # valid TOML
    assert load_config(text) == load_config() == load_config(None) == load_config({})
    assert load_config(text).hash() == AnalysisConfig().hash()
    # every section of the configuration is in the template
    for section in dataclasses.fields(AnalysisConfig):
        assert f"[{section.name}" in text or f"[{section.name}." in text


def test_to_dict_round_trips_and_hash_follows_content():
    config = load_config(
        {
            "clean": {"window": "0.3 s", "smooth": "savgol"},
            "rules": {"presets": ["freezing"], "freezing": {"max_speed": "2 cm/s"}},
            "zones": {"centre": {"shape": "circle", "center": [1, 2], "radius": 3}},
        }
    )
    again = load_config(config.to_dict())
    assert again == config
    assert again.hash() == config.hash()
    assert config.hash() != load_config().hash()
    assert config.rules.options["freezing"]["max_speed"] == "2 cm/s"
    pixels = load_config(
        {"rules": {"chase": {"max_distance": "40 px", "min_duration": "15 frames"}}}
    )
    assert pixels.rules.options["chase"]["max_distance"] == "40 px"
    assert config.zones["centre"]["center"] == (1.0, 2.0)
    assert config.zone_objects()["centre"].contains([[1.5, 2.5]]).tolist() == [True]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.clean = None  # type: ignore[misc]


def test_a_file_path_is_read(tmp_path):
    path = tmp_path / "analysis.toml"
    path.write_text('[features]\nbin_size = "100 ms"\n')
    assert load_config(path).features.bin_size == "100 ms"
    assert load_config(str(path)).features.bin_size == "100 ms"
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_config(tmp_path / "missing.toml")


def test_a_bad_value_names_key_allowed_values_and_line(tmp_path):
    path = tmp_path / "analysis.toml"
    path.write_text('# my study\n[input]\nfps = 30\n\n[clean]\nwindow = "0.2 s"\nsmooth = "mean"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.key == "clean.smooth"
    assert err.line == 7
    message = str(err)
    assert "analysis.toml line 7" in message
    assert "clean.smooth" in message
    for allowed in ("median", "savgol", "kalman", "none"):
        assert repr(allowed) in message
    assert "'mean'" in message and "did you mean 'median'" in message


def test_an_unknown_key_suggests_the_close_one():
    text = '[clean]\nenabled = true\n\n[kinematics]\nbody_keypoint = ["nose"]\n'
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert info.value.key == "kinematics.body_keypoint"
    assert info.value.line == 5
    assert "did you mean 'body_keypoints'" in str(info.value)


def test_an_unknown_section_suggests_the_close_one():
    with pytest.raises(ConfigError) as info:
        load_config("[clena]\nwindow = 1\n")
    assert info.value.key == "clena" and info.value.line == 1
    assert "did you mean 'clean'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ('[rules]\npresets = ["chse"]\n', "rules.presets", 2, ["'chase'", "did you mean"]),
        ("[rules.freezing]\nmax_sped = 1\n", "rules.freezing.max_sped", 2, ["max_speed"]),
        ('[rules.freezing]\nmax_speed = "fast"\n', "rules.freezing.max_speed", 2, ["'1 cm/s'"]),
        ('[rules.chase]\nmax_distance = "2 s"\n', "rules.chase.max_distance", 2, ["'5 cm'"]),
        ("[rules.freezing]\nwindow_test = 1\n", "rules.freezing.window_test", 2, ["true or"]),
        ('[rules.chace]\nmin_speed = "1 cm/s"\n', "rules.chace", 1, ["'chase'"]),
        (
            '[features]\nbin_size = "fast"\n',
            "features.bin_size",
            2,
            ["positive duration", "'fast'"],
        ),
        ('[clean]\nwindow = "0 s"\n', "clean.window", 2, ["positive duration"]),
        ("[clean]\nconfidence_threshold = 2\n", "clean.confidence_threshold", 2, ["0 to 1"]),
        ('[calibration]\nbody_length = "8 s"\n', "calibration.body_length", 2, ["in cm"]),
        ('[input]\nformat = "deeplabcat"\n', "input.format", 2, ["'deeplabcut'"]),
        ("[input]\nindividuals = [1]\n", "input.individuals", 2, ["list of names"]),
        (
            '[zones.centre]\nshape = "circle"\ncenter = [0, 0]\nradius = -1\n',
            "zones.centre.radius",
            4,
            ["number"],
        ),
        ('[zones.box]\nshape = "square"\n', "zones.box.shape", 2, ["'rectangle'"]),
        ('[zones.box]\nshape = "rectangle"\n', "zones.box.bounds", 1, ["needs bounds"]),
        ("[video]\nclip_seconds = true\n", "video.clip_seconds", 2, ["number"]),
        ('clean = "yes"\n', "clean", 1, ["table"]),
    ],
)
def test_errors_name_the_key_and_line(text, key, line, words):
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert info.value.key == key
    assert info.value.line == line
    for word in words:
        assert word in str(info.value)


def test_dotted_keys_and_quoted_keys_find_their_line():
    text = 'input.fps = 30\nclean."smooth" = "no"\n'
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert info.value.key == "clean.smooth" and info.value.line == 2


def test_invalid_toml_gives_its_line():
    with pytest.raises(ConfigError, match="line 2"):
        load_config("[clean]\nwindow = = 2\n")


def test_config_error_is_a_pose_data_error():
    assert issubclass(ConfigError, PoseDataError)
    assert issubclass(ConfigError, ValueError)


def test_config_errors_pickle_unchanged():
    import pickle

    with pytest.raises(ConfigError) as info:
        load_config("[clean]\nsmooth = 'x'\n")
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is ConfigError
    assert (str(back), back.key, back.line) == (str(info.value), "clean.smooth", 2)


def test_mapping_errors_have_no_line():
    with pytest.raises(ConfigError) as info:
        load_config({"report": {"figures": "yes"}})
    assert info.value.key == "report.figures" and info.value.line is None
    assert "true or false" in str(info.value)


# --------------------------------------------------------------------------- fuzzing

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["", "0.2 s", "50 ms", "8 cm", "15 cm/s", "median", "circle", "nose"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

_KEYS = {
    "input": ["format", "fps", "individuals"],
    "clean": [
        "enabled",
        "confidence_threshold",
        "max_jump_speed",
        "max_gap",
        "smooth",
        "window",
        "interpolation",
        "polyorder",
    ],
    "calibration": ["px_per_cm", "body_length", "body_keypoints"],
    "kinematics": ["enabled", "body_keypoints", "heading_keypoints"],
    "rules": ["presets", "freezing", "chase", "zone_visits"],
    "zones": ["centre", "box"],
    "classifier": ["path"],
    "syllables": ["path"],
    "features": ["enabled", "bin_size"],
    "report": ["figures", "html"],
    "video": ["clip_seconds", "start"],
}


@st.composite
def _configs(draw):
    config = {}
    for section in draw(st.lists(st.sampled_from([*_KEYS, "other"]), max_size=4, unique=True)):
        keys = _KEYS.get(section, ["x"])
        table = {}
        for key in draw(st.lists(st.sampled_from([*keys, "typo"]), max_size=3, unique=True)):
            table[key] = draw(_VALUES)
        config[section] = table if draw(st.booleans()) or not table else draw(_VALUES)
    return config


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_configs())
def test_fuzzed_configs_load_or_raise_config_error(data):
    try:
        config = load_config(data)
    except ConfigError as err:
        assert str(err)
        return
    # a config that loads is complete, hashable to JSON and round-trips
    assert load_config(config.to_dict()) == config
    assert len(config.hash()) == 64
    config.zone_objects()


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_fuzzed_toml_text_loads_or_raises_config_error(text):
    with contextlib.suppress(ConfigError):
        load_config(text + "\n")  # a newline: always read as TOML text, never as a path


def test_model_paths_are_checked_and_resolved_from_the_config_folder(tmp_path):
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "clf.skops"
    model.write_bytes(b"x")
    config_file = tmp_path / "analysis.toml"
    config_file.write_text('[classifier]\npath = "models/clf.skops"\n')
    assert load_config(config_file).classifier.path == str(model)
    config_file.write_text('[report]\nhtml = true\n\n[syllables]\npath = "models/syl.nc"\n')
    with pytest.raises(ConfigError) as info:
        load_config(config_file)
    assert info.value.key == "syllables.path" and info.value.line == 5
    assert "syl.nc" in str(info.value) and "no such file" in str(info.value)
