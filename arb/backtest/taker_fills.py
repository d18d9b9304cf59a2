"""The backtest's taker orders, filled by arb's own rule rather than by hftbacktest's exchange.

hftbacktest 2.4.4's no-partial-fill exchange fills an immediate-or-cancel order whole at the best price,
whatever the levels show (upstream #279), and its exchange side does not remember what our earlier
orders took: a level could be taken again at every decision, and a child order for level 2 filled at
the best price. Its partial-fill exchange sweeps levels but books a partly filled order's fills wrongly
on the local side (#299, #316), and it has no memory of our takes either. So the loop keeps its taker
orders itself, in a table of orders on their way (:data:`FLIGHT_DTYPE`), and fills each at its arrival
from hftbacktest's depth by the rule the paper venue fills by (:mod:`arb.execution.liquidity`): level
by level at each level's price, never more than a level shows net of what our orders took from it while
it showed that quantity. Resting quotes (the ``maker_taker`` style) still go to hftbacktest, whose
queue models fill them (:mod:`arb.backtest.hbt_quotes`).

The book an order meets is hftbacktest's depth at the order's arrival (local time: the book the feed
has delivered by then), as the paper venue's is; the venue's own book, ahead of it by the feed latency,
is not reachable through hftbacktest's bot interface.

Order latency is the venue's constant ``entry_ns`` / ``response_ns``, or, with ``[latency] order =
"measured"``, the measured rows interpolated as hftbacktest's ``IntpOrderLatency`` does
(:func:`arb.backtest.order_latency.replayed_round_trips` states it).
"""

from __future__ import annotations

__all__ = [
    "FLIGHT_DTYPE",
    "answer_orders",
    "arrive_orders",
    "forget_levels",
    "latencies",
    "next_due",
    "route_order",
    "send_order",
    "unknown_per_venue",
]

from typing import Any, Final

import numpy as np

from arb._alloc import zeros
from arb._jit import njit
from arb.backtest.hbt_abi import (
    bt_depth,
    depth_ask_qty_at_tick,
    depth_best_ask,
    depth_best_ask_tick,
    depth_best_bid,
    depth_best_bid_tick,
    depth_bid_qty_at_tick,
    depth_tick_size,
)
from arb.backtest.hbt_orders import C_EXPIRED, C_FILLS, C_NEXT_ORDER_ID, round_places
from arb.execution.leg_faults import FAULT_NONE, FAULT_REJECT, draw_fault
from arb.execution.liquidity import SWEEP_LEVELS, TAKEN_SLOTS, forget_changed, remembered, take_levels
from arb.strategy.state import Kernel
from arb.strategy.types import BUY

FLIGHT_DTYPE: Final = np.dtype(
    [
        ("order_id", "i8"),  # 0: a free slot
        ("asset", "i8"),  # n_venues * symbol + venue
        ("side", "i8"),
        ("price", "f8"),  # the limit
        ("qty", "f8"),  # what the venue may fill (a partial leg's drawn part)
        ("kind", "i8"),
        ("pair_id", "i8"),
        ("fault", "i8"),
        ("sent", "i8"),  # local time the kernel sent it
        ("arrive", "i8"),  # local time it reaches the venue
        ("answer", "i8"),  # local time its answer reaches us
        ("arrived", "i8"),  # 1: filled (or not) at the venue, its answer on its way
        ("filled", "f8"),
        ("cost", "f8"),  # the filled quantity's value at the levels' prices
        ("fill_price", "f8"),  # its level's price, or the average of a sweep
    ],
    align=True,
)
"""One taker order on its way: sent, reached the venue, answered."""

_NEVER: Final = np.iinfo(np.int64).max


@njit(cache=True, twin=True)
def latencies(run: Any, v: int, now: int) -> tuple[int, int]:
    """(entry, round trip) in ns of an order sent to venue ``v`` at ``now``: the venue's constants in
    ``settings``, or its measured rows (``run.measured``: ``(rows, offsets)``, rows ``(req, exch, resp)``)
    interpolated at the send time (entry) and at the arrival (response), the round trip rounded once."""
    settings, measured = run.settings, run.measured
    rows, off = measured
    lo, hi = off[v], off[v + 1]
    if hi <= lo:
        entry = settings[0]["entry_ns"][v]
        return entry, entry + settings[0]["response_ns"][v]
    base = rows[lo, 0]
    entry_f = _interp(float(now - base), rows[lo:hi, 0], rows[lo:hi, 1] - rows[lo:hi, 0], base)
    response_f = _interp(float(now - base) + entry_f, rows[lo:hi, 1], rows[lo:hi, 2] - rows[lo:hi, 1], base)
    return int(np.rint(entry_f)), int(np.rint(entry_f + response_f))  # np.round's value, nothing compiled for it


