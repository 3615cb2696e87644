"""Fuzzing the annotation readers and writers with corrupted real files and odd arguments.

One real file per annotation format from ``../shared/data`` (the Caltech rat file,
the BehaviorDEPOT per-frame CSV, the DLCAnalyzer interval table), and for the
formats with no real file one written by ``save_annotations`` from the real
Caltech ethogram. Each case corrupts a copy (truncation, byte flips in the
header and the body, a wrong suffix, an empty file, NaN / inf / huge numbers,
duplicated rows) and loads it under a per-case alarm: the outcome must be an
Ethogram or an error of the library's own types naming the file, and no case may
hang. ``BEHAVIOR_FUZZ_EXAMPLES`` raises the number of cases per format (default
kept under a minute in CI).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behavior.errors import PoseDataError
from behavior.ethogram import Ethogram
from behavior.io.annotations import annotation_formats, load_annotations, save_annotations

EXAMPLES = int(os.environ.get("BEHAVIOR_FUZZ_EXAMPLES", "12"))
CASE_SECONDS = 20
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="BEHAVIOR_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGALRM"), reason="the per-case timeout uses SIGALRM"
)

CALTECH = "rat_social_dev/annotations/1_annot.txt"
PERFRAME = "behaviordepot_freezing/demo/demo1/demo1_human_freezing_perframe.csv"
INTERVALS = "dlcanalyzer_epm/data/EPM/Labels/AllEPMLables.csv"
# format -> (file name, save_annotations format) for the formats with no real file
WRITTEN = {
    "boris": "events.csv",
    "boris-aggregated": "aggregated.tsv",
    "bento": "session.annot",
    "simba": "Video_1.csv",
    "deepethogram": "labels.csv",
    "nwb": "session.nwb",
}


@contextlib.contextmanager
def _alarm(seconds: int, what: str):
    def fail(signum, frame):
        raise TimeoutError(f"{what} ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


class _Seeds(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing case
        return f"<seed files {sorted(self)}>"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, tuple[bytes, str, dict]]:
    """format -> (the file's bytes, its file name, load options) for every format."""
    root = Path(__file__).parents[1] / ".." / "shared" / "data"
    if not (root / CALTECH).is_file():
        pytest.skip("../shared/data is absent: the fuzz cases start from real files")
    out = _Seeds(
        {
            "caltech": ((root / CALTECH).read_bytes(), "1_annot.txt", {}),
            "perframe": ((root / PERFRAME).read_bytes(), "freezing.csv", {"fps": 50}),
            "intervals": ((root / INTERVALS).read_bytes(), "AllEPMLables.csv", {"fps": 25}),
        }
    )
    real = load_annotations(root / CALTECH, fps=30)
    real = Ethogram(
        real.labels.isel(time=slice(0, 900)),
        attrs={"fps": 30.0, "time_unit": "seconds"},
    )
    folder = tmp_path_factory.mktemp("written")
    for fmt, name in WRITTEN.items():
        if fmt == "nwb" and "nwb" not in set(annotation_formats()["name"]):
            continue
        if fmt == "nwb":
            pytest.importorskip("pynwb")
        eth = real if fmt not in ("simba", "deepethogram") else real.sel(individual="S1")
        path = save_annotations(eth, folder / name, format=fmt)
        out[fmt] = (path.read_bytes(), name, {})
    return out


_NUMBER_SWAPS = [b"nan", b"NaN", b"inf", b"-inf", b"1e300", b"-1e300", b"99999999999999999999"]


@st.composite
def corruption(draw, data: bytes) -> tuple[bytes, str]:
    """A corrupted copy of ``data`` and a short description of what was done."""
    kind = draw(
        st.sampled_from(
            ["truncate", "flip_header", "flip_body", "empty", "number", "duplicate", "suffix"]
        )
    )
    if kind == "empty" or not data:
        return b"", "empty"
    if kind == "truncate":
        cut = draw(st.integers(0, len(data) - 1))
        return data[:cut], f"truncated at byte {cut}"
    if kind in ("flip_header", "flip_body"):
        lo, hi = (0, min(len(data), 256)) if kind == "flip_header" else (0, len(data))
        if kind == "flip_body" and len(data) > 256:
            lo = 256
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            k = draw(st.integers(lo, hi - 1))
            out[k] = draw(st.integers(0, 255))
        return bytes(out), f"bytes flipped in {kind[5:]}"
    lines = data.split(b"\n")
    if kind == "duplicate":
        k = draw(st.integers(0, len(lines) - 1))
        times = draw(st.integers(1, 3))
        return b"\n".join(
            lines[: k + 1] + [lines[k]] * times + lines[k + 1 :]
        ), f"line {k} x{times}"
    if kind == "number":
        digits = [i for i, line in enumerate(lines) if any(c in b"0123456789" for c in line)]
        if not digits:
            return data, "unchanged"
        k = draw(st.sampled_from(digits))
        swap = draw(st.sampled_from(_NUMBER_SWAPS))
        tokens = lines[k].replace(b",", b"\t").replace(b";", b"\t").split(b"\t")
        numeric = [j for j, t in enumerate(tokens) if t.strip().replace(b".", b"").isdigit()]
        if not numeric:
            return data, "unchanged"
        j = draw(st.sampled_from(numeric))
        sep = b";" if b";" in lines[k] else (b"," if b"," in lines[k] else b"\t")
        parts = lines[k].split(sep)
        if j < len(parts):
            parts[j] = swap
        lines[k] = sep.join(parts)
        return b"\n".join(lines), f"line {k} field {j} -> {swap.decode()}"
    return data, "suffix"


_SUFFIXES = [".csv", ".txt", ".annot", ".tsv", ".nwb", ".h5", ""]


def _check_outcome(path: Path, call, what: str) -> None:
    """``call()`` returns an Ethogram or raises a library error naming ``path``."""
    try:
        with _alarm(CASE_SECONDS, what):
            out = call()
    except PoseDataError as err:
        assert path.name in str(err), f"{what}: error does not name the file: {err!r}"
        return
    except FileNotFoundError as err:  # a name the suffix change could not make
        assert path.name in str(err), f"{what}: {err!r}"
        return
    assert isinstance(out, Ethogram), f"{what}: returned {type(out).__name__}"
    assert out.n_frames >= 0 and out.labels.dtype == bool


FORMATS = ["caltech", "perframe", "intervals", *WRITTEN]


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupted_files_load_or_fail_named(seeds, tmp_path, fmt):
    if fmt not in seeds:
        pytest.skip(f"{fmt}: needs an optional dependency")
    data, name, options = seeds[fmt]

    @FUZZ
    @given(
        case=corruption(data),
        forced=st.booleans(),
        suffix=st.sampled_from(_SUFFIXES),
    )
    def run(case, forced, suffix):
        corrupted, what = case
        target = tmp_path / name
        if what == "suffix":
            target = target.with_suffix(suffix)
        target.write_bytes(corrupted)
        try:
            _check_outcome(
                target,
                lambda: load_annotations(target, format=fmt if forced else "auto", **options),
                f"{fmt} {what} ({'format=' + fmt if forced else 'sniffed'})",
            )
        finally:
            target.unlink()

    run()


_ODD_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**15), 10**15),
    st.sampled_from(["30", "", "thirty", None, True, [30], {"fps": 30}]),
)


