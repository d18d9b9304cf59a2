"""The backtest: hftbacktest over both venues of every symbol (asset ``2 * s + v``: symbol ``s`` of
``[strategy] symbols`` on venue ``v``, 0 = Binance, 1 = Bybit), driving the kernel.

One ``HashMapMarketDepthBacktest`` replays both venues' converted recordings (per-venue tick and lot
sizes, taker fees, constant or recorded order latency, the recorded feed latency). A compiled loop
moves from one book update to the next (``elapse``), or from event to event while orders are
unanswered (``wait_next_feed`` with order responses), and at each one builds the kernel's view from
hftbacktest's depth, positions and balances, calls the *same* ``decide`` the live driver calls, puts
the intents through the risk gate and sends each as an IOC limit order. Every intent is one book
level, so hftbacktest's no-partial-fill exchange (which fills any taker quantity at the best price)
never fills more than the book showed at that level.

What it does not model: market impact beyond the levels (a level's quantity is taken as it was
shown, not consumed by our earlier child orders), queue position for resting orders (all orders are
IOC), transfers between venues, funding payments. See docs/backtest.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import signal
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from hftbacktest import ALL_ASSETS, BacktestAsset, HashMapMarketDepthBacktest

# hftbacktest's own entry points into its library, called as its jitclass methods call them (``hbt.depth(a)``,
# ``hbt.orders(a).get(id)``, ``hbt.state_values(a)`` wrap these in a jitclass object each, and compiling those
# wrappers was most of the loop's compile time: ~8 s of every run, since nothing that takes ``hbt`` is cached).
from hftbacktest.binding import (
    hashmapbt_depth,
    hashmapbt_orders,
    hashmapbt_position,
    hashmapbt_state_values,
    hashmapdepth_ask_qty_at_tick,
    hashmapdepth_best_ask,
    hashmapdepth_best_ask_tick,
    hashmapdepth_best_bid,
    hashmapdepth_best_bid_tick,
    hashmapdepth_bid_qty_at_tick,
    hashmapdepth_tick_size,
    orders_get,
)
from hftbacktest.intrinsic import address_as_void_pointer, is_null_ptr
from hftbacktest.order import CANCELED, EXPIRED, FILLED, IOC, LIMIT, order_dtype
from hftbacktest.types import state_values_dtype
from numba import typeof
from numba.np.numpy_support import carray

from arb._jit import njit, say_compiling
from arb.config import AppConfig, VenueConfig
from arb.events import NS_PER_S
from arb.execution.faults import FAULT_LATE, FAULT_NONE, FAULT_PARTIAL, FAULT_REJECT, draw_fault, make_leg_faults
from arb.execution.risk import (
    EVENTS_KEPT,
    RiskEvent,
    drain_events,
    event_text,
    limits_of,
    new_risk_state,
    new_symbol_risk_state,
    position_at,
    quote_currency,
    risk_figures,
    symbol_risk_figures,
    update_equity,
    value_px,
)
from arb.runtime.loader import Funding, Session, book_times, funding_of, load_session, plan_days, sync_transitions
from arb.runtime.marks import NS_PER_DAY, BoundaryMark, Spans, out_of_sync_spans
from arb.strategy.kernel import may_act
from arb.strategy.params import params_of
from arb.strategy.records import BACKTEST_RUN_DTYPE
from arb.strategy.step import decide_symbol
from arb.strategy.types import (
    BUY,
    DECISION_DTYPE,
    EQUITY_DTYPE,
    FILL_DTYPE,
    FUNDING_DTYPE,
    SENT_DTYPE,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
    new_intents,
    new_state,
    new_views,
)

__all__ = [
    "BacktestResult",
    "Loop",
    "Schedule",
    "Warming",
    "build_hbt",
    "decision_points",
    "run_backtest",
    "run_session",
    "warm_loop",
    "warm_loop_in_background",
]

log = logging.getLogger(__name__)

_MAX_PENDING = 128
_MAX_SCAN_TICKS = 2_000  # ticks walked from the best price when filling deeper levels
_EQUITY_INTERVAL_NS = NS_PER_S
_LOOP_COMPILE_S = 10.0
"""About how long compiling the backtest loop takes, s: every run (it takes hftbacktest's backtester, and
Numba caches no code that takes it), on the project's 2-core VM."""

# Loop counters (one int64 array so the compiled loop can report them).
C_DECISION_POINTS = 0
C_KERNEL_CALLS = 1
C_INTENTS = 2
C_ORDERS = 3
C_SUBMIT_ERRORS = 4
C_FILLS = 5
C_EQUITY = 6
C_EXPIRED = 7
C_CURSOR = 8
C_DONE = 9
C_NEXT_ORDER_ID = 10
C_NEXT_SAMPLE = 11
C_NEXT_PAIR_ID = 12  # the next pair id, shared by every symbol's kernel
C_CALLS = 13
C_SENT = 14
C_FUNDING = 15  # funding payments booked
N_COUNTERS = 16

_NEVER = np.iinfo(np.int64).max
_MAX_SAME_TIME = 10_000
_NO_PROGRESS = -1_000  # _run_loop's code when held orders keep being answered without time passing
_HELD_DTYPE = np.dtype(
    [
        ("due", "i8"),  # local time of the action
        ("order_id", "i8"),  # 0: a free slot
        ("asset", "i8"),  # 2 * symbol + venue
        ("side", "i8"),
        ("price", "f8"),
        ("qty", "f8"),
        ("kind", "i8"),
        ("pair_id", "i8"),
        ("submit", "i8"),  # 1: send it to hftbacktest at ``due`` (a late leg); 0: answer it, unfilled
        ("sent", "i8"),  # local time the kernel sent it
    ],
    align=True,
)
"""An order the leg-fault model keeps from hftbacktest: a late one until it is sent, a rejected one
(or a partial one whose part rounds to nothing) until its answer is due."""


