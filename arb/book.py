"""An L2 order book that applies hftbacktest event rows, compiled with Numba.

The same rows that a backtest feeds to hftbacktest are applied here, with the same meaning:

- ``DEPTH_EVENT`` / ``DEPTH_SNAPSHOT_EVENT`` with a side flag set the absolute quantity of one price
  level (a quantity of 0 removes the level);
- ``DEPTH_CLEAR_EVENT`` with ``BUY_EVENT`` removes every bid at or above ``px``; with ``SELL_EVENT`` every
  ask at or below ``px``; with neither flag the whole book;
- every other kind (trades, BBO, arb's own sync events) leaves the book alone.

Each side is a pair of arrays kept sorted so that the best level is the *last* element (bids by
ascending price, asks by descending price): nearly every update touches the top of the book, so
inserts and deletes there move only a few elements. One divergence from hftbacktest's HashMap depth,
on purpose: a level that crosses the opposite best removes the crossed levels on the other side
(hftbacktest only moves its best-price pointer past them). A book built from synced rows never
crosses, so the two agree on every valid stream.

The live driver, the paper executor and the converter's end-of-day snapshot all use this book.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CAPACITY",
    "BookArrays",
    "OrderBook",
    "apply_rows",
    "apply_rows_final",
    "apply_rows_one_by_one",
    "apply_rows_touched",
    "book_top",
    "level_update",
    "touches_book",
]

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from arb._jit import entry_point, njit
from arb.events import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    SELL_EVENT,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    EventArray,
    event_dtype,
    snapshot_rows,
)

BookArrays = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any],
                   np.ndarray[Any, Any]]  # fmt: skip
"""One book's arrays in the order compiled code takes them: bid_keys, bid_qtys, ask_keys, ask_qtys, counts."""

DEFAULT_CAPACITY = 16_384
"""Levels per side before the arrays grow; a Binance 1000-level snapshot plus a day of diffs fits."""


@njit(cache=True, nogil=True)
def _bisect(keys: Any, n: int, key: float) -> int:
    # np.searchsorted(keys[:n], key) (side "left"), step for step as NumPy and Numba do it: NaN sorts
    # last, and on a side that a NaN price left out of order it lands where theirs does.
    lo = 0
    hi = n
    nan_key = key != key
    while lo < hi:
        mid = lo + ((hi - lo) >> 1)
        v = keys[mid]
        if v < key or (nan_key and v == v):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def level_update(keys: Any, qtys: Any, n: int, key: float, qty: float) -> int:
    """Set the level ``key`` of one side to ``qty`` and return the new level count.

    ``keys[:n]`` is ascending (bids store the price, asks its negation, so the best is last).
    The caller guarantees ``n < len(keys)`` when ``qty > 0``.
    """
    # Most updates touch the best levels at the end: search from there before bisecting.
    i = n
    if n == 0 or key <= keys[n - 1]:
        i = _bisect(keys, n, key)
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
def _uncross(bid_keys: Any, n_bid: int, ask_keys: Any, n_ask: int, bid_side: bool) -> tuple[int, int]:
    # Drop the opposite side's levels that the last update crossed (best is the last element).
    if n_bid == 0 or n_ask == 0:
        return n_bid, n_ask
    if bid_side:
        best_bid = bid_keys[n_bid - 1]
        while n_ask > 0 and -ask_keys[n_ask - 1] <= best_bid:
            n_ask -= 1
    else:
        best_ask = -ask_keys[n_ask - 1]
        while n_bid > 0 and bid_keys[n_bid - 1] >= best_ask:
            n_bid -= 1
    return n_bid, n_ask


_RUN_MIN = 16
"""Runs of same-side level rows at least this long are merged into the book in one pass."""


