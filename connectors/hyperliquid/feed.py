"""Hyperliquid public market data: one WebSocket for the perpetuals, each book message a whole book.

Before subscribing, each connection asks ``POST /info {"type":"meta"}`` (the REST base of ``data_endpoints``)
and checks that every coin it is about to subscribe is a perpetual Hyperliquid lists: the venue answers a
subscription for a coin it does not know (a wrong case, ``kpepe``; a delisted coin) by closing the socket,
with every other subscription on it, and says nothing why. A coin ``meta`` does not list stops the feed
(:class:`~arb.errors.FeedError`, not retried) naming it; a ``meta`` that cannot be had is retried as a failed
connection.

Then, per coin, ``{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}``, and the same for
``trades`` and ``activeAssetCtx``. The venue acknowledges each with ``{"channel":"subscriptionResponse",...}``.
Each connection also asks ``POST /info {"type":"l2Book","coin":"BTC"}`` for each coin, into its stream, so a
book is there before the socket's first one (the socket's book may come seconds apart); it is read like a
socket's book, and dropped when the socket's is as new.

The book needs no resync: every ``l2Book`` message is the whole book (:mod:`connectors.hyperliquid.normalize`).
A coin whose books stop (or only repeat at the same ``time``) goes stale after ``[feed] stale_after_ms`` and
the connection is renewed after ``reconnect_after_stale_ms``, by the rules every feed keeps
(:meth:`~connectors.common.feed.MarketDataFeed.check_health`).

Keepalive: Hyperliquid drops a connection that sent nothing for 60 s and sends no pings of its own. The feed
sends ``{"method":"ping"}`` every ``[feed] ping_interval_ms`` (30 s by default); the venue answers
``{"channel":"pong"}``, a frame like any other (recorded, counted as a control message), so a connection
that stops answering trips the read timeout.
"""

from __future__ import annotations

__all__ = ["FEED", "HyperliquidFeed"]

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any, Unpack

import aiohttp
import msgspec
from websockets.asyncio.client import ClientConnection

from arb.config import VenueConfig
from arb.errors import FeedError
from arb.events import NS_PER_S
from connectors.common.feed import MarketDataFeed
from connectors.common.feed_parts import FeedNormalizer, FeedOptions, SymbolState
from connectors.hyperliquid.instruments import listed_coins
from connectors.hyperliquid.normalize import HyperliquidNormalizer
from connectors.hyperliquid.urls import CHANNELS, INFO_PATH, coin_of, subscription

log = logging.getLogger(__name__)

_PREFIX = b'{"channel":"'
_COIN = b'"coin":"'
_COIN_WITHIN = 120  # bytes: a push names its coin this early ({"channel":"activeAssetCtx","data":{"coin":"...)
_PING = msgspec.json.encode({"method": "ping"}).decode()


