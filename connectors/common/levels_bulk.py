"""Many arrays of price levels parsed at once with NumPy: a recording's depth messages without Numba.

:func:`connectors.common.levels.parse_levels_plain` parses one ``[["61737.63","0.014"],...]`` array per
call (msgspec, then a Python float per value); a recording has thousands of them in a block. Here all of a
block's arrays are joined and read by array operations: the quotes locate the strings, each string's
digits are read eight at a time from one 64-bit load (SWAR), and the value is ``integer / 10**k``.

Only the venues' common spelling is read here, and nothing else: each array exactly ``[]`` or
``[["d","d"],...,["d","d"]]`` with no whitespace, each ``d`` a decimal ``-?digits(.digits)?`` of at most
15 digits (8 before the point, 8 after). Such a value is exactly Python's ``float(text)`` (both operands
exact doubles, the one division correctly rounded; :mod:`connectors.common.levels` explains) and so what
the per-message parsers give. An array spelled any other way is reported not ``ok``: its message is left
to the per-message code (which reads or refuses it as it always did).
"""

from __future__ import annotations

__all__ = ["LevelArrays", "digits_of", "parse_level_arrays"]

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_PLAIN_BYTES = b'0123456789.-",[]'
"""The only bytes a common array holds: any other in an array leaves it to the per-message code."""
_PAD = 16
"""Bytes before the joined arrays: every eight-byte load ending in them stays inside the buffer."""
_QUOTE, _COMMA, _DOT, _MINUS, _OPEN, _CLOSE = 34, 44, 46, 45, 91, 93
_POW10 = np.array([10.0**i for i in range(9)])
_POW10_INT = np.array([10**i for i in range(9)], np.uint64)
_FILL = np.array([(1 << (8 * (8 - k))) - 1 if k < 8 else 0 for k in range(9)], np.uint64)
"""For a part of ``k`` digits read as the eight bytes ending at its last digit: the bytes before it."""
_ZEROS = np.uint64(0x3030303030303030)
_HIGH = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIX = np.uint64(0x0606060606060606)
_THREES = np.uint64(0x3333333333333333)


@dataclass(frozen=True, slots=True)
class LevelArrays:
    """What :func:`parse_level_arrays` read: ``values`` holds the pairs of every ``ok`` array, in order;
    array ``i``'s are ``values[offsets[i] : offsets[i + 1]]`` (none for an array not ``ok``)."""

    values: Any
    """``(pairs, 2)`` float64: price and quantity."""
    offsets: Any
    """int64, one more than there are arrays."""
    ok: Any
    """bool per array: read here (else: left to the per-message parser)."""


