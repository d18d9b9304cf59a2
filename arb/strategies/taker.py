"""The spread-arbitrage kernel: the built-in ``taker`` strategy (the rules that close a lone leg are the
guard's, :mod:`arb.strategy.legs`). Compiled functions, no loop, no clock, no I/O.

``decide(view, rules, params, memory, now_ns, intents)`` (the seam's contract, :mod:`arb.strategy.seam`)
looks at every venue of the run once and writes the pair it wants opened into ``intents``; it returns how
many legs. arb's guard (:func:`arb.strategy.guard.guarded_decide`) calls it, in the backtest's Numba loop
and after each batch of the live driver alike, so a decision can be replayed anywhere. A venue is its
number in the view (its place in ``[strategy] venues``, two to ``MAX_VENUES``); a direction is an ordered
pair of them, buy on one and sell on the other, so N venues give N(N-1) directions.

What arb's guard does before calling it (rules every strategy obeys, :mod:`arb.strategy.guard`):

1. **Wait** while any order is unanswered (``view.open_orders``): a decision made on positions that
   are about to change is a decision made twice.
2. **Never leave a naked leg** (:func:`arb.strategy.legs.hedge`, the guard's, beside its other helpers). If
   the venues' positions do not cancel out (one leg of a pair filled alone, or filled less), it sends one
   immediate-or-cancel order that restores a flat net position:
   ``hedge`` mode completes the pair on the best-priced venue (net of its taker fee) other than the one
   whose leg filled, ``unwind`` mode reverses the leg where it filled; a venue that cannot take it now
   (stale, out of sync, held back by the executor after a rate limit or a ban:
   ``view.blocked_until_ns``, no balance for the side) is passed over for the next (the other venues,
   best price first, then the other mode's venue). A retry on a venue waits for a fresher book there
   than the one the last attempt was priced on (the level it saw may be gone, taken by our own fill),
   so a transient cannot spend every attempt on one view. Each retry allows more slippage
   (``slippage_bps`` x attempts, capped at ``stop_loss_bps``); past ``max_hedge_attempts`` it raises
   ``HEDGE_FAILED`` in ``state.flags`` and keeps trying, alternating which group of venues goes first
   (the preferred one has failed that often), at most once per ``hedge_retry_ns``: a venue that refuses
   every order is not hammered. Once flat again it opens no new pair while ``HEDGE_FAILED`` is set (a
   fresh state clears it: ``arb live`` keeps it as the journal's halt until a person clears it).

What the taker itself decides:

3. **Open a pair** when the cooldown has passed: for each direction whose two venues can take orders
   (synced, fresh, not held back), walk both books level by level while the marginal spread, net of
   both venues' taker fees and the slippage tolerance, is at least ``min_spread_bps``; take at each step
   the quantity both levels show, on every venue's lot grid (a multiple of the pair's lot,
   ``pair_lot``: the least common multiple of the run's lots, so whichever venue later hedges a leg
   takes it whole) and above both venues' minimum quantity and notional; stop at the caps:
   ``max_order_size``, the per-venue position band ``max_position_size``, and on a spot venue the base
   it holds (to sell) and the quote it holds (to buy, fees included). The direction with the largest
   expected profit wins. Each book level used becomes one intent whose limit price is the level's price
   moved by the slippage tolerance (on the tick grid, never past the tolerance), so no order can take
   more than that level showed.
4. **Lean back to balance.** With ``I = position(buy venue) - position(sell venue)`` of a direction, a
   pair that would grow ``|I|`` past ``rebalance_threshold`` is not opened (a pair is cut at the
   threshold); a pair that shrinks ``|I|`` while it is at or beyond the threshold only has to break even
   after fees and slippage. A threshold of 0 turns the rule off (the per-venue bands still hold).
5. **Funding (perpetuals, off unless asked).** With ``funding_horizon_ns`` > 0 the spread a pair must
   clear includes the funding its legs would pay over that horizon if held: on each linear venue the
   venue's estimate of its coming rate (``view.funding_rate``: positive, longs pay shorts) at every
   funding time of the venue inside the horizon (``next_funding_ns``, then every
   ``view.funding_interval_ns``: the symbol's interval as the venue reports it, else the params'
   ``funding_interval_ns``), as a cost for the leg that would pay it and a gain for the one that
   would earn it. With ``close_before_funding_ns`` > 0, from that long before a funding time at
   which the held positions would pay, the inventory rule leans back: a pair that shrinks the
   imbalance (to flat at most) only has to lose less than the payment it avoids, and none that grows
   it is opened.
6. **Lean on inventory (off unless asked).** With ``inventory_skew_bps`` > 0 the spread each direction
   must clear moves with its two venues' inventory imbalance (:func:`inventory_imbalance`, the
   difference of their base holdings in full pairs): up by ``inventory_skew_bps`` per unit for a
   direction that buys where more is held already (it drains the short venue), down as much for the
   reverse, never below breaking even after fees and slippage (:func:`skewed_bps`). A decision that
   sends no pair while a direction's best levels cleared its spread and every cap but a spot balance
   allowed a pair counts in ``state.missed_for_balance``.

What is whose: the venues' fees, grids, minimums and markets, the slippage tolerance and the book depth
are arb's ``rules`` (what every strategy is told); the settings of rules 3 to 6 are the taker's own
parameters (:class:`TakerParams`, from the ``[strategy]`` keys of the same names:
:mod:`arb.strategy.builtin`).

Units: prices in quote currency, quantities in base units, ``*_bps`` basis points, ``*_ns`` int64 ns.
Inputs are the record arrays of :mod:`arb.strategy.types`; ``rules``, ``params`` and ``memory`` are
1-element arrays.
"""

