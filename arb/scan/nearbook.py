"""An order book for readers of the top levels only: the best levels kept exact at every message, the deep ones
brought in when they could matter.

:class:`arb.book.OrderBook` keeps each side sorted with the best level last, so an update near the best moves a
few elements and one deep in a thousand-level book (a diff stream touches every level that changed) moves
almost all of them: most of a deep book's cost is levels the scan never looks at. Here an update to a price
worse than the side's *bound* (the price of its ``deep``-th best level when the bound was last set) is not
applied but kept aside, in order; an update at or better than the bound is applied at once, as the book does.
The kept updates are merged into the side (sorted, the last write of each price winning, as applying them in
order would) when the side holds fewer than ``need`` levels at or better than its bound (a deep level could now
be among the best ``need``), when the room for them is full, before a clear, and before a crossing update
reaches past the other side's bound. So the best ``need`` levels of each side equal the full book's after every
message, which a test checks against :class:`~arb.book.OrderBook` on real captures.

Rows are hftbacktest event rows as :mod:`arb.book` applies them (depth and snapshot rows set a level, clear rows
remove, a level that crosses the other side's best removes the crossed levels); arb's sync events and every
other kind are left to the caller.
"""

from __future__ import annotations

__all__ = ["NearBook", "apply_message", "side_levels"]

from typing import Any

import numpy as np

from arb._jit import njit
from arb.events import BUY_EVENT, DEPTH_CLEAR_EVENT, DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, EVENT_KIND_MASK, SELL_EVENT

_N_BID, _N_ASK, _P_BID, _P_ASK, _NEED, _DEEP = range(6)
"""Fields of the book's ``ints``: level counts, kept-update counts, the levels read, the bound's depth."""
_OK = 0
_FULL = 1
""":func:`apply_message`'s answers: applied, or a side's arrays have no room (grow them, apply it again)."""


@njit(cache=True, nogil=True)
def _bisect(keys: Any, n: int, key: float) -> int:
    lo = 0
    hi = n
    while lo < hi:
        mid = lo + ((hi - lo) >> 1)
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _merge(keys: Any, qtys: Any, n: int, pk: Any, pq: Any, p: int, spare: Any) -> int:
    # keys[:n] (ascending) with the kept updates pk[:p], pq[:p] applied in order; returns the new count.
    # Needs len(keys) >= n + p and len(spare) >= 2 * (n + p).
    order = np.argsort(pk[:p], kind="mergesort")  # stable: equal prices keep their order, the last wins
    out_k = spare[: n + p]
    out_q = spare[n + p : 2 * (n + p)]
    i = 0
    j = 0
    m = 0
    while i < n or j < p:
        if j < p:
            k = order[j]
            while j + 1 < p and pk[order[j + 1]] == pk[k]:  # the last write of this price
                j += 1
                k = order[j]
            key = pk[k]
        if j >= p or (i < n and keys[i] < key):
            out_k[m] = keys[i]
            out_q[m] = qtys[i]
            m += 1
            i += 1
            continue
        if i < n and keys[i] == key:
            i += 1
        if pq[k] > 0.0:
            out_k[m] = key
            out_q[m] = pq[k]
            m += 1
        j += 1
    keys[:m] = out_k[:m]
    qtys[:m] = out_q[:m]
    return m


@njit(cache=True, nogil=True)
def _settle(book: Any, bids: bool) -> None:
    # Merge the side's kept updates and set its bound at its ``deep``-th best level (-inf: every update applied).
    keys, qtys, pk, pq, bounds, ints, spare = _side(book, bids)
    n_at, p_at = (_N_BID, _P_BID) if bids else (_N_ASK, _P_ASK)
    if ints[p_at]:
        ints[n_at] = _merge(keys, qtys, ints[n_at], pk, pq, ints[p_at], spare)
        ints[p_at] = 0
    n = ints[n_at]
    bounds[0 if bids else 1] = keys[n - ints[_DEEP]] if n > ints[_DEEP] else -np.inf


@njit(cache=True, nogil=True, inline="always")
def _side(book: Any, bids: bool) -> Any:
    bid_keys, bid_qtys, ask_keys, ask_qtys, kept, bounds, ints, spare = book
    if bids:
        return bid_keys, bid_qtys, kept[0], kept[1], bounds, ints, spare
    return ask_keys, ask_qtys, kept[2], kept[3], bounds, ints, spare


