"""The built-in ``maker_taker``: rest a post-only quote on one venue, hedge each of its fills on another at
once.

``decide_maker(view, rules, params, memory, now_ns, intents)`` is a strategy's ``decide`` (the seam's
contract, as :func:`arb.strategies.taker.decide`); its ``params`` are :class:`MakerTakerParams`, the taker's
own (its spread and inventory rules price every quote) and the quotes' settings. It declares that it quotes,
so the drivers keep quote slots and model resting orders for its symbols. What it does, in order:

1. **Wait** while an immediate-or-cancel order (a hedge, an unwind) is unanswered (``view.open_orders``,
   which does not count the resting quotes).
2. **Hedge every maker fill at once.** A quote that filled, in part or whole, leaves the net position
   off flat; the kernel's hedge rule (:func:`arb.strategies.taker.decide`'s rule 2: an IOC order for the
   net position, ``hedge`` mode on the best-priced other venue, ``unwind`` on the maker venue, more slippage at each
   retry, ``HEDGE_FAILED`` past ``max_hedge_attempts``) closes it. The quantity is the net position, so it
   comes only from fills the account has booked: a fill is hedged once, and a fill booked later is
   hedged when it is booked. The venue that filled is the one whose position moved since the net was
   last flat, and the hedge carries its quote's pair id. Once a hedge has failed (the net is still off
   flat after an attempt), every quote is cancelled: nothing may add to an exposure that cannot be
   closed. Quotes stay up while the first hedge is on its way.
3. **Quote.** For each side of each venue allowed to make (``maker_venues``), at most one post-only
   quote. A buy quote on venue ``m`` is priced from the bids of another venue ``h`` (where its fills
   would be sold; of the venues that can take orders, the one that allows the best quote): walking
   ``h``'s levels for the quote's size gives the worst price the hedge would get,
   ``hp``, and the quote is the highest price on ``m``'s tick grid at which buying there and selling at
   ``hp`` still clears the spread the kernel requires of a pair in that direction (``min_spread_bps``,
   the inventory and funding rules of the taker style) after ``m``'s maker fee (which may be negative),
   ``h``'s taker fee and the slippage tolerance. A sell quote mirrors it on ``h``'s asks. A quote never
   crosses ``m``'s own book (it would be refused as post-only): it is held one tick behind the touch.
   Its size is ``quote_size``, cut by what ``h``'s levels show, the position bands, spot balances
   (the quote's and the hedge's) and the inventory rule's cap; below both venues' minimums no quote is sent.
   Several venues may make, but not on the same side at once (a buy quote's hedge sells into another
   venue's bids, where that venue's own buy quote would rest): a side goes to the venue whose target
   sits nearer its own touch, and keeps it while that quote lives.
4. **Re-price, cancel.** A live quote is cancelled when its target moved by more than
   ``quote_tolerance_bps`` of its price (once it is ``min_quote_life_ns`` old), at once when it would
   cross its venue's book, when its venue or every hedge venue cannot take orders (stale, out of sync,
   held back by the executor) or no quote of its side is allowed any more (caps, balances, rules). A re-priced quote is
   sent again only once its cancel is answered, so a slot never has two orders that could both fill.
   A quote sent or cancelled and not yet answered holds its slot (``QUOTE_PENDING``,
   ``QUOTE_CANCELING``) and nothing else.
5. **Hold back after a refusal.** A quote the venue refused (``QUOTE_HELD``: a post-only order that would
   have taken, because the view it was priced on lagged the venue's book) is not sent again on that view:
   its side waits until the view shows a book the refused price would cross (the view has caught up
   with what refused it; the new quote then goes a tick behind that touch), or ``quote_hold_ns``
   (``[strategy] quote_hold_ms``, a second by default) has passed since the refusal. A book change alone
   is not enough: on a lagging feed, frames older than the refusal arrive after it, and each would let
   the same crossing quote go out again.

A fill is therefore hedged at a price up to ``quote_tolerance_bps`` less favourable than the quote's
target: set ``min_spread_bps`` with that in mind. Units as in the kernel: prices in quote currency,
quantities in base units, ``*_bps`` basis points, ``*_ns`` int64 ns.
"""

from __future__ import annotations

__all__ = ["MAKER_TAKER", "MakerTakerParams", "decide_maker", "hedge_price", "quote_target"]

from typing import Any

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb._alloc import zeros
from arb.strategies.taker import BUILTIN_MEMORY, TakerParams, _min_step_qty, _pair_cap, _required_bps
from arb.strategy import (
    BUY,
    GRID_EPS,
    INTENT_CANCEL,
    INTENT_QUOTE,
    MARKET_SPOT,
    QUOTE_HELD,
    QUOTE_LIVE,
    QUOTE_NONE,
    SELL,
    Strategy,
    ceil_to_grid,
    floor_to_grid,
    hold_over,
    takes_orders,
)


