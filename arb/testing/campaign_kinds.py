"""The fault campaign's scenarios (:mod:`arb.testing.campaign`): the fault kinds, one seeded
:class:`Scenario`, and :func:`scenario` that makes it from its seed.

Two styles are exercised. **Taker** scenarios: one venue misbehaves while arb opens pairs of
immediate-or-cancel orders (a reject, a timeout with the order placed or not, a partial fill, the user
stream dropped or silent, the public feed stalled or its connection closed, a fill after arb's "not
found" verdict, a fill swept before its order is known, a rate limit or a ban in the middle of trading,
a kill switch whose flatten is answered late, or none). **Maker**
scenarios (``style = "maker_taker"``): arb rests post-only quotes on the faulted venue (the maker venue),
priced from the other venue's book, and the market trades through a quote, so the fake's ledger fills it
as a maker and arb hedges it on the other venue; the faults are the races of resting quotes: a fill after
the cancel was sent, a cancel answered "unknown order", partial fills across a re-price, a post-only
quote refused because it would cross, the user stream silent during a fill, a quote's fill swept before
its order is known, a rate limit or a ban, or none. (A quote's fill after arb's "not found" verdict is no
maker kind: see ``docs/live-execution.md``, "Fault campaign".)

A scenario trades two of the campaign's venues (:data:`VENUES`: Binance, Bybit, Hyperliquid, OKX): the faulted
one and another, drawn. A seed decides everything: the kind and the faulted venue cycle with it (any
``len(VENUES) * len(KINDS)`` consecutive seeds cover every kind of both styles on every venue), the rest is
drawn from it.
"""

from __future__ import annotations

__all__ = [
    "FAULTS",
    "KINDS",
    "MAKER",
    "MAKER_FAULTS",
    "ORDER_FAULTS",
    "RACES",
    "TAKER",
    "VENUES",
    "Fault",
    "Scenario",
    "scenario",
]

import dataclasses
import random
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from arb.catalog import known_venues
from arb.sim.testkit import venue_testkit
from connectors.registry import venue as _connector

VENUES = tuple(name for name in known_venues() if _connector(name).trades_live and venue_testkit(name).in_campaign)
"""The venues a scenario draws its two from (every venue arb live trades: a public-only venue has no private
side to fault; but one whose test kit keeps it out of the campaign), in the order a run lists them
(``[strategy] venues``)."""
TAKER = "taker"
MAKER = "maker_taker"


