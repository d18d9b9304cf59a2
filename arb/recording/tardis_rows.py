"""Tardis CSV rows in compiled code: the parsers of book and trade lines, and the merge into event rows.

:class:`arb.recording.tardis.TardisReader` reads the files and hands their bytes here. The parsers turn
``incremental_book_L2`` and ``trades`` lines (and, in :mod:`arb.recording.tardis_snapshots`,
``book_snapshot_25`` and ``_5`` lines) into intermediate rows (``K_*`` kinds, times in ns, values as floats,
the file each came from); :func:`emit` merges the book's and the trades' streams and the perpetual's rows by
local time into hftbacktest's event rows, keeping the book's state (snapshot runs, sync, per-file counters
in ``C_*`` columns) as the recordings' normalizers do.
"""

from __future__ import annotations

__all__ = [
    "C_BACKWARDS",
    "C_BAD_VALUE",
    "C_CROSSED_SNAP",
    "C_EMPTY_SNAP",
    "C_FIRST_BACKWARDS",
    "C_FIRST_CROSSED",
    "C_FIRST_EMPTY",
    "C_FIRST_PRE",
    "C_MESSAGES",
    "C_NO_SIDE",
    "C_PRE_SNAPSHOT",
    "C_RESNAP_1",
    "C_RESNAP_2",
    "C_RESNAP_3",
    "C_ROWS",
    "C_SIZE",
    "C_SNAPSHOTS",
    "C_TRADES",
    "C_UNSYNCED",
    "E_DONE",
    "E_NEED_BOOK",
    "E_NEED_TRADES",
    "K_ASK",
    "K_BID",
    "K_BUY",
    "K_FILE",
    "K_SELL",
    "K_SNAP_ASK",
    "K_SNAP_BID",
    "K_SNAP_END",
    "K_TRADE",
    "RESYNC",
    "S_FRESH",
    "S_LAST_BOOK_KIND",
    "S_LAST_BOOK_LOCAL",
    "S_LAST_DEPTH_EXCH",
    "S_LAST_DEPTH_LOCAL",
    "S_SIZE",
    "S_SYNCED",
    "S_TRANS",
    "TRANS_CAP",
    "U_BOOK_AT",
    "U_PERP_AT",
    "U_SIZE",
    "U_TRADES_AT",
    "emit",
    "parse_rows",
]

import math
from typing import Any

import numpy as np

from arb._jit import njit
from arb.events import (
    CLEAR_ALL,
    DEPTH_ASK,
    DEPTH_BID,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    TRADE_BUY,
    TRADE_EVENT,
    TRADE_SELL,
)
from arb.recording.tardis_fields import (
    P_DECLINED,
    P_DONE,
    P_FULL,
    line_done,
    read_number,
    read_time,
    skip_field,
    symbol_field,
    word,
    words,
)
from connectors.common.scan import put_row

# -- the compiled parsers ----------------------------------------------------------------------------

# Kinds of parsed rows (the ``ev`` of the intermediate arrays, never written out). K_SNAP_END closes the
# snapshot run before it at once (a book_snapshot row is whole; an incremental_book_L2 run ends at the next
# update instead): it opens one first when none is open (a row of empty sides).
K_BID, K_ASK, K_SNAP_BID, K_SNAP_ASK, K_BUY, K_SELL, K_TRADE, K_FILE, K_SNAP_END = range(9)
RESYNC = 1
"""The ``ival`` of snapshot rows that are no reconnection of Tardis's collector (a book_snapshot file's rows)."""

_TRADE_SIDES = words(b"buy,", b"sell,")
_SNAPSHOT = words(b"true", b"false")
_BOOK_SIDES = words(b"bid,", b"ask,")
_BIG = (1 << 63) - 1