class MakerTakerParams(TakerParams, frozen=True):
    """The maker-taker's own parameters: the taker's (:class:`arb.strategies.taker.TakerParams`: the spread
    a quote must leave after its hedge, the caps, the inventory and funding rules) and the quotes'. A run
    fills them from ``[strategy]``'s keys of the same names (:mod:`arb.strategy.builtin`)."""

    quote_size: float = 0.0
    """A quote's quantity before the caps, base units (0: ``max_order_size``)."""
    quote_tolerance_bps: float = 1.0
    """A live quote is re-priced when its target moved further than this, bps of its price."""
    min_quote_life_ns: int = 100_000_000
    """No quote is re-priced before it is this old."""
    maker_venues: int = 1
    """The venues that may quote, bit ``v`` for venue ``v`` (``[strategy] maker_venues`` by name; 1: the first)."""


@nb.njit(cache=True, nogil=True)
def hedge_price(view: Any, r: Any, h: int, side: int, qty: float) -> tuple[float, float]:
    """What an immediate-or-cancel order of ``side`` on venue ``h`` for ``qty`` would reach on the view's
    levels: ``(worst level price, quantity the levels show up to qty)``; ``(nan, 0.0)`` on an empty side.

    A sell takes the bids best first, a buy the asks."""
    got = 0.0
    worst = np.nan
    for k in range(r["book_levels"]):
        px = view[h]["bid_px"][k] if side == SELL else view[h]["ask_px"][k]
        q = view[h]["bid_qty"][k] if side == SELL else view[h]["ask_qty"][k]
        if not (px > 0.0) or not (q > 0.0):
            break
        worst = px
        got += q
        if got + GRID_EPS * r["lot_size"][h] >= qty:
            return worst, qty
    return worst, got


@nb.njit(cache=True, nogil=True)
def quote_target(view: Any, r: Any, p: Any, m: int, side: int, now_ns: int) -> tuple[float, float]:
    """The quote of ``side`` on venue ``m`` the rules allow now: ``(price, quantity)``; quantity 0.0 when
    none may be sent (the price is then meaningless). Its fills would be hedged on the other venue that
    allows the best quote (the highest buy price, the lowest sell price; the lower venue number on a
    tie). See the module's rule 3."""
    best_px = np.nan
    best_qty = 0.0
    for h in range(view.shape[0]):
        if h == m or not takes_orders(view, h, now_ns):
            continue
        px, qty = _quote_against(view, r, p, m, h, side, now_ns)
        if qty > 0.0 and (best_qty <= 0.0 or (px > best_px if side == BUY else px < best_px)):
            best_px = px
            best_qty = qty
    return best_px, best_qty


@nb.njit(cache=True, internal=True, nogil=True)
def _quote_against(view: Any, r: Any, p: Any, m: int, h: int, side: int, now_ns: int) -> tuple[float, float]:
    # The quote of ``side`` on venue m whose fills would be hedged on venue h: (price, quantity);
    # quantity 0.0 when none may be sent.
    b = m if side == BUY else h  # the pair's buy and sell venues if the quote fills and is hedged
    s = h if side == BUY else m
    required, rule_cap, ok = _required_bps(view, r, p, b, s, now_ns)
    if not ok:
        return np.nan, 0.0
    size = p["quote_size"] if p["quote_size"] > 0.0 else p["max_order_size"]
    cap = min(size, _pair_cap(view, r, p, b, s))
    if rule_cap >= 0.0:
        cap = min(cap, rule_cap)
    hp, shown = hedge_price(view, r, h, -side, cap)
    if not (hp > 0.0):
        return np.nan, 0.0
    lot = r["pair_lot"]  # the quote and its hedge: one quantity every venue takes as it is
    qty = floor_to_grid(min(cap, shown), lot)
    cost = 1.0 + (required + (r["maker_fee"][m] + r["taker_fee"][h]) * 1e4 + r["slippage_bps"]) * 1e-4
    tick = r["tick_size"][m]
    if side == BUY:
        price = floor_to_grid(hp / cost, tick)
        ask = view[m]["ask_px"][0]
        if ask > 0.0 and price >= ask - GRID_EPS * tick:
            price = floor_to_grid(ask - tick, tick)
        if r["market"][m] == MARKET_SPOT and price > 0.0:
            qty = min(qty, floor_to_grid(view[m]["quote_balance"] / (price * (1.0 + max(r["maker_fee"][m], 0.0))), lot))
        if r["market"][h] == MARKET_SPOT:
            qty = min(qty, floor_to_grid(view[h]["base_balance"], lot))
    else:
        price = ceil_to_grid(hp * cost, tick)
        bid = view[m]["bid_px"][0]
        if bid > 0.0 and price <= bid + GRID_EPS * tick:
            price = ceil_to_grid(bid + tick, tick)
        if r["market"][m] == MARKET_SPOT:
            qty = min(qty, floor_to_grid(view[m]["base_balance"], lot))
        if r["market"][h] == MARKET_SPOT:
            qty = min(qty, floor_to_grid(view[h]["quote_balance"] / (hp * (1.0 + r["taker_fee"][h])), lot))
    if not (price > 0.0) or qty <= 0.0 or qty + GRID_EPS * lot < _min_step_qty(r, m, h, max(price, hp)):
        return np.nan, 0.0
    return price, qty


