"""Hyperliquid: raw payload + local receive time -> hftbacktest event rows. Pure: no I/O, no clock.

Handles the WebSocket pushes ``l2Book``, ``trades`` and ``activeAssetCtx`` of one perpetual, the info
endpoint's ``l2Book`` answer when the feed records one in the stream, and the venue's replies
(``subscriptionResponse``, ``pong``, ``error``), which are counted and otherwise ignored.

Every ``l2Book`` message is the whole book, up to 20 levels a side, with the venue's ``time`` (ms) and no
update id or checksum, so there is no gap to detect: each message replaces the book. The rows say so in the
vocabulary every other venue's book already speaks (``arb.events``):

- the first book (and the first after the book was lost: a disconnect, a stale feed): ``CLEAR_ALL``, the
  levels as ``SNAPSHOT_BID``/``SNAPSHOT_ASK``, then ``SYNC_RESTORED_EVENT``;
- every later book: only what changed against the previous one, as ``DEPTH_BID``/``DEPTH_ASK`` rows of
  absolute sizes, a level that left the 20 shown with size 0. Applied to the previous book these rows give
  exactly the new one; unlike a clear and a snapshot at every message, a level that did not change is not
  touched (a backtest's queue position on it is kept: hftbacktest's queue models read a clear as the queue
  emptying) and the book is never empty between two rows of one message;
- a newer book whose levels are all the same (a quiet market): one row restating the best bid (the best ask
  when there is no bid), which changes nothing. The venue said the book still stands at that ``time``, and
  whatever reads the rows (the live engine's staleness of a venue's book, ``[risk] stale_after_ms``) hears it:
  without a row, a quiet but live Hyperliquid book went stale.

Book rows carry the book's ``time`` (ms) as their ``ival`` and it is the book's update id
(:attr:`~connectors.common.normalizer.SyncStatus.update_id`). The venue's ``time`` also tells a stale or
disordered stream: a book whose ``time`` goes back is logged with its raw payload, counted
(:attr:`HyperliquidNormalizer.time_backwards`) and skipped; one that repeats the previous book at the same
``time`` is counted as a duplicate and is no news (the feed's staleness clock is not reset by it).

Trades: ``TRADE_BUY``/``TRADE_SELL`` by the taker's side (``B``, ``A``), ``ival`` the ``tid``, at the trade's
``time``. A subscription's first ``trades`` message repeats recent trades: those before the latest trade time
seen, or at it with a ``tid`` already seen, are dropped and counted (:attr:`HyperliquidNormalizer.trades_repeated`).

``activeAssetCtx``: ``MARK_PRICE_EVENT`` (``markPx``, the index its ``oraclePx``) and ``FUNDING_RATE_EVENT``
(``funding``, the current hour's rate) through :class:`~connectors.common.funding.PerpState`, the next
funding time the next whole hour (Hyperliquid pays funding every hour on the hour) and the interval one hour;
when the hour passes, ``FUNDING_SETTLED_EVENT`` comes first. The context has no time of its own: its rows
are stamped with the receive time moved by the latest exchange-minus-local offset (of a book or a trade).

Sizes are base units (the coin; a ``k`` coin's are thousands of tokens, as its prices are per thousand);
prices are quote per base, as sent.
"""

from __future__ import annotations

__all__ = ["HOUR_NS", "NORMALIZER", "HyperliquidNormalizer"]

import logging
from collections.abc import Sequence
from typing import Final, Unpack

import msgspec
import numpy as np

from arb.events import NS_PER_MS, NS_PER_S, TRADE_BUY, TRADE_SELL, SyncReason
from connectors.common.funding import parse_decimal
from connectors.common.normalizer import (
    BadPayloadLog,
    BookSync,
    NormalizerOptions,
    SyncState,
    VenueNormalizer,
    exchange_ns,
)
from connectors.common.rows import LevelArray
from connectors.common.scan import INT64_MAX
from connectors.hyperliquid.messages import (
    HyperliquidActiveAssetCtxMessage,
    HyperliquidBook,
    HyperliquidBookMessage,
    HyperliquidLevel,
    HyperliquidProbe,
    HyperliquidTradesMessage,
)
from connectors.hyperliquid.urls import symbol_of

