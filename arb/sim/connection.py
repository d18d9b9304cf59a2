"""One accepted WebSocket connection of a simulated venue, and the frames it is sent.

A :class:`VenueConnection` writes data frames (:class:`OutFrame`) in order with its control replies,
applies the venue's fault plan to each broadcast frame (drop, duplicate, hold, break, close), and
runs the server's pings. It knows its venue only through :class:`ConnectionTerms` (the fault plan and
a few callables), so it imports nothing of the venue; the venue accepts it and drives it, a test reads
its counters.
"""

from __future__ import annotations

__all__ = ["ConnectionTerms", "OutFrame", "VenueConnection", "malformed_text"]

import asyncio
import contextlib
import logging
import math
import socket
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, FrameFault

logger = logging.getLogger(__name__)

_SENT_LOG_SIZE = 100_000


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


def malformed_text(text: str) -> str:
    """Broken JSON in place of ``text``: cut right after the first nested object opens."""
    cut = text.find("{", 1)
    return text[: cut + 1] if cut > 0 else text[: max(1, len(text) // 2)]


@dataclass(frozen=True, slots=True)
class ConnectionTerms:
    """What a connection is given by its venue (one for all its connections)."""

    faults: FaultPlan
    record: Callable[[AppliedFault], None]
    """Append a fault that landed to the plan's ``applied`` (and log it)."""
    notify: Callable[[], None]
    """Wake the venue's waiters: the connection's state changed."""
    write_timeout: float | None
    """Seconds a write may block before the connection is dropped (1006); ``None``: no bound."""
    unknown_stream_text: Callable[[OutFrame, str | None], str]
    """The venue's well-formed copy of a frame claiming another stream (``None``: the venue's default name)."""


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
        terms: ConnectionTerms,
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
        self._terms = terms
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
            async with asyncio.timeout(self._terms.write_timeout):
                await self._ws.send_str(text)
        except ConnectionError:
            logger.debug("connection %d: write failed, peer gone", self.id)
            self.open = False
            return False
        except TimeoutError:
            # A client that stops reading would otherwise stall the one market clock for everyone.
            logger.warning("connection %d: not reading for %ss, dropping it", self.id, self._terms.write_timeout)
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

    async def prepare(self, send_buffer: int | None) -> None:
        """Send the 101 (after the venue registered the connection), and shrink the kernel send buffer to
        ``send_buffer`` bytes if given."""
        async with self._lock:
            await self._ws.prepare(self._request)
        if send_buffer is not None and self._request.transport is not None:
            sock = self._request.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)

    async def pong(self, payload: bytes) -> None:
        """Answer a client's ping, in order with the frames."""
        async with self._lock:
            if self.open and not self._ws.closed:
                with contextlib.suppress(ConnectionError):
                    await self._ws.pong(payload)
                    self.pings_answered += 1
        self._terms.notify()

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
        rule = self._terms.faults.stall_rule
        if rule is None or not rule.triggered or not rule.matches(self.id, self.endpoint):
            return False
        self._terms.record(AppliedFault(FaultKind.STALL, stream, stream_index, self.id, "frame withheld"))
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
                    for f in self._terms.faults.frame_faults(out.stream, out.stream_index)
                    if f.matches(self.id, self.endpoint)
                ]
            kinds = {f.kind: f for f in faults}
            text = self._render(out)
            terms = self._terms

            def applied(kind: FaultKind, detail: str = "") -> None:
                terms.record(AppliedFault(kind, out.stream, out.stream_index, self.id, detail))

            if (unknown := kinds.get(FaultKind.UNKNOWN_STREAM)) is not None:
                injected = terms.unknown_stream_text(out, unknown.as_stream)
                await self._write(injected)
                applied(FaultKind.UNKNOWN_STREAM, injected[:80])
            if FaultKind.DROP in kinds:
                applied(FaultKind.DROP)
            else:
                if FaultKind.MALFORMED in kinds:
                    text = malformed_text(text)
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

    def on_pong(self, payload: bytes) -> None:
        """A pong arrived: it answers the venue's ping with ``payload`` and every one before it."""
        if payload not in self._unanswered:
            return  # unsolicited pong: allowed, but it does not count as an answer
        for key in list(self._unanswered):
            del self._unanswered[key]
            if key == payload:
                break
        self.pongs_received += 1
        self._terms.notify()

    async def ping_loop(self, interval: float, timeout: float, close_code: int) -> None:
        """Ping every ``interval`` s; close with ``close_code`` when a ping is ``timeout`` s unanswered."""
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
