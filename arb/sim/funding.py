"""Funding for the simulated venues: a schedule they announce, and what their streams announced.

:class:`FundingSchedule` is one perpetual's funding: funding times every ``interval_ms`` through
``first_funding_ms``, and the rate each one applies. The simulated market-data venues announce it in
their mark-price streams (``VenueOptions(funding=...)``: Binance USD-M ``<symbol>@markPrice@1s``, Bybit
linear ``tickers.<SYMBOL>``); the tests' fake funding-history server serves its past as the venues' REST
history, so a test can check the one against the other.

:class:`FundingAnnouncements` is what a venue has said in those streams (recorded or built from a
schedule): per symbol the mark price, the next funding time and its rate. When the announced next
funding time moves forward, the one before it has passed: the trading venues settle it on their ledgers
(:meth:`arb.sim.ledger.Ledger.settle_funding`) at the rate announced for it and the last mark price
announced before, which is what the venues' clients saw.
"""

from __future__ import annotations

__all__ = ["HOUR_MS", "FundingAnnouncements", "FundingSchedule", "Settlement"]

import itertools
from dataclasses import dataclass
from decimal import Decimal

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    """One perpetual's funding: a funding time every ``interval_ms`` through ``first_funding_ms``, until the
    venue changes the interval: ``changes`` holds ``(funding time ms, interval ms)`` pairs in time order,
    each a funding time from which on the funding times come every that many ms (the times before it
    keep the earlier spacing), as a venue that moves a symbol from 8 to 4 hours announces.

    ``rates[k]`` (a decimal string) is the rate of the ``k``-th funding time from ``first_funding_ms``
    on; times before the first use ``rates[0]``, times after the last the last. ``mark_price`` is what the
    REST history reports as each funding's mark price (Binance).
    """

    first_funding_ms: int
    rates: tuple[str, ...]
    interval_ms: int = 8 * HOUR_MS
    mark_price: str = "60000.00000000"
    changes: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        spans = ((self.first_funding_ms, self.interval_ms), *self.changes)
        if not self.rates or any(every <= 0 for _, every in spans):
            raise ValueError("a funding schedule needs at least one rate and positive intervals")
        if any(later[0] <= earlier[0] for earlier, later in itertools.pairwise(spans)):
            raise ValueError("a funding schedule's changes must come after its first funding time, in order")

    def _spans(self) -> list[tuple[int, int, int | None]]:
        # (start, interval, end or None) of each stretch of equal spacing
        spans = [(self.first_funding_ms, self.interval_ms), *self.changes]
        return [(t, every, spans[j + 1][0] if j + 1 < len(spans) else None) for j, (t, every) in enumerate(spans)]

    def next_funding_ms(self, now_ms: int) -> int:
        """The first funding time strictly after ``now_ms`` (at a funding time, the one after it)."""
        for j, (start, every, end) in enumerate(self._spans()):
            t = start + ((now_ms - start) // every + 1) * every
            t = t if j == 0 else max(t, start)
            if end is None or t < end:
                return t
        raise AssertionError("unreachable: the last stretch has no end")

    def interval_at(self, now_ms: int) -> int:
        """The interval (ms) of the stretch the next funding time after ``now_ms`` belongs to: what the
        venue reports as the symbol's funding interval then."""
        t = self.next_funding_ms(now_ms)
        return next(every for _, every, end in self._spans() if end is None or t < end)

    def rate(self, funding_ms: int) -> str:
        """The rate of the funding at ``funding_ms``."""
        k = 0
        for start, every, end in self._spans():
            if end is None or funding_ms < end:
                k += (funding_ms - start) // every
                break
            k += -(-(end - start) // every)  # the funding times of this stretch
        return self.rates[min(max(k, 0), len(self.rates) - 1)]

    def fundings(self, start_ms: int, end_ms: int) -> list[tuple[int, str]]:
        """``(funding time ms, rate)`` of every funding time in ``[start_ms, end_ms]``, oldest first."""
        t = self.next_funding_ms(start_ms - 1)
        out = []
        while t <= end_ms:
            out.append((t, self.rate(t)))
            t = self.next_funding_ms(t)
        return out


@dataclass(frozen=True, slots=True)
class Settlement:
    """A funding time that passed, with what the venue had announced for it."""

    symbol: str
    funding_ms: int
    rate: Decimal
    mark_price: Decimal


@dataclass(slots=True)
class _Announced:
    mark_price: Decimal | None = None
    rate: Decimal | None = None
    next_funding_ms: int = 0


class FundingAnnouncements:
    """Per symbol, what a venue's mark-price stream last said, and the funding times that passed.

    Pure: the venue passes each message's values (``None`` for a field the message does not carry, as a
    Bybit ``tickers`` delta leaves out what did not change).
    """

    def __init__(self) -> None:
        self._symbols: dict[str, _Announced] = {}

    def announce(
        self,
        symbol: str,
        *,
        mark_price: Decimal | None = None,
        rate: Decimal | None = None,
        next_funding_ms: int | None = None,
    ) -> Settlement | None:
        """Take one message; returns the funding time it shows passed (its announced next funding time
        moved forward), settled at the state before the message: the rate announced for that time and
        the last mark price. None otherwise, or when no rate or mark price was announced before it."""
        state = self._symbols.setdefault(symbol, _Announced())
        passed = None
        rolled = next_funding_ms is not None and 0 < state.next_funding_ms < next_funding_ms
        if rolled and state.rate is not None and state.mark_price is not None:
            passed = Settlement(symbol, state.next_funding_ms, state.rate, state.mark_price)
        if mark_price is not None:
            state.mark_price = mark_price
        if rate is not None:
            state.rate = rate
        if next_funding_ms is not None:
            state.next_funding_ms = next_funding_ms
        return passed
