"""Bybit order-book frames in one compiled call: the live path's common case without msgspec or Python.

:func:`scan_frame` reads one ``orderbook.{depth}.{SYMBOL}`` frame straight from its bytes and does
itself what :class:`connectors.bybit.normalize.BybitNormalizer` would do with it, writing the rows
into an ``event_dtype`` array, in two cases only:

- :data:`MODE_DELTA`: a ``"type":"delta"`` of the book being kept, on a synced book, whose ``u`` is
  the last one + 1 (the sync machine's APPLY): its ``DEPTH_BID``/``DEPTH_ASK`` rows;
- :data:`MODE_TOP`: an ``orderbook.1`` frame while a deeper book is kept: the ``BBO_BID``/``BBO_ASK``
  rows of its first levels (none unless the normalizer wants BBO rows).

:func:`scan_trades` does the same for a ``publicTrade.{SYMBOL}`` frame: a ``TRADE_BUY``/``TRADE_SELL``
row per trade, all of them of the normalizer's symbol.

Anything else is declined and nothing is written that counts: a layout other than the compact one
Bybit sends (whitespace, escapes, unknown or repeated keys, asks before bids, numbers it does not
convert exactly: see ``connectors.common.scan``), another symbol, a snapshot or any other ``type`` in
:data:`MODE_DELTA`, a duplicate or a gap, exchange times that would not fit int64 nanoseconds. The
normalizer then runs the frame through its per-message code, which decides, counts and logs as
always; so rows and counters are those of that code (``tests/replay/test_frame_path.py``).

A delta as Bybit sends it (spot ``orderbook.50``; linear adds ``"cts"`` after ``data``)::

    {"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1723161255512,"data":{"s":"BTCUSDT",
    "b":[["61838.7","2.717776"],["61837.6","0"]],"a":[["61838.8","0.5"]],"u":6027837,
    "seq":48131766512},"cts":1723161255507}
"""

from __future__ import annotations

__all__ = ["DECLINED", "DONE", "MODE_DELTA", "MODE_TOP", "NEEDS_ROOM", "scan_frame", "scan_trades"]

from typing import Any

from arb._jit import njit
from arb.events import BBO_ASK, BBO_BID, DEPTH_ASK, DEPTH_BID, NS_PER_MS, TRADE_BUY, TRADE_SELL
from connectors.common.scan import (
    FAIL,
    FULL,
    finish_levels,
    key_code,
    key_code_of,
    member_key,
    next_item,
    put_row,
    read_bool,
    read_decimal,
    read_int,
    read_levels,
    read_string,
    same_bytes,
    unpack_decimal,
)

DONE = 0
"""The frame was settled: its rows are written."""
DECLINED = 1
"""The frame needs the per-message path; nothing of it counts."""
NEEDS_ROOM = 2
"""``out`` is too small for the frame's levels: grow it and call again (or decline)."""

MODE_DELTA = 0
"""The frame is of the depth being kept: apply it if it is the next delta."""
MODE_TOP = 1
"""The frame is ``orderbook.1`` while a deeper book is kept: its best levels as BBO rows."""

_MS_LIMIT = 9_000_000_000_000
"""Exchange times (ms) from this value on are declined: ``ms * 10**6`` must fit an int64."""

# Key codes of the envelope and of its data object (a bit each, to refuse repeated keys).
_TOPIC, _TYPE, _TS, _DATA, _CTS = 1, 2, 4, 8, 16
_SYMBOL, _BIDS, _ASKS, _UPDATE_ID, _SEQ = 1, 2, 4, 8, 16
# ... and of one trade (BybitTrade's fields, then the ones it ignores: L, seq, RPI)
_T_ID, _T_TIME, _T_PRICE, _T_QTY, _T_SIDE, _T_SYMBOL, _T_BLOCK, _T_TICK, _T_SEQ, _T_RPI = (1 << k for k in range(10))


