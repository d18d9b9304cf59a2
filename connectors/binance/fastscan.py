"""Binance recordings in bulk: one compiled pass over decompressed lines, Python only where it must.

:func:`scan_lines` walks a buffer of recorded lines (``<19-digit local ns> <payload>\\n``, see
``connectors.common.record_files``) and, line by line, does itself what
:class:`connectors.binance.normalize.BinanceNormalizer` would do for the common combined-stream
frames, writing the rows straight into an ``event_dtype`` array:

- ``@bookTicker`` when BBO rows are not wanted: counted, never decoded (as ``on_message`` does);
- ``@bookTicker`` when they are wanted, and ``@trade``: the ``BBO_BID``/``BBO_ASK`` or trade row;
- ``@depth*``: the ``DEPTH_BID``/``DEPTH_ASK`` rows of a diff that the sync state machine would
  APPLY to a synced book in its steady state (``pu`` chaining on USD-M, ``U <= last + 1 < u + 1`` on
  spot), or nothing but a count for a diff of another symbol.

It stops at the first line it cannot settle on those terms and returns :data:`DECLINED` with the
line's bounds: a line without the timestamp prefix, anything but the exact compact frame layout
(whitespace, escapes, unexpected or repeated keys, asks before bids, numbers it does not convert
exactly), an unknown or ``@aggTrade`` stream, a REST snapshot, a bare message, a symbol not yet
known, and every depth diff that is not a plain APPLY (buffering, bridging a snapshot, duplicates,
gaps). The caller runs that line through the normalizer's own per-message code, which decides,
counts and logs exactly as it does live, and then calls again from the next line with the state
the normalizer now has. So rows, their order and every counter are those of feeding the lines one
by one to ``BinanceNormalizer.on_message``; ``tests/replay/test_bulk_path.py`` checks it.

State crosses the boundary in one int64 array (indices ``S_*``): the caller fills it from the
normalizer before each call and copies the outputs back after it.

:func:`scan_frame` is the same decision for one live frame (no prefix, state passed as arguments):
``BinanceNormalizer.on_message`` tries it first and runs its per-message code only when the frame is
declined, so the live path gets the compiled decoding too (``tests/replay/test_frame_path.py``).
Both share one per-payload function, so they settle exactly the same frames.
"""

from __future__ import annotations

__all__ = [
    "DECLINED",
    "DONE",
    "KIND_BBO",
    "KIND_DEPTH",
    "KIND_OTHER",
    "KIND_TRADE",
    "NEEDS_ROOM",
    "STATE_SIZE",
    "S_APPLIED",
    "S_BBO",
    "S_CLOCK_OFFSET",
    "S_DEPTH",
    "S_DEPTH_EXCH_TS",
    "S_DEPTH_LOCAL_TS",
    "S_EMIT_LINEAR",
    "S_FILL",
    "S_FUTURES",
    "S_INCLUDE_BBO",
    "S_LAST_EXCH_TS",
    "S_LAST_UPDATE_ID",
    "S_LINES",
    "S_LINE_END",
    "S_MESSAGES",
    "S_OTHER_SYMBOLS",
    "S_POS",
    "S_STEADY",
    "S_TRADES",
    "scan_frame",
    "scan_lines",
]

from typing import Any, NamedTuple

import numpy as np

from arb._jit import njit
from arb.events import BBO_ASK, BBO_BID, DEPTH_ASK, DEPTH_BID, NS_PER_MS, TRADE_BUY, TRADE_SELL
from connectors.common.scan import (
    FAIL,
    FULL,
    finish_levels,
    line_end,
    next_item,
    put_row,
    read_bool,
    read_decimal,
    read_int,
    read_levels,
    read_local_ts,
    read_string,
    same_bytes,
)
from connectors.common.scan_pass import DECLINED, DONE, NEEDS_ROOM, S_FILL, S_LINE_END, S_POS

