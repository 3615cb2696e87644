"""Tests for behavior/units.py: durations in seconds, text and frames."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import behavior as bh
from behavior.units import to_frames, to_seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("10 min", 600.0),
        ("0.5 s", 0.5),
        ("250 ms", 0.25),
        ("1 h", 3600.0),
        ("2", 2.0),
        (1.5, 1.5),
        ("3seconds", 3.0),
        ("1e-1 s", 0.1),
    ],
)
def test_to_seconds(value, seconds):
    assert to_seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["ten minutes", "5 furlongs", -1, "nan s", True, [1]])
def test_to_seconds_rejects_with_argument_name(value):
    with pytest.raises(bh.PoseDataError, match="window"):
        to_seconds(value, name="window")


def test_to_frames():
    assert to_frames("0.2 s", fps=30) == 6
    assert to_frames(7, fps=None) == 7
    assert to_frames("7 frames", fps=None) == 7
    assert to_frames(0.5, fps=60) == 30


def test_to_frames_needs_fps_for_durations():
    with pytest.raises(bh.PoseDataError, match=r"max_gap.*fps"):
        to_frames("0.2 s", fps=None, name="max_gap")


@given(st.integers(0, 10_000), st.floats(1, 1000))
def test_frames_seconds_round_trip(frames, fps):
    assert to_frames(frames / fps, fps=fps) == frames
