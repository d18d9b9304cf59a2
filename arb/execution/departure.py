"""The orders of one decision leave together: built one by one, written back to back.

A cross-venue pair is a race for the same quotes on two venues: its legs should reach both at once, as
soon as the decision is made. The engine hands a decision's intents over in one synchronous call (both
legs of a pair, a hedge with whatever it hedges); each ``submit`` makes its intent durable, then:

- over an order WebSocket, the create request is built and signed at once and queued here
  (:meth:`Departures.add`); when the engine has handed over the whole decision it calls
  :meth:`Departures.depart` (``LiveExecutor.depart``), which writes every queued request back to back,
  without suspending: the second leg's bytes leave one socket write after the first's. A decision handed
  over by anything else (``arb order``, the kill switch) departs once the current step of the event loop
  is over. What a ``submit`` need not do before the bytes leave (its order's task, telling the counts
  and waiters it changed) is queued too (:meth:`Departures.after`) and done right after the writes: the
  first leg of a decision runs its code from cold caches (on a shared 2-core VM its ``submit`` takes 5x
  the second's), so every line moved out of it is taken off both legs' way to the wire.
- by REST, the request is built and signed in ``submit`` too (the body ccxt's ``create_order`` would
  send, signed as ccxt's ``sign`` signs it) and, while one of the venue's keep-alive REST connections is idle
  (:mod:`connectors.common.rest_lane`), queued and written as an order WebSocket's request is; else it
  goes out in its order's task, which only hands it to ccxt's HTTP client, as soon as the event loop
  runs it.

Every order submitted in one step of the event loop is one :class:`Departure`, which knows when each of
its orders is on the wire or done without a write (:meth:`Leg.went`); the session awaits
:meth:`Departures.gone` before it takes the next market-data frame, so a backlog of frames never holds an
order's task back (bounded by :data:`WAIT_AT_MOST_S`: an order whose connection is being opened does not
hold the market data). Nothing here touches the journal: every intent is durable before its order is
submitted, so a crash while orders wait here loses nothing (an intent whose request never left is
reconciled as any unknown order: the venue does not know it).
"""

from __future__ import annotations

__all__ = ["WAIT_AT_MOST_S", "Departure", "Departures", "Leg", "keep_warm"]

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from arb.execution.live_parts import VenueMarket
from connectors.common.order_entry import Outgoing
from connectors.common.rest_lane import PreparedCreate, RestOutgoing

log = logging.getLogger(__name__)

WAIT_AT_MOST_S = 0.004
"""How long the session waits, at most, for a decision's orders to be on the wire before the next frame (s)."""


class Departure:
    """The orders of one decision (see the module docstring)."""

    def __init__(self) -> None:
        self.unsent = 0
        """Orders neither on the wire nor done."""
        self._gone = asyncio.Event()

    def leg(self) -> Leg:
        """One more order of this decision."""
        self.unsent += 1
        return Leg(self)

    def _went(self) -> None:
        self.unsent -= 1
        if self.unsent <= 0:
            self._gone.set()

    async def gone(self) -> None:
        """Return once every order is on the wire or done, or after :data:`WAIT_AT_MOST_S`."""
        if self.unsent > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WAIT_AT_MOST_S):
                    await self._gone.wait()


class Leg:
    """One order of a :class:`Departure`."""

    __slots__ = ("_departure", "_gone")

    def __init__(self, departure: Departure) -> None:
        self._departure = departure
        self._gone = False

    def went(self) -> None:
        """The order's bytes are being handed to the socket, or it is done without (counted once)."""
        if not self._gone:
            self._gone = True
            self._departure._went()


class Departures:
    """The orders submitted in one step of the event loop, and the writes queued for them (see the module
    docstring). Shared by the venue executors of one session (``LiveExecutor``), so a pair's legs on two
    venues are one decision's."""

    def __init__(self) -> None:
        self._current: Departure | None = None
        self._last: Departure | None = None
        self._writes: list[Callable[[], None]] = []
        self._after: list[Callable[[], None]] = []

    def leg(self) -> Leg:
        """An order of the decision being handed over now (the first of it starts the decision)."""
        current = self._current
        if current is None:
            current = self._current = self._last = Departure()
            asyncio.get_running_loop().call_soon(self._close)
        return current.leg()

    def _close(self) -> None:
        self._current = None

    def prepare(self, make: Callable[[], PreparedCreate | None], leg: Leg) -> PreparedCreate | None:
        """``make()``: an order's request, built and signed: for its order WebSocket (queued for
        :meth:`depart`), or for REST (sent by its task); returned (None: its task builds it)."""
        try:
            outgoing = make()
        except Exception as error:  # noqa: BLE001 - a bug building it must not lose the order: its task sends it
            log.error("preparing an order's request raised %r: its task builds it", error)
            return None
        if isinstance(outgoing, (Outgoing, RestOutgoing)):

            def write() -> None:
                outgoing.write()
                leg.went()

            self.add(write)
        return outgoing

    def add(self, write: Callable[[], None]) -> None:
        """Queue ``write()`` (one order's socket write, which must not raise) for :meth:`depart`."""
        self._queue(self._writes, write)

    def after(self, work: Callable[[], None]) -> None:
        """Queue ``work()`` for :meth:`depart`, once every queued write is done (in the order queued)."""
        self._queue(self._after, work)

    def _queue(self, into: list[Callable[[], None]], call: Callable[[], None]) -> None:
        if not self._writes and not self._after:
            asyncio.get_running_loop().call_soon(self.depart)  # whoever hands orders over without departing
        into.append(call)

    def depart(self) -> None:
        """Write every queued order now, back to back, in the order they were submitted; then do the work
        queued to follow them."""
        writes, self._writes = self._writes, []
        for write in writes:
            write()
        while self._after:
            work, self._after = self._after, []
            for done in work:
                done()

    async def gone(self) -> None:
        """Return once the last decision's orders are on the wire or done (at most :data:`WAIT_AT_MOST_S`)."""
        last, self._last = self._last, None
        if last is not None:
            await last.gone()


async def keep_warm(rehearse: Callable[[VenueMarket], object], markets: Sequence[VenueMarket], interval_ns: int,
                    warmed: Callable[[], None], name: str) -> None:  # fmt: skip
    """Keep the code and data of an order's way to the wire in the CPU's caches (``[live]
    warm_interval_ms``): every ``interval_ns``, ``rehearse`` (the executor's) runs ``submit``'s steps for an
    order of the next of ``markets`` that is never sent: the order built on the grids, its journal row made
    and encoded, its create built and signed; nothing is written, stored or counted; ``warmed()`` after each.
    A decision's first order otherwise runs that code cold: on a 2-core VM, several times slower than its
    second. A failure stops it (logged once)."""
    interval_s = interval_ns / 1e9
    while True:
        for market in markets:
            await asyncio.sleep(interval_s)  # the pace, not a wait for a condition
            try:
                rehearse(market)
            except Exception as error:  # noqa: BLE001 - warming is optional: say why once and stop
                log.info("%s: keeping the order path warm stopped: %r", name, error)
                return
            warmed()
