"""OKX's book of wire strings in arrays, with compiled updates and a compiled checksum. Pure: no I/O, no rows.

OKX's checksum (:mod:`connectors.okx.checksum`) is computed over each level's price and size *as sent*,
so the book kept for it holds text, not numbers. Here it lives in three arrays that compiled code reads
and writes directly (the per-message code through :class:`~connectors.okx.checksum.LevelBook`, the frame
scan in :mod:`connectors.okx.fastscan`), one tuple :data:`Book` ``(keys, ints, text)``:

- ``keys``: ``float64[2, cap]``: side 0 (bids) keyed by the negated price, side 1 (asks) by the price, so
  both list their best level first; a side's ``n`` levels are ``keys[side, :n]``, ascending;
- ``ints``: ``int64[4, 2 * cap]``: row :data:`SLOTS` holds, at ``side * cap + k``, the text slot of the
  side's ``k``-th level; row :data:`TLEN` the text length of each slot; row :data:`FREE` the stack of free
  slots; row :data:`META` the counts ``[bids, asks, free slots, known]``;
- ``text``: ``uint8[2 * cap, width]``: slot ``s`` holds ``price:size`` (``ints[TLEN, s]`` bytes, UTF-8).

A level moves only its key and slot (16 bytes) when another is inserted or deleted before it; its text
stays in its slot. The arrays never grow in compiled code: a caller makes room first (:func:`grow`, after
:func:`has_room` says no), so an update either applies whole or not at all.

Setting a level follows OKX's rule for ``books`` updates: the size is absolute, ``0`` deletes the level;
a price equal (as a float) to one held replaces that level's text (``"3366"`` then ``"3366.0"`` leaves
``"3366.0"``). Applying the same update twice leaves the book as applying it once.
"""

from __future__ import annotations

__all__ = [
    "CHECKSUM_LEVELS",
    "FREE",
    "META",
    "SLOTS",
    "TLEN",
    "Book",
    "apply_side",
    "book_checksum",
    "clear",
    "grow",
    "has_room",
    "new_book",
    "set_level",
]

from typing import Any, Final

import numpy as np

from arb._jit import njit

CHECKSUM_LEVELS: Final = 25
"""Levels of each side the checksum covers."""

SLOTS, TLEN, FREE, META = 0, 1, 2, 3
"""Rows of ``ints`` (see the module docstring)."""
_N_FREE, _KNOWN = 2, 3  # ints[META, 0] and ints[META, 1] are the sides' level counts
_COLON = 58

Book = tuple[Any, Any, Any]
"""``(keys, ints, text)`` as the module docstring lays them out."""

_MIN_CAP = 32
_MIN_WIDTH = 32


def _crc_tables() -> np.ndarray[Any, np.dtype[np.int64]]:
    # The CRC-32 (IEEE 802.3, reflected: zlib's) tables for slicing by 8: table 0 is the byte table,
    # table k advances a byte's remainder through k more zero bytes.
    tables = np.empty((8, 256), np.int64)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        tables[0, i] = c
    for k in range(1, 8):
        for i in range(256):
            prev = int(tables[k - 1, i])
            tables[k, i] = (prev >> 8) ^ int(tables[0, prev & 0xFF])
    return tables


_CRC = _crc_tables()


def new_book(cap: int = _MIN_CAP, width: int = _MIN_WIDTH) -> Book:
    """An empty, unknown book with room for ``cap`` levels a side of text up to ``width`` bytes."""
    cap, width = max(cap, _MIN_CAP), max(width, _MIN_WIDTH)
    book = (np.zeros((2, cap), np.float64), np.zeros((4, 2 * cap), np.int64), np.zeros((2 * cap, width), np.uint8))
    clear(book)
    return book


def grow(book: Book, cap: int, width: int) -> Book:
    """A copy of ``book`` (levels, texts, known) with room for at least ``cap`` levels a side and texts
    of ``width`` bytes; ``book`` itself when it has both already. Capacities at least double."""
    keys, ints, text = book
    old_cap, old_width = keys.shape[1], text.shape[1]
    if cap <= old_cap and width <= old_width:
        return book
    new_cap = max(cap, 2 * old_cap) if cap > old_cap else old_cap
    new_width = max(width, 2 * old_width) if width > old_width else old_width
    grown = new_book(new_cap, new_width)
    g_keys, g_ints, g_text = grown
    meta = ints[META]
    for side in range(2):
        n = int(meta[side])
        g_keys[side, :n] = keys[side, :n]
        g_ints[SLOTS, side * new_cap : side * new_cap + n] = ints[SLOTS, side * old_cap : side * old_cap + n]
    pool = 2 * old_cap
    g_text[:pool, :old_width] = text
    g_ints[TLEN, :pool] = ints[TLEN, :pool]
    # free: the old free slots, then every new one
    n_free = int(meta[_N_FREE])
    new_pool = 2 * new_cap
    g_ints[FREE, :n_free] = ints[FREE, :n_free]
    g_ints[FREE, n_free : n_free + new_pool - pool] = np.arange(pool, new_pool)
    g_ints[META, :4] = meta[:4]
    g_ints[META, _N_FREE] = n_free + new_pool - pool
    return grown


