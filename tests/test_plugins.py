"""Third-party plug-ins, installed as a real (fake) distribution outside this repository.

Each test writes a package and its ``fake_pkg-0.1.dist-info`` (METADATA and
entry_points.txt) into a temporary folder, puts that folder on ``sys.path`` and
resets the registries, exactly what ``pip install fake_pkg`` would give. Nothing
in ``behavior`` is touched.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import behavior as bh
from behavior import estimators as est_module
from behavior.cli import main
from behavior.io import registry

PLUGIN_MODULE = "fake_pkg"

PLUGIN_SOURCE = '''
"""A third-party package adding a pose format and a pose estimator to behavior."""
from pathlib import Path

import numpy as np

import behavior as bh
from behavior.io import Frontend, accept, refuse

MAGIC = "FAKEPOSE v1"


def sniff(probe):
    lines = probe.lines(1)
    if lines and lines[0].strip() == MAGIC:
        return accept(reason="FAKEPOSE header")
    return refuse(f"first line is not {MAGIC!r}")


def read(path, *, fps=None, **options):
    lines = Path(path).read_text().splitlines()
    header = dict(line.split("=", 1) for line in lines[1:4])
    keypoints = header["keypoints"].split(",")
    individuals = header["individuals"].split(",")
    values = np.array([[float(v) for v in row.split()] for row in lines[4:]])
    position = values.reshape(len(values), len(individuals), len(keypoints), 2)
    return bh.from_numpy(
        position.transpose(0, 3, 2, 1),
        keypoint_names=keypoints,
        individual_names=individuals,
        fps=fps or float(header["fps"]),
        source_software="FakeTracker",
    )


def write(ds, path, **options):
    pos = ds.position.transpose("time", "individual", "keypoint", "space").values
    rows = [" ".join(repr(float(v)) for v in frame.ravel()) for frame in pos]
    head = [
        MAGIC,
        f"fps={ds.attrs.get('fps', 30)}",
        "keypoints=" + ",".join(map(str, ds.keypoint.values)),
        "individuals=" + ",".join(map(str, ds.individual.values)),
    ]
    Path(path).write_text("\\n".join(head + rows) + "\\n")


FRONTEND = Frontend(
    "fakefmt", "FakeTracker text poses", (".fake",), sniff, read, write, aliases=("faketracker",)
)
NOT_A_FRONTEND = "just a string"
DUPLICATE_NETCDF = Frontend("netcdf", "an impostor", (".nc",), sniff, read, write)


class StillEstimator:
    """Every keypoint at the centre of a 640 x 480 frame."""

    name = "still"

    def __init__(self, n_frames=25):
        self.n_frames = n_frames

    def estimate(self, video_path, *, fps=25.0, **options):
        position = np.full((self.n_frames, 2, 2, 1), [[320.0], [240.0]])
        return bh.from_numpy(
            position, keypoint_names=["head", "tail"], fps=fps, source_software="still"
        )


def make_walker(step=1.0):
    """Factory: a walker moving ``step`` pixels per frame."""

    class Walker:
        name = "walker"

        def estimate(self, video_path, **options):
            position = np.zeros((10, 2, 1, 1))
            position[:, 0, 0, 0] = step * np.arange(10)
            return bh.from_numpy(position, fps=10, source_software="walker")

    return Walker()


def not_an_estimator():
    return 42
'''

ENTRY_POINTS = """
[behavior.frontends]
fakefmt = fake_pkg:FRONTEND
broken_import = fake_pkg_no_such_module:FRONTEND
not_a_frontend = fake_pkg:NOT_A_FRONTEND
impostor = fake_pkg:DUPLICATE_NETCDF

