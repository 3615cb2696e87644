"""Tests for behavior/estimators.py: the protocol, the registry, estimate_poses and the
DeepLabCut / SLEAP adapters (run against stand-ins of the tools' inference APIs, since
the tools and their model weights are not installed here)."""

from __future__ import annotations

import json
import os
import stat
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import behavior as bh
from behavior import estimators as est
from behavior.estimators import (
    DeepLabCutEstimator,
    PoseEstimator,
    SLEAPEstimator,
    estimate_poses,
    get_estimator,
)


@pytest.fixture
def fresh_registry(monkeypatch):
    """Start from the built-ins, so runtime registrations don't leak between tests."""
    monkeypatch.setattr(est, "ESTIMATORS", est.ESTIMATORS.fresh())


@pytest.fixture
def video(tmp_path) -> Path:
    path = tmp_path / "mouse1.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")  # only its existence matters here
    return path


def _poses(n_frames=40, n_individuals=1, seed=0, fps=None):
    rng = np.random.default_rng(seed)
    position = rng.uniform(0, 500, size=(n_frames, 2, 3, n_individuals))
    position[3, :, 1, 0] = np.nan
    confidence = rng.uniform(0, 1, size=(n_frames, 3, n_individuals))
    confidence[3, 1, 0] = np.nan
    return bh.from_numpy(
        position,
        confidence,
        keypoint_names=["snout", "leftear", "tailbase"],
        individual_names=[f"mouse{i + 1}" for i in range(n_individuals)],
        fps=fps,
        source_software="test",
    )


class ConstantEstimator:
    """Returns the same dataset for every video; records the options it got."""

    name = "constant"

    def __init__(self, ds=None):
        self.ds = _poses() if ds is None else ds
        self.calls = []

    def estimate(self, video_path, **options):
        self.calls.append((Path(video_path), options))
        return self.ds


# --------------------------------------------------------------------------- protocol, registry


def test_protocol_is_structural():
    assert isinstance(ConstantEstimator(), PoseEstimator)

    class NoName:
        def estimate(self, video_path, **options):
            return None

    assert not isinstance(NoName(), PoseEstimator)
    assert not isinstance(object(), PoseEstimator)


def test_builtin_estimators_are_listed(fresh_registry):
    table = est.estimators()
    assert list(table.columns) == ["name", "description", "origin"]
    rows = table.set_index("name")
    assert rows.loc["deeplabcut"].origin == "built-in"
    assert rows.loc["sleap"].origin == "built-in"
    assert "analyze_videos" in rows.loc["deeplabcut"].description


def test_unknown_estimator_lists_the_known_ones(fresh_registry):
    with pytest.raises(KeyError, match=r"no-such.*deeplabcut.*sleap"):
        get_estimator("no-such")


def test_runtime_registration_and_duplicates(fresh_registry, video):
    est.register_estimator("constant", ConstantEstimator)
    assert "constant" in set(est.estimators()["name"])
    with pytest.raises(ValueError, match="already registered"):
        est.register_estimator("constant", ConstantEstimator)
    est.register_estimator("Constant", ConstantEstimator, replace=True)
    assert isinstance(get_estimator("CONSTANT"), ConstantEstimator)
    # a ready instance can be registered too, and then takes no options
    one = ConstantEstimator()
    est.register_estimator("the-one", one)
    assert get_estimator("the_one") is one
    with pytest.raises(TypeError, match="takes no options"):
        get_estimator("the-one", fps=3)


# --------------------------------------------------------------------------- estimate_poses


def test_estimate_poses_validates_logs_and_sets_source(video):
    estimator = ConstantEstimator()
    ds = estimate_poses(video, estimator, fps=30, threshold=0.5)
    assert estimator.calls == [(video, {"fps": 30, "threshold": 0.5})]
    assert ds.attrs["source_file"] == str(video)
    record = bh.read_log(ds)[-1]
    assert record["operation"] == "estimate_poses"
    assert record["parameters"] == {
        "video": str(video),
        "estimator": "constant",
        "fps": 30,
        "threshold": 0.5,
    }
    # the estimator's own dataset is not modified
    assert "source_file" not in estimator.ds.attrs
    assert bh.read_log(estimator.ds) == []


def test_estimate_poses_by_name_builds_with_estimator_options(fresh_registry, video):
    est.register_estimator("constant", ConstantEstimator)
    ds = estimate_poses(video, "constant", estimator_options={"ds": _poses(n_frames=7)})
    assert ds.sizes["time"] == 7
    with pytest.raises(bh.PoseDataError, match="estimator_options"):
        estimate_poses(video, ConstantEstimator(), estimator_options={"ds": None})