def parse_level_arrays(raws: Sequence[Any]) -> LevelArrays:
    """Parse each buffer of ``raws`` (a JSON array of ``[price, qty]`` decimal strings, as a depth
    message spells its levels) where it is spelled the common way (see the module); the others are
    reported not ``ok``, with no pairs."""
    count = len(raws)
    ok = np.ones(count, bool)
    joined = b",".join(raws)
    if joined.translate(None, _PLAIN_BYTES):
        for i, raw in enumerate(raws):  # rare: find the arrays with other bytes, read the rest
            if bytes(raw).translate(None, _PLAIN_BYTES):
                ok[i] = False
        raws = [raw if good else b"[]" for raw, good in zip(raws, ok.tolist(), strict=True)]
        joined = b",".join(raws)
    sizes = np.fromiter(map(len, raws), np.int64, count)
    starts = np.cumsum(sizes + 1) - (sizes + 1) + _PAD
    ends = starts + sizes - 1
    buf = b"\0" * _PAD + joined + b"\0" * _PAD
    data = np.frombuffer(buf, np.uint8)
    marks = np.flatnonzero((data == _QUOTE) | (data == _DOT))  # the quotes and points, in order
    quote_marks = np.flatnonzero(data[marks] == _QUOTE)
    quotes = marks[quote_marks]
    first = np.searchsorted(quotes, starts)
    per_array = np.searchsorted(quotes, ends, "right") - first
    uneven = (per_array % 4) != 0
    if uneven.any():  # a string left without its pair: that array aside, the others read as they are
        ok &= ~uneven
        return parse_level_arrays_keeping(raws, ok)
    return _parse(data, buf, (marks, quote_marks, quotes), (starts, ends), first // 4, per_array // 4, ok)


def parse_level_arrays_keeping(raws: Sequence[Any], ok: Any) -> LevelArrays:
    """:func:`parse_level_arrays` of ``raws`` with those not ``ok`` read as ``[]`` and reported not ``ok``."""
    kept = [raw if good else b"[]" for raw, good in zip(raws, ok.tolist(), strict=True)]
    found = parse_level_arrays(kept)
    return LevelArrays(found.values, found.offsets, found.ok & ok)


def _parse(
    data: Any, buf: bytes, found: tuple[Any, Any, Any], arrays: tuple[Any, Any], pair0: Any, pairs: Any, ok: Any
) -> LevelArrays:
    # Every string's value and whether it is a plain decimal; every pair's and array's spelling. ``found``:
    # the places of the quotes and points (marks), which marks are quotes, the quotes' places; ``arrays``:
    # where each array starts and ends (its "[" and "]").
    marks, quote_marks, quotes = found
    starts, ends = arrays
    opens = quotes[0::2]
    closes = quotes[1::2]
    # Within a string only points are marked: the mark after its opening quote is its point or its end.
    points = quote_marks[1::2] - quote_marks[0::2] - 1
    values, good = _decimals(data, buf, (opens, closes), marks[quote_marks[0::2] + 1], points)
    price_close = closes[0::2]
    qty_open = opens[1::2]
    pair_start = opens[0::2] - 1
    pair_end = closes[1::2] + 1
    pair_ok = (
        good[0::2]
        & good[1::2]
        & (data[pair_start] == _OPEN)
        & (qty_open == price_close + 2)
        & (data[price_close + 1] == _COMMA)
        & (data[pair_end] == _CLOSE)
    )
    # Between two pairs of one array exactly a comma; the first right after the array's "[", the last
    # right before its "]".
    follows = np.ones(pair_start.shape[0], bool)
    if pair_start.shape[0] > 1:
        follows[1:] = (pair_start[1:] == pair_end[:-1] + 2) & (data[pair_end[:-1] + 1] == _COMMA)
    has = pairs > 0
    firsts = pair0[has]
    lasts = firsts + pairs[has] - 1
    follows[firsts] = pair_start[firsts] == starts[has] + 1
    pair_ok &= follows
    bad_before = np.zeros(pair_ok.shape[0] + 1, np.int64)
    np.cumsum(~pair_ok, out=bad_before[1:])
    array_ok = ok & (data[starts] == _OPEN) & (data[ends] == _CLOSE)
    array_ok &= np.where(has, True, ends == starts + 1)
    array_ok[has] &= (pair_end[lasts] == ends[has] - 1) & (bad_before[lasts + 1] == bad_before[firsts])
    if not bool(array_ok.all()):
        keep = np.repeat(array_ok, pairs)
        values = values.reshape(-1, 2)[keep]
        pairs = np.where(array_ok, pairs, 0)
    offsets = np.zeros(pairs.shape[0] + 1, np.int64)
    np.cumsum(pairs, out=offsets[1:])
    return LevelArrays(values.reshape(-1, 2), offsets, array_ok)


def digits_of(words: Any, digits: Any) -> tuple[Any, Any]:
    """The value of the ``digits`` (0-8, per word or one for all) last bytes of each eight-byte
    little-endian word (uint64), and whether they are all ASCII digits: the bytes before them become
    ``0``, then pairs, quads and the eight digits are combined in three multiplications (SWAR)."""
    fill = _FILL[digits]
    w = (words & ~fill) | (_ZEROS & fill)
    ok = ((w & _HIGH) | (((w + _SIX) & _HIGH) >> np.uint64(4))) == _THREES
    w = w - _ZEROS
    w = (w * np.uint64(10) + (w >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    w = (w * np.uint64(100) + (w >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    w = (w * np.uint64(10000) + (w >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return w, ok


def _decimals(data: Any, buf: bytes, strings: tuple[Any, Any], int_end: Any, points: Any) -> tuple[Any, Any]:
    # The value of each string (its quotes' places) and whether it is a plain decimal ``-?d{1,8}(.d{1,8})?``
    # of at most 15 digits; ``int_end``: the place of its point (else of its closing quote), ``points``:
    # how many it has.
    opens, closes = strings
    words: Any = np.ndarray((len(buf) - 7,), "<u8", buf, 0, (1,))  # words[i]: the eight bytes from i on
    neg = data[opens + 1] == _MINUS
    int_digits = int_end - (opens + 1) - neg
    frac_digits = np.maximum(closes - int_end - 1, 0)
    good = (
        (points <= 1)
        & (int_digits >= 1)
        & (int_digits <= 8)
        & (frac_digits <= 8)
        & (int_digits + frac_digits <= 15)
        & ((points == 0) | (frac_digits > 0))
    )
    int_digits = np.clip(int_digits, 0, 8)
    frac_digits = np.minimum(frac_digits, 8)
    whole, whole_ok = digits_of(words[int_end - 8], int_digits)
    frac, frac_ok = digits_of(words[closes - 8], frac_digits)
    mantissa = whole * _POW10_INT[frac_digits] + frac
    value = mantissa.astype(np.float64) / _POW10[frac_digits]
    np.negative(value, out=value, where=neg)
    return value, good & whole_ok & frac_ok
