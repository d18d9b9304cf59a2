"""What our taker orders took from the venues' books: the one rule the backtest and the paper venue fill by.

An immediate-or-cancel order takes the levels at or better than its limit, best first, at each level's
own price, never more than a level shows **net of what our earlier orders took from it** (rounded down
to the lot); whatever it cannot take expires. What an order took from a price level is not there for
us again until the venue's level changes: a new quantity at that price, or the level leaving (and
perhaps coming back). The data does not know about us, so a level the venue still shows unchanged
still holds our earlier take.

The memory is :data:`TAKEN_DTYPE` slots, ``TAKEN_SLOTS`` per asset (``n_venues * symbol + venue``) and book
side (0: bids, what a sell takes; 1: asks, what a buy takes): the level's price in ticks, the quantity
it showed when we last took from it, and how much we took since it showed that quantity. A slot is
free when its ``taken`` is 0.

Two calls make the rule, both compiled and called alike from the backtest's compiled loop
(:mod:`arb.backtest.compiled_loop`) and from the paper executor (:mod:`arb.execution.paper`):

- :func:`take_levels` fills one order against the levels the driver's book shows at the order's arrival;
- :func:`forget_changed` is called after every change of an asset's book with what the book now shows
  at each remembered level (:func:`remembered` lists them): a level that shows another quantity, or
  none, is forgotten. :func:`forget_changed_in_book` does both in one call on an
  :class:`arb.book.OrderBook`'s arrays (the paper venue's book).

Each driver reads its own book (hftbacktest's depth, :class:`arb.book.OrderBook`) into plain arrays;
the rule itself exists once.
"""

from __future__ import annotations

__all__ = [
    "SWEEP_LEVELS",
    "TAKEN_DTYPE",
    "TAKEN_SLOTS",
    "book_qty_at",
    "forget_changed",
    "forget_changed_in_book",
    "new_taken",
    "remembered",
    "take_levels",
]

from typing import Any, Final

import numpy as np

from arb._alloc import zeros
from arb._jit import njit

TAKEN_SLOTS: Final = 32
"""Levels remembered per asset and side; an order does not take from a level it could not remember."""

SWEEP_LEVELS: Final = 50
"""Levels an order may sweep, best first (the paper venue's and the backtest's depth read)."""

TAKEN_DTYPE: Final = np.dtype([("tick", "i8"), ("shown", "f8"), ("taken", "f8")], align=True)
"""One remembered level: its price in ticks, the quantity it showed when we took, what we took (0: free)."""

_TOL: Final = 1e-9  # the grid tolerance of arb.execution.paper: prices absolute, quantities in lots
_BUY: Final = 1


def new_taken(n_assets: int) -> np.ndarray[Any, Any]:
    """Empty memory for ``n_assets`` assets: ``(n_assets, 2, TAKEN_SLOTS)`` :data:`TAKEN_DTYPE` slots."""
    return np.zeros((n_assets, 2, TAKEN_SLOTS), TAKEN_DTYPE)