from __future__ import annotations

__all__ = [
    "BUILTIN_MEMORY",
    "TAKER",
    "TakerParams",
    "decide",
    "inventory_imbalance",
    "may_act",
    "skewed_bps",
]

from typing import Any

import msgspec
import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb._alloc import zeros
from arb.strategy import (
    BUY,
    GRID_EPS,
    INTENT_OPEN,
    MARKET_SPOT,
    MAX_LEVELS,
    SELL,
    Strategy,
    ceil_to_grid,
    floor_to_grid,
    takes_orders,
)

BUILTIN_MEMORY = np.dtype([("missed_for_balance", "i8")], align=True)
"""The built-in strategies' memory: decisions that sent no pair only because a spot balance was short."""


class TakerParams(msgspec.Struct, frozen=True):
    """The taker's own parameters (one record per symbol; ``params`` of :func:`decide`). A run fills them
    from ``[strategy]``'s keys of the same names (the ``_ms``, ``_s`` and ``_h`` keys as ns); the defaults
    are ``config/arbitrage.toml``'s."""

    min_spread_bps: float = 5.0
    """The net edge a pair must clear after both taker fees and the slippage tolerance, bps (rule 3)."""
    max_order_size: float = 0.001
    """The largest pair, base units."""
    max_position_size: float = 0.01
    """The largest position on one venue, either side, base units."""
    rebalance_threshold: float = 0.005
    """The two venues' imbalance at which pairs lean back to balance, base units (rule 4; 0: off)."""
    funding_horizon_ns: int = 0
    """Weigh the funding a pair would pay over this long (rule 5; 0: off)."""
    close_before_funding_ns: int = 0
    """Lean back to balance this long before a funding the positions would pay (rule 5; 0: off)."""
    inventory_skew_bps: float = 0.0
    """The spread a direction must clear moves this much per pair of inventory imbalance (rule 6; 0: off)."""


@nb.njit(cache=True, nogil=True, twin=True)
def _min_step_qty(r: Any, b: int, s: int, price: float) -> float:
    # Smallest quantity both venues accept at about this price (minimum size and notional).
    need: float = max(r["min_qty"][b], r["min_qty"][s])
    notional: float = max(r["min_notional"][b], r["min_notional"][s])
    if price > 0.0 and notional / price > need:
        need = notional / price
    return need


