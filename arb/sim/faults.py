"""A deterministic, scriptable fault plan for the fake venue.

Every frame fault names a stream (Binance stream name or Bybit topic) and ``at``, the k-th frame of
that stream counted over the recording (0-based), so a plan reads the same whatever else is
subscribed. A fault applies to every connection the frame goes to unless ``connection`` (the
venue's connection id) or ``endpoint`` narrows it. Each application is appended to
:attr:`FaultPlan.applied`, so a test asserts what happened rather than what it asked for.

Example::

    venue.faults.drop("btcusdt@depth@100ms", at=40)        # the client sees U != prev u + 1
    venue.faults.close("btcusdt@depth@100ms", at=60, code=1001)
    venue.faults.rest_error(429, times=1, retry_after=7)   # next REST call: 429 + Retry-After: 7
"""

from __future__ import annotations

__all__ = [
    "AppliedFault",
    "FaultKind",
    "FaultPlan",
    "FrameFault",
    "OrderFault",
    "OrderOperation",
    "RefuseMode",
    "RestFault",
    "StallRule",
]

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Literal

ZERO = Decimal(0)


class FaultKind(Enum):
    """Every fault the plan can inject."""

    DROP = "drop"
    DUPLICATE = "duplicate"
    SWAP = "swap"
    DELAY = "delay"
    STALL = "stall"
    CLOSE = "close"
    MALFORMED = "malformed"
    UNKNOWN_STREAM = "unknown_stream"
    REFUSE = "refuse"
    REST_ERROR = "rest_error"
    REST_MALFORMED = "rest_malformed"
    REST_HOLD = "rest_hold"
    ORDER_TIMEOUT = "order_timeout"
    ORDER_DROP = "order_drop"
    ORDER_ERROR = "order_error"
    ORDER_HIDDEN = "order_hidden"
    ORDER_PARTIAL = "order_partial"
    ORDER_HOLD = "order_hold"
    FEED_LAG = "feed_lag"
    USER_STREAM_SILENT = "user_stream_silent"
    USER_STREAM_DROP = "user_stream_drop"
    USER_STREAM_LOSS = "user_stream_loss"
    BAN = "ban"


class RefuseMode(Enum):
    """How a refused endpoint answers."""

    HTTP_503 = "503"
    """Answer every request, the WebSocket upgrade included, with HTTP 503."""
    DROP = "drop"
    """Drop the TCP connection without answering."""


def _targets(wanted_connection: int | None, wanted_endpoint: int | None, connection: int, endpoint: int) -> bool:
    """True when a rule for ``wanted_connection`` and ``wanted_endpoint`` (``None``: any) targets the
    given connection on the given endpoint."""
    if wanted_connection is not None and wanted_connection != connection:
        return False
    return wanted_endpoint is None or wanted_endpoint == endpoint


@dataclass(frozen=True, slots=True)
class AppliedFault:
    """One fault that actually happened."""

    kind: FaultKind
    stream: str = ""
    at: int = -1
    connection: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FrameFault:
    """A fault bound to the ``at``-th frame of ``stream``."""

    kind: FaultKind
    stream: str
    at: int
    frames: int = 1
    """DELAY: how many later frames of the stream go out before the held one."""
    code: int = 1001
    """CLOSE: the WebSocket close code."""
    reason: str = ""
    """CLOSE: the close reason."""
    abrupt: bool = False
    """CLOSE: drop the TCP connection without a close frame (the client sees 1006)."""
    as_stream: str | None = None
    """UNKNOWN_STREAM: the stream (or topic) name the injected frame claims."""
    connection: int | None = None
    endpoint: int | None = None

    def matches(self, connection: int, endpoint: int) -> bool:
        """True when this fault targets the given connection."""
        return _targets(self.connection, self.endpoint, connection, endpoint)


@dataclass(slots=True)
class StallRule:
    """Stop data frames (not control replies, not pings) once frame ``after`` has been released."""

    after: int
    stream: str | None
    connection: int | None
    endpoint: int | None
    triggered: bool = False

    def matches(self, connection: int, endpoint: int) -> bool:
        """True when this stall targets the given connection."""
        return _targets(self.connection, self.endpoint, connection, endpoint)


@dataclass(slots=True)
class RestFault:
    """A scripted REST answer for the next ``times`` requests (optionally only on ``path``)."""

    kind: FaultKind
    status: int
    code: int | None
    msg: str | None
    times: int
    retry_after: int | None
    body: bytes | None
    path: str | None


