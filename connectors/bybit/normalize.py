"""Bybit v5: raw payload + local receive time -> hftbacktest event rows. Pure: no I/O, no clock.

Handles ``orderbook.{1,50,200,500,1000}.{SYMBOL}`` snapshot/delta, ``publicTrade.{SYMBOL}`` and
``tickers.{SYMBOL}`` for spot and linear, plus the venue's replies (subscribe acks, pongs), which are
counted and otherwise ignored.

Rows written (``arb.events`` names):

- a snapshot: ``CLEAR_ALL``, ``SNAPSHOT_BID``/``SNAPSHOT_ASK`` levels, and ``SYNC_RESTORED_EVENT``
  when the book was not synced before;
- a delta on a synced book: ``DEPTH_BID``/``DEPTH_ASK`` levels (``ival`` = the message's ``u``, as
  on snapshot rows);
- a gap in ``u``: ``SYNC_LOST_EVENT`` (``ival`` = SyncReason, ``order_id`` = last good ``u``) and
  ``CLEAR_ALL``; deltas are dropped until the next snapshot;
- each trade: ``TRADE_BUY``/``TRADE_SELL`` by the taker's side;
- with ``include_bbo``: ``BBO_BID``/``BBO_ASK`` from linear tickers and from ``orderbook.1`` when a
  deeper book is the one being kept;
- a linear ticker that speaks of the mark, index, funding rate or next funding time:
  ``MARK_PRICE_EVENT`` and/or ``FUNDING_RATE_EVENT`` with the full state merged from the snapshot
  and the deltas so far, after a ``FUNDING_SETTLED_EVENT`` when ``nextFundingTime`` moved forward
  (:mod:`connectors.common.funding`). Tickers always take the per-message path.

Exchange time: ``ts`` for the book and tickers (as hftbacktest's Bybit converter), ``T`` for trades.
"""

from __future__ import annotations

__all__ = ["NORMALIZER", "BybitNormalizer"]

import functools
import logging
from collections.abc import Callable
from typing import Any, Unpack

import msgspec
import numpy as np

from arb._jit import entry_point
from arb.events import BBO_ASK, BBO_BID, NS_PER_MS, NS_PER_S, TRADE_BUY, TRADE_SELL, empty_events
from connectors.bybit.messages import (
    BybitControl,
    BybitInstruments,
    BybitOrderbook,
    BybitProbe,
    BybitTickerMessage,
    BybitTradeMessage,
)
from connectors.bybit.sync import BybitBookSync, DeltaAction
from connectors.common.funding import parse_decimal, parse_ms
from connectors.common.lazy import lazy_module
from connectors.common.normalizer import NormalizerOptions, SyncState, VenueNormalizer, exchange_ns, warm_up_rows

fastscan = lazy_module("connectors.bybit.fastscan")
_scan = lazy_module("connectors.common.scan")
log = logging.getLogger(__name__)

VENUE = "bybit"
_TOPIC_PREFIX = b'{"topic":"'

_orderbook = msgspec.json.Decoder(BybitOrderbook, strict=False)
_trades = msgspec.json.Decoder(BybitTradeMessage, strict=False)
_tickers = msgspec.json.Decoder(BybitTickerMessage, strict=False)
_control = msgspec.json.Decoder(BybitControl)
_probe = msgspec.json.Decoder(BybitProbe)
_instruments = msgspec.json.Decoder(BybitInstruments, strict=False)

_BOOK, _TRADE, _TICKER = 0, 1, 2
_BUY_SIDE = "Buy"

_MIN_TRADE_BYTES = 36  # '{"T":0,"p":"0","v":"0","S":"","s":"X"}': nor more than n // 36 trades


def _topic_kind(topic: str) -> tuple[int, int] | None:
    # "orderbook.50.BTCUSDT" -> (_BOOK, 50); "publicTrade.BTCUSDT" -> (_TRADE, 0); None if unknown.
    head, _, rest = topic.partition(".")
    if head == "orderbook":
        depth, _, _ = rest.partition(".")
        return (_BOOK, int(depth)) if depth.isdigit() else None
    if head == "publicTrade":
        return (_TRADE, 0)
    if head == "tickers":
        return (_TICKER, 0)
    return None


