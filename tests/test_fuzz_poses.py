"""Fuzzing the pose readers with corrupted copies of real files (issue 15).

One real file per pose format from ``../shared/data`` (netCDF and tidy Parquet are
written by ``save_poses`` from a real file) is corrupted by hypothesis: truncated,
bytes flipped in the header or the body, renamed to another format's suffix,
emptied, values set to NaN / inf / huge numbers, rows duplicated. Every outcome must
be a clean load (a dataset that passes ``bh.validate``) or an error of the
library's own types (``PoseDataError`` and its subclasses, ``MissingDependencyError``)
whose message names the file; no case may hang or crash the interpreter.

Each case runs in a worker process with a time limit (``CASE_TIMEOUT``), so a hang
or a crash fails the test instead of the run. The default budget keeps the file
under 90 s; set ``BEHAVIOR_FUZZ_EXAMPLES`` (examples per format, default 60) for a
larger nightly run, which then also draws fresh random cases instead of the fixed
ones.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import re
import shutil
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_DATA, shared_data_available

pytestmark = pytest.mark.skipif(
    not shared_data_available(),
    reason=f"real pose files not found at {SHARED_DATA} (../shared/data is absent)",
)

EXAMPLES = int(os.environ.get("BEHAVIOR_FUZZ_EXAMPLES", "60"))
NIGHTLY = "BEHAVIOR_FUZZ_EXAMPLES" in os.environ
# strict (nightly): also fail when a raw error got past the reader and was only caught
# by load_poses' safety net ("cannot be read as <format> (<description>); found <Error>")
STRICT = os.environ.get("BEHAVIOR_FUZZ_STRICT", "") not in ("", "0")
_NETTED = re.compile(r"cannot be read as [\w-]+ \(.*\); found \w+")
CASE_TIMEOUT = float(os.environ.get("BEHAVIOR_FUZZ_TIMEOUT", "30"))

_TOPVIEW = "deepof_tests/tests/test_examples/test_single_topview/Tables"


@dataclass(frozen=True)
class Source:
    """One real file of one format: where it is, the frontend that reads it, and
    whether its values can be rewritten (the frontend writes the format)."""

    name: str
    relpath: str | None  # None: written by save_poses from ``from_source``
    frontend: str
    suffix: str
    text: bool = False
    writes: bool = True
    from_source: str | None = None


SOURCES = {
    s.name: s
    for s in (
        Source("dlc-h5", f"{_TOPVIEW}/testDLC_h5_table.h5", "deeplabcut", ".h5"),
        Source("dlc-csv", f"{_TOPVIEW}/testDLC_csv_table.csv", "deeplabcut", ".csv", text=True),
        Source("sleap-slp", f"{_TOPVIEW}/SLEAP/testDLC_sleap.slp", "sleap", ".slp", writes=False),
        Source(
            "sleap-analysis", f"{_TOPVIEW}/SLEAP/testDLC_sleap.analysis.h5", "sleap", ".analysis.h5"
        ),
        Source(
            "lightning-pose",
            "lightningpose_eks_predictions/ibl-paw/"
            "3f859b5c-e73a-4044-b49e-34bb81e96715.left.rng=0.csv",
            "lightning-pose",
            ".csv",
            text=True,
        ),
        Source(
            "anipose-h5",
            "sleap_anipose_minimal/minimal_session/points3d.h5",
            "anipose",
            ".h5",
            writes=False,
        ),
        Source("nwb", "ndxpose_fixtures/0.3.0_poseestimation_one_camera.nwb", "nwb", ".nwb"),
        Source("netcdf", None, "netcdf", ".nc", from_source="dlc-h5"),
        Source("tidy-parquet", None, "tidy", ".parquet", from_source="dlc-h5"),
        Source("tidy-csv", None, "tidy", ".csv", text=True, from_source="dlc-h5"),
    )
}

_OTHER_SUFFIXES = (".h5", ".csv", ".slp", ".analysis.h5", ".nwb", ".nc", ".parquet", ".tsv", "")
_SPECIAL = (np.nan, np.inf, -np.inf, 1e308, -1e308, 1e300, 0.0, -0.0)
_SPECIAL_TEXT = ("nan", "inf", "-inf", "1e400", "-1e400", "1e308", "", "abc", "0x10", "1,5")


@pytest.fixture(scope="session", autouse=True)
def _warm_kernels():
    """Overrides conftest's: these tests compile no numba or JAX kernel, so they skip
    the warm-up (the file then stays within its CI budget when run alone)."""


# --------------------------------------------------------------------------- worker


def _run_case(task: str, path: str, source: str) -> dict[str, Any]:
    """In the worker: load ``path`` (or run ``behavior info`` on it) and report."""
    import warnings

    import behavior as bh
    from behavior.errors import MissingDependencyError, PoseDataError

    warnings.simplefilter("ignore")
    if task == "warm":
        return {}
    if task == "info":
        from behavior.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = ["info", path, "--no-progress"]
            if source != "auto":
                args += ["--source", source]
            rc = main(args)
        return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}
    try:
        ds = bh.load_poses(path, source=source)
        bh.validate(ds)
    except (PoseDataError, MissingDependencyError) as exc:
        cause = exc.__cause__
        netted = cause is not None and not isinstance(cause, PoseDataError | MissingDependencyError)
        return {
            "outcome": "error",
            "type": type(exc).__name__,
            "message": str(exc),
            "cause": f"{type(cause).__module__}.{type(cause).__qualname__}" if netted else None,
        }
    except BaseException as exc:  # reported to the test, which fails
        return {
            "outcome": "raw",
            "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }
    return {"outcome": "ok", "sizes": dict(ds.sizes)}


def _serve(conn: Any) -> None:
    while True:
        msg = conn.recv()
        if msg is None:
            return
        conn.send(_run_case(*msg))


class Worker:
    """One worker process, reused across cases, replaced after a hang or a crash."""

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self.conn, child = self._ctx.Pipe()
        self.proc = self._ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.conn.send(("warm", "", "auto"))  # import behavior once, outside any case
        if not self.conn.poll(120):
            raise RuntimeError("the fuzz worker did not start within 120 s")
        self.conn.recv()

    def run(self, task: str, path: Path, source: str = "auto") -> dict[str, Any]:
        self.conn.send((task, str(path), source))
        if not self.conn.poll(CASE_TIMEOUT):
            self.proc.kill()
            self.proc.join()
            self._start()
            return {"outcome": "hang", "message": f"no answer within {CASE_TIMEOUT} s"}
        try:
            return self.conn.recv()
        except EOFError:
            code = self.proc.exitcode
            self.proc.join()
            self._start()
            return {"outcome": "crash", "message": f"the worker died (exit code {code})"}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(None)
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


# --------------------------------------------------------------------------- sources


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    """Each source as a file: real files as they are, netCDF and tidy written from one."""
    import warnings

    import behavior as bh

    folder = tmp_path_factory.mktemp("fuzz_sources")
    out: dict[str, Path] = {}
    for s in SOURCES.values():
        if s.relpath is not None:
            out[s.name] = SHARED_DATA / s.relpath
    for s in SOURCES.values():
        if s.from_source is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = bh.load_poses(out[s.from_source], fps=30)
            path = folder / f"written_{s.name}{s.suffix}"
            bh.save_poses(ds, path, format=s.frontend)
            out[s.name] = path
    return out


@pytest.fixture(scope="module")
def datasets(originals) -> dict[str, Any]:
    """The loaded dataset of each writable source (for value corruptions)."""
    import warnings

    import behavior as bh

    out = {}
    for name, s in SOURCES.items():
        if s.writes and not s.text:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = bh.load_poses(originals[name], source=s.frontend)
    return out


# --------------------------------------------------------------------------- corruptions

corruptions = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 0.999)),
    st.tuples(
        st.just("flip_head"),
        st.lists(st.tuples(st.integers(0, 1023), st.integers(1, 255)), min_size=1, max_size=8),
    ),
    st.tuples(
        st.just("flip_body"),
        st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(1, 255)), min_size=1, max_size=16),
    ),
    st.tuples(st.just("empty"), st.none()),
    st.tuples(st.just("suffix"), st.sampled_from(_OTHER_SUFFIXES)),
    st.tuples(
        st.just("values"),
        st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, len(_SPECIAL) - 1)), max_size=6),
    ),
    st.tuples(st.just("duplicate_rows"), st.lists(st.floats(0.0, 0.999), min_size=1, max_size=4)),
)


def _corrupt(
    source: Source, original: Path, dataset: Any, case: tuple, folder: Path
) -> tuple[Path, bool]:
    """Write the corrupted copy; return its path and whether the corruption applied."""
    kind, arg = case
    data = original.read_bytes()
    suffix = source.suffix
    if kind == "truncate":
        data = data[: int(len(data) * arg)]
    elif kind == "flip_head":
        buf = bytearray(data)
        for offset, mask in arg:
            buf[offset % len(buf)] ^= mask
        data = bytes(buf)
    elif kind == "flip_body":
        buf = bytearray(data)
        for where, mask in arg:
            buf[int(where * len(buf))] ^= mask
        data = bytes(buf)
    elif kind == "empty":
        data = b""
    elif kind == "suffix":
        suffix = arg
    elif kind == "values" and source.text:
        data = _text_values(data, arg)
    elif kind == "values" and dataset is not None:
        path = folder / f"case{suffix}"
        _write_values(source, dataset, arg, path)
        return path, True
    elif kind == "duplicate_rows" and source.text:
        data = _text_duplicates(data, arg)
    elif kind == "duplicate_rows" and dataset is not None:
        path = folder / f"case{suffix}"
        return path, _write_duplicates(source, dataset, arg, path)
    else:
        return original, False
    path = folder / f"case{suffix}"
    path.write_bytes(data)
    return path, True


def _data_lines(lines: list[bytes]) -> list[int]:
    """Rows past the header: the first whose first cell is a number, and after."""
    for i, line in enumerate(lines):
        cell = line.split(b",")[0].strip()
        with contextlib.suppress(ValueError):
            float(cell)
            return list(range(i, len(lines)))
    return list(range(min(4, len(lines)), len(lines)))


def _text_values(data: bytes, edits: list[tuple[float, int]]) -> bytes:
    lines = data.split(b"\n")
    rows = [i for i in _data_lines(lines) if lines[i].strip()]
    for where, which in edits:
        if not rows:
            break
        i = rows[int(where * len(rows))]
        cells = lines[i].split(b",")
        j = 1 + int(where * 7919) % max(1, len(cells) - 1)
        if j < len(cells):
            cells[j] = _SPECIAL_TEXT[which % len(_SPECIAL_TEXT)].encode()
        lines[i] = b",".join(cells)
    return b"\n".join(lines)


def _text_duplicates(data: bytes, wheres: list[float]) -> bytes:
    lines = data.split(b"\n")
    rows = [i for i in _data_lines(lines) if lines[i].strip()]
    for where in sorted(wheres, reverse=True):
        if rows:
            i = rows[int(where * len(rows))]
            lines.insert(i + 1, lines[i])
    return b"\n".join(lines)


def _write_duplicates(source: Source, ds: Any, wheres: list[float], path: Path) -> bool:
    """Write ``ds`` with some frames repeated (same time, same values), bypassing
    validation; False when the writer cannot write such a dataset at all."""
    n = ds.sizes["time"]
    order = list(range(n))
    for where in sorted(wheres, reverse=True):
        i = int(where * n)
        order.insert(i + 1, i)
    try:
        _write(source, ds.isel(time=order), path)
    except Exception:  # a writer that refuses repeated time: nothing to read
        return False
    return True


def _write(source: Source, ds: Any, path: Path) -> None:
    import warnings

    from behavior.io.registry import get_frontend

    kwargs = {"format": "parquet"} if source.name == "tidy-parquet" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        get_frontend(source.frontend).write(ds, path, **kwargs)


def _write_values(source: Source, ds: Any, edits: list, path: Path) -> None:
    """Write ``ds`` with some positions set to special values, bypassing validation
    (``save_poses`` refuses infinite positions): the reader must cope with them."""
    ds = ds.copy(deep=True)
    flat = ds["position"].values.reshape(-1)
    for where, which in edits:
        flat[int(where * flat.size)] = _SPECIAL[which]
    _write(source, ds, path)


# --------------------------------------------------------------------------- checks


def _check(result: dict[str, Any], path: Path, case: tuple, source: str) -> None:
    outcome = result["outcome"]
    where = f"{case} of {path.name} (source={source})"
    assert outcome not in ("hang", "crash"), f"{where}: {result['message']}"
    assert outcome != "raw", (
        f"{where}: raw {result['type']}: {result['message']}\n{result.get('traceback', '')}"
    )
    if outcome == "error":
        message = result["message"]
        if STRICT:  # a raw error that a reader let through, caught by load_poses' net
            assert not _NETTED.search(message), f"{where}: {result['cause']}: {message}"
        assert path.name in message or str(path) in message, (
            f"{where}: the error does not name the file: {result['type']}: {message}"
        )


@pytest.mark.parametrize("name", list(SOURCES))
def test_corrupted_copies_load_cleanly_or_fail_with_a_named_error(
    name, originals, datasets, worker, tmp_path_factory
):
    source = SOURCES[name]
    original = originals[name]
    dataset = datasets.get(name)
    folder = tmp_path_factory.mktemp(f"fuzz_{name}")

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not NIGHTLY,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=corruptions, forced=st.booleans())
    def run(case, forced):
        case_dir = folder / uuid.uuid4().hex[:8]
        case_dir.mkdir()
        try:
            path, applied = _corrupt(source, original, dataset, case, case_dir)
            if not applied:
                return
            src = source.frontend if forced else "auto"
            _check(worker.run("load", path, src), path, case, src)
        finally:
            shutil.rmtree(case_dir, ignore_errors=True)

    run()


def test_the_originals_load(originals, worker):
    """The uncorrupted sources load (so the fuzz cases start from valid files)."""
    for name, path in originals.items():
        result = worker.run("load", path, SOURCES[name].frontend)
        assert result["outcome"] == "ok", f"{name}: {result}"


_INFO_SAMPLE = (
    ("truncate", 0.5),
    ("truncate", 0.05),
    ("flip_head", [(0, 0xFF), (9, 0x10)]),
    ("flip_body", [(0.5, 0x55), (0.7, 0x01), (0.9, 0x80)]),
    ("empty", None),
    ("suffix", ".nwb"),
)


@pytest.mark.parametrize("name", list(SOURCES))
def test_behavior_info_prints_one_line_for_a_corrupted_file(name, originals, worker, tmp_path):
    """``behavior info`` on a corrupted file: exit 0 with a summary, or exit 1 with
    exactly one line that names the file, never a traceback."""
    source = SOURCES[name]
    for i, case in enumerate(_INFO_SAMPLE):
        case_dir = tmp_path / str(i)
        case_dir.mkdir()
        path, _ = _corrupt(source, originals[name], None, case, case_dir)
        for src in ("auto", source.frontend):
            result = worker.run("info", path, src)
            assert "rc" in result, f"{case} of {name}: {result}"
            stderr = result["stderr"]
            assert "Traceback" not in stderr, f"{case} of {name}: {stderr}"
            if result["rc"] != 0:
                lines = [line for line in stderr.splitlines() if line.strip()]
                assert result["rc"] == 1, f"{case} of {name} ({src}): {result}"
                assert len(lines) == 1, f"{case} of {name} ({src}): {len(lines)} lines: {stderr}"
                assert path.name in lines[0], f"{case} of {name} ({src}): {lines[0]}"
