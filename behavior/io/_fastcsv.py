"""Exact, fast parsing of the numeric block of DeepLabCut-style CSV files (private).

The rows after DeepLabCut's header rows are ``frame,value,value,...``: an integer
frame number, then decimal numbers or empty cells (NaN). :func:`parse_rows` parses
such lines with a numba kernel and gives the same doubles as Python's
:func:`float` (correctly rounded, bit for bit):

* up to 15 significant digits fit a double exactly, so a number with a small
  decimal exponent is one correctly rounded multiplication or division by an
  exact power of ten (Clinger's fast path);
* other numbers with at most 19 significant digits go through the Eisel-Lemire
  method: the 64-bit normalised mantissa times a 128-bit approximation of
  ``5**q`` (table built below with exact Python integers), rounded from the top
  54 bits of the 192-bit product. The table entry is within 1 of the exact
  scaled power, so the product is within ``2**64`` of the exact one; when the
  bits below the rounding bit are that close to a rounding boundary the result is
  not decided here. Then a number that is exactly a binary fraction (``5**-q``
  divides the mantissa, as for float32 values printed in full) is converted
  exactly; anything else is left to :func:`float` (a per-cell fallback, rare);
* more than 19 significant digits, exponents outside the normal double range:
  :func:`float` as well.

Anything that is not a plain CSV of such cells (quotes, spaces, ``inf``, text,
blank lines, rows of the wrong width, a non-integer first column) makes the
kernel stop and :func:`parse_rows` return None, so that the caller's general
parser, and its error messages, handle the file.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.core.extending import intrinsic
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

logger = logging.getLogger(__name__)

_Q_MIN = -342  # decimal exponents with a table entry
_Q_MAX = 308
_FALLBACK_CAP = 4096  # per block; more cells for float() and the fast path gives up
_THREADS = max(1, min(2, os.cpu_count() or 1))

# kernel status codes
_OK = 0
_UNUSUAL = 1  # syntax the kernel does not handle: the caller's parser decides
_FULL = 2  # more rows than the block was given room for
_MANY_FALLBACKS = 3


def _power_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For q in [-342, 308]: ``T`` in [2**127, 2**128) with ``|T - 5**q * 2**-e| < 1``
    (high and low 64 bits) and ``e + q``, from exact integers."""
    n = _Q_MAX - _Q_MIN + 1
    hi = np.empty(n, dtype=np.uint64)
    lo = np.empty(n, dtype=np.uint64)
    scale = np.empty(n, dtype=np.int64)
    mask = (1 << 64) - 1
    for k, q in enumerate(range(_Q_MIN, _Q_MAX + 1)):
        if q >= 0:
            power = 5**q
            bits = power.bit_length()
            e = bits - 128
            t = power << -e if e <= 0 else power >> e
        else:
            power = 5**-q
            bits = power.bit_length()
            e = -(127 + bits)
            t = (1 << -e) // power  # floor(2**-e / 5**-q)
        assert 1 << 127 <= t < 1 << 128
        hi[k] = t >> 64
        lo[k] = t & mask
        scale[k] = e + q
    return hi, lo, scale


_T_HI, _T_LO, _T_SCALE = _power_tables()
_POW10 = np.array([float(10**k) for k in range(23)])  # exact doubles
_POW5 = np.array([5**k for k in range(28)], dtype=np.uint64)  # 5**27 < 2**63
_INV_POW2 = np.array([2.0**-k for k in range(28)])
_POW2 = np.ldexp(1.0, np.arange(-1074, 972))  # 2**e for e in [-1074, 971]

_M32 = np.uint64(0xFFFFFFFF)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_U32 = np.uint64(32)
_TWO53 = np.uint64(1 << 53)
_TWO52 = np.uint64(1 << 52)


@numba.njit(cache=True, nogil=True)
def _mul64(a, b):  # pragma: no cover - numba
    """Full 128-bit product of two uint64, as (high, low), from 32-bit limbs."""
    a0 = a & _M32
    a1 = a >> _U32
    b0 = b & _M32
    b1 = b >> _U32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    p11 = a1 * b1
    mid = (p00 >> _U32) + (p01 & _M32) + (p10 & _M32)
    low = (p00 & _M32) | (mid << _U32)
    high = p11 + (p01 >> _U32) + (p10 >> _U32) + (mid >> _U32)
    return high, low


