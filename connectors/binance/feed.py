"""Binance spot and USD-M market data: one combined-stream WebSocket, book sync by REST snapshot.

The connection is ``<data_endpoints.ws>?streams=<symbol>@<feed.depth_stream>/<symbol>@trade/<symbol>@bookTicker``
for every symbol, plus ``<symbol>@markPrice@1s`` (mark price and funding) on USD-M (the URL
subscribes, so nothing is sent on the socket), and the REST snapshot comes
from ``GET <data_endpoints.rest><DEPTH_SNAPSHOT_PATH[market]>?symbol=<SYMBOL>&limit=<feed.snapshot_limit>``.
On USD-M each connection also fetches ``GET /fapi/v1/fundingInfo`` (weight 0) into every symbol's stream:
the symbols' funding intervals.

Book sync follows Binance's "How to manage a local order book correctly": the normalizer buffers diffs
while its book is not synced; once a diff is buffered (or, for a quiet symbol, ``feed.stale_after``
after connecting without one) the feed fetches a snapshot and feeds the REST
body to the normalizer as one more payload (so it is recorded and spliced by the same code as a
recording), which drops what the snapshot covers and applies the bridging diffs. A snapshot older
than the buffered stream, an undecodable body or an HTTP error is retried with backoff, up to
``snapshot_retries`` times, and then the connection is renewed. A gap while connected (the
normalizer's ``needs_snapshot`` turns true) fetches a new snapshot on the same connection.

Request weight: each snapshot costs ``depth_snapshot_weight(market, limit)`` (spot 50, USD-M 20 at
limit 1000). The feed tracks the ``x-mbx-used-weight-1m`` header and waits for the next minute rather
than exceed ``weight_limit``; an HTTP 429 waits ``Retry-After`` seconds; an HTTP 418 (IP banned) is
fatal, because Binance lengthens a ban for clients that keep asking.

Keepalive: Binance pings the client (every 20 s on spot, 3 min on USD-M); the ``websockets`` library
answers each ping with a pong as it reads, and the feed also pings every ``feed.ping_interval``, closing a
connection whose pong does not come within ``feed.read_timeout``.
"""

from __future__ import annotations

__all__ = ["DEFAULT_WEIGHT_LIMIT", "FEED", "BinanceFeed"]

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Final, Unpack
from urllib.parse import urlsplit

import aiohttp
from websockets.asyncio.client import ClientConnection

from arb.config import VenueConfig
from arb.errors import ConfigError, FeedError
from arb.events import NS_PER_S
from connectors.binance.normalize import BinanceNormalizer
from connectors.binance.urls import DEPTH_SNAPSHOT_PATH, FUNDING_INFO_PATH, depth_snapshot_weight, stream_names
from connectors.common.feed import MarketDataFeed
from connectors.common.feed_parts import FeedNormalizer, FeedOptions, SymbolState
from connectors.common.history import retry_after_s

log = logging.getLogger(__name__)

DEFAULT_WEIGHT_LIMIT: Final[Mapping[str, int]] = {"spot": 6000, "linear": 2400}
"""Request weight allowed per minute and IP, as Binance documents it (spot, USD-M)."""

_STREAM_PREFIX = b'{"stream":"'
_WEIGHT_HEADER = "x-mbx-used-weight-1m"
_MINUTE_NS = 60 * NS_PER_S
_MAX_ROUTES = 1024


