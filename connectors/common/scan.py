"""Compiled token readers for scanning recordings in bulk: strict JSON subsets, exact or nothing.

A venue's bulk scanner (``connectors.binance.fastscan``) reads recorded lines straight from the
decompressed bytes with these helpers. Each accepts only a narrow, unambiguous form of its token and
reports failure for anything else, so that the scanner can hand the whole line back to the venue's
per-message code, which then decides (decodes, counts, logs) exactly as it does live. None of them
ever accepts text that the per-message decoders would read differently.

Every reader takes ``buf`` (a 1-d ``uint8`` array), the index ``i`` where the token starts and the
end ``n`` of the readable bytes, and returns the index just past the token; a negative index means
"not this token" (:data:`FAIL`) or, for :func:`read_levels`, "no room left in ``out``" (:data:`FULL`).

Decimals (``"61737.63000000"``) are converted exactly: a value with at most 15 significant digits is
``mantissa / 10**decimals`` (decimals <= 17) with both operands exact doubles, so the one IEEE
division is correctly rounded and the result is Python's ``float(text)``; it is also what
``connectors.common.levels.parse_levels`` computes for the same text. Longer values fail (the
per-message path parses them).
"""

from __future__ import annotations

__all__ = [
    "FAIL",
    "FULL",
    "INT64_MAX",
    "INT64_MIN",
    "INT_DIGITS_MAX",
    "MIN_LEVEL_BYTES",
    "POW10",
    "TS_LIMIT",
    "finish_levels",
    "key_code",
    "key_code_of",
    "line_end",
    "member_key",
    "next_item",
    "put_row",
    "read_bool",
    "read_decimal",
    "read_decimal_packed",
    "read_int",
    "read_levels",
    "read_local_ts",
    "read_string",
    "same_bytes",
    "symbol_bytes",
    "unpack_decimal",
]

from typing import Any

import numpy as np

from arb._jit import njit

FAIL = -1
"""Returned instead of an index: the bytes at ``i`` are not the token asked for (in its strict form)."""
FULL = -2
"""Returned by :func:`read_levels` instead of an index: ``out`` has no room for another row."""
INT_DIGITS_MAX = 18
"""Longest integer accepted: 18 digits always fit an int64."""
TS_LIMIT = 9_000_000_000_000_000_000
"""Local timestamps from this value on are refused (the 19-digit prefix could overflow int64)."""
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
"""The range of the scans' int64 arithmetic: a value outside it keeps a frame on the per-message path."""
MIN_LEVEL_BYTES = 9
"""``'["0","0"]'``: no frame of n bytes holds more than ``n // 9`` level rows (room to reserve)."""

POW10 = np.array([10.0**k for k in range(23)])
"""``10**k`` as exact doubles, ``k`` = 0..22: pass as ``pow10`` (Numba freezes globals at compile time)."""

_MANT_LIMIT = 10**15  # at most 15 significant digits: below 2**53, so exact as a double
_NO_SYMBOL = np.zeros(0, np.uint8)


