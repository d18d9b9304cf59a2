"""Resting quotes on one venue-market (the ``maker_taker`` style): post-only orders, their cancels, and the
race between a cancel and a fill, settled by construction.

:class:`QuotingVenueExecutor` is a :class:`~arb.execution.venue_executor.VenueExecutor` that also takes
the quote and cancel intents the paper executor takes. A quote is an order like any other: journaled
before it is sent, sent through the venue's adapter (``time_in_force`` post-only: the adapter's client
turns it into the venue's own word, Binance spot ``LIMIT_MAKER``, USD-M ``GTX``, Bybit ``PostOnly``),
an answer that never came is unknown and found out by query, never resent, and every fill is booked once
by its trade id. What differs:

- **It rests.** The engine is told three kinds of news about it (``on_quote``): once, that it rests
  (status ``"live"``); each fill as it is booked (status ``"partial"``, that fill's quantity, price and
  fee alone), so a fill is hedged at once and once; and its end (``on_done``, the order itself: its fills
  were handed over already). The hedge's quantity therefore comes only from booked fills: a fill
  booked twice (stream and query) is one trade id, so it is handed over once, and a fill the stream never
  sent is found by the periodic query of a resting quote (every ``fill_check_after``), whose executed
  quantity beyond the fills seen makes the executor fetch the order's trades.
- **A cancel is journaled and proves nothing.** :meth:`QuotingVenueExecutor.cancel_quote` journals the
  cancel (event ``cancel``) before sending it. Whatever the venue answers, the order stays in flight
  until the venue says it is terminal and every execution it reports is booked: a cancel answered
  "unknown order" (Binance ``-2011``, Bybit ``110001``/``170213``: filled meanwhile, or not there) is
  counted (``cancel_misses``) and the order is queried at once; a cancel that timed out or failed is
  followed by the resolver's queries, and sent again while the order still rests.
- **A quote that reopens resting is cancelled.** One the engine was told had ended (declared not found,
  then shown resting by the venue: :mod:`arb.execution.late_fills`) is no quote of the engine's slot any
  more, so nothing would price or cancel it: it is cancelled at once; its fills reach the engine as any
  quote's, and the kernel hedges them.
- **Rate limits** (:mod:`arb.execution.rate_guard`): a cancel is urgent traffic (inside a venue's
  Retry-After window each resting quote still gets one cancel), the periodic look at a resting quote
  optional (held first when a limit nears).
- **A post-only refusal is counted, never retried here**: a quote that would have taken is refused with
  the venue's code (Binance ``-2010``, USD-M ``-5022``: the adapter's ``answers.post_only``) or ends
  expired (Bybit accepts it and cancels it: journaled with the adapter's ``answers.post_only_expiry``,
  ``EC_PostOnlyWillTakeLiquidity``, as its code); ``post_only_rejects`` counts it, and the journal has an
  event ``post_only``. The engine holds the quote's side back until its view shows why (rule 5 of
  :mod:`arb.strategies.maker_taker`).
"""

from __future__ import annotations

__all__ = ["QuotingVenueExecutor", "is_quote"]

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from arb.errors import VenueError
from arb.execution.orders import LiveOrder, fees_of
from arb.execution.paper import OrderStatus, Rejection
from arb.execution.price_grid import grid_price
from arb.execution.rate_guard import Traffic
from arb.execution.venue_executor import VenueExecutor
from arb.strategy.types import INTENT_QUOTE
from connectors.common.orders import OrderState, VenueFill
from connectors.common.private import OrderRequest, TimeInForce

log = logging.getLogger(__name__)

_RESTING = (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED)
_TAKES = "post-only order would have taken liquidity: cancelled by the venue"


def is_quote(order: Any) -> bool:
    """Whether ``order`` is a resting quote (kind ``INTENT_QUOTE``)."""
    return int(getattr(order, "kind", 0)) == INTENT_QUOTE