@njit(cache=True, nogil=True)
def parse_rows(
    buf: Any, start: int, out: Any, fill: int, sym: Any, trades: bool, pow10: Any
) -> tuple[int, int, int, int, int]:
    # Parse the CSV lines of ``buf`` from ``start`` into ``out`` (rows of kind K_*, times in ns) from
    # ``fill`` on; ``trades``: the trades layout, else incremental_book_L2. Lines of another symbol are
    # skipped and counted, empty lines ignored. Returns (status, next index, fill, lines, other
    # symbols): P_DONE at the end of ``buf``, P_FULL when ``out`` is full, P_DECLINED at a line this
    # parser does not read (the next index is that line's start).
    n = buf.shape[0]
    i = start
    cap = out.shape[0]
    lines = 0
    others = 0
    while i < n:
        if buf[i] == 10:
            i += 1
            continue
        if fill >= cap:
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
        if trades:
            i = skip_field(buf, i, n)  # the trade id
            if i < 0:
                return P_DECLINED, line, fill, lines, others
            side, i = word(buf, i, n, _TRADE_SIDES)
            if side >= 0:
                kind = K_BUY if side == 0 else K_SELL
            else:
                i = skip_field(buf, i, n)  # "unknown" (or anything else: no side)
                if i < 0:
                    return P_DECLINED, line, fill, lines, others
                kind = K_TRADE
        else:
            not_snap, i = word(buf, i, n, _SNAPSHOT)  # 0: "true", 1: "false"
            if not_snap < 0 or i >= n or buf[i] != 44:
                return P_DECLINED, line, fill, lines, others
            side, i = word(buf, i + 1, n, _BOOK_SIDES)
            if side < 0:
                return P_DECLINED, line, fill, lines, others
            if side == 0:
                kind = K_BID if not_snap else K_SNAP_BID
            else:
                kind = K_ASK if not_snap else K_SNAP_ASK
        px, i = read_number(buf, i, n, pow10)
        if i < 0 or i >= n or buf[i] != 44:
            return P_DECLINED, line, fill, lines, others
        qty, i = read_number(buf, i + 1, n, pow10)
        if i < 0:
            return P_DECLINED, line, fill, lines, others
        i = line_done(buf, i, n)
        if i < 0:
            return P_DECLINED, line, fill, lines, others
        lines += 1
        if not same:
            others += 1
            continue
        put_row(out[fill], kind, exch, local, px, qty, 0, 0)
        fill += 1
    return P_DONE, i, fill, lines, others


# -- merging and the book's state --------------------------------------------------------------------

# state (int64) slots
S_SYNCED, S_IN_SNAP, S_FRESH, S_BOOK_FILE, S_TRADE_FILE, S_N_BID, S_N_ASK, S_RUN_LOCAL, S_RUN_EXCH = range(9)
S_LAST_LOCAL, S_LAST_BOOK_LOCAL, S_LAST_BOOK_KIND, S_TRANS, S_LAST_DEPTH_LOCAL, S_LAST_DEPTH_EXCH = range(9, 15)
S_SIZE = 15
# fstate (float64) slots
F_BEST_BID, F_BEST_ASK = 0, 1
# counters per file (int64 columns)
(C_ROWS, C_MESSAGES, C_SNAPSHOTS, C_PRE_SNAPSHOT, C_UNSYNCED, C_ZERO_SNAP, C_EMPTY_SNAP, C_CROSSED_SNAP,
 C_BACKWARDS, C_TRADES, C_NO_SIDE, C_BAD_VALUE, C_FIRST_EMPTY, C_FIRST_CROSSED, C_FIRST_BACKWARDS,
 C_RESNAP_1, C_RESNAP_2, C_RESNAP_3, C_FIRST_PRE) = range(19)  # fmt: skip
C_SIZE = 19
# why emit returned
E_DONE, E_NEED_BOOK, E_NEED_TRADES, E_FULL, E_TRANS = 0, 1, 2, 3, 4
_ROOM = 4  # rows one step writes at most
TRANS_CAP = 64


@njit(cache=True, nogil=True)
def _put(out: Any, fill: int, ev: int, exch: int, local: int, px: float, qty: float, ival: int) -> int:
    # One event row (no order id: Tardis's L2 rows have none) at out[fill]; the next free index.
    put_row(out[fill], ev, exch, local, px, qty, 0, ival)
    return fill + 1


@njit(cache=True, nogil=True)
def _transition(state: Any, trans: Any, synced: int, local: int, reason: int) -> None:
    k = state[S_TRANS]
    trans[k, 0] = synced
    trans[k, 1] = local
    trans[k, 2] = reason
    state[S_TRANS] = k + 1
    state[S_SYNCED] = synced


@njit(cache=True, nogil=True)
def _close_snapshot(state: Any, fstate: Any, counters: Any, out: Any, fill: int, trans: Any) -> int:
    # The snapshot run ended: check the book it left, then sync (or refuse to).
    state[S_IN_SNAP] = 0
    f = state[S_BOOK_FILE]
    local = state[S_RUN_LOCAL]
    exch = state[S_RUN_EXCH]
    nb = state[S_N_BID]
    na = state[S_N_ASK]
    if nb == 0 or na == 0:
        counters[f, C_EMPTY_SNAP] += 1
        if counters[f, C_FIRST_EMPTY] == 0:
            counters[f, C_FIRST_EMPTY] = local
    if nb > 0 and na > 0 and fstate[F_BEST_BID] >= fstate[F_BEST_ASK]:
        counters[f, C_CROSSED_SNAP] += 1
        if counters[f, C_FIRST_CROSSED] == 0:
            counters[f, C_FIRST_CROSSED] = local
        if state[S_SYNCED] == 1:
            fill = _put(out, fill, SYNC_LOST_EVENT, exch, local, 0.0, 0.0, 5)  # SyncReason.CROSSED
            _transition(state, trans, 0, local, 5)
        return _put(out, fill, CLEAR_ALL, exch, local, 0.0, 0.0, 0)
    if state[S_SYNCED] == 0:
        fill = _put(out, fill, SYNC_RESTORED_EVENT, exch, local, 0.0, 0.0, 0)
        _transition(state, trans, 1, local, 0)
    return fill


