"""Tardis's ``book_snapshot_25`` and ``book_snapshot_5`` rows in compiled code: each row's top N as the book
rows that make arb's book equal to it.

A row is the top N levels of each side after a change among them (Tardis rebuilds the book from the same
stream as ``incremental_book_L2`` and writes a row whenever a price or amount of its top N differs from
the previous row's; ``tardis-node``, ``src/computable/booksnapshot.ts``)::

    exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,bids[0].amount,...
    binance,BTCUSDT,1723075200036000,1723075200039123,61737.64,0.5,61737.63,1.2,61737.65,0.01,61737.6,0.3,...

``asks[k]`` and ``bids[k]`` for k from 0 to N - 1, asks rising, bids falling; a side with fewer than N
levels leaves the rest of its fields empty. :func:`parse_snapshot_rows` turns a row into the intermediate
rows :func:`arb.recording.tardis_rows.emit` merges, and the book those rows leave holds exactly that row's
levels, nothing deeper:

- a file's first row (and the row after a crossed one) is a snapshot: its levels as ``K_SNAP_BID`` /
  ``K_SNAP_ASK`` rows, then ``K_SNAP_END``, which ends the run at once (the book is cleared before it, and
  synced after it unless it is crossed); its rows carry ``ival`` :data:`~arb.recording.tardis_rows.RESYNC`:
  no reconnection of Tardis's collector;
- every other row: only what changed since the previous row, as ``K_BID`` / ``K_ASK`` updates: first each
  level that left the top N (amount 0, on both sides), then each level that is new or whose amount changed.
  A row that changes nothing writes nothing.

A level whose amount is not a positive finite number (or whose price is not finite) is left out and
written as one row of amount -1, which the merge counts as a bad value; an amount of 0 is an absent level.
A row with a price and no amount (or the reverse), a field that is no number, or another count of fields
is declined: Python reads it (:func:`python_levels`) or it is counted bad.
"""

from __future__ import annotations

__all__ = [
    "Levels",
    "new_levels",
    "parse_snapshot_rows",
    "put_levels",
    "python_levels",
    "room",
    "snapshot_header",
]

import math
from typing import Any, TypeAlias

import numpy as np

from arb._jit import njit
from arb.events import NS_PER_US
from arb.recording.tardis_fields import (
    P_DECLINED,
    P_DONE,
    P_FULL,
    TS_MAX_US,
    line_done,
    read_number,
    read_time,
    skip_field,
    symbol_field,
)
from arb.recording.tardis_rows import K_ASK, K_BID, K_SNAP_ASK, K_SNAP_BID, K_SNAP_END, RESYNC
from connectors.common.scan import put_row

_Floats: TypeAlias = np.ndarray[Any, np.dtype[np.float64]]
Levels: TypeAlias = tuple[_Floats, _Floats, np.ndarray[Any, np.dtype[np.int64]]]
"""A file's level state: (the book's levels, the row being read, counts). The levels are float64 arrays
``(2, 2, N)``: side (0 bids, 1 asks), 0 price or 1 amount, level (best first); the counts the ``L_*``
slots."""

# counts (int64) slots: levels the book holds per side, levels of the row per side, whether the next row is
# written whole, bad levels of the row
L_PREV, L_CUR, L_FULL, L_BAD = 0, 2, 4, 5
_L_SIZE = 6


def snapshot_header(depth: int) -> bytes:
    """The header line of ``book_snapshot_<depth>``, exactly as Tardis writes it."""
    levels = ",".join(f"asks[{k}].price,asks[{k}].amount,bids[{k}].price,bids[{k}].amount" for k in range(depth))
    return b"exchange,symbol,timestamp,local_timestamp," + levels.encode()


def new_levels(depth: int) -> Levels:
    """The level state at the start of a file of ``depth`` levels a side: its first row is written whole."""
    counts = np.zeros(_L_SIZE, np.int64)
    counts[L_FULL] = 1
    return np.zeros((2, 2, depth), np.float64), np.zeros((2, 2, depth), np.float64), counts


def room(depth: int) -> int:
    """Rows one row of ``depth`` levels a side writes at most (every level out, every level in, the end)."""
    return 4 * depth + 1