# Keys and values compared by their code (see key_code): one integer comparison each.
_C_TOPIC, _C_TYPE, _C_TS, _C_DATA, _C_CTS = (key_code_of(k) for k in (b"topic", b"type", b"ts", b"data", b"cts"))
_C_S, _C_B, _C_A, _C_U, _C_SEQ = (key_code_of(k) for k in (b"s", b"b", b"a", b"u", b"seq"))
_C_I, _C_T, _C_P, _C_V, _C_SIDE, _C_BT, _C_L, _C_RPI = (
    key_code_of(k) for k in (b"i", b"T", b"p", b"v", b"S", b"BT", b"L", b"RPI")
)
_C_DELTA = key_code_of(b"delta")
_C_BUY = key_code_of(b"Buy")


@njit(cache=True, nogil=True)
def _envelope_key(buf: Any, a: int, b: int) -> int:
    # The bit of an envelope key buf[a:b], or 0 for any other key.
    code = key_code(buf, a, b)
    if code == _C_TOPIC:
        return _TOPIC
    if code == _C_TYPE:
        return _TYPE
    if code == _C_TS:
        return _TS
    if code == _C_DATA:
        return _DATA
    if code == _C_CTS:
        return _CTS
    return 0


@njit(cache=True, nogil=True)
def _data_key(buf: Any, a: int, b: int) -> int:
    # The bit of a key of the data object buf[a:b], or 0 for any other key.
    code = key_code(buf, a, b)
    if code == _C_S:
        return _SYMBOL
    if code == _C_B:
        return _BIDS
    if code == _C_A:
        return _ASKS
    if code == _C_U:
        return _UPDATE_ID
    if code == _C_SEQ:
        return _SEQ
    return 0


@njit(cache=True, nogil=True)
def _trade_key(buf: Any, a: int, b: int) -> int:
    # The bit of a key of one trade buf[a:b], or 0 for any other key.
    code = key_code(buf, a, b)
    if code == _C_I:
        return _T_ID
    if code == _C_T:
        return _T_TIME
    if code == _C_P:
        return _T_PRICE
    if code == _C_V:
        return _T_QTY
    if code == _C_SIDE:
        return _T_SIDE
    if code == _C_S:
        return _T_SYMBOL
    if code == _C_BT:
        return _T_BLOCK
    if code == _C_L:
        return _T_TICK
    if code == _C_SEQ:
        return _T_SEQ
    if code == _C_RPI:
        return _T_RPI
    return 0


@njit(cache=True, nogil=True)
def _data(buf: Any, i: int, n: int, out: Any, fill: int) -> tuple[int, int, int, int, int, int]:
    # The data object at i (just past '{'); levels written to out from fill, bids first.
    # -> (next index or FAIL/FULL, symbol start, symbol end, u, bids, asks)
    seen = 0
    sym_a = 0
    sym_b = 0
    update_id = 0
    nb_bids = 0
    nb_asks = 0
    while True:
        ka, kb, i = member_key(buf, i, n)
        if i < 0:
            return FAIL, 0, 0, 0, 0, 0
        bit = _data_key(buf, ka, kb)
        if bit == _SYMBOL:
            sym_a, sym_b, i = read_string(buf, i, n)
        elif bit == _BIDS:
            if seen & _ASKS:
                return FAIL, 0, 0, 0, 0, 0  # asks before bids: the rows would come out of order
            nb_bids, i = read_levels(buf, i, n, out, fill, DEPTH_BID)
        elif bit == _ASKS:
            nb_asks, i = read_levels(buf, i, n, out, fill + nb_bids, DEPTH_ASK)
        elif bit == _UPDATE_ID:
            update_id, i = read_int(buf, i, n)
        elif bit == _SEQ:
            _, i = read_int(buf, i, n)
        else:
            return FAIL, 0, 0, 0, 0, 0
        if i == FULL:
            return FULL, 0, 0, 0, 0, 0
        if i < 0 or seen & bit:
            return FAIL, 0, 0, 0, 0, 0
        seen |= bit
        i, more = next_item(buf, i, n, 125, False)
        if not more:
            break
    required = _SYMBOL | _BIDS | _ASKS | _UPDATE_ID
    if i < 0 or seen & required != required:
        return FAIL, 0, 0, 0, 0, 0
    return i, sym_a, sym_b, update_id, nb_bids, nb_asks