@njit(cache=True, nogil=True)
def _sort_order(values: Any, m: int) -> Any:
    # Indices that sort values[:m] ascending (no NaN among them): a bottom-up merge sort.
    order = np.empty(m, np.int64)
    spare = np.empty(m, np.int64)
    for k in range(m):
        order[k] = k
    width = 1
    while width < m:
        for lo in range(0, m, 2 * width):
            mid = min(lo + width, m)
            hi = min(lo + 2 * width, m)
            a = lo
            b = mid
            for w in range(lo, hi):
                if b >= hi or (a < mid and not values[order[b]] < values[order[a]]):
                    spare[w] = order[a]
                    a += 1
                else:
                    spare[w] = order[b]
                    b += 1
        order, spare = spare, order
        width *= 2
    return order


@njit(cache=True, nogil=True)
def _merge_run(keys: Any, qtys: Any, n: int, other_keys: Any, n_other: int, rows: Any, run: tuple[int, int]) -> int:
    # Apply the level rows rows[start:stop] (``run``; all of one side, bids when the first is a bid row)
    # to that side in one merge pass, when
    # the result is certainly what applying them one by one gives: a sorted side, no price twice,
    # no NaN, room for every insert, and no update that crosses the other side (nothing to
    # uncross). Returns the side's new level count, or -1 (nothing changed): go one by one.
    start, stop = run
    bids = (rows[start]["ev"] & BUY_EVENT) != 0
    m = stop - start
    if n + m > keys.shape[0]:
        return -1
    # The side must be strictly ascending (true of every book built from real rows; a NaN price
    # row, which one by one lands out of order, is the only way to break it).
    unsorted = 0 if n == 0 or keys[0] == keys[0] else 1
    for k in range(1, n):
        unsorted += not keys[k - 1] < keys[k]
    if unsorted:
        return -1
    new_keys = np.empty(m)
    new_qtys = np.empty(m)
    for k in range(m):
        px = rows[start + k]["px"]
        qty = rows[start + k]["qty"]
        if qty != qty or px != px:
            return -1  # a NaN quantity removes a level but inserts an absent one; a NaN price sorts apart
        new_keys[k] = px if bids else -px
        new_qtys[k] = qty
    # The other side's best as a key of this side (bids: the best ask; asks: the best bid, negated):
    # a level at or beyond it would cross.
    limit = np.inf
    if n_other > 0:
        limit = -other_keys[n_other - 1]
        if n > 0 and keys[n - 1] >= limit:
            return -1  # already crossed: the first positive update would uncross
    # Venues send a side's levels sorted (either way): then no sort is needed.
    ascending = True
    descending = True
    for k in range(1, m):
        ascending = ascending and new_keys[k - 1] < new_keys[k]
        descending = descending and new_keys[k - 1] > new_keys[k]
    if not ascending:
        order = np.arange(m - 1, -1, -1) if descending else _sort_order(new_keys, m)
        new_keys = new_keys[order]
        new_qtys = new_qtys[order]
    for k in range(m):
        if k > 0 and new_keys[k] == new_keys[k - 1]:
            return -1  # a price twice: its last row wins, one by one
        if new_qtys[k] > 0.0 and new_keys[k] >= limit:
            return -1
    return _merge_last(keys, qtys, n, new_keys, new_qtys, m)


