"""What the fault campaign (:mod:`arb.testing.campaign`) watches while a scenario runs: both ledgers as they
change (:class:`LedgerWatch`), arb's output (:class:`Output`), the clock (:class:`Alarm`) and the moment arb
read a rate limit (:class:`LimitRead`)."""

from __future__ import annotations

__all__ = ["Alarm", "LedgerWatch", "LimitRead", "Output"]

import asyncio
import io
import logging
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arb.sim.ledger import ExecType, LedgerEvent, Side, TimeInForce
from arb.testing.pair_rig import account
from arb.waiting import Conditions


class LedgerWatch:
    """Follows both ledgers as they change: the net position after every trade, and at its worst with
    the resting quotes (each venue's open post-only orders of one side all filling), order counts, and
    the strike of the scenario's fault at the faulted venue's k-th order."""

    def __init__(
        self,
        venues: dict[str, Any],
        base: str,
        faulted: str,
        strike: Callable[[], None] | None,
        at: int,
        changes: Conditions,
    ) -> None:
        self.base = base
        self.faulted = faulted
        self.venues = venues
        self.net = Decimal(0)
        self.max_net = Decimal(0)
        self.max_worst = Decimal(0)
        """The most the net position could have reached had every resting quote of one side filled."""
        self.orders = Counter[str]()
        self.last_event_ns = time.monotonic_ns()
        self._strike, self._at = strike, at
        self._changes = changes
        self._unsubscribe = [
            fake.ledger.subscribe("arb", lambda event, name=name: self._on(name, event))
            for name, fake in venues.items()
        ]

    def _on(self, venue: str, event: LedgerEvent) -> None:
        self.last_event_ns = time.monotonic_ns()
        trade = event.trade
        if trade is not None:
            self.net += trade.qty * trade.side.sign - (trade.fee if trade.fee_asset == self.base else 0)
            self.max_net = max(self.max_net, abs(self.net))
        self.max_worst = max(self.max_worst, self._worst())
        if event.exec_type is ExecType.NEW:
            self.orders[venue] += 1
            if venue == self.faulted and self.orders[venue] == self._at and self._strike is not None:
                strike, self._strike = self._strike, None
                strike()
        self._changes.notify()

    def _worst(self) -> Decimal:
        # |net| at its worst if every resting quote of one side filled before any hedge (the gate's rule)
        buys = sells = Decimal(0)
        for fake in self.venues.values():
            for order in fake.ledger.open_orders(account(fake)):
                if order.time_in_force is TimeInForce.POST_ONLY:
                    if order.side is Side.BUY:
                        buys += order.remaining
                    else:
                        sells += order.remaining
        return max(abs(self.net), self.net + buys, sells - self.net)

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()


class LimitRead(logging.Handler):
    """When arb read a rate limit or a ban of ``venue`` (its rate guard's log line, the venue's clock in
    seconds: both are the wall clock): a request it signed before was on its way already."""

    def __init__(self, venue: str) -> None:
        super().__init__(logging.WARNING)
        self.venue = venue
        self.at_s: float | None = None
        self._logger = logging.getLogger("arb.execution.rate_guard")
        self._saved = (self._logger.level, self._logger.propagate)

    def emit(self, record: logging.LogRecord) -> None:
        event, venue = getattr(record, "event", None), getattr(record, "venue", None)
        if self.at_s is None and event in ("rate_limit", "venue_ban") and venue == self.venue:
            self.at_s = record.created

    def __enter__(self) -> LimitRead:
        if self._logger.getEffectiveLevel() > logging.WARNING:  # heard here, printed no more than before
            self._logger.setLevel(logging.WARNING)
            self._logger.propagate = False
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._saved[0])
        self._logger.propagate = self._saved[1]


class Output(io.StringIO):
    """What arb prints (``getvalue``); each write is a change."""

    def __init__(self, changes: Conditions) -> None:
        super().__init__()
        self._changes = changes

    def write(self, text: str) -> int:
        written = super().write(text)
        self._changes.notify()
        return written


class Alarm:
    """The monotonic clock as a source of changes: a condition that depends on time asks
    :meth:`reached`, and is asked again at the moment its answer would turn."""

    def __init__(self, changes: Conditions) -> None:
        self._changes = changes
        self._timer: asyncio.TimerHandle | None = None
        self._at_ns = 0

    def reached(self, at_ns: int) -> bool:
        """Whether ``time.monotonic_ns()`` has reached ``at_ns``; if not, a change is notified then."""
        now = time.monotonic_ns()
        if now >= at_ns:
            return True
        if self._timer is None or at_ns < self._at_ns:
            if self._timer is not None:
                self._timer.cancel()
            self._at_ns = at_ns
            self._timer = asyncio.get_running_loop().call_later((at_ns - now) / 1e9, self._ring)
        return False

    def _ring(self) -> None:
        self._timer = None
        self._changes.notify()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
