"""Tests for behavior/social.py: pairwise centroid distances."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior import social
from behavior.errors import PoseDataError


def _poses(n=30, n_ind=3, n_space=2, seed=0, nan_fraction=0.0):
    rng = np.random.default_rng(seed)
    position = rng.uniform(0, 500, size=(n, n_space, 4, n_ind))
    if nan_fraction:
        missing = rng.random((n, 4, n_ind)) < nan_fraction
        position[np.broadcast_to(missing[:, None], position.shape)] = np.nan
    return bh.from_numpy(
        position,
        keypoint_names=["nose", "left_ear", "right_ear", "tail_base"],
        individual_names=[f"m{i}" for i in range(n_ind)],
        fps=30,
    )


def _brute_force(ds, keypoints=None):
    pos = ds.position if keypoints is None else ds.position.sel(keypoint=keypoints)
    values = pos.values  # (time, space, keypoint, individual)
    valid = ~np.isnan(values).any(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        center = np.where(valid, values, 0).sum(2) / valid.sum(2)  # (time, space, individual)
    n_ind = center.shape[-1]
    out = np.full((center.shape[0], n_ind, n_ind), np.nan)
    for i in range(n_ind):
        for j in range(n_ind):
            if i != j:
                out[:, i, j] = np.linalg.norm(center[:, :, i] - center[:, :, j], axis=1)
    return out


def test_centroid_distances_dims_coords_and_values():
    ds = _poses(nan_fraction=0.2)
    d = social.centroid_distances(ds)
    assert d.dims == ("time", "individual", "other")
    assert d.name == "centroid_distance"
    assert d.individual.values.tolist() == d.other.values.tolist() == ["m0", "m1", "m2"]
    np.testing.assert_array_equal(d.time.values, ds.time.values)
    np.testing.assert_allclose(d.values, _brute_force(ds), rtol=1e-12)
    assert json.loads(d.attrs["log"])[-1]["operation"] == "social.centroid_distances"
    assert d.attrs["fps"] == 30


def test_diagonal_is_nan_and_the_matrix_is_symmetric():
    d = social.centroid_distances(_poses()).values
    assert np.isnan(np.diagonal(d, axis1=1, axis2=2)).all()
    np.testing.assert_array_equal(d, np.swapaxes(d, 1, 2))
    off = ~np.eye(3, dtype=bool)
    assert (d[:, off] > 0).all()


def test_nan_only_where_an_animal_has_no_keypoint():
    ds = _poses(n=5)
    ds["position"][2, :, :, 1] = np.nan  # m1 unseen in frame 2
    ds["position"][3, :, :2, 0] = np.nan  # m0 half seen in frame 3
    d = social.centroid_distances(ds)
    assert d.sel(individual="m1").isel(time=2).isnull().all()
    assert d.sel(other="m1").isel(time=2).isnull().all()
    assert d.sel(individual="m0", other="m2").isel(time=2).notnull()
    assert d.sel(individual="m0", other="m1").isel(time=3).notnull()


def test_keypoint_subset_3d_and_extra_dims():
    ds = _poses(n_space=3, n_ind=2)
    head = social.centroid_distances(ds, keypoints=["nose", "left_ear", "right_ear"])
    np.testing.assert_allclose(
        head.values, _brute_force(ds, ["nose", "left_ear", "right_ear"]), rtol=1e-12
    )
    stacked = xr.concat([ds.position, ds.position * 2], dim="ensemble")
    both = social.centroid_distances(stacked)
    assert both.dims == ("ensemble", "time", "individual", "other")
    np.testing.assert_allclose(both.isel(ensemble=1), 2 * both.isel(ensemble=0))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    shift=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
    angle=st.floats(-np.pi, np.pi),
)
def test_moving_or_rotating_the_arena_keeps_distances(seed, shift, angle):
    ds = _poses(n=10, seed=seed, nan_fraction=0.1)
    x, y = ds.position.sel(space="x"), ds.position.sel(space="y")
    cos, sin = np.cos(angle), np.sin(angle)
    moved = xr.concat(
        [cos * x - sin * y + shift[0], sin * x + cos * y + shift[1]], dim="space"
    ).transpose(*ds.position.dims)
    a = social.centroid_distances(ds.position).values
    b = social.centroid_distances(moved).values
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-8)


def test_errors_name_the_missing_dim_or_keypoint():
    ds = _poses()
    with pytest.raises(PoseDataError, match="individual"):
        social.centroid_distances(ds.position.isel(individual=0, drop=True))
    with pytest.raises(PoseDataError, match="'paw' not found"):
        social.centroid_distances(ds, keypoints=["paw"])