@njit(cache=True, nogil=True, inline="always")
def _apply_row(book: Any, row: Any) -> bool:
    # One row (an event_dtype record) applied to the book (its BookArrays, counts updated); False when
    # its side is full (nothing changed: grow the arrays and apply it again). Inlined by Numba into its
    # callers: the row loops pay no call per row.
    bid_keys, bid_qtys, ask_keys, ask_qtys, counts = book
    ev = row["ev"]
    kind = ev & EVENT_KIND_MASK
    n_bid = counts[0]
    n_ask = counts[1]
    if kind == DEPTH_EVENT or kind == DEPTH_SNAPSHOT_EVENT:
        px = row["px"]
        qty = row["qty"]
        # (not qty <= 0.0, rather than qty > 0.0: level_update inserts a NaN quantity too)
        if ev & BUY_EVENT:
            if n_bid >= bid_keys.shape[0] and not qty <= 0.0:
                return False
            n_bid = level_update(bid_keys, bid_qtys, n_bid, px, qty)
            if qty > 0.0:
                n_bid, n_ask = _uncross(bid_keys, n_bid, ask_keys, n_ask, True)
        elif ev & SELL_EVENT:
            if n_ask >= ask_keys.shape[0] and not qty <= 0.0:
                return False
            n_ask = level_update(ask_keys, ask_qtys, n_ask, -px, qty)
            if qty > 0.0:
                n_bid, n_ask = _uncross(bid_keys, n_bid, ask_keys, n_ask, False)
    elif kind == DEPTH_CLEAR_EVENT:
        px = row["px"]
        if ev & BUY_EVENT:
            while n_bid > 0 and bid_keys[n_bid - 1] >= px:
                n_bid -= 1
        elif ev & SELL_EVENT:
            while n_ask > 0 and -ask_keys[n_ask - 1] <= px:
                n_ask -= 1
        else:
            n_bid = 0
            n_ask = 0
    counts[0] = n_bid
    counts[1] = n_ask
    return True


@njit(cache=True, nogil=True, inline="always")
def _run_end(rows: Any, start: int, bids: bool) -> int:
    # The end of the run of one side's level rows (bids, or asks) that rows[start], one of them, begins.
    stop = start + 1
    while stop < rows.shape[0]:
        e = rows[stop]["ev"]
        k = e & EVENT_KIND_MASK
        if (k != DEPTH_EVENT and k != DEPTH_SNAPSHOT_EVENT) or ((e & BUY_EVENT) != 0) != bids:
            break
        if not bids and not e & SELL_EVENT:
            break
        stop += 1
    return stop


@njit(cache=True, nogil=True)
def _apply_rows(book: BookArrays, rows: Any, start: int, run_min: int) -> int:
    # apply_rows, merging runs of at least run_min same-side level rows (the row-by-row result).
    bid_keys, bid_qtys, ask_keys, ask_qtys, counts = book
    n_bid = counts[0]
    n_ask = counts[1]
    cap_bid = bid_keys.shape[0]
    cap_ask = ask_keys.shape[0]
    i = start
    n_rows = rows.shape[0]
    single_until = start  # rows before this index go one by one (their run was refused)
    while i < n_rows:
        ev = rows[i]["ev"]
        kind = ev & EVENT_KIND_MASK
        if (kind == DEPTH_EVENT or kind == DEPTH_SNAPSHOT_EVENT) and i >= single_until:
            bids = (ev & BUY_EVENT) != 0
            if bids or ev & SELL_EVENT:
                stop = _run_end(rows, i, bids)
                if stop - i >= run_min:
                    if bids:
                        merged = _merge_run(bid_keys, bid_qtys, n_bid, ask_keys, n_ask, rows, (i, stop))
                        if merged >= 0:
                            n_bid = merged
                            i = stop
                            continue
                    else:
                        merged = _merge_run(ask_keys, ask_qtys, n_ask, bid_keys, n_bid, rows, (i, stop))
                        if merged >= 0:
                            n_ask = merged
                            i = stop
                            continue
                    single_until = stop
        # One row: _apply_row's code written out, the counts kept in locals. Through _apply_row (inlined or
        # not) Bybit's deltas, most of whose rows go one by one, cost the book 15 % more CPU (66-70 ms
        # against 55-58 over the sample's Bybit frames). tests/unit/test_book_merge.py holds the two equal.
        if kind == DEPTH_EVENT or kind == DEPTH_SNAPSHOT_EVENT:
            px = rows[i]["px"]
            qty = rows[i]["qty"]
            if ev & BUY_EVENT:
                if n_bid >= cap_bid and not qty <= 0.0:
                    break
                n_bid = level_update(bid_keys, bid_qtys, n_bid, px, qty)
                if qty > 0.0:
                    n_bid, n_ask = _uncross(bid_keys, n_bid, ask_keys, n_ask, True)
            elif ev & SELL_EVENT:
                if n_ask >= cap_ask and not qty <= 0.0:
                    break
                n_ask = level_update(ask_keys, ask_qtys, n_ask, -px, qty)
                if qty > 0.0:
                    n_bid, n_ask = _uncross(bid_keys, n_bid, ask_keys, n_ask, False)
        elif kind == DEPTH_CLEAR_EVENT:
            px = rows[i]["px"]
            if ev & BUY_EVENT:
                while n_bid > 0 and bid_keys[n_bid - 1] >= px:
                    n_bid -= 1
            elif ev & SELL_EVENT:
                while n_ask > 0 and -ask_keys[n_ask - 1] <= px:
                    n_ask -= 1
            else:
                n_bid = 0
                n_ask = 0
        i += 1
    counts[0] = n_bid
    counts[1] = n_ask
    return i