@FUZZ
@given(
    fps=_ODD_NUMBERS,
    fmt=st.one_of(st.sampled_from(["auto", *FORMATS]), st.text(max_size=8)),
    n_frames=_ODD_NUMBERS,
    where=st.one_of(
        st.none(),
        st.text(max_size=5),
        st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
    ),
)
def test_load_arguments(seeds, tmp_path, fps, fmt, n_frames, where):
    data, name, _ = seeds["intervals"]
    path = tmp_path / name
    path.write_bytes(data)
    options = {"fps": fps, "format": fmt}
    if n_frames is not None:
        options["n_frames"] = n_frames
    if where is not None:
        options["where"] = where
    what = f"load_annotations({options})"
    try:
        with _alarm(CASE_SECONDS, what):
            out = load_annotations(path, **options)
    except PoseDataError as err:
        text = str(err)
        assert path.name in text or repr(fmt) in text, f"{what}: {err!r}"
        return
    assert isinstance(out, Ethogram)


@FUZZ
@given(
    fmt=st.one_of(st.none(), st.sampled_from(FORMATS), st.text(max_size=8)),
    suffix=st.sampled_from(_SUFFIXES),
    thing=st.sampled_from(["ethogram", "text", "array", "none"]),
)
def test_save_arguments(seeds, tmp_path, fmt, suffix, thing):
    data = seeds["caltech"][0]
    source = tmp_path / "seed.txt"
    source.write_bytes(data)
    eth = load_annotations(source, fps=30)
    eth = Ethogram(eth.labels.isel(time=slice(0, 60)), attrs={"fps": 30.0})
    value = {"ethogram": eth, "text": "hello", "array": np.zeros((4, 2)), "none": None}[thing]
    path = tmp_path / f"out{suffix}"
    path.unlink(missing_ok=True)
    what = f"save_annotations({thing}, {path.name}, format={fmt!r})"
    try:
        with _alarm(CASE_SECONDS, what):
            out = save_annotations(value, path, format=fmt)
    except PoseDataError as err:
        text = str(err)
        # the user's file, never atomic_path's hidden temporary twin
        assert ".tmp" not in text, f"{what}: {err!r}"
        assert path.name in text or repr(fmt) in text, f"{what}: {err!r}"
        assert not path.exists() or thing == "ethogram"
        return
    assert thing == "ethogram" and out == path and path.is_file()
    assert isinstance(load_annotations(path, format=fmt or "auto"), Ethogram)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
