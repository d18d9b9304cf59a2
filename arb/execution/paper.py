"""The paper executor: orders simulated against the live books, with the backtest's rules.

Every intent becomes an immediate-or-cancel limit order that:

1. leaves at ``now`` and reaches the venue ``latency.order_entry`` later (the venue's config);
2. is checked there as the venue would check it, and rejected with the venue's own error code:
   price off the tick grid, quantity off the lot grid or below the minimum, value below the minimum
   notional, or (spot) not enough quote to buy / base to sell (linear: not enough cash for the fee,
   or, for an order that grows the position, more initial margin than the venue's equity: every
   symbol's position value at its mid over the ``[perpetual]`` leverage, this order's at its price);
3. fills at arrival against the book as it is then, by the rule the backtest fills by
   (:mod:`arb.execution.liquidity`): it takes the levels at or better than its limit, best first,
   never more than each level shows minus what our earlier orders took from it while the venue showed
   it unchanged (so two orders cannot take the same liquidity), at the levels' prices (the average for
   a sweep); whatever it could not take expires (IOC);
4. is answered ``latency.order_response`` after arrival: only then does the driver see the fill,
   exactly as hftbacktest's local side learns of a fill from the order response.

With a leg-fault model (``[leg_faults]``, :mod:`arb.execution.leg_faults`) each order first draws its
fault from its order id, exactly as the backtest does: a rejected order is refused at arrival (code
``"leg-fault"``), a partial one fills at most the drawn part of its quantity, a late one arrives
``late_ms`` later.

An order still unanswered ``request_timeout_ns`` after it was sent (a late leg) counts as *unknown*
(:attr:`PaperExecutor.unknown_counts`) until its answer, as arb live counts a request that timed
out; the risk gate reports the pause (``[risk] max_unknown_orders``) as it does live.

Fees: the venue's taker fee on the traded value, in quote, as in the backtest. The executor keeps
the venue-side balances (what arrival checks see); the driver keeps what it has been told.

**Resting quotes** (the ``maker_taker`` style; only with a queue model, ``queue``): a post-only quote
(:meth:`PaperExecutor.submit_quote`) leaves and is answered as any order, but at arrival it is checked
as above and then either expires because it would take (the venue's own refusal: Binance spot -2010,
USD-M -5022, Bybit's ``EC_PostOnlyWillTakeLiquidity``) or rests in the venue's depth, which the driver
feeds row by row (:meth:`PaperExecutor.on_rows`) and where it fills whole by the backtest's exchange
rules and queue model (:mod:`arb.execution.queue_model`), at its own price and the maker fee. Each
change reaches the driver ``order_response`` later as its own answer (``"live"``, ``"expired"``,
``"filled"``, ``"canceled"``), so an answer never shows what happened after it was sent. A cancel
(:meth:`PaperExecutor.cancel`) reaches the venue ``order_entry`` later: a quote that filled meanwhile
is not cancelled (the venue answers "unknown order", counted in ``cancel_misses``) and its fill stands.
Quotes are not open orders (``open_counts``) and never unknown. The venue acts on a quote or a cancel on
its own clock, after its rows up to the arrival (:meth:`PaperExecutor.on_rows`), as the backtest's
exchange does, not against the rows the feed had delivered by then.
"""

from __future__ import annotations

__all__ = [
    "LEG_FAULT_REJECTION",
    "EngineOrder",
    "OrderStatus",
    "PaperExecutor",
    "PaperOrder",
    "Rejection",
    "reject_reason",
]

import dataclasses
import functools
import heapq
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from arb.book import OrderBook
from arb.config import VenueConfig
from arb.execution.leg_faults import FAULT_NAMES, FAULT_NONE, FAULT_REJECT, draw_fault
from arb.execution.liquidity import (
    SWEEP_LEVELS,
    forget_changed_in_book,
    new_taken,
    take_levels,
)
from arb.execution.queue_model import QueueModel, RestingQuotes, VenueDepth
from arb.execution.rate_guard import RateGuard
from arb.execution.rejections import Rejections
from arb.strategy.types import BUY, INTENT_QUOTE, SELL
from connectors.common.private import Market
from connectors.registry import venue as connector