# State array layout past the slots every pass shares (connectors.common.scan_pass: S_POS, S_LINE_END, S_FILL,
# as its return codes). In: read by the scan. In/out: read and updated. Out: counters, added to.
S_INCLUDE_BBO = 3
"""In: 1 when bookTicker rows are wanted (``include_bbo``)."""
S_FUTURES = 4
"""In: the sync machine's market (1 USD-M: ``pu`` chaining and ``T`` as the clock); -1 no machine yet."""
S_EMIT_LINEAR = 5
"""In: 1 when the normalizer's market is ``"linear"`` (depth rows then take ``T``, else ``E``)."""
S_STEADY = 6
"""In: 1 when the book is synced and not bridging a snapshot (only then may a diff be applied here)."""
S_LAST_UPDATE_ID = 7
"""In/out: the sync machine's ``last_update_id``."""
S_CLOCK_OFFSET = 8
"""In/out: the normalizer's ``exchange - local`` offset (ns)."""
S_LAST_EXCH_TS = 9
"""In/out: the latest exchange time seen (ns)."""
S_DEPTH_LOCAL_TS = 10
"""Out: local time of the last diff applied here (meaningful when ``S_APPLIED`` > 0)."""
S_DEPTH_EXCH_TS = 11
"""Out: exchange time of the last diff applied here."""
S_MESSAGES = 12
"""Out: lines handled here, added to ``stats.messages``."""
S_DEPTH = 13
"""Out: added to ``stats.depth_messages``."""
S_TRADES = 14
"""Out: added to ``stats.trade_messages``."""
S_BBO = 15
"""Out: added to ``stats.bbo_messages``."""
S_OTHER_SYMBOLS = 16
"""Out: added to ``stats.other_symbols``."""
S_LINES = 17
"""Out: non-empty lines passed (handled or declined), for the reader's report."""
S_APPLIED = 18
"""Out: depth diffs applied here (their last one set S_DEPTH_LOCAL_TS / S_DEPTH_EXCH_TS)."""
STATE_SIZE = 19

# What a frame settled by scan_frame was (and what _stream_kind finds in a stream name).
KIND_DEPTH = 0
"""A depth diff (``@depth``, ``@depth@...``)."""
KIND_TRADE = 1
"""A ``@trade``."""
KIND_BBO = 2
"""A ``@bookTicker``."""
KIND_OTHER = 3
"""Any other stream: never settled by the scan."""

_STREAM_PREFIX = np.frombuffer(b'{"stream":"', np.uint8)
_DATA_KEY = np.frombuffer(b',"data":{', np.uint8)
_MARKET = np.frombuffer(b"MARKET", np.uint8)
_DEPTH = np.frombuffer(b"depth", np.uint8)
_TRADE = np.frombuffer(b"trade", np.uint8)
_BOOK_TICKER = np.frombuffer(b"bookTicker", np.uint8)
_MS_LIMIT = 9_000_000_000_000
"""Exchange times (ms) from this value on are declined: ``ms * 10**6`` must fit an int64."""
_INT64_MAX = 9_223_372_036_854_775_807

# Key codes: first byte, plus 256 * second byte for the two-letter "pu".
_K_PU = ord("p") + 256 * ord("u")

