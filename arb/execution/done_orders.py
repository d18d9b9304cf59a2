"""How long a venue executor remembers an order it is done with: for late news, then no longer.

A :class:`~arb.execution.venue_executor.VenueExecutor` finds an order by its client id (``orders``), by
the venue's id (``by_venue_id``), and knows the trades it booked (``seen_trades``), so that news arriving
after the order's end (a fill the user stream brings after the REST answer, an order the venue shows
after it answered "not found") still finds its order and no trade is booked twice. Kept for every order
of the run, those grow with every order for the life of the process. :class:`DoneOrders` forgets an
order, with its ids and trade keys, once it has been done for ``keep_ns`` (and ``min_kept`` newer done
orders are held): news about it after that is no order's, and a trade it repeats is still refused by
the journal, which knows every trade it booked (:meth:`arb.execution.journaling.JournalSink.record_fill`).
"""

from __future__ import annotations

__all__ = ["KEEP_DONE_NS", "MIN_DONE_KEPT", "DoneOrders"]

from collections import Counter, deque
from typing import Final

from arb.execution.orders import LiveOrder

KEEP_DONE_NS: Final = 15 * 60 * 1_000_000_000
"""An order is remembered this long after it is done (its late fills and answers come within seconds)."""
MIN_DONE_KEPT: Final = 256
"""... and while fewer than this many orders are done after it."""


class DoneOrders:
    """The done orders of one venue executor, oldest first, each forgotten from ``orders``, ``by_venue_id``
    and ``seen_trades`` (the executor's own maps) once ``keep_ns`` old and ``min_kept`` newer ones held."""

    def __init__(
        self,
        orders: dict[str, LiveOrder],
        by_venue_id: dict[tuple[str, str], LiveOrder],
        seen_trades: set[tuple[str, str]],
        *,
        keep_ns: int = KEEP_DONE_NS,
        min_kept: int = MIN_DONE_KEPT,
    ) -> None:
        self._maps = (orders, by_venue_id, seen_trades)
        self.keep_ns = keep_ns
        self.min_kept = min_kept
        self._done: deque[tuple[int, LiveOrder]] = deque()
        self.forgotten: Counter[str] = Counter()
        """Orders forgotten so far, per symbol (the run's order counts add them back)."""

    def __len__(self) -> int:
        return len(self._done)

    def done(self, order: LiveOrder, now: int) -> None:
        """``order`` is done at ``now`` (ns, the executor's clock); forget those done long enough before."""
        self._done.append((now, order))
        while len(self._done) > self.min_kept and now - self._done[0][0] > self.keep_ns:
            self._forget(self._done.popleft()[1])

    def _forget(self, order: LiveOrder) -> None:
        if not order.answered:  # reopened since (the venue showed it after all): done again later, then forgotten
            return
        orders, by_venue_id, seen_trades = self._maps
        if orders.get(order.client_id) is order:
            del orders[order.client_id]
        if by_venue_id.get((order.symbol, order.venue_order_id)) is order:
            del by_venue_id[(order.symbol, order.venue_order_id)]
        seen_trades.difference_update((order.symbol, trade_id) for trade_id in order.fills)
        self.forgotten[order.symbol] += 1
