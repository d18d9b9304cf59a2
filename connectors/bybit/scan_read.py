"""Bybit recordings in bulk for the scan: one compiled pass over a buffer of recorded lines, Python only where
it must.

A conversion reads a Bybit recording line by line: :class:`connectors.bybit.normalize.BybitNormalizer` decodes
each in Python and hands its common frames to one compiled call each (``connectors.bybit.fastscan``).
:func:`read_chunk` walks the whole buffer in one compiled call (:func:`scan_lines`) instead, and settles there
the frames those calls settle, with the same functions on the same terms:

- an ``orderbook.{depth}.{SYMBOL}`` delta of the book being kept (``depth``), on a synced book
  (``fastscan.scan_frame``, ``MODE_DELTA``); an ``orderbook.1.{SYMBOL}`` frame while a deeper book is kept
  (``MODE_TOP``);
- a ``publicTrade.{SYMBOL}`` frame (``fastscan.scan_trades``).

Every other line stops the pass (:data:`DECLINED`: a snapshot, a topic of another name, a frame the compiled
scanners decline, a line without the time prefix) and goes through the normalizer's own code, which decides,
counts and logs as always; the pass then goes on from the next line with the state the normalizer now has. So
the rows, their order and every counter are those of ``on_lines`` over the same lines
(``tests/unit/test_scan_read.py`` compares them on the recordings); only the per-line Python is gone.

State crosses the boundary in one int64 array (indices ``S_*``), filled from the normalizer before each call
and copied back after it, as ``connectors.binance.fastscan.scan_lines`` does for Binance.
"""

from __future__ import annotations

__all__ = ["DECLINED", "DONE", "NEEDS_ROOM", "read_chunk", "scan_lines"]

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from arb._jit import njit
from arb.events import empty_events
from connectors.bybit import fastscan
from connectors.bybit.normalize import BybitNormalizer
from connectors.common.normalizer import SyncState
from connectors.common.scan import INT64_MAX, INT64_MIN, MIN_LEVEL_BYTES, POW10, read_local_ts, symbol_bytes

DONE = 0
"""Every line up to ``end`` was handled."""
DECLINED = 1
"""The line ``buf[S_POS:S_LINE_END]`` needs the normalizer's own code; nothing of it was applied."""
NEEDS_ROOM = 2
"""``out`` has too little room for the line at ``S_POS``: grow it and call again."""

# The state array. In: read by the pass. In/out: read and updated. Out: counters, added to.
S_POS = 0
"""In/out: where the next line starts."""
S_LINE_END = 1
"""Out, with DECLINED: the index of the declined line's ``\\n`` (or ``end``)."""
S_FILL = 2
"""In/out: rows of ``out`` in use."""
S_SYNCED = 3
"""In: 1 when the book is synced (only then may a delta be applied here)."""
S_INCLUDE_BBO = 4
"""In: 1 when the normalizer keeps BBO rows."""
S_LAST_UPDATE_ID = 5
"""In/out: the sync machine's last ``u``."""
S_CLOCK_OFFSET = 6
"""In/out: the normalizer's ``exchange - local`` offset (ns)."""
S_APPLIED = 7
"""Out: deltas applied here (the last one's ``u`` is S_LAST_UPDATE_ID, its times the next two)."""
S_APPLIED_LOCAL_TS = 8
"""Out: local time of the last delta applied here."""
S_APPLIED_EXCH_TS = 9
"""Out: exchange time of the last delta applied here."""
S_MESSAGES = 10
"""Out: lines handled here, added to ``stats.messages``."""
S_DEPTH = 11
"""Out: added to ``stats.depth_messages``."""
S_TRADES = 12
"""Out: added to ``stats.trade_messages``."""
S_BBO = 13
"""Out: added to ``stats.bbo_messages``."""
S_LINES = 14
"""Out: non-empty lines passed (handled or declined), for the reader's report."""
STATE_SIZE = 15

_TOPIC_PREFIX = np.frombuffer(b'{"topic":"', np.uint8)
_NO_NAME = np.zeros(0, np.uint8)
_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)
"""Eight '\\n's, eight ones, eight high bits: a word holds a '\\n' when ``(x - ONES) & ~x & HIGHS`` is not 0, x the
word with eight '\\n's xor'ed away."""
_ROOM = 1 << 16
"""Rows reserved in the sink before each pass (it asks for more when a line needs them)."""
_MIN_TRADE_BYTES = 36
"""As the normalizer reserves for a trade frame: no frame of n bytes holds more than ``n // 36`` trades."""