@njit(cache=True, nogil=True)
def apply_rows(book: BookArrays, rows: Any, start: int) -> int:
    """Apply ``rows[start:]`` to ``book`` (its :data:`BookArrays`); return the index of the first row
    not applied.

    The counts are updated in place. The return value equals ``len(rows)`` when every row was
    applied; a smaller value means a side is full and the caller must grow the arrays and call again
    from that row.

    Rows take effect one by one, in order. A long run of one side's level rows (a depth message's
    bids, say) is merged into that side in one pass when that provably gives the same book (see
    ``_merge_run``), instead of moving the levels below each deep update one at a time.
    """
    return _apply_rows(book, rows, start, _RUN_MIN)


@njit(cache=True, nogil=True)
def apply_rows_one_by_one(book: BookArrays, rows: Any, start: int) -> int:
    """:func:`apply_rows` without merging runs: the same book and return value, row by row.

    Slower on deep books, but it compiles in a fraction of the time (none of the merge code): for a
    one-off book whose rows are too few to pay for compiling the merge (a first conversion of small
    days).
    """
    i = start
    while i < rows.shape[0] and _apply_row(book, rows[i]):
        i += 1
    return i


_FINAL_WINDOW = 2048
"""Rows at most in one window of :func:`apply_rows_final` (each window costs a pass over the book)."""


@njit(cache=True, nogil=True)
def _last_writes(keys: Any, qtys: Any, m: int) -> int:
    # Sort keys[:m] (qtys alongside) ascending, stably, and keep the last of each run of equal keys: the
    # level each price is left at by the rows in order. Returns how many remain.
    order = _sort_order(keys, m)
    sorted_keys = keys[:m][order]
    sorted_qtys = qtys[:m][order]
    w = 0
    for k in range(m):
        if w > 0 and sorted_keys[k] == keys[w - 1]:
            qtys[w - 1] = sorted_qtys[k]
            continue
        keys[w] = sorted_keys[k]
        qtys[w] = sorted_qtys[k]
        w += 1
    return w


@njit(cache=True, nogil=True)
def _merge_last(keys: Any, qtys: Any, n: int, new_keys: Any, new_qtys: Any, m: int) -> int:
    # Merge the levels new_keys[:m] (ascending, no key twice; a quantity <= 0 removes) into one side,
    # which must be strictly ascending. Returns the side's new level count, or -1 (nothing changed)
    # when the side has no room for the result.
    first = n
    if m > 0 and n > 0 and new_keys[0] <= keys[n - 1]:
        first = _bisect(keys, n, new_keys[0])
    tail = n - first
    out_keys = np.empty(tail + m)
    out_qtys = np.empty(tail + m)
    a = 0
    b = 0
    w = 0
    while a < tail or b < m:
        if b == m or (a < tail and keys[first + a] < new_keys[b]):
            out_keys[w] = keys[first + a]
            out_qtys[w] = qtys[first + a]
            a += 1
            w += 1
            continue
        if a < tail and keys[first + a] == new_keys[b]:  # an existing level: keep its key
            if new_qtys[b] > 0.0:
                out_keys[w] = keys[first + a]
                out_qtys[w] = new_qtys[b]
                w += 1
            a += 1
        elif new_qtys[b] > 0.0:
            out_keys[w] = new_keys[b]
            out_qtys[w] = new_qtys[b]
            w += 1
        b += 1
    if first + w > keys.shape[0]:
        return -1
    dst_keys = keys[first : first + w]
    dst_qtys = qtys[first : first + w]
    for k in range(w):
        dst_keys[k] = out_keys[k]
        dst_qtys[k] = out_qtys[k]
    return first + w


