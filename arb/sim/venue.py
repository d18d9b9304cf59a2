"""The venue-independent core of a simulated venue: ports, connections, REST plumbing, waiting.

A :class:`FakeVenue` is an aiohttp server on 127.0.0.1 (port 0, the OS picks) serving WebSocket and
REST on each of its endpoints (one port per endpoint). It replays a recording on one market clock
(``venue.playback``, a :class:`~arb.sim.playback.Playback`): frames are released in recorded order
and broadcast to every connection (:class:`~arb.sim.connection.VenueConnection`) subscribed to their
stream, so a client that is not connected when a frame is released never sees it. The venue subclasses
(:mod:`arb.sim.binance.public`, :mod:`arb.sim.bybit.public`) speak the wire formats; this module
owns everything they share.
"""

from __future__ import annotations

__all__ = ["BookView", "FakeVenue", "OutFrame", "RestRequest", "SubscriptionEvent", "VenueConnection", "VenueStats"]

import asyncio
import collections
import json
import logging
import socket
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Self

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from arb.sim.connection import ConnectionTerms, OutFrame, VenueConnection
from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, RefuseMode, RestFault
from arb.sim.options import MANUAL, VenueOptions
from arb.sim.playback import Playback
from arb.sim.replay import Classified, Replay, ReplayFrame, SessionSpec, normalize_sessions
from arb.sim.stats import RestRequest, SubscriptionEvent, VenueStats
from arb.waiting import Conditions, cancel_and_wait

logger = logging.getLogger(__name__)

_ENDPOINT_KEY = web.AppKey("arb_fake_venue_endpoint", int)


def _stamp(request: web.Request) -> int | None:
    # the client's signing time of a request: Binance's timestamp parameter, Bybit's header
    text = request.query.get("timestamp") or request.headers.get("X-BAPI-TIMESTAMP") or ""
    return int(text) if text.isdigit() else None


_CLOSE_HANDSHAKE_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class BookView:
    """The venue's own book for one symbol, best levels first, wire strings kept."""

    symbol: str
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    update_id: int | None
    """Binance: the last applied ``u`` (``lastUpdateId``); Bybit: the last ``u``. ``None`` before the
    book has a snapshot."""