class BinanceFeed(MarketDataFeed):
    """Binance market data for ``symbols`` on ``config.market`` (``spot`` or ``linear`` = USD-M).

    ``weight_limit``: request weight per minute the feed allows itself (default: Binance's limit for
    the market, :data:`DEFAULT_WEIGHT_LIMIT`). ``snapshot_retries``: snapshots that may fail in a row
    before the connection is renewed. ``http``: an ``aiohttp.ClientSession`` to use (default: one of
    the feed's own, opened by :meth:`run`). Other options: see :class:`MarketDataFeed`.
    """

    def __init__(
        self,
        config: VenueConfig,
        symbols: Sequence[str],
        *,
        weight_limit: int | None = None,
        snapshot_retries: int = 5,
        http: aiohttp.ClientSession | None = None,
        **options: Unpack[FeedOptions],
    ) -> None:
        super().__init__(config, symbols, **options)
        for url in config.data_endpoints.ws:
            if not urlsplit(url).path.endswith("/stream"):
                raise ConfigError(
                    str(config.path),
                    f"endpoints.{config.market}.{config.data_network}.ws",
                    f"expected combined-stream URLs whose path ends in /stream, got {url!r}",
                )
        self.weight_limit = weight_limit if weight_limit is not None else DEFAULT_WEIGHT_LIMIT[self.market]
        self.snapshot_retries = snapshot_retries
        self.used_weight = 0
        """Request weight used in the current minute, from the last ``x-mbx-used-weight-1m`` header."""
        self._weight_minute = -1
        self._snapshot_weight = depth_snapshot_weight(self.market, self._feed.snapshot_limit)
        self._snapshot_url = config.data_endpoints.rest.rstrip("/") + DEPTH_SNAPSHOT_PATH[self.market]
        self._funding_info_url = config.data_endpoints.rest.rstrip("/") + FUNDING_INFO_PATH
        self._http = http
        self._streams = [
            name for s in self.symbols for name in self.symbol_streams(config, s, include_bbo=self.include_bbo)
        ]
        self._routes: dict[bytes, SymbolState | None] = {}
        self._wanted: dict[str, asyncio.Event] = {}

    max_request_chars = 8_000
    """The streams travel in the URL (``?streams=``): kept well under common URL length limits."""

    @classmethod
    def symbol_streams(cls, config: VenueConfig, symbol: str, *, include_bbo: bool = True) -> list[str]:
        """``btcusdt@depth@100ms``, ``btcusdt@trade``, ``btcusdt@bookTicker`` (and on USD-M the mark price)."""
        mark_price = config.market == "linear"  # mark price and funding: USD-M only
        return stream_names(symbol, config.feed.depth_stream, bbo=include_bbo, mark_price=mark_price)

    # -- the venue's parts ------------------------------------------------------------------------

    def _make_normalizer(self, symbol: str) -> FeedNormalizer:
        return BinanceNormalizer(
            symbol, self.config.market, include_bbo=self.include_bbo, max_buffered_diffs=self._feed.max_buffered_diffs
        )

    def _ws_url(self, base: str) -> str:
        """``wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms/btcusdt@trade/btcusdt@bookTicker``."""
        joiner = "&" if "?" in base else "?"
        return f"{base}{joiner}streams={'/'.join(self._streams)}"

    def _ws_ping_interval_s(self) -> float | None:
        return self._feed.ping_interval_ns / NS_PER_S

    def _wants_http(self) -> bool:
        return True  # depth snapshots

    def _route(self, payload: bytes) -> SymbolState | None:
        """Route a combined-stream frame by the symbol in its stream name, e.g.
        ``{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT",
        "U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000",
        "0.32332000"]]}}`` goes to BTCUSDT; replies such as ``{"result":null,"id":1}`` go to every symbol.
        """
        if not payload.startswith(_STREAM_PREFIX):
            return None
        name = payload[11 : payload.find(b'"', 11)]
        try:
            return self._routes[name]
        except KeyError:
            state = self._states.get(name.partition(b"@")[0].decode("utf-8", "replace").upper())
            if len(self._routes) < _MAX_ROUTES:
                self._routes[name] = state
            return state

    def _session_tasks(self, ws: ClientConnection) -> list[Coroutine[Any, Any, None]]:
        self._wanted = {st.symbol: asyncio.Event() for st in self._all}
        tasks = [self._snapshot_worker(st) for st in self._all]
        if self.market == "linear":
            assert self._http is not None, "the HTTP session lives as long as run()"
            tasks.append(self._fetch_funding_interval(self._http, self._funding_info_url, {}, self._all))
        return tasks

    def _after_frame(self, state: SymbolState, gap: bool) -> None:
        if self._overflowing or not state.normalizer.needs_snapshot:
            return
        self._want_snapshot(state)

    def _request_resync(self, state: SymbolState) -> None:
        self._want_snapshot(state)

    def _want_snapshot(self, state: SymbolState, *, quiet: bool = False) -> None:
        # Ask for a snapshot once a diff is buffered (Binance's recipe: the first diff then shows how
        # the snapshot must bridge), or, for a quiet symbol, without one.
        normalizer = state.normalizer
        assert isinstance(normalizer, BinanceNormalizer)
        sync = normalizer.sync
        event = self._wanted.get(state.symbol)
        if event is not None and (quiet or (sync is not None and sync.buffer)):
            event.set()

    async def _check_venue(self, now_ns: int) -> None:
        # A symbol without a diff for stale_after since the connection opened: fetch the snapshot
        # anyway. The stream was opened first, so every later diff is buffered and checked against it.
        if self._overflowing or now_ns - self._connected_at_ns < self._feed.stale_after_ns:
            return
        for state in self._all:
            normalizer = state.normalizer
            assert isinstance(normalizer, BinanceNormalizer)
            sync = normalizer.sync
            if normalizer.needs_snapshot and (sync is None or not sync.buffer):
                self._want_snapshot(state, quiet=True)

    # -- the REST snapshot ------------------------------------------------------------------------

    async def _snapshot_worker(self, state: SymbolState) -> None:
        event = self._wanted[state.symbol]
        while True:
            await event.wait()
            event.clear()
            await self._sync_book(state)

    async def _sync_book(self, state: SymbolState) -> None:
        """Fetch snapshots until the book is synced (or the consumer queue overflows meanwhile)."""
        await self._snapshots_until_synced(state, self._fetch_snapshot, retries=self.snapshot_retries,
                                           what="depth snapshot", asked="depth snapshot", logger=log)  # fmt: skip

    async def _fetch_snapshot(self, state: SymbolState) -> str | None:
        """One snapshot request: ``None`` when it synced the book, ``""`` after a rate-limit wait, else
        why it did not. Raises :class:`FeedError` (fatal) on HTTP 418 and on other 4xx answers.

        A 200 body, e.g. ``{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],...],
        "asks":[["61837.64000000","1.60520000"],...]}`` (USD-M adds ``"E"`` and ``"T"``), is stamped,
        recorded and normalized exactly like a WebSocket frame.
        """
        http = self._http
        assert http is not None, "the HTTP session lives as long as run()"
        await self._wait_for_weight(self._snapshot_weight)
        params = {"symbol": state.symbol, "limit": str(self._feed.snapshot_limit)}
        self.stats.snapshot_requests += 1
        try:
            async with http.get(self._snapshot_url, params=params) as response:
                body = await response.read()
                local_ts = self._clock()
                recv_perf_ns = time.perf_counter_ns()
                status = response.status
                headers = response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"request failed ({type(exc).__name__}: {exc})"
        self._note_weight(headers.get(_WEIGHT_HEADER), local_ts)
        if status == 200:
            stats = state.normalizer.stats
            too_old, undecodable, gaps = stats.snapshots_too_old, stats.decode_errors, stats.gaps
            self._process(state, body, local_ts, recv_perf_ns)
            if not state.normalizer.needs_snapshot:
                return None
            if stats.snapshots_too_old != too_old:
                return "older than the buffered diffs"
            if stats.decode_errors != undecodable:
                return "undecodable"
            if stats.gaps != gaps:
                return "bridged, but the buffered diffs after it have a gap"
            return "did not sync the book"
        text = body[:300].decode("utf-8", "replace")
        retry_after = retry_after_s(headers.get("Retry-After"))
        if status == 418:
            raise FeedError(
                self.name,
                f"IP banned by Binance (HTTP 418, Retry-After {retry_after} s): {text}; stopping, since "
                "further requests lengthen the ban",
                retryable=False,
            )
        if status == 429:
            wait_s = retry_after if retry_after is not None else self._seconds_to_next_minute(local_ts)
            self.stats.rate_limit_waits += 1
            log.warning("binance %s: HTTP 429 (%s); waiting %.3f s as Retry-After asks", state.symbol, text, wait_s)
            await self._sleep(wait_s)
            self.used_weight = 0
            return ""
        if status >= 500 or status == 408:
            return f"HTTP {status}: {text}"
        raise FeedError(self.name, f"depth snapshot refused with HTTP {status}: {text}", retryable=False)

    async def _wait_for_weight(self, weight: int) -> None:
        # Wait for the next minute when this request would take the used weight over the limit.
        now = self._clock()
        minute = now // _MINUTE_NS
        if minute != self._weight_minute:
            self._weight_minute = minute
            self.used_weight = 0
        if self.used_weight + weight <= self.weight_limit:
            return
        wait_s = self._seconds_to_next_minute(now)
        self.stats.rate_limit_waits += 1
        log.warning(
            "binance: request weight %d + %d would exceed %d per minute; waiting %.3f s",
            self.used_weight,
            weight,
            self.weight_limit,
            wait_s,
        )
        await self._sleep(wait_s)
        self._weight_minute = minute + 1
        self.used_weight = 0

    def _note_weight(self, header: str | None, now_ns: int) -> None:
        if header is None or not header.isdigit():
            return
        self._weight_minute = now_ns // _MINUTE_NS
        self.used_weight = int(header)

    @staticmethod
    def _seconds_to_next_minute(now_ns: int) -> float:
        return (_MINUTE_NS - now_ns % _MINUTE_NS) / NS_PER_S


FEED = BinanceFeed
"""The venue's market-data feed (what :mod:`connectors.registry` finds)."""