@njit(cache=True, nogil=True, inline="always")
def _set_level(keys: Any, qtys: Any, n: int, key: float, qty: float) -> int:
    # arb.book.level_update's effect (the same book), for a side whose updates fall near its best (its end): the
    # place is looked for from the end, a few steps, then by bisection.
    i = n
    steps = 0
    while i > 0 and keys[i - 1] > key and steps < 16:
        i -= 1
        steps += 1
    if i > 0 and keys[i - 1] > key:
        i = _bisect(keys, i, key)
    elif i > 0 and keys[i - 1] == key:
        i -= 1
    if i < n and keys[i] == key:
        if qty > 0.0:
            qtys[i] = qty
            return n
        for j in range(i, n - 1):
            keys[j] = keys[j + 1]
            qtys[j] = qtys[j + 1]
        return n - 1
    if qty <= 0.0:
        return n
    for j in range(n, i, -1):
        keys[j] = keys[j - 1]
        qtys[j] = qtys[j - 1]
    keys[i] = key
    qtys[i] = qty
    return n + 1


@njit(cache=True, nogil=True)
def _near(keys: Any, n: int, bound: float) -> int:
    # Levels of a side (keys[:n], best last) at or better than its bound.
    return n - _bisect(keys, n, bound)


@njit(cache=True, nogil=True, inline="always")
def apply_message(book: Any, rows: Any, start: int, stop: int) -> int:
    """Apply ``rows[start:stop]`` (one message) to ``book`` (:attr:`NearBook.arrays`); :data:`_FULL` when a side's
    arrays have no room for it (nothing applied: grow them, then apply it again), else 0."""
    # The arrays are taken out of the book once: passing the book's tuple to a function per row costs a
    # reference count per array per call, which was most of the time on a deep book.
    bid_keys, bid_qtys, ask_keys, ask_qtys, kept, bounds, ints, spare = book
    bid_pk, bid_pq, ask_pk, ask_pq = kept
    m = stop - start
    room = bid_keys.shape[0]
    if ints[_P_BID] + m > bid_pk.shape[0]:
        _settle(book, True)
    if ints[_P_ASK] + m > ask_pk.shape[0]:
        _settle(book, False)
    if ints[_P_BID] + m > bid_pk.shape[0] or ints[_P_ASK] + m > ask_pk.shape[0]:
        return _FULL
    if max(ints[_N_BID], ints[_N_ASK]) + m + max(ints[_P_BID], ints[_P_ASK]) > room or 2 * room > spare.shape[0]:
        return _FULL
    for r in range(start, stop):
        ev = rows[r]["ev"]
        kind = ev & EVENT_KIND_MASK
        if kind == DEPTH_EVENT or kind == DEPTH_SNAPSHOT_EVENT:
            px = rows[r]["px"]
            qty = rows[r]["qty"]
            if ev & BUY_EVENT:
                if px >= bounds[0]:
                    ints[_N_BID] = _set_level(bid_keys, bid_qtys, ints[_N_BID], px, qty)
                else:
                    bid_pk[ints[_P_BID]] = px
                    bid_pq[ints[_P_BID]] = qty
                    ints[_P_BID] += 1
                if qty > 0.0 and ints[_N_BID] > 0 and ints[_N_ASK] > 0:  # the asks this bid crossed go
                    best = bid_keys[ints[_N_BID] - 1]
                    if ints[_P_ASK] and -bounds[1] <= best:
                        _settle(book, False)
                    while ints[_N_ASK] > 0 and -ask_keys[ints[_N_ASK] - 1] <= best:
                        ints[_N_ASK] -= 1
            elif ev & SELL_EVENT:
                if -px >= bounds[1]:
                    ints[_N_ASK] = _set_level(ask_keys, ask_qtys, ints[_N_ASK], -px, qty)
                else:
                    ask_pk[ints[_P_ASK]] = -px
                    ask_pq[ints[_P_ASK]] = qty
                    ints[_P_ASK] += 1
                if qty > 0.0 and ints[_N_BID] > 0 and ints[_N_ASK] > 0:  # the bids this ask crossed go
                    best = -ask_keys[ints[_N_ASK] - 1]
                    if ints[_P_BID] and bounds[0] >= best:
                        _settle(book, True)
                    while ints[_N_BID] > 0 and bid_keys[ints[_N_BID] - 1] >= best:
                        ints[_N_BID] -= 1
        elif kind == DEPTH_CLEAR_EVENT:
            px = rows[r]["px"]
            if ev & BUY_EVENT:
                _settle(book, True)
                while ints[_N_BID] > 0 and bid_keys[ints[_N_BID] - 1] >= px:
                    ints[_N_BID] -= 1
            elif ev & SELL_EVENT:
                _settle(book, False)
                while ints[_N_ASK] > 0 and -ask_keys[ints[_N_ASK] - 1] <= px:
                    ints[_N_ASK] -= 1
            else:
                ints[_N_BID] = 0
                ints[_N_ASK] = 0
                ints[_P_BID] = 0
                ints[_P_ASK] = 0
                _settle(book, True)
                _settle(book, False)
    # settle a side whose best levels could need what is kept aside, or whose levels above its bound grew
    # past four times ``deep`` (the price moved away from where the bound was set), or that has no bound yet
    near = _near(bid_keys, ints[_N_BID], bounds[0])
    if (ints[_P_BID] and near < ints[_NEED]) or near > 4 * ints[_DEEP]:
        _settle(book, True)
    near = _near(ask_keys, ints[_N_ASK], bounds[1])
    if (ints[_P_ASK] and near < ints[_NEED]) or near > 4 * ints[_DEEP]:
        _settle(book, False)
    return _OK