@njit(cache=False)
def _fill_top(hbt: Any, views: Any, levels: int, scan: int, lo: int, hi: int, mask: Any) -> None:
    # Best ``levels`` price levels of the assets lo <= a < hi whose ``mask[a]`` is set (asset a is symbol
    # a // 2 on venue a % 2) from hftbacktest's depth, walking ticks from the best price at most ``scan``
    # ticks deep.
    for a in range(lo, hi):
        if mask[a] == 0:
            continue
        rec = views[a // 2][a % 2]
        depth = hashmapbt_depth(hbt.ptr, a)  # what hbt.depth(a) wraps
        tick = hashmapdepth_tick_size(depth)
        bid_t = hashmapdepth_best_bid_tick(depth)
        ask_t = hashmapdepth_best_ask_tick(depth)
        nb_ = 0
        na = 0
        if np.isfinite(hashmapdepth_best_bid(depth)):
            t = bid_t
            while nb_ < levels and bid_t - t <= scan:
                q = hashmapdepth_bid_qty_at_tick(depth, t)
                if q > 0.0:
                    rec["bid_px"][nb_] = t * tick
                    rec["bid_qty"][nb_] = q
                    nb_ += 1
                t -= 1
        if np.isfinite(hashmapdepth_best_ask(depth)):
            t = ask_t
            while na < levels and t - ask_t <= scan:
                q = hashmapdepth_ask_qty_at_tick(depth, t)
                if q > 0.0:
                    rec["ask_px"][na] = t * tick
                    rec["ask_qty"][na] = q
                    na += 1
                t += 1
        for k in range(nb_, levels):
            rec["bid_px"][k] = np.nan
            rec["bid_qty"][k] = 0.0
        for k in range(na, levels):
            rec["ask_px"][k] = np.nan
            rec["ask_qty"][k] = 0.0


@njit(cache=True)
def _status(
    now: int, a: int, book_ts: Any, book_off: Any, sync_ts: Any, sync_st: Any, sync_off: Any, stale_after: int
) -> tuple[int, int]:
    # (status, time of the last book update) of asset a at ``now``; each asset's times are the slice
    # of the concatenated arrays between its offsets.
    syncs = sync_ts[sync_off[a] : sync_off[a + 1]]
    i = np.searchsorted(syncs, now, side="right") - 1
    synced = i >= 0 and sync_st[sync_off[a] + i] == 1
    books = book_ts[book_off[a] : book_off[a + 1]]
    j = np.searchsorted(books, now, side="right") - 1
    last = books[j] if j >= 0 else 0
    if not synced:
        return VENUE_OUT_OF_SYNC, last
    if now - last > stale_after:
        return VENUE_STALE, last
    return VENUE_OK, last


@njit(cache=False)
def _submit(hbt: Any, a: int, oid: int, side: int, price: float, qty: float) -> int:
    # One IOC limit order to hftbacktest; its return code.
    if side == BUY:
        return int(hbt.submit_buy_order(a, oid, price, qty, IOC, LIMIT, False))
    return int(hbt.submit_sell_order(a, oid, price, qty, IOC, LIMIT, False))


@njit(cache=True)
def _track(orders: Any, a: int, oid: int, kind: int, pair: int, due: int, sent: int) -> bool:
    # Remember an order sent to hftbacktest in a free slot of asset a (``orders``: see _run_loop); False
    # when none is free.
    pending, pending_kind, pending_pair, pending_due, pending_sent = orders[:5]
    for slot in range(_MAX_PENDING):
        if pending[a, slot] == 0:
            pending[a, slot] = oid
            pending_kind[a, slot] = kind
            pending_pair[a, slot] = pair
            pending_due[a, slot] = due
            pending_sent[a, slot] = sent
            return True
    return False


@njit(cache=True)
def _count_unknown(pending: Any, pending_sent: Any, held: Any, now: int, timeout: int, out: Any) -> None:
    # Per venue, the orders (every symbol's) still unanswered ``timeout`` or more after they were sent:
    # what arb live calls unknown (its request timed out) until the answer comes.
    out[0] = 0
    out[1] = 0
    for a in range(pending.shape[0]):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0 and now - pending_sent[a, k] >= timeout:
                out[a % 2] += 1
    for k in range(held.shape[0]):
        if held[k]["order_id"] != 0 and now - held[k]["sent"] >= timeout:
            out[held[k]["asset"] % 2] += 1


@njit(cache=True)
def _hold(held: Any, due: int, oid: int, a: int, it: Any, submit: int, sent: int) -> bool:
    # Keep the order of intent ``it`` from hftbacktest until ``due`` (see _HELD_DTYPE); False when no slot
    # is free.
    for slot in range(held.shape[0]):
        h = held[slot]
        if h["order_id"] == 0:
            h["due"] = due
            h["order_id"] = oid
            h["asset"] = a
            h["side"] = it["side"]
            h["price"] = it["price"]
            h["qty"] = it["qty"]
            h["kind"] = it["kind"]
            h["pair_id"] = it["pair_id"]
            h["submit"] = submit
            h["sent"] = sent
            return True
    return False


# What _route decided for an intent.
_ROUTE_SUBMIT = 0  # send it to hftbacktest now
_ROUTE_HELD = 1  # kept in ``held`` (a late leg, or a rejected one answered later)
_ROUTE_FAILED = 2  # no free slot in ``held``


@njit(cache=True)
def _open_orders(pending: Any, held: Any, n_symbols: int) -> tuple[Any, Any, Any, Any, Any]:
    # Scratch arrays of a call of _run_loop: (cash and equity per symbol and venue, PnL per symbol,
    # open orders per asset, the assets that ticked), the open orders counting those sent to
    # hftbacktest and not yet answered plus those kept in ``held``.
    cash = np.zeros((n_symbols, 2))
    eq_venue = np.zeros((n_symbols, 2))
    pnl_sym = np.zeros(n_symbols)
    out = np.zeros(pending.shape[0], np.int64)
    for a in range(pending.shape[0]):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0:
                out[a] += 1
    for k in range(held.shape[0]):
        if held[k]["order_id"] != 0:
            out[held[k]["asset"]] += 1
    return cash, eq_venue, pnl_sym, out, np.zeros(pending.shape[0], np.int64)


@njit(cache=True)
def _outputs_full(fills: Any, equity: Any, calls: Any, sent: Any, intents: Any, rstate: Any, counters: Any) -> bool:
    # True when an output buffer may not take another step (the driver grows it and calls again).
    n_symbols = intents.shape[0]
    return bool(
        counters[C_FILLS] >= fills.shape[0] - 2 * _MAX_PENDING * n_symbols
        or counters[C_EQUITY] >= equity.shape[0] - 2 * n_symbols
        or counters[C_CALLS] >= calls.shape[0] - n_symbols
        or counters[C_SENT] >= sent.shape[0] - intents.size
        or rstate[0]["ev_count"] - rstate[0]["ev_drained"] >= EVENTS_KEPT - min(8 * n_symbols, EVENTS_KEPT // 2)
    )


@njit(cache=True)
def _next_dues(held: Any, pending: Any, pending_due: Any) -> tuple[int, int]:
    # (when the first held order is due, when hftbacktest answers the first order it has); _NEVER if none.
    held_due = _NEVER
    sent_due = _NEVER
    for k in range(held.shape[0]):
        if held[k]["order_id"] != 0 and held[k]["due"] < held_due:
            held_due = held[k]["due"]
    for a in range(pending.shape[0]):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0 and pending_due[a, k] < sent_due:
                sent_due = pending_due[a, k]
    return held_due, sent_due


@njit(cache=True)
def _owed(pending: Any, pending_due: Any, now: int) -> bool:
    # Does hftbacktest owe an answer at or before ``now``?
    owed = False
    for a in range(pending.shape[0]):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0 and pending_due[a, k] <= now:
                owed = True
    return owed


@njit(cache=True)
def _record_fill(fills: Any, run: Any, now: int, order: Any, orders: Any, a: int, k: int) -> None:
    # One fill from hftbacktest's answer to the order in asset a's slot k (``order``: its one order_dtype
    # record, what hftbacktest's Order reads; exec_price is Order.exec_price's product).
    settings, counters, price_decimals = run[0], run[1], run[5]
    pending, pending_kind, pending_pair = orders[:3]
    oid = pending[a, k]
    kind = pending_kind[a, k]
    pair = pending_pair[a, k]
    o = order[0]
    n = counters[C_FILLS]
    v = a % 2
    fills[n]["local_ts"] = now
    fills[n]["exch_ts"] = o.exch_timestamp
    fills[n]["venue"] = v
    fills[n]["symbol"] = a // 2
    fills[n]["side"] = o.side
    # the tick grid in decimal (exec_price_tick x tick_size has float noise)
    fills[n]["price"] = np.round(o.exec_price_tick * o.tick_size, price_decimals[a])
    fills[n]["qty"] = o.exec_qty
    rate = settings[0]["maker_fee"][v] if o.maker else settings[0]["taker_fee"][v]
    fills[n]["fee"] = fills[n]["price"] * o.exec_qty * rate
    fills[n]["pair_id"] = pair
    fills[n]["kind"] = kind
    fills[n]["order_id"] = oid
    counters[C_FILLS] = n + 1


@njit(cache=True)
def _observe(now: int, views: Any, run: Any, tape: Any, account: Any, orders: Any, risk: Any, outs: Any) -> None:
    # At a decision point, with the views' books and accounts current: every venue's status, equity,
    # the gate's trackers and unknown orders, the equity sample when due (a row per symbol, as the
    # live engine writes them). The tuples are _run_loop's.
    settings, counters, init_base, last_mid = run[0], run[1], run[3], run[4]
    book_ts, book_off, sync_ts, sync_st, sync_off = tape[2:]
    cash, eq_venue, pnl_sym, open_count, mark = account
    pending, pending_sent, held = orders[0], orders[4], orders[5]
    limits, rstate, srisk = risk
    equity = outs[1]
    cfg = settings[0]
    stale_after = cfg["stale_after_ns"]
    init_quote = cfg["init_quote"]
    n_symbols = views.shape[0]
    waiting = False
    for a in range(open_count.shape[0]):
        rec = views[a // 2][a % 2]
        rec["open_orders"] = open_count[a]
        st, last = _status(now, a, book_ts, book_off, sync_ts, sync_st, sync_off, stale_after)
        rec["status"] = st
        rec["book_local_ts"] = last
        if open_count[a] > 0:
            waiting = True
    trading = 0.0
    for s in range(n_symbols):
        view = views[s]
        for v in range(2):
            mid = 0.5 * (view[v]["bid_px"][0] + view[v]["ask_px"][0])
            if np.isfinite(mid):
                last_mid[s, v] = mid
            start = init_quote[v] if s == 0 else 0.0
            px = value_px(mark, last_mid, s, v)
            eq_venue[s, v] = start + cash[s, v] + (init_base[s, v] + view[v]["position"]) * px
        # drawdown is measured on trading PnL: the starting coins' price moves are not losses
        pnl = (cash[s, 0] + cash[s, 1] + view[0]["position"] * value_px(mark, last_mid, s, 0)
               + view[1]["position"] * value_px(mark, last_mid, s, 1))  # fmt: skip
        pnl_sym[s] = pnl
        trading = pnl if s == 0 else trading + pnl
    if waiting:
        _count_unknown(pending, pending_sent, held, now, cfg["request_timeout_ns"], rstate[0]["unknown"])
    else:
        rstate[0]["unknown"][:] = 0
    if np.isfinite(trading):
        update_equity(limits, rstate, srisk, trading, pnl_sym, views, now)
    final = counters[C_DONE] == 1 or now >= cfg["end_ns"]
    due = now >= counters[C_NEXT_SAMPLE] or final
    if not due:
        return
    for s in range(n_symbols):
        for v in range(2):
            if not np.isfinite(last_mid[s, v]):
                return
    m = counters[C_EQUITY]
    for s in range(n_symbols):
        row = equity[m + s]
        row["ts"] = now
        row["symbol"] = s
        row["equity"] = eq_venue[s, 0] + eq_venue[s, 1]
        for v in range(2):
            row["equity_venue"][v] = eq_venue[s, v]
            row["position"][v] = views[s][v]["position"]
            row["mid"][v] = last_mid[s, v]
            row["price"][v] = value_px(mark, last_mid, s, v)
        row["spread_bps"] = (last_mid[s, 1] - last_mid[s, 0]) / last_mid[s, 0] * 1e4
    counters[C_EQUITY] = m + n_symbols
    equity_interval = cfg["equity_interval_ns"]
    counters[C_NEXT_SAMPLE] = (now // equity_interval + 1) * equity_interval


@njit(cache=True)
def _perp_step(now: int, views: Any, run: Any, account: Any, perp: Any, outs: Any) -> None:
    # At a decision point, before anything is valued: each perpetual's mark price now, and the funding
    # settlements due by now booked (the live engine books one when its row arrives, before it decides
    # at that time): the position pays position x price x rate, the price the settlement's mark, else
    # the venue's last mark before it, else the book's last mid. The view gets the mark price and the
    # venue's estimate of the coming funding as they stood at ``now`` (what the kernel's funding term reads).
    fund_ts, fund_off, fund_time, fund_rate, fund_mark, cursor, mark_ts, mark_px, mark_off, mark, paid = perp[:11]
    est_ts, est_rate, est_next, est_off = perp[11:]
    settings, counters, last_mid = run[0], run[1], run[4]
    cash = account[0]
    fills, funding = outs[0], outs[4]
    init_quote = settings[0]["init_quote"]
    booked = False
    for a in range(cursor.shape[0]):
        s = a // 2
        v = a % 2
        lo, hi = fund_off[a], fund_off[a + 1]
        while lo + cursor[a] < hi and fund_ts[lo + cursor[a]] <= now:
            k = lo + cursor[a]
            cursor[a] += 1
            px = fund_mark[k]
            if not (px > 0.0):
                m0, m1 = mark_off[a], mark_off[a + 1]
                j = np.searchsorted(mark_ts[m0:m1], fund_ts[k], side="left") - 1
                px = mark_px[m0 + j] if j >= 0 else last_mid[s, v]
            # the position the venue held at its funding time (not fills it made after)
            position = position_at(fills, counters[C_FILLS], s, v, fund_time[k], views[s][v]["position"])
            payment = -position * px * fund_rate[k] if position != 0.0 else 0.0
            paid[s, v] += payment
            cash[s, v] += payment
            n = counters[C_FUNDING]
            row = funding[n]
            row["ts"] = fund_ts[k]
            row["funding_ts"] = fund_time[k]
            row["venue"] = v
            row["symbol"] = s
            row["rate"] = fund_rate[k]
            row["mark"] = px
            row["position"] = position
            row["payment"] = payment
            counters[C_FUNDING] = n + 1
            booked = True
        m0, m1 = mark_off[a], mark_off[a + 1]
        if m1 > m0:
            j = np.searchsorted(mark_ts[m0:m1], now, side="right") - 1
            if j >= 0:
                mark[s, v] = mark_px[m0 + j]
                views[s][v]["mark_px"] = mark_px[m0 + j]
        e0, e1 = est_off[a], est_off[a + 1]
        if e1 > e0:
            j = np.searchsorted(est_ts[e0:e1], now, side="right") - 1
            if j >= 0:
                views[s][v]["funding_rate"] = est_rate[e0 + j]
                views[s][v]["next_funding_ns"] = est_next[e0 + j]
    if booked:  # every view's quote balance: the venue's, every symbol's cash on it
        for v in range(2):
            quote = init_quote[v]
            for o in range(views.shape[0]):
                quote = quote + cash[o, v]
            for o in range(views.shape[0]):
                views[o][v]["quote_balance"] = quote


@njit(cache=True)
def _call_kernel(now: int, s: int, views: Any, kernel: Any, risk: Any, counters: Any, calls: Any) -> int:
    # Symbol s's kernel and the gate on the current views, the call logged (the engine's very step:
    # arb.strategy.step.decide_symbol); the number of intents to send (in ``intents[s]``). Pair ids are
    # shared by the symbols (``counters[C_NEXT_PAIR_ID]``).
    counters[C_KERNEL_CALLS] += 1
    c = counters[C_CALLS]
    n = decide_symbol(now, s, views, kernel, risk, counters[C_NEXT_PAIR_ID : C_NEXT_PAIR_ID + 1], calls, c)
    counters[C_INTENTS] += n
    counters[C_CALLS] = c + 1
    return n


@njit(cache=True)
def _route(now: int, s: int, k: int, kernel: Any, run: Any, held: Any) -> tuple[int, int, int, float, int]:
    # Symbol s's intent k gets the next order id and draws its leg fault: (route, order id, fault,
    # quantity to send, time its answer is due). A late or rejected leg is kept in ``held`` here.
    params, intents = kernel[0], kernel[2]
    settings, counters, leg_faults = run[:3]
    faulty = leg_faults[0]["enabled"] != 0
    it = intents[s][k]
    v = it["venue"]
    a = 2 * s + v
    oid = counters[C_NEXT_ORDER_ID]
    counters[C_NEXT_ORDER_ID] = oid + 1
    qty = it["qty"]
    kind = it["kind"]
    fault, fillable, delay = FAULT_NONE, qty, 0
    if faulty:
        fault, fillable, delay = draw_fault(leg_faults, v, kind, oid, qty, params[s]["lot_size"][v])
    answer_due = now + delay + settings[0]["entry_ns"][v] + settings[0]["response_ns"][v]
    if fault == FAULT_LATE:
        ok = _hold(held, now + delay, oid, a, it, 1, now)
    elif fault == FAULT_REJECT or (fault == FAULT_PARTIAL and fillable <= 0.0):
        ok = _hold(held, answer_due, oid, a, it, 0, now)
    else:
        return _ROUTE_SUBMIT, oid, fault, fillable, answer_due
    return (_ROUTE_HELD if ok else _ROUTE_FAILED), oid, fault, fillable, answer_due


@njit(cache=True)
def _log_sent(now: int, s: int, k: int, fault: int, symbols: Any, counters: Any, open_count: Any, sent: Any) -> None:
    # Symbol s's intent k went out (sent to hftbacktest or held): count it open (in its view too, for
    # the gate of the next symbol deciding at this time) and log it. ``symbols``: _run_loop's.
    intents = symbols[0][2]
    views = symbols[2]
    it = intents[s][k]
    v = it["venue"]
    open_count[2 * s + v] += 1
    views[s][v]["open_orders"] += 1
    counters[C_ORDERS] += 1
    m = counters[C_SENT]
    sent[m]["ts"] = now
    sent[m]["venue"] = v
    sent[m]["side"] = it["side"]
    sent[m]["price"] = it["price"]
    sent[m]["qty"] = it["qty"]
    sent[m]["kind"] = it["kind"]
    sent[m]["pair_id"] = it["pair_id"]
    sent[m]["level"] = it["level"]
    sent[m]["fault"] = fault
    sent[m]["symbol"] = s
    counters[C_SENT] = m + 1


@njit(cache=True)
def _ticks(decision_ts: Any, decision_assets: Any, counters: Any, now: int, ticked: Any) -> bool:
    # Every decision row due by ``now``: mark its asset in ``ticked``; True when there was one.
    i = counters[C_CURSOR]
    any_ = False
    while i < decision_ts.shape[0] and decision_ts[i] <= now:
        ticked[decision_assets[i]] = 1
        i += 1
        any_ = True
    counters[C_CURSOR] = i
    return any_


@njit(cache=False)
def _run_loop(hbt: Any, until_ns: int, tape: Any, perp: Any, run: Any, symbols: Any, orders: Any, outs: Any) -> int:
    """Run until local time ``until_ns`` (or the end of data, or a full output buffer).

    Returns 0 when it stopped at ``until_ns``, 1 at the end of the data, 2 when an output buffer is
    full (the caller grows it and calls again), < 0 on an hftbacktest error.

    Assets are symbol ``a // 2`` on venue ``a % 2``; at a decision point every symbol whose book
    changed, or whose order was answered, gets its kernel called (when ``may_act`` allows).

    Leg faults (``leg_faults``, one ``LEG_FAULTS_DTYPE`` record): every intent draws its fault from
    its order id (:func:`arb.execution.faults.draw_fault`, as the paper executor does). A rejected
    order is not sent and is answered, unfilled, at the time an accepted one would be (the venue's
    ``entry_ns`` plus ``response_ns`` in ``settings``); a partial one is sent for the drawn part of its
    quantity; a late one is sent ``late_ns`` later. Such orders wait in ``held`` and count as open.

    An order unanswered ``settings.request_timeout_ns`` after it was sent counts as unknown to the gate
    (``rstate.unknown``) until its answer, as arb live counts a request that timed out.

    Perpetuals (``perp``: each asset's funding settlements and mark prices, see :class:`Loop`): at each
    decision point the settlements due are booked into ``funding`` and the cash, and positions on a
    linear venue are valued at its mark price.

    The state comes in tuples, one per concern (:meth:`Loop.run` builds them):

    - ``tape``: the schedule, ``(decision_ts, decision_assets, book_ts, book_off, sync_ts, sync_state,
      sync_off)`` (see :class:`Schedule`);
    - ``perp``: the funding tape (see :class:`Loop`);
    - ``run``: ``(settings, counters, leg_faults, init_base, last_mid, price_decimals)``, ``settings`` one
      ``BACKTEST_RUN_DTYPE`` record;
    - ``symbols``: ``(kernel, risk, views)``, ``kernel`` and ``risk`` as the shared step takes them;
    - ``orders``: the orders hftbacktest has, by asset and slot (``(order_id, kind, pair_id, due, sent)``
      int64 arrays, order id 0 a free slot), then ``held``;
    - ``outs``: ``(fills, equity, calls, sent, funding)``, filled from ``counters``' positions on.
    """
    decision_ts, decision_assets = tape[:2]
    settings, counters, leg_faults, init_base = run[:4]
    kernel, risk, views = symbols
    params, intents = kernel[0], kernel[2]
    rstate = risk[1]
    pending, pending_due, held = orders[0], orders[3], orders[5]
    fills, equity, calls, sent = outs[:4]
    init_quote = settings[0]["init_quote"]
    entry_ns = settings[0]["entry_ns"]
    response_ns = settings[0]["response_ns"]
    n_symbols = views.shape[0]
    perp_on = perp[1][-1] > 0 or perp[8][-1] > 0 or perp[14][-1] > 0  # any settlement, mark or funding estimate
    mark, paid = perp[9], perp[10]
    n_assets = 2 * n_symbols
    levels = params[0]["book_levels"]
    one = levels - levels + 1  # the best level only, typed as ``levels`` (one compile of _fill_top, not two)
    cash, eq_venue, pnl_sym, open_count, ticked = _open_orders(pending, held, n_symbols)
    account = (cash, eq_venue, pnl_sym, open_count, mark)  # what _observe and _perp_step take
    answered = np.zeros(n_symbols, np.int64)  # symbols whose orders were answered since the last decision
    deeper = np.ones(n_assets, np.int64)
    faulty = leg_faults[0]["enabled"] != 0
    carried = False  # a decision put off until hftbacktest has given the answers due now
    same_time = 0  # steps in a row without time passing (rejections answered at once with zero latency)
    last_now = hbt.current_timestamp
    fresh = True  # positions and balances must be read again (start, or after a fill)
    while True:
        if _outputs_full(fills, equity, calls, sent, intents, rstate, counters):
            return 2
        now = hbt.current_timestamp
        i = counters[C_CURSOR]
        target = until_ns
        if i < decision_ts.shape[0] and decision_ts[i] < target:
            target = decision_ts[i]
        held_due = _NEVER
        sent_due = _NEVER  # when hftbacktest answers the first order it has
        if faulty:
            held_due, sent_due = _next_dues(held, pending, pending_due)
            if held_due < target:
                target = held_due
        waiting = False
        for a in range(n_assets):
            if open_count[a] > 0:
                waiting = True
        if waiting and held_due <= now < sent_due:
            rc = 0  # a held order is due now and hftbacktest owes nothing yet: no time passes
        elif waiting:
            rc = hbt.wait_next_feed(True, max(target - now, 1))
        elif target > now:
            rc = hbt.elapse(target - now)
        else:
            rc = 0
        if rc == 1:
            counters[C_DONE] = 1
        elif rc < 0 or rc > 3:
            return int(-abs(rc))
        now = hbt.current_timestamp
        if faulty:
            same_time = same_time + 1 if now == last_now else 0
            if same_time > _MAX_SAME_TIME:
                return _NO_PROGRESS
            last_now = now
        act = _ticks(decision_ts, decision_assets, counters, now, ticked)

        # Order responses: record fills, forget answered orders.
        if waiting:
            for a in range(n_assets):
                if open_count[a] == 0:
                    continue
                answers = hashmapbt_orders(hbt.ptr, a)  # what hbt.orders(a) wraps
                for k in range(_MAX_PENDING):
                    oid = pending[a, k]
                    if oid == 0:
                        continue
                    found = orders_get(answers, np.uint64(oid))  # what OrderDict.get wraps
                    if is_null_ptr(found):
                        pending[a, k] = 0
                        open_count[a] -= 1
                        answered[a // 2] = 1
                        act = True
                        continue
                    order = carray(address_as_void_pointer(found), 1, dtype=order_dtype)
                    status = order[0].status
                    if status == FILLED:
                        _record_fill(fills, run, now, order, orders, a, k)
                        pending[a, k] = 0
                        open_count[a] -= 1
                        answered[a // 2] = 1
                        fresh = True
                        act = True
                    elif status == EXPIRED or status == CANCELED:
                        counters[C_EXPIRED] += 1
                        pending[a, k] = 0
                        open_count[a] -= 1
                        answered[a // 2] = 1
                        act = True
            still = False
            for a in range(n_assets):
                if open_count[a] > 0:
                    still = True
            if not still:
                hbt.clear_inactive_orders(ALL_ASSETS)

        if faulty:
            # Held orders due now: a late one goes to hftbacktest, a rejected one is answered.
            for k in range(held.shape[0]):
                h = held[k]
                if h["order_id"] == 0 or h["due"] > now:
                    continue
                a = h["asset"]
                oid = h["order_id"]
                h["order_id"] = 0
                if h["submit"] == 1:
                    v = a % 2
                    due = now + entry_ns[v] + response_ns[v]
                    if _submit(hbt, a, oid, h["side"], h["price"], h["qty"]) == 0 and _track(
                        orders, a, oid, h["kind"], h["pair_id"], due, h["sent"]
                    ):
                        continue
                    counters[C_SUBMIT_ERRORS] += 1
                open_count[a] -= 1
                answered[a // 2] = 1
                act = True
            # The paper executor answers everything due at one time before its driver decides: an
            # answer hftbacktest owes at this very time comes first (``ticked`` and ``answered`` keep
            # what happened meanwhile).
            if _owed(pending, pending_due, now) and counters[C_DONE] == 0:
                carried = carried or act
                continue
            act = act or carried
            carried = False

        if act or counters[C_DONE] == 1 or now >= until_ns:
            counters[C_DECISION_POINTS] += 1
            # The views: the best level of the books that ticked; deeper levels only if a kernel may act.
            _fill_top(hbt, views, one, one - 1, 0, n_assets, ticked)
            if fresh:
                for a in range(n_assets):
                    s = a // 2
                    v = a % 2
                    rec = views[s][v]
                    rec["position"] = hashmapbt_position(hbt.ptr, a)  # hbt.position(a), hbt.state_values(a)
                    sv = carray(address_as_void_pointer(hashmapbt_state_values(hbt.ptr, a)), 1, state_values_dtype)
                    cash[s, v] = sv[0].balance - sv[0].fee + paid[s, v]
                for s in range(n_symbols):
                    for v in range(2):
                        quote = init_quote[v]
                        for o in range(n_symbols):
                            quote = quote + cash[o, v]
                        views[s][v]["base_balance"] = init_base[s, v] + views[s][v]["position"]
                        views[s][v]["quote_balance"] = quote
                fresh = False
            if perp_on:
                _perp_step(now, views, run, account, perp, outs)
            _observe(now, views, run, tape, account, orders, risk, outs)
            if act and counters[C_DONE] == 0:
                for s in range(n_symbols):
                    if ticked[2 * s] == 0 and ticked[2 * s + 1] == 0 and answered[s] == 0:
                        continue
                    if not may_act(views[s], params[s : s + 1], now):
                        continue
                    if levels > 1:
                        _fill_top(hbt, views, levels, one * _MAX_SCAN_TICKS, 2 * s, 2 * s + 2, deeper)
                    n = _call_kernel(now, s, views, kernel, risk, counters, calls)
                    for k in range(n):
                        route, oid, fault, fillable, answer_due = _route(now, s, k, kernel, run, held)
                        if route == _ROUTE_SUBMIT:
                            it = intents[s][k]
                            a = 2 * s + it["venue"]
                            ok = _submit(hbt, a, oid, it["side"], it["price"], fillable) == 0 and _track(
                                orders, a, oid, it["kind"], it["pair_id"], answer_due, now
                            )
                        else:
                            ok = route == _ROUTE_HELD
                        if ok:
                            _log_sent(now, s, k, fault, symbols, counters, open_count, sent)
                        else:
                            counters[C_SUBMIT_ERRORS] += 1
                    if levels > 1:
                        # deeper levels are not kept current between decisions: drop them from the view
                        for v in range(2):
                            views[s][v]["bid_px"][1:levels] = np.nan
                            views[s][v]["ask_px"][1:levels] = np.nan
            ticked[:] = 0
            answered[:] = 0
        if counters[C_DONE] == 1:
            return 1
        if now >= until_ns:
            return 0


@dataclass(slots=True)
class BacktestResult:
    """What a backtest produced (arrays in FILL_DTYPE / EQUITY_DTYPE; each row names its symbol).

    With several symbols the single-symbol fields (``kernel_state``, ``out_of_sync``, ``initial_base``)
    describe the first symbol and the ``*_by_symbol`` fields every symbol, in ``symbols`` order.
    """

    fills: np.ndarray[Any, Any]
    equity: np.ndarray[Any, Any]
    calls: np.ndarray[Any, Any]
    """DECISION_DTYPE: every kernel call (for parity checks)."""
    sent: np.ndarray[Any, Any]
    """SENT_DTYPE: every intent sent, with its time."""
    days: list[dt.date]
    start_ns: int
    end_ns: int
    counters: dict[str, int]
    kernel_state: dict[str, int]
    risk_state: dict[str, float]
    """The account's gate figures (:func:`~arb.execution.risk.risk_figures`)."""
    sync_losses: dict[str, int]
    """Times a book lost sync, per venue (``"binance"``), or per venue and symbol (``"binance ETHUSDT"``)."""
    out_of_sync: tuple[Spans, Spans]
    """Per venue, the spans ``(start_ns, end_ns)`` of local time its book was not synced, for the report."""
    rows: dict[str, int]
    local_shift_ns: int
    wall_s: float
    initial_base: tuple[float, float]
    initial_quote: tuple[float, float]
    risk_events: list[RiskEvent] = field(default_factory=list)
    """Every breach the gate reported (once per episode), in order."""
    symbols: tuple[str, ...] = ()
    kernel_states: list[dict[str, int]] = field(default_factory=list)
    symbol_risk: list[dict[str, Any]] = field(default_factory=list)
    """Each symbol's gate figures (:func:`~arb.execution.risk.symbol_risk_figures`)."""
    out_of_sync_by_symbol: list[tuple[Spans, Spans]] = field(default_factory=list)
    initial_base_by_symbol: list[tuple[float, float]] = field(default_factory=list)
    funding: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, FUNDING_DTYPE))
    """FUNDING_DTYPE: every funding payment booked (perpetuals), its own line beside the fills."""
    day_marks: list[BoundaryMark] = field(default_factory=list)
    """The books' mids at each UTC midnight inside the data (what the report values positions at)."""


def decision_points(book_ts: list[np.ndarray[Any, Any]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Merge the assets' book-change times: (times, asset) rows sorted by time (one row per asset that
    changed at a time; assets in order on a tie)."""
    times = np.concatenate(book_ts) if book_ts else np.zeros(0, np.int64)
    assets = np.concatenate([np.full(len(ts), a, np.int64) for a, ts in enumerate(book_ts)]) if book_ts else times
    order = np.lexsort((assets, times))
    return np.ascontiguousarray(times[order], np.int64), np.ascontiguousarray(assets[order], np.int64)


def _decimals(step: float) -> int:
    # Decimal places of a tick size (0.01 -> 2, 0.5 -> 1, 10 -> 0).
    for places in range(12):
        if abs(round(step * 10**places) - step * 10**places) < 1e-9:
            return places
    return 12


def _asset(venue: VenueConfig, arrays: list[Any], initial: Any) -> BacktestAsset:
    asset = (
        BacktestAsset()
        .data(arrays)
        .linear_asset(venue.instrument.contract_size)
        .constant_order_latency(venue.latency.order_entry_ns, venue.latency.order_response_ns)
        .risk_adverse_queue_model()
        .no_partial_fill_exchange()
        .trading_value_fee_model(venue.fees.maker, venue.fees.taker)
        .tick_size(venue.instrument.tick_size)
        .lot_size(venue.instrument.lot_size)
        .last_trades_capacity(0)
    )
    if initial is not None:
        asset = asset.initial_snapshot(initial)
    return asset


def build_hbt(config: AppConfig, session: Session) -> HashMapMarketDepthBacktest:
    """One hftbacktest over every symbol's two venues (asset ``2 * s + v``: symbol ``s``, venue ``v``).

    The caller must keep ``session`` alive until the backtest is closed (hftbacktest reads the
    arrays in place).
    """
    assets = []
    for a, data in enumerate(session.assets):
        initial = data.initial.rows if data.initial is not None else None
        assets.append(_asset(data.venue, session.arrays[a], initial))
    return HashMapMarketDepthBacktest(assets)


def _ragged(arrays: list[np.ndarray[Any, Any]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    # (the arrays end to end, offsets: array a is out[off[a]:off[a + 1]])
    off = np.zeros(len(arrays) + 1, np.int64)
    off[1:] = np.cumsum([len(x) for x in arrays])
    return np.ascontiguousarray(np.concatenate(arrays)) if arrays else np.zeros(0), off


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the loop decides, and each asset's book and sync history (derived from the session's rows).

    ``book_ts``/``sync_ts``/``sync_state`` hold every asset's history end to end, asset ``a``'s between
    ``*_off[a]`` and ``*_off[a + 1]``."""

    book_ts: np.ndarray[Any, Any]
    book_off: np.ndarray[Any, Any]
    sync_ts: np.ndarray[Any, Any]
    sync_state: np.ndarray[Any, Any]
    sync_off: np.ndarray[Any, Any]
    decision_ts: np.ndarray[Any, Any]
    decision_assets: np.ndarray[Any, Any]

    @classmethod
    def of(cls, session: Session) -> Schedule:
        """Book-change times, sync transitions and the merged decision points of ``session``."""
        n = len(session.assets)
        books = [book_times(session.arrays[a]) for a in range(n)]
        syncs = [sync_transitions(session.arrays[a], session.assets[a].initial is not None) for a in range(n)]
        book_ts, book_off = _ragged(books)
        sync_ts, sync_off = _ragged([ts for ts, _ in syncs])
        sync_state, _ = _ragged([state for _, state in syncs])
        decision_ts, decision_assets = decision_points(books)
        return cls(book_ts.astype(np.int64), book_off, sync_ts.astype(np.int64), sync_state.astype(np.int64),
                   sync_off, decision_ts, decision_assets)  # fmt: skip

    def syncs(self, a: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """(times, states) of asset ``a``'s sync changes: 1 = synced from that time on."""
        lo, hi = self.sync_off[a], self.sync_off[a + 1]
        return self.sync_ts[lo:hi], self.sync_state[lo:hi]

    def out_of_sync(self, start_ns: int, end_ns: int, symbol: int = 0) -> tuple[Spans, Spans]:
        """Per venue, the spans of ``[start_ns, end_ns)`` the symbol's book was not synced (what the view said)."""
        spans = [out_of_sync_spans(*self.syncs(2 * symbol + v), start_ns, end_ns) for v in range(2)]
        return spans[0], spans[1]


class Loop:
    """The compiled loop's inputs and outputs for one run: fresh kernel, gate and account state, and the
    fills, equity samples, kernel calls and intents it records (grown as needed).

    ``funding``: each asset's settlements and mark prices (:func:`~arb.runtime.loader.funding_of`;
    None: none at all, which spot venues have anyway)."""

    def __init__(
        self, config: AppConfig, session: Session, schedule: Schedule, funding: list[Funding] | None = None
    ) -> None:
        venues = config.venues
        n_sym = len(config.symbols)
        self.config = config
        self.session = session
        self.schedule = schedule
        self.n_symbols = n_sym
        self.params = params_of(config)
        self.kstate = new_state(n_sym)
        self.views = new_views(n_sym)
        self.intents = new_intents(n_sym)
        self.limits = limits_of(config)
        self.rstate = new_risk_state()
        self.srisk = new_symbol_risk_state(n_sym)
        self.risk_events: list[RiskEvent] = []
        self._quote = quote_currency(config.strategy.symbol)
        self.init_base = np.array([sym.base for sym in config.symbols], float).reshape(n_sym, 2)
        self.init_quote = np.array([v.account.quote for v in venues])
        self.maker = np.array([v.fees.maker for v in venues])
        self.taker = np.array([v.fees.taker for v in venues])
        n_assets = 2 * n_sym
        self.pending = np.zeros((n_assets, _MAX_PENDING), np.int64)
        self.pending_kind = np.zeros((n_assets, _MAX_PENDING), np.int64)
        self.pending_pair = np.zeros((n_assets, _MAX_PENDING), np.int64)
        self.pending_due = np.zeros((n_assets, _MAX_PENDING), np.int64)
        self.pending_sent = np.zeros((n_assets, _MAX_PENDING), np.int64)
        self.leg_faults = make_leg_faults(config.leg_faults)
        self.held = np.zeros(_MAX_PENDING * n_sym, _HELD_DTYPE)
        self.order_latency = np.array(
            [[v.latency.order_entry_ns, v.latency.order_response_ns] for v in venues], np.int64
        )
        span = session.end_ns - session.start_ns
        self.fills: np.ndarray[Any, Any] = np.zeros(4096 * n_sym, FILL_DTYPE)
        samples = int(span // _EQUITY_INTERVAL_NS) + 16
        self.equity: np.ndarray[Any, Any] = np.zeros(samples * n_sym, EQUITY_DTYPE)
        self.calls: np.ndarray[Any, Any] = np.zeros(1024 * n_sym, DECISION_DTYPE)
        self.sent: np.ndarray[Any, Any] = np.zeros(1024 * n_sym, SENT_DTYPE)
        self.counters = np.zeros(N_COUNTERS, np.int64)
        self.counters[C_NEXT_ORDER_ID] = 1
        self.counters[C_NEXT_PAIR_ID] = 1
        self.last_mid = np.full((n_sym, 2), np.nan)
        assets = funding if funding is not None else [Funding.none() for _ in range(n_assets)]
        fund_ts, fund_off = _ragged([f.local_ts for f in assets])
        mark_ts, mark_off = _ragged([f.mark_ts for f in assets])
        est_ts, est_off = _ragged([f.est_ts for f in assets])
        self.perp = (
            fund_ts.astype(np.int64), fund_off, _ragged([f.funding_ts for f in assets])[0].astype(np.int64),
            _ragged([f.rate for f in assets])[0].astype(np.float64),
            _ragged([f.mark for f in assets])[0].astype(np.float64), np.zeros(n_assets, np.int64),
            mark_ts.astype(np.int64), _ragged([f.mark_px for f in assets])[0].astype(np.float64), mark_off,
            np.full((n_sym, 2), np.nan), np.zeros((n_sym, 2)),
            est_ts.astype(np.int64), _ragged([f.est_rate for f in assets])[0].astype(np.float64),
            _ragged([f.est_next for f in assets])[0].astype(np.int64), est_off,
        )  # fmt: skip
        """Settlements (local time, offsets per asset, funding time, rate, mark, next one per asset), mark
        prices (local times, prices, offsets), per (symbol, venue) the mark price now and the funding
        booked, then the venues' estimates of the coming funding (local times, rates, funding times,
        offsets): what _run_loop's ``perp`` takes."""
        self.funding: np.ndarray[Any, Any] = np.zeros(len(fund_ts) + 1, FUNDING_DTYPE)
        self.price_decimals = np.array(
            [_decimals(i.tick_size) for sym in config.symbols for i in sym.instruments], np.int64
        )
        self.settings = np.zeros(1, BACKTEST_RUN_DTYPE)
        """The loop's settings (one ``BACKTEST_RUN_DTYPE`` record)."""
        cfg = self.settings[0]
        cfg["end_ns"] = session.end_ns
        cfg["stale_after_ns"] = config.risk.stale_after_ns
        cfg["equity_interval_ns"] = _EQUITY_INTERVAL_NS
        cfg["request_timeout_ns"] = config.live.request_timeout_ns
        cfg["init_quote"] = self.init_quote
        cfg["maker_fee"] = self.maker
        cfg["taker_fee"] = self.taker
        cfg["entry_ns"] = self.order_latency[:, 0]
        cfg["response_ns"] = self.order_latency[:, 1]

    def _state(self) -> tuple[Any, ...]:
        # _run_loop's arguments after ``hbt``, ``until_ns`` and ``tape`` (see there), the buffers as they are now.
        run = (self.settings, self.counters, self.leg_faults, self.init_base, self.last_mid, self.price_decimals)
        symbols = ((self.params, self.kstate, self.intents), (self.limits, self.rstate, self.srisk), self.views)
        orders = (self.pending, self.pending_kind, self.pending_pair, self.pending_due, self.pending_sent, self.held)
        outs = (self.fills, self.equity, self.calls, self.sent, self.funding)
        return self.perp, run, symbols, orders, outs

    @property
    def view(self) -> np.ndarray[Any, Any]:
        """The first symbol's view."""
        first: np.ndarray[Any, Any] = self.views[0]
        return first

    def _log_risk_events(self) -> None:
        # The breaches the gate wrote since the last call, logged as the engine logs them (at data time).
        names = self.config.symbol_names
        for event in drain_events(self.rstate):
            self.risk_events.append(event)
            when = dt.datetime.fromtimestamp(event.ts / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            text = event_text(event.code, event.value, event.limit, self.limits, self._quote)
            if len(names) > 1 and event.symbol >= 0:
                text = f"{names[event.symbol]}: {text}"
            log.warning("risk at %s UTC: %s", when, text)

    def midnight_mark(self, midnight_ns: int, book_ts: int) -> BoundaryMark:
        """The books' mids now (the loop stopped at ``book_ts``, its last decision before ``midnight_ns``,
        so they are the books at midnight) and what holdings are valued at (a perpetual's mark price)."""
        mids = self.last_mid.copy()
        mark = self.perp[9]  # the mark price now per (symbol, venue), NaN until a perpetual's stream gave one
        return BoundaryMark("midnight", midnight_ns, book_ts, mids, np.where(np.isnan(mark), mids, mark))

    def run(self, hbt: HashMapMarketDepthBacktest, until_ns: int) -> int:
        """Run the compiled loop to local time ``until_ns``; 0 there, 1 at the end of the data.

        Output buffers that fill up are grown and the loop resumed. Raises ``RuntimeError`` on an
        hftbacktest error code.
        """
        n_sym = self.n_symbols
        sch = self.schedule
        tape = (sch.decision_ts, sch.decision_assets, sch.book_ts, sch.book_off, sch.sync_ts, sch.sync_state,
                sch.sync_off)  # fmt: skip
        while True:
            rc: int = _run_loop(hbt, until_ns, tape, *self._state())
            self._log_risk_events()
            if rc != 2:
                break
            c = self.counters
            if c[C_FILLS] >= len(self.fills) - 2 * _MAX_PENDING * n_sym:
                self.fills = np.concatenate([self.fills, np.zeros(len(self.fills), FILL_DTYPE)])
            if c[C_EQUITY] >= len(self.equity) - 2 * n_sym:
                self.equity = np.concatenate([self.equity, np.zeros(len(self.equity), EQUITY_DTYPE)])
            if c[C_CALLS] >= len(self.calls) - n_sym:
                self.calls = np.concatenate([self.calls, np.zeros(len(self.calls), DECISION_DTYPE)])
            if c[C_SENT] >= len(self.sent) - self.intents.size:
                self.sent = np.concatenate([self.sent, np.zeros(len(self.sent), SENT_DTYPE)])
        if rc == _NO_PROGRESS:
            raise RuntimeError(
                f"no settled state after {_MAX_SAME_TIME} decisions at one time: with zero order latency every "
                "rejected leg is answered at once (the kernel retries its hedge without end while [leg_faults] "
                "rejects it); give the venues an order latency"
            )
        if rc < 0 or rc > 1:
            raise RuntimeError(f"hftbacktest stopped with error code {-rc}")
        return rc


def _helper_calls(loop: Loop) -> list[tuple[Any, tuple[Any, ...]]]:
    # Every cached helper _run_loop calls, with values of the types it passes them.
    i64 = np.int64(0)
    ts = np.zeros(1, np.int64)
    flags = np.zeros(2 * loop.n_symbols, np.int64)
    grid = np.zeros((loop.n_symbols, 2))
    per_symbol = np.zeros(loop.n_symbols)
    intent = loop.intents[0, 0]
    held = loop.held[0]
    tape = (ts, ts, ts, ts, ts, ts, ts)
    perp, run, symbols, orders, outs = loop._state()
    account = (grid, grid, per_symbol, flags, grid)
    return [
        (_open_orders, (loop.pending, loop.held, i64)),
        (_outputs_full, (loop.fills, loop.equity, loop.calls, loop.sent, loop.intents, loop.rstate, loop.counters)),
        (_next_dues, (loop.held, loop.pending, loop.pending_due)),
        (_owed, (loop.pending, loop.pending_due, i64)),
        (_ticks, (ts, ts, loop.counters, i64, flags)),
        (_record_fill, (loop.fills, run, i64, np.zeros(1, order_dtype), orders, i64, i64)),
        (_observe, (i64, loop.views, run, tape, account, orders, symbols[1], outs)),
        (_perp_step, (i64, loop.views, run, account, perp, outs)),
        (_call_kernel, (i64, i64, loop.views, symbols[0], symbols[1], loop.counters, loop.calls)),
        (_route, (i64, i64, i64, symbols[0], run, loop.held)),
        (_log_sent, (i64, i64, i64, i64, symbols, loop.counters, flags, loop.sent)),
        (_track, (orders, i64, i64, intent["kind"], intent["pair_id"], i64, i64)),
        (_track, (orders, held["asset"], held["order_id"], held["kind"], held["pair_id"], i64, held["sent"])),
    ]


def warm_loop(config: AppConfig, part: int | None = None) -> None:
    """Compile the backtest loop's cached helpers (and the kernel, gate and risk code they call) into
    Numba's cache, or load them from it. Nothing runs; no data is needed. ``part`` 0 or 1 compiles
    one of two halves of about equal work (0: the kernel call, with the kernel and the risk gate;
    1: the other helpers); None both."""
    loop = Loop(config, cast(Session, types.SimpleNamespace(start_ns=0, end_ns=0)), cast(Schedule, None))
    for fn, args in _helper_calls(loop):
        if part is None or (fn is _call_kernel) == (part == 0):
            fn.compile(tuple(typeof(x) for x in args))  # type: ignore[no-untyped-call]  # numba is untyped


def _warm_child(config: AppConfig, part: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it ends this process
    warm_loop(config, part)


class Warming:
    """The processes compiling the loop's helpers (:func:`warm_loop_in_background`)."""

    def __init__(self, processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
        self.processes = list(processes)

    def join(self) -> None:
        """Wait until every helper is compiled (and in Numba's cache)."""
        for process in self.processes:
            process.join()


def warm_loop_in_background(config: AppConfig) -> Warming | None:
    """When the loop's helpers are not in Numba's cache yet (the first run after an install or an
    update), start compiling them in two other processes (the two halves of :func:`warm_loop`) and
    return them; else None.

    A first ``arb backtest`` spends ~8 s converting the recordings (compiling the converter's book,
    level parser and corrections) and ~10 s of CPU compiling the kernel, gate and loop helpers;
    split in two, that second part runs beside the first on the other core and what the conversion
    leaves of its own. Join them before the loop is compiled.
    """
    index = getattr(getattr(getattr(_call_kernel, "_cache", None), "_cache_file", None), "_index_path", None)
    if not isinstance(index, str) or os.path.exists(index) or (os.cpu_count() or 1) < 2:
        return None  # cached already, a Numba without that layout, or no second core to use
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_warm_child, args=(config, part), daemon=True) for part in (0, 1)]
    for process in processes:
        process.start()
    return Warming(processes)


def run_backtest(
    config: AppConfig,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    on_status: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    allow_damaged: bool = False,
) -> BacktestResult:
    """Run the strategy over the days in [start, end] that :func:`plan_days` settles (``start``/``end``
    None: the first/last day recorded for both venues). ``allow_damaged`` keeps what can be read of
    a damaged recording; without it a damaged day is a :class:`~arb.errors.RecordingError`."""
    started = time.perf_counter()
    days = plan_days(config, start, end)
    warming = warm_loop_in_background(config)
    if warming is not None:
        say_compiling([("the kernel, the risk gate and the loop's helpers", [_call_kernel], 15.0)], log, on_status)
    session = load_session(config, days, on_status, allow_damaged=allow_damaged)
    schedule = Schedule.of(session)
    if warming is not None:
        warming.join()  # its helpers are in Numba's cache now: the loop links them instead of compiling them
    if on_status is not None:  # the loop drives hftbacktest's backtester, whose code Numba cannot cache
        on_status(f"compiling the backtest loop (every run, about {_LOOP_COMPILE_S:.0f} s)")
    return run_session(config, session, schedule, days, on_progress=on_progress, started=started)


def run_session(
    config: AppConfig,
    session: Session,
    schedule: Schedule,
    days: list[dt.date],
    *,
    on_progress: Callable[[int, int], None] | None = None,
    started: float | None = None,
) -> BacktestResult:
    """The backtest of ``config`` over a loaded ``session`` and its decision ``schedule``: what
    :func:`run_backtest` does after loading (``arb sweep`` runs many configurations over one session).
    ``started``: ``time.perf_counter()`` when the run began (its ``wall_s`` counts from there)."""
    started = time.perf_counter() if started is None else started
    loop = Loop(config, session, schedule, funding_of(config, session))
    span = session.end_ns - session.start_ns
    hbt = build_hbt(config, session)
    midnights = _midnight_stops(schedule.decision_ts, session.start_ns, session.end_ns)
    day_marks: list[BoundaryMark] = []
    try:
        hbt.elapse(1)  # hftbacktest's clock starts at the first event only after a first step
        chunk = max(span // 200, NS_PER_S)
        until = session.start_ns + chunk
        rc = 0
        while True:
            # A midnight in this chunk: stop at the last decision before it (a decision the loop makes
            # anyway, so nothing it decides changes) and take the books' mids there.
            while rc != 1 and midnights and midnights[0][1] <= until:
                midnight, last = midnights.pop(0)
                if last > hbt.current_timestamp:
                    rc = loop.run(hbt, last)
                day_marks.append(loop.midnight_mark(midnight, last))
            if rc != 1:
                rc = loop.run(hbt, until)
            if on_progress is not None:
                on_progress(min(until, session.end_ns) - session.start_ns, span)
            if rc == 1 or until >= session.end_ns:
                break
            until += chunk
    finally:
        hbt.close()
    names = (
        "decision_points", "kernel_calls", "intents", "orders", "submit_errors", "fills", "equity_samples",
        "expired",
    )  # fmt: skip
    counters = loop.counters
    rs = loop.rstate[0]
    venues = config.venues
    symbols = config.symbol_names
    one = len(symbols) == 1

    def label(a: int) -> str:
        # "binance", or "binance ETHUSDT" with several symbols
        return venues[a % 2].name if one else f"{venues[a % 2].name} {symbols[a // 2]}"

    kernel_states = [{name: int(st[name]) for name in st.dtype.names or ()} for st in loop.kstate]
    by_symbol = [loop.schedule.out_of_sync(session.start_ns, session.end_ns, s) for s in range(len(symbols))]
    base = [(float(loop.init_base[s, 0]), float(loop.init_base[s, 1])) for s in range(len(symbols))]
    return BacktestResult(
        fills=loop.fills[: counters[C_FILLS]].copy(),
        equity=loop.equity[: counters[C_EQUITY]].copy(),
        calls=loop.calls[: counters[C_CALLS]].copy(),
        sent=loop.sent[: counters[C_SENT]].copy(),
        days=days,
        start_ns=session.start_ns,
        end_ns=session.end_ns,
        counters={name: int(counters[i]) for i, name in enumerate(names)},
        kernel_state=kernel_states[0],
        risk_state=risk_figures(rs),
        sync_losses={label(a): int(np.sum(loop.schedule.syncs(a)[1][1:] == 0)) for a in range(2 * len(symbols))},
        out_of_sync=by_symbol[0],
        rows={label(a): session.rows(a) for a in range(2 * len(symbols))},
        local_shift_ns=session.local_shift_ns,
        wall_s=time.perf_counter() - started,
        initial_base=base[0],
        initial_quote=(float(loop.init_quote[0]), float(loop.init_quote[1])),
        risk_events=loop.risk_events,
        symbols=symbols,
        kernel_states=kernel_states,
        symbol_risk=[symbol_risk_figures(sst) for sst in loop.srisk],
        out_of_sync_by_symbol=by_symbol,
        initial_base_by_symbol=base,
        funding=loop.funding[: counters[C_FUNDING]].copy(),
        day_marks=day_marks,
    )


def _midnight_stops(decision_ts: np.ndarray[Any, Any], start_ns: int, end_ns: int) -> list[tuple[int, int]]:
    # (midnight, the last decision time before it) for every UTC midnight inside (start_ns, end_ns]
    # that has a decision before it
    out = []
    midnight = (start_ns // NS_PER_DAY + 1) * NS_PER_DAY
    while midnight <= end_ns:
        k = int(np.searchsorted(decision_ts, midnight, side="left"))
        if k > 0:
            out.append((midnight, int(decision_ts[k - 1])))
        midnight += NS_PER_DAY
    return out