@njit(cache=True, internal=True)
def _interp(x: float, xs: Any, ys: Any, base: int) -> float:
    # np.interp of ys over xs (int64 times, offsets from ``base`` as floats) at x: the ends held
    lo = 0
    hi = xs.shape[0] - 1
    if x <= float(xs[lo] - base):
        return float(ys[lo])
    if x >= float(xs[hi] - base):
        return float(ys[hi])
    while hi - lo > 1:  # float(xs[lo] - base) < x < float(xs[hi] - base) holds
        mid = (lo + hi) // 2
        if float(xs[mid] - base) <= x:
            lo = mid
        else:
            hi = mid
    x0, x1 = float(xs[lo] - base), float(xs[hi] - base)
    if x1 <= x0:
        return float(ys[hi])
    return float(ys[lo]) + (float(ys[hi]) - float(ys[lo])) * (x - x0) / (x1 - x0)


@njit(cache=True, internal=True)
def route_order(now: int, s: int, k: int, kernel: Kernel, run: Any) -> tuple[int, int, float, int, int]:
    """Symbol ``s``'s intent ``k`` gets the next order id and draws its leg fault (as the paper executor
    does, from the seed and the order id): ``(order id, fault, quantity the venue may fill, arrival,
    answer)``, local ns. A late leg leaves ``late_ms`` later (its latencies those of that time); a
    rejected one reaches the venue and is refused there; a partial one may fill its drawn part."""
    rules, intents = kernel.rules, kernel.intents
    counters, leg_faults = run.counters, run.leg_faults
    it = intents[s][k]
    v = it["venue"]
    oid = counters[C_NEXT_ORDER_ID]
    counters[C_NEXT_ORDER_ID] = oid + 1
    qty = it["qty"]
    fault, fillable, delay = FAULT_NONE, qty, 0
    if leg_faults[0]["enabled"] != 0:
        fault, fillable, delay = draw_fault(leg_faults, v, it["kind"], oid, qty, rules[s]["lot_size"][v])
    leaves = now + delay
    entry, trip = latencies(run, v, leaves)
    return oid, fault, max(fillable, 0.0), leaves + entry, leaves + trip


@njit(cache=True, internal=True)
def send_order(flight: Any, now: int, oid: int, a: int, it: Any, qty: float, fault: int, times: Any) -> bool:
    """Put order ``oid`` of intent ``it`` (asset ``a``) on its way: the venue may fill ``qty``; ``times``
    = (arrival, answer), local ns. False when no slot is free."""
    for k in range(flight.shape[0]):
        f = flight[k]
        if f["order_id"] == 0:
            f["order_id"] = oid
            f["asset"] = a
            f["side"] = it["side"]
            f["price"] = it["price"]
            f["qty"] = qty
            f["kind"] = it["kind"]
            f["pair_id"] = it["pair_id"]
            f["fault"] = fault
            f["sent"] = now
            f["arrive"] = times[0]
            f["answer"] = times[1]
            f["arrived"] = 0
            f["filled"] = 0.0
            f["cost"] = 0.0
            return True
    return False


@njit(cache=True, internal=True)
def next_due(flight: Any) -> int:
    """When the next order reaches its venue or is answered (local ns); the largest int64 when none is out."""
    due = _NEVER
    for k in range(flight.shape[0]):
        f = flight[k]
        if f["order_id"] != 0:
            t = f["answer"] if f["arrived"] == 1 else f["arrive"]
            if t < due:
                due = t
    return due


@njit(cache=True, internal=True)
def unknown_per_venue(flight: Any, now: int, timeout: int, out: Any, n_venues: int) -> None:
    """Per venue (``out[v]``, of the run's ``n_venues``), the orders (every symbol's) still unanswered
    ``timeout`` or more after they were sent: what arb live calls unknown (its request timed out) until
    the answer comes."""
    out[:] = 0
    for k in range(flight.shape[0]):
        f = flight[k]
        if f["order_id"] != 0 and now - f["sent"] >= timeout:
            out[f["asset"] % n_venues] += 1


@njit(cache=True, twin=True)
def _levels(bt: int, a: int, side: int, limit: float, decimals: int, out: Any) -> float:
    # The levels a ``side`` order of asset a with limit ``limit`` may take, best first, into out (prices,
    # quantities; NaN and 0 past the last), from hftbacktest's depth now, at most SWEEP_LEVELS of them; the
    # prices rounded to the tick's decimals (the recorded prices); returns the tick size.
    px, qty = out
    depth = bt_depth(bt, a)
    tick = depth_tick_size(depth)
    n = 0
    asks = side == BUY
    best_px = depth_best_ask(depth) if asks else depth_best_bid(depth)
    if np.isfinite(best_px):
        best = depth_best_ask_tick(depth) if asks else depth_best_bid_tick(depth)
        last = np.int64(np.floor(limit / tick + 1e-9)) if asks else np.int64(np.ceil(limit / tick - 1e-9))
        t = best
        while n < SWEEP_LEVELS and ((asks and t <= last) or (not asks and t >= last)):
            q = depth_ask_qty_at_tick(depth, t) if asks else depth_bid_qty_at_tick(depth, t)
            if q > 0.0:
                px[n] = round_places(t * tick, decimals)
                qty[n] = q
                n += 1
            t += 1 if asks else -1
    for j in range(n, SWEEP_LEVELS):
        px[j] = np.nan
        qty[j] = 0.0
    return float(tick)


