"""Order creates by REST written without suspending: keep-alive HTTP/1.1 connections of arb's own.

ccxt sends a request through aiohttp, in the order's task: the request leaves once the event loop runs
that task, after whatever else was ready (on Python 3.11 a body even waits for a task of its own), so a
pair's two REST legs reached the venues 0.3-0.7 ms apart and 1.1-1.6 ms after their intents. A
:class:`RestLane` keeps a few connections to one REST host open and warm; a create built and signed by
ccxt (:class:`~connectors.common.order_entry.SignedRest`) becomes a :class:`RestOutgoing` whose
:meth:`~RestOutgoing.write` hands its bytes to an idle connection's socket at once, in the step that
decided the order, as an order WebSocket's request is written. The answer is read with h11 and handed
back as ccxt's ``fetch`` would have it, so the venue's answer rules hold on both paths.

The rules an order needs:

- :meth:`RestOutgoing.write` raises nothing. ``written_ns`` 0 and ``error`` a
  :class:`~connectors.common.order_socket.NotSentError`: nothing left this process (no idle
  connection); the same signed request may then go through ccxt's client.
- Once written, the request may have reached the venue: a connection lost before the whole answer
  raises :class:`~connectors.common.order_socket.AnswerLostError`, a late one :class:`TimeoutError`
  (the connection is closed: its answer could no longer be told from another's); the order's fate is
  then unknown and found out by a query, never by sending it again.
- One request at a time on a connection (no pipelining). A connection the venue closed, or one idle
  longer than ``idle_s`` (a keep-alive the venue may be closing as the request leaves), is replaced in
  the background, never on an order's path.
"""

from __future__ import annotations

__all__ = ["PreparedCreate", "RestLane", "RestOutgoing", "verified_tls"]

import asyncio
import contextlib
import functools
import logging
import ssl
import time
import zlib
from collections.abc import Callable
from urllib.parse import urlsplit

import certifi
import h11

from arb.waiting import Conditions, cancel_and_wait
from connectors.common.order_entry import Outgoing, SignedRest
from connectors.common.order_socket import AnswerLostError, NotSentError

log = logging.getLogger(__name__)