class HyperliquidFeed(MarketDataFeed):
    """Hyperliquid's perpetuals' market data for ``symbols`` (arb's: ``BTCUSDT`` is the ``BTC`` perpetual).
    Options: see :class:`~connectors.common.feed.MarketDataFeed`."""

    def __init__(self, config: VenueConfig, symbols: Sequence[str], **options: Unpack[FeedOptions]) -> None:
        super().__init__(config, symbols, **options)
        self.coins = {s: coin_of(s) for s in self.symbols}
        """Each symbol's coin, as the feed subscribes it."""
        self._routes = {coin.encode(): self._states[s] for s, coin in self.coins.items()}
        self.meta_checks = 0
        """``meta`` answers read (one per connection)."""
        self.rest_books = 0
        """Info-endpoint books fetched into the streams."""

    @property
    def subscriptions(self) -> list[dict[str, object]]:
        """Every subscribe message the feed sends on a connection, in order."""
        return [subscription(kind, coin) for coin in self.coins.values() for kind in CHANNELS]

    @classmethod
    def symbol_streams(cls, config: VenueConfig, symbol: str, *, include_bbo: bool = True) -> list[str]:
        """``l2Book:BTC``, ``trades:BTC``, ``activeAssetCtx:BTC``: three subscriptions a coin."""
        coin = coin_of(symbol)
        return [f"{kind}:{coin}" for kind in CHANNELS]

    # -- the venue's parts ------------------------------------------------------------------------

    def _make_normalizer(self, symbol: str) -> FeedNormalizer:
        return HyperliquidNormalizer(symbol, "linear", include_bbo=self.include_bbo)

    def _route(self, payload: bytes) -> SymbolState | None:
        """A push goes to its coin's symbol, e.g. ``{"channel":"l2Book","data":{"coin":"BTC","time":
        1736682893796,"levels":[...]}}``; ``pong`` and the errors go to every symbol."""
        if not payload.startswith(_PREFIX):
            return None
        at = payload.find(_COIN, 0, _COIN_WITHIN)
        if at < 0:
            return None
        start = at + len(_COIN)
        return self._routes.get(payload[start : payload.find(b'"', start)])

    def _wants_http(self) -> bool:
        return True  # meta before subscribing, and each coin's book

    async def _on_open(self, ws: ClientConnection) -> None:
        await self._check_coins()
        for message in self.subscriptions:
            await ws.send(msgspec.json.encode(message).decode())

    def _session_tasks(self, ws: ClientConnection) -> list[Coroutine[Any, Any, None]]:
        return [self._pinger(ws), *(self._fetch_book(st) for st in self._all)]

    def _on_unrouted(self, payload: bytes) -> None:
        """An error about a subscription is fatal: ``{"channel":"error","data":"Invalid subscription ..."}``
        (the configuration names something the venue does not serve)."""
        if payload.startswith(b'{"channel":"error"') and b"ubscri" in payload:
            raise FeedError(self.name, f"subscription refused: {payload[:300].decode('utf-8', 'replace')}",
                            retryable=False)  # fmt: skip

    # -- the info endpoint ------------------------------------------------------------------------

    async def _post(self, body: dict[str, object]) -> tuple[int, bytes]:
        # One POST /info; aiohttp's errors and timeouts propagate.
        assert self._http is not None
        url = self.config.data_endpoints.rest.rstrip("/") + INFO_PATH
        async with self._http.post(url, json=body) as response:
            return response.status, await response.read()

    async def _check_coins(self) -> None:
        """``meta``'s universe must list every coin (see the module docstring)."""
        try:
            status, body = await self._post({"type": "meta"})
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FeedError(self.name, f"meta: {type(exc).__name__}: {exc}", retryable=True) from exc
        if status != 200:
            text = body[:200].decode("utf-8", "replace")
            raise FeedError(self.name, f"meta: HTTP {status}: {text}", retryable=status == 429 or status >= 500)
        try:
            listed = listed_coins(body)
        except ValueError as exc:
            raise FeedError(self.name, str(exc), retryable=True) from None
        self.meta_checks += 1
        missing = [f"{s} ({coin})" for s, coin in self.coins.items() if coin not in listed]
        if missing:
            raise FeedError(
                self.name,
                f"{', '.join(missing)}: not a perpetual Hyperliquid lists (its meta); subscribing would close the "
                "connection",
                retryable=False,
            )

    async def _fetch_book(self, state: SymbolState) -> None:
        """``POST /info {"type":"l2Book","coin":"BTC"}`` into ``state``'s stream, e.g. ``{"coin":"BTC","time":
        1736682893796,"levels":[[...],[...]]}``; a failure is logged and the socket's book awaited."""
        coin = self.coins[state.symbol]
        try:
            status, body = await self._post({"type": "l2Book", "coin": coin})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("%s %s: the info endpoint's book failed (%s: %s)", self.name, coin, type(exc).__name__, exc)
            return
        if status != 200:
            log.warning("%s %s: the info endpoint's book: HTTP %d", self.name, coin, status)
            return
        if body.strip() == b"null":  # no book for the coin yet: the socket's will come
            return
        self.rest_books += 1
        self._process(state, body, self._clock(), time.perf_counter_ns())

    async def _pinger(self, ws: ClientConnection) -> None:
        interval = self._feed.ping_interval_ns / NS_PER_S
        while True:
            await asyncio.sleep(interval)
            await ws.send(_PING)


FEED = HyperliquidFeed
"""The venue's market-data feed (what :mod:`connectors.registry` finds)."""
