"""A venue's dead-man's switch, armed before anything is traded and kept armed while trading.

What the switch is (a countdown per symbol renewed by a request, a window kept by the private
connection, or none) is the venue adapter's (:attr:`~connectors.common.private.PrivateVenue.dead_man`,
``arm_dead_man``, ``keep_dead_man``); how arb uses it is the same for every venue: one arming before the
first order, tried again while the failure may change by itself, a refusal stopping the start; then a
background task that keeps it armed until the executor stops; at a clean stop, once the orders are
cancelled, turned off (``disarm_dead_man``), so that nothing of arb's fires on the account after it has
gone. A crash leaves it armed: that is what it is for.
"""

from __future__ import annotations

__all__ = ["DeadMan"]

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from arb.errors import VenueError
from connectors.common.private import DeadManScope, PrivateLink, PrivateVenue, SymbolRef

log = logging.getLogger(__name__)


class Guarded(PrivateLink, Protocol):
    """What the switch needs of the venue executor it guards (``arb.execution.venue_executor``): the link
    its adapter arms the switch through, the symbols it trades, and its background tasks."""

    adapter: PrivateVenue
    venue: str
    market: str

    @property
    def markets(self) -> Sequence[SymbolRef]: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    def add_background(self, task: asyncio.Task[Any]) -> None: ...


class DeadMan:
    """The dead-man's switch of ``executor``'s venue-market, for every symbol it trades."""

    def __init__(self, executor: Guarded) -> None:
        self.executor = executor

    @property
    def present(self) -> bool:
        """Whether the venue-market has a switch (Binance spot has none)."""
        return self.executor.adapter.dead_man is not DeadManScope.NONE

    def text(self, window_s: int) -> str:
        """What is armed, in a few words (``"armed, 30 s"``; with a switch per symbol and several symbols,
        which)."""
        executor = self.executor
        scope = executor.adapter.dead_man
        if scope is DeadManScope.NONE:
            return f"none ({executor.venue.capitalize()} {executor.market} has no dead-man's switch)"
        if scope is DeadManScope.SYMBOL and len(executor.markets) > 1:
            return f"armed, {window_s} s, for {', '.join(executor.symbols)}"
        return f"armed, {window_s} s"

    async def arm(self, window_s: int, *, attempts: int = 3, backoff_s: float = 0.5) -> str:
        """Arm the switch once, before anything is traded; says what was armed (see :meth:`run`, which
        keeps it armed afterwards).

        An answer that may change by itself (no answer, HTTP 5xx, a rate limit) is tried again, up to
        ``attempts`` requests ``backoff_s`` apart (doubling), and the text says how many it took. A
        refusal (Bybit turns disconnect-cancel on per account), or the same failure ``attempts`` times,
        raises :class:`~arb.errors.VenueError`: arb does not trade without the switch it was asked for
        (``[live] dead_man_window_s = 0`` asks for none).
        """
        executor = self.executor
        if not self.present:
            return self.text(window_s)
        first: VenueError | None = None
        delay = backoff_s
        attempt = 0
        for attempt in range(1, attempts + 1):
            try:
                await executor.adapter.arm_dead_man(executor, executor.markets, window_s)
                break
            except VenueError as error:
                first = first or error
                if not error.retryable or attempt == attempts:
                    tries = f" ({attempt} attempts)" if attempt > 1 else ""
                    raise VenueError(
                        executor.name,
                        f"the dead-man's switch could not be armed, nothing was traded: {error.answered}{tries}",
                        f"{error.check}; or set [live] dead_man_window_s = 0 to trade without it",
                        code=error.code,
                        retryable=error.retryable,
                    ) from error
                log.warning("%s: arming the dead-man's switch failed (%s); trying again in %.1f s",
                            executor.name, error.answered, delay)  # fmt: skip
                await asyncio.sleep(delay)
                delay *= 2
        text = self.text(window_s)
        if first is not None:
            text += f" (at attempt {attempt}; the first: {first.answered})"
        return text

    def run(self, group: asyncio.TaskGroup, window_s: int, *, armed: bool = False) -> str:
        """Keep the switch armed in ``group`` while trading; says what was armed.

        Bybit: disconnect-cancel-all (DCP) with ``window_s``, and the ``dcp`` topic subscribed on every
        private connection: if arb's private stream stays down longer than the window, Bybit cancels the
        product's orders (every symbol's). Binance USD-M: ``countdownCancelAll`` renewed for every symbol
        every quarter window: if arb stops renewing, Binance cancels the symbols' orders. Binance spot
        has no such switch: its immediate-or-cancel orders leave nothing open, but a ``maker_taker``
        quote rests there after arb dies, so ``arb live`` quotes there only with ``[live]
        quotes_without_dead_man`` (``arb.live.preflight.unguarded_quotes_refusal``). ``armed``:
        :meth:`arm` has armed it already (the first request is not sent again).
        """
        executor = self.executor
        if self.present:
            keeper = executor.adapter.keep_dead_man(executor, executor.markets, window_s, armed=armed)
            executor.add_background(group.create_task(keeper, name=f"{executor.venue}-dead-man"))
        return self.text(window_s)

    async def disarm(self, window_s: int, *, attempts: int = 3, backoff_s: float = 1.0) -> str:
        """Turn the switch off at a clean stop, once the orders are cancelled and the keeper has ended; says
        what is left armed: ``"disarmed"``, ``"nothing armed by this process"``, ``"none (...)"`` for a
        venue-market without a switch, or ``"STILL ARMED: <what the venue answered>; <what it will do>"``
        when the venue refused, answered otherwise or could not be asked (logged as an error; the caller
        goes on: the process still exits). ``window_s``: the window it was armed with, for that last case.

        An answer that may change by itself is tried again as :meth:`arm` tries, ``backoff_s`` apart at
        first: a venue may take one such request a second, and the keeper's last renewal may have just left.
        """
        executor = self.executor
        if not self.present:
            return self.text(window_s)
        delay = backoff_s
        for attempt in range(1, attempts + 1):
            try:
                off = await executor.adapter.disarm_dead_man(executor, executor.markets)
                break
            except VenueError as error:
                if not error.retryable or attempt == attempts:
                    log.error("%s: the dead-man's switch could not be disarmed: %s", executor.name, error)
                    return f"STILL ARMED: {error.answered}; {self.fires(window_s)}"
                log.warning("%s: disarming the dead-man's switch failed (%s); trying again in %.1f s",
                            executor.name, error.answered, delay)  # fmt: skip
                await asyncio.sleep(delay)  # the venue's pace, not a wait for a condition
                delay *= 2
        return "disarmed" if off else "nothing armed by this process"

    def fires(self, window_s: int) -> str:
        """What the switch, left armed with a ``window_s`` window, does, in a few words."""
        executor = self.executor
        venue, scope = executor.venue.capitalize(), executor.adapter.dead_man
        window = f"{window_s} s" if window_s else "its window"
        if scope is DeadManScope.PRODUCT:
            return f"{venue} cancels the {executor.market} orders once arb's connection has been down {window}"
        covered = f"the orders of {', '.join(executor.symbols)}" if scope is DeadManScope.SYMBOL else "every order"
        return f"{venue} cancels {covered} of the account {window} after the last renewal (arb kill disarms it)"
