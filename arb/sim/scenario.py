"""What a constructed scenario is made of (:mod:`arb.testing.scenarios` writes it), and the contract a
venue's stream writer keeps: ``arb/sim/<venue>/scenario.py`` exports ``WRITER``, found by the venue's name
with :func:`scenario_writer` (and ``LEAD_MS`` when its file starts before the scenario, :func:`scenario_lead_ms`).

A scenario is each venue's book at the start and a list of book changes at given times; a venue's
writer turns them into that venue's wire messages, one ``(local ns, raw payload)`` line each, in the
venue's own recording folder (``<venue>_<market>``).
"""

from __future__ import annotations

__all__ = [
    "EIGHT_HOURS_MS",
    "FEED_LATENCY_NS",
    "Book",
    "Change",
    "Perp",
    "StreamWriter",
    "WriterFactory",
    "level_strings",
    "live_levels",
    "next_funding",
    "scenario_lead_ms",
    "scenario_writer",
]

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Protocol

from arb.sim.funding import FundingSchedule

EIGHT_HOURS_MS = 8 * 3_600_000

FEED_LATENCY_NS = 5_000_000
"""How long after its exchange time (ms) a line is stamped as received: ``t * 1e6 + FEED_LATENCY_NS``."""


@dataclass
class Book:
    """One venue's book in a scenario: {price: qty} per side, qty in base units."""

    bids: dict[float, float]
    asks: dict[float, float]


@dataclass
class Change:
    """At ``t_ms`` after the start, set these levels (qty 0 removes) on one venue.

    ``kind``: ``"delta"`` (a diff with continuous ids), ``"gap"`` (the same, but its ids skip ahead:
    continuity breaks) or ``"snapshot"`` (a full snapshot of the book after the change, as a venue that
    snapshots on a resubscribe sends; a venue without such a message writes a delta).
    """

    t_ms: int
    venue: str  # a venue of the scenario, by its registry name
    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    kind: str = "delta"


@dataclass(frozen=True)
class Perp:
    """A perpetual's mark price and funding in a scenario: the funding time ``funding_ms`` after the
    start settles at ``rate`` (announced from the start); then the next ones, every ``interval_ms``, are
    announced at ``next_rate``, and from each ``(ms after the start, interval ms)`` of ``changes`` on (a
    funding time) every that many ms. ``mark`` is the mark price (and the index), restated every
    ``every_ms``. ``reported_interval_ms``: the funding interval the venue's REST answer recorded at the
    start says (Binance ``fundingInfo``, Bybit ``instruments-info``; 0: none recorded)."""

    mark: float
    rate: float
    funding_ms: int
    next_rate: float = 0.0
    every_ms: int = 1000
    interval_ms: int = EIGHT_HOURS_MS
    changes: tuple[tuple[int, int], ...] = ()
    reported_interval_ms: int = 0

    def schedule(self, start_ms: int) -> FundingSchedule:
        """The funding times and rates of a scenario that starts at ``start_ms``."""
        rates = (f"{self.rate:.8f}", f"{self.next_rate:.8f}")
        changes = tuple((start_ms + t, every) for t, every in self.changes)
        return FundingSchedule(start_ms + self.funding_ms, rates, self.interval_ms, changes=changes)


def next_funding(perp: Perp, start_ms: int, t_ms: int) -> tuple[int, float]:
    """(the next funding time after ``t_ms``, the rate announced for it) of a scenario's perpetual that
    starts at ``start_ms`` (all ms since the epoch)."""
    schedule = perp.schedule(start_ms)
    funding_ms = schedule.next_funding_ms(t_ms)
    return funding_ms, float(schedule.rate(funding_ms))


def level_strings(
    side: dict[float, float], px_dec: int, qty_dec: int, reverse: bool, qty_scale: float = 1.0
) -> list[list[str]]:
    """``side``'s levels as wire strings ``[price, qty]`` sorted by price (``reverse``: highest first),
    with ``px_dec`` and ``qty_dec`` decimals, each qty divided by ``qty_scale`` (a contract's size)."""
    return [[f"{p:.{px_dec}f}", f"{q / qty_scale:.{qty_dec}f}"] for p, q in sorted(side.items(), reverse=reverse)]


def live_levels(side: dict[float, float]) -> dict[float, float]:
    """The levels of ``side`` that hold a quantity."""
    return {p: q for p, q in side.items() if q > 0}


class StreamWriter(Protocol):
    """One venue's stream of a scenario, built message by message (a venue's module under
    ``arb.sim.<venue>.scenario`` provides ``WRITER``, a :data:`WriterFactory`)."""

    folder: str
    """The recording folder: ``<venue>_<market>``."""
    lines: list[tuple[int, bytes]]
    """What the venue sent so far: ``(local ns, raw payload)``, in sending order per stream."""

    def step(self, t_ms: int, change: Change, book: Book) -> None:
        """Send ``change`` (a ``"delta"``, ``"gap"`` or ``"snapshot"``) at ``t_ms`` (ms since the epoch);
        ``book`` is the venue's book after it (levels of qty 0 still listed)."""

    def perpetual(self, perp: Perp, start_ms: int, duration_ms: int) -> None:
        """Send the perpetual's mark price and funding for the scenario's ``duration_ms`` from ``start_ms``."""


WriterFactory = Callable[[str, str, int, Book], StreamWriter]
"""``(symbol, market, start ms since the epoch, book at the start) ->`` a writer that has sent what the
venue sends before the first change (its snapshot)."""


def _module(venue: str) -> ModuleType:
    try:
        return importlib.import_module(f"arb.sim.{venue}.scenario")
    except ModuleNotFoundError as error:
        raise ValueError(f"no scenario writer for venue {venue!r} (arb/sim/{venue}/scenario.py)") from error


def scenario_writer(venue: str) -> WriterFactory:
    """Venue ``venue``'s scenario writer (``arb.sim.<venue>.scenario``'s ``WRITER``); ``ValueError`` naming the
    venue when it has none."""
    found: WriterFactory = _module(venue).WRITER
    return found


def scenario_lead_ms(venue: str) -> int:
    """How long before a scenario's start venue ``venue``'s file starts (its module's ``LEAD_MS``, else 0)."""
    return int(getattr(_module(venue), "LEAD_MS", 0))
