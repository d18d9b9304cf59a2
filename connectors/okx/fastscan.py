"""OKX ``books`` and ``trades`` frames in one compiled call: the live path's common case without msgspec.

:func:`scan_book` reads one ``books`` (``books-l2-tbt``, ``books50-l2-tbt``) frame straight from its bytes
and does itself what :class:`connectors.okx.normalize.OkxNormalizer` would do with it, in one case only:
an ``"action":"update"`` of the normalizer's instrument, with one ``data`` entry whose ``prevSeqId`` is
the book's last ``seqId`` while the book is synced (the sync machine's APPLY). It sets the levels in the
book of wire strings (:mod:`connectors.okx.book`, in place), checks a non-zero ``checksum`` against it
when the book is known, and writes the ``DEPTH_BID`` rows, then the ``DEPTH_ASK`` rows, into an
``event_dtype`` array.

:func:`scan_trades` does the same for a ``trades`` frame: a ``TRADE_BUY``/``TRADE_SELL`` row per trade,
all of them of the normalizer's instrument.

Anything else is declined with nothing changed: a layout other than the compact one OKX sends
(whitespace, escapes, unknown or repeated keys, numbers it does not convert exactly: see
``connectors.common.scan``), another instrument, a snapshot, a gap or a duplicate, a negative size,
exchange times that would not fit int64 nanoseconds, a book without room for the frame's levels. The
normalizer then runs the frame through its per-message code, which decides, counts and logs as always;
so rows and counters are those of that code (``tests/replay/test_okx_frame_path.py``).

One outcome changes the book and still declines: :data:`MISMATCH`, a checksum the updated book does not
reproduce. The per-message code then applies the same update to the book again, which leaves it as it
is (sizes are absolute), finds the same mismatch and loses the book as it always does.

A frame as OKX sends it::

    {"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["61837.2",
    "1.31493581","0","16"],["61837.7","0","0","0"]],"bids":[["61837.0","2.70988534","0","23"]],
    "ts":"1723161255509","checksum":-1467343152,"prevSeqId":16315651080,"seqId":16315651081}]}
"""

from __future__ import annotations

__all__ = [
    "ABSENT",
    "DECLINED",
    "DONE",
    "MISMATCH",
    "NEEDS_ROOM",
    "UNVERIFIED",
    "VERIFIED",
    "scan_book",
    "scan_trades",
]

from typing import Any

import numpy as np

from arb._jit import njit
from arb.events import DEPTH_ASK, DEPTH_BID, NS_PER_MS, TRADE_BUY, TRADE_SELL
from connectors.common.scan import (
    FAIL,
    INT_DIGITS_MAX,
    MIN_LEVEL_BYTES,
    POW10,
    key_code,
    key_code_of,
    member_key,
    next_item,
    put_row,
    read_decimal,
    read_decimal_packed,
    read_int,
    read_string,
    same_bytes,
    unpack_decimal,
)
from connectors.okx.book import FREE, META, SLOTS, TLEN, book_checksum, has_room, set_level

DONE = 0
"""The frame was settled: its rows are written (and the book updated)."""
DECLINED = 1
"""The frame needs the per-message path; nothing of it counts, nothing changed."""
NEEDS_ROOM = 2
"""The book has no room for the frame's levels (or ``out`` none for its rows): nothing changed."""
MISMATCH = 3
"""The checksum disagrees with the updated book: declined, the book holds the update (see the docstring)."""

ABSENT, VERIFIED, UNVERIFIED = 0, 1, 2
"""What a settled book frame's checksum was: 0, reproduced, or not checkable (the book is not known)."""

_MS_LIMIT = 9_000_000_000_000
"""Exchange times (ms) from this value on are declined: ``ms * 10**6`` must fit an int64."""
_SIGN = 32  # the sign bit of a packed decimal (connectors.common.scan.read_decimal_packed)
_POW10 = POW10  # a constant table, frozen into the compiled code (one argument less to unbox per frame)

# Key codes (a bit each, to refuse repeated keys): the envelope, arg, a book entry, a trade.
_ARG, _ACTION, _DATA = 1, 2, 4
_CHANNEL, _INST = 1, 2
_ASKS, _BIDS, _TS, _CHECKSUM, _PREV, _SEQ = 1, 2, 4, 8, 16, 32
_T_INST, _T_ID, _T_PX, _T_SZ, _T_SIDE, _T_TS, _T_COUNT = (1 << k for k in range(7))