@njit(cache=True, nogil=True, twin=True)
def take_levels(taken: Any, a: int, side: int, levels: Any, limit: float, want: float, grid: Any) -> Any:
    """Fill a ``side`` (1 buy, -1 sell) order of asset ``a`` for up to ``want`` at limit ``limit``
    against ``levels``, ``(prices, quantities)`` of the side it takes (asks for a buy), best first (a
    NaN price or a quantity of 0 ends them), remembering what it took in ``taken``. ``grid``: the
    asset's ``(tick_size, lot_size)``. Returns ``(filled, cost, price)``: the quantity taken (a multiple
    of the lot), its value at the levels' own prices, and the fill's price: the level's when it took
    one level, ``cost / filled`` for a sweep; 0, 0, NaN when nothing could be taken."""
    px, qty = levels
    tick, lot = grid[0], grid[1]
    slots = taken[a, 1 if side == _BUY else 0]
    remaining = want
    filled = 0.0
    cost = 0.0
    price = np.nan
    swept = False
    for i in range(px.shape[0]):
        if remaining <= _TOL * lot:
            break
        p = px[i]
        shown = qty[i]
        if not (shown > 0.0) or p != p:
            break
        if (side == _BUY and p > limit + _TOL) or (side != _BUY and p < limit - _TOL):
            break
        key = np.int64(np.rint(p / tick))
        j = -1
        free = -1
        for k in range(slots.shape[0]):
            if slots[k]["taken"] > 0.0:
                if slots[k]["tick"] == key:
                    j = k
            elif free < 0:
                free = k
        left = shown
        if j >= 0:
            if slots[j]["shown"] == shown:
                left = shown - slots[j]["taken"]
            else:  # the level changed since we took from it: what it shows now is all there
                slots[j]["taken"] = 0.0
        elif free < 0:
            continue  # no room to remember it: not taken, so never taken twice
        else:
            j = free
        got = min(remaining, left)
        lots = np.floor(got / lot + _TOL)
        if abs(got - lots * lot) > _TOL * lot:
            got = lots * lot  # down to the lot (a quantity already on it is kept as it is, without float noise)
        if got <= 0.0:
            continue
        slots[j]["tick"] = key
        slots[j]["shown"] = shown
        slots[j]["taken"] += got
        swept = filled > 0.0
        price = p
        cost += got * p
        filled += got
        remaining -= got
    return filled, cost, cost / filled if swept else price


@njit(cache=True, nogil=True, twin=True)
def remembered(taken: Any, a: int, out: Any) -> int:
    """The ticks of asset ``a``'s remembered levels into ``out`` (``(2, TAKEN_SLOTS)`` int64, -1 where
    a slot is free); returns how many there are (0: nothing to check)."""
    n = 0
    for s in range(2):
        for k in range(taken.shape[2]):
            if taken[a, s, k]["taken"] > 0.0:
                out[s, k] = taken[a, s, k]["tick"]
                n += 1
            else:
                out[s, k] = -1
    return n


@njit(cache=True, nogil=True, twin=True)
def forget_changed(taken: Any, a: int, shown_now: Any) -> None:
    """After asset ``a``'s book changed: ``shown_now[s, k]`` is what the book now shows at the level of
    slot ``(s, k)`` (0 where it has none); every level that shows another quantity than when we took
    from it (a new quantity, or gone) is forgotten, so all it shows is there again."""
    for s in range(2):
        for k in range(taken.shape[2]):
            slot = taken[a, s, k]
            if slot["taken"] > 0.0 and shown_now[s, k] != slot["shown"]:
                slot["taken"] = 0.0


@njit(cache=True, nogil=True)
def book_qty_at(keys: Any, qtys: Any, n: int, key: float, half_tick: float) -> float:
    """The quantity of an :class:`arb.book.OrderBook` side (its sorted ``keys[:n]``, ``qtys``) at the
    level whose key is within ``half_tick`` of ``key`` (a bid's key is its price, an ask's minus its
    price); 0 when there is none."""
    i = np.searchsorted(keys[:n], key - half_tick)
    if i < n and abs(keys[i] - key) < half_tick:
        return float(qtys[i])
    return 0.0


@njit(cache=True, nogil=True)
def forget_changed_in_book(
    taken: Any, a: int, bid_keys: Any, bid_qtys: Any, ask_keys: Any, ask_qtys: Any, counts: Any, tick: float
) -> int:
    """:func:`forget_changed` for asset ``a`` with what an :class:`arb.book.OrderBook` (its ``arrays``) now
    shows at each remembered level, looked up here in one call. Returns how many levels are still
    remembered (0: the memory of ``a`` is empty)."""
    slots = taken.shape[2]
    shown = zeros((2, slots), np.float64)
    half = 0.5 * tick
    held = 0
    for k in range(slots):
        if taken[a, 0, k]["taken"] > 0.0:
            shown[0, k] = book_qty_at(bid_keys, bid_qtys, counts[0], taken[a, 0, k]["tick"] * tick, half)
        if taken[a, 1, k]["taken"] > 0.0:
            shown[1, k] = book_qty_at(ask_keys, ask_qtys, counts[1], -taken[a, 1, k]["tick"] * tick, half)
    forget_changed(taken, a, shown)
    for s in range(2):
        for k in range(slots):
            if taken[a, s, k]["taken"] > 0.0:
                held += 1
    return held
