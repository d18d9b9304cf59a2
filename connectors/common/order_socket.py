"""Order entry over a venue's WebSocket, without a general-purpose client on the hot path.

Both venues take orders over a WebSocket (Bybit v5 ``/v5/trade``, Binance's WebSocket API): a request
names an operation and carries the same parameters as the REST body; the answer echoes the request's
id. What differs per venue (how a connection logs in, how a request is framed and signed, where the
answer keeps its id) is a :class:`Framing`; this module keeps the connection, the ids and the
rules a live executor needs from it:

- :meth:`OrderSocket.send` returns once the request's bytes are handed to the socket, with a
  :class:`SentRequest` whose ``written_ns`` says when. If it raises :class:`NotSentError`, nothing left
  this process: the caller may send the same order another way (REST, with the same client order id).
  :meth:`OrderSocket.prepare` and :meth:`OrderSocket.write` split it in two: the frame built and signed
  first, the write later and synchronous (a decision's orders are prepared one by one, then written back
  to back).
- After :meth:`~OrderSocket.send` returned, the request may have reached the venue. Its answer is
  awaited with :meth:`SentRequest.answer`; a connection lost before the answer raises
  :class:`AnswerLostError`: the order's fate is unknown and is found out by a query, never by sending it
  again. A caller's own timeout (``asyncio.timeout`` around ``answer``) means the same.
- An answer that comes after its caller stopped waiting is logged and counted, never delivered.

The client never logs a request (Bybit's login carries the API key; Binance's requests do): only the
venue's answers, which carry no secret.
"""

from __future__ import annotations

__all__ = [
    "AnswerLostError",
    "Framing",
    "LoginRefusedError",
    "NotSentError",
    "OrderSocket",
    "PreparedRequest",
    "SentRequest",
]

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from arb.waiting import Conditions, cancel_and_wait

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder().decode
_PONGS = ("pong", b"pong")


class NotSentError(Exception):
    """The request never left this process (no connection, a refused login, a closed client): the same
    order may go another way."""


