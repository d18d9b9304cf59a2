"""The two-venue backtest: hftbacktest with asset 0 = Binance and asset 1 = Bybit, driving the kernel.

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

from arb._jit import njit
from arb.config import AppConfig, VenueConfig
from arb.events import NS_PER_S
from arb.execution.faults import FAULT_LATE, FAULT_NONE, FAULT_PARTIAL, FAULT_REJECT, draw_fault, make_leg_faults
from arb.execution.risk import (
    EVENTS_KEPT,
    RiskEvent,
    drain_events,
    event_text,
    gate,
    make_limits,
    new_risk_state,
    quote_currency,
    risk_figures,
    update_equity,
)
from arb.report import Spans, out_of_sync_spans
from arb.runtime.loader import Session, book_times, load_session, plan_days, sync_transitions
from arb.strategy.kernel import decide, may_act
from arb.strategy.params import make_params
from arb.strategy.types import (
    BUY,
    DECISION_DTYPE,
    EQUITY_DTYPE,
    FILL_DTYPE,
    SENT_DTYPE,
    VENUE_OK,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
    new_intents,
    new_state,
    new_view,
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
C_CALLS = 13
C_SENT = 14
N_COUNTERS = 16

_NEVER = np.iinfo(np.int64).max
_MAX_SAME_TIME = 10_000
_NO_PROGRESS = -1_000  # _run_loop's code when held orders keep being answered without time passing
_HELD_DTYPE = np.dtype(
    [
        ("due", "i8"),  # local time of the action
        ("order_id", "i8"),  # 0: a free slot
        ("venue", "i8"),
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
def _fill_top(hbt: Any, view: Any, levels: int, scan: int, venues: int) -> None:
    # Best ``levels`` price levels of the venues in the bit mask ``venues`` (1 Binance, 2 Bybit) from
    # hftbacktest's depth, walking ticks from the best price at most ``scan`` ticks deep.
    for a in range(2):
        if not (venues >> a) & 1:
            continue
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
                    view[a]["bid_px"][nb_] = t * tick
                    view[a]["bid_qty"][nb_] = q
                    nb_ += 1
                t -= 1
        if np.isfinite(hashmapdepth_best_ask(depth)):
            t = ask_t
            while na < levels and t - ask_t <= scan:
                q = hashmapdepth_ask_qty_at_tick(depth, t)
                if q > 0.0:
                    view[a]["ask_px"][na] = t * tick
                    view[a]["ask_qty"][na] = q
                    na += 1
                t += 1
        for k in range(nb_, levels):
            view[a]["bid_px"][k] = np.nan
            view[a]["bid_qty"][k] = 0.0
        for k in range(na, levels):
            view[a]["ask_px"][k] = np.nan
            view[a]["ask_qty"][k] = 0.0


@njit(cache=True)
def _status(now: int, book_ts: Any, sync_ts: Any, sync_state: Any, stale_after: int) -> tuple[int, int]:
    # (status, time of the last book update) of one venue at ``now``.
    i = np.searchsorted(sync_ts, now, side="right") - 1
    synced = i >= 0 and sync_state[i] == 1
    j = np.searchsorted(book_ts, now, side="right") - 1
    last = book_ts[j] if j >= 0 else 0
    if not synced:
        return VENUE_OUT_OF_SYNC, last
    if now - last > stale_after:
        return VENUE_STALE, last
    return VENUE_OK, last


@njit(cache=True)
def _equity(view: Any, init_base: Any, init_quote: Any, cash: Any, last_mid: Any, out_venue: Any) -> float:
    total = 0.0
    for a in range(2):
        mid = 0.5 * (view[a]["bid_px"][0] + view[a]["ask_px"][0])
        if np.isfinite(mid):
            last_mid[a] = mid
        out_venue[a] = init_quote[a] + cash[a] + (init_base[a] + view[a]["position"]) * last_mid[a]
        total += out_venue[a]
    return total


@njit(cache=False)
def _submit(hbt: Any, a: int, oid: int, side: int, price: float, qty: float) -> int:
    # One IOC limit order to hftbacktest; its return code.
    if side == BUY:
        return int(hbt.submit_buy_order(a, oid, price, qty, IOC, LIMIT, False))
    return int(hbt.submit_sell_order(a, oid, price, qty, IOC, LIMIT, False))


@njit(cache=True)
def _track(pending: Any, pending_kind: Any, pending_pair: Any, pending_due: Any, pending_sent: Any, a: int, oid: int,
           kind: int, pair: int, due: int, sent: int) -> bool:  # fmt: skip
    # Remember an order sent to hftbacktest in a free slot of venue a; False when none is free.
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
    # Per venue, the orders still unanswered ``timeout`` or more after they were sent: what arb live
    # calls unknown (its request timed out) until the answer comes.
    out[0] = 0
    out[1] = 0
    for a in range(2):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0 and now - pending_sent[a, k] >= timeout:
                out[a] += 1
    for k in range(held.shape[0]):
        if held[k]["order_id"] != 0 and now - held[k]["sent"] >= timeout:
            out[held[k]["venue"]] += 1


@njit(cache=True)
def _hold(held: Any, due: int, oid: int, a: int, side: int, price: float, qty: float, kind: int, pair: int,
          submit: int, sent: int) -> bool:  # fmt: skip
    # Keep an order from hftbacktest until ``due`` (see _HELD_DTYPE); False when no slot is free.
    for slot in range(held.shape[0]):
        h = held[slot]
        if h["order_id"] == 0:
            h["due"] = due
            h["order_id"] = oid
            h["venue"] = a
            h["side"] = side
            h["price"] = price
            h["qty"] = qty
            h["kind"] = kind
            h["pair_id"] = pair
            h["submit"] = submit
            h["sent"] = sent
            return True
    return False


# What _route decided for an intent.
_ROUTE_SUBMIT = 0  # send it to hftbacktest now
_ROUTE_HELD = 1  # kept in ``held`` (a late leg, or a rejected one answered later)
_ROUTE_FAILED = 2  # no free slot in ``held``


@njit(cache=True)
def _open_orders(pending: Any, held: Any) -> tuple[Any, Any, Any]:
    # Scratch arrays of a call of _run_loop: (cash, equity per venue, open orders per venue), the last
    # counting the orders sent to hftbacktest and not yet answered, plus those kept in ``held``.
    cash = np.zeros(2)
    eq_venue = np.zeros(2)
    out = np.zeros(2, np.int64)
    for a in range(2):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0:
                out[a] += 1
    for k in range(held.shape[0]):
        if held[k]["order_id"] != 0:
            out[held[k]["venue"]] += 1
    return cash, eq_venue, out


@njit(cache=True)
def _outputs_full(fills: Any, equity: Any, calls: Any, sent: Any, intents: Any, rstate: Any, counters: Any) -> bool:
    # True when an output buffer may not take another step (the driver grows it and calls again).
    return bool(
        counters[C_FILLS] >= fills.shape[0] - 2 * _MAX_PENDING
        or counters[C_EQUITY] >= equity.shape[0] - 2
        or counters[C_CALLS] >= calls.shape[0] - 1
        or counters[C_SENT] >= sent.shape[0] - intents.shape[0]
        or rstate[0]["ev_count"] - rstate[0]["ev_drained"] >= EVENTS_KEPT - 8  # the driver logs them
    )


@njit(cache=True)
def _next_dues(held: Any, pending: Any, pending_due: Any) -> tuple[int, int]:
    # (when the first held order is due, when hftbacktest answers the first order it has); _NEVER if none.
    held_due = _NEVER
    sent_due = _NEVER
    for k in range(held.shape[0]):
        if held[k]["order_id"] != 0 and held[k]["due"] < held_due:
            held_due = held[k]["due"]
    for a in range(2):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0 and pending_due[a, k] < sent_due:
                sent_due = pending_due[a, k]
    return held_due, sent_due


@njit(cache=True)
def _owed(pending: Any, pending_due: Any, now: int) -> bool:
    # Does hftbacktest owe an answer at or before ``now``?
    owed = False
    for a in range(2):
        for k in range(_MAX_PENDING):
            if pending[a, k] != 0 and pending_due[a, k] <= now:
                owed = True
    return owed


@njit(cache=True)
def _record_fill(fills: Any, counters: Any, now: int, order: Any, a: int, price_decimals: Any, maker_fee: Any,
                 taker_fee: Any, pair: int, kind: int, oid: int) -> None:  # fmt: skip
    # One fill from hftbacktest's answer to an order (``order``: its one order_dtype record, what
    # hftbacktest's Order reads; exec_price is Order.exec_price's product).
    o = order[0]
    n = counters[C_FILLS]
    fills[n]["local_ts"] = now
    fills[n]["exch_ts"] = o.exch_timestamp
    fills[n]["venue"] = a
    fills[n]["side"] = o.side
    # the tick grid in decimal (exec_price_tick x tick_size has float noise)
    fills[n]["price"] = np.round(o.exec_price_tick * o.tick_size, price_decimals[a])
    fills[n]["qty"] = o.exec_qty
    rate = maker_fee[a] if o.maker else taker_fee[a]
    fills[n]["fee"] = fills[n]["price"] * o.exec_qty * rate
    fills[n]["pair_id"] = pair
    fills[n]["kind"] = kind
    fills[n]["order_id"] = oid
    counters[C_FILLS] = n + 1


@njit(cache=True)
def _observe(now: int, act: bool, view: Any, params: Any, counters: Any, open_count: Any, book_ts0: Any,
             book_ts1: Any, sync_ts0: Any, sync_st0: Any, sync_ts1: Any, sync_st1: Any, stale_after: int,
             init_base: Any, init_quote: Any, cash: Any, last_mid: Any, eq_venue: Any, pending: Any,
             pending_sent: Any, held: Any, request_timeout: int, limits: Any, rstate: Any, end_ns: int,
             equity: Any, equity_interval: int) -> bool:  # fmt: skip
    # At a decision point, with the view's book and account current: venue status, equity, the gate's
    # drawdown tracker and unknown orders, the equity sample when due. True when the kernel is to be
    # called (something happened, the data goes on, and ``may_act`` says it could send something).
    for a in range(2):
        view[a]["open_orders"] = open_count[a]
        if a == 0:
            st, last = _status(now, book_ts0, sync_ts0, sync_st0, stale_after)
        else:
            st, last = _status(now, book_ts1, sync_ts1, sync_st1, stale_after)
        view[a]["status"] = st
        view[a]["book_local_ts"] = last
    eq = _equity(view, init_base, init_quote, cash, last_mid, eq_venue)
    # drawdown is measured on trading PnL: the starting coins' price moves are not losses
    trading = cash[0] + cash[1] + view[0]["position"] * last_mid[0] + view[1]["position"] * last_mid[1]
    if open_count[0] + open_count[1] > 0:
        _count_unknown(pending, pending_sent, held, now, request_timeout, rstate[0]["unknown"])
    else:
        rstate[0]["unknown"][:] = 0
    if np.isfinite(trading):
        update_equity(limits, rstate, trading, view, now)
    final = counters[C_DONE] == 1 or now >= end_ns
    due = now >= counters[C_NEXT_SAMPLE] or final
    if due and np.isfinite(last_mid[0]) and np.isfinite(last_mid[1]):
        m = counters[C_EQUITY]
        equity[m]["ts"] = now
        equity[m]["equity"] = eq
        for a in range(2):
            equity[m]["equity_venue"][a] = eq_venue[a]
            equity[m]["position"][a] = view[a]["position"]
            equity[m]["mid"][a] = last_mid[a]
        equity[m]["spread_bps"] = (last_mid[1] - last_mid[0]) / last_mid[0] * 1e4
        counters[C_EQUITY] = m + 1
        counters[C_NEXT_SAMPLE] = (now // equity_interval + 1) * equity_interval
    return act and counters[C_DONE] == 0 and may_act(view, params)


@njit(cache=True)
def _call_kernel(now: int, view: Any, params: Any, kstate: Any, intents: Any, limits: Any, rstate: Any,
                 counters: Any, calls: Any) -> int:  # fmt: skip
    # The kernel and the gate on the current view, the call logged; the number of intents to send.
    counters[C_KERNEL_CALLS] += 1
    n = decide(view, params, kstate, now, intents)
    n = gate(view, limits, rstate, intents, n, now)
    counters[C_INTENTS] += n
    c = counters[C_CALLS]
    calls[c]["ts"] = now
    for a in range(2):
        calls[c]["bid"][a] = view[a]["bid_px"][0]
        calls[c]["ask"][a] = view[a]["ask_px"][0]
        calls[c]["position"][a] = view[a]["position"]
        calls[c]["status"][a] = view[a]["status"]
        calls[c]["open_orders"][a] = view[a]["open_orders"]
    calls[c]["intents"] = n
    counters[C_CALLS] = c + 1
    return n


@njit(cache=True)
def _route(now: int, intents: Any, k: int, counters: Any, faulty: bool, leg_faults: Any, params: Any, held: Any,
           order_latency: Any) -> tuple[int, int, int, float, int]:  # fmt: skip
    # Intent k gets the next order id and draws its leg fault: (route, order id, fault, quantity to send,
    # time its answer is due). A late or rejected leg is kept in ``held`` here.
    a = intents[k]["venue"]
    oid = counters[C_NEXT_ORDER_ID]
    counters[C_NEXT_ORDER_ID] = oid + 1
    side = intents[k]["side"]
    price = intents[k]["price"]
    qty = intents[k]["qty"]
    kind = intents[k]["kind"]
    pair = intents[k]["pair_id"]
    fault, fillable, delay = FAULT_NONE, qty, 0
    if faulty:
        fault, fillable, delay = draw_fault(leg_faults, a, kind, oid, qty, params[0]["lot_size"][a])
    answer_due = now + delay + order_latency[a, 0] + order_latency[a, 1]
    if fault == FAULT_LATE:
        ok = _hold(held, now + delay, oid, a, side, price, qty, kind, pair, 1, now)
    elif fault == FAULT_REJECT or (fault == FAULT_PARTIAL and fillable <= 0.0):
        ok = _hold(held, answer_due, oid, a, side, price, qty, kind, pair, 0, now)
    else:
        return _ROUTE_SUBMIT, oid, fault, fillable, answer_due
    return (_ROUTE_HELD if ok else _ROUTE_FAILED), oid, fault, fillable, answer_due


@njit(cache=True)
def _log_sent(ok: bool, now: int, intents: Any, k: int, fault: int, counters: Any, open_count: Any,
              sent: Any) -> None:  # fmt: skip
    # Intent k went out (sent to hftbacktest or held): count it open and log it; or count the error.
    if not ok:
        counters[C_SUBMIT_ERRORS] += 1
        return
    a = intents[k]["venue"]
    open_count[a] += 1
    counters[C_ORDERS] += 1
    m = counters[C_SENT]
    sent[m]["ts"] = now
    sent[m]["venue"] = a
    sent[m]["side"] = intents[k]["side"]
    sent[m]["price"] = intents[k]["price"]
    sent[m]["qty"] = intents[k]["qty"]
    sent[m]["kind"] = intents[k]["kind"]
    sent[m]["pair_id"] = intents[k]["pair_id"]
    sent[m]["level"] = intents[k]["level"]
    sent[m]["fault"] = fault
    counters[C_SENT] = m + 1


@njit(cache=False)
def _run_loop(
    hbt: Any,
    until_ns: int,
    decision_ts: Any,
    decision_venues: Any,
    book_ts0: Any,
    book_ts1: Any,
    sync_ts0: Any,
    sync_st0: Any,
    sync_ts1: Any,
    sync_st1: Any,
    params: Any,
    kstate: Any,
    view: Any,
    intents: Any,
    limits: Any,
    rstate: Any,
    init_base: Any,
    init_quote: Any,
    maker_fee: Any,
    taker_fee: Any,
    stale_after: int,
    equity_interval: int,
    pending: Any,
    pending_kind: Any,
    pending_pair: Any,
    fills: Any,
    equity: Any,
    counters: Any,
    last_mid: Any,
    end_ns: int,
    price_decimals: Any,
    calls: Any,
    sent: Any,
    leg_faults: Any,
    held: Any,
    pending_due: Any,
    order_latency: Any,
    pending_sent: Any,
    request_timeout: int,
) -> int:
    """Run until local time ``until_ns`` (or the end of data, or a full output buffer).

    Returns 0 when it stopped at ``until_ns``, 1 at the end of the data, 2 when ``fills`` or
    ``equity`` is full (the caller grows them and calls again), < 0 on an hftbacktest error.

    Leg faults (``leg_faults``, one ``LEG_FAULTS_DTYPE`` record): every intent draws its fault from
    its order id (:func:`arb.execution.faults.draw_fault`, as the paper executor does). A rejected
    order is not sent and is answered, unfilled, at the time an accepted one would be (entry plus
    response latency, ``order_latency[venue]``); a partial one is sent for the drawn part of its
    quantity; a late one is sent ``late_ns`` later. Such orders wait in ``held`` and count as open.

    An order unanswered ``request_timeout`` (ns) after it was sent counts as unknown to the gate
    (``rstate.unknown``) until its answer, as arb live counts a request that timed out.
    """
    levels = params[0]["book_levels"]
    one = levels - levels + 1  # the best level only, typed as ``levels`` (one compile of _fill_top, not two)
    n_dec = decision_ts.shape[0]
    cash, eq_venue, open_count = _open_orders(pending, held)
    faulty = leg_faults[0]["enabled"] != 0
    carried_act = False  # a decision put off until hftbacktest has given the answers due now
    carried_ticked = 0
    same_time = 0  # steps in a row without time passing (rejections answered at once with zero latency)
    last_now = hbt.current_timestamp
    fresh = True  # positions and balances must be read again (start, or after a fill)
    while True:
        if _outputs_full(fills, equity, calls, sent, intents, rstate, counters):
            return 2
        now = hbt.current_timestamp
        i = counters[C_CURSOR]
        target = until_ns
        if i < n_dec and decision_ts[i] < target:
            target = decision_ts[i]
        held_due = _NEVER
        sent_due = _NEVER  # when hftbacktest answers the first order it has
        if faulty:
            held_due, sent_due = _next_dues(held, pending, pending_due)
            if held_due < target:
                target = held_due
        waiting = open_count[0] + open_count[1] > 0
        act = False
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
        ticked = 0  # venues whose book changed since the last decision
        while i < n_dec and decision_ts[i] <= now:
            ticked |= decision_venues[i]
            i += 1
            act = True
        counters[C_CURSOR] = i

        # Order responses: record fills, forget answered orders.
        if waiting:
            for a in range(2):
                if open_count[a] == 0:
                    continue
                orders = hashmapbt_orders(hbt.ptr, a)  # what hbt.orders(a) wraps
                for k in range(_MAX_PENDING):
                    oid = pending[a, k]
                    if oid == 0:
                        continue
                    found = orders_get(orders, np.uint64(oid))  # what OrderDict.get wraps
                    if is_null_ptr(found):
                        pending[a, k] = 0
                        open_count[a] -= 1
                        act = True
                        continue
                    order = carray(address_as_void_pointer(found), 1, dtype=order_dtype)
                    status = order[0].status
                    if status == FILLED:
                        _record_fill(
                            fills, counters, now, order, a, price_decimals, maker_fee, taker_fee, pending_pair[a, k],
                            pending_kind[a, k], oid,
                        )  # fmt: skip
                        pending[a, k] = 0
                        open_count[a] -= 1
                        fresh = True
                        act = True
                    elif status == EXPIRED or status == CANCELED:
                        counters[C_EXPIRED] += 1
                        pending[a, k] = 0
                        open_count[a] -= 1
                        act = True
            if open_count[0] + open_count[1] == 0:
                hbt.clear_inactive_orders(ALL_ASSETS)

        if faulty:
            # Held orders due now: a late one goes to hftbacktest, a rejected one is answered.
            for k in range(held.shape[0]):
                h = held[k]
                if h["order_id"] == 0 or h["due"] > now:
                    continue
                a = h["venue"]
                oid = h["order_id"]
                h["order_id"] = 0
                if h["submit"] == 1:
                    due = now + order_latency[a, 0] + order_latency[a, 1]
                    if _submit(hbt, a, oid, h["side"], h["price"], h["qty"]) == 0 and _track(
                        pending,
                        pending_kind,
                        pending_pair,
                        pending_due,
                        pending_sent,
                        a,
                        oid,
                        h["kind"],
                        h["pair_id"],
                        due,
                        h["sent"],
                    ):
                        continue
                    counters[C_SUBMIT_ERRORS] += 1
                open_count[a] -= 1
                act = True
            # The paper executor answers everything due at one time before its driver decides: an
            # answer hftbacktest owes at this very time comes first.
            if _owed(pending, pending_due, now) and counters[C_DONE] == 0:
                carried_act = carried_act or act
                carried_ticked |= ticked
                continue
            act = act or carried_act
            ticked |= carried_ticked
            carried_act = False
            carried_ticked = 0

        if act or counters[C_DONE] == 1 or now >= until_ns:
            counters[C_DECISION_POINTS] += 1
            # The view: the best level of the venues that ticked; deeper levels only if the kernel may act.
            if ticked != 0:
                _fill_top(hbt, view, one, one - 1, ticked)
            if fresh:
                for a in range(2):
                    view[a]["position"] = hashmapbt_position(hbt.ptr, a)  # hbt.position(a), hbt.state_values(a)
                    sv = carray(address_as_void_pointer(hashmapbt_state_values(hbt.ptr, a)), 1, state_values_dtype)
                    cash[a] = sv[0].balance - sv[0].fee
                    view[a]["base_balance"] = init_base[a] + view[a]["position"]
                    view[a]["quote_balance"] = init_quote[a] + cash[a]
                fresh = False
            if _observe(
                now, act, view, params, counters, open_count, book_ts0, book_ts1, sync_ts0, sync_st0, sync_ts1,
                sync_st1, stale_after, init_base, init_quote, cash, last_mid, eq_venue, pending, pending_sent, held,
                request_timeout, limits, rstate, end_ns, equity, equity_interval,
            ):  # fmt: skip
                if levels > 1:
                    _fill_top(hbt, view, levels, one * _MAX_SCAN_TICKS, one * 3)
                n = _call_kernel(now, view, params, kstate, intents, limits, rstate, counters, calls)
                for k in range(n):
                    route, oid, fault, fillable, answer_due = _route(
                        now, intents, k, counters, faulty, leg_faults, params, held, order_latency
                    )
                    if route == _ROUTE_SUBMIT:
                        a = intents[k]["venue"]
                        ok = _submit(hbt, a, oid, intents[k]["side"], intents[k]["price"], fillable) == 0 and _track(
                            pending,
                            pending_kind,
                            pending_pair,
                            pending_due,
                            pending_sent,
                            a,
                            oid,
                            intents[k]["kind"],
                            intents[k]["pair_id"],
                            answer_due,
                            now,
                        )
                    else:
                        ok = route == _ROUTE_HELD
                    _log_sent(ok, now, intents, k, fault, counters, open_count, sent)
                if levels > 1:
                    # deeper levels are not kept current between decisions: drop them from the view
                    for a in range(2):
                        view[a]["bid_px"][1:levels] = np.nan
                        view[a]["ask_px"][1:levels] = np.nan
        if counters[C_DONE] == 1:
            return 1
        if now >= until_ns:
            return 0


@dataclass(slots=True)
class BacktestResult:
    """What a backtest produced (arrays in FILL_DTYPE / EQUITY_DTYPE)."""

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
    sync_losses: dict[str, int]
    out_of_sync: tuple[Spans, Spans]
    """Per venue, the spans ``(start_ns, end_ns)`` of local time its book was not synced, for the report."""
    rows: dict[str, int]
    local_shift_ns: int
    wall_s: float
    initial_base: tuple[float, float]
    initial_quote: tuple[float, float]
    risk_events: list[RiskEvent] = field(default_factory=list)
    """Every breach the gate reported (once per episode), in order."""


def decision_points(book_ts: list[np.ndarray[Any, Any]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Merge the venues' book-change times: (sorted distinct times, bit mask of the venues at each)."""
    times = np.unique(np.concatenate(book_ts))
    venues = np.zeros(len(times), np.int64)
    for a, ts in enumerate(book_ts):
        venues |= np.isin(times, ts).astype(np.int64) << a
    return times, venues


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
    """One hftbacktest over both venues (asset 0 Binance, asset 1 Bybit).

    The caller must keep ``session`` alive until the backtest is closed (hftbacktest reads the
    arrays in place).
    """
    assets = []
    for v, data in enumerate(session.venues):
        initial = data.initial.rows if data.initial is not None else None
        assets.append(_asset(data.venue, session.arrays[v], initial))
    return HashMapMarketDepthBacktest(assets)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the loop decides, and each venue's book and sync history (derived from the session's rows)."""

    book_ts: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
    syncs: tuple[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]], tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]
    decision_ts: np.ndarray[Any, Any]
    decision_venues: np.ndarray[Any, Any]

    @classmethod
    def of(cls, session: Session) -> Schedule:
        """Book-change times, sync transitions and the merged decision points of ``session``."""
        book_ts = (book_times(session.arrays[0]), book_times(session.arrays[1]))
        syncs = tuple(sync_transitions(session.arrays[v], session.venues[v].initial is not None) for v in range(2))
        decision_ts, decision_venues = decision_points(list(book_ts))
        return cls(book_ts, (syncs[0], syncs[1]), decision_ts, decision_venues)

    def out_of_sync(self, start_ns: int, end_ns: int) -> tuple[Spans, Spans]:
        """Per venue, the spans of ``[start_ns, end_ns)`` its book was not synced (what the view said)."""
        (ts0, state0), (ts1, state1) = self.syncs
        return out_of_sync_spans(ts0, state0, start_ns, end_ns), out_of_sync_spans(ts1, state1, start_ns, end_ns)


class Loop:
    """The compiled loop's inputs and outputs for one run: fresh kernel, gate and account state, and the
    fills, equity samples, kernel calls and intents it records (grown as needed)."""

    def __init__(self, config: AppConfig, session: Session, schedule: Schedule) -> None:
        venues = config.venues
        self.config = config
        self.session = session
        self.schedule = schedule
        self.params = make_params(config)
        self.kstate = new_state()
        self.view = new_view()
        self.intents = new_intents()
        self.limits = make_limits(config.risk, dust=max(v.instrument.lot_size for v in config.venues))
        self.rstate = new_risk_state()
        self.risk_events: list[RiskEvent] = []
        self._quote = quote_currency(config.strategy.symbol)
        self.init_base = np.array([v.account.base for v in venues])
        self.init_quote = np.array([v.account.quote for v in venues])
        self.maker = np.array([v.fees.maker for v in venues])
        self.taker = np.array([v.fees.taker for v in venues])
        self.pending = np.zeros((2, _MAX_PENDING), np.int64)
        self.pending_kind = np.zeros((2, _MAX_PENDING), np.int64)
        self.pending_pair = np.zeros((2, _MAX_PENDING), np.int64)
        self.pending_due = np.zeros((2, _MAX_PENDING), np.int64)
        self.pending_sent = np.zeros((2, _MAX_PENDING), np.int64)
        self.leg_faults = make_leg_faults(config.leg_faults)
        self.held = np.zeros(_MAX_PENDING, _HELD_DTYPE)
        self.order_latency = np.array(
            [[v.latency.order_entry_ns, v.latency.order_response_ns] for v in venues], np.int64
        )
        span = session.end_ns - session.start_ns
        self.fills: np.ndarray[Any, Any] = np.zeros(4096, FILL_DTYPE)
        self.equity: np.ndarray[Any, Any] = np.zeros(int(span // _EQUITY_INTERVAL_NS) + 16, EQUITY_DTYPE)
        self.calls: np.ndarray[Any, Any] = np.zeros(1024, DECISION_DTYPE)
        self.sent: np.ndarray[Any, Any] = np.zeros(1024, SENT_DTYPE)
        self.counters = np.zeros(N_COUNTERS, np.int64)
        self.counters[C_NEXT_ORDER_ID] = 1
        self.last_mid = np.full(2, np.nan)
        self.price_decimals = np.array([_decimals(v.instrument.tick_size) for v in venues], np.int64)

    def _log_risk_events(self) -> None:
        # The breaches the gate wrote since the last call, logged as the engine logs them (at data time).
        for event in drain_events(self.rstate):
            self.risk_events.append(event)
            when = dt.datetime.fromtimestamp(event.ts / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            text = event_text(event.code, event.value, event.limit, self.limits, self._quote)
            log.warning("risk at %s UTC: %s", when, text)

    def run(self, hbt: HashMapMarketDepthBacktest, until_ns: int) -> int:
        """Run the compiled loop to local time ``until_ns``; 0 there, 1 at the end of the data.

        Output buffers that fill up are grown and the loop resumed. Raises ``RuntimeError`` on an
        hftbacktest error code.
        """
        sch = self.schedule
        while True:
            rc: int = _run_loop(
                hbt, until_ns, sch.decision_ts, sch.decision_venues, sch.book_ts[0], sch.book_ts[1],
                sch.syncs[0][0], sch.syncs[0][1], sch.syncs[1][0], sch.syncs[1][1], self.params, self.kstate,
                self.view, self.intents, self.limits, self.rstate, self.init_base, self.init_quote, self.maker,
                self.taker, self.config.risk.stale_after_ns, _EQUITY_INTERVAL_NS, self.pending, self.pending_kind,
                self.pending_pair, self.fills, self.equity, self.counters, self.last_mid, self.session.end_ns,
                self.price_decimals, self.calls, self.sent, self.leg_faults, self.held, self.pending_due,
                self.order_latency, self.pending_sent, self.config.live.request_timeout_ns,
            )  # fmt: skip
            self._log_risk_events()
            if rc != 2:
                break
            c = self.counters
            if c[C_FILLS] >= len(self.fills) - 2 * _MAX_PENDING:
                self.fills = np.concatenate([self.fills, np.zeros(len(self.fills), FILL_DTYPE)])
            if c[C_EQUITY] >= len(self.equity) - 2:
                self.equity = np.concatenate([self.equity, np.zeros(len(self.equity), EQUITY_DTYPE)])
            if c[C_CALLS] >= len(self.calls) - 1:
                self.calls = np.concatenate([self.calls, np.zeros(len(self.calls), DECISION_DTYPE)])
            if c[C_SENT] >= len(self.sent) - len(self.intents):
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
    two = np.zeros(2, np.int64)
    cash = np.zeros(2)
    intent = loop.intents[0]
    held = loop.held[0]
    pend = (loop.pending, loop.pending_kind, loop.pending_pair, loop.pending_due, loop.pending_sent)
    return [
        (_open_orders, (loop.pending, loop.held)),
        (_outputs_full, (loop.fills, loop.equity, loop.calls, loop.sent, loop.intents, loop.rstate, loop.counters)),
        (_next_dues, (loop.held, loop.pending, loop.pending_due)),
        (_owed, (loop.pending, loop.pending_due, i64)),
        (
            _record_fill,
            (loop.fills, loop.counters, i64, np.zeros(1, order_dtype), i64, loop.price_decimals, loop.maker,
             loop.taker, i64, i64, i64),
        ),
        (
            _observe,
            (i64, True, loop.view, loop.params, loop.counters, two, ts, ts, ts, ts, ts, ts, i64, loop.init_base,
             loop.init_quote, cash, loop.last_mid, cash, loop.pending, loop.pending_sent, loop.held, i64, loop.limits,
             loop.rstate, i64, loop.equity, i64),
        ),
        (_call_kernel, (i64, loop.view, loop.params, loop.kstate, loop.intents, loop.limits, loop.rstate,
                        loop.counters, loop.calls)),
        (_route, (i64, loop.intents, i64, loop.counters, True, loop.leg_faults, loop.params, loop.held,
                  loop.order_latency)),
        (_log_sent, (True, i64, loop.intents, i64, i64, loop.counters, two, loop.sent)),
        (_track, (*pend, intent["venue"], i64, intent["kind"], intent["pair_id"], i64, i64)),
        (_track, (*pend, held["venue"], held["order_id"], held["kind"], held["pair_id"], i64, held["sent"])),
    ]  # fmt: skip


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
    session = load_session(config, days, on_status, allow_damaged=allow_damaged)
    schedule = Schedule.of(session)
    if warming is not None:
        warming.join()  # its helpers are in Numba's cache now: the loop links them instead of compiling them
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
    loop = Loop(config, session, schedule)
    span = session.end_ns - session.start_ns
    hbt = build_hbt(config, session)
    try:
        hbt.elapse(1)  # hftbacktest's clock starts at the first event only after a first step
        chunk = max(span // 200, NS_PER_S)
        until = session.start_ns + chunk
        while True:
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
    st = loop.kstate[0]
    rs = loop.rstate[0]
    venues = config.venues
    return BacktestResult(
        fills=loop.fills[: counters[C_FILLS]].copy(),
        equity=loop.equity[: counters[C_EQUITY]].copy(),
        calls=loop.calls[: counters[C_CALLS]].copy(),
        sent=loop.sent[: counters[C_SENT]].copy(),
        days=days,
        start_ns=session.start_ns,
        end_ns=session.end_ns,
        counters={name: int(counters[i]) for i, name in enumerate(names)},
        kernel_state={name: int(st[name]) for name in st.dtype.names},
        risk_state=risk_figures(rs),
        sync_losses={v.name: int(np.sum(loop.schedule.syncs[i][1][1:] == 0)) for i, v in enumerate(venues)},
        out_of_sync=loop.schedule.out_of_sync(session.start_ns, session.end_ns),
        rows={v.name: session.rows(i) for i, v in enumerate(venues)},
        local_shift_ns=session.local_shift_ns,
        wall_s=time.perf_counter() - started,
        initial_base=(float(loop.init_base[0]), float(loop.init_base[1])),
        initial_quote=(float(loop.init_quote[0]), float(loop.init_quote[1])),
        risk_events=loop.risk_events,
    )