_C_ARG, _C_ACTION, _C_DATA, _C_CHANNEL, _C_INST = (
    key_code_of(k) for k in (b"arg", b"action", b"data", b"channel", b"instId")
)
_C_ASKS, _C_BIDS, _C_TS, _C_CHECKSUM, _C_PREV8, _C_SEQ = (
    key_code_of(k) for k in (b"asks", b"bids", b"ts", b"checksum", b"prevSeqI", b"seqId")
)
_C_TRADE_ID, _C_PX, _C_SZ, _C_SIDE, _C_COUNT = (key_code_of(k) for k in (b"tradeId", b"px", b"sz", b"side", b"count"))
_C_UPDATE, _C_BUY, _C_SELL = key_code_of(b"update"), key_code_of(b"buy"), key_code_of(b"sell")


@njit(cache=True, nogil=True)
def _is_prev_seq_id(buf: Any, a: int, b: int) -> bool:
    # Whether buf[a:b] is "prevSeqId" (9 bytes: one more than a key code holds).
    return b - a == 9 and key_code(buf, a, a + 8) == _C_PREV8 and buf[a + 8] == 100  # 'd'


@njit(cache=True, nogil=True)
def _read_signed(buf: Any, i: int, n: int) -> tuple[int, int]:
    # A JSON integer, possibly negative (read_int's form after an optional '-'): (value, next index).
    if i < n and buf[i] == 45:  # '-'
        value, i = read_int(buf, i + 1, n)
        return -value, i
    return read_int(buf, i, n)


@njit(cache=True, nogil=True)
def _read_ms(buf: Any, i: int, n: int) -> tuple[int, int]:
    # A quoted non-negative integer ("1723161255509", as OKX writes times): (value, next index).
    if i >= n or buf[i] != 34:
        return 0, FAIL
    value, j = read_int(buf, i + 1, n)
    if j < 0 or j >= n or buf[j] != 34:
        return 0, FAIL
    return value, j + 1


@njit(cache=True, nogil=True)
def _arg(buf: Any, i: int, n: int, inst: Any, check: bool) -> int:
    # The arg object at i ('{'): {"channel":"...","instId":"..."} in either order, the instId <inst> when
    # ``check``; the next index or FAIL.
    if i >= n or buf[i] != 123:
        return FAIL
    i += 1
    seen = 0
    while True:
        ka, kb, i = member_key(buf, i, n)
        if i < 0:
            return FAIL
        code = key_code(buf, ka, kb)
        bit = _CHANNEL if code == _C_CHANNEL else (_INST if code == _C_INST else 0)
        va, vb, i = read_string(buf, i, n)
        if bit == 0 or i < 0 or seen & bit:
            return FAIL
        if bit == _INST and check and not same_bytes(buf, va, vb, inst):
            return FAIL
        seen |= bit
        i, more = next_item(buf, i, n, 125, False)
        if not more:
            return i if seen == _CHANNEL | _INST else FAIL


@njit(cache=True, nogil=True)
def _levels(buf: Any, i: int, n: int, lv: Any, side: int) -> tuple[int, int]:
    # A level array [["px","sz",...],...] at i into lv[side]: per level (packed px, packed sz, and where
    # the px and sz texts are). Sizes must not be negative. -> (levels, next index or FAIL).
    if i >= n or buf[i] != 91:  # '['
        return 0, FAIL
    i += 1
    if i < n and buf[i] == 93:  # ']'
        return 0, i + 1
    count = 0
    cap = lv.shape[1]
    while True:
        if i >= n or buf[i] != 91 or count >= cap:
            return 0, FAIL
        px_at = i + 2
        px, i = read_decimal_packed(buf, i + 1, n)
        if i < 0 or i >= n or buf[i] != 44:
            return 0, FAIL
        sz_at = i + 2
        sz, i = read_decimal_packed(buf, i + 1, n)
        if i < 0 or (sz & _SIGN and sz >> 6 != 0):
            return 0, FAIL  # a negative size: the per-message code refuses it
        row = lv[side, count]
        row[0] = px
        row[1] = sz
        row[2] = px_at
        row[3] = sz_at
        row[4] = i - 1  # sz text ends before its closing quote; px text ends 3 bytes before sz_at
        while i < n and buf[i] == 44:  # the other fields: any strings (the deprecated "0", the order count)
            _, _, i = read_string(buf, i + 1, n)
            if i < 0:
                return 0, FAIL
        if i >= n or buf[i] != 93:
            return 0, FAIL
        count += 1
        i, more = next_item(buf, i + 1, n, 93, False)
        if not more:
            return (count, i) if i >= 0 else (0, FAIL)


