"""The fault campaign's faults as they strike: :class:`Injector` applies a scenario's fault to its venue's fake
(:mod:`arb.testing.campaign`) and knows when it is over; and the timings the faults are played with."""

from __future__ import annotations

__all__ = ["FAR_NS", "FEED_LAG_S", "LATE_FILL_S", "LATE_GRACE_MS", "REQUEST_TIMEOUT_MS", "REVEAL_S", "Injector"]

import asyncio
import time
from collections.abc import Callable
from typing import Any

from arb.sim.faults import FaultKind
from arb.sim.testkit import venue_testkit
from arb.testing.campaign_kinds import RACES, Fault, Scenario
from arb.testing.pair_rig import account, book_stream
from arb.testing.waiting import Patience, patiently
from arb.waiting import Conditions, cancel_and_wait

NS_PER_MS = 1_000_000
REQUEST_TIMEOUT_MS = 5_000
"""arb's REST timeout: a venue answer held past it is unknown to arb. Long enough that a busy machine
(the fakes run in this process, on arb's own event loop) does not make a slow answer a fault."""
FEED_LAG_S = 0.15
"""POST_ONLY_REJECT: how far the maker venue's public feed lags its book (a refused quote is answered
well before arb's view shows why)."""
FAR_NS = 2**62
"""An ``over_ns`` of a fault that has not played out yet."""
LATE_GRACE_MS = 1_000
"""LATE_FILL: ``[live] unknown_grace_ms`` (3 "not found" answers over it make the verdict) ..."""
LATE_FILL_S = (REQUEST_TIMEOUT_MS + LATE_GRACE_MS) / 1000 + 3.0
"""... and how long after the create reached it the venue takes the order: well after that verdict."""
REVEAL_S = 3.5
"""SWEPT_FIRST: how long after the stream drop the order shows up to queries (arb sweeps 2 s after it
reconnects, its create times out at ``REQUEST_TIMEOUT_MS``)."""