class LoginRefusedError(NotSentError):
    """The venue refused the connection's login (its code and text in the message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"login refused: {code} {message}")
        self.code = code


class AnswerLostError(Exception):
    """The connection closed after the request was sent and before its answer: the venue may or may not
    have acted on it."""


class Framing(Protocol):
    """One venue's order-entry wire: the login, the requests' frames and where answers keep their id."""

    def login(self, now_ms: int) -> bytes | None:
        """The frame that logs a new connection in (None: the venue signs every request instead)."""
        ...

    def login_answer(self, answer: Mapping[str, Any]) -> tuple[bool, str, str] | None:
        """``(accepted, code, text)`` when ``answer`` answers the login; None for any other frame."""
        ...

    def request(self, request_id: str, operation: str, params: Mapping[str, Any], now_ms: int) -> bytes:
        """The frame of one request."""
        ...

    def status(self, answer: Mapping[str, Any]) -> int:
        """The HTTP status the REST endpoint would have answered with (Binance's answers carry it in
        ``status``; Bybit answers every request with 200, as its REST does)."""
        ...

    def body(self, answer: Mapping[str, Any]) -> dict[str, Any]:
        """The answer as the REST endpoint's reply body would have it, so the venue's answer rules (codes,
        texts) and the adapter's reading of an acknowledgement hold on both paths."""
        ...

    def headers(self, answer: Mapping[str, Any]) -> dict[str, str]:
        """The REST response headers the answer stands for: the request counts it carries, under the names
        REST gives them (Binance's ``rateLimits`` as ``x-mbx-used-weight-1m``..., Bybit's ``header``), so the
        venue's reading of REST's limits reads it."""
        ...

    def answer_id(self, answer: Mapping[str, Any]) -> str | None:
        """The id an answer echoes (None: not an answer to a request, e.g. a pong)."""
        ...

    def orphan_refusal(self, answer: Mapping[str, Any]) -> bool:
        """An answer without an id that refuses requests in flight (Bybit's ``10003`` "Request not
        authorized" leaves the ``reqId`` out): every request waiting on this connection is then lost."""
        ...

    def ping(self) -> bytes | None:
        """The venue's application-level keep-alive frame (None: WebSocket pings do)."""
        ...


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request's frame built and signed by :meth:`OrderSocket.prepare`, not sent yet: ``payload`` the
    text the venue reads, ``wire`` the bytes a client puts on the connection for it (the WebSocket frame,
    masked: built by the library's own framing at prepare, so the write only hands them to the socket)."""

    operation: str
    request_id: str
    payload: bytes
    wire: bytes


class SentRequest:
    """A request handed to the socket: when, and its answer to come."""

    __slots__ = ("_answer", "_socket", "request_id", "written_ns")

    def __init__(self, socket: OrderSocket, request_id: str, written_ns: int, answer: asyncio.Future[Any]) -> None:
        self._socket = socket
        self._answer = answer
        self.request_id = request_id
        self.written_ns = written_ns
        """``time.time_ns()`` right before the frame was handed to the socket (the write follows at once)."""

    async def answer(self) -> dict[str, Any]:
        """The venue's answer, as its JSON object; raises :class:`AnswerLostError` if the connection closed
        first. A caller that stops waiting (its timeout) gives the request up: an answer that comes after
        is logged and counted (:attr:`OrderSocket.late_answers`), not delivered."""
        try:
            answer: dict[str, Any] = await asyncio.shield(self._answer)
        except asyncio.CancelledError:
            self._socket._waiting.pop(self.request_id, None)
            raise
        return answer


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(eq=False)
class OrderSocket:
    """One logged-in order-entry connection to ``url``, opened by :meth:`start` and again after a loss by
    :meth:`start` (the caller decides when: a lost connection is never reopened behind its back)."""

    url: str
    framing: Framing
    _: KW_ONLY
    name: str
    open_timeout_s: float = 10.0
    ping_interval_s: float = 20.0
    clock_ms: Callable[[], int] = _wall_ms
    """The venue-facing wall clock in ms (what a login or a request is stamped with)."""
    connects: int = field(default=0, init=False)
    """Logins accepted since the client was made."""
    late_answers: int = field(default=0, init=False)
    """Answers that came after their caller stopped waiting, or to no request of this client."""
    lost: int = field(default=0, init=False)
    """Requests whose connection closed before their answer."""
    written: int = field(default=0, init=False)
    """Requests handed to the socket (or whose write began) since the client was made."""

    def __post_init__(self) -> None:
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ping: asyncio.Task[None] | None = None
        """The connection's keep-alive (one of ``_tasks``), ended with the connection."""
        self._closing: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._down = asyncio.Event()
        self._down.set()
        self._waiters = Conditions()
        self._ids = itertools.count(1)
        self._prefix = f"{time.time_ns() // 1_000_000 % 10**9:x}-"

    @property
    def ready(self) -> bool:
        """Logged in, and the connection open."""
        return self._ws is not None

    async def start(self) -> None:
        """Connect and log in (bounded by ``open_timeout_s``); raises :class:`NotSentError` (or
        :class:`LoginRefusedError`) when that fails. Does nothing when already connected."""
        if self._ws is not None:
            return
        try:
            async with asyncio.timeout(self.open_timeout_s):
                ws = await connect(self.url, max_size=2**22, ping_interval=None, compression=None)
                try:
                    await self._login(ws)
                except BaseException:
                    await ws.close()
                    raise
        except TimeoutError as exc:
            raise NotSentError(f"{self.name}: no login within {self.open_timeout_s:g} s at {self.url}") from exc
        except (OSError, InvalidHandshake, InvalidURI, ConnectionClosed) as exc:
            raise NotSentError(f"{self.name}: cannot connect to {self.url}: {exc}") from exc
        self._ws = ws
        self._down.clear()
        self.connects += 1
        self._waiters.notify()
        self._tasks = [asyncio.create_task(self._read(ws), name=f"{self.name} answers")]
        if self.framing.ping() is not None:
            self._ping = asyncio.create_task(self._keep_alive(ws), name=f"{self.name} ping")
            self._tasks.append(self._ping)
        log.info("%s: order entry connected and logged in at %s", self.name, self.url)

    async def wait_down(self) -> None:
        """Return once the connection is lost or closed (at once when it is not up)."""
        await self._down.wait()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true: asked now and after each login, loss and late answer."""
        await self._waiters.wait_until(predicate)

    async def _login(self, ws: ClientConnection) -> None:
        frame = self.framing.login(self.clock_ms())
        if frame is None:
            return
        await ws.send(frame, text=True)
        while True:
            answer = _decode(await ws.recv(decode=False))
            result = self.framing.login_answer(answer) if isinstance(answer, dict) else None
            if result is not None:
                accepted, code, text = result
                if not accepted:
                    raise LoginRefusedError(code, text)
                return

    def prepare(self, operation: str, params: Mapping[str, Any]) -> PreparedRequest:
        """One request's frame, built and signed, for :meth:`write` (nothing is sent)."""
        request_id = f"{self._prefix}{next(self._ids)}"
        frame = self.framing.request(request_id, operation, params, self.clock_ms())
        payload = frame.encode() if isinstance(frame, str) else frame
        # a client's frames are masked, each with its own key, and carry no state of the connection's
        # (compression is off): one built now is written as is on whichever connection is up then
        return PreparedRequest(operation, request_id, payload, Frame(Opcode.TEXT, payload).serialize(mask=True))

    def write(self, prepared: PreparedRequest) -> SentRequest:
        """Hand a prepared request to the socket now, without suspending (the write the order path makes
        when a decision's orders leave together); raises :class:`NotSentError` when it could not be (not
        connected, or closing) and :class:`AnswerLostError` when the write failed once begun."""
        ws = self._ws
        if ws is None or ws.protocol.state is not State.OPEN:
            raise NotSentError(f"{self.name}: not connected")
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[prepared.request_id] = answer
        protocol = ws.protocol
        self.written += 1
        written_ns = time.time_ns()
        try:
            # what the connection's send does for a text frame, minus its wait on a full buffer (the
            # transport keeps what it cannot write yet) and the framing, done at prepare
            if protocol.writes or protocol.extensions or protocol.expect_continuation_frame:
                # frames of the protocol's own waiting (none do between its calls), compression or a
                # fragmented message (never on a connection made here): the library frames it, in order
                protocol.send_text(prepared.payload)
                ws.send_data()
            else:
                ws.transport.write(prepared.wire)
        except Exception as exc:  # the protocol or the transport refused halfway: the fate is unknown
            self._waiting.pop(prepared.request_id, None)
            answer.cancel()
            self._lose(ws)
            raise AnswerLostError(f"{self.name}: writing {prepared.operation} failed: {exc!r}") from exc
        return SentRequest(self, prepared.request_id, written_ns, answer)

    async def send(self, operation: str, params: Mapping[str, Any]) -> SentRequest:
        """Hand one request to the socket; raises :class:`NotSentError` when it could not be (not connected)."""
        ws = self._ws
        if ws is None:
            raise NotSentError(f"{self.name}: not connected")
        request_id = f"{self._prefix}{next(self._ids)}"
        frame = self.framing.request(request_id, operation, params, self.clock_ms())
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        self.written += 1
        written_ns = time.time_ns()  # right before the write (the send below writes before it could wait)
        try:
            await ws.send(frame, text=True)
        except ConnectionClosed as exc:
            # the frame may have been written before the close was seen: from here on the fate is unknown
            self._waiting.pop(request_id, None)
            answer.cancel()
            self._lose(ws)
            raise AnswerLostError(f"{self.name}: connection closed while sending {operation}: {exc}") from exc
        return SentRequest(self, request_id, written_ns, answer)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                if message in _PONGS:  # a venue's text keep-alive answered (OKX's "pong")
                    continue
                try:
                    answer = _decode(message)
                except msgspec.DecodeError:
                    log.warning("%s: undecodable frame skipped: %r", self.name, message[:500])
                    continue
                if isinstance(answer, dict):
                    self._deliver(answer)
        except ConnectionClosed:
            pass
        finally:
            self._lose(ws)

    def _deliver(self, answer: dict[str, Any]) -> None:
        request_id = self.framing.answer_id(answer)
        if request_id is None:
            if self.framing.orphan_refusal(answer):
                log.warning("%s: answer without a request id refuses the requests in flight: %s", self.name, answer)
                if self._ws is not None:
                    self._lose(self._ws)
            return
        waiter = self._waiting.pop(request_id, None)
        if waiter is None or waiter.done():
            self.late_answers += 1
            self._waiters.notify()
            log.warning("%s: answer to no waiting request (late, or not ours): %s", self.name, answer)
            return
        waiter.set_result(answer)

    def _lose(self, ws: ClientConnection) -> None:
        # The connection is gone: every request still waiting has an unknown fate
        if self._ws is ws:
            self._ws = None
            self._down.set()
            if self._ping is not None:  # a lost connection has nothing left to keep alive
                self._ping.cancel()
                self._ping = None
            self._waiters.notify()
            closing = asyncio.get_running_loop().create_task(ws.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            if not waiter.done():
                self.lost += 1
                waiter.set_exception(AnswerLostError(f"{self.name}: connection lost before the answer"))
                waiter.exception()  # retrieved here: a caller that stopped waiting is not warned about it
        if waiting:
            log.warning("%s: connection lost with %d request(s) unanswered", self.name, len(waiting))

    async def _keep_alive(self, ws: ClientConnection) -> None:
        frame = self.framing.ping()
        assert frame is not None
        with contextlib.suppress(ConnectionClosed):
            while self._ws is ws:
                await asyncio.sleep(self.ping_interval_s)  # the keep-alive's pace, not a wait for a condition
                await ws.send(frame, text=True)

    async def close(self) -> None:
        """Close the connection; requests still waiting are lost (:class:`AnswerLostError`)."""
        ws = self._ws
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()  # before the close: the reader does not take it for a loss
        if ws is not None:
            self._lose(ws)
            await ws.close()
        await cancel_and_wait(*tasks)
