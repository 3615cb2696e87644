"""Tests for `behavior analyze`: the command (behavior/cli.py), killed and resumed."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

import behavior as bh
from behavior.cli import build_parser, main
from behavior.study import analyze
from behavior.study.config import load_config

ROOT = Path(__file__).resolve().parents[1]
N_SESSIONS = 6


@pytest.fixture(scope="session", autouse=True)
def _warm_kernels():
    """Nothing here is timed: kernels compile (or load from numba's cache) on first use."""


# figures off: the tests check the study machinery, not the drawing
CONFIG = "[report]\nfigures = false\n\n[features]\nenabled = true\n"


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> Path:
    """Six simulated sessions of 20 s (two mice), one netCDF file each."""
    folder = tmp_path_factory.mktemp("cli_sessions")
    for seed in range(N_SESSIONS):
        ds, _ = bh.simulate.session(duration="20 s", seed=seed)
        bh.save_poses(ds, folder / f"mouse{seed}.nc")
    return folder


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "analysis.toml"
    path.write_text(CONFIG)
    return path


def _main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_parser_reads_the_analyze_options() -> None:
    args = build_parser().parse_args(
        ["analyze", "a.h5", "b/*.csv", "--config", "c.toml", "--out", "o", "--workers", "2",
         "--scheduler", "tcp://h:8786", "--metadata", "m.csv", "--no-resume", "--no-progress"]
    )  # fmt: skip
    assert args.paths == ["a.h5", "b/*.csv"]
    assert (args.config, args.out, args.workers, args.scheduler) == (
        "c.toml",
        "o",
        2,
        "tcp://h:8786",
    )
    assert args.metadata == "m.csv" and args.no_resume and args.no_progress


def test_example_config_is_a_valid_config(tmp_path) -> None:
    code, text, _ = _main(["analyze", "--example-config"])
    assert code == 0
    path = tmp_path / "analysis.toml"
    path.write_text(text)
    assert load_config(path).hash() == load_config(None).hash()


def test_config_error_exits_2_naming_the_key(sessions, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[clean]\nsmooth = "wiggly"\n')
    code, _, err = _main(["analyze", str(sessions), "--config", str(bad), "--out", str(tmp_path)])
    assert code == 2
    assert "smooth" in err and "wiggly" in err
    assert not (tmp_path / "manifest.json").exists()  # nothing ran
    code, _, err = _main(["analyze", "--out", str(tmp_path)])
    assert code == 2 and "glob" in err


def test_analyze_writes_the_study_and_fails_a_bad_file_alone(
    sessions, config_file, tmp_path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("mouse0.nc", "mouse1.nc"):
        (data / name).write_bytes((sessions / name).read_bytes())
    (data / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    meta = tmp_path / "meta.csv"
    pd.DataFrame({"session": ["mouse0.nc", "mouse1.nc"], "cohort": ["a", "b"]}).to_csv(meta)
    out = tmp_path / "out"
    argv = ["analyze", str(data), "--config", str(config_file), "--out", str(out),
            "--scheduler", "synchronous", "--metadata", str(meta), "--no-progress"]  # fmt: skip
    code, text, err = _main(argv)
    assert code == 1
    assert "1 of 3 session(s) failed" in err
    assert "failed: broken.h5" in text
    for name in ("study_summary.csv", "study_summary_by_cohort.csv", "report.html"):
        assert name in text and (out / name).exists()
    table = pd.read_csv(out / "study_summary.csv").set_index("session")
    assert table.loc["broken.h5", "status"] == "failed"
    assert table.loc["mouse0.nc", "cohort"] == "a" and table.loc["mouse0.nc", "status"] == "ok"
    page = (out / "report.html").read_text()
    assert 'href="mouse0.nc/report.html"' in page and 'href="mouse1.nc/report.html"' in page
    # again: the two sessions are done, the bad file is tried again and fails again
    code, text, _ = _main(argv)
    assert code == 1 and "2 already done" in text


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_killed_run_resumes_without_redoing_finished_sessions(
    sessions, config_file, tmp_path
) -> None:
    reference = analyze(sessions, config_file, tmp_path / "reference", scheduler="synchronous",
                        progress=False)  # fmt: skip
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    command = [sys.executable, "-m", "behavior.cli", "analyze", str(sessions), "--config",
               str(config_file), "--out", str(out), "--workers", "1", "--no-progress"]  # fmt: skip
    run = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    manifest = out / "manifest.json"
    deadline = time.monotonic() + 240
    done: list[str] = []
    try:
        while time.monotonic() < deadline:
            if run.poll() is not None:
                pytest.fail(f"the run ended before it was killed: {run.stderr.read().decode()}")
            if manifest.exists():
                with contextlib.suppress(ValueError):
                    done = list(json.loads(manifest.read_text())["sessions"])
            if len(done) >= 2:
                break
            time.sleep(0.02)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the command and its worker processes
        run.wait()
    sessions_done = json.loads(manifest.read_text())["sessions"]
    done = sorted(sessions_done)
    assert 2 <= len(done) < N_SESSIONS, done
    before = {name: _files(out / name) for name in done}

    result = analyze(sessions, config_file, out, scheduler="synchronous", progress=False)
    assert sorted(result.skipped) == done
    assert sorted(result.computed) == sorted(set(reference.summary["session"]) - set(done))
    for name in done:  # not recomputed: every file of the session untouched
        assert _files(out / name) == before[name]
        after = json.loads(manifest.read_text())["sessions"][name]
        assert after["finished"] == sessions_done[name]["finished"]
    assert [p.name for p in out.rglob(".*")] == []  # no temporary file or folder left
    # the outputs equal an uninterrupted run's
    ref = tmp_path / "reference"
    for name in reference.summary["session"]:
        for table in ("summary.csv", "bouts.csv"):
            assert (out / name / table).read_bytes() == (ref / name / table).read_bytes()
        for data in ("results.nc", "features.nc"):
            with xr.open_dataset(out / name / data) as a, xr.open_dataset(ref / name / data) as b:
                xr.testing.assert_equal(a, b)
    timing = [c for c in result.summary.columns if c == "seconds" or c.startswith("worker_")]
    pd.testing.assert_frame_equal(
        result.summary.drop(columns=timing), reference.summary.drop(columns=timing)
    )


def test_demo_runs_a_study_of_simulated_sessions(tmp_path, monkeypatch) -> None:
    from behavior import cli

    stages = [s for s in cli.DEMO_STAGES if s.name in ("simulate", "analyze a study")]
    assert len(stages) == 2
    monkeypatch.setattr(cli, "DEMO_STAGES", stages)
    ctx = cli.run_demo(cli.DemoContext(out=tmp_path, duration="10 s", figures=False), False)
    study = ctx.results["study"]
    assert list(study.summary["status"]) == ["ok"] * 3
    assert (tmp_path / "study" / "study_summary.csv").is_file()
    lines = next(v for k, v in ctx.report.items() if k.startswith("study"))
    assert sum(line.split()[1:2] == ["ok"] for line in lines) == 3
