"""Fills that come after their verdict, or before their order is known: the rules of the venue executor
that make a fill win.

Races of a real venue leave a fill (or an order) where the order's record does not expect it:

- **A fill after the order's end.** An order declared "not found" (no venue saw it after
  ``unknown_checks`` queries) or rejected can still fill: Binance's ``-1007`` means its matching engine
  may act on the request later. The fill is evidence, the verdict was not: the order **reopens** (in
  flight again; a "rejected" one becomes partially filled, or filled, until the venue says how it
  ended), a warning names it, and once it is done the engine is told anew, of the fills it was not
  told of before (so the kernel sees the leg and closes the exposure by its rule 2).
- **A fill before its order is known.** A venue's REST trade rows may carry no client id (Binance's
  ``myTrades``/``userTrades``). A sweep that runs while an order's create answer was lost (no venue
  id yet) books such a fill as no order's (an orphan). Once the order's venue id is learned (a query,
  the stream, a later fill, or the journal at a restart), every orphan with that venue id is
  **attached** to it: booked to the order, and its journal row given the order's client id, so the order
  completes and a restart finds the fill its own.
- **An order declared not found the venue shows after all.** A report that the venue holds it (resting,
  or executed) reopens it as a fill does. While its venue id is unknown nothing may name it but what the
  venue shows after a stream gap, so each trade sweep ends with :meth:`LateFills.recheck_verdicts`: the
  open orders of its symbol, and the venue's answer for each orphan fill's venue order id (which names
  the client id a Binance trade row does not). A reopened quote that rests is cancelled by the quoting
  executor: the engine's slot let it go.

:class:`LateFills` is a base of :class:`~arb.execution.venue_executor.VenueExecutor`: these rules in one
place, beside the order life cycle that uses them.
"""

from __future__ import annotations

__all__ = ["LateFills"]

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import cast

from arb.errors import VenueError
from arb.execution.failpoints import failpoint
from arb.execution.live_parts import JournalSink
from arb.execution.orders import LiveOrder
from arb.strategy.types import INTENT_QUOTE
from connectors.common.orders import OrderState, VenueFill, VenueOrderUpdate
from connectors.common.private import PrivateLink, PrivateVenue

log = logging.getLogger("arb.execution.venue_executor")

ASKS = 3
"""How many times an orphan fill's venue order id is asked of the venue while asking fails or the venue
says it has no such order (its own trade named it: that answer is lag); an answer naming the order ends the
asking."""
_THERE = (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED, OrderState.FILLED)