class QuotingVenueExecutor(VenueExecutor):
    """A venue executor that also rests post-only quotes (see the module docstring); its immediate-or-cancel
    orders go exactly as :class:`~arb.execution.venue_executor.VenueExecutor`'s.

    ``on_quote(news)`` is called with each piece of news about a quote before its end: a copy of the order
    with status ``"live"`` (it rests) or ``"partial"`` (one fill: ``fill_qty``, ``fill_price``, ``fee``,
    ``base_fee`` of that fill alone, ``respond_ts`` the local time it was booked).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.quotes: dict[int, LiveOrder] = {}
        """The quotes of this run by arb's order number."""
        self.counters.update(quotes=0, quote_fills=0, cancels=0, cancel_misses=0, cancel_failures=0,
                             post_only_rejects=0)  # fmt: skip

    # -- sending -------------------------------------------------------------------------------------

    def submit_quote(self, side: int, price: float, qty: float, pair_id: int, now: int, symbol: int = 0) -> LiveOrder:
        """Journal and send one post-only quote of symbol number ``symbol``; returns it at once. Its price
        goes on the grid away from the book (a buy down, a sell up), so it never crosses by rounding."""
        tick = self.markets[symbol].tick
        price_d = grid_price(price, tick, -side)
        order = self.submit(side, float(price_d), qty, INTENT_QUOTE, pair_id, now, symbol=symbol)
        self.quotes[order.order_id] = order
        self.counters["quotes"] += 1
        return order

    def _request_of(self, order: LiveOrder) -> OrderRequest:
        request = super()._request_of(order)
        if is_quote(order):
            return dataclasses.replace(request, time_in_force=TimeInForce.POST_ONLY)
        return request

    def cancel_quote(self, order_id: int, now: int) -> bool:
        """Journal and send a cancel of quote ``order_id``; False when it is already done (nothing sent)."""
        order = self.quotes.get(order_id)
        if order is None or order.answered or order.state.terminal:
            return False
        self._send_cancel(order, now)
        return True

    def cancel_left_quote(self, order: LiveOrder, now: int) -> None:
        """Cancel a quote a previous run left in flight (adopted at start, :func:`~arb.execution.reconcile.
        reconcile_venue`): resting, it would never settle by itself, and nobody is left to price it. The
        cancel is journaled first; a quote filled or gone meanwhile is a cancel miss, found out by query."""
        self.quotes[order.order_id] = order
        self._send_cancel(order, now)

    def _send_cancel(self, order: LiveOrder, now: int) -> None:
        order.cancel_ns = now
        self.counters["cancels"] += 1
        self.journal.record_state(order, "cancel", now, {"state": order.state.value})
        self.journal.flush()
        task = asyncio.get_running_loop().create_task(self._cancel(order), name=f"cancel-{order.client_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _cancel(self, order: LiveOrder) -> None:
        try:
            # urgent: a resting quote is exposure; inside a Retry-After window it gets this one cancel
            with self.guard.traffic(Traffic.URGENT, order.client_id):
                taken = await self.adapter.cancel(self, order.symbol, order.client_id)
        except VenueError as error:
            # a timeout, a 5xx, a rate limit: the cancel may or may not have happened; the resolver asks
            self.counters["cancel_failures"] += 1
            log.info("%s: cancel of quote %s failed (%s); querying it", self.venue, order.client_id, error)
            self.journal.record_state(order, "cancel_failed", self.clock(), {"code": error.code})
            self.journal.flush()
            self._waiters.notify()  # whoever waits on the quote asks again
            return
        if taken:
            return  # its state comes from the stream, or the resolver's query
        # "unknown order" / "too late to cancel": filled meanwhile (or gone): a pending fill, found out by query
        self.counters["cancel_misses"] += 1
        log.info("%s: cancel of quote %s: not open on the venue; querying it", self.venue, order.client_id)
        self.journal.record_state(order, "cancel_miss", self.clock(), {})
        order.checked_ns = 0
        try:
            await self.resolve(order)
        except VenueError as error:
            log.info("%s: query of %s failed (%s); will ask again", self.venue, order.client_id, error)

    # -- finding out ------------------------------------------------------------------------------------

    def due(self, order: LiveOrder, now: int) -> bool:
        """A quote is looked at while unknown, and every ``fill_check_after`` while it rests (a silent
        stream must not hide a fill); other orders as the base class says."""
        if not is_quote(order):
            return super().due(order, now)
        if order.state is OrderState.UNKNOWN:
            return True
        since = max(order.checked_ns, order.ack_ns)
        return bool(since and now - since >= self.settings.fill_check_after_ns)

    async def resolve(self, order: LiveOrder) -> None:
        """One look at an order in flight; a quote still resting ``fill_check_after`` after its cancel is
        cancelled again (a cancel is idempotent; a create never is)."""
        now = self.clock()
        routine = False
        if is_quote(order):
            order.checked_ns = now
            # a resting quote's periodic look is optional traffic (held first when a limit nears); an
            # unknown one, or one whose cancel went out, is finding out
            routine = order.state is not OrderState.UNKNOWN and not order.cancel_ns
        with self.guard.traffic(Traffic.OPTIONAL if routine else Traffic.NEEDED):
            await super().resolve(order)
        late = order.cancel_ns and now - order.cancel_ns >= self.settings.fill_check_after_ns
        if is_quote(order) and late and not order.answered and order.state in _RESTING and not self.stopping:
            self._send_cancel(order, now)

    # -- telling the engine ------------------------------------------------------------------------------

    def _check_done(self, order: LiveOrder) -> None:
        if not is_quote(order) or order.answered:
            super()._check_done(order)
            return
        self._tell(order)
        if self.reopened(order) and order.state in _RESTING and not order.cancel_ns and not self.stopping:
            # it rests after its verdict: the engine's slot let it go, so nothing prices it; exposure, cancelled
            log.warning("%s: quote %s rests after the engine was told its end: cancelling it",
                        self.venue, order.client_id)  # fmt: skip
            self._send_cancel(order, self.clock())
        super()._check_done(order)
        if order.answered and not order.fills and self._refused_post_only(order):
            self.counters["post_only_rejects"] += 1
            if order.rejection is None:  # accepted, then cancelled by the venue: its reason is the code
                order.rejection = Rejection(self.adapter.answers.post_only_expiry or "expired", _TAKES)
            self.journal.record_state(order, "post_only", self.clock(), {"code": str(order.rejection.code)})
            self.journal.flush()
            log.info("%s: quote %s would have taken liquidity: refused (post-only)", self.venue, order.client_id)

    def _refused_post_only(self, order: LiveOrder) -> bool:
        if order.state is OrderState.EXPIRED:
            return True
        rule, rejection = self.adapter.answers.post_only, order.rejection
        return bool(rule and rejection and rule.search(f"{rejection.code} {rejection.message}"))

    def _tell(self, order: LiveOrder) -> None:
        # the news of a quote the engine has not had yet: it rests, then each fill booked since
        if self.on_quote is None:
            return
        now = self.clock()
        if not order.told_live and order.state in _RESTING:
            order.told_live = True
            self.on_quote(dataclasses.replace(order, status=OrderStatus.LIVE, respond_ts=now))
        market = self.markets[order.symbol_index]
        for trade_id, fill in list(order.fills.items()):
            if trade_id in order.told_fills:
                continue
            order.told_fills.add(trade_id)
            self.counters["quote_fills"] += 1
            self.say_unvalued_fees(order, (fill,), market)
            self.on_quote(_fill_news(order, fill, now, market.quote_asset, market.base_asset, self.coin_prices))


def _fill_news(
    order: LiveOrder, fill: VenueFill, now: int, quote_asset: str, base_asset: str, prices: Mapping[str, Decimal]
) -> LiveOrder:
    # one fill of a quote as the engine books it (the order's fields, this fill's figures)
    fee, base_fee = fees_of((fill,), quote_asset, base_asset, prices)
    return dataclasses.replace(
        order, status=OrderStatus.PARTIAL, fill_qty=float(fill.qty), fill_price=float(fill.price), fee=float(fee),
        base_fee=float(base_fee), respond_ts=now, arrive_ts=fill.exch_ts_ms * 1_000_000,
    )  # fmt: skip