@njit(cache=True, nogil=True)
def _find(levels: Any, side: int, n: int, px: float, hint: int) -> int:
    # The index of price ``px`` among levels[side, 0, :n], looked for from ``hint`` outwards (a level moves a
    # few places at most between two rows); -1 when absent.
    if hint < n and levels[side, 0, hint] == px:
        return hint
    for d in range(1, max(hint + 1, n)):
        j = hint - d
        if 0 <= j < n and levels[side, 0, j] == px:
            return j
        j = hint + d
        if j < n and levels[side, 0, j] == px:
            return j
    return -1


@njit(cache=True, nogil=True)
def put_levels(out: Any, fill: int, exch: int, local: int, levels: Any) -> int:
    """Write the rows that turn the book's levels into the row's (``levels``: :data:`Levels`, the row's in
    its second array) into ``out[fill:]``, which has :func:`room` for them; the next free index. The row's
    levels become the book's."""
    prev, cur, counts = levels
    nb = counts[L_CUR]
    na = counts[L_CUR + 1]
    crossed = nb > 0 and na > 0 and cur[0, 0, 0] >= cur[1, 0, 0]
    if counts[L_FULL] != 0 or crossed:  # whole: a snapshot run (a crossed one leaves the book out of sync)
        for side in range(2):
            kind = K_SNAP_BID if side == 0 else K_SNAP_ASK
            for k in range(counts[L_CUR + side]):
                put_row(out[fill], kind, exch, local, cur[side, 0, k], cur[side, 1, k], 0, RESYNC)
                fill += 1
        for _ in range(counts[L_BAD]):
            put_row(out[fill], K_SNAP_BID, exch, local, np.nan, -1.0, 0, RESYNC)
            fill += 1
        put_row(out[fill], K_SNAP_END, exch, local, 0.0, 0.0, 0, RESYNC)
        fill += 1
        counts[L_FULL] = 1 if crossed else 0
    else:
        for side in range(2):  # what left the top N first: no row in between crosses the book
            kind = K_BID if side == 0 else K_ASK
            n_cur = counts[L_CUR + side]
            for k in range(counts[L_PREV + side]):
                if _find(cur, side, n_cur, prev[side, 0, k], k) < 0:
                    put_row(out[fill], kind, exch, local, prev[side, 0, k], 0.0, 0, 0)
                    fill += 1
        for side in range(2):
            kind = K_BID if side == 0 else K_ASK
            n_prev = counts[L_PREV + side]
            for k in range(counts[L_CUR + side]):
                j = _find(prev, side, n_prev, cur[side, 0, k], k)
                if j < 0 or prev[side, 1, j] != cur[side, 1, k]:
                    put_row(out[fill], kind, exch, local, cur[side, 0, k], cur[side, 1, k], 0, 0)
                    fill += 1
        for _ in range(counts[L_BAD]):
            put_row(out[fill], K_BID, exch, local, np.nan, -1.0, 0, 0)
            fill += 1
    for side in range(2):  # the book now holds the row (nothing after a crossed one: it was cleared)
        held = 0 if crossed else counts[L_CUR + side]
        for k in range(held):
            prev[side, 0, k] = cur[side, 0, k]
            prev[side, 1, k] = cur[side, 1, k]
        counts[L_PREV + side] = held
    return fill


@njit(cache=True, nogil=True)
def _field(buf: Any, i: int, n: int, pow10: Any) -> tuple[bool, float, int]:
    # An optional number: (present, value, index of the byte after it); -1 when it is there but no number.
    if i >= n or buf[i] == 44 or buf[i] == 10 or buf[i] == 13:
        return False, 0.0, i
    value, i = read_number(buf, i, n, pow10)
    return True, value, i