def test_missing_video_is_named(tmp_path):
    missing = tmp_path / "nope" / "absent_video.mp4"
    with pytest.raises(FileNotFoundError, match="absent_video.mp4"):
        estimate_poses(missing, ConstantEstimator())


def test_bad_estimator_results_are_refused(video):
    class Wrong:
        name = "wrong"

        def __init__(self, result):
            self.result = result

        def estimate(self, video_path, **options):
            return self.result

    with pytest.raises(bh.PoseDataError, match=r"'wrong' returned a ndarray.*mouse1.mp4"):
        estimate_poses(video, Wrong(np.zeros(3)))
    broken = _poses().rename(keypoint="bodypart")
    with pytest.raises(bh.PoseDataError, match=r"'wrong' returned an invalid.*keypoint"):
        estimate_poses(video, Wrong(broken))
    with pytest.raises(TypeError, match="expected a name or an object"):
        estimate_poses(video, object())


# --------------------------------------------------------------------------- DeepLabCut adapter


def test_deeplabcut_missing_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "deeplabcut", None)  # as if not installed
    config = tmp_path / "config.yaml"
    config.write_text("Task: openfield\n")
    with pytest.raises(bh.MissingDependencyError, match=r"pip install deeplabcut"):
        DeepLabCutEstimator(config)
    with pytest.raises(ImportError):  # users can catch it as the built-in ImportError
        get_estimator("deeplabcut", config_path=config)


def _fake_deeplabcut(monkeypatch, truth, scorer="DLC_resnet50_openfieldAug20shuffle1_30000"):
    """A stand-in for the deeplabcut package: analyze_videos writes what DLC writes."""
    calls = []

    def analyze_videos(config, videos, destfolder=None, **kwargs):
        calls.append({"config": config, "videos": videos, "destfolder": destfolder, **kwargs})
        for video in videos:
            stem = Path(video).stem
            out = Path(destfolder or Path(video).parent)
            if truth.sizes["individual"] > 1:  # multi-animal: stitched tracks in _el.h5
                bh.save_poses(truth, out / f"{stem}{scorer}_el.h5", format="deeplabcut")
                (out / f"{stem}{scorer}_full.pickle").write_bytes(b"detections")
            else:
                bh.save_poses(truth, out / f"{stem}{scorer}.h5", format="deeplabcut")
            (out / f"{stem}{scorer}_meta.pickle").write_bytes(b"meta")
        return scorer

    module = types.ModuleType("deeplabcut")
    module.analyze_videos = analyze_videos
    monkeypatch.setitem(sys.modules, "deeplabcut", module)
    return calls


@pytest.mark.parametrize("n_individuals", [1, 2])
def test_deeplabcut_adapter_runs_analyze_videos_and_reads_its_h5(
    monkeypatch, tmp_path, video, n_individuals
):
    truth = _poses(n_individuals=n_individuals)
    calls = _fake_deeplabcut(monkeypatch, truth)
    config = tmp_path / "config.yaml"
    config.write_text("Task: openfield\n")
    dlc = DeepLabCutEstimator(config, shuffle=2, batchsize=8)
    ds = estimate_poses(video, dlc, fps=30)
    (call,) = calls
    assert call["config"] == str(config) and call["videos"] == [str(video)]
    assert call["shuffle"] == 2 and call["batchsize"] == 8 and call["save_as_csv"] is False
    assert not Path(call["destfolder"]).exists()  # the temporary output is cleaned up
    assert ds.attrs["source_file"] == str(video)
    assert ds.attrs["fps"] == 30.0
    assert list(ds.individual.values) == list(truth.individual.values)
    np.testing.assert_allclose(
        ds.position.transpose(*truth.position.dims).values, truth.position.values
    )
    assert [r["operation"] for r in bh.read_log(ds)][-2:] == ["load_poses", "estimate_poses"]


def test_deeplabcut_adapter_keeps_outputs_in_destfolder(monkeypatch, tmp_path, video):
    _fake_deeplabcut(monkeypatch, _poses(), scorer="DLC_x")
    config = tmp_path / "config.yaml"
    config.write_text("Task: t\n")
    keep = tmp_path / "dlc-out"
    estimate_poses(video, DeepLabCutEstimator(config), destfolder=keep)
    assert (keep / "mouse1DLC_x.h5").is_file()


def test_deeplabcut_adapter_reports_missing_output(monkeypatch, tmp_path, video):
    module = types.ModuleType("deeplabcut")
    module.analyze_videos = lambda config, videos, destfolder=None, **kw: "DLC_x"
    monkeypatch.setitem(sys.modules, "deeplabcut", module)
    config = tmp_path / "config.yaml"
    config.write_text("Task: t\n")
    with pytest.raises(bh.PoseDataError, match=r"mouse1.mp4.*wrote no 'mouse1\*.h5'"):
        estimate_poses(video, DeepLabCutEstimator(config))
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        DeepLabCutEstimator(tmp_path / "missing.yaml")


