"""What the fake private venues (Binance and Bybit) share, as parts each usable alone: the ledger
beside the replayed book (:func:`open_ledger`), the funding their public streams announce
(:class:`LedgerFeed`), the queue of ledger events on its way to the user streams
(:class:`EventPump`), where an order request meets the ledger (:class:`OrderDesk`: the order
faults, the hold, the IP ban), and what the trading venues add alike to their public venue
(:class:`TradingVenue`). What each private REST server is built on is :mod:`arb.sim.rest_server`'s.

Each venue keeps its own wire formats (what a user-stream event, an answer or a refusal looks like)
and hands the parts what they need as callables; the trading venues
(:class:`~arb.sim.binance.exchange.FakeBinanceExchange`, :class:`~arb.sim.bybit.exchange.FakeBybitExchange`)
assemble them.
"""

from __future__ import annotations

__all__ = [
    "CancelTrigger",
    "EventPump",
    "FundingFields",
    "LedgerFeed",
    "MarketClock",
    "OrderDesk",
    "RestCall",
    "TradingVenue",
    "UserStream",
    "UserStreamMessage",
    "decimal_param",
    "encode",
    "open_ledger",
]

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Literal, Protocol, TypeVar

import msgspec
from aiohttp import web

from arb.sim.connection import OutFrame, VenueConnection
from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, OrderFault, OrderOperation
from arb.sim.funding import FundingAnnouncements
from arb.sim.ledger.records import (
    ClientIdScope,
    FundingPayment,
    LedgerAccount,
    LedgerEvent,
    LedgerOrder,
    OrderType,
    Side,
    SymbolRules,
    TimeInForce,
)
from arb.sim.ledger.venue_ledger import Ledger
from arb.sim.options import VenueOptions
from arb.sim.replay import ReplayFrame
from arb.sim.venue import BookView, FakeVenue

logger = logging.getLogger(__name__)

encode = msgspec.json.Encoder().encode
"""JSON bytes of a value, as the venues' answers and stream messages are written."""
R = TypeVar("R")
P = TypeVar("P")

FundingFields = tuple[str, str | None, str | None, int | str | None]
"""What a public message announces about funding: ``(symbol, mark price, rate, next funding ms)``,
each but the symbol absent (``None`` or empty) when the message does not carry it."""


@dataclass(frozen=True, slots=True)
class CancelTrigger:
    """One dead-man's-switch cancel: ``account``'s open orders in ``scope`` cancelled at venue time
    ``at_s`` (Binance USD-M's countdown: a symbol; Bybit's disconnection protection: a DCP product)."""

    account: str
    scope: str
    at_s: float
    cancelled: tuple[int, ...]
    """Ledger ids of the orders cancelled."""

    @property
    def symbol(self) -> str:
        """The countdown's symbol (Binance's name for :attr:`scope`)."""
        return self.scope

    @property
    def product(self) -> str:
        """The DCP product (Bybit's name for :attr:`scope`)."""
        return self.scope


@dataclass(slots=True)
class RestCall(Generic[P]):
    """One authenticated (or public) REST call as the handlers see it."""

    params: dict[str, P]
    account: LedgerAccount | None
    """The account the request's key names; ``None`` for a public call."""
    now_ms: int
    """When the venue takes the call, in ms of its time."""


@dataclass(frozen=True, slots=True)
class UserStreamMessage:
    """One user-stream event message the venue wrote (or withheld while the stream was silenced)."""

    connection: int
    event: str
    """Binance's event type (``executionReport``, ``ORDER_TRADE_UPDATE``...), Bybit's topic."""
    text: str
    sent: bool

    @property
    def topic(self) -> str:
        """Bybit's name for :attr:`event`: the topic the message went out on."""
        return self.event


def decimal_param(text: str | None) -> Decimal | None:
    """A request parameter as a finite decimal; ``None`` when absent or empty; ``ValueError`` otherwise."""
    if text is None or text == "":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