@njit(cache=True, nogil=True)
def parse_snapshot_rows(
    buf: Any, start: int, out: Any, fill: int, sym: Any, pow10: Any, levels: Any
) -> tuple[int, int, int, int, int]:
    """Parse the ``book_snapshot_<N>`` lines of ``buf`` from ``start`` into ``out`` from ``fill`` on, N being
    the depth of ``levels`` (:data:`Levels`, kept from one buffer to the next). Lines of another symbol are
    skipped and counted, empty lines ignored. Returns (status, next index, fill, lines, other symbols):
    ``P_DONE`` at the end of ``buf``, ``P_FULL`` when ``out`` has no :func:`room` for another line,
    ``P_DECLINED`` at a line this parser does not read (the next index is that line's start)."""
    cur = levels[1]
    counts = levels[2]
    depth = cur.shape[2]
    need = 4 * depth + 1
    n = buf.shape[0]
    i = start
    cap = out.shape[0]
    lines = 0
    others = 0
    while i < n:
        if buf[i] == 10:
            i += 1
            continue
        if fill + need > cap:
            return P_FULL, i, fill, lines, others
        line = i
        i = skip_field(buf, i, n)
        if i < 0:
            return P_DECLINED, line, fill, lines, others
        i, same = symbol_field(buf, i, n, sym)
        if i < 0:
            return P_DECLINED, line, fill, lines, others
        exch, i = read_time(buf, i, n)
        if i < 0:
            return P_DECLINED, line, fill, lines, others
        local, i = read_time(buf, i, n)
        if i < 0:
            return P_DECLINED, line, fill, lines, others
        nb = 0
        na = 0
        bad = 0
        for k in range(depth):
            for s in range(2):
                side = 1 - s  # asks[k] before bids[k]
                has_px, px, i = _field(buf, i, n, pow10)
                if i < 0 or i >= n or buf[i] != 44:
                    return P_DECLINED, line, fill, lines, others
                has_qty, qty, i = _field(buf, i + 1, n, pow10)
                if i < 0 or has_px != has_qty:
                    return P_DECLINED, line, fill, lines, others
                if k == depth - 1 and side == 0:
                    i = line_done(buf, i, n)
                    if i < 0:
                        return P_DECLINED, line, fill, lines, others
                elif i >= n or buf[i] != 44:
                    return P_DECLINED, line, fill, lines, others
                else:
                    i += 1
                if not has_px:
                    continue
                if qty > 0.0 and math.isfinite(qty) and math.isfinite(px):
                    k_side = nb if side == 0 else na
                    cur[side, 0, k_side] = px
                    cur[side, 1, k_side] = qty
                    if side == 0:
                        nb += 1
                    else:
                        na += 1
                elif qty != 0.0:
                    bad += 1
        lines += 1
        if not same:
            others += 1
            continue
        counts[L_CUR] = nb
        counts[L_CUR + 1] = na
        counts[L_BAD] = bad
        fill = put_levels(out, fill, exch, local, levels)
    return P_DONE, i, fill, lines, others


def python_levels(line: bytes, symbol: bytes, levels: Levels) -> tuple[int, int] | bool | None:
    """One ``book_snapshot`` line the compiled parser declined (a number with many digits, say), read into
    the row part of ``levels``: its (exchange ns, local ns), then write it with :func:`put_levels`; False
    for another symbol's line, None when it is not a row of this depth (the levels untouched then)."""
    cur, counts = levels[1], levels[2]
    depth = cur.shape[2]
    fields = line.split(b",")
    if len(fields) != 4 + 4 * depth:
        return None
    try:
        exch = int(fields[2]) * NS_PER_US
        local = int(fields[3]) * NS_PER_US
    except ValueError:
        return None
    if not (0 <= exch < TS_MAX_US * 1000 and 0 <= local < TS_MAX_US * 1000):
        return None
    found: tuple[list[tuple[float, float]], list[tuple[float, float]]] = ([], [])
    bad = 0
    for k in range(depth):
        for side, at in ((1, 4 + 4 * k), (0, 6 + 4 * k)):
            px_text, qty_text = fields[at], fields[at + 1]
            if not px_text and not qty_text:
                continue
            try:
                px, qty = float(px_text), float(qty_text)
            except ValueError:  # a field that is no number, or a price without an amount
                return None
            if qty > 0.0 and math.isfinite(qty) and math.isfinite(px):
                found[side].append((px, qty))
            elif qty != 0.0:
                bad += 1
    if fields[1] != symbol:
        return False
    for side in (0, 1):
        for k, (px, qty) in enumerate(found[side]):
            cur[side, 0, k], cur[side, 1, k] = px, qty
        counts[L_CUR + side] = len(found[side])
    counts[L_BAD] = bad
    return exch, local