@njit(cache=True, nogil=True)
def _book_entry(buf: Any, i: int, n: int, lv: Any) -> tuple[int, int, int, int, int, int, int]:
    # The one data entry at i ('{'). -> (next index or FAIL, bids, asks, ts ms, checksum, prevSeqId, seqId)
    failed = (FAIL, 0, 0, 0, 0, 0, 0)
    if i >= n or buf[i] != 123:
        return failed
    i += 1
    seen = 0
    nb = na = ts_ms = check = prev = seq = 0
    while True:
        ka, kb, i = member_key(buf, i, n)
        if i < 0:
            return failed
        code = key_code(buf, ka, kb)
        if code == _C_ASKS:
            bit = _ASKS
            na, i = _levels(buf, i, n, lv, 1)
        elif code == _C_BIDS:
            bit = _BIDS
            nb, i = _levels(buf, i, n, lv, 0)
        elif code == _C_TS:
            bit = _TS
            ts_ms, i = _read_ms(buf, i, n)
        elif code == _C_CHECKSUM:
            bit = _CHECKSUM
            check, i = _read_signed(buf, i, n)
        elif _is_prev_seq_id(buf, ka, kb):
            bit = _PREV
            prev, i = _read_signed(buf, i, n)
        elif code == _C_SEQ:
            bit = _SEQ
            seq, i = _read_signed(buf, i, n)
        else:
            return failed
        if i < 0 or seen & bit:
            return failed
        seen |= bit
        i, more = next_item(buf, i, n, 125, False)
        if not more:
            break
    if i < 0 or seen | _CHECKSUM != _ASKS | _BIDS | _TS | _CHECKSUM | _PREV | _SEQ:
        return failed
    return i, nb, na, ts_ms, check, prev, seq


@njit(cache=True, nogil=True)
def _width(lv: Any, side: int, count: int) -> int:
    # The longest "px:sz" text of a side's parsed levels (see _levels for where the texts are).
    widest = 0
    for k in range(count):
        row = lv[side, k]
        widest = max(widest, (row[3] - 3 - row[2]) + 1 + (row[4] - row[3]))
    return widest


@njit(cache=True, nogil=True)
def _text(text: Any, slot: int, buf: Any, row: Any) -> int:
    # Write a parsed level's "px:sz" (see _levels for where its texts are) into a text slot.
    m = 0
    for k in range(row[2], row[3] - 3):
        text[slot, m] = buf[k]
        m += 1
    text[slot, m] = 58  # ':'
    m += 1
    for k in range(row[3], row[4]):
        text[slot, m] = buf[k]
        m += 1
    return m


@njit(cache=True, nogil=True)
def _merge(book: Any, side: int, lv: Any, count: int, buf: Any, scratch: Any) -> bool:
    # Set a side's parsed levels in one pass over the side when their keys (prices, negated for bids)
    # strictly increase, as OKX sends them: the same book as setting them one by one. False (nothing
    # changed) when they do not. The caller made room.
    keys, ints, text = book
    pow10 = _POW10
    sign = -1.0 if side == 0 else 1.0
    for j in range(1, count):
        if sign * unpack_decimal(lv[side, j, 0], pow10) <= sign * unpack_decimal(lv[side, j - 1, 0], pow10):
            return False
    cap = keys.shape[1]
    base = side * cap
    n = ints[META, side]
    meta = ints[META]
    i = 0
    out = 0
    for j in range(count):
        row = lv[side, j]
        key = sign * unpack_decimal(row[0], pow10)
        zero = row[1] >> 6 == 0
        while i < n and keys[side, i] < key:
            scratch[0, out] = keys[side, i]
            scratch[1, out] = ints[SLOTS, base + i]
            out += 1
            i += 1
        if i < n and keys[side, i] == key:
            slot = ints[SLOTS, base + i]
            i += 1
            if zero:
                ints[FREE, meta[2]] = slot
                meta[2] += 1
                continue
        elif zero:
            continue
        else:
            meta[2] -= 1
            slot = ints[FREE, meta[2]]
        ints[TLEN, slot] = _text(text, slot, buf, row)
        scratch[0, out] = key
        scratch[1, out] = slot
        out += 1
    while i < n:
        scratch[0, out] = keys[side, i]
        scratch[1, out] = ints[SLOTS, base + i]
        out += 1
        i += 1
    for k in range(out):
        keys[side, k] = scratch[0, k]
        ints[SLOTS, base + k] = int(scratch[1, k])
    meta[side] = out
    return True


