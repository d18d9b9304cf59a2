"""What every strategy obeys, outside its code: arb's rules around a strategy's decision.

A strategy (:class:`arb.strategy.seam.Strategy`) only says what it would like sent. :func:`guarded_decide`
calls it, and around the call keeps the rules no strategy can get past (the risk gate comes after, in
:func:`arb.strategy.step.decide_symbol`, on every intent that is left):

1. **Nothing new while an order is open or unknown.** While any immediate-or-cancel order of the symbol
   is unanswered (``view.open_orders``: sent and not yet answered, unknown outcomes included), the
   strategy is not called.
2. **No naked leg.** When the venues' positions do not cancel out (a leg filled alone, or a quote
   filled), the strategy is not called: arb sends one immediate-or-cancel order that restores a flat net
   position (:func:`arb.strategy.legs.hedge`: ``hedge`` or ``unwind`` mode, more slippage at each retry,
   ``HEDGE_FAILED`` past ``max_hedge_attempts``), after cancelling every resting quote once a hedge has
   been tried. The venue that filled alone is the last pair's (its buy or sell venue) or, after quotes,
   the venue whose position moved since the net was last flat.
3. **The stop after a failed hedge.** Once ``HEDGE_FAILED`` is set (or the contract was broken), the
   strategy is not called again for the symbol: its resting quotes are cancelled and nothing new goes
   out until a person clears it.
4. **The cooldown.** No call within ``cooldown_ns`` of the last pair opened.
5. **The contract** (:func:`admit`): every intent the strategy writes is checked before anything of its
   decision is kept. A count out of range, a venue not of the run, a side that is not ``BUY``/``SELL``,
   a kind a strategy may not write (only ``INTENT_OPEN``, ``INTENT_QUOTE``, ``INTENT_CANCEL``), an open
   or quote whose price or quantity is not a positive finite number, open legs that are not a pair (one
   side only, or buys and sells of unequal quantity): the whole decision is dropped, ``CONTRACT_BROKEN``
   set with what broke (``state.broken*``), and the driver halts or fails naming the strategy.
6. **What the venues take** (:func:`admit`, dropped and counted in ``state.refused``, never sent): a pair
   with a leg on a venue that cannot take orders now (stale, out of sync, held back by the executor), a
   leg below the venue's minimum quantity or minimum value (``min_qty``, ``min_notional``: price x
   quantity at the price it is sent at), or legs past a spot venue's balances as the view shows them
   (its buys' quote at their limit prices, taker fee included, and its sells' base, the pair's legs on
   the venue together); a quote on such a venue, on a slot that is not free (a quote sent, live or being
   cancelled; a refused one still held) or a second one on the same slot, below the minimums or past the
   spot balance (a buy's quote with the maker fee, a sell's base); a cancel of a slot with no live
   quote. Prices go onto the venue's tick grid (a buy's down, a sell's up) and quantities onto its lot
   grid (down), when they are off it.
7. **Pair ids and slots are arb's.** The open legs of one decision are one pair, given the next pair id;
   each quote its own pair id, kept with its slot; a cancel carries its slot's quote (price, quantity,
   pair id) whatever the strategy wrote there.

Units as everywhere: ``_ns`` int64 nanoseconds, prices in quote currency, quantities in base units.
"""

from __future__ import annotations

__all__ = ["admit", "guarded_decide", "may_decide"]

from typing import Any

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb._alloc import zeros
from arb.strategy.calls import call_decide, call_may_act
from arb.strategy.legs import (
    GRID_EPS,
    ceil_to_grid,
    floor_to_grid,
    hedge,
    is_dust,
    net_position,
    takes_orders,
    unanswered,
)
from arb.strategy.state import Kernel
from arb.strategy.types import (
    BROKEN_COUNT,
    BROKEN_KIND,
    BROKEN_PAIR,
    BROKEN_PRICE,
    BROKEN_QTY,
    BROKEN_SIDE,
    BROKEN_VENUE,
    BUY,
    CONTRACT_BROKEN,
    HEDGE_FAILED,
    INTENT_CANCEL,
    INTENT_OPEN,
    INTENT_QUOTE,
    MARKET_SPOT,
    QUOTE_HELD,
    QUOTE_LIVE,
    QUOTE_NONE,
    SELL,
)


