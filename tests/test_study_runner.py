"""Tests for behavior/study/runner.py and manifest.py: many sessions, resume, failures, groups."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.study import analyze, find_sessions, group_tables
from behavior.study.manifest import HASHED_BYTES, Manifest, file_fingerprint
from behavior.study.runner import name_sessions

N_SESSIONS = 6


@pytest.fixture(scope="session", autouse=True)
def _warm_kernels():
    """Nothing here is timed: kernels compile (or load from numba's cache) on first use."""


@pytest.fixture(scope="module")
def session_files(tmp_path_factory) -> list[Path]:
    """Six tiny simulated sessions (3 s of two mice each) saved as netCDF."""
    folder = tmp_path_factory.mktemp("sessions")
    paths = []
    for seed in range(N_SESSIONS):
        ds, _ = bh.simulate.session(duration="3 s", seed=seed)
        paths.append(bh.save_poses(ds, folder / f"mouse{seed}.nc"))
    return paths


@pytest.fixture
def study(session_files, tmp_path) -> Path:
    """A fresh copy of the sessions (tests edit and delete files)."""
    folder = tmp_path / "data"
    folder.mkdir()
    for path in session_files:
        shutil.copy2(path, folder / path.name)
    return folder


class CountingSession:
    """A stand-in for analyze_session: mean speed per session, calls counted."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, source, config, out_dir, *, name=None) -> dict:
        self.calls.append(name)
        ds = bh.load_poses(source)
        speed = float(bh.kinematics.speed(ds["position"]).mean())
        tmp = Path(out_dir) / f".{name}.{uuid.uuid4().hex}"
        tmp.mkdir()
        pd.DataFrame({"mean_speed": [speed]}).to_csv(tmp / "summary.csv", index=False)
        final = Path(out_dir) / name
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
        return {
            "session": name,
            "status": "ok",
            "outputs": {"summary": f"{name}/summary.csv"},
            "summary": {
                "mean_speed": speed,
                "frames": int(ds.sizes["time"]),
                "fraction.fast": min(1.0, speed / 500),
                "fraction.slow": 1 - min(1.0, speed / 500),
            },
            "warnings": ["one warning"] if name.startswith("mouse0") else [],
            "seconds": 0.0,
        }


class DyingSession(CountingSession):
    """Kills its worker process on mouse3.nc (as a segfault or the memory limit would)."""

    def __call__(self, source, config, out_dir, *, name=None) -> dict:
        if name == "mouse3.nc":
            os._exit(1)
        return super().__call__(source, config, out_dir, name=name)


def _run(data, out, function, **options):
    return analyze(
        data,
        options.pop("config", {}),
        out,
        scheduler="synchronous",
        progress=False,
        session_function=function,
        **options,
    )


# --------------------------------------------------------------------------- inputs


def test_find_sessions_takes_files_folders_and_patterns(tmp_path) -> None:
    a = tmp_path / "a"
    (a / "sub").mkdir(parents=True)
    for name in ["m1.h5", "m1.csv", "m2.csv", ".hidden.h5", "notes.txt", "sub/m3.nc"]:
        (a / name).write_text("x")
    out = a / "results"
    out.mkdir()
    (out / "study_summary.csv").write_text("x")
    assert [p.name for p in find_sessions(a, exclude=out)] == ["m1.h5", "m2.csv"]
    pattern = str(tmp_path / "a" / "**" / "*.nc")
    assert [p.name for p in find_sessions([pattern])] == ["m3.nc"]
    # a file given twice (as itself and through a pattern) is one session
    both = find_sessions([a / "m2.csv", str(a / "m*.csv")])
    assert [p.name for p in both] == ["m2.csv", "m1.csv"]
    assert all(p.is_absolute() for p in both)
    with pytest.raises(FileNotFoundError, match="nothere.h5"):
        find_sessions([a / "nothere.h5"])
    with pytest.raises(FileNotFoundError, match="matches no file"):
        find_sessions([str(a / "*.slp")])
    with pytest.raises(FileNotFoundError, match="paths"):
        analyze([], None, tmp_path / "out", scheduler="synchronous")
    assert not (tmp_path / "out").exists()  # nothing written


def test_session_names_are_unique_and_keep_the_file_name() -> None:
    paths = [Path("/x/day1/m1.h5"), Path("/x/day2/m1.h5"), Path("/y/day1/m1.h5"), Path("/m2.h5")]
    names = name_sessions(paths)
    assert len(set(names)) == len(names)
    assert names[3] == "m2.h5"
    assert all(n.endswith("m1.h5") for n in names[:3])


# --------------------------------------------------------------------------- the manifest


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(1, 3 * HASHED_BYTES),
    where=st.floats(0, 1),
    at_end=st.booleans(),
)
def test_fingerprint_notices_an_edit_at_either_end(tmp_path_factory, size, where, at_end) -> None:
    path = tmp_path_factory.mktemp("fp") / "f.bin"
    data = bytearray(np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes())
    path.write_bytes(bytes(data))
    stat = path.stat()
    before = file_fingerprint(path)
    span = min(size, HASHED_BYTES)
    offset = int(where * (span - 1))
    index = size - 1 - offset if at_end else offset
    data[index] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime
    after = file_fingerprint(path)
    assert after["size"] == before["size"] and after["mtime_ns"] == before["mtime_ns"]
    assert after["head_tail_blake2b"] != before["head_tail_blake2b"]


def test_manifest_writes_are_spaced_by_their_cost_and_the_last_one_is_never_skipped(
    tmp_path, monkeypatch
) -> None:
    from behavior.study import manifest as manifest_module

    monkeypatch.setattr(manifest_module, "WRITE_COST_FACTOR", 1e9)  # any write is "slow"
    m = Manifest.load(tmp_path)
    m.record("a", {"status": "ok"})
    assert m.write_soon()  # the first write is never held back
    m.record("b", {"status": "ok"})
    assert not m.write_soon()
    assert set(Manifest.load(tmp_path).sessions) == {"a"}
    m.write()
    assert set(Manifest.load(tmp_path).sessions) == {"a", "b"}
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_unreadable_manifest_starts_afresh(tmp_path, caplog) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    assert Manifest.load(tmp_path).sessions == {}
    assert "cannot be read" in caplog.text


# --------------------------------------------------------------------------- resume


def test_restart_skips_finished_sessions_and_recomputes_what_changed(study, tmp_path) -> None:
    out = tmp_path / "out"
    first = CountingSession()
    result = _run(study, out, first)
    assert sorted(first.calls) == sorted(f"mouse{i}.nc" for i in range(N_SESSIONS))
    assert list(result.summary["status"]) == ["ok"] * N_SESSIONS
    assert result.summary.loc[0, "n_warnings"] == 1
    manifest = json.loads((out / "manifest.json").read_text())["sessions"]
    assert set(manifest) == set(first.calls)
    assert all(e["outputs"] == {"summary": f"{n}/summary.csv"} for n, e in manifest.items())
    stamp = {n: (out / n / "summary.csv").stat().st_mtime_ns for n in first.calls}

    again = CountingSession()
    second = _run(study, out, again)
    assert again.calls == []
    assert sorted(second.skipped) == sorted(first.calls)
    assert {n: (out / n / "summary.csv").stat().st_mtime_ns for n in first.calls} == stamp
    pd.testing.assert_frame_equal(
        second.summary.drop(columns="seconds"), result.summary.drop(columns="seconds")
    )

    # an edited input, a lost output: those two sessions only
    ds, _ = bh.simulate.session(duration="3 s", seed=99)
    bh.save_poses(ds, study / "mouse2.nc")
    shutil.rmtree(out / "mouse4.nc")
    third = CountingSession()
    _run(study, out, third)
    assert sorted(third.calls) == ["mouse2.nc", "mouse4.nc"]

    # a changed config: every session
    fourth = CountingSession()
    _run(study, out, fourth, config={"features": {"bin_size": "100 ms"}})
    assert len(fourth.calls) == N_SESSIONS
    # resume=False: every session, whatever the manifest says
    fifth = CountingSession()
    _run(study, out, fifth, config={"features": {"bin_size": "100 ms"}}, resume=False)
    assert len(fifth.calls) == N_SESSIONS


def test_a_bad_file_fails_only_its_own_session(study, tmp_path) -> None:
    (study / "broken.nc").write_bytes(b"not a pose file at all")
    out = tmp_path / "out"
    result = _run(study, out, CountingSession())
    table = pd.read_csv(out / "study_summary.csv")
    bad = table[table["session"] == "broken.nc"].iloc[0]
    assert bad["status"] == "failed"
    assert "broken.nc" in bad["error"] and "UnknownFormatError" in bad["error"]
    assert (table[table["session"] != "broken.nc"]["status"] == "ok").all()
    assert list(result.failed) == ["broken.nc"]
    assert not (out / "broken.nc").exists()
    # a failed session is tried again on restart; the others are not
    retry = CountingSession()
    _run(study, out, retry)
    assert retry.calls == ["broken.nc"]


# --------------------------------------------------------------------------- groups


def test_metadata_gives_per_group_tables(study, tmp_path) -> None:
    meta = pd.DataFrame(
        {
            "session": [f"mouse{i}" for i in range(N_SESSIONS)],  # stems match too
            "genotype": ["wt", "ko"] * (N_SESSIONS // 2),
        }
    )
    result = _run(study, tmp_path / "out", CountingSession(), metadata=meta)
    summary = result.summary
    assert list(summary["genotype"]) == list(meta["genotype"])
    table = result.groups["genotype"]
    speed = table[table["measure"] == "mean_speed"].set_index("genotype")
    expected = summary.groupby("genotype")["mean_speed"]
    np.testing.assert_allclose(speed["mean"], expected.mean().loc[speed.index])
    np.testing.assert_allclose(speed["sd"], expected.std().loc[speed.index])
    assert (speed["n_sessions"] == N_SESSIONS // 2).all()
    written = pd.read_csv(result.files["group:genotype"])
    assert len(written) == len(table)
    page = result.files["report"].read_text()
    assert page.count('src="data:image/png;base64,') == 2  # sessions, and by genotype
    with pytest.raises(ValueError, match="'session' column"):
        _run(study, tmp_path / "out2", CountingSession(), metadata=meta.rename(columns=str.upper))


def test_group_tables_leave_out_failed_and_ungrouped_sessions() -> None:
    summary = pd.DataFrame(
        {
            "session": list("abcd"),
            "status": ["ok", "ok", "failed", "ok"],
            "group": ["x", "x", "x", None],
            "value": [1.0, 3.0, 100.0, 50.0],
        }
    )
    table = group_tables(summary, ["group"])["group"]
    assert table.to_dict("records")[0] == {
        "group": "x",
        "measure": "value",
        "n_sessions": 2,
        "mean": 2.0,
        "sd": pytest.approx(np.sqrt(2)),
        "sem": pytest.approx(1.0),
        "min": 1.0,
        "max": 3.0,
    }


def test_study_report_links_every_session(study, tmp_path) -> None:
    out = tmp_path / "out"
    result = _run(study, out, CountingSession())
    page = result.files["report"].read_text()
    assert page.startswith("<!DOCTYPE html>")
    for name in result.summary["session"]:
        assert name in page
    assert "http://" not in page and "https://" not in page
    assert page.count('src="data:image/png;base64,') == 1  # time in each behavior
    for name in result.summary["session"]:
        assert f'href="{name}/report.html"' not in page  # the stand-in writes no report


# --------------------------------------------------------------------------- workers


def test_two_local_workers_give_the_in_process_results(study, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    serial = _run(study, tmp_path / "serial", CountingSession())
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = analyze(
            study, {}, tmp_path / "parallel", scheduler=client, progress=False,
            session_function=CountingSession(),
        )  # fmt: skip
        pids = set(client.run(os.getpid).values())
        # the same cluster by its address, as `--scheduler tcp://...` reaches a remote one
        again = analyze(
            study, {}, tmp_path / "by_address", scheduler=cluster.scheduler_address,
            progress=False, session_function=CountingSession(),
        )  # fmt: skip
        assert list(again.summary["status"]) == ["ok"] * N_SESSIONS
    assert len(pids) == 2 and os.getpid() not in pids
    manifest = json.loads(result.files["manifest"].read_text())["sessions"]
    assert {e["worker_pid"] for e in manifest.values()} <= pids
    assert len(manifest) == N_SESSIONS
    pd.testing.assert_frame_equal(
        result.summary.drop(columns="seconds"), serial.summary.drop(columns="seconds")
    )


def test_a_worker_that_dies_fails_its_own_session_only(study, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    import dask

    with (
        dask.config.set(  # no retry; one session on the worker at a time (as analyze's own)
            {
                "distributed.scheduler.allowed-failures": 0,
                "distributed.scheduler.worker-saturation": 1.0,
            }
        ),
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = analyze(
            study, {}, tmp_path / "out", scheduler=client, progress=False,
            session_function=DyingSession(),
        )  # fmt: skip
    assert list(result.failed) == ["mouse3.nc"]
    assert "the worker failed" in result.failed["mouse3.nc"]
    done = result.summary[result.summary["session"] != "mouse3.nc"]
    assert list(done["status"]) == ["ok"] * (N_SESSIONS - 1)