@functools.cache
def _warm_up(frame_scan: bool) -> None:
    # Load the compiled code (from Numba's cache, or compile it) when the first normalizer is made,
    # not on the first frame it is handed: the level parser, the row expansion and (when it is
    # used) the frame scan.
    warm_up_rows()
    if not frame_scan:
        return
    frame, rows, symbol = np.frombuffer(b"{}", np.uint8), empty_events(1), _scan.symbol_bytes("X")
    _frame_entry(fastscan.scan_frame)(frame, 0, rows, 0, (symbol, _scan.POW10, False), 0, 0)
    _trades_entry(fastscan.scan_trades)(frame, 0, rows, 0, symbol, _scan.POW10)


# fastscan.scan_frame and scan_trades (looked up at each frame: a test may put a counter in their place) as
# their machine code for the types _scan_book and _scan_trades hand them (arb._jit.entry_point), called
# without Numba's dispatch, which types every argument at every frame. Only those two call them, with
# arguments they checked to be of these types.


@functools.cache
def _frame_entry(scan: Callable[..., Any]) -> Callable[..., Any]:
    frame, rows, symbol = np.frombuffer(b"{}", np.uint8), empty_events(1), _scan.symbol_bytes("X")
    return entry_point(scan, frame, 0, rows, 0, (symbol, _scan.POW10, False), 0, 0)


@functools.cache
def _trades_entry(scan: Callable[..., Any]) -> Callable[..., Any]:
    return entry_point(
        scan, np.frombuffer(b"{}", np.uint8), 0, empty_events(1), 0, _scan.symbol_bytes("X"), _scan.POW10
    )