@nb.njit(cache=True, nogil=True, twin=True)
def _cancel(view: Any, st: Any, m: int, i: int, intents: Any, n: int) -> int:
    # Cancel the quote in slot (m, i) as intent n; the new count.
    it = intents[n]
    it["venue"] = m
    it["side"] = BUY if i == 0 else SELL
    it["price"] = view[m]["quote_px"][i]
    it["qty"] = view[m]["quote_qty"][i]
    it["kind"] = INTENT_CANCEL
    it["pair_id"] = st["quote_pair"][m, i]
    it["level"] = 0
    st["cancels"] += 1
    return n + 1


@nb.njit(cache=True, nogil=True, twin=True)
def _cancel_all(view: Any, st: Any, intents: Any, n: int) -> int:
    # Cancel every live quote (those sent or being cancelled wait for their answer first).
    for m in range(view.shape[0]):
        for i in range(2):
            if view[m]["quote_state"][i] == QUOTE_LIVE:
                n = _cancel(view, st, m, i, intents, n)
    return n


@nb.njit(cache=True, internal=True, nogil=True)
def _filled_venue(view: Any, st: Any, net: float) -> int:
    # The venue whose position moved furthest towards ``net`` since the net was last flat (-1: none).
    best = -1
    moved_best = 0.0
    for v in range(view.shape[0]):
        moved = (view[v]["position"] - st["flat_position"][v]) * (1.0 if net > 0.0 else -1.0)
        if moved > moved_best:
            best = v
            moved_best = moved
    return best


@nb.njit(cache=True, internal=True, nogil=True)
def hold_over(view: Any, m: int, i: int, now_ns: int, hold_ns: int) -> bool:
    """Whether the hold of quote slot (``m``, ``i``: 0 buy, 1 sell), whose quote was refused, is over: the
    view now shows a book the refused price would cross (it caught up with what refused the quote), or
    ``hold_ns`` passed since the refusal."""
    if now_ns - view[m]["quote_ns"][i] >= hold_ns:
        return True
    refused = view[m]["quote_px"][i]
    if i == 0:
        ask = view[m]["ask_px"][0]
        return bool(ask > 0.0 and refused >= ask)
    bid = view[m]["bid_px"][0]
    return bool(bid > 0.0 and refused <= bid)


@nb.njit(cache=True, internal=True, nogil=True)
def _broken(st: Any, code: int, now_ns: int, k: int, n: int, intents: Any) -> int:
    # The contract broke at intent k (-1: the count n): what and when, into the state; nothing is kept.
    st["flags"] = st["flags"] | CONTRACT_BROKEN
    st["broken"] = code
    st["broken_ns"] = now_ns
    st["broken_index"] = k
    st["broken_count"] = n
    if k >= 0:
        it = intents[k]
        st["broken_venue"] = it["venue"]
        st["broken_side"] = it["side"]
        st["broken_kind"] = it["kind"]
        st["broken_price"] = it["price"]
        st["broken_qty"] = it["qty"]
    return 0


@nb.njit(cache=True, internal=True, nogil=True)
def _on_grid(x: float, step: float) -> bool:
    # Whether x is a multiple of step (tolerating float noise).
    units = x / step
    return bool(abs(units - np.rint(units)) <= GRID_EPS)


@nb.njit(cache=True, internal=True, nogil=True)
def _to_tick(price: float, side: int, tick: float) -> float:
    # The price on the tick grid: a buy's down, a sell's up (unchanged when on it already).
    if tick <= 0.0 or _on_grid(price, tick):
        return price
    return floor_to_grid(price, tick) if side == BUY else ceil_to_grid(price, tick)


@nb.njit(cache=True, internal=True, nogil=True)
def _to_lot(qty: float, lot: float) -> float:
    # The quantity on the lot grid, down (unchanged when on it already).
    if lot <= 0.0 or _on_grid(qty, lot):
        return qty
    return floor_to_grid(qty, lot)