[behavior.estimators]
still = fake_pkg:StillEstimator
walker = fake_pkg:make_walker
bogus = fake_pkg:not_an_estimator
broken_attr = fake_pkg:NoSuchClass
"""


def install_fake_distribution(site: Path) -> Path:
    """Write ``fake_pkg`` and its dist-info into ``site`` (as pip would)."""
    site.mkdir(parents=True, exist_ok=True)
    (site / PLUGIN_MODULE).mkdir()
    (site / PLUGIN_MODULE / "__init__.py").write_text(PLUGIN_SOURCE)
    info = site / f"{PLUGIN_MODULE}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {PLUGIN_MODULE}\nVersion: 0.1\n"
        "Summary: a behavior plug-in used by the tests\n"
    )
    (info / "entry_points.txt").write_text(textwrap.dedent(ENTRY_POINTS).lstrip())
    (info / "RECORD").write_text("")
    return site


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """The fake distribution on sys.path, with fresh frontend and estimator registries."""
    site = install_fake_distribution(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "FRONTENDS", registry.FRONTENDS.fresh())
    monkeypatch.setattr(est_module, "ESTIMATORS", est_module.ESTIMATORS.fresh())
    monkeypatch.delitem(sys.modules, PLUGIN_MODULE, raising=False)
    yield site
    sys.modules.pop(PLUGIN_MODULE, None)


def _fake_file(path: Path, n_frames: int = 6) -> Path:
    rows = [" ".join(str(10.0 * t + k) for k in range(8)) for t in range(n_frames)]
    header = ["FAKEPOSE v1", "fps=20", "keypoints=nose,tail", "individuals=ann,bob"]
    path.write_text("\n".join(header + rows) + "\n")
    return path


# --------------------------------------------------------------------------- frontends


def test_plugin_frontend_is_listed_with_its_origin(plugin_site):
    table = bh.io.frontends().set_index("name")
    assert "fakefmt" in table.index
    row = table.loc["fakefmt"]
    assert row.origin == "entry point fake_pkg:FRONTEND"
    assert row.reads and row.writes and row.suffixes == ".fake"
    # the built-ins are still there, and the plug-in did not replace netcdf
    assert table.loc["netcdf"].origin == "built-in"
    assert bh.io.get_frontend("FakeTracker").name == "fakefmt"


def test_plugin_format_is_auto_detected_and_read(plugin_site, tmp_path):
    path = _fake_file(tmp_path / "session.txt")  # content, not suffix, gives the format away
    assert bh.io.detect_format(path).name == "fakefmt"
    ds = bh.load_poses(path)
    assert ds.attrs["source_software"] == "FakeTracker"
    assert list(ds.individual.values) == ["ann", "bob"]
    assert list(ds.keypoint.values) == ["nose", "tail"]
    assert ds.attrs["fps"] == 20.0
    # frame 2, individual bob (index 1), keypoint tail (index 1): columns 6 (x) and 7 (y)
    assert ds.position.sel(individual="bob", keypoint="tail").isel(time=2).values.tolist() == [
        26.0,
        27.0,
    ]
    assert bh.read_log(ds)[-1]["operation"] == "load_poses"


def test_plugin_format_round_trips_through_save(plugin_site, tmp_path, small_poses):
    path = bh.save_poses(small_poses, tmp_path / "out.fake")
    assert path.read_text().startswith("FAKEPOSE v1")
    back = bh.load_poses(path)
    np.testing.assert_allclose(back.position.values, small_poses.position.values)
    # and into a built-in format and back
    nc = bh.save_poses(back, tmp_path / "out.nc")
    again = bh.save_poses(bh.load_poses(nc), tmp_path / "again.fake", format="faketracker")
    assert again.read_text() == path.read_text()


def test_broken_plugin_frontends_are_skipped_with_a_warning(plugin_site, caplog):
    with caplog.at_level(logging.WARNING, logger="behavior.io.registry"):
        names = set(bh.io.frontends()["name"])
    assert "fakefmt" in names
    assert not {"broken_import", "not_a_frontend", "impostor"} & names
    text = caplog.text
    assert "broken_import" in text and "fake_pkg_no_such_module" in text
    assert "not_a_frontend" in text
    assert "impostor" in text and "already registered" in text


def test_cli_sees_the_plugin_format(plugin_site, tmp_path, capsys):
    path = _fake_file(tmp_path / "clip.fake")
    assert main(["formats"]) == 0
    assert "fakefmt" in capsys.readouterr().out
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fakefmt" in out and "FakeTracker" in out and "2: ann, bob" in out
    assert main(["convert", str(path), str(tmp_path / "clip.nc")]) == 0
    back = bh.load_poses(tmp_path / "clip.nc")
    np.testing.assert_array_equal(back.position.values, bh.load_poses(path).position.values)


def test_plugin_works_in_a_fresh_interpreter(plugin_site, tmp_path):
    """What a user gets after `pip install fake_pkg`: the console script lists it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(plugin_site), env.get("PYTHONPATH", "")])
    script = Path(sys.executable).parent / "behavior"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "behavior.cli"]
    result = subprocess.run(
        [*cmd, "formats"], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "fakefmt" in line)
    assert "fake_pkg:FRONTEND" in line


# --------------------------------------------------------------------------- estimators


def test_plugin_estimators_are_listed(plugin_site, caplog):
    with caplog.at_level(logging.WARNING, logger="behavior.estimators"):
        table = bh.estimators.estimators().set_index("name")
    assert table.loc["still"].origin == "entry point fake_pkg:StillEstimator"
    assert table.loc["still"].description.startswith("Every keypoint at the centre")
    assert table.loc["walker"].origin == "entry point fake_pkg:make_walker"
    assert table.loc["deeplabcut"].origin == "built-in"
    assert "broken_attr" not in table.index
    assert "broken_attr" in caplog.text and "NoSuchClass" in caplog.text


def test_plugin_estimator_runs_through_estimate_poses(plugin_site, tmp_path):
    video = tmp_path / "arena.mp4"
    video.write_bytes(b"\x00" * 64)
    ds = bh.estimate_poses(video, "still", estimator_options={"n_frames": 12}, fps=50)
    assert ds.sizes["time"] == 12 and ds.attrs["fps"] == 50.0
    assert ds.attrs["source_file"] == str(video)
    record = bh.read_log(ds)[-1]
    assert record["operation"] == "estimate_poses"
    assert record["parameters"]["estimator"] == "still"
    assert record["parameters"]["fps"] == 50
    walked = bh.estimate_poses(video, "walker", estimator_options={"step": 2.0})
    assert walked.position.sel(space="x").isel(time=-1).item() == 18.0


def test_plugin_factory_returning_garbage_is_refused(plugin_site, tmp_path):
    video = tmp_path / "arena.mp4"
    video.write_bytes(b"\x00")
    with pytest.raises(TypeError, match=r"'bogus'.*returned a int"):
        bh.estimate_poses(video, "bogus")
