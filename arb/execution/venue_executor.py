"""One venue-market's orders, every traded symbol: the order life cycle, never the venue's particulars.

:class:`VenueExecutor` owns a ccxt client, the venue's user stream and the orders in flight there. What
depends on the venue (which request creates, queries or cancels an order, how its messages read, its
weight headers, its dead-man's switch) is asked of its adapter, a
:class:`~connectors.common.private.PrivateVenue` from :mod:`connectors.registry`; this module never
names a venue. See :mod:`arb.execution.live_executor` for an order's life.
"""

from __future__ import annotations

__all__ = ["VenueExecutor"]

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar, cast

import aiohttp
import ccxt

from arb.errors import ArbError, VenueError
from arb.execution.dead_man import DeadMan
from arb.execution.departure import Departures, Leg, keep_warm
from arb.execution.done_orders import DoneOrders
from arb.execution.failpoints import failpoint
from arb.execution.late_fills import LateFills
from arb.execution.live_parts import ClientIds, ExecutionSettings, JournalSink, VenueMarket, patient
from arb.execution.orders import LiveOrder, new_order, unvalued_fees
from arb.execution.outcome import Answer, Outcome, classify
from arb.execution.paper import Rejection
from arb.execution.price_grid import wire
from arb.execution.rate_guard import RateGuard, Traffic, traffic_of_kind
from arb.execution.venue_account import AccountReads
from arb.execution.venue_errors import VenueSetup, venue_error
from arb.execution.wire_trace import WireRecord, WireTrace, failure_reason
from arb.waiting import Conditions
from connectors.common.order_entry import CreateSigner, OrderEntry
from connectors.common.orders import OrderState, VenueFill, VenueOrderUpdate
from connectors.common.private import Market, MarketAssets, OrderRequest, PrivateVenue, Stream
from connectors.common.rest_lane import PreparedCreate, RestLane
from connectors.registry import private_venue

log = logging.getLogger(__name__)

T = TypeVar("T")

NS_PER_MS = 1_000_000
ZERO = Decimal(0)