log = logging.getLogger(__name__)

_GRID_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a venue refused an order: its own code (a number, or a word for arb's own refusals such as
    ``"local"`` or ``"not-found"``) and message."""

    code: int | str
    message: str


LEG_FAULT_REJECTION = Rejection("leg-fault", "rejected by the leg-fault model ([leg_faults] reject)")
"""The answer to an order the leg-fault model rejects."""


@functools.cache
def _refusals(venue: str, market: Market) -> tuple[dict[str, Rejection], Rejection, Rejection]:
    # The venue's own answers (connectors/<venue>/orders.py's REFUSALS): to an order refused at arrival by
    # reason ("price", "lot", "min_qty", "notional", "balance"), to a post-only order that would take, and
    # to a cancel of an order no longer open.
    answers = connector(venue).refusals(market)
    table = {
        "price": Rejection(*answers.price),
        "lot": Rejection(*answers.lot),
        "min_qty": Rejection(*(answers.min_qty or answers.lot)),
        "notional": Rejection(*answers.notional),
        "balance": Rejection(*answers.balance),
    }
    return table, Rejection(*answers.post_only), Rejection(*answers.cancel_miss)


def _on_grid(x: float, step: float) -> bool:
    k = x / step
    return abs(k - round(k)) <= _GRID_TOL * max(1.0, abs(k))


def reject_reason(
    venue: VenueConfig, side: int, price: float, qty: float, base: float, quote: float
) -> Rejection | None:
    """The venue's rejection for this order given the venue-side balances, or None if accepted (a
    linear venue's margin is :class:`PaperExecutor`'s to check: it needs every symbol's position)."""
    table = _refusals(venue.name, venue.market)[0]
    inst = venue.instrument
    if not (price > 0.0) or not _on_grid(price, inst.tick_size):
        return table["price"]
    if not (qty > 0.0) or not _on_grid(qty, inst.lot_size):
        return table["lot"]
    if qty + _GRID_TOL * inst.lot_size < inst.min_qty:
        return table["min_qty"]
    if qty * price < inst.min_notional:
        return table["notional"]
    fee = qty * price * venue.fees.taker
    if venue.market == "spot":
        if side == BUY and quote < qty * price + fee:
            return table["balance"]
        if side == SELL and base + _GRID_TOL * inst.lot_size < qty:
            return table["balance"]
    return None


class OrderStatus(StrEnum):
    """What became of an order, as the engine is told: an immediate-or-cancel order is ``SENT`` until its
    answer, then ``FILLED`` (anything filled), ``EXPIRED`` (nothing filled) or ``REJECTED``; a quote is also
    ``LIVE`` (it rests), ``PARTIAL`` (one fill of it, the rest still resting), ``CANCELED`` or ``DONE`` (its
    end, its fills told one by one before). The values are the words the journal and reports write."""

    SENT = "sent"
    FILLED = "filled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    CANCELED = "canceled"
    LIVE = "live"
    PARTIAL = "partial"
    DONE = "done"


@dataclass(slots=True)
class EngineOrder:
    """What every order the engine sends starts with, paper or live (:class:`PaperOrder`,
    :class:`arb.execution.orders.LiveOrder`): arb's number for it, the venue, side, price, quantity,
    intent kind and pair, and the decision's time (``sent_ts``, ns)."""

    order_id: int
    venue: int
    side: int
    price: float
    qty: float
    kind: int
    pair_id: int
    sent_ts: int


@dataclass(slots=True, kw_only=True)
class PaperOrder(EngineOrder):
    """One simulated order and what became of it."""

    arrive_ts: int
    respond_ts: int = 0
    status: OrderStatus = OrderStatus.SENT
    fill_price: float = 0.0
    fill_qty: float = 0.0
    fee: float = 0.0
    rejection: Rejection | None = None
    fault: int = FAULT_NONE
    """The leg fault drawn for it (``arb.execution.leg_faults.FAULT_*``)."""
    fillable: float = math.inf
    """The most the venue will fill (less than ``qty`` for a partial-fill fault)."""
    symbol_index: int = 0
    """The symbol's number in ``[strategy] symbols``."""
    base_fee = 0.0  # paper fees are paid in quote (a class constant: the live order's field of the same name)