# The keys of the data objects, a bit each (to refuse repeated keys and to name each kind's keys).
_KEY_TYPE = 1  # "e", ignored by the structs
_KEY_EVENT_TIME = 2  # "E"
_KEY_TIME = 4  # "T"
_KEY_SYMBOL = 8  # "s"
_KEY_TRADE_ID = 16  # "t"
_KEY_PRICE = 32  # "p"
_KEY_QTY = 64  # "q"
_KEY_EXECUTION = 128  # "X"
_KEY_MAKER = 256  # "m"
_KEY_BEST_MATCH = 512  # "M", ignored by the struct
_KEY_UPDATE_ID = 1024  # "u"
_KEY_FIRST_ID = 2048  # "U"
_KEY_PREV_ID = 4096  # "pu"
_KEY_BIDS = 8192  # "b": bid levels (depth) or the best bid's price (bookTicker)
_KEY_BID_QTY = 16384  # "B"
_KEY_ASKS = 32768  # "a": ask levels (depth) or the best ask's price (bookTicker)
_KEY_ASK_QTY = 65536  # "A"
_EVENT_KEYS = _KEY_TYPE | _KEY_EVENT_TIME | _KEY_TIME | _KEY_SYMBOL
# The keys each kind may have (any other is declined), and the ones it must have.
_DEPTH_KEYS = _EVENT_KEYS | _KEY_FIRST_ID | _KEY_UPDATE_ID | _KEY_PREV_ID | _KEY_BIDS | _KEY_ASKS
_DEPTH_REQUIRED = _KEY_EVENT_TIME | _KEY_SYMBOL | _KEY_FIRST_ID | _KEY_UPDATE_ID | _KEY_BIDS | _KEY_ASKS
_TRADE_KEYS = _EVENT_KEYS | _KEY_TRADE_ID | _KEY_PRICE | _KEY_QTY | _KEY_EXECUTION | _KEY_MAKER | _KEY_BEST_MATCH
_TRADE_REQUIRED = _KEY_EVENT_TIME | _KEY_TIME | _KEY_SYMBOL | _KEY_TRADE_ID | _KEY_PRICE | _KEY_QTY | _KEY_MAKER
_BBO_KEYS = _EVENT_KEYS | _KEY_UPDATE_ID | _KEY_BIDS | _KEY_BID_QTY | _KEY_ASKS | _KEY_ASK_QTY
_BBO_REQUIRED = _KEY_SYMBOL | _KEY_UPDATE_ID | _KEY_BIDS | _KEY_BID_QTY | _KEY_ASKS | _KEY_ASK_QTY


class _Data(NamedTuple):
    # What _data read from a data object; a field whose key the object lacks keeps its default.
    end: int
    """The index past the object's '}', or FAIL, or FULL (no room for the depth levels)."""
    event_ms: int  # E
    time_ms: int  # T
    symbol_start: int  # s: buf[symbol_start:symbol_end]
    symbol_end: int
    trade_id: int  # t
    first_id: int  # U
    update_id: int  # u
    prev_id: int  # pu, -1 when absent
    price: float  # p
    qty: float  # q
    bid_price: float  # b (bookTicker)
    bid_qty: float  # B
    ask_price: float  # a (bookTicker)
    ask_qty: float  # A
    buyer_is_maker: bool  # m
    market: bool  # X is MARKET (or absent)
    bids: int  # levels of b written to out (depth)
    asks: int  # levels of a written to out after them