@njit(cache=True, nogil=True)
def _ascending(keys: Any, n: int) -> bool:
    # keys[:n] strictly ascending, no NaN (a NaN price row applied one by one is the only way to break it).
    if n > 0 and keys[0] != keys[0]:
        return False
    for k in range(1, n):  # noqa: SIM110 - a generator in all() does not compile in nopython mode
        if not keys[k - 1] < keys[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _apply_rows_final(book: BookArrays, rows: Any, start: int, window: int) -> int:
    # apply_rows_final with windows of at most ``window`` rows.
    bid_keys, bid_qtys, ask_keys, ask_qtys, counts = book
    n_rows = rows.shape[0]
    new_bid_keys = np.empty(window)
    new_bid_qtys = np.empty(window)
    new_ask_keys = np.empty(window)
    new_ask_qtys = np.empty(window)
    i = start
    while i < n_rows:
        # The longest window from row i in which no update can cross the other side: its rows then
        # leave each side as the last write of each price does. low_ask and high_bid bound the best
        # ask from below and the best bid from above at every row, and stay apart.
        n_bid = counts[0]
        n_ask = counts[1]
        high_bid = bid_keys[n_bid - 1] if n_bid > 0 else -np.inf
        low_ask = -ask_keys[n_ask - 1] if n_ask > 0 else np.inf
        stop = i
        m_bid = 0
        m_ask = 0
        if high_bid < low_ask and _ascending(bid_keys, n_bid) and _ascending(ask_keys, n_ask):
            while stop < n_rows and stop - i < window:
                ev = rows[stop]["ev"]
                kind = ev & EVENT_KIND_MASK
                if kind == DEPTH_CLEAR_EVENT:
                    break
                if kind != DEPTH_EVENT and kind != DEPTH_SNAPSHOT_EVENT:
                    stop += 1  # leaves the book alone
                    continue
                px = rows[stop]["px"]
                qty = rows[stop]["qty"]
                if not px > 0.0 or qty != qty:
                    break  # NaN, zero or negative prices and NaN quantities go one by one
                if ev & BUY_EVENT:
                    if qty > 0.0:
                        if not px < low_ask:
                            break
                        high_bid = max(high_bid, px)
                    new_bid_keys[m_bid] = px
                    new_bid_qtys[m_bid] = qty
                    m_bid += 1
                elif ev & SELL_EVENT:
                    if qty > 0.0:
                        if not px > high_bid:
                            break
                        low_ask = min(low_ask, px)
                    new_ask_keys[m_ask] = -px
                    new_ask_qtys[m_ask] = qty
                    m_ask += 1
                stop += 1
        if stop > i:
            m_bid = _last_writes(new_bid_keys, new_bid_qtys, m_bid)
            m_ask = _last_writes(new_ask_keys, new_ask_qtys, m_ask)
            if n_bid + m_bid > bid_keys.shape[0] or n_ask + m_ask > ask_keys.shape[0]:
                break  # grow first (nothing of the window applied yet)
            counts[0] = _merge_last(bid_keys, bid_qtys, n_bid, new_bid_keys, new_bid_qtys, m_bid)
            counts[1] = _merge_last(ask_keys, ask_qtys, n_ask, new_ask_keys, new_ask_qtys, m_ask)
            i = stop
            continue
        # Row i may cross, clears, or is odd: applied alone, as apply_rows_one_by_one does.
        if not _apply_row(book, rows[i]):
            break
        i += 1
    return i


@njit(cache=True, nogil=True)
def apply_rows_final(book: BookArrays, rows: Any, start: int) -> int:
    """:func:`apply_rows` for a caller that reads the book only after the last row: the same book in the
    end (and the same return value protocol), but the states between rows are not kept.

    Rows are taken in windows within which no update can cross the other side (every positive bid
    below the lowest ask the window could have, every positive ask above the highest bid): there each
    side ends as the last row of each price leaves it, so a window is sorted and merged into the book in
    one pass instead of moving the levels below each deep update one at a time. A row that might
    cross, a clear row, and NaN or non-positive prices are applied alone, exactly as one by one.
    """
    return _apply_rows_final(book, rows, start, _FINAL_WINDOW)


@njit(cache=True, nogil=True)
def book_top(book: Any, levels: int, out: Any) -> None:
    """Write the best ``levels`` of each side of ``book`` (its :data:`BookArrays`) into ``out``
    (``(bid_px, bid_qty, ask_px, ask_qty)`` arrays), best first; missing levels are NaN price, 0 quantity."""
    bid_keys, bid_qtys, ask_keys, ask_qtys, counts = book
    out_bid_px, out_bid_qty, out_ask_px, out_ask_qty = out
    n_bid = counts[0]
    n_ask = counts[1]
    for k in range(levels):
        if k < n_bid:
            out_bid_px[k] = bid_keys[n_bid - 1 - k]
            out_bid_qty[k] = bid_qtys[n_bid - 1 - k]
        else:
            out_bid_px[k] = np.nan
            out_bid_qty[k] = 0.0
        if k < n_ask:
            out_ask_px[k] = -ask_keys[n_ask - 1 - k]
            out_ask_qty[k] = ask_qtys[n_ask - 1 - k]
        else:
            out_ask_px[k] = np.nan
            out_ask_qty[k] = 0.0


@njit(cache=True, nogil=True)
def touches_book(rows: Any) -> bool:
    """True if any row is a depth, snapshot or clear row, or one of arb's sync events."""
    for i in range(rows.shape[0]):
        kind = rows[i]["ev"] & EVENT_KIND_MASK
        if (
            kind == DEPTH_EVENT
            or kind == DEPTH_SNAPSHOT_EVENT
            or kind == DEPTH_CLEAR_EVENT
            or kind == SYNC_LOST_EVENT
            or kind == SYNC_RESTORED_EVENT
        ):
            return True
    return False


@njit(cache=True, nogil=True)
def apply_rows_touched(book: BookArrays, rows: Any, start: int) -> tuple[int, bool]:
    """:func:`apply_rows` and :func:`touches_book` (of every row) in one call: ``(first row not applied,
    touched)``."""
    return apply_rows(book, rows, start), touches_book(rows)


@functools.cache
def _touched_entry() -> Callable[..., tuple[int, bool]]:
    # apply_rows_touched's machine code for a book's arrays and a C-contiguous, aligned, writable 1-d
    # array of event_dtype rows (arb._jit.entry_point: no typing of the arguments at each call; a
    # record array costs Numba's dispatch more than a small batch's work).
    return entry_point(apply_rows_touched, OrderBook(1).arrays, np.zeros(1, event_dtype), 0)


class OrderBook:
    """A two-sided L2 book that applies event rows; the Python face of the compiled functions above.

    Prices are compared exactly: every row of one venue's stream was parsed from the venue's decimal
    strings by the same parser, so one price is always the same float.
    """

    __slots__ = ("arrays", "ask_keys", "ask_qtys", "bid_keys", "bid_qtys", "counts")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.bid_keys = np.empty(capacity, np.float64)
        self.bid_qtys = np.empty(capacity, np.float64)
        self.ask_keys = np.empty(capacity, np.float64)
        self.ask_qtys = np.empty(capacity, np.float64)
        self.counts = np.zeros(2, np.int64)
        self.arrays: BookArrays = (self.bid_keys, self.bid_qtys, self.ask_keys, self.ask_qtys, self.counts)
        """The book as compiled code takes it: (bid_keys, bid_qtys, ask_keys, ask_qtys, counts); a new
        tuple whenever the book grows."""

    def apply(self, rows: EventArray, *, merge: bool = True, final: bool = False) -> None:
        """Apply event rows in order (depth, snapshot and clear rows change the book). ``merge=False``
        applies them one by one (:func:`apply_rows_one_by_one`: the same book). ``final=True`` (with
        ``merge``) is for a book read only after the rows: :func:`apply_rows_final`, the same book at
        the end, much faster on deep books."""
        step = (apply_rows_final if final else apply_rows) if merge else apply_rows_one_by_one
        start = 0
        while True:
            start = step(self.arrays, rows, start)
            if start >= len(rows):
                return
            self._grow()

    def apply_touched(self, rows: EventArray) -> bool:
        """:meth:`apply` (merging), then whether any row touches the book (:func:`touches_book`): the live
        engine's call for every batch, one compiled call, straight to the machine code without Numba's
        dispatch. Rows that are not the plain event array a normalizer's sink hands out (C-contiguous,
        aligned, writable) are copied into one first: one machine code for every caller (a strided or
        read-only array had compiled apply_rows and all it calls again, about 4.5 s of CPU each)."""
        if not (rows.dtype is event_dtype and rows.ndim == 1 and rows.flags.carray):
            rows = np.require(rows, event_dtype, ["C", "A", "W"])
        step = _touched_entry()
        start, touched = step(self.arrays, rows, 0)
        while start < len(rows):
            self._grow()
            start, _ = step(self.arrays, rows, start)
        return bool(touched)

    def grow(self) -> None:
        """Double each side's room (after a compiled call stopped on a full side)."""
        self._grow()

    def _grow(self) -> None:
        for name in ("bid_keys", "bid_qtys", "ask_keys", "ask_qtys"):
            old = getattr(self, name)
            new = np.empty(old.shape[0] * 2, old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)
        self.arrays = (self.bid_keys, self.bid_qtys, self.ask_keys, self.ask_qtys, self.counts)

    def clear(self) -> None:
        """Remove every level."""
        self.counts[:] = 0

    @property
    def bid_levels(self) -> int:
        """Number of bid levels."""
        return int(self.counts[0])

    @property
    def ask_levels(self) -> int:
        """Number of ask levels."""
        return int(self.counts[1])

    @property
    def best_bid(self) -> float:
        """Best bid price, NaN when there are no bids."""
        n = self.counts[0]
        return float(self.bid_keys[n - 1]) if n else float("nan")

    @property
    def best_ask(self) -> float:
        """Best ask price, NaN when there are no asks."""
        n = self.counts[1]
        return float(-self.ask_keys[n - 1]) if n else float("nan")

    def bids(self, levels: int | None = None) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Bid prices and quantities, best first (copies)."""
        n = int(self.counts[0])
        k = n if levels is None else min(levels, n)
        return self.bid_keys[n - k : n][::-1].copy(), self.bid_qtys[n - k : n][::-1].copy()

    def asks(self, levels: int | None = None) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        """Ask prices and quantities, best first (copies)."""
        n = int(self.counts[1])
        k = n if levels is None else min(levels, n)
        return -self.ask_keys[n - k : n][::-1], self.ask_qtys[n - k : n][::-1].copy()

    def snapshot_rows(self, exch_ts: int, local_ts: int) -> EventArray:
        """The whole book as ``DEPTH_SNAPSHOT_EVENT`` rows (bids then asks, best first).

        The rows carry both EXCH and LOCAL flags, ready for hftbacktest's ``initial_snapshot``.
        """
        return snapshot_rows(self.bids(), self.asks(), exch_ts, local_ts)