Answer = tuple[int, str, dict[str, str], bytes]
"""A response: the HTTP status, its reason, the headers (as the venue cased them) and the body."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: a request written, its answer read with h11, then the next."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.http = h11.Connection(h11.CLIENT)
        self.busy = False
        self.lost = False
        self.idle_since_ns = time.monotonic_ns()
        """When it last became idle, or busy."""
        self._chunks: list[bytes] = []
        self._arrived: asyncio.Future[None] | None = None
        self.closed = asyncio.get_running_loop().create_future()

    @property
    def idle(self) -> bool:
        transport = self.transport
        return not self.busy and not self.lost and transport is not None and not transport.is_closing()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake()
        if not self.closed.done():
            self.closed.set_result(None)

    def _wake(self) -> None:
        arrived, self._arrived = self._arrived, None
        if arrived is not None and not arrived.done():
            arrived.set_result(None)

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()

    async def answer(self, request: h11.Request, body: bytes) -> Answer:
        """The answer to ``request`` (already on the wire as bytes of arb's own): h11 is told of it now,
        then reads what came back. Raises AnswerLostError if the connection ends first."""
        http = self.http
        try:
            http.send(request)
            if body:
                http.send(h11.Data(data=body))
            http.send(h11.EndOfMessage())
            response: h11.Response | None = None
            parts: list[bytes] = []
            while True:
                event = http.next_event()
                if event is h11.NEED_DATA:
                    if self._chunks:
                        http.receive_data(b"".join(self._chunks))
                        self._chunks.clear()
                    elif self.lost:
                        http.receive_data(b"")  # the end: a body read to the close ends here, else h11 raises
                    else:
                        self._arrived = asyncio.get_running_loop().create_future()
                        await self._arrived
                elif isinstance(event, h11.Response):
                    response = event
                elif isinstance(event, h11.Data):
                    parts.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed):
                    raise AnswerLostError("the connection closed before the answer")
        except h11.ProtocolError as error:
            self.close()
            raise AnswerLostError(f"the answer could not be read: {error}") from error
        except BaseException:
            self.close()  # a timeout or a cancel: its answer may still come, on no one's request
            raise
        assert response is not None
        if http.our_state is h11.DONE and http.their_state is h11.DONE and not self.lost:
            http.start_next_cycle()
            self.busy = False
            self.idle_since_ns = time.monotonic_ns()
        else:
            self.close()  # "Connection: close", or the venue closed it after answering
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in response.headers.raw_items()}
        body = b"".join(parts)
        coding = next((v for k, v in headers.items() if k.lower() == "content-encoding"), "identity").lower()
        if coding in ("gzip", "deflate"):  # none is asked for; a venue that compresses anyway is read as aiohttp would
            try:
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)
            except zlib.error as error:
                raise AnswerLostError(f"the answer could not be read: {coding}: {error}") from error
        return response.status_code, response.reason.decode("latin-1"), headers, body


@functools.cache
def verified_tls() -> ssl.SSLContext:
    """The process's one TLS client context: certificates and host names checked against certifi's CA
    bundle. Every REST lane and ccxt client of the process shares it; making one reads and parses the whole
    bundle (tens of milliseconds of CPU), which each client would otherwise do at its first request."""
    return ssl.create_default_context(cafile=certifi.where())


class RestLane:
    """Keep-alive connections to the REST host of ``base_url`` (``https://api.binance.com``), ``size`` of
    them, for order creates (see the module docstring). ``name``: how the log names it."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        size: int,
        request_timeout_s: float,
        idle_s: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{name}: expected an http(s) URL, got {base_url!r}")
        self.name, self.size, self.request_timeout_s, self.idle_s = name, size, request_timeout_s, idle_s
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._host_header = parts.netloc
        self._ssl = (ssl_context or verified_tls()) if parts.scheme == "https" else None
        self._connections: list[_Connection] = []
        self._keeper: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._conditions = Conditions()
        self.opened = 0
        """Connections opened (the first ones included)."""
        self.written = 0
        """Requests written."""
        self.no_idle = 0
        """Creates that found no idle connection (they went through ccxt's client)."""

    def serves(self, url: str) -> bool:
        """Whether ``url`` is on this lane's host."""
        return url.startswith(self.origin) and url[len(self.origin) : len(self.origin) + 1] in ("/", "?", "")

    async def start(self) -> None:
        """Open the connections (those that cannot be opened now are retried in the background)."""
        for _ in range(self.size):
            with contextlib.suppress(OSError, TimeoutError):
                await self._open()
        log.info("%s: %d of %d REST connections open for order creates", self.name, self.ready_count, self.size)
        self._keeper = asyncio.get_running_loop().create_task(self._keep(), name=f"{self.name} REST lane")

    @property
    def ready_count(self) -> int:
        return sum(1 for c in self._connections if not c.lost)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.request_timeout_s):
            _, connection = await loop.create_connection(
                _Connection, self.host, self.port, ssl=self._ssl, server_hostname=self.host if self._ssl else None
            )
        self._connections.append(connection)
        self.opened += 1
        connection.closed.add_done_callback(self._closed)
        self._conditions.notify()

    def _closed(self, _: object) -> None:
        self._changed.set()
        self._conditions.notify()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds: asked now and whenever a connection opens or closes."""
        await self._conditions.wait_until(predicate)

    async def _keep(self) -> None:
        # Replace lost connections and retire long-idle ones, off every order's path
        delay = 0.5
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.idle_s / 2):
                    await self._changed.wait()  # a connection closed, or half the idle time went by
            self._changed.clear()
            now = time.monotonic_ns()
            for c in self._connections:
                if c.idle and now - c.idle_since_ns > self.idle_s * 1e9:
                    c.close()
                elif c.busy and now - c.idle_since_ns > 2 * self.request_timeout_s * 1e9:
                    c.close()  # a request no one awaits the answer of any more (a bug's): the lane keeps its size
            self._connections = [c for c in self._connections if not c.lost]
            try:
                while len(self._connections) < self.size:
                    await self._open()
                delay = 0.5
            except (OSError, TimeoutError) as error:
                log.warning("%s: a REST connection cannot be opened (%s); next try in %.1f s", self.name, error,
                            delay)  # fmt: skip
                await asyncio.sleep(delay)  # the retry's pace, not a wait for a condition
                delay = min(delay * 2, 30.0)
                self._changed.set()

    def outgoing(self, signed: SignedRest) -> RestOutgoing:
        """``signed`` as bytes on the wire, written later by :meth:`RestOutgoing.write`."""
        parts = urlsplit(signed.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        body = signed.body.encode() if signed.body else b""
        headers = [("Host", self._host_header), *(signed.headers or {}).items(), ("Content-Length", str(len(body)))]
        head = f"{signed.method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        return RestOutgoing(self, signed, head.encode("latin-1") + body, (target, headers), body)

    def _idle(self) -> _Connection | None:
        for connection in self._connections:
            if connection.idle:
                return connection
        return None

    async def close(self) -> None:
        """Stop replacing connections and close them."""
        keeper, self._keeper = self._keeper, None
        await cancel_and_wait(keeper)
        for connection in self._connections:
            connection.close()
        self._connections.clear()


class RestOutgoing:
    """A signed create as bytes, written by :meth:`write` without suspending; :meth:`answer` awaits the
    venue's answer. After :meth:`write`: ``written_ns`` is the write's time (0: nothing left this
    process, ``error`` says why, and ``signed`` may go through ccxt's client instead)."""

    __slots__ = ("_body", "_connection", "_raw", "_request", "error", "lane", "signed", "written_ns")

    def __init__(
        self, lane: RestLane, signed: SignedRest, raw: bytes, request: tuple[str, list[tuple[str, str]]], body: bytes
    ) -> None:
        self.lane, self.signed, self._raw, self._request, self._body = lane, signed, raw, request, body
        self._connection: _Connection | None = None
        self.written_ns = 0
        self.error: NotSentError | None = None

    def write(self) -> None:
        """Hand the request to an idle connection's socket now (once)."""
        if self._connection is not None or self.error is not None:
            return
        connection = self.lane._idle()
        if connection is None:
            self.lane.no_idle += 1
            self.error = NotSentError(f"{self.lane.name}: no idle REST connection")
            return
        connection.busy, connection.idle_since_ns = True, time.monotonic_ns()
        assert connection.transport is not None
        self.written_ns = time.time_ns()
        connection.transport.write(self._raw)
        self._connection = connection
        self.lane.written += 1

    async def answer(self) -> Answer:
        """The venue's answer, at most the request timeout; raises AnswerLostError or TimeoutError (see the
        module), or the write's error if nothing was written."""
        connection = self._connection
        if connection is None:
            raise self.error or NotSentError(f"{self.lane.name}: never written")
        target, headers = self._request  # h11's own record of the request, made once its bytes have left
        async with asyncio.timeout(self.lane.request_timeout_s):
            return await connection.answer(h11.Request(method=self.signed.method, target=target, headers=headers),
                                           self._body)  # fmt: skip


PreparedCreate = Outgoing | RestOutgoing | SignedRest
"""A create built and signed ahead of its send: for the order WebSocket, the REST lane, or ccxt's client."""