@njit(cache=True, nogil=True)
def side_levels(book: Any, levels: int, out: Any) -> None:
    """The best ``levels`` of each side into ``out`` (``(4, levels)``: bid px, bid qty, ask px, ask qty, best
    first; NaN price and 0 quantity past a side's end). ``levels`` at most the book's ``need``."""
    bid_keys, bid_qtys, ask_keys, ask_qtys, _, _, ints, _ = book
    for j in range(levels):
        if j < ints[_N_BID]:
            out[0, j] = bid_keys[ints[_N_BID] - 1 - j]
            out[1, j] = bid_qtys[ints[_N_BID] - 1 - j]
        else:
            out[0, j] = np.nan
            out[1, j] = 0.0
        if j < ints[_N_ASK]:
            out[2, j] = -ask_keys[ints[_N_ASK] - 1 - j]
            out[3, j] = ask_qtys[ints[_N_ASK] - 1 - j]
        else:
            out[2, j] = np.nan
            out[3, j] = 0.0


class NearBook:
    """The arrays of a book whose best ``need`` levels a side are exact after every message (module docstring).

    ``deep``: where each side's bound is set, in levels from the best (larger: fewer merges, dearer updates).
    """

    def __init__(self, need: int, deep: int = 256, capacity: int = 16_384) -> None:
        if not 0 < need < deep:
            raise ValueError(f"need must be from 1 to deep - 1, got need {need}, deep {deep}")
        self.ints = np.zeros(6, np.int64)
        self.ints[_NEED] = need
        self.ints[_DEEP] = deep
        self.bounds = np.full(2, -np.inf)
        self._make(capacity)

    def _make(self, capacity: int, old: tuple[Any, ...] | None = None) -> None:
        # Each side's levels and its kept updates get ``capacity`` places (a message of more rows than that
        # grows them all), the merge's scratch four times that.
        arrays = [np.empty(capacity) for _ in range(4)]
        kept = tuple(np.empty(capacity) for _ in range(4))
        if old is not None:
            for new, was in zip([*arrays, *kept], [*old[:4], *old[4]], strict=True):
                new[: was.shape[0]] = was
        self.arrays: tuple[Any, ...] = (*arrays, kept, self.bounds, self.ints, np.empty(4 * capacity))
        """The book as :func:`apply_message` takes it; a new tuple whenever the book grows."""

    def grow(self) -> None:
        """Double each side's room (after :func:`apply_message` answered it had none)."""
        self._make(2 * self.arrays[0].shape[0], self.arrays)

    @property
    def need(self) -> int:
        """The levels a side kept exact."""
        return int(self.ints[_NEED])