@nb.njit(cache=True, internal=True, nogil=True)
def _cancel(m: int, i: int, intents: Any, n: int) -> int:
    # Cancel the quote in slot (m, i) as intent n (arb fills in the quote's price, quantity and pair id);
    # the new count.
    it = intents[n]
    it["venue"] = m
    it["side"] = BUY if i == 0 else SELL
    it["price"] = 0.0
    it["qty"] = 0.0
    it["kind"] = INTENT_CANCEL
    it["pair_id"] = 0
    it["level"] = 0
    return n + 1


@nb.njit(cache=True, internal=True, nogil=True)
def _touch_distance(view: Any, m: int, side: int, price: float) -> float:
    # How far ``price`` sits behind venue m's touch on the quote's side, as a fraction (0: at the touch).
    touch = view[m]["bid_px"][0] if side == BUY else view[m]["ask_px"][0]
    if not (touch > 0.0):
        return np.inf
    return float(abs(touch - price) / touch)


@nb.njit(cache=True, nogil=True)
def decide_maker(view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    """The ``maker_taker`` style's decision: quotes and cancels written into ``intents``; returns their
    number. Called by arb's guard only when nothing is unanswered, the net is flat and no hedge has failed
    (the guard hedges every fill and cancels the quotes after a failed hedge). The arguments are
    :func:`arb.strategies.taker.decide`'s."""
    r = rules[0]
    p = params[0]
    n_venues = view.shape[0]
    n = 0
    for i in range(2):
        side = BUY if i == 0 else SELL
        # this side's targets on each venue allowed to make (quantity 0: none allowed)
        px = np.full(n_venues, np.nan)
        qty = zeros(n_venues, np.float64)
        for m in range(n_venues):
            if p["maker_venues"] & (1 << m) and takes_orders(view, m, now_ns):
                px[m], qty[m] = quote_target(view, r, p, m, side, now_ns)
        owner = -1  # the venue holding this side (a quote sent, live or being cancelled, or held back)
        for m in range(n_venues):
            held = view[m]["quote_state"][i] == QUOTE_HELD
            if held and hold_over(view, m, i, now_ns, r["quote_hold_ns"]):
                continue  # a refused quote's hold is over: the side is free there
            if view[m]["quote_state"][i] != QUOTE_NONE and (owner < 0 or not held):
                owner = m
        if owner >= 0:
            state_now = view[owner]["quote_state"][i]
            if state_now != QUOTE_LIVE:
                continue  # its answer comes first
            quoted = view[owner]["quote_px"][i]
            crosses = (side == BUY and quoted >= view[owner]["ask_px"][0]) or (
                side == SELL and quoted <= view[owner]["bid_px"][0]
            )
            old = now_ns - view[owner]["quote_ns"][i] >= p["min_quote_life_ns"]
            moved = abs(px[owner] - quoted) / quoted * 1e4 > p["quote_tolerance_bps"] + GRID_EPS
            if qty[owner] <= 0.0 or crosses or (old and moved):
                n = _cancel(owner, i, intents, n)
            continue
        m = -1
        for c in range(n_venues):
            if qty[c] > 0.0 and (
                m < 0 or _touch_distance(view, c, side, px[c]) < _touch_distance(view, m, side, px[m])
            ):
                m = c
        if m < 0:
            continue
        it = intents[n]
        it["venue"] = m
        it["side"] = side
        it["price"] = px[m]
        it["qty"] = qty[m]
        it["kind"] = INTENT_QUOTE
        it["pair_id"] = 0  # arb gives each quote its pair id
        it["level"] = 0
        n += 1
    return n


MAKER_TAKER = Strategy(
    name="maker_taker",
    decide=decide_maker,
    params=MakerTakerParams,
    memory=BUILTIN_MEMORY,
    quotes=True,
    summary="a post-only quote rests on one venue; each of its fills is hedged on another at once",
    origin="arb",
)
"""The built-in ``maker_taker`` (``[strategy] style = "maker_taker"``)."""