class FakeVenue:
    """Base of the fake venues: servers, market clock, connections, fault plan, counters.

    Use as ``async with FakeBinanceVenue(...) as venue:``; leaving the block closes every socket,
    task and port. Subclasses implement the wire format.

    ``recordings``: a file, or a list of sessions (each a file or the consecutive files of one
    session). ``options``: how the venue serves (:class:`~arb.sim.options.VenueOptions`: pacing,
    ports, pings, sockets, its clock); ``ping_interval`` left to the venue is the class's
    :attr:`default_ping_interval`.
    """

    venue_name = "fake"
    default_ping_interval: float | None = None
    """Seconds between the server's WebSocket pings when the options leave it to the venue."""

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: str,
        options: VenueOptions | None = None,
    ) -> None:
        options = options if options is not None else VenueOptions()
        self.options = options
        """What the venue was started with."""
        self.market = market
        self.host = options.host
        self.faults = FaultPlan()
        """The fault plan: script faults here, read :attr:`FaultPlan.applied` afterwards."""
        self.stats = VenueStats()
        self._speed = options.speed
        self._endpoint_count = options.endpoints
        self._ping_interval = options.pings(self.default_ping_interval)
        self._pong_timeout = options.pong_timeout
        self._pong_timeout_close_code = options.pong_timeout_close_code
        self._send_buffer = options.send_buffer
        self._clock = options.clock
        replay = Replay(sessions := normalize_sessions(recordings), self._classify, max_frames=options.max_frames)
        self._sessions = sessions
        self.playback = Playback(replay, self._release, clock=options.clock, name=self.venue_name)
        """The market clock: the recording released by hand or in time (its controls are the venue's too)."""
        self._replay = replay
        clock = self.playback
        self.peek, self.advance, self.advance_until = clock.peek, clock.advance, clock.advance_until
        self.drain, self.play, self.gate = clock.drain, clock.play, clock.gate
        self.skip_to, self.wait_played = clock.skip_to, clock.wait_played
        self._connections: dict[int, VenueConnection] = {}
        self._history: list[VenueConnection] = []
        self._next_connection = 0
        self._runners: list[web.AppRunner] = []
        self._sites: list[web.SockSite] = []
        self._parked: dict[int, socket.socket] = {}
        """Per endpoint that refuses connections: its port, bound and not listening (see refuse_connections)."""
        self._ports: list[int] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._lagging: collections.deque[tuple[float, list[tuple[OutFrame, list[VenueConnection]]]]] = (
            collections.deque()
        )
        """Released frames waiting for the feed's lag (``FaultPlan.lag_feed``): when each is due, loop time."""
        self._conditions = Conditions()
        self._terms = ConnectionTerms(self.faults, self._record, self._notify, options.write_timeout,
                                      self._unknown_stream_text)  # fmt: skip
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------

    @staticmethod
    def _market_options(market: str, options: VenueOptions | None, no_spot_funding: str) -> VenueOptions:
        """``options`` (the defaults for ``None``) of a venue for ``market``; ``ValueError`` for a market
        other than spot or linear, or for funding asked of spot (``no_spot_funding`` says why not)."""
        if market not in ("spot", "linear"):
            raise ValueError(f"market must be 'spot' or 'linear', got {market!r}")
        options = options if options is not None else VenueOptions()
        if options.funding and market != "linear":
            raise ValueError(f"funding= needs market='linear': {no_spot_funding}")
        return options

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind every endpoint on ``host`` (ports chosen by the OS) and start serving."""
        if self._started:
            raise RuntimeError("the venue is already started")
        self._started = True
        self._replay.prime()
        try:
            for index in range(self._endpoint_count):
                app = web.Application(middlewares=[self._refuse_middleware])
                app[_ENDPOINT_KEY] = index
                self._add_routes(app)
                runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
                await runner.setup()
                self._runners.append(runner)
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, 0))
                site = web.SockSite(runner, sock)
                await site.start()
                self._sites.append(site)
                self._ports.append(sock.getsockname()[1])
        except BaseException:
            await self.close()
            raise
        logger.info("%s %s fake venue listening on %s", self.venue_name, self.market, self.base_urls)
        if self._speed != MANUAL:
            self.play(self._speed)

    async def close(self) -> None:
        """Stop playback, close every connection and port, and await every task the venue made."""
        if self._closed:
            return
        self._closed = True
        await self.playback.stop()
        self.faults.rest_release()
        self.faults.release_orders()
        for conn in list(self._connections.values()):
            await conn.close(1001, "venue closing")
        for runner in self._runners:
            await runner.cleanup()
        for parked in self._parked.values():
            parked.close()
        self._parked.clear()
        await cancel_and_wait(*self._tasks)
        self._conditions.cancel()
        logger.info("%s %s fake venue closed", self.venue_name, self.market)

    async def rewind(self) -> int:
        """Play the recording again from its start, as a venue back from maintenance: timed playback stops,
        every connection is closed (1001: clients reconnect), the closed ones and the request, subscription
        and fault logs are forgotten (a venue replayed for days keeps what one pass needs), the books reset
        (:meth:`_rewind_state`); a trading venue's ledger stays. Returns the connections closed; :meth:`play`
        goes on."""
        await self.playback.stop()
        closing = list(self._connections.values())
        for conn in closing:
            await conn.close(1001, "venue rewinding")
        await self.wait_until(lambda: not self._connections)
        self._history = [c for c in self._history if c.open]
        for log in (self.stats.rest_requests, self.stats.subscriptions, self.faults.applied, self._lagging):
            log.clear()
        self._replay = self.playback.replay = Replay(self._sessions, self._classify, max_frames=self.options.max_frames)
        self._replay.prime()
        self._rewind_state()
        return len(closing)

    def _rewind_state(self) -> None:
        """Forget the market state the released frames built (a subclass's books), for :meth:`rewind`."""

    async def refuse_connections(self, endpoint: int = 0) -> None:
        """Stop listening on ``endpoint``'s port: every new connection (REST or WebSocket) is refused by
        the operating system, as a host whose service is down refuses it (the client sees
        ``ECONNREFUSED``). The port stays this venue's (bound, not listening); connections already open
        stay open. :meth:`accept_connections` listens again on the same port."""
        if endpoint in self._parked:
            return
        site = self._sites[endpoint]
        await site.stop()
        parked = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        parked.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        parked.bind((self.host, self._ports[endpoint]))
        self._parked[endpoint] = parked
        self.stats.connections_refused += 1
        self._record(AppliedFault(FaultKind.REFUSE, detail=f"endpoint {endpoint}: not listening"))

    async def accept_connections(self, endpoint: int = 0) -> None:
        """Undo :meth:`refuse_connections`: listen on ``endpoint``'s port again."""
        parked = self._parked.pop(endpoint, None)
        if parked is None:
            return
        site = web.SockSite(self._runners[endpoint], parked)
        await site.start()
        self._sites[endpoint] = site

    # -- addresses -------------------------------------------------------------------------------

    @property
    def ports(self) -> list[int]:
        """The bound port of each endpoint, in endpoint order."""
        return list(self._ports)

    @property
    def base_urls(self) -> list[str]:
        """``http://host:port`` of each endpoint."""
        return [f"http://{self.host}:{port}" for port in self._ports]

    @property
    def rest_url(self) -> str:
        """The REST base URL (endpoint 0), e.g. ``http://127.0.0.1:PORT``."""
        if not self._ports:
            raise RuntimeError("start the venue first")
        return self.base_urls[0]

    @property
    def path(self) -> str:
        """The path of the venue's public WebSocket (a subclass's): :attr:`ws_urls` name it on each port."""
        raise NotImplementedError

    @property
    def ws_urls(self) -> list[str]:
        """The WebSocket URL of each endpoint, as a config lists them: ``ws://host:port`` and :attr:`path`."""
        return [self._ws_url(port) for port in self._ports]

    def _ws_url(self, port: int) -> str:
        return f"ws://{self.host}:{port}{self.path}"

    # -- the market clock ------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """How many recorded frames have been released."""
        return self._replay.released

    @property
    def exhausted(self) -> bool:
        """True when the whole recording has been released."""
        return self._replay.exhausted

    async def _release(self, frame: ReplayFrame) -> None:
        """Release one recorded frame (the playback's callable): move the book, write the frames out."""
        outs = self._on_release(frame)
        # Subscribers are fixed here, synchronously after the book moved: a connection that
        # subscribes later got a snapshot that already includes this frame.
        targets = [(out, [c for c in self._connections.values() if out.stream in c.subscriptions]) for out in outs]
        if self.faults.feed_lag_s > 0 or self._lagging:
            self._lag(targets)
        else:
            for out, conns in targets:
                for conn in conns:
                    await conn.deliver(out)
        self.stats.frames_released += 1
        self._update_stall(frame)
        self._notify()

    def _lag(self, targets: list[tuple[OutFrame, list[VenueConnection]]]) -> None:
        # The feed lags the venue (FaultPlan.lag_feed): the frame's book moved now, its subscribers get it
        # feed_lag_s later, in release order, from one task (a frame released once the lag ends still waits
        # behind those lagging, so nothing is reordered).
        loop = asyncio.get_running_loop()
        starting = not self._lagging
        self._lagging.append((loop.time() + self.faults.feed_lag_s, targets))
        if starting:
            self._spawn(self._deliver_lagging(), "feed-lag")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str = "task") -> None:
        """Run ``coro`` as one of the venue's tasks (awaited on closing)."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.venue_name}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_lagging(self) -> None:
        loop = asyncio.get_running_loop()
        while self._lagging:
            due, targets = self._lagging[0]
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)  # the simulated feed's latency, not a test waiting
            for out, conns in targets:
                for conn in conns:
                    if conn.open:
                        await conn.deliver(out)
            self._lagging.popleft()
            self._notify()

    def _update_stall(self, frame: ReplayFrame) -> None:
        rule = self.faults.stall_rule
        if rule is None or rule.triggered:
            return
        if rule.stream is None:
            reached = frame.index >= rule.after
        else:
            reached = frame.stream == rule.stream and frame.stream_index >= rule.after
        if reached:
            rule.triggered = True
            self._record(AppliedFault(FaultKind.STALL, frame.stream, frame.stream_index, None, "started"))

    # -- waiting for conditions ------------------------------------------------------------------

    def _notify(self) -> None:
        self._conditions.notify()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true (checked now and after every venue state change)."""
        await self._conditions.wait_until(predicate)

    async def wait_for_connections(self, n: int) -> None:
        """Return once ``n`` connections have been accepted in total (since start)."""
        await self.wait_until(lambda: self.stats.connections_accepted >= n)

    async def wait_for_subscription(self, stream: str, count: int = 1) -> None:
        """Return once ``count`` open connections are subscribed to ``stream`` (a stream or topic)."""
        await self.wait_until(lambda: self.subscriber_count(stream) >= count)

    async def wait_for_rest_requests(self, n: int) -> None:
        """Return once ``n`` REST requests have been answered in total."""
        await self.wait_until(lambda: len(self.stats.rest_requests) >= n)

    async def wait_for_rest_held(self, n: int = 1) -> None:
        """Return once ``n`` REST requests are being held by :meth:`FaultPlan.rest_hold`."""
        await self.wait_until(lambda: self.stats.rest_held >= n)

    async def wait_for_disconnects(self, n: int) -> None:
        """Return once ``n`` connections have closed in total."""
        await self.wait_until(lambda: sum(1 for c in self._history if not c.open) >= n)

    # -- introspection ---------------------------------------------------------------------------

    @property
    def connections(self) -> list[VenueConnection]:
        """Open connections, in accept order."""
        return list(self._connections.values())

    @property
    def all_connections(self) -> list[VenueConnection]:
        """Every connection ever accepted (open or closed), in accept order."""
        return list(self._history)

    def subscriber_count(self, stream: str) -> int:
        """How many open connections are subscribed to ``stream``."""
        return sum(1 for c in self._connections.values() if stream in c.subscriptions)

    def book(self, symbol: str, depth: int | None = None) -> BookView:
        """The venue's own book for ``symbol`` (``depth`` levels a side, all when ``None``)."""
        raise NotImplementedError

    def mark_price(self, symbol: str) -> Decimal | None:
        """The fake's mark price of ``symbol``: its book's mid, or its one side; ``None`` for an empty book."""
        view = self.book(symbol, 1)
        tops = [Decimal(side[0][0]) for side in (view.bids, view.asks) if side]
        return sum(tops, Decimal(0)) / len(tops) if tops else None

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- servers ---------------------------------------------------------------------------------

    @web.middleware
    async def _refuse_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = request.app[_ENDPOINT_KEY]
        mode = self.faults.refused_mode(endpoint)
        if mode is None:
            return await handler(request)
        self.stats.connections_refused += 1
        self._record(AppliedFault(FaultKind.REFUSE, detail=f"endpoint {endpoint}: {mode.value} {request.path}"))
        self._notify()
        if mode is RefuseMode.DROP and request.transport is not None:
            request.transport.abort()
        return web.Response(status=503, text="Service Unavailable")

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _serve_ws(self, request: web.Request, *, streams: Sequence[str], combined: bool) -> web.StreamResponse:
        """Accept a WebSocket upgrade, register the connection and run its read loop."""
        endpoint = request.app[_ENDPOINT_KEY]
        ws = web.WebSocketResponse(
            autoping=False, compress=False, timeout=_CLOSE_HANDSHAKE_TIMEOUT_S, max_msg_size=1 << 20
        )
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text='Can "Upgrade" only to "WebSocket".')
        conn = VenueConnection(
            self._terms,
            self._next_connection,
            endpoint,
            request.path_qs,
            ws,
            request,
            combined=combined,
            conn_id=self._make_conn_id(self._next_connection),
        )
        self._next_connection += 1
        # Registered before the 101 goes out, so a client that has seen its handshake complete
        # receives every frame released afterwards on the streams named in its URL.
        self._connections[conn.id] = conn
        self._history.append(conn)
        for stream in streams:
            conn.subscriptions[stream] = None
        try:
            await conn.prepare(self._send_buffer)
        except BaseException:
            conn.open = False
            del self._connections[conn.id]
            raise
        self.stats.connections_accepted += 1
        if streams:
            self._log_subscription(conn, "subscribe", streams, ok=True)
        logger.debug("connection %d accepted on endpoint %d: %s", conn.id, endpoint, request.path_qs)
        self._notify()
        pinger: asyncio.Task[None] | None = None
        if self._ping_interval is not None:
            pinger = asyncio.create_task(
                conn.ping_loop(self._ping_interval, self._pong_timeout, self._pong_timeout_close_code),
                name=f"{self.venue_name}-ping-{conn.id}",
            )
            self._tasks.add(pinger)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.stats.control_messages += 1
                    await self._on_text(conn, message.data)
                elif message.type is WSMsgType.PING:
                    await conn.pong(message.data)
                elif message.type is WSMsgType.PONG:
                    conn.on_pong(bytes(message.data))
                elif message.type is WSMsgType.ERROR:
                    break
                else:
                    self.stats.ignored_messages += 1
        except ConnectionError:
            logger.debug("connection %d: read failed, peer gone", conn.id)
        finally:
            conn.open = False
            if conn.close_code is None:  # closed by the client: the code it sent
                conn.close_code = ws.close_code
            if pinger is not None:
                await cancel_and_wait(pinger)
                self._tasks.discard(pinger)
            del self._connections[conn.id]
            logger.debug("connection %d closed (code %s)", conn.id, conn.close_code)
            self._notify()
        return ws

    def _log_subscription(self, conn: VenueConnection, op: str, streams: Sequence[str], ok: bool) -> None:
        self.stats.subscriptions.append(SubscriptionEvent(conn.id, op, tuple(streams), ok, self._replay.released))

    async def _begin_rest(self, request: web.Request) -> None:
        """Hold the request while the fault plan holds REST; returns when it may be answered."""
        if self.faults.holding_rest:
            self.stats.rest_held += 1
            self._record(AppliedFault(FaultKind.REST_HOLD, detail=request.path_qs))
            self._notify()
            try:
                await self.faults.wait_rest_gate()
            finally:
                self.stats.rest_held -= 1
                self._notify()

    async def _rest_answer(
        self, request: web.Request, build: Callable[[], tuple[int, bytes]], error: Callable[[RestFault], bytes],
        detail: str,
    ) -> tuple[int, bytes, dict[str, str]]:  # fmt: skip
        """The status, body and headers of a public REST call, once any hold is released (:meth:`_begin_rest`):
        ``build()``'s, from the venue's state at that moment; under the REST fault the plan scripts for its path,
        the first 40 bytes of that body (a malformed answer, HTTP 200) or the fault's status and body (else
        ``error(fault)``, the venue's words) with a ``Retry-After`` when the fault has one, the fault recorded
        with ``detail``. The caller logs the call and sends the answer."""
        await self._begin_rest(request)
        fault = self.faults.take_rest_fault(request.path)
        if fault is None:
            status, body = build()
        elif fault.kind is FaultKind.REST_MALFORMED:
            status, body = 200, build()[1][:40]
            self._record(AppliedFault(FaultKind.REST_MALFORMED, detail=detail))
        else:
            status, body = fault.status, fault.body or error(fault)
            self._record(AppliedFault(FaultKind.REST_ERROR, detail=f"{status} {detail}"))
        headers = {"Retry-After": str(fault.retry_after)} if fault is not None and fault.retry_after else {}
        return status, body, headers

    def _log_rest(self, request: web.Request, status: int, weight: int) -> None:
        self.stats.rest_requests.append(
            RestRequest(
                endpoint=request.app[_ENDPOINT_KEY],
                method=request.method,
                path=request.path,
                params=dict(request.query),
                status=status,
                weight=weight,
                clock_position=self._replay.released,
                time=self._clock(),
                sent_ms=_stamp(request),
            )
        )
        self._notify()

    def _request(
        self, conn: VenueConnection, text: str, key: str, log: logging.Logger, complaint: str
    ) -> dict[str, Any] | None:
        """``text`` as a JSON object whose ``key`` is a string (a request on a WebSocket); otherwise
        ``None``, counted as ignored and logged on ``log`` with ``complaint`` (formatted with the
        connection id and the text)."""
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            request = None
        if isinstance(request, dict) and isinstance(request.get(key), str):
            return request
        self.stats.ignored_messages += 1
        log.warning(complaint, conn.id, text)
        return None

    def _record(self, fault: AppliedFault) -> None:
        self.faults.applied.append(fault)
        logger.info("fault applied: %s", fault)

    # -- what a venue subclass provides ----------------------------------------------------------

    def _classify(self, raw: bytes) -> Classified | None:
        raise NotImplementedError

    def _on_release(self, frame: ReplayFrame) -> list[OutFrame]:
        """Move the venue's state (book) with ``frame``; return the frames to broadcast."""
        raise NotImplementedError

    async def _on_text(self, conn: VenueConnection, text: str) -> None:
        raise NotImplementedError

    def _make_conn_id(self, index: int) -> str:
        return str(index)

    def _unknown_stream_text(self, out: OutFrame, as_stream: str | None) -> str:
        raise NotImplementedError