@njit(cache=True, nogil=True)
def _matches(buf: Any, i: int, n: int, lit: Any) -> bool:
    m = lit.shape[0]
    if i + m > n:
        return False
    for k in range(m):  # noqa: SIM110 - Numba compiles loops, not generator expressions
        if buf[i + k] != lit[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _stream_kind(buf: Any, start: int, stop: int) -> int:
    # Mirrors normalize._stream_kind on the name buf[start:stop]: the text after the first '@'.
    at = -1
    for k in range(start, stop):
        c = buf[k]
        ok = (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 64 or c == 95
        if not ok:
            return KIND_OTHER  # anything unusual goes the per-message way
        if c == 64 and at < 0:
            at = k
    if at < 0:
        return KIND_OTHER
    k = at + 1
    m = stop - k
    if _matches(buf, k, stop, _DEPTH) and (m == 5 or buf[k + 5] == 64):  # "depth", "depth@..."
        return KIND_DEPTH
    if m == 5 and _matches(buf, k, stop, _TRADE):
        return KIND_TRADE
    if m == 10 and _matches(buf, k, stop, _BOOK_TICKER):
        return KIND_BBO
    return KIND_OTHER


@njit(cache=True, nogil=True)
def _key(buf: Any, i: int, n: int) -> tuple[int, int]:
    # '"k":' or '"kk":' at i -> (key code, index of the value).
    if i + 4 > n or buf[i] != 34:
        return 0, FAIL
    a = buf[i + 1]
    if buf[i + 2] == 34:
        if buf[i + 3] != 58:
            return 0, FAIL
        return a, i + 4
    if i + 5 > n or buf[i + 3] != 34 or buf[i + 4] != 58:
        return 0, FAIL
    return a + 256 * buf[i + 2], i + 5


@njit(cache=True, nogil=True)
def _end_of_frame(buf: Any, i: int, n: int) -> int:
    # After the data object: the envelope's '}' and then the end of the line. -> index of '\n' (or n).
    if i >= n or buf[i] != 125:
        return FAIL
    i += 1
    if i < n and buf[i] != 10:
        return FAIL
    return i


@njit(cache=True, nogil=True)
def _data(buf: Any, i: int, n: int, kind: int, out: Any, fill: int, pow10: Any) -> _Data:
    # The data object of a message of ``kind`` at i (just past '{'), with the keys and value forms
    # of that kind's struct only; a depth diff's levels are written to out from fill, bids first.
    if kind == KIND_DEPTH:
        allowed, required = _DEPTH_KEYS, _DEPTH_REQUIRED
    elif kind == KIND_TRADE:
        allowed, required = _TRADE_KEYS, _TRADE_REQUIRED
    else:
        allowed, required = _BBO_KEYS, _BBO_REQUIRED
    seen = 0
    event_ms = time_ms = sym_a = sym_b = trade_id = first = final = 0
    prev = -1
    px = qty = bp = bq = ap = aq = 0.0
    maker = False
    market = True
    nb_bids = nb_asks = 0
    while True:
        key, i = _key(buf, i, n)
        if i < 0:
            break
        if key == 101:  # "e"
            bit = _KEY_TYPE
            _, _, i = read_string(buf, i, n)
        elif key == 69:  # "E"
            bit = _KEY_EVENT_TIME
            event_ms, i = read_int(buf, i, n)
        elif key == 84:  # "T"
            bit = _KEY_TIME
            time_ms, i = read_int(buf, i, n)
        elif key == 115:  # "s"
            bit = _KEY_SYMBOL
            sym_a, sym_b, i = read_string(buf, i, n)
        elif key == 117:  # "u"
            bit = _KEY_UPDATE_ID
            final, i = read_int(buf, i, n)
        elif key == 85:  # "U"
            bit = _KEY_FIRST_ID
            first, i = read_int(buf, i, n)
        elif key == _K_PU:
            bit = _KEY_PREV_ID
            prev, i = read_int(buf, i, n)
        elif key == 98 and kind == KIND_DEPTH:  # "b": bids come before asks, or the line is declined
            bit = _KEY_BIDS
            if seen & _KEY_ASKS:
                i = FAIL
                break
            nb_bids, i = read_levels(buf, i, n, out, fill, DEPTH_BID)
        elif key == 97 and kind == KIND_DEPTH:  # "a"
            bit = _KEY_ASKS
            nb_asks, i = read_levels(buf, i, n, out, fill + nb_bids, DEPTH_ASK)
        elif key == 116:  # "t"
            bit = _KEY_TRADE_ID
            trade_id, i = read_int(buf, i, n)
        elif key == 112:  # "p"
            bit = _KEY_PRICE
            px, i = read_decimal(buf, i, n, pow10)
        elif key == 113:  # "q"
            bit = _KEY_QTY
            qty, i = read_decimal(buf, i, n, pow10)
        elif key == 88:  # "X"
            bit = _KEY_EXECUTION
            xa, xb, i = read_string(buf, i, n)
            if i >= 0:
                market = xb - xa == _MARKET.shape[0] and _matches(buf, xa, xb, _MARKET)
        elif key == 109:  # "m"
            bit = _KEY_MAKER
            maker, i = read_bool(buf, i, n)
        elif key == 77:  # "M"
            bit = _KEY_BEST_MATCH
            _, i = read_bool(buf, i, n)
        elif key == 98:  # "b"
            bit = _KEY_BIDS
            bp, i = read_decimal(buf, i, n, pow10)
        elif key == 66:  # "B"
            bit = _KEY_BID_QTY
            bq, i = read_decimal(buf, i, n, pow10)
        elif key == 97:  # "a"
            bit = _KEY_ASKS
            ap, i = read_decimal(buf, i, n, pow10)
        elif key == 65:  # "A"
            bit = _KEY_ASK_QTY
            aq, i = read_decimal(buf, i, n, pow10)
        else:
            i = FAIL
            break
        if i == FULL:
            break
        if i < 0 or seen & bit or not allowed & bit:  # a failed read, a repeat, a key of another kind
            i = FAIL
            break
        seen |= bit
        i, more = next_item(buf, i, n, 125, False)
        if not more:
            break
    if i >= 0 and (seen & required != required or event_ms >= _MS_LIMIT or time_ms >= _MS_LIMIT):
        i = FAIL
    return _Data(
        end=i,
        event_ms=event_ms,
        time_ms=time_ms,
        symbol_start=sym_a,
        symbol_end=sym_b,
        trade_id=trade_id,
        first_id=first,
        update_id=final,
        prev_id=prev,
        price=px,
        qty=qty,
        bid_price=bp,
        bid_qty=bq,
        ask_price=ap,
        ask_qty=aq,
        buyer_is_maker=maker,
        market=market,
        bids=nb_bids,
        asks=nb_asks,
    )


@njit(cache=True, nogil=True)
def _frame(
    buf: Any,
    p: int,
    n: int,
    local_ts: int,
    out: Any,
    fill: int,
    settings: Any,
    carried: Any,
) -> tuple[int, int, int, bool, int, int, int, int]:
    # One payload at buf[p:], ending at the first '\n' or at n: settle it as on_message would, or decline.
    # settings: (symbol, pow10, include_bbo, futures, emit_linear); carried: (steady, last_id,
    # clock_offset, last_exch_ts), as scan_frame takes them.
    # -> (code, index of its end, kind, other symbol, fill, last_id, clock_offset, last_exch_ts); with
    # any code but DONE the values returned are the ones passed in, and rows past ``fill`` are garbage.
    symbol, pow10, include_bbo, futures, emit_linear = settings
    steady, last_id, clock_offset, last_exch_ts = carried
    declined = (DECLINED, p, KIND_OTHER, False, fill, last_id, clock_offset, last_exch_ts)
    cap = out.shape[0]
    if not _matches(buf, p, n, _STREAM_PREFIX):
        return declined
    name_a = p + _STREAM_PREFIX.shape[0]
    name_b = name_a
    while name_b < n and buf[name_b] != 34 and buf[name_b] != 10:
        name_b += 1
    if name_b >= n or buf[name_b] != 34:
        return declined
    kind = _stream_kind(buf, name_a, name_b)
    if kind == KIND_OTHER:
        return declined
    if kind == KIND_BBO and not include_bbo:
        # on_message counts an unwanted bookTicker by its stream name and never decodes it.
        return DONE, line_end(buf, name_b, n), kind, False, fill, last_id, clock_offset, last_exch_ts
    if symbol.shape[0] == 0 or not _matches(buf, name_b + 1, n, _DATA_KEY):
        return declined
    data = _data(buf, name_b + 1 + _DATA_KEY.shape[0], n, kind, out, fill, pow10)
    if data.end == FULL:
        return NEEDS_ROOM, p, kind, False, fill, last_id, clock_offset, last_exch_ts
    if data.end < 0:
        return declined
    stop = _end_of_frame(buf, data.end, n)
    if stop < 0:
        return declined
    if not same_bytes(buf, data.symbol_start, data.symbol_end, symbol):
        # Counted as a message of another symbol (a depth diff's never reaches the sync machine).
        return DONE, stop, kind, True, fill, last_id, clock_offset, last_exch_ts
    if kind == KIND_TRADE:
        if data.market:
            if fill >= cap:
                return NEEDS_ROOM, p, kind, False, fill, last_id, clock_offset, last_exch_ts
            exch_ts = data.time_ms * NS_PER_MS
            clock_offset = exch_ts - local_ts
            last_exch_ts = exch_ts
            ev = TRADE_SELL if data.buyer_is_maker else TRADE_BUY
            put_row(out[fill], ev, exch_ts, local_ts, data.price, data.qty, 0, data.trade_id)
            fill += 1
        return DONE, stop, kind, False, fill, last_id, clock_offset, last_exch_ts
    if kind == KIND_BBO:
        if data.time_ms:
            exch_ts = data.time_ms * NS_PER_MS
        else:
            if clock_offset > 0 and local_ts > _INT64_MAX - clock_offset:
                return declined
            exch_ts = local_ts + clock_offset
        if fill + 1 >= cap:
            return NEEDS_ROOM, p, kind, False, fill, last_id, clock_offset, last_exch_ts
        if data.time_ms:
            clock_offset = exch_ts - local_ts
            last_exch_ts = exch_ts
        put_row(out[fill], BBO_BID, exch_ts, local_ts, data.bid_price, data.bid_qty, data.update_id, 0)
        put_row(out[fill + 1], BBO_ASK, exch_ts, local_ts, data.ask_price, data.ask_qty, data.update_id, 0)
        return DONE, stop, kind, False, fill + 2, last_id, clock_offset, last_exch_ts
    # depth
    final = data.update_id
    if futures < 0 or not steady or final <= last_id:
        return declined  # no machine yet, buffering, bridging, or a duplicate
    if futures == 1:
        if data.prev_id != last_id:
            return declined  # gap
    elif data.first_id > last_id + 1:
        return declined  # gap
    # APPLY: what _on_depth_payload and _emit_diff do for it.
    clock_ms = data.time_ms if futures == 1 else data.event_ms
    exch_ts = (data.time_ms if emit_linear else data.event_ms) * NS_PER_MS
    levels = data.bids + data.asks
    finish_levels(out, fill, fill + levels, exch_ts, local_ts, final, pow10)
    return DONE, stop, kind, False, fill + levels, final, clock_ms * NS_PER_MS - local_ts, clock_ms * NS_PER_MS


@njit(cache=True, nogil=True)
def scan_lines(buf: Any, end: int, out: Any, state: Any, symbol: Any, pow10: Any) -> int:
    """Handle the lines of ``buf[state[S_POS]:end]`` until one must go the per-message way.

    ``buf`` is ``uint8``; lines end with ``\\n`` (the last one may end at ``end``); empty lines are
    skipped. ``out`` is an ``event_dtype`` array with ``state[S_FILL]`` rows in use: rows are
    written after them. ``symbol`` holds the normalizer's symbol as ASCII bytes (empty: not known
    yet, so every trade and depth line is declined). ``pow10`` is
    :data:`connectors.common.scan.POW10`.

    Returns :data:`DONE`, :data:`DECLINED` (the line at ``state[S_POS]``, ending at
    ``state[S_LINE_END]``, was not touched: run it through the normalizer, then call again from the
    line after it) or :data:`NEEDS_ROOM` (grow ``out``, call again). Whatever it returns, the state
    and ``out`` hold the effect of exactly the lines before ``state[S_POS]``.
    """
    n = end
    pos = state[S_POS]
    fill = state[S_FILL]
    include_bbo = state[S_INCLUDE_BBO] == 1
    futures = state[S_FUTURES]
    emit_linear = state[S_EMIT_LINEAR] == 1
    steady = state[S_STEADY] == 1
    last_id = state[S_LAST_UPDATE_ID]
    clock_offset = state[S_CLOCK_OFFSET]
    last_exch_ts = state[S_LAST_EXCH_TS]
    settings = (symbol, pow10, include_bbo, futures, emit_linear)
    code = DONE
    start = pos
    while pos < n:
        if buf[pos] == 10:  # an empty line: not a message, not counted
            pos += 1
            continue
        start = pos
        local_ts, p = read_local_ts(buf, pos, n)
        if p < 0:
            code = DECLINED
            break
        code, stop, kind, foreign, fill, last_id, clock_offset, last_exch_ts = _frame(
            buf, p, n, local_ts, out, fill, settings, (steady, last_id, clock_offset, last_exch_ts)
        )
        if code != DONE:
            break
        state[S_MESSAGES] += 1
        if kind == KIND_DEPTH:
            state[S_DEPTH] += 1
        elif kind == KIND_TRADE:
            state[S_TRADES] += 1
        else:
            state[S_BBO] += 1
        if foreign:
            state[S_OTHER_SYMBOLS] += 1
        elif kind == KIND_DEPTH:
            state[S_DEPTH_LOCAL_TS] = local_ts
            state[S_DEPTH_EXCH_TS] = last_exch_ts
            state[S_APPLIED] += 1
        state[S_LINES] += 1
        pos = stop + 1
    if code == DECLINED:
        state[S_LINE_END] = line_end(buf, start, n)
        state[S_LINES] += 1
    state[S_POS] = pos if code == DONE else start
    state[S_FILL] = fill
    state[S_LAST_UPDATE_ID] = last_id
    state[S_CLOCK_OFFSET] = clock_offset
    state[S_LAST_EXCH_TS] = last_exch_ts
    return code


@njit(cache=True, nogil=True)
def scan_frame(
    buf: Any,
    local_ts: int,
    out: Any,
    fill: int,
    settings: Any,
    carried: Any,
) -> tuple[int, int, bool, int, int, int, int]:
    """One live frame (the whole of ``buf``, no timestamp prefix) received at ``local_ts`` ns.

    The per-frame form of :func:`scan_lines` for the live path: the same frames are settled on the
    same terms, with the state passed as two tuples instead of a state array: ``settings`` is
    ``(symbol, pow10, include_bbo, futures, emit_linear)`` (``symbol`` the normalizer's as ASCII
    bytes, ``pow10`` :data:`connectors.common.scan.POW10`, ``futures`` -1 when there is no sync
    machine yet, else 0 or 1; ``emit_linear``: the market is USD-M) and ``carried`` is ``(steady,
    last_id, clock_offset, last_exch_ts)`` (``steady``: synced and not bridging; the rest the
    normalizer's, ns where a time). The caller guarantees ``0 <= local_ts <`` :data:`TS_LIMIT`. Rows
    go to ``out`` from row ``fill`` on.

    Returns ``(code, kind, other_symbol, fill, last_id, clock_offset, last_exch_ts)``: with
    :data:`DONE` the frame was a ``KIND_*`` message (``other_symbol``: of another symbol, counted
    only), ``fill`` the rows now in use and the three values the normalizer's new ones. With
    :data:`DECLINED` (anything the scan does not settle, a frame with bytes after its end included)
    or :data:`NEEDS_ROOM` nothing was done: run the frame through the per-message code.
    """
    n = buf.shape[0]
    code, stop, kind, foreign, new_fill, new_last_id, new_offset, new_exch_ts = _frame(
        buf, 0, n, local_ts, out, fill, settings, carried
    )
    if code == DONE and stop == n:
        return DONE, kind, foreign, new_fill, new_last_id, new_offset, new_exch_ts
    _, last_id, clock_offset, last_exch_ts = carried
    return (DECLINED if code == DONE else code), kind, False, fill, last_id, clock_offset, last_exch_ts