log = logging.getLogger(__name__)

VENUE = "hyperliquid"
HOUR_NS: Final = 3600 * NS_PER_S
"""Hyperliquid's funding interval: every hour, on the hour."""
_PREFIX = b'{"channel":"'

_books = msgspec.json.Decoder(HyperliquidBookMessage)
_rest_book = msgspec.json.Decoder(HyperliquidBook)
_trades = msgspec.json.Decoder(HyperliquidTradesMessage)
_contexts = msgspec.json.Decoder(HyperliquidActiveAssetCtxMessage)
_probe = msgspec.json.Decoder(HyperliquidProbe)

_BOOK, _TRADES, _CONTEXT, _CONTROL = 0, 1, 2, 3
_CHANNELS = {
    "l2Book": _BOOK,
    "trades": _TRADES,
    "activeAssetCtx": _CONTEXT,
    "subscriptionResponse": _CONTROL,
    "pong": _CONTROL,
    "error": _CONTROL,
}
_NO_LEVELS = np.zeros((0, 2), np.float64)
Side = dict[float, float]


def _side(levels: Sequence[HyperliquidLevel]) -> Side:
    # One side's levels as {price: size}, every number checked before anything changes.
    out: Side = {}
    for level in levels:
        px, sz = float(level.px), float(level.sz)
        if not (px > 0 and sz >= 0 and px < float("inf") and sz < float("inf")):
            raise ValueError(f"a level that is no price and size: {level.px!r} {level.sz!r}")
        out[px] = sz
    return out


def _array(pairs: list[tuple[float, float]]) -> LevelArray:
    return np.array(pairs, np.float64).reshape(-1, 2) if pairs else _NO_LEVELS


def _changes(before: Side, after: Side, best_first: bool) -> LevelArray:
    # The levels of ``after`` that differ from ``before``, and those of ``before`` gone from it at size 0,
    # best first.
    pairs = [(px, sz) for px, sz in after.items() if before.get(px) != sz]
    pairs += [(px, 0.0) for px in before if px not in after]
    pairs.sort(reverse=best_first)
    return _array(pairs)


def _levels(side: Side, best_first: bool) -> LevelArray:
    return _array(sorted(side.items(), reverse=best_first))


class _Sync(BookSync):
    """Where the book stands; its ``last_update_id`` is the last book's ``time`` (ms)."""

    __slots__ = ()


