"""OKX API v5 public market data (spot or the USDT swaps): one WebSocket, book sync by snapshot.

The feed connects to ``endpoints.ws`` (``wss://ws.okx.com:8443/ws/v5/public``) and sends one
``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"},{"channel":"trades","instId":
"BTC-USDT"}]}`` with, per symbol, the book (``feed.depth_stream``: ``books``) and ``trades``, and on
linear ``mark-price`` and ``funding-rate``. arb's ``BTCUSDT`` is ``BTC-USDT`` on spot and
``BTC-USDT-SWAP`` on linear. On linear each connection first asks
``GET /api/v5/public/instruments?instType=SWAP&instId=<id>`` (the REST base of ``data_endpoints``) into
the symbol's stream: its contract value, without which a swap's sizes cannot be read; then
``GET /api/v5/public/funding-rate?instId=<id>``, also into the stream (recorded, and read as a
``funding-rate`` push): the swap's next funding time and rate at once, where the channel pushes them only
every 30 to 90 s, so a start just before a funding time still sees that funding pass. That one may fail
(logged with the answer, counted in :attr:`OkxFeed.funding_rest_failures`): the channel's push will say it.

Book sync, both ways OKX has documented:

* OKX sends a ``snapshot`` after the subscription's ack, then updates chained by
  ``prevSeqId``/``seqId``; the normalizer checks the chain (and any non-zero checksum). On a gap the
  feed unsubscribes and subscribes the book again, on the same connection, for a fresh snapshot.
* OKX announced (February 2026) that the WebSocket will stop sending that snapshot. When an update
  comes after the book's ack with no snapshot before it, or a resubscription brought no snapshot within
  ``feed.stale_after``, the feed asks ``GET /api/v5/market/books?instId=<id>&sz=400&source=0`` and hands
  the body to the normalizer as one more payload (recorded, as Binance's snapshots are), which bridges
  it to the buffered updates by ``seqId``. On a connection that sends no snapshots, a gap goes straight
  to REST (the stream goes on, so the buffered updates bridge the next snapshot). A snapshot older
  than the buffer, or an HTTP failure, is asked again with backoff, ``snapshot_retries`` times, then the
  connection is renewed; an HTTP 429 (or OKX code ``50011``) waits and asks again.

A subscription OKX refuses (``{"event":"error","code":"60018",...}``: a wrong channel or instrument) is
fatal; ``60014`` (requests too frequent) renews the connection.

Keepalive: OKX closes a connection that received nothing for 30 s; the feed sends the text ``ping``
every ``feed.ping_interval`` and OKX answers ``pong``, a frame like any other (recorded, counted as a
control message), so a connection that stops answering trips the read timeout.
"""

from __future__ import annotations

__all__ = ["FEED", "OkxFeed"]

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any, Unpack

import aiohttp
import msgspec
from websockets.asyncio.client import ClientConnection

from arb.config import VenueConfig
from arb.errors import ConfigError, FeedError
from arb.events import NS_PER_S, SyncReason
from connectors.common.feed import MarketDataFeed
from connectors.common.feed_parts import FeedNormalizer, FeedOptions, SymbolState
from connectors.common.history import retry_after_s
from connectors.okx.messages import OkxEvent, OkxRestHead, OkxRestProbe
from connectors.okx.normalize import OkxNormalizer
from connectors.okx.urls import (
    BOOK_CHANNELS,
    BOOK_SNAPSHOT_PARAMS,
    BOOKS_PATH,
    FUNDING_RATE_PATH,
    INSTRUMENTS_PATH,
    channels,
    inst_id,
)

log = logging.getLogger(__name__)

_ARG_PREFIX = b'{"arg":{"channel":"'
_INST = b'"instId":"'
_EVENT_PREFIX = b'{"event":'
_RETRYABLE_CODES = frozenset({"60014", "4004", "50001", "50004", "50013", "50026"})
"""Answers that a later attempt may not meet: too frequent, idle close, OKX busy or timing out."""
_RATE_LIMITED = "50011"
_DEFAULT_WAIT_S = 1.0
_event = msgspec.json.Decoder(OkxEvent, strict=False)
_head = msgspec.json.Decoder(OkxRestHead, strict=False)
_probe = msgspec.json.Decoder(OkxRestProbe, strict=False)


