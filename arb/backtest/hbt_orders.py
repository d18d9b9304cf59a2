"""The backtest loop's counters and output rows about its orders (fills, intents sent). Compiled helpers
of :func:`arb.backtest.compiled_loop._run_loop`; the tuples they take are described there. The taker
orders themselves are :mod:`arb.backtest.taker_fills`'s, the resting quotes :mod:`arb.backtest.hbt_quotes`'s.
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
    "round_places",
    "sent_row",
]

from typing import Any

import numpy as np

from arb._alloc import zeros
from arb._jit import njit
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


@njit(cache=True, internal=True, inline="always")
def _open_orders(flight: Any, n_symbols: int, n_venues: int) -> tuple[Any, Any, Any, Any, Any]:
    # Scratch arrays of a call of _run_loop: (cash and equity per symbol and venue, PnL per symbol,
    # open orders per asset, the assets that ticked), the open orders being the taker orders on their
    # way (``flight``, arb.backtest.taker_fills).
    cash = zeros((n_symbols, n_venues), np.float64)
    eq_venue = zeros((n_symbols, n_venues), np.float64)
    pnl_sym = zeros(n_symbols, np.float64)
    out = zeros(n_venues * n_symbols, np.int64)
    for k in range(flight.shape[0]):
        if flight[k]["order_id"] != 0:
            out[flight[k]["asset"]] += 1
    return cash, eq_venue, pnl_sym, out, zeros(n_venues * n_symbols, np.int64)


@njit(cache=True, internal=True, inline="always")
def _outputs_full(outs: Any, flight: Any, intents: Any, gate_state: Any, counters: Any) -> bool:
    # True when an output buffer may not take another step (the driver grows it and calls again): a
    # step fills at most every order on its way (``flight``, _MAX_PENDING an asset).
    fills, equity, calls, sent = outs.fills, outs.equity, outs.calls, outs.sent
    n_symbols = intents.shape[0]
    return bool(
        counters[C_FILLS] >= fills.shape[0] - flight.shape[0]
        or counters[C_EQUITY] >= equity.shape[0] - 2 * n_symbols
        or counters[C_CALLS] >= calls.shape[0] - n_symbols
        or counters[C_SENT] >= sent.shape[0] - intents.size
        or gate_state[0]["ev_count"] - gate_state[0]["ev_drained"] >= EVENTS_KEPT - min(8 * n_symbols, EVENTS_KEPT // 2)
    )


@njit(cache=True, internal=True, inline="always")
def round_places(x: float, places: int) -> float:
    """``np.round(x, places)`` (NumPy's rule: scaled by ``10**places``, rounded half to even, scaled back;
    the same bits), typed inside its caller: Numba's overload of ``np.round`` compiles anew in every
    process, never cached."""
    if places >= 0:
        scale = 10.0**places
        return float(np.rint(x * scale) / scale)
    scale = 10.0 ** (-places)
    return float(np.rint(x / scale) * scale)


@njit(cache=True)
def fill_row(fills: Any, run: Any, now: int, order: Any, a: int, oid: int, kind: int, pair: int) -> None:
    """The fill hftbacktest's ``order`` (one ``order_dtype`` record) reports, as the next row of ``fills``:
    asset ``a``'s order ``oid``, sent for an intent of ``kind`` in pair ``pair``; its fee at the venue's
    maker or taker rate as hftbacktest says it filled (``exec_price_tick`` x ``tick_size``, rounded to the
    tick's decimals: the product has float noise)."""
    settings, counters, price_decimals = run.settings, run.counters, run.price_decimals
    o = order[0]
    n = counters[C_FILLS]
    n_venues = settings[0]["n_venues"]
    v = a % n_venues
    fills[n]["local_ts"] = now
    fills[n]["exch_ts"] = o.exch_timestamp
    fills[n]["venue"] = v
    fills[n]["symbol"] = a // n_venues
    fills[n]["side"] = o.side
    fills[n]["price"] = round_places(o.exec_price_tick * o.tick_size, price_decimals[a])
    fills[n]["qty"] = o.exec_qty
    rate = settings[0]["maker_fee"][v] if o.maker else settings[0]["taker_fee"][v]
    fills[n]["fee"] = fills[n]["price"] * o.exec_qty * rate
    fills[n]["pair_id"] = pair
    fills[n]["kind"] = kind
    fills[n]["order_id"] = oid
    counters[C_FILLS] = n + 1


@njit(cache=True, twin=True)
def _log_sent(now: int, s: int, k: int, fault: int, symbols: Any, counters: Any, open_count: Any, sent: Any) -> None:
    # Symbol s's intent k went out (sent to hftbacktest or held): count it open (in its view too, for
    # the gate of the next symbol deciding at this time) and log it. ``symbols``: _run_loop's.
    intents = symbols.kernel.intents
    views = symbols.views
    it = intents[s][k]
    v = it["venue"]
    open_count[views.shape[1] * s + v] += 1
    views[s][v]["open_orders"] += 1
    counters[C_ORDERS] += 1
    sent_row(sent, counters, now, it, fault, s)


@njit(cache=True, twin=True)
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
