"""The market-data feed every venue shares: connection loop, reconnect, failover, health, the queue.

A feed keeps one WebSocket connection to one venue for one or more symbols. It owns all the I/O and
none of the parsing: each frame is stamped, handed raw to the recorder, normalized by the venue's
pure normalizer (``connectors/<venue>/normalize.py``) and the resulting event rows are published.
The venue subclasses (``connectors.binance.feed.BinanceFeed``, ``connectors.bybit.feed.BybitFeed``)
add the URL, the subscription and how a book is resynced (REST snapshot, or resubscribe). The feed's types and
helpers (:class:`FeedBatch`, :class:`FeedStats`, :func:`feed_error`...) live in
:mod:`connectors.common.feed_parts` and are exported here too.

The frame path, in this order, for every frame (WebSocket message or Binance REST snapshot body):

1. ``local_ts = clock()`` (int ns since the epoch, injected; default ``time.time_ns``) and
   ``recv_perf_ns = time.perf_counter_ns()``, before anything else;
2. ``recorder.write(venue, market, symbol, local_ts, payload, settle=False)`` with the bytes exactly as
   received (buffered in memory: nothing slow happens here);
3. ``normalizer.on_message(payload, local_ts)`` (which says what the frame was: a depth message of
   the symbol, a gap), then ``normalizer.sink.take()``;
4. one :class:`FeedBatch` onto the consumer's queue, if there are rows or the status changed;
5. ``recorder.settle()``: the deflating and flushing the buffered frames call for.

The queue contract (what the live driver consumes)
--------------------------------------------------

``queue`` is an ``asyncio.Queue[FeedBatch]`` the caller creates with a ``maxsize`` (bounded); both
venues' feeds may share one queue. A :class:`FeedBatch` is frozen and carries:

``venue``
    The venue's number in the run (its place in ``[strategy] venues``; the feed's ``venue_id``).
``symbol``
    Upper-case venue symbol (``"BTCUSDT"``).
``rows``
    ``event_dtype`` rows of one frame, in order, to be applied as they are (possibly empty). Depth
    rows carry the venue's update id in ``ival``. The array is owned by the consumer.
``local_ts``
    Receive time of the frame in ns (for a status-only batch: when the status changed).
``state``
    The book's :class:`SyncState` *after* ``rows``. Only ``SYNCED`` means the book built from the
    rows is the venue's book; every transition out of ``SYNCED`` comes with ``SYNC_LOST_EVENT`` and
    ``CLEAR_ALL`` rows, so a consumer that applies every batch holds an empty book, never a wrong one.
``stale``
    True when no depth message arrived for ``feed.stale_after`` while connected. The book is not
    wrong (continuity is still checked on the next message) but it is old: do not open positions.
``update_id``
    The venue update id of the book after ``rows`` (0 before the first snapshot).
``recv_perf_ns``
    ``time.perf_counter_ns()`` at receipt; ``perf_counter_ns() - recv_perf_ns`` in the consumer is
    the feed-to-consumer latency.

A batch is published for every frame that produced rows and for every change of ``state`` or
``stale`` even without rows (a disconnect, a stale feed, a recovery).

When the queue is full (the consumer fell behind) the socket reader never waits. The feed marks
every book of the venue out of sync (``SyncReason.BUFFER_OVERFLOW``), stops publishing, and keeps
reading, recording and normalizing (so nothing is lost from the recording) without attempting a
resync. Once the consumer has drained the queue to half its size, each symbol gets one batch whose
rows are ``SYNC_LOST_EVENT`` (``ival`` = ``BUFFER_OVERFLOW``) and ``CLEAR_ALL`` with a state other
than ``SYNCED``; then the book resyncs the usual way (Binance: REST snapshot; Bybit: resubscribe).
So a consumer never applies a row that follows a dropped one without a clear in between.

Failures
--------

One decision: :func:`feed_error` turns whatever a connection, a read or a REST call raised into a
:class:`~arb.errors.FeedError` with ``retryable`` set, and :func:`arb.errors.is_retryable` reads it.
Retryable: refused or dropped connections, timeouts, closed sockets, HTTP 408/429/5xx on the
upgrade. Fatal (``run()`` raises): a malformed URL, another 4xx on the upgrade, a Binance IP ban
(REST 418), a rejected subscription, any other REST 4xx. Bugs (anything else) propagate unchanged.

Retryable failures reconnect after a delay from an injectable schedule (default: exponential from
``feed.backoff_initial`` to ``feed.backoff_max`` with jitter). After ``feed.failover_after``
consecutive failed attempts on one ``endpoints.ws`` URL the feed moves to the next one (round robin).
An attempt counts as failed unless it connected and delivered market data and did not end with a
stale or read-timeout reconnect; a good session resets the count and the schedule.
"""

