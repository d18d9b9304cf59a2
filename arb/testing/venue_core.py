"""The venue-independent core of the fake venue: ports, one market clock, connections, faults.

A :class:`FakeVenue` is an aiohttp server on 127.0.0.1 (port 0, the OS picks) serving WebSocket and
REST on each of its endpoints (one port per endpoint). It replays a recording on one market clock:
frames are released in recorded order and broadcast to every connection subscribed to their stream,
so a client that is not connected when a frame is released never sees it. The venue subclasses
(:mod:`arb.testing.fake_binance`, :mod:`arb.testing.fake_bybit`) speak the wire formats; this module
owns everything they share.

Release modes: manual (the default; nothing flows until :meth:`FakeVenue.advance`,
:meth:`FakeVenue.advance_until` or :meth:`FakeVenue.drain`), or timed (:meth:`FakeVenue.play`, or
``speed=`` at construction: ``1.0`` replays the recorded inter-arrival times, ``10.0`` ten times faster,
``None``/``"max"`` as fast as the sockets take it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from arb.testing.faults import AppliedFault, FaultKind, FaultPlan, FrameFault, RefuseMode
from arb.testing.replay import Classified, Replay, ReplayFrame, SessionSpec, normalize_sessions

__all__ = [
    "MANUAL",
    "BookView",
    "FakeVenue",
    "OutFrame",
    "RestRequest",
    "Speed",
    "SubscriptionEvent",
    "VenueConnection",
    "VenueStats",
]

logger = logging.getLogger(__name__)

MANUAL: Literal["manual"] = "manual"
Speed = float | Literal["manual", "max"] | None
"""``"manual"`` (default), a replay speed factor (``1.0`` = recorded pace), or ``None``/``"max"``."""

_ENDPOINT_KEY = web.AppKey("arb_fake_venue_endpoint", int)
_CLOSE_HANDSHAKE_TIMEOUT_S = 1.0
_SENT_LOG_SIZE = 100_000


def _speed_factor(speed: Speed) -> float | None:
    """``None`` for flat out, else the positive replay speed factor."""
    if speed is None or speed == "max":
        return None
    if isinstance(speed, str):
        raise ValueError(f"speed must be 'manual', 'max', None or a positive number, got {speed!r}")
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    return float(speed)


@dataclass(frozen=True, slots=True)
class OutFrame:
    """A data frame ready to go out: what a connection subscribed to ``stream`` receives."""

    stream: str
    stream_index: int
    """Which frame of ``stream`` (0-based over the recording) this is; -1 for a frame the venue built
    on its own (a Bybit snapshot on subscribe), which frame faults never target."""
    clock_index: int
    """Position on the venue's clock of the recorded frame behind this one."""
    text: str
    """The frame as sent (combined-stream envelope for Binance)."""
    raw_text: str | None = None
    """Binance only: the payload alone, for raw-stream (``/ws``) connections."""


@dataclass(frozen=True, slots=True)
class RestRequest:
    """One REST request the venue served (or refused)."""

    endpoint: int
    method: str
    path: str
    params: dict[str, str]
    status: int
    weight: int
    clock_position: int
    """Frames released when the answer was built."""


@dataclass(frozen=True, slots=True)
class SubscriptionEvent:
    """One subscribe or unsubscribe, from the URL or from a control message."""

    connection: int
    op: str
    streams: tuple[str, ...]
    ok: bool
    clock_position: int


