"""arb's side of every strategy: what the guard knows of a venue's grids, of flatness, of order state,
and the rule that closes a lone leg. Compiled functions, no loop, no clock, no I/O.

These are the guard's (:mod:`arb.strategy.guard`), not any strategy's: the guard rounds an intent onto a
venue's tick and lot grids (:func:`floor_to_grid`, :func:`ceil_to_grid`, with :data:`GRID_EPS` of
slack), asks whether a venue takes orders now (:func:`takes_orders`), whether anything is unanswered
(:func:`unanswered`) and whether the venues' positions cancel out (:func:`net_position`,
:func:`is_dust`), and closes a naked leg with one immediate-or-cancel order (:func:`hedge`: ``hedge``
or ``unwind`` mode, priced at each venue's touch net of its taker fee, more slippage at each retry,
``HEDGE_FAILED`` past ``max_hedge_attempts``; the rules are the guard's rule 2). The built-in
strategies (:mod:`arb.strategies`: the taker, the maker-taker, the funding carry) use them too,
as a user's strategy may: they read only the view and arb's ``rules`` record.

Units as everywhere: ``_ns`` int64 nanoseconds, prices in quote currency, quantities in base units.
"""

from __future__ import annotations

__all__ = [
    "GRID_EPS",
    "ceil_to_grid",
    "floor_to_grid",
    "hedge",
    "is_dust",
    "net_position",
    "takes_orders",
    "unanswered",
]

from typing import Any

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb._alloc import empty
from arb.strategy.types import (
    BUY,
    HEDGE_FAILED,
    INTENT_HEDGE,
    INTENT_UNWIND,
    MARKET_SPOT,
    SELL,
    VENUE_OK,
)

GRID_EPS = 1e-9  # grid rounding slack, in units of the grid step


@nb.njit(cache=True, nogil=True, twin=True)
def floor_to_grid(x: float, step: float) -> float:
    """The largest multiple of ``step`` not above ``x`` (tolerating float noise)."""
    return float(np.floor(x / step + GRID_EPS) * step)


@nb.njit(cache=True, nogil=True, twin=True)
def ceil_to_grid(x: float, step: float) -> float:
    """The smallest multiple of ``step`` not below ``x`` (tolerating float noise)."""
    return float(np.ceil(x / step - GRID_EPS) * step)


@nb.njit(cache=True, nogil=True, twin=True)
def takes_orders(view: Any, v: int, now_ns: int) -> bool:
    """Whether venue ``v`` can take an order at ``now_ns`` as the view says: its book is synced and fresh
    (``VENUE_OK``) and the executor does not hold orders back from it (``blocked_until_ns``)."""
    return bool(view[v]["status"] == VENUE_OK and now_ns >= view[v]["blocked_until_ns"])


@nb.njit(cache=True, internal=True, nogil=True)
def _can_trade(view: Any, p: Any, v: int, side: int, qty: float, price: float, now_ns: int) -> bool:
    # Would venue v accept this order now (status, held back, spot balances, minimums)?
    if not takes_orders(view, v, now_ns) or not (price > 0.0) or qty <= 0.0:
        return False
    if qty + GRID_EPS * p["lot_size"][v] < p["min_qty"][v] or qty * price < p["min_notional"][v]:
        return False
    if p["market"][v] == MARKET_SPOT:
        if side == SELL and view[v]["base_balance"] + GRID_EPS * p["lot_size"][v] < qty:
            return False
        if side == BUY and view[v]["quote_balance"] < qty * price * (1.0 + p["taker_fee"][v]):
            return False
    return True


@nb.njit(cache=True, internal=True, nogil=True)
def _hedge_price(view: Any, p: Any, v: int, side: int) -> float:
    # What an order of ``side`` gets on venue v at its touch, net of the taker fee (a sell: the bid
    # less the fee; a buy: the ask plus it, negated so that higher is better); -inf on an empty side.
    if side == SELL:
        px = view[v]["bid_px"][0] * (1.0 - p["taker_fee"][v])
    else:
        px = -view[v]["ask_px"][0] * (1.0 + p["taker_fee"][v])
    return float(px) if px == px else -np.inf


@nb.njit(cache=True, internal=True, nogil=True)
def _by_price(view: Any, p: Any, side: int, order: Any, lo: int, hi: int) -> None:
    # Sort the venues ``order[lo:hi]`` best price first for ``side`` (:func:`_hedge_price`); a tie keeps
    # the lower venue number first.
    for i in range(lo + 1, hi):
        v = order[i]
        px = _hedge_price(view, p, v, side)
        j = i
        while j > lo and _hedge_price(view, p, order[j - 1], side) < px:
            order[j] = order[j - 1]
            j -= 1
        order[j] = v