class VenueExecutor(AccountReads, LateFills):
    """Real orders on one venue-market through ccxt, for every traded symbol, with one user stream and
    the journal.

    ``exchange``: a ccxt.pro client from :func:`arb.execution.ccxt_setup.make_exchange` whose session
    is ``trace.session()``. ``symbols``: the venue's ids of the traded symbols in ``[strategy] symbols``
    order (``("BTCUSDT", "ETHUSDT")``); ``symbol`` alone is the one-symbol form. ``on_done(order)`` is
    called when an order is done (terminal with every fill seen). ``adapter``: the venue-market's
    private side (by default the registry's for ``venue`` and ``market``).

    One client, so one private connection carries every symbol's orders and fills (the venues' user
    streams are account-wide): they are routed by the symbol each message names, and each symbol's
    trades are told apart by ``(symbol, trade id)`` and its orders by ``(symbol, order id)`` (a venue
    may number both per symbol). The rate guard, the resolver and the dead-man's switch are the
    venue's, shared by the symbols.
    """

    def __init__(
        self,
        *,
        index: int,
        venue: str,
        market: str,
        exchange: Any,
        trace: WireTrace,
        journal: JournalSink,
        ids: ClientIds,
        account: str,
        settings: ExecutionSettings,
        symbol: str = "",
        symbols: Sequence[str] = (),
        clock: Callable[[], int] = time.time_ns,
        on_done: Callable[[LiveOrder], None] | None = None,
        setup: VenueSetup | None = None,
        adapter: PrivateVenue | None = None,
    ) -> None:
        names = tuple(symbols) or (symbol,)
        if not all(names) or len(set(names)) != len(names):
            raise ValueError(f"{venue} {market}: expected distinct symbols, got {names}")
        self.index = index
        self.venue = venue
        self.market = market
        self.adapter: PrivateVenue = adapter or private_venue(venue, cast(Market, market))
        """The venue-market's private side: every request and message whose form is the venue's."""
        self.markets = [VenueMarket(s, name) for s, name in enumerate(names)]
        """Every traded symbol's market, in ``[strategy] symbols`` order."""
        self._market_of = {m.symbol: m for m in self.markets}
        self.exchange = exchange
        self.trace = trace
        self.journal = journal
        self.ids = ids
        self.account = account
        self.settings = settings
        self.clock = clock
        self.on_done = on_done
        self.on_change: Callable[[], None] | None = None
        """Called whenever the orders in flight or their states change (the live executor's counts)."""
        self.on_quote: Callable[[LiveOrder], None] | None = None
        """Called with each piece of news about a resting quote (only a quoting executor rests any)."""
        self.setup = setup or VenueSetup(market=market)
        """What a failure message points at (the key's variables, the URLs, the venue file)."""
        self.order_entry: OrderEntry | None = None
        """The order WebSocket (``order_entry = "websocket"``); ``wire_*``: the record of a request over it."""
        self.warmed = 0  # creates built and signed to keep the order path warm, never sent (warm_interval_ms)
        self.rest_lane: RestLane | None = None  # keep-alive REST connections for creates (None: ccxt's client)
        self.create_signer: CreateSigner | None = None  # the venue's own signing of creates (None: ccxt's sign)
        self.wire_written, self.wire_answered = WireTrace.note_written, WireTrace.note_answer
        self.departures = Departures()  # one decision's orders leave together (arb.execution.departure)
        self.guard = RateGuard(venue, clock, rate_use=self.adapter.rate_use, headroom=settings.rate_headroom,
                               reduce_only_past_throttle=self.adapter.reduce_only_past_throttle)  # fmt: skip
        self.dead_man = DeadMan(self)
        """The venue's dead-man's switch (``dead_man.arm`` before trading, ``dead_man.run`` while trading)."""
        self.orders: dict[str, LiveOrder] = {}
        """This run's orders by client id: in flight, or done lately (``done_orders``)."""
        self._in_flight: dict[str, LiveOrder] = {}
        """The orders the engine has not been told the end of, by client id."""
        self._by_venue_id: dict[tuple[str, str], LiveOrder] = {}
        self._seen_trades: set[tuple[str, str]] = set()
        self.done_orders = DoneOrders(self.orders, self._by_venue_id, self._seen_trades)
        self.later: Callable[..., None] | None = None
        """Work that can wait for an idle loop (``arb live``'s chores): the user stream's commits; None: at once."""
        self.answered_now: Callable[[], None] | None = None
        """Called after a message (stream, a create's answer) that ended an order: the engine decides at once."""
        self._commit_queued = self._ended = False
        self.orphan_fills: list[VenueFill] = []  # (see LateFills)
        self._earlier_orphans: list[VenueFill] = []
        self._told_before: dict[str, set[str]] = {}
        self._standing: dict[str, LiveOrder] = {}
        self._asked: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background: list[asyncio.Task[Any]] = []
        self.stream_up, self.stream_reconnects = False, 0
        self._waiters = Conditions()
        self._sweep_after_ns, self._stopping, self.next_order_id = 0, False, 1
        self.fee_coins: set[str] = set()  # third coins the account pays fees in (the start-up reads the rates)
        self.coin_prices: dict[str, Decimal] = {}  # their last prices read in quote: fees in them are valued at it
        self.counters = dict.fromkeys(("sent", "rejected", "unknown", "resolved", "not_found", "fills",
            "duplicate_fills", "sweeps", "local_rejects", "orphans_attached", "reopened", "orphans_asked",
            "unvalued_fees"), 0)  # fmt: skip

    # -- the traded markets ---------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """The venue's ids of the traded symbols, in order."""
        return tuple(m.symbol for m in self.markets)

    @property
    def quote_asset(self) -> str:
        """The quote asset (every symbol's: one quote balance per venue)."""
        return self.markets[0].quote_asset

    @property
    def last_fill_ms(self) -> int:
        """The venue's time of the last fill seen, over every symbol (0: none)."""
        return max(m.last_fill_ms for m in self.markets)

    @last_fill_ms.setter
    def last_fill_ms(self, value: int) -> None:
        for m in self.markets:
            m.last_fill_ms = value

    def market_of(self, symbol: str) -> VenueMarket | None:
        """The traded market of venue id ``symbol``, or None (a symbol arb does not trade)."""
        return self._market_of.get(symbol)

    # -- requests -----------------------------------------------------------------------------------

    @property
    def known_client_ids(self) -> Iterable[str]:
        """The client id of every order held (:class:`~connectors.common.private.PrivateLink`)."""
        return self.orders.keys()

    @property
    def name(self) -> str:
        """``"<venue> spot"``: how messages name this venue-market."""
        return f"{self.venue} {self.market}"

    @property
    def stopping(self) -> bool:
        """:meth:`stop` was called: the background tasks end."""
        return self._stopping

    async def call(self, request: Callable[[], Awaitable[T]], *, hint: str = "") -> T:
        """Await one ccxt call (one or more REST requests) and return its result; a failure of any kind
        (refused, unreachable, no answer, an error answer) raises :class:`~arb.errors.VenueError` naming
        the venue, the request, what it answered and what to check (``hint``: what to check when the
        venue refuses for a reason of the request's own, such as an account setting it needs).

        The rate guard admits it first by the caller's traffic kind (``guard.traffic``; needed by default):
        held, it raises VenueError ``"held"`` unsent. Every answer's limits go to the guard."""
        traffic, key = self.guard.current()
        held = self.guard.admit(traffic, key)
        if held is not None:
            raise VenueError(self.name, f"held back, not sent: {held}", "nothing", code="held", retryable=True)
        with self.trace.recording() as rec:
            try:
                result = await request()
            except (TimeoutError, ccxt.BaseError, aiohttp.ClientError, OSError) as error:
                raise self.failure(error, rec, hint=hint) from error
            self.guard.observe(rec.headers, request=rec.request)
            return result

    async def request(self, method: str, params: Mapping[str, Any], *, hint: str = "") -> Any:
        """One private request by the ccxt client's implicit method ``method`` (``"privateGetV5OrderRealtime"``)
        with ``params``, through :meth:`call`: what the venue adapter sends."""
        return await self.call(functools.partial(getattr(self.exchange, method), dict(params)), hint=hint)

    def _classify(self, rec: WireRecord, timed_out: bool, now: int) -> Answer:
        # What the wire showed, by arb's rule and the venue's codes
        return classify(self.adapter.answers, written=rec.written_ns > 0, http_status=None if timed_out else rec.status,
                        headers=rec.headers, body=None if timed_out else rec.body, timed_out=timed_out,
                        now_ms=now // NS_PER_MS)  # fmt: skip

    def failure(self, error: BaseException, rec: WireRecord, *, hint: str = "") -> VenueError:
        """The :class:`~arb.errors.VenueError` for ``error`` raised by a request recorded in ``rec``."""
        if not rec.request:  # the client refused before any request left (ccxt checks its arguments)
            return VenueError(self.name, f"arb's ccxt client refused the call: {error}",
                              hint or f"the venue file {self.setup.file}".rstrip(), code="client")  # fmt: skip
        timed_out = isinstance(error, ccxt.RequestTimeout | TimeoutError)
        answer = self._classify(rec, timed_out, self.clock())
        self.guard.observe(rec.headers, answer, request=rec.request)
        if answer.rate_limited:
            self._waiters.notify()  # whoever waits on the venue's state asks again
        setup = self.setup
        if not setup.rest and rec.url:  # the base the request went to
            setup = VenueSetup(setup.credentials, setup.market, setup.network, rec.url, setup.file)
        credentials = (str(getattr(self.exchange, "apiKey", "") or ""), str(getattr(self.exchange, "secret", "") or ""))
        return venue_error(self.name, answer, setup, request=rec.request, hint=hint, reason=failure_reason(error),
                           redact=credentials)  # fmt: skip

    # -- setup --------------------------------------------------------------------------------------

    async def start(self) -> dict[str, dict[str, tuple[str, str]]]:
        """Load the markets; returns each symbol's trading rules as the venue states them: symbol ->
        name -> (value, unit)."""
        with patient(self.exchange):  # a start's instrument lists, not an order: not held to request_timeout_ms
            await self.call(self.exchange.load_markets)
        self.adapter.markets_loaded(self.exchange)  # what its requests and market ids need (OKX's instIdCode)
        out = {}
        for m in self.markets:
            market = self._find_market(m.symbol)
            m.ccxt_symbol, m.base_asset, m.quote_asset = market["symbol"], market["base"], market["quote"]
            m.tick = Decimal(str(market["precision"]["price"]))
            contract = Decimal(str(market.get("contractSize") or 1))  # a contract's sizes in base units, as arb's
            m.step, limits = Decimal(str(market["precision"]["amount"])) * contract, market.get("limits", {})
            least = Decimal(str((limits.get("amount") or {}).get("min") or 0)) * contract
            out[m.symbol] = {"tick_size": (wire(m.tick), "price"), "lot_size": (wire(m.step), "base"),
                             "min_qty": (wire(least) if least else "0", "base"),
                             "min_notional": (str((limits.get("cost") or {}).get("min") or 0), "quote")}  # fmt: skip
        quotes = {m.quote_asset for m in self.markets}
        if len(quotes) != 1:
            raise ArbError(f"{self.venue} {self.market}: the symbols are quoted in {sorted(quotes)}; arb needs one")
        self.guard.limits = self.adapter.rate_limits(self.exchange)
        self.journal.expect_run(self.ids.run_id)
        return out

    def _find_market(self, symbol: str) -> dict[str, Any]:
        wanted = "spot" if self.market == "spot" else "swap"
        for market in self.exchange.markets.values():
            if market["id"] == self.adapter.market_id(symbol) and market["type"] == wanted:
                return dict(market)
        raise ArbError(f"{self.venue} {self.market}: the venue lists no market {symbol} (one of [strategy] symbols): "
                       "nothing was traded")  # fmt: skip

    def run_background(self, group: asyncio.TaskGroup) -> None:
        """Start the user stream and the resolver in ``group``; they run until :meth:`stop`."""
        self._stopping = False
        self._background = [
            group.create_task(self._watch("orders"), name=f"{self.venue}-orders"),
            group.create_task(self._watch("trades"), name=f"{self.venue}-trades"),
            group.create_task(self._resolver(), name=f"{self.venue}-resolver"),
            *([group.create_task(self.keep_coin_prices(), name=f"{self.venue}-coin-prices")] if self.fee_coins else []),
        ]
        if self.settings.warm_interval_ns:  # the order path kept warm (arb.execution.departure.keep_warm)
            warm = keep_warm(self._rehearse, self.markets, self.settings.warm_interval_ns, self._warmed, self.name)
            self._background.append(group.create_task(warm, name=f"{self.venue}-warm"))

    def _rehearse(self, market: VenueMarket) -> None:
        # submit's steps for an order of ``market`` that is never sent: built, its journal row made (not stored), its
        # create built and signed (not written)
        order, _ = new_order(0, f"arb-warm-{self.index}-{market.index}", self.index, market, 1, 1.0, 1.0, 0, 0, 0, 0,
                             reduce_only=False)  # fmt: skip
        self.journal.rehearse_intent(order, venue=self.venue, market=self.market, account=self.account,
                                     run_id=self.ids.run_id)  # fmt: skip
        self.adapter.prepare_create(self, self._request_of(order))

    def _warmed(self) -> None:
        self.warmed += 1
        if self._waiters.waiters:
            self._waiters.notify()

    def add_background(self, task: asyncio.Task[Any]) -> None:
        """End ``task`` with the other background tasks at :meth:`stop`."""
        self._background.append(task)

    def stop(self) -> None:
        """End the background tasks (a TaskGroup treats their cancellation as a normal end)."""
        self._stopping = True
        for task in self._background:
            task.cancel()
        self._background = []

    def adopt(
        self, orders: Iterable[LiveOrder], trade_keys: Iterable[tuple[str, str]], orphans: Iterable[VenueFill] = ()
    ) -> None:
        """Take over orders a previous run left in flight (from the journal), the ``(symbol, trade id)``
        of every fill it booked and the fills it booked as no order's (``orphans``: one of them becomes an
        order's once that order's venue id is known). Each order must be of a traded symbol
        (:meth:`market_of`)."""
        self._earlier_orphans.extend(orphans)
        for order in orders:
            market = self._market_of[order.symbol]
            order.venue = self.index
            order.symbol_index = market.index
            self.orders[order.client_id] = order
            if not order.answered:
                self._in_flight[order.client_id] = order
            if order.venue_order_id:
                self._by_venue_id[(order.symbol, order.venue_order_id)] = order
        self._seen_trades.update(trade_keys)
        for order in list(self._in_flight.values()):
            self._attach_orphans(order)
        self._changed()

    def _changed(self) -> None:
        # The orders in flight or their states changed: whoever counts them recounts, whoever waits asks again
        if self.on_change is not None:
            self.on_change()
        if self._waiters.waiters:
            self._waiters.notify()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true: asked now and after each change of the orders or of the
        user stream's state (nothing more for the order path to do while no one waits)."""
        await self._waiters.wait_until(predicate)

    # -- sending ------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> list[LiveOrder]:
        """Orders the engine has not been told the end of (every symbol's)."""
        return list(self._in_flight.values())

    def submit(
        self,
        side: int,
        price: float,
        qty: float,
        kind: int,
        pair_id: int,
        now: int,
        *,
        reduce_only: bool = False,
        symbol: int = 0,
    ) -> LiveOrder:
        """Put an order of symbol number ``symbol`` on its grid, make its intent durable, and hand it to a
        task (leaving with the decision's other legs: :mod:`arb.execution.departure`); returns it at once."""
        intent_ns = self.clock()
        client_id, market = self.ids.next(pair_id, self.index), self.markets[symbol]
        order, qty_d = new_order(self.next_order_id, client_id, self.index, market, side, price, qty, kind, pair_id,
                                 now, intent_ns, reduce_only=reduce_only)  # fmt: skip
        self.next_order_id += 1
        refusal = self.guard.admit(traffic_of_kind(kind), create=True, reduce_only=reduce_only) or (
            "quantity below one lot" if qty_d <= 0 else None)  # fmt: skip
        try:
            self.journal.record_intent(order, venue=self.venue, market=self.market, account=self.account,
                                       run_id=self.ids.run_id)  # fmt: skip
        except Exception as error:  # noqa: BLE001 - any journal failure means: do not send
            log.error("%s: journal refused intent %s (%s): not sent", self.venue, order.client_id, error)
            refusal = f"journal: {error}"
        self.orders[order.client_id] = order
        self._in_flight[order.client_id] = order
        if refusal is not None:
            self._reject(order, Rejection("local", refusal), "local")
            self.counters["local_rejects"] += 1
            self._changed()
            return order
        failpoint("intent_committed")
        leg = self.departures.leg()  # over an order WebSocket: built now, written with the decision's others
        outgoing = self.departures.prepare(
            functools.partial(self.adapter.prepare_create, self, self._request_of(order)), leg
        )
        # the rest once the decision's orders are written: none of it goes before the bytes
        self.departures.after(functools.partial(self._follow, order, leg, outgoing))
        return order

    def _follow(self, order: LiveOrder, leg: Leg, outgoing: PreparedCreate | None) -> None:
        # A submitted order, its decision's writes done: the task that sends it by REST (or awaits the
        # order WebSocket's answer), and the counts and waiters told
        task = asyncio.get_running_loop().create_task(self._send(order, leg, outgoing), name=f"send-{order.client_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._changed()

    def _request_of(self, order: LiveOrder) -> OrderRequest:
        return OrderRequest(
            order.symbol,
            self.markets[order.symbol_index].ccxt_symbol,
            order.side,
            order.qty_text,
            order.price_text,
            order.client_id,
            reduce_only=order.reduce_only,
        )

    async def _send(self, order: LiveOrder, leg: Leg | None = None, outgoing: PreparedCreate | None = None) -> None:
        rec = self.trace.record()
        rec.on_written = lambda: failpoint("request_written")
        if leg is not None:
            rec.on_writing = leg.went
        timed_out = False
        reply: dict[str, Any] | None = None
        try:
            reply = await self.adapter.create(self, self._request_of(order), outgoing)
        except ccxt.RequestTimeout:
            timed_out = True
        except (TimeoutError, ccxt.BaseError, aiohttp.ClientError) as error:
            log.debug("%s: create %s raised %r", self.venue, order.client_id, error)
        except Exception as error:  # noqa: BLE001 - a bug in a library must not leave the order in limbo:
            # the wire record still says whether the request left, so the outcome is decided as always
            log.error("%s: create %s raised an unexpected %r", self.venue, order.client_id, error)
        if leg is not None:
            leg.went()  # written or not: the session waits for it no longer
        now = self.clock()
        order.written_ns = rec.written_ns
        if rec.written_ns and order.state is OrderState.PENDING:
            order.state = OrderState.SENT
        answer = self._classify(rec, timed_out, now)
        self.guard.observe(rec.headers, answer, request=rec.request, create=True)
        self.counters["sent"] += 1
        order.ack_ns = now
        if answer.outcome is Outcome.ACCEPTED:
            self.journal.record_state(order, "ack", now, {"written_ns": rec.written_ns})
            if reply is not None:
                self._take_reply(order, reply, now)
            elif order.state is OrderState.SENT:
                order.state = OrderState.ACCEPTED
        elif answer.outcome is Outcome.REJECTED:
            code: int | str = int(answer.code) if answer.code.lstrip("-").isdigit() else answer.code
            self._reject(order, Rejection(code, answer.message), "venue")
        else:
            self._unknown(order, answer, now)
        failpoint("answer_processed")
        self._check_done(order)
        self._changed()
        self._after_message()

    def _take_reply(self, order: LiveOrder, reply: dict[str, Any], now: int) -> None:
        update = self.adapter.order_update(reply)
        if update is not None:
            self._apply(order, update, "reply")
        elif order.state in (OrderState.SENT, OrderState.PENDING):
            self._apply(
                order,
                VenueOrderUpdate(
                    order.client_id, str(reply.get("orderId", "")), OrderState.ACCEPTED, ZERO, symbol=order.symbol
                ),
                "reply",
            )
        for fill in self._parse_fills(reply):
            self._book_fill(fill, "reply")

    def _reject(self, order: LiveOrder, rejection: Rejection, source: str) -> None:
        if order.fills:
            # a fill wins over a later "rejected": the venue took the order, which the stream or a query settles
            log.warning("%s: %s answered %s %s by %s, but the venue reported fills of it: it stays %s",
                        self.venue, order.client_id, rejection.code, rejection.message, source, order.state.value,
                        extra={**_ids(self.venue, order), "event": "reject_overruled"})  # fmt: skip
            return
        order.state = OrderState.REJECTED
        order.rejection = rejection
        self.counters["rejected"] += 1
        detail = {"code": str(rejection.code), "message": rejection.message, "source": source}
        self.journal.record_state(order, "reject", self.clock(), detail)
        log.warning(
            "%s rejected %s (%s %s %s @ %s): %s %s",
            self.venue,
            order.client_id,
            order.symbol,
            "buy" if order.side > 0 else "sell",
            order.qty_text,
            order.price_text,
            rejection.code,
            rejection.message,
            extra={**_ids(self.venue, order), "event": "reject", "code": str(rejection.code)},
        )
        self._check_done(order)

    def _unknown(self, order: LiveOrder, answer: Answer, now: int) -> None:
        if order.state.terminal:
            return  # the stream already told us
        if order.fills or order.venue_order_id or order.state in (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED):
            # the venue's own report (a fill, its order id, the order on its book) showed it took the order
            # before its answer was lost: the order is the venue's, settled by the stream or a query, never
            # "not found"
            log.info("%s: %s's answer was lost (%s %s) after the venue reported the order; it stays %s",
                     self.venue, order.client_id, answer.code, answer.message, order.state.value,
                     extra=_ids(self.venue, order))  # fmt: skip
            return
        order.state = OrderState.UNKNOWN
        order.unknown_since_ns = now
        order.not_found = 0
        self.counters["unknown"] += 1
        self.journal.record_state(order, "unknown", now, {"code": answer.code, "message": answer.message})
        log.warning(
            "%s: order %s outcome UNKNOWN (%s %s); querying it, never resending",
            self.venue,
            order.client_id,
            answer.code,
            answer.message,
            extra={**_ids(self.venue, order), "event": "unknown", "code": str(answer.code)},
        )

    # -- what the venue says -------------------------------------------------------------------------

    def _parse_fills(self, raw: Mapping[str, Any]) -> list[VenueFill]:
        # the fee asset of a row that names none is its symbol's market's (the adapter knows the rule)
        market = self._market_of.get(str(raw.get("symbol", ""))) or self.markets[0]
        return self.adapter.fills(raw, MarketAssets(market.base_asset, market.quote_asset))

    def _symbol_of(self, symbol: str) -> str:
        # A message's symbol; the first symbol's when the message names none (one-symbol callers' raw rows)
        return symbol or self.markets[0].symbol

    def _order_for(self, client_id: str, venue_order_id: str, symbol: str) -> LiveOrder | None:
        order = self.orders.get(client_id) if client_id else None
        if order is None and venue_order_id:
            order = self._by_venue_id.get((symbol, venue_order_id))
        if order is not None and order.symbol != symbol:
            # client ids are arb's and unique forever, so this is a venue message that names another market
            # than the order was sent to (see ccxt's Bybit spot/contract guess): not this order's
            log.error("%s: a %s message about %s, an order of %s: ignored", self.venue, symbol, client_id, order.symbol)
            return None
        return order

    def _apply(self, order: LiveOrder, update: VenueOrderUpdate, source: str) -> None:
        before = order.state
        self._contradicts(order, update, self.clock())  # a "not found" order the venue shows reopens
        if order.apply(update):
            if order.venue_order_id:
                self._by_venue_id[(order.symbol, order.venue_order_id)] = order
                self._attach_orphans(order)
            if before is OrderState.UNKNOWN and order.state is not OrderState.UNKNOWN:
                self.counters["resolved"] += 1
                log.info(
                    "%s: unknown order %s resolved by %s: %s", self.venue, order.client_id, source, order.state.value
                )
            self.journal.record_state(
                order,
                "state",
                self.clock(),
                {"state": order.state.value, "executed": str(order.executed_qty), "source": source},
            )
        self._check_done(order)
        self._changed()

    def on_order_message(self, raw: dict[str, Any], source: str = "stream") -> None:
        """One order report (user stream or REST), as the venue's raw JSON; routed by the symbol it names
        (a symbol arb does not trade is not arb's business)."""
        update = self.adapter.order_update(raw)
        if update is None:
            return
        symbol = self._symbol_of(update.symbol)
        if symbol not in self._market_of:
            return
        order = self._order_for(update.client_id, update.venue_order_id, symbol)
        if order is not None:
            self._apply(order, update, source)

    def on_trade_message(self, raw: dict[str, Any], source: str = "stream") -> None:
        """One trade report (user stream or REST history), as the venue's raw JSON."""
        for fill in self._parse_fills(raw):
            if self._symbol_of(fill.symbol) in self._market_of:
                self._book_fill(fill, source)

    def _book_fill(self, fill: VenueFill, source: str) -> None:
        now = self.clock()
        symbol = self._symbol_of(fill.symbol)
        key = (symbol, fill.trade_id)
        if key in self._seen_trades:
            self.counters["duplicate_fills"] += 1
            return
        order = self._order_for(fill.client_id, fill.venue_order_id, symbol)
        new = self.journal.record_fill(
            order, fill, venue=self.venue, market=self.market, source=source, local_ts_ns=now
        )
        self._seen_trades.add(key)
        market = self._market_of[symbol]
        market.last_fill_ms = max(market.last_fill_ms, fill.exch_ts_ms)
        if not new:
            self.counters["duplicate_fills"] += 1
        if order is None:
            if new:  # an order's of this run whose venue id is not known yet, or not arb's (reconciliation)
                self.orphan_fills.append(fill)
                log.warning("%s: fill %s of %s for no order known (venue order %s)",
                            self.venue, fill.trade_id, symbol, fill.venue_order_id)  # fmt: skip
                self._changed()
            return
        self._take_fill(order, fill, now)
        if fill.venue_order_id and not order.venue_order_id:
            order.venue_order_id = fill.venue_order_id
            self._by_venue_id[(symbol, fill.venue_order_id)] = order
            self._attach_orphans(order)
        self._check_done(order)
        self._changed()

    def _check_done(self, order: LiveOrder) -> None:
        if order.answered or not order.done:
            return
        order.answered = self._ended = True
        self._in_flight.pop(order.client_id, None)
        self.done_orders.done(order, self.clock())
        market = self._market_of.get(order.symbol) or self.markets[0]
        told = self._told_before.pop(order.client_id, None)  # reopened: the news is a copy, the first stays as told
        news = order if told is None else dataclasses.replace(order)
        news.settle(self.clock(), market.quote_asset, market.base_asset, told or (), self.coin_prices)
        fills = [f for t, f in order.fills.items() if t not in (told or ())]
        self.say_unvalued_fees(order, fills, market)
        priced = {f.fee_asset: wire(self.coin_prices[f.fee_asset]) for f in fills if f.fee_asset in self.coin_prices}
        detail = {"state": order.state.value, "filled": wire(order.filled) if order.fills else "0",
                  **({"fee_prices": priced} if priced else {})}  # fmt: skip  # what a fee in a third coin was valued at
        self.journal.record_state(order, "done", news.respond_ts, detail)
        if self.on_done is not None:
            self.on_done(news)

    def say_unvalued_fees(self, order: LiveOrder, fills: Iterable[VenueFill], market: VenueMarket) -> None:
        """Each fill whose fee was charged in a third coin (BNB) of no known price: journaled, said, counted."""
        for fill in unvalued_fees(fills, market.quote_asset, market.base_asset, self.coin_prices):
            self.counters["unvalued_fees"] += 1
            log.error("%s: order %s paid a fee of %s %s (trade %s), neither %s nor %s and no price of it read: "
                      "kept in the journal, not in the PnL arb shows", self.venue, order.client_id, wire(fill.fee),
                      fill.fee_asset, fill.trade_id, market.quote_asset, market.base_asset,
                      extra={**_ids(self.venue, order), "event": "unvalued_fee"})  # fmt: skip

    # -- finding out ------------------------------------------------------------------------------------

    async def query(self, order: LiveOrder) -> VenueOrderUpdate | None:
        """Ask the venue for the order by client id; None when it says the order does not exist."""
        return await self.adapter.query(self, order.symbol, order.client_id)

    async def resolve(self, order: LiveOrder) -> None:
        """One look at an order still in flight: its state (by query) and its fills (by trade history)."""
        now = self.clock()
        try:
            update = await self.query(order)
        except VenueError as error:
            log.info("%s: query of %s failed (%s); will ask again", self.venue, order.client_id, error)
            return
        if update is None:
            # an order with fills or a venue id is the venue's, whatever a query says (its order service may
            # lag its trades): never counted
            taken = order.fills or order.venue_order_id
            if (order.state is OrderState.UNKNOWN or order.state is OrderState.SENT) and not taken:
                order.not_found += 1
                waited = now - order.unknown_since_ns if order.unknown_since_ns else 0
                if order.not_found >= self.settings.unknown_checks and waited >= self.settings.unknown_grace_ns:
                    self.counters["not_found"] += 1
                    log.warning("%s: %s not found after %d queries over %.1f s: the venue never took it",
                                self.venue, order.client_id, order.not_found, waited / 1e9,
                                extra={**_ids(self.venue, order), "event": "not_found"})  # fmt: skip
                    self._reject(order, Rejection("not-found", "the venue has no such order"), "query")
                    self._declared_not_found(order)
                    self._changed()
            self.journal.flush()
            return
        order.not_found = 0
        self._apply(order, update, "query")
        if order.executed_qty > order.filled:
            self.counters["sweeps"] += 1
            for row in await self.order_trades(order):
                self.on_trade_message(row, "rest")
        self.journal.flush()

    async def sweep(self) -> None:
        """After a stream gap: book every symbol's trades since its last fill seen (and a margin before it)."""
        self.counters["sweeps"] += 1
        for m in self.markets:
            last = m.last_fill_ms
            since = max(0, last - 60_000) if last else max(0, self.clock() // NS_PER_MS - 600_000)
            for row in await self.trades_since(since, m.symbol):
                self.on_trade_message(row, "rest")
        await self.recheck_verdicts()  # orders declared not found, by what the venue shows now
        self.journal.flush()
        self._changed()  # what the sweep found and asked (its counters) is news to whoever waits on them

    async def _resolver(self) -> None:
        interval = self.settings.unknown_check_interval_ns / 1e9
        while not self._stopping:
            await asyncio.sleep(interval)
            if self.guard.blocked(Traffic.NEEDED, create=False) is not None:
                continue  # a ban or a Retry-After window: nothing to find out by until it ends
            now = self.clock()
            # the orders in flight first: a trade row may name no client id, so a sweep before an unknown
            # order's venue id is known could only book its fills as no order's
            for order in self.in_flight:
                if self.due(order, now):
                    try:
                        await self.resolve(order)
                    except VenueError as error:
                        log.info("%s: checking %s failed (%s); will try again", self.venue, order.client_id, error)
            if self._sweep_after_ns and now >= self._sweep_after_ns:
                self._sweep_after_ns = 0
                try:
                    await self.sweep()
                except VenueError as error:
                    log.info("%s: trade sweep failed (%s); will try again", self.venue, error)
                    self._sweep_after_ns = now + self.settings.stream_retry_ns

    def due(self, order: LiveOrder, now: int) -> bool:
        """Whether the resolver looks at ``order`` now: unknown, or answered without all its fills."""
        return order.state is OrderState.UNKNOWN or bool(
            order.ack_ns and now - order.ack_ns >= self.settings.fill_check_after_ns
        )

    def _after_message(self) -> None:
        # After a message's effects: an order it ended is decided at once (``answered_now``). Its fills and states
        # are committed when the loop is idle (``later``), after the decisions they woke (0.2-0.5 ms of SQLite
        # otherwise in front of the next pair). A crash before finds the order in flight and the restart books its
        # fills by query; a decision's orders are durable by their intents.
        if self._ended and self.answered_now is not None:
            self._ended = False
            self.answered_now()
        if self.later is None:
            self.journal.flush()
        elif not self._commit_queued:
            self._commit_queued = True
            self.later(self._commit)

    def _commit(self) -> None:
        self._commit_queued = False
        self.journal.flush()

    async def _watch(self, what: Stream) -> None:
        # Every symbol's orders (trades) of the account's one private connection; each message is routed
        # by the symbol it names.
        delay = self.settings.stream_retry_ns / 1e9
        handle = self.on_order_message if what == "orders" else self.on_trade_message
        while not self._stopping:
            try:
                items = await self.adapter.watch(self, what)
                if not self.stream_up:
                    self.stream_up = True
                    self._waiters.notify()
                delay = self.settings.stream_retry_ns / 1e9
                for info in items:
                    handle(info, "stream")
                self._after_message()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a stream failure of any kind: reconnect, then sweep
                if self._stopping:
                    return
                self.stream_up = False
                self.stream_reconnects += 1
                self._waiters.notify()
                log.warning("%s user stream (%s) failed: %r; reopening in %.1f s, then a REST sweep",
                            self.venue, what, error, delay)  # fmt: skip
                self._sweep_after_ns = self.clock() + int(delay * 1e9) + self.settings.stream_retry_ns
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # -- shutting down -------------------------------------------------------------------------------

    async def drain(self, timeout_ns: int) -> list[LiveOrder]:
        """Wait (bounded) for the orders in flight to be done; returns those still in flight."""
        deadline = self.clock() + timeout_ns
        while self.in_flight and self.clock() < deadline:
            for order in self.in_flight:
                with contextlib.suppress(VenueError):
                    await self.resolve(order)
            if self.in_flight:
                await asyncio.sleep(self.settings.unknown_check_interval_ns / 1e9)
        return self.in_flight


def _ids(venue: str, order: LiveOrder) -> dict[str, object]:
    # an order's names for a structured log line (arb.logs: --log-format json)
    return {"venue": venue, "symbol": order.symbol, "client_id": order.client_id, "pair_id": order.pair_id}