@njit(cache=True, nogil=True)
def _named(buf: Any, a: int, b: int, name: Any) -> bool:
    # Whether buf[a:b] is exactly the bytes of name (an empty name matches nothing).
    m = name.shape[0]
    if m == 0 or b - a != m:
        return False
    for k in range(m):  # noqa: SIM110 - Numba compiles loops, not generator expressions
        if buf[a + k] != name[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _line_end(buf: Any, words: Any, i: int, n: int) -> int:
    # connectors.common.scan.line_end (the first '\n' at or after i, or n), eight bytes at a time: words holds
    # buf's whole eight-byte words (words[w] is buf[8w:8w + 8]). A delta is kilobytes long: its end was the
    # pass's dearest search.
    while i < n and i & 7:
        if buf[i] == 10:
            return i
        i += 1
    w = i >> 3
    last = min(n >> 3, words.shape[0])
    while w < last:
        x = words[w] ^ _NEWLINES
        if (x - _ONES) & ~x & _HIGHS:  # a zero byte: a '\n' in this word
            break
        w += 1
    i = max(i, w << 3)
    while i < n and buf[i] != 10:
        i += 1
    return i


@njit(cache=True, nogil=True)
def scan_lines(lines: Any, end: int, out: Any, state: Any, names: Any, symbol: Any, pow10: Any) -> int:
    """Handle the lines of ``buf[state[S_POS]:end]`` (``lines`` is ``(buf, words)``: the ``uint8`` buffer,
    ``\\n``-separated, empty lines skipped, and its whole eight-byte words as ``uint64``) until one must go
    through the normalizer's own code.

    ``out`` is an ``event_dtype`` array with ``state[S_FILL]`` rows in use; rows are written after them.
    ``names`` is ``(book, top, trades)``: the topics settled here as ASCII bytes (the kept book's
    ``orderbook.{depth}.{SYMBOL}``, ``orderbook.1.{SYMBOL}`` while a deeper book is kept, ``publicTrade.{SYMBOL}``;
    an empty one: none of that kind). ``symbol`` the normalizer's symbol as ASCII bytes, ``pow10``
    :data:`connectors.common.scan.POW10`.

    Returns :data:`DONE`, :data:`DECLINED` (the line at ``state[S_POS]``, ending at ``state[S_LINE_END]``, was
    not touched: run it through the normalizer, then call again from the line after it) or :data:`NEEDS_ROOM`
    (grow ``out``, call again). Whatever it returns, the state and ``out`` hold the effect of exactly the lines
    before ``state[S_POS]``.
    """
    buf, words = lines
    book_name, top_name, trade_name = names
    synced = state[S_SYNCED] == 1
    settings = (symbol, pow10, state[S_INCLUDE_BBO] == 1)
    last_id = state[S_LAST_UPDATE_ID]
    clock_offset = state[S_CLOCK_OFFSET]
    fill = state[S_FILL]
    cap = out.shape[0]
    prefix = _TOPIC_PREFIX.shape[0]
    pos = state[S_POS]
    start = pos
    code = DONE
    while pos < end:
        if buf[pos] == 10:  # an empty line: not a message, not counted
            pos += 1
            continue
        start = pos
        stop = _line_end(buf, words, pos, end)
        local_ts, p = read_local_ts(buf, pos, stop)
        code = DECLINED
        if p < 0 or stop - p < prefix:
            break
        for k in range(prefix):
            if buf[p + k] != _TOPIC_PREFIX[k]:
                p = -1
                break
        if p < 0:
            break
        a = p + prefix
        b = a
        while b < stop and buf[b] != 34:  # the topic's closing '"'
            b += 1
        if b >= stop:
            break
        frame = buf[p:stop]
        if _named(buf, a, b, trade_name):
            if fill + (stop - p) // _MIN_TRADE_BYTES + 4 > cap:
                code = NEEDS_ROOM
                break
            code, new_fill, exch_ts = fastscan.scan_trades(frame, local_ts, out, fill, symbol, pow10)
            if code != fastscan.DONE:
                code = DECLINED
                break
            if new_fill > fill:
                clock_offset = exch_ts - local_ts
            fill = new_fill
            state[S_TRADES] += 1
        else:
            top = _named(buf, a, b, top_name)
            if not top and not (synced and _named(buf, a, b, book_name)):
                break
            if fill + (stop - p) // MIN_LEVEL_BYTES + 4 > cap:
                code = NEEDS_ROOM
                break
            mode = fastscan.MODE_TOP if top else fastscan.MODE_DELTA
            code, new_fill, update_id, exch_ts = fastscan.scan_frame(
                frame, local_ts, out, fill, settings, mode, last_id
            )
            if code != fastscan.DONE:
                code = DECLINED
                break
            fill = new_fill
            clock_offset = exch_ts - local_ts
            state[S_DEPTH] += 1
            if top:
                state[S_BBO] += 1
            else:
                last_id = update_id
                state[S_APPLIED] += 1
                state[S_APPLIED_LOCAL_TS] = local_ts
                state[S_APPLIED_EXCH_TS] = exch_ts
        code = DONE
        state[S_MESSAGES] += 1
        state[S_LINES] += 1
        pos = stop + 1
    if code == DECLINED:
        state[S_LINE_END] = _line_end(buf, words, start, end)
        state[S_LINES] += 1
    state[S_POS] = pos if code == DONE else start
    state[S_FILL] = fill
    state[S_LAST_UPDATE_ID] = last_id
    state[S_CLOCK_OFFSET] = clock_offset
    return code


def _names(normalizer: BybitNormalizer) -> tuple[npt.NDArray[np.uint8], ...]:
    # The topics the pass may settle for the normalizer as it stands (scan_lines's ``names``).
    symbol = normalizer.symbol
    if not symbol_bytes(symbol).shape[0]:
        return (_NO_NAME, _NO_NAME, _NO_NAME)
    depth = normalizer.depth
    book = _NO_NAME if depth is None else np.frombuffer(f"orderbook.{depth}.{symbol}".encode(), np.uint8)
    top = np.frombuffer(f"orderbook.1.{symbol}".encode(), np.uint8) if depth is not None and depth > 1 else _NO_NAME
    return (book, top, np.frombuffer(f"publicTrade.{symbol}".encode(), np.uint8))


def _load(normalizer: BybitNormalizer, state: npt.NDArray[np.int64]) -> bool:
    # Fill the state from the normalizer, counters zeroed; False when a value does not fit the pass's int64.
    sync = normalizer.sync
    offset = normalizer._clock_offset  # the venue's own normalizer, read as its frame scan reads it
    last_id = sync.last_update_id
    if not (type(last_id) is int and type(offset) is int and INT64_MIN <= last_id < INT64_MAX
            and INT64_MIN <= offset <= INT64_MAX):  # fmt: skip
        return False
    state[:] = 0
    state[S_SYNCED] = sync.state is SyncState.SYNCED
    state[S_INCLUDE_BBO] = normalizer.include_bbo
    state[S_LAST_UPDATE_ID] = last_id
    state[S_CLOCK_OFFSET] = offset
    return True


def _store(normalizer: BybitNormalizer, state: npt.NDArray[np.int64]) -> int:
    # Copy the pass's effect back into the normalizer; returns the lines it passed.
    applied, local_ts, exch_ts, messages, depth, trades, bbo, lines = state[S_APPLIED:STATE_SIZE].tolist()
    if applied:
        normalizer.sync.last_update_id = int(state[S_LAST_UPDATE_ID])
        normalizer.status.applied(normalizer.sync.last_update_id, local_ts, exch_ts)
    normalizer._clock_offset = int(state[S_CLOCK_OFFSET])  # as its frame scans set it
    stats = normalizer.stats
    stats.messages += messages
    stats.depth_messages += depth
    stats.trade_messages += trades
    stats.bbo_messages += bbo
    return int(lines)


def read_chunk(normalizer: BybitNormalizer, chunk: bytes | memoryview, on_bad_line: Callable[[bytes], None]) -> int:
    """What ``normalizer.on_lines`` does with the non-empty lines of ``chunk`` (whole ``\\n``-separated recorded
    lines), the common frames settled in one compiled pass (module docstring): the same rows in its sink, in the
    same order, the same counters and transitions. Lines without the time prefix go to ``on_bad_line``. Returns
    the number of non-empty lines (good and bad)."""
    buf = np.frombuffer(chunk, np.uint8)
    end = buf.shape[0]
    lines_of = (buf, np.frombuffer(chunk, np.uint64, count=end // 8))
    state = np.zeros(STATE_SIZE, np.int64)
    sink = normalizer.sink
    room = _ROOM
    lines = 0
    pos = 0
    while True:
        if not _load(normalizer, state):  # the rest line by line
            rest = [line for line in bytes(buf[pos:]).split(b"\n") if line]
            normalizer.on_lines(rest, on_bad_line)
            return lines + len(rest)
        state[S_POS] = pos
        out, fill = sink.reserve(room)
        state[S_FILL] = fill
        code = scan_lines(lines_of, end, out, state, _names(normalizer), symbol_bytes(normalizer.symbol), POW10)
        sink.commit(int(state[S_FILL]))
        lines += _store(normalizer, state)
        pos = int(state[S_POS])
        if code == DONE:
            return lines
        if code == NEEDS_ROOM:
            room = 2 * out.shape[0]
            continue
        stop = int(state[S_LINE_END])
        normalizer.on_lines((bytes(buf[pos:stop]),), on_bad_line)
        pos = stop + 1
        room = _ROOM


def warm_up() -> None:
    """Load the compiled pass (from Numba's cache, or compile it) for the argument types :func:`read_chunk`
    gives it."""
    state = np.zeros(STATE_SIZE, np.int64)
    chunk = b""
    lines = (np.frombuffer(chunk, np.uint8), np.frombuffer(chunk, np.uint64, count=0))
    scan_lines(lines, 0, empty_events(1), state, (_NO_NAME,) * 3, _NO_NAME, POW10)