from __future__ import annotations

__all__ = ["MarketDataFeed"]

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Self

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from arb.config import VenueConfig
from arb.errors import FeedError, is_retryable
from arb.events import (
    CLEAR_ALL,
    NS_PER_MS,
    NS_PER_S,
    SYNC_LOST_EVENT,
    EventArray,
    SyncReason,
    empty_events,
)
from arb.waiting import Conditions
from connectors.common.feed_parts import (
    BackoffSchedule,
    Clock,
    FeedBatch,
    FeedNormalizer,
    FeedStats,
    RawSink,
    Sleep,
    SymbolState,
    TimingHook,
    connection_groups,
    exponential_backoff,
    feed_error,
)
from connectors.common.normalizer import DECODED_DEPTH, DECODED_GAP, SyncState
from connectors.common.rows import RowSink

log = logging.getLogger(__name__)

_EMPTY = empty_events(0)
_EMPTY.flags.writeable = False
_CLOSE_TIMEOUT_S = 1.0
_MAX_FRAME_BYTES = 16 << 20
_RECV_QUEUE = 256
DEFAULT_HEALTH_INTERVAL_NS = 100 * NS_PER_MS


class _SessionEndedError(Exception):
    # The feed closed the connection itself: carries why, for the sync-lost rows and the log.
    def __init__(self, reason: SyncReason, why: str) -> None:
        super().__init__(why)
        self.reason = reason


