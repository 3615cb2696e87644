"""The movement bridge: from_movement / to_movement.

movement itself is not installed; the fixtures build its datasets by hand from its
documented layout (movement >= 0.17 singular dims; < 0.17 plural dims, in both the
late ``(time, space, keypoints, individuals)`` and the early
``(time, individuals, keypoints, space)`` order).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behavior.dataset import from_numpy, read_log, validate
from behavior.decode import MOVEMENT_SCHEMAS, from_movement, to_movement
from behavior.errors import PoseDataError

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYPOINTS = ["snout", "left_ear", "tail_base"]
INDIVIDUALS = ["mouse_1", "mouse_2"]


def _movement_poses(
    *,
    schema: str = "singular",
    order: str = "late",
    n_time: int = 6,
    n_space: int = 2,
    fps: float | None = 30.0,
    confidence: bool = True,
    seed: int = 0,
) -> tuple[xr.Dataset, np.ndarray, np.ndarray]:
    """A movement poses dataset as movement writes it, with the arrays it holds in
    behavior's order (time, space, keypoint, individual) and (time, keypoint, individual)."""
    rng = np.random.default_rng(seed)
    position = rng.normal(100, 20, size=(n_time, n_space, len(KEYPOINTS), len(INDIVIDUALS)))
    position[2, :, 1, 0] = np.nan
    conf = rng.random((n_time, len(KEYPOINTS), len(INDIVIDUALS)))
    kp, ind = ("keypoint", "individual") if schema == "singular" else ("keypoints", "individuals")
    if order == "late":
        pos_dims, pos_values = ("time", "space", kp, ind), position
        conf_dims, conf_values = ("time", kp, ind), conf
    else:  # movement 0.0.x: (time, individuals, keypoints, space)
        pos_dims, pos_values = ("time", ind, kp, "space"), position.transpose(0, 3, 2, 1)
        conf_dims, conf_values = ("time", ind, kp), conf.transpose(0, 2, 1)
    data_vars = {"position": (pos_dims, pos_values)}
    if confidence:
        data_vars["confidence"] = (conf_dims, conf_values)
    frames = np.arange(n_time)
    attrs = {
        "source_software": "SLEAP",
        "ds_type": "poses",
        "time_unit": "seconds" if fps else "frames",
        "source_file": "/data/session.analysis.h5",
    }
    if fps:
        attrs["fps"] = fps
    ds = xr.Dataset(
        data_vars,
        coords={
            "time": frames / fps if fps else frames,
            "space": ["x", "y", "z"][:n_space],
            kp: KEYPOINTS,
            ind: INDIVIDUALS,
        },
        attrs=attrs,
    )
    return ds, position, conf


@pytest.mark.parametrize(
    ("schema", "order"), [("singular", "late"), ("plural", "late"), ("plural", "early")]
)
@pytest.mark.parametrize("n_space", [2, 3])
def test_from_movement_reads_every_generation(schema: str, order: str, n_space: int) -> None:
    mv, position, conf = _movement_poses(schema=schema, order=order, n_space=n_space)
    ds = from_movement(mv)
    validate(ds)
    assert ds.position.dims == ("time", "space", "keypoint", "individual")
    np.testing.assert_array_equal(ds.position.values, position)
    np.testing.assert_array_equal(ds.confidence.values, conf)
    assert ds.keypoint.values.tolist() == KEYPOINTS
    assert ds.individual.values.tolist() == INDIVIDUALS
    assert ds.space.values.tolist() == ["x", "y", "z"][:n_space]
    assert ds.attrs["fps"] == 30.0
    assert ds.attrs["source_software"] == "SLEAP"
    assert ds.attrs["source_file"] == "/data/session.analysis.h5"
    assert ds.attrs["time_unit"] == "seconds"
    record = read_log(ds)[-1]
    assert record["operation"] == "decode.from_movement"
    assert record["parameters"]["schema"] == schema
    assert mv.position.dims[2] in ("keypoint", "keypoints")  # the input is untouched


def test_missing_confidence_is_nan_as_behavior_stores_it() -> None:
    mv, position, _ = _movement_poses(confidence=False)
    ds = from_movement(mv)
    assert ds.confidence.dims == ("time", "keypoint", "individual")
    assert np.isnan(ds.confidence.values).all()
    np.testing.assert_array_equal(ds.position.values, position)
    assert read_log(ds)[-1]["parameters"]["confidence"] == "missing (NaN)"


def test_time_in_frames_without_fps_stays_frames() -> None:
    mv, _, _ = _movement_poses(schema="plural", fps=None)
    ds = from_movement(mv)
    assert ds.attrs["time_unit"] == "frames"
    assert "fps" not in ds.attrs
    assert ds.time.values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert "no fps" in read_log(ds)[-1]["parameters"]["time"]