@nb.njit(cache=True, internal=True, nogil=True)
def _hedge_order(view: Any, p: Any, side: int, filled: int, swap: bool, order: Any) -> int:
    # The venues a lone leg's hedge or unwind tries, in turn, into ``order``; returns how many. With a
    # leg on record (``filled``: the venue it filled on), ``hedge`` mode tries the other venues first,
    # best price first, then ``filled`` itself (an unwind); ``unwind`` mode ``filled`` first, then the
    # others. ``swap`` (the attempts are spent: alternate) puts the preferred group last. With no leg on
    # record, every venue, best price first (``swap``: the best one last).
    n: int = view.shape[0]
    k = 0
    if filled < 0:
        for v in range(n):
            order[k] = v
            k += 1
        _by_price(view, p, side, order, 0, n)
        if swap:
            first = order[0]
            for i in range(1, n):
                order[i - 1] = order[i]
            order[n - 1] = first
        return n
    unwind_first = (p["hedge_unwind"] == 1) != swap
    if unwind_first:
        order[0] = filled
        k = 1
    start = k
    for v in range(n):
        if v != filled:
            order[k] = v
            k += 1
    _by_price(view, p, side, order, start, k)
    if not unwind_first:
        order[k] = filled
        k += 1
    return k


@nb.njit(cache=True, nogil=True, twin=True)
def hedge(view: Any, p: Any, st: Any, net: float, intents: Any, now_ns: int) -> int:
    """The lone-leg rule: one IOC order into ``intents[0]`` that brings the net position ``net`` back to
    zero (``st``: arb's state record of the symbol, its attempts and the last pair's venues); returns 1,
    or 0 when no venue can take it now (or a retry waits for a fresher book)."""
    side = SELL if net > 0.0 else BUY
    # The venue whose leg filled alone: hedge mode completes the pair on the best of the others, unwind
    # mode reverses it there.
    filled = st["last_buy_venue"] if net > 0.0 else st["last_sell_venue"]
    attempts = st["hedge_attempts"]
    swap = False
    if attempts >= p["max_hedge_attempts"]:  # the attempts are spent and the exposure is still there
        st["flags"] = st["flags"] | HEDGE_FAILED
        if now_ns - st["last_hedge_ns"] < p["hedge_retry_ns"]:
            return 0
        swap = (attempts - p["max_hedge_attempts"]) % 2 == 0
    order = empty(view.shape[0], np.int64)
    tried = _hedge_order(view, p, side, filled, swap, order)
    slip = min(p["slippage_bps"] * (1 + attempts), p["stop_loss_bps"]) * 1e-4
    for k in range(tried):
        v = order[k]
        lot = p["lot_size"][v]
        qty = floor_to_grid(abs(net), lot)
        if side == SELL:
            price = ceil_to_grid(view[v]["bid_px"][0] * (1.0 - slip), p["tick_size"][v])
        else:
            price = floor_to_grid(view[v]["ask_px"][0] * (1.0 + slip), p["tick_size"][v])
        if not _can_trade(view, p, v, side, qty, price, now_ns):
            continue
        if attempts > 0 and v == st["hedge_venue"] and view[v]["book_local_ts"] <= st["hedge_book_ns"]:
            # the last attempt there was priced on this very book (whose best level our own fill may
            # have taken): wait for a fresher one rather than spend the attempts on it
            return 0
        intents[0]["venue"] = v
        intents[0]["side"] = side
        intents[0]["price"] = price
        intents[0]["qty"] = qty
        intents[0]["kind"] = INTENT_UNWIND if v == filled else INTENT_HEDGE
        intents[0]["pair_id"] = st["last_pair_id"]
        intents[0]["level"] = 0
        st["hedge_attempts"] = attempts + 1
        st["last_hedge_ns"] = now_ns
        st["hedge_venue"] = v
        st["hedge_book_ns"] = view[v]["book_local_ts"]
        st["hedges"] += 1
        return 1
    return 0


@nb.njit(cache=True, nogil=True, twin=True)
def is_dust(view: Any, p: Any, net: float) -> bool:
    """Whether the exposure ``net`` is one no venue could trade (below every lot or minimum): flat."""
    for v in range(view.shape[0]):
        qty = floor_to_grid(abs(net), p["lot_size"][v])
        price = view[v]["bid_px"][0] if net > 0.0 else view[v]["ask_px"][0]
        tradeable = qty > 0.0 and qty + GRID_EPS * p["lot_size"][v] >= p["min_qty"][v]
        if tradeable and (not (price > 0.0) or qty * price >= p["min_notional"][v]):
            return False
    return True


@nb.njit(cache=True, nogil=True, twin=True)
def net_position(view: Any) -> float:
    """The net position over the venues of ``view`` (base units: what a hedge must bring back to 0)."""
    net: float = view[0]["position"]
    for v in range(1, view.shape[0]):
        net = net + view[v]["position"]
    return net


@nb.njit(cache=True, nogil=True, twin=True)
def unanswered(view: Any) -> bool:
    """Whether any venue of ``view`` has an order unanswered (``open_orders``)."""
    for v in range(view.shape[0]):  # noqa: SIM110 - a generator in any() does not compile in nopython mode
        if view[v]["open_orders"] > 0:
            return True
    return False
