"""A venue-market's order WebSocket as a live executor uses it: started once, reopened in the background.

:class:`OrderEntry` wraps one :class:`~connectors.common.order_socket.OrderSocket` (the venue's framing
made by its adapter) with the rules ``arb live`` keeps on it:

- :meth:`OrderEntry.start` connects (and logs in, on Bybit) when trading starts and says so in the log;
  if it cannot, it says why, and orders go by REST while it is retried in the background;
- a lost connection is reopened in the background, never on an order's path: until it is up again,
  :attr:`OrderEntry.ready` is False and the adapter sends by REST;
- :meth:`OrderEntry.request` bounds the wait for an answer by the venue's request timeout. It raises
  :class:`~connectors.common.order_socket.NotSentError` when nothing left this process (the same order
  may go by REST, with the same client order id), and after the request was handed to the socket
  :class:`~connectors.common.order_socket.AnswerLostError` (the connection closed first) or
  :class:`TimeoutError` (no answer in time): the order's fate is then unknown, found out by a query,
  never by sending it again.
"""

from __future__ import annotations

__all__ = ["CreateSigner", "OrderEntry", "Outgoing", "SignedRest"]

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from arb.waiting import cancel_and_wait
from connectors.common.order_socket import AnswerLostError, NotSentError, OrderSocket, PreparedRequest, SentRequest

log = logging.getLogger(__name__)


class OrderEntry:
    """The order WebSocket of one venue-market (``name``: how the log names it, ``"<venue> spot"``)."""

    retry_s = 1.0
    """The first wait before reopening; it doubles while the connection stays down, up to ``max_retry_s``."""
    max_retry_s = 30.0

    def __init__(self, socket: OrderSocket, *, name: str, request_timeout_s: float) -> None:
        self.socket, self.name, self.request_timeout_s = socket, name, request_timeout_s
        self._keeper: asyncio.Task[None] | None = None
        self.reopened = 0
        """Connections reopened in the background after a loss or a failed start."""

    @property
    def url(self) -> str:
        return self.socket.url

    @property
    def ready(self) -> bool:
        """Connected (and logged in): creates and cancels go over it."""
        return self.socket.ready

    async def start(self) -> bool:
        """Connect and log in, then keep the connection up in the background; returns whether it is up
        now (when not, orders go by REST until the background reopens it)."""
        try:
            await self.socket.start()
        except NotSentError as error:
            log.warning("%s: order entry over the WebSocket %s cannot start (%s): orders go by REST, "
                        "retrying in the background", self.name, self.url, error)  # fmt: skip
        else:
            log.info("%s: orders go over the WebSocket %s; by REST while it is down", self.name, self.url)
        if self._keeper is None:
            self._keeper = asyncio.get_running_loop().create_task(self._keep(), name=f"{self.name} order socket")
        return self.ready

    async def _keep(self) -> None:
        # Reopen the connection whenever it is down, with a doubling wait; never on an order's path
        while True:
            was_up = self.ready
            await self.socket.wait_down()
            if was_up:
                log.warning("%s: the order WebSocket closed: orders go by REST until it is reopened", self.name)
            delay = self.retry_s
            while not self.ready:
                await asyncio.sleep(delay)  # the retry's pace, not a wait for a condition
                try:
                    await self.socket.start()
                except NotSentError as error:
                    delay = min(delay * 2, self.max_retry_s)
                    log.warning("%s: the order WebSocket is still down (%s); next try in %.1f s", self.name, error,
                                delay)  # fmt: skip
            self.reopened += 1
            log.info("%s: the order WebSocket %s is up again: orders go over it", self.name, self.url)

    async def request(
        self, operation: str, params: Mapping[str, Any], on_written: Callable[[int], None]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Send one request and await its answer, at most the request timeout; returns the HTTP status,
        body and headers (its request counts) the REST endpoint would have answered.
        ``on_written(written_ns)`` is called once the request's bytes are handed to the socket (or may
        have been: a close while sending). Raises
        :class:`NotSentError`, :class:`AnswerLostError` or :class:`TimeoutError` (see the module)."""
        try:
            sent = await self.socket.send(operation, params)
        except AnswerLostError:
            on_written(time.time_ns())
            raise
        on_written(sent.written_ns)
        return await self.answer(sent)

    def write(self, prepared: PreparedRequest) -> SentRequest:
        """Hand a prepared request to the socket now (see :meth:`OrderSocket.write`)."""
        return self.socket.write(prepared)

    def outgoing(self, operation: str, params: Mapping[str, Any]) -> Outgoing:
        """One request built and signed now, written later by :meth:`Outgoing.write`."""
        return Outgoing(self, self.socket.prepare(operation, params))

    async def answer(self, sent: SentRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The answer to a request handed to the socket, at most the request timeout: the HTTP status,
        body and headers the REST endpoint would have answered (raises as :meth:`request`)."""
        async with asyncio.timeout(self.request_timeout_s):
            answer = await sent.answer()
        framing = self.socket.framing
        return framing.status(answer), framing.body(answer), framing.headers(answer)

    async def close(self) -> None:
        """Stop reopening and close the connection."""
        keeper, self._keeper = self._keeper, None
        await cancel_and_wait(keeper)
        await self.socket.close()