OrderOperation = Literal["create", "cancel", "query", "any"]
"""Which private request an order fault applies to (``"any"``: the next private request of any kind)."""


@dataclass(slots=True)
class OrderFault:
    """A scripted answer for the next ``times`` private requests of one kind (see FaultPlan.order_*)."""

    kind: FaultKind
    operation: OrderOperation
    processed: bool
    """Whether the venue acts on the request (places, cancels) before the faulty answer."""
    times: int
    status: int = 0
    code: int | None = None
    msg: str | None = None
    retry_after: int | None = None
    released: asyncio.Event = field(default_factory=asyncio.Event)
    """ORDER_TIMEOUT: set by :meth:`FaultPlan.release_orders`; the held answer goes out then."""

    async def wait_released(self) -> None:
        """ORDER_TIMEOUT: return once the test releases the held answers."""
        await self.released.wait()


@dataclass
class FaultPlan:
    """The faults scripted for one venue, and the log of those applied."""

    applied: list[AppliedFault] = field(default_factory=list)
    _frame_faults: dict[tuple[str, int], list[FrameFault]] = field(default_factory=dict)
    _stall: StallRule | None = None
    _refused: dict[int, RefuseMode] = field(default_factory=dict)
    _rest_faults: list[RestFault] = field(default_factory=list)
    _rest_gate: asyncio.Event = field(default_factory=asyncio.Event)
    _order_faults: list[OrderFault] = field(default_factory=list)
    _held_orders: list[OrderFault] = field(default_factory=list)
    _hidden: list[list[int]] = field(default_factory=list)
    _partial: list[tuple[Decimal, list[int]]] = field(default_factory=list)
    _holds: list[tuple[OrderOperation, int, list[int]]] = field(default_factory=list)
    _lost_events: dict[str, int] = field(default_factory=dict)
    user_stream_silent: bool = False
    """True while the private venue sends no user-stream events (the connection stays open)."""
    feed_lag_s: float = 0.0
    """Public market data reaches subscribers this long after the venue's book moved (see :meth:`lag_feed`)."""
    order_delay_s: float = 0.0
    """Every order request (place, cancel, query) waits this long before the venue acts on it: a slow way
    in (``arb latency`` measures it; see :meth:`delay_orders`)."""

    def __post_init__(self) -> None:
        self._rest_gate.set()

    def delay_orders(self, seconds: float) -> None:
        """From now on every order request reaches the venue ``seconds`` late (the network's way in): it
        is acted on, answered and reported on the user stream that much later. 0 ends it."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        self.order_delay_s = seconds

    def lag_feed(self, seconds: float) -> None:
        """From now on every public market-data frame reaches its subscribers ``seconds`` after the venue
        released it: the venue's book (and its matching) moved at once, a client's view of it lags, as a
        real venue's public stream lags its matching engine. Order is kept. 0 ends it (frames already
        lagging still come in their turn)."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        self.feed_lag_s = seconds
        self.applied.append(AppliedFault(FaultKind.FEED_LAG, detail=f"{seconds:g} s"))

    async def order_arrives(self) -> None:
        """What a private venue awaits before acting on an order request: :meth:`delay_orders`' delay."""
        if self.order_delay_s > 0:
            await asyncio.sleep(self.order_delay_s)  # the simulated network, not a test waiting

    # -- WebSocket frame faults ------------------------------------------------------------------

    def _add(self, fault: FrameFault) -> None:
        if fault.at < 0:
            raise ValueError(f"at must be >= 0, got {fault.at}")
        self._frame_faults.setdefault((fault.stream, fault.at), []).append(fault)

    def drop(self, stream: str, at: int, *, connection: int | None = None, endpoint: int | None = None) -> None:
        """Never send frame ``at`` of ``stream`` (the client sees a sequence gap)."""
        self._add(FrameFault(FaultKind.DROP, stream, at, connection=connection, endpoint=endpoint))

    def duplicate(self, stream: str, at: int, *, connection: int | None = None, endpoint: int | None = None) -> None:
        """Send frame ``at`` of ``stream`` twice in a row."""
        self._add(FrameFault(FaultKind.DUPLICATE, stream, at, connection=connection, endpoint=endpoint))

    def swap(self, stream: str, at: int, *, connection: int | None = None, endpoint: int | None = None) -> None:
        """Send frame ``at + 1`` of ``stream`` before frame ``at`` (reordering)."""
        self._add(FrameFault(FaultKind.SWAP, stream, at, frames=1, connection=connection, endpoint=endpoint))

    def delay(
        self,
        stream: str,
        at: int,
        *,
        frames: int = 1,
        connection: int | None = None,
        endpoint: int | None = None,
    ) -> None:
        """Hold frame ``at`` of ``stream`` and send it right after frame ``at + frames``."""
        if frames < 1:
            raise ValueError(f"frames must be >= 1, got {frames}")
        self._add(FrameFault(FaultKind.DELAY, stream, at, frames=frames, connection=connection, endpoint=endpoint))

    def close(
        self,
        stream: str,
        at: int,
        *,
        code: int = 1001,
        reason: str = "",
        abrupt: bool = False,
        connection: int | None = None,
        endpoint: int | None = None,
    ) -> None:
        """Close the socket right after sending frame ``at`` of ``stream``, with ``code``.

        ``abrupt=True`` drops the TCP connection instead of sending a close frame.
        """
        self._add(
            FrameFault(
                FaultKind.CLOSE,
                stream,
                at,
                code=code,
                reason=reason,
                abrupt=abrupt,
                connection=connection,
                endpoint=endpoint,
            )
        )

    def malformed(self, stream: str, at: int, *, connection: int | None = None, endpoint: int | None = None) -> None:
        """Send broken JSON (the frame cut after its first object key) instead of frame ``at``."""
        self._add(FrameFault(FaultKind.MALFORMED, stream, at, connection=connection, endpoint=endpoint))

    def unknown_stream(
        self,
        stream: str,
        at: int,
        *,
        as_stream: str | None = None,
        connection: int | None = None,
        endpoint: int | None = None,
    ) -> None:
        """Before frame ``at`` of ``stream``, send a well-formed copy claiming another stream.

        ``as_stream`` names it; by default the venue picks a stream nobody subscribed to.
        """
        self._add(
            FrameFault(
                FaultKind.UNKNOWN_STREAM,
                stream,
                at,
                as_stream=as_stream,
                connection=connection,
                endpoint=endpoint,
            )
        )

    def stall(
        self,
        after: int = -1,
        *,
        stream: str | None = None,
        connection: int | None = None,
        endpoint: int | None = None,
    ) -> None:
        """Stop data frames once frame ``after`` has been released, keeping the socket open.

        With ``stream`` given, ``after`` counts that stream's frames; otherwise it is a position on
        the venue's clock. The default ``-1`` stalls at once. Control replies (acks, pongs) and
        WebSocket pings keep flowing. Frames released during the stall are lost to the stalled
        connections. :meth:`resume` ends it.
        """
        self._stall = StallRule(after, stream, connection, endpoint, triggered=after < 0)

    def resume(self) -> None:
        """End a stall: data frames released from now on are sent again."""
        if self._stall is not None and self._stall.triggered:
            self.applied.append(AppliedFault(FaultKind.STALL, detail="resumed"))
        self._stall = None

    def refuse(self, endpoint: int, *, mode: RefuseMode | str = RefuseMode.HTTP_503) -> None:
        """Make ``endpoint`` (its index) refuse new connections: HTTP 503, or drop the TCP connection."""
        self._refused[endpoint] = RefuseMode(mode)

    def accept(self, endpoint: int) -> None:
        """Undo :meth:`refuse` for ``endpoint``."""
        self._refused.pop(endpoint, None)

    # -- REST faults -----------------------------------------------------------------------------

    def rest_error(
        self,
        status: int,
        code: int | None = None,
        msg: str | None = None,
        *,
        times: int = 1,
        retry_after: int | None = None,
        body: bytes | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``times`` REST requests (on ``path`` if given) with ``status``.

        ``code``/``msg`` fill the venue's error body; when omitted the venue uses its own for the
        status (Binance 429 and 418: ``-1003`` with its documented message). ``retry_after`` (seconds)
        sets ``Retry-After``; Binance always sends it with 429 and 418 (default 60). ``body``
        replaces the body verbatim (e.g. an HTML gateway page).
        """
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        self._rest_faults.append(RestFault(FaultKind.REST_ERROR, status, code, msg, times, retry_after, body, path))

    def rest_malformed(self, *, times: int = 1, path: str | None = None) -> None:
        """Answer the next ``times`` REST requests with HTTP 200 and a truncated JSON body."""
        self._rest_faults.append(RestFault(FaultKind.REST_MALFORMED, 200, None, None, times, None, None, path))

    def rest_hold(self) -> None:
        """Hold every REST request from now on, unanswered, until :meth:`rest_release`."""
        self._rest_gate.clear()

    def rest_release(self) -> None:
        """Answer the held REST requests (from the venue's state at that moment) and stop holding."""
        self._rest_gate.set()

    # -- private (trading) faults -------------------------------------------------------------------

    def _add_order_fault(self, fault: OrderFault) -> OrderFault:
        if fault.times < 1:
            raise ValueError(f"times must be >= 1, got {fault.times}")
        self._order_faults.append(fault)
        return fault

    def order_timeout(self, *, processed: bool = True, times: int = 1, operation: OrderOperation = "create") -> None:
        """Hold the answer to the next ``times`` requests of ``operation`` until :meth:`release_orders`.

        With ``processed`` the venue acts on the request first (the order exists; the client times out
        not knowing it): the textbook unknown outcome. Without, it acts only once released.
        """
        self._add_order_fault(OrderFault(FaultKind.ORDER_TIMEOUT, operation, processed, times))

    def order_drop(self, *, processed: bool = False, times: int = 1, operation: OrderOperation = "create") -> None:
        """Close the TCP connection after reading the request (having acted on it when ``processed``)."""
        self._add_order_fault(OrderFault(FaultKind.ORDER_DROP, operation, processed, times))

    def order_error(
        self,
        status: int,
        code: int | None = None,
        msg: str | None = None,
        *,
        processed: bool = False,
        times: int = 1,
        retry_after: int | None = None,
        operation: OrderOperation = "create",
    ) -> None:
        """Answer the next ``times`` requests of ``operation`` with ``status`` and the venue's error body.

        ``processed=True`` with a 5xx status (or Binance ``-1007``, Bybit ``10016``) is an unknown
        outcome that really happened: the order is on the venue's ledger although the answer says error.
        Binance ``order_error(503, -1008)`` is its throttle ("Server is currently overloaded..."): refused,
        not placed (leave ``processed`` False).
        ``code``/``msg`` default to the venue's own for the status.
        """
        self._add_order_fault(
            OrderFault(FaultKind.ORDER_ERROR, operation, processed, times, status, code, msg, retry_after)
        )

    def take_order_fault(self, operation: OrderOperation) -> OrderFault | None:
        """Consume one use of the first order fault that applies to ``operation`` (for the venue's use)."""
        for fault in self._order_faults:
            if fault.operation in ("any", operation):
                fault.times -= 1
                if fault.times <= 0:
                    self._order_faults.remove(fault)
                if fault.kind is FaultKind.ORDER_TIMEOUT:
                    self._held_orders.append(fault)
                return fault
        return None

    def release_orders(self) -> None:
        """Send every answer held by :meth:`order_timeout` (the clients have long given up on them)."""
        for fault in self._held_orders:
            fault.released.set()
        self._held_orders.clear()

    def clear_order_faults(self) -> None:
        """Forget the order faults not used yet (``order_*``, ``hide_orders``); held answers stay held."""
        self._order_faults.clear()
        self._hidden.clear()
        self._partial.clear()
        self._holds.clear()

    def order_hold(self, frames: int, *, operation: OrderOperation = "cancel", times: int = 1) -> None:
        """The next ``times`` requests of ``operation`` reach the venue only once ``frames`` more market
        frames have been released: a request that crosses the network while the book moves. A held cancel
        finds its order as the book left it (filled meanwhile: "unknown order"); a held post-only create
        meets the book that moved (crossed: refused). The venue acts on it then, and answers as usual."""
        if frames < 1 or times < 1:
            raise ValueError(f"frames and times must be >= 1, got {frames}, {times}")
        self._holds.append((operation, frames, [times]))

    def take_order_hold(self, operation: OrderOperation) -> int:
        """For the venue, as a request of ``operation`` arrives: how many frames it waits (0: none)."""
        for entry in self._holds:
            wanted, frames, left = entry
            if wanted in ("any", operation):
                left[0] -= 1
                if left[0] <= 0:
                    self._holds.remove(entry)
                return frames
        return 0

    def hide_orders(self, *, queries: int, times: int = 1) -> None:
        """The next ``times`` orders placed stay invisible to the next ``queries`` queries of each:
        a query by id answers "order does not exist" although the order (and its fills) happened."""
        if queries < 1 or times < 1:
            raise ValueError("queries and times must be >= 1")
        self._hidden.append([times, queries])

    def take_hidden_queries(self) -> int:
        """For the venue, as it places an order: how many queries must not see it (0: visible)."""
        if not self._hidden:
            return 0
        entry = self._hidden[0]
        entry[0] -= 1
        if entry[0] <= 0:
            self._hidden.pop(0)
        self.applied.append(AppliedFault(FaultKind.ORDER_HIDDEN, detail=f"{entry[1]} queries"))
        return entry[1]

    def order_partial(self, fraction: Decimal | str | float, *, times: int = 1) -> None:
        """The next ``times`` orders placed fill at most ``fraction`` of their quantity (rounded down
        to the step), however much the book shows; the rest is expired as an immediate-or-cancel order's
        (a good-till-cancel order rests). ``fraction`` in [0, 1): 0 fills nothing at all.

        Each order that reaches the venue's matching uses one, refused ones included (as
        :meth:`hide_orders`)."""
        share = Decimal(str(fraction))
        if not ZERO <= share < 1 or times < 1:
            raise ValueError(f"fraction must be in [0, 1) and times >= 1, got {fraction}, {times}")
        self._partial.append((share, [times]))

    def take_partial_fill(self) -> Decimal | None:
        """For the venue, as it places an order: the share of its quantity it may fill (None: all)."""
        if not self._partial:
            return None
        share, left = self._partial[0]
        left[0] -= 1
        if left[0] <= 0:
            self._partial.pop(0)
        self.applied.append(AppliedFault(FaultKind.ORDER_PARTIAL, detail=f"fill at most {share}"))
        return share

    def silence_user_stream(self) -> None:
        """Stop sending user-stream events (orders, fills) while keeping the connections open."""
        self.user_stream_silent = True
        self.applied.append(AppliedFault(FaultKind.USER_STREAM_SILENT, detail="started"))

    def resume_user_stream(self) -> None:
        """End :meth:`silence_user_stream`: events flow again (those sent meanwhile are lost)."""
        if self.user_stream_silent:
            self.applied.append(AppliedFault(FaultKind.USER_STREAM_SILENT, detail="resumed"))
        self.user_stream_silent = False

    def lose_user_stream_events(self, kind: str, *, times: int = 1) -> None:
        """The next ``times`` user-stream messages of ``kind`` are lost while the others still arrive: a
        topic (Bybit's ``order``; ``order.spot`` is of its kind) or an event type (Binance's
        ``executionReport``). Bybit sends an order's reports and its executions on separate topics, so a
        client may see a fill and never the order's state."""
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        self._lost_events[kind] = self._lost_events.get(kind, 0) + times

    def take_lost_event(self, kind: str) -> bool:
        """For the venue, as it writes a user-stream message of ``kind``: True if it is lost instead (the
        venue records the fault, naming the connection)."""
        name = next((k for k in self._lost_events if kind == k or kind.startswith(k + ".")), None)
        if name is None:
            return False
        self._lost_events[name] -= 1
        if self._lost_events[name] <= 0:
            del self._lost_events[name]
        return True

    # -- queries ---------------------------------------------------------------------------------

    def count(self, kind: FaultKind | str) -> int:
        """How many faults of ``kind`` have been applied."""
        wanted = FaultKind(kind)
        return sum(1 for a in self.applied if a.kind is wanted)

    def frame_faults(self, stream: str, at: int) -> list[FrameFault]:
        """The faults bound to frame ``at`` of ``stream`` (for the venue's use)."""
        return self._frame_faults.get((stream, at), [])

    @property
    def stall_rule(self) -> StallRule | None:
        """The active stall, if any."""
        return self._stall

    def refused_mode(self, endpoint: int) -> RefuseMode | None:
        """How ``endpoint`` refuses, or ``None`` if it accepts."""
        return self._refused.get(endpoint)

    @property
    def holding_rest(self) -> bool:
        """True while REST requests are held."""
        return not self._rest_gate.is_set()

    async def wait_rest_gate(self) -> None:
        """Return once REST requests are no longer held."""
        await self._rest_gate.wait()

    def take_rest_fault(self, path: str) -> RestFault | None:
        """Consume one use of the first scripted REST fault that applies to ``path``."""
        for fault in self._rest_faults:
            if fault.path is None or fault.path == path:
                fault.times -= 1
                if fault.times <= 0:
                    self._rest_faults.remove(fault)
                return fault
        return None
