"""Price levels from the venues' JSON arrays, parsed by compiled code.

Both venues send book levels as ``[["61737.63000000","0.00000000"], ...]``: decimal strings in
pairs. Decoding that through generic JSON makes a Python tuple and two floats per level, which is
most of a converter's time; here msgspec only skips over the array (``msgspec.Raw``) and this module
parses the bytes straight into a ``(n, 2)`` float64 array.

Every value equals Python's ``float(text)``: a decimal with at most 15 significant digits and a
power-of-ten scale within 10^22 is computed as ``integer / 10**k`` (or ``* 10**k``), both operands
exact doubles and the one IEEE operation correctly rounded. Anything else (longer mantissas, large
exponents) falls back to msgspec's own parser for that array. Malformed input raises ``ValueError``.

The compiled parser lives in :mod:`connectors.common.levels_jit`, loaded at the first call of
:func:`parse_levels`; :func:`parse_levels_plain` gives the same arrays without Numba (msgspec, and the
compiled parser only for text msgspec's reading cannot vouch for).
"""

from __future__ import annotations

__all__ = ["parse_levels", "parse_levels_plain"]

import itertools
import re
from typing import Any

import msgspec
import numpy as np

from connectors.common.lazy import lazy_module

_jit = lazy_module("connectors.common.levels_jit")

_POW10 = np.array([10.0**i for i in range(23)])

_lax_levels = msgspec.json.Decoder(list[tuple[float, float]], strict=False)


def parse_levels(raw: bytes | memoryview) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Parse a JSON array of ``[price, qty]`` pairs (strings or numbers) into an ``(n, 2)`` array."""
    data = bytes(raw)
    n = data.count(b"[") - 1
    if n < 0:
        raise ValueError(f"price levels must be a JSON array: {data[:200]!r}")
    out = np.empty((n, 2), np.float64)
    got = _jit.parse_into(np.frombuffer(data, np.uint8), out, _POW10)
    if got == n:
        return out
    if got == _jit.FALLBACK:
        return np.array(_lax_levels.decode(data), np.float64).reshape(-1, 2)
    raise ValueError(f"malformed price levels: {data[:200]!r}")


_PLAIN_BYTES = b'0123456789.-",[]'
"""The only bytes :func:`parse_levels_plain` reads itself: compact arrays of decimals without exponents."""
_MINUS_ZERO = re.compile(rb'-0+["\],]')
"""A negative zero spelled as an integer (``"-0"``): msgspec reads it as ``0.0``, ``float(text)`` as ``-0.0``."""


def parse_levels_plain(raw: bytes | memoryview) -> np.ndarray[Any, np.dtype[np.float64]]:
    """:func:`parse_levels` without Numba: the same array, or the same ``ValueError``.

    msgspec reads the pairs (it converts a decimal exactly, as ``float(text)`` does, and it is what
    :func:`parse_levels` falls back to for long values); its reading is kept when the text holds only
    digits, ``.``, ``-``, quotes, brackets and commas (no whitespace, no exponent, nothing that could be
    read in two ways: such a number is one :func:`parse_levels` reads to the same value), no integer
    negative zero (``"-0"``, which msgspec reads as ``0.0``) and every pair was two numbers. Anything
    else (other characters, an error) goes to :func:`parse_levels` itself, which loads the compiled
    parser: unusual or malformed input only."""
    data = bytes(raw)
    if not data.translate(None, _PLAIN_BYTES) and not _MINUS_ZERO.search(data):
        try:
            pairs = _lax_levels.decode(data)
        except (msgspec.DecodeError, ValueError):
            pairs = None
        if pairs is not None and len(pairs) == data.count(b"[") - 1:
            return np.fromiter(itertools.chain.from_iterable(pairs), np.float64, 2 * len(pairs)).reshape(-1, 2)
    return parse_levels(data)
