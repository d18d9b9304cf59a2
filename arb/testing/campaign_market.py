"""The markets the fault campaign's scenarios trade in (:mod:`arb.testing.campaign`): both venues' books
and their changes, by venue, written as recordings by :func:`arb.testing.scenarios.write_venues`.

**Taker** (:func:`taker_market`): both books 1 bps either side of the mid; at ``opportunity_ms`` the rich
venue's bid jumps ``edge_bps`` above the cheap venue's ask and stays there.

**Maker** (:func:`maker_market`): both books 1 bps either side of the mid, 2 BTC a level. arb quotes on
the maker venue ``m`` from the hedge venue ``h``'s book: a buy quote at ``h``'s bid / (1 + c), a sell
quote at ``h``'s ask x (1 + c), c = 5 bps of spread, ``m``'s maker fee, ``h``'s taker fee and 2 of
slippage (:func:`cost_bps`: 27 bps with Binance's and Bybit's 10 and 10, 25 with OKX's maker fee of 8),
far from ``m``'s touch. The market then trades through the quote of side ``through`` (the buy quote:
``m``'s whole book falls below it; the sell quote: rises above it), so the fake's ledger fills it as a
maker at its own price; what happens around that is the fault's:

==================== =====================================================================================
fault                at ``t = opportunity_ms`` (ms of market time after the market starts)
==================== =====================================================================================
none, stream-silence ``m`` trades through the quote at t + 60 (twice its size), back at t + 80
cancel-race          ``h``'s touch moves 15 bps away (the quote is re-priced: cancelled); ``m`` trades
                     through ``maker_fraction`` of it at t + 60, back at t + 80 (the cancel, held two
                     frames, comes after the fill)
cancel-unknown       the same, through the whole quote
partial-reprice      ``m`` trades through ``maker_fraction`` of it and ``h`` moves 15 bps away at t + 60;
                     back at t + 80 (with ``rest_fills``: at t + 160, after a frame that fills more)
post-only-reject     ``h``'s book moves 15 bps towards the quote (both quotes re-priced, this one nearer
                     ``m``'s touch; each new quote reaches ``m`` two frames late); at
                     t + 60 ``m``'s book moves to between the old and the new price, back at t + 560
swept-first          ``h``'s touch moves 15 bps away (the quote is re-priced: its create is the one the
                     race takes); ``m`` trades through the new quote at t + 300 (twice its size), back at
                     t + 320
rate-limit           ``h``'s touch moves 15 bps away (the quote re-priced: the cancel, and the create the
                     429 answers; a ban refuses the cancel); ``m`` trades through the old quote at t + 60
                     (twice its size: it fills if its cancel was refused), back at t + 80; and after the
                     window, at t + 1000 x (``retry_after_s`` + 2), through whatever quote of that side
                     rests, back 30 ms later (:func:`maker_end_ms`)
==================== =====================================================================================

**Both** (:func:`alive`): a far bid on every venue (3 % below the mid, never reached) changes its size every
:data:`PULSE_MS` (of each venue's recorded time) from the start to the end, as a real market's book never
rests: a fake plays only the changes it is given, so between the scenario's changes a venue's stream would be
silent, and arb rightly holds a silent book stale (``[risk] stale_after_ms``), which is no fault of the
scenario's.

In every maker scenario ``m`` trades through, at t + 1500, whatever quote of that side rests (60 bps
from the mid, twice its size), back at t + 1530 (:data:`MAKER_END_MS` after t: the market's last change,
but for the rate-limit kind's).

Market time runs on the wall clock, with one hold: a maker market stops 50 ms before t until both of
arb's quotes rest on ``m`` (however long a busy machine's arb takes to place them), then plays on at its
pace from there; the fault strikes at that moment (``campaign._quotes_first``). Swept-first holds once
more, at t + 250, until the re-priced quote rests (``campaign._hold_for_reprice``).

Market time is Binance's recorded time: the Binance file starts 50 ms before Bybit's and OKX's (its
first diff is buffered ahead of the snapshot: its scenario writer's ``LEAD_MS``,
:func:`arb.sim.scenario.scenario_lead_ms`), so each venue's playback, started together, plays
Binance's recorded time ``T`` when the others' is ``T + 50`` (:data:`PLAY_OFFSET_MS`); their changes are
written 50 ms later to happen at the same moment (without Binance, both venues' files start together,
both written 50 ms later: still one moment).
"""

from __future__ import annotations

__all__ = [
    "COST_BPS",
    "FEES_BPS",
    "MAKER_END_MS",
    "MIN_SPREAD_BPS",
    "PLAY_OFFSET_MS",
    "PULSE_MS",
    "SLIPPAGE_BPS",
    "alive",
    "cost_bps",
    "maker_end_ms",
    "maker_market",
    "taker_market",
]

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from arb.catalog import default_venues, known_venues
from arb.sim.scenario import scenario_lead_ms
from arb.testing.campaign_kinds import Fault, Scenario
from arb.testing.configs import venue_defaults
from arb.testing.scenarios import Book, Change

