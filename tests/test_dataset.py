"""Tests for behavior/dataset.py: building, validating and logging pose datasets."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import behavior as bh
from behavior.dataset import append_log, read_log, require_dims


def test_from_numpy_schema_matches_movement(small_poses):
    ds = small_poses
    assert ds.position.dims == ("time", "space", "keypoint", "individual")
    assert ds.confidence.dims == ("time", "keypoint", "individual")
    assert list(ds.space.values) == ["x", "y"]
    assert ds.attrs["ds_type"] == "poses"
    assert ds.attrs["time_unit"] == "seconds"
    assert ds.attrs["fps"] == 30.0
    assert ds.attrs["space_unit"] == "pixels"
    np.testing.assert_allclose(ds.time.values[:3], [0, 1 / 30, 2 / 30])


def test_from_numpy_defaults_without_fps():
    ds = bh.from_numpy(np.zeros((4, 3, 2, 2)))
    assert ds.attrs["time_unit"] == "frames"
    assert "fps" not in ds.attrs
    assert list(ds.individual.values) == ["id_0", "id_1"]
    assert list(ds.keypoint.values) == ["keypoint_0", "keypoint_1"]
    assert list(ds.space.values) == ["x", "y", "z"]
    assert np.isnan(ds.confidence).all()


def test_from_numpy_keeps_irregular_timestamps():
    time = np.array([0.0, 0.1, 0.2, 0.35, 0.45])
    ds = bh.from_numpy(np.zeros((5, 2, 1, 1)), time=time)
    np.testing.assert_array_equal(ds.time.values, time)
    assert ds.attrs["fps"] == pytest.approx(1 / 0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"position": np.zeros((5, 4, 1, 1))}, "2 or 3 spatial coordinates"),
        ({"position": np.zeros((5, 2))}, "shape"),
        ({"position": np.zeros((0, 2, 1, 1))}, "at least one frame"),
        ({"position": np.zeros((5, 2, 1, 1)), "confidence": np.zeros((5, 2, 1))}, "confidence"),
        ({"position": np.zeros((5, 2, 2, 1)), "keypoint_names": ["a"]}, "keypoint_names"),
        ({"position": np.zeros((5, 2, 2, 1)), "keypoint_names": ["a", "a"]}, "duplicates"),
        ({"position": np.zeros((5, 2, 1, 1)), "fps": -3}, "fps"),
        ({"position": np.zeros((3, 2, 1, 1)), "time": [0, 2, 1]}, "increasing"),
        ({"position": np.zeros((3, 2, 1, 1)), "time": [0, 1]}, "timestamps"),
    ],
)
def test_from_numpy_rejects_bad_input(kwargs, match):
    with pytest.raises(bh.PoseDataError, match=match):
        bh.from_numpy(**kwargs)


def test_pose_data_error_is_value_error():
    assert issubclass(bh.PoseDataError, ValueError)
    assert issubclass(bh.FileFormatError, bh.PoseDataError)
    assert issubclass(bh.UnknownFormatError, bh.FileFormatError)


def test_validate_names_missing_dimension(small_poses):
    bad = small_poses.rename({"keypoint": "keypoints"})
    with pytest.raises(bh.PoseDataError, match=r"keypoint.*movement < 0.17"):
        bh.validate(bad)


def test_validate_rejects_wrong_space_and_confidence(small_poses):
    with pytest.raises(bh.PoseDataError, match="space"):
        bh.validate(small_poses.assign_coords(space=["a", "b"]))
    bad = small_poses.copy()
    bad["confidence"] = bad.confidence.isel(keypoint=0, drop=True)
    with pytest.raises(bh.PoseDataError, match="confidence: expected dims"):
        bh.validate(bad)
    with pytest.raises(bh.PoseDataError, match="'position' variable"):
        bh.validate(small_poses.drop_vars("position"))
    with pytest.raises(bh.PoseDataError, match="xarray.Dataset"):
        bh.validate(small_poses.position)


def test_validate_accepts_extra_ensemble_dim(small_poses):
    stacked = xr.concat([small_poses, small_poses], dim="ensemble")
    assert bh.validate(stacked) is stacked


def test_require_dims_message():
    da = xr.DataArray(np.zeros((2, 3)), dims=["time", "space"], name="velocity")
    require_dims(da, "time", "space")
    with pytest.raises(bh.PoseDataError, match=r"velocity: missing dimension\(s\) \['keypoint'\]"):
        require_dims(da, "time", "keypoint")


def test_append_log_does_not_mutate_input(small_poses):
    before = dict(small_poses.attrs)
    out = append_log(small_poses, "step_one", window=3, name="x")
    out = append_log(out, "step_two", values=np.arange(3))
    assert small_poses.attrs == before
    records = read_log(out)
    assert [r["operation"] for r in records] == ["step_one", "step_two"]
    assert records[0]["parameters"] == {"window": 3, "name": "x"}
    assert "ndarray" in records[1]["parameters"]["values"]


finite = st.floats(-1e4, 1e4, allow_nan=False, width=64)


@settings(max_examples=30, deadline=None)
@given(
    position=hnp.arrays(
        np.float64,
        st.tuples(
            st.integers(1, 20), st.sampled_from([2, 3]), st.integers(1, 4), st.integers(1, 3)
        ),
        elements=finite | st.just(np.nan),
    ),
    fps=st.none() | st.floats(1, 500),
)
def test_from_numpy_preserves_values_and_validates(position, fps):
    ds = bh.from_numpy(position, fps=fps)
    bh.validate(ds)
    np.testing.assert_array_equal(ds.position.values, position)
    assert ds.sizes["time"] == position.shape[0]
    if fps is not None:
        np.testing.assert_allclose(np.diff(ds.time.values), 1 / fps, rtol=1e-9)


# --- issue 15: no bad input passes in silence -------------------------------------------


def test_validate_refuses_infinite_positions(small_poses):
    ds = small_poses.copy(deep=True)
    ds["position"].values[4, 1, 2, 1] = -np.inf
    match = (
        r"position: .*found 1 infinite value\(s\), the first at "
        r"time=0\.133.*space=y, keypoint=tail_base, individual=mouse_b"
    )
    with pytest.raises(bh.PoseDataError, match=match):
        bh.validate(ds)


@given(st.sampled_from([np.inf, -np.inf]), st.integers(0, 49), st.integers(0, 1))
@settings(max_examples=20, deadline=None)
def test_validate_refuses_any_infinite_point(value, t, s):
    rng = np.random.default_rng(t)
    position = rng.normal(size=(50, 2, 3, 2))
    position[t, s, t % 3, t % 2] = value
    with pytest.raises(bh.PoseDataError, match="infinite"):
        bh.validate(bh.from_numpy(position, fps=30))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_from_numpy_refuses_complex_positions(dtype):
    position = np.ones((5, 2, 1, 1), dtype=dtype) * (1 + 2j)
    with pytest.raises(bh.PoseDataError, match=r"position: expected real numbers, found complex"):
        bh.from_numpy(position)
    with pytest.raises(bh.PoseDataError, match=r"confidence: expected real numbers"):
        bh.from_numpy(np.zeros((5, 2, 1, 1)), np.ones((5, 1, 1), dtype=dtype))


def test_from_numpy_refuses_boolean_positions():
    with pytest.raises(bh.PoseDataError, match=r"position: expected real numbers, found dtype"):
        bh.from_numpy(np.zeros((5, 2, 1, 1), dtype=bool))


@pytest.mark.parametrize("fps", [1e-300, 1e300, "abc", True])
def test_from_numpy_refuses_an_absurd_fps(fps):
    with pytest.raises(bh.PoseDataError, match=r"^fps: expected a positive frame rate"):
        bh.from_numpy(np.zeros((5, 2, 1, 1)), fps=fps)


def test_check_fps_is_the_one_public_check():
    from behavior.dataset import check_fps

    assert check_fps("25", "fps") == 25.0
    assert check_fps(np.float32(30)) == 30.0
    with pytest.raises(bh.PoseDataError, match=r"^attrs\['fps'\]: .*found 0"):
        check_fps(0, "attrs['fps']")
