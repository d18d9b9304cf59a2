"""The conversion's compiled steps in NumPy: for a small recording, converted without importing Numba.

A process that converts a small recording (a few minutes of one symbol) spends more time importing and
starting Numba (about 0.75 s) than converting. These are the same steps in NumPy, with the same results
row for row and bit for bit (``tests/replay/test_plain_path.py`` checks them against the compiled ones
and against hftbacktest's own):

- :func:`correct_local_timestamp`, :func:`correct_event_order`, :func:`validate_event_order`:
  the contracts of :mod:`arb.recording.corrections` (hftbacktest's corrections);
- :func:`end_of_day_rows`: the book :class:`arb.book.OrderBook` leaves after applying the rows, as its
  ``snapshot_rows``.

Which path a conversion takes is chosen by the size of its inputs (:func:`arb.recording.venues.plain_pays`).
"""

from __future__ import annotations

__all__ = [
    "correct_event_order",
    "correct_local_timestamp",
    "end_of_day_levels",
    "end_of_day_rows",
    "validate_event_order",
]

import bisect
from typing import Any

import numpy as np

from arb.events import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    EXCH_EVENT,
    LOCAL_EVENT,
    SELL_EVENT,
    EventArray,
    snapshot_rows,
)

_BOTH = np.uint64(EXCH_EVENT | LOCAL_EVENT)
_EXCH = np.uint64(EXCH_EVENT)
_LOCAL = np.uint64(LOCAL_EVENT)


def correct_local_timestamp(data: EventArray, base_latency: int) -> EventArray:
    """:func:`arb.recording.corrections.correct_local_timestamp` in NumPy: when the smallest
    ``local_ts - exch_ts`` is negative, add ``base_latency - smallest`` (ns) to every ``local_ts``, in
    place. Returns ``data``."""
    if len(data) == 0:
        return data
    lowest = int((data["local_ts"] - data["exch_ts"]).min())
    if lowest >= 0:
        return data
    offset = np.int64(base_latency) - np.int64(lowest)
    data["local_ts"] += offset
    return data


class _Runs:
    # Where the runs of rows that both orders take alike end. With lag[i] = (the place of the row
    # by_exch[i] in by_local) - i, by_exch[i + k] == by_local[j + k] exactly while lag[i + k] == j - i:
    # a run from (i, j) (by_exch[i] == by_local[j]) ends where lag next changes (one NumPy pass for all).
    def __init__(self, by_exch: Any, by_local: Any) -> None:
        n = by_exch.shape[0]
        place = np.empty(n, np.int64)
        place[by_local] = np.arange(n)
        lag = place[by_exch] - np.arange(n)
        self.changes = [*(np.flatnonzero(lag[1:] != lag[:-1]) + 1).tolist(), n]

    def length(self, i: int) -> int:
        # How many rows from (i, j) on both orders take alike, given by_exch[i] == by_local[j]; >= 1.
        end: int = self.changes[bisect.bisect_right(self.changes, i)]
        return end - i


def _ints(array: Any, unsigned: bool = False) -> memoryview:
    # A contiguous int64 (or uint64) array as a memoryview of Python ints, read and written in place.
    raw = memoryview(array).cast("B")
    return raw.cast("Q") if unsigned else raw.cast("q")