@njit(cache=True, nogil=True)
def scan_frame(
    buf: Any,
    local_ts: int,
    out: Any,
    fill: int,
    settings: Any,
    mode: int,
    last_id: int,
) -> tuple[int, int, int, int]:
    """One ``orderbook.*`` frame (the whole of ``buf``, ``uint8``) received at ``local_ts`` ns.

    ``out`` is an ``event_dtype`` array with ``fill`` rows in use; ``settings`` is ``(symbol, pow10,
    include_bbo)``: the normalizer's symbol as ASCII bytes, :data:`connectors.common.scan.POW10` and
    whether it keeps the BBO; ``mode`` :data:`MODE_DELTA`
    (``last_id``: the sync machine's last ``u``; the book is synced) or :data:`MODE_TOP`
    (``include_bbo``: write the BBO rows). The caller guarantees ``0 <= local_ts < 9e18`` and
    ``last_id < 2**63 - 1``.

    Returns ``(code, fill, u, exch_ts)``: with :data:`DONE` the rows now in use, the frame's ``u``
    and its exchange time in ns (``ts``); otherwise (:data:`DECLINED`, :data:`NEEDS_ROOM`) nothing
    counts and the rows after ``fill`` are garbage.
    """
    symbol, pow10, include_bbo = settings
    n = buf.shape[0]
    declined = (DECLINED, fill, 0, 0)
    if n < 2 or buf[0] != 123:  # '{'
        return declined
    i = 1
    seen = 0
    delta = False
    ts_ms = 0
    sym_a = 0
    sym_b = 0
    update_id = 0
    nb_bids = 0
    nb_asks = 0
    while True:
        ka, kb, i = member_key(buf, i, n)
        if i < 0:
            return declined
        bit = _envelope_key(buf, ka, kb)
        if bit == _TOPIC:
            _, _, i = read_string(buf, i, n)  # the caller routed the frame by it already
        elif bit == _TYPE:
            ta, tb, i = read_string(buf, i, n)
            delta = i >= 0 and key_code(buf, ta, tb) == _C_DELTA
        elif bit == _TS:
            ts_ms, i = read_int(buf, i, n)
        elif bit == _CTS:
            _, i = read_int(buf, i, n)
        elif bit == _DATA:
            if i >= n or buf[i] != 123:
                return declined
            i, sym_a, sym_b, update_id, nb_bids, nb_asks = _data(buf, i + 1, n, out, fill)
            if i == FULL:
                return NEEDS_ROOM, fill, 0, 0
        else:
            return declined
        if i < 0 or seen & bit:
            return declined
        seen |= bit
        i, more = next_item(buf, i, n, 125, True)
        if not more:
            break
    required = _TOPIC | _TYPE | _TS | _DATA
    if i < 0 or seen & required != required or ts_ms >= _MS_LIMIT or not same_bytes(buf, sym_a, sym_b, symbol):
        return declined
    exch_ts = ts_ms * NS_PER_MS
    if mode == MODE_DELTA:
        if not delta or update_id != last_id + 1:
            return declined  # a snapshot, another type, a duplicate or a gap
        stop = fill + nb_bids + nb_asks
        finish_levels(out, fill, stop, exch_ts, local_ts, update_id, pow10)
        return DONE, stop, update_id, exch_ts
    if not include_bbo:
        return DONE, fill, update_id, exch_ts
    # MODE_TOP: the first bid and the first ask, read from their packed rows before overwriting them.
    k = fill
    for side in range(2):
        levels = nb_bids if side == 0 else nb_asks
        if levels == 0:
            continue
        src = out[fill if side == 0 else fill + nb_bids]
        px = unpack_decimal(src.exch_ts, pow10)
        qty = unpack_decimal(src.ival, pow10)
        put_row(out[k], BBO_BID if side == 0 else BBO_ASK, exch_ts, local_ts, px, qty, update_id, 0)
        k += 1
    return DONE, k, update_id, exch_ts


