"""The exact numba CSV parser behind DeepLabCut / Lightning Pose CSV loading."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.io import _fastcsv
from behavior.io import deeplabcut as dlc
from tests.conftest import manifest_rows

FINITE = st.floats(allow_nan=False, allow_infinity=False)


def _parse(text: str | bytes, width: int, blocks=None) -> tuple[np.ndarray | None, np.ndarray]:
    """Parse data lines; returns (frame numbers or None, values (rows, width - 1))."""
    raw = np.frombuffer(text.encode() if isinstance(text, str) else text, dtype=np.uint8)
    if blocks is None:
        lines = raw.tobytes().count(b"\n") + (not raw.tobytes().endswith(b"\n"))
        blocks = [(0, raw.size, lines)]
    rows = sum(b[2] for b in blocks)
    values = np.full((rows, width - 1), -7.0)

    def sink(start: int, block: np.ndarray) -> None:
        values[start : start + block.shape[0]] = block

    frames = _fastcsv.parse_rows(raw, blocks, width, list(range(1, width)), sink)
    return frames, values


def _same_bits(got: np.ndarray, expected: list[float]) -> None:
    want = np.array(expected, dtype=np.float64)
    assert got.view(np.int64).tolist() == want.view(np.int64).tolist(), (got, want)


def _one_row(cells: list[str]) -> np.ndarray:
    frames, values = _parse("0," + ",".join(cells) + "\n", len(cells) + 1)
    assert frames is not None, cells
    return values[0]


@settings(max_examples=30, deadline=None)
@given(st.lists(FINITE, min_size=1, max_size=40))
def test_any_double_is_bit_identical_to_float(numbers):
    for form in (repr, "{:.17g}".format, "{:.3g}".format, "{:.6e}".format, "{:.9f}".format):
        cells = [form(x) for x in numbers]
        _same_bits(_one_row(cells), [float(c) for c in cells])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1000, allow_nan=False, width=32), min_size=1, max_size=60))
def test_float32_values_printed_in_full_are_exact(numbers):
    # DeepLabCut's float32 predictions: exact binary fractions with 17+ digits
    cells = [repr(float(np.float32(x))) for x in numbers] + [f"{x:.25g}" for x in numbers]
    _same_bits(_one_row(cells), [float(c) for c in cells])


def test_hard_cases_match_float():
    cells = [
        "315.59552001953125",
        "0.9999918937683105",
        "9007199254740993",  # halfway between two doubles: ties to even
        "9007199254740995",
        "2.2250738585072011e-308",  # the largest subnormal, written long
        "2.2250738585072014e-308",
        "4.9406564584124654e-324",
        "1.7976931348623157e308",
        "1.7976931348623159e308",  # rounds to infinity
        "1e-400",
        "1e400",
        "123456789012345678901234567890",  # more than 19 digits
        "0.000123456789012345678",
        "1e-05",
        "1E+05",
        "+12.5",
        "-12.5",
        "-0",
        "-0.0",
        "0e10",
        "000123",
        ".5",
        "5.",
        "7",
        "1e0000000000000000000000000001",
        "2.5e-1000000000000",
    ]
    _same_bits(_one_row(cells), [float(c) for c in cells])


def test_empty_cells_and_nan_spellings_are_nan():
    got = _one_row(["", "nan", "NaN", "-nan", "+NaN", "1.5", ""])
    assert np.isnan(got[[0, 1, 2, 3, 4, 6]]).all()
    assert got[5] == 1.5


def test_crlf_line_ends_and_last_line_without_newline():
    frames, values = _parse("0,1.5,2\r\n1,,-3e2\r\n2,4,5", 3)
    np.testing.assert_array_equal(frames, [0, 1, 2])
    np.testing.assert_array_equal(values, [[1.5, 2], [np.nan, -300], [4, 5]])


def test_blocks_in_two_threads_land_at_their_rows(monkeypatch):
    monkeypatch.setattr(_fastcsv, "_THREADS", 2)
    lines = [f"{i},{i}.25,{-i}e-3" for i in range(500)]
    text = "\n".join(lines) + "\n"
    blocks, offset = [], 0
    for start in range(0, 500, 37):
        chunk = "".join(line + "\n" for line in lines[start : start + 37])
        blocks.append((offset, len(chunk), len(lines[start : start + 37])))
        offset += len(chunk)
    frames, values = _parse(text, 3, blocks)
    np.testing.assert_array_equal(frames, np.arange(500))
    np.testing.assert_array_equal(values[:, 0], np.arange(500) + 0.25)
    np.testing.assert_array_equal(values[:, 1], [float(f"{-i}e-3") for i in range(500)])


@pytest.mark.parametrize(
    "text",
    [
        "0,1,2\n1,3\n",  # a short row
        "0,1,2\n1,3,4,5\n",  # a long row
        "0,1,abc\n",
        "0,1, 2\n",  # spaces: the general parser trims them
        '0,1,"2"\n',
        "0,1,inf\n",
        "0,1,2\n\n1,3,4\n",  # a blank line
        "a.png,1,2\n",  # labelled frames: image paths
        "-1,1,2\n",
        "0,1,2\r1,3,4\n",  # a bare CR
        "0,1,-\n",
        "0,1,1e\n",
        "0,1,.\n",
        "0,1,nana\n",
    ],
)
def test_anything_unusual_is_left_to_the_general_parser(text):
    lines = text.count("\n")
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    assert _fastcsv.parse_rows(raw, [(0, raw.size, lines)], 3, [1, 2], lambda s, v: None) is None


def test_too_many_fallback_cells_gives_up(monkeypatch):
    monkeypatch.setattr(_fastcsv, "_FALLBACK_CAP", 3)
    frames, _ = _parse("0," + ",".join(["1" * 25] * 4) + "\n", 5)
    assert frames is None
    monkeypatch.setattr(_fastcsv, "_FALLBACK_CAP", 4)
    frames, values = _parse("0," + ",".join(["1" * 25] * 4) + "\n", 5)
    _same_bits(values[0], [float("1" * 25)] * 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,1,2,0.5\n1,1,2\n", r"lines 4 to 5.*Expected 4 columns"),
        ("0,1,2,0.5\n1,1,abc,0.5\n", "malformed DeepLabCut CSV data"),
    ],
)
def test_loader_errors_are_unchanged(tmp_path, text, message):
    path = tmp_path / "broken.csv"
    path.write_text("scorer,s,s,s\nbodyparts,a,a,a\ncoords,x,y,likelihood\n" + text)
    with pytest.raises(bh.FileFormatError, match=message):
        bh.load_poses(path)


def test_loader_uses_the_fast_path_and_agrees_with_pandas(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    values = rng.normal(300, 50, size=(400, 6))
    values[::7, 2] = np.nan
    values[:, 2::3] = rng.uniform(0, 1, size=(400, 2)).astype(np.float32)
    columns = pd.MultiIndex.from_product(
        [["s"], ["mouse1", "mouse2"], ["nose"], ["x", "y", "likelihood"]],
        names=["scorer", "individuals", "bodyparts", "coords"],
    )
    pd.DataFrame(values, columns=columns).to_csv(tmp_path / "pair.csv")
    calls = []
    real = _fastcsv.read_rows
    monkeypatch.setattr(_fastcsv, "read_rows", lambda *a: calls.append(1) or real(*a))
    ds = bh.load_poses(tmp_path / "pair.csv")
    assert calls
    got = ds.position.values.transpose(0, 3, 2, 1).reshape(400, -1)
    assert got.view(np.int64).tolist() == values[:, [0, 1, 3, 4]].view(np.int64).tolist()


def _csv_files() -> list[str]:
    kinds = ("dlc-csv", "lightning-pose-csv")
    return [row["path"] for row in manifest_rows() if row["format"] in kinds]


@pytest.mark.realdata
@pytest.mark.parametrize("relative", _csv_files()[::3] or ["(no shared data)"])
def test_real_files_parse_as_pandas_does(shared_data, relative):
    path = shared_data / relative
    table = dlc.read_csv_table(path)
    with open(path, "rb") as fh:
        for _ in table.level_names:
            fh.readline()
        pieces = dlc._scan_pieces(fh)
    blocks = [(p.offset, p.size, p.lines) for p in pieces]
    layout = dlc._csv_layout(dlc.head_rows(dlc.Probe(path), 4), path.name)
    values = np.full((table.n_rows, len(layout.value_positions)), -7.0)

    def sink(start: int, block: np.ndarray) -> None:
        values[start : start + block.shape[0]] = block

    frames = _fastcsv.read_rows(path, blocks, layout.width, layout.value_positions, sink)
    assert frames is not None, "the fast parser gave up on a real file"
    header = list(range(len(table.level_names)))
    df = pd.read_csv(path, header=header, index_col=0)
    expected = df.to_numpy(dtype=float)[:, [j - 1 for j in layout.value_positions]]
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    real = ~np.isnan(expected)
    assert values[real].view(np.int64).tolist() == expected[real].view(np.int64).tolist()
    np.testing.assert_array_equal(frames, df.index.to_numpy())


def test_warm_up_compiles():
    _fastcsv._warm_up()
    assert math.isnan(_one_row([""])[0])
