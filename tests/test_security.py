"""No user file may run code: crafted DeepLabCut HDF5 files (issue 15, "Code execution").

pandas stores a DataFrame in HDF5 through PyTables, which pickles what it cannot
store natively: "object" arrays (a column level of mixed labels, an index or a
column of Python objects) and the table format's attributes (``non_index_axes``,
``info``, ``values_cols``, ...). ``pandas.read_hdf`` unpickles them, so a crafted
file runs code. Each payload below carries a ``__reduce__`` that creates a marker
file when unpickled; the tests first prove that the payload is live (pandas runs
it), then that ``bh.load_poses`` and ``behavior info`` never do: the file either
loads correctly (labels decoded without unpickling) or is refused with a
``FileFormatError`` naming the file.
"""

from __future__ import annotations

import ast
import contextlib
import pickle
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import behavior as bh
from behavior.cli import main
from behavior.io import _pickle_data
from behavior.io import deeplabcut as dlc
from behavior.io._pickle_data import PickleDataError, load_data, parse
from tests.conftest import manifest_rows

LEVELS = ["scorer", "bodyparts", "coords"]


class _Touch:
    """Unpickling this creates the file ``path`` (stands in for any code an attacker runs)."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "a"))


def _columns(scorer: object = "DLC_evil") -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [[scorer] * 6, ["nose"] * 3 + ["tail"] * 3, ["x", "y", "likelihood"] * 2], names=LEVELS
    )


def _frame(scorer: object = "DLC_evil", index: list | None = None) -> pd.DataFrame:
    values = np.arange(24.0).reshape(4, 6) / 7
    return pd.DataFrame(values, columns=_columns(scorer), index=index)


def _write(df: pd.DataFrame, path: Path, fmt: str = "fixed", key: str = "df_with_missing") -> Path:
    with warnings.catch_warnings():  # PerformanceWarning: object columns are pickled
        warnings.simplefilter("ignore")
        df.to_hdf(path, key=key, format=fmt, mode="w")
    return path


# --------------------------------------------------------------------------- payloads


def _fixed_column_level(folder: Path, marker: Path) -> Path:
    """Payload 1: a fixed-format column level stored as a pickled object array."""
    return _write(_frame(scorer=_Touch(marker)), folder / "level.h5")


def _fixed_row_index(folder: Path, marker: Path) -> Path:
    """An object row index (``axis1`` is a pickled object array)."""
    return _write(_frame(index=[_Touch(marker), 1, 2, 3]), folder / "rows.h5")


def _fixed_object_column(folder: Path, marker: Path) -> Path:
    """An extra column of Python objects (``block1_values`` is a pickled object array)."""
    df = _frame()
    df[("set", "", "")] = pd.Series([_Touch(marker), "train", "test", "val"], dtype=object)
    return _write(df, folder / "column.h5")


def _table_attribute(name: str, on_table: bool = False) -> Callable[[Path, Path], Path]:
    """Payload 2: a table-format attribute replaced by a pickle that runs code."""

    def build(folder: Path, marker: Path) -> Path:
        path = _write(_frame(), folder / f"attr_{name}.h5", fmt="table")
        with h5py.File(path, "r+") as f:
            node = f["df_with_missing/table"] if on_table else f["df_with_missing"]
            node.attrs[name] = np.bytes_(pickle.dumps(_Touch(marker), protocol=0))
        return path

    build.__name__ = f"table_attribute_{name}"
    return build


PAYLOADS = {
    "fixed-column-level": _fixed_column_level,
    "fixed-row-index": _fixed_row_index,
    "fixed-object-column": _fixed_object_column,
    **{
        f"table-attr-{name}": _table_attribute(name)
        for name in ("non_index_axes", "values_cols", "info", "index_cols", "levels", "metadata")
    },
    "table-attr-values_block_0_kind": _table_attribute("values_block_0_kind", on_table=True),
}


@contextlib.contextmanager
def no_unpickling() -> Iterator[None]:
    """Inside, any call to pickle's loaders, pandas' HDF5 reader or PyTables fails the test
    (enter it after the files are written: pandas writes through PyTables)."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a user file reached pickle / pandas.read_hdf / PyTables")

    with pytest.MonkeyPatch.context() as patch:
        for name in ("loads", "load", "Unpickler"):
            patch.setattr(pickle, name, forbidden)
        patch.setattr(pd, "read_hdf", forbidden)
        patch.setattr(pd, "HDFStore", forbidden)
        try:
            import tables
        except ImportError:
            pass
        else:
            patch.setattr(tables, "open_file", forbidden)
        yield