@numba.njit(cache=True, nogil=True)
def _eisel_lemire(w, q):  # pragma: no cover - numba
    """``w * 10**q`` (``0 < w < 2**64``, q in the table) as a double, and whether it is
    decided (False: the caller must use exact arithmetic)."""
    k = q - _Q_MIN
    shift = np.int64(leading_zeros(w))
    wn = w << np.uint64(shift)
    h1, l1 = _mul64(wn, _T_HI[k])
    if h1 >> np.uint64(63):
        m54 = h1 >> np.uint64(10)
        mask = np.uint64(0x3FF)
        e = np.int64(139)
    else:
        m54 = h1 >> np.uint64(9)
        mask = np.uint64(0x1FF)
        e = np.int64(138)
    rest = h1 & mask
    # The exact product is within 2**64 of the 192-bit product by T, itself in
    # [h1:l1:0, h1:l1:0 + 2**128). The bits below the rounding bit (rest:...) decide
    # nothing when they lie within that distance of either end of their range.
    if rest == 0 or rest >= mask - np.uint64(1):
        h2, _ = _mul64(wn, _T_LO[k])
        p1 = l1 + h2
        p2 = h1 + np.uint64(p1 < l1)  # the top 128 bits of the full product
        if p2 >> np.uint64(63):
            m54 = p2 >> np.uint64(10)
            mask = np.uint64(0x3FF)
            e = np.int64(139)
        else:
            m54 = p2 >> np.uint64(9)
            mask = np.uint64(0x1FF)
            e = np.int64(138)
        rest = p2 & mask
        if (rest == 0 and p1 == 0) or (rest == mask and p1 == _ALL):
            return 0.0, False
    mantissa = (m54 >> np.uint64(1)) + (m54 & np.uint64(1))
    e += _T_SCALE[k] - shift
    if mantissa == _TWO53:
        mantissa = _TWO52
        e += 1
    if e < -1074 or e > 971:  # subnormal or overflow: not here
        return 0.0, False
    return np.float64(mantissa) * _POW2[e + 1074], True