def open_ledger(
    market: Literal["spot", "linear"],
    rules: Sequence[SymbolRules],
    options: VenueOptions,
    *,
    book: Callable[[str], BookView],
    book_version: Callable[[], int],
    clock_ms: Callable[[], int],
    linear_taker_fee: str,
    client_id_scope: ClientIdScope,
    first_ids: tuple[int, int],
    ids_per_symbol: bool = False,
    post_only_taking: Literal["reject", "expire"] = "expire",
) -> Ledger:
    """A venue's ledger, matching against ``book`` (a symbol's book now; ``book_version``: how far the
    book has moved, so a resting order is checked once per move). Spot fees 0.1 %, linear maker 0.02 %
    and ``linear_taker_fee`` unless ``options`` say otherwise; ``first_ids``: the first order and trade
    id; ``post_only_taking``: what becomes of a post-only order that would take."""
    spot = market == "spot"

    def levels(symbol: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        view = book(symbol)
        return view.bids, view.asks

    return Ledger(
        market=market,
        rules=rules,
        book=levels,
        book_version=book_version,
        clock_ms=clock_ms,
        taker_fee=options.fee("taker", "0.001" if spot else linear_taker_fee),
        maker_fee=options.fee("maker", "0.001" if spot else "0.0002"),
        client_id_scope=client_id_scope,
        fok_unfilled="expire",
        post_only_taking=post_only_taking,
        spot_fee_asset=options.spot_fee_asset,
        fee_coin=options.fee_coin,
        first_order_id=first_ids[0],
        first_trade_id=first_ids[1],
        ids_per_symbol=ids_per_symbol,
    )


class LedgerFeed:
    """What the replayed market does to ``ledger``: a frame of a stream named with ``book_stream`` moves
    the book (resting orders it now crosses fill); on linear, funding that a ``funding_stream`` message
    shows passing is settled. ``funding_fields`` reads what such a message announces (a
    ``msgspec.DecodeError`` or ``ValueError`` when not understood: logged as a ``message`` and skipped)."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        book_stream: str,
        funding_stream: str,
        funding_fields: Callable[[str], FundingFields],
        message: str,
    ) -> None:
        self._ledger = ledger
        self._book_stream = book_stream
        self._funding_stream = funding_stream
        self._fields = funding_fields
        self._message = message
        self._announced = FundingAnnouncements()

    def on_release(self, frame: ReplayFrame, outs: Iterable[OutFrame]) -> None:
        """Take one released frame and the frames the venue sent for it."""
        if frame.symbol in self._ledger.rules and self._book_stream in frame.stream:
            self._ledger.on_book_change(frame.symbol)  # resting orders the book now crosses fill
        if self._ledger.market == "linear":
            for out in outs:
                if self._funding_stream in out.stream:
                    self._take_funding(out.raw_text or out.text)

    def _take_funding(self, text: str) -> None:
        try:
            symbol, mark, rate, next_funding_ms = self._fields(text)
            settled = self._announced.announce(
                symbol,
                mark_price=Decimal(mark) if mark else None,
                rate=Decimal(rate) if rate else None,
                next_funding_ms=int(next_funding_ms) if next_funding_ms else None,
            )
        except (msgspec.DecodeError, InvalidOperation, ValueError) as error:
            logger.warning("%s not understood (%s): %.200r", self._message, error, text)
            return
        if settled is not None:
            self._ledger.settle_funding(settled.symbol, settled.funding_ms, settled.rate, settled.mark_price)


class EventPump:
    """The ledger's events on their way to the user streams, in ledger order, and the writer of each message.

    Subscribe :meth:`queue` to the ledger; :meth:`flush` sends what is queued through the venue's senders:
    ``state_symbols`` (the symbols whose account state follows an event in its batch; ``None``: none),
    ``send_event``, ``send_funding`` and ``send_account_state`` (each batch followed by the state of the
    accounts it touched). The senders write with :meth:`write`, which the plan's ``silence_user_stream``
    withholds and ``lose_user_stream_events`` loses (``record`` each). ``notify`` wakes the venue's waiters.
    """

    def __init__(
        self,
        faults: FaultPlan,
        *,
        record: Callable[[AppliedFault], None],
        notify: Callable[[], None],
        state_symbols: Callable[[LedgerEvent | FundingPayment], Iterable[str] | None],
        send_event: Callable[[LedgerEvent], Awaitable[None]],
        send_funding: Callable[[FundingPayment], Awaitable[None]],
        send_account_state: Callable[[str, Iterable[str]], Awaitable[None]],
    ) -> None:
        self.log: list[UserStreamMessage] = []
        """Every user-stream event message, in order (requests' answers, acks and pongs not included)."""
        self._faults = faults
        self._record = record
        self._notify = notify
        self._state_symbols = state_symbols
        self._send_event = send_event
        self._send_funding = send_funding
        self._send_account_state = send_account_state
        self._outbox: deque[LedgerEvent | FundingPayment] = deque()
        self._lock = asyncio.Lock()

    def queue(self, event: LedgerEvent | FundingPayment) -> None:
        """Queue one ledger event (the ledger's listener)."""
        self._outbox.append(event)

    @property
    def pending(self) -> bool:
        """Whether events wait to be sent."""
        return bool(self._outbox)

    async def flush(self) -> None:
        """Send every queued event, each batch followed by the state of the accounts it touched."""
        async with self._lock:
            while self._outbox:
                touched: dict[str, set[str]] = {}
                while self._outbox:
                    event = self._outbox.popleft()
                    symbols = self._state_symbols(event)
                    if symbols is not None:
                        touched.setdefault(event.account, set()).update(symbols)
                    if isinstance(event, FundingPayment):
                        await self._send_funding(event)
                    else:
                        await self._send_event(event)
                for name, symbols in touched.items():
                    await self._send_account_state(name, symbols)

    async def write(self, conn: VenueConnection, event: str, text: str) -> None:
        """Write one user-stream event message, or withhold it while the stream is silenced; logged either way."""
        if self._faults.user_stream_silent:
            self._record(AppliedFault(FaultKind.USER_STREAM_SILENT, event, connection=conn.id, detail="withheld"))
            self.log.append(UserStreamMessage(conn.id, event, text, sent=False))
            return
        if self._faults.take_lost_event(event):
            self._record(AppliedFault(FaultKind.USER_STREAM_LOSS, event, connection=conn.id, detail="lost"))
            self.log.append(UserStreamMessage(conn.id, event, text, sent=False))
            return
        await conn.send_control(text)
        self.log.append(UserStreamMessage(conn.id, event, text, sent=True))
        self._notify()


class MarketClock(Protocol):
    """How far a market clock (a venue's :class:`~arb.sim.playback.Playback`) has moved."""

    @property
    def position(self) -> int: ...

    @property
    def exhausted(self) -> bool: ...


class OrderDesk:
    """Where an order request meets ``ledger``: the plan's order faults (the way in delayed, held for so
    many market frames, a partial fill, hidden from queries, a timeout, a drop, an error), the IP ban,
    and the user-stream events a request causes, sent (``flush``) before its answer.

    ``playback`` is the market clock a hold counts frames of (the venue's); ``wait_until`` waits for a condition on the
    venue's state; ``clock`` is the venue's time (seconds); ``record`` appends a fault that landed.
    """

    def __init__(
        self,
        ledger: Ledger,
        faults: FaultPlan,
        playback: MarketClock,
        *,
        clock: Callable[[], float],
        record: Callable[[AppliedFault], None],
        notify: Callable[[], None],
        wait_until: Callable[[Callable[[], bool]], Awaitable[None]],
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        self.ledger = ledger
        self.ban_until: float | None = None
        """Venue time (seconds) the IP ban lasts until; ``None``: never banned."""
        self._faults = faults
        self._playback = playback
        self._clock = clock
        self._record = record
        self._notify = notify
        self._wait_until = wait_until
        self._flush = flush

    def now_ms(self) -> int:
        """The venue's time, ms."""
        return int(self._clock() * 1000)

    def place(
        self, account: LedgerAccount, rules: SymbolRules, side: Side, order_type: OrderType, qty: Decimal,
        price: Decimal | None, time_in_force: TimeInForce, client_id: str, reduce_only: bool,
    ) -> LedgerOrder:  # fmt: skip
        """Place an order on the ledger, with the faults scripted for the next order (hidden from
        queries for a while, a partial fill); :class:`VenueRejectError` when the venue refuses it."""
        return self.ledger.place(
            account, symbol=rules.symbol, side=side, type=order_type, qty=qty, price=price,
            time_in_force=time_in_force, client_id=client_id, reduce_only=reduce_only,
            hidden_queries=self._faults.take_hidden_queries(), fill_fraction=self._faults.take_partial_fill(),
        )  # fmt: skip

    async def arrives(self, operation: OrderOperation) -> int:
        """What an order request (place, cancel, query) awaits before the venue acts on it: the plan's
        delay of the way in, then its hold (:meth:`FaultPlan.order_hold`: so many market frames released
        first, or the recording's end). Returns the venue's time then (ms): when it takes the request."""
        await self._faults.order_arrives()
        frames = self._faults.take_order_hold(operation)
        if frames:
            playback = self._playback
            until = playback.position + frames
            self._record(AppliedFault(FaultKind.ORDER_HOLD, detail=f"{operation} until frame {until}"))
            self._notify()
            await self._wait_until(lambda: playback.position >= until or playback.exhausted)
        return self.now_ms()

    async def act(self, run: Callable[[], R]) -> R:
        """Act on a request: ``run()`` runs its handler, then the user-stream events the handler caused are
        sent. Returns the handler's reply."""
        reply = run()
        await self._flush()
        return reply

    def ban(self, seconds: float) -> None:
        """Ban the IP for ``seconds`` of venue time."""
        self.ban_until = self._clock() + seconds
        self._record(AppliedFault(FaultKind.BAN, detail=f"until {self.ban_until:.3f}"))

    @property
    def banned(self) -> bool:
        """True while the IP ban lasts."""
        return self.ban_until is not None and self._clock() < self.ban_until

    def reveal_orders(self) -> int:
        """End :meth:`~arb.sim.faults.FaultPlan.hide_orders` for the orders placed so far; returns how
        many were hidden."""
        hidden = [o for a in self.ledger.accounts.values() for o in a.orders if o.hidden_queries > 0]
        for order in hidden:
            order.hidden_queries = 0
        return len(hidden)

    async def fault_outcome(
        self, fault: OrderFault, detail: str, connection: int | None, call: RestCall[Any], run: Callable[[], R]
    ) -> R | None:
        """Record ``fault`` (``detail``: the request; ``connection``: its WebSocket, if any) and act on
        ``call`` as it says: before the faulty answer (``processed``), and for a held answer
        (ORDER_TIMEOUT) once the test releases it if not before, at the venue's time then. ``run()``
        runs its handler. Returns the handler's reply when it ran, ``None`` when it did not."""
        self._record(AppliedFault(fault.kind, connection=connection, detail=detail))
        reply = await self.act(run) if fault.processed else None
        if fault.kind is FaultKind.ORDER_TIMEOUT:
            reply = await self._released(fault, call, run, reply)
        return reply

    async def _released(
        self, fault: OrderFault, call: RestCall[Any] | None, run: Callable[[], R], reply: R | None
    ) -> R:
        # a held answer's reply once the test releases it: the request acted on then if not before (at the
        # venue's time then, when its ``call`` is given)
        await fault.wait_released()
        if reply is not None:
            return reply
        if call is not None:
            call.now_ms = self.now_ms()
        return await self.act(run)

    async def on_socket(
        self, conn: VenueConnection, request: str, fault: OrderFault, *, call: RestCall[Any] | None,
        run: Callable[[], R], answer: Callable[[R], Awaitable[None]],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> bool:  # fmt: skip
        """Act on an order request that came on the WebSocket ``conn`` under an order ``fault`` (``request``: the
        socket's path and the operation, recorded with the fault), before the faulty answer when ``processed``:
        a held answer (ORDER_TIMEOUT) is ``answer``-ed once the test releases it, the request acted on then if not
        before (at the venue's time then when ``call`` is given), in a task ``spawn``-ed beside the connection's
        reading (which goes on answering its other requests); a dropped one closes the connection abruptly,
        unanswered. Returns False where the caller answers the fault's refusal in its venue's format."""
        self._record(AppliedFault(fault.kind, connection=conn.id, detail=f"{request} processed={fault.processed}"))
        reply = await self.act(run) if fault.processed else None
        if fault.kind is FaultKind.ORDER_TIMEOUT:

            async def held() -> None:
                await answer(await self._released(fault, call, run, reply))
                self._notify()

            spawn(held())
            return True
        if fault.kind is FaultKind.ORDER_DROP:
            await conn.close(abrupt=True)
            return True
        return False

    async def under_fault(
        self, request: web.Request, fault: OrderFault, call: RestCall[Any], run: Callable[[], R],
        log: Callable[[int], None],
    ) -> R | web.StreamResponse | None:  # fmt: skip
        """Act on a REST ``call`` under an order fault (:meth:`fault_outcome`). Returns the reply
        to send (a timeout, once released), the aborted response (a dropped request, ``log``-ged with
        status 0), or ``None``: the caller answers the fault's refusal in its venue's format."""
        detail = f"{request.method} {request.path} processed={fault.processed}"
        reply = await self.fault_outcome(fault, detail, None, call, run)
        if fault.kind is FaultKind.ORDER_TIMEOUT:
            return reply
        if fault.kind is FaultKind.ORDER_DROP:
            if request.transport is not None:
                request.transport.abort()
            log(0)
            return web.Response(status=503)
        return None


class UserStream(Protocol):
    """What :class:`TradingVenue` needs of a venue's user stream."""

    @property
    def events(self) -> EventPump: ...

    def is_user_stream(self, conn: VenueConnection) -> bool: ...


U = TypeVar("U", bound=UserStream)


class TradingVenue(FakeVenue, Generic[U]):
    """What the trading venues add alike to their public venue: accounts, the ledger following the
    replayed market, the IP ban, hidden orders and dropped user streams, and their waiters woken when a
    fault lands or the events of an action go out. A venue's ``__init__`` sets ``ledger``, ``desk``,
    ``user_stream`` and ``_feed``."""

    ledger: Ledger
    """The venue's own records: accounts, orders, trades, balances, positions."""
    desk: OrderDesk
    user_stream: U
    _feed: LedgerFeed

    @property
    def user_stream_log(self) -> list[UserStreamMessage]:
        """Every user-stream event message, in order (requests' answers, acks and pongs not included)."""
        return self.user_stream.events.log

    def add_account(
        self,
        name: str,
        *,
        api_key: str,
        api_secret: str,
        balances: Mapping[str, str | Decimal] | None = None,
        can_trade: bool = True,
    ) -> LedgerAccount:
        """Open an account (Bybit: a unified trading account) with these starting balances (linear: the
        wallet in USDT) and HMAC credentials."""
        account = self.ledger.add_account(
            name, api_key=api_key, api_secret=api_secret, balances=dict(balances or {}), can_trade=can_trade
        )
        self._account_opened(name)
        self.ledger.subscribe(name, self.user_stream.events.queue)
        return account

    def _account_opened(self, name: str) -> None:
        """What the venue keeps of a new account besides the ledger's (Bybit: its UID)."""

    def ban(self, seconds: float) -> None:
        """Ban the IP for ``seconds`` of venue time: every REST request is refused (Binance: HTTP 418,
        Bybit: 403) until then."""
        self.desk.ban(seconds)

    @property
    def banned(self) -> bool:
        """True while the IP ban lasts."""
        return self.desk.banned

    def reveal_orders(self) -> int:
        """End :meth:`~arb.sim.faults.FaultPlan.hide_orders` for the orders placed so far: every query finds
        them from now on (the venue's order service caught up); returns how many were hidden."""
        return self.desk.reveal_orders()

    async def drop_user_streams(self) -> int:
        """Drop the TCP connection of every user-stream client (they see 1006), recording each; returns
        how many."""
        dropped = 0
        for conn in self.connections:
            if self.user_stream.is_user_stream(conn):
                await conn.close(abrupt=True)
                self._record(AppliedFault(FaultKind.USER_STREAM_DROP, connection=conn.id))
                dropped += 1
        return dropped

    def _on_release(self, frame: ReplayFrame) -> list[OutFrame]:
        outs = super()._on_release(frame)
        self._feed.on_release(frame, outs)
        return outs

    async def _release(self, frame: ReplayFrame) -> None:
        await super()._release(frame)
        if self.user_stream.events.pending:
            await self.user_stream.events.flush()

    async def _flush_events(self) -> None:
        """Send the user-stream events the venue's last action queued, then wake its waiters (the ledger moved)."""
        await self.user_stream.events.flush()
        self._notify()

    def _record(self, fault: AppliedFault) -> None:
        # a fault that landed changes what a test may be waiting for (a held answer, a lost one)
        super()._record(fault)
        self._notify()