def test_time_in_frames_with_fps_becomes_seconds() -> None:
    mv, _, _ = _movement_poses(fps=None)
    ds = from_movement(mv, fps=4.0)
    assert ds.attrs["time_unit"] == "seconds"
    assert ds.attrs["fps"] == 4.0
    np.testing.assert_allclose(ds.time.values, np.arange(6) / 4.0)


def test_frames_with_fps_attribute_become_seconds() -> None:
    mv, _, _ = _movement_poses(fps=None)
    mv.attrs["fps"] = 10.0
    ds = from_movement(mv)
    np.testing.assert_allclose(ds.time.values, np.arange(6) / 10.0)


def test_fps_that_contradicts_the_dataset_is_refused() -> None:
    mv, _, _ = _movement_poses(fps=30.0)
    with pytest.raises(PoseDataError, match=r"fps: 25.0 contradicts ds.attrs\['fps'\] = 30.0"):
        from_movement(mv, fps=25.0)


def test_integer_positions_become_float() -> None:
    mv, _, _ = _movement_poses()
    mv["position"] = mv.position.fillna(0).astype(np.int32)
    ds = from_movement(mv)
    assert ds.position.dtype == np.float64


def test_unparsable_movement_log_is_kept_aside() -> None:
    mv, _, _ = _movement_poses()
    mv.attrs["log"] = "filtered with movement, not JSON"
    ds = from_movement(mv)
    assert ds.attrs["movement_log"] == "filtered with movement, not JSON"
    assert [r["operation"] for r in read_log(ds)] == ["decode.from_movement"]


def test_bboxes_dataset_is_refused() -> None:
    bboxes = xr.Dataset(
        {
            "position": (("time", "space", "individual"), np.zeros((3, 2, 1))),
            "shape": (("time", "space", "individual"), np.ones((3, 2, 1))),
            "confidence": (("time", "individual"), np.ones((3, 1))),
        },
        coords={"time": np.arange(3), "space": ["x", "y"], "individual": ["id_0"]},
        attrs={"ds_type": "bboxes", "time_unit": "frames"},
    )
    with pytest.raises(PoseDataError, match="ds: .*ds_type='bboxes'"):
        from_movement(bboxes)
    del bboxes.attrs["ds_type"]
    with pytest.raises(PoseDataError, match="ds: a movement bounding-box dataset"):
        from_movement(bboxes)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((3, 2, 1, 1)), "ds: expected a movement poses dataset .*ndarray"),
        (xr.Dataset({"speed": ("time", np.zeros(3))}), "ds: expected a 'position' variable"),
        (
            xr.Dataset(
                {"position": (("time", "space", "keypoint", "individuals"), np.zeros((3, 2, 1, 1)))}
            ),
            r"ds: expected movement's position dims .*'keypoint', 'individuals'\]",
        ),
        (
            xr.Dataset({"position": (("frame", "xy", "node", "track"), np.zeros((3, 2, 1, 1)))}),
            "ds: expected movement's position dims",
        ),
    ],
)
def test_other_inputs_are_refused_naming_the_argument(bad: object, message: str) -> None:
    with pytest.raises(PoseDataError, match=message):
        from_movement(bad)  # type: ignore[arg-type]


def test_confidence_with_wrong_dims_is_refused() -> None:
    mv, _, _ = _movement_poses()
    mv["confidence"] = (("time", "individual"), np.ones((6, 2)))
    with pytest.raises(PoseDataError, match=r"ds\['confidence'\]: expected the dims"):
        from_movement(mv)


def test_bad_space_labels_are_refused_by_behaviors_validator() -> None:
    mv, _, _ = _movement_poses()
    mv = mv.assign_coords(space=["u", "v"])
    with pytest.raises(PoseDataError, match="space: expected coordinates"):
        from_movement(mv)


@pytest.mark.parametrize("schema", MOVEMENT_SCHEMAS)
def test_to_movement_writes_movements_layout(schema: str) -> None:
    ds = from_numpy(
        np.arange(48, dtype=float).reshape(4, 2, 3, 2),
        np.full((4, 3, 2), 0.5),
        fps=30,
        keypoint_names=KEYPOINTS,
        individual_names=INDIVIDUALS,
        source_software="DeepLabCut",
        source_file="video.h5",
    )
    mv = to_movement(ds, schema=schema)
    kp, ind = ("keypoint", "individual") if schema == "singular" else ("keypoints", "individuals")
    assert mv.position.dims == ("time", "space", kp, ind)
    assert mv.confidence.dims == ("time", kp, ind)
    assert mv[kp].values.tolist() == KEYPOINTS
    assert mv[ind].values.tolist() == INDIVIDUALS
    assert mv.attrs["ds_type"] == "poses"
    assert mv.attrs["time_unit"] == "seconds"
    assert mv.attrs["fps"] == 30.0
    assert mv.attrs["source_software"] == "DeepLabCut"
    assert mv.attrs["source_file"] == "video.h5"
    assert json.loads(mv.attrs["log"])[-1]["operation"] == "decode.to_movement"
    np.testing.assert_array_equal(mv.position.values, ds.position.values)


