"""No save loses data (issue 15, "Data loss").

Every writer goes through :func:`behavior.io.registry.atomic_path`: the file is
written under a hidden temporary name, flushed (``fsync``), read back by a
``verify`` callback, renamed over the destination and the folder flushed. A
failure of any step raises an error naming the user's file (never the
temporary one) and leaves an existing file byte for byte as it was.

A full disk is simulated twice: by monkeypatching (``os.fsync`` failing with
``ENOSPC``, a writer producing a truncated file) and, for every writer, in a
subprocess with a real file-size limit (``RLIMIT_FSIZE``), which makes the
system's writes fail with ``EFBIG`` as a full disk would; that subprocess must
then exit normally (HDF5 handles left open on the error path crashed it).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.errors import FileWriteError, PoseDataError
from behavior.io import registry
from behavior.io.annotations import save_annotations
from behavior.io.registry import atomic_path, clean_stale_temporaries, save_poses

REPO = Path(__file__).resolve().parents[1]

# Code shared by the subprocesses of this file and of tests/test_kill_writes.py: every
# writable format as a case name -> (file name, build(n), save(obj, path), fingerprint(path)).
CASES_SOURCE = r"""
import numpy as np, xarray as xr
import behavior as bh
from behavior.ethogram import Ethogram
from behavior.io.annotations import load_annotations, save_annotations

FPS = 30.0

def pose(n, seed=0, individuals=2):
    rng = np.random.default_rng(seed)
    position = rng.normal(100, 20, size=(n, 2, 6, individuals))
    position[::7, :, 1, 0] = np.nan
    confidence = rng.uniform(0.1, 1, size=(n, 6, individuals))
    return bh.from_numpy(
        position, confidence, individual_names=[f"m{i}" for i in range(individuals)],
        keypoint_names=[f"k{k}" for k in range(6)], fps=FPS, source_software="test")

