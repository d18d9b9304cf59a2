"""Bybit recordings in bulk for the scan: one compiled pass over a buffer of recorded lines, Python only where
it must (``connectors.common.scan_pass``).

A conversion reads a Bybit recording line by line: :class:`connectors.bybit.normalize.BybitNormalizer` decodes
each in Python and hands its common frames to one compiled call each (``connectors.bybit.fastscan``).
:data:`SCAN_READ` walks the whole buffer in one compiled call (:func:`scan_lines`) instead, and settles there
the frames those calls settle, with the same functions on the same terms:

- an ``orderbook.{depth}.{SYMBOL}`` delta of the book being kept (``depth``), on a synced book
  (``fastscan.scan_frame``, ``MODE_DELTA``); an ``orderbook.1.{SYMBOL}`` frame while a deeper book is kept
  (``MODE_TOP``);
- a ``publicTrade.{SYMBOL}`` frame (``fastscan.scan_trades``).

Every other line stops the pass (a snapshot, a topic of another name, a frame the compiled scanners decline, a
line without the time prefix) and goes through the normalizer's own code, which decides, counts and logs as
always; the pass then goes on from the next line with the state the normalizer now has. So the rows, their
order and every counter are those of ``on_lines`` over the same lines (``tests/unit/test_scan_read.py``
compares them on the recordings); only the per-line Python is gone.
"""

from __future__ import annotations

__all__ = ["SCAN_READ", "STATE_SIZE", "S_BBO", "S_INCLUDE_BBO", "scan_lines"]

from typing import Any

import numpy as np
import numpy.typing as npt

from arb._jit import njit
from connectors.bybit import fastscan
from connectors.bybit.normalize import BybitNormalizer
from connectors.common import scan_pass as sp
from connectors.common.normalizer import BookSync, SyncState
from connectors.common.scan import MIN_LEVEL_BYTES, POW10, same_bytes, symbol_bytes

S_INCLUDE_BBO = sp.S_VENUE
"""In: 1 when the normalizer keeps BBO rows."""
S_BBO = sp.S_VENUE + 1
"""Out: added to ``stats.bbo_messages``."""
STATE_SIZE = sp.S_VENUE + 2

_TOPIC_PREFIX = np.frombuffer(b'{"topic":"', np.uint8)
_NO_NAME = np.zeros(0, np.uint8)
_MIN_TRADE_BYTES = 36
"""As the normalizer reserves for a trade frame: no frame of n bytes holds more than ``n // 36`` trades."""


@njit(cache=True, nogil=True, internal=True)
def _named(buf: Any, a: int, b: int, name: Any) -> bool:
    # Whether buf[a:b] is exactly the bytes of name (an empty name matches nothing).
    return name.shape[0] > 0 and same_bytes(buf, a, b, name)


@njit(cache=True, nogil=True, internal=True)
def _frame(buf: Any, line: Any, out: Any, fill: int, state: Any, names: Any, settings: Any) -> tuple[int, int]:
    # One line (next_frame's (start, stop, local_ts, p, b)) settled: (code, rows of out now in use).
    _, stop, local_ts, p, b = line
    if p < 0:
        return sp.DECLINED, fill
    book_name, top_name, trade_name = names
    a = p + _TOPIC_PREFIX.shape[0]
    frame = buf[p:stop]
    if _named(buf, a, b, trade_name):
        if not sp.has_room(out, fill, stop - p, _MIN_TRADE_BYTES):
            return sp.NEEDS_ROOM, fill
        code, new_fill, exch_ts = fastscan.scan_trades(frame, local_ts, out, fill, settings[0], settings[1])
        return sp.traded(state, code == fastscan.DONE, fill, new_fill, local_ts, exch_ts)
    top = _named(buf, a, b, top_name)
    if not top and not (state[sp.S_STEADY] == 1 and _named(buf, a, b, book_name)):
        return sp.DECLINED, fill
    if not sp.has_room(out, fill, stop - p, MIN_LEVEL_BYTES):
        return sp.NEEDS_ROOM, fill
    mode = fastscan.MODE_TOP if top else fastscan.MODE_DELTA
    code, new_fill, update_id, exch_ts = fastscan.scan_frame(frame, local_ts, out, fill, settings, mode,
                                                             state[sp.S_LAST_ID])  # fmt: skip
    if code != fastscan.DONE:
        return sp.DECLINED, fill
    if top:
        state[sp.S_CLOCK_OFFSET] = exch_ts - local_ts
        state[sp.S_DEPTH] += 1
        state[S_BBO] += 1
    else:
        sp.applied(state, update_id, local_ts, exch_ts)
    return sp.DONE, new_fill


@njit(cache=True, nogil=True)
def scan_lines(lines: Any, end: int, out: Any, state: Any, names: Any, symbol: Any, pow10: Any) -> int:
    """Bybit's pass over the lines of ``buf[state[S_POS]:end]`` (``connectors.common.scan_pass``: ``lines``,
    ``end``, ``out``, ``state`` and the code returned are as it says). ``names`` is ``(book, top, trades)``: the
    topics settled here as ASCII bytes (the kept book's ``orderbook.{depth}.{SYMBOL}``, ``orderbook.1.{SYMBOL}``
    while a deeper book is kept, ``publicTrade.{SYMBOL}``; an empty one: none of that kind). ``symbol`` the
    normalizer's symbol as ASCII bytes, ``pow10`` :data:`connectors.common.scan.POW10`."""
    settings = (symbol, pow10, state[S_INCLUDE_BBO] == 1)
    code, fill, pos = sp.DONE, state[sp.S_FILL], state[sp.S_POS]
    line = (pos, pos, 0, 0, 0)
    while code == sp.DONE and line[0] < end:
        line = sp.next_frame(lines, pos, end, _TOPIC_PREFIX, state)
        if line[0] < end:
            code, fill = _frame(lines[0], line, out, fill, state, names, settings)
        pos = line[1] + 1
    return sp.end_pass(state, code, line[0], line[1], end, fill)


def _names(normalizer: BybitNormalizer) -> tuple[npt.NDArray[np.uint8], ...]:
    # The topics the pass may settle for the normalizer as it stands (scan_lines's ``names``).
    symbol = normalizer.symbol
    if not symbol_bytes(symbol).shape[0]:
        return (_NO_NAME, _NO_NAME, _NO_NAME)
    depth = normalizer.depth
    book = _NO_NAME if depth is None else sp.name_bytes(f"orderbook.{depth}.{symbol}")
    top = sp.name_bytes(f"orderbook.1.{symbol}") if depth is not None and depth > 1 else _NO_NAME
    return (book, top, sp.name_bytes(f"publicTrade.{symbol}"))


def _load(normalizer: BybitNormalizer, state: npt.NDArray[np.int64]) -> BookSync:
    sync = normalizer.sync
    state[sp.S_STEADY] = sync.state is SyncState.SYNCED
    state[S_INCLUDE_BBO] = normalizer.include_bbo
    return sync


def _args(normalizer: BybitNormalizer) -> tuple[Any, ...]:
    return (_names(normalizer), symbol_bytes(normalizer.symbol), POW10)


def _store(normalizer: BybitNormalizer, state: npt.NDArray[np.int64]) -> None:
    normalizer.stats.bbo_messages += int(state[S_BBO])


SCAN_READ = sp.VenuePass(scan_lines, STATE_SIZE, _load, _args, _store, warm=((_NO_NAME,) * 3, symbol_bytes("X"), POW10))
"""The scan's read of a buffer of Bybit's recorded lines (``connectors.common.scan_pass.ScanRead``)."""
