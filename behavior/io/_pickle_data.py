"""Read the plain data inside a pickle without unpickling it: nothing is imported or called.

PyTables (and so pandas' HDF5 files) stores some attributes and every "object"
array as a pickle: DeepLabCut's column labels in ``format="table"`` files, and
column levels or string columns with mixed or object values in ``format="fixed"``
files. :func:`pickle.loads` would run whatever code such a pickle names. This
module instead walks the pickle's opcodes (:func:`pickletools.genops`, a parser
that executes nothing) with a small stack machine that can only build ``None``,
``bool``, ``int``, ``float``, ``str``, ``bytes``, tuples, lists, dicts and sets.
A reference to a global (``GLOBAL`` / ``STACK_GLOBAL``) becomes an inert
:class:`Global` name and a call (``REDUCE``, then ``BUILD``) an inert
:class:`Call` record; opcodes that would look anything up on their own
(``INST``, ``OBJ``, ``NEWOBJ``, ``EXT*``, ``PERSID``, buffers) are refused.

:func:`load_data` then turns a few records into values by reading their data,
never by calling what they name:

* numpy arrays: ``numpy.core.multiarray._reconstruct`` + state (object arrays
  from their item list, numeric and fixed-width string arrays from their raw
  bytes) and protocol 5's ``numpy.core.numeric._frombuffer``; their
  ``numpy.dtype`` (plain numeric, string or object types only);
* numeric numpy scalars (``numpy.core.multiarray.scalar``);
* ``_codecs.encode(text, "latin1")``, ``bytes()`` and ``set(list)``: how
  protocols 0 to 3 write bytes and sets.

Any other global is refused with :class:`PickleDataError` naming it. The work
is linear in the size of the pickle: shared sub-objects are converted once,
cycles are refused, and dict keys and set members (which get hashed) must be
scalars or small tuples of them.
"""

from __future__ import annotations

import io
import pickletools
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Call", "Global", "PickleDataError", "load_data", "parse"]


class PickleDataError(ValueError):
    """A pickle holds more than plain data (or is malformed); the message says what."""


@dataclass(frozen=True)
class Global:
    """An inert reference to ``module.name`` found in a pickle (never imported)."""

    module: str
    name: str

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Call:
    """An inert record of ``func(*args)`` (then ``__setstate__(state)``) in a pickle."""

    func: Any
    args: tuple
    state: Any = None
    built: bool = False
    __hash__ = None  # type: ignore[assignment]  # never a dict key or set member