def ethogram(n, seed=0):
    rng = np.random.default_rng(seed)
    label = np.repeat(rng.integers(0, 4, size=n // 10 + 1), 10)[:n]
    masks = np.stack([label == k for k in (1, 2, 3)], axis=1)[:, :, None]
    da = xr.DataArray(masks, dims=("time", "behavior", "individual"),
                      coords={"time": np.arange(n) / FPS, "behavior": ["rear", "groom", "walk"],
                              "individual": ["m0"]},
                      attrs={"time_unit": "seconds", "fps": FPS})
    return Ethogram.from_masks(da)

def syllables(n, seed=0):
    from behavior.syllables.preprocess import Latents
    from behavior.syllables.results import Syllables
    rng = np.random.default_rng(seed)
    latents = Latents(data=[rng.normal(size=(n, 4)).astype(np.float32)], mask=[np.ones(n, bool)],
                      keys=[("s", "m0")], time=[np.arange(n) / FPS], fps=FPS)
    return Syllables([np.repeat(rng.integers(0, 5, size=n // 5 + 1), 5)[:n]], latents)

def pose_case(name, format=None, individuals=2):
    def save(obj, path):
        bh.save_poses(obj, path, format=format)
    def fingerprint(path):
        ds = bh.load_poses(path, source=format or "auto")
        return [ds.position.values, np.asarray(ds.sizes["time"])]
    return name, (lambda n, seed=0: pose(n, seed, individuals)), save, fingerprint

def annotation_case(name, fmt):
    def save(obj, path):
        save_annotations(obj, path, format=fmt)
    def fingerprint(path):
        labels = load_annotations(path, format=fmt, fps=FPS).labels
        return [labels.transpose("time", "behavior", "individual").sortby("behavior").values]
    return name, ethogram, save, fingerprint

def ethogram_nc():
    def save(obj, path):
        obj.to_netcdf(path)
    return "ethogram.nc", ethogram, save, lambda p: [Ethogram.from_netcdf(p).labels.values]

def syllables_nc():
    from behavior.syllables.results import Syllables
    def save(obj, path):
        obj.save(path)
    return "syllables.nc", syllables, save, lambda p: [np.concatenate(Syllables.load(p).codes)]

def classifier():
    from behavior.classify import persistence
    def build(n, seed=0):
        return {"weights": np.random.default_rng(seed).normal(size=(n, 8)), "names": ["a", "b"]}
    def save(obj, path):
        meta = {"behaviors": ["a"], "behavior_version": bh.__version__}
        persistence.write_model(obj, meta, path)
    return "model.skops", build, save, lambda p: [persistence.read_model(p)[0]["weights"]]

CASES = {
    "deeplabcut-h5": pose_case("x.h5"),
    "deeplabcut-csv": pose_case("x.csv"),
    "lightning-pose": pose_case("lp.csv", "lightning-pose", individuals=1),
    "sleap": pose_case("x.analysis.h5"),
    "nwb": pose_case("x.nwb"),
    "netcdf": pose_case("x.nc"),
    "tidy-parquet": pose_case("x.parquet"),
    "tidy-csv": pose_case("tidy.csv", "tidy"),
    "bento": annotation_case("a.annot", "bento"),
    "boris": annotation_case("a.tsv", "boris"),
    "boris-aggregated": annotation_case("agg.tsv", "boris-aggregated"),
    "caltech": annotation_case("a.txt", "caltech"),
    "simba": annotation_case("simba.csv", "simba"),
    "deepethogram": annotation_case("deg.csv", "deepethogram"),
    "perframe": annotation_case("a.csv", "perframe"),
    "intervals": annotation_case("iv.csv", "intervals"),
    "nwb-annotations": annotation_case("a.nwb", "nwb"),
    "ethogram-netcdf": ethogram_nc(),
    "syllables": syllables_nc(),
    "classifier": classifier(),
}

def same(a, b):
    return all(np.array_equal(x, y, equal_nan=np.asarray(x).dtype.kind == "f")
               for x, y in zip(a, b, strict=True))

def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)
"""

CASE_NAMES = [
    "deeplabcut-h5", "deeplabcut-csv", "lightning-pose", "sleap", "nwb", "netcdf", "tidy-parquet",
    "tidy-csv", "bento", "boris", "boris-aggregated", "caltech", "simba", "deepethogram",
    "perframe", "intervals", "nwb-annotations", "ethogram-netcdf", "syllables", "classifier",
]  # fmt: skip


def run_child(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``script`` (with CASES_SOURCE defined) in a fresh interpreter on this worktree."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg", "PYTHONFAULTHANDLER": "1"}
    source = CASES_SOURCE + "\n" + script
    return subprocess.run(
        [sys.executable, "-c", source, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
    )


# --------------------------------------------------------------------------- full disk, for real

FULL_DISK_CHILD = r"""
import json, os, resource, signal, sys, traceback
from pathlib import Path
folder = Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
for name in sys.argv[2:]:
    file_name, build, save, fingerprint = CASES[name]
    sub = folder / name
    sub.mkdir()
    path = sub / file_name
    save(build(40, seed=1), path)
    old = path.read_bytes()
    big = build(6000, seed=2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        save(big, path)
        error = None
    except BaseException as err:
        error = {"type": type(err).__name__, "message": str(err),
                 "errno": getattr(err, "errno", None), "trace": traceback.format_exc()[-600:]}
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    result = {"error": error, "unchanged": path.read_bytes() == old, "leftovers": leftovers(sub)}
    try:
        fingerprint(path)
        result["loads"] = True
    except BaseException as err:
        result["loads"] = f"{type(err).__name__}: {err}"
    print("RESULT", name, json.dumps(result), flush=True)
"""


@pytest.fixture(scope="module")
def full_disk_results(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    if not hasattr(os, "fork") or sys.platform == "win32":
        pytest.skip("RLIMIT_FSIZE is POSIX only")
    folder = tmp_path_factory.mktemp("full_disk")
    proc = run_child(FULL_DISK_CHILD, str(folder), *CASE_NAMES)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, payload = line.split(" ", 2)
            results[name] = json.loads(payload)
    return proc, results


@pytest.mark.parametrize("case", CASE_NAMES)
def test_full_disk_raises_names_file_and_keeps_old_file(full_disk_results, case):
    """A real size limit mid-write: a FileWriteError naming the user's file, the old file
    byte-equal and loadable, no temporary file left, and the process does not crash."""
    proc, results = full_disk_results
    assert proc.returncode == 0, (
        f"the writing process died (exit code {proc.returncode}, a segfault is -11):\n"
        f"{proc.stderr[-3000:]}"
    )
    assert case in results, f"no result for {case}:\n{proc.stderr[-3000:]}"
    result = results[case]
    error = result["error"]
    assert error is not None, f"{case}: the save returned normally on a full disk"
    assert error["type"] == "FileWriteError", error
    file_name = {
        "deeplabcut-h5": "x.h5", "deeplabcut-csv": "x.csv", "lightning-pose": "lp.csv",
        "sleap": "x.analysis.h5", "nwb": "x.nwb", "netcdf": "x.nc", "tidy-parquet": "x.parquet",
        "tidy-csv": "tidy.csv", "bento": "a.annot", "boris": "a.tsv", "boris-aggregated": "agg.tsv",
        "caltech": "a.txt", "simba": "simba.csv", "deepethogram": "deg.csv", "perframe": "a.csv",
        "intervals": "iv.csv", "nwb-annotations": "a.nwb", "ethogram-netcdf": "ethogram.nc",
        "syllables": "syllables.nc", "classifier": "model.skops",
    }[case]  # fmt: skip
    assert file_name in error["message"] and ".tmp" not in error["message"], error["message"]
    assert "unchanged" in error["message"]
    assert result["unchanged"], f"{case}: the old file was modified"
    assert result["loads"] is True, result["loads"]
    assert result["leftovers"] == []


# --------------------------------------------------------------------------- monkeypatched failures


def _good_file(ds, path: Path) -> bytes:
    save_poses(ds, path)
    return path.read_bytes()


def test_fsync_enospc_raises_and_keeps_old_file(small_poses, tmp_path, monkeypatch):
    """A full disk reported at flush time (delayed allocation, network drives) is an error."""
    path = tmp_path / "poses.nc"
    old = _good_file(small_poses, path)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(FileWriteError, match="disk is full") as info:
        save_poses(small_poses.isel(time=slice(0, 20)), path)
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value) and ".tmp" not in str(info.value)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["poses.nc"]


@pytest.mark.parametrize("name", ["poses.csv", "poses.nc", "poses.analysis.h5", "poses.nwb"])
def test_file_and_folder_are_flushed(small_poses, tmp_path, monkeypatch, name):
    """The written file and then its folder are fsync'ed before save_poses returns."""
    import stat

    synced: list[str] = []
    real = os.fsync

    def spy(fd):
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    save_poses(small_poses, tmp_path / name)
    assert synced[:1] == ["file"] and synced[-1:] == ["folder"], synced


def test_truncated_dlc_h5_is_caught_before_the_rename(small_poses, tmp_path, monkeypatch):
    """The DLC h5 writer (PyTables) can return normally with a cut file on a full disk:
    reading it back catches that, and the good file is kept."""
    import pandas as pd

    path = tmp_path / "video1DLC.h5"
    old = _good_file(small_poses, path)
    real = pd.DataFrame.to_hdf

    def cut(self, target, *args, **kwargs):
        real(self, target, *args, **kwargs)
        size = os.path.getsize(target)
        with open(target, "r+b") as fh:
            fh.truncate(size // 2)

    monkeypatch.setattr(pd.DataFrame, "to_hdf", cut)
    with pytest.raises(FileWriteError, match="read back") as info:
        save_poses(small_poses, path)
    assert "video1DLC.h5" in str(info.value) and ".tmp" not in str(info.value)
    assert path.read_bytes() == old
    assert bh.load_poses(path).position.shape == small_poses.position.shape


@pytest.mark.parametrize("fmt, name", [("deeplabcut", "x.csv"), ("tidy", "x.parquet")])
def test_wrong_shape_read_back_is_refused(small_poses, tmp_path, monkeypatch, fmt, name):
    """verify compares the shape read back with the dataset written."""
    import dataclasses

    frontend = registry.get_frontend(fmt)
    real = frontend.write

    def fewer(ds, path, **kw):
        real(ds.isel(keypoint=slice(0, 2)), path, **kw)

    patched = dataclasses.replace(frontend, write=fewer)
    monkeypatch.setattr(registry, "writer_for", lambda path, format=None: patched)
    path = tmp_path / name
    with pytest.raises(FileWriteError, match="keypoint"):
        save_poses(small_poses, path)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_annotation_verify_counts_bouts(tmp_path, monkeypatch):
    """save_annotations reads the file back: a writer that loses bouts is refused."""
    from behavior.io.annotations import tables

    ns: dict = {}
    exec(CASES_SOURCE, ns)
    eth = ns["ethogram"](300)
    path = tmp_path / "labels.csv"
    save_annotations(eth, path, format="perframe")
    old = path.read_bytes()
    real = tables.write_perframe
    import dataclasses

    import behavior.io.annotations as annotations

    frontend = annotations.get_annotation_format("perframe")

    def lossy(ethogram, target, **kw):
        real(ethogram, target)
        text = Path(target).read_text().splitlines()
        Path(target).write_text("\n".join(text[: len(text) // 3]) + "\n")

    patched = dataclasses.replace(frontend, write=lossy)
    monkeypatch.setattr(annotations, "pick_writer", lambda *a, **k: patched)
    with pytest.raises(FileWriteError, match="bouts"):
        save_annotations(eth, path, format="perframe")
    assert path.read_bytes() == old


# --------------------------------------------------------------------------- messages name the file


def test_format_refusal_names_the_users_file_not_the_temporary(small_poses, tmp_path):
    with pytest.raises(PoseDataError) as info:
        save_poses(small_poses, tmp_path / "fly.csv", format="lightning-pose")
    message = str(info.value)
    assert "fly.csv" in message and ".tmp" not in message and "bhv-" not in message, message


def test_writer_refusal_without_a_file_name_gets_the_users_file(tmp_path):
    """A writer's refusal that names only an argument ("space: ...") is prefixed with the file."""
    rng = np.random.default_rng(0)
    ds3 = bh.from_numpy(rng.normal(size=(10, 3, 2, 1)), None, fps=30)
    with pytest.raises(PoseDataError) as info:
        save_poses(ds3, tmp_path / "fly.analysis.h5")
    assert str(info.value).startswith(str(tmp_path / "fly.analysis.h5")), str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_annotation_refusal_names_the_users_file_not_the_temporary(tmp_path):
    ns: dict = {}
    exec(CASES_SOURCE, ns)
    eth = ns["ethogram"](100)
    two = bh.Ethogram.from_masks(
        eth.labels.isel(individual=[0, 0]).assign_coords(individual=["a", "b"])
    )
    with pytest.raises(PoseDataError) as info:
        save_annotations(two, tmp_path / "targets.csv", format="simba")
    message = str(info.value)
    assert "targets.csv" in message and ".tmp" not in message, message
    assert list(tmp_path.iterdir()) == []


def test_hdf5_error_names_the_users_file(small_poses, tmp_path, monkeypatch):
    """An HDF5 library message that quotes the temporary file is rewritten to the user's."""
    import h5py

    def broken(*args, **kwargs):
        name = args[0] if args else kwargs.get("name")
        raise OSError(errno.EIO, f"Unable to create file (name = '{name}', errno = 5)")

    monkeypatch.setattr(h5py, "File", broken)
    with pytest.raises(FileWriteError) as info:
        save_poses(small_poses, tmp_path / "fly.analysis.h5")
    message = str(info.value)
    assert str(tmp_path / "fly.analysis.h5") in message and ".tmp" not in message, message


# --------------------------------------------------------------------------- left-over temporaries


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _tmp_like(folder: Path, stem: str, pid: int, suffix: str) -> Path:
    name = f".{stem}.bhv-{registry._host_tag()}-{pid}-abc123.tmp{suffix}"
    path = folder / name
    path.write_bytes(b"half a file")
    return path


def test_stale_temporaries_are_removed_on_the_next_write(small_poses, tmp_path):
    """Temporary files of killed writes are removed when the folder is next written to;
    those of running writes, and the user's own files, are kept."""
    dead = _tmp_like(tmp_path, "fly", _dead_pid(), ".nc")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = _tmp_like(tmp_path, "fly", sleeper.pid, ".nc")
        legacy_old = tmp_path / ".fly.8_j6izpm.tmp.analysis.h5"  # earlier behavior
        legacy_new = tmp_path / ".fly.x1y2z3w4.tmp.slp"
        for p in (legacy_old, legacy_new):
            p.write_bytes(b"junk")
        hour_ago = time.time() - 3600
        os.utime(legacy_old, (hour_ago, hour_ago))
        users = [tmp_path / "notes.tmp.txt", tmp_path / ".fly.tmp.nc", tmp_path / "fly.nc.tmp"]
        for p in users:
            p.write_text("mine")
        save_poses(small_poses, tmp_path / "other.nc")
        assert not dead.exists() and not legacy_old.exists()
        assert alive.exists() and legacy_new.exists()
        assert all(p.exists() for p in users)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert clean_stale_temporaries(tmp_path) == [alive]


def test_killed_write_leaves_nothing_after_the_next_write(small_poses, tmp_path):
    """A write killed mid-way leaves a hidden temporary file; the next write removes it."""
    script = r"""
import os, sys, signal
from pathlib import Path
import behavior.io.registry as registry
folder = Path(sys.argv[1])
with registry.atomic_path(folder / "big.csv") as tmp:
    tmp.write_bytes(b"x" * 1000)
    os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = run_child(script, str(tmp_path))
    assert proc.returncode == -9, proc.stderr
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".big.") and ".tmp" in left[0], left
    save_poses(small_poses, tmp_path / "other.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.csv"]


# --------------------------------------------------------------------------- properties


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    old=st.binary(max_size=200),
    new=st.binary(max_size=400),
    fail_at=st.sampled_from(["none", "body", "verify", "fsync", "replace"]),
)
def test_atomic_path_all_or_nothing(tmp_path_factory, old, new, fail_at):
    """Whatever step fails, the destination holds either its old bytes or the new ones,
    never a mix, and no temporary file stays."""
    folder = tmp_path_factory.mktemp("atomic")
    path = folder / "data.bin"
    path.write_bytes(old)

    def verify(tmp: Path) -> None:
        if fail_at == "verify" or tmp.read_bytes() != new:
            raise ValueError("not what was written")

    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        if fail_at == "fsync":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    def replace(a, b):
        if fail_at == "replace":
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(a, b)

    os.fsync, os.replace = fsync, replace
    try:
        with atomic_path(path, verify=verify) as tmp, open(tmp, "wb") as fh:
            fh.write(new[: len(new) // 2])
            if fail_at == "body":
                raise OSError(errno.ENOSPC, f"No space left on device: '{tmp}'")
            fh.write(new[len(new) // 2 :])
        failed = None
    except FileWriteError as err:
        failed = err
    finally:
        os.fsync, os.replace = real_fsync, real_replace
    if fail_at == "none":
        assert failed is None and path.read_bytes() == new
    else:
        assert failed is not None and path.read_bytes() == old
        assert str(path) in str(failed) and ".tmp" not in str(failed)
    assert [p.name for p in folder.iterdir()] == ["data.bin"]


def test_atomic_path_is_the_classifier_writer(tmp_path, monkeypatch):
    """classify.persistence writes through atomic_path with a verify (one helper, not two)."""
    from behavior.classify import persistence

    calls = []
    real = registry.atomic_path

    def spy(path, **kwargs):
        calls.append(kwargs.get("verify"))
        return real(path, **kwargs)

    monkeypatch.setattr(registry, "atomic_path", spy)
    persistence.write_model({"w": np.arange(3)}, {"behaviors": ["a"]}, tmp_path / "m.skops")
    assert len(calls) == 1 and callable(calls[0])
    assert not hasattr(persistence, "_fsync_folder")