class BybitNormalizer(VenueNormalizer[tuple[int, int]]):
    """Normalizer and book-sync state for one Bybit symbol.

    ``depth`` selects the order-book topic kept as the book (``None``: the deepest one seen first;
    ``orderbook.1`` only if nothing deeper arrives). ``market`` (``"spot"``/``"linear"``) is metadata:
    both markets share the format.

    ``frame_scan`` (default on) lets :meth:`on_message` settle the common order-book and trade
    frames in one compiled call (``connectors.bybit.fastscan``) before it falls back to decoding them
    with msgspec; rows, counters and transitions are the same either way (off: the reference path).
    The other options are every venue's (:class:`~connectors.common.normalizer.VenueNormalizer`).
    """

    venue = VENUE
    names = "topic"
    prefix = _TOPIC_PREFIX
    logger = log

    def __init__(
        self,
        symbol: str | None = None,
        market: str | None = None,
        *,
        depth: int | None = None,
        **options: Unpack[NormalizerOptions],
    ) -> None:
        super().__init__(symbol, market, **options)
        self.depth = depth
        if self.compiled:
            _warm_up(self.frame_scan)
        self.sync = BybitBookSync()

    @property
    def needs_snapshot(self) -> bool:
        """True when the feed must (re)subscribe to get a snapshot."""
        return not self.sync.synced

    def resume(self, last_update_id: int, market: str, symbol: str, depth: int | None = None) -> None:
        """Continue a stream whose book was saved at ``last_update_id`` (end-of-day snapshot)."""
        self.market = market
        self.symbol = symbol.upper()
        if depth is not None:
            self.depth = depth
        self._resumed(self.sync, last_update_id)

    def _scan_frame(self, kind: tuple[int, int], name: bytes, payload: bytes, local_ts: int) -> bool:
        # An order-book or a trade frame through its compiled scan; False when it declined (nothing changed).
        if kind[0] == _BOOK:
            return self._scan_book(payload, local_ts, kind[1])
        return kind[0] == _TRADE and self._scan_trades(payload, local_ts)

    def _scan_book(self, payload: bytes, local_ts: int, depth: int) -> bool:
        # One order-book frame through fastscan.scan_frame. False when it declined (nothing
        # changed): the per-message code then decodes the frame.
        kept = self.depth
        if kept is None:
            return False
        if depth == kept:
            if self.sync.state is not SyncState.SYNCED:
                return False
            mode = fastscan.MODE_DELTA
        elif depth == 1 and kept > 1:
            mode = fastscan.MODE_TOP
        else:
            return False
        scan_symbol = self._scan_symbol
        if scan_symbol[0] != self.symbol:
            scan_symbol = self._scan_symbol = (self.symbol, _scan.symbol_bytes(self.symbol))
        symbol = scan_symbol[1]
        last_id = self.sync.last_update_id
        if not (
            symbol.shape[0]
            and type(local_ts) is int
            and type(last_id) is int
            and 0 <= local_ts < _scan.TS_LIMIT
            and _scan.INT64_MIN <= last_id < _scan.INT64_MAX
        ):
            # An unknown symbol, or values outside the scan's int64 arithmetic (a float or NumPy
            # time, which the per-message code also takes, would make Numba compile another function).
            return False
        sink = self.sink
        out, fill = sink.reserve(len(payload) // _scan.MIN_LEVEL_BYTES + 4)
        code, fill, update_id, exch_ts = _frame_entry(fastscan.scan_frame)(
            np.frombuffer(payload, np.uint8),
            local_ts,
            out,
            fill,
            (symbol, _scan.POW10, self.include_bbo),
            mode,
            last_id,
        )
        if code != fastscan.DONE:
            return False
        sink.commit(fill)
        self.stats.depth_messages += 1
        self._clock_offset = exch_ts - local_ts
        if mode == fastscan.MODE_TOP:
            self.stats.bbo_messages += 1
            return True
        self.sync.last_update_id = update_id
        self.status.applied(update_id, local_ts, exch_ts)
        return True

    def _scan_trades(self, payload: bytes, local_ts: int) -> bool:
        # One publicTrade frame through fastscan.scan_trades; False when it declined (nothing changed).
        scan_symbol = self._scan_symbol
        if scan_symbol[0] != self.symbol:
            scan_symbol = self._scan_symbol = (self.symbol, _scan.symbol_bytes(self.symbol))
        symbol = scan_symbol[1]
        if not (symbol.shape[0] and type(local_ts) is int and 0 <= local_ts < _scan.TS_LIMIT):
            return False
        scan = _trades_entry(fastscan.scan_trades)
        return self._scan_trades_by(scan, _MIN_TRADE_BYTES, payload, local_ts, symbol, _scan.POW10)

    # -- routing ----------------------------------------------------------------------------

    def kind_of(self, name: str) -> tuple[int, int] | None:
        """(what, depth) of topic ``name`` (``orderbook.50.BTCUSDT``...); None for a topic not read."""
        return _topic_kind(name)

    def _book_sync(self) -> BybitBookSync:
        return self.sync

    def _dispatch(self, kind: tuple[int, int], payload: bytes, local_ts: int) -> None:
        what, depth = kind
        if what == _BOOK:
            self._on_orderbook(_orderbook.decode(payload), depth, local_ts)
        elif what == _TRADE:
            self._on_trades(_trades.decode(payload), local_ts)
        else:
            self._on_ticker(_tickers.decode(payload), local_ts)

    def _on_other(self, payload: bytes, local_ts: int) -> None:
        if payload.startswith(b'{"retCode"'):
            self._on_instruments(_instruments.decode(payload))
            return
        probe = _probe.decode(payload)
        if probe.topic is not None:
            kind = self._named(probe.topic)
            if kind is not None:
                self._dispatch(kind, payload, local_ts)
        elif probe.op is not None or probe.success is not None:
            self.stats.control_messages += 1
            reply = _control.decode(payload)
            if reply.success is False and self.echo:
                log.warning("bybit: request %r failed: %s", reply.op, reply.ret_msg)
        else:
            raise ValueError("not a Bybit v5 message this normalizer knows")

    def _on_instruments(self, answer: BybitInstruments) -> None:
        """``GET /v5/market/instruments-info?category=linear&symbol=<SYMBOL>``'s answer, fetched by the feed
        at each connection and recorded in the stream: the symbol's ``fundingInterval`` (minutes), e.g.
        ``{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT",
        "contractType":"LinearPerpetual","status":"Trading","fundingInterval":480,...}]},...}``. No
        rows: the next ticker's funding row carries it (the tickers stream does not)."""
        entries = answer.result.entries if answer.result is not None else []
        minutes = next((e.funding_interval_min for e in entries if e.symbol == self.symbol), 0)
        self.perp.set_interval(minutes * 60 * NS_PER_S)

    # -- order book -------------------------------------------------------------------------

    def _on_orderbook(self, msg: BybitOrderbook, depth: int, local_ts: int) -> None:
        self.stats.depth_messages += 1
        data = msg.data
        if not self._accept_symbol(data.symbol):
            return
        exch_ts = msg.ts_ms * NS_PER_MS
        self._clock_offset = exch_ts - local_ts
        if self.depth is None:
            self.depth = depth
        elif depth != self.depth:
            if depth == 1 and self.depth > 1:
                self._emit_bbo_from_book(msg, exch_ts, local_ts)
                return
            if depth > self.depth and self.depth == 1 and msg.type == "snapshot":
                self.depth = depth  # a deeper book arrived: keep that one
            else:
                self.stats.unknown_streams += 1
                return
        if msg.type == "snapshot":
            self._on_snapshot(msg, exch_ts, local_ts)
            return
        # Parse the levels before the sync machine sees ``u``: a malformed delta must not advance it.
        bids = self.parse_levels(data.bids)
        asks = self.parse_levels(data.asks)
        action = self.sync.on_delta(data.update_id)
        if action is DeltaAction.APPLY:
            self._depth_rows(exch_ts, local_ts, bids, asks, data.update_id)
            self.status.applied(data.update_id, local_ts, exch_ts)
        elif action is DeltaAction.DUPLICATE:
            self.stats.duplicates += 1
        elif action is DeltaAction.GAP:
            self._lost_by_gap(local_ts, self.status.update_id + 1, data.update_id)
        else:
            self.stats.dropped_unsynced += 1

    def _on_snapshot(self, msg: BybitOrderbook, exch_ts: int, local_ts: int) -> None:
        self.stats.snapshots += 1
        data = msg.data
        bids = self.parse_levels(data.bids)
        asks = self.parse_levels(data.asks)
        was = self.sync.state
        self.sync.on_snapshot(data.update_id)
        self._snapshot_rows(exch_ts, local_ts, bids, asks, data.update_id)
        self.status.applied(data.update_id, local_ts, exch_ts)
        self._synced(was, exch_ts, local_ts, data.update_id)

    def _emit_bbo_from_book(self, msg: BybitOrderbook, exch_ts: int, local_ts: int) -> None:
        self.stats.bbo_messages += 1
        if not self.include_bbo:
            return
        data = msg.data
        bids = self.parse_levels(data.bids)
        asks = self.parse_levels(data.asks)
        if len(bids):
            self.sink.one(BBO_BID, exch_ts, local_ts, bids[0, 0], bids[0, 1], order_id=data.update_id)
        if len(asks):
            self.sink.one(BBO_ASK, exch_ts, local_ts, asks[0, 0], asks[0, 1], order_id=data.update_id)

    # -- trades and tickers -----------------------------------------------------------------

    def _on_trades(self, msg: BybitTradeMessage, local_ts: int) -> None:
        self.stats.trade_messages += 1
        sink = self.sink
        for trade in msg.data:
            if not self._accept_symbol(trade.symbol):
                continue
            exch_ts = trade.trade_time_ms * NS_PER_MS
            ev = TRADE_BUY if trade.taker_side == _BUY_SIDE else TRADE_SELL
            sink.one(ev, exch_ts, local_ts, trade.price, trade.qty)
        if msg.data:
            self._clock_offset = msg.ts_ms * NS_PER_MS - local_ts

    def _on_ticker(self, msg: BybitTickerMessage, local_ts: int) -> None:
        data = msg.data
        # Every value is parsed before anything changes: a malformed message leaves no trace.
        mark_price = parse_decimal(data.mark_price)
        index_price = parse_decimal(data.index_price)
        funding_rate = parse_decimal(data.funding_rate)
        next_funding_ns = parse_ms(data.next_funding_time_ms)
        perp = any(v is not None for v in (mark_price, index_price, funding_rate, next_funding_ns))
        exch_ts = exchange_ns(msg.ts_ms, "ts") if perp else msg.ts_ms * NS_PER_MS
        self.stats.bbo_messages += 1
        if perp:
            self.stats.mark_messages += 1
        elif not self.include_bbo:
            return
        if not self._accept_symbol(data.symbol):
            return
        if perp:
            self.stats.funding_rollovers += self.perp.apply(
                self.sink, exch_ts, local_ts, mark_price=mark_price, index_price=index_price,
                funding_rate=funding_rate, next_funding_ns=next_funding_ns, replace=msg.type == "snapshot",
            )  # fmt: skip
        if not self.include_bbo:
            return
        if data.bid_price is not None and data.bid_size is not None:
            self.sink.one(BBO_BID, exch_ts, local_ts, data.bid_price, data.bid_size)
        if data.ask_price is not None and data.ask_size is not None:
            self.sink.one(BBO_ASK, exch_ts, local_ts, data.ask_price, data.ask_size)


NORMALIZER = BybitNormalizer
"""The venue's normalizer (what :mod:`connectors.registry` finds)."""
