"""Tests of behavior/bouts.py: runs, bouts <-> labels, bouts from masks with thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import behavior as bh
from behavior import bouts as bouts_room
from behavior.bouts import (
    BOUT_COLUMNS,
    bout_table,
    bouts,
    bouts_from_labels,
    duration_frames,
    empty_bouts,
    filter_runs,
    labels_from_bouts,
    mask_from_bouts,
    other_from_bouts,
    paint_runs,
    runs,
    stop_times,
)
from behavior.errors import PoseDataError

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


def test_bouts_of_a_mask_with_other_dim():
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
    table = bouts(mask, behavior="chase")
    assert list(
        zip(table.individual, table.other, table.start_frame, table.stop_frame, strict=True)
    ) == [
        ("a", "b", 1, 4),
        ("b", "a", 4, 6),
    ]
    assert set(table.behavior) == {"chase"}
    np.testing.assert_allclose(table.duration, [3 / 30, 2 / 30])


def test_bouts_refuse_extra_dims_and_read_nan_as_false():
    with pytest.raises(PoseDataError, match="extra dimension"):
        bouts(xr.DataArray(np.zeros((2, 1, 1)), dims=("time", "individual", "x")), behavior="a")
    mask = xr.DataArray([[1.0], [np.nan], [1.0]], dims=("time", "individual"))
    assert bouts(mask, behavior="freeze").n_frames.tolist() == [1, 1]


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 3))))
def test_mask_bouts_labels_round_trip(values):
    mask = xr.DataArray(
        values,
        dims=("time", "individual"),
        coords={"individual": [f"m{i}" for i in range(values.shape[1])]},
        attrs={"fps": 30.0},
    )
    table = bouts(mask, behavior="freeze")
    back = labels_from_bouts(table, mask, names=["freeze"])
    np.testing.assert_array_equal(back.values == 0, values)
    for j in range(values.shape[1]):
        mine = table[table.individual == f"m{j}"]
        expected = _brute_runs(values[:, j])
        assert list(zip(mine.start_frame, mine.stop_frame, strict=True)) == expected


def _frames(table: pd.DataFrame) -> list[list[int]]:
    return table[["start_frame", "stop_frame"]].values.tolist()


# --------------------------------------------------------------------------- thresholds and merging


def test_min_duration_in_frames_and_seconds():
    m = np.array([1, 1, 0, 1, 1, 1, 0, 1], dtype=bool)
    assert _frames(bouts(m, min_duration=3)) == [[3, 6]]
    # 0.3 s at 10 fps is 3 frames: a 3-frame bout is kept (no off-by-one)
    assert _frames(bouts(m, min_duration="0.3 s", fps=10)) == [[3, 6]]
    assert _frames(bouts(m, min_duration="300 ms", fps=10)) == [[3, 6]]
    assert _frames(bouts(m, min_duration="0.31 s", fps=10)) == []


def test_merge_gap_is_strict():
    m = np.array([1, 0, 1, 0, 0, 1], dtype=bool)
    assert _frames(bouts(m, merge_gap=1)) == [[0, 1], [2, 3], [5, 6]]  # gap 1 is not < 1
    assert _frames(bouts(m, merge_gap=2)) == [[0, 3], [5, 6]]
    assert _frames(bouts(m, merge_gap=3)) == [[0, 6]]


def test_merge_then_min_duration():
    # two 2-frame bouts 1 frame apart: merged to 5 frames, then kept by min 4
    m = np.array([1, 1, 0, 1, 1, 0, 0, 0], dtype=bool)
    assert _frames(bouts(m, merge_gap=2, min_duration=4)) == [[0, 5]]
    assert _frames(bouts(m, min_duration=4)) == []


def test_min_fraction_window():
    # 8 of 10 frames True within a 10-frame window: one bout, trimmed to True frames
    m = np.array([0, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0], dtype=bool)
    assert _frames(bouts(m, min_fraction=0.8, window=10)) == [[2, 12]]
    assert _frames(bouts(m, min_fraction=0.9, window=10)) == []
    # a window longer than the data covers nothing
    assert _frames(bouts(m, min_fraction=0.1, window=20)) == []
    # fraction 1 with window w is "runs of at least w frames"
    assert _frames(bouts(m, min_fraction=1.0, window=3)) == [[5, 8], [9, 12]]


def _brute_cover(m: np.ndarray, f: float, w: int) -> np.ndarray:
    n = m.size
    out = np.zeros(n, bool)
    for a in range(n):
        for b in range(a + w, n + 1):
            if m[a:b].sum() >= f * (b - a) - 1e-9:
                out[a:b] = True
    return out


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=40),
    st.sampled_from([0.5, 0.6, 0.75, 0.8, 1.0]),
    st.integers(1, 8),
)
def test_fraction_cover_matches_brute_force(values, f, w):
    m = np.array(values)
    fast = bouts_room._fraction_cover(m[:, None], f, w)[:, 0]
    assert np.array_equal(fast, _brute_cover(m, f, w))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.booleans())
def test_mask_bouts_mask_round_trip(values, pairwise):
    v = np.array(values)
    if pairwise:
        data = np.zeros((v.size, 2, 2), bool)
        data[:, 0, 1] = v
        data[:, 1, 0] = v[::-1]
        mask = xr.DataArray(
            data,
            dims=("time", "individual", "other"),
            coords={"individual": ["a", "b"], "other": ["a", "b"]},
        )
    else:
        mask = xr.DataArray(v[:, None], dims=("time", "individual"), coords={"individual": ["a"]})
    back = mask_from_bouts(bouts(mask), mask)
    assert np.array_equal(back.values, mask.values)


def test_bouts_errors():
    m = np.ones(5, bool)
    with pytest.raises(bh.PoseDataError, match="go together"):
        bouts(m, min_fraction=0.8)
    with pytest.raises(bh.PoseDataError, match="frame rate"):
        bouts(m, min_duration="1 s")
    with pytest.raises(bh.PoseDataError, match="min_fraction"):
        bouts(m, min_fraction=1.5, window=2)


# --------------------------------------------------------------------------- the array-level API


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 3))),
    st.sampled_from([0, 2, "0.1 s", 0.25]),
    st.sampled_from([0, 1, "0.1 s", 0.05]),
)
def test_filter_runs_and_paint_runs_are_the_steps_of_bouts(values, min_duration, merge_gap):
    mask = xr.DataArray(
        values,
        dims=("time", "individual"),
        coords={"individual": [f"m{i}" for i in range(values.shape[1])]},
        attrs={"fps": 30.0},
    )
    expected = mask_from_bouts(bouts(mask, min_duration, merge_gap), mask).values
    cols, starts, stops = filter_runs(
        values,
        duration_frames(min_duration, 30.0, name="min_duration"),
        duration_frames(merge_gap, 30.0, name="merge_gap"),
    )
    np.testing.assert_array_equal(paint_runs(*values.shape, cols, starts, stops), expected)


def test_duration_frames_is_not_rounded_and_needs_a_frame_rate():
    assert duration_frames("0.25 s", 30) == pytest.approx(7.5)
    assert duration_frames(0.5, 10) == pytest.approx(5.0)
    assert duration_frames("4 frames", None) == 4.0
    assert duration_frames(None, None) == 0.0
    with pytest.raises(PoseDataError, match="frame rate"):
        duration_frames("1 s", None, name="min_duration")
    with pytest.raises(PoseDataError, match="non-negative"):
        duration_frames(-1, 30)


def test_stop_times_and_bout_table_agree_with_bouts():
    mask = xr.DataArray(
        np.array([0, 1, 1, 0, 1], bool)[:, None],
        dims=("time", "individual"),
        coords={"time": np.arange(5) / 10, "individual": ["a"]},
        attrs={"fps": 10.0},
    )
    np.testing.assert_allclose(stop_times(mask), (np.arange(5) + 1) / 10)
    found = bouts(mask, behavior="run")
    made = bout_table(
        mask, found.individual, found.behavior, found.start_frame, found.stop_frame, fps=10.0
    )
    pd.testing.assert_frame_equal(made, found)
    with pytest.raises(PoseDataError, match="start_frame < stop_frame"):
        bout_table(mask, ["a"], ["run"], [3], [9])


def test_label_codes_checks_codes():
    assert bouts_room.label_codes(xr.DataArray([1.0, np.nan])).tolist() == [1, -1]
    with pytest.raises(PoseDataError, match="whole-number"):
        bouts_room.label_codes(xr.DataArray([0.5]))


def test_bouts_is_reachable_lazily():
    assert bh.bouts.bouts is bouts