def symbol_bytes(symbol: str) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A symbol as the scanners compare it with the bytes of a frame: its ASCII bytes, or an empty
    array when it is empty or holds anything but printable ASCII without quote or backslash (an
    empty array makes the scanners decline every frame that names a symbol)."""
    raw = symbol.encode("utf-8")
    if not raw or any(c < 32 or c > 126 or c in b'"\\' for c in raw):
        return _NO_SYMBOL
    return np.frombuffer(raw, np.uint8).copy()


@njit(cache=True, nogil=True)
def line_end(buf: Any, i: int, n: int) -> int:
    """Index of the first ``\\n`` at or after ``i``, or ``n`` when there is none."""
    while i < n and buf[i] != 10:
        i += 1
    return i


@njit(cache=True, nogil=True)
def read_local_ts(buf: Any, i: int, n: int) -> tuple[int, int]:
    """The recording prefix ``<19 digits><space>`` at ``i``: ``(ns, index of the payload)``.

    Fails (index :data:`FAIL`) when the prefix is not 19 ASCII digits and a space, or when the value
    reaches :data:`TS_LIMIT`.
    """
    if n - i < 20 or buf[i + 19] != 32:
        return 0, FAIL
    value = 0
    for k in range(i, i + 19):
        c = buf[k]
        if c < 48 or c > 57:
            return 0, FAIL
        value = value * 10 + (c - 48)
    if buf[i] >= 57:  # '9': 9e18 and above may not fit an int64
        return 0, FAIL
    return value, i + 20


@njit(cache=True, nogil=True)
def read_int(buf: Any, i: int, n: int) -> tuple[int, int]:
    """A non-negative JSON integer at ``i``: ``0`` or ``[1-9][0-9]*``, at most 18 digits.

    Returns ``(value, next index)``. What follows is not checked (a ``.`` or ``e`` after the digits
    makes the caller's next expectation fail).
    """
    if i >= n or buf[i] < 48 or buf[i] > 57:
        return 0, FAIL
    if buf[i] == 48:
        if i + 1 < n and 48 <= buf[i + 1] <= 57:
            return 0, FAIL  # leading zero: not JSON
        return 0, i + 1
    value = 0
    start = i
    while i < n and 48 <= buf[i] <= 57:
        value = value * 10 + (buf[i] - 48)
        i += 1
        if i - start > INT_DIGITS_MAX:
            return 0, FAIL
    return value, i


@njit(cache=True, nogil=True)
def read_string(buf: Any, i: int, n: int) -> tuple[int, int, int]:
    """A JSON string at ``i`` made of printable ASCII only, without escapes.

    Returns ``(start, end, next index)``: the characters are ``buf[start:end]``.
    """
    if i >= n or buf[i] != 34:
        return 0, 0, FAIL
    i += 1
    start = i
    while i < n:
        c = buf[i]
        if c == 34:
            return start, i, i + 1
        if c < 32 or c > 126 or c == 92:  # control, non-ASCII, backslash
            return 0, 0, FAIL
        i += 1
    return 0, 0, FAIL


@njit(cache=True, nogil=True, inline="always")
def member_key(buf: Any, i: int, n: int) -> tuple[int, int, int]:
    """An object member's key at ``i`` (a string as :func:`read_string` reads it) and the ``:`` after it.

    Returns ``(start, end, index of the member's value)``: the key is ``buf[start:end]``; the index is
    :data:`FAIL` when the key or its ``:`` is not there.
    """
    a, b, i = read_string(buf, i, n)
    if i < 0 or i >= n or buf[i] != 58:  # ':'
        return 0, 0, FAIL
    return a, b, i + 1


@njit(cache=True, nogil=True, inline="always")
def next_item(buf: Any, i: int, n: int, close: int, whole: bool) -> tuple[int, bool]:
    """What follows an object member's value or an array item, at ``i`` (a failed value's negative index, or
    one past the buffer, gives ``(FAIL, False)``: the caller checks once, after this).

    ``close`` is the container's closing byte (``}`` 125 or ``]`` 93); ``whole``: the container is the whole of
    ``buf`` (a frame), so its closing byte must be the last, ``n - 1``. Returns ``(index of the next member or
    item, True)`` past a ``,``; ``(index past the container, False)`` past its closing byte; ``(FAIL, False)``
    for anything else.
    """
    if i < 0 or i >= n:
        return FAIL, False
    c = buf[i]
    if c == 44:  # ','
        return i + 1, True
    if c == close and (not whole or i == n - 1):
        return i + 1, False
    return FAIL, False


def key_code_of(key: bytes) -> int:
    """What :func:`key_code` computes for ``key``'s bytes: a scanner's constant for a key or value it knows."""
    return int.from_bytes(key, "little")


@njit(cache=True, nogil=True)
def key_code(buf: Any, a: int, b: int) -> int:
    """The bytes ``buf[a:b]`` as one integer (first byte lowest), for strings of 1 to 8 bytes; 0 for any other
    length: a key or a short value compared in one integer comparison. A string :func:`read_string` accepts
    has no zero byte and no byte above 126, so two such strings share a code only if they are equal, and
    the code fits 63 bits."""
    m = b - a
    if m < 1 or m > 8:
        return 0
    code = 0
    for k in range(m - 1, -1, -1):
        code = (code << 8) | int(buf[a + k])
    return code


@njit(cache=True, nogil=True)
def same_bytes(buf: Any, start: int, stop: int, ref: Any) -> bool:
    """Whether ``buf[start:stop]`` holds exactly the bytes of ``ref`` (a symbol's, say)."""
    if stop - start != ref.shape[0]:
        return False
    for k in range(ref.shape[0]):  # noqa: SIM110 - Numba compiles loops, not generator expressions
        if buf[start + k] != ref[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def read_bool(buf: Any, i: int, n: int) -> tuple[bool, int]:
    """A JSON ``true`` or ``false`` at ``i``: ``(value, next index)``."""
    if i + 4 <= n and buf[i] == 116 and buf[i + 1] == 114 and buf[i + 2] == 117 and buf[i + 3] == 101:
        return True, i + 4
    if (
        i + 5 <= n
        and buf[i] == 102
        and buf[i + 1] == 97
        and buf[i + 2] == 108
        and buf[i + 3] == 115
        and buf[i + 4] == 101
    ):
        return False, i + 5
    return False, FAIL


@njit(cache=True, nogil=True)
def read_decimal_packed(buf: Any, i: int, n: int) -> tuple[int, int]:
    """A quoted decimal at ``i``, ``"-?(0|[1-9][0-9]*)(\\.[0-9]+)?"``, packed for :func:`unpack_decimal`.

    Returns ``(packed, next index)``. The value is ``mantissa / 10**decimals`` with trailing zeros of
    the fraction dropped; it fails on any other form (exponents, ``+``, leading zeros, ``1.``,
    ``.5``, whitespace), on more than 18 digits, and when the mantissa has more than 15 digits.
    Splitting the read from the division lets a caller do all divisions in one branch-free loop.
    """
    if i >= n or buf[i] != 34:
        return 0, FAIL
    i += 1
    neg = 0
    if i < n and buf[i] == 45:  # '-'
        neg = 1
        i += 1
    start = i
    mant = 0
    dot = -1
    while i < n:
        c = buf[i]
        d = int(c) - 48
        if 0 <= d <= 9:
            mant = mant * 10 + d
        elif c == 46 and dot < 0:  # '.'
            dot = i
        else:
            break
        i += 1
    if i >= n or buf[i] != 34:
        return 0, FAIL
    digits = i - start
    scale = 0
    if dot >= 0:
        scale = i - dot - 1
        digits -= 1
        if dot == start or scale == 0:
            return 0, FAIL
    if digits == 0 or digits > INT_DIGITS_MAX:
        return 0, FAIL
    if buf[start] == 48 and digits > 1 and dot != start + 1:
        return 0, FAIL  # a leading zero
    if mant >= _MANT_LIMIT:
        while scale > 0 and mant % 10 == 0:
            mant //= 10
            scale -= 1
        if mant >= _MANT_LIMIT:
            return 0, FAIL
    return (mant << 6) | (neg << 5) | scale, i + 1


@njit(cache=True, nogil=True)
def unpack_decimal(packed: int, pow10: Any) -> float:
    """The float of a :func:`read_decimal_packed` result: exactly ``float(text)``."""
    value: float = (packed >> 6) / pow10[packed & 31]
    return -value if packed & 32 else value


@njit(cache=True, nogil=True)
def read_decimal(buf: Any, i: int, n: int, pow10: Any) -> tuple[float, int]:
    """A quoted decimal at ``i`` as the exact ``float(text)``: ``(value, next index)``.

    Accepts what :func:`read_decimal_packed` accepts.
    """
    packed, i = read_decimal_packed(buf, i, n)
    if i < 0:
        return 0.0, i
    return unpack_decimal(packed, pow10), i


@njit(cache=True, nogil=True)
def read_levels(buf: Any, i: int, n: int, out: Any, fill: int, ev: int) -> tuple[int, int]:
    """A level array ``[["px","qty"],...]`` at ``i`` (no whitespace; decimals as :func:`read_decimal`).

    Writes one row per level into ``out`` (``event_dtype``) from row ``fill`` on, with ``ev`` set and
    the price and quantity still *packed* (as :func:`read_decimal_packed` packs them) in ``exch_ts``
    and ``ival``: :func:`finish_levels` turns them into ``px``/``qty`` and sets the other fields.
    Returns ``(levels, next index)``; the index is :data:`FULL` when ``out`` has no room left.
    """
    # The decimal reader is written out here rather than called: one loop per number that stops
    # only at the closing quote reads the hot path about a third faster. It accepts exactly what
    # read_decimal_packed accepts (tests/unit/test_scan.py compares the two).
    if i >= n or buf[i] != 91:  # '['
        return 0, FAIL
    i += 1
    if i < n and buf[i] == 93:  # ']'
        return 0, i + 1
    count = 0
    cap = out.shape[0]
    while True:
        if i >= n or buf[i] != 91:
            return 0, FAIL
        i += 1
        px = 0
        qty = 0
        for field in range(2):
            if i >= n or buf[i] != 34:  # '"'
                return 0, FAIL
            i += 1
            neg = 0
            if i < n and buf[i] == 45:  # '-'
                neg = 1
                i += 1
            start = i
            mant = 0
            dot = -1
            while i < n:
                c = buf[i]
                if c == 34:
                    break
                if c == 46:  # '.'
                    if dot >= 0:
                        return 0, FAIL
                    dot = i
                elif c < 48 or c > 57:
                    return 0, FAIL
                else:
                    mant = mant * 10 + (c - 48)
                i += 1
            if i + 1 >= n:  # no closing quote, or nothing after it
                return 0, FAIL
            if dot < 0:
                int_digits = i - start
                scale = 0
            else:
                int_digits = dot - start
                scale = i - dot - 1
                if scale == 0:
                    return 0, FAIL  # "1."
            if int_digits == 0 or int_digits + scale > INT_DIGITS_MAX:
                return 0, FAIL  # "", "-", ".5", too long
            if int_digits > 1 and buf[start] == 48:
                return 0, FAIL  # a leading zero
            if mant >= _MANT_LIMIT:
                while scale > 0 and mant % 10 == 0:
                    mant //= 10
                    scale -= 1
                if mant >= _MANT_LIMIT:
                    return 0, FAIL
            i += 1
            if field == 0:
                px = (mant << 6) | (neg << 5) | scale
                if buf[i] != 44:  # ','
                    return 0, FAIL
                i += 1
            else:
                qty = (mant << 6) | (neg << 5) | scale
                if buf[i] != 93:
                    return 0, FAIL
        k = fill + count
        if k >= cap:
            return 0, FULL
        row = out[k]
        row.ev = ev
        row.exch_ts = px
        row.ival = qty
        count += 1
        i += 1
        if i < n and buf[i] == 44:
            i += 1
            continue
        if i < n and buf[i] == 93:
            return count, i + 1
        return 0, FAIL


@njit(cache=True, nogil=True, inline="always")
def put_row(row: Any, ev: int, exch_ts: int, local_ts: int, px: float, qty: float, order_id: int, ival: int) -> None:
    """Fill the event row ``row`` (an ``out[k]`` of an ``event_dtype`` array) with these values and ``fval``
    0. Inlined into its callers by Numba: no call on the scanners' hot path."""
    row.ev = ev
    row.exch_ts = exch_ts
    row.local_ts = local_ts
    row.px = px
    row.qty = qty
    row.order_id = order_id
    row.ival = ival
    row.fval = 0.0


@njit(cache=True, nogil=True)
def finish_levels(out: Any, start: int, stop: int, exch_ts: int, local_ts: int, ival: int, pow10: Any) -> None:
    """Complete the rows ``out[start:stop]`` written by :func:`read_levels`: unpack ``px``/``qty``, set
    the times and ``ival``, zero ``order_id`` and ``fval``."""
    for k in range(start, stop):
        row = out[k]
        row.px = unpack_decimal(row.exch_ts, pow10)
        row.qty = unpack_decimal(row.ival, pow10)
        row.exch_ts = exch_ts
        row.local_ts = local_ts
        row.order_id = 0
        row.ival = ival
        row.fval = 0.0
