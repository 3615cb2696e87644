"""Every pose file listed in ../shared/data/MANIFEST.csv loads through auto-detection
with the individuals, keypoints, frames and spatial dimensions the manifest records."""

from __future__ import annotations

import numpy as np
import pytest

import behavior as bh
from tests.conftest import SHARED_DATA, manifest_rows

# manifest format -> the frontend that must detect it
FRONTEND_OF = {
    "dlc-h5": "deeplabcut",
    "dlc-csv": "deeplabcut",
    "dlc-labeled-frames": "deeplabcut",
    "lightning-pose-csv": "lightning-pose",
    "sleap-slp": "sleap",
    "sleap-analysis-h5": "sleap",
    "anipose-points3d-h5": "anipose",
    "nwb-ndx-pose": "nwb",
}

ROWS = [row for row in manifest_rows() if row["format"] in FRONTEND_OF]
if not ROWS:
    ROWS = [pytest.param(None, marks=pytest.mark.skip(reason=f"{SHARED_DATA} is absent"))]


def _count(value: str) -> int | None:
    return int(value) if value and value.isdigit() else None


@pytest.mark.realdata
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["path"] if r else "no-data")
def test_manifest_pose_file_loads(row, shared_data):
    path = shared_data / row["path"]
    assert bh.io.detect_format(path).name == FRONTEND_OF[row["format"]]
    ds = bh.load_poses(path)
    bh.validate(ds)
    assert ds.attrs["source_file"] == str(path)
    expected = {
        "individual": _count(row["individuals"]),
        "keypoint": _count(row["keypoints"]),
        "time": _count(row["frames"]),
        "space": _count(row["space"]),
    }
    found = {dim: ds.sizes[dim] for dim in expected}
    assert {d: found[d] for d, n in expected.items() if n is not None} == {
        d: n for d, n in expected.items() if n is not None
    }
    if row["coords"]:
        assert list(ds.space.values) == [c for c in row["coords"].split(",") if c in "xyz"]
    # every file holds some real positions
    assert np.isfinite(ds.position.values).any()


@pytest.mark.realdata
def test_points3d_matches_manifest_shape(shared_data):
    path = shared_data / "sleap_anipose_minimal/minimal_session/points3d.h5"
    ds = bh.load_poses(path)
    # MANIFEST: {'tracks': (120, 1, 15, 3)} = (frames, individuals, keypoints, xyz)
    assert (ds.sizes["time"], ds.sizes["individual"], ds.sizes["keypoint"], ds.sizes["space"]) == (
        120,
        1,
        15,
        3,
    )


@pytest.mark.realdata
def test_sleap_legacy_h5_is_read_or_refused_clearly(shared_data):
    path = shared_data / "sleap_tests/tests/data/hdf5_format_v1/centered_pair_predictions.h5"
    try:
        ds = bh.load_poses(path)
    except bh.FileFormatError as err:
        assert "centered_pair_predictions.h5" in str(err)
        assert "SLEAP" in str(err)
    else:
        slp = bh.load_poses(path.with_suffix(".slp"))
        assert ds.sizes["keypoint"] == slp.sizes["keypoint"]