@njit(cache=True, nogil=True)
def scan_book(
    buf: Any, local_ts: int, out: Any, keys: Any, ints: Any, text: Any, last_seq: int, scale: float
) -> tuple[int, int, int, int, int]:
    """One ``books`` frame (the whole of ``buf``, ``uint8``) received at ``local_ts`` ns.

    The caller checked that ``buf`` begins with the ``arg`` of the normalizer's instrument exactly
    (``{"arg":{"channel":"books","instId":"BTC-USDT"},``). ``out`` is an ``event_dtype`` array (the
    free rows of the sink's) with room for ``len(buf) // 9`` rows; ``keys``, ``ints``, ``text`` the
    normalizer's book of wire strings (:data:`connectors.okx.book.Book`, updated in place); ``last_seq``
    the sync machine's last ``seqId`` (the book is synced and chained by ids); ``scale`` the base
    currency per size unit. The caller guarantees ``0 <= local_ts < 9e18``. (Eight arguments, no
    tuples: each one is unboxed on every frame.)

    Returns ``(code, rows, seqId, exch_ts, checksum outcome)``: with :data:`DONE` the rows written from
    ``out[0]`` on, the frame's ``seqId``, its exchange time in ns and :data:`ABSENT`, :data:`VERIFIED` or
    :data:`UNVERIFIED`; otherwise nothing counts and the rows of ``out`` are garbage.
    """
    book = (keys, ints, text)
    pow10 = _POW10
    fill = 0
    n = buf.shape[0]
    declined = (DECLINED, fill, 0, 0, 0)
    if n < 2 or buf[0] != 123:  # '{'
        return declined
    lv = np.empty((2, n // MIN_LEVEL_BYTES + 1, 5), np.int64)
    i = 1
    seen = 0
    update = False
    nb = na = ts_ms = check = prev = seq = 0
    while True:
        ka, kb, i = member_key(buf, i, n)
        if i < 0:
            return declined
        code = key_code(buf, ka, kb)
        if code == _C_ARG:
            bit = _ARG
            i = _arg(buf, i, n, buf, False)  # the caller compared it
        elif code == _C_ACTION:
            bit = _ACTION
            va, vb, i = read_string(buf, i, n)
            update = i >= 0 and key_code(buf, va, vb) == _C_UPDATE
        elif code == _C_DATA:
            bit = _DATA
            if i >= n or buf[i] != 91:  # '[': exactly one entry
                return declined
            i, nb, na, ts_ms, check, prev, seq = _book_entry(buf, i + 1, n, lv)
            if i < 0 or i >= n or buf[i] != 93:
                return declined
            i += 1
        else:
            return declined
        if i < 0 or seen & bit:
            return declined
        seen |= bit
        i, more = next_item(buf, i, n, 125, True)
        if not more:
            break
    if i < 0 or seen != _ARG | _ACTION | _DATA or not update or prev != last_seq or not 0 < ts_ms < _MS_LIMIT:
        return declined
    known = ints[META, 3] != 0
    if known:
        if not has_room(book, nb, na, max(_width(lv, 0, nb), _width(lv, 1, na))):
            return NEEDS_ROOM, fill, 0, 0, 0
        scratch = np.empty((2, keys.shape[1]), np.float64)  # (key, slot) of the merged side
        for side in range(2):
            count = nb if side == 0 else na
            if count == 0 or _merge(book, side, lv, count, buf, scratch):
                continue
            for k in range(count):  # not in order: one by one
                row = lv[side, k]
                price = unpack_decimal(row[0], pow10)
                span = (row[2], row[3] - 3, row[3], row[4])
                set_level(book, side, -price if side == 0 else price, row[1] >> 6 == 0, buf, span)
    outcome = ABSENT
    if check != 0:
        if not known:
            outcome = UNVERIFIED
        elif book_checksum(book) != check:
            return MISMATCH, fill, 0, 0, 0
        else:
            outcome = VERIFIED
    exch_ts = ts_ms * NS_PER_MS
    k = fill
    for side in range(2):
        ev = DEPTH_BID if side == 0 else DEPTH_ASK
        for j in range(nb if side == 0 else na):
            row = lv[side, j]
            px = unpack_decimal(row[0], pow10)
            qty = unpack_decimal(row[1], pow10) * scale
            put_row(out[k], ev, exch_ts, local_ts, px, qty, 0, seq)
            k += 1
    return DONE, k, seq, exch_ts, outcome


@njit(cache=True, nogil=True)
def _trades(
    buf: Any, i: int, n: int, out: Any, fill: int, local_ts: int, inst: Any, scale: float
) -> tuple[int, int, int]:
    # The data array of a trades frame at i (just past '['): one row per trade from out[fill].
    # -> (next index or FAIL, rows now in use, the last trade's exchange time ns)
    pow10 = _POW10
    cap = out.shape[0]
    exch_ts = 0
    if i < n and buf[i] == 93:  # ']'
        return i + 1, fill, exch_ts
    while True:
        if i >= n or buf[i] != 123:  # '{'
            return FAIL, fill, 0
        i += 1
        seen = 0
        trade_ms = trade_id = 0
        px = qty = 0.0
        buy = False
        while True:
            ka, kb, i = member_key(buf, i, n)
            if i < 0:
                return FAIL, fill, 0
            code = key_code(buf, ka, kb)
            if code == _C_INST:
                bit = _T_INST
                va, vb, i = read_string(buf, i, n)
                if i >= 0 and not same_bytes(buf, va, vb, inst):
                    return FAIL, fill, 0  # another instrument is counted per trade: the per-message code does it
            elif code == _C_TRADE_ID:
                bit = _T_ID
                va, vb, i = read_string(buf, i, n)
                trade_id = 0
                if 0 < vb - va <= INT_DIGITS_MAX:  # what int() takes of an id of at most 18 digits; else 0
                    for k in range(va, vb):
                        c = buf[k]
                        if c < 48 or c > 57:
                            trade_id = 0
                            break
                        trade_id = trade_id * 10 + (c - 48)
            elif code == _C_PX:
                bit = _T_PX
                px, i = read_decimal(buf, i, n, pow10)
            elif code == _C_SZ:
                bit = _T_SZ
                qty, i = read_decimal(buf, i, n, pow10)
            elif code == _C_SIDE:
                bit = _T_SIDE
                va, vb, i = read_string(buf, i, n)
                side = key_code(buf, va, vb) if i >= 0 else 0
                if side != _C_BUY and side != _C_SELL:
                    return FAIL, fill, 0
                buy = side == _C_BUY
            elif code == _C_TS:
                bit = _T_TS
                trade_ms, i = _read_ms(buf, i, n)
            elif code == _C_COUNT:
                bit = _T_COUNT
                _, i = _read_ms(buf, i, n)
            else:
                return FAIL, fill, 0
            if i < 0 or seen & bit:
                return FAIL, fill, 0
            seen |= bit
            i, more = next_item(buf, i, n, 125, False)
            if not more:
                break
        required = _T_INST | _T_PX | _T_SZ | _T_SIDE | _T_TS
        if i < 0 or seen & required != required or trade_ms >= _MS_LIMIT or qty < 0:
            return FAIL, fill, 0
        if fill >= cap:
            return FAIL, fill, 0
        exch_ts = trade_ms * NS_PER_MS
        put_row(out[fill], TRADE_BUY if buy else TRADE_SELL, exch_ts, local_ts, px, qty * scale, 0, trade_id)
        fill += 1
        i, more = next_item(buf, i, n, 93, False)
        if not more:
            return (i, fill, exch_ts) if i >= 0 else (FAIL, fill, 0)


@njit(cache=True, nogil=True)
def scan_trades(buf: Any, local_ts: int, out: Any, fill: int, inst: Any, scale: float) -> tuple[int, int, int]:
    """One ``trades`` frame (the whole of ``buf``, ``uint8``) received at ``local_ts`` ns.

    ``out`` is an ``event_dtype`` array with ``fill`` rows in use and room for ``len(buf) // 40`` more;
    ``inst`` the instrument id as ASCII bytes, ``scale`` the base currency per size unit. The ``arg`` and
    every trade must be of the instrument. Returns ``(code, fill, exch_ts)``: with :data:`DONE`
    the rows now in use (one per trade) and the last trade's exchange time in ns (0 without trades);
    otherwise nothing counts and the rows after the ``fill`` passed in are garbage.
    """
    n = buf.shape[0]
    start = fill
    declined = (DECLINED, start, 0)
    if n < 2 or buf[0] != 123:  # '{'
        return declined
    i = 1
    seen = 0
    exch_ts = 0
    while True:
        ka, kb, i = member_key(buf, i, n)
        if i < 0:
            return declined
        code = key_code(buf, ka, kb)
        if code == _C_ARG:
            bit = _ARG
            i = _arg(buf, i, n, inst, True)
        elif code == _C_DATA:
            bit = _DATA
            if i >= n or buf[i] != 91:  # '['
                return declined
            i, fill, exch_ts = _trades(buf, i + 1, n, out, fill, local_ts, inst, scale)
        else:
            return declined
        if i < 0 or seen & bit:
            return declined
        seen |= bit
        i, more = next_item(buf, i, n, 125, True)
        if not more:
            break
    if i < 0 or seen != _ARG | _DATA:
        return declined
    return DONE, fill, exch_ts