_CONSTANTS = frozenset(
    {
        *("INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"),
        *("FLOAT", "BINFLOAT", "STRING", "BINSTRING", "SHORT_BINSTRING"),
        *("UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"),
        *("BINBYTES", "SHORT_BINBYTES", "BINBYTES8"),
    }
)
_MULTIARRAY = ("numpy.core.multiarray", "numpy._core.multiarray")
_RECONSTRUCT = frozenset(Global(m, "_reconstruct") for m in _MULTIARRAY)
_SCALAR = frozenset(Global(m, "scalar") for m in _MULTIARRAY)
_NDARRAY = Global("numpy", "ndarray")
_DTYPE = Global("numpy", "dtype")
_ENCODE = Global("_codecs", "encode")  # how protocols 0-2 spell bytes: encode(str, "latin1")
_FROMBUFFER = frozenset(
    Global(m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")
)
_EMPTY_BYTES = frozenset(Global(m, "bytes") for m in ("builtins", "__builtin__"))
_SETS = {
    Global(m, n): kind
    for m in ("builtins", "__builtin__")
    for n, kind in [("set", set), ("frozenset", frozenset)]
}
_DTYPE_CODE = re.compile(r"(O[48]|b1|[iuf][1248]|f16|[SU][0-9]{1,6})")
_MAX_DEPTH = 64
_MAX_KEY_NODES = 1000  # a dict key or set member is hashed: keep that work bounded
_KEY_SCALARS = (type(None), bool, int, float, str, bytes, Global)
_BRIEF = reprlib.Repr()  # bounded in depth and length (keyword arguments: Python 3.12+)
_BRIEF.maxlevel, _BRIEF.maxtuple, _BRIEF.maxlist, _BRIEF.maxdict = 3, 6, 6, 4
_BRIEF.maxstring = _BRIEF.maxother = 60


def parse(data: bytes) -> Any:
    """The object tree a pickle describes, with globals and calls left inert.

    Parameters
    ----------
    data
        One pickle (protocol 0 to 5); bytes after its ``STOP`` are ignored.

    Returns
    -------
    object
        Built from ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``,
        tuples, lists, dicts, sets, :class:`Global` and :class:`Call`.

    Raises
    ------
    PickleDataError
        If the pickle is malformed or uses an opcode outside that set.

    Examples
    --------
    >>> import pickle
    >>> parse(pickle.dumps([("a", 1), {"b": None}], protocol=0))
    [('a', 1), {'b': None}]
    >>> parse(pickle.dumps(print))
    Global(module='builtins', name='print')
    """
    stack: list[Any] = []
    marks: list[list[Any]] = []
    memo: dict[int, Any] = {}

    def pop_mark() -> list[Any]:
        nonlocal stack
        items = stack
        stack = marks.pop()
        return items

    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(bytes(data))):
            name = opcode.name
            if name in _CONSTANTS:
                stack.append(arg)
            elif name in ("PROTO", "FRAME"):
                continue
            elif name == "STOP":
                if len(stack) != 1 or marks:
                    raise PickleDataError("malformed pickle: unbalanced stack at STOP")
                return stack[0]
            elif name == "NONE":
                stack.append(None)
            elif name in ("NEWTRUE", "NEWFALSE"):
                stack.append(name == "NEWTRUE")
            elif name == "BYTEARRAY8":
                stack.append(bytes(arg))
            elif name == "MARK":
                marks.append(stack)
                stack = []
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "EMPTY_SET":
                stack.append(set())
            elif name == "LIST":
                items = pop_mark()  # first: it rebinds ``stack``
                stack.append(items)
            elif name == "TUPLE":
                items = pop_mark()
                stack.append(tuple(items))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise PickleDataError(f"malformed pickle: {name} on a short stack")
                items = tuple(stack[-n:])
                del stack[-n:]
                stack.append(items)
            elif name == "DICT":
                items = pop_mark()
                _keys(items[::2])
                stack.append(dict(zip(items[::2], items[1::2], strict=True)))
            elif name == "FROZENSET":
                items = pop_mark()
                stack.append(frozenset(_keys(items)))
            elif name == "APPEND":
                value = stack.pop()
                _target(stack, list, name).append(value)
            elif name == "APPENDS":
                items = pop_mark()
                _target(stack, list, name).extend(items)
            elif name == "SETITEM":
                value = stack.pop()
                key = stack.pop()
                _target(stack, dict, name)[_keys([key])[0]] = value
            elif name == "SETITEMS":
                items = pop_mark()
                _keys(items[::2])
                _target(stack, dict, name).update(zip(items[::2], items[1::2], strict=True))
            elif name == "ADDITEMS":
                items = pop_mark()
                _target(stack, set, name).update(_keys(items))
            elif name == "POP":
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[int(arg)])
            elif name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
                stack.append(Global(module, attr))
            elif name == "STACK_GLOBAL":
                attr = stack.pop()
                module = stack.pop()
                if not isinstance(module, str) or not isinstance(attr, str):
                    raise PickleDataError("malformed pickle: STACK_GLOBAL of non-strings")
                stack.append(Global(module, attr))
            elif name == "REDUCE":
                args = stack.pop()
                func = stack.pop()
                if not isinstance(args, tuple):
                    raise PickleDataError("malformed pickle: REDUCE arguments are not a tuple")
                stack.append(Call(func, args))
            elif name == "BUILD":
                state = stack.pop()
                target = stack[-1]
                if not isinstance(target, Call) or target.built:
                    raise PickleDataError("malformed pickle: BUILD of something not just called")
                target.state, target.built = state, True
            else:  # INST, OBJ, NEWOBJ(_EX), EXT1/2/4, (BIN)PERSID, NEXT_BUFFER, ...
                raise PickleDataError(f"pickle opcode {name} is not allowed in plain data")
    except PickleDataError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, EOFError) as err:
        raise PickleDataError(f"malformed pickle ({type(err).__name__}: {err})") from None
    raise PickleDataError("malformed pickle: no STOP opcode")