@dataclass(slots=True)
class _VenueAction:
    # A quote or a cancel that has reached the venue (``ts``, the venue's time) and waits for the venue's
    # rows up to that time before it is acted on.
    ts: int
    order: PaperOrder
    action: str  # "quote" or "cancel"
    done: bool = False


@dataclass(slots=True)
class _VenueSide:
    # The executor's venue-side account (one quote balance, holdings per symbol).
    quote: float
    base: list[float]
    position: list[float]
    fees: float = 0.0


class PaperExecutor:
    """Simulates IOC limit orders on every venue of the run against the driver's books.

    ``venues``: per symbol, every venue's configuration as that symbol sees them
    (``config.for_symbol(s).venues``: its trading rules); a plain tuple of venues means one symbol.
    ``books`` are the driver's books, index ``n_venues * symbol + venue``; ``book_versions()`` must return a
    number per book that changes whenever that book changes (the driver's batch counters). ``base``:
    starting holdings per (symbol, venue); ``quote``: per venue. ``leg_faults``: a ``LEG_FAULTS_DTYPE``
    record (:func:`arb.execution.leg_faults.make_leg_faults`), or None for no faults.
    ``request_timeout_ns``: an order unanswered this long after it was sent is unknown until answered
    (``[live] request_timeout_ms``); None: never.
    """

    def __init__(
        self,
        venues: Sequence[tuple[VenueConfig, ...]] | tuple[VenueConfig, ...],
        books: tuple[OrderBook, ...],
        book_versions: Callable[[], Sequence[int]],
        *,
        base: Any,
        quote: Sequence[float],
        first_order_id: int = 1,
        leg_faults: np.ndarray[Any, np.dtype[Any]] | None = None,
        request_timeout_ns: int | None = None,
        queue: QueueModel | None = None,
    ) -> None:
        pairs: Any = venues
        self.venues: list[tuple[VenueConfig, ...]] = (
            [tuple(pairs)] if isinstance(pairs[0], VenueConfig) else [tuple(pair) for pair in pairs]
        )
        """Per symbol, every venue's configuration (its trading rules, the venues' fees and latencies)."""
        n_sym = len(self.venues)
        n_venues = len(self.venues[0])
        self.n_venues = n_venues
        held = np.asarray(base, float).reshape(n_sym, n_venues)
        self.leg_faults = leg_faults if leg_faults is not None and leg_faults[0]["enabled"] else None
        self.faults = dict.fromkeys(FAULT_NAMES[1:], 0)
        """Orders per leg-fault kind drawn so far."""
        self.books = books
        self._versions = book_versions
        self.sides = [
            _VenueSide(quote[v], [float(held[s, v]) for s in range(n_sym)], [0.0] * n_sym) for v in range(n_venues)
        ]
        self.taken = new_taken(n_venues * n_sym)
        """What our orders took from each asset's levels (:mod:`arb.execution.liquidity`), index ``n * s + v``."""
        self._checked = [-1] * (n_venues * n_sym)  # per asset, the book version the memory was last checked against
        self._holding: set[int] = set()  # the assets whose memory holds a take (the others need no check)
        self._grids = [np.array([cfg.instrument.tick_size, cfg.instrument.lot_size]) for p in self.venues for cfg in p]
        self._warm_up()
        self.next_order_id = first_order_id
        self._events: list[tuple[int, int, int, PaperOrder, str]] = []  # (time, phase, seq, order, action)
        self._seq = 0
        self.open_counts = np.zeros((n_sym, n_venues), np.int64)
        """Unanswered orders per (symbol, venue), updated in place (what the engine hands its compiled step)."""
        self.unknown_counts = np.zeros(n_venues, np.int64)
        """Per venue (every symbol's), the orders unanswered ``request_timeout_ns`` or longer after they were
        sent, at the time the driver last ran the venues to (:meth:`run_until`): what arb live calls unknown.
        Updated in place."""
        self.blocked_until_ns = np.zeros(n_venues, np.int64)
        """Per venue, until when it refuses orders locally: never (0) for the paper venue."""
        self.rejections: Rejections[PaperOrder] = Rejections()
        self.request_timeout_ns = request_timeout_ns
        self._now = 0  # the latest time the driver has run the venues to (run_until)
        self.resting: dict[int, RestingQuotes] = {}
        """Per asset (``n_venues * symbol + venue``), the venue's depth and the quotes resting in it (with a
        queue model only)."""
        if queue is not None:
            for s_, pair in enumerate(self.venues):
                for v, cfg in enumerate(pair):
                    inst = cfg.instrument
                    self.resting[n_venues * s_ + v] = RestingQuotes(VenueDepth(inst.tick_size, inst.lot_size), queue)
        self._quotes: dict[int, PaperOrder] = {}  # quotes sent and not done (on their way or resting)
        self._lag: dict[int, int] = {}
        """Per asset: how far the driver's clock runs behind the venue's, as its latest rows showed
        (their local time less their exchange time; 0 before any)."""
        self._waiting: dict[int, list[_VenueAction]] = {}
        """Per asset, in the venue's time order: quotes and cancels that reached the venue before the rows
        the driver has seen of it (see :meth:`on_rows`)."""
        self._due: dict[int, _VenueAction] = {}  # the same, by the seq of their "due" event
        self.maker_fills = 0
        self.post_only_rejects = 0
        """Quotes the venue refused because they would have taken liquidity."""
        self.cancel_misses = 0
        """Cancels that reached the venue after their quote was done (filled): "unknown order"."""

    # -- the driver's side ------------------------------------------------------------------

    def submit(
        self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int, symbol: int = 0,
        *, reduce_only: bool = False,
    ) -> PaperOrder:  # fmt: skip
        """Send one IOC limit order of symbol ``symbol`` at ``now`` (ns); it arrives after the venue's
        entry latency. ``reduce_only`` changes nothing here: the engine asks it only of an order that
        shrinks the position it keeps, which is the paper account's."""
        config = self.venues[symbol][venue]
        order = PaperOrder(
            order_id=self.next_order_id,
            venue=venue,
            side=side,
            price=price,
            qty=qty,
            kind=kind,
            pair_id=pair_id,
            sent_ts=now,
            arrive_ts=now + config.latency.order_entry_ns,
            symbol_index=symbol,
        )
        if self.leg_faults is not None:
            lot = config.instrument.lot_size
            fault, fillable, delay = draw_fault(self.leg_faults, venue, kind, order.order_id, qty, lot)
            if fault != FAULT_NONE:
                order.fault, order.fillable = fault, fillable
                order.arrive_ts += delay
                self.faults[FAULT_NAMES[fault]] += 1
        self.next_order_id += 1
        self.open_counts[symbol, venue] += 1
        self._push(order.arrive_ts, 0, order, "arrive")
        if self.request_timeout_ns is not None:
            self._count_unknown()
        return order

    def next_event_ts(self) -> int | None:
        """When the next arrival or answer is due, or None."""
        return self._events[0][0] if self._events else None

    def run_until(self, ts: int, on_answer: Callable[[PaperOrder], None]) -> None:
        """Process arrivals and answers due at or before ``ts`` in time order.

        ``on_answer(order)`` is called when an answer reaches the driver (filled, expired or
        rejected). An order's arrival at exactly ``ts`` sees the books as they are now.
        """
        if ts > self._now:
            self._now = ts
        self._check_levels()
        if not self._events:
            return  # nothing out: no answer, and no order of unknown fate
        while self._events and self._events[0][0] <= ts:
            when, _, seq, order, action = heapq.heappop(self._events)
            if action == "arrive":
                self._arrive(order)
                order.respond_ts = when + self.venues[order.symbol_index][order.venue].latency.order_response_ns
                self._push(order.respond_ts, 1, order, "answer")
            elif action == "answer":
                self.open_counts[order.symbol_index, order.venue] -= 1
                on_answer(order)
            elif action in ("quote", "cancel"):
                self._at_venue(order, action, when)
            elif action == "due":
                self._act(self._due.pop(seq), when)
            else:  # a quote's answer: what the venue did to it then
                on_answer(order)
        if self.request_timeout_ns is not None:
            self._count_unknown()

    def _check_levels(self) -> None:
        # After the driver's books changed: what our orders took from a level that now shows another
        # quantity, or none, is forgotten (arb.execution.liquidity), as the backtest does at each book change.
        # Only assets holding a take are looked at: none, the common case, costs nothing on the hot path
        if not self._holding:
            return
        versions = self._versions()
        checked = self._checked
        for a in list(self._holding):
            if versions[a] == checked[a]:
                continue
            checked[a] = versions[a]
            if not forget_changed_in_book(self.taken, a, *self.books[a].arrays, float(self._grids[a][0])):
                self._holding.discard(a)

    def _warm_up(self) -> None:
        # What the first order would otherwise pay on its path, done now: each venue's refusal table (its
        # connector module imported), the fill rule's compiled functions loaded from Numba's cache (an order
        # that takes nothing from an empty book, and the memory checked against it, change nothing)
        for per_venue in self.venues:
            for cfg in per_venue:
                _refusals(cfg.name, cfg.market)
        a, book = 0, self.books[0]
        for side, levels in ((BUY, book.asks(SWEEP_LEVELS)), (SELL, book.bids(SWEEP_LEVELS))):  # their own types
            take_levels(self.taken, a, side, levels, 0.0, 0.0, self._grids[a])
        forget_changed_in_book(self.taken, a, *book.arrays, float(self._grids[a][0]))

    def _count_unknown(self) -> None:
        # unknown_counts for the orders out now (every open order is in _events once: its arrival or its
        # answer)
        counts = [0, 0]
        timeout = self.request_timeout_ns
        if timeout is not None:
            for _, _, _, order, action in self._events:
                if action in ("arrive", "answer") and self._now - order.sent_ts >= timeout:
                    counts[order.venue] += 1
        self.unknown_counts[0] = counts[0]
        self.unknown_counts[1] = counts[1]

    # -- the venue's side -------------------------------------------------------------------

    def _push(self, when: int, phase: int, order: PaperOrder, action: str) -> int:
        # phase 0: at the venue (an arrival), 1: at the driver (an answer); at one time, arrivals first.
        # Returns the event's sequence number.
        self._seq += 1
        heapq.heappush(self._events, (when, phase, self._seq, order, action))
        return self._seq

    def _arrive(self, order: PaperOrder) -> None:
        s = order.symbol_index
        venue = self.venues[s][order.venue]
        acct = self.sides[order.venue]
        if order.fault == FAULT_REJECT:
            order.status = OrderStatus.REJECTED
            order.rejection = LEG_FAULT_REJECTION
            log.debug("paper %s: leg fault rejects order %d", venue.name, order.order_id)
            return
        rejection = reject_reason(venue, order.side, order.price, order.qty, acct.base[s], acct.quote)
        if rejection is None and venue.market == "linear":
            rejection = self._margin_rejection(order)
        if rejection is not None:
            order.status = OrderStatus.REJECTED
            order.rejection = rejection
            self.rejections.append(order)
            log.warning(
                "paper %s rejected order %d (%s %g @ %g): %d %s",
                venue.name,
                order.order_id,
                "buy" if order.side == BUY else "sell",
                order.qty,
                order.price,
                rejection.code,
                rejection.message,
            )
            return
        a = self.n_venues * s + order.venue
        book = self.books[a]
        prices, sizes = book.asks(SWEEP_LEVELS) if order.side == BUY else book.bids(SWEEP_LEVELS)
        want = min(order.qty, order.fillable)
        filled, cost, price = take_levels(self.taken, a, order.side, (prices, sizes), order.price, want, self._grids[a])
        if filled > 0.0:  # checked again once this book changes
            self._holding.add(a)
            self._checked[a] = self._versions()[a]
        if filled <= 0.0:
            order.status = OrderStatus.EXPIRED
            return
        fee = cost * venue.fees.taker
        order.status = OrderStatus.FILLED
        order.fill_qty = filled
        order.fill_price = price
        order.fee = fee
        acct.position[s] += order.side * filled
        acct.base[s] += order.side * filled
        acct.quote -= order.side * cost + fee
        acct.fees += fee

    def _margin_rejection(self, order: PaperOrder) -> Rejection | None:
        # A linear venue refuses an order that grows the position beyond what its equity margins (every
        # symbol's position value over the leverage, this one's after the order), or whose fee its
        # equity cannot pay.
        s, v = order.symbol_index, order.venue
        venue = self.venues[s][v]
        acct = self.sides[v]
        after = acct.position[s] + order.side * order.qty
        leverage = venue.perpetual.leverage
        fee = order.qty * order.price * venue.fees.taker
        grows = abs(after) > abs(acct.position[s])
        equity = acct.quote  # cash flows so far; every position at its mid added below
        used = fee + (abs(after) * order.price / leverage if grows else 0.0)
        for o, held in enumerate(acct.position):
            if held == 0.0:
                continue
            book = self.books[self.n_venues * o + v]
            mid = 0.5 * (book.best_bid + book.best_ask)
            if mid == mid:
                equity += held * mid
                if o != s and grows:
                    used += abs(held) * mid / leverage
        if used <= equity:
            return None
        return _refusals(venue.name, venue.market)[0]["balance"]

    # -- resting quotes (the maker_taker style) ------------------------------------------------

    def submit_quote(
        self, venue: int, side: int, price: float, qty: float, pair_id: int, now: int, symbol: int = 0
    ) -> PaperOrder:
        """Send one post-only quote of symbol ``symbol`` at ``now``; it arrives after the venue's entry
        latency (the executor needs a queue model)."""
        config = self.venues[symbol][venue]
        order = PaperOrder(
            order_id=self.next_order_id, venue=venue, side=side, price=price, qty=qty, kind=INTENT_QUOTE,
            pair_id=pair_id, sent_ts=now, arrive_ts=now + config.latency.order_entry_ns, symbol_index=symbol,
        )  # fmt: skip
        if self.n_venues * symbol + venue not in self.resting:
            raise ValueError("a paper executor without a queue model takes no quotes")
        self.next_order_id += 1
        self._quotes[order.order_id] = order
        self._push(order.arrive_ts, 0, order, "quote")
        return order

    def cancel(self, order_id: int, now: int, venue: int = -1) -> bool:
        """Send a cancel of quote ``order_id`` at ``now``: False when the quote is already done (answered
        filled, expired, rejected or cancelled), so there is nothing to send (``venue``: unused, order
        numbers are this executor's own)."""
        order = self._quotes.get(order_id)
        if order is None:
            return False
        config = self.venues[order.symbol_index][order.venue]
        self._push(now + config.latency.order_entry_ns, 0, order, "cancel")
        return True

    def on_rows(self, symbol: int, venue: int, rows: Any, now: int) -> None:
        """The venue's rows (depth and trades, in order), handed over as the driver takes them at ``now``
        (having run the venues to just before ``now`` first, as for its books): the venue's depth follows
        them, and the quotes they fill are answered (the maker fill at the row's venue time, the answer
        ``order_response`` later, never before ``now``).

        The venue keeps its own time, ahead of the driver's by the feed latency: a quote or a cancel that
        reached the venue at venue time ``t`` is acted on after the venue's rows up to ``t`` and before
        the first later one (the backtest's exchange takes its rows and orders in that order), so it
        queues behind what the venue showed then, not behind what the driver had seen when it arrived.
        In a quiet market, where no later row comes, it is acted on once the driver's clock has run past
        ``t`` by the venue's latest lag."""
        a = self.n_venues * symbol + venue
        resting = self.resting.get(a)
        if resting is None or not len(rows):
            return
        exch = rows["exch_ts"]
        waiting = self._waiting.get(a)
        start = 0
        while waiting:
            later = np.flatnonzero(exch[start:] > waiting[0].ts)
            if not len(later):
                break
            k = start + int(later[0])
            self._take_rows(resting, rows[start:k], now)
            self._act(waiting[0], now)
            start = k
        self._take_rows(resting, rows[start:] if start else rows, now)
        self._lag[a] = now - int(exch.max())

    def _take_rows(self, resting: RestingQuotes, rows: Any, now: int) -> None:
        if len(rows):
            resting.on_rows(rows, venue_rows=True)
        if resting.filled:
            for oid, ts in resting.filled:
                self._quote_filled(self._quotes.pop(oid), ts, now)
            resting.filled.clear()

    def _at_venue(self, order: PaperOrder, action: str, when: int) -> None:
        # A quote or a cancel reaches the venue at ``when`` (the venue's time): acted on at once when the
        # driver's clock is the venue's, else once the venue's rows up to ``when`` are in (on_rows) or,
        # failing those, when the driver's clock has caught up by the venue's latest lag, and at the
        # latest when its answer is due (``when`` + the response latency): the answer is never later
        # than the venue's, and the venue acts on all that the driver can know of it by then
        a = self.n_venues * order.symbol_index + order.venue
        act = _VenueAction(when, order, action)
        response = self.venues[order.symbol_index][order.venue].latency.order_response_ns
        wait = min(self._lag.get(a, 0), response)
        if wait <= 0:
            self._act(act, when)
            return
        self._waiting.setdefault(a, []).append(act)
        self._due[self._push(when + wait, 0, order, "due")] = act

    def _act(self, act: _VenueAction, now: int) -> None:
        # The venue acts on a quote or cancel that reached it at act.ts; its answer is not due before now
        if act.done:
            return
        act.done = True
        order = act.order
        waiting = self._waiting.get(self.n_venues * order.symbol_index + order.venue)
        if waiting and act in waiting:
            waiting.remove(act)
        if act.action == "quote":
            self._arrive_quote(order, act.ts, now)
        else:
            self._arrive_cancel(order, act.ts, now)

    def _answer_quote(self, order: PaperOrder, venue_ts: int, now: int = 0) -> None:
        # the driver learns of the quote's state at venue_ts order_response later, as it was then
        response = self.venues[order.symbol_index][order.venue].latency.order_response_ns
        answer = dataclasses.replace(order)
        answer.respond_ts = max(venue_ts + response, now)
        self._push(answer.respond_ts, 1, answer, "quote_answer")

    def _arrive_quote(self, order: PaperOrder, when: int, now: int) -> None:
        s, v = order.symbol_index, order.venue
        venue = self.venues[s][v]
        acct = self.sides[v]
        rejection = reject_reason(venue, order.side, order.price, order.qty, acct.base[s], acct.quote)
        if rejection is None and venue.market == "linear":
            rejection = self._margin_rejection(order)
        if rejection is not None:
            order.status, order.rejection = OrderStatus.REJECTED, rejection
            self.rejections.append(order)
        elif not self.resting[self.n_venues * s + v].add(order.order_id, order.side, order.price, order.qty):
            order.status, order.rejection = OrderStatus.EXPIRED, _refusals(venue.name, venue.market)[1]
            self.post_only_rejects += 1
        else:
            order.status = OrderStatus.LIVE
        if order.status is not OrderStatus.LIVE:
            del self._quotes[order.order_id]
        self._answer_quote(order, when, now)

    def _arrive_cancel(self, order: PaperOrder, when: int, now: int) -> None:
        s, v = order.symbol_index, order.venue
        if self.resting[self.n_venues * s + v].cancel(order.order_id) is None:
            # filled meanwhile (or not there yet): the venue answers "unknown order"; a fill stands
            venue = self.venues[s][v]
            miss = _refusals(venue.name, venue.market)[2]
            self.cancel_misses += 1
            log.info("paper %s: cancel of quote %d: %s %s", venue.name, order.order_id, miss.code, miss.message)
            return
        del self._quotes[order.order_id]
        order.status = OrderStatus.CANCELED
        self._answer_quote(order, when, now)

    def _quote_filled(self, order: PaperOrder, venue_ts: int, now: int) -> None:
        s, v = order.symbol_index, order.venue
        venue = self.venues[s][v]
        acct = self.sides[v]
        cost = order.qty * order.price
        fee = cost * venue.fees.maker
        order.status, order.fill_qty, order.fill_price, order.fee = OrderStatus.FILLED, order.qty, order.price, fee
        order.arrive_ts = venue_ts  # when the venue filled it
        acct.position[s] += order.side * order.qty
        acct.base[s] += order.side * order.qty
        acct.quote -= order.side * cost + fee
        acct.fees += fee
        self.maker_fills += 1
        self._answer_quote(order, venue_ts, now)

    def credit(self, venue: int, amount: float) -> None:
        """The venue pays (``amount`` > 0) or charges a funding payment on its side of the account."""
        self.sides[venue].quote += amount

    @property
    def in_flight(self) -> list[PaperOrder]:
        """The immediate-or-cancel orders sent and not yet answered (what ``open_counts`` counts)."""
        return [order for _, _, _, order, action in self._events if action in ("arrive", "answer")]

    def rate_guards(self) -> list[tuple[str, str, RateGuard]]:
        """None: a paper venue never limits the rate of orders."""
        return []

    def depart(self) -> None:
        """Nothing to write: a paper order reaches its venue after its configured latency."""

    async def departed(self) -> None:
        """At once: no paper order waits for a wire."""

    def cancel_all(self, on_answer: Callable[[PaperOrder], None]) -> int:
        """Shut down: orders still on their way and resting quotes are cancelled; orders the venue
        already handled are answered now (``on_answer``), so no fill is lost. Returns how many were
        cancelled."""
        cancelled = 0
        for _, _, seq, order, action in sorted(self._events, key=lambda e: e[:3]):
            if action == "due":  # a quote or cancel at the venue, not acted on yet
                act = self._due[seq]
                if not act.done and act.action == "quote":
                    order.status = OrderStatus.CANCELED
                    cancelled += 1
            elif action in ("arrive", "quote"):
                order.status = OrderStatus.CANCELED
                cancelled += 1
            elif action != "cancel":
                on_answer(order)
        for resting in self.resting.values():
            for oid in list(resting.quotes):
                resting.cancel(oid)
                self._quotes[oid].status = OrderStatus.CANCELED
                cancelled += 1
        self._quotes.clear()
        self._events.clear()
        self._waiting.clear()
        self._due.clear()
        self.open_counts[:] = 0
        self.unknown_counts[:] = 0
        return cancelled

    def venue_balances(self, venue: int, symbol: int = 0) -> tuple[float, float]:
        """(symbol's base holdings, the venue's quote) as the venue sees them now."""
        acct = self.sides[venue]
        return acct.base[symbol], acct.quote

    def set_balances(self, base: Any, quote: Sequence[float]) -> None:
        """The venue-side balances of a resumed account: ``base`` per (symbol, venue), ``quote`` per venue."""
        held = np.asarray(base, float).reshape(len(self.venues), self.n_venues)
        for v, side in enumerate(self.sides):
            side.quote = float(quote[v])
            side.base = [float(held[s, v]) for s in range(len(self.venues))]

    def summary(self) -> dict[str, Any]:
        """Counters for reports."""
        return {
            "orders": self.next_order_id - 1,
            "rejected": len(self.rejections),
            "rejection_codes": sorted(self.rejections.codes),
            "venue_fees": [s.fees for s in self.sides],
            "leg_faults": dict(self.faults),
            "maker_fills": self.maker_fills,
            "post_only_rejects": self.post_only_rejects,
            "cancel_misses": self.cancel_misses,
        }
