"""The compiled part of :mod:`connectors.common.levels`: price levels parsed from their JSON bytes.

Kept apart so that importing :mod:`connectors.common.levels` does not import Numba: the Numba-free
conversion of a small recording parses levels with msgspec (:func:`connectors.common.levels.parse_levels_plain`)
and never loads this module. Every value equals Python's ``float(text)`` (see :mod:`connectors.common.levels`).
"""

from __future__ import annotations

__all__ = ["FALLBACK", "MALFORMED", "json_number", "parse_into"]

from typing import Any

from arb._jit import njit

_MALFORMED = -1
_FALLBACK = -2
_MAX_EXACT = 1 << 53
MALFORMED = _MALFORMED
"""What :func:`parse_into` returns for malformed input."""
FALLBACK = _FALLBACK
"""What :func:`parse_into` returns for a value beyond the exact range (parse it with msgspec)."""


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
def parse_into(buf: Any, out: Any, pow10: Any) -> int:
    """Parse ``[[p,q],...]`` from ``buf`` into ``out`` (``(n, 2)`` float64): the number of levels, or
    :data:`MALFORMED` / :data:`FALLBACK`."""
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