@njit(cache=True, nogil=True)
def _open_snapshot(state: Any, fstate: Any, counters: Any, out: Any, fill: int, row: Any, chained: bool) -> int:
    # A snapshot run starts at ``row``: the book is cleared; a run after the file's first that is no
    # book_snapshot row (ival RESYNC) and follows updates (not ``chained`` to the run before it: a venue
    # whose every message is a whole book) means Tardis resnapshotted after its collector reconnected.
    f = state[S_BOOK_FILE]
    state[S_IN_SNAP] = 1
    state[S_N_BID] = 0
    state[S_N_ASK] = 0
    fstate[F_BEST_BID] = -np.inf
    fstate[F_BEST_ASK] = np.inf
    if state[S_FRESH] == 0 and row.ival != RESYNC and not chained:
        for k in range(C_RESNAP_1, C_RESNAP_3 + 1):
            if counters[f, k] == 0:
                counters[f, k] = row.local_ts
                break
    state[S_FRESH] = 0
    counters[f, C_SNAPSHOTS] += 1
    return _put(out, fill, CLEAR_ALL, row.exch_ts, row.local_ts, 0.0, 0.0, 0)


# emit's cursor (int64) slots: where each source is read up to, how far it is filled, whether it ended
(U_BOOK_AT, U_BOOK_N, U_BOOK_DONE, U_TRADES_AT, U_TRADES_N, U_TRADES_DONE, U_PERP_AT, U_PERP_N) = range(8)  # fmt: skip
U_SIZE = 8


@njit(cache=True, nogil=True)
def _back(cursor: Any, bi: int, ti: int, pi: int, fill: int, why: int) -> tuple[int, int]:
    cursor[U_BOOK_AT] = bi
    cursor[U_TRADES_AT] = ti
    cursor[U_PERP_AT] = pi
    return fill, why