def _check_outcome(path: Path, load: Callable[[], object]) -> object:
    """Either a dataset, or a FileFormatError naming the file; returns the dataset or None."""
    try:
        with no_unpickling():
            return load()
    except bh.FileFormatError as err:
        assert path.name in str(err), str(err)
        return None


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
def test_payload_is_live_under_pandas(payload, tmp_path):
    """The payloads are real: pandas.read_hdf runs them (so the tests below mean something)."""
    pytest.importorskip("tables", reason="PyTables is needed to show that pandas runs it")
    marker = tmp_path / "pwned-by-pandas"
    path = PAYLOADS[payload](tmp_path, marker)
    with contextlib.suppress(Exception):  # the code has run by then, whatever pandas does next
        pd.read_hdf(path, "df_with_missing")
    assert marker.exists(), f"{payload}: pandas did not run the payload"


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
def test_load_poses_never_runs_a_payload(payload, tmp_path):
    marker = tmp_path / "pwned"
    path = PAYLOADS[payload](tmp_path, marker)
    ds = _check_outcome(path, lambda: bh.load_poses(path))
    assert not marker.exists(), f"{payload}: loading ran code"
    if ds is not None:  # loaded: then the labels are the real ones
        assert list(ds.keypoint.values) == ["nose", "tail"]
        np.testing.assert_array_equal(
            ds.position.sel(keypoint="tail", space="y").values.ravel(), _frame().iloc[:, 4]
        )
    table = _check_outcome(path, lambda: dlc.read_h5_table(path))
    assert not marker.exists()
    if payload.startswith("fixed") or payload.endswith(("non_index_axes", "values_block_0_kind")):
        assert ds is None and table is None, f"{payload}: should be refused"


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
def test_behavior_info_never_runs_a_payload(payload, tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = PAYLOADS[payload](tmp_path, marker)
    with no_unpickling():
        code = main(["info", str(path)])
    captured = capsys.readouterr()
    assert not marker.exists(), f"{payload}: behavior info ran code"
    assert code in (0, 1)
    if code == 1:
        message = captured.err.strip().splitlines()
        assert len(message) == 1 and path.name in message[0], captured.err
        assert "never unpickled" in message[0] or "pickle" in message[0]


def test_refusal_names_the_file_the_array_and_the_code(tmp_path):
    marker = tmp_path / "pwned"
    path = _fixed_column_level(tmp_path, marker)
    with pytest.raises(bh.FileFormatError) as info, no_unpickling():
        bh.load_poses(path)
    message = str(info.value)
    assert message.startswith("level.h5: '/df_with_missing/axis0_level0' is a pickle")
    assert "refusing a pickled call to io.open" in message
    assert "expected strings and numbers" in message
    path = _table_attribute("non_index_axes")(tmp_path, marker)
    refused = pytest.raises(bh.FileFormatError, match=r"attr_non_index_axes.h5: attribute ")
    with refused, no_unpickling():
        bh.load_poses(path)
    assert not marker.exists()


def test_the_loaders_call_no_unpickler():
    """No code path of the DLC reader (or the pickle reader) can reach an unpickler."""
    banned_calls = {"loads", "load", "Unpickler", "read_hdf", "HDFStore", "open_file"}
    banned_calls |= {"read_pickle", "literal_eval", "eval", "exec"}
    banned_modules = {"pickle", "_pickle", "tables", "joblib", "dill", "cloudpickle"}
    for module in (dlc, _pickle_data):
        tree = ast.parse(Path(module.__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert name not in banned_calls, f"{module.__name__} calls {name}"
            elif isinstance(node, ast.Import):
                assert not {a.name for a in node.names} & banned_modules, module.__name__
            elif isinstance(node, ast.ImportFrom):
                assert node.module not in banned_modules, module.__name__


# --------------------------------------------------------------------------- legitimate files


@pytest.mark.realdata
def test_every_real_dlc_h5_loads_without_unpickling(shared_data):
    rows = [
        r for r in manifest_rows() if r["path"].endswith(".h5") and r["format"].startswith("dlc")
    ]
    assert rows, "no DeepLabCut .h5 files in the manifest"
    for row in rows:
        with no_unpickling():
            ds = bh.load_poses(shared_data / row["path"])
        assert ds.sizes["time"] == int(row["frames"]), row["path"]


def test_object_labels_without_code_still_load(tmp_path):
    # a mixed-type scorer (a tuple, as in MausHaus3D) is stored as a pickled object array
    path = _write(_frame(scorer=("keypoints_3d",)), tmp_path / "tuple_scorer.h5", key="df")
    with no_unpickling():
        ds = bh.load_poses(path)
    assert ds.attrs["scorer"] == "('keypoints_3d',)"
    np.testing.assert_array_equal(ds.position.values.ravel()[:2], _frame().iloc[0, [0, 3]])
    # an object column of plain strings with a missing value
    df = _frame()
    df[("set", "", "")] = pd.Series(["train", None, "test", "val"], dtype=object)
    path = _write(df, tmp_path / "set.h5")
    with no_unpickling():
        ds = bh.load_poses(path)
    assert list(ds["set"].values) == ["train", "nan", "test", "val"]


@st.composite
def dlc_frames(draw):
    """A random DeepLabCut frame: single or multi animal, 2D or 3D, frames or images."""
    n_rows = draw(st.integers(1, 6))
    name = st.text("abcXYZ_ -.é0", min_size=1, max_size=5)
    bodyparts = draw(st.lists(name, min_size=1, max_size=3, unique=True))
    individuals = draw(st.one_of(st.none(), st.lists(name, min_size=1, max_size=2, unique=True)))
    coords = draw(st.sampled_from([["x", "y", "likelihood"], ["x", "y"], ["x", "y", "z"]]))
    scorer = draw(name)
    if individuals is None:
        labels = [(scorer, b, c) for b in bodyparts for c in coords]
        names = LEVELS
    else:
        labels = [(scorer, i, b, c) for i in individuals for b in bodyparts for c in coords]
        names = ["scorer", "individuals", "bodyparts", "coords"]
    finite = st.floats(allow_infinity=False, width=64)
    values = np.array(
        draw(st.lists(finite, min_size=n_rows * len(labels), max_size=n_rows * len(labels)))
    )
    index = None
    if draw(st.booleans()):
        index = [f"labeled-data/v/img{i:03d}.png" for i in range(n_rows)]
    elif draw(st.booleans()):
        start = draw(st.integers(0, 1000))
        index = list(range(start, start + n_rows))
    columns = pd.MultiIndex.from_tuples(labels, names=names)
    return pd.DataFrame(values.reshape(n_rows, len(labels)), columns=columns, index=index)


@settings(max_examples=25, deadline=None)
@given(df=dlc_frames(), fmt=st.sampled_from(["fixed", "table"]))
def test_pandas_written_frames_read_exactly_without_pandas(df, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(df, Path(tmp) / "frame.h5", fmt=fmt)
        with no_unpickling():
            table = dlc.read_h5_table(path)
            values = table.read_all() if table.read_all else None
    assert list(table.level_names) == list(df.columns.names)
    assert table.columns == [tuple(str(x) for x in t) for t in df.columns]
    np.testing.assert_array_equal(values, df.to_numpy())  # NaN == NaN here
    np.testing.assert_array_equal(table.index.astype(str), df.index.astype(str))


# --------------------------------------------------------------------------- the pickle reader


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


class _Plain:  # an ordinary class instance: NEWOBJ / copyreg
    def __init__(self):
        self.a = 1


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_reader_refuses_code(protocol):
    for obj, named in [
        (_Evil(), "system"),
        ([1, ("a", _Evil())], "system"),
        (np.array([_Evil()], dtype=object), "system"),
        ({"k": eval}, "eval"),
        (_Plain(), ""),
        (np.array([(1, 2.0)], dtype="i4,f8"), ""),  # structured dtype: needs numpy code
    ]:
        with pytest.raises(PickleDataError, match=named or None):
            load_data(pickle.dumps(obj, protocol=protocol))


@pytest.mark.parametrize(
    "raw",
    [
        b"cos\nsystem\n(S'echo pwned'\ntR.",  # GLOBAL + REDUCE, protocol 0
        b"(S'echo pwned'\nios\nsystem\n.",  # INST
        b"(cos\nsystem\nS'echo pwned'\no.",  # OBJ
        b"Pabc\n.",  # PERSID
        b"\x80\x02\x82\x01.",  # EXT1
        b"\x80\x05N\x97.",  # NEXT_BUFFER
        b"]\x00",  # truncated
        b"",
        b"(lp0\n",  # no STOP
    ],
)
def test_pickle_reader_refuses_opcodes_that_look_things_up(raw):
    with pytest.raises(PickleDataError):
        load_data(raw)


def test_pickle_reader_is_linear_and_refuses_cycles():
    shared: list = ["x"]
    for _ in range(60):  # 2**60 leaves if expanded; shared references are read once
        shared = [shared, shared]
    back = load_data(pickle.dumps(shared))
    for _ in range(60):  # the sharing is kept (never compare these with ==: 2**60 steps)
        assert back[0] is back[1]
        back = back[0]
    assert back == ["x"]
    loop: list = []
    loop.append(loop)
    with pytest.raises(PickleDataError, match="cycle"):
        load_data(pickle.dumps(loop))
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(PickleDataError, match="deeper"):
        load_data(pickle.dumps(deep))


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        | st.frozensets(st.integers(), max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(value=plain, protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_pickle_reader_reads_plain_data_like_pickle(value, protocol):
    assert load_data(pickle.dumps(value, protocol=protocol)) == value


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_reader_reads_numpy_arrays_and_scalars(protocol):
    for array in [
        np.array(["nose", 3, 2.5, None, ("kp",)], dtype=object),
        np.arange(6.0).reshape(2, 3),
        np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3)),
        np.array([b"ab", b"c"]),
        np.array(["ab", "c"]),
        np.zeros((0, 3)),
    ]:
        back = load_data(pickle.dumps(array, protocol=protocol))
        assert back.dtype == array.dtype and back.shape == array.shape
        assert back.tolist() == array.tolist()
    for scalar in (np.int64(-3), np.float32(0.5), np.uint8(7), np.bool_(True)):
        back = load_data(pickle.dumps(scalar, protocol=protocol))
        assert back == scalar and back.dtype == scalar.dtype


def test_parse_leaves_globals_inert():
    tree = parse(pickle.dumps(_Evil(), protocol=2))
    assert isinstance(tree, _pickle_data.Call)
    assert str(tree.func) in ("posix.system", "nt.system", "os.system")


def _shared_tuple(depth: int = 60) -> tuple:
    """A tuple with 2**depth leaves in a few hundred bytes of pickle (never hash it)."""
    value: tuple = ("x",)
    for _ in range(depth):
        value = (value, value)
    return value


def test_pickle_reader_bounds_the_work_of_hashing_keys():
    body = pickle.dumps(_shared_tuple(), protocol=2)[2:-1]  # without PROTO and STOP
    start = time.perf_counter()
    for raw in (b"\x80\x02}" + body + b"K\x01s.", b"\x80\x02(" + body + b"\x91."):  # dict, set
        with pytest.raises(PickleDataError, match="too large"):
            load_data(raw)
    assert time.perf_counter() - start < 5


def test_shared_structures_in_labels_are_refused_quickly(tmp_path):
    path = _write(_frame(), tmp_path / "bomb.h5", fmt="table")
    bomb = pickle.dumps([(1, [_shared_tuple()] * 6)], protocol=0)
    with h5py.File(path, "r+") as f:
        f["df_with_missing"].attrs["non_index_axes"] = np.bytes_(bomb)
    start = time.perf_counter()
    refused = pytest.raises(bh.FileFormatError, match=r"bomb.h5: attribute 'non_index_axes'")
    with refused, no_unpickling():
        bh.load_poses(path)
    assert time.perf_counter() - start < 5