class Injector:
    """Applies one scenario's fault to its venue; remembers when the fault is over."""

    def __init__(self, s: Scenario, fake: Any, changes: Conditions) -> None:
        self.s, self.fake = s, fake
        self.changes = changes
        self.tasks: set[asyncio.Task[Any]] = set()
        self.struck = False
        self.race: asyncio.Task[None] | None = None
        """A race's course (:meth:`_race`), cancelled at :meth:`settle` if the order it awaits never came."""
        self.over_ns = 0
        """``time.monotonic_ns()`` from which the fault is over (0: not struck yet, or never ends)."""
        self.limit_s = 0.0
        """RATE_LIMIT: the venue's time (seconds) the limit was set (the ban's start)."""

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _later(self, delay_ms: int, action: Callable[[], None]) -> None:
        asyncio.get_running_loop().call_later(delay_ms / 1000, action)

    def arm_order_fault(self) -> None:
        # An order fault applies to the venue's next order: armed before it (at the previous one's NEW).
        s, faults = self.s, self.fake.faults
        self.struck = True
        self.over_ns = time.monotonic_ns()
        # KILL_LATE is refused as REJECT is (halted with a leg naked); the kill's flatten is staged at the kill
        if s.fault in (Fault.REJECT, Fault.KILL_LATE):
            status, code, text = venue_testkit(s.venue).no_balance  # its refusal for lack of balance
            faults.order_error(status, code, text, times=s.times)
        elif s.fault in (Fault.TIMEOUT_PLACED, Fault.TIMEOUT_LOST):
            placed = s.fault is Fault.TIMEOUT_PLACED
            if s.unknown == "late":
                faults.order_timeout(processed=placed)
            elif s.unknown == "drop":
                faults.order_drop(processed=placed)
            else:
                faults.order_error(503, processed=placed)
        elif s.fault is Fault.PARTIAL:
            faults.order_partial(s.fraction)
        elif s.fault is Fault.RATE_LIMIT:
            self._limit()
        elif s.fault in RACES:
            self._arm_race()

    def _arm_race(self) -> None:
        faults = self.fake.faults
        self.over_ns = FAR_NS  # over once the race has played out (:meth:`_race`)
        faults.order_timeout(processed=self.s.fault is Fault.SWEPT_FIRST)
        if self.s.fault is Fault.SWEPT_FIRST:
            faults.hide_orders(queries=1_000_000)
            faults.silence_user_stream()
        self.race = asyncio.get_running_loop().create_task(self._race())

    def _limit(self) -> None:
        # RATE_LIMIT: a ban from now, or a 429 with its Retry-After to the next create (over once the
        # window has passed, with the market's trade-through after it for a maker)
        s = self.s
        self.limit_s = time.time()
        if s.ban:
            self.fake.ban(s.retry_after_s)
        else:
            self.fake.faults.order_error(429, retry_after=s.retry_after_s)
        self.over_ns = time.monotonic_ns() + (s.retry_after_s + 1) * 1_000 * NS_PER_MS

    async def _race(self) -> None:
        # Once the faulted create has reached the venue (its answer held): LATE_FILL takes it after arb's
        # "not found" verdict; SWEPT_FIRST drops the silent stream (arb sweeps on reconnecting) and shows
        # the order to queries once that sweep has read its trades (a maker's quote: once the book has
        # traded through it). The venue's timing, not a wait on arb.
        fake, faults = self.fake, self.fake.faults
        await fake.wait_until(lambda: faults.count(FaultKind.ORDER_TIMEOUT) >= 1)
        if self.s.maker:  # the hidden quote rests until the book trades through it
            await fake.wait_until(lambda: any(o.hidden_queries > 0 and o.executed_qty > 0
                                              for o in account(fake).orders))  # fmt: skip
        if self.s.fault is Fault.LATE_FILL:
            await asyncio.sleep(LATE_FILL_S)
            faults.release_orders()
        else:
            faults.resume_user_stream()
            await fake.drop_user_streams()
            await asyncio.sleep(REVEAL_S)
            fake.reveal_orders()
        self.over_ns = time.monotonic_ns()
        self.changes.notify()

    def strike(self) -> None:
        # A stream or feed fault, or a maker fault, now (from a ledger listener or a timer: no awaiting here).
        s, fake = self.s, self.fake
        self.struck = True
        now = time.monotonic_ns()
        if s.fault in (Fault.CANCEL_RACE, Fault.CANCEL_UNKNOWN) or (s.fault is Fault.PARTIAL_REPRICE and s.rest_fills):
            fake.faults.order_hold(2, operation="cancel")  # the next cancel: after the book trades through
            self.over_ns = now
        elif s.fault is Fault.POST_ONLY_REJECT:
            fake.faults.order_hold(2, operation="create", times=2)  # both re-priced quotes: after the book moved
            fake.faults.lag_feed(FEED_LAG_S)  # and arb's view of it lags: a refusal comes before the news
            self.over_ns = now
        elif s.fault is Fault.SWEPT_FIRST:  # maker: the re-priced quote's create
            self._arm_race()
        elif s.fault is Fault.RATE_LIMIT:  # maker: the re-priced quote's create, or a ban from now
            self._limit()
        elif s.fault is Fault.STREAM_DROP:
            self._spawn(fake.drop_user_streams())
            self.over_ns = now
        elif s.fault is Fault.STREAM_SILENCE:
            fake.faults.silence_user_stream()
            self._later(s.outage_ms, fake.faults.resume_user_stream)
            self.over_ns = now + s.outage_ms * NS_PER_MS
        elif s.fault is Fault.FEED_STALL:
            fake.faults.stall()
            self._later(s.outage_ms, fake.faults.resume)
            self.over_ns = now + s.outage_ms * NS_PER_MS
        elif s.fault is Fault.FEED_CLOSE:
            stream = book_stream(fake)
            for conn in list(fake.connections):
                if stream in conn.subscriptions:
                    self._spawn(conn.close(abrupt=True))
            self.over_ns = now
        self.changes.notify()

    async def settle(self) -> None:
        """Finish what the fault started (dropped connections closed), stop what is scripted."""
        if self.race is not None:
            await cancel_and_wait(self.race)
            self.fake.faults.release_orders()
        if self.tasks:
            async with patiently(Patience("the fault's dropped connections to close", quiet_s=60)):
                await asyncio.gather(*self.tasks, return_exceptions=True)
        self.fake.faults.clear_order_faults()
        self.fake.faults.resume_user_stream()
        self.fake.faults.resume()
        if self.fake.faults.feed_lag_s:
            self.fake.faults.lag_feed(0)