@njit(cache=True, nogil=True)
def clear(book: Any) -> None:
    """Empty both sides and mark the book unknown."""
    _, ints, text = book
    pool = text.shape[0]
    for s in range(pool):
        ints[FREE, s] = s
    ints[META, 0] = 0
    ints[META, 1] = 0
    ints[META, _N_FREE] = pool
    ints[META, _KNOWN] = 0


@njit(cache=True, nogil=True)
def has_room(book: Any, new_bids: int, new_asks: int, width: int) -> bool:
    """Whether ``new_bids`` and ``new_asks`` more levels and texts of ``width`` bytes fit without growing."""
    keys, ints, text = book
    cap = keys.shape[1]
    return bool(ints[META, 0] + new_bids <= cap and ints[META, 1] + new_asks <= cap and width <= text.shape[1])


@njit(cache=True, nogil=True, inline="always")
def set_level(book: Any, side: int, key: float, zero: bool, src: Any, span: Any) -> None:
    """Set one level of ``side`` (0 bids, 1 asks) at ``key`` (the price, negated for bids): delete it when
    ``zero``, else give it the text ``src[a1:b1]`` (and, when ``a2 >= 0``, ``:`` and ``src[a2:b2]``),
    ``span`` being ``(a1, b1, a2, b2)``. The caller made room (:func:`has_room`)."""
    keys, ints, text = book
    cap = keys.shape[1]
    n = ints[META, side]
    base = side * cap
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[side, mid] < key:
            lo = mid + 1
        else:
            hi = mid
    found = lo < n and keys[side, lo] == key
    if zero:
        if not found:
            return
        slot = ints[SLOTS, base + lo]
        for k in range(lo, n - 1):
            keys[side, k] = keys[side, k + 1]
            ints[SLOTS, base + k] = ints[SLOTS, base + k + 1]
        ints[META, side] = n - 1
        ints[FREE, ints[META, _N_FREE]] = slot
        ints[META, _N_FREE] += 1
        return
    if found:
        slot = ints[SLOTS, base + lo]
    else:
        top = ints[META, _N_FREE] - 1
        slot = ints[FREE, top]
        ints[META, _N_FREE] = top
        for k in range(n, lo, -1):
            keys[side, k] = keys[side, k - 1]
            ints[SLOTS, base + k] = ints[SLOTS, base + k - 1]
        keys[side, lo] = key
        ints[SLOTS, base + lo] = slot
        ints[META, side] = n + 1
    a1, b1, a2, b2 = span
    m = 0
    for k in range(a1, b1):
        text[slot, m] = src[k]
        m += 1
    if a2 >= 0:
        text[slot, m] = _COLON
        m += 1
        for k in range(a2, b2):
            text[slot, m] = src[k]
            m += 1
    ints[TLEN, slot] = m


@njit(cache=True, nogil=True)
def apply_side(book: Any, side: int, keys: Any, spans: Any, blob: Any) -> None:
    """Set each level of one side in order: ``keys[i]`` (negated prices for bids), ``spans[i]`` =
    ``(start, end, zero)`` of its ``price:size`` text in ``blob``. The caller made room."""
    for i in range(keys.shape[0]):
        set_level(book, side, keys[i], spans[i, 2] != 0, blob, (spans[i, 0], spans[i, 1], -1, -1))


@njit(cache=True, nogil=True, inline="always")
def _crc_bytes(crc: int, text: Any, slot: int, m: int) -> int:
    # Continue ``crc`` over text[slot, :m]: eight bytes per step (slicing by 8), then byte by byte.
    t = _CRC
    k = 0
    while k + 8 <= m:
        one = crc ^ (
            int(text[slot, k])
            | int(text[slot, k + 1]) << 8
            | int(text[slot, k + 2]) << 16
            | int(text[slot, k + 3]) << 24
        )
        two = (
            int(text[slot, k + 4])
            | int(text[slot, k + 5]) << 8
            | int(text[slot, k + 6]) << 16
            | int(text[slot, k + 7]) << 24
        )
        crc = (
            t[7, one & 0xFF] ^ t[6, (one >> 8) & 0xFF] ^ t[5, (one >> 16) & 0xFF] ^ t[4, (one >> 24) & 0xFF]
            ^ t[3, two & 0xFF] ^ t[2, (two >> 8) & 0xFF] ^ t[1, (two >> 16) & 0xFF] ^ t[0, (two >> 24) & 0xFF]
        )  # fmt: skip
        k += 8
    while k < m:
        crc = t[0, (crc ^ text[slot, k]) & 0xFF] ^ (crc >> 8)
        k += 1
    return crc


@njit(cache=True, nogil=True)
def book_checksum(book: Any) -> int:
    """OKX's checksum of the book: the CRC-32 of ``bid1:ask1:bid2:ask2...`` over the best
    :data:`CHECKSUM_LEVELS` levels a side (each ``price:size``, a side's missing levels skipped), as a
    signed int32."""
    keys, ints, text = book
    cap = keys.shape[1]
    crc = 0xFFFFFFFF
    first = True
    for i in range(CHECKSUM_LEVELS):
        for side in range(2):
            if i >= ints[META, side]:
                continue
            if not first:
                crc = _CRC[0, (crc ^ _COLON) & 0xFF] ^ (crc >> 8)
            first = False
            slot = ints[SLOTS, side * cap + i]
            crc = _crc_bytes(crc, text, slot, ints[TLEN, slot])
    crc ^= 0xFFFFFFFF
    return crc - (1 << 32) if crc >= 1 << 31 else crc