@nb.njit(cache=True, internal=True, nogil=True)
def _takes_size(p: Any, v: int, qty: float, price: float) -> bool:
    # Whether venue v takes an order of this quantity at this price at all: at or above its minimum
    # quantity and its minimum value (price x quantity, at the price the order is sent at).
    slack = GRID_EPS * p["lot_size"][v]
    return bool(qty > 0.0 and qty + slack >= p["min_qty"][v] and (qty + slack) * price >= p["min_notional"][v])


@nb.njit(cache=True, internal=True, nogil=True)
def _covers(view: Any, p: Any, v: int, quote: float, base: float) -> bool:
    # Whether venue v's balances, as the view shows them, cover orders spending ``quote`` (buys, fees
    # included) and ``base`` (sells): always on a linear venue (margin is the risk gate's).
    if p["market"][v] != MARKET_SPOT:
        return True
    return bool(view[v]["base_balance"] + GRID_EPS * p["lot_size"][v] >= base and view[v]["quote_balance"] >= quote)


@nb.njit(cache=True, internal=True, nogil=True)
def _contract(view: Any, p: Any, st: Any, intents: Any, n: int, now_ns: int) -> bool:
    # Every intent of the decision within the contract (else CONTRACT_BROKEN, and False).
    if n < 0 or n > intents.shape[0]:
        _broken(st, BROKEN_COUNT, now_ns, -1, n, intents)
        return False
    bought = 0.0
    sold = 0.0
    for k in range(n):
        it = intents[k]
        kind = it["kind"]
        code = 0
        if it["venue"] < 0 or it["venue"] >= view.shape[0]:
            code = BROKEN_VENUE
        elif it["side"] != BUY and it["side"] != SELL:
            code = BROKEN_SIDE
        elif kind == INTENT_OPEN or kind == INTENT_QUOTE:
            if not (np.isfinite(it["price"]) and it["price"] > 0.0):
                code = BROKEN_PRICE
            elif not (np.isfinite(it["qty"]) and it["qty"] > 0.0):
                code = BROKEN_QTY
            elif kind == INTENT_OPEN and it["side"] == BUY:
                bought += it["qty"]
            elif kind == INTENT_OPEN:
                sold += it["qty"]
        elif kind != INTENT_CANCEL:
            code = BROKEN_KIND
        if code != 0:
            _broken(st, code, now_ns, k, n, intents)
            return False
    if (bought > 0.0 or sold > 0.0) and (
        bought <= 0.0 or sold <= 0.0 or abs(bought - sold) > GRID_EPS * max(p["pair_lot"], 1e-12) + 1e-12 * bought
    ):
        first = 0
        while intents[first]["kind"] != INTENT_OPEN:
            first += 1
        _broken(st, BROKEN_PAIR, now_ns, first, n, intents)
        return False
    return True


@nb.njit(cache=True, internal=True, nogil=True)
def _pair_ok(view: Any, p: Any, intents: Any, n: int, now_ns: int) -> bool:
    # Whether every open leg's venue takes orders now, each leg, on its venue's grids, is at or above the
    # venue's minimum quantity and value, and a spot venue's balances cover its legs together (a buy's
    # quote at its limit price, taker fee included; a sell's base).
    quote = zeros(view.shape[0], np.float64)
    base = zeros(view.shape[0], np.float64)
    for k in range(n):
        it = intents[k]
        if it["kind"] != INTENT_OPEN:
            continue
        v = it["venue"]
        qty = _to_lot(it["qty"], p["lot_size"][v])
        price = _to_tick(it["price"], it["side"], p["tick_size"][v])
        if not takes_orders(view, v, now_ns) or not _takes_size(p, v, qty, price):
            return False
        if it["side"] == BUY:
            quote[v] += qty * price * (1.0 + p["taker_fee"][v])
        else:
            base[v] += qty
    for v in range(view.shape[0]):  # noqa: SIM110 - a generator in all() does not compile in nopython mode
        if not _covers(view, p, v, quote[v], base[v]):
            return False
    return True