@njit(cache=True, nogil=True)
def _trades(buf: Any, i: int, n: int, out: Any, fill: int, local_ts: int, symbol: Any, pow10: Any) -> tuple[int, int]:
    # The data array of a publicTrade frame at i (just past '['): one row per trade from out[fill].
    # -> (next index or FAIL/FULL, rows now in use)
    cap = out.shape[0]
    if i < n and buf[i] == 93:  # ']'
        return i + 1, fill
    while True:
        if i >= n or buf[i] != 123:  # '{'
            return FAIL, fill
        i += 1
        seen = 0
        trade_ms = 0
        px = 0.0
        qty = 0.0
        buy = False
        sym_a = 0
        sym_b = 0
        while True:
            ka, kb, i = member_key(buf, i, n)
            if i < 0:
                return FAIL, fill
            bit = _trade_key(buf, ka, kb)
            if bit == _T_ID or bit == _T_TICK:
                _, _, i = read_string(buf, i, n)
            elif bit == _T_TIME:
                trade_ms, i = read_int(buf, i, n)
            elif bit == _T_PRICE:
                px, i = read_decimal(buf, i, n, pow10)
            elif bit == _T_QTY:
                qty, i = read_decimal(buf, i, n, pow10)
            elif bit == _T_SIDE:
                sa, sb, i = read_string(buf, i, n)
                buy = i >= 0 and key_code(buf, sa, sb) == _C_BUY
            elif bit == _T_SYMBOL:
                sym_a, sym_b, i = read_string(buf, i, n)
            elif bit == _T_BLOCK or bit == _T_RPI:
                _, i = read_bool(buf, i, n)
            elif bit == _T_SEQ:
                _, i = read_int(buf, i, n)
            else:
                return FAIL, fill
            if i < 0 or seen & bit:
                return FAIL, fill
            seen |= bit
            i, more = next_item(buf, i, n, 125, False)
            if not more:
                break
        required = _T_TIME | _T_PRICE | _T_QTY | _T_SIDE | _T_SYMBOL
        if i < 0 or seen & required != required or trade_ms >= _MS_LIMIT or not same_bytes(buf, sym_a, sym_b, symbol):
            return FAIL, fill  # another symbol is counted per trade: the per-message code does it
        if fill >= cap:
            return FULL, fill
        put_row(out[fill], TRADE_BUY if buy else TRADE_SELL, trade_ms * NS_PER_MS, local_ts, px, qty, 0, 0)
        fill += 1
        i, more = next_item(buf, i, n, 93, False)
        if not more:
            return i, fill


@njit(cache=True, nogil=True)
def scan_trades(buf: Any, local_ts: int, out: Any, fill: int, symbol: Any, pow10: Any) -> tuple[int, int, int]:
    """One ``publicTrade.*`` frame (the whole of ``buf``, ``uint8``) received at ``local_ts`` ns.

    ``symbol`` and ``pow10`` as in :func:`scan_frame`'s ``settings``, the rest as for it. Every trade
    must be of ``symbol``. Returns ``(code, fill, ts)``: with :data:`DONE` the rows now in use (one per
    trade) and the frame's ``ts`` in ns; otherwise nothing counts and the rows after the ``fill`` passed in are garbage.

    Sample (spot)::

        {"topic":"publicTrade.BTCUSDT","ts":1723161255622,"type":"snapshot","data":[{"i":"2290000000020329568",
        "T":1723161255620,"p":"61839.8","v":"0.025491","S":"Sell","s":"BTCUSDT","BT":false}]}
    """
    n = buf.shape[0]
    start = fill
    declined = (DECLINED, start, 0)
    if n < 2 or buf[0] != 123:  # '{'
        return declined
    i = 1
    seen = 0
    ts_ms = 0
    while True:
        ka, kb, i = member_key(buf, i, n)
        if i < 0:
            return declined
        bit = _envelope_key(buf, ka, kb)
        if bit == _TOPIC or bit == _TYPE:
            _, _, i = read_string(buf, i, n)
        elif bit == _TS:
            ts_ms, i = read_int(buf, i, n)
        elif bit == _DATA:
            if i >= n or buf[i] != 91:  # '['
                return declined
            i, fill = _trades(buf, i + 1, n, out, fill, local_ts, symbol, pow10)
            if i == FULL:
                return NEEDS_ROOM, start, 0
        else:
            return declined  # cts, or a key BybitTradeMessage does not have
        if i < 0 or seen & bit:
            return declined
        seen |= bit
        i, more = next_item(buf, i, n, 125, True)
        if not more:
            break
    if i < 0 or seen & (_TOPIC | _TS | _DATA) != _TOPIC | _TS | _DATA or ts_ms >= _MS_LIMIT:
        return declined
    return DONE, fill, ts_ms * NS_PER_MS
