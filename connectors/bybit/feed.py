"""Bybit v5 public market data (spot or linear): one WebSocket, book sync by (re)subscription.

The feed connects to ``endpoints.ws`` (``wss://stream.bybit.com/v5/public/linear``, say) and sends
``{"op":"subscribe","args":[...],"req_id":"sub-1"}`` with, per symbol:

- the book, ``<feed.depth_stream>.<SYMBOL>`` (``orderbook.50.BTCUSDT``);
- trades, ``publicTrade.<SYMBOL>``;
- on linear, ``tickers.<SYMBOL>``: the best bid/offer (its ``bid1Price``/``ask1Price``) and the
  mark price and funding (``markPrice``, ``indexPrice``, ``fundingRate``, ``nextFundingTime``), one
  subscription for both; on spot, ``orderbook.1.<SYMBOL>`` for the best bid/offer, since spot
  tickers carry no bid or ask (unless the book itself is ``orderbook.1``).

On linear each connection also asks ``GET /v5/market/instruments-info?category=linear&symbol=<SYMBOL>``
(the REST base of ``data_endpoints``) for the symbol's ``fundingInterval``, into its stream.

Spot accepts at most 10 args per request, so subscriptions go out in groups of 10. A rejected
subscription (``"success":false``) is fatal: the topic or symbol is wrong in the configuration.

Book sync: Bybit sends a ``snapshot`` on subscription, then ``delta`` messages whose ``u`` the
normalizer checks. On a gap the feed unsubscribes and subscribes the book topic again, on the same
connection, which brings a fresh snapshot; if none arrives within ``feed.stale_after`` it tries again,
and after ``resubscribe_retries`` tries it renews the connection.

Keepalive: Bybit expects ``{"op":"ping"}`` at least every 20 s; the feed sends
``{"op":"ping","req_id":"ping-<n>"}`` every ``feed.ping_interval``. The pong is a frame like any other
(recorded, counted as a control message), so a connection that stops answering trips the read timeout.
"""

from __future__ import annotations

__all__ = ["FEED", "BybitFeed"]

import asyncio
import itertools
import logging
from collections.abc import Coroutine, Sequence
from typing import Any, Unpack

import msgspec
from websockets.asyncio.client import ClientConnection

from arb.config import VenueConfig
from arb.errors import FeedError
from arb.events import NS_PER_S, SyncReason
from connectors.bybit.messages import BybitControl
from connectors.bybit.normalize import BybitNormalizer
from connectors.bybit.urls import INSTRUMENTS_PATH, topics
from connectors.common.feed import MarketDataFeed
from connectors.common.feed_parts import FeedNormalizer, FeedOptions, SymbolState
from connectors.common.normalizer import SyncState

log = logging.getLogger(__name__)

_TOPIC_PREFIX = b'{"topic":"'
_MAX_ARGS = 10
_control = msgspec.json.Decoder(BybitControl)


class _Resync:
    # A resubscription of one symbol's book in progress.
    __slots__ = ("attempts", "since_ns")

    def __init__(self) -> None:
        self.since_ns = 0
        self.attempts = 0