def _keys(items: list[Any]) -> list[Any]:
    """``items``, checked to be cheap to hash: scalars, globals and small tuples of them
    (hashing a tuple visits all of it, and a pickle can share parts exponentially)."""
    for item in items:
        todo, seen = [item], 0
        while todo:
            value = todo.pop()
            seen += 1
            if seen > _MAX_KEY_NODES:
                raise PickleDataError("a pickled dict key or set member is too large")
            if isinstance(value, tuple):
                todo.extend(value)
            elif not (
                value is None or isinstance(value, bool | int | float | str | bytes | Global)
            ):
                raise PickleDataError(
                    f"a pickled dict key or set member is a {type(value).__name__}"
                )
    return items


def _target(stack: list[Any], kind: type, opcode: str) -> Any:
    if not stack or not isinstance(stack[-1], kind):
        raise PickleDataError(f"malformed pickle: {opcode} on something not a {kind.__name__}")
    return stack[-1]


def load_data(data: bytes) -> Any:
    """The plain value a pickle holds, refusing anything that would need code to build.

    Parameters
    ----------
    data
        One pickle, e.g. a PyTables attribute or one row of an ``ObjectAtom``
        array, as raw bytes.

    Returns
    -------
    object
        ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, tuples, lists,
        dicts, sets, numpy arrays and numpy numeric scalars.

    Raises
    ------
    PickleDataError
        Naming the first global the pickle refers to that is not a numpy array
        or numeric scalar (e.g. ``os.system``), or why the pickle is malformed.

    Examples
    --------
    >>> import pickle
    >>> import numpy as np
    >>> load_data(pickle.dumps(np.array(["nose", 3], dtype=object)))
    array(['nose', 3], dtype=object)
    >>> class Evil:
    ...     def __reduce__(self):
    ...         return (print, ("code ran",))
    >>> load_data(pickle.dumps(Evil()))
    Traceback (most recent call last):
    ...
    behavior.io._pickle_data.PickleDataError: refusing a pickled call to builtins.print
    """
    tree = parse(data)
    try:
        return _Resolver().value(tree, 0)
    except PickleDataError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, MemoryError) as err:
        raise PickleDataError(f"malformed pickled data ({type(err).__name__}: {err})") from None