class _Resync:
    # How one symbol's book is being rebuilt on the current connection.
    __slots__ = ("acked", "resubscribed_ns", "resubscribes")

    def __init__(self) -> None:
        self.acked = False  # OKX acked the book's (re)subscription: a snapshot, if any, comes next
        self.resubscribed_ns = 0  # when the last resubscription went out (0: none pending)
        self.resubscribes = 0


class OkxFeed(MarketDataFeed):
    """OKX public market data for ``symbols`` on ``config.market`` (``spot``, or ``linear`` = USDT swaps).

    ``snapshot_retries``: REST books that may fail in a row before the connection is renewed;
    ``resubscribe_retries``: resubscriptions without a snapshot (each followed by a REST attempt) before
    it is. ``http``: an ``aiohttp.ClientSession`` to use (default: the feed's own, opened by
    :meth:`run`). Other options: see :class:`MarketDataFeed`.

    """

    def __init__(
        self,
        config: VenueConfig,
        symbols: Sequence[str],
        *,
        snapshot_retries: int = 5,
        resubscribe_retries: int = 3,
        http: aiohttp.ClientSession | None = None,
        **options: Unpack[FeedOptions],
    ) -> None:
        channel = config.feed.depth_stream
        if channel not in BOOK_CHANNELS:
            expected = f"expected one of {', '.join(BOOK_CHANNELS)} for okx, got {channel!r}"
            raise ConfigError(str(config.path), "feed.depth_stream", expected)
        self._channel = channel
        super().__init__(config, symbols, **options)
        self.snapshot_retries = snapshot_retries
        self.resubscribe_retries = resubscribe_retries
        self._http = http
        self._rest = config.data_endpoints.rest.rstrip("/")
        self._inst = {s: inst_id(s, self.market) for s in self.symbols}
        self._routes = {i.encode(): self._states[s] for s, i in self._inst.items()}
        self._args = [a for s in self.symbols for a in channels(self._inst[s], self.market, channel)]
        self._resyncs: dict[str, _Resync] = {}
        self._wanted_rest: dict[str, asyncio.Event] = {}
        self._wanted_resub: dict[str, asyncio.Event] = {}
        self._ws_snapshots: dict[str, int] = {}
        self.funding_rest_failures = 0
        """Funding-rate REST answers that failed or could not be read (each logged with the answer)."""

    @property
    def subscriptions(self) -> list[dict[str, str]]:
        """Every subscription arg the feed sends, in order."""
        return [dict(a) for a in self._args]

    @classmethod
    def symbol_streams(cls, config: VenueConfig, symbol: str, *, include_bbo: bool = True) -> list[str]:
        """``books:BTC-USDT``, ``trades:BTC-USDT`` (and on linear ``mark-price:...``, ``funding-rate:...``):
        one name per subscription arg, for the connection limits."""
        instrument = inst_id(symbol, config.market)
        return [f"{a['channel']}:{instrument}" for a in channels(instrument, config.market, config.feed.depth_stream)]

    # -- the venue's parts ------------------------------------------------------------------------

    def _make_normalizer(self, symbol: str) -> FeedNormalizer:
        return OkxNormalizer(
            symbol, self.market, include_bbo=self.include_bbo, max_buffered_updates=self._feed.max_buffered_diffs
        )

    def _normalizer(self, state: SymbolState) -> OkxNormalizer:
        normalizer = state.normalizer
        assert isinstance(normalizer, OkxNormalizer)
        return normalizer

    def _route(self, payload: bytes) -> SymbolState | None:
        """Route a push by the instrument in its ``arg``, e.g. ``{"arg":{"channel":"books","instId":
        "BTC-USDT"},"action":"update","data":[...]}`` goes to BTCUSDT; events and ``pong`` go to every
        symbol."""
        if not payload.startswith(_ARG_PREFIX):
            return None
        start = payload.find(_INST, len(_ARG_PREFIX))
        if start < 0:
            return None
        start += len(_INST)
        return self._routes.get(payload[start : payload.find(b'"', start)])

    def _wants_http(self) -> bool:
        return True  # REST books (and on linear the instruments)

    async def _on_open(self, ws: ClientConnection) -> None:
        self._resyncs = {s: _Resync() for s in self.symbols}
        self._ws_snapshots = {s: self._normalizer(st).ws_snapshots for s, st in self._states.items()}
        if self.market == "linear":
            for st in self._all:
                await self._fetch_instrument(st)
                await self._fetch_funding(st)
        await self._send(ws, "subscribe", self._args)

    def _session_tasks(self, ws: ClientConnection) -> list[Coroutine[Any, Any, None]]:
        self._wanted_rest = {s: asyncio.Event() for s in self.symbols}
        self._wanted_resub = {s: asyncio.Event() for s in self.symbols}
        tasks: list[Coroutine[Any, Any, None]] = [self._pinger(ws)]
        tasks += [self._rest_worker(st) for st in self._all]
        tasks += [self._resubscriber(ws, st) for st in self._all]
        return tasks

    def _on_unrouted(self, payload: bytes) -> None:
        """Read events: the book's subscribe ack (a snapshot, if OKX still sends one, comes right after it),
        and errors: ``{"event":"error","code":"60018","msg":"Wrong URL or channel:books,instId:NOPE-USDT
        doesn't exist. ...","connId":"a4d3ae55"}`` is fatal (the configuration names something OKX does not
        serve), ``60014`` (too frequent) renews the connection."""
        if not payload.startswith(_EVENT_PREFIX):
            return
        try:
            event = _event.decode(payload)
        except msgspec.DecodeError:
            return  # the normalizer logged and counted it
        if event.event == "subscribe" and event.arg is not None and event.arg.channel == self._channel:
            resync = self._resyncs.get(_symbol_by_inst(self._inst, event.arg.inst_id))
            if resync is not None:
                resync.acked = True
        elif event.event == "error":
            retryable = event.code in _RETRYABLE_CODES
            raise FeedError(self.name, f"OKX error {event.code}: {event.msg}", retryable=retryable)

    def _after_frame(self, state: SymbolState, gap: bool) -> None:
        if self._overflowing:
            return
        normalizer = self._normalizer(state)
        resync = self._resyncs.get(state.symbol)
        if resync is None:
            return
        if gap:
            self._request_resync(state)
        elif normalizer.needs_snapshot:
            if resync.acked and normalizer.sync.buffer and normalizer.ws_snapshots == self._ws_snapshots[state.symbol]:
                self._want(self._wanted_rest, state)  # an update after the ack, no snapshot before it
        elif resync.resubscribed_ns:
            log.info("okx %s: book resynced after %d resubscription(s)", state.symbol, resync.resubscribes)
            resync.resubscribed_ns = 0
            resync.resubscribes = 0

    def _request_resync(self, state: SymbolState) -> None:
        # A fresh book: by resubscribing where this connection sends snapshots, else by REST.
        if self._normalizer(state).ws_snapshots > self._ws_snapshots.get(state.symbol, 0):
            self._want(self._wanted_resub, state)
        else:
            self._want(self._wanted_rest, state)

    @staticmethod
    def _want(events: dict[str, asyncio.Event], state: SymbolState) -> None:
        event = events.get(state.symbol)
        if event is not None:
            event.set()

    async def _check_venue(self, now_ns: int) -> None:
        # A resubscription that brought no snapshot within stale_after: ask REST; after
        # resubscribe_retries of them, renew the connection. A book acked but silent: ask REST too.
        ws = self._ws
        for st in self._all:
            resync = self._resyncs.get(st.symbol)
            if resync is None or not self._normalizer(st).needs_snapshot:
                continue
            if not resync.resubscribed_ns:
                # A quiet book: acked, no snapshot and no update for stale_after since connecting.
                if resync.acked and now_ns - self._connected_at_ns >= self._feed.stale_after_ns:
                    self._want(self._wanted_rest, st)
                continue
            if now_ns - resync.resubscribed_ns < self._feed.stale_after_ns:
                continue
            if resync.resubscribes >= self.resubscribe_retries and ws is not None:
                why = f"{st.symbol}: no book after {resync.resubscribes} resubscription(s)"
                await self._force_reconnect(SyncReason.GAP, why, ws)
                return
            resync.resubscribed_ns = now_ns
            self._want(self._wanted_rest, st)

    # -- tasks beside the reader ------------------------------------------------------------------

    async def _resubscriber(self, ws: ClientConnection, state: SymbolState) -> None:
        event = self._wanted_resub[state.symbol]
        arg = {"channel": self._channel, "instId": self._inst[state.symbol]}
        while True:
            await event.wait()
            event.clear()
            resync = self._resyncs[state.symbol]
            if not self._normalizer(state).needs_snapshot:
                continue
            resync.resubscribes += 1
            resync.resubscribed_ns = self._clock()
            resync.acked = False
            self.stats.resubscribes += 1
            log.warning("okx %s: resubscribing to %s for a fresh snapshot (%d)", state.symbol, arg["channel"],
                        resync.resubscribes)  # fmt: skip
            await self._send(ws, "unsubscribe", [arg])
            await self._send(ws, "subscribe", [arg])

    async def _pinger(self, ws: ClientConnection) -> None:
        interval = self._feed.ping_interval_ns / NS_PER_S
        while True:
            await asyncio.sleep(interval)
            await ws.send("ping")

    async def _send(self, ws: ClientConnection, op: str, args: list[dict[str, str]]) -> None:
        """Send ``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}`` (or unsubscribe)."""
        await ws.send(msgspec.json.encode({"op": op, "args": args}).decode())

    # -- REST -------------------------------------------------------------------------------------

    async def _fetch_instrument(self, state: SymbolState) -> None:
        """The swap's instruments answer into its stream (its contract value). A failure is fatal only
        while the contract value is unknown: then no swap size can be read."""
        assert self._http is not None, "the HTTP session lives as long as run()"
        url = self._rest + INSTRUMENTS_PATH
        params = {"instType": "SWAP", "instId": self._inst[state.symbol]}
        try:
            async with self._http.get(url, params=params) as response:
                body, status = await response.read(), response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            body, status = f"{type(exc).__name__}: {exc}".encode(), 0
        if status == 200 and _ok(body):
            self._process(state, body, self._clock(), time.perf_counter_ns())
        normalizer = self._normalizer(state)
        if normalizer.contract_value is None:
            text = body[:200].decode("utf-8", "replace")
            raise FeedError(self.name, f"{state.symbol}: no contract value from {url} (HTTP {status}: {text})",
                            retryable=status == 0 or status >= 500 or status == 429)  # fmt: skip

    async def _fetch_funding(self, state: SymbolState) -> None:
        """The swap's funding-rate answer into its stream, read as a ``funding-rate`` push. Never fatal: a
        failure (transport, HTTP or OKX error such as HTTP 429 ``{"code":"50011","msg":"Too Many Requests"}``,
        an answer without entries, or one the normalizer cannot read) is logged with the answer, counted in
        :attr:`funding_rest_failures` and skipped; the channel pushes the same within 90 s."""
        assert self._http is not None, "the HTTP session lives as long as run()"
        url = self._rest + FUNDING_RATE_PATH
        try:
            async with self._http.get(url, params={"instId": self._inst[state.symbol]}) as response:
                body, status = await response.read(), response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            body, status = f"{type(exc).__name__}: {exc}".encode(), 0
        normalizer = self._normalizer(state)
        undecodable = normalizer.stats.decode_errors
        if status == 200 and _ok(body) and _has_data(body):  # (an empty answer is no funding to record)
            self._process(state, body, self._clock(), time.perf_counter_ns())
            if normalizer.stats.decode_errors == undecodable:
                return
        self.funding_rest_failures += 1
        text = body[:300].decode("utf-8", "replace")
        log.warning("okx %s: no funding rate from %s (HTTP %d: %s); the funding-rate channel will push it",
                    state.symbol, url, status, text)  # fmt: skip

    async def _rest_worker(self, state: SymbolState) -> None:
        event = self._wanted_rest[state.symbol]
        while True:
            await event.wait()
            event.clear()
            await self._sync_by_rest(state)

    async def _sync_by_rest(self, state: SymbolState) -> None:
        """Fetch REST books until the book is synced (or the consumer queue overflows meanwhile)."""
        await self._snapshots_until_synced(state, self._fetch_book, retries=self.snapshot_retries,
                                           what="order book", asked="REST order book", logger=log)  # fmt: skip

    async def _fetch_book(self, state: SymbolState) -> str | None:
        """One REST book: ``None`` when it synced the book, ``""`` after a rate-limit wait, else why not.
        Raises :class:`FeedError` (fatal) on an answer that asking again cannot change (an unknown
        instrument: ``{"code":"51001","msg":"Instrument ID doesn't exist.","data":[]}``)."""
        http = self._http
        assert http is not None, "the HTTP session lives as long as run()"
        params = {"instId": self._inst[state.symbol], **BOOK_SNAPSHOT_PARAMS}
        self.stats.snapshot_requests += 1
        try:
            async with http.get(self._rest + BOOKS_PATH, params=params) as response:
                body = await response.read()
                local_ts, recv_perf_ns = self._clock(), time.perf_counter_ns()
                status, retry_after = response.status, retry_after_s(response.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"request failed ({type(exc).__name__}: {exc})"
        code = _code(body)
        text = body[:300].decode("utf-8", "replace")
        if status == 429 or code == _RATE_LIMITED:
            self.stats.rate_limit_waits += 1
            wait_s = retry_after if retry_after is not None else _DEFAULT_WAIT_S
            log.warning("okx %s: rate limited (HTTP %d: %s); waiting %.3f s", state.symbol, status, text, wait_s)
            await self._sleep(wait_s)
            return ""
        if status >= 500 or status == 408 or code in _RETRYABLE_CODES:
            return f"HTTP {status}: {text}"
        if status != 200 or code != "0":
            if code is None and status == 200:
                return f"undecodable ({text})"
            raise FeedError(self.name, f"order book refused with HTTP {status}: {text}", retryable=False)
        normalizer = self._normalizer(state)
        stats = normalizer.stats
        too_old, undecodable, gaps, unusable = (
            stats.snapshots_too_old, stats.decode_errors, stats.gaps, normalizer.rest_unusable
        )  # fmt: skip
        self._process(state, body, local_ts, recv_perf_ns)
        if not normalizer.needs_snapshot:
            return None
        if stats.snapshots_too_old != too_old:
            return "older than the buffered updates"
        if normalizer.rest_unusable != unusable:
            return "without seqId (cannot be bridged)"
        if stats.decode_errors != undecodable:
            return "undecodable"
        if stats.gaps != gaps:
            return "bridged, but the buffered updates after it have a gap"
        return "did not sync the book"


def _code(body: bytes) -> str | None:
    # The ``code`` of a v5 REST answer; None when the body is not one.
    try:
        return str(_head.decode(body).code)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _ok(body: bytes) -> bool:
    return _code(body) == "0"


def _has_data(body: bytes) -> bool:
    # A v5 REST answer with at least one entry in ``data``.
    try:
        return bool(_probe.decode(body).data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False


def _symbol_by_inst(instruments: dict[str, str], wanted: str) -> str:
    return next((s for s, i in instruments.items() if i == wanted), "")


FEED = OkxFeed
"""The venue's market-data feed (what :mod:`connectors.registry` finds)."""