class BybitFeed(MarketDataFeed):
    """Bybit v5 public market data for ``symbols`` on ``config.market`` (``spot`` or ``linear``).

    ``resubscribe_retries``: resubscriptions after a gap that may go without a snapshot before the
    connection is renewed. Other options: see :class:`MarketDataFeed`.
    """

    def __init__(
        self,
        config: VenueConfig,
        symbols: Sequence[str],
        *,
        resubscribe_retries: int = 3,
        **options: Unpack[FeedOptions],
    ) -> None:
        super().__init__(config, symbols, **options)
        self.resubscribe_retries = resubscribe_retries
        depth_topic = self._feed.depth_stream
        self._book_topics = {s: f"{depth_topic}.{s}" for s in self.symbols}
        self._topics = [t for s in self.symbols for t in self.symbol_streams(config, s, include_bbo=self.include_bbo)]
        self._routes = {t.encode(): self._states[t.rsplit(".", 1)[-1]] for t in self._topics}
        self._resyncs: dict[str, _Resync] = {}
        self._wanted: dict[str, asyncio.Event] = {}
        self._request_ids = itertools.count(1)

    @property
    def subscriptions(self) -> list[str]:
        """Every topic the feed subscribes to, in order."""
        return list(self._topics)

    @classmethod
    def symbol_streams(cls, config: VenueConfig, symbol: str, *, include_bbo: bool = True) -> list[str]:
        """``orderbook.50.BTCUSDT``, ``publicTrade.BTCUSDT``, and the best bid/offer: ``tickers`` on linear
        (which carries the mark price and funding too, so it is subscribed whether or not BBO rows are
        wanted), ``orderbook.1`` on spot."""
        depth_topic = config.feed.depth_stream
        names = topics(symbol, depth_topic, tickers=config.market == "linear")
        if include_bbo and config.market == "spot" and depth_topic != "orderbook.1":
            names.append(f"orderbook.1.{symbol.upper()}")
        return names

    # -- the venue's parts ------------------------------------------------------------------------

    def _make_normalizer(self, symbol: str) -> FeedNormalizer:
        depth = int(self._feed.depth_stream.rsplit(".", 1)[-1])
        return BybitNormalizer(symbol, self.config.market, depth=depth, include_bbo=self.include_bbo)

    def _route(self, payload: bytes) -> SymbolState | None:
        """Route a topic message by its topic, e.g. ``{"topic":"orderbook.500.XRPUSDT","type":"delta",
        "ts":1733011200693,"data":{"s":"XRPUSDT","b":[["1.9531","6198"]],"a":[["1.9535","8415"]],
        "u":20254870,"seq":92403237830},"cts":1733011200689}`` goes to XRPUSDT; replies go to every symbol.
        """
        if not payload.startswith(_TOPIC_PREFIX):
            return None
        return self._routes.get(payload[10 : payload.find(b'"', 10)])

    async def _on_open(self, ws: ClientConnection) -> None:
        for start in range(0, len(self._topics), _MAX_ARGS):
            await self._send(ws, "subscribe", self._topics[start : start + _MAX_ARGS])

    def _wants_http(self) -> bool:
        return self.market == "linear"  # each connection asks instruments-info (the funding intervals)

    def _session_tasks(self, ws: ClientConnection) -> list[Coroutine[Any, Any, None]]:
        self._resyncs = {}
        self._wanted = {st.symbol: asyncio.Event() for st in self._all}
        tasks = [self._pinger(ws), *(self._resubscriber(ws, st) for st in self._all)]
        if self._http is not None:
            url = self.config.data_endpoints.rest.rstrip("/") + INSTRUMENTS_PATH
            tasks += [self._fetch_funding_interval(self._http, url, {"category": "linear", "symbol": st.symbol}, [st])
                      for st in self._all]  # fmt: skip
        return tasks

    def _on_unrouted(self, payload: bytes) -> None:
        """Check replies: a rejected (un)subscription is fatal.

        Linear ack: ``{"success":true,"ret_msg":"","conn_id":"cejreaspqfh3sjdnldmg","req_id":"sub-1",
        "op":"subscribe"}``; a rejection: ``{"success":false,"ret_msg":"error:handler not found,
        topic:orderbook.50.XYZ","conn_id":"...","req_id":"sub-1","op":"subscribe"}``; a pong:
        ``{"success":true,"ret_msg":"pong","conn_id":"...","req_id":"ping-3","op":"ping"}``.
        """
        try:
            reply = _control.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return  # the normalizer logged and counted it
        if reply.success is False and reply.op in ("subscribe", "unsubscribe"):
            raise FeedError(self.name, f"{reply.op} rejected: {reply.ret_msg}", retryable=False)

    def _after_frame(self, state: SymbolState, gap: bool) -> None:
        if gap and not self._overflowing:
            self._request_resync(state)
        elif state.symbol in self._resyncs and state.normalizer.status.state is SyncState.SYNCED:
            resync = self._resyncs.pop(state.symbol)
            log.info("bybit %s: book resynced after %d resubscription(s)", state.symbol, resync.attempts)

    def _request_resync(self, state: SymbolState) -> None:
        event = self._wanted.get(state.symbol)
        if event is not None:
            self._resyncs.setdefault(state.symbol, _Resync())
            event.set()

    async def _check_venue(self, now_ns: int) -> None:
        # A resubscription that brought no snapshot within stale_after: again, then a new connection.
        ws = self._ws
        for symbol, resync in list(self._resyncs.items()):
            if resync.since_ns == 0 or now_ns - resync.since_ns < self._feed.stale_after_ns:
                continue
            if resync.attempts >= self.resubscribe_retries and ws is not None:
                await self._force_reconnect_now(symbol, resync, ws)
                return
            self._wanted[symbol].set()

    async def _force_reconnect_now(self, symbol: str, resync: _Resync, ws: ClientConnection) -> None:
        why = f"{symbol}: no book snapshot after {resync.attempts} resubscription(s)"
        await self._force_reconnect(SyncReason.GAP, why, ws)

    # -- tasks beside the reader ------------------------------------------------------------------

    async def _resubscriber(self, ws: ClientConnection, state: SymbolState) -> None:
        event = self._wanted[state.symbol]
        topic = self._book_topics[state.symbol]
        while True:
            await event.wait()
            event.clear()
            resync = self._resyncs.get(state.symbol)
            if resync is None or state.normalizer.status.state is SyncState.SYNCED:
                continue
            resync.attempts += 1
            resync.since_ns = self._clock()
            self.stats.resubscribes += 1
            log.warning("bybit %s: resubscribing to %s for a fresh snapshot (%d)", state.symbol, topic, resync.attempts)
            await self._send(ws, "unsubscribe", [topic])
            await self._send(ws, "subscribe", [topic])

    async def _pinger(self, ws: ClientConnection) -> None:
        interval = self._feed.ping_interval_ns / NS_PER_S
        while True:
            await asyncio.sleep(interval)
            await ws.send(msgspec.json.encode({"op": "ping", "req_id": f"ping-{next(self._request_ids)}"}).decode())

    async def _send(self, ws: ClientConnection, op: str, args: list[str]) -> None:
        """Send ``{"op":"subscribe","args":["orderbook.50.BTCUSDT"],"req_id":"sub-1"}`` (or unsubscribe)."""
        request = {"op": op, "args": args, "req_id": f"{op[:5]}-{next(self._request_ids)}"}
        await ws.send(msgspec.json.encode(request).decode())


FEED = BybitFeed
"""The venue's market-data feed (what :mod:`connectors.registry` finds)."""