@numba.njit(cache=True, nogil=True)
def _to_double(w, q):  # pragma: no cover - numba
    """``w * 10**q`` for ``w < 2**64`` exactly rounded, and whether it was decided."""
    if w == 0:
        return 0.0, True
    if w <= _TWO53 and -22 <= q <= 22:
        f = np.float64(w)  # exact
        if q >= 0:
            return f * _POW10[q], True
        return f / _POW10[-q], True
    if q < _Q_MIN or q > _Q_MAX:
        return 0.0, False
    value, ok = _eisel_lemire(w, q)
    if ok:
        return value, True
    if -27 <= q < 0 and w % _POW5[-q] == 0:
        # w / 10**-q is the binary fraction (w / 5**-q) / 2**-q: one rounding
        return np.float64(w // _POW5[-q]) * _INV_POW2[-q], True
    return 0.0, False


@intrinsic
def _byte(typingctx, data, i):  # pragma: no cover - numba
    """``data[i]`` for a uint8 array and ``0 <= i < len(data)``, without the negative
    index wrap-around (the caller keeps ``i`` in range)."""

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load(builder.gep(array.data, [args[1]]))

    return types.uint8(data, i), codegen


@intrinsic
def _word(typingctx, data, i):  # pragma: no cover - numba
    """The 8 bytes ``data[i:i + 8]`` of a uint8 array as one little-endian uint64 (an
    unaligned load; the caller keeps ``i + 8 <= len(data)``)."""

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        pointer = builder.bitcast(builder.gep(array.data, [args[1]]), ir.IntType(64).as_pointer())
        value = builder.load(pointer)
        value.align = 1
        return value

    return types.uint64(data, i), codegen


_ASCII_0 = np.uint64(0x3030303030303030)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_PLUS_118 = np.uint64(0x7676767676767676)
_HIGH = np.uint64(0x8080808080808080)
_BYTES_0_4 = np.uint64(0x000000FF000000FF)
_MUL_A = np.uint64(100 + (1000000 << 32))
_MUL_B = np.uint64(1 + (10000 << 32))
_POW10_INT = np.array([10**k for k in range(9)], dtype=np.uint64)


@numba.njit(cache=True, nogil=True, inline="always")  # an array argument: no call
def _digit_run(data, i, end, w):  # pragma: no cover - numba
    """Read the decimal digits from ``_byte(data, i)`` on into ``w = w * 10**n + digits``,
    eight bytes at a time; returns the position after them and ``w`` (which wraps
    around past 19 significant digits: the caller counts them)."""
    while i + 8 <= end:
        v = _word(data, i) ^ _ASCII_0  # digits become bytes 0..9; _byte(data, i) the low byte
        # a byte's top bit set where it is not a digit: > 9 in its low 7 bits, or >= 128
        other = (((v & _LOW7) + _PLUS_118) | v) & _HIGH
        n = 8 if other == 0 else np.int64(trailing_zeros(other)) >> 3
        if n == 0:
            return i, w
        if n < 8:  # keep the n digits, as the last n of eight (zeros in front)
            v = (v & ((np.uint64(1) << np.uint64(8 * n)) - np.uint64(1))) << np.uint64(8 * (8 - n))
        # byte k = digit k, first digit in the low byte: pair, then combine into 8 digits
        v = v * np.uint64(10) + (v >> np.uint64(8))
        v = ((v & _BYTES_0_4) * _MUL_A + ((v >> np.uint64(16)) & _BYTES_0_4) * _MUL_B) >> _U32
        w = w * _POW10_INT[n] + v
        i += n
        if n < 8:
            return i, w
    while i < end:
        d = np.uint64(_byte(data, i)) - np.uint64(48)
        if d > np.uint64(9):
            break
        w = w * np.uint64(10) + d
        i += 1
    return i, w


@numba.njit(cache=True, nogil=True)
def _parse_block(data, begin, end, kinds, out, index, fallback):  # pragma: no cover - numba
    """Parse the lines in ``data[begin:end]`` into ``out`` (rows, values) and ``index``.

    ``kinds[j]`` is the output column of CSV column ``j`` (>= 0) or -1 (column
    ignored; column 0, the frame number, is always read into ``index``). Cells that
    need :func:`float` get NaN here and a row ``(row, column, start, stop)`` in
    ``fallback``. Returns ``(rows, fallbacks, status)``.
    """
    width = kinds.shape[0]
    capacity = out.shape[0]
    i = begin
    row = 0
    n_fallback = 0
    nan = np.nan
    while i < end:
        if row >= capacity:
            return row, n_fallback, _FULL
        # the frame number
        start = i
        frame = 0
        while i < end:
            d = np.int64(_byte(data, i)) - 48
            if d < 0 or d > 9:
                break
            frame = frame * 10 + d
            i += 1
        if i == start or i - start > 18:
            return row, n_fallback, _UNUSUAL
        index[row] = frame
        for col in range(1, width):
            if i >= end or _byte(data, i) != 44:  # ','
                return row, n_fallback, _UNUSUAL
            i += 1
            target = kinds[col]
            if target < 0:
                while i < end:
                    c = _byte(data, i)
                    if c == 44 or c == 10 or c == 13:
                        break
                    if c == 34:  # a quote: leave it to the general parser
                        return row, n_fallback, _UNUSUAL
                    i += 1
                continue
            start = i
            negative = False
            if i < end:
                c = _byte(data, i)
                if c == 45:  # '-'
                    negative = True
                    i += 1
                elif c == 43:  # '+'
                    i += 1
            lead = i
            while i < end and _byte(data, i) == 48:  # leading zeros: not significant
                i += 1
            digits_at = i
            i, w = _digit_run(data, i, end, np.uint64(0))
            significant = i - digits_at
            digits = i - lead
            q = 0
            if i < end and _byte(data, i) == 46:  # '.'
                i += 1
                frac_at = i
                if significant == 0:  # 0.000ddd: the zeros only move the point
                    while i < end and _byte(data, i) == 48:
                        i += 1
                digits_at = i
                i, w = _digit_run(data, i, end, w)
                significant += i - digits_at
                digits += i - frac_at
                q = frac_at - i
            if digits == 0:
                if i == start and (
                    i >= end or _byte(data, i) == 44 or _byte(data, i) == 10 or _byte(data, i) == 13
                ):
                    out[row, target] = nan  # an empty cell
                    continue
                if (
                    i + 3 <= end
                    and i == start + (i > start and _byte(data, start) in (43, 45))
                    and (_byte(data, i) == 110 or _byte(data, i) == 78)  # 'n' or 'N'
                    and _byte(data, i + 1) == 97  # 'a'
                    and _byte(data, i + 2) == _byte(data, i)
                ):  # 'nan' or 'NaN', maybe signed
                    i += 3
                    if i < end and _byte(data, i) not in (44, 10, 13):
                        return row, n_fallback, _UNUSUAL
                    out[row, target] = nan
                    continue
                return row, n_fallback, _UNUSUAL
            exact = significant <= 19
            if i < end and (_byte(data, i) | 32) == 101:  # 'e' or 'E'
                i += 1
                exp_negative = False
                if i < end and (_byte(data, i) == 45 or _byte(data, i) == 43):
                    exp_negative = _byte(data, i) == 45
                    i += 1
                exp_at = i
                exponent = 0
                while i < end:
                    d = np.int64(_byte(data, i)) - 48
                    if d < 0 or d > 9:
                        break
                    if exponent < 100000:
                        exponent = exponent * 10 + d
                    i += 1
                if i == exp_at:
                    return row, n_fallback, _UNUSUAL
                if exponent >= 100000:
                    exact = False
                q += -exponent if exp_negative else exponent
            if i < end and _byte(data, i) != 44 and _byte(data, i) != 10 and _byte(data, i) != 13:
                return row, n_fallback, _UNUSUAL
            value = 0.0
            if exact:
                value, exact = _to_double(w, q)
            if not exact:
                if n_fallback >= fallback.shape[0]:
                    return row, n_fallback, _MANY_FALLBACKS
                fallback[n_fallback, 0] = row
                fallback[n_fallback, 1] = target
                fallback[n_fallback, 2] = start
                fallback[n_fallback, 3] = i
                n_fallback += 1
                value = nan
            out[row, target] = -value if negative else value
        if i < end:  # the line end
            if _byte(data, i) == 13:
                i += 1
                if i >= end or _byte(data, i) != 10:
                    return row, n_fallback, _UNUSUAL
            elif _byte(data, i) != 10:
                return row, n_fallback, _UNUSUAL
            i += 1
        row += 1
    return row, n_fallback, _OK


def parse_rows(
    data: np.ndarray,
    blocks: Sequence[tuple[int, int, int]],
    width: int,
    value_positions: Sequence[int],
    sink: Callable[[int, np.ndarray], None],
) -> np.ndarray | None:
    """Parse the data lines of a DeepLabCut CSV, in threads, exactly as :func:`float`.

    Parameters
    ----------
    data
        The bytes holding the lines (uint8).
    blocks
        ``(offset, size, lines)`` of runs of whole lines covering the data rows in
        order; each must hold exactly ``lines`` rows (no blank lines).
    width
        Cells per row (the frame number is the first).
    value_positions
        The CSV columns to read, in output order (columns not listed are skipped).
    sink
        Called as ``sink(first_row, values)`` for each block (possibly from several
        threads, always for disjoint rows).

    Returns
    -------
    numpy.ndarray or None
        The int64 frame numbers; None if the lines are not the plain
        ``frame,number,...`` this parser handles (the caller then uses a general
        parser; some blocks may already have been sent to ``sink``).

    Examples
    --------
    >>> raw = np.frombuffer(b"0,1.5,\\n1,-2e3,nan\\n", dtype=np.uint8)
    >>> got = {}
    >>> parse_rows(raw, [(0, raw.size, 2)], 3, [1, 2], lambda s, v: got.update(v=v.tolist()))
    array([0, 1])
    >>> got["v"]
    [[1.5, nan], [-2000.0, nan]]
    """

    def fetch(buffer: np.ndarray | None, offset: int, size: int) -> tuple[np.ndarray, int]:
        return data, offset

    return _parse(fetch, blocks, width, value_positions, sink)


def read_rows(
    path: str | os.PathLike,
    blocks: Sequence[tuple[int, int, int]],
    width: int,
    value_positions: Sequence[int],
    sink: Callable[[int, np.ndarray], None],
) -> np.ndarray | None:
    """:func:`parse_rows` on a file, each thread reading its blocks as it goes.

    Parameters
    ----------
    path
        The CSV file.
    blocks, width, value_positions, sink
        As for :func:`parse_rows`; offsets are byte offsets in the file.

    Returns
    -------
    numpy.ndarray or None
        The frame numbers, or None when the general parser must read the file.

    Examples
    --------
    >>> frames = read_rows("video1DLC.csv", blocks, 61, range(1, 61), sink)  # doctest: +SKIP
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:

        def fetch(buffer: np.ndarray | None, offset: int, size: int) -> tuple[np.ndarray, int]:
            if buffer is None or buffer.size < size:
                buffer = np.empty(size, dtype=np.uint8)
            done = 0
            while done < size:  # a pread (no shared file position: safe in threads)
                got = os.preadv(fd, [buffer[done:size]], offset + done)
                if got <= 0:
                    raise OSError(f"{os.fspath(path)}: file shorter than expected")
                done += got
            return buffer, 0

        return _parse(fetch, blocks, width, value_positions, sink)
    finally:
        os.close(fd)


def _parse(
    fetch: Callable[[np.ndarray | None, int, int], tuple[np.ndarray, int]],
    blocks: Sequence[tuple[int, int, int]],
    width: int,
    value_positions: Sequence[int],
    sink: Callable[[int, np.ndarray], None],
) -> np.ndarray | None:
    """The blocks, split among threads; ``fetch(buffer, offset, size)`` gives an array
    and the position in it where the block's bytes start."""
    if sys.byteorder != "little":  # _word reads the bytes of a word in this order
        return None
    kinds = np.full(width, -1, dtype=np.int64)
    for target, j in enumerate(value_positions):
        if not 0 < j < width:
            return None
        kinds[j] = target
    n_values = len(value_positions)
    starts = np.concatenate([[0], np.cumsum([b[2] for b in blocks])]).astype(np.int64)
    index = np.empty(int(starts[-1]), dtype=np.int64)
    groups = _split(blocks, _THREADS)

    def work(group: list[int]) -> bool:
        out = np.empty((max(blocks[k][2] for k in group), n_values))
        fallback = np.empty((_FALLBACK_CAP, 4), dtype=np.int64)
        buffer = None
        for k in group:
            offset, size, lines = blocks[k]
            begin = int(starts[k])
            buffer, at = fetch(buffer, offset, size)
            got, n_fallback, status = _parse_block(
                buffer, at, at + size, kinds, out[:lines], index[begin:], fallback
            )
            if status != _OK or got != lines:
                logger.debug("fast CSV parser: status %d, %d of %d rows", status, got, lines)
                return False
            for r, c, a, b in fallback[:n_fallback].tolist():
                out[r, c] = float(buffer[a:b].tobytes())
            sink(begin, out[:lines])
        return True

    if len(groups) == 1:
        ok = work(groups[0])
    else:
        with ThreadPoolExecutor(len(groups)) as pool:
            ok = all(list(pool.map(work, groups)))
    return index if ok else None


def _split(blocks: Sequence[tuple[int, int, int]], n: int) -> list[list[int]]:
    """Consecutive runs of block numbers with about equal bytes, one per thread."""
    total = sum(b[1] for b in blocks) or 1
    groups: list[list[int]] = [[] for _ in range(n)]
    done = 0
    for k, block in enumerate(blocks):
        groups[min(n - 1, done * n // total)].append(k)
        done += block[1]
    return [g for g in groups if g]


def _warm_up() -> None:
    """Compile the kernel on a tiny input (once per process; cached on disk)."""
    raw = np.frombuffer(b"0,1.5,,nan,0.30000000000000004,1e-400,x\n", dtype=np.uint8)
    for data in (raw, raw.copy()):  # read-only (bytes) and writable (file reads) buffers
        parse_rows(data, [(0, raw.size, 1)], 7, [1, 2, 3, 4, 5], lambda start, values: None)
