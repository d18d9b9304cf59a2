"""Funding carry between perpetuals: short the venue whose funding the shorts receive, long the other, held
while the funding differential pays (``docs/funding-carry.md``).

A perpetual's longs pay its shorts ``position x mark x rate`` at each funding time (a negative rate: the
shorts pay). Two venues of one symbol charge different rates, so a pair long on one and short on the other
is flat in price and earns the difference. :data:`FundingCarry` decides, at each call arb's guard makes
(nothing unanswered, the net flat):

1. **Flat: enter** on the best pair of the run's linear venues (long ``l``, short ``s``, both taking orders)
   whose funding differential expected over ``horizon_h`` (:func:`expected_bps`) beats, by ``entry_bps``
   at least, what the carry costs: both venues' taker fees twice (in and out), the spread the entry pays
   (each leg's walk of its book for the quantity, against the venue's mid) and ``exit_cost_bps`` (what the
   exit's walk will pay, not known yet). The quantity: ``size``, at most ``[strategy] max_order_size`` and
   ``max_position_size``, what both books show over ``book_levels``, on the pair's lot grid. Each leg is
   one immediate-or-cancel order limited at the deepest level its walk reaches, moved by the slippage
   tolerance.
2. **Holding: exit** (the reverse pair: sell where long, buy where short, for what is held) when the
   differential expected for the held pair falls below ``exit_bps`` (the rates turned), or once the carry
   was held ``max_hold_h``. What is held is read from the view's positions (long: the linear venue with
   the largest position, short: the smallest), so a partial fill or arb's hedge of a lone leg is followed.

A lone leg (one leg filled alone) is never the strategy's: arb's guard hedges or unwinds it before the
strategy is called again. Units: ``_h`` hours, ``_bps`` basis points of the price, ``_ns`` int64 ns,
quantities in base units, prices in quote currency.
"""

from __future__ import annotations

__all__ = ["CARRY_MEMORY", "CarryParams", "FundingCarry", "decide", "expected_bps", "may_act"]

from typing import Any

import msgspec
import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb.strategy import BUY, INTENT_OPEN, MARKET_LINEAR, SELL, Strategy, ceil_to_grid, floor_to_grid, takes_orders

_HOUR_NS = 3_600_000_000_000


class CarryParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The carry's ``[strategy.params]``."""

    horizon_h: float = 24.0
    """Hours of funding the entry and exit rules weigh: every funding time of each venue within it."""
    entry_bps: float = 2.0
    """Enter when the expected differential beats the carry's costs by at least this much, bps."""
    exit_bps: float = 0.0
    """Exit when the held pair's expected differential falls below this, bps (0: once it would pay)."""
    exit_cost_bps: float = 2.0
    """What the exit's walk of the books is expected to pay beyond its taker fees, bps."""
    max_hold_h: float = 72.0
    """Exit after holding a carry this many hours, whatever the rates."""
    size: float = 0.01
    """A carry's quantity, base units (capped by ``[strategy] max_order_size`` and ``max_position_size``)."""

    def __post_init__(self) -> None:
        for name in ("horizon_h", "max_hold_h", "size"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"{name}: expected a number above 0, got {getattr(self, name)}")
        if not self.exit_cost_bps >= 0.0:
            raise ValueError(f"exit_cost_bps: expected a number from 0, got {self.exit_cost_bps}")


CARRY_MEMORY = np.dtype(
    [
        ("entry_ns", "i8"),  # when the carry held now was entered (the entry pair was sent), local ns
        ("long_venue", "i8"),  # the venue it is long on
        ("short_venue", "i8"),  # the venue it is short on
        ("held", "f8"),  # what it holds, base units, as the last decision saw it (the entry's size at entry)
        ("entries", "i8"),  # pairs sent to enter
        ("exits", "i8"),  # pairs sent to exit
    ],
    align=True,
)
"""The carry's memory, one record per symbol (zero at the start)."""