class LateFills:
    """Reopening an order a fill contradicts, attaching orphan fills to their order (see the module
    docstring). The executor sets the attributes below."""

    venue: str
    market: str
    journal: JournalSink
    clock: Callable[[], int]
    counters: dict[str, int]
    orphan_fills: list[VenueFill]
    """Fills booked as no order's by this run and not attached to one since (reconciliation explains them)."""
    _earlier_orphans: list[VenueFill]
    """Fills an earlier run booked as no order's (the journal's), each attached once its order is known."""
    _told_before: dict[str, set[str]]
    """A reopened order's fills the engine was told of before (client id -> trade ids): its next news is a
    copy (the first, which the engine may not have taken yet, stays as it was told) of the others only."""
    _in_flight: dict[str, LiveOrder]
    adapter: PrivateVenue
    _standing: dict[str, LiveOrder]
    """Orders of this run declared not found whose venue id is unknown (client id -> order): the venue may
    hold them still; what names them (a report, an open order, an orphan's venue id) reopens them."""
    _asked: dict[tuple[str, str], int]
    """Orphans' venue order ids asked of the venue, ``(symbol, venue id)`` -> failed asks (-1: answered)."""

    def _symbol_of(self, symbol: str) -> str:
        raise NotImplementedError

    def _apply(self, order: LiveOrder, update: VenueOrderUpdate, source: str) -> None:
        raise NotImplementedError

    def reopened(self, order: LiveOrder) -> bool:
        """Whether ``order`` reopened after the engine was told its end, and is not done again yet."""
        return order.client_id in self._told_before

    def _declared_not_found(self, order: LiveOrder) -> None:
        # the "not found" verdict is given; the order stays findable while its venue id is unknown
        if not order.venue_order_id:
            self._standing[order.client_id] = order

    def _contradicts(self, order: LiveOrder, update: VenueOrderUpdate, now: int) -> None:
        # A report (stream, query, open orders) that the venue holds, or held and executed, an order the
        # engine was told was rejected: the report wins as a fill does, the order reopens in the reported state
        if not order.answered or order.state is not OrderState.REJECTED:
            return
        if update.state in _THERE or update.executed_qty > 0:
            self._reopen(order, None, now, state=update.state)

    async def recheck_verdicts(self) -> None:
        """After a trade sweep (a stream gap: reports and fills may have been missed), find the orders this
        run declared not found whose venue id is still unknown, by what the venue shows: the open orders of
        their symbols (a post-only quote may rest), and each orphan fill's venue order id, queried once (a
        trade row of Binance names no client id; the order's answer does). One that is there reopens
        (:meth:`_contradicts`) and takes its orphans. Each request goes through the executor's ``call``:
        the rate guard admits it as needed traffic; a failed ask, or a "no such order" for an id the venue's
        own trade named, is tried at the next sweep, at most :data:`ASKS` times per venue id (a held one
        does not count)."""
        self._standing = {c: o for c, o in self._standing.items() if not o.venue_order_id}
        symbols = {o.symbol for o in self._standing.values()}
        if not symbols:
            return
        link = cast(PrivateLink, self)
        for symbol in sorted(symbols):
            for update in await self.adapter.open_orders(link, symbol):
                order = self._standing.get(update.client_id)
                if order is not None and order.symbol == symbol:
                    self._apply(order, update, "open orders")
        for fill in list(self.orphan_fills):
            key = (self._symbol_of(fill.symbol), fill.venue_order_id)
            if not fill.venue_order_id or key[0] not in symbols or not 0 <= self._asked.get(key, 0) < ASKS:
                continue
            try:
                found = await self.adapter.query_venue_id(link, *key)
            except VenueError as error:
                self._asked[key] = self._asked.get(key, 0) + (error.code != "held")
                log.info("%s: asking for venue order %s failed (%s); will ask again", self.venue, key[1], error)
                continue
            self.counters["orphans_asked"] += 1
            if found is None:  # a trade of the venue's named this order: "not found" is its lag, not its word
                self._asked[key] = self._asked.get(key, 0) + 1
                continue
            self._asked[key] = -1
            order = self._standing.get(found.client_id)
            if order is not None and order.symbol == key[0]:
                self._apply(order, found, "query by venue id")

    def _take_fill(self, order: LiveOrder, fill: VenueFill, now: int) -> None:
        # One fill of ``order`` (once per trade id). A fill wins over any verdict: if the engine was told
        # the order's end, the order reopens (in flight again) and the engine is told anew once it is done
        answered = order.answered
        if not order.add_fill(fill, now):
            return
        self.counters["fills"] += 1
        failpoint("fill_booked")
        if answered:
            self._reopen(order, fill, now)

    def _reopen(self, order: LiveOrder, fill: VenueFill | None, now: int, state: OrderState | None = None) -> None:
        # by a fill, or by a report of the venue's ``state``
        was = order.state
        order.answered = False
        order.not_found = 0
        order.ack_ns = order.ack_ns or now  # the venue has it: looked at as an answered order is
        self._standing.pop(order.client_id, None)
        if was is OrderState.REJECTED:  # the venue took it after all: in flight until it says how it ended
            order.rejection = None
            full = order.filled >= Decimal(order.qty_text)
            order.state = state or (OrderState.FILLED if full else OrderState.PARTIALLY_FILLED)
        # what the engine booked of it already: a quote's fills are told one by one, its end carries none
        told = set() if order.kind == INTENT_QUOTE else set(order.fills) - {fill.trade_id if fill else ""}
        self._told_before[order.client_id] = told
        self._in_flight[order.client_id] = order
        self.counters["reopened"] += 1
        said = state.value if state else ""
        detail = {"was": was.value, "trade_id": fill.trade_id} if fill else {"was": was.value, "state": said}
        self.journal.record_state(order, "reopen", now, detail)
        evidence = f"fill {fill.trade_id} ({fill.qty} @ {fill.price})" if fill else f"a report ({said})"
        log.warning(
            "%s: %s of %s %s after it was %s: the venue wins; the order reopens and the engine will be told",
            self.venue, evidence, order.symbol, order.client_id, was.value,
            extra={"venue": self.venue, "symbol": order.symbol, "client_id": order.client_id,
                   "pair_id": order.pair_id, "event": "reopen"},
        )  # fmt: skip

    def _attach_orphans(self, order: LiveOrder) -> None:
        # Every orphan fill with ``order``'s venue id becomes its own, in memory and in the journal
        vid, symbol = order.venue_order_id, order.symbol
        if not vid or not (self.orphan_fills or self._earlier_orphans):
            return
        mine = [
            f for f in (*self.orphan_fills, *self._earlier_orphans)
            if f.venue_order_id == vid and self._symbol_of(f.symbol) == symbol
        ]  # fmt: skip
        if not mine:
            return
        self.orphan_fills = [f for f in self.orphan_fills if f not in mine]
        self._earlier_orphans = [f for f in self._earlier_orphans if f not in mine]
        now = self.clock()
        for fill in mine:
            self.journal.attach_fill(order, fill, venue=self.venue, market=self.market)
            self._take_fill(order, fill, now)
        self.counters["orphans_attached"] += len(mine)
        log.info(
            "%s: %d fill(s) booked before %s was known are its own (venue order %s)",
            self.venue, len(mine), order.client_id, vid,
        )  # fmt: skip