@njit(cache=True, internal=True)
def _first_due(flight: Any, now: int, arrived: int) -> int:
    # The slot of the first order due by ``now`` to arrive (``arrived`` 0: by time, then order id, the
    # paper venue's order) or to be answered (1: by time, asset, order id); -1 when none is
    k = -1
    for j in range(flight.shape[0]):
        f = flight[j]
        if f["order_id"] == 0 or f["arrived"] != arrived:
            continue
        t = f["answer"] if arrived == 1 else f["arrive"]
        if t > now:
            continue
        if k < 0:
            k = j
            continue
        g = flight[k]
        t_k = g["answer"] if arrived == 1 else g["arrive"]
        a, a_k = (f["asset"], g["asset"]) if arrived == 1 else (0, 0)
        if t < t_k or (t == t_k and (a < a_k or (a == a_k and f["order_id"] < g["order_id"]))):
            k = j
    return k


@njit(cache=True, internal=True)
def arrive_orders(bt: int, now: int, flight: Any, taken: Any, run: Any, lots: Any, scratch: Any) -> None:
    """Every order that reaches its venue by ``now``, in the order they were sent (order id), fills
    against hftbacktest's depth now by the shared rule (a rejected leg fills nothing). ``lots``: each
    asset's lot size; ``scratch``: two ``SWEEP_LEVELS`` float arrays."""
    decimals = run.price_decimals
    grid = zeros(2, np.float64)
    while True:
        k = _first_due(flight, now, 0)
        if k < 0:
            return
        f = flight[k]
        f["arrived"] = 1
        if f["fault"] == FAULT_REJECT:
            continue
        a = f["asset"]
        grid[0] = _levels(bt, a, f["side"], f["price"], decimals[a], scratch)
        grid[1] = lots[a]
        filled, cost, price = take_levels(taken, a, f["side"], scratch, f["price"], f["qty"], grid)
        f["filled"] = filled
        f["cost"] = cost
        f["fill_price"] = price


@njit(cache=True, internal=True)
def answer_orders(now: int, flight: Any, run: Any, own: Any, fills: Any, open_count: Any, answered: Any) -> int:
    """Every order answered by ``now``, by time, asset and order id: its fill (if any) as the next row of
    ``fills`` (at the average price, the taker fee on its value) and into ``own`` (``(position, cash)``
    per asset: what taker fills moved), the order off ``open_count``, its symbol marked in ``answered``.
    Returns bit 1 when an order was answered, bit 2 when one filled."""
    settings, counters = run.settings, run.counters
    own_pos, own_cash = own
    out = 0
    while True:
        k = _first_due(flight, now, 1)
        if k < 0:
            return out
        f = flight[k]
        a = f["asset"]
        out |= 1
        n_venues = settings[0]["n_venues"]
        if f["filled"] > 0.0:
            v = a % n_venues
            fee = f["cost"] * settings[0]["taker_fee"][v]
            n = counters[C_FILLS]
            row = fills[n]
            row["local_ts"] = f["answer"]
            row["exch_ts"] = f["arrive"]
            row["venue"] = v
            row["symbol"] = a // n_venues
            row["side"] = f["side"]
            row["price"] = f["fill_price"]
            row["qty"] = f["filled"]
            row["fee"] = fee
            row["pair_id"] = f["pair_id"]
            row["kind"] = f["kind"]
            row["order_id"] = f["order_id"]
            counters[C_FILLS] = n + 1
            own_pos[a] += f["side"] * f["filled"]
            own_cash[a] -= f["side"] * f["cost"] + fee
            out |= 2
        elif f["fault"] != FAULT_REJECT and f["qty"] > 0.0:
            counters[C_EXPIRED] += 1
        f["order_id"] = 0
        open_count[a] -= 1
        answered[a // n_venues] = 1


@njit(cache=True, internal=True)
def forget_levels(bt: int, a: int, taken: Any, ticks: Any, shown: Any) -> int:
    """Asset ``a``'s book changed: the levels our orders took from that now show another quantity, or
    none, are forgotten (:func:`arb.execution.liquidity.forget_changed`). ``ticks``, ``shown``: scratch
    ``(2, TAKEN_SLOTS)`` arrays. Returns how many of the asset's levels are still remembered (0: the
    next change has nothing to forget until an order takes again)."""
    if remembered(taken, a, ticks) == 0:
        return 0
    depth = bt_depth(bt, a)
    for s in range(2):
        for k in range(TAKEN_SLOTS):
            t = ticks[s, k]
            if t < 0:
                shown[s, k] = 0.0
            elif s == 0:
                shown[s, k] = depth_bid_qty_at_tick(depth, t)
            else:
                shown[s, k] = depth_ask_qty_at_tick(depth, t)
    forget_changed(taken, a, shown)
    return remembered(taken, a, ticks)
