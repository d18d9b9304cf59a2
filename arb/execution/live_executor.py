"""Live executors: real orders through ccxt, journaled before they are sent, never sent twice.

One :class:`~arb.execution.venue_executor.VenueExecutor` per venue of the run (in the venue's market: spot
or linear, e.g. Binance USD-M) owns a ccxt async client (:mod:`arb.execution.ccxt_setup`), the venue's user
stream (ccxt.pro) and the orders in flight there, for every traded symbol (one market each,
:class:`~arb.execution.live_parts.VenueMarket`; one private connection carries them all). Whatever
depends on the venue (its requests, its messages, its weight headers, its dead-man's switch) is its
adapter's (``connectors/<venue>/private.py``, a :class:`~connectors.common.private.PrivateVenue` found
through :mod:`connectors.registry`): the executor keeps the order life cycle and never names a venue.
:class:`LiveExecutor` puts the run's (one per venue) behind the interface the engine already drives the paper executor
through (``submit``, ``next_event_ts``, ``run_until``, ``cancel_all``, ``open_counts`` per symbol and
venue, ``summary``), so the kernel and the risk gate above do not know which one they talk to.

An order's life (see :mod:`arb.execution.orders` for the states):

1. ``submit`` (synchronous, on the decision's path): price and quantity go on the venue's grid in the
   safe direction (:mod:`arb.execution.price_grid`), the order gets a client id unique forever, and the
   intent is **committed to the journal**: the one write the hot path waits for. Only then is the
   request handed to a task.
2. The request goes out through the adapter (ccxt's ``create_order``) on a session whose trace hooks
   (:mod:`arb.execution.wire_trace`) note when its bytes were written, the HTTP status, headers and body.
   The outcome is decided by arb
   (:mod:`arb.execution.outcome`): accepted, rejected (with the venue's code) or **unknown**.
3. An unknown order is resolved by querying it by client id, every ``unknown_check_interval``; it
   stays in flight (counted as open, blocking what the risk gate blocks) until the venue says what
   happened. Only after ``unknown_checks`` consecutive "does not exist" answers spread over at least
   ``unknown_grace`` does arb conclude the venue never took it. It is never sent again.
4. Fills come from the user stream, each booked once by its trade id (the journal refuses a second
   copy too). An order whose fills are not all seen ``fill_check_after`` after it was answered (a
   silent or reconnecting stream) is swept over REST; every stream reconnect triggers a sweep of
   the trades since the last fill.
5. When an order is terminal and all its fills are in, the engine is told, once.

Rate limits (:mod:`arb.execution.rate_guard`): every answer's limits (REST headers, the order
WebSocket's own fields) and ``Retry-After`` decide what each venue may be sent: during a ban nothing,
inside a Retry-After window only one cancel per resting order, past ``[live] rate_headroom`` of a limit
no optional traffic (new pairs, new quotes, routine looks at resting quotes). Held creates are refused
locally, journaled as rejected, never sent; :attr:`LiveExecutor.blocked_until_ns` tells the engine until
when optional traffic is held, so the kernel does not choose that venue meanwhile.

Every other request (markets, balances, positions, order queries, trade history, cancels, the
dead-man's switch, order books) goes through :meth:`~arb.execution.venue_executor.VenueExecutor.call` (an adapter's,
through :meth:`~arb.execution.venue_executor.VenueExecutor.request`): the rate guard admits it first,
a failure becomes one :class:`~arb.errors.VenueError` worded from what the wire showed, by the rule that
decides an order's outcome (:mod:`arb.execution.venue_errors`), and the guard reads every answer.

Journal writes other than the intent (acks, fills, states) are queued and committed together right
after the current step, off the decision's path.

:class:`LiveExecutor` hands the engine every order done on a venue (``run_until``), once, in the order
they were done, and keeps three arrays the engine reads at every decision, updated in place whenever
they change (never rebuilt on the decision's path):

- :attr:`LiveExecutor.open_counts` ``int64[n_symbols, n_venues]``: orders sent and not yet handed
  over, per symbol and venue (an order done on the venue but not yet handed over still counts: the
  engine may decide at a book update it received before the answer, and must not take a leg whose
  fill it has not seen yet for a lone one);
- :attr:`LiveExecutor.unknown_counts` ``int64[n_venues]``: orders whose outcome is unknown, per venue;
- :attr:`LiveExecutor.blocked_until_ns` ``int64[n_venues]``: local time until which a venue refuses
  orders itself (a rate limit, a used-up weight, a ban; 0 or a time past: it takes orders).
"""

from __future__ import annotations

__all__ = ["LiveExecutor"]

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from arb.errors import VenueError
from arb.execution.departure import Departures
from arb.execution.orders import LiveOrder
from arb.execution.paper import OrderStatus
from arb.execution.rate_guard import RateGuard
from arb.execution.rejections import Rejections
from arb.execution.venue_quotes import QuotingVenueExecutor, is_quote
from connectors.common.orders import OrderState

if TYPE_CHECKING:
    from arb.execution.venue_executor import VenueExecutor

log = logging.getLogger(__name__)