class Fault(Enum):
    """What the faulted venue does."""

    NONE = "none"
    REJECT = "reject"
    """Refuses the order (insufficient balance), for ``times`` orders in a row."""
    TIMEOUT_PLACED = "timeout-placed"
    """Places the order, then the answer is late (arb's request times out), the connection drops, or
    it is a 5xx: the outcome is unknown to arb, the order exists."""
    TIMEOUT_LOST = "timeout-lost"
    """The same without placing the order: the order never exists."""
    PARTIAL = "partial"
    """Fills only ``fraction`` of the order; the rest expires."""
    STREAM_DROP = "stream-drop"
    """Drops the user stream's TCP connection as the order is placed."""
    STREAM_SILENCE = "stream-silence"
    """Sends no user-stream event for ``outage_ms`` from the order on (the events are lost); maker: from
    just before the book trades through the quote, whose fill arb must then find by query."""
    FEED_STALL = "feed-stall"
    """Sends no market data for ``outage_ms`` (the sockets stay open): the venue goes stale."""
    FEED_CLOSE = "feed-close"
    """Drops the public feed's TCP connection: arb reconnects and resyncs."""
    LATE_FILL = "late-fill"
    """Holds the order's create unprocessed past arb's "not found" verdict, then takes it (Binance's
    ``-1007``: its matching engine acted later): the order fills after arb declared it never placed."""
    SWEPT_FIRST = "swept-first"
    """Places the order, loses the answer, hides the order from queries, silences the user stream and
    drops it as the order arrives: the sweep after the reconnect reads the order's trades before arb
    knows its venue id (Binance's trade rows name no client id); the order shows up to queries after."""
    CANCEL_RACE = "cancel-race"
    """Maker: the hedge venue moves, arb re-prices its quote, and the cancel reaches the maker venue two
    market frames late, after the book traded through part of the quote (``maker_fraction``): a fill
    after the cancel was sent; the cancel then takes the rest."""
    CANCEL_UNKNOWN = "cancel-unknown"
    """Maker: the same, the book trading through the whole quote: the cancel finds it filled and is
    answered "unknown order" (Binance ``-2011``, Bybit ``170213``)."""
    PARTIAL_REPRICE = "partial-reprice"
    """Maker: the book trades through part of a quote while the hedge venue moves: arb cancels it (it
    crosses, and its target moved) and quotes again at the new price. With ``rest_fills`` the cancel is
    held two frames while the book fills more of it; otherwise the rest is cancelled unfilled."""
    POST_ONLY_REJECT = "post-only-reject"
    """Maker: the hedge venue's book moves, arb re-prices its quotes (one towards the maker venue's touch),
    and the new quotes reach the venue two frames late, after its book moved through that price, while its
    public feed lags 150 ms: the quote would take, and is refused (Binance ``-2010``) or expired (Bybit
    ``EC_PostOnlyWillTakeLiquidity``) before arb's view shows why."""
    RATE_LIMIT = "rate-limit"
    """In the middle of trading the venue answers a create with 429 and ``Retry-After: retry_after_s``
    (taker: the faulted venue's order ``strike_order``; maker: the re-priced quote), or, with ``ban``
    (Binance), bans the IP for ``retry_after_s`` (every REST request refused: 418 with ``Retry-After``)."""
    KILL_LATE = "kill-late"
    """Taker: the venue refuses eight orders in a row (the kernel halts, a leg naked), then the kill switch
    runs with its flatten's answer held past its done timeout and both user streams silent: the flatten
    fills, and its fate is found out by query, never by sending it again."""


TAKER_FAULTS = (
    Fault.NONE, Fault.REJECT, Fault.TIMEOUT_PLACED, Fault.TIMEOUT_LOST, Fault.PARTIAL, Fault.STREAM_DROP,
    Fault.STREAM_SILENCE, Fault.FEED_STALL, Fault.FEED_CLOSE, Fault.LATE_FILL, Fault.SWEPT_FIRST, Fault.RATE_LIMIT,
    Fault.KILL_LATE,
)  # fmt: skip
MAKER_FAULTS = (
    Fault.NONE, Fault.CANCEL_RACE, Fault.CANCEL_UNKNOWN, Fault.PARTIAL_REPRICE, Fault.POST_ONLY_REJECT,
    Fault.STREAM_SILENCE, Fault.SWEPT_FIRST, Fault.RATE_LIMIT,
)  # fmt: skip
FAULTS = TAKER_FAULTS
"""The taker style's fault kinds (the campaign's before it had a maker style)."""
KINDS: tuple[tuple[str, Fault], ...] = tuple((TAKER, f) for f in TAKER_FAULTS) + tuple((MAKER, f) for f in MAKER_FAULTS)
"""Every (style, fault) a scenario can be, in the order seeds cycle through them."""
ORDER_FAULTS = (Fault.REJECT, Fault.TIMEOUT_PLACED, Fault.TIMEOUT_LOST, Fault.PARTIAL, Fault.LATE_FILL,
                Fault.SWEPT_FIRST, Fault.RATE_LIMIT, Fault.KILL_LATE)  # fmt: skip