@nb.njit(cache=True, internal=True, nogil=True)
def _slot_free(view: Any, p: Any, v: int, i: int, now_ns: int) -> bool:
    # Whether quote slot (v, i) may take a new quote: none there, or a refused one whose hold is over.
    state = view[v]["quote_state"][i]
    if state == QUOTE_NONE:
        return True
    return bool(state == QUOTE_HELD and hold_over(view, v, i, now_ns, p["quote_hold_ns"]))


@nb.njit(cache=True, internal=True, nogil=True)
def _move(intents: Any, to: int, k: int) -> None:
    # Intent k into place ``to`` (to < k), field by field.
    a = intents[to]
    b = intents[k]
    a["venue"] = b["venue"]
    a["side"] = b["side"]
    a["price"] = b["price"]
    a["qty"] = b["qty"]
    a["kind"] = b["kind"]
    a["pair_id"] = b["pair_id"]
    a["level"] = b["level"]


@nb.njit(cache=True, nogil=True, twin=True)
def admit(view: Any, p: Any, st: Any, intents: Any, n: int, now_ns: int) -> int:
    """The strategy's ``n`` intents in ``intents`` through the contract and what the venues take (rules 5
    to 7 of the module): the intents kept, compacted to the front of ``intents`` in the strategy's order,
    on the venues' grids and with arb's pair ids; returns how many. ``p``: the symbol's rules record,
    ``st`` its state record, both updated in place (pair ids, counters, the last pair)."""
    if not _contract(view, p, st, intents, n, now_ns):
        return 0
    has_pair = False
    for k in range(n):
        if intents[k]["kind"] == INTENT_OPEN:
            has_pair = True
    pair = has_pair and _pair_ok(view, p, intents, n, now_ns)
    pair_id = st["next_pair_id"]
    next_id = pair_id + 1 if pair else pair_id
    taken = zeros((view.shape[0], 2), np.bool_)  # quote slots given a quote or a cancel this decision
    out = 0
    for k in range(n):
        it = intents[k]
        v = it["venue"]
        i = 0 if it["side"] == BUY else 1
        kind = it["kind"]
        if kind == INTENT_OPEN:
            if not pair:
                st["refused"] += 1
                continue
            it["price"] = _to_tick(it["price"], it["side"], p["tick_size"][v])
            it["qty"] = _to_lot(it["qty"], p["lot_size"][v])
            it["pair_id"] = pair_id
        elif kind == INTENT_QUOTE:
            qty = _to_lot(it["qty"], p["lot_size"][v])
            price = _to_tick(it["price"], it["side"], p["tick_size"][v])
            free = not taken[v, i] and takes_orders(view, v, now_ns) and _slot_free(view, p, v, i, now_ns)
            buy = it["side"] == BUY
            cost = qty * price * (1.0 + max(p["maker_fee"][v], 0.0)) if buy else 0.0
            if not (free and _takes_size(p, v, qty, price) and _covers(view, p, v, cost, 0.0 if buy else qty)):
                st["refused"] += 1
                continue
            taken[v, i] = True
            it["price"] = price
            it["qty"] = qty
            it["pair_id"] = next_id
            st["quote_pair"][v, i] = next_id
            next_id += 1
            st["quotes"] += 1
            st["last_open_kind"] = INTENT_QUOTE
        else:  # INTENT_CANCEL
            if taken[v, i] or view[v]["quote_state"][i] != QUOTE_LIVE:
                st["refused"] += 1
                continue
            taken[v, i] = True
            it["price"] = view[v]["quote_px"][i]
            it["qty"] = view[v]["quote_qty"][i]
            it["pair_id"] = st["quote_pair"][v, i]
            st["cancels"] += 1
        if it["level"] < 0:
            it["level"] = 0
        if out != k:
            _move(intents, out, k)
        out += 1
    st["next_pair_id"] = next_id
    if pair:
        buy_venue = -1
        sell_venue = -1
        for k in range(out):
            it = intents[k]
            if it["kind"] == INTENT_OPEN and it["side"] == BUY and buy_venue < 0:
                buy_venue = it["venue"]
            if it["kind"] == INTENT_OPEN and it["side"] == SELL and sell_venue < 0:
                sell_venue = it["venue"]
        st["last_pair_id"] = pair_id
        st["last_pair_ns"] = now_ns
        st["last_buy_venue"] = buy_venue
        st["last_sell_venue"] = sell_venue
        st["pairs"] += 1
        st["hedge_attempts"] = 0
        st["last_open_kind"] = INTENT_OPEN
    return out