Counts = npt.NDArray[np.int64]

_FEWEST_VENUES = 2
"""A run trades two venues at least (``[strategy] venues``): the counts' width when none is given."""


class LiveExecutor:
    """The run's venue executors, one per venue, behind the interface the engine drives the paper executor
    through.

    ``symbols``: how many symbols are traded (the venue executors' markets by default); ``n_venues``: how
    many venues the run trades (by default one past the highest venue executor's ``index``, two at least).
    Counts are ``(symbols, n_venues)`` per (symbol, venue) and ``(n_venues,)`` per venue, indexed by the
    venue executors' ``index`` (the venue's number in the run, as the engine's views are).
    ``on_ready()`` is called whenever an order is done, so the driver can wake the engine, which then
    collects it with :meth:`run_until`.
    """

    def __init__(
        self,
        venues: Iterable[VenueExecutor],
        *,
        on_ready: Callable[[], None] | None = None,
        symbols: int | None = None,
        n_venues: int | None = None,
    ) -> None:
        self.venues = list(venues)
        self.on_ready = on_ready
        self.n_symbols = symbols or max((len(v.markets) for v in self.venues), default=0) or 1
        highest = max((v.index + 1 for v in self.venues), default=0)
        if n_venues is None:
            n_venues = max(_FEWEST_VENUES, highest)
        elif n_venues < highest:
            raise ValueError(f"a venue executor is venue {highest - 1}, past the run's {n_venues} venues")
        self.n_venues = n_venues
        self.open_counts: Counts = np.zeros((self.n_symbols, n_venues), np.int64)
        """Per (symbol, venue): orders the engine has not been told the end of (unknown ones included)."""
        self.unknown_counts: Counts = np.zeros(n_venues, np.int64)
        """Per venue: orders whose outcome is unknown (sent, unanswered, being queried), every symbol's."""
        self.blocked_until_ns: Counts = np.zeros(n_venues, np.int64)
        """Per venue: until when (ns, the executors' clock) it refuses new orders locally (0: never)."""
        self._undelivered: Counts = np.zeros((self.n_symbols, n_venues), np.int64)
        """Per (symbol, venue): orders done on the venue and not yet handed to the engine (:meth:`run_until`)."""
        self._by_index = {v.index: v for v in self.venues}
        self._done: deque[LiveOrder] = deque()
        self.rejections: Rejections[LiveOrder] = Rejections()
        self.departures = Departures()
        """One decision's orders on every venue leave together (:mod:`arb.execution.departure`)."""
        self.cancelled_at_stop: dict[str, int] = {}
        """Per venue name: the open orders :meth:`shutdown` cancelled."""
        for executor in self.venues:
            executor.departures = self.departures
            executor.on_done = self._order_done
            executor.on_quote = self._quote_news
            executor.on_change = lambda executor=executor: self._recount(executor)
            executor.guard.on_block = lambda until, v=executor.index: self._blocked(v, until)
            self.blocked_until_ns[executor.index] = executor.blocked_until_ns
            self._recount(executor)

    def _recount(self, executor: VenueExecutor) -> None:
        # One venue's column of the counts, from its orders in flight and those not yet handed over
        v = executor.index
        column = self.open_counts[:, v]
        column[:] = self._undelivered[:, v]
        unknown = 0
        for order in executor.in_flight:
            if not is_quote(order):  # a resting quote is no unanswered order (the gate counts it itself)
                column[order.symbol_index] += 1
            unknown += order.state is OrderState.UNKNOWN
        self.unknown_counts[v] = unknown

    def _blocked(self, v: int, until_ns: int) -> None:
        self.blocked_until_ns[v] = until_ns

    @property
    def next_order_id(self) -> int:
        return sum(v.next_order_id - 1 for v in self.venues) + 1

    @property
    def in_flight(self) -> list[LiveOrder]:
        """Every venue's orders sent and not yet answered, resting quotes included."""
        return [order for venue in self.venues for order in venue.in_flight]

    def rate_guards(self) -> list[tuple[str, str, RateGuard]]:
        """Each venue executor's name, market and rate guard (what the dashboard and the alerts read)."""
        return [(venue.venue, venue.market, venue.guard) for venue in self.venues]

    def submit(
        self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int, symbol: int = 0,
        *, reduce_only: bool = False,
    ) -> LiveOrder:  # fmt: skip
        """Send one IOC limit order of symbol number ``symbol`` on ``venue`` (its number in the run), reduce-only if
        asked (a perpetual's unwind); returns at once (see VenueExecutor.submit)."""
        executor = self._by_index[venue]
        return executor.submit(side, price, qty, kind, pair_id, now, symbol=symbol, reduce_only=reduce_only)

    def depart(self) -> None:
        """The decision's orders are all submitted: write those built for an order WebSocket now, back to
        back (:mod:`arb.execution.departure`)."""
        self.departures.depart()

    async def departed(self) -> None:
        """Once the orders submitted in this step of the event loop are on the wire or done (bounded:
        :data:`~arb.execution.departure.WAIT_AT_MOST_S`)."""
        await self.departures.gone()

    def submit_quote(
        self, venue: int, side: int, price: float, qty: float, pair_id: int, now: int, symbol: int = 0
    ) -> LiveOrder:
        """Send one post-only quote of symbol number ``symbol`` on ``venue``; returns at once (see
        :meth:`arb.execution.venue_quotes.QuotingVenueExecutor.submit_quote`)."""
        return self._quoting(venue).submit_quote(side, price, qty, pair_id, now, symbol)

    def cancel(self, order_id: int, now: int, venue: int = 0) -> bool:
        """Send a cancel of quote ``order_id`` on ``venue``; False when it is already done."""
        return self._quoting(venue).cancel_quote(order_id, now)

    def on_rows(self, symbol: int, venue: int, rows: Any, now: int) -> None:
        """The feed's rows: nothing to do (the venue itself rests and fills the quotes)."""

    def credit(self, venue: int, amount: float) -> None:
        """A funding payment the engine booked: nothing to do (the venue pays it on its side itself)."""

    def _quoting(self, venue: int) -> QuotingVenueExecutor:
        executor = self._by_index[venue]
        if not isinstance(executor, QuotingVenueExecutor):
            raise TypeError(f"{executor.venue} {executor.market}: this venue executor takes no quotes")
        return executor

    def _quote_news(self, news: LiveOrder) -> None:
        # a quote rests, or one of its fills was booked: the engine learns it in turn (no count moves)
        self._done.append(news)
        if self.on_ready is not None:
            self.on_ready()

    def _order_done(self, order: LiveOrder) -> None:
        if order.state is OrderState.REJECTED:
            self.rejections.append(order)
        if is_quote(order):
            # its end; its fills were handed over one by one as they were booked
            status = OrderStatus.DONE if order.status is OrderStatus.FILLED else order.status
            self._quote_news(dataclasses.replace(order, status=status, fill_qty=0.0, fee=0.0, base_fee=0.0))
            return
        self._done.append(order)
        self._undelivered[order.symbol_index, order.venue] += 1
        executor = self._by_index.get(order.venue)
        if executor is not None:
            self._recount(executor)
        if self.on_ready is not None:
            self.on_ready()

    def next_event_ts(self) -> int | None:
        """When the oldest done order not yet handed to the engine was done, or None."""
        return self._done[0].respond_ts if self._done else None

    def restamp(self, ts: int, venue: int | None = None) -> None:
        """Date every order done and not yet handed over (of ``venue``, or all) at ``ts``: with a replayed
        clock, live parity answers each order at the backtest's time of that answer."""
        for order in self._done:
            if venue is None or order.venue == venue:
                order.respond_ts = ts

    def run_until(self, ts: int, on_answer: Callable[[Any], None]) -> None:
        """Hand the engine every order done at or before ``ts``."""
        while self._done and self._done[0].respond_ts <= ts:
            self._hand_over(self._done.popleft(), on_answer)

    def _hand_over(self, order: LiveOrder, on_answer: Callable[[Any], None]) -> None:
        if is_quote(order):
            on_answer(order)
            return
        s, v = order.symbol_index, order.venue
        self._undelivered[s, v] -= 1
        self.open_counts[s, v] -= 1
        on_answer(order)

    def cancel_all(self, on_answer: Callable[[Any], None]) -> int:
        """Hand over what is done; returns how many orders are still in flight (see :meth:`shutdown`)."""
        while self._done:
            self._hand_over(self._done.popleft(), on_answer)
        return int(self.open_counts.sum())

    async def shutdown(self, timeout_ns: int) -> list[LiveOrder]:
        """Cancel open orders on every venue and wait (bounded) for in-flight ones; returns the rest. How many
        each venue cancelled is kept in :attr:`cancelled_at_stop` (the kill switch's report counts them)."""
        left: list[LiveOrder] = []
        for executor in self.venues:
            try:
                self.cancelled_at_stop[executor.venue] = await executor.cancel_open()
            except VenueError as error:
                log.error("cancelling the open orders at the stop failed: %s", error)
            left += await executor.drain(timeout_ns)
            executor.stop()
        return left

    def summary(self) -> dict[str, Any]:
        """Counters for reports (``orders_per_symbol``: orders sent per symbol, every venue's)."""
        per_symbol: dict[str, int] = {}
        for v in self.venues:  # the orders held, and those done long ago and forgotten (arb.execution.done_orders)
            for order in v.orders.values():
                per_symbol[order.symbol] = per_symbol.get(order.symbol, 0) + 1
            for symbol, forgotten in v.done_orders.forgotten.items():
                per_symbol[symbol] = per_symbol.get(symbol, 0) + forgotten
        return {
            "orders": sum(v.next_order_id - 1 for v in self.venues),
            "orders_per_symbol": per_symbol,
            "rejected": len(self.rejections),
            "rejection_codes": sorted({str(code) for code in self.rejections.codes}),
            "venues": {
                f"{v.venue}-{v.market}": dict(
                    v.counters, stream_reconnects=v.stream_reconnects, rate_limited=v.guard.rate_limited
                )
                for v in self.venues
            },
        }