@dataclass
class VenueStats:
    """Counters and logs a test asserts on."""

    frames_released: int = 0
    connections_accepted: int = 0
    connections_refused: int = 0
    control_messages: int = 0
    """Text messages received from clients (subscribe, ping, ...)."""
    ignored_messages: int = 0
    """Client messages the venue could not understand and did not answer."""
    rest_held: int = 0
    """REST requests waiting right now for :meth:`FaultPlan.rest_release`."""
    rest_requests: list[RestRequest] = field(default_factory=list)
    subscriptions: list[SubscriptionEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BookView:
    """The venue's own book for one symbol, best levels first, wire strings kept."""

    symbol: str
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    update_id: int | None
    """Binance: the last applied ``u`` (``lastUpdateId``); Bybit: the last ``u``. ``None`` before the
    book has a snapshot."""


@dataclass(slots=True)
class _Held:
    stream: str
    release_after: int
    text: str
    stream_index: int


class VenueConnection:
    """One accepted WebSocket connection; read its counters in tests, do not drive it."""

    def __init__(
        self,
        venue: FakeVenue,
        connection_id: int,
        endpoint: int,
        path: str,
        ws: web.WebSocketResponse,
        request: web.Request,
        *,
        combined: bool,
        conn_id: str,
    ) -> None:
        self.id = connection_id
        """The venue's connection number (0-based, in accept order)."""
        self.endpoint = endpoint
        self.path = path
        self.conn_id = conn_id
        """Bybit's ``conn_id`` for this connection."""
        self.combined = combined
        """Binance: combined-stream envelopes (``/stream``) rather than raw payloads (``/ws``)."""
        self.subscriptions: dict[str, None] = {}
        """Subscribed streams or topics, in subscription order."""
        self.frames_sent = 0
        """Data frames written (acks, pongs and pings not counted)."""
        self.frames_sent_by_stream: Counter[str] = Counter()
        self.sent_log: deque[tuple[str, int]] = deque(maxlen=_SENT_LOG_SIZE)
        """``(stream, stream_index)`` of every data frame written, in order."""
        self.pings_sent = 0
        """WebSocket pings the venue sent."""
        self.pongs_received = 0
        """WebSocket pongs that answered one of the venue's pings."""
        self.pings_answered = 0
        """Client WebSocket pings the venue answered with a pong."""
        self.open = True
        self.close_code: int | None = None
        """The close code: the venue's own when it closed the connection (1006 when it dropped TCP)."""
        self._venue = venue
        self._ws = ws
        self._request = request
        self._lock = asyncio.Lock()
        self._held: list[_Held] = []
        self._unanswered: dict[bytes, float] = {}

    def __repr__(self) -> str:
        return f"VenueConnection(id={self.id}, endpoint={self.endpoint}, path={self.path!r}, open={self.open})"

    # -- writing (the caller holds ``_lock`` for the *_locked methods) ----------------------------

    async def _write(self, text: str) -> bool:
        if not self.open or self._ws.closed:
            return False
        try:
            async with asyncio.timeout(self._venue._write_timeout):
                await self._ws.send_str(text)
        except ConnectionError:
            logger.debug("connection %d: write failed, peer gone", self.id)
            self.open = False
            return False
        except TimeoutError:
            # A client that stops reading would otherwise stall the one market clock for everyone.
            logger.warning("connection %d: not reading for %ss, dropping it", self.id, self._venue._write_timeout)
            self.open = False
            self.close_code = 1006
            if self._request.transport is not None:
                self._request.transport.abort()
            return False
        return True

    async def _write_data(self, stream: str, stream_index: int, text: str) -> None:
        if await self._write(text):
            self.frames_sent += 1
            self.frames_sent_by_stream[stream] += 1
            self.sent_log.append((stream, stream_index))

    async def send_control(self, text: str) -> None:
        """Write a control reply (ack, pong, error) in order with data frames."""
        async with self._lock:
            await self._write(text)

    async def change_subscriptions(
        self,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        reply: str | None = None,
        then: Callable[[], Sequence[OutFrame]] | None = None,
    ) -> None:
        """Subscribe/unsubscribe, write ``reply``, then the frames ``then()`` builds, atomically.

        ``then`` runs right after the subscription changed, with no await in between, so a frame it
        builds from the venue's state (a Bybit snapshot) and the broadcast frames that follow it
        never overlap or leave a hole.
        """
        async with self._lock:
            for stream in add:
                self.subscriptions[stream] = None
            for stream in remove:
                self.subscriptions.pop(stream, None)
            extra = list(then()) if then is not None else []
            if reply is not None:
                await self._write(reply)
            for out in extra:
                await self._send_data_locked(out)

    async def _close_locked(self, code: int, reason: str, *, abrupt: bool) -> None:
        if not self.open:
            return
        self.open = False
        self.close_code = 1006 if abrupt else code
        if abrupt:
            transport = self._request.transport
            if transport is not None:
                transport.abort()
            return
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await self._ws.close(code=code, message=reason.encode())

    async def close(self, code: int = 1001, reason: str = "", *, abrupt: bool = False) -> None:
        """Close this connection (a close frame with ``code``, or drop TCP when ``abrupt``)."""
        async with self._lock:
            await self._close_locked(code, reason, abrupt=abrupt)

    def _render(self, out: OutFrame) -> str:
        if self.combined or out.raw_text is None:
            return out.text
        return out.raw_text

    def _stalled(self, stream: str, stream_index: int) -> bool:
        rule = self._venue.faults.stall_rule
        if rule is None or not rule.triggered or not rule.matches(self.id, self.endpoint):
            return False
        self._venue._record(AppliedFault(FaultKind.STALL, stream, stream_index, self.id, "frame withheld"))
        return True

    async def _send_data_locked(self, out: OutFrame) -> None:
        """Write a frame the venue built itself (not subject to frame faults, only to a stall)."""
        if self._stalled(out.stream, out.stream_index):
            return
        await self._write_data(out.stream, out.stream_index, self._render(out))

    async def deliver(self, out: OutFrame) -> None:
        """Write one broadcast frame, applying whatever the fault plan says about it."""
        async with self._lock:
            if not self.open:
                return
            if self._stalled(out.stream, out.stream_index):
                return
            faults: list[FrameFault] = []
            if out.stream_index >= 0:
                faults = [
                    f
                    for f in self._venue.faults.frame_faults(out.stream, out.stream_index)
                    if f.matches(self.id, self.endpoint)
                ]
            kinds = {f.kind: f for f in faults}
            text = self._render(out)
            venue = self._venue

            def applied(kind: FaultKind, detail: str = "") -> None:
                venue._record(AppliedFault(kind, out.stream, out.stream_index, self.id, detail))

            if (unknown := kinds.get(FaultKind.UNKNOWN_STREAM)) is not None:
                injected = venue._unknown_stream_text(out, unknown.as_stream, combined=self.combined)
                await self._write(injected)
                applied(FaultKind.UNKNOWN_STREAM, injected[:80])
            if FaultKind.DROP in kinds:
                applied(FaultKind.DROP)
            else:
                if FaultKind.MALFORMED in kinds:
                    text = venue._malformed_text(text)
                    applied(FaultKind.MALFORMED, text)
                hold = kinds.get(FaultKind.DELAY) or kinds.get(FaultKind.SWAP)
                if hold is not None:
                    self._held.append(_Held(out.stream, out.stream_index + hold.frames, text, out.stream_index))
                    applied(hold.kind, f"held for {hold.frames} frame(s)")
                else:
                    await self._write_data(out.stream, out.stream_index, text)
                    if FaultKind.DUPLICATE in kinds:
                        await self._write_data(out.stream, out.stream_index, text)
                        applied(FaultKind.DUPLICATE)
            for held in [h for h in self._held if h.stream == out.stream and out.stream_index >= h.release_after]:
                self._held.remove(held)
                await self._write_data(held.stream, held.stream_index, held.text)
            if (close := kinds.get(FaultKind.CLOSE)) is not None:
                applied(FaultKind.CLOSE, f"code {close.code}" + (" (abrupt)" if close.abrupt else ""))
                await self._close_locked(close.code, close.reason, abrupt=close.abrupt)

    # -- pings -----------------------------------------------------------------------------------

    def _on_pong(self, payload: bytes) -> None:
        if payload not in self._unanswered:
            return  # unsolicited pong: allowed, but it does not count as an answer
        for key in list(self._unanswered):
            del self._unanswered[key]
            if key == payload:
                break
        self.pongs_received += 1
        self._venue._notify()

    async def _ping_loop(self, interval: float, timeout: float, close_code: int) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + interval
        sequence = 0
        while self.open:
            now = loop.time()
            oldest = next(iter(self._unanswered.values()), None)
            deadline = oldest + timeout if oldest is not None else math.inf
            if now >= deadline:
                logger.info("connection %d: no pong within %.3fs, closing", self.id, timeout)
                await self.close(close_code, "pong timeout")
                return
            if now >= next_ping:
                sequence += 1
                payload = str(sequence).encode()
                async with self._lock:
                    if not self.open:
                        return
                    try:
                        await self._ws.ping(payload)
                    except ConnectionError:
                        return
                self.pings_sent += 1
                self._unanswered[payload] = now
                next_ping = now + interval
                continue
            await asyncio.sleep(min(next_ping, deadline) - now)


class FakeVenue:
    """Base of the fake venues: servers, market clock, connections, fault plan, counters.

    Use as ``async with FakeBinanceVenue(...) as venue:``; leaving the block closes every socket,
    task and port. Subclasses implement the wire format.

    ``recordings``: a file, or a list of sessions (each a file or the consecutive files of one
    session). ``speed``: ``"manual"`` (default) or a timed speed that starts playing at ``start()``.
    ``endpoints``: how many ports. ``max_frames``: stop the recording after that many lines.
    ``ping_interval``/``pong_timeout`` (seconds): WebSocket pings from the server and how long an
    unanswered one may stay so before the connection is closed with ``pong_timeout_close_code``.
    ``write_timeout`` (seconds): a connection whose writes block that long (the client stopped
    reading) is dropped, so it cannot stall the clock for everyone. ``send_buffer`` (bytes): the
    kernel send buffer of each accepted WebSocket (small values make a slow consumer show quickly).
    ``clock``: wall time in seconds, for ``serverTime``, ban times and the rate-limit window.
    """

    venue_name = "fake"

    def __init__(
        self,
        recordings: SessionSpec | Sequence[SessionSpec],
        *,
        market: str,
        speed: Speed = MANUAL,
        endpoints: int = 1,
        host: str = "127.0.0.1",
        max_frames: int | None = None,
        ping_interval: float | None = None,
        pong_timeout: float = 60.0,
        pong_timeout_close_code: int = 1008,
        write_timeout: float | None = 10.0,
        send_buffer: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if endpoints < 1:
            raise ValueError("a venue needs at least one endpoint")
        if speed != MANUAL:
            _speed_factor(speed)  # reject a bad speed here, not after the ports are open
        self.market = market
        self.host = host
        self.faults = FaultPlan()
        """The fault plan: script faults here, read :attr:`FaultPlan.applied` afterwards."""
        self.stats = VenueStats()
        self._speed = speed
        self._endpoint_count = endpoints
        self._ping_interval = ping_interval
        self._pong_timeout = pong_timeout
        self._pong_timeout_close_code = pong_timeout_close_code
        self._write_timeout = write_timeout
        self._send_buffer = send_buffer
        self._clock = clock
        self._replay = Replay(normalize_sessions(recordings), self._classify, max_frames=max_frames)
        self._connections: dict[int, VenueConnection] = {}
        self._history: list[VenueConnection] = []
        self._next_connection = 0
        self._runners: list[web.AppRunner] = []
        self._sites: list[web.SockSite] = []
        self._parked: dict[int, socket.socket] = {}
        """Per endpoint that refuses connections: its port, bound and not listening (see refuse_connections)."""
        self._ports: list[int] = []
        self._clock_lock = asyncio.Lock()
        self._playback: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiters: list[tuple[asyncio.Future[None], Callable[[], bool]]] = []
        self._started = False
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
        if self._playback is not None:
            self._playback.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._playback
        self.faults.rest_release()
        self.faults.release_orders()
        for conn in list(self._connections.values()):
            await conn.close(1001, "venue closing")
        for runner in self._runners:
            await runner.cleanup()
        for parked in self._parked.values():
            parked.close()
        self._parked.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for future, _ in self._waiters:
            future.cancel()
        logger.info("%s %s fake venue closed", self.venue_name, self.market)

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
    def ws_urls(self) -> list[str]:
        """The WebSocket URL of each endpoint, as a config lists them."""
        return [self._ws_url(port) for port in self._ports]

    def _ws_url(self, port: int) -> str:
        raise NotImplementedError

    # -- the market clock ------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """How many recorded frames have been released."""
        return self._replay.released

    @property
    def exhausted(self) -> bool:
        """True when the whole recording has been released."""
        return self._replay.exhausted

    def peek(self) -> ReplayFrame | None:
        """The next frame to be released (the clock does not move)."""
        return self._replay.peek()

    async def advance(self, n: int = 1) -> int:
        """Release the next ``n`` recorded frames; return how many were released.

        Returns once each frame has been written to every connection subscribed to its stream.
        """
        released = 0
        async with self._clock_lock:
            while released < n and await self._release_next():
                released += 1
        return released

    async def advance_until(self, until: int | Callable[[ReplayFrame], bool]) -> int:
        """Release frames up to a point; return how many were released.

        ``until`` is a local receive time in ns (release every frame with ``local_ts <= until``) or a
        predicate (release frames up to and including the first for which it is true).
        """
        released = 0
        async with self._clock_lock:
            while (frame := self._replay.peek()) is not None:
                if isinstance(until, int) and frame.local_ts > until:
                    break
                await self._release_next()
                released += 1
                if not isinstance(until, int) and until(frame):
                    break
        return released

    async def drain(self) -> int:
        """Release everything left; return how many frames were released."""
        released = 0
        async with self._clock_lock:
            while await self._release_next():
                released += 1
                if released % 256 == 0:
                    await asyncio.sleep(0)
        return released

    def play(self, speed: Speed = 1.0, *, aligned: bool = False) -> None:
        """Start timed playback in the background (``1.0`` = recorded pace, ``None``/"max" = flat out).

        ``aligned``: each frame is released when the venue's ``clock`` reaches its recorded receive time
        (at once when that has passed), so a recording made for the present (``write_scenario(...,
        start_ms=...)``) plays at its own times on the venue's clock; needs speed 1.0.
        """
        if speed == MANUAL:
            raise ValueError("play() needs a speed; manual mode is the absence of play()")
        if self._playback is not None and not self._playback.done():
            raise RuntimeError("playback is already running")
        factor = _speed_factor(speed)
        if aligned and factor != 1.0:
            raise ValueError("aligned playback runs at the recorded pace (speed 1.0)")
        run = self._play_aligned() if aligned else self._play(factor)
        self._playback = asyncio.create_task(run, name=f"{self.venue_name}-playback")

    async def wait_played(self) -> None:
        """Return when background playback has released the whole recording."""
        if self._playback is None:
            raise RuntimeError("no playback running; call play() or pass speed=")
        await asyncio.shield(self._playback)

    async def _play(self, speed: float | None) -> None:
        loop = asyncio.get_running_loop()
        first_ts: int | None = None
        start = loop.time()
        count = 0
        while (frame := self._replay.peek()) is not None:
            if speed is not None:
                if first_ts is None:
                    first_ts, start = frame.local_ts, loop.time()
                due = start + (frame.local_ts - first_ts) / 1e9 / speed
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
            async with self._clock_lock:
                await self._release_next()
            count += 1
            if speed is None and count % 64 == 0:
                await asyncio.sleep(0)
        logger.info("%s playback finished after %d frames", self.venue_name, count)

    async def _play_aligned(self) -> None:
        loop = asyncio.get_running_loop()
        offset = loop.time() - self._clock()  # venue clock (s) -> loop time
        count = 0
        while (frame := self._replay.peek()) is not None:
            if (wait := frame.local_ts / 1e9 + offset - loop.time()) > 0:
                await asyncio.sleep(wait)
            async with self._clock_lock:
                await self._release_next()
            count += 1
            if count % 64 == 0:
                await asyncio.sleep(0)
        logger.info("%s playback finished after %d frames", self.venue_name, count)

    async def _release_next(self) -> bool:
        frame = self._replay.pop()
        if frame is None:
            return False
        outs = self._on_release(frame)
        # Subscribers are fixed here, synchronously after the book moved: a connection that
        # subscribes later got a snapshot that already includes this frame.
        targets = [(out, [c for c in self._connections.values() if out.stream in c.subscriptions]) for out in outs]
        for out, conns in targets:
            for conn in conns:
                await conn.deliver(out)
        self.stats.frames_released += 1
        self._update_stall(frame)
        self._notify()
        return True

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
        for future, predicate in self._waiters:
            if not future.done() and predicate():
                future.set_result(None)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true (checked now and after every venue state change)."""
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (future, predicate)
        self._waiters.append(entry)
        try:
            await future
        finally:
            self._waiters.remove(entry)

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
            self,
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
            async with conn._lock:
                await ws.prepare(request)
            if self._send_buffer is not None and request.transport is not None:
                sock = request.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
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
                conn._ping_loop(self._ping_interval, self._pong_timeout, self._pong_timeout_close_code),
                name=f"{self.venue_name}-ping-{conn.id}",
            )
            self._tasks.add(pinger)
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self.stats.control_messages += 1
                    await self._on_text(conn, message.data)
                elif message.type is WSMsgType.PING:
                    async with conn._lock:
                        if conn.open and not ws.closed:
                            with contextlib.suppress(ConnectionError):
                                await ws.pong(message.data)
                                conn.pings_answered += 1
                    self._notify()
                elif message.type is WSMsgType.PONG:
                    conn._on_pong(bytes(message.data))
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
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger
                self._tasks.discard(pinger)
            del self._connections[conn.id]
            logger.debug("connection %d closed (code %s)", conn.id, conn.close_code)
            self._notify()
        return ws

    def _log_subscription(self, conn: VenueConnection, op: str, streams: Sequence[str], *, ok: bool) -> None:
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
            )
        )
        self._notify()

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

    def _malformed_text(self, text: str) -> str:
        """Broken JSON in place of ``text``: cut right after the first nested object opens."""
        cut = text.find("{", 1)
        return text[: cut + 1] if cut > 0 else text[: max(1, len(text) // 2)]

    def _unknown_stream_text(self, out: OutFrame, as_stream: str | None, *, combined: bool) -> str:
        raise NotImplementedError
