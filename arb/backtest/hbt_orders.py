"""The backtest loop's orders: the ones hftbacktest has, the ones the leg-fault model holds back, and
the loop's output rows about them (fills, intents sent). Compiled helpers of
:func:`arb.backtest.compiled_loop._run_loop`; the tuples they take are described there.
"""

from __future__ import annotations

__all__ = [
    "C_CALLS",
    "C_CANCELS",
    "C_CURSOR",
    "C_DECISION_POINTS",
    "C_DONE",
    "C_EQUITY",
    "C_EXPIRED",
    "C_FILLS",
    "C_FUNDING",
    "C_INTENTS",
    "C_KERNEL_CALLS",
    "C_MAKER_FILLS",
    "C_NEXT_ORDER_ID",
    "C_NEXT_PAIR_ID",
    "C_NEXT_SAMPLE",
    "C_ORDERS",
    "C_POST_ONLY_REJECTS",
    "C_QUOTES",
    "C_SENT",
    "C_SUBMIT_ERRORS",
    "N_COUNTERS",
    "fill_row",
    "sent_row",
]

from typing import Any

import numpy as np

from arb._jit import njit
from arb.execution.leg_faults import FAULT_LATE, FAULT_NONE, FAULT_PARTIAL, FAULT_REJECT, draw_fault
from arb.execution.risk import EVENTS_KEPT

_MAX_PENDING = 128

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
C_QUOTES = 16  # maker_taker: quotes sent to hftbacktest
C_CANCELS = 17  # maker_taker: cancels sent
C_POST_ONLY_REJECTS = 18  # maker_taker: quotes that would have taken (hftbacktest expired them)
C_MAKER_FILLS = 19  # maker_taker: quotes filled
N_COUNTERS = 20

_NEVER = np.iinfo(np.int64).max
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
    # record, what hftbacktest's Order reads).
    pending, pending_kind, pending_pair = orders.pending, orders.kind, orders.pair
    fill_row(fills, run, now, order, a, pending[a, k], pending_kind[a, k], pending_pair[a, k])


@njit(cache=True)
def fill_row(fills: Any, run: Any, now: int, order: Any, a: int, oid: int, kind: int, pair: int) -> None:
    """The fill hftbacktest's ``order`` (one ``order_dtype`` record) reports, as the next row of ``fills``:
    asset ``a``'s order ``oid``, sent for an intent of ``kind`` in pair ``pair``; its fee at the venue's
    maker or taker rate as hftbacktest says it filled (``exec_price_tick`` x ``tick_size``, rounded to the
    tick's decimals: the product has float noise)."""
    settings, counters, price_decimals = run.settings, run.counters, run.price_decimals
    o = order[0]
    n = counters[C_FILLS]
    v = a % 2
    fills[n]["local_ts"] = now
    fills[n]["exch_ts"] = o.exch_timestamp
    fills[n]["venue"] = v
    fills[n]["symbol"] = a // 2
    fills[n]["side"] = o.side
    fills[n]["price"] = np.round(o.exec_price_tick * o.tick_size, price_decimals[a])
    fills[n]["qty"] = o.exec_qty
    rate = settings[0]["maker_fee"][v] if o.maker else settings[0]["taker_fee"][v]
    fills[n]["fee"] = fills[n]["price"] * o.exec_qty * rate
    fills[n]["pair_id"] = pair
    fills[n]["kind"] = kind
    fills[n]["order_id"] = oid
    counters[C_FILLS] = n + 1


@njit(cache=True)
def _route(now: int, s: int, k: int, kernel: Any, run: Any, held: Any) -> tuple[int, int, int, float, int]:
    # Symbol s's intent k gets the next order id and draws its leg fault: (route, order id, fault,
    # quantity to send, time its answer is due). A late or rejected leg is kept in ``held`` here.
    params, intents = kernel[0], kernel[2]
    settings, counters, leg_faults = run.settings, run.counters, run.leg_faults
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
    _, _, intents = symbols.kernel
    views = symbols.views
    it = intents[s][k]
    v = it["venue"]
    open_count[2 * s + v] += 1
    views[s][v]["open_orders"] += 1
    counters[C_ORDERS] += 1
    sent_row(sent, counters, now, it, fault, s)


@njit(cache=True)
def sent_row(sent: Any, counters: Any, now: int, it: Any, fault: int, s: int) -> None:
    """Intent ``it`` of symbol ``s``, sent at ``now`` with leg fault ``fault``, as the next row of the sent log."""
    m = counters[C_SENT]
    sent[m]["ts"] = now
    sent[m]["venue"] = it["venue"]
    sent[m]["side"] = it["side"]
    sent[m]["price"] = it["price"]
    sent[m]["qty"] = it["qty"]
    sent[m]["kind"] = it["kind"]
    sent[m]["pair_id"] = it["pair_id"]
    sent[m]["level"] = it["level"]
    sent[m]["fault"] = fault
    sent[m]["symbol"] = s
    counters[C_SENT] = m + 1