@nb.njit(cache=True, nogil=True, twin=True)
def _walk(
    view: Any,
    r: Any,
    b: int,
    s: int,
    required_bps: float,
    cap: float,
    buy_take: Any,
    sell_take: Any,
) -> tuple[float, float]:
    """Size a pair buying on venue ``b`` and selling on ``s``; returns (quantity, expected profit).

    Fills ``buy_take[i]`` / ``sell_take[j]`` with the quantity taken from each level.
    """
    levels = r["book_levels"]
    fee_b = r["taker_fee"][b]
    fee_s = r["taker_fee"][s]
    fee_bps = (fee_b + fee_s) * 1e4
    lot = r["pair_lot"]  # every step a quantity every venue takes as it is, never rounded by one of them
    spot_buy = r["market"][b] == MARKET_SPOT
    quote_left = view[b]["quote_balance"]
    for k in range(levels):
        buy_take[k] = 0.0
        sell_take[k] = 0.0
    i = 0
    j = 0
    rem_ask = view[b]["ask_qty"][0]
    rem_bid = view[s]["bid_qty"][0]
    total = 0.0
    profit = 0.0
    while i < levels and j < levels and total < cap:
        ask = view[b]["ask_px"][i]
        bid = view[s]["bid_px"][j]
        if not (ask > 0.0 and bid > 0.0 and rem_ask > 0.0 and rem_bid > 0.0):
            break
        edge_bps = (bid - ask) / ask * 1e4 - fee_bps - r["slippage_bps"]
        if edge_bps < required_bps:
            break
        q = min(rem_ask, rem_bid, cap - total)
        if spot_buy:
            affordable = quote_left / (ask * (1.0 + r["slippage_bps"] * 1e-4) * (1.0 + fee_b))
            q = min(q, affordable)
        q = floor_to_grid(q, lot)
        if q <= 0.0 or q + GRID_EPS * lot < _min_step_qty(r, b, s, ask):
            break
        buy_take[i] += q
        sell_take[j] += q
        total += q
        profit += q * (bid * (1.0 - fee_s) - ask * (1.0 + fee_b))
        quote_left -= q * ask * (1.0 + r["slippage_bps"] * 1e-4) * (1.0 + fee_b)
        rem_ask -= q
        rem_bid -= q
        if rem_ask <= GRID_EPS * lot:
            i += 1
            if i < levels:
                rem_ask = view[b]["ask_qty"][i]
        if rem_bid <= GRID_EPS * lot:
            j += 1
            if j < levels:
                rem_bid = view[s]["bid_qty"][j]
    return total, profit


