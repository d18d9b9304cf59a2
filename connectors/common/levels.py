"""Price levels from the venues' JSON arrays, parsed by compiled code.

Both venues send book levels as ``[["61737.63000000","0.00000000"], ...]``: decimal strings in
pairs. Decoding that through generic JSON makes a Python tuple and two floats per level, which is
most of a converter's time; here msgspec only skips over the array (``msgspec.Raw``) and this module
parses the bytes straight into a ``(n, 2)`` float64 array.

Every value equals Python's ``float(text)``: a decimal with at most 15 significant digits and a
power-of-ten scale within 10^22 is computed as ``integer / 10**k`` (or ``* 10**k``), both operands
exact doubles and the one IEEE operation correctly rounded. Anything else (longer mantissas, large
exponents) falls back to msgspec's own parser for that array. Malformed input raises ``ValueError``.
"""

from __future__ import annotations

__all__ = ["json_number", "parse_levels"]

from typing import Any

import msgspec
import numpy as np

from arb._jit import njit

_MALFORMED = -1
_FALLBACK = -2
_MAX_EXACT = 1 << 53

_POW10 = np.array([10.0**i for i in range(23)])

_lax_levels = msgspec.json.Decoder(list[tuple[float, float]], strict=False)


@njit(cache=True, nogil=True)
def _skip_ws(buf: Any, i: int, n: int) -> int:
    while i < n and (buf[i] == 32 or buf[i] == 9 or buf[i] == 10 or buf[i] == 13):
        i += 1
    return i


@njit(cache=True, nogil=True)
def json_number(buf: Any, i: int, n: int, pow10: Any) -> tuple[float, int]:
    """Parse one JSON number or quoted decimal at ``i``: (value, next index), exactly Python's ``float``
    of its text; a next index < 0 when the text is malformed or beyond the exact range (see the module)."""
    quoted = False
    if i < n and buf[i] == 34:  # '"'
        quoted = True
        i += 1
    neg = False
    if i < n and buf[i] == 45:  # '-'
        neg = True
        i += 1
    mant = 0
    digits = 0
    scale = 0
    seen = False
    while i < n and 48 <= buf[i] <= 57:
        if mant != 0 or buf[i] != 48:
            digits += 1
        mant = mant * 10 + (buf[i] - 48)
        seen = True
        i += 1
        if digits > 15:
            return 0.0, _FALLBACK
    if i < n and buf[i] == 46:  # '.'
        i += 1
        trailing = 0
        while i < n and 48 <= buf[i] <= 57:
            d = buf[i] - 48
            seen = True
            if d == 0:
                trailing += 1  # zeros count only if a non-zero digit follows
            else:
                for _ in range(trailing):
                    mant = mant * 10
                    scale += 1
                    if mant != 0:
                        digits += 1
                trailing = 0
                mant = mant * 10 + d
                scale += 1
                digits += 1
            if digits > 15:
                return 0.0, _FALLBACK
            i += 1
    if not seen:
        return 0.0, _MALFORMED
    exp = 0
    if i < n and (buf[i] == 101 or buf[i] == 69):  # 'e' / 'E'
        i += 1
        eneg = False
        if i < n and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        if i >= n or not (48 <= buf[i] <= 57):
            return 0.0, _MALFORMED
        while i < n and 48 <= buf[i] <= 57:
            exp = exp * 10 + (buf[i] - 48)
            i += 1
            if exp > 400:
                return 0.0, _FALLBACK
        if eneg:
            exp = -exp
    if quoted:
        if i >= n or buf[i] != 34:
            return 0.0, _MALFORMED
        i += 1
    power = exp - scale
    if mant >= _MAX_EXACT or power > 22 or power < -22:
        return 0.0, _FALLBACK
    if power >= 0:
        value = mant * pow10[power]
    else:
        value = mant / pow10[-power]
    return (-value if neg else value), i


@njit(cache=True, nogil=True)
def _parse_into(buf: Any, out: Any, pow10: Any) -> int:
    # Parse [[p,q],...] into out; return the number of levels or an error code.
    n = buf.shape[0]
    i = _skip_ws(buf, 0, n)
    if i >= n or buf[i] != 91:  # '['
        return _MALFORMED
    i = _skip_ws(buf, i + 1, n)
    count = 0
    if i < n and buf[i] == 93:  # ']'
        return 0 if _skip_ws(buf, i + 1, n) == n else _MALFORMED
    while True:
        if i >= n or buf[i] != 91 or count >= out.shape[0]:
            return _MALFORMED
        for field in range(2):  # the price and its ',', then the quantity and its ']'
            i = _skip_ws(buf, i + 1, n)
            value, i = json_number(buf, i, n, pow10)
            if i < 0:
                return i
            i = _skip_ws(buf, i, n)
            if i >= n or buf[i] != (44 if field == 0 else 93):
                return _MALFORMED
            out[count, field] = value
        count += 1
        i = _skip_ws(buf, i + 1, n)
        if i < n and buf[i] == 44:
            i = _skip_ws(buf, i + 1, n)
            continue
        if i < n and buf[i] == 93:
            return count if _skip_ws(buf, i + 1, n) == n else _MALFORMED
        return _MALFORMED


def parse_levels(raw: bytes | memoryview) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Parse a JSON array of ``[price, qty]`` pairs (strings or numbers) into an ``(n, 2)`` array."""
    data = bytes(raw)
    n = data.count(b"[") - 1
    if n < 0:
        raise ValueError(f"price levels must be a JSON array: {data[:200]!r}")
    out = np.empty((n, 2), np.float64)
    got = _parse_into(np.frombuffer(data, np.uint8), out, _POW10)
    if got == n:
        return out
    if got == _FALLBACK:
        return np.array(_lax_levels.decode(data), np.float64).reshape(-1, 2)
    raise ValueError(f"malformed price levels: {data[:200]!r}")