def _same_values(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def correct_event_order(data: EventArray, sorted_exch_index: Any, sorted_local_index: Any) -> EventArray:
    """:func:`arb.recording.corrections.correct_event_order` without Numba: the same rows, or the same
    ``AssertionError``.

    The merge of the two orders is walked as the compiled one walks it, but a run of rows that are next
    in both orders alike (each written once, with both flags) is taken in one NumPy step: Python steps
    through only the rows whose places in the two orders differ.
    """
    n = len(data)
    by_exch = np.ascontiguousarray(sorted_exch_index, np.int64)
    by_local = np.ascontiguousarray(sorted_local_index, np.int64)
    source = np.empty(2 * n, np.int64)
    flags = np.empty(2 * n, np.uint64)
    runs = _Runs(by_exch, by_local)
    # The steps read and write single elements: through memoryviews, which give and take Python ints (a
    # NumPy scalar and its int() cost several times more, ~50,000 steps on the USD-M capture).
    a_rows, b_rows = _ints(by_exch), _ints(by_local)
    exch, local = _ints(np.ascontiguousarray(data["exch_ts"])), _ints(np.ascontiguousarray(data["local_ts"]))
    into, flag = _ints(source), _ints(flags, unsigned=True)
    both, only_exch, only_local = int(_BOTH), int(_EXCH), int(_LOCAL)
    i = j = m = 0
    while i < n and j < n:
        e = a_rows[i]
        loc = b_rows[j]
        if e == loc:
            run = runs.length(i)
            source[m : m + run] = by_exch[i : i + run]
            flags[m : m + run] = _BOTH
            i += run
            j += run
            m += run
            continue
        e_exch, l_exch = exch[e], exch[loc]
        e_local, l_local = local[e], local[loc]
        if e_exch == l_exch and e_local == l_local:
            a, b = data[e], data[loc]
            if a["ev"] != b["ev"] or not _same_values(a["qty"], b["qty"]) or not _same_values(a["px"], b["px"]):
                raise AssertionError("correct_event_order: rows with the same times differ (ev, px or qty)")
            into[m] = e
            flag[m] = both
            i += 1
            j += 1
        elif e_exch < l_exch or (e_exch == l_exch and e_local < l_local):
            into[m] = e
            flag[m] = only_exch
            i += 1
        else:
            into[m] = loc
            flag[m] = only_local
            j += 1
        m += 1
    rest_e = n - i
    source[m : m + rest_e] = by_exch[i:]
    flags[m : m + rest_e] = _EXCH
    m += rest_e
    rest_l = n - j
    source[m : m + rest_l] = by_local[j:]
    flags[m : m + rest_l] = _LOCAL
    m += rest_l
    out = np.take(data, source[:m])  # (fancy indexing of a structured array copies field by field: 10x slower)
    out["ev"] |= flags[:m]
    return out


def validate_event_order(data: EventArray) -> None:
    """:func:`arb.recording.corrections.validate_event_order` in NumPy: ``ValueError`` unless the exchange
    events are in ``exch_ts`` order and the local events in ``local_ts`` order (exchange events first)."""
    ev = data["ev"]
    for flag, column, what in ((_EXCH, "exch_ts", "exchange"), (_LOCAL, "local_ts", "local")):
        ts = data[column][(ev & flag) == flag]
        if ts.shape[0] > 1 and bool((ts[1:] < ts[:-1]).any()):
            raise ValueError(f"{what} events are out of order.")


def _suffix_after(values: Any, reduce: Any, empty: float) -> Any:
    # For each row, ``reduce`` (np.minimum or np.maximum) of ``values`` over the rows after it (``empty``
    # after the last).
    after = np.empty_like(values)
    if values.shape[0]:
        after[:-1] = reduce.accumulate(values[:0:-1])[::-1]
        after[-1] = empty
    return after


def end_of_day_rows(rows: EventArray, exch_ts: int, local_ts: int) -> EventArray | None:
    """The ``snapshot_rows(exch_ts, local_ts)`` of an empty :class:`arb.book.OrderBook` after
    ``apply(rows)``: the book's levels as ``DEPTH_SNAPSHOT_EVENT`` rows, bids then asks, best first.

    Level rows set absolute quantities, so a price ends as its last row left it, unless something
    removed it after that row: a clear of its side reaching its price, a clear of the whole book, or
    (the book uncrosses) a positive level on the other side at or through its price. A book that is
    never crossed before a row stays uncrossed after it, so that positive level removes exactly the
    levels at or through its own price; each side is then one NumPy pass. None when a price is NaN or
    not positive or a quantity NaN (the compiled book then decides: its treatment of those is its own).
    """
    return end_of_day_levels(rows["ev"], rows["px"], rows["qty"], exch_ts, local_ts)


def end_of_day_levels(ev: Any, px: Any, qty: Any, exch_ts: int, local_ts: int) -> EventArray | None:
    """:func:`end_of_day_rows` of the rows whose ``ev``, ``px`` and ``qty`` columns these are (the only
    fields it reads: a caller need not gather whole rows)."""
    kind = ev & np.uint64(EVENT_KIND_MASK)
    levels = (kind == DEPTH_EVENT) | (kind == DEPTH_SNAPSHOT_EVENT)
    clear = kind == DEPTH_CLEAR_EVENT
    buy = (ev & np.uint64(BUY_EVENT)) != 0
    sell = ~buy & ((ev & np.uint64(SELL_EVENT)) != 0)
    bid_rows = levels & buy
    ask_rows = levels & sell
    written = bid_rows | ask_rows
    if not bool((px[written] > 0.0).all()) or bool(np.isnan(qty[written]).any()):
        return None
    if bool(np.isnan(px[clear & (buy | sell)]).any()):
        return None
    positive = qty > 0.0
    # Per row, the lowest bid price it removes from (inf: none) and the highest ask price.
    bid_limit = np.full(ev.shape[0], np.inf)
    bid_limit[clear & buy] = px[clear & buy]
    bid_limit[ask_rows & positive] = px[ask_rows & positive]
    ask_limit = np.full(ev.shape[0], -np.inf)
    ask_limit[clear & sell] = px[clear & sell]
    ask_limit[bid_rows & positive] = px[bid_rows & positive]
    whole = clear & ~buy & ~sell
    bid_limit[whole] = -np.inf
    ask_limit[whole] = np.inf
    bids = _side((px, qty), bid_rows, _suffix_after(bid_limit, np.minimum, np.inf), bids=True)
    asks = _side((px, qty), ask_rows, _suffix_after(ask_limit, np.maximum, -np.inf), bids=False)
    return snapshot_rows(bids, asks, exch_ts, local_ts)


def _side(columns: tuple[Any, Any], mine: Any, limit_after: Any, *, bids: bool) -> tuple[Any, Any]:
    # One side's surviving levels, best first: each price's last row, kept when its quantity is positive
    # and nothing after it removed that price (bids: a limit at or below it; asks: at or above it).
    at = np.flatnonzero(mine)
    if at.shape[0] == 0:
        return np.zeros(0), np.zeros(0)
    px = columns[0][at]
    backwards = at[::-1]
    prices, first = np.unique(px[::-1], return_index=True)  # ascending; first in reverse = last written
    last = backwards[first]
    qty = columns[1][last]
    limit = limit_after[last]
    keep = (qty > 0.0) & (limit > prices if bids else limit < prices)
    prices, qty = prices[keep], qty[keep]
    if bids:
        return prices[::-1].copy(), qty[::-1].copy()
    return prices, qty