@nb.njit(cache=True, nogil=True, twin=True)
def _next_funding(view: Any, r: Any, v: int, now_ns: int) -> int:
    # Venue v's next funding time after now (0: a spot venue, or none known).
    nxt: int = view[v]["next_funding_ns"]
    if r["market"][v] == MARKET_SPOT or nxt <= 0:
        return 0
    if nxt <= now_ns:  # passed, and the venue has not said the next one yet: the schedule has
        interval = _funding_interval(view, r, v)
        nxt += ((now_ns - nxt) // interval + 1) * interval
    return nxt


@nb.njit(cache=True, internal=True, nogil=True)
def _funding_interval(view: Any, r: Any, v: int) -> int:
    # Venue v's funding interval for this symbol: the view's (the venue's report, or the rollovers'),
    # else the configured one.
    interval: int = view[v]["funding_interval_ns"]
    return interval if interval > 0 else int(r["funding_interval_ns"][v])


@nb.njit(cache=True, internal=True, nogil=True)
def _fundings_within(view: Any, r: Any, v: int, now_ns: int, horizon: int) -> int:
    # How many of venue v's funding times fall in (now, now + horizon].
    nxt = _next_funding(view, r, v, now_ns)
    if nxt <= 0 or nxt > now_ns + horizon:
        return 0
    return int(1 + (now_ns + horizon - nxt) // _funding_interval(view, r, v))


@nb.njit(cache=True, internal=True, nogil=True)
def _funding_bps(view: Any, r: Any, b: int, s: int, now_ns: int, horizon: int) -> float:
    # What a unit bought on b and sold on s pays in funding over the horizon, bps of its price (> 0:
    # pays, < 0: earns): the long leg pays the rate at each of its venue's funding times, the short
    # leg earns its venue's.
    if horizon <= 0:
        return 0.0
    paid = view[b]["funding_rate"] * _fundings_within(view, r, b, now_ns, horizon)
    earned = view[s]["funding_rate"] * _fundings_within(view, r, s, now_ns, horizon)
    return float((paid - earned) * 1e4)


@nb.njit(cache=True, internal=True, nogil=True)
def _band_cap(view: Any, p: Any, b: int, s: int) -> float:
    # Largest pair size allowed by the order size and the per-venue bands (the balances aside).
    cap: float = p["max_order_size"]
    cap = min(cap, p["max_position_size"] - view[b]["position"])
    cap = min(cap, p["max_position_size"] + view[s]["position"])
    return cap


@nb.njit(cache=True, nogil=True, twin=True)
def _pair_cap(view: Any, r: Any, p: Any, b: int, s: int) -> float:
    # Largest pair size allowed by the order size, the per-venue bands (``p``: the params) and spot holdings.
    cap = _band_cap(view, p, b, s)
    if r["market"][s] == MARKET_SPOT:
        cap = min(cap, view[s]["base_balance"])
    return max(cap, 0.0)


@nb.njit(cache=True, internal=True, nogil=True)
def _short_of_balance(view: Any, r: Any, b: int, s: int, required: float, cap: float) -> bool:
    # Whether a pair buying on b and selling on s was left out for want of balance alone: the best
    # levels clear ``required`` for the least quantity both venues take, the order size, the bands and
    # the rules (``cap``) allow it, the levels show it, but a spot venue lacks the base to sell it or
    # the quote to buy it.
    ask = view[b]["ask_px"][0]
    bid = view[s]["bid_px"][0]
    if not (ask > 0.0 and bid > 0.0):
        return False
    fee_b = r["taker_fee"][b]
    if (bid - ask) / ask * 1e4 - (fee_b + r["taker_fee"][s]) * 1e4 - r["slippage_bps"] < required:
        return False
    lot = r["pair_lot"]
    need = ceil_to_grid(max(_min_step_qty(r, b, s, ask), lot), lot)
    if cap + GRID_EPS * lot < need or min(view[b]["ask_qty"][0], view[s]["bid_qty"][0]) + GRID_EPS * lot < need:
        return False
    if r["market"][s] == MARKET_SPOT and view[s]["base_balance"] + GRID_EPS * lot < need:
        return True
    cost = need * ask * (1.0 + r["slippage_bps"] * 1e-4) * (1.0 + fee_b)
    return bool(r["market"][b] == MARKET_SPOT and view[b]["quote_balance"] < cost)


@nb.njit(cache=True, nogil=True, twin=True)
def inventory_imbalance(view: Any, p: Any, b: int, s: int) -> float:
    """The inventory imbalance of venues ``b`` and ``s``: ``(base_b - base_s) / (2 x max_order_size)``,
    the difference of their base holdings (``base_balance``: on spot the coins held, on a linear venue the
    position) in full pairs (a pair of ``max_order_size`` bought on one and sold on the other moves it by
    1). 0: even; > 0: ``b`` holds more."""
    return float((view[b]["base_balance"] - view[s]["base_balance"]) / (2.0 * p["max_order_size"]))


@nb.njit(cache=True, nogil=True, twin=True)
def skewed_bps(view: Any, p: Any, b: int, s: int, required: float) -> float:
    """The spread a pair buying on venue ``b`` and selling on ``s`` must clear with the inventory skew:
    ``required`` plus ``inventory_skew_bps`` x the two venues' imbalance (:func:`inventory_imbalance`): up
    for a pair that grows it (buying where more is held already), down for one that shrinks it, never
    below breaking even after both fees and the slippage tolerance (0), nor below ``required`` itself
    when that is below 0. ``inventory_skew_bps`` 0: ``required`` as it is."""
    skew = p["inventory_skew_bps"]
    if skew == 0.0:
        return required
    lean = skew * inventory_imbalance(view, p, b, s)
    moved = required + lean
    return float(max(moved, min(required, 0.0)))


@nb.njit(cache=True, internal=True, nogil=True)
def _close_gain_bps(view: Any, r: Any, p: Any, b: int, s: int, now_ns: int) -> float:
    # With close_before_funding: what a unit bought on b and sold on s saves of the funding payments
    # due within the window, bps of its price, when the held positions would pay there (else 0).
    window = p["close_before_funding_ns"]
    if window <= 0:
        return 0.0
    n = view.shape[0]
    due = zeros(n, np.float64)  # each venue's rate if its funding time is within the window
    for v in range(n):
        nxt = _next_funding(view, r, v, now_ns)
        if nxt > 0 and nxt <= now_ns + window:
            due[v] = view[v]["funding_rate"]
    payment = -view[0]["position"] * due[0]  # per unit of price
    for v in range(1, n):
        payment = payment - view[v]["position"] * due[v]
    if payment >= 0.0:
        return 0.0  # the positions earn (or nothing is due): hold them
    return float((due[s] - due[b]) * 1e4)


@nb.njit(cache=True, nogil=True, twin=True)
def _required_bps(view: Any, r: Any, p: Any, b: int, s: int, now_ns: int) -> tuple[float, float, bool]:
    # The spread a pair buying on b and selling on s must clear and its cap by the inventory rules
    # (-1.0: none); False when it may not be opened at all. The imbalance the rules weigh is the two
    # venues' (position_b - position_s), which the pair grows by twice its size.
    imbalance = view[b]["position"] - view[s]["position"]
    threshold = p["rebalance_threshold"]
    grows = imbalance >= 0.0
    required: float = p["min_spread_bps"]
    cap = -1.0
    if threshold <= 0.0:
        pass  # no rebalance rule
    elif abs(imbalance) >= threshold:
        if grows:
            return required, cap, False
        required = 0.0  # leaning back: breaking even after fees and slippage is enough
    elif grows:
        cap = (threshold - abs(imbalance)) / 2.0  # stop at the band's edge
    required = skewed_bps(view, p, b, s, required)
    if p["close_before_funding_ns"] > 0:
        gain = _close_gain_bps(view, r, p, b, s, now_ns)
        if gain > 0.0 and not grows:  # closing avoids part of a payment: lose less than it saves
            required = min(required, -gain)
            cap = abs(imbalance) / 2.0 if cap < 0.0 else min(cap, abs(imbalance) / 2.0)
        elif gain < 0.0:
            return required, cap, False  # it would add to a payment about to be made
    if p["funding_horizon_ns"] > 0:
        required += _funding_bps(view, r, b, s, now_ns, p["funding_horizon_ns"])
    return required, cap, True


@nb.njit(cache=True, nogil=True, twin=True, by_address=True)
def may_act(view: Any, rules: Any, params: Any, now_ns: int) -> bool:
    """The taker's ``may_act``: False only when :func:`decide` would certainly return 0 without changing
    its memory, arb's guard having found no order unanswered and the net flat.

    Reads the best level of each book only, so a driver can skip filling deeper levels on the vast
    majority of book updates: no direction's best ask/bid pair (buy on one venue, sell on another) clears
    both taker fees and the slippage tolerance (the least any pair must clear, even when leaning back to
    balance), the funding term included where it is on.
    """
    r = rules[0]
    p = params[0]
    funding = p["funding_horizon_ns"] > 0 or p["close_before_funding_ns"] > 0
    n = view.shape[0]
    for b in range(n):
        for s in range(n):
            if s == b:
                continue
            cost_bps = (r["taker_fee"][b] + r["taker_fee"][s]) * 1e4 + r["slippage_bps"]
            floor_bps = min(p["min_spread_bps"], 0.0)
            if funding:
                required, _, ok = _required_bps(view, r, p, b, s, now_ns)
                if not ok:
                    continue
                floor_bps = min(floor_bps, required)
            ask = view[b]["ask_px"][0]
            bid = view[s]["bid_px"][0]
            if ask > 0.0 and bid > 0.0 and (bid - ask) / ask * 1e4 - cost_bps >= floor_bps:
                return True
    return False


@nb.njit(cache=True, nogil=True, twin=True, by_address=True)
def decide(view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    """The taker's decision: the best pair to open now, its legs written into ``intents``; returns their
    number (0: none). Called by arb's guard (:func:`arb.strategy.guard.guarded_decide`) only when nothing
    is unanswered, the net is flat, no hedge has failed and the cooldown has passed.

    ``view``: one ``VIEW_DTYPE`` record per venue of the run (index = the venue's number, two to
    ``MAX_VENUES``). ``rules``: the 1-record ``RULES_DTYPE`` array of arb's rules; ``params``: 1 record
    of :class:`TakerParams`. ``memory``: 1 record of ``BUILTIN_MEMORY`` (its
    ``missed_for_balance``). ``now_ns``: the driver's clock (local time, ns). ``intents``: ``INTENT_DTYPE``
    buffer of at least ``MAX_INTENTS``.

    Every ordered pair of venues is a direction (buy on one, sell on the other): each is walked, and
    the one with the larger expected profit is taken (the first found on a tie: the lower buy venue,
    then the lower sell venue).
    """
    r = rules[0]
    p = params[0]
    buy_take = zeros(MAX_LEVELS, np.float64)  # the best direction's takes per level
    sell_take = zeros(MAX_LEVELS, np.float64)
    buy_try = zeros(MAX_LEVELS, np.float64)  # the direction being walked
    sell_try = zeros(MAX_LEVELS, np.float64)
    best_qty = 0.0
    best_profit = 0.0
    best_b = -1
    best_s = -1
    short = False  # a direction was left out for want of balance alone
    n_venues = view.shape[0]
    for b in range(n_venues):
        if not takes_orders(view, b, now_ns):
            continue
        for s in range(n_venues):
            if s == b or not takes_orders(view, s, now_ns):
                continue
            required, rule_cap, ok = _required_bps(view, r, p, b, s, now_ns)
            if not ok:
                continue
            cap = _pair_cap(view, r, p, b, s)
            if rule_cap >= 0.0:
                cap = min(cap, rule_cap)
            qty, profit = _walk(view, r, b, s, required, cap, buy_try, sell_try)
            if qty > 0.0 and (best_b < 0 or profit > best_profit):
                best_b = b
                best_s = s
                best_qty = qty
                best_profit = profit
                buy_take, buy_try = buy_try, buy_take  # keep this walk's takes; walk the next in the other
                sell_take, sell_try = sell_try, sell_take
            elif qty <= 0.0 and not short:
                band = _band_cap(view, p, b, s)
                short = _short_of_balance(view, r, b, s, required, band if rule_cap < 0.0 else min(band, rule_cap))
    if best_b < 0 or best_qty <= 0.0:
        if short:
            memory[0]["missed_for_balance"] += 1
        return 0

    b = best_b
    s = best_s
    slip = r["slippage_bps"] * 1e-4
    n = 0
    for k in range(r["book_levels"]):
        if buy_take[k] > 0.0:
            intents[n]["venue"] = b
            intents[n]["side"] = BUY
            intents[n]["price"] = floor_to_grid(view[b]["ask_px"][k] * (1.0 + slip), r["tick_size"][b])
            intents[n]["qty"] = buy_take[k]
            intents[n]["kind"] = INTENT_OPEN
            intents[n]["pair_id"] = 0  # arb gives the pair its id
            intents[n]["level"] = k
            n += 1
    for k in range(r["book_levels"]):
        if sell_take[k] > 0.0:
            intents[n]["venue"] = s
            intents[n]["side"] = SELL
            intents[n]["price"] = ceil_to_grid(view[s]["bid_px"][k] * (1.0 - slip), r["tick_size"][s])
            intents[n]["qty"] = sell_take[k]
            intents[n]["kind"] = INTENT_OPEN
            intents[n]["pair_id"] = 0  # arb gives the pair its id
            intents[n]["level"] = k
            n += 1
    return n


TAKER = Strategy(
    name="taker",
    decide=decide,
    params=TakerParams,
    memory=BUILTIN_MEMORY,
    may_act=may_act,
    summary="both legs take: a pair of immediate-or-cancel orders when the books' spread clears the threshold",
    origin="arb",
)
"""The built-in ``taker`` (``[strategy] style = "taker"``, the default)."""