"""Taker: the faults armed at the faulted venue's order before the one they strike."""
RACES = (Fault.LATE_FILL, Fault.SWEPT_FIRST)
"""The order races of a fill that wins over arb's view: late after a verdict, or before the order is known."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One seeded scenario (see the module docstring)."""

    seed: int
    venue: str
    """The faulted venue: one of :data:`VENUES` (maker scenarios: the venue that quotes)."""
    fault: Fault
    strike_order: int
    """Taker: the fault strikes at the faulted venue's order number ``strike_order`` (0-based; a
    scenario makes at least three orders per venue) ..."""
    strike_ms: int
    """... or, when >= 0, this long after the opportunity appears (stream and feed faults). Maker
    faults strike 50 ms before the market moves (``opportunity_ms``)."""
    times: int
    """REJECT: how many orders in a row are refused."""
    unknown: str
    """TIMEOUT_*: how the answer fails: ``"late"`` (held past arb's timeout), ``"drop"`` (the
    connection closes unanswered) or ``"5xx"`` (HTTP 503, the venue's "status unknown")."""
    fraction: Decimal
    """PARTIAL: the share of the order that fills."""
    outage_ms: int
    """STREAM_SILENCE, FEED_STALL: how long it lasts."""
    rich: str
    """Taker: the venue whose bid rises above the other's ask (arb sells there)."""
    mid: Decimal
    edge_bps: int
    order_size: Decimal
    level_qty: Decimal
    """Taker: what the rich bid shows (the pairs take at most this per book update)."""
    opportunity_ms: int
    """Taker: when the opportunity appears; maker: when the market first moves."""
    stop_at_halt: bool
    """Halted with exposure: stop arb at once (the kill switch flattens), or let the paced attempts run."""
    style: str = TAKER
    """``"taker"`` or ``"maker_taker"``."""
    through: str = "buy"
    """Maker: the quote the market trades through: ``"buy"`` (the maker venue's asks fall through the
    buy quote) or ``"sell"`` (its bids rise through the sell quote)."""
    maker_fraction: Decimal = Decimal("0.5")
    """Maker CANCEL_RACE, PARTIAL_REPRICE: the share of the quote the first trade-through shows."""
    rest_fills: bool = False
    """Maker PARTIAL_REPRICE: the cancel is held while the book fills more of the quote."""
    ban: bool = False
    """RATE_LIMIT: an IP ban instead of a 429 (Binance only: see :func:`scenario`)."""
    retry_after_s: int = 2
    """RATE_LIMIT: the 429's ``Retry-After``, or the ban's length, seconds."""
    other: str = VENUES[1]
    """The scenario's other venue (the one not faulted)."""

    @property
    def maker(self) -> bool:
        return self.style == MAKER

    @property
    def pair(self) -> tuple[str, str]:
        """The scenario's two venues, in the order a run lists them (:data:`VENUES`' order)."""
        first, second = sorted((self.venue, self.other), key=VENUES.index)
        return first, second

    @property
    def hedge_venue(self) -> str:
        """Maker: the venue whose book prices the quotes and takes their hedges."""
        return self.other

    @property
    def position_limit(self) -> Decimal:
        """``[risk] position_limit``: one and a half pairs (a lone leg fits, two do not)."""
        return self.order_size * 3 / 2

    def describe(self) -> str:
        if self.maker:
            detail = {
                Fault.CANCEL_RACE: f" {self.maker_fraction}",
                Fault.PARTIAL_REPRICE: f" {self.maker_fraction}" + (", the rest filled" if self.rest_fills else ""),
                Fault.STREAM_SILENCE: f" {self.outage_ms} ms",
                Fault.RATE_LIMIT: self._limit(),
            }.get(self.fault, "")
            return (
                f"seed {self.seed}: maker {self.venue} {self.fault.value}{detail}; the book trades through the "
                f"{self.through} quote at +{self.opportunity_ms} ms, hedged on {self.hedge_venue}; mid {self.mid}, "
                f"quotes of {self.order_size}"
            )
        when = f"at +{self.strike_ms} ms" if self.strike_ms >= 0 else f"at its order #{self.strike_order}"
        detail = {
            Fault.REJECT: f" x{self.times}",
            Fault.TIMEOUT_PLACED: f" ({self.unknown})",
            Fault.TIMEOUT_LOST: f" ({self.unknown})",
            Fault.PARTIAL: f" {self.fraction}",
            Fault.STREAM_SILENCE: f" {self.outage_ms} ms",
            Fault.FEED_STALL: f" {self.outage_ms} ms",
            Fault.RATE_LIMIT: self._limit(),
        }.get(self.fault, "")
        strike = "" if self.fault is Fault.NONE else f" {when}"
        return (
            f"seed {self.seed}: {self.venue} {self.fault.value}{detail}{strike}, beside {self.other}; sell on "
            f"{self.rich} +{self.edge_bps} bps, mid {self.mid}, pairs of {self.order_size}"
        )

    def _limit(self) -> str:
        return f" ({'a ban' if self.ban else '429'} of {self.retry_after_s} s)"


