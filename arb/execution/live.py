"""Live executors: real orders through ccxt, journaled before they are sent, never sent twice.

One :class:`VenueExecutor` per venue-market (Binance spot, Binance USD-M, Bybit spot or linear) owns
a ccxt async client (:mod:`arb.execution.ccxt_setup`), the venue's user stream (ccxt.pro) and the
orders in flight there, for every traded symbol (one market each, :class:`VenueMarket`; one private
connection carries them all). Whatever depends on the venue (its requests, its messages, its weight
headers, its dead-man's switch) is its adapter's (``connectors/<venue>/private.py``, a
:class:`~connectors.common.private.PrivateVenue` found through :mod:`connectors.registry`): the
executor keeps the order life cycle and never names a venue. :class:`LiveExecutor` puts two of them
behind the interface the engine already drives the paper executor through (``submit``,
``next_event_ts``, ``run_until``, ``cancel_all``, ``open_counts`` per symbol and venue, ``summary``),
so the kernel and the risk gate above do not know which one they talk to.

An order's life (see :mod:`arb.execution.orders` for the states):

1. ``submit`` (synchronous, on the decision's path): price and quantity go on the venue's grid in the
   safe direction (:mod:`arb.execution.grid`), the order gets a client id unique forever, and the
   intent is **committed to the journal**: the one write the hot path waits for. Only then is the
   request handed to a task.
2. The request goes out through the adapter (ccxt's ``create_order``) on a session whose trace hooks
   (:mod:`arb.execution.wire`) note when its bytes were written, the HTTP status, headers and body.
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

Rate limits (:mod:`arb.execution.rate_guard`): the venues' weight headers and ``Retry-After`` block
new orders on that venue until the window resets; a ban blocks it until the ban ends and is reported
loudly. Blocked orders are refused locally, journaled as rejected, never sent;
:attr:`LiveExecutor.blocked_until_ns` tells the engine until when, so the kernel does not choose that
venue meanwhile.

Every other request (markets, balances, positions, order queries, trade history, cancels, the
dead-man's switch, order books) goes through :meth:`VenueExecutor.call` (an adapter's, through
:meth:`VenueExecutor.request`): a failure becomes one
:class:`~arb.errors.VenueError` worded from what the wire showed, by the rule that decides an order's
outcome (:mod:`arb.execution.venue_errors`), and the rate guard learns of any rate limit or ban in it.

Journal writes other than the intent (acks, fills, states) are queued and committed together right
after the current step, off the decision's path.
"""

from __future__ import annotations

from arb.execution.live_executor import LiveExecutor
from arb.execution.live_parts import ClientIds, ExecutionSettings, JournalSink, VenueMarket
from arb.execution.rate_guard import RateGuard
from arb.execution.venue_executor import VenueExecutor
from arb.execution.wire import WireRecord, WireTrace

__all__ = [
    "ClientIds",
    "ExecutionSettings",
    "JournalSink",
    "LiveExecutor",
    "RateGuard",
    "VenueExecutor",
    "VenueMarket",
    "WireRecord",
    "WireTrace",
]