TICK = Decimal("0.1")
"""The grid of every price written (Bybit spot's tick; Binance's, 0.01, divides it)."""
DEPTH = 2.0
MIN_SPREAD_BPS = 5.0


def _fee_bps(fraction: float) -> int:
    return round(fraction * 10_000)


SLIPPAGE_BPS = 2.0
FEES_BPS: dict[str, tuple[int, int]] = {
    name: (_fee_bps(venue_defaults(name)["fees"]["maker"]), _fee_bps(venue_defaults(name)["fees"]["taker"]))
    for name in known_venues()
}
"""Each venue's spot fees (maker, taker), bps, as its shipped venue file says (and its fake charges)."""


def cost_bps(maker: str, hedge: str) -> float:
    """What a quote on ``maker`` hedged on ``hedge`` must clear: its price is the hedge venue's touch moved
    this far (the kernel's rule: the spread, the maker's maker fee, the hedge's taker fee, the slippage)."""
    return MIN_SPREAD_BPS + FEES_BPS[maker][0] + FEES_BPS[hedge][1] + SLIPPAGE_BPS


COST_BPS = cost_bps(*default_venues())
"""What a quote must clear between the default run's two venues (:func:`cost_bps`)."""


MOVE_BPS = 15
"""How far the hedge venue's touch moves at a re-price."""
MAKER_END_MS = 1_530
PLAY_OFFSET_MS = 50
"""Market time ``T`` is played when this long has passed since both venues started playing, plus ``T``."""


PULSE_MS = 100
"""How often every venue's far bid changes its size (:func:`alive`)."""
FAR_BPS = 300
"""How far below the mid the far bid rests: beyond any order's price and any flatten's slippage."""


