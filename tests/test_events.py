"""Tests of behavior.events: runs, bouts <-> labels, bouts from masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from behavior.errors import PoseDataError
from behavior.events import (
    BOUT_COLUMNS,
    bouts_from_labels,
    bouts_from_mask,
    empty_bouts,
    labels_from_bouts,
    other_from_bouts,
    runs,
)

NAMES = ["rest", "walk", "chase", "watch"]


def _labels(codes, fps=10.0, names=NAMES, individuals=None):
    codes = np.asarray(codes)
    if codes.ndim == 1:
        codes = codes[:, None]
    individuals = individuals or [f"m{i}" for i in range(codes.shape[1])]
    return xr.DataArray(
        codes,
        dims=("time", "individual"),
        coords={"time": np.arange(codes.shape[0]) / fps, "individual": individuals},
        attrs={"labels": names, "fps": fps},
    )


def _brute_runs(mask):
    out, start = [], None
    for t, value in enumerate(mask):
        if value and start is None:
            start = t
        if not value and start is not None:
            out.append((start, t))
            start = None
    if start is not None:
        out.append((start, len(mask)))
    return out


# --------------------------------------------------------------------------- runs


def test_runs_finds_starts_and_exclusive_stops():
    starts, stops = runs(np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool))
    assert starts.tolist() == [0, 4, 6]
    assert stops.tolist() == [2, 5, 9]


def test_runs_of_empty_and_all_false_and_all_true():
    assert [a.size for a in runs(np.zeros(0, dtype=bool))] == [0, 0]
    assert [a.size for a in runs(np.zeros(5, dtype=bool))] == [0, 0]
    starts, stops = runs(np.ones(5, dtype=bool))
    assert (starts.tolist(), stops.tolist()) == ([0], [5])


def test_runs_refuses_2d():
    with pytest.raises(PoseDataError, match="1-D"):
        runs(np.zeros((3, 2), dtype=bool))


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(bool, st.integers(0, 60)))
def test_runs_match_a_plain_loop(mask):
    starts, stops = runs(mask)
    assert list(zip(starts.tolist(), stops.tolist(), strict=True)) == _brute_runs(mask)


# --------------------------------------------------------------------------- bouts from labels


def test_bouts_from_labels_table_and_times():
    lab = _labels([[0, 1], [0, 1], [1, -1], [-1, -1], [2, 3]], fps=10.0)
    bouts = bouts_from_labels(lab)
    assert list(bouts.columns) == BOUT_COLUMNS
    m0 = bouts[bouts.individual == "m0"]
    assert m0.behavior.tolist() == ["rest", "walk", "chase"]
    assert m0.start_frame.tolist() == [0, 2, 4]
    assert m0.stop_frame.tolist() == [2, 3, 5]
    assert m0.n_frames.tolist() == [2, 1, 1]
    np.testing.assert_allclose(m0.start, [0.0, 0.2, 0.4])
    # the last bout stops one frame (1 / fps) after the last timestamp
    np.testing.assert_allclose(m0.stop, [0.2, 0.3, 0.5])
    np.testing.assert_allclose(m0.duration, m0.n_frames / 10.0)
    m1 = bouts[bouts.individual == "m1"]
    assert m1.behavior.tolist() == ["walk", "watch"]  # -1 frames make no bout
    assert set(bouts.other) == {""}
    assert bouts.start_frame.dtype == np.int64 and bouts.start.dtype == np.float64


def test_bouts_follow_real_timestamps():
    lab = _labels([0, 0, 1, 1])
    lab = lab.assign_coords(time=[0.0, 0.1, 0.25, 0.4])
    bouts = bouts_from_labels(lab)
    np.testing.assert_allclose(bouts.start, [0.0, 0.25])
    np.testing.assert_allclose(bouts.stop, [0.25, 0.5])


def test_bouts_in_frames_without_fps():
    lab = xr.DataArray([[1], [1], [0]], dims=("time", "individual"), attrs={"labels": NAMES})
    bouts = bouts_from_labels(lab)
    assert bouts.start.tolist() == [0.0, 2.0]
    assert bouts.stop.tolist() == [2.0, 3.0]


def test_bouts_split_where_the_partner_changes():
    lab = _labels([[2, 0, 0], [2, 0, 0], [2, 0, 0], [3, 0, 0]], individuals=["a", "b", "c"])
    other = xr.DataArray(
        [["b", "", ""], ["c", "", ""], ["c", "", ""], ["c", "", ""]],
        dims=("time", "individual"),
        coords={"individual": ["a", "b", "c"]},
    )
    bouts = bouts_from_labels(lab, other=other)
    a = bouts[bouts.individual == "a"]
    assert list(zip(a.behavior, a.other, a.n_frames, strict=True)) == [
        ("chase", "b", 1),
        ("chase", "c", 2),
        ("watch", "c", 1),
    ]
    # integer partners index the individuals, -1 = none
    codes = xr.DataArray(
        [[1, -1, -1], [2, -1, -1], [2, -1, -1], [2, -1, -1]], dims=("time", "individual")
    )
    again = bouts_from_labels(lab, other=codes)
    pd.testing.assert_frame_equal(again, bouts)


def test_float_labels_with_nan_are_unlabelled():
    lab = _labels(np.array([0.0, np.nan, 1.0]))
    assert bouts_from_labels(lab).behavior.tolist() == ["rest", "walk"]


def test_bouts_from_labels_errors():
    with pytest.raises(PoseDataError, match="code 5 has no name"):
        bouts_from_labels(_labels([0, 5]))
    with pytest.raises(PoseDataError, match="codes >= -1"):
        bouts_from_labels(_labels([0, -2]))
    with pytest.raises(PoseDataError, match="individual"):
        bouts_from_labels(xr.DataArray([0, 1], dims=["time"]))
    with pytest.raises(PoseDataError, match="whole-number"):
        bouts_from_labels(_labels(np.array([0.5, 1.0])))


def test_default_names_are_the_codes():
    lab = xr.DataArray([[0], [2]], dims=("time", "individual"))
    assert bouts_from_labels(lab).behavior.tolist() == ["0", "2"]


# --------------------------------------------------------------------------- labels from bouts


def test_labels_from_bouts_errors():
    like = _labels(np.zeros((5, 1), dtype=int))

    def table(**columns):
        base = {"individual": ["m0"], "behavior": ["walk"], "start_frame": [0], "stop_frame": [2]}
        return pd.DataFrame(base | columns)

    with pytest.raises(PoseDataError, match="not in like.individual"):
        labels_from_bouts(table(individual=["zz"]), like)
    with pytest.raises(PoseDataError, match="not in names"):
        labels_from_bouts(table(behavior=["fly"]), like)
    with pytest.raises(PoseDataError, match="0 <= start_frame < stop_frame <= 5"):
        labels_from_bouts(table(stop_frame=[9]), like)
    overlapping = pd.concat([table(), table(start_frame=[1], stop_frame=[3])], ignore_index=True)
    with pytest.raises(PoseDataError, match="overlap"):
        labels_from_bouts(overlapping, like)
    with pytest.raises(PoseDataError, match="missing column"):
        labels_from_bouts(pd.DataFrame({"individual": ["m0"]}), like)


def test_labels_from_an_empty_table_are_all_unlabelled():
    like = _labels(np.zeros((4, 2), dtype=int))
    out = labels_from_bouts(empty_bouts(), like)
    assert (out.values == -1).all() and out.attrs["labels"] == NAMES
    assert list(empty_bouts().columns) == BOUT_COLUMNS


label_arrays = hnp.arrays(
    np.int64,
    st.tuples(st.integers(1, 40), st.integers(1, 3)),
    elements=st.integers(-1, len(NAMES) - 1),
)


@settings(max_examples=30, deadline=None)
@given(label_arrays, st.sampled_from([10.0, 25.0, 30.0]))
def test_labels_bouts_labels_round_trip_is_exact(codes, fps):
    lab = _labels(codes, fps=fps)
    bouts = bouts_from_labels(lab)
    back = labels_from_bouts(bouts, lab)
    np.testing.assert_array_equal(back.values, lab.values)
    assert back.attrs["labels"] == NAMES
    np.testing.assert_array_equal(back.time.values, lab.time.values)
    # bouts -> labels -> bouts is exact too
    pd.testing.assert_frame_equal(bouts_from_labels(back), bouts)
    # the table covers exactly the labelled frames
    assert bouts.n_frames.sum() == (codes >= 0).sum()
    np.testing.assert_allclose(bouts.duration, bouts.n_frames / fps)


@settings(max_examples=30, deadline=None)
@given(label_arrays, st.data())
def test_round_trip_with_partners(codes, data):
    n_ind = codes.shape[1]
    partners = data.draw(
        hnp.arrays(np.int64, codes.shape, elements=st.integers(-1, n_ind - 1)), label="partners"
    )
    partners = np.where(codes >= 0, partners, -1)
    lab = _labels(codes)
    names = np.array([*lab.individual.values.tolist(), ""], dtype=object)
    other = xr.DataArray(names[partners], dims=("time", "individual"))
    bouts = bouts_from_labels(lab, other=other)
    back = labels_from_bouts(bouts, lab)
    np.testing.assert_array_equal(back.values, codes)
    np.testing.assert_array_equal(other_from_bouts(bouts, lab).values, other.values)


# --------------------------------------------------------------------------- bouts from masks


def test_bouts_from_mask_with_other_dim():
    mask = xr.DataArray(
        np.zeros((6, 2, 2), dtype=bool),
        dims=("time", "individual", "other"),
        coords={
            "time": np.arange(6) / 30,
            "individual": ["a", "b"],
            "other": ["a", "b"],
        },
    )
    mask[1:4, 0, 1] = True
    mask[4:6, 1, 0] = True
    bouts = bouts_from_mask(mask, "chase")
    assert list(
        zip(bouts.individual, bouts.other, bouts.start_frame, bouts.stop_frame, strict=True)
    ) == [
        ("a", "b", 1, 4),
        ("b", "a", 4, 6),
    ]
    assert set(bouts.behavior) == {"chase"}
    np.testing.assert_allclose(bouts.duration, [3 / 30, 2 / 30])


def test_bouts_from_mask_refuses_extra_dims_and_reads_nan_as_false():
    with pytest.raises(PoseDataError, match="extra dimension"):
        bouts_from_mask(xr.DataArray(np.zeros((2, 1, 1)), dims=("time", "individual", "x")), "a")
    mask = xr.DataArray([[1.0], [np.nan], [1.0]], dims=("time", "individual"))
    assert bouts_from_mask(mask, "freeze").n_frames.tolist() == [1, 1]


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 3))))
def test_mask_bouts_mask_round_trip(values):
    mask = xr.DataArray(
        values,
        dims=("time", "individual"),
        coords={"individual": [f"m{i}" for i in range(values.shape[1])]},
        attrs={"fps": 30.0},
    )
    bouts = bouts_from_mask(mask, "freeze")
    back = labels_from_bouts(bouts, mask, names=["freeze"])
    np.testing.assert_array_equal(back.values == 0, values)
    for j in range(values.shape[1]):
        mine = bouts[bouts.individual == f"m{j}"]
        expected = _brute_runs(values[:, j])
        assert list(zip(mine.start_frame, mine.stop_frame, strict=True)) == expected