# --------------------------------------------------------------------------- SLEAP adapter

WRITE_SLP = """
import numpy as np
import sleap_io as sio


def write_slp(position, confidence, keypoints, individuals, video, path):
    # position (time, space, keypoint, individual) -> SLEAP's (time, track, node, xy+score)
    arr = np.concatenate(
        [position.transpose(0, 3, 2, 1), confidence.transpose(0, 2, 1)[..., None]], axis=-1
    )
    labels = sio.Labels.from_numpy(
        arr,
        videos=[sio.Video(filename=str(video), open_backend=False)],
        skeletons=sio.Skeleton([str(k) for k in keypoints]),
        tracks=[sio.Track(str(name)) for name in individuals],
        return_confidence=True,
    )
    sio.save_slp(labels, str(path), verbose=False)
"""
_namespace: dict = {}
exec(WRITE_SLP, _namespace)  # the same code runs inside the fake sleap-track below
write_slp = _namespace["write_slp"]


def _hide_sleap(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "sleap_nn", None)
    monkeypatch.setitem(sys.modules, "sleap", None)
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


def test_sleap_missing_says_what_to_install(monkeypatch, tmp_path):
    _hide_sleap(monkeypatch, tmp_path)
    model = tmp_path / "model"
    model.mkdir()
    with pytest.raises(bh.MissingDependencyError, match=r"pip install sleap"):
        SLEAPEstimator(model)
    with pytest.raises(FileNotFoundError, match="no_model"):
        SLEAPEstimator(tmp_path / "no_model")


def test_sleap_adapter_uses_sleap_nn(monkeypatch, tmp_path, video):
    truth = _poses(n_individuals=2)
    calls = []

    def run_inference(data_path=None, model_paths=None, output_path=None, **kwargs):
        calls.append({"data_path": data_path, "model_paths": model_paths, **kwargs})
        write_slp(
            truth.position.values,
            truth.confidence.values,
            truth.keypoint.values,
            truth.individual.values,
            data_path,
            output_path,
        )
        return None

    package = types.ModuleType("sleap_nn")
    predict = types.ModuleType("sleap_nn.predict")
    predict.run_inference = run_inference
    package.predict = predict
    monkeypatch.setitem(sys.modules, "sleap_nn", package)
    monkeypatch.setitem(sys.modules, "sleap_nn.predict", predict)
    models = [tmp_path / "centroid", tmp_path / "centered_instance"]
    for m in models:
        m.mkdir()
    sleap = SLEAPEstimator(models, batch_size=2, max_instances=2)
    assert sleap.backend == "sleap-nn"
    ds = estimate_poses(video, sleap, fps=25)
    (call,) = calls
    assert call["data_path"] == str(video)
    assert call["model_paths"] == [str(m) for m in models]
    assert call["batch_size"] == 2 and call["max_instances"] == 2 and call["tracking"] is True
    assert ds.attrs["fps"] == 25.0 and ds.attrs["source_file"] == str(video)
    got = ds.position.sel(individual=truth.individual.values, keypoint=truth.keypoint.values)
    np.testing.assert_allclose(
        got.transpose(*truth.position.dims).values, truth.position.values, rtol=1e-6
    )
    assert [r["operation"] for r in bh.read_log(ds)][-2:] == ["load_poses", "estimate_poses"]


def test_sleap_adapter_falls_back_to_sleap_track(monkeypatch, tmp_path, video):
    _hide_sleap(monkeypatch, tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "sleap-track"
    record = tmp_path / "argv.json"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        + WRITE_SLP
        + "args = sys.argv[1:]\n"
        + f"open({str(record)!r}, 'w').write(json.dumps(args))\n"
        + "pos = np.arange(5 * 2 * 2, dtype=float).reshape(5, 2, 2, 1)\n"
        + "conf = np.full((5, 2, 1), 0.9)\n"
        + "write_slp(pos, conf, ['head', 'thorax'], ['fly'], args[0], args[args.index('-o') + 1])\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), os.environ["PATH"]]))
    model = tmp_path / "single_instance"
    model.mkdir()
    sleap = SLEAPEstimator(model, tracking=False)
    assert sleap.backend == "sleap-track"
    ds = estimate_poses(video, sleap)
    argv = json.loads(record.read_text())
    assert argv[0] == str(video) and argv[argv.index("-m") + 1] == str(model)
    assert "--tracking.tracker" not in argv
    assert ds.sizes["time"] == 5
    assert ds.position.sel(keypoint="thorax", space="y").values.ravel().tolist() == [
        3.0,
        7.0,
        11.0,
        15.0,
        19.0,
    ]
