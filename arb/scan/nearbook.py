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

A message's run of one side's level rows (a depth message's bids, then its asks) is merged into its side in one
pass instead of row by row when that provably leaves the same book (:func:`_merge_run`): a venue that restates
most of a shallow book in every message (Bybit's ``orderbook.50`` deltas, 180 levels each in the sample) moved a
few dozen levels for every row.

Nothing here allocates, and the functions the book's loop calls are compiled without Numba's reference counts
(``_nrt=False``): counting a reference to each array a call is handed, at every message, was as much of a deep
book's time as its own work. Each says so itself, so that whichever caller compiles it first (the scan's loop,
or :func:`apply_message` called from Python) leaves the same machine code in Numba's cache.

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

_N_BID, _N_ASK, _P_BID, _P_ASK, _NEED, _DEEP, _SORT = range(7)
"""Fields of the book's ``ints``: level counts, kept-update counts, the levels read, the bound's depth; from
``_SORT`` on, a sort's scratch (two orders of the capacity, then the counts of its passes)."""
_COUNTS = 8 * 257
"""The radix sort's counts: a row of 257 for each of the 8 bytes of a float."""
_OK = 0
_FULL = 1
""":func:`apply_message`'s answers: applied, or a side's arrays have no room (grow them, apply it again)."""
_RUN_MIN = 4
"""A run of one side's level rows at least this long is merged in one pass (:func:`_merge_run`)."""
_PREFIX_MAX = 64
"""Deletes before a run's first positive row that :func:`_merge_run` looks through for the side's best."""


@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True, _nrt=False)
def _stable_order(values: Any, p: int, floats: Any, ints: Any) -> int:
    # The indices that sort values[:p] ascending, equal values in their order (np.argsort(kind="mergesort")'s
    # answer; no NaN among them), written to the book's ints from the returned index on. A least-significant-
    # digit radix sort of the values' bits, a byte a pass, skipping the bytes all of them share (a book's prices
    # share most of theirs): several times faster than the merge sort on the thousands of updates a deep book
    # keeps aside, and it allocates nothing (the scan's reading runs without Numba's reference counts, which
    # cannot allocate). floats[:p] and the ints past _SORT are its scratch.
    half = (ints.shape[0] - _SORT - _COUNTS) // 2
    counts = _SORT + 2 * half
    bits = floats[:p].view(np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    ints[counts : counts + _COUNTS] = 0
    for k in range(p):
        v = values[k]
        floats[k] = 0.0 if v == 0.0 else v  # -0.0 sorts with 0.0, as it compares
        u = bits[k]
        u = ~u if u & sign else u | sign  # the bits, ordered as the floats are
        bits[k] = u
        for b in range(8):
            ints[counts + 257 * b + ((u >> np.uint64(8 * b)) & np.uint64(255)) + 1] += 1
    src = _SORT
    dst = _SORT + half
    for k in range(p):
        ints[src + k] = k
    for b in range(8):
        c = counts + 257 * b
        shared = False
        for d in range(1, 257):
            shared = shared or ints[c + d] == p
        if shared:
            continue  # every value has this byte
        for d in range(256):
            ints[c + d + 1] += ints[c + d]
        shift = np.uint64(8 * b)
        for k in range(p):
            i = ints[src + k]
            d = (bits[i] >> shift) & np.uint64(255)
            ints[dst + ints[c + d]] = i
            ints[c + d] += 1
        src, dst = dst, src
    return src


@njit(cache=True, nogil=True, _nrt=False)
def _merge(keys: Any, qtys: Any, n: int, pk: Any, pq: Any, p: int, spare: Any, ints: Any) -> int:
    # keys[:n] (ascending) with the kept updates pk[:p], pq[:p] applied in order; returns the new count.
    # Needs len(keys) >= n + p and len(spare) >= 2 * (n + p).
    order = _stable_order(pk, p, spare, ints)  # stable: equal prices keep their order, the last wins
    out_k = spare[: n + p]
    out_q = spare[n + p : 2 * (n + p)]
    i = 0
    j = 0
    m = 0
    while i < n or j < p:
        if j < p:
            k = ints[order + j]
            while j + 1 < p and pk[ints[order + j + 1]] == pk[k]:  # the last write of this price
                j += 1
                k = ints[order + j]
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
    for k in range(m):
        keys[k] = out_k[k]
        qtys[k] = out_q[k]
    return m


@njit(cache=True, nogil=True, _nrt=False)
def _settle(book: Any, bids: bool) -> None:
    # Merge the side's kept updates and set its bound at its ``deep``-th best level (-inf: every update applied).
    keys, qtys, pk, pq, bounds, ints, spare = _side(book, bids)
    n_at, p_at = (_N_BID, _P_BID) if bids else (_N_ASK, _P_ASK)
    if ints[p_at]:
        ints[n_at] = _merge(keys, qtys, ints[n_at], pk, pq, ints[p_at], spare, ints)
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


@njit(cache=True, nogil=True, inline="always")
def _near(keys: Any, n: int, bound: float) -> int:
    # Levels of a side (keys[:n], best last) at or better than its bound.
    return n - _bisect(keys, n, bound)


@njit(cache=True, nogil=True, _nrt=False)
def _one_by_one(book: Any, rows: Any, start: int, stop: int) -> None:
    # rows[start:stop] applied row by row (the module docstring's rules). Not inlined: the scan's book loop runs
    # without reference counts, so a call costs it little, and inlining this body cost 3-4 s of its compile.
    bid_keys, bid_qtys, ask_keys, ask_qtys, kept, bounds, ints, _ = book
    bid_pk, bid_pq, ask_pk, ask_pq = kept
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


@njit(cache=True, nogil=True, inline="always")
def _among(values: Any, n: int, value: float) -> bool:
    # Whether value is one of values[:n].
    for k in range(n):  # noqa: SIM110 - Numba compiles loops, not generator expressions
        if values[k] == value:
            return True
    return False


@njit(cache=True, nogil=True, inline="always")
def _sort_last(spare: Any, q0: int, m: int, ints: Any) -> int:
    # Sort the keys spare[:m] ascending, their quantities spare[q0:q0 + m] alongside, keeping the last of each
    # key (the level a price is left at by the rows in order); returns how many remain. Venues send a side's
    # levels sorted one way or the other: then nothing moves, or the run is reversed.
    ascending = True
    descending = True
    for k in range(1, m):
        ascending = ascending and spare[k - 1] < spare[k]
        descending = descending and spare[k - 1] > spare[k]
    if ascending:
        return m
    if descending:
        for k in range(m // 2):
            j = m - 1 - k
            spare[k], spare[j] = spare[j], spare[k]
            spare[q0 + k], spare[q0 + j] = spare[q0 + j], spare[q0 + k]
        return m
    order = _stable_order(spare, m, spare[2 * m : 3 * m], ints)
    for k in range(m):  # sorted, to spare[2m:4m]
        spare[2 * m + k] = spare[ints[order + k]]
        spare[3 * m + k] = spare[q0 + ints[order + k]]
    w = 0
    for k in range(m):
        if w > 0 and spare[2 * m + k] == spare[w - 1]:
            spare[q0 + w - 1] = spare[3 * m + k]
            continue
        spare[w] = spare[2 * m + k]
        spare[q0 + w] = spare[3 * m + k]
        w += 1
    return w


@njit(cache=True, nogil=True, inline="always")
def _merge_near(keys: Any, qtys: Any, n: int, spare: Any, m: int, near: int) -> int:
    # The side's levels keys[:n] (ascending) with a run's near updates applied: their keys spare[:near]
    # (ascending, one each), quantities from spare[m] on (0: remove); spare from 2m on is the merge's scratch.
    # Only the levels from the first update's key on move. Returns the side's new level count.
    first = n
    if n > 0 and spare[0] <= keys[n - 1]:
        first = _bisect(keys, n, spare[0])
    tail = n - first
    o = 2 * m
    oq = o + tail + near
    a = 0
    b = 0
    w = 0
    while a < tail or b < near:
        if b == near or (a < tail and keys[first + a] < spare[b]):
            spare[o + w] = keys[first + a]
            spare[oq + w] = qtys[first + a]
            a += 1
            w += 1
            continue
        if a < tail and keys[first + a] == spare[b]:
            a += 1
        if spare[m + b] > 0.0:
            spare[o + w] = spare[b]
            spare[oq + w] = spare[m + b]
            w += 1
        b += 1
    for k in range(w):
        keys[first + k] = spare[o + k]
        qtys[first + k] = spare[oq + k]
    return first + w


@njit(cache=True, nogil=True, inline="always")
def _merge_run(book: Any, rows: Any, start: int, stop: int, bids: bool) -> bool:
    # Apply rows[start:stop], level rows of one side (bids, or asks), in one pass, leaving the book exactly as
    # applying them one by one does; False (nothing changed) when that is not certain. One by one, each positive
    # row removes the other side's levels that the side's best then reaches; that best is at most the run's
    # highest positive key or the side's best at its first positive row (its levels less those the run deleted
    # before), so the levels that reaches go at once. Refused for a NaN price, and when the other side's kept
    # updates would be merged on the way (its bound reached).
    bid_keys, bid_qtys, ask_keys, ask_qtys, kept, bounds, ints, spare = book
    if bids:
        keys, qtys, pk, pq, other = bid_keys, bid_qtys, kept[0], kept[1], ask_keys
        n_at, p_at, other_n_at, other_p_at = _N_BID, _P_BID, _N_ASK, _P_ASK
        bound, other_bound, sign = bounds[0], bounds[1], 1.0
    else:
        keys, qtys, pk, pq, other = ask_keys, ask_qtys, kept[2], kept[3], bid_keys
        n_at, p_at, other_n_at, other_p_at = _N_ASK, _P_ASK, _N_BID, _P_BID
        bound, other_bound, sign = bounds[1], bounds[0], -1.0
    m = stop - start
    q0 = m  # spare: the run's near keys from 0, their quantities from m, then the merged tail's
    near = 0
    prefix = 0
    positive = False
    most = -np.inf
    for r in range(start, stop):
        key = sign * rows[r]["px"]
        qty = rows[r]["qty"]
        if key != key:
            return False
        if key >= bound:
            spare[near] = key
            spare[q0 + near] = qty
            near += 1
            if qty > 0.0:
                most = max(most, key)
            elif not positive:
                prefix = near
        positive = positive or qty > 0.0
    n = ints[n_at]
    if positive:
        if prefix > _PREFIX_MAX:
            return False
        best = n - 1
        while best >= 0 and _among(spare, prefix, keys[best]):
            best -= 1
        if best >= 0:
            most = max(most, keys[best])
        if most > -np.inf and ints[other_p_at] and other_bound >= -most:
            return False
    p = ints[p_at]
    for r in range(start, stop):
        key = sign * rows[r]["px"]
        if key < bound:
            pk[p] = key
            pq[p] = rows[r]["qty"]
            p += 1
    ints[p_at] = p
    if near:
        ints[n_at] = _merge_near(keys, qtys, n, spare, m, _sort_last(spare, q0, near, ints))
    if most > -np.inf:
        while ints[other_n_at] > 0 and other[ints[other_n_at] - 1] >= -most:
            ints[other_n_at] -= 1
    return True


@njit(cache=True, nogil=True, _nrt=False)
def apply_message(book: Any, rows: Any, start: int, stop: int) -> int:
    """Apply ``rows[start:stop]`` (one message) to ``book`` (:attr:`NearBook.arrays`); :data:`_FULL` when a side's
    arrays have no room for it (nothing applied: grow them, then apply it again), else 0."""
    # The arrays are taken out of the book once: passing the book's tuple to a function per row costs a
    # reference count per array per call, which was most of the time on a deep book. Not inlined into the
    # scan's loop (arb.scan.tops): without reference counts a call per message costs it nothing measurable,
    # and the loop then links the machine code a call from Python compiles, instead of compiling the body
    # again inside itself (5 to 6 s of CPU).
    bid_keys, _, ask_keys, _, kept, bounds, ints, spare = book
    bid_pk, _, ask_pk, _ = kept
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
    r = start
    while r < stop:  # a run of one side's level rows at a time, merged when it may be; other rows one by one
        ev = rows[r]["ev"]
        kind = ev & EVENT_KIND_MASK
        end = r + 1
        if (kind == DEPTH_EVENT or kind == DEPTH_SNAPSHOT_EVENT) and ev & (BUY_EVENT | SELL_EVENT):
            side = ev & BUY_EVENT
            while end < stop:
                e = rows[end]["ev"]
                k = e & EVENT_KIND_MASK
                if (k != DEPTH_EVENT and k != DEPTH_SNAPSHOT_EVENT) or (e & BUY_EVENT) != side:
                    break
                if not side and not e & SELL_EVENT:
                    break
                end += 1
            if end - r >= _RUN_MIN and _merge_run(book, rows, r, end, side != 0):
                r = end
                continue
        _one_by_one(book, rows, r, end)
        r = end
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
        self.ints = np.zeros(_SORT, np.int64)
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
        ints = np.zeros(_SORT + 2 * capacity + _COUNTS, np.int64)
        ints[:_SORT] = self.ints[:_SORT]
        self.ints = ints
        self.arrays: tuple[Any, ...] = (*arrays, kept, self.bounds, self.ints, np.empty(4 * capacity))
        """The book as :func:`apply_message` takes it; a new tuple whenever the book grows."""

    def grow(self) -> None:
        """Double each side's room (after :func:`apply_message` answered it had none)."""
        self._make(2 * self.arrays[0].shape[0], self.arrays)

    @property
    def need(self) -> int:
        """The levels a side kept exact."""
        return int(self.ints[_NEED])