@njit(cache=True, nogil=True)
def emit(sources: Any, cursor: Any, book_state: Any, out: Any, fill: int) -> tuple[int, int]:
    # Merge the parsed book rows book[bi:bn], trades[ti:tn] and the ready perp rows perp[pi:pn] by local
    # time (ties: perp, trades, book) into event rows out[fill:], keeping the book's state.
    # sources: (book, trades, perp) rows; cursor: the U_* slots, the read positions updated in place;
    # book_state: (state, fstate, counters, trans). Returns (fill, why) where why says what is needed
    # next (E_*).
    book, trades, perp = sources
    state, fstate, counters, trans = book_state
    bi, bn, book_done = cursor[U_BOOK_AT], cursor[U_BOOK_N], cursor[U_BOOK_DONE] != 0
    ti, tn, trades_done = cursor[U_TRADES_AT], cursor[U_TRADES_N], cursor[U_TRADES_DONE] != 0
    pi, pn = cursor[U_PERP_AT], cursor[U_PERP_N]
    cap = out.shape[0]
    big = _BIG
    while True:
        if fill + _ROOM > cap:
            return _back(cursor, bi, ti, pi, fill, E_FULL)
        if state[S_TRANS] + 2 > trans.shape[0]:
            return _back(cursor, bi, ti, pi, fill, E_TRANS)
        if bi >= bn and not book_done:
            return _back(cursor, bi, ti, pi, fill, E_NEED_BOOK)
        if ti >= tn and not trades_done:
            return _back(cursor, bi, ti, pi, fill, E_NEED_TRADES)
        lb = book[bi].local_ts if bi < bn else big
        lt = trades[ti].local_ts if ti < tn else big
        lp = perp[pi].local_ts if pi < pn else big
        if bi >= bn and ti >= tn and pi >= pn:
            if state[S_IN_SNAP] == 1:
                fill = _close_snapshot(state, fstate, counters, out, fill, trans)
            return _back(cursor, bi, ti, pi, fill, E_DONE)
        if pi < pn and lp <= lt and lp <= lb:
            out[fill] = perp[pi]
            fill += 1
            pi += 1
            continue
        if ti < tn and lt <= lb:
            row = trades[ti]
            ti += 1
            kind = row.ev
            if kind == K_FILE:
                state[S_TRADE_FILE] = row.ival
                continue
            f = state[S_TRADE_FILE]
            counters[f, C_ROWS] += 1
            counters[f, C_TRADES] += 1
            if kind == K_BUY:
                ev = TRADE_BUY
            elif kind == K_SELL:
                ev = TRADE_SELL
            else:
                ev = TRADE_EVENT
                counters[f, C_NO_SIDE] += 1
            fill = _put(out, fill, ev, row.exch_ts, row.local_ts, row.px, row.qty, 0)
            continue
        row = book[bi]
        bi += 1
        kind = row.ev
        if kind == K_FILE:
            if state[S_IN_SNAP] == 1:
                fill = _close_snapshot(state, fstate, counters, out, fill, trans)
            state[S_BOOK_FILE] = row.ival
            state[S_FRESH] = 1
            state[S_LAST_BOOK_KIND] = -1
            continue
        if kind == K_SNAP_END:  # a book_snapshot row's levels are all there: the run ends with them
            if state[S_IN_SNAP] == 0:
                fill = _open_snapshot(state, fstate, counters, out, fill, row, False)
                state[S_RUN_LOCAL] = row.local_ts
                state[S_RUN_EXCH] = row.exch_ts
            fill = _close_snapshot(state, fstate, counters, out, fill, trans)
            continue
        f = state[S_BOOK_FILE]
        local = row.local_ts
        exch = row.exch_ts
        counters[f, C_ROWS] += 1
        if local < state[S_LAST_BOOK_LOCAL]:
            counters[f, C_BACKWARDS] += 1
            if counters[f, C_FIRST_BACKWARDS] == 0:
                counters[f, C_FIRST_BACKWARDS] = local
        snap = kind >= K_SNAP_BID
        if local != state[S_LAST_BOOK_LOCAL] or (1 if snap else 0) != state[S_LAST_BOOK_KIND]:
            counters[f, C_MESSAGES] += 1
        state[S_LAST_BOOK_LOCAL] = local
        state[S_LAST_BOOK_KIND] = 1 if snap else 0
        if snap:
            if state[S_IN_SNAP] == 1 and local != state[S_RUN_LOCAL]:
                # snapshot rows of another message (rows sharing a local time came in one): a venue whose every
                # message is a whole book, each a snapshot of its own that replaces the one before
                fill = _close_snapshot(state, fstate, counters, out, fill, trans)
                fill = _open_snapshot(state, fstate, counters, out, fill, row, True)
            elif state[S_IN_SNAP] == 0:
                fill = _open_snapshot(state, fstate, counters, out, fill, row, False)
            state[S_RUN_LOCAL] = local
            state[S_RUN_EXCH] = exch
            px = row.px
            qty = row.qty
            if qty > 0.0 and math.isfinite(px) and math.isfinite(qty):
                if kind == K_SNAP_BID:
                    fill = _put(out, fill, SNAPSHOT_BID, exch, local, px, qty, 0)
                    state[S_N_BID] += 1
                    if px > fstate[F_BEST_BID]:
                        fstate[F_BEST_BID] = px
                else:
                    fill = _put(out, fill, SNAPSHOT_ASK, exch, local, px, qty, 0)
                    state[S_N_ASK] += 1
                    if px < fstate[F_BEST_ASK]:
                        fstate[F_BEST_ASK] = px
            elif qty == 0.0:
                counters[f, C_ZERO_SNAP] += 1
            else:
                counters[f, C_BAD_VALUE] += 1
            state[S_LAST_DEPTH_LOCAL] = local
            state[S_LAST_DEPTH_EXCH] = exch
            continue
        if state[S_IN_SNAP] == 1:
            fill = _close_snapshot(state, fstate, counters, out, fill, trans)
        if state[S_FRESH] == 1:
            counters[f, C_PRE_SNAPSHOT] += 1
            if counters[f, C_FIRST_PRE] == 0:
                counters[f, C_FIRST_PRE] = local
            if state[S_SYNCED] == 1:
                fill = _put(out, fill, SYNC_LOST_EVENT, exch, local, 0.0, 0.0, 3)  # SyncReason.DISCONNECT
                fill = _put(out, fill, CLEAR_ALL, exch, local, 0.0, 0.0, 0)
                _transition(state, trans, 0, local, 3)
            continue
        if state[S_SYNCED] == 0:
            counters[f, C_UNSYNCED] += 1
            continue
        qty = row.qty
        if not (qty >= 0.0 and math.isfinite(qty) and math.isfinite(row.px)):
            counters[f, C_BAD_VALUE] += 1
            continue
        fill = _put(out, fill, DEPTH_BID if kind == K_BID else DEPTH_ASK, exch, local, row.px, qty, 0)
        state[S_LAST_DEPTH_LOCAL] = local
        state[S_LAST_DEPTH_EXCH] = exch
