"""Funding for the fake venues: a schedule they announce and settle.

:class:`FundingSchedule` is one perpetual's funding: funding times every ``interval_ms`` through
``first_funding_ms``, and the rate each one applies. The fake market-data venues announce it in
their mark-price streams (``FakeBinanceVenue(funding=...)``: ``<symbol>@markPrice@1s``;
``FakeBybitVenue(funding=...)``: ``tickers.<SYMBOL>``, linear).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FundingSchedule"]

HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    """One perpetual's funding: a funding time every ``interval_ms`` through ``first_funding_ms``.

    ``rates[k]`` (a decimal string) is the rate of funding time ``first_funding_ms + k * interval_ms``;
    times before the first use ``rates[0]``, times after the last the last. ``mark_price`` is what the
    REST history reports as each funding's mark price (Binance).
    """

    first_funding_ms: int
    rates: tuple[str, ...]
    interval_ms: int = 8 * HOUR_MS
    mark_price: str = "60000.00000000"

    def __post_init__(self) -> None:
        if not self.rates or self.interval_ms <= 0:
            raise ValueError("a funding schedule needs at least one rate and a positive interval")

    def next_funding_ms(self, now_ms: int) -> int:
        """The first funding time strictly after ``now_ms`` (at a funding time, the one after it)."""
        k = (now_ms - self.first_funding_ms) // self.interval_ms + 1
        return self.first_funding_ms + k * self.interval_ms

    def rate(self, funding_ms: int) -> str:
        """The rate of the funding at ``funding_ms``."""
        k = (funding_ms - self.first_funding_ms) // self.interval_ms
        return self.rates[min(max(k, 0), len(self.rates) - 1)]

    def fundings(self, start_ms: int, end_ms: int) -> list[tuple[int, str]]:
        """``(funding time ms, rate)`` of every funding time in ``[start_ms, end_ms]``, oldest first."""
        t = self.next_funding_ms(start_ms - 1)
        out = []
        while t <= end_ms:
            out.append((t, self.rate(t)))
            t += self.interval_ms
        return out