def scenario(seed: int) -> Scenario:
    """The scenario of ``seed``: the style, fault kind and faulted venue cycle with the seed (so any run of
    ``len(VENUES) * len(KINDS)`` consecutive seeds covers every kind of both styles on every venue); the rest is
    drawn, the other venue last."""
    rng = random.Random(seed)
    style, fault = KINDS[seed % len(KINDS)]
    venue = VENUES[(seed // len(KINDS)) % len(VENUES)]
    by_time = fault in (Fault.FEED_STALL, Fault.FEED_CLOSE, Fault.STREAM_DROP) and rng.random() < 0.4
    drawn = Scenario(
        seed=seed,
        venue=venue,
        fault=fault,
        strike_order=rng.choice((0, 0, 1, 2)),
        strike_ms=rng.randrange(0, 1_500, 50) if by_time else -1,
        times=rng.choice((1, 1, 2, 8)),
        unknown=rng.choice(("late", "late", "drop", "5xx")),
        fraction=Decimal(rng.choice(("0", "0.25", "0.5", "0.9"))),
        outage_ms=rng.randrange(1_500, 3_500, 100),
        rich=str(rng.choice((0, 1))),  # the first or the second of the pair, once the other venue is drawn
        mid=Decimal(rng.randrange(550_000, 650_000)) / 10,
        edge_bps=rng.randrange(40, 90, 5),
        order_size=Decimal(rng.choice(("0.006", "0.008", "0.01"))),
        level_qty=Decimal(rng.choice(("0.004", "0.5", "2"))),
        opportunity_ms=rng.randrange(300, 900, 100),
        stop_at_halt=rng.random() < 0.5,
        style=style,
    )
    # a ban only where the venue says when it ends (its test kit's ban_ends: a Retry-After); a ban that names no
    # end lasts 10 minutes or more, so arb holds everything there for its default, longer than a scenario
    banned = rng.random() < 0.3 and venue_testkit(venue).ban_ends
    drawn = dataclasses.replace(drawn, ban=banned, retry_after_s=rng.choice((2, 3)))
    if fault is Fault.RATE_LIMIT:  # in the middle of trading: armed at an order of the run, not before it starts
        drawn = dataclasses.replace(drawn, strike_order=max(1, drawn.strike_order))
    if fault is Fault.KILL_LATE:  # halted with a leg naked: the kill switch has something to flatten
        drawn = dataclasses.replace(drawn, times=8, stop_at_halt=True)
    if style == MAKER:  # the maker fields, drawn after the others (which draw alike for both styles)
        drawn = dataclasses.replace(
            drawn,
            through=rng.choice(("buy", "sell")),
            maker_fraction=Decimal(rng.choice(("0.25", "0.5", "0.75"))),
            rest_fills=rng.random() < 0.5,
        )
    drawn = dataclasses.replace(drawn, other=rng.choice([v for v in VENUES if v != venue]))
    return dataclasses.replace(drawn, rich=drawn.pair[int(drawn.rich)])