def test_to_movement_writes_frame_numbers_as_integers() -> None:
    mv = to_movement(from_numpy(np.zeros((3, 2, 1, 1))))
    assert mv.attrs["time_unit"] == "frames"
    assert "fps" not in mv.attrs
    assert mv.time.dtype == np.int64
    assert mv.time.values.tolist() == [0, 1, 2]


def test_to_movement_refuses_bad_schema_and_extra_dims() -> None:
    ds = from_numpy(np.zeros((3, 2, 1, 1)))
    with pytest.raises(PoseDataError, match="schema: expected one of"):
        to_movement(ds, schema="dual")
    stacked = xr.concat([ds, ds], dim="ensemble")
    stacked["position"] = stacked.position.transpose("ensemble", ...)
    stacked["confidence"] = stacked.confidence.transpose("ensemble", ...)
    with pytest.raises(PoseDataError, match=r"extra dims \['ensemble'\]"):
        to_movement(stacked)
    with pytest.raises(PoseDataError, match="position"):
        to_movement(xr.Dataset({"speed": ("time", np.zeros(3))}))


def test_to_movement_fills_missing_confidence_with_nan() -> None:
    ds = from_numpy(np.ones((3, 2, 2, 1)), fps=10).drop_vars("confidence")
    mv = to_movement(ds, schema="plural")
    assert mv.confidence.dims == ("time", "keypoints", "individuals")
    assert np.isnan(mv.confidence.values).all()


@st.composite
def pose_datasets(draw: st.DrawFn) -> xr.Dataset:
    n_time = draw(st.integers(1, 12))
    n_space = draw(st.sampled_from([2, 3]))
    n_kp = draw(st.integers(1, 4))
    n_ind = draw(st.integers(1, 3))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    values = st.floats(-1e6, 1e6, width=32) | st.just(float("nan"))
    position = np.array(
        draw(
            st.lists(
                values,
                min_size=n_time * n_space * n_kp * n_ind,
                max_size=n_time * n_space * n_kp * n_ind,
            )
        ),
        dtype=dtype,
    ).reshape(n_time, n_space, n_kp, n_ind)
    has_conf = draw(st.booleans())
    confidence = None
    if has_conf:
        confidence = np.array(
            draw(
                st.lists(
                    st.floats(0, 1, width=32) | st.just(float("nan")),
                    min_size=n_time * n_kp * n_ind,
                    max_size=n_time * n_kp * n_ind,
                )
            ),
            dtype=dtype,
        ).reshape(n_time, n_kp, n_ind)
    fps = draw(st.sampled_from([None, 7.5, 30.0, 59.94]))
    names = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6)
    keypoints = draw(st.lists(names, min_size=n_kp, max_size=n_kp, unique=True))
    individuals = draw(st.lists(names, min_size=n_ind, max_size=n_ind, unique=True))
    return from_numpy(
        position,
        confidence,
        fps=fps,
        keypoint_names=keypoints,
        individual_names=individuals,
        source_software=draw(st.sampled_from([None, "SLEAP", "DeepLabCut"])),
    )


@SETTINGS
@given(ds=pose_datasets(), schema=st.sampled_from(MOVEMENT_SCHEMAS))
def test_round_trip_is_exact(ds: xr.Dataset, schema: str) -> None:
    back = from_movement(to_movement(ds, schema=schema))
    validate(back)
    assert back.position.dtype == ds.position.dtype
    np.testing.assert_array_equal(back.position.values, ds.position.values)
    np.testing.assert_array_equal(back.confidence.values, ds.confidence.values)
    np.testing.assert_array_equal(back.time.values, ds.time.values)
    for coord in ("space", "keypoint", "individual"):
        assert back[coord].values.tolist() == ds[coord].values.tolist()
    assert back.attrs.get("fps") == ds.attrs.get("fps")
    assert back.attrs["time_unit"] == ds.attrs["time_unit"]
    assert back.attrs["source_software"] == ds.attrs["source_software"]
    assert [r["operation"] for r in read_log(back)] == [
        "decode.to_movement",
        "decode.from_movement",
    ]


@SETTINGS
@given(ds=pose_datasets(), schema=st.sampled_from(MOVEMENT_SCHEMAS))
def test_to_movement_attrs_are_netcdf_safe(ds: xr.Dataset, schema: str) -> None:
    """movement's attrs are netCDF-safe: strings and numbers only."""
    mv = to_movement(ds, schema=schema)
    for key, value in mv.attrs.items():
        assert isinstance(value, str | int | float | np.number), key