@nb.njit(cache=True, internal=True, nogil=True)
def _fundings(view: Any, r: Any, v: int, now_ns: int, horizon_ns: int) -> int:
    # How many of venue v's funding times fall in (now, now + horizon], as arb's kernel counts them: the
    # announced next one (rolled on by the interval once passed without news), then one every interval
    # (the view's, else the configured one). 0 while no funding time is known.
    nxt: int = view[v]["next_funding_ns"]
    if nxt <= 0:
        return 0
    interval: int = view[v]["funding_interval_ns"]
    if interval <= 0:
        interval = r["funding_interval_ns"][v]
    if interval <= 0:
        return 1 if now_ns < nxt <= now_ns + horizon_ns else 0
    if nxt <= now_ns:
        nxt += ((now_ns - nxt) // interval + 1) * interval
    if nxt > now_ns + horizon_ns:
        return 0
    return int(1 + (now_ns + horizon_ns - nxt) // interval)


@nb.njit(cache=True, nogil=True)
def expected_bps(view: Any, rules: Any, long: int, short: int, now_ns: int, horizon_ns: int) -> float:
    """The funding a unit long on venue ``long`` and short on ``short`` is expected to earn over
    ``(now_ns, now_ns + horizon_ns]``, bps of its price (< 0: it would pay): the short leg earns its venue's
    coming rate (``view.funding_rate``, positive: longs pay shorts) at each of that venue's funding times
    within the horizon, the long leg pays its venue's at each of its own. ``rules``: the 1-record rules
    array (its ``funding_interval_ns`` where the view knows no interval)."""
    r = rules[0]
    earned = view[short]["funding_rate"] * _fundings(view, r, short, now_ns, horizon_ns)
    paid = view[long]["funding_rate"] * _fundings(view, r, long, now_ns, horizon_ns)
    return float((earned - paid) * 1e4)


@nb.njit(cache=True, internal=True, nogil=True)
def _shown(view: Any, v: int, side: int, levels: int) -> float:
    # What venue v's book shows over ``levels`` on the side an order of ``side`` takes (a buy: the asks).
    total = 0.0
    for k in range(levels):
        px = view[v]["ask_px"][k] if side == BUY else view[v]["bid_px"][k]
        qty = view[v]["ask_qty"][k] if side == BUY else view[v]["bid_qty"][k]
        if not (px > 0.0 and qty > 0.0):
            break
        total += qty
    return total


@nb.njit(cache=True, internal=True, nogil=True)
def _walk(view: Any, v: int, side: int, qty: float, levels: int) -> tuple[float, float]:
    # (what taking ``qty`` on venue v pays against its mid, bps; the deepest level's price it reaches);
    # ``qty`` no more than the book shows (:func:`_shown`).
    mid = (view[v]["bid_px"][0] + view[v]["ask_px"][0]) / 2.0
    left = qty
    value = 0.0
    last = np.nan
    for k in range(levels):
        px = view[v]["ask_px"][k] if side == BUY else view[v]["bid_px"][k]
        shown = view[v]["ask_qty"][k] if side == BUY else view[v]["bid_qty"][k]
        take = min(left, shown)
        value += take * px
        left -= take
        last = px
        if left <= 1e-12 * qty:
            break
    average = value / qty
    paid = (average - mid) if side == BUY else (mid - average)
    return float(paid / mid * 1e4), float(last)


@nb.njit(cache=True, internal=True, nogil=True)
def _leg(it: Any, v: int, side: int, price: float, qty: float) -> None:
    # One leg of a pair: an immediate-or-cancel order of ``side`` on venue v at limit ``price``.
    it["venue"] = v
    it["side"] = side
    it["price"] = price
    it["qty"] = qty
    it["kind"] = INTENT_OPEN
    it["pair_id"] = 0  # arb gives the pair its id
    it["level"] = 0


@nb.njit(cache=True, internal=True, nogil=True)
def _pair(view: Any, r: Any, b: int, s: int, want: float, intents: Any) -> float:
    # Buy on b and sell on s as much of ``want`` as both books show, on the pair's lot grid: its two legs
    # into intents[0:2] (limits at the deepest levels walked, moved by the slippage tolerance); returns what
    # the walks pay against the mids, bps (NaN: nothing to send).
    levels = r["book_levels"]
    qty = floor_to_grid(min(want, _shown(view, b, BUY, levels), _shown(view, s, SELL, levels)), r["pair_lot"])
    if not qty > 0.0:
        return np.nan
    buy_bps, buy_px = _walk(view, b, BUY, qty, levels)
    sell_bps, sell_px = _walk(view, s, SELL, qty, levels)
    slip = r["slippage_bps"] * 1e-4
    _leg(intents[0], b, BUY, floor_to_grid(buy_px * (1.0 + slip), r["tick_size"][b]), qty)
    _leg(intents[1], s, SELL, ceil_to_grid(sell_px * (1.0 - slip), r["tick_size"][s]), qty)
    return buy_bps + sell_bps


@nb.njit(cache=True, internal=True, nogil=True)
def _costs_bps(r: Any, p: Any, b: int, s: int) -> float:
    # What a carry long b, short s costs before its walk in: both taker fees in and out, the exit's allowance.
    return float(2.0 * (r["taker_fee"][b] + r["taker_fee"][s]) * 1e4 + p["exit_cost_bps"])


@nb.njit(cache=True, internal=True, nogil=True)
def _held(view: Any, r: Any) -> tuple[int, int, float]:
    # The carry held: (its long venue, its short venue, its quantity on the pair's lot grid; 0: none).
    long = -1
    short = -1
    for v in range(view.shape[0]):
        if r["market"][v] != MARKET_LINEAR:
            continue
        if long < 0 or view[v]["position"] > view[long]["position"]:
            long = v
        if short < 0 or view[v]["position"] < view[short]["position"]:
            short = v
    if long < 0 or long == short:
        return long, short, 0.0
    qty = floor_to_grid(min(view[long]["position"], -view[short]["position"]), r["pair_lot"])
    return long, short, max(qty, 0.0)


@nb.njit(cache=True, nogil=True)
def may_act(view: Any, rules: Any, params: Any, now_ns: int) -> bool:
    """False only when :func:`decide` would certainly send nothing and change no memory: no carry is held
    and no pair of linear venues expects a differential that beats its fees and exit allowance by
    ``entry_bps`` (the walk in only adds to the costs). Reads no book."""
    r = rules[0]
    p = params[0]
    if _held(view, r)[2] > 0.0:
        return True
    horizon_ns = int(p["horizon_h"] * _HOUR_NS)
    n = view.shape[0]
    for b in range(n):
        for s in range(n):
            if b == s or r["market"][b] != MARKET_LINEAR or r["market"][s] != MARKET_LINEAR:
                continue
            if expected_bps(view, rules, b, s, now_ns, horizon_ns) - _costs_bps(r, p, b, s) >= p["entry_bps"]:
                return True
    return False


@nb.njit(cache=True, nogil=True)
def decide(view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    """The carry's decision (the seam's contract, :mod:`arb.strategy.seam`): the entry or exit pair into
    ``intents``; returns 2, or 0 for none (the module says when). ``params``: 1 record of
    :class:`CarryParams`; ``memory``: 1 record of :data:`CARRY_MEMORY`, updated in place."""
    r = rules[0]
    p = params[0]
    m = memory[0]
    horizon_ns = int(p["horizon_h"] * _HOUR_NS)
    long, short, held = _held(view, r)
    if held > 0.0:
        m["long_venue"] = long
        m["short_venue"] = short
        m["held"] = held
        turned = expected_bps(view, rules, long, short, now_ns, horizon_ns) < p["exit_bps"]
        if not (turned or now_ns - m["entry_ns"] >= int(p["max_hold_h"] * _HOUR_NS)):
            return 0
        if not (takes_orders(view, long, now_ns) and takes_orders(view, short, now_ns)):
            return 0  # the exit waits for both venues
        if np.isnan(_pair(view, r, short, long, min(held, r["max_order_size"]), intents)):
            return 0
        m["exits"] += 1
        return 2
    best = np.nan
    best_b = -1
    best_s = -1
    want = min(p["size"], r["max_order_size"], r["max_position_size"])
    n = view.shape[0]
    for b in range(n):
        for s in range(n):
            if b == s or r["market"][b] != MARKET_LINEAR or r["market"][s] != MARKET_LINEAR:
                continue
            if not (takes_orders(view, b, now_ns) and takes_orders(view, s, now_ns)):
                continue
            walked = _pair(view, r, b, s, want, intents)
            edge = expected_bps(view, rules, b, s, now_ns, horizon_ns) - _costs_bps(r, p, b, s) - walked
            if edge >= p["entry_bps"] and not edge <= best:  # NaN (no depth) fails the first test
                best = edge
                best_b = b
                best_s = s
    if best_b < 0:
        return 0
    _pair(view, r, best_b, best_s, want, intents)
    m["entry_ns"] = now_ns
    m["long_venue"] = best_b
    m["short_venue"] = best_s
    m["held"] = intents[0]["qty"]
    m["entries"] += 1
    return 2


FundingCarry = Strategy(
    name="funding_carry",
    decide=decide,
    params=CarryParams,
    memory=CARRY_MEMORY,
    may_act=may_act,
    summary="short the perpetual whose funding the shorts receive, long the other, while the differential pays",
    origin="arb.strategies.funding_carry",
)
"""The funding carry, as ``[strategy] kernel = "arb.strategies.funding_carry:FundingCarry"`` selects it."""