@nb.njit(cache=True, nogil=True, twin=True)
def may_decide(view: Any, kernel: Kernel, s: int, now_ns: int) -> bool:
    """False only when :func:`guarded_decide` would certainly send nothing for symbol ``s`` and change no
    state: no order unanswered, the net position flat (or dust), and the strategy's own ``may_act`` says
    no (a strategy without one: always True). Drivers call it at every book change to skip filling the
    deeper levels of the view. ``kernel`` as :func:`guarded_decide` takes it."""
    rules, strategy = kernel.rules, kernel.strategy  # once, as locals: one reference each for the call
    if unanswered(view):
        return True
    p1 = rules[s : s + 1]
    if not is_dust(view, p1[0], net_position(view)):
        return True
    addresses, params = strategy.addresses, strategy.params
    where: int = addresses[s, 1]
    if where == 0:
        return True
    answer: bool = call_may_act(where, view, p1, params[s : s + 1], now_ns)
    return answer


@nb.njit(cache=True, nogil=True, twin=True)
def guarded_decide(view: Any, kernel: Kernel, s: int, now_ns: int) -> int:
    """Symbol ``s``'s decision at ``now_ns``: arb's rules (the module's 1 to 4), the strategy's ``decide``
    when they allow it, its intents through :func:`admit`. Writes the intents into ``kernel``'s buffer of
    the symbol and returns how many (before the risk gate).

    ``kernel``: a :class:`~arb.strategy.state.Kernel`: the rules records (``RULES_DTYPE``, a row per
    symbol), arb's state records (``STATE_DTYPE``), the intents buffers (a row per symbol), and the
    strategy as :class:`arb.strategy.seam.Bound` makes it (a :class:`~arb.strategy.state.StrategyPart`):
    per symbol the addresses of its ``decide`` and ``may_act`` (0: none), its parameters record and its
    memory."""
    rules, state, intents, strategy = kernel.rules, kernel.state, kernel.intents, kernel.strategy  # as locals, once
    p1 = rules[s : s + 1]
    p = p1[0]
    st = state[s]
    buf = intents[s]
    if unanswered(view):
        return 0
    net = net_position(view)
    if not is_dust(view, p, net):
        if st["last_open_kind"] == INTENT_QUOTE:  # after quotes: the venue that filled is the one that moved
            filled = _filled_venue(view, st, net)
            if filled >= 0:
                i = 0 if net > 0.0 else 1
                st["last_pair_id"] = st["quote_pair"][filled, i]
                if net > 0.0:
                    st["last_buy_venue"] = filled
                    st["last_sell_venue"] = -1
                else:
                    st["last_sell_venue"] = filled
                    st["last_buy_venue"] = -1
        n = 0
        if st["hedge_attempts"] > 0:  # a hedge went out and the exposure is still there
            n = _cancel_all(view, st, buf, n)
        return n + hedge(view, p, st, net, buf[n:], now_ns)
    st["hedge_attempts"] = 0
    for v in range(view.shape[0]):
        st["flat_position"][v] = view[v]["position"]
    if st["flags"] & (HEDGE_FAILED | CONTRACT_BROKEN):  # a person looks first
        return _cancel_all(view, st, buf, 0)
    if now_ns - st["last_pair_ns"] < p["cooldown_ns"]:
        return 0
    addresses, params, memory = strategy.addresses, strategy.params, strategy.memory
    n = call_decide(addresses[s, 0], view, p1, params[s : s + 1], memory[s : s + 1], now_ns, buf)
    return admit(view, p, st, buf, n, now_ns)