class HyperliquidNormalizer(VenueNormalizer[int]):
    """Normalizer of one Hyperliquid perpetual (arb's ``symbol``, e.g. ``BTCUSDT`` for the ``BTC`` coin).

    ``market`` is ``"linear"`` (the only one; ``None`` takes it). ``symbol`` ``None`` takes the first coin
    seen. ``frame_scan`` is accepted for the registry's callers and unused: there is no compiled scan.
    ``echo`` (default on, the live feeds) logs the first few bad payloads, books whose time went back,
    unknown channels and every sync transition; off (converters), it only counts them. The other options
    are every venue's (:class:`~connectors.common.normalizer.VenueNormalizer`).
    """

    venue = VENUE
    names = "channel"
    prefix = _PREFIX
    logger = log

    def __init__(
        self, symbol: str | None = None, market: str | None = None, **options: Unpack[NormalizerOptions]
    ) -> None:
        super().__init__(symbol, market or "linear", **options)
        self.frame_scan = False
        self.sync = _Sync()
        self.perp.set_interval(HOUR_NS)
        self.time_backwards = 0
        """Books whose ``time`` was before the previous book's: skipped."""
        self.time_backwards_log = BadPayloadLog(log, echo=self.echo)
        """The first of those, kept with their raw text (and logged with ``echo``)."""
        self.trades_repeated = 0
        """Trades not after the last one seen (a subscription's first message repeats recent ones): dropped."""
        self.rest_books = 0
        """Info-endpoint books read from the stream (those newer than the stream's book applied)."""
        self._bids: Side | None = None
        self._asks: Side | None = None
        self._trade_ms = 0
        self._trade_ids: set[int] = set()
        """The latest trade time seen and the ``tid`` values seen at it (a ``tid`` is a hash, not a count)."""

    @property
    def needs_snapshot(self) -> bool:
        """True until a book arrived (each message is one: the feed has nothing to fetch to rebuild it)."""
        return not self.sync.synced

    def kind_of(self, name: str) -> int | None:
        """The kind of channel ``name``; None for a channel not read."""
        return _CHANNELS.get(name)

    def resume(self, last_update_id: int, market: str, symbol: str) -> None:
        """Continue a stream whose book was saved at ``time`` ``last_update_id`` (ms; an end-of-day snapshot):
        synced, the previous book unknown, so the next message replaces the book whole (a clear and its
        levels, no transition)."""
        self.market = market
        self.symbol = symbol.upper()
        self._resumed(self.sync, last_update_id)
        self._bids = self._asks = None

    def lose_sync(self, reason: SyncReason, local_ts: int) -> None:
        """Mark the book lost from outside (disconnect, stale); the next book is a snapshot again."""
        super().lose_sync(reason, local_ts)
        self._bids = self._asks = None

    def _book_sync(self) -> _Sync:
        return self.sync

    # -- routing ----------------------------------------------------------------------------------

    def _dispatch(self, kind: int, payload: bytes, local_ts: int) -> None:
        if kind == _BOOK:
            message = _books.decode(payload)
            self._on_book(message.data, payload, local_ts, rest=False)
        elif kind == _TRADES:
            self._on_trades(_trades.decode(payload), local_ts)
        elif kind == _CONTEXT:
            self._on_context(_contexts.decode(payload), local_ts)
        else:
            self._on_control(payload)

    def _on_other(self, payload: bytes, local_ts: int) -> None:
        # A push spelled another way (whitespace, key order), or an info answer the feed recorded.
        probe = _probe.decode(payload)
        if probe.channel is not None:
            kind = self._named(probe.channel)
            if kind is not None:
                self._dispatch(kind, payload, local_ts)
        elif probe.coin is not None:
            self._on_book(_rest_book.decode(payload), payload, local_ts, rest=True)
        else:
            raise ValueError("not a Hyperliquid message this normalizer knows")

    def _on_control(self, payload: bytes) -> None:
        """``{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book",
        "coin":"BTC",...}}}``, ``{"channel":"pong"}``, ``{"channel":"error","data":"..."}``: counted; an error
        is logged (``echo``)."""
        self.stats.control_messages += 1
        if self.echo and payload.startswith(b'{"channel":"error"'):
            log.warning("hyperliquid: the venue says: %s", payload[:300].decode("utf-8", "replace"))

    # -- the book ---------------------------------------------------------------------------------

    def _on_book(self, book: HyperliquidBook, payload: bytes, local_ts: int, *, rest: bool) -> None:
        """``l2Book``, e.g. ``{"channel":"l2Book","data":{"coin":"HYPE","time":1736682893796,"levels":[[{"px":
        "21.277","sz":"80.29","n":2},...],[{"px":"21.306","sz":"223.2","n":2},...]]}}``; ``rest``: the info
        endpoint's answer, the same ``data`` without the envelope."""
        if len(book.levels) != 2:
            raise ValueError(f"expected levels [bids, asks], got {len(book.levels)} lists")
        bids, asks = _side(book.levels[0]), _side(book.levels[1])
        exch_ts = exchange_ns(book.time_ms, "time")
        if not self._accept_symbol(symbol_of(book.coin)):
            self.stats.depth_messages += 1  # another coin's: counted as the base class expects, not applied
            return
        sync = self.sync
        last = sync.last_update_id
        if sync.synced and book.time_ms <= last:
            if rest:
                self.stats.dropped_covered += 1  # the stream's book is as new: nothing to learn
            elif book.time_ms == last and self._bids == bids and self._asks == asks:
                self.stats.duplicates += 1  # the venue resent its book: no news, not fresh
            elif book.time_ms < last:
                self.time_backwards += 1
                why = f"time {book.time_ms} before the previous book's {last}"
                self.time_backwards_log(f"{VENUE} {self.symbol}: a book whose time went back", payload, local_ts, why)
            else:
                self._apply(bids, asks, exch_ts, local_ts, book.time_ms)
            return
        if rest:
            self.rest_books += 1
        self._apply(bids, asks, exch_ts, local_ts, book.time_ms)

    def _apply(self, bids: Side, asks: Side, exch_ts: int, local_ts: int, time_ms: int) -> None:
        # The rows that make the previous book this one (the whole book when there is no previous one).
        self.stats.depth_messages += 1
        self._clock_offset = exch_ts - local_ts
        sync = self.sync
        was = sync.state
        if self._bids is None or self._asks is None or was is not SyncState.SYNCED:
            self.stats.snapshots += 1
            self._snapshot_rows(exch_ts, local_ts, _levels(bids, True), _levels(asks, False), time_ms)
        else:
            bid_rows, ask_rows = _changes(self._bids, bids, True), _changes(self._asks, asks, False)
            if not len(bid_rows) and not len(ask_rows):  # a newer book, the same levels: the book is alive
                bid_rows, ask_rows = _levels(bids, True)[:1], (_levels(asks, False)[:1] if not bids else _NO_LEVELS)
            self._depth_rows(exch_ts, local_ts, bid_rows, ask_rows, time_ms)
        self._bids, self._asks = bids, asks
        sync.state = SyncState.SYNCED
        sync.last_update_id = time_ms
        self.status.applied(time_ms, local_ts, exch_ts)
        self._synced(was, exch_ts, local_ts, time_ms)

    # -- trades and the perpetual's context ----------------------------------------------------------

    def _on_trades(self, msg: HyperliquidTradesMessage, local_ts: int) -> None:
        """``trades``: one row per trade not seen before, the taker's side, ``ival`` the ``tid``."""
        parsed = []
        for trade in msg.data:  # every value is checked before anything changes
            px, qty = float(trade.px), float(trade.sz)
            exch_ts = trade.time_ms * NS_PER_MS
            if not (0 < exch_ts < INT64_MAX and px > 0 and qty > 0) or trade.side not in ("A", "B"):
                raise ValueError(f"a trade that is not one: {trade}")
            parsed.append((trade, px, qty, exch_ts))
        self.stats.trade_messages += 1
        sink = self.sink
        for trade, px, qty, exch_ts in parsed:
            if not self._accept_symbol(symbol_of(trade.coin)):
                continue
            if trade.time_ms < self._trade_ms or (trade.time_ms == self._trade_ms and trade.tid in self._trade_ids):
                self.trades_repeated += 1
                continue
            if trade.time_ms > self._trade_ms:
                self._trade_ms, self._trade_ids = trade.time_ms, set()
            self._trade_ids.add(trade.tid)
            tid = trade.tid if 0 <= trade.tid < INT64_MAX else 0
            sink.one(TRADE_BUY if trade.side == "B" else TRADE_SELL, exch_ts, local_ts, px, qty, ival=tid)
            self._clock_offset = exch_ts - local_ts

    def _on_context(self, msg: HyperliquidActiveAssetCtxMessage, local_ts: int) -> None:
        """``activeAssetCtx``, e.g. ``{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":
        "0.0000125","openInterest":"688.11","oraclePx":"14.32","markPx":"14.3161","premium":"0.00031774",
        ...}}}``: the mark (index: the oracle price) and the hour's funding rate."""
        ctx = msg.data.ctx
        mark, oracle, rate = parse_decimal(ctx.mark_px), parse_decimal(ctx.oracle_px), parse_decimal(ctx.funding)
        self.stats.mark_messages += 1
        if not self._accept_symbol(symbol_of(msg.data.coin)):
            return
        exch_ts = local_ts + self._clock_offset
        next_funding = (exch_ts // HOUR_NS + 1) * HOUR_NS
        self.stats.funding_rollovers += self.perp.apply(
            self.sink, exch_ts, local_ts, mark_price=mark, index_price=oracle, funding_rate=rate,
            next_funding_ns=next_funding,
        )  # fmt: skip


NORMALIZER = HyperliquidNormalizer
"""The venue's normalizer (what :mod:`connectors.registry` finds)."""