@dataclass
class _Resolver:
    done: dict[int, Any] = field(default_factory=dict)
    busy: set[int] = field(default_factory=set)

    def value(self, obj: Any, depth: int) -> Any:
        if obj is None or isinstance(obj, bool | int | float | str | bytes):
            return obj
        if depth > _MAX_DEPTH:
            raise PickleDataError(f"pickled data nested deeper than {_MAX_DEPTH} levels")
        key = id(obj)
        if key in self.done:
            return self.done[key]
        if key in self.busy:
            raise PickleDataError("pickled data refers to itself (a cycle)")
        self.busy.add(key)
        if isinstance(obj, Call):
            out = self.call(obj, depth)
        elif isinstance(obj, Global):
            raise PickleDataError(f"refusing a pickled reference to {obj}")
        elif isinstance(obj, dict):
            out = {self.value(k, depth + 1): self.value(v, depth + 1) for k, v in obj.items()}
        elif isinstance(obj, list | tuple | set | frozenset):
            out = type(obj)(self.value(v, depth + 1) for v in obj)
        else:  # pragma: no cover (parse builds nothing else)
            raise PickleDataError(f"unexpected {type(obj).__name__} in pickled data")
        self.busy.discard(key)
        self.done[key] = out
        return out

    def call(self, obj: Call, depth: int) -> Any:
        func = obj.func
        if not isinstance(func, Global):
            raise PickleDataError(f"refusing a pickled call of a {type(func).__name__}")
        if func in _RECONSTRUCT:
            return self.ndarray(obj, depth)
        if func in _SCALAR:
            return self.scalar(obj)
        if func == _DTYPE:
            return self.dtype(obj)
        if func in _FROMBUFFER:
            return self.frombuffer(obj)
        if func == _ENCODE and not obj.built and len(obj.args) == 2:
            text, codec = obj.args
            if isinstance(text, str) and codec in ("latin1", "latin-1"):
                return text.encode("latin-1")
        if func in _EMPTY_BYTES and not obj.built and not obj.args:  # b"" in protocols 0-2
            return b""
        if func in _SETS and not obj.built and len(obj.args) <= 1:  # protocols 0-3
            items = self.value(obj.args[0], depth + 1) if obj.args else []
            try:
                return _SETS[func](items)
            except TypeError:
                raise PickleDataError("malformed pickle: unhashable set members") from None
        raise PickleDataError(f"refusing a pickled call to {func}")

    def dtype(self, obj: Call) -> np.dtype:
        args, state = obj.args, obj.state
        if len(args) != 3 or not isinstance(args[0], str) or not _DTYPE_CODE.fullmatch(args[0]):
            raise PickleDataError(f"refusing a pickled numpy dtype {_BRIEF.repr(args[:1])}")
        endian = "|"
        if obj.built:  # (version, byte order, subarray, names, fields, ...): plain only
            order = state[1] if isinstance(state, tuple) and len(state) >= 5 else None
            if order not in ("<", ">", "|", "="):
                raise PickleDataError("refusing a pickled numpy dtype with an unusual state")
            if any(part is not None for part in state[2:5]):
                raise PickleDataError("refusing a pickled structured or subarray numpy dtype")
            endian = state[1]
        code = args[0]
        return np.dtype(object) if code[0] == "O" else np.dtype(endian + code)

    def scalar(self, obj: Call) -> Any:
        if len(obj.args) != 2 or obj.built:
            raise PickleDataError("refusing an unusual pickled numpy scalar")
        dtype, raw = obj.args
        dtype = self.value(dtype, 0) if isinstance(dtype, Call) else None
        raw = self.value(raw, 0) if isinstance(raw, Call) else raw
        if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
            raise PickleDataError("refusing a pickled numpy scalar that is not a number")
        if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
            raise PickleDataError("malformed pickled numpy scalar")
        return np.frombuffer(raw, dtype=dtype)[0]

    def frombuffer(self, obj: Call) -> np.ndarray:
        """Protocol 5's ``numpy._core.numeric._frombuffer(buffer, dtype, shape, order)``."""
        if len(obj.args) != 4 or obj.built:
            raise PickleDataError("refusing an unusual pickled numpy buffer")
        raw, dtype, shape, order = obj.args
        dtype = self.value(dtype, 0) if isinstance(dtype, Call) else None
        if not isinstance(dtype, np.dtype) or dtype.kind == "O" or order not in ("C", "F"):
            raise PickleDataError("malformed pickled numpy buffer")
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise PickleDataError("malformed pickled numpy array shape")
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not isinstance(raw, bytes) or len(raw) != size * dtype.itemsize:
            raise PickleDataError("malformed pickled numpy array data")
        return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy()

    def ndarray(self, obj: Call, depth: int) -> np.ndarray:
        args, state = obj.args, obj.state
        if len(args) != 3 or args[0] != _NDARRAY or not obj.built:
            raise PickleDataError("refusing an unusual pickled numpy array")
        if not (isinstance(state, tuple) and len(state) == 5):
            raise PickleDataError("malformed pickled numpy array state")
        _, shape, dtype, fortran, raw = state
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise PickleDataError("malformed pickled numpy array shape")
        dtype = self.value(dtype, 0) if isinstance(dtype, Call) else None
        if not isinstance(dtype, np.dtype):
            raise PickleDataError("malformed pickled numpy array dtype")
        size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        order = "F" if fortran else "C"
        raw = self.value(raw, depth + 1) if isinstance(raw, Call) else raw
        if dtype.kind == "O":
            if not isinstance(raw, list) or len(raw) != size:
                raise PickleDataError("malformed pickled numpy object array")
            out = np.empty(size, dtype=object)
            for i, item in enumerate(raw):
                out[i] = self.value(item, depth + 1)
            return out.reshape(shape, order=order)
        if not isinstance(raw, bytes) or len(raw) != size * dtype.itemsize:
            raise PickleDataError("malformed pickled numpy array data")
        return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy()