def alive(s: Scenario, books: dict[str, Book], changes: list[Change], duration_ms: int) -> list[Change]:
    """``changes`` with a far bid on each of ``books`` (added to them) whose size moves every :data:`PULSE_MS`
    until ``duration_ms`` (a change already at that time and venue takes it as well)."""
    far = float(_bps(s.mid, -FAR_BPS, ROUND_FLOOR))
    for book in books.values():
        book.bids[far] = DEPTH
    at = {(c.t_ms, c.venue): c for c in changes}
    for t in range(PULSE_MS, duration_ms, PULSE_MS):
        size = DEPTH + (0.5 if t // PULSE_MS % 2 else 0.0)
        for name in books:
            change = at.setdefault((t, name), Change(t, name))
            change.bids = {**change.bids, far: size}
    return sorted(at.values(), key=lambda c: (c.t_ms, c.venue))


def taker_market(s: Scenario) -> tuple[dict[str, Book], list[Change]]:
    """Both venues' books (by name) 1 bps either side of the mid, the rich venue's ask far above, and the
    changes: at ``opportunity_ms`` the rich venue's bid jumps ``edge_bps`` above the cheap venue's ask and
    stays there."""
    near = (s.mid * Decimal("0.0001")).quantize(TICK)
    bid, ask = float(s.mid - near), float(s.mid + near)
    cheap = Book(bids={bid: DEPTH}, asks={ask: DEPTH})
    rich = Book(bids={float(s.mid - 2 * near): DEPTH}, asks={float(s.mid * Decimal("1.02")): DEPTH})
    jump = (Decimal(ask) * (1 + Decimal(s.edge_bps) / 10_000)).quantize(TICK)
    changes = [Change(s.opportunity_ms, s.rich, bids={float(jump): float(s.level_qty)})]
    return {name: rich if name == s.rich else cheap for name in s.pair}, changes


def _bps(price: Decimal, bps: float, rounding: str) -> Decimal:
    return (price * (1 + Decimal(str(bps)) / 10_000) / TICK).to_integral_value(rounding) * TICK


class _Venue:
    """One venue's book in the scenario as its changes move it: a level a side (``DEPTH``)."""

    def __init__(self, name: str, bid: Decimal, ask: Decimal) -> None:
        self.name, self.bid, self.ask = name, bid, ask
        self.offset = PLAY_OFFSET_MS - scenario_lead_ms(name)  # market time -> the venue's recorded time
        self.bid_qty = self.ask_qty = DEPTH
        self.book = Book(bids={float(bid): DEPTH}, asks={float(ask): DEPTH})

    def move(self, t_ms: int, *, bid: Decimal | None = None, ask: Decimal | None = None, bid_qty: float = DEPTH,
             ask_qty: float = DEPTH) -> Change:  # fmt: skip
        """The change at market time ``t_ms`` that moves the book's levels there (the old ones removed)."""
        change = Change(t_ms + self.offset, self.name)
        if bid is not None:
            change.bids = {float(self.bid): 0.0, float(bid): bid_qty}
            self.bid, self.bid_qty = bid, bid_qty
        if ask is not None:
            change.asks = {float(self.ask): 0.0, float(ask): ask_qty}
            self.ask, self.ask_qty = ask, ask_qty
        return change


def maker_end_ms(s: Scenario) -> int:
    """The market's last change in maker scenario ``s``, ms after ``opportunity_ms``."""
    return 1_000 * (s.retry_after_s + 2) + 30 if s.fault is Fault.RATE_LIMIT else MAKER_END_MS


def maker_market(s: Scenario) -> tuple[dict[str, Book], list[Change]]:
    """Both venues' books (by name) and the changes of maker scenario ``s`` (see the module docstring)."""
    near = (s.mid * Decimal("0.0001")).quantize(TICK)
    bid0, ask0 = s.mid - near, s.mid + near
    m, h = _Venue(s.venue, bid0, ask0), _Venue(s.hedge_venue, bid0, ask0)
    buy = s.through == "buy"
    sign = 1 if buy else -1  # towards the quote: down for the buy quote, up for the sell quote
    cost = cost_bps(s.venue, s.hedge_venue)
    quote = _bps(bid0, -cost, ROUND_FLOOR) if buy else _bps(ask0, cost, ROUND_CEILING)
    size = float(s.order_size)
    t = s.opportunity_ms
    changes: list[Change] = []

    def through(at: int, price: Decimal, qty: float) -> Change:
        # m's book moves through ``price`` from the quote's side: its ask (buy) or bid (sell) is there,
        # showing ``qty``, the other side ten ticks further
        if buy:
            return m.move(at, bid=price - 10 * TICK, ask=price, ask_qty=qty)
        return m.move(at, bid=price, ask=price + 10 * TICK, bid_qty=qty)

    def back(at: int) -> Change:
        return m.move(at, bid=bid0, ask=ask0)

    def hedge_moves(at: int, bps: float) -> Change:
        # h's touch on the quote's side moves ``bps``: > 0 towards m's touch (the quote's target with it:
        # h's whole book moves, or it would cross; both quotes are re-priced), < 0 away from it (that side
        # alone: only the quote of that side is re-priced)
        moved = bps * sign
        if bps > 0:
            return h.move(at, bid=_bps(bid0, moved, ROUND_FLOOR), ask=_bps(ask0, moved, ROUND_CEILING))
        if buy:
            return h.move(at, bid=_bps(bid0, moved, ROUND_FLOOR))
        return h.move(at, ask=_bps(ask0, moved, ROUND_CEILING))

    crossing = _bps(quote, -5 * sign, ROUND_FLOOR if buy else ROUND_CEILING)  # 5 bps through the quote
    if s.fault in (Fault.NONE, Fault.STREAM_SILENCE):
        changes += [through(t + 60, crossing, 2 * size), back(t + 80)]
    elif s.fault in (Fault.CANCEL_RACE, Fault.CANCEL_UNKNOWN):
        shown = 2 * size if s.fault is Fault.CANCEL_UNKNOWN else float(s.maker_fraction) * size
        changes += [hedge_moves(t, -MOVE_BPS), through(t + 60, crossing, shown), back(t + 80)]
    elif s.fault is Fault.PARTIAL_REPRICE:
        shown = float(s.maker_fraction) * size
        changes += [hedge_moves(t + 60, -MOVE_BPS), through(t + 60, crossing, shown)]
        changes.append(back(t + 160 if s.rest_fills else t + 80))
    elif s.fault is Fault.POST_ONLY_REJECT:
        # the new quote is MOVE_BPS nearer m's touch; m's book moves to halfway between the two prices
        between = _bps(quote, sign * MOVE_BPS / 2, ROUND_FLOOR if buy else ROUND_CEILING)
        changes += [hedge_moves(t, MOVE_BPS), through(t + 60, between, 2 * size), back(t + 560)]
    elif s.fault is Fault.SWEPT_FIRST:
        past_new = _bps(quote, -(MOVE_BPS + 5) * sign, ROUND_FLOOR if buy else ROUND_CEILING)  # the re-priced one
        changes += [hedge_moves(t, -MOVE_BPS), through(t + 300, past_new, 2 * size), back(t + 320)]
    elif s.fault is Fault.RATE_LIMIT:
        changes += [hedge_moves(t, -MOVE_BPS), through(t + 60, crossing, 2 * size), back(t + 80)]
    deep = _bps(s.mid, -60 * sign, ROUND_FLOOR if buy else ROUND_CEILING)
    changes += [through(t + 1_500, deep, 2 * size), back(t + MAKER_END_MS)]
    if s.fault is Fault.RATE_LIMIT:  # after the window: whatever quote of that side rests fills
        end = maker_end_ms(s)
        changes += [through(t + end - 30, deep, 2 * size), back(t + end)]
    return {m.name: m.book, h.name: h.book}, changes