class MarketDataFeed:
    """One venue's market-data connection for a set of symbols: see the module docstring.

    ``config`` supplies the URLs of its ``data_network`` (``data_endpoints.ws`` in failover order,
    ``data_endpoints.rest``; ``arb live`` hands a venue whose data network is its orders'), the market
    and the ``[feed]`` settings. ``symbols`` are venue symbols (``"BTCUSDT"``). ``queue`` receives
    :class:`FeedBatch` objects (``None``: rows are discarded, e.g. when only recording). ``recorder``
    receives every raw frame. ``clock`` stamps frames (int ns). ``sleep`` waits between attempts
    (seconds). ``backoff`` replaces the reconnect schedule. ``health_interval_ns`` is how often a
    background task calls :meth:`check_health` (``None``: never; tests call it with a driven clock).
    ``timing_hook`` receives per-frame processing times (benchmarks).
    """

    venue_id: int = 0
    """The venue's number in the run (its place in ``[strategy] venues``): what its batches say."""
    _http: aiohttp.ClientSession | None = None
    """The HTTP session while :meth:`run` runs (:meth:`_wants_http`), or one the caller gave."""

    def __init__(
        self,
        config: VenueConfig,
        symbols: Sequence[str],
        *,
        queue: asyncio.Queue[FeedBatch] | None = None,
        recorder: RawSink | None = None,
        clock: Clock = time.time_ns,
        sleep: Sleep = asyncio.sleep,
        backoff: BackoffSchedule | None = None,
        include_bbo: bool = True,
        health_interval_ns: int | None = DEFAULT_HEALTH_INTERVAL_NS,
        timing_hook: TimingHook | None = None,
        venue_id: int = 0,
    ) -> None:
        if not symbols:
            raise ValueError("a feed needs at least one symbol")
        names = [s.upper() for s in symbols]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate symbols: {symbols}")
        self.config = config
        self.venue_id = venue_id
        self.name = config.name
        self.market: str = config.market
        self.symbols = tuple(names)
        self.include_bbo = include_bbo
        self.stats = FeedStats()
        self._feed = config.feed
        self._urls = tuple(config.data_endpoints.ws)
        self._queue = queue
        self._recorder = recorder
        self._clock = clock
        self._sleep = sleep
        self._backoff = backoff or exponential_backoff(self._feed.backoff_initial_ns, self._feed.backoff_max_ns)
        self._health_interval_ns = health_interval_ns
        self._timing_hook = timing_hook
        self._states: dict[str, SymbolState] = {s: SymbolState(s, self._make_normalizer(s)) for s in self.symbols}
        self._all = tuple(self._states.values())
        self._label = f"{self.name} {','.join(self.symbols)}"
        self._endpoint = 0
        self._ws: ClientConnection | None = None
        self._connected_at_ns = 0
        self._last_rx_ns = 0
        self._session_depth = 0
        self._end: _SessionEndedError | None = None
        self._last_failure = ""  # why the last attempt or session ended (refused, closed, timed out)
        self._overflowing = False
        self._resume_at = 0
        if queue is not None and queue.maxsize > 0:
            self._resume_at = max(0, min(queue.maxsize // 2, queue.maxsize - len(self._all)))
        self._stopping = False
        self._task: asyncio.Task[Any] | None = None
        self._conditions = Conditions()

    @classmethod
    def pool(cls, config: VenueConfig, symbols: Sequence[str], **options: Any) -> list[Self]:
        """Feeds for ``symbols``, as few as the venue's limits allow: each connection carries at most
        ``[feed] max_streams_per_connection`` streams (and, where the subscription travels in the URL, a
        URL of at most :attr:`max_request_chars`); a symbol's streams always share one connection.
        ``options``: as for one feed (a queue and a recorder may be shared by the feeds)."""
        include_bbo = options.get("include_bbo", True)
        groups = connection_groups(
            [s.upper() for s in symbols],
            lambda s: cls.symbol_streams(config, s, include_bbo=include_bbo),
            config.feed.max_streams_per_connection,
            cls.max_request_chars,
        )
        return [cls(config, group, **options) for group in groups]

    max_request_chars: int | None = None
    """The longest subscription one connection may send, in characters (None: no limit but the count)."""

    @classmethod
    def symbol_streams(cls, config: VenueConfig, symbol: str, *, include_bbo: bool = True) -> list[str]:
        """The streams (topics) one symbol subscribes on this venue."""
        raise NotImplementedError

    # -- what a venue provides --------------------------------------------------------------------

    def _make_normalizer(self, symbol: str) -> FeedNormalizer:
        raise NotImplementedError

    def _ws_url(self, base: str) -> str:
        """The URL to connect to for the configured ``endpoints.ws`` entry ``base``."""
        return base

    def _route(self, payload: bytes) -> SymbolState | None:
        """The symbol a frame belongs to, or ``None`` (control replies, unknown symbols): every symbol."""
        raise NotImplementedError

    def _ws_ping_interval_s(self) -> float | None:
        """WebSocket-level keepalive pings from the client (``None``: off)."""
        return None

    def _wants_http(self) -> bool:
        """Whether the feed makes REST requests (Binance: snapshots; linear markets: funding intervals)."""
        return False

    @contextlib.asynccontextmanager
    async def _resources(self) -> AsyncIterator[None]:
        """Resources that live as long as :meth:`run`: the HTTP session, when the feed wants one and the
        caller gave none."""
        if self._http is not None or not self._wants_http():
            yield
            return
        timeout = aiohttp.ClientTimeout(total=self._feed.read_timeout_ns / NS_PER_S)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            self._http = http
            try:
                yield
            finally:
                self._http = None

    async def _on_open(self, ws: ClientConnection) -> None:
        """Called once connected, before the first read (Bybit: send the subscriptions)."""

    def _session_tasks(self, ws: ClientConnection) -> list[Coroutine[Any, Any, None]]:
        """Coroutines that run beside the reader for one connection (resync workers, pings)."""
        return []

    def _on_unrouted(self, payload: bytes) -> None:
        """Inspect a frame that belongs to no symbol (Bybit: raise on a rejected subscription)."""

    def _after_frame(self, state: SymbolState, gap: bool) -> None:
        """Called after a payload of ``state``'s symbol was normalized (``gap``: it revealed a gap)."""

    def _request_resync(self, state: SymbolState) -> None:
        """Start getting a fresh book for ``state`` (after a queue overflow)."""

    async def _check_venue(self, now_ns: int) -> None:
        """Venue-specific health checks (Bybit: a resubscription that never brought a snapshot)."""

    # -- public -----------------------------------------------------------------------------------

    @property
    def normalizers(self) -> dict[str, FeedNormalizer]:
        """The normalizer of each symbol (its ``stats``, ``status`` and ``transitions``)."""
        return {s: st.normalizer for s, st in self._states.items()}

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._ws is not None

    def silence(self) -> str | None:
        """Why this feed has delivered no market data yet, or None once it has: it never connected
        (attempts and the last failure), or it connected and no frame came."""
        stats = self.stats
        if stats.connects == 0:
            tries = f"{stats.attempts} attempt{'' if stats.attempts == 1 else 's'}"
            last = f"; last: {self._last_failure}" if self._last_failure else ""
            return f"{self.name} {self.market} never connected ({tries}{last})"
        if stats.frames == 0:
            return f"{self.name} {self.market} connected ({self.url}) but sent no market data"
        return None

    @property
    def endpoint(self) -> int:
        """Index in ``endpoints.ws`` of the URL in use (or tried next)."""
        return self._endpoint

    @property
    def url(self) -> str:
        """The ``endpoints.ws`` URL in use (or tried next)."""
        return self._urls[self._endpoint]

    def is_stale(self, symbol: str) -> bool:
        """True while ``symbol`` is marked stale."""
        return self._states[symbol.upper()].stale

    def last_depth_ns(self, symbol: str) -> int:
        """Local receive time (the feed's clock, ns) of ``symbol``'s last depth frame; 0 before any."""
        return self._states[symbol.upper()].last_depth_rx_ns

    @property
    def gaps(self) -> int:
        """Continuity gaps seen by all symbols' normalizers."""
        return sum(st.normalizer.stats.gaps for st in self._all)

    async def run(self) -> None:
        """Connect, read and reconnect until :meth:`stop` (then return) or a fatal error (raised as
        :class:`FeedError`). Cancelling the task also ends it; the connection is closed either way."""
        self._task = asyncio.current_task()
        if self._stopping:
            return
        try:
            async with self._resources(), asyncio.TaskGroup() as tasks:
                health = None
                if self._health_interval_ns is not None:
                    health = tasks.create_task(self._health_loop(), name=f"{self.name}-health")
                try:
                    await self._connection_loop()
                finally:
                    if health is not None:
                        health.cancel()
        except asyncio.CancelledError:
            task = self._task
            if self._stopping and task is not None and task.uncancel() == 0:
                return
            raise
        except BaseExceptionGroup as group:
            raise _first_error(group) from None

    def stop(self) -> None:
        """Close the connection and make :meth:`run` return. Idempotent; safe from a signal handler."""
        if self._stopping:
            return
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def check_health(self, now_ns: int | None = None) -> None:
        """Apply the time-based rules at ``now_ns`` (default: the clock).

        Per symbol: stale once no depth message arrived for ``feed.stale_after`` while connected
        (a status batch, logged once), fresh again with the next depth message. Per connection:
        closed and reconnected once no depth message arrived for ``feed.reconnect_after_stale`` on any
        symbol (``SyncReason.STALE``) or no frame at all for ``feed.read_timeout``. Also ends a queue
        overflow once the consumer has caught up.
        """
        now = self._clock() if now_ns is None else now_ns
        self._maybe_end_overflow(now)
        ws = self._ws
        if ws is None:
            return
        feed = self._feed
        newest_depth = 0
        for st in self._all:
            newest_depth = max(newest_depth, st.last_depth_rx_ns)
            if not st.stale and now - st.last_depth_rx_ns >= feed.stale_after_ns:
                st.stale = True
                st.stale_since_ns = st.last_depth_rx_ns
                self.stats.stale_events += 1
                log.warning(
                    "%s %s: stale, no depth update for %.3f s (stale_after %.3f s)",
                    self.name,
                    st.symbol,
                    (now - st.last_depth_rx_ns) / NS_PER_S,
                    feed.stale_after_ns / NS_PER_S,
                    extra={"venue": self.name, "symbol": st.symbol, "event": "stale"},
                )
                self._publish(st, _EMPTY, now, time.perf_counter_ns())
        if now - newest_depth >= feed.reconnect_after_stale_ns:
            await self._force_reconnect(
                SyncReason.STALE, f"no depth update for {(now - newest_depth) / NS_PER_S:.3f} s", ws
            )
        elif now - self._last_rx_ns >= feed.read_timeout_ns:
            silent_s = (now - self._last_rx_ns) / NS_PER_S
            await self._force_reconnect(
                SyncReason.DISCONNECT, f"read timeout: nothing received for {silent_s:.3f} s", ws
            )
        else:
            await self._check_venue(now)
        self._conditions.notify()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true; checked now and after every frame and state change."""
        await self._conditions.wait_until(predicate)

    # -- the connection loop ----------------------------------------------------------------------

    async def _connection_loop(self) -> None:
        failures = 0
        delays = self._backoff()
        while True:
            url = self._urls[self._endpoint]
            healthy = False
            reason = SyncReason.DISCONNECT
            why = ""
            try:
                healthy = await self._session(url)
                why = "closed"
            except _SessionEndedError as end:
                reason, why = end.reason, str(end)
            except Exception as exc:
                error = feed_error(self.name, exc)
                if error is None:
                    raise
                if not is_retryable(error):
                    log.error("%s: fatal: %s", self._label, error)
                    raise error from exc
                healthy = self._session_depth > 0 and self._end is None
                if self._end is not None:
                    reason, why = self._end.reason, str(self._end)
                else:
                    why = str(error).removeprefix(f"{self.name}: ")
            finally:
                self._on_session_closed(reason)
            if self._stopping:
                return
            self._last_failure = f"{url}: {why}"
            if healthy:
                failures = 0
                delays = self._backoff()
            else:
                failures += 1
                if failures >= self._feed.failover_after and len(self._urls) > 1:
                    old = url
                    self._endpoint = (self._endpoint + 1) % len(self._urls)
                    failures = 0
                    self.stats.failovers += 1
                    log.warning(
                        "%s: %d consecutive failures on %s; failing over to %s",
                        self._label,
                        self._feed.failover_after,
                        old,
                        self._urls[self._endpoint],
                    )
            delay_ns = next(delays)
            log.warning("%s: %s (%s); reconnecting in %.3f s", self._label, url, why, delay_ns / NS_PER_S,
                        extra={"venue": self.name, "endpoint": url, "event": "reconnect"})  # fmt: skip
            await self._sleep(delay_ns / NS_PER_S)

    async def _session(self, base_url: str) -> bool:
        # One connection: connect, run the reader beside the venue's tasks, until it closes.
        url = self._ws_url(base_url)
        self._session_depth = 0
        self._end = None
        feed = self._feed
        ping_interval = self._ws_ping_interval_s()
        self.stats.attempts += 1
        try:
            ws = await connect(
                url,
                compression=None,
                open_timeout=feed.read_timeout_ns / NS_PER_S,
                ping_interval=ping_interval,
                ping_timeout=feed.read_timeout_ns / NS_PER_S if ping_interval is not None else None,
                close_timeout=_CLOSE_TIMEOUT_S,
                max_size=_MAX_FRAME_BYTES,
                max_queue=_RECV_QUEUE,
            )
        except Exception:
            self.stats.failed_attempts += 1
            raise
        try:
            now = self._clock()
            self._ws = ws
            self._connected_at_ns = now
            self._last_rx_ns = now
            for st in self._all:
                st.last_depth_rx_ns = now
            self.stats.connects += 1
            log.info(
                "%s: connected to %s (endpoint %d of %d)", self._label, base_url, self._endpoint + 1, len(self._urls)
            )
            self._conditions.notify()
            await self._on_open(ws)
            async with asyncio.TaskGroup() as tasks:
                helpers = [tasks.create_task(coro) for coro in self._session_tasks(ws)]
                try:
                    await self._read(ws)
                finally:
                    for task in helpers:
                        task.cancel()
        except BaseExceptionGroup as group:
            raise _first_error(group) from None
        finally:
            self._ws = None
            await ws.close()
        return True

    async def _read(self, ws: ClientConnection) -> None:
        # The hot loop: stamp first, then everything else (see the module docstring).
        clock = self._clock
        perf = time.perf_counter_ns
        on_frame = self._on_frame
        recv = ws.recv
        while True:
            try:
                payload = await recv(decode=False)
            except ConnectionClosed:
                if self._end is not None:
                    raise self._end from None
                raise
            local_ts = clock()
            recv_perf_ns = perf()
            on_frame(payload, local_ts, recv_perf_ns)

    def _on_session_closed(self, reason: SyncReason) -> None:
        # The connection is gone: every synced book is lost (DISCONNECT, or STALE when we closed it).
        if self.stats.connects == 0 or self._connected_at_ns == 0:
            return
        self._connected_at_ns = 0
        self.stats.disconnects += 1
        now = self._clock()
        for st in self._all:
            self._lose(st, reason, now)
            st.stale = False
            self._publish(st, self._take(st), now, time.perf_counter_ns())
        self._conditions.notify()

    async def _force_reconnect(self, reason: SyncReason, why: str, ws: ClientConnection) -> None:
        # Close the connection ourselves; the connection loop reconnects (and counts a failure).
        if self._end is not None or self._ws is not ws:
            return
        self._end = _SessionEndedError(reason, why)
        self.stats.forced_reconnects += 1
        log.warning("%s: closing the connection to %s: %s", self._label, self.url, why)
        await ws.close(code=1000, reason=why[:120])

    async def _health_loop(self) -> None:
        assert self._health_interval_ns is not None
        interval = self._health_interval_ns / NS_PER_S
        while True:
            await asyncio.sleep(interval)
            await self.check_health()

    # -- frames -----------------------------------------------------------------------------------

    def _on_frame(self, payload: bytes, local_ts: int, recv_perf_ns: int) -> None:
        """One WebSocket message, already stamped: route it to its symbol (or to every symbol)."""
        stats = self.stats
        stats.frames += 1
        stats.bytes_received += len(payload)
        self._last_rx_ns = local_ts
        if self._overflowing:
            self._maybe_end_overflow(local_ts)
        state = self._route(payload)
        if state is not None:
            self._process(state, payload, local_ts, recv_perf_ns)
        else:
            for st in self._all:
                self._process(st, payload, local_ts, recv_perf_ns)
            self._on_unrouted(payload)

    def _process(self, st: SymbolState, payload: bytes, local_ts: int, recv_perf_ns: int) -> None:
        """Record, normalize and publish one payload of ``st``'s symbol (WebSocket frame or REST body)."""
        recorder = self._recorder
        if recorder is not None:  # the raw frame is kept before anything parses it
            recorder.write(self.name, self.market, st.symbol, local_ts, payload, settle=False)
        started = time.perf_counter_ns()
        did = st.normalizer.on_message(payload, local_ts)
        rows = self._take(st)
        done = time.perf_counter_ns()
        is_depth = bool(did & DECODED_DEPTH)
        if is_depth:
            st.last_depth_rx_ns = local_ts
            self._session_depth += 1
            if st.stale:
                st.stale = False
                log.info(
                    "%s %s: fresh again, depth updates resumed after %.3f s",
                    self.name,
                    st.symbol,
                    (local_ts - st.stale_since_ns) / NS_PER_S,
                    extra={"venue": self.name, "symbol": st.symbol, "event": "fresh"},
                )
        if self._timing_hook is not None:
            self._timing_hook(is_depth, done - recv_perf_ns, done - started)
        self._publish(st, rows, local_ts, recv_perf_ns)
        if recorder is not None:  # compression and flushing after the rows are out
            recorder.settle()
        self._after_frame(st, bool(did & DECODED_GAP))
        if self._conditions.waiters:
            self._conditions.notify()

    async def _fetch_funding_interval(
        self, http: aiohttp.ClientSession, url: str, params: Mapping[str, str], states: Sequence[SymbolState]
    ) -> None:
        """The venue's REST answer about its perpetuals' funding intervals (Binance ``fundingInfo``, Bybit
        ``instruments-info``), fetched once per connection, into the stream of each of ``states``:
        recorded and normalized like a frame. A failure is logged and the feed carries on: the interval
        then comes from the funding times the stream announces (else the configuration's)."""
        try:
            async with http.get(url, params=params) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("%s: %s failed (%s: %s)", self._label, url, type(exc).__name__, exc)
            return
        if status != 200:
            log.warning("%s: %s answered HTTP %d: %s", self._label, url, status, body[:200].decode("utf-8", "replace"))
            return
        local_ts, recv_perf_ns = self._clock(), time.perf_counter_ns()
        for st in states:
            self._process(st, body, local_ts, recv_perf_ns)

    async def _snapshots_until_synced(
        self,
        state: SymbolState,
        fetch: Callable[[SymbolState], Awaitable[str | None]],
        *,
        retries: int,
        what: str,
        asked: str,
        logger: logging.Logger,
    ) -> None:
        """Fetch REST snapshots of ``state``'s book until it is synced (or the consumer queue overflows
        meanwhile). ``fetch`` asks once: ``None`` when it synced the book, ``""`` after a rate-limit wait
        (asked again at once), else why not, logged on ``logger`` (``asked``: what was asked for) and asked
        again after the feed's backoff; :class:`FeedError` after ``retries`` such failures (no usable
        ``what``)."""
        normalizer = state.normalizer
        delays = self._backoff()
        failures = 0
        while normalizer.needs_snapshot and not self._overflowing:
            why = await fetch(state)
            if why is None or not normalizer.needs_snapshot:
                return
            if why == "":
                continue  # waited for the rate limit; ask again
            failures += 1
            self.stats.snapshot_failures += 1
            if failures > retries:
                raise FeedError(self.name, f"{state.symbol}: no usable {what} after {failures} tries ({why})")
            delay_ns = next(delays)
            logger.warning("%s %s: %s %s; retrying in %.3f s (%d of %d)", self.name, state.symbol, asked, why,
                           delay_ns / NS_PER_S, failures, retries)  # fmt: skip
            await self._sleep(delay_ns / NS_PER_S)

    def _take(self, st: SymbolState) -> EventArray:
        sink = st.normalizer.sink
        if not sink.rows:
            return _EMPTY
        if self._queue is None:
            sink.clear()
            return _EMPTY
        return sink.take()

    def _lose(self, st: SymbolState, reason: SyncReason, local_ts: int) -> None:
        # Mark the book lost from outside and log the transition the normalizer recorded (it does not).
        normalizer = st.normalizer
        before = len(normalizer.transitions)
        normalizer.lose_sync(reason, local_ts)
        if len(normalizer.transitions) != before:
            log.warning(normalizer.transitions[-1].describe())

    # -- the queue --------------------------------------------------------------------------------

    def _publish(self, st: SymbolState, rows: EventArray, local_ts: int, recv_perf_ns: int) -> None:
        status = st.normalizer.status
        state = status.state
        if not len(rows) and state is st.sent_state and st.stale is st.sent_stale:
            return
        queue = self._queue
        if queue is None:
            st.sent_state, st.sent_stale = state, st.stale
            return
        if self._overflowing:
            self._drop(st, local_ts)
            return
        batch = FeedBatch(self.venue_id, st.symbol, rows, local_ts, state, st.stale, status.update_id, recv_perf_ns)
        try:
            queue.put_nowait(batch)
        except asyncio.QueueFull:
            self._begin_overflow(local_ts)
            self._drop(st, local_ts)
            return
        st.sent_state, st.sent_stale = state, st.stale

    def _begin_overflow(self, local_ts: int) -> None:
        self._overflowing = True
        self.stats.overflows += 1
        log.warning(
            "%s: consumer queue full (%d batches): books marked out of sync, rows dropped until it drains to %d",
            self._label,
            self._queue.maxsize if self._queue is not None else 0,
            self._resume_at,
        )
        for st in self._all:
            self._lose(st, SyncReason.BUFFER_OVERFLOW, local_ts)
            st.normalizer.sink.clear()

    def _drop(self, st: SymbolState, local_ts: int) -> None:
        # While overflowing: no book may come back to SYNCED unseen by the consumer.
        self.stats.dropped_batches += 1
        if st.normalizer.status.state is SyncState.SYNCED:
            self._lose(st, SyncReason.BUFFER_OVERFLOW, local_ts)
        st.normalizer.sink.clear()

    def _maybe_end_overflow(self, local_ts: int) -> None:
        queue = self._queue
        if not self._overflowing or queue is None or queue.qsize() > self._resume_at:
            return
        self._overflowing = False
        log.warning("%s: consumer caught up (%d batches queued); resyncing", self._label, queue.qsize())
        perf = time.perf_counter_ns()
        for st in self._all:
            status = st.normalizer.status
            if status.state is SyncState.SYNCED:  # cannot happen (see _drop); never publish an unseen book
                self._lose(st, SyncReason.BUFFER_OVERFLOW, local_ts)
                st.normalizer.sink.clear()
            sink = RowSink()
            lost = int(SyncReason.BUFFER_OVERFLOW)
            sink.one(SYNC_LOST_EVENT, local_ts, local_ts, 0.0, 0.0, order_id=status.update_id, ival=lost)
            sink.one(CLEAR_ALL, local_ts, local_ts, 0.0, 0.0)
            batch = FeedBatch(
                self.venue_id, st.symbol, sink.take(), local_ts, status.state, st.stale, status.update_id, perf
            )
            queue.put_nowait(batch)
            st.sent_state, st.sent_stale = status.state, st.stale
            if self._ws is not None:
                self._request_resync(st)


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    # The exception a TaskGroup's group stands for: a fatal feed error first, then any other error.
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for exc in leaves:
        if isinstance(exc, FeedError) and not exc.retryable:
            return exc
    for exc in leaves:
        if not isinstance(exc, asyncio.CancelledError):
            return exc
    return leaves[0]