class Outgoing:
    """A request for the order WebSocket built and signed ahead of its write (:meth:`OrderEntry.outgoing`):
    :meth:`write` hands it to the socket without suspending, :meth:`answer` awaits what the venue says.

    After :meth:`write`: ``written_ns`` is the write's time (0: nothing left this process, ``error`` says
    why, and the order may go another way); ``error`` may also be an :class:`AnswerLostError` with
    ``written_ns`` set (the write failed once begun: the order's fate is unknown)."""

    __slots__ = ("entry", "error", "prepared", "sent", "written_ns")

    def __init__(self, entry: OrderEntry, prepared: PreparedRequest) -> None:
        self.entry, self.prepared = entry, prepared
        self.sent: SentRequest | None = None
        self.written_ns = 0
        self.error: NotSentError | AnswerLostError | None = None

    @property
    def operation(self) -> str:
        return self.prepared.operation

    def write(self) -> None:
        """Hand the request to the socket now (once)."""
        if self.sent is not None or self.error is not None:
            return
        try:
            self.sent = self.entry.write(self.prepared)
            self.written_ns = self.sent.written_ns
        except NotSentError as error:
            self.error = error
        except AnswerLostError as error:
            self.error, self.written_ns = error, time.time_ns()

    async def answer(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The venue's answer (as :meth:`OrderEntry.answer`); raises the write's error if it failed."""
        if self.sent is None:
            raise self.error or NotSentError(f"{self.entry.name}: never written")
        return await self.entry.answer(self.sent)


@dataclass(frozen=True, slots=True)
class SignedRest:
    """A create request for the REST endpoint built and signed ahead of its send (what ccxt's ``sign`` makes
    of the body ccxt's ``create_order`` would send, or the same bytes from the venue's own signing): the
    order's task then only hands it to the HTTP client, so the request is ready while the decision is
    still being made."""

    url: str
    method: str
    headers: dict[str, str] | None
    body: str | None


class CreateSigner(Protocol):
    """A venue's own signing of a create's REST request, made to give what ccxt's ``sign`` gives (and
    checked to, for the client it signs for: :meth:`connectors.common.ccxt_venue.CcxtVenue.create_signer`)."""

    def sign(self, params: Mapping[str, Any], timestamp_ms: int) -> SignedRest:
        """The create with ``params`` (the endpoint's body, :meth:`CcxtVenue.socket_create`'s), signed at
        ``timestamp_ms`` (the client's ``nonce()``), as it is sent (the venue's ``signed_rest`` applied)."""
        ...

    def timestamp_of(self, signed: SignedRest) -> int | None:
        """The timestamp ``signed`` carries (None: it carries none where this signer puts it)."""
        ...
